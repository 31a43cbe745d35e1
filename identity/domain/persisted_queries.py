"""Persisted queries: a client sends a document's SHA-256 instead of the document (Apollo's
automatic persisted queries protocol, `extensions.persistedQuery = {version: 1, sha256Hash}`).

The rules:
- A hash the store does not know is `PERSISTED_QUERY_NOT_FOUND` (HTTP 200, message
  `PersistedQueryNotFound`, as Apollo clients expect): the client sends the hash again with the
  document, which registers it once it parses and validates, and runs it.
- A document sent with a hash must hash to it (`PERSISTED_QUERY_HASH_MISMATCH`); version 1 is the
  only version (`PERSISTED_QUERY_NOT_SUPPORTED`).
- The store is shared by every tenant: a document is a query's text, never data or a token.
- In persisted-only mode (production, `OMS_PERSISTED_QUERIES_ONLY`) the only documents run are
  those listed at deploy time from a client's manifest (`manage.py persisted_queries load`):
  anything else is `PERSISTED_QUERY_NOT_IN_LIST`, and nothing new is registered.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from oms_project.kernel.errors import CodedError, http_status

_SHA256 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryRefused(CodedError):
    """A persisted-query request that is not run, with one of the codes of the one table."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def status(self) -> int:
        """The HTTP status of the answer (PERSISTED_QUERY_NOT_FOUND is a 200: Apollo clients then
        send the document)."""
        return http_status(self.code)


def not_found() -> PersistedQueryRefused:
    return PersistedQueryRefused("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")


def not_in_list() -> PersistedQueryRefused:
    return PersistedQueryRefused("PERSISTED_QUERY_NOT_IN_LIST", "only documents persisted at deploy time are run here")


@dataclass(frozen=True)
class ManifestEntry:
    sha256: str
    document: str
    operation_name: str = ""


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode("utf-8")).hexdigest()


def requested_hash(extensions: Any) -> str | None:
    """The hash a request names in `extensions.persistedQuery`, or None when it names none."""
    if extensions is None:
        return None
    if not isinstance(extensions, dict):
        raise PersistedQueryRefused("BAD_REQUEST", "extensions must be a JSON object")
    persisted = extensions.get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise PersistedQueryRefused("BAD_REQUEST", "extensions.persistedQuery must be a JSON object")
    if persisted.get("version") != 1:
        raise PersistedQueryRefused("PERSISTED_QUERY_NOT_SUPPORTED", "only persisted query version 1 is supported")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        raise PersistedQueryRefused("BAD_REQUEST", "sha256Hash must be 64 lowercase hexadecimal digits")
    return sha256


def check_document(sha256: str, document: str) -> None:
    if sha256_of(document) != sha256:
        raise PersistedQueryRefused("PERSISTED_QUERY_HASH_MISMATCH", "provided sha does not match query")


def manifest_entries(manifest: Any) -> list[ManifestEntry]:
    """A client's manifest: Apollo's (`{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "name", "type", "body"}]}`) or a plain `{hash: document}` map (Relay's
    and persistgraphql's). Every id must be its body's SHA-256; a bad manifest loads nothing."""
    if isinstance(manifest, dict) and manifest.get("format") == "apollo-persisted-query-manifest":
        if manifest.get("version") != 1 or not isinstance(manifest.get("operations"), list):
            raise ValueError("an Apollo manifest needs version 1 and a list of operations")
        pairs = []
        for index, operation in enumerate(manifest["operations"]):
            if not isinstance(operation, dict) or not isinstance(operation.get("body"), str):
                raise ValueError(f"operations[{index}] has no body")
            pairs.append((operation.get("id"), operation["body"], str(operation.get("name") or "")))
    elif isinstance(manifest, dict) and "format" not in manifest:
        pairs = [(key, value, "") for key, value in manifest.items()]
    else:
        raise ValueError("a manifest is Apollo's persisted query manifest or a {hash: document} object")
    entries = []
    for sha256, document, name in pairs:
        if not isinstance(document, str) or not document.strip():
            raise ValueError(f"{sha256}: the document is empty")
        if sha256 != sha256_of(document):
            raise ValueError(f"{sha256}: not the SHA-256 of its document")
        entries.append(ManifestEntry(sha256, document, name))
    if not entries:
        raise ValueError("the manifest lists no operations")
    return entries
