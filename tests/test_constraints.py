"""The database itself refuses bad enumeration values and cross-chain references.

Driven by the metadata: every enumerated column of every table is tried, so a
new table or column cannot slip through without a CHECK constraint.
"""

import datetime as dt

import pytest
from sqlalchemy import Enum as SAEnum
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from chaintrack.models import (
    AuditRecord,
    Base,
    ChainLeader,
    MapRelation,
    Problem,
    ProblemStep,
    ProjectStatusChange,
    SupervisionNotice,
    User,
)
from tests.factories import (
    make_chain,
    make_designation,
    make_enterprise,
    make_membership,
    make_node,
    make_project,
)
from tests.test_assessment import add_assessment_rows


def _enum_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, SAEnum):
                yield table, column


@pytest.fixture
def one_row_per_table(db):
    chain = make_chain(db)
    a, b = make_node(db, chain), make_node(db, chain)
    ent = make_enterprise(db)
    make_membership(db, ent, chain, node_id=a.id)
    make_designation(db, ent)
    project = make_project(db, chain)
    user = User(username="ck_user", display_name="检查", role="viewer")
    db.add_all(
        [
            ChainLeader(
                chain_id=chain.id, role="leader", person_name="某某", start_on=dt.date(2024, 1, 1)
            ),
            MapRelation(chain_id=chain.id, from_node_id=a.id, to_node_id=b.id),
            ProjectStatusChange(
                project_id=project.id,
                from_status=None,
                to_status="planned",
                changed_on=dt.date(2024, 1, 1),
            ),
            Problem(project_id=project.id, period="2024-01", description="问题"),
            user,
            AuditRecord(action="create", entity="chain", entity_id=str(chain.id)),
        ]
    )
    db.flush()
    # The dispatch review (issue 16): a review and its history.
    from chaintrack.models import ReportReview, ReviewEvent
    from tests.factories import make_report

    report = make_report(db, project, "2024-01")
    review = ReportReview(
        project_id=project.id, period="2024-01", report_id=report.id, state="pending"
    )
    db.add(review)
    db.flush()
    db.add(ReviewEvent(review_id=review.id, report_id=report.id, revision=1, action="submit"))
    db.flush()
    add_assessment_rows(db, chain)
    # the problem loop's records (issue 17)
    problem = db.scalars(select(Problem).where(Problem.project_id == project.id)).one()
    db.add_all(
        [
            ProblemStep(
                problem_id=problem.id, action="raise", to_state="pending", to_level="county"
            ),
            SupervisionNotice(
                problem_id=problem.id, level="city", note="督办", due_on=dt.date(2024, 2, 1)
            ),
        ]
    )
    db.flush()
    # investment attraction (招商): a lead and its first step
    from chaintrack.models import AttractionLead, AttractionStep

    lead = AttractionLead(
        chain_id=chain.id,
        company_name="检查企业",
        origin="德国",
        source="expo",
        intended_investment=1,
        responsible_unit="单位",
        responsible_person="某某",
        stage="lead",
        stage_on=dt.date(2024, 1, 1),
    )
    db.add(lead)
    db.flush()
    db.add(
        AttractionStep(
            lead_id=lead.id,
            to_stage="lead",
            happened_on=dt.date(2024, 1, 1),
            actor="某某",
            summary="登记",
        )
    )
    db.flush()
    return {"chain": chain, "nodes": (a, b)}


def test_every_enumerated_column_has_a_check_constraint(db, one_row_per_table):
    covered = []
    for table, column in _enum_columns():
        pk = next(iter(table.primary_key.columns))
        row = db.execute(text(f"SELECT {pk.name} FROM {table.name} LIMIT 1")).first()
        assert row is not None, f"no row in {table.name} to test {column.name} on"
        nested = db.begin_nested()
        with pytest.raises(IntegrityError):
            db.execute(
                text(
                    f"UPDATE {table.name} SET {column.name} = 'not-a-value' WHERE {pk.name} = :pk"
                ),
                {"pk": row[0]},
            )
        nested.rollback()
        covered.append(f"{table.name}.{column.name}")
    assert len(covered) >= 20


def test_a_node_cannot_have_a_parent_on_another_chain(db):
    chain_a, chain_b = make_chain(db), make_chain(db)
    foreign_parent = make_node(db, chain_b)
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        make_node(db, chain_a, parent_id=foreign_parent.id)
    nested.rollback()


def test_negative_money_is_refused_by_the_database(db):
    chain = make_chain(db)
    project = make_project(db, chain)
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        db.execute(
            text("UPDATE projects SET total_investment = -1 WHERE id = :id"), {"id": project.id}
        )
    nested.rollback()


def test_only_one_current_progress_report_per_period(db):
    chain = make_chain(db)
    project = make_project(db, chain)
    from tests.factories import make_report

    make_report(db, project, "2024-01")
    nested = db.begin_nested()
    with pytest.raises(IntegrityError):
        make_report(db, project, "2024-01", revision=2)
    nested.rollback()
    index_names = {ix["name"] for ix in inspect(db.connection()).get_indexes("progress_reports")}
    assert "uq_progress_reports_current" in index_names


def test_status_as_of_window_has_its_index(db):
    indexes = {
        ix["name"]: ix["column_names"]
        for ix in inspect(db.connection()).get_indexes("project_status_changes")
    }
    assert indexes["ix_project_status_changes_as_of"] == ["project_id", "changed_on", "id"]


def _try_membership(db, ent, chain, **kw) -> bool:
    """Insert in a savepoint; True when the database took it (then it is kept)."""
    nested = db.begin_nested()
    try:
        make_membership(db, ent, chain, **kw)
    except IntegrityError as exc:
        nested.rollback()
        assert "ex_memberships_no_overlap" in str(exc.orig)
        return False
    nested.commit()
    return True


def test_overlapping_memberships_are_refused_by_postgresql(db, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite serialises writers; the service's check holds the rule there")
    chain = make_chain(db)
    ent = make_enterprise(db)
    node, other_node = make_node(db, chain), make_node(db, chain)
    d = dt.date
    # [2024-01-01, 2024-07-01) on the node.
    assert _try_membership(db, ent, chain, node_id=node.id, ended_on=d(2024, 7, 1))
    # Overlapping, on the same node and role: refused; open-ended ones too.
    assert not _try_membership(db, ent, chain, node_id=node.id, started_on=d(2024, 6, 30))
    assert not _try_membership(db, ent, chain, node_id=node.id, started_on=d(2023, 1, 1))
    # ended_on is exclusive: starting on it is no overlap.
    assert _try_membership(db, ent, chain, node_id=node.id, started_on=d(2024, 7, 1))
    # Another node or another role is another slot.
    assert _try_membership(db, ent, chain, node_id=other_node.id, started_on=d(2024, 3, 1))
    assert _try_membership(
        db, ent, chain, node_id=node.id, role="leading", started_on=d(2024, 3, 1)
    )
    # Without a node: two open-ended chain-level memberships collide, as the check says.
    assert _try_membership(db, ent, chain, started_on=d(2024, 1, 1))
    assert not _try_membership(db, ent, chain, started_on=d(2025, 1, 1))
