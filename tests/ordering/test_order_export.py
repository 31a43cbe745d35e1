"""`manage.py export_orders` (docs/admin.md, "Exporting orders"): the orders list's filters, one row
per order or per line, money as decimal strings beside the currency, CSV and XLSX (a full
worksheet goes on in the next), formula injection neutralized, options refused before anything is
written, and row-level security on every read."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest
from django.core.management import CommandError, call_command
from django.db.models import QuerySet

from ordering.application.exports import LINE_COLUMNS, ORDER_COLUMNS, amount
from ordering.infrastructure import models, spreadsheets
from ordering.infrastructure.order_sheet import OrmOrderSheet

from ..conftest import requires_postgres
from .conftest import CUSTOMER, Shop, seed_catalog

XLSX = {"s": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}


def export(tenant_id: str, *args: str) -> tuple[list[dict[str, str]], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("export_orders", tenant_id, *args, stdout=out, stderr=err)
    return list(csv.DictReader(io.StringIO(out.getvalue()))), err.getvalue()


def workbook(path) -> dict[str, list[list[str]]]:
    """Each worksheet's rows as text, read from the XLSX file's XML (in sheet order)."""
    with zipfile.ZipFile(path) as book:
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        sheets = {}
        for index, name in enumerate(names, start=1):
            root = ElementTree.fromstring(book.read(f"xl/worksheets/sheet{index}.xml"))
            sheets[name] = [
                ["".join(cell.itertext()) for cell in row.findall("s:c", XLSX)]
                for row in root.iter(f"{{{XLSX['s']}}}row")
            ]
    return sheets


def test_one_row_per_order_oldest_first_money_as_decimal_strings(shop):
    first = shop.placed()
    second = shop.confirmed((("mug", 3),))
    draft = shop.draft()
    rows, _ = export(shop.tenant.id, "--quiet")
    assert list(rows[0]) == list(ORDER_COLUMNS)
    assert [r["order_id"] for r in rows] == [first["id"], second["id"], draft["id"]]
    by_id = {r["order_id"]: r for r in rows}
    for order in (first, second, draft):
        row = by_id[order["id"]]
        assert (row["currency"], row["total"]) == ("USD", order["total"]["amount"])
        assert re.fullmatch(r"\d+\.\d\d", row["subtotal"]) and re.fullmatch(r"\d+\.\d\d", row["shipping"])
    assert by_id[second["id"]]["status"] == "CONFIRMED" and by_id[second["id"]]["payment_method"] == "card"
    assert by_id[first["id"]]["number"] == first["number"] and by_id[draft["id"]]["number"] == ""
    assert by_id[first["id"]]["customer_name"] == "Ada Lovelace"
    assert datetime.fromisoformat(by_id[first["id"]]["created_at"]).tzinfo is not None


def test_lines_give_one_row_per_line_with_the_order_repeated(shop):
    order = shop.placed((("mug", 2), ("lamp", 1)))
    rows, _ = export(shop.tenant.id, "--lines", "--quiet")
    assert list(rows[0]) == list(ORDER_COLUMNS + LINE_COLUMNS)
    assert [(r["order_id"], r["line"], r["sku"], r["quantity"]) for r in rows] == [
        (order["id"], "0", "ACME-MUG", "2"),
        (order["id"], "1", "GLX-LAMP", "1"),
    ]
    assert rows[0]["unit_price"] == "12.50" and rows[0]["line_subtotal"] == "25.00"
    assert (rows[1]["product"], rows[1]["vendor_id"], rows[1]["unit_price"]) == ("Desk lamp", "globex", "54.90")
    assert rows[0]["total"] == rows[1]["total"] == order["total"]["amount"]


def test_the_lists_filters_status_dates_and_search(shop):
    placed = shop.placed()
    confirmed = shop.confirmed()
    shop.draft()
    pending, _ = export(shop.tenant.id, "--status", "pending", "--quiet")
    assert [r["order_id"] for r in pending] == [placed["id"]]
    two, _ = export(shop.tenant.id, "--status", "PENDING", "--status", "CONFIRMED", "--quiet")
    assert [r["order_id"] for r in two] == [placed["id"], confirmed["id"]]
    found, _ = export(shop.tenant.id, "--search", confirmed["number"].lower(), "--quiet")
    assert [r["order_id"] for r in found] == [confirmed["id"]]
    now = datetime.now(UTC)
    assert len(export(shop.tenant.id, "--since", (now - timedelta(hours=1)).isoformat(), "--quiet")[0]) == 3
    assert export(shop.tenant.id, "--until", (now - timedelta(hours=1)).isoformat(), "--quiet")[0] == []
    assert export(shop.tenant.id, "--since", now.date().isoformat(), "--quiet")[0]  # a date is midnight UTC


def test_more_orders_than_a_batch_each_once_in_order(shop, monkeypatch):
    monkeypatch.setattr("ordering.application.exports.BATCH", 2)
    orders = [shop.draft((("mug", 1),)) for _ in range(5)]
    rows, progress = export(shop.tenant.id)
    assert [r["order_id"] for r in rows] == [o["id"] for o in orders]
    assert "5/5" in progress  # the progress bar on standard error


def test_orders_created_at_the_same_instant_are_each_written_once(shop, monkeypatch):
    monkeypatch.setattr("ordering.application.exports.BATCH", 2)
    orders = [shop.draft((("mug", 1),)) for _ in range(5)]
    models.Order.objects.update(created_at=datetime(2026, 12, 1, tzinfo=UTC))  # a tie across batches
    rows, _ = export(shop.tenant.id, "--quiet")
    assert [r["order_id"] for r in rows] == sorted(o["id"] for o in orders)


def test_xlsx_to_a_file_and_a_full_worksheet_goes_on_in_the_next(shop, tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_ROWS", 3)
    orders = [shop.placed() for _ in range(3)]
    target = tmp_path / "orders.xlsx"
    err = io.StringIO()
    call_command("export_orders", shop.tenant.id, "--format", "xlsx", "--output", str(target), stderr=err)
    sheets = workbook(target)
    assert list(sheets) == ["orders", "orders 2"]
    assert sheets["orders"][0] == sheets["orders 2"][0] == list(ORDER_COLUMNS)
    rows = sheets["orders"][1:] + sheets["orders 2"][1:]
    assert [row[1] for row in rows] == [o["id"] for o in orders]
    assert rows[0][ORDER_COLUMNS.index("total")] == orders[0]["total"]["amount"]  # a string, as in CSV
    assert f"3 order(s) written to {target}" in err.getvalue()


def test_a_customer_name_a_spreadsheet_would_run_is_written_inert(shop):
    shop.placed(customer={**CUSTOMER, "firstName": '=HYPERLINK("http://x")', "lastName": "@SUM(A1)"})
    rows, _ = export(shop.tenant.id, "--quiet")
    assert rows[0]["customer_name"] == '\'=HYPERLINK("http://x") @SUM(A1)'
    assert spreadsheets.neutralized("-12.50") == "-12.50" and spreadsheets.neutralized("+1 555") == "'+1 555"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--status", "LOST"], "INVALID: unknown status 'LOST'"),
        (["--since", "2026-12-05", "--until", "2026-12-01"], "INVALID: since must be before until"),
        (["--since", "yesterday"], "INVALID: since is not an ISO 8601 date or instant"),
        (["--search", "x" * 201], "INVALID: search is at most 200 characters"),
    ],
)
def test_bad_options_are_refused_and_nothing_is_written(shop, tmp_path, args, message):
    shop.placed()
    target = tmp_path / "orders.csv"
    out = io.StringIO()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("export_orders", shop.tenant.id, *args, "--output", str(target), stdout=out, stderr=io.StringIO())
    assert not target.exists() and out.getvalue() == ""


def test_an_unknown_tenant_is_refused(db):
    with pytest.raises(CommandError, match="NOT_FOUND: unknown tenant 'nobody'"):
        call_command("export_orders", "nobody", stdout=io.StringIO(), stderr=io.StringIO())


def test_money_keeps_the_currencys_minor_units():
    from decimal import Decimal

    assert amount(Decimal("12.5000"), "USD") == "12.50"
    assert amount(Decimal("1000.0000"), "JPY") == "1000"
    assert amount(Decimal("1.2340"), "BHD") == "1.234"


@requires_postgres
def test_row_level_security_holds_on_the_exports_reads(gql, catalog, other_tenant, monkeypatch):
    """Even an export that forgot its tenant filter reads only its tenant's rows: it reads in the
    tenant's transaction, as the tenant role."""
    seed_catalog(other_tenant.id)
    ours, theirs = Shop(gql, catalog), Shop(gql, other_tenant)
    mine = ours.placed()
    theirs.placed()
    theirs.placed()

    def forgetful(self, command) -> QuerySet:  # no tenant filter at all
        return models.Order.objects.all()

    monkeypatch.setattr(OrmOrderSheet, "_matching", forgetful)
    rows, _ = export(catalog.id, "--quiet")
    assert [r["order_id"] for r in rows] == [mine["id"]]
    assert models.Order.objects.count() == 3  # outside the tenant's transaction, all three are there
