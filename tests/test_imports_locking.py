"""Imports never block other writers, and races answer 409 or 503, never 500.

On a committed database of the engine under test (imports run through HTTP, with their
own sessions, as in production). Interleavings are forced with events, not timing: an
import pauses while it reads its file until the other side has done what the test
needs; a safety timeout only guards against a hang.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from chaintrack.api import create_app
from chaintrack.audit import capture
from chaintrack.db import make_engine, make_sessionmaker
from chaintrack.identifiers import make_uscc
from chaintrack.imports import engine as import_engine
from chaintrack.imports.engine import ImportOptions, ImportRejected, Plan, run_import
from chaintrack.imports.handlers_register import EnterpriseHandler
from chaintrack.imports.service import two_passes
from chaintrack.models import AuditRecord, Enterprise, EnterpriseFigures
from tests.conftest import settings_for_tests
from tests.problems import assert_problem
from tests.reliability.conftest import prepared_engine, token_for_url
from tests.test_imports_api import API, csv_text

WAIT_S = 60.0  # a safety net against a hang, never reached when things work
HEADER = ["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"]


def _file(prefix: int, rows: int) -> bytes:
    lines = [HEADER]
    for i in range(rows):
        code = make_uscc(f"91370600{prefix}{i:08d}")
        lines.append([code, f"锁测试企业{prefix}-{i}有限公司", "370600", "2024", f"{i}.5"])
    return csv_text(lines)


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def committed(scratch_database_url: str) -> Iterator[tuple[Engine, str]]:
    engine = prepared_engine(scratch_database_url, demo=False)
    yield engine, scratch_database_url
    engine.dispose()


@pytest.fixture
def pause_reading(monkeypatch):
    """The first plan() of an import (its reading pass) waits for ``resume``."""
    paused, resume = threading.Event(), threading.Event()
    plan = EnterpriseHandler.plan

    def pausing_plan(self, session, rows):
        if not paused.is_set():
            paused.set()
            assert resume.wait(WAIT_S), "never resumed"
        return plan(self, session, rows)

    monkeypatch.setattr(EnterpriseHandler, "plan", pausing_plan)
    return paused, resume


@pytest.fixture
def app_with_busy_timeout(committed) -> Iterator[Any]:
    """``make(ms)``: the application on an engine of its own whose SQLite busy timeout is
    short: a writer that would wait for the lock fails fast instead of hanging the test."""
    engines: list[Engine] = []

    def make(busy_timeout_ms: int) -> Any:
        engines.append(make_engine(committed[1], busy_timeout_ms=busy_timeout_ms))
        return _app(committed[1], engines[-1], busy_timeout_ms)

    yield make
    for engine in engines:
        engine.dispose()


def _app(url: str, engine: Engine, busy_timeout_ms: int) -> Any:
    return create_app(
        settings_for_tests(url, sqlite_busy_timeout_ms=busy_timeout_ms), engine=engine
    )


def _new_enterprise(n: int) -> dict[str, str]:
    return {
        "uscc": make_uscc(f"9137060077{n:07d}"),
        "name": f"导入期间新建的企业{n}有限公司",
        "region_code": "370600",
    }


@pytest.mark.parametrize("mode", ["dry_run", "commit"])
def test_writers_go_on_while_an_import_reads_its_file(
    committed, app_with_busy_timeout, pause_reading, mode
):
    """The upload is read, parsed and checked without the write lock: while it is paused
    there, three writers write (on SQLite they would wait for the lock and, past the
    busy timeout, fail). A short busy timeout makes a regression fail fast (503)."""
    engine, url = committed
    paused, resume = pause_reading
    app = app_with_busy_timeout(2000)
    headers = {"Authorization": f"Bearer {token_for_url(engine, url)}"}
    out: dict[str, Any] = {}
    with TestClient(app, headers=headers) as client:

        def upload() -> None:
            out["r"] = client.post(
                f"{API}/imports/enterprises",
                params={"mode": mode},
                files={"file": ("slow.csv", _file(5, 30))},
            )

        thread = threading.Thread(target=upload)
        thread.start()
        try:
            assert paused.wait(WAIT_S), "the import never started reading"
            during = [client.post(f"{API}/enterprises", json=_new_enterprise(i)) for i in (1, 2)]
            enterprise_id = during[0].json()["id"]
            etag = client.get(f"{API}/enterprises/{enterprise_id}").headers["etag"]
            during.append(
                client.patch(
                    f"{API}/enterprises/{enterprise_id}",
                    json={"name": "导入期间改名的企业有限公司"},
                    headers={"If-Match": etag},
                )
            )
        finally:
            resume.set()
            thread.join(WAIT_S)
    assert [r.status_code for r in during] == [201, 201, 200], [r.text[:300] for r in during]
    report = out["r"]
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["summary"]["create"] == 30
    assert body["committed"] is (mode == "commit")
    expected = 30 if mode == "commit" else 0
    assert _count(engine, Enterprise, Enterprise.name.like("锁测试企业5-%")) == expected


def test_a_writer_that_cannot_get_the_lock_gets_503_with_retry_after(
    committed, app_with_busy_timeout
):
    engine, url = committed
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single write lock")
    app = app_with_busy_timeout(200)
    headers = {"Authorization": f"Bearer {token_for_url(engine, url)}"}
    holder = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        with TestClient(app, headers=headers, raise_server_exceptions=False) as client:
            holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
            try:
                r = client.post(f"{API}/enterprises", json=_new_enterprise(9))
                imported = client.post(
                    f"{API}/imports/enterprises",
                    params={"mode": "commit"},
                    files={"file": ("a.csv", _file(6, 3))},
                )
                dry = client.post(
                    f"{API}/imports/enterprises", files={"file": ("a.csv", _file(6, 3))}
                )
            finally:
                holder.execute("ROLLBACK")
    finally:
        holder.close()
    for response in (r, imported):
        body = assert_problem(response, 503, "busy")
        assert int(response.headers["retry-after"]) > 0
        assert "稍后" in body["detail"] and "try again" in body["detail"]
    # A dry run never needs the lock.
    assert dry.status_code == 200, dry.text
    assert _count(engine, Enterprise, Enterprise.name.like("锁测试企业6-%")) == 0


class PausingHandler(EnterpriseHandler):
    """After the first chunk of its *write* pass is applied, waits for ``resume``."""

    def __init__(self, paused: threading.Event, resume: threading.Event) -> None:
        super().__init__()
        self.paused, self.resume = paused, resume

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        super().apply(session, plans)
        if not self.paused.is_set():
            session.flush()
            self.paused.set()
            assert self.resume.wait(WAIT_S), "never resumed"


def _waiting_on_a_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"
                )
            )
        )


def test_two_imports_of_the_same_keys_at_once(committed):
    """The first import writes its first chunk and pauses (its transaction open); the
    second, of the same enterprises, is checked (they do not exist yet) and starts
    writing. PostgreSQL: its COPY waits on the first one's keys and, when that commits,
    fails: 409 naming the key, nothing of it written. SQLite: its write waits for the
    lock, then plans again on the committed rows: all unchanged."""
    engine, url = committed
    rows = 1500  # two chunks
    content = _file(7, rows)
    paused, resume = threading.Event(), threading.Event()
    first = PausingHandler(paused, resume)
    out: dict[str, Any] = {}
    factory = make_sessionmaker(engine)

    def write() -> Any:
        session = factory()
        capture.enable(session, request_id="first-import")
        return _Committing(session)

    def run_first() -> None:
        try:
            with factory() as read:
                out["first"] = two_passes(
                    read, write, lambda _s: first, content, ImportOptions(commit=True)
                )
        except BaseException as exc:
            out["first_error"] = exc

    app = create_app(settings_for_tests(url), engine=engine)
    headers = {"Authorization": f"Bearer {token_for_url(engine, url)}"}
    t1 = threading.Thread(target=run_first)
    t1.start()
    assert paused.wait(WAIT_S) or "first_error" in out, "the first import never paused"
    with TestClient(app, headers=headers, raise_server_exceptions=False) as client:

        def run_second() -> None:
            out["second"] = client.post(
                f"{API}/imports/enterprises",
                params={"mode": "commit"},
                files={"file": ("same.csv", content)},
                headers={"X-Request-ID": "second-import"},
            )

        t2 = threading.Thread(target=run_second)
        t2.start()
        if engine.dialect.name == "postgresql":
            deadline = time.monotonic() + WAIT_S  # a safety net, not a timing assertion
            while not _waiting_on_a_lock(engine) and t2.is_alive():
                assert time.monotonic() < deadline, "the second import never waited"
                time.sleep(0.05)
        resume.set()
        t1.join(WAIT_S)
        t2.join(WAIT_S)
    assert "first_error" not in out, out.get("first_error")
    assert out["first"].committed and out["first"].summary.create == rows
    second = out["second"]
    if engine.dialect.name == "postgresql":
        body = assert_problem(second, 409, "conflict")
        assert body["code"] == "duplicate_key" and "uscc" in body["detail"]
    else:  # it planned (again) after the first committed: nothing left to create
        assert second.status_code == 200, second.text
        assert second.json()["summary"]["unchanged"] == rows
    # One of each, nothing half-written by the second.
    assert _count(engine, Enterprise, Enterprise.name.like("锁测试企业7-%")) == rows
    assert _count(engine, EnterpriseFigures) == rows
    assert _count(engine, AuditRecord, AuditRecord.request_id == "second-import") == 0


class _Committing:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, exc_type: Any, *_: Any) -> None:
        try:
            if exc_type is None:
                self.session.commit()
            else:
                self.session.rollback()
        finally:
            self.session.close()


def test_a_bad_row_after_written_chunks_rolls_everything_back(db, monkeypatch):
    """One pass (the command line): chunks before the bad row were already inserted (and
    audited) in the transaction; the rejection rolls them back too."""
    monkeypatch.setattr(import_engine, "CHUNK_ROWS", 2)
    applied: list[int] = []
    apply = EnterpriseHandler.apply

    def counting_apply(self, session, plans):
        applied.append(len(plans))
        return apply(self, session, plans)

    monkeypatch.setattr(EnterpriseHandler, "apply", counting_apply)
    lines = [HEADER] + [
        [make_uscc(f"91370600{8}{i:08d}"), f"回滚企业{i}有限公司", "370600", "2024", "1"]
        for i in range(7)
    ]
    lines[7][2] = "990000"  # row 8: not a province
    before = (_db_count(db, Enterprise), _db_count(db, EnterpriseFigures))
    nested = db.begin_nested()
    capture.enable(db, request_id="one-pass")
    with pytest.raises(ImportRejected) as caught:
        run_import(db, EnterpriseHandler(), csv_text(lines), ImportOptions(commit=True))
    assert applied == [2, 2, 2]  # three chunks were written before the bad row's
    assert [e.row for e in caught.value.errors or []] == [8]
    nested.rollback()
    assert (_db_count(db, Enterprise), _db_count(db, EnterpriseFigures)) == before


def _db_count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)
