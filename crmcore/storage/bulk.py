"""Bulk inserts at driver speed: one ``executemany`` of plain tuples, with
each column's bind processing (JSON, UTC times) looked up once, not per row.
SQLAlchemy's general path spends most of a large insert building and
processing parameters row by row."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Connection, Table


def bulk_insert(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``."""
    if not rows:
        return
    dialect = connection.dialect
    names = list(rows[0])
    processors: list[Callable[[Any], Any] | None] = [
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    ]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES ({', '.join([marker] * len(names))})"
    plain = [i for i, p in enumerate(processors) if p is None]
    if len(plain) == len(names):
        parameters = [tuple(row[n] for n in names) for row in rows]
    else:
        pairs = list(zip(names, processors))
        parameters = [tuple(value if (value := row[n]) is None or p is None else p(value) for n, p in pairs) for row in rows]
    connection.exec_driver_sql(sql, parameters)
