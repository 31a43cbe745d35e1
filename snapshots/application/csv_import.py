"""Bootstrap snapshots from CSV: validate every row, then bulk-upsert in one transaction."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from snapshots.domain.errors import SnapshotInvalid

from .changes import KINDS

# Column specs per snapshot type: "name" (text), "name:bool", "name:int", "name:json",
# "name:list" (values separated by |), "name:money" (two columns: name_amount, name_currency).
SPECS: dict[str, list[str]] = {
    "vendor": ["vendor_id", "name", "active:bool", "country", "currency", "version:int"],
    "product": [
        "product_id",
        "vendor_id",
        "sku",
        "name",
        "price:money",
        "active:bool",
        "available_quantity:int",
        "min_quantity:int",
        "max_quantity:int",
        "attributes:json",
        "version:int",
        "as_of",
    ],
    "coupon": [
        "code",
        "vendor_id",
        "kind",
        "value",
        "currency",
        "min_subtotal:money",
        "valid_from",
        "valid_until",
        "usage_limit:int",
        "active:bool",
        "version:int",
    ],
    "offer": [
        "offer_id",
        "vendor_id",
        "kind",
        "value",
        "product_ids:list",
        "min_quantity:int",
        "valid_from",
        "valid_until",
        "priority:int",
        "active:bool",
        "version:int",
    ],
    "shipping_option": [
        "option_id",
        "vendor_id",
        "name",
        "carrier",
        "base_cost:money",
        "per_item_cost:money",
        "free_over:money",
        "countries:list",
        "delivery_days:int",
        "active:bool",
        "version:int",
    ],
    "customer": ["user_id", "email", "first_name", "last_name", "phone", "version:int"],
    "customer_address": [
        "address_id",
        "user_id",
        "line1",
        "line2",
        "city",
        "state",
        "postal_code",
        "country",
        "is_default:bool",
        "version:int",
    ],
    "user_authorization": ["user_id", "roles:list", "vendor_id", "active:bool", "version:int"],
    "tax_option": ["vendor_id", "country", "rate", "inclusive:bool", "active:bool", "version:int"],
    "payment_option": ["option_id", "vendor_id", "method", "name", "active:bool", "version:int"],
}


def header(kind: str) -> list[str]:
    columns = []
    for spec in SPECS[kind]:
        name, _, kind_of = spec.partition(":")
        columns += [f"{name}_amount", f"{name}_currency"] if kind_of == "money" else [name]
    return columns


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    written: int = 0
    stale: int = 0
    errors: list[RowError] = field(default_factory=list)


class SnapshotBulkWriter(Protocol):
    def atomic(self, tenant_id: str) -> AbstractContextManager[None]: ...

    def bulk_upsert(self, tenant_id: str, kind: str, snapshots: list[Any]) -> tuple[int, int]:
        """Upsert those not older than what is stored; (written, stale)."""


class _CellError(Exception):
    def __init__(self, column: str, message: str) -> None:
        self.column, self.message = column, message


def _bool(column: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise _CellError(column, "must be true or false")


def _int(column: str, raw: str) -> int:
    try:
        return int(raw.strip())
    except ValueError as exc:
        raise _CellError(column, "must be an integer") from exc


def _row_data(kind: str, row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in SPECS[kind]:
        name, _, kind_of = spec.partition(":")
        if kind_of == "money":
            amount = (row.get(f"{name}_amount") or "").strip()
            currency = (row.get(f"{name}_currency") or "").strip()
            data[name] = {"amount": amount or None, "currency": currency or None} if amount or currency else None
            continue
        raw = row.get(name) or ""
        if raw.strip() == "":
            continue  # absent: the domain's default, or its "is required"
        converters: dict[str, Callable[[str, str], Any]] = {
            "bool": _bool,
            "int": _int,
            "list": lambda c, r: [item.strip() for item in r.split("|") if item.strip()],
        }
        if kind_of == "json":
            try:
                data[name] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _CellError(name, "must be JSON") from exc
        else:
            data[name] = converters[kind_of](name, raw) if kind_of else raw
    return data


def _column_of(field_path: str) -> str:
    """Domain field path to CSV column: `price.amount` -> `price_amount`, `countries[1]` -> `countries`."""
    return field_path.split("[", maxsplit=1)[0].replace(".", "_")


def validate_rows(kind: str, rows: Iterable[tuple[int, dict[str, str]]], report: ImportReport) -> Iterator[Any]:
    parse = KINDS[kind].parse
    for line, row in rows:
        report.rows += 1
        try:
            yield parse(_row_data(kind, row))
        except _CellError as exc:
            report.errors.append(RowError(line, exc.column, exc.message))
        except SnapshotInvalid as exc:
            report.errors.append(RowError(line, _column_of(exc.field or ""), exc.message))


def import_snapshots(
    tenant_id: str,
    kind: str,
    columns: list[str],
    rows: Iterable[tuple[int, dict[str, str]]],
    writer: SnapshotBulkWriter,
    *,
    dry_run: bool = False,
    skip_invalid: bool = False,
    batch_size: int = 2000,
) -> ImportReport:
    """Validate every row first; write nothing if any is bad (unless skip_invalid) or on a dry run.

    Within one file the highest version of a key wins; across runs, rows older than the stored
    version are skipped, so re-running a file changes nothing.
    """
    if kind not in SPECS:
        raise ValueError(f"unknown snapshot type {kind!r}; one of: {', '.join(SPECS)}")
    report = ImportReport()
    unknown = [c for c in columns if c not in header(kind)]
    if unknown:
        report.errors += [RowError(1, c, "unknown column") for c in unknown]
        return report
    key_field = KINDS[kind].key_field
    latest: dict[str, Any] = {}
    for snapshot in validate_rows(kind, rows, report):
        key = getattr(snapshot, key_field)
        if key not in latest or snapshot.version >= latest[key].version:
            latest[key] = snapshot
    if dry_run or (report.errors and not skip_invalid):
        return report
    snapshots = list(latest.values())
    with writer.atomic(tenant_id):
        for start in range(0, len(snapshots), batch_size):
            written, stale = writer.bulk_upsert(tenant_id, kind, snapshots[start : start + batch_size])
            report.written += written
            report.stale += stale
    return report
