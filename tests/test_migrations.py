"""The migrations build the schema the models describe, both ways, on this engine."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chaintrack import migrate
from chaintrack.db import make_engine
from chaintrack.models import Base


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def test_upgrade_downgrade_upgrade_matches_models(scratch_database_url):
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert _diff(engine) == []

        migrate.downgrade(engine, "base")
        assert migrate.current_revision(engine) is None
        leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert leftover == set()

        migrate.upgrade(engine)
        assert _diff(engine) == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
