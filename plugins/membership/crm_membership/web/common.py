"""What the membership pages share: the service, form parsing, and running
a service call so that its refusal shows on the form instead of an error
page."""

from __future__ import annotations

from typing import Any, Callable, Mapping
from urllib.parse import quote

from crmcore import Conflict, NotFound, ValidationError
from crmcore import web


def svc(uow: Any) -> Any:
    return uow.service("membership")


def card_url(number: str, rest: str = "") -> str:
    """The member card page (card numbers are free text: quoted)."""
    return f"/membership/cards/{quote(number, safe='')}{rest}"


def attempt(uow: Any, action: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """:func:`crmcore.web.attempt`, and also a Conflict (out of stock, a
    duplicate to confirm, a lost card) or a NotFound for a typed name or card
    number as a form error: the clerk fixes the form rather than starting over.
    Whatever the URL itself names is looked up before, so it still answers 404."""
    try:
        return web.attempt(uow, action, *args, **kwargs)
    except (Conflict, NotFound) as error:
        return None, web.field_errors(ValidationError(str(error).strip("'\"")))


def optional_int(form: Mapping[str, Any], name: str, errors: dict[str, str], *, minimum: int | None = None) -> int | None:
    """A whole number from the form, or None when empty; a problem goes to
    ``errors[name]``."""
    text = web.form_value(form, name)
    if not text:
        return None
    try:
        number = int(text)
    except ValueError:
        errors[name] = f"{text!r} is not a whole number"
        return None
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
    return number


def cards_of(form: Mapping[str, Any], name: str = "cards") -> list[str]:
    """Card numbers typed one per line (or separated by spaces or commas)."""
    return [part for part in web.form_value(form, name).replace(",", " ").replace("，", " ").split() if part]


def checked(form: Mapping[str, Any], name: str) -> bool:
    return web.form_value(form, name) in ("1", "on", "true", "yes")

