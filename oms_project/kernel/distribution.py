"""Keys that Citus can distribute by tenant (docs/scaling.md, "Citus-ready keys"). PostgreSQL only.

Citus distributes a table by one column, here `tenant_id`, and then needs every primary key and
unique constraint or index of it to include that column, and every foreign key between two
distributed tables to include it on both sides (so the rows it joins live on the same worker).
Tables shared by all tenants become reference tables (copied to every worker). A distributed
table may point at a reference table, but a reference table may not point at a distributed one.

`blockers()` reads the live catalog and names what would stop `create_distributed_table(t,
'tenant_id')` or `create_reference_table(t)`. `tests/scaling/test_distribution.py` fails on any.
`make_distributable()` is what the `webhooks` migration 0005 ran: it puts `tenant_id` first in
every such key and foreign key. Django's model state keeps its single-column primary keys, so
the ORM and the admin still address rows by `id`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.backends.utils import CursorWrapper

# Shared by all tenants: the tenant registry, the admin's tenant bindings, Django's and
# django-axes's own tables.
# identity_persisted_query: GraphQL documents by hash, shared by every tenant (rarely written).
REFERENCE_TABLES = frozenset({"identity_tenant", "identity_tenant_staff", "identity_persisted_query"})
REFERENCE_PREFIXES = ("auth_", "django_", "axes_")
# Deliveries are addressed by their id alone in the admin (redeliver, detail pages): that key keeps
# a plain index of its own once the primary key leads with tenant_id. The relay's own statements
# name the tenant of every row they look up.
LOOKUP_BY_OWN_KEY = frozenset({"webhooks_delivery"})

_TABLES = """
SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                          AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1
"""
# Unique indexes (primary keys and unique constraints included): table, index, constraint (if
# any), kind, key columns.
_UNIQUE = """
SELECT t.relname, ix.relname, con.conname, CASE WHEN i.indisprimary THEN 'p' WHEN con.oid IS NULL THEN 'i' ELSE 'u' END,
       ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)::text[],
       pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ix ON ix.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = t.relnamespace LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
     AND con.contype IN ('p', 'u')
WHERE n.nspname = current_schema() AND i.indisunique ORDER BY 1, 2
"""
_FOREIGN = """
SELECT t.relname, c.conname, r.relname,
       ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.n)::text[],
       ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.n)::text[],
       c.condeferrable, c.condeferred
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname = current_schema() AND c.contype = 'f' ORDER BY 1, 2
"""


def is_reference(table: str) -> bool:
    return table in REFERENCE_TABLES or table.startswith(REFERENCE_PREFIXES)


@dataclass(frozen=True)
class Layout:
    tables: list[str]
    distributed: list[str]
    reference: list[str]
    unique: list[tuple[Any, ...]]  # (table, index, constraint, kind, columns, definition)
    foreign: list[
        tuple[Any, ...]
    ]  # (table, constraint, referenced table, columns, referenced columns, deferrable, deferred)


def layout(cursor: CursorWrapper) -> Layout:
    cursor.execute(_TABLES)
    tables = cursor.fetchall()
    cursor.execute(_UNIQUE)
    unique = cursor.fetchall()
    cursor.execute(_FOREIGN)
    foreign = cursor.fetchall()
    distributed = [name for name, tenant in tables if tenant and not is_reference(name)]
    reference = [name for name, tenant in tables if is_reference(name)]
    return Layout([name for name, _ in tables], distributed, reference, unique, foreign)


def _joins_on_tenant(columns: list[str], target_columns: list[str]) -> bool:
    return (
        "tenant_id" in columns
        and "tenant_id" in target_columns
        and columns.index("tenant_id") == target_columns.index("tenant_id")
    )


def blockers(cursor: CursorWrapper) -> list[str]:
    """Every table, key and foreign key that would stop Citus from distributing the schema by
    `tenant_id` (empty when it can)."""
    plan = layout(cursor)
    distributed = set(plan.distributed)
    found = []
    for name in plan.tables:
        if name not in distributed and not is_reference(name):
            found.append(f"{name}: no tenant_id and not a reference table")
    for table, index, constraint, kind, columns, _ in plan.unique:
        if table in distributed and "tenant_id" not in columns:
            what = {"p": "primary key", "u": "unique constraint", "i": "unique index"}[kind]
            found.append(f"{table}: {what} {constraint or index} ({', '.join(columns)}) lacks tenant_id")
    for table, constraint, target, columns, target_columns, _, _ in plan.foreign:
        if table in distributed and target in distributed:
            if not _joins_on_tenant(columns, target_columns):
                found.append(
                    f"{table}: foreign key {constraint} ({', '.join(columns)}) -> {target} "
                    f"({', '.join(target_columns)}) does not join on tenant_id"
                )
        elif is_reference(table) and target in distributed:
            found.append(f"{table}: reference table with foreign key {constraint} to distributed {target}")
    return found


def make_distributable(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Put `tenant_id` first in every primary key, unique key and foreign key between
    distributed tables that lacks it (see the module docstring). Foreign keys are dropped first
    and made again on (tenant_id, ...) once the keys they point at include it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        plan = layout(cursor)
    distributed = set(plan.distributed)
    remade = []
    for table, constraint, target, columns, target_columns, deferrable, deferred in plan.foreign:
        if table in distributed and target in distributed and "tenant_id" not in columns:
            schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
            remade.append((table, constraint, target, columns, target_columns, deferrable, deferred))
    for table, index, constraint, kind, columns, definition in plan.unique:
        if table not in distributed or "tenant_id" in columns:
            continue
        keys = ", ".join(quote(c) for c in ["tenant_id", *columns])
        if kind == "i":
            schema_editor.execute(f"DROP INDEX {quote(index)}")
            schema_editor.execute(definition.replace(" USING btree (", " USING btree (tenant_id, ", 1))
            continue
        schema_editor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(constraint)}")
        key = "PRIMARY KEY" if kind == "p" else "UNIQUE"
        schema_editor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} {key} ({keys})")
        if kind == "p" and table in LOOKUP_BY_OWN_KEY:
            schema_editor.execute(
                f"CREATE INDEX {quote(table + '_own_key')} ON {quote(table)} ({', '.join(quote(c) for c in columns)})"
            )
    for table, constraint, target, columns, target_columns, deferrable, deferred in remade:
        timing = (" DEFERRABLE INITIALLY DEFERRED" if deferred else " DEFERRABLE") if deferrable else ""
        schema_editor.execute(
            f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(constraint)} FOREIGN KEY "
            f"({', '.join(quote(c) for c in ['tenant_id', *columns])}) REFERENCES {quote(target)} "
            f"({', '.join(quote(c) for c in ['tenant_id', *target_columns])}){timing}"
        )
