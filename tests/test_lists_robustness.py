"""Hostile or odd input to the list endpoints gets a problem, never a 500; the
database's composite foreign keys back up the cross-chain checks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.exc import IntegrityError

from chaintrack.lists.attributes import FieldSpec, normalise_value, validate_attributes
from chaintrack.models import ListEntry
from chaintrack.models.enums import FieldType
from tests.factories import make_chain, make_node, make_project
from tests.test_lists_api import API, _entries, _list


def test_nul_characters_are_422_not_500(client, db):
    _chain, _lt, lst = _list(db)
    url = f"{API}/lists/{lst.id}/entries"
    r = client.post(url, json={"title": "a\u0000b", "attributes": {"technology": "x"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "title"
    r = client.post(url, json={"title": "ab", "attributes": {"technology": "x\u0000"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "attributes.technology"
    r = client.get(url, params={"q": "a\u0000"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "q"
    r = client.get(f"{API}/list-types", params={"q": "\u0000"})
    assert r.status_code == 422
    assert _entries(db, lst) == 0


def test_out_of_range_numbers_are_422(client, db):
    _chain, _lt, lst = _list(db)
    url = f"{API}/lists/{lst.id}/entries"
    for body, field in (
        ({"title": "t", "node_id": 10**12}, "node_id"),
        ({"title": "t", "position": -1}, "position"),
        ({"title": "t", "attributes": {"technology": "x", "budget": "1e999999999"}}, None),
        ({"title": "t", "attributes": {"technology": "x", "target_year": 10**30}}, None),
    ):
        r = client.post(url, json=body)
        assert r.status_code == 422, (body, r.text)
        if field:
            assert r.json()["errors"][0]["field"] == field
    assert client.get(f"{API}/lists/99999999999").status_code == 422
    assert _entries(db, lst) == 0


def test_database_refuses_cross_chain_entry_references(db):
    chain, _lt, lst = _list(db, entry_ref="node", fields=[])
    other = make_chain(db)
    for kw in ({"node_id": make_node(db, other).id}, {"project_id": make_project(db, other).id}):
        with db.begin_nested() as nested:
            db.add(ListEntry(list_id=lst.id, chain_id=chain.id, title="x", attributes={}, **kw))
            with pytest.raises(IntegrityError):
                db.flush()
            nested.rollback()


# --- the normaliser on its own ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "stored"),
    [
        (FieldType.DECIMAL, "0012.50", "12.50"),
        (FieldType.DECIMAL, "-3", "-3"),
        (FieldType.DECIMAL, 7, "7"),
        (FieldType.DECIMAL, "1.5E+2", "150"),
        (FieldType.INTEGER, "-42", -42),
        (FieldType.DATE, "2025-03-01", "2025-03-01"),
        (FieldType.BOOLEAN, False, False),
        (FieldType.TEXT, " 文本 ", "文本"),
    ],
)
def test_normalise_round_trips(kind, value, stored):
    spec = FieldSpec(name="f", label="字段", type=kind)
    out = normalise_value(spec, value)
    assert out == stored
    assert normalise_value(spec, out) == out  # idempotent: stored values re-validate
    if kind is FieldType.DECIMAL:
        assert Decimal(out) == Decimal(str(value))


def test_validate_reports_every_problem():
    specs = [
        FieldSpec("a", "甲", FieldType.TEXT, required=True),
        FieldSpec("b", "乙", FieldType.CHOICE, choices=("x", "y")),
    ]
    out, errors = validate_attributes(specs, {"b": "z", "c": 1})
    assert out == {}
    assert sorted(e.field for e in errors) == ["attributes.a", "attributes.b", "attributes.c"]
    out, errors = validate_attributes(specs, {"a": "v", "b": "y"})
    assert out == {"a": "v", "b": "y"} and errors == []
