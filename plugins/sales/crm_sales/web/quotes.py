"""Quotes (报价单): the list, drafting one from an opportunity's page, a
quote's lines, and sending, accepting, rejecting and revising it; the
printable quote is the same template ``crm sales quote render`` uses."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.web.i18n import lazy

from crm_sales.domain import QUOTE_STATUSES
from crm_sales.quotes import parse_line

#: English message ids, translated where shown.
STATUS_LABELS = {"draft": lazy("Draft"), "sent": lazy("Sent"), "accepted": lazy("Accepted"), "rejected": lazy("Rejected"),
                 "superseded": lazy("Superseded")}


@web.get("/quotes")
def quote_list(request: Request, status: FromQuery[str] = "", customer: FromQuery[int | None] = None) -> Response[str]:
    with web.web_uow(request) as uow:
        sales = uow.service("sales")
        quotes = sales.quotes.list(customer_id=customer, status=status if status in QUOTE_STATUSES else None)
        names = {c.id: c.name for c in uow.customers.get_many({q.customer_id for q in quotes})}
        return web.page(request, uow, "sales/web/quotes.html", quotes=list(reversed(quotes)), customers=names,
                        chosen=status, statuses=STATUS_LABELS, customer_id=customer)


def _quote_page(request: Request, uow: Any, quote_id: int, *, status: int = 200, **extra: Any) -> Response[str]:
    sales = uow.service("sales")
    quote = sales.quotes.get(quote_id)
    context = {"line_form": {}, "line_errors": {}, "action_errors": {}}
    context.update(extra)
    return web.page(request, uow, "sales/web/quote.html", status=status, quote=quote,
                    opportunity=sales.opportunities.get(quote.opportunity_id),
                    customer=uow.customers.get(quote.customer_id), statuses=STATUS_LABELS,
                    versions=sales.quotes.versions(quote.number), **context)


@web.get("/quotes/{quote_id:int}")
def quote_detail(request: Request, quote_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _quote_page(request, uow, quote_id)


@web.get("/quotes/{quote_id:int}/print")
def quote_print(request: Request, quote_id: FromPath[int]) -> Response[str]:
    """The quote as the customer gets it (print to PDF from the browser)."""
    with web.web_uow(request) as uow:
        html = uow.service("sales").quotes.render(quote_id)
    return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-store"})


@web.post("/opportunities/{opportunity_id:int}/quotes")
def quote_create(request: Request, opportunity_id: FromPath[int], data: web.Form) -> Response[str]:
    """A draft quote; its lines are typed one per line as on the command
    line: PRODUCT,QUANTITY,UNIT_PRICE[,DISCOUNT]."""
    from crm_sales.web.opportunities import _detail_page

    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        text = web.form_value(data, "lines")
        lines, errors = web.attempt(uow, lambda: [parse_line(line) for line in text.splitlines() if line.strip()])
        made = None
        if not errors:
            made, errors = web.attempt(uow, uow.service("sales").quotes.add, opportunity_id, lines=lines,
                                   valid_until=web.form_value(data, "valid_until") or None,
                                   notes=web.form_value(data, "notes") or None)
        if errors:
            return _detail_page(request, uow, opportunity_id, status=422, quote_form=dict(data), quote_errors=errors)
    return web.redirect(request, f"/sales/quotes/{made.id}", _("Quote %(number)s drafted.", number=made.number))


@web.post("/quotes/{quote_id:int}/lines")
def quote_line_add(request: Request, quote_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        fields = {name: web.form_value(data, name) for name in ("product", "quantity", "unit_price", "discount")}
        _changed, errors = web.attempt(uow, uow.service("sales").quotes.add_line, quote_id, **fields)
        if errors:
            return _quote_page(request, uow, quote_id, status=422, line_form=dict(data), line_errors=errors)
    return web.redirect(request, f"/sales/quotes/{quote_id}", _("Line added."))


@web.post("/quotes/{quote_id:int}/lines/{position:int}/remove")
def quote_line_remove(request: Request, quote_id: FromPath[int], position: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        _changed, errors = web.attempt(uow, uow.service("sales").quotes.remove_line, quote_id, position)
        if errors:
            return _quote_page(request, uow, quote_id, status=422, action_errors=errors)
    return web.redirect(request, f"/sales/quotes/{quote_id}", _("Line removed."))


@web.post("/quotes/{quote_id:int}/{action:str}")
def quote_action(request: Request, quote_id: FromPath[int], action: FromPath[str], data: web.Form) -> Response[str]:
    """send, accept, reject or revise: the buttons on the quote's page."""
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        quotes = uow.service("sales").quotes
        note = web.form_value(data, "note") or None
        calls = {
            "send": lambda: quotes.send(quote_id, email=web.form_value(data, "email") in ("1", "on")),
            "accept": lambda: quotes.accept(quote_id, win=web.form_value(data, "win") in ("1", "on"), note=note),
            "reject": lambda: quotes.reject(quote_id, reason=note),
            "revise": lambda: quotes.revise(quote_id, valid_until=web.form_value(data, "valid_until") or None),
        }
        if action not in calls:
            from crmcore import NotFound

            raise NotFound(f"no quote action {action!r}")
        done, errors = web.attempt(uow, calls[action])
        if errors:
            return _quote_page(request, uow, quote_id, status=422, action_errors=errors)
    messages = {"send": _("Quote sent."), "accept": _("Quote accepted."), "reject": _("Quote rejected."),
                "revise": _("Version %(version)s drafted.", version=done.version)}
    return web.redirect(request, f"/sales/quotes/{done.id}", messages[action])


HANDLERS: list[Any] = [quote_list, quote_detail, quote_print, quote_create, quote_line_add, quote_line_remove, quote_action]
