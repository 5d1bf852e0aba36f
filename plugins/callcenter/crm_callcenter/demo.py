"""``crm demo``: a small service desk on the demo customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crm_callcenter.ivr import SAMPLE

ARTICLES = [
    ("物业报修处理流程", "1. 记录报修位置与问题；2. 派单给工程部，承诺2小时内上门；3. 维修完成后电话回访确认。", "报修", ["物业", "维修", "流程"]),
    ("账单疑问：如何查询本月费用", "引导客户拨打客服热线按3进入自助查询，或登录会员中心查看账单明细。", "咨询", ["账单", "自助服务"]),
    ("投诉安抚话术", "先致歉并复述问题，确认客户诉求；给出明确处理时限；升级至组长时告知客户工单号。", "投诉", ["投诉", "话术"]),
]


def make_demo(uow: Any, customers: list[Any]) -> str | None:
    svc = uow.service("callcenter")
    if uow.roles.find("service") is not None:
        for permission in ("callcenter.view", "callcenter.handle", "callcenter.kb_edit"):
            uow.roles.grant("service", permission)
    if uow.roles.find("manager") is not None:
        for permission in ("callcenter.view", "callcenter.manage", "callcenter.escalate"):
            uow.roles.grant("manager", permission)
    svc.set_calendar(hours=["09:00-12:00,13:00-18:00"], weekdays="1-5",
                     holidays=[f"2026-10-0{d}" for d in range(1, 8)], workdays=["2026-10-10"])
    people = {name: uow.users.find(name) for name in ("alice", "bob", "carol", "dave")}
    if not all(people.values()):
        return None
    svc.add_team("客服一组", lead="carol", manager="admin" if uow.users.find("admin") else "carol")
    svc.add_queue("投诉", skills="投诉", priority=1)
    svc.add_queue("咨询", skills="咨询")
    svc.add_agent("dave", skills="投诉:3,咨询,普通话", team="客服一组")
    svc.add_agent("alice", skills="咨询,普通话", team="客服一组")
    svc.add_agent("bob", skills="咨询,English", team="客服一组")
    svc.load_ivr(SAMPLE, name="main", filename="menu.toml")
    svc.add_sla(ticket_type="complaint", priority="high", first_response="10m", resolve="4h")
    svc.add_sla(ticket_type="inquiry", priority=None, first_response="10m", resolve="1d")
    svc.add_sla(ticket_type=None, priority=None, first_response="1h", resolve="2d")
    solutions = [svc.add_article(title=t, body=b, category=c, tags=tags) for t, b, c, tags in ARTICLES]
    now = uow.now
    opened = 0
    first = customers[0]
    svc.open_ticket(first.id, type="complaint", priority="high", subject="物业维修未处理", assignee="dave",
                    description="客户反映报修三天无人上门", at=now - timedelta(hours=30))
    opened += 1
    for index, customer in enumerate(customers[1:6], start=1):
        kind = ("inquiry", "repair", "suggestion", "complaint", "inquiry")[index - 1]
        ticket = svc.open_ticket(customer.id, type=kind, subject=("账单查询", "空调报修", "建议延长营业时间", "服务态度差", "积分规则咨询")[index - 1],
                                 priority="normal", assignee=("dave", "alice")[index % 2], at=now - timedelta(days=index, hours=2))
        opened += 1
        if index % 2:
            svc.set_status(ticket["id"], "in_progress", at=now - timedelta(days=index, hours=1))
            svc.use_solution(ticket["id"], solutions[index % len(solutions)]["id"])
            svc.set_status(ticket["id"], "resolved", at=now - timedelta(days=index))
            svc.answer_survey(ticket["id"], 5 - index % 3, "处理及时" if index == 1 else None, at=now - timedelta(days=index) + timedelta(hours=3))
    calls = 0
    for n, (customer, keys, agent) in enumerate([(first, "1", "dave"), (customers[2], "2", "alice"), (customers[3], "3", None)]):
        ref = f"demo-{n + 1}"
        at = now - timedelta(minutes=50 - n * 10)
        phone = customer.phones[0] if customer.phones else None
        result = svc.call_event("offered", ref, caller=phone, ivr_keys=keys, at=at)
        calls += 1
        if agent and result.get("action") == "ring":
            svc.call_event("answered", ref, agent=result["agent"], at=at + timedelta(seconds=8))
            svc.call_event("ended", ref, at=at + timedelta(minutes=4))
            svc.call_event("wrapup_done", ref, at=at + timedelta(minutes=4, seconds=30))
    return (f"callcenter: 2 queues, 3 agents, {opened} tickets, {calls} calls, {len(solutions)} solutions — "
            f'try: crm service lookup "+86 138-0013-8000"')
