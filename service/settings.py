"""Settings: environment variables prefixed ``ATQB_``, and a ``.env`` file in the working directory.

Every setting is validated when the program starts; a bad value raises :class:`SettingsError`,
whose message names the variable and says what is allowed.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENV_PREFIX = "ATQB_"


class TransferMode(StrEnum):
    """How purchase orders enter QuickBooks."""

    RECEIVED = "received"
    UNRECEIVED = "unreceived"


class TransferSelection(StrEnum):
    """Which purchase orders are transferred."""

    ALL = "all"
    MANUAL = "manual"


class SettingsError(Exception):
    """A setting has a value the program cannot use."""


PositiveSeconds = Annotated[int, Field(gt=0)]


class Settings(BaseSettings):
    """Everything an operator can configure. See CONTRACT.md for the meaning of each field."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    database_url: str = "sqlite:///atqb.db"

    autotask_username: str | None = None
    autotask_secret: SecretStr | None = None
    autotask_integration_code: SecretStr | None = None
    autotask_base_url: str | None = None
    autotask_zone_url: str = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"

    transfer_mode: TransferMode = TransferMode.RECEIVED
    transfer_selection: TransferSelection = TransferSelection.ALL

    income_account: str = "Autotask Income from PO"
    cogs_account: str = "Cost of Goods Sold"
    asset_account: str = "Inventory Asset"
    adjustment_account: str = "Inventory Adjustment"

    poll_interval: PositiveSeconds = 300
    write_back_po_number: bool = True
    #: A matched inactive QuickBooks vendor, customer or item: made active (True) or the job fails.
    reactivate_inactive: bool = False
    #: The Web Connector user (company file) the poller's jobs are for; None: the only user.
    qbwc_user: str | None = None
    #: Only POs submitted (created, when never submitted) on or after this date are transferred
    #: automatically. None: the date of the database's first poll cycle, recorded then.
    transfer_since: date | None = None
    #: IANA zone of the company's calendar dates (PO, receipt, adjustment, the cutoff).
    #: None: the machine's zone.
    timezone: str | None = None

    admin_user: str | None = None
    admin_password: SecretStr | None = None

    # Beyond CONTRACT.md: tuning an operator rarely needs; the defaults are safe.
    #: qbXML requests in one Web Connector round trip.
    batch_size: Annotated[int, Field(ge=1, le=500)] = 50
    #: How long a job handed to a Web Connector session stays that session's without an answer.
    lease_seconds: PositiveSeconds = 1200
    #: A Web Connector session that makes no call for this long has ended.
    session_idle_seconds: PositiveSeconds = 1800
    #: Largest SOAP request body accepted (QuickBooks answers to big queries run to megabytes).
    max_body_bytes: Annotated[int, Field(ge=1024)] = 64 * 1024 * 1024
    #: Seconds a client has to send one whole request (headers and body) before its connection
    #: is dropped; unlike waitress' idle timeout, a byte now and then does not extend it.
    request_deadline: PositiveSeconds = 60
    #: Connections ``atqb serve`` holds open at once; more wait unaccepted. Windows' select()
    #: handles at most 512 sockets, so keep it below that there.
    connection_limit: Annotated[int, Field(ge=10, le=10000)] = 500
    #: The proxy whose X-Forwarded-For/-Proto/-Host are believed: its IP address, or ``*`` for
    #: any peer (safe only where nothing but the proxy reaches the port). None: no proxy, the
    #: client's address is the TCP peer's.
    trusted_proxy: str | None = None
    #: Prune history older than this many days automatically (``atqb serve`` does it hourly, as
    #: ``atqb db prune --older-than`` would); None: never automatically (service/retention.py).
    prune_after_days: Annotated[int, Field(ge=1)] | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql")):
            raise ValueError(
                "must be a SQLAlchemy URL for SQLite (sqlite:///atqb.db) or PostgreSQL "
                "(postgresql+psycopg://user:password@host/database)"
            )
        try:
            make_url(value)
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a valid URL (a port must be a number; characters such as @ : / in the "
                "password must be %-encoded)"
            ) from None
        if value.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver this package installs; the bare scheme means psycopg2.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    @field_validator("autotask_base_url", "autotask_zone_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("transfer_since", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        if not value.strip():
            return None
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                "must be a date written YYYY-MM-DD (such as 2026-01-01), or empty for the date "
                "of the first poll cycle"
            ) from None

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "must be an IANA time zone name such as America/Chicago or Europe/Berlin "
                "(or empty for the machine's zone)"
            ) from None
        return value

    def zone(self) -> tzinfo | None:
        """The company's time zone (``ATQB_TIMEZONE``); None: the machine's."""
        return ZoneInfo(self.timezone) if self.timezone else None

    def calendar_date(self, moment: datetime) -> date:
        """The company's calendar date of ``moment`` (an aware date-time)."""
        return moment.astimezone(self.zone()).date()

    @field_validator("prune_after_days", mode="before")
    @classmethod
    def _empty_is_off(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxy")
    @classmethod
    def _proxy_address(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        if not value:
            return None
        if value == "*":
            return value
        try:
            # waitress compares the text with the peer's address: write it as the socket does.
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(
                "must be the IP address of the proxy in front of atqb (such as 127.0.0.1; "
                "host names are not looked up), * to trust any peer (only where nothing but "
                "the proxy reaches atqb's port), or empty to trust no proxy"
            ) from None


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)\S*@")


def _without_password(text: str) -> str:
    """``text`` with the password of any URL in it replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error.get("loc", ())) or "?"
    variable = ENV_PREFIX + field.upper()
    value = error.get("input")
    shown = "" if isinstance(value, dict) else f" (got {_without_password(repr(value))})"
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "enum":
        allowed = error.get("ctx", {}).get("expected", "")
        message = f"must be one of {allowed}"
    return f"{variable}{shown}: {message}"


def load_settings(**overrides: Any) -> Settings:
    """Read and validate the settings; raise :class:`SettingsError` naming every bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(_describe(dict(e)) for e in exc.errors())
        raise SettingsError(f"invalid setting: {problems}") from None
