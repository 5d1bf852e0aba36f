"""What the plugin's page modules share: the service, and reading whole
numbers from forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore import ValidationError

if TYPE_CHECKING:
    from crmcore import UnitOfWork


def whole(value: str, field: str) -> int | None:
    """A form's whole number, or None when left empty."""
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError.field(field, f"{value!r} is not a whole number") from None


def service(uow: "UnitOfWork") -> Any:
    return uow.service("campaigns")
