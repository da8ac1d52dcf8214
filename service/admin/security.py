"""Who may use ``/admin``, and why a cross-site request cannot act through it.

* **Credentials.** HTTP Basic against ``ATQB_ADMIN_USER`` / ``ATQB_ADMIN_PASSWORD``, compared in
  constant time. Serve ``/admin`` only over https away from localhost (the TLS proxy of the
  Docker deployment does).
* **Actions** (retry, cancel) are POST only and carry a CSRF token. A browser sends Basic
  credentials with any request to the site, whoever made the page, so the credentials alone
  prove nothing. Each of these must hold:

  - the form's ``csrf`` field is a token this installation made for these credentials: an HMAC
    keyed by the admin password, with an expiry (:data:`TOKEN_SECONDS`). Stateless, so any
    ``atqb serve`` process behind the same address accepts it; a new password voids it.
  - the same token is in the ``atqb_csrf`` cookie, set ``SameSite=Strict`` (a browser does not
    send it with a request started by another site) and ``HttpOnly``.
  - ``Origin`` (or, without it, ``Referer``), when the browser sends one, names this host, and
    ``Sec-Fetch-Site``, when sent, is ``same-origin``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

#: How long a page's CSRF token stays valid (seconds).
TOKEN_SECONDS = 8 * 3600
COOKIE = "atqb_csrf"
_DEFAULT_PORTS = (80, 443)


def basic_auth_ok(environ: Mapping[str, Any], user: str, password: str) -> bool:
    """Whether the request's ``Authorization: Basic`` header carries these credentials."""
    header = str(environ.get("HTTP_AUTHORIZATION", ""))
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    given_user, separator, given_password = decoded.partition(":")
    user_ok = hmac.compare_digest(given_user.encode(), user.encode())
    password_ok = hmac.compare_digest(given_password.encode(), password.encode())
    return bool(separator) and user_ok and password_ok


def _key(user: str, password: str) -> bytes:
    return hmac.new(b"atqb admin csrf v1", f"{user}\0{password}".encode(), hashlib.sha256).digest()


def make_token(user: str, password: str, now: float | None = None) -> str:
    """A CSRF token for these credentials, valid :data:`TOKEN_SECONDS` from ``now``."""
    expires = int((time.time() if now is None else now) + TOKEN_SECONDS)
    mac = hmac.new(_key(user, password), str(expires).encode(), hashlib.sha256).hexdigest()
    return f"{expires}.{mac}"


def token_ok(token: str, user: str, password: str, now: float | None = None) -> bool:
    """Whether ``token`` was made for these credentials and has not expired."""
    expires_text, _, mac = token.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12 or not mac:
        return False
    expected = hmac.new(_key(user, password), expires_text.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac.encode(), expected.encode()):
        return False
    return int(expires_text) > (time.time() if now is None else now)


def cookie_value(environ: Mapping[str, Any], name: str = COOKIE) -> str | None:
    """The value of cookie ``name`` in the request, if sent."""
    for part in str(environ.get("HTTP_COOKIE", "")).split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def _host_port(netloc: str) -> str:
    """``host`` or ``host:port`` in lower case; 80 and 443 are left out (behind the TLS proxy
    the browser's https port and this process's http port differ)."""
    parts = urlsplit(f"//{netloc}")
    try:
        port = parts.port
    except ValueError:
        return "\0invalid"
    host = (parts.hostname or "").lower()
    if port is None or port in _DEFAULT_PORTS:
        return host
    return f"{host}:{port}"


def cross_site_reason(environ: Mapping[str, Any]) -> str | None:
    """Why this request looks as if another site made it, or None when nothing says so.

    The proxy in front terminates TLS, so the browser's ``Origin`` may say https while this
    process sees http: hosts and ports are compared, not schemes.
    """
    fetch_site = str(environ.get("HTTP_SEC_FETCH_SITE", ""))
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return f"the browser says the request came from a {fetch_site} page"
    host = _host_port(str(environ.get("HTTP_HOST", "")))
    origin = str(environ.get("HTTP_ORIGIN", ""))
    if origin:
        if origin == "null":
            return "the request came from a page without an origin"
        parts = urlsplit(origin)
        if _host_port(parts.netloc) != host:
            return "the request came from another site"
        return None
    referer = str(environ.get("HTTP_REFERER", ""))
    if referer:
        parts = urlsplit(referer)
        if _host_port(parts.netloc) != host:
            return "the request came from another site"
    return None
