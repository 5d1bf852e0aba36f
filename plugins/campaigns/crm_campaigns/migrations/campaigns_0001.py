"""campaigns: segments, campaigns, steps, templates, audience, messages,
responses, costs, opt-outs, blacklist, leads

Revision ID: campaigns_0001
"""
import sqlalchemy as sa
from alembic import op

from crmcore import Id, Json, Money, UTCDateTime

revision = "campaigns_0001"
down_revision = None
branch_labels = ("campaigns",)
depends_on = "core_0001"


def _fk(table, column, referred, referred_column="id"):
    return sa.ForeignKeyConstraint([column], [f"{referred}.{referred_column}"], name=f"fk_{table}_{column}_{referred}")


def upgrade() -> None:
    t = "campaigns_segments"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text()),
        sa.Column("criteria", Json, nullable=False),
        sa.Column("created_by", Id),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("name", name=f"uq_{t}_name"),
        _fk(t, "created_by", "users"),
    )
    t = "campaigns_campaigns"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("goal", sa.Text()),
        sa.Column("starts_on", sa.Date()),
        sa.Column("ends_on", sa.Date()),
        sa.Column("channels", Json, nullable=False),
        sa.Column("budget", Money),
        sa.Column("owner_id", Id),
        sa.Column("segment_id", Id),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("control_pct", sa.Integer(), nullable=False),
        sa.Column("throttle", sa.Integer()),
        sa.Column("attribution_days", sa.Integer(), nullable=False),
        sa.Column("approved_by", Id),
        sa.Column("approved_at", UTCDateTime),
        sa.Column("launched_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("name", name=f"uq_{t}_name"),
        _fk(t, "owner_id", "users"),
        _fk(t, "segment_id", "campaigns_segments"),
        _fk(t, "approved_by", "users"),
    )
    t = "campaigns_steps"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("delay_days", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(20), nullable=False),
        sa.Column("ab_pct", sa.Integer(), nullable=False),
        sa.Column("ab_wait_hours", sa.Integer(), nullable=False),
        sa.Column("ab_sample_size", sa.Integer()),
        sa.Column("winner", sa.String(20)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime),
        sa.Column("finished_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("campaign_id", "number", name=f"uq_{t}_campaign_id_number"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
    )
    t = "campaigns_templates"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("step_id", Id, nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("variant", sa.String(10), nullable=False),
        sa.Column("subject", sa.String(300)),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("step_id", "language", "variant", name=f"uq_{t}_step_id_language_variant"),
        _fk(t, "step_id", "campaigns_steps"),
    )
    t = "campaigns_audience"
    op.create_table(
        t,
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("grp", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id", name=f"pk_{t}"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
        _fk(t, "customer_id", "customers"),
    )
    op.create_index(f"ix_{t}_customer_id", t, ["customer_id"])
    t = "campaigns_messages"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("step_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("variant", sa.String(10)),
        sa.Column("language", sa.String(10)),
        sa.Column("recipient", sa.String(300)),
        sa.Column("subject", sa.String(300)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(60)),
        sa.Column("outbox_id", Id),
        sa.Column("dedupe_key", sa.String(120), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("queued_at", UTCDateTime, nullable=False),
        sa.Column("delivered_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("dedupe_key", name=f"uq_{t}_dedupe_key"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
        _fk(t, "step_id", "campaigns_steps"),
        _fk(t, "customer_id", "customers"),
        _fk(t, "outbox_id", "outbox"),
    )
    op.create_index(f"ix_{t}_customer_id", t, ["customer_id"])
    op.create_index(f"ix_{t}_outbox_id", t, ["outbox_id"])
    op.create_index("ix_campaigns_messages_step_customer", t, ["step_id", "customer_id"])
    op.create_index("ix_campaigns_messages_campaign_customer", t, ["campaign_id", "customer_id"])
    t = "campaigns_responses"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("message_id", Id),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20)),
        sa.Column("amount", Money),
        sa.Column("activity_id", Id),
        sa.Column("occurred_at", UTCDateTime, nullable=False),
        sa.Column("recorded_at", UTCDateTime, nullable=False),
        sa.Column("recorded_by", Id),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("activity_id", name=f"uq_{t}_activity_id"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
        _fk(t, "customer_id", "customers"),
        _fk(t, "message_id", "campaigns_messages"),
        _fk(t, "activity_id", "activities"),
        _fk(t, "recorded_by", "users"),
    )
    op.create_index(f"ix_{t}_customer_id", t, ["customer_id"])
    op.create_index("ix_campaigns_responses_campaign_customer", t, ["campaign_id", "customer_id"])
    t = "campaigns_costs"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20)),
        sa.Column("amount", Money, nullable=False),
        sa.Column("incurred_on", sa.Date(), nullable=False),
        sa.Column("created_by", Id),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
        _fk(t, "created_by", "users"),
    )
    op.create_index(f"ix_{t}_campaign_id", t, ["campaign_id"])
    t = "campaigns_optouts"
    op.create_table(
        t,
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "channel", name=f"pk_{t}"),
        _fk(t, "customer_id", "customers"),
    )
    t = "campaigns_blacklist"
    op.create_table(
        t,
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("reason", sa.String(200)),
        sa.Column("created_by", Id),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=f"pk_{t}"),
        _fk(t, "customer_id", "customers"),
        _fk(t, "created_by", "users"),
    )
    t = "campaigns_leads"
    op.create_table(
        t,
        sa.Column("id", Id, nullable=False),
        sa.Column("campaign_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("owner_id", Id),
        sa.Column("created_by", Id),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{t}"),
        sa.UniqueConstraint("campaign_id", "customer_id", name=f"uq_{t}_campaign_id_customer_id"),
        _fk(t, "campaign_id", "campaigns_campaigns"),
        _fk(t, "customer_id", "customers"),
        _fk(t, "owner_id", "users"),
        _fk(t, "created_by", "users"),
    )
    op.create_index(f"ix_{t}_customer_id", t, ["customer_id"])


def downgrade() -> None:
    for table in ("campaigns_leads", "campaigns_blacklist", "campaigns_optouts", "campaigns_costs", "campaigns_responses",
                  "campaigns_messages", "campaigns_audience", "campaigns_templates", "campaigns_steps",
                  "campaigns_campaigns", "campaigns_segments"):
        op.drop_table(table)
