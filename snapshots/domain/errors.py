"""Validation failures of snapshot data."""

from __future__ import annotations

from oms_project.kernel.errors import CodedError


class SnapshotInvalid(CodedError, ValueError):
    """One field of an incoming snapshot is wrong: `(message, field=...)`. `str()` of it names
    the field first (the CSV import's row errors)."""

    code = "INVALID"

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
