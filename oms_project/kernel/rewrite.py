"""Rewrite one field of many rows with a function, writing back only the rows it changed (in
batches): how an erasure scrubs the copies of erased values that the apps keep."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model, QuerySet


def rewrite_field(rows: QuerySet[Any], field: str, change: Callable[[Any], Any], batch_size: int = 500) -> int:
    """`field` of each row of `rows` becomes `change(field)`; returns how many rows changed."""
    changed: list[Model] = []
    for row in rows.only("pk", field):  # one order's copies: a plain fetch (no server-side cursor)
        before = getattr(row, field)
        after = change(before)
        if after != before:
            setattr(row, field, after)
            changed.append(row)
    if changed:
        rows.model.objects.bulk_update(changed, [field], batch_size=batch_size)
    return len(changed)
