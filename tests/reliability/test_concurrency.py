"""Many writers at once against a real server (uvicorn on loopback), on the engine
under test: a fresh SQLite file (WAL, BEGIN IMMEDIATE, busy timeout) or a fresh
PostgreSQL database.

Every request must get a deliberate answer (2xx, or a problem such as 409/412/428,
never a 500 or "database is locked"); every accepted write must be there afterwards
and the cumulative figures the API computes must be exact. Loops are bounded in
count and in time.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.identifiers import make_uscc
from chaintrack.models import Enterprise, ProgressReport, Project
from chaintrack.models.enums import ProjectStatus
from tests.reliability.conftest import http_client, prepared_engine, token_for_url

pytestmark = pytest.mark.reliability  # not in the default run: pytest -m '' runs it

THREADS = 8
PER_THREAD = 12  # distinct enterprises and distinct progress months per thread
TIME_LIMIT_S = 120.0
DELIBERATE = {200, 201, 409, 412, 422, 428}


@dataclass
class Outcome:
    """What the clients saw: every answer, and the writes acknowledged with 2xx."""

    statuses: list[tuple[str, int, str]] = field(default_factory=list)
    enterprises: dict[str, int] = field(default_factory=dict)  # uscc -> id
    reports: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses.append((what, response.status_code, response.text[:300]))

    def undeliberate(self) -> list[tuple[str, int, str]]:
        return [
            s
            for s in self.statuses
            if s[1] not in DELIBERATE or "locked" in s[2].lower() or s[1] >= 500
        ]


def _uscc(thread: int, i: int) -> str:
    return make_uscc(f"91370600{7:01d}{thread:02d}{i:06d}")


def _amount(thread: int, i: int) -> Decimal:
    return Decimal(f"{thread * 100 + i}.{(thread * 7919 + i * 104729) % 10000:04d}")


def _run_threads(worker: Callable[[int, threading.Barrier], None]) -> None:
    barrier = threading.Barrier(THREADS, timeout=30)
    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, t, barrier) for t in range(THREADS)]
        for f in futures:
            f.result(timeout=TIME_LIMIT_S + 60)


def _projects(session: Session, n: int) -> list[int]:
    ids = session.scalars(
        select(Project.id)
        .where(Project.status != ProjectStatus.CANCELLED)
        .order_by(Project.id)
        .limit(n)
    ).all()
    assert len(ids) == n
    return list(ids)


def test_concurrent_progress_reports_and_registrations(fresh_url: str, server) -> None:
    engine = prepared_engine(fresh_url)
    token = token_for_url(engine, fresh_url)
    with Session(engine) as s:
        projects = _projects(s, 4)
        enterprises_before = s.scalar(select(func.count()).select_from(Enterprise))
        early = s.scalar(
            select(func.count())
            .select_from(ProgressReport)
            .where(ProgressReport.project_id.in_(projects), ProgressReport.period < "2016-01")
        )
    assert early == 0, "the test periods (2010-2015) must be empty in the demo data"
    srv = server(fresh_url)
    out = Outcome()
    contested_uscc = make_uscc("91370600999999999")
    contested = (projects[0], "2015-12")
    started = time.monotonic()

    def worker(t: int, barrier: threading.Barrier) -> None:
        project = projects[t % len(projects)]
        year = 2010 + t // len(projects)  # thread pairs share a project, not a month
        with http_client(srv.base, token) as c:
            barrier.wait()
            # Everyone races for one enterprise and one month first.
            r = c.post(
                "/api/v1/enterprises",
                json={"uscc": contested_uscc, "name": f"争用企业{t}", "region_code": "370600"},
            )
            out.record("contested enterprise", r)
            if r.status_code == 201:
                with out.lock:
                    out.enterprises[contested_uscc] = r.json()["id"]
            amount = _amount(t, 99)
            r = c.put(
                f"/api/v1/projects/{contested[0]}/progress/{contested[1]}",
                json={"investment_month": str(amount)},
            )
            out.record("contested month", r)
            if r.status_code == 201:
                with out.lock:
                    out.reports[contested] = amount
            for i in range(PER_THREAD):
                if time.monotonic() - started > TIME_LIMIT_S:
                    break
                uscc = _uscc(t, i)
                r = c.post(
                    "/api/v1/enterprises",
                    json={"uscc": uscc, "name": f"并发测试企业{t}-{i}", "region_code": "370600"},
                )
                out.record("enterprise", r)
                if r.status_code == 201:
                    with out.lock:
                        out.enterprises[uscc] = r.json()["id"]
                period = f"{year}-{i + 1:02d}"
                amount = _amount(t, i)
                r = c.put(
                    f"/api/v1/projects/{project}/progress/{period}",
                    json={"investment_month": str(amount), "physical_progress_pct": "10"},
                )
                out.record("report", r)
                if r.status_code == 201:
                    with out.lock:
                        out.reports[(project, period)] = amount

    _run_threads(worker)

    assert out.undeliberate() == []
    by_kind: dict[tuple[str, int], int] = defaultdict(int)
    for what, status, _ in out.statuses:
        by_kind[(what, status)] += 1
    # Uncontested writes all succeed; of the contested ones exactly one does.
    assert by_kind[("enterprise", 201)] == THREADS * PER_THREAD
    assert by_kind[("report", 201)] == THREADS * PER_THREAD
    assert by_kind[("contested enterprise", 201)] == 1
    assert by_kind[("contested enterprise", 409)] == THREADS - 1
    assert by_kind[("contested month", 201)] == 1
    assert by_kind[("contested month", 409)] + by_kind[("contested month", 428)] == THREADS - 1

    # Every acknowledged write is there, exactly once.
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == enterprises_before + len(
            out.enterprises
        )
        stored = dict(s.execute(select(Enterprise.uscc, Enterprise.id)).tuples().all())
        for uscc, ident in out.enterprises.items():
            assert stored[uscc] == ident
        rows = s.execute(
            select(
                ProgressReport.project_id, ProgressReport.period, ProgressReport.investment_month
            )
            .where(ProgressReport.project_id.in_(projects), ProgressReport.period < "2016-01")
            .where(ProgressReport.superseded_at.is_(None))
        ).all()
    assert {(p, period): amount for p, period, amount in rows} == out.reports

    # Cumulative figures, computed by the API, are exact to the 0.0001 万元.
    with http_client(srv.base, token) as c:
        for project in projects:
            months = sorted(period for (p, period) in out.reports if p == project)
            for period in months:
                body = c.get(f"/api/v1/projects/{project}/progress/{period}").json()
                year_total = sum(
                    (
                        a
                        for (p, m), a in out.reports.items()
                        if p == project and m[:4] == period[:4] and m <= period
                    ),
                    Decimal(0),
                )
                running = sum(
                    (a for (p, m), a in out.reports.items() if p == project and m <= period),
                    Decimal(0),
                )
                assert Decimal(body["investment_month"]) == out.reports[(project, period)]
                assert Decimal(body["cumulative_year"]) == year_total, (project, period)
                assert Decimal(body["cumulative_total"]) == running, (project, period)


def _patch_round(
    base: str, token: str, project: int, etag: str, previous: str
) -> list[tuple[int, int, Any]]:
    """All threads PATCH the project with the same If-Match; each appends its mark."""
    results: list[tuple[int, int, Any]] = []
    lock = threading.Lock()

    def worker(t: int, barrier: threading.Barrier) -> None:
        with http_client(base, token) as c:
            barrier.wait()
            r = c.patch(
                f"/api/v1/projects/{project}",
                json={"goals": f"{previous}|{t}"},
                headers={"If-Match": etag},
            )
            with lock:
                results.append((t, r.status_code, r.json()))

    _run_threads(worker)
    return results


def test_concurrent_patches_with_if_match(fresh_url: str, server) -> None:
    engine = prepared_engine(fresh_url)
    token = token_for_url(engine, fresh_url)
    with Session(engine) as s:
        project = _projects(s, 1)[0]
    srv = server(fresh_url)
    rounds = 5
    winners: list[int] = []
    deadline = time.monotonic() + TIME_LIMIT_S
    with http_client(srv.base, token) as c:
        r = c.patch(
            f"/api/v1/projects/{project}",
            json={"goals": "start"},
            headers={"If-Match": c.get(f"/api/v1/projects/{project}").headers["ETag"]},
        )
        assert r.status_code == 200
        for _ in range(rounds):
            assert time.monotonic() < deadline
            current = c.get(f"/api/v1/projects/{project}")
            etag, goals = current.headers["ETag"], current.json()["goals"]
            version = current.json()["version"]
            results = _patch_round(srv.base, token, project, etag, goals)
            statuses = sorted(status for _, status, _ in results)
            assert statuses == [200] + [412] * (THREADS - 1), results
            (winner,) = [t for t, status, _ in results if status == 200]
            winners.append(winner)
            for _, status, body in results:
                if status == 412:
                    assert body["type"] == "urn:chaintrack:problem:precondition-failed"
            after = c.get(f"/api/v1/projects/{project}").json()
            assert after["version"] == version + 1
            assert after["goals"] == f"{goals}|{winner}"
        final = c.get(f"/api/v1/projects/{project}").json()["goals"]
    # No lost update: one mark per round, each from that round's winner.
    assert final == "start" + "".join(f"|{w}" for w in winners)
