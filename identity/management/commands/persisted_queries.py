"""Persisted queries listed at deploy time (README, "Persisted queries").

    manage.py persisted_queries load FILE.json [--replace]
    manage.py persisted_queries list

`load` lists every operation of a client's manifest (Apollo's `persisted-query-manifest.json`, or a
`{hash: document}` object), all or none: each id must be its body's SHA-256 and each body must pass
the endpoint's checks against the schema as deployed. `--replace` unlists what the file no longer
names. With OMS_PERSISTED_QUERIES_ONLY=1 the listed documents are the only ones the API runs.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from identity.application.persisted_queries import load_manifest
from identity.infrastructure.models import PersistedQuery
from identity.infrastructure.persisted_queries import OrmPersistedQueries


class Command(BaseCommand):
    help = "load FILE.json [--replace] | list: the GraphQL documents persisted at deploy time."

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["load", "list"])
        parser.add_argument("file", nargs="?", help="the client's manifest (load)")
        parser.add_argument("--replace", action="store_true", help="unlist documents the manifest no longer names")

    def handle(self, *args, action: str, file: str | None, replace: bool, **options) -> None:
        if action == "list":
            for sha256, name, listed in PersistedQuery.objects.order_by("-listed", "operation_name").values_list(
                "sha256", "operation_name", "listed"
            ):
                self.stdout.write(f"{sha256}  {'listed   ' if listed else 'automatic'}  {name}")
            return
        if not file:
            raise CommandError("load needs the manifest's path")
        try:
            with open(file, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {file}: {error}") from None
        try:
            # The endpoint's own checks (OMS_GRAPHQL_DOCUMENT_CHECK names them, as GRAPHENE names the schema).
            document_problems = import_string(settings.OMS_GRAPHQL_DOCUMENT_CHECK)
            listed, unlisted = load_manifest(text, OrmPersistedQueries(), document_problems, replace=replace)
        except ValueError as error:
            raise CommandError(f"nothing loaded: {error}") from None
        self.stdout.write(f"{listed} documents listed" + (f", {unlisted} unlisted" if replace else ""))
