"""Citus-ready keys (issue 16, docs/scaling.md): the live PostgreSQL catalog has nothing that
would stop `create_distributed_table(t, 'tenant_id')` for the tenant-owned tables or
`create_reference_table(t)` for the shared ones, and the hot paths' statements all name the
tenant of each tenant-owned table they touch."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oms_project.kernel.distribution import blockers, layout
from tests.conftest import requires_postgres

pytestmark = [requires_postgres]


def test_every_table_is_distributable_by_tenant_or_a_reference_table(db):
    with connection.cursor() as cursor:
        assert blockers(cursor) == []
        plan = layout(cursor)
    assert {
        "ordering_order",
        "ordering_order_line",
        "ordering_outbox_event",
        "snapshots_product",
        "webhooks_delivery",
    } <= set(plan.distributed)
    assert {"identity_tenant", "identity_tenant_staff", "auth_user", "django_session"} <= set(plan.reference)


def test_a_key_or_foreign_key_without_the_tenant_is_named(db):
    """What a careless migration would add, each one named (the schema itself is rolled back)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ordering_order_line ADD CONSTRAINT scratch_sku UNIQUE (sku)")
        cursor.execute("CREATE UNIQUE INDEX scratch_email ON ordering_order (customer_email)")
        cursor.execute("CREATE TABLE scratch_shared (id bigserial PRIMARY KEY)")
        cursor.execute("CREATE TABLE scratch_parent (id bigint PRIMARY KEY, tenant_id text)")
        cursor.execute(
            "CREATE TABLE scratch_child (id bigint, tenant_id text, parent_id bigint REFERENCES "
            "scratch_parent (id), PRIMARY KEY (tenant_id, id))"
        )
        found = blockers(cursor)
        transaction.set_rollback(True)
    assert found == [
        "scratch_shared: no tenant_id and not a reference table",
        "ordering_order: unique index scratch_email (customer_email) lacks tenant_id",
        "ordering_order_line: unique constraint scratch_sku (sku) lacks tenant_id",
        "scratch_parent: primary key scratch_parent_pkey (id) lacks tenant_id",
        "scratch_child: foreign key scratch_child_parent_id_fkey (parent_id) -> scratch_parent (id) does not join "
        "on tenant_id",
    ], found


def untenanted(statements: list[str], tables: set[str]) -> list[str]:
    """Each mention of a tenant-owned table whose clause (up to the next table mentioned) never
    names tenant_id."""
    names = "|".join(sorted(map(re.escape, tables), key=len, reverse=True))
    pattern = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?(' + names + r')\b"?', re.IGNORECASE)
    found = []
    for sql in statements:
        mentions = list(pattern.finditer(sql))
        for here, after in zip(mentions, [*mentions[1:], None]):
            clause = sql[here.start() : after.start() if after else len(sql)]
            if "tenant_id" not in clause:
                found.append(f"{here.group(1)}: {clause[:160]}")
    return found


@pytest.mark.django_db(transaction=True)
def test_the_hot_paths_name_the_tenant_of_every_tenant_table_they_touch(shop, gql):
    with connection.cursor() as cursor:
        tables = set(layout(cursor).distributed)
    shop.placed()
    with CaptureQueriesContext(connection) as captured:
        draft = shop.draft()
        shop.ok("placeOrder", shop.customer, orderId=draft["id"])
        payment = {"method": "card", "reference": "ch", "amount": draft["total"]["amount"]}
        shop.ok("confirmOrder", shop.staff, orderId=draft["id"], payment=payment)
        shop.ok("shipOrder", shop.acme, orderId=draft["id"], carrier="UPS", trackingNumber="1Z")
        gql.execute("query($id: ID!) { order(id: $id) { id lines { sku } } }", {"id": draft["id"]}, token=shop.staff)
        gql.execute("{ orders(first: 20) { totalCount edges { node { id } } } }", token=shop.staff)
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) >= 25
    assert untenanted(statements, tables) == []
    assert untenanted(['SELECT 1 FROM "ordering_order" WHERE "id" = %s'], tables), "the check can fail"
