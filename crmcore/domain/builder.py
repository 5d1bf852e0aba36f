"""Building attrs domain objects in bulk by their own rules: one at a time
from only the fields given (``CheckedBuilder``), or many at once, column by
column (``CheckedBuilder.check_columns``), as the importer does."""

from __future__ import annotations

import copy
from typing import Any, Callable, Generic, Iterable, Mapping, Sequence, TypeVar

import attrs

from crmcore.errors import ValidationError

T = TypeVar("T")
_CONTAINERS = (list, dict, set)


class CheckedBuilder(Generic[T]):
    """Builds an attrs instance from only the fields given, through the
    class's own converters and validators, in the order ``__init__`` runs
    them (every given field converted in field order, then every validator).

    For bulk paths (the importer): a row sets a handful of fields, and
    ``__init__`` would also convert the ~20 defaults again on every row. The
    defaults are converted once here instead, so an instance costs only its
    given values, and a bad value fails with the error ``__init__`` raises:
    the rules live on the class, nowhere else."""

    def __init__(self, cls: type[T]):
        self.cls = cls
        fields = attrs.fields(cls)
        self._order = {a.name: index for index, a in enumerate(fields)}
        self._converters: dict[str, Callable[[Any], Any] | None] = {}
        for a in fields:
            if isinstance(a.converter, attrs.Converter):
                raise TypeError(f"{cls.__name__}.{a.name}: takes_self/takes_field converters are not supported")
            self._converters[a.name] = a.converter
        self._validators = [(a, a.validator) for a in fields if a.validator is not None]
        # defaults as __init__ would store them: constants converted once;
        # factories give each instance its own value, a copy of the
        # converted empty list or dict, or a fresh call (the time now)
        self._constant: dict[str, Any] = {}
        self._fresh: dict[str, Callable[[], Any]] = {}
        for a in fields:
            if isinstance(a.default, attrs.Factory):
                if a.default.takes_self:
                    raise TypeError(f"{cls.__name__}.{a.name}: takes_self factories are not supported")
                self._fresh[a.name] = self._maker(a.name, a.default.factory)
            else:
                self._constant[a.name] = self._convert(a.name, a.default)
        # per set of given field names (a bulk path gives the same few again
        # and again): the converters in field order and the defaults to make
        self._plans: dict[tuple[str, ...], tuple[list[tuple[str, Any]], list[Callable[[], Any]]]] = {}

    def _convert(self, name: str, value: Any) -> Any:
        converter = self._converters[name]
        return value if converter is None else converter(value)

    def _maker(self, name: str, factory: Callable[[], Any]) -> Callable[[], Any]:
        made = factory()
        if type(made) in _CONTAINERS:
            template = self._convert(name, made)
            return lambda: copy.copy(template)
        return lambda: self._convert(name, factory())

    def _plan(self, given: tuple[str, ...]) -> tuple[list[tuple[str, Any]], list[Callable[[], Any]]]:
        unknown = set(given) - self._order.keys()
        if unknown:
            raise TypeError(f"{self.cls.__name__} has no field {', '.join(sorted(unknown))}")
        ordered = [(name, self._converters[name]) for name in sorted(given, key=self._order.__getitem__)]
        fresh = [(name, make) for name, make in self._fresh.items() if name not in given]
        plan = self._plans[given] = (ordered, fresh)
        return plan

    def __call__(self, fields: dict[str, Any]) -> T:
        given = tuple(fields)
        ordered, fresh = self._plans.get(given) or self._plan(given)
        instance = object.__new__(self.cls)
        values = instance.__dict__
        values.update(self._constant)
        for name, make in fresh:
            values[name] = make()
        for name, converter in ordered:
            values[name] = fields[name] if converter is None else converter(fields[name])
        if attrs.validators.get_disabled() is False:
            for attribute, validator in self._validators:
                validator(instance, attribute, values[attribute.name])
        return instance

    def check_columns(self, given: Mapping[str, Sequence[Any]], count: int) -> tuple[dict[str, list[Any]], dict[int, ValidationError]]:
        """``count`` instances' worth of fields at once, column by column:
        ``({field: converted values}, {row: its error})``. An empty string
        stands for a field the row does not give (its default); a row that
        fails has ``None`` in its columns and the error ``__init__`` would
        raise for it (converters first, then validators, each in field
        order).

        Converters and validators run once per distinct value of a column:
        most columns of a large file repeat (kinds, cities, levels), and a
        file's columns are checked in a handful of calls instead of one per
        cell. So a validator here sees its value and no instance: rules that
        compare fields belong in ``prepare`` or the validation hook."""
        ordered, _ = self._plans.get(tuple(given)) or self._plan(tuple(given))
        failed: dict[int, ValidationError] = {}
        converted: dict[str, list[Any]] = {}
        for name, converter in ordered:
            default = self._fresh[name]() if name in self._fresh else self._constant[name]
            converted[name] = convert_column(given[name], converter, failed, default, empty="")
        if attrs.validators.get_disabled() is False:
            for attribute, validator in self._validators:
                name = attribute.name

                def check(value: Any, attribute: Any = attribute, validator: Any = validator) -> Any:
                    validator(None, attribute, value)
                    return value

                if name in converted:
                    convert_column(converted[name], check, failed)
                else:
                    try:
                        check(self._fresh[name]() if name in self._fresh else self._constant[name])
                    except ValidationError as error:
                        for row in range(count):
                            failed.setdefault(row, error)
        for values in converted.values():
            for row in failed:
                values[row] = None
        return converted, failed

    def assemble(self, values: Mapping[str, Any]) -> T:
        """An instance of values already checked (by ``check_columns``), the
        rest defaults: no converter or validator runs again."""
        instance = object.__new__(self.cls)
        fields = instance.__dict__
        fields.update(self._constant)
        for name, make in self._fresh.items():
            if name not in values:
                fields[name] = make()
        for name, value in values.items():  # columns' rows may share lists: each instance gets its own
            fields[name] = copy.copy(value) if type(value) in _CONTAINERS else value
        return instance


_NOT_GIVEN = object()


def convert_column(values: Sequence[Any], function: Callable[[Any], Any] | None, failed: dict[int, ValidationError],
                   default: Any = None, *, empty: Any = _NOT_GIVEN) -> list[Any]:
    """``function`` of each value, called once per distinct value (values
    of one type; unhashable ones, such as dicts, once per row). A row whose
    value raises ValidationError gets None, and the error in ``failed``
    unless it has one already. Values equal to ``empty`` become
    ``default`` unconverted. Rows may share a result: copy before
    changing one."""
    try:
        distinct: Iterable[Any] = set(values)
    except TypeError:
        return _convert_each(values, function, failed, default, empty)
    results: dict[Any, Any] = {}
    errors: dict[Any, ValidationError] = {}
    for value in distinct:
        if value == empty:
            results[value] = default
            continue
        try:
            results[value] = value if function is None else function(value)
        except ValidationError as error:
            results[value], errors[value] = None, error
    converted = list(map(results.__getitem__, values))
    if errors:
        for row, value in enumerate(values):
            if value in errors:
                failed.setdefault(row, errors[value])
    return converted


def _convert_each(values: Sequence[Any], function: Callable[[Any], Any] | None, failed: dict[int, ValidationError],
                  default: Any, empty: Any) -> list[Any]:
    converted = []
    for row, value in enumerate(values):
        if value == empty:
            converted.append(default)
            continue
        try:
            converted.append(value if function is None else function(value))
        except ValidationError as error:
            converted.append(None)
            failed.setdefault(row, error)
    return converted
