from io import StringIO

from django.core.management import call_command


def test_every_model_change_has_its_migration(db):
    # Exits non-zero (SystemExit) when a model differs from the migrations.
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())
