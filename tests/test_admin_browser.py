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
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def orders(gql, tenant, django_user_model):
    """Three placed orders, their events delivered to a subscription, and a staff user."""
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    placed = [shop.placed(items=(("kettle", 1),)) for _ in range(2)] + [shop.confirmed()]
    receiver = Receiver(subscribe(tenant.id, "http://placeholder.invalid/"))
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
        page.on("console", lambda m: problems.append(f"console: {m.text} ({m.location.get('url')})")
                if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
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
    assert (row.status, row.cancel_reason, row.cancelled_by) == ("CANCELLED", "customer called to cancel", "admin:staff")
    assert WebhookDelivery.objects.filter(status="DELIVERED").count() == WEBHOOK_ROWS
    assert sorted(p.name for p in SHOTS.glob("*.png")) >= ["1-admin-home.png", "2-order-list.png"]


# created, placed and status_changed for each placed order; confirmed and status_changed more for the last.
WEBHOOK_ROWS = 3 * 3 + 2
