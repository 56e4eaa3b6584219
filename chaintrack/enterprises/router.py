"""HTTP routes for enterprises, their key figures and designations (梯度培育)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from chaintrack.auth.permissions import register_write
from chaintrack.common.concurrency import IfMatch, created, set_etag
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.common.schemas import IsoDate
from chaintrack.enterprises import service, service_designations
from chaintrack.enterprises.params import EnterpriseFiltersDep
from chaintrack.enterprises.rules import DesignationState, designation_state
from chaintrack.enterprises.schemas import (
    DesignationCreate,
    DesignationOut,
    DesignationRevoke,
    DesignationUpdate,
    EnterpriseCreate,
    EnterpriseDetail,
    EnterpriseOut,
    EnterpriseUpdate,
    FiguresOut,
    FiguresPut,
)
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.history import office_today
from chaintrack.models import Designation, Enterprise
from chaintrack.models.enums import Tier

router = APIRouter(tags=["enterprises"])

EnterpriseId = Annotated[StrictId, Path(description="Enterprise id")]
DesignationId = Annotated[StrictId, Path(description="Designation id")]
AsOf = Annotated[
    IsoDate | None,
    Query(description="Evaluate states/tiers as of this date (default: today in China)"),
]


def _columns(obj: Any) -> dict[str, Any]:
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _designation_out(row: Designation, on: dt.date) -> DesignationOut:
    state = designation_state(
        on, recognised_on=row.recognised_on, valid_until=row.valid_until, revoked_on=row.revoked_on
    )
    return DesignationOut.model_validate({**_columns(row), "state": state})


def _enterprise_out(ent: Enterprise, tiers: list[Tier]) -> EnterpriseOut:
    return EnterpriseOut.model_validate({**_columns(ent), "current_tiers": tiers})


def _detail(session: SessionDep, enterprise_id: int, response: Response) -> EnterpriseDetail:
    view = service.enterprise_view(session, enterprise_id)
    on = office_today()
    set_etag(response, view.enterprise)
    return EnterpriseDetail.model_validate(
        {
            **_columns(view.enterprise),
            "current_tiers": view.tiers,
            "current_designations": [_designation_out(d, on) for d in view.designations],
            "latest_figures": FiguresOut.model_validate(view.latest_figures)
            if view.latest_figures
            else None,
        }
    )


# --------------------------------------------------------------------------- enterprises


@router.post(
    "/enterprises",
    dependencies=[register_write()],
    response_model=EnterpriseDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Register an enterprise (登记企业)",
    description=(
        "登记企业。统一社会信用代码校验不通过返回422（指出错误位置）；已登记的代码返回409，"
        "并给出已有企业的id和地址。\n\n"
        "Register an enterprise. The USCC is normalised (full-width, lower case, spaces) and "
        "checked (GB 32100-2015); codes of authorities A, N and Y are accepted. A USCC that "
        "is already registered answers 409 with `existing_id` and `existing_url`."
    ),
    responses=problem_responses(Conflict, ValidationProblem),
)
def create_enterprise(
    body: EnterpriseCreate, session: SessionDep, response: Response
) -> EnterpriseDetail:
    ent = service.create_enterprise(session, body)
    created(response, service.ENTERPRISE_URL.format(id=ent.id), ent)
    return _detail(session, ent.id, response)


@router.get(
    "/enterprises",
    response_model=Page[EnterpriseOut],
    summary="Search enterprises (查询企业)",
    description=(
        "按名称（含曾用名）片段或信用代码前缀（q）、信用代码、行政区划（前缀匹配，3706 或 370600 "
        "即烟台全市）、当前梯度、所在产业链及角色、规模查询。每条带当前梯度。\n\n"
        "Search by name fragment incl. former names or USCC prefix (`q`), exact `uscc`, "
        "`region_code` (prefix: `3706` or `370600` finds all of Yantai), current `tier`, "
        "current membership of `chain_id` / `role`, `size_class`, `ownership`. "
        "Sort by `name`, `uscc`, `created_at`, `region_code` (prefix `-` for descending)."
    ),
    responses=problem_responses(ValidationProblem),
)
def search_enterprises(
    session: SessionDep,
    page: PageDep,
    filters: EnterpriseFiltersDep,
    sort: Annotated[str | None, sort_query(service.SORT_KEYS)] = None,
) -> Page[EnterpriseOut]:
    total, rows, tiers = service.search_enterprises(session, filters, sort, page)
    return Page[EnterpriseOut](
        items=[_enterprise_out(e, tiers.get(e.id, [])) for e in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/enterprises/{enterprise_id}",
    response_model=EnterpriseDetail,
    summary="Read an enterprise (企业详情)",
    description="企业信息、当前梯度认定和最近年度主要指标。 / The enterprise with its designations "
    "in force today and its latest key figures. The ETag is the enterprise's version.",
    responses=problem_responses(NotFound),
)
def read_enterprise(
    enterprise_id: EnterpriseId, session: SessionDep, response: Response
) -> EnterpriseDetail:
    return _detail(session, enterprise_id, response)


@router.patch(
    "/enterprises/{enterprise_id}",
    dependencies=[register_write()],
    response_model=EnterpriseDetail,
    summary="Update an enterprise (修改企业信息)",
    description=(
        "只修改提交的字段；更名时原名称自动记入曾用名；"
        "修改信用代码须有效且未被占用。需 If-Match。\n\n"
        "Changes only the fields sent. A rename pushes the old name into `former_names`. "
        "A USCC change must be valid and not taken (409 otherwise). Requires If-Match."
    ),
    responses=problem_responses(
        NotFound, Conflict, ValidationProblem, PreconditionFailed, PreconditionRequired
    ),
)
def update_enterprise(
    enterprise_id: EnterpriseId,
    body: EnterpriseUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> EnterpriseDetail:
    ent = service.update_enterprise(session, enterprise_id, body, if_match)
    return _detail(session, ent.id, response)


# --------------------------------------------------------------------------- figures


@router.get(
    "/enterprises/{enterprise_id}/figures",
    response_model=Page[FiguresOut],
    summary="Key figures by year (年度主要指标)",
    description="营业收入、从业人数、研发投入（万元），默认按年份倒序。 / Revenue, employees and "
    "R&D spend per year (money in 万元), newest year first unless `sort=year`.",
    responses=problem_responses(NotFound, ValidationProblem),
)
def list_figures(
    enterprise_id: EnterpriseId,
    session: SessionDep,
    page: PageDep,
    from_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    to_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    sort: Annotated[str | None, sort_query(service.FIGURES_SORT, "Default -year")] = None,
) -> Page[FiguresOut]:
    total, rows = service.list_figures(
        session, enterprise_id, page, from_year=from_year, to_year=to_year, sort=sort
    )
    return Page[FiguresOut](
        items=[FiguresOut.model_validate(r) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.put(
    "/enterprises/{enterprise_id}/figures/{year}",
    dependencies=[register_write()],
    response_model=FiguresOut,
    summary="Record a year's key figures (录入年度指标)",
    description=(
        "新建某年度指标无需 If-Match（返回201）；修改已有年度须带 If-Match（返回200）。"
        "未提交的字段置空。\n\n"
        "Creates the year's figures (201, no If-Match needed) or replaces them (200; "
        "If-Match of the current row required). Fields left out become null. Money is "
        "万元, non-negative."
    ),
    responses={
        201: {"description": "Created", "model": FiguresOut},
        **problem_responses(NotFound, ValidationProblem, PreconditionFailed, PreconditionRequired),
    },
)
def put_figures(
    enterprise_id: EnterpriseId,
    year: Annotated[int, Path(description="Calendar year", examples=[2024])],
    body: FiguresPut,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> FiguresOut:
    row, is_new = service.put_figures(session, enterprise_id, year, body, if_match)
    if is_new:
        response.status_code = status.HTTP_201_CREATED
    set_etag(response, row)
    return FiguresOut.model_validate(row)


# --------------------------------------------------------------------------- designations


@router.post(
    "/enterprises/{enterprise_id}/designations",
    dependencies=[register_write()],
    response_model=DesignationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Grant a designation (录入梯度认定)",
    description=(
        "认定层级须为该梯度允许的层级（如“小巨人”仅国家级）；单项冠军产品须填写产品；"
        "有效期至不早于认定日期；同梯度同层级的认定期间不得重叠（409）。\n\n"
        "The level must be one the tier allows (GET /tiers); `product` is required for "
        "`single_champion_product`; `valid_until` >= `recognised_on`; a designation of the "
        "same tier and level overlapping in time is a 409 pointing at it."
    ),
    responses=problem_responses(NotFound, Conflict, ValidationProblem),
)
def grant_designation(
    enterprise_id: EnterpriseId, body: DesignationCreate, session: SessionDep, response: Response
) -> DesignationOut:
    row = service_designations.grant_designation(session, enterprise_id, body)
    created(response, service_designations.DESIGNATION_URL.format(id=row.id), row)
    return _designation_out(row, office_today())


@router.get(
    "/enterprises/{enterprise_id}/designations",
    response_model=Page[DesignationOut],
    summary="Designation history (梯度认定历史)",
    description="全部认定（含已到期、已撤销），按认定日期倒序，每条带状态。 / Every designation, "
    "newest first, each with its `state` as of today or `as_of`.",
    responses=problem_responses(NotFound, ValidationProblem),
)
def designation_history(
    enterprise_id: EnterpriseId,
    session: SessionDep,
    page: PageDep,
    as_of: AsOf = None,
    tier: Annotated[Tier | None, Query()] = None,
    state: Annotated[DesignationState | None, Query(description="filter by state")] = None,
) -> Page[DesignationOut]:
    on = as_of or office_today()
    total, rows = service_designations.designation_history(
        session, enterprise_id, page, as_of=on, tier=tier, state=state
    )
    return Page[DesignationOut](
        items=[_designation_out(r, on) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/designations/{designation_id}",
    response_model=DesignationOut,
    summary="Read a designation (认定详情)",
    responses=problem_responses(NotFound),
)
def read_designation(
    designation_id: DesignationId, session: SessionDep, response: Response, as_of: AsOf = None
) -> DesignationOut:
    row = service_designations.get_designation(session, designation_id)
    set_etag(response, row)
    return _designation_out(row, as_of or office_today())


@router.patch(
    "/designations/{designation_id}",
    dependencies=[register_write()],
    response_model=DesignationOut,
    summary="Correct a designation (更正认定信息)",
    description="仅用于更正批次、认定机关、有效期至；撤销请用 /revoke。需 If-Match。 / "
    "Corrections of `batch`, `issuer`, `valid_until`. Requires If-Match.",
    responses=problem_responses(
        NotFound, Conflict, ValidationProblem, PreconditionFailed, PreconditionRequired
    ),
)
def correct_designation(
    designation_id: DesignationId,
    body: DesignationUpdate,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> DesignationOut:
    row = service_designations.correct_designation(session, designation_id, body, if_match)
    set_etag(response, row)
    return _designation_out(row, office_today())


@router.post(
    "/designations/{designation_id}/revoke",
    dependencies=[register_write()],
    response_model=DesignationOut,
    summary="Revoke a designation (撤销认定)",
    description="记录撤销日期和原因，认定记录保留。已撤销的返回409。需 If-Match。 / Records the "
    "revocation date and reason; the row stays as history. Already revoked: 409. "
    "Requires If-Match.",
    responses=problem_responses(
        NotFound, Conflict, ValidationProblem, PreconditionFailed, PreconditionRequired
    ),
)
def revoke_designation(
    designation_id: DesignationId,
    body: DesignationRevoke,
    session: SessionDep,
    response: Response,
    if_match: IfMatch = None,
) -> DesignationOut:
    row = service_designations.revoke_designation(session, designation_id, body, if_match)
    set_etag(response, row)
    return _designation_out(row, office_today())
