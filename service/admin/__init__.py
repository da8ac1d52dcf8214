"""``/admin``: the operators' pages, in the same WSGI application as the Web Connector endpoint.

=====================================  ======================================================
``GET /admin``                         counts by status and kind, the job table with filters
                                       (``status``, ``kind``, ``user``, ``po``, ``vendor``,
                                       ``text``; ``before`` pages), recent Web Connector
                                       sessions and poll cycles
``GET /admin/jobs/ID``                 one job: facts, prerequisites and dependents, payload,
                                       every request and answer (XML indented) with
                                       QuickBooks' message in plain words, retry/cancel
``POST /admin/jobs/ID/retry|cancel``   operator actions (:meth:`JobStore.retry`, ``cancel``)
``GET /admin/sessions``                the newest 100 Web Connector sessions
``GET /admin/poll``                    the newest 100 poll cycles
=====================================  ======================================================

Every request needs the admin credentials (:mod:`.security`); while they are not configured,
``/admin`` answers 401 and says how to enable it. Actions are protected against cross-site
requests as :mod:`.security` describes.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from service.admin import pages, security
from service.admin.markup import Html
from service.admin.queries import FilterError, JobFilter
from service.clock import utcnow
from service.db import Database, describe_outage
from service.jobkinds import builtin_kinds
from service.jobstore import JobNotFound, JobStore, JobStoreError
from service.poller.cycles import PollCycles
from service.settings import Settings
from service.webconnector.sessions import Sessions
from service.webconnector.throttle import LoginThrottle

log = logging.getLogger("atqb.admin")

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

#: Jobs per page of the job table.
PAGE_SIZE = 100
#: Largest form body accepted by the actions.
MAX_FORM_BYTES = 8192
#: A page's CSRF token is reused while it has at least this long to live (seconds), so that
#: two open tabs keep working.
TOKEN_REUSE_MARGIN = 3600

_JOB = re.compile(r"^/jobs/([0-9]{1,18})$")
_ACTION = re.compile(r"^/jobs/([0-9]{1,18})/(retry|cancel)$")

#: The user name /admin sign-ins are counted under by the login throttle (no Web Connector user
#: name starts with a slash).
ADMIN_SUBJECT = "/admin"

DISABLED = (
    b"/admin is disabled: set ATQB_ADMIN_USER and ATQB_ADMIN_PASSWORD "
    b"(environment or .env) and restart atqb serve.\n"
)


class AdminApp:
    """The WSGI application of everything below ``/admin``."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.db = database
        self.transfer_since = settings.transfer_since
        self.user = settings.admin_user or ""
        self.password = (
            settings.admin_password.get_secret_value() if settings.admin_password else None
        )
        self.throttle = LoginThrottle(database, utcnow)

    # -- entry -----------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            return self._serve(environ, start_response)
        except SQLAlchemyError as exc:
            reason = describe_outage(exc)
            if reason is None:
                raise
            log.error("/admin outcome=database-unavailable: %s", reason)
            return _plain(
                start_response,
                "503 Service Unavailable",
                b"atqb cannot reach its database right now; try again shortly "
                b"(the service's log has the details).\n",
            )

    def _signed_in(self, environ: Environ, password: str) -> bool:
        """Whether the request carries the admin credentials; failures are throttled like Web
        Connector logins (:mod:`service.webconnector.throttle`, counted as user ``/admin``) and
        logged."""
        if not environ.get("HTTP_AUTHORIZATION"):
            return False  # the browser's first request, before it asks for credentials
        address = str(environ.get("REMOTE_ADDR") or "")
        signed_in = self.throttle.attempt(
            ADMIN_SUBJECT,
            address,
            lambda: security.basic_auth_ok(environ, self.user, password),
        )
        if not signed_in:
            log.warning("/admin sign-in refused from %r", address)
        return signed_in

    def _serve(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not self.user or self.password is None:
            return _plain(start_response, "401 Unauthorized", DISABLED)
        if not self._signed_in(environ, self.password):
            return _plain(
                start_response,
                "401 Unauthorized",
                b"credentials required: sign in with ATQB_ADMIN_USER and ATQB_ADMIN_PASSWORD "
                b"(repeated failures lock this address out for a while)\n",
                [("WWW-Authenticate", 'Basic realm="atqb admin", charset="UTF-8"')],
            )
        script = str(environ.get("SCRIPT_NAME", "")).rstrip("/")
        urls = pages.Urls(script + "/admin")
        path = str(environ.get("PATH_INFO", "")).removeprefix("/admin").rstrip("/")
        method = str(environ.get("REQUEST_METHOD", "GET"))
        action = _ACTION.match(path)
        if action is not None:
            if method != "POST":
                return self._html(
                    environ,
                    start_response,
                    "405 Method Not Allowed",
                    pages.problem_page(urls, "Use the button", "Actions are sent with POST."),
                    [("Allow", "POST")],
                )
            return self._action(environ, start_response, urls, int(action[1]), action[2])
        if method not in ("GET", "HEAD"):
            return self._html(
                environ,
                start_response,
                "405 Method Not Allowed",
                pages.problem_page(urls, "Not allowed", f"{method} is not used here."),
                [("Allow", "GET, HEAD")],
            )
        try:
            query = parse_qs(str(environ.get("QUERY_STRING", "")), max_num_fields=20)
        except ValueError:
            page = pages.problem_page(urls, "Bad address", "The address has too many parameters.")
            return self._html(environ, start_response, "400 Bad Request", page)
        if path == "":
            return self._overview(environ, start_response, urls, query)
        job = _JOB.match(path)
        if job is not None:
            return self._job(environ, start_response, urls, int(job[1]), query)
        now = utcnow()
        if path == "/sessions":
            with self.db.transaction() as conn:
                sessions = Sessions(conn, now).recent(100)
            page = pages.sessions_page(urls, sessions, now)
            return self._html(environ, start_response, "200 OK", page)
        if path == "/poll":
            with self.db.transaction() as conn:
                cycles = PollCycles(conn, now).recent(100)
                held = self._held_back(conn, now)
            page = pages.poll_page(urls, cycles, now, held)
            return self._html(environ, start_response, "200 OK", page)
        page = pages.problem_page(urls, "Not found", "There is no admin page at this address.")
        return self._html(environ, start_response, "404 Not Found", page)

    # -- pages -----------------------------------------------------------------------------

    def _held_back(self, conn: Connection, now: datetime) -> Html:
        # Imported here: the poller package imports the exchange, which imports the web app.
        from service.poller.state import PollerStore

        return pages.held_back(PollerStore(conn, now).held_back(), self.transfer_since)

    def _overview(
        self,
        environ: Environ,
        start_response: StartResponse,
        urls: pages.Urls,
        query: dict[str, list[str]],
    ) -> Iterable[bytes]:
        problem = None
        status = "200 OK"
        try:
            job_filter = JobFilter.from_query(query)
            before_text = query.get("before", [""])[-1]
            if before_text and not (before_text.isdigit() and len(before_text) < 19):
                raise FilterError(f"before: {before_text!r} is not a job number")
            before = int(before_text) if before_text else None
        except FilterError as exc:
            problem, status = f"The filter was not applied. {exc}", "400 Bad Request"
            job_filter, before = JobFilter(), None
        now = utcnow()
        with self.db.transaction() as conn:
            store = JobStore(conn, now)
            counts = store.counts()
            found = job_filter.find(store, limit=PAGE_SIZE + 1, before=before)
            sessions = Sessions(conn, now)
            data = pages.Overview(
                counts=counts,
                job_filter=job_filter,
                jobs=found[:PAGE_SIZE],
                older=found[PAGE_SIZE - 1].id if len(found) > PAGE_SIZE else None,
                # The kinds of this version and any in the table (from the counts: no scan).
                kinds=sorted({kind for kind, _ in counts.by_kind_status} | set(builtin_kinds())),
                users=[user.name for user in sessions.users()],
                sessions=sessions.recent(8),
                cycles=PollCycles(conn, now).recent(5),
                now=now,
                held=self._held_back(conn, now),
            )
        page = pages.overview_page(urls, data, problem=problem)
        return self._html(environ, start_response, status, page)

    def _job(
        self,
        environ: Environ,
        start_response: StartResponse,
        urls: pages.Urls,
        job_id: int,
        query: dict[str, list[str]],
    ) -> Iterable[bytes]:
        now = utcnow()
        with self.db.transaction() as conn:
            store = JobStore(conn, now)
            try:
                job = store.get(job_id)
            except JobNotFound:
                page = pages.problem_page(urls, "No such job", f"There is no job #{job_id}.")
                return self._html(environ, start_response, "404 Not Found", page)
            prerequisites = store.get_many(store.prerequisites(job_id))
            dependents = store.get_many(store.dependents(job_id))
            detail = pages.JobDetail(
                job=job,
                prerequisites=[prerequisites[i] for i in sorted(prerequisites)],
                dependents=[dependents[i] for i in sorted(dependents)],
                transmissions=store.transmissions(job_id),
                now=now,
            )
        notice_key = query.get("notice", [""])[-1]
        notice = pages.NOTICES.get(notice_key)
        if notice is not None:
            notice = f"{notice} Job #{job.id} is now {job.status}."
        token = self._token(environ)
        page = pages.job_page(urls, detail, token, notice=notice)
        return self._html(environ, start_response, "200 OK", page, token=token)

    # -- actions ---------------------------------------------------------------------------

    def _action(
        self,
        environ: Environ,
        start_response: StartResponse,
        urls: pages.Urls,
        job_id: int,
        action: str,
    ) -> Iterable[bytes]:
        assert self.password is not None
        refusal = security.cross_site_reason(environ)
        form = _read_form(environ)
        if refusal is None and form is None:
            refusal = "the request is not a form of this page"
        if refusal is None and form is not None:
            given = form.get("csrf", [""])[-1]
            cookie = security.cookie_value(environ) or ""
            same = hmac.compare_digest(given.encode(), cookie.encode())
            if not (given and same and security.token_ok(given, self.user, self.password)):
                refusal = "the form has expired or did not come from this page"
        if refusal is not None:
            text = f"Nothing was done: {refusal}. Open the job's page and use its button again."
            page = pages.problem_page(urls, "Request refused", text)
            return self._html(environ, start_response, "403 Forbidden", page)
        try:
            with self.db.transaction() as conn:
                store = JobStore(conn, utcnow())
                if action == "retry":
                    store.retry(job_id)
                else:
                    store.cancel(job_id)
        except JobNotFound:
            page = pages.problem_page(urls, "No such job", f"There is no job #{job_id}.")
            return self._html(environ, start_response, "404 Not Found", page)
        except JobStoreError as exc:
            page = pages.problem_page(urls, f"Cannot {action} job #{job_id}", str(exc))
            return self._html(environ, start_response, "409 Conflict", page)
        notice = "retried" if action == "retry" else "cancelled"
        location = f"{urls.job(job_id)}?notice={notice}"
        start_response(
            "303 See Other",
            [("Location", location), ("Content-Length", "0"), *_security_headers()],
        )
        return [b""]

    # -- responses -------------------------------------------------------------------------

    def _token(self, environ: Environ) -> str:
        """The page's CSRF token: the cookie's while it has long enough to live."""
        assert self.password is not None
        current = security.cookie_value(environ)
        later = utcnow().timestamp() + TOKEN_REUSE_MARGIN
        if current and security.token_ok(current, self.user, self.password, now=later):
            return current
        return security.make_token(self.user, self.password)

    def _html(
        self,
        environ: Environ,
        start_response: StartResponse,
        status: str,
        page: Html,
        headers: Iterable[tuple[str, str]] = (),
        *,
        token: str | None = None,
    ) -> list[bytes]:
        body = page.encode("utf-8")
        extra = list(headers)
        if token is not None:
            secure = "; Secure" if environ.get("wsgi.url_scheme") == "https" else ""
            path = str(environ.get("SCRIPT_NAME", "")).rstrip("/") + "/admin"
            extra.append(
                (
                    "Set-Cookie",
                    f"{security.COOKIE}={token}; Path={path}; HttpOnly; SameSite=Strict{secure}",
                )
            )
        start_response(
            status,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *_security_headers(),
                *extra,
            ],
        )
        return [b""] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _security_headers() -> list[tuple[str, str]]:
    return [
        ("Content-Security-Policy", pages.CSP),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("Cache-Control", "no-store"),
    ]


def _plain(
    start_response: StartResponse,
    status: str,
    body: bytes,
    headers: Iterable[tuple[str, str]] = (),
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *headers,
        ],
    )
    return [body]


def _read_form(environ: Environ) -> dict[str, list[str]] | None:
    """The urlencoded form of a POST, or None when the body is not one (or too long)."""
    content_type = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if not 0 < length <= MAX_FORM_BYTES:
        return None
    raw = environ["wsgi.input"].read(length)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    try:
        return parse_qs(text, max_num_fields=10)
    except ValueError:
        return None
