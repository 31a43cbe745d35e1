"""Model rows as JSON, both ways, for the hand-written statements of the write path (PostgreSQL).

Reading: `to_jsonb(row)` gives one JSON object per row, keyed by column; `row()` turns it into a
`Row` whose attributes are the model's fields, each column converted as the field's own `from_db`
would (uuids, decimals, timestamps, dates), without the ORM's per-query compile, per-value
`to_python` or model instance.

Writing: `dumps()` encodes rows keyed by column as one JSON text, which
`jsonb_populate_record(set)(NULL::<table>, ...)` turns back into typed columns inside PostgreSQL:
uuids, decimals and timestamps travel as strings in their canonical text form, JSON columns as
JSON. One text parameter per write instead of one per value keeps psycopg's client-side quoting
(which, for arrays of JSON, escapes each character in Python) off the hot path.

The converters are chosen per field type once per model. A model with a field type not listed
here is refused when its spec is first built (`TableSpec.of`), so a new column cannot be read
or written with the wrong conversion silently.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db import models

_TEXT_LIKE = {"CharField", "TextField", "SlugField", "EmailField", "URLField", "GenericIPAddressField"}
_NATIVE = _TEXT_LIKE | {
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "BigIntegerField",
    "PositiveBigIntegerField",
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "BooleanField",
    "JSONField",
}


def _decimal(value):
    return value if value is None or isinstance(value, Decimal) else Decimal(value)


def _uuid(value):
    return value if value is None else uuid.UUID(value)


def _datetime(value):
    return value if value is None else datetime.fromisoformat(value)


def _date(value):
    return value if value is None else date.fromisoformat(value)


_READERS: dict[str, Callable[[Any], Any]] = {
    "UUIDField": _uuid,
    "DecimalField": _decimal,
    "DateTimeField": _datetime,
    "DateField": _date,
}


def _kind(field: models.Field) -> str:
    target = field.target_field if field.is_relation else field
    return target.get_internal_type()


@dataclass(frozen=True)
class TableSpec:
    """What the hand-written statements need of one model: its table and its stored fields."""

    model: type[models.Model]
    table: str
    fields: tuple[models.Field, ...]  # concrete and stored (not generated), in model order
    readers: tuple[tuple[str, str, Callable[[Any], Any] | None], ...]  # (attname, column, converter)
    stamped: frozenset[str]  # attnames set on insert by the field itself (auto_now, auto_now_add)
    columns: dict[str, str] = field(default_factory=dict, compare=False)  # name or attname -> column

    @staticmethod
    def of(model: type[models.Model]) -> TableSpec:
        spec = _SPECS.get(model)
        if spec is None:
            fields = tuple(f for f in model._meta.concrete_fields if not f.generated)
            unknown = [f.name for f in fields if _kind(f) not in _NATIVE and _kind(f) not in _READERS]
            if unknown:
                raise TypeError(f"{model.__name__}: no JSON conversion for fields {unknown}")
            spec = _SPECS[model] = TableSpec(
                model,
                model._meta.db_table,
                fields,
                tuple((f.attname, f.column, _READERS.get(_kind(f))) for f in model._meta.concrete_fields),
                frozenset(
                    f.attname for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
                ),
            )
        return spec

    def column(self, name: str) -> str:
        """The column of a field given by name or attname (looked up once per name)."""
        found = self.columns.get(name)
        if found is None:
            found = self.columns[name] = self.model._meta.get_field(name).column
        return found


_SPECS: dict[type[models.Model], TableSpec] = {}


class Row:
    """A row read as JSON: each field an attribute under its attname, as a model instance has it.
    Readers that only read fields (`to_domain`, the catalog readers) take it for the instance."""

    def __init__(self, values: dict) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Row({self.__dict__!r})"


class Children(list):
    """A row's children, read like a prefetched relation (`row.lines.all()`)."""

    def all(self) -> Children:
        return self


def row(model: type[models.Model], data: dict) -> Row:
    """A model's row as `to_jsonb` gave it (parsed with `parse_float=Decimal`), each column
    converted as the field's own `from_db` would."""
    return Row(
        {
            attname: data[column] if convert is None else convert(data[column])
            for attname, column, convert in TableSpec.of(model).readers
        }
    )


def loads(text: str):
    """JSON from PostgreSQL, numbers with a fraction as exact decimals."""
    return json.loads(text, parse_float=Decimal)


def _default(value):
    if isinstance(value, (uuid.UUID, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")


_encode = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":")).encode


def dumps(value) -> str:
    """Rows (dicts keyed by column) as the JSON text `jsonb_populate_record(set)` reads."""
    return _encode(value)
