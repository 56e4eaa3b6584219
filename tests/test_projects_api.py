"""Projects through HTTP: register, read, search, update (both engines)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import (
    Project,
    ProjectAnnualPlan,
    ProjectStatusChange,
    ProjectTarget,
)
from chaintrack.models.enums import Assessment, ProjectStatus, ProjectType
from tests.factories import make_chain, make_enterprise, make_node, make_project
from tests.problems import assert_problem

URL = "/api/v1/projects"
NATIONAL = "2104-370600-04-01-A1B2C3"


def counts(db) -> tuple[int, int, int, int]:
    """Rows in the project aggregate's tables (to show nothing was written)."""
    return tuple(
        db.scalar(select(func.count()).select_from(m))
        for m in (Project, ProjectTarget, ProjectAnnualPlan, ProjectStatusChange)
    )


def body(chain, **kw):
    data = {
        "chain_id": chain.id,
        "name": "高端化工新材料补链项目",
        "type": "fill",
        "region_code": "370600",
        "total_investment": "50000",
    }
    data.update(kw)
    return data


# --- create -----------------------------------------------------------------------


def test_create_full_project(client, db):
    chain = make_chain(db, code="PJTHG")
    owner = make_enterprise(db)
    n1 = make_node(db, chain, assessment=Assessment.MISSING)
    n2 = make_node(db, chain)
    r = client.post(
        URL,
        json=body(
            chain,
            internal_code="sd-hg-2025-001",
            national_code=NATIONAL,
            owner_enterprise_id=owner.id,
            location="烟台市龙口市",
            planned_start="2025-03-01",
            planned_completion="2027-12-31",
            annual_plans=[
                {"year": 2025, "planned_investment": "10000"},
                {"year": 2026, "planned_investment": "20000.5"},
            ],
            target_node_ids=[n1.id, n2.id, n1.id],
            status="signed",
            status_date="2025-02-01",
        ),
    )
    assert r.status_code == 201, r.text
    out = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{URL}/{out['id']}"
    assert out["internal_code"] == "SD-HG-2025-001"
    assert out["national_code"] == NATIONAL
    assert out["chain"]["code"] == "PJTHG"
    assert out["owner"]["id"] == owner.id and out["owner"]["name"] == owner.name
    assert out["region_name"] == "烟台市"
    assert [t["node_id"] for t in out["targets"]] == [n1.id, n2.id]
    assert out["targets"][0]["name_zh"] == n1.name_zh
    assert out["targets"][0]["assessment"] == "missing"
    assert out["annual_plans"] == [
        {"year": 2025, "planned_investment": "10000.0000"},
        {"year": 2026, "planned_investment": "20000.5000"},
    ]
    assert out["annual_plans_total"] == "30000.5000"
    assert out["total_investment"] == "50000.0000"
    assert out["status"] == "signed" and out["status_label"] == "签约"
    assert out["allowed_transitions"] == ["under_construction", "suspended", "cancelled"]
    history = client.get(f"{URL}/{out['id']}/status-history").json()
    assert [(h["from_status"], h["to_status"], h["changed_on"]) for h in history] == [
        (None, "signed", "2025-02-01")
    ]


def test_create_minimal_generates_code_and_defaults(client, db):
    chain = make_chain(db, code="PJTJC")
    year = office_today().year
    make_project(db, chain, internal_code=f"PJTJC-{year}-007")
    r1 = client.post(URL, json=body(chain))
    r2 = client.post(URL, json=body(chain, name="第二个"))
    assert r1.status_code == 201, r1.text
    assert r1.json()["internal_code"] == f"PJTJC-{year}-008"
    assert r2.json()["internal_code"] == f"PJTJC-{year}-009"
    out = r1.json()
    assert out["status"] == "planned" and out["nature"] == "new" and out["level"] == "provincial"
    assert out["owner"] is None and out["targets"] == [] and out["annual_plans"] == []
    history = client.get(f"{URL}/{out['id']}/status-history").json()
    assert history[0]["changed_on"] == office_today().isoformat()


def test_create_under_construction_sets_actual_start(client, db):
    chain = make_chain(db)
    r = client.post(URL, json=body(chain, status="under_construction", status_date="2024-05-06"))
    assert r.status_code == 201, r.text
    assert r.json()["actual_start"] == "2024-05-06"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"total_investment": "-1"}, "total_investment"),
        ({"total_investment": "abc"}, "total_investment"),
        ({"national_code": "2104-370600-4-01-A1B2C3X"}, "national_code"),
        ({"national_code": "21A4-370600-04-01-A1B2C3"}, "national_code"),
        ({"region_code": "99"}, "region_code"),
        ({"type": "destroy"}, "type"),
        ({"status": "completed"}, "status"),
        ({"status": "in_operation"}, "status"),
        ({"id": 5}, "id"),
        ({"version": 3}, "version"),
        ({"actual_start": "2024-01-01"}, "actual_start"),
        ({"created_at": "2024-01-01T00:00:00Z"}, "created_at"),
        ({"annual_plans": [{"year": 2025, "planned_investment": "-5"}]}, "annual_plans"),
        (
            {
                "annual_plans": [
                    {"year": 2025, "planned_investment": "5"},
                    {"year": 2025, "planned_investment": "6"},
                ]
            },
            "annual_plans",
        ),
        ({"internal_code": "坏 code"}, "internal_code"),
        ({"name": ""}, "name"),
    ],
)
def test_create_refuses_bad_fields(client, db, extra, field):
    chain = make_chain(db)
    before = counts(db)
    r = client.post(URL, json=body(chain, **extra))
    assert_problem(r, 422, "validation", field=field)
    assert counts(db) == before


def test_national_code_error_names_the_part(client, db):
    chain = make_chain(db)
    r = client.post(URL, json=body(chain, national_code="2104-370600-0A-01-A1B2C3"))
    problem = assert_problem(r, 422, "validation", field="national_code")
    assert "supervising department" in problem["errors"][0]["message"]


def test_create_unknown_references(client, db):
    chain = make_chain(db)
    before = counts(db)
    r = client.post(URL, json=body(chain, chain_id=999_999))
    assert_problem(r, 422, "validation", field="chain_id")
    r = client.post(URL, json=body(chain, owner_enterprise_id=999_999))
    assert_problem(r, 422, "validation", field="owner_enterprise_id")
    r = client.post(URL, json=body(chain, target_node_ids=[999_999]))
    problem = assert_problem(r, 422, "validation", field="target_node_ids")
    assert problem["errors"][0]["code"] == "unknown_reference"
    assert counts(db) == before


def test_create_cross_chain_target(client, db):
    chain = make_chain(db)
    other = make_chain(db, code="OTHER1")
    own = make_node(db, chain)
    foreign = make_node(db, other)
    before = counts(db)
    r = client.post(URL, json=body(chain, target_node_ids=[own.id, foreign.id]))
    problem = assert_problem(r, 422, "validation", field="target_node_ids.1")
    err = problem["errors"][0]
    assert err["code"] == "cross_chain"
    assert "OTHER1" in err["message"] and "cross-chain" in err["message"]
    assert counts(db) == before


def test_create_date_order_and_future_status_date(client, db):
    chain = make_chain(db)
    before = counts(db)
    r = client.post(
        URL, json=body(chain, planned_start="2026-01-01", planned_completion="2025-12-31")
    )
    assert_problem(r, 422, "validation", field="planned_completion")
    tomorrow = (office_today() + dt.timedelta(days=1)).isoformat()
    r = client.post(URL, json=body(chain, status_date=tomorrow))
    assert_problem(r, 422, "validation", field="status_date")
    assert counts(db) == before


def test_create_plans_exceeding_total(client, db):
    chain = make_chain(db)
    before = counts(db)
    r = client.post(
        URL,
        json=body(
            chain,
            total_investment="100",
            annual_plans=[
                {"year": 2025, "planned_investment": "60"},
                {"year": 2026, "planned_investment": "40.0001"},
            ],
        ),
    )
    problem = assert_problem(r, 422, "validation", field="annual_plans")
    assert problem["errors"][0]["code"] == "plans_exceed_total"
    assert counts(db) == before


def test_create_duplicate_codes(client, db):
    chain = make_chain(db)
    existing = make_project(db, chain, internal_code="DUP-001", national_code=NATIONAL)
    before = counts(db)
    r = client.post(URL, json=body(chain, internal_code="dup-001"))
    problem = assert_problem(r, 409, "conflict", field="internal_code")
    assert problem["existing"]["id"] == existing.id
    assert problem["existing"]["href"] == f"{URL}/{existing.id}"
    r = client.post(URL, json=body(chain, national_code=NATIONAL))
    problem = assert_problem(r, 409, "conflict", field="national_code")
    assert problem["existing"]["id"] == existing.id
    assert counts(db) == before


def test_bad_json_is_400(client, db):
    r = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert_problem(r, 400, "bad-request")


# --- read -------------------------------------------------------------------------


def test_get_unknown_project_is_404(client):
    r = client.get(f"{URL}/999999")
    problem = assert_problem(r, 404, "not-found")
    assert problem["entity"] == "project"
    for path in ("status-history", "annual-plans"):
        assert_problem(client.get(f"{URL}/999999/{path}"), 404, "not-found")


def test_list_filters_and_sort(client, db):
    c1 = make_chain(db, code="LCA")
    c2 = make_chain(db, code="LCB")
    owner = make_enterprise(db, name="示例业主有限公司")
    today = office_today()
    p1 = make_project(
        db,
        c1,
        name="甲项目",
        type=ProjectType.FILL,
        region_code="370602",
        owner_enterprise_id=owner.id,
        total_investment=Decimal("300"),
        internal_code="LCA-X-1",
    )
    p2 = make_project(
        db,
        c1,
        name="乙项目",
        type=ProjectType.BUILD,
        status=ProjectStatus.PLANNED,
        planned_start=today - dt.timedelta(days=30),
        region_code="370100",
        total_investment=Decimal("100"),
    )
    p3 = make_project(db, c2, name="丙项目", region_code="370611", total_investment=Decimal("200"))

    def ids(**params):
        r = client.get(URL, params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]], r.json()["total"]

    assert ids(chain_id=c1.id) == ([p1.id, p2.id], 2)
    assert ids(chain_id=c1.id, type="build") == ([p2.id], 1)
    assert ids(status="planned", chain_id=c1.id) == ([p2.id], 1)
    assert ids(region_code="3706", sort="-total_investment") == ([p1.id, p3.id], 2)
    assert ids(owner_enterprise_id=owner.id) == ([p1.id], 1)
    assert ids(q="乙项", chain_id=c1.id) == ([p2.id], 1)
    assert ids(q="lca-x", chain_id=c1.id) == ([p1.id], 1)
    assert ids(chain_id=c1.id, behind_schedule="true") == ([p2.id], 1)
    assert ids(chain_id=c1.id, behind_schedule="false") == ([p1.id], 1)
    assert ids(chain_id=c1.id, sort="total_investment") == ([p2.id, p1.id], 2)
    assert ids(chain_id=c1.id, limit=1, offset=1) == ([p2.id], 2)

    item = client.get(URL, params={"owner_enterprise_id": owner.id}).json()["items"][0]
    assert item["owner_name"] == "示例业主有限公司"
    assert item["chain_code"] == "LCA"
    assert item["type_label"] == "补链" and item["status_label"] == "在建"
    assert item["total_investment"] == "300.0000"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "colour"}, "sort"),
        ({"status": "lost"}, "status"),
        ({"region_code": "37a"}, "region_code"),
        ({"limit": 100000}, "limit"),
    ],
)
def test_list_bad_query(client, params, field):
    assert_problem(client.get(URL, params=params), 422, "validation", field=field)


def test_list_statement_count_does_not_grow(client, db, count_statements):
    chain = make_chain(db)

    def add(n: int) -> None:
        for _ in range(n):
            owner = make_enterprise(db)
            make_project(db, chain, owner_enterprise_id=owner.id)

    add(2)
    with count_statements() as small:
        r = client.get(URL, params={"chain_id": chain.id, "limit": 200})
    assert r.json()["total"] == 2
    add(20)
    with count_statements() as large:
        r = client.get(URL, params={"chain_id": chain.id, "limit": 200})
    assert r.json()["total"] == 22
    assert all(i["owner_name"] for i in r.json()["items"])
    assert large.count == small.count <= 3


def test_detail_statement_count_does_not_grow(client, db, count_statements):
    chain = make_chain(db)
    nodes = [make_node(db, chain) for _ in range(12)]
    small = make_project(db, chain)
    db.add(ProjectTarget(project_id=small.id, node_id=nodes[0].id, chain_id=chain.id))
    big = make_project(db, chain)
    db.add_all(ProjectTarget(project_id=big.id, node_id=n.id, chain_id=chain.id) for n in nodes)
    db.add_all(
        ProjectAnnualPlan(project_id=big.id, year=y, planned_investment=Decimal(1))
        for y in range(2020, 2030)
    )
    db.flush()
    with count_statements() as c1:
        assert client.get(f"{URL}/{small.id}").status_code == 200
    with count_statements() as c2:
        r = client.get(f"{URL}/{big.id}")
    assert len(r.json()["targets"]) == 12 and len(r.json()["annual_plans"]) == 10
    assert c1.count == c2.count


# --- update -----------------------------------------------------------------------


def test_patch_updates_fields_and_targets(client, db):
    chain = make_chain(db)
    owner = make_enterprise(db)
    n1, n2, n3 = (make_node(db, chain) for _ in range(3))
    created = client.post(URL, json=body(chain, target_node_ids=[n1.id, n2.id])).json()
    url = f"{URL}/{created['id']}"
    r = client.patch(
        url,
        headers={"If-Match": '"1"'},
        json={
            "name": "改名后的项目",
            "owner_enterprise_id": owner.id,
            "national_code": NATIONAL,
            "planned_start": "2025-01-01",
            "planned_completion": "2026-06-30",
            "total_investment": "60000",
            "target_node_ids": [n2.id, n3.id],
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert r.headers["ETag"] == '"2"' and out["version"] == 2
    assert out["name"] == "改名后的项目" and out["owner"]["id"] == owner.id
    assert sorted(t["node_id"] for t in out["targets"]) == sorted([n2.id, n3.id])
    assert out["total_investment"] == "60000.0000"
    # targets alone also move the version on; clearing an optional field works
    r = client.patch(
        url, headers={"If-Match": '"2"'}, json={"target_node_ids": [], "national_code": None}
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"3"'
    assert r.json()["targets"] == [] and r.json()["national_code"] is None
    # a no-op leaves the version alone
    r = client.patch(url, headers={"If-Match": '"3"'}, json={"name": "改名后的项目"})
    assert r.headers["ETag"] == '"3"'
    assert client.get(url).headers["ETag"] == '"3"'


def _snapshot(db, project_id):
    p = db.scalars(
        select(Project).where(Project.id == project_id).execution_options(populate_existing=True)
    ).one()
    targets = db.scalars(
        select(ProjectTarget.node_id).where(ProjectTarget.project_id == project_id)
    ).all()
    return (p.version, p.name, p.status, p.total_investment, p.owner_enterprise_id, sorted(targets))


def test_patch_preconditions(client, db):
    chain = make_chain(db)
    p = make_project(db, chain)
    url = f"{URL}/{p.id}"
    before = _snapshot(db, p.id)
    assert_problem(client.patch(url, json={"name": "x"}), 428, "precondition-required")
    r = client.patch(url, headers={"If-Match": '"7"'}, json={"name": "x"})
    problem = assert_problem(r, 412, "precondition-failed")
    assert problem["current_etag"] == '"1"'
    assert_problem(
        client.patch(f"{URL}/999999", headers={"If-Match": '"1"'}, json={"name": "x"}),
        404,
        "not-found",
    )
    assert _snapshot(db, p.id) == before


@pytest.mark.parametrize(
    ("patch", "status", "field"),
    [
        ({"status": "completed"}, 422, "status"),
        ({"version": 9}, 422, "version"),
        ({"chain_id": 1}, 422, "chain_id"),
        ({"actual_completion": "2025-01-01"}, 422, "actual_completion"),
        ({"annual_plans": []}, 422, "annual_plans"),
        ({"name": None}, 422, "name"),
        ({"total_investment": None}, 422, "total_investment"),
        ({"total_investment": "-0.01"}, 422, "total_investment"),
        ({"owner_enterprise_id": 999999}, 422, "owner_enterprise_id"),
        ({"target_node_ids": [999999]}, 422, "target_node_ids"),
        ({"planned_completion": "2024-12-31"}, 422, "planned_completion"),
        ({"total_investment": "10"}, 422, "total_investment"),
        ({"national_code": "2104-370600-04-01-A1B2C"}, 422, "national_code"),
    ],
)
def test_patch_refuses_bad_input(client, db, patch, status, field):
    chain = make_chain(db)
    p = make_project(
        db,
        chain,
        planned_start=dt.date(2025, 1, 1),
        total_investment=Decimal("100"),
    )
    db.add(ProjectAnnualPlan(project_id=p.id, year=2025, planned_investment=Decimal("50")))
    db.flush()
    before = _snapshot(db, p.id)
    r = client.patch(f"{URL}/{p.id}", headers={"If-Match": '"1"'}, json=patch)
    assert_problem(r, status, "validation", field=field)
    assert _snapshot(db, p.id) == before


def test_patch_cross_chain_target_and_duplicates(client, db):
    chain = make_chain(db)
    other = make_chain(db)
    foreign = make_node(db, other)
    p = make_project(db, chain)
    taken = make_project(db, chain, internal_code="TAKEN-1", national_code=NATIONAL)
    before = _snapshot(db, p.id)
    url = f"{URL}/{p.id}"
    r = client.patch(url, headers={"If-Match": '"1"'}, json={"target_node_ids": [foreign.id]})
    problem = assert_problem(r, 422, "validation", field="target_node_ids.0")
    assert problem["errors"][0]["code"] == "cross_chain"
    r = client.patch(url, headers={"If-Match": '"1"'}, json={"internal_code": "taken-1"})
    assert assert_problem(r, 409, "conflict", field="internal_code")["existing"]["id"] == taken.id
    r = client.patch(url, headers={"If-Match": '"1"'}, json={"national_code": NATIONAL})
    assert assert_problem(r, 409, "conflict", field="national_code")["existing"]["id"] == taken.id
    assert _snapshot(db, p.id) == before
    # keeping its own code is not a duplicate
    r = client.patch(
        f"{URL}/{taken.id}", headers={"If-Match": '"1"'}, json={"internal_code": "TAKEN-1"}
    )
    assert r.status_code == 200, r.text


def test_openapi_documents_lifecycle(client):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/v1/projects/{project_id}/transitions"]["post"]
    assert "`suspended` (暂停) →" in op["description"]
    assert "409" in op["responses"] and "412" in op["responses"]
