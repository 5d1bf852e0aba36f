"""`crm membership ...`: the member club on the command line.

A member is addressed by card number. Every command runs in one unit of
work as the acting user; `--json` prints machine-readable output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crmcore import CLIState, pass_state

MEMBER_COLUMNS = ("card_number", "name", "tier", "status", "card_status", "reward_points", "upgrade_points", "joined_on")
ENTRY_COLUMNS = ("id", "effective_on", "kind", "points", "source", "reference", "expires_on", "reason")


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="minutes") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def render_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(_width(c), *(_width(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: Any) -> str:
        return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def render_fields(data: dict[str, Any]) -> str:
    shown = {k: v for k, v in data.items() if v not in (None, "", [], {})}
    if not shown:
        return "(empty)"
    label = max(_width(k) for k in shown)
    return "\n".join(f"{k}{' ' * (label - _width(k))}  {_cell(v)}" for k, v in shown.items())


def _member_text(view: dict[str, Any]) -> str:
    head = {k: v for k, v in view.items() if k != "entries"}
    text = render_fields(head)
    if view.get("entries"):
        text += "\n\n" + render_table(view["entries"], ENTRY_COLUMNS)
    return text


def _service(uow: Any) -> Any:
    return uow.service("membership")


@click.group()
def membership() -> None:
    """Member club (会员管理): joining, cards, tiers, points, redemption, events, merchants, care."""


# -- joining -----------------------------------------------------------------------------


@membership.command("apply")
@click.argument("customer_id", type=int, required=False)
@click.option("--channel", type=click.Choice(["counter", "web", "purchase"]), default="counter", show_default=True,
              help="Where the application came from.")
@click.option("--name", help="Applicant's name (makes a new customer when no CUSTOMER_ID is given).")
@click.option("--phone", help="Applicant's phone.")
@click.option("--email", help="Applicant's e-mail.")
@click.option("--id-number", help="Identity card number (checked for duplicates).")
@click.option("--birthday", help="YYYY-MM-DD (new customers).")
@click.option("--referrer", help="Card number of the member who referred the applicant.")
@pass_state
def apply_(state: CLIState, customer_id: int | None, **options: Any) -> None:
    """File a membership application for a customer (or a new one); prints its id and review flags."""
    with state.uow() as uow:
        app = _service(uow).members.apply(customer_id, **options)
    flags = "".join(f"\n  ! {flag}" for flag in app["flags"])
    state.emit(app, text=f"application {app['id']} for customer {app['customer_id']} ({app['channel']}){flags}")


@membership.command("applications")
@click.option("--status", type=click.Choice(["pending", "approved", "rejected", "all"]), default="pending", show_default=True)
@click.option("--limit", default=100, show_default=True)
@pass_state
def applications_(state: CLIState, status: str, limit: int) -> None:
    """List membership applications with their review flags."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).members.applications(None if status == "all" else status, limit=limit)
    for row in rows:
        row["flags"] = "; ".join(row["flags"])
    state.emit(rows, columns=("id", "customer_id", "name", "phone", "channel", "status", "flags", "created_at"))


@membership.command("review")
@click.argument("application_id", type=int, required=False)
@pass_state
def review(state: CLIState, application_id: int | None) -> None:
    """Re-check pending applications for missing key fields and duplicates (same phone or ID)."""
    with state.uow() as uow:
        rows = _service(uow).members.review(application_id)
    for row in rows:
        row["flags"] = "; ".join(row["flags"]) or "ok"
    state.emit(rows, columns=("id", "customer_id", "name", "phone", "id_number", "channel", "status", "flags"))


@membership.command("approve")
@click.argument("application_ids", type=int, nargs=-1)
@click.option("--tier", help="Initial tier (default: the lowest automatic tier).")
@click.option("--card", help="Card number to give (a pool or special number, or a new one); one application only.")
@click.option("--force", is_flag=True, help="Approve although the application is flagged as a duplicate.")
@click.option("--all", "all_clean", is_flag=True, help="Approve every pending application without flags.")
@pass_state
def approve(state: CLIState, application_ids: tuple[int, ...], tier: str | None, card: str | None, force: bool, all_clean: bool) -> None:
    """Approve applications: each customer becomes a member with a card number and a tier."""
    if not application_ids and not all_clean:
        raise click.UsageError("give application ids or --all")
    if card and (len(application_ids) != 1 or all_clean):
        raise click.UsageError("--card goes with exactly one application")
    with state.uow() as uow:
        members = _service(uow).members
        if len(application_ids) == 1 and not all_clean:
            view = members.approve(application_ids[0], tier=tier, card=card, force=force)
            state.emit(view, text=f"application {application_ids[0]} approved: card {view['card_number']}, tier {view['tier']}")
            return
        approved, skipped = members.approve_many(None if all_clean else list(application_ids), tier=tier)
    lines = [f"approved {len(approved)}, skipped {len(skipped)}"]
    lines += [f"  {v['card_number']}  {v['name']}  {v['tier']}" for v in approved]
    lines += [f"  skipped application {s['application']}: {s['reason']}" for s in skipped]
    state.emit({"approved": approved, "skipped": skipped}, text="\n".join(lines))


@membership.command("reject")
@click.argument("application_id", type=int)
@click.option("--reason", required=True, help="Why (kept with the application).")
@pass_state
def reject(state: CLIState, application_id: int, reason: str) -> None:
    """Reject an application, recording why."""
    with state.uow() as uow:
        app = _service(uow).members.reject(application_id, reason)
    state.emit(app, text=f"application {application_id} rejected: {reason}")


@membership.command("join")
@click.argument("customer_id", type=int)
@click.option("--tier", help="Initial tier.")
@click.option("--card", help="Card number to give.")
@pass_state
def join(state: CLIState, customer_id: int, tier: str | None, card: str | None) -> None:
    """Apply and approve in one step (counter sign-up)."""
    with state.uow() as uow:
        view = _service(uow).members.join(customer_id, tier=tier, card=card)
    state.emit(view, text=f"customer {customer_id} joined: card {view['card_number']}, tier {view['tier']}")


# -- members ---------------------------------------------------------------------------------


@membership.command("show")
@click.argument("card")
@click.option("--entries", default=10, show_default=True, help="How many recent ledger entries to show.")
@pass_state
def show(state: CLIState, card: str, entries: int) -> None:
    """Show a member: card, tier, both balances, pending points, recent ledger entries."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        view = service.members.view(service.members.by_card(card)["id"], entries=entries)
    state.emit(view, text=lambda: _member_text(view))


@membership.command("list")
@click.option("--tier", help="Tier name.")
@click.option("--status", type=click.Choice(["active", "cancelled", "all"]), default="active", show_default=True)
@click.option("--lost", is_flag=True, help="Only members whose card is reported lost.")
@click.option("--min-points", type=int, help="Only members with at least this many reward points.")
@click.option("--limit", default=100, show_default=True)
@click.option("--offset", default=0)
@pass_state
def list_(state: CLIState, tier: str | None, status: str, lost: bool, min_points: int | None, limit: int, offset: int) -> None:
    """List members you can see."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).members.list(tier=tier, status=None if status == "all" else status, card_status="lost" if lost else None,
                                          min_points=min_points, limit=limit, offset=offset)
    state.emit(rows, columns=MEMBER_COLUMNS)


@membership.command("cancel")
@click.argument("card")
@click.option("--reason", required=True)
@pass_state
def cancel(state: CLIState, card: str, reason: str) -> None:
    """Cancel a membership (注销); the card is retired, the ledger kept."""
    with state.uow() as uow:
        view = _service(uow).members.cancel(card, reason)
    state.emit(view, text=f"membership {card} cancelled")


@membership.command("ledger")
@click.argument("card")
@click.option("--kind", type=click.Choice(["reward", "upgrade"]))
@click.option("--limit", default=50, show_default=True)
@pass_state
def ledger_(state: CLIState, card: str, kind: str | None, limit: int) -> None:
    """A member's ledger entries, newest first."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        rows = service.ledger.entries(service.members.by_card(card)["id"], limit=limit, kind=kind)
    state.emit(rows, columns=ENTRY_COLUMNS)


@membership.command("check")
@click.option("--deep", is_flag=True, help="Also replay every member's lots: each debit covered by earlier credits (FIFO).")
@pass_state
def check(state: CLIState, deep: bool) -> None:
    """Verify every stored balance equals the sum of its ledger; exit 1 and list any difference."""
    with state.uow() as uow:
        uow.require("membership.view")
        problems = _service(uow).ledger.check(deep=deep)
        from sqlalchemy import func, select

        from crm_membership.tables import ledger, members

        counted = {"members": uow.execute(select(func.count()).select_from(members)).scalar_one(),
                   "entries": uow.execute(select(func.count()).select_from(ledger)).scalar_one()}
    result = {"ok": not problems, **counted, "problems": problems}
    if problems:
        state.emit(result, text=lambda: f"{len(problems)} balances differ from their ledger:\n"
                   + render_table(problems, ("card_number", "kind", "stored", "ledger", "problem")))
        raise SystemExit(1)
    state.emit(result, text=f"ok: {counted['members']} members, {counted['entries']} ledger entries, every balance equals its ledger")


@membership.command("settings")
@click.argument("key", required=False)
@click.argument("value", required=False)
@pass_state
def settings_(state: CLIState, key: str | None, value: str | None) -> None:
    """Show settings, or set one: card_mode (pattern|pool), card_pattern (e.g. M{seq:08d}), tier_window_days,
    key_fields (name,phone,id_number,email,birthday), tier_upgrade_message, care_channel, apply_on_purchase."""
    with state.uow() as uow:
        settings = _service(uow).settings
        if key is None:
            uow.require("membership.view")
            data = settings.all()
        elif value is None:
            raise click.UsageError("give a value to set")
        else:
            uow.require("membership.manage")
            settings.set(key, value)
            data = settings.all()
    state.emit(data)


# -- tiers --------------------------------------------------------------------------------------


@membership.group()
def tier() -> None:
    """Tiers (会员级别): levels, multipliers, thresholds; members' tier changes."""


def _benefits(pairs: tuple[str, ...]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--benefit")
        found[name.strip()] = value.strip()
    return found


@tier.command("add")
@click.argument("name")
@click.option("--level", type=int, required=True, help="Level value; higher is better.")
@click.option("--multiplier", default="1", show_default=True, help="Points multiplier for purchases.")
@click.option("--upgrade-points", type=int, default=0, show_default=True, help="Upgrade points in the window that reach this tier.")
@click.option("--manual-only", is_flag=True, help="Only set by hand (e.g. by identity); never by the automatic evaluation.")
@click.option("--benefit", "benefits", multiple=True, metavar="NAME=VALUE", help="A benefit; repeat for several.")
@pass_state
def tier_add(state: CLIState, name: str, level: int, multiplier: str, upgrade_points: int, manual_only: bool, benefits: tuple[str, ...]) -> None:
    """Add a tier."""
    with state.uow() as uow:
        row = _service(uow).tiers.add(name, level=level, multiplier=multiplier, upgrade_points=upgrade_points, manual_only=manual_only,
                                      benefits=_benefits(benefits))
    state.emit(row, text=f"tier {row['name']} (level {row['level']}, ×{row['multiplier']}, from {row['upgrade_points']} upgrade points)")


@tier.command("edit")
@click.argument("name")
@click.option("--level", type=int)
@click.option("--multiplier")
@click.option("--upgrade-points", type=int)
@click.option("--manual-only/--automatic", default=None)
@click.option("--benefit", "benefits", multiple=True, metavar="NAME=VALUE")
@pass_state
def tier_edit(state: CLIState, name: str, benefits: tuple[str, ...], **changes: Any) -> None:
    """Change a tier."""
    with state.uow() as uow:
        row = _service(uow).tiers.edit(name, benefits=_benefits(benefits), **changes)
    state.emit(row)


@tier.command("list")
@pass_state
def tier_list(state: CLIState) -> None:
    """List tiers with their members."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        counts = service.tiers.counts()
        rows = [{**t, "members": counts.get(t["id"], 0)} for t in service.tiers.list()]
    state.emit(rows, columns=("name", "level", "multiplier", "upgrade_points", "manual_only", "members", "benefits"))


@tier.command("set")
@click.argument("card")
@click.argument("tier_name")
@click.option("--reason", required=True, help="Why (kept in the tier history).")
@click.option("--until", help="Keep the automatic evaluation off this member until this date.")
@pass_state
def tier_set(state: CLIState, card: str, tier_name: str, reason: str, until: str | None) -> None:
    """Adjust a member's tier by hand."""
    with state.uow() as uow:
        view = _service(uow).members.set_tier(card, tier_name, reason, lock_until=until)
    state.emit(view, text=f"card {card} is now {view['tier']}")


@tier.command("evaluate")
@click.option("--as-of", help="Evaluate as on this date (default today).")
@pass_state
def tier_evaluate(state: CLIState, as_of: str | None) -> None:
    """Upgrade and downgrade every member from the upgrade points of the rolling window."""
    with state.uow() as uow:
        changes = _service(uow).members.evaluate_tiers(as_of)
    state.emit(changes, columns=("card_number", "from", "to", "kind", "reason"))


@tier.command("history")
@click.argument("card")
@pass_state
def tier_history(state: CLIState, card: str) -> None:
    """Every tier change of a member, with its reason."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        rows = service.members.tier_history(service.members.by_card(card)["id"])
    state.emit(rows, columns=("at", "from", "to", "kind", "reason", "actor"))


# -- plans --------------------------------------------------------------------------------------


@membership.group()
def plan() -> None:
    """Points plans (积分计划): period, value per point, earning rules, carry-over."""


@plan.command("add")
@click.argument("name")
@click.option("--from", "starts_on", required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "ends_on", required=True, help="Last day, YYYY-MM-DD.")
@click.option("--yuan-per-point", default="1", show_default=True, help="Money value of one point (分值金额).")
@click.option("--validity-months", type=int, help="Reward points expire this many months after they are earned.")
@click.option("--carry-min", "carry_min_points", type=int, default=0, show_default=True,
              help="Remaining plan points needed for carry-over at the plan's end.")
@click.option("--carry-to", default="award", show_default=True, help="'award' (cash award) or the name of the next plan.")
@click.option("--purchase-rate", default="1", show_default=True, help="Reward points per yuan of purchase (× tier multiplier).")
@click.option("--upgrade-rate", default="1", show_default=True, help="Upgrade points per yuan of purchase.")
@pass_state
def plan_add(state: CLIState, name: str, **options: Any) -> None:
    """Add a points plan (with a purchase rule)."""
    with state.uow() as uow:
        row = _service(uow).plans.add(name, **options)
    state.emit(row, text=f"plan {row['name']}: {row['starts_on']} – {row['ends_on']}, {row['yuan_per_point']} yuan per point")


@plan.command("edit")
@click.argument("name")
@click.option("--to", "ends_on")
@click.option("--yuan-per-point")
@click.option("--validity-months", type=int)
@click.option("--carry-min", "carry_min_points", type=int)
@click.option("--carry-to")
@pass_state
def plan_edit(state: CLIState, name: str, **changes: Any) -> None:
    """Change a plan."""
    with state.uow() as uow:
        row = _service(uow).plans.edit(name, **changes)
    state.emit(row)


@plan.command("rule")
@click.argument("plan_name")
@click.argument("source", type=click.Choice(["purchase", "event", "online_join", "referral", "manual"]))
@click.option("--reward-rate", default="0", show_default=True, help="Reward points per yuan (purchases).")
@click.option("--upgrade-rate", default="0", show_default=True, help="Upgrade points per yuan (purchases).")
@click.option("--reward-points", type=int, default=0, show_default=True, help="Fixed reward points.")
@click.option("--upgrade-points", type=int, default=0, show_default=True, help="Fixed upgrade points.")
@click.option("--multiplier/--no-multiplier", "use_multiplier", default=False, help="Apply the tier multiplier to reward points.")
@pass_state
def plan_rule(state: CLIState, plan_name: str, source: str, **options: Any) -> None:
    """Set a plan's earning rule for a source (points = amount × rate × multiplier + fixed points)."""
    with state.uow() as uow:
        row = _service(uow).plans.set_rule(plan_name, source, **options)
    state.emit(row)


@plan.command("list")
@pass_state
def plan_list(state: CLIState) -> None:
    """List plans."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).plans.list()
    state.emit(rows, columns=("name", "starts_on", "ends_on", "yuan_per_point", "validity_months", "carry_min_points", "carry_to", "carried_at"))


@plan.command("show")
@click.argument("name")
@pass_state
def plan_show(state: CLIState, name: str) -> None:
    """Show a plan and its earning rules."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        row = service.plans.get(name)
        row["rules"] = list(service.plans.rules_of(row["id"]).values())
    state.emit(row, text=lambda: render_fields({k: v for k, v in row.items() if k != "rules"}) + "\n\n" + render_table(
        row["rules"], ("source", "reward_rate", "upgrade_rate", "reward_points", "upgrade_points", "use_multiplier")))


@plan.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def plan_load(state: CLIState, file: Path) -> None:
    """Load tiers, plans and rules from a TOML file (see README)."""
    with state.uow() as uow:
        counts = _service(uow).plans.load_toml(file.read_text(encoding="utf-8"))
    state.emit(counts, text=f"loaded {counts['tiers']} tiers, {counts['plans']} plans, {counts['rules']} rules")


@plan.command("carry-over")
@click.argument("name")
@click.option("--reverse", is_flag=True, help="Undo the plan's carry-over (反结转).")
@pass_state
def plan_carry_over(state: CLIState, name: str, reverse: bool) -> None:
    """Convert qualifying remaining points of an ended plan into awards or the next plan (积分结转)."""
    with state.uow() as uow:
        points = _service(uow).points
        summary = points.reverse_carry_over(name) if reverse else points.carry_over(name)
    state.emit(summary)


@plan.command("awards")
@click.option("--plan", "plan_name")
@click.option("--status", type=click.Choice(["issued", "paid", "void"]))
@pass_state
def plan_awards(state: CLIState, plan_name: str | None, status: str | None) -> None:
    """Awards from carry-over (积分奖励)."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).points.awards(plan=plan_name, status=status)
    state.emit(rows)


@plan.command("pay")
@click.argument("award_ids", type=int, nargs=-1, required=True)
@click.option("--on", "paid_on", help="Payout date (default today).")
@pass_state
def plan_pay(state: CLIState, award_ids: tuple[int, ...], paid_on: str | None) -> None:
    """Record the payout date (兑奖日期) of awards."""
    with state.uow() as uow:
        done = _service(uow).points.pay_awards(list(award_ids), paid_on)
    state.emit({"paid": done}, text=f"{done} awards paid")


# -- cards ----------------------------------------------------------------------------------------


@membership.group()
def card() -> None:
    """Cards (会员卡): preset pool, lost / unblock, replace."""


@card.group("pool")
def card_pool() -> None:
    """The preset pool of card numbers (used when card_mode is pool)."""


@card_pool.command("add")
@click.option("--prefix", default="", help="Prefix of the numbers.")
@click.option("--width", type=int, required=True, help="Digits of the serial.")
@click.option("--count", type=int, required=True, help="How many numbers.")
@click.option("--start", type=int, help="First serial (default: after the highest with this prefix).")
@pass_state
def pool_add(state: CLIState, prefix: str, width: int, count: int, start: int | None) -> None:
    """Create a batch of card numbers: prefix + serial of WIDTH digits."""
    with state.uow() as uow:
        numbers = _service(uow).cards.pool_add(prefix, width, count, start)
    state.emit({"added": len(numbers), "first": numbers[0] if numbers else None, "last": numbers[-1] if numbers else None},
               text=f"added {len(numbers)} numbers" + (f": {numbers[0]} … {numbers[-1]}" if numbers else ""))


@card_pool.command("special")
@click.argument("number")
@click.option("--note")
@pass_state
def pool_special(state: CLIState, number: str, note: str | None) -> None:
    """Add a single special number to the pool."""
    with state.uow() as uow:
        row = _service(uow).cards.special_add(number, note)
    state.emit(row, text=f"special number {number} added")


@card_pool.command("list")
@click.option("--limit", default=50, show_default=True)
@pass_state
def pool_list(state: CLIState, limit: int) -> None:
    """Free numbers left in the pool."""
    with state.uow() as uow:
        uow.require("membership.view")
        count, numbers = _service(uow).cards.available(limit)
    state.emit({"available": count, "next": numbers}, text=f"{count} free numbers" + (f"; next: {', '.join(numbers[:10])}" if numbers else ""))


@card.command("lost")
@click.argument("card_number")
@click.option("--note")
@pass_state
def card_lost(state: CLIState, card_number: str, note: str | None) -> None:
    """Report a card lost (挂失): no earning or redemption until unblocked."""
    with state.uow() as uow:
        view = _service(uow).cards.report_lost(card_number, note)
    state.emit(view, text=f"card {card_number} reported lost")


@card.command("unblock")
@click.argument("card_number")
@pass_state
def card_unblock(state: CLIState, card_number: str) -> None:
    """Unblock a card reported lost (解挂)."""
    with state.uow() as uow:
        view = _service(uow).cards.unblock(card_number)
    state.emit(view, text=f"card {card_number} unblocked")


@card.command("replace")
@click.argument("card_number")
@click.option("--new", "new_number", help="The new number (default: next from pool or pattern).")
@click.option("--reason")
@pass_state
def card_replace(state: CLIState, card_number: str, new_number: str | None, reason: str | None) -> None:
    """Replace a card: new number, same member and balances."""
    with state.uow() as uow:
        view = _service(uow).cards.replace(card_number, new_number, reason)
    state.emit(view, text=f"card {card_number} replaced by {view['card_number']}")


@card.command("history")
@click.argument("card_number")
@pass_state
def card_history(state: CLIState, card_number: str) -> None:
    """Every card a member has held."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        rows = service.cards.history(service.members.by_card(card_number)["id"])
    state.emit(rows, columns=("number", "status", "origin", "assigned_at", "blocked_at", "note"))


# -- points ----------------------------------------------------------------------------------------


@membership.group()
def points() -> None:
    """Points (积分): confirm purchases, adjust, bulk entry, expiry."""


@points.command("confirm")
@click.option("--activity", "activity_ids", type=int, multiple=True, help="Purchase activity id; repeat for several.")
@click.option("--all", "all_pending", is_flag=True, help="Confirm every pending purchase.")
@pass_state
def points_confirm(state: CLIState, activity_ids: tuple[int, ...], all_pending: bool) -> None:
    """Make a purchase's pending points effective (the purchase is paid)."""
    if not activity_ids and not all_pending:
        raise click.UsageError("give --activity ID or --all")
    with state.uow() as uow:
        rows = _service(uow).points.confirm(list(activity_ids), all_pending=all_pending)
    state.emit(rows, columns=("activity", "card_number", "status", "reward_points", "upgrade_points"))


@points.command("pending")
@click.option("--limit", default=100, show_default=True)
@pass_state
def points_pending(state: CLIState, limit: int) -> None:
    """Purchases whose points wait for confirmation."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).points.pending_list(limit)
    state.emit(rows)


@points.command("add")
@click.argument("card_number")
@click.option("--points", "amount", required=True, help="Points; negative to deduct.")
@click.option("--kind", type=click.Choice(["reward", "upgrade"]), default="reward", show_default=True)
@click.option("--reason", required=True, help="Why (required).")
@click.option("--key", help="Idempotency key: posting the same key again posts nothing.")
@click.option("--on", "effective_on", help="Effective date (default today).")
@pass_state
def points_add(state: CLIState, card_number: str, amount: str, kind: str, reason: str, key: str | None, effective_on: str | None) -> None:
    """Adjust a member's points by hand (积分调整)."""
    with state.uow() as uow:
        result = _service(uow).points.add(card_number, amount, kind=kind, reason=reason, key=key, effective_on=effective_on)
    member = result["member"]
    if result["posted"]:
        text = f"posted {result['entry']['points']:+d} {kind} points to {card_number}: now {member['reward_points']} reward, {member['upgrade_points']} upgrade"
    else:
        text = f"key {key} was posted before (entry {result['entry']['id']}): nothing new posted; {card_number} has {member['reward_points']} reward points"
    state.emit({"posted": result["posted"], "entry_id": result["entry"]["id"], "card_number": card_number,
                "reward_points": member["reward_points"], "upgrade_points": member["upgrade_points"]}, text=text)


@points.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", type=click.Choice(["event", "manual", "online_join", "referral"]), default="event", show_default=True)
@click.option("--kind", type=click.Choice(["reward", "upgrade"]), default="reward", show_default=True, help="Kind for rows without one.")
@click.option("--reason", help="Reason for rows without one.")
@click.option("--on", "effective_on", help="Effective date (default today).")
@click.option("--batch", help="Batch name (e.g. evt-0301): one entry per card and kind per batch; default: the file's content.")
@pass_state
def points_import(state: CLIState, file: Path, source: str, kind: str, reason: str | None, effective_on: str | None, batch: str | None) -> None:
    """Bulk entry from CSV (header: card,points[,kind][,key][,reason]); importing a batch again posts only what is new."""
    with state.uow() as uow:
        result = _service(uow).points.import_csv(file.read_text(encoding="utf-8"), source=source, default_kind=kind, reason=reason,
                                                 effective_on=effective_on, name=file.name, batch=batch)
    state.emit(result, text=f"{result['rows']} rows: {result['posted']} posted, {result['skipped']} posted before")


@points.command("expire")
@click.option("--as-of", help="Expire what is due by this date (default today).")
@pass_state
def points_expire(state: CLIState, as_of: str | None) -> None:
    """Expire due reward points (FIFO by earning date); running it again posts nothing new."""
    with state.uow() as uow:
        result = _service(uow).points.expire(as_of)
    state.emit(result, text=f"expired {result['points']} points in {result['entries']} entries of {result['members']} members (as of {result['as_of']})")


@points.command("expiring")
@click.option("--days", default=30, show_default=True)
@pass_state
def points_expiring(state: CLIState, days: int) -> None:
    """Members with reward points expiring within DAYS."""
    with state.uow() as uow:
        uow.require("membership.view")
        service = _service(uow)
        rows = []
        for member_id, (amount, first) in sorted(service.points.expiring(days).items()):
            member = service.members.get(member_id)
            rows.append({"card_number": member["card_number"], "points": amount, "first_expiry": first})
    state.emit(rows)


# -- rewards and redemption ------------------------------------------------------------------------


@membership.group()
def reward() -> None:
    """The rewards catalogue and redemption campaigns (积分兑换)."""


@reward.command("add")
@click.argument("name")
@click.option("--points", type=int, required=True, help="Points price.")
@click.option("--stock", type=int, help="Stock (default unlimited).")
@click.option("--kind", type=click.Choice(["physical", "cash"]), default="physical", show_default=True)
@click.option("--cash-value", help="Cash value in yuan (cash rewards).")
@click.option("--campaign", help="Redemption campaign it belongs to.")
@click.option("--from", "valid_from", help="Redeemable from.")
@click.option("--to", "valid_to", help="Redeemable until.")
@click.option("--min-tier", help="Lowest tier allowed.")
@pass_state
def reward_add(state: CLIState, name: str, **options: Any) -> None:
    """Add a reward to the catalogue."""
    with state.uow() as uow:
        row = _service(uow).redemption.add_reward(name, **options)
    state.emit(row, text=f"reward {row['name']}: {row['points']} points, stock {row['stock'] if row['stock'] is not None else 'unlimited'}")


@reward.command("list")
@pass_state
def reward_list(state: CLIState) -> None:
    """The rewards catalogue."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).redemption.catalogue()
    state.emit(rows, columns=("id", "name", "kind", "points", "cash_value", "stock", "campaign", "valid_from", "valid_to", "min_tier_level"))


@reward.command("restock")
@click.argument("name")
@click.argument("add", type=int)
@pass_state
def reward_restock(state: CLIState, name: str, add: int) -> None:
    """Add (or, negative, remove) stock."""
    with state.uow() as uow:
        row = _service(uow).redemption.restock(name, add)
    state.emit(row, text=f"{row['name']}: stock {row['stock']}")


@reward.command("campaign")
@click.argument("name")
@click.option("--from", "starts_on", required=True)
@click.option("--to", "ends_on", required=True)
@click.option("--max-per-member", type=int, help="Most rewards one member may take in the campaign.")
@click.option("--min-tier", help="Lowest tier allowed.")
@click.option("--notes")
@pass_state
def reward_campaign(state: CLIState, name: str, **options: Any) -> None:
    """Add a redemption campaign (dates and rules)."""
    with state.uow() as uow:
        row = _service(uow).redemption.add_campaign(name, **options)
    state.emit(row, text=f"redemption campaign {row['name']}: {row['starts_on']} – {row['ends_on']}")


@membership.command("redeem")
@click.argument("card_number")
@click.argument("reward_name")
@click.option("--quantity", type=int, default=1, show_default=True)
@pass_state
def redeem(state: CLIState, card_number: str, reward_name: str, quantity: int) -> None:
    """Redeem a reward: reserve stock and debit points in one transaction."""
    with state.uow() as uow:
        result = _service(uow).redemption.redeem(card_number, reward_name, quantity)
    state.emit(result, text=f"redemption {result['redemption']}: {card_number} took {result['reward']} × {quantity} for {result['points']} points; "
               f"{result['reward_points']} left")


@membership.group()
def redemption() -> None:
    """Redemptions: list and cancel."""


@redemption.command("list")
@click.argument("card_number", required=False)
@click.option("--limit", default=100, show_default=True)
@pass_state
def redemption_list(state: CLIState, card_number: str | None, limit: int) -> None:
    """Redemptions, newest first."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).redemption.list(card_number, limit)
    state.emit(rows)


@redemption.command("cancel")
@click.argument("redemption_id", type=int)
@click.option("--reason")
@pass_state
def redemption_cancel(state: CLIState, redemption_id: int, reason: str | None) -> None:
    """Cancel a redemption: points refunded, stock released."""
    with state.uow() as uow:
        result = _service(uow).redemption.cancel(redemption_id, reason)
    state.emit(result, text=f"redemption {redemption_id} cancelled: {result['refunded']} points back to {result['card_number']}")


# -- events ------------------------------------------------------------------------------------------


@membership.group()
def event() -> None:
    """Member events (活动管理): invitations, registrations, attendance, points."""


@event.command("add")
@click.argument("name")
@click.option("--on", "held_on", required=True, help="Date, YYYY-MM-DD.")
@click.option("--location")
@click.option("--points", "reward_points", type=int, help="Reward points per attendee (default: the plan's event rule).")
@click.option("--upgrade-points", type=int, default=0, show_default=True)
@click.option("--capacity", type=int)
@pass_state
def event_add(state: CLIState, name: str, **options: Any) -> None:
    """Add a member event."""
    with state.uow() as uow:
        row = _service(uow).events.add(name, **options)
    state.emit(row, text=f"event {row['id']}: {row['name']} on {row['held_on']} ({row['reward_points']} points per attendee)")


@event.command("list")
@pass_state
def event_list(state: CLIState) -> None:
    """List events."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).events.list()
    state.emit(rows, columns=("id", "name", "held_on", "location", "reward_points", "capacity", "status"))


@event.command("invite")
@click.argument("event_id", type=int)
@click.option("--tier", help="Members of this tier.")
@click.option("--min-points", type=int, help="Members with at least this many reward points.")
@click.option("--joined-before", help="Members who joined before this date.")
@click.option("--card", "cards", multiple=True, help="A card number; repeat for several.")
@pass_state
def event_invite(state: CLIState, event_id: int, tier: str | None, min_points: int | None, joined_before: str | None, cards: tuple[str, ...]) -> None:
    """Invite members found by a query (and/or by card)."""
    with state.uow() as uow:
        result = _service(uow).events.invite(event_id, tier=tier, min_points=min_points, joined_before=joined_before, cards=list(cards))
    state.emit(result, text=f"invited {result['invited']} members to {result['event']} ({result['already']} were already invited)")


@event.command("register")
@click.argument("event_id", type=int)
@click.argument("card_number")
@pass_state
def event_register(state: CLIState, event_id: int, card_number: str) -> None:
    """Register a member for an event."""
    with state.uow() as uow:
        result = _service(uow).events.register(event_id, card_number)
    state.emit(result, text=f"{card_number} registered for {result['event']}")


@event.command("attend")
@click.argument("event_id", type=int)
@click.argument("card_numbers", nargs=-1, required=True)
@click.option("--no-points", is_flag=True, help="Record attendance only.")
@pass_state
def event_attend(state: CLIState, event_id: int, card_numbers: tuple[str, ...], no_points: bool) -> None:
    """Record attendance and post the event's points to the attendees (once each)."""
    with state.uow() as uow:
        result = _service(uow).events.attend(event_id, list(card_numbers), award=not no_points)
    state.emit(result, text=f"{result['attended']} attended {result['event']}; points posted to {result['points_posted']}")


@event.command("merchant")
@click.argument("event_id", type=int)
@click.argument("merchant")
@click.option("--role", help="What the merchant did (sponsor, stand …).")
@pass_state
def event_merchant(state: CLIState, event_id: int, merchant: str, role: str | None) -> None:
    """Record that an alliance merchant joined an event."""
    with state.uow() as uow:
        result = _service(uow).events.link_merchant(event_id, merchant, role)
    state.emit(result, text=f"{result['merchant']} joined {result['event']}")


@event.command("stats")
@click.argument("event_id", type=int, required=False)
@pass_state
def event_stats(state: CLIState, event_id: int | None) -> None:
    """Invited, registered, attended, points per event."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).events.stats(event_id)
    state.emit(rows, columns=("id", "name", "held_on", "invited", "registered", "attended", "attendance_rate", "points", "merchants"))


# -- merchants ----------------------------------------------------------------------------------------


@membership.group()
def merchant() -> None:
    """Alliance merchants (联盟商家): status, offers, contacts, reputation, events."""


@merchant.command("add")
@click.argument("name")
@click.option("--category")
@click.option("--address")
@click.option("--status", type=click.Choice(["applying", "active", "terminated"]), default="applying", show_default=True)
@pass_state
def merchant_add(state: CLIState, name: str, **options: Any) -> None:
    """Add an alliance merchant."""
    with state.uow() as uow:
        row = _service(uow).merchants.add(name, **options)
    state.emit(row, text=f"merchant {row['id']}: {row['name']} ({row['status']})")


@merchant.command("list")
@click.option("--status", type=click.Choice(["applying", "active", "terminated"]))
@pass_state
def merchant_list(state: CLIState, status: str | None) -> None:
    """List merchants with their rating and offers."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).merchants.list(status)
    state.emit(rows, columns=("id", "name", "status", "category", "rating", "offers"))


@merchant.command("show")
@click.argument("merchant_name")
@pass_state
def merchant_show(state: CLIState, merchant_name: str) -> None:
    """A merchant: offers, contacts, reputation notes, events joined."""
    import json

    from crmcore import jsonable

    with state.uow() as uow:
        uow.require("membership.view")
        row = _service(uow).merchants.show(merchant_name)
    state.emit(row, text=lambda: json.dumps(jsonable(row), ensure_ascii=False, indent=2))


@merchant.command("status")
@click.argument("merchant_name")
@click.argument("status", type=click.Choice(["applying", "active", "terminated"]))
@click.option("--reason")
@pass_state
def merchant_status(state: CLIState, merchant_name: str, status: str, reason: str | None) -> None:
    """Change a merchant's status (applying → active → terminated)."""
    with state.uow() as uow:
        row = _service(uow).merchants.set_status(merchant_name, status, reason)
    state.emit(row, text=f"{row['name']} is now {row['status']}")


@merchant.command("offer")
@click.argument("merchant_name")
@click.argument("text")
@click.option("--min-tier", help="Lowest tier the offer is for.")
@click.option("--until", "valid_to")
@pass_state
def merchant_offer(state: CLIState, merchant_name: str, text: str, min_tier: str | None, valid_to: str | None) -> None:
    """Add an offer for members (optionally from a tier up)."""
    with state.uow() as uow:
        row = _service(uow).merchants.add_offer(merchant_name, text, min_tier=min_tier, valid_to=valid_to)
    state.emit(row)


@merchant.command("contact")
@click.argument("merchant_name")
@click.argument("name")
@click.option("--title")
@click.option("--phone")
@click.option("--email")
@pass_state
def merchant_contact(state: CLIState, merchant_name: str, name: str, **options: Any) -> None:
    """Add a contact person of a merchant."""
    with state.uow() as uow:
        row = _service(uow).merchants.add_contact(merchant_name, name, **options)
    state.emit(row)


@merchant.command("note")
@click.argument("merchant_name")
@click.argument("text")
@click.option("--rating", type=int, help="1 to 5.")
@pass_state
def merchant_note(state: CLIState, merchant_name: str, text: str, rating: int | None) -> None:
    """Add a note on a merchant's reputation (口碑)."""
    with state.uow() as uow:
        row = _service(uow).merchants.add_note(merchant_name, text, rating=rating)
    state.emit(row)


# -- member care ----------------------------------------------------------------------------------------


@membership.group()
def care() -> None:
    """Member care (会员关怀): templated messages into the outbox."""


TEMPLATE_CHOICE = click.Choice(["birthday", "holiday", "tier_upgrade", "points_expiring", "event_invitation"])


@care.command("send")
@click.argument("template", type=TEMPLATE_CHOICE)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--channel", type=click.Choice(["sms", "email"]), default="sms", show_default=True)
@click.option("--occasion", help="What the message is for (holiday name …); one message per member, template and occasion.")
@click.option("--card", "cards", multiple=True, help="Only these cards.")
@click.option("--tier", help="Only this tier.")
@click.option("--on", help="Birthday date to look for (default today).")
@click.option("--days", type=int, default=30, show_default=True, help="points_expiring: within this many days.")
@click.option("--event", "event_id", type=int, help="event_invitation: the event.")
@pass_state
def care_send(state: CLIState, template: str, cards: tuple[str, ...], **options: Any) -> None:
    """Render a care message per member and put it into the outbox (deliver with `crm outbox deliver`)."""
    with state.uow() as uow:
        counts = _service(uow).care.send(template, cards=list(cards), **options)
    state.emit(counts, text=f"{counts['queued']} queued, {counts['already_sent']} sent before, {counts['no_address']} without "
               f"{counts['channel']} address, {counts['do_not_contact']} do-not-contact, {counts['no_consent']} without consent "
               f"(of {counts['selected']} selected)")


@care.command("preview")
@click.argument("template", type=TEMPLATE_CHOICE)
@click.argument("card_number")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--occasion", default="节日")
@pass_state
def care_preview(state: CLIState, template: str, card_number: str, lang: str, occasion: str) -> None:
    """Render a template for one member without sending it."""
    with state.uow() as uow:
        uow.require("membership.view")
        subject, body = _service(uow).care.preview(template, card_number, lang=lang, occasion=occasion)
    state.emit({"subject": subject, "body": body}, text=f"{subject}\n\n{body}")


# -- reports ----------------------------------------------------------------------------------------------


@membership.group()
def report() -> None:
    """Reports: tiers, points, top members, events, redemptions."""


@report.command("tiers")
@pass_state
def report_tiers(state: CLIState) -> None:
    """Members by tier and status."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).reports.members_by_tier()
    state.emit(rows, columns=("tier", "level", "status", "members", "reward_points"))


@report.command("points")
@click.option("--plan", "plan_name")
@pass_state
def report_points(state: CLIState, plan_name: str | None) -> None:
    """Reward points earned, redeemed, expired, carried over per plan and month."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).reports.points(plan_name)
    state.emit(rows, columns=("plan", "month", "earned", "redeemed", "expired", "carried_over", "reversed", "deducted", "net"))


@report.command("top")
@click.option("--limit", default=10, show_default=True)
@click.option("--by", type=click.Choice(["reward", "upgrade"]), default="reward", show_default=True)
@pass_state
def report_top(state: CLIState, limit: int, by: str) -> None:
    """Top members by points."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).reports.top(limit, by)
    state.emit(rows, columns=("card_number", "name", "tier", "reward_points", "upgrade_points"))


@report.command("events")
@pass_state
def report_events(state: CLIState) -> None:
    """Event statistics."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).events.stats()
    state.emit(rows, columns=("id", "name", "held_on", "invited", "registered", "attended", "attendance_rate", "points", "merchants"))


@report.command("redemptions")
@pass_state
def report_redemptions(state: CLIState) -> None:
    """Redemption statistics per reward."""
    with state.uow() as uow:
        uow.require("membership.view")
        rows = _service(uow).reports.redemptions()
    state.emit(rows, columns=("reward", "kind", "redeemed", "cancelled", "points", "members", "stock"))
