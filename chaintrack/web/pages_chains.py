"""产业链: the list of chains and one chain's tabs — 图谱 / 清单 / 企业 / 项目 / 报告."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.attraction.service import leads_by_node, leads_of_node
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import Access, ChainOf, Ref, Rule
from chaintrack.chains.service import get_chain, list_chains
from chaintrack.common.concurrency import check_if_match, etag_for
from chaintrack.common.deps import SessionDep, run_read
from chaintrack.common.pagination import PageParams
from chaintrack.enterprises.service import EnterpriseFilters, search_enterprises
from chaintrack.errors import PreconditionFailed, ValidationProblem
from chaintrack.history import office_today
from chaintrack.lists.attributes import parse_fields
from chaintrack.lists.schemas import EntryCreate, EntryUpdate
from chaintrack.lists.service import get_list, list_chain_lists
from chaintrack.lists.service_entries import (
    create_entry,
    delete_entry,
    entries_of_node,
    get_entry,
    list_entries,
    update_entry,
)
from chaintrack.maps import service as maps
from chaintrack.maps.schemas import NodeCreate, NodeUpdate
from chaintrack.maps.service_map import chain_map
from chaintrack.maps.versions import diff as diff_versions
from chaintrack.maps.versions import list_versions
from chaintrack.memberships.schemas import MembershipCreate
from chaintrack.memberships.service import create_membership, list_chain_memberships
from chaintrack.models import MapNode
from chaintrack.models.enums import (
    Assessment,
    GapKind,
    MembershipRole,
    NodeKind,
    ProjectStatus,
    ProjectType,
    Stage,
)
from chaintrack.projects.queries import (
    ProjectFilters,
    list_projects,
    project_counts_by_node,
    projects_targeting,
)
from chaintrack.projects.schemas import ProjectCreate
from chaintrack.projects.service import create_project
from chaintrack.reports.chain_report import build_chain_report
from chaintrack.web import charts
from chaintrack.web.core import (
    FORM_PROBLEMS,
    can_edit_chain,
    field_errors,
    form_failed,
    form_values,
    page_rule,
    redirect,
    render,
)
from chaintrack.web.pages_home import window_of

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TABS = (
    ("map", "图谱"),
    ("lists", "清单"),
    ("enterprises", "企业"),
    ("projects", "项目"),
    ("report", "报告"),
    ("tasks", "年度任务"),
)


def _options(enum: Any) -> list[tuple[str, str]]:
    return [(m.value, m.label_zh) for m in enum]


def _chain_page(
    request: Request,
    session: Session,
    chain_id: int,
    tab: str,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    chain = context.pop("chain", None) or get_chain(session, chain_id)
    return render(
        request,
        template,
        {
            "chain": chain,
            "tab": tab,
            "tabs": TABS,
            "editable": can_edit_chain(request, session, chain_id),
            **context,
        },
        status_code=status_code,
        section="chains",
    )


@router.get("/chains")
def chains(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    _, rows = list_chains(session, PageParams(limit=200, offset=0))
    return render(request, "chains.html", {"chains": rows}, section="chains")


@router.get("/chains/{chain_id}")
def chain_home(chain_id: int, principal: CurrentPrincipal, session: SessionDep) -> Response:
    get_chain(session, chain_id)
    return redirect(f"/chains/{chain_id}/map")


# --- 图谱 -----------------------------------------------------------------------------------


def _flatten(nodes: list[dict[str, Any]], depth: int = 0) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        out.append({**node, "depth": min(depth, 2)})
        out.extend(_flatten(node.get("children", []), depth + 1))
    return out


def _version_stages(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    """A published version's nodes in the picture's shape (counts are not kept)."""
    by_id = {n["id"]: {**n, "children": [], "enterprise_count": None} for n in snapshot["nodes"]}
    roots: dict[str, list[dict[str, Any]]] = {s.value: [] for s in Stage}
    for node in by_id.values():
        parent = by_id.get(node.get("parent_id"))
        if parent is not None:
            parent["children"].append(node)
        else:
            roots.setdefault(node["stage"], []).append(node)
    return [
        {"stage": s, "stage_label": s.label_zh, "nodes": _flatten(roots.get(s.value, []))}
        for s in Stage
    ]


def _diff_context(
    session: Session, chain_id: int, diff_from: int, version: int | None
) -> dict[str, Any]:
    """The maps service's diff of two versions (``version`` None: the live map), as
    node-id sets the picture marks, and the removed nodes drawn as ghosts."""
    diff = diff_versions(session, chain_id, diff_from, version)
    return {
        "diff": diff,
        "diff_added": {n["id"] for n in diff["nodes_added"]},
        "diff_reassessed": {n["id"]: n for n in diff["nodes_reassessed"]},
        "diff_moved": {n["id"] for n in diff["nodes_moved"]},
        "diff_renamed": {n["id"] for n in diff["nodes_renamed"]},
        "diff_removed": diff["nodes_removed"],
    }


def _map_context(
    session: Session, chain_id: int, version: int | None, diff_from: int | None = None
) -> dict[str, Any]:
    data = chain_map(session, chain_id)
    _, versions = list_versions(session, chain_id, None, PageParams(limit=100, offset=0))
    chosen = next((v for v in versions if v.number == version), None)
    if version is not None and chosen is None:
        raise ValidationProblem.for_field("version", "版本不存在", location="query")
    if chosen is not None:
        stages = _version_stages(chosen.snapshot)
        projects: dict[int, int] = {}
    else:
        stages = [{**s, "nodes": _flatten(s["nodes"])} for s in data["stages"]]
        projects = project_counts_by_node(session, chain_id)
    nodes = [n for s in stages for n in s["nodes"]]
    compare: dict[str, Any] = {"diff": None, "diff_from": diff_from}
    if diff_from is not None:
        if not any(v.number == diff_from for v in versions):
            raise ValidationProblem.for_field("diff_from", "版本不存在", location="query")
        compare.update(_diff_context(session, chain_id, diff_from, version))
        for stage in stages:
            stage["removed"] = [
                n for n in compare["diff_removed"] if n.get("stage") == stage["stage"].value
            ]
    return {
        **compare,
        "chain": data["chain"],
        "stages": stages,
        "summary": data["summary"],
        "projects_by_node": projects,
        "versions": versions,
        "version": chosen,
        "node_options": [(n["id"], f"{n['code']} {n['name_zh']}") for n in nodes],
        "kinds": _options(NodeKind),
        "stage_options": _options(Stage),
        "assessments": _options(Assessment),
        "gap_kinds": _options(GapKind),
    }


@router.get("/chains/{chain_id}/map")
def map_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    version: int | None = None,
    node: int | None = None,
    diff_from: int | None = None,
) -> Response:
    context = {**_map_context(session, chain_id, version, diff_from), "errors": {}, "values": {}}
    context["leads_by_node"] = {} if version is not None else leads_by_node(session, chain_id)
    if node is not None and version is None:
        context["panel"] = _panel(request, session, chain_id, node)
    return _chain_page(request, session, chain_id, "map", "chain_map.html", context)


def _panel(
    request: Request,
    session: Session,
    chain_id: int,
    node_id: int,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    node = maps.node_of_chain(session, chain_id, node_id, "node_id")
    _, members = list_chain_memberships(
        session, chain_id, PageParams(limit=100, offset=0), node_id=node_id
    )
    return {
        "chain_id": chain_id,
        "node": node,
        "etag": etag_for(node),
        "members": members,
        "projects": projects_targeting(session, node_id),
        "entries": entries_of_node(session, node_id),
        "leads": leads_of_node(session, node_id),
        "editable": can_edit_chain(request, session, chain_id),
        "assessments": _options(Assessment),
        "gap_kinds": _options(GapKind),
        "parents": [
            (n.id, f"{n.code} {n.name_zh}")
            for n in session.execute(
                select(MapNode.id, MapNode.code, MapNode.name_zh)
                .where(MapNode.chain_id == chain_id, MapNode.id != node_id)
                .order_by(MapNode.position, MapNode.id)
            )
        ],
        "errors": errors or {},
    }


@router.get("/chains/{chain_id}/map/nodes/{node_id}")
def node_panel(
    request: Request,
    chain_id: int,
    node_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    return render(
        request, "node_panel.html", {"panel": _panel(request, session, chain_id, node_id)}
    )


@router.post(
    "/chains/{chain_id}/nodes",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain(), (Ref.node("parent_id"),)))],
)
async def add_node(
    request: Request, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form())
    try:
        data = NodeCreate.model_validate(values)
        node = maps.create_node(session, chain_id, data.model_dump())
    except FORM_PROBLEMS as err:
        form_failed(session)
        context = {**_map_context(session, chain_id, None), "errors": field_errors(err)}
        context["values"] = values
        return _chain_page(
            request, session, chain_id, "map", "chain_map.html", context, status_code=422
        )
    return redirect(f"/chains/{chain_id}/map?node={node.id}#node-panel")


@router.post(
    "/nodes/{node_id}/assess", dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.node("node_id")))]
)
async def assess_node(
    request: Request, node_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    node = maps.get_node(session, node_id)
    chain_id = node.chain_id
    changes = {"assessment": values.get("assessment"), "gap_kind": values.get("gap_kind")}
    try:
        check_if_match(str(form.get("etag") or ""), node)
        maps.update_node(
            session, node, NodeUpdate.model_validate(changes).model_dump(exclude_unset=True)
        )
    except PreconditionFailed:
        form_failed(session)
        errors = {"": "此节点已被他人修改，下面是最新研判，请核对后重试。"}
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = field_errors(err)
    else:
        return redirect(f"/chains/{chain_id}/map?node={node_id}#node-panel")
    context = {
        **_map_context(session, chain_id, None),
        "errors": {},
        "values": {},
        "panel": _panel(request, session, chain_id, node_id, errors),
    }
    return _chain_page(
        request, session, chain_id, "map", "chain_map.html", context, status_code=422
    )


@router.post(
    "/nodes/{node_id}/move",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.node("node_id"), (Ref.node("parent_id"),)))],
)
async def move_node(
    request: Request, node_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """Change a node's parent (blank: the top level of its stage) and its order among
    its siblings: a PATCH through the maps service (which refuses cycles and other
    chains' parents), guarded by the form's ETag."""
    form = await request.form()
    values = form_values(form)
    node = maps.get_node(session, node_id)
    chain_id = node.chain_id
    changes: dict[str, Any] = {"parent_id": values.get("parent_id")}
    if "position" in values:
        changes["position"] = values["position"]
    try:
        check_if_match(str(form.get("etag") or ""), node)
        maps.update_node(
            session, node, NodeUpdate.model_validate(changes).model_dump(exclude_unset=True)
        )
    except PreconditionFailed:
        form_failed(session)
        errors = {"": "此节点已被他人修改，下面是最新位置，请核对后重试。"}
        status_code = 412
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = field_errors(err)
        status_code = 422
    else:
        return redirect(f"/chains/{chain_id}/map?node={node_id}#node-panel")
    context = {
        **_map_context(session, chain_id, None),
        "errors": {},
        "values": {},
        "panel": _panel(request, session, chain_id, node_id, errors),
    }
    return _chain_page(
        request, session, chain_id, "map", "chain_map.html", context, status_code=status_code
    )


# --- 清单 -----------------------------------------------------------------------------------


def _lists_context(
    session: Session, chain_id: int, list_id: int | None, offset: int = 0
) -> dict[str, Any]:
    _, lists = list_chain_lists(session, chain_id, PageParams(limit=100, offset=0))
    current = next((v for v in lists if v.chain_list.id == list_id), lists[0] if lists else None)
    entries: list[Any] = []
    total = 0
    fields: list[Any] = []
    if current is not None:
        total, entries = list_entries(
            session, current.chain_list.id, PageParams(limit=PAGE_SIZE, offset=offset)
        )
        fields = parse_fields(current.list_type.fields)
    list_query = f"?list_id={current.chain_list.id}" if current is not None else ""
    return {
        "lists": lists,
        "current": current,
        "entries": entries,
        "total": total,
        "fields": fields,
        "page": {"total": total, "limit": PAGE_SIZE, "offset": offset},
        "base": f"/chains/{chain_id}/lists{list_query}",
    }


@router.get("/chains/{chain_id}/lists")
def lists_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    list_id: int | None = None,
    edit: int | None = None,
    offset: int = 0,
) -> Response:
    context = {
        **_lists_context(session, chain_id, list_id, max(offset, 0)),
        "errors": {},
        "values": {},
    }
    if edit is not None:
        entry = get_entry(session, edit)
        if entry.chain_id == chain_id:
            context.update(_editing(entry))
    return _chain_page(request, session, chain_id, "lists", "chain_lists.html", context)


def _editing(entry: Any) -> dict[str, Any]:
    values = {"title": entry.title, "note": entry.note, "position": entry.position}
    values.update({f"attr.{k}": v for k, v in (entry.attributes or {}).items()})
    return {"editing": entry, "etag": etag_for(entry), "values": values}


@router.post(
    "/lists/{list_id}/entries/new",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.list("list_id")))],
)
async def add_entry(
    request: Request, list_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    chain_id = int(values.pop("chain_id", 0) or 0)
    attributes = {k[5:]: v for k, v in values.items() if k.startswith("attr.")}
    data = {k: v for k, v in values.items() if not k.startswith("attr.")}
    try:
        view = create_entry(
            session, list_id, EntryCreate.model_validate({**data, "attributes": attributes})
        )
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {k.replace("attributes.", "attr."): v for k, v in field_errors(err).items()}
        chain_id = get_list(session, list_id).chain_id
        context = {**_lists_context(session, chain_id, list_id), "errors": errors, "values": values}
        return _chain_page(
            request, session, chain_id, "lists", "chain_lists.html", context, status_code=422
        )
    return redirect(f"/chains/{view.entry.chain_id}/lists?list_id={list_id}")


@router.post(
    "/list-entries/{entry_id}/edit",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.list_entry("entry_id")))],
)
async def edit_entry(
    request: Request, entry_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    values = form_values(form)
    entry = get_entry(session, entry_id)
    list_id, chain_id = entry.list_id, entry.chain_id
    fields = parse_fields(_lists_context(session, chain_id, list_id)["current"].list_type.fields)
    data = {
        "title": values.get("title"),
        "note": values.get("note"),
        "attributes": {f.name: values.get(f"attr.{f.name}") for f in fields},
    }
    if "position" in values:  # the order within the list (PATCH: only when given)
        data["position"] = values["position"]
    try:
        update_entry(session, entry_id, EntryUpdate.model_validate(data), str(form.get("etag")))
    except PreconditionFailed:
        form_failed(session)
        context = {
            **_lists_context(session, chain_id, list_id),
            **_editing(get_entry(session, entry_id)),
            "errors": {"": "此条目已被他人修改，下面是最新内容，请核对后重新修改。"},
        }
        return _chain_page(
            request, session, chain_id, "lists", "chain_lists.html", context, status_code=412
        )
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {k.replace("attributes.", "attr."): v for k, v in field_errors(err).items()}
        current = get_entry(session, entry_id)
        context = {
            **_lists_context(session, chain_id, list_id),
            **_editing(current),
            "etag": str(form.get("etag") or ""),
            "values": values,
            "errors": errors,
        }
        return _chain_page(
            request, session, chain_id, "lists", "chain_lists.html", context, status_code=422
        )
    return redirect(f"/chains/{chain_id}/lists?list_id={list_id}")


@router.post(
    "/list-entries/{entry_id}/delete",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.list_entry("entry_id")))],
)
async def remove_entry(
    request: Request, entry_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    form = await request.form()
    entry = get_entry(session, entry_id)
    list_id, chain_id = entry.list_id, entry.chain_id
    try:
        delete_entry(session, entry_id, str(form.get("etag") or ""))
    except PreconditionFailed:
        form_failed(session)
        context = {
            **_lists_context(session, chain_id, list_id),
            "values": {},
            "errors": {"": "此条目已被他人修改，未删除；请核对最新内容后再操作。"},
        }
        return _chain_page(
            request, session, chain_id, "lists", "chain_lists.html", context, status_code=412
        )
    return redirect(f"/chains/{chain_id}/lists?list_id={list_id}")


# --- 企业 -----------------------------------------------------------------------------------


def _members_context(
    session: Session,
    chain_id: int,
    role: MembershipRole | None,
    offset: int,
    region_code: str | None = None,
) -> dict[str, Any]:
    total, rows = list_chain_memberships(
        session,
        chain_id,
        PageParams(limit=PAGE_SIZE, offset=offset),
        role=role,
        region_code=region_code or None,
    )
    query = "&".join(
        f"{k}={v}"
        for k, v in (("role", role.value if role else ""), ("region_code", region_code))
        if v
    )
    data = _map_context(session, chain_id, None)
    return {
        "chain": data["chain"],
        "members": rows,
        "page": {"total": total, "limit": PAGE_SIZE, "offset": offset},
        "base": f"/chains/{chain_id}/enterprises" + (f"?{query}" if query else ""),
        "role": role.value if role else "",
        "region_code": region_code or "",
        "roles": _options(MembershipRole),
        "node_options": data["node_options"],
    }


@router.get("/chains/{chain_id}/enterprises")
def members_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    role: MembershipRole | None = None,
    region_code: str | None = None,
    offset: int = 0,
) -> Response:
    context = {
        **_members_context(session, chain_id, role, max(offset, 0), region_code),
        "errors": {},
        "values": {"started_on": office_today().isoformat()},
    }
    return _chain_page(request, session, chain_id, "enterprises", "chain_members.html", context)


@router.post(
    "/chains/{chain_id}/memberships",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain(), (Ref.node("node_id"),)))],
)
async def add_member(
    request: Request, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form())
    data = dict(values)
    uscc = data.pop("uscc", "")
    try:
        if uscc:
            _, found, _ = search_enterprises(
                session, EnterpriseFilters(uscc=uscc), None, PageParams(limit=1, offset=0)
            )
            if not found:
                raise ValidationProblem.for_field(
                    "uscc", "企业库中没有此信用代码，请先登记企业 / not registered"
                )
            data["enterprise_id"] = found[0].id
        else:
            raise ValidationProblem.for_field("uscc", "必填 / required")
        create_membership(session, chain_id, MembershipCreate.model_validate(data))
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {("uscc" if k == "enterprise_id" else k): v for k, v in field_errors(err).items()}
        context = {
            **_members_context(session, chain_id, None, 0),
            "errors": errors,
            "values": values,
        }
        return _chain_page(
            request, session, chain_id, "enterprises", "chain_members.html", context, 422
        )
    return redirect(f"/chains/{chain_id}/enterprises?saved=1")


# --- 项目 -----------------------------------------------------------------------------------


def _projects_context(
    session: Session,
    chain_id: int,
    type_: ProjectType | None,
    status: ProjectStatus | None,
    offset: int,
) -> dict[str, Any]:
    total, rows = list_projects(
        session,
        ProjectFilters(chain_id=chain_id, type=type_, status=status),
        None,
        PageParams(limit=PAGE_SIZE, offset=offset),
        office_today(),
    )
    query = "&".join(
        f"{k}={v.value}" for k, v in (("type", type_), ("status", status)) if v is not None
    )
    data = _map_context(session, chain_id, None)
    return {
        "chain": data["chain"],
        "projects": rows,
        "page": {"total": total, "limit": PAGE_SIZE, "offset": offset},
        "base": f"/chains/{chain_id}/projects" + (f"?{query}" if query else ""),
        "type": type_.value if type_ else "",
        "status": status.value if status else "",
        "types": _options(ProjectType),
        "statuses": _options(ProjectStatus),
        "initial_statuses": [
            (s.value, s.label_zh)
            for s in (ProjectStatus.PLANNED, ProjectStatus.SIGNED, ProjectStatus.UNDER_CONSTRUCTION)
        ],
        "node_options": data["node_options"],
    }


@router.get("/chains/{chain_id}/projects")
def projects_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    type: ProjectType | None = None,
    status: ProjectStatus | None = None,
    offset: int = 0,
) -> Response:
    context = {
        **_projects_context(session, chain_id, type, status, max(offset, 0)),
        "errors": {},
        "values": {},
    }
    return _chain_page(request, session, chain_id, "projects", "chain_projects.html", context)


@router.post(
    "/chains/{chain_id}/projects/new",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.chain(), (Ref.nodes("target_node_ids"),)))],
)
async def add_project(
    request: Request, chain_id: int, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    values = form_values(await request.form(), lists=("target_node_ids",))
    data = {**values, "chain_id": chain_id}
    owner = data.pop("owner_uscc", None)
    try:
        if owner:
            _, found, _ = search_enterprises(
                session, EnterpriseFilters(uscc=owner), None, PageParams(limit=1, offset=0)
            )
            if not found:
                raise ValidationProblem.for_field("owner_uscc", "企业库中没有此信用代码")
            data["owner_enterprise_id"] = found[0].id
        project = create_project(session, ProjectCreate.model_validate(data), office_today())
    except FORM_PROBLEMS as err:
        form_failed(session)
        errors = {
            ("owner_uscc" if k == "owner_enterprise_id" else k): v
            for k, v in field_errors(err).items()
        }
        context = {
            **_projects_context(session, chain_id, None, None, 0),
            "errors": errors,
            "values": values,
        }
        return _chain_page(
            request, session, chain_id, "projects", "chain_projects.html", context, 422
        )
    return redirect(f"/projects/{project.id}?saved=1")


# --- 报告 -----------------------------------------------------------------------------------


@router.get("/chains/{chain_id}/report")
async def report_tab(
    request: Request,
    chain_id: int,
    principal: CurrentPrincipal,
    session: SessionDep,
    period: str | None = None,
    as_of: str | None = None,
) -> Response:
    window = window_of(period, as_of)

    def work() -> Response:
        report = build_chain_report(session, chain_id, window, dt.datetime.now(dt.UTC))
        projects = report.projects
        by_type: dict[str, int] = {}
        for row in projects.by_type_status:
            by_type[row.type_zh] = by_type.get(row.type_zh, 0) + row.count
        inv = projects.investment
        query = "&".join(f"{k}={v}" for k, v in (("period", period), ("as_of", as_of)) if v)
        api = f"/api/v1/reports/chains/{chain_id}?{query + '&' if query else ''}format="
        return _chain_page(
            request,
            session,
            chain_id,
            "report",
            "chain_report.html",
            {
                # the report names its chain: no second look-up for the tabs' heading
                "chain": report.chain,
                "r": report,
                "window": window,
                "as_of": as_of or "",
                "xlsx_url": api + "xlsx",
                "csv_url": api + "csv",
                "chart_types": charts.pie("项目类型分布", list(by_type.items())),
                "chart_investment": charts.bar(
                    "投资完成情况（万元）",
                    ["计划总投资", "年度计划", "本月完成", "本年完成", "累计完成"],
                    [
                        inv.total_planned,
                        inv.year_plan,
                        inv.completed_month,
                        inv.completed_year,
                        inv.completed_since_start,
                    ],
                ),
            },
        )

    # the work and the read commit in one trip to the thread pool, as the API's report
    return await run_read(session, work)
