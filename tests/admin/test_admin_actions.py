"""Retry and cancel over HTTP, and every way a forged or stale request is refused."""

from __future__ import annotations

import time

import httpx
import pytest

from service.admin import security
from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from tests.admin.helpers import ADMIN, Jobs, doc


def status_of(db: Database, job_id: int) -> str:
    with db.transaction() as conn:
        return JobStore(conn, utcnow()).get(job_id).status


def form_token(admin: httpx.Client, job_id: int) -> str:
    """Open the job's page (which sets the cookie) and read its form's token."""
    page = admin.get(f"/admin/jobs/{job_id}")
    (token,) = set(doc(page.text).xpath('//input[@name="csrf"]/@value'))
    return str(token)


def post(admin: httpx.Client, path: str, token: str, **headers: str) -> httpx.Response:
    origin = str(admin.base_url).rstrip("/")
    sent = {"Origin": origin, "Sec-Fetch-Site": "same-origin", **headers}
    return admin.post(path, data={"csrf": token}, headers=sent)


def test_retry_through_the_form_makes_the_chain_ready_again(
    admin: httpx.Client, jobs: Jobs, db: Database
) -> None:
    token = form_token(admin, jobs.po_failed_by_vendor)
    response = post(admin, f"/admin/jobs/{jobs.po_failed_by_vendor}/retry", token)
    assert response.status_code == 303
    assert response.headers["location"] == f"/admin/jobs/{jobs.po_failed_by_vendor}?notice=retried"
    # Retrying the PO retried the vendor that failed it; the PO and its receipt wait for it.
    assert status_of(db, jobs.vendor_failed) == "pending"
    assert status_of(db, jobs.po_failed_by_vendor) == "waiting"
    assert status_of(db, jobs.receipt_failed_by_po) == "waiting"
    page = admin.get(response.headers["location"])
    notice = doc(page.text).xpath('//p[@role="status"]')[0].text_content()
    assert notice.startswith("Retried:")
    assert notice.endswith("is now waiting.")


def test_cancel_through_the_form_fails_the_jobs_waiting_on_it(
    admin: httpx.Client, jobs: Jobs, db: Database
) -> None:
    with db.transaction() as conn:
        JobStore(conn, utcnow()).retry(jobs.vendor_failed)
    token = form_token(admin, jobs.vendor_failed)
    response = post(admin, f"/admin/jobs/{jobs.vendor_failed}/cancel", token)
    assert response.status_code == 303
    assert status_of(db, jobs.vendor_failed) == "cancelled"
    assert status_of(db, jobs.po_failed_by_vendor) == "failed"


def test_an_action_the_job_does_not_allow_is_explained(
    admin: httpx.Client, jobs: Jobs, db: Database
) -> None:
    # A page opened earlier still shows the button; the job has finished since.
    token = form_token(admin, jobs.hresult_pending)
    response = post(admin, f"/admin/jobs/{jobs.company_done}/cancel", token)
    assert response.status_code == 409
    alert = doc(response.text).xpath('//p[@role="alert"]')[0].text_content()
    assert alert == f"job #{jobs.company_done} is already done"
    response = post(admin, f"/admin/jobs/{jobs.hresult_pending}/retry", token)
    assert response.status_code == 409
    assert "only failed or cancelled jobs can be retried" in response.text
    assert post(admin, "/admin/jobs/999999/retry", token).status_code == 404
    assert status_of(db, jobs.company_done) == "done"


def test_the_page_keeps_its_token_while_it_is_fresh(admin: httpx.Client, jobs: Jobs) -> None:
    first = form_token(admin, jobs.vendor_failed)
    assert form_token(admin, jobs.cancelled) == first  # two tabs keep working
    assert admin.cookies.get(security.COOKIE) == first


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"token": ""}, "the form has expired or did not come from this page"),
        ({"token": "forged.0123"}, "the form has expired or did not come from this page"),
        ({"token": "other-password"}, "the form has expired or did not come from this page"),
        ({"token": "expired"}, "the form has expired or did not come from this page"),
        ({"cookie": "missing"}, "the form has expired or did not come from this page"),
        ({"Origin": "https://evil.example"}, "the request came from another site"),
        ({"Origin": "null"}, "the request came from a page without an origin"),
        ({"Sec-Fetch-Site": "cross-site"}, "the browser says the request came from a cross-site"),
        ({"Sec-Fetch-Site": "same-site"}, "the browser says the request came from a same-site"),
        ({"Origin": "", "Referer": "http://evil.example/page"}, "came from another site"),
        ({"Content-Type": "text/plain"}, "the request is not a form of this page"),
    ],
)
def test_forged_requests_are_refused_and_change_nothing(
    admin: httpx.Client, jobs: Jobs, db: Database, change: dict[str, str], reason: str
) -> None:
    token = form_token(admin, jobs.hresult_pending)
    if change.get("token") == "other-password":
        token = security.make_token(ADMIN[0], "another password")
    elif change.get("token") == "expired":
        token = security.make_token(*ADMIN, now=time.time() - security.TOKEN_SECONDS - 1)
        admin.cookies.set(security.COOKIE, token, path="/admin")
    elif "token" in change:
        token = change["token"]
    if change.get("cookie") == "missing":
        admin.cookies.clear()
    headers = {k: v for k, v in change.items() if k[0].isupper()}
    path = f"/admin/jobs/{jobs.hresult_pending}/cancel"
    if headers.get("Content-Type") == "text/plain":
        response = admin.post(path, content=f"csrf={token}", headers=headers)
    else:
        response = post(admin, path, token, **headers)
    assert response.status_code == 403
    alert = doc(response.text).xpath('//p[@role="alert"]')[0].text_content()
    assert alert.startswith("Nothing was done: ")
    assert reason in alert
    assert status_of(db, jobs.hresult_pending) == "pending"


def test_actions_are_post_only(admin: httpx.Client, jobs: Jobs, db: Database) -> None:
    response = admin.get(f"/admin/jobs/{jobs.hresult_pending}/cancel")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert admin.post("/admin", data={"x": "1"}).status_code == 405
    assert status_of(db, jobs.hresult_pending) == "pending"


def test_the_cookie_is_strict_same_site_and_http_only(admin: httpx.Client, jobs: Jobs) -> None:
    page = admin.get(f"/admin/jobs/{jobs.vendor_failed}")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{security.COOKIE}=")
    assert "; Path=/admin;" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_an_oversized_form_is_refused(admin: httpx.Client, jobs: Jobs, db: Database) -> None:
    token = form_token(admin, jobs.hresult_pending)
    response = admin.post(
        f"/admin/jobs/{jobs.hresult_pending}/cancel",
        data={"csrf": token, "padding": "x" * 10_000},
    )
    assert response.status_code == 403
    assert status_of(db, jobs.hresult_pending) == "pending"
