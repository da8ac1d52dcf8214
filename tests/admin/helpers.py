"""A job table with a bit of everything, made through the real job store, for the /admin tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lxml import html as lxml_html

from service.db import Database
from service.jobstore import Answer, JobStore, NewJob
from service.qbxml import build
from service.webconnector.sessions import Sessions

ADMIN = ("admin", "correct horse battery staple")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

HOSTILE_SUBJECT = '<script>alert("x")</script> & "quotes"'


@dataclass(frozen=True)
class Jobs:
    """Ids of the jobs :func:`populate` made."""

    company_done: int
    vendor_failed: int
    po_failed_by_vendor: int
    receipt_failed_by_po: int
    hresult_pending: int
    cancelled: int
    other_po: int
    hostile: int
    session_id: int


def populate(db: Database) -> Jobs:
    """Jobs of several kinds and statuses, with transmissions and dependencies."""
    with db.transaction() as conn:
        sessions = Sessions(conn, T0)
        user = sessions.add_user("office", "pw", r"C:\Books\Acme.QBW")
        sessions.add_user("warehouse", "pw", "")
        _, session_id = sessions.open(user, idle_seconds=1800, work_at_start=6)
        store = JobStore(conn, T0)

        def enqueue(
            kind: str,
            subject: str,
            *,
            user: str = "office",
            payload: dict[str, object] | None = None,
            autotask_entity: str | None = None,
            autotask_id: int | None = None,
            depends_on: tuple[int, ...] = (),
        ) -> int:
            new = NewJob(
                kind=kind,
                qbwc_user=user,
                subject=subject,
                payload=dict(payload or {}),
                autotask_entity=autotask_entity,
                autotask_id=autotask_id,
                depends_on=depends_on,
            )
            return store.enqueue(new)[0].id

        company = enqueue("company_query", "check the link")
        vendor = enqueue(
            "vendor_add",
            "Vendor Acme Supply",
            payload={"vendor": "Acme Supply", "autotask_id": 29683},
            autotask_entity="Companies",
            autotask_id=29683,
        )
        po = enqueue(
            "purchase_order_add",
            "PO 1234 · Acme Supply",
            payload={"vendor": "Acme Supply", "lines": 2},
            autotask_entity="PurchaseOrders",
            autotask_id=1234,
            depends_on=(vendor,),
        )
        receipt = enqueue("item_receipt_add", "PO 1234 · Acme Supply · line 1", depends_on=(po,))
        hresult = enqueue("company_query", "check again")
        cancelled = enqueue("company_query", "not needed")
        other_po = enqueue(
            "purchase_order_add",
            "PO 12345 · Globex",
            payload={"vendor": "Globex"},
            autotask_entity="PurchaseOrders",
            autotask_id=12345,
        )
        hostile = enqueue(
            "company_query",
            HOSTILE_SUBJECT,
            user="warehouse",
            payload={"note": "50%_off <b>bold</b>"},
        )

        claimed = store.claim(
            session_id=session_id, qbwc_user="office", limit=10, lease_seconds=600
        )
        by_id = {job.id: job for job in claimed}

        def send(job_id: int, request: build.Request) -> int:
            return store.record_request(
                by_id[job_id],
                session_id=session_id,
                request_id=str(job_id),
                request_xml=build.message([request]),
                state={},
            )

        sent = send(company, build.company_query(str(company)))
        store.record_answer(
            sent,
            Answer(
                response_xml=(
                    f'<CompanyQueryRs requestID="{company}" statusCode="0" statusSeverity="Info" '
                    'statusMessage="Status OK"><CompanyRet><CompanyName>Acme Books &amp; Co'
                    "</CompanyName></CompanyRet></CompanyQueryRs>"
                ),
                status_code=0,
                status_severity="Info",
                status_message="Status OK",
            ),
        )
        store.complete(company, {"company_name": "Acme Books & Co"})

        sent = send(vendor, build.vendor_add(str(vendor), "Acme Supply"))
        message = 'The name "Acme Supply" of the list element is already in use.'
        store.record_answer(
            sent,
            Answer(
                response_xml=(
                    f'<VendorAddRs requestID="{vendor}" statusCode="3100" statusSeverity="Error" '
                    f'statusMessage="{message.replace(chr(34), "&quot;")}" />'
                ),
                status_code=3100,
                status_severity="Error",
                status_message=message,
            ),
        )
        store.fail(vendor, f"QuickBooks 3100 (Error): {message}")

        sent = send(hresult, build.company_query(str(hresult)))
        store.record_answer(
            sent, Answer(hresult="0x80040408", message="Could not start QuickBooks.")
        )
        store.retry_later(hresult, "QuickBooks HRESULT 0x80040408: Could not start QuickBooks.")
        store.unclaim([cancelled, other_po])
        store.cancel(cancelled)
    return Jobs(
        company_done=company,
        vendor_failed=vendor,
        po_failed_by_vendor=po,
        receipt_failed_by_po=receipt,
        hresult_pending=hresult,
        cancelled=cancelled,
        other_po=other_po,
        hostile=hostile,
        session_id=session_id,
    )


def later(seconds: int) -> datetime:
    """An instant after :data:`T0`."""
    return T0 + timedelta(seconds=seconds)


def doc(text: str) -> lxml_html.HtmlElement:
    """A page, parsed."""
    return lxml_html.fromstring(text)


def job_ids(text: str) -> list[int]:
    """The ids in the page's job table, in order."""
    return [int(v) for v in doc(text).xpath('//div[@id="jobs"]//tr/@data-job')]


def card_counts(text: str) -> dict[str, int]:
    """The status cards: status -> number shown."""
    page = doc(text)
    return {
        card.get("data-status"): int(card.find_class("n")[0].text_content())
        for card in page.xpath('//div[@id="counts"]/a')
    }
