"""The partners pages without a browser: every page renders, permissions and
scoping as on the API, CSRF, enablement per department, the catalogue."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

import crm_partners

PACKAGE = Path(crm_partners.__file__).parent
EVERYTHING = ("customers.view_all", "customers.edit", "customers.view_contact_details", "partners.view", "partners.manage",
              "partners.register", "partners.approve", "partners.assign", "partners.commissions")
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(client: httpx.Client, path: str) -> str:
    return CSRF.search(client.get(path).text)[1]


@pytest.fixture
def deals(partner, make, service):
    """Two partners, an agreement ending soon, a won deal, a conflicting
    registration, and a lead offered to a partner."""
    today = date.today()
    first = partner("甲渠道有限公司", agreement=(str(today - timedelta(days=300)), str(today + timedelta(days=20)), "8%"))
    second = partner("乙渠道有限公司")
    end = make.customer(name="张伟", phones=["13800138000"])
    lead = make.customer(name="潜在客户王", status="potential", city="上海")
    other = make.customer(name="李娜", phones=["13900139000"])

    def setup(s):
        won = s.register(first, end.id, amount="100000", close=today)
        s.won(won["id"], "100000", today)
        s.register(first, other.id, amount="50000", close=today + timedelta(days=30))
        pending = s.register(second, other.id, amount="60000", close=today + timedelta(days=30))
        offer = s.assign(lead.id, partner_id=second)
        return {"won": won["id"], "pending": pending["id"], "offer": offer["id"]}

    return {"first": first, "second": second, "end": end.id, "other": other.id, "lead": lead.id, **service(setup)}


def test_every_page_renders_for_a_channel_manager(web, deals):
    web.user("carol", permissions=EVERYTHING)
    with web.client("carol") as client:
        pages = ["/partners", f"/partners/{deals['first']}", f"/partners/{deals['first']}/scorecard", "/partners/agreements",
                 "/partners/agreements?show=all", "/partners/registrations", "/partners/registrations?status=pending",
                 f"/partners/registrations/{deals['pending']}", f"/partners/registrations/{deals['won']}",
                 "/partners/registrations/new", f"/partners/registrations/new?customer={deals['end']}", "/partners/assignments",
                 "/partners/commissions", "/partners/performance", "/partners/performance?period=2026",
                 f"/customers/{deals['end']}", f"/customers/{deals['first']}"]
        for path in pages:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:2000])
        pending = client.get(f"/partners/registrations/{deals['pending']}").text
        assert "甲渠道有限公司" in pending and "待审批" in pending, "the conflict names the other partner"
        assert "甲渠道有限公司" in client.get("/partners/agreements").text, "the agreement ends within 60 days"
        nav = client.get("/partners").text
        for label in ("合作伙伴", "报备", "线索", "佣金"):
            assert label in nav


def test_a_salesperson_without_partner_permissions_is_refused(web, deals):
    web.user("dave", permissions=("customers.view_all",))
    with web.client("dave") as client:
        assert client.get("/partners").status_code == 403
        assert client.get(f"/partners/registrations/{deals['pending']}").status_code == 403
        assert "/partners" not in client.get("/").text
    web.user("erin", permissions=("customers.view_all", "partners.view"))
    with web.client("erin") as viewer:
        assert viewer.get("/partners/commissions").status_code == 403, "commission totals need partners.commissions, as on the API"
        assert viewer.get("/partners/registrations/new").status_code == 403
        token = csrf_of(viewer, "/partners")
        refused = viewer.post(f"/partners/registrations/{deals['pending']}/approve", data={"_csrf": token, "override": "1", "reason": "x"})
        assert refused.status_code == 403


def test_another_departments_partner_and_deals_are_not_found(web, crm, partner, make, service):
    with crm.unit_of_work() as uow:
        shanghai = uow.departments.add("上海分公司")
        uow.departments.add("北京分公司")
    theirs = partner("上海渠道有限公司", department_id=shanghai.id)
    end = make.customer(name="上海客户", department_id=shanghai.id)
    registration = service(lambda s: s.register(theirs, end.id, amount="1000", close=date.today()))
    web.user("bob", permissions=("customers.view", "partners.view", "partners.register"), department="北京分公司")
    with web.client("bob") as client:
        assert client.get(f"/partners/{theirs}").status_code == 404
        assert client.get(f"/partners/registrations/{registration['id']}").status_code == 404
        assert "上海渠道有限公司" not in client.get("/partners").text
        assert "上海客户" not in client.get("/partners/registrations").text
        token = csrf_of(client, "/partners")
        answer = client.post("/partners/registrations/new", data={"_csrf": token, "partner": str(theirs), "customer": f"#{end.id}",
                                                                  "amount": "1000", "close": "2026-09-30"})
        assert answer.status_code in (404, 422) and "上海客户" not in answer.text


def test_forms_without_the_csrf_token_are_refused(web, deals):
    web.user("carol", permissions=EVERYTHING)
    with web.client("carol") as client:
        answer = client.post(f"/partners/registrations/{deals['pending']}/reject", data={"reason": "重复报备"})
        assert answer.status_code == 403
        assert "待审批" in client.get(f"/partners/registrations/{deals['pending']}").text


def test_a_department_without_the_plugin_gets_404_and_no_menu(web, crm, deals):
    with crm.unit_of_work() as uow:
        beijing = uow.departments.add("北京分公司")
        uow.plugin_settings.set("partners", False, beijing.id)
    web.user("bob", permissions=EVERYTHING, department="北京分公司")
    with web.client("bob") as client:
        for path in ("/partners", "/partners/registrations", f"/partners/{deals['first']}", "/partners/commissions"):
            assert client.get(path).status_code == 404, path
        assert 'href="/partners' not in client.get("/").text


def test_registering_shows_field_errors_and_a_conflict_stays_pending(web, deals, partner):
    third = partner("丙渠道有限公司")
    web.user("carol", permissions=EVERYTHING)
    with web.client("carol") as client:
        token = csrf_of(client, "/partners/registrations/new")
        bad = client.post("/partners/registrations/new", data={"_csrf": token, "partner": str(deals["second"]), "customer": "没有这个人",
                                                               "amount": "很多", "close": "2026-13-40"})
        assert bad.status_code == 422
        assert 'id="e-customer"' in bad.text and 'id="e-close"' in bad.text
        good = client.post("/partners/registrations/new", data={"_csrf": token, "partner": str(third),
                                                                "customer": f"李娜 (#{deals['other']})", "amount": "20万", "close": "2026-09-30"},
                           follow_redirects=False)
        assert good.status_code == 303
        page = client.get(good.headers["location"]).text
        assert "待审批" in page and "甲渠道有限公司" in page and "乙渠道有限公司" in page and "其他伙伴已报备" in page


def test_every_message_has_a_chinese_translation():
    from crmcore.web.i18n import untranslated

    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_the_dashboard_shows_the_partner_channel_to_do_for_partner_viewers_only(web, crm, deals, partner, make, service):
    from sqlalchemy import update

    from crm_partners import tables as t

    third = partner("丙渠道有限公司")
    today = date.today()

    ends = [make.customer(name=f"报备客户{i}") for i in range(5)]

    def more_conflicts(s):  # a registration already open for the customer: each new one waits for approval
        for i, end in enumerate(ends):
            s.register(deals["second"], end.id, amount="10000", close=today + timedelta(days=30))
            s.register(third, end.id, amount=str(20000 + i), close=today + timedelta(days=30))

    service(more_conflicts)
    with crm.unit_of_work() as uow:
        offer = uow.service("partners").assignment(deals["offer"])
        uow.execute(update(t.assignments).where(t.assignments.c.id == deals["offer"])
                    .values(deadline_at=offer["assigned_at"] - timedelta(hours=1)))
    with crm.unit_of_work() as uow:
        partners = uow.service("partners")
        pending = partners.registrations(status="pending")
        late = [a for a in partners.assignments(status="offered") if a["deadline_at"] < uow.now]
        ending = partners.agreements(expiring_within=30)
    assert len(pending) > 5 and all(r["conflicts"] for r in pending) and late and ending
    web.user("carol", permissions=("customers.view_all", "partners.view"))
    web.user("dave", permissions=("customers.view_all",))
    with web.client("carol") as client:
        dashboard = client.get("/").text
    assert "渠道待办" in dashboard
    assert f'<a href="/partners/registrations?status=pending">{len(pending)} 条商机报备待审批</a>' in dashboard
    linked = re.findall(r'<li><a href="/partners/registrations/(\d+)">', dashboard)
    assert [int(i) for i in linked] == [r["id"] for r in pending[:5]], "the five newest, newest first"
    assert dashboard.count('<span class="badge warn">') >= 5 and f"{len(pending[0]['conflicts'])} 项冲突" in dashboard
    assert f'<a href="/partners/assignments">{len(late)} 条线索分派已超过接受期限</a>' in dashboard
    assert f'<a href="/partners/agreements?expiring=30">{len(ending)} 份协议将在 30 天内到期</a>' in dashboard
    with web.client("dave") as client:
        assert "渠道待办" not in client.get("/").text
