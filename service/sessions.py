"""Web Connector users and sessions.

Passwords are hashed with Argon2id (memory-hard). A session is identified by a random ticket of
256 bits; the database keeps only its SHA-256, bound to the user and company file, with an idle
expiry. Everything lives in the database so several service processes can serve one session.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Select,
    Update,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from service.models import installation, wc_sessions, wc_users

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verified against when the user name is unknown, so a wrong name costs as much time as a
    # wrong password and response times do not reveal which user names exist.
    return _hasher.hash(secrets.token_hex(16))


MAX_USER_NAME = 128


class UserError(ValueError):
    """A user cannot be added or changed as asked."""


@dataclass(frozen=True)
class User:
    """A Web Connector user."""

    id: int
    name: str
    company_file: str
    file_id: str
    password_hash: str

    @classmethod
    def from_row(cls, row: RowMapping) -> User:
        """Build from a row of ``wc_users``."""
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Session:
    """A Web Connector session, as stored."""

    id: int
    user_id: int
    user_name: str
    company_file: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    last_error: str | None
    work_at_start: int
    finished: int
    round_trips: int
    has_hcp_response: bool


def hash_ticket(ticket: str) -> str:
    """The form a ticket is stored and looked up in."""
    return hashlib.sha256(ticket.encode("utf-8", "surrogatepass")).hexdigest()


def short_ticket(ticket: str) -> str:
    """A ticket shortened for logs: enough to tell sessions apart, useless to an attacker."""
    return ticket[:6] + "…" if ticket else "-"


def verify_password(user: User | None, password: str) -> bool:
    """Whether ``password`` is the user's; as slow for an unknown user (None) as for a known one.

    Call it outside a database transaction: the hash check is deliberately expensive.
    """
    try:
        return bool(_hasher.verify(user.password_hash if user else _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False


# Statements of the round trip, built once (by the columns they change): SQLAlchemy's work of
# building a statement and computing its cache key then happens once, not on every call.
_NOW = bindparam("p_now", type_=wc_sessions.c.last_seen_at.type)


@cache
def _by_ticket() -> Select[Any]:
    return (
        select(wc_sessions, wc_users.c.name.label("user_name"))
        .join(wc_users, wc_users.c.id == wc_sessions.c.user_id)
        .where(wc_sessions.c.ticket_hash == bindparam("p_ticket_hash"))
    )


@cache
def _find_statement() -> Select[Any]:
    # The session's row stays locked until the call's transaction ends: two calls on one
    # ticket at once take turns (PostgreSQL; SQLite runs one writer at a time anyway).
    return _by_ticket().with_for_update(of=wc_sessions)


def _touching(keys: tuple[str, ...]) -> dict[str, Any]:
    """The SET clause of a touch: activity now, expiry extended, and the columns ``keys``."""
    return {
        "last_seen_at": _NOW,
        "expires_at": bindparam("p_expires", type_=wc_sessions.c.expires_at.type),
        **{key: bindparam(f"p_{key}", type_=wc_sessions.c[key].type) for key in keys},
    }


@cache
def _find_and_touch_statement(keys: tuple[str, ...]) -> Update:
    user_name = select(wc_users.c.name).where(wc_users.c.id == wc_sessions.c.user_id)
    return (
        update(wc_sessions)
        .where(
            wc_sessions.c.ticket_hash == bindparam("p_ticket_hash"),
            wc_sessions.c.ended_at.is_(None),
            wc_sessions.c.expires_at > _NOW,
        )
        .values(_touching(keys))
        .returning(*wc_sessions.c, user_name.scalar_subquery().label("user_name"))
    )


@cache
def _touch_statement(keys: tuple[str, ...], reading: tuple[ColumnElement[Any], ...]) -> Update:
    statement = (
        update(wc_sessions)
        .where(wc_sessions.c.id == bindparam("p_session_id"))
        .values(_touching(keys))
    )
    return statement.returning(*reading) if reading else statement


def format_guid(value: uuid.UUID) -> str:
    """A GUID the way the Web Connector writes them: upper case, in braces."""
    return "{" + str(value).upper() + "}"


class Sessions:
    """Users and sessions, inside the transaction of ``connection`` at the instant ``now``."""

    def __init__(self, connection: Connection, now: datetime) -> None:
        self.conn = connection
        self.now = now

    # -- users -----------------------------------------------------------------------------

    def add_user(self, name: str, password: str, company_file: str) -> User:
        """Create a Web Connector user; :class:`UserError` when the name is taken or unusable."""
        name = name.strip()
        if not name or len(name) > MAX_USER_NAME or any(ord(c) < 32 for c in name):
            raise UserError(
                f"user name must be 1 to {MAX_USER_NAME} printable characters, got {name!r}"
            )
        if not password:
            raise UserError("the password must not be empty")
        if self.find_user(name) is not None:
            raise UserError(f"user {name!r} already exists")
        self.conn.execute(
            insert(wc_users).values(
                name=name,
                password_hash=_hasher.hash(password),
                company_file=company_file,
                file_id=format_guid(uuid.uuid4()),
                created_at=self.now,
            )
        )
        user = self.find_user(name)
        assert user is not None
        return user

    def set_password(self, name: str, password: str) -> User:
        """Give user ``name`` a new password; :class:`UserError` when unknown or empty."""
        if not password:
            raise UserError("the password must not be empty")
        self.existing_user(name)
        self.conn.execute(
            update(wc_users)
            .where(wc_users.c.name == name)
            .values(password_hash=_hasher.hash(password))
        )
        user = self.find_user(name)
        assert user is not None
        return user

    def existing_user(self, name: str) -> User:
        """The user with this name; :class:`UserError` naming the way to list users when none."""
        user = self.find_user(name)
        if user is None:
            raise UserError(
                f"no Web Connector user {name!r} (`atqb users list` shows the users there are)"
            )
        return user

    def remove_user(self, name: str) -> User:
        """Remove user ``name`` and its sessions; :class:`UserError` when there is none.

        The caller checks first that no unfinished job is for the user (``atqb users remove``).
        """
        user = self.existing_user(name)
        self.conn.execute(delete(wc_users).where(wc_users.c.id == user.id))
        return user

    def find_user(self, name: str) -> User | None:
        """The user with this name, if any."""
        row = self.conn.execute(select(wc_users).where(wc_users.c.name == name)).mappings()
        first = row.first()
        return User.from_row(first) if first is not None else None

    def users(self) -> list[User]:
        """Every user, by name."""
        rows = self.conn.execute(select(wc_users).order_by(wc_users.c.name)).mappings()
        return [User.from_row(row) for row in rows]

    def owner_id(self) -> str:
        """This installation's .qwc OwnerID, made on first use and stable afterwards."""
        row = self.conn.execute(
            select(installation.c.value).where(installation.c.key == "qwc_owner_id")
        ).scalar()
        if row is not None:
            return str(row)
        value = format_guid(uuid.uuid4())
        self.conn.execute(insert(installation).values(key="qwc_owner_id", value=value))
        return value

    # -- sessions --------------------------------------------------------------------------

    def open(self, user: User, *, idle_seconds: int, work_at_start: int) -> tuple[str, int]:
        """Start a session for ``user``; return its ticket and id."""
        ticket = secrets.token_hex(32)
        statement = (
            insert(wc_sessions)
            .values(
                ticket_hash=hash_ticket(ticket),
                user_id=user.id,
                company_file=user.company_file,
                created_at=self.now,
                last_seen_at=self.now,
                expires_at=self.now + timedelta(seconds=idle_seconds),
                work_at_start=work_at_start,
                finished=0,
                round_trips=0,
                has_hcp_response=False,
            )
            .returning(wc_sessions.c.id)
        )
        return ticket, int(self.conn.execute(statement).scalar_one())

    def _query(self) -> Select[Any]:
        return select(wc_sessions, wc_users.c.name.label("user_name")).join(
            wc_users, wc_users.c.id == wc_sessions.c.user_id
        )

    @staticmethod
    def _session(row: RowMapping) -> Session:
        return Session(**{name: row[name] for name in Session.__dataclass_fields__})

    def find(self, ticket: str, *, include_ended: bool = False) -> Session | None:
        """The live session with this ticket (not ended, not expired), or None.

        With ``include_ended``, an ended or expired session is returned too (getLastError may
        be asked after a session ended, e.g. after connectionError).
        """
        if not ticket:
            return None
        # The session's row stays locked until the call's transaction ends: two calls on one
        # ticket at once (two receiveResponseXML with the same answer) take turns, so the
        # second sees what the first did (PostgreSQL; SQLite runs one writer at a time anyway).
        query = _find_statement()
        row = self.conn.execute(query, self.ticket_params(ticket)).mappings().first()
        return self.from_row(row, include_ended=include_ended)

    @staticmethod
    def by_ticket() -> Select[Any]:
        """The query of :meth:`find` (without its lock), for callers that read more in the same
        statement; its parameters are :meth:`ticket_params`."""
        return _by_ticket()

    @staticmethod
    def ticket_params(ticket: str) -> dict[str, Any]:
        """The parameters of :meth:`by_ticket` for ``ticket``."""
        return {"p_ticket_hash": hash_ticket(ticket)}

    def from_row(self, row: RowMapping | None, *, include_ended: bool = False) -> Session | None:
        """The session of a row of :meth:`by_ticket`, as :meth:`find` answers it."""
        if row is None:
            return None
        session = self._session(row)
        live = session.ended_at is None and session.expires_at > self.now
        return session if live or include_ended else None

    def find_and_touch(self, ticket: str, idle_seconds: int, **changes: object) -> Session | None:
        """:meth:`find` and :meth:`touch` in one statement: the live session with this ticket,
        its activity recorded with ``changes``; None (and nothing changed) when there is none."""
        if not ticket:
            return None
        statement = _find_and_touch_statement(tuple(changes))
        params = {**self._touch_params(idle_seconds, changes), **self.ticket_params(ticket)}
        row = self.conn.execute(statement, params).mappings().first()
        return self._session(row) if row is not None else None

    def get(self, session_id: int) -> Session:
        """The session with this id."""
        row = self.conn.execute(self._query().where(wc_sessions.c.id == session_id)).mappings()
        return self._session(row.one())

    def recent(self, limit: int = 50) -> list[Session]:
        """The newest sessions first."""
        rows = self.conn.execute(self._query().order_by(wc_sessions.c.id.desc()).limit(limit))
        return [self._session(row) for row in rows.mappings()]

    def touch(self, session: Session, idle_seconds: int, **changes: object) -> None:
        """Record activity on a live session (extending its expiry) and any other changes."""
        statement = _touch_statement(tuple(changes), ())
        params = {**self._touch_params(idle_seconds, changes), "p_session_id": session.id}
        self.conn.execute(statement, params)

    def touch_and_read(
        self,
        session: Session,
        idle_seconds: int,
        changes: Mapping[str, object],
        reading: tuple[ColumnElement[Any], ...],
        reading_params: Mapping[str, object],
    ) -> RowMapping:
        """:meth:`touch`, reading ``reading`` (e.g. the progress of its jobs, whose parameters
        are ``reading_params``) in the same statement."""
        statement = _touch_statement(tuple(changes), reading)
        params = {
            **self._touch_params(idle_seconds, changes),
            **reading_params,
            "p_session_id": session.id,
        }
        return self.conn.execute(statement, params).mappings().one()

    def _touch_params(self, idle_seconds: int, changes: Mapping[str, object]) -> dict[str, Any]:
        return {
            "p_now": self.now,
            "p_expires": self.now + timedelta(seconds=idle_seconds),
            **{f"p_{name}": value for name, value in changes.items()},
        }

    def end(self, session_id: int, reason: str, last_error: str | None = None) -> None:
        """End a session (its leases are released by the caller)."""
        values: dict[str, object] = {"ended_at": self.now, "end_reason": reason}
        if last_error is not None:
            values["last_error"] = last_error
        self.conn.execute(
            update(wc_sessions)
            .where(wc_sessions.c.id == session_id, wc_sessions.c.ended_at.is_(None))
            .values(values)
        )

    def live_ids_of_user(self, user_id: int) -> list[int]:
        """Sessions of this user that have not ended (expired ones included)."""
        query = select(wc_sessions.c.id).where(
            wc_sessions.c.user_id == user_id, wc_sessions.c.ended_at.is_(None)
        )
        return list(self.conn.execute(query).scalars())

    def expired_ids(self) -> list[int]:
        """Sessions past their idle expiry that have not been ended yet."""
        query = select(wc_sessions.c.id).where(
            wc_sessions.c.ended_at.is_(None), wc_sessions.c.expires_at <= self.now
        )
        return list(self.conn.execute(query).scalars())
