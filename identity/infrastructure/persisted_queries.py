"""The persisted-query store: one table shared by every tenant (`identity_persisted_query`),
bounded, with found documents kept in this process's cache (a hash's document never changes)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from identity.domain.persisted_queries import ManifestEntry
from oms_project.kernel.local_cache import TtlCache

from .models import PersistedQuery

_FOUND = TtlCache("persisted_queries")


class _Missing(Exception):
    pass


class OrmPersistedQueries:
    def document(self, sha256: str, *, listed_only: bool) -> str | None:
        """The document of `sha256`, or None; with `listed_only`, only one loaded from a manifest."""

        def load() -> tuple[str, bool]:
            row = PersistedQuery.objects.filter(sha256=sha256).values_list("document", "listed").first()
            if row is None:
                raise _Missing  # a miss is not cached: another process may register it next
            return row

        try:
            document, listed = _FOUND.get_or_load(sha256, load)
        except _Missing:
            return None
        return document if listed or not listed_only else None

    def register(self, sha256: str, document: str, operation_name: str = "") -> None:
        """Keep a document sent by a client (automatic persisted queries). The store keeps at most
        OMS_PERSISTED_QUERIES_MAX_ENTRIES of these, the oldest dropped first; listed ones are
        never dropped (a dropped document is simply sent again by its client)."""
        limit = settings.OMS_PERSISTED_QUERIES_MAX_ENTRIES
        with transaction.atomic():
            _, created = PersistedQuery.objects.get_or_create(
                sha256=sha256, defaults={"document": document, "operation_name": operation_name[:200]}
            )
            if created:
                automatic = PersistedQuery.objects.filter(listed=False)
                stale = list(automatic.order_by("-registered_at", "-sha256").values_list("sha256", flat=True)[limit:])
                if stale:
                    automatic.filter(sha256__in=stale).delete()

    def load_manifest(self, entries: list[ManifestEntry], *, replace: bool) -> tuple[int, int]:
        """List a client's manifest (all or nothing); with `replace`, unlist what it no longer
        names. Returns (listed, unlisted)."""
        with transaction.atomic():
            for entry in entries:
                PersistedQuery.objects.update_or_create(
                    sha256=entry.sha256,
                    defaults={"document": entry.document, "operation_name": entry.operation_name[:200], "listed": True},
                )
            unlisted = 0
            if replace:
                unlisted = (
                    PersistedQuery.objects.filter(listed=True)
                    .exclude(sha256__in=[entry.sha256 for entry in entries])
                    .update(listed=False)
                )
        _FOUND.invalidate()
        return len(entries), unlisted
