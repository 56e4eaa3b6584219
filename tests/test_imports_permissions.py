"""The permission matrix for the import routes (multipart uploads), by role.

tests/test_auth_matrix.py drives every write route with JSON request builders; the
import routes take a file, so their builders live here (``IMPORT_BUILDERS``, keyed like
tests/auth_support.BUILDERS) and this module runs the same matrix over them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from chaintrack.api import create_app
from chaintrack.auth.permissions import Access, api_routes, rule_of
from chaintrack.models import AuditRecord, ChainList
from chaintrack.models.enums import UserRole
from tests.auth_support import new_world
from tests.conftest import settings_for_tests
from tests.factories import make_enterprise, make_list_type, make_project
from tests.test_imports_api import API, csv_text, uscc

ROLES = ("anonymous", "viewer", "editor_other", "editor_this", "admin")
OK = "2xx"
EXPECTED = {
    Access.CHAIN: dict(zip(ROLES, (401, 403, 403, OK, OK), strict=True)),
    Access.REGISTER: dict(zip(ROLES, (401, 403, OK, OK, OK), strict=True)),
}


@dataclass
class Upload:
    url: str
    content: bytes
    params: dict[str, Any] = field(default_factory=dict)

    def send(self, client: Any) -> Any:
        params = {"mode": "commit", **self.params}
        return client.post(self.url, params=params, files={"file": ("data.csv", self.content)})


IMPORT_BUILDERS: dict[tuple[str, str], Callable[[Any], Upload]] = {}


def builder(path: str) -> Callable[[Callable[[Any], Upload]], Callable[[Any], Upload]]:
    def register(fn: Callable[[Any], Upload]) -> Callable[[Any], Upload]:
        IMPORT_BUILDERS[("POST", API + path)] = fn
        return fn

    return register


@builder("/imports/enterprises")
def _enterprises(w: Any) -> Upload:
    rows = [["统一社会信用代码", "企业名称", "所在地区代码"], [uscc(), "权限测试企业", "370100"]]
    return Upload(f"{API}/imports/enterprises", csv_text(rows))


@builder("/imports/designations")
def _designations(w: Any) -> Upload:
    ent = make_enterprise(w.db)
    rows = [
        ["统一社会信用代码", "培育层级", "认定级别", "认定日期"],
        [ent.uscc, "gazelle", "provincial", "2024-03-01"],
    ]
    return Upload(f"{API}/imports/designations", csv_text(rows))


@builder("/imports/memberships")
def _memberships(w: Any) -> Upload:
    ent = make_enterprise(w.db)
    rows = [["统一社会信用代码", "链上角色", "入链日期"], [ent.uscc, "supporting", "2024-01-01"]]
    return Upload(f"{API}/imports/memberships", csv_text(rows), {"chain_id": w.chain.id})


@builder("/imports/projects")
def _projects(w: Any) -> Upload:
    rows = [
        ["项目编号", "项目名称", "项目类型", "所在地区代码", "总投资（万元）"],
        [f"PERM-{uscc()[-8:]}", "权限测试项目", "fill", "370600", "100"],
    ]
    return Upload(f"{API}/imports/projects", csv_text(rows), {"chain_id": w.chain.id})


@builder("/imports/progress")
def _progress(w: Any) -> Upload:
    project = make_project(w.db, w.chain)
    rows = [
        ["项目编号", "调度月份", "本月完成投资（万元）"],
        [project.internal_code, "2025-01", "1"],
    ]
    return Upload(f"{API}/imports/progress", csv_text(rows))  # the chain comes from the row


@builder("/lists/{list_id}/import")
def _list_entries(w: Any) -> Upload:
    lt = make_list_type(w.db)
    lst = ChainList(chain_id=w.chain.id, list_type_id=lt.id, period="2025")
    w.db.add(lst)
    w.db.flush()
    return Upload(f"{API}/lists/{lst.id}/import", csv_text([["名称"], ["权限测试条目"]]))


def _import_routes() -> list[tuple[str, str, Any]]:
    app = create_app(settings_for_tests("sqlite://"))
    return [
        ("POST", ctx.path, rule_of(ctx))
        for ctx in api_routes(app.routes)
        if "POST" in (ctx.methods or set())
        and (ctx.path.startswith(f"{API}/imports/") or ctx.path.endswith("/import"))
    ]


ROUTES = _import_routes()


def test_every_import_route_has_a_rule_and_a_builder():
    assert {(m, p) for m, p, _ in ROUTES} == set(IMPORT_BUILDERS)
    assert all(rule is not None for _, _, rule in ROUTES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("method", "path", "rule"), ROUTES, ids=[p for _, p, _ in ROUTES])
def test_import_permission_matrix(db, make_user, client_for, method, path, rule, role):
    world = new_world(db, make_user)
    actor = {
        "anonymous": lambda: None,
        "viewer": lambda: make_user(UserRole.VIEWER),
        "editor_other": lambda: make_user(UserRole.EDITOR, chains=[world.other]),
        "editor_this": lambda: make_user(UserRole.EDITOR, chains=[world.chain]),
        "admin": lambda: make_user(UserRole.ADMIN),
    }[role]()
    request = IMPORT_BUILDERS[(method, path)](world)
    before = db.scalar(select(func.count()).select_from(AuditRecord))
    response = request.send(client_for(actor))
    expected = EXPECTED[rule.access][role]
    if expected == OK:
        assert 200 <= response.status_code < 300, (response.status_code, response.text)
        assert response.json()["committed"] is True
        assert db.scalar(select(func.count()).select_from(AuditRecord)) > before
        return
    assert response.status_code == expected, (response.status_code, response.text)
    assert db.scalar(select(func.count()).select_from(AuditRecord)) == before


@builder("/attraction/leads/import")
def _attraction_leads(w: Any) -> Upload:
    from tests.factories import make_node

    node = make_node(w.db, w.chain)
    rows = [
        [
            "产业链代码",
            "目标企业",
            "来源国家或省份",
            "线索来源",
            "意向投资（万元）",
            "责任单位",
            "责任人",
            "图谱节点代码",
        ],
        [w.chain.code, "矩阵导入线索公司", "德国", "展会", "100", "商务局", "王某", node.code],
    ]
    return Upload(f"{API}/attraction/leads/import", csv_text(rows), {"chain_id": w.chain.id})
