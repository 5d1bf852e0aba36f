"""Privacy and operations: consent, legal hold, outbox purposes (issue 12)

Revision ID: core_0002
Revises: core_0001
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
