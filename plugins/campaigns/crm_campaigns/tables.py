"""The campaigns plugin's tables, all prefixed ``campaigns_``."""

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from crmcore import Id, Json, Money, UTCDateTime, metadata

segments = Table(
    "campaigns_segments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", Text),
    Column("criteria", Json, nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

campaigns = Table(
    "campaigns_campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("goal", Text),
    Column("starts_on", Date),
    Column("ends_on", Date),
    Column("channels", Json, nullable=False),
    Column("budget", Money),
    Column("owner_id", Id, ForeignKey("users.id")),
    Column("segment_id", Id, ForeignKey("campaigns_segments.id")),
    Column("status", String(20), nullable=False),
    Column("control_pct", Integer, nullable=False),
    Column("throttle", Integer),
    Column("attribution_days", Integer, nullable=False),
    Column("approved_by", Id, ForeignKey("users.id")),
    Column("approved_at", UTCDateTime),
    Column("launched_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

steps = Table(
    "campaigns_steps",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("delay_days", Integer, nullable=False),
    Column("audience", String(20), nullable=False),
    Column("ab_pct", Integer, nullable=False),
    Column("ab_wait_hours", Integer, nullable=False),
    Column("ab_sample_size", Integer),
    Column("winner", String(20)),
    Column("status", String(20), nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    UniqueConstraint("campaign_id", "number"),
)

templates = Table(
    "campaigns_templates",
    metadata,
    Column("id", Id, primary_key=True),
    Column("step_id", Id, ForeignKey("campaigns_steps.id"), nullable=False),
    Column("language", String(10), nullable=False),
    Column("variant", String(10), nullable=False),
    Column("subject", String(300)),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("step_id", "language", "variant"),
)

audience = Table(
    "campaigns_audience",
    metadata,
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True, index=True),
    Column("grp", String(10), nullable=False),
)

messages = Table(
    "campaigns_messages",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), nullable=False),
    Column("step_id", Id, ForeignKey("campaigns_steps.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("variant", String(10)),
    Column("language", String(10)),
    Column("recipient", String(300)),
    Column("subject", String(300)),
    Column("status", String(20), nullable=False),
    Column("reason", String(60)),
    Column("outbox_id", Id, ForeignKey("outbox.id"), index=True),
    Column("dedupe_key", String(120), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False),
    Column("error", Text),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index("ix_campaigns_messages_step_customer", "step_id", "customer_id"),
    Index("ix_campaigns_messages_campaign_customer", "campaign_id", "customer_id"),
)

responses = Table(
    "campaigns_responses",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("message_id", Id, ForeignKey("campaigns_messages.id")),
    Column("type", String(20), nullable=False),
    Column("channel", String(20)),
    Column("amount", Money),
    Column("activity_id", Id, ForeignKey("activities.id"), unique=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", Id, ForeignKey("users.id")),
    Column("note", Text),
    Index("ix_campaigns_responses_campaign_customer", "campaign_id", "customer_id"),
)

costs = Table(
    "campaigns_costs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), nullable=False, index=True),
    Column("description", String(200), nullable=False),
    Column("channel", String(20)),
    Column("amount", Money, nullable=False),
    Column("incurred_on", Date, nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
)

optouts = Table(
    "campaigns_optouts",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("reason", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
)

blacklist = Table(
    "campaigns_blacklist",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("reason", String(200)),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
)

leads = Table(
    "campaigns_leads",
    metadata,
    Column("id", Id, primary_key=True),
    Column("campaign_id", Id, ForeignKey("campaigns_campaigns.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("owner_id", Id, ForeignKey("users.id")),
    Column("created_by", Id, ForeignKey("users.id")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("campaign_id", "customer_id"),
)
