"""Row-level security DDL for tenant-owned tables (PostgreSQL only; a no-op elsewhere).

Each tenant-owned table gets RLS enabled and one policy, `tenant_isolation`, for the tenant role:
a row is visible and writable only when its tenant column equals the transaction's
`app.tenant_id` (`current_setting('app.tenant_id', true)`: NULL, so nothing, when unset).
The tenant role is neither the table owner nor BYPASSRLS, so the policy always applies to it.
Every other role gets no policy and so sees nothing, except the owner (the role migrations run
as), which stays unrestricted for platform work: migrations, the event relay, the staff admin.

Migrations call `enable_tenant_isolation` for the tables they create; `tests/test_row_level_security.py`
fails when a table with a `tenant_id` column has no policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from django.apps.registry import Apps
    from django.db.backends.base.schema import BaseDatabaseSchemaEditor
    from django.db.migrations import RunPython

POLICY = "tenant_isolation"
SETTING = "current_setting('app.tenant_id', true)"


def tenant_role() -> str:
    return settings.OMS_DB_TENANT_ROLE


def ensure_tenant_role(schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create the tenant role (NOLOGIN, no BYPASSRLS) once per cluster and let us switch to it."""
    if schema_editor.connection.vendor != "postgresql":
        return
    role = schema_editor.quote_name(tenant_role())
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT rolbypassrls FROM pg_roles WHERE rolname = %s", [tenant_role()])
        row = cursor.fetchone()
        if row is None:
            cursor.execute(f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT")
        elif row[0]:
            raise RuntimeError(f"role {tenant_role()} has BYPASSRLS; row-level security would not apply")
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            # A non-superuser owner must be a member to `SET ROLE` to it.
            cursor.execute(f"GRANT {role} TO CURRENT_USER")
        cursor.execute(f"GRANT USAGE ON SCHEMA public TO {role}")


def enable_tenant_isolation(
    schema_editor: BaseDatabaseSchemaEditor,
    table: str,
    column: str = "tenant_id",
    privileges: str = "SELECT, INSERT, UPDATE, DELETE",
) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    role, name, col = quote(tenant_role()), quote(table), quote(column)
    predicate = f"{col} = {SETTING}"
    for sql in (
        f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {POLICY} ON {name}",
        f"CREATE POLICY {POLICY} ON {name} TO {role} USING ({predicate}) WITH CHECK ({predicate})",
        f"GRANT {privileges} ON {name} TO {role}",
    ):
        schema_editor.execute(sql)


def disable_tenant_isolation(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
    schema_editor.execute(f"ALTER TABLE {quote(table)} DISABLE ROW LEVEL SECURITY")
    schema_editor.execute(f"REVOKE ALL ON {quote(table)} FROM {quote(tenant_role())}")


def _isolate(apps: Apps, schema_editor: BaseDatabaseSchemaEditor, *, table: str) -> None:
    enable_tenant_isolation(schema_editor, table)


def _unisolate(apps: Apps, schema_editor: BaseDatabaseSchemaEditor, *, table: str) -> None:
    disable_tenant_isolation(schema_editor, table)


def isolation(table: str) -> RunPython:
    """The migration operation that puts a new tenant-owned table under the tenant policy (and
    takes it off when migrating back): `operations = [..., isolation("ordering_sales_channel")]`."""
    from django.db import migrations

    return migrations.RunPython(partial(_isolate, table=table), partial(_unisolate, table=table))


def tenant_tables(apps: Apps, app_labels: Iterable[str]) -> list[str]:
    """Every table of `app_labels` whose rows carry a `tenant_id` column."""
    tables = []
    for label in app_labels:
        for model in apps.get_app_config(label).get_models():
            columns = {field.column for field in model._meta.local_fields}
            if "tenant_id" in columns:
                tables.append(model._meta.db_table)
    return sorted(tables)


# -- the admin of tenant staff (docs/admin.md, "The second wall") --------------------------------
# A tenant-bound admin request runs in a tenant transaction, as the tenant role. Django's admin
# then needs a few of Django's own tables: content types (shared, read), and the admin history
# and its users, each limited to the users bound to the transaction's tenant.
STAFF_OF_TENANT = f"(SELECT user_id FROM identity_tenant_staff WHERE tenant_id = {SETTING})"
ADMIN_TABLES = (
    # table, privileges, policy predicate (None: shared, no policy)
    ("django_content_type", "SELECT", None),
    ("auth_user", "SELECT", f"id IN {STAFF_OF_TENANT}"),
    ("django_admin_log", "SELECT, INSERT", f"user_id IN {STAFF_OF_TENANT}"),
)


def enable_admin_tenant_scope(schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    enable_tenant_isolation(schema_editor, "identity_tenant_staff", privileges="SELECT")
    quote = schema_editor.quote_name
    role = quote(tenant_role())
    for table, privileges, predicate in ADMIN_TABLES:
        name = quote(table)
        if predicate is not None:
            schema_editor.execute(f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY")
            schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {name}")
            schema_editor.execute(
                f"CREATE POLICY {POLICY} ON {name} TO {role} USING ({predicate}) WITH CHECK ({predicate})"
            )
        schema_editor.execute(f"GRANT {privileges} ON {name} TO {role}")


def disable_admin_tenant_scope(schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    quote = schema_editor.quote_name
    for table, _, predicate in ADMIN_TABLES:
        if predicate is not None:
            schema_editor.execute(f"DROP POLICY IF EXISTS {POLICY} ON {quote(table)}")
            schema_editor.execute(f"ALTER TABLE {quote(table)} DISABLE ROW LEVEL SECURITY")
        schema_editor.execute(f"REVOKE ALL ON {quote(table)} FROM {quote(tenant_role())}")
    disable_tenant_isolation(schema_editor, "identity_tenant_staff")
