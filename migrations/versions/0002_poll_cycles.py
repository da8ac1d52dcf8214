"""poll cycles: one row per cycle of the Autotask poller, for /admin and /metrics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poll_cycles",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("autotask_requests", sa.Integer(), nullable=False),
        sa.Column("autotask_throttled", sa.Integer(), nullable=False),
        sa.Column("jobs_enqueued", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "outcome IN ('running', 'ok', 'failed')", name=op.f("ck_poll_cycles_outcome")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_cycles")),
    )
    op.create_index("ix_poll_cycles_outcome", "poll_cycles", ["outcome"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_poll_cycles_outcome", table_name="poll_cycles")
    op.drop_table("poll_cycles")
