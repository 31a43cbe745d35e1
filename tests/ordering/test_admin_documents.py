"""The order admin's downloads (docs/admin.md): the list's export with its filters and search, at
once or in the background with a download link, per tenant; the order page's invoice and packing
slips; the actions that put several orders' documents into one PDF."""

from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from ordering import admin_documents
from ordering.infrastructure import models

from ..conftest import requires_postgres
from ..test_admin_tenancy import staff_of
from .conftest import Shop, seed_catalog
from .test_documents import pdf_text

EXPORT = "/admin/ordering/order/export/"


@pytest.fixture
def inline_jobs(monkeypatch):
    """Background exports run inline, so the test sees them finish."""
    monkeypatch.setattr(admin_documents, "run_in_background", lambda job: job())


def rows_of(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode())))


def download(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_staff_export_what_the_list_shows(client, shop):
    confirmed = shop.confirmed()
    shop.placed()
    client.force_login(staff_of(shop.tenant))
    page = client.get("/admin/ordering/order/", {"status__exact": "CONFIRMED"}).content.decode()
    assert f'href="{EXPORT}?status__exact=CONFIRMED"' in page
    form = client.get(EXPORT, {"status__exact": "CONFIRMED"}).content.decode()
    assert "1 order match" in form
    response = client.post(f"{EXPORT}?status__exact=CONFIRMED", {"format": "csv"})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(download(response))
    assert [r["order_id"] for r in rows] == [confirmed["id"]] and rows[0]["total"] == confirmed["total"]["amount"]
    searched = rows_of(download(client.post(f"{EXPORT}?q={confirmed['number']}", {"format": "csv", "lines": "on"})))
    assert {r["order_id"] for r in searched} == {confirmed["id"]} and len(searched) == 2  # a row per line


def test_a_bad_format_is_refused_and_nothing_is_written(client, shop):
    shop.placed()
    client.force_login(staff_of(shop.tenant))
    response = client.post(EXPORT, {"format": "pdf"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not models.OrderExport.objects.exists()


def test_a_large_export_runs_in_the_background_and_only_its_tenant_downloads_it(
    client, shop, gql, other_tenant, inline_jobs, tmp_path, settings, django_capture_on_commit_callbacks
):
    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_INLINE_ORDERS = tmp_path, 1
    orders = [shop.placed(), shop.placed()]
    client.force_login(staff_of(shop.tenant))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(EXPORT, {"format": "xlsx"}, follow=True)
    assert "runs in the background" in response.content.decode()
    export = models.OrderExport.objects.get()
    assert (export.status, export.orders, export.tenant_id) == ("DONE", len(orders), shop.tenant.id)
    listing = client.get("/admin/ordering/orderexport/").content.decode()
    link = f"/admin/ordering/orderexport/{export.pk}/download/"
    assert link in listing
    file = client.get(link)
    assert file.status_code == 200 and download(file).startswith(b"PK")  # an XLSX is a zip

    seed_catalog(other_tenant.id)
    Shop(gql, other_tenant).placed()
    client.force_login(staff_of(other_tenant))
    assert client.get(link).status_code == 404
    assert str(export.pk) not in client.get("/admin/ordering/orderexport/").content.decode()

    client.force_login(_staff(shop))
    client.post(f"/admin/ordering/orderexport/{export.pk}/delete/", {"post": "yes"})
    assert not models.OrderExport.objects.exists() and not (tmp_path / export.file_name).exists()


def _staff(shop):
    from django.contrib.auth.models import User

    return User.objects.get(username=f"staff-of-{shop.tenant.id}")


def test_a_failed_background_export_says_why_and_leaves_no_file(
    client, shop, inline_jobs, tmp_path, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_INLINE_ORDERS = tmp_path, 0
    shop.placed()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(admin_documents, "export_orders", broken)
    client.force_login(staff_of(shop.tenant))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(EXPORT, {"format": "csv"})
    export = models.OrderExport.objects.get()
    assert (export.status, export.error) == ("FAILED", "disk full")
    assert list(tmp_path.iterdir()) == []


def test_operators_export_one_tenant_at_a_time(client, shop, admin_user):
    order = shop.placed()
    client.force_login(admin_user)
    refused = client.get(EXPORT, follow=True).content.decode()
    assert "Filter the list by one tenant" in refused
    response = client.post(f"{EXPORT}?tenant__id__exact={shop.tenant.id}", {"format": "csv"})
    assert [r["order_id"] for r in rows_of(download(response))] == [order["id"]]


def test_the_order_page_links_its_invoice_and_packing_slips(client, shop):
    order = shop.confirmed()
    packed = shop.ok("addShipment", shop.acme, orderId=order["id"])
    client.force_login(staff_of(shop.tenant))
    page = client.get(f"/admin/ordering/order/{order['id']}/change/").content.decode()
    invoice = f"/admin/ordering/order/{order['id']}/invoice.pdf"
    slip = f"/admin/ordering/order/{order['id']}/packing-slip/{packed['shipments'][0]['id']}.pdf"
    assert invoice in page and slip in page
    assert client.get(invoice).status_code == 405  # a GET never issues (it may run on a replica)
    assert not models.Invoice.objects.exists()
    for response in (client.post(invoice), client.get(slip)):
        assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert models.Invoice.objects.get().number == "INV-000001"
    assert client.get(f"/admin/ordering/order/{order['id']}/packing-slip/{order['id']}.pdf").status_code == 404


def test_another_tenants_staff_get_no_document_of_an_order(client, shop, gql, other_tenant):
    order = shop.confirmed()
    packed = shop.ok("addShipment", shop.acme, orderId=order["id"])
    client.force_login(staff_of(other_tenant))
    assert client.post(f"/admin/ordering/order/{order['id']}/invoice.pdf").status_code == 404
    slip = f"/admin/ordering/order/{order['id']}/packing-slip/{packed['shipments'][0]['id']}.pdf"
    assert client.get(slip).status_code == 404
    assert not models.Invoice.objects.exists()


def test_the_actions_put_several_orders_documents_into_one_pdf(client, shop, tmp_path):
    first, second = shop.confirmed(), shop.confirmed()
    draft = shop.draft()
    client.force_login(staff_of(shop.tenant))
    response = client.post(
        "/admin/ordering/order/",
        {"action": "print_invoices", "_selected_action": [first["id"], second["id"], draft["id"]]},
    )
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    assert set(models.Invoice.objects.values_list("number", flat=True)) == {"INV-000001", "INV-000002"}
    nothing = client.post(
        "/admin/ordering/order/", {"action": "print_packing_slips", "_selected_action": [first["id"]]}, follow=True
    )
    assert "No packing slips to print" in nothing.content.decode()

    for vendor in (shop.acme, shop.globex):
        shop.ok("addShipment", vendor, orderId=second["id"])
    slips = client.post(
        "/admin/ordering/order/", {"action": "print_packing_slips", "_selected_action": [first["id"], second["id"]]}
    )
    assert slips.status_code == 200 and slips.content.startswith(b"%PDF-")
    if shutil.which("pdftotext") is not None:  # one page per shipment, each with its vendor's items
        pages = pdf_text(slips.content, tmp_path).split("\f")
        assert ["ACME-MUG" in page and "GLX-LAMP" not in page for page in pages[:2]] == [True, False]
        assert "GLX-LAMP" in pages[1]


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_background_export_runs_in_its_own_thread_after_the_request_commits(client, gql, tenant, tmp_path, settings):
    """No test double: the row commits with the admin request, then a thread of its own reads the
    orders in the tenant's transaction (row-level security) and marks the row DONE."""
    import time

    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_INLINE_ORDERS = tmp_path, 1
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    orders = [shop.placed(), shop.placed()]
    client.force_login(staff_of(tenant))
    client.post(EXPORT, {"format": "csv"})
    deadline = time.monotonic() + 20
    while models.OrderExport.objects.get().status == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.1)
    export = models.OrderExport.objects.get()
    assert (export.status, export.orders) == ("DONE", 2), export.error
    rows = rows_of((tmp_path / export.file_name).read_bytes())
    assert sorted(r["order_id"] for r in rows) == sorted(o["id"] for o in orders)


# -- how long exports are kept: INTERRUPTED, EXPIRED and the daily purge ------------------------


def _export(tenant, tmp_path, name: str, *, status: str, age: timedelta, took: timedelta | None = None):
    """An export started `age` ago (and finished `took` after it started), its file on disk."""
    (tmp_path / name).write_bytes(b"number,customer_email\n1,ada@example.com\n")
    export = models.OrderExport.objects.create(
        tenant=tenant, requested_by="staff", format="csv", file_name=name, status=status
    )
    started = timezone.now() - age
    finished = started + took if took is not None else None
    models.OrderExport.objects.filter(pk=export.pk).update(created_at=started, finished_at=finished)
    return models.OrderExport.objects.get(pk=export.pk)


def test_an_export_past_its_deadline_shows_interrupted_and_offers_no_file(client, shop, tmp_path, settings):
    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_MAX_SECONDS = tmp_path, 600
    _export(shop.tenant, tmp_path, "running.csv", status="RUNNING", age=timedelta(minutes=5))
    stopped = _export(shop.tenant, tmp_path, "stopped.csv", status="RUNNING", age=timedelta(minutes=11))
    client.force_login(staff_of(shop.tenant))
    listing = client.get("/admin/ordering/orderexport/").content.decode()
    states = re.findall(r'<td class="field-state">(\w+)</td>', listing)
    assert sorted(states) == ["INTERRUPTED", "RUNNING"]
    assert "interrupted: its process stopped; delete it and export again" in listing
    assert "/download/" not in listing
    assert client.get(f"/admin/ordering/orderexport/{stopped.pk}/download/").status_code == 404


def test_an_export_file_is_kept_its_hours_then_refused_and_purged_for_every_tenant(
    client, shop, other_tenant, tmp_path, settings
):
    """Retention of orders is off for both tenants: exports are purged all the same."""
    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_KEEP_HOURS, settings.OMS_EXPORT_MAX_SECONDS = tmp_path, 24, 3600
    minute = timedelta(minutes=1)
    fresh = _export(shop.tenant, tmp_path, "fresh.csv", status="DONE", age=timedelta(hours=23), took=minute)
    old = _export(shop.tenant, tmp_path, "old.csv", status="DONE", age=timedelta(hours=25), took=minute)
    failed = _export(shop.tenant, tmp_path, "failed.csv", status="FAILED", age=timedelta(hours=30), took=minute)
    stopped = _export(shop.tenant, tmp_path, "stopped.csv", status="RUNNING", age=timedelta(hours=26))
    lately_stopped = _export(shop.tenant, tmp_path, "lately.csv", status="RUNNING", age=timedelta(hours=24))
    theirs = _export(other_tenant, tmp_path, "theirs.csv", status="DONE", age=timedelta(days=3), took=minute)

    client.force_login(staff_of(shop.tenant))
    assert client.get(f"/admin/ordering/orderexport/{fresh.pk}/download/").status_code == 200
    assert client.get(f"/admin/ordering/orderexport/{old.pk}/download/").status_code == 404  # before any purge
    listing = client.get("/admin/ordering/orderexport/").content.decode()
    states = re.findall(r'<td class="field-state">(\w+)</td>', listing)
    assert sorted(states) == ["DONE", "EXPIRED", "EXPIRED", "EXPIRED", "INTERRUPTED"]  # none of the other tenant
    assert "expired: files are kept 24 hours" in listing

    out = io.StringIO()
    call_command("purge_personal_data", stdout=out)
    assert f"{shop.tenant.id}: 3 expired export(s) deleted with their files" in out.getvalue()
    assert f"{other_tenant.id}: 1 expired export(s) deleted with their files" in out.getvalue()
    assert f"{shop.tenant.id}: retention off" in out.getvalue()
    kept = {fresh.pk, lately_stopped.pk}
    assert set(models.OrderExport.objects.values_list("pk", flat=True)) == kept
    assert {path.name for path in tmp_path.iterdir()} == {"fresh.csv", "lately.csv"}
    assert {old.pk, failed.pk, stopped.pk, theirs.pk}.isdisjoint(kept)
    again = io.StringIO()
    call_command("purge_personal_data", stdout=again)
    assert "expired export" not in again.getvalue()


def test_an_export_deleted_while_it_ran_leaves_no_file(
    client, shop, inline_jobs, tmp_path, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OMS_EXPORT_DIR, settings.OMS_EXPORT_INLINE_ORDERS = tmp_path, 0
    shop.placed()

    def deleted_meanwhile(tenant_id, principal, base, fmt, lines, stream):
        models.OrderExport.objects.all().delete()  # an operator deletes it from the list
        stream.write(b"number,customer_email\n1,ada@example.com\n")
        return 1

    monkeypatch.setattr(admin_documents, "write_export", deleted_meanwhile)
    client.force_login(staff_of(shop.tenant))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(EXPORT, {"format": "csv"})
    assert not models.OrderExport.objects.exists() and list(tmp_path.iterdir()) == []
