"""Calls: the event API a telephony system feeds, live ACD routing, the call
log, and the replay simulator.

A PBX or softphone integration reports each call as events (see README,
"Call events API")::

    svc = uow.service("callcenter")
    svc.call_event("offered", "pbx-0001", caller="+86 138-0013-8000", ivr_keys="1")
    svc.call_event("answered", "pbx-0001", agent="alice")
    svc.call_event("ended", "pbx-0001")
    svc.call_event("wrapup_done", "pbx-0001")

``offered`` answers with the routing decision: ring an agent (the
longest-idle available agent with the queue's skills) or queue the call.
"""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError
from crmcore.tables import customer_phones, customers

from crm_callcenter import ivr as ivr_menus
from crm_callcenter.acd import SimAgent, SimCall, SimQueue, Simulator, qualifies
from crm_callcenter.calendar import format_duration
from crm_callcenter.tables import agent_sessions, agents, call_events, calls, ivr_menus as ivr_table, queues

if TYPE_CHECKING:
    from crmcore import UnitOfWork

EVENTS = ("offered", "queued", "answered", "transferred", "abandoned", "ended", "wrapup_done")
EVENT_ALIASES = {"offer": "offered", "queue": "queued", "answer": "answered", "transfer": "transferred", "abandon": "abandoned",
                 "end": "ended", "hangup": "ended", "wrapup": "wrapup_done", "acw_done": "wrapup_done"}
LIVE = ("offered", "queued", "ringing", "answered", "wrap_up")
BATCH = 2000


def resolve_event(value: str) -> str:
    text = (value or "").strip().lower().replace("-", "_")
    text = EVENT_ALIASES.get(text, text)
    if text not in EVENTS:
        raise ValidationError.field("event", f"{value!r} is not a call event ({', '.join(EVENTS)})")
    return text


class CallsMixin:
    uow: "UnitOfWork"

    # -- the event API ------------------------------------------------------------------

    def call_event(self, event: str, call_ref: str, *, at: Any = None, caller: str | None = None, queue: str | None = None,
                   ivr_keys: str | None = None, agent: str | None = None, to_queue: str | None = None,
                   to_agent: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Apply one call event from the telephony system; returns the call
        and, for ``offered``/``queued``/``wrapup_done``, what to do next."""
        self.uow.require("callcenter.handle")
        kind = resolve_event(event)
        ref = (call_ref or "").strip()
        if not ref or len(ref) > 120:
            raise ValidationError.field("call", "a call reference (the PBX's call id) of at most 120 characters")
        moment = self._moment(at)
        if kind == "offered":
            return self._offered(ref, moment, caller=caller, queue=queue, ivr_keys=ivr_keys, data=data or {})
        call = self._call_by_ref(ref)
        if call["status"] in ("ended", "abandoned", "self_service") and kind != "wrapup_done":
            raise Conflict(f"call {ref} is over ({call['status']})")
        if moment < call["offered_at"]:
            raise ValidationError.field("at", f"before the call was offered ({call['offered_at'].isoformat()})")
        handler = getattr(self, f"_{kind}")
        result = handler(call, moment, agent=agent, queue=queue or to_queue, to_agent=to_agent)
        self._record_call_event(call["id"], kind, moment, agent=agent or to_agent, data=data or {})
        return result

    def _offered(self, ref: str, moment: datetime, *, caller: str | None, queue: str | None, ivr_keys: str | None,
                 data: dict[str, Any]) -> dict[str, Any]:
        if self.uow.execute(select(calls.c.id).where(calls.c.call_ref == ref)).first():
            raise Conflict(f"call {ref} was offered already")
        number, customer_id, vip = self._identify(caller)
        route = self._route_of(queue, ivr_keys)
        values = {"call_ref": ref, "direction": "inbound", "caller": (caller or "").strip() or None, "caller_number": number,
                  "customer_id": customer_id, "vip": vip, "ivr_keys": ivr_keys or None, "ivr_result": route.get("ivr"),
                  "queue_id": route.get("queue_id"), "status": "offered", "offered_at": moment, "transfers": 0, "source": "live"}
        if route.get("self_service"):
            values.update(status="self_service", outcome="self_service", ended_at=moment, wait_seconds=0)
        elif route.get("no_route"):
            values.update(status="abandoned", outcome="no_route", ended_at=moment, wait_seconds=0)
        call_id = self.uow.execute(insert(calls).values(values)).inserted_primary_key[0]
        call = {"id": call_id, **values}
        self._record_call_event(call_id, "offered", moment, data={**data, "caller": caller, "ivr": route.get("ivr")})
        if values["status"] in ("self_service", "abandoned"):
            self._log_call_activity(call)
            return {"call": self.call_view(call_id), "action": values["outcome"], "ivr": route.get("walk")}
        return {**self._enqueue(call, moment), "ivr": route.get("walk")}

    def _queued(self, call: dict[str, Any], moment: datetime, *, queue: str | None = None, **_: Any) -> dict[str, Any]:
        if call["status"] not in ("offered", "queued", "ringing"):
            raise Conflict(f"call {call['call_ref']} is {call['status']}")
        if queue:
            call["queue_id"] = self.queue(queue)["id"]
        if call["queue_id"] is None:
            raise ValidationError.field("queue", "which queue does the call wait in?")
        self._release_agent(call, moment)
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(queue_id=call["queue_id"], agent_id=None))
        call["agent_id"] = None
        return self._enqueue(call, moment)

    def _enqueue(self, call: dict[str, Any], moment: datetime) -> dict[str, Any]:
        """Ring the longest-idle available qualified agent, or wait in queue."""
        queue = self.queue(call["queue_id"])
        agent_id = self._longest_idle(queue, moment)
        if agent_id is not None:
            self._ring(call, agent_id, moment)
            return {"call": self.call_view(call["id"]), "action": "ring", "agent": self._username(agent_id)}
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(status="queued", queued_at=call.get("queued_at") or moment))
        position = self._position(call["id"])
        return {"call": self.call_view(call["id"]), "action": "queue", "position": position}

    def _ring(self, call: dict[str, Any], agent_id: int, moment: datetime) -> None:
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(status="ringing", agent_id=agent_id))
        self._change_state(self.agent(agent_id), "busy", moment)

    def _answered(self, call: dict[str, Any], moment: datetime, *, agent: str | None = None, **_: Any) -> dict[str, Any]:
        if call["status"] not in ("offered", "queued", "ringing"):
            raise Conflict(f"call {call['call_ref']} is {call['status']}, not waiting to be answered")
        agent_id = self.agent(agent)["user_id"] if agent else call["agent_id"]
        if agent_id is None:
            raise ValidationError.field("agent", "who answered?")
        if call["agent_id"] not in (None, agent_id):
            self._release_agent(call, moment)
        wait = int((moment - call["offered_at"]).total_seconds())
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(
            status="answered", agent_id=agent_id, answered_at=moment, wait_seconds=wait))
        self._change_state(self.agent(agent_id), "busy", moment)
        return {"call": self.call_view(call["id"])}

    def _transferred(self, call: dict[str, Any], moment: datetime, *, queue: str | None = None, to_agent: str | None = None,
                     **_: Any) -> dict[str, Any]:
        if call["status"] not in ("answered", "ringing", "queued"):
            raise Conflict(f"call {call['call_ref']} is {call['status']}; only a live call can be transferred")
        if not queue and not to_agent:
            raise ValidationError.field("to", "transfer to a queue (--queue) or an agent (--to-agent)")
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(transfers=call["transfers"] + 1))
        if to_agent:
            new_agent = self.agent(to_agent)
            if call["agent_id"] is not None and call["agent_id"] != new_agent["user_id"]:
                self._release_agent(call, moment)
            self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(agent_id=new_agent["user_id"]))
            self._change_state(new_agent, "busy", moment)
            return {"call": self.call_view(call["id"]), "action": "transferred", "agent": self._username(new_agent["user_id"])}
        self._release_agent(call, moment)
        call.update(queue_id=self.queue(queue)["id"], agent_id=None)
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(queue_id=call["queue_id"], agent_id=None))
        return self._enqueue(call, moment)

    def _abandoned(self, call: dict[str, Any], moment: datetime, **_: Any) -> dict[str, Any]:
        if call["status"] not in ("offered", "queued", "ringing"):
            raise Conflict(f"call {call['call_ref']} is {call['status']}; only a waiting call can be abandoned")
        self._release_agent(call, moment)
        wait = int((moment - call["offered_at"]).total_seconds())
        values = {"status": "abandoned", "outcome": "abandoned", "ended_at": moment, "wait_seconds": wait, "agent_id": None}
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(values))
        self._log_call_activity({**call, **values})
        return {"call": self.call_view(call["id"])}

    def _ended(self, call: dict[str, Any], moment: datetime, **_: Any) -> dict[str, Any]:
        if call["status"] != "answered":
            raise Conflict(f"call {call['call_ref']} is {call['status']}; end an answered call, abandon a waiting one")
        queue = self.queue(call["queue_id"]) if call["queue_id"] else None
        wrap = queue["wrap_up_seconds"] if queue else 0
        talk = int((moment - call["answered_at"]).total_seconds())
        values = {"status": "wrap_up", "outcome": "answered", "ended_at": moment, "talk_seconds": talk,
                  "wrap_up_until": moment + timedelta(seconds=wrap)}
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(values))
        if call["agent_id"] is not None:
            self._change_state(self.agent(call["agent_id"]), "after_call_work", moment)
        self._log_call_activity({**call, **values})
        return {"call": self.call_view(call["id"])}

    def _wrapup_done(self, call: dict[str, Any], moment: datetime, **_: Any) -> dict[str, Any]:
        if call["status"] != "wrap_up":
            raise Conflict(f"call {call['call_ref']} is {call['status']}, not in after-call work")
        self._finish_wrap_up(call, moment)
        offered = self._offer_waiting_call(call["agent_id"], moment) if call["agent_id"] else None
        return {"call": self.call_view(call["id"]), "offered_call": offered}

    def _finish_wrap_up(self, call: dict[str, Any], moment: datetime) -> None:
        acw = max(0, int((moment - call["ended_at"]).total_seconds()))
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(status="ended", acw_seconds=acw, wrap_up_until=moment))
        if call["agent_id"] is not None:
            agent = self.agent(call["agent_id"])
            if agent["state"] == "after_call_work":
                self._change_state(agent, "available", moment)

    def _release_agent(self, call: dict[str, Any], moment: datetime) -> None:
        """A ringing agent whose call went elsewhere is available again."""
        if call.get("agent_id") is not None and call["status"] in ("ringing", "answered"):
            agent = self.agent(call["agent_id"])
            if agent["state"] == "busy":
                self._change_state(agent, "available", moment)

    def _offer_waiting_call(self, agent_id: int, moment: datetime) -> dict[str, Any] | None:
        """Give a newly available agent the best waiting call they qualify
        for: VIP first, then queue priority, then longest waiting."""
        agent = self.agent(agent_id)
        if agent["state"] != "available" or not agent["active"]:
            return None
        qualified = [q["id"] for q in self.uow.execute(select(queues)).mappings() if qualifies(agent["skills"], q["skills"])]
        if not qualified:
            return None
        row = self.uow.execute(
            select(calls).join(queues, queues.c.id == calls.c.queue_id)
            .where(calls.c.status == "queued", calls.c.queue_id.in_(qualified))
            .order_by(calls.c.vip.desc(), queues.c.priority.desc(), calls.c.queued_at, calls.c.id).limit(1)
        ).mappings().first()
        if row is None:
            return None
        self._ring(dict(row), agent_id, moment)
        self._record_call_event(row["id"], "ringing", moment, agent=self._username(agent_id), data={})
        return self.call_view(row["id"])

    def _longest_idle(self, queue: dict[str, Any], moment: datetime) -> int | None:
        self._expire_wrap_ups(moment)
        rows = self.uow.execute(select(agents).where(agents.c.active.is_(True), agents.c.state == "available")
                                .order_by(agents.c.idle_since, agents.c.user_id)).mappings()
        for row in rows:
            if qualifies(row["skills"], queue["skills"]):
                return row["user_id"]
        return None

    def _expire_wrap_ups(self, moment: datetime) -> None:
        """After-call work ends by itself when the queue's wrap-up time is over."""
        due = self.uow.execute(select(calls).where(calls.c.status == "wrap_up", calls.c.wrap_up_until <= moment)).mappings().all()
        for call in due:
            self._finish_wrap_up(dict(call), call["wrap_up_until"])

    def _position(self, call_id: int) -> int:
        call = self.uow.execute(select(calls).where(calls.c.id == call_id)).mappings().first()
        earlier = (calls.c.queued_at < call["queued_at"]) | ((calls.c.queued_at == call["queued_at"]) & (calls.c.id < call_id))
        if call["vip"]:
            before = calls.c.vip.is_(True) & earlier
        else:
            before = calls.c.vip.is_(True) | earlier
        ahead = self.uow.execute(select(func.count()).select_from(calls).where(
            calls.c.status == "queued", calls.c.queue_id == call["queue_id"], calls.c.id != call_id, before)).scalar()
        return int(ahead) + 1

    def _route_of(self, queue: str | None, ivr_keys: str | None, menu_name: str = "main") -> dict[str, Any]:
        if queue:
            return {"queue_id": self.queue(queue)["id"]}
        menu = self.uow.execute(select(ivr_table.c.definition).where(ivr_table.c.name == menu_name)).scalar()
        if menu is None:
            raise ValidationError.field("queue", "give the queue, or load an IVR menu to route key presses")
        walk = ivr_menus.walk(menu, ivr_keys or "")
        if walk["outcome"] == "queue":
            return {"queue_id": self.queue(walk["queue"])["id"], "ivr": f"queue:{walk['queue']}", "walk": walk}
        if walk["outcome"] == "self_service":
            return {"self_service": True, "ivr": f"self_service:{walk['self_service']}", "walk": walk}
        return {"no_route": True, "ivr": "no_route", "walk": walk}

    def _identify(self, caller: str | None) -> tuple[str | None, int | None, bool]:
        from crmcore import normalise_phone

        if not caller or not caller.strip() or caller.strip().lower() in ("anonymous", "unknown", "private"):
            return None, None, False
        try:
            number = normalise_phone(caller, field="caller")
        except ValidationError:
            return None, None, False
        found = self.uow.customers.find_by_phone(number)
        active = [c for c in found if c.active]
        if not active:
            return number, None, False
        customer = active[0]
        return number, customer.id, customer.level == "vip"

    def _call_by_ref(self, ref: str) -> dict[str, Any]:
        row = self.uow.execute(select(calls).where(calls.c.call_ref == ref)).mappings().first()
        if row is None:
            raise NotFound(f"call {ref!r} not found (offer it first)")
        return dict(row)

    def _record_call_event(self, call_id: int, event: str, at: datetime, *, agent: str | None = None, data: dict[str, Any]) -> None:
        agent_id = self.uow.users.find(agent).id if agent and self.uow.users.find(agent) else None
        queue_id = self.uow.execute(select(calls.c.queue_id).where(calls.c.id == call_id)).scalar()
        self.uow.execute(insert(call_events).values(call_id=call_id, event=event, at=at, agent_id=agent_id, queue_id=queue_id,
                                                    data={k: v for k, v in data.items() if v is not None}))

    def _log_call_activity(self, call: dict[str, Any]) -> None:
        """A live call is over: on the known customer's timeline, and announced."""
        self.uow.publish("callcenter.call.ended", {
            "customer_id": call.get("customer_id"), "call_id": call["id"], "call_ref": call["call_ref"], "outcome": call.get("outcome"),
            "queue": self._queue_name(call.get("queue_id")), "agent": self._username(call.get("agent_id")),
            "wait_seconds": call.get("wait_seconds"), "talk_seconds": call.get("talk_seconds")})
        if call.get("customer_id") is None:
            return
        subject = _call_subject(call, self._queue_name(call.get("queue_id")), self._username(call.get("agent_id")))
        activity = self.uow.activities.log(call["customer_id"], type="service_call", subject=subject, occurred_at=call["offered_at"],
                                           source_plugin="callcenter", payload=_call_payload(call))
        self.uow.execute(update(calls).where(calls.c.id == call["id"]).values(activity_id=activity.id))

    def _queue_name(self, queue_id: int | None) -> str | None:
        if queue_id is None:
            return None
        names = getattr(self, "_queue_names", None)
        if names is None:
            names = self._queue_names = dict(self.uow.execute(select(queues.c.id, queues.c.name)).all())
        return names.get(queue_id)

    # -- the call log --------------------------------------------------------------------

    def call_view(self, call_id: int | dict[str, Any]) -> dict[str, Any]:
        row = call_id if isinstance(call_id, dict) else self.uow.execute(select(calls).where(calls.c.id == call_id)).mappings().first()
        if row is None:
            raise NotFound(f"call {call_id} not found")
        zone = self.calendar.zone

        def local(moment: datetime | None) -> datetime | None:
            return None if moment is None else moment.astimezone(zone)

        return {"id": row["id"], "call_ref": row["call_ref"], "caller": row["caller"], "number": row["caller_number"],
                "customer_id": row["customer_id"], "vip": row["vip"], "ivr": row["ivr_result"], "queue": self._queue_name(row["queue_id"]),
                "agent": self._username(row["agent_id"]), "status": row["status"], "outcome": row["outcome"],
                "offered_at": local(row["offered_at"]), "answered_at": local(row["answered_at"]), "ended_at": local(row["ended_at"]),
                "wait_seconds": row["wait_seconds"], "talk_seconds": row["talk_seconds"], "acw_seconds": row["acw_seconds"],
                "transfers": row["transfers"], "ticket_id": row["ticket_id"], "source": row["source"]}

    def list_calls(self, *, since: datetime | None = None, until: datetime | None = None, agent: str | None = None,
                   queue: str | None = None, customer_id: int | None = None, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(calls).where(calls.c.customer_id.is_(None)
                                    | calls.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if since:
            query = query.where(calls.c.offered_at >= since)
        if until:
            query = query.where(calls.c.offered_at < until)
        if agent:
            query = query.where(calls.c.agent_id == self.agent(agent)["user_id"])
        if queue:
            query = query.where(calls.c.queue_id == self.queue(queue)["id"])
        if customer_id is not None:
            query = query.where(calls.c.customer_id == customer_id)
        if status:
            query = query.where(calls.c.status == status)
        rows = self.uow.execute(query.order_by(calls.c.offered_at.desc(), calls.c.id.desc()).limit(limit)).mappings().all()
        return [self.call_view(dict(r)) for r in rows]

    # -- replay -------------------------------------------------------------------------------

    def replay(self, text: str, *, name: str = "calls.csv", save: bool = True, menu: str = "main",
               service_level: int | None = None) -> dict[str, Any]:
        """Replay a day of calls from CSV through the configured agents,
        queues and IVR menu: per-call routing and a summary. Saved calls go
        to the call log (and customers' timelines) in bulk; replaying the
        same file twice is refused."""
        self.uow.require("callcenter.manage" if save else "callcenter.view")
        rows = _read_csv(text)
        queue_rows = {q["id"]: q for q in self.uow.execute(select(queues)).mappings()}
        by_name = {q["name"]: q["id"] for q in queue_rows.values()}
        menu_definition = self.uow.execute(select(ivr_table.c.definition).where(ivr_table.c.name == menu)).scalar()
        zone = self.uow.crm.config.timezone
        errors: list[str] = []
        prepared: list[dict[str, Any]] = []
        walks: dict[str, dict[str, Any]] = {}
        for line, row in rows:
            try:
                prepared.append(self._replay_row(line, row, by_name, menu_definition, walks, zone))
            except ValidationError as error:
                errors.extend(f"row {line}: {e}" for e in error.errors)
            if len(errors) >= 20:
                break
        if errors:
            raise ValidationError(errors)
        if not prepared:
            raise ValidationError.field("file", "no calls in the file")
        self._identify_many(prepared)
        sim_agents = self._sim_agents()
        sim_queues = [SimQueue(q["id"], q["name"], dict(q["skills"]), q["priority"], q["service_level_seconds"], q["wrap_up_seconds"])
                      for q in queue_rows.values()]
        sim_calls = [SimCall(i, p["offered"].timestamp(), p["queue_id"], p["talk"], p["abandon_after"], p["vip"])
                     for i, p in enumerate(prepared)]
        Simulator(sim_agents, sim_queues).run(sim_calls)
        digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
        names = {a.user_id: a.username for a in sim_agents}
        results = [self._replay_result(p, c, queue_rows, names, zone) for p, c in zip(prepared, sim_calls)]
        summary = _summary(results, sim_agents, sim_calls, queue_rows, service_level)
        saved = 0
        if save:
            saved = self._save_replay(digest, name, prepared, sim_calls, sim_agents, queue_rows)
        return {"file": name, "replay": digest, "saved": saved, "calls": results, "summary": summary}

    def _replay_row(self, line: int, row: dict[str, str], by_name: dict[str, int], menu: dict[str, Any] | None,
                    walks: dict[str, dict[str, Any]], zone: str) -> dict[str, Any]:
        from crmcore.clock import parse_datetime

        if not row.get("offered_at"):
            raise ValidationError.field("offered_at", "required")
        offered = parse_datetime(row["offered_at"], zone, field="offered_at")
        talk = _number(row.get("talk_seconds"), "talk_seconds", default=None)
        if talk is None:
            raise ValidationError.field("talk_seconds", "required (seconds the caller would talk)")
        abandon = _number(row.get("abandon_after_seconds"), "abandon_after_seconds", default=None)
        keys, queue_name = (row.get("ivr_keys") or "").strip(), (row.get("queue") or "").strip()
        prepared = {"line": line, "offered": offered, "caller": (row.get("caller") or "").strip(), "talk": talk,
                    "abandon_after": abandon, "ivr_keys": keys or None, "queue_id": None, "ivr": None, "outcome": None}
        if queue_name:
            if queue_name not in by_name:
                raise ValidationError.field("queue", f"no queue {queue_name!r}")
            prepared["queue_id"] = by_name[queue_name]
            return prepared
        if menu is None:
            raise ValidationError.field("ivr_keys", "no IVR menu is loaded (`crm service ivr load`), so give a queue")
        if keys not in walks:
            walks[keys] = ivr_menus.walk(menu, keys)
        walk = walks[keys]
        if walk["outcome"] == "queue":
            if walk["queue"] not in by_name:
                raise ValidationError.field("ivr_keys", f"the menu routes to a missing queue {walk['queue']!r}")
            prepared.update(queue_id=by_name[walk["queue"]], ivr=f"queue:{walk['queue']}")
        elif walk["outcome"] == "self_service":
            prepared.update(ivr=f"self_service:{walk['self_service']}", outcome="self_service")
        else:
            prepared.update(ivr="no_route", outcome="no_route")
        return prepared

    def _identify_many(self, prepared: list[dict[str, Any]]) -> None:
        """Caller numbers to customers in a few queries, not one per call."""
        from crmcore.phones import try_normalise_phone

        for p in prepared:
            p["number"] = try_normalise_phone(p["caller"]) if p["caller"] else None
            p["customer_id"], p["customer"], p["vip"] = None, None, False
        numbers = sorted({p["number"] for p in prepared if p["number"]})
        found: dict[str, tuple[int, str, bool]] = {}
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            query = self.uow.customers.scope(
                select(customer_phones.c.number, customers.c.id, customers.c.name, customers.c.level)
                .select_from(customer_phones.join(customers, customers.c.id == customer_phones.c.customer_id))
                .where(customer_phones.c.number.in_(chunk), customers.c.active.is_(True)).order_by(customers.c.id))
            for number, cid, cname, level in self.uow.execute(query):
                found.setdefault(number, (cid, cname, level == "vip"))
        for p in prepared:
            if p["number"] in found:
                p["customer_id"], p["customer"], p["vip"] = found[p["number"]]

    def _sim_agents(self) -> list[SimAgent]:
        rows = self.uow.execute(select(agents).where(agents.c.active.is_(True), agents.c.state.notin_(("away", "offline")))
                                .order_by(agents.c.idle_since, agents.c.user_id)).mappings().all()
        return [SimAgent(r["user_id"], self._username(r["user_id"]) or str(r["user_id"]), dict(r["skills"]), rank)
                for rank, r in enumerate(rows)]

    def _replay_result(self, p: dict[str, Any], c: SimCall, queue_rows: dict[int, Any], names: dict[int, str], zone: str) -> dict[str, Any]:
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(zone)

        def at(ts: float | None) -> str | None:
            return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).astimezone(tz).isoformat(timespec="seconds")

        outcome = p["outcome"] or c.outcome
        wait = c.wait
        return {"row": p["line"], "offered_at": at(c.offered), "caller": p["caller"], "customer_id": p["customer_id"],
                "customer": p["customer"], "vip": p["vip"], "ivr": p["ivr"], "queue": queue_rows[c.queue_id]["name"] if c.queue_id else None,
                "agent": names.get(c.agent_id) if c.agent_id else None, "outcome": outcome,
                "wait_seconds": None if wait is None else round(wait), "answered_at": at(c.answered),
                "talk_seconds": round(c.talk) if c.answered is not None else None, "ended_at": at(c.ended or c.abandoned),
                "reason": c.reason if p["outcome"] is None else p["ivr"]}

    def _save_replay(self, digest: str, name: str, prepared: list[dict[str, Any]], sim_calls: list[SimCall],
                     sim_agents: list[SimAgent], queue_rows: dict[int, Any]) -> int:
        if self.uow.execute(select(calls.c.id).where(calls.c.call_ref == f"replay:{digest}:{prepared[0]['line']}")).first():
            raise Conflict(f"{name} was replayed and saved already (replay {digest}); use --no-save to simulate it again")

        def moment(ts: float | None) -> datetime | None:
            return None if ts is None else datetime.fromtimestamp(ts, timezone.utc)

        source = f"replay:{digest}"
        rows = []
        for p, c in zip(prepared, sim_calls):
            outcome = p["outcome"] or c.outcome
            status = {"answered": "ended", "abandoned": "abandoned", "self_service": "self_service"}.get(outcome, "abandoned")
            wrap = queue_rows[c.queue_id]["wrap_up_seconds"] if c.queue_id and c.answered is not None else None
            rows.append({
                "call_ref": f"{source}:{p['line']}", "direction": "inbound", "caller": p["caller"] or None, "caller_number": p["number"],
                "customer_id": p["customer_id"], "vip": p["vip"], "ivr_keys": p["ivr_keys"], "ivr_result": p["ivr"],
                "queue_id": c.queue_id, "agent_id": c.agent_id, "status": status, "outcome": outcome, "offered_at": moment(c.offered),
                "queued_at": moment(c.offered) if c.queue_id else None, "answered_at": moment(c.answered),
                "ended_at": moment(c.ended or c.abandoned or (c.offered if p["outcome"] else None)),
                "wrap_up_until": moment(c.acw_until), "wait_seconds": None if c.wait is None else round(c.wait),
                "talk_seconds": round(c.talk) if c.answered is not None else None, "acw_seconds": wrap, "transfers": 0,
                "ticket_id": None, "activity_id": None, "source": source,
            })
        for start in range(0, len(rows), BATCH):
            self.uow.execute(insert(calls), rows[start:start + BATCH])
        self._bulk_call_activities(source)
        start_ts = min(c.offered for c in sim_calls)
        last_busy: dict[int, float] = {}
        for c in sim_calls:
            if c.agent_id is not None and c.acw_until is not None and c.acw_until > last_busy.get(c.agent_id, start_ts):
                last_busy[c.agent_id] = c.acw_until
        day_end = max(c.acw_until or c.abandoned or c.offered for c in sim_calls)
        sessions = [{"user_id": a.user_id, "started_at": moment(start_ts), "ended_at": moment(last_busy.get(a.user_id, day_end)),
                     "source": source} for a in sim_agents]
        if sessions:
            self.uow.execute(insert(agent_sessions), sessions)
        self.uow.audit.record("callcenter_replay", digest, "save", {"file": name, "calls": len(rows)})
        return len(rows)

    def _bulk_call_activities(self, source: str) -> None:
        """Timeline entries for replayed calls of known customers: inserted in
        batches, announced once per batch through ``crm_activities_imported``."""
        query = select(calls).where(calls.c.source == source, calls.c.customer_id.isnot(None)).order_by(calls.c.id)
        known = self.uow.execute(query).mappings().all()
        if not known:
            return
        from crmcore import Activity

        for start in range(0, len(known), BATCH):
            chunk = known[start:start + BATCH]
            entries = [Activity(customer_id=c["customer_id"], type="service_call", occurred_at=c["offered_at"],
                                subject=_call_subject(c, self._queue_name(c["queue_id"]), self._username(c["agent_id"])),
                                source_plugin="callcenter", payload=_call_payload(c))
                       for c in chunk]
            ids = self.uow.activities.log_many(entries, source=f"callcenter replay {source}")
            links = [{"call": c["id"], "activity": activity_id} for c, activity_id in zip(chunk, ids)]
            self.uow.execute(update(calls).where(calls.c.id == bindparam("call")).values(activity_id=bindparam("activity")), links)


def _call_subject(call: dict[str, Any], queue: str | None, agent: str | None) -> str:
    outcome = call.get("outcome")
    if outcome == "answered":
        talk = format_duration(call.get("talk_seconds")) if call.get("talk_seconds") is not None else ""
        return f"来电 {queue or ''} 由 {agent or '坐席'} 接听 {talk}".strip()
    if outcome == "self_service":
        return f"来电 自助服务 {(call.get('ivr_result') or '').split(':', 1)[-1]}".strip()
    if outcome == "abandoned":
        return f"来电 {queue or ''} 放弃（等待 {format_duration(call.get('wait_seconds') or 0)}）"
    return f"来电 {queue or ''} 未接通"


def _call_payload(call: dict[str, Any]) -> dict[str, Any]:
    return {"call_id": call.get("id"), "call_ref": call.get("call_ref"), "outcome": call.get("outcome"),
            "wait_seconds": call.get("wait_seconds"), "talk_seconds": call.get("talk_seconds")}


def _read_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames:
        raise ValidationError.field("file", "empty CSV")
    header = [(h or "").strip().lower() for h in reader.fieldnames]
    needed = {"offered_at", "caller", "talk_seconds"}
    missing = sorted(needed - set(header))
    if missing:
        raise ValidationError.field("file", f"missing columns {', '.join(missing)} (columns: offered_at, caller, ivr_keys or queue, "
                                            "talk_seconds, abandon_after_seconds)")
    if "ivr_keys" not in header and "queue" not in header:
        raise ValidationError.field("file", "give an ivr_keys or a queue column")
    out = []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        out.append((number, row))
    return out


def _number(text: str | None, field: str, *, default: float | None) -> float | None:
    if text in (None, ""):
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValidationError.field(field, f"{text!r} is not a number of seconds") from None
    if value < 0 or value > 86400:
        raise ValidationError.field(field, "seconds from 0 to 86400")
    return value


def _summary(results: list[dict[str, Any]], sim_agents: list[SimAgent], sim_calls: list[SimCall], queue_rows: dict[int, Any],
             service_level: int | None) -> dict[str, Any]:
    offered = len(results)
    counts = {k: sum(1 for r in results if r["outcome"] == k) for k in ("answered", "abandoned", "unanswered", "self_service", "no_route")}
    answered = [c for c in sim_calls if c.outcome == "answered"]
    reached = [c for c in sim_calls if c.queue_id is not None]

    def threshold(c: SimCall) -> int:
        return service_level if service_level is not None else queue_rows[c.queue_id]["service_level_seconds"]

    within = sum(1 for c in answered if c.wait is not None and c.wait <= threshold(c))
    waits = [c.wait for c in answered]
    vip_waits = [c.wait for c in answered if c.vip]
    other_waits = [c.wait for c in answered if not c.vip]
    start = min((c.offered for c in sim_calls), default=0)
    end = max([c.acw_until or c.abandoned or c.offered for c in sim_calls] or [start])
    per_queue = []
    for queue_id, queue in queue_rows.items():
        mine = [c for c in sim_calls if c.queue_id == queue_id]
        if not mine:
            continue
        got = [c for c in mine if c.outcome == "answered"]
        per_queue.append({"queue": queue["name"], "offered": len(mine), "answered": len(got),
                          "abandoned": sum(1 for c in mine if c.outcome in ("abandoned", "unanswered")),
                          "service_level_pct": _pct(sum(1 for c in got if c.wait <= threshold(c)), len(mine)),
                          "avg_wait_seconds": _avg([c.wait for c in got]), "avg_talk_seconds": _avg([c.talk for c in got])})
    per_agent = []
    for agent in sim_agents:
        span = max(end - start, 1)
        per_agent.append({"agent": agent.username, "calls": agent.calls, "talk_seconds": round(agent.talk), "acw_seconds": round(agent.acw),
                          "occupancy_pct": _pct(agent.talk + agent.acw, span) if agent.calls else 0.0})
    return {
        "offered": offered, **counts,
        "service_level_pct": _pct(within, len(reached)),
        "service_level_seconds": service_level if service_level is not None else "per queue",
        "abandon_rate_pct": _pct(counts["abandoned"] + counts["unanswered"], len(reached)),
        "avg_wait_seconds": _avg(waits), "max_wait_seconds": round(max(waits)) if waits else 0,
        "vip_avg_wait_seconds": _avg(vip_waits), "other_avg_wait_seconds": _avg(other_waits),
        "avg_handle_seconds": _avg([c.talk + queue_rows[c.queue_id]["wrap_up_seconds"] for c in answered]),
        "queues": per_queue, "agents": per_agent,
    }


def _avg(values: list[float | None]) -> float:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 1) if values else 0.0


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0
