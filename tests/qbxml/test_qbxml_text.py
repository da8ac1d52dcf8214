"""Text rules: what QuickBooks can store, name limits, colons, collisions after cutting."""

from __future__ import annotations

from functools import partial

import pytest

from service.qbxml import text as t

#: A purchase order's RefNumber as QuickBooks stores it (11 characters at most).
PO_REF_NUMBER = partial(t.ref_number, limit=t.PO_REF_NUMBER_MAX)


@pytest.mark.parametrize(
    ("given", "stored", "reasons"),
    [
        ("Steel D\u00e9cor \u00a9 \u00bd", "Steel D\u00e9cor \u00a9 \u00bd", []),
        ("\u201cQuoted\u201d \u2018x\u2019", "\"Quoted\" 'x'", ["transliterated"] * 4),
        ("10\u201312 \u2014 more\u2026", "10-12 - more...", ["transliterated"] * 3),
        ("\u20ac 5 \u2022 item", "EUR 5 * item", ["transliterated"] * 2),
        ("\ufb01ne\u2122", "fineTM", ["transliterated"] * 2),
        ("\uff21\uff22", "AB", ["transliterated"] * 2),
        ("\u0141\u00f3d\u017a \u0152uvre \u0151", "L\u00f3dz OEuvre o", ["transliterated"] * 4),
        ("e\u0301tude", "\u00e9tude", []),
        ("a\x92b", "a'b", ["transliterated"]),
        ("a\x81b", "ab", ["control"]),
        ("zero\u200bwidth\ufeff", "zerowidth", ["invisible"] * 2),
        ("bell\x07nul\x00del\x7f", "bellnuldel", ["control"] * 3),
        ("lone \ud800 surrogate", "lone  surrogate", ["control"]),
        ("\U0001f600 \u6771\u4eac", "? ??", ["unsupported"] * 3),
        ("keep\ttab\nand\r\nbreaks", "keep\ttab\nand\r\nbreaks", []),
    ],
)
def test_clean_text_keeps_latin1_and_replaces_the_rest_predictably(
    given: str, stored: str, reasons: list[str]
) -> None:
    result = t.clean_text(given)
    assert result.text == stored
    assert [r.reason for r in result.replacements] == reasons
    assert t.clean_text(result.text).replacements == ()  # idempotent


def test_every_replacement_says_what_and_where() -> None:
    result = t.clean_text("a\u201cb\U0001f600")
    assert [(r.index, r.original, r.replacement) for r in result.replacements] == [
        (1, "\u201c", '"'),
        (3, "\U0001f600", "?"),
    ]
    assert result.replacements[0].describe() == "'\u201c' became '\"' (transliterated)"
    assert t.summarize(result.replacements) == "'\u201c'→'\"'; '\U0001f600'→'?'"


def test_a_cleaned_text_only_holds_characters_quickbooks_stores() -> None:
    every_char = "".join(chr(c) for c in range(0x3000)) + "\U0001f600\U0010ffff"
    cleaned = t.clean_text(every_char).text
    assert all(c in "\t\n\r" or 0x20 <= ord(c) <= 0x7E or 0xA0 <= ord(c) <= 0xFF for c in cleaned)


@pytest.mark.parametrize(
    ("convert", "given", "stored"),
    [
        (t.item_name, "Cable: Cat6", "Cable- Cat6"),
        (t.item_name, "  padded\tname\n", "padded name"),
        (t.item_name, "A" * 31 + "B", "A" * 31),
        (t.item_name, "x" * 30 + " tail", "x" * 30),
        (t.vendor_name, "V" * 41 + "-extra", "V" * 41),
        (t.customer_name, "Contoso~Project", "Contoso~Project"),
        (PO_REF_NUMBER, "PO:2024:0001", "PO:2024:000"),
        (PO_REF_NUMBER, " 4711 ", "4711"),
    ],
)
def test_names_follow_autotasks_limits_and_quickbooks_separators(
    convert: object, given: str, stored: str
) -> None:
    result = convert(given)  # type: ignore[operator]
    assert result.text == stored


def test_cutting_is_reported_with_the_part_that_was_cut() -> None:
    result = t.item_name("Cisco Catalyst 9200L 24-port PoE+ switch")
    assert result.text == "Cisco Catalyst 9200L 24-port Po"
    (cut,) = result.replacements
    assert (cut.reason, cut.original, cut.index) == ("truncated", "E+ switch", 31)


def test_a_name_with_nothing_storable_left_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        t.vendor_name("\x00 \u200b ")


def test_name_key_ignores_case_like_quickbooks() -> None:
    assert t.name_key("ACME Supply") == t.name_key("acme supply")
    assert t.name_key("Stra\u00dfe") != t.name_key("Strasse")


def test_collisions_from_cutting_and_case_are_reported_not_merged() -> None:
    mapping = t.find_collisions(
        {
            101: "Cisco Catalyst 9200L 24-port PoE+ switch",
            102: "Cisco Catalyst 9200L 24-port PoE switch",
            103: "Cable: Cat6",
            104: "Cable- Cat6",
            105: "ACME",
            106: "acme",
            107: "Plain",
            108: "Plain",  # the same source name twice is one QuickBooks item on purpose
            109: "\x00",
        },
        t.ITEM_NAME_MAX,
    )
    groups = {c.qb_name: sorted(s for s, _ in c.sources) for c in mapping.collisions}
    assert groups == {
        "Cisco Catalyst 9200L 24-port Po": [101, 102],
        "Cable- Cat6": [103, 104],
        "ACME": [105, 106],
    }
    assert mapping.colliding_sources() == {101, 102, 103, 104, 105, 106}
    assert mapping.names[107].text == mapping.names[108].text == "Plain"
    assert [r.source for r in mapping.rejected] == [109]
    described = next(c for c in mapping.collisions if c.qb_name == "ACME").describe()
    assert described == "105 ('ACME'), 106 ('acme') would all become the QuickBooks name 'ACME'"


def test_collisions_of_reference_numbers_keep_colons() -> None:
    mapping = t.find_collisions(
        [("a", "PO:1"), ("b", "PO-1"), ("c", "123456789012"), ("d", "123456789013")],
        t.PO_REF_NUMBER_MAX,
        convert=t.ref_number,
    )
    assert [sorted(s for s, _ in c.sources) for c in mapping.collisions] == [["c", "d"]]


def test_fit_text_cuts_descriptive_text() -> None:
    result = t.fit_text("\u201c" + "m" * 10, 5)
    assert result.text == '"mmmm'
    assert [r.reason for r in result.replacements] == ["transliterated", "truncated"]
    assert t.summarize(result.replacements) == "'\u201c'→'\"'; cut to fit"


def test_autotask_tilde_names_a_sub_item_level_by_level() -> None:
    assert t.item_full_name("Cables~Cat6 patch 2m").text == "Cables:Cat6 patch 2m"
    # Each level is a list name of its own: its colons replaced, cut to 31.
    long = t.item_full_name("Network: cables~" + "x" * 40)
    assert long.text == "Network- cables:" + "x" * 31
    assert t.item_full_name("Plain name").text == "Plain name"
    with pytest.raises(ValueError, match="5 deep"):
        t.item_full_name("a~b~c~d~e~f")
    with pytest.raises(ValueError, match="empty once cleaned"):
        t.item_full_name("Cables~")  # an empty level
