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


def test_the_attraction_flow_is_plausible(db, client):
    """Leads at every stage with steps, funds for signed ones only; the funnel reads it."""
    from chaintrack.attraction import pipeline
    from chaintrack.models import AttractionFunds, AttractionLead, AttractionStep

    nested = db.begin_nested()
    counts = generate(db.connection(), seed=5, scale=0.01, end_period="2026-10")
    assert counts["attraction_leads"] >= 10
    assert counts["attraction_steps"] > counts["attraction_leads"]
    stages = set(db.scalars(select(AttractionLead.stage).distinct()))
    assert len(stages) >= 4
    unsigned_funded = db.scalar(
        select(func.count())
        .select_from(AttractionFunds)
        .join(AttractionLead, AttractionLead.id == AttractionFunds.lead_id)
        .where(AttractionLead.signed_on.is_(None))
    )
    assert unsigned_funded == 0
    # Every lead's latest step is its stage (the as-of funnel agrees with the current one).
    latest = {}
    for lead_id, to in db.execute(
        select(AttractionStep.lead_id, AttractionStep.to_stage).order_by(
            AttractionStep.lead_id, AttractionStep.happened_on, AttractionStep.id
        )
    ):
        latest[lead_id] = to
    assert latest == dict(db.execute(select(AttractionLead.id, AttractionLead.stage)).all())
    r = client.get("/api/v1/attraction/funnel", params={"year": 2026})
    first = r.json()["stages"][0]
    assert first["stage"] == pipeline.FORWARD[0] and first["reached"] >= counts["attraction_leads"]
    nested.rollback()
