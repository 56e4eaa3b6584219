"""The ``chaintrack`` command: migrations, seed data and the server.

chaintrack serve --demo        migrate, load reference + demo data, start on :8000
chaintrack db upgrade|downgrade [REVISION] | db current
chaintrack seed reference|demo
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from chaintrack import migrate
from chaintrack.config import Settings, get_settings
from chaintrack.db import engine_from_settings, make_sessionmaker, session_scope
from chaintrack.seeding.demo import load_demo
from chaintrack.seeding.reference import load_reference


def _describe(settings: Settings) -> str:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        from pathlib import Path

        return f"SQLite (embedded) at {Path(url.database or '').resolve()}"
    return f"PostgreSQL at {url.render_as_string(hide_password=True)}"


def _seed(engine: Engine, *, demo: bool) -> None:
    for session in session_scope(make_sessionmaker(engine)):
        counts = load_reference(session)
        print(f"reference data: {sum(counts.values())} rows changed {counts}")
        if demo:
            created = load_demo(session)
            print(
                f"demonstration data: {created} records created"
                if created
                else "demonstration data: already loaded"
            )


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_from_settings(settings)
    print(f"database: {_describe(settings)}")
    if args.action == "upgrade":
        migrate.upgrade(engine, args.revision or "head")
    elif args.action == "downgrade":
        migrate.downgrade(engine, args.revision or "base")
    print(
        f"current revision: {migrate.current_revision(engine) or '(none)'}"
        f" (head: {migrate.head_revision()})"
    )
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    engine = engine_from_settings(settings)
    print(f"database: {_describe(settings)}")
    migrate.upgrade(engine)
    _seed(engine, demo=args.what == "demo")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from chaintrack.seeding.synthetic import generate

    engine = engine_from_settings(settings)
    print(f"database: {_describe(settings)}")
    migrate.upgrade(engine)
    _seed(engine, demo=False)
    started = time.perf_counter()
    with engine.begin() as conn:
        counts = generate(conn, seed=args.seed, scale=args.scale, end_period=args.end_period)
    elapsed = time.perf_counter() - started
    for table, n in counts.items():
        print(f"  {table:<24} {n:>9,}")
    print(f"synthetic data (seed {args.seed}, scale {args.scale}) in {elapsed:.1f} s")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from chaintrack.api import create_app

    engine = engine_from_settings(settings)
    print(f"database: {_describe(settings)}")
    migrate.upgrade(engine)
    _seed(engine, demo=args.demo)
    app = create_app(settings, engine=engine)
    print(f"chaintrack on http://{args.host}:{args.port}  (API docs: /docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaintrack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="apply or roll back migrations, show the revision")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?")
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed", help="load reference data, or reference + demonstration data")
    seed.add_argument("what", choices=["reference", "demo"])
    seed.set_defaults(func=cmd_seed)

    gen = sub.add_parser(
        "generate", help="add the deterministic synthetic province-scale dataset (benchmarks)"
    )
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--scale", type=float, default=1.0, help="1.0 = 50,000 enterprises")
    gen.add_argument("--end-period", default=None, help="last month of progress (YYYY-MM)")
    gen.set_defaults(func=cmd_generate)

    serve = sub.add_parser("serve", help="migrate, load reference data and start the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="also load the demonstration data")
    serve.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args, get_settings()))


if __name__ == "__main__":
    sys.exit(main())
