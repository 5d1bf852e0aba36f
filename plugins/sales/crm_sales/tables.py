"""The sales plugin's tables, on the core's metadata, all prefixed ``sales_``.

Created by the plugin's own Alembic branch (``crm_sales/migrations``); keep
the two in step.
"""

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from crmcore import Id, Json, Money, UTCDateTime, metadata

#: The pipeline: configurable stages with a default win probability.
#: ``outcome`` is "open", "won" or "lost".
stages = Table(
    "sales_stages",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("label", String(60), nullable=False),
    Column("label_en", String(60)),
    Column("probability", Integer, nullable=False),
    Column("position", Integer, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

opportunities = Table(
    "sales_opportunities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("amount", Money, nullable=False),
    Column("stage", String(40), ForeignKey("sales_stages.code"), nullable=False),
    Column("probability", Integer, nullable=False),
    Column("expected_close", Date),
    Column("owner_id", Id, ForeignKey("users.id"), index=True),
    Column("source", String(120), nullable=False),
    Column("source_ref", String(120)),
    Column("competitors", Json, nullable=False),
    Column("lost_reason", Text),
    Column("notes", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("stage_changed_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Index("ix_sales_opportunities_stage_close", "stage", "expected_close"),
    UniqueConstraint("source_ref"),
)

#: Every stage change, with time and actor.
stage_changes = Table(
    "sales_stage_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("opportunity_id", Id, ForeignKey("sales_opportunities.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("from_stage", String(40)),
    Column("to_stage", String(40), nullable=False),
    Column("probability", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Id),
    Column("actor", String(60), nullable=False),
    Column("note", Text),
)

#: Key persons of one opportunity (contacts of its customer).
opportunity_contacts = Table(
    "sales_opportunity_contacts",
    metadata,
    Column("opportunity_id", Id, ForeignKey("sales_opportunities.id", ondelete="CASCADE",
                                            name="fk_sales_opportunity_contacts_opportunity_id"), primary_key=True),
    Column("contact_id", Id, ForeignKey("contacts.id"), primary_key=True),
)

#: Monthly visit plans: one row per planned visit.
visit_plans = Table(
    "sales_visit_plans",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("purpose", String(300), nullable=False),
    Column("planned_date", Date, nullable=False),
    Column("opportunity_id", Id, ForeignKey("sales_opportunities.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_sales_visit_plans_user_month", "user_id", "month"),
)

quotes = Table(
    "sales_quotes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("opportunity_id", Id, ForeignKey("sales_opportunities.id"), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("valid_until", Date, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("subtotal", Money, nullable=False),
    Column("discount_total", Money, nullable=False),
    Column("total", Money, nullable=False),
    Column("notes", Text),
    Column("decision_note", Text),
    Column("created_by", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("decided_at", UTCDateTime),
    UniqueConstraint("number", "version"),
)

quote_lines = Table(
    "sales_quote_lines",
    metadata,
    Column("id", Id, primary_key=True),
    Column("quote_id", Id, ForeignKey("sales_quotes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("position", Integer, nullable=False),
    Column("product", String(200), nullable=False),
    Column("quantity", Numeric(14, 3, asdecimal=True), nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("discount", Numeric(5, 2, asdecimal=True), nullable=False),
    Column("amount", Money, nullable=False),
    CheckConstraint("discount >= 0 AND discount <= 100", name="discount_range"),
)

#: Which stale opportunities were reported to which manager in which period,
#: so ``crm sales stale`` reports each at most once per period.
stale_notices = Table(
    "sales_stale_notices",
    metadata,
    Column("period", String(10), primary_key=True),
    Column("opportunity_id", Id, ForeignKey("sales_opportunities.id", ondelete="CASCADE"), primary_key=True),
    Column("manager_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("outbox_id", Id),
    Column("created_at", UTCDateTime, nullable=False),
)
