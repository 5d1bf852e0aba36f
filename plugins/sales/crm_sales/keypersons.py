"""Key persons (关键人物) and the relationship map of a customer or deal.

The data is the core's: each contact's role in the buying decision
(``decision_role``), its relationship with us (``relationship``) and the
member of staff holding it (``staff_id``). An opportunity's map shows the
contacts marked as its key persons, or all the customer's contacts when none
are marked.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcore import UnitOfWork

DECISION_ROLES = {
    "decision_maker": "决策者", "buyer": "采购者", "influencer": "影响者", "user": "使用者", "gatekeeper": "把关者",
}
RELATIONSHIPS = {"positive": "积极", "neutral": "中立", "negative": "消极", "none": "尚未建立关系"}
ROLE_ORDER = ["decision_maker", "buyer", "influencer", "user", "gatekeeper", None]
COLOURS = {"positive": "#3fa66a", "neutral": "#e8a33d", "negative": "#d9534f", "none": "#9aa0a6"}


class KeyPersonService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def relationship_map(self, customer_id: int | None = None, *, opportunity_id: int | None = None) -> dict[str, Any]:
        sales = self.uow.service("sales")
        opportunity = None
        if opportunity_id is not None:
            opportunity = sales.opportunities.get(opportunity_id)
            customer_id = opportunity.customer_id
        customer = self.uow.customers.get(customer_id)
        people = self.uow.contacts.list(customer.id)
        marked = set(sales.opportunities.key_contact_ids(opportunity.id)) if opportunity else set()
        if marked:
            people = [p for p in people if p.id in marked]
        staff_names: dict[int, str] = {}
        persons = []
        for contact in sorted(people, key=lambda c: (ROLE_ORDER.index(c.decision_role) if c.decision_role in ROLE_ORDER else 5, c.id)):
            staff = None
            if contact.staff_id is not None:
                if contact.staff_id not in staff_names:
                    user = self.uow.users.find(contact.staff_id)
                    staff_names[contact.staff_id] = (user.display_name or user.username) if user else str(contact.staff_id)
                staff = staff_names[contact.staff_id]
            persons.append({
                "contact_id": contact.id, "name": contact.name, "title": contact.title,
                "decision_role": contact.decision_role, "decision_role_label": DECISION_ROLES.get(contact.decision_role or "", "未知"),
                "relationship": contact.relationship, "relationship_label": RELATIONSHIPS.get(contact.relationship, contact.relationship),
                "staff_id": contact.staff_id, "staff": staff,
            })
        summary = {code: sum(1 for p in persons if p["relationship"] == code) for code in RELATIONSHIPS}
        return {
            "customer_id": customer.id, "customer": customer.name, "kind": customer.kind,
            "opportunity_id": opportunity.id if opportunity else None, "opportunity": opportunity.name if opportunity else None,
            "key_persons": persons, "relationships": summary, "warnings": warnings(persons, customer.kind),
        }


def warnings(persons: list[dict[str, Any]], kind: str) -> list[str]:
    """What a sales manager would point at in an account review."""
    found = []
    if kind != "organization":
        found.append("客户是个人，关键人物图适用于企业客户 (the customer is a person; key-person maps are for organisations)")
    if not persons:
        found.append("没有联系人 (no contacts recorded)")
        return found
    makers = [p for p in persons if p["decision_role"] == "decision_maker"]
    if not makers:
        found.append("未识别决策者 (no decision maker identified)")
    for p in makers:
        if p["relationship"] in ("negative", "none"):
            found.append(f"决策者 {p['name']} 关系{p['relationship_label']} (decision maker relationship is {p['relationship']})")
    for p in persons:
        if p["staff_id"] is None:
            found.append(f"{p['name']} 无我方对接人 (nobody on our side holds this relationship)")
    return found


def map_svg(data: dict[str, Any], width: int = 900) -> str:
    """The relationship map as SVG: the customer on top, key persons in the
    middle coloured by relationship, our staff below, lines from each person
    to the staff member holding the relationship."""
    font = "font-family='PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif'"
    persons = data["key_persons"]
    staff = []
    for p in persons:
        if p["staff"] and p["staff"] not in staff:
            staff.append(p["staff"])
    box_w, box_h = 150, 64
    n = max(len(persons), 1)
    width = max(width, n * (box_w + 20) + 40)
    height = 430
    title = data["customer"] + (f" · {data['opportunity']}" if data.get("opportunity") else "")
    body = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' {font}>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{width / 2}' y='28' text-anchor='middle' font-size='18' font-weight='bold'>{escape(title)} 关键人物关系图</text>",
    ]
    cx, cy = width / 2, 70
    body.append(f"<rect x='{cx - 130}' y='{cy - 20}' width='260' height='40' rx='6' fill='#2f6fdf'/>")
    body.append(f"<text x='{cx}' y='{cy + 5}' text-anchor='middle' font-size='14' fill='white'>{escape(data['customer'])}</text>")

    def column(count: int, index: int, w: int) -> float:
        gap = (width - count * w) / (count + 1)
        return gap + index * (w + gap)

    person_y, staff_y = 160, 330
    staff_x = {name: column(len(staff), i, 130) + 65 for i, name in enumerate(staff)}
    for i, p in enumerate(persons):
        x = column(len(persons), i, box_w)
        colour = COLOURS.get(p["relationship"], "#9aa0a6")
        body.append(f"<line x1='{cx}' y1='{cy + 20}' x2='{x + box_w / 2}' y2='{person_y}' stroke='#c8ccd2'/>")
        if p["staff"]:
            dash = " stroke-dasharray='6 4'" if p["relationship"] == "none" else ""
            body.append(f"<line x1='{x + box_w / 2}' y1='{person_y + box_h}' x2='{staff_x[p['staff']]}' y2='{staff_y}' "
                        f"stroke='{colour}' stroke-width='3'{dash}/>")
        body.append(f"<rect x='{x}' y='{person_y}' width='{box_w}' height='{box_h}' rx='6' fill='white' stroke='{colour}' stroke-width='3'/>")
        body.append(f"<text x='{x + box_w / 2}' y='{person_y + 20}' text-anchor='middle' font-size='14' font-weight='bold'>{escape(p['name'])}</text>")
        body.append(f"<text x='{x + box_w / 2}' y='{person_y + 38}' text-anchor='middle' font-size='11'>{escape(p['title'] or '')} · {escape(p['decision_role_label'])}</text>")
        body.append(f"<text x='{x + box_w / 2}' y='{person_y + 55}' text-anchor='middle' font-size='11' fill='{colour}'>{escape(p['relationship_label'])}</text>")
    for name, x in staff_x.items():
        body.append(f"<rect x='{x - 65}' y='{staff_y}' width='130' height='36' rx='18' fill='#eef3fc' stroke='#2f6fdf'/>")
        body.append(f"<text x='{x}' y='{staff_y + 23}' text-anchor='middle' font-size='13'>我方 {escape(name)}</text>")
    legend_y = height - 20
    for i, (code, label) in enumerate(RELATIONSHIPS.items()):
        x = 20 + i * 150
        body.append(f"<rect x='{x}' y='{legend_y - 10}' width='14' height='10' fill='{COLOURS[code]}'/>")
        body.append(f"<text x='{x + 20}' y='{legend_y}' font-size='12'>{label} {code}</text>")
    body.append("</svg>")
    return "\n".join(body)
