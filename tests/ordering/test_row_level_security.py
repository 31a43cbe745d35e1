"""PostgreSQL row-level security: the database itself keeps tenants apart, even for a query that
forgot its tenant filter (oms_project/kernel/row_level_security.py, tenancy.py)."""

from __future__ import annotations

import psycopg
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from oms_project.graphql_view import OmsGraphQLView
from oms_project.kernel.tenancy import (
    CrossTenantTransaction,
    current_tenant_scope,
    tenant_transaction,
)
from ordering.infrastructure import models
from snapshots.infrastructure.models import ProductSnapshot

from ..conftest import database_url_for_subprocesses, requires_postgres
from .conftest import Shop, seed_catalog


def tenant_models():
    return [m for m in apps.get_models() if "tenant_id" in {f.column for f in m._meta.local_fields}]


def tenants_seen() -> dict[str, set[str]]:
    """An unscoped query on every tenant-owned table: which tenants' rows come back."""
    return {
        model._meta.db_table: set(model.objects.values_list("tenant_id", flat=True).distinct())
        for model in tenant_models()
    }


@pytest.fixture
def two_shops(gql, catalog, other_tenant):
    seed_catalog(other_tenant.id)
    shops = Shop(gql, catalog), Shop(gql, other_tenant)
    for shop in shops:
        order = shop.confirmed(idempotencyKey="k-1")
        shop.ok("shipOrder", shop.acme, orderId=order["id"], carrier="UPS", trackingNumber="1Z")
    return shops


def test_nesting_another_tenants_transaction_is_refused(db):
    with tenant_transaction("tenant-a"):
        assert current_tenant_scope() == "tenant-a"
        with tenant_transaction("tenant-a"):  # the same tenant nests as a savepoint
            assert current_tenant_scope() == "tenant-a"
        with pytest.raises(CrossTenantTransaction):
            with tenant_transaction("tenant-b"):
                pass  # pragma: no cover
        assert current_tenant_scope() == "tenant-a"
    assert current_tenant_scope() is None


@requires_postgres
def test_every_tenant_owned_table_has_row_level_security(db):
    tables = {model._meta.db_table for model in tenant_models()} | {"identity_tenant"}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity, p.qual, p.with_check, p.roles::text[] "
            "FROM pg_class c LEFT JOIN pg_policies p ON p.tablename = c.relname AND p.policyname = 'tenant_isolation' "
            "WHERE c.relname = ANY(%s)",
            [sorted(tables)],
        )
        rows = {name: rest for name, *rest in cursor.fetchall()}
        cursor.execute("SELECT rolbypassrls, rolsuper FROM pg_roles WHERE rolname = %s", [settings.OMS_DB_TENANT_ROLE])
        assert cursor.fetchone() == (False, False)
    assert set(rows) == tables
    for table, (enabled, qual, check, roles) in rows.items():
        assert enabled, table
        assert "current_setting('app.tenant_id'::text, true)" in qual and qual == check, table
        assert roles == [settings.OMS_DB_TENANT_ROLE], table


@requires_postgres
def test_an_unscoped_query_inside_a_request_sees_only_that_tenant(two_shops, monkeypatch):
    shop_a, _shop_b = two_shops
    everything = tenants_seen()
    assert everything["ordering_order"] == everything["ordering_outbox_event"] == {"tenant-a", "tenant-b"}

    seen_in_request = []
    original = OmsGraphQLView.get_context

    def get_context(view, request):
        seen_in_request.append((current_tenant_scope(), tenants_seen()))
        return original(view, request)

    monkeypatch.setattr(OmsGraphQLView, "get_context", get_context)
    assert len(shop_a.gql.execute("{ orders(first: 5) { totalCount } }", token=shop_a.staff)["orders"]) == 1

    [(scope, seen)] = seen_in_request
    assert scope == "tenant-a"
    populated = {table for table, tenants in everything.items() if tenants}
    assert len(populated) >= 10, populated  # orders, lines, shipping, history, outbox, snapshots...
    for table in populated:
        assert seen[table] <= {"tenant-a"}, table
        if "tenant-a" in everything[table]:
            assert seen[table] == {"tenant-a"}, table
    # And after the request the connection is itself again: everything is visible.
    assert tenants_seen() == everything


@requires_postgres
def test_writes_for_another_tenant_are_refused_by_the_database(two_shops):
    with tenant_transaction("tenant-a"):
        assert ProductSnapshot.objects.filter(tenant_id="tenant-b").update(name="hijacked") == 0
        assert ProductSnapshot.objects.filter(tenant_id="tenant-b").delete()[0] == 0
        with pytest.raises(ProgrammingError, match="row-level security"):
            with transaction.atomic():
                ProductSnapshot.objects.create(
                    tenant_id="tenant-b",
                    product_id="planted",
                    vendor_id="acme",
                    name="x",
                    sku="x",
                    price_amount="1.00",
                    price_currency="USD",
                    active=True,
                )
    assert not ProductSnapshot.objects.filter(name="hijacked").exists()
    assert not ProductSnapshot.objects.filter(product_id="planted").exists()


def _connect():
    return psycopg.connect(database_url_for_subprocesses(), autocommit=True)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_without_the_tenant_setting_sees_nothing(two_shops):
    tables = sorted(model._meta.db_table for model in tenant_models())
    with _connect() as conn:
        owner_counts = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        conn.execute(f'SET ROLE "{settings.OMS_DB_TENANT_ROLE}"')
        unset = {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        assert conn.execute("SELECT count(*) FROM identity_tenant").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', false)")
        scoped = {
            t: conn.execute(f'SELECT count(*) FROM "{t}" WHERE tenant_id <> %s', ["tenant-a"]).fetchone()[0]
            for t in tables
        }
        assert conn.execute("SELECT count(*) FROM ordering_order").fetchone()[0] == 1
    assert owner_counts["ordering_order"] == 2 and sum(owner_counts.values()) > 20
    assert set(unset.values()) == {0}
    assert set(scoped.values()) == {0}


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_scope_ends_with_the_requests_transaction(two_shops):
    shop_a, _ = two_shops
    shop_a.gql.execute("{ orders(first: 1) { totalCount } }", token=shop_a.staff)
    assert connection.connection is not None  # the same pooled connection serves what follows
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user = session_user, coalesce(current_setting('app.tenant_id', true), '')")
        assert cursor.fetchone() == (True, "")
    assert current_tenant_scope() is None


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_search_function_answers_only_for_the_transactions_tenant(two_shops):
    """oms_order_search runs as its owner (to use the trigram index under RLS), so it must apply
    the tenant itself: from the transaction's setting, never from its caller."""
    shop_a, _ = two_shops
    ids = {
        t: {str(i) for i in models.Order.objects.filter(tenant_id=t).values_list("id", flat=True)}
        for t in ("tenant-a", "tenant-b")
    }
    with _connect() as conn:
        conn.execute(f'SET ROLE "{settings.OMS_DB_TENANT_ROLE}"')
        assert conn.execute("SELECT count(*) FROM oms_order_search('')").fetchone()[0] == 0
        conn.execute("SELECT set_config('app.tenant_id', 'tenant-a', false)")
        found = {str(r[0]) for r in conn.execute("SELECT * FROM oms_order_search('')").fetchall()}
        assert found == ids["tenant-a"]
        assert conn.execute("SELECT count(*) FROM oms_order_search('%')").fetchone()[0] == 0  # matched literally
    assert shop_a.gql.execute('{ orders(search: "%") { totalCount } }', token=shop_a.staff)["orders"]["totalCount"] == 0
    assert (
        shop_a.gql.execute('{ orders(search: "mug") { totalCount } }', token=shop_a.staff)["orders"]["totalCount"] == 1
    )


@requires_postgres
def test_the_migration_refuses_a_tenant_role_that_bypasses_row_level_security(db, settings):
    from oms_project.kernel.row_level_security import ensure_tenant_role

    settings.OMS_DB_TENANT_ROLE = "oms_probe_bypass"
    with connection.cursor() as cursor:
        cursor.execute("CREATE ROLE oms_probe_bypass NOLOGIN BYPASSRLS")  # inside the test's transaction
    with pytest.raises(RuntimeError, match="BYPASSRLS"):
        with connection.schema_editor(atomic=False) as editor:
            ensure_tenant_role(editor)
