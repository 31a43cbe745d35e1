"""A trigram index for `orders(search:)` on PostgreSQL (substring search without a scan).

`search_text LIKE '%term%'` can use a GIN index with `gin_trgm_ops` for terms of three
characters or more. pg_trgm is a trusted extension: the database owner may create it. This index
cannot start with tenant_id (a GIN trigram index); the planner combines it with the tenant's
b-tree index, and row-level security keeps the rows to the tenant. A no-op on SQLite.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS order_search_trgm ON ordering_order USING gin (search_text gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS order_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("ordering", "0003_order_status_count")]

    operations = [migrations.RunPython(forwards, backwards)]
