"""The migrations build the schema the models describe, both ways, on this engine."""

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.db import make_engine
from chaintrack.models import Base
from tests.factories import make_chain, make_enterprise, make_membership


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


def test_env_accepts_an_engine_as_pytest_alembic_hands_over(scratch_database_url):
    engine = make_engine(scratch_database_url)
    try:
        cfg = migrate.alembic_config(engine)
        cfg.attributes["connection"] = engine
        command.upgrade(cfg, "head")
        # Committed by env.py: another connection sees the schema.
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert "memberships" in inspect(engine).get_table_names()
        command.downgrade(cfg, "base")
        assert migrate.current_revision(engine) is None
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()


def test_env_refuses_anything_else_as_the_connection(scratch_database_url):
    engine = make_engine(scratch_database_url)
    try:
        cfg = migrate.alembic_config(engine)
        cfg.attributes["connection"] = scratch_database_url
        with pytest.raises(TypeError, match="Connection or Engine"):
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def test_existing_overlapping_memberships_are_named_before_the_constraint(scratch_database_url):
    engine = make_engine(scratch_database_url)
    if engine.dialect.name != "postgresql":
        engine.dispose()
        pytest.skip("the exclusion constraint is PostgreSQL's")
    try:
        migrate.upgrade(engine, "0003")
        with Session(engine) as s:
            chain, ent = make_chain(s), make_enterprise(s)
            first = make_membership(s, ent, chain, started_on=dt.date(2024, 1, 1))
            second = make_membership(s, ent, chain, started_on=dt.date(2024, 6, 1))
            s.commit()
            pair = f"{first.id}/{second.id}"
        with pytest.raises(RuntimeError, match=pair):
            migrate.upgrade(engine)
        assert migrate.current_revision(engine) == "0003"
    finally:
        engine.dispose()


def test_attraction_target_list_entries_become_leads(scratch_database_url):
    from sqlalchemy import select

    from chaintrack.models import (
        AttractionLead,
        AttractionLeadNode,
        AttractionStep,
        ChainList,
        ListEntry,
    )
    from tests.factories import make_list_type, make_node

    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine, "0007")
        with Session(engine) as s:
            chain = make_chain(s)
            node = make_node(s, chain)
            kind = make_list_type(s, code="attraction_targets")
            listed = ChainList(chain_id=chain.id, list_type_id=kind.id, period="2025")
            s.add(listed)
            s.flush()
            attrs = {"target_enterprise": "某目标企业", "contact_status": "已初步接洽"}
            s.add(
                ListEntry(
                    list_id=listed.id,
                    chain_id=chain.id,
                    title="某招商",
                    node_id=node.id,
                    attributes=attrs,
                )
            )
            s.commit()
            ids = (chain.id, node.id)
        migrate.upgrade(engine)
        with Session(engine) as s:
            lead = s.scalars(select(AttractionLead)).one()
            assert (lead.chain_id, lead.company_name, lead.stage.value) == (
                ids[0],
                "某目标企业",
                "lead",
            )
            assert "已初步接洽" in (lead.note or "")
            nodes = s.scalars(select(AttractionLeadNode.node_id)).all()
            assert nodes == [ids[1]]
            assert s.scalars(select(AttractionStep.lead_id)).all() == [lead.id]
            assert s.scalar(select(ListEntry.id)) is not None  # the entry is kept
    finally:
        engine.dispose()
