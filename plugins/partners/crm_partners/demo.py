"""Demo data for ``crm demo``: a small channel programme."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def make_demo(uow: Any, customers: list[Any]) -> str | None:
    service = uow.service("partners")
    organisations = [c for c in customers if c.kind == "organization"]
    people = [c for c in customers if c.kind == "person"]
    if len(organisations) < 3 or len(people) < 10:
        return None
    manager = uow.users.find("carol")
    manager_name = manager.username if manager else None
    today = service.today()
    plan = [
        (organisations[0], "reseller", "金牌", ["上海", "华东"], "active"),
        (organisations[1], "distributor", "银牌", ["浙江", "江苏"], "active"),
        (organisations[2], "agent", "铜牌", ["北京", "华北"], "active"),
    ]
    if len(organisations) > 3:
        plan.append((organisations[3], "service_provider", None, ["广东"], "onboarding"))
    made = []
    for customer, kind, grade, territory, status in plan:
        made.append(service.add(customer.id, type=kind, grade=grade, territories=territory, manager=manager_name, status=status,
                                reason="demo"))
    gold, silver, bronze = made[0]["id"], made[1]["id"], made[2]["id"]
    year_start = today.replace(month=1, day=1)
    service.add_agreement(gold, starts_on=year_start, ends_on=year_start.replace(year=today.year + 1) - timedelta(days=1),
                          commission="8%", discount="15%")
    service.add_agreement(silver, starts_on=year_start, ends_on=today + timedelta(days=25),
                          commission="0:5%,500000:8%,1000000:10%")
    service.add_agreement(bronze, starts_on=today - timedelta(days=200), ends_on=today + timedelta(days=165), commission="6%")
    quarter_start = today.replace(month=3 * ((today.month - 1) // 3) + 1, day=1)
    # Deals: won, lost, open, and one conflicting registration.
    end_customers = people[1:9]
    registrations = []
    for index, (partner_id, customer) in enumerate(zip([gold, gold, silver, silver, bronze, gold], end_customers)):
        reg = service.register(partner_id, customer.id, amount=str(120000 + 60000 * index),
                               close=max(quarter_start, today - timedelta(days=10 - index)), product="CRM 专业版")
        if reg["status"] == "pending":
            service.approve(reg["id"], "demo: approved after review", override=True)
        registrations.append(reg)
    service.won(registrations[0]["id"], "180000")
    service.won(registrations[2]["id"], "260000")
    service.won(registrations[3]["id"], "420000")
    service.lost(registrations[4]["id"], "价格原因")
    clash = service.register(bronze, end_customers[0].id, amount="90000", close=today + timedelta(days=30), product="CRM 标准版")
    service.compute_commissions(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
    leads = [c for c in people if c.status == "potential" and c.id not in {e.id for e in end_customers}][:3]
    offers = 0
    for lead in leads:
        try:
            service.assign(lead.id, auto=True)
            offers += 1
        except Exception:  # a lead no partner covers stays unassigned
            continue
    return (f"partners: {len(made)} partners, 3 agreements, {len(registrations) + 1} deal registrations "
            f"(registration {clash['id']} {clash['status']}), {offers} lead offers — try: crm partners performance; "
            f"crm --json partners scorecard {gold}")
