"""Settings: from the environment and .env, checked at start-up, errors naming the variable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from service.settings import Settings, SettingsError, TransferMode, load_settings


def test_defaults_are_those_of_the_contract(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.database_url == "sqlite:///atqb.db"
    assert settings.transfer_mode is TransferMode.RECEIVED
    assert settings.transfer_selection == "all"
    assert settings.income_account == "Autotask Income from PO"
    assert settings.cogs_account == "Cost of Goods Sold"
    assert settings.asset_account == "Inventory Asset"
    assert settings.adjustment_account == "Inventory Adjustment"
    assert settings.poll_interval == 300
    assert settings.write_back_po_number is True
    assert settings.admin_user is None
    assert settings.admin_password is None
    assert settings.transfer_since is None
    assert settings.timezone is None


def test_environment_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, dotenv_dir: Path) -> None:
    (dotenv_dir / ".env").write_text("ATQB_TRANSFER_MODE=unreceived\nATQB_POLL_INTERVAL=60\n")
    monkeypatch.setenv("ATQB_POLL_INTERVAL", "120")  # the environment wins over .env
    settings = load_settings()
    assert settings.transfer_mode is TransferMode.UNRECEIVED
    assert settings.poll_interval == 120


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "ATQB_TRANSFER_MODE",
            "sometimes",
            "ATQB_TRANSFER_MODE (got 'sometimes'): must be one of 'received' or 'unreceived'",
        ),
        (
            "ATQB_TRANSFER_SELECTION",
            "ALL!",
            "ATQB_TRANSFER_SELECTION (got 'ALL!'): must be one of 'all' or 'manual'",
        ),
        ("ATQB_POLL_INTERVAL", "-5", "ATQB_POLL_INTERVAL (got '-5'): Input should be greater"),
        ("ATQB_POLL_INTERVAL", "often", "ATQB_POLL_INTERVAL (got 'often')"),
        ("ATQB_WRITE_BACK_PO_NUMBER", "maybe", "ATQB_WRITE_BACK_PO_NUMBER (got 'maybe')"),
        ("ATQB_REACTIVATE_INACTIVE", "perhaps", "ATQB_REACTIVATE_INACTIVE (got 'perhaps')"),
        (
            "ATQB_DATABASE_URL",
            "mysql://x/y",
            "ATQB_DATABASE_URL (got 'mysql://x/y'): Value error, must be a SQLAlchemy URL",
        ),
        (
            "ATQB_AUTOTASK_BASE_URL",
            "ftp://x",
            "ATQB_AUTOTASK_BASE_URL (got 'ftp://x'): Value error, must be an http(s) URL",
        ),
        ("ATQB_BATCH_SIZE", "0", "ATQB_BATCH_SIZE (got '0')"),
        (
            "ATQB_TRUSTED_PROXY",
            "caddy",
            "ATQB_TRUSTED_PROXY (got 'caddy'): Value error, must be the IP address of the proxy",
        ),
        ("ATQB_TRUSTED_PROXY", "10.0.0.0/8", "ATQB_TRUSTED_PROXY (got '10.0.0.0/8')"),
        (
            "ATQB_TRANSFER_SINCE",
            "31/01/2024",
            "ATQB_TRANSFER_SINCE (got '31/01/2024'): Value error, must be a date written "
            "YYYY-MM-DD",
        ),
        ("ATQB_TRANSFER_SINCE", "2024-02-30", "must be a date written YYYY-MM-DD"),
        (
            "ATQB_TIMEZONE",
            "Central Standard Time",
            "ATQB_TIMEZONE (got 'Central Standard Time'): Value error, must be an IANA time "
            "zone name",
        ),
        ("ATQB_TIMEZONE", "../../etc/passwd", "must be an IANA time zone name"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert expected in str(error.value)
    assert str(error.value).startswith("invalid setting: ")


def test_every_bad_variable_is_reported_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_TRANSFER_MODE", "x")
    monkeypatch.setenv("ATQB_POLL_INTERVAL", "0")
    with pytest.raises(SettingsError, match=r"ATQB_TRANSFER_MODE.*ATQB_POLL_INTERVAL"):
        load_settings()


def test_plain_postgresql_url_means_psycopg3_and_secrets_are_not_shown() -> None:
    settings = Settings(
        database_url="postgresql://atqb:pw@db/atqb",
        autotask_secret="hunter2",  # type: ignore[arg-type]
        admin_password="s3cret",  # type: ignore[arg-type]
    )
    assert settings.database_url == "postgresql+psycopg://atqb:pw@db/atqb"
    assert "hunter2" not in repr(settings)
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", None), (" 172.18.0.5 ", "172.18.0.5"), ("*", "*"), ("2001:DB8:0::1", "2001:db8::1")],
)
def test_the_trusted_proxy_is_none_any_peer_or_an_address_written_as_waitress_sees_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, expected: str | None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_TRUSTED_PROXY", value)
    assert load_settings().trusted_proxy == expected


def test_transfer_since_is_a_date_and_the_time_zone_an_iana_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATQB_TRANSFER_SINCE", "2024-01-31")
    monkeypatch.setenv("ATQB_TIMEZONE", "America/Chicago")
    settings = load_settings()
    assert settings.transfer_since == date(2024, 1, 31)
    # 02:30 UTC on 1 February is the evening of 31 January in Chicago.
    assert settings.calendar_date(datetime(2024, 2, 1, 2, 30, tzinfo=UTC)) == date(2024, 1, 31)
    monkeypatch.setenv("ATQB_TRANSFER_SINCE", " ")
    monkeypatch.setenv("ATQB_TIMEZONE", "")
    settings = load_settings()
    assert settings.transfer_since is None
    assert settings.zone() is None
