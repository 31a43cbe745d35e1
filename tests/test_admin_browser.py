"""The admin in a real browser: Debian's headless Chromium driven by Playwright against a live
server. Logs in as staff, opens the order list and an order, cancels one through its action and
opens the webhook deliveries, saving a screenshot of each step (OMS_SCREENSHOT_DIR, default
var/screenshots; README shows the copies in docs/screenshots). Any browser console error (a
Content-Security-Policy violation, a failed script) fails the test.

Chromium comes from Debian (`make test` installs the `chromium` package when it is missing);
Playwright never downloads a browser.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from ordering.infrastructure.models import Order
from tests.ordering.conftest import Shop, seed_catalog
from webhooks.infrastructure.models import WebhookDelivery, WebhookSubscription

from .webhooks.receiver import Receiver
from .webhooks.test_outbound_delivery import subscribe

CHROMIUM = os.environ.get("OMS_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("OMS_SCREENSHOT_DIR") or ROOT / "var" / "screenshots")
PASSWORD = "a-long-staff-password-1"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def watch(page, problems: list[str]) -> None:
    """Collect the page's console errors (a CSP violation, a failed script; not the missing
    favicon) and uncaught exceptions into `problems`."""
    page.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text} ({m.location.get('url')})")
            if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))


@pytest.fixture
def orders(gql, tenant, django_user_model):
    """Three placed orders, their events delivered to a subscription, and a staff user."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    placed = [shop.placed(items=(("kettle", 1),)) for _ in range(2)] + [shop.confirmed()]
    receiver = Receiver(subscribe(tenant.id, "http://127.0.0.1:9/"))
    WebhookSubscription.objects.update(url=receiver.url)
    try:
        call_command("relay_events", "--once", stdout=io.StringIO())
    finally:
        receiver.stop()
    django_user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    return placed


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
def test_staff_work_the_admin_in_a_real_browser(live_server, orders):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    to_cancel = orders[0]
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        watch(page, problems)
        page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        try:
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "staff")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#site-name")
            page.screenshot(path=SHOTS / "1-admin-home.png")

            page.goto(f"{live_server.url}/admin/ordering/order/")
            page.wait_for_selector("#result_list")
            assert page.locator("#result_list tbody tr").count() == 3
            page.screenshot(path=SHOTS / "2-order-list.png", full_page=True)

            page.goto(f"{live_server.url}/admin/ordering/order/{to_cancel['id']}/change/")
            page.wait_for_selector("text=Lines")
            assert page.locator(f"text={to_cancel['number']}").count() >= 1
            page.screenshot(path=SHOTS / "3-order-detail.png", full_page=True)

            page.goto(f"{live_server.url}/admin/ordering/order/")
            page.check(f"input.action-select[value='{to_cancel['id']}']")
            page.select_option("select[name=action]", "cancel_orders")
            page.click("button[name=index]")
            page.wait_for_selector("text=Cancel these orders")
            page.fill("textarea[name=reason]", "customer called to cancel")
            page.screenshot(path=SHOTS / "4-cancel-reason.png", full_page=True)
            page.click("input[value='Cancel these orders']")
            page.wait_for_selector(f"text=Cancelled: {to_cancel['number']}.")
            page.screenshot(path=SHOTS / "5-cancelled.png", full_page=True)

            page.goto(f"{live_server.url}/admin/webhooks/webhookdelivery/")
            page.wait_for_selector("#result_list")
            assert page.locator("#result_list tbody tr").count() == WEBHOOK_ROWS
            page.screenshot(path=SHOTS / "6-webhook-deliveries.png", full_page=True)
        finally:
            browser.close()

    assert problems == []
    row = Order.objects.get(id=to_cancel["id"])
    assert (row.status, row.cancel_reason, row.cancelled_by) == (
        "CANCELLED",
        "customer called to cancel",
        "admin:staff",
    )
    assert WebhookDelivery.objects.filter(status="DELIVERED").count() == WEBHOOK_ROWS
    assert {"1-admin-home.png", "2-order-list.png"} <= {p.name for p in SHOTS.glob("*.png")}


# created, placed and status_changed for each placed order; confirmed and status_changed more for the last.
WEBHOOK_ROWS = 3 * 3 + 2


@pytest.fixture
def two_tenants_orders(gql, tenant, other_tenant, monkeypatch):
    """Acme (tenant-a) and Globex (tenant-b) with two orders each, acme's staff bound by the
    command, and a platform operator."""
    from django.contrib.auth.models import Group, User

    from identity.infrastructure.admin_staff import PLATFORM_OPERATORS

    for t, email in ((tenant, "ada@example.com"), (other_tenant, "zedd@globex.example")):
        seed_catalog(t.id)
        shop = Shop(gql, t)
        for _ in range(2):
            shop.placed(customer={"email": email, "firstName": "A", "lastName": "B"})
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command("tenant_admin", tenant.id, "add", "acme-staff", "--password-stdin", stdout=io.StringIO())
    operator = User.objects.create_user("operator", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name=PLATFORM_OPERATORS))


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
def test_tenant_staff_and_operators_see_what_they_should_in_a_real_browser(live_server, two_tenants_orders):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    seen: dict[str, dict] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for username, shot in (("acme-staff", "7-tenant-staff-orders.png"), ("operator", "8-operator-orders.png")):
                page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                page.goto(f"{live_server.url}/admin/login/")
                page.fill("#id_username", username)
                page.fill("#id_password", PASSWORD)
                page.click("input[type=submit]")
                page.wait_for_selector("#site-name")
                home = page.content()
                page.goto(f"{live_server.url}/admin/ordering/order/")
                page.wait_for_selector("#result_list")
                page.screenshot(path=SHOTS / shot, full_page=True)
                rows = page.locator("#result_list tbody tr")
                seen[username] = {
                    "rows": rows.count(),
                    "text": page.locator("#result_list").inner_text(),
                    "filters": page.locator("#changelist-filter").inner_text(),
                    "users_link": "/admin/auth/user/" in home,
                }
                page.goto(f"{live_server.url}/admin/identity/tenant/")
                page.wait_for_selector("#result_list")
                seen[username]["tenants"] = page.locator("#result_list tbody tr").count()
        finally:
            browser.close()

    staff, operator = seen["acme-staff"], seen["operator"]
    assert staff["rows"] == 2 and "ada@example.com" in staff["text"] and "zedd@globex.example" not in staff["text"]
    assert "tenant-b" not in staff["filters"] and not staff["users_link"] and staff["tenants"] == 1
    assert operator["rows"] == 4 and "zedd@globex.example" in operator["text"] and "tenant-b" in operator["text"]
    assert "tenant-b" in operator["filters"] and operator["users_link"] and operator["tenants"] == 2


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
def test_a_locked_out_user_sees_the_lockout_page_in_a_real_browser(live_server, django_user_model, settings):
    """Three wrong passwords (the limit, lowered for the test), then the right one: the lockout
    page, not the admin (docs/admin.md, "Sign-in lockout")."""
    from playwright.sync_api import sync_playwright

    settings.AXES_FAILURE_LIMIT = 3
    django_user_model.objects.create_superuser("locked", "locked@example.com", PASSWORD)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 700})
            for password in ["wrong-1", "wrong-2", "wrong-3", PASSWORD]:
                page.goto(f"{live_server.url}/admin/login/")
                page.fill("#id_username", "locked")
                page.fill("#id_password", password)
                page.click("input[type=submit]")
                page.wait_for_load_state()
            page.wait_for_selector("text=Sign-in locked")
            page.screenshot(path=SHOTS / "9-admin-locked-out.png")
            text = page.content()
        finally:
            browser.close()
    assert "Too many failed sign-ins" in text and "site-name" in text  # the admin's own frame
    assert "/admin/login/" in page.url


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing: `make test` installs Debian's chromium")
def test_tenant_staff_see_the_dashboard_export_orders_and_print_documents_in_a_real_browser(
    live_server, gql, tenant, monkeypatch, tmp_path
):
    """Issue 33 as a person would look at it: the start page's dashboard with its charts drawn
    (and no CSP violation), the order list's export downloaded, an order's invoice and packing
    slip downloaded and read back (pdftotext; the slip rendered to PNG by pdftoppm)."""
    import csv
    import shutil
    import subprocess

    from playwright.sync_api import sync_playwright

    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    orders = [shop.confirmed((("mug", 2), ("lamp", 1))), shop.placed(), shop.placed((("mug", 1),))]
    shipped = orders[0]
    packed = shop.ok("addShipment", shop.acme, orderId=shipped["id"])
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    call_command("tenant_admin", tenant.id, "add", "acme-staff", "--password-stdin", stdout=io.StringIO())
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True).new_page()
            watch(page, problems)
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "acme-staff")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_selector("#dashboard[data-charts=drawn]")
            assert page.locator("#dashboard canvas").count() == 3
            cards = page.locator(".oms-dashboard-cards").inner_text()
            assert "3 orders" in cards and "1 products" not in cards
            page.screenshot(path=SHOTS / "10-dashboard.png", full_page=True)

            page.goto(f"{live_server.url}/admin/ordering/order/?status__exact=PENDING")
            page.click("#export-orders")
            page.wait_for_selector("#export-form")
            assert "2 orders match" in page.content()
            with page.expect_download() as exported:
                page.click("#export-form input[type=submit]")
            rows = list(csv.DictReader(io.StringIO(Path(exported.value.path()).read_text())))
            assert sorted(r["order_id"] for r in rows) == sorted(o["id"] for o in orders[1:])

            page.goto(f"{live_server.url}/admin/ordering/order/{shipped['id']}/change/")
            with page.expect_download() as invoice:
                page.click("#order-invoice")
            with page.expect_download() as slip:
                page.click("a.packing-slip")
            invoice_pdf, slip_pdf = tmp_path / "invoice.pdf", tmp_path / "slip.pdf"
            invoice.value.save_as(invoice_pdf)
            slip.value.save_as(slip_pdf)
        finally:
            browser.close()
    assert problems == []
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing: `make test` installs poppler-utils")
    text = subprocess.run(["pdftotext", "-layout", str(invoice_pdf), "-"], capture_output=True, text=True).stdout
    assert "Invoice INV-000001" in text and shipped["number"] in text and "Ada Lovelace" in text
    slip_text = subprocess.run(["pdftotext", "-layout", str(slip_pdf), "-"], capture_output=True, text=True).stdout
    assert f"Packing slip Order {shipped['number']}" in slip_text and "ACME-MUG" in slip_text
    assert packed["shipments"][0]["id"] in slip_text
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", "-singlefile", str(slip_pdf), str(SHOTS / "11-packing-slip")], check=True
    )
    assert (SHOTS / "11-packing-slip.png").stat().st_size > 5000
