"""The analytics plugin's part in a person's data (个人信息保护).

Scores are personal data: RFM, value grade, CLV and churn risk, lifecycle
stage are **profiling** of one person. So:

* export: every score row of the customer (``analytics_rfm``,
  ``analytics_values``, ``analytics_clv``, ``analytics_lifecycle``);
* erasure: the customer's score rows are deleted. They are derived data,
  recomputed by every run (which replaces its whole table and reads only
  active customers' purchases: an erased customer, cancelled, is never
  scored again); models keep only population parameters and counts;
* retention: score rows computed longer ago than ``scores_days`` (default
  365), and those of cancelled customers, are deleted;
* consent: with ``[analytics] consent_required = true`` (or
  ``CRM_ANALYTICS_CONSENT_REQUIRED=1``) only customers whose latest
  ``analytics`` consent on some channel is a grant are scored (off by
  default: see the README).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, or_, select

from crmcore import ValidationError
from crmcore.tables import consents, customers

from crm_analytics.tables import SCORE_TABLES

if TYPE_CHECKING:
    from crmcore import UnitOfWork

#: Defaults of the retention rule; ``[analytics.retention]`` in crm.toml or
#: ``CRM_ANALYTICS_RETAIN_<NAME>`` override them, 0 turns the rule off.
RETENTION_DEFAULTS = {"scores_days": 365.0}


def export(uow: "UnitOfWork", customer: Any) -> dict[str, list[dict[str, Any]]] | None:
    """Every score row of this customer record, by table."""
    found = {}
    for table in SCORE_TABLES:
        rows = [dict(r) for r in uow.execute(select(table).where(table.c.customer_id == customer.id)).mappings()]
        if rows:
            found[table.name] = rows
    return found or None


def erase(uow: "UnitOfWork", customer: Any) -> int:
    """Delete the customer's score rows (profiling of the person); returns
    how many. Nothing else of the plugin holds personal data."""
    return sum(uow.execute(delete(table).where(table.c.customer_id == customer.id)).rowcount or 0 for table in SCORE_TABLES)


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------


def retention_setting(uow: "UnitOfWork", name: str) -> float:
    section = ((uow.crm.config.extra or {}).get("analytics") or {}).get("retention") or {}
    raw = os.environ.get(f"CRM_ANALYTICS_RETAIN_{name.upper()}", section.get(name, RETENTION_DEFAULTS[name]))
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValidationError.field(f"analytics.retention.{name}", f"{raw!r} is not a number") from None
    if value < 0:
        raise ValidationError.field(f"analytics.retention.{name}", "must not be negative")
    return value


def retain_scores(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Score rows computed more than ``scores_days`` ago, and every score
    row of a cancelled customer, are deleted (idempotent)."""
    days = retention_setting(uow, "scores_days")
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    cancelled = select(customers.c.id).where(customers.c.active.is_(False))
    total = 0
    for table in SCORE_TABLES:
        condition = or_(table.c.computed_at < cutoff, table.c.customer_id.in_(cancelled))
        if dry_run:
            total += uow.execute(select(func.count()).select_from(table).where(condition)).scalar_one()
        else:
            total += uow.execute(delete(table).where(condition)).rowcount or 0
    return total


# ---------------------------------------------------------------------------
# Consent to analytics (profiling)
# ---------------------------------------------------------------------------


def consent_required(uow: "UnitOfWork") -> bool:
    """Does scoring need each customer's ``analytics`` consent? Off unless
    ``[analytics] consent_required = true`` or ``CRM_ANALYTICS_CONSENT_REQUIRED``
    says so."""
    raw = os.environ.get("CRM_ANALYTICS_CONSENT_REQUIRED", ((uow.crm.config.extra or {}).get("analytics") or {}).get("consent_required", False))
    return str(raw).strip().lower() in ("1", "true", "yes", "on")


def consenting_customers() -> Any:
    """A subquery of the customers whose latest ``analytics`` consent on at
    least one channel is a grant."""
    latest = (select(func.max(consents.c.id).label("id"))
              .where(consents.c.purpose == "analytics")
              .group_by(consents.c.customer_id, consents.c.channel)).subquery()
    return select(consents.c.customer_id).where(consents.c.id.in_(select(latest.c.id)), consents.c.granted.is_(True))
