"""Ids in paths and query strings are plain digits, parsed one way everywhere (issue 13).

Pydantic's lax integer parsing reads ``+2``, `` 2`` and ``2.0`` as 2, and ``"²".isdigit()``
is true while ``int("²")`` fails: the import route's chain check skipped what it could not
read and the endpoint then coerced it into another chain's id (or answered 500). Each bad
spelling below names an id that exists, so only the spelling can be the reason to refuse.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from chaintrack.common.ids import MAX_ID, parse_id, strict_id
from chaintrack.models import MapNode, Project
from chaintrack.models.enums import UserRole
from tests.factories import make_chain, make_node, make_project
from tests.test_imports_api import API, csv_text, uscc

# How a client might spell the id ``n`` (or a number that is not an id) other than n.
BAD = {
    "superscript": lambda n: "²",
    "plus": lambda n: f"+{n}",
    "leading space": lambda n: f" {n}",
    "trailing space": lambda n: f"{n} ",
    "decimal": lambda n: f"{n}.0",
    "leading zero": lambda n: f"0{n}",
    "fullwidth": lambda n: "".join(chr(ord(c) + 0xFEE0) for c in str(n)),
    "zero": lambda n: "0",
    "too large": lambda n: str(MAX_ID + 1),
    "negative": lambda n: "-1",
    "empty": lambda n: "",
}


def assert_refused(resp: Any, location: str, field: str) -> None:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["type"].endswith(":validation")
    [error] = [e for e in body["errors"] if e["field"] == field]
    assert error["location"] == location
    assert "digits" in error["message"] and "数字" in error["message"]


def test_parse_id_accepts_plain_digits_only() -> None:
    assert parse_id("1") == 1
    assert parse_id("2147483647") == MAX_ID
    assert parse_id(7) == 7
    for raw in ("²", "+2", " 2", "2 ", "2.0", "02", "0", "-1", "2147483648", "", "2\n"):
        assert parse_id(raw) is None, raw
    assert parse_id(True) is None
    assert parse_id(None) is None
    assert parse_id(2.0) is None
    with pytest.raises(ValueError, match="digits"):
        strict_id("+2")


@pytest.mark.parametrize("spelling", list(BAD))
def test_bad_id_spellings_in_paths_and_queries(client, db, spelling: str) -> None:
    chain = make_chain(db)
    node = make_node(db, chain)
    make_project(db, chain)
    bad_chain = quote(BAD[spelling](chain.id), safe="+")
    bad_node = BAD[spelling](node.id)
    if spelling != "empty":  # an empty path segment is another route (404)
        assert_refused(client.get(f"{API}/chains/{bad_chain}"), "path", "chain_id")
        assert_refused(client.get(f"{API}/chains/{bad_chain}/map"), "path", "chain_id")
        assert_refused(client.get(f"{API}/reports/chains/{bad_chain}"), "path", "chain_id")
    projects = client.get(f"{API}/projects", params={"chain_id": BAD[spelling](chain.id)})
    assert_refused(projects, "query", "chain_id")
    relations = client.get(f"{API}/chains/{chain.id}/relations", params={"node_id": bad_node})
    assert_refused(relations, "query", "node_id")
    users = client.get(f"{API}/users", params={"chain_id": BAD[spelling](chain.id)})
    assert_refused(users, "query", "chain_id")


def test_plain_ids_still_work(client, db) -> None:
    chain = make_chain(db)
    assert client.get(f"{API}/chains/{chain.id}").json()["id"] == chain.id
    assert client.get(f"{API}/projects", params={"chain_id": chain.id}).status_code == 200
    assert client.get(f"{API}/chains/{MAX_ID}").status_code == 404


@pytest.mark.parametrize("spelling", [s for s in BAD if s != "empty"])
def test_bad_id_on_a_permission_checked_write(client_for, make_user, db, spelling: str) -> None:
    chain, other = make_chain(db), make_chain(db)
    parent = make_node(db, chain)
    before = db.scalar(select(func.count()).select_from(MapNode))
    body = {
        "parent_id": parent.id,
        "code": "STRICT1",
        "name_zh": "新环节",
        "kind": "segment",
        "stage": "upstream",
    }
    url = f"{API}/chains/{quote(BAD[spelling](chain.id), safe='+')}/nodes"
    with client_for(make_user(UserRole.EDITOR, chains=[chain])) as c:
        assert_refused(c.post(url, json=body), "path", "chain_id")
    with client_for(make_user(UserRole.EDITOR, chains=[other])) as c:
        assert c.post(url, json=body).status_code in (403, 422)
    assert db.scalar(select(func.count()).select_from(MapNode)) == before


@pytest.mark.parametrize("spelling", list(BAD))
def test_bad_chain_id_on_the_import_route(client_for, make_user, db, spelling: str) -> None:
    """An editor of another chain cannot reach this chain by spelling its id differently."""
    chain, other = make_chain(db), make_chain(db)
    project = make_project(db, chain)
    editor = make_user(UserRole.EDITOR, chains=[other])
    bad = BAD[spelling](chain.id)
    progress = csv_text(
        [["项目编号", "调度月份", "本月完成投资（万元）"], [project.internal_code, "2025-01", "1"]]
    )
    projects = csv_text(
        [
            ["项目编号", "项目名称", "项目类型", "所在地区代码", "总投资（万元）"],
            [f"STRICT-{uscc()[-8:]}", "越权项目", "fill", "370600", "100"],
        ]
    )
    before = db.scalar(select(func.count()).select_from(Project))
    with client_for(editor) as c:
        for path, content in (("progress", progress), ("projects", projects)):
            resp = c.post(
                f"{API}/imports/{path}",
                params={"chain_id": bad, "mode": "commit"},
                files={"file": ("data.csv", content)},
            )
            assert_refused(resp, "query", "chain_id")
    assert db.scalar(select(func.count()).select_from(Project)) == before
