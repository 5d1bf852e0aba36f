"""Custom customer fields: declared by an administrator (``crm field add``)
or by a plugin (``crm_register_custom_fields``); values are checked against
their declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from crmcore.clock import parse_date
from crmcore.domain.fields import boolean, money
from crmcore.errors import ValidationError
from crmcore.storage.tables import custom_fields

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

TYPES = ("text", "int", "decimal", "date", "bool", "choice")


class CustomFieldService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._definitions: dict[str, dict[str, Any]] | None = None

    def definitions(self) -> dict[str, dict[str, Any]]:
        if self._definitions is None:
            found = dict(self.uow.crm.plugins.registrations.custom_fields)
            for row in self.uow.execute(select(custom_fields)).mappings():
                found[row["name"]] = {**row, "plugin": "core"}
            self._definitions = found
        return self._definitions

    def add(self, name: str, type: str, label: str, choices: list[str] | None = None) -> None:
        self.uow.require("settings.edit")
        if not name or not name.replace("_", "").isalnum():
            raise ValidationError.field("name", "use letters, digits and underscores")
        if type not in TYPES:
            raise ValidationError.field("type", f"{type!r} is not one of {', '.join(TYPES)}")
        if type == "choice" and not choices:
            raise ValidationError.field("choices", "a choice field needs choices")
        if name in self.definitions():
            raise ValidationError.field("name", f"custom field {name!r} exists already")
        self.uow.execute(insert(custom_fields).values(name=name, type=type, label=label, choices=list(choices or [])))
        self.uow.audit.record("custom_field", name, "create", {"type": type, "label": label})
        self._definitions = None

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values converted to their declared types; unknown names refused."""
        definitions = self.definitions()
        cleaned: dict[str, Any] = {}
        for name, value in values.items():
            definition = definitions.get(name)
            if definition is None:
                raise ValidationError.field(f"custom.{name}", "no such custom field (declare it with `crm field add`)")
            if value is None or value == "":
                continue
            cleaned[name] = _convert(f"custom.{name}", definition, value)
        return cleaned


def _convert(field: str, definition: dict[str, Any], value: Any) -> Any:
    kind = definition["type"]
    try:
        if kind == "int":
            return int(value)
        if kind == "decimal":
            return str(money(field)(value))
        if kind == "date":
            return parse_date(value, field=field).isoformat()
        if kind == "bool":
            return boolean(value)
    except (TypeError, ValueError) as error:
        if isinstance(error, ValidationError):
            raise
        raise ValidationError.field(field, f"{value!r} is not {kind}") from None
    if kind == "choice" and str(value) not in definition["choices"]:
        raise ValidationError.field(field, f"{value!r} is not one of {', '.join(definition['choices'])}")
    return str(value)
