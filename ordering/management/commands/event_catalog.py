"""Write the outbound event catalog (JSON Schemas and AsyncAPI) to docs/events/, or check it."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ordering.application.event_catalog import files


class Command(BaseCommand):
    help = "Write docs/events/ from ordering/application/event_catalog.py (--check: fail if it differs)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="only compare; exit non-zero on a difference")

    def handle(self, *args, check: bool = False, **options):
        folder = Path(settings.BASE_DIR) / "docs" / "events"
        wanted = files()
        stale = sorted(
            name for name, text in wanted.items() if not (folder / name).exists() or (folder / name).read_text() != text
        )
        if check:
            if stale:
                raise CommandError(f"docs/events is out of date ({', '.join(stale)}): run manage.py event_catalog")
            self.stdout.write("docs/events is up to date")
            return
        for name in stale:
            (folder / name).write_text(wanted[name])
        self.stdout.write(f"wrote {len(stale)} file(s) to docs/events")
