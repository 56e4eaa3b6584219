"""Argon2id password hashing (pwdlib). Hashes are never logged or returned."""

from __future__ import annotations

import threading

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from chaintrack.config import Settings


class Passwords:
    """Hash and verify with the cost from settings; a dummy hash for unknown users."""

    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hash = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism),)
        )
        self._dummy: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Passwords:
        return cls(
            settings.argon2_time_cost, settings.argon2_memory_cost, settings.argon2_parallelism
        )

    def hash(self, password: str) -> str:
        return self._hash.hash(password)

    def verify(self, password: str, hashed: str | None) -> tuple[bool, str | None]:
        """(matches, a new hash when the stored one used other parameters).

        Without a stored hash (unknown user, no password set) a dummy hash is
        verified instead, so the failure takes as long as a wrong password.
        """
        if not hashed:
            self._hash.verify(password, self.dummy_hash())
            return False, None
        try:
            return self._hash.verify_and_update(password, hashed)
        except Exception:  # an unreadable stored hash is a failed login, not a 500
            self._hash.verify(password, self.dummy_hash())
            return False, None

    def dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self._hash.hash("chaintrack-timing-equaliser")
            return self._dummy
