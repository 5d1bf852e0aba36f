"""What every service page shares: labels of the plugin's codes in the
reader's language, the SLA clock a list shows for a ticket, and whole
numbers from forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from crmcore import web
from crmcore.web import lazy

from crm_callcenter.setup import CHANNELS, PRIORITIES

if TYPE_CHECKING:
    from litestar import Request

    from crmcore import UnitOfWork

#: English message ids of the service's codes; templates translate them with ``_()``.
STATUS_LABELS = {"new": lazy("New"), "assigned": lazy("Assigned"), "in_progress": lazy("In progress"),
                 "waiting_on_customer": lazy("Waiting on customer"), "resolved": lazy("Resolved"), "closed": lazy("Closed")}
PRIORITY_LABELS = {"low": lazy("Low"), "normal": lazy("Normal"), "high": lazy("High"), "urgent": lazy("Urgent")}
CHANNEL_LABELS = {"phone": lazy("Phone"), "email": lazy("E-mail channel"), "web": lazy("Website"), "visit": lazy("Walk-in visit"),
                  "wechat": lazy("WeChat")}
AGENT_STATE_LABELS = {"available": lazy("Available"), "busy": lazy("Busy"), "after_call_work": lazy("After-call work"),
                      "away": lazy("Away"), "offline": lazy("Offline")}
OUTCOME_LABELS = {"answered": lazy("Answered"), "abandoned": lazy("Abandoned"), "unanswered": lazy("Unanswered"),
                  "self_service": lazy("Self service"), "no_route": lazy("No route")}
EVENT_LABELS = {"created": lazy("Ticket opened"), "assigned": lazy("Assigned to"), "status": lazy("Status changed"),
                "comment": lazy("Reply"), "note": lazy("Internal note"), "reopened": lazy("Reopened"),
                "escalated": lazy("Escalated"), "sla_warning": lazy("SLA warning"), "call_linked": lazy("Call linked"),
                "solution": lazy("Solution used"), "updated": lazy("Changed"), "survey_answered": lazy("Survey answered")}
SLA_KIND_LABELS = {"first_response": lazy("First response"), "resolve": lazy("Resolution")}
LABELS = {"status": STATUS_LABELS, "priority": PRIORITY_LABELS, "channel": CHANNEL_LABELS, "agent_state": AGENT_STATE_LABELS,
          "outcome": OUTCOME_LABELS, "event": EVENT_LABELS, "sla_kind": SLA_KIND_LABELS}


def service(uow: "UnitOfWork") -> Any:
    return uow.service("callcenter")


def type_labeller(uow: "UnitOfWork", locale: str) -> Callable[[str | None], str]:
    """Ticket types carry their own Chinese and English labels."""
    types = {t["code"]: t for t in service(uow).ticket_types()}

    def label(code: str | None) -> str:
        found = types.get(code or "")
        if found is None:
            return code or ""
        return found["label"] if locale.startswith("zh") else (found["label_en"] or found["code"])

    return label


def type_options(uow: "UnitOfWork", locale: str) -> list[tuple[str, str]]:
    label = type_labeller(uow, locale)
    return [(t["code"], label(t["code"])) for t in service(uow).ticket_types()]


def context(request: "Request", uow: "UnitOfWork") -> dict[str, Any]:
    """Labels every service template uses, and the choices of its forms."""
    _ = web.translator(request)
    locale = web.request_locale(request)
    return {"labels": LABELS, "type_label": type_labeller(uow, locale), "type_options": type_options(uow, locale),
            "priority_options": [(code, _(PRIORITY_LABELS[code])) for code in PRIORITIES],
            "channel_options": [(code, _(CHANNEL_LABELS[code])) for code in CHANNELS]}


def sla_clock(sla: dict[str, Any]) -> dict[str, Any] | None:
    """The one SLA target a list shows: the first response while it is
    pending, else the resolution; ``None`` without a policy."""
    for kind in ("first_response", "resolve"):
        status = sla.get(f"{kind}_status")
        if status in ("running", "overdue", "paused"):
            return _clock(sla, kind)
    for kind in ("resolve", "first_response"):
        if sla.get(f"{kind}_status"):
            return _clock(sla, kind)
    return None


def _clock(sla: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"kind": kind, "status": sla[f"{kind}_status"], "due": sla.get(f"{kind}_due"),
            "left": sla.get(f"{kind}_remaining"), "overdue": sla.get(f"{kind}_overdue")}


def with_clocks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tickets with their SLA clock, the most urgent first: overdue, then
    running by due time, then the rest newest first."""
    for row in rows:
        row["clock"] = sla_clock(row["sla"])

    def urgency(row: dict[str, Any]) -> tuple[int, float]:
        clock = row["clock"]
        if clock and clock["status"] == "overdue":
            return 0, clock["due"].timestamp()
        if clock and clock["status"] == "running":
            return 1, clock["due"].timestamp()
        return 2, -row["id"]

    return sorted(rows, key=urgency)


def as_int(value: str) -> int | None:
    try:
        number = int(value.strip())
    except (AttributeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None
