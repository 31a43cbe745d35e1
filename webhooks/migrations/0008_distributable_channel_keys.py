"""Citus-ready keys for the tables of issue 18 (sales channels, carrier secrets): `tenant_id`
first in their keys, as webhooks migration 0005 did for the earlier tables (docs/scaling.md)."""

from django.db import migrations

from oms_project.kernel.distribution import make_distributable


def distribute(apps, schema_editor):
    make_distributable(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("ordering", "0015_sales_channels"),
        ("webhooks", "0007_carrier_secrets"),
    ]

    operations = [migrations.RunPython(distribute, migrations.RunPython.noop)]
