"""The Autotask REST client: one synchronous :class:`AutotaskClient` per process.

See the package docstring (``service/autotask/__init__.py``) for usage. This module holds the
request loop: base URL (configured or discovered), authentication headers, the request budget,
retries, classification of error answers, paging, and the typed operations built on them.
"""

from __future__ import annotations

import itertools
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import httpx
from pydantic import SecretStr

from ..settings import Settings
from . import filters as f
from . import responses
from .budget import RequestBudget
from .errors import (
    AuthenticationError,
    ConfigurationError,
    MalformedResponse,
    NotFound,
    PermissionDenied,
    RateLimited,
    RecordError,
    RequestRejected,
    ResponseSummary,
    ServerError,
    ThreadLimitExceeded,
    TransportError,
    ZoneDiscoveryError,
)
from .picklists import FieldInfo, Picklist, parse_field_definitions, picklist_from
from .records import PurchaseOrder, Record
from .retry import RequestRetry, parse_retry_after
from .zones import ZONE_CACHE_SECONDS, ZoneInfo, normalise_base_url, parse_zone_info

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_ZONE_URL",
    "MAX_IN_VALUES",
    "PAGE_SIZE",
    "AutotaskClient",
    "ThresholdInfo",
]

logger = logging.getLogger("service.autotask")

DEFAULT_ZONE_URL = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
#: Autotask may take up to 5 minutes to execute a request (reference/autotask.md 8).
DEFAULT_TIMEOUT = httpx.Timeout(310.0, connect=15.0)
#: Records per page: the API's maximum (reference/autotask.md 4.3).
PAGE_SIZE = 500
#: Values per ``in`` filter: Autotask allows at most 500 OR conditions per query (4.2).
MAX_IN_VALUES = 500
#: Pages followed before a query is declared runaway: 100,000 records, more than any one
#: query of atqb returns (go-autotask caps at 1,000 pages). A cursor that changes every page
#: would otherwise spend the hour's request budget.
MAX_PAGES = 200
#: Longest URL for a GET with the filter in the query string; longer ones are POSTed.
_MAX_GET_URL = 2000

_ENTITY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")

R = TypeVar("R", bound=Record)
#: A value written by :meth:`AutotaskClient.update`.
WriteValue = str | int | bool | None


@dataclass(frozen=True)
class ThresholdInfo:
    """Tenant-wide usage from ``GET ThresholdInformation`` (every integration together)."""

    limit: int
    timeframe_minutes: int
    current_count: int


@dataclass(frozen=True)
class _Op:
    """What a request is for, in words an operator understands ("query PurchaseOrders")."""

    verb: str
    entity: str
    record_id: int | None = None

    def __str__(self) -> str:
        return f"{self.verb} {self.entity}" + (
            f" {self.record_id}" if self.record_id is not None else ""
        )


def _secret(value: str | SecretStr | None, variable: str) -> SecretStr:
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if not raw or not raw.strip():
        raise ConfigurationError(f"{variable} is not set; the Autotask API needs it")
    return SecretStr(raw.strip())


def _entity(name: str) -> str:
    if not isinstance(name, str) or not _ENTITY_NAME.match(name):
        raise ValueError(f"not an Autotask entity name: {name!r}")
    return name


def _record_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"an Autotask id is a non-negative integer, got {value!r}")
    return value


def _host(url: str) -> str:
    return (httpx.URL(url).host or "").lower()


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, (parsed.host or "").lower(), parsed.port


def _unique(values: Iterable[int | str]) -> list[int | str]:
    seen: set[int | str] = set()
    out = []
    for value in values:
        if value not in seen:
            seen.add(value)
            out.append(value)
    return out


class AutotaskClient:
    """Synchronous client of the Autotask REST API (not thread-safe; one per poller).

    ``username``, ``secret`` and ``integration_code`` are the API user's credentials
    (``secret`` and ``integration_code`` are kept as :class:`~pydantic.SecretStr` and never
    appear in logs, exceptions or ``repr``). ``base_url`` skips zone discovery; without it the
    zone is looked up at ``zone_url`` and cached for ``zone_ttl`` seconds.

    ``timeout`` applies to every request, also through an injected client. ``max_pages``
    bounds one query's paging (a runaway cursor raises :class:`MalformedResponse`).

    For tests: ``http_client`` (an ``httpx.Client``, left open by :meth:`close`) or
    ``transport``; ``sleep``, ``clock`` (monotonic seconds) and ``rand`` (jitter in [0, 1))
    replace ``time.sleep``, ``time.monotonic`` and ``random.random``. ``budget`` defaults to
    :class:`RequestBudget` with 3,000 requests per hour sharing ``clock`` and ``sleep``.
    """

    def __init__(
        self,
        username: str,
        secret: str | SecretStr,
        integration_code: str | SecretStr,
        *,
        base_url: str | None = None,
        zone_url: str = DEFAULT_ZONE_URL,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        budget: RequestBudget | None = None,
        retry: RequestRetry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
        zone_ttl: float = ZONE_CACHE_SECONDS,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if not isinstance(username, str) or not username.strip():
            raise ConfigurationError("ATQB_AUTOTASK_USERNAME is not set; the Autotask API needs it")
        self._username = username.strip()
        self._secret = _secret(secret, "ATQB_AUTOTASK_SECRET")
        self._integration_code = _secret(integration_code, "ATQB_AUTOTASK_INTEGRATION_CODE")
        self._configured_base = normalise_base_url(base_url) if base_url else None
        self._zone_url = zone_url
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=self._timeout)
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self._retry = retry or RequestRetry()
        self.budget = budget or RequestBudget(clock=clock, sleep=sleep)
        self._zone_ttl = zone_ttl
        self._zone: ZoneInfo | None = None
        self._zone_expires = 0.0
        self._max_pages = max_pages
        self._requests = 0
        self._fields: dict[str, tuple[FieldInfo, ...]] = {}

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> AutotaskClient:
        """A client from :class:`service.settings.Settings`; other keywords as in the
        constructor. Raises :class:`ConfigurationError` naming each missing variable."""
        username = settings.autotask_username
        secret = settings.autotask_secret
        code = settings.autotask_integration_code
        missing = [
            variable
            for variable, value in (
                ("ATQB_AUTOTASK_USERNAME", username),
                ("ATQB_AUTOTASK_SECRET", secret),
                ("ATQB_AUTOTASK_INTEGRATION_CODE", code),
            )
            if not value
        ]
        if username is None or secret is None or code is None or missing:
            raise ConfigurationError(
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; "
                "the Autotask API user's name, secret and integration code are all needed"
            )
        return cls(
            username,
            secret,
            code,
            base_url=settings.autotask_base_url,
            zone_url=settings.autotask_zone_url,
            **kwargs,
        )

    # -- lifecycle and introspection -------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP connection pool (unless it was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> AutotaskClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self._configured_base or (
            self._zone.api_base if self._zone else "zone not looked up"
        )
        return f"AutotaskClient(username={self._username!r}, base_url={where!r})"

    @property
    def username(self) -> str:
        """The API user name."""
        return self._username

    @property
    def requests_made(self) -> int:
        """HTTP requests sent since this client was created (retries, pages and zone lookups
        included). Take the difference around a poll cycle to report "requests used"."""
        return self._requests

    @property
    def base_url(self) -> str:
        """The REST base (``https://webservicesN.autotask.net/ATServicesRest/V1.0/``),
        configured or discovered (a zone lookup when not yet known)."""
        if self._configured_base is not None:
            return self._configured_base
        return self.zone().api_base

    # -- zone discovery --------------------------------------------------------------------

    def zone(self, *, refresh: bool = False) -> ZoneInfo:
        """The tenant's zone from the zone lookup, cached for ``zone_ttl`` seconds.

        Raises :class:`AuthenticationError` (``suspect="username"``) when Autotask answers
        500, which it does for an unknown or blank user name, and :class:`ZoneDiscoveryError`
        for any other unusable answer.
        """
        if not refresh and self._zone is not None and self._clock() < self._zone_expires:
            return self._zone
        op = _Op("look up the zone of user", repr(self._username))
        response = self._exchange(
            "GET",
            self._zone_url,
            op,
            params={"user": self._username},
            authenticated=False,
            transient_500=False,
        )
        messages = responses.error_messages(response.content)
        if response.status_code == 500:
            raise AuthenticationError(
                f"Autotask's zone lookup does not know the API user {self._username!r} "
                f"(HTTP 500{': ' + ' '.join(messages) if messages else ''}). Autotask answers "
                "this way when the user name is wrong or blank: check ATQB_AUTOTASK_USERNAME "
                "(the API user's user name, usually an e-mail address).",
                response=self._summary(response, messages),
                suspect="username",
            )
        if response.status_code != 200:
            raise ZoneDiscoveryError(
                f"Autotask's zone lookup at {self._zone_url} answered HTTP "
                f"{response.status_code}: "
                f"{responses.error_text(messages, response.content) or 'no details'}"
            )
        try:
            body = responses.parse_json(response, "the zone lookup")
        except MalformedResponse as exc:
            raise ZoneDiscoveryError(str(exc)) from None
        info = parse_zone_info(body)
        if self._zone is None or self._zone.api_base != info.api_base:
            logger.info("Autotask zone %s: API at %s", info.zone_name, info.api_base)
        self._zone = info
        self._zone_expires = self._clock() + self._zone_ttl
        return info

    # -- the request loop ------------------------------------------------------------------

    def _headers(self, authenticated: bool) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if authenticated:
            # Header names as declared on every operation of the Swagger (reference/autotask.md 2).
            headers["ApiIntegrationCode"] = self._integration_code.get_secret_value()
            headers["UserName"] = self._username
            headers["Secret"] = self._secret.get_secret_value()
        return headers

    @staticmethod
    def _summary(response: httpx.Response, messages: tuple[str, ...]) -> ResponseSummary:
        return ResponseSummary(
            response.status_code, response.request.method, response.request.url.path, messages
        )

    def _transient_wait(
        self,
        response: httpx.Response,
        failures: int,
        transient_500: bool,
        refusal_500: bool = False,
    ) -> float | None:
        """Seconds to wait before repeating this answer's request, or None: do not repeat."""
        status = response.status_code
        if status < 400:
            return None
        text = responses.error_text(responses.error_messages(response.content), response.content)
        backoff = self._retry.backoff(failures, self._rand())
        if responses.is_thread_limit(status, text):
            return backoff
        if status != 429 and not (500 <= status < 600):
            return None
        if status >= 500 and (
            (status == 500 and not transient_500)
            or (refusal_500 and responses.is_refusal(status, text))
            or responses.is_permission_error(text)
            or responses.is_missing_record_error(text)
            or responses.is_integration_code_error(text)
        ):
            return None
        asked = parse_retry_after(
            response.headers.get("retry-after"), date_header=response.headers.get("date")
        )
        if asked is None:
            return backoff
        return asked if asked <= self._retry.max_retry_after else None

    def _exchange(
        self,
        method: str,
        url: str,
        op: _Op,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        authenticated: bool = True,
        transient_500: bool = True,
        refusal_500: bool = False,
    ) -> httpx.Response:
        """Send one request, repeating it while the failure is transient; return the last
        answer. Raises :class:`TransportError` when no answer came on any attempt."""
        shown = httpx.URL(url).path
        for attempt in itertools.count(1):
            self.budget.acquire(f"{method} {shown}")
            self._requests += 1
            started = self._clock()
            failure: str | None = None
            try:
                response = self._http.request(
                    method,
                    url,
                    headers=self._headers(authenticated),
                    json=body,
                    params=params,
                    timeout=self._timeout,
                )
            except httpx.TimeoutException:
                failure = "no answer within the timeout"
            except httpx.TransportError as exc:
                failure = f"network error ({type(exc).__name__}: {exc})"
            if failure is not None:
                # Raised outside the except block: the httpx exception (whose request holds the
                # credential headers) must not travel along as __context__.
                if attempt >= self._retry.max_attempts:
                    raise TransportError(
                        f"could not {op} in Autotask: {failure}, {attempt} attempts"
                    )
                backoff = self._retry.backoff(attempt, self._rand())
                self._pause(backoff, failure, method, shown, attempt)
                continue
            logger.debug(
                "Autotask %s %s -> %d (%.2f s; %d of %d requests this hour)",
                method,
                shown,
                response.status_code,
                self._clock() - started,
                self.budget.used,
                self.budget.limit,
            )
            wait = self._transient_wait(response, attempt, transient_500, refusal_500)
            if wait is None or attempt >= self._retry.max_attempts:
                return response
            self._pause(wait, f"HTTP {response.status_code}", method, shown, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, wait: float, reason: str, method: str, shown: str, attempt: int) -> None:
        logger.warning(
            "Autotask %s %s failed (%s); waiting %.1f s before attempt %d of %d",
            method,
            shown,
            reason,
            wait,
            attempt + 1,
            self._retry.max_attempts,
        )
        self._sleep(wait)

    def _url(self, target: str) -> str:
        return target if target.startswith(("https://", "http://")) else self.base_url + target

    def _call(
        self,
        method: str,
        target: str,
        op: _Op,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        refusal_500: bool = False,
    ) -> Any:
        """One API operation: the parsed JSON of a successful answer, or a classified error.

        A 401 triggers a new zone lookup: when the tenant moved zone the request is repeated
        once at the new address (django-autotask does the same; reference/autotask.md 3).
        ``refusal_500``: an HTTP 500 that gives a reason (a validation error) is not repeated
        and raises :class:`RequestRejected`; one that explains nothing is repeated as usual.
        """
        url = self._url(target)
        again = {"body": body, "params": params, "refusal_500": refusal_500}
        response = self._exchange(method, url, op, **again)
        if response.status_code == 401:
            url = self._after_401(url, response)
            response = self._exchange(method, url, op, **again)
            if response.status_code == 401:
                raise self._credentials_error(response, self._zone)
        return self._result(response, op, refusal_500=refusal_500)

    def _after_401(self, url: str, response: httpx.Response) -> str:
        """The URL to repeat a request at after a 401, or the error that explains it."""
        before = _host(url)
        info = self.zone(refresh=True)
        if self._configured_base is not None:
            if _host(info.api_base) != _host(self._configured_base):
                raise AuthenticationError(
                    f"Autotask rejected the request (HTTP 401) at {self._configured_base}, but "
                    f"the zone lookup says user {self._username!r} is served by "
                    f"{info.api_base} (zone {info.zone_name}): set ATQB_AUTOTASK_BASE_URL to "
                    "that address, or unset it to have the zone discovered.",
                    response=self._summary(response, responses.error_messages(response.content)),
                    suspect="base_url",
                )
            raise self._credentials_error(response, info)
        if _host(info.api_base) == before:
            raise self._credentials_error(response, info)
        logger.warning(
            "Autotask moved user %s to zone %s (%s); repeating the request there",
            self._username,
            info.zone_name,
            info.api_base,
        )
        new_base = httpx.URL(info.api_base)
        return str(
            httpx.URL(url).copy_with(scheme=new_base.scheme, host=new_base.host, port=new_base.port)
        )

    def _credentials_error(
        self, response: httpx.Response, info: ZoneInfo | None
    ) -> AuthenticationError:
        messages = responses.error_messages(response.content)
        known = f" (the zone lookup found it in zone {info.zone_name})" if info else ""
        said = f" Autotask said: {' '.join(messages)}" if messages else ""
        return AuthenticationError(
            f"Autotask rejected the API credentials (HTTP 401) of user {self._username!r}. "
            f"The user name is known to Autotask{known}, so ATQB_AUTOTASK_SECRET or "
            "ATQB_AUTOTASK_INTEGRATION_CODE is wrong (Autotask's answer does not say which), "
            f"or the user is inactive or lacks the API-only security level.{said}",
            response=self._summary(response, messages),
            suspect="secret_or_integration_code",
        )

    def _result(self, response: httpx.Response, op: _Op, *, refusal_500: bool = False) -> Any:
        """Parse a successful answer or raise the error that describes a failed one;
        ``refusal_500``: an HTTP 500 that gives a reason is :class:`RequestRejected`."""
        status = response.status_code
        if 200 <= status < 300:
            return responses.parse_json(response, f"the request to {op}")
        messages = responses.error_messages(response.content)
        summary = self._summary(response, messages)
        text = responses.error_text(messages, response.content)
        said = f": {text}" if text else ""
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), date_header=response.headers.get("date")
        )
        if responses.is_thread_limit(status, text):
            raise ThreadLimitExceeded(
                f"Autotask's thread limit (too many simultaneous requests by this integration; "
                f"error Itgenatr005) kept refusing to {op}, HTTP {status}{said}",
                response=summary,
                retry_after=retry_after,
            )
        if status == 429:
            raise RateLimited(
                f"Autotask refused to {op}: the tenant's hourly request limit (shared by every "
                f"integration) is reached, HTTP 429{said}"
                + (f"; retry in {retry_after:.0f} s" if retry_after is not None else ""),
                response=summary,
                retry_after=retry_after,
            )
        if status == 403 or (status >= 400 and responses.is_permission_error(text)):
            raise PermissionDenied(
                f"the Autotask API user {self._username!r} may not {op} (HTTP {status}{said}). "
                f"Give the API user's security level access to {op.entity} in Autotask "
                "(Admin > Account Settings & Users > Security Levels).",
                response=summary,
                entity=op.entity,
            )
        if status == 404 or (status >= 500 and responses.is_missing_record_error(text)):
            raise NotFound(
                f"Autotask has no such record or route: {op} (HTTP {status}{said})",
                response=summary,
                entity=op.entity,
                record_id=op.record_id,
            )
        if status >= 400 and responses.is_integration_code_error(text):
            raise AuthenticationError(
                f"Autotask refused to {op} because of the integration code (HTTP {status}{said}):"
                " check ATQB_AUTOTASK_INTEGRATION_CODE (the API user's tracking identifier).",
                response=summary,
                suspect="integration_code",
            )
        if refusal_500 and responses.is_refusal(status, text):
            raise RequestRejected(
                f"Autotask refused to {op} (HTTP {status}{said})", response=summary
            )
        if status >= 500:
            raise ServerError(
                f"Autotask failed to {op} (HTTP {status}{said})",
                response=summary,
                retry_after=retry_after,
            )
        raise RequestRejected(f"Autotask refused to {op} (HTTP {status}{said})", response=summary)

    # -- paging ----------------------------------------------------------------------------

    def _pages(self, method: str, target: str, op: _Op, body: Any = None) -> Iterator[list[Any]]:
        """The ``items`` of each page, following ``pageDetails.nextPageUrl`` with the same
        method and body (a POST-origin query is continued by POST; reference/autotask.md 4.3)."""
        seen: set[str] = set()
        for page in itertools.count(1):
            data = self._call(method, target, op, body=body)
            if not isinstance(data, dict) or not isinstance(data.get("items"), list):
                raise MalformedResponse(
                    f'Autotask answered the request to {op} without an "items" array '
                    f"(page {page}): {str(data)[:200]!r}",
                    path=httpx.URL(self._url(target)).path,
                )
            yield data["items"]
            details = data.get("pageDetails")
            next_url = details.get("nextPageUrl") if isinstance(details, dict) else None
            if next_url is None or next_url == "":
                return
            if not isinstance(next_url, str) or not next_url.startswith(("https://", "http://")):
                raise MalformedResponse(
                    f"Autotask's answer to {op} has an unusable nextPageUrl {next_url!r}"
                )
            # The credentials go only where the base URL is: same scheme, host and port (so an
            # https base never pages over plain http, and a local test tenant can page).
            if _origin(next_url) != _origin(self.base_url):
                raise MalformedResponse(
                    f"Autotask's answer to {op} points the next page at another host "
                    f"({_host(next_url)}); refusing to send credentials there"
                )
            if next_url in seen or page >= self._max_pages:
                raise MalformedResponse(
                    f"paging through {op} did not end after {page} pages "
                    "(Autotask repeated a page or the result is far larger than expected)"
                )
            seen.add(next_url)
            target = next_url

    @staticmethod
    def _query_body(
        filters: Sequence[f.Filter], include_fields: Sequence[str] | None
    ) -> dict[str, Any]:
        # Every query needs a filter; "all rows" is id >= 0 (reference/autotask.md 4.2).
        body: dict[str, Any] = {
            "maxRecords": PAGE_SIZE,
            "filter": f.serialise(filters or (f.gte("id", 0),)),
        }
        if include_fields:
            fields = list(dict.fromkeys(include_fields))
            # "For search results that contain more than 500 results, you must include Id."
            if not any(name.casefold() == "id" for name in fields):
                fields.insert(0, "id")
            body["includeFields"] = fields
        return body

    def _typed(
        self, record_type: type[R], items: Iterable[Any], invalid: list[RecordError] | None
    ) -> Iterator[R]:
        for item in items:
            try:
                yield record_type.from_api(item)
            except RecordError as exc:
                if invalid is None:
                    raise
                logger.warning("skipping an Autotask record: %s", exc)
                invalid.append(exc)

    # -- queries ---------------------------------------------------------------------------

    def query_raw(
        self, entity: str, *filters: f.Filter, include_fields: Sequence[str] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every record of ``entity`` matching all ``filters`` (all records when none), as
        dicts, 500 per request: ``POST {entity}/query``, then the ``nextPageUrl`` pages.
        ``include_fields`` limits the fields returned (``id`` is always added)."""
        op = _Op("query", _entity(entity))
        body = self._query_body(filters, include_fields)
        for items in self._pages("POST", f"{entity}/query", op, body):
            for item in items:
                if not isinstance(item, dict):
                    raise MalformedResponse(
                        f"Autotask answered the request to {op} with an item that is not an "
                        f"object: {str(item)[:100]!r}"
                    )
                yield item

    def query(
        self,
        record_type: type[R],
        *filters: f.Filter,
        invalid: list[RecordError] | None = None,
    ) -> Iterator[R]:
        """Every ``record_type`` record matching all ``filters``, validated, fetching only the
        fields the record reads.

        A record that fails validation raises :class:`RecordError` and ends the iteration,
        unless ``invalid`` is a list: then the error is appended there, logged, and the
        iteration continues with the next record.
        """
        items = self.query_raw(
            record_type.ENTITY, *filters, include_fields=record_type.wire_fields()
        )
        return self._typed(record_type, items, invalid)

    def query_in_raw(
        self,
        entity: str,
        field: str,
        values: Iterable[int | str],
        *filters: f.Filter,
        include_fields: Sequence[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Records whose ``field`` is one of ``values`` (and matching ``filters``), in requests
        of at most 500 values each (duplicates dropped; no request at all when empty)."""
        unique = _unique(values)
        for start in range(0, len(unique), MAX_IN_VALUES):
            chunk = unique[start : start + MAX_IN_VALUES]
            yield from self.query_raw(
                entity, f.in_(field, chunk), *filters, include_fields=include_fields
            )

    def query_in(
        self,
        record_type: type[R],
        field: str,
        values: Iterable[int | str],
        *filters: f.Filter,
        invalid: list[RecordError] | None = None,
    ) -> Iterator[R]:
        """Typed :meth:`query_in_raw`, e.g. every line of many POs at once:
        ``client.query_in(PurchaseOrderItem, "orderID", po_ids)``."""
        items = self.query_in_raw(
            record_type.ENTITY, field, values, *filters, include_fields=record_type.wire_fields()
        )
        return self._typed(record_type, items, invalid)

    def count(self, entity: str | type[Record], *filters: f.Filter) -> int:
        """How many records match: ``GET {entity}/query/count?search=...`` (POSTed instead
        when the filter would make the URL too long)."""
        name = _entity(entity if isinstance(entity, str) else entity.ENTITY)
        op = _Op("count", name)
        search = {"filter": f.serialise(filters or (f.gte("id", 0),))}
        encoded = json.dumps(search, separators=(",", ":"))
        path = f"{name}/query/count"
        url = httpx.URL(self._url(path), params={"search": encoded})
        if len(str(url)) <= _MAX_GET_URL:
            data = self._call("GET", path, op, params={"search": encoded})
        else:
            data = self._call("POST", path, op, body=search)
        count = data.get("queryCount") if isinstance(data, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            raise MalformedResponse(
                f'Autotask answered the request to {op} without an integer "queryCount": '
                f"{str(data)[:200]!r}",
                path=url.path,
            )
        return count

    # -- single records and children -------------------------------------------------------

    def get_raw(self, entity: str, record_id: int) -> dict[str, Any]:
        """One record as a dict: ``GET {entity}/{id}``. Raises :class:`NotFound`."""
        op = _Op("read", _entity(entity), _record_id(record_id))
        data = self._call("GET", f"{entity}/{record_id}", op)
        if not isinstance(data, dict) or "item" not in data:
            raise MalformedResponse(
                f'Autotask answered the request to {op} without an "item": {str(data)[:200]!r}'
            )
        item = data["item"]
        if item is None:
            raise NotFound(
                f"Autotask has no {entity} record {record_id}",
                response=ResponseSummary(200, "GET", f"{entity}/{record_id}"),
                entity=entity,
                record_id=record_id,
            )
        if not isinstance(item, dict):
            raise MalformedResponse(
                f"Autotask answered the request to {op} with an item that is not an object"
            )
        return item

    def get(self, record_type: type[R], record_id: int) -> R:
        """One validated record. Raises :class:`NotFound` or :class:`RecordError`."""
        return record_type.from_api(self.get_raw(record_type.ENTITY, record_id))

    def children_raw(
        self, parent_entity: str, parent_id: int, child: str
    ) -> Iterator[dict[str, Any]]:
        """A child collection as dicts, e.g. ``GET PurchaseOrders/{id}/Items``."""
        op = _Op(f"list the {_entity(child)} of", _entity(parent_entity), _record_id(parent_id))
        for items in self._pages("GET", f"{parent_entity}/{parent_id}/{child}", op):
            for item in items:
                if not isinstance(item, dict):
                    raise MalformedResponse(
                        f"Autotask answered the request to {op} with an item that is not an object"
                    )
                yield item

    def children(
        self, record_type: type[R], parent_id: int, *, invalid: list[RecordError] | None = None
    ) -> Iterator[R]:
        """The child records of one parent through its child URL, e.g.
        ``client.children(PurchaseOrderItem, po_id)`` reads ``PurchaseOrders/{po_id}/Items``.
        For many parents, :meth:`query_in` takes far fewer requests."""
        if record_type.PARENT is None:
            raise ValueError(f"{record_type.__name__} has no parent collection URL")
        parent, child = record_type.PARENT
        return self._typed(record_type, self.children_raw(parent, parent_id, child), invalid)

    # -- writes ----------------------------------------------------------------------------

    def update(self, entity: str, record_id: int, fields: Mapping[str, WriteValue]) -> int:
        """Change the named fields of one record: ``PATCH {entity}`` with
        ``{"id": record_id, **fields}``. Returns the ``itemId`` Autotask answers.

        An HTTP 500 that gives a reason is not repeated and raises :class:`RequestRejected`:
        Autotask answers validation errors with 500 (reference/autotask.md 9), which repeating
        cannot cure; the caller decides when to try again (the poller: a later cycle, with
        backoff). A 500 that explains nothing is a server failure, repeated as usual."""
        op = _Op("update", _entity(entity), _record_id(record_id))
        if not fields or "id" in fields:
            raise ValueError("update needs at least one field other than id")
        body: dict[str, WriteValue] = {"id": record_id}
        body.update(fields)
        data = self._call("PATCH", entity, op, body=body, refusal_500=True)
        item_id = data.get("itemId") if isinstance(data, dict) else None
        if isinstance(item_id, bool) or not isinstance(item_id, int):
            raise MalformedResponse(
                f'Autotask answered the request to {op} without an integer "itemId": '
                f"{str(data)[:200]!r}"
            )
        return item_id

    def set_external_po_number(self, purchase_order_id: int, number: str) -> None:
        """Write the QuickBooks PO number to the PO's "External P.O. #" (``externalPONumber``),
        as the official QuickBooks extension does (reference/autotask.md 10.7)."""
        self.update(PurchaseOrder.ENTITY, purchase_order_id, {"externalPONumber": number})

    # -- metadata --------------------------------------------------------------------------

    def field_definitions(self, entity: str, *, refresh: bool = False) -> tuple[FieldInfo, ...]:
        """``GET {entity}/entityInformation/fields``, cached for the client's lifetime."""
        name = _entity(entity)
        if refresh or name not in self._fields:
            data = self._call(
                "GET",
                f"{name}/entityInformation/fields",
                _Op("read the field definitions of", name),
            )
            self._fields[name] = parse_field_definitions(name, data)
        return self._fields[name]

    def picklist(self, entity: str, field: str) -> Picklist:
        """The tenant's choices of a picklist field. Raises :class:`PicklistError`."""
        return picklist_from(entity, field, self.field_definitions(entity))

    def picklist_value(self, entity: str, field: str, *labels: str) -> int:
        """The integer value of the first of ``labels`` that the picklist has, e.g.
        ``picklist_value("PurchaseOrders", "status", "Canceled", "Cancelled")``."""
        return self.picklist(entity, field).value_of(*labels)

    def threshold_information(self) -> ThresholdInfo:
        """The tenant's hourly usage by all integrations (``GET ThresholdInformation``;
        this request counts toward the limit too)."""
        op = _Op("read", "ThresholdInformation")
        data = self._call("GET", "ThresholdInformation", op)
        keys = (
            "externalRequestThreshold",
            "requestThresholdTimeframe",
            "currentTimeframeRequestCount",
        )
        values = [data.get(k) if isinstance(data, dict) else None for k in keys]
        numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if len(numbers) != len(keys):
            raise MalformedResponse(
                f"Autotask's ThresholdInformation is not as documented: {str(data)[:200]!r}"
            )
        return ThresholdInfo(
            limit=numbers[0], timeframe_minutes=numbers[1], current_count=numbers[2]
        )
