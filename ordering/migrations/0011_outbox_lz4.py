"""Outbox event documents compressed with lz4 instead of pglz (PostgreSQL 14+ built with lz4).

Each event carries the whole order (about 3 KB of JSON), so PostgreSQL compresses every outbox
row it writes and the relay decompresses it again; lz4 does both at a fraction of pglz's CPU
(docs/performance.md). A server without lz4 keeps pglz: nothing else depends on it.
"""

from django.db import migrations

LZ4 = """
DO $$
BEGIN
    ALTER TABLE ordering_outbox_event ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
    RAISE NOTICE 'lz4 is not available: outbox data stays compressed with pglz';
END $$;
"""
PGLZ = "ALTER TABLE ordering_outbox_event ALTER COLUMN data SET COMPRESSION pglz"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LZ4)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PGLZ)


class Migration(migrations.Migration):
    dependencies = [("ordering", "0010_lookup_indexes")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
