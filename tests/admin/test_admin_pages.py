"""/admin over HTTP: counts, filters, a job's details, sessions and poll cycles, all escaped."""

from __future__ import annotations

import pytest

from service.qbxml.status import describe
from tests.admin.conftest import Shared
from tests.admin.helpers import HOSTILE_SUBJECT, card_counts, doc, job_ids


def test_overview_counts_jobs_by_status_and_kind(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    page = admin.get("/admin")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert card_counts(page.text) == {
        "pending": 3,  # the HRESULT job waits for its retry; other PO; the warehouse's job
        "waiting": 0,
        "in_flight": 0,
        "done": 1,
        "failed": 3,  # the vendor, and the PO and receipt it failed
        "cancelled": 1,
    }
    rows = {
        row.get("data-kind"): [cell.text_content() for cell in row.xpath("td")]
        for row in doc(page.text).xpath('//div[@id="by-kind"]//tr[@data-kind]')
    }
    # columns: pending, waiting, in_flight, done, failed, cancelled, total
    assert rows["company_query"] == ["2", "0", "0", "1", "0", "1", "4"]
    assert rows["purchase_order_add"] == ["1", "0", "0", "0", "1", "0", "2"]
    assert rows["vendor_add"] == ["0", "0", "0", "0", "1", "0", "1"]
    assert job_ids(page.text) == sorted(
        [jobs.company_done, jobs.vendor_failed, jobs.po_failed_by_vendor,
         jobs.receipt_failed_by_po, jobs.hresult_pending, jobs.cancelled, jobs.other_po,
         jobs.hostile],
        reverse=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "failed"}, ["vendor_failed", "po_failed_by_vendor", "receipt_failed_by_po"]),
        ({"kind": "vendor_add"}, ["vendor_failed"]),
        ({"user": "warehouse"}, ["hostile"]),
        ({"po": "1234"}, ["po_failed_by_vendor", "receipt_failed_by_po"]),
        ({"po": "12345"}, ["other_po"]),
        ({"po": "123"}, []),
        ({"vendor": "acme supply"}, ["vendor_failed", "po_failed_by_vendor",
                                     "receipt_failed_by_po"]),
        ({"vendor": "GLOBEX"}, ["other_po"]),
        # the vendor's error, and the errors it passed on to the PO and its receipt
        ({"text": "already in use"}, ["vendor_failed", "po_failed_by_vendor",
                                      "receipt_failed_by_po"]),
        ({"text": "Status OK"}, []),  # answers are not searched, only jobs
        ({"text": "50%_off"}, ["hostile"]),
        ({"text": "%"}, ["hostile"]),
        ({"text": "_"}, ["vendor_failed", "po_failed_by_vendor", "receipt_failed_by_po",
                         "hresult_pending", "other_po", "hostile", "company_done",
                         "cancelled"]),
        ({"status": "pending", "kind": "company_query", "user": "office"}, ["hresult_pending"]),
        ({"status": "done", "vendor": "acme"}, []),
    ],
)  # fmt: skip
def test_filters_narrow_the_job_table(
    shared: Shared, query: dict[str, str], expected: list[str]
) -> None:
    admin, jobs = shared.client, shared.jobs
    page = admin.get("/admin", params=query)
    assert page.status_code == 200
    wanted = sorted((getattr(jobs, name) for name in expected), reverse=True)
    assert job_ids(page.text) == wanted
    if not expected:
        assert "No jobs match these filters." in page.text
    # The form shows what was asked for.
    form = doc(page.text).forms[0]
    for name, value in query.items():
        assert form.fields[name] == value


def test_the_job_number_is_found_by_free_text(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    page = admin.get("/admin", params={"text": f"#{jobs.cancelled}"})
    assert jobs.cancelled in job_ids(page.text)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        (
            {"status": "<b>lost</b>"},
            "status: '<b>lost</b>' is not one of "
            "pending, waiting, in_flight, done, failed, cancelled",
        ),
        ({"text": "x" * 201}, "text: at most 200 characters"),
        ({"vendor": "a\x01b"}, "vendor: control characters are not allowed"),
        ({"before": "yesterday"}, "before: 'yesterday' is not a job number"),
    ],
)
def test_a_bad_filter_is_refused_with_a_reason_and_the_page_still_shows(
    shared: Shared, query: dict[str, str], problem: str
) -> None:
    admin = shared.client
    page = admin.get("/admin", params=query)
    assert page.status_code == 400
    alert = doc(page.text).xpath('//p[@role="alert"]')[0].text_content()
    assert alert == f"The filter was not applied. {problem}"
    assert "<b>lost</b>" not in page.text  # escaped, not markup
    assert len(job_ids(page.text)) == 8


def test_too_many_parameters_are_refused(shared: Shared) -> None:
    admin = shared.client
    page = admin.get("/admin?" + "&".join(f"p{n}=1" for n in range(30)))
    assert page.status_code == 400
    assert "too many parameters" in page.text


def test_values_from_outside_are_escaped_everywhere(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    for path in ("/admin", f"/admin/jobs/{jobs.hostile}", "/admin?text=%3Cscript%3E"):
        page = admin.get(path)
        assert "<script>" not in page.text
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text
    detail = admin.get(f"/admin/jobs/{jobs.hostile}").text
    assert "<b>bold</b>" not in detail
    assert doc(detail).xpath("//h1")[0].text_content() == f"Job #{jobs.hostile} · company_query"
    facts = doc(detail).get_element_by_id("facts").text_content()
    assert HOSTILE_SUBJECT in facts


def test_pages_forbid_scripts_framing_and_caching(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    for path in ("/admin", f"/admin/jobs/{jobs.vendor_failed}", "/admin/sessions", "/nope"):
        response = admin.get(path if path != "/nope" else "/admin/nope")
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src" not in policy
        assert "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_job_detail_shows_dependencies_and_transmissions(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    page = admin.get(f"/admin/jobs/{jobs.po_failed_by_vendor}")
    assert page.status_code == 200
    tree = doc(page.text)
    facts = tree.get_element_by_id("facts").text_content()
    assert "prerequisite job #" in facts
    assert "Vendor Acme Supply" in facts
    assert "Autotask" in facts
    assert "PurchaseOrders 1234" in facts
    assert tree.xpath('//div[@id="prerequisites"]//tr/@data-job') == [str(jobs.vendor_failed)]
    assert tree.xpath('//div[@id="dependents"]//tr/@data-job') == [str(jobs.receipt_failed_by_po)]
    assert tree.get_element_by_id("no-transmissions") is not None
    assert tree.xpath('//button[@id="retry"]')
    assert tree.xpath('//button[@id="cancel"]')

    vendor = doc(admin.get(f"/admin/jobs/{jobs.vendor_failed}").text)
    (section,) = vendor.xpath('//div[@id="transmissions"]/section')
    verdict = section.find_class("verdict")[0].text_content()
    assert verdict == (
        'QuickBooks status 3100 (Error): The name "Acme Supply" of the list element is already '
        "in use."
    )
    plain = section.find_class("plain")[0].text_content()
    # QuickBooks' message is in the verdict above, not repeated in the plain words.
    words = describe(
        3100, 'The name "Acme Supply" of the list element is already in use.', quote=False
    )
    assert plain == f"{words.meaning} What to do: {words.action}"
    request, answer = section.xpath(".//pre")
    # Indented, one element per line, the qbXML processing instruction kept.
    assert request.text_content().splitlines()[:4] == [
        '<?qbxml version="13.0"?>',
        "<QBXML>",
        '  <QBXMLMsgsRq onError="continueOnError">',
        f'    <VendorAddRq requestID="{jobs.vendor_failed}">',
    ]
    assert answer.text_content().startswith(f'<VendorAddRs requestID="{jobs.vendor_failed}"')
    assert vendor.xpath('//div[@id="dependents"]//tr/@data-job') == [str(jobs.po_failed_by_vendor)]


def test_an_hresult_is_explained_in_plain_words(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    page = doc(admin.get(f"/admin/jobs/{jobs.hresult_pending}").text)
    verdict = page.find_class("verdict")[0].text_content()
    assert verdict == "QuickBooks could not take the request: HRESULT 0x80040408"
    plain = page.find_class("plain")[0].text_content()
    assert "could not start QuickBooks or open the company file" in plain
    assert "The Web Connector said: Could not start QuickBooks." in plain
    assert page.xpath('//button[@id="cancel"]')
    assert not page.xpath('//button[@id="retry"]')


def test_done_job_shows_its_result_and_offers_no_action(shared: Shared) -> None:
    admin, jobs = shared.client, shared.jobs
    page = doc(admin.get(f"/admin/jobs/{jobs.company_done}").text)
    assert not page.xpath("//form[@method='post']")
    assert page.find_class("verdict")[0].text_content().startswith("QuickBooks status 0 (Info)")
    assert '"company_name": "Acme Books & Co"' in page.text_content()
    answer = page.xpath('//section[@class="tx"]//pre')[1].text_content()
    assert "<CompanyName>Acme Books &amp; Co</CompanyName>" in answer


def test_unknown_jobs_and_pages_are_404(shared: Shared) -> None:
    admin = shared.client
    for path in ("/admin/jobs/999999", "/admin/jobs/abc", "/admin/elsewhere", "/admin/jobs/1/x"):
        response = admin.get(path)
        assert response.status_code == 404, path
        assert "atqb admin" in response.text
    assert "There is no job #999999." in admin.get("/admin/jobs/999999").text


def test_head_answers_without_a_body(shared: Shared) -> None:
    admin = shared.client
    response = admin.head("/admin")
    assert response.status_code == 200
    assert response.content == b""
