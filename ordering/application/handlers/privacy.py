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
from collections.abc import Callable, Iterator
from datetime import datetime

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

    def refuse_or_cancel(order: Order, now: datetime) -> bool:
        if privacy.blocking({order.order_id: order.status}, force=command.force):  # changed since the check
            raise privacy.CustomerHasOpenOrders([order.order_id], force=command.force)
        if order.status in privacy.CANCELLABLE:  # open, and force says so
            order.cancel(reason=CANCEL_REASON, actor=principal.user_id, now=now)
            cancelled.append(order.order_id)
        return True

    for start in range(0, len(order_ids), CHUNK):  # 2. the orders, a chunk per transaction
        with uow:
            values, _ = _erase_orders(uow, order_ids[start : start + CHUNK], keep, principal.user_id, refuse_or_cancel)
            uow.commit()
        erased |= values
    with uow:  # 3. the customer
        now = uow.now()
        details, addresses = uow.customers.forget(uow.tenant_id, user_id)
        held: set[str] = set()
        if details is not None:
            held |= privacy.erasable([details.email, details.first_name, details.last_name, details.phone])
        for address in addresses:
            held |= privacy.address_values(address, keep)
        uow.personal_data.scrub_copies(order_ids, held - erased)
        erasure = CustomerErasure(user_id, order_ids, now, cancelled, held_personal_data=bool(erased | held))
        uow.personal_data.record(erasure, principal.user_id, reason)
        uow.commit()
    return erasure


def _erase_orders(
    uow: UnitOfWork, order_ids: list[str], keep: frozenset[str], actor: str, prepare: Callable[[Order, datetime], bool]
) -> tuple[set[str], int]:
    """Inside the open unit of work: each order loaded with its row locked, `prepare`d (which may
    refuse, cancel it, or say to leave it), its personal fields erased and, when it changed,
    written on its own (the write batch sends one order's writes); then the copies of the erased
    values scrubbed. The erased values, and how many orders changed."""
    now = uow.now()
    values: set[str] = set()
    changed = 0
    for order_id in order_ids:
        order = uow.orders.get(order_id, lock=True)
        if order is None:
            continue
        version = order.version
        if not prepare(order, now):
            continue
        values |= order.personal_values(keep)
        order.erase_personal_data(keep=keep, actor=actor, now=now)
        if order.version != version:  # cancelled, erased, or both
            uow.orders.save(order)
            uow.flush()
            changed += 1
    uow.personal_data.scrub_copies(order_ids, values)
    return values, changed


def export_customer(principal: Principal, command: c.ExportCustomerData, uow: UnitOfWork) -> Iterator[str]:
    """Everything held about the customer as one JSON document, in pieces (GDPR article 15): the
    snapshots (details, addresses, authorization), every order whole with its history and its
    invoices and credit notes as issued, and the erasure log's entries. Staff, or the customer for
    themselves. The pieces come one order at a time, so a customer with many orders is written
    out as it is read (`manage.py customer_data export`); read in one transaction, so the
    document is one moment's state."""
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
        found = (uow.orders.get(order_id, lock=False) for order_id in uow.personal_data.orders_of(user_id))
        for index, order in enumerate(order for order in found if order is not None):
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
                # As issued: invoices keep the buyer's name and address, erasures notwithstanding.
                "invoices": [issued.to_json() for issued in uow.invoices.of_order(order.order_id)],
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
    limit = min(command.batch, CHUNK)

    def closed(order: Order, now: datetime) -> bool:
        return order.status in privacy.CLOSED  # reopened meanwhile (a return): left alone

    done = 0
    while True:
        with uow:
            chunk = uow.personal_data.closed_before(command.closed_before, limit)
            _, changed = _erase_orders(uow, chunk, uow.personal_data.retention_keeps(), RETENTION, closed)
            uow.commit()
        done += changed
        if len(chunk) < limit or not changed:  # none left, or none it can change
            return done
