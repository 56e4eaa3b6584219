"""导入: templates, upload, the dry run as a table (bad cells highlighted), commit.

The posts take the API's path: the request session is a read session (no SQLite write
lock while the file is parsed and checked); a commit writes in a write session of its
own (``common.deps.write_session``), audited under the signed-in user.

The import engine decides everything (chaintrack.imports.service.import_file): the
page only keeps the uploaded file between the dry run and the confirmation (a
private temporary file bound to the user) and shows the file's cells beside the
engine's findings.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from chaintrack.auth.deps import CurrentPrincipal, Principal
from chaintrack.auth.permissions import Access, ChainOf, Rule
from chaintrack.chains.service import list_chains
from chaintrack.common.deps import (
    SessionDep,
    run_cancellable,
    write_session,
    writes_in_own_session,
)
from chaintrack.common.pagination import PageParams
from chaintrack.errors import PayloadTooLarge, ValidationProblem
from chaintrack.imports import service
from chaintrack.imports.limits import ImportLimits, import_limits
from chaintrack.imports.schemas import ImportEntity, ImportReport
from chaintrack.web.core import FORM_PROBLEMS, field_errors, form_failed, page_rule, render

router = APIRouter(include_in_schema=False)

REGISTER_ENTITIES = (ImportEntity.ENTERPRISES, ImportEntity.DESIGNATIONS)
CHAIN_ENTITIES = (ImportEntity.MEMBERSHIPS, ImportEntity.PROJECTS, ImportEntity.PROGRESS)
LABELS = {
    ImportEntity.ENTERPRISES: "企业及主要指标",
    ImportEntity.DESIGNATIONS: "梯度培育认定",
    ImportEntity.MEMBERSHIPS: "链上企业",
    ImportEntity.PROJECTS: "项目",
    ImportEntity.PROGRESS: "月度进度",
}
SHOWN_ROWS = 300
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
SPOOL = Path(tempfile.gettempdir()) / "chaintrack-page-imports"


def _spool_path(principal: Principal, token: str, suffix: str) -> Path:
    return SPOOL / f"{principal.id}-{token}{suffix}"


def _keep(principal: Principal, data: bytes, filename: str) -> str:
    SPOOL.mkdir(mode=0o700, exist_ok=True)
    token = secrets.token_urlsafe(24)
    suffix = ".csv" if filename.lower().endswith(".csv") else ".xlsx"
    _spool_path(principal, token, suffix).write_bytes(data)
    return token + suffix


def _kept(principal: Principal, ref: str) -> Path:
    token, _, ext = ref.partition(".")
    if not _TOKEN.match(token) or ext not in ("csv", "xlsx"):
        raise ValidationProblem.for_field("file", "文件已失效，请重新上传")
    path = _spool_path(principal, token, "." + ext)
    if not path.exists():
        raise ValidationProblem.for_field("file", "文件已失效，请重新上传")
    return path


def _cells(data: bytes, filename: str, sheet: str | None) -> list[list[str]]:
    """The file's rows as text, for showing beside the findings (not for validation)."""
    if filename.lower().endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return []
        return [
            row
            for _, row in zip(range(SHOWN_ROWS + 5), csv.reader(io.StringIO(text)), strict=False)
        ]
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        ws = book[sheet] if sheet and sheet in book.sheetnames else book.worksheets[0]
        rows = []
        for row in ws.iter_rows(max_row=SHOWN_ROWS + 5, values_only=True):
            rows.append(["" if v is None else str(v) for v in row])
        book.close()
        return rows
    except Exception:
        return []


def _grid(report: ImportReport, cells: list[list[str]]) -> dict[str, Any]:
    header_row = report.file.header_row
    header = cells[header_row - 1] if 0 < header_row <= len(cells) else []
    bad: dict[tuple[int, str], str] = {}
    for err in report.errors:
        key = (err.row, err.column)
        bad[key] = f"{bad[key]}；{err.message}" if key in bad else err.message
    bad_rows = {err.row for err in report.errors}
    outcome = {r.row: r for r in report.rows}
    rows = []
    for index, values in enumerate(cells[header_row:], start=header_row + 1):
        if not any(v.strip() for v in values):
            continue
        rows.append(
            {
                "number": index,
                "bad": index in bad_rows,
                "action": outcome[index].action if index in outcome else None,
                "cells": [
                    {
                        "value": values[i] if i < len(values) else "",
                        "error": bad.get((index, name)),
                    }
                    for i, name in enumerate(header)
                ],
            }
        )
    row_errors = [e for e in report.errors if e.column not in header]
    return {"header": header, "rows": rows, "row_errors": row_errors}


def _page(
    request: Request,
    session: Session,
    *,
    report: ImportReport | None = None,
    grid: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    kept: str | None = None,
    entity: str = "",
    chain_id: int | None = None,
    filename: str = "",
    status_code: int = 200,
) -> Response:
    _, chains = list_chains(session, PageParams(limit=200, offset=0))
    return render(
        request,
        "imports.html",
        {
            "register_entities": [(e.value, LABELS[e]) for e in REGISTER_ENTITIES],
            "chain_entities": [(e.value, LABELS[e]) for e in CHAIN_ENTITIES],
            "labels": {e.value: LABELS[e] for e in ImportEntity},
            "chains": chains,
            "report": report,
            "grid": grid,
            "errors": errors or {},
            "kept": kept,
            "entity": entity,
            "group": "register" if entity in {e.value for e in REGISTER_ENTITIES} else "chain",
            "chain_id": chain_id,
            "filename": filename,
        },
        status_code=status_code,
        section="imports",
    )


@router.get("/imports")
def imports_page(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    return _page(request, session)


async def _run(
    request: Request,
    session: Session,
    principal: Principal,
    limits: ImportLimits,
    allowed: tuple[ImportEntity, ...],
    *,
    commit: bool,
) -> Response:
    form = await request.form()
    raw_entity = str(form.get("entity") or "")
    raw_chain = str(form.get("chain_id") or "").strip()
    chain_id = int(raw_chain) if raw_chain.isdigit() else None
    upload = form.get("file")
    kept_ref = str(form.get("kept") or "")
    try:
        if raw_entity not in {e.value for e in allowed}:
            raise ValidationProblem.for_field("entity", "请选择导入内容")
        entity = ImportEntity(raw_entity)
        if isinstance(upload, UploadFile) and upload.filename:
            data = await upload.read(limits.max_bytes + 1)
            filename = upload.filename
        elif kept_ref:
            path = _kept(principal, kept_ref)
            data = path.read_bytes()
            filename = str(form.get("filename") or path.name)
        else:
            raise ValidationProblem.for_field("file", "请选择要上传的文件（.xlsx 或 .csv）")
        if len(data) > limits.max_bytes:
            raise PayloadTooLarge(f"文件超过 {limits.max_mb:.0f} MB")

        def work(cancelled: threading.Event) -> ImportReport:
            # As the API (imports.router): read and plan in the request's read session
            # (no write lock during the parse), write a good commit in a write session
            # of its own; stop if the browser goes away.
            return service.import_file(
                session,
                entity,
                io.BytesIO(data),
                commit=commit,
                limits=limits,
                principal=principal,
                chain_id=chain_id,
                filename=filename,
                writer=lambda: write_session(request, principal.id),
                cancelled=cancelled,
            )

        report = await run_cancellable(request, work)
    except FORM_PROBLEMS as err:
        form_failed(session)
        return _page(
            request,
            session,
            errors=field_errors(err),
            entity=raw_entity,
            chain_id=chain_id,
            status_code=422,
        )
    grid = _grid(report, await run_in_threadpool(_cells, data, filename, None))
    kept = None
    if not commit and report.summary.error == 0:
        kept = _keep(principal, data, filename)
    if commit and kept_ref and report.committed:
        _kept(principal, kept_ref).unlink(missing_ok=True)
    return _page(
        request,
        session,
        report=report,
        grid=grid,
        kept=kept,
        entity=entity.value,
        chain_id=chain_id,
        filename=filename,
        status_code=200 if report.summary.error == 0 else 422,
    )


Limits = Depends(import_limits)


@router.post("/imports/register", dependencies=[page_rule(Rule(Access.REGISTER))])
@writes_in_own_session
async def register_import(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    limits: ImportLimits = Limits,
) -> Response:
    commit = (await request.form()).get("mode") == "commit"
    return await _run(request, session, principal, limits, REGISTER_ENTITIES, commit=commit)


@router.post(
    "/imports/chain",
    dependencies=[page_rule(Rule(Access.CHAIN, ChainOf.body_chain("chain_id")))],
)
@writes_in_own_session
async def chain_import(
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    limits: ImportLimits = Limits,
) -> Response:
    commit = (await request.form()).get("mode") == "commit"
    return await _run(request, session, principal, limits, CHAIN_ENTITIES, commit=commit)
