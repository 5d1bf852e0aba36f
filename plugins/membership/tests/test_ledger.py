"""The points ledger: purchases, adjustments, idempotency, never negative."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from crmcore import Conflict, PermissionDenied, ValidationError


def purchase(make, customer_id, amount="1000", **fields):
    return make.activity(customer_id, "purchase", amount=amount, **fields)


def test_purchase_points_stay_pending_until_confirmed(club, make):
    member = club.member()
    activity = purchase(make, member["customer_id"], "1200")
    view = club.view(member["card_number"])
    assert (view["reward_points"], view["pending_points"]) == (0, 1200)
    club.service(lambda s: s.points.confirm([activity.id]))
    view = club.view(member["card_number"])
    assert (view["reward_points"], view["upgrade_points"], view["pending_points"]) == (1200, 1200, 0)


def test_confirming_twice_posts_once(club, make):
    member = club.member()
    activity = purchase(make, member["customer_id"], "300")
    club.service(lambda s: s.points.confirm([activity.id]))
    second = club.service(lambda s: s.points.confirm([activity.id]))
    assert second[0]["status"] == "already confirmed"
    assert club.view(member["card_number"])["reward_points"] == 300


def test_the_tier_multiplier_applies_to_purchase_reward_points_only(club, make):
    member = club.member(tier="金卡")
    activity = purchase(make, member["customer_id"], "1000")
    club.service(lambda s: s.points.confirm([activity.id]))
    view = club.view(member["card_number"])
    assert (view["reward_points"], view["upgrade_points"]) == (1500, 1000)


def test_a_purchase_by_a_non_member_earns_nothing(club, make, crm):
    customer = make.customer()
    purchase(make, customer.id)
    from crm_membership.tables import pending

    with crm.engine.connect() as connection:
        assert connection.execute(select(pending)).first() is None


def test_cancelling_a_pending_purchase_drops_its_points(club, make, crm):
    member = club.member()
    activity = purchase(make, member["customer_id"], "800")
    with crm.unit_of_work() as uow:
        uow.activities.cancel(activity.id, reason="退款")
    view = club.view(member["card_number"])
    assert (view["pending_points"], view["reward_points"]) == (0, 0)
    with pytest.raises(Conflict, match="cancelled"):
        club.service(lambda s: s.points.confirm([activity.id]))


def test_cancelling_a_confirmed_purchase_reverses_its_points(club, make, crm):
    member = club.member()
    activity = purchase(make, member["customer_id"], "800")
    club.service(lambda s: s.points.confirm([activity.id]))
    with crm.unit_of_work() as uow:
        uow.activities.cancel(activity.id)
    view = club.view(member["card_number"])
    assert (view["reward_points"], view["upgrade_points"]) == (0, 0)
    entries = club.service(lambda s: s.ledger.entries(member["id"]))
    reversals = [e for e in entries if e["source"] == "purchase_cancelled"]
    assert sorted(e["points"] for e in reversals) == [-800, -800]
    assert all(e["reversal_of"] for e in reversals)
    assert club.check() == []


def test_reversing_spent_purchase_points_stops_at_zero_and_records_the_shortfall(club, make, crm):
    member = club.member()
    activity = purchase(make, member["customer_id"], "500")
    club.service(lambda s: s.points.confirm([activity.id]))
    club.service(lambda s: s.redemption.add_reward("水杯", points=400))
    club.service(lambda s: s.redemption.redeem(member["card_number"], "水杯"))
    with crm.unit_of_work() as uow:
        uow.activities.cancel(activity.id)
    view = club.view(member["card_number"])
    assert view["reward_points"] == 0
    reversal = [e for e in club.service(lambda s: s.ledger.entries(member["id"])) if e["source"] == "purchase_cancelled" and e["kind"] == "reward"][0]
    assert reversal["points"] == -100 and "shortfall 400" in reversal["reason"]
    assert club.check() == []


def test_imported_purchases_get_pending_points_in_one_batch(club, make, crm):
    from crmcore.tables import activities

    members = [club.member() for _ in range(3)]
    with crm.unit_of_work() as uow:  # what a bulk import of the core writes, then its hook
        ids = [uow.execute(insert(activities).values(
            customer_id=m["customer_id"], type="purchase", amount=amount, occurred_at=uow.now, done=False, source_plugin="core",
            payload={}, cancelled=False, created_at=uow.now)).inserted_primary_key[0] for m, amount in zip(members, ("100", "200", "300"))]
        uow.hook.crm_activities_imported(uow=uow, activity_ids=ids)
        uow.hook.crm_activities_imported(uow=uow, activity_ids=ids)  # a second call adds nothing
    assert [club.view(m["card_number"])["pending_points"] for m in members] == [100, 200, 300]
    club.service(lambda s: s.points.confirm(all_pending=True))
    assert [club.view(m["card_number"])["reward_points"] for m in members] == [100, 200, 300]


def test_a_changed_purchase_amount_changes_its_pending_points(club, make, crm):
    member = club.member()
    activity = purchase(make, member["customer_id"], "100")
    with crm.unit_of_work() as uow:
        uow.activities.update(activity.id, amount="250")
    assert club.view(member["card_number"])["pending_points"] == 250


def test_the_same_idempotency_key_posts_once(club):
    card = club.member()["card_number"]
    first = club.service(lambda s: s.points.add(card, 50, reason="r", key="k-1"))
    second = club.service(lambda s: s.points.add(card, 50, reason="r", key="k-1"))
    assert first["posted"] and not second["posted"]
    assert club.view(card)["reward_points"] == 50


def test_a_key_reused_for_a_different_entry_is_refused(club):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 50, reason="r", key="k-2"))
    with pytest.raises(Conflict, match="already used"):
        club.service(lambda s: s.points.add(card, 60, reason="r", key="k-2"))


def test_manual_adjustment_requires_a_reason(club):
    card = club.member()["card_number"]
    with pytest.raises(ValidationError, match="reason"):
        club.service(lambda s: s.points.add(card, 50, reason="  "))


def test_manual_adjustment_requires_the_permission(club, as_user):
    card = club.member()["card_number"]
    user = as_user("clerk", permissions=["customers.view", "customers.view_all"])
    with pytest.raises(PermissionDenied):
        club.service(lambda s: s.points.add(card, 50, reason="x"), actor=user)


def test_a_deduction_larger_than_the_balance_is_refused_and_posts_nothing(club):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 100, reason="r"))
    with pytest.raises(Conflict, match="only 100 reward points"):
        club.service(lambda s: s.points.add(card, -101, reason="r"))
    assert club.view(card)["reward_points"] == 100
    member_id = club.view(card)["id"]
    assert len(club.service(lambda s: s.ledger.entries(member_id))) == 1


def test_the_database_refuses_a_negative_balance(club, crm):
    club.member()
    from crm_membership.tables import balances

    with pytest.raises(IntegrityError):
        with crm.engine.begin() as connection:
            connection.execute(update(balances).values(reward=-1))


def test_bulk_csv_entry_posts_each_row_once(club, tmp_path):
    cards = [club.member()["card_number"] for _ in range(2)]
    text = f"card,points,reason\n{cards[0]},100,答谢会\n{cards[1]},150,答谢会\n"
    first = club.service(lambda s: s.points.import_csv(text))
    again = club.service(lambda s: s.points.import_csv(text))
    assert (first["posted"], again["posted"], again["skipped"]) == (2, 0, 2)
    assert [club.view(c)["reward_points"] for c in cards] == [100, 150]


def test_a_bad_csv_row_refuses_the_whole_file(club):
    card = club.member()["card_number"]
    text = f"card,points\n{card},100\nNOPE,50\n{card},abc\n"
    with pytest.raises(ValidationError) as error:
        club.service(lambda s: s.points.import_csv(text))
    assert error.value.errors == ["line 3: card: no member with card 'NOPE'", "line 4: points: 'abc' is not a whole number of points"]
    assert club.view(card)["reward_points"] == 0


def test_points_import_command_reads_a_csv_file(club, cli, tmp_path):
    card = club.member()["card_number"]
    path = tmp_path / "活动积分.csv"
    path.write_text(f"card,points,kind\n{card},80,reward\n{card},40,upgrade\n", encoding="utf-8")
    result = cli("membership", "points", "import", str(path), json=True)
    assert result.exit_code == 0 and result.json["posted"] == 2
    view = club.view(card)
    assert (view["reward_points"], view["upgrade_points"]) == (80, 40)


def test_check_reports_nothing_on_a_consistent_ledger(club, make):
    member = club.member()
    activity = purchase(make, member["customer_id"])
    club.service(lambda s: s.points.confirm([activity.id]))
    club.service(lambda s: s.points.add(member["card_number"], -10, reason="r"))
    assert club.check() == []


def test_a_corrected_batch_posts_only_the_new_rows(club):
    cards = [club.member()["card_number"] for _ in range(2)]
    club.service(lambda s: s.points.import_csv(f"card,points\n{cards[0]},100\n", batch="evt-0301"))
    again = club.service(lambda s: s.points.import_csv(f"card,points\n{cards[0]},100\n{cards[1]},100\n", batch="evt-0301"))
    assert (again["posted"], again["skipped"]) == (1, 1)
    assert [club.view(c)["reward_points"] for c in cards] == [100, 100]


def test_a_card_twice_in_one_batch_without_keys_is_refused(club):
    card = club.member()["card_number"]
    with pytest.raises(ValidationError, match="repeats line 2"):
        club.service(lambda s: s.points.import_csv(f"card,points\n{card},100\n{card},50\n"))


def test_confirming_all_skips_blocked_cards_and_confirms_the_rest(club, make):
    lost, fine = club.member(), club.member()
    first = make.activity(lost["customer_id"], "purchase", amount="100")
    make.activity(fine["customer_id"], "purchase", amount="200")
    club.service(lambda s: s.cards.report_lost(lost["card_number"]))
    results = club.service(lambda s: s.points.confirm(all_pending=True))
    assert [r["status"].split(":")[0] for r in results] == ["skipped", "confirmed"]
    assert club.view(fine["card_number"])["reward_points"] == 200
    club.service(lambda s: s.cards.unblock(lost["card_number"]))
    club.service(lambda s: s.points.confirm([first.id]))
    assert club.view(lost["card_number"])["reward_points"] == 100
