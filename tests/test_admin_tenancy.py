"""Django admin per tenant (docs/admin.md): a tenant's staff see and change their own tenant only.

The walk below visits every registered ModelAdmin of a tenant-owned model as a staff user of
tenant A, with data of every such model in tenants A and B: the change list, each filter choice,
searches for B's values, B's objects by URL (change, history, delete), each action on a selection
that includes B's ids, and an add form posted for B. Nothing of B may appear or change. It runs
on SQLite and on PostgreSQL (where the request also runs in A's row-level security scope).
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection
from django.forms.models import model_to_dict
from django.urls import reverse

from identity.infrastructure.admin_staff import PLATFORM_OPERATORS, TENANT_STAFF
from identity.infrastructure.models import Tenant, TenantStaffMember
from oms_project.kernel.admin_mixins import TenantScopedAdmin, TenantScopedInline, is_tenant_owned
from ordering.infrastructure.models import OrderExport
from snapshots.infrastructure.models import TenantWorkflowSnapshot
from tests.ordering.conftest import Shop, seed_catalog
from webhooks.domain.outbound import RetryPolicy
from webhooks.infrastructure.models import InboundWebhookReceipt, WebhookSubscription
from webhooks.infrastructure.relay_factory import configured_relay

from .conftest import requires_postgres
from .webhooks.test_outbound_delivery import subscribe

CSV_DIR = "docs/csv"
# Tenant B's copy of the CSV templates: every identifying value changed, so B's values are B's own.
B_WORDS = [
    ("vendor-acme", "vendor-zorgcorp"),
    ("Acme Supplies", "Zorgcorp Goods"),
    ("ACME-MUG-1", "ZORG-RAY-1"),
    ("prod-mug", "prod-zorgray"),
    ("prod-cup", "prod-zorgcup"),
    ("Enamel mug", "Zorgian ray"),
    ("user-ada", "user-zedd"),
    ("ada@example.com", "zedd@zorgcorp.example"),
    ("Ada", "Zedd"),
    ("Lovelace", "Quuxley"),
    ("addr-home", "addr-zorgbase"),
    ("St James's Square", "Zorgplatz"),
    ("user-acme-sales", "user-zorg-sales"),
    ("offer-mugs", "offer-zorgrays"),
    ("pay-card", "pay-zorgcard"),
    ("ship-std", "ship-zorgstd"),
    ("WELCOME10", "ZORGWELCOME"),
    ("London", "Zorgburg"),
]


def import_templates(tenant_id: str, words=()) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / CSV_DIR
    for path in sorted(root.glob("*.csv")):
        text = path.read_text()
        for old, new in words:
            text = text.replace(old, new)
        target = Path(f"/tmp/admin-tenancy-{tenant_id}-{path.name}")
        target.write_text(text)
        call_command("import_snapshots", path.stem, str(target), "--tenant", tenant_id, stdout=io.StringIO())


def orders_of(gql, tenant, customer: dict) -> None:
    seed_catalog(tenant.id)
    shop = Shop(gql, tenant)
    shop.placed(customer=customer)
    confirmed = shop.confirmed(customer=customer)
    shop.ok("shipOrder", shop.acme, orderId=confirmed["id"], carrier="UPS", trackingNumber=f"1Z-{tenant.id}")


def webhooks_of(tenant_id: str, marker: str) -> None:
    call_command("webhook_secret", tenant_id, "generate", stdout=io.StringIO())
    InboundWebhookReceipt.objects.create(
        tenant_id=tenant_id, webhook_id=f"msg_{marker}", event_type=f"product.{marker}"
    )
    subscribe(tenant_id, f"http://127.0.0.1:9/{marker}-hooks")


@pytest.fixture
def two_tenants(db, gql, tenant, other_tenant):
    """Tenant A (`tenant-a`) and B (`tenant-b`), each with rows in every tenant-owned model."""
    orders_of(gql, tenant, {"email": "ada@example.com", "firstName": "Ada", "lastName": "Lovelace"})
    orders_of(gql, other_tenant, {"email": "zedd@zorgcorp.example", "firstName": "Zedd", "lastName": "Quuxley"})
    import_templates(tenant.id)
    import_templates(other_tenant.id, B_WORDS)
    for t, days in ((tenant, 30), (other_tenant, 47)):
        TenantWorkflowSnapshot.objects.create(tenant=t, review_required=False, return_window_days=days, version=1)
    webhooks_of(tenant.id, "acmehooks")
    webhooks_of(other_tenant.id, "zorghooks")
    for t, channel in ((tenant, "acme-shop"), (other_tenant, "zorg-market")):
        call_command("channels", t.id, "add", channel, stdout=io.StringIO())
    configured_relay(policy=RetryPolicy(max_attempts=1), rand=lambda: 0.5).run_once()  # nothing listens: dead
    for t, who in ((tenant, "admin:acme-exporter"), (other_tenant, "admin:zorg-exporter")):
        OrderExport.objects.create(
            tenant=t, requested_by=who, format="csv", status="DONE", file_name=f"orders-{t.id}-zorgfile.csv"
        )
    b_staff = User.objects.create_user("zorg-staff", password="x", is_staff=True)
    TenantStaffMember.objects.create(user=b_staff, tenant=other_tenant)
    return tenant, other_tenant


def tenant_owned_admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items() if is_tenant_owned(model)]


def rows_of(tenant_id: str) -> dict:
    """Everything of one tenant in every tenant-owned model, to compare before and after."""
    from django.apps import apps

    state = {}
    for model in apps.get_models():
        if is_tenant_owned(model) and model._meta.app_label in ("identity", "snapshots", "ordering", "webhooks"):
            field = "tenant_id" if any(f.attname == "tenant_id" for f in model._meta.concrete_fields) else None
            if field:
                state[model._meta.label] = sorted(
                    (str(row.pk), repr(sorted(model_to_dict(row).items(), key=lambda kv: kv[0])))
                    for row in model._default_manager.filter(tenant_id=tenant_id)
                )
    return state


def values_of(tenant_id: str) -> set[str]:
    """The text values (and non-numeric ids) of one tenant's rows."""
    from django.apps import apps

    values = set()
    for model in apps.get_models():
        if not is_tenant_owned(model) or not any(f.attname == "tenant_id" for f in model._meta.concrete_fields):
            continue
        for row in model._default_manager.filter(tenant_id=tenant_id):
            for field in model._meta.concrete_fields:
                value = getattr(row, field.attname)
                if isinstance(value, (str, uuid.UUID)):
                    values.add(str(value))
    return values


def b_markers(a: str, b: str) -> set[str]:
    """Values only B has: long enough not to occur in a page by chance."""
    return {v for v in values_of(b) - values_of(a) if len(v) >= 6 and not re.fullmatch(r"[\d.:\- TZ+]+", v)}


def staff_of(tenant, *, permissions: str = "all") -> User:
    user = User.objects.create_user(f"staff-of-{tenant.id}", password="x", is_staff=True)
    TenantStaffMember.objects.create(user=user, tenant=tenant)
    if permissions == "all":  # every permission of the OMS apps: scoping must not rely on missing ones
        user.user_permissions.set(
            Permission.objects.filter(content_type__app_label__in=["identity", "snapshots", "ordering", "webhooks"])
        )
    else:
        user.groups.add(Group.objects.get(name=TENANT_STAFF))
    return user


def leaked(response, markers: set[str]) -> list[str]:
    text = response.content.decode(errors="replace")
    return sorted(m for m in markers if m in text)


def tenant_of(obj) -> str:
    return obj.tenant_id


def test_every_admin_of_a_tenant_owned_model_is_scoped():
    """A new admin class is scoped by default only if it derives from the mixin: this fails when one does not."""
    unscoped = [type(ma).__name__ for model, ma in tenant_owned_admins() if not isinstance(ma, TenantScopedAdmin)]
    assert unscoped == []
    inlines = [
        inline.__name__
        for _, ma in admin.site._registry.items()
        for inline in ma.inlines
        if is_tenant_owned(inline.model) and not issubclass(inline, TenantScopedInline)
    ]
    assert inlines == []
    assert len(tenant_owned_admins()) >= 17


def test_tenant_staff_see_and_change_only_their_tenant_on_every_admin_page(client, two_tenants):
    tenant_a, tenant_b = two_tenants
    markers = b_markers(tenant_a.id, tenant_b.id)
    assert {"vendor-zorgcorp", "zedd@zorgcorp.example", "prod-zorgray"} <= markers
    before_b = rows_of(tenant_b.id)
    client.force_login(staff_of(tenant_a))
    visited = []
    for model, model_admin in tenant_owned_admins():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        b_rows = list(model._default_manager.filter(tenant_id=tenant_b.id)[:3])
        assert b_rows, f"no {opts.label} rows in tenant B: the walk would prove nothing"
        page = client.get(changelist)
        if page.status_code == 403:  # operators-only pages: nothing shown at all
            assert model is TenantStaffMember
            continue
        assert page.status_code == 200, opts.label
        visited.append(opts.label)
        cl = page.context["cl"]
        assert all(tenant_of(o) == tenant_a.id for o in cl.result_list), opts.label
        assert cl.result_count == model._default_manager.filter(tenant_id=tenant_a.id).count(), opts.label
        assert leaked(page, markers) == [], opts.label
        # Every choice of every filter: its page shows A's rows only, and no B value anywhere.
        for spec in cl.filter_specs:
            for choice in spec.choices(cl):
                filtered = client.get(changelist + choice["query_string"])
                assert filtered.status_code == 200, (opts.label, choice)
                assert all(tenant_of(o) == tenant_a.id for o in filtered.context["cl"].result_list)
                assert leaked(filtered, markers) == [], (opts.label, choice["display"])
        # Search for B's own values.
        if model_admin.search_fields:
            for row in b_rows:
                for field in model._meta.concrete_fields:
                    value = getattr(row, field.attname)
                    if isinstance(value, (str, uuid.UUID)) and str(value) in markers:
                        found = client.get(changelist, {"q": str(value)})
                        assert all(tenant_of(o) == tenant_a.id for o in found.context["cl"].result_list)
                        echoed = {m for m in markers if m in str(value)}  # the search box shows what was typed
                        assert leaked(found, markers - echoed) == [], (opts.label, value)
        # B's objects by URL: 404, whatever the page.
        for row in b_rows:
            for view in ("change", "history", "delete"):
                url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[row.pk])
                assert client.get(url).status_code in (404, 403), (opts.label, view)
            assert client.post(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]), {}
            ).status_code in (404, 403)
        # Each action, on a selection that tries to include B's ids.
        a_row = model._default_manager.filter(tenant_id=tenant_a.id).first()
        selection = [str(r.pk) for r in b_rows] + ([str(a_row.pk)] if a_row else [])
        action_form = page.context["action_form"]
        for action, _ in action_form.fields["action"].choices if action_form else []:
            if action:
                client.post(
                    changelist,
                    {
                        "action": action,
                        "_selected_action": selection,
                        "apply": "1",
                        "reason": "tenant walk",
                        "post": "yes",
                    },
                )
        # An add form posted for tenant B.
        if model_admin.has_add_permission(page.wsgi_request):
            add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
            assert leaked(client.get(add), markers) == []
            client.post(
                add,
                {
                    "tenant": tenant_b.id,
                    "url": "http://127.0.0.1:9/x",
                    "return_window_days": "1",
                    "review_min_total": "0",
                },
            )
    assert len(visited) >= 16
    assert rows_of(tenant_b.id) == before_b, "a tenant-A staff member changed tenant B's data"


def test_the_documented_group_works_the_admin_of_its_tenant(client, two_tenants):
    """A staff user with just the `tenant-staff` group: the index lists the tenant's pages, the
    order list shows A's orders, the tenant registry only A (read-only), and no users."""
    tenant_a, tenant_b = two_tenants
    client.force_login(staff_of(tenant_a, permissions="group"))
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert b"Orders" in index.content and b"/admin/auth/user/" not in index.content
    orders = client.get(reverse("admin:ordering_order_changelist"))
    assert {o.tenant_id for o in orders.context["cl"].result_list} == {tenant_a.id}
    tenants = client.get(reverse("admin:identity_tenant_changelist"))
    assert [t.pk for t in tenants.context["cl"].result_list] == [tenant_a.id]
    own = client.get(reverse("admin:identity_tenant_change", args=[tenant_a.id]))
    assert own.status_code == 200 and tenant_a.jwt_hs256_secret.encode() not in own.content
    assert b'name="jwt_hs256_secret"' not in own.content  # read-only for them
    assert client.get(reverse("admin:identity_tenant_change", args=[tenant_b.id])).status_code == 404
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert (
        client.get(reverse("admin:auth_user_change", args=[User.objects.get(username="zorg-staff").pk])).status_code
        == 403
    )


def test_an_unbound_staff_user_sees_nothing_tenant_owned(client, two_tenants):
    user = User.objects.create_user("nobody", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["ordering", "snapshots"]))
    client.force_login(user)
    assert b"Orders" not in client.get(reverse("admin:index")).content
    assert client.get(reverse("admin:ordering_order_changelist")).status_code == 403
    assert client.get(reverse("admin:snapshots_productsnapshot_changelist")).status_code == 403


def test_platform_operators_see_every_tenant_with_the_tenant_as_column_and_filter(client, two_tenants):
    tenant_a, tenant_b = two_tenants
    operator = User.objects.create_user("operator", password="x", is_staff=True)
    operator.groups.add(Group.objects.get(name=PLATFORM_OPERATORS))
    client.force_login(operator)
    for model, _ in tenant_owned_admins():
        opts = model._meta
        page = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert page.status_code == 200, opts.label
        cl = page.context["cl"]
        assert "tenant" in cl.list_display and cl.filter_specs[0].field.name == "tenant", opts.label
        present = set(model._default_manager.values_list("tenant_id", flat=True))
        assert {o.tenant_id for o in cl.result_list} == present and tenant_b.id in present, opts.label
    tenants = client.get(reverse("admin:identity_tenant_changelist"))
    assert {t.pk for t in tenants.context["cl"].result_list} == {tenant_a.id, tenant_b.id}
    users = client.get(reverse("admin:auth_user_changelist"))
    assert users.status_code == 200 and b"zorg-staff" in users.content


def test_an_operator_binds_a_user_in_the_admin(client, tenant, admin_user):
    client.force_login(admin_user)
    user = User.objects.create_user("new-staff", password="x", is_staff=True)
    response = client.post(reverse("admin:identity_tenantstaffmember_add"), {"user": user.pk, "tenant": tenant.pk})
    assert response.status_code == 302, response.content
    assert TenantStaffMember.objects.get(user=user).tenant_id == tenant.id


def test_tenant_staff_add_their_own_tenants_things_only(client, two_tenants):
    tenant_a, tenant_b = two_tenants
    client.force_login(staff_of(tenant_a, permissions="group"))
    add = reverse("admin:webhooks_webhooksubscription_add")
    refused = client.post(add, {"tenant": tenant_b.id, "url": "http://127.0.0.1:9/b", "active": "on"})
    assert refused.status_code == 200 and b"Select a valid choice" in refused.content
    assert not WebhookSubscription.objects.filter(url="http://127.0.0.1:9/b").exists()
    made = client.post(add, {"tenant": tenant_a.id, "url": "http://127.0.0.1:9/a", "active": "on"})
    assert made.status_code == 302
    assert WebhookSubscription.objects.get(url="http://127.0.0.1:9/a").tenant_id == tenant_a.id


def test_the_tenants_hs_secret_is_never_shown_and_kept_unless_replaced(client, tenant, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:identity_tenant_change", args=[tenant.pk])
    page = client.get(url)
    assert tenant.jwt_hs256_secret.encode() not in page.content
    assert tenant.jwt_hs256_secret[:4].encode() + "…".encode() in page.content
    form = {
        "name": "Renamed",
        "active": "on",
        "jwt_algorithms": '["HS256"]',
        "jwt_hs256_secret": "",
        "jwt_jwks_url": "",
        "jwt_issuer": tenant.jwt_issuer,
        "jwt_audience": tenant.jwt_audience,
        "roles_claim": "roles",
        "vendor_id_claim": "vendor_id",
        "channel_id_claim": "channel_id",
    }
    assert client.post(url, form).status_code == 302
    kept = Tenant.objects.get(pk=tenant.pk)
    assert (kept.name, kept.jwt_hs256_secret) == ("Renamed", tenant.jwt_hs256_secret)
    assert client.post(url, {**form, "jwt_hs256_secret": "n" * 40}).status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).jwt_hs256_secret == "n" * 40
    moved = client.post(
        url, {**form, "remove_hs_secret": "on", "jwt_jwks_url": "https://idp.test/jwks", "jwt_algorithms": '["RS256"]'}
    )
    assert moved.status_code == 302, moved.content
    assert Tenant.objects.get(pk=tenant.pk).jwt_hs256_secret == ""


def test_secrets_are_rotated_by_actions_that_show_the_new_secret_once(client, two_tenants):
    from webhooks.infrastructure.models import InboundWebhookSecret

    tenant_a, _tenant_b = two_tenants
    client.force_login(staff_of(tenant_a, permissions="group"))
    secrets = reverse("admin:webhooks_inboundwebhooksecret_changelist")
    listing = client.get(secrets)
    old = InboundWebhookSecret.objects.get(tenant=tenant_a, channel="")
    assert old.secret.encode() not in listing.content and old.masked.encode() in listing.content
    shown = client.post(secrets, {"action": "rotate", "_selected_action": [old.pk]})
    new = InboundWebhookSecret.objects.filter(tenant=tenant_a, channel="").latest("pk")
    assert new.pk != old.pk and new.secret.encode() in shown.content
    old.refresh_from_db()
    assert old.state == "expiring"
    assert new.secret.encode() not in client.get(secrets).content  # only that once

    subs = reverse("admin:webhooks_webhooksubscription_changelist")
    sub = WebhookSubscription.objects.get(tenant=tenant_a)
    before = sub.secret
    assert before.encode() not in client.get(subs).content
    shown = client.post(subs, {"action": "rotate_secret", "_selected_action": [sub.pk]})
    sub.refresh_from_db()
    assert sub.secret != before and sub.secret.encode() in shown.content
    page = client.get(reverse("admin:webhooks_webhooksubscription_change", args=[sub.pk]))
    assert sub.secret.encode() not in page.content


@requires_postgres
def test_the_database_wall_holds_when_an_admin_forgets_its_filter(client, two_tenants, monkeypatch):
    """On PostgreSQL a tenant staff member's admin request runs as the tenant role with their
    tenant's setting: an admin class whose filter is gone still shows nothing of B."""
    from ordering.admin import OrderAdmin

    tenant_a, tenant_b = two_tenants
    monkeypatch.setattr(OrderAdmin, "scope_queryset", lambda self, request, queryset: queryset)
    client.force_login(staff_of(tenant_a, permissions="group"))
    page = client.get(reverse("admin:ordering_order_changelist"))
    assert page.status_code == 200
    assert {o.tenant_id for o in page.context["cl"].result_list} == {tenant_a.id}
    # ...while an operator's request keeps the operator scope and sees both.
    operator = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(operator)
    page = client.get(reverse("admin:ordering_order_changelist"))
    assert {o.tenant_id for o in page.context["cl"].result_list} == {tenant_a.id, tenant_b.id}


@requires_postgres
def test_tenant_staff_admin_history_works_under_row_level_security(client, two_tenants):
    """The admin's own history (LogEntry) is written and read inside the tenant scope; a tenant's
    staff see their tenant's staff's entries, not the operators'."""
    tenant_a, _ = two_tenants
    client.force_login(staff_of(tenant_a, permissions="group"))
    workflow = TenantWorkflowSnapshot.objects.get(tenant=tenant_a)
    url = reverse("admin:snapshots_tenantworkflowsnapshot_change", args=[workflow.pk])
    saved = client.post(url, {"review_required": "on", "review_min_total": "10", "return_window_days": "20"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    history = client.get(reverse("admin:snapshots_tenantworkflowsnapshot_history", args=[workflow.pk]))
    assert history.status_code == 200 and b"staff-of-tenant-a" in history.content
    assert client.get(reverse("admin:index")).status_code == 200  # "recent actions" reads the log too
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] != "oms_tenant"  # the scope ended with the request


def test_tenant_admin_command_adds_lists_and_removes(tenant, other_tenant, monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-staff-password-1\n"))
    call_command("tenant_admin", tenant.id, "add", "ann", "--email", "ann@example.com", "--password-stdin", stdout=out)
    ann = User.objects.get(username="ann")
    assert ann.is_staff and ann.check_password("a-long-staff-password-1") and not ann.is_superuser
    assert ann.groups.filter(name=TENANT_STAFF).exists()
    assert TenantStaffMember.objects.get(user=ann).tenant_id == tenant.id
    call_command("tenant_admin", tenant.id, "add", "ann", stdout=io.StringIO())  # again: no change
    listing = io.StringIO()
    call_command("tenant_admin", tenant.id, "list", stdout=listing)
    assert "ann  ann@example.com  active" in listing.getvalue()
    call_command("tenant_admin", tenant.id, "add", "bob", stdout=out)
    assert "no password yet" in out.getvalue() and not User.objects.get(username="bob").has_usable_password()
    call_command("tenant_admin", tenant.id, "remove", "ann", stdout=out)
    ann.refresh_from_db()
    assert not ann.is_staff and not TenantStaffMember.objects.filter(user=ann).exists()
    assert not ann.groups.filter(name=TENANT_STAFF).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "add", "ann"], "unknown tenant 'nope'"),
        (["nope", "list"], "unknown tenant 'nope'"),
        (["tenant-a", "remove", "ghost"], "unknown user 'ghost'"),
        (["tenant-a", "add"], "add needs a username"),
        (["tenant-a", "add", "bad name!"], "invalid user"),
    ],
)
def test_tenant_admin_command_refuses_bad_input_and_changes_nothing(tenant, args, message):
    from django.core.management.base import CommandError

    users_before = User.objects.count()
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("tenant_admin", *args, stdout=io.StringIO())
    assert User.objects.count() == users_before and TenantStaffMember.objects.count() == 0


def test_tenant_admin_command_exits_non_zero_with_a_message(tenant, capsys):
    """As an operator runs it (`manage.py tenant_admin ...`): a clear message on stderr and exit status 1."""
    from identity.management.commands.tenant_admin import Command

    with pytest.raises(SystemExit) as exited:
        Command().run_from_argv(["manage.py", "tenant_admin", "no-such-tenant", "list"])
    assert exited.value.code == 1
    assert "unknown tenant 'no-such-tenant'" in capsys.readouterr().err


def test_tenant_admin_command_refuses_to_bind_operators_or_rebind(tenant, other_tenant, admin_user):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="platform operator"):
        call_command("tenant_admin", tenant.id, "add", admin_user.username, stdout=io.StringIO())
    call_command("tenant_admin", tenant.id, "add", "carol", stdout=io.StringIO())
    with pytest.raises(CommandError, match="bound to tenant 'tenant-a'"):
        call_command("tenant_admin", other_tenant.id, "add", "carol", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not staff of tenant tenant-b"):
        call_command("tenant_admin", other_tenant.id, "remove", "carol", stdout=io.StringIO())
    assert TenantStaffMember.objects.get(user__username="carol").tenant_id == tenant.id


def test_rotation_grace_is_a_day(tenant):
    from django.utils import timezone

    from webhooks.infrastructure.models import InboundWebhookSecret

    first = InboundWebhookSecret.objects.create(tenant=tenant, secret="whsec_" + "A" * 32)
    InboundWebhookSecret.rotate(tenant.id, timedelta(hours=24))
    first.refresh_from_db()
    assert timedelta(hours=23) < first.expires_at - timezone.now() <= timedelta(hours=24)


def test_tenant_staff_change_their_password_and_log_out(client, tenant):
    """The admin's own account pages work for tenant staff (on PostgreSQL they run outside the
    tenant scope: they touch sessions and the user's own row, never tenant data)."""
    from django.contrib.auth.models import User

    staff = staff_of(tenant, permissions="group")
    client.force_login(staff)
    assert client.get(reverse("admin:password_change")).status_code == 200
    changed = client.post(
        reverse("admin:password_change"),
        {"old_password": "x", "new_password1": "a-new-long-passphrase-9", "new_password2": "a-new-long-passphrase-9"},
    )
    assert changed.status_code == 302, changed.content[:500]
    assert User.objects.get(pk=staff.pk).check_password("a-new-long-passphrase-9")
    assert client.post(reverse("admin:logout")).status_code == 200
    assert client.get(reverse("admin:ordering_order_changelist")).status_code == 302  # to the login page
