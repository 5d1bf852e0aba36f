"""analytics: scores per customer, fitted models, grading rules

Revision ID: analytics_0001
"""
from alembic import op
import sqlalchemy as sa

from crmcore import Id, Json, Money, UTCDateTime

revision = "analytics_0001"
down_revision = None
branch_labels = ("analytics",)
depends_on = "core_0001"

# The default grading rules, as data (`crm analytics rules` changes them).
# ABC: customers sorted by revenue, largest first; a customer belongs to the
# first class whose max_cumulative_share is not yet reached before them.
# Grades: the first rule, by position, whose conditions all hold.
DEFAULT_RULES = [
    {"kind": "abc", "code": "A", "label": "A类（贡献前80%）", "position": 1, "max_cumulative_share": 0.80},
    {"kind": "abc", "code": "B", "label": "B类（其后15%）", "position": 2, "max_cumulative_share": 0.95},
    {"kind": "abc", "code": "C", "label": "C类（其余）", "position": 3, "max_cumulative_share": 1.0},
    {"kind": "grade", "code": "vip", "label": "贵宾", "position": 1, "top_share": 0.05, "min_purchases": 2},
    {"kind": "grade", "code": "important", "label": "重要", "position": 2, "abc": "A"},
    {"kind": "grade", "code": "normal", "label": "普通", "position": 3, "abc": "B"},
    {"kind": "grade", "code": "small", "label": "小客户", "position": 4},
]


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    op.create_table(
        "analytics_models",
        sa.Column("id", Id, nullable=False),
        sa.Column("fitted_at", UTCDateTime(), nullable=False),
        sa.Column("fitted_by", sa.String(60), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("repeat_customers", sa.Integer(), nullable=False),
        sa.Column("bgnbd", Json, nullable=False),
        sa.Column("gamma_gamma", Json, nullable=True),
        sa.Column("bgnbd_log_likelihood", sa.Float(), nullable=False),
        sa.Column("gamma_gamma_log_likelihood", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_models"),
    )
    op.create_table(
        "analytics_rfm",
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("last_purchase", sa.Date(), nullable=False),
        sa.Column("recency_days", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", Money, nullable=False),
        sa.Column("r_score", sa.Integer(), nullable=False),
        sa.Column("f_score", sa.Integer(), nullable=False),
        sa.Column("m_score", sa.Integer(), nullable=False),
        sa.Column("cell", sa.String(3), nullable=False),
        sa.Column("segment", sa.String(30), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        _fk("analytics_rfm", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_analytics_rfm"),
    )
    op.create_index("ix_analytics_rfm_segment", "analytics_rfm", ["segment"])
    op.create_table(
        "analytics_values",
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("cumulative_share", sa.Float(), nullable=False),
        sa.Column("abc_class", sa.String(10), nullable=False),
        sa.Column("grade", sa.String(40), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        _fk("analytics_values", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_analytics_values"),
    )
    op.create_index("ix_analytics_values_abc_class", "analytics_values", ["abc_class"])
    op.create_index("ix_analytics_values_grade", "analytics_values", ["grade"])
    op.create_table(
        "analytics_clv",
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("model_id", Id, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("horizon_weeks", sa.Float(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("discount", sa.Float(), nullable=False),
        sa.Column("x", sa.Integer(), nullable=False),
        sa.Column("t_x", sa.Float(), nullable=False),
        sa.Column("T", sa.Float(), nullable=False),
        sa.Column("mean_spend", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=False),
        sa.Column("churn_risk", sa.Float(), nullable=False),
        sa.Column("expected_purchases", sa.Float(), nullable=False),
        sa.Column("expected_spend", sa.Float(), nullable=False),
        sa.Column("clv", sa.Float(), nullable=False),
        sa.Column("clv_percentile", sa.Float(), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        _fk("analytics_clv", "customer_id", "customers"),
        _fk("analytics_clv", "model_id", "analytics_models"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_analytics_clv"),
    )
    op.create_index("ix_analytics_clv_model_id", "analytics_clv", ["model_id"])
    op.create_index("ix_analytics_clv_churn_risk", "analytics_clv", ["churn_risk"])
    op.create_index("ix_analytics_clv_clv_percentile", "analytics_clv", ["clv_percentile"])
    op.create_table(
        "analytics_lifecycle",
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False),
        sa.Column("transactions", sa.Integer(), nullable=False),
        sa.Column("days_since_last", sa.Integer(), nullable=False),
        sa.Column("mean_gap_days", sa.Float(), nullable=True),
        sa.Column("recent_gap_days", sa.Float(), nullable=True),
        sa.Column("trend", sa.Float(), nullable=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("stale", sa.Boolean(), nullable=False),
        _fk("analytics_lifecycle", "customer_id", "customers"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_analytics_lifecycle"),
    )
    op.create_index("ix_analytics_lifecycle_stage", "analytics_lifecycle", ["stage"])
    rules = op.create_table(
        "analytics_rules",
        sa.Column("id", Id, nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("max_cumulative_share", sa.Float(), nullable=True),
        sa.Column("abc", sa.String(20), nullable=True),
        sa.Column("top_share", sa.Float(), nullable=True),
        sa.Column("min_revenue", Money, nullable=True),
        sa.Column("min_purchases", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_analytics_rules"),
        sa.UniqueConstraint("kind", "code", name="uq_analytics_rules_kind_code"),
    )
    op.bulk_insert(rules, [
        {"max_cumulative_share": None, "abc": None, "top_share": None, "min_revenue": None, "min_purchases": None, **rule}
        for rule in DEFAULT_RULES
    ])


def downgrade() -> None:
    op.drop_table("analytics_rules")
    op.drop_index("ix_analytics_lifecycle_stage", table_name="analytics_lifecycle")
    op.drop_table("analytics_lifecycle")
    for name in ("ix_analytics_clv_clv_percentile", "ix_analytics_clv_churn_risk", "ix_analytics_clv_model_id"):
        op.drop_index(name, table_name="analytics_clv")
    op.drop_table("analytics_clv")
    op.drop_index("ix_analytics_values_grade", table_name="analytics_values")
    op.drop_index("ix_analytics_values_abc_class", table_name="analytics_values")
    op.drop_table("analytics_values")
    op.drop_index("ix_analytics_rfm_segment", table_name="analytics_rfm")
    op.drop_table("analytics_rfm")
    op.drop_table("analytics_models")
