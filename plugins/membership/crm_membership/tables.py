"""The membership plugin's tables, all prefixed ``membership_``.

The points ledger (``membership_ledger``) is append-only: entries are never
updated or deleted; a correction is a new entry (``reversal_of`` names the
entry it undoes, ``lot_id`` the earning a targeted debit draws from).
``membership_balances`` holds each member's two balances, changed in the same
transaction as every entry and guarded by CHECK constraints so that no
interleaving of transactions can take a balance below zero.
"""

from __future__ import annotations

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
    text,
)

from crmcore import Id, Json, Money, UTCDateTime, metadata

settings = Table(
    "membership_settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Json, nullable=False),
)

sequences = Table(
    "membership_sequences",
    metadata,
    Column("name", String(60), primary_key=True),
    Column("value", Integer, nullable=False),
)

tiers = Table(
    "membership_tiers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("level", Integer, nullable=False, unique=True),
    Column("multiplier", Numeric(6, 3), nullable=False),
    Column("upgrade_points", Integer, nullable=False),
    Column("manual_only", Boolean, nullable=False),
    Column("benefits", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

plans = Table(
    "membership_plans",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(60), nullable=False, unique=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("yuan_per_point", Numeric(12, 4), nullable=False),
    Column("validity_months", Integer),
    Column("carry_min_points", Integer, nullable=False),
    Column("carry_to", String(20), nullable=False),
    Column("carried_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("ends_on >= starts_on", name="period"),
)

rules = Table(
    "membership_rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("plan_id", Id, ForeignKey("membership_plans.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(30), nullable=False),
    Column("reward_rate", Numeric(12, 4), nullable=False),
    Column("upgrade_rate", Numeric(12, 4), nullable=False),
    Column("reward_points", Integer, nullable=False),
    Column("upgrade_points", Integer, nullable=False),
    Column("use_multiplier", Boolean, nullable=False),
    UniqueConstraint("plan_id", "source"),
)

members = Table(
    "membership_members",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("card_number", String(40), unique=True),
    Column("tier_id", Id, ForeignKey("membership_tiers.id"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("tier_locked_until", Date),
    Column("joined_on", Date, nullable=False),
    Column("application_id", Id),
    Column("referrer_member_id", Id, ForeignKey("membership_members.id")),
    Column("merged_into_id", Id, ForeignKey("membership_members.id")),
    Column("cancelled_at", UTCDateTime),
    Column("cancel_reason", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Index(
        "ix_membership_members_active_customer", "customer_id", unique=True,
        sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'"),
    ),
)

applications = Table(
    "membership_applications",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("channel", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("name", String(200)),
    Column("phone", String(40), index=True),
    Column("id_number", String(40), index=True),
    Column("email", String(200)),
    Column("birthday", Date),
    Column("referrer_member_id", Id, ForeignKey("membership_members.id")),
    Column("flags", Json, nullable=False),
    Column("reject_reason", String(300)),
    Column("member_id", Id, ForeignKey("membership_members.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reviewed_at", UTCDateTime),
    Column("reviewed_by", String(60)),
)

cards = Table(
    "membership_cards",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", String(40), nullable=False, unique=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), index=True),
    Column("status", String(20), nullable=False),
    Column("origin", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("assigned_at", UTCDateTime),
    Column("blocked_at", UTCDateTime),
    Column("note", String(300)),
    Index("ix_membership_cards_status_id", "status", "id"),
)

balances = Table(
    "membership_balances",
    metadata,
    Column("member_id", Id, ForeignKey("membership_members.id"), primary_key=True),
    Column("reward", Integer, nullable=False),
    Column("upgrade", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("reward >= 0", name="reward_not_negative"),
    CheckConstraint('"upgrade" >= 0', name="upgrade_not_negative"),
)

ledger = Table(
    "membership_ledger",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("points", Integer, nullable=False),
    Column("source", String(30), nullable=False),
    Column("plan_id", Id, ForeignKey("membership_plans.id")),
    Column("reference", String(100)),
    Column("idempotency_key", String(200), unique=True),
    Column("effective_on", Date, nullable=False),
    Column("expires_on", Date),
    Column("reversal_of", Id, ForeignKey("membership_ledger.id"), unique=True),
    Column("lot_id", Id, ForeignKey("membership_ledger.id")),
    Column("reason", String(300)),
    Column("actor", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("points <> 0", name="points_not_zero"),
    CheckConstraint("kind IN ('reward', 'upgrade')", name="kind"),
    Index("ix_membership_ledger_member_kind", "member_id", "kind", "id"),
    Index("ix_membership_ledger_expiry", "kind", "expires_on"),
    Index("ix_membership_ledger_plan_effective", "plan_id", "effective_on"),
    Index("ix_membership_ledger_lot", "lot_id"),
)

pending = Table(
    "membership_pending",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), nullable=False, index=True),
    Column("activity_id", Id, ForeignKey("activities.id"), nullable=False, unique=True),
    Column("plan_id", Id, ForeignKey("membership_plans.id"), nullable=False),
    Column("amount", Money, nullable=False),
    Column("reward_points", Integer, nullable=False),
    Column("upgrade_points", Integer, nullable=False),
    Column("earned_on", Date, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime),
    Index("ix_membership_pending_status", "status", "id"),
)

awards = Table(
    "membership_awards",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), nullable=False, index=True),
    Column("plan_id", Id, ForeignKey("membership_plans.id"), nullable=False),
    Column("points", Integer, nullable=False),
    Column("value", Money, nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("paid_on", Date),
)

tier_changes = Table(
    "membership_tier_changes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), nullable=False, index=True),
    Column("from_tier_id", Id, ForeignKey("membership_tiers.id")),
    Column("to_tier_id", Id, ForeignKey("membership_tiers.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("actor", String(60), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

redemption_campaigns = Table(
    "membership_redemption_campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("max_per_member", Integer),
    Column("min_tier_level", Integer),
    Column("notes", Text),
    Column("created_at", UTCDateTime, nullable=False),
)

rewards = Table(
    "membership_rewards",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("campaign_id", Id, ForeignKey("membership_redemption_campaigns.id")),
    Column("kind", String(20), nullable=False),
    Column("points", Integer, nullable=False),
    Column("cash_value", Money),
    Column("stock", Integer),
    Column("valid_from", Date),
    Column("valid_to", Date),
    Column("min_tier_level", Integer),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
    CheckConstraint("points > 0", name="points_positive"),
)

redemptions = Table(
    "membership_redemptions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), nullable=False, index=True),
    Column("reward_id", Id, ForeignKey("membership_rewards.id"), nullable=False, index=True),
    Column("quantity", Integer, nullable=False),
    Column("points", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("entry_id", Id, ForeignKey("membership_ledger.id"), nullable=False),
    Column("refund_entry_id", Id, ForeignKey("membership_ledger.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("cancelled_at", UTCDateTime),
    Column("reason", String(300)),
)

events = Table(
    "membership_events",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("location", String(200)),
    Column("reward_points", Integer, nullable=False),
    Column("upgrade_points", Integer, nullable=False),
    Column("capacity", Integer),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

event_members = Table(
    "membership_event_members",
    metadata,
    Column("event_id", Id, ForeignKey("membership_events.id"), primary_key=True),
    Column("member_id", Id, ForeignKey("membership_members.id"), primary_key=True, index=True),
    Column("invited_at", UTCDateTime),
    Column("registered_at", UTCDateTime),
    Column("attended_at", UTCDateTime),
)

merchants = Table(
    "membership_merchants",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("category", String(60)),
    Column("address", String(300)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status_changed_at", UTCDateTime, nullable=False),
)

merchant_offers = Table(
    "membership_merchant_offers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("merchant_id", Id, ForeignKey("membership_merchants.id"), nullable=False, index=True),
    Column("min_tier_id", Id, ForeignKey("membership_tiers.id")),
    Column("description", String(300), nullable=False),
    Column("valid_to", Date),
    Column("created_at", UTCDateTime, nullable=False),
)

merchant_contacts = Table(
    "membership_merchant_contacts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("merchant_id", Id, ForeignKey("membership_merchants.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("title", String(100)),
    Column("phone", String(40)),
    Column("email", String(200)),
)

merchant_notes = Table(
    "membership_merchant_notes",
    metadata,
    Column("id", Id, primary_key=True),
    Column("merchant_id", Id, ForeignKey("membership_merchants.id"), nullable=False, index=True),
    Column("rating", Integer),
    Column("text", Text, nullable=False),
    Column("author", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("rating IS NULL OR (rating >= 1 AND rating <= 5)", name="rating"),
)

event_merchants = Table(
    "membership_event_merchants",
    metadata,
    Column("event_id", Id, ForeignKey("membership_events.id"), primary_key=True),
    Column("merchant_id", Id, ForeignKey("membership_merchants.id"), primary_key=True, index=True),
    Column("role", String(100)),
)
