"""Bulk inserts at driver speed: one ``executemany`` of plain tuples, with
each column's bind processing (JSON, UTC times) looked up once, not per row.
SQLAlchemy's general path spends most of a large insert building and
processing parameters row by row."""

from __future__ import annotations

from itertools import repeat
from typing import Any, Callable, Iterable, Mapping, Sequence

from attrs import define

from sqlalchemy import Connection, Table, func, literal, select


@define(frozen=True)
class Same:
    """One value for every row of a bulk insert (a timestamp, a default),
    bind-processed once; ``Same(None)`` leaves the column out (NULL)."""

    value: Any


def insert_columns(connection: Connection, table: Table, columns: Mapping[str, Sequence[Any] | Same], count: int) -> None:
    """Insert ``count`` rows into ``table``, given column by column
    (``{column name: its values in row order}``, or ``Same(value)``): the
    bulk path without a dict per row.

    A column that is NULL in every row and has no server default is left
    out of the statement: it is NULL all the same, and SQLite inserts a
    row of customers (13 such columns from a typical import) in half the
    time without them."""
    if count <= 0:
        return
    dialect = connection.dialect
    names: list[str] = []
    values_by_column: list[Iterable[Any]] = []
    for name, values in columns.items():
        column = table.c[name]
        if column.server_default is None and (values.value is None if isinstance(values, Same) else values.count(None) == count):
            continue
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if isinstance(values, Same):
            values_by_column.append(repeat(values.value if process is None else process(values.value), count))
        else:
            values_by_column.append(values if process is None else _column(values, process))
        names.append(name)
    if not names:  # a statement names one column at least
        names, values_by_column = [next(iter(columns))], [repeat(None, count)]
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    sql = f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)}) VALUES ({', '.join([marker] * len(names))})"
    connection.exec_driver_sql(sql, list(zip(*values_by_column)))


def _column(values: Sequence[Any], process: Callable[[Any], Any]) -> list[Any]:
    """One column's values processed. Bulk rows repeat values (one
    timestamp, flags), so a value equal to the previous one reuses its
    result; empty lists and dicts (JSON columns, often empty, not always in
    a row) are processed once per column."""
    done: list[Any] = []
    append = done.append
    last_raw: Any = object()
    last_done: Any = None
    empty: dict[type, Any] = {}
    for value in values:
        if value is None:
            append(None)
        elif value is last_raw or (type(value) is type(last_raw) and value == last_raw):
            append(last_done)
        elif not value and type(value) in _CONTAINERS:
            kind = type(value)
            if kind not in empty:
                empty[kind] = process(value)
            append(empty[kind])
        else:
            last_raw, last_done = value, process(value)
            append(last_done)
    return done


#: Types whose empty values all process alike (unlike 0 and Decimal("0.00")).
_CONTAINERS = frozenset((list, dict, tuple))


def allocate_ids(uow: Any, table: Table, count: int) -> list[int]:
    """``count`` new ids for ``table``, in increasing order, before inserting:
    rows can then carry values derived from their id (a generated code) in
    the one insert. SQLite continues after the highest id (one writer holds
    its lock, and a clash fails the whole transaction); PostgreSQL draws
    them from the table's sequence."""
    if count <= 0:
        return []
    if uow.connection.dialect.name == "sqlite":
        start = uow.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one() + 1
        return list(range(start, start + count))
    sequence = func.pg_get_serial_sequence(literal(table.name), literal("id"))
    draws = select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    return sorted(uow.execute(draws).scalars())
