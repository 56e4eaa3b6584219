"""Reference catalogues through HTTP: regions, tiers, project types."""

from __future__ import annotations

from tests.problems import assert_problem

API = "/api/v1"


def test_regions_list_includes_abolished_flagged(client):
    r = client.get(f"{API}/regions", params={"limit": 200})
    assert r.status_code == 200
    body = r.json()
    by_code = {x["code"]: x for x in body["items"]}
    assert body["total"] == len(body["items"]) >= 18
    laiwu = by_code["371200"]
    assert laiwu["abolished"] is True
    assert laiwu["abolished_on"] == "2019-01-09"
    assert laiwu["successor_code"] == "370100"
    assert by_code["370600"]["abolished"] is False
    assert by_code["370600"]["name_zh"] == "烟台市"


def test_regions_filters_and_sort(client):
    r = client.get(f"{API}/regions", params={"parent_code": "370000", "limit": 200})
    codes = [x["code"] for x in r.json()["items"]]
    assert "370000" not in codes and "371200" in codes and len(codes) == 17
    assert codes == sorted(codes)

    r = client.get(f"{API}/regions", params={"parent_code": "370000", "include_abolished": "false"})
    codes = [x["code"] for x in r.json()["items"]]
    assert "371200" not in codes and len(codes) == 16

    r = client.get(f"{API}/regions", params={"q": "烟台"})
    assert [x["code"] for x in r.json()["items"]] == ["370600"]
    r = client.get(f"{API}/regions", params={"q": "yantai"})
    assert [x["code"] for x in r.json()["items"]] == ["370600"]

    r = client.get(f"{API}/regions", params={"sort": "-code", "limit": 2, "offset": 0})
    body = r.json()
    assert [x["code"] for x in body["items"]] == ["371700", "371600"]
    assert body["total"] >= 18 and body["limit"] == 2


def test_regions_bad_sort_and_page_size_are_problems(client):
    r = client.get(f"{API}/regions", params={"sort": "population"})
    assert_problem(r, 422, "validation", field="sort", location="query")

    r = client.get(f"{API}/regions", params={"limit": 100000})
    assert_problem(r, 422, "validation", field="limit", location="query")


def test_region_read(client):
    r = client.get(f"{API}/regions/371200")
    assert r.status_code == 200
    assert r.json()["name_zh"] == "莱芜市" and r.json()["abolished"] is True
    r = client.get(f"{API}/regions/999999")
    assert r.status_code == 404
    assert r.json()["type"] == "urn:chaintrack:problem:not-found"


def test_tiers_in_ladder_order(client):
    r = client.get(f"{API}/tiers")
    assert r.status_code == 200
    tiers = r.json()
    ranks = [t["rank"] for t in tiers]
    assert ranks == sorted(ranks, reverse=True)
    assert tiers[0]["code"] == "navigator"
    by_code = {t["code"]: t for t in tiers}
    assert by_code["little_giant"]["levels"] == ["national"]
    assert by_code["little_giant"]["name_zh"] == "专精特新“小巨人”企业"
    assert len(tiers) == 8


def test_project_types_in_order(client):
    r = client.get(f"{API}/project-types")
    assert r.status_code == 200
    assert [t["code"] for t in r.json()] == ["build", "fill", "extend", "strengthen"]
    assert [t["name_zh"] for t in r.json()] == ["建链", "补链", "延链", "强链"]


def test_reference_is_read_only(client):
    assert_problem(client.post(f"{API}/tiers", json={"code": "x"}), 405, "method-not-allowed")
