"""Benchmark: scoring all chains and all cities of the province for a year, through
HTTP, against the floor of its SQL executed bare through the driver.

    .venv/bin/python benchmarks/assessment.py                 # both engines, scale 1.0
    .venv/bin/python benchmarks/assessment.py --engines sqlite --scale 0.2 --repeat 10

For each engine: a fresh database with the synthetic province-scale dataset
(``chaintrack generate``), a published scheme with every indicator of the catalogue
(computed kinds and the hand-entered one) and a target for every chain and every city
for each of them, a live uvicorn server on loopback. The floor is the very statements
one scoring request sends (captured by a cursor listener, parameters included), run
through the raw driver with every row fetched: what the database must do for the
answer, without the ORM, the rules, pydantic or HTTP. API and floor calls alternate.
The issue's bar: the API at most 1.5× the floor at province scale.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_PG, KeepAliveClient, fresh_database, live_server, measure_pair, prepare
from reports import auth_headers, raw_connection

from chaintrack.api import create_app
from chaintrack.assessment import schemas as s
from chaintrack.assessment import service
from chaintrack.config import Settings
from chaintrack.db import make_sessionmaker
from chaintrack.models import AssessmentTarget, Chain, Indicator
from chaintrack.models.assessment import SubjectKind
from chaintrack.seeding.synthetic import generate, latest_complete_month


def set_up_scheme(engine: Engine, year: int) -> tuple[int, int]:
    """A published scheme over the whole catalogue and a target for every subject."""
    with make_sessionmaker(engine)() as session:
        codes = list(session.scalars(select(Indicator.code).order_by(Indicator.code)))
        weights = [Decimal(100) // len(codes)] * len(codes)
        weights[0] += Decimal(100) - sum(weights)
        items = [
            s.SchemeItem.model_validate(
                {"indicator_code": c, "weight": str(w), "rule": "linear", "cap": "1.2"}
            )
            for c, w in zip(codes, weights, strict=True)
        ]
        scheme = service.create_scheme(
            session, s.SchemeCreate(year=year, name="基准方案", items=items)
        )
        service.publish_scheme(session, scheme)
        chains = list(session.scalars(select(Chain.id)))
        cities = [r.code for r in service.cities(session, year)]
        for code in codes:
            for chain_id in chains:
                session.add(
                    AssessmentTarget(
                        year=year,
                        indicator_code=code,
                        subject_kind=SubjectKind.CHAIN,
                        chain_id=chain_id,
                        value=Decimal(50),
                    )
                )
            for city in cities:
                session.add(
                    AssessmentTarget(
                        year=year,
                        indicator_code=code,
                        subject_kind=SubjectKind.CITY,
                        region_code=city,
                        value=Decimal(200),
                    )
                )
        session.commit()
        return len(chains), len(cities)


class Capture:
    """The statements (with parameters) the engine sends while ``on``."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.statements: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        head = statement.lstrip().upper()
        if self.on and not head.startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA")):
            self.statements.append((statement, parameters))


def floor(raw: Any, statements: list[tuple[str, Any]]) -> None:
    cur = raw.cursor()
    if hasattr(raw, "in_transaction"):  # sqlite3: one read transaction, as the API has
        cur.execute("BEGIN")
    for statement, parameters in statements:
        cur.execute(statement, parameters)
        cur.fetchall()
    if hasattr(raw, "in_transaction"):
        cur.execute("COMMIT")
    cur.close()


def run_engine(name: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    year = int(args.period[:4])
    with fresh_database(name, args.pg_url) as url:
        engine = prepare(url)
        with engine.begin() as conn:
            counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.period)
        n_chains, n_cities = set_up_scheme(engine, year)
        print(
            f"\n[{name}] {sum(counts.values()):,} rows; {n_chains} chains, {n_cities} cities; "
            f"year {year}"
        )
        settings = Settings(database_url=url, env="development")
        app = create_app(settings, engine=engine)
        capture = Capture(engine)
        raw, _ = raw_connection(url)
        with (
            live_server(app) as base,
            KeepAliveClient(base, auth_headers(engine, settings)) as client,
        ):
            for kind, plural in (("chain", "chains"), ("city", "cities")):
                params = {"year": str(year), "subject_kind": kind}

                def call(params: dict[str, str] = params) -> None:
                    client.get("/api/v1/assessment/scores", params)

                call()
                capture.statements.clear()
                capture.on = True
                call()
                capture.on = False
                statements = list(capture.statements)
                api, bare = measure_pair(call, lambda st=statements: floor(raw, st), args.repeat)
                results.append(
                    {
                        "engine": name,
                        "case": f"scores of all {plural}, year {year}",
                        "api": api,
                        "floor": bare,
                        "ratio": api.median_ms / bare.median_ms,
                        "statements": len(statements),
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
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--period", default=latest_complete_month())
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="a server database to create in")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for name in args.engines.split(","):
        results += run_engine(name.strip(), args)
    print(f"\nscale {args.scale}, {args.repeat} calls each (ms; ratio = API / floor median)")
    header = f"{'engine':<11}{'case':<34}{'API med':>9}{'floor med':>10}{'ratio':>7}{'stmts':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['engine']:<11}{r['case']:<34}{r['api'].median_ms:>9.1f}"
            f"{r['floor'].median_ms:>10.1f}{r['ratio']:>7.2f}{r['statements']:>7}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
