"""The writes of one unit of work, sent together when it commits (docs/performance.md).

The repository and the outbox queue their INSERTs and UPDATEs here instead of sending each one;
`flush()` sends them all. On PostgreSQL that is one statement: each write is a data-modifying CTE
(`WITH w0 AS (UPDATE ...), w1 AS (INSERT ...) SELECT ...`), which PostgreSQL runs to completion
whether or not the final SELECT reads it. Elsewhere each write is its own statement, in order,
compiled by Django's own insert and update compilers.

On PostgreSQL each write carries its rows as one JSON parameter that
`jsonb_populate_record(set)(NULL::<table>, ...)` turns into typed columns (`json_rows.py`): the
column lists come from the models (`TableSpec`, generated columns left out, `auto_now_add`
stamped), so no hand-written column list can drift, and psycopg quotes one text per write instead
of one value per column. Writes in one batch must not touch the same row twice (they see one
snapshot); the repository deletes rewritten children before queuing their new rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import AutoField, Model, QuerySet
from django.db.models.sql.subqueries import DeleteQuery, InsertQuery, UpdateQuery
from django.utils import timezone

from oms_project.kernel import prepared

from .json_rows import TableSpec, dumps

_MISSING = object()


class WriteConflict(Exception):
    """An UPDATE that had to change exactly one row did not (the row changed since it was read)."""


@dataclass(frozen=True)
class _Write:
    sql: str
    params: tuple
    expect_one: str | None  # the message when it does not change exactly one row
    document: bool = False  # its first parameter is the JSON of its rows (`%s::jsonb`)
    # Given the first column of every row it returned (`RETURNING x`), once the batch ran; raising
    # there fails the unit of work (its transaction rolls back).
    check: Callable[[list], None] | None = None


@dataclass(frozen=True)
class _Late:
    """A value drawn inside the batch's own statement (`sql`: one row, one text column `value`),
    written into the batch's rows wherever `token` stands for it."""

    sql: str
    params: tuple
    token: str


def _quoted(column: str) -> str:
    return connection.ops.quote_name(column)


_INSERT_SQL: dict[tuple, str] = {}
_UPDATE_SQL: dict[tuple, str] = {}


def _insert_sql(spec: TableSpec, columns: tuple[str, ...]) -> str:
    sql = _INSERT_SQL.get((spec.table, columns))
    if sql is None:
        names = ", ".join(map(_quoted, columns))
        sql = _INSERT_SQL[(spec.table, columns)] = (
            f"INSERT INTO {_quoted(spec.table)} ({names}) SELECT {names} "
            f"FROM jsonb_populate_recordset(NULL::{_quoted(spec.table)}, %s::jsonb)"
        )
    return sql


def _update_sql(spec: TableSpec, columns: tuple[str, ...], keys: tuple[str, ...]) -> str:
    sql = _UPDATE_SQL.get((spec.table, columns, keys))
    if sql is None:
        sets = ", ".join(f"{_quoted(c)} = r.{_quoted(c)}" for c in columns)
        where = " AND ".join(f"t.{_quoted(k)} = %s" for k in keys)
        sql = _UPDATE_SQL[(spec.table, columns, keys)] = (
            f"UPDATE {_quoted(spec.table)} AS t SET {sets} "
            f"FROM jsonb_populate_record(NULL::{_quoted(spec.table)}, %s::jsonb) AS r WHERE {where}"
        )
    return sql


class WriteBatch:
    def __init__(self) -> None:
        self.writes: list[_Write] = []
        self._late: _Late | None = None
        self.drawn: dict[str, str] = {}  # token -> the value drawn for it, once flushed

    def clear(self) -> None:
        """Forget what was queued (a unit of work starting again after a failed attempt)."""
        self.writes, self._late = [], None

    def late_value(self, sql: str, params: tuple, draw_now) -> str:
        """A value taken from the database as late as possible (PostgreSQL): a placeholder token
        now, and the value in the batch's own statement, where a CTE runs `sql` (one row, one text
        column named `value`) and the token in every row written becomes that value. What `sql`
        locks is then held only from the batch to the commit. Elsewhere (or a second value in
        one batch) `draw_now()` gives the value at once."""
        if not prepared.on_postgresql() or self._late is not None:
            return draw_now()
        self._late = _Late(sql, tuple(params), f"late-{uuid.uuid4().hex}")
        return self._late.token

    def insert(self, model: type[Model], rows: list[dict]) -> None:
        """INSERT rows given as field attname -> value. A field left out takes its default, an
        auto-incremented key the next value; an `auto_now(_add)` field is the time now."""
        if not rows:
            return
        spec = TableSpec.of(model)
        fields = [f for f in spec.fields if not (isinstance(f, AutoField) and rows[0].get(f.attname) is None)]
        if not prepared.on_postgresql():
            query = InsertQuery(model)
            query.insert_values(fields, [model(**row) for row in rows], raw=False)
            for sql, params in query.get_compiler(connection=connection).as_sql():
                self.writes.append(_Write(sql, tuple(params), None))
            return
        now = timezone.now()
        filled = []
        for row in rows:
            values = {}
            for f in fields:
                if f.attname in spec.stamped:  # as Django's pre_save does on insert
                    value = now
                else:
                    value = row.get(f.attname, _MISSING)
                    if value is _MISSING:
                        value = f.get_default()
                values[f.column] = value
            filled.append(values)
        self.writes.append(_Write(_insert_sql(spec, tuple(f.column for f in fields)), (dumps(filled),), None, True))

    def update(self, model: type[Model], key: dict, values: dict, *, expect_one: str | None = None) -> None:
        """UPDATE the rows whose fields equal `key` (field name -> value) to `values` (field name
        -> value); with `expect_one`, the batch fails unless exactly one row changed."""
        if not prepared.on_postgresql():
            query = model._default_manager.filter(**key).query.chain(UpdateQuery)
            query.add_update_values(values)
            sql, params = query.get_compiler(connection=connection).as_sql()
            self.writes.append(_Write(sql, tuple(params), expect_one))
            return
        spec = TableSpec.of(model)
        columns = tuple(spec.column(name) for name in values)
        sql = _update_sql(spec, columns, tuple(spec.column(name) for name in key))
        row = dict(zip(columns, values.values()))
        self.writes.append(_Write(sql, (dumps(row), *key.values()), expect_one, True))

    def delete(self, rows: QuerySet) -> None:
        query = rows.query.chain(DeleteQuery)
        sql, params = query.get_compiler(connection=connection).as_sql()
        self.writes.append(_Write(sql, tuple(params), None))

    def raw(self, sql: str, params: list | tuple) -> None:
        self.writes.append(_Write(sql, tuple(params), None))

    def returning(self, sql: str, params: list | tuple, check: Callable[[list], None]) -> None:
        """A write whose `RETURNING` (one column) goes to `check` once the batch has run: a
        conditional UPDATE that refuses the use case when too few rows qualified."""
        self.writes.append(_Write(sql, tuple(params), None, check=check))

    def flush(self) -> None:
        writes, self.writes = self.writes, []
        late, self._late = self._late, None
        if not writes and late is None:
            return
        if late is None and (not prepared.on_postgresql() or len(writes) == 1):
            returned = []
            with connection.cursor() as cursor:
                for write in writes:
                    cursor.execute(write.sql, write.params)
                    if write.expect_one and cursor.rowcount != 1:
                        raise WriteConflict(write.expect_one)
                    if write.check:
                        returned.append((write.check, [row[0] for row in cursor.fetchall()]))
            for check, values in returned:
                check(values)
            return
        checked = [i for i, write in enumerate(writes) if write.expect_one]
        returning = [i for i, write in enumerate(writes) if write.check]
        ctes, params = [], []
        if late is not None:
            ctes.append(f"late AS ({late.sql})")
            params += late.params
        for i, write in enumerate(writes):
            sql, write_params = write.sql, write.params
            if late is not None and write.document:
                sql = sql.replace("%s::jsonb", "replace(%s, %s, (SELECT value FROM late))::jsonb", 1)
                write_params = (write_params[0], late.token, *write_params[1:])
            ctes.append(f"w{i} AS ({sql}{' RETURNING 1' if write.expect_one else ''})")
            params += write_params
        select = [f"(SELECT count(*) FROM w{i})" for i in checked]
        select += [f"ARRAY(SELECT * FROM w{i})" for i in returning]
        if late is not None:
            select.append("(SELECT value FROM late)")
        with prepared.cursor() as cursor:
            cursor.execute("WITH " + ",\n".join(ctes) + "\nSELECT " + (", ".join(select) or "1"), params)
            results = cursor.fetchone()
        for i, count in zip(checked, results):
            if count != 1:
                raise WriteConflict(writes[i].expect_one)
        if late is not None:
            self.drawn[late.token] = results[-1]
        for i, values in zip(returning, results[len(checked) :]):
            writes[i].check(list(values))
