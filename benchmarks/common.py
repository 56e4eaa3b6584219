"""Shared helpers for the benchmark scripts: databases, a live server, timing."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import uvicorn
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from chaintrack import migrate
from chaintrack.db import make_engine, make_sessionmaker
from chaintrack.seeding.reference import load_reference

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def fresh_database(engine_name: str, pg_url: str = DEFAULT_PG) -> Iterator[str]:
    """A new empty database URL for one engine, removed afterwards."""
    if engine_name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="chaintrack-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    url = make_url(pg_url)
    name = f"chaintrack_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url.render_as_string(hide_password=False))
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def prepare(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session:
        load_reference(session)
        session.commit()
    return engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(app: object) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a loopback port in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class KeepAliveClient:
    """GET over one kept-alive HTTP/1.1 connection, from the standard library.

    The benchmark times the service, not a client library: httpx spends about a
    millisecond of Python per call on its own (measured here on /health: 2.9 ms with
    httpx, 1.8 ms with this), which would be counted against the API.
    """

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
        self._headers = headers

    def get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        target = f"{path}?{urlencode(params)}" if params else path
        self._conn.request("GET", target, headers=self._headers)
        response = self._conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {target}: {response.status} {body[:300]!r}")
        return body

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> KeepAliveClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    runs: int


def measure(fn: Callable[[], object], repeat: int, warmup: int = 2) -> Timing:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return _timing(samples)


def measure_pair(
    a: Callable[[], object], b: Callable[[], object], repeat: int, warmup: int = 2
) -> tuple[Timing, Timing]:
    """Time ``a`` and ``b`` alternately, call for call, so that both see the same
    machine: on a shared machine the load changes within seconds, and timing one
    block after the other would compare different conditions."""
    for _ in range(warmup):
        a()
        b()
    samples: tuple[list[float], list[float]] = ([], [])
    for i in range(repeat):
        # Alternate which goes first, so neither always runs on a warm cache.
        order = ((a, samples[0]), (b, samples[1]))
        for fn, out in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    return _timing(samples[0]), _timing(samples[1])


def _timing(samples: list[float]) -> Timing:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return Timing(statistics.median(samples), p95, len(samples))


def rss_mb() -> float:
    """Peak resident set size of this process, in MB (Linux)."""
    with open(f"/proc/{os.getpid()}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")
