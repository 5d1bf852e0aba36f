"""What ``crm demo`` makes for campaigns: permissions for the demo roles, a
segment mixing core, activity and RFM criteria, and a finished phone
campaign with responses, costs and a control group."""

from __future__ import annotations

from typing import Any

DEMO_SEGMENT = {
    "match": "all",
    "criteria": [
        {"any": [{"field": "region", "op": "eq", "value": "华东"}, {"field": "tags", "op": "contains", "value": "vip"}]},
        {"field": "purchases.count", "window": "540d", "op": "gte", "value": 1},
    ],
}


def make_demo(uow: Any, customers: list[Any]) -> str:
    service = uow.service("campaigns")
    grants = {
        "marketing": ["campaigns.view", "campaigns.manage", "campaigns.send", "campaigns.respond", "campaigns.optout"],
        "manager": ["campaigns.view", "campaigns.approve"],
        "sales": ["campaigns.view", "campaigns.respond"],
    }
    for role, codes in grants.items():
        if uow.roles.find(role) is not None:
            for code in codes:
                uow.roles.grant(role, code)
    service.add_segment("华东及VIP活跃客户", DEMO_SEGMENT, "华东地区或 VIP、近 540 天有购买")
    service.add_segment("冠军客户", {"criteria": [{"field": "rfm.segment", "op": "in", "value": ["champions", "loyal"]}]},
                        "RFM: champions and loyal")
    # campaigns message only customers who agreed to marketing over the channel: most demo customers did, by phone
    uow.consents.record_many([(customer.id, "marketing", "phone", True) for index, customer in enumerate(customers) if index % 5 != 4],
                             method="form", evidence="演示数据 demo")
    owner = uow.users.find("erin")
    service.add("老客户电话回访", segment="华东及VIP活跃客户", channels=["phone"], budget="3000", control="20%",
                goal="唤醒老客户复购", owner=owner.id if owner else None)
    service.add_template("老客户电话回访", channel="phone",
                         body="{{ customer.name }}{{ customer.salutation }}您好，我们为老客户准备了回馈礼包。")
    service.approve("老客户电话回访")
    launched = service.launch("老客户电话回访")
    listed = [row["customer_id"] for row in service.recipients_list("老客户电话回访", 1)]
    for index, customer_id in enumerate(listed[:6]):
        service.record_response("老客户电话回访", customer_id, "replied")
        if index % 2 == 0:
            service.record_response("老客户电话回访", customer_id, "bought", amount=str(800 + 300 * index))
    service.add_cost("老客户电话回访", "1200", "外呼坐席 outbound agents", channel="phone")
    service.add_cost("老客户电话回访", "300", "回馈礼包 gifts")
    return (f"2 segments, 1 phone campaign (audience {launched['audience']}, control {launched['control']}, "
            f"{min(len(listed), 6)} responders) — try: crm campaigns stats 老客户电话回访")
