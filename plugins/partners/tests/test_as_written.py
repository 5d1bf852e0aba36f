"""The issue's commands, exactly as written."""

from datetime import date
from decimal import Decimal


def test_the_issue_commands_work_as_written(crm, make, cli, as_user):
    as_user("carol", permissions=["customers.view", "customers.view_all"])
    make.customer(name="客户一")
    make.customer(name="客户二")
    make.customer(name="上海明源地产有限公司", kind="organization", city="上海")
    make.customer(name="客户四")
    make.customer(name="张伟", emails=["zhangwei@example.com"])
    make.customer(name="王芳", city="上海", status="potential")

    added = cli("partners", "add", "3", "--type", "reseller", "--grade", "金牌", "--territory", "上海", "--manager", "carol")
    assert added.exit_code == 0, added
    assert "金牌" in added.stdout and "carol" in added.stdout

    agreement = cli("partners", "agreement", "add", "3", "--from", "2026-01-01", "--to", "2026-12-31", "--commission", "8%")
    assert agreement.exit_code == 0, agreement
    assert "8%" in agreement.stdout

    registered = cli("partners", "register", "3", "--customer", "5", "--amount", "200000", "--close", "2026-06-30", json=True)
    assert registered.exit_code == 0, registered
    registration = registered.json
    assert registration["conflicts"] == [] and registration["status"] == "approved"
    assert registration["expected_amount"] == "200000.00" and registration["expected_close"] == "2026-06-30"

    assigned = cli("partners", "assign", "6", "--auto", json=True)
    assert assigned.exit_code == 0, assigned
    assert assigned.json["partner_id"] == 3 and assigned.json["status"] == "offered"

    won = cli("partners", "won", str(registration["id"]), "--amount", "180000")
    assert won.exit_code == 0, won
    with crm.unit_of_work() as uow:
        closed = uow.service("partners").registration(registration["id"]).closed_on
    period = f"{closed.year}-Q{(closed.month - 1) // 3 + 1}"
    if date.today() > date(2026, 7, 1):  # the expected close date is past: the deal closed then
        assert closed == date(2026, 6, 30) and period == "2026-Q2"

    commissions = cli("partners", "commissions", "--period", period, json=True)
    assert commissions.exit_code == 0, commissions
    [line] = commissions.json["lines"]
    assert Decimal(line["base_amount"]) == Decimal("180000") and Decimal(line["amount"]) == Decimal("14400.00")
    assert Decimal(commissions.json["total"]) == Decimal("14400.00")

    scorecard = cli("partners", "scorecard", "3", json=True)
    assert scorecard.exit_code == 0, scorecard
    card = scorecard.json
    assert card["won"] == 1 and card["registered"] == 1 and Decimal(card["revenue"]) == Decimal("180000.00")
    assert card["grade"] == "金牌" and card["suggestion"] in ("keep", "downgrade", "upgrade", "review")
    assert card["suggested_grade"] == "铜牌"  # 180000 a year earns only 铜牌 under the default grades
