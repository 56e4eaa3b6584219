"""`chaintrack user ...` and the demonstration accounts of `serve --demo`."""

from __future__ import annotations

import io
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack import cli, migrate
from chaintrack.auth.demo import ensure_demo_users
from chaintrack.auth.passwords import Passwords
from chaintrack.config import Settings
from chaintrack.db import make_engine
from chaintrack.models import AuditRecord, Chain, EditorAssignment, User
from chaintrack.models.enums import UserRole
from chaintrack.seeding.reference import load_reference


class Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool = False) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def run(settings: Settings, monkeypatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", Stdin(stdin))
    args = cli.build_parser().parse_args(argv)
    return int(args.func(args, settings))


def test_user_commands(scratch_database_url, monkeypatch, capsys):
    settings = Settings(
        database_url=scratch_database_url,
        argon2_time_cost=1,
        argon2_memory_cost=8,
        argon2_parallelism=1,
    )
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine)
        with Session(engine) as s:
            load_reference(s)
            s.commit()
            chain_code = s.scalar(select(Chain.code).order_by(Chain.code).limit(1))
        pw = "first admin password"
        assert (
            run(
                settings,
                monkeypatch,
                ["user", "create", "Root", "--role", "admin", "--display-name", "管理员"],
                pw + "\n",
            )
            == 0
        )
        assert (
            run(
                settings,
                monkeypatch,
                [
                    "user",
                    "create",
                    "ed",
                    "--role",
                    "editor",
                    "--chain",
                    chain_code,
                    "--password-stdin",
                ],
                "editor password 1\n",
            )
            == 0
        )
        assert (
            run(settings, monkeypatch, ["user", "create", "x", "--role", "viewer"], "short\n") == 1
        )
        assert "at least" in capsys.readouterr().err
        assert (
            run(
                settings,
                monkeypatch,
                ["user", "create", "root", "--role", "viewer"],
                "whatever password\n",
            )
            == 1
        )
        with Session(engine) as s:
            root = s.scalar(select(User).where(User.username == "root"))
            assert root.role is UserRole.ADMIN and root.is_active
            assert Passwords.from_settings(settings).verify(pw, root.password_hash)[0]
            ed = s.scalar(select(User).where(User.username == "ed"))
            assert s.scalar(
                select(EditorAssignment.chain_id).where(EditorAssignment.user_id == ed.id)
            )
            # CLI changes are audited, attributed to the operating-system user.
            recs = s.scalars(select(AuditRecord).where(AuditRecord.entity == "users")).all()
            assert len(recs) == 2 and all(r.request_id.startswith("cli:") for r in recs)
        with pytest.raises(SystemExit, match="last active administrator"):
            run(settings, monkeypatch, ["user", "deactivate", "root"])
        assert (
            run(settings, monkeypatch, ["user", "reset-password", "ed"], "new editor pass\n") == 0
        )
        assert run(settings, monkeypatch, ["user", "deactivate", "ed"]) == 0
        assert run(settings, monkeypatch, ["user", "unassign", "ed", chain_code]) == 0
        assert run(settings, monkeypatch, ["user", "assign", "ed", chain_code]) == 0
        assert run(settings, monkeypatch, ["user", "assign", "root", chain_code]) == 1
        assert run(settings, monkeypatch, ["user", "activate", "ed"]) == 0
        assert run(settings, monkeypatch, ["user", "reset-password", "nobody"], "x" * 12) == 1
        assert run(settings, monkeypatch, ["user", "list"]) == 0
        out = capsys.readouterr().out
        assert "root" in out and "ed" in out and "argon2" not in out
        with Session(engine) as s:
            ed = s.scalar(select(User).where(User.username == "ed"))
            assert ed.is_active and ed.token_version == 2  # reset + deactivation
            assert Passwords.from_settings(settings).verify("new editor pass", ed.password_hash)[0]
    finally:
        engine.dispose()


def test_password_prompt_asks_twice(monkeypatch):
    import getpass

    args = cli.build_parser().parse_args(["user", "reset-password", "someone"])
    monkeypatch.setattr(sys, "stdin", Stdin("", tty=True))
    answers = iter(["one password", "another one"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(SystemExit, match="differ"):
        cli.read_password(args)
    answers = iter(["same password", "same password"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt: next(answers))
    assert cli.read_password(args) == "same password"
    monkeypatch.setattr(sys, "stdin", Stdin("\n"))
    with pytest.raises(SystemExit, match="no password"):
        cli.read_password(args)


def test_demo_accounts(db, app):
    passwords = app.state.auth.passwords
    first = ensure_demo_users(db, passwords)
    assert [(a.username, a.role) for a in first] == [
        ("admin", UserRole.ADMIN),
        ("editor", UserRole.EDITOR),
        ("viewer", UserRole.VIEWER),
    ]
    assert all(a.password for a in first)
    assert first[1].chains  # the editor edits a chain
    admin = db.scalar(select(User).where(User.username == "admin"))
    assert passwords.verify(first[0].password, admin.password_hash)[0]
    again = ensure_demo_users(db, passwords)
    assert all(a.password is None for a in again)  # printed once only
    chosen = ensure_demo_users(db, passwords, admin_password="set by the environment")
    assert chosen[0].password == "set by the environment"
    assert passwords.verify("set by the environment", admin.password_hash)[0]
    assert (
        ensure_demo_users(db, passwords, admin_password="set by the environment")[0].password
        is None
    )


def test_bench_admin_token_works_for_a_development_app(scratch_database_url):
    from fastapi.testclient import TestClient

    from chaintrack.api import create_app
    from chaintrack.auth.bench import admin_token

    settings = Settings(
        database_url=scratch_database_url,
        env="development",
        secret_key="",
        argon2_time_cost=1,
        argon2_memory_cost=8,
        argon2_parallelism=1,
    )
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine)
        app = create_app(settings, engine=engine)
        token = admin_token(engine, settings)
        assert admin_token(engine, settings)  # the second call reuses the user
        with TestClient(app) as c:
            r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["role"] == "admin"
    finally:
        engine.dispose()
