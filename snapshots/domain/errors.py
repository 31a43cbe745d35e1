"""Validation failures of snapshot data."""

from __future__ import annotations


class SnapshotInvalid(ValueError):
    """One field of an incoming snapshot is wrong. `code` is the public error code."""

    code = "INVALID"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
