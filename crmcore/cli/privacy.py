"""``crm consent`` and ``crm privacy``: consent, a person's data export and
erasure, legal hold, retention, and the plugins' part in it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from crmcore.cli.context import CLIState, fail, pass_state

PURPOSE_HELP = "marketing, service, analytics or sharing"
CHANNEL_HELP = "email, sms, phone or mail; repeat for several"


# -- consent ------------------------------------------------------------------------------


@click.group()
def consent() -> None:
    """A customer's consent per purpose and channel, with its history."""


def _consent_options(function):
    function = click.option("--evidence", help="Reference to the proof: form number, call recording id, file …")(function)
    function = click.option("--method", default="form", show_default=True, help="How: form, call, import, api, email, sms, in_person, other.")(function)
    function = click.option("--channel", "channels", multiple=True, required=True, help=CHANNEL_HELP)(function)
    function = click.option("--purpose", required=True, help=PURPOSE_HELP)(function)
    return click.argument("customer_id", type=int)(function)


def _record(state: CLIState, customer_id: int, purpose: str, channels: tuple[str, ...], method: str,
            evidence: str | None, granted: bool) -> None:
    with state.uow() as uow:
        action = uow.consents.grant if granted else uow.consents.withdraw
        made = [action(customer_id, purpose, channel, method=method, evidence=evidence) for channel in channels]
    rows = [{"customer_id": c.customer_id, "purpose": c.purpose, "channel": c.channel, "granted": c.granted, "at": c.at,
             "method": c.method, "evidence": c.evidence} for c in made]
    verb = "granted" if granted else "withdrawn"
    state.emit(rows, text=f"customer {customer_id}: {purpose} {verb} for {', '.join(channels)}")


@consent.command("grant")
@_consent_options
@pass_state
def consent_grant(state: CLIState, customer_id: int, purpose: str, channels: tuple[str, ...], method: str, evidence: str | None) -> None:
    """Record that a customer grants consent for a purpose over channels."""
    _record(state, customer_id, purpose, channels, method, evidence, True)


@consent.command("withdraw")
@_consent_options
@pass_state
def consent_withdraw(state: CLIState, customer_id: int, purpose: str, channels: tuple[str, ...], method: str, evidence: str | None) -> None:
    """Record a withdrawal; pending outbox messages of that purpose and channel are cancelled."""
    _record(state, customer_id, purpose, channels, method, evidence, False)


@consent.command("show")
@click.argument("customer_id", type=int)
@click.option("--history", "show_history", is_flag=True, help="Every grant and withdrawal instead of the current state.")
@pass_state
def consent_show(state: CLIState, customer_id: int, show_history: bool) -> None:
    """The current consent of a customer per purpose and channel (or its history)."""
    with state.uow() as uow:
        if show_history:
            uow.customers.get(customer_id)
            rows = [{"at": c.at, "purpose": c.purpose, "channel": c.channel, "granted": c.granted, "method": c.method,
                     "evidence": c.evidence, "actor": c.actor} for c in uow.consents.history(customer_id)]
            state.emit(rows)
        else:
            rows = uow.consents.status(customer_id)
            state.emit(rows, columns=["purpose", "channel", "required", "granted", "allowed", "at", "method", "evidence"])


# -- privacy ------------------------------------------------------------------------------


@click.group()
def privacy() -> None:
    """A person's data: export, erasure, legal hold, retention; plugins' compliance."""


@privacy.command("export")
@click.argument("customer_id", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def privacy_export(state: CLIState, customer_id: int, file: Path) -> None:
    """Write everything held about one person to FILE: JSON, or a ZIP of CSVs
    (and the JSON) when FILE ends in .zip."""
    from crmcore.access import ADMIN_USER
    from crmcore.privacy import export_person, write_export

    data = export_person(state.crm, customer_id, actor=state.actor or ADMIN_USER)
    write_export(data, file)
    counts = {f"core.{k}": len(v) for k, v in data["core"].items()}
    counts.update({f"{p}.{k}": len(v) for p, kinds in data["plugins"].items() for k, v in kinds.items()})
    state.emit({"file": str(file), "customer_id": customer_id, "records": counts},
               text=f"wrote {file}: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


@privacy.command("erase")
@click.argument("customer_id", type=int)
@click.option("--reason", required=True, help="Why (the request, its reference); kept in the audit trail.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def privacy_erase(state: CLIState, customer_id: int, reason: str, yes: bool) -> None:
    """Erase (anonymise) a person across the core and every plugin. Irreversible."""
    from crmcore.privacy import erase_person

    if not yes and sys.stdin.isatty():
        click.confirm(f"Erase customer {customer_id} irreversibly?", abort=True, err=True)
    with state.uow() as uow:
        done = erase_person(uow, customer_id, reason)
    state.emit(done, text=f"customer {customer_id} erased: {done['contacts']} contacts, {done['activities']} activities, "
                          f"{done['outbox_messages']} outbox messages, {done['audit_entries_scrubbed']} audit entries scrubbed; "
                          f"plugins: {', '.join(done['plugins']) or 'none'}")


@privacy.command("hold")
@click.argument("customer_id", type=int)
@click.option("--on/--off", "on", required=True, help="Set or lift the legal hold (erasure is refused while set).")
@click.option("--reason", help="Why (case reference).")
@pass_state
def privacy_hold(state: CLIState, customer_id: int, on: bool, reason: str | None) -> None:
    """Set or lift a legal hold on a customer."""
    from crmcore.privacy import set_legal_hold

    with state.uow() as uow:
        set_legal_hold(uow, customer_id, on, reason)
    state.emit({"customer_id": customer_id, "legal_hold": on},
               text=f"customer {customer_id}: legal hold {'set' if on else 'lifted'}")


@privacy.command("check")
@pass_state
def privacy_check(state: CLIState) -> None:
    """Report installed plugins that do not implement crm_privacy_export and
    crm_privacy_erase; exit 1 when any."""
    from crmcore.privacy import check_plugins

    found = check_plugins(state.crm)
    rows = [{"plugin": p.plugin, "export": p.exports, "erase": p.erases, "no_personal_data": p.declared_no_personal_data,
             "ok": p.ok, "problem": p.problem} for p in found]
    bad = [p for p in found if not p.ok]

    def text() -> str:
        if not found:
            return "no plugins installed"
        lines = [f"{p.plugin}: {'ok' if p.ok else p.problem}" for p in found]
        if bad:
            lines.append(f"{len(bad)} plugin(s) would leave a person's data behind: {', '.join(p.plugin for p in bad)}")
        return "\n".join(lines)

    state.emit(rows, text=text)
    if bad:
        sys.exit(1)


@privacy.command("retain")
@click.option("--dry-run", is_flag=True, help="Count what each rule would remove; change nothing.")
@pass_state
def privacy_retain(state: CLIState, dry_run: bool) -> None:
    """Apply the retention rules of the core and every plugin."""
    from crmcore.access import ADMIN_USER
    from crmcore.privacy import apply_retention

    results = apply_retention(state.crm, actor=state.actor or ADMIN_USER, dry_run=dry_run)
    verb = "would change" if dry_run else "changed"

    def text() -> str:
        return "\n".join(f"{r['rule']}: " + (f"error: {r['error']}" if r["error"] else f"{verb} {r['count']}") + f"  ({r['description']})"
                         for r in results) or "no retention rules"

    state.emit(results, text=text)
    if any(r["error"] for r in results):
        fail("some retention rules failed")
