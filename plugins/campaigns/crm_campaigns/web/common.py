"""What the plugin's page modules share: running a service call for a form,
and reading whole numbers from forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from crmcore import Conflict, NotFound, ValidationError, web

if TYPE_CHECKING:
    from crmcore import UnitOfWork


def attempt(uow: "UnitOfWork", action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """``web.attempt``, and a Conflict (a name taken, a campaign in the wrong
    state) or a NotFound (a customer out of scope) shown on the form too,
    instead of an error page that loses what the user typed."""
    try:
        return web.attempt(uow, action, *args, **kwargs)
    except (Conflict, NotFound) as error:
        return None, {"": str(error)}


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
