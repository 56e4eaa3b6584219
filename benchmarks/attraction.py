"""Benchmark: the lead list and the attraction funnel through HTTP against hand-written SQL.

    .venv/bin/python benchmarks/attraction.py                      # both engines, scale 1.0
    .venv/bin/python benchmarks/attraction.py --engines sqlite --scale 0.5 --repeat 30

For each engine: a fresh database, the synthetic province-scale dataset with its
attraction flow (``chaintrack generate``), a live server, then for the lead list (a
page of the largest chain's leads), the province funnel, a chain's funnel as of a past
day and a city's funnel: median and p95 over calls alternating with the same figures
by hand-written SQL through the driver (the floor), their ratio, and the statements
per request (the sign-in lookup included). Target: ratio ≤ 1.5. The first row is the
fixed cost of any authenticated request (the source catalogue reads no table): where the
floor is below a millisecond that cost, not the query, decides the ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import pydantic
import sqlalchemy
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import floor_sql
from common import DEFAULT_PG, KeepAliveClient, fresh_database, live_server, measure_pair, prepare
from reports import StatementCounter, auth_headers, raw_connection

from chaintrack.api import create_app
from chaintrack.config import Settings
from chaintrack.seeding.synthetic import generate, latest_complete_month

# The floor: what the endpoints compute, written by hand.
LEAD_PAGE = [
    "SELECT count(*) FROM attraction_leads WHERE chain_id = :chain",
    "SELECT l.*, c.id, c.code, c.name_zh FROM attraction_leads l "
    "JOIN chains c ON c.id = l.chain_id WHERE l.chain_id = :chain "
    "ORDER BY l.stage_on DESC, l.id DESC LIMIT 50 OFFSET 0",
    "SELECT ln.lead_id, n.id, n.code, n.name_zh FROM attraction_lead_nodes ln "
    "JOIN map_nodes n ON n.id = ln.node_id WHERE ln.lead_id IN ("
    " SELECT id FROM attraction_leads WHERE chain_id = :chain "
    " ORDER BY stage_on DESC, id DESC LIMIT 50) ORDER BY ln.lead_id, n.position, n.id",
]
_TOTALS = (
    "SELECT (SELECT coalesce(sum(l.signed_amount), 0) FROM attraction_leads l {join} "
    "WHERE l.signed_on BETWEEN :first AND :last {where}), "
    "(SELECT coalesce(sum(f.amount), 0) FROM attraction_funds f "
    "JOIN attraction_leads l ON l.id = f.lead_id {join} "
    "WHERE f.period BETWEEN :first_month AND :last_month {where}), "
    "(SELECT count(l.id) FROM attraction_leads l {join} "
    "WHERE l.signed_on BETWEEN :first AND :last {where})"
)
CITY_JOIN = "JOIN enterprises e ON e.id = l.enterprise_id"
CITY_WHERE = "AND substr(e.region_code, 1, 4) || '00' = :city"
FUNNEL_PROVINCE = [
    "SELECT stage, terminated_from, count(id), sum(intended_investment) "
    "FROM attraction_leads GROUP BY stage, terminated_from",
    _TOTALS.format(join="", where=""),
]
FUNNEL_CITY = [
    "SELECT l.stage, l.terminated_from, count(l.id), sum(l.intended_investment) "
    f"FROM attraction_leads l {CITY_JOIN} WHERE 1 = 1 {CITY_WHERE} "
    "GROUP BY l.stage, l.terminated_from",
    _TOTALS.format(join=CITY_JOIN, where=CITY_WHERE),
]
FUNNEL_CHAIN_AS_OF = [
    "SELECT s.to_stage, CASE WHEN s.to_stage = 'terminated' THEN s.from_stage END, "
    "count(l.id), sum(l.intended_investment) FROM ("
    " SELECT lead_id, to_stage, from_stage, row_number() OVER ("
    "  PARTITION BY lead_id ORDER BY happened_on DESC, id DESC) AS rank "
    " FROM attraction_steps WHERE happened_on <= :last) s "
    "JOIN attraction_leads l ON l.id = s.lead_id "
    "WHERE s.rank = 1 AND l.chain_id = :chain "
    "GROUP BY s.to_stage, CASE WHEN s.to_stage = 'terminated' THEN s.from_stage END",
    _TOTALS.format(join="", where="AND l.chain_id = :chain"),
]


def run_engine(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        print(
            f"\n[{name}] generated in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in counts.items() if k.startswith("attraction"))
        )
        with engine.connect() as conn:
            big, big_n = conn.execute(
                text(
                    "SELECT chain_id, count(*) FROM attraction_leads "
                    "GROUP BY chain_id ORDER BY 2 DESC, 1"
                )
            ).first() or (0, 0)
            city = conn.scalar(
                text(
                    "SELECT substr(e.region_code, 1, 4) || '00' FROM attraction_leads l "
                    "JOIN enterprises e ON e.id = l.enterprise_id "
                    "GROUP BY 1 ORDER BY count(*) DESC, 1"
                )
            )
        year = int(args.period[:4])
        as_of = dt.date(year, 6, 30)
        settings = Settings(database_url=url, env="development")
        app = create_app(settings, engine=engine)
        counter = StatementCounter(engine)
        raw, style = raw_connection(url)
        cases: list[tuple[str, str, dict[str, str], list[str], dt.date]] = [
            (  # the fixed cost of an authenticated request that reads nothing else
                "baseline: source catalogue (no query)",
                "/api/v1/attraction/sources",
                {},
                ["SELECT 1"],
                dt.date(year, 12, 31),
            ),
            (
                f"lead list, largest chain ({big_n:,} leads)",
                "/api/v1/attraction/leads",
                {"chain_id": str(big), "limit": "50"},
                LEAD_PAGE,
                dt.date(year, 12, 31),
            ),
            (
                "funnel, province",
                "/api/v1/attraction/funnel",
                {"year": str(year)},
                FUNNEL_PROVINCE,
                dt.date(year, 12, 31),
            ),
            (
                f"funnel, city {city}",
                "/api/v1/attraction/funnel",
                {"year": str(year), "city": str(city)},
                FUNNEL_CITY,
                dt.date(year, 12, 31),
            ),
            (
                f"funnel, largest chain as of {as_of}",
                "/api/v1/attraction/funnel",
                {"year": str(year), "chain_id": str(big), "as_of": as_of.isoformat()},
                FUNNEL_CHAIN_AS_OF,
                as_of,
            ),
        ]
        with (
            live_server(app) as base,
            KeepAliveClient(base, auth_headers(engine, settings)) as client,
        ):
            for label, path, params, statements, last in cases:

                def call(path: str = path, params: dict[str, str] = params) -> None:
                    client.get(path, params)

                before = counter.n
                call()
                n_statements = counter.n - before
                fp: dict[str, Any] = {
                    "chain": big,
                    "city": city,
                    "first": dt.date(year, 1, 1),
                    "last": last,
                    "first_month": f"{year}-01",
                    "last_month": f"{last.year}-{last.month:02d}",
                }
                if name == "sqlite":
                    fp = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in fp.items()}
                api, floor = measure_pair(
                    call, lambda s=statements, p=fp: floor_sql.run(raw, s, p, style), args.repeat
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
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--period", default=latest_complete_month())
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server database to create in")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.engines.split(","):
        results += run_engine(name.strip(), args)
    print(
        f"\nperiod {args.period}, scale {args.scale}, {args.repeat} calls each "
        f"(SQLAlchemy {sqlalchemy.__version__}, pydantic {pydantic.VERSION}; "
        "times in ms; ratio = API median / floor median; target ≤ 1.5)"
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
