"""Django admin: tenants are editable by staff, snapshots are read-only."""

import pytest
from django.urls import reverse

from snapshots.infrastructure.models import CustomerDetailsSnapshot


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_tenant_admin_lists_and_edits(staff_client, tenant):
    assert staff_client.get(reverse("admin:identity_tenant_changelist")).status_code == 200
    page = staff_client.get(reverse("admin:identity_tenant_change", args=[tenant.pk]))
    assert page.status_code == 200
    assert b"jwt_hs256_secret" in page.content


def test_tenant_admin_refuses_inconsistent_token_settings(staff_client, db):
    response = staff_client.post(
        reverse("admin:identity_tenant_add"),
        {
            "id": "acme",
            "name": "Acme",
            "active": "on",
            "jwt_algorithms": '["RS256"]',
            "jwt_hs256_secret": "x" * 40,
            "jwt_jwks_url": "",
            "roles_claim": "roles",
            "vendor_id_claim": "vendor_id",
        },
    )
    assert response.status_code == 200  # the form is shown again with the error
    assert b"cannot be used with an HS secret" in response.content


@pytest.mark.parametrize(
    "model",
    [
        "customerdetailssnapshot",
        "customeraddresssnapshot",
        "userauthorizationsnapshot",
        "vendorsnapshot",
        "productsnapshot",
        "couponsnapshot",
        "offersnapshot",
        "shippingoptionsnapshot",
    ],
)
def test_snapshot_admin_is_read_only(staff_client, tenant, model):
    assert staff_client.get(reverse(f"admin:snapshots_{model}_changelist")).status_code == 200
    assert staff_client.get(reverse(f"admin:snapshots_{model}_add")).status_code == 403


def test_snapshot_change_page_cannot_save(staff_client, tenant):
    row = CustomerDetailsSnapshot.objects.create(
        tenant=tenant, user_id="u", email="a@b.co", first_name="A", last_name="B"
    )
    url = reverse("admin:snapshots_customerdetailssnapshot_change", args=[row.pk])
    assert staff_client.get(url).status_code == 200
    staff_client.post(url, {"email": "changed@b.co"})
    row.refresh_from_db()
    assert row.email == "a@b.co"


def test_webhook_secret_is_generated_in_admin_and_can_be_revoked(staff_client, tenant):
    from webhooks.infrastructure.models import InboundWebhookSecret

    response = staff_client.post(
        reverse("admin:webhooks_inboundwebhooksecret_add"),
        {"tenant": tenant.pk, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    secret = InboundWebhookSecret.objects.get(tenant=tenant)
    assert secret.secret.startswith("whsec_") and secret.state == "active"
    assert secret.secret.encode() in response.content  # shown once, in the message

    staff_client.post(
        reverse("admin:webhooks_inboundwebhooksecret_changelist"), {"action": "revoke", "_selected_action": [secret.pk]}
    )
    secret.refresh_from_db()
    assert secret.state == "revoked"


def test_staff_set_a_tenant_workflow_in_admin_and_orders_follow_it(staff_client, tenant):
    from ordering.infrastructure.repositories.workflow import OrmWorkflowReader
    from snapshots.infrastructure.models import TenantWorkflowSnapshot

    assert OrmWorkflowReader(tenant.id).get().review_required is False  # the defaults
    response = staff_client.post(
        reverse("admin:snapshots_tenantworkflowsnapshot_add"),
        {"tenant": tenant.pk, "review_required": "on", "review_min_total": "100", "return_window_days": "14"},
    )
    assert response.status_code == 302, response.content
    workflow = OrmWorkflowReader(tenant.id).get()
    assert (workflow.review_required, workflow.review_min_total, workflow.return_window_days) == (True, 100, 14)
    bad = staff_client.post(
        reverse("admin:snapshots_tenantworkflowsnapshot_add"), {"tenant": tenant.pk, "return_window_days": "14"}
    )
    assert bad.status_code == 200 and TenantWorkflowSnapshot.objects.count() == 1  # one per tenant
    row = TenantWorkflowSnapshot.objects.get()
    assert staff_client.post(reverse("admin:snapshots_tenantworkflowsnapshot_delete", args=[row.pk])).status_code == 403
