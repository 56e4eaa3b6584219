"""Shared helpers for the auth and audit tests (builders of valid write requests)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from chaintrack.history import office_today
from chaintrack.models import (
    ChainGroup,
    ChainLeader,
    ChainList,
    EditorAssignment,
    EnterpriseFigures,
    ListEntry,
    LoginThrottleEntry,
    MapRelation,
    Problem,
    User,
)
from chaintrack.models.base import utcnow
from chaintrack.models.enums import LeaderRole, UserRole
from tests.conftest import TEST_PASSWORD
from tests.factories import (
    fake_uscc,
    make_chain,
    make_designation,
    make_enterprise,
    make_list_type,
    make_membership,
    make_node,
    make_project,
    make_report,
)

API = "/api/v1"
_seq = itertools.count(1)


@dataclass
class Req:
    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, client: Any) -> Any:
        kwargs: dict[str, Any] = {"headers": self.headers}
        if self.json is not None:
            kwargs["json"] = self.json
        return client.request(self.method, self.url, **kwargs)


@dataclass
class World:
    """Chain A ("this" chain, edited by editor_this), chain B (edited by editor_other)."""

    db: Session
    chain: Any
    other: Any
    make_user: Callable[..., User]


IF1 = {"If-Match": '"1"'}
BUILDERS: dict[tuple[str, str], Callable[[World], Req]] = {}


def builder(method: str, path: str) -> Callable[[Callable[[World], Req]], Callable[[World], Req]]:
    def register(fn: Callable[[World], Req]) -> Callable[[World], Req]:
        BUILDERS[(method, API + path)] = fn
        return fn

    return register


def _add(db: Session, obj: Any) -> Any:
    db.add(obj)
    db.flush()
    return obj


# --- auth and users -------------------------------------------------------------------


@builder("POST", "/auth/password")
def _change_password(w: World) -> Req:
    return Req(
        "POST",
        f"{API}/auth/password",
        {"current_password": TEST_PASSWORD, "new_password": "another good password"},
    )


@builder("POST", "/users")
def _create_user(w: World) -> Req:
    n = next(_seq)
    return Req(
        "POST",
        f"{API}/users",
        {
            "username": f"new.user{n}",
            "display_name": "新用户",
            "role": "editor",
            "password": "a fine password",
            "chain_ids": [w.chain.id],
        },
    )


@builder("PATCH", "/users/{user_id}")
def _update_user(w: World) -> Req:
    u = w.make_user(UserRole.VIEWER)
    return Req("PATCH", f"{API}/users/{u.id}", {"display_name": "改名"}, IF1)


@builder("POST", "/users/{user_id}/password")
def _reset_password(w: World) -> Req:
    u = w.make_user(UserRole.VIEWER)
    return Req("POST", f"{API}/users/{u.id}/password", {"password": "a new password!"}, IF1)


@builder("POST", "/users/{user_id}/unlock")
def _unlock(w: World) -> Req:
    u = w.make_user(UserRole.VIEWER)
    w.db.add(
        LoginThrottleEntry(
            kind="user", key=u.username, window_started_at=utcnow(), failures=9, lockouts=1
        )
    )
    w.db.flush()
    return Req("POST", f"{API}/users/{u.id}/unlock")


@builder("PUT", "/users/{user_id}/chains/{chain_id}")
def _assign(w: World) -> Req:
    u = w.make_user(UserRole.EDITOR)
    return Req("PUT", f"{API}/users/{u.id}/chains/{w.chain.id}")


@builder("DELETE", "/users/{user_id}/chains/{chain_id}")
def _unassign(w: World) -> Req:
    u = w.make_user(UserRole.EDITOR)
    _add(w.db, EditorAssignment(user_id=u.id, chain_id=w.chain.id))
    return Req("DELETE", f"{API}/users/{u.id}/chains/{w.chain.id}")


# --- chains ---------------------------------------------------------------------------


@builder("POST", "/chain-groups")
def _create_group(w: World) -> Req:
    n = next(_seq)
    return Req("POST", f"{API}/chain-groups", {"code": f"G{n}", "name_zh": "组", "name_en": "G"})


@builder("PATCH", "/chain-groups/{group_id}")
def _update_group(w: World) -> Req:
    n = next(_seq)
    g = _add(w.db, ChainGroup(code=f"GR{n}", name_zh="组", name_en="Group"))
    return Req("PATCH", f"{API}/chain-groups/{g.id}", {"name_zh": "新组名"}, IF1)


@builder("POST", "/chains")
def _create_chain(w: World) -> Req:
    n = next(_seq)
    body = {"code": f"NC{n}", "name_zh": "新链", "name_en": "New chain", "region_code": "370000"}
    return Req("POST", f"{API}/chains", body)


@builder("PATCH", "/chains/{chain_id}")
def _update_chain(w: World) -> Req:
    return Req("PATCH", f"{API}/chains/{w.chain.id}", {"description": "更新说明"}, IF1)


@builder("POST", "/chains/{chain_id}/leaders")
def _create_leader(w: World) -> Req:
    body = {"role": "leader", "person_name": "王某", "start_on": "2024-01-01"}
    return Req("POST", f"{API}/chains/{w.chain.id}/leaders", body)


@builder("PATCH", "/chain-leaders/{leader_id}")
def _update_leader(w: World) -> Req:
    leader = _add(
        w.db,
        ChainLeader(
            chain_id=w.chain.id,
            role=LeaderRole.LEADER,
            person_name="李某",
            start_on=dt.date(2023, 1, 1),
        ),
    )
    return Req("PATCH", f"{API}/chain-leaders/{leader.id}", {"end_on": "2024-12-31"}, IF1)


# --- map ------------------------------------------------------------------------------


@builder("POST", "/chains/{chain_id}/nodes")
def _create_node(w: World) -> Req:
    parent = make_node(w.db, w.chain)
    n = next(_seq)
    body = {
        "parent_id": parent.id,
        "code": f"NEW{n}",
        "name_zh": "新环节",
        "kind": "segment",
        "stage": "upstream",
    }
    return Req("POST", f"{API}/chains/{w.chain.id}/nodes", body)


@builder("PATCH", "/nodes/{node_id}")
def _update_node(w: World) -> Req:
    node = make_node(w.db, w.chain)
    return Req("PATCH", f"{API}/nodes/{node.id}", {"name_zh": "改名环节"}, IF1)


@builder("DELETE", "/nodes/{node_id}")
def _delete_node(w: World) -> Req:
    node = make_node(w.db, w.chain)
    return Req("DELETE", f"{API}/nodes/{node.id}", headers=IF1)


@builder("POST", "/chains/{chain_id}/relations")
def _create_relation(w: World) -> Req:
    a, b = make_node(w.db, w.chain), make_node(w.db, w.chain)
    body = {"from_node_id": a.id, "to_node_id": b.id, "kind": "supply"}
    return Req("POST", f"{API}/chains/{w.chain.id}/relations", body)


@builder("DELETE", "/relations/{relation_id}")
def _delete_relation(w: World) -> Req:
    a, b = make_node(w.db, w.chain), make_node(w.db, w.chain)
    rel = _add(w.db, MapRelation(chain_id=w.chain.id, from_node_id=a.id, to_node_id=b.id))
    return Req("DELETE", f"{API}/relations/{rel.id}")


@builder("POST", "/chains/{chain_id}/map-versions")
def _publish(w: World) -> Req:
    make_node(w.db, w.chain)
    return Req("POST", f"{API}/chains/{w.chain.id}/map-versions", {"label": "图谱1.0"})


# --- lists ----------------------------------------------------------------------------


@builder("POST", "/list-types")
def _create_list_type(w: World) -> Req:
    n = next(_seq)
    body = {"code": f"type_{n}", "name_zh": "清单", "name_en": "List", "fields": []}
    return Req("POST", f"{API}/list-types", body)


@builder("PATCH", "/list-types/{type_id}")
def _update_list_type(w: World) -> Req:
    lt = make_list_type(w.db)
    return Req("PATCH", f"{API}/list-types/{lt.id}", {"name_zh": "改名清单"}, IF1)


def _list(w: World) -> ChainList:
    lt = make_list_type(w.db)
    return _add(w.db, ChainList(chain_id=w.chain.id, list_type_id=lt.id, period="2025"))


def _entry(w: World, lst: ChainList | None = None, **kw: Any) -> ListEntry:
    lst = lst or _list(w)
    return _add(
        w.db,
        ListEntry(list_id=lst.id, chain_id=lst.chain_id, title="条目", attributes={}, **kw),
    )


@builder("POST", "/chains/{chain_id}/lists")
def _create_list(w: World) -> Req:
    lt = make_list_type(w.db)
    body = {"list_type_id": lt.id, "period": "2025"}
    return Req("POST", f"{API}/chains/{w.chain.id}/lists", body)


@builder("PATCH", "/lists/{list_id}")
def _update_list(w: World) -> Req:
    return Req("PATCH", f"{API}/lists/{_list(w).id}", {"title": "新标题"}, IF1)


@builder("POST", "/lists/{list_id}/entries")
def _create_entry(w: World) -> Req:
    return Req("POST", f"{API}/lists/{_list(w).id}/entries", {"title": "新条目"})


@builder("PUT", "/lists/{list_id}/entries/order")
def _reorder(w: World) -> Req:
    lst = _list(w)
    a, b = _entry(w, lst, position=1), _entry(w, lst, position=2)
    return Req("PUT", f"{API}/lists/{lst.id}/entries/order", {"entry_ids": [b.id, a.id]}, IF1)


@builder("PATCH", "/list-entries/{entry_id}")
def _update_entry(w: World) -> Req:
    return Req("PATCH", f"{API}/list-entries/{_entry(w).id}", {"title": "改名条目"}, IF1)


@builder("DELETE", "/list-entries/{entry_id}")
def _delete_entry(w: World) -> Req:
    return Req("DELETE", f"{API}/list-entries/{_entry(w).id}", headers=IF1)


# --- enterprises ----------------------------------------------------------------------


@builder("POST", "/enterprises")
def _create_enterprise(w: World) -> Req:
    body = {"uscc": fake_uscc(), "name": "新登记企业有限公司", "region_code": "370100"}
    return Req("POST", f"{API}/enterprises", body)


@builder("PATCH", "/enterprises/{enterprise_id}")
def _update_enterprise(w: World) -> Req:
    ent = make_enterprise(w.db)
    return Req("PATCH", f"{API}/enterprises/{ent.id}", {"address": "烟台市"}, IF1)


@builder("PUT", "/enterprises/{enterprise_id}/figures/{year}")
def _put_figures(w: World) -> Req:
    ent = make_enterprise(w.db)
    _add(w.db, EnterpriseFigures(enterprise_id=ent.id, year=2023, revenue=Decimal("1")))
    body = {"revenue": "1250.5", "employees": 300}
    return Req("PUT", f"{API}/enterprises/{ent.id}/figures/2024", body)


@builder("POST", "/enterprises/{enterprise_id}/designations")
def _grant(w: World) -> Req:
    ent = make_enterprise(w.db)
    body = {"tier": "gazelle", "level": "provincial", "recognised_on": "2024-03-01"}
    return Req("POST", f"{API}/enterprises/{ent.id}/designations", body)


@builder("PATCH", "/designations/{designation_id}")
def _correct(w: World) -> Req:
    d = make_designation(w.db, make_enterprise(w.db))
    return Req("PATCH", f"{API}/designations/{d.id}", {"batch": "第二批"}, IF1)


@builder("POST", "/designations/{designation_id}/revoke")
def _revoke(w: World) -> Req:
    d = make_designation(w.db, make_enterprise(w.db))
    body = {"revoked_on": "2024-01-01", "reason": "复核未通过"}
    return Req("POST", f"{API}/designations/{d.id}/revoke", body, IF1)


# --- memberships ----------------------------------------------------------------------


@builder("POST", "/chains/{chain_id}/memberships")
def _create_membership(w: World) -> Req:
    ent, node = make_enterprise(w.db), make_node(w.db, w.chain)
    body = {
        "enterprise_id": ent.id,
        "node_id": node.id,
        "role": "supporting",
        "started_on": "2024-01-01",
    }
    return Req("POST", f"{API}/chains/{w.chain.id}/memberships", body)


@builder("PATCH", "/memberships/{membership_id}")
def _update_membership(w: World) -> Req:
    m = make_membership(w.db, make_enterprise(w.db), w.chain)
    return Req("PATCH", f"{API}/memberships/{m.id}", {"note": "备注"}, IF1)


@builder("POST", "/memberships/{membership_id}/end")
def _end_membership(w: World) -> Req:
    m = make_membership(w.db, make_enterprise(w.db), w.chain)
    return Req("POST", f"{API}/memberships/{m.id}/end", {"ended_on": "2025-01-31"}, IF1)


# --- projects and progress ------------------------------------------------------------


@builder("POST", "/projects")
def _create_project(w: World) -> Req:
    node = make_node(w.db, w.chain)
    body = {
        "chain_id": w.chain.id,
        "name": "补链项目",
        "type": "fill",
        "region_code": "370600",
        "total_investment": "50000",
        "target_node_ids": [node.id],
    }
    return Req("POST", f"{API}/projects", body)


@builder("PATCH", "/projects/{project_id}")
def _update_project(w: World) -> Req:
    p = make_project(w.db, w.chain)
    return Req("PATCH", f"{API}/projects/{p.id}", {"name": "改名项目"}, IF1)


@builder("POST", "/projects/{project_id}/transitions")
def _transition(w: World) -> Req:
    p = make_project(w.db, w.chain)
    body = {"to_status": "suspended", "changed_on": office_today().isoformat(), "reason": "缓建"}
    return Req("POST", f"{API}/projects/{p.id}/transitions", body, IF1)


@builder("PUT", "/projects/{project_id}/annual-plans/{year}")
def _put_plan(w: World) -> Req:
    p = make_project(w.db, w.chain)
    body = {"planned_investment": "1000"}
    return Req("PUT", f"{API}/projects/{p.id}/annual-plans/2025", body, IF1)


@builder("PUT", "/projects/{project_id}/progress/{period}")
def _submit_progress(w: World) -> Req:
    p = make_project(w.db, w.chain)
    body = {"investment_month": "120.5", "problems": [{"description": "用地指标未落实"}]}
    return Req("PUT", f"{API}/projects/{p.id}/progress/2025-01", body)


@builder("POST", "/projects/{project_id}/problems")
def _create_problem(w: World) -> Req:
    p = make_project(w.db, w.chain)
    report = make_report(w.db, p, "2025-01")
    body = {"period": "2025-01", "description": "资金缺口", "report_id": report.id}
    return Req("POST", f"{API}/projects/{p.id}/problems", body)


def _problem(w: World) -> Problem:
    p = make_project(w.db, w.chain)
    return _add(w.db, Problem(project_id=p.id, period="2025-01", description="问题"))


@builder("PATCH", "/problems/{problem_id}")
def _update_problem(w: World) -> Req:
    return Req("PATCH", f"{API}/problems/{_problem(w).id}", {"responsible_unit": "某局"}, IF1)


@builder("POST", "/problems/{problem_id}/resolve")
def _resolve(w: World) -> Req:
    body = {"resolution": "已解决", "resolved_on": "2025-02-01"}
    return Req("POST", f"{API}/problems/{_problem(w).id}/resolve", body, IF1)


# --- the problem loop (issue 17) ------------------------------------------------------


def _loop_problem(w: World, state: str = "pending", raised_by: int | None = None) -> Problem:
    from chaintrack.models.enums import ProblemState, ProblemStatus

    closed = state in ("handled", "rated", "returned")
    return _add(
        w.db,
        Problem(
            subject="chain",
            chain_id=w.chain.id,
            period=f"{office_today():%Y-%m}",
            description="链上问题",
            state=ProblemState(state),
            status=ProblemStatus.RESOLVED if closed else ProblemStatus.OPEN,
            resolved_on=office_today() if closed else None,
            raised_by=raised_by,
        ),
    )


@builder("POST", "/problems")
def _raise_problem(w: World) -> Req:
    # on a project of the world (in the region of reporter_in, issue 17 wave 3)
    p = make_project(w.db, w.chain)
    body = {"chain_id": w.chain.id, "project_id": p.id, "description": "用地紧张"}
    return Req("POST", f"{API}/problems", body)


@builder("POST", "/problems/{problem_id}/accept")
def _accept_problem(w: World) -> Req:
    return Req("POST", f"{API}/problems/{_loop_problem(w).id}/accept", {}, IF1)


@builder("POST", "/problems/{problem_id}/return")
def _return_problem(w: World) -> Req:
    body = {"reason": "不属于问题"}
    return Req("POST", f"{API}/problems/{_loop_problem(w).id}/return", body, IF1)


@builder("POST", "/problems/{problem_id}/escalate")
def _escalate_problem(w: World) -> Req:
    return Req("POST", f"{API}/problems/{_loop_problem(w).id}/escalate", {}, IF1)


@builder("POST", "/problems/{problem_id}/handle")
def _handle_problem(w: World) -> Req:
    problem = _loop_problem(w, "in_progress")
    return Req("POST", f"{API}/problems/{problem.id}/handle", {"resolution": "已协调"}, IF1)


@builder("POST", "/problems/{problem_id}/rate")
def _rate_problem(w: World) -> Req:
    raiser = w.make_user(UserRole.EDITOR, chains=[w.chain])
    problem = _loop_problem(w, "handled", raised_by=raiser.id)
    return Req("POST", f"{API}/problems/{problem.id}/rate", {"satisfaction": "satisfied"}, IF1)


@builder("POST", "/problems/{problem_id}/supervise")
def _supervise_problem(w: World) -> Req:
    due = (office_today() + dt.timedelta(days=5)).isoformat()
    body = {"level": "city", "due_on": due, "note": "请加快办理"}
    return Req("POST", f"{API}/problems/{_loop_problem(w).id}/supervise", body, IF1)


def _notice(w: World) -> Any:
    from chaintrack.models import SupervisionNotice

    problem = _loop_problem(w)
    notice = SupervisionNotice(
        problem_id=problem.id, level="city", note="督办", due_on=office_today()
    )
    return _add(w.db, notice)


@builder("POST", "/supervision-notices/{notice_id}/reply")
def _reply_notice(w: World) -> Req:
    return Req("POST", f"{API}/supervision-notices/{_notice(w).id}/reply", {"reply": "已办"}, IF1)


def new_world(db: Session, make_user: Callable[..., User]) -> World:
    return World(db=db, chain=make_chain(db), other=make_chain(db), make_user=make_user)


# --- page routes (chaintrack.web): forms with the CSRF token ------------------------------

PAGE_CSRF = "page-matrix-csrf-token-0123456789"


@dataclass
class PageReq:
    """A page form post. ``writes``: a success changes rows (and so is audited)."""

    url: str
    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] | None = None
    writes: bool = True

    def send(self, client: Any) -> Any:
        client.cookies.set("ct_csrf", PAGE_CSRF)
        return client.post(
            self.url,
            data={**self.data, "csrf_token": PAGE_CSRF},
            files=self.files,
            follow_redirects=False,
        )


PAGE_BUILDERS: dict[tuple[str, str], Callable[[World], PageReq]] = {}


def page_builder(path: str) -> Callable[[Callable[[World], PageReq]], Callable[[World], PageReq]]:
    def register(fn: Callable[[World], PageReq]) -> Callable[[World], PageReq]:
        PAGE_BUILDERS[("POST", path)] = fn
        return fn

    return register


@page_builder("/logout")
def _page_logout(w: World) -> PageReq:
    return PageReq("/logout", writes=False)


@page_builder("/enterprises/new")
def _page_register(w: World) -> PageReq:
    return PageReq(
        "/enterprises/new",
        {"uscc": fake_uscc(), "name": "页面登记有限公司", "region_code": "370100"},
    )


@page_builder("/enterprises/{enterprise_id}/edit")
def _page_edit_enterprise(w: World) -> PageReq:
    ent = make_enterprise(w.db)
    data = {"uscc": ent.uscc, "name": "页面改名有限公司", "region_code": "370100", "etag": '"1"'}
    return PageReq(f"/enterprises/{ent.id}/edit", data)


@page_builder("/chains/{chain_id}/nodes")
def _page_add_node(w: World) -> PageReq:
    parent = make_node(w.db, w.chain)
    n = next(_seq)
    data = {
        "parent_id": str(parent.id),
        "code": f"PG{n}",
        "name_zh": "页面环节",
        "kind": "segment",
        "stage": "upstream",
    }
    return PageReq(f"/chains/{w.chain.id}/nodes", data)


@page_builder("/nodes/{node_id}/assess")
def _page_assess(w: World) -> PageReq:
    node = make_node(w.db, w.chain)
    return PageReq(f"/nodes/{node.id}/assess", {"assessment": "weak", "etag": '"1"'})


@page_builder("/lists/{list_id}/entries/new")
def _page_add_entry(w: World) -> PageReq:
    return PageReq(f"/lists/{_list(w).id}/entries/new", {"title": "页面条目"})


@page_builder("/chains/{chain_id}/memberships")
def _page_add_member(w: World) -> PageReq:
    ent, node = make_enterprise(w.db), make_node(w.db, w.chain)
    data = {
        "uscc": ent.uscc,
        "node_id": str(node.id),
        "role": "supporting",
        "started_on": "2024-01-01",
    }
    return PageReq(f"/chains/{w.chain.id}/memberships", data)


@page_builder("/chains/{chain_id}/projects/new")
def _page_add_project(w: World) -> PageReq:
    node = make_node(w.db, w.chain)
    data = {
        "name": "页面补链项目",
        "type": "fill",
        "region_code": "370600",
        "total_investment": "5000",
        "target_node_ids": str(node.id),
    }
    return PageReq(f"/chains/{w.chain.id}/projects/new", data)


@page_builder("/projects/{project_id}/transition")
def _page_transition(w: World) -> PageReq:
    p = make_project(w.db, w.chain)
    data = {
        "to_status": "suspended",
        "changed_on": office_today().isoformat(),
        "reason": "缓建",
        "etag": '"1"',
    }
    return PageReq(f"/projects/{p.id}/transition", data)


@page_builder("/projects/{project_id}/progress")
def _page_progress(w: World) -> PageReq:
    p = make_project(w.db, w.chain)
    return PageReq(f"/projects/{p.id}/progress", {"period": "2025-01", "investment_month": "12"})


def _enterprise_csv() -> bytes:
    header = "统一社会信用代码,企业名称,所在地区代码\n"
    return (header + f"{fake_uscc()},页面导入有限公司,370100\n").encode("utf-8-sig")


@page_builder("/imports/register")
def _page_import_register(w: World) -> PageReq:
    data = {"entity": "enterprises", "mode": "commit"}
    return PageReq("/imports/register", data, files={"file": ("e.csv", _enterprise_csv())})


@page_builder("/imports/chain")
def _page_import_chain(w: World) -> PageReq:
    p = make_project(w.db, w.chain)
    csv = f"项目编号,调度月份,本月完成投资（万元）\n{p.internal_code},2025-01,10\n"
    data = {"entity": "progress", "mode": "commit", "chain_id": str(w.chain.id)}
    return PageReq("/imports/chain", data, files={"file": ("p.csv", csv.encode("utf-8-sig"))})


@page_builder("/list-entries/{entry_id}/edit")
def _page_edit_entry(w: World) -> PageReq:
    return PageReq(f"/list-entries/{_entry(w).id}/edit", {"title": "页面改名", "etag": '"1"'})


@page_builder("/list-entries/{entry_id}/delete")
def _page_delete_entry(w: World) -> PageReq:
    return PageReq(f"/list-entries/{_entry(w).id}/delete", {"etag": '"1"'})


# --- dispatch rounds and review (issue 16) -----------------------------------------------


def _dispatch_round(w: World) -> Any:
    from chaintrack.dispatch.service import open_round

    period = f"20{10 + next(_seq) % 80:02d}-0{1 + next(_seq) % 9}"
    return open_round(w.db, period, dt.date(2099, 1, 5), [w.chain.id], None)


def _pending_report(w: World) -> Any:
    from chaintrack.dispatch.schemas import DispatchSubmit
    from chaintrack.dispatch.service import submit

    p = make_project(w.db, w.chain)
    body = DispatchSubmit(investment_month=Decimal("10"), confirm_warnings=True)
    return submit(w.db, p.id, "2025-01", body, None, None).report


@builder("POST", "/dispatch/rounds")
def _open_round(w: World) -> Req:
    n = next(_seq)
    body = {"period": f"21{n % 100:02d}-03", "deadline": "2199-04-05", "chain_ids": [w.chain.id]}
    return Req("POST", f"{API}/dispatch/rounds", body)


@builder("POST", "/dispatch/rounds/{round_id}/close")
def _close_round(w: World) -> Req:
    return Req("POST", f"{API}/dispatch/rounds/{_dispatch_round(w).id}/close", None, IF1)


@builder("POST", "/dispatch/rounds/{round_id}/notify")
def _notify(w: World) -> Req:
    rnd = _dispatch_round(w)
    make_project(w.db, w.chain)
    reporter = w.make_user(UserRole.REPORTER)
    from chaintrack.models import ReporterScope

    _add(w.db, ReporterScope(user_id=reporter.id, region_code="370100"))
    return Req("POST", f"{API}/dispatch/rounds/{rnd.id}/notify")


@builder("PUT", "/dispatch/projects/{project_id}/reports/{period}")
def _dispatch_submit(w: World) -> Req:
    p = make_project(w.db, w.chain)
    body = {"investment_month": "12", "confirm_warnings": True}
    return Req("PUT", f"{API}/dispatch/projects/{p.id}/reports/2025-01", body)


@builder("POST", "/dispatch/reports/{report_id}/accept")
def _accept(w: World) -> Req:
    return Req("POST", f"{API}/dispatch/reports/{_pending_report(w).id}/accept", None, IF1)


@builder("POST", "/dispatch/reports/{report_id}/return")
def _return(w: World) -> Req:
    body = {"reason": "数据有误"}
    return Req("POST", f"{API}/dispatch/reports/{_pending_report(w).id}/return", body, IF1)


@page_builder("/dispatch/rounds")
def _page_open_round(w: World) -> PageReq:
    data = {"period": "2026-03", "deadline": "2026-04-05", "chain_ids": str(w.chain.id)}
    return PageReq("/dispatch/rounds", data)


@page_builder("/dispatch/reports/{report_id}/accept")
def _page_accept(w: World) -> PageReq:
    return PageReq(f"/dispatch/reports/{_pending_report(w).id}/accept", {"etag": '"1"'})


@page_builder("/dispatch/reports/{report_id}/return")
def _page_return(w: World) -> PageReq:
    data = {"etag": '"1"', "reason": "数据有误"}
    return PageReq(f"/dispatch/reports/{_pending_report(w).id}/return", data)


@page_builder("/dispatch/projects/{project_id}/report")
def _page_dispatch_submit(w: World) -> PageReq:
    p = make_project(w.db, w.chain)
    data = {"period": "2025-01", "investment_month": "12", "confirm_warnings": "1"}
    return PageReq(f"/dispatch/projects/{p.id}/report", data)


# --- assessment (考核) --------------------------------------------------------------------


def _task(w: World) -> Any:
    from chaintrack.models import AnnualTask

    return _add(
        w.db,
        AnnualTask(
            chain_id=w.chain.id,
            year=office_today().year,
            title="任务",
            owner_unit="工信局",
            deadline=office_today(),
            listed_on=office_today(),
            evidence_files=[],
        ),
    )


def _scheme(w: World) -> Any:
    from chaintrack.models import AssessmentScheme

    n = next(_seq)
    items = [{"indicator_code": "INV", "weight": "100", "rule": "linear"}]
    return _add(w.db, AssessmentScheme(year=2100 + n % 90, number=n, name="方案", items=items))


_TASK = {
    "year": office_today().year,
    "title": "任务",
    "owner_unit": "工信局",
    "deadline": "2099-12-31",
}
_ITEMS = [{"indicator_code": "INV", "weight": "100", "rule": "linear"}]


@builder("POST", "/chains/{chain_id}/tasks")
def _create_task(w: World) -> Req:
    return Req("POST", f"{API}/chains/{w.chain.id}/tasks", _TASK)


@builder("PATCH", "/chains/{chain_id}/tasks/{task_id}")
def _update_task(w: World) -> Req:
    t = _task(w)
    return Req("PATCH", f"{API}/chains/{w.chain.id}/tasks/{t.id}", {"owner_person": "李四"}, IF1)


@builder("POST", "/chains/{chain_id}/tasks/{task_id}/notes")
def _task_note(w: World) -> Req:
    t = _task(w)
    body = {"noted_on": office_today().isoformat(), "text": "推进", "status": "in_progress"}
    return Req("POST", f"{API}/chains/{w.chain.id}/tasks/{t.id}/notes", body)


@builder("POST", "/assessment/indicators")
def _create_indicator(w: World) -> Req:
    body = {"code": f"X{next(_seq)}", "name_zh": "出口额", "kind": "manual", "unit": "万元"}
    return Req("POST", f"{API}/assessment/indicators", body)


@builder("PUT", "/assessment/targets")
def _set_target(w: World) -> Req:
    body = {
        "year": office_today().year,
        "indicator_code": "INV",
        "subject_kind": "chain",
        "chain_id": w.chain.id,
        "value": "100",
    }
    return Req("PUT", f"{API}/assessment/targets", body)


@builder("POST", "/assessment/figures")
def _create_figure(w: World) -> Req:
    body = {
        "year": office_today().year,
        "indicator_code": "REVENUE",
        "subject_kind": "city",
        "region_code": "370100",
        "value": "100",
        "source": "统计局",
    }
    return Req("POST", f"{API}/assessment/figures", body)


@builder("POST", "/assessment/adjustments")
def _create_adjustment(w: World) -> Req:
    body = {
        "year": office_today().year,
        "subject_kind": "chain",
        "chain_id": w.chain.id,
        "points": "-1",
        "reason": "迟报",
        "decided_on": office_today().isoformat(),
    }
    return Req("POST", f"{API}/assessment/adjustments", body)


@builder("POST", "/assessment/schemes")
def _create_scheme(w: World) -> Req:
    body = {"year": 2000 + next(_seq) % 100, "name": "方案", "items": _ITEMS}
    return Req("POST", f"{API}/assessment/schemes", body)


@builder("PATCH", "/assessment/schemes/{scheme_id}")
def _update_scheme(w: World) -> Req:
    return Req("PATCH", f"{API}/assessment/schemes/{_scheme(w).id}", {"name": "新名"}, IF1)


@builder("POST", "/assessment/schemes/{scheme_id}/publish")
def _publish_scheme(w: World) -> Req:
    return Req("POST", f"{API}/assessment/schemes/{_scheme(w).id}/publish", None, IF1)


@page_builder("/assessment/schemes/new")
def _page_new_scheme(w: World) -> PageReq:
    data = {"year": str(2000 + next(_seq) % 100), "name": "页面方案", "weight_INV": "100"}
    return PageReq("/assessment/schemes/new", data | {"rule_INV": "linear", "param_INV": "1.2"})


@page_builder("/assessment/targets")
def _page_set_target(w: World) -> PageReq:
    data = {"year": str(office_today().year), "subject": f"chain:{w.chain.id}", "value": "10"}
    return PageReq("/assessment/targets", data | {"indicator_code": "INV"})


@page_builder("/chains/{chain_id}/tasks/new")
def _page_new_task(w: World) -> PageReq:
    data = {"year": str(office_today().year), "title": "页面任务", "owner_unit": "工信局"}
    return PageReq(f"/chains/{w.chain.id}/tasks/new", data | {"deadline": "2099-12-31"})


@page_builder("/chains/{chain_id}/tasks/{task_id}/notes")
def _page_task_note(w: World) -> PageReq:
    data = {"noted_on": office_today().isoformat(), "text": "页面进展", "status": "done"}
    return PageReq(f"/chains/{w.chain.id}/tasks/{_task(w).id}/notes", data)


# --- problem loop pages (issue 17) --------------------------------------------------------


@page_builder("/problems/new")
def _page_raise_problem(w: World) -> PageReq:
    p = make_project(w.db, w.chain)  # in reporter_in's region (issue 17 wave 3)
    body = {"chain_id": str(w.chain.id), "project_id": str(p.id), "description": "页面问题"}
    return PageReq("/problems/new", body)


@page_builder("/problems/{problem_id}/accept")
def _page_accept_problem(w: World) -> PageReq:
    return PageReq(f"/problems/{_loop_problem(w).id}/accept", {"etag": '"1"'})


@page_builder("/problems/{problem_id}/return")
def _page_return_problem(w: World) -> PageReq:
    data = {"etag": '"1"', "reason": "非问题"}
    return PageReq(f"/problems/{_loop_problem(w).id}/return", data)


@page_builder("/problems/{problem_id}/escalate")
def _page_escalate_problem(w: World) -> PageReq:
    return PageReq(f"/problems/{_loop_problem(w).id}/escalate", {"etag": '"1"'})


@page_builder("/problems/{problem_id}/handle")
def _page_handle_problem(w: World) -> PageReq:
    problem = _loop_problem(w, "in_progress")
    return PageReq(f"/problems/{problem.id}/handle", {"etag": '"1"', "resolution": "已办"})


@page_builder("/problems/{problem_id}/rate")
def _page_rate_problem(w: World) -> PageReq:
    raiser = w.make_user(UserRole.EDITOR, chains=[w.chain])
    problem = _loop_problem(w, "handled", raised_by=raiser.id)
    return PageReq(f"/problems/{problem.id}/rate", {"etag": '"1"', "satisfaction": "fairly"})


@page_builder("/problems/{problem_id}/supervise")
def _page_supervise_problem(w: World) -> PageReq:
    due = (office_today() + dt.timedelta(days=3)).isoformat()
    data = {"etag": '"1"', "level": "province", "due_on": due, "note": "督办"}
    return PageReq(f"/problems/{_loop_problem(w).id}/supervise", data)


@page_builder("/supervision-notices/{notice_id}/reply")
def _page_reply_notice(w: World) -> PageReq:
    return PageReq(f"/supervision-notices/{_notice(w).id}/reply", {"etag": '"1"', "reply": "已办"})


# --- investment attraction (招商): API and page write routes ------------------------------


def _lead(w: World, stage: str = "lead") -> Any:
    from chaintrack.models import AttractionLead, AttractionLeadNode
    from chaintrack.models.attraction import LeadSource, LeadStage

    node = make_node(w.db, w.chain)
    signed = LeadStage(stage) is LeadStage.SIGNED
    lead = AttractionLead(
        chain_id=w.chain.id,
        company_name="矩阵线索有限公司",
        origin="江苏省",
        source=LeadSource.EXPO,
        intended_investment=Decimal("1000"),
        responsible_unit="商务局",
        responsible_person="王某",
        stage=LeadStage(stage),
        stage_on=dt.date(2025, 1, 1),
        signed_amount=Decimal("900") if signed else None,
        signed_on=dt.date(2025, 1, 1) if signed else None,
    )
    w.db.add(lead)
    w.db.flush()
    w.db.add(AttractionLeadNode(lead_id=lead.id, node_id=node.id, chain_id=w.chain.id))
    w.db.flush()
    return lead


def _lead_body(w: World) -> dict[str, Any]:
    return {
        "chain_id": w.chain.id,
        "company_name": "矩阵线索有限公司",
        "origin": "德国",
        "source": "expo",
        "intended_investment": "1000",
        "responsible_unit": "商务局",
        "responsible_person": "王某",
        "node_ids": [make_node(w.db, w.chain).id],
    }


def _step_body() -> dict[str, Any]:
    return {"to_stage": "contact", "happened_on": "2025-01-02", "actor": "王某", "summary": "接洽"}


def _land_body() -> dict[str, Any]:
    return {
        "happened_on": "2025-01-03",
        "actor": "王某",
        "uscc": fake_uscc(),
        "region_code": "370600",
        "project_name": "矩阵落地项目",
        "project_type": "fill",
    }


@builder("POST", "/attraction/leads")
def _create_lead(w: World) -> Req:
    return Req("POST", f"{API}/attraction/leads", _lead_body(w))


@builder("POST", "/attraction/leads/{lead_id}/steps")
def _lead_step(w: World) -> Req:
    return Req("POST", f"{API}/attraction/leads/{_lead(w).id}/steps", _step_body(), IF1)


@builder("POST", "/attraction/leads/{lead_id}/funds")
def _lead_funds(w: World) -> Req:
    lead = _lead(w, "signed")
    body = {"period": "2025-01", "amount": "100"}
    return Req("POST", f"{API}/attraction/leads/{lead.id}/funds", body, IF1)


@builder("POST", "/attraction/leads/{lead_id}/land")
def _lead_land(w: World) -> Req:
    lead = _lead(w, "signed")
    return Req("POST", f"{API}/attraction/leads/{lead.id}/land", _land_body(), IF1)


@page_builder("/chains/{chain_id}/attraction/new")
def _page_new_lead(w: World) -> PageReq:
    body = _lead_body(w)
    body["node_ids"] = str(body["node_ids"][0])
    return PageReq(f"/chains/{w.chain.id}/attraction/new", body)


@page_builder("/attraction/leads/{lead_id}/steps")
def _page_lead_step(w: World) -> PageReq:
    return PageReq(f"/attraction/leads/{_lead(w).id}/steps", {**_step_body(), "etag": '"1"'})


@page_builder("/attraction/leads/{lead_id}/funds")
def _page_lead_funds(w: World) -> PageReq:
    lead = _lead(w, "signed")
    body = {"period": "2025-01", "amount": "100", "etag": '"1"'}
    return PageReq(f"/attraction/leads/{lead.id}/funds", body)


@page_builder("/attraction/leads/{lead_id}/land")
def _page_lead_land(w: World) -> PageReq:
    lead = _lead(w, "signed")
    return PageReq(f"/attraction/leads/{lead.id}/land", {**_land_body(), "etag": '"1"'})


# --- web14b: node move, user administration -------------------------------------------------


@page_builder("/nodes/{node_id}/move")
def _page_move_node(w: World) -> PageReq:
    node = make_node(w.db, w.chain)
    parent = make_node(w.db, w.chain)
    data = {"parent_id": str(parent.id), "position": "3", "etag": '"1"'}
    return PageReq(f"/nodes/{node.id}/move", data)


@page_builder("/admin/users/new")
def _page_new_user(w: World) -> PageReq:
    data = {
        "username": f"page-user-{next(_seq)}",
        "display_name": "页面新用户",
        "role": "editor",
        "password": "a fine password",
        "chain_ids": str(w.chain.id),
    }
    return PageReq("/admin/users/new", data)


@page_builder("/admin/users/{user_id}/edit")
def _page_edit_user(w: World) -> PageReq:
    user = w.make_user(UserRole.VIEWER)
    data = {"display_name": "改名", "role": "viewer", "is_active": "true", "etag": '"1"'}
    return PageReq(f"/admin/users/{user.id}/edit", data)


@page_builder("/admin/users/{user_id}/password")
def _page_reset_password(w: World) -> PageReq:
    user = w.make_user(UserRole.VIEWER)
    return PageReq(
        f"/admin/users/{user.id}/password", {"password": "a new fine one", "etag": '"1"'}
    )


@page_builder("/admin/users/{user_id}/unlock")
def _page_unlock_user(w: World) -> PageReq:
    user = w.make_user(UserRole.VIEWER)
    return PageReq(f"/admin/users/{user.id}/unlock", writes=False)


@page_builder("/admin/users/{user_id}/chains")
def _page_assign_chain(w: World) -> PageReq:
    user = w.make_user(UserRole.EDITOR)
    return PageReq(f"/admin/users/{user.id}/chains", {"chain_id": str(w.chain.id)})


@page_builder("/admin/users/{user_id}/chains/{chain_id}/remove")
def _page_unassign_chain(w: World) -> PageReq:
    user = w.make_user(UserRole.EDITOR, chains=[w.chain])
    return PageReq(f"/admin/users/{user.id}/chains/{w.chain.id}/remove")


# --- assessment edits (issue 19, second pass) ---------------------------------------------


def _a_target(w: World) -> Any:
    from chaintrack.models import AssessmentTarget
    from chaintrack.models.assessment import SubjectKind

    row = AssessmentTarget(
        year=office_today().year,
        indicator_code="INV",
        subject_kind=SubjectKind.CHAIN,
        chain_id=w.chain.id,
        value=10,
    )
    return _add(w.db, row)


def _a_figure(w: World) -> Any:
    from chaintrack.models import IndicatorFigure
    from chaintrack.models.assessment import SubjectKind

    row = IndicatorFigure(
        year=office_today().year,
        indicator_code="REVENUE",
        subject_kind=SubjectKind.CHAIN,
        chain_id=w.chain.id,
        value=10,
        source="快报",
    )
    return _add(w.db, row)


def _an_adjustment(w: World) -> Any:
    from chaintrack.models import ScoreAdjustment
    from chaintrack.models.assessment import SubjectKind

    row = ScoreAdjustment(
        year=office_today().year,
        subject_kind=SubjectKind.CHAIN,
        chain_id=w.chain.id,
        points=1,
        reason="获奖",
        decided_on=office_today(),
    )
    return _add(w.db, row)


@builder("PATCH", "/assessment/targets/{target_id}")
def _update_target(w: World) -> Req:
    return Req("PATCH", f"{API}/assessment/targets/{_a_target(w).id}", {"value": "20"}, IF1)


@builder("DELETE", "/assessment/targets/{target_id}")
def _delete_target(w: World) -> Req:
    return Req("DELETE", f"{API}/assessment/targets/{_a_target(w).id}", None, IF1)


@builder("PATCH", "/assessment/figures/{figure_id}")
def _update_figure(w: World) -> Req:
    return Req("PATCH", f"{API}/assessment/figures/{_a_figure(w).id}", {"source": "年报"}, IF1)


@builder("DELETE", "/assessment/figures/{figure_id}")
def _delete_figure(w: World) -> Req:
    return Req("DELETE", f"{API}/assessment/figures/{_a_figure(w).id}", None, IF1)


@builder("PATCH", "/assessment/adjustments/{adjustment_id}")
def _update_adjustment(w: World) -> Req:
    url = f"{API}/assessment/adjustments/{_an_adjustment(w).id}"
    return Req("PATCH", url, {"reason": "改正"}, IF1)


@builder("DELETE", "/assessment/adjustments/{adjustment_id}")
def _delete_adjustment(w: World) -> Req:
    return Req("DELETE", f"{API}/assessment/adjustments/{_an_adjustment(w).id}", None, IF1)


_E1 = {"etag": '"1"', "year": str(office_today().year)}


@page_builder("/assessment/targets/{target_id}/edit")
def _page_edit_target(w: World) -> PageReq:
    return PageReq(f"/assessment/targets/{_a_target(w).id}/edit", _E1 | {"value": "30"})


@page_builder("/assessment/targets/{target_id}/delete")
def _page_delete_target(w: World) -> PageReq:
    return PageReq(f"/assessment/targets/{_a_target(w).id}/delete", _E1)


@page_builder("/assessment/figures/new")
def _page_new_figure(w: World) -> PageReq:
    data = {"subject": f"chain:{w.chain.id}", "indicator_code": "REVENUE", "value": "5"}
    return PageReq("/assessment/figures/new", _E1 | data | {"source": "快报"})


@page_builder("/assessment/figures/{figure_id}/edit")
def _page_edit_figure(w: World) -> PageReq:
    data = {"value": "6", "source": "年报"}
    return PageReq(f"/assessment/figures/{_a_figure(w).id}/edit", _E1 | data)


@page_builder("/assessment/figures/{figure_id}/delete")
def _page_delete_figure(w: World) -> PageReq:
    return PageReq(f"/assessment/figures/{_a_figure(w).id}/delete", _E1)


@page_builder("/assessment/adjustments/new")
def _page_new_adjustment(w: World) -> PageReq:
    data = {"subject": f"chain:{w.chain.id}", "points": "-1", "reason": "迟报"}
    return PageReq(
        "/assessment/adjustments/new", _E1 | data | {"decided_on": office_today().isoformat()}
    )


@page_builder("/assessment/adjustments/{adjustment_id}/edit")
def _page_edit_adjustment(w: World) -> PageReq:
    url = f"/assessment/adjustments/{_an_adjustment(w).id}/edit"
    return PageReq(url, _E1 | {"points": "2", "reason": "改正"})


@page_builder("/assessment/adjustments/{adjustment_id}/delete")
def _page_delete_adjustment(w: World) -> PageReq:
    return PageReq(f"/assessment/adjustments/{_an_adjustment(w).id}/delete", _E1)


@page_builder("/chains/{chain_id}/tasks/{task_id}/edit")
def _page_edit_task(w: World) -> PageReq:
    data = {"etag": '"1"', "title": "改后任务", "owner_unit": "工信局", "deadline": "2099-12-31"}
    return PageReq(f"/chains/{w.chain.id}/tasks/{_task(w).id}/edit", data)


# --- attraction, wave 3: PATCH of a lead -------------------------------------------------


@builder("PATCH", "/attraction/leads/{lead_id}")
def _lead_patch(w: World) -> Req:
    body = {"intended_investment": "2000"}
    return Req("PATCH", f"{API}/attraction/leads/{_lead(w).id}", body, IF1)


@page_builder("/attraction/leads/{lead_id}/edit")
def _page_lead_edit(w: World) -> PageReq:
    body = {**_lead_body(w), "etag": '"1"', "intended_investment": "3000"}
    body.pop("chain_id", None)
    lead = _lead(w)
    body["node_ids"] = str(body["node_ids"][0])
    return PageReq(f"/attraction/leads/{lead.id}/edit", body)
