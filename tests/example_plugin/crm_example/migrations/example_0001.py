"""example: stamp cards

Revision ID: example_0001
"""
from alembic import op
import sqlalchemy as sa

from crmcore import Id

revision = "example_0001"
down_revision = None
branch_labels = ("example",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "example_stamps",
        sa.Column("customer_id", Id, sa.ForeignKey("customers.id", name="fk_example_stamps_customer_id_customers"), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_example_stamps"),
    )


def downgrade() -> None:
    op.drop_table("example_stamps")
