"""The analytics pages: fast checks over HTTP (permissions, scoping, CSRF,
the catalogue) and the analyst's flows in headless Chromium."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

pytest.importorskip("litestar")
pytest.importorskip("httpx")

from crmcore.testing import screenshot  # noqa: E402
from crmcore.web.i18n import untranslated  # noqa: E402

PACKAGE = Path(__file__).resolve().parent.parent / "crm_analytics"
AS_OF = date(2024, 6, 30)
ANALYST = ("analytics.view", "analytics.compute", "customers.view_all")
#: Expected RFM segments of the seeded purchases (see ``seeded``).
SEGMENT_COUNTS = {"champions": 3, "loyal": 2, "need_attention": 3, "hibernating": 2, "lost": 2}


@pytest.fixture
def seeded(load_purchases) -> dict[int, int]:
    """Twelve customers; customer c has level L = min(c, 10): L purchases of
    100 on alternate days, the last 10 × (10 − L) days before AS_OF. Recency,
    frequency and spend then rank alike, so R = F = M: ranks 1..9 and three
    tied at the top (average rank 11) give quintile scores 1,1,2,2,3,3,3,4,4
    and 5,5,5 — lost 2, hibernating 2, need attention 3, loyal 2, champions 3."""
    rows = []
    for c in range(1, 13):
        level = min(c, 10)
        last = AS_OF - timedelta(days=10 * (10 - level))
        rows += [(c, f"{last - timedelta(days=2 * i)}T10:00", 100) for i in range(level)]
    return load_purchases(rows)


def score(crm) -> None:
    with crm.unit_of_work() as uow:
        uow.service("analytics").score(as_of=AS_OF)


def test_every_message_of_the_pages_is_translated_to_chinese():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_permissions_scoping_and_csrf_are_those_of_the_api(web, crm, seeded):
    score(crm)
    web.user("clerk", permissions=("customers.view_all",))
    web.user("own", permissions=("analytics.view", "customers.view"))
    web.user("viewer", permissions=("analytics.view", "customers.view_all"))
    with crm.unit_of_work() as uow:  # "own" sees only the customer it owns
        uow.customers.update(seeded[1], owner_id=uow.users.find("own").id)

    with web.client("clerk") as clerk:
        assert clerk.get("/analytics").status_code == 403
        assert "/analytics" not in clerk.get("/").text

    with web.client("own") as own:
        churn = own.get("/analytics/churn", params={"above": "0"})
        assert churn.status_code == 200
        assert set(map(int, re.findall(r'href="/customers/(\d+)"', churn.text))) <= {seeded[1]}
        rfm = own.get("/analytics")
        assert re.search(r'data-segment="lost">1<', rfm.text) and "champions" not in rfm.text

    with web.client("viewer") as viewer:
        assert viewer.post("/analytics/score", data={"window": "365d"}).status_code in (403, 404)  # no form token
        token = re.search(r'name="_csrf" value="([^"]+)"', viewer.get("/analytics").text).group(1)
        assert viewer.post("/analytics/score", data={"_csrf": token}).status_code == 403  # no analytics.compute
        assert viewer.get("/analytics/churn", params={"above": "150"}).status_code == 422


def test_the_customer_panel_is_in_english_for_english_users(web, crm, seeded):
    score(crm)
    web.user("emma", permissions=ANALYST, locale="en")
    with web.client("emma") as emma:
        page = emma.get(f"/customers/{seeded[12]}").text
    assert "Customer value analysis" in page and "Champions" in page and "客户价值分析" not in page


def test_an_analyst_recomputes_scores_and_reads_the_rfm_grid(web, browser_page, seeded):
    web.user("analyst", permissions=ANALYST)
    page = browser_page
    web.login(page, "analyst")
    page.get_by_role("link", name=re.compile("客户价值|Customer value")).click()
    page.get_by_role("heading", name=re.compile("RFM")).first.wait_for()
    page.get_by_text(re.compile("重新计算所有评分|Recompute every score")).click()
    page.get_by_label(re.compile("^(截至日期|As of)")).fill(AS_OF.isoformat())
    page.get_by_label(re.compile("^(RFM 统计窗口|RFM window)")).fill("one year")
    page.get_by_role("button", name=re.compile("^(重新计算|Recompute)$")).click()
    page.locator(".field.invalid #f-window").wait_for()
    page.get_by_label(re.compile("^(RFM 统计窗口|RFM window)")).fill("1y")
    page.get_by_role("button", name=re.compile("^(重新计算|Recompute)$")).click()
    page.locator(".flash").get_by_text(re.compile("12")).wait_for()

    assert page.locator("#rfm-grid svg[role=img]").is_visible()
    counts = {cell.get_attribute("data-segment"): int(cell.inner_text())
              for cell in page.locator("#segments td[data-segment]").all()}
    assert counts == SEGMENT_COUNTS
    screenshot(page, "analytics-rfm")

    page.get_by_role("link", name=re.compile("^(冠军客户|Champions)$")).click()
    members = page.locator("#members tbody tr")
    members.first.wait_for()
    assert members.count() == 3
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "analytics-rfm-phone")


def test_an_analyst_reads_the_clv_distribution_and_the_churn_list_and_opens_a_customer(web, browser_page, crm, seeded):
    score(crm)
    web.user("analyst", permissions=ANALYST)
    page = browser_page
    web.login(page, "analyst")
    page.goto("/analytics/clv")
    assert page.locator("#clv-distribution svg[role=img]").is_visible()
    assert page.locator("table.list tbody tr").count() == 12
    screenshot(page, "analytics-clv")

    page.get_by_role("link", name=re.compile("^(流失风险|Churn risk)$")).click()
    threshold = page.get_by_label(re.compile("流失风险高于|Churn risk above"))
    threshold.fill("0")
    threshold.press("Enter")
    page.wait_for_url(re.compile(r"above=0"))
    rows = page.locator("table.list tbody tr")
    rows.first.wait_for()
    assert rows.count() >= 1
    screenshot(page, "analytics-churn")

    name = rows.first.get_by_role("link").inner_text()
    rows.first.get_by_role("link").click()
    page.get_by_role("heading", name=name).wait_for()
    panel = page.locator("#panel-analytics")
    assert panel.get_by_role("heading", name="客户价值分析").is_visible()
    assert panel.get_by_text(re.compile("流失风险|Churn risk")).count() >= 1
    screenshot(page, "analytics-customer-panel")


def test_a_department_without_analytics_sees_no_page_and_no_entry(web, browser_page, crm, seeded):
    score(crm)
    web.user("bj", permissions=ANALYST, department="北京分公司")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("analytics", False, uow.departments.find("北京分公司").id)
    page = browser_page
    web.login(page, "bj")
    assert page.get_by_role("link", name=re.compile("客户价值|Customer value")).count() == 0
    for path in ("/analytics", "/analytics/clv", "/analytics/churn"):
        assert page.goto(path).status == 404
    assert page.goto(f"/customers/{seeded[12]}").status == 200
    assert page.locator("#panel-analytics").count() == 0


def test_the_dashboard_lists_valuable_customers_at_risk_for_analysts_only(web, crm, seeded):
    score(crm)
    web.user("analyst", permissions=ANALYST)
    web.user("clerk", permissions=("customers.view_all",))
    with crm.unit_of_work() as uow:
        at_risk = uow.service("analytics").churn_list(above=0.7, limit=5)
    assert at_risk, "the seeded purchases leave customers at risk"
    with web.client("analyst") as analyst:
        dashboard = analyst.get("/").text
    assert "高价值流失风险客户" in dashboard
    linked = re.findall(r'<li><a href="/customers/(\d+)">', dashboard)
    assert [int(i) for i in linked] == [row["customer_id"] for row in at_risk]
    with web.client("clerk") as clerk:
        assert "高价值流失风险客户" not in clerk.get("/").text
