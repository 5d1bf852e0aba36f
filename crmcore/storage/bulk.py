"""Bulk inserts at driver speed: one ``executemany`` of plain tuples, with
each column's bind processing (JSON, UTC times) looked up once, not per row.
SQLAlchemy's general path spends most of a large insert building and
processing parameters row by row."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import Connection, Table, func, insert, select


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
    connection.exec_driver_sql(sql, [tuple(values) for values in _processed(rows, names, processors)])


def _processed(rows: list[dict[str, Any]], names: list[str], processors: list[Callable[[Any], Any] | None]) -> Any:
    """Each row's values through its column's processor. Bulk rows repeat
    values (one timestamp, empty lists, flags), so a column reuses its last
    result when its value equals the last one."""
    last_raw: list[Any] = [object()] * len(names)
    last_done: list[Any] = [None] * len(names)
    columns = list(enumerate(zip(names, processors)))
    for row in rows:
        values = []
        for index, (name, process) in columns:
            value = row[name]
            if process is None or value is None:
                values.append(value)
            elif value is last_raw[index] or (type(value) is type(last_raw[index]) and value == last_raw[index]):
                values.append(last_done[index])
            else:
                last_raw[index], last_done[index] = value, process(value)
                values.append(last_done[index])
        yield values


def insert_with_ids(uow: Any, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows in bulk and return their ids in order. SQLite cannot
    order ``RETURNING`` of a multi-row insert, so ids are given explicitly
    (one writer holds SQLite's lock, and a clash fails the whole import);
    PostgreSQL uses ``RETURNING``."""
    if uow.connection.dialect.name == "sqlite":
        start = uow.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1
        ids = list(range(start, start + len(rows)))
        for row, row_id in zip(rows, ids):
            row["id"] = row_id
        bulk_insert(uow.connection, table, rows)
        return ids
    return uow.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).scalars().all()
