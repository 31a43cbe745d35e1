"""Wake the relay when events are written: a statement-level trigger on the outbox sends
`NOTIFY oms_outbox` in the transaction that inserts events (delivered at its commit, once per
transaction however many events it wrote). PostgreSQL only; the relay also polls."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION oms_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oms_outbox', '');
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS outbox_notify ON ordering_outbox_event;
CREATE TRIGGER outbox_notify AFTER INSERT ON ordering_outbox_event
    FOR EACH STATEMENT EXECUTE FUNCTION oms_outbox_notify();
"""
DROP = """
DROP TRIGGER IF EXISTS outbox_notify ON ordering_outbox_event;
DROP FUNCTION IF EXISTS oms_outbox_notify();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("ordering", "0007_tax_and_payment")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
