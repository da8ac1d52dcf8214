"""The .qwc file: what the Web Connector checks when an administrator adds it (qbwc.md 7 and 8)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from lxml import etree

from service.webconnector.qwc_file import QwcError, check_app_url, default_support_url, render_qwc
from service.xmlsafe import parse_text
from tests.conftest import REFERENCE

REPO = Path(__file__).resolve().parents[1]
REFERENCE_QWC = REFERENCE / "qbwc"

OWNER = uuid.UUID("11111111-1111-4111-8111-111111111111")
FILE = uuid.UUID("22222222-2222-4222-8222-22222222222a")
URL = "https://atqb.example.com/qbwc"

# Table 4-1 of the Guide, the elements marked required (reference/qbwc.md 8).
REQUIRED = (
    "AppName",
    "AppID",
    "AppURL",
    "AppDescription",
    "AppSupport",
    "UserName",
    "OwnerID",
    "FileID",
    "QBType",
)


def render(**overrides: object) -> str:
    args: dict[str, object] = {
        "user_name": "acme",
        "app_url": URL,
        "owner_id": OWNER,
        "file_id": FILE,
    }
    args.update(overrides)
    return render_qwc(**args)  # type: ignore[arg-type]


def parsed(**overrides: object) -> etree._Element:
    return parse_text(render(**overrides))


def text(root: etree._Element, path: str) -> str:
    found = root.findall(path)
    assert len(found) == 1, f"{path} appears {len(found)} times"
    return found[0].text or ""


def test_output_is_a_qbwcxml_document_with_every_required_element() -> None:
    root = parsed()
    assert root.tag == "QBWCXML"
    for tag in REQUIRED:
        assert text(root, tag), f"{tag} is empty"
    assert text(root, "AppName") == "atqb"
    assert text(root, "AppURL") == URL
    assert text(root, "UserName") == "acme"
    assert text(root, "QBType") == "QBFS"
    assert text(root, "IsReadOnly") == "false"
    assert len(text(root, "AppDescription")) <= 80


@pytest.mark.parametrize("name", ["example.qwc", "example.consolibyte.qwc"])
def test_has_every_element_the_real_files_have_except_optional_defaults(name: str) -> None:
    real = parse_text((REFERENCE_QWC / name).read_text(encoding="utf-8"))
    ours = parsed()
    # Style Document and AuthFlags 0x0 (every edition) are the defaults when absent.
    wanted = {el.tag for el in real.iter() if isinstance(el.tag, str)} - {"Style", "AuthFlags"}
    assert wanted <= {el.tag for el in ours.iter()}


def test_declaration_names_no_encoding_and_the_text_is_ascii() -> None:
    # ASCII with no declared encoding stays valid however Windows saves it.
    out = render(user_name="Zoë Ops")
    assert out.startswith('<?xml version="1.0"?>\n<QBWCXML>')
    assert out.isascii()
    assert text(parse_text(out), "UserName") == "Zoë Ops"


def test_guids_are_upper_case_in_braces() -> None:
    root = parsed()
    assert text(root, "OwnerID") == "{11111111-1111-4111-8111-111111111111}"
    assert text(root, "FileID") == "{22222222-2222-4222-8222-22222222222A}"


@pytest.mark.parametrize("name", ["A&B <Ops>", "x]]>y", "quote\"'s"])
def test_user_names_with_markup_characters_are_escaped(name: str) -> None:
    out = render(user_name=name)
    assert text(parse_text(out), "UserName") == name
    assert text(parse_text(out), "AppDisplayName") == f"atqb ({name})"


@pytest.mark.parametrize("name", ["", "   ", " acme", "acme\n", "ac\x00me", "ac\x1bme"])
def test_unusable_user_names_are_refused(name: str) -> None:
    with pytest.raises(QwcError, match="user name"):
        render(user_name=name)


def test_https_url_with_a_host_name_is_accepted() -> None:
    check_app_url("https://atqb.example.com/qbwc")
    check_app_url("https://atqb.example.com:8443/qbwc")
    check_app_url("https://ATQB.Example.com/qbwc?wsdl")
    check_app_url("https://0xface.be/qbwc")
    check_app_url("https://7eleven.example/qbwc")


@pytest.mark.parametrize(
    "url", ["http://localhost/qbwc", "http://localhost:8080/qbwc", "https://localhost/qbwc"]
)
def test_localhost_may_use_plain_http(url: str) -> None:
    check_app_url(url)
    assert text(parsed(app_url=url), "AppURL") == url


@pytest.mark.parametrize(
    "url", ["http://atqb.example.com/qbwc", "HTTP://atqb.example.com/qbwc", "http://intranet/qbwc"]
)
def test_plain_http_is_refused_away_from_localhost_and_says_why(url: str) -> None:
    with pytest.raises(QwcError) as caught:
        check_app_url(url)
    message = str(caught.value)
    assert "https" in message
    assert "localhost" in message
    assert "QBWC1010" in message
    assert "QBWC1051" in message


def test_plain_http_to_127_0_0_1_is_refused_with_the_name_that_works() -> None:
    with pytest.raises(QwcError, match="http://localhost"):
        check_app_url("http://127.0.0.1:8080/qbwc")


@pytest.mark.parametrize(
    "url",
    [
        "https://192.168.1.10/qbwc",
        "https://192.168.1.10:8443/qbwc",
        "https://[2001:db8::1]/qbwc",
        "https://[::1]/qbwc",
        "https://10.1/qbwc",
        "https://2130706433/qbwc",
        "https://0x7f.1/qbwc",
        "https://192.168.1.10./qbwc",
    ],
)
def test_ip_address_hosts_are_refused(url: str) -> None:
    with pytest.raises(QwcError, match=r"IP address.*QBWC1001.*DNS name"):
        check_app_url(url)


def test_loopback_ip_is_allowed_with_https() -> None:
    check_app_url("https://127.0.0.1/qbwc")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "atqb.example.com/qbwc",
        "/qbwc",
        "ftp://atqb.example.com/qbwc",
        "https:///qbwc",
        "https:/atqb.example.com/qbwc",
        "file:///C:/qbwc",
    ],
)
def test_urls_that_are_not_absolute_https_are_refused(url: str) -> None:
    with pytest.raises(QwcError, match=re.escape(URL)):
        check_app_url(url)


def test_credentials_in_the_url_are_refused_without_repeating_the_password() -> None:
    with pytest.raises(QwcError, match="user name or password") as caught:
        check_app_url("https://admin:s3cret@atqb.example.com/qbwc")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(QwcError, match="user name or password"):
        check_app_url("https://admin@atqb.example.com/qbwc")


@pytest.mark.parametrize(
    "url", ["https://atqb.example.com:99999/qbwc", "https://atqb.example.com:80a/qbwc"]
)
def test_bad_ports_are_refused(url: str) -> None:
    with pytest.raises(QwcError, match="not a valid URL"):
        check_app_url(url)


@pytest.mark.parametrize(
    "url", [" https://atqb.example.com/qbwc", "https://atqb.example.com/q bwc"]
)
def test_spaces_are_refused(url: str) -> None:
    with pytest.raises(QwcError, match="spaces"):
        check_app_url(url)


def test_render_checks_the_app_url_too() -> None:
    with pytest.raises(QwcError, match="QBWC1010"):
        render(app_url="http://atqb.example.com/qbwc")


def test_qwc_error_is_a_value_error() -> None:
    assert issubclass(QwcError, ValueError)


@pytest.mark.parametrize(
    ("app_url", "support"),
    [
        (URL, "https://atqb.example.com/support"),
        ("https://atqb.example.com:8443/qbwc", "https://atqb.example.com:8443/support"),
        ("https://example.com/atqb/qbwc", "https://example.com/atqb/support"),
        ("https://atqb.example.com/qbwc/", "https://atqb.example.com/support"),
        ("https://atqb.example.com/qbwc?wsdl", "https://atqb.example.com/support"),
        ("http://localhost:8080/qbwc", "http://localhost:8080/support"),
    ],
)
def test_support_url_defaults_to_support_beside_the_endpoint(app_url: str, support: str) -> None:
    assert default_support_url(app_url) == support
    assert text(parsed(app_url=app_url), "AppSupport") == support


def test_explicit_support_url_on_the_same_host_is_used() -> None:
    root = parsed(support_url="https://ATQB.example.com/help/atqb")
    assert text(root, "AppSupport") == "https://ATQB.example.com/help/atqb"


def test_support_url_on_another_host_is_refused() -> None:
    with pytest.raises(QwcError, match=r"same domain.*QBWC1000"):
        render(support_url="https://www.example.com/support")


def test_support_url_follows_the_url_rules() -> None:
    with pytest.raises(QwcError, match=r"AppSupport.*QBWC1002"):
        render(app_url="https://127.0.0.1/qbwc", support_url="https://10.0.0.1/support")
    with pytest.raises(QwcError, match=r"AppSupport.*QBWC1010"):
        render(support_url="http://atqb.example.com/support")


def test_run_every_n_minutes_is_written_in_a_scheduler() -> None:
    assert text(parsed(), "Scheduler/RunEveryNMinutes") == "15"
    assert text(parsed(run_every_minutes=1), "Scheduler/RunEveryNMinutes") == "1"
    assert parsed().find("Scheduler/RunEveryNSeconds") is None


@pytest.mark.parametrize("minutes", [0, -5])
def test_interval_below_one_minute_is_refused(minutes: int) -> None:
    with pytest.raises(QwcError, match="at least 1 minute"):
        render(run_every_minutes=minutes)


def test_description_longer_than_80_characters_is_refused() -> None:
    assert text(parsed(description="x" * 80), "AppDescription") == "x" * 80
    with pytest.raises(QwcError, match="81 characters"):
        render(description="x" * 81)


def test_ids_must_be_uuids() -> None:
    with pytest.raises(TypeError, match="owner id"):
        render(owner_id=str(OWNER))


@pytest.mark.parametrize(
    "owner", ["57F3B9B1-86F1-4fcc-B1EE-566DE1813D20", "00000000-0000-0000-0000-000000000000"]
)
def test_well_known_example_owner_ids_are_refused(owner: str) -> None:
    with pytest.raises(QwcError, match="own random OwnerID"):
        render(owner_id=uuid.UUID(owner))


def test_unattended_preferences_let_quickbooks_run_closed() -> None:
    root = parsed()
    assert text(root, "UnattendedModePref") == "umpOptional"
    assert text(root, "PersonalDataPref") == "pdpNotNeeded"


def test_each_user_has_its_own_web_connector_row() -> None:
    first = parsed(user_name="acme", file_id=FILE)
    again = parsed(user_name="acme", file_id=FILE)
    other = parsed(user_name="globex", file_id=uuid.UUID(int=FILE.int + 1))
    assert text(first, "AppUniqueName") == text(again, "AppUniqueName")
    assert text(first, "AppUniqueName") != text(other, "AppUniqueName")
    assert text(first, "AppDisplayName") == "atqb (acme)"


def test_qwc_example_file_is_what_render_qwc_produces() -> None:
    example = (REPO / "qwc" / "example.qwc").read_text(encoding="utf-8")
    assert example == render(user_name="example-user")
