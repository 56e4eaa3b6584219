"""HTTP routes for chain-building projects (建链、补链、延链、强链)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from chaintrack.auth.permissions import ChainOf, Ref, chain_write
from chaintrack.common.concurrency import IfMatch, check_if_match, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.history import office_today
from chaintrack.projects import queries, service, service_lifecycle
from chaintrack.projects.lifecycle import is_behind_schedule, lifecycle_markdown
from chaintrack.projects.params import ProjectFiltersDep
from chaintrack.projects.schemas import (
    AnnualPlanOut,
    AnnualPlanPut,
    AnnualPlansOut,
    ChainRef,
    OwnerRef,
    ProjectCreate,
    ProjectListItem,
    ProjectOut,
    ProjectUpdate,
    StatusChangeOut,
    TargetOut,
    TransitionIn,
)

router = APIRouter(tags=["projects"])

ProjectId = Annotated[StrictId, Path(description="Project id")]
WRITE_PROBLEMS = problem_responses(
    NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
)


def _detail_out(detail: queries.ProjectDetail) -> ProjectOut:
    p = detail.project
    return ProjectOut(
        id=p.id,
        chain=ChainRef.model_validate(detail.chain),
        internal_code=p.internal_code,
        national_code=p.national_code,
        name=p.name,
        type=p.type,
        type_label=p.type.label_zh,
        owner=OwnerRef.model_validate(detail.owner) if detail.owner else None,
        region_code=p.region_code,
        region_name=detail.region_name,
        location=p.location,
        development_zone=p.development_zone,
        nature=p.nature,
        level=p.level,
        goals=p.goals,
        content=p.content,
        responsible_leader=p.responsible_leader,
        responsible_unit=p.responsible_unit,
        contact=p.contact,
        planned_start=p.planned_start,
        planned_completion=p.planned_completion,
        actual_start=p.actual_start,
        actual_completion=p.actual_completion,
        total_investment=p.total_investment,
        annual_plans=[AnnualPlanOut.model_validate(x) for x in detail.plans],
        annual_plans_total=sum((x.planned_investment for x in detail.plans), Decimal(0)),
        targets=[
            TargetOut(
                node_id=n.id,
                code=n.code,
                name_zh=n.name_zh,
                stage=n.stage,
                assessment=n.assessment,
                gap_kind=n.gap_kind,
            )
            for n in detail.targets
        ],
        status=p.status,
        status_label=p.status.label_zh,
        allowed_transitions=detail.allowed,
        behind_schedule=is_behind_schedule(
            p.status, p.planned_start, p.planned_completion, office_today()
        ),
        version=p.version,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


def _respond_detail(session: SessionDep, project_id: int, response: Response) -> ProjectOut:
    detail = queries.load_detail(session, project_id)
    set_etag(response, detail.project)
    return _detail_out(detail)


def _list_item(row: Any) -> ProjectListItem:
    p, chain_code, owner_name = row
    return ProjectListItem(
        id=p.id,
        chain_id=p.chain_id,
        chain_code=chain_code,
        internal_code=p.internal_code,
        national_code=p.national_code,
        name=p.name,
        type=p.type,
        type_label=p.type.label_zh,
        region_code=p.region_code,
        owner_enterprise_id=p.owner_enterprise_id,
        owner_name=owner_name,
        level=p.level,
        status=p.status,
        status_label=p.status.label_zh,
        planned_start=p.planned_start,
        planned_completion=p.planned_completion,
        total_investment=p.total_investment,
        behind_schedule=is_behind_schedule(
            p.status, p.planned_start, p.planned_completion, office_today()
        ),
        version=p.version,
        updated_at=p.updated_at,
    )


@router.post(
    "/projects",
    dependencies=[chain_write(ChainOf.body_chain("chain_id"), Ref.nodes("target_node_ids"))],
    response_model=ProjectOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a project / 登记建链补链延链强链项目",
    description=(
        "Registers a chain-building project on a chain, with its targets (map nodes of the "
        "same chain), owner enterprise and annual investment plans. The initial status "
        "(planned, signed or under_construction) is recorded as the first row of the status "
        "history. Without `internal_code` one is generated as `<CHAIN>-<YYYY>-<NNN>`.\n\n"
        "登记项目：未填内部编号时自动生成；国家项目代码按 GB/T 40058-2021 校验；"
        "年度计划合计不得超过总投资。"
    ),
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_project(data: ProjectCreate, session: SessionDep, response: Response) -> ProjectOut:
    project = service.create_project(session, data, office_today())
    detail = queries.load_detail(session, project.id)
    created(response, f"{queries.API_PATH}/{project.id}", detail.project)
    return _detail_out(detail)


@router.get(
    "/projects",
    response_model=Page[ProjectListItem],
    summary="Search projects / 项目列表",
    description="Filter by chain, type, status, level, region (code prefix: `3706` = 烟台), "
    "owner, a fragment of the name or codes, and whether the project is behind schedule.",
    responses=problem_responses(ValidationProblem),
)
def list_projects(
    session: SessionDep,
    page: PageDep,
    filters: ProjectFiltersDep,
    sort: Annotated[str | None, sort_query(queries.SORT_KEYS, example="-total_investment")] = None,
) -> Page[ProjectListItem]:
    total, rows = queries.list_projects(session, filters, sort, page, office_today())
    return Page[ProjectListItem](
        items=[_list_item(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.get(
    "/projects/{project_id}",
    response_model=ProjectOut,
    summary="Read a project / 项目详情",
    description="The whole project: chain, owner, targets with node names, annual plans, "
    "current status and the transitions allowed next. The ETag is needed for changes.",
    responses=problem_responses(NotFound),
)
def get_project(project_id: ProjectId, session: SessionDep, response: Response) -> ProjectOut:
    return _respond_detail(session, project_id, response)


@router.patch(
    "/projects/{project_id}",
    dependencies=[chain_write(ChainOf.project("project_id"), Ref.nodes("target_node_ids"))],
    response_model=ProjectOut,
    summary="Update a project / 修改项目信息",
    description="Send only the fields to change, with `If-Match`. `target_node_ids` replaces "
    "the whole set. The status changes only through `POST /projects/{id}/transitions`; "
    "annual plans through `PUT /projects/{id}/annual-plans/{year}`.",
    responses=WRITE_PROBLEMS,
)
def update_project(
    project_id: ProjectId,
    data: ProjectUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProjectOut:
    project = queries.get_project(session, project_id)
    check_if_match(if_match, project)
    service.update_project(session, project, data)
    return _respond_detail(session, project_id, response)


@router.post(
    "/projects/{project_id}/transitions",
    dependencies=[chain_write(ChainOf.project("project_id"))],
    response_model=ProjectOut,
    summary="Change a project's status / 项目状态变更",
    description=(
        "Moves the project along its lifecycle and records the change (date and reason) in "
        "the status history. Send `If-Match` with the project's ETag. A transition the "
        "lifecycle forbids gets 409 whose body lists the `allowed` next statuses. "
        "`changed_on` may not be in the future nor before the previous change; "
        "`suspended` and `cancelled` need a `reason`. Starting construction sets "
        "`actual_start` (if empty), completion sets `actual_completion`.\n\n"
        "项目生命周期 / lifecycle:\n\n" + lifecycle_markdown()
    ),
    responses=WRITE_PROBLEMS,
)
def change_status(
    project_id: ProjectId,
    data: TransitionIn,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProjectOut:
    project = queries.get_project(session, project_id)
    check_if_match(if_match, project)
    service_lifecycle.transition(session, project, data, office_today())
    return _respond_detail(session, project_id, response)


@router.get(
    "/projects/{project_id}/status-history",
    response_model=list[StatusChangeOut],
    summary="Status history / 状态变更记录",
    description="Every status the project has had, oldest first; the first row (from_status "
    "null) is the status it was registered with.",
    responses=problem_responses(NotFound),
)
def status_history(project_id: ProjectId, session: SessionDep) -> list[StatusChangeOut]:
    queries.get_project(session, project_id)
    return [
        StatusChangeOut(
            id=c.id,
            from_status=c.from_status,
            to_status=c.to_status,
            to_label=c.to_status.label_zh,
            changed_on=c.changed_on,
            reason=c.reason,
            recorded_at=c.recorded_at,
        )
        for c in service_lifecycle.status_history(session, project_id)
    ]


@router.get(
    "/projects/{project_id}/annual-plans",
    response_model=AnnualPlansOut,
    summary="Annual investment plans / 年度计划投资",
    description="The project's planned investment per year. The ETag is the project's: "
    "plans are part of the project.",
    responses=problem_responses(NotFound),
)
def get_annual_plans(
    project_id: ProjectId, session: SessionDep, response: Response
) -> AnnualPlansOut:
    project = queries.get_project(session, project_id)
    plans = queries.list_plans(session, project_id)
    set_etag(response, project)
    return AnnualPlansOut(
        project_id=project.id,
        total_investment=project.total_investment,
        planned_sum=sum((p.planned_investment for p in plans), Decimal(0)),
        items=[AnnualPlanOut.model_validate(p) for p in plans],
    )


@router.put(
    "/projects/{project_id}/annual-plans/{year}",
    dependencies=[chain_write(ChainOf.project("project_id"))],
    response_model=AnnualPlanOut,
    summary="Set one year's plan / 设置年度计划投资",
    description="Creates (201) or replaces (200) the planned investment for a year. Send "
    "`If-Match` with the PROJECT's ETag; the response carries the project's new ETag. The "
    "plans together may not exceed the total investment.",
    responses=WRITE_PROBLEMS,
)
def put_annual_plan(
    project_id: ProjectId,
    year: Annotated[int, Path(ge=2000, le=2200, description="Calendar year")],
    data: AnnualPlanPut,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> AnnualPlanOut:
    project = queries.get_project(session, project_id)
    check_if_match(if_match, project)
    plan, is_new = service_lifecycle.put_plan(session, project, year, data.planned_investment)
    response.status_code = status.HTTP_201_CREATED if is_new else status.HTTP_200_OK
    set_etag(response, project)
    return AnnualPlanOut.model_validate(plan)
