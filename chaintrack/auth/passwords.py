"""Argon2id password hashing (pwdlib). Hashes are never logged or returned."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from chaintrack.config import Settings
from chaintrack.errors import Problem


class HashingBusy(Problem):
    status, slug, title = 503, "busy", "Too many sign-ins at once"


class Passwords:
    """Hash and verify with the cost from settings; a dummy hash for unknown users.

    Each Argon2 hash holds its memory cost (64 MiB by default) while it runs, so at most
    ``max_concurrent`` run at once: forty simultaneous sign-ins would otherwise take a
    worker past 1 GB. One that waits longer than ``wait_seconds`` is a 503.
    """

    def __init__(
        self,
        time_cost: int,
        memory_cost: int,
        parallelism: int,
        *,
        max_concurrent: int = 2,
        wait_seconds: float = 10.0,
    ) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism),)
        )
        self._dummy: str | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._wait = wait_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(
            settings.argon2_time_cost,
            settings.argon2_memory_cost,
            settings.argon2_parallelism,
            max_concurrent=settings.argon2_max_concurrent,
            wait_seconds=settings.argon2_wait_seconds,
        )

    @contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait):
            wait = max(1, round(self._wait))
            raise HashingBusy(
                f"登录请求过多，请{wait}秒后再试 / too many sign-ins at once; retry in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        try:
            yield
        finally:
            self._slots.release()

    def hash(self, password: str) -> str:
        with self._slot():
            return self._hash.hash(password)

    def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one used other parameters).

        Without a stored hash (unknown user, no password set) a dummy hash is
        verified instead, so the failure takes as long as a wrong password.
        """
        if hashed:
            with self._slot():
                try:
                    return self._hash.verify_and_update(password, hashed)
                except Exception:  # an unreadable stored hash is a failed login, not a 500
                    pass
        dummy = self.dummy_hash()  # outside the slot: making it the first time takes one
        with self._slot():
            self._hash.verify(password, dummy)
        return False, None

    def dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hash("chaintrack-timing-equaliser")
            return self._dummy
