"""List types (清单类型) through HTTP: catalogue, validation of field definitions, changes
checked against existing entries."""

from __future__ import annotations

from sqlalchemy import func, select

from chaintrack.models import Chain, ChainList, ListEntry, ListType
from tests.factories import make_chain, make_list_type, make_node
from tests.problems import assert_problem, problem_fields

API = "/api/v1"


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def _new_type(**kw):
    body = {
        "code": "test_key_parks",
        "name_zh": "重点园区清单",
        "name_en": "Key parks",
        "source": "测试",
        "entry_ref": None,
        "fields": [
            {"name": "region", "label": "所在地", "type": "text", "required": True},
            {"name": "area_mu", "label": "面积（亩）", "type": "decimal"},
            {"name": "level", "label": "级别", "type": "choice", "choices": ["国家级", "省级"]},
        ],
    }
    body.update(kw)
    return body


def test_seeded_catalogue_is_listed_and_filtered(client):
    r = client.get(f"{API}/list-types", params={"limit": 100})
    assert r.status_code == 200
    codes = {t["code"] for t in r.json()["items"]}
    assert "henan_key_projects" in codes
    assert r.json()["total"] >= 10

    r = client.get(f"{API}/list-types", params={"q": "重点项目"})
    assert [t["code"] for t in r.json()["items"]] == ["henan_key_projects"]
    item = r.json()["items"][0]
    assert item["entry_ref"] == "project"
    assert item["fields"][0]["choices"] == ["高", "中", "低"]

    r = client.get(f"{API}/list-types", params={"entry_ref": "none", "limit": 100})
    assert r.json()["items"] and all(t["entry_ref"] is None for t in r.json()["items"])

    r = client.get(f"{API}/list-types", params={"sort": "-code", "limit": 100})
    codes = [t["code"] for t in r.json()["items"]]
    assert codes == sorted(codes, reverse=True)


def test_filter_active(client, db):
    inactive = make_list_type(db, is_active=False)
    r = client.get(f"{API}/list-types", params={"active": False, "limit": 100})
    assert [t["id"] for t in r.json()["items"]] == [inactive.id]
    r = client.get(f"{API}/list-types", params={"active": True, "limit": 100})
    assert inactive.id not in {t["id"] for t in r.json()["items"]}


def test_bad_sort_is_422(client):
    r = client.get(f"{API}/list-types", params={"sort": "nope"})
    assert r.status_code == 422
    assert problem_fields(r.json()) == ["sort"]


def test_create_read_and_etag(client, db):
    before = _count(db, ListType)
    r = client.post(f"{API}/list-types", json=_new_type())
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["ETag"] == '"1"'
    assert r.headers["Location"] == f"{API}/list-types/{body['id']}"
    assert body["fields"][1] == {
        "name": "area_mu",
        "label": "面积（亩）",
        "type": "decimal",
        "required": False,
        "choices": None,
    }
    assert body["is_active"] is True
    assert _count(db, ListType) == before + 1

    r = client.get(f"{API}/list-types/{body['id']}")
    assert r.status_code == 200
    assert r.json()["code"] == "test_key_parks"
    assert r.headers["ETag"] == '"1"'


def test_unknown_type_is_404(client):
    assert_problem(client.get(f"{API}/list-types/999999"), 404, "not-found")


def test_duplicate_code_is_409_pointing_to_existing(client, db):
    existing = db.scalars(select(ListType).where(ListType.code == "henan_key_projects")).one()
    before = _count(db, ListType)
    r = client.post(f"{API}/list-types", json=_new_type(code="henan_key_projects"))
    assert r.status_code == 409
    assert r.json()["type"] == "urn:chaintrack:problem:conflict"
    assert r.json()["existing_id"] == existing.id
    assert _count(db, ListType) == before


def test_bad_field_definitions_are_422(client, db):
    before = _count(db, ListType)
    cases = [
        # name not an identifier
        ([{"name": "Main Products", "label": "x", "type": "text"}], "fields.0.name"),
        # choice without choices
        ([{"name": "level", "label": "级别", "type": "choice"}], "fields.0"),
        ([{"name": "level", "label": "级别", "type": "choice", "choices": []}], "fields.0"),
        # choices on a non-choice field
        ([{"name": "n", "label": "n", "type": "text", "choices": ["a"]}], "fields.0"),
        # label required
        ([{"name": "n", "type": "text"}], "fields.0.label"),
        ([{"name": "n", "label": "", "type": "text"}], "fields.0.label"),
        # unknown type
        ([{"name": "n", "label": "n", "type": "float"}], "fields.0.type"),
        # duplicate names
        (
            [
                {"name": "n", "label": "a", "type": "text"},
                {"name": "n", "label": "b", "type": "integer"},
            ],
            "fields",
        ),
        # unknown key in a definition
        ([{"name": "n", "label": "n", "type": "text", "width": 3}], "fields.0.width"),
    ]
    for fields, field in cases:
        r = client.post(f"{API}/list-types", json=_new_type(fields=fields))
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["type"] == "urn:chaintrack:problem:validation"
        assert field in problem_fields(r.json()), (fields, r.json())
    r = client.post(f"{API}/list-types", json=_new_type(entry_ref="region"))
    assert r.status_code == 422 and problem_fields(r.json()) == ["entry_ref"]
    r = client.post(f"{API}/list-types", json=_new_type(code="Bad Code"))
    assert r.status_code == 422 and problem_fields(r.json()) == ["code"]
    r = client.post(f"{API}/list-types", json={**_new_type(), "id": 5, "version": 3})
    assert r.status_code == 422 and set(problem_fields(r.json())) == {"id", "version"}
    assert _count(db, ListType) == before


def _type_with_entries(db, client, fields, entries, entry_ref=None):
    lt = make_list_type(db, fields=fields, entry_ref=entry_ref)
    chain = make_chain(db)
    lst = ChainList(chain_id=chain.id, list_type_id=lt.id, period="2025")
    db.add(lst)
    db.flush()
    for i, attrs in enumerate(entries):
        db.add(
            ListEntry(
                list_id=lst.id, chain_id=chain.id, position=i, title=f"e{i}", attributes=attrs
            )
        )
    db.flush()
    return lt, lst


FIELDS = [
    {"name": "priority", "label": "优先级", "type": "choice", "choices": ["高", "中", "低"]},
    {"name": "owner", "label": "责任单位", "type": "text", "required": False},
]


def test_patch_adds_optional_field_and_renames(client, db):
    lt, _ = _type_with_entries(db, client, FIELDS, [{"priority": "高"}, {}])
    new_fields = [*FIELDS, {"name": "deadline", "label": "时限", "type": "date"}]
    r = client.patch(
        f"{API}/list-types/{lt.id}",
        json={"fields": new_fields, "name_zh": "重点事项"},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"2"'
    assert [f["name"] for f in r.json()["fields"]] == ["priority", "owner", "deadline"]
    assert r.json()["name_zh"] == "重点事项"


def test_patch_requiring_a_field_that_entries_lack_is_409_with_count(client, db):
    lt, _ = _type_with_entries(db, client, FIELDS, [{"priority": "高"}, {}, {"owner": "x"}])
    fields = [FIELDS[0], {**FIELDS[1], "required": True}]
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"fields": fields}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 409
    body = r.json()
    assert body["type"] == "urn:chaintrack:problem:conflict"
    assert body["conflicting_entries"] == 2
    assert "attributes.owner" in body["examples"][0]["errors"][0]
    db.expire_all()
    assert db.get(ListType, lt.id).fields[1]["required"] is False
    assert db.get(ListType, lt.id).version == 1


def test_patch_narrowing_choices_in_use_is_409(client, db):
    lt, _ = _type_with_entries(db, client, FIELDS, [{"priority": "低"}, {"priority": "高"}])
    fields = [{**FIELDS[0], "choices": ["高", "中"]}, FIELDS[1]]
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"fields": fields}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 409
    assert r.json()["conflicting_entries"] == 1
    # Narrowing to choices nobody uses is fine.
    fields = [{**FIELDS[0], "choices": ["高", "低"]}, FIELDS[1]]
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"fields": fields}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200, r.text


def test_patch_removing_a_field_with_values_is_409(client, db):
    lt, _ = _type_with_entries(db, client, FIELDS, [{"owner": "办公室"}])
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"fields": [FIELDS[0]]}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 409 and r.json()["conflicting_entries"] == 1


def test_patch_changing_type_rewrites_stored_form(client, db):
    fields = [{"name": "n", "label": "数量", "type": "integer"}]
    lt, lst = _type_with_entries(db, client, fields, [{"n": 12}])
    r = client.patch(
        f"{API}/list-types/{lt.id}",
        json={"fields": [{"name": "n", "label": "数量", "type": "decimal"}]},
        headers={"If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    r = client.get(f"{API}/lists/{lst.id}/entries")
    assert r.json()["items"][0]["attributes"] == {"n": "12"}


def test_patch_entry_ref_refused_when_entries_reference_another_kind(client, db):
    lt, lst = _type_with_entries(db, client, FIELDS, [{}], entry_ref="node")
    node = make_node(db, db.get(Chain, lst.chain_id))
    entry = db.scalars(select(ListEntry).where(ListEntry.list_id == lst.id)).one()
    entry.node_id = node.id
    db.flush()
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"entry_ref": "project"}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 409 and r.json()["conflicting_entries"] == 1


def test_patch_concurrency_and_deactivation(client, db):
    lt = make_list_type(db)
    r = client.patch(f"{API}/list-types/{lt.id}", json={"is_active": False})
    assert r.status_code == 428
    assert r.json()["type"] == "urn:chaintrack:problem:precondition-required"
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"is_active": False}, headers={"If-Match": '"7"'}
    )
    assert r.status_code == 412
    assert r.json()["type"] == "urn:chaintrack:problem:precondition-failed"
    db.expire_all()
    assert db.get(ListType, lt.id).is_active is True
    r = client.patch(
        f"{API}/list-types/{lt.id}", json={"is_active": False}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 200 and r.json()["is_active"] is False


def test_patch_duplicate_code_and_nulls(client, db):
    a = make_list_type(db)
    b = make_list_type(db)
    r = client.patch(f"{API}/list-types/{b.id}", json={"code": a.code}, headers={"If-Match": '"1"'})
    assert r.status_code == 409 and r.json()["existing_id"] == a.id
    r = client.patch(
        f"{API}/list-types/{b.id}", json={"name_zh": None}, headers={"If-Match": '"1"'}
    )
    assert r.status_code == 422 and problem_fields(r.json()) == ["name_zh"]
    r = client.patch(f"{API}/list-types/{b.id}", json={"fields": None}, headers={"If-Match": '"1"'})
    assert r.status_code == 422 and problem_fields(r.json()) == ["fields"]
    db.expire_all()
    assert db.get(ListType, b.id).version == 1
