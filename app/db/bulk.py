"""Many rows into one table in one round trip: COPY on PostgreSQL, executemany elsewhere.

psycopg's executemany sends the rows one by one (pipelined, but each parsed and bound on
its own) and cost more than the rest of intake together; COPY streams them, each row
formatted in C. COPY bypasses SQLAlchemy's type handling, so each column's bind
processor (JSON serialisation, UTC date-times) runs here first: a row stored either way
reads back the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert


def insert_rows(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    dialect = connection.dialect
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
    ]
    driver = connection.connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"  # names from the models
    with driver.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
        for row in rows:
            copy.write_row(
                [
                    row[name] if process is None else process(row[name])
                    for name, process in zip(columns, processors, strict=True)
                ]
            )
