"""The campaigns pages over plain HTTP against a real server: every page
renders, the live count answers with its block, permissions and scoping as
the API's, CSRF, per-department enablement, and the catalogue is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("httpx")
pytest.importorskip("litestar")

import crm_campaigns  # noqa: E402
from crmcore.web.i18n import untranslated  # noqa: E402

PACKAGE = Path(crm_campaigns.__file__).parent
MARKETER = ("campaigns.view", "campaigns.manage", "campaigns.approve", "campaigns.send", "campaigns.respond",
            "campaigns.optout", "customers.view_all", "customers.edit")
SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


def token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


@pytest.fixture
def shop(make, service):
    """Two Shanghai customers and one in Beijing; a launched e-mail campaign
    with a bought response and a cost line."""
    made = [make.customer(name="王芳", city="上海", emails=["wang@example.com"]),
            make.customer(name="李雷", city="上海", emails=["li@example.com"]),
            make.customer(name="赵敏", city="北京", emails=["zhao@example.com"])]

    def build(s):
        s.add_segment("上海客户", SHANGHAI)
        s.add("春季促销", segment="上海客户", channels=["email"], budget="1000")
        s.add_template("春季促销", channel="email", subject="{{ customer.name }}，春季特惠", body="{{ customer.name }}您好")
        s.approve("春季促销")
        s.launch("春季促销")
        s.record_response("春季促销", made[0].id, "bought", amount="1500")
        s.add_cost("春季促销", "300", "短信费")
        return s.get("春季促销").id, s.segment("上海客户").id

    return made, *service(build)


def test_every_message_of_the_campaigns_pages_has_a_chinese_translation():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_every_page_renders_for_a_marketer(web, shop):
    made, campaign_id, segment_id = shop
    web.user("erin", permissions=MARKETER)
    with web.client("erin") as client:
        for path in ("/campaigns", "/campaigns/segments", "/campaigns/segments/new", f"/campaigns/segments/{segment_id}",
                     "/campaigns/new", f"/campaigns/{campaign_id}", f"/campaigns/{campaign_id}/edit",
                     f"/campaigns/{campaign_id}/message", f"/campaigns/{campaign_id}/results", f"/customers/{made[0].id}"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[-2000:])
        results = client.get(f"/campaigns/{campaign_id}/results").text
        assert "<svg" in results and "¥1,500.00" in results
        assert "王芳您好" in client.get(f"/campaigns/{campaign_id}").text
        assert "春季促销" in client.get(f"/customers/{made[0].id}").text


def test_the_live_count_answers_with_its_block_only_and_names_the_wrong_criterion(web, shop):
    web.user("erin", permissions=MARKETER)
    with web.client("erin") as client:
        fragment = client.get("/campaigns/segments/new", params={"field-1": "city", "op-1": "eq", "value-1": "上海"},
                              headers={"X-CRM-Fragment": "count"})
        assert fragment.status_code == 200
        assert "<html" not in fragment.text and 'data-count="2"' in fragment.text
        wrong = client.get("/campaigns/segments/new", params={"field-1": "purchases.sum", "op-1": "gte", "value-1": "many"},
                           headers={"X-CRM-Fragment": "count"})
        assert "expected a number" in wrong.text


def test_saving_a_segment_needs_the_form_token_and_the_manage_permission(web, shop, crm):
    web.user("erin", permissions=MARKETER)
    web.user("sam", permissions=("campaigns.view", "customers.view_all"))
    fields = {"name": "北京客户", "field-1": "city", "op-1": "eq", "value-1": "北京"}
    with web.client("erin") as client:
        assert client.post("/campaigns/segments/new", data=fields).status_code == 403
        saved = client.post("/campaigns/segments/new", data={**fields, "_csrf": token(client.get("/campaigns").text)})
        assert saved.status_code == 303
    with web.client("sam") as client:
        page = client.get("/campaigns/segments/new").text
        assert 'method="post" action="/campaigns/segments/new"' not in page
        refused = client.post("/campaigns/segments/new", data={**fields, "name": "又一个", "_csrf": token(page)})
        assert refused.status_code == 403
        assert client.get("/campaigns/new").status_code == 403


def test_a_salesperson_counts_only_her_department_and_cannot_preview_another_departments_customer(web, shop, crm, make):
    made, campaign_id, _segment_id = shop
    with crm.unit_of_work() as uow:
        beijing = uow.departments.add("北京分公司")
        other = uow.customers.create(name="北京客户甲", city="上海", department_id=beijing.id)
    web.user("bob", permissions=("campaigns.view", "customers.view"), department="上海分公司")
    with web.client("bob") as client:
        count = client.get("/campaigns/segments/new", params={"field-1": "city", "value-1": "上海"},
                           headers={"X-CRM-Fragment": "count"})
        assert 'data-count="0"' in count.text
        preview = client.get(f"/campaigns/{campaign_id}", params={"customer": other.id})
        assert "北京客户甲" not in preview.text and "not found" in preview.text


def test_a_department_without_the_plugin_gets_404_and_no_navigation(web, shop, crm):
    made, campaign_id, _segment_id = shop
    with crm.unit_of_work() as uow:
        department = uow.departments.add("北京分公司")
        uow.plugin_settings.set("campaigns", False, department.id)
    web.user("bob", permissions=MARKETER, department="北京分公司")
    with web.client("bob") as client:
        assert 'href="/campaigns"' not in client.get("/customers").text
        for path in ("/campaigns", f"/campaigns/{campaign_id}", "/campaigns/segments/new"):
            assert client.get(path).status_code == 404
    web.user("erin", permissions=MARKETER)
    with web.client("erin") as client:
        assert 'href="/campaigns"' in client.get("/customers").text


def test_the_dashboard_shows_drafts_to_approvers_and_running_campaigns_roi_to_viewers_only(web, shop, service):
    made, running_id, _segment_id = shop
    draft_id = service(lambda s: s.add("秋季促销", segment="上海客户", channels=["sms"], budget="500").id)
    expected = service(lambda s: s.stats(running_id))
    from crmcore.web.i18n import Formats

    roi = Formats("zh_CN", "Asia/Shanghai").percent(expected["roi"])
    web.user("erin", permissions=MARKETER)
    web.user("vic", permissions=("campaigns.view", "customers.view_all"))
    web.user("clerk", permissions=("customers.view_all",))
    with web.client("erin") as client:
        dashboard = client.get("/").text
    assert "今日营销活动" in dashboard and "待您审批：1 个" in dashboard
    assert f'href="/campaigns/{draft_id}">秋季促销</a>' in dashboard
    assert re.findall(r'href="/campaigns/(\d+)/results">', dashboard) == [str(running_id)]
    assert expected["roi"] is not None and f"投资回报率 {roi}" in dashboard
    with web.client("vic") as client:
        dashboard = client.get("/").text
    assert "今日营销活动" in dashboard and "待您审批" not in dashboard and "秋季促销" not in dashboard
    assert f'href="/campaigns/{running_id}/results">春季促销</a>' in dashboard
    with web.client("clerk") as client:
        assert "今日营销活动" not in client.get("/").text
