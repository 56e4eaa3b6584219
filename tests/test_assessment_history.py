"""Assessment inputs keep their history: edits and deletions of targets, figures and
adjustments (If-Match), and scores and task lists as of a past day that read what was
on record then (reproducible before and after a change)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from chaintrack.history import office_today
from chaintrack.models.assessment import AssessmentScheme, AssessmentTarget
from chaintrack.models.assessment_history import TargetRevision
from tests.factories import make_chain
from tests.problems import assert_problem

API = "/api/v1"
TODAY = office_today()
YEAR = TODAY.year
YESTERDAY = TODAY - dt.timedelta(days=1)
LONG_AGO = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
ITEMS = [
    {"indicator_code": "REVENUE", "weight": "60", "rule": "linear"},
    {"indicator_code": "INV", "weight": "40", "rule": "linear"},
]


def _scheme_in_force_since_long_ago(db, client):
    r = client.post(
        f"{API}/assessment/schemes", json={"year": YEAR, "name": "考核办法", "items": ITEMS}
    )
    assert r.status_code == 201, r.text
    r = client.post(
        f"{API}/assessment/schemes/{r.json()['id']}/publish",
        headers={"If-Match": r.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    scheme = db.get(AssessmentScheme, r.json()["id"])
    scheme.published_at = LONG_AGO
    db.flush()


def _target(client, chain, value, code="REVENUE"):
    body = {"year": YEAR, "indicator_code": code, "value": str(value)}
    r = client.put(
        f"{API}/assessment/targets", json=body | {"subject_kind": "chain", "chain_id": chain.id}
    )
    assert r.status_code == 200, r.text
    return r


def _etag(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def _scores(client, as_of=None):
    params = {"year": YEAR} | ({"as_of": as_of.isoformat()} if as_of else {})
    r = client.get(f"{API}/assessment/scores", params=params)
    assert r.status_code == 200, r.text
    return r


def _line(board, chain, code="REVENUE"):
    subject = next(x for x in board["subjects"] if x["chain_id"] == chain.id)
    return next(x for x in subject["indicators"] if x["indicator_code"] == code)


def test_scores_as_of_a_past_day_use_the_targets_on_record_then(db, client):
    _scheme_in_force_since_long_ago(db, client)
    chain = make_chain(db)
    kept = _target(client, chain, 100).json()
    gone = _target(client, chain, 50, "INV").json()
    for t in db.scalars(select(AssessmentTarget)):
        t.created_at = LONG_AGO
    db.flush()
    before = _scores(client, YESTERDAY)
    assert Decimal(_line(before.json(), chain)["target"]) == Decimal("100.00")
    assert Decimal(_line(before.json(), chain, "INV")["target"]) == Decimal("50.00")

    # change one, delete the other: If-Match required, stale ETags refused
    url = f"{API}/assessment/targets/{kept['id']}"
    assert_problem(client.patch(url, json={"value": "80"}), 428)
    assert_problem(client.patch(url, json={"value": "80"}, headers={"If-Match": '"9"'}), 412)
    r = client.patch(url, json={"value": "80"}, headers={"If-Match": _etag(client, url)})
    assert (r.status_code, Decimal(r.json()["value"])) == (200, Decimal(80))
    r = client.patch(url, json={"value": "120"}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert_problem(client.patch(url, json={"value": "-1"}, headers={"If-Match": '"3"'}), 422)
    gone_url = f"{API}/assessment/targets/{gone['id']}"
    assert_problem(client.delete(gone_url), 428)
    r = client.delete(gone_url, headers={"If-Match": _etag(client, gone_url)})
    assert r.status_code == 204
    assert_problem(client.get(gone_url), 404)

    # today: the latest value, no target for the deleted one
    now = _scores(client).json()
    assert Decimal(_line(now, chain)["target"]) == Decimal("120.00")
    assert _line(now, chain, "INV")["target"] is None
    # yesterday: byte for byte what it was before the changes
    assert _scores(client, YESTERDAY).content == before.content
    # the kept rows: two earlier values, and the deleted target's last one
    revs = db.scalars(select(TargetRevision).order_by(TargetRevision.id)).all()
    assert [(r.target_id, str(r.value), r.deleted) for r in revs] == [
        (kept["id"], "100.0000", False),
        (kept["id"], "80.0000", False),
        (gone["id"], "50.0000", True),
    ]
    assert revs[1].valid_from == revs[0].valid_until
    # a target set today did not exist yesterday
    other = make_chain(db)
    _target(client, other, 10)
    assert _line(_scores(client, YESTERDAY).json(), other)["target"] is None
    assert Decimal(_line(_scores(client).json(), other)["target"]) == Decimal("10.00")


def test_figures_and_adjustments_are_corrected_and_deleted_with_if_match(db, client):
    chain = make_chain(db)
    subject = {"year": YEAR, "subject_kind": "chain", "chain_id": chain.id}
    r = client.post(
        f"{API}/assessment/figures",
        json=subject | {"indicator_code": "REVENUE", "value": "10", "source": "快报"},
    )
    assert r.status_code == 201, r.text
    figure = r.json()
    url = f"{API}/assessment/figures/{figure['id']}"
    assert_problem(client.patch(url, json={"source": "年报"}), 428)
    r = client.patch(url, json={"value": "12", "source": "年报"}, headers={"If-Match": '"1"'})
    assert (r.status_code, Decimal(r.json()["value"]), r.json()["source"]) == (200, 12, "年报")
    assert_problem(client.patch(url, json={"source": None}, headers={"If-Match": '"2"'}), 422)
    listed = client.get(f"{API}/assessment/figures", params={"year": YEAR}).json()
    assert [(f["id"], f["source"]) for f in listed] == [(figure["id"], "年报")]
    assert_problem(client.delete(url, headers={"If-Match": '"1"'}), 412)
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert client.get(f"{API}/assessment/figures", params={"year": YEAR}).json() == []

    r = client.post(
        f"{API}/assessment/adjustments",
        json=subject | {"points": "2", "reason": "获奖", "decided_on": TODAY.isoformat()},
    )
    assert r.status_code == 201, r.text
    item = r.json()
    url = f"{API}/assessment/adjustments/{item['id']}"
    assert_problem(client.patch(url, json={"points": "0"}, headers={"If-Match": '"1"'}), 422)
    r = client.patch(url, json={"points": "-3", "reason": "迟报"}, headers={"If-Match": '"1"'})
    assert (r.status_code, Decimal(r.json()["points"]), r.json()["reason"]) == (200, -3, "迟报")
    listed = client.get(f"{API}/assessment/adjustments", params={"year": YEAR}).json()
    assert [(a["id"], Decimal(a["points"])) for a in listed] == [(item["id"], -3)]
    assert client.delete(url, headers={"If-Match": '"2"'}).status_code == 204
    assert_problem(client.get(url), 404)


def test_a_task_list_as_of_a_past_day_shows_the_evidence_on_record_then(db, client):
    chain = make_chain(db)
    body = {
        "year": YEAR,
        "title": "引进补链项目2个",
        "owner_unit": "市工信局",
        "deadline": (TODAY + dt.timedelta(days=30)).isoformat(),
        "listed_on": (TODAY - dt.timedelta(days=20)).isoformat(),
        "evidence": "对接记录",
        "evidence_files": [{"name": "纪要.pdf", "sha256": "a" * 64}],
    }
    r = client.post(f"{API}/chains/{chain.id}/tasks", json=body)
    assert r.status_code == 201, r.text
    task = r.json()
    lists = f"{API}/chains/{chain.id}/tasks"
    before = client.get(lists, params={"year": YEAR, "as_of": YESTERDAY.isoformat()})
    url = f"{lists}/{task['id']}"
    change = {
        "evidence": "签约协议",
        "evidence_files": [{"name": "协议.pdf", "sha256": "b" * 64}],
        "deadline": YESTERDAY.isoformat(),
    }
    r = client.patch(url, json=change, headers={"If-Match": f'"{task["version"]}"'})
    assert r.status_code == 200, r.text
    r = client.patch(url, json={"owner_person": "李四"}, headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    now = client.get(lists, params={"year": YEAR}).json()["items"][0]
    assert (now["evidence"], now["evidence_files"][0]["name"]) == ("签约协议", "协议.pdf")
    assert (now["owner_person"], now["overdue"]) == ("李四", True)
    again = client.get(lists, params={"year": YEAR, "as_of": YESTERDAY.isoformat()})
    # the same as before the changes, but for the current version (the ETag to send)
    then = again.json()["items"][0]
    assert then.pop("version") == 3
    assert before.json()["items"][0] | {"version": None} == then | {"version": None}
    assert (then["evidence"], then["evidence_files"][0]["name"]) == ("对接记录", "纪要.pdf")
    assert (then["owner_person"], then["overdue"]) == (None, False)
