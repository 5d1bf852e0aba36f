"""``crm service ...``: the service desk and call center on the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from crmcore import CLIState, pass_state


def _svc(uow: Any) -> Any:
    return uow.service("callcenter")


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "stdin"
    file = Path(path)
    if not file.is_file():
        from crmcore import ValidationError

        raise ValidationError.field("file", f"{path}: no such file")
    return file.read_text(encoding="utf-8-sig"), file.name


@click.group("service")
def service() -> None:
    """Service desk and call center (客户服务/呼叫中心): tickets, SLA, escalation,
    queues, agents, IVR, screen pop, knowledge base, surveys and reports."""


# -- calendar ------------------------------------------------------------------------


@service.group("calendar")
def calendar() -> None:
    """The business calendar SLA clocks run on."""


@calendar.command("set")
@click.option("--hours", multiple=True, help="Work periods, e.g. 09:00-18:00 or 09:00-12:00,13:00-18:00.")
@click.option("--weekdays", help="Weekdays worked, 1 = Monday: 1-5, 1-6, 1,3,5.")
@click.option("--holiday", "holidays", multiple=True, help="A date not worked (repeat).")
@click.option("--workday", "workdays", multiple=True, help="A make-up working day (调休), e.g. a Saturday (repeat).")
@click.option("--remove-holiday", "removed", multiple=True, help="Take a date off the holiday list.")
@click.option("--replace-holidays", is_flag=True, help="Replace the holiday and make-up day lists instead of adding to them.")
@pass_state
def calendar_set(state: CLIState, hours, weekdays, holidays, workdays, removed, replace_holidays) -> None:
    """Set work hours, weekdays, holidays and make-up working days."""
    with state.uow() as uow:
        _svc(uow).set_calendar(hours=hours, weekdays=weekdays, holidays=holidays, workdays=workdays,
                               remove_holidays=removed, replace_holidays=replace_holidays)
        view = _svc(uow).calendar_view()
    state.emit(view, text=lambda: _calendar_text(view))


@calendar.command("show")
@pass_state
def calendar_show(state: CLIState) -> None:
    """Show the business calendar."""
    with state.uow() as uow:
        view = _svc(uow).calendar_view()
    state.emit(view, text=lambda: _calendar_text(view))


def _calendar_text(view: dict[str, Any]) -> str:
    days = "一二三四五六日"
    return "\n".join([
        f"hours     {', '.join(view['hours'])}  (a working day is {view['working_day']})",
        f"weekdays  {', '.join('周' + days[d - 1] for d in view['weekdays'])}",
        f"holidays  {', '.join(view['holidays']) or '-'}",
        f"workdays  {', '.join(view['workdays']) or '-'}",
        f"zone      {view['zone']}",
    ])


# -- types and SLA -------------------------------------------------------------------


@service.group("type")
def ticket_type() -> None:
    """Ticket types (inquiry 咨询, complaint 投诉, suggestion 建议, repair 报修 …)."""


@ticket_type.command("list")
@pass_state
def type_list(state: CLIState) -> None:
    """List ticket types."""
    with state.uow() as uow:
        rows = _svc(uow).ticket_types()
    state.emit(rows, columns=["code", "label", "label_en"])


@ticket_type.command("add")
@click.argument("code")
@click.argument("label")
@click.option("--label-en", help="English label.")
@pass_state
def type_add(state: CLIState, code: str, label: str, label_en: str | None) -> None:
    """Add a ticket type: CODE and its Chinese LABEL."""
    with state.uow() as uow:
        row = _svc(uow).add_ticket_type(code, label, label_en)
    state.emit(row, text=f"added ticket type {row['code']} ({row['label']})")


@service.group("sla")
def sla() -> None:
    """SLA policies by ticket type and priority, in working time."""


@sla.command("add")
@click.option("--type", "ticket_type", help="Ticket type (code or label); omit for any type.")
@click.option("--priority", help="low, normal, high or urgent; omit for any priority.")
@click.option("--first-response", help="First response target: 10m, 2h, 1h30m, 0.5d (working time).")
@click.option("--resolve", help="Resolution target: 4h, 0.5d, 2d (working time).")
@click.option("--warn-at", default=80, show_default=True, type=int, help="Warn the agent at this percent of the target.")
@click.option("--escalate-after", help="Manager is told when still overdue this long after the due time [1h].")
@pass_state
def sla_add(state: CLIState, ticket_type, priority, first_response, resolve, warn_at, escalate_after) -> None:
    """Add (or replace) the SLA policy for a type and priority."""
    with state.uow() as uow:
        row = _svc(uow).add_sla(ticket_type=ticket_type, priority=priority, first_response=first_response, resolve=resolve,
                                warn_percent=warn_at, escalate_after=escalate_after)
    state.emit(row, text=f"SLA {row['id']}: {row['type']}/{row['priority']} first response {row['first_response'] or '-'}, "
                         f"resolve {row['resolve'] or '-'} (working time)")


@sla.command("list")
@pass_state
def sla_list(state: CLIState) -> None:
    """List SLA policies."""
    with state.uow() as uow:
        rows = _svc(uow).sla_policies()
    state.emit(rows, columns=["id", "type", "priority", "first_response", "resolve", "warn_percent", "escalate_after"])


@sla.command("remove")
@click.argument("policy_id", type=int)
@pass_state
def sla_remove(state: CLIState, policy_id: int) -> None:
    """Remove an SLA policy (tickets keep their due times)."""
    with state.uow() as uow:
        _svc(uow).remove_sla(policy_id)
    state.emit({"removed": policy_id}, text=f"removed SLA policy {policy_id}")


# -- teams, agents, queues -------------------------------------------------------------------


@service.group("team")
def team() -> None:
    """Teams: the escalation chain agent → team lead → manager."""


@team.command("add")
@click.argument("name")
@click.option("--lead", help="Team lead (a user).")
@click.option("--manager", help="Manager (a user).")
@pass_state
def team_add(state: CLIState, name: str, lead: str | None, manager: str | None) -> None:
    """Add a team with its lead and manager."""
    with state.uow() as uow:
        row = _svc(uow).add_team(name, lead=lead, manager=manager)
    state.emit(row, text=f"added team {row['name']} (lead {row['lead'] or '-'}, manager {row['manager'] or '-'})")


@team.command("update")
@click.argument("name")
@click.option("--lead", help="New team lead.")
@click.option("--manager", help="New manager.")
@pass_state
def team_update(state: CLIState, name: str, lead: str | None, manager: str | None) -> None:
    """Change a team's lead or manager."""
    with state.uow() as uow:
        row = _svc(uow).update_team(name, lead=lead, manager=manager)
    state.emit(row)


@team.command("list")
@pass_state
def team_list(state: CLIState) -> None:
    """List teams."""
    with state.uow() as uow:
        rows = _svc(uow).teams()
    state.emit(rows, columns=["id", "name", "lead", "manager", "agents"])


@service.group("agent")
def agent() -> None:
    """Agents: core users with skills, a team and a state."""


def _agent_add(state: CLIState, username: str, skills: str | None, team: str | None, email: str | None, initial: str) -> None:
    with state.uow() as uow:
        row = _svc(uow).add_agent(username, skills=skills, team=team, email=email, state=initial)
    state.emit(row, text=f"agent {row['user']}: skills {row['skills'] or '-'}, team {row['team'] or '-'}, {row['state']}")


@agent.command("update")
@click.argument("username")
@click.option("--skills", help="Replace the skills.")
@click.option("--add-skills", help="Add or change some skills.")
@click.option("--team", help="Move to a team ('' for none).")
@click.option("--email")
@click.option("--active/--inactive", default=None, help="Take part in routing or not.")
@pass_state
def agent_update(state: CLIState, username, skills, add_skills, team, email, active) -> None:
    """Change an agent's skills, team or e-mail."""
    with state.uow() as uow:
        row = _svc(uow).update_agent(username, skills=skills, add_skills=add_skills, team=team, email=email, active=active)
    state.emit(row)


@agent.command("state")
@click.argument("username")
@click.argument("new_state")
@click.option("--at", help="When (default now).")
@pass_state
def agent_state(state: CLIState, username: str, new_state: str, at: str | None) -> None:
    """Set an agent's state: available, busy, after_call_work, away, offline."""
    with state.uow() as uow:
        row = _svc(uow).set_agent_state(username, new_state, at=at)
    offered = row.get("offered_call")
    state.emit(row, text=f"{row['user']} is {row['state']}" + (f"; ringing with call {offered['call_ref']}" if offered else ""))


@agent.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include inactive agents.")
@pass_state
def agent_list(state: CLIState, include_inactive: bool) -> None:
    """List agents with skills and states."""
    with state.uow() as uow:
        rows = _svc(uow).agents(include_inactive=include_inactive)
    state.emit(rows, columns=["user", "skills", "team", "state", "state_since", "active"])


@agent.command("add")
@click.argument("username")
@click.option("--skills", help="Comma-separated skills, with an optional level 1-5: 投诉,普通话:3")
@click.option("--team", help="The agent's team.")
@click.option("--email", help="Where escalations for this agent go.")
@click.option("--state", "initial", default="available", show_default=True, help="available, busy, after_call_work, away, offline.")
@pass_state
def agent_add_command(state: CLIState, username: str, skills: str | None, team: str | None, email: str | None, initial: str) -> None:
    """Make a core user an agent with skills (e.g. --skills 投诉,普通话)."""
    _agent_add(state, username, skills, team, email, initial)


@service.group("queue")
def queue() -> None:
    """Call queues and the skills they require."""


@queue.command("add")
@click.argument("name")
@click.option("--skills", help="Required skills, with optional minimum levels: 投诉 or 投诉:2,普通话")
@click.option("--priority", default=0, show_default=True, type=int, help="Higher is served first when agents serve several queues.")
@click.option("--service-level", type=int, help="Answer within this many seconds counts as in service level [20].")
@click.option("--wrap-up", type=int, help="After-call work seconds [30].")
@click.option("--description")
@pass_state
def queue_add(state: CLIState, name, skills, priority, service_level, wrap_up, description) -> None:
    """Add a queue."""
    with state.uow() as uow:
        row = _svc(uow).add_queue(name, skills=skills, priority=priority, service_level=service_level, wrap_up=wrap_up,
                                  description=description)
    state.emit(row, text=f"queue {row['name']}: skills {row['skills'] or '-'}, agents {', '.join(row['agents']) or 'none yet'}")


@queue.command("update")
@click.argument("name")
@click.option("--skills")
@click.option("--priority", type=int)
@click.option("--service-level", type=int)
@click.option("--wrap-up", type=int)
@pass_state
def queue_update(state: CLIState, name, skills, priority, service_level, wrap_up) -> None:
    """Change a queue's skills, priority, service level or wrap-up time."""
    with state.uow() as uow:
        row = _svc(uow).update_queue(name, skills=skills, priority=priority, service_level=service_level, wrap_up=wrap_up)
    state.emit(row)


@queue.command("list")
@pass_state
def queue_list(state: CLIState) -> None:
    """List queues with the agents qualified for them."""
    with state.uow() as uow:
        rows = _svc(uow).queues()
    state.emit(rows, columns=["id", "name", "skills", "priority", "service_level_seconds", "wrap_up_seconds", "agents"])


# -- IVR -------------------------------------------------------------------------------------


@service.group("ivr")
def ivr() -> None:
    """IVR menus defined as data (TOML or JSON)."""


@ivr.command("load")
@click.argument("file")
@click.option("--name", default="main", show_default=True, help="Menu name; calls use 'main'.")
@pass_state
def ivr_load(state: CLIState, file: str, name: str) -> None:
    """Validate and store an IVR menu from FILE (TOML or JSON; - for stdin)."""
    text, filename = _read(file)
    with state.uow() as uow:
        row = _svc(uow).load_ivr(text, name=name, filename=filename)
    state.emit(row, text=f"IVR menu {row['name']} loaded; routes to {', '.join(row['queues']) or 'no queue'}")


@ivr.command("validate")
@click.argument("file")
@pass_state
def ivr_validate(state: CLIState, file: str) -> None:
    """Check an IVR menu without storing it."""
    from sqlalchemy import select

    from crm_callcenter import ivr as menus
    from crm_callcenter.tables import queues

    text, filename = _read(file)
    menu = menus.parse_menu_text(text, filename)
    with state.uow() as uow:
        known = set(uow.execute(select(queues.c.name)).scalars())
    problems = menus.validate(menu, known)
    state.emit({"valid": not problems, "problems": problems}, text="\n".join(problems) if problems else "menu is valid")
    if problems:
        sys.exit(1)


@ivr.command("show")
@click.option("--name", default="main", show_default=True)
@pass_state
def ivr_show(state: CLIState, name: str) -> None:
    """Show a menu as a tree."""
    with state.uow() as uow:
        menu = _svc(uow).ivr(name)
    state.emit(menu, text=lambda: "\n".join(_tree(menu)))


def _tree(node: dict[str, Any], indent: str = "") -> list[str]:
    lines = [f"{indent}🔊 {node.get('prompt')}"]
    for key, action in (node.get("options") or {}).items():
        lines.extend(_action_lines(f"[{key}]", action, indent))
    for name in ("default", "invalid"):
        if name in node:
            lines.extend(_action_lines(f"({name})", node[name], indent))
    return lines


def _action_lines(key: str, action: dict[str, Any], indent: str) -> list[str]:
    label = action.get("label") or ""
    if "menu" in action:
        return [f"{indent}  {key} {label} →", *_tree(action["menu"], indent + "      ")]
    target = f"queue {action['queue']}" if "queue" in action else f"self service {action.get('self_service')}"
    return [f"{indent}  {key} {label} → {target}"]


@ivr.command("simulate")
@click.argument("keys", default="")
@click.option("--name", default="main", show_default=True)
@pass_state
def ivr_simulate(state: CLIState, keys: str, name: str) -> None:
    """Walk the menu with KEYS (e.g. 12#; empty = no key pressed)."""
    with state.uow() as uow:
        result = _svc(uow).simulate_ivr(keys, name)

    def text() -> str:
        lines = [f"{s['menu']}: {s['prompt']}\n  pressed {s['key'] or '(nothing)'} → {s['label']}" for s in result["steps"]]
        end = {"queue": f"queue {result.get('queue')}", "self_service": f"self service {result.get('self_service')}",
               "no_route": "no route (the call ends)"}[result["outcome"]]
        return "\n".join([*lines, f"⇒ {end}"] + ([f"(keys not used: {result['unused_keys']})"] if result.get("unused_keys") else []))

    state.emit(result, text=text)


@ivr.command("sample")
def ivr_sample() -> None:
    """Print a sample menu to start from."""
    from crm_callcenter.ivr import SAMPLE

    click.echo(SAMPLE, nl=False)


# -- tickets -------------------------------------------------------------------------------


@service.group("ticket")
def ticket() -> None:
    """Service tickets (工单)."""


_TICKET_COLUMNS = ["id", "customer", "type_label", "priority", "status", "assignee", "subject", "created_at"]


def _ticket_text(view: dict[str, Any]) -> str:
    sla = view["sla"]
    lines = [f"工单#{view['id']} [{view['status_label']}] {view['type_label']} / {view['priority']}  {view['subject']}",
             f"customer   {view['customer']} ({view['customer_id']})",
             f"assignee   {view['assignee'] or '-'}   team {view['team'] or '-'}   channel {view['channel']}",
             f"opened     {view['created_at']:%Y-%m-%d %H:%M}"]
    for kind, label in (("first_response", "first resp"), ("resolve", "resolve   ")):
        if sla.get(f"{kind}_due"):
            state = sla[f"{kind}_status"] or ""
            if sla.get(f"{kind}_remaining"):
                state = f"{state}, {sla[f'{kind}_remaining']} left"
            elif sla.get(f"{kind}_overdue"):
                state = f"{state} by {sla[f'{kind}_overdue']} (working time)"
            lines.append(f"{label} due {sla[f'{kind}_due']:%Y-%m-%d %H:%M}  {state}".rstrip())
    for event in view.get("events", []):
        who = f" ({event['by']})" if event["by"] else ""
        change = f" {event['from'] or ''}→{event['to']}" if event["to"] else ""
        lines.append(f"  {event['at']:%m-%d %H:%M} {event['event']}{change}{who}" + (f": {event['body']}" if event["body"] else ""))
    return "\n".join(lines)


@ticket.command("add")
@click.argument("customer_id", type=int)
@click.option("--type", "ticket_type", required=True, help="inquiry, complaint, suggestion, repair (or label, e.g. 投诉).")
@click.option("--subject", required=True)
@click.option("--priority", default="normal", show_default=True, help="low, normal, high, urgent.")
@click.option("--description", "--body", "description")
@click.option("--channel", default="phone", show_default=True, help="phone, email, web, visit, wechat.")
@click.option("--category")
@click.option("--contact", "contact_id", type=int, help="The contact who raised it.")
@click.option("--assignee", help="Agent (user) to assign to.")
@click.option("--team")
@click.option("--call", "call_id", type=int, help="Link the call it came from.")
@click.option("--at", help="When it was opened (default now).")
@pass_state
def ticket_add(state: CLIState, customer_id, ticket_type, subject, priority, description, channel, category, contact_id,
               assignee, team, call_id, at) -> None:
    """Open a ticket for CUSTOMER_ID."""
    with state.uow() as uow:
        view = _svc(uow).open_ticket(customer_id, type=ticket_type, subject=subject, priority=priority, description=description,
                                     channel=channel, category=category, contact_id=contact_id, assignee=assignee, team=team,
                                     call_id=call_id, at=at)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("show")
@click.argument("ticket_id", type=int)
@pass_state
def ticket_show(state: CLIState, ticket_id: int) -> None:
    """Show a ticket with its SLA clocks and history."""
    with state.uow() as uow:
        view = _svc(uow).ticket_view(ticket_id, events=True)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("list")
@click.option("--status", help="new, assigned, in_progress, waiting_on_customer, resolved, closed.")
@click.option("--open", "open_only", is_flag=True, help="Open tickets only.")
@click.option("--overdue", is_flag=True, help="Open tickets past an SLA due time.")
@click.option("--assignee")
@click.option("--customer", "customer_id", type=int)
@click.option("--type", "ticket_type")
@click.option("--limit", default=50, show_default=True)
@pass_state
def ticket_list(state: CLIState, status, open_only, overdue, assignee, customer_id, ticket_type, limit) -> None:
    """List tickets, newest first."""
    with state.uow() as uow:
        rows = _svc(uow).list_tickets(status=status, open_only=open_only, overdue=overdue, assignee=assignee,
                                      customer_id=customer_id, type=ticket_type, limit=limit)
    state.emit(rows, columns=_TICKET_COLUMNS)


@ticket.command("assign")
@click.argument("ticket_id", type=int)
@click.argument("assignee")
@click.option("--team")
@click.option("--at")
@pass_state
def ticket_assign(state: CLIState, ticket_id: int, assignee: str, team: str | None, at: str | None) -> None:
    """Assign a ticket to an agent."""
    with state.uow() as uow:
        view = _svc(uow).assign(ticket_id, assignee, team=team, at=at)
    state.emit(view, text=lambda: _ticket_text(view))


def _status_command(name: str, status: str, doc: str) -> None:
    @ticket.command(name, help=doc)
    @click.argument("ticket_id", type=int)
    @click.option("--note", help="A note kept with the change.")
    @click.option("--at", help="When (default now).")
    @pass_state
    def command(state: CLIState, ticket_id: int, note: str | None, at: str | None) -> None:
        with state.uow() as uow:
            view = _svc(uow).set_status(ticket_id, status, note=note, at=at)
        state.emit(view, text=lambda: _ticket_text(view))


_status_command("start", "in_progress", "Start work on a ticket (in progress; counts as the first response).")
_status_command("wait", "waiting_on_customer", "Wait on the customer: the SLA clocks pause.")
_status_command("resolve", "resolved", "Resolve a ticket; a satisfaction survey is queued to the customer.")
_status_command("close", "closed", "Close a ticket.")


@ticket.command("reopen")
@click.argument("ticket_id", type=int)
@click.option("--reason")
@click.option("--at")
@pass_state
def ticket_reopen(state: CLIState, ticket_id: int, reason: str | None, at: str | None) -> None:
    """Reopen a resolved or closed ticket."""
    with state.uow() as uow:
        view = _svc(uow).reopen(ticket_id, reason=reason, at=at)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("comment")
@click.argument("ticket_id", type=int)
@click.argument("text")
@click.option("--internal", is_flag=True, help="An internal note, not a reply to the customer.")
@click.option("--at")
@pass_state
def ticket_comment(state: CLIState, ticket_id: int, text: str, internal: bool, at: str | None) -> None:
    """Reply on a ticket (or add an internal note)."""
    with state.uow() as uow:
        view = _svc(uow).comment(ticket_id, text, internal=internal, at=at)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("update")
@click.argument("ticket_id", type=int)
@click.option("--priority")
@click.option("--type", "ticket_type")
@click.option("--category")
@click.option("--subject")
@pass_state
def ticket_update(state: CLIState, ticket_id: int, priority, ticket_type, category, subject) -> None:
    """Change priority, type, category or subject (SLA re-applied)."""
    with state.uow() as uow:
        view = _svc(uow).update_ticket(ticket_id, priority=priority, type=ticket_type, category=category, subject=subject)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("link-call")
@click.argument("ticket_id", type=int)
@click.argument("call_id", type=int)
@pass_state
def ticket_link_call(state: CLIState, ticket_id: int, call_id: int) -> None:
    """Link a call to a ticket."""
    with state.uow() as uow:
        view = _svc(uow).link_call(ticket_id, call_id)
    state.emit(view, text=lambda: _ticket_text(view))


@ticket.command("use-solution")
@click.argument("ticket_id", type=int)
@click.argument("article_id", type=int)
@pass_state
def ticket_use_solution(state: CLIState, ticket_id: int, article_id: int) -> None:
    """Record that a knowledge-base solution was used on a ticket."""
    with state.uow() as uow:
        view = _svc(uow).use_solution(ticket_id, article_id)
    state.emit(view, text=lambda: _ticket_text(view))


# -- escalation and breaches ----------------------------------------------------------------


@service.command("escalate")
@click.option("--at", help="Pretend it is this time (default now).")
@pass_state
def escalate(state: CLIState, at: str | None) -> None:
    """Escalate overdue tickets (run by a scheduler; idempotent)."""
    with state.uow() as uow:
        rows = _svc(uow).escalate(at=at)

    def text() -> str:
        if not rows:
            return "nothing to escalate"
        return "\n".join(f"ticket {r['ticket']} {r['kind']}: → {r['escalated_to']} {r['user'] or r['recipient']}"
                         + (f" (overdue {r['overdue']})" if r["overdue"] else f" (due {r['due']:%Y-%m-%d %H:%M})") for r in rows)

    state.emit(rows, text=text)


@service.command("breaches")
@click.option("--from", "start", required=True, help="First day, e.g. 2026-11-01.")
@click.option("--to", "end", required=True, help="Last day (inclusive).")
@pass_state
def breaches(state: CLIState, start: str, end: str) -> None:
    """SLA breach report: tickets opened in the period that missed or are missing a target."""
    from crm_callcenter.reports import period

    with state.uow() as uow:
        since, until, _, _ = period(start, end, uow.crm.config.timezone)
        rows = _svc(uow).breaches(since=since, until=until)
    state.emit(rows, columns=["ticket", "customer", "type", "priority", "assignee", "status", "first_response", "resolve", "escalation_level"])


# -- screen pop ---------------------------------------------------------------------------


@service.command("lookup")
@click.argument("number")
@click.option("--create", "create_name", metavar="NAME", help="If nobody has this number, create a customer NAME with it.")
@pass_state
def lookup(state: CLIState, number: str, create_name: str | None) -> None:
    """Screen pop: who is calling from NUMBER (any spelling)."""
    with state.uow() as uow:
        result = _svc(uow).screen_pop(number)
        if not result["found"] and create_name:
            uow.customers.create(name=create_name, phones=[result["number"]])
            result = _svc(uow).screen_pop(number)
            result["created"] = True
    state.emit(result, text=lambda: _pop_text(result))


def _pop_text(result: dict[str, Any]) -> str:
    if not result["found"]:
        return (f"{result['input']} ({result['number']}) is not a known customer.\nCreate one: {result['suggestion']}\n"
                f"  or: crm service lookup \"{result['input']}\" --create NAME")
    out = []
    for match in result["matches"]:
        c = match["customer"]
        out.append(f"{'★VIP ' if match['vip'] else ''}{c['name']} (#{c['id']} {c['code']}) {c['level']} · {c.get('city') or ''} · owner {c['owner'] or '-'}")
        for contact in match["contacts"]:
            mark = " ←" if contact["id"] in match["matched_contact_ids"] else ""
            out.append(f"  contact {contact['name']} {contact.get('title') or ''} {', '.join(contact['phones'])}{mark}")
        out.append(f"  open tickets: {len(match['open_tickets'])}")
        for t in match["open_tickets"]:
            out.append(f"    #{t['id']} [{t['status']}] {t['priority']} {t['subject']} (SLA {t['sla'] or '-'})")
        out.append("  last activities:")
        for a in match["last_activities"]:
            out.append(f"    {a['occurred_at']:%Y-%m-%d} {a['type_label']} {a['subject'] or ''}")
        for panel in match.get("panel_text", {}).values():
            lines = [line for line in panel["lines"] if line.strip()]
            out.append(f"  [{panel['title']}] {lines[0] if lines else ''}")
            out.extend(f"      {line}" for line in lines[1:4])
    return "\n".join(out)


# -- calls ----------------------------------------------------------------------------------


@service.group("call")
def call() -> None:
    """Calls: the event API for a PBX, and the call log."""


@call.command("event")
@click.argument("event")
@click.argument("call_ref")
@click.option("--caller", help="Caller number (offered).")
@click.option("--queue", help="Queue (offered, queued, transferred).")
@click.option("--keys", "ivr_keys", help="IVR key presses (offered).")
@click.option("--agent", help="Agent (answered).")
@click.option("--to-agent", help="Agent to transfer to.")
@click.option("--at", help="When (default now).")
@pass_state
def call_event(state: CLIState, event, call_ref, caller, queue, ivr_keys, agent, to_agent, at) -> None:
    """Apply a call EVENT (offered, queued, answered, transferred, abandoned, ended, wrapup_done) to CALL_REF."""
    with state.uow() as uow:
        result = _svc(uow).call_event(event, call_ref, at=at, caller=caller, queue=queue, ivr_keys=ivr_keys, agent=agent,
                                      to_agent=to_agent)
    state.emit(result, text=lambda: _event_text(result))


def _event_text(result: dict[str, Any]) -> str:
    c = result["call"]
    action = result.get("action")
    extra = {"ring": f" → ring {result.get('agent')}", "queue": f" → queued, position {result.get('position')}"}.get(action or "", "")
    return f"call {c['call_ref']} ({c['id']}): {c['status']}{extra}"


@call.command("feed")
@click.argument("file")
@pass_state
def call_feed(state: CLIState, file: str) -> None:
    """Apply call events from a JSON-lines FILE (- for stdin), one transaction per event."""
    import json

    from crmcore import CRMError

    text, _ = _read(file)
    results, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            event, ref = data.pop("event"), data.pop("call")
            with state.uow() as uow:
                result = _svc(uow).call_event(event, ref, at=data.pop("at", None), caller=data.pop("caller", None),
                                              queue=data.pop("queue", None), ivr_keys=data.pop("ivr_keys", None),
                                              agent=data.pop("agent", None), to_agent=data.pop("to_agent", None), data=data)
            results.append({"line": number, "event": event, "call": ref, "status": result["call"]["status"],
                            "action": result.get("action"), "agent": result.get("agent") or result["call"]["agent"]})
        except (CRMError, ValueError, KeyError) as error:
            errors.append({"line": number, "error": str(error)})
    state.emit({"applied": results, "errors": errors},
               text=lambda: "\n".join([f"line {r['line']}: {r['event']} {r['call']} → {r['status']}" + (f" {r['agent']}" if r["agent"] else "")
                                       for r in results] + [f"line {e['line']}: error: {e['error']}" for e in errors]))
    if errors:
        sys.exit(1)


@call.command("list")
@click.option("--from", "start", help="First day.")
@click.option("--to", "end", help="Last day (inclusive).")
@click.option("--agent")
@click.option("--queue")
@click.option("--customer", "customer_id", type=int)
@click.option("--status")
@click.option("--limit", default=50, show_default=True)
@pass_state
def call_list(state: CLIState, start, end, agent, queue, customer_id, status, limit) -> None:
    """The call log, newest first."""
    from crm_callcenter.reports import period

    with state.uow() as uow:
        since = until = None
        if start or end:
            since, until, _, _ = period(start or end, end or start, uow.crm.config.timezone)
        rows = _svc(uow).list_calls(since=since, until=until, agent=agent, queue=queue, customer_id=customer_id, status=status, limit=limit)
    state.emit(rows, columns=["id", "offered_at", "caller", "customer_id", "vip", "queue", "agent", "outcome", "wait_seconds",
                              "talk_seconds", "acw_seconds", "ticket_id"])


@service.command("replay")
@click.argument("file")
@click.option("--no-save", is_flag=True, help="Simulate only; do not add the calls to the call log.")
@click.option("--ivr", "menu", default="main", show_default=True, help="IVR menu for ivr_keys.")
@click.option("--service-level", type=int, help="Seconds for the service level (default: each queue's).")
@pass_state
def replay(state: CLIState, file: str, no_save: bool, menu: str, service_level: int | None) -> None:
    """Replay a day of calls from a CSV (offered_at, caller, ivr_keys or queue,
    talk_seconds, abandon_after_seconds) through the agents and queues."""
    text, name = _read(file)
    with state.uow() as uow:
        result = _svc(uow).replay(text, name=name, save=not no_save, menu=menu, service_level=service_level)
    state.emit(result, text=lambda: _replay_text(result))


def _replay_text(result: dict[str, Any]) -> str:
    from crmcore.cli.context import render_table

    calls = [{**c, "offered_at": (c["offered_at"] or "")[11:19], "vip": "VIP" if c["vip"] else ""} for c in result["calls"]]
    s = result["summary"]
    lines = [render_table(calls, ["row", "offered_at", "caller", "customer", "vip", "ivr", "queue", "agent", "outcome", "wait_seconds",
                                  "talk_seconds", "reason"]), "",
             f"offered {s['offered']}  answered {s['answered']}  abandoned {s['abandoned']}  unanswered {s['unanswered']}  "
             f"self-service {s['self_service']}  no route {s['no_route']}",
             f"service level {s['service_level_pct']}% (" + (f"{s['service_level_seconds']}s" if isinstance(s['service_level_seconds'], int) else "each queue's threshold") + f")  abandon rate {s['abandon_rate_pct']}%  "
             f"avg wait {s['avg_wait_seconds']}s (VIP {s['vip_avg_wait_seconds']}s, others {s['other_avg_wait_seconds']}s)  "
             f"max wait {s['max_wait_seconds']}s  AHT {s['avg_handle_seconds']}s", "",
             render_table(s["queues"]), "", render_table(s["agents"]),
             f"{'saved ' + str(result['saved']) + ' calls to the call log' if result['saved'] else 'not saved (--no-save)'}"]
    return "\n".join(lines)


# -- knowledge base -----------------------------------------------------------------------


@service.group("kb")
def kb() -> None:
    """Knowledge base of solutions (解决方案)."""


@kb.command("add")
@click.option("--title", required=True)
@click.option("--body", required=True, help="The solution; @FILE reads it from a file.")
@click.option("--category")
@click.option("--tag", "tags", multiple=True, help="Tags (repeat, or comma-separated).")
@pass_state
def kb_add(state: CLIState, title: str, body: str, category: str | None, tags: tuple[str, ...]) -> None:
    """Add a solution."""
    if body.startswith("@"):
        body, _ = _read(body[1:])
    with state.uow() as uow:
        row = _svc(uow).add_article(title=title, body=body, category=category, tags=tags)
    state.emit(row, text=f"added solution {row['id']}: {row['title']}")


@kb.command("update")
@click.argument("article_id", type=int)
@click.option("--title")
@click.option("--body")
@click.option("--category")
@click.option("--tag", "tags", multiple=True, help="Replace the tags.")
@click.option("--active/--retired", default=None)
@pass_state
def kb_update(state: CLIState, article_id, title, body, category, tags, active) -> None:
    """Change a solution."""
    with state.uow() as uow:
        row = _svc(uow).update_article(article_id, title=title, body=body, category=category, tags=tags or None, active=active)
    state.emit(row)


@kb.command("search")
@click.argument("text", default="")
@click.option("--tag")
@click.option("--category")
@click.option("--limit", default=20, show_default=True)
@pass_state
def kb_search(state: CLIState, text: str, tag: str | None, category: str | None, limit: int) -> None:
    """Search solutions (Chinese words of any length match)."""
    with state.uow() as uow:
        rows = _svc(uow).search_articles(text, tag=tag, category=category, limit=limit)
    state.emit(rows, columns=["id", "title", "category", "tags", "usage_count", "snippet"])


@kb.command("show")
@click.argument("article_id", type=int)
@pass_state
def kb_show(state: CLIState, article_id: int) -> None:
    """Show a solution and the tickets that used it."""
    with state.uow() as uow:
        row = _svc(uow).article(article_id)
    state.emit(row, text=lambda: f"#{row['id']} {row['title']}  [{row['category'] or '-'}] {' '.join('#' + t for t in row['tags'])}\n"
                                 f"{row['body']}\nused on {row['usage_count']} tickets: {', '.join(map(str, row['tickets'])) or '-'}")


# -- surveys ----------------------------------------------------------------------------------


@service.group("survey")
def survey() -> None:
    """Satisfaction surveys (满意度调查) sent after resolution."""


@survey.command("answer")
@click.argument("key")
@click.option("--score", required=True, type=int, help="CSAT 1-5 (5 = very satisfied).")
@click.option("--comment")
@click.option("--at")
@pass_state
def survey_answer(state: CLIState, key: str, score: int, comment: str | None, at: str | None) -> None:
    """Record a customer's answer; KEY is the survey code or the ticket id."""
    with state.uow() as uow:
        row = _svc(uow).answer_survey(key, score, comment, at=at)
    state.emit(row, text=f"ticket {row['ticket']}: {row['score']}/5 recorded")


@survey.command("list")
@click.option("--answered/--pending", default=None)
@click.option("--limit", default=50, show_default=True)
@pass_state
def survey_list(state: CLIState, answered: bool | None, limit: int) -> None:
    """List surveys."""
    with state.uow() as uow:
        rows = _svc(uow).surveys(answered=answered, limit=limit)
    state.emit(rows, columns=["ticket", "customer_id", "agent", "category", "channel", "code", "sent_at", "score", "comment"])


# -- reports -------------------------------------------------------------------------------


@service.command("report")
@click.option("--from", "start", required=True, help="First day, e.g. 2026-11-01.")
@click.option("--to", "end", required=True, help="Last day (inclusive).")
@click.option("--queue", help="One queue only.")
@click.option("--service-level", type=int, help="Seconds for the service level (default: each queue's).")
@click.option("--chart", "chart_dir", help="Write SVG charts into this folder.")
@pass_state
def report(state: CLIState, start: str, end: str, queue: str | None, service_level: int | None, chart_dir: str | None) -> None:
    """Call-center and service report for a period."""
    from crm_callcenter.reports import period

    with state.uow() as uow:
        since, until, _, _ = period(start, end, uow.crm.config.timezone)
        svc = _svc(uow)
        data = svc.report(since, until, queue=queue, service_level=service_level)
        if chart_dir:
            data["charts"] = svc.report_charts(data, chart_dir)
    state.emit(data, text=lambda: _report_text(data))


def _report_text(data: dict[str, Any]) -> str:
    from crmcore.cli.context import render_fields, render_table

    t, c, s = data["tickets"], data["calls"], data["csat"]
    parts = [f"== calls {data['from']} – {data['to']}" + (f" (queue {data['queue']})" if data["queue"] else ""), render_fields(c), "",
             "== per queue", render_table(data["queues"]), "", "== per agent", render_table(data["agents"]), "",
             "== tickets", render_fields({k: v for k, v in t.items() if not isinstance(v, dict)}),
             "opened by type: " + (", ".join(f"{k} {v}" for k, v in t["opened_by_type"].items()) or "-"),
             "escalations: " + (", ".join(f"{k} {v}" for k, v in t["escalations"].items()) or "-"), "",
             "== satisfaction", render_fields({k: v for k, v in s.items() if not isinstance(v, list)}),
             "by agent: " + (", ".join(f"{r['name']} {r['csat']} ({r['answers']})" for r in s["by_agent"]) or "-"),
             "by team: " + (", ".join(f"{r['name']} {r['csat']} ({r['answers']})" for r in s["by_team"]) or "-"),
             "by category: " + (", ".join(f"{r['name']} {r['csat']} ({r['answers']})" for r in s["by_category"]) or "-")]
    if data.get("charts"):
        parts += ["", "charts: " + ", ".join(data["charts"])]
    return "\n".join(parts)
