"""Where an export's rows go (`ordering/application/exports.py`'s RowWriter): CSV on a text
stream, or an XLSX workbook written row by row (XlsxWriter's constant-memory mode: each row is
flushed to a temporary file as it is written, so a million rows take no more memory than ten).

A text cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, a tab or a carriage
return first, and not a number) is written with a leading `'` in CSV, the usual guard against
formula injection through a customer's name or a product title. XLSX cells are written as
strings, never as formulas, so they need no guard.
"""

from __future__ import annotations

import csv
import re
from typing import IO, Any

import xlsxwriter

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
XLSX_MAX_ROWS = 1_048_576  # a worksheet's limit; the rows go on in "orders 2", "orders 3", ...


def neutralized(value: str | int) -> str | int:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


class CsvRows:
    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream, lineterminator="\n")

    def row(self, values: list[str | int]) -> None:
        self._writer.writerow([neutralized(value) for value in values])

    def close(self) -> None:
        pass


class XlsxRows:
    """`target`: a path or a binary stream (standard output is fine: the zip needs no seeking)."""

    def __init__(self, target: str | IO[bytes], sheet: str = "orders") -> None:
        options: dict[str, Any] = {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        }
        self._book = xlsxwriter.Workbook(target, options)
        self._name = sheet
        self._sheets = 0
        self._header: list[str | int] | None = None
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        self._sheet = self._book.add_worksheet(self._name if self._sheets == 1 else f"{self._name} {self._sheets}")
        self._next = 0
        if self._header is not None:
            self._write(self._header)

    def _write(self, values: list[str | int]) -> None:
        for column, value in enumerate(values):
            if isinstance(value, int):
                self._sheet.write_number(self._next, column, value)
            else:
                self._sheet.write_string(self._next, column, value)
        self._next += 1

    def row(self, values: list[str | int]) -> None:
        if self._header is None:
            self._header = values
        elif self._next >= XLSX_MAX_ROWS:
            self._new_sheet()
        self._write(values)

    def close(self) -> None:
        self._book.close()
