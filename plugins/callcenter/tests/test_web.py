"""The service pages over plain HTTP: every page renders, permissions,
department scope, CSRF and enablement as the API has them, and the
catalogue is complete."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from crmcore.web.i18n import untranslated

from crm_callcenter.tables import tickets

PACKAGE = Path(__file__).resolve().parent.parent / "crm_callcenter"


def ticket_row(crm, ticket_id):
    with crm.unit_of_work() as uow:
        return uow.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().one()


def test_every_message_of_the_service_pages_has_a_chinese_translation():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_every_service_page_renders_in_both_languages(web, service_desk, crm, make, cli, open_ticket, token_of):
    customer = make.customer(name="王芳", phones=["13800138000"], emails=["wf@example.com"])
    overdue = open_ticket(customer.id, "物业维修未处理", hours_ago=30, priority="high")
    fresh = open_ticket(customer.id, "发票抬头有误")
    open_ticket(customer.id, "快递破损", hours_ago=0.5)
    assert cli("service", "kb", "add", "--title", "发票重开流程", "--body", "作废原发票后重开。", "--tag", "发票").exit_code == 0
    with crm.unit_of_work(actor="admin") as uow:
        uow.service("callcenter").set_status(fresh, "resolved", note="已重开")
    with web.client("lily") as client:
        for locale, words in (("zh_CN", ("超时", "剩余", "工单")), ("en", ("Overdue by", "left", "Ticket"))):
            client.post("/language", data={"locale": locale, "_csrf": token_of(client.get("/").text), "next": "/"})
            queue = client.get("/callcenter/tickets").text
            assert words[0] in queue and words[1] in queue and "发票抬头有误" not in queue
            assert queue.index("物业维修未处理") < queue.index("快递破损")  # overdue first
            assert words[2] in client.get(f"/callcenter/tickets/{fresh}").text
            for path in ("/callcenter/tickets?view=closed", "/callcenter/tickets?view=overdue", "/callcenter/tickets?view=mine",
                         "/callcenter/tickets/new?customer_id=%d" % customer.id, f"/callcenter/tickets/{overdue}?kb_q=发票",
                         "/callcenter/console", "/callcenter/console?number=138%200013%208000", "/callcenter/console?number=13900000000",
                         "/callcenter/kb?q=发票", "/callcenter/kb/1", "/callcenter/kb/new", "/callcenter/kb/1/edit",
                         "/callcenter/surveys", "/callcenter/surveys?show=all", "/callcenter/reports",
                         f"/customers/{customer.id}"):
                response = client.get(path)
                assert response.status_code == 200, (locale, path, response.text[-2000:])
            report = client.get("/callcenter/reports").text
            assert report.count("<svg") >= 3 and "role='img'" in report


def test_an_agent_without_the_handle_permission_sees_tickets_but_cannot_take_them(web, service_desk, crm, make, open_ticket, token_of):
    web.user("viewer", permissions=("customers.view_all", "callcenter.view"))
    ticket = open_ticket(make.customer(name="李雷").id, "宽带断线")
    with web.client("viewer") as client:
        queue = client.get("/callcenter/tickets").text
        assert "宽带断线" in queue and f"/callcenter/tickets/{ticket}/take" not in queue
        response = client.post(f"/callcenter/tickets/{ticket}/take", data={"_csrf": token_of(queue)})
        assert response.status_code == 403
        assert client.get("/callcenter/tickets/new").status_code == 403
    assert ticket_row(crm, ticket)["assignee_id"] is None


def test_a_form_without_its_token_changes_nothing(web, service_desk, crm, make, open_ticket):
    ticket = open_ticket(make.customer(name="李雷").id, "宽带断线")
    with web.client("lily") as client:
        response = client.post(f"/callcenter/tickets/{ticket}/status", data={"status": "resolved"})
    assert response.status_code == 403
    assert ticket_row(crm, ticket)["status"] == "new"


def test_another_departments_tickets_are_neither_listed_nor_reachable(web, service_desk, crm, make, open_ticket, token_of):
    web.user("zhao", permissions=("customers.view", "callcenter.view", "callcenter.handle"), department="北京分公司")
    with crm.unit_of_work() as uow:
        shanghai = uow.departments.add("上海分公司").id
    theirs = make.customer(name="上海客户", phones=["13911112222"], department_id=shanghai)
    ticket = open_ticket(theirs.id, "上海的投诉")
    with web.client("zhao") as client:
        assert "上海的投诉" not in client.get("/callcenter/tickets").text
        assert client.get(f"/callcenter/tickets/{ticket}").status_code == 404
        token = token_of(client.get("/callcenter/tickets").text)
        assert client.post(f"/callcenter/tickets/{ticket}/take", data={"_csrf": token}).status_code in (303, 404)
        pop = client.get("/callcenter/console", params={"number": "139 1111 2222"}).text
        assert "上海客户" not in pop
        assert client.get("/callcenter/tickets/new", params={"customer_id": theirs.id}).status_code == 200
        created = client.post("/callcenter/tickets/new", data={"_csrf": token, "customer_id": str(theirs.id), "type": "complaint",
                                                                "subject": "越权"})
        assert created.status_code == 422
    assert ticket_row(crm, ticket)["assignee_id"] is None


def test_where_the_plugin_is_disabled_its_pages_are_not_found_and_not_in_the_menu(web, service_desk, crm, agent_permissions):
    with crm.unit_of_work() as uow:
        north = uow.departments.add("北京分公司")
        uow.plugin_settings.set("callcenter", False, north.id)
    web.user("zhao", permissions=agent_permissions, department="北京分公司")
    with web.client("zhao") as client:
        page = client.get("/customers").text  # the sidebar is on every page
        assert "/customers" in page and "/callcenter/" not in page
        for path in ("/callcenter/tickets", "/callcenter/console", "/callcenter/kb", "/callcenter/reports"):
            assert client.get(path).status_code == 404, path
    with web.client("lily") as client:
        assert "/callcenter/tickets" in client.get("/customers").text


def test_a_ticket_form_with_mistakes_is_shown_again_with_them(web, service_desk, crm, make, token_of):
    customer = make.customer(name="王芳")
    with web.client("lily") as client:
        token = token_of(client.get("/callcenter/tickets/new").text)
        response = client.post("/callcenter/tickets/new", data={"_csrf": token, "customer_id": str(customer.id), "type": "complaint",
                                                                 "subject": ""})
        assert response.status_code == 422 and 'aria-invalid="true" aria-describedby="e-subject"' in response.text
        response = client.post("/callcenter/tickets/new", data={"_csrf": token, "customer_id": "99999", "type": "complaint",
                                                                 "subject": "x"})
        assert response.status_code == 422 and 'aria-describedby="e-customer_id"' in response.text
        response = client.post("/callcenter/tickets/new", data={"_csrf": token, "customer_id": str(customer.id), "type": "complaint",
                                                                 "subject": "门禁卡失灵", "priority": "high", "assignee": "lily"})
        assert response.status_code == 303
        ticket_id = int(response.headers["location"].rsplit("/", 1)[1])
        done = client.post(f"/callcenter/tickets/{ticket_id}/status", data={"_csrf": token, "status": "closed"})
        assert done.status_code == 303
        again = client.post(f"/callcenter/tickets/{ticket_id}/status", data={"_csrf": token, "status": "resolved"})
        assert again.status_code == 422 and "cannot go from closed to resolved" in again.text
    row = ticket_row(crm, ticket_id)
    assert (row["subject"], row["priority"], row["status"]) == ("门禁卡失灵", "high", "closed")


def test_the_dashboard_shows_my_most_urgent_tickets_and_the_queue_counts_to_agents_only(web, service_desk, crm, make, open_ticket):
    import re

    from crm_callcenter.web.common import with_clocks

    web.user("clerk", permissions=("customers.view_all",))
    customer = make.customer(name="王芳")
    for n, hours_ago in enumerate((0.2, 30, 3, 0.5, 50, 0.1)):  # six of lily's: more than the panel shows, three overdue (1h to respond)
        open_ticket(customer.id, f"莉莉的工单{n}", hours_ago=hours_ago, assignee="lily")
    open_ticket(customer.id, "鲍勃的工单", hours_ago=40, assignee="bob")
    open_ticket(customer.id, "无人处理", hours_ago=20)
    open_ticket(customer.id, "刚来的", hours_ago=0.1)
    with crm.unit_of_work(actor="lily") as uow:
        svc = uow.service("callcenter")
        mine = with_clocks(svc.list_tickets(assignee="lily", open_only=True))
        unassigned = len(svc.list_tickets(open_only=True, status="new"))
        overdue = len(svc.list_tickets(open_only=True, overdue=True))
    assert len(mine) == 6 and (unassigned, overdue) == (2, 5)
    with web.client("lily") as client:
        page = client.get("/").text
    assert "我的客服工单" in page
    panel = page[page.index('id="dash-callcenter-h"'):]
    panel = panel[:panel.index("</section>")]
    assert [int(i) for i in re.findall(r'<a href="/callcenter/tickets/(\d+)">', panel)] == [t["id"] for t in mine[:5]]
    assert panel.count("已超时 ") == sum(t["clock"]["status"] == "overdue" for t in mine[:5]) == 3
    assert "剩余" in panel and "鲍勃的工单" not in panel
    assert f"待分派：{unassigned}" in panel and f"已超时：{overdue}" in panel
    assert 'href="/callcenter/tickets?view=unassigned"' in panel and 'href="/callcenter/tickets?view=overdue"' in panel
    with web.client("clerk") as client:
        page = client.get("/").text
    assert "dash-callcenter-h" not in page and "我的客服工单" not in page
