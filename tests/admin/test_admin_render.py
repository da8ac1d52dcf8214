"""The pieces /admin pages are made of: escaping, XML for reading, times and durations."""

from __future__ import annotations

from datetime import UTC, datetime

from service.admin import pages
from service.admin.markup import Html, escape, join, render


def test_every_value_is_escaped_unless_it_is_already_html() -> None:
    assert render("<td>{v}</td>", v='<img src=x onerror="a()">&') == (
        "<td>&lt;img src=x onerror=&quot;a()&quot;&gt;&amp;</td>"
    )
    inner = render("<b>{v}</b>", v="<i>")
    assert render("<td>{v}</td>", v=inner) == "<td><b>&lt;i&gt;</b></td>"
    assert escape(None) == ""
    assert escape(42) == "42"
    assert join(["<a>", Html("<br>"), 1], ", ") == "&lt;a&gt;, <br>, 1"
    # Braces in a value are not template syntax.
    assert render("{v}", v="{other}") == "{other}"


def test_xml_is_indented_with_its_processing_instruction() -> None:
    shown, note = pages.pretty_xml(
        '<?xml version="1.0"?><?qbxml version="13.0"?><QBXML><QBXMLMsgsRq onError="x">'
        "<CompanyQueryRq/></QBXMLMsgsRq></QBXML>"
    )
    assert note is None
    assert shown.splitlines() == [
        '<?qbxml version="13.0"?>',
        "<QBXML>",
        '  <QBXMLMsgsRq onError="x">',
        "    <CompanyQueryRq/>",
        "  </QBXMLMsgsRq>",
        "</QBXML>",
    ]


def test_xml_that_cannot_be_read_is_shown_as_received() -> None:
    shown, note = pages.pretty_xml("<Rs statusCode='0'><unclosed>")
    assert shown == "<Rs statusCode='0'><unclosed>"
    assert note is not None
    assert note.startswith("not well-formed XML")
    hostile = '<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    shown, note = pages.pretty_xml(hostile)
    assert shown == hostile
    assert note is not None


def test_a_huge_answer_is_cut_for_the_page() -> None:
    body = "<ItemQueryRs>" + "<ItemRet><Name>n</Name></ItemRet>" * 60_000 + "</ItemQueryRs>"
    shown, note = pages.pretty_xml(body)
    assert len(shown) == pages.MAX_SHOWN
    assert note is not None
    assert note.startswith("showing the first 200,000 of ")
    raw = "x" * (pages.MAX_PRETTY_INPUT + 1)
    shown, note = pages.pretty_xml(raw)
    assert len(shown) == pages.MAX_SHOWN
    assert "of 2,000,001 characters" in (note or "")


def test_times_and_durations_for_people() -> None:
    assert pages.when(datetime(2026, 11, 23, 9, 5, 7, tzinfo=UTC)) == "2026-11-23 09:05:07"
    assert pages.when(None) == ""
    assert [pages.duration(s) for s in (0.4, 42, 185, 7800, -3)] == [
        "0 s", "42 s", "3 min 5 s", "2 h 10 min", "0 s",
    ]  # fmt: skip
    assert pages.clip("a  b\nc", 10) == "a b c"
    assert pages.clip("x" * 20, 10) == "x" * 9 + "…"
