"""The ``chaintrack`` command: migrations, seed data and the server.

chaintrack serve --demo        migrate, load reference + demo data and demo accounts,
                               start on :8000 in development mode
chaintrack db upgrade|downgrade [REVISION] | db current
chaintrack seed reference|demo
chaintrack backup FILE | restore FILE [--force]   online backup / restore of the SQLite database
chaintrack template ENTITY FILE | export ENTITY FILE [--chain CODE]
chaintrack import ENTITY FILE [--chain CODE] [--commit]   dry run unless --commit
chaintrack user create USERNAME --role admin --display-name NAME [--organisation ORG]
                               [--chain CODE ...] [--password-stdin]
chaintrack user reset-password USERNAME [--password-stdin]
chaintrack user deactivate|activate USERNAME
chaintrack user unlock USERNAME | unlock-address ADDRESS   lift a sign-in lock
chaintrack user assign|unassign USERNAME CHAIN_CODE
chaintrack user list

Passwords are read from a prompt (twice), or from standard input when it is not a
terminal (e.g. `printf '%s\n' "$PW" | chaintrack user create ...`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.backup import add_commands as add_backup_commands
from chaintrack.config import Settings, get_settings
from chaintrack.db import engine_from_settings, make_sessionmaker, session_scope
from chaintrack.imports.commands import add_commands as add_import_commands
from chaintrack.seeding.demo import load_demo
from chaintrack.seeding.reference import load_reference

if TYPE_CHECKING:
    from chaintrack.auth.deps import AuthState


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


def _demo_accounts(engine: Engine, settings: Settings) -> None:
    from chaintrack.auth.demo import ensure_demo_users
    from chaintrack.auth.passwords import Passwords

    for session in session_scope(make_sessionmaker(engine)):
        accounts = ensure_demo_users(
            session, Passwords.from_settings(settings), settings.demo_admin_password
        )
    print("demo accounts (sign in on the pages at /login, or at /docs with Authorize):")
    for a in accounts:
        chains = f" for chain {', '.join(a.chains)}" if a.chains else ""
        if a.password:
            print(f"  {a.username:<7} {a.role.value:<7}{chains}  password: {a.password}")
        else:
            print(
                f"  {a.username:<7} {a.role.value:<7}{chains}  (password printed at first start;"
                f" `chaintrack user reset-password {a.username}` sets a new one)"
            )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from chaintrack.api import create_app
    from chaintrack.auth.tokens import ConfigurationError, check_secret

    if args.demo and not settings.is_development:
        settings = settings.model_copy(update={"env": "development"})
        print("development mode (--demo): a demonstration instance, not for real data")
    try:
        check_secret(settings)  # before touching the database
    except ConfigurationError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    engine = engine_from_settings(settings)
    print(f"database: {_describe(settings)}")
    migrate.upgrade(engine)
    _seed(engine, demo=args.demo)
    if args.demo:
        _demo_accounts(engine, settings)
    app = create_app(settings, engine=engine)
    base = f"http://{args.host}:{args.port}"
    print(f"chaintrack on {base}  — sign in at {base}/login  (API docs: {base}/docs)")
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def read_password(args: argparse.Namespace, *, prompt: str = "password") -> str:
    """From standard input when asked to or when it is not a terminal, else a prompt twice."""
    import getpass

    if getattr(args, "password_stdin", False) or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise SystemExit("error: no password on standard input")
        return password
    first = getpass.getpass(f"{prompt}: ")
    second = getpass.getpass(f"{prompt} (again): ")
    if first != second:
        raise SystemExit("error: the two passwords differ")
    return first


def _user_action(session: Session, args: argparse.Namespace, auth: AuthState) -> None:
    from sqlalchemy import select

    from chaintrack.auth import service
    from chaintrack.auth.schemas import UserCreate
    from chaintrack.models import Chain, User
    from chaintrack.models.enums import UserRole

    def chain_id(code: str) -> int:
        found = session.scalar(select(Chain.id).where(Chain.code == code))
        if found is None:
            raise SystemExit(f"error: no chain with code {code}")
        return found

    if args.action == "list":
        for u in session.scalars(select(User).order_by(User.username)):
            out = service.user_out(session, u)
            state = "active" if u.is_active else "inactive"
            print(
                f"{u.id:>4}  {u.username:<20} {u.role.value:<7} {state:<8} "
                f"{u.display_name}  chains={out.chain_ids}"
            )
        return
    if args.action == "create":
        data = UserCreate(
            username=args.username,
            display_name=args.display_name or args.username,
            organisation=args.organisation,
            role=UserRole(args.role),
            password=read_password(args),
            chain_ids=[chain_id(c) for c in args.chain or []],
        )
        user = service.create_user(session, auth, data)
        print(f"created {user.role.value} {user.username} (id {user.id})")
        return
    if args.action == "unlock-address":
        from chaintrack.auth import throttle

        removed = throttle.unlock(session, address=args.address)
        print(f"sign-ins from {args.address} {'unlocked' if removed else 'were not locked'}")
        return
    user = service.get_by_username(session, args.username)
    if args.action == "unlock":
        service.unlock_user(session, user.id)
        print(f"{user.username} may sign in again (failed sign-ins forgotten)")
    elif args.action == "reset-password":
        password = read_password(args, prompt="new password")
        service.set_password(session, auth, user, password, "password")
        print(f"password of {user.username} changed; their sessions are ended")
    elif args.action in ("deactivate", "activate"):
        active = args.action == "activate"
        if not active and user.role is UserRole.ADMIN and user.is_active:
            other = session.scalar(
                select(User.id)
                .where(User.role == UserRole.ADMIN, User.is_active.is_(True), User.id != user.id)
                .limit(1)
            )
            if other is None:
                raise SystemExit("error: the last active administrator stays active")
        if user.is_active and not active:
            user.token_version += 1  # ends their sessions
        user.is_active = active
        session.flush()
        print(f"{user.username} is now {'active' if active else 'inactive'}")
    elif args.action == "assign":
        _, created = service.assign_chain(session, user.id, chain_id(args.chain_code))
        print(f"{user.username} {'now edits' if created else 'already edits'} {args.chain_code}")
    elif args.action == "unassign":
        service.unassign_chain(session, user.id, chain_id(args.chain_code))
        print(f"{user.username} no longer edits {args.chain_code}")


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from pydantic import ValidationError

    from chaintrack.audit import capture
    from chaintrack.auth.deps import AuthState
    from chaintrack.errors import Problem

    engine = engine_from_settings(settings)
    migrate.upgrade(engine)
    auth = AuthState.for_cli(settings)
    try:
        for session in session_scope(make_sessionmaker(engine)):
            capture.enable(session, request_id=f"cli:{getpass.getuser()}"[:64])
            _user_action(session, args, auth)
    except Problem as err:
        print(f"error: {err.detail or err.title}", file=sys.stderr)
        return 1
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        print(f"error: {problems}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaintrack", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_import_commands(sub)  # import / export / template (chaintrack/imports/commands.py)
    add_backup_commands(sub)  # backup / restore (chaintrack/backup.py)

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

    user = sub.add_parser("user", help="create users, reset passwords, (de)activate, assign")
    actions = user.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a user (the first administrator too)")
    create.add_argument("username")
    create.add_argument("--role", choices=["admin", "editor", "viewer"], required=True)
    create.add_argument("--display-name", help="shown name, e.g. 张伟 (default: the username)")
    create.add_argument("--organisation", help="department / 处室")
    create.add_argument("--chain", action="append", help="chain code an editor edits (repeat)")
    create.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    reset = actions.add_parser("reset-password", help="set a new password; ends their sessions")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    for name, text in (("deactivate", "stop a user signing in"), ("activate", "undo deactivate")):
        p = actions.add_parser(name, help=text)
        p.add_argument("username")
    unlock = actions.add_parser("unlock", help="lift a sign-in lock of a user")
    unlock.add_argument("username")
    unlock_address = actions.add_parser(
        "unlock-address", help="lift the sign-in lock of a client address (e.g. an office's)"
    )
    unlock_address.add_argument("address")
    for name, text in (("assign", "let an editor edit a chain"), ("unassign", "take it back")):
        p = actions.add_parser(name, help=text)
        p.add_argument("username")
        p.add_argument("chain_code")
    actions.add_parser("list", help="list users")
    user.set_defaults(func=cmd_user)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args, get_settings()))


if __name__ == "__main__":
    sys.exit(main())
