"""Crash safety: SIGKILL the server in the middle of work, restart, check the data.

- A large spreadsheet import (``mode=commit``, one transaction) killed while its
  write transaction is open: after restart the database passes its integrity check
  and not one row of the import is there.
- A burst of concurrent writes killed mid-way: every write acknowledged with a 2xx
  before the kill is there after restart; writes in doubt (no answer) are either
  wholly there or wholly absent.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a committed transaction is in
the WAL before the answer is sent and survives the process being killed (not a
power cut: use ``synchronous=FULL`` for that).
"""

from __future__ import annotations

import io
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from chaintrack.identifiers import make_uscc
from chaintrack.models import AuditRecord, Enterprise, ProgressReport, Project
from chaintrack.models.enums import ProjectStatus
from tests.reliability.conftest import http_client, prepared_engine, token_for_url

pytestmark = pytest.mark.reliability  # not in the default run: pytest -m '' runs it

IMPORT_ROWS = 40_000
BURST_THREADS = 4
BURST_MAX_REQUESTS = 120  # per thread (months 2000-01..2009-12): bounded without a kill
BURST_MIN_ACKED = 60
WAIT_LIMIT_S = 90.0


# --------------------------------------------------------------------------- probes


def sqlite_path(url: str) -> str | None:
    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "sqlite" else None


def write_in_progress(engine: Engine, url: str) -> bool:
    """Is another connection holding an open write transaction right now?"""
    path = sqlite_path(url)
    if path is not None:
        conn = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as err:
            return "locked" in str(err)
        finally:
            conn.close()
    with engine.connect() as conn:
        n = conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON l.relation = c.oid "
                "WHERE c.relname = 'enterprises' AND l.mode = 'RowExclusiveLock' "
                "AND l.pid <> pg_backend_pid()"
            )
        )
        return bool(n)


def check_integrity(engine: Engine, url: str) -> None:
    path = sqlite_path(url)
    if path is not None:
        conn = sqlite3.connect(path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
        return
    with engine.connect() as conn:
        tables = conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        ).all()
        for table in tables:  # every table (and its indexes' heap) still reads
            conn.execute(text(f'SELECT count(*) FROM "{table}"'))
        conn.execute(text("SELECT uscc FROM enterprises ORDER BY uscc"))  # via the index


# --------------------------------------------------------------------------- import


def _import_csv(rows: int, marker: str) -> tuple[bytes, list[str]]:
    codes = [make_uscc(f"91370100{marker}{i:08d}") for i in range(rows)]
    out = io.StringIO()
    out.write("统一社会信用代码,企业名称,所在地区代码\n")
    for i, code in enumerate(codes):
        out.write(f"{code},崩溃测试企业{marker}-{i},370100\n")
    return out.getvalue().encode("utf-8"), codes


def _count_marked(engine: Engine, marker: str) -> int:
    with Session(engine) as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Enterprise)
                .where(Enterprise.uscc.like(f"91370100{marker}%"))
            )
            or 0
        )


def test_kill_during_large_import_leaves_nothing(fresh_url: str, server) -> None:
    engine = prepared_engine(fresh_url, demo=False)
    token = token_for_url(engine, fresh_url)
    srv = server(fresh_url)
    body, _ = _import_csv(IMPORT_ROWS, "8")
    with Session(engine) as s:
        enterprises_before = s.scalar(select(func.count()).select_from(Enterprise))
        audit_before = s.scalar(select(func.count()).select_from(AuditRecord))

    answer: dict[str, object] = {}

    def upload() -> None:
        try:
            with http_client(srv.base, token, timeout=WAIT_LIMIT_S) as c:
                answer["response"] = c.post(
                    "/api/v1/imports/enterprises",
                    params={"mode": "commit"},
                    files={"file": ("enterprises.csv", body, "text/csv")},
                )
        except httpx.HTTPError as err:
            answer["error"] = err

    thread = threading.Thread(target=upload)
    thread.start()
    deadline = time.monotonic() + WAIT_LIMIT_S
    seen_writing = False
    while time.monotonic() < deadline and thread.is_alive():
        if write_in_progress(engine, fresh_url):
            seen_writing = True
            time.sleep(1.0)  # let it get well into the rows (40,000 take several seconds)
            break
        time.sleep(0.02)
    assert seen_writing, f"the import never started writing: {answer}"
    assert thread.is_alive(), f"the import finished before the kill: {answer}"
    srv.kill()
    thread.join(timeout=30)
    assert "response" not in answer, "no answer can come from a killed server"

    srv.start()
    check_integrity(engine, fresh_url)
    assert _count_marked(engine, "8") == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == enterprises_before
        assert s.scalar(select(func.count()).select_from(AuditRecord)) == audit_before
    # The restarted server takes the same import in full.
    small, small_codes = _import_csv(200, "7")
    with http_client(srv.base, token) as c:
        r = c.post(
            "/api/v1/imports/enterprises",
            params={"mode": "commit"},
            files={"file": ("enterprises.csv", small, "text/csv")},
        )
    assert r.status_code == 200, r.text
    assert _count_marked(engine, "7") == len(small_codes)


# --------------------------------------------------------------------------- burst


@dataclass
class Burst:
    acked_enterprises: dict[str, int] = field(default_factory=dict)
    doubtful_enterprises: set[str] = field(default_factory=set)
    acked_reports: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    doubtful_reports: set[tuple[int, str]] = field(default_factory=set)
    other: list[tuple[int, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def acked(self) -> int:
        return len(self.acked_enterprises) + len(self.acked_reports)


def test_kill_during_write_burst_keeps_every_acknowledged_write(fresh_url: str, server) -> None:
    engine = prepared_engine(fresh_url)
    token = token_for_url(engine, fresh_url)
    with Session(engine) as s:
        projects = s.scalars(
            select(Project.id)
            .where(Project.status != ProjectStatus.CANCELLED)
            .order_by(Project.id)
            .limit(BURST_THREADS)
        ).all()
    srv = server(fresh_url)
    burst = Burst()

    def writer(t: int) -> None:
        project = projects[t]
        with http_client(srv.base, token, timeout=30) as c:
            for i in range(BURST_MAX_REQUESTS):
                if burst.stop.is_set():
                    return
                uscc = make_uscc(f"91370600{6}{t:02d}{i:06d}")
                period = f"{2000 + i // 12}-{i % 12 + 1:02d}"
                amount = Decimal(f"{i}.{t:02d}{i % 100:02d}")
                try:
                    r = c.post(
                        "/api/v1/enterprises",
                        json={"uscc": uscc, "name": f"突发写入{t}-{i}", "region_code": "370600"},
                    )
                    with burst.lock:
                        if r.status_code == 201:
                            burst.acked_enterprises[uscc] = r.json()["id"]
                        else:
                            burst.other.append((r.status_code, r.text[:200]))
                except httpx.HTTPError:
                    with burst.lock:
                        burst.doubtful_enterprises.add(uscc)
                    return
                try:
                    r = c.put(
                        f"/api/v1/projects/{project}/progress/{period}",
                        json={"investment_month": str(amount)},
                    )
                    with burst.lock:
                        if r.status_code == 201:
                            burst.acked_reports[(project, period)] = amount
                        else:
                            burst.other.append((r.status_code, r.text[:200]))
                except httpx.HTTPError:
                    with burst.lock:
                        burst.doubtful_reports.add((project, period))
                    return

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(BURST_THREADS)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + WAIT_LIMIT_S
    while burst.acked < BURST_MIN_ACKED and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.kill()
    burst.stop.set()
    for th in threads:
        th.join(timeout=60)
    assert burst.other == []
    assert burst.acked >= BURST_MIN_ACKED
    assert burst.doubtful_enterprises or burst.doubtful_reports, "the kill came after the burst"

    srv.start()
    check_integrity(engine, fresh_url)
    with Session(engine) as s:
        stored = dict(
            s.execute(
                select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.like("913706006%"))
            )
            .tuples()
            .all()
        )
        reports = {
            (p, period): amount
            for p, period, amount in s.execute(
                select(
                    ProgressReport.project_id,
                    ProgressReport.period,
                    ProgressReport.investment_month,
                ).where(ProgressReport.project_id.in_(projects), ProgressReport.period < "2010-01")
            ).tuples()
        }
    for uscc, ident in burst.acked_enterprises.items():
        assert stored.get(uscc) == ident, uscc
    assert set(stored) <= set(burst.acked_enterprises) | burst.doubtful_enterprises
    for key, amount in burst.acked_reports.items():
        assert reports.get(key) == amount, key
    assert set(reports) <= set(burst.acked_reports) | burst.doubtful_reports
    # And it goes on taking writes.
    with http_client(srv.base, token) as c:
        r = c.post(
            "/api/v1/enterprises",
            json={
                "uscc": make_uscc("91370600599999999"),
                "name": "重启后",
                "region_code": "370600",
            },
        )
        assert r.status_code == 201, r.text
