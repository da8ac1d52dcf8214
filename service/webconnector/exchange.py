"""The exchange between Web Connector sessions and the job store.

Each method is one Web Connector call, carried out in one database transaction; the SOAP layer
(:mod:`service.webconnector.soap`) only translates the protocol into these calls. All state
(tickets, leases, progress, the text getLastError answers) lives in the database, so any service
process behind the same address can serve any call of a session.

One round trip: ``send_request_xml`` claims ready jobs (up to the batch size), asks each job's
kind for its next request, records every request, and returns them together in one qbXML message
(``continueOnError``, ``requestID`` = job id). ``receive_response_xml`` matches each ``…Rs`` to
its job by ``requestID``, records the answer and lets the kind decide: done, next step, retry
later or failed.

Two things keep round trips few (:mod:`service.kinds`): a kind may decide without a request (the
job is finished at once and the jobs waiting for it are claimed in the same round trip), and
lookups of several jobs that have the same shape go out as one request, whose answer every one
of them reads (its requestID is the first job's id).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from service import __version__, metrics
from service.clock import utcnow
from service.db import Database
from service.jobkinds import builtin_kinds
from service.jobstatus import JobStatus
from service.jobstore import Answer, Job, JobStore, OpenRequest, SentRequest
from service.kinds import (
    MAX_LOOKUP_VALUES,
    Context,
    Decision,
    Done,
    Fail,
    JobKind,
    Lookup,
    Next,
    RetryLater,
    Step,
    StepOutcome,
    error_text,
)
from service.qbxml.build import Request, message
from service.qbxml.parse import QbXmlParseError, pair_responses, parse_response, raw_responses
from service.qbxml.status import describe_hresult
from service.qbxml.types import Response
from service.settings import Settings
from service.webconnector.sessions import Session, Sessions, short_ticket, verify_password
from service.webconnector.throttle import LoginThrottle

log = logging.getLogger("atqb.qbwc")

#: getLastError's answer that makes the Web Connector wait 5 seconds and ask again (qbwc.md 3).
NOOP = "NoOp"
#: Work due within this long keeps a session alive (NoOp) instead of ending it.
NOOP_HORIZON = timedelta(seconds=60)
#: The oldest qbXML version atqb speaks (QuickBooks 2014 and newer; qbxml.md 10).
MIN_QBXML_MAJOR = 13
#: QuickBooks rejected the whole message set as unparseable (qbwc.md 6.3).
HRESULT_PARSE_ERROR = "0x80040400"
#: qbXML status "Internal error": retried once, then the job fails.
INTERNAL_ERROR = 1000
#: Flags the exchange keeps on a job across its kind's steps until the next answer decides:
#: ``_solo`` (send alone after a parse error), ``_internal_error`` (a 1000 was already retried).
_CARRIED = ("_solo", "_internal_error")
#: How often (seconds) a process looks for quiet sessions and expired leases between
#: authenticates; every authenticate looks too.
HOUSEKEEPING_INTERVAL = 10.0
#: The raw answer kept on each transmission when QuickBooks' answer cannot be read.
UNREADABLE_KEPT = 100_000
#: Kept on a transmission whose answer holds no response for its request.
NO_RESPONSE = "QuickBooks' answer has no response for this request"
UNKNOWN_TICKET = (
    "atqb: this session's ticket is unknown or has expired; the Web Connector will "
    "start a new session at its next run"
)


@dataclass
class _Call:
    """Shared handles for one call's transaction."""

    conn: Connection
    now: datetime
    store: JobStore
    sessions: Sessions
    #: Jobs this call brought to an end (added to the session's count when the call ends).
    finished: int = 0
    #: Finished jobs not written yet: written together, set-based (:meth:`flush`).
    done: dict[int, dict[str, Any]] = field(default_factory=dict)

    def flush(self) -> None:
        """Write the jobs finished so far in one statement (and one that releases their
        dependents: it must run after the jobs are done, so that it sees a dependent another
        process enqueued meanwhile)."""
        self.store.complete_many(self.done)
        self.done.clear()


class Exchange:
    """Carries out each Web Connector call against the database."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        kinds: Mapping[str, JobKind] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.db = database
        self.settings = settings
        self.kinds = dict(kinds) if kinds is not None else dict(builtin_kinds())
        self.clock = clock
        self._housekept_at = -math.inf

    def _call(self, conn: Connection) -> _Call:
        now = self.clock()
        return _Call(conn, now, JobStore(conn, now), Sessions(conn, now))

    # -- calls without a session -----------------------------------------------------------

    def server_version(self) -> str:
        """Shown in the Web Connector's "More Information"."""
        log.info("serverVersion outcome=ok ms=%d", metrics.qbwc_call("serverVersion", "ok"))
        return f"atqb {__version__}"

    def client_version(self, version: str) -> str:
        """Every Web Connector 2.x works: "" lets the update go on."""
        ms = metrics.qbwc_call("clientVersion", "ok")
        # Cut: anyone can send megabytes as a version.
        log.info("clientVersion version=%r outcome=ok ms=%d", version[:64], ms)
        return ""

    # -- session life ----------------------------------------------------------------------

    def authenticate(self, user_name: str, password: str, address: str = "") -> list[str]:
        """Ticket and company file; ``["", "nvu"]`` for bad credentials; "none" with no work.

        ``address`` is the caller's: with the user name, it is locked out after repeated
        failures (:mod:`service.webconnector.throttle`), and then gets "nvu" whatever the password.
        """
        with self.db.transaction() as conn:
            user = Sessions(conn, self.clock()).find_user(user_name)
        # The memory-hard hash check runs outside the transaction: SQLite has one writer.
        throttle = LoginThrottle(self.db, self.clock)
        checked = throttle.attempt(user_name, address, lambda: verify_password(user, password))
        if not checked or user is None:
            ms = metrics.qbwc_call("authenticate", "nvu")
            log.warning("authenticate user=%r outcome=nvu ms=%d", user_name[:64], ms)
            return ["", "nvu"]
        with self.db.transaction() as conn:
            call = self._call(conn)
            self._housekeeping(call)
            for old in call.sessions.live_ids_of_user(user.id):
                # A new authenticate for the same user means the previous run is over.
                call.store.release_session(old, "new authenticate for the same user")
                call.sessions.end(old, "replaced by a new session")
            work = call.store.unfinished_count(user.name)
            ticket, session_id = call.sessions.open(
                user, idle_seconds=self.settings.session_idle_seconds, work_at_start=work
            )
            has_work = self._work_due(call, user.name)
        outcome = user.company_file if has_work else "none"
        verdict = "work" if has_work else "none"
        ms = metrics.qbwc_call("authenticate", verdict)
        log.info(
            "authenticate user=%s ticket=%s session=%d jobs=%d outcome=%s ms=%d",
            user.name,
            short_ticket(ticket),
            session_id,
            work,
            verdict,
            ms,
        )
        return [ticket, outcome]

    def connection_error(self, ticket: str, hresult: str, message: str) -> str:
        """QuickBooks could not be opened: end the session, keep the reason, stop ("done")."""
        with self.db.transaction() as conn:
            call = self._call(conn)
            session = call.sessions.find(ticket)
            if session is None:
                self._unknown_ticket("connectionError", ticket)
                return "done"
            metrics.hresult(hresult, "connectionError")
            metrics.session_ended("connectionError", session.created_at, call.now)
            reason = f"QuickBooks could not be opened ({hresult or 'no HRESULT'}: {message})"
            call.store.release_session(session.id, "connectionError")
            call.sessions.end(session.id, "connectionError", last_error=reason)
        log.warning(
            "connectionError user=%s ticket=%s hresult=%r message=%r outcome=done ms=%d",
            session.user_name,
            short_ticket(ticket),
            hresult[:32],
            message[:500],
            metrics.qbwc_call("connectionError", "done"),
        )
        return "done"

    def get_last_error(self, ticket: str) -> str:
        """The text of the session's last trouble, or "NoOp" when work will come shortly."""
        with self.db.transaction() as conn:
            session = Sessions(conn, self.clock()).find(ticket, include_ended=True)
        if session is None:
            self._unknown_ticket("getLastError", ticket)
            return UNKNOWN_TICKET
        text = session.last_error or ""
        said = "noop" if text == NOOP else "message" if text else "empty"
        ms = metrics.qbwc_call("getLastError", said)
        log.info(
            "getLastError user=%s ticket=%s outcome=%s ms=%d",
            session.user_name,
            short_ticket(ticket),
            said,
            ms,
        )
        return text

    def close_connection(self, ticket: str) -> str:
        """End the session; its unanswered jobs are ready for the next one."""
        with self.db.transaction() as conn:
            call = self._call(conn)
            session = call.sessions.find(ticket)
            if session is None:
                self._unknown_ticket("closeConnection", ticket, logging.INFO)
                return "atqb: session already ended"
            metrics.session_ended("closeConnection", session.created_at, call.now)
            released = call.store.release_session(session.id, "closeConnection")
            call.sessions.end(session.id, "closeConnection")
            remaining = call.store.unfinished_count(session.user_name)
        log.info(
            "closeConnection user=%s ticket=%s finished=%d released=%d remaining=%d "
            "outcome=closed ms=%d",
            session.user_name,
            short_ticket(ticket),
            session.finished,
            len(released),
            remaining,
            metrics.qbwc_call("closeConnection", "closed"),
        )
        return f"atqb: {session.finished} job(s) finished, {remaining} left for a later run"

    # -- the round trip --------------------------------------------------------------------

    def send_request_xml(
        self,
        ticket: str,
        hcp_response: str,
        _company_file: str,
        country: str,
        major: int | None,
        minor: int | None,
    ) -> str:
        """The next qbXML message for the session, or "" (then getLastError says why)."""
        changes: dict[str, object] = {"last_error": None}
        if hcp_response:
            changes.update(
                has_hcp_response=True,
                qbxml_country=(country or "")[:8],
                qbxml_version=f"{major}.{minor}"[:16],  # the column's width
            )
        with self.db.transaction() as conn:
            call = self._call(conn)
            # Found and touched at once; touched again below only when there is more to say.
            session = call.sessions.find_and_touch(
                ticket, self.settings.session_idle_seconds, **changes
            )
            if session is None:
                self._unknown_ticket("sendRequestXML", ticket)
                return ""
            if time.monotonic() - self._housekept_at > HOUSEKEEPING_INTERVAL:
                self._housekeeping(call)
            if major is not None and 0 < major < MIN_QBXML_MAJOR:
                error = (
                    f"atqb needs qbXML {MIN_QBXML_MAJOR}.0 (QuickBooks Desktop 2014 or newer); "
                    f"this QuickBooks supports qbXML {major}.{minor}"
                )
                self._touch(call, session, last_error=error)
                ms = metrics.qbwc_call("sendRequestXML", "old-qbxml")
                log.warning(
                    "sendRequestXML user=%s ticket=%s qbxml=%s.%s outcome=old-qbxml ms=%d",
                    session.user_name,
                    short_ticket(ticket),
                    major,
                    minor,
                    ms,
                )
                return ""
            requests = self._claim_requests(call, session)
            if not requests:
                error = (
                    NOOP
                    if self._work_due(call, session.user_name, session.id)
                    else ("atqb: nothing more to send in this run")
                )
                self._touch(call, session, last_error=error)
                said = "noop" if error == NOOP else "nothing"
                log.info(
                    "sendRequestXML user=%s ticket=%s requests=0 outcome=%s ms=%d",
                    session.user_name,
                    short_ticket(ticket),
                    said,
                    metrics.qbwc_call("sendRequestXML", said),
                )
                return ""
            if call.finished:
                self._touch(call, session)
        metrics.requests_sent(len(requests))
        log.info(
            "sendRequestXML user=%s ticket=%s requests=%d outcome=sent ms=%d",
            session.user_name,
            short_ticket(ticket),
            len(requests),
            metrics.qbwc_call("sendRequestXML", "sent"),
        )
        return message(requests)

    def _claim_requests(self, call: _Call, session: Session) -> list[Request]:
        """Claim jobs and build their requests, up to the batch size, lookups merged.

        A job whose kind decides without asking QuickBooks (what it must make sure of is already
        known, or its request cannot be built) is finished at once, and the jobs that were
        waiting for it are claimed in the same round trip. Lookups of the same shape share one
        request (:class:`~service.kinds.Lookup`), so they count once against the batch size.
        """
        planned: list[tuple[Job, Step]] = []
        while True:
            room = self.settings.batch_size - _request_count(planned)
            if room <= 0:
                break
            claimed = call.store.claim(
                session_id=session.id,
                qbwc_user=session.user_name,
                limit=room,
                lease_seconds=self.settings.lease_seconds,
            )
            if not claimed:
                break
            decided = 0
            solo = [job for job in claimed if job.state.get("_solo")]
            last = False
            if solo:
                # QuickBooks rejected a message holding this job unparsed: send it alone so
                # the job at fault is found and the others are not held back (qbwc.md 6.3).
                keep = set() if planned else {solo[0].id}
                back = [job.id for job in (solo if planned else claimed) if job.id not in keep]
                call.store.unclaim(back)
                claimed = [job for job in claimed if job.id not in back]
                last = True
            for job in claimed:
                step = self._build(call, session, job)
                if step is not None:
                    planned.append((job, step))
                else:
                    decided += 1
            if last and planned:
                break
            if len(claimed) < room and not decided:
                break  # the queue is empty, and nothing finished here can have freed more
            call.flush()  # jobs finished here release their dependents for the next claim
        call.flush()
        requests: list[Request] = []
        sent: list[SentRequest] = []
        for request, members in _merge(planned):
            request_xml = message([request])
            for job, step in members:
                state = {k: v for k, v in step.state.items() if k not in _CARRIED}
                state.update({k: True for k in _CARRIED if job.state.get(k)})
                if step.lookup is not None and "sent" in job.state:
                    # A lookup never forgets a write whose answer was lost: if the lookup's own
                    # answer is lost too, the next step must look again, not write (sync/common).
                    state.setdefault("sent", job.state["sent"])
                sent.append(SentRequest(job, request.request_id, request_xml, state))
            requests.append(request)
        call.store.record_requests(session.id, sent)
        return requests

    def _context(self, call: _Call) -> Context:
        return Context(call.conn, call.store, self.settings, call.now)

    def _build(self, call: _Call, session: Session, job: Job) -> Step | None:
        """The job's next step; None when its kind decided without a request (applied here)."""
        kind = self.kinds.get(job.kind)
        outcome: StepOutcome
        try:
            if kind is None:
                raise LookupError(f"unknown job kind {job.kind!r} (made by a newer atqb?)")
            outcome = kind.step(job, str(job.id), self._context(call))
            if isinstance(outcome, Step) and outcome.request.request_id != str(job.id):
                raise ValueError(f"the request's requestID is not the job id {job.id}")
        except Exception as exc:
            log.exception("job %d: could not build its request", job.id)
            outcome = Fail(f"atqb could not build the request: {exc}")
        if isinstance(outcome, Step):
            return outcome
        self._finish(call, session, job, outcome)
        return None

    def receive_response_xml(self, ticket: str, response: str, hresult: str, message: str) -> int:
        """Apply QuickBooks' answer; return the percentage done, or -1 on error."""
        with self.db.transaction() as conn:
            call = self._call(conn)
            session, sent, owners = self._open_requests(call, ticket)
            if session is None:
                self._unknown_ticket("receiveResponseXML", ticket)
                return -1
            answers, responses, unreadable = _read_answers(sent, response, hresult, message)
            # Each request is answered once: a request that another call on the same ticket
            # answered while this one waited for the session is not this call's to apply.
            recorded = call.store.record_answers(answers)
            answered = [t for t in sent if t.id in recorded]
            error: str | None = None
            if not answered:
                # Nothing of ours is in flight (its lease ended meanwhile, another call answered
                # it, or the Web Connector posts an answer to a request it never got from us).
                log.warning("receiveResponseXML with no request in flight; answer ignored")
            elif hresult and not response:
                self._apply_hresult(call, session, answered, owners, hresult, message)
                error = f"QuickBooks could not process the request: {hresult} {message}".strip()
            elif unreadable is not None:
                error = unreadable
                for transmission in answered:
                    self._finish(call, session, owners[transmission.job_id], RetryLater(error))
            else:
                for transmission in answered:
                    job = owners[transmission.job_id]
                    self._apply_answer(call, session, job, responses[transmission.id])
            call.flush()
            if answered:
                metrics.round_trip(error)
            percent = self._touch_and_percent(
                call, session, last_error=error, round_trips=session.round_trips + 1
            )
        said = "error" if error else "ok" if answered else "nothing-sent"
        log.info(
            "receiveResponseXML user=%s ticket=%s answered=%d percent=%d outcome=%s ms=%d%s",
            session.user_name,
            short_ticket(ticket),
            len(answered),
            percent if error is None else -1,
            said,
            metrics.qbwc_call("receiveResponseXML", said),
            f" error={error!r}" if error else "",
        )
        return -1 if error is not None else percent

    def _apply_answer(self, call: _Call, session: Session, job: Job, answer: Response) -> None:
        if answer.status_code is None:
            self._finish(call, session, job, RetryLater(NO_RESPONSE))
            return
        metrics.quickbooks_status(answer.status_code, answer.status_severity)
        if job.status != JobStatus.IN_FLIGHT or job.lease_session_id != session.id:
            return  # cancelled by an operator, or its lease expired meanwhile: answer kept only
        if answer.status_code == INTERNAL_ERROR and not job.state.get("_internal_error"):
            # Status 1000 is retried once (reference/qbxml.md 7); a second one fails the job.
            text = f"{error_text(answer)} (atqb tries once more)"
            self._finish(
                call, session, job, RetryLater(text, state={**job.state, "_internal_error": True})
            )
            return
        kind = self.kinds.get(job.kind)
        try:
            if kind is None:
                raise LookupError(f"unknown job kind {job.kind!r}")
            decision = kind.handle(job, answer, self._context(call))
        except Exception as exc:
            log.exception("job %d: could not apply QuickBooks' answer", job.id)
            decision = Fail(f"atqb could not apply QuickBooks' answer: {exc}")
        self._finish(call, session, job, decision)

    def _apply_hresult(
        self,
        call: _Call,
        session: Session,
        sent: list[OpenRequest],
        jobs: Mapping[int, Job],
        hresult: str,
        message: str,
    ) -> None:
        # No requestID comes back: the HRESULT belongs to every request of the message.
        info = describe_hresult(hresult, message)
        metrics.hresult(hresult, "receiveResponseXML")
        text = f"QuickBooks HRESULT {info.hresult}: {message or info.meaning} — {info.action}"
        for transmission in sent:
            job = jobs[transmission.job_id]
            if job.status != JobStatus.IN_FLIGHT or job.lease_session_id != session.id:
                continue
            decision: Decision
            if info.hresult == HRESULT_PARSE_ERROR:
                if len(sent) == 1:
                    decision = Fail(f"{text} (QuickBooks cannot parse this job's request)")
                else:
                    decision = RetryLater(text, state={**job.state, "_solo": True})
            else:
                decision = RetryLater(text)
            self._finish(call, session, job, decision)

    def _finish(self, call: _Call, _session: Session, job: Job, decision: Decision) -> None:
        """Apply a kind's verdict; count the jobs that reached an end for the progress."""
        ended = 0
        if isinstance(decision, Done):
            call.done[job.id] = decision.result  # written by call.flush(), with the others
            ended = 1
        elif isinstance(decision, Next):
            # A retried status 1000 stays counted for the job's later steps (the lookup that
            # follows a lost write, then the write): it is retried once, not once per step.
            kept = {"_internal_error": True} if job.state.get("_internal_error") else {}
            call.store.advance(job.id, {**decision.state, **kept})
        elif isinstance(decision, RetryLater):
            solo = bool(decision.state and decision.state.get("_solo"))
            status = call.store.retry_later(
                job.id, decision.error, state=decision.state, delay=not solo
            )
            ended = 1 if status == JobStatus.FAILED else 0
        else:
            ended = 1 + len(call.store.fail(job.id, decision.error))
        call.finished += ended

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _unknown_ticket(method: str, ticket: str, level: int = logging.WARNING) -> None:
        """Count and log a call whose ticket names no live session (answered harmlessly)."""
        ms = metrics.qbwc_call(method, "unknown-ticket")
        log.log(
            level, "%s ticket=%s outcome=unknown-ticket ms=%d", method, short_ticket(ticket), ms
        )

    def _touch_and_percent(self, call: _Call, session: Session, **changes: object) -> int:
        """:meth:`_touch`, reading the progress in the same statement: the share of the
        session's work finished, 100 when nothing more will come this run."""
        finished = session.finished + call.finished
        row = call.sessions.touch_and_read(
            session,
            self.settings.session_idle_seconds,
            {"finished": finished, **changes},
            call.store.progress(),
            call.store.progress_params(session.user_name, session.id),
        )
        ready_at = row["ready_at"]
        due = ready_at is not None and ready_at <= call.now + NOOP_HORIZON
        if not (due or row["elsewhere"] > 0):
            return 100
        total = max(session.work_at_start, finished + int(row["remaining"]), 1)
        return min(99, math.floor(100 * finished / total))

    def _work_due(self, call: _Call, user_name: str, session_id: int | None = None) -> bool:
        """Whether work is ready now or shortly (then the session should go on)."""
        ready_at = call.store.next_ready_at(user_name)
        if ready_at is not None and ready_at <= call.now + NOOP_HORIZON:
            return True
        # Answers still outstanding in another session may release waiting work.
        return session_id is not None and call.store.in_flight_elsewhere(user_name, session_id) > 0

    def _open_requests(
        self, call: _Call, ticket: str
    ) -> tuple[Session | None, list[OpenRequest], dict[int, Job]]:
        """The live session of ``ticket`` (locked), the requests it sent that have no answer yet
        and their jobs, in one statement (:meth:`JobStore.session_with_open_requests`)."""
        if not ticket:
            return None, [], {}
        row, sent, owners = call.store.session_with_open_requests(
            Sessions.by_ticket(), Sessions.ticket_params(ticket)
        )
        session = call.sessions.from_row(row)
        if session is None:
            return None, [], {}
        return session, sent, owners

    def _touch(self, call: _Call, session: Session, **changes: object) -> None:
        """Record the call on the session, with the jobs it finished."""
        changes.setdefault("finished", session.finished + call.finished)
        call.sessions.touch(session, self.settings.session_idle_seconds, **changes)

    def _housekeeping(self, call: _Call) -> None:
        """End sessions that went quiet and take back leases that expired."""
        self._housekept_at = time.monotonic()
        for session_id in call.sessions.expired_ids():
            call.store.release_session(session_id, "session expired")
            call.sessions.end(session_id, "expired")
        call.store.rescue_expired()


def _read_answers(
    sent: list[OpenRequest], response: str, hresult: str, message: str
) -> tuple[dict[int, Answer], dict[int, Response], str | None]:
    """What receiveResponseXML stores for each request ``sent``, by transmission id; QuickBooks'
    response to each (when the answer could be read); and why the answer could not be read."""
    if not sent:
        return {}, {}, None
    if hresult and not response:
        # No requestID comes back: the HRESULT belongs to every request of the message. An
        # HRESULT is 10 characters; whatever else is posted is cut to the column.
        return {t.id: Answer(hresult=hresult[:32], message=message) for t in sent}, {}, None
    try:
        parsed = parse_response(response, huge_tree=True)
        paired = pair_responses([t.request_id for t in sent], parsed)
    except QbXmlParseError as exc:
        error = f"atqb could not read QuickBooks' answer: {exc}"
        kept = response[:UNREADABLE_KEPT]
        return {t.id: Answer(response_xml=kept, message=error) for t in sent}, {}, error
    texts = dict(zip((a.request_id for a in parsed), raw_responses(response), strict=False))
    responses = {t.id: answer for t, answer in zip(sent, paired, strict=True)}
    answers = {
        tid: Answer(message=NO_RESPONSE)
        if answer.status_code is None
        else Answer(
            response_xml=texts.get(answer.request_id),
            status_code=answer.status_code,
            status_severity=answer.status_severity,
            status_message=answer.status_message,
        )
        for tid, answer in responses.items()
    }
    return answers, responses, None


def _request_count(planned: list[tuple[Job, Step]]) -> int:
    """How many requests ``planned`` makes once lookups are merged (at most; duplicates once)."""
    values: dict[tuple[str, str], int] = {}
    count = 0
    for _, step in planned:
        if step.lookup is None:
            count += 1
        else:
            values[step.lookup.key] = values.get(step.lookup.key, 0) + len(step.lookup.values)
    return count + sum(math.ceil(n / MAX_LOOKUP_VALUES) for n in values.values())


def _merge(planned: list[tuple[Job, Step]]) -> list[tuple[Request, list[tuple[Job, Step]]]]:
    """The requests to send for ``planned``, each with the jobs it answers, in claim order.

    Lookups of the same shape are merged into one request (requestID = the first job's id) of at
    most MAX_LOOKUP_VALUES values; every other step is its own request.
    """
    groups: list[tuple[Lookup | None, list[tuple[Job, Step]]]] = []
    open_groups: dict[tuple[str, str], int] = {}
    for job, step in planned:
        lookup = step.lookup
        if lookup is None:
            groups.append((None, [(job, step)]))
            continue
        index = open_groups.get(lookup.key)
        if index is not None:
            merged, members = groups[index]
            assert merged is not None
            bigger = merged.merged([lookup])
            if len(bigger.values) <= MAX_LOOKUP_VALUES:
                groups[index] = (bigger, [*members, (job, step)])
                continue
        open_groups[lookup.key] = len(groups)
        groups.append((lookup, [(job, step)]))
    result: list[tuple[Request, list[tuple[Job, Step]]]] = []
    for lookup, members in groups:
        first_job, first_step = members[0]
        if lookup is None or len(members) == 1:
            result.append((first_step.request, members))
        else:
            result.append((lookup.build(str(first_job.id)), members))
    return result
