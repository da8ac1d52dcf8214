"""The simulated QuickBooks as a request processor: message sets, parse errors, faults, counters."""

from __future__ import annotations

import threading

import pytest
from lxml import etree

from service.simulators.processor import (
    HRESULT_COULD_NOT_START,
    HRESULT_PARSE_ERROR,
    QuickBooksHResultError,
    RequestProcessor,
)
from service.simulators.quickbooks import SimulatedQuickBooks, UnsupportedRequestError
from tests.simulators.helpers import (
    check_answer,
    customer_add,
    envelope,
    is_valid,
    one,
    send,
    status,
    value,
    vendor_add,
)

PARSE_MESSAGE = "QuickBooks found an error when parsing the provided XML text stream."


def rejected(qb: SimulatedQuickBooks, document: str) -> QuickBooksHResultError:
    """Send a message set that QuickBooks' request processor must refuse as a whole."""
    with pytest.raises(QuickBooksHResultError) as caught:
        qb.process(document)
    assert caught.value.hresult == HRESULT_PARSE_ERROR
    assert caught.value.message == PARSE_MESSAGE
    return caught.value


def test_it_is_a_request_processor(qb: SimulatedQuickBooks) -> None:
    processor: RequestProcessor = qb
    assert processor.process(envelope('<HostQueryRq requestID="1"/>'))


def test_answer_has_a_bare_declaration_and_the_real_attribute_names(
    qb: SimulatedQuickBooks,
) -> None:
    answer = qb.process(envelope(vendor_add("Acme Supply", "7")))
    assert answer.startswith('<?xml version="1.0" ?>\n<QBXML>')
    (rs,) = check_answer(answer)
    assert rs.tag == "VendorAddRs"
    assert list(rs.attrib) == ["requestID", "statusCode", "statusSeverity", "statusMessage"]
    assert status(rs) == (0, "Info", "Status OK")


def test_request_ids_are_echoed_on_every_answer_in_request_order(qb: SimulatedQuickBooks) -> None:
    answers = send(
        qb,
        vendor_add("Acme Supply", "v-1"),
        customer_add("Contoso", "c-2"),
        '<VendorQueryRq requestID="q-3"><FullName>Nobody</FullName></VendorQueryRq>',
        "<HostQueryRq/>",
    )
    assert [rs.tag for rs in answers] == [
        "VendorAddRs",
        "CustomerAddRs",
        "VendorQueryRs",
        "HostQueryRs",
    ]
    assert [rs.get("requestID") for rs in answers] == ["v-1", "c-2", "q-3", None]


def test_stop_on_error_stops_at_the_first_error_and_keeps_what_came_before(
    qb: SimulatedQuickBooks,
) -> None:
    answers = send(
        qb,
        vendor_add("Acme Supply", "1"),
        vendor_add("ACME SUPPLY", "2"),
        customer_add("Contoso", "3"),
        vendor_add("Globex", "4"),
        on_error="stopOnError",
    )
    assert [status(rs)[0] for rs in answers] == [0, 3100, 3231, 3231]
    assert status(answers[2]) == (3231, "Error", "The request has not been processed.")
    assert [rs.get("requestID") for rs in answers] == ["1", "2", "3", "4"]
    assert qb.vendor("Acme Supply") is not None  # not rolled back
    assert qb.customer("Contoso") is None
    assert qb.vendor("Globex") is None
    assert qb.requests_processed == 2


def test_continue_on_error_runs_every_request(qb: SimulatedQuickBooks) -> None:
    answers = send(
        qb,
        vendor_add("Acme Supply", "1"),
        vendor_add("Acme Supply", "2"),
        customer_add("Contoso", "3"),
        on_error="continueOnError",
    )
    assert [status(rs)[0] for rs in answers] == [0, 3100, 0]
    assert qb.customer("Contoso") is not None
    assert qb.requests_processed == 3


def test_warnings_and_empty_results_do_not_stop_a_stop_on_error_set(
    qb: SimulatedQuickBooks,
) -> None:
    answers = send(
        qb,
        '<VendorQueryRq requestID="1"><FullName>Nobody</FullName></VendorQueryRq>',
        '<VendorQueryRq requestID="2"><NameFilter><MatchCriterion>StartsWith</MatchCriterion>'
        "<Name>Zz</Name></NameFilter></VendorQueryRq>",
        vendor_add("Acme Supply", "3"),
    )
    assert [status(rs)[:2] for rs in answers] == [(500, "Warn"), (1, "Info"), (0, "Info")]


# ----------------------------------------------------------------------------- parse errors


def test_elements_out_of_schema_order_reject_the_whole_message_set(
    qb: SimulatedQuickBooks,
) -> None:
    document = envelope(
        vendor_add("Acme Supply"),
        '<PurchaseOrderAddRq requestID="2"><PurchaseOrderAdd>'
        "<VendorRef><FullName>Acme Supply</FullName></VendorRef>"
        "<PurchaseOrderLineAdd><ItemRef><FullName>Widget</FullName></ItemRef>"
        "<Rate>2.00</Rate><Quantity>1</Quantity></PurchaseOrderLineAdd>"
        "</PurchaseOrderAdd></PurchaseOrderAddRq>",
        valid=False,
    )
    assert not is_valid(document)
    rejected(qb, document)
    assert qb.vendor("Acme Supply") is None  # nothing in the set ran
    assert qb.messages_processed == 0
    assert qb.requests_processed == 0
    assert qb.log[-1].hresult == HRESULT_PARSE_ERROR


def test_an_unknown_element_rejects_the_message_set(qb: SimulatedQuickBooks) -> None:
    document = envelope(
        "<VendorAddRq><VendorAdd><Name>Acme</Name><Colour>red</Colour></VendorAdd></VendorAddRq>",
        valid=False,
    )
    assert not is_valid(document)
    rejected(qb, document)


def test_a_bad_value_type_rejects_the_message_set(qb: SimulatedQuickBooks) -> None:
    document = envelope(
        "<VendorAddRq><VendorAdd><Name>Acme</Name><IsActive>maybe</IsActive></VendorAdd>"
        "</VendorAddRq>",
        valid=False,
    )
    assert not is_valid(document)
    rejected(qb, document)


@pytest.mark.parametrize(
    "document",
    [
        "<QBXML><QBXMLMsgsRq onError='stopOnError'><VendorAddRq>",
        "",
        "not xml at all",
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError">'
        "<VendorAddRq><VendorAdd><Name>A & B</Name></VendorAdd></VendorAddRq>"
        "</QBXMLMsgsRq></QBXML>",
    ],
    ids=["truncated", "empty", "text", "bare-ampersand"],
)
def test_malformed_xml_rejects_the_message_set(qb: SimulatedQuickBooks, document: str) -> None:
    rejected(qb, document)


def test_raw_non_ascii_is_a_parse_error_but_a_character_reference_works(
    qb: SimulatedQuickBooks,
) -> None:
    raw = envelope(vendor_add("Steel Décor"))
    assert is_valid(raw)  # the schema has nothing against it: QuickBooks does (qbxml.md 9)
    rejected(qb, raw)
    assert qb.vendor("Steel Décor") is None

    rs = one(qb, vendor_add("Steel D&#233;cor"))
    assert value(rs, "VendorRet/Name") == "Steel Décor"
    assert qb.vendor("steel décor") is not None


def test_answers_carry_latin1_text_and_characters_outside_latin1_become_question_marks(
    qb: SimulatedQuickBooks,
) -> None:
    answer = qb.process(envelope(vendor_add("Caf&#233; &#8364; &#x4E2D;")))
    assert "Café ? ?" in answer  # Latin-1 as itself; the euro sign and CJK are not Latin-1
    (rs,) = check_answer(answer)
    assert value(rs, "VendorRet/Name") == "Café ? ?"
    assert qb.vendor("Café ? ?") is not None


def test_a_doctype_with_entities_is_refused_without_expanding_them(
    qb: SimulatedQuickBooks,
) -> None:
    document = (
        '<?xml version="1.0"?>\n<!DOCTYPE QBXML [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n'
        '<?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><VendorAddRq>'
        "<VendorAdd><Name>&c;</Name></VendorAdd></VendorAddRq></QBXMLMsgsRq></QBXML>"
    )
    rejected(qb, document)
    assert qb.counts()["Vendor"] == 0


def test_an_external_entity_is_never_fetched(qb: SimulatedQuickBooks) -> None:
    document = (
        '<?xml version="1.0"?><!DOCTYPE QBXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><VendorAddRq>'
        "<VendorAdd><Name>&x;</Name></VendorAdd></VendorAddRq></QBXMLMsgsRq></QBXML>"
    )
    rejected(qb, document)


@pytest.mark.parametrize(
    "header",
    [
        '<?xml version="1.0" encoding="utf-8"?>\n',
        '<?xml version="1.0"?><?qbxml version="16.0"?>',
        '<?xml version="1.0"?><?qbxml?>',
    ],
    ids=["missing", "newer-than-13", "no-version"],
)
def test_the_qbxml_version_header_is_required_and_must_be_supported(
    qb: SimulatedQuickBooks, header: str
) -> None:
    body = envelope(vendor_add("Acme")).split("?>", 2)[2]
    rejected(qb, header + body)


def test_an_older_supported_qbxml_version_is_accepted(qb: SimulatedQuickBooks) -> None:
    document = envelope(vendor_add("Acme")).replace('version="13.0"', 'version="12.0"')
    (rs,) = check_answer(qb.process(document))
    assert status(rs)[0] == 0


def test_rollback_on_error_is_valid_in_the_schema_but_refused(qb: SimulatedQuickBooks) -> None:
    document = envelope(vendor_add("Acme"), on_error="rollbackOnError")
    assert is_valid(document)
    rejected(qb, document)


def test_a_response_document_sent_as_a_request_is_refused(qb: SimulatedQuickBooks) -> None:
    document = (
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRs>'
        '<HostQueryRs statusCode="0" statusSeverity="Info"/></QBXMLMsgsRs></QBXML>'
    )
    assert is_valid(document)
    rejected(qb, document)


# ----------------------------------------------------------------------------- run-time checks


def test_an_over_long_string_fails_only_its_own_request_with_3070(
    qb: SimulatedQuickBooks,
) -> None:
    long_name = "A" * 42  # vendor names are 41 at most (qbxml.md 8.1)
    document = envelope(
        vendor_add("Acme Supply", "1"),
        vendor_add(long_name, "2"),
        customer_add("Contoso", "3"),
        on_error="continueOnError",
        valid=False,
    )
    assert not is_valid(document)  # the XSD knows the limit; QuickBooks checks it at run time
    answers = list(check_answer(qb.process(document)))
    assert [status(rs)[0] for rs in answers] == [0, 3070, 0]
    assert status(answers[1]) == (
        3070,
        "Error",
        f'The string "{long_name}" in the field "Name" is too long.',
    )
    assert qb.vendor(long_name) is None
    assert qb.customer("Contoso") is not None


def test_an_over_long_string_under_stop_on_error_stops_the_rest(qb: SimulatedQuickBooks) -> None:
    document = envelope(
        vendor_add("B" * 42, "1"),
        vendor_add("Acme Supply", "2"),
        valid=False,
    )
    answers = list(check_answer(qb.process(document)))
    assert [status(rs)[0] for rs in answers] == [3070, 3231]


def test_an_over_long_string_next_to_an_order_error_rejects_everything(
    qb: SimulatedQuickBooks,
) -> None:
    document = envelope(
        vendor_add("C" * 42, "1"),
        "<VendorAddRq><VendorAdd><IsActive>true</IsActive><Name>Acme</Name></VendorAdd>"
        "</VendorAddRq>",
        valid=False,
    )
    rejected(qb, document)


def test_a_request_id_over_50_characters_is_status_1060(qb: SimulatedQuickBooks) -> None:
    long_id = "r" * 51
    answers = send(qb, vendor_add("Acme", long_id), vendor_add("Globex", "ok"))
    assert status(answers[0])[:2] == (1060, "Error")
    assert answers[0].get("requestID") == long_id
    assert status(answers[1])[0] == 3231
    assert qb.vendor("Acme") is None


def test_a_request_the_simulator_does_not_model_fails_loudly_before_anything_runs(
    qb: SimulatedQuickBooks,
) -> None:
    document = envelope(vendor_add("Acme"), '<InvoiceQueryRq requestID="2"/>')
    assert is_valid(document)
    with pytest.raises(UnsupportedRequestError, match="InvoiceQueryRq"):
        qb.process(document)
    assert qb.vendor("Acme") is None


def test_an_element_the_simulator_does_not_model_fails_loudly_before_anything_runs(
    qb: SimulatedQuickBooks,
) -> None:
    custom_field = (
        "<DataExt><OwnerID>0</OwnerID><DataExtName>Ticket</DataExtName>"
        "<DataExtValue>T1</DataExtValue></DataExt>"
    )
    document = envelope(
        vendor_add("Acme"),
        '<PurchaseOrderAddRq requestID="2"><PurchaseOrderAdd>'
        "<VendorRef><FullName>Acme</FullName></VendorRef><PurchaseOrderLineAdd>"
        f"<Desc>x</Desc>{custom_field}</PurchaseOrderLineAdd>"
        "</PurchaseOrderAdd></PurchaseOrderAddRq>",
    )
    with pytest.raises(UnsupportedRequestError, match="DataExt"):
        qb.process(document)
    assert qb.vendor("Acme") is None


def test_response_data_include_none_answers_statuses_only(qb: SimulatedQuickBooks) -> None:
    document = envelope(vendor_add("Acme"), attributes=' responseData="includeNone"')
    (rs,) = check_answer(qb.process(document))
    assert status(rs)[0] == 0
    assert len(rs) == 0
    assert qb.vendor("Acme") is not None


# ----------------------------------------------------------------------------- fault hooks


def test_busy_answers_the_next_messages_with_a_lock_error_and_changes_nothing(
    qb: SimulatedQuickBooks,
) -> None:
    qb.busy(2)
    for _ in range(2):
        answers = send(qb, vendor_add("Acme", "1"), customer_add("Contoso", "2"))
        code, severity, message = status(answers[0])
        assert (code, severity) == (3176, "Error")
        assert "The application failed to acquire the lock." in message
        assert status(answers[1])[0] == 3231
    assert qb.counts()["Vendor"] == 0
    assert qb.requests_processed == 0
    assert status(one(qb, vendor_add("Acme")))[0] == 0


def test_busy_can_answer_3175_for_a_transaction_in_use(qb: SimulatedQuickBooks) -> None:
    qb.busy(status_code=3175)
    answers = send(qb, vendor_add("Acme"), customer_add("Contoso"), on_error="continueOnError")
    assert [status(rs)[0] for rs in answers] == [3175, 3175]
    assert "The transaction could not be locked" in status(answers[0])[2]


def test_busy_refuses_a_code_that_is_not_a_lock_error(qb: SimulatedQuickBooks) -> None:
    with pytest.raises(ValueError, match="not a lock error"):
        qb.busy(status_code=3100)


def test_raise_hresult_fails_the_call_before_quickbooks_does_anything(
    qb: SimulatedQuickBooks,
) -> None:
    qb.raise_hresult()
    with pytest.raises(QuickBooksHResultError) as caught:
        qb.process(envelope(vendor_add("Acme")))
    assert (caught.value.hresult, caught.value.message) == (
        HRESULT_COULD_NOT_START,
        "Could not start QuickBooks.",
    )
    assert qb.vendor("Acme") is None
    assert (qb.messages_received, qb.messages_processed) == (1, 0)
    assert status(one(qb, vendor_add("Acme")))[0] == 0


def test_raise_hresult_after_processing_loses_the_answer_but_keeps_the_write(
    qb: SimulatedQuickBooks,
) -> None:
    qb.raise_hresult(hresult="0x80040402", after_processing=True)
    with pytest.raises(QuickBooksHResultError) as caught:
        qb.process(envelope(vendor_add("Acme")))
    assert caught.value.message == "Unexpected error."
    assert qb.vendor("Acme") is not None
    assert qb.log[-1].response_xml is None
    assert [o.status_code for o in qb.log[-1].requests] == [0]


def test_fail_next_answers_one_kind_of_request_with_a_chosen_status(
    qb: SimulatedQuickBooks,
) -> None:
    qb.fail_next("CustomerAddRq", 3180, "There was an error when saving a Customer.")
    answers = send(qb, vendor_add("Acme"), customer_add("Contoso"), on_error="continueOnError")
    assert [status(rs)[0] for rs in answers] == [0, 3180]
    assert qb.customer("Contoso") is None
    assert status(one(qb, customer_add("Contoso")))[0] == 0


def test_counters_and_log_record_every_message_and_request(qb: SimulatedQuickBooks) -> None:
    send(qb, vendor_add("Acme", "a"), vendor_add("Acme", "b"), customer_add("C", "c"))
    with pytest.raises(QuickBooksHResultError):
        qb.process("garbage")
    assert qb.messages_received == 2
    assert qb.messages_processed == 1
    assert qb.requests_processed == 2
    first, second = qb.log
    assert [(o.request, o.request_id, o.status_code) for o in first.requests] == [
        ("VendorAddRq", "a", 0),
        ("VendorAddRq", "b", 3100),
        ("CustomerAddRq", "c", 3231),
    ]
    assert first.response_xml is not None
    assert first.hresult is None
    assert second.request_xml == "garbage"
    assert second.hresult == HRESULT_PARSE_ERROR


def test_the_log_keeps_the_last_messages_only() -> None:
    qb = SimulatedQuickBooks(log_limit=2)
    for name in ("A", "B", "C"):
        qb.process(envelope(vendor_add(name)))
    assert [m.request_xml.count(">C<") for m in qb.log] == [0, 1]
    assert qb.messages_processed == 3


def test_concurrent_messages_are_processed_one_at_a_time(qb: SimulatedQuickBooks) -> None:
    def worker(n: int) -> None:
        for i in range(10):
            qb.process(envelope(vendor_add(f"Vendor {n}-{i}"), customer_add(f"Customer {n}-{i}")))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = qb.counts()
    assert (counts["Vendor"], counts["Customer"]) == (40, 40)
    assert qb.requests_processed == 80
    ids = [
        etree.fromstring(m.response_xml.split("?>", 1)[1].encode()).findtext(".//ListID")
        for m in qb.log
        if m.response_xml
    ]
    assert len(set(ids)) == 40


# ----------------------------------------------------------------------------- host, iterators


def test_host_and_company_queries_answer_minimal_records(qb: SimulatedQuickBooks) -> None:
    host, company = send(qb, '<HostQueryRq requestID="1"/>', '<CompanyQueryRq requestID="2"/>')
    assert value(host, "HostRet/Country") == "US"
    versions = [v.text for v in host.findall("HostRet/SupportedQBXMLVersion")]
    assert versions[-1] == "13.0"
    assert value(company, "CompanyRet/CompanyName") == "Simulated Company"


def test_an_iterator_pages_through_a_query(qb: SimulatedQuickBooks) -> None:
    for n in range(5):
        qb.add_vendor(f"Vendor {n}")
    rs = one(
        qb,
        '<VendorQueryRq requestID="1" iterator="Start">'
        "<MaxReturned>2</MaxReturned></VendorQueryRq>",
    )
    iterator_id = rs.get("iteratorID", "")
    names = [v.text for v in rs.findall("VendorRet/Name")]
    assert rs.get("iteratorRemainingCount") == "3"
    while rs.get("iteratorRemainingCount") != "0":
        rs = one(
            qb,
            f'<VendorQueryRq requestID="2" iterator="Continue" iteratorID="{iterator_id}">'
            "<MaxReturned>2</MaxReturned></VendorQueryRq>",
        )
        assert status(rs)[0] == 0
        names += [v.text for v in rs.findall("VendorRet/Name")]
    assert names == [f"Vendor {n}" for n in range(5)]
    stale = one(
        qb,
        f'<VendorQueryRq requestID="3" iterator="Continue" iteratorID="{iterator_id}">'
        "<MaxReturned>2</MaxReturned></VendorQueryRq>",
    )
    assert status(stale)[0] == 3210


def test_meta_data_only_counts_without_returning_records(qb: SimulatedQuickBooks) -> None:
    qb.add_vendor("Acme")
    qb.add_vendor("Globex")
    rs = one(qb, '<VendorQueryRq requestID="1" metaData="MetaDataOnly"/>')
    assert rs.get("retCount") == "2"
    assert len(rs) == 0


def test_include_ret_element_trims_the_answer(qb: SimulatedQuickBooks) -> None:
    qb.add_vendor("Acme")
    rs = one(
        qb,
        '<VendorQueryRq requestID="1"><FullName>Acme</FullName>'
        "<IncludeRetElement>ListID</IncludeRetElement><IncludeRetElement>Name</IncludeRetElement>"
        "</VendorQueryRq>",
    )
    assert [c.tag for c in rs[0]] == ["ListID", "Name"]
