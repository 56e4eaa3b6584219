"""HTTP routes for investment attraction (招商): leads, steps, funds, conversion, figures."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status

from chaintrack.attraction import service
from chaintrack.attraction.params import LeadFiltersDep
from chaintrack.attraction.pipeline import pipeline_markdown
from chaintrack.attraction.schemas import (
    FundsIn,
    FunnelOut,
    GapCoverage,
    LandIn,
    LeadCreate,
    LeadListItem,
    LeadOut,
    LeadPatch,
    SourceOut,
    StepIn,
)
from chaintrack.attraction.sheets import LEADS, LeadHandler, export_rows
from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import ChainOf, Ref, chain_write
from chaintrack.common.concurrency import IfMatch, check_if_match, created
from chaintrack.common.deps import (
    SessionDep,
    run_cancellable,
    write_session,
    writes_in_own_session,
)
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep
from chaintrack.common.schemas import IsoDate
from chaintrack.errors import (
    Conflict,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ValidationProblem,
    problem_responses,
)
from chaintrack.history import office_today
from chaintrack.imports import exporter
from chaintrack.imports import service as imports_service
from chaintrack.imports.engine import ImportOptions
from chaintrack.imports.router import (
    _IMPORT_PROBLEMS,
    IMPORT_DOC,
    ChainQuery,
    Limits,
    Mode,
    Sheet,
    Upload,
    _check_size,
    chain_query_write,
)
from chaintrack.imports.routing import FILE_RESPONSE, Format, download
from chaintrack.imports.schemas import ExportFormat, ImportMode, ImportReport
from chaintrack.imports.scope import Scope
from chaintrack.models.attraction import LeadSource

router = APIRouter(tags=["attraction"])

LeadId = Annotated[StrictId, Path(description="Lead id")]
LEAD = ChainOf.path("lead", "lead_id")
WRITE_PROBLEMS = problem_responses(
    NotFound, Conflict, PreconditionFailed, PreconditionRequired, ValidationProblem
)


def _respond(session: SessionDep, lead_id: int, response: Response) -> LeadOut:
    detail = service.lead_detail(session, lead_id)
    response.headers["ETag"] = f'"{detail.version}"'
    return detail


@router.get(
    "/attraction/sources",
    response_model=list[SourceOut],
    summary="Lead sources / 线索来源目录",
)
def sources() -> list[SourceOut]:
    return [SourceOut(code=s, name_zh=s.label_zh) for s in LeadSource]


@router.post(
    "/attraction/leads",
    dependencies=[chain_write(ChainOf.body_chain("chain_id"), Ref.nodes("node_ids"))],
    response_model=LeadOut,
    status_code=status.HTTP_201_CREATED,
    summary="Record a lead / 登记招商线索",
    description="A target company for the chain's weak or missing nodes. With a USCC it is "
    "checked like everywhere; without one the country or province of origin is required. "
    "Nodes of another chain are a 422. The lead starts at 线索.",
    responses=problem_responses(ValidationProblem),
)
def create_lead(data: LeadCreate, session: SessionDep, response: Response) -> LeadOut:
    lead = service.create_lead(session, data, office_today())
    created(response, f"{service.API_PATH}/{lead.id}", lead)
    return service.lead_detail(session, lead.id)


@router.get(
    "/attraction/leads",
    response_model=Page[LeadListItem],
    summary="Search leads / 招商线索列表",
    description="Filter by chain, stage, source, responsible unit or person (fragment), "
    "node, enterprise or project (the reverse links of a conversion).",
)
def list_leads(session: SessionDep, page: PageDep, filters: LeadFiltersDep) -> Page[LeadListItem]:
    total, items = service.list_leads(session, filters, page)
    return Page[LeadListItem](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/attraction/leads/template",
    response_class=Response,
    response_model=None,
    summary="Download the lead import template / 下载招商线索导入模板",
    description="Excel (with instructions and drop-down lists) or CSV (UTF-8 with BOM).",
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def lead_template(fmt: Format = ExportFormat.XLSX) -> Response:
    content, filename, fallback = imports_service.template_bytes(LEADS, fmt)
    return download([content], len(content), filename, fallback, fmt)


@router.get(
    "/attraction/leads/export",
    response_class=Response,
    response_model=None,
    summary="Export leads / 导出招商线索",
    description="The leads the list's filters select, in the template's format (export → "
    "edit → import is a round trip). `X-Row-Count` gives the number of rows.",
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def export_leads(
    session: SessionDep, filters: LeadFiltersDep, fmt: Format = ExportFormat.XLSX
) -> Response:
    fh, size, count = exporter.spooled_export(LEADS, export_rows(session, filters), fmt)
    filename, fallback = exporter.export_filenames(LEADS, fmt)
    response = download(exporter.iter_file(fh), size, filename, fallback, fmt)
    response.headers["X-Row-Count"] = str(count)
    return response


@router.post(
    "/attraction/leads/import",
    dependencies=[chain_query_write()],
    response_model=ImportReport,
    summary="Import leads / 导入招商线索",
    description="按产业链代码和目标企业新增或更新招商线索（校验规则与登记线索相同）。\n\n"
    "Upsert by chain + company name; new leads start at 线索, existing ones get their "
    "fields and nodes changed (the stage moves only through steps). An editor may import "
    "only into chains they edit (403)." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_leads(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    chain_id: ChainQuery = None,
    sheet: Sheet = None,
) -> ImportReport:
    _check_size(request, limits)

    def work(cancelled: threading.Event) -> ImportReport:
        imports_service.require_chain(session, chain_id)
        scope = Scope.for_principal(session, principal, chain_id)
        options = ImportOptions(
            commit=mode is ImportMode.COMMIT,
            limits=limits,
            filename=file.filename,
            sheet=sheet,
            budget=limits.budget(cancelled),
        )
        return imports_service.two_passes(
            session,
            lambda: write_session(request, principal.id),
            lambda _: LeadHandler(scope),
            file.file,
            options,
        )

    return await run_cancellable(request, work)


@router.get(
    "/attraction/leads/{lead_id}",
    response_model=LeadOut,
    summary="Read a lead / 招商线索详情",
    description="The lead with its timeline of steps, funds by month, the enterprise and "
    "project it became, and the stages allowed next: " + pipeline_markdown(),
    responses=problem_responses(NotFound),
)
def get_lead(lead_id: LeadId, session: SessionDep, response: Response) -> LeadOut:
    return _respond(session, lead_id, response)


@router.patch(
    "/attraction/leads/{lead_id}",
    dependencies=[chain_write(LEAD, Ref.nodes("node_ids"))],
    response_model=LeadOut,
    summary="Change a lead / 修改招商线索",
    description="Its fields and nodes (only those sent; `node_ids` replaces the nodes). "
    "Checked as a new lead is; a landed lead keeps its USCC. Needs If-Match (412 if stale).",
    responses=WRITE_PROBLEMS,
)
def patch_lead(
    lead_id: LeadId, data: LeadPatch, session: SessionDep, response: Response, if_match: IfMatch
) -> LeadOut:
    lead = service.get_lead(session, lead_id)
    check_if_match(if_match, lead)
    service.update_lead(session, lead, data.model_dump(exclude_unset=True), office_today())
    return _respond(session, lead_id, response)


@router.post(
    "/attraction/leads/{lead_id}/steps",
    dependencies=[chain_write(LEAD)],
    response_model=LeadOut,
    summary="Record a step / 登记跟进或推进阶段",
    description="A dated step (who, what, next step, next contact). With `to_stage` the "
    "lead moves: one stage forward, or 终止 with a reason from any stage before 开工 (409 "
    "listing the allowed moves otherwise). 签约 needs the signed amount; 落地 goes through "
    "`/land`. Needs If-Match.",
    responses=WRITE_PROBLEMS,
)
def add_step(
    lead_id: LeadId, data: StepIn, session: SessionDep, response: Response, if_match: IfMatch
) -> LeadOut:
    lead = service.get_lead(session, lead_id)
    check_if_match(if_match, lead)
    service.add_step(session, lead, data, office_today())
    return _respond(session, lead_id, response)


@router.post(
    "/attraction/leads/{lead_id}/funds",
    dependencies=[chain_write(LEAD)],
    response_model=LeadOut,
    summary="Record funds received / 登记到位资金",
    description="到位资金 for a month (replaces that month's figure); once signed. Needs If-Match.",
    responses=WRITE_PROBLEMS,
)
def record_funds(
    lead_id: LeadId, data: FundsIn, session: SessionDep, response: Response, if_match: IfMatch
) -> LeadOut:
    lead = service.get_lead(session, lead_id)
    check_if_match(if_match, lead)
    service.record_funds(session, lead, data)
    return _respond(session, lead_id, response)


@router.post(
    "/attraction/leads/{lead_id}/land",
    dependencies=[chain_write(LEAD)],
    response_model=LeadOut,
    summary="Land the lead / 落地转化",
    description="From 签约: links to the enterprise with that USCC (or registers it), puts it "
    "on the chain at the lead's first node, and creates the fill / extend project (status "
    "签约) on the lead's nodes. The lead, enterprise and project point at one another. "
    "Needs If-Match.",
    responses=WRITE_PROBLEMS,
)
def land(
    lead_id: LeadId, data: LandIn, session: SessionDep, response: Response, if_match: IfMatch
) -> LeadOut:
    lead = service.get_lead(session, lead_id)
    check_if_match(if_match, lead)
    service.land(session, lead, data, office_today())
    return _respond(session, lead_id, response)


@router.get(
    "/attraction/funnel",
    response_model=FunnelOut,
    summary="Attraction funnel / 招商漏斗",
    description="Counts and intended amounts by stage, conversion between stages, and the "
    "year's signed and received amounts, for a chain, a city (where leads landed) or "
    "(without either) the province; as of any day (`as_of`: the stage of each lead's "
    "latest step by then); against the year's assessment targets of the leads-signed "
    "and funds-received indicators when the chain or city has them.",
)
def funnel(
    session: SessionDep,
    year: Annotated[int, Query(ge=2000, le=2200)],
    chain_id: Annotated[StrictId | None, Query()] = None,
    city: Annotated[
        str | None,
        Query(
            pattern=r"^\d{4}00$", description="City (地市) code, e.g. 370600: leads landed there"
        ),
    ] = None,
    as_of: Annotated[
        IsoDate | None, Query(description="Stages as of this day, totals up to it")
    ] = None,
) -> FunnelOut:
    return service.funnel(session, chain_id, year, city=city, as_of=as_of)


@router.get(
    "/chains/{chain_id}/attraction/gaps",
    response_model=list[GapCoverage],
    summary="Gap coverage / 缺链弱链的招商覆盖",
    description="Each weak or missing node with its open leads and its projects; "
    "`covered` is false for the gaps with neither.",
    responses=problem_responses(NotFound),
)
def gaps(chain_id: Annotated[StrictId, Path()], session: SessionDep) -> list[GapCoverage]:
    return service.gap_coverage(session, chain_id)
