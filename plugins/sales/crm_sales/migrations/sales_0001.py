"""sales: pipeline stages, opportunities, stage history, visit plans, quotes

Revision ID: sales_0001
"""
from alembic import op
import sqlalchemy as sa

from crmcore import Id, Json, Money, UTCDateTime

revision = "sales_0001"
down_revision = None
branch_labels = ("sales",)
depends_on = "core_0001"

DEFAULT_STAGES = [
    {"code": "qualification", "label": "初步接洽", "label_en": "Qualification", "probability": 10, "position": 1, "outcome": "open", "active": True},
    {"code": "needs_analysis", "label": "需求分析", "label_en": "Needs analysis", "probability": 30, "position": 2, "outcome": "open", "active": True},
    {"code": "proposal", "label": "方案报价", "label_en": "Proposal", "probability": 50, "position": 3, "outcome": "open", "active": True},
    {"code": "negotiation", "label": "商务谈判", "label_en": "Negotiation", "probability": 75, "position": 4, "outcome": "open", "active": True},
    {"code": "won", "label": "赢单", "label_en": "Won", "probability": 100, "position": 5, "outcome": "won", "active": True},
    {"code": "lost", "label": "输单", "label_en": "Lost", "probability": 0, "position": 6, "outcome": "lost", "active": True},
]


def upgrade() -> None:
    stages = op.create_table(
        "sales_stages",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("label_en", sa.String(60)),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_sales_stages"),
    )
    op.bulk_insert(stages, DEFAULT_STAGES)

    op.create_table(
        "sales_opportunities",
        sa.Column("id", Id, nullable=False),
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id", name="fk_sales_opportunities_customer_id_customers"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("stage", sa.String(40), sa.ForeignKey("sales_stages.code", name="fk_sales_opportunities_stage_sales_stages"), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("expected_close", sa.Date()),
        sa.Column("owner_id", Id, sa.ForeignKey("users.id", name="fk_sales_opportunities_owner_id_users")),
        sa.Column("source", sa.String(120), nullable=False),
        sa.Column("source_ref", sa.String(120)),
        sa.Column("competitors", Json, nullable=False),
        sa.Column("lost_reason", sa.Text()),
        sa.Column("notes", sa.Text()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("stage_changed_at", UTCDateTime, nullable=False),
        sa.Column("closed_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_sales_opportunities"),
        sa.UniqueConstraint("source_ref", name="uq_sales_opportunities_source_ref"),
    )
    op.create_index("ix_sales_opportunities_customer_id", "sales_opportunities", ["customer_id"])
    op.create_index("ix_sales_opportunities_owner_id", "sales_opportunities", ["owner_id"])
    op.create_index("ix_sales_opportunities_stage_close", "sales_opportunities", ["stage", "expected_close"])

    op.create_table(
        "sales_stage_changes",
        sa.Column("id", Id, nullable=False),
        sa.Column("opportunity_id", Id, sa.ForeignKey("sales_opportunities.id", name="fk_sales_stage_changes_opportunity_id_sales_opportunities", ondelete="CASCADE"), nullable=False),
        sa.Column("from_stage", sa.String(40)),
        sa.Column("to_stage", sa.String(40), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.Column("actor_id", Id),
        sa.Column("actor", sa.String(60), nullable=False),
        sa.Column("note", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_sales_stage_changes"),
    )
    op.create_index("ix_sales_stage_changes_opportunity_id", "sales_stage_changes", ["opportunity_id"])

    op.create_table(
        "sales_opportunity_contacts",
        sa.Column("opportunity_id", Id, sa.ForeignKey("sales_opportunities.id", name="fk_sales_opportunity_contacts_opportunity_id", ondelete="CASCADE"), nullable=False),
        sa.Column("contact_id", Id, sa.ForeignKey("contacts.id", name="fk_sales_opportunity_contacts_contact_id_contacts"), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", "contact_id", name="pk_sales_opportunity_contacts"),
    )

    op.create_table(
        "sales_visit_plans",
        sa.Column("id", Id, nullable=False),
        sa.Column("user_id", Id, sa.ForeignKey("users.id", name="fk_sales_visit_plans_user_id_users"), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id", name="fk_sales_visit_plans_customer_id_customers"), nullable=False),
        sa.Column("purpose", sa.String(300), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("opportunity_id", Id, sa.ForeignKey("sales_opportunities.id", name="fk_sales_visit_plans_opportunity_id_sales_opportunities", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sales_visit_plans"),
    )
    op.create_index("ix_sales_visit_plans_customer_id", "sales_visit_plans", ["customer_id"])
    op.create_index("ix_sales_visit_plans_user_month", "sales_visit_plans", ["user_id", "month"])

    op.create_table(
        "sales_quotes",
        sa.Column("id", Id, nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", Id, sa.ForeignKey("sales_opportunities.id", name="fk_sales_quotes_opportunity_id_sales_opportunities"), nullable=False),
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id", name="fk_sales_quotes_customer_id_customers"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subtotal", Money, nullable=False),
        sa.Column("discount_total", Money, nullable=False),
        sa.Column("total", Money, nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("decision_note", sa.Text()),
        sa.Column("created_by", sa.String(60), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("decided_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_sales_quotes"),
        sa.UniqueConstraint("number", "version", name="uq_sales_quotes_number_version"),
    )
    op.create_index("ix_sales_quotes_opportunity_id", "sales_quotes", ["opportunity_id"])
    op.create_index("ix_sales_quotes_customer_id", "sales_quotes", ["customer_id"])

    op.create_table(
        "sales_quote_lines",
        sa.Column("id", Id, nullable=False),
        sa.Column("quote_id", Id, sa.ForeignKey("sales_quotes.id", name="fk_sales_quote_lines_quote_id_sales_quotes", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("quantity", sa.Numeric(14, 3), nullable=False),
        sa.Column("unit_price", Money, nullable=False),
        sa.Column("discount", sa.Numeric(5, 2), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.CheckConstraint("discount >= 0 AND discount <= 100", name="ck_sales_quote_lines_discount_range"),
        sa.PrimaryKeyConstraint("id", name="pk_sales_quote_lines"),
    )
    op.create_index("ix_sales_quote_lines_quote_id", "sales_quote_lines", ["quote_id"])

    op.create_table(
        "sales_stale_notices",
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("opportunity_id", Id, sa.ForeignKey("sales_opportunities.id", name="fk_sales_stale_notices_opportunity_id_sales_opportunities", ondelete="CASCADE"), nullable=False),
        sa.Column("manager_id", Id, sa.ForeignKey("users.id", name="fk_sales_stale_notices_manager_id_users"), nullable=False),
        sa.Column("outbox_id", Id),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("period", "opportunity_id", "manager_id", name="pk_sales_stale_notices"),
    )


def downgrade() -> None:
    op.drop_table("sales_stale_notices")
    op.drop_index("ix_sales_quote_lines_quote_id", table_name="sales_quote_lines")
    op.drop_table("sales_quote_lines")
    op.drop_index("ix_sales_quotes_customer_id", table_name="sales_quotes")
    op.drop_index("ix_sales_quotes_opportunity_id", table_name="sales_quotes")
    op.drop_table("sales_quotes")
    op.drop_index("ix_sales_visit_plans_user_month", table_name="sales_visit_plans")
    op.drop_index("ix_sales_visit_plans_customer_id", table_name="sales_visit_plans")
    op.drop_table("sales_visit_plans")
    op.drop_table("sales_opportunity_contacts")
    op.drop_index("ix_sales_stage_changes_opportunity_id", table_name="sales_stage_changes")
    op.drop_table("sales_stage_changes")
    op.drop_index("ix_sales_opportunities_stage_close", table_name="sales_opportunities")
    op.drop_index("ix_sales_opportunities_owner_id", table_name="sales_opportunities")
    op.drop_index("ix_sales_opportunities_customer_id", table_name="sales_opportunities")
    op.drop_table("sales_opportunities")
    op.drop_table("sales_stages")
