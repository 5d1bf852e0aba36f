"""Partners: marking organisations, types, grades, lifecycle."""

import pytest

from crmcore import Conflict
from crmcore.testing import PluginConformance


class TestConformance(PluginConformance):
    plugin_name = "partners"


def test_the_customer_panel_shows_the_grade_and_links_to_the_partner(web, partner):
    """On the customer page, as the user sees it."""
    pytest.importorskip("litestar")
    pid = partner()
    with web.client(web.admin()) as http:
        page = http.get(f"/customers/{pid}").text
    assert "金牌" in page and f'href="/partners/{pid}"' in page


def test_an_organisation_becomes_a_partner_with_its_first_status_in_the_history(org, cli, as_user):
    as_user("carol")
    customer = org("杭州云帆科技有限公司")
    result = cli("partners", "add", str(customer.id), "--type", "分销商", "--grade", "银牌", "--territory", "浙江,江苏",
                 "--industry", "软件", "--manager", "carol", json=True)
    assert result.exit_code == 0, result
    partner = result.json
    assert partner["type"] == "distributor" and partner["grade"] == "银牌" and partner["manager"] == "carol"
    assert partner["territories"] == ["浙江", "江苏"] and partner["industries"] == ["软件"] and partner["status"] == "active"
    shown = cli("partners", "show", str(customer.id), json=True).json
    assert [(h["from"], h["to"]) for h in shown["history"]] == [(None, "active")]
    assert "杭州云帆科技有限公司" in cli("partners", "list").stdout


def test_a_person_cannot_be_a_partner(make, cli):
    person = make.customer(name="张伟")
    result = cli("partners", "add", str(person.id), "--type", "reseller")
    assert result.exit_code == 1
    assert "customer:" in result.stderr and "organisations" in result.stderr


def test_an_unknown_grade_or_type_is_refused_and_nothing_is_written(org, cli):
    customer = org()
    bad_grade = cli("partners", "add", str(customer.id), "--type", "reseller", "--grade", "钻石")
    assert bad_grade.exit_code == 1 and bad_grade.stderr.startswith("error: grade:")
    bad_type = cli("partners", "add", str(customer.id), "--type", "pirate")
    assert bad_type.exit_code == 1 and "type:" in bad_type.stderr
    assert cli("partners", "list", json=True).json == []


def test_a_partner_cannot_be_added_twice(partner, service):
    pid = partner()
    with pytest.raises(Conflict, match="already a partner"):
        service(lambda s: s.add(pid, type="reseller"))


def test_configured_types_and_grades_can_be_used(org, cli):
    assert cli("partners", "type", "add", "oem", "OEM厂商").exit_code == 0
    added = cli("partners", "grade", "add", "钻石", "--weight", "5", "--min-revenue", "500万", "--min-win-rate", "40%", json=True)
    assert added.exit_code == 0, added
    assert added.json["min_revenue"] == "5000000.00"
    assert [g["name"] for g in cli("partners", "grade", "list", json=True).json][0] == "钻石"
    customer = org()
    result = cli("partners", "add", str(customer.id), "--type", "OEM厂商", "--grade", "钻石", json=True)
    assert result.json["type"] == "oem" and result.json["grade_weight"] == 5


def test_lifecycle_moves_are_checked_and_kept_in_the_history(partner, cli):
    pid = partner(status="recruiting")
    assert cli("partners", "status", str(pid), "onboarding", "--reason", "签约谈判").exit_code == 0
    assert cli("partners", "status", str(pid), "active").exit_code == 0
    assert cli("partners", "status", str(pid), "under_review", "--reason", "业绩下滑").exit_code == 0
    skipped = cli("partners", "status", str(pid), "recruiting")
    assert skipped.exit_code == 1 and "status:" in skipped.stderr
    no_reason = cli("partners", "status", str(pid), "terminated")
    assert no_reason.exit_code == 1 and "reason: required" in no_reason.stderr
    assert cli("partners", "status", str(pid), "已终止", "--reason", "合同到期不续").exit_code == 0
    history = cli("partners", "show", str(pid), json=True).json["history"]
    assert [h["to"] for h in history] == ["recruiting", "onboarding", "active", "under_review", "terminated"]
    assert history[-1]["reason"] == "合同到期不续"


def test_a_grade_change_is_audited_with_its_reason(partner, cli, crm):
    pid = partner(grade="金牌")
    assert cli("partners", "update", str(pid), "--grade", "银牌", "--reason", "季度考核").exit_code == 0
    with crm.unit_of_work() as uow:
        from sqlalchemy import select

        from crmcore.tables import audit_log

        rows = uow.execute(select(audit_log.c.changes).where(audit_log.c.entity == "partner", audit_log.c.action == "update")).scalars().all()
    assert rows and rows[-1]["grade"] == ["金牌", "银牌"] and rows[-1]["reason"] == "季度考核"


def test_chinese_text_round_trips_in_json(partner, cli):
    pid = partner("北京华信电子股份有限公司", territories=("北京", "华北"))
    result = cli("partners", "show", str(pid), json=True)
    assert "北京华信电子股份有限公司" in result.stdout and result.json["territories"] == ["北京", "华北"]
