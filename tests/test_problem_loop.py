"""The problem loop through HTTP: raise → accept → escalate → handle → rate, 退回, 督办,
the refusals (409 with the allowed actions, 412, 403), lists, figures and the migration."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from chaintrack import migrate
from chaintrack.db import make_engine
from chaintrack.history import office_today
from chaintrack.models import Problem, ProblemStep
from chaintrack.models.enums import UserRole
from chaintrack.problems.rules import ESCALATION_DAYS
from chaintrack.seeding.reference import load_project_types, load_regions
from tests.factories import make_chain, make_enterprise, make_membership, make_project
from tests.problems import assert_problem

API = "/api/v1"


def _step(client, pid: int, action: str, body: dict | None = None, etag: str | None = None):
    if etag is None:
        etag = client.get(f"{API}/problems/{pid}").headers["ETag"]
    return client.post(
        f"{API}/problems/{pid}/{action}", json=body or {}, headers={"If-Match": etag}
    )


@pytest.fixture
def chain(db):
    return make_chain(db)


@pytest.fixture
def clerk(make_user, chain):
    return make_user(UserRole.EDITOR, chains=[chain])


def test_the_loop_from_raise_to_satisfied(db, chain, clerk, client_for, client):
    me = client_for(clerk)
    project = make_project(db, chain)
    r = me.post(
        f"{API}/problems",
        json={
            "chain_id": chain.id,
            "project_id": project.id,
            "category": "land",
            "description": "用地指标未落实",
        },
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    assert r.json()["state"] == "pending" and r.json()["level"] == "county"
    assert r.json()["subject"] == "project" and r.json()["raised_by"] == clerk.id
    assert r.json()["deadline"] == str(office_today() + dt.timedelta(days=15))

    assert _step(me, pid, "accept", {"note": "已受理"}).json()["state"] == "in_progress"
    r = _step(me, pid, "escalate", {"responsible_unit": "市自然资源局"})
    assert r.json()["level"] == "city" and r.json()["state"] == "pending"
    days = ESCALATION_DAYS[r.json()["level"]]
    assert r.json()["deadline"] == str(office_today() + dt.timedelta(days=days))
    assert _step(me, pid, "accept").json()["state"] == "in_progress"
    r = _step(me, pid, "handle", {"resolution": "已供地"})
    assert r.json()["state"] == "handled" and r.json()["status"] == "resolved"

    # the raiser is unhappy: reopened at the same level
    r = _step(me, pid, "rate", {"satisfaction": "unsatisfied", "note": "仍未落实"})
    assert r.json()["state"] == "in_progress" and r.json()["status"] == "open"
    assert r.json()["resolved_on"] is None and r.json()["level"] == "city"
    _step(me, pid, "handle", {"resolution": "补充供地"})
    r = _step(me, pid, "rate", {"satisfaction": "satisfied"})
    assert r.json()["state"] == "rated" and r.json()["satisfaction"] == "satisfied"

    detail = me.get(f"{API}/problems/{pid}/timeline").json()
    assert [s["action"] for s in detail["steps"]] == [
        "raise", "accept", "escalate", "accept", "handle", "rate", "handle", "rate",
    ]  # fmt: skip
    assert all(s["actor_id"] == clerk.id for s in detail["steps"])
    assert detail["steps"][2]["from_level"] == "county" and detail["steps"][2]["to_level"] == "city"
    assert detail["allowed_actions"] == []
    # admin sees the same record; nothing is left to do on a rated problem
    assert client.get(f"{API}/problems/{pid}/timeline").json()["steps"] == detail["steps"]


def test_refusals(db, chain, clerk, client_for, client, make_user):
    me = client_for(clerk)
    pid = me.post(f"{API}/problems", json={"chain_id": chain.id, "description": "链上问题"}).json()[
        "id"
    ]
    # not allowed now: 409 listing what is
    r = _step(me, pid, "handle", {"resolution": "x"})
    assert_problem(r, 409, "conflict")
    assert r.json()["allowed"] == ["accept", "return", "escalate", "assign", "supervise"]
    # stale: 412, missing: 428
    assert_problem(_step(me, pid, "accept", etag='"99"'), 412, "precondition-failed")
    r = me.post(f"{API}/problems/{pid}/accept", json={})
    assert r.status_code == 428, r.text
    # escalate to the top, then refused
    for _ in range(3):
        assert _step(me, pid, "escalate").status_code == 200
    r = _step(me, pid, "escalate")
    assert_problem(r, 409, "conflict", detail="最高层级")
    assert "escalate" not in r.json()["allowed"]
    _step(me, pid, "accept")
    _step(me, pid, "handle", {"resolution": "链长协调解决"})
    # the rating: another editor of the chain may not; an administrator may, for the raiser
    other = client_for(make_user(UserRole.EDITOR, chains=[chain]))
    assert_problem(_step(other, pid, "rate", {"satisfaction": "fairly"}), 403, "forbidden")
    r = _step(client, pid, "rate", {"satisfaction": "fairly"})
    assert r.status_code == 200 and r.json()["state"] == "rated"
    last = db.scalars(
        select(ProblemStep).where(ProblemStep.problem_id == pid).order_by(ProblemStep.id.desc())
    ).first()
    assert last is not None and last.on_behalf_of == clerk.id and last.actor_id != clerk.id
    # a viewer gets 403 on every step
    viewer = client_for(make_user(UserRole.VIEWER))
    assert_problem(_step(viewer, pid, "accept"), 403, "forbidden")


def test_return_supervise_and_reply(db, chain, clerk, client_for):
    me = client_for(clerk)
    ent = make_enterprise(db)
    make_membership(db, ent, chain)
    r = me.post(
        f"{API}/problems",
        json={"chain_id": chain.id, "enterprise_id": ent.id, "description": "融资难"},
    )
    assert r.status_code == 201 and r.json()["subject"] == "enterprise"
    pid = r.json()["id"]
    # an enterprise that is not on the chain is refused in place
    stranger = make_enterprise(db)
    r = me.post(
        f"{API}/problems",
        json={"chain_id": chain.id, "enterprise_id": stranger.id, "description": "x"},
    )
    assert_problem(r, 422, "validation", field="enterprise_id")

    due = office_today().isoformat()
    r = _step(me, pid, "supervise", {"level": "county", "due_on": due, "note": "请加快"})
    assert_problem(r, 422, "validation", field="level")
    r = _step(me, pid, "supervise", {"level": "province", "due_on": due, "note": "请加快"})
    assert r.status_code == 201, r.text
    notice = r.json()
    assert notice["overdue"] is False and notice["level"] == "province"
    db.execute(
        text("UPDATE supervision_notices SET due_on = :d WHERE id = :i"),
        {"d": office_today() - dt.timedelta(days=1), "i": notice["id"]},
    )
    detail = me.get(f"{API}/problems/{pid}/timeline").json()
    assert detail["notices"][0]["overdue"] is True
    r = me.post(
        f"{API}/supervision-notices/{notice['id']}/reply",
        json={"reply": "已对接银行"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200 and r.json()["overdue"] is False
    r = me.post(
        f"{API}/supervision-notices/{notice['id']}/reply",
        json={"reply": "again"},
        headers={"If-Match": '"2"'},
    )
    assert_problem(r, 409, "conflict")

    r = _step(me, pid, "return", {"reason": "属企业自身经营问题"})
    assert r.json()["state"] == "returned" and r.json()["status"] == "resolved"
    assert r.json()["return_reason"] == "属企业自身经营问题"
    actions = [s["action"] for s in me.get(f"{API}/problems/{pid}/timeline").json()["steps"]]
    assert actions == ["raise", "supervise", "reply", "return"]


def test_list_filters_and_statements_at_two_sizes(db, chain, clerk, client_for, count_statements):
    me = client_for(clerk)
    other = make_chain(db)

    def raise_on(c, n, **extra):
        for _ in range(n):
            db.add(
                Problem(
                    subject="chain", chain_id=c.id, period=f"{office_today():%Y-%m}",
                    description="问题", raised_by=clerk.id, **extra,
                )
            )  # fmt: skip
        db.flush()

    raise_on(chain, 2)
    raise_on(other, 12, category="energy", deadline=office_today() - dt.timedelta(days=3))
    with count_statements() as small:
        r = me.get(f"{API}/problems", params={"chain_id": chain.id})
    assert r.json()["total"] == 2
    with count_statements() as large:
        r = me.get(f"{API}/problems", params={"chain_id": other.id})
    assert r.json()["total"] == 12 and len(r.json()["items"]) == 12
    assert small.count == large.count <= 3
    items = me.get(f"{API}/problems", params={"overdue": True, "category": "energy"}).json()
    assert items["total"] == 12 and items["items"][0]["category_label"] == "能耗"
    assert me.get(f"{API}/problems", params={"state": "rated"}).json()["total"] == 0

    # the figures: a fixed number of statements whatever the size
    with count_statements() as f1:
        figures = me.get(f"{API}/problem-figures").json()
    raise_on(other, 10)
    with count_statements() as f2:
        more = me.get(f"{API}/problem-figures").json()
    assert f1.count == f2.count <= 3
    by_chain = {c["chain_id"]: c for c in figures["chains"]}
    assert by_chain[other.id]["overdue"] == 12 and by_chain[other.id]["open"] == 12
    assert more["province"]["raised"] == figures["province"]["raised"] + 10


def test_existing_problems_come_over_raised_on_their_project(scratch_database_url):
    engine = make_engine(scratch_database_url)
    try:
        migrate.upgrade(engine, "0006")
        with Session(engine) as s:  # chains and projects are as they were at 0004
            load_regions(s)
            load_project_types(s)
            chain_row = make_chain(s)
            project, chain = make_project(s, chain_row).id, chain_row.id
            s.commit()
        with engine.begin() as conn:
            for desc, status, resolved in (
                ("未解决", "open", None),
                ("已解决", "resolved", "2025-02-01"),
            ):
                conn.execute(
                    text(
                        "INSERT INTO problems (project_id, period, description, status,"
                        " resolved_on, version) VALUES (:p, '2025-01', :d, :s, :r, 1)"
                    ),
                    {"p": project, "d": desc, "s": status, "r": resolved},
                )
        migrate.upgrade(engine)
        with Session(engine) as s:
            rows = s.scalars(select(Problem).order_by(Problem.id)).all()
            got = [(p.state, p.status, p.chain_id, p.subject, p.level, p.category) for p in rows]
            assert got == [
                ("in_progress", "open", chain, "project", "county", "other"),
                ("handled", "resolved", chain, "project", "county", "other"),
            ]  # fmt: skip
            steps = s.execute(
                select(ProblemStep.problem_id, ProblemStep.action, ProblemStep.to_state)
            ).all()
            assert sorted(steps) == sorted(
                [(rows[0].id, "migrate", "in_progress"), (rows[1].id, "migrate", "handled")]
            )
            assert s.scalar(select(func.count()).select_from(Problem)) == 2
    finally:
        engine.dispose()
