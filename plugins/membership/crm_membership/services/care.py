"""Member care (会员关怀): messages rendered per member from jinja2 templates
and put into the core's outbox, never twice for the same member, template
and occasion (the outbox ``dedupe_key``)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from crmcore import ValidationError

from crm_membership.common import local_today, one_of, parse_day
from crm_membership.tables import event_members, members

if TYPE_CHECKING:
    from crm_membership.services import MembershipService

TEMPLATES = ("birthday", "holiday", "tier_upgrade", "points_expiring", "event_invitation")
LANGUAGES = ("zh", "en")
CHANNELS = ("sms", "email")

#: The consent purpose of each template (docs/privacy.md). Greetings,
#: invitations and the congratulation on an upgrade promote the club:
#: marketing, sent only with the member's marketing consent for the channel.
#: Points about to expire are value the member holds and loses: a notice on
#: their own account that they must receive, as a statement would be (service).
PURPOSES = {
    "birthday": "marketing",
    "holiday": "marketing",
    "tier_upgrade": "marketing",
    "points_expiring": "service",
    "event_invitation": "marketing",
}


class Care:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    def render(self, template: str, lang: str, **context: Any) -> tuple[str, str]:
        """(subject, body): the template's first line is the subject."""
        one_of(template, "template", TEMPLATES)
        one_of(lang, "lang", LANGUAGES)
        text = self.uow.crm.templates.get_template(f"membership/care/{template}.{lang}.txt").render(**context)
        subject, _, body = text.strip().partition("\n")
        return subject.strip(), body.strip()

    def preview(self, template: str, number: str, *, lang: str = "zh", occasion: str = "节日") -> tuple[str, str]:
        """(subject, body) of ``template`` for one member, not sent."""
        member = self.service.members.view(self.service.members.by_card(number)["id"])
        customer = self.uow.customers.get(member["customer_id"])
        return self.render(template, lang, customer=customer, member=member, occasion=occasion, new_tier=member["tier"], old_tier="",
                           expiring_points=0, expires_on="", event={"name": "", "held_on": ""})

    def send(self, template: str, *, lang: str = "zh", channel: str = "sms", occasion: str | None = None, cards: list[str] | None = None,
             tier: str | None = None, on: Any = None, days: int = 30, event_id: int | None = None) -> dict[str, Any]:
        """Render ``template`` for each selected member and queue it:

        * birthday — members whose birthday is ``on`` (default today); occasion: the year;
        * holiday — every active member (or ``tier``/``cards``); ``occasion`` required (e.g. 2026-春节);
        * points_expiring — members with reward points expiring within ``days``; occasion: the first expiry date;
        * event_invitation — the invitees of ``event_id``; occasion: the event;
        * tier_upgrade — ``cards`` (queued automatically on every upgrade).
        """
        self.uow.require("membership.care")
        one_of(template, "template", TEMPLATES)
        one_of(channel, "channel", CHANNELS)
        one_of(lang, "lang", LANGUAGES)
        day = parse_day(on, "on", optional=True) or local_today(self.uow)
        extra: dict[int, dict[str, Any]] = {}
        if template == "holiday" and not occasion:
            raise ValidationError.field("occasion", "name the holiday, e.g. --occasion 2026-春节")
        if template == "event_invitation" and event_id is None:
            raise ValidationError.field("event", "required for event_invitation")
        if template == "tier_upgrade" and not cards:
            raise ValidationError.field("card", "tier_upgrade messages go out by themselves on upgrades; name --card to resend")
        ids = self._select(template, cards=cards, tier=tier, day=day, days=days, event_id=event_id, extra=extra)
        counts = {"template": template, "channel": channel, "selected": len(ids), "queued": 0, "already_sent": 0, "no_address": 0,
                  "do_not_contact": 0, "no_consent": 0}
        event = self.service.events.get(event_id) if event_id is not None else None
        for member_id in ids:
            member = self.service.members.view(member_id)
            context = {"occasion": occasion, "event": event, **extra.get(member_id, {})}
            if template == "tier_upgrade":
                context.update(old_tier=None, new_tier=member["tier"], multiplier=self.service.tiers.get(member["tier"])["multiplier"])
            key_occasion = occasion or {
                "birthday": str(day.year), "points_expiring": str(context.get("expires_on")),
                "event_invitation": f"event-{event_id}", "tier_upgrade": f"{member['tier']}",
            }.get(template)
            outcome = self._queue(member, template, key_occasion, lang=lang, channel=channel, context=context)
            counts[outcome] += 1
        self.uow.audit.record("membership_care", template, "send", counts)
        return counts

    def _select(self, template: str, *, cards: list[str] | None, tier: str | None, day: date, days: int, event_id: int | None,
                extra: dict[int, dict[str, Any]]) -> list[int]:
        from crmcore.tables import customers

        scope = self.uow.customers.scope(select(customers.c.id))
        if cards:
            return [self.service.members.by_card(number)["id"] for number in cards]
        query = select(members.c.id).where(members.c.status == "active", members.c.customer_id.in_(scope))
        if tier:
            query = query.where(members.c.tier_id == self.service.tiers.get(tier)["id"])
        if template == "birthday":
            rows = self.uow.execute(select(members.c.id, customers.c.birthday).join(customers, customers.c.id == members.c.customer_id)
                                    .where(members.c.id.in_(query))).all()
            return [m for m, birthday in rows if birthday and (birthday.month, birthday.day) == (day.month, day.day)]
        if template == "points_expiring":
            candidates = set(self.uow.execute(query).scalars())
            found = []
            for member_id, (points, first) in sorted(self.service.points.expiring(days, day).items()):
                if member_id in candidates:
                    extra[member_id] = {"expiring_points": points, "expires_on": first}
                    found.append(member_id)
            return found
        if template == "event_invitation":
            self.service.events.get(event_id)
            query = query.where(members.c.id.in_(select(event_members.c.member_id).where(
                event_members.c.event_id == event_id, event_members.c.invited_at.isnot(None))))
        return list(self.uow.execute(query.order_by(members.c.id)).scalars())

    def _queue(self, member: dict[str, Any], template: str, occasion: str, *, lang: str, channel: str, context: dict[str, Any]) -> str:
        customer = self.uow.customers.get(member["customer_id"])
        if customer.do_not_contact:
            return "do_not_contact"
        recipient = (customer.emails or [None])[0] if channel == "email" else (customer.phones or [None])[0]
        if not recipient:
            return "no_address"
        purpose = PURPOSES[template]
        if not self.uow.consents.allows(customer.id, purpose, channel):
            return "no_consent"
        subject, body = self.render(template, lang, customer=customer, member=member, **context)
        message = self.uow.outbox.put(
            channel, recipient, subject, body, customer_id=customer.id, purpose=purpose, dedupe_key=f"membership:{member['id']}:{template}:{occasion}",
            payload={"plugin": "membership", "template": template, "occasion": occasion, "lang": lang, "card_number": member["card_number"], "purpose": purpose},
        )
        return "queued" if message is not None else "already_sent"

    def tier_upgraded(self, member: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> str:
        """Queue the tier_upgrade message (automatic on every upgrade)."""
        view = self.service.members.view(member["id"])
        channel = self.service.settings.get("care_channel")
        return self._queue(view, "tier_upgrade", f"{after['name']}:{local_today(self.uow)}", lang="zh", channel=channel,
                           context={"old_tier": before["name"], "new_tier": after["name"], "multiplier": after["multiplier"]})
