"""The plugin's tables. A partner is a core customer (an organisation) with
one row in ``partners_partners``; every other table points at the partner by
its customer id, so contacts, activities, audit and search come from the core.
"""

from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, Index, Integer, Numeric, String, Table, Text, UniqueConstraint

from crmcore import Id, Json, Money, UTCDateTime, metadata

#: Percent rates with four decimals: 8.5 means 8.5 %.
Rate = Numeric(7, 4, asdecimal=True)

types = Table(
    "partners_types",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("label", String(60), nullable=False, unique=True),
    Column("position", Integer, nullable=False),
)

grades = Table(
    "partners_grades",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
    Column("weight", Integer, nullable=False),
    # Yearly won revenue a partner needs to hold this grade (scorecard).
    Column("min_revenue", Money, nullable=False),
    # Win rate (percent) a partner needs to hold this grade, if any.
    Column("min_win_rate", Rate),
)

partners = Table(
    "partners_partners",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("type", String(40), ForeignKey("partners_types.code"), nullable=False),
    Column("grade_id", Id, ForeignKey("partners_grades.id"), nullable=True),
    Column("territories", Json, nullable=False),
    Column("industries", Json, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("manager_id", Id, ForeignKey("users.id"), nullable=True, index=True),
    Column("max_open_leads", Integer),
    Column("notes", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

status_history = Table(
    "partners_status_history",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("reason", String(300)),
    Column("actor_id", Id, ForeignKey("users.id")),
    Column("at", UTCDateTime, nullable=False),
)

agreements = Table(
    "partners_agreements",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("starts_on", Date, nullable=False),
    Column("ends_on", Date, nullable=False),
    Column("territories", Json, nullable=False),
    Column("product_lines", Json, nullable=False),
    Column("discount", Rate),
    Column("commission_kind", String(10), nullable=False),  # percent | tiered
    Column("commission_rate", Rate),
    Column("commission_tiers", Json, nullable=False),  # [[threshold, rate], ...] as text
    Column("tiers_apply", String(10), nullable=False),  # marginal | whole
    Column("remind_days", Json, nullable=False),
    Column("terminated_on", Date),
    Column("terminate_reason", String(300)),
    Column("renewed_from_id", Id, ForeignKey("partners_agreements.id")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
)

registrations = Table(
    "partners_registrations",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("product", String(100)),
    Column("expected_amount", Money, nullable=False),
    Column("expected_close", Date, nullable=False),
    # pending, approved, rejected, won, lost, expired, reversed
    Column("status", String(20), nullable=False),
    Column("conflicts", Json, nullable=False),
    Column("protected_until", Date, nullable=False),
    Column("decision_reason", String(300)),
    Column("decided_at", UTCDateTime),
    Column("decided_by", Id, ForeignKey("users.id")),
    Column("won_amount", Money),
    Column("closed_on", Date),
    Column("close_reason", String(300)),
    Column("notes", Text),
    Column("last_progress_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", Id, ForeignKey("users.id")),
    Index("ix_partners_registrations_status_protected", "status", "protected_until"),
)

assignments = Table(
    "partners_assignments",
    metadata,
    Column("id", Id, primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("partner_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("method", String(10), nullable=False),  # auto | manual
    Column("score", Numeric(12, 4)),
    # offered, accepted, declined, expired, withdrawn
    Column("status", String(20), nullable=False),
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("deadline_at", UTCDateTime, nullable=False),
    Column("responded_at", UTCDateTime),
    Column("reason", String(300)),
    Column("previous_id", Id, ForeignKey("partners_assignments.id")),
    Column("assigned_by", Id, ForeignKey("users.id")),
    Index("ix_partners_assignments_status_deadline", "status", "deadline_at"),
)

commissions = Table(
    "partners_commissions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("partner_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("registration_id", Id, ForeignKey("partners_registrations.id"), nullable=False, index=True),
    Column("agreement_id", Id, ForeignKey("partners_agreements.id"), nullable=False),
    Column("period", String(10), nullable=False, index=True),
    Column("kind", String(10), nullable=False),  # commission | reversal
    Column("base_amount", Money, nullable=False),
    Column("amount", Money, nullable=False),
    Column("detail", Json, nullable=False),
    Column("reverses_id", Id, ForeignKey("partners_commissions.id")),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("registration_id", "kind"),
)

settings = Table(
    "partners_settings",
    metadata,
    Column("key", String(60), primary_key=True),
    Column("value", Json, nullable=False),
)
