"""Between table rows and domain objects."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any, Mapping, TypeVar

import attrs

T = TypeVar("T")


def from_row(cls: type[T], row: Mapping[str, Any]) -> T:
    """Build a domain object from a stored row without re-validating it:
    what is in the database was validated on the way in."""
    obj = object.__new__(cls)
    data = dict(row)
    values = obj.__dict__
    for name, factory, default in _defaults(cls):
        if name in data:
            values[name] = data[name]
        else:
            values[name] = factory() if factory is not None else default
    return obj


@lru_cache(maxsize=None)
def _defaults(cls: type) -> tuple[tuple[str, Any, Any], ...]:
    return tuple(
        (a.name, a.default.factory, None) if isinstance(a.default, attrs.Factory) else (a.name, None, a.default)
        for a in attrs.fields(cls)
    )


def to_row(obj: Any, columns: Any) -> dict[str, Any]:
    """The attributes of ``obj`` that are columns of the table."""
    values = obj.__dict__
    return {name: values[name] for name in _shared_names(type(obj), tuple(columns.keys()))}


@lru_cache(maxsize=None)
def _shared_names(cls: type, columns: tuple[str, ...]) -> tuple[str, ...]:
    fields = {attribute.name for attribute in attrs.fields(cls)}
    return tuple(name for name in columns if name in fields)


def jsonable(value: Any) -> Any:
    """Plain JSON values: dates as ISO text, decimals as text, tuples as lists."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


def diff(before: Any, after: Any, fields: tuple[str, ...]) -> dict[str, tuple[Any, Any]]:
    """``{field: (before, after)}`` for the fields whose values differ."""
    return {
        name: (getattr(before, name), getattr(after, name))
        for name in fields
        if getattr(before, name) != getattr(after, name)
    }
