"""Import progress in the database: a web import's row is written when it
starts (status ``running``) and carries the rows read so far, so any server
process can answer its progress page

Revision ID: core_0005
Revises: core_0004
"""
from alembic import op
import sqlalchemy as sa

from crmcore.storage.types import UTCDateTime

revision = "core_0005"
down_revision = "core_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_imports") as batch:
        batch.add_column(sa.Column("rows", sa.Integer()))
        batch.add_column(sa.Column("done", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sa.Text()))
        batch.add_column(sa.Column("updated_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("api_imports") as batch:
        batch.drop_column("updated_at")
        batch.drop_column("error")
        batch.drop_column("done")
        batch.drop_column("rows")
