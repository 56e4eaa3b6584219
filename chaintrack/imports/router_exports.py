"""HTTP routes for exports (导出): each entity in its import template's format.

An export mirrors a list endpoint and takes its filters from the same dependency
(``EnterpriseFiltersDep`` as GET /enterprises, ``ProjectFiltersDep`` as GET /projects,
``MembershipFiltersDep`` as GET /chains/{chain_id}/memberships), so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.enterprises.params import EnterpriseFiltersDep
from chaintrack.errors import NotFound, ValidationProblem, problem_responses
from chaintrack.imports import exporter, service
from chaintrack.imports.handlers_lists import entry_spec
from chaintrack.imports.routing import FILE_RESPONSE, Format, Id, download
from chaintrack.imports.schemas import ExportFormat
from chaintrack.memberships.params import MembershipFiltersDep
from chaintrack.models.enums import Tier
from chaintrack.projects.params import ProjectFiltersDep
from chaintrack.sheets.specs import SheetSpec, get_spec

router = APIRouter(tags=["imports"])


def _export(
    spec: SheetSpec, rows: Iterable[Mapping[str, Any]], fmt: ExportFormat, label: str | None = None
) -> Response:
    fh, size, count = exporter.spooled_export(spec, rows, fmt)
    filename, fallback = exporter.export_filenames(spec, fmt, label)
    response = download(exporter.iter_file(fh), size, filename, fallback, fmt)
    response.headers["X-Row-Count"] = str(count)
    return response


_EXPORT_DOC = (
    "\n\n导出格式与导入模板相同，可编辑后重新导入（导出→导入不产生变化）。\n\nThe export uses "
    "the template format, so export → edit → import is a round trip. Streamed; "
    "`X-Row-Count` gives the number of rows."
)
Q = Annotated[str | None, Query(max_length=100, description="名称片段或代码")]
Region = Annotated[str | None, Query(max_length=12, description="行政区划代码（前缀）")]
ChainFilter = Annotated[StrictId | None, Query(description="产业链")]
Year = Annotated[int | None, Query(ge=1949, le=2200)]
Period = Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2025-01"])]


@router.get(
    "/exports/enterprises",
    response_class=Response,
    response_model=None,
    summary="Export enterprises (导出企业)",
    description="筛选条件同企业查询；每家企业一行，附所选年度（默认最近年度）的指标。\n\n"
    "Filters as GET /enterprises; one row per enterprise with the figures of `year` "
    "(default: each one's latest year)." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_enterprises(
    session: SessionDep,
    filters: EnterpriseFiltersDep,
    fmt: Format = ExportFormat.XLSX,
    year: Year = None,
) -> Response:
    return _export(get_spec("enterprises"), exporter.enterprise_rows(session, filters, year), fmt)


@router.get(
    "/exports/designations",
    response_class=Response,
    response_model=None,
    summary="Export designations (导出梯度培育认定)",
    description="全部认定（含已到期、已撤销），可按企业、梯度、地区、产业链筛选。\n\nEvery "
    "designation (history included; `active=true` for those in force today)." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_designations(
    session: SessionDep,
    fmt: Format = ExportFormat.XLSX,
    q: Q = None,
    tier: Annotated[Tier | None, Query()] = None,
    region_code: Region = None,
    chain_id: ChainFilter = None,
    active: Annotated[bool, Query(description="only those in force today")] = False,
) -> Response:
    f = exporter.DesignationFilters(
        q=q, tier=tier, region_code=region_code, chain_id=chain_id, active=active
    )
    return _export(get_spec("designations"), exporter.designation_rows(session, f), fmt)


@router.get(
    "/exports/memberships",
    response_class=Response,
    response_model=None,
    summary="Export chain memberships (导出链上企业)",
    description="筛选条件同链上企业查询（默认只含当前在链的）。\n\nFilters as GET "
    "/chains/{chain_id}/memberships (`current=true` by default; `current=false` gives the "
    "history too)." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_memberships(
    session: SessionDep,
    filters: MembershipFiltersDep,
    fmt: Format = ExportFormat.XLSX,
    chain_id: ChainFilter = None,
) -> Response:
    rows = exporter.membership_rows(session, chain_id, filters)
    return _export(get_spec("memberships"), rows, fmt)


@router.get(
    "/exports/projects",
    response_class=Response,
    response_model=None,
    summary="Export projects (导出建链项目)",
    description="筛选条件同项目查询；每个项目一行，附所选年度（默认最近年度）的计划投资。\n\n"
    "Filters as GET /projects; one row per project with the annual plan of `plan_year` "
    "(default: each one's latest)." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_projects(
    session: SessionDep,
    filters: ProjectFiltersDep,
    fmt: Format = ExportFormat.XLSX,
    plan_year: Annotated[int | None, Query(ge=2000, le=2200)] = None,
) -> Response:
    rows = exporter.project_rows(session, filters, plan_year)
    return _export(get_spec("projects"), rows, fmt)


@router.get(
    "/exports/progress",
    response_class=Response,
    response_model=None,
    summary="Export monthly progress (导出月度调度)",
    description="当前有效的各月报送，附系统计算的累计数和完成率（导入时不读取）。\n\n"
    "The months on record with the computed cumulative figures (ignored on import)." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_progress(
    session: SessionDep,
    fmt: Format = ExportFormat.XLSX,
    chain_id: ChainFilter = None,
    project_id: Annotated[StrictId | None, Query()] = None,
    period_from: Period = None,
    period_to: Period = None,
    q: Q = None,
) -> Response:
    f = exporter.ProgressFilters(
        chain_id=chain_id, project_id=project_id, period_from=period_from, period_to=period_to, q=q
    )
    return _export(get_spec("progress"), exporter.progress_rows(session, f), fmt)


@router.get(
    "/lists/{list_id}/export",
    response_class=Response,
    response_model=None,
    summary="Export the entries of a list (导出清单条目)",
    description="按清单类型的模板导出本清单的全部条目。\n\nEvery entry of the list in its "
    "type's template format." + _EXPORT_DOC,
    responses={**FILE_RESPONSE, **problem_responses(NotFound, ValidationProblem)},
)
def export_list_entries(
    list_id: Id, session: SessionDep, fmt: Format = ExportFormat.XLSX
) -> Response:
    chain_list, list_type = service.list_with_type(session, list_id)
    spec = entry_spec(list_type)
    return _export(
        spec, exporter.list_entry_rows(session, chain_list), fmt, label=chain_list.period
    )
