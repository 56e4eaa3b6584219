"""Benchmark: chain status report and dashboard through HTTP against hand-written SQL.

    .venv/bin/python benchmarks/reports.py                 # both engines, scale 1.0
    .venv/bin/python benchmarks/reports.py --engines sqlite --scale 0.2 --repeat 10

For each engine: a fresh database, the synthetic province-scale dataset
(``chaintrack generate``), a live uvicorn server on loopback, then for the largest
and the smallest chain and for the dashboard: median and p95 over repeated calls
through HTTP, the same figures by hand-written SQL through the driver (the floor,
benchmarks/floor_sql.py), their ratio, and the SQL statements per request (counted by a
cursor listener on the engine, the sign-in lookup included). API and floor calls
alternate, so both are timed under the same load.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor_sql
from common import (
    DEFAULT_PG,
    KeepAliveClient,
    fresh_database,
    live_server,
    measure_pair,
    prepare,
)

from chaintrack.api import create_app
from chaintrack.auth.bench import admin_token
from chaintrack.config import Settings
from chaintrack.db import sqlite_pragmas
from chaintrack.seeding.synthetic import generate, latest_complete_month


def raw_connection(url: str) -> tuple[Any, str]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # isolation_level=None: run() opens and ends its read transaction itself.
        conn = sqlite3.connect(parsed.database or "", isolation_level=None)
        for pragma in sqlite_pragmas():  # the service's own connection settings
            conn.execute(f"PRAGMA {pragma}")
        return conn, "named"
    import psycopg

    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(dsn, autocommit=True), "pyformat"


def floor_params(engine_name: str, chain_id: int, period: str) -> dict[str, Any]:
    year, month = map(int, period.split("-"))
    day = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    prev_period = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    prev_day = dt.date(year, month, 1) - dt.timedelta(days=1)
    params: dict[str, Any] = {
        "chain": chain_id,
        "day": day,
        "prev_day": prev_day,
        "period": period,
        "prev_period": prev_period,
        "year_start": f"{year}-01",
        "prev_year_start": f"{prev_period[:4]}-01",
        "year": year,
        "month_start": day.replace(day=1),
    }
    if engine_name == "sqlite":
        params["day"], params["prev_day"] = day.isoformat(), prev_day.isoformat()
        params["month_start"] = day.replace(day=1).isoformat()
    return params


def auth_headers(engine: Engine, settings: Settings) -> dict[str, str]:
    """A bearer token for a benchmark administrator."""
    return {"Authorization": f"Bearer {admin_token(engine, settings)}"}


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args: Any) -> None:
        statement = args[2]
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            self.n += 1


def run_engine(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        gen_s = time.perf_counter() - started
        print(
            f"\n[{name}] generated {sum(counts.values()):,} rows in {gen_s:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items())
        )
        with engine.connect() as conn:
            sizes = conn.execute(
                text("SELECT chain_id, count(*) FROM memberships GROUP BY chain_id ORDER BY 2 DESC")
            ).all()
        (big, big_n), (small, small_n) = sizes[0], sizes[-1]
        settings = Settings(database_url=url, env="development")
        app = create_app(settings, engine=engine)
        counter = StatementCounter(engine)
        raw, style = raw_connection(url)
        with (
            live_server(app) as base,
            KeepAliveClient(base, auth_headers(engine, settings)) as client,
        ):
            cases = [
                (
                    f"chain report, largest chain ({big_n:,} members)",
                    f"/api/v1/reports/chains/{big}",
                    floor_sql.CHAIN_REPORT,
                    big,
                ),
                (
                    f"chain report, smallest chain ({small_n:,} members)",
                    f"/api/v1/reports/chains/{small}",
                    floor_sql.CHAIN_REPORT,
                    small,
                ),
                ("province dashboard", "/api/v1/reports/dashboard", floor_sql.DASHBOARD, big),
            ]
            for label, path, statements, chain_id in cases:
                params = {"period": args.period}

                def call(path: str = path, params: dict[str, str] = params) -> None:
                    client.get(path, params)

                before = counter.n
                call()
                n_statements = counter.n - before
                fp = floor_params(name, chain_id, args.period)
                api, floor = measure_pair(
                    call,
                    lambda s=statements, p=fp: floor_sql.run(raw, s, p, style),
                    args.repeat,
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
        f"\nperiod {args.period}, scale {args.scale}, {args.repeat} calls each "
        f"(SQLAlchemy {sqlalchemy.__version__}, pydantic {pydantic.VERSION}; "
        "times in ms; ratio = API median / floor median)"
    )
    header = (
        f"{'engine':<11}{'case':<44}{'API med':>9}{'API p95':>9}{'floor med':>10}"
        f"{'floor p95':>10}{'ratio':>7}{'stmts':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['engine']:<11}{r['case']:<44}{r['api'].median_ms:>9.1f}{r['api'].p95_ms:>9.1f}"
            f"{r['floor'].median_ms:>10.1f}{r['floor'].p95_ms:>10.1f}{r['ratio']:>7.2f}"
            f"{r['statements']:>7}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
