"""The commands of the issue, as written."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "membership"
    template_context = {"member": {"card_number": "M1", "tier": "银卡", "reward_points": 10}, "occasion": "春节",
                        "event": {"name": "答谢会", "held_on": "2026-03-01"}}

    def test_hookimpls_match_specs(self, crm):
        # membership implements campaigns' optional hook; emulate campaigns
        # being installed (its hookspec declared) as the contract allows.
        import pluggy

        spec = pluggy.HookspecMarker("crm")

        class CampaignsSpecs:
            @spec
            def crm_campaigns_segment_criteria(self, register):
                """Segment criteria contributed by other plugins."""

        if crm.plugins.pm.hook.crm_campaigns_segment_criteria.spec is None:
            crm.plugins.pm.add_hookspecs(CampaignsSpecs)
        super().test_hookimpls_match_specs(crm)


def test_the_issue_commands_work_as_written(crm, cli, make):
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    make.customer(name="张伟", phones=["13800138000"])
    assert cli("membership", "tier", "add", "银卡", "--level", "10", "--multiplier", "1.0").exit_code == 0
    assert cli("membership", "tier", "add", "金卡", "--level", "20", "--multiplier", "1.5", "--upgrade-points", "5000").exit_code == 0
    assert cli("membership", "plan", "add", str(year), "--from", f"{year}-01-01", "--to", f"{year}-12-31", "--yuan-per-point", "1").exit_code == 0
    applied = cli("membership", "apply", "1", "--channel", "counter")
    assert applied.exit_code == 0 and "application 1" in applied.stdout
    approved = cli("membership", "approve", "1", "--tier", "银卡", json=True)
    assert approved.exit_code == 0, approved
    card = approved.json["card_number"]
    assert approved.json["tier"] == "银卡" and approved.json["reward_points"] == 0 and approved.json["upgrade_points"] == 0
    logged = cli("activity", "log", "1", "--type", "purchase", "--amount", "1200", "--subject", "购房定金")
    assert "activity 2" in logged.stdout
    assert cli("membership", "show", card, json=True).json["pending_points"] == 1200
    assert cli("membership", "points", "confirm", "--activity", "2").exit_code == 0
    shown = cli("membership", "show", card, json=True).json
    assert (shown["reward_points"], shown["upgrade_points"], shown["pending_points"]) == (1200, 1200, 0)
    first = cli("membership", "points", "add", card, "--points", "500", "--kind", "reward", "--reason", "活动奖励", "--key", "evt-0301", json=True)
    again = cli("membership", "points", "add", card, "--points", "500", "--kind", "reward", "--reason", "活动奖励", "--key", "evt-0301", json=True)
    assert first.json["posted"] is True and again.exit_code == 0 and again.json["posted"] is False
    assert again.json["reward_points"] == 1700
    assert cli("membership", "reward", "add", "电影票", "--points", "300", "--stock", "10").exit_code == 0
    assert cli("membership", "redeem", card, "电影票").exit_code == 0
    assert cli("membership", "card", "lost", card).exit_code == 0
    assert cli("membership", "card", "unblock", card).exit_code == 0
    final = cli("membership", "show", card, json=True).json
    assert {k: final[k] for k in ("card_number", "tier", "reward_points", "upgrade_points")} == {
        "card_number": card, "tier": "银卡", "reward_points": 1400, "upgrade_points": 1200}
    checked = cli("membership", "check")
    assert checked.exit_code == 0 and checked.stdout.startswith("ok")


def test_check_exits_1_and_names_the_member_whose_balance_differs(crm, cli, club):
    card = club.member()["card_number"]
    cli("membership", "points", "add", card, "--points", "100", "--reason", "测试")
    from crm_membership.tables import balances

    with crm.engine.begin() as connection:
        connection.execute(update(balances).values(reward=balances.c.reward + 7))
    result = cli("membership", "check", json=True)
    assert result.exit_code == 1
    assert result.json["problems"] == [{"member_id": 1, "card_number": card, "kind": "reward", "stored": 107, "ledger": 100,
                                        "problem": "differs by 7"}]


def test_bad_input_exits_1_with_the_field_named(cli, club):
    result = cli("membership", "tier", "add", "白金", "--level", "30", "--multiplier", "abc")
    assert result.exit_code == 1 and "multiplier:" in result.stderr
    result = cli("membership", "plan", "add", "坏", "--from", "2026-05-01", "--to", "2026-01-01")
    assert result.exit_code == 1 and "to:" in result.stderr


def test_usage_errors_exit_2(cli, club):
    assert cli("membership", "points", "add", "M1", "--points", "5").exit_code == 2  # --reason missing
    assert cli("membership", "approve").exit_code == 2


def test_an_unknown_card_is_reported_not_crashed(cli, club):
    result = cli("membership", "show", "NOPE")
    assert result.exit_code == 1 and "no member with card NOPE" in result.stderr


def test_manual_points_need_the_adjust_permission(cli, club, as_user):
    card = club.member()["card_number"]
    user = as_user("clerk", permissions=["customers.view", "customers.view_all", "membership.view"])
    result = cli("membership", "points", "add", card, "--points", "100", "--reason", "x", as_=user)
    assert result.exit_code == 1 and "membership.adjust" in result.stderr
    assert club.view(card)["reward_points"] == 0


def test_deep_check_replays_the_lots_of_every_member(crm, cli, club):
    card = club.member()["card_number"]
    cli("membership", "points", "add", card, "--points", "100", "--reason", "r")
    cli("membership", "points", "add", card, "--points", "-40", "--reason", "r")
    assert cli("membership", "check", "--deep").exit_code == 0
    from datetime import date, datetime, timezone

    from sqlalchemy import insert

    from crm_membership.tables import balances, ledger

    with crm.engine.begin() as connection:  # damage: a debit no credit covers, balance kept "consistent"
        connection.execute(insert(ledger).values(member_id=1, kind="upgrade", points=-5, source="manual", effective_on=date.today(),
                                                 actor="x", created_at=datetime.now(timezone.utc)))
        connection.execute(insert(ledger).values(member_id=1, kind="upgrade", points=5, source="manual", effective_on=date.today(),
                                                 actor="x", created_at=datetime.now(timezone.utc)))
    assert cli("membership", "check").exit_code == 0
    deep = cli("membership", "check", "--deep", json=True)
    assert deep.exit_code == 1 and deep.json["problems"][0]["problem"] == "5 points debited beyond the lots earned"
