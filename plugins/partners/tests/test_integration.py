"""Integration with the core: panels, merge, hand-over, permissions, enablement, demo."""

from datetime import date

from crmcore import hookimpl


def test_the_partner_panel_shows_grade_agreements_and_pipeline(partner, make, cli, service):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "8%"))
    end = make.customer(name="张伟")
    service(lambda s: s.register(pid, end.id, amount="200000", close=date(2026, 9, 30)))
    shown = cli("customer", "show", str(pid), json=True).json["panels"]["partners"]
    assert shown["grade"] == "金牌" and shown["open_deals"] == 1 and shown["pipeline"] == "200000.00"
    assert "8%" in shown["agreements"][0]
    text = cli("customer", "show", str(pid)).stdout
    assert "渠道伙伴" in text and "grade: 金牌" in text


def test_the_end_customer_panel_shows_who_registered_and_serves_it(partner, make, cli, service):
    pid = partner("明源渠道")
    end = make.customer(name="张伟", status="potential")
    service(lambda s: s.register(pid, end.id, amount="1000", close=date(2026, 9, 30)))
    service(lambda s: s.assign(end.id, partner_id=pid))
    panel = cli("customer", "show", str(end.id), json=True).json["panels"]["partners"]
    assert "明源渠道" in panel["registrations"][0] and panel["served_by"].startswith("明源渠道 (offered")
    plain = make.customer(name="无关客户")
    assert "partners" not in cli("customer", "show", str(plain.id), json=True).json["panels"]


def test_merging_end_customers_moves_registrations_and_assignments(partner, make, crm, service, cli):
    pid = partner()
    kept, dup = make.customer(name="张伟", status="potential"), make.customer(name="张伟2", status="potential")
    reg = service(lambda s: s.register(pid, dup.id, amount="1000", close=date(2026, 9, 30)))
    offer = service(lambda s: s.assign(dup.id, partner_id=pid))
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept.id, dup.id)
    assert service(lambda s: s.registration(reg["id"])).customer_id == kept.id
    assert service(lambda s: s.assignment(offer["id"]))["customer_id"] == kept.id


def test_merging_a_partner_into_another_organisation_carries_the_partner_over(partner, org, crm, service):
    pid = partner("明源（旧）", agreement=("2026-01-01", "2026-12-31", "8%"))
    kept = org("明源（新）")
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept.id, pid)
    moved = service(lambda s: s.get(kept.id))
    assert moved["grade"] == "金牌" and not service(lambda s: s.is_partner(pid))
    assert [a["partner_id"] for a in service(lambda s: s.agreements(kept.id))] == [kept.id]


def test_a_leaving_channel_manager_hands_partners_to_the_successor(partner, as_user, crm, service):
    as_user("carol")
    as_user("dave")
    pid = partner(manager="carol")
    with crm.unit_of_work() as uow:
        uow.users.deactivate("carol", reassign_to="dave")
    assert service(lambda s: s.get(pid))["manager"] == "dave"


def test_a_leaving_channel_manager_needs_a_successor(partner, as_user, cli):
    as_user("carol")
    partner(manager="carol")
    result = cli("user", "deactivate", "carol")
    assert result.exit_code == 1 and "reassign-to" in result.stderr


def test_registering_needs_the_permission(partner, make, as_user, cli):
    pid = partner()
    end = make.customer()
    as_user("alice", permissions=["customers.view", "customers.view_all"])
    denied = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "1", "--close", "2026-09-30", as_="alice")
    assert denied.exit_code == 1 and "partners.register" in denied.stderr
    as_user("rep", permissions=["customers.view", "customers.view_all", "partners.register", "partners.view"])
    allowed = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "1", "--close", "2026-09-30", as_="rep")
    assert allowed.exit_code == 0, allowed


def test_a_department_without_the_plugin_cannot_use_it(partner, as_user, crm, cli):
    partner()
    as_user("chan", permissions=["customers.view", "partners.view"], department="渠道部")
    as_user("serv", permissions=["customers.view", "partners.view"], department="客服中心")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("partners", False, uow.departments.find("客服中心").id)
    assert cli("partners", "list", as_="chan").exit_code == 0
    refused = cli("partners", "list", as_="serv")
    assert refused.exit_code == 1 and "disabled" in refused.stderr


def test_the_approval_hook_can_veto_and_roll_back_the_registration(partner, make, register_plugin, cli):
    class Strict:
        @hookimpl(optionalhook=True)
        def crm_partners_registration_approved(self, uow, registration):
            from crmcore import ValidationError

            raise ValidationError("amount: too large for the sales pipeline")

    register_plugin(Strict(), name="strict_sales")
    pid = partner()
    result = cli("partners", "register", str(pid), "--customer", str(make.customer().id), "--amount", "1", "--close", "2026-09-30")
    assert result.exit_code == 1 and "amount: too large" in result.stderr
    assert cli("partners", "registrations", json=True).json == []


def test_demo_data_builds_a_channel_programme(crm, cli):
    result = cli("demo")
    assert result.exit_code == 0, result
    assert "partners:" in result.stdout
    partners = cli("partners", "list", json=True).json
    assert len(partners) >= 3
    rows = cli("partners", "performance", json=True).json
    assert sum(r["won"] for r in rows) >= 1
