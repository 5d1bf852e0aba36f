"""``crm partners ...``: partner relationship management from the command line."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

import click

from crmcore import CLIState, pass_state, render_fields, render_table


def _date(value: str | None, field: str) -> date | None:
    from crmcore import ValidationError

    if value in (None, ""):
        return None
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError.field(field, f"{value!r} is not a date (use 2026-06-30)") from None


def _moment(value: str | None, zone: str) -> datetime | None:
    from zoneinfo import ZoneInfo

    from crmcore import ValidationError

    if value in (None, ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationError.field("now", f"{value!r} is not a time (use 2026-06-30T09:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(timezone.utc)


def _service(uow: Any, permission: str | None = "partners.view") -> Any:
    if permission:
        uow.require(permission)
    return uow.service("partners")


def _money(value: Any) -> str:
    return "" if value is None else f"{value:,.2f}"


@click.group()
def partners():
    """Partner relationship management (伙伴关系管理): partners, agreements,
    deal registration, lead assignment, commissions and scorecards."""


# ---------------------------------------------------------------------------
# Partners
# ---------------------------------------------------------------------------


def _partner_text(p: dict[str, Any]) -> str:
    lines = [f"partner {p['id']}  {p['name']}  [{p['code']}]",
             f"  type      {p['type_label']} ({p['type']})",
             f"  grade     {p['grade'] or '-'}" + (f" (weight {p['grade_weight']})" if p["grade_weight"] else ""),
             f"  status    {p['status_label']} ({p['status']})",
             f"  territory {', '.join(p['territories']) or '全国 (everywhere)'}",
             f"  industries {', '.join(p['industries']) or '-'}",
             f"  manager   {p['manager'] or '-'}"]
    if p.get("max_open_leads"):
        lines.append(f"  max leads {p['max_open_leads']}")
    for key in ("agreements", "history"):
        if p.get(key):
            lines.append(f"  {key}:")
            for item in p[key]:
                if key == "agreements":
                    lines.append(f"    #{item['id']} {item['starts_on']}..{item['ends_on']} {item['commission']} [{item['state']}]")
                else:
                    lines.append(f"    {item['at']:%Y-%m-%d %H:%M} {item['from'] or '-'} → {item['to']} {item['reason'] or ''} ({item['by']})")
    return "\n".join(lines)


@partners.command("add")
@click.argument("customer_id", type=int)
@click.option("--type", "type_", required=True, help="Partner type: reseller/经销商, distributor, agent, supplier, service_provider, alliance_merchant, or one added with `partners type add`.")
@click.option("--grade", help="Grade name, e.g. 金牌, 银牌, 铜牌 (see `partners grade list`).")
@click.option("--territory", multiple=True, help="Place the partner covers (city, province or region); repeat or separate with commas.")
@click.option("--industry", multiple=True, help="Industry the partner covers; repeat or separate with commas.")
@click.option("--manager", help="Channel manager: a user name.")
@click.option("--status", default="active", show_default=True,
              type=click.Choice(["recruiting", "onboarding", "active", "under_review"]), help="Starting lifecycle status.")
@click.option("--max-leads", type=int, help="Most open leads the partner takes at once.")
@click.option("--notes", help="Free notes.")
@pass_state
def add(state: CLIState, customer_id: int, type_: str, grade: str | None, territory: tuple[str, ...], industry: tuple[str, ...],
        manager: str | None, status: str, max_leads: int | None, notes: str | None):
    """Mark organisation CUSTOMER_ID as a partner."""
    with state.uow() as uow:
        partner = _service(uow, None).add(customer_id, type=type_, grade=grade, territories=territory, industries=industry,
                                          manager=manager, status=status, max_open_leads=max_leads, notes=notes)
    state.emit(partner, text=lambda: _partner_text(partner))


@partners.command("update")
@click.argument("partner_id", type=int)
@click.option("--type", "type_", help="New partner type.")
@click.option("--grade", help="New grade name.")
@click.option("--territory", multiple=True, help="Replace the territory (repeat or comma-separate).")
@click.option("--industry", multiple=True, help="Replace the industries.")
@click.option("--manager", help="New channel manager (user name).")
@click.option("--max-leads", type=int, help="Most open leads at once.")
@click.option("--notes", help="Free notes.")
@click.option("--reason", help="Why (kept in the audit trail), e.g. for a grade change.")
@pass_state
def update_partner(state: CLIState, partner_id: int, type_, grade, territory, industry, manager, max_leads, notes, reason):
    """Change a partner's type, grade, territory, industries, manager or capacity."""
    with state.uow() as uow:
        partner = _service(uow, None).update(
            partner_id, reason=reason, type=type_, grade=grade, territories=territory or None, industries=industry or None,
            manager=manager, max_open_leads=max_leads, notes=notes)
    state.emit(partner, text=lambda: _partner_text(partner))


@partners.command("status")
@click.argument("partner_id", type=int)
@click.argument("status")
@click.option("--reason", help="Why; required to terminate.")
@pass_state
def set_status(state: CLIState, partner_id: int, status: str, reason: str | None):
    """Move a partner to STATUS: recruiting, onboarding, active, under_review, terminated."""
    with state.uow() as uow:
        partner = _service(uow, None).set_status(partner_id, status, reason)
    state.emit(partner, text=lambda: _partner_text(partner) + "".join(
        f"\n  lead {m['lead_id']} → {m.get('partner') or 'unassigned'} ({m['note']})" for m in partner["reassigned"]))


@partners.command("show")
@click.argument("partner_id", type=int)
@pass_state
def show(state: CLIState, partner_id: int):
    """Show a partner with its agreements and status history."""
    with state.uow() as uow:
        service = _service(uow)
        partner = service.get(partner_id)
        partner["agreements"] = service.agreements(partner_id)
        partner["history"] = service.history(partner_id)
    state.emit(partner, text=lambda: _partner_text(partner))


@partners.command("list")
@click.option("--status", help="Only this lifecycle status.")
@click.option("--type", "type_", help="Only this type.")
@click.option("--grade", help="Only this grade.")
@click.option("--manager", help="Only partners of this channel manager.")
@pass_state
def list_partners(state: CLIState, status, type_, grade, manager):
    """List partners."""
    with state.uow() as uow:
        rows = _service(uow).list(status=status, type=type_, grade=grade, manager=manager)
    state.emit(rows, columns=["id", "name", "type_label", "grade", "status", "territories", "manager"])


# ---------------------------------------------------------------------------
# Types, grades and settings
# ---------------------------------------------------------------------------


@partners.group("type")
def type_group():
    """Partner types (configurable)."""


@type_group.command("list")
@pass_state
def type_list(state: CLIState):
    """List partner types."""
    with state.uow() as uow:
        rows = _service(uow).types()
    state.emit(rows, columns=["code", "label"])


@type_group.command("add")
@click.argument("code")
@click.argument("label")
@pass_state
def type_add(state: CLIState, code: str, label: str):
    """Add a partner type CODE with a LABEL, e.g. `oem OEM厂商`."""
    with state.uow() as uow:
        row = _service(uow, None).add_type(code, label)
    state.emit(row)


@partners.group("grade")
def grade_group():
    """Partner grades with weights and requirements (configurable)."""


@grade_group.command("list")
@pass_state
def grade_list(state: CLIState):
    """List grades, best first."""
    with state.uow() as uow:
        rows = _service(uow).grades()
    state.emit(rows, columns=["name", "weight", "min_revenue", "min_win_rate"])


@grade_group.command("add")
@click.argument("name")
@click.option("--weight", type=int, required=True, help="Weight in lead assignment; higher is better.")
@click.option("--min-revenue", default="0", show_default=True, help="Yearly won revenue needed to hold the grade.")
@click.option("--min-win-rate", help="Win rate needed, e.g. 30%.")
@pass_state
def grade_add(state: CLIState, name: str, weight: int, min_revenue: str, min_win_rate: str | None):
    """Add a grade."""
    with state.uow() as uow:
        row = _service(uow, None).add_grade(name, weight, min_revenue, min_win_rate)
    state.emit(row)


@grade_group.command("set")
@click.argument("name")
@click.option("--weight", type=int, help="New weight.")
@click.option("--min-revenue", help="New yearly revenue requirement.")
@click.option("--min-win-rate", help="New win rate requirement ('' to drop it).")
@pass_state
def grade_set(state: CLIState, name: str, weight: int | None, min_revenue: str | None, min_win_rate: str | None):
    """Change a grade's weight or requirements."""
    with state.uow() as uow:
        row = _service(uow, None).update_grade(name, weight=weight, min_revenue=min_revenue, min_win_rate=min_win_rate)
    state.emit(row)


@partners.command("settings")
@click.argument("key", required=False)
@click.argument("value", required=False)
@pass_state
def settings(state: CLIState, key: str | None, value: str | None):
    """Show settings, or set KEY to VALUE: protection_days, accept_hours,
    auto_approve (clean|never), remind_days (60,30,7), reminder_cc (e-mail),
    notes_retention_years (0 keeps notes of closed registrations)."""
    with state.uow() as uow:
        service = _service(uow)
        if key is None:
            data = service.settings()
        elif value is None:
            data = {key: service.setting(key)}
        else:
            data = service.set_setting(key, value)
    state.emit(data)


# ---------------------------------------------------------------------------
# Agreements
# ---------------------------------------------------------------------------


@partners.group("agreement")
def agreement():
    """Partner agreements: dates, territory, product lines, discount and commission terms."""


AGREEMENT_COLUMNS = ["id", "partner_id", "partner", "starts_on", "ends_on", "state", "commission", "discount", "product_lines", "days_left"]


@agreement.command("add")
@click.argument("partner_id", type=int)
@click.option("--from", "starts", required=True, help="First day, e.g. 2026-01-01.")
@click.option("--to", "ends", required=True, help="Last day, e.g. 2026-12-31.")
@click.option("--commission", required=True, help="Percent (8%) or tiers by the period's won revenue (0:5%,500000:8%,1000000:10%).")
@click.option("--tiers-apply", type=click.Choice(["marginal", "whole"]), default="marginal", show_default=True,
              help="marginal: each band's rate on the revenue in the band; whole: the reached tier's rate on all revenue.")
@click.option("--discount", help="Purchase discount granted to the partner, e.g. 15%.")
@click.option("--territory", multiple=True, help="Territory of the agreement [default: the partner's].")
@click.option("--product", multiple=True, help="Product line the agreement covers [default: all].")
@click.option("--remind", help="Renewal reminders, days before the end [default: setting remind_days], e.g. 60,30,7.")
@pass_state
def agreement_add(state: CLIState, partner_id, starts, ends, commission, tiers_apply, discount, territory, product, remind):
    """Sign an agreement with a partner."""
    with state.uow() as uow:
        row = _service(uow, None).add_agreement(
            partner_id, starts_on=_date(starts, "from"), ends_on=_date(ends, "to"), commission=commission, tiers_apply=tiers_apply,
            discount=discount, territories=territory, product_lines=product, remind_days=remind)
    state.emit(row, text=lambda: f"agreement {row['id']} with partner {partner_id}: {row['starts_on']}..{row['ends_on']}, "
                                 f"commission {row['commission']}" + (f", discount {row['discount']}%" if row["discount"] is not None else "")
                                 + f" [{row['state']}]")


@agreement.command("list")
@click.argument("partner_id", type=int, required=False)
@click.option("--expiring", type=int, metavar="DAYS", help="Only active agreements ending within DAYS.")
@click.option("--current", is_flag=True, help="Only active and scheduled agreements.")
@pass_state
def agreement_list(state: CLIState, partner_id, expiring, current):
    """List agreements (terminated and expired ones are kept)."""
    with state.uow() as uow:
        rows = _service(uow).agreements(partner_id, expiring_within=expiring, include_ended=not current)
    state.emit(rows, columns=AGREEMENT_COLUMNS)


@agreement.command("terminate")
@click.argument("agreement_id", type=int)
@click.option("--reason", required=True, help="Why the agreement ends early.")
@click.option("--on", "on", help="Termination date [default: today].")
@pass_state
def agreement_terminate(state: CLIState, agreement_id, reason, on):
    """Terminate an agreement early (it stays on record)."""
    with state.uow() as uow:
        row = _service(uow, None).terminate_agreement(agreement_id, reason, _date(on, "on"))
    state.emit(row, text=lambda: f"agreement {agreement_id} terminated on {row['terminated_on']}: {row['terminate_reason']}")


@agreement.command("renew")
@click.argument("agreement_id", type=int)
@click.option("--to", "ends", required=True, help="Last day of the renewed agreement.")
@click.option("--commission", help="New commission terms [default: unchanged].")
@click.option("--tiers-apply", type=click.Choice(["marginal", "whole"]), help="How tiers apply [default: unchanged].")
@click.option("--discount", help="New discount [default: unchanged].")
@pass_state
def agreement_renew(state: CLIState, agreement_id, ends, commission, tiers_apply, discount):
    """Renew an agreement: a new one from the day after it ends."""
    with state.uow() as uow:
        row = _service(uow, None).renew_agreement(agreement_id, _date(ends, "to"), commission, tiers_apply, discount)
    state.emit(row, text=lambda: f"agreement {row['id']} renews {agreement_id}: {row['starts_on']}..{row['ends_on']}, commission {row['commission']}")


@partners.command("remind")
@click.option("--today", help="Run as of this day [default: today].")
@pass_state
def remind(state: CLIState, today):
    """Queue renewal reminders for agreements nearing their end (run daily from a scheduler; never sends one twice)."""
    with state.uow() as uow:
        rows = _service(uow, None).send_renewal_reminders(_date(today, "today"))
    state.emit(rows, columns=["agreement_id", "partner", "ends_on", "days_left", "remind_on", "channel", "recipient", "message_id", "suppressed"])


# ---------------------------------------------------------------------------
# Deal registration
# ---------------------------------------------------------------------------


REGISTRATION_COLUMNS = ["id", "partner", "customer", "product", "expected_amount", "expected_close", "status", "protected_until", "won_amount", "closed_on"]


def _registration_text(r: dict[str, Any]) -> str:
    lines = [f"registration {r['id']}: partner {r['partner_id']} ({r['partner']}) → customer {r['customer_id']} ({r['customer']})",
             f"  amount {_money(r['expected_amount'])}, close {r['expected_close']}" + (f", product {r['product']}" if r["product"] else ""),
             f"  status {r['status']}" + (f", protected until {r['protected_until']}" if r["status"] in ("pending", "approved") else "")]
    if r.get("decision_reason"):
        lines.append(f"  decision: {r['decision_reason']}")
    if r.get("won_amount") is not None:
        lines.append(f"  won {_money(r['won_amount'])} on {r['closed_on']}")
    elif r.get("closed_on"):
        lines.append(f"  closed {r['closed_on']}" + (f": {r['close_reason']}" if r.get("close_reason") else ""))
    for conflict in r.get("conflicts") or []:
        lines.append(f"  conflict: {conflict['message']}")
    if r.get("reversal"):
        lines.append(f"  commission reversed: {_money(r['reversal']['amount'])} in {r['reversal']['period']}")
    return "\n".join(lines)


@partners.command("register")
@click.argument("partner_id", type=int)
@click.option("--customer", "customer_id", type=int, required=True, help="The end customer's id.")
@click.option("--amount", required=True, help="Expected amount, e.g. 200000 or 20万.")
@click.option("--close", required=True, help="Expected close date, e.g. 2026-06-30.")
@click.option("--product", help="Product (line) of the deal.")
@click.option("--notes", help="Notes.")
@pass_state
def register(state: CLIState, partner_id, customer_id, amount, close, product, notes):
    """Register a partner's deal with an end customer (conflict checked)."""
    with state.uow() as uow:
        row = _service(uow, None).register(partner_id, customer_id, amount=amount, close=_date(close, "close"), product=product, notes=notes)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("registrations")
@click.option("--partner", "partner_id", type=int, help="Only this partner's.")
@click.option("--customer", "customer_id", type=int, help="Only for this end customer.")
@click.option("--status", help="pending, approved, rejected, won, lost, expired or reversed.")
@pass_state
def registrations(state: CLIState, partner_id, customer_id, status):
    """List deal registrations, newest first."""
    with state.uow() as uow:
        rows = _service(uow).registrations(partner_id=partner_id, customer_id=customer_id, status=status)
    state.emit(rows, columns=REGISTRATION_COLUMNS)


@partners.command("registration")
@click.argument("registration_id", type=int)
@pass_state
def registration(state: CLIState, registration_id):
    """Show one deal registration."""
    with state.uow() as uow:
        row = _service(uow).registration_view(registration_id)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("approve")
@click.argument("registration_id", type=int)
@click.option("--reason", help="Why (required with --override).")
@click.option("--override", is_flag=True, help="Approve despite conflicts.")
@pass_state
def approve(state: CLIState, registration_id, reason, override):
    """Approve a pending registration."""
    with state.uow() as uow:
        row = _service(uow, None).approve(registration_id, reason, override=override)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("reject")
@click.argument("registration_id", type=int)
@click.option("--reason", required=True, help="Why the registration is rejected.")
@pass_state
def reject(state: CLIState, registration_id, reason):
    """Reject a pending registration."""
    with state.uow() as uow:
        row = _service(uow, None).reject(registration_id, reason)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("progress")
@click.argument("registration_id", type=int)
@click.argument("note")
@pass_state
def progress(state: CLIState, registration_id, note):
    """Record progress on an approved deal; its protection runs again from today."""
    with state.uow() as uow:
        row = _service(uow, None).progress(registration_id, note)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("won")
@click.argument("registration_id", type=int)
@click.option("--amount", required=True, help="Amount won.")
@click.option("--date", "on", help="Close date [default: the expected close date, at the latest today].")
@pass_state
def won(state: CLIState, registration_id, amount, on):
    """Mark an approved registered deal won."""
    with state.uow() as uow:
        row = _service(uow, None).won(registration_id, amount, _date(on, "date"))
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("lost")
@click.argument("registration_id", type=int)
@click.option("--reason", help="Why it was lost.")
@click.option("--date", "on", help="Close date [default: today].")
@pass_state
def lost(state: CLIState, registration_id, reason, on):
    """Mark an approved registered deal lost."""
    with state.uow() as uow:
        row = _service(uow, None).lost(registration_id, reason, _date(on, "date"))
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("reverse")
@click.argument("registration_id", type=int)
@click.option("--reason", required=True, help="Why the deal was cancelled.")
@pass_state
def reverse(state: CLIState, registration_id, reason):
    """Reverse a won deal that was cancelled, and its commission."""
    with state.uow() as uow:
        row = _service(uow, None).reverse(registration_id, reason)
    state.emit(row, text=lambda: _registration_text(row))


@partners.command("expire")
@click.option("--today", help="Run as of this day [default: today].")
@pass_state
def expire(state: CLIState, today):
    """Expire registrations whose protection ran out without progress (run daily)."""
    with state.uow() as uow:
        rows = _service(uow, None).expire(_date(today, "today"))
    state.emit(rows, columns=["id", "was", "partner", "customer", "protected_until"])


# ---------------------------------------------------------------------------
# Lead assignment
# ---------------------------------------------------------------------------


ASSIGNMENT_COLUMNS = ["id", "customer_id", "lead", "partner_id", "partner", "method", "score", "status", "assigned_at", "deadline_at", "response_hours"]


def _assignment_text(a: dict[str, Any]) -> str:
    lines = [f"assignment {a['id']}: lead {a['customer_id']} ({a['lead']}) → partner {a['partner_id']} ({a['partner']}), "
             f"{a['method']}{' score ' + str(a['score']) if a.get('score') is not None else ''}, {a['status']}, "
             f"deadline {a['deadline_at']:%Y-%m-%d %H:%M} UTC"]
    for c in a.get("candidates") or []:
        lines.append(f"  candidate {c['partner_id']} {c['partner']}: score {c['score']} = territory {c['territory']}"
                     f" × industry {c['industry']} × grade {c['grade_weight']} ÷ (1 + load {c['load']})")
    nxt = a.get("next")
    if nxt:
        lines.append(f"  next: lead {nxt['lead_id']} → {nxt.get('partner') or 'nobody'} ({nxt['note']})")
    return "\n".join(lines)


@partners.command("assign")
@click.argument("lead_id", type=int)
@click.option("--auto", is_flag=True, help="Choose the partner by territory, grade weight and load.")
@click.option("--partner", "partner_id", type=int, help="Assign to this partner by hand.")
@click.option("--hours", type=int, help="Hours the partner has to accept [default: setting accept_hours].")
@click.option("--replace", is_flag=True, help="Take the lead back from its current partner first.")
@click.option("--reason", help="Why (kept with the assignment).")
@pass_state
def assign(state: CLIState, lead_id, auto, partner_id, hours, replace, reason):
    """Assign lead LEAD_ID (a potential customer) to a partner."""
    if auto == (partner_id is not None):
        raise click.UsageError("give either --auto or --partner")
    with state.uow() as uow:
        row = _service(uow, None).assign(lead_id, partner_id=partner_id, auto=auto, hours=hours, replace=replace, reason=reason)
    state.emit(row, text=lambda: _assignment_text(row))


@partners.command("accept")
@click.argument("assignment_id", type=int)
@pass_state
def accept(state: CLIState, assignment_id):
    """Record that the partner accepted an assigned lead."""
    with state.uow() as uow:
        row = _service(uow, None).accept(assignment_id)
    state.emit(row, text=lambda: _assignment_text(row))


@partners.command("decline")
@click.argument("assignment_id", type=int)
@click.option("--reason", help="Why the partner declined.")
@pass_state
def decline(state: CLIState, assignment_id, reason):
    """Record that the partner declined; the lead goes to the next best partner."""
    with state.uow() as uow:
        row = _service(uow, None).decline(assignment_id, reason)
    state.emit(row, text=lambda: _assignment_text(row))


@partners.command("reassign")
@click.option("--now", help="Run as of this time [default: now], e.g. 2026-07-01T09:00.")
@pass_state
def reassign(state: CLIState, now):
    """Expire offers not accepted by their deadline and pass the leads on (run from a scheduler)."""
    with state.uow() as uow:
        service = _service(uow, None)
        rows = service.reassign_overdue(_moment(now, service.zone.key))
    state.emit(rows, columns=["expired_assignment", "from_partner_id", "lead_id", "assignment_id", "partner_id", "note"])


@partners.command("assignments")
@click.option("--lead", "lead_id", type=int, help="Only this lead's (its whole history).")
@click.option("--partner", "partner_id", type=int, help="Only this partner's.")
@click.option("--status", help="offered, accepted, declined, expired or withdrawn.")
@pass_state
def assignments(state: CLIState, lead_id, partner_id, status):
    """List lead assignments, newest first (every assignment is kept)."""
    with state.uow() as uow:
        rows = _service(uow).assignments(lead_id=lead_id, partner_id=partner_id, status=status)
    state.emit(rows, columns=ASSIGNMENT_COLUMNS)


# ---------------------------------------------------------------------------
# Commissions and performance
# ---------------------------------------------------------------------------


@partners.command("commissions")
@click.option("--period", required=True, help="2026-Q2, 2026-05, 2026-H1, 2026 or 2026-04-01..2026-06-30.")
@click.option("--partner", "partner_id", type=int, help="Only this partner.")
@pass_state
def commissions(state: CLIState, period, partner_id):
    """Compute commissions for deals won in PERIOD (idempotent) and show the totals per partner."""
    with state.uow() as uow:
        data = _service(uow, None).compute_commissions(period, partner_id)

    def text() -> str:
        parts = [f"commissions {data['period']} ({data['from']}..{data['to']}): {data['computed']} new line(s)"]
        parts.append(render_table([{**p, **{k: _money(p[k]) for k in ("revenue", "commission", "reversals", "net")}} for p in data["partners"]],
                                  ["partner_id", "partner", "deals", "revenue", "commission", "reversals", "net"]))
        parts.append(f"total {_money(data['total'])}")
        for s in data["skipped"]:
            parts.append(f"skipped registration {s['registration_id']}: {s['reason']}")
        return "\n".join(parts)

    state.emit(data, text=text)


@partners.command("statement")
@click.argument("partner_id", type=int)
@click.option("--period", required=True, help="The period, as used with `partners commissions`.")
@click.option("--send", is_flag=True, help="Queue the statement to the partner's e-mail through the outbox.")
@pass_state
def statement(state: CLIState, partner_id, period, send):
    """A partner's commission statement for a period."""
    with state.uow() as uow:
        data = _service(uow, None).statement(partner_id, period, send=send)

    def text() -> str:
        rows = [{"line": l["id"], "kind": l["kind"], "registration": l["registration_id"], "customer": l["customer"],
                 "closed_on": l["closed_on"], "base": _money(l["base_amount"]), "commission": _money(l["amount"]),
                 "terms": (l["detail"] or {}).get("terms", (l["detail"] or {}).get("reason"))} for l in data["lines"]]
        return "\n".join([f"commission statement: partner {partner_id} {data['partner']}, {data['period']} ({data['from']}..{data['to']})",
                          render_table(rows),
                          f"deals {data['deals']}, revenue {_money(data['revenue'])}, commission {_money(data['commission'])}, "
                          f"reversals {_money(data['reversals'])}, net {_money(data['net'])}"]
                         + ([f"sent to {data['sent_to']}"] if data["sent_to"] else [])
                         + ([f"not sent: {data['suppressed']}"] if data.get("suppressed") else []))

    state.emit(data, text=text)


PERFORMANCE_COLUMNS = ["partner_id", "partner", "grade", "registered", "won", "lost", "win_rate", "revenue", "pipeline",
                       "leads", "accepted", "avg_response_hours", "commissions"]


@partners.command("performance")
@click.option("--period", help="Period [default: this quarter].")
@pass_state
def performance(state: CLIState, period):
    """Performance of every partner in a period."""
    with state.uow() as uow:
        rows = _service(uow).performance(period)
    state.emit(rows, columns=PERFORMANCE_COLUMNS)


@partners.command("scorecard")
@click.argument("partner_id", type=int)
@click.option("--period", help="Period [default: the last 365 days].")
@pass_state
def scorecard(state: CLIState, partner_id, period):
    """A partner's scorecard with a suggested grade."""
    with state.uow() as uow:
        data = _service(uow).scorecard(partner_id, period)

    def text() -> str:
        head = {k: v for k, v in data.items() if k != "grade_checks"}
        for key in ("revenue", "pipeline", "commissions"):
            head[key] = _money(head[key])
        return render_fields(head) + "\n\n" + render_table(data["grade_checks"])

    state.emit(data, text=text)
