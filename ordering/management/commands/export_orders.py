"""A tenant's orders out to CSV or XLSX (docs/admin.md, "Exporting orders").

    manage.py export_orders TENANT [--format csv|xlsx] [--lines] [--output FILE]
                            [--status S ...] [--since WHEN] [--until WHEN] [--search TEXT] [--quiet]

One row per order, or per line with `--lines`; standard output unless `--output`. The filters are
the orders list's: statuses, created at or after `--since` and before `--until` (ISO 8601; a date
alone is midnight UTC), the list's search. Progress goes to standard error (`--quiet`: none).
Options are checked before anything is written: a refused export creates no file.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from identity.domain.principal import Principal, Role
from oms_project.kernel.tenancy import tenant_model
from ordering.application.exports import ExportOrders, checked, export_orders
from ordering.domain.errors import Invalid, OrderingError
from ordering.infrastructure.spreadsheets import CsvRows, XlsxRows
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork


def instant(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{option} is not an ISO 8601 date or instant: {text!r}", field=option) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "A tenant's orders as CSV or XLSX, with the orders list's filters (docs/admin.md)"

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--lines", action="store_true", help="one row per order line")
        parser.add_argument("--output", help="write here instead of standard output")
        parser.add_argument("--status", action="append", default=[], help="only these statuses (repeatable)")
        parser.add_argument("--since", help="created at or after (ISO 8601)")
        parser.add_argument("--until", help="created before (ISO 8601)")
        parser.add_argument("--search", help="the orders list's search")
        parser.add_argument("--quiet", action="store_true", help="no progress on standard error")
        parser.add_argument("--as", dest="operator", default="cli", help="who asks (for the logs)")

    def handle(self, *args, tenant: str, format: str, lines: bool, output, status, since, until, search, **options):
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"NOT_FOUND: unknown tenant {tenant!r}")
        principal = Principal(
            user_id=f"operator:{options['operator']}", tenant_id=tenant, roles=frozenset({Role.STAFF})
        )
        try:
            command = checked(
                ExportOrders(
                    statuses=tuple(s.upper() for s in status),
                    since=instant(since, "since") if since else None,
                    until=instant(until, "until") if until else None,
                    search=search,
                    lines=lines,
                )
            )
        except OrderingError as error:
            raise CommandError(f"{error.code}: {error.message}") from None
        if format == "xlsx" and output is None and sys.stdout.isatty():
            raise CommandError("INVALID: an XLSX workbook is binary: give --output FILE or redirect standard output")
        bar = tqdm(total=0, unit=" orders", file=self.stderr._out, disable=options["quiet"], mininterval=1.0)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        target = None
        if output:
            target = open(output, "w", newline="", encoding="utf-8") if format == "csv" else open(output, "wb")  # noqa: SIM115
        try:
            if format == "csv":
                writer: CsvRows | XlsxRows = CsvRows(target or self.stdout._out)
            else:
                writer = XlsxRows(target or sys.stdout.buffer)
            count = export_orders(principal, command, DjangoUnitOfWork(tenant), writer, progress)
            writer.close()
        except OrderingError as error:
            if target is not None:
                target.close()
                os.unlink(output)
            raise CommandError(f"{error.code}: {error.message}") from None
        finally:
            bar.close()
            if target is not None and not target.closed:
                target.close()
        if output:
            self.stderr.write(f"{count} order(s) written to {output}")
