"""``crm demo``: a CRM full of believable data, from the core and every
installed plugin, so a newcomer has something to look at."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crmcore.errors import CRMError

if TYPE_CHECKING:
    from crmcore.cli.context import CLIState
    from crmcore.storage.unit_of_work import UnitOfWork

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金贾"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平",
         "刚", "桂英", "建华", "文", "华", "红", "玉兰", "志强", "晓明", "丹", "萍", "鹏", "辉", "建国", "海燕", "雪", "琳", "浩"]
CITIES = [("华东", "上海", "上海"), ("华东", "江苏", "南京"), ("华东", "浙江", "杭州"), ("华北", "北京", "北京"),
          ("华南", "广东", "广州"), ("华南", "广东", "深圳"), ("西南", "四川", "成都"), ("华中", "湖北", "武汉")]
COMPANIES = [("上海明源地产有限公司", "房地产"), ("杭州云帆科技有限公司", "软件"), ("北京华信电子股份有限公司", "电子"),
             ("广州珠江贸易有限公司", "贸易"), ("深圳蓝海物流有限公司", "物流"), ("南京金陵百货有限公司", "零售"),
             ("成都天府食品有限公司", "食品"), ("武汉长江建材有限公司", "建材"), ("苏州新纪元制造有限公司", "制造"),
             ("上海申城酒店管理有限公司", "酒店")]
TITLES = [("总经理", "decision_maker"), ("采购经理", "buyer"), ("技术总监", "influencer"), ("行政主管", "gatekeeper"), ("IT工程师", "user")]
SOURCES = ["展会", "官网", "转介绍", "电话营销", "门店"]
TAGS = ["vip", "老客户", "高潜力", "价格敏感", "团购", "线上"]

DEPARTMENTS = [("华东区", None), ("上海分公司", "华东区"), ("华北区", None), ("北京分公司", "华北区"), ("客服中心", None), ("市场部", None)]
ROLES = {
    "sales": ["customers.view", "customers.edit"],
    "manager": ["customers.view", "customers.view_all", "customers.view_contact_details", "customers.edit", "customers.merge",
                "customers.export", "audit.view"],
    "service": ["customers.view", "customers.view_all", "customers.edit"],
    "marketing": ["customers.view", "customers.view_all", "customers.export"],
}
#: Every demo user logs in to the web interface with this password (a demo
#: database only: set real ones with ``crm user password``).
DEMO_PASSWORD = "crm-demo-2026"
USERS = [("alice", "艾丽", "上海分公司", "sales"), ("bob", "鲍勃", "北京分公司", "sales"), ("carol", "卡罗", "华东区", "manager"),
         ("dave", "戴维", "客服中心", "service"), ("erin", "艾琳", "市场部", "marketing")]


def make_demo(state: "CLIState", *, reset: bool = False, people: int = 60, seed: int = 7) -> dict[str, Any]:
    from crmcore.bootstrap import initialise

    crm = state.crm
    _prepare_database(crm, reset)
    initialise(crm)
    rng = random.Random(seed)
    lines: list[str] = []
    with crm.unit_of_work() as uow:
        users = _organisation(uow)
        customers = _customers(uow, rng, users, people)
        contacts, activities = _contacts_and_activities(uow, rng, customers, users)
        lines.append(f"core: {len(DEPARTMENTS)} departments, {len(users)} users, {len(customers)} customers, "
                     f"{contacts} contacts, {activities} activities")
        for line in uow.hook.crm_demo_data(uow=uow, customers=customers):
            if line:
                lines.append(line)
    url = crm.engine.url.render_as_string(hide_password=True)
    lines = [f"demo CRM created at {url}", *(f"  {line}" for line in lines), "", "try next:",
             "  crm customer list",
             "  crm customer show 1",
             "  crm --json customer search 张伟",
             "  crm customer search zw              # pinyin initials",
             "  crm --as alice customer list        # a salesperson sees her department only",
             "  crm plugins list",
             f"  crm serve                          # http://localhost:8000/ — log in as admin, carol (manager) or "
             f"alice (sales), password {DEMO_PASSWORD}"]
    return {"database": url, "customers": len(customers), "lines": lines}


def _prepare_database(crm: Any, reset: bool) -> None:
    from sqlalchemy import func, inspect, select

    from crmcore.storage.tables import customers

    if "customers" not in inspect(crm.engine).get_table_names():
        return
    with crm.engine.connect() as connection:
        count = connection.execute(select(func.count()).select_from(customers)).scalar_one()
    if count == 0:
        return
    database = crm.engine.url.database
    if not reset or crm.engine.url.get_backend_name() != "sqlite" or not database:
        raise CRMError(f"the database already holds {count} customers; use an empty database"
                       + (" or `crm demo --reset`" if crm.engine.url.get_backend_name() == "sqlite" else ""))
    crm.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(database + suffix).unlink(missing_ok=True)


def _organisation(uow: "UnitOfWork") -> dict[str, Any]:
    for name, parent in DEPARTMENTS:
        uow.departments.add(name, parent=parent)
    for name, permissions in ROLES.items():
        uow.roles.add(name, permissions)
    from crmcore.access import ADMIN_USER
    from crmcore.tokens import PasswordService

    made = {username: uow.users.add(username, display_name=display, department=department, roles_=[role],
                                    email=f"{username}@example.com")
            for username, display, department, role in USERS}
    for username in (ADMIN_USER, *made):
        PasswordService(uow).set(username, DEMO_PASSWORD)
    return made


def _customers(uow: "UnitOfWork", rng: random.Random, users: dict[str, Any], people: int) -> list[Any]:
    sales = [users["alice"], users["bob"], users["carol"]]
    made = [uow.customers.create(
        name="张伟", kind="person", phones=["138 0013 8000"], emails=["zhangwei@example.com"], city="上海", province="上海",
        region="华东", level="vip", status="active", stage="stability", tags=["vip", "老客户"], gender="male",
        birthday="1985-06-18", source="转介绍", owner_id=users["alice"].id,
    )]
    used_phones = {"13800138000"}
    for index in range(people - 1):
        region, province, city = rng.choice(CITIES)
        owner = rng.choice(sales)
        phone = _unique_phone(rng, used_phones)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        made.append(uow.customers.create(
            name=name, kind="person", phones=[phone],
            emails=[f"user{index + 2}@example.com"] if rng.random() < 0.6 else [],
            region=region, province=province, city=city, gender=rng.choice(["male", "female"]),
            birthday=f"{rng.randint(1960, 2002)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            level=rng.choices(["vip", "important", "normal", "small"], [1, 3, 8, 3])[0],
            status=rng.choices(["potential", "target", "active", "lost"], [3, 2, 6, 1])[0],
            stage=rng.choice(["exploration", "formation", "stability", "decline"]),
            tags=rng.sample(TAGS, rng.randint(0, 2)), source=rng.choice(SOURCES), owner_id=owner.id,
        ))
    for name, industry in COMPANIES:
        region, province, city = next((c for c in CITIES if c[2] in name), rng.choice(CITIES))
        made.append(uow.customers.create(
            name=name, kind="organization", phones=[f"0{rng.randint(20, 29)}-{rng.randint(5000_0000, 8999_9999)}"],
            industry=industry, region=region, province=province, city=city, source=rng.choice(SOURCES),
            level=rng.choice(["vip", "important", "normal"]), status=rng.choice(["target", "active"]),
            stage=rng.choice(["formation", "stability"]), owner_id=rng.choice(sales).id,
        ))
    return made


def _unique_phone(rng: random.Random, used: set[str]) -> str:
    while True:
        phone = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}"
        if phone not in used:
            used.add(phone)
            return phone


def _contacts_and_activities(uow: "UnitOfWork", rng: random.Random, customers: list[Any], users: dict[str, Any]) -> tuple[int, int]:
    contacts = activities = 0
    now = uow.now
    for customer in customers:
        if customer.kind == "organization":
            for title, role in rng.sample(TITLES, 3):
                uow.contacts.add(customer.id, name=rng.choice(SURNAMES) + rng.choice(GIVEN), title=title, decision_role=role,
                                 relationship=rng.choice(["positive", "neutral", "negative", "none"]),
                                 phones=[_unique_phone(rng, set())], staff_id=customer.owner_id)
                contacts += 1
        for _ in range(rng.randint(2, 8)):
            kind = rng.choices(["call", "visit", "email", "note", "purchase", "task"], [4, 2, 2, 1, 4, 1])[0]
            when = now - timedelta(days=rng.randint(0, 540), hours=rng.randint(0, 12))
            fields: dict[str, Any] = {"occurred_at": when, "owner_id": customer.owner_id}
            if kind == "purchase":
                fields["amount"] = Decimal(rng.randint(50, 20000))
                fields["subject"] = rng.choice(["门店消费", "线上订单", "年度采购", "购房定金"])
            elif kind == "task":
                fields["due_at"] = now + timedelta(days=rng.randint(-5, 20))
                fields["subject"] = rng.choice(["回访客户", "发送报价", "安排拜访"])
            else:
                fields["subject"] = rng.choice(["电话回访", "首次拜访", "产品介绍", "需求沟通", "节日问候"])
            uow.activities.log(customer.id, type=kind, **fields)
            activities += 1
    return contacts, activities
