"""PostgreSQL row-level security on every tenant-owned table (see oms_project/kernel/row_level_security.py).

A no-op on SQLite. Tables added later get their policy from their own migration.
"""

from django.db import migrations

from oms_project.kernel.row_level_security import (
    disable_tenant_isolation,
    enable_tenant_isolation,
    ensure_tenant_role,
    tenant_tables,
)

APPS = ["snapshots", "ordering", "webhooks"]


def forwards(apps, schema_editor):
    ensure_tenant_role(schema_editor)
    # The tenant row itself: a tenant transaction may read its own tenant, nothing else.
    enable_tenant_isolation(schema_editor, "identity_tenant", column="id", privileges="SELECT")
    for table in tenant_tables(apps, APPS):
        enable_tenant_isolation(schema_editor, table)


def backwards(apps, schema_editor):
    disable_tenant_isolation(schema_editor, "identity_tenant")
    for table in tenant_tables(apps, APPS):
        disable_tenant_isolation(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0001_initial"),
        ("snapshots", "0002_catalog_snapshots"),
        ("ordering", "0002_outbox"),
        ("webhooks", "0002_outbound"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
