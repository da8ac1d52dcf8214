"""The job store: every query on jobs, their dependencies and their transmissions.

No other module of the service runs SQL on the ``jobs``, ``job_dependencies`` or
``transmissions`` tables (tests/test_job_table_owner.py checks it): what the rest of the service
asks of them is a :class:`JobStore` method named for what it answers (the ``/admin`` filters, the
products a receipt will still change, the POs whose transfer awaits its write-back, old
transmissions to prune), so a change of index or status touches this file only. A method that
joins another table says so.

A :class:`JobStore` works inside one transaction (``Database.transaction()``) at one instant
(``now``), so tests can move time by handing another instant instead of sleeping.

Life of a job::

    enqueue ──► waiting ──(prerequisites done)──► pending ──claim──► in_flight ──answer──► done
                   │                                ▲                  │
                   │                                └─ next step, or ──┤ transient trouble
                   │                                   retry later     │ (backoff; attempts count)
                   └──(prerequisite failed/cancelled)──► failed ◄──────┘ permanent error, or
                                                                         retries used up

A lease (``lease_session_id``, ``leased_at``, ``lease_expires_at``) says which Web Connector
session holds an ``in_flight`` job. It ends with the answer, with the session
(:meth:`JobStore.release_session`), or when it expires (:meth:`JobStore.rescue_expired`); a job
whose lease ended without an answer is ready again, and its kind knows the last request may have
been carried out (see ``state``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Label,
    RowMapping,
    Select,
    Text,
    Update,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.jobstatus import (
    ACTIVE_STATUSES,
    BROKEN_STATUSES,
    UNFINISHED_STATUSES,
    JobStatus,
    sql_literals,
)
from service.models import (
    UNFINISHED_PREDICATE,
    job_dependencies,
    jobs,
    poller_orders,
    transmissions,
    wc_sessions,
)
from service.retry import DEFAULT_RETRY, RetryPolicy


class JobStoreError(Exception):
    """An operation on a job that its current state does not allow."""


class JobNotFound(JobStoreError):
    """No job has that id."""


@dataclass(frozen=True)
class Ref:
    """The job of an earlier entry of the same :meth:`JobStore.enqueue_many` call, by the
    entry's index in the list: a prerequisite that is not stored yet."""

    index: int


#: An idempotency key made from the ids of the job's prerequisites (in ``depends_on`` order), for
#: work that is new whenever its prerequisites are.
KeyMaker = Callable[[tuple[int, ...]], str]


@dataclass(frozen=True)
class NewJob:
    """What the caller knows about a piece of work when it enqueues it."""

    kind: str
    qbwc_user: str
    payload: dict[str, Any]
    subject: str = ""
    #: Same key, same work: enqueueing it again while a job with this key is unfinished returns
    #: that job. Include a fingerprint of the data when a change of data should make new work.
    #: A :data:`KeyMaker` makes it from the prerequisites' ids, once they are known.
    idempotency_key: str | KeyMaker | None = None
    #: Lower numbers are claimed first.
    priority: int = 0
    autotask_entity: str | None = None
    autotask_id: int | None = None
    #: Jobs stored (ids), or earlier entries of the same :meth:`JobStore.enqueue_many` call.
    depends_on: tuple[int | Ref, ...] = ()
    max_attempts: int | None = None


@dataclass(frozen=True)
class Job:
    """A job as stored."""

    id: int
    kind: str
    qbwc_user: str
    status: str
    priority: int
    payload: dict[str, Any]
    state: dict[str, Any]
    result: dict[str, Any] | None
    subject: str
    autotask_entity: str | None
    autotask_id: int | None
    idempotency_key: str | None
    attempts: int
    max_attempts: int
    run_after: datetime
    error: str | None
    failed_by: int | None
    lease_session_id: int | None
    leased_at: datetime | None
    lease_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping | Mapping[str, Any]) -> Job:
        """Build from a row of the ``jobs`` table."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def summary(self) -> dict[str, Any]:
        """The fields of ``atqb jobs list --json`` (CONTRACT.md)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "error": self.error,
            "subject": self.subject,
            "autotask": (
                {"entity": self.autotask_entity, "id": self.autotask_id}
                if self.autotask_entity is not None
                else None
            ),
            "qbwc_user": self.qbwc_user,
            "run_after": _iso(self.run_after),
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True)
class Retried:
    """What an operator retry changed: the job asked for, and the other jobs it made run
    again (the prerequisite whose failure failed the job, the jobs that failure had failed)."""

    job: Job
    requeued: list[Job]


@dataclass(frozen=True)
class Transmission:
    """One request sent for a job, and its answer once there is one."""

    id: int
    job_id: int
    session_id: int | None
    request_id: str
    request_xml: str
    response_xml: str | None
    hresult: str | None
    message: str | None
    status_code: int | None
    status_severity: str | None
    status_message: str | None
    sent_at: datetime
    received_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping | Mapping[str, Any]) -> Transmission:
        """Build from a row of the ``transmissions`` table."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def as_json(self) -> dict[str, Any]:
        """The shape of CONTRACT.md's ``transmissions`` entries (plus the severity)."""
        data = asdict(self)
        for key in ("id", "job_id", "session_id"):
            data.pop(key)
        data["sent_at"] = _iso(self.sent_at)
        data["received_at"] = _iso(self.received_at)
        return data


class OpenRequest(NamedTuple):
    """A request a session sent that has no answer yet: its transmission, job and requestID."""

    id: int
    job_id: int
    request_id: str


@dataclass(frozen=True)
class Answer:
    """What came back for one transmission."""

    response_xml: str | None = None
    status_code: int | None = None
    status_severity: str | None = None
    status_message: str | None = None
    hresult: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class SentRequest:
    """A request about to be sent for a job, with the job's step state to save."""

    job: Job
    request_id: str
    request_xml: str
    state: dict[str, Any]


@dataclass
class Counts:
    """Jobs by status and by kind."""

    by_status: dict[str, int] = field(default_factory=dict)
    by_kind_status: dict[tuple[str, str], int] = field(default_factory=dict)


def status_is(*statuses: JobStatus) -> ColumnElement[bool]:
    """``jobs.status`` is one of ``statuses``, written as literal SQL.

    psycopg prepares statements it runs often, and PostgreSQL then plans them once for any
    parameter values (a generic plan): a bound ``status = $1`` can no longer use the partial
    indexes over ``status = 'pending'`` and the like (service/models.py), a literal can.
    """
    literals: list[ColumnElement[Any]] = [
        literal_column(sql_literals([status])) for status in statuses
    ]
    return jobs.c.status == literals[0] if len(literals) == 1 else jobs.c.status.in_(literals)


#: A job that ended and will not run again (unless an operator retries a cancelled one).
FINISHED_STATUSES = (JobStatus.DONE, JobStatus.CANCELLED)

#: Ids per statement when reading many records: well below the engines' limits on parameters.
IDS_PER_STATEMENT = 5000


def in_groups(
    group: ColumnElement[Any], member: ColumnElement[Any], wanted: Mapping[Any, Iterable[int]]
) -> list[ColumnElement[bool]]:
    """``(group = g1 AND member IN (…)) OR (group = g2 AND …)`` for the ids wanted in each group,
    one condition for each :data:`IDS_PER_STATEMENT` ids (a statement each); none when no id is
    wanted."""
    pairs = sorted({(name, i) for name, ids in wanted.items() for i in ids})
    conditions: list[ColumnElement[bool]] = []
    for start in range(0, len(pairs), IDS_PER_STATEMENT):
        by_group: dict[str, list[int]] = {}
        for name, member_id in pairs[start : start + IDS_PER_STATEMENT]:
            by_group.setdefault(name, []).append(member_id)
        conditions.append(
            or_(*((group == name) & member.in_(ids) for name, ids in by_group.items()))
        )
    return conditions


def _by_id(column: Any, count: int, key: Any) -> Any:
    """``CASE key WHEN :id_0 THEN :<column>_0 … END`` over ``count`` rows, typed as ``column``:
    one statement sets a different value on each of many rows (on both engines). The values
    are bound as ``p_id_N`` and ``p_<column>_N`` (:func:`_by_id_params`)."""
    whens = {
        bindparam(f"p_id_{n}", type_=key.type): bindparam(f"p_{column.name}_{n}", type_=column.type)
        for n in range(count)
    }
    return case(whens, value=key)


def _ids(key: Any, count: int) -> Any:
    """``key IN (:p_id_0, …)``: the rows of :func:`_by_id`."""
    return key.in_([bindparam(f"p_id_{n}", type_=key.type) for n in range(count)])


def _by_id_params(values: Mapping[int, Any], *columns: str) -> dict[str, Any]:
    """The parameters of :func:`_by_id` and :func:`_ids`: ``values`` maps each row's id to its
    value (one column) or to a mapping of the ``columns``' values."""
    params: dict[str, Any] = {}
    for n, (row_id, value) in enumerate(values.items()):
        params[f"p_id_{n}"] = row_id
        if len(columns) == 1:
            params[f"p_{columns[0]}_{n}"] = value
        else:
            for name in columns:
                params[f"p_{name}_{n}"] = value[name]
    return params


# Statements of the round trip, built once (by row count where it varies): SQLAlchemy's work of
# building a statement and computing its cache key then happens once, not on every call.
_NOW = bindparam("p_now", type_=jobs.c.updated_at.type)
_ANSWER_COLUMNS = (
    "response_xml",
    "status_code",
    "status_severity",
    "status_message",
    "hresult",
    "message",
)


@cache
def _claim_statement() -> Update:
    candidates = (
        select(jobs.c.id)
        .where(
            jobs.c.qbwc_user == bindparam("p_user"),
            status_is(JobStatus.PENDING),
            jobs.c.run_after <= _NOW,
        )
        .order_by(jobs.c.priority, jobs.c.id)
        .limit(bindparam("p_limit", type_=jobs.c.id.type))
        .with_for_update(skip_locked=True)
        .cte("candidates")
    )
    # The candidates are locked (PostgreSQL; SQLite has one writer), so still pending: no
    # status test here, which would let PostgreSQL plan the UPDATE as a scan of every pending job
    # of every user (it did, 10 times slower for 50 of 1,500, while the statistics were stale).
    return (
        update(jobs)
        .where(jobs.c.id.in_(select(candidates.c.id)))
        .values(
            status=JobStatus.IN_FLIGHT,
            attempts=jobs.c.attempts + 1,
            lease_session_id=bindparam("p_session_id", type_=jobs.c.lease_session_id.type),
            leased_at=_NOW,
            lease_expires_at=bindparam("p_expires", type_=jobs.c.lease_expires_at.type),
            updated_at=_NOW,
        )
        .returning(*jobs.c)
    )


@cache
def _record_answers_statement(count: int) -> Update:
    return (
        update(transmissions)
        .where(_ids(transmissions.c.id, count), transmissions.c.received_at.is_(None))
        .values(
            received_at=_NOW,
            **{
                name: _by_id(transmissions.c[name], count, transmissions.c.id)
                for name in _ANSWER_COLUMNS
            },
        )
        .returning(transmissions.c.id)
    )


@cache
def _complete_statement(count: int) -> Update:
    return (
        update(jobs)
        .where(_ids(jobs.c.id, count))
        .values(
            status=JobStatus.DONE,
            result=_by_id(jobs.c.result, count, jobs.c.id),
            error=None,
            failed_by=None,
            lease_session_id=None,
            leased_at=None,
            lease_expires_at=None,
            updated_at=_NOW,
        )
    )


@cache
def _save_states_statement(count: int) -> Update:
    return (
        update(jobs)
        .where(_ids(jobs.c.id, count))
        .values(state=_by_id(jobs.c.state, count, jobs.c.id), updated_at=_NOW)
    )


@cache
def _release_dependents_statement() -> Update:
    prerequisite = job_dependencies.alias("prerequisite")
    p_jobs = jobs.alias("p_jobs")
    blocked = exists(
        select(prerequisite.c.depends_on_id)
        .select_from(prerequisite.join(p_jobs, prerequisite.c.depends_on_id == p_jobs.c.id))
        .where(prerequisite.c.job_id == jobs.c.id, p_jobs.c.status != JobStatus.DONE)
    )
    return (
        update(jobs)
        .where(
            jobs.c.status == JobStatus.WAITING,
            jobs.c.id.in_(
                select(job_dependencies.c.job_id).where(
                    job_dependencies.c.depends_on_id.in_(bindparam("p_ids", expanding=True))
                )
            ),
            ~blocked,
        )
        .values(status=JobStatus.PENDING, run_after=_NOW, updated_at=_NOW)
        .returning(jobs.c.id)
    )


#: The job columns of :func:`_with_open_requests`, by name and label.
_J_LABELS = [(c.name, f"j_{c.name}") for c in jobs.c]


@cache
def _with_open_requests(sessions: Select[Any]) -> Select[Any]:
    return (
        sessions.add_columns(
            transmissions.c.id.label("t_id"),
            transmissions.c.job_id.label("t_job_id"),
            transmissions.c.request_id.label("t_request_id"),
        )
        .add_columns(*(jobs.c[c].label(j) for c, j in _J_LABELS))
        .outerjoin(
            transmissions,
            and_(
                transmissions.c.session_id == wc_sessions.c.id,
                transmissions.c.received_at.is_(None),
            ),
        )
        .outerjoin(jobs, jobs.c.id == transmissions.c.job_id)
        .order_by(transmissions.c.id)
        .with_for_update(of=wc_sessions)
    )


_INSERT_TRANSMISSIONS = insert(transmissions)
_INSERT_TRANSMISSION_RETURNING = insert(transmissions).returning(transmissions.c.id)


@cache
def _progress() -> tuple[Label[Any], ...]:
    user = bindparam("p_progress_user", type_=jobs.c.qbwc_user.type)
    session_id = bindparam("p_progress_session", type_=jobs.c.lease_session_id.type)
    return (
        JobStore._unfinished(user).scalar_subquery().label("remaining"),
        JobStore._next_ready(user).scalar_subquery().label("ready_at"),
        JobStore._elsewhere(user, session_id).scalar_subquery().label("elsewhere"),
    )


def birth_status(prerequisites: Iterable[str]) -> JobStatus:
    """The status of a new job whose prerequisites have these statuses: failed after a failed or
    cancelled one, pending when all are done (or there are none), else waiting."""
    statuses = list(prerequisites)
    if any(status in BROKEN_STATUSES for status in statuses):
        return JobStatus.FAILED
    return (
        JobStatus.PENDING
        if all(status == JobStatus.DONE for status in statuses)
        else JobStatus.WAITING
    )


def _levels(entries: Sequence[NewJob]) -> list[int]:
    """The level of each entry of :meth:`JobStore.enqueue_many`: 0 when it names no earlier
    entry, else one more than the deepest entry it names; an entry with the key of an earlier
    one shares that entry's level (it resolves to that entry's job, once that is known).
    :class:`ValueError` for a :class:`Ref` that is not to an earlier entry."""
    owner: dict[str, int] = {}  # key → the first entry with it
    levels: list[int] = []
    for index, entry in enumerate(entries):
        refs = [d.index for d in entry.depends_on if isinstance(d, Ref)]
        if any(not 0 <= ref < index for ref in refs):
            raise ValueError(f"entry {index} names a job that is not an earlier entry: {refs}")
        key = entry.idempotency_key
        first = owner.setdefault(key, index) if isinstance(key, str) else index
        depth = max((levels[ref] + 1 for ref in refs), default=0)
        levels.append(levels[first] if first != index else depth)
    return levels


def _unique(found: Iterable[Job]) -> list[Job]:
    """Each job once, in order of first appearance."""
    return list({job.id: job for job in found}.values())


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _describe(job: Job) -> str:
    subject = f" ({job.subject})" if job.subject else ""
    return f"job #{job.id} {job.kind}{subject}"


def _payload_text() -> ColumnElement[Any]:
    return cast(jobs.c.payload, Text)


def _po_condition(po: str) -> ColumnElement[bool]:
    """The ``po`` filter of :meth:`JobStore.find`."""
    named = f"PO {po}"
    subject = jobs.c.subject
    conditions = [
        func.lower(subject) == named.lower(),
        subject.istartswith(named + " ", autoescape=True),
        subject.icontains(" " + named + " ", autoescape=True),
        subject.iendswith(" " + named, autoescape=True),
    ]
    number = po.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        conditions.append(
            and_(jobs.c.autotask_entity == "PurchaseOrders", jobs.c.autotask_id == int(number))
        )
    return or_(*conditions)


def _text_condition(text: str) -> ColumnElement[bool]:
    """The ``text`` filter of :meth:`JobStore.find`."""
    conditions = [
        column.icontains(text, autoescape=True)
        for column in (
            jobs.c.subject,
            jobs.c.error,
            jobs.c.kind,
            jobs.c.qbwc_user,
            jobs.c.idempotency_key,
            _payload_text(),
        )
    ]
    number = text.removeprefix("#")
    if number.isdigit() and len(number) < 19:
        conditions.append(jobs.c.id == int(number))
    return or_(*conditions)


class JobStore:
    """All job-store operations, inside the transaction of ``connection`` at the instant ``now``."""

    def __init__(
        self, connection: Connection, now: datetime, retry: RetryPolicy = DEFAULT_RETRY
    ) -> None:
        self.conn = connection
        self.now = now
        self.retry_policy = retry
        self._postgres = connection.dialect.name == "postgresql"

    # -- reading ---------------------------------------------------------------------------

    def get(self, job_id: int) -> Job:
        """The job with this id; :class:`JobNotFound` when there is none."""
        row = self.conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise JobNotFound(f"no job #{job_id}")
        return Job.from_row(row)

    def get_many(self, job_ids: Iterable[int]) -> dict[int, Job]:
        """The jobs with these ids, by id."""
        ids = list(job_ids)
        if not ids:
            return {}
        rows = self.conn.execute(select(jobs).where(jobs.c.id.in_(ids))).mappings()
        return {row["id"]: Job.from_row(row) for row in rows}

    def find(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        qbwc_user: str | None = None,
        po: str | None = None,
        vendor: str | None = None,
        text: str | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[Job]:
        """Jobs, newest first, optionally filtered (``atqb jobs list``, the searches of
        ``/admin``), at most ``limit``, with ids below ``before``.

        ``status``, ``kind`` and ``qbwc_user`` match exactly. The text filters match
        case-insensitively, ``%`` and ``_`` as plain characters:

        * ``po``: jobs about that Autotask purchase order (``autotask`` =
          ``PurchaseOrders``/id), and jobs whose subject names it as ``PO <value>`` (the sync
          engine writes subjects such as ``PO 1234 · Acme Supply`` for the PO's receipts and
          adjustments too).
        * ``vendor``: the text appears in the subject or in the job's payload.
        * ``text``: the text appears in the subject, error, kind, user, idempotency key or
          payload; a number also matches the job with that id.
        """
        query = select(jobs).order_by(jobs.c.id.desc())
        if before is not None:
            query = query.where(jobs.c.id < before)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if qbwc_user is not None:
            query = query.where(jobs.c.qbwc_user == qbwc_user)
        if po is not None:
            query = query.where(_po_condition(po))
        if vendor is not None:
            query = query.where(
                or_(
                    jobs.c.subject.icontains(vendor, autoescape=True),
                    _payload_text().icontains(vendor, autoescape=True),
                )
            )
        if text is not None:
            query = query.where(_text_condition(text))
        if limit is not None:
            query = query.limit(limit)
        return [Job.from_row(row) for row in self.conn.execute(query).mappings()]

    def prerequisites(self, job_id: int) -> list[int]:
        """Ids of the jobs this job waits for."""
        query = select(job_dependencies.c.depends_on_id).where(job_dependencies.c.job_id == job_id)
        return sorted(self.conn.execute(query).scalars())

    def dependents(self, job_id: int) -> list[int]:
        """Ids of the jobs that wait for this job."""
        query = select(job_dependencies.c.job_id).where(job_dependencies.c.depends_on_id == job_id)
        return sorted(self.conn.execute(query).scalars())

    def transmissions(self, job_id: int) -> list[Transmission]:
        """The job's transmissions, oldest first."""
        query = (
            select(transmissions)
            .where(transmissions.c.job_id == job_id)
            .order_by(transmissions.c.id)
        )
        return [Transmission.from_row(row) for row in self.conn.execute(query).mappings()]

    def counts(self) -> Counts:
        """How many jobs there are of each status, and of each kind and status."""
        query = select(jobs.c.kind, jobs.c.status, func.count()).group_by(
            jobs.c.kind, jobs.c.status
        )
        counts = Counts()
        for kind, status, number in self.conn.execute(query):
            counts.by_kind_status[(kind, status)] = number
            counts.by_status[status] = counts.by_status.get(status, 0) + number
        return counts

    def unfinished_count(self, qbwc_user: str) -> int:
        """Jobs of this user that still have work to do (not counting failed ones)."""
        return int(self.conn.execute(self._unfinished(qbwc_user)).scalar_one())

    def unfinished_of(self, qbwc_user: str) -> list[tuple[int, str]]:
        """(id, status) of this user's jobs that are not done or cancelled, failed ones
        included, oldest first."""
        query = (
            select(jobs.c.id, jobs.c.status)
            .where(jobs.c.qbwc_user == qbwc_user, status_is(*UNFINISHED_STATUSES))
            .order_by(jobs.c.id)
        )
        return [(int(row.id), str(row.status)) for row in self.conn.execute(query)]

    def next_ready_at(self, qbwc_user: str) -> datetime | None:
        """When this user's earliest pending job may run, or None when nothing is pending."""
        value = self.conn.execute(self._next_ready(qbwc_user)).scalar_one()
        if value is None:
            return None
        result: datetime = jobs.c.run_after.type.process_result_value(  # type: ignore[attr-defined]
            value, self.conn.dialect
        )
        return result

    def in_flight_elsewhere(self, qbwc_user: str, session_id: int) -> int:
        """Jobs of this user held by another session (their answers may free more work)."""
        return int(self.conn.execute(self._elsewhere(qbwc_user, session_id)).scalar_one())

    @staticmethod
    def progress() -> tuple[Label[Any], ...]:
        """:meth:`unfinished_count`, :meth:`next_ready_at` and :meth:`in_flight_elsewhere` as
        subqueries (labelled ``remaining``, ``ready_at``, ``elsewhere``), for a statement that
        reads them together with other things (the session's touch); its parameters are
        :meth:`progress_params`."""
        return _progress()

    @staticmethod
    def progress_params(qbwc_user: str, session_id: int) -> dict[str, Any]:
        """The parameters of :meth:`progress` for this user and session."""
        return {"p_progress_user": qbwc_user, "p_progress_session": session_id}

    # Each reads the partial index ix_jobs_active: a user's active jobs only.
    @staticmethod
    def _unfinished(qbwc_user: Any) -> Any:
        return select(func.count()).where(
            jobs.c.qbwc_user == qbwc_user, status_is(*ACTIVE_STATUSES)
        )

    @staticmethod
    def _next_ready(qbwc_user: Any) -> Any:
        return select(func.min(jobs.c.run_after)).where(
            jobs.c.qbwc_user == qbwc_user, status_is(JobStatus.PENDING)
        )

    @staticmethod
    def _elsewhere(qbwc_user: Any, session_id: Any) -> Any:
        return select(func.count()).where(
            jobs.c.qbwc_user == qbwc_user,
            status_is(JobStatus.IN_FLIGHT),
            jobs.c.lease_session_id != session_id,
        )

    def unfinished_about(
        self,
        qbwc_user: str,
        records: Mapping[str, Iterable[int]],
        keys: Iterable[str] = (),
    ) -> list[Job]:
        """This user's unfinished jobs about these Autotask records (ids by entity) or holding
        these idempotency keys, oldest first: what an enqueue call reads up front, in one
        statement (one more per :data:`IDS_PER_STATEMENT` ids). Both read an index (the key's
        is partial: the status literals make it usable)."""
        groups = in_groups(jobs.c.autotask_entity, jobs.c.autotask_id, records)
        keyed = sorted(set(keys))
        if keyed:
            held = jobs.c.idempotency_key.in_(keyed)
            groups = [*groups[:-1], or_(groups[-1], held)] if groups else [held]
        found: dict[int, Job] = {}
        for condition in groups:
            query = select(jobs).where(
                jobs.c.qbwc_user == qbwc_user, status_is(*UNFINISHED_STATUSES), condition
            )
            for row in self.conn.execute(query).mappings():
                found[row["id"]] = Job.from_row(row)
        return [found[job_id] for job_id in sorted(found)]

    def done_keys(self, kind: str, keys: Iterable[str]) -> set[str]:
        """Which of these idempotency keys a done job of this kind holds (through the index on
        status and kind: the key's own index covers unfinished jobs only)."""
        keyed = sorted(set(keys))
        if not keyed:
            return set()
        # The kind as a literal too (see status_is): a generic plan guessing how many jobs have
        # "some kind" reads the whole table.
        query = select(jobs.c.idempotency_key).where(
            status_is(JobStatus.DONE),
            jobs.c.kind == literal(kind, literal_execute=True),
            jobs.c.idempotency_key.in_(keyed),
        )
        return {str(key) for key in self.conn.execute(query).scalars()}

    def products_in_active_jobs(
        self, qbwc_user: str, kinds: Iterable[str], product_ids: Iterable[int]
    ) -> set[int]:
        """Which of these products (``payload["product_id"]``) an active job of one of these
        kinds, of this user, is about."""
        product = jobs.c.payload["product_id"].as_integer()
        query = (
            select(product)
            .where(
                jobs.c.qbwc_user == qbwc_user,
                jobs.c.kind.in_(list(kinds)),
                status_is(*ACTIVE_STATUSES),
                product.in_(list(product_ids)),
            )
            .distinct()
        )
        return set(self.conn.execute(query).scalars())

    def transfers_to_write_back(self, qbwc_user: str) -> list[tuple[int, dict[str, Any]]]:
        """(PO id, result of its latest done ``purchase_order`` job) of this user's POs whose
        transfer is done and whose QuickBooks number the poller has not written to Autotask
        yet, nor put off until later: joins the poller's ``poller_orders``."""
        query = (
            select(jobs.c.autotask_id, jobs.c.result)
            .select_from(
                jobs.join(
                    poller_orders,
                    and_(
                        poller_orders.c.po_id == jobs.c.autotask_id,
                        jobs.c.autotask_entity == "PurchaseOrders",
                    ),
                )
            )
            .where(
                jobs.c.kind == "purchase_order",
                jobs.c.status == JobStatus.DONE,
                jobs.c.qbwc_user == qbwc_user,
                poller_orders.c.written_back.is_(None),
                or_(
                    poller_orders.c.write_back_after.is_(None),
                    poller_orders.c.write_back_after <= self.now,
                ),
            )
            .order_by(jobs.c.id)
        )
        found: dict[int, dict[str, Any]] = {}
        for po_id, result in self.conn.execute(query):
            found[int(po_id)] = dict(result or {})
        return list(found.items())

    def dependents_within(self, job_id: int, statuses: Iterable[JobStatus]) -> list[int]:
        """The jobs that wait for this one, directly or through others, reached only through
        jobs of these statuses, in one statement: each after the jobs that wait for it (depth
        first, a job's dependents by id, each job where it is reached first)."""
        wanted = status_is(*statuses)
        dependency = job_dependencies
        found = (
            select(dependency.c.job_id, dependency.c.depends_on_id)
            .join(jobs, jobs.c.id == dependency.c.job_id)
            .where(dependency.c.depends_on_id == job_id, wanted)
            .cte("found", recursive=True)
        )
        further = job_dependencies.alias("further")
        found = found.union(
            select(further.c.job_id, further.c.depends_on_id)
            .join(found, found.c.job_id == further.c.depends_on_id)
            .join(jobs, jobs.c.id == further.c.job_id)
            .where(wanted)
        )
        waiting: dict[int, list[int]] = {}
        for dependent, prerequisite in self.conn.execute(select(found)).all():
            waiting.setdefault(int(prerequisite), []).append(int(dependent))
        ordered: list[int] = []
        seen: set[int] = set()

        def visit(current: int) -> None:
            for dependent in sorted(waiting.get(current, ())):
                if dependent not in seen:
                    seen.add(dependent)
                    visit(dependent)
                    ordered.append(dependent)

        visit(job_id)
        return ordered

    def lock_if_status(self, job_ids: Iterable[int], statuses: Iterable[JobStatus]) -> set[int]:
        """Lock those of these jobs that have one of these statuses now (until the transaction
        ends: a claim skips them); return their ids."""
        ids = list(job_ids)
        if not ids:
            return set()
        query = (
            select(jobs.c.id)
            .where(jobs.c.id.in_(ids), jobs.c.status.in_(list(statuses)))
            .with_for_update()
        )
        return set(self.conn.execute(query).scalars())

    # -- enqueueing ------------------------------------------------------------------------

    def enqueue(self, new: NewJob) -> tuple[Job, bool]:
        """Add a job; return it and whether it is new.

        With an idempotency key held by an unfinished job, nothing is added and that job is
        returned: the database's partial unique index decides, so two processes enqueueing the
        same work at once still make one job. A job whose prerequisites are all done is pending;
        one with a failed or cancelled prerequisite is failed at once, naming it; others wait.
        """
        return self.enqueue_many([new])[0]

    def enqueue_many(self, entries: Sequence[NewJob]) -> list[tuple[Job, bool]]:
        """Add many jobs in a few statements; return each entry's job and whether it is new.

        The outcome is that of :meth:`enqueue` of each entry in turn (ids follow the list's
        order too), where ``depends_on`` may name an earlier entry's job as :class:`Ref` and the
        idempotency key may be a :data:`KeyMaker` of the prerequisites' ids. An entry whose key
        is held, by an unfinished job or by an earlier entry, resolves to that job, and the
        entries naming it depend on that job. (Two entries whose computed keys are equal resolve
        to the one inserted first: the one whose references are fewer levels deep.)

        Statements, whatever the number of entries: the ids reserved, the prerequisites already
        stored locked ``FOR SHARE`` (as :meth:`enqueue` does), then for each level of references
        (an entry naming a job of the level before) one multi-row ``INSERT … ON CONFLICT DO
        NOTHING`` and, where keys were taken meanwhile, a ``SELECT`` of their holders; last, one
        ``INSERT`` of the dependencies. SQLAlchemy splits an ``INSERT`` of over 1,000 rows.
        """
        if not entries:
            return []
        levels = _levels(entries)
        stored = {d for entry in entries for d in entry.depends_on if not isinstance(d, Ref)}
        known = {job.id: job for job in self._lock_prerequisites(sorted(stored))}
        ids = self._reserve_ids(len(entries)) if len(entries) > 1 else [None]
        results: dict[int, tuple[Job, bool]] = {}
        waits: dict[int, list[Job]] = {}  # new job's entry → its prerequisites
        owner: dict[str, int] = {}  # key → the entry whose row carries it
        for level in range(max(levels) + 1):
            rows: dict[int, dict[str, Any]] = {}
            same: dict[int, int] = {}  # entry → the entry of this level with the same key
            for index in (i for i, lv in enumerate(levels) if lv == level):
                entry = entries[index]
                key = entry.idempotency_key
                prerequisites: list[Job] = []
                if not isinstance(key, str) or key not in owner:
                    named = [
                        results[d.index][0] if isinstance(d, Ref) else known[d]
                        for d in entry.depends_on
                    ]
                    prerequisites = _unique(named)
                    if callable(key):
                        key = key(tuple(p.id for p in named))
                if key is not None and key in owner:
                    same[index] = owner[key]
                    continue
                if key is not None:
                    owner[key] = index
                rows[index] = self._job_row(entry, key, prerequisites, ids[index])
                waits[index] = prerequisites
            for index, (job, created) in self._insert_level(rows).items():
                results[index] = (job, created)
                if not created:
                    del waits[index]
            for index, first in same.items():
                results[index] = (results[first][0], False)
        self._insert_dependencies(
            [
                {"job_id": results[index][0].id, "depends_on_id": p.id}
                for index, prerequisites in waits.items()
                for p in prerequisites
            ]
        )
        return [results[index] for index in range(len(entries))]

    def _insert_level(self, rows: Mapping[int, dict[str, Any]]) -> dict[int, tuple[Job, bool]]:
        """Insert one level's rows (by entry): each entry's new job, or the unfinished job that
        holds its key, and whether it is new."""
        inserted = self._insert_jobs(rows)
        taken = [i for i in rows if i not in inserted]
        holders = self._key_holders([rows[i]["idempotency_key"] for i in taken])
        return {
            index: (
                (inserted[index], True)
                if index in inserted
                else (holders[rows[index]["idempotency_key"]], False)
            )
            for index in rows
        }

    def _job_row(
        self, new: NewJob, key: str | None, prerequisites: Sequence[Job], job_id: int | None
    ) -> dict[str, Any]:
        failed = next((p for p in prerequisites if p.status in BROKEN_STATUSES), None)
        values = {
            "kind": new.kind,
            "qbwc_user": new.qbwc_user,
            "status": birth_status([p.status for p in prerequisites]),
            "priority": new.priority,
            "payload": new.payload,
            "state": {},
            "result": None,
            "subject": new.subject[:300],
            "autotask_entity": new.autotask_entity,
            "autotask_id": new.autotask_id,
            "idempotency_key": key,
            "attempts": 0,
            "max_attempts": new.max_attempts or self.retry_policy.max_attempts,
            "run_after": self.now,
            "error": self._prerequisite_error(failed) if failed is not None else None,
            "failed_by": failed.id if failed is not None else None,
            "created_at": self.now,
            "updated_at": self.now,
        }
        if job_id is not None:
            values["id"] = job_id
        return values

    def _reserve_ids(self, count: int) -> list[int]:
        """Ids for ``count`` new jobs, ascending, that no other job gets."""
        if self._postgres:
            sequence = func.nextval(func.pg_get_serial_sequence("jobs", "id"))
            query = select(sequence).select_from(func.generate_series(1, count))
            return sorted(int(i) for i in self.conn.execute(query).scalars())
        # SQLite: the transaction holds the write lock (BEGIN IMMEDIATE, service/db.py), and a
        # rowid table without AUTOINCREMENT gives the next row max(id) + 1 anyway.
        highest = self.conn.execute(select(func.coalesce(func.max(jobs.c.id), 0))).scalar_one()
        return list(range(int(highest) + 1, int(highest) + 1 + count))

    def _insert_jobs(self, rows: Mapping[int, dict[str, Any]]) -> dict[int, Job]:
        """Insert rows (by entry) skipping those whose key an unfinished job holds; return the
        jobs made, by entry."""
        if not rows:
            return {}
        dialect_insert = pg_insert if self._postgres else sqlite_insert
        statement = (
            dialect_insert(jobs)
            .on_conflict_do_nothing(
                index_elements=[jobs.c.idempotency_key], index_where=text(UNFINISHED_PREDICATE)
            )
            .returning(*jobs.c)
        )
        # RETURNING the whole row: a new job is not read again. The rows go as parameters, not
        # into .values(): SQLAlchemy then compiles the statement once, and sends many rows as one
        # multi-row INSERT (insertmanyvalues).
        made = [
            Job.from_row(row)
            for row in self.conn.execute(statement, list(rows.values())).mappings()
        ]
        by_id = {row.get("id"): index for index, row in rows.items()}
        if None in by_id:  # a single row, its id left to the database
            return {by_id[None]: made[0]} if made else {}
        return {by_id[job.id]: job for job in made}

    def _key_holders(self, keys: Sequence[str]) -> dict[str, Job]:
        """The unfinished jobs holding these keys, by key, locked like prerequisites (later
        entries may depend on them)."""
        if not keys:
            return {}
        query = (
            select(jobs)
            .where(jobs.c.idempotency_key.in_(keys), status_is(*UNFINISHED_STATUSES))
            .with_for_update(read=True)
        )
        rows = self.conn.execute(query).mappings()
        found = {row["idempotency_key"]: Job.from_row(row) for row in rows}
        missing = sorted(set(keys) - set(found))
        if missing:
            raise JobStoreError(f"key(s) taken, yet no unfinished job holds them: {missing}")
        return found

    def _insert_dependencies(self, rows: Sequence[dict[str, int]]) -> None:
        if rows:
            # RETURNING makes SQLAlchemy send one multi-row INSERT, not one statement per row.
            self.conn.execute(insert(job_dependencies).returning(job_dependencies.c.job_id), rows)

    def _lock_prerequisites(self, ids: Sequence[int]) -> list[Job]:
        if not ids:
            return []
        # FOR SHARE: a prerequisite cannot change status until this transaction ends, so it
        # cannot finish between this read and the insert (its completion would then miss the
        # new dependent and leave it waiting forever).
        query = select(jobs).where(jobs.c.id.in_(set(ids))).with_for_update(read=True)
        found = [Job.from_row(row) for row in self.conn.execute(query).mappings()]
        missing = set(ids) - {job.id for job in found}
        if missing:
            raise JobNotFound(f"prerequisite job(s) not found: {sorted(missing)}")
        return found

    # -- claiming --------------------------------------------------------------------------

    def claim(
        self, *, session_id: int, qbwc_user: str, limit: int, lease_seconds: int
    ) -> list[Job]:
        """Hand up to ``limit`` ready jobs of this user to a session, in one statement.

        On PostgreSQL the candidates are picked ``FOR UPDATE SKIP LOCKED``: two sessions claiming
        at once get different jobs and neither waits. SQLite has one writer, and every
        transaction begins IMMEDIATE (service/db.py), so claims there are serialised.
        """
        params = {
            "p_user": qbwc_user,
            "p_now": self.now,
            "p_limit": limit,
            "p_session_id": session_id,
            "p_expires": self.now + timedelta(seconds=lease_seconds),
        }
        statement = _claim_statement()
        rows = self.conn.execute(statement, params).mappings()
        claimed = [Job.from_row(row) for row in rows]
        return sorted(claimed, key=lambda job: (job.priority, job.id))

    def unclaim(self, job_ids: Sequence[int]) -> None:
        """Give claimed jobs back untouched, as if they had not been claimed."""
        if not job_ids:
            return
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), jobs.c.status == JobStatus.IN_FLIGHT)
            .values(status=JobStatus.PENDING, attempts=jobs.c.attempts - 1, **self._no_lease())
        )

    def leased_to(self, session_id: int) -> list[Job]:
        """The in-flight jobs a session holds."""
        query = (
            select(jobs)
            .where(jobs.c.lease_session_id == session_id, status_is(JobStatus.IN_FLIGHT))
            .order_by(jobs.c.id)
        )
        return [Job.from_row(row) for row in self.conn.execute(query).mappings()]

    # -- transmissions ---------------------------------------------------------------------

    def record_request(
        self,
        job: Job,
        *,
        session_id: int,
        request_id: str,
        request_xml: str,
        state: dict[str, Any],
    ) -> int:
        """Log a request about to be sent for ``job`` and save the job's step state with it;
        return the transmission's id."""
        sent = SentRequest(job, request_id, request_xml, state)
        self._save_states([sent])
        row = self._transmission(session_id, sent)
        return int(self.conn.execute(_INSERT_TRANSMISSION_RETURNING, row).scalar_one())

    def record_requests(self, session_id: int, sent: Sequence[SentRequest]) -> None:
        """Log the requests of one message in one statement, and save the step states that
        changed in one more."""
        if not sent:
            return
        self._save_states(sent)
        # Rows as parameters of one short INSERT, without RETURNING: the driver sends them
        # together (psycopg: a pipeline of one prepared statement). A multi-row INSERT of 50
        # rows would be too long for psycopg's cache and converted anew on every call.
        rows = [self._transmission(session_id, s) for s in sent]
        self.conn.execute(_INSERT_TRANSMISSIONS, rows)

    def _save_states(self, sent: Sequence[SentRequest]) -> None:
        changed = {s.job.id: s.state for s in sent if s.state != s.job.state}
        if changed:
            params = {"p_now": self.now, **_by_id_params(changed, "state")}
            self.conn.execute(_save_states_statement(len(changed)), params)

    def _transmission(self, session_id: int, sent: SentRequest) -> dict[str, Any]:
        return {
            "job_id": sent.job.id,
            "session_id": session_id,
            "request_id": sent.request_id,
            "request_xml": sent.request_xml,
            "sent_at": self.now,
        }

    def open_transmissions(self, session_id: int) -> list[Transmission]:
        """Requests this session sent that have no answer yet, oldest first."""
        query = (
            select(transmissions)
            .where(
                transmissions.c.session_id == session_id,
                transmissions.c.received_at.is_(None),
            )
            .order_by(transmissions.c.id)
        )
        return [Transmission.from_row(row) for row in self.conn.execute(query).mappings()]

    def session_with_open_requests(
        self, sessions: Select[Any], params: Mapping[str, Any]
    ) -> tuple[RowMapping | None, list[OpenRequest], dict[int, Job]]:
        """The row of ``sessions`` (a query of at most one ``wc_sessions`` row, with its
        ``params``), the requests that session sent that have no answer yet (oldest first) and
        their jobs, in one statement; ``(None, [], {})`` when there is no such session.

        The session's row stays locked until the transaction ends: two calls on one session at
        once take turns. PostgreSQL re-reads only that row once the lock is free, not the
        requests joined to it, so the second call may still see requests the first one answered:
        :meth:`record_answers` tells which are still open.
        """
        rows = list(self.conn.execute(_with_open_requests(sessions), params).mappings())
        if not rows:
            return None, [], {}
        if rows[0]["t_id"] is None:
            return rows[0], [], {}
        sent = [OpenRequest(r["t_id"], r["t_job_id"], r["t_request_id"]) for r in rows]
        found = [Job.from_row({c: r[j] for c, j in _J_LABELS}) for r in rows]
        return rows[0], sent, {job.id: job for job in found}

    def remove_finished_transmissions(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` transmissions sent before ``before`` of jobs that ended done or
        cancelled before it (a failed job's stay: an operator needs them); return how many
        went."""
        old = (
            select(transmissions.c.id)
            .join(jobs, jobs.c.id == transmissions.c.job_id)
            .where(
                status_is(*FINISHED_STATUSES),
                jobs.c.updated_at < before,
                transmissions.c.sent_at < before,
            )
            .limit(limit)
        )
        batch = list(self.conn.execute(old).scalars())
        if batch:
            self.conn.execute(delete(transmissions).where(transmissions.c.id.in_(batch)))
        return len(batch)

    def record_answer(self, transmission_id: int, answer: Answer) -> None:
        """Fill in the answer of a transmission (once: an answered transmission is kept as is)."""
        self.record_answers({transmission_id: answer})

    def record_answers(self, answers: Mapping[int, Answer]) -> set[int]:
        """Fill in the answers of many transmissions, by id, in one statement (each once);
        return the ids of those that had no answer yet (the others are kept as they are)."""
        if not answers:
            return set()
        values = {tid: vars(answer) for tid, answer in answers.items()}
        params = {"p_now": self.now, **_by_id_params(values, *_ANSWER_COLUMNS)}
        return set(self.conn.execute(_record_answers_statement(len(answers)), params).scalars())

    # -- outcomes --------------------------------------------------------------------------

    def complete(self, job_id: int, result: dict[str, Any]) -> list[int]:
        """Mark a job done; return the dependents that became ready."""
        return self.complete_many({job_id: result})

    def complete_many(self, results: Mapping[int, dict[str, Any]]) -> list[int]:
        """Mark jobs done with their results in one statement, then release their dependents in
        one more; return the dependents that became ready."""
        if not results:
            return []
        params = {"p_now": self.now, **_by_id_params(results, "result")}
        self.conn.execute(_complete_statement(len(results)), params)
        return self._release_dependents(list(results))

    def advance(self, job_id: int, state: dict[str, Any]) -> None:
        """The job's step succeeded and another follows: ready again at once, attempts reset."""
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(
                status=JobStatus.PENDING,
                state=state,
                attempts=0,
                error=None,
                run_after=self.now,
                **self._no_lease(),
            )
        )

    def retry_later(
        self, job_id: int, error: str, *, state: dict[str, Any] | None = None, delay: bool = True
    ) -> str:
        """Transient trouble: try again after a backoff, or fail once attempts are used up.

        Returns the job's new status.
        """
        job = self.get(job_id)
        if job.attempts >= job.max_attempts:
            self.fail(job_id, f"gave up after {job.attempts} attempts: {error}")
            return JobStatus.FAILED
        run_after = self.now + self.retry_policy.delay(job.attempts) if delay else self.now
        values: dict[str, Any] = {
            "status": JobStatus.PENDING,
            "error": error,
            "run_after": run_after,
            **self._no_lease(),
        }
        if state is not None:
            values["state"] = state
        self.conn.execute(update(jobs).where(jobs.c.id == job_id).values(values))
        return JobStatus.PENDING

    def fail(self, job_id: int, error: str) -> list[int]:
        """Mark a job failed and fail every job that waits on it; return the dependents failed."""
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(status=JobStatus.FAILED, error=error, **self._no_lease())
        )
        return self._fail_dependents(job_id)

    def _fail_dependents(self, root_id: int) -> list[int]:
        failed: list[int] = []
        frontier = [self.get(root_id)]
        while frontier:
            prerequisite = frontier.pop()
            waiting = self.conn.execute(
                select(jobs)
                .where(
                    jobs.c.id.in_(
                        select(job_dependencies.c.job_id).where(
                            job_dependencies.c.depends_on_id == prerequisite.id
                        )
                    ),
                    jobs.c.status.in_((JobStatus.WAITING, JobStatus.PENDING)),
                )
                .order_by(jobs.c.id)
            ).mappings()
            for row in list(waiting):
                dependent = Job.from_row(row)
                self.conn.execute(
                    update(jobs)
                    .where(jobs.c.id == dependent.id)
                    .values(
                        status=JobStatus.FAILED,
                        error=self._prerequisite_error(prerequisite),
                        failed_by=prerequisite.id,
                        **self._no_lease(),
                    )
                )
                failed.append(dependent.id)
                frontier.append(self.get(dependent.id))
        return failed

    @staticmethod
    def _prerequisite_error(prerequisite: Job) -> str:
        verb = "was cancelled" if prerequisite.status == JobStatus.CANCELLED else "failed"
        reason = f": {prerequisite.error}" if prerequisite.error else ""
        return f"prerequisite {_describe(prerequisite)} {verb}{reason}"

    def _release_dependents(self, job_ids: Sequence[int]) -> list[int]:
        params = {"p_ids": list(job_ids), "p_now": self.now}
        return sorted(self.conn.execute(_release_dependents_statement(), params).scalars())

    def _no_lease(self) -> dict[str, Any]:
        return {
            "lease_session_id": None,
            "leased_at": None,
            "lease_expires_at": None,
            "updated_at": self.now,
        }

    # -- leases ----------------------------------------------------------------------------

    def release_session(self, session_id: int, reason: str) -> list[int]:
        """The session ended: its in-flight jobs are ready again (their answers never came)."""
        held = self.leased_to(session_id)
        self._give_up_on(held, reason)
        return [job.id for job in held]

    def rescue_expired(self) -> list[int]:
        """In-flight jobs whose lease has expired are ready again; return their ids."""
        query = select(jobs).where(
            status_is(JobStatus.IN_FLIGHT),
            or_(jobs.c.lease_expires_at < self.now, jobs.c.lease_session_id.is_(None)),
        )
        expired = [Job.from_row(row) for row in self.conn.execute(query).mappings()]
        self._give_up_on(expired, "lease expired")
        return [job.id for job in expired]

    def _give_up_on(self, held: Sequence[Job], reason: str) -> None:
        for job in held:
            self.conn.execute(
                update(transmissions)
                .where(
                    transmissions.c.job_id == job.id,
                    transmissions.c.session_id == job.lease_session_id,
                    transmissions.c.received_at.is_(None),
                )
                .values(message=f"no answer: {reason}", received_at=self.now)
            )
            # Not delayed: nothing says QuickBooks is in trouble, only that the answer was lost.
            self.retry_later(job.id, f"no answer from QuickBooks ({reason})", delay=False)

    # -- operator actions ------------------------------------------------------------------

    def retry(self, job_id: int) -> Retried:
        """Operator retry of a failed or cancelled job (or of the prerequisite that failed it).

        The job that actually failed is made ready again with fresh attempts, and the jobs its
        failure had failed wait for it again.
        """
        job = self.get(job_id)
        if job.status not in BROKEN_STATUSES:
            raise JobStoreError(
                f"job #{job.id} is {job.status}; only failed or cancelled jobs can be retried"
            )
        root = job
        while root.failed_by is not None:
            root = self.get(root.failed_by)
            if root.status not in BROKEN_STATUSES:
                break
        if root.idempotency_key is not None and root.status == JobStatus.CANCELLED:
            newer = self.conn.execute(
                select(jobs.c.id).where(
                    jobs.c.idempotency_key == root.idempotency_key,
                    status_is(*UNFINISHED_STATUSES),
                    jobs.c.id != root.id,
                )
            ).scalar()
            if newer is not None:
                raise JobStoreError(f"job #{newer} already carries the same work as job #{root.id}")
        blocked = any(
            p.status != JobStatus.DONE for p in self.get_many(self.prerequisites(root.id)).values()
        )
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == root.id)
            .values(
                status=JobStatus.WAITING if blocked else JobStatus.PENDING,
                attempts=0,
                error=None,
                failed_by=None,
                run_after=self.now,
                **self._no_lease(),
            )
        )
        others = {root.id, *self._rewait_dependents(root.id)} - {job_id}
        requeued = self.get_many(others)
        return Retried(self.get(job_id), [requeued[i] for i in sorted(requeued)])

    def _rewait_dependents(self, root_id: int) -> list[int]:
        """Make the jobs ``root_id``'s failure failed wait for it again; return their ids."""
        frontier, revived = [root_id], []
        while frontier:
            current = frontier.pop()
            found = self.conn.execute(
                update(jobs)
                .where(jobs.c.failed_by == current, jobs.c.status == JobStatus.FAILED)
                .values(status=JobStatus.WAITING, error=None, failed_by=None, updated_at=self.now)
                .returning(jobs.c.id)
            ).scalars()
            ids = [int(i) for i in found]
            frontier.extend(ids)
            revived.extend(ids)
        return revived

    def cancel(self, job_id: int) -> Job:
        """Operator cancel: the job will not run; the jobs waiting on it fail, naming it."""
        job = self.get(job_id)
        if job.status in (JobStatus.DONE, JobStatus.CANCELLED):
            raise JobStoreError(f"job #{job.id} is already {job.status}")
        self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id)
            .values(status=JobStatus.CANCELLED, **self._no_lease())
        )
        self._fail_dependents(job_id)
        return self.get(job_id)

    def set_run_after(self, job_id: int, when: datetime) -> None:
        """Move a pending job's next run (used by tests and by operators' tools)."""
        self.conn.execute(
            update(jobs)
            .where(and_(jobs.c.id == job_id, jobs.c.status == JobStatus.PENDING))
            .values(run_after=when, updated_at=self.now)
        )
