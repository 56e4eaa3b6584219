"""Benchmark: the problem loop's queue and the province figures through HTTP against
hand-written SQL.

    .venv/bin/python benchmarks/problems.py                 # both engines, scale 1.0
    .venv/bin/python benchmarks/problems.py --engines sqlite --scale 0.2 --repeat 20

For each engine: a fresh database, the synthetic province-scale dataset (``chaintrack
generate``: problems with their steps and 督办), a live uvicorn server on loopback, then
for a queue (the problems at one level held by one unit, first page of 50 with the
total), the overdue list and the province figures (``/problem-figures``): median and
p95 over repeated calls through HTTP against the same rows read by hand-written SQL
through the driver, their ratio (target ≤ 1.5) and the statements per request. API and
floor calls alternate, so both are timed under the same load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_PG, KeepAliveClient, fresh_database, live_server, measure_pair, prepare
from floor_sql import run
from reports import StatementCounter, auth_headers, raw_connection

from chaintrack.api import create_app
from chaintrack.config import Settings
from chaintrack.history import OFFICE_TZ, office_today
from chaintrack.seeding.synthetic import generate, latest_complete_month

OPEN = "('pending', 'in_progress')"

# The list: every column of the problem and the names shown beside it, newest first.
_LIST = (
    "SELECT p.*, c.name_zh, pc.name_zh, coalesce(pj.name, e.name, c.name_zh) "
    "FROM problems p JOIN chains c ON c.id = p.chain_id "
    "JOIN problem_categories pc ON pc.code = p.category "
    "LEFT JOIN projects pj ON pj.id = p.project_id "
    "LEFT JOIN enterprises e ON e.id = p.enterprise_id WHERE {where} "
    "ORDER BY p.raised_at DESC, p.id DESC LIMIT 50"
)
_COUNT = "SELECT count(*) FROM problems p WHERE {where}"
QUEUE_WHERE = "p.level = :level AND p.responsible_unit LIKE :unit"
OVERDUE_WHERE = f"p.state IN {OPEN} AND p.deadline IS NOT NULL AND p.deadline < :day"
QUEUE = [_COUNT.format(where=QUEUE_WHERE), _LIST.format(where=QUEUE_WHERE)]
OVERDUE = [_COUNT.format(where=OVERDUE_WHERE), _LIST.format(where=OVERDUE_WHERE)]

_CLOSED = "p.resolved_on IS NOT NULL AND p.resolved_on <= :day"
_HANDLED = f"{_CLOSED} AND p.state IN ('handled', 'rated')"
_RATED = "p.state = 'rated'"
FIGURES = [
    "SELECT p.chain_id, count(*), "
    f"sum(CASE WHEN NOT ({_CLOSED}) THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN NOT ({_CLOSED}) AND p.deadline < :day THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {_HANDLED} THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {_HANDLED} AND (p.deadline IS NULL OR p.resolved_on <= p.deadline) "
    "THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {_HANDLED} AND p.resolved_on >= :month_start THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {_RATED} THEN 1 ELSE 0 END), "
    f"sum(CASE WHEN {_RATED} AND p.satisfaction IN ('satisfied', 'fairly') THEN 1 ELSE 0 END) "
    "FROM problems p WHERE p.raised_at < :day_end GROUP BY p.chain_id",
    "SELECT p.chain_id, count(*) FROM problems p "
    "JOIN supervision_notices n ON n.problem_id = p.id "
    "WHERE n.issued_at < :day_end AND n.due_on < :day "
    "AND (n.replied_at IS NULL OR n.replied_at >= :day_end) GROUP BY p.chain_id",
    "SELECT id, name_zh FROM chains ORDER BY id",
]


def floor_params(engine_name: str) -> dict[str, Any]:
    day = office_today()
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), OFFICE_TZ)
    params: dict[str, Any] = {
        "day": day,
        "month_start": day.replace(day=1),
        "day_end": day_end.astimezone(dt.UTC),
        "level": "city",
        "unit": "%市发展改革委%",
    }
    if engine_name == "sqlite":  # as SQLAlchemy stores them there
        params["day"] = day.isoformat()
        params["month_start"] = day.replace(day=1).isoformat()
        params["day_end"] = params["day_end"].strftime("%Y-%m-%d %H:%M:%S.%f")
    return params


def run_engine(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        with engine.begin() as conn:
            counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        print(
            f"\n[{name}] problems {counts.get('problems', 0):,}, steps "
            f"{counts.get('problem_steps', 0):,}, notices {counts.get('supervision_notices', 0):,}"
        )
        settings = Settings(database_url=url, env="development")
        app = create_app(settings, engine=engine)
        counter = StatementCounter(engine)
        raw, style = raw_connection(url)
        fp = floor_params(name)
        with (
            live_server(app) as base,
            KeepAliveClient(base, auth_headers(engine, settings)) as client,
        ):
            cases = [
                (
                    "queue: 市级, 市发展改革委 (page of 50)",
                    "/api/v1/problems",
                    {"level": "city", "responsible_unit": "市发展改革委"},
                    QUEUE,
                ),
                ("overdue (page of 50)", "/api/v1/problems", {"overdue": "true"}, OVERDUE),
                ("province figures", "/api/v1/problem-figures", {}, FIGURES),
            ]
            for label, path, query, statements in cases:

                def call(path: str = path, query: dict[str, str] = query) -> None:
                    client.get(path, query)

                before = counter.n
                call()
                n_statements = counter.n - before
                api, floor = measure_pair(
                    call, lambda s=statements: run(raw, s, fp, style), args.repeat
                )
                results.append(
                    {
                        "engine": name,
                        "case": label,
                        "api": api,
                        "floor": floor,
                        "ratio": api.median_ms / floor.median_ms,
                        "statements": n_statements,
                    }
                )
        raw.close()
        engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=60)
    parser.add_argument("--period", default=latest_complete_month())
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server database to create in")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.engines.split(","):
        results += run_engine(name.strip(), args)
    print(
        f"\nscale {args.scale}, {args.repeat} calls each (SQLAlchemy {sqlalchemy.__version__}, "
        f"pydantic {pydantic.VERSION}; times in ms; ratio = API median / floor median)"
    )
    header = (
        f"{'engine':<11}{'case':<40}{'API med':>9}{'API p95':>9}{'floor med':>10}"
        f"{'floor p95':>10}{'ratio':>7}{'stmts':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['engine']:<11}{r['case']:<40}{r['api'].median_ms:>9.1f}{r['api'].p95_ms:>9.1f}"
            f"{r['floor'].median_ms:>10.1f}{r['floor'].p95_ms:>10.1f}{r['ratio']:>7.2f}"
            f"{r['statements']:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
