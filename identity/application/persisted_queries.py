"""Which document a GraphQL request runs, when it may name one by hash (the rules are in
identity/domain/persisted_queries.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Protocol

from identity.domain.persisted_queries import (
    ManifestEntry,
    check_document,
    manifest_entries,
    not_found,
    not_in_list,
    sha256_of,
)


class PersistedQueryStore(Protocol):
    def document(self, sha256: str, *, listed_only: bool) -> str | None: ...

    def register(self, sha256: str, document: str, operation_name: str = "") -> None: ...

    def load_manifest(self, entries: list[ManifestEntry], *, replace: bool) -> tuple[int, int]: ...


def document_to_run(
    sha256: str | None, query: str | None, store: PersistedQueryStore, *, only_listed: bool
) -> tuple[str | None, str | None]:
    """The document the request runs, and the hash to register once that document validates
    (None: nothing to register)."""
    if sha256 is None:
        if only_listed and query is not None and store.document(sha256_of(query), listed_only=True) is None:
            raise not_in_list()
        return query, None
    if query is None:
        document = store.document(sha256, listed_only=only_listed)
        if document is None:
            raise not_found()
        return document, None
    check_document(sha256, query)
    if only_listed:
        if store.document(sha256, listed_only=True) is None:
            raise not_in_list()
        return query, None
    return query, sha256


def load_manifest(
    text: str, store: PersistedQueryStore, problems_of: Callable[[str], list[str]], *, replace: bool
) -> tuple[int, int]:
    """List every operation of a client's manifest, or none: each must hash to its id and parse
    and validate against the schema as it stands (`problems_of` names what is wrong)."""
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise ValueError(f"the manifest is not JSON: {error}") from None
    entries = manifest_entries(manifest)
    problems = [
        f"{entry.operation_name or entry.sha256}: {problem}"
        for entry in entries
        for problem in problems_of(entry.document)
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return store.load_manifest(entries, replace=replace)
