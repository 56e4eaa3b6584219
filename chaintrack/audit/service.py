"""Reading the audit trail (nothing here writes it: capture.py does)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.audit.schemas import AuditRecordOut
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import ValidationProblem, not_found
from chaintrack.models import AuditRecord, User
from chaintrack.models.enums import AuditAction

SORT_KEYS = {"id": AuditRecord.id, "occurred_at": AuditRecord.occurred_at}


@dataclass(frozen=True)
class AuditFilters:
    user_id: int | None = None
    entity: str | None = None
    entity_id: str | None = None
    chain_id: int | None = None
    action: AuditAction | None = None
    request_id: str | None = None
    from_time: dt.datetime | None = None
    to_time: dt.datetime | None = None


def _out(record: AuditRecord, username: str | None) -> AuditRecordOut:
    return AuditRecordOut(
        id=record.id,
        occurred_at=record.occurred_at,
        user_id=record.user_id,
        username=username,
        request_id=record.request_id,
        action=record.action,
        entity=record.entity,
        entity_id=record.entity_id,
        chain_id=record.chain_id,
        changes=record.changes or {},
    )


def list_records(
    session: Session, filters: AuditFilters, page: PageParams, sort: str | None
) -> tuple[int, list[AuditRecordOut]]:
    if filters.from_time and filters.to_time and filters.to_time < filters.from_time:
        raise ValidationProblem.for_field(
            "to", "结束时间早于开始时间 / `to` is before `from`", location="query"
        )
    stmt = select(AuditRecord, User.username).outerjoin(User, User.id == AuditRecord.user_id)
    f = filters
    if f.user_id is not None:
        stmt = stmt.where(AuditRecord.user_id == f.user_id)
    if f.entity is not None:
        stmt = stmt.where(AuditRecord.entity == f.entity)
    if f.entity_id is not None:
        stmt = stmt.where(AuditRecord.entity_id == f.entity_id)
    if f.chain_id is not None:
        stmt = stmt.where(AuditRecord.chain_id == f.chain_id)
    if f.action is not None:
        stmt = stmt.where(AuditRecord.action == f.action)
    if f.request_id is not None:
        stmt = stmt.where(AuditRecord.request_id == f.request_id)
    if f.from_time is not None:
        stmt = stmt.where(AuditRecord.occurred_at >= f.from_time)
    if f.to_time is not None:
        stmt = stmt.where(AuditRecord.occurred_at < f.to_time)
    stmt = stmt.order_by(*sort_clause(sort, SORT_KEYS, [AuditRecord.id.desc()]))
    total, rows = paginate(session, stmt, page)
    return total, [_out(r, name) for r, name in rows]


def get_record(session: Session, record_id: int) -> AuditRecordOut:
    row = session.execute(
        select(AuditRecord, User.username)
        .outerjoin(User, User.id == AuditRecord.user_id)
        .where(AuditRecord.id == record_id)
    ).first()
    if row is None:
        raise not_found("audit record", record_id)
    return _out(row[0], row[1])
