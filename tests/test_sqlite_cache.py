"""Memory per worker (issue 23): small page caches for serving connections, a large one
only on the connection that writes an import, and only while it does."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from chaintrack.config import Settings
from chaintrack.db import IMPORT_CACHE_KIB, engine_from_settings, import_cache


@pytest.fixture
def sqlite_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cache.db'}"


def _cache_kib(session: Session) -> int:
    return -int(session.connection().exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_serving_connections_take_the_configured_cache(sqlite_file: str) -> None:
    engine = engine_from_settings(Settings(database_url=sqlite_file, sqlite_cache_kib=1024))
    try:
        with Session(engine) as session:
            assert _cache_kib(session) == 1024
    finally:
        engine.dispose()


def test_an_import_gets_the_large_cache_only_while_it_writes(sqlite_file: str) -> None:
    engine = engine_from_settings(Settings(database_url=sqlite_file))
    try:
        with Session(engine) as session:
            serving = _cache_kib(session)
            assert serving == Settings().sqlite_cache_kib < IMPORT_CACHE_KIB
            with import_cache(session):
                assert _cache_kib(session) == IMPORT_CACHE_KIB
            assert _cache_kib(session) == serving
            with pytest.raises(RuntimeError), import_cache(session):
                raise RuntimeError("an import that fails")
            assert _cache_kib(session) == serving  # given back on failure too
    finally:
        engine.dispose()
