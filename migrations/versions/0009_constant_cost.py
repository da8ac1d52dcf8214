"""constant cost at scale: indexes that keep every per-call query independent of history

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('pending', 'waiting', 'in_flight')"
IN_FLIGHT = "status = 'in_flight'"
LIVE = "ended_at IS NULL"


def upgrade() -> None:
    op.create_index(
        "ix_jobs_active",
        "jobs",
        ["qbwc_user", "status", "run_after"],
        postgresql_where=sa.text(ACTIVE),
        sqlite_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_jobs_lease_expires_at_in_flight",
        "jobs",
        ["lease_expires_at"],
        postgresql_where=sa.text(IN_FLIGHT),
        sqlite_where=sa.text(IN_FLIGHT),
    )
    op.create_index(
        "ix_transmissions_session_id_received_at", "transmissions", ["session_id", "received_at"]
    )
    op.create_index(
        "ix_wc_sessions_expires_at_live",
        "wc_sessions",
        ["expires_at"],
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )
    op.create_index("ix_wc_sessions_ended_at", "wc_sessions", ["ended_at"])


def downgrade() -> None:
    op.drop_index("ix_wc_sessions_ended_at", table_name="wc_sessions")
    op.drop_index("ix_wc_sessions_expires_at_live", table_name="wc_sessions")
    op.drop_index("ix_transmissions_session_id_received_at", table_name="transmissions")
    op.drop_index("ix_jobs_lease_expires_at_in_flight", table_name="jobs")
    op.drop_index("ix_jobs_active", table_name="jobs")
