"""Each answer of a qbXML message as text, for the per-job transmission log."""

from __future__ import annotations

from service.qbxml.parse import parse_response, raw_responses

ANSWER = """<?xml version="1.0" ?>
<QBXML>
<QBXMLMsgsRs>
<VendorQueryRs requestID="7" statusCode="1" statusSeverity="Info" statusMessage="A &gt; b > c" />
<VendorAddRs requestID="8" statusCode="0" statusSeverity="Info" statusMessage="Status OK">
<VendorRet><ListID>80000001-1700000000</ListID><Name>Acme &amp; Sons</Name></VendorRet>
</VendorAddRs>
<CompanyQueryRs requestID='9' statusCode='0' statusSeverity='Info'>
<CompanyRet><CompanyName>X</CompanyName></CompanyRet></CompanyQueryRs>
</QBXMLMsgsRs>
</QBXML>
"""


def test_each_response_is_cut_out_in_order_with_its_own_records() -> None:
    parts = raw_responses(ANSWER)
    assert [p.split()[0] for p in parts] == ["<VendorQueryRs", "<VendorAddRs", "<CompanyQueryRs"]
    assert parts[0].endswith("/>")
    assert "Acme &amp; Sons" in parts[1]
    assert parts[1].endswith("</VendorAddRs>")
    assert len(parts) == len(parse_response(ANSWER))


def test_a_long_answer_is_cut_with_a_note() -> None:
    big = ANSWER.replace("Acme &amp; Sons", "x" * 5000)
    (_, vendor, _) = raw_responses(big, limit=1000)
    assert vendor.startswith("<VendorAddRs")
    assert "more characters not kept" in vendor
    assert len(vendor) < 1100
