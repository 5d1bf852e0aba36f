"""``crm sales ...``: opportunities, pipeline, forecast, stale rule, visit
plans, key persons and quotes."""

from __future__ import annotations

from typing import Any

import click

from crmcore import CLIState, pass_state

MEASURES = ("amount", "count", "weighted_amount")


def _user_id(uow: Any, key: str | None, field: str = "owner") -> int | None:
    if key in (None, ""):
        return None
    from crmcore import ValidationError

    user = uow.users.find(key)
    if user is None:
        raise ValidationError.field(field, f"no user {key!r}")
    return user.id


def _local(uow: Any, moment: Any) -> Any:
    from crm_sales.values import local_date

    return local_date(moment, uow.crm.config.timezone) if moment else None


def opportunity_view(uow: Any, opportunity: Any) -> dict[str, Any]:
    from crmcore.tables import customers
    from sqlalchemy import select

    stage = uow.service("sales").stages.by_code()[opportunity.stage]
    owner = uow.users.find(opportunity.owner_id) if opportunity.owner_id else None
    customer = uow.execute(select(customers.c.name).where(customers.c.id == opportunity.customer_id)).scalar()
    zone = uow.crm.config.timezone
    from zoneinfo import ZoneInfo

    def when(moment: Any) -> Any:
        return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes") if moment else None

    return {
        "id": opportunity.id, "customer_id": opportunity.customer_id, "customer": customer, "name": opportunity.name,
        "amount": opportunity.amount, "stage": opportunity.stage, "stage_label": stage.label, "outcome": stage.outcome,
        "probability": opportunity.probability, "weighted_amount": opportunity.weighted_amount,
        "expected_close": opportunity.expected_close, "owner": owner.username if owner else None,
        "source": opportunity.source, "competitors": opportunity.competitors, "lost_reason": opportunity.lost_reason,
        "notes": opportunity.notes, "created_at": when(opportunity.created_at), "closed_at": when(opportunity.closed_at),
    }


OPPORTUNITY_COLUMNS = ("id", "customer", "name", "amount", "stage_label", "probability", "weighted_amount", "expected_close", "owner")


@click.group()
def sales() -> None:
    """Sales force automation (销售): opportunities, pipeline, forecasts, visit plans, key persons, quotes."""


# -- opportunities -------------------------------------------------------------------


@sales.group("opportunity")
def opportunity() -> None:
    """Opportunities (商机): open, change, move through stages."""


@opportunity.command("add")
@click.argument("customer_id", type=int)
@click.option("--name", required=True, help="What is being sold, e.g. 总部大楼项目.")
@click.option("--amount", default="0", show_default=True, help="Expected amount in CNY (500000 or 50万).")
@click.option("--close", "expected_close", help="Expected close date, YYYY-MM-DD.")
@click.option("--stage", help="Starting stage (code or label); default the first open stage.")
@click.option("--probability", help="Win probability in percent; default the stage's.")
@click.option("--owner", help="Owning salesperson; default the customer's owner, else you.")
@click.option("--source", help="self (default), campaign:<name>, partner:<id>, referral …")
@click.option("--competitor", "competitors", multiple=True, help="A competitor in the deal; repeat for several.")
@click.option("--notes")
@click.option("--opened", help="When it was opened, for back-filling (YYYY-MM-DD); default now.")
@pass_state
def opportunity_add(state: CLIState, customer_id: int, owner: str | None, opened: str | None, **fields: Any) -> None:
    """Open an opportunity for a customer."""
    from crmcore import ValidationError
    from crm_sales.values import local_midnight, parse_day

    with state.uow() as uow:
        opened_at = None
        if opened:
            day = parse_day(opened, "opened")
            opened_at = local_midnight(day, uow.crm.config.timezone)
            if opened_at > uow.now:
                raise ValidationError.field("opened", "is in the future")
        created = uow.service("sales").opportunities.add(customer_id, owner_id=_user_id(uow, owner), opened_at=opened_at, **fields)
        view = opportunity_view(uow, created)
    state.emit(view, text=f"opened opportunity {view['id']} {view['name']} · {view['stage_label']} {view['probability']}% · ¥{view['amount']:,}")


@opportunity.command("list")
@click.option("--owner", help="Only this salesperson's.")
@click.option("--stage", help="Only this stage (code or label).")
@click.option("--customer", "customer_id", type=int, help="Only this customer's.")
@click.option("--open", "open_only", is_flag=True, help="Only open ones (not won or lost).")
@click.option("--closing", help="Expected to close in this period: 2026-12, 2026-Q4, 2026.")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="At most this many.")
@pass_state
def opportunity_list(state: CLIState, owner: str | None, stage: str | None, customer_id: int | None, open_only: bool,
                     closing: str | None, limit: int) -> None:
    """List opportunities, soonest expected close first."""
    from crm_sales.values import parse_period

    with state.uow() as uow:
        span = parse_period(closing, "closing") if closing else None
        found = uow.service("sales").opportunities.list(
            owner_id=_user_id(uow, owner), stage=stage, customer_id=customer_id, open_only=open_only,
            closing=(span.start, span.end) if span else None, limit=limit)
        rows = [opportunity_view(uow, o) for o in found]
    state.emit(rows, columns=OPPORTUNITY_COLUMNS)


@opportunity.command("show")
@click.argument("opportunity_id", type=int)
@pass_state
def opportunity_show(state: CLIState, opportunity_id: int) -> None:
    """Show an opportunity with its stage history, quotes and key persons."""
    from crmcore.cli.context import render_fields, render_table

    with state.uow() as uow:
        sales_ = uow.service("sales")
        opp = sales_.opportunities.get(opportunity_id)
        view = opportunity_view(uow, opp)
        view["history"] = [_change_view(uow, c) for c in sales_.opportunities.history(opportunity_id)]
        view["quotes"] = [_quote_row(q) for q in sales_.quotes.list(opportunity_id=opportunity_id)]
        view["key_persons"] = sales_.keypersons.relationship_map(opportunity_id=opportunity_id)["key_persons"]

    def text() -> str:
        head = {k: v for k, v in view.items() if k not in ("history", "quotes", "key_persons")}
        return "\n".join([
            render_fields(head), "", "Stage history",
            render_table(view["history"], ("at", "from_stage", "to_stage", "probability", "actor", "note")),
            "", "Quotes", render_table(view["quotes"], ("id", "number", "version", "status", "total", "valid_until")),
            "", "Key persons", render_table(view["key_persons"], ("contact_id", "name", "title", "decision_role_label", "relationship_label", "staff")),
        ])

    state.emit(view, text=text)


def _change_view(uow: Any, change: dict[str, Any]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    return {"at": change["at"].astimezone(ZoneInfo(uow.crm.config.timezone)).isoformat(timespec="minutes"),
            "from_stage": change["from_stage"], "to_stage": change["to_stage"], "probability": change["probability"],
            "actor": change["actor"], "note": change["note"]}


@opportunity.command("edit")
@click.argument("opportunity_id", type=int)
@click.option("--name")
@click.option("--amount", help="Amount in CNY.")
@click.option("--close", "expected_close", help="Expected close date, YYYY-MM-DD.")
@click.option("--probability", help="Win probability in percent (open opportunities).")
@click.option("--owner", help="Hand the opportunity to another salesperson.")
@click.option("--source")
@click.option("--competitor", "competitors", multiple=True, help="Competitors; replaces the list. Repeat for several.")
@click.option("--add-competitor", "add_competitors", multiple=True, help="Add a competitor, keeping the others.")
@click.option("--notes")
@pass_state
def opportunity_edit(state: CLIState, opportunity_id: int, owner: str | None, competitors: tuple[str, ...],
                     add_competitors: tuple[str, ...], **fields: Any) -> None:
    """Change an opportunity's fields (use `stage` to move it)."""
    with state.uow() as uow:
        service = uow.service("sales").opportunities
        changes = {k: v for k, v in fields.items() if v is not None}
        if owner:
            changes["owner_id"] = _user_id(uow, owner)
        if competitors or add_competitors:
            base = list(competitors) if competitors else service.get(opportunity_id).competitors
            changes["competitors"] = [*base, *add_competitors]
        changed = service.update(opportunity_id, **changes)
        view = opportunity_view(uow, changed)
    state.emit(view, text=f"opportunity {opportunity_id} saved")


@opportunity.command("stage")
@click.argument("opportunity_id", type=int)
@click.option("--to", "to", required=True, help="Target stage: code (proposal) or label (方案报价).")
@click.option("--probability", help="Override the stage's default probability (open stages).")
@click.option("--reason", help="Why it was lost (required for lost).")
@click.option("--note", help="A note kept with the change.")
@pass_state
def opportunity_stage(state: CLIState, opportunity_id: int, to: str, probability: str | None, reason: str | None,
                      note: str | None) -> None:
    """Move an opportunity to another stage; the change is kept with time and actor."""
    with state.uow() as uow:
        before = uow.service("sales").opportunities.get(opportunity_id).stage
        moved = uow.service("sales").opportunities.move(opportunity_id, to, probability=probability, reason=reason, note=note)
        view = opportunity_view(uow, moved)
        view["from_stage"] = before
    state.emit(view, text=f"opportunity {opportunity_id}: {before} → {view['stage']} ({view['stage_label']}), probability {view['probability']}%")


@opportunity.command("history")
@click.argument("opportunity_id", type=int)
@pass_state
def opportunity_history(state: CLIState, opportunity_id: int) -> None:
    """Every stage change of an opportunity, with time and actor."""
    with state.uow() as uow:
        rows = [_change_view(uow, c) for c in uow.service("sales").opportunities.history(opportunity_id)]
    state.emit(rows, columns=("at", "from_stage", "to_stage", "probability", "actor", "note"))


@opportunity.command("keyperson")
@click.argument("opportunity_id", type=int)
@click.argument("contact_id", type=int)
@click.option("--remove", is_flag=True, help="Remove the contact from the deal's key persons.")
@pass_state
def opportunity_keyperson(state: CLIState, opportunity_id: int, contact_id: int, remove: bool) -> None:
    """Mark a contact of the customer as a key person of this deal."""
    with state.uow() as uow:
        service = uow.service("sales").opportunities
        if remove:
            service.unlink_contact(opportunity_id, contact_id)
        else:
            service.link_contact(opportunity_id, contact_id)
        ids = service.key_contact_ids(opportunity_id)
    state.emit({"opportunity_id": opportunity_id, "key_contact_ids": ids},
               text=f"opportunity {opportunity_id} key persons: {', '.join(map(str, ids)) or '(none)'}")


@opportunity.command("log")
@click.argument("opportunity_id", type=int)
@click.option("--type", "type_", default="visit", show_default=True, help="Activity type: visit, call, meeting, email …")
@click.option("--subject", required=True)
@click.option("--body", help="The report (拜访小结).")
@click.option("--at", "occurred_at", help="When it happened (default now), e.g. 2026-12-08T10:00.")
@click.option("--contact", "contact_id", type=int, help="The contact met.")
@pass_state
def opportunity_log(state: CLIState, opportunity_id: int, type_: str, occurred_at: str | None, **fields: Any) -> None:
    """Log an activity on the opportunity's customer, linked to the opportunity."""
    from crm_sales.values import parse_moment

    with state.uow() as uow:
        opp = uow.service("sales").opportunities.get(opportunity_id)
        extra = {k: v for k, v in fields.items() if v is not None}
        if occurred_at:
            extra["occurred_at"] = parse_moment(occurred_at, uow.crm.config.timezone)
        logged = uow.activities.log(opp.customer_id, type=type_, payload={"opportunity_id": opportunity_id}, **extra)
    state.emit({"activity_id": logged.id, "opportunity_id": opportunity_id, "customer_id": logged.customer_id, "type": logged.type},
               text=f"logged {logged.type} {logged.id} on customer {logged.customer_id} for opportunity {opportunity_id}")


# -- stages --------------------------------------------------------------------------


@sales.group("stages")
def stages_group() -> None:
    """The pipeline's stages and their default probabilities."""


@stages_group.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include retired stages.")
@pass_state
def stages_list(state: CLIState, include_inactive: bool) -> None:
    """List the pipeline's stages in order."""
    import attrs

    with state.uow() as uow:
        rows = [attrs.asdict(s) for s in uow.service("sales").stages.all(include_inactive=include_inactive)]
    state.emit(rows, columns=("position", "code", "label", "label_en", "probability", "outcome", "active"))


@stages_group.command("set")
@click.argument("code")
@click.option("--label", help="Chinese label, e.g. 方案报价.")
@click.option("--label-en", help="English label.")
@click.option("--probability", help="Default win probability in percent.")
@click.option("--position", type=int, help="Order in the pipeline.")
@click.option("--outcome", type=click.Choice(["open", "won", "lost"]), help="open (default), won or lost.")
@click.option("--retire/--restore", "retire", default=None, help="Retire a stage (no new moves into it) or bring it back.")
@pass_state
def stages_set(state: CLIState, code: str, retire: bool | None, **fields: Any) -> None:
    """Add a stage, or change one's label, probability or position."""
    import attrs

    with state.uow() as uow:
        stage = uow.service("sales").stages.set(code, active=None if retire is None else not retire, **fields)
    state.emit(attrs.asdict(stage), text=f"stage {stage.code} ({stage.label}) {stage.probability}% saved")


# -- pipeline, forecast, performance, stale -------------------------------------------


@sales.command("pipeline")
@click.option("--owner", help="Only this salesperson's.")
@click.option("--by-owner", is_flag=True, help="Print the per-owner breakdown too.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Write the funnel chart (.svg, or .png with cairosvg).")
@click.option("--measure", type=click.Choice(MEASURES), default="amount", show_default=True, help="What the funnel shows.")
@pass_state
def pipeline(state: CLIState, owner: str | None, by_owner: bool, chart: str | None, measure: str) -> None:
    """Pipeline by stage (and owner): count, amount, weighted amount."""
    from crmcore import funnel_chart, save_chart
    from crmcore.cli.context import render_fields, render_table

    with state.uow() as uow:
        reports = uow.service("sales").reports
        data = reports.pipeline(owner_id=_user_id(uow, owner))
        if chart:
            labels, values = reports.funnel(data, measure)
            path = save_chart(funnel_chart(f"销售漏斗 Pipeline ({measure})", labels, values), chart)
            data["chart"] = str(path)

    def text() -> str:
        parts = [render_table(data["stages"], ("stage", "label", "count", "amount", "weighted_amount")), "", render_fields(data["total"])]
        if by_owner:
            parts += ["", render_table(data["owners"], ("owner", "label", "count", "amount", "weighted_amount"))]
        if chart:
            parts += ["", f"chart: {data['chart']}"]
        return "\n".join(parts)

    state.emit(data, text=text)


@sales.command("forecast")
@click.option("--period", help="2026-12, 2026-Q4, 2026-H2 or 2026; default this quarter.")
@click.option("--owner", help="Only this salesperson's.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Write a bar chart of the forecast per month (.svg).")
@pass_state
def forecast(state: CLIState, period: str | None, owner: str | None, chart: str | None) -> None:
    """Forecast per month: weighted open amounts by expected close date, plus what was won."""
    from crmcore import bar_chart, save_chart
    from crmcore.cli.context import render_fields, render_table

    with state.uow() as uow:
        data = uow.service("sales").reports.forecast(period, owner_id=_user_id(uow, owner))
        if chart:
            svg = bar_chart(f"销售预测 Forecast {data['period']}", [m["month"] for m in data["months"]],
                            [float(m["forecast"]) for m in data["months"]], unit=" 元")
            data["chart"] = str(save_chart(svg, chart))

    def text() -> str:
        columns = ("month", "open_count", "amount", "weighted_amount", "won_count", "won_amount", "forecast")
        parts = [f"forecast {data['period']} ({data['from']} – {data['to']})",
                 render_table([*data["months"], {"month": "total", **data["total"]}], columns), "",
                 render_table(data["owners"], ("owner", *columns[1:]))]
        if data["open_without_close_date"]:
            parts += ["", f"{data['open_without_close_date']} open opportunities have no expected close date and are not counted"]
        return "\n".join(parts)

    state.emit(data, text=text)


@sales.command("performance")
@click.option("--period", help="Count opportunities closed in this period (2026-Q4 …); default all time.")
@click.option("--owner", help="Only this salesperson.")
@pass_state
def performance(state: CLIState, period: str | None, owner: str | None) -> None:
    """Win rate and average cycle time (days from opening to won) per owner."""
    with state.uow() as uow:
        rows = uow.service("sales").reports.performance(period, owner_id=_user_id(uow, owner))
    state.emit(rows, columns=("owner", "open", "open_amount", "won", "lost", "win_rate", "won_amount", "avg_won_amount", "avg_cycle_days"))


@sales.command("stale")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True, help="Idle days that make an open opportunity stale.")
@click.option("--owner", help="Only this salesperson's.")
@click.option("--notify/--no-notify", default=True, show_default=True, help="Notify the owners' managers through the outbox.")
@click.option("--per", type=click.Choice(["month", "week"]), default="month", show_default=True,
              help="Each stale opportunity is reported to a manager at most once per period.")
@pass_state
def stale(state: CLIState, days: int, owner: str | None, notify: bool, per: str) -> None:
    """Open opportunities with no activity for N days, per owner; managers are notified."""
    from crmcore.cli.context import render_table

    with state.uow() as uow:
        data = uow.service("sales").reports.stale(days, notify=notify, per=per, owner_id=_user_id(uow, owner))

    def text() -> str:
        if not data["stale"]:
            return f"no open opportunity idle for {days} days or more"
        parts = [render_table(data["stale"], ("owner", "id", "name", "customer", "stage_label", "amount", "last_activity", "days_idle", "managers")),
                 "", render_table(data["owners"], ("owner", "count", "amount", "managers"))]
        for sent in data["notified"]:
            parts.append(f"notified {sent['manager']} of {len(sent['opportunity_ids'])} opportunities (outbox {sent['outbox_id']})")
        if notify and not data["notified"]:
            parts.append(f"no new notices: every stale opportunity was already reported this period ({data['period']}) or has no manager")
        return "\n".join(parts)

    state.emit(data, text=text)


# -- visit plans -----------------------------------------------------------------------


@sales.group("plan")
def plan() -> None:
    """Monthly visit plans (拜访计划) and plan versus actual."""


@plan.command("add")
@click.option("--user", required=True, help="The salesperson who will visit.")
@click.option("--month", required=True, help="The plan's month, 2026-12.")
@click.option("--customer", "customer_id", type=int, required=True, help="Customer id.")
@click.option("--purpose", required=True, help="Purpose of the visit, e.g. 方案汇报.")
@click.option("--date", "planned_date", required=True, help="Planned date in the month, YYYY-MM-DD.")
@click.option("--opportunity", "opportunity_id", type=int, help="The opportunity the visit serves.")
@pass_state
def plan_add(state: CLIState, **fields: Any) -> None:
    """Plan a visit."""
    with state.uow() as uow:
        made = uow.service("sales").plans.add(**fields)
        view = {"id": made.id, "user": fields["user"], "month": made.month, "customer_id": made.customer_id,
                "purpose": made.purpose, "planned_date": made.planned_date, "opportunity_id": made.opportunity_id}
    state.emit(view, text=f"planned visit {made.id}: {fields['user']} → customer {made.customer_id} on {made.planned_date} ({made.purpose})")


@plan.command("list")
@click.option("--user", help="Only this salesperson's.")
@click.option("--month", help="Only this month, 2026-12.")
@pass_state
def plan_list(state: CLIState, user: str | None, month: str | None) -> None:
    """Planned visits with the visit that fulfilled each (done, missed, planned)."""
    from crm_sales.values import parse_month

    with state.uow() as uow:
        rows, extra = uow.service("sales").plans.matched(user_id=_user_id(uow, user, "user"), month=parse_month(month) if month else None)
    state.emit({"plans": rows, "unplanned_visits": extra} if state.as_json else rows,
               columns=("id", "user", "month", "planned_date", "customer", "purpose", "status", "visited_on", "report"))


@plan.command("report")
@click.option("--user", help="Only this salesperson.")
@click.option("--month", help="Only this month, 2026-12.")
@pass_state
def plan_report(state: CLIState, user: str | None, month: str | None) -> None:
    """Plan versus actual per person and month."""
    from crm_sales.values import parse_month

    with state.uow() as uow:
        rows = uow.service("sales").plans.report(user_id=_user_id(uow, user, "user"), month=parse_month(month) if month else None)
    state.emit(rows, columns=("month", "user", "planned", "done", "missed", "pending", "completion_rate", "unplanned_visits", "without_report"))


@plan.command("remove")
@click.argument("plan_id", type=int)
@pass_state
def plan_remove(state: CLIState, plan_id: int) -> None:
    """Remove a planned visit."""
    with state.uow() as uow:
        removed = uow.service("sales").plans.remove(plan_id)
    state.emit({"id": removed.id, "removed": True}, text=f"removed visit plan {removed.id}")


# -- key persons ------------------------------------------------------------------------


@sales.command("keypersons")
@click.argument("customer_id", type=int, required=False)
@click.option("--opportunity", "opportunity_id", type=int, help="The map of one opportunity's key persons.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Write the relationship map (.svg).")
@pass_state
def keypersons(state: CLIState, customer_id: int | None, opportunity_id: int | None, chart: str | None) -> None:
    """Key persons and their relationship with us (关键人物关系图), per customer or opportunity."""
    from crmcore import ValidationError, save_chart
    from crmcore.cli.context import render_table

    from crm_sales.keypersons import map_svg

    if customer_id is None and opportunity_id is None:
        raise click.UsageError("give a CUSTOMER_ID or --opportunity")
    with state.uow() as uow:
        data = uow.service("sales").keypersons.relationship_map(customer_id, opportunity_id=opportunity_id)
        if customer_id is not None and data["customer_id"] != customer_id:
            raise ValidationError.field("opportunity", f"opportunity {opportunity_id} is not for customer {customer_id}")
        if chart:
            data["chart"] = str(save_chart(map_svg(data), chart))

    def text() -> str:
        title = data["customer"] + (f" · {data['opportunity']}" if data["opportunity"] else "")
        parts = [title, render_table(data["key_persons"], ("contact_id", "name", "title", "decision_role_label", "relationship_label", "staff"))]
        parts += [f"! {w}" for w in data["warnings"]]
        if chart:
            parts.append(f"chart: {data['chart']}")
        return "\n".join(parts)

    state.emit(data, text=text)


# -- quotes -----------------------------------------------------------------------------


def _quote_row(quote: Any) -> dict[str, Any]:
    return {"id": quote.id, "number": quote.number, "version": quote.version, "opportunity_id": quote.opportunity_id,
            "customer_id": quote.customer_id, "status": quote.status, "valid_until": quote.valid_until,
            "subtotal": quote.subtotal, "discount_total": quote.discount_total, "total": quote.total}


def _quote_view(quote: Any) -> dict[str, Any]:
    view = _quote_row(quote)
    view.update({"notes": quote.notes, "decision_note": quote.decision_note, "created_by": quote.created_by,
                 "lines": [{"position": l.position, "product": l.product, "quantity": _plain(l.quantity), "unit_price": l.unit_price,
                            "discount": l.discount, "amount": l.amount} for l in quote.lines]})
    return view


def _plain(number: Any) -> Any:
    """3.000 → 3, 2.500 → 2.5 (quantities)."""
    from decimal import Decimal

    if isinstance(number, Decimal):
        return number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    return number


def _quote_text(view: dict[str, Any]) -> str:
    from crmcore.cli.context import render_fields, render_table

    head = {k: v for k, v in view.items() if k != "lines"}
    return "\n".join([render_fields(head), "", render_table(view["lines"], ("position", "product", "quantity", "unit_price", "discount", "amount"))])


@sales.group("quote")
def quote() -> None:
    """Quotes (报价单): lines, discounts, versions, send, accept or reject, render."""


@quote.command("add")
@click.argument("opportunity_id", type=int)
@click.option("--line", "lines", multiple=True, metavar="PRODUCT,QTY,PRICE[,DISCOUNT]",
              help="A line, e.g. '服务器,2,50000,10%' (discount 10%, or 9折); repeat for several.")
@click.option("--valid-until", help="Last valid day, YYYY-MM-DD.")
@click.option("--valid-days", type=int, help="Valid for N days from today (default 30).")
@click.option("--notes", help="Terms and notes printed on the quote.")
@pass_state
def quote_add(state: CLIState, opportunity_id: int, lines: tuple[str, ...], **fields: Any) -> None:
    """Draft a quote (version 1) for an opportunity."""
    from crm_sales.quotes import parse_line

    with state.uow() as uow:
        made = uow.service("sales").quotes.add(opportunity_id, lines=[parse_line(l) for l in lines], **fields)
        view = _quote_view(made)
    state.emit(view, text=lambda: f"drafted quote {made.id} ({made.number} v{made.version}), total ¥{made.total:,}\n\n" + _quote_text(view))


@quote.command("line")
@click.argument("quote_id", type=int)
@click.option("--product", required=True)
@click.option("--qty", "quantity", required=True, help="Quantity.")
@click.option("--price", "unit_price", required=True, help="Unit price in CNY.")
@click.option("--discount", help="Discount: 10 or 10% off, or 9折.")
@pass_state
def quote_line(state: CLIState, quote_id: int, **fields: Any) -> None:
    """Add a line to a draft quote."""
    with state.uow() as uow:
        view = _quote_view(uow.service("sales").quotes.add_line(quote_id, **fields))
    state.emit(view, text=lambda: _quote_text(view))


@quote.command("remove-line")
@click.argument("quote_id", type=int)
@click.argument("position", type=int)
@pass_state
def quote_remove_line(state: CLIState, quote_id: int, position: int) -> None:
    """Remove a line (by its number) from a draft quote."""
    with state.uow() as uow:
        view = _quote_view(uow.service("sales").quotes.remove_line(quote_id, position))
    state.emit(view, text=lambda: _quote_text(view))


@quote.command("list")
@click.option("--opportunity", "opportunity_id", type=int)
@click.option("--customer", "customer_id", type=int)
@click.option("--status", type=click.Choice(["draft", "sent", "accepted", "rejected", "superseded"]))
@pass_state
def quote_list(state: CLIState, **filters: Any) -> None:
    """List quotes."""
    with state.uow() as uow:
        rows = [_quote_row(q) for q in uow.service("sales").quotes.list(**filters)]
    state.emit(rows, columns=("id", "number", "version", "opportunity_id", "status", "valid_until", "total"))


@quote.command("show")
@click.argument("quote_id", type=int)
@pass_state
def quote_show(state: CLIState, quote_id: int) -> None:
    """Show a quote with its lines."""
    with state.uow() as uow:
        view = _quote_view(uow.service("sales").quotes.get(quote_id))
    state.emit(view, text=lambda: _quote_text(view))


@quote.command("send")
@click.argument("quote_id", type=int)
@click.option("--email", is_flag=True, help="Also e-mail the rendered quote to the customer (through the outbox).")
@pass_state
def quote_send(state: CLIState, quote_id: int, email: bool) -> None:
    """Mark a draft quote sent."""
    with state.uow() as uow:
        view = _quote_view(uow.service("sales").quotes.send(quote_id, email=email))
    state.emit(view, text=f"quote {quote_id} sent" + (" (e-mail queued)" if email else ""))


@quote.command("accept")
@click.argument("quote_id", type=int)
@click.option("--win/--no-win", default=True, show_default=True, help="Move the opportunity to won at the quote's total.")
@click.option("--note")
@pass_state
def quote_accept(state: CLIState, quote_id: int, win: bool, note: str | None) -> None:
    """Record that the customer accepted a quote."""
    with state.uow() as uow:
        sales_ = uow.service("sales")
        accepted = sales_.quotes.accept(quote_id, win=win, note=note)
        view = _quote_view(accepted)
        opp = sales_.opportunities.get(accepted.opportunity_id)
        view["opportunity"] = {"id": opp.id, "stage": opp.stage, "amount": opp.amount, "probability": opp.probability}
    state.emit(view, text=f"quote {quote_id} accepted; opportunity {opp.id} is {opp.stage} at ¥{opp.amount:,}")


@quote.command("reject")
@click.argument("quote_id", type=int)
@click.option("--reason")
@pass_state
def quote_reject(state: CLIState, quote_id: int, reason: str | None) -> None:
    """Record that the customer rejected a quote."""
    with state.uow() as uow:
        view = _quote_view(uow.service("sales").quotes.reject(quote_id, reason=reason))
    state.emit(view, text=f"quote {quote_id} rejected")


@quote.command("revise")
@click.argument("quote_id", type=int)
@click.option("--valid-until", help="Last valid day of the new version.")
@click.option("--valid-days", type=int, help="Valid for N days from today (default 30).")
@pass_state
def quote_revise(state: CLIState, quote_id: int, **fields: Any) -> None:
    """Make a new draft version of a quote (same number, lines copied)."""
    with state.uow() as uow:
        made = uow.service("sales").quotes.revise(quote_id, **fields)
        view = _quote_view(made)
    state.emit(view, text=f"quote {made.id} is version {made.version} of {made.number} (draft)")


@quote.command("render")
@click.argument("quote_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to FILE (.html, or .pdf with WeasyPrint); default print HTML.")
@pass_state
def quote_render(state: CLIState, quote_id: int, output: str | None) -> None:
    """Render a quote to HTML (print it to PDF from a browser) or PDF."""
    with state.uow() as uow:
        quotes_ = uow.service("sales").quotes
        if output:
            path = quotes_.write(quote_id, output)
        else:
            html = quotes_.render(quote_id)
    if output:
        state.emit({"quote_id": quote_id, "path": str(path)}, text=f"wrote {path}")
    else:
        state.emit({"quote_id": quote_id, "html": html}, text=html)
