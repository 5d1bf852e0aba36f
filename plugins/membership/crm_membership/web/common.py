"""What the membership pages share: the service, card URLs and form
parsing. Service calls run through ``web.attempt(..., not_found="field")``:
a typed name or card number that does not exist shows next to its field."""

from __future__ import annotations

from typing import Any, Callable, Mapping
from urllib.parse import quote

from attrs import define
from litestar import Request, Response

from crmcore import web


def svc(uow: Any) -> Any:
    return uow.service("membership")


def card_url(number: str, rest: str = "") -> str:
    """The member card page (card numbers are free text: quoted)."""
    return f"/membership/cards/{quote(number, safe='')}{rest}"


def optional_int(form: Mapping[str, Any], name: str, errors: dict[str, str], *, minimum: int | None = None,
                 required: bool = False) -> int | None:
    """A whole number from the form, or None when empty; a problem goes to
    ``errors[name]``."""
    text = web.form_value(form, name)
    if not text:
        if required:
            errors[name] = "required"
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



@define(frozen=True)
class Whole:
    """A whole-number field of a form: its least value, and whether it may be left empty."""

    minimum: int | None = None
    required: bool = False


def submit(request: Request, data: Mapping[str, Any], run: Callable[[Any, dict[str, int | None]], Any],
           again: Callable[..., Response[str]], done: Callable[[Any], Response[str]],
           numbers: Mapping[str, Whole] | None = None) -> Response[str]:
    """A page's form posted: its whole ``numbers`` read (every problem named
    at once), then ``run(uow, numbers)`` through ``web.attempt(...,
    not_found="field")``; on a problem ``again(request, uow, form=...,
    errors=..., code=422)`` shows the page with the form and its errors,
    else ``done(result)`` answers (a redirect) once the request committed."""
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        values = {name: optional_int(data, name, errors, minimum=rule.minimum, required=rule.required)
                  for name, rule in (numbers or {}).items()}
        result = None
        if not errors:
            result, errors = web.attempt(uow, run, uow, values, not_found="field")
        if errors:
            return again(request, uow, form=dict(data), errors=errors, code=422)
    return done(result)


def first(request: Request, page: Callable[..., Response[str]], *args: Any) -> Response[str]:
    """A page with forms as first shown (a GET): ``page(request, uow, *args)``, nothing sent yet."""
    with web.web_uow(request) as uow:
        return page(request, uow, *args)


def shown(request: Request, uow: Any, template: str, *, form: Mapping[str, Any] | None = None,
          errors: Mapping[str, str] | None = None, code: int = 200, **context: Any) -> Response[str]:
    """A page with a form: ``template`` with the form sent and its errors (none when first shown)."""
    return web.page(request, uow, template, status=code, form=form or {}, errors=errors or {}, **context)


def viewed(uow: Any) -> Any:
    """The service, for a reader: every page needs ``membership.view``."""
    uow.require("membership.view")
    return svc(uow)
