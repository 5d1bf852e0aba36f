"""Privacy and operations: consent, legal hold, outbox purposes (issue 12)

Revision ID: core_0002
Revises: core_0001
"""
from alembic import op
import sqlalchemy as sa

from crmcore.storage.types import Id, UTCDateTime

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consents",
        sa.Column("id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("evidence", sa.String(length=300), nullable=True),
        sa.Column("actor_id", Id, nullable=True),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_consents_customer_id_customers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index("ix_consents_customer_purpose_channel", ["customer_id", "purpose", "channel", "id"], unique=False)
    # plain ADD COLUMN (no batch copy): customers carries the FTS5 content table on SQLite
    op.add_column("customers", sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("customers", sa.Column("erased_at", UTCDateTime(), nullable=True))
    op.add_column("outbox", sa.Column("purpose", sa.String(length=40), nullable=True))
    op.create_index("ix_customers_merged_into_id", "customers", ["merged_into_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customers_merged_into_id", table_name="customers")
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+), not a batch copy of customers
    op.drop_column("outbox", "purpose")
    op.drop_column("customers", "erased_at")
    op.drop_column("customers", "legal_hold")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_customer_purpose_channel")
    op.drop_table("consents")
