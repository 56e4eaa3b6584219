"""The OpenAPI document names things once and readably (issue 21).

A generated client turns component names into model classes and operation ids into
function names: a module path in a name, two schemas with one title (the generator
refuses the second and drops every model that used it) or a path-derived id make a
client that is incomplete or unreadable.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from fastapi.routing import APIRoute

from chaintrack.common.operation_ids import operation_id

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
OPERATION_ID = re.compile(r"^[a-z]+(_[a-z]+)+$")
# Words the path contributes to FastAPI's default ids (``..._api_v1_chains__chain_id__get``).
PATH_WORDS = {"api", "v", "id"}


@pytest.fixture(scope="module")
def document(shared_app) -> dict[str, Any]:
    return shared_app.openapi()


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, item[method])
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    ]


def test_component_names_carry_no_module_path(document) -> None:
    schemas = document["components"]["schemas"]
    assert [name for name in schemas if "__" in name or "chaintrack" in name.lower()] == []


def test_no_two_components_share_a_title(document) -> None:
    titles = Counter(
        schema.get("title", name) for name, schema in document["components"]["schemas"].items()
    )
    assert [title for title, n in titles.items() if n > 1] == []


def test_one_schema_per_reference(document) -> None:
    """The references are the shared classes of chaintrack.common.refs, used everywhere."""
    schemas = document["components"]["schemas"]
    assert set(schemas["ChainRef"]["required"]) == {"id", "code", "name_zh", "name_en"}
    assert set(schemas["NodeRef"]["required"]) == {"id", "code", "name_zh"}
    assert set(schemas["EnterpriseRef"]["required"]) == {"id", "name", "uscc"}
    assert set(schemas["ProjectRef"]["required"]) == {"id", "name", "internal_code"}

    def ref_of(model: str, field: str) -> str:
        prop = schemas[model]["properties"][field]
        options = prop.get("anyOf", [prop])
        return next(o["$ref"] for o in options if "$ref" in o).rsplit("/", 1)[-1]

    assert ref_of("ProjectOut", "chain") == "ChainRef"
    assert ref_of("ProjectOut", "owner") == "EnterpriseRef"
    assert ref_of("MembershipOut", "chain") == "ChainRef"
    assert ref_of("MembershipOut", "node") == "NodeRef"
    assert ref_of("ChainMapOut", "chain") == "ChainRef"
    assert ref_of("EntryOut", "enterprise") == "EnterpriseRef"
    assert ref_of("EntryOut", "project") == "ProjectRef"
    assert ref_of("EntryOut", "node") == "NodeRef"


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_every_reference_resolves(document) -> None:
    names = {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}
    refs = _refs(document)
    assert "#/components/schemas/ChainRef" in refs
    assert refs - names == set()


def test_operation_ids_are_unique_readable_and_free_of_path_fragments(document) -> None:
    operations = _operations(document)
    ids = [op["operationId"] for _, _, op in operations]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not OPERATION_ID.match(i)] == []
    assert [i for i in ids if PATH_WORDS & set(i.split("_"))] == []
    for method, path, op in operations:
        assert op["operationId"].startswith(f"{op['tags'][0]}_"), (method, path)
        default_tail = re.sub(r"\W", "_", path.removeprefix("/api/v1")) + f"_{method.lower()}"
        assert not op["operationId"].endswith(default_tail), (method, path)


def test_operation_ids_are_stable(document) -> None:
    """Generated clients call these by name: changing one breaks every integrator."""
    ids = {(method, path): op["operationId"] for method, path, op in _operations(document)}
    expected = {
        ("POST", "/api/v1/auth/token"): "auth_login",
        ("POST", "/api/v1/enterprises"): "enterprises_create",
        ("POST", "/api/v1/chains/{chain_id}/memberships"): "memberships_create",
        ("POST", "/api/v1/projects"): "projects_create",
        ("GET", "/api/v1/projects"): "projects_list",
        ("GET", "/api/v1/projects/{project_id}"): "projects_get",
        ("PUT", "/api/v1/projects/{project_id}/progress/{period}"): "progress_submit",
        ("GET", "/api/v1/reports/chains/{chain_id}"): "reports_chain",
        ("GET", "/api/v1/reports/dashboard"): "reports_dashboard",
    }
    assert {key: ids.get(key) for key in expected} == expected


def test_body_schemas_are_named_after_the_operation(document) -> None:
    """FastAPI names form bodies ``Body_<operation id>``: no path in them either."""
    bodies = [name for name in document["components"]["schemas"] if name.startswith("Body_")]
    assert "Body_auth_login" in bodies
    ids = {op["operationId"] for _, _, op in _operations(document)}
    assert [b for b in bodies if b.removeprefix("Body_") not in ids] == []


@pytest.mark.parametrize(
    ("tag", "name", "expected"),
    [
        ("projects", "create_project", "projects_create"),
        ("projects", "change_status", "projects_change_status"),
        ("reports", "chain_report", "reports_chain"),
        ("reports", "dashboard", "reports_dashboard"),
        ("lists", "list_list_types", "lists_list_types"),
        ("progress", "get_progress_month", "progress_get_month"),
        ("imports", "import_enterprises", "imports_import_enterprises"),
        ("auth", "login", "auth_login"),
    ],
)
def test_operation_id_rule(tag: str, name: str, expected: str) -> None:
    def endpoint() -> None:
        return None

    route = APIRoute("/x", endpoint, name=name, tags=[tag])
    assert operation_id(route) == expected


# --- the document is as strict as the server (issue 13) ----------------------------


def _parameter(document: dict[str, Any], method: str, path: str, name: str) -> dict[str, Any]:
    operation = document["paths"][path][method]
    return next(p for p in operation["parameters"] if p["name"] == name)


def _branch(schema: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(s for s in schema.get("anyOf", [schema]) if s.get("type") == kind)


def test_every_id_parameter_is_bounded(document) -> None:
    loose = [
        (method, path, p["name"])
        for method, path, op in _operations(document)
        for p in op.get("parameters", [])
        if p["name"] == "id" or p["name"].endswith("_id")
        if "string" not in str(p["schema"])  # audit's entity_id and request_id are texts
        if (s := _branch(p["schema"], "integer")).get("minimum") != 1
        or s.get("maximum") != 2_147_483_647
    ]
    assert loose == []


def test_sort_parameters_are_patterns_of_their_keys(document) -> None:
    free_text = [
        (method, path)
        for method, path, op in _operations(document)
        for p in op.get("parameters", [])
        if p["name"] == "sort" and "pattern" not in _branch(p["schema"], "string")
    ]
    assert free_text == []
    pattern = re.compile(
        _branch(_parameter(document, "get", "/api/v1/chains", "sort")["schema"], "string")[
            "pattern"
        ]
    )
    assert pattern.fullmatch("-created_at,code")
    assert pattern.fullmatch("name_zh")
    for refused in ("", "nope", "code,", "code, name_zh", "--code", "code;drop"):
        assert pattern.fullmatch(refused) is None, refused


def test_sort_outside_the_pattern_is_refused(client) -> None:
    for value in ("code, name_zh", "--code", "code,"):
        r = client.get("/api/v1/chains", params={"sort": value})
        assert r.status_code == 422, (value, r.text)
    assert client.get("/api/v1/chains", params={"sort": "-created_at,code"}).status_code == 200


def test_if_match_is_required_where_428_is_answered(document) -> None:
    for method, path, op in _operations(document):
        headers = [p for p in op.get("parameters", []) if p["name"] == "If-Match"]
        for header in headers:
            # a PUT that may create (201) takes none for a new record
            creates = method == "PUT" and "201" in op["responses"]
            assert header["required"] is not creates, (method, path)
            assert header["schema"]["type"] == "string", (method, path)
            assert "428" in op["responses"], (method, path)
    header = _parameter(document, "patch", "/api/v1/chains/{chain_id}", "If-Match")
    pattern = re.compile(header["schema"]["pattern"])
    assert pattern.fullmatch('"3"') and pattern.fullmatch('W/"3"')
    assert pattern.fullmatch("*") is None and pattern.fullmatch("3") is None


def test_codes_periods_and_money_carry_their_patterns(document) -> None:
    schemas = document["components"]["schemas"]
    enterprise = schemas["EnterpriseCreate"]["properties"]
    uscc = re.compile(enterprise["uscc"]["pattern"])
    assert uscc.fullmatch("91110000600037341L")
    assert uscc.fullmatch("9111000060003734IL") is None  # I is never used
    region = re.compile(enterprise["region_code"]["pattern"])
    assert region.fullmatch("370600") and region.fullmatch("990600") is None
    username = re.compile(schemas["UserCreate"]["properties"]["username"]["pattern"])
    assert username.fullmatch("zhang.wei") and username.fullmatch(".x") is None
    period = _parameter(
        document, "get", "/api/v1/projects/{project_id}/progress/{period}", "period"
    )
    period_re = re.compile(_branch(period["schema"], "string")["pattern"])
    assert period_re.fullmatch("2025-03")
    assert period_re.fullmatch("2025-13") is None and period_re.fullmatch("1999-12") is None
    money = _branch(schemas["FundsIn"]["properties"]["amount"], "string")
    money_re = re.compile(money["pattern"])
    assert money_re.fullmatch("1250.50") and money_re.fullmatch("1250.12345") is None
    assert money_re.fullmatch("-1") is None and money_re.fullmatch("1e3") is None


def test_patch_fields_that_refuse_null_are_not_nullable(document) -> None:
    props = document["components"]["schemas"]["EnterpriseUpdate"]["properties"]
    assert "anyOf" not in props["name"] and props["name"]["type"] == "string"
    assert "default" not in props["name"]
    node = document["components"]["schemas"]["NodeUpdate"]["properties"]
    assert all("anyOf" not in node[f] for f in ("code", "name_zh", "position"))
