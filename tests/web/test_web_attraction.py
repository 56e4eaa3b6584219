"""招商 pages: the pipeline table and funnel, a lead's page with its next-stage buttons,
forms with errors in place (nothing written), the conversion form prefilled from the lead,
the leads in the map's node panel."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from chaintrack.history import office_today
from chaintrack.models import AttractionLead, Project
from chaintrack.models.enums import Assessment, UserRole
from tests.factories import fake_uscc, make_chain, make_node

TODAY = office_today().isoformat()


def _leads(db) -> int:
    return db.scalar(select(func.count()).select_from(AttractionLead))


def _new(page, chain, node, **kw):
    data = {
        "company_name": "页面招商企业有限公司",
        "origin": "德国",
        "source": "chain_master",
        "intended_investment": "8000",
        "responsible_unit": "招商局",
        "responsible_person": "李某",
        "node_ids": str(node.id),
    }
    data.update(kw)
    return page.post_form(f"/chains/{chain.id}/attraction/new", data)


def _etag(html: str) -> str:
    m = re.search(r'name="etag" value="([^"]+)"', html)
    assert m
    return m.group(1).replace("&#34;", '"')


def test_new_lead_form_errors_in_place_and_nothing_written(db, admin_page):
    chain = make_chain(db)
    node = make_node(db, chain, assessment=Assessment.MISSING)
    form = admin_page.get(f"/chains/{chain.id}/attraction/new?node_id={node.id}")
    assert form.status_code == 200 and f'value="{node.id}" checked' in form.text
    before = _leads(db)
    r = _new(admin_page, chain, node, origin="")
    assert r.status_code == 422
    assert "来源国家或省份" in r.text and 'value="页面招商企业有限公司"' in r.text
    other = make_node(db, make_chain(db))
    r = _new(admin_page, chain, node, node_ids=str(other.id))
    assert r.status_code == 422 and "不属于本产业链" in r.text
    assert _leads(db) == before
    r = _new(admin_page, chain, node)
    assert r.status_code == 303
    lead_url = r.headers["location"].split("?")[0]
    page = admin_page.get(lead_url)
    assert "推进到“接洽”" in page.text and "终止" in page.text and "落地转化" not in page.text


def test_lead_page_moves_signs_and_shows_the_conversion_form_prefilled(db, admin_page):
    chain = make_chain(db)
    node = make_node(db, chain, assessment=Assessment.WEAK)
    url = _new(admin_page, chain, node, uscc=fake_uscc()).headers["location"].split("?")[0]
    base = {"happened_on": TODAY, "actor": "李某", "summary": "推进"}
    for to in ("contact", "visit", "negotiation"):
        etag = _etag(admin_page.get(url).text)
        r = admin_page.post_form(f"{url}/steps", {**base, "to_stage": to, "etag": etag})
        assert r.status_code == 303, r.text[:500]
    etag = _etag(admin_page.get(url).text)
    r = admin_page.post_form(f"{url}/steps", {**base, "to_stage": "signed", "etag": etag})
    assert r.status_code == 422 and "签约金额" in r.text
    r = admin_page.post_form(f"{url}/steps", {**base, "to_stage": "signed", "etag": '"1"'})
    assert r.status_code == 412 and "已被他人修改" in r.text
    r = admin_page.post_form(
        f"{url}/steps", {**base, "to_stage": "signed", "signed_amount": "7000", "etag": etag}
    )
    assert r.status_code == 303
    page = admin_page.get(url).text
    lead = db.get(AttractionLead, int(url.rsplit("/", 1)[1]))
    db.refresh(lead)
    assert "落地并登记" in page and f'value="{lead.uscc}"' in page
    assert 'value="7000.0000"' in page and "页面招商企业有限公司补链项目" in page
    # A refused conversion keeps what was typed and writes nothing.
    r = admin_page.post_form(
        f"{url}/land",
        {
            "happened_on": TODAY,
            "actor": "李某",
            "uscc": lead.uscc,
            "region_code": "12",
            "project_name": "X",
            "project_type": "fill",
            "etag": _etag(page),
        },
    )
    assert r.status_code == 422 and 'value="12"' in r.text
    assert (
        db.scalar(select(func.count()).select_from(Project).where(Project.chain_id == chain.id))
        == 0
    )


def test_node_panel_lists_the_leads_and_viewers_see_no_controls(
    db, admin_page, page_for, make_user
):
    chain = make_chain(db)
    node = make_node(db, chain, assessment=Assessment.MISSING)
    url = _new(admin_page, chain, node).headers["location"].split("?")[0]
    panel = admin_page.get(f"/chains/{chain.id}/map/nodes/{node.id}")
    assert "页面招商企业有限公司" in panel.text and "新建招商线索" in panel.text
    picture = admin_page.get(f"/chains/{chain.id}/map").text
    assert re.search(rf'id="node-{node.id}".*?招商 1', picture, re.S)
    listing = admin_page.get(f"/attraction?chain_id={chain.id}&stage=lead")
    assert "页面招商企业有限公司" in listing.text and 'data-stage="lead"' in listing.text
    viewer = page_for(make_user(UserRole.VIEWER))
    assert "推进到" not in viewer.get(url).text
    assert "新建招商线索" not in viewer.get(f"/chains/{chain.id}/map/nodes/{node.id}").text
