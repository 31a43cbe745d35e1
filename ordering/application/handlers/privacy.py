"""The customer's right to erasure (docs/privacy.md; the rules are `ordering.domain.privacy`).

`erase_customer`, in units of work of its own:

1. **check**: the customer's orders are read; open ones refuse the erasure
   (`CUSTOMER_HAS_OPEN_ORDERS`) unless `force` may cancel them, and then nothing is written;
2. **the orders, 50 to a transaction**: each loaded with its row locked (an order being placed is
   erased after its commit, never half of it), cancelled first when `force` says so, its personal
   fields replaced by the marker; then the copies of the erased values (event documents, history
   notes, what other apps recorded of the orders) scrubbed, in the same transaction: an order is
   never erased without its copies;
3. **the customer**: the snapshots deleted, the copies of their values scrubbed from the orders'
   documents, the erasure logged and, when anything was erased, announced with one
   `customer.erased` event.

A failure part way leaves some chunks of orders erased and the rest as they were; erasing again finishes
it (an order with nothing left to erase is skipped), and announces nothing when nothing was left.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from identity.domain.principal import Principal, Role
from ordering.domain import privacy
from ordering.domain.errors import Forbidden, Invalid
from ordering.domain.order import Order
from ordering.domain.order_rules import required_text

from .. import commands as c
from ..event_payloads import order_document
from ..ports import CustomerErasure, UnitOfWork

CANCEL_REASON = "cancelled to erase the customer's personal data"
CHUNK = 50  # orders erased per transaction
UPSTREAM = "upstream:identity"  # who a `customer.erasure_requested` webhook acts as


def upstream_principal(tenant_id: str) -> Principal:
    """Who the tenant's identity system acts as when it asks for an erasure by webhook: staff."""
    return Principal(user_id=UPSTREAM, tenant_id=tenant_id, roles=frozenset({Role.STAFF}))


def erase_customer(principal: Principal, command: c.EraseCustomer, uow: UnitOfWork) -> CustomerErasure:
    if not principal.is_staff:
        raise Forbidden("only staff can erase a customer's personal data")
    user_id = required_text(command.customer_user_id, "customerUserId", 255)
    reason = required_text(command.reason, "reason", privacy.MAX_REASON)
    with uow:  # 1. check: nothing is written
        statuses = uow.personal_data.orders_of(user_id)
        order_ids = list(statuses)
        blocked = privacy.blocking(statuses, force=command.force)
        if blocked:
            raise privacy.CustomerHasOpenOrders(blocked, force=command.force)
        keep = uow.personal_data.retention_keeps()
    erased: set[str] = set()
    cancelled: list[str] = []
    for start in range(0, len(order_ids), CHUNK):  # 2. the orders, a chunk per transaction
        chunk = order_ids[start : start + CHUNK]
        with uow:
            now = uow.now()
            values: set[str] = set()
            for order_id in chunk:
                order = uow.orders.get(order_id, lock=True)
                if order is None:
                    continue
                if privacy.blocking({order_id: order.status}, force=command.force):  # changed since the check
                    raise privacy.CustomerHasOpenOrders([order_id], force=command.force)
                if order_id in privacy.to_cancel({order_id: order.status}):
                    order.cancel(reason=CANCEL_REASON, actor=principal.user_id, now=now)
                    cancelled.append(order_id)
                values |= order.personal_values(keep)
                if order.erase_personal_data(keep=keep, actor=principal.user_id, now=now) or order_id in cancelled:
                    uow.orders.save(order)
                    uow.flush()  # one order's writes at a time: the write batch sends one order's
            uow.personal_data.scrub_copies(chunk, values)
            uow.commit()
        erased |= values
    with uow:  # 3. the customer
        now = uow.now()
        details, addresses = uow.customers.forget(uow.tenant_id, user_id)
        held: set[str] = set()
        if details is not None:
            held |= privacy.erasable([details.email, details.first_name, details.last_name, details.phone])
        for address in addresses:
            held |= privacy.erasable([address.line1, address.line2, address.city, address.state])
            held |= privacy.erasable([getattr(address, name) for name in privacy.KEEPABLE - keep])
        uow.personal_data.scrub_copies(order_ids, held - erased)
        erasure = CustomerErasure(user_id, order_ids, now, cancelled, held_personal_data=bool(erased | held))
        uow.personal_data.record(erasure, principal.user_id, reason)
        uow.commit()
    return erasure


def _orders(uow: UnitOfWork, order_ids: list[str], *, lock: bool) -> list[Order]:
    return [order for order in (uow.orders.get(order_id, lock=lock) for order_id in order_ids) if order is not None]


def export_customer(principal: Principal, command: c.ExportCustomerData, uow: UnitOfWork) -> Iterator[str]:
    """Everything held about the customer as one JSON document, in pieces (GDPR article 15): the
    snapshots (details, addresses, authorization), every order whole with its history, and the
    erasure log's entries. Staff, or the customer for themselves. The pieces come one order at a
    time, so a customer with many orders is written out as it is read (`manage.py customer_data
    export`); read in one transaction, so the document is one moment's state."""
    user_id = required_text(command.customer_user_id, "customerUserId", 255)
    if not principal.is_staff and not (principal.is_customer and principal.user_id == user_id):
        raise Forbidden("only staff, or the customer themselves, can export a customer's data")
    with uow:
        details = uow.customers.customer(uow.tenant_id, user_id)
        authorization = uow.customers.authorization(uow.tenant_id, user_id)
        head = {
            "customer_user_id": user_id,
            "tenant_id": uow.tenant_id,
            "exported_at": uow.now().isoformat(),
            "customer": None if details is None else {k: v for k, v in vars(details).items() if k != "version"},
            "addresses": [
                {k: v for k, v in vars(address).items() if k not in ("user_id", "version")}
                for address in uow.customers.addresses(uow.tenant_id, user_id)
            ],
            "authorization": None
            if authorization is None
            else {"roles": list(authorization.roles), "vendor_id": authorization.vendor_id or None},
            "erasures": uow.personal_data.erasures_of(user_id),
        }
        text = json.dumps(head, separators=(",", ":"), sort_keys=True)
        yield text[:-1] + ',"orders":['
        for index, order in enumerate(_orders(uow, list(uow.personal_data.orders_of(user_id)), lock=False)):
            document = {
                **order_document(order),
                "history": [
                    {
                        "at": entry.at.isoformat(),
                        "actor": entry.actor,
                        "from_status": entry.from_status.value if entry.from_status else None,
                        "to_status": entry.to_status.value,
                        "note": entry.note or None,
                    }
                    for entry in order.history
                ],
            }
            yield ("," if index else "") + json.dumps(document, separators=(",", ":"), sort_keys=True)
        yield "]}"


RETENTION = "retention"  # the history's actor of an anonymization by the retention rule


def purge_personal_data(principal: Principal, command: c.PurgePersonalData, uow: UnitOfWork) -> int:
    """The tenant's retention rule (docs/privacy.md): orders closed before `closed_before` lose
    their personal fields as an erasure removes them (the address fields the tenant keeps stay),
    50 to a transaction with their copies, oldest first, until none is left. Returns how many.
    Resumable: an anonymized order no longer matches, so a run stopped part way goes on where
    it stopped. No event: nothing was asked for; the tenant's subscribers keep their own rules."""
    if not principal.is_staff:
        raise Forbidden("only staff can purge personal data")
    if command.batch < 1:
        raise Invalid("must be at least 1", field="batch")
    done = 0
    while True:
        before = done
        with uow:
            keep = uow.personal_data.retention_keeps()
            chunk = uow.personal_data.closed_before(command.closed_before, min(command.batch, CHUNK))
            values: set[str] = set()
            now = uow.now()
            for order_id in chunk:
                order = uow.orders.get(order_id, lock=True)
                if order is None or order.status not in privacy.CLOSED:  # reopened meanwhile: never
                    continue
                values |= order.personal_values(keep)
                if order.erase_personal_data(keep=keep, actor=RETENTION, now=now):
                    uow.orders.save(order)
                    uow.flush()
                    done += 1
            uow.personal_data.scrub_copies(chunk, values)
            uow.commit()
        if len(chunk) < min(command.batch, CHUNK) or done == before:  # none left, or none it can change
            return done
