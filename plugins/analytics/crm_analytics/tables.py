"""The plugin's tables: one row of scores per customer and computation (with
the day it was computed for and the moment it was computed), the fitted
models, and the grading rules (data, not code)."""

from sqlalchemy import Boolean, Column, Date, Float, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from crmcore import Id, Json, Money, UTCDateTime, metadata

models = Table(
    "analytics_models",
    metadata,
    Column("id", Id, primary_key=True),
    Column("fitted_at", UTCDateTime, nullable=False),
    Column("fitted_by", String(60), nullable=False),
    Column("period_from", Date),
    Column("period_to", Date, nullable=False),
    Column("customers", Integer, nullable=False),
    Column("repeat_customers", Integer, nullable=False),
    Column("bgnbd", Json, nullable=False),
    Column("gamma_gamma", Json),
    Column("bgnbd_log_likelihood", Float, nullable=False),
    Column("gamma_gamma_log_likelihood", Float),
)

rfm = Table(
    "analytics_rfm",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("window_days", Integer),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("last_purchase", Date, nullable=False),
    Column("recency_days", Integer, nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("monetary", Money, nullable=False),
    Column("r_score", Integer, nullable=False),
    Column("f_score", Integer, nullable=False),
    Column("m_score", Integer, nullable=False),
    Column("cell", String(3), nullable=False),
    Column("segment", String(30), nullable=False, index=True),
    Column("stale", Boolean, nullable=False, default=False),
)

values = Table(
    "analytics_values",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("window_days", Integer),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("revenue", Money, nullable=False),
    Column("purchases", Integer, nullable=False),
    Column("rank", Integer, nullable=False),
    Column("cumulative_share", Float, nullable=False),
    Column("abc_class", String(10), nullable=False, index=True),
    Column("grade", String(40), nullable=False, index=True),
    Column("stale", Boolean, nullable=False, default=False),
)

clv = Table(
    "analytics_clv",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("model_id", Id, ForeignKey("analytics_models.id"), nullable=False, index=True),
    Column("as_of", Date, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("horizon_weeks", Float, nullable=False),
    Column("margin", Float, nullable=False),
    Column("discount", Float, nullable=False),
    Column("x", Integer, nullable=False),
    Column("t_x", Float, nullable=False),
    Column("T", Float, nullable=False),
    Column("mean_spend", Float),
    Column("p_alive", Float, nullable=False),
    Column("churn_risk", Float, nullable=False, index=True),
    Column("expected_purchases", Float, nullable=False),
    Column("expected_spend", Float, nullable=False),
    Column("clv", Float, nullable=False),
    Column("clv_percentile", Float, nullable=False, index=True),
    Column("stale", Boolean, nullable=False, default=False),
)

lifecycle = Table(
    "analytics_lifecycle",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("stage", String(20), nullable=False, index=True),
    Column("transactions", Integer, nullable=False),
    Column("days_since_last", Integer, nullable=False),
    Column("mean_gap_days", Float),
    Column("recent_gap_days", Float),
    Column("trend", Float),
    Column("rule", String(40), nullable=False),
    Column("stale", Boolean, nullable=False, default=False),
)

rules = Table(
    "analytics_rules",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("code", String(40), nullable=False),
    Column("label", String(60), nullable=False),
    Column("position", Integer, nullable=False),
    Column("max_cumulative_share", Float),
    Column("abc", String(20)),
    Column("top_share", Float),
    Column("min_revenue", Money),
    Column("min_purchases", Integer),
    UniqueConstraint("kind", "code"),
)

SCORE_TABLES = (rfm, values, clv, lifecycle)
