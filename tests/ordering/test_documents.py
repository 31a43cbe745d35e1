"""Invoices, credit notes and packing slips (docs/documents.md): totals that match the order's to
the cent in every tax and discount case, gapless numbers per tenant, issued documents that never
change (an amendment credits and reissues, a cancellation credits), who may get which document,
short-lived signed links, and the PDFs themselves read back with pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import override_settings

from ordering.domain import documents as docs
from ordering.domain.checkout import CartItem, price_cart
from ordering.domain.order import Order
from ordering.infrastructure import models
from ordering.infrastructure.documents import links, pdf

from ..conftest import requires_postgres
from .domain_fixtures import ADDRESS, CUSTOMER, NOW, TENANT, catalog, coupon, offer, product
from .test_api_fulfilment import line_of
from .test_domain_tax_payment import tax

SELLER = docs.Party("Acme Retail GmbH", ("Hauptstr. 1", "10115 Berlin", "VAT DE123456789"))

INVOICE = "query($id: ID!) { invoice(orderId: $id) { url expiresAt kind number } }"
SLIP = "query($id: ID!) { packingSlip(shipmentId: $id) { url expiresAt kind number } }"


# -- the domain, without Django -----------------------------------------------------------------


def placed_order(*, taxes=(), offers=(), coupons=(), items=(("p1", 2), ("p2", 1)), products=None) -> Order:
    cat = catalog(offers=offers, coupons=coupons, products=products)
    cat.tax_options.update({t.tax_key: t for t in taxes})
    priced = price_cart(
        [CartItem(p, q) for p, q in items],
        cat,
        coupon_codes=[c.code for c in coupons],
        selections={"v1": "ship-v1", "v2": "ship-v2"},
        destination_country="US",
        now=NOW,
    )
    order = Order.checkout(
        tenant_id=TENANT, customer=CUSTOMER, shipping_address=ADDRESS, priced=priced, actor="c", now=NOW
    )
    order.place(number="1001", actor="c", now=NOW)
    return order


ODD = [product("p1", "v1", price="3.33"), product("p2", "v2", price="19.99")]
CASES = {
    "untaxed": {},
    "exclusive tax after an offer": {"taxes": [tax(rate="10")], "offers": [offer(value="50")]},
    "inclusive tax": {"taxes": [tax(vendor="v2", rate="25", inclusive=True)]},
    "two rates, one inclusive": {"taxes": [tax(rate="7.25"), tax(vendor="v2", rate="19", inclusive=True)]},
    "percent coupon and odd prices": {
        "taxes": [tax(rate="8.875")],
        "coupons": [coupon("TEN", value="10")],
        "products": ODD,
        "items": (("p1", 3), ("p2", 7)),
    },
    "fixed coupon, offer and tax": {
        "taxes": [tax(rate="20"), tax(vendor="v2", rate="5.5")],
        "offers": [offer(kind="fixed_off", value="1.10")],
        "coupons": [coupon("FIVE", kind="fixed", value="5.00", currency="USD")],
    },
}


@pytest.mark.parametrize("case", CASES)
def test_an_invoice_keeps_the_orders_amounts_to_the_cent(case):
    order = placed_order(**CASES[case])
    invoice = docs.draw_invoice(order, SELLER, 1, NOW)
    assert (invoice.subtotal, invoice.discount_total, invoice.shipping_total, invoice.tax_total, invoice.total) == (
        order.subtotal.amount,
        order.discount_total.amount,
        order.shipping_total.amount,
        order.tax_total.amount,
        order.total.amount,
    )
    assert sum(line.subtotal for line in invoice.lines) == invoice.subtotal
    assert sum(line.discount for line in invoice.lines) + sum(c.amount for c in invoice.coupons) == (
        invoice.discount_total
    )
    assert sum(c.amount for c in invoice.shipping) == invoice.shipping_total
    assert sum(t.tax for t in invoice.taxes) == invoice.tax_total
    added = sum(t.tax for t in invoice.taxes if not t.inclusive)
    assert invoice.subtotal - invoice.discount_total + invoice.shipping_total + added == invoice.total
    assert docs.InvoiceDocument.from_json(invoice.to_json()) == invoice

    note = docs.credit_note(invoice, 1, NOW)
    assert (note.kind, note.number, note.credits_number) == (docs.CREDIT_NOTE, "CN-000001", "INV-000001")
    assert note.total == -invoice.total and sum(t.tax for t in note.taxes) == -invoice.tax_total


def test_the_plan_reissues_after_an_amendment_and_credits_a_cancellation():
    order = placed_order()
    assert docs.plan(order, []) == docs.Plan(draw=True)
    first = docs.draw_invoice(order, SELLER, 1, NOW)
    assert docs.plan(order, [first]) == docs.Plan(answer=first)
    order.change_quantity(order.lines[0].line_id, 1, actor="c", now=NOW)
    assert docs.plan(order, [first]) == docs.Plan(credit=first, draw=True)
    note = docs.credit_note(first, 1, NOW)
    second = docs.draw_invoice(order, SELLER, 2, NOW)
    assert docs.plan(order, [first, note, second]) == docs.Plan(answer=second)
    order.cancel(reason="r", actor="c", now=NOW)
    assert docs.plan(order, [first, note, second]) == docs.Plan(credit=second)
    last = docs.credit_note(second, 2, NOW)
    assert docs.plan(order, [first, note, second, last]) == docs.Plan(answer=last)


def test_drafts_and_orders_cancelled_before_invoicing_have_no_invoice():
    cat = catalog()
    priced = price_cart(
        [CartItem("p1", 1)], cat, coupon_codes=[], selections={"v1": "ship-v1"}, destination_country="US", now=NOW
    )
    draft = Order.checkout(
        tenant_id=TENANT, customer=CUSTOMER, shipping_address=ADDRESS, priced=priced, actor="c", now=NOW
    )
    with pytest.raises(docs.DocumentNotAvailable) as refused:
        docs.plan(draft, [])
    assert refused.value.code == "DOCUMENT_NOT_AVAILABLE"
    order = placed_order()
    order.cancel(reason="r", actor="c", now=NOW)
    with pytest.raises(docs.DocumentNotAvailable):
        docs.plan(order, [])


# -- through the API with real tokens ------------------------------------------------------------


def pdf_text(body: bytes, tmp_path) -> str:
    assert body.startswith(b"%PDF-")
    target = tmp_path / "document.pdf"
    target.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True).stdout


needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="`make test` installs poppler-utils")


def fetch(client, url: str):
    return client.get(url.removeprefix("http://testserver"))


@needs_poppler
def test_staff_get_an_invoice_once_then_a_credit_note_and_a_new_one_after_an_amendment(shop, client, tmp_path):
    order = shop.confirmed()
    first = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    assert (first["kind"], first["number"]) == ("INVOICE", "INV-000001")
    again = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    assert again["number"] == "INV-000001" and models.Invoice.objects.count() == 1

    response = fetch(client, first["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content, tmp_path)
    assert "Invoice INV-000001" in text and order["number"] in text and "Ada Lovelace" in text
    assert "ACME-MUG" in text and "GLX-LAMP" in text
    assert f"${Decimal(order['total']['amount']):,.2f}" in text

    lamp = line_of(order, "globex")
    amended = shop.ok("removeLineItems", shop.staff, orderId=order["id"], lineIds=[lamp["id"]])
    second = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    assert second["number"] == "INV-000002"
    rows = list(models.Invoice.objects.order_by("issued_at", "kind").values_list("number", "total"))
    assert [number for number, _ in rows] == ["INV-000001", "CN-000001", "INV-000002"]
    totals = dict(rows)
    assert totals["CN-000001"] == -totals["INV-000001"]
    assert totals["INV-000002"] == Decimal(amended["total"]["amount"])
    note = fetch(client, links.make_link(shop.tenant.id, links.INVOICE, "CN-000001").path)
    assert "Credit note CN-000001" in pdf_text(note.content, tmp_path) and "INV-000001" in pdf_text(
        note.content, tmp_path
    )


def test_a_cancelled_orders_invoice_is_credited_and_drafts_are_refused(shop):
    order = shop.confirmed()
    shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)
    shop.ok("cancelOrder", shop.staff, orderId=order["id"], reason="changed mind")
    credited = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    assert (credited["kind"], credited["number"]) == ("CREDIT_NOTE", "CN-000001")

    draft = shop.draft()
    body = shop.gql.post(INVOICE, {"id": draft["id"]}, token=shop.staff).json()
    assert body["errors"][0]["extensions"]["code"] == "DOCUMENT_NOT_AVAILABLE"
    assert not models.Invoice.objects.filter(order_id=draft["id"]).exists()
    assert models.InvoiceCounter.objects.get(kind="INVOICE").last_number == 1  # nothing drawn for the draft


def test_who_gets_which_document(shop, client):
    mixed = shop.confirmed()  # acme's mug and globex's lamp
    only_acme = shop.confirmed((("mug", 2),))
    for token in (shop.customer, shop.acme):
        body = shop.gql.post(INVOICE, {"id": mixed["id"]}, token=token).json()
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert shop.gql.execute(INVOICE, {"id": only_acme["id"]}, token=shop.acme)["invoice"]["number"]
    assert not models.Invoice.objects.filter(order_id=mixed["id"]).exists()

    packed = shop.ok("addShipment", shop.acme, orderId=mixed["id"])
    shipment = packed["shipments"][0]["id"]
    slip = shop.gql.execute(SLIP, {"id": shipment}, token=shop.acme)["packingSlip"]
    assert slip["kind"] == "PACKING_SLIP" and slip["number"] is None
    assert fetch(client, slip["url"]).status_code == 200
    for token in (shop.globex, shop.customer):
        body = shop.gql.post(SLIP, {"id": shipment}, token=token).json()
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for query in (SLIP, INVOICE):
        body = shop.gql.post(query, {"id": "not-a-uuid"}, token=shop.staff).json()
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@needs_poppler
def test_a_packing_slip_has_the_items_the_address_and_the_order_number_as_a_qr_code(shop, client, tmp_path):
    order = shop.confirmed((("mug", 3), ("lamp", 1)))
    packed = shop.ok("addShipment", shop.acme, orderId=order["id"])
    slip = shop.gql.execute(SLIP, {"id": packed["shipments"][0]["id"]}, token=shop.staff)["packingSlip"]
    body = fetch(client, slip["url"]).content
    text = pdf_text(body, tmp_path)
    assert f"Packing slip Order {order['number']}" in text and "ACME-MUG" in text and "GLX-LAMP" not in text
    assert "Ada Lovelace" in text and "acme" in text
    target = tmp_path / "slip.pdf"
    target.write_bytes(body)
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-singlefile", str(target), str(tmp_path / "slip")], check=True)
    assert (tmp_path / "slip.png").stat().st_size > 1000


def test_links_expire_and_cannot_be_altered(shop, client):
    order = shop.confirmed()
    link = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    path = link["url"].removeprefix("http://testserver")
    assert client.get(path).status_code == 200
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    forged = links.make_link("tenant-b", links.INVOICE, "INV-000001").path  # right key, no such document there
    assert client.get(forged).status_code == 404
    with override_settings(OMS_DOCUMENT_LINK_SECONDS=-1):
        assert client.get(path).status_code == 404
    assert client.post(path).status_code == 405


def test_the_tenants_language_and_seller_are_printed(shop, client, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("`make test` installs poppler-utils")
    shop.tenant.language = "de-DE"
    shop.tenant.seller_details = "Acme Handel GmbH\nHauptstraße 1\n10115 Berlin\nUSt-IdNr. DE123456789"
    shop.tenant.save()
    order = shop.confirmed()
    link = shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]
    text = pdf_text(fetch(client, link["url"]).content, tmp_path)
    assert "Rechnung INV-000001" in text and "Acme Handel GmbH" in text and "Hauptstraße 1" in text
    assert "Gesamt" in text and "$" in text


def test_several_documents_render_into_one_pdf(tmp_path):
    order = placed_order(taxes=[tax(rate="10")])
    invoice = docs.draw_invoice(order, SELLER, 1, NOW)
    body = pdf.render([invoice, docs.credit_note(invoice, 1, NOW)], "en")
    if shutil.which("pdftotext") is not None:
        text = pdf_text(body, tmp_path)
        assert "Invoice INV-000001" in text and "Credit note CN-000001" in text
    assert body.count(b"/Type /Page\n") + body.count(b"/Type /Page ") + body.count(b"/Type /Page>") >= 2 or (
        body.count(b"/Type /Page") - body.count(b"/Type /Pages") == 2
    )


# -- PostgreSQL: gapless under concurrency, immutable in the database --------------------------


@requires_postgres
def test_a_rolled_back_issue_gives_its_number_back(shop):
    first = shop.confirmed()
    second = shop.confirmed()
    from ordering.infrastructure.documents.store import OrmInvoices

    with pytest.raises(RuntimeError), transaction.atomic():
        assert OrmInvoices(shop.tenant.id).next_sequence(docs.INVOICE) == 1
        raise RuntimeError("the issuing transaction fails")
    numbers = [
        shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)["invoice"]["number"]
        for order in (first, second)
    ]
    assert numbers == ["INV-000001", "INV-000002"]


@requires_postgres
def test_an_issued_invoice_cannot_be_changed_or_deleted_even_by_sql(shop):
    order = shop.confirmed()
    shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)
    for statement in ("UPDATE ordering_invoice SET total = 0", "DELETE FROM ordering_invoice"):
        with pytest.raises(DatabaseError, match="never changes"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert models.Invoice.objects.get().total == Decimal(order["total"]["amount"])


def test_a_tenants_documents_language_must_be_a_language(tenant):
    from django.core.exceptions import ValidationError

    tenant.language = "de-CH"
    tenant.full_clean()
    tenant.language = "klingon-mars"
    with pytest.raises(ValidationError) as refused:
        tenant.full_clean()
    assert "language" in refused.value.message_dict


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_invoices_issued_at_once_are_one_per_order_and_gapless(shop):
    """Four requests in their own connections, queued on the orders' row locks and released
    together: the two for one order get the same invoice, and the three orders get 1, 2, 3."""
    import threading

    from django.test import Client, override_settings

    from tests.conftest import GraphQLClient

    from .test_concurrency import holding, wait_until_blocked

    orders = [shop.confirmed() for _ in range(3)]
    ids = [orders[0]["id"], orders[0]["id"], orders[1]["id"], orders[2]["id"]]
    answers: list = [None] * len(ids)

    def ask(index: int, order_id: str) -> None:
        try:
            answers[index] = GraphQLClient(Client()).post(INVOICE, {"id": order_id}, token=shop.staff).json()
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(i, order_id)) for i, order_id in enumerate(ids)]
    with override_settings(OMS_SERVING_CAPACITY=len(ids) + 8):
        with holding(models.Order.objects.filter(id__in=ids)):
            for thread in threads:
                thread.start()
            wait_until_blocked(len(ids))
        for thread in threads:
            thread.join(30)
    numbers = [answer["data"]["invoice"]["number"] for answer in answers]
    assert numbers[0] == numbers[1]
    assert sorted(set(numbers)) == ["INV-000001", "INV-000002", "INV-000003"]
    assert models.Invoice.objects.count() == 3


def test_rendering_a_pdf_logs_nothing(caplog):
    """fpdf2's font subsetting (fontTools) logs dozens of lines per PDF at INFO: kept quiet."""
    import logging

    caplog.set_level(logging.DEBUG, logger="")
    invoice = docs.draw_invoice(placed_order(), SELLER, 1, NOW)
    pdf.render([invoice], "en")
    assert [r for r in caplog.records if r.name.startswith("fontTools")] == []


def test_the_invoice_query_runs_on_the_primary_and_other_queries_may_use_a_replica(shop, monkeypatch):
    """`invoice` may write (its first request issues the invoice): a replica would refuse that,
    and a lagging one would not show an invoice just issued. So a document selecting it never
    reads from a replica (oms_project/kernel/replicas.py); `order` still may."""
    from contextlib import contextmanager

    from oms_project.kernel import replicas

    asked: list[str] = []

    @contextmanager
    def reading(sub, after):
        asked.append(sub)
        yield

    monkeypatch.setattr(replicas, "reading", reading)
    order = shop.confirmed()
    shop.gql.execute(INVOICE, {"id": order["id"]}, token=shop.staff)
    assert asked == []
    shop.gql.execute("query($id: ID!) { order(id: $id) { id } }", {"id": order["id"]}, token=shop.staff)
    assert asked == ["staff-1"]


def test_an_orders_packing_slips_are_its_shipments_a_vendor_gets_its_own(shop):
    from identity.domain.principal import Principal, Role
    from ordering.application.commands import DrawPackingSlips
    from ordering.application.handlers.documents import packing_slips
    from ordering.domain.errors import OrderNotFound
    from ordering.infrastructure.unit_of_work import DjangoUnitOfWork

    order = shop.confirmed()
    for vendor in (shop.acme, shop.globex):
        shop.ok("addShipment", vendor, orderId=order["id"])

    def slips(role: Role, **who) -> list[str]:
        principal = Principal("someone", shop.tenant.id, frozenset({role}), **who)
        found = packing_slips(principal, DrawPackingSlips(order["id"]), DjangoUnitOfWork(shop.tenant.id))
        return [slip.vendor_id for slip in found]

    assert slips(Role.STAFF) == ["acme", "globex"] and slips(Role.VENDOR, vendor_id="acme") == ["acme"]
    with pytest.raises(OrderNotFound):
        slips(Role.CUSTOMER)  # not the order's customer
