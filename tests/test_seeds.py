"""Reference and demonstration data load, and loading twice changes nothing."""

from sqlalchemy import func, select

from chaintrack.identifiers import validate_uscc
from chaintrack.models import (
    Base,
    Chain,
    ChainGroup,
    Enterprise,
    ListType,
    ProgressReport,
    Project,
    Region,
    TierDefinition,
)
from chaintrack.models.enums import ProjectType, Tier
from chaintrack.seeding.demo import load_demo
from chaintrack.seeding.reference import load_reference


def _row_counts(db):
    return {
        t.name: db.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables
    }


def test_reference_data_is_loaded_and_idempotent(db):
    # The harness loaded it once; a second load must change nothing.
    before = _row_counts(db)
    assert load_reference(db) == {
        "regions": 0,
        "tiers": 0,
        "project_types": 0,
        "list_types": 0,
        "chains": 0,
        "problem_categories": 0,
    }
    assert _row_counts(db) == before

    groups = {g.code: g.name_zh for g in db.scalars(select(ChainGroup))}
    assert groups == {
        "CLUSTER": "具备国际竞争力的产业集群",
        "GROWTH": "新增长极",
        "FUTURE": "未来产业",
    }
    chains = {c.name_zh: c.name_en for c in db.scalars(select(Chain))}
    assert chains["第三代半导体"] == "Third-generation semiconductors"
    assert len(chains) >= 17
    cities = db.scalars(select(Region).where(Region.parent_code == "370000")).all()
    assert len([c for c in cities if c.abolished_on is None]) == 16
    laiwu = db.get(Region, "371200")
    assert laiwu is not None and laiwu.successor_code == "370100"
    assert {t.code for t in db.scalars(select(TierDefinition))} == set(Tier)
    types = {t.code for t in db.scalars(select(ListType))}
    assert {"sd2021_leading_enterprises", "sd2021_weak_links", "henan_key_projects"} <= types
    assert db.scalar(select(func.count()).select_from(ListType)) >= 11
    from chaintrack.models import ProjectTypeDefinition

    assert {p.code for p in db.scalars(select(ProjectTypeDefinition))} == set(ProjectType)


def test_demo_data_loads_once(db):
    created = load_demo(db)
    assert created > 0
    counts = _row_counts(db)
    assert load_demo(db) == 0
    assert _row_counts(db) == counts

    enterprises = db.scalars(select(Enterprise)).all()
    assert len(enterprises) >= 36
    for ent in enterprises:
        assert validate_uscc(ent.uscc) == ent.uscc
        assert "演示" in ent.name or "示例" in ent.name
    assert any(not e.uscc[0].isdigit() for e in enterprises), "some codes start with a letter"
    types = set(db.scalars(select(Project.type)))
    assert types == set(ProjectType)
    revised = db.scalar(select(func.count()).where(ProgressReport.revision > 1))
    assert revised and revised > 0
