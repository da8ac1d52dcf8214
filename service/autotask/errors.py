"""Exceptions raised by the Autotask client.

Every exception the client raises is an :class:`AutotaskError`; none of them ever carries the
API secret or the integration code (their text, ``repr`` and attributes are built only from the
user name, the entity, the URL path and Autotask's own ``errors`` messages).

Hierarchy::

    AutotaskError                 anything below; catching it ends a poll cycle cleanly
    ├── ConfigurationError        a setting is missing or unusable; the message names the variable
    ├── ZoneDiscoveryError        the zone-information lookup answered something unusable
    ├── TryLater                  nothing is wrong with settings or data: try again later
    │   │                         (.retry_after: seconds, or None when unknown)
    │   ├── BudgetExhausted       this client's own hourly request budget is used up;
    │   │                         no request was sent
    │   ├── TransportError        network failure or timeout, still failing after the retries
    │   ├── RateLimited           HTTP 429 (Autotask's hourly threshold), after the retries  *
    │   ├── ThreadLimitExceeded   Autotask's thread-threshold error (Itgenatr005),
    │   │                         after the retries  *
    │   └── ServerError           HTTP 5xx that is not recognisably permanent,
    │                             after the retries  *
    ├── ResponseError             Autotask answered with an error
    │   │                         (.response: status, method, path, Autotask's messages)
    │   ├── AuthenticationError   credentials rejected; .suspect names what to check
    │   ├── PermissionDenied      the API user's security level lacks a permission (.entity);
    │   │                         Autotask often reports this as HTTP 500, not 403
    │   ├── NotFound              no such record or route (.entity, .record_id)
    │   └── RequestRejected       refused for another reason (400, 405, 409, ...)
    ├── MalformedResponse         the answer is not the JSON the API documents
    │   └── RecordError           one record lacks a field or has an ill-typed one
    │                             (.entity, .record_id, .problems)
    └── PicklistError             a picklist field or label does not exist in this tenant

``*`` these are also :class:`ResponseError` (they have a ``.response``).

Autotask returns HTTP 500 for many permanent problems (permissions, validation, a record that
does not exist), so the client classifies a 500 by the text of its ``errors`` array as well as by
its status (reference/autotask.md 9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "AuthenticationError",
    "AutotaskError",
    "BudgetExhausted",
    "ConfigurationError",
    "MalformedResponse",
    "NotFound",
    "PermissionDenied",
    "PicklistError",
    "RateLimited",
    "RecordError",
    "RequestRejected",
    "ResponseError",
    "ResponseSummary",
    "ServerError",
    "ThreadLimitExceeded",
    "TransportError",
    "TryLater",
    "ZoneDiscoveryError",
]


class AutotaskError(Exception):
    """Base class of every error the Autotask client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(AutotaskError):
    """A setting is missing or unusable; the message names the ``ATQB_`` variable to fix."""


class ZoneDiscoveryError(AutotaskError):
    """The zone-information lookup failed or answered something the client cannot use."""


class TryLater(AutotaskError):
    """A temporary condition: repeating the same work later is expected to succeed.

    ``retry_after`` is the number of seconds after which a retry makes sense, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        # Explicit base call: subclasses that are also ResponseError have another next class.
        AutotaskError.__init__(self, message)
        self.retry_after = retry_after


class BudgetExhausted(TryLater):
    """The client's own hourly request budget is used up; no request was sent.

    ``used`` and ``limit`` are the requests counted in the last rolling hour and the budget.
    """

    def __init__(self, message: str, *, used: int, limit: int, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.used = used
        self.limit = limit


class TransportError(TryLater):
    """The network failed or Autotask did not answer in time, on every attempt."""


@dataclass(frozen=True)
class ResponseSummary:
    """What an error answer said: HTTP status, the request that got it, Autotask's messages.

    ``path`` is the URL path without host or query string (never any credential).
    """

    status_code: int
    method: str
    path: str
    messages: tuple[str, ...] = ()


class ResponseError(AutotaskError):
    """Autotask answered a request with an error; ``response`` says what it answered."""

    def __init__(self, message: str, *, response: ResponseSummary) -> None:
        AutotaskError.__init__(self, message)
        self.response = response

    @property
    def status_code(self) -> int:
        """The HTTP status of the answer."""
        return self.response.status_code

    @property
    def messages(self) -> tuple[str, ...]:
        """The texts of Autotask's ``{"errors": [...]}`` body (empty when there was none)."""
        return self.response.messages


#: Which setting an :class:`AuthenticationError` points at.
Suspect = Literal["username", "secret_or_integration_code", "integration_code", "base_url"]


class AuthenticationError(ResponseError):
    """Autotask rejected the credentials.

    ``suspect`` is what the evidence points at (reference/autotask.md 3 and 9):

    * ``"username"``: the zone lookup answered HTTP 500, which Autotask does for an unknown or
      blank user name (``ATQB_AUTOTASK_USERNAME``);
    * ``"secret_or_integration_code"``: the user name is known (the zone lookup found its zone)
      but the API answered 401; Autotask's answer does not say whether the secret or the
      integration code is wrong;
    * ``"integration_code"``: Autotask answered with a message about the integration code
      (tracking identifier);
    * ``"base_url"``: ``ATQB_AUTOTASK_BASE_URL`` points at another zone than the one the zone
      lookup reports for this user.
    """

    def __init__(self, message: str, *, response: ResponseSummary, suspect: Suspect) -> None:
        super().__init__(message, response=response)
        self.suspect: Suspect = suspect


class PermissionDenied(ResponseError):
    """The API user's security level does not allow this operation on ``entity``."""

    def __init__(self, message: str, *, response: ResponseSummary, entity: str) -> None:
        super().__init__(message, response=response)
        self.entity = entity


class NotFound(ResponseError):
    """No record with that id (``record_id``), or no such route, for ``entity``."""

    def __init__(
        self, message: str, *, response: ResponseSummary, entity: str, record_id: int | None
    ) -> None:
        super().__init__(message, response=response)
        self.entity = entity
        self.record_id = record_id


class RequestRejected(ResponseError):
    """Autotask refused the request for a reason other than credentials, permission or absence."""


class _RepeatedFailure(TryLater, ResponseError):
    """An error answer that is expected to go away; it kept coming on every attempt."""

    def __init__(
        self, message: str, *, response: ResponseSummary, retry_after: float | None = None
    ) -> None:
        TryLater.__init__(self, message, retry_after=retry_after)
        self.response = response


class RateLimited(_RepeatedFailure):
    """HTTP 429: the tenant-wide hourly request threshold (shared by every integration) is
    reached."""


class ThreadLimitExceeded(_RepeatedFailure):
    """Autotask's thread threshold (error ``Itgenatr005``): too many concurrent requests."""


class ServerError(_RepeatedFailure):
    """HTTP 5xx that is not recognisably permanent, still failing after the retries.

    Autotask also reports some validation errors as 500; ``messages`` has its text.
    """


class MalformedResponse(AutotaskError):
    """An answer is not the JSON the API documents (not JSON, wrong shape, wrong types).

    ``path`` is the URL path of the request, ``excerpt`` the start of the offending text.
    """

    def __init__(self, message: str, *, path: str = "", excerpt: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.excerpt = excerpt


class RecordError(MalformedResponse):
    """One record from Autotask lacks a field the sync needs or has one of the wrong type.

    ``problems`` lists every problem found in the record, e.g.
    ``("vendorID is missing", "status should be an integer, got 'New'")``.
    """

    def __init__(self, *, entity: str, record_id: int | None, problems: tuple[str, ...]) -> None:
        which = f"record {record_id}" if record_id is not None else "a record without a usable id"
        super().__init__(f"Autotask {entity} {which}: " + "; ".join(problems))
        self.entity = entity
        self.record_id = record_id
        self.problems = problems


class PicklistError(AutotaskError):
    """A picklist field, or a label in it, does not exist in this Autotask tenant."""

    def __init__(self, message: str, *, entity: str, field: str) -> None:
        super().__init__(message)
        self.entity = entity
        self.field = field
