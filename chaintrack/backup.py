"""Online backup and restore of the embedded SQLite database.

``chaintrack backup FILE`` copies the database named by ``CHAINTRACK_DATABASE_URL``
while the server keeps running and writing: SQLite's backup API copies every page
in one step inside one read transaction, so the copy is the database exactly as it
was at one commit (WAL mode lets writers go on meanwhile). The copy is checked
(``PRAGMA integrity_check``), switched to a self-contained rollback journal and
moved into place atomically.

``chaintrack restore FILE`` checks the backup (integrity, a chaintrack schema) and
copies it into the configured database through SQLite's own locking (the backup API
again), so even a running server sees either the old or the restored database, never
a mix. It refuses to replace a database that has data or that another process has
open unless given ``--force``. Run ``chaintrack db upgrade`` (or start the server)
afterwards when the backup is from an older version.

PostgreSQL has its own tools (``pg_dump -Fc`` / ``pg_restore``; see the README).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from chaintrack.config import Settings

# Tables whose row counts are printed after a backup or restore.
SUMMARY_TABLES = ("chains", "enterprises", "memberships", "projects", "progress_reports", "users")
PG_HINT = (
    "PostgreSQL: use pg_dump -Fc (backup) and pg_restore --clean --if-exists (restore); "
    "see the README's Reliability section"
)


class BackupError(Exception):
    """A refusal or a failed check, with a message for the operator."""


@dataclass(frozen=True)
class Summary:
    path: Path
    bytes: int
    revision: str | None
    counts: dict[str, int]
    seconds: float

    def describe(self) -> str:
        counts = ", ".join(f"{k} {v:,}" for k, v in self.counts.items())
        return (
            f"{self.path} ({self.bytes / 1024 / 1024:.1f} MiB, schema {self.revision or '?'}, "
            f"{self.seconds:.2f} s): {counts}"
        )


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"not an embedded SQLite database. {PG_HINT}")
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory database has nothing to back up")
    return Path(url.database)


def _connect(path: Path, *, readonly: bool = False, timeout_s: float = 30.0) -> sqlite3.Connection:
    if readonly:
        return sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=timeout_s, isolation_level=None
        )
    return sqlite3.connect(path, timeout=timeout_s, isolation_level=None)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def check(conn: sqlite3.Connection) -> None:
    """Integrity and foreign keys of a chaintrack database, or BackupError."""
    result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    if result != ["ok"]:
        raise BackupError(f"integrity check failed: {'; '.join(result[:5])}")
    broken = conn.execute("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        raise BackupError(f"foreign key check failed: {broken}")
    if "alembic_version" not in _tables(conn):
        raise BackupError("not a chaintrack database (no alembic_version table)")


def _summary(conn: sqlite3.Connection, path: Path, started: float) -> Summary:
    tables = _tables(conn)
    revision = None
    if "alembic_version" in tables:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        revision = row[0] if row else None
    counts = {
        t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
        for t in SUMMARY_TABLES
        if t in tables
    }
    size = path.stat().st_size if path.exists() else 0
    return Summary(path, size, revision, counts, time.perf_counter() - started)


def backup(source: Path, target: Path, *, force: bool = False) -> Summary:
    """A consistent copy of ``source`` at ``target``, taken while others write."""
    started = time.perf_counter()
    if not source.exists():
        raise BackupError(f"no database at {source}")
    if target.exists() and not force:
        raise BackupError(f"{target} exists; use --force to replace it")
    if target.resolve() == source.resolve():
        raise BackupError("the backup file must not be the database itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    src = _connect(source)  # read-write open: read-only cannot join a WAL database reliably
    dst = _connect(partial)
    try:
        # pages=-1: the whole database in one step, i.e. one read transaction on the
        # source: a snapshot as of one commit. (Stepwise copying restarts whenever
        # another connection writes, and could starve under a steady stream of writes.)
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check(dst)
        summary = _summary(dst, partial, started)
    except BaseException:
        dst.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    dst.close()
    os.replace(partial, target)
    return Summary(target, target.stat().st_size, summary.revision, summary.counts, summary.seconds)


def _holders(path: Path) -> list[int]:
    """Other processes with the database file open (Linux /proc; empty elsewhere)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    wanted = {str(path.resolve()), str(path.resolve()) + "-wal"}
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    found.append(int(entry.name))
                    break
        except OSError:
            continue
    return sorted(found)


def restore(backup_file: Path, target: Path, *, force: bool = False) -> Summary:
    """Replace the database at ``target`` with a checked backup."""
    started = time.perf_counter()
    if not backup_file.exists():
        raise BackupError(f"no backup at {backup_file}")
    try:
        src = _connect(backup_file, readonly=True)
        check(src)
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{backup_file} is not a readable SQLite database: {err}") from None
    try:
        if target.exists() and not force:
            holders = _holders(target)
            if holders:
                raise BackupError(
                    f"{target} is open in process(es) {', '.join(map(str, holders))} "
                    "(a running server?); use --force to restore into it anyway"
                )
            current = _connect(target)
            try:
                has_data = "alembic_version" in _tables(current)
            finally:
                current.close()
            if has_data:
                raise BackupError(
                    f"{target} already holds a chaintrack database; use --force to replace it"
                )
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = _connect(target)
        try:
            # Through SQLite's locks: other connections see the old or the new database.
            src.backup(dst, pages=-1)
            check(dst)
            summary = _summary(dst, target, started)
        finally:
            dst.close()
    finally:
        src.close()
    return summary


# ----------------------------------------------------------------------- command line


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    try:
        summary = backup(sqlite_path(settings.database_url), Path(args.file), force=args.force)
    except (BackupError, sqlite3.Error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if PG_HINT in str(err) else 1
    print(f"backup written: {summary.describe()}")
    return 0


def cmd_restore(args: argparse.Namespace, settings: Settings) -> int:
    try:
        target = sqlite_path(settings.database_url)
        summary = restore(Path(args.file), target, force=args.force)
    except (BackupError, sqlite3.Error) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2 if PG_HINT in str(err) else 1
    print(f"restored into {summary.describe()}")
    print("run `chaintrack db upgrade` if the backup is from an older version")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``backup`` and ``restore`` on the ``chaintrack`` command."""
    b = sub.add_parser(
        "backup", help="consistent online backup of the embedded SQLite database to FILE"
    )
    b.add_argument("file", help="the backup file to write")
    b.add_argument("--force", action="store_true", help="replace FILE if it exists")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="check a backup and restore it into the database")
    r.add_argument("file", help="a file written by `chaintrack backup`")
    r.add_argument(
        "--force",
        action="store_true",
        help="replace a database that has data or is open (e.g. by a running server)",
    )
    r.set_defaults(func=cmd_restore)
