"""招商 pages, wave 3: the lead's edit form (stale and bad input in place), the funnel
per city / as of a day, the export links, and the links from the landed enterprise and
project back to the lead."""

from __future__ import annotations

from tests.factories import make_chain, make_node
from tests.test_attraction_api import URL, advance, land_body, new_lead
from tests.web.test_web_attraction import _etag


def test_edit_form_changes_fields_and_nodes_with_stale_and_errors_in_place(db, client, admin_page):
    chain, other = make_chain(db), make_chain(db)
    n1, n2, foreign = make_node(db, chain), make_node(db, chain), make_node(db, other)
    lead = new_lead(client, chain, [n1])
    page = admin_page.get(f"/attraction/leads/{lead['id']}")
    assert 'id="edit-lead"' in page.text
    form = admin_page.get(f"/attraction/leads/{lead['id']}/edit")
    assert form.status_code == 200 and 'value="示例精密部件有限公司"' in form.text
    etag = _etag(form.text)
    data = {
        "etag": etag,
        "company_name": "改名精密部件有限公司",
        "origin": "江苏省",
        "source": "expo",
        "intended_investment": "26000",
        "responsible_unit": "烟台市商务局",
        "responsible_person": "王某",
        "node_ids": [str(n1.id), str(n2.id)],
    }
    r = admin_page.post_form(f"/attraction/leads/{lead['id']}/edit", {**data, "origin": ""})
    assert r.status_code == 422 and "来源国家或省份" in r.text
    assert 'value="改名精密部件有限公司"' in r.text
    r = admin_page.post_form(
        f"/attraction/leads/{lead['id']}/edit", {**data, "node_ids": str(foreign.id)}
    )
    assert r.status_code == 422 and "不属于本产业链" in r.text
    r = admin_page.post_form(f"/attraction/leads/{lead['id']}/edit", data)
    assert r.status_code == 303, r.text
    detail = client.get(f"{URL}/{lead['id']}").json()
    assert detail["company_name"] == "改名精密部件有限公司"
    assert {n["id"] for n in detail["nodes"]} == {n1.id, n2.id}
    r = admin_page.post_form(f"/attraction/leads/{lead['id']}/edit", data)  # old etag
    assert r.status_code == 412 and "已被他人修改" in r.text


def test_list_page_funnel_filters_exports_and_links_back(db, client, admin_page):
    chain = make_chain(db)
    lead = new_lead(client, chain, [make_node(db, chain)])
    lead = advance(client, lead, "contact", "visit", "negotiation", "signed")
    r = client.post(
        f"{URL}/{lead['id']}/land",
        json=land_body(region_code="370602"),
        headers={"If-Match": f'"{lead["version"]}"'},
    )
    assert r.status_code == 200, r.text
    landed = r.json()
    page = admin_page.get(f"/attraction?chain_id={chain.id}&city=370600&as_of=2000-01-01")
    assert page.status_code == 200
    assert "落地于 370600" in page.text and "截至 2000-01-01" in page.text
    assert f"/api/v1/attraction/leads/export?chain_id={chain.id}" in page.text
    bad = admin_page.get("/attraction?city=37")
    assert bad.status_code == 200 and "城市代码为6位" in bad.text
    project = admin_page.get(f"/projects/{landed['project_id']}")
    assert f'id="from-lead" href="/attraction/leads/{lead["id"]}"' in project.text
    enterprise = admin_page.get(f"/enterprises/{landed['enterprise_id']}")
    assert f'href="/attraction/leads/{lead["id"]}"' in enterprise.text
