"""The synthetic dataset is deterministic and internally consistent."""

from sqlalchemy import func, select

from chaintrack.identifiers import validate_uscc
from chaintrack.models import Enterprise, MapNode, Membership, ProgressReport, Project
from chaintrack.seeding.synthetic import generate


def _fingerprint(db):
    return (
        db.scalar(select(func.count()).select_from(Project)),
        db.scalar(select(func.sum(ProgressReport.investment_month))),
        db.scalar(select(func.count()).where(ProgressReport.superseded_at.is_not(None))),
        tuple(db.scalars(select(Enterprise.uscc).order_by(Enterprise.id).limit(5))),
    )


def test_same_seed_same_data(db):
    nested = db.begin_nested()
    counts = generate(db.connection(), seed=3, scale=0.01, end_period="2026-10")
    first = _fingerprint(db)
    nested.rollback()
    nested = db.begin_nested()
    assert generate(db.connection(), seed=3, scale=0.01, end_period="2026-10") == counts
    assert _fingerprint(db) == first
    # Valid codes; every membership's node is on its own chain (the composite FK holds).
    for uscc in first[3]:
        assert validate_uscc(uscc) == uscc
    mismatched = db.scalar(
        select(func.count())
        .select_from(Membership)
        .join(MapNode, MapNode.id == Membership.node_id)
        .where(MapNode.chain_id != Membership.chain_id)
    )
    assert mismatched == 0
    assert counts["progress_reports"] > counts["projects"] * 10
    nested.rollback()
