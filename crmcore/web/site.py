"""The web interface's building blocks, shared by the core's pages and every
plugin's: the request's unit of work (session, CSRF, enablement), rendering
a page in the user's language, redirects with a flash message, and form
errors per field.
"""

from __future__ import annotations

import hmac
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Literal, Mapping
from urllib.parse import quote, unquote

import jinja2
from attrs import define, field
from litestar import Request, Response
from litestar.datastructures import Cookie

from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.web.i18n import DEFAULT_LOCALE, LOCALE_NAMES, LOCALES, Catalogues, Formats, lazy, negotiate
from crmcore.web.sessions import WebSession, WebSessions

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.storage.unit_of_work import UnitOfWork

SESSION_COOKIE = "crm_session"
FLASH_COOKIE = "crm_flash"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
FRAGMENT_HEADER = "x-crm-fragment"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No live session: the browser is sent to the login form."""


class CSRFRejected(Exception):
    """A state-changing request without the session's form token."""


@define
class NavEntry:
    """A link in the sidebar. ``label`` is an English message id, translated
    when shown; the entry is shown to users holding ``permission`` (any of
    them, when a tuple) in departments where ``plugin`` is enabled."""

    path: str
    label: str
    plugin: str = "core"
    permission: str | tuple[str, ...] | None = None
    order: int = 100
    section: str | None = None

    def visible_to(self, uow: "UnitOfWork") -> bool:
        if self.plugin != "core" and self.plugin in uow.disabled_plugins:
            return False
        if self.permission is None:
            return True
        wanted = (self.permission,) if isinstance(self.permission, str) else self.permission
        return any(uow.actor.can(p) for p in wanted)


@define
class Site:
    """What the web interface knows once the server starts: templates,
    catalogues and navigation, from the core and every plugin."""

    crm: "CRM"
    environment: jinja2.Environment
    catalogues: Catalogues
    navigation: list[NavEntry] = field(factory=list)

    @classmethod
    def build(cls, crm: "CRM") -> "Site":
        registrations = crm.plugins.registrations
        environment = jinja2.Environment(
            loader=crm.templates.loader,
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        for name in ("datetime", "date", "number", "money", "percent"):
            environment.filters[name] = _format_filter(name)
        environment.filters["urlencode_path"] = lambda value: quote(str(value), safe="")
        navigation = [NavEntry(**entry) for entry in CORE_NAVIGATION]
        navigation += [NavEntry(plugin=plugin, **entry) for plugin, entry in registrations.navigation]
        navigation.sort(key=lambda entry: (entry.order, entry.path))
        return cls(crm, environment, Catalogues(path for _, path in registrations.translations), navigation)

    def render(self, request: Request, uow: "UnitOfWork | None", template: str, context: Mapping[str, Any]) -> str:
        locale = request_locale(request)
        translations = self.catalogues.translations(locale)
        session: WebSession | None = getattr(request.state, "crm_session", None)
        gettext, ngettext = _formatting_gettext(translations)
        values: dict[str, Any] = {
            "_": gettext, "gettext": gettext, "ngettext": ngettext,
            "locale": locale, "locales": LOCALE_NAMES, "lang": locale.replace("_", "-"),
            "fmt": Formats(locale, self.crm.config.timezone),
            "user": uow.actor if uow is not None and session is not None else None,
            "can": (lambda permission: uow.actor.can(permission)) if uow is not None else (lambda permission: False),
            "csrf_token": session.csrf_token if session is not None else "",
            "csrf_field": CSRF_FIELD,
            "nav": _grouped([entry for entry in self.navigation if entry.visible_to(uow)]) if uow is not None and session else [],
            "current_nav": _current(self.navigation, request.url.path),
            "path": request.url.path,
            "query": request.query_params,
            "flash": unquote(request.cookies.get(FLASH_COOKIE, "")),
            "errors": {},
            "form": {},
        }
        values.update(context)
        loaded = self.environment.get_template(template)
        block = request.headers.get(FRAGMENT_HEADER)
        if block:
            if block not in loaded.blocks:
                raise NotFound(f"fragment {block!r} of {template}")
            return "".join(loaded.blocks[block](loaded.new_context(values)))
        return loaded.render(values)


CORE_NAVIGATION = (
    {"path": "/", "label": lazy("Dashboard"), "order": 0},
    {"path": "/customers", "label": lazy("Customers"), "permission": ("customers.view", "customers.view_all"), "order": 10},
    {"path": "/duplicates", "label": lazy("Duplicates"), "permission": "customers.merge", "order": 20},
    {"path": "/imports", "label": lazy("Import"), "permission": "customers.import", "order": 25},
    {"path": "/admin", "label": lazy("Administration"), "permission": ("users.manage", "roles.manage", "plugins.manage"),
     "order": 900, "section": "admin"},
)


def _current(entries: list[NavEntry], path: str) -> str | None:
    """The sidebar entry of the page: the longest entry path the page's path
    starts with (``/campaigns/segments`` lights "Segments", not "Campaigns")."""
    matching = [e.path for e in entries if path == e.path or (e.path != "/" and path.startswith(e.path.rstrip("/") + "/"))]
    return max(matching, key=len, default=None)


def _grouped(entries: list[NavEntry]) -> list[tuple[str | None, list[NavEntry]]]:
    """The sidebar: the core's entries, then one group per plugin headed by
    its ``section`` label, groups in the order of their first entry; the
    administration last."""
    groups: dict[str, list[NavEntry]] = {}
    for entry in entries:
        key = "admin" if entry.section == "admin" else entry.plugin
        groups.setdefault(key, []).append(entry)
    keys = sorted(groups, key=lambda key: (key == "admin", key != "core", min(e.order for e in groups[key])))
    return [(None if key in ("core", "admin") else next((e.section for e in groups[key] if e.section), None), groups[key])
            for key in keys]


def _formatting_gettext(translations: Any) -> tuple[Callable[..., str], Callable[..., str]]:
    """``_("Edit %(name)s", name=...)`` as in Jinja's new-style gettext;
    ``ngettext`` gets ``num`` for free."""
    def gettext(message: str, **variables: Any) -> str:
        text = translations.gettext(message)
        return text % variables if variables else text

    def ngettext(singular: str, plural: str, number: int, **variables: Any) -> str:
        variables.setdefault("num", number)
        return translations.ngettext(singular, plural, number) % variables

    return gettext, ngettext


def _format_filter(name: str) -> Callable[..., str]:
    @jinja2.pass_context
    def apply(context: Any, value: Any, *args: Any) -> str:
        return getattr(context["fmt"], name)(value, *args)

    return apply


def site(request: Request) -> Site:
    found = request.app.state.get("crm_site")
    if found is None:
        found = request.app.state["crm_site"] = Site.build(request.app.state["crm"])
    return found


def request_locale(request: Request) -> str:
    """The session's language; before login, the browser's (or a ``lang``
    cookie set by the language switch on the login page)."""
    session: WebSession | None = getattr(request.state, "crm_session", None)
    if session is not None:
        return session.locale
    chosen = request.cookies.get("crm_lang")
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("accept-language"))


def translator(request: Request) -> Callable[..., str]:
    """``_`` for messages a handler composes (flash messages, say):
    ``_("Customer %(name)s created.", name=customer.name)``. The language is
    looked up at each translation, so ``_`` may be made before the page's
    unit of work knows whose session it is."""
    def gettext(message: str, **variables: Any) -> str:
        return _formatting_gettext(site(request).catalogues.translations(request_locale(request)))[0](message, **variables)

    return gettext


@contextmanager
def web_uow(request: Request, form: Mapping[str, Any] | None = None, *, readonly: bool = False) -> Iterator["UnitOfWork"]:
    """The page's unit of work, acting as the logged-in user.

    Raises :class:`LoginRequired` without a live session (the browser is sent
    to the login form) and :class:`CSRFRejected` when a POST does not carry
    the session's form token, in ``form["_csrf"]`` or the ``X-CSRF-Token``
    header: pass the handler's form data as ``form``. A plugin's page answers
    404 to users of departments where the plugin is disabled. Any exception
    rolls the whole request back.

    ``readonly=True`` (GETs that write nothing, not even the audit trail):
    one snapshot read that does not wait for a writer — a progress page
    answers while an import holds SQLite's write lock.
    """
    from contextlib import nullcontext

    from crmcore.api.auth import database_turn

    crm = request.app.state["crm"]
    turn = nullcontext() if readonly else database_turn(request.app.state)
    with turn, crm.unit_of_work(snapshot=readonly) as uow:
        session = WebSessions(uow).resume(request.cookies.get(SESSION_COOKIE), touch=not readonly)
        if session is None:
            raise LoginRequired()
        request.state.crm_session = session
        if request.method not in READ_METHODS:
            sent = (form or {}).get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
            if isinstance(sent, list):
                sent = sent[0] if sent else ""
            if not hmac.compare_digest(str(sent), session.csrf_token):
                raise CSRFRejected()
        uow.act_as(session.user_id)
        uow.web_session = session  # type: ignore[attr-defined]
        plugin = request.route_handler.opt.get("crm_plugin")
        if plugin is not None and plugin in uow.disabled_plugins:
            raise NotFound(f"plugin {plugin!r} is not enabled for your department")
        yield uow


def page(request: Request, uow: "UnitOfWork | None", template: str, *, status: int = 200, **context: Any) -> Response[str]:
    """Render ``template`` (``"core/web/…"`` or ``"<plugin>/…"``) as the
    request's page. With an ``X-CRM-Fragment: BLOCK`` header only that block
    of the template is rendered (live search, live counts)."""
    html = site(request).render(request, uow, template, context)
    response = Response(html, status_code=status, media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(request: Request, url: str, flash: str | None = None) -> Response[str]:
    """303 to ``url`` (after a successful POST), with a one-time message."""
    response = Response("", status_code=303, headers={"Location": url, "Cache-Control": "no-store"})
    if flash:
        response.set_cookie(Cookie(key=FLASH_COOKIE, value=quote(flash), path="/", httponly=True, samesite="lax",
                                   secure=is_https(request)))
    return response


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def field_errors(error: ValidationError) -> dict[str, str]:
    """``{"field": "problem"}`` from a ValidationError's "field: problem"
    messages; messages naming no field are under ``""``."""
    found: dict[str, str] = {}
    for message in error.errors:
        name, separator, problem = message.partition(": ")
        if separator and name and " " not in name.strip():
            found.setdefault(name.strip(), problem)
        else:
            found[""] = f"{found[''] + '; ' if '' in found else ''}{message}"
    return found


def attempt(uow: "UnitOfWork", action: Callable[..., Any], /, *args: Any,
            not_found: Literal["form", "field"] | None = None, **kwargs: Any) -> tuple[Any, dict[str, str]]:
    """Run ``action(*args, **kwargs)`` in a savepoint: ``(result, {})``, or
    ``(None, errors)`` with nothing of it kept when it raised a
    ValidationError (errors per field) or a Conflict (under ``""``: a quote
    no longer a draft, a closed deal) — so a form can be shown again with its
    errors while the rest of the request commits.

    A NotFound propagates (the page answers 404) unless ``not_found`` says
    where the form shows it: ``"form"``, its message under ``""`` (a record
    gone meanwhile, a customer out of scope); ``"field"``, under
    the field its message names, as a ValidationError's ("card: no member
    with card M1"; a message naming none under ``""``). Use it where the
    missing thing was typed into the form; look up what the URL names before.
    ``not_found`` is attempt's own keyword, never passed on to ``action``
    (call an action that takes one of that name through a lambda)."""
    if not_found not in (None, "form", "field"):
        raise ValueError(f"not_found is 'form', 'field' or None, not {not_found!r}")
    try:
        with uow.savepoint():
            return action(*args, **kwargs), {}
    except ValidationError as error:
        return None, field_errors(error)
    except Conflict as error:
        return None, {"": str(error)}
    except NotFound as error:
        if not_found == "form":
            return None, {"": str(error)}
        if not_found == "field":
            return None, field_errors(ValidationError(str(error)))
        raise


def form_value(form: Mapping[str, Any], name: str, default: str = "") -> str:
    """One text field of a submitted form (the last, if sent several times)."""
    value = form.get(name, default)
    if isinstance(value, list):
        value = value[-1] if value else default
    return str(value).strip() if value is not None else default


def form_list(form: Mapping[str, Any], name: str) -> list[str]:
    """A field sent several times (checkboxes, multi-selects), as a list."""
    value = form.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


__all__ = ["DEFAULT_LOCALE", "LoginRequired", "CSRFRejected", "NavEntry", "Site", "web_uow", "page", "redirect",
           "translator", "field_errors", "attempt", "form_value", "form_list", "request_locale"]
