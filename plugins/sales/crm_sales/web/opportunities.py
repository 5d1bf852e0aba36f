"""The pipeline board (opportunities in columns by stage, each card with a
button to move it on), the opportunity list, the opportunity page (fields,
stage moves, history, quotes, key persons) and the new-opportunity form.

Reading needs no permission beyond seeing the customer (as in the API);
every change goes through the services, which ask for ``sales.edit``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.charts import funnel_chart

from crm_sales.cli import opportunity_view
from crm_sales.keypersons import map_svg
from crm_sales.web.common import (active_users, customer_id, next_stage, stage_label, stage_labels,
                                  user_id, user_names)
from crm_sales.web.quotes import STATUS_LABELS

#: Cards shown per board, at most; the list page pages through the rest.
BOARD_LIMIT = 500


def _board_page(request: Request, uow: Any, owner: str, *, errors: dict[str, str] | None = None,
                status: int = 200) -> Response[str]:
    _ = web.translator(request)
    locale = web.request_locale(request)
    sales = uow.service("sales")
    problems: dict[str, str] = dict(errors or {})
    owner_id = user_id(uow, owner, "owner", problems, _("No user %(key)s.", key=owner))
    stages = sales.stages.all()
    found = sales.opportunities.list(owner_id=owner_id, open_only=True, limit=BOARD_LIMIT) if "owner" not in problems else []
    names = {c.id: c.name for c in uow.customers.get_many({o.customer_id for o in found})}
    columns = [{"stage": s, "label": stage_label(s, locale), "next": next_stage(stages, s.code),
                "cards": [o for o in found if o.stage == s.code]} for s in stages if s.is_open]
    for column in columns:
        if column["next"] is not None:
            column["next_label"] = stage_label(column["next"], locale)
    report = sales.reports.pipeline(owner_id=owner_id)
    labels = stage_labels(uow, locale)
    shown = [r for r in report["stages"] if r["outcome"] in ("open", "won")]
    title = _("Sales funnel (amount)")
    funnel = web.chart(funnel_chart(title, [labels[r["stage"]] for r in shown], [float(r["amount"]) for r in shown]), title)
    closed = [r for r in report["stages"] if r["outcome"] != "open"]
    return web.page(request, uow, "sales/web/pipeline.html", status=status, columns=columns, customers=names,
                    staff=user_names(uow), owner=owner, users=active_users(uow), total=report["total"], closed=closed,
                    labels=labels, funnel=funnel, errors=problems, truncated=len(found) >= BOARD_LIMIT,
                    per_stage={r["stage"]: r for r in report["stages"]})


@web.get("/pipeline")
def pipeline(request: Request, owner: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        return _board_page(request, uow, owner)


@web.post("/opportunities/{opportunity_id:int}/advance")
def advance(request: Request, opportunity_id: FromPath[int], data: web.Form) -> Response[str]:
    """The board's button: move to the stage the card named (not "the next
    one now", so a double click cannot skip a stage)."""
    _ = web.translator(request)
    owner = web.form_value(data, "owner")
    with web.web_uow(request, data) as uow:
        moved, errors = web.attempt(uow, uow.service("sales").opportunities.move, opportunity_id, web.form_value(data, "to"))
        if errors:
            return _board_page(request, uow, owner, errors=errors, status=422)
        label = stage_labels(uow, web.request_locale(request))[moved.stage]
    back = "/sales/pipeline" + (f"?{urlencode({'owner': owner})}" if owner else "")
    return web.redirect(request, f"{back}#opportunity-{opportunity_id}",
                        _("%(name)s moved to %(stage)s.", name=moved.name, stage=label))


@web.get("/opportunities")
def opportunity_list(request: Request, owner: FromQuery[str] = "", stage: FromQuery[str] = "", closing: FromQuery[str] = "",
                     show: FromQuery[str] = "open") -> Response[str]:
    _ = web.translator(request)
    locale = web.request_locale(request)
    with web.web_uow(request) as uow:
        sales = uow.service("sales")
        errors: dict[str, str] = {}
        owner_id = user_id(uow, owner, "owner", errors, _("No user %(key)s.", key=owner))
        rows: list[Any] = []
        if not errors:
            span = None
            if closing:
                from crm_sales.values import parse_period

                span, errors = web.attempt(uow, parse_period, closing, "closing")
            if not errors:
                rows, errors = web.attempt(uow, sales.opportunities.list, owner_id=owner_id, stage=stage or None,
                                       open_only=show == "open", closing=(span.start, span.end) if span else None)
        names = {c.id: c.name for c in uow.customers.get_many({o.customer_id for o in rows})}
        return web.page(request, uow, "sales/web/opportunities.html", rows=rows, customers=names, staff=user_names(uow),
                        labels=stage_labels(uow, locale), stages=sales.stages.all(), users=active_users(uow),
                        form={"owner": owner, "stage": stage, "closing": closing, "show": show}, errors=errors)


def _detail_page(request: Request, uow: Any, opportunity_id: int, *, status: int = 200, **extra: Any) -> Response[str]:
    _ = web.translator(request)
    locale = web.request_locale(request)
    sales = uow.service("sales")
    opportunity = sales.opportunities.get(opportunity_id)
    stages = sales.stages.all()
    labels = stage_labels(uow, locale)
    history = sales.opportunities.history(opportunity_id)
    relationship = sales.keypersons.relationship_map(opportunity_id=opportunity_id)
    marked = set(sales.opportunities.key_contact_ids(opportunity_id))
    contacts = uow.contacts.list(opportunity.customer_id)
    title = _("Key-person map")
    context: dict[str, Any] = {
        "move_form": {}, "move_errors": {}, "edit_errors": {}, "quote_form": {}, "quote_errors": {},
        "person_errors": {},
        "edit_form": {"name": opportunity.name, "amount": opportunity.amount, "expected_close": opportunity.expected_close or "",
                      "probability": opportunity.probability, "owner": (uow.users.find(opportunity.owner_id).username
                                                                         if opportunity.owner_id else ""),
                      "competitors": ", ".join(opportunity.competitors), "notes": opportunity.notes or "",
                      "source": opportunity.source},
    }
    context.update(extra)
    return web.page(
        request, uow, "sales/web/opportunity.html", status=status, opportunity=opportunity,
        view=opportunity_view(uow, opportunity), stage=next(s for s in sales.stages.all(include_inactive=True)
                                                            if s.code == opportunity.stage),
        next=next_stage(stages, opportunity.stage), stages=stages, labels=labels, history=history,
        quotes=sales.quotes.list(opportunity_id=opportunity_id), quote_statuses=STATUS_LABELS, staff=user_names(uow), users=active_users(uow),
        persons=relationship["key_persons"], marked=marked, warnings=relationship["warnings"],
        unmarked=[c for c in contacts if c.id not in marked],
        map=web.chart(map_svg(relationship), title) if relationship["key_persons"] else None, **context)


@web.get("/opportunities/{opportunity_id:int}")
def opportunity_detail(request: Request, opportunity_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _detail_page(request, uow, opportunity_id)


@web.post("/opportunities/{opportunity_id:int}/stage")
def opportunity_move(request: Request, opportunity_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        fields = {name: web.form_value(data, name) or None for name in ("probability", "reason", "note")}
        moved, errors = web.attempt(uow, uow.service("sales").opportunities.move, opportunity_id,
                                web.form_value(data, "to"), **fields)
        if errors:
            return _detail_page(request, uow, opportunity_id, status=422, move_form=dict(data), move_errors=errors)
        label = stage_labels(uow, web.request_locale(request))[moved.stage]
    return web.redirect(request, f"/sales/opportunities/{opportunity_id}",
                        _("%(name)s moved to %(stage)s.", name=moved.name, stage=label))


def _edit_fields(uow: Any, data: dict[str, Any], _: Any) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    owner = web.form_value(data, "owner")
    fields: dict[str, Any] = {name: web.form_value(data, name) for name in ("name", "amount", "expected_close", "notes", "source")}
    fields["amount"] = fields["amount"] or "0"
    fields["competitors"] = web.form_value(data, "competitors")
    fields["owner_id"] = user_id(uow, owner, "owner", errors, _("No user %(key)s.", key=owner))
    if web.form_value(data, "probability"):
        fields["probability"] = web.form_value(data, "probability")
    return fields, errors


@web.post("/opportunities/{opportunity_id:int}/edit")
def opportunity_update(request: Request, opportunity_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        service = uow.service("sales").opportunities
        fields, errors = _edit_fields(uow, data, _)
        if fields["owner_id"] is None:
            fields.pop("owner_id")
        if "probability" in fields and service.stages.by_code()[service.get(opportunity_id).stage].outcome != "open":
            fields.pop("probability")  # shown read-only on a closed deal's form
        if not errors:
            _changed, errors = web.attempt(uow, service.update, opportunity_id, **fields)
        if errors:
            return _detail_page(request, uow, opportunity_id, status=422, edit_form=dict(data), edit_errors=errors)
    return web.redirect(request, f"/sales/opportunities/{opportunity_id}", _("Opportunity saved."))


@web.post("/opportunities/{opportunity_id:int}/keypersons")
def key_person_add(request: Request, opportunity_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        contact = web.form_value(data, "contact")
        errors: dict[str, str] = {} if contact.isdigit() else {"contact": _("Choose a contact.")}
        if not errors:
            _done, errors = web.attempt(uow, uow.service("sales").opportunities.link_contact, opportunity_id, int(contact))
        if errors:
            return _detail_page(request, uow, opportunity_id, status=422, person_errors=errors)
    return web.redirect(request, f"/sales/opportunities/{opportunity_id}#keypersons", _("Key person added."))


@web.post("/opportunities/{opportunity_id:int}/keypersons/{contact_id:int}/remove")
def key_person_remove(request: Request, opportunity_id: FromPath[int], contact_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        _done, errors = web.attempt(uow, uow.service("sales").opportunities.unlink_contact, opportunity_id, contact_id)
        if errors:
            return _detail_page(request, uow, opportunity_id, status=422, person_errors=errors)
    return web.redirect(request, f"/sales/opportunities/{opportunity_id}#keypersons", _("Key person removed."))


def _new_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response[str]:
    locale = web.request_locale(request)
    stages = [s for s in uow.service("sales").stages.all() if s.outcome != "lost"]
    return web.page(request, uow, "sales/web/new.html", status=status, form=form, errors=errors, users=active_users(uow),
                    stages=[(s.code, stage_label(s, locale)) for s in stages])


@web.get("/opportunities/new")
def opportunity_new(request: Request, customer: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("sales.edit")
        return _new_page(request, uow, {"customer": customer, "owner": ""}, {})


@web.post("/opportunities/new")
def opportunity_create(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        fields, errors = _edit_fields(uow, data, _)
        found = customer_id(uow, web.form_value(data, "customer"), errors, _)
        fields["stage"] = web.form_value(data, "stage") or None
        fields["source"] = fields["source"] or None
        made = None
        if not errors:
            made, errors = web.attempt(uow, uow.service("sales").opportunities.add, found, **fields)
        if errors:
            return _new_page(request, uow, dict(data), errors, status=422)
    return web.redirect(request, f"/sales/opportunities/{made.id}", _("Opportunity %(name)s opened.", name=made.name))


@web.get("/customers/{customer_id:int}/map")
def customer_map(request: Request, customer_id: FromPath[int]) -> Response[str]:
    """A customer's key-person map (all its contacts)."""
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        relationship = uow.service("sales").keypersons.relationship_map(customer_id)
        title = _("Key-person map")
        return web.page(request, uow, "sales/web/map.html", data=relationship,
                        map=web.chart(map_svg(relationship), title) if relationship["key_persons"] else None)


HANDLERS: list[Any] = [pipeline, advance, opportunity_list, opportunity_new, opportunity_create, opportunity_detail,
                       opportunity_move, opportunity_update, key_person_add, key_person_remove, customer_map]
