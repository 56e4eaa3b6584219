"""Sign-in throttling: failures per account and per client address, in the database.

Why the database: every worker process and every host must count the same failures
(a per-process counter multiplies the limit by the number of workers), and concurrent
guesses must be counted one by one. Each attempt first *reserves* its place — the
counters of its account and its address are raised under a row lock (``SELECT … FOR
UPDATE`` on PostgreSQL; SQLite's write lock) in a short transaction of its own that
commits whatever the sign-in's outcome — and only then is the password hashed. So of
thirty simultaneous wrong guesses against a limit of five, five are checked and
twenty-five answered 429 at once. A success gives its reservation back.

Locks grow gradually instead of shutting a door for the whole window: passing the limit
locks the account (or address) for ``lock_seconds``, each further pass within the window
for twice as long, never longer than the window. Someone who fails on purpose to lock
out a colleague (or a whole office behind one address) has to keep at it, and an
administrator can lift a lock at once (``POST /api/v1/users/{id}/unlock``,
``chaintrack user unlock``).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from chaintrack.models import LoginThrottleEntry

USER, ADDRESS = "user", "address"


@dataclass
class LoginThrottle:
    window_seconds: float
    max_per_user: int
    max_per_address: int
    lock_seconds: float = 60.0
    #: Seconds since the epoch; tests move it forward.
    clock: Callable[[], float] = time.time

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC)

    def _keys(self, username: str, address: str) -> list[tuple[str, str, int]]:
        return [
            (USER, username.strip().lower()[:320], self.max_per_user),
            (ADDRESS, address[:320], self.max_per_address),
        ]

    def reserve(self, factory: sessionmaker[Session], username: str, address: str) -> int | None:
        """Count this attempt before its password is checked.

        None when it may go on; otherwise the seconds to wait (the attempt is refused
        and not counted as a guess).
        """
        now = self.now()
        window = dt.timedelta(seconds=self.window_seconds)
        wait = 0.0
        with factory() as session:
            rows = [
                (_locked_row(session, kind, key, now), limit)
                for kind, key, limit in self._keys(username, address)
            ]
            for row, limit in rows:
                if row.window_started_at + window <= now:
                    row.window_started_at, row.failures, row.lockouts = now, 0, 0
                    row.locked_until = None
                elif row.locked_until is not None and row.locked_until > now:
                    wait = max(wait, (row.locked_until - now).total_seconds())
                elif row.locked_until is not None:
                    # A lock has run out: one more guess, and the next lock is longer.
                    row.failures, row.locked_until = min(row.failures, limit - 1), None
            if not wait:
                for row, limit in rows:
                    row.failures += 1
                    if row.failures > limit:
                        row.lockouts += 1
                        seconds = min(
                            self.lock_seconds * 2 ** (row.lockouts - 1),
                            (row.window_started_at + window - now).total_seconds(),
                        )
                        row.locked_until = now + dt.timedelta(seconds=max(seconds, 1))
                        wait = max(wait, seconds)
                if wait:  # refused: not a guess, so it does not count as one
                    for row, _limit in rows:
                        row.failures -= 1
            session.commit()
        return max(1, math.ceil(wait)) if wait > 0 else None

    def succeeded(self, factory: sessionmaker[Session], username: str, address: str) -> None:
        """The account's failures are forgotten; the address gets its reservation back."""
        user_key, address_key = (key for _kind, key, _limit in self._keys(username, address))
        with factory() as session:
            session.execute(
                delete(LoginThrottleEntry).where(
                    LoginThrottleEntry.kind == USER, LoginThrottleEntry.key == user_key
                )
            )
            row = _locked_row(session, ADDRESS, address_key, self.now())
            row.failures = max(0, row.failures - 1)
            session.commit()


def unlock(session: Session, *, username: str | None = None, address: str | None = None) -> int:
    """Lift the lock (and forget the failures) of an account or an address; flushes.

    Answers how many entries were removed (0: there was nothing to lift).
    """
    removed = 0
    names = ((USER, username.strip().lower() if username else None), (ADDRESS, address))
    for kind, key in names:
        entry = session.get(LoginThrottleEntry, (kind, key)) if key else None
        if entry is not None:  # deleted as an object: the audit trail records who unlocked
            session.delete(entry)
            removed += 1
    session.flush()
    return removed


def _locked_row(session: Session, kind: str, key: str, now: dt.datetime) -> LoginThrottleEntry:
    """The entry for (kind, key), created when missing, locked for this transaction."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottleEntry)
        .values(kind=kind, key=key, window_started_at=now, failures=0, lockouts=0)
        .on_conflict_do_nothing()
    )
    row = session.scalars(
        select(LoginThrottleEntry)
        .where(LoginThrottleEntry.kind == kind, LoginThrottleEntry.key == key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row
