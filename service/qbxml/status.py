"""What a QuickBooks status code or Web Connector HRESULT means for the workflow.

Every ``…Rs`` carries ``statusCode``/``statusSeverity``/``statusMessage`` (reference/qbxml.md 5,
7). :func:`classify` puts a code into one :class:`Outcome`; :func:`describe` adds plain words for an
operator. HRESULTs arrive instead of a qbXML answer when the request processor failed as a whole
(reference/qbwc.md 6.3); :func:`classify_hresult` and :func:`describe_hresult` cover those.

The rule for warnings (severity ``Warn``, codes 500-999): **QuickBooks carried the request out**
and any data in the answer is real. A warning is therefore never a reason to send the same write
again. ``500`` on a list lookup (``ListID``/``FullName``/``TxnID``/``RefNumber`` lists) means "some
of the objects you named do not exist": the records that *were* found are in the same answer,
so the caller must use them and treat only the names missing from them as not found. Other
warnings (510, 530/531 field not supported, 570 link to a closed transaction, ...) are
:attr:`Outcome.WARNING`: done, but the operator should see the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What the workflow does with an answer."""

    #: Done (0 and other Info codes).
    OK = "ok"
    #: A filter query matched nothing (1). Not an error: the answer is "none".
    NOTHING_MATCHED = "nothing_matched"
    #: Done, with a warning the operator should see (501-999). Never resend.
    WARNING = "warning"
    #: What was asked for does not exist (500 Warn on a list lookup; 3120).
    NOT_FOUND = "not_found"
    #: An Add used a name another list record already owns (3100).
    NAME_IN_USE = "name_in_use"
    #: The request refers to a vendor/customer/item/account QuickBooks does not have (3140).
    INVALID_REFERENCE = "invalid_reference"
    #: A Mod carried an old EditSequence (3200): query again, then modify.
    STALE_EDIT_SEQUENCE = "stale_edit_sequence"
    #: QuickBooks was busy, locked or unavailable, or did not get to the request: try later.
    RETRY_LATER = "retry_later"
    #: Anything else: an operator must act.
    PERMANENT_ERROR = "permanent_error"


#: Nested QuickBooks messages that mean "someone else holds a lock; try again"
#: (reference/qbxml.md 7, after consolibyte's production handler). Compared case-insensitively.
LOCK_MESSAGES = (
    "list has been modified by another user",
    "internals could not be locked",
    "failed to acquire the lock",
    "list element is in use",
    "could not be locked",
    "in use by another user",
)

#: Codes whose meaning depends on the nested message (lock → retry; otherwise permanent).
LOCK_CODES = frozenset({3170, 3175, 3176, 3180})

_FIXED: dict[int, Outcome] = {
    0: Outcome.OK,
    1: Outcome.NOTHING_MATCHED,
    500: Outcome.NOT_FOUND,
    1010: Outcome.RETRY_LATER,
    3100: Outcome.NAME_IN_USE,
    3120: Outcome.NOT_FOUND,
    3140: Outcome.INVALID_REFERENCE,
    3200: Outcome.STALE_EDIT_SEQUENCE,
    3231: Outcome.RETRY_LATER,
}


def is_lock_message(message: str) -> bool:
    """True when a QuickBooks message says a record or list is locked by someone else."""
    lowered = message.lower()
    return any(text in lowered for text in LOCK_MESSAGES)


def classify(code: int, message: str = "", severity: str | None = None) -> Outcome:
    """The :class:`Outcome` of a qbXML ``statusCode`` (with its message, for lock codes).

    ``severity`` only matters when it contradicts the code's range: an ``Error`` severity on a
    code below 1000 is treated as a permanent error rather than trusted as success.
    """
    if severity == "Error" and code < 1000:
        return Outcome.PERMANENT_ERROR
    if code in _FIXED:
        return _FIXED[code]
    if code in LOCK_CODES:
        return Outcome.RETRY_LATER if is_lock_message(message) else Outcome.PERMANENT_ERROR
    if code >= 1000 or code < 0:
        return Outcome.PERMANENT_ERROR
    if code >= 500:
        return Outcome.WARNING
    return Outcome.OK


@dataclass(frozen=True, slots=True)
class Description:
    """Plain words for an operator: what happened and what to do."""

    outcome: Outcome
    meaning: str
    action: str

    def text(self) -> str:
        """Meaning and action in one paragraph."""
        return f"{self.meaning} {self.action}"


_DESCRIPTIONS: dict[int, tuple[str, str]] = {
    0: ("QuickBooks carried out the request.", "Nothing to do."),
    1: (
        "The search found nothing in QuickBooks.",
        "Nothing to do; atqb treats it as 'does not exist yet'.",
    ),
    500: (
        "Some of the records asked for by name or ID do not exist in QuickBooks "
        "(any that do exist were returned).",
        "Nothing to do; atqb creates what is missing when it is supposed to.",
    ),
    510: (
        "QuickBooks found the record but could not return it.",
        "Check the record in QuickBooks.",
    ),
    530: (
        "QuickBooks ignored a field this edition does not support.",
        "The record was saved without it; report it if the field matters.",
    ),
    531: (
        "QuickBooks ignored a value this edition does not support.",
        "The record was saved without it; report it if the value matters.",
    ),
    570: (
        "QuickBooks could not link to a transaction because it is already closed "
        "(e.g. a receipt against a fully received or closed purchase order).",
        "Check the purchase order in QuickBooks; the new transaction exists without the link.",
    ),
    1000: (
        "QuickBooks reported an internal error.",
        "Retry once; if it happens again, restart QuickBooks and check the company file.",
    ),
    1010: ("QuickBooks was not available.", "atqb tries again at the next Web Connector run."),
    1060: ("A request ID was longer than 50 characters.", "This is a bug in atqb: report it."),
    3000: (
        "A ListID or TxnID atqb sent is not valid.",
        "The record may have been deleted in QuickBooks; retry the job to look it up again.",
    ),
    3070: (
        "A text was longer than QuickBooks allows for that field.",
        "Shorten it in Autotask, or report it: atqb should have cut it.",
    ),
    3100: (
        "The name is already used by another QuickBooks record. QuickBooks names are unique "
        "across customers, vendors, employees and other names (and across all item types), "
        "and inactive records keep their names.",
        "Rename one of them, make the existing record the right type (e.g. turn a non-inventory "
        "part into an inventory part), or reactivate it; then retry the job.",
    ),
    3120: (
        "A record atqb refers to no longer exists in QuickBooks (deleted or merged).",
        "Retry the job: atqb looks it up again by name and creates it if needed.",
    ),
    3140: (
        "The request refers to a vendor, customer, item or account QuickBooks does not have.",
        "Create the missing record (accounts must exist before atqb can use them) and retry.",
    ),
    3171: (
        "The transaction is dated on or before the QuickBooks closing date.",
        "An administrator must change the closing date or the transaction date.",
    ),
    3200: (
        "The purchase order changed in QuickBooks since atqb last read it.",
        "atqb reads it again and repeats the change.",
    ),
    3210: (
        "QuickBooks refused a field value.",
        "Read the QuickBooks message, correct the value in Autotask, then retry.",
    ),
    3231: (
        "QuickBooks did not process this request because an earlier one in the same batch failed.",
        "atqb sends it again.",
    ),
    3250: (
        "This QuickBooks edition does not have the feature needed (e.g. Advanced Inventory).",
        "Turn the feature on in QuickBooks or stop atqb from using it.",
    ),
    3260: (
        "The QuickBooks user the Web Connector runs as lacks permission.",
        "Give that user the needed rights in QuickBooks (or run it as an administrator).",
    ),
    3261: (
        "The integrated application may not access personal data.",
        "In QuickBooks, Edit > Preferences > Integrated Applications: allow access.",
    ),
}

_LOCKED = (
    "A record or list was locked by another QuickBooks user or window.",
    "atqb tries again later; close open QuickBooks windows on that record if it persists.",
)


def describe(code: int, message: str = "", *, quote: bool = True) -> Description:
    """Plain words for a qbXML status code (``message`` decides for the lock codes, and is
    quoted in the meaning unless ``quote`` is false: where it is shown beside them)."""
    outcome = classify(code, message)
    if code in LOCK_CODES and outcome is Outcome.RETRY_LATER:
        meaning, action = _LOCKED
    elif code in _DESCRIPTIONS:
        meaning, action = _DESCRIPTIONS[code]
    elif code in LOCK_CODES:
        meaning, action = (
            "QuickBooks could not save the change.",
            "Read the QuickBooks message, fix the cause, then retry the job.",
        )
    elif outcome is Outcome.OK:
        meaning, action = "QuickBooks carried out the request.", "Nothing to do."
    elif outcome is Outcome.WARNING:
        meaning, action = (
            "QuickBooks carried out the request with a warning.",
            "Read the QuickBooks message; nothing is sent again.",
        )
    elif 3000 <= code < 3100:
        meaning, action = (
            "QuickBooks could not read a value atqb sent.",
            "This is probably a bug in atqb: report it with the QuickBooks message.",
        )
    else:
        meaning, action = (
            "QuickBooks refused the request.",
            "Read the QuickBooks message, fix the cause, then retry the job.",
        )
    if message and quote:
        meaning = f"{meaning} QuickBooks said: {message.strip()}"
    return Description(outcome, meaning, action)


@dataclass(frozen=True, slots=True)
class HResultInfo:
    """What an HRESULT from the request processor means.

    ``maybe_processed`` says whether QuickBooks may have carried out some of the requests
    anyway; when True, writes must be looked up before they are sent again.
    """

    hresult: str
    outcome: Outcome
    meaning: str
    action: str
    maybe_processed: bool


_HRESULTS: dict[str, tuple[Outcome, str, str, bool]] = {
    "0x80040400": (
        Outcome.PERMANENT_ERROR,
        "QuickBooks could not parse the request message (an element out of order, an unknown "
        "element or a character it cannot read); nothing in the message was processed.",
        "This is a bug in atqb: report it with the job's transmission details.",
        False,
    ),
    "0x80040401": (
        Outcome.RETRY_LATER,
        "The Web Connector could not access QuickBooks.",
        "Make sure QuickBooks is running with the company file open; atqb tries again.",
        False,
    ),
    "0x80040402": (
        Outcome.RETRY_LATER,
        "QuickBooks' request processor hit an unexpected error.",
        "atqb checks what was saved and tries again; restart QuickBooks if it persists.",
        True,
    ),
    "0x80040408": (
        Outcome.RETRY_LATER,
        "The Web Connector could not start QuickBooks or open the company file.",
        "Open QuickBooks with the right company file (and no dialog open); atqb tries again.",
        False,
    ),
    "0x8004040D": (
        Outcome.RETRY_LATER,
        "QuickBooks refused the Web Connector's session ticket.",
        "atqb tries again in a new session; restart the Web Connector if it persists.",
        False,
    ),
    "0x80040420": (
        Outcome.PERMANENT_ERROR,
        "The QuickBooks user denied this application access to the company file.",
        "In QuickBooks (as administrator), Edit > Preferences > Integrated Applications: "
        "allow atqb, then retry.",
        False,
    ),
}

#: The HRESULTs atqb knows by name (metrics label any other as "other").
KNOWN_HRESULTS = frozenset(_HRESULTS)

_HEX = re.compile(r"^(?:0x)?([0-9a-f]{1,8})$", re.IGNORECASE)


def normalize_hresult(hresult: str) -> str:
    """``0x`` + eight upper-case hex digits.

    Accepts hex in any case, with or without ``0x`` (QBWC sends ``0x80040400``), and the signed
    decimal form some tools print (``-2147220480``). Raises ``ValueError`` for anything else.
    """
    text = hresult.strip()
    if text.startswith("-"):
        try:
            number = int(text)
        except ValueError:
            raise ValueError(f"not an HRESULT: {hresult!r}") from None
        if number < -(2**31):
            raise ValueError(f"not an HRESULT: {hresult!r}")
        return f"0x{number & 0xFFFFFFFF:08X}"
    match = _HEX.match(text)
    if not match:
        raise ValueError(f"not an HRESULT: {hresult!r}")
    return f"0x{int(match.group(1), 16):08X}"


def _hresult_info(hresult: str, message: str) -> HResultInfo:
    try:
        code = normalize_hresult(hresult)
    except ValueError:
        code = hresult.strip()
    outcome, meaning, action, maybe = _HRESULTS.get(
        code,
        (
            Outcome.RETRY_LATER,
            "The Web Connector reported an error from QuickBooks' request processor.",
            "atqb checks what was saved and tries again; read the message if it persists.",
            True,
        ),
    )
    if message:
        meaning = f"{meaning} The Web Connector said: {message.strip()}"
    return HResultInfo(code, outcome, meaning, action, maybe)


def classify_hresult(hresult: str) -> Outcome:
    """The :class:`Outcome` of an HRESULT (unknown ones: retry, after a lookup)."""
    return _hresult_info(hresult, "").outcome


def describe_hresult(hresult: str, message: str = "") -> HResultInfo:
    """Plain words for an HRESULT, and whether requests may have been processed anyway."""
    return _hresult_info(hresult, message)
