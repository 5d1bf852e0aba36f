"""Club configuration: settings, tiers, points plans and their earning rules."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from crmcore import Conflict, NotFound, ValidationError

from crm_membership.common import add_months, one_of, parse_day, parse_decimal, require_text
from crm_membership.tables import members, plans, rules, settings, tiers

if TYPE_CHECKING:
    from crmcore import UnitOfWork

DEFAULTS: dict[str, Any] = {
    "card_mode": "pattern",          # pattern | pool
    "card_pattern": "M{seq:08d}",    # str.format fields: seq, year
    "tier_window_days": 365,         # upgrade points counted over this rolling window
    "key_fields": ["name", "phone"],  # an application missing one is flagged
    "tier_upgrade_message": True,    # queue the tier_upgrade care message on an upgrade
    "care_channel": "sms",           # default channel of automatic care messages
    "apply_on_purchase": False,      # a non-member's purchase files an application (channel purchase)
}
SETTING_TYPES = {"card_mode": str, "card_pattern": str, "tier_window_days": int, "key_fields": list,
                 "tier_upgrade_message": bool, "care_channel": str, "apply_on_purchase": bool}
SOURCES = ("purchase", "event", "online_join", "referral", "manual")
CARRY_TO_AWARD = "award"


class Settings:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def get(self, key: str) -> Any:
        value = self.uow.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
        return DEFAULTS.get(key) if value is None else value.get("v")

    def set(self, key: str, value: Any) -> Any:
        if key in SETTING_TYPES:
            value = _convert_setting(key, value)
        elif not key.startswith("_"):
            raise ValidationError.field("key", f"{key!r} is not a setting ({', '.join(sorted(SETTING_TYPES))})")
        if key == "card_mode":
            one_of(value, "card_mode", ("pattern", "pool"))
        if key == "card_pattern":
            try:
                value.format(seq=1, year=2026)
            except (KeyError, ValueError, IndexError) as error:
                raise ValidationError.field("card_pattern", f"{value!r} is not a pattern ({error}); use e.g. M{{seq:08d}}") from None
            if "{seq" not in value:
                raise ValidationError.field("card_pattern", "must contain {seq}")
        if key == "care_channel":
            one_of(value, "care_channel", ("sms", "email"))
        before = self.get(key)
        exists = self.uow.execute(select(settings.c.key).where(settings.c.key == key)).first()
        if exists:
            self.uow.execute(update(settings).where(settings.c.key == key).values(value={"v": value}))
        else:
            self.uow.execute(insert(settings).values(key=key, value={"v": value}))
        if not key.startswith("_"):
            self.uow.audit.record("membership_setting", key, "update", {key: (before, value)})
        return value

    def all(self) -> dict[str, Any]:
        return {key: self.get(key) for key in DEFAULTS}


def _convert_setting(key: str, value: Any) -> Any:
    kind = SETTING_TYPES[key]
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    text = str(value).strip()
    if kind is int:
        try:
            number = int(text)
        except ValueError:
            raise ValidationError.field(key, f"{value!r} is not a whole number") from None
        if number <= 0:
            raise ValidationError.field(key, "must be positive")
        return number
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on", "是"):
            return True
        if text.lower() in ("0", "false", "no", "off", "否"):
            return False
        raise ValidationError.field(key, f"{value!r} is not yes or no")
    if kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


class Tiers:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def add(self, name: str, *, level: int, multiplier: Any = "1", upgrade_points: int = 0, manual_only: bool = False,
            benefits: dict[str, Any] | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        name = require_text(name, "name", 40)
        multiplier = parse_decimal(multiplier, "multiplier")
        if multiplier > 100:
            raise ValidationError.field("multiplier", "must be at most 100")
        if upgrade_points is None or int(upgrade_points) < 0:
            raise ValidationError.field("upgrade_points", "must be zero or more")
        if self.find(name):
            raise Conflict(f"name: tier {name!r} exists")
        if self.uow.execute(select(tiers.c.id).where(tiers.c.level == int(level))).first():
            raise Conflict(f"level: another tier has level {level}")
        values = {"name": name, "level": int(level), "multiplier": multiplier, "upgrade_points": int(upgrade_points),
                  "manual_only": bool(manual_only), "benefits": benefits or {}, "created_at": self.uow.now}
        tier_id = self.uow.execute(insert(tiers).values(values)).inserted_primary_key[0]
        self.uow.audit.record("membership_tier", tier_id, "create", {k: (None, str(v) if isinstance(v, Decimal) else v) for k, v in values.items() if k != "created_at"})
        return self.get(tier_id)

    def edit(self, name_or_id: Any, **changes: Any) -> dict[str, Any]:
        self.uow.require("membership.manage")
        tier = self.get(name_or_id)
        values: dict[str, Any] = {}
        if changes.get("multiplier") is not None:
            values["multiplier"] = parse_decimal(changes["multiplier"], "multiplier")
        if changes.get("upgrade_points") is not None:
            if int(changes["upgrade_points"]) < 0:
                raise ValidationError.field("upgrade_points", "must be zero or more")
            values["upgrade_points"] = int(changes["upgrade_points"])
        if changes.get("level") is not None and int(changes["level"]) != tier["level"]:
            if self.uow.execute(select(tiers.c.id).where(tiers.c.level == int(changes["level"]))).first():
                raise Conflict(f"level: another tier has level {changes['level']}")
            values["level"] = int(changes["level"])
        if changes.get("manual_only") is not None:
            values["manual_only"] = bool(changes["manual_only"])
        if changes.get("benefits"):
            values["benefits"] = {**tier["benefits"], **changes["benefits"]}
        if values:
            self.uow.execute(update(tiers).where(tiers.c.id == tier["id"]).values(values))
            self.uow.audit.record("membership_tier", tier["id"], "update", {k: (str(tier[k]), str(v)) for k, v in values.items()})
        return self.get(tier["id"])

    def find(self, name_or_id: Any) -> dict[str, Any] | None:
        if name_or_id is None:
            return None
        query = select(tiers)
        if isinstance(name_or_id, int) or (isinstance(name_or_id, str) and name_or_id.isdigit() and not self._named(name_or_id)):
            query = query.where(tiers.c.id == int(name_or_id))
        else:
            query = query.where(tiers.c.name == str(name_or_id).strip())
        row = self.uow.execute(query).mappings().first()
        return dict(row) if row else None

    def _named(self, name: str) -> bool:
        return self.uow.execute(select(tiers.c.id).where(tiers.c.name == name)).first() is not None

    def get(self, name_or_id: Any) -> dict[str, Any]:
        tier = self.find(name_or_id)
        if tier is None:
            known = ", ".join(t["name"] for t in self.list()) or "none yet: crm membership tier add"
            raise NotFound(f"tier: no tier {name_or_id!r} ({known})")
        return tier

    def list(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.uow.execute(select(tiers).order_by(tiers.c.level)).mappings()]

    def lowest(self) -> dict[str, Any]:
        automatic = [t for t in self.list() if not t["manual_only"]] or self.list()
        if not automatic:
            raise ValidationError.field("tier", "no tiers configured: crm membership tier add NAME --level N")
        return automatic[0]

    def for_points(self, points: int) -> dict[str, Any] | None:
        """The highest automatic tier whose threshold ``points`` reach."""
        best = None
        for tier in self.list():
            if not tier["manual_only"] and tier["upgrade_points"] <= points:
                best = tier
        return best

    def counts(self) -> dict[int, int]:
        from sqlalchemy import func

        return dict(self.uow.execute(select(members.c.tier_id, func.count()).where(members.c.status == "active").group_by(members.c.tier_id)).all())


class Plans:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def add(self, name: str, *, starts_on: Any, ends_on: Any, yuan_per_point: Any = "1", validity_months: int | None = None,
            carry_min_points: int = 0, carry_to: str = CARRY_TO_AWARD, purchase_rate: Any = "1",
            upgrade_rate: Any = "1") -> dict[str, Any]:
        self.uow.require("membership.manage")
        name = require_text(name, "name", 60)
        start, end = parse_day(starts_on, "from"), parse_day(ends_on, "to")
        if end < start:
            raise ValidationError.field("to", f"{end} is before {start}")
        value = parse_decimal(yuan_per_point, "yuan_per_point")
        if value <= 0:
            raise ValidationError.field("yuan_per_point", "must be more than zero")
        if validity_months is not None and int(validity_months) <= 0:
            raise ValidationError.field("validity_months", "must be positive")
        if int(carry_min_points) < 0:
            raise ValidationError.field("carry_min_points", "must be zero or more")
        carry_to = (carry_to or CARRY_TO_AWARD).strip()
        if carry_to != CARRY_TO_AWARD and self.find(carry_to) is None:
            raise ValidationError.field("carry_to", f"{carry_to!r} is neither 'award' nor a plan")
        if self.find(name):
            raise Conflict(f"name: plan {name!r} exists")
        values = {"name": name, "starts_on": start, "ends_on": end, "yuan_per_point": value,
                  "validity_months": None if validity_months is None else int(validity_months),
                  "carry_min_points": int(carry_min_points), "carry_to": carry_to, "created_at": self.uow.now}
        plan_id = self.uow.execute(insert(plans).values(values)).inserted_primary_key[0]
        self.set_rule(plan_id, "purchase", reward_rate=purchase_rate, upgrade_rate=upgrade_rate, use_multiplier=True, audit=False)
        self.uow.audit.record("membership_plan", plan_id, "create", {k: (None, v) for k, v in values.items() if k != "created_at"})
        return self.get(plan_id)

    def set_rule(self, plan: Any, source: str, *, reward_rate: Any = "0", upgrade_rate: Any = "0", reward_points: int = 0,
                 upgrade_points: int = 0, use_multiplier: bool = False, audit: bool = True) -> dict[str, Any]:
        self.uow.require("membership.manage")
        plan = self.get(plan)
        one_of(source, "source", SOURCES)
        values = {
            "reward_rate": parse_decimal(reward_rate, "reward_rate"), "upgrade_rate": parse_decimal(upgrade_rate, "upgrade_rate"),
            "reward_points": int(reward_points), "upgrade_points": int(upgrade_points), "use_multiplier": bool(use_multiplier),
        }
        if values["reward_points"] < 0 or values["upgrade_points"] < 0:
            raise ValidationError.field("points", "rule points must be zero or more")
        existing = self.uow.execute(select(rules.c.id).where(rules.c.plan_id == plan["id"], rules.c.source == source)).scalar()
        if existing:
            self.uow.execute(update(rules).where(rules.c.id == existing).values(values))
        else:
            self.uow.execute(insert(rules).values(plan_id=plan["id"], source=source, **values))
        if audit:
            self.uow.audit.record("membership_plan", plan["id"], "rule", {"source": source, **values})
        return {"plan": plan["name"], "source": source, **values}

    def remove_rule(self, plan: Any, source: str) -> None:
        self.uow.require("membership.manage")
        plan = self.get(plan)
        self.uow.execute(delete(rules).where(rules.c.plan_id == plan["id"], rules.c.source == source))
        self.uow.audit.record("membership_plan", plan["id"], "rule_removed", {"source": source})

    def rules_of(self, plan_id: int) -> dict[str, dict[str, Any]]:
        rows = self.uow.execute(select(rules).where(rules.c.plan_id == plan_id)).mappings()
        return {row["source"]: dict(row) for row in rows}

    def find(self, name_or_id: Any) -> dict[str, Any] | None:
        if name_or_id is None:
            return None
        if isinstance(name_or_id, dict):
            return name_or_id
        row = self.uow.execute(select(plans).where(plans.c.name == str(name_or_id).strip())).mappings().first()
        if row is None and (isinstance(name_or_id, int) or str(name_or_id).isdigit()):
            row = self.uow.execute(select(plans).where(plans.c.id == int(name_or_id))).mappings().first()
        return dict(row) if row else None

    def get(self, name_or_id: Any) -> dict[str, Any]:
        plan = self.find(name_or_id)
        if plan is None:
            raise NotFound(f"plan: no plan {name_or_id!r}")
        return plan

    def list(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.uow.execute(select(plans).order_by(plans.c.starts_on, plans.c.id)).mappings()]

    def covering(self, day: date) -> dict[str, Any] | None:
        """The plan in force on ``day`` (the latest-starting one if several)."""
        row = self.uow.execute(
            select(plans).where(plans.c.starts_on <= day, plans.c.ends_on >= day).order_by(plans.c.starts_on.desc(), plans.c.id.desc()).limit(1)
        ).mappings().first()
        return dict(row) if row else None

    def earn(self, plan: dict[str, Any], source: str, tier: dict[str, Any] | None, *, amount: Decimal | None = None,
             plan_rules: dict[str, dict[str, Any]] | None = None) -> tuple[int, int]:
        """(reward, upgrade) points a source earns under a plan's rule:
        ``amount × rate × tier multiplier + fixed points`` (multiplier only if
        the rule says so); whole points, rounded down."""
        rule = (plan_rules if plan_rules is not None else self.rules_of(plan["id"])).get(source)
        if rule is None:
            return 0, 0
        base = Decimal(amount or 0)
        multiplier = Decimal(tier["multiplier"]) if (tier and rule["use_multiplier"]) else Decimal(1)
        reward = base * Decimal(rule["reward_rate"]) * multiplier + rule["reward_points"] * multiplier
        upgrade = base * Decimal(rule["upgrade_rate"]) + rule["upgrade_points"]
        return max(0, math.floor(reward)), max(0, math.floor(upgrade))

    @staticmethod
    def expiry(plan: dict[str, Any] | None, earned_on: date) -> date | None:
        if plan is None or not plan["validity_months"]:
            return None
        return add_months(earned_on, plan["validity_months"])

    def load_toml(self, text: str) -> dict[str, int]:
        """Tiers, plans and rules from TOML; existing tiers and plans are
        updated, new ones added::

            [[tier]]
            name = "金卡"; level = 20; multiplier = 1.5; upgrade_points = 5000

            [[plan]]
            name = "2026"; from = 2026-01-01; to = 2026-12-31; yuan_per_point = 1
            validity_months = 24; carry_min_points = 1000; carry_to = "award"
            [plan.rules.purchase]
            reward_rate = 1; upgrade_rate = 1; multiplier = true
            [plan.rules.event]
            reward_points = 100
        """
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValidationError.field("file", f"not valid TOML: {error}") from None
        counts = {"tiers": 0, "plans": 0, "rules": 0}
        for tier in data.get("tier", []):
            spec = {"level": tier.get("level"), "multiplier": tier.get("multiplier", 1), "upgrade_points": tier.get("upgrade_points", 0),
                    "manual_only": tier.get("manual_only", False), "benefits": tier.get("benefits") or {}}
            if spec["level"] is None:
                raise ValidationError.field("tier.level", f"required for tier {tier.get('name')!r}")
            if self._tiers.find(tier.get("name")):
                self._tiers.edit(tier["name"], **spec)
            else:
                self._tiers.add(tier.get("name"), **spec)
            counts["tiers"] += 1
        for plan in data.get("plan", []):
            name = plan.get("name")
            if self.find(name) is None:
                self.add(name, starts_on=plan.get("from"), ends_on=plan.get("to"), yuan_per_point=plan.get("yuan_per_point", 1),
                         validity_months=plan.get("validity_months"), carry_min_points=plan.get("carry_min_points", 0),
                         carry_to=plan.get("carry_to", CARRY_TO_AWARD))
            else:
                self.edit(name, validity_months=plan.get("validity_months"), carry_min_points=plan.get("carry_min_points"),
                          carry_to=plan.get("carry_to"), yuan_per_point=plan.get("yuan_per_point"))
            counts["plans"] += 1
            for source, rule in (plan.get("rules") or {}).items():
                self.set_rule(name, source, reward_rate=rule.get("reward_rate", 0), upgrade_rate=rule.get("upgrade_rate", 0),
                              reward_points=rule.get("reward_points", 0), upgrade_points=rule.get("upgrade_points", 0),
                              use_multiplier=rule.get("multiplier", False))
                counts["rules"] += 1
        return counts

    @property
    def _tiers(self) -> Tiers:
        return Tiers(self.uow)

    def edit(self, name_or_id: Any, **changes: Any) -> dict[str, Any]:
        self.uow.require("membership.manage")
        plan = self.get(name_or_id)
        values: dict[str, Any] = {}
        if changes.get("validity_months") is not None:
            if int(changes["validity_months"]) <= 0:
                raise ValidationError.field("validity_months", "must be positive")
            values["validity_months"] = int(changes["validity_months"])
        if changes.get("carry_min_points") is not None:
            values["carry_min_points"] = int(changes["carry_min_points"])
        if changes.get("carry_to") is not None:
            if changes["carry_to"] != CARRY_TO_AWARD and self.find(changes["carry_to"]) is None:
                raise ValidationError.field("carry_to", f"{changes['carry_to']!r} is neither 'award' nor a plan")
            values["carry_to"] = changes["carry_to"]
        if changes.get("yuan_per_point") is not None:
            values["yuan_per_point"] = parse_decimal(changes["yuan_per_point"], "yuan_per_point")
        if changes.get("ends_on") is not None:
            end = parse_day(changes["ends_on"], "to")
            if end < plan["starts_on"]:
                raise ValidationError.field("to", f"{end} is before {plan['starts_on']}")
            values["ends_on"] = end
        if values:
            self.uow.execute(update(plans).where(plans.c.id == plan["id"]).values(values))
            self.uow.audit.record("membership_plan", plan["id"], "update", {k: (plan[k], v) for k, v in values.items()})
        return self.get(plan["id"])
