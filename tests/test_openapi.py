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
