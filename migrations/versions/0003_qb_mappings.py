"""qb mappings: what the sync knows about each Autotask record's counterpart in QuickBooks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.models import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qb_mappings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("qbwc_user", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("autotask_id", sa.BigInteger(), nullable=False),
        sa.Column("qb_id", sa.String(length=36), nullable=True),
        sa.Column("qb_name", sa.String(length=209), nullable=True),
        sa.Column("edit_sequence", sa.String(length=16), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qb_mappings")),
        sa.UniqueConstraint(
            "qbwc_user",
            "kind",
            "autotask_id",
            name=op.f("uq_qb_mappings_qbwc_user_kind_autotask_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("qb_mappings")
