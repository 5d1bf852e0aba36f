"""Customers (persons and organisations) and their contacts."""

from __future__ import annotations

import copy
from datetime import date, datetime
from typing import Any, Callable, Generic, Iterable, Mapping, Sequence, TypeVar

import attrs
from attrs import define, field

from crmcore.clock import parse_date
from crmcore.errors import ValidationError
from crmcore.domain.fields import (
    boolean,
    email_list,
    one_of,
    optional_text,
    phone_list,
    required_text,
    text_list,
)

T = TypeVar("T")

KINDS = ("person", "organization")
GENDERS = ("male", "female")
DECISION_ROLES = ("decision_maker", "user", "influencer", "buyer", "gatekeeper")
RELATIONSHIPS = ("positive", "neutral", "negative", "none")

#: Fields a caller may set on a customer; the rest the core manages.
CUSTOMER_EDITABLE = (
    "name", "kind", "code", "phones", "emails", "address", "region", "province",
    "city", "industry", "position", "birthday", "gender", "source", "level",
    "status", "stage", "tags", "owner_id", "department_id", "custom",
    "do_not_contact", "notes",
)
#: Fields holding personal contact details, masked without
#: ``customers.view_contact_details``.
CONTACT_DETAIL_FIELDS = ("phones", "emails", "birthday")


def _birthday(value: Any) -> date | None:
    return parse_date(value, field="birthday")


def _custom(value: Any) -> dict[str, Any]:
    return dict(value or {})


@define(slots=False, kw_only=True, eq=True)
class Customer:
    """A person or an organisation the company does business with (客户档案)."""

    name: str = field(default="", converter=optional_text, validator=required_text("name"))
    kind: str = field(default="person", validator=one_of("kind", KINDS))
    id: int | None = None
    code: str | None = field(default=None, converter=optional_text)
    phones: list[str] = field(factory=list, converter=phone_list("phones"))
    emails: list[str] = field(factory=list, converter=email_list("emails"))
    address: str | None = field(default=None, converter=optional_text)
    region: str | None = field(default=None, converter=optional_text)
    province: str | None = field(default=None, converter=optional_text)
    city: str | None = field(default=None, converter=optional_text)
    industry: str | None = field(default=None, converter=optional_text)
    position: str | None = field(default=None, converter=optional_text)
    birthday: date | None = field(default=None, converter=_birthday)
    gender: str | None = field(default=None, converter=optional_text, validator=one_of("gender", GENDERS, optional=True))
    source: str | None = field(default=None, converter=optional_text)
    level: str = "normal"
    status: str = "potential"
    stage: str = "exploration"
    tags: list[str] = field(factory=list, converter=text_list)
    owner_id: int | None = None
    department_id: int | None = None
    custom: dict[str, Any] = field(factory=dict, converter=_custom)
    do_not_contact: bool = field(default=False, converter=boolean)
    notes: str | None = field(default=None, converter=optional_text)
    active: bool = True
    cancelled_at: datetime | None = None
    merged_into_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def evolve(self, **changes: Any) -> "Customer":
        return attrs.evolve(self, **changes)


@define(slots=False, kw_only=True, eq=True)
class Contact:
    """A person at a customer (联系人), or a key person in a B2B sale (关键人物)."""

    name: str = field(default="", converter=optional_text, validator=required_text("name"))
    customer_id: int | None = None
    id: int | None = None
    title: str | None = field(default=None, converter=optional_text)
    phones: list[str] = field(factory=list, converter=phone_list("phones"))
    emails: list[str] = field(factory=list, converter=email_list("emails"))
    birthday: date | None = field(default=None, converter=_birthday)
    decision_role: str | None = field(default=None, converter=optional_text, validator=one_of("decision_role", DECISION_ROLES, optional=True))
    relationship: str = field(default="none", validator=one_of("relationship", RELATIONSHIPS))
    staff_id: int | None = None
    notes: str | None = field(default=None, converter=optional_text)
    active: bool = True
    created_at: datetime | None = None

    def evolve(self, **changes: Any) -> "Contact":
        return attrs.evolve(self, **changes)


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
        # defaults as __init__ would store them; factory results (lists,
        # dicts) are copied per instance so no two instances share one
        self._constant: dict[str, Any] = {}
        self._copied: dict[str, Any] = {}
        for a in fields:
            if isinstance(a.default, attrs.Factory):
                if a.default.takes_self:
                    raise TypeError(f"{cls.__name__}.{a.name}: takes_self factories are not supported")
                self._copied[a.name] = self._convert(a.name, a.default.factory())
            else:
                self._constant[a.name] = self._convert(a.name, a.default)
        # per set of given field names (a bulk path gives the same few again
        # and again): the converters in field order and the defaults to copy
        self._plans: dict[tuple[str, ...], tuple[list[tuple[str, Any]], list[tuple[str, Any]]]] = {}

    def _convert(self, name: str, value: Any) -> Any:
        converter = self._converters[name]
        return value if converter is None else converter(value)

    def _plan(self, given: tuple[str, ...]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
        unknown = set(given) - self._order.keys()
        if unknown:
            raise TypeError(f"{self.cls.__name__} has no field {', '.join(sorted(unknown))}")
        ordered = [(name, self._converters[name]) for name in sorted(given, key=self._order.__getitem__)]
        copies = [(name, template) for name, template in self._copied.items() if name not in given]
        plan = self._plans[given] = (ordered, copies)
        return plan

    def __call__(self, fields: dict[str, Any]) -> T:
        given = tuple(fields)
        ordered, copies = self._plans.get(given) or self._plan(given)
        instance = object.__new__(self.cls)
        values = instance.__dict__
        values.update(self._constant)
        for name, template in copies:
            values[name] = copy.copy(template)
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
            default = self._copied.get(name, self._constant.get(name))
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
                        check(self._constant.get(name, self._copied.get(name)))
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
        for name, template in self._copied.items():
            fields[name] = copy.copy(template)
        for name, value in values.items():  # columns' rows may share lists: each instance gets its own
            fields[name] = copy.copy(value) if type(value) in (list, dict) else value
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


#: ``Customer(**fields)`` for bulk paths; same rules, same errors (see CheckedBuilder).
build_customer = CheckedBuilder(Customer)
