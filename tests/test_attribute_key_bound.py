"""A free-form object with too many keys is refused before any key is looked at (issue 13).

A list entry whose ``attributes`` held 200,000 keys cost 2-4 s of CPU (per-key validation
and one error per unknown key: a 48 MB answer) before its 422. A list type declares at
most 100 fields, so more keys than that can never be valid.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from pydantic import ValidationError

from chaintrack.lists import service_entries
from chaintrack.lists.schemas import MAX_FIELDS, EntryCreate, EntryUpdate
from tests.test_lists_api import API, _entries, _list


class CountingMapping(Mapping[str, Any]):
    """Knows its size without being read; counts every look at a key or value."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.reads = 0

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[str]:
        self.reads += 1
        return (f"k{i}" for i in range(self.size))

    def __getitem__(self, key: str) -> Any:
        self.reads += 1
        return "v"


@pytest.mark.parametrize("model", [EntryCreate, EntryUpdate])
def test_too_many_keys_are_refused_without_reading_one(model: Any) -> None:
    attributes = CountingMapping(200_000)
    with pytest.raises(ValidationError) as info:
        model.model_validate({"title": "t", "attributes": attributes})
    [error] = info.value.errors()
    assert error["loc"] == ("attributes",)
    assert "200000" in error["msg"] and f"{MAX_FIELDS}" in error["msg"]
    assert attributes.reads == 0


def test_the_bound_itself(client, db) -> None:
    _chain, _lt, lst = _list(db)
    url = f"{API}/lists/{lst.id}/entries"
    at_bound = {"technology": "x", **{f"k{i}": None for i in range(MAX_FIELDS - 1)}}
    r = client.post(url, json={"title": "t", "attributes": at_bound})
    assert r.status_code == 422  # refused for its unknown keys, one error each
    assert len(r.json()["errors"]) == MAX_FIELDS - 1
    over = {**at_bound, "one_more": None}
    r = client.post(url, json={"title": "t", "attributes": over})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "attributes"


def test_a_body_of_200000_keys_gets_one_short_error(client, db, monkeypatch) -> None:
    _chain, _lt, lst = _list(db)
    calls = []
    real = service_entries.validate_attributes

    def counting(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(service_entries, "validate_attributes", counting)
    body = json.dumps({"title": "t", "attributes": {f"k{i}": "v" for i in range(200_000)}})
    url = f"{API}/lists/{lst.id}/entries"
    r = client.post(url, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:500]
    [error] = r.json()["errors"]
    assert error["field"] == "attributes"
    assert "最多" in error["message"] and "at most" in error["message"]
    assert len(r.content) < 2000
    assert calls == []
    assert _entries(db, lst) == 0
    entry = client.post(url, json={"title": "t", "attributes": {"technology": "x"}})
    assert entry.status_code == 201
    patch = client.patch(
        f"{API}/list-entries/{entry.json()['id']}",
        content=body.replace('"title": "t", ', ""),
        headers={"content-type": "application/json", "If-Match": entry.headers["ETag"]},
    )
    assert patch.status_code == 422
    assert [e["field"] for e in patch.json()["errors"]] == ["attributes"]
    assert calls == [1]  # the valid entry only
