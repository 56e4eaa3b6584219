"""The audit trail, for administrators. Read only: no route changes or deletes it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from chaintrack.audit import service
from chaintrack.audit.schemas import AuditRecordOut
from chaintrack.auth.permissions import admin_only
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import StrictId
from chaintrack.common.pagination import Page, PageDep, sort_query
from chaintrack.common.schemas import IsoAwareDatetime
from chaintrack.errors import Forbidden, NotFound, ValidationProblem, problem_responses
from chaintrack.models.enums import AuditAction

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[admin_only()])


@router.get(
    "",
    response_model=Page[AuditRecordOut],
    summary="The audit trail (操作日志)",
    description=(
        "Every row created, updated or deleted through the API, newest first, with who, "
        "when, the request id and each changed field before and after. Filter by user, "
        "entity (table) and id, chain, action, request id and time (`from` inclusive, `to` "
        "exclusive, ISO 8601 with a time zone). Administrators only. / 管理员查看操作记录。"
    ),
    responses=problem_responses(Forbidden, ValidationProblem),
)
def list_audit(
    session: SessionDep,
    page: PageDep,
    user_id: Annotated[StrictId | None, Query()] = None,
    entity: Annotated[
        str | None, Query(max_length=64, pattern=r"^[a-z_]+$", examples=["projects"])
    ] = None,
    entity_id: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    chain_id: Annotated[StrictId | None, Query()] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    request_id: Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")] = None,
    from_: Annotated[
        IsoAwareDatetime | None, Query(alias="from", examples=["2026-01-01T00:00:00+08:00"])
    ] = None,
    to: Annotated[IsoAwareDatetime | None, Query(examples=["2026-02-01T00:00:00+08:00"])] = None,
    sort: Annotated[str | None, sort_query(service.SORT_KEYS)] = None,
) -> Page[AuditRecordOut]:
    filters = service.AuditFilters(
        user_id=user_id,
        entity=entity,
        entity_id=entity_id,
        chain_id=chain_id,
        action=action,
        request_id=request_id,
        from_time=from_.astimezone(dt.UTC) if from_ else None,
        to_time=to.astimezone(dt.UTC) if to else None,
    )
    total, items = service.list_records(session, filters, page, sort)
    return Page[AuditRecordOut](items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{record_id}",
    response_model=AuditRecordOut,
    summary="One audit record",
    responses=problem_responses(Forbidden, NotFound),
)
def get_audit(record_id: Annotated[StrictId, Path()], session: SessionDep) -> AuditRecordOut:
    return service.get_record(session, record_id)
