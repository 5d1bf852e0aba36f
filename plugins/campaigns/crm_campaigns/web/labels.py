"""English message ids for the plugin's codes (statuses, channels, operators,
segment fields), translated where they are shown: ``_(L.status[code])``."""

from __future__ import annotations

from typing import Any, Callable

from attrs import define

from crmcore import Panel
from crmcore.web.i18n import lazy

STATUS = {"draft": lazy("Draft"), "approved": lazy("Approved"), "running": lazy("Running"),
          "finished": lazy("Finished"), "cancelled": lazy("Cancelled")}
CHANNEL = {"email": lazy("E-mail"), "sms": lazy("SMS"), "phone": lazy("Phone call"),
           "event": lazy("Event invitation"), "mail": lazy("Direct mail"), "all": lazy("All channels")}
RESPONSE = {"opened": lazy("Opened"), "clicked": lazy("Clicked"), "replied": lazy("Replied"),
            "registered": lazy("Registered"), "bought": lazy("Bought")}
AUDIENCE = {"all": lazy("Everyone in the target group"), "non_responders": lazy("Only those who have not responded")}
STEP_STATUS = {"pending": lazy("Pending"), "testing": lazy("A/B testing"), "sending": lazy("Sending"), "done": lazy("Done")}
GROUP = {"target": lazy("Target group"), "control": lazy("Control group")}
MESSAGE_STATUS = {"queued": lazy("Queued"), "sent": lazy("Sent"), "failed": lazy("Failed"), "cancelled": lazy("Withdrawn"),
                  "listed": lazy("On a list"), "suppressed": lazy("Suppressed"), "error": lazy("Template error")}
OPS = {"eq": lazy("equals"), "ne": lazy("is not"), "in": lazy("is one of"), "not_in": lazy("is none of"),
       "contains": lazy("contains"), "gt": lazy("more than"), "gte": lazy("at least"), "lt": lazy("less than"),
       "lte": lazy("at most"), "between": lazy("between"), "exists": lazy("is filled in")}
MATCH = {"all": lazy("all of the criteria"), "any": lazy("any of the criteria")}
#: The customer funnel of a campaign, as ``stats`` counts it.
FUNNEL = (("target", lazy("Target group")), ("messaged", lazy("Messaged")), ("reached", lazy("Reached")),
          ("responded", lazy("Responded")), ("conversions", lazy("Converted")))
#: Segment fields of the core and of this plugin (plugins' and custom fields bring their own labels).
FIELDS = {
    "region": lazy("Region"), "province": lazy("Province"), "city": lazy("City"), "industry": lazy("Industry"),
    "position": lazy("Position"), "source": lazy("Source"), "kind": lazy("Kind (person/organization)"),
    "gender": lazy("Gender (male/female)"), "name": lazy("Name"), "code": lazy("Code"), "level": lazy("Level"),
    "status": lazy("Status"), "stage": lazy("Lifecycle stage"), "tags": lazy("Tags"), "age": lazy("Age (years)"),
    "birthday": lazy("Birthday"), "created": lazy("Created (date, or 30d for 30 days ago)"),
    "owner": lazy("Owner (username)"), "department": lazy("Department (with its sub-departments)"),
    "do_not_contact": lazy("Do not contact (true/false)"), "purchases.count": lazy("Number of purchases"),
    "purchases.sum": lazy("Purchase amount"), "rfm.r": lazy("RFM recency (1-5)"), "rfm.f": lazy("RFM frequency (1-5)"),
    "rfm.m": lazy("RFM monetary (1-5)"), "rfm.score": lazy("RFM score (e.g. 545)"),
    "rfm.segment": lazy("RFM segment (champions, loyal, potential, new, needs_attention, at_risk, hibernating, lost)"),
}
FIELD_SOURCES = {"core": lazy("Customer"), "activities": lazy("Activities"), "rfm": lazy("RFM"),
                 "custom field": lazy("Custom fields")}
#: The sidebar's entries, under one heading.
NAVIGATION = (("/campaigns", lazy("Campaigns")), ("/campaigns/segments", lazy("Segments")))
NAVIGATION_SECTION = lazy("Marketing")
#: Codes left out of the builder's field list: aliases of fields listed already.
ALIASES = ("lifecycle", "lifecycle_stage")


class Labels(dict):
    """The maps above for templates: ``L.status``, ``L.channel`` …"""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


L = Labels(status=STATUS, channel=CHANNEL, response=RESPONSE, audience=AUDIENCE, step_status=STEP_STATUS, group=GROUP,
           message_status=MESSAGE_STATUS, ops=OPS, match=MATCH, funnel=FUNNEL)


@define
class WebPanel(Panel):
    """The customer panel, carrying the labels its web template translates
    codes with (the template sees only ``panel`` and ``customer``)."""

    labels: Labels = L


def field_options(catalogue: list[dict[str, str]], activity_types: dict[str, Any], type_label: Callable[[str], str],
                  _: Callable[..., str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The segment builder's field list, grouped by where the field comes
    from: ``[(group label, [(field, label), …]), …]``; ``activity.<type>.count``
    becomes one entry per activity type."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for row in catalogue:
        name = row["field"]
        if name in ALIASES:
            continue
        source = FIELD_SOURCES.get(row["source"])
        group = groups.setdefault(_(source) if source else row["source"], [])
        if name == "activity.<type>.count":
            group += [(f"activity.{kind}.count", _("Number of activities: %(type)s", type=type_label(kind)))
                      for kind in sorted(activity_types)]
        else:
            group.append((name, _(FIELDS[name]) if name in FIELDS else row["label"]))
    return list(groups.items())
