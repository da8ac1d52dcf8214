"""/admin in a real headless Chromium: sign-in, counts, filters, a job, retry, cancel, CSRF.

Debian's ``chromium`` and ``chromium-driver`` packages (``scripts/test`` installs them) are
driven by selenium; the browser never reaches the network (there is none here), which the
flags below take into account.
"""

from __future__ import annotations

import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait

from service.clock import utcnow
from service.db import Database
from service.jobstore import JobStore
from tests.admin.helpers import ADMIN, Jobs
from tests.admin.png import read_png

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,900",
)
#: The header bar's colour in the stylesheet (#1d2b45): seen only if the CSP let the CSS in.
HEADER_RGB = (0x1D, 0x2B, 0x45)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the module, with a fresh profile."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        message = "needs Debian's chromium and chromium-driver (scripts/test installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def signed_in(browser: WebDriver, site: str) -> str:
    """The browser signed in to /admin (credentials in the URL once; Chromium keeps them)."""
    parts = urlsplit(site)
    browser.get(f"http://{ADMIN[0]}:{quote(ADMIN[1])}@{parts.netloc}/admin")
    assert browser.title == "Jobs · atqb admin"
    return site


def text_of(browser: WebDriver, element_id: str) -> str:
    return browser.find_element(By.ID, element_id).text


def status_of(db: Database, job_id: int) -> str:
    with db.transaction() as conn:
        return JobStore(conn, utcnow()).get(job_id).status


@pytest.mark.usefixtures("jobs")
def test_admin_needs_credentials_in_the_browser(browser: WebDriver, site: str) -> None:
    browser.get(site + "/admin")
    assert "atqb admin" not in browser.title
    assert not browser.find_elements(By.ID, "counts")
    assert "Acme" not in browser.page_source


@pytest.mark.usefixtures("jobs", "signed_in")
def test_main_page_shows_the_counts_and_looks_right(browser: WebDriver, tmp_path: Path) -> None:
    cards = {
        card.get_attribute("data-status"): int(card.find_element(By.CLASS_NAME, "n").text)
        for card in browser.find_elements(By.CSS_SELECTOR, "#counts a.card")
    }
    assert cards == {
        "pending": 3, "waiting": 0, "in_flight": 0, "done": 1, "failed": 3, "cancelled": 1,
    }  # fmt: skip
    vendor_row = browser.find_element(By.CSS_SELECTOR, '#by-kind tr[data-kind="vendor_add"]')
    assert vendor_row.text.split() == ["vendor_add", "0", "0", "0", "0", "1", "0", "1"]
    assert "No poll cycles recorded yet." in text_of(browser, "no-poll-cycles")

    shot = tmp_path / "admin.png"
    assert browser.save_screenshot(str(shot))
    keep = os.environ.get("SCREENSHOT_DIR")
    if keep:
        shutil.copy(shot, Path(keep) / "admin-main.png")
    data = shot.read_bytes()
    assert len(data) > 20_000, "a page of tables and text compresses to more than this"
    image = read_png(data, max_rows=420)
    viewport = browser.execute_script("return [window.innerWidth, window.innerHeight]")
    assert [image.width, image.height] == viewport
    colours: dict[tuple[int, int, int], int] = {}
    for row in image.rows:
        for pixel in row:
            colours[pixel] = colours.get(pixel, 0) + 1
    total = sum(colours.values())
    assert len(colours) > 50, "not blank: text and coloured cards give many colours"
    assert max(colours.values()) < 0.9 * total, "no single colour covers the page"
    assert image.pixel(image.width - 5, 5) == HEADER_RGB, "the stylesheet was applied"
    dark = sum(n for (r, g, b), n in colours.items() if r + g + b < 200)
    assert dark > 0.01 * total, "there is dark text to read"


def click_and_load(browser: WebDriver, element: WebElement) -> None:
    """Click something that loads a new page, and wait until the old page is gone (click()
    does not wait for the navigation a form's submit or a link starts)."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 15).until(lambda _driver: _is_gone(page))


def _is_gone(element: WebElement) -> bool:
    """Whether ``element``'s page has been replaced. Chromium reports a node of a page it is
    leaving either as stale or, in the middle of the navigation, as "does not belong to the
    document" (an unknown error, not StaleElementReferenceException); both mean gone."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in (exc.msg or ""):
            return True
        raise
    return False


# jobs before signed_in: the page signed in on must already list them
@pytest.mark.usefixtures("jobs", "signed_in")
def test_filters_in_the_browser(browser: WebDriver, jobs: Jobs) -> None:
    Select(browser.find_element(By.NAME, "status")).select_by_value("failed")
    browser.find_element(By.NAME, "vendor").send_keys("acme supply")
    click_and_load(
        browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]")
    )
    assert "status=failed" in browser.current_url
    shown = [
        int(row.get_attribute("data-job") or 0)
        for row in browser.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job]")
    ]
    assert shown == [jobs.receipt_failed_by_po, jobs.po_failed_by_vendor, jobs.vendor_failed]
    browser.find_element(By.NAME, "po").send_keys("12345")
    Select(browser.find_element(By.NAME, "status")).select_by_value("")
    browser.find_element(By.NAME, "vendor").clear()
    click_and_load(
        browser, browser.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]")
    )
    rows = browser.find_elements(By.CSS_SELECTOR, "#jobs tr[data-job]")
    assert [row.get_attribute("data-job") for row in rows] == [str(jobs.other_po)]


# jobs before signed_in: the page signed in on must already list them
@pytest.mark.usefixtures("jobs", "signed_in")
def test_job_detail_in_the_browser(browser: WebDriver, jobs: Jobs) -> None:
    click_and_load(browser, browser.find_element(By.LINK_TEXT, f"#{jobs.vendor_failed}"))
    assert browser.title == f"Job #{jobs.vendor_failed} · atqb admin"
    assert "QuickBooks 3100 (Error)" in text_of(browser, "job-error")
    needed_by = browser.find_elements(By.CSS_SELECTOR, "#dependents tr[data-job]")
    assert [row.get_attribute("data-job") for row in needed_by] == [str(jobs.po_failed_by_vendor)]
    section = browser.find_element(By.CSS_SELECTOR, "#transmissions section.tx")
    assert "QuickBooks status 3100 (Error)" in section.find_element(By.CLASS_NAME, "verdict").text
    assert "What to do:" in section.find_element(By.CLASS_NAME, "plain").text
    request = section.find_elements(By.TAG_NAME, "details")[0]
    assert not request.find_element(By.TAG_NAME, "pre").is_displayed()
    request.find_element(By.TAG_NAME, "summary").click()
    lines = request.find_element(By.TAG_NAME, "pre").text.splitlines()
    assert lines[1:3] == ["<QBXML>", '  <QBXMLMsgsRq onError="continueOnError">']


def _press(browser: WebDriver, button_id: str) -> str:
    """Click a form's button and wait for the page it leads to; return that page's notice."""
    click_and_load(browser, browser.find_element(By.ID, button_id))
    return browser.find_element(By.CSS_SELECTOR, "p.notice").text


def test_retry_and_cancel_through_the_buttons(
    browser: WebDriver, jobs: Jobs, signed_in: str, db: Database
) -> None:
    browser.get(f"{signed_in}/admin/jobs/{jobs.po_failed_by_vendor}")
    notice = _press(browser, "retry")
    assert notice.startswith("Retried:")
    assert notice.endswith("is now waiting.")
    assert status_of(db, jobs.vendor_failed) == "pending"  # the prerequisite that failed it
    assert status_of(db, jobs.po_failed_by_vendor) == "waiting"

    browser.get(f"{signed_in}/admin/jobs/{jobs.hresult_pending}")
    assert _press(browser, "cancel").endswith("is now cancelled.")
    assert not browser.find_elements(By.ID, "cancel")
    assert status_of(db, jobs.hresult_pending) == "cancelled"


class _AttackerPage(http.server.BaseHTTPRequestHandler):
    """Serves one page that posts a form to atqb as soon as it loads."""

    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(self.page)))
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("attacker_host", ["localhost", "127.0.0.1"])
def test_a_form_posted_from_another_site_is_refused(
    browser: WebDriver, jobs: Jobs, signed_in: str, db: Database, attacker_host: str
) -> None:
    # Even a token that leaked (here: read by the test itself) is not enough.
    page = httpx.get(f"{signed_in}/admin/jobs/{jobs.hresult_pending}", auth=ADMIN).text
    token = page.split('name="csrf" value="')[1].split('"')[0]
    target = f"{signed_in}/admin/jobs/{jobs.hresult_pending}/cancel"
    _AttackerPage.page = (
        f'<!doctype html><form method="post" action="{target}">'
        f'<input type="hidden" name="csrf" value="{token}"></form>'
        "<script>document.forms[0].submit()</script>"
    ).encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AttackerPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # localhost vs 127.0.0.1 is another site; another port of 127.0.0.1 is the same site
        # but another origin. Both are refused.
        browser.get(f"http://{attacker_host}:{server.server_address[1]}/")
        WebDriverWait(browser, 15).until(lambda b: b.title == "Request refused · atqb admin")
    finally:
        server.shutdown()
        server.server_close()
    assert browser.find_element(By.CSS_SELECTOR, "p.problem").text.startswith("Nothing was done: ")
    assert status_of(db, jobs.hresult_pending) == "pending"
