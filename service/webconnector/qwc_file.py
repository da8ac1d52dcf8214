"""The ``.qwc`` file an administrator loads into the QuickBooks Web Connector.

A pure module: it checks the URLs against the rules the Web Connector enforces when the file is
added (reference/qbwc.md 7) and renders the ``QBWCXML`` document (reference/qbwc.md 8). The
OwnerID and FileID come from the caller, which keeps them stable in the database: the Web
Connector writes the FileID into the company file on first connect, so a new id for the same
user would look like a different application to QuickBooks.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from urllib.parse import SplitResult, urlsplit, urlunsplit

from lxml import etree

DEFAULT_DESCRIPTION = "Autotask purchase orders and inventory into QuickBooks Desktop"
#: The Guide recommends at most 80 characters for AppDescription (reference/qbwc.md 8).
MAX_DESCRIPTION = 80

# The only host for which the Web Connector accepts plain http (reference/qbwc.md 7).
_HTTP_HOST = "localhost"
# Hosts exempt from the "no IP address" rule: the Web Connector on the same machine.
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1"})
# Intuit's sample OwnerID, copied into other projects (reference/qbwc.md 8): an application
# using it shares its private DataExts in the company file with every one of them.
_REFUSED_OWNER_IDS = frozenset(
    {uuid.UUID("57F3B9B1-86F1-4fcc-B1EE-566DE1813D20"), uuid.UUID(int=0)}
)
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
# One to four dot-separated numbers, decimal or 0x-hexadecimal: how Windows reads IPv4 text.
_IPV4_PART = r"(?:0x[0-9a-f]*|[0-9]+)"
_IPV4_LIKE = re.compile(rf"{_IPV4_PART}(?:\.{_IPV4_PART}){{0,3}}\.?", re.IGNORECASE)


class QwcError(ValueError):
    """A value cannot go into a ``.qwc`` file the Web Connector would accept; says what to do."""


def check_app_url(url: str) -> None:
    """Refuse an AppURL the Web Connector would reject when the file is added.

    Raises :class:`QwcError` when the URL is not an absolute http(s) URL, carries credentials,
    uses plain http for a host other than ``localhost`` (QBWC1010/QBWC1051) or names its host by
    IP address other than ``127.0.0.1`` (QBWC1001).
    """
    _checked(url, "AppURL", ip_code="QBWC1001")


def default_support_url(app_url: str) -> str:
    """The AppSupport URL atqb serves beside a given AppURL: ``/support`` next to ``/qbwc``.

    The last path segment of the AppURL is replaced, so ``https://host/qbwc`` gives
    ``https://host/support`` and ``https://host/atqb/qbwc`` (behind a path prefix) gives
    ``https://host/atqb/support``.
    """
    parts = _checked(app_url, "AppURL", ip_code="QBWC1001")
    prefix = parts.path.rstrip("/").rpartition("/")[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{prefix}/support", "", ""))


def render_qwc(
    *,
    user_name: str,
    app_url: str,
    owner_id: uuid.UUID,
    file_id: uuid.UUID,
    app_name: str = "atqb",
    description: str = DEFAULT_DESCRIPTION,
    support_url: str | None = None,
    run_every_minutes: int = 15,
) -> str:
    """Render the ``.qwc`` file for one Web Connector user (one company file).

    ``owner_id`` identifies this atqb installation and ``file_id`` the user; both must stay the
    same for as long as the user exists. ``support_url`` defaults to :func:`default_support_url`
    and must be on the AppURL's host (QBWC1000). Raises :class:`QwcError` for anything the Web
    Connector would refuse or misread.

    The result is ASCII (other characters become character references) with a declaration that
    names no encoding, so the file stays valid whichever way it is saved on Windows.
    """
    app_parts = _checked(app_url, "AppURL", ip_code="QBWC1001")
    if support_url is None:
        support_url = default_support_url(app_url)
    support_parts = _checked(support_url, "AppSupport", ip_code="QBWC1002")
    if support_parts.hostname != app_parts.hostname:
        raise QwcError(
            f"AppSupport {support_url!r} is not on the AppURL's host {app_parts.hostname!r}: "
            "the Web Connector requires both in the same domain (QBWC1000); "
            "leave the support URL out to use atqb's own /support page"
        )
    _check_text("user name", user_name)
    _check_text("application name", app_name)
    _check_text("description", description, allow_empty=True)
    if len(description) > MAX_DESCRIPTION:
        raise QwcError(
            f"the description has {len(description)} characters; "
            f"the Web Connector shows at most {MAX_DESCRIPTION}"
        )
    for what, value in (("owner id", owner_id), ("file id", file_id)):
        if not isinstance(value, uuid.UUID):
            raise TypeError(f"{what} must be a uuid.UUID, not {type(value).__name__}")
    if owner_id in _REFUSED_OWNER_IDS:
        raise QwcError(
            f"OwnerID {_guid(owner_id)} is a well-known example value shared by other "
            "applications; give this installation its own random OwnerID"
        )
    if isinstance(run_every_minutes, bool) or not isinstance(run_every_minutes, int):
        raise TypeError("run_every_minutes must be an int")
    if run_every_minutes < 1:
        # The Web Connector's own minimum interval is one minute (reference/qbwc.md 8).
        raise QwcError(f"the interval must be at least 1 minute, not {run_every_minutes}")

    root = etree.Element("QBWCXML")

    def add(parent: etree._Element, tag: str, text: str) -> None:
        etree.SubElement(parent, tag).text = text

    add(root, "AppName", app_name)
    add(root, "AppID", app_name)
    add(root, "AppURL", app_url)
    add(root, "AppDescription", description)
    add(root, "AppSupport", support_url)
    add(root, "UserName", user_name)
    add(root, "OwnerID", _guid(owner_id))
    add(root, "FileID", _guid(file_id))
    add(root, "QBType", "QBFS")
    # Each user (company file) gets its own row in the Web Connector: AppUniqueName keys it by
    # FileID, so loading a regenerated file for the same user replaces its row instead of
    # asking to clone, and two company files on one machine never collide; AppDisplayName is
    # for the UI only (reference/qbwc.md 8; Guide, "What's new in QBWC 2.0").
    add(root, "AppDisplayName", f"{app_name} ({user_name})")
    add(root, "AppUniqueName", f"{app_name} {_guid(file_id)}")
    scheduler = etree.SubElement(root, "Scheduler")
    add(scheduler, "RunEveryNMinutes", str(run_every_minutes))
    # atqb writes (vendors, items, purchase orders, receipts, adjustments).
    add(root, "IsReadOnly", "false")
    # umpOptional lets the administrator choose "Yes, always; allow access even if QuickBooks
    # is not running" in QuickBooks' authorisation dialog, which unattended scheduled runs
    # need, without making it a condition of access as umpRequired would. atqb reads no
    # personal data (social security or credit card numbers), so it asks for none
    # (reference/qbwc.md 8).
    add(root, "UnattendedModePref", "umpOptional")
    add(root, "PersonalDataPref", "pdpNotNeeded")

    body = etree.tostring(root, encoding="us-ascii", pretty_print=True).decode("ascii")
    return '<?xml version="1.0"?>\n' + body


def _guid(value: uuid.UUID) -> str:
    """A GUID as the Web Connector's samples write it: upper case, in braces (qbwc.md 8)."""
    return "{" + str(value).upper() + "}"


def _checked(url: str, element: str, *, ip_code: str) -> SplitResult:
    """Check one URL of the ``.qwc`` file and return its parts; ``element`` names it for people."""
    if not isinstance(url, str) or not url:
        raise QwcError(f"{element}: a URL is required, e.g. https://atqb.example.com/qbwc")
    if _CONTROL_OR_SPACE.search(url):
        raise QwcError(f"{element} {url!r} contains spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise QwcError(f"{element} {url!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise QwcError(
            f"{element} {url!r} must be an absolute https URL such as https://atqb.example.com/qbwc"
        )
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise QwcError(
            f"{element} must not contain a user name or password: the Web Connector sends "
            "the user's credentials itself; remove the 'user:password@' part"
        )
    if scheme == "http" and host != _HTTP_HOST:
        raise QwcError(
            f"{element} {url!r} uses plain http: the Web Connector accepts only https "
            "(with a certificate Windows trusts) for any host other than localhost "
            "(QBWC1010, QBWC1051: 'The new application was not added'); "
            "use https://, or http://localhost when the Web Connector runs on this machine"
        )
    if host not in _LOOPBACK_HOSTS and _is_ip_address(host):
        raise QwcError(
            f"{element} {url!r} names its host by IP address, which the Web Connector refuses "
            f"({ip_code}); use a DNS name that the server's certificate is issued for"
        )
    return parts


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # Windows also reads shorthand forms such as 10.1 or 0x7f.1 as IPv4 addresses.
        return _IPV4_LIKE.fullmatch(host) is not None
    return True


def _check_text(what: str, value: str, *, allow_empty: bool = False) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if not value and allow_empty:
        return
    if not value.strip():
        raise QwcError(f"the {what} must not be empty")
    if value != value.strip():
        raise QwcError(f"the {what} {value!r} starts or ends with spaces")
    try:
        etree.Element("x").text = value
    except ValueError:
        raise QwcError(
            f"the {what} {value!r} contains a character XML cannot carry (a control character)"
        ) from None
