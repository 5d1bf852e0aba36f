"""A person's data in the sales tables: export, erasure, retention.

What sales holds about a customer: opportunities (name, notes, lost reason and
source are free text that may quote the person), their stage changes (notes),
key persons (contact ids), visit plans (purpose), quotes (notes, decision
notes) and quote lines (products), plus two kinds of outbox messages it
queued: quotes e-mailed to the customer (the rendered HTML in the payload)
and stale-opportunity notices to managers that name the customer and the
deal. Amounts, stages, probabilities, dates, counts and ids stay: the
pipeline, forecast, win rate and plan-versus-actual reports keep working.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import Text, cast, func, select, update

from crmcore import ValidationError, jsonable
from crmcore.tables import outbox

from crm_sales.tables import (
    opportunities,
    opportunity_contacts,
    quote_lines,
    quotes,
    stage_changes,
    stale_notices,
    visit_plans,
)

if TYPE_CHECKING:
    from crmcore import UnitOfWork

#: What erased text becomes (the core's marker).
ERASED = "(erased)"
#: What expired free text becomes under a retention rule.
EXPIRED = "(expired)"

#: Audit entities of the plugin and their free-text fields.
_AUDIT_TEXT = ("name", "notes", "lost_reason", "source", "purpose", "product", "decision_note", "note", "reason")
_ENTITIES = {"sales_opportunity": opportunities, "sales_quote": quotes, "sales_visit_plan": visit_plans}


def _rows(uow: "UnitOfWork", query: Any) -> list[dict[str, Any]]:
    return [jsonable(dict(row)) for row in uow.execute(query).mappings()]


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export(uow: "UnitOfWork", customer: Any) -> dict[str, list[dict[str, Any]]] | None:
    """Every sales row about this customer record, by table (read only)."""
    opportunity_ids = _ids(uow, opportunities, customer.id)
    quote_ids = _ids(uow, quotes, customer.id)
    found = {
        "sales_opportunities": _rows(uow, select(opportunities).where(opportunities.c.customer_id == customer.id)
                                     .order_by(opportunities.c.id)),
        "sales_stage_changes": _rows(uow, select(stage_changes).where(stage_changes.c.opportunity_id.in_(opportunity_ids))
                                     .order_by(stage_changes.c.id)) if opportunity_ids else [],
        "sales_opportunity_contacts": _rows(uow, select(opportunity_contacts).where(
            opportunity_contacts.c.opportunity_id.in_(opportunity_ids)).order_by(
            opportunity_contacts.c.opportunity_id, opportunity_contacts.c.contact_id)) if opportunity_ids else [],
        "sales_visit_plans": _rows(uow, select(visit_plans).where(visit_plans.c.customer_id == customer.id)
                                   .order_by(visit_plans.c.id)),
        "sales_quotes": _rows(uow, select(quotes).where(quotes.c.customer_id == customer.id).order_by(quotes.c.id)),
        "sales_quote_lines": _rows(uow, select(quote_lines).where(quote_lines.c.quote_id.in_(quote_ids))
                                   .order_by(quote_lines.c.quote_id, quote_lines.c.position)) if quote_ids else [],
        "sales_stale_notices": _rows(uow, select(stale_notices).where(stale_notices.c.opportunity_id.in_(opportunity_ids))
                                     .order_by(stale_notices.c.period, stale_notices.c.opportunity_id,
                                               stale_notices.c.manager_id)) if opportunity_ids else [],
    }
    return found if any(found.values()) else None


def _ids(uow: "UnitOfWork", table: Any, customer_id: int) -> list[int]:
    return list(uow.execute(select(table.c.id).where(table.c.customer_id == customer_id)).scalars())


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


def erase(uow: "UnitOfWork", customer: Any, reason: str) -> dict[str, int]:
    """Replace the free text of this customer record's sales rows; keep
    amounts, stages, probabilities, dates, counts and ids. Fires no hooks,
    deletes no rows. Returns counts by table."""
    opportunity_rows = uow.execute(select(opportunities.c.id, opportunities.c.name, opportunities.c.source)
                                   .where(opportunities.c.customer_id == customer.id)).all()
    opportunity_ids = [r.id for r in opportunity_rows]
    quote_ids = _ids(uow, quotes, customer.id)
    plan_ids = _ids(uow, visit_plans, customer.id)
    # what the stale notices to managers copied: deal names, the customer's name
    mentions = _values([customer.name, *customer.phones, *customer.emails, customer.address,
                        *(r.name for r in opportunity_rows)])
    done = {"sales_opportunities": len(opportunity_ids), "sales_quotes": len(quote_ids), "sales_visit_plans": len(plan_ids)}

    if opportunity_ids:
        uow.execute(update(opportunities).where(opportunities.c.id.in_(opportunity_ids)).values(
            name=ERASED, notes=None, updated_at=uow.now))
        uow.execute(update(opportunities).where(opportunities.c.id.in_(opportunity_ids), opportunities.c.lost_reason.isnot(None))
                    .values(lost_reason=ERASED))
        # sources are "self", "campaign:<name>", "partner:<id>" or typed text: keep the kind
        for row in opportunity_rows:
            kind = _source_kind(row.source)
            if kind != row.source:
                uow.execute(update(opportunities).where(opportunities.c.id == row.id).values(source=kind))
        uow.execute(update(stage_changes).where(stage_changes.c.opportunity_id.in_(opportunity_ids),
                                                stage_changes.c.note.isnot(None), stage_changes.c.note != "opened")
                    .values(note=ERASED))
    if quote_ids:
        uow.execute(update(quotes).where(quotes.c.id.in_(quote_ids)).values(notes=None))
        uow.execute(update(quotes).where(quotes.c.id.in_(quote_ids), quotes.c.decision_note.isnot(None))
                    .values(decision_note=ERASED))
        uow.execute(update(quote_lines).where(quote_lines.c.quote_id.in_(quote_ids)).values(product=ERASED))
    if plan_ids:
        uow.execute(update(visit_plans).where(visit_plans.c.id.in_(plan_ids)).values(purpose=ERASED))

    done["audit_entries"] = _erase_audit(uow, {"sales_opportunity": opportunity_ids, "sales_quote": quote_ids,
                                               "sales_visit_plan": plan_ids})
    done["outbox_messages"] = _erase_outbox(uow, customer.id, opportunity_ids, mentions)
    return done


def _source_kind(source: str | None) -> str:
    if not source or source == "self":
        return "self"
    head, _, tail = source.partition(":")
    if head == "partner" and tail.strip().isdigit() or head == "campaign" and tail.strip():
        return source  # a partner customer's id or a campaign's name: no personal value
    if head in ("partner", "referral"):
        return head
    return "other"


def _values(values: Iterable[Any]) -> list[str]:
    """Distinct non-empty texts, longest first (so a longer one is replaced
    before a shorter one inside it)."""
    return sorted({v for v in values if isinstance(v, str) and v.strip() and v != ERASED}, key=len, reverse=True)


def _erase_audit(uow: "UnitOfWork", ids_by_entity: dict[str, list[int]]) -> int:
    """The plugin's own audit entries on these records lose their free text
    (the core then treats entries carrying ``customer_id`` as the person's)."""
    return uow.audit.scrub(ids_by_entity, lambda changes: {key: _blank(value) if key in _AUDIT_TEXT else value
                                                           for key, value in changes.items()})


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        return ERASED if value.strip() and value not in ("self", "opened") else value
    if isinstance(value, list):
        return [_blank(v) for v in value]
    if isinstance(value, dict):
        return {k: _blank(v) for k, v in value.items()}
    return value


def _erase_outbox(uow: "UnitOfWork", customer_id: int, opportunity_ids: list[int], mentions: list[str]) -> int:
    """Sales' own outbox content: the rendered quote in e-mails to the
    customer (the core clears recipient, subject and body of those), and the
    customer's and deals' names in stale notices to managers."""
    quote_mails = uow.execute(select(outbox.c.id).where(
        outbox.c.customer_id == customer_id, cast(outbox.c.payload, Text).like("%sales.quote%"))).scalars().all()
    count = uow.outbox.scrub(quote_mails, _without_quote)
    if not opportunity_ids or not mentions:
        return count
    wanted = set(opportunity_ids)
    notices = [message_id for message_id, payload in uow.execute(select(outbox.c.id, outbox.c.payload).where(
        cast(outbox.c.payload, Text).like("%sales.stale%"))).all()
        if isinstance(payload, dict) and payload.get("kind") == "sales.stale" and wanted & set(payload.get("opportunity_ids") or [])]
    return count + uow.outbox.scrub(notices, lambda message: {"subject": _replace(message.subject, mentions),
                                                              "body": _replace(message.body, mentions)})


def _without_quote(message: Any) -> dict[str, Any]:
    """A quote e-mail's payload without the rendered quote (customer name, address, lines)."""
    payload = message.payload
    if isinstance(payload, dict) and payload.get("kind") == "sales.quote" and "html" in payload:
        return {"payload": {k: v for k, v in payload.items() if k != "html"}}
    return {}


def _replace(text: str | None, values: list[str]) -> str | None:
    if not text:
        return text
    for value in values:
        text = text.replace(value, ERASED)
    return text


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

#: Defaults of the plugin's retention rules; ``[sales.retention]`` in crm.toml
#: or ``CRM_SALES_RETAIN_<NAME>`` override them, 0 turns a rule off.
RETENTION_DEFAULTS = {"quote_html_days": 90.0, "visit_purposes_years": 3.0}


def retention_setting(uow: "UnitOfWork", name: str) -> float:
    section = ((uow.crm.config.extra or {}).get("sales") or {}).get("retention") or {}
    raw = os.environ.get(f"CRM_SALES_RETAIN_{name.upper()}", section.get(name, RETENTION_DEFAULTS[name]))
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError.field(f"sales.retention.{name}", f"{raw!r} is not a number") from None
    if value < 0:
        raise ValidationError.field(f"sales.retention.{name}", "must not be negative")
    return value


def retain_quote_html(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """The rendered quote (customer name, address, lines) copied into the
    payload of quote e-mails sent, failed or cancelled longer ago than
    ``quote_html_days`` is removed (the core's outbox rule clears only
    subjects and bodies)."""
    days = retention_setting(uow, "quote_html_days")
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    due = [message_id for message_id, payload in uow.execute(select(outbox.c.id, outbox.c.payload).where(
        outbox.c.status.in_(("sent", "failed", "cancelled")),
        func.coalesce(outbox.c.sent_at, outbox.c.created_at) < cutoff,
        cast(outbox.c.payload, Text).like("%sales.quote%"))).all()
        if isinstance(payload, dict) and payload.get("kind") == "sales.quote" and "html" in payload]
    if not dry_run:
        uow.outbox.scrub(due, _without_quote)
    return len(due)


def retain_visit_purposes(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Purposes (free text) of visit plans whose planned day is longer ago
    than ``visit_purposes_years`` become "(expired)"; the plans themselves
    (who, which customer, when) stay for plan-versus-actual."""
    years = retention_setting(uow, "visit_purposes_years")
    if not years:
        return 0
    cutoff = (now - timedelta(days=365.25 * years)).date()
    condition = (visit_plans.c.planned_date < cutoff) & visit_plans.c.purpose.notin_((EXPIRED, ERASED))
    if dry_run:
        return uow.execute(select(func.count()).select_from(visit_plans).where(condition)).scalar_one()
    return uow.execute(update(visit_plans).where(condition).values(purpose=EXPIRED)).rowcount
