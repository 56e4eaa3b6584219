"""Imports leave the process alone: two imports at once both complete, requests served
while an import runs succeed, and nothing process-wide (the garbage collector's
setting) is changed by an import. On a committed database of the engine under test.

The interleaving is forced with events, not timing: an import pauses after its first
chunk is written (its transaction open, its rows not yet visible to others) until the
other side has done what the test needs.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from chaintrack.api import create_app
from chaintrack.audit import capture
from chaintrack.db import make_sessionmaker
from chaintrack.identifiers import make_uscc
from chaintrack.imports.engine import ImportOptions, Plan, run_import
from chaintrack.imports.handlers_register import EnterpriseHandler
from chaintrack.models import AuditRecord, Enterprise, EnterpriseFigures
from tests.conftest import settings_for_tests
from tests.reliability.conftest import prepared_engine, token_for_url
from tests.test_imports_api import API, csv_text

ROWS = 2500  # three chunks of an import
WAIT_S = 60.0  # a safety net against a hang, never reached when things work


def _file(prefix: int) -> bytes:
    rows = [["统一社会信用代码", "企业名称", "所在地区代码", "数据年度", "营业收入（万元）"]]
    for i in range(ROWS):
        code = make_uscc(f"91370600{prefix}{i:08d}")
        rows.append([code, f"并发导入企业{prefix}-{i}有限公司", "370600", "2024", f"{i}.5"])
    return csv_text(rows)


class PausingHandler(EnterpriseHandler):
    """Signals when it starts; after its first chunk is applied, waits for ``resume``."""

    def __init__(self, resume: threading.Event | None = None) -> None:
        super().__init__()
        self.started = threading.Event()
        self.paused = threading.Event()
        self.resume = resume
        self.gc_while_paused: tuple[int, ...] | None = None

    def start(self, session: Session, columns: set[str]) -> None:
        self.started.set()
        super().start(session, columns)

    def apply(self, session: Session, plans: Sequence[Plan]) -> None:
        super().apply(session, plans)
        if self.resume is not None and not self.paused.is_set():
            session.flush()
            self.gc_while_paused = gc.get_threshold()
            self.paused.set()
            assert self.resume.wait(WAIT_S), "never resumed"


def _import(engine: Engine, handler: EnterpriseHandler, content: bytes, out: dict[str, Any]):
    try:
        with make_sessionmaker(engine)() as session:
            capture.enable(session, request_id=f"concurrent-{id(handler)}")
            report = run_import(session, handler, content, ImportOptions(commit=True))
            session.commit()
            out["report"] = report
    except BaseException as exc:  # reported by the test
        out["error"] = exc


def _count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.fixture
def committed_engine(scratch_database_url: str) -> Iterator[tuple[Engine, str]]:
    engine = prepared_engine(scratch_database_url, demo=False)
    yield engine, scratch_database_url
    engine.dispose()


def _names_like(prefix: int) -> Any:
    return Enterprise.name.like(f"并发导入企业{prefix}-%")


def test_two_imports_at_once_both_complete(committed_engine):
    engine, _ = committed_engine
    threshold = gc.get_threshold()
    resume_first = threading.Event()
    first, second = PausingHandler(resume_first), PausingHandler()
    out_first: dict[str, Any] = {}
    out_second: dict[str, Any] = {}
    t1 = threading.Thread(target=_import, args=(engine, first, _file(1), out_first))
    t1.start()
    assert first.paused.wait(WAIT_S) or "error" in out_first, "the first import never paused"
    # The first import is under way (a chunk written, its transaction open): start the
    # second. On PostgreSQL both write side by side; SQLite has one writer at a time, so
    # the second waits for the first's commit (busy timeout) and then runs.
    t2 = threading.Thread(target=_import, args=(engine, second, _file(2), out_second))
    t2.start()
    assert second.started.wait(WAIT_S), "the second import never started"
    resume_first.set()
    t1.join(WAIT_S)
    t2.join(WAIT_S)
    assert not t1.is_alive() and not t2.is_alive()
    assert "error" not in out_first, out_first.get("error")
    assert "error" not in out_second, out_second.get("error")
    for prefix, out in ((1, out_first), (2, out_second)):
        assert out["report"].committed and out["report"].summary.create == ROWS
        assert _count(engine, Enterprise, _names_like(prefix)) == ROWS
    assert _count(engine, EnterpriseFigures) == 2 * ROWS
    for entity in ("enterprises", "enterprise_figures"):
        assert _count(engine, AuditRecord, AuditRecord.entity == entity) == 2 * ROWS
    # Nothing process-wide was touched, neither while one ran nor afterwards.
    assert first.gc_while_paused == threshold
    assert gc.get_threshold() == threshold


def test_requests_succeed_while_an_import_runs(committed_engine):
    engine, url = committed_engine
    token = token_for_url(engine, url)
    app = create_app(settings_for_tests(url), engine=engine)
    resume = threading.Event()
    handler = PausingHandler(resume)
    out: dict[str, Any] = {}
    thread = threading.Thread(target=_import, args=(engine, handler, _file(3), out))
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        before = client.get(f"{API}/enterprises", params={"limit": 1})
        assert before.status_code == 200, before.text
        thread.start()
        try:
            assert handler.paused.wait(WAIT_S), out.get("error", "the import never paused")
            during = [
                client.get(f"{API}/enterprises", params={"limit": 5}),
                client.get(f"{API}/chains"),
                client.get(f"{API}/audit", params={"entity": "enterprises", "limit": 5}),
                client.get(f"{API}/regions"),
            ]
            if engine.dialect.name == "postgresql":  # SQLite: one writer at a time
                during.append(
                    client.post(
                        f"{API}/enterprises",
                        json={
                            "uscc": make_uscc("91370600999999999"),
                            "name": "导入期间新建的企业有限公司",
                            "region_code": "370600",
                        },
                    )
                )
            # The import's rows are not visible before it commits.
            listed = during[0].json()["total"]
        finally:
            resume.set()
            thread.join(WAIT_S)
    assert [r.status_code for r in during] == [200] * 4 + [201] * (len(during) - 4), [
        r.text[:200] for r in during
    ]
    assert listed == before.json()["total"]
    assert "error" not in out, out.get("error")
    assert out["report"].summary.create == ROWS
    assert _count(engine, Enterprise, _names_like(3)) == ROWS
    assert handler.gc_while_paused == gc.get_threshold()
