"""A customer's data, for an operator (docs/privacy.md).

    manage.py customer_data TENANT export USER [--out FILE]
    manage.py customer_data TENANT erase USER --reason R [--force]

`export` writes the JSON document of `customerDataExport` to standard output (or FILE), one order
at a time, so a customer with many orders is written as it is read. `erase` does what
`eraseCustomer` does, acting as `operator:<name>` (the erasure log's `requested_by`; `--as`).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from identity.domain.principal import Principal, Role
from oms_project.kernel.tenancy import tenant_model
from ordering.application.commands import EraseCustomer, ExportCustomerData
from ordering.application.handlers.privacy import erase_customer, export_customer
from ordering.domain.errors import OrderingError
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork


class Command(BaseCommand):
    help = "export USER [--out FILE] | erase USER --reason R [--force]: a customer's data (docs/privacy.md)"

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("action", choices=["export", "erase"])
        parser.add_argument("user", help="the customer's user id")
        parser.add_argument("--out", help="export: write here instead of standard output")
        parser.add_argument("--reason", help="erase: why (kept in the erasure log; no personal data)")
        parser.add_argument("--force", action="store_true", help="erase: cancel the open orders first")
        parser.add_argument("--as", dest="operator", default="cli", help="who asks (the log's requested_by)")

    def handle(self, *args, tenant: str, action: str, user: str, out, reason, force: bool, operator: str, **_):
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        principal = Principal(user_id=f"operator:{operator}", tenant_id=tenant, roles=frozenset({Role.STAFF}))
        try:
            if action == "export":
                self._export(principal, tenant, user, out)
                return
            if not reason:
                raise CommandError("erase needs --reason")
            erasure = erase_customer(principal, EraseCustomer(user, reason, force), DjangoUnitOfWork(tenant))
        except OrderingError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        held = "erased" if erasure.held_personal_data else "nothing was left to erase"
        self.stdout.write(
            f"Customer {user} of {tenant}: {held}; {len(erasure.order_ids)} order(s), "
            f"{len(erasure.cancelled_order_ids)} cancelled first."
        )

    def _export(self, principal: Principal, tenant: str, user: str, out: str | None) -> None:
        pieces = export_customer(principal, ExportCustomerData(user), DjangoUnitOfWork(tenant))
        if out is None:
            for piece in pieces:
                self.stdout.write(piece, ending="")
            self.stdout.write("")
            return
        with open(out, "w", encoding="utf-8") as target:
            for piece in pieces:
                target.write(piece)
        sys.stderr.write(f"wrote {out}\n")
