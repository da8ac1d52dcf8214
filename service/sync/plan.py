"""An enqueue call's view of the database, read up front, and the writes it decides, made at once.

Deciding what one purchase order needs reads its mappings and the unfinished jobs about it, and
writes jobs and mapping data; done PO by PO against the database, a first poll of 1,000 POs ran
some 36,000 statements. A :class:`Plan` instead

* reads what the call will ask about in a few statements (:meth:`Plan.load`): the unfinished jobs
  about the call's Autotask records, the jobs holding some idempotency keys, the mappings;
* answers the call's questions from that snapshot, which also holds what the call has decided so
  far (a job planned by :meth:`Plan.add` is found by its key and among the jobs about its record,
  as a stored one would be);
* writes the jobs (:meth:`JobStore.enqueue_many`) and the mapping data
  (:meth:`Mappings.put_many`) in a few statements when flushed (:meth:`Plan.flush`).

A planned job is a :class:`Planned` until the flush: it stands where a stored :class:`Job` would
(``id``, ``kind``, ``status``, ``payload``), its ``id`` a :class:`Ref` that the flush resolves. The
database still decides at the flush: a key another process took meanwhile resolves to that
process's job, and the jobs planned after it depend on that one (:meth:`Plan.resolve` tells).
Cancelling is rare (newer data superseding failed jobs) and goes to the database at once, after a
flush, and the snapshot of jobs is read again.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as Map
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from service.jobstatus import UNFINISHED_STATUSES, JobStatus
from service.jobstore import Job, JobStore, NewJob, Ref, birth_status
from service.sync.mapping import Mapping, MappingKind, Mappings

CANCELLABLE = (JobStatus.PENDING, JobStatus.WAITING, JobStatus.FAILED)


@dataclass(frozen=True)
class Planned:
    """A job the plan will add at its flush: it stands where the stored job would."""

    ref: Ref
    new: NewJob
    #: What the job will be born as, from its prerequisites as the plan knows them.
    status: JobStatus

    @property
    def id(self) -> Ref:
        """The reference later jobs of the plan depend on."""
        return self.ref

    @property
    def kind(self) -> str:
        """The job's kind."""
        return self.new.kind

    @property
    def payload(self) -> dict[str, Any]:
        """The job's payload."""
        return self.new.payload


#: A job as an enqueue call sees it: stored, or planned in this call.
Handle = Job | Planned


def order(prerequisite: int | Ref) -> tuple[int, int]:
    """Sort key of prerequisites as their ids will sort: stored jobs first (by id), then planned
    ones in the order they were planned."""
    return (1, prerequisite.index) if isinstance(prerequisite, Ref) else (0, prerequisite)


class Plan:
    """The snapshot and the planned writes of enqueue calls for one company file (user), in the
    caller's transaction at the instant ``now``."""

    def __init__(self, conn: Connection, now: datetime, qbwc_user: str) -> None:
        self.user = qbwc_user
        self.store = JobStore(conn, now)
        self.mappings = Mappings(conn, now, qbwc_user)
        self._records: dict[str, set[int]] = {}
        self._keys: set[str] = set()
        self._about: dict[tuple[str, int], list[Handle]] = {}
        self._held: dict[str, Handle] = {}
        self._done: dict[tuple[str, str], bool] = {}
        self._status: dict[int, str] = {}
        self._mapped: dict[MappingKind, dict[int, Mapping | None]] = {}
        self._data: dict[MappingKind, dict[int, dict[str, Any]]] = {}
        self._planned: list[Planned] = []
        self._results: list[tuple[Job, bool]] = []

    # -- reading -----------------------------------------------------------------------------

    def load(
        self,
        *,
        records: Map[str, Iterable[int]],
        keys: Iterable[str] = (),
        done: tuple[str, Iterable[str]] | None = None,
        mappings: Map[MappingKind, Iterable[int]],
    ) -> None:
        """Read the unfinished jobs about ``records`` (Autotask ids by entity) or holding
        ``keys``, which of the keys of ``done`` (a kind and keys) a done job holds, and the
        mappings of ``mappings``, in a few statements. Whatever else is asked is read when
        asked."""
        self.flush()
        for entity, ids in records.items():
            self._records.setdefault(entity, set()).update(ids)
        self._keys.update(keys)
        self._load_jobs()
        if done is not None:
            self._read_done(*done)
        wanted: dict[MappingKind, Iterable[int]] = {
            kind: sorted(set(ids)) for kind, ids in mappings.items()
        }
        found = self.mappings.get_kinds(wanted)
        for kind, ids in wanted.items():
            known = self._mapped.setdefault(kind, {})
            for autotask_id in ids:
                known[autotask_id] = found[kind].get(autotask_id)

    def jobs_about(
        self, entity: str, autotask_id: int, kinds: Iterable[str], statuses: Iterable[str]
    ) -> list[Handle]:
        """The user's jobs about one Autotask record, stored or planned, oldest first (only
        unfinished statuses can be asked for)."""
        kinds, statuses = set(kinds), set(statuses)
        assert statuses <= set(UNFINISHED_STATUSES), statuses
        self._read_record(entity, autotask_id)
        return [
            job
            for job in self._about.get((entity, autotask_id), [])
            if job.kind in kinds and job.status in statuses
        ]

    def done(self, kind: str, key: str) -> bool:
        """Whether a done job of this kind holds this key."""
        if (kind, key) not in self._done:
            self._read_done(kind, [key])
        return self._done[(kind, key)]

    def mapping(self, kind: MappingKind, autotask_id: int) -> Mapping | None:
        """The mapping of one Autotask record (with the data put in this plan), or None."""
        return self.mappings_of(kind, [autotask_id]).get(autotask_id)

    def mappings_of(self, kind: MappingKind, autotask_ids: Iterable[int]) -> dict[int, Mapping]:
        """The mappings of several records of one kind, by Autotask id."""
        ids = sorted(set(autotask_ids))
        known = self._mapped.setdefault(kind, {})
        missing = [i for i in ids if i not in known]
        if missing:
            found = self.mappings.get_many(kind, missing)
            known.update({i: found.get(i) for i in missing})
        return {i: mapping for i in ids if (mapping := known[i]) is not None}

    # -- planning ----------------------------------------------------------------------------

    def add(self, new: NewJob) -> tuple[Handle, bool]:
        """Plan a job; return it and whether it is new, or the job (stored or planned) that holds
        its key. The flush has the last word: see :meth:`resolve`."""
        key = new.idempotency_key
        if callable(key) and not any(isinstance(d, Ref) for d in new.depends_on):
            key = key(tuple(d for d in new.depends_on if isinstance(d, int)))
        if isinstance(key, str) and key in self._held:
            return self._held[key], False
        status = birth_status(self._status_of(d) for d in new.depends_on)
        planned = Planned(Ref(len(self._planned)), new, status)
        self._planned.append(planned)
        if isinstance(key, str):
            self._held[key] = planned
        if new.autotask_entity is not None and new.autotask_id is not None:
            self._read_record(new.autotask_entity, new.autotask_id)
            self._about[(new.autotask_entity, new.autotask_id)].append(planned)
        return planned, True

    def put_data(self, kind: MappingKind, autotask_id: int, data: dict[str, Any]) -> None:
        """Merge ``data`` into a record's mapping (made when missing) at the flush, as
        :meth:`Mappings.put` does; the plan's reads see it at once."""
        data = {k: v for k, v in data.items() if v is not None}
        known = self.mapping(kind, autotask_id) or Mapping(kind, autotask_id, None, None, None, {})
        self._mapped[kind][autotask_id] = replace(known, data={**known.data, **data})
        self._data.setdefault(kind, {}).setdefault(autotask_id, {}).update(data)

    def cancel_with_dependents(self, job: int | Ref) -> list[int]:
        """Cancel a job that is pending, waiting or failed, after its dependents in that state
        (recursively); return the ids cancelled, in order. The plan is flushed first, and its
        jobs read again after."""
        self.flush()
        cancelled = self._cancel(job if isinstance(job, int) else self._results[job.index][0].id)
        self._load_jobs()
        return cancelled

    # -- writing -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Write the jobs and mapping data planned since the last flush."""
        start = len(self._results)
        entries = [
            replace(p.new, depends_on=tuple(self._local(d, start) for d in p.new.depends_on))
            for p in self._planned[start:]
        ]
        for job, created in self.store.enqueue_many(entries):
            self._results.append((job, created))
            self._status[job.id] = job.status
        for kind, data in self._data.items():
            self.mappings.put_many(kind, data)
        self._data.clear()

    def resolve(self, job: Handle) -> tuple[Job, bool]:
        """A job as flushed: the stored job, and whether this plan made it."""
        if isinstance(job, Job):
            return job, False
        return self._results[job.ref.index]

    # -- the snapshot ------------------------------------------------------------------------

    def _load_jobs(self) -> None:
        """(Re)read the snapshot of jobs; everything planned is flushed."""
        assert len(self._results) == len(self._planned), "flush before reading jobs again"
        stored = self.store.unfinished_about(self.user, self._records, self._keys)
        self._about = {(e, i): [] for e, ids in self._records.items() for i in ids}
        self._held = {}
        for job in stored:
            self._status[job.id] = job.status
            if job.idempotency_key is not None:
                self._held[job.idempotency_key] = job
            about = (job.autotask_entity or "", job.autotask_id or 0)
            if about in self._about:
                self._about[about].append(job)

    def _read_done(self, kind: str, keys: Iterable[str]) -> None:
        keys = list(keys)
        found = self.store.done_keys(kind, keys)
        self._done.update({(kind, key): key in found for key in keys})

    def _read_record(self, entity: str, autotask_id: int) -> None:
        if autotask_id in self._records.get(entity, ()):
            return
        self._records.setdefault(entity, set()).add(autotask_id)
        stored = self.store.unfinished_about(self.user, {entity: [autotask_id]})
        for job in stored:
            self._status[job.id] = job.status
            if job.idempotency_key is not None:
                self._held.setdefault(job.idempotency_key, job)
        self._about[(entity, autotask_id)] = [*stored, *self._about.get((entity, autotask_id), [])]

    def _status_of(self, prerequisite: int | Ref) -> str:
        if isinstance(prerequisite, Ref):
            flushed = prerequisite.index < len(self._results)
            return (
                self._results[prerequisite.index][0].status
                if flushed
                else self._planned[prerequisite.index].status
            )
        return self._status.get(
            prerequisite, JobStatus.WAITING
        )  # unknown here: not known to be done

    def _local(self, prerequisite: int | Ref, start: int) -> int | Ref:
        """A prerequisite as the flush of the entries from ``start`` names it."""
        if not isinstance(prerequisite, Ref):
            return prerequisite
        if prerequisite.index < start:
            return self._results[prerequisite.index][0].id
        return Ref(prerequisite.index - start)

    def _cancel(self, job_id: int) -> list[int]:
        found = [*self.store.dependents_within(job_id, CANCELLABLE), job_id]
        # Locked and read again: a job a session claimed since the read above is not cancelled
        # under its answer (and, locked, none can be claimed until this transaction ends).
        still = self.store.lock_if_status(found, CANCELLABLE)
        cancelled = [each for each in found if each in still]
        for each in cancelled:
            self.store.cancel(each)
        return cancelled
