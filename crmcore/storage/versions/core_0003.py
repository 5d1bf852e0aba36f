"""The HTTP API: API tokens, login lockout, webhooks, idempotency keys (issue 10)

Revision ID: core_0003
Revises: core_0002
"""
from alembic import op
import sqlalchemy as sa

revision = "core_0003"
down_revision = "core_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
