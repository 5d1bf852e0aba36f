"""The agent console: an incoming number (what the phone system's screen
pop would hand over) shows the caller's card, open tickets, last activities
and recent calls through the plugin's screen-pop service; the agent's own
state and open tickets sit beside it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.params import FromQuery

from crmcore import NotFound, web
from crmcore.web.pages.labels import activity_type_label, choice_labels

from crm_callcenter.setup import AGENT_STATES
from crm_callcenter.web.common import context, service, with_clocks


def _my_agent(uow: Any) -> dict[str, Any] | None:
    """The user's agent record, if they are one."""
    try:
        return service(uow).agent_view(uow.actor.id)
    except NotFound:
        return None


def _console(request: Request, uow: Any, number: str, *, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
             status: int = 200) -> Response[str]:
    svc = service(uow)
    locale = web.request_locale(request)
    pop, pop_errors = (web.attempt(uow, svc.screen_pop, number, not_found="form") if number else (None, {}))
    mine = with_clocks(svc.list_tickets(assignee=uow.actor.username, open_only=True, limit=20))
    return web.page(request, uow, "callcenter/web/console.html", status=status, number=number, pop=pop,
                    errors={**pop_errors, **(errors or {})}, form=form or {}, agent=_my_agent(uow), agent_states=AGENT_STATES,
                    mine=mine, activity_label=activity_type_label(uow, locale), choice_label=choice_labels(uow, locale),
                    **context(request, uow))


@web.get("/console", name="callcenter_console")
def console(request: Request, number: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        return _console(request, uow, number.strip()[:60])


@web.post("/console/customers")
def console_new_customer(request: Request, data: web.Form) -> Response[str]:
    """An unknown caller becomes a customer with the number that rang (as
    ``crm service lookup NUMBER --create NAME``)."""
    number = web.form_value(data, "number")[:60]
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        uow.require("callcenter.view")
        uow.require("customers.edit")
        pop, errors = web.attempt(uow, service(uow).screen_pop, number, panels=False, not_found="form")
        if not errors:
            created, errors = web.attempt(uow, uow.customers.create, name=web.form_value(data, "name"), phones=[pop["number"]],
                                          not_found="form")
        if errors:
            return _console(request, uow, number, errors=errors, form=dict(data), status=422)
    return web.redirect(request, f"/callcenter/console?number={quote(pop['number'])}",
                        _("Customer %(name)s created.", name=created.name))


@web.post("/console/state")
def console_state(request: Request, data: web.Form) -> Response[str]:
    """The agent's own state (available, away …); becoming available may
    offer them a waiting call."""
    number = web.form_value(data, "number")[:60]
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        _state, errors = web.attempt(uow, service(uow).set_agent_state, uow.actor.username, web.form_value(data, "state"),
                                     not_found="form")
        if errors:
            return _console(request, uow, number, errors=errors, form=dict(data), status=422)
    target = "/callcenter/console" + (f"?number={quote(number)}" if number else "")
    return web.redirect(request, target, _("Your state is changed."))


HANDLERS: list[Any] = [console, console_new_customer, console_state]
