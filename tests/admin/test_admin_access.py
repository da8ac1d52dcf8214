"""Who gets into /admin: nobody until the credentials are configured, then only with them."""

from __future__ import annotations

import base64

import httpx
import pytest

from service.admin import security
from tests.admin.helpers import ADMIN
from tests.support import serve_in_thread


@pytest.mark.usefixtures("db")
def test_admin_is_closed_until_credentials_are_configured(database_url: str) -> None:
    with serve_in_thread(database_url, admin_user="admin") as base:  # no password
        for auth in (None, ("admin", ""), ADMIN):
            response = httpx.get(base + "/admin/jobs/1", auth=auth)
            assert response.status_code == 401
            assert response.text == (
                "/admin is disabled: set ATQB_ADMIN_USER and ATQB_ADMIN_PASSWORD "
                "(environment or .env) and restart atqb serve.\n"
            )
            assert "www-authenticate" not in response.headers


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(f"{ADMIN[0]}:wrong".encode()).decode(),
        "Basic " + base64.b64encode(f"someone:{ADMIN[1]}".encode()).decode(),
        "Basic " + base64.b64encode(ADMIN[0].encode()).decode(),  # no colon, no password
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
        "Bearer " + ADMIN[1],
        "Digest username=admin",
    ],
)
def test_wrong_credentials_get_a_challenge(site: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/admin", "/admin/jobs/1", "/admin/sessions"):
        response = httpx.get(site + path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Basic realm="atqb admin", charset="UTF-8"'
        assert "credentials required" in response.text
    response = httpx.post(site + "/admin/jobs/1/cancel", headers=headers, data={"csrf": "x"})
    assert response.status_code == 401


def test_the_right_credentials_open_every_page(site: str) -> None:
    for path in ("/admin", "/admin/", "/admin/sessions", "/admin/poll"):
        assert httpx.get(site + path, auth=ADMIN).status_code == 200, path


@pytest.mark.usefixtures("db")
def test_a_non_ascii_password_works(database_url: str) -> None:
    with serve_in_thread(database_url, admin_user="ädmin", admin_password="pässwörd €") as base:
        assert httpx.get(base + "/admin", auth=("ädmin", "pässwörd €")).status_code == 200
        assert httpx.get(base + "/admin", auth=("ädmin", "passwort")).status_code == 401


def test_tokens_are_bound_to_the_credentials_and_expire() -> None:
    token = security.make_token("admin", "one", now=1_000_000)
    assert security.token_ok(token, "admin", "one", now=1_000_001)
    assert not security.token_ok(token, "admin", "two", now=1_000_001)
    assert not security.token_ok(token, "other", "one", now=1_000_001)
    assert not security.token_ok(token, "admin", "one", now=1_000_000 + security.TOKEN_SECONDS)
    expires, _, mac = token.partition(".")
    assert not security.token_ok(f"{int(expires) + 3600}.{mac}", "admin", "one", now=1_000_001)
    for junk in ("", ".", "abc.def", "1.", "-5.abc", "9" * 40 + ".00"):
        assert not security.token_ok(junk, "admin", "one", now=1_000_001)


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"HTTP_HOST": "atqb.example.com"}, False),  # no Origin: the token decides
        ({"HTTP_HOST": "atqb.example.com", "HTTP_ORIGIN": "https://atqb.example.com"}, False),
        ({"HTTP_HOST": "atqb.example.com:443", "HTTP_ORIGIN": "https://atqb.example.com"}, False),
        ({"HTTP_HOST": "127.0.0.1:8080", "HTTP_ORIGIN": "http://127.0.0.1:8080"}, False),
        ({"HTTP_HOST": "127.0.0.1:8080", "HTTP_ORIGIN": "http://127.0.0.1:8081"}, True),
        ({"HTTP_HOST": "atqb.example.com", "HTTP_ORIGIN": "https://atqb.example.com.evil"}, True),
        ({"HTTP_HOST": "atqb.example.com", "HTTP_ORIGIN": "https://x:notaport"}, True),
        (
            {"HTTP_HOST": "atqb.example.com", "HTTP_REFERER": "https://atqb.example.com/admin"},
            False,
        ),
        ({"HTTP_HOST": "atqb.example.com", "HTTP_SEC_FETCH_SITE": "none"}, False),
        ({"HTTP_HOST": "atqb.example.com", "HTTP_SEC_FETCH_SITE": "cross-site"}, True),
    ],
)
def test_origin_check_behind_a_tls_proxy(headers: dict[str, str], refused: bool) -> None:
    environ = {"wsgi.url_scheme": "http", **headers}
    assert (security.cross_site_reason(environ) is not None) is refused
