"""Slowing down password guessing: failed logins counted per user name and address.

After :attr:`Policy.user_limit` failed logins of one user name from one address within
:attr:`Policy.window` (or :attr:`Policy.address_limit` failures from one address, whatever the
user names), that user name at that address (or the whole address) is locked: ``attempt``
answers False without checking the password until the lock ends. Each lock lasts twice as long
as the one before (:attr:`Policy.base_cooldown`, doubling, at most :attr:`Policy.max_cooldown`).
Attempts during a lock are refused without counting, so a lock ends when its time is up. A
successful login clears its user name's failures at that address; an address forgets its
history after :attr:`Policy.forget_after` without failures. IPv6 addresses count per /64, the
smallest network one host is usually given.

The trade-off: a user name is never locked everywhere, so someone who can reach the service
cannot lock the real Web Connector out by failing its user name's login from another address.
In exchange, guessing one password from many addresses gets :attr:`Policy.user_limit` tries
per address per window (each costing a slow password hash), not per user name. The address
limit is higher than the user limit: several Web Connectors of one office share an address, and
one of them with a stale password must not lock the others out.

Counting is atomic: an attempt is counted as a failure *before* the password is checked, in
the transaction that checks the locks (under a row lock on PostgreSQL), and taken back when the
password is right. So however many attempts arrive at once, no more than the limit are checked.

Counts live in the database (table ``login_throttle``), so every service process counts the
same failures and honours the same locks. The address is the peer of the TCP connection: behind
a proxy that is the proxy's, unless ``ATQB_TRUSTED_PROXY`` names it, when it is the client address
the proxy put in X-Forwarded-For (service/server.py).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from service.db import Database
from service.models import login_throttle

log = logging.getLogger("atqb.throttle")

USER = "user"
ADDRESS = "address"


@dataclass(frozen=True)
class Policy:
    """How many failures lock a user name or an address, and for how long."""

    user_limit: int = 5
    address_limit: int = 20
    window: timedelta = timedelta(minutes=15)
    base_cooldown: timedelta = timedelta(minutes=1)
    max_cooldown: timedelta = timedelta(hours=1)
    forget_after: timedelta = timedelta(days=1)

    def limit(self, scope: str) -> int:
        """The failures within the window that lock a subject of this scope."""
        return self.user_limit if scope == USER else self.address_limit

    def cooldown(self, lockouts: int) -> timedelta:
        """How long the lock after ``lockouts`` earlier locks lasts."""
        doubled = self.base_cooldown * (1 << min(lockouts, 30))
        return min(doubled, self.max_cooldown)


@dataclass(frozen=True)
class Lock:
    """Why logins are refused without a password check: who is locked, until when."""

    scope: str
    subject: str
    until: datetime


def subject_of(scope: str, value: str) -> str:
    """The key a user name or address is counted under.

    A user name longer than a column holds (no real one is: they are at most 128 characters)
    is kept as its SHA-256. IPv6 addresses count per /64; IPv4-mapped ones as IPv4.
    """
    if scope == ADDRESS:
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            pass
        else:
            if isinstance(address, ipaddress.IPv6Address):
                if address.ipv4_mapped is not None:
                    return str(address.ipv4_mapped)
                return str(ipaddress.IPv6Network((address, 64), strict=False))
            return str(address)
    if len(value) > 128:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value


def pair_subject(user_name: str, address: str) -> str:
    """The key a user name's failures from one address are counted under."""
    where = subject_of(ADDRESS, address) if address else "-"
    return subject_of(USER, f"{user_name} from {where}")


class LoginThrottle:
    """Counts failed logins and refuses logins of locked user names and addresses."""

    def __init__(
        self, database: Database, clock: Callable[[], datetime], policy: Policy | None = None
    ) -> None:
        self.db = database
        self.clock = clock
        self.policy = policy or Policy()

    def attempt(self, user_name: str, address: str, check: Callable[[], bool]) -> bool:
        """Whether a login succeeds: False without calling ``check`` while the user name at
        this address, or the address, is locked; otherwise ``check``'s verdict.

        ``check`` (the password hash check) runs outside any transaction: it is slow on purpose.
        """
        keys = self._keys(user_name, address)
        with self.db.transaction() as conn:
            lock = self._lock(conn, keys)
            if lock is None:
                for scope, subject in keys.items():
                    self._count_failure(conn, scope, subject)
        if lock is not None:
            log.warning(
                "login refused: %s %r is locked until %s",
                lock.scope,
                lock.subject[:160],
                lock.until.isoformat(timespec="seconds"),
            )
            return False
        if not check():
            return False
        with self.db.transaction() as conn:
            self._forget(conn, USER, keys[USER])
            if ADDRESS in keys:
                self._take_back(conn, keys[ADDRESS])
        return True

    def locked(self, user_name: str, address: str) -> Lock | None:
        """The lock that refuses this user name from this address now, if any."""
        with self.db.transaction() as conn:
            return self._lock(conn, self._keys(user_name, address))

    @staticmethod
    def _keys(user_name: str, address: str) -> dict[str, str]:
        keys = {USER: pair_subject(user_name, address)}
        if address:
            keys[ADDRESS] = subject_of(ADDRESS, address)
        return keys

    def _lock(self, conn: Connection, keys: dict[str, str]) -> Lock | None:
        """The lock in force for these keys (the longest), if any."""
        now = self.clock()
        wanted = or_(
            *(
                and_(login_throttle.c.scope == scope, login_throttle.c.subject == subject)
                for scope, subject in keys.items()
            )
        )
        rows = conn.execute(
            select(login_throttle.c.scope, login_throttle.c.subject, login_throttle.c.locked_until)
            .where(wanted)
            .with_for_update()
        ).all()
        locks = [
            Lock(row.scope, row.subject, row.locked_until)
            for row in rows
            if row.locked_until is not None and row.locked_until > now
        ]
        return max(locks, key=lambda lock: lock.until) if locks else None

    def _count_failure(self, conn: Connection, scope: str, subject: str) -> None:
        """Count one failure; lock the subject when it reaches its limit within the window."""
        now = self.clock()
        policy = self.policy
        values = {
            "scope": scope,
            "subject": subject,
            "failures": 0,
            "window_started_at": now,
            "last_failure_at": now,
            "lockouts": 0,
        }
        # Two processes may count the first failure of a subject at once: one row wins, and
        # the row lock below makes the other wait for its count.
        upsert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(upsert(login_throttle).values(values).on_conflict_do_nothing())
        key = and_(login_throttle.c.scope == scope, login_throttle.c.subject == subject)
        row = conn.execute(select(login_throttle).where(key).with_for_update()).one()
        failures, window_started_at, lockouts = row.failures, row.window_started_at, row.lockouts
        if now - row.last_failure_at > policy.forget_after:
            lockouts = 0
        if now - window_started_at > policy.window:
            failures, window_started_at = 0, now
        failures += 1
        changes: dict[str, object] = {}
        if failures >= policy.limit(scope):
            cooldown = policy.cooldown(lockouts)
            changes = {"locked_until": now + cooldown}
            log.warning(
                "%s %r locked for %d s after %d failed logins",
                scope,
                subject[:160],
                cooldown.total_seconds(),
                failures,
            )
            failures, window_started_at, lockouts = 0, now, lockouts + 1
        conn.execute(
            update(login_throttle)
            .where(key)
            .values(
                failures=failures,
                window_started_at=window_started_at,
                last_failure_at=now,
                lockouts=lockouts,
                **changes,
            )
        )
        self._prune(conn, now)

    def _forget(self, conn: Connection, scope: str, subject: str) -> None:
        conn.execute(
            delete(login_throttle).where(
                login_throttle.c.scope == scope, login_throttle.c.subject == subject
            )
        )

    def _take_back(self, conn: Connection, subject: str) -> None:
        """Undo the failure counted for an address before a login that succeeded."""
        conn.execute(
            update(login_throttle)
            .where(
                login_throttle.c.scope == ADDRESS,
                login_throttle.c.subject == subject,
                login_throttle.c.failures > 0,
            )
            .values(failures=login_throttle.c.failures - 1)
        )
        # An address with no failures and no lock history needs no row (most of them: each
        # good login made one for its own pre-count).
        conn.execute(
            delete(login_throttle).where(
                login_throttle.c.scope == ADDRESS,
                login_throttle.c.subject == subject,
                login_throttle.c.failures == 0,
                login_throttle.c.lockouts == 0,
            )
        )

    def _prune(self, conn: Connection, now: datetime) -> None:
        """Drop subjects quiet for longer than the policy remembers (and not locked)."""
        conn.execute(
            delete(login_throttle).where(
                login_throttle.c.last_failure_at < now - self.policy.forget_after,
                or_(login_throttle.c.locked_until.is_(None), login_throttle.c.locked_until < now),
            )
        )
