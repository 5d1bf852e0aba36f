"""What the membership pages share: the service, card URLs and form
parsing. Service calls run through ``web.attempt(..., not_found="field")``:
a typed name or card number that does not exist shows next to its field."""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import quote

from crmcore import web


def svc(uow: Any) -> Any:
    return uow.service("membership")


def card_url(number: str, rest: str = "") -> str:
    """The member card page (card numbers are free text: quoted)."""
    return f"/membership/cards/{quote(number, safe='')}{rest}"


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

