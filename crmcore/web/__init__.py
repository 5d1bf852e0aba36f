"""The staff's web interface (``crm serve``): jinja2 pages rendered by the
same Litestar application as the API, with sessions, CSRF protection and
zh_CN/en catalogues.

For plugin authors, everything needed to add pages::

    from crmcore import web

    @web.get("/cards")                          # served at /membership/cards
    def cards(request: Request) -> Response:
        with web.web_uow(request) as uow:        # logged in? enabled for the department?
            return web.page(request, uow, "membership/web/cards.html", cards=...)

    @web.post("/cards/{card_id:int}/freeze")
    def freeze(request: Request, card_id: int, data: web.Form) -> Response:
        with web.web_uow(request, data) as uow:  # POSTs must pass the form: CSRF check
            _, errors = web.attempt(uow, uow.service("membership").freeze, card_id)
            if errors:
                return web.page(request, uow, "membership/web/card.html", errors=errors, status=422)
        return web.redirect(request, f"/membership/cards/{card_id}", web.translator(request)("Card frozen"))

and the hooks ``crm_register_pages``, ``crm_register_navigation``,
``crm_register_translations`` and ``crm_register_templates``. See
docs/web.md. Importing this package is cheap; Litestar loads on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "web_uow": "crmcore.web.site",
    "page": "crmcore.web.site",
    "redirect": "crmcore.web.site",
    "translator": "crmcore.web.site",
    "attempt": "crmcore.web.site",
    "field_errors": "crmcore.web.site",
    "form_value": "crmcore.web.site",
    "form_list": "crmcore.web.site",
    "request_locale": "crmcore.web.site",
    "NavEntry": "crmcore.web.site",
    "LoginRequired": "crmcore.web.site",
    "CSRFRejected": "crmcore.web.site",
    "lazy": "crmcore.web.i18n",
    "Formats": "crmcore.web.i18n",
    "LOCALES": "crmcore.web.i18n",
    "get": "crmcore.web.routes",
    "post": "crmcore.web.routes",
    "Form": "crmcore.web.routes",
    "Upload": "crmcore.web.routes",
    "chart": "crmcore.web.routes",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore.web' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
