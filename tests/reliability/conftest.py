"""Fixtures for the reliability harness: dedicated databases and real servers.

Unlike the rest of the suite, these tests commit: the fuzzer, the concurrent writers
and the crash tests each get a fresh database of the engine under test
(``tests.conftest.fresh_database``: a SQLite file, or a new PostgreSQL database
created next to ``CHAINTRACK_TEST_DATABASE_URL`` and dropped afterwards), so nothing
leaks into the shared, rolled-back test database.

``server(url)`` starts ``chaintrack serve`` in a subprocess on 127.0.0.1 and a free
port, so a test can SIGKILL it; it is always stopped at the end of the test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.auth.tokens import Tokens, signing_key
from chaintrack.db import make_engine
from chaintrack.models import User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.demo import load_demo
from chaintrack.seeding.reference import load_reference
from tests.conftest import TEST_SECRET, fresh_database, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60.0


def prepared_engine(url: str, *, demo: bool = True) -> Engine:
    """Migrate a fresh database and load reference (+ demonstration) data."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        load_reference(session)
        if demo:
            load_demo(session)
        session.commit()
    return engine


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of the engine under test (dropped afterwards)."""
    with fresh_database(tmp_path) as url:
        yield url


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINTRACK_")}
    env.update(
        CHAINTRACK_DATABASE_URL=url,
        CHAINTRACK_ENV="production",
        CHAINTRACK_SECRET_KEY=TEST_SECRET,
        CHAINTRACK_ARGON2_TIME_COST="1",
        CHAINTRACK_ARGON2_MEMORY_COST="8",
        CHAINTRACK_ARGON2_PARALLELISM="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Server:
    """``chaintrack serve`` in a subprocess on loopback."""

    url: str
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def address_args(self) -> list[str]:
        return ["--host", "127.0.0.1", "--port", str(self.port)]

    def start(self) -> Server:
        assert self.proc is None or self.proc.poll() is not None
        self.port = free_port()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chaintrack.cli", "serve", *self.address_args()],
            cwd=ROOT,
            env=server_env(self.url),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base}/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start in {START_TIMEOUT_S} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no commit of anything in flight."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[object]:
    """``server(url)`` -> a started Server; all are stopped when the test ends."""
    started: list[Server] = []

    def _start(url: str) -> Server:
        s = Server(url=url, log_path=tmp_path / f"server-{len(started)}.log").start()
        started.append(s)
        return s

    yield _start
    for s in started:
        s.stop()


ADMIN_USERNAME = "reliability-admin"


def ensure_admin(engine: Engine) -> int:
    """The id of an administrator for the harness (created once; no usable password)."""
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == ADMIN_USERNAME))
        if user is None:
            user = User(
                username=ADMIN_USERNAME,
                display_name="可靠性测试管理员",
                role=UserRole.ADMIN,
                password_hash="!",  # no password signs in as this account
                is_active=True,
                token_version=0,
            )
            session.add(user)
            session.commit()
        return user.id


def token_for_url(engine: Engine, url: str) -> str:
    """An administrator's token that an app or server with the test settings accepts."""
    settings = settings_for_tests(url)
    user_id = ensure_admin(engine)
    with Session(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        version = user.token_version
    return Tokens(signing_key(settings), settings.token_ttl_minutes).issue(user_id, version)


@contextmanager
def http_client(base: str, token: str, timeout: float = 60.0) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    ) as c:
        yield c
