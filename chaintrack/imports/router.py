"""HTTP routes for spreadsheet templates and imports (导入); the exports are in
``router_exports``."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, Response, UploadFile
from fastapi.params import Depends as DependsParam
from starlette.concurrency import run_in_threadpool

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.auth.permissions import (
    Access,
    ChainOf,
    Rule,
    chain_write,
    check_chain_rule,
    forbidden,
    register_write,
)
from chaintrack.common.deps import (
    SessionDep,
    run_cancellable,
    write_session,
    writes_in_own_session,
)
from chaintrack.common.ids import StrictId, parse_id
from chaintrack.errors import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    ValidationProblem,
    problem_responses,
)
from chaintrack.imports import service
from chaintrack.imports.engine import ImportRejected
from chaintrack.imports.limits import ImportLimits, import_limits
from chaintrack.imports.routing import FILE_RESPONSE, Format, Id, download
from chaintrack.imports.schemas import ExportFormat, ImportEntity, ImportMode, ImportReport
from chaintrack.models.enums import (
    UserRole,
)

router = APIRouter(tags=["imports"])

UPLOAD_SLACK = 64 * 1024  # multipart envelope around the file

Mode = Annotated[
    ImportMode,
    Query(description="dry_run (default): check and report, write nothing; commit: write all"),
]
ChainQuery = Annotated[
    StrictId | None,
    Query(
        description="Import into this chain: rows may leave 产业链代码 blank; a filled one must "
        "match. Without it every row names its chain.",
    ),
]
Sheet = Annotated[
    str | None, Query(max_length=31, description="Worksheet to read (default: best header match)")
]
Upload = Annotated[
    UploadFile,
    File(
        description="The filled-in template or an edited export: .xlsx, .xls, .ods or .csv "
        "(percent-formatted cells are read as percentages, merged cells fill their rows)"
    ),
]
Limits = Annotated[ImportLimits, Depends(import_limits)]

_IMPORT_PROBLEMS = problem_responses(
    BadRequest, NotFound, PayloadTooLarge, ValidationProblem, ImportRejected
)
IMPORT_DOC = (
    "\n\n上传.xlsx、.xls、.ods或.csv（模板或导出文件，表头中英文均可，标题行、合并单元格、"
    "全角字符、千分位、货币格式、百分比格式、文本格式数字和日期、Excel日期序号、“2024年3月”"
    "等写法均可识别；以数字保存而丢失末位的代码会被指出）。mode=dry_run（默认）"
    "只预检：逐行报告新增、更新、不变，及每个错误的行号、列名和说明，不写入任何数据；"
    "mode=commit 正式导入：整个文件在一个事务中写入，任何一行有错则全部不写入（422，附全部错误），"
    "重复导入同一文件不产生任何变化。\n\n"
    "Upload `file` (multipart). `mode=dry_run` (default) reports per row what would be "
    "created / updated / left unchanged and every error (row, column, message) and writes "
    "nothing; `mode=commit` writes the whole file atomically: one bad row and nothing is "
    "written (422 `import-rejected` with every row error). Re-importing the same file "
    "changes nothing. A file over the size cap answers 413; one that is not a "
    "spreadsheet 400; more rows than the cap, or a missing required column, 422."
)


def chain_query_write(param: str = "chain_id") -> DependsParam:
    """The chain-write rule for a chain given as a *query* parameter (optional).

    Administrators pass; viewers get 403; an editor must edit the named chain (404 for an
    unknown one). Without the parameter the rows name their chains and the service
    checks each (403 for any chain the editor does not edit).
    """
    rule = Rule(Access.CHAIN, ChainOf.chain(param))

    async def check_permission(
        request: Request, principal: CurrentPrincipal, session: SessionDep
    ) -> None:
        if principal.is_admin:
            return
        if principal.role is not UserRole.EDITOR:
            raise forbidden("只读账号不能修改数据 / a viewer account can only read")
        chain_id = parse_id(request.query_params.get(param))
        if chain_id is None:
            return  # absent (rows name their chains) or invalid (the endpoint answers 422)
        await run_in_threadpool(check_chain_rule, rule, principal, session, {param: chain_id}, None)

    check_permission.permission_rule = rule  # type: ignore[attr-defined]
    return Depends(check_permission)


def _check_size(request: Request, limits: ImportLimits) -> None:
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limits.max_bytes + UPLOAD_SLACK:
        mib = f"{limits.max_mb:g}"
        raise PayloadTooLarge(
            f"文件超过大小上限{mib}MB，请拆分后导入 / the file is larger than {mib} MB",
            code="too_large",
        )


# --------------------------------------------------------------------------- templates


@router.get(
    "/templates/{entity}",
    response_class=Response,
    response_model=None,
    summary="Download an import template (下载导入模板)",
    description=(
        "下载导入模板：enterprises 企业（含年度指标）、designations 梯度培育认定、memberships "
        "链上企业、projects 建链项目、progress 月度调度。Excel模板含填写说明工作表和下拉列表；"
        "CSV为带BOM的UTF-8。\n\nA blank template (.xlsx with an instructions sheet and "
        "drop-down lists, or CSV) with Chinese headers; English field names are accepted too."
    ),
    responses={**FILE_RESPONSE, **problem_responses(ValidationProblem)},
)
def get_template(entity: ImportEntity, fmt: Format = ExportFormat.XLSX) -> Response:
    content, filename, fallback = service.entity_template(entity, fmt)
    return download([content], len(content), filename, fallback, fmt)


@router.get(
    "/list-types/{type_id}/template",
    response_class=Response,
    response_model=None,
    summary="Download the entry template of a list type (下载清单导入模板)",
    description=(
        "按清单类型的字段生成清单条目导入模板。\n\nThe template for the entries of lists of "
        "this type: title, the reference column (USCC, project code or node code) and one "
        "column per declared field."
    ),
    responses={**FILE_RESPONSE, **problem_responses(NotFound, ValidationProblem)},
)
def get_list_type_template(
    type_id: Id, session: SessionDep, fmt: Format = ExportFormat.XLSX
) -> Response:
    content, filename, fallback = service.list_type_template(session, type_id, fmt)
    return download([content], len(content), filename, fallback, fmt)


# ----------------------------------------------------------------------------- imports


async def _import(
    request: Request,
    session: SessionDep,
    entity: ImportEntity,
    file: UploadFile,
    mode: ImportMode,
    limits: ImportLimits,
    principal: CurrentPrincipal,
    chain_id: int | None = None,
    sheet: str | None = None,
) -> ImportReport:
    """Read and check the upload in the request's read session (no write lock), write a
    good commit in a write session of its own; stop when the client hangs up."""
    _check_size(request, limits)

    def work(cancelled: threading.Event) -> ImportReport:
        return service.import_file(
            session,
            entity,
            file.file,
            commit=mode is ImportMode.COMMIT,
            limits=limits,
            principal=principal,
            chain_id=chain_id,
            filename=file.filename,
            sheet=sheet,
            writer=lambda: write_session(request, principal.id),
            cancelled=cancelled,
        )

    return await run_cancellable(request, work)


@router.post(
    "/imports/enterprises",
    dependencies=[register_write()],
    response_model=ImportReport,
    summary="Import enterprises with key figures (导入企业)",
    description="按统一社会信用代码新增或更新企业，并写入所填年度的营业收入、从业人员、研发投入。"
    "\n\nUpsert by USCC; the year's figures are created or replaced." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_enterprises(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    sheet: Sheet = None,
) -> ImportReport:
    return await _import(
        request, session, ImportEntity.ENTERPRISES, file, mode, limits, principal, sheet=sheet
    )


@router.post(
    "/imports/designations",
    dependencies=[register_write()],
    response_model=ImportReport,
    summary="Import designations (导入梯度培育认定)",
    description="按企业、梯度、级别和认定日期新增或更正认定（批次、认定机关、有效期、撤销）。"
    "\n\nUpsert by enterprise + tier + level + recognition date." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_designations(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    sheet: Sheet = None,
) -> ImportReport:
    return await _import(
        request, session, ImportEntity.DESIGNATIONS, file, mode, limits, principal, sheet=sheet
    )


@router.post(
    "/imports/memberships",
    dependencies=[chain_query_write()],
    response_model=ImportReport,
    summary="Import chain memberships (导入链上企业)",
    description="按产业链、企业、角色、节点和入链日期新增或更新链上企业（退出日期、原因、备注）。"
    "\n\nUpsert by chain + enterprise + role (+ node) + start day; the enterprises must be "
    "registered. An editor may import only into chains they edit (403)." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_memberships(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    chain_id: ChainQuery = None,
    sheet: Sheet = None,
) -> ImportReport:
    return await _import(
        request,
        session,
        ImportEntity.MEMBERSHIPS,
        file,
        mode,
        limits,
        principal,
        chain_id=chain_id,
        sheet=sheet,
    )


@router.post(
    "/imports/projects",
    dependencies=[chain_query_write()],
    response_model=ImportReport,
    summary="Import projects (导入建链项目)",
    description="按项目编号新增或更新项目及所填年度的计划投资；已有项目的状态须通过状态流转变更。"
    "\n\nUpsert by internal project code, with one year's annual plan. A new project's "
    "status must be an initial one; an existing project's status is not changed by import "
    "(a different one is an error). An editor may import only into chains they edit." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_projects(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    chain_id: ChainQuery = None,
    sheet: Sheet = None,
) -> ImportReport:
    return await _import(
        request,
        session,
        ImportEntity.PROJECTS,
        file,
        mode,
        limits,
        principal,
        chain_id=chain_id,
        sheet=sheet,
    )


@router.post(
    "/imports/progress",
    dependencies=[chain_query_write()],
    response_model=ImportReport,
    summary="Import monthly progress (导入月度调度)",
    description="按项目编号和月份报送月度进度；已报送月份的数据有变化时记为一次更正（新修订，"
    "原数据保留，更正原因默认为“导入更正”），数据相同则不变。\n\nOne row per project and "
    "month. A month already on record with different figures becomes a new revision "
    "(correction reason: the row's, else 导入更正); identical figures change nothing. Every "
    "project must be on a chain the editor edits (403)." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_progress(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    chain_id: ChainQuery = None,
    sheet: Sheet = None,
) -> ImportReport:
    return await _import(
        request,
        session,
        ImportEntity.PROGRESS,
        file,
        mode,
        limits,
        principal,
        chain_id=chain_id,
        sheet=sheet,
    )


@router.post(
    "/lists/{list_id}/import",
    dependencies=[chain_write(ChainOf.list("list_id"))],
    response_model=ImportReport,
    summary="Import list entries (导入清单条目)",
    description="按引用对象（企业、项目；节点与名称）或名称新增或更新本清单的条目。\n\n"
    "Entries are matched by what they reference (enterprise or project; node + title) or by "
    "title; attributes are checked against the list type's fields." + IMPORT_DOC,
    responses=_IMPORT_PROBLEMS,
)
@writes_in_own_session
async def import_list_entries(
    list_id: Id,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    file: Upload,
    limits: Limits,
    mode: Mode = ImportMode.DRY_RUN,
    sheet: Sheet = None,
) -> ImportReport:
    _check_size(request, limits)

    def work(cancelled: threading.Event) -> ImportReport:
        return service.import_list_entries(
            session,
            list_id,
            file.file,
            commit=mode is ImportMode.COMMIT,
            limits=limits,
            filename=file.filename,
            sheet=sheet,
            writer=lambda: write_session(request, principal.id),
            cancelled=cancelled,
        )

    return await run_cancellable(request, work)
