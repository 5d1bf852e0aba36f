"""partners: partners, grades, agreements, registrations, assignments, commissions

Revision ID: partners_0001
"""
from alembic import op
import sqlalchemy as sa
from decimal import Decimal

from crmcore import Id, Json, Money, UTCDateTime

revision = "partners_0001"
down_revision = None
branch_labels = ("partners",)
depends_on = "core_0001"

Rate = sa.Numeric(7, 4, asdecimal=True)

DEFAULT_TYPES = [
    ("reseller", "经销商"), ("distributor", "分销商"), ("agent", "代理商"), ("supplier", "供应商"),
    ("service_provider", "服务商"), ("alliance_merchant", "联盟商家"),
]
# name, weight, yearly won revenue to hold the grade, minimum win rate (%)
DEFAULT_GRADES = [("金牌", 3, "1000000", "30"), ("银牌", 2, "300000", None), ("铜牌", 1, "0", None)]


def _fk(table: str, column: str, target: str, **kw):
    referred = target.split(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}", **kw)


def upgrade() -> None:
    types = op.create_table(
        "partners_types",
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_partners_types"),
        sa.UniqueConstraint("label", name="uq_partners_types_label"),
    )
    grades = op.create_table(
        "partners_grades",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("min_revenue", Money, nullable=False),
        sa.Column("min_win_rate", Rate, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partners_grades"),
        sa.UniqueConstraint("name", name="uq_partners_grades_name"),
    )
    op.create_table(
        "partners_partners",
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("grade_id", Id, nullable=True),
        sa.Column("territories", Json, nullable=False),
        sa.Column("industries", Json, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("manager_id", Id, nullable=True),
        sa.Column("max_open_leads", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_partners_partners"),
        _fk("partners_partners", "customer_id", "customers.id"),
        _fk("partners_partners", "type", "partners_types.code"),
        _fk("partners_partners", "grade_id", "partners_grades.id"),
        _fk("partners_partners", "manager_id", "users.id"),
    )
    op.create_index("ix_partners_partners_status", "partners_partners", ["status"])
    op.create_index("ix_partners_partners_manager_id", "partners_partners", ["manager_id"])

    op.create_table(
        "partners_status_history",
        sa.Column("id", Id, nullable=False),
        sa.Column("partner_id", Id, nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("actor_id", Id, nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners_status_history"),
        _fk("partners_status_history", "partner_id", "customers.id"),
        _fk("partners_status_history", "actor_id", "users.id"),
    )
    op.create_index("ix_partners_status_history_partner_id", "partners_status_history", ["partner_id"])

    op.create_table(
        "partners_agreements",
        sa.Column("id", Id, nullable=False),
        sa.Column("partner_id", Id, nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("territories", Json, nullable=False),
        sa.Column("product_lines", Json, nullable=False),
        sa.Column("discount", Rate, nullable=True),
        sa.Column("commission_kind", sa.String(10), nullable=False),
        sa.Column("commission_rate", Rate, nullable=True),
        sa.Column("commission_tiers", Json, nullable=False),
        sa.Column("tiers_apply", sa.String(10), nullable=False),
        sa.Column("remind_days", Json, nullable=False),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("terminate_reason", sa.String(300), nullable=True),
        sa.Column("renewed_from_id", Id, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", Id, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partners_agreements"),
        _fk("partners_agreements", "partner_id", "customers.id"),
        _fk("partners_agreements", "renewed_from_id", "partners_agreements.id"),
        _fk("partners_agreements", "created_by", "users.id"),
    )
    op.create_index("ix_partners_agreements_partner_id", "partners_agreements", ["partner_id"])

    op.create_table(
        "partners_registrations",
        sa.Column("id", Id, nullable=False),
        sa.Column("partner_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("product", sa.String(100), nullable=True),
        sa.Column("expected_amount", Money, nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("conflicts", Json, nullable=False),
        sa.Column("protected_until", sa.Date(), nullable=False),
        sa.Column("decision_reason", sa.String(300), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("decided_by", Id, nullable=True),
        sa.Column("won_amount", Money, nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.String(300), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("last_progress_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", Id, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partners_registrations"),
        _fk("partners_registrations", "partner_id", "customers.id"),
        _fk("partners_registrations", "customer_id", "customers.id"),
        _fk("partners_registrations", "decided_by", "users.id"),
        _fk("partners_registrations", "created_by", "users.id"),
    )
    op.create_index("ix_partners_registrations_partner_id", "partners_registrations", ["partner_id"])
    op.create_index("ix_partners_registrations_customer_id", "partners_registrations", ["customer_id"])
    op.create_index("ix_partners_registrations_status_protected", "partners_registrations", ["status", "protected_until"])

    op.create_table(
        "partners_assignments",
        sa.Column("id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("partner_id", Id, nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("score", sa.Numeric(12, 4), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("deadline_at", UTCDateTime(), nullable=False),
        sa.Column("responded_at", UTCDateTime(), nullable=True),
        sa.Column("reason", sa.String(300), nullable=True),
        sa.Column("previous_id", Id, nullable=True),
        sa.Column("assigned_by", Id, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_partners_assignments"),
        _fk("partners_assignments", "customer_id", "customers.id"),
        _fk("partners_assignments", "partner_id", "customers.id"),
        _fk("partners_assignments", "previous_id", "partners_assignments.id"),
        _fk("partners_assignments", "assigned_by", "users.id"),
    )
    op.create_index("ix_partners_assignments_customer_id", "partners_assignments", ["customer_id"])
    op.create_index("ix_partners_assignments_partner_id", "partners_assignments", ["partner_id"])
    op.create_index("ix_partners_assignments_status_deadline", "partners_assignments", ["status", "deadline_at"])

    op.create_table(
        "partners_commissions",
        sa.Column("id", Id, nullable=False),
        sa.Column("partner_id", Id, nullable=False),
        sa.Column("registration_id", Id, nullable=False),
        sa.Column("agreement_id", Id, nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("base_amount", Money, nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("detail", Json, nullable=False),
        sa.Column("reverses_id", Id, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_partners_commissions"),
        sa.UniqueConstraint("registration_id", "kind", name="uq_partners_commissions_registration_id_kind"),
        _fk("partners_commissions", "partner_id", "customers.id"),
        _fk("partners_commissions", "registration_id", "partners_registrations.id"),
        _fk("partners_commissions", "agreement_id", "partners_agreements.id"),
        _fk("partners_commissions", "reverses_id", "partners_commissions.id"),
    )
    op.create_index("ix_partners_commissions_partner_id", "partners_commissions", ["partner_id"])
    op.create_index("ix_partners_commissions_registration_id", "partners_commissions", ["registration_id"])
    op.create_index("ix_partners_commissions_period", "partners_commissions", ["period"])

    op.create_table(
        "partners_settings",
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", Json, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_partners_settings"),
    )

    op.bulk_insert(types, [{"code": c, "label": l, "position": i} for i, (c, l) in enumerate(DEFAULT_TYPES)])
    op.bulk_insert(grades, [
        {"name": n, "weight": w, "min_revenue": Decimal(r), "min_win_rate": None if wr is None else Decimal(wr)} for n, w, r, wr in DEFAULT_GRADES
    ])


def downgrade() -> None:
    for table in ("partners_settings", "partners_commissions", "partners_assignments", "partners_registrations",
                  "partners_agreements", "partners_status_history", "partners_partners", "partners_grades", "partners_types"):
        op.drop_table(table)
