"""Scores used elsewhere: campaign segment criteria, the customer panel,
charts; and kept honest: stale flags, merges, scoping, permissions."""

from __future__ import annotations

import pluggy
import pytest
from sqlalchemy import and_, select

from crmcore import hookimpl
from crmcore.tables import customers

from crm_analytics.tables import clv, rfm

hookspec = pluggy.HookspecMarker("crm")


class CampaignsSpecs:
    """The campaigns plugin's hookspec, as agreed (declared here for the test)."""

    @hookspec
    def crm_campaigns_segment_criteria(self, register):
        """Collect segment criteria."""


class FakeCampaigns:
    """Stands in for the campaigns plugin: declares the hookspec."""

    @hookimpl
    def crm_add_hookspecs(self, plugin_manager):
        plugin_manager.add_hookspecs(CampaignsSpecs)


@pytest.fixture
def criteria(crm, register_plugin):
    register_plugin(FakeCampaigns(), name="campaigns_stand_in")
    found = {}

    def register(name, label, build, value_type="text"):
        found[name] = (label, build, value_type)

    crm.plugins.pm.hook.crm_campaigns_segment_criteria(register=register)
    return found


@pytest.fixture
def scored(load_purchases, cli):
    rows = []
    for k in range(1, 31):  # customer k: k purchases, the last one k weeks before 2024-06-30
        rows += [(k, f"2024-{1 + (i % 5):02d}-{1 + k % 27:02d}T10:00", 10 * k) for i in range(k % 6 + 1)]
    ids = load_purchases(rows)
    result = cli("analytics", "score", "--as-of", "2024-06-30", "--window", "all", "--horizon", "26w", "--margin", "0.3",
                 "--discount", "0.1", json=True)
    assert result.exit_code == 0, result
    return ids


def matching(crm, condition) -> set[int]:
    with crm.unit_of_work() as uow:
        return set(uow.execute(select(customers.c.id).where(condition)).scalars())


def test_scores_are_registered_as_segment_criteria(criteria):
    assert {"analytics.churn_risk", "analytics.p_alive", "analytics.clv", "analytics.clv_percentile",
            "analytics.rfm_segment", "analytics.lifecycle_stage"} <= set(criteria)
    assert criteria["analytics.churn_risk"][2] == "number" and criteria["analytics.rfm_segment"][2] == "text"


def test_churn_and_top_clv_criteria_select_the_right_customers(criteria, scored, crm):
    churn = criteria["analytics.churn_risk"][1]("gt", 0.3)
    top = criteria["analytics.clv_percentile"][1]("gte", 80)
    with crm.unit_of_work() as uow:
        expected = set(uow.execute(select(clv.c.customer_id).where(clv.c.churn_risk > 0.3, clv.c.clv_percentile >= 80)).scalars())
        everyone = uow.execute(select(clv.c.customer_id)).scalars().all()
    assert matching(crm, and_(churn, top)) == expected
    assert len(matching(crm, top)) == pytest.approx(len(everyone) * 0.2, abs=2)


def test_text_criteria_support_in_and_exists(criteria, scored, crm):
    build = criteria["analytics.rfm_segment"][1]
    with crm.unit_of_work() as uow:
        segments = dict(uow.execute(select(rfm.c.customer_id, rfm.c.segment)).all())
    some = sorted(set(segments.values()))[:2]
    assert matching(crm, build("in", some)) == {c for c, s in segments.items() if s in some}
    assert matching(crm, build("exists", True)) == set(segments)
    assert matching(crm, build("exists", False)).isdisjoint(segments)


def test_unsupported_operator_is_refused(criteria):
    from crmcore import ValidationError

    with pytest.raises(ValidationError, match="criteria:"):
        criteria["analytics.rfm_segment"][1]("gt", "x")
    with pytest.raises(ValidationError, match="criteria:"):
        criteria["analytics.clv"][1]("gt", "lots")


def test_customer_show_has_the_analytics_panel(scored, cli):
    customer_id = scored[12]
    shown = cli("customer", "show", customer_id, json=True).json
    panel = shown["panels"]["analytics"]
    assert {"rfm_segment", "abc_class", "value_grade", "p_alive", "churn_risk", "clv", "lifecycle_stage", "as_of"} <= set(panel)
    assert panel["stale"] is False
    assert "客户价值分析" in cli("customer", "show", customer_id).stdout


def test_a_new_purchase_marks_scores_stale(scored, make, cli):
    customer_id = scored[3]
    make.activity(customer_id, "purchase", amount="50")
    assert cli("customer", "show", customer_id, json=True).json["panels"]["analytics"]["stale"] is True
    assert cli("analytics", "show", scored[4], json=True).json["rfm"]["stale"] is False


def test_merge_drops_the_merged_customers_scores(scored, crm):
    kept, merged = scored[5], scored[6]
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept, merged)
    with crm.unit_of_work() as uow:
        assert uow.execute(select(clv).where(clv.c.customer_id == merged)).first() is None
        assert uow.execute(select(clv.c.stale).where(clv.c.customer_id == kept)).scalar() is True


def test_listings_are_limited_to_the_actors_customers(scored, cli, as_user, crm):
    user = as_user("xiaoli", permissions=["customers.view", "analytics.view"], department="上海分公司")
    with crm.unit_of_work() as uow:
        mine = scored[7]
        department = uow.departments.find("上海分公司")
        uow.customers.update(mine, department_id=department.id)
    rows = cli("analytics", "churn", "--above", "0", as_=user, json=True).json
    assert {r["customer_id"] for r in rows} <= {mine}
    everyone = cli("analytics", "churn", "--above", "0", json=True).json
    assert len(everyone) > 1


def test_computing_needs_the_compute_permission(scored, cli, as_user):
    user = as_user("viewer", permissions=["customers.view", "customers.view_all", "analytics.view"])
    result = cli("analytics", "rfm", as_=user)
    assert result.exit_code == 1 and "analytics.compute" in result.stderr
    assert cli("analytics", "churn", "--above", "0.5", as_=user).exit_code == 0


def test_charts_are_written_as_svg(scored, cli, tmp_path):
    rfm_file, clv_file = tmp_path / "rfm.svg", tmp_path / "clv.svg"
    assert cli("analytics", "chart", "rfm", rfm_file).exit_code == 0
    assert cli("analytics", "chart", "clv", clv_file).exit_code == 0
    assert "R5" in rfm_file.read_text(encoding="utf-8") and "<svg" in clv_file.read_text(encoding="utf-8")
    assert "客户终身价值" in clv_file.read_text(encoding="utf-8")


def test_score_stores_every_score_from_one_command(scored, cli):
    shown = cli("analytics", "show", scored[20], json=True).json
    assert set(shown) == {"customer_id", "rfm", "value", "clv", "lifecycle"}
    assert shown["clv"]["horizon_weeks"] == 26 and shown["clv"]["margin"] == 0.3
