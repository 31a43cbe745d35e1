"""Citus-ready keys (docs/scaling.md): `tenant_id` first in every primary key, unique key and
foreign key between tenant-owned tables, in the database only (Django's state keeps its
single-column keys, so the ORM and the admin still address rows by `id`)."""

from django.db import migrations

from oms_project.kernel.distribution import make_distributable


def distribute(apps, schema_editor):
    make_distributable(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0003_tenant_staff"),
        ("snapshots", "0005_stock_reservations"),
        ("ordering", "0012_order_key_by_tenant"),
        ("webhooks", "0004_subscription_destinations"),
    ]

    operations = [migrations.RunPython(distribute, migrations.RunPython.noop)]
