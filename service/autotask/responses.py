"""Reading Autotask's answers: JSON bodies, ``{"errors": [...]}`` texts, and what they mean.

Autotask documents only 200, 401 and 403 (Swagger) but in practice answers HTTP 500 for
validation errors, many permission errors and missing records, and reports its thread limit
with error code ``Itgenatr005`` whatever the status; so answers are classified by status *and*
text (reference/autotask.md 8 and 9).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from .errors import MalformedResponse

__all__ = [
    "error_messages",
    "error_text",
    "excerpt",
    "is_integration_code_error",
    "is_missing_record_error",
    "is_permission_error",
    "is_thread_limit",
    "parse_json",
]

THREAD_LIMIT_CODE = "itgenatr005"
_THREAD_LIMIT_TEXT = "thread threshold"
# "The logged in Resource does not have the adequate permissions to query this entity type."
_PERMISSION_TEXT = ("permission",)
# "No matching records found." (e.g. deleting or reading a record that does not exist)
_MISSING_RECORD_TEXT = ("no matching records",)
# A bad integration code is reported as a 500 by some tenants (apigrate/autotask-restapi #19).
_INTEGRATION_CODE_TEXT = ("integration code", "integrationcode", "tracking identifier")
# Messages that explain nothing: a failure of the server, not a refusal of the request
# (apigrate/autotask-restapi #19 quotes {"errors":["Something went wrong"]}; the simulated tenant
# answers its transient 500s with "An unexpected error has occurred.").
_UNEXPLAINED_TEXT = ("unexpected error", "something went wrong", "internal server error")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def excerpt(content: bytes, limit: int = 200) -> str:
    """The start of a body, whitespace collapsed, for error messages."""
    text = " ".join(content[: limit * 4].decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_json(response: httpx.Response, what: str) -> Any:
    """The JSON body; numbers with a fraction become Decimal (money stays exact).

    Raises :class:`MalformedResponse` saying what was answered instead.
    """
    path = response.request.url.path
    try:
        text = response.content.decode("utf-8-sig")
        if not text.strip():
            raise ValueError("empty body")
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        kind = response.headers.get("content-type", "no content type")
        raise MalformedResponse(
            f"Autotask answered {what} with HTTP {response.status_code} ({kind}) whose body is "
            f"not JSON ({exc.__class__.__name__}): {excerpt(response.content)!r}",
            path=path,
            excerpt=excerpt(response.content),
        ) from None


def error_messages(content: bytes) -> tuple[str, ...]:
    """The texts of an error body: ``{"errors": [...]}``, or ASP.NET's ``{"Message": ...}``."""
    try:
        body = json.loads(content.decode("utf-8-sig"))
    except ValueError:
        return ()
    if not isinstance(body, dict):
        return ()
    errors = body.get("errors")
    if isinstance(errors, list):
        return tuple(str(e) for e in errors if e not in (None, ""))
    if isinstance(errors, str) and errors:
        return (errors,)
    for key in ("message", "Message"):
        if isinstance(body.get(key), str) and body[key]:
            return (body[key],)
    return ()


def error_text(messages: tuple[str, ...], content: bytes) -> str:
    """Autotask's messages joined, or the start of the body when it had none."""
    return " ".join(messages) if messages else excerpt(content)


def _has(text: str, needles: tuple[str, ...]) -> bool:
    lowered = text.casefold()
    return any(needle in lowered for needle in needles)


def is_thread_limit(status_code: int, text: str) -> bool:
    """Autotask's thread-threshold error (``Itgenatr005``), recognised by its text."""
    return status_code >= 400 and _has(text, (THREAD_LIMIT_CODE, _THREAD_LIMIT_TEXT))


def is_permission_error(text: str) -> bool:
    """A permission problem, whatever status it came with."""
    return _has(text, _PERMISSION_TEXT)


def is_missing_record_error(text: str) -> bool:
    """Autotask's "No matching records found" (sent as HTTP 500)."""
    return _has(text, _MISSING_RECORD_TEXT)


def is_integration_code_error(text: str) -> bool:
    """A message about the API integration code (tracking identifier)."""
    return _has(text, _INTEGRATION_CODE_TEXT)


def is_refusal(status_code: int, text: str) -> bool:
    """An HTTP 500 that says why the request is refused (Autotask's validation errors,
    reference/autotask.md 9), rather than that the server failed: repeating it cannot help."""
    return status_code == 500 and bool(text.strip()) and not _has(text, _UNEXPLAINED_TEXT)
