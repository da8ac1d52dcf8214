"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_installation")),
    )
    op.create_table(
        "wc_users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("company_file", sa.String(length=500), nullable=False),
        sa.Column("file_id", sa.String(length=38), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wc_users")),
        sa.UniqueConstraint("name", name=op.f("uq_wc_users_name")),
    )
    op.create_table(
        "wc_sessions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ticket_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("company_file", sa.String(length=500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("ended_at", UtcDateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("work_at_start", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Integer(), nullable=False),
        sa.Column("round_trips", sa.Integer(), nullable=False),
        sa.Column("qbxml_country", sa.String(length=8), nullable=True),
        sa.Column("qbxml_version", sa.String(length=16), nullable=True),
        sa.Column("has_hcp_response", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["wc_users.id"],
            name=op.f("fk_wc_sessions_user_id_wc_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wc_sessions")),
        sa.UniqueConstraint("ticket_hash", name=op.f("uq_wc_sessions_ticket_hash")),
    )
    op.create_index(
        "ix_wc_sessions_user_id_ended_at", "wc_sessions", ["user_id", "ended_at"], unique=False
    )

    op.create_table(
        "jobs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("qbwc_user", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("autotask_entity", sa.String(length=64), nullable=True),
        sa.Column("autotask_id", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=300), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", UtcDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "lease_session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("leased_at", UtcDateTime(), nullable=True),
        sa.Column("lease_expires_at", UtcDateTime(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'waiting', 'in_flight', 'done', 'failed', 'cancelled')",
            name=op.f("ck_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["failed_by"], ["jobs.id"], name=op.f("fk_jobs_failed_by_jobs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["lease_session_id"],
            ["wc_sessions.id"],
            name=op.f("fk_jobs_lease_session_id_wc_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_autotask", "jobs", ["autotask_entity", "autotask_id"], unique=False)
    op.create_index(
        "ix_jobs_claim",
        "jobs",
        ["qbwc_user", "priority", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_jobs_lease_session_id", "jobs", ["lease_session_id"], unique=False)
    op.create_index("ix_jobs_status_kind", "jobs", ["status", "kind"], unique=False)
    op.create_index(
        "uq_jobs_idempotency_key_unfinished",
        "jobs",
        ["idempotency_key"],
        unique=True,
        postgresql_where=sa.text("status IN ('pending', 'waiting', 'in_flight', 'failed')"),
        sqlite_where=sa.text("status IN ('pending', 'waiting', 'in_flight', 'failed')"),
    )

    op.create_table(
        "job_dependencies",
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "depends_on_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["depends_on_id"],
            ["jobs.id"],
            name=op.f("fk_job_dependencies_depends_on_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_job_dependencies_job_id_jobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "depends_on_id", name=op.f("pk_job_dependencies")),
    )
    op.create_index(
        "ix_job_dependencies_depends_on_id", "job_dependencies", ["depends_on_id"], unique=False
    )

    op.create_table(
        "transmissions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "session_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("request_id", sa.String(length=50), nullable=False),
        sa.Column("request_xml", sa.Text(), nullable=False),
        sa.Column("response_xml", sa.Text(), nullable=True),
        sa.Column("hresult", sa.String(length=32), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("status_severity", sa.String(length=16), nullable=True),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_transmissions_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["wc_sessions.id"],
            name=op.f("fk_transmissions_session_id_wc_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transmissions")),
    )
    op.create_index("ix_transmissions_job_id", "transmissions", ["job_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_transmissions_job_id", table_name="transmissions")

    op.drop_table("transmissions")
    op.drop_index("ix_job_dependencies_depends_on_id", table_name="job_dependencies")

    op.drop_table("job_dependencies")
    op.drop_index(
        "uq_jobs_idempotency_key_unfinished",
        table_name="jobs",
        postgresql_where=sa.text("status IN ('pending', 'waiting', 'in_flight', 'failed')"),
        sqlite_where=sa.text("status IN ('pending', 'waiting', 'in_flight', 'failed')"),
    )
    op.drop_index("ix_jobs_status_kind", table_name="jobs")
    op.drop_index("ix_jobs_lease_session_id", table_name="jobs")
    op.drop_index(
        "ix_jobs_claim",
        table_name="jobs",
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_jobs_autotask", table_name="jobs")

    op.drop_table("jobs")
    op.drop_index("ix_wc_sessions_user_id_ended_at", table_name="wc_sessions")

    op.drop_table("wc_sessions")
    op.drop_table("wc_users")
    op.drop_table("installation")
