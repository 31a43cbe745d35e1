"""Orders in Django admin: search, filters, a read-only detail page, and actions that run the
application handlers as the logged-in staff user."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from identity.infrastructure.models import TenantStaffMember
from ordering.infrastructure import models

CHANGELIST = "admin:ordering_order_changelist"


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def change_url(order_id):
    return reverse("admin:ordering_order_change", args=[order_id])


def act(client, action, orders, **extra):
    return client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [o["id"] for o in orders], **extra}, follow=True
    )


def test_the_list_searches_and_filters(staff_client, shop, other_tenant):
    placed = shop.placed(items=(("kettle", 1),))
    shop.draft(items=(("lamp", 1),))
    page = staff_client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and b"1001" in page.content

    def found(query):
        result = staff_client.get(reverse(CHANGELIST), {"q": query})
        return {str(o.id) for o in result.context["cl"].result_list}

    assert found("1001") == found("ACME-KETTLE") == {placed["id"]}
    assert len(found("ada@example.com")) == 2 and found("nobody@example.com") == set()
    drafts = staff_client.get(reverse(CHANGELIST), {"status__exact": "DRAFT"})
    assert [o.status for o in drafts.context["cl"].result_list] == ["DRAFT"]
    by_tenant = staff_client.get(reverse(CHANGELIST), {"tenant__id__exact": "tenant-b"})
    assert list(by_tenant.context["cl"].result_list) == []
    by_tenant = staff_client.get(reverse(CHANGELIST), {"tenant__id__exact": "tenant-a"})
    assert len(by_tenant.context["cl"].result_list) == 2


def test_the_detail_page_shows_lines_shipping_payment_shipments_and_history(staff_client, shop):
    order = shop.confirmed(items=(("mug", 2), ("lamp", 1)), couponCodes=["WELCOME5"])
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z-ADMIN")
    page = staff_client.get(change_url(order["id"]))
    assert page.status_code == 200
    html = page.content.decode()
    for expected in (
        "ACME-MUG",
        "GLX-LAMP",
        "acme-std",
        "WELCOME5",
        "1Z-ADMIN",
        "ch_1",
        "PARTIALLY_SHIPPED",
        "ada@example.com",
    ):
        assert expected in html, expected
    assert 'name="_save"' not in html, "read-only: there is nothing to save"


def test_the_detail_page_cannot_change_an_order(staff_client, shop):
    order = shop.placed(items=(("kettle", 1),))
    response = staff_client.post(change_url(order["id"]), {"status": "COMPLETED", "total": "0"})
    assert response.status_code == 403
    row = models.Order.objects.get(id=order["id"])
    assert row.status == "PENDING" and str(row.total) == "44.0000"
    assert staff_client.get(reverse("admin:ordering_order_add")).status_code == 403
    assert staff_client.post(reverse("admin:ordering_order_delete", args=[order["id"]])).status_code == 403


def test_cancel_asks_for_a_reason_then_cancels_as_the_admin_user(staff_client, shop):
    order = shop.confirmed(items=(("kettle", 1),))
    form = act(staff_client, "cancel_orders", [order])
    assert form.status_code == 200 and b"Cancel these orders" in form.content
    assert models.Order.objects.get(id=order["id"]).status == "CONFIRMED"
    missing_reason = act(staff_client, "cancel_orders", [order], apply="1", reason="")
    assert b"This field is required" in missing_reason.content
    assert models.Order.objects.get(id=order["id"]).status == "CONFIRMED"

    done = act(staff_client, "cancel_orders", [order], apply="1", reason="fraud check failed")
    assert b"Cancelled: 1001." in done.content
    row = models.Order.objects.get(id=order["id"])
    assert (row.status, row.cancel_reason, row.cancelled_by) == ("CANCELLED", "fraud check failed", "admin:admin")
    assert row.history.last().actor == "admin:admin"
    assert shop.order(order["id"], shop.customer)["cancellation"]["by"] == "admin:admin"


def test_actions_report_refusals_per_order_and_change_nothing_for_them(staff_client, shop):
    shipped = shop.confirmed(items=(("kettle", 1),))
    shop.ok("shipOrder", shop.acme, orderId=shipped["id"], carrier="UPS", trackingNumber="t")
    pending = shop.placed(items=(("kettle", 1),))
    result = act(staff_client, "cancel_orders", [shipped, pending], apply="1", reason="stop")
    html = result.content.decode()
    assert "Cancelled: 1002." in html
    assert "Not cancelled: 1001 (INVALID_TRANSITION" in html
    assert models.Order.objects.get(id=shipped["id"]).status == "SHIPPED"
    assert models.Order.objects.get(id=pending["id"]).status == "CANCELLED"


def test_deliver_then_complete(staff_client, shop):
    order = shop.confirmed(items=(("kettle", 1),))
    refused = act(staff_client, "deliver_orders", [order])
    assert b"Not delivered: 1001 (INVALID_TRANSITION" in refused.content
    shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="t")
    assert b"Delivered: 1001." in act(staff_client, "deliver_orders", [order]).content
    assert b"Completed: 1001." in act(staff_client, "complete_orders", [order]).content
    row = models.Order.objects.get(id=order["id"])
    assert row.status == "COMPLETED"
    assert [h.actor for h in row.history.order_by("position")][-2:] == ["admin:admin", "admin:admin"]


def test_staff_who_may_only_view_orders_cannot_act(client, shop):
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    TenantStaffMember.objects.create(user=viewer, tenant=shop.tenant)  # unbound staff see no orders at all
    viewer.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="ordering"))
    client.force_login(viewer)
    order = shop.placed(items=(("kettle", 1),))
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and b"cancel_orders" not in page.content
    assert client.get(change_url(order["id"])).status_code == 200
    act(client, "cancel_orders", [order], apply="1", reason="no")
    act(client, "deliver_orders", [order])
    assert models.Order.objects.get(id=order["id"]).status == "PENDING"


# -- the customer's data rights (docs/privacy.md) -------------------------------------------------


def test_staff_erase_the_customer_of_an_order_after_a_confirmation_page(staff_client, shop):
    delivered_order = shop.confirmed(items=(("kettle", 1),))
    shop.ok("shipOrder", shop.acme, orderId=delivered_order["id"], carrier="UPS", trackingNumber="1Z-E")
    shop.ok("deliverOrder", shop.staff, orderId=delivered_order["id"])
    pending = shop.placed(items=(("mug", 1),))

    page = act(staff_client, "erase_customers", [delivered_order])
    html = page.content.decode()
    assert page.status_code == 200 and "Erase these customers" in html and "cust-1" in html
    assert 'class="breadcrumbs"' in html and reverse(CHANGELIST) in html  # back to the order list
    assert models.Order.objects.get(id=delivered_order["id"]).customer_email == "ada@example.com"

    refused = act(staff_client, "erase_customers", [delivered_order], apply="1", reason="GDPR 12")
    assert "Not erased: cust-1 (CUSTOMER_HAS_OPEN_ORDERS" in refused.content.decode()
    assert models.Order.objects.filter(customer_email="ada@example.com").count() == 2

    done = act(staff_client, "erase_customers", [delivered_order], apply="1", reason="GDPR 12", force="on")
    assert "Erased: cust-1 (2 order(s))" in done.content.decode()
    assert models.Order.objects.get(id=pending["id"]).status == "CANCELLED"
    detail = staff_client.get(change_url(delivered_order["id"])).content.decode()
    assert "[erased]" in detail and "ada@example.com" not in detail
    for search in ("ada@example.com", "Lovelace"):
        assert list(staff_client.get(reverse(CHANGELIST), {"q": search}).context["cl"].result_list) == []
    assert models.CustomerErasureRecord.objects.get().requested_by == "admin:admin"


def test_staff_export_one_customers_data_as_a_json_download(staff_client, shop):
    order = shop.placed(items=(("kettle", 1),))
    other = shop.draft(items=(("mug", 1),), token=shop.other_customer)
    page = act(staff_client, "export_customer", [order])
    assert page.status_code == 200 and "Download" in page.content.decode()
    download = act(staff_client, "export_customer", [order], apply="1")
    assert download["Content-Disposition"] == 'attachment; filename="customer-tenant-a-cust-1.json"'
    document = json.loads(b"".join(download.streaming_content))
    assert [o["id"] for o in document["orders"]] == [order["id"]] and document["customer_user_id"] == "cust-1"
    two = act(staff_client, "export_customer", [order, other])
    assert "Select the orders of one customer to export." in two.content.decode()


def test_erasing_and_exporting_need_the_change_permission(client, shop):
    order = shop.placed(items=(("kettle", 1),))
    viewer = User.objects.create_user("viewer", password="x", is_staff=True)
    TenantStaffMember.objects.create(user=viewer, tenant=shop.tenant)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="ordering"))
    client.force_login(viewer)
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200 and b"erase_customers" not in page.content and b"export_customer" not in page.content
    for action in ("erase_customers", "export_customer"):
        answer = act(client, action, [order], apply="1", reason="r", force="on")
        assert "Erased" not in answer.content.decode() and not answer.has_header("Content-Disposition")
    assert models.Order.objects.get(id=order["id"]).customer_email == "ada@example.com"
