"""poller: POs skipped with a reason, write-back refusals with backoff

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("poller_orders") as batch:
        batch.add_column(sa.Column("skipped", sa.Text(), nullable=True))
        batch.add_column(sa.Column("skipped_at", UtcDateTime(), nullable=True))
        batch.add_column(sa.Column("write_back_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("write_back_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("write_back_after", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poller_orders") as batch:
        batch.drop_column("write_back_after")
        batch.drop_column("write_back_attempts")
        batch.drop_column("write_back_error")
        batch.drop_column("skipped_at")
        batch.drop_column("skipped")
