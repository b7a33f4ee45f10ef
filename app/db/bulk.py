"""Many rows into one table in one statement, and several such statements in one round trip.

On PostgreSQL the rows travel as one JSON array, expanded by `json_populate_recordset`:
one parameter per table whatever the number of rows, encoded by orjson in C. The earlier
ways each cost more Python time than the rest of intake: psycopg's executemany binds every
row on its own, and COPY formats rows in Python and needs two round trips per table.
Inside `pipelined`, the statements of every table go out together and wait once.
Elsewhere (SQLite) rows go through SQLAlchemy's executemany.

The recordset goes to the driver as orjson's bytes, as they are; JSON columns go as
texts (decoding a 32 kB document costs microseconds; having PostgreSQL check the UTF-8 of
bytes instead cost it more). The JSON path skips SQLAlchemy's bind processors, so rows
must hold only what orjson writes the way the column reads it: text, numbers, booleans,
UUIDs, `Decimal`, timezone-aware date-times, and dicts or lists for JSON columns (stored
as orjson wrote them, the same text `json_serializer` would give).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import JSON, Connection, Table, insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import DBAPIError

from app.jsonutil import dumps


@dataclass(frozen=True)
class _Statement:
    sql: str
    documents: tuple[str, ...]  # the JSON columns, each sent as its own JSON array


@lru_cache(maxsize=64)
def _recordset_insert(
    table: Table, columns: tuple[str, ...], unique: tuple[str, ...], returning: str | None
) -> _Statement:
    """The INSERT for `columns` (names from the models, never from input). Each JSON column
    travels as its own array of texts, in binary form, joined on row number, so PostgreSQL
    parses each document once, when it becomes `json`. Nested in the recordset it parsed
    each twice (measured 385 against 188 µs for a 32 kB assessment result); as a JSON array
    too (the `::json` cast checks the whole array, and `json_array_elements` splits it).
    (A json[] parameter costs psycopg an escaping pass in Python over every document; a
    binary text[] is copied as it is.) Rows go in in the order given."""
    documents = tuple(name for name in columns if isinstance(table.c[name].type, JSON))
    sources = ", ".join(
        f"d_{name}.value::json" if name in documents else f"r.{name}" for name in columns
    )
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {sources} "
        f"FROM json_populate_recordset(NULL::{table.name}, %s::json) WITH ORDINALITY AS r"
    )
    for name in documents:
        sql += (
            f" JOIN unnest(%b::text[]) WITH ORDINALITY AS d_{name}(value, n)"
            f" ON d_{name}.n = r.ordinality"
        )
    sql += " ORDER BY r.ordinality"
    if unique:
        sql += f" ON CONFLICT ({', '.join(unique)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    return _Statement(sql, documents)


def _check_aware(row: dict[str, Any]) -> None:
    # UTCDateTime refuses naive date-times and this path bypasses it. The rows of one call
    # are built by one function, so the first row's types stand for all of them.
    for value in row.values():
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")


@contextmanager
def driver_errors(connection: Connection, what: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's (IntegrityError, OperationalError...), as
    `Connection.execute` would, so callers catch one family. Parameters are never shown:
    they hold manifest data. A lost connection is invalidated, as `Connection.execute`
    would, so the pool replaces it, and the error says so (`connection_invalidated`)."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        lost = connection.dialect.is_disconnect(exc, connection.connection.dbapi_connection, None)
        if lost:
            connection.invalidate(exc)
        raise DBAPIError.instance(
            what,
            None,
            exc,
            dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=connection.dialect,
        ) from exc


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys, in the same order) into `table`."""
    if not rows:  # an INSERT with no rows would insert one row of defaults
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    _execute(connection, _recordset_insert(table, tuple(rows[0]), (), None), rows)


def insert_rows_and_commit(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]]
) -> None:
    """`insert_rows`, then COMMIT in the same round trip on PostgreSQL. Only for the last
    write of a transaction. The caller still commits its session, which then has nothing
    left to send (psycopg skips COMMIT on an idle connection). Elsewhere the caller's commit
    does the committing."""
    if connection.dialect.name != "postgresql":
        insert_rows(connection, table, rows)
        return
    driver = connection.connection.driver_connection
    with pipelined(connection):
        insert_rows(connection, table, rows)
        driver.commit()  # type: ignore[union-attr]


def insert_new_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    unique: tuple[str, ...],
    returning: str,
) -> list[Any]:
    """Insert the rows whose `unique` columns are not taken yet (ON CONFLICT DO NOTHING; a
    racing writer's row makes this one wait for its commit rather than fail) and return
    `returning` of the rows inserted. Not for use inside `pipelined`: it needs the answer."""
    if not rows:
        return []
    if connection.dialect.name == "postgresql":
        statement = _recordset_insert(table, tuple(rows[0]), unique, returning)
        return [row[0] for row in _execute(connection, statement, rows)]
    if connection.dialect.name != "sqlite":  # pragma: no cover - the two supported databases
        raise NotImplementedError(connection.dialect.name)
    insert_new = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c[returning])
    )
    return list(connection.execute(insert_new, list(rows)).scalars())


def _execute(
    connection: Connection, statement: _Statement, rows: Sequence[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    _check_aware(rows[0])
    if statement.documents:
        plain = [
            {name: value for name, value in row.items() if name not in statement.documents}
            for row in rows
        ]
        params = [Json(plain, dumps=dumps)] + [
            [dumps(row[name]).decode() for row in rows] for name in statement.documents
        ]
    else:
        params = [Json(list(rows), dumps=dumps)]
    driver = connection.connection.driver_connection
    with driver_errors(connection, statement.sql), driver.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(statement.sql, params)
        return cursor.fetchall() if cursor.description is not None else []


class DeferredRows:
    """A query sent inside `pipelined`: its rows can be read once the block has ended."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def rows(self) -> list[tuple[Any, ...]]:
        try:
            return list(self._cursor.fetchall())
        finally:
            self._cursor.close()


def deferred_query(connection: Connection, sql: str, params: dict[str, Any]) -> DeferredRows:
    """Run a read on PostgreSQL's driver cursor, typically inside `pipelined`, so it shares
    the block's round trip. (PostgreSQL only: SQLite has no pipeline to share.)"""
    driver = connection.connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    with driver_errors(connection, sql):
        cursor.execute(sql, params)
    return DeferredRows(cursor)


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """Send the `insert_rows` statements made inside in one round trip (PostgreSQL's
    pipeline mode); errors surface when the block ends. Elsewhere it does nothing."""
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    with driver_errors(connection, "pipeline"), driver.pipeline():  # type: ignore[union-attr]
        yield
