"""Configuration of the service desk: business calendar, ticket types, SLA
policies, teams, agents, queues and IVR menus."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import delete, func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError
from crmcore.tables import users

from crm_callcenter import ivr as ivr_menus
from crm_callcenter.acd import parse_skills, skills_text
from crm_callcenter.calendar import BusinessCalendar, format_duration, parse_duration, parse_periods, parse_weekdays
from crm_callcenter.tables import agent_sessions, agents, ivr_menus as ivr_table, queues, settings, sla_policies, teams, ticket_types

if TYPE_CHECKING:
    from crmcore import UnitOfWork

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_LABELS = {"低": "low", "普通": "normal", "中": "normal", "高": "high", "紧急": "urgent"}
CHANNELS = ("phone", "email", "web", "visit", "wechat")
CHANNEL_LABELS = {"电话": "phone", "邮件": "email", "网站": "web", "网页": "web", "上门": "visit", "来访": "visit", "微信": "wechat"}
AGENT_STATES = ("available", "busy", "after_call_work", "away", "offline")
STATE_LABELS = {"acw": "after_call_work", "空闲": "available", "忙碌": "busy", "话后": "after_call_work", "离开": "away",
                "下线": "offline", "wrap_up": "after_call_work"}
DEFAULT_SERVICE_LEVEL_SECONDS = 20
DEFAULT_WRAP_UP_SECONDS = 30


class SetupMixin:
    uow: "UnitOfWork"

    # -- settings ------------------------------------------------------------------

    def _setting(self, key: str, default: Any = None) -> Any:
        value = self.uow.execute(select(settings.c.value).where(settings.c.key == key)).scalar()
        return default if value is None else value

    def _set_setting(self, key: str, value: Any) -> None:
        if self.uow.execute(select(settings.c.key).where(settings.c.key == key)).first():
            self.uow.execute(update(settings).where(settings.c.key == key).values(value=value))
        else:
            self.uow.execute(insert(settings).values(key=key, value=value))

    # -- calendar ---------------------------------------------------------------------

    @property
    def calendar(self) -> BusinessCalendar:
        cached = getattr(self, "_calendar", None)
        if cached is None:
            data = self._setting("calendar", {})
            cached = self._calendar = BusinessCalendar.from_dict(data, zone=self.uow.crm.config.timezone)
        return cached

    def set_calendar(self, *, hours: Iterable[str] = (), weekdays: str | None = None, holidays: Iterable[Any] = (),
                     workdays: Iterable[Any] = (), remove_holidays: Iterable[Any] = (), replace_holidays: bool = False) -> BusinessCalendar:
        """Change the business calendar; holidays and make-up working days are
        added to those already set unless ``replace_holidays``."""
        from crmcore.clock import parse_date

        self.uow.require("callcenter.manage")
        current = self.calendar
        hours = list(hours)
        periods = parse_periods(hours) if hours else current.periods
        days = parse_weekdays(weekdays) if weekdays else sorted(current.weekdays)
        added = {parse_date(d, field="holiday") for d in holidays}
        made_up = {parse_date(d, field="workday") for d in workdays}
        removed = {parse_date(d, field="holiday") for d in remove_holidays}
        both = added & made_up
        if both:
            raise ValidationError.field("holiday", f"{min(both)} cannot be both a holiday and a working day")
        kept_holidays = set() if replace_holidays else set(current.holidays)
        kept_workdays = set() if replace_holidays else set(current.workdays)
        calendar = BusinessCalendar(periods, days, (kept_holidays | added) - removed - made_up,
                                    (kept_workdays | made_up) - added, current.zone_name)
        before = current.to_dict()
        self._set_setting("calendar", calendar.to_dict())
        self._calendar = calendar
        self.uow.audit.record("callcenter_calendar", "calendar", "update", {
            k: (before[k], v) for k, v in calendar.to_dict().items() if before.get(k) != v})
        return calendar

    def calendar_view(self) -> dict[str, Any]:
        calendar = self.calendar
        data = calendar.to_dict()
        data["working_day"] = format_duration(calendar.day_seconds)
        return data

    def duration(self, text: str | None, field: str) -> int | None:
        """Working seconds of ``text`` (None stays None)."""
        if text in (None, ""):
            return None
        return parse_duration(text, field=field, day_seconds=self.calendar.day_seconds)

    # -- ticket types -----------------------------------------------------------------

    def ticket_types(self) -> list[dict[str, Any]]:
        cached = getattr(self, "_types", None)
        if cached is None:
            rows = self.uow.execute(select(ticket_types).order_by(ticket_types.c.position)).mappings()
            cached = self._types = [dict(row) for row in rows]
        return cached

    def add_ticket_type(self, code: str, label: str, label_en: str | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        code = (code or "").strip().lower()
        if not code or not code.replace("_", "").isalnum() or len(code) > 40:
            raise ValidationError.field("code", "a short code of letters, digits and _ (e.g. refund)")
        if not (label or "").strip():
            raise ValidationError.field("label", "must not be empty")
        if any(t["code"] == code or t["label"] == label.strip() for t in self.ticket_types()):
            raise Conflict(f"ticket type {code!r} or label {label!r} exists already")
        position = (self.uow.execute(select(func.max(ticket_types.c.position))).scalar() or 0) + 1
        row = {"code": code, "label": label.strip(), "label_en": (label_en or "").strip() or None, "position": position}
        self.uow.execute(insert(ticket_types).values(row))
        self._types = None
        self.uow.audit.record("callcenter_ticket_type", code, "create", {"label": (None, row["label"])})
        return row

    def resolve_type(self, value: str | None, *, field: str = "type") -> str:
        text = (value or "").strip()
        if not text:
            raise ValidationError.field(field, "required (e.g. complaint, inquiry)")
        for row in self.ticket_types():
            if text.lower() in (row["code"], (row["label_en"] or "").lower()) or text == row["label"]:
                return row["code"]
        known = ", ".join(f"{t['code']} ({t['label']})" for t in self.ticket_types())
        raise ValidationError.field(field, f"{value!r} is not a ticket type ({known})")

    def type_label(self, code: str) -> str:
        return next((t["label"] for t in self.ticket_types() if t["code"] == code), code)

    # -- SLA policies ---------------------------------------------------------------------

    def add_sla(self, *, ticket_type: str | None, priority: str | None, first_response: str | None, resolve: str | None,
                warn_percent: int = 80, escalate_after: str | None = None) -> dict[str, Any]:
        """Add or replace the policy for a type and priority (either may be
        None: any). Targets are working time on the business calendar."""
        self.uow.require("callcenter.manage")
        code = self.resolve_type(ticket_type) if ticket_type else None
        level = resolve_priority(priority) if priority else None
        first = self.duration(first_response, "first-response")
        full = self.duration(resolve, "resolve")
        if first is None and full is None:
            raise ValidationError.field("first-response", "give --first-response, --resolve or both")
        if first is not None and full is not None and full < first:
            raise ValidationError.field("resolve", "must not be shorter than the first response target")
        if not 1 <= int(warn_percent) <= 100:
            raise ValidationError.field("warn-at", "a percentage from 1 to 100")
        step = self.duration(escalate_after, "escalate-after") or 3600
        values = {"ticket_type": code, "priority": level,
                  "first_response_minutes": None if first is None else max(1, round(first / 60)),
                  "resolve_minutes": None if full is None else max(1, round(full / 60)),
                  "warn_percent": int(warn_percent), "escalate_after_minutes": max(1, round(step / 60))}
        existing = self.uow.execute(select(sla_policies.c.id).where(
            _is(sla_policies.c.ticket_type, code), _is(sla_policies.c.priority, level))).scalar()
        if existing:
            self.uow.execute(update(sla_policies).where(sla_policies.c.id == existing).values(values))
            policy_id, action = existing, "update"
        else:
            policy_id = self.uow.execute(insert(sla_policies).values(values)).inserted_primary_key[0]
            action = "create"
        self.uow.audit.record("callcenter_sla", policy_id, action, {k: (None, v) for k, v in values.items()})
        return self.sla_view(policy_id)

    def sla_view(self, policy_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(sla_policies).where(sla_policies.c.id == policy_id)).mappings().first()
        if row is None:
            raise NotFound(f"SLA policy {policy_id} not found")
        return {
            "id": row["id"], "type": row["ticket_type"] or "*", "priority": row["priority"] or "*",
            "first_response": format_duration((row["first_response_minutes"] or 0) * 60) if row["first_response_minutes"] else None,
            "resolve": format_duration((row["resolve_minutes"] or 0) * 60) if row["resolve_minutes"] else None,
            "first_response_minutes": row["first_response_minutes"], "resolve_minutes": row["resolve_minutes"],
            "warn_percent": row["warn_percent"], "escalate_after": format_duration(row["escalate_after_minutes"] * 60),
        }

    def sla_policies(self) -> list[dict[str, Any]]:
        ids = self.uow.execute(select(sla_policies.c.id).order_by(sla_policies.c.id)).scalars().all()
        return [self.sla_view(i) for i in ids]

    def remove_sla(self, policy_id: int) -> None:
        from crm_callcenter.tables import tickets

        self.uow.require("callcenter.manage")
        self.sla_view(policy_id)
        self.uow.execute(update(tickets).where(tickets.c.sla_policy_id == policy_id).values(sla_policy_id=None))
        self.uow.execute(delete(sla_policies).where(sla_policies.c.id == policy_id))
        self.uow.audit.record("callcenter_sla", policy_id, "delete", {})

    def policy_for(self, ticket_type: str, priority: str) -> dict[str, Any] | None:
        """The most specific policy: type and priority, type, priority, any."""
        rows = self.uow.execute(select(sla_policies).where(
            (sla_policies.c.ticket_type == ticket_type) | sla_policies.c.ticket_type.is_(None),
            (sla_policies.c.priority == priority) | sla_policies.c.priority.is_(None),
        )).mappings().all()
        if not rows:
            return None
        return dict(max(rows, key=lambda r: (r["ticket_type"] is not None, r["priority"] is not None)))

    # -- teams --------------------------------------------------------------------------------

    def add_team(self, name: str, *, lead: str | None = None, manager: str | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        name = (name or "").strip()
        if not name:
            raise ValidationError.field("name", "must not be empty")
        if self.uow.execute(select(teams.c.id).where(teams.c.name == name)).first():
            raise Conflict(f"team {name!r} exists already")
        values = {"name": name, "lead_id": self._user_id(lead, "lead"), "manager_id": self._user_id(manager, "manager")}
        team_id = self.uow.execute(insert(teams).values(values)).inserted_primary_key[0]
        self.uow.audit.record("callcenter_team", team_id, "create", {k: (None, v) for k, v in values.items()})
        return self.team_view(team_id)

    def update_team(self, name: str, *, lead: str | None = None, manager: str | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        team = self.team(name)
        values = {}
        if lead is not None:
            values["lead_id"] = self._user_id(lead, "lead")
        if manager is not None:
            values["manager_id"] = self._user_id(manager, "manager")
        if values:
            self.uow.execute(update(teams).where(teams.c.id == team["id"]).values(values))
            getattr(self, "_teams", {}).pop(team["id"], None)
            self.uow.audit.record("callcenter_team", team["id"], "update", {k: (team.get(k), v) for k, v in values.items()})
        return self.team_view(team["id"])

    def team(self, key: str | int) -> dict[str, Any]:
        if isinstance(key, int):
            cached = getattr(self, "_teams", {}).get(key)
            if cached is not None:
                return cached
        condition = teams.c.id == int(key) if isinstance(key, int) or str(key).isdigit() else teams.c.name == str(key).strip()
        row = self.uow.execute(select(teams).where(condition)).mappings().first()
        if row is None:
            raise ValidationError.field("team", f"no team {key!r} (add it with `crm service team add`)")
        if not hasattr(self, "_teams"):
            self._teams = {}
        self._teams[row["id"]] = dict(row)
        return dict(row)

    def team_view(self, team_id: int) -> dict[str, Any]:
        team = self.team(team_id)
        members = self.uow.execute(select(users.c.username).select_from(agents.join(users))
                                   .where(agents.c.team_id == team_id).order_by(users.c.username)).scalars().all()
        return {"id": team["id"], "name": team["name"], "lead": self._username(team["lead_id"]),
                "manager": self._username(team["manager_id"]), "agents": list(members)}

    def teams(self) -> list[dict[str, Any]]:
        return [self.team_view(i) for i in self.uow.execute(select(teams.c.id).order_by(teams.c.id)).scalars()]

    def _user_id(self, key: str | int | None, field: str) -> int | None:
        if key in (None, ""):
            return None
        user = self.uow.users.find(key)
        if user is None:
            raise ValidationError.field(field, f"no user {key!r} (add staff with `crm user add`)")
        if not user.active:
            raise ValidationError.field(field, f"user {user.username!r} is deactivated")
        return user.id

    def _username(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        names = getattr(self, "_usernames", None)
        if names is None:
            names = self._usernames = {}
        if user_id not in names:
            names[user_id] = self.uow.execute(select(users.c.username).where(users.c.id == user_id)).scalar()
        return names[user_id]

    # -- agents ------------------------------------------------------------------------------

    def add_agent(self, username: str, *, skills: str | None = None, team: str | None = None, email: str | None = None,
                  state: str = "available") -> dict[str, Any]:
        """Make a core user an agent with skills (``投诉,普通话:3``)."""
        self.uow.require("callcenter.manage")
        user_id = self._user_id(username, "user")
        if self.uow.execute(select(agents.c.user_id).where(agents.c.user_id == user_id)).first():
            raise Conflict(f"{username} is an agent already; change skills with `crm service agent update`")
        values = {"user_id": user_id, "skills": parse_skills(skills), "team_id": self.team(team)["id"] if team else None,
                  "email": _email(email), "state": resolve_state(state), "state_since": self.uow.now,
                  "idle_since": self.uow.now, "active": True, "created_at": self.uow.now}
        self.uow.execute(insert(agents).values(values))
        if values["state"] in ("available", "busy", "after_call_work"):
            self.uow.execute(insert(agent_sessions).values(user_id=user_id, started_at=self.uow.now, source="state"))
        self.uow.audit.record("callcenter_agent", username, "create", {"skills": (None, values["skills"]), "team_id": (None, values["team_id"])})
        return self.agent_view(user_id)

    def update_agent(self, username: str, *, skills: str | None = None, add_skills: str | None = None,
                     team: str | None = None, email: str | None = None, active: bool | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        agent = self.agent(username)
        values: dict[str, Any] = {}
        if skills is not None:
            values["skills"] = parse_skills(skills)
        if add_skills:
            values["skills"] = {**(values.get("skills") or agent["skills"]), **parse_skills(add_skills)}
        if team is not None:
            values["team_id"] = self.team(team)["id"] if team else None
        if email is not None:
            values["email"] = _email(email)
        if active is not None:
            values["active"] = active
        changes = {k: (agent[k], v) for k, v in values.items() if agent[k] != v}
        if changes:
            self.uow.execute(update(agents).where(agents.c.user_id == agent["user_id"]).values(values))
            self.uow.audit.record("callcenter_agent", username, "update", changes)
        return self.agent_view(agent["user_id"])

    def agent(self, key: str | int) -> dict[str, Any]:
        user = self.uow.users.find(key)
        row = None if user is None else self.uow.execute(select(agents).where(agents.c.user_id == user.id)).mappings().first()
        if row is None:
            raise NotFound(f"agent: {key!r} is not an agent (add with `crm service agent add USER --skills ...`)")
        return dict(row)

    def agent_view(self, user_id: int) -> dict[str, Any]:
        row = self.agent(user_id)
        team = self.team(row["team_id"])["name"] if row["team_id"] else None
        zone = self.calendar.zone
        return {"user": self._username(user_id), "skills": skills_text(row["skills"]), "team": team, "email": row["email"],
                "state": row["state"], "state_since": row["state_since"].astimezone(zone),
                "idle_since": row["idle_since"].astimezone(zone) if row["idle_since"] else None, "active": row["active"]}

    def agents(self, *, include_inactive: bool = False) -> list[dict[str, Any]]:
        query = select(agents.c.user_id).order_by(agents.c.created_at, agents.c.user_id)
        if not include_inactive:
            query = query.where(agents.c.active.is_(True))
        return [self.agent_view(i) for i in self.uow.execute(query).scalars().all()]

    def set_agent_state(self, username: str, state: str, *, at: Any = None) -> dict[str, Any]:
        """Change an agent's state; becoming available offers them the best
        waiting call (returned under ``offered_call``)."""
        self.uow.require("callcenter.handle")
        agent = self.agent(username)
        new = resolve_state(state)
        moment = self._moment(at)
        self._change_state(agent, new, moment)
        view = self.agent_view(agent["user_id"])
        if new == "available":
            view["offered_call"] = self._offer_waiting_call(agent["user_id"], moment)
        return view

    def _change_state(self, agent: dict[str, Any], new: str, moment: Any) -> None:
        old = agent["state"]
        values: dict[str, Any] = {"state": new, "state_since": moment}
        if new == "available" and old != "available":
            values["idle_since"] = moment
        self.uow.execute(update(agents).where(agents.c.user_id == agent["user_id"]).values(values))
        logged_in = ("available", "busy", "after_call_work")
        if old not in logged_in and new in logged_in:
            self.uow.execute(insert(agent_sessions).values(user_id=agent["user_id"], started_at=moment, source="state"))
        elif old in logged_in and new not in logged_in:
            self.uow.execute(update(agent_sessions).where(
                agent_sessions.c.user_id == agent["user_id"], agent_sessions.c.ended_at.is_(None)).values(ended_at=moment))
        agent.update(values)

    # -- queues ---------------------------------------------------------------------------------

    def add_queue(self, name: str, *, skills: str | None = None, priority: int = 0, service_level: int | None = None,
                  wrap_up: int | None = None, description: str | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        name = (name or "").strip()
        if not name or len(name) > 100:
            raise ValidationError.field("name", "must not be empty (at most 100 characters)")
        if self.uow.execute(select(queues.c.id).where(queues.c.name == name)).first():
            raise Conflict(f"queue {name!r} exists already")
        values = {"name": name, "skills": parse_skills(skills), "priority": int(priority),
                  "service_level_seconds": _seconds_option(service_level, DEFAULT_SERVICE_LEVEL_SECONDS, "service-level"),
                  "wrap_up_seconds": _seconds_option(wrap_up, DEFAULT_WRAP_UP_SECONDS, "wrap-up"),
                  "description": (description or "").strip() or None}
        queue_id = self.uow.execute(insert(queues).values(values)).inserted_primary_key[0]
        self.uow.audit.record("callcenter_queue", queue_id, "create", {k: (None, v) for k, v in values.items()})
        return self.queue_view(self.queue(queue_id))

    def update_queue(self, name: str, *, skills: str | None = None, priority: int | None = None,
                     service_level: int | None = None, wrap_up: int | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.manage")
        queue = self.queue(name)
        values: dict[str, Any] = {}
        if skills is not None:
            values["skills"] = parse_skills(skills)
        if priority is not None:
            values["priority"] = int(priority)
        if service_level is not None:
            values["service_level_seconds"] = _seconds_option(service_level, DEFAULT_SERVICE_LEVEL_SECONDS, "service-level")
        if wrap_up is not None:
            values["wrap_up_seconds"] = _seconds_option(wrap_up, DEFAULT_WRAP_UP_SECONDS, "wrap-up")
        changes = {k: (queue[k], v) for k, v in values.items() if queue[k] != v}
        if changes:
            self.uow.execute(update(queues).where(queues.c.id == queue["id"]).values(values))
            self.uow.audit.record("callcenter_queue", queue["id"], "update", changes)
        return self.queue_view(self.queue(queue["id"]))

    def queue(self, key: str | int) -> dict[str, Any]:
        condition = queues.c.id == key if isinstance(key, int) else queues.c.name == str(key).strip()
        row = self.uow.execute(select(queues).where(condition)).mappings().first()
        if row is None:
            raise ValidationError.field("queue", f"no queue {key!r} (add it with `crm service queue add`)")
        return dict(row)

    def queue_view(self, row: dict[str, Any]) -> dict[str, Any]:
        from crm_callcenter.acd import qualifies

        staffed = [a["user"] for a in self.agents() if qualifies(parse_skills(a["skills"]), row["skills"])]
        return {"id": row["id"], "name": row["name"], "skills": skills_text(row["skills"]), "priority": row["priority"],
                "service_level_seconds": row["service_level_seconds"], "wrap_up_seconds": row["wrap_up_seconds"],
                "agents": staffed, "description": row["description"]}

    def queues(self) -> list[dict[str, Any]]:
        rows = self.uow.execute(select(queues).order_by(queues.c.id)).mappings().all()
        return [self.queue_view(dict(r)) for r in rows]

    # -- IVR ----------------------------------------------------------------------------------

    def load_ivr(self, text: str, *, name: str = "main", filename: str = "") -> dict[str, Any]:
        """Validate and store an IVR menu (TOML or JSON)."""
        self.uow.require("callcenter.manage")
        name = (name or "main").strip()
        menu = ivr_menus.parse_menu_text(text, filename)
        known = set(self.uow.execute(select(queues.c.name)).scalars())
        problems = ivr_menus.validate(menu, known)
        if problems:
            raise ValidationError(problems)
        exists = self.uow.execute(select(ivr_table.c.name).where(ivr_table.c.name == name)).first()
        if exists:
            self.uow.execute(update(ivr_table).where(ivr_table.c.name == name).values(definition=menu, updated_at=self.uow.now))
        else:
            self.uow.execute(insert(ivr_table).values(name=name, definition=menu, updated_at=self.uow.now))
        self.uow.audit.record("callcenter_ivr", name, "update" if exists else "create", {"queues": sorted(ivr_menus.queues_of(menu))})
        return {"name": name, "queues": sorted(ivr_menus.queues_of(menu)), "menu": menu}

    def ivr(self, name: str = "main") -> dict[str, Any]:
        menu = self.uow.execute(select(ivr_table.c.definition).where(ivr_table.c.name == name)).scalar()
        if menu is None:
            raise NotFound(f"ivr: no menu {name!r} (load one with `crm service ivr load menu.toml`)")
        return menu

    def ivr_names(self) -> list[str]:
        return list(self.uow.execute(select(ivr_table.c.name).order_by(ivr_table.c.name)).scalars())

    def simulate_ivr(self, keys: str, name: str = "main") -> dict[str, Any]:
        result = ivr_menus.walk(self.ivr(name), keys)
        result["menu_name"] = name
        return result

    # -- helpers -----------------------------------------------------------------------------

    def _moment(self, value: Any):
        from crmcore.clock import parse_datetime

        if value in (None, ""):
            return self.uow.now
        return parse_datetime(value, self.uow.crm.config.timezone, field="at")


def _is(column: Any, value: Any) -> Any:
    return column.is_(None) if value is None else column == value


def resolve_priority(value: str | None) -> str:
    text = (value or "").strip().lower()
    text = PRIORITY_LABELS.get(text, text)
    if text not in PRIORITIES:
        raise ValidationError.field("priority", f"{value!r} is not a priority ({', '.join(PRIORITIES)})")
    return text


def resolve_channel(value: str | None) -> str:
    text = (value or "phone").strip().lower()
    text = CHANNEL_LABELS.get(text, text)
    if text not in CHANNELS:
        raise ValidationError.field("channel", f"{value!r} is not a channel ({', '.join(CHANNELS)})")
    return text


def resolve_state(value: str | None) -> str:
    text = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    text = STATE_LABELS.get(text, text)
    if text not in AGENT_STATES:
        raise ValidationError.field("state", f"{value!r} is not an agent state ({', '.join(AGENT_STATES)})")
    return text


def _email(value: str | None) -> str | None:
    text = (value or "").strip().lower()
    if not text:
        return None
    if "@" not in text or " " in text:
        raise ValidationError.field("email", f"{value!r} is not an e-mail address")
    return text


def _seconds_option(value: int | None, default: int, field: str) -> int:
    if value is None:
        return default
    if int(value) < 0 or int(value) > 3600:
        raise ValidationError.field(field, "seconds from 0 to 3600")
    return int(value)
