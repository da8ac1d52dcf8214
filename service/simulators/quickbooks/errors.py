"""qbXML status codes and the messages the simulated QuickBooks answers with.

Texts marked *real* are QuickBooks output quoted in reference/qbxml.md 7 (or its fixtures); the
others are modelled on the real ones where QuickBooks' exact wording is not public, and say so.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["Info", "Warn", "Error"]

STATUS_OK = 0
NO_MATCH = 1
NOT_FOUND_IN_LIST = 500
LINK_TO_CLOSED_TXN = 570
INVALID_REQUEST_ID = 1060
INVALID_OBJECT_ID = 3000
DATE_CONVERSION = 3020
STRING_TOO_LONG = 3070
NAME_IN_USE = 3100
OBJECT_NOT_FOUND = 3120
INVALID_REFERENCE = 3140
ERROR_WHEN_MODIFYING = 3170
CLOSING_DATE = 3171
IN_USE_TXN_LOCKED = 3175
IN_USE_LOCK_FAILED = 3176
ERROR_WHEN_SAVING = 3180
EDIT_SEQUENCE_OUT_OF_DATE = 3200
INVALID_FIELD_VALUE = 3210
NOT_PROCESSED = 3231
FEATURE_NOT_ENABLED = 3250

#: The request-processor messages for the HRESULTs the simulator can raise (reference/qbwc.md 6.3).
HRESULT_MESSAGES = {
    "0x80040400": "QuickBooks found an error when parsing the provided XML text stream.",
    "0x80040401": "Could not access QuickBooks.",
    "0x80040402": "Unexpected error.",
    "0x80040408": "Could not start QuickBooks.",
}


class StatusError(Exception):
    """A request failed (or half-succeeded) with a qbXML status: it becomes the ``…Rs`` status."""

    def __init__(self, code: int, message: str, severity: Severity = "Error") -> None:
        super().__init__(f"{code} {severity}: {message}")
        self.code = code
        self.message = message
        self.severity = severity


def ok_message() -> str:
    """Real: the statusMessage of every successful request."""
    return "Status OK"


def no_match() -> StatusError:
    """Real (reference/qbxml.md 7): a filter query matched nothing."""
    return StatusError(
        NO_MATCH, "A query request did not find a matching object in QuickBooks", "Info"
    )


def not_found_in_list(value: str) -> StatusError:
    """Real (qbwc-qbwc-responses/customer_query_rs_500_warn.xml): a listed ID or name is missing."""
    return StatusError(
        NOT_FOUND_IN_LIST,
        "The query request has not been fully completed. There was a required element "
        f'("{value}") that could not be found in QuickBooks.',
        "Warn",
    )


def date_conversion(value: str, field: str) -> StatusError:
    """OSR text for the 3010-3035 conversion errors (reference/qbxml.md 7): a date-time the
    schema's pattern lets through but no calendar has, like ``2024-13-45T99:00:00``."""
    return StatusError(
        DATE_CONVERSION,
        f'There was an error when converting the date value "{value}" in the field "{field}".',
    )


def name_in_use(name: str) -> StatusError:
    """Real (reference/qbxml.md 7 and 8.2): an Add whose name another record owns."""
    return StatusError(NAME_IN_USE, f'The name "{name}" of the list element is already in use.')


def object_not_found(object_id: str) -> StatusError:
    """Real (qbwc-qbwc-responses/customer_query_rs_3120_error.xml), double spaces included."""
    return StatusError(
        OBJECT_NOT_FOUND,
        f'Object "{object_id}" specified in the request cannot be found.  QuickBooks error '
        "message: Invalid argument.  The specified record does not exist in the list.",
    )


def invalid_reference(kind: str, value: str | None, where: str) -> StatusError:
    """Shape of the real 3140 texts (``… QuickBooks Item "Tax On Sale" in the SalesReceipt line.``).

    ``value`` is the FullName or ListID the request sent; ``None`` when the request sent no
    reference at all (a required account left out), which drops the quoted part.
    """
    quoted = "" if value is None else f' "{value}"'
    return StatusError(
        INVALID_REFERENCE,
        f"There is an invalid reference to QuickBooks {kind}{quoted} in the {where}.",
    )


def inactive_reference(kind: str, value: str, where: str) -> StatusError:
    """A new transaction names an inactive vendor, customer or item.

    Rule: QuickBooks does not let a transaction use an inactive list element (its forms do not
    offer them; integrators report the SDK refusing them as an invalid reference: denim.com
    "QuickBooks: Resolving an Invalid Reference ID Error", and Intuit's QuickBooks Online error
    list says "Something you're trying to use has been made inactive" for its invalid
    reference). Code 3140: medium confidence. The nested wording is the simulator's.
    """
    return StatusError(
        INVALID_REFERENCE,
        f'There is an invalid reference to QuickBooks {kind} "{value}" in the {where}.  '
        "QuickBooks error message: The name is inactive.",
    )


def closing_date(what: str) -> StatusError:
    """A transaction dated on or before the company's closing date (reference/qbxml.md 7, S16).

    Real text quoted by ayssoftware.com ("Resolving QuickBooks export errors", a third party
    logging real QuickBooks answers): code 3171 "An attempt was made to modify a Invoice with a
    date that is on or before the closing date of the company. If you are sure…". Confidence:
    medium for 3171 and the wording; that an Add is refused the same way (not only a Mod) is
    the stricter choice, not established. The answer does not carry the closing date.
    """
    return StatusError(
        CLOSING_DATE,
        f"An attempt was made to modify a {what} with a date that is on or before the closing "
        "date of the company. If you are sure you really want to do this, please ask a user "
        "with Admin privileges to remove the password for editing transactions on or before "
        "to closing date (this setting is in the Accounting Company Preferences), then try "
        "again.",
    )


def received_line_change(reason: str) -> StatusError:
    """A PurchaseOrderMod that would undo what was received (see :mod:`.purchase_orders`)."""
    return error_when_saving("PurchaseOrder", reason)


def edit_sequence_out_of_date(edit_sequence: str) -> StatusError:
    """Real (reference/qbxml.md 7)."""
    return StatusError(
        EDIT_SEQUENCE_OUT_OF_DATE, f'The provided edit sequence "{edit_sequence}" is out-of-date.'
    )


def string_too_long(value: str, field: str) -> StatusError:
    """Real shape (reference/qbxml.md 7): a value longer than QuickBooks allows for its field."""
    return StatusError(STRING_TOO_LONG, f'The string "{value}" in the field "{field}" is too long.')


def invalid_object_id(value: str, field: str) -> StatusError:
    """OSR text (reference/qbxml.md 7): a ListID/TxnID that is not an ID at all."""
    return StatusError(
        INVALID_OBJECT_ID, f'The given object ID "{value}" in the field "{field}" is invalid.'
    )


def invalid_field_value(field: str, value: str, reason: str) -> StatusError:
    """Shape of the real 3210 text; ``reason`` is the simulator's wording."""
    return StatusError(
        INVALID_FIELD_VALUE,
        f'The "{field}" field has an invalid value "{value}".  QuickBooks error message: {reason}',
    )


def error_when_saving(what: str, reason: str) -> StatusError:
    """Shape of the real 3180 text; ``reason`` is the simulator's wording unless noted."""
    return StatusError(
        ERROR_WHEN_SAVING,
        f"There was an error when saving a {what}.  QuickBooks error message: {reason}",
    )


def link_to_closed(txn_id: str) -> StatusError:
    """Intuit's status table (reference/qbxml.md 7): the receipt is saved, the link is not."""
    return StatusError(
        LINK_TO_CLOSED_TXN,
        f'Unable to link to transaction "{txn_id}" because it has already been closed.',
        "Warn",
    )


def feature_not_enabled() -> StatusError:
    """Real wording per reference/qbxml.md 7 (sites, bins, serial and lot numbers)."""
    return StatusError(
        FEATURE_NOT_ENABLED,
        "This feature is not enabled or not available in this version of QuickBooks.",
    )


def invalid_request_id(request_id: str) -> StatusError:
    """Status 1060 (reference/qbxml.md 2): requestID longer than 50 characters. Wording assumed."""
    return StatusError(
        INVALID_REQUEST_ID,
        f'The request ID "{request_id}" is invalid: it may be at most 50 characters long.',
    )


def not_processed() -> StatusError:
    """Real (reference/qbxml.md 2): a later request after a stopOnError failure."""
    return StatusError(NOT_PROCESSED, "The request has not been processed.")


def lock_error(code: int, subject: str) -> StatusError:
    """The lock and concurrency errors of reference/qbxml.md 7, with their real nested texts.

    The nested texts are the ones consolibyte's production handler retries on.
    """
    texts = {
        ERROR_WHEN_MODIFYING: f"There was an error when modifying a {subject}.  QuickBooks error "
        "message: This list has been modified by another user.",
        IN_USE_TXN_LOCKED: f"There was an error adding, modifying or deleting {subject} because it "
        "is already in use.  QuickBooks error message: The transaction could not be locked. "
        "It is in use by another user.",
        IN_USE_LOCK_FAILED: f"There was an error adding, modifying or deleting {subject} because "
        "it is already in use.  QuickBooks error message: The application failed to acquire "
        "the lock.",
        ERROR_WHEN_SAVING: f"There was an error when saving a {subject}.  QuickBooks error "
        "message: The internals could not be locked.",
    }
    if code not in texts:
        raise ValueError(f"not a lock error code: {code} (use one of {sorted(texts)})")
    return StatusError(code, texts[code])
