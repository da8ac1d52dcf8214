"""poller state: what the Autotask poller knows of each PO, its watermarks and requests

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "poller_orders",
        sa.Column("po_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=True),
        sa.Column("verified_at", UtcDateTime(), nullable=True),
        sa.Column("selected_at", UtcDateTime(), nullable=True),
        sa.Column("needs_read", sa.Boolean(), nullable=False),
        sa.Column("written_back", sa.String(length=32), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("po_id", name=op.f("pk_poller_orders")),
    )
    op.create_index(
        "ix_poller_orders_sweep", "poller_orders", ["final", "verified_at"], unique=False
    )
    op.create_table(
        "poller_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_poller_state")),
    )


def downgrade() -> None:
    op.drop_table("poller_state")
    op.drop_index("ix_poller_orders_sweep", table_name="poller_orders")
    op.drop_table("poller_orders")
