"""The database schema: jobs, dependencies, transmissions, Web Connector users and sessions,
poll cycles.

The migrations in ``migrations/versions`` must produce exactly this schema on PostgreSQL and on
SQLite (a test compares them). Queries live in :mod:`service.jobstore` and
:mod:`service.webconnector.sessions`, on the tables below (``jobs``, ``transmissions``, ...);
the mapped classes end in ``Row`` so they are not mistaken for the job store's ``Job`` and
``Transmission`` or the poll cycles' ``PollCycle``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.jobstatus import (
    ACTIVE_STATUSES,
    JOB_STATUSES,
    UNFINISHED_STATUSES,
    JobStatus,
    sql_literals,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC timestamp: aware ``datetime`` in Python on both engines.

    SQLite has no time zones; values are stored as naive UTC and given back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, _dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite's rowid alias must be INTEGER


class Base(DeclarativeBase):
    """Declarative base with stable constraint names (so migrations can name them)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: Json}


#: The unique index's predicate, as literal SQL. ON CONFLICT must name it literally too: with
#: bound parameters PostgreSQL cannot match the partial index once a prepared statement uses a
#: generic plan ("no unique or exclusion constraint matching the ON CONFLICT specification").
UNFINISHED_PREDICATE = f"status IN ({sql_literals(UNFINISHED_STATUSES)})"
#: The predicate of the partial indexes over active jobs (literal SQL, for the same reason).
ACTIVE_PREDICATE = f"status IN ({sql_literals(ACTIVE_STATUSES)})"


class JobRow(Base):
    """One piece of work for QuickBooks, carried out in one or more qbXML round trips."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_literals(JOB_STATUSES)})", name="status"),
        # Enqueueing the same work twice yields one job: the database refuses the second row.
        Index(
            "uq_jobs_idempotency_key_unfinished",
            "idempotency_key",
            unique=True,
            postgresql_where=text(UNFINISHED_PREDICATE),
            sqlite_where=text(UNFINISHED_PREDICATE),
        ),
        # The claim's ORDER BY, for ready work only.
        Index(
            "ix_jobs_claim",
            "qbwc_user",
            "priority",
            "id",
            postgresql_where=text(f"status = {sql_literals([JobStatus.PENDING])}"),
            sqlite_where=text(f"status = {sql_literals([JobStatus.PENDING])}"),
        ),
        # A user's active jobs: the progress of a session, when work is next due, the answers
        # other sessions still owe. Independent of how many finished jobs are kept.
        Index(
            "ix_jobs_active",
            "qbwc_user",
            "status",
            "run_after",
            postgresql_where=text(ACTIVE_PREDICATE),
            sqlite_where=text(ACTIVE_PREDICATE),
        ),
        # Leases that expire (housekeeping): only in-flight jobs, a handful at any time.
        Index(
            "ix_jobs_lease_expires_at_in_flight",
            "lease_expires_at",
            postgresql_where=text(f"status = {sql_literals([JobStatus.IN_FLIGHT])}"),
            sqlite_where=text(f"status = {sql_literals([JobStatus.IN_FLIGHT])}"),
        ),
        Index("ix_jobs_status_kind", "status", "kind"),
        Index("ix_jobs_lease_session_id", "lease_session_id"),
        Index("ix_jobs_autotask", "autotask_entity", "autotask_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(64))
    #: The Web Connector user whose company file the job is for.
    qbwc_user: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    #: Where a multi-step job is; written by the job's kind.
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    result: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    autotask_entity: Mapped[str | None] = mapped_column(String(64), nullable=True)
    autotask_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime]
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The prerequisite whose failure failed this job, if that is why it failed.
    failed_by: Mapped[int | None] = mapped_column(
        Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )
    lease_session_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("wc_sessions.id", ondelete="SET NULL"), nullable=True
    )
    leased_at: Mapped[datetime | None] = mapped_column(nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class JobDependencyRow(Base):
    """``job_id`` may run only once ``depends_on_id`` is done."""

    __tablename__ = "job_dependencies"
    __table_args__ = (Index("ix_job_dependencies_depends_on_id", "depends_on_id"),)

    job_id: Mapped[int] = mapped_column(
        Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[int] = mapped_column(
        Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )


class TransmissionRow(Base):
    """One qbXML request sent for a job and the answer to it (append-only; never rewritten).

    The row is written when the request is sent; the answer columns are filled once, when the
    answer comes (or the lease ends without one).
    """

    __tablename__ = "transmissions"
    __table_args__ = (
        Index("ix_transmissions_job_id", "job_id"),
        # A session's unanswered requests (``received_at IS NULL``), found without reading its
        # answered ones; also what deleting a session (ON DELETE SET NULL) looks up.
        Index("ix_transmissions_session_id_received_at", "session_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("wc_sessions.id", ondelete="SET NULL"), nullable=True
    )
    request_id: Mapped[str] = mapped_column(String(50))
    request_xml: Mapped[str] = mapped_column(Text)
    response_xml: Mapped[str | None] = mapped_column(Text, nullable=True)
    hresult: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_severity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    sent_at: Mapped[datetime]
    received_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebConnectorUserRow(Base):
    """A user name the Web Connector logs in with; one per company file (.qwc)."""

    __tablename__ = "wc_users"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: The company file QuickBooks must open; "" means whichever file is open.
    company_file: Mapped[str] = mapped_column(String(500), default="")
    #: The .qwc FileID for this user (a GUID, stable once issued).
    file_id: Mapped[str] = mapped_column(String(38))
    created_at: Mapped[datetime]


class WebConnectorSessionRow(Base):
    """One Web Connector update run, from authenticate to its end; identified by its ticket."""

    __tablename__ = "wc_sessions"
    __table_args__ = (
        Index("ix_wc_sessions_user_id_ended_at", "user_id", "ended_at"),
        # Sessions gone quiet (housekeeping) among the live ones only.
        Index(
            "ix_wc_sessions_expires_at_live",
            "expires_at",
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
        # Ended sessions by age (``atqb db prune``).
        Index("ix_wc_sessions_ended_at", "ended_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    #: SHA-256 of the ticket: a copy of the database does not give live tickets away.
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("wc_users.id", ondelete="CASCADE"))
    company_file: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: What getLastError answers next.
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Jobs unfinished when the session started: the denominator of the progress percentage.
    work_at_start: Mapped[int] = mapped_column(Integer, default=0)
    #: Jobs this session brought to an end (done, failed, cancelled).
    finished: Mapped[int] = mapped_column(Integer, default=0)
    round_trips: Mapped[int] = mapped_column(Integer, default=0)
    qbxml_country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    qbxml_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    has_hcp_response: Mapped[bool] = mapped_column(Boolean, default=False)


POLL_OUTCOMES = ("running", "ok", "failed")


class PollCycleRow(Base):
    """One cycle of the Autotask poller (``atqb poll``): what it asked Autotask, what it enqueued.

    Written by the poller (see :mod:`service.poller.cycles`), read by ``/admin`` and ``/metrics``,
    which run in another process: the database is the only thing the two share.
    """

    __tablename__ = "poll_cycles"
    __table_args__ = (
        CheckConstraint(
            f"outcome IN ({', '.join(repr(o) for o in POLL_OUTCOMES)})", name="outcome"
        ),
        Index("ix_poll_cycles_outcome", "outcome"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: ``running`` until the cycle ends (or forever, if the poller died during it).
    outcome: Mapped[str] = mapped_column(String(16))
    #: HTTP requests sent to Autotask (retries, pages and zone lookups included).
    autotask_requests: Mapped[int] = mapped_column(Integer, default=0)
    #: Times Autotask held the cycle back: HTTP 429, its thread limit, or atqb's request budget.
    autotask_throttled: Mapped[int] = mapped_column(Integer, default=0)
    jobs_enqueued: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Counts for people (e.g. ``{"purchase_orders": 12}``); shown as they are.
    details: Mapped[dict[str, Any] | None] = mapped_column(Json, nullable=True)


class QuickBooksMappingRow(Base):
    """What atqb knows about an Autotask record's counterpart in one company file.

    One row per Web Connector user (company file), ``kind`` and Autotask id: a vendor, customer
    or item (``qb_id`` = ListID, ``qb_name`` = FullName), a purchase order (TxnID and RefNumber),
    a PO line (TxnLineID) or a receiving row (the item receipt's TxnID). ``qb_id`` is NULL while
    only Autotask facts are known (``data``, e.g. a product's on-hand total). Written by the sync
    (:mod:`service.sync.mapping`) in the transaction that applies QuickBooks' answer.
    """

    __tablename__ = "qb_mappings"
    __table_args__ = (UniqueConstraint("qbwc_user", "kind", "autotask_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    qbwc_user: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    autotask_id: Mapped[int] = mapped_column(BigInteger)
    qb_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    qb_name: Mapped[str | None] = mapped_column(String(209), nullable=True)
    edit_sequence: Mapped[str | None] = mapped_column(String(16), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LoginThrottleRow(Base):
    """Failed Web Connector logins of one user name or one address (:mod:`.webconnector.throttle`).

    In the database so every service process counts the same failures and honours the same lock.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (Index("ix_login_throttle_last_failure_at", "last_failure_at"),)

    #: ``user`` or ``address``.
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)
    #: The user name or address (a SHA-256 for a name too long to keep).
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: Failures since ``window_started_at``.
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime]
    last_failure_at: Mapped[datetime]
    #: No login of this subject is checked before this instant.
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Locks so far: the next one lasts twice as long as the last.
    lockouts: Mapped[int] = mapped_column(Integer, default=0)


class PollerOrderRow(Base):
    """What the Autotask poller knows of one purchase order (see :mod:`service.poller`).

    Autotask has no modified stamp on purchase orders: the poller keeps each PO's status and a
    fingerprint of the Autotask data QuickBooks cares about, and re-reads only POs that can still
    change. ``selected_at`` is set by ``atqb transfer`` (manual selection); ``written_back`` is
    the QuickBooks PO number last written to the PO's External P.O. # in Autotask.
    """

    __tablename__ = "poller_orders"
    __table_args__ = (Index("ix_poller_orders_sweep", "final", "verified_at"),)

    po_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: The Autotask status picklist value last read (None: selected, not read yet).
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: Received Full or Canceled: re-read only when a receipt, line or count says so, or by the
    #: rolling check for a while after ``final_at``.
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    #: When the poller saw the PO become final (None: first seen final, or not final).
    final_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Digest of the Autotask data last handed to the sync (None: never handed over).
    fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: When the poller last read the whole PO (lines and receipts too).
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    selected_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Read it in the next cycle (a selection, a receipt on it).
    needs_read: Mapped[bool] = mapped_column(Boolean, default=False)
    written_back: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Why the last read of this PO could not be handed to the sync (None: it could); such a
    #: PO is read again each cycle.
    skipped: Mapped[str | None] = mapped_column(Text, nullable=True)
    skipped_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Autotask's refusal of the last write-back of the QuickBooks PO number (None: none).
    write_back_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    write_back_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: No write-back attempt before this time (backoff after a refusal).
    write_back_after: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]


class PollerStateRow(Base):
    """The poller's watermarks, counts and requests (``full_inventory_sync``), one row each."""

    __tablename__ = "poller_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime]


class InstallationRow(Base):
    """Facts about this installation (for example the .qwc OwnerID), one row per key."""

    __tablename__ = "installation"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


jobs = cast(Table, JobRow.__table__)
job_dependencies = cast(Table, JobDependencyRow.__table__)
transmissions = cast(Table, TransmissionRow.__table__)
wc_users = cast(Table, WebConnectorUserRow.__table__)
wc_sessions = cast(Table, WebConnectorSessionRow.__table__)
installation = cast(Table, InstallationRow.__table__)
poll_cycles = cast(Table, PollCycleRow.__table__)
qb_mappings = cast(Table, QuickBooksMappingRow.__table__)
login_throttle = cast(Table, LoginThrottleRow.__table__)
poller_orders = cast(Table, PollerOrderRow.__table__)
poller_state = cast(Table, PollerStateRow.__table__)
