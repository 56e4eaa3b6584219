"""Investment attraction (招商): leads on the map's gaps, the pipeline, funds, 落地, figures."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from chaintrack.attraction import pipeline
from chaintrack.attraction.service import attraction_figures
from chaintrack.history import office_today
from chaintrack.models import (
    AttractionLead,
    AttractionStep,
    AuditRecord,
    Enterprise,
    Membership,
    Project,
    ProjectTarget,
)
from chaintrack.models.attraction import LeadSource, LeadStage
from chaintrack.models.enums import Assessment
from tests.factories import fake_uscc, make_chain, make_enterprise, make_node, make_project
from tests.problems import assert_problem

URL = "/api/v1/attraction/leads"
TODAY = office_today()
DAY = TODAY.isoformat()
YEAR = TODAY.year
MONTH = f"{YEAR:04d}-{TODAY.month:02d}"
SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "reference"


def new_lead(client, chain, nodes, **kw) -> dict:
    data = {
        "chain_id": chain.id,
        "company_name": "示例精密部件有限公司",
        "origin": "江苏省",
        "source": "expo",
        "intended_investment": "20000",
        "responsible_unit": "烟台市商务局",
        "responsible_person": "王某",
        "node_ids": [n.id for n in nodes],
    }
    data.update(kw)
    r = client.post(URL, json=data)
    assert r.status_code == 201, r.text
    return r.json()


def step(client, lead: dict, etag: str | None = None, **kw):
    body = {"happened_on": DAY, "actor": "王某", "summary": "跟进"}
    body.update(kw)
    return client.post(
        f"{URL}/{lead['id']}/steps", json=body, headers={"If-Match": etag or f'"{lead["version"]}"'}
    )


def advance(client, lead: dict, *stages: str, **kw) -> dict:
    for to in stages:
        extra = {"signed_amount": "15000"} if to == "signed" else {}
        r = step(client, lead, to_stage=to, **extra, **kw)
        assert r.status_code == 200, r.text
        lead = r.json()
    return lead


def land_body(**kw) -> dict:
    body = {
        "happened_on": DAY,
        "actor": "王某",
        "uscc": fake_uscc(),
        "region_code": "370600",
        "project_name": "精密部件补链项目",
        "project_type": "fill",
    }
    body.update(kw)
    return body


def test_the_source_catalogue_is_the_seeds_catalogue(client):
    seeds = json.loads((SEEDS / "attraction_sources.json").read_text("utf-8"))
    assert [(s["code"], s["name_zh"]) for s in seeds] == [(s.value, s.label_zh) for s in LeadSource]
    r = client.get("/api/v1/attraction/sources")
    assert [s["name_zh"] for s in r.json()] == ["链主推荐", "展会", "驻外机构", "以商招商", "其他"]


def test_pipeline_moves_one_stage_or_terminates():
    assert pipeline.allowed_next(LeadStage.LEAD) == [LeadStage.CONTACT, LeadStage.TERMINATED]
    assert pipeline.allowed_next(LeadStage.LANDED) == [LeadStage.STARTED, LeadStage.TERMINATED]
    assert pipeline.allowed_next(LeadStage.STARTED) == []
    assert pipeline.allowed_next(LeadStage.TERMINATED) == []


def test_create_lead_validates_uscc_origin_and_nodes(client, db):
    chain, other = make_chain(db), make_chain(db)
    node, foreign = make_node(db, chain), make_node(db, other)
    lead = new_lead(client, chain, [node], uscc=fake_uscc(), origin=None)
    assert lead["stage"] == "lead" and lead["allowed_next"] == ["contact", "terminated"]
    assert [n["id"] for n in lead["nodes"]] == [node.id]
    assert lead["steps"][0]["to_stage"] == "lead"
    before = db.scalar(select(func.count()).select_from(AttractionLead))
    bad = fake_uscc()[:-1] + ("0" if fake_uscc()[-1] != "0" else "1")
    r = client.post(URL, json={**_body(chain, [node]), "uscc": bad})
    assert_problem(r, 422, "validation", field="uscc")
    r = client.post(URL, json={**_body(chain, [node]), "origin": None})
    assert_problem(r, 422, "validation", field="origin")
    r = client.post(URL, json=_body(chain, [node, foreign]))
    assert_problem(r, 422, "validation", field="node_ids.1", detail="another chain")
    assert db.scalar(select(func.count()).select_from(AttractionLead)) == before


def _body(chain, nodes) -> dict:
    return {
        "chain_id": chain.id,
        "company_name": "某公司",
        "origin": "德国",
        "source": "other",
        "intended_investment": "1",
        "responsible_unit": "单位",
        "responsible_person": "人",
        "node_ids": [n.id for n in nodes],
    }


def test_stage_moves_along_the_pipeline_only(client, db):
    chain = make_chain(db)
    lead = new_lead(client, chain, [make_node(db, chain)])
    r = step(client, lead, to_stage="negotiation")
    body = assert_problem(r, 409, "conflict")
    assert body["allowed"] == ["contact", "terminated"]
    r = step(client, lead, etag='"99"', to_stage="contact")
    assert r.status_code == 412
    lead = advance(client, lead, "contact")
    # A contact without a move is a dated step too, with the next contact date.
    r = step(client, lead, next_step="寄送资料", next_contact_on=DAY)
    assert r.status_code == 200 and r.json()["stage"] == "contact"
    assert r.json()["steps"][-1]["next_step"] == "寄送资料"
    lead = r.json()
    assert_problem(step(client, lead, to_stage="terminated"), 422, "validation", field="reason")
    r = step(client, lead, to_stage="terminated", reason="企业战略调整")
    assert r.json()["stage"] == "terminated" and r.json()["terminated_from"] == "contact"
    assert_problem(step(client, r.json(), to_stage="visit"), 409, "conflict")


def test_signing_needs_the_amount_and_funds_wait_for_signing(client, db):
    chain = make_chain(db)
    lead = new_lead(client, chain, [make_node(db, chain)])
    etag = f'"{lead["version"]}"'
    r = client.post(
        f"{URL}/{lead['id']}/funds",
        json={"period": MONTH, "amount": "1"},
        headers={"If-Match": etag},
    )
    assert_problem(r, 409, "conflict")
    lead = advance(client, lead, "contact", "visit", "negotiation")
    assert_problem(step(client, lead, to_stage="signed"), 422, "validation", field="signed_amount")
    lead = advance(client, lead, "signed")
    assert lead["signed_amount"] == "15000.0000"
    for amount in ("3000", "4000.5"):  # the month's figure is replaced, not added
        r = client.post(
            f"{URL}/{lead['id']}/funds",
            json={"period": MONTH, "amount": amount},
            headers={"If-Match": f'"{lead["version"]}"'},
        )
        assert r.status_code == 200, r.text
        lead = r.json()
    assert lead["funds_total"] == "4000.5000"
    totals = attraction_figures(db, chain.id, YEAR)
    assert (totals.signed, totals.received) == (Decimal("15000"), Decimal("4000.5"))
    assert step(client, lead, to_stage="landed").status_code == 422  # through /land only


def test_landing_converts_into_enterprise_membership_and_project(client, db):
    chain = make_chain(db)
    gap = make_node(db, chain, assessment=Assessment.MISSING)
    lead = advance(
        client, new_lead(client, chain, [gap]), "contact", "visit", "negotiation", "signed"
    )
    body = land_body()
    r = client.post(
        f"{URL}/{lead['id']}/land", json=body, headers={"If-Match": f'"{lead["version"]}"'}
    )
    assert r.status_code == 200, r.text
    landed = r.json()
    assert landed["stage"] == "landed" and landed["allowed_next"] == ["started", "terminated"]
    ent = db.get(Enterprise, landed["enterprise"]["id"])
    project = db.get(Project, landed["project"]["id"])
    assert ent.uscc == body["uscc"] and project.owner_enterprise_id == ent.id
    assert project.type.value == "fill" and project.total_investment == Decimal("15000")
    targets = db.scalars(
        select(ProjectTarget.node_id).where(ProjectTarget.project_id == project.id)
    )
    assert list(targets) == [gap.id]
    assert (
        db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.enterprise_id == ent.id, Membership.chain_id == chain.id)
        )
        == 1
    )
    # The links both ways: lead -> enterprise/project, project/enterprise -> lead.
    for key, value in (("project_id", project.id), ("enterprise_id", ent.id)):
        found = client.get(URL, params={key: value}).json()["items"]
        assert [x["id"] for x in found] == [lead["id"]]
    # Every row written by the conversion is in the audit trail under one request.
    rid = r.headers["X-Request-ID"]
    entities = set(db.scalars(select(AuditRecord.entity).where(AuditRecord.request_id == rid)))
    assert {"attraction_leads", "enterprises", "projects", "memberships"} <= entities
    # 开工 moves the project to 在建 through the projects lifecycle.
    r = step(client, landed, to_stage="started")
    assert r.status_code == 200, r.text
    db.expire_all()
    assert db.get(Project, project.id).status.value == "under_construction"


def test_landing_with_a_registered_uscc_links_the_enterprise(client, db):
    chain = make_chain(db)
    ent = make_enterprise(db)
    lead = advance(
        client,
        new_lead(client, chain, [make_node(db, chain)], uscc=ent.uscc),
        "contact",
        "visit",
        "negotiation",
        "signed",
    )
    before = db.scalar(select(func.count()).select_from(Enterprise))
    body = land_body(uscc=None, project_type="extend")
    body.pop("uscc")
    r = client.post(
        f"{URL}/{lead['id']}/land", json=body, headers={"If-Match": f'"{lead["version"]}"'}
    )
    assert r.status_code == 200, r.text
    assert r.json()["enterprise"]["id"] == ent.id
    assert db.scalar(select(func.count()).select_from(Enterprise)) == before
    r = client.post(
        f"{URL}/{lead['id']}/land",
        json=land_body(),
        headers={"If-Match": f'"{r.json()["version"]}"'},
    )
    assert_problem(r, 409, "conflict")


def test_land_refuses_before_signing_and_wrong_types(client, db):
    chain = make_chain(db)
    lead = new_lead(client, chain, [make_node(db, chain)])
    etag = {"If-Match": f'"{lead["version"]}"'}
    assert_problem(
        client.post(f"{URL}/{lead['id']}/land", json=land_body(), headers=etag), 409, "conflict"
    )
    lead = advance(client, lead, "contact", "visit", "negotiation", "signed")
    etag = {"If-Match": f'"{lead["version"]}"'}
    r = client.post(f"{URL}/{lead['id']}/land", json=land_body(project_type="build"), headers=etag)
    assert_problem(r, 422, "validation", field="project_type")
    assert (
        db.scalar(select(func.count()).select_from(Project).where(Project.chain_id == chain.id))
        == 0
    )


def _populate(client, db, chain, nodes, n: int) -> None:
    for i in range(n):
        lead = new_lead(client, chain, nodes[i % len(nodes) :][:2], company_name=f"企业{i}")
        if i % 3 == 0:
            advance(client, lead, "contact", "visit", "negotiation", "signed")
        elif i % 3 == 1:
            advance(client, lead, "contact")


def test_funnel_counts_conversion_and_totals(client, db):
    chain = make_chain(db)
    nodes = [make_node(db, chain, assessment=Assessment.WEAK) for _ in range(3)]
    _populate(client, db, chain, nodes, 6)
    r = client.get("/api/v1/attraction/funnel", params={"chain_id": chain.id, "year": YEAR})
    stages = {s["stage"]: s for s in r.json()["stages"]}
    assert stages["lead"]["reached"] == 6 and stages["lead"]["current"] == 2
    assert stages["contact"]["reached"] == 4 and stages["contact"]["conversion_pct"] == "66.7"
    assert stages["signed"]["current"] == 2
    assert r.json()["signed_total"] == "30000.0000" and r.json()["signed_count"] == 2
    province = client.get("/api/v1/attraction/funnel", params={"year": YEAR}).json()
    assert province["stages"][0]["reached"] >= 6


def test_list_funnel_and_gaps_run_a_fixed_number_of_statements(client, db, count_statements):
    chain = make_chain(db)
    nodes = [make_node(db, chain, assessment=Assessment.MISSING) for _ in range(4)]
    make_node(db, chain, assessment=Assessment.STRONG)
    project = make_project(db, chain)
    db.add(ProjectTarget(project_id=project.id, node_id=nodes[3].id, chain_id=chain.id))
    db.flush()
    urls = [
        (URL, {"chain_id": chain.id, "limit": 200}),
        ("/api/v1/attraction/funnel", {"chain_id": chain.id, "year": YEAR}),
        ("/api/v1/attraction/funnel", {"year": YEAR}),
        ("/api/v1/attraction/funnel", {"year": YEAR, "as_of": DAY, "city": "370600"}),
        ("/api/v1/attraction/funnel", {"year": YEAR, "chain_id": chain.id, "as_of": DAY}),
        (f"{URL}/export", {"chain_id": chain.id, "format": "csv"}),
        (f"/api/v1/chains/{chain.id}/attraction/gaps", {}),
    ]
    _populate(client, db, chain, nodes[:2], 2)
    with count_statements() as small:
        for url, params in urls:
            assert client.get(url, params=params).status_code == 200
    _populate(client, db, chain, nodes[:2], 12)
    counts = []
    for url, params in urls:
        with count_statements() as c:
            r = client.get(url, params=params)
        counts.append(c.count)
    assert sum(counts) == small.count
    assert counts[0] <= 3 and counts[1] <= 2 and counts[-1] <= 4
    assert counts[3] <= 2 and counts[4] <= 2 and counts[5] <= 2
    gaps = {g["node"]["id"]: g for g in r.json()}
    assert len(gaps[nodes[0].id]["leads"]) > 0
    assert not gaps[nodes[2].id]["covered"]  # neither leads nor projects
    assert gaps[nodes[3].id]["covered"] and gaps[nodes[3].id]["projects"] == 1


def test_steps_record_who_recorded_them(client, db, admin_user):
    chain = make_chain(db)
    lead = new_lead(client, chain, [make_node(db, chain)])
    step(client, lead, to_stage="contact")
    recorded = db.scalars(
        select(AttractionStep.recorded_by).where(AttractionStep.lead_id == lead["id"])
    ).all()
    assert set(recorded) == {admin_user.id}


def test_the_assessment_counts_leads_signed_and_funds_received(db):
    """The attraction indicators of the assessment (issue 19): the year's signings and
    funds by chain, as the scoring run sees them."""
    import datetime as dt
    from decimal import Decimal

    from chaintrack.assessment.indicators import COMPUTATIONS, Window
    from chaintrack.models import AttractionFunds, AttractionLead
    from chaintrack.models.assessment import IndicatorKind
    from tests.factories import make_chain

    chain = make_chain(db)
    common = dict(
        chain_id=chain.id,
        origin="德国",
        source="expo",
        intended_investment=Decimal("100"),
        responsible_unit="单位",
        responsible_person="某某",
        stage="signed",
        stage_on=dt.date(2025, 3, 1),
    )
    signed = AttractionLead(
        company_name="甲", signed_on=dt.date(2025, 3, 1), signed_amount=Decimal("800"), **common
    )
    late = AttractionLead(
        company_name="乙", signed_on=dt.date(2025, 11, 1), signed_amount=Decimal("50"), **common
    )
    db.add_all([signed, late])
    db.flush()
    db.add_all(
        [
            AttractionFunds(lead_id=signed.id, period="2025-04", amount=Decimal("120.5")),
            AttractionFunds(lead_id=signed.id, period="2025-08", amount=Decimal("79.5")),
        ]
    )
    db.flush()
    w = Window.of(2025, 2, dt.date(2026, 1, 31))  # the first half year
    leads = COMPUTATIONS[IndicatorKind.LEADS_SIGNED](db, w, {})
    funds = COMPUTATIONS[IndicatorKind.FUNDS_RECEIVED](db, w, {})
    assert [(p.chain_id, p.amount) for p in leads if p.chain_id == chain.id] == [
        (chain.id, Decimal(1))
    ]
    assert [(p.chain_id, p.amount) for p in funds if p.chain_id == chain.id] == [
        (chain.id, Decimal("120.5"))
    ]
    year = Window.of(2025, None, dt.date(2026, 1, 31))
    assert sum(
        p.amount
        for p in COMPUTATIONS[IndicatorKind.FUNDS_RECEIVED](db, year, {})
        if p.chain_id == chain.id
    ) == Decimal("200.0")
