"""One rule for stored text (issue 13): no control characters (tab and line breaks only in
multi-line fields), nothing made only of invisible characters. Names of zero-width
characters or a BOM were stored, and the ``.xlsx`` export dropped control characters, so
export -> import changed the text."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from chaintrack.common.text import check_text, text_problem
from chaintrack.models import Chain, ChainGroup, Enterprise, ListEntry, Problem, Project
from tests.factories import fake_uscc, make_chain, make_project
from tests.test_lists_api import _list

API = "/api/v1"

INVISIBLE = {
    "zero-width space": "\u200b",
    "BOM": "\ufeff",
    "zero-width joiners": "\u200c\u200d\u2060",
    "bidi marks": "\u200e\u200f",
    "hangul filler": "\u3164",
    "ideographic space and BOM": "\u3000\ufeff",
    "soft hyphen": "\u00ad",
    "variation selector": "\ufe0f",
}
CONTROL = {
    "NUL": "a\x00b",
    "bell": "a\x07b",
    "escape": "\x1b[31m红\x1b[0m",
    "DEL": "名\x7f称",
    "C1": "名\x85称",
    "vertical tab": "名\x0b称",
}
LINE_BREAKS = {"tab": "名\t称", "newline": "第一行\n第二行", "CRLF": "第一行\r\n第二行"}
ALL_BAD = {**INVISIBLE, **CONTROL}


def count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def assert_text_refused(resp: Any, field: str) -> None:
    assert resp.status_code == 422, resp.text
    [error] = [e for e in resp.json()["errors"] if e["field"] == field]
    message = error["message"]
    assert ("控制字符" in message and "control character" in message) or (
        "不可见" in message and "invisible" in message
    ), message


def test_the_rule_itself() -> None:
    for bad in ALL_BAD.values():
        assert text_problem(bad) is not None, repr(bad)
    for text in LINE_BREAKS.values():
        assert text_problem(text) is not None  # one-line fields
        assert text_problem(text, multiline=True) is None
    for bad in CONTROL.values():
        assert text_problem(bad, multiline=True) is not None, repr(bad)
    # Visible text with an invisible character inside is fine (emoji sequences, bidi).
    for ok in ("烟台示例有限公司", "👩\u200d💻", "A\u00adB", "名 称", "\u200bX", "x"):
        assert check_text(ok) == ok
    assert "第2个字符" in (text_problem("a\x01") or "")
    assert "U+0001" in (text_problem("a\x01") or "")


@pytest.mark.parametrize("spelling", [*ALL_BAD, "tab", "newline"])
def test_enterprise_name(client, db, spelling: str) -> None:
    name = {**ALL_BAD, **LINE_BREAKS}[spelling]
    before = count(db, Enterprise)
    body = {"uscc": fake_uscc(), "name": name, "region_code": "370602"}
    assert_text_refused(client.post(f"{API}/enterprises", json=body), "name")
    former = {**body, "name": "烟台示例有限公司", "former_names": ["旧名", name]}
    assert_text_refused(client.post(f"{API}/enterprises", json=former), "former_names")
    assert count(db, Enterprise) == before


def test_enterprise_note_keeps_line_breaks(client, db) -> None:
    body = {"uscc": fake_uscc(), "name": "烟台示例有限公司", "region_code": "370602"}
    r = client.post(f"{API}/enterprises", json={**body, "note": "第一行\n\t第二行"})
    assert r.status_code == 201, r.text
    assert r.json()["note"] == "第一行\n\t第二行"
    bad = {**body, "uscc": fake_uscc(), "note": "第一行\x0c第二行"}
    assert_text_refused(client.post(f"{API}/enterprises", json=bad), "note")


@pytest.mark.parametrize("spelling", list(ALL_BAD))
def test_chain_and_group_names(client, db, spelling: str) -> None:
    bad = ALL_BAD[spelling]
    chain, group = count(db, Chain), count(db, ChainGroup)
    r = client.post(
        f"{API}/chain-groups", json={"code": "TXT", "name_zh": bad, "name_en": "Text rule"}
    )
    assert_text_refused(r, "name_zh")
    existing = make_chain(db)
    r = client.patch(
        f"{API}/chains/{existing.id}", json={"name_en": bad}, headers={"If-Match": '"1"'}
    )
    assert_text_refused(r, "name_en")
    assert (count(db, Chain), count(db, ChainGroup)) == (chain + 1, group)


@pytest.mark.parametrize("spelling", list(ALL_BAD))
def test_list_entry_title_and_text_attribute(client, db, spelling: str) -> None:
    bad = ALL_BAD[spelling]
    _chain, _lt, lst = _list(db)
    url = f"{API}/lists/{lst.id}/entries"
    r = client.post(url, json={"title": bad, "attributes": {"technology": "x"}})
    assert_text_refused(r, "title")
    r = client.post(url, json={"title": "攻关", "attributes": {"technology": bad}})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "attributes.technology"
    assert "攻关技术" in error["message"]  # the attribute's label, as elsewhere
    assert count(db, ListEntry) == 0


@pytest.mark.parametrize("spelling", list(ALL_BAD))
def test_project_name(client, db, spelling: str) -> None:
    chain = make_chain(db)
    before = count(db, Project)
    body = {
        "chain_id": chain.id,
        "name": ALL_BAD[spelling],
        "type": "fill",
        "region_code": "370600",
        "total_investment": "50000",
    }
    assert_text_refused(client.post(f"{API}/projects", json=body), "name")
    assert count(db, Project) == before


@pytest.mark.parametrize("spelling", list(ALL_BAD))
def test_problem_description(client, db, spelling: str) -> None:
    project = make_project(db, make_chain(db))
    url = f"{API}/projects/{project.id}/problems"
    r = client.post(url, json={"period": "2024-03", "description": ALL_BAD[spelling]})
    assert_text_refused(r, "description")
    assert count(db, Problem) == 0


def test_problem_description_keeps_line_breaks(client, db) -> None:
    project = make_project(db, make_chain(db))
    url = f"{API}/projects/{project.id}/problems"
    text = "用地指标未落实：\r\n1. 二期\t开工推迟"
    r = client.post(url, json={"period": "2024-03", "description": text})
    assert r.status_code == 201, r.text
    assert r.json()["description"] == text


def test_passwords_are_not_text(client, db) -> None:
    """A password is a secret taken as typed; the rule is for what is shown and exported."""
    body = {
        "username": "textrule",
        "display_name": "文本规则",
        "role": "viewer",
        "password": "\u200b\u200bcorrect-horse-battery-staple\t",
    }
    r = client.post(f"{API}/users", json=body)
    assert r.status_code == 201, r.text
    assert_text_refused(
        client.post(f"{API}/users", json={**body, "display_name": "\ufeff"}), "display_name"
    )


@pytest.mark.parametrize("raw", ["名称\x07", "a\x1bb"])
def test_import_cells_follow_the_same_text_rule(raw: str) -> None:
    """A cell is held to the API's rule (chaintrack.common.text): control characters are
    refused, invisible-only cells read as blank, line breaks stay in multi-line cells."""
    from chaintrack.sheets.cells.base import CellError
    from chaintrack.sheets.cells.text import parse_text

    with pytest.raises(CellError, match="控制字符"):
        parse_text(raw)
    assert parse_text("\u200b\ufeff") is None
    assert parse_text("第一行\n第二行", multiline=True) == "第一行\n第二行"
