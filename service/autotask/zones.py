"""Zone discovery: which Autotask host serves this tenant's API.

Each tenant lives in one zone (``webservices5.autotask.net``, ``webservices14...``). The zone
lookup ``GET {ATQB_AUTOTASK_ZONE_URL}?user=<api user name>`` answers
``{"zoneName", "url", "webUrl", "ci"}`` where ``url`` is e.g.
``https://webservices14.autotask.net/ATServicesRest/``; the REST base is ``{url}V1.0/``
(reference/autotask.md 3). It is sent without credentials, as AutotaskAPI-ps does: only the user
name is needed. Autotask answers HTTP 500 to a blank or unknown user name.

Because the answer decides where the secret is sent, the discovered URL must be ``https`` on
an ``*.autotask.net`` host (autotask-client accepts only ``webservicesN.autotask.net``; the
AutotaskAPI-ps list also has ``prde``/``pres`` hosts). A configured ``ATQB_AUTOTASK_BASE_URL``
is trusted as given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from .errors import ConfigurationError, ZoneDiscoveryError

__all__ = [
    "API_VERSION_PATH",
    "ZONE_CACHE_SECONDS",
    "ZoneInfo",
    "api_base_for",
    "normalise_base_url",
    "parse_zone_info",
]

#: Appended to the zone's ``url`` to make the REST base.
API_VERSION_PATH = "V1.0/"
#: How long a discovered zone is trusted before it is looked up again (django-autotask: 12 h).
ZONE_CACHE_SECONDS = 12 * 3600.0
_AUTOTASK_HOST = re.compile(r"^[a-z0-9-]+\.autotask\.net$", re.IGNORECASE)


@dataclass(frozen=True)
class ZoneInfo:
    """The zone lookup's answer and the REST base URL derived from it."""

    zone_name: str
    url: str
    web_url: str | None
    api_base: str


def normalise_base_url(url: str, *, setting: str = "ATQB_AUTOTASK_BASE_URL") -> str:
    """The REST base with a trailing ``/``: ``https://host/ATServicesRest/V1.0/``.

    A URL ending at ``/ATServicesRest`` (as the zone lookup gives it) gets ``V1.0/`` appended.
    """
    parsed = httpx.URL(url.strip())
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise ConfigurationError(f"{setting} must be an http(s) URL, got {url!r}")
    if parsed.query or parsed.fragment:
        raise ConfigurationError(f"{setting} must not have a query string, got {url!r}")
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    if path.lower().endswith("/atservicesrest/"):
        path += API_VERSION_PATH
    return str(parsed.copy_with(path=path))


def api_base_for(zone_url: str) -> str:
    """The REST base for a zone ``url``; raises :class:`ZoneDiscoveryError` for a foreign host."""
    parsed = httpx.URL(zone_url)
    if parsed.scheme != "https" or not _AUTOTASK_HOST.match(parsed.host or ""):
        raise ZoneDiscoveryError(
            f"the Autotask zone lookup answered the API URL {zone_url!r}, which is not an "
            "https://….autotask.net address; refusing to send credentials there. "
            "Set ATQB_AUTOTASK_BASE_URL to your zone's API URL to skip the lookup."
        )
    try:
        return normalise_base_url(zone_url, setting="the zone lookup's url")
    except ConfigurationError as exc:
        raise ZoneDiscoveryError(str(exc)) from None


def parse_zone_info(body: Any) -> ZoneInfo:
    """Read a ``ZoneInformationResultModel``; raises :class:`ZoneDiscoveryError` when unusable."""
    if not isinstance(body, dict):
        raise ZoneDiscoveryError(
            f"the Autotask zone lookup answered {type(body).__name__} instead of an object"
        )
    url = body.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ZoneDiscoveryError(
            "the Autotask zone lookup answered without an API url "
            f"(fields present: {', '.join(sorted(map(str, body))) or 'none'})"
        )
    name = body.get("zoneName")
    web = body.get("webUrl")
    return ZoneInfo(
        zone_name=name if isinstance(name, str) else "?",
        url=url,
        web_url=web if isinstance(web, str) else None,
        api_base=api_base_for(url.strip()),
    )
