"""The status table: every code the workflow meets, lock messages, HRESULTs, operator words."""

from __future__ import annotations

import pytest

from service.qbxml.status import (
    Outcome,
    classify,
    classify_hresult,
    describe,
    describe_hresult,
    normalize_hresult,
)

LOCKED_3175 = (
    "There was an error adding, modifying or deleting 30-1285640333 because it is already in use."
    "  QuickBooks error message: The transaction could not be locked. It is in use by another user."
)


@pytest.mark.parametrize(
    ("code", "message", "outcome"),
    [
        (0, "Status OK", Outcome.OK),
        (
            1,
            "A query request did not find a matching object in QuickBooks",
            Outcome.NOTHING_MATCHED,
        ),
        (500, 'There was a required element ("bleech") that could not be found', Outcome.NOT_FOUND),
        (510, "", Outcome.WARNING),
        (530, "", Outcome.WARNING),
        (570, "Unable to link to transaction", Outcome.WARNING),
        (3120, "Object specified in the request cannot be found.", Outcome.NOT_FOUND),
        (3100, 'The name "Cable" of the list element is already in use.', Outcome.NAME_IN_USE),
        (
            3140,
            'There is an invalid reference to QuickBooks Vendor "Acme"',
            Outcome.INVALID_REFERENCE,
        ),
        (3200, 'The provided edit sequence "1" is out-of-date.', Outcome.STALE_EDIT_SEQUENCE),
        (1010, "System not available", Outcome.RETRY_LATER),
        (3231, "The request has not been processed.", Outcome.RETRY_LATER),
        (3175, LOCKED_3175, Outcome.RETRY_LATER),
        (3176, "... The application failed to acquire the lock.", Outcome.RETRY_LATER),
        (3170, "... This list has been modified by another user.", Outcome.RETRY_LATER),
        (3180, "... The internals could not be locked.", Outcome.RETRY_LATER),
        (
            3180,
            "There was an error when saving a Customer. Credit limit exceeded",
            Outcome.PERMANENT_ERROR,
        ),
        (3170, "Error when modifying: closing date", Outcome.PERMANENT_ERROR),
        (1000, "Internal error", Outcome.PERMANENT_ERROR),
        (1060, "", Outcome.PERMANENT_ERROR),
        (3070, 'The string "x" in the field "Name" is too long.', Outcome.PERMANENT_ERROR),
        (3171, "", Outcome.PERMANENT_ERROR),
        (3210, 'The "Quantity" field has an invalid value', Outcome.PERMANENT_ERROR),
        (3250, "This feature is not enabled", Outcome.PERMANENT_ERROR),
        (3260, "Insufficient permission level", Outcome.PERMANENT_ERROR),
        (9001, "", Outcome.PERMANENT_ERROR),
    ],
)
def test_every_code_the_workflow_meets_has_an_outcome(
    code: int, message: str, outcome: Outcome
) -> None:
    assert classify(code, message) is outcome
    described = describe(code, message)
    assert described.outcome is outcome
    assert described.meaning
    assert described.action
    if message:
        assert message.strip() in described.meaning


def test_an_error_severity_below_1000_is_not_trusted_as_success() -> None:
    assert classify(0, "", "Error") is Outcome.PERMANENT_ERROR
    assert classify(600, "", "Warn") is Outcome.WARNING


def test_operator_words_for_the_codes_users_hit() -> None:
    assert "already used" in describe(3100, "").meaning
    assert "non-inventory" in describe(3100, "").action
    assert "locked" in describe(3175, LOCKED_3175).meaning
    assert "tries again" in describe(3175, LOCKED_3175).action
    assert (
        "QuickBooks said: Credit limit exceeded" in describe(3180, "Credit limit exceeded").meaning
    )


@pytest.mark.parametrize(
    ("hresult", "outcome", "maybe_processed"),
    [
        ("0x80040400", Outcome.PERMANENT_ERROR, False),
        ("0x80040401", Outcome.RETRY_LATER, False),
        ("0x80040402", Outcome.RETRY_LATER, True),
        ("0x80040408", Outcome.RETRY_LATER, False),
        ("0x8004040D", Outcome.RETRY_LATER, False),
        ("0x80040420", Outcome.PERMANENT_ERROR, False),
        ("0x80049999", Outcome.RETRY_LATER, True),
    ],
)
def test_hresults(hresult: str, outcome: Outcome, maybe_processed: bool) -> None:
    assert classify_hresult(hresult) is outcome
    info = describe_hresult(hresult, "from the log")
    assert (info.outcome, info.maybe_processed) == (outcome, maybe_processed)
    assert info.meaning.endswith("The Web Connector said: from the log")
    assert info.action


@pytest.mark.parametrize(
    "spelling", ["0x8004040D", "0x8004040d", "8004040D", " 0X8004040D ", "-2147220467"]
)
def test_hresult_spellings_are_normalised(spelling: str) -> None:
    assert normalize_hresult(spelling) == "0x8004040D"
    assert classify_hresult(spelling) is Outcome.RETRY_LATER


@pytest.mark.parametrize("bad", ["", "0x", "hello", "0x123456789", "-99999999999"])
def test_unreadable_hresults_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="HRESULT"):
        normalize_hresult(bad)
