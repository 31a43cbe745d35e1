"""`oms_order_search(term)`: the ids of the current tenant's orders whose search text contains
`term`, using the trigram index even under row-level security (PostgreSQL only).

Under the tenant role, PostgreSQL will not evaluate `LIKE` (not leakproof) before the policy
check, so the trigram index of 0004 goes unused and search scans the tenant. This function runs
as its owner (SECURITY DEFINER, like the relay: not subject to the policy) and applies the same
tenant predicate itself, from the transaction's `app.tenant_id` - never from an argument - so
it returns nothing without a tenant scope and nothing of another tenant. The orders query still
runs under the policy around it. `term` is matched literally (`%`, `_` and `\\` escaped), as
Django's `contains` does.
"""

from django.conf import settings
from django.db import migrations

FUNCTION = r"""
CREATE OR REPLACE FUNCTION oms_order_search(term text) RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM ordering_order
  WHERE tenant_id = current_setting('app.tenant_id', true)
    AND search_text LIKE '%' || replace(replace(replace(term, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    role = schema_editor.quote_name(settings.OMS_DB_TENANT_ROLE)
    schema_editor.execute(FUNCTION, params=None)  # no placeholders: the % signs are LIKE's
    schema_editor.execute("REVOKE ALL ON FUNCTION oms_order_search(text) FROM PUBLIC")
    schema_editor.execute(f"GRANT EXECUTE ON FUNCTION oms_order_search(text) TO {role}")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS oms_order_search(text)")


class Migration(migrations.Migration):
    dependencies = [("ordering", "0004_order_search_trigram")]

    operations = [migrations.RunPython(forwards, backwards)]
