"""Demo data for ``crm demo``: a quarter of sales work on the demo customers."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from crm_sales.values import local_date, month_of

if TYPE_CHECKING:
    from crmcore import UnitOfWork

PROJECTS = ["总部大楼项目", "ERP 升级", "年度采购框架协议", "门店数字化改造", "物流系统集成", "数据中心扩容", "办公设备更新",
            "会员系统建设", "安防监控项目", "供应链金融合作"]
COMPETITORS = ["用友", "金蝶", "SAP", "Oracle", "鼎捷", "浪潮"]
PRODUCTS = [("服务器", 48000), ("实施服务(人天)", 2500), ("软件许可(年)", 36000), ("培训服务", 8000), ("运维支持(年)", 30000)]
PATHS = {
    "qualification": ["qualification"],
    "needs_analysis": ["qualification", "needs_analysis"],
    "proposal": ["qualification", "needs_analysis", "proposal"],
    "negotiation": ["qualification", "needs_analysis", "proposal", "negotiation"],
    "won": ["qualification", "needs_analysis", "proposal", "negotiation", "won"],
    "lost": ["qualification", "needs_analysis", "proposal", "lost"],
}


def make_demo(uow: "UnitOfWork", customers: list[Any]) -> str:
    rng = random.Random(11)
    sales = uow.service("sales")
    zone = uow.crm.config.timezone
    _grant(uow)
    organisations = [c for c in customers if c.kind == "organization"]
    people = [c for c in customers if c.kind == "person" and c.owner_id][:6]
    targets = ["won", "won", "lost", "negotiation", "negotiation", "proposal", "proposal", "needs_analysis", "needs_analysis",
               "qualification", "qualification", "won", "proposal", "qualification", "lost", "needs_analysis"]
    made = []
    for index, customer in enumerate([*organisations, *people]):
        target = targets[index % len(targets)]
        opened = uow.now - timedelta(days=rng.randint(40, 160), hours=rng.randint(0, 8))
        amount = rng.randint(8, 120) * 10000 if customer.kind == "organization" else rng.randint(2, 30) * 1000
        close = local_date(uow.now, zone) + timedelta(days=rng.randint(-15, 150))
        opportunity = sales.opportunities.add(
            customer.id, name=PROJECTS[index % len(PROJECTS)] if customer.kind == "organization" else "个人理财方案",
            amount=amount, expected_close=close, opened_at=opened, source=rng.choice(["self", "self", "referral", "展会"]),
            competitors=rng.sample(COMPETITORS, rng.randint(0, 2)))
        steps = PATHS[target][1:]
        moment = opened
        for step in steps:
            moment = min(moment + timedelta(days=rng.randint(5, 25)), uow.now - timedelta(hours=1))
            reason = rng.choice(["价格高于竞品", "预算取消", "选择了竞品"]) if step == "lost" else None
            opportunity = sales.opportunities.move(opportunity.id, step, reason=reason, at=moment)
        made.append(opportunity)
    quotes = _quotes(sales, made, rng)
    plans = _plans(uow, sales, customers, rng)
    return (f"{len(made)} opportunities, {quotes} quotes, {plans} visit plans — try: crm sales pipeline; "
            f"crm sales forecast; crm sales stale --no-notify; crm sales plan report --month {month_of(local_date(uow.now, zone))}")


def _grant(uow: "UnitOfWork") -> None:
    for role, permissions in (("sales", ["sales.edit"]), ("manager", ["sales.edit", "sales.manage"])):
        if uow.roles.find(role) is not None:
            for permission in permissions:
                uow.roles.grant(role, permission)


def _quotes(sales: Any, made: list[Any], rng: random.Random) -> int:
    count = 0
    for opportunity in [o for o in made if o.stage in ("proposal", "negotiation")][:4]:
        lines = [{"product": product, "quantity": rng.randint(1, 10), "unit_price": price, "discount": rng.choice(["", "5", "9折"])}
                 for product, price in rng.sample(PRODUCTS, 3)]
        quote = sales.quotes.add(opportunity.id, lines=lines, valid_days=30, notes="含税价，付款方式：合同签订后 30 天内付清。")
        count += 1
        if opportunity.stage == "negotiation":
            sales.quotes.send(quote.id)
            revised = sales.quotes.revise(quote.id)
            sales.quotes.add_line(revised.id, product="延保服务(年)", quantity=1, unit_price=12000, discount="50%")
            count += 1
    return count


def _plans(uow: "UnitOfWork", sales: Any, customers: list[Any], rng: random.Random) -> int:
    zone = uow.crm.config.timezone
    today = local_date(uow.now, zone)
    month = month_of(today)
    count = 0
    for username in ("alice", "bob"):
        user = uow.users.find(username)
        if user is None:
            continue
        mine = [c for c in customers if c.owner_id == user.id][:5]
        for index, customer in enumerate(mine):
            day = today.replace(day=min(1 + index * 5, 28))
            sales.plans.add(user=user.id, month=month, customer_id=customer.id, purpose=rng.choice(["方案汇报", "需求调研", "商务洽谈", "回款跟进"]),
                            planned_date=day)
            count += 1
            if day <= today and index % 3 != 2:
                when = datetime.combine(day, time(10, 0), tzinfo=ZoneInfo(zone))
                if when <= uow.now:
                    uow.activities.log(customer.id, type="visit", subject="客户拜访", owner_id=user.id, occurred_at=when,
                                       body=rng.choice(["客户对方案认可，下周提交报价。", "了解到预算已批，需补充技术资料。", "决策人出差，改约下月。"]))
    return count
