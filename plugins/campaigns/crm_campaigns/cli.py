"""``crm campaigns ...``: segments, campaigns, messages, responses and ROI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from crmcore import CLIState, ValidationError, pass_state


def _svc(uow: Any) -> Any:
    return uow.service("campaigns")


def _days(value: str | None, field: str) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*d?\s*", value)
    if not match:
        raise ValidationError.field(field, f"{value!r}: give days like 3d or 3")
    return int(match.group(1))


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    from crmcore.cli.context import render_table

    return render_table(rows, columns)


def _campaign_view(campaign: Any) -> dict[str, Any]:
    return {k: getattr(campaign, k) for k in ("id", "name", "status", "goal", "starts_on", "ends_on", "channels", "budget",
                                              "control_pct", "throttle", "attribution_days", "launched_at", "finished_at")}


@click.group()
def campaigns() -> None:
    """Marketing campaigns (营销): segments, messages, responses, ROI."""


# ---------------------------------------------------------------------------
# Segments
# ---------------------------------------------------------------------------


@campaigns.group()
def segment() -> None:
    """Saved audience definitions (市场细分), written as TOML or JSON criteria."""


@segment.command("add")
@click.argument("name")
@click.option("--criteria", "criteria_file", required=True, type=click.Path(dir_okay=False), help="A .toml or .json criteria file.")
@click.option("--description", help="What the segment is for.")
@pass_state
def segment_add(state: CLIState, name: str, criteria_file: str, description: str | None) -> None:
    """Save a segment; its criteria are checked and compiled first."""
    from crm_campaigns.criteria import load_document

    document = load_document(criteria_file)
    with state.uow() as uow:
        added = _svc(uow).add_segment(name, document, description)
        preview = _svc(uow).preview(added.id, limit=0)
    state.emit({"id": added.id, "name": added.name, "count": preview["count"]},
               text=f"segment {added.name} saved: {preview['count']} customers match now")


@segment.command("edit")
@click.argument("name")
@click.option("--criteria", "criteria_file", type=click.Path(dir_okay=False), help="New criteria (.toml or .json).")
@click.option("--description", help="New description.")
@click.option("--rename", help="New name.")
@pass_state
def segment_edit(state: CLIState, name: str, criteria_file: str | None, description: str | None, rename: str | None) -> None:
    """Change a segment's criteria, description or name."""
    from crm_campaigns.criteria import load_document

    document = load_document(criteria_file) if criteria_file else None
    with state.uow() as uow:
        changed = _svc(uow).edit_segment(name, document, description, rename)
    state.emit({"id": changed.id, "name": changed.name, "criteria": changed.criteria}, text=f"segment {changed.name} saved")


@segment.command("list")
@pass_state
def segment_list(state: CLIState) -> None:
    """List saved segments."""
    with state.uow() as uow:
        rows = [{"id": s.id, "name": s.name, "criteria": len(s.criteria["criteria"]), "match": s.criteria["match"],
                 "description": s.description} for s in _svc(uow).segments()]
    state.emit(rows, columns=["id", "name", "match", "criteria", "description"])


@segment.command("show")
@click.argument("name")
@click.option("--sql", is_flag=True, help="Also print the compiled SQL query.")
@pass_state
def segment_show(state: CLIState, name: str, sql: bool) -> None:
    """Show a segment's criteria (and its SQL)."""
    import json

    with state.uow() as uow:
        found = _svc(uow).segment(name)
        data = {"id": found.id, "name": found.name, "description": found.description, "criteria": found.criteria}
        if sql:
            data["sql"] = _svc(uow).segment_sql(found.id)
    state.emit(data, text=lambda: "\n".join([f"{found.name}  {found.description or ''}",
                                             json.dumps(found.criteria, ensure_ascii=False, indent=2),
                                             *([data["sql"]] if sql else [])]))


@segment.command("preview")
@click.argument("name")
@click.option("--limit", default=10, show_default=True, help="How many customers to show.")
@pass_state
def segment_preview(state: CLIState, name: str, limit: int) -> None:
    """Count the customers a segment holds now (within your scope) and show a sample."""
    with state.uow() as uow:
        result = _svc(uow).preview(name, limit=limit)
    state.emit(result, text=lambda: f"{result['count']} customers\n"
               + _table(result["sample"], ["id", "name", "city", "level", "stage", "tags"]))


@segment.command("remove")
@click.argument("name")
@pass_state
def segment_remove(state: CLIState, name: str) -> None:
    """Delete a segment no campaign uses."""
    with state.uow() as uow:
        _svc(uow).remove_segment(name)
    state.emit({"removed": name}, text=f"segment {name} removed")


@segment.command("fields")
@pass_state
def segment_fields(state: CLIState) -> None:
    """List the fields criteria may use, including other plugins' fields."""
    with state.uow() as uow:
        rows = _svc(uow).fields()
    state.emit(rows, columns=["field", "type", "source", "label"])


# ---------------------------------------------------------------------------
# Campaigns
# ---------------------------------------------------------------------------


def _campaign_options(func: Any) -> Any:
    options = [
        click.option("--segment", help="Target segment."),
        click.option("--channel", "channels", multiple=True, help="email, sms, phone, event or mail (repeatable)."),
        click.option("--budget", help="Budget in CNY."),
        click.option("--control", help="Control group held out at random, e.g. 10%."),
        click.option("--goal", help="What the campaign should achieve."),
        click.option("--start", "starts_on", help="Start date, e.g. 2026-03-01."),
        click.option("--end", "ends_on", help="End date."),
        click.option("--owner", help="Responsible user (username)."),
        click.option("--throttle", type=int, help="At most this many messages per run."),
        click.option("--attribution-days", type=int, help="Purchases this many days after a message count for it [30]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@campaigns.command("add")
@click.argument("name")
@_campaign_options
@pass_state
def add(state: CLIState, name: str, segment: str | None, channels: tuple[str, ...], budget: str | None, control: str | None,
        goal: str | None, starts_on: str | None, ends_on: str | None, owner: str | None, throttle: int | None,
        attribution_days: int | None) -> None:
    """Create a campaign (a draft)."""
    with state.uow() as uow:
        made = _svc(uow).add(name, segment=segment, channels=channels, budget=budget, control=control, goal=goal,
                             starts_on=starts_on, ends_on=ends_on, owner=owner, throttle=throttle,
                             attribution_days=attribution_days or 30)
    state.emit(_campaign_view(made), text=f"campaign {made.name} created (draft)")


@campaigns.command("edit")
@click.argument("name")
@_campaign_options
@click.option("--rename", help="New name.")
@pass_state
def edit(state: CLIState, name: str, segment: str | None, channels: tuple[str, ...], budget: str | None, control: str | None,
         goal: str | None, starts_on: str | None, ends_on: str | None, owner: str | None, throttle: int | None,
         attribution_days: int | None, rename: str | None) -> None:
    """Change a campaign; an approved one goes back to draft."""
    with state.uow() as uow:
        changed = _svc(uow).edit(name, segment=segment, channels=list(channels) or None, budget=budget, control=control,
                                 goal=goal, starts_on=starts_on, ends_on=ends_on, owner=owner, throttle=throttle,
                                 attribution_days=attribution_days, rename=rename)
    state.emit(_campaign_view(changed), text=f"campaign {changed.name} saved ({changed.status})")


@campaigns.command("list")
@click.option("--status", type=click.Choice(["draft", "approved", "running", "finished", "cancelled"]), help="Only this status.")
@pass_state
def list_(state: CLIState, status: str | None) -> None:
    """List campaigns."""
    with state.uow() as uow:
        rows = [_campaign_view(c) for c in _svc(uow).list(status)]
    state.emit(rows, columns=["id", "name", "status", "channels", "budget", "control_pct", "starts_on", "ends_on"])


@campaigns.command("show")
@click.argument("name")
@pass_state
def show(state: CLIState, name: str) -> None:
    """Show a campaign with its steps, templates and costs."""
    with state.uow() as uow:
        service = _svc(uow)
        campaign = service.get(name)
        data = _campaign_view(campaign)
        segment_ = service.find_segment(campaign.segment_id) if campaign.segment_id else None
        data["segment"] = segment_.name if segment_ else None
        owner = uow.users.find(campaign.owner_id) if campaign.owner_id else None
        data["owner"] = owner.username if owner else None
        data["steps"] = [{"step": s.number, "channel": s.channel, "after_days": s.delay_days, "only": s.audience,
                          "ab_pct": s.ab_pct, "winner": s.winner, "status": s.status} for s in service.steps(name)]
        data["templates"] = service.templates(name)
        data["costs"] = service.costs(name)

    def text() -> str:
        from crmcore.cli.context import render_fields

        head = {k: v for k, v in data.items() if k not in ("steps", "templates", "costs")}
        return "\n\n".join([render_fields(head), "steps:\n" + _table(data["steps"], None),
                            "templates:\n" + _table(data["templates"], ["step", "channel", "language", "variant", "subject"]),
                            "costs:\n" + _table(data["costs"], ["incurred_on", "description", "channel", "amount"])])

    state.emit(data, text=text)


@campaigns.command("approve")
@click.argument("name")
@pass_state
def approve(state: CLIState, name: str) -> None:
    """Approve a draft campaign (needs campaigns.approve)."""
    with state.uow() as uow:
        done = _svc(uow).approve(name)
    state.emit(_campaign_view(done), text=f"campaign {done.name} approved")


@campaigns.command("launch")
@click.argument("name")
@pass_state
def launch(state: CLIState, name: str) -> None:
    """Freeze the audience (holding out the control group) and send the first step."""
    with state.uow() as uow:
        result = _svc(uow).launch(name)
    state.emit(result, text=f"campaign {result['campaign']} running: audience {result['audience']} "
               f"(target {result['target']}, control {result['control']}); queued {result['queued']}, "
               f"listed {result['listed']}, suppressed {result['suppressed']}, errors {result['errors']}. "
               "Deliver with `crm outbox deliver`.")


@campaigns.command("run")
@click.argument("name", required=False)
@click.option("--step", type=int, help="Send this step now, whatever its delay (needs NAME).")
@pass_state
def run(state: CLIState, name: str | None, step: int | None) -> None:
    """Send what is due in running campaigns (reminders, A/B winners, throttled rest)."""
    with state.uow() as uow:
        result = _svc(uow).run(name, step=step)
    rows = [{"campaign": c["campaign"], "queued": c["queued"], "listed": c["listed"], "suppressed": c["suppressed"],
             "errors": c["errors"], "steps": ", ".join(str(s["step"]) for s in c["steps"])} for c in result["campaigns"]]
    state.emit(result, text=lambda: _table(rows, ["campaign", "steps", "queued", "listed", "suppressed", "errors"]))


@campaigns.command("finish")
@click.argument("name")
@pass_state
def finish(state: CLIState, name: str) -> None:
    """Mark a running campaign finished (responses still count)."""
    with state.uow() as uow:
        done = _svc(uow).finish(name)
    state.emit(_campaign_view(done), text=f"campaign {done.name} finished")


@campaigns.command("cancel")
@click.argument("name")
@pass_state
def cancel(state: CLIState, name: str) -> None:
    """Stop a campaign and withdraw its undelivered messages."""
    with state.uow() as uow:
        done = _svc(uow).cancel(name)
    state.emit(_campaign_view(done), text=f"campaign {done.name} cancelled")


# ---------------------------------------------------------------------------
# Steps and templates
# ---------------------------------------------------------------------------


@campaigns.group()
def step() -> None:
    """Steps of a campaign: first message, reminders, A/B tests."""


@step.command("add")
@click.argument("name")
@click.option("--channel", required=True, help="email, sms, phone, event or mail.")
@click.option("--after", default="0d", show_default=True, help="Days after launch, e.g. 3d.")
@click.option("--only", type=click.Choice(["all", "non-responders"]), default="all", show_default=True,
              help="Send to everyone in the target group, or only to those who have not responded.")
@click.option("--ab", help="A/B test the step's variants on this sample, e.g. 20%.")
@click.option("--ab-wait-hours", type=int, default=24, show_default=True, help="Hours before the A/B winner is picked.")
@pass_state
def step_add(state: CLIState, name: str, channel: str, after: str, only: str, ab: str | None, ab_wait_hours: int) -> None:
    """Add a step (e.g. a reminder after 3 days to non-responders)."""
    with state.uow() as uow:
        made = _svc(uow).add_step(name, channel=channel, after_days=_days(after, "after"), only=only, ab=ab,
                                  ab_wait_hours=ab_wait_hours)
    state.emit({"step": made.number, "channel": made.channel, "after_days": made.delay_days, "only": made.audience,
                "ab_pct": made.ab_pct}, text=f"step {made.number} added: {made.channel} after {made.delay_days} days to {made.audience}")


@step.command("edit")
@click.argument("name")
@click.argument("number", type=int)
@click.option("--after", help="Days after launch, e.g. 3d.")
@click.option("--only", type=click.Choice(["all", "non-responders"]), help="Who gets the step.")
@click.option("--ab", help="A/B sample, e.g. 20% (0 turns the test off).")
@click.option("--ab-wait-hours", type=int, help="Hours before the A/B winner is picked.")
@pass_state
def step_edit(state: CLIState, name: str, number: int, after: str | None, only: str | None, ab: str | None,
              ab_wait_hours: int | None) -> None:
    """Change a step that has not started."""
    with state.uow() as uow:
        changed = _svc(uow).edit_step(name, number, after_days=_days(after, "after"), only=only, ab=ab, ab_wait_hours=ab_wait_hours)
    state.emit({"step": changed.number, "channel": changed.channel, "after_days": changed.delay_days, "only": changed.audience,
                "ab_pct": changed.ab_pct, "ab_wait_hours": changed.ab_wait_hours}, text=f"step {changed.number} saved")


@step.command("list")
@click.argument("name")
@pass_state
def step_list(state: CLIState, name: str) -> None:
    """List a campaign's steps."""
    with state.uow() as uow:
        rows = [{"step": s.number, "channel": s.channel, "after_days": s.delay_days, "only": s.audience, "ab_pct": s.ab_pct,
                 "ab_sample": s.ab_sample_size, "winner": s.winner, "status": s.status} for s in _svc(uow).steps(name)]
    state.emit(rows, columns=["step", "channel", "after_days", "only", "ab_pct", "ab_sample", "winner", "status"])


@campaigns.group()
def template() -> None:
    """Message templates (jinja2) per step, channel, language and A/B variant."""


@template.command("add")
@click.argument("name")
@click.option("--channel", required=True, help="email, sms, phone, event or mail.")
@click.option("--subject", help="Subject (e-mail), a jinja2 template: {{ customer.name }}.")
@click.option("--body", help="Body text, a jinja2 template.")
@click.option("--body-file", type=click.Path(exists=True, dir_okay=False), help="Read the body from this file (UTF-8).")
@click.option("--language", default="zh", show_default=True, help="Language of this text (customer.custom.language picks it).")
@click.option("--variant", default="A", show_default=True, help="A/B variant name.")
@click.option("--step", "step_number", type=int, help="Step number [the first step on the channel, made if missing].")
@pass_state
def template_add(state: CLIState, name: str, channel: str, subject: str | None, body: str | None, body_file: str | None,
                 language: str, variant: str, step_number: int | None) -> None:
    """Add or replace a message template."""
    if bool(body) == bool(body_file):
        raise click.UsageError("give exactly one of --body and --body-file")
    text = Path(body_file).read_text(encoding="utf-8") if body_file else body
    with state.uow() as uow:
        result = _svc(uow).add_template(name, channel=channel, subject=subject, body=text, language=language, variant=variant,
                                        step=step_number)
    state.emit(result, text=f"template saved: {result['campaign']} step {result['step']} {result['channel']} "
               f"{result['language']} variant {result['variant']}")


@template.command("list")
@click.argument("name")
@pass_state
def template_list(state: CLIState, name: str) -> None:
    """List a campaign's templates."""
    with state.uow() as uow:
        rows = _svc(uow).templates(name)
    state.emit(rows, columns=["step", "channel", "language", "variant", "subject"])


@template.command("preview")
@click.argument("name")
@click.option("--customer", "customer_id", type=int, required=True, help="Render for this customer.")
@click.option("--step", "step_number", type=int, default=1, show_default=True, help="Step number.")
@click.option("--variant", help="A/B variant.")
@click.option("--language", help="Language [the customer's].")
@pass_state
def template_preview(state: CLIState, name: str, customer_id: int, step_number: int, variant: str | None,
                     language: str | None) -> None:
    """Show the message one customer would get."""
    with state.uow() as uow:
        result = _svc(uow).preview_message(name, customer_id, step=step_number, variant=variant, language=language)
    state.emit(result, text=lambda: "\n".join([f"to: {result['recipient'] or '(no address)'} via {result['channel']} "
                                               f"[{result['language']}/{result['variant']}]",
                                               *([f"subject: {result['subject']}"] if result["subject"] else []), "",
                                               result["body"]]))


@campaigns.command("winner")
@click.argument("name")
@click.option("--step", "step_number", type=int, default=1, show_default=True, help="The A/B tested step.")
@click.option("--variant", help="Declare this variant the winner instead of the best response rate.")
@pass_state
def winner(state: CLIState, name: str, step_number: int, variant: str | None) -> None:
    """End an A/B test now and send the winning variant to the rest."""
    with state.uow() as uow:
        result = _svc(uow).pick_winner(name, step_number, variant)
    state.emit(result, text=lambda: f"winner of step {result['step']}: {result['winner']}; queued {result['queued']}\n"
               + _table(result["variants"], ["variant", "sent", "responders", "response_rate"]))


# ---------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------


@campaigns.command("messages")
@click.argument("name")
@click.option("--status", help="queued, sent, failed, cancelled, listed, suppressed or error.")
@click.option("--step", "step_number", type=int, help="Only this step.")
@click.option("--limit", default=100, show_default=True)
@pass_state
def messages_(state: CLIState, name: str, status: str | None, step_number: int | None, limit: int) -> None:
    """Per-message delivery state (read from the outbox)."""
    with state.uow() as uow:
        rows = _svc(uow).messages(name, status=status, step=step_number, limit=limit)
    state.emit(rows, columns=["id", "step", "customer_id", "channel", "variant", "recipient", "status", "reason", "attempts", "error"])


@campaigns.command("calllist")
@click.argument("name")
@click.option("--step", "step_number", type=int, required=True, help="A phone, event or mail step.")
@pass_state
def calllist(state: CLIState, name: str, step_number: int) -> None:
    """The call list / invitation list / mailing list of a step."""
    with state.uow() as uow:
        rows = _svc(uow).recipients_list(name, step_number)
    state.emit(rows, columns=["customer_id", "name", "phone", "email", "address"])


# ---------------------------------------------------------------------------
# Responses, leads, costs
# ---------------------------------------------------------------------------


@campaigns.command("response")
@click.argument("name")
@click.option("--customer", "customer_id", type=int, required=True, help="Customer id.")
@click.option("--type", "type_", required=True, type=click.Choice(["opened", "clicked", "replied", "registered", "bought"]),
              help="What the customer did.")
@click.option("--amount", help="Amount of a purchase (bought).")
@click.option("--at", help="When, e.g. 2026-03-05T10:00 [now].")
@click.option("--note", help="A note.")
@pass_state
def response(state: CLIState, name: str, customer_id: int, type_: str, amount: str | None, at: str | None, note: str | None) -> None:
    """Record a response to a campaign."""
    with state.uow() as uow:
        result = _svc(uow).record_response(name, customer_id, type_, amount=amount, at=at, note=note)
    state.emit(result, text=f"response recorded: customer {result['customer_id']} {result['type']} "
               f"({result['channel']}, step {result['step']})")


@campaigns.command("responses")
@click.argument("name")
@click.option("--type", "type_", help="Only this response type.")
@pass_state
def responses_(state: CLIState, name: str, type_: str | None) -> None:
    """List a campaign's responses."""
    with state.uow() as uow:
        rows = _svc(uow).responses(name, type=type_)
    state.emit(rows, columns=["id", "customer_id", "name", "type", "channel", "amount", "occurred_at"])


@campaigns.command("lead")
@click.argument("name")
@click.option("--customer", "customer_id", type=int, help="Only this responder [all responders not yet leads].")
@click.option("--owner", help="Assign to this user [the customer's owner].")
@click.option("--type", "types", multiple=True, help="Only responders of this type (repeatable).")
@pass_state
def lead(state: CLIState, name: str, customer_id: int | None, owner: str | None, types: tuple[str, ...]) -> None:
    """Turn responders into leads for sales."""
    with state.uow() as uow:
        rows = _svc(uow).make_leads(name, customer_id=customer_id, owner=owner, types=types)
    state.emit(rows, columns=["lead_id", "customer_id", "name", "owner"])


@campaigns.group()
def cost() -> None:
    """Actual cost lines of a campaign."""


@cost.command("add")
@click.argument("name")
@click.option("--amount", required=True, help="Amount in CNY.")
@click.option("--description", required=True, help="What it paid for.")
@click.option("--channel", help="The channel it belongs to (for ROI per channel).")
@click.option("--date", "on", help="When [today].")
@pass_state
def cost_add(state: CLIState, name: str, amount: str, description: str, channel: str | None, on: str | None) -> None:
    """Add a cost line."""
    with state.uow() as uow:
        result = _svc(uow).add_cost(name, amount, description, channel=channel, on=on)
    state.emit(result, text=f"cost {result['amount']} added to {result['campaign']}")


@cost.command("list")
@click.argument("name")
@pass_state
def cost_list(state: CLIState, name: str) -> None:
    """List a campaign's cost lines."""
    with state.uow() as uow:
        rows = _svc(uow).costs(name)
    state.emit(rows, columns=["id", "incurred_on", "description", "channel", "amount"])


# ---------------------------------------------------------------------------
# Opt-outs and blacklist
# ---------------------------------------------------------------------------


@campaigns.command("optout")
@click.argument("customer_id", type=int)
@click.option("--channel", required=True, help="email, sms, phone, event, mail, or all.")
@click.option("--reason", help="Why.")
@pass_state
def optout(state: CLIState, customer_id: int, channel: str, reason: str | None) -> None:
    """Opt a customer out of campaigns on one channel (the global opt-out is `crm customer edit ID --do-not-contact`)."""
    with state.uow() as uow:
        result = _svc(uow).opt_out(customer_id, channel, reason)
    state.emit(result, text=f"customer {customer_id} opted out of {result['channel']}"
               + (f"; {result['withdrawn']} queued message(s) withdrawn" if result["withdrawn"] else ""))


@campaigns.command("optin")
@click.argument("customer_id", type=int)
@click.option("--channel", required=True, help="The channel to allow again.")
@pass_state
def optin(state: CLIState, customer_id: int, channel: str) -> None:
    """Undo a per-channel opt-out."""
    with state.uow() as uow:
        result = _svc(uow).opt_in(customer_id, channel)
    state.emit(result, text=f"customer {customer_id} may be contacted by {channel} again")


@campaigns.command("optouts")
@click.option("--customer", "customer_id", type=int, help="Only this customer.")
@pass_state
def optouts_(state: CLIState, customer_id: int | None) -> None:
    """List per-channel opt-outs."""
    with state.uow() as uow:
        rows = _svc(uow).optouts(customer_id)
    state.emit(rows, columns=["customer_id", "name", "channel", "reason", "created_at"])


@campaigns.group()
def blacklist() -> None:
    """Customers never messaged by any campaign, whatever the segment says."""


@blacklist.command("add")
@click.argument("customer_id", type=int)
@click.option("--reason", help="Why.")
@pass_state
def blacklist_add(state: CLIState, customer_id: int, reason: str | None) -> None:
    """Blacklist a customer."""
    with state.uow() as uow:
        result = _svc(uow).blacklist_add(customer_id, reason)
    state.emit(result, text=f"customer {customer_id} blacklisted")


@blacklist.command("remove")
@click.argument("customer_id", type=int)
@pass_state
def blacklist_remove(state: CLIState, customer_id: int) -> None:
    """Take a customer off the blacklist."""
    with state.uow() as uow:
        result = _svc(uow).blacklist_remove(customer_id)
    state.emit(result, text=f"customer {customer_id} removed from the blacklist")


@blacklist.command("list")
@pass_state
def blacklist_list(state: CLIState) -> None:
    """List blacklisted customers."""
    with state.uow() as uow:
        rows = _svc(uow).blacklisted()
    state.emit(rows, columns=["customer_id", "name", "reason", "created_at"])


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


@campaigns.command("stats")
@click.argument("name")
@click.option("--chart", type=click.Path(dir_okay=False), help="Write the funnel chart to this .svg (or .png) file.")
@pass_state
def stats(state: CLIState, name: str, chart: str | None) -> None:
    """Evaluate a campaign: sent, delivered, responses, revenue, cost, ROI, lift."""
    from crmcore import funnel_chart, save_chart

    with state.uow() as uow:
        service = _svc(uow)
        result = service.stats(name)
        if chart:
            stages, values = service.funnel(result)
            save_chart(funnel_chart(f"{result['campaign']} 营销漏斗", stages, values), chart)
            result["chart"] = str(chart)

    def text() -> str:
        lift = result["lift"]
        lines = [
            f"{result['campaign']} ({result['status']})",
            f"audience {result['audience']} = target {result['target']} + control {result['control']}",
            f"messages: sent {result['sent']}, delivered {result['delivered']}, pending {result['pending']}, "
            f"failed {result['failed']}, suppressed {result['suppressed']}",
            f"customers: messaged {result['messaged']}, reached {result['reached']}",
            f"responded {result['responded']} of {result['reached']} reached ({_pct(result['response_rate'])}); "
            + ", ".join(f"{k} {v}" for k, v in result["responses"].items()),
            f"conversions {result['conversions']}, revenue {result['revenue']}, cost {result['cost']} "
            + ("(the budget: no cost lines yet)" if result["cost_basis"] == "budget"
               else f"(budget {result['budget'] if result['budget'] is not None else '-'})")
            + f", ROI {_pct(result['roi'])} = (revenue - cost) / cost",
            f"lift vs control: target {_pct(lift['target_rate'])} vs control {_pct(lift['control_rate'])} bought "
            f"→ lift {_pct(lift['lift'])}, incremental revenue {lift['incremental_revenue']}",
            "",
            _table([{**c, "response_rate": _pct(c["response_rate"]), "roi": _pct(c["roi"])} for c in result["channels"]],
                   ["channel", "sent", "delivered", "failed", "suppressed", "responded", "response_rate", "conversions",
                    "revenue", "cost", "roi"]),
        ]
        if chart:
            lines.append(f"\nchart written to {chart}")
        return "\n".join(lines)

    state.emit(result, text=text)


@campaigns.command("compare")
@click.argument("names", nargs=-1)
@click.option("--chart", type=click.Path(dir_okay=False), help="Write a bar chart of revenue per campaign (.svg).")
@pass_state
def compare(state: CLIState, names: tuple[str, ...], chart: str | None) -> None:
    """Compare campaigns side by side [all running and finished ones]."""
    from crmcore import bar_chart, save_chart

    with state.uow() as uow:
        rows = _svc(uow).compare(names)
    if chart:
        save_chart(bar_chart("营销活动收入 revenue", [r["campaign"] for r in rows], [float(r["revenue"]) for r in rows], unit=" 元"), chart)
    state.emit(rows, text=lambda: _table([{**r, "response_rate": _pct(r["response_rate"]), "roi": _pct(r["roi"]),
                                           "lift": _pct(r["lift"])} for r in rows],
                                         ["campaign", "status", "audience", "sent", "delivered", "responded", "response_rate",
                                          "conversions", "revenue", "cost", "roi", "lift"]))
