"""List types (清单类型): the catalogue staff extend. Services flush, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, ValidationProblem, not_found
from chaintrack.lists.attributes import parse_fields, validate_attributes
from chaintrack.lists.schemas import ListTypeCreate, ListTypeUpdate
from chaintrack.models import ChainList, ListEntry, ListType

REF_COLUMNS = {"enterprise": "enterprise_id", "project": "project_id", "node": "node_id"}

_SORTS = {
    "code": ListType.code,
    "name_zh": ListType.name_zh,
    "created_at": ListType.created_at,
    "updated_at": ListType.updated_at,
}


def list_list_types(
    session: Session,
    page: PageParams,
    *,
    active: bool | None = None,
    q: str | None = None,
    entry_ref: str | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[ListType]]:
    stmt: Select[Any] = select(ListType)
    if active is not None:
        stmt = stmt.where(ListType.is_active.is_(active))
    if q:
        stmt = stmt.where(
            or_(
                ListType.code.icontains(q, autoescape=True),
                ListType.name_zh.icontains(q, autoescape=True),
                ListType.name_en.icontains(q, autoescape=True),
                ListType.source.icontains(q, autoescape=True),
            )
        )
    if entry_ref == "none":
        stmt = stmt.where(ListType.entry_ref.is_(None))
    elif entry_ref:
        stmt = stmt.where(ListType.entry_ref == entry_ref)
    stmt = stmt.order_by(*sort_clause(sort, _SORTS, [ListType.id]))
    return paginate(session, stmt, page)


def get_list_type(session: Session, type_id: int) -> ListType:
    row = session.get(ListType, type_id)
    if row is None:
        raise not_found("list type", type_id)
    return row


def _refuse_duplicate_code(session: Session, code: str, *, except_id: int | None = None) -> None:
    existing = session.scalars(select(ListType).where(ListType.code == code)).first()
    if existing is not None and existing.id != except_id:
        raise Conflict(
            f"清单类型代码“{code}”已存在 / list type code {code!r} is already used",
            existing_id=existing.id,
            existing_url=f"/api/v1/list-types/{existing.id}",
        )


def create_list_type(session: Session, data: ListTypeCreate) -> ListType:
    _refuse_duplicate_code(session, data.code)
    row = ListType(
        code=data.code,
        name_zh=data.name_zh,
        name_en=data.name_en,
        description=data.description,
        source=data.source,
        entry_ref=data.entry_ref,
        fields=[f.stored() for f in data.fields],
        is_active=data.is_active,
    )
    session.add(row)
    session.flush()
    return row


def _refit_entries(
    session: Session, list_type: ListType, fields: list[dict[str, Any]], entry_ref: str | None
) -> None:
    """Check every existing entry against the new definition; 409 if any would not fit.

    When all fit, entries whose stored form changes (e.g. an integer field that became
    decimal) are rewritten in the new form.
    """
    specs = parse_fields(fields)
    entries = session.scalars(
        select(ListEntry)
        .join(ChainList, ChainList.id == ListEntry.list_id)
        .where(ChainList.list_type_id == list_type.id)
        .order_by(ListEntry.id)
    ).all()
    conflicts: list[dict[str, Any]] = []
    rewrites: list[tuple[ListEntry, dict[str, Any]]] = []
    for entry in entries:
        normalised, errors = validate_attributes(specs, entry.attributes or {})
        problems = [f"{e.field}: {e.message}" for e in errors]
        for kind, column in REF_COLUMNS.items():
            if getattr(entry, column) is not None and kind != entry_ref:
                problems.append(
                    f"{column}: 条目引用了{kind}，新定义不允许 / references a {kind}, "
                    "which the new definition does not allow"
                )
        if problems:
            conflicts.append({"entry_id": entry.id, "list_id": entry.list_id, "errors": problems})
        elif normalised != (entry.attributes or {}):
            rewrites.append((entry, normalised))
    if conflicts:
        n = len(conflicts)
        raise Conflict(
            f"{n}条已有条目不符合新的字段定义 / {n} existing entries would not fit the new "
            "definition; change or remove them first",
            conflicting_entries=n,
            examples=conflicts[:10],
        )
    for entry, normalised in rewrites:
        entry.attributes = normalised


def update_list_type(
    session: Session, type_id: int, data: ListTypeUpdate, if_match: str | None
) -> ListType:
    row = get_list_type(session, type_id)
    check_if_match(if_match, row)
    changes = data.model_dump(exclude_unset=True)
    for required in ("code", "name_zh", "name_en", "is_active", "fields"):
        if required in changes and changes[required] is None:
            raise ValidationProblem.for_field(required, "不能为空 / cannot be null")
    if "code" in changes and changes["code"] != row.code:
        _refuse_duplicate_code(session, changes["code"], except_id=row.id)

    new_fields = (
        [f.stored() for f in data.fields or []] if "fields" in changes else list(row.fields or [])
    )
    new_ref = changes.get("entry_ref", row.entry_ref)
    if new_fields != list(row.fields or []) or new_ref != row.entry_ref:
        _refit_entries(session, row, new_fields, new_ref)

    for name in ("code", "name_zh", "name_en", "description", "source", "is_active"):
        if name in changes:
            setattr(row, name, changes[name])
    if "entry_ref" in changes:
        row.entry_ref = new_ref
    if "fields" in changes:
        row.fields = new_fields
    session.flush()
    return row
