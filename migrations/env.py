"""Alembic environment wired to chaintrack's metadata and settings.

The database is, in order: a Connection or an Engine handed in by the caller
(``config.attributes["connection"]``: chaintrack.migrate hands in a Connection in a
transaction; pytest-alembic and other tools hand in an Engine), the ``sqlalchemy.url``
option, or ``CHAINTRACK_DATABASE_URL``.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection, Engine

from chaintrack.config import get_settings
from chaintrack.db import make_engine
from chaintrack.models import Base
from chaintrack.models.base import ExactDecimal, JSONType, UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render chaintrack's own column types by the names migrations import them as."""
    if type_ != "type":
        return False
    rendered: str | None = None
    if isinstance(obj, ExactDecimal):
        rendered, name = f"ExactDecimal({obj.precision}, {obj.scale})", "ExactDecimal"
    elif isinstance(obj, UTCDateTime):
        rendered, name = "UTCDateTime()", "UTCDateTime"
    elif obj is JSONType:
        rendered, name = "JSONType", "JSONType"
    if rendered is None:
        return False
    autogen_context.imports.add(f"from chaintrack.models.base import {name}")  # type: ignore[attr-defined]
    return rendered


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_item,
    )


def _run_on(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    handed_in = config.attributes.get("connection")
    if isinstance(handed_in, Connection):
        # The caller's transaction (if any) is used; the caller commits.
        _run_on(handed_in)
        return
    if isinstance(handed_in, Engine):
        # The caller owns the engine: connect, migrate, commit, leave it open.
        with handed_in.connect() as conn:
            _run_on(conn)
            conn.commit()
        return
    if handed_in is not None:
        raise TypeError(
            'config.attributes["connection"] must be a SQLAlchemy Connection or Engine, '
            f"not {type(handed_in).__name__}"
        )
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
