"""The partners service: ``uow.service("partners")``.

Every method runs inside the caller's unit of work: it checks permissions,
validates, writes, audits, and raises ``ValidationError`` / ``Conflict`` /
``NotFound`` so nothing is written when something is wrong.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, insert, or_, select, update

from crmcore import Conflict, NotFound, ValidationError
from crmcore.tables import activities, customer_emails, customer_phones, customers, users

from crm_partners import tables as t
from crm_partners.domain import (
    OPEN_ASSIGNMENT,
    OPEN_REGISTRATION,
    REGISTRATION_STATUSES,
    STATUS_LABELS,
    STATUSES,
    TRANSITIONS,
    Period,
    Registration,
    Terms,
    money,
    pct,
    percent,
    round_money,
)

if TYPE_CHECKING:
    from crmcore import UnitOfWork

#: Settings and their defaults (``crm partners settings``).
DEFAULT_SETTINGS: dict[str, Any] = {
    "protection_days": 90,      # how long an approved registration protects the deal; direct-sales engagement window
    "accept_hours": 48,         # how long a partner has to accept an assigned lead
    "auto_approve": "clean",    # clean: approve registrations without conflicts at once; never: always by hand
    "remind_days": [60, 30, 7],  # renewal reminders, days before an agreement ends (default for new agreements)
    "reminder_cc": None,        # an e-mail address that gets a copy of every renewal reminder
    "notes_retention_years": 3,  # closed registrations lose notes and conflict details after this long (0: keep them)
}
SETTING_TYPES = {"protection_days": int, "accept_hours": int, "auto_approve": ("clean", "never"), "remind_days": list, "reminder_cc": str,
                 "notes_retention_years": int}
#: Whole-number settings where 0 means "off".
ZERO_TURNS_OFF = {"notes_retention_years"}

ENTITY = "partner"


def _split(values: Iterable[str] | None) -> list[str]:
    """``--territory 上海 --territory 华东,江苏`` → ["上海", "华东", "江苏"]."""
    found: list[str] = []
    for value in values or ():
        for part in str(value).replace("，", ",").replace("、", ",").split(","):
            part = part.strip()
            if part and part not in found:
                found.append(part)
    return found


class PartnersService:
    """Partners, agreements, deal registrations, lead assignments,
    commissions and performance."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        # The core does not call the historic crm_add_hookspecs yet; make sure
        # our hookspec is declared before we fire it.
        from crm_partners.hookspecs import declare

        declare(uow.crm.plugins.pm)

    # =====================================================================
    # Basics
    # =====================================================================

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(getattr(self.uow.crm.config, "timezone", None) or "Asia/Shanghai")

    def today(self) -> date:
        return self.uow.now.astimezone(self.zone).date()

    def local_start(self, day: date) -> datetime:
        """The UTC moment a local day starts."""
        return datetime.combine(day, time(0), self.zone).astimezone(timezone.utc)

    def setting(self, key: str) -> Any:
        if key not in DEFAULT_SETTINGS:
            raise ValidationError.field("setting", f"{key!r} is not one of {', '.join(DEFAULT_SETTINGS)}")
        row = self.uow.execute(select(t.settings.c.value).where(t.settings.c.key == key)).first()
        return DEFAULT_SETTINGS[key] if row is None else row[0]

    def settings(self) -> dict[str, Any]:
        return {key: self.setting(key) for key in DEFAULT_SETTINGS}

    def set_setting(self, key: str, value: Any) -> dict[str, Any]:
        self.uow.require("partners.manage")
        before = self.setting(key)
        kind = SETTING_TYPES[key]
        if kind is int:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ValidationError.field(key, f"{value!r} is not a whole number") from None
            if key in ZERO_TURNS_OFF and value < 0:
                raise ValidationError.field(key, "must not be negative (0 turns it off)")
            if key not in ZERO_TURNS_OFF and value <= 0:
                raise ValidationError.field(key, "must be more than zero")
        elif kind is list:
            value = self._remind_days(value)
        elif isinstance(kind, tuple):
            if value not in kind:
                raise ValidationError.field(key, f"{value!r} is not one of {', '.join(kind)}")
        else:
            value = str(value).strip() or None
            if value and "@" not in value:
                raise ValidationError.field(key, f"{value!r} is not an e-mail address")
        self.uow.execute(delete(t.settings).where(t.settings.c.key == key))
        self.uow.execute(insert(t.settings).values(key=key, value=value))
        self.uow.audit.record("partners_setting", key, "update", {key: (before, value)})
        return self.settings()

    @staticmethod
    def _remind_days(value: Any) -> list[int]:
        items = value if isinstance(value, (list, tuple)) else _split([str(value)])
        try:
            days = sorted({int(v) for v in items}, reverse=True)
        except (TypeError, ValueError):
            raise ValidationError.field("remind_days", f"{value!r} is not a list of days (use 60,30,7)") from None
        if any(d <= 0 for d in days):
            raise ValidationError.field("remind_days", "days must be more than zero")
        return days

    def _user(self, key: str | int | None, field: str = "manager") -> int | None:
        if key in (None, ""):
            return None
        user = self.uow.users.find(key)
        if user is None:
            raise ValidationError.field(field, f"no user {key!r}")
        if not user.active:
            raise ValidationError.field(field, f"user {user.username!r} is deactivated")
        return user.id

    def _usernames(self, ids: Iterable[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        if not wanted:
            return {}
        return dict(self.uow.execute(select(users.c.id, users.c.username).where(users.c.id.in_(wanted))).all())

    def _names(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = set(ids)
        if not wanted:
            return {}
        return dict(self.uow.execute(select(customers.c.id, customers.c.name).where(customers.c.id.in_(wanted))).all())

    # =====================================================================
    # Types and grades
    # =====================================================================

    def types(self) -> list[dict[str, Any]]:
        rows = self.uow.execute(select(t.types).order_by(t.types.c.position)).mappings()
        return [dict(row) for row in rows]

    def add_type(self, code: str, label: str) -> dict[str, Any]:
        self.uow.require("partners.manage")
        code, label = (code or "").strip().lower(), (label or "").strip()
        if not code or not label:
            raise ValidationError.field("code" if not code else "label", "must not be empty")
        if any(row["code"] == code or row["label"] == label for row in self.types()):
            raise ValidationError.field("code", f"partner type {code!r} or label {label!r} exists already")
        position = len(self.types())
        self.uow.execute(insert(t.types).values(code=code, label=label, position=position))
        self.uow.audit.record("partners_type", code, "create", {"label": (None, label)})
        return {"code": code, "label": label, "position": position}

    def resolve_type(self, value: str) -> str:
        text = str(value or "").strip()
        for row in self.types():
            if text.lower() == row["code"] or text == row["label"]:
                return row["code"]
        known = ", ".join(f"{row['code']} ({row['label']})" for row in self.types())
        raise ValidationError.field("type", f"{value!r} is not one of {known}")

    def grades(self) -> list[dict[str, Any]]:
        rows = self.uow.execute(select(t.grades).order_by(t.grades.c.weight.desc(), t.grades.c.id)).mappings()
        return [dict(row) for row in rows]

    def resolve_grade(self, value: str | int | None) -> dict[str, Any] | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        for row in self.grades():
            if text == row["name"] or text == str(row["id"]):
                return row
        raise ValidationError.field("grade", f"{value!r} is not one of {', '.join(row['name'] for row in self.grades()) or '(no grades)'}")

    def add_grade(self, name: str, weight: int, min_revenue: Any = 0, min_win_rate: Any = None) -> dict[str, Any]:
        self.uow.require("partners.manage")
        name = (name or "").strip()
        if not name:
            raise ValidationError.field("name", "must not be empty")
        if any(row["name"] == name for row in self.grades()):
            raise ValidationError.field("name", f"grade {name!r} exists already")
        values = self._grade_values(weight=weight, min_revenue=min_revenue, min_win_rate=min_win_rate)
        grade_id = self.uow.execute(insert(t.grades).values(name=name, **values)).inserted_primary_key[0]
        self.uow.audit.record("partners_grade", name, "create", {k: (None, v) for k, v in values.items()})
        return self.resolve_grade(grade_id)

    def update_grade(self, name: str, **changes: Any) -> dict[str, Any]:
        self.uow.require("partners.manage")
        grade = self.resolve_grade(name)
        values = self._grade_values(**{k: v for k, v in changes.items() if v is not None})
        if "min_win_rate" in changes and changes["min_win_rate"] == "":
            values["min_win_rate"] = None
        if values:
            self.uow.execute(update(t.grades).where(t.grades.c.id == grade["id"]).values(values))
            self.uow.audit.record("partners_grade", grade["name"], "update", {k: (grade[k], v) for k, v in values.items()})
        return self.resolve_grade(grade["id"])

    @staticmethod
    def _grade_values(**given: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "weight" in given:
            try:
                values["weight"] = int(given["weight"])
            except (TypeError, ValueError):
                raise ValidationError.field("weight", f"{given['weight']!r} is not a whole number") from None
            if values["weight"] <= 0:
                raise ValidationError.field("weight", "must be more than zero")
        if "min_revenue" in given:
            values["min_revenue"] = money(given["min_revenue"], field_name="min_revenue", allow_zero=True)
        if given.get("min_win_rate") not in (None, ""):
            values["min_win_rate"] = percent(given["min_win_rate"], field_name="min_win_rate")
        return values

    # =====================================================================
    # Partners
    # =====================================================================

    def _row(self, partner_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(select(t.partners).where(t.partners.c.customer_id == partner_id)).mappings().first()
        return None if row is None else dict(row)

    def get(self, partner_id: int) -> dict[str, Any]:
        """A partner as the actor may see it (its customer must be in scope)."""
        customer = self.uow.customers.find(partner_id)
        row = self._row(partner_id) if customer is not None else None
        if row is None:
            raise NotFound(f"partner {partner_id} not found" + ("" if customer is None else f" (customer {partner_id} is not a partner)"))
        return self._view(row, customer)

    def is_partner(self, customer_id: int) -> bool:
        return self._row(customer_id) is not None

    def _view(self, row: dict[str, Any], customer: Any = None) -> dict[str, Any]:
        customer = customer or self.uow.customers.find(row["customer_id"])
        grade = next((g for g in self.grades() if g["id"] == row["grade_id"]), None)
        manager = self._usernames([row["manager_id"]]).get(row["manager_id"])
        return {
            "id": row["customer_id"],
            "name": customer.name if customer else None,
            "code": customer.code if customer else None,
            "type": row["type"],
            "type_label": next((x["label"] for x in self.types() if x["code"] == row["type"]), row["type"]),
            "grade": grade["name"] if grade else None,
            "grade_weight": grade["weight"] if grade else None,
            "status": row["status"],
            "status_label": STATUS_LABELS.get(row["status"], row["status"]),
            "territories": row["territories"],
            "industries": row["industries"],
            "manager": manager,
            "manager_id": row["manager_id"],
            "max_open_leads": row["max_open_leads"],
            "notes": row["notes"],
            "created_at": row["created_at"],
            "updated_at": row["updated_at"],
        }

    def add(self, customer_id: int, *, type: str, grade: str | None = None, territories: Iterable[str] = (),
            industries: Iterable[str] = (), manager: str | int | None = None, status: str = "active",
            max_open_leads: int | None = None, notes: str | None = None, reason: str | None = None) -> dict[str, Any]:
        """Mark an organisation (a core customer) as a partner."""
        self.uow.require("partners.manage")
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled; restore it first")
        if customer.kind != "organization":
            raise ValidationError.field("customer", f"customer {customer_id} ({customer.name}) is a person; partners are organisations "
                                                    f"(crm customer edit {customer_id} --kind organization)")
        if self._row(customer_id) is not None:
            raise Conflict(f"customer {customer_id} is already a partner")
        if status not in STATUSES:
            raise ValidationError.field("status", f"{status!r} is not one of {', '.join(STATUSES)}")
        if status == "terminated":
            raise ValidationError.field("status", "a new partner cannot start terminated")
        values = {
            "customer_id": customer_id,
            "type": self.resolve_type(type),
            "grade_id": (self.resolve_grade(grade) or {}).get("id"),
            "territories": _split(territories),
            "industries": _split(industries),
            "status": status,
            "manager_id": self._user(manager),
            "max_open_leads": self._capacity(max_open_leads),
            "notes": (notes or "").strip() or None,
            "created_at": self.uow.now,
            "updated_at": self.uow.now,
        }
        self.uow.execute(insert(t.partners).values(values))
        self._history(customer_id, None, status, reason or "partner added")
        self.uow.audit.record(ENTITY, customer_id, "create", {"customer_id": customer_id, **{
            k: (None, v) for k, v in values.items() if k not in ("customer_id", "created_at", "updated_at") and v not in (None, [], "")}})
        return self.get(customer_id)

    @staticmethod
    def _capacity(value: Any) -> int | None:
        if value in (None, ""):
            return None
        try:
            value = int(value)
        except (TypeError, ValueError):
            raise ValidationError.field("max_leads", f"{value!r} is not a whole number") from None
        if value <= 0:
            raise ValidationError.field("max_leads", "must be more than zero")
        return value

    def update(self, partner_id: int, *, reason: str | None = None, **changes: Any) -> dict[str, Any]:
        """Change type, grade, territory, industries, manager, capacity or notes."""
        self.uow.require("partners.manage")
        self.get(partner_id)
        row = self._row(partner_id)
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key == "type":
                values["type"] = self.resolve_type(value)
            elif key == "grade":
                values["grade_id"] = (self.resolve_grade(value) or {}).get("id")
            elif key in ("territories", "industries"):
                values[key] = _split(value)
            elif key == "manager":
                values["manager_id"] = self._user(value)
            elif key == "max_open_leads":
                values["max_open_leads"] = self._capacity(value)
            elif key == "notes":
                values["notes"] = str(value).strip() or None
            else:
                raise ValidationError.field(key, "cannot be changed here")
        delta = {k: (row[k], v) for k, v in values.items() if row[k] != v}
        if not delta:
            return self.get(partner_id)
        self.uow.execute(update(t.partners).where(t.partners.c.customer_id == partner_id).values(updated_at=self.uow.now, **{k: v for k, (_, v) in delta.items()}))
        if "grade_id" in delta:
            names = {g["id"]: g["name"] for g in self.grades()}
            delta["grade"] = (names.get(delta["grade_id"][0]), names.get(delta["grade_id"][1]))
        self.uow.audit.record(ENTITY, partner_id, "update", {"customer_id": partner_id, **delta, **({"reason": reason} if reason else {})})
        return self.get(partner_id)

    def set_status(self, partner_id: int, status: str, reason: str | None = None) -> dict[str, Any]:
        """Move a partner along its lifecycle; terminating withdraws its open
        lead offers and passes those leads to the next best partner."""
        self.uow.require("partners.manage")
        partner = self.get(partner_id)
        status = str(status or "").strip().lower().replace("-", "_").replace(" ", "_")
        labels = {v: k for k, v in STATUS_LABELS.items()}
        status = labels.get(status, status)
        if status not in STATUSES:
            raise ValidationError.field("status", f"{status!r} is not one of {', '.join(STATUSES)}")
        current = partner["status"]
        if status == current:
            raise Conflict(f"partner {partner_id} is already {status}")
        if status not in TRANSITIONS[current]:
            raise ValidationError.field("status", f"a partner that is {current} cannot become {status} "
                                                  f"(allowed: {', '.join(sorted(TRANSITIONS[current]))})")
        if status == "terminated" and not (reason or "").strip():
            raise ValidationError.field("reason", "required to terminate a partner")
        self.uow.execute(update(t.partners).where(t.partners.c.customer_id == partner_id).values(status=status, updated_at=self.uow.now))
        self._history(partner_id, current, status, reason)
        self.uow.audit.record(ENTITY, partner_id, "status", {"customer_id": partner_id, "status": (current, status),
                                                             **({"reason": reason} if reason else {})})
        moved: list[dict[str, Any]] = []
        if status == "terminated":
            offers = self.uow.execute(select(t.assignments).where(
                t.assignments.c.partner_id == partner_id, t.assignments.c.status == "offered")).mappings().all()
            for offer in offers:
                self._close_assignment(offer["id"], "withdrawn", f"partner terminated: {reason}")
                moved.append(self._pass_on(offer["customer_id"], offer["id"]))
        result = self.get(partner_id)
        result["reassigned"] = moved
        return result

    def _history(self, partner_id: int, before: str | None, after: str, reason: str | None) -> None:
        self.uow.execute(insert(t.status_history).values(
            partner_id=partner_id, from_status=before, to_status=after, reason=(reason or "").strip() or None,
            actor_id=self.uow.actor.id, at=self.uow.now))

    def history(self, partner_id: int) -> list[dict[str, Any]]:
        self.get(partner_id)
        rows = self.uow.execute(select(t.status_history).where(t.status_history.c.partner_id == partner_id)
                                .order_by(t.status_history.c.at, t.status_history.c.id)).mappings().all()
        names = self._usernames(r["actor_id"] for r in rows)
        return [{"at": r["at"], "from": r["from_status"], "to": r["to_status"], "reason": r["reason"],
                 "by": names.get(r["actor_id"], "system")} for r in rows]

    def list(self, *, status: str | None = None, type: str | None = None, grade: str | None = None,
             manager: str | None = None) -> list[dict[str, Any]]:
        query = select(t.partners).join(customers, customers.c.id == t.partners.c.customer_id)
        if status:
            query = query.where(t.partners.c.status == status)
        if type:
            query = query.where(t.partners.c.type == self.resolve_type(type))
        if grade:
            query = query.where(t.partners.c.grade_id == self.resolve_grade(grade)["id"])
        if manager:
            query = query.where(t.partners.c.manager_id == self._user(manager))
        rows = self.uow.execute(self.uow.customers.scope(query.order_by(t.partners.c.customer_id))).mappings().all()
        found = {c.id: c for c in self.uow.customers.get_many([r["customer_id"] for r in rows])}
        return [self._view(dict(r), found.get(r["customer_id"])) for r in rows]

    # =====================================================================
    # Agreements
    # =====================================================================

    def _agreement_view(self, row: Any, today: date | None = None) -> dict[str, Any]:
        today = today or self.today()
        terms = Terms.from_row(row)
        if row["terminated_on"] is not None and row["terminated_on"] <= today:
            state = "terminated"
        elif today < row["starts_on"]:
            state = "scheduled"
        elif today > row["ends_on"]:
            state = "expired"
        else:
            state = "active"
        return {
            "id": row["id"], "partner_id": row["partner_id"], "starts_on": row["starts_on"], "ends_on": row["ends_on"],
            "state": state, "commission": terms.describe(), "commission_kind": terms.kind,
            "commission_rate": _norm(terms.rate), "commission_tiers": [[str(a), pct(b)] for a, b in terms.tiers],
            "tiers_apply": row["tiers_apply"], "discount": _norm(row["discount"]), "territories": row["territories"],
            "product_lines": row["product_lines"], "remind_days": row["remind_days"],
            "terminated_on": row["terminated_on"], "terminate_reason": row["terminate_reason"],
            "renewed_from_id": row["renewed_from_id"], "days_left": (row["ends_on"] - today).days if state in ("active", "scheduled") else None,
        }

    def agreement(self, agreement_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(t.agreements).where(t.agreements.c.id == agreement_id)).mappings().first()
        if row is None:
            raise NotFound(f"agreement {agreement_id} not found")
        self.get(row["partner_id"])
        return self._agreement_view(row)

    def add_agreement(self, partner_id: int, *, starts_on: date, ends_on: date, commission: str, tiers_apply: str = "marginal",
                      discount: Any = None, territories: Iterable[str] = (), product_lines: Iterable[str] = (),
                      remind_days: Any = None, renewed_from_id: int | None = None) -> dict[str, Any]:
        self.uow.require("partners.manage")
        partner = self.get(partner_id)
        if partner["status"] == "terminated":
            raise Conflict(f"partner {partner_id} is terminated")
        if starts_on is None or ends_on is None:
            raise ValidationError.field("from" if starts_on is None else "to", "required")
        if ends_on < starts_on:
            raise ValidationError.field("to", f"{ends_on} is before the start {starts_on}")
        terms = Terms.parse(commission, tiers_apply)
        lines = _split(product_lines)
        self._check_overlap(partner_id, starts_on, ends_on, lines)
        values = {
            "partner_id": partner_id, "starts_on": starts_on, "ends_on": ends_on,
            "territories": _split(territories) or list(partner["territories"]), "product_lines": lines,
            "discount": None if discount in (None, "") else percent(discount, field_name="discount"),
            **terms.as_columns(),
            "remind_days": self._remind_days(remind_days) if remind_days not in (None, "") else list(self.setting("remind_days")),
            "renewed_from_id": renewed_from_id, "created_at": self.uow.now, "created_by": self.uow.actor.id,
        }
        agreement_id = self.uow.execute(insert(t.agreements).values(values)).inserted_primary_key[0]
        self.uow.audit.record("partners_agreement", agreement_id, "create", {
            "customer_id": partner_id, "partner_id": partner_id, "from": str(starts_on), "to": str(ends_on), "commission": terms.describe(),
            **({"discount": str(values["discount"])} if values["discount"] is not None else {}),
        })
        return self.agreement(agreement_id)

    def _check_overlap(self, partner_id: int, starts_on: date, ends_on: date, lines: list[str], ignore: int | None = None) -> None:
        rows = self.uow.execute(select(t.agreements).where(
            t.agreements.c.partner_id == partner_id, t.agreements.c.starts_on <= ends_on, t.agreements.c.ends_on >= starts_on)).mappings()
        for row in rows:
            if row["id"] == ignore:
                continue
            effective_end = row["ends_on"] if row["terminated_on"] is None else min(row["ends_on"], row["terminated_on"] - timedelta(days=1))
            if effective_end < starts_on:
                continue
            theirs = row["product_lines"]
            # one general agreement at a time, and one per product line; a
            # product-line agreement takes precedence over the general one
            if (not lines and not theirs) or set(lines) & set(theirs):
                raise Conflict(f"agreement {row['id']} ({row['starts_on']}..{row['ends_on']}) already covers these dates"
                               + (f" for {', '.join(sorted(set(lines) & set(theirs)))}" if lines and theirs else "")
                               + "; terminate it or choose other dates or product lines")

    def agreements(self, partner_id: int | None = None, *, expiring_within: int | None = None, include_ended: bool = True) -> list[dict[str, Any]]:
        query = select(t.agreements).order_by(t.agreements.c.partner_id, t.agreements.c.starts_on, t.agreements.c.id)
        if partner_id is not None:
            self.get(partner_id)
            query = query.where(t.agreements.c.partner_id == partner_id)
        else:
            query = query.where(t.agreements.c.partner_id.in_(self.uow.customers.scope(select(customers.c.id))))
        today = self.today()
        views = [self._agreement_view(row, today) for row in self.uow.execute(query).mappings()]
        if expiring_within is not None:
            views = [v for v in views if v["state"] == "active" and v["days_left"] <= expiring_within]
        elif not include_ended:
            views = [v for v in views if v["state"] in ("active", "scheduled")]
        names = self._names(v["partner_id"] for v in views)
        for view in views:
            view["partner"] = names.get(view["partner_id"])
        return views

    def terminate_agreement(self, agreement_id: int, reason: str, on: date | None = None) -> dict[str, Any]:
        """End an agreement early; it stays on record as terminated."""
        self.uow.require("partners.manage")
        agreement = self.agreement(agreement_id)
        if agreement["terminated_on"] is not None:
            raise Conflict(f"agreement {agreement_id} was terminated on {agreement['terminated_on']}")
        if not (reason or "").strip():
            raise ValidationError.field("reason", "required to terminate an agreement")
        on = on or self.today()
        if on > agreement["ends_on"]:
            raise ValidationError.field("on", f"agreement {agreement_id} ends on {agreement['ends_on']} anyway")
        self.uow.execute(update(t.agreements).where(t.agreements.c.id == agreement_id).values(terminated_on=on, terminate_reason=reason.strip()))
        self.uow.audit.record("partners_agreement", agreement_id, "terminate", {"customer_id": agreement["partner_id"],
                                                                                 "terminated_on": (None, str(on)), "reason": reason})
        return self.agreement(agreement_id)

    def renew_agreement(self, agreement_id: int, ends_on: date, commission: str | None = None, tiers_apply: str | None = None,
                        discount: Any = None) -> dict[str, Any]:
        """A new agreement continuing the old one from the day after it ends,
        with the same terms unless given."""
        self.uow.require("partners.manage")
        old_row = self.uow.execute(select(t.agreements).where(t.agreements.c.id == agreement_id)).mappings().first()
        if old_row is None:
            raise NotFound(f"agreement {agreement_id} not found")
        old = self.agreement(agreement_id)
        if old["terminated_on"] is not None:
            raise Conflict(f"agreement {agreement_id} was terminated; add a new agreement instead")
        if self.uow.execute(select(t.agreements.c.id).where(t.agreements.c.renewed_from_id == agreement_id)).first():
            raise Conflict(f"agreement {agreement_id} has been renewed already")
        terms = Terms.from_row(old_row)
        if commission is None:
            commission = terms.describe() if terms.kind == "percent" else ",".join(f"{a}:{pct(b)}%" for a, b in terms.tiers)
        return self.add_agreement(
            old["partner_id"], starts_on=old["ends_on"] + timedelta(days=1), ends_on=ends_on, commission=commission,
            tiers_apply=tiers_apply or old_row["tiers_apply"], discount=old["discount"] if discount is None else discount,
            territories=old["territories"], product_lines=old["product_lines"], remind_days=old["remind_days"],
            renewed_from_id=agreement_id)

    def send_renewal_reminders(self, today: date | None = None) -> list[dict[str, Any]]:
        """Queue renewal reminders for agreements nearing their end, through
        the outbox. Meant for a daily scheduler; running it again the same day,
        or later, never queues the same reminder twice (one per agreement,
        reminder date and recipient). A missed day is caught up with the most
        recent reminder due, not with every one."""
        self.uow.require("partners.manage")
        today = today or self.today()
        horizon = max([d for row in [self.setting("remind_days")] for d in row] + [365])
        rows = self.uow.execute(select(t.agreements).where(
            t.agreements.c.terminated_on.is_(None), t.agreements.c.ends_on >= today,
            t.agreements.c.ends_on <= today + timedelta(days=horizon))).mappings().all()
        renewed = set(self.uow.execute(select(t.agreements.c.renewed_from_id).where(t.agreements.c.renewed_from_id.isnot(None))).scalars())
        cc = self.setting("reminder_cc")
        queued: list[dict[str, Any]] = []
        for row in rows:
            if row["id"] in renewed:
                continue
            due = [row["ends_on"] - timedelta(days=d) for d in row["remind_days"] if row["ends_on"] - timedelta(days=d) <= today]
            if not due:
                continue
            remind_on = max(due)
            customer = self.uow.execute(select(customers.c.name, customers.c.emails, customers.c.phones, customers.c.erased_at)
                                        .where(customers.c.id == row["partner_id"])).first()
            if customer.erased_at is not None:
                continue  # an erased partner gets nothing, not even the copy to staff
            days_left = (row["ends_on"] - today).days
            subject = f"合作协议续约提醒：{customer.name} 的协议 #{row['id']} 将于 {row['ends_on']} 到期（剩余 {days_left} 天）"
            body = (f"{customer.name}：\n\n贵司与我司的合作协议（编号 {row['id']}，{row['starts_on']} 至 {row['ends_on']}）"
                    f"将于 {row['ends_on']} 到期，请联系渠道经理办理续约。\n")
            # (channel, recipient, purpose): the partner must receive its contract's
            # reminders (service); the copy to staff is a staff notice (no purpose)
            recipients: list[tuple[str, str, str | None]] = []
            if customer.emails:
                recipients.append(("email", customer.emails[0], "service"))
            elif customer.phones:
                recipients.append(("sms", customer.phones[0], "service"))
            if cc:
                recipients.append(("email", cc, None))
            entry = {"agreement_id": row["id"], "partner_id": row["partner_id"], "partner": customer.name,
                     "ends_on": row["ends_on"], "remind_on": remind_on, "days_left": days_left}
            for channel, recipient, purpose in recipients:
                if purpose and not self.uow.consents.allows(row["partner_id"], purpose, channel):
                    queued.append({**entry, "channel": channel, "recipient": recipient, "message_id": None, "suppressed": "no consent"})
                    continue
                key = f"partners:renewal:{row['id']}:{remind_on}:{recipient}"
                message = self.uow.outbox.put(channel, recipient, subject, body, customer_id=row["partner_id"], dedupe_key=key,
                                              purpose=purpose,
                                              payload={"agreement_id": row["id"], "ends_on": row["ends_on"], "remind_on": remind_on})
                if message is not None:
                    queued.append({**entry, "channel": channel, "recipient": recipient, "message_id": message.id, "suppressed": None})
            if not recipients:
                queued.append({**entry, "channel": None, "recipient": None, "message_id": None, "suppressed": "no address"})
        if queued:
            self.uow.audit.record("partners_agreement", None, "remind", {"queued": len([q for q in queued if q["message_id"]])})
        return queued

    def _agreement_for(self, partner_id: int, day: date, product: str | None) -> Any:
        """The agreement under which a deal closed on ``day`` is paid."""
        rows = self.uow.execute(select(t.agreements).where(
            t.agreements.c.partner_id == partner_id, t.agreements.c.starts_on <= day, t.agreements.c.ends_on >= day,
            or_(t.agreements.c.terminated_on.is_(None), t.agreements.c.terminated_on > day),
        ).order_by(t.agreements.c.starts_on.desc(), t.agreements.c.id.desc())).mappings().all()
        specific = [r for r in rows if product and product in r["product_lines"]]
        general = [r for r in rows if not r["product_lines"]]
        return (specific or general or [None])[0]

    # =====================================================================
    # Deal registration
    # =====================================================================

    def _identity(self, customer_id: int) -> dict[int, str]:
        """Customers that are the same end customer: the customer itself and
        every active customer sharing one of its (normalised) phones or
        e-mails. Not limited to the actor's scope: a conflict elsewhere in the
        company is still a conflict."""
        found = {customer_id: "same customer"}
        own_phones = select(customer_phones.c.number).where(customer_phones.c.customer_id == customer_id, customer_phones.c.contact_id.is_(None))
        own_emails = select(customer_emails.c.email).where(customer_emails.c.customer_id == customer_id, customer_emails.c.contact_id.is_(None))
        for table, column, label in ((customer_phones, customer_phones.c.number, "phone"), (customer_emails, customer_emails.c.email, "e-mail")):
            rows = self.uow.execute(
                select(table.c.customer_id, column)
                .join(customers, customers.c.id == table.c.customer_id)
                .where(column.in_(own_phones if label == "phone" else own_emails), table.c.contact_id.is_(None),
                       table.c.customer_id != customer_id, customers.c.active.is_(True))
            ).all()
            for other, value in rows:
                found.setdefault(other, f"same {label} {value}")
        return found

    def conflicts(self, partner_id: int, customer_id: int, product: str | None, *, ignore: int | None = None,
                  today: date | None = None) -> list[dict[str, Any]]:
        """What stands against a partner's registration of this end customer:
        other partners' registrations still protected, and customers of the
        same identity that direct sales worked on within the protection
        window."""
        today = today or self.today()
        identity = self._identity(customer_id)
        window = int(self.setting("protection_days"))
        found: list[dict[str, Any]] = []
        rows = self.uow.execute(select(t.registrations).where(
            t.registrations.c.customer_id.in_(identity), t.registrations.c.status.in_(OPEN_REGISTRATION),
            t.registrations.c.protected_until >= today, t.registrations.c.partner_id != partner_id,
        ).order_by(t.registrations.c.id)).mappings().all()
        names = self._names([r["partner_id"] for r in rows] + list(identity))
        for row in rows:
            if ignore is not None and row["id"] == ignore:
                continue
            found.append({"kind": "registration", "registration_id": row["id"], "partner_id": row["partner_id"],
                          "partner": names.get(row["partner_id"]), "customer_id": row["customer_id"],
                          "status": row["status"], "protected_until": row["protected_until"], "product": row["product"],
                          "match": identity[row["customer_id"]],
                          "message": f"partner {row['partner_id']} ({names.get(row['partner_id'])}) registered customer "
                                     f"{row['customer_id']} (registration {row['id']}, {row['status']}, protected until {row['protected_until']})"})
        since = self.local_start(today - timedelta(days=window))
        last = func.max(activities.c.occurred_at).label("last")
        worked = self.uow.execute(
            select(customers.c.id, customers.c.owner_id, last)
            .join(activities, and_(activities.c.customer_id == customers.c.id, activities.c.owner_id == customers.c.owner_id))
            .where(customers.c.id.in_(identity), customers.c.owner_id.isnot(None), activities.c.cancelled.is_(False),
                   activities.c.source_plugin != "partners", activities.c.occurred_at >= since,
                   customers.c.id.notin_(select(t.partners.c.customer_id)))
            .group_by(customers.c.id, customers.c.owner_id)
        ).all()
        partner_row = self._row(partner_id)
        owners = self._usernames(r.owner_id for r in worked)
        for cid, owner_id, last_at in worked:
            if partner_row and owner_id == partner_row["manager_id"]:
                continue  # the channel manager working the account is not direct competition
            last_day = last_at.astimezone(self.zone).date() if last_at else None
            found.append({"kind": "direct_sales", "customer_id": cid, "owner_id": owner_id, "owner": owners.get(owner_id),
                          "last_activity": last_day, "match": identity[cid],
                          "message": f"customer {cid} ({names.get(cid)}) is worked by direct sales: {owners.get(owner_id)}, "
                                     f"last activity {last_day} (within {window} days)"})
        return found

    def _registration_row(self, registration_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(t.registrations).where(t.registrations.c.id == registration_id)).mappings().first()
        if row is None:
            raise NotFound(f"registration {registration_id} not found")
        if self.uow.customers.find(row["partner_id"]) is None and self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"registration {registration_id} not found")
        return dict(row)

    def registration(self, registration_id: int) -> Registration:
        return Registration.from_row(self._registration_row(registration_id))

    def registration_view(self, registration: Registration | int) -> dict[str, Any]:
        if isinstance(registration, int):
            registration = self.registration(registration)
        view = registration.view()
        view["conflicts"] = self._masked_conflicts(view["conflicts"])
        names = self._names([registration.partner_id, registration.customer_id])
        view["partner"] = names.get(registration.partner_id)
        view["customer"] = names.get(registration.customer_id)
        return view

    def register(self, partner_id: int, customer_id: int, *, amount: Any, close: date, product: str | None = None,
                 notes: str | None = None) -> dict[str, Any]:
        """Register a partner's deal with an end customer. Conflicts are
        checked and kept on the registration; one without conflicts is
        approved at once unless ``auto_approve`` is ``never``."""
        self.uow.require("partners.register")
        partner = self.get(partner_id)
        if partner["status"] not in ("active", "under_review"):
            raise Conflict(f"partner {partner_id} is {partner['status']}; only active partners register deals")
        if customer_id == partner_id:
            raise ValidationError.field("customer", "a partner cannot register itself")
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled")
        if self.is_partner(customer_id):
            raise ValidationError.field("customer", f"customer {customer_id} is a partner, not an end customer")
        amount = money(amount)
        if close is None:
            raise ValidationError.field("close", "required")
        product = (product or "").strip() or None
        today = self.today()
        identity = self._identity(customer_id)
        mine = self.uow.execute(select(t.registrations.c.id, t.registrations.c.product).where(
            t.registrations.c.partner_id == partner_id, t.registrations.c.customer_id.in_(identity),
            t.registrations.c.status.in_(OPEN_REGISTRATION), t.registrations.c.protected_until >= today)).all()
        for existing_id, existing_product in mine:
            if existing_product is None or product is None or existing_product == product:
                raise Conflict(f"partner {partner_id} already registered customer {customer_id}"
                               + (f" for {existing_product}" if existing_product else "") + f" (registration {existing_id})")
        found = self.conflicts(partner_id, customer_id, product, today=today)
        protection = int(self.setting("protection_days"))
        values = {
            "partner_id": partner_id, "customer_id": customer_id, "product": product, "expected_amount": amount,
            "expected_close": close, "status": "pending", "conflicts": [_jsonable(c) for c in found],
            "protected_until": today + timedelta(days=protection), "notes": (notes or "").strip() or None,
            "created_at": self.uow.now, "created_by": self.uow.actor.id,
        }
        registration_id = self.uow.execute(insert(t.registrations).values(values)).inserted_primary_key[0]
        self.uow.audit.record("partners_registration", registration_id, "create", {
            "partner_id": partner_id, "customer_id": customer_id, "amount": str(amount), "close": str(close),
            "product": product, "conflicts": len(found)})
        self.uow.publish("partners.registration.created", {
            "registration_id": registration_id, "partner_id": partner_id, "customer_id": customer_id,
            "expected_amount": amount, "expected_close": close, "product": product, "conflicts": len(found)})
        if not found and self.setting("auto_approve") == "clean":
            self._approve(registration_id, "auto-approved: no conflict", decided_by=None, today=today)
        view = self.registration_view(registration_id)
        return view

    def approve(self, registration_id: int, reason: str | None = None, *, override: bool = False) -> dict[str, Any]:
        """Approve a pending registration. Conflicts are checked again; any
        still standing needs ``override`` (kept in the decision reason)."""
        self.uow.require("partners.approve")
        row = self._registration_row(registration_id)
        if row["status"] != "pending":
            raise Conflict(f"registration {registration_id} is {row['status']}, not pending")
        today = self.today()
        current = self.conflicts(row["partner_id"], row["customer_id"], row["product"], ignore=registration_id, today=today)
        if current and not override:
            raise Conflict(f"registration {registration_id} conflicts: " + "; ".join(c["message"] for c in current)
                           + " — reject it, or approve with --override and a reason")
        if current and not (reason or "").strip():
            raise ValidationError.field("reason", "required to override conflicts")
        text = (reason or "").strip() or None
        if current:
            text = f"override: {text}"
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id)
                         .values(conflicts=[_jsonable(c) for c in current]))
        self._approve(registration_id, text, decided_by=self.uow.actor.id, today=today)
        return self.registration_view(registration_id)

    def _approve(self, registration_id: int, reason: str | None, *, decided_by: int | None, today: date) -> None:
        protection = int(self.setting("protection_days"))
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            status="approved", decision_reason=reason, decided_at=self.uow.now, decided_by=decided_by,
            protected_until=today + timedelta(days=protection)))
        registration = self.registration(registration_id)
        self.uow.audit.record("partners_registration", registration_id, "approve",
                              {"customer_id": registration.customer_id, "status": ("pending", "approved"), **({"reason": reason} if reason else {})})
        self.uow.fire("crm_partners_registration_approved", ("partners_registration", registration_id), registration=registration)
        self.uow.publish("partners.registration.approved", {
            "registration_id": registration_id, "partner_id": registration.partner_id, "customer_id": registration.customer_id,
            "expected_amount": registration.expected_amount, "protected_until": registration.protected_until})

    def reject(self, registration_id: int, reason: str) -> dict[str, Any]:
        self.uow.require("partners.approve")
        if not (reason or "").strip():
            raise ValidationError.field("reason", "required to reject a registration")
        row = self._registration_row(registration_id)
        if row["status"] != "pending":
            raise Conflict(f"registration {registration_id} is {row['status']}, not pending")
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            status="rejected", decision_reason=reason.strip(), decided_at=self.uow.now, decided_by=self.uow.actor.id))
        self.uow.audit.record("partners_registration", registration_id, "reject", {"customer_id": row["customer_id"],
                                                                                      "status": ("pending", "rejected"), "reason": reason})
        return self.registration_view(registration_id)

    def progress(self, registration_id: int, note: str) -> dict[str, Any]:
        """Record progress on an approved deal; protection runs again from today."""
        self.uow.require("partners.register")
        if not (note or "").strip():
            raise ValidationError.field("note", "must not be empty")
        row = self._registration_row(registration_id)
        if row["status"] != "approved":
            raise Conflict(f"registration {registration_id} is {row['status']}; only approved deals record progress")
        protection = int(self.setting("protection_days"))
        until = self.today() + timedelta(days=protection)
        notes = "\n".join(filter(None, [row["notes"], f"{self.today()}: {note.strip()}"]))
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            last_progress_at=self.uow.now, protected_until=max(until, row["protected_until"]), notes=notes))
        self.uow.audit.record("partners_registration", registration_id, "progress",
                              {"customer_id": row["customer_id"],
                               "protected_until": (str(row["protected_until"]), str(max(until, row["protected_until"]))), "note": note})
        return self.registration_view(registration_id)

    def won(self, registration_id: int, amount: Any, on: date | None = None) -> dict[str, Any]:
        """Mark an approved deal won. Its close date is ``on``, else the
        expected close date, but never later than today."""
        self.uow.require("partners.register")
        row = self._registration_row(registration_id)
        if row["status"] != "approved":
            hint = " (approve it first)" if row["status"] == "pending" else ""
            raise Conflict(f"registration {registration_id} is {row['status']}; only approved deals can be won{hint}")
        amount = money(amount)
        today = self.today()
        closed_on = on or min(row["expected_close"], today)
        if closed_on > today:
            raise ValidationError.field("date", f"{closed_on} is in the future")
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            status="won", won_amount=amount, closed_on=closed_on))
        self.uow.audit.record("partners_registration", registration_id, "won",
                              {"customer_id": row["customer_id"], "status": ("approved", "won"), "won_amount": str(amount),
                               "closed_on": str(closed_on)})
        self.uow.publish("partners.registration.won", {"registration_id": registration_id, "partner_id": row["partner_id"],
                                                       "customer_id": row["customer_id"], "won_amount": amount, "closed_on": closed_on})
        return self.registration_view(registration_id)

    def lost(self, registration_id: int, reason: str | None = None, on: date | None = None) -> dict[str, Any]:
        self.uow.require("partners.register")
        row = self._registration_row(registration_id)
        if row["status"] != "approved":
            raise Conflict(f"registration {registration_id} is {row['status']}; only approved deals can be lost")
        closed_on = on or self.today()
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            status="lost", closed_on=closed_on, close_reason=(reason or "").strip() or None))
        self.uow.audit.record("partners_registration", registration_id, "lost",
                              {"customer_id": row["customer_id"], "status": ("approved", "lost"), "closed_on": str(closed_on),
                               **({"reason": reason} if reason else {})})
        return self.registration_view(registration_id)

    def reverse(self, registration_id: int, reason: str, on: date | None = None) -> dict[str, Any]:
        """A won deal was cancelled: it stops counting as won, and any
        commission paid on it is reversed in the current period."""
        self.uow.require("partners.commissions")
        if not (reason or "").strip():
            raise ValidationError.field("reason", "required to reverse a deal")
        row = self._registration_row(registration_id)
        if row["status"] != "won":
            raise Conflict(f"registration {registration_id} is {row['status']}; only won deals can be reversed")
        on = on or self.today()
        self.uow.execute(update(t.registrations).where(t.registrations.c.id == registration_id).values(
            status="reversed", close_reason=reason.strip()))
        line = self.uow.execute(select(t.commissions).where(
            t.commissions.c.registration_id == registration_id, t.commissions.c.kind == "commission")).mappings().first()
        reversal = None
        if line is not None:
            period = _same_kind_period(line["period"], on)
            values = {
                "partner_id": line["partner_id"], "registration_id": registration_id, "agreement_id": line["agreement_id"],
                "period": period, "kind": "reversal", "base_amount": -line["base_amount"], "amount": -line["amount"],
                "detail": {"reason": reason.strip(), "reverses_period": line["period"], "on": str(on)},
                "reverses_id": line["id"], "created_at": self.uow.now,
            }
            values["id"] = self.uow.execute(insert(t.commissions).values(values)).inserted_primary_key[0]
            reversal = _line_view(values)
        self.uow.audit.record("partners_registration", registration_id, "reverse", {
            "customer_id": row["customer_id"], "status": ("won", "reversed"), "reason": reason, **({"commission_reversed": str(-line["amount"])} if line else {})})
        view = self.registration_view(registration_id)
        view["reversal"] = reversal
        return view

    def expire(self, today: date | None = None) -> list[dict[str, Any]]:
        """Registrations whose protection ran out without being won or lost
        expire (meant for a daily scheduler)."""
        self.uow.require("partners.approve")
        today = today or self.today()
        rows = self.uow.execute(select(t.registrations.c.id, t.registrations.c.status, t.registrations.c.partner_id,
                                       t.registrations.c.customer_id, t.registrations.c.protected_until).where(
            t.registrations.c.status.in_(OPEN_REGISTRATION), t.registrations.c.protected_until < today)).all()
        if not rows:
            return []
        ids = [r.id for r in rows]
        self.uow.execute(update(t.registrations).where(t.registrations.c.id.in_(ids)).values(status="expired"))
        self.uow.audit.record("partners_registration", None, "expire", {"ids": ids, "today": str(today)})
        names = self._names([r.partner_id for r in rows] + [r.customer_id for r in rows])
        return [{"id": r.id, "was": r.status, "partner_id": r.partner_id, "partner": names.get(r.partner_id),
                 "customer_id": r.customer_id, "customer": names.get(r.customer_id), "protected_until": r.protected_until} for r in rows]

    def registrations(self, *, partner_id: int | None = None, customer_id: int | None = None, status: str | None = None,
                      limit: int = 200) -> list[dict[str, Any]]:
        query = select(t.registrations).order_by(t.registrations.c.id.desc()).limit(limit)
        if partner_id is not None:
            query = query.where(t.registrations.c.partner_id == partner_id)
        if customer_id is not None:
            query = query.where(t.registrations.c.customer_id == customer_id)
        if status:
            if status not in REGISTRATION_STATUSES:
                raise ValidationError.field("status", f"{status!r} is not one of {', '.join(REGISTRATION_STATUSES)}")
            query = query.where(t.registrations.c.status == status)
        visible = self.uow.customers.scope(select(customers.c.id))
        query = query.where(or_(t.registrations.c.partner_id.in_(visible), t.registrations.c.customer_id.in_(visible)))
        rows = self.uow.execute(query).mappings().all()
        names = self._names([r["partner_id"] for r in rows] + [r["customer_id"] for r in rows])
        return [{**Registration.from_row(r).view(), "conflicts": self._masked_conflicts(r["conflicts"]),
                 "partner": names.get(r["partner_id"]), "customer": names.get(r["customer_id"])} for r in rows]

    def _masked_conflicts(self, conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Conflicts as the actor may see them: the matching phone or e-mail
        masked without ``customers.view_contact_details``, as the core masks
        customers' details."""
        from crmcore.presenting import can_see_contact_details, mask_email
        from crmcore.phones import mask_phone

        if can_see_contact_details(self.uow):
            return conflicts
        masked = []
        for conflict in conflicts or []:
            match = conflict.get("match") if isinstance(conflict, dict) else None
            if isinstance(match, str) and match.startswith(("same phone ", "same e-mail ")):
                label, _, value = match.rpartition(" ")
                conflict = {**conflict, "match": f"{label} {mask_email(value) if '@' in value else mask_phone(value)}"}
            masked.append(conflict)
        return masked

    # =====================================================================
    # Lead assignment
    # =====================================================================

    def _lead(self, lead_id: int) -> Any:
        lead = self.uow.customers.get(lead_id)
        if not lead.active:
            raise Conflict(f"customer {lead_id} is cancelled")
        if lead.status != "potential":
            raise ValidationError.field("lead", f"customer {lead_id} is not a lead (status {lead.status}, leads are potential)")
        if self.is_partner(lead_id):
            raise ValidationError.field("lead", f"customer {lead_id} is a partner")
        return lead

    def loads(self) -> dict[int, int]:
        """Open leads per partner: offered or accepted, the lead still potential."""
        rows = self.uow.execute(
            select(t.assignments.c.partner_id, func.count())
            .join(customers, customers.c.id == t.assignments.c.customer_id)
            .where(t.assignments.c.status.in_(OPEN_ASSIGNMENT), customers.c.status == "potential", customers.c.active.is_(True))
            .group_by(t.assignments.c.partner_id)).all()
        return dict(rows)

    def _rank_context(self) -> dict[str, Any]:
        """What ranking reads, loaded once (a sweep over many leads reuses it
        and keeps ``loads`` up to date as it offers)."""
        rows = self.uow.execute(select(t.partners).where(t.partners.c.status == "active")).mappings().all()
        return {"rows": rows, "weights": {g["id"]: g["weight"] for g in self.grades()}, "loads": self.loads(),
                "names": self._names(r["customer_id"] for r in rows)}

    def rank(self, lead: Any, exclude: Iterable[int] = (), context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Active partners that may take this lead, best first.

        score = territory × industry × grade weight ÷ (1 + open leads).
        Territory: 3 for the lead's city, 2 its province, 1 its region, 0.5
        when the partner covers everywhere or the lead has no location; a
        partner whose territory does not cover the lead is left out. Industry:
        1.5 when the partner's industries hold the lead's, 1 when either has
        none, left out otherwise. Partners at their open-lead limit are left
        out. Ties go to the lower load, then the older partner.
        """
        excluded = set(exclude)
        context = context if context is not None else self._rank_context()
        rows, weights, loads, names = context["rows"], context["weights"], context["loads"], context["names"]
        ranked = []
        for row in rows:
            pid = row["customer_id"]
            if pid in excluded or pid == lead.id:
                continue
            places = row["territories"]
            if not places or not any((lead.city, lead.province, lead.region)):
                territory, matched = Decimal("0.5"), None
            elif lead.city and lead.city in places:
                territory, matched = Decimal(3), lead.city
            elif lead.province and lead.province in places:
                territory, matched = Decimal(2), lead.province
            elif lead.region and lead.region in places:
                territory, matched = Decimal(1), lead.region
            else:
                continue
            if row["industries"] and lead.industry:
                if lead.industry not in row["industries"]:
                    continue
                industry = Decimal("1.5")
            else:
                industry = Decimal(1)
            load = loads.get(pid, 0)
            if row["max_open_leads"] is not None and load >= row["max_open_leads"]:
                continue
            weight = weights.get(row["grade_id"], 1)
            score = (territory * industry * weight / (1 + load)).quantize(Decimal("0.0001"))
            ranked.append({"partner_id": pid, "partner": names.get(pid), "score": score, "territory": territory,
                           "territory_match": matched, "industry": industry, "grade_weight": weight, "load": load})
        ranked.sort(key=lambda c: (-c["score"], c["load"], c["partner_id"]))
        return ranked

    def _tried(self, lead_id: int) -> set[int]:
        return set(self.uow.execute(select(t.assignments.c.partner_id).where(t.assignments.c.customer_id == lead_id)).scalars())

    def open_assignment(self, lead_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(select(t.assignments).where(
            t.assignments.c.customer_id == lead_id, t.assignments.c.status.in_(OPEN_ASSIGNMENT))
            .order_by(t.assignments.c.id.desc())).mappings().first()
        return None if row is None else dict(row)

    def assign(self, lead_id: int, *, partner_id: int | None = None, auto: bool = False, hours: int | None = None,
               replace: bool = False, reason: str | None = None) -> dict[str, Any]:
        """Offer a lead to a partner, chosen by ``rank`` (``auto``) or by hand.
        The partner must accept before the deadline or the lead moves on."""
        self.uow.require("partners.assign")
        if auto == (partner_id is not None):
            raise ValidationError.field("partner", "give either --auto or --partner")
        lead = self._lead(lead_id)
        previous = self.open_assignment(lead_id)
        if previous is not None:
            if not replace:
                raise Conflict(f"lead {lead_id} is already {previous['status']} by partner {previous['partner_id']} "
                               f"(assignment {previous['id']}); use --replace to take it back")
        candidates: list[dict[str, Any]] = []
        if auto:
            exclude = {previous["partner_id"]} if previous else set()
            candidates = self.rank(lead, exclude)
            if not candidates:
                raise Conflict(f"lead {lead_id}: no active partner covers {lead.city or lead.province or lead.region or 'it'}"
                               + (f" ({lead.industry})" if lead.industry else "") + " with room for more leads")
            chosen = candidates[0]
            partner_id, score = chosen["partner_id"], chosen["score"]
        else:
            partner = self.get(partner_id)
            if partner["status"] != "active":
                raise Conflict(f"partner {partner_id} is {partner['status']}; leads go to active partners")
            if partner_id == lead_id:
                raise ValidationError.field("partner", "a lead cannot be assigned to itself")
            score = None
        if previous is not None:
            self._close_assignment(previous["id"], "withdrawn", reason or "replaced")
        assignment = self._offer(lead_id, partner_id, "auto" if auto else "manual", score, hours,
                                 previous_id=previous["id"] if previous else None, reason=reason)
        assignment["candidates"] = candidates[:5]
        return assignment

    def _offer(self, lead_id: int, partner_id: int, method: str, score: Decimal | None, hours: int | None,
               previous_id: int | None = None, reason: str | None = None) -> dict[str, Any]:
        hours = int(hours if hours is not None else self.setting("accept_hours"))
        if hours <= 0:
            raise ValidationError.field("hours", "must be more than zero")
        values = {
            "customer_id": lead_id, "partner_id": partner_id, "method": method, "score": score, "status": "offered",
            "assigned_at": self.uow.now, "deadline_at": self.uow.now + timedelta(hours=hours), "previous_id": previous_id,
            "reason": (reason or "").strip() or None, "assigned_by": self.uow.actor.id,
        }
        assignment_id = self.uow.execute(insert(t.assignments).values(values)).inserted_primary_key[0]
        self.uow.audit.record("partners_assignment", assignment_id, "offer", {
            "customer_id": lead_id, "lead": lead_id, "partner_id": partner_id, "method": method, **({"score": str(score)} if score is not None else {})})
        partner = self.uow.execute(select(customers.c.name, customers.c.emails, customers.c.phones).where(customers.c.id == partner_id)).first()
        lead = self.uow.execute(select(customers.c.name, customers.c.city, customers.c.kind).where(customers.c.id == lead_id)).first()
        deadline = values["deadline_at"].astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        # The offer goes to the partner (purpose "service": it must receive the
        # work it is offered). It names the lead only when that shares nobody's
        # personal data without consent: the lead is an organisation, or has
        # granted "sharing" (on any channel); otherwise number and city only.
        named = lead.kind == "organization" or self.shares(lead_id)
        label = lead.name if named else f"#{lead_id}"
        subject = f"新线索分配：{label}（请于 {deadline} 前接受）"
        body = (f"{partner.name}：\n\n我们向贵司分配了线索 {label}（{lead.city or '—'}，编号 {lead_id}），分配编号 {assignment_id}。\n"
                f"请于 {deadline} 前接受，逾期将转给其他伙伴。\n"
                + ("" if named else "客户尚未同意向合作伙伴提供其个人信息：接受后请与渠道经理联系。\n"))
        channel, recipient = ("email", partner.emails[0]) if partner.emails else ("sms", partner.phones[0]) if partner.phones else (None, None)
        notice = "no address"
        if channel is not None:
            if not self.uow.consents.allows(partner_id, "service", channel):
                notice = "no consent"
            else:
                self.uow.outbox.put(channel, recipient, subject, body if channel == "email" else None, customer_id=partner_id,
                                    purpose="service", dedupe_key=f"partners:assignment:{assignment_id}",
                                    payload={"assignment_id": assignment_id})
                notice = "queued"
        self.uow.publish("partners.lead.assigned", {"assignment_id": assignment_id, "customer_id": lead_id, "partner_id": partner_id,
                                                    "method": method, "deadline_at": values["deadline_at"]})
        view = self.assignment(assignment_id)
        view["notice"] = notice
        return view

    def shares(self, customer_id: int) -> bool:
        """May this customer's personal data go to a partner: has it granted
        the ``sharing`` purpose on any channel (or does sharing need no consent)?"""
        consents = self.uow.consents
        return any(consents.allows(customer_id, "sharing", channel) for channel in consents.settings.channels)

    def _close_assignment(self, assignment_id: int, status: str, reason: str | None, responded: bool = False) -> None:
        values: dict[str, Any] = {"status": status, "reason": (reason or "").strip() or None}
        if responded:
            values["responded_at"] = self.uow.now
        self.uow.execute(update(t.assignments).where(t.assignments.c.id == assignment_id).values(values))
        lead_id = self.uow.execute(select(t.assignments.c.customer_id).where(t.assignments.c.id == assignment_id)).scalar_one()
        self.uow.audit.record("partners_assignment", assignment_id, status, {"customer_id": lead_id, "status": (None, status),
                                                                             **({"reason": reason} if reason else {})})

    def assignment(self, assignment_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(t.assignments).where(t.assignments.c.id == assignment_id)).mappings().first()
        if row is None:
            raise NotFound(f"assignment {assignment_id} not found")
        names = self._names([row["customer_id"], row["partner_id"]])
        view = dict(row)
        view["lead"] = names.get(row["customer_id"])
        view["partner"] = names.get(row["partner_id"])
        view["response_hours"] = _hours(row["assigned_at"], row["responded_at"])
        return view

    def accept(self, assignment_id: int) -> dict[str, Any]:
        self.uow.require("partners.assign")
        row = self.assignment(assignment_id)
        if row["status"] != "offered":
            raise Conflict(f"assignment {assignment_id} is {row['status']}, not offered")
        if self.uow.now > row["deadline_at"]:
            raise Conflict(f"assignment {assignment_id}: the deadline {row['deadline_at'].astimezone(self.zone):%Y-%m-%d %H:%M} has passed")
        self._close_assignment(assignment_id, "accepted", None, responded=True)
        return self.assignment(assignment_id)

    def decline(self, assignment_id: int, reason: str | None = None) -> dict[str, Any]:
        """The partner turns the lead down; it goes to the next best partner
        that has not had it yet."""
        self.uow.require("partners.assign")
        row = self.assignment(assignment_id)
        if row["status"] not in OPEN_ASSIGNMENT:
            raise Conflict(f"assignment {assignment_id} is {row['status']}")
        self._close_assignment(assignment_id, "declined", reason, responded=row["status"] == "offered")
        result = self.assignment(assignment_id)
        result["next"] = self._pass_on(row["customer_id"], assignment_id)
        return result

    def _pass_on(self, lead_id: int, previous_id: int, context: dict[str, Any] | None = None) -> dict[str, Any]:
        """Offer the lead to the best partner that has not had it yet."""
        lead = self.uow.customers.find(lead_id)
        if lead is None or not lead.active or lead.status != "potential":
            return {"lead_id": lead_id, "assignment_id": None, "partner_id": None, "note": "no longer a lead"}
        candidates = self.rank(lead, self._tried(lead_id), context)
        if not candidates:
            return {"lead_id": lead_id, "assignment_id": None, "partner_id": None, "note": "no other partner covers it: left unassigned"}
        chosen = candidates[0]
        offer = self._offer(lead_id, chosen["partner_id"], "auto", chosen["score"], None, previous_id=previous_id, reason="reassigned")
        if context is not None:
            context["loads"][chosen["partner_id"]] = context["loads"].get(chosen["partner_id"], 0) + 1
        return {"lead_id": lead_id, "assignment_id": offer["id"], "partner_id": chosen["partner_id"], "partner": chosen["partner"],
                "score": chosen["score"], "note": "reassigned"}

    def reassign_overdue(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Offers not accepted by their deadline expire and their leads go to
        the next best partner (meant for a scheduler, e.g. hourly)."""
        self.uow.require("partners.assign")
        now = now or self.uow.now
        rows = self.uow.execute(select(t.assignments).where(
            t.assignments.c.status == "offered", t.assignments.c.deadline_at < now).order_by(t.assignments.c.id)).mappings().all()
        results = []
        if not rows:
            return results
        self.uow.execute(update(t.assignments).where(t.assignments.c.id.in_([r["id"] for r in rows]))
                         .values(status="expired", reason="not accepted by the deadline"))
        self.uow.audit.record("partners_assignment", None, "expire", {"ids": [r["id"] for r in rows]})
        context = self._rank_context()  # loads counted after the expired offers were closed
        for row in rows:
            moved = self._pass_on(row["customer_id"], row["id"], context)
            results.append({"expired_assignment": row["id"], "from_partner_id": row["partner_id"], **moved})
        return results

    def assignments(self, *, lead_id: int | None = None, partner_id: int | None = None, status: str | None = None,
                    limit: int = 200) -> list[dict[str, Any]]:
        query = select(t.assignments).order_by(t.assignments.c.id.desc()).limit(limit)
        if lead_id is not None:
            query = query.where(t.assignments.c.customer_id == lead_id)
        if partner_id is not None:
            query = query.where(t.assignments.c.partner_id == partner_id)
        if status:
            query = query.where(t.assignments.c.status == status)
        visible = self.uow.customers.scope(select(customers.c.id))
        query = query.where(or_(t.assignments.c.partner_id.in_(visible), t.assignments.c.customer_id.in_(visible)))
        rows = self.uow.execute(query).mappings().all()
        names = self._names([r["partner_id"] for r in rows] + [r["customer_id"] for r in rows])
        return [{**dict(r), "lead": names.get(r["customer_id"]), "partner": names.get(r["partner_id"]),
                 "response_hours": _hours(r["assigned_at"], r["responded_at"])} for r in rows]

    # =====================================================================
    # Commissions
    # =====================================================================

    def compute_commissions(self, period: str, partner_id: int | None = None) -> dict[str, Any]:
        """Commission lines for deals won in ``period`` that have none yet,
        under the agreement in force on each deal's close date. Safe to run
        again: deals already paid are not paid twice, and a late deal is paid
        the difference it makes to the period's tiers."""
        self.uow.require("partners.commissions")
        span = Period.parse(period)
        if partner_id is not None:
            self.get(partner_id)
        paid = select(t.commissions.c.registration_id).where(t.commissions.c.kind == "commission")
        query = select(t.registrations).where(
            t.registrations.c.status == "won", t.registrations.c.closed_on >= span.start, t.registrations.c.closed_on <= span.end,
            t.registrations.c.id.notin_(paid)).order_by(t.registrations.c.closed_on, t.registrations.c.id)
        if partner_id is not None:
            query = query.where(t.registrations.c.partner_id == partner_id)
        deals = self.uow.execute(query).mappings().all()
        new_lines: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        before: dict[int, Decimal] = {}
        for deal in deals:
            agreement = self._agreement_for(deal["partner_id"], deal["closed_on"], deal["product"])
            if agreement is None:
                skipped.append({"registration_id": deal["id"], "partner_id": deal["partner_id"], "closed_on": deal["closed_on"],
                                "reason": f"no agreement of partner {deal['partner_id']} in force on {deal['closed_on']}"
                                          + (f" for {deal['product']}" if deal["product"] else "")})
                continue
            terms = Terms.from_row(agreement)
            if agreement["id"] not in before:
                before[agreement["id"]] = self._period_base(agreement["id"], span)
            base = before[agreement["id"]]
            amount = terms.increment(base, deal["won_amount"])
            before[agreement["id"]] = base + deal["won_amount"]
            values = {
                "partner_id": deal["partner_id"], "registration_id": deal["id"], "agreement_id": agreement["id"],
                "period": span.name, "kind": "commission", "base_amount": deal["won_amount"], "amount": amount,
                "detail": {"terms": terms.describe(), "closed_on": str(deal["closed_on"]), "revenue_before": str(base),
                           "effective_rate": str((amount * 100 / deal["won_amount"]).quantize(Decimal("0.0001")))},
                "reverses_id": None, "created_at": self.uow.now,
            }
            values["id"] = self.uow.execute(insert(t.commissions).values(values)).inserted_primary_key[0]
            new_lines.append(_line_view(values))
        if new_lines:
            total = sum((line["amount"] for line in new_lines), Decimal(0))
            self.uow.audit.record("partners_commission", span.name, "compute", {"lines": len(new_lines), "total": str(total)})
            self.uow.publish("partners.commissions.computed", {"period": span.name, "lines": len(new_lines), "total": total,
                                                               "partner_ids": sorted({line["partner_id"] for line in new_lines})})
        summary = self.commission_summary(span.name, partner_id)
        return {"period": span.name, "from": span.start, "to": span.end, "computed": len(new_lines), "lines": new_lines,
                "skipped": skipped, "partners": summary,
                "total": sum((p["net"] for p in summary), Decimal("0.00"))}

    def _period_base(self, agreement_id: int, span: Period) -> Decimal:
        """Revenue already commissioned under this agreement for deals closed in the period."""
        value = self.uow.execute(
            select(func.coalesce(func.sum(t.commissions.c.base_amount), 0))
            .join(t.registrations, t.registrations.c.id == t.commissions.c.registration_id)
            .where(t.commissions.c.agreement_id == agreement_id, t.commissions.c.kind == "commission",
                   t.registrations.c.closed_on >= span.start, t.registrations.c.closed_on <= span.end)).scalar_one()
        return Decimal(value)

    def commission_lines(self, period: str, partner_id: int | None = None) -> list[dict[str, Any]]:
        name = Period.parse(period).name
        query = select(t.commissions).where(t.commissions.c.period == name).order_by(t.commissions.c.partner_id, t.commissions.c.id)
        if partner_id is not None:
            query = query.where(t.commissions.c.partner_id == partner_id)
        query = query.where(t.commissions.c.partner_id.in_(self.uow.customers.scope(select(customers.c.id))))
        return [_line_view(dict(row)) for row in self.uow.execute(query).mappings()]

    def commission_summary(self, period: str, partner_id: int | None = None) -> list[dict[str, Any]]:
        lines = self.commission_lines(period, partner_id)
        names = self._names(line["partner_id"] for line in lines)
        totals: dict[int, dict[str, Any]] = {}
        for line in lines:
            entry = totals.setdefault(line["partner_id"], {
                "partner_id": line["partner_id"], "partner": names.get(line["partner_id"]), "deals": 0,
                "revenue": Decimal("0.00"), "commission": Decimal("0.00"), "reversals": Decimal("0.00"), "net": Decimal("0.00")})
            if line["kind"] == "commission":
                entry["deals"] += 1
                entry["revenue"] += line["base_amount"]
                entry["commission"] += line["amount"]
            else:
                entry["reversals"] += line["amount"]
            entry["net"] += line["amount"]
        return list(totals.values())

    def statement(self, partner_id: int, period: str, *, send: bool = False) -> dict[str, Any]:
        """A partner's commission statement for a period: every line, the
        agreement terms, totals; ``send`` queues it to the partner by e-mail."""
        self.uow.require("partners.commissions")
        partner = self.get(partner_id)
        span = Period.parse(period)
        lines = self.commission_lines(span.name, partner_id)
        registrations = {r["id"]: r for r in self.uow.execute(select(t.registrations).where(
            t.registrations.c.id.in_([line["registration_id"] for line in lines]))).mappings()} if lines else {}
        customers_named = self._names(r["customer_id"] for r in registrations.values())
        for line in lines:
            reg = registrations.get(line["registration_id"])
            line["customer_id"] = reg["customer_id"] if reg else None
            line["customer"] = customers_named.get(reg["customer_id"]) if reg else None
            line["product"] = reg["product"] if reg else None
            line["closed_on"] = reg["closed_on"] if reg else None
        summary = next(iter(self.commission_summary(span.name, partner_id)), None) or {
            "deals": 0, "revenue": Decimal("0.00"), "commission": Decimal("0.00"), "reversals": Decimal("0.00"), "net": Decimal("0.00")}
        result = {"partner_id": partner_id, "partner": partner["name"], "period": span.name, "from": span.start, "to": span.end,
                  "lines": lines, "deals": summary["deals"], "revenue": summary["revenue"], "commission": summary["commission"],
                  "reversals": summary["reversals"], "net": summary["net"], "sent_to": None, "suppressed": None}
        if send:
            customer = self.uow.customers.get(partner_id)
            if not customer.emails:
                raise ValidationError.field("send", f"partner {partner_id} has no e-mail address")
            body = "\n".join([f"{partner['name']} 佣金结算单 {span.name}（{span.start} 至 {span.end}）", ""]
                             + [f"{line['kind']:<10} 登记 #{line['registration_id']} {line['customer'] or ''} 业绩 {line['base_amount']} 佣金 {line['amount']}"
                                for line in lines]
                             + ["", f"成交 {summary['deals']} 笔，业绩 {summary['revenue']}，佣金 {summary['commission']}，冲销 {summary['reversals']}，应付 {summary['net']}"])
            digest = hashlib.sha1(body.encode()).hexdigest()[:12]
            if not self.uow.consents.allows(partner_id, "service", "email"):
                result["suppressed"] = "no consent"
                return result
            self.uow.outbox.put("email", customer.emails[0], f"佣金结算单 {span.name}：{partner['name']}", body, customer_id=partner_id,
                                purpose="service", dedupe_key=f"partners:statement:{partner_id}:{span.name}:{digest}",
                                payload={"partner_id": partner_id, "period": span.name, "net": summary["net"]})
            result["sent_to"] = customer.emails[0]
        return result

    # =====================================================================
    # Performance
    # =====================================================================

    def performance(self, period: str | None = None, partner_ids: Iterable[int] | None = None) -> list[dict[str, Any]]:
        """Per partner: registered, won, lost, win rate, revenue, open
        pipeline, leads assigned and accepted, average response time,
        commissions earned (net of reversals) in the period."""
        span = Period.parse(period) if period else Period.quarter_of(self.today())
        query = select(t.partners.c.customer_id).join(customers, customers.c.id == t.partners.c.customer_id)
        if partner_ids is not None:
            query = query.where(t.partners.c.customer_id.in_(list(partner_ids)))
        ids = list(self.uow.execute(self.uow.customers.scope(query.order_by(t.partners.c.customer_id))).scalars())
        if not ids:
            return []
        start, end = self.local_start(span.start), self.local_start(span.end + timedelta(days=1))
        r = t.registrations
        per: dict[int, dict[str, Any]] = {pid: {
            "partner_id": pid, "period": span.name, "registered": 0, "won": 0, "lost": 0, "win_rate": None,
            "revenue": Decimal("0.00"), "pipeline": Decimal("0.00"), "open_deals": 0, "leads": 0, "accepted": 0,
            "declined": 0, "expired": 0, "avg_response_hours": None, "commissions": Decimal("0.00")} for pid in ids}
        for pid, count in self.uow.execute(select(r.c.partner_id, func.count()).where(
                r.c.partner_id.in_(ids), r.c.created_at >= start, r.c.created_at < end).group_by(r.c.partner_id)):
            per[pid]["registered"] = count
        for pid, status, count, revenue in self.uow.execute(select(r.c.partner_id, r.c.status, func.count(), func.sum(r.c.won_amount)).where(
                r.c.partner_id.in_(ids), r.c.status.in_(("won", "lost")), r.c.closed_on >= span.start, r.c.closed_on <= span.end)
                .group_by(r.c.partner_id, r.c.status)):
            per[pid][status] = count
            if status == "won":
                per[pid]["revenue"] = round_money(Decimal(revenue or 0))
        for pid, count, amount in self.uow.execute(select(r.c.partner_id, func.count(), func.sum(r.c.expected_amount)).where(
                r.c.partner_id.in_(ids), r.c.status == "approved").group_by(r.c.partner_id)):
            per[pid]["open_deals"] = count
            per[pid]["pipeline"] = round_money(Decimal(amount or 0))
        a = t.assignments
        responses: dict[int, list[float]] = {}
        for row in self.uow.execute(select(a.c.partner_id, a.c.status, a.c.assigned_at, a.c.responded_at).where(
                a.c.partner_id.in_(ids), a.c.assigned_at >= start, a.c.assigned_at < end)):
            entry = per[row.partner_id]
            entry["leads"] += 1
            if row.status in ("accepted", "declined", "expired"):
                entry[row.status] += 1
            if row.responded_at is not None:
                responses.setdefault(row.partner_id, []).append(_hours(row.assigned_at, row.responded_at))
        for pid, values in responses.items():
            per[pid]["avg_response_hours"] = round(sum(values) / len(values), 1)
        c = t.commissions
        earned = self.uow.execute(select(c.c.partner_id, func.sum(c.c.amount)).join(r, r.c.id == c.c.registration_id).where(
            c.c.partner_id.in_(ids), c.c.kind == "commission", r.c.closed_on >= span.start, r.c.closed_on <= span.end)
            .group_by(c.c.partner_id)).all()
        reversed_ = self.uow.execute(select(c.c.partner_id, func.sum(c.c.amount)).where(
            c.c.partner_id.in_(ids), c.c.kind == "reversal", c.c.created_at >= start, c.c.created_at < end).group_by(c.c.partner_id)).all()
        for pid, amount in [*earned, *reversed_]:
            per[pid]["commissions"] = round_money(per[pid]["commissions"] + Decimal(amount or 0))
        rows = self.uow.execute(select(t.partners.c.customer_id, t.partners.c.grade_id, t.partners.c.status).where(t.partners.c.customer_id.in_(ids))).all()
        grades = {g["id"]: g["name"] for g in self.grades()}
        names = self._names(ids)
        for pid, grade_id, status in rows:
            entry = per[pid]
            entry["partner"] = names.get(pid)
            entry["grade"] = grades.get(grade_id)
            entry["status"] = status
            closed = entry["won"] + entry["lost"]
            entry["win_rate"] = None if closed == 0 else (Decimal(entry["won"] * 100) / closed).quantize(Decimal("0.1"))
        return [per[pid] for pid in ids]

    def scorecard(self, partner_id: int, period: str | None = None) -> dict[str, Any]:
        """A partner's performance and what grade it has earned: the best grade
        whose yearly revenue (prorated to the period's length) and minimum win
        rate the partner meets. Default period: the last 365 days."""
        partner = self.get(partner_id)
        span = Period.parse(period) if period else Period.trailing_year(self.today())
        metrics = self.performance(span.name, [partner_id])[0]
        factor = Decimal(span.days) / Decimal(365)
        grades = self.grades()
        earned, checks = None, []
        for grade in grades:  # best first
            needed = round_money(Decimal(grade["min_revenue"]) * factor)
            revenue_ok = metrics["revenue"] >= needed
            rate_needed = _norm(grade["min_win_rate"])
            rate_ok = rate_needed is None or (metrics["win_rate"] is not None and metrics["win_rate"] >= rate_needed)
            checks.append({"grade": grade["name"], "weight": grade["weight"], "revenue_needed": needed,
                           "win_rate_needed": rate_needed, "meets": revenue_ok and rate_ok})
            if earned is None and revenue_ok and rate_ok:
                earned = grade
        current = next((g for g in grades if g["name"] == partner["grade"]), None)
        if earned is None:
            suggestion, reason = ("review", "meets no grade's requirements") if grades else ("keep", "no grades are configured")
        elif current is None:
            suggestion, reason = "set", f"no grade yet; results earn {earned['name']}"
        elif earned["weight"] > current["weight"]:
            suggestion, reason = "upgrade", f"results earn {earned['name']} (now {current['name']})"
        elif earned["weight"] < current["weight"]:
            suggestion, reason = "downgrade", f"results earn only {earned['name']} (now {current['name']})"
        else:
            suggestion, reason = "keep", f"results match {current['name']}"
        return {"partner_id": partner_id, "partner": partner["name"], "status": partner["status"], "grade": partner["grade"],
                "period": span.name, "from": span.start, "to": span.end, **{k: v for k, v in metrics.items() if k not in ("partner_id", "partner", "grade", "status", "period")},
                "suggested_grade": earned["name"] if earned else None, "suggestion": suggestion, "reason": reason, "grade_checks": checks}

    # =====================================================================
    # Integration
    # =====================================================================

    def panel_data(self, customer_id: int) -> dict[str, Any] | None:
        row = self._row(customer_id)
        if row is not None:
            partner = self._view(row)
            today = self.today()
            current = [a for a in self.agreements(customer_id) if a["state"] in ("active", "scheduled")]
            pipeline = self.uow.execute(select(func.count(), func.coalesce(func.sum(t.registrations.c.expected_amount), 0)).where(
                t.registrations.c.partner_id == customer_id, t.registrations.c.status.in_(OPEN_REGISTRATION))).one()
            year = Period.parse(str(today.year))
            won = self.uow.execute(select(func.coalesce(func.sum(t.registrations.c.won_amount), 0)).where(
                t.registrations.c.partner_id == customer_id, t.registrations.c.status == "won",
                t.registrations.c.closed_on >= year.start, t.registrations.c.closed_on <= year.end)).scalar_one()
            return {"role": "partner", "type": partner["type_label"], "grade": partner["grade"], "status": partner["status_label"],
                    "manager": partner["manager"], "territories": partner["territories"],
                    "agreements": [f"#{a['id']} {a['starts_on']}..{a['ends_on']} {a['commission']} ({a['state']})" for a in current],
                    "open_deals": pipeline[0], "pipeline": round_money(Decimal(pipeline[1])),
                    "won_this_year": round_money(Decimal(won)), "open_leads": self.loads().get(customer_id, 0)}
        regs = self.uow.execute(select(t.registrations).where(t.registrations.c.customer_id == customer_id)
                                .order_by(t.registrations.c.id.desc()).limit(10)).mappings().all()
        assignment = self.open_assignment(customer_id)
        if not regs and assignment is None:
            return None
        names = self._names([r["partner_id"] for r in regs] + ([assignment["partner_id"]] if assignment else []))
        return {"role": "end customer",
                "registrations": [f"#{r['id']} {names.get(r['partner_id'])} {r['status']} {r['expected_amount']}"
                                  + (f" {r['product']}" if r["product"] else "") for r in regs],
                "served_by": f"{names.get(assignment['partner_id'])} ({assignment['status']}, assignment #{assignment['id']})" if assignment else None}

    def merge(self, kept_id: int, merged_id: int) -> None:
        """Move every record of ``merged`` to ``kept`` (crm_customer_merged)."""
        for table, column in ((t.registrations, "customer_id"), (t.registrations, "partner_id"), (t.assignments, "customer_id"),
                              (t.assignments, "partner_id"), (t.agreements, "partner_id"), (t.commissions, "partner_id"),
                              (t.status_history, "partner_id")):
            self.uow.execute(update(table).where(table.c[column] == merged_id).values({column: kept_id}))
        merged_partner, kept_partner = self._row(merged_id), self._row(kept_id)
        if merged_partner is not None:
            if kept_partner is None:
                self.uow.execute(update(t.partners).where(t.partners.c.customer_id == merged_id).values(customer_id=kept_id, updated_at=self.uow.now))
            else:
                self.uow.execute(delete(t.partners).where(t.partners.c.customer_id == merged_id))
            self.uow.audit.record(ENTITY, kept_id, "merge", {"customer_id": kept_id, "merged_partner": merged_id, "kept_was_partner": kept_partner is not None})
        # a customer cannot be assigned to itself after the merge
        self.uow.execute(update(t.assignments).where(t.assignments.c.customer_id == t.assignments.c.partner_id,
                                                     t.assignments.c.status.in_(OPEN_ASSIGNMENT)).values(status="withdrawn", reason="merged"))

    def hand_over(self, user_id: int, successor_id: int | None) -> int:
        """Partners managed by a departing user go to the successor."""
        if successor_id is None:
            managed = self.uow.execute(select(func.count()).select_from(t.partners).where(t.partners.c.manager_id == user_id)).scalar_one()
            if managed:
                raise ValidationError.field("reassign-to", f"the user still manages {managed} partner(s); name who takes them over")
            return 0
        return self.uow.execute(update(t.partners).where(t.partners.c.manager_id == user_id)
                                .values(manager_id=successor_id, updated_at=self.uow.now)).rowcount


def _norm(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else Decimal(pct(rate))


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 3600, 2)


def _line_view(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "partner_id", "registration_id", "agreement_id", "period", "kind", "base_amount", "amount", "detail", "reverses_id")
    view = {k: values.get(k) for k in keys}
    view["base_amount"] = round_money(Decimal(view["base_amount"]))
    view["amount"] = round_money(Decimal(view["amount"]))
    return view


def _jsonable(value: Any) -> Any:
    from crmcore import jsonable

    return jsonable(value)


def _same_kind_period(period: str, day: date) -> str:
    """The period of the same length as ``period`` that holds ``day``."""
    if "-Q" in period:
        return Period.quarter_of(day).name
    if "-H" in period:
        return f"{day.year}-H{1 if day.month <= 6 else 2}"
    if len(period) == 7:
        return f"{day.year}-{day.month:02d}"
    if len(period) == 4:
        return str(day.year)
    return Period.quarter_of(day).name
