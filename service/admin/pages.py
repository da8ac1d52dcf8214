"""The HTML of ``/admin``: server-rendered, no scripts, every value escaped (:mod:`.markup`)."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from lxml import etree

from service import __version__
from service.admin.markup import Html, join, render
from service.admin.queries import JobFilter
from service.jobstatus import BROKEN_STATUSES, JOB_STATUSES, JobStatus
from service.jobstore import Counts, Job, Transmission
from service.poller.cycles import PollCycle
from service.sync.explain import verdict
from service.webconnector.sessions import Session
from service.xmlsafe import UnsafeXMLError, parse_text

if TYPE_CHECKING:
    from service.poller.state import HeldBack

#: XML longer than this is shown as it is (not parsed and indented).
MAX_PRETTY_INPUT = 2_000_000
#: At most this much of one XML document is put into a page.
MAX_SHOWN = 200_000

CSS = """
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f5f7fa; --link: #1f5fbf; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px;
  background: #1d2b45; color: #fff; }
header a { color: #fff; text-decoration: none; }
header .brand { font-weight: 700; font-size: 17px; }
header nav a { margin-right: 18px; opacity: .85; }
header nav a:hover { opacity: 1; text-decoration: underline; }
header .version { margin-left: auto; opacity: .7; font-size: 13px; }
main { max-width: 1280px; margin: 0 auto; padding: 18px 24px 48px; }
h1 { font-size: 22px; margin: 6px 0 14px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
h3 { font-size: 15px; margin: 0 0 6px; }
a { color: var(--link); }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: #eef1f6; font-weight: 600; font-size: 13px; color: #2f3a4d; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; }
tr.total td { font-weight: 600; background: #fafbfd; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 16px; }
.card { display: block; min-width: 130px; padding: 10px 14px; background: #fff;
  border: 1px solid var(--line); border-left-width: 6px; border-radius: 4px; color: var(--fg);
  text-decoration: none; }
.card .n { display: block; font-size: 26px; font-weight: 700; }
.card .l { color: var(--muted); font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
  font-weight: 600; color: #fff; background: #6b7280; white-space: nowrap; }
.s-pending { background: #2563eb; border-left-color: #2563eb; }
.s-waiting { background: #8a94a6; border-left-color: #8a94a6; }
.s-in_flight { background: #7c3aed; border-left-color: #7c3aed; }
.s-done { background: #15803d; border-left-color: #15803d; }
.s-failed { background: #c62828; border-left-color: #c62828; }
.s-cancelled { background: #4b5563; border-left-color: #4b5563; }
.card.s-pending, .card.s-waiting, .card.s-in_flight, .card.s-done, .card.s-failed,
.card.s-cancelled { background: #fff; }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end;
  background: #fff; border: 1px solid var(--line); padding: 10px 12px; margin-bottom: 12px; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 4px 6px; }
button { cursor: pointer; border: 1px solid #9aa3b2; border-radius: 4px; background: #fff; }
button.primary { background: #1f5fbf; border-color: #1f5fbf; color: #fff; }
button.danger { background: #fff; border-color: #c62828; color: #c62828; }
form.inline { display: inline-block; margin-right: 8px; }
.error, td.error { color: #b3261e; }
.muted { color: var(--muted); }
.notice, .problem { padding: 10px 14px; margin-bottom: 14px; }
.notice { background: #e8f3ea; border: 1px solid #9fd3aa; }
.problem { background: #fdecea; border: 1px solid #f1aca6; }
.empty { padding: 14px; background: #fff; border: 1px dashed #b8c0cc; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px;
  background: #fff; border: 1px solid var(--line); padding: 12px 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
pre { background: #0f172a; color: #e2e8f0; padding: 10px 12px; overflow: auto; max-height: 32em;
  font: 12.5px/1.45 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; margin: 6px 0; }
details { margin: 6px 0; }
summary { cursor: pointer; color: #2f3a4d; font-weight: 600; }
section.tx { background: #fff; border: 1px solid var(--line); padding: 10px 14px; margin: 10px 0; }
.verdict { font-weight: 600; margin: 4px 0; }
.verdict.ok { color: #15803d; } .verdict.warn { color: #a15c00; } .verdict.bad { color: #b3261e; }
.plain { margin: 2px 0 6px; }
.pager { margin-top: 10px; }
.split { display: grid; grid-template-columns: 1fr 1fr; gap: 20px; }
@media (max-width: 900px) { .split { grid-template-columns: 1fr; } }
"""

#: The Content-Security-Policy of every admin page: no scripts at all, only this stylesheet.
CSP = (
    "default-src 'none'; "
    f"style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

#: What each job status means, for a badge's tooltip.
STATUS_WORDS: dict[str, str] = {
    JobStatus.PENDING: "ready to send",
    JobStatus.WAITING: "waiting on another job",
    JobStatus.IN_FLIGHT: "sent, no answer yet",
    JobStatus.DONE: "done",
    JobStatus.FAILED: "needs an operator",
    JobStatus.CANCELLED: "cancelled",
}
NOTICES = {
    "retried": "Retried: the job will be sent again at the next Web Connector run.",
    "cancelled": "Cancelled: the job will not run; jobs waiting on it have failed.",
}


@dataclass(frozen=True)
class Urls:
    """Where the admin pages are (``base`` is ``/admin`` below any SCRIPT_NAME)."""

    base: str

    def jobs(self, **query: str) -> str:
        """The job list with these filters."""
        query = {k: v for k, v in query.items() if v}
        return self.base + ("?" + urlencode(query) if query else "")

    def job(self, job_id: int) -> str:
        """One job."""
        return f"{self.base}/jobs/{job_id}"

    def action(self, job_id: int, action: str) -> str:
        """Where a job's action is posted."""
        return f"{self.base}/jobs/{job_id}/{action}"

    @property
    def sessions(self) -> str:
        """The Web Connector sessions."""
        return f"{self.base}/sessions"

    @property
    def poll(self) -> str:
        """The poll cycles."""
        return f"{self.base}/poll"


# -- formatting ------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    """A UTC time for people."""
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else ""


def duration(seconds: float | None) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def clip(text: str | None, width: int) -> str:
    """One line of at most ``width`` characters."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def badge(status: str) -> Html:
    """A job status as a coloured label."""
    return render(
        '<span class="badge s-{status}" title="{words}">{status}</span>',
        status=status,
        words=STATUS_WORDS.get(status, status),
    )


def pretty_xml(text: str | None) -> tuple[str, str | None]:
    """XML indented for reading, and a note when it was cut or could not be parsed."""
    if not text:
        return "", None
    note = None
    shown = text
    if len(text) <= MAX_PRETTY_INPUT:
        try:
            root = parse_text(text, huge_tree=True)
        except (etree.XMLSyntaxError, UnsafeXMLError) as exc:
            note = f"not well-formed XML ({exc}); shown as received"
        else:
            etree.indent(root, space="  ")
            prolog: list[str] = []
            sibling = root.getprevious()
            while sibling is not None:  # e.g. <?qbxml version="13.0"?>
                prolog.insert(0, etree.tostring(sibling, encoding="unicode").strip())
                sibling = sibling.getprevious()
            shown = "\n".join([*prolog, etree.tostring(root, encoding="unicode")])
    if len(shown) > MAX_SHOWN:
        cut = f"showing the first {MAX_SHOWN:,} of {len(shown):,} characters"
        note = f"{note}; {cut}" if note else cut
        shown = shown[:MAX_SHOWN]
    return shown, note


def pretty_json(value: Any) -> str:
    """JSON indented for reading."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)


# -- layout ----------------------------------------------------------------------------------


def page(urls: Urls, title: str, body: Html, *, notice: str | None = None) -> Html:
    """A whole admin page."""
    top = render('<p class="notice" role="status">{text}</p>', text=notice) if notice else Html("")
    return render(
        """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · atqb admin</title><style>{css}</style></head>
<body><header><a class="brand" href="{base}">atqb admin</a>
<nav><a href="{base}">Jobs</a><a href="{sessions}">Web Connector sessions</a>
<a href="{poll}">Poll cycles</a></nav><span class="version">atqb {version} · times in UTC</span>
</header><main>{top}{body}</main></body></html>
""",
        title=title,
        css=Html(CSS),
        base=urls.base,
        sessions=urls.sessions,
        poll=urls.poll,
        version=__version__,
        top=top,
        body=body,
    )


def problem_page(urls: Urls, title: str, text: str) -> Html:
    """A page that says what went wrong and links back."""
    body = render(
        '<h1>{title}</h1><p class="problem" role="alert">{text}</p><p><a href="{back}">'
        "Back to the jobs</a></p>",
        title=title,
        text=text,
        back=urls.base,
    )
    return page(urls, title, body)


def table(headers: Sequence[str], rows: Iterable[Html], *, numeric: Iterable[int] = ()) -> Html:
    """A table; ``numeric`` names the columns aligned right."""
    right = set(numeric)
    head = join(
        render('<th class="{cls}" scope="col">{h}</th>', h=h, cls="num" if i in right else "")
        for i, h in enumerate(headers)
    )
    return render(
        "<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>",
        head=head,
        rows=join(rows),
    )


# -- the overview ----------------------------------------------------------------------------


def counts_section(urls: Urls, counts: Counts) -> Html:
    """Cards by status and a kind-by-status table."""
    cards = join(
        render(
            '<a class="card s-{status}" href="{href}" data-status="{status}">'
            '<span class="n">{n}</span><span class="l">{label}</span></a>',
            status=status,
            href=urls.jobs(status=status),
            n=counts.by_status.get(status, 0),
            label=status
            if STATUS_WORDS[status] == status
            else f"{status} · {STATUS_WORDS[status]}",
        )
        for status in JOB_STATUSES
    )
    kinds = sorted({kind for kind, _ in counts.by_kind_status})
    rows = []
    for kind in kinds:
        cells = []
        for status in JOB_STATUSES:
            n = counts.by_kind_status.get((kind, status), 0)
            cells.append(
                render(
                    '<td class="num"><a href="{href}">{n}</a></td>',
                    n=n,
                    href=urls.jobs(kind=kind, status=status),
                )
                if n
                else Html('<td class="num muted">0</td>')
            )
        total = sum(counts.by_kind_status.get((kind, s), 0) for s in JOB_STATUSES)
        rows.append(
            render(
                '<tr data-kind="{kind}"><th scope="row"><a href="{href}">{kind}</a></th>{cells}'
                '<td class="num">{total}</td></tr>',
                kind=kind,
                href=urls.jobs(kind=kind),
                cells=join(cells),
                total=total,
            )
        )
    totals = join(
        render('<td class="num">{n}</td>', n=counts.by_status.get(s, 0)) for s in JOB_STATUSES
    )
    rows.append(
        render(
            '<tr class="total"><th scope="row">all kinds</th>{totals}<td class="num">{n}</td></tr>',
            totals=totals,
            n=sum(counts.by_status.values()),
        )
    )
    by_kind = table(["kind", *JOB_STATUSES, "total"], rows, numeric=range(1, 8))
    return render(
        '<h1>Jobs</h1><div class="cards" id="counts">{cards}</div>'
        '<details open><summary>By kind</summary><div id="by-kind">{by_kind}</div></details>',
        cards=cards,
        by_kind=by_kind,
    )


def filter_form(urls: Urls, job_filter: JobFilter, kinds: list[str], users: list[str]) -> Html:
    """The GET form of the job filters."""

    def options(values: Iterable[str], selected: str, anything: str) -> Html:
        first = render('<option value="">{a}</option>', a=anything)
        return join(
            [
                first,
                *(
                    render(
                        '<option value="{v}"{sel}>{v}</option>',
                        v=v,
                        sel=Html(" selected") if v == selected else "",
                    )
                    for v in values
                ),
            ]
        )

    return render(
        """<form class="filters" method="get" action="{action}" role="search">
<label>Status<select name="status">{statuses}</select></label>
<label>Kind<select name="kind">{kinds}</select></label>
<label>Web Connector user<select name="user">{users}</select></label>
<label>PO<input name="po" value="{po}" size="8" placeholder="1234"></label>
<label>Vendor<input name="vendor" value="{vendor}" size="14" placeholder="name"></label>
<label>Text<input name="text" value="{text}" size="20"
 placeholder="subject, error, payload"></label>
<button class="primary" type="submit">Filter</button> <a href="{action}">Clear</a>
</form>""",
        action=urls.base,
        statuses=options(JOB_STATUSES, job_filter.status, "any status"),
        kinds=options(kinds, job_filter.kind, "any kind"),
        users=options(users, job_filter.user, "any user"),
        po=job_filter.po,
        vendor=job_filter.vendor,
        text=job_filter.text,
    )


JOB_HEADERS = ("job", "status", "kind", "subject", "user", "tries", "updated", "error")


def job_rows(urls: Urls, found: Iterable[Job]) -> list[Html]:
    """Rows of the job table."""
    return [
        render(
            '<tr data-job="{id}"><td class="num"><a href="{href}">#{id}</a></td><td>{status}</td>'
            '<td>{kind}</td><td>{subject}</td><td>{user}</td><td class="num">{tries}</td>'
            '<td class="when">{updated}</td><td class="error" title="{error}">{short}</td></tr>',
            id=job.id,
            href=urls.job(job.id),
            status=badge(job.status),
            kind=job.kind,
            subject=job.subject,
            user=job.qbwc_user,
            tries=f"{job.attempts}/{job.max_attempts}",
            updated=when(job.updated_at),
            error=job.error or "",
            short=clip(job.error, 90),
        )
        for job in found
    ]


def jobs_section(urls: Urls, job_filter: JobFilter, found: list[Job], older: int | None) -> Html:
    """The filtered job table, with a link to older jobs when there are more."""
    if not found:
        what = "match these filters" if job_filter.active else "exist yet"
        return render('<p class="empty" id="no-jobs">No jobs {what}.</p>', what=what)
    pager = (
        render(
            '<p class="pager"><a href="{href}">Older jobs →</a></p>',
            href=urls.jobs(**job_filter.as_query(), before=str(older)),
        )
        if older is not None
        else Html("")
    )
    return render(
        '<div id="jobs">{table}</div>{pager}',
        table=table(JOB_HEADERS, job_rows(urls, found), numeric=(0, 5)),
        pager=pager,
    )


def session_state(session: Session, now: datetime) -> str:
    """How the session stands or ended."""
    if session.ended_at is not None:
        return session.end_reason or "ended"
    return "open" if session.expires_at > now else "went quiet (ends at the next check)"


_BENIGN = ("", "NoOp")


def session_rows(sessions: Iterable[Session], now: datetime) -> list[Html]:
    """Rows of a session table."""
    rows = []
    for s in sessions:
        end = s.ended_at or (s.last_seen_at if s.expires_at <= now else now)
        message = s.last_error or ""
        benign = message in _BENIGN or message.startswith("atqb: nothing more")
        rows.append(
            render(
                '<tr id="s{id}" data-session="{id}"><td class="num">#{id}</td><td>{user}</td>'
                '<td class="when">{started}</td><td class="when">{last}</td><td>{state}</td>'
                '<td class="num">{took}</td>'
                '<td class="num">{trips}</td><td class="num">{finished}/{work}</td>'
                '<td class="{cls}">{message}</td></tr>',
                id=s.id,
                user=s.user_name,
                started=when(s.created_at),
                last=when(s.last_seen_at),
                state=session_state(s, now),
                took=duration((end - s.created_at).total_seconds()),
                trips=s.round_trips,
                finished=s.finished,
                work=s.work_at_start,
                cls="muted" if benign else "error",
                message="" if message == "NoOp" else message,
            )
        )
    return rows


def sessions_table(sessions: list[Session], now: datetime) -> Html:
    """Recent Web Connector sessions, or a note that there are none."""
    if not sessions:
        return Html(
            '<p class="empty" id="no-sessions">No Web Connector session yet. When the Web '
            "Connector runs (Update Selected, or Auto-Run), each run appears here with its "
            "errors.</p>"
        )
    headers = [
        "session", "user", "started", "last call", "state / end", "took", "round trips",
        "jobs finished / at start", "last message or error",
    ]  # fmt: skip
    return render(
        '<div id="sessions">{t}</div>',
        t=table(headers, session_rows(sessions, now), numeric=(0, 5, 6, 7)),
    )


POLL_EXPLAINED = (
    "The Autotask poller (<code>atqb poll</code>; the <code>poller</code> service of the Docker "
    "deployment) records each cycle here: when it ran, how many requests it sent to Autotask, "
    "whether Autotask throttled it (HTTP 429), how many jobs it enqueued and any error."
)
POLL_ABSENT = (
    " This version of atqb does not include the poller yet (<code>atqb poll</code> says so), so "
    "jobs reach the queue by other means, such as <code>scripts/simulate</code>."
)
POLL_NOT_RUN = " If it runs and nothing appears, its log says why."


def has_poller() -> bool:
    """Whether this installation of atqb includes the Autotask poller."""
    return importlib.util.find_spec("service.poller") is not None


def poll_empty() -> Html:
    """The empty state of the poll cycles: honest about whether a poller exists at all."""
    return Html(
        '<div class="empty" id="no-poll-cycles"><p><strong>No poll cycles recorded yet.</strong>'
        f"</p><p>{POLL_EXPLAINED}{POLL_ABSENT if not has_poller() else POLL_NOT_RUN}</p></div>"
    )


def poll_table(cycles: list[PollCycle], now: datetime) -> Html:
    """Recent poll cycles, or the honest empty state."""
    if not cycles:
        return poll_empty()
    rows = [
        render(
            '<tr data-cycle="{id}"><td class="num">#{id}</td><td>{started}</td>'
            '<td class="num">{took}</td><td>{outcome}</td><td class="num">{requests}</td>'
            '<td class="num">{throttled}</td><td class="num">{enqueued}</td>'
            '<td class="error">{error}</td></tr>',
            id=c.id,
            started=when(c.started_at),
            took=duration(c.seconds)
            if c.seconds is not None
            else f"running for {duration((now - c.started_at).total_seconds())}",
            outcome=c.outcome,
            requests=c.autotask_requests,
            throttled=c.autotask_throttled,
            enqueued=c.jobs_enqueued,
            error=c.error or "",
        )
        for c in cycles
    ]
    headers = [
        "cycle", "started", "took", "outcome", "Autotask requests", "throttled",
        "jobs enqueued", "error",
    ]  # fmt: skip
    return render(
        '<div id="poll-cycles">{t}</div>', t=table(headers, rows, numeric=(0, 2, 4, 5, 6))
    )


@dataclass(frozen=True)
class Overview:
    """Everything the main page shows."""

    counts: Counts
    job_filter: JobFilter
    jobs: list[Job]
    older: int | None
    kinds: list[str]
    users: list[str]
    sessions: list[Session]
    cycles: list[PollCycle]
    now: datetime
    held: Html


def held_back(held: HeldBack, transfer_since: date | None) -> Html:
    """The transfer cutoff, skipped POs and refused write-backs (``id="held-back"``)."""
    if transfer_since is not None:
        cutoff = render(
            "POs submitted (created, when never submitted) before <strong>{d}</strong> are "
            "not transferred automatically (ATQB_TRANSFER_SINCE).",
            d=transfer_since.isoformat(),
        )
    elif held.recorded_cutoff is not None:
        cutoff = render(
            "POs submitted (created, when never submitted) before <strong>{d}</strong> are "
            "not transferred automatically: the first poll cycle recorded its date because "
            "ATQB_TRANSFER_SINCE is unset. Set it to an earlier date, or name older POs with "
            "<code>atqb transfer</code>.",
            d=held.recorded_cutoff,
        )
    else:
        cutoff = Html(
            "No transfer cutoff yet: the first poll cycle records its date unless "
            "ATQB_TRANSFER_SINCE is set."
        )
    skipped = (
        table(
            ["PO", "since", "why (tried again every poll cycle)"],
            [
                render(
                    '<tr data-skipped="{po}"><td class="num">{po}</td><td>{since}</td>'
                    '<td class="error">{why}</td></tr>',
                    po=po_id,
                    since=when(since),
                    why=why,
                )
                for po_id, why, since in held.skipped
            ],
            numeric=(0,),
        )
        if held.skipped
        else Html('<p class="muted">No PO is skipped.</p>')
    )
    refused = (
        table(
            ["PO", "refusals", "next try", "Autotask said"],
            [
                render(
                    '<tr data-refused="{po}"><td class="num">{po}</td><td class="num">{n}</td>'
                    '<td>{after}</td><td class="error">{message}</td></tr>',
                    po=po_id,
                    n=attempts,
                    after=when(after),
                    message=message,
                )
                for po_id, message, attempts, after in held.refused
            ],
            numeric=(0, 1),
        )
        if held.refused
        else Html('<p class="muted">Autotask accepts every External P.O. # write-back.</p>')
    )
    return render(
        '<div id="held-back"><h2>Held back by the poller</h2><p id="transfer-cutoff">{cutoff}'
        '</p><h3>Skipped purchase orders</h3><div id="skipped-pos">{skipped}</div>'
        '<h3>Refused write-backs</h3><div id="refused-write-backs">{refused}</div></div>',
        cutoff=cutoff,
        skipped=skipped,
        refused=refused,
    )


def overview_page(urls: Urls, data: Overview, *, problem: str | None = None) -> Html:
    """``/admin``: counts, filters, jobs, recent sessions and poll cycles."""
    trouble = render('<p class="problem" role="alert">{p}</p>', p=problem) if problem else Html("")
    heading = "Jobs matching the filters" if data.job_filter.active else "Newest jobs"
    body = render(
        "{counts}{held}<h2>{heading}</h2>{trouble}{form}{jobs}"
        '<div class="split"><div><h2>Recent Web Connector sessions</h2>{sessions}'
        '<p><a href="{all_sessions}">All sessions</a></p></div>'
        '<div><h2>Recent poll cycles</h2>{poll}<p><a href="{all_poll}">All poll cycles</a></p>'
        "</div></div>",
        counts=counts_section(urls, data.counts),
        held=data.held,
        heading=heading,
        trouble=trouble,
        form=filter_form(urls, data.job_filter, data.kinds, data.users),
        jobs=jobs_section(urls, data.job_filter, data.jobs, data.older),
        sessions=sessions_table(data.sessions, data.now),
        all_sessions=urls.sessions,
        poll=poll_table(data.cycles, data.now),
        all_poll=urls.poll,
    )
    return page(urls, "Jobs", body)


def sessions_page(urls: Urls, sessions: list[Session], now: datetime) -> Html:
    """``/admin/sessions``."""
    body = render(
        '<h1>Web Connector sessions</h1><p class="muted">Newest first. A session is one Web '
        "Connector run, from authenticate to closeConnection (or connectionError, a new run of "
        "the same user, or going quiet).</p>{t}",
        t=sessions_table(sessions, now),
    )
    return page(urls, "Web Connector sessions", body)


def poll_page(urls: Urls, cycles: list[PollCycle], now: datetime, held: Html) -> Html:
    """``/admin/poll``: what the poller holds back, and its cycles."""
    body = render("<h1>Poll cycles</h1>{held}{t}", held=held, t=poll_table(cycles, now))
    return page(urls, "Poll cycles", body)


# -- one job ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobDetail:
    """Everything the page of one job shows."""

    job: Job
    prerequisites: list[Job]
    dependents: list[Job]
    transmissions: list[Transmission]
    now: datetime


def _related(urls: Urls, title: str, element_id: str, related: list[Job], none: str) -> Html:
    if not related:
        return render(
            '<h2>{title}</h2><p class="muted" id="{eid}">{none}</p>',
            title=title,
            eid=element_id,
            none=none,
        )
    return render(
        '<h2>{title}</h2><div id="{eid}">{t}</div>',
        title=title,
        eid=element_id,
        t=table(JOB_HEADERS, job_rows(urls, related), numeric=(0, 5)),
    )


def _verdict(t: Transmission) -> Html:
    said = verdict(t)
    return render(
        '<p class="verdict {tone}">{said}</p><p class="plain">{meaning}{action}</p>',
        tone=said.tone,
        said=said.said,
        meaning=said.meaning,
        action=render(" <strong>What to do:</strong> {a}", a=said.action) if said.action else "",
    )


def _xml_block(title: str, text: str | None, *, opened: bool) -> Html:
    shown, note = pretty_xml(text)
    if not shown:
        return render('<p class="muted">{title}: none.</p>', title=title)
    return render(
        '<details{open}><summary>{title}</summary>{note}<pre class="xml">{xml}</pre></details>',
        open=Html(" open") if opened else "",
        title=title,
        note=render('<p class="muted">{n}</p>', n=note) if note else "",
        xml=shown,
    )


def transmission_section(t: Transmission, number: int) -> Html:
    """One request sent and its answer."""
    received = f" · answered {when(t.received_at)}" if t.received_at else ""
    return render(
        '<section class="tx" id="t{number}"><h3>Round trip {number} · sent {sent}{received}'
        " · session #{session} · requestID {rid}</h3>{verdict}{request}{answer}</section>",
        number=number,
        sent=when(t.sent_at),
        received=received,
        session=t.session_id if t.session_id is not None else "-",
        rid=t.request_id,
        verdict=_verdict(t),
        request=_xml_block("Request sent to QuickBooks", t.request_xml, opened=False),
        answer=_xml_block("QuickBooks' answer", t.response_xml, opened=True),
    )


def _actions(urls: Urls, job: Job, csrf: str) -> Html:
    buttons = []
    if job.status in BROKEN_STATUSES:
        buttons.append(
            render(
                '<form class="inline" method="post" action="{href}">'
                '<input type="hidden" name="csrf" value="{csrf}">'
                '<button class="primary" type="submit" id="retry">Retry job #{id}</button></form>',
                href=urls.action(job.id, "retry"),
                csrf=csrf,
                id=job.id,
            )
        )
    if job.status not in (JobStatus.DONE, JobStatus.CANCELLED):
        buttons.append(
            render(
                '<form class="inline" method="post" action="{href}">'
                '<input type="hidden" name="csrf" value="{csrf}">'
                '<button class="danger" type="submit" id="cancel">Cancel job #{id}</button></form>',
                href=urls.action(job.id, "cancel"),
                csrf=csrf,
                id=job.id,
            )
        )
    if not buttons:
        return Html("")
    return render('<div class="actions">{b}</div>', b=join(buttons))


def job_page(urls: Urls, detail: JobDetail, csrf: str, *, notice: str | None = None) -> Html:
    """``/admin/jobs/ID``."""
    job = detail.job
    facts: list[tuple[str, object]] = [
        ("Status", render("{b} {w}", b=badge(job.status), w=STATUS_WORDS.get(job.status, ""))),
        ("Subject", job.subject or "—"),
        ("Web Connector user", job.qbwc_user),
        ("Attempts", f"{job.attempts} of {job.max_attempts}"),
    ]
    if job.status == JobStatus.PENDING and job.run_after > detail.now:
        facts.append(("Next try", f"{when(job.run_after)} UTC"))
    if job.autotask_entity is not None:
        facts.append(("Autotask", f"{job.autotask_entity} {job.autotask_id}"))
    if job.error:
        facts.append(
            ("Error", render('<span class="error" id="job-error">{e}</span>', e=job.error))
        )
    if job.failed_by is not None:
        facts.append(
            (
                "Failed because of",
                render(
                    '<a href="{href}">job #{id}</a> (retrying this job retries that one)',
                    href=urls.job(job.failed_by),
                    id=job.failed_by,
                ),
            )
        )
    if job.lease_session_id is not None:
        facts.append(
            (
                "Held by",
                f"Web Connector session #{job.lease_session_id} until "
                f"{when(job.lease_expires_at)} UTC",
            )
        )
    if job.idempotency_key:
        facts.append(("Idempotency key", job.idempotency_key))
    facts += [
        ("Created", f"{when(job.created_at)} UTC"),
        ("Updated", f"{when(job.updated_at)} UTC"),
    ]
    fact_list = join(render("<dt>{k}</dt><dd>{v}</dd>", k=k, v=v) for k, v in facts)
    data = join(
        render(
            "<details><summary>{title}</summary><pre>{json}</pre></details>",
            title=title,
            json=pretty_json(value),
        )
        for title, value in (("Payload", job.payload), ("State", job.state), ("Result", job.result))
        if value
    )
    transmissions = (
        join(transmission_section(t, n) for n, t in enumerate(detail.transmissions, 1))
        if detail.transmissions
        else Html('<p class="muted" id="no-transmissions">Nothing sent to QuickBooks yet.</p>')
    )
    body = render(
        '<p><a href="{back}">← Jobs</a></p><h1>Job #{id} · {kind}</h1>'
        '<dl class="facts" id="facts">{facts}</dl>{actions}'
        "{prerequisites}{dependents}<h2>Data</h2>{data}"
        '<h2>Transmission details</h2><div id="transmissions">{transmissions}</div>',
        back=urls.base,
        id=job.id,
        kind=job.kind,
        facts=fact_list,
        actions=_actions(urls, job, csrf),
        prerequisites=_related(
            urls, "Waits for", "prerequisites", detail.prerequisites, "No prerequisites."
        ),
        dependents=_related(
            urls, "Needed by", "dependents", detail.dependents, "No job waits for this one."
        ),
        data=data or Html('<p class="muted">No payload.</p>'),
        transmissions=transmissions,
    )
    return page(urls, f"Job #{job.id}", body, notice=notice)
