"""The membership pages over plain HTTP against a real server: every page
renders with a club in it, permissions and department scope as in the API,
CSRF on the forms, a department where the plugin is off, and a complete
zh_CN catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crmcore.web.i18n import untranslated

PACKAGE = Path(__file__).resolve().parent.parent / "crm_membership"
CLERK = ("membership.view", "membership.apply", "membership.approve", "membership.redeem", "membership.adjust", "membership.cards",
         "membership.tier", "membership.points", "membership.care", "membership.manage", "customers.view_all", "customers.edit")


def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def stocked(club):
    """A member with points, a reward, an event and a merchant."""
    member = club.member(name="张伟", phones=["13800138000"])
    club.service(lambda s: s.points.add(member["card_number"], 800, reason="开业礼"))
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=5))
    event = club.service(lambda s: s.events.add("春季品鉴会", held_on="2026-04-01", reward_points=50))
    club.service(lambda s: s.merchants.add("星巴克", category="餐饮", status="active"))
    return {"member": member, "event": event}


def test_every_page_renders_for_a_clerk(web, stocked):
    web.user("clerk", permissions=CLERK)
    card = stocked["member"]["card_number"]
    with web.client("clerk") as client:
        home = client.get("/")
        for label in ("会员申请", "会员", "积分兑换", "会员活动", "联盟商家", "会员级别", "会员关怀", "会员报表"):
            assert label in home.text
        for path in ("/membership/applications", "/membership/members", f"/membership/cards/{card}", f"/membership/cards/{card}/ledger",
                     "/membership/tiers", "/membership/rewards", "/membership/events", f"/membership/events/{stocked['event']['id']}",
                     "/membership/merchants", "/membership/merchants/1", "/membership/care", f"/membership/care?template=birthday&card={card}",
                     "/membership/reports", f"/customers/{stocked['member']['customer_id']}"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[-2000:])
        ledger = client.get(f"/membership/cards/{card}/ledger").text
        assert "<svg" in ledger and "开业礼" in ledger
        assert client.get("/membership/members", params={"card": card}).headers["location"] == f"/membership/cards/{card}"
        panel = client.get(f"/customers/{stocked['member']['customer_id']}").text
        assert f'href="/membership/cards/{card}"' in panel and "800" in panel


def test_the_customer_panel_shows_the_card_its_state_and_the_balances(web, club):
    member = club.member(name="王芳", phones=["13900139000"])
    card = member["card_number"]
    club.service(lambda s: s.points.add(card, 1200, reason="开业礼"))
    club.service(lambda s: s.cards.report_lost(card))
    with web.client(web.admin()) as http:
        panel = http.get(f"/customers/{member['customer_id']}").text
    assert f'href="/membership/cards/{card}/ledger"' in panel and "1,200" in panel and "已挂失" in panel


def test_forms_refuse_without_their_token_and_show_service_errors_on_the_form(web, stocked, club):
    web.user("clerk", permissions=CLERK)
    card = stocked["member"]["card_number"]
    with web.client("clerk") as client:
        forged = client.post(f"/membership/cards/{card}/redeem", data={"reward": "电影票", "_csrf": "forged"})
        assert forged.status_code == 403
        token = form_token(client.get(f"/membership/cards/{card}").text)
        too_many = client.post(f"/membership/cards/{card}/redeem", data={"reward": "电影票", "quantity": "3", "_csrf": token})
        assert too_many.status_code == 422 and 'class="errors"' in too_many.text
        unknown = client.post("/membership/rewards/redeem", data={"card": "NO-SUCH", "reward": "电影票", "_csrf": token})
        assert unknown.status_code == 422 and "NO-SUCH" in unknown.text
    assert club.view(card)["reward_points"] == 800
    assert club.check() == []


def test_permissions_and_department_scope_are_those_of_the_api(web, crm, club):
    with crm.unit_of_work() as uow:
        uow.departments.add("上海分公司")
        uow.departments.add("北京分公司")
        shanghai = uow.customers.create(name="上海会员", department_id=uow.departments.get("上海分公司").id)
    member = club.service(lambda s: s.members.join(shanghai.id))
    web.user("viewer", permissions=("membership.view", "customers.view"), department="北京分公司")
    web.user("nobody", permissions=("customers.view_all",))
    with web.client("viewer") as client:
        assert client.get(f"/membership/cards/{member['card_number']}").status_code == 404
        assert member["card_number"] not in client.get("/membership/members").text
        token = form_token(client.get("/membership/rewards").text)
        refused = client.post("/membership/tiers", data={"name": "钻石卡", "level": "30", "_csrf": token})
        assert refused.status_code == 403 and "membership.manage" in refused.text
    with web.client("nobody") as client:
        assert client.get("/membership/members").status_code == 403
        assert "/membership/members" not in client.get("/").text


def test_a_department_with_the_plugin_disabled_gets_404_and_no_navigation(web, crm, club):
    with crm.unit_of_work() as uow:
        department = uow.departments.add("北京分公司")
        uow.plugin_settings.set("membership", False, department.id)
    web.user("bob", permissions=CLERK, department="北京分公司")
    with web.client("bob") as client:
        for path in ("/membership/members", "/membership/applications", "/membership/reports"):
            assert client.get(path).status_code == 404
        assert "/membership/" not in client.get("/").text


def test_the_catalogue_translates_every_message():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_the_dashboard_shows_applications_to_review_to_approvers_and_the_weeks_events_to_viewers(web, club):
    from datetime import timedelta

    from crm_membership.common import local_today

    apps = [club.service(lambda s, n=n: s.members.apply(name=f"申请人{n}", phone=f"1390000111{n}", channel="web")) for n in range(4)]
    club.service(lambda s: s.members.reject(apps[0]["id"], reason="资料不全"))
    today = club.service(lambda s: local_today(s.uow))
    on = {days: club.service(lambda s, d=days: s.events.add(f"活动{d}", held_on=(today + timedelta(days=d)).isoformat(), reward_points=10))
          for days in (-1, 0, 3, 10)}
    pending = club.service(lambda s: s.members.applications("pending"))
    newest = sorted(pending, key=lambda app: app["id"], reverse=True)[:3]
    web.user("approver", permissions=CLERK)
    web.user("viewer", permissions=("membership.view", "customers.view_all"))
    web.user("nobody", permissions=("customers.view_all",))
    with web.client("approver") as client:
        dashboard = client.get("/").text
    assert "会员俱乐部：待审核与近期活动" in dashboard
    assert f'<a href="/membership/applications">待审核的入会申请：{len(pending)}</a>' in dashboard
    assert [int(i) for i in re.findall(r'href="/membership/applications#app-(\d+)"', dashboard)] == [app["id"] for app in newest]
    for app in newest:
        assert app["name"] in dashboard
    assert [int(i) for i in re.findall(r'href="/membership/events/(\d+)"', dashboard)] == [on[0]["id"], on[3]["id"]]
    assert "今天" in dashboard
    with web.client("viewer") as client:
        dashboard = client.get("/").text
    assert "会员俱乐部：待审核与近期活动" in dashboard and "/membership/applications#app-" not in dashboard
    assert [int(i) for i in re.findall(r'href="/membership/events/(\d+)"', dashboard)] == [on[0]["id"], on[3]["id"]]
    with web.client("nobody") as client:
        assert "会员俱乐部：待审核与近期活动" not in client.get("/").text
