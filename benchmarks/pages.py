"""Benchmark: the dashboard page and a chain's report page against their JSON endpoints.

    .venv/bin/python benchmarks/pages.py                  # both engines, scale 1.0
    .venv/bin/python benchmarks/pages.py --engines sqlite --scale 0.2 --repeat 10

For each engine: a fresh database with the synthetic province-scale dataset
(``chaintrack generate``), a live uvicorn server on loopback, then for the dashboard
and the largest chain's report: the page (HTML, what a browser gets) and its JSON
endpoint, called alternately over one kept-alive connection; medians, p95, the ratio
page / JSON (target at most 1.3) and the page's size (target under 300 KB).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DEFAULT_PG,
    KeepAliveClient,
    fresh_database,
    live_server,
    measure,
    measure_pair,
    prepare,
)

from chaintrack.api import create_app
from chaintrack.auth.bench import admin_token
from chaintrack.config import Settings
from chaintrack.seeding.synthetic import generate, latest_complete_month


def run_engine(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        print(
            f"\n[{name}] generated {sum(counts.values()):,} rows in "
            f"{time.perf_counter() - started:.1f} s"
        )
        with engine.connect() as conn:
            big, big_n = conn.execute(
                text("SELECT chain_id, count(*) FROM memberships GROUP BY chain_id ORDER BY 2 DESC")
            ).first() or (None, 0)
        settings = Settings(database_url=url, env="development")
        app = create_app(settings, engine=engine)
        headers = {"Authorization": f"Bearer {admin_token(engine, settings)}"}
        with live_server(app) as base, KeepAliveClient(base, headers) as client:
            cases = [
                ("province dashboard", "/overview", "/api/v1/reports/dashboard"),
                (
                    f"chain report, largest chain ({big_n:,} members)",
                    f"/chains/{big}/report",
                    f"/api/v1/reports/chains/{big}",
                ),
            ]
            params = {"period": args.period}
            for label, page, api in cases:
                size = len(client.get(page, params))
                page_t, api_t = measure_pair(
                    lambda p=page: client.get(p, params),
                    lambda a=api: client.get(a, params),
                    args.repeat,
                )
                results.append(
                    {
                        "engine": name,
                        "case": label,
                        "page": page_t,
                        "api": api_t,
                        "ratio": page_t.median_ms / api_t.median_ms,
                        "kb": size / 1024,
                    }
                )
            # The overview's two other charts load after the table (htmx): timed alone.
            size = len(client.get("/overview/charts", params))
            alone = measure(lambda: client.get("/overview/charts", params), args.repeat)
            results.append(
                {
                    "engine": name,
                    "case": "overview charts fragment (after the page)",
                    "page": alone,
                    "api": None,
                    "ratio": None,
                    "kb": size / 1024,
                }
            )
        engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--period", default=latest_complete_month())
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server database to create in")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.engines.split(","):
        results += run_engine(name.strip(), args)
    print(
        f"\nperiod {args.period}, scale {args.scale}, {args.repeat} calls each "
        "(ms; ratio = page median / JSON median; target <= 1.3, page < 300 KB)"
    )
    header = (
        f"{'engine':<11}{'case':<42}{'page med':>9}{'page p95':>9}{'JSON med':>9}"
        f"{'JSON p95':>9}{'ratio':>7}{'KB':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        api = (
            f"{r['api'].median_ms:>9.1f}{r['api'].p95_ms:>9.1f}{r['ratio']:>7.2f}"
            if r["api"]
            else f"{'':>9}{'':>9}{'':>7}"
        )
        print(
            f"{r['engine']:<11}{r['case']:<42}{r['page'].median_ms:>9.1f}"
            f"{r['page'].p95_ms:>9.1f}{api}{r['kb']:>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
