"""``chaintrack backup`` / ``restore`` on the embedded SQLite database.

A backup taken while a server is writing is one consistent snapshot (each write's
rows and audit record together, a prefix of the acknowledged writes); restored into
a new database it holds exactly what the backup holds; a backup of the quiet
database restores to a byte-for-byte equal set of rows. Restore refuses to replace
data or a database in use without ``--force``, and refuses a damaged file.

PostgreSQL backups are pg_dump/pg_restore (README); these tests run on the SQLite
file whatever engine the suite runs on, once (they are skipped in the PostgreSQL run).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from chaintrack.cli import build_parser
from chaintrack.config import Settings
from chaintrack.db import make_engine
from chaintrack.identifiers import make_uscc
from tests.conftest import TEST_URL_ENV, fresh_database
from tests.reliability.conftest import (
    ROOT,
    http_client,
    prepared_engine,
    server_env,
    token_for_url,
)

pytestmark = pytest.mark.reliability  # not in the default run: pytest -m '' runs it

ON_POSTGRES = (os.environ.get(TEST_URL_ENV) or "sqlite").startswith("postgresql")
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="SQLite backup/restore; PostgreSQL uses pg_dump/pg_restore (README)"
)

WRITERS = 3
BEFORE_BACKUP = 30  # writes acknowledged before the backup starts
MAX_WRITES = 100_000  # per writer: a bound that is never reached (they stop after the backup)
WAIT_S = 120.0  # a writer that makes no progress for this long has hung
SKIP_TABLES = {"sqlite_sequence"}


def cli(url: str, *args: str, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    """``chaintrack ARGS`` on the database at ``url``: in this process (fast), or as
    the installed command in a subprocess."""
    if subprocess_:
        return subprocess.run(
            [sys.executable, "-m", "chaintrack.cli", *args],
            cwd=ROOT,
            env=server_env(url),
            capture_output=True,
            text=True,
            timeout=120,
        )
    out, err = io.StringIO(), io.StringIO()
    parsed = build_parser().parse_args(list(args))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = parsed.func(parsed, Settings(database_url=url))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def rows(path: Path) -> dict[str, set[tuple[object, ...]]]:
    """Every table's rows (as sets) of a database file."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if r[0] not in SKIP_TABLES
        ]
        return {t: set(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables}
    finally:
        conn.close()


def enterprise_ids_with_audit(path: Path) -> tuple[set[int], set[int]]:
    conn = sqlite3.connect(path)
    try:
        ids = {  # those registered through the API (the demo data is loaded unaudited)
            r[0] for r in conn.execute("SELECT id FROM enterprises WHERE uscc LIKE '913706005%'")
        }
        audited = {
            int(r[0])
            for r in conn.execute(
                "SELECT entity_id FROM audit_log WHERE entity = 'enterprises' AND action = 'create'"
            )
        }
        return ids, audited
    finally:
        conn.close()


@sqlite_only
def test_backup_while_writing_then_restore(tmp_path: Path, server) -> None:
    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    engine = prepared_engine(url)
    token = token_for_url(engine, url)
    srv = server(url)
    acked: list[tuple[int, int, str]] = []  # (writer, its n-th write, uscc)
    failures: list[str] = []
    progress = threading.Condition()
    stop = threading.Event()

    def writer(t: int) -> None:
        # Writes until told to stop (after the backup), so that however slowly the
        # machine runs the backup command, it runs while the writers write.
        try:
            with http_client(srv.base, token) as c:
                for i in range(MAX_WRITES):
                    if stop.is_set():
                        return
                    uscc = make_uscc(f"91370600{5}{t:02d}{i:06d}")
                    r = c.post(
                        "/api/v1/enterprises",
                        json={"uscc": uscc, "name": f"备份测试{t}-{i}", "region_code": "370600"},
                    )
                    if r.status_code != 201:
                        failures.append(f"{r.status_code} {r.text}")
                        return
                    with progress:
                        acked.append((t, i, uscc))
                        progress.notify_all()
        except Exception as exc:  # reported by the test, not lost in the thread
            failures.append(repr(exc))
        finally:
            with progress:
                progress.notify_all()

    def acknowledged_more_than(n: int) -> int:
        """Wait until more than ``n`` writes are acknowledged (or a writer failed)."""
        with progress:
            progress.wait_for(lambda: len(acked) > n or failures, timeout=WAIT_S)
            assert not failures, failures
            assert len(acked) > n, f"the writers made no progress past {n} writes"
            return len(acked)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(WRITERS)]
    for th in threads:
        th.start()
    try:
        acked_at_backup_start = acknowledged_more_than(BEFORE_BACKUP - 1)
        hot = tmp_path / "hot.backup"
        done = cli(url, "backup", str(hot), subprocess_=True)  # the real command, once
        with progress:
            acked_at_backup_end = len(acked)
        # The writers wrote while the backup command ran and still write after it: the
        # backup neither waited for them to stop nor held them up.
        assert acked_at_backup_end > acked_at_backup_start, "writes must go on during the backup"
        acknowledged_more_than(acked_at_backup_end)
        assert all(th.is_alive() for th in threads), "a writer ran out of writes"
    finally:
        stop.set()
        for th in threads:
            th.join(timeout=60)
    assert not failures, failures
    assert done.returncode == 0, done.stderr
    assert "backup written" in done.stdout

    # The hot backup: one commit's state. Every enterprise comes with its audit record;
    # it holds every write acknowledged before the backup started and, of each writer's
    # writes (one after the other), a prefix: at most the one in flight when the backup
    # command returned beyond those acknowledged by then.
    ids, audited = enterprise_ids_with_audit(hot)
    assert ids == audited
    with sqlite3.connect(hot) as conn:
        in_backup = {
            r[0] for r in conn.execute("SELECT uscc FROM enterprises WHERE uscc LIKE '913706005%'")
        }
    assert acked_at_backup_start <= len(in_backup) <= acked_at_backup_end + WRITERS
    writes = {uscc: (t, i) for t, i, uscc in acked}
    assert in_backup <= writes.keys()
    for t in range(WRITERS):
        kept = sorted(i for uscc, (w, i) in writes.items() if w == t and uscc in in_backup)
        assert kept == list(range(len(kept))), f"writer {t}: not a prefix of its writes"
    live = rows(db)
    hot_rows = rows(hot)
    for table, content in hot_rows.items():
        if table in ("enterprises", "audit_log"):  # inserted only, never changed
            assert content <= live[table], table

    # Restored into a new database, it holds exactly the backup.
    restored_db = tmp_path / "restored.db"
    done = cli(f"sqlite:///{restored_db}", "restore", str(hot))
    assert done.returncode == 0, done.stderr
    assert rows(restored_db) == hot_rows

    # A backup of the quiet database restores to exactly the live rows.
    srv.stop()
    quiet = tmp_path / "quiet.backup"
    assert cli(url, "backup", str(quiet)).returncode == 0
    again = tmp_path / "again.db"
    assert cli(f"sqlite:///{again}", "restore", str(quiet)).returncode == 0
    assert rows(again) == rows(db)


@sqlite_only
def test_restore_refuses_to_overwrite_and_checks_the_file(tmp_path: Path, server) -> None:
    db = tmp_path / "live.db"
    url = f"sqlite:///{db}"
    engine = prepared_engine(url)
    token = token_for_url(engine, url)
    engine.dispose()  # only the server keeps the file open
    backup_file = tmp_path / "before.backup"
    assert cli(url, "backup", str(backup_file)).returncode == 0
    # A second backup to the same file needs --force.
    refused = cli(url, "backup", str(backup_file))
    assert refused.returncode == 1 and "--force" in refused.stderr

    srv = server(url)
    with http_client(srv.base, token) as c:
        r = c.post(
            "/api/v1/enterprises",
            json={
                "uscc": make_uscc("91370600400000001"),
                "name": "备份后新增",
                "region_code": "370600",
            },
        )
        assert r.status_code == 201
        total = c.get("/api/v1/enterprises", params={"limit": 1}).json()["total"]

    # The server has it open: refused without --force, nothing changed.
    refused = cli(url, "restore", str(backup_file))
    assert refused.returncode == 1
    assert "open in process" in refused.stderr and "--force" in refused.stderr
    with http_client(srv.base, token) as c:
        assert c.get("/api/v1/enterprises", params={"limit": 1}).json()["total"] == total

    # With --force the running server sees the restored database.
    done = cli(url, "restore", "--force", str(backup_file))
    assert done.returncode == 0, done.stderr
    with http_client(srv.base, token) as c:
        assert c.get("/api/v1/enterprises", params={"limit": 1}).json()["total"] == total - 1
        assert c.get("/health").status_code == 200
    srv.stop()
    # Not running, but it has data: still needs --force.
    refused = cli(url, "restore", str(backup_file))
    assert refused.returncode == 1 and "already holds" in refused.stderr

    # A damaged or foreign file is refused and the database left alone.
    damaged = tmp_path / "damaged.backup"
    data = bytearray(backup_file.read_bytes())
    data[4096 * 3 : 4096 * 3 + 2048] = os.urandom(2048)
    damaged.write_bytes(bytes(data))
    foreign = tmp_path / "foreign.backup"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    for bad in (damaged, foreign, not_sqlite):
        refused = cli(f"sqlite:///{tmp_path / 'new.db'}", "restore", str(bad))
        assert refused.returncode == 1, (bad, refused.stdout)
        assert refused.stderr.startswith("error:"), refused.stderr
    assert not (tmp_path / "new.db").exists() or rows(tmp_path / "new.db") == {}


@sqlite_only
def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    done = cli("postgresql+psycopg://postgres@127.0.0.1/none", "backup", str(tmp_path / "x"))
    assert done.returncode == 2
    assert "pg_dump" in done.stderr


def _pg_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables = conn.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            ).all()
            return {
                t: sorted(map(tuple, conn.execute(text(f'SELECT * FROM "{t}"')).all()), key=repr)
                for t in tables
            }
    finally:
        engine.dispose()


@pytest.mark.skipif(not ON_POSTGRES, reason="the README's pg_dump/pg_restore commands")
@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_pg_dump_and_pg_restore_as_documented(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as source, fresh_database(tmp_path) as target:
        prepared_engine(source).dispose()
        dump = tmp_path / "chaintrack.dump"
        src, dst = make_url(source), make_url(target)
        common = ["-h", src.host or "127.0.0.1", "-U", src.username or "postgres"]
        if src.port:
            common += ["-p", str(src.port)]
        env = {**os.environ, **({"PGPASSWORD": src.password} if src.password else {})}
        subprocess.run(
            ["pg_dump", *common, "-Fc", "-f", str(dump), str(src.database)],
            check=True,
            env=env,
            timeout=120,
        )
        restore = ["pg_restore", *common, "--clean", "--if-exists", "--no-owner"]
        subprocess.run(
            [*restore, "-d", str(dst.database), str(dump)],
            check=True,
            env=env,
            timeout=120,
        )
        assert _pg_rows(target) == _pg_rows(source)
