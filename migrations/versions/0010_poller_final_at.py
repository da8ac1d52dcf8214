"""poller: when a PO became Received Full or Canceled, so the rolling check keeps reading it a while

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.models import UtcDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("poller_orders", sa.Column("final_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("poller_orders", "final_at")
