"""List entries (清单条目): attributes checked against the list type, references
checked against the list's chain. Services flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, select
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.lists.attributes import parse_fields, validate_attributes
from chaintrack.lists.schemas import EnterpriseRef, EntryCreate, EntryUpdate, NodeRef, ProjectRef
from chaintrack.lists.service import get_list
from chaintrack.lists.service_types import REF_COLUMNS
from chaintrack.models import (
    ChainList,
    Enterprise,
    ListEntry,
    ListType,
    MapNode,
    Membership,
    Project,
)
from chaintrack.models.base import utcnow

_KIND_ZH = {"enterprise": "企业", "project": "项目", "node": "图谱节点"}

# The entry and the display columns of what it references: one statement however
# many entries a page holds (outer joins, no per-row look-ups).
_ENTRY_COLUMNS = (
    ListEntry,
    Enterprise.name.label("enterprise_name"),
    Enterprise.uscc.label("enterprise_uscc"),
    Project.name.label("project_name"),
    Project.internal_code.label("project_code"),
    MapNode.code.label("node_code"),
    MapNode.name_zh.label("node_name"),
)


def _entry_select() -> Select[Any]:
    return (
        select(*_ENTRY_COLUMNS)
        .outerjoin(Enterprise, Enterprise.id == ListEntry.enterprise_id)
        .outerjoin(Project, Project.id == ListEntry.project_id)
        .outerjoin(MapNode, MapNode.id == ListEntry.node_id)
    )


@dataclass(frozen=True)
class EntryView:
    entry: ListEntry
    enterprise: EnterpriseRef | None
    project: ProjectRef | None
    node: NodeRef | None


def _view(row: Row[Any]) -> EntryView:
    e: ListEntry = row[0]
    return EntryView(
        entry=e,
        enterprise=(
            EnterpriseRef(id=e.enterprise_id, name=row.enterprise_name, uscc=row.enterprise_uscc)
            if e.enterprise_id is not None
            else None
        ),
        project=(
            ProjectRef(id=e.project_id, name=row.project_name, internal_code=row.project_code)
            if e.project_id is not None
            else None
        ),
        node=(
            NodeRef(id=e.node_id, code=row.node_code, name_zh=row.node_name)
            if e.node_id is not None
            else None
        ),
    )


def entry_view(session: Session, entry_id: int) -> EntryView:
    row = session.execute(_entry_select().where(ListEntry.id == entry_id)).first()
    if row is None:
        raise not_found("list entry", entry_id)
    return _view(row)


def get_entry(session: Session, entry_id: int) -> ListEntry:
    row = session.get(ListEntry, entry_id)
    if row is None:
        raise not_found("list entry", entry_id)
    return row


def list_entries(
    session: Session,
    list_id: int,
    page: PageParams,
    *,
    q: str | None = None,
    enterprise_id: int | None = None,
    project_id: int | None = None,
    node_id: int | None = None,
) -> tuple[int, list[EntryView]]:
    """A list's entries by position: three statements whatever the page size."""
    get_list(session, list_id)
    filters: list[ColumnElement[bool]] = [ListEntry.list_id == list_id]
    if q:
        filters.append(ListEntry.title.icontains(q, autoescape=True))
    if enterprise_id is not None:
        filters.append(ListEntry.enterprise_id == enterprise_id)
    if project_id is not None:
        filters.append(ListEntry.project_id == project_id)
    if node_id is not None:
        filters.append(ListEntry.node_id == node_id)
    stmt = _entry_select().where(*filters).order_by(ListEntry.position, ListEntry.id)
    total, rows = paginate(session, stmt, page, count=select(ListEntry.id).where(*filters))
    return total, [_view(r) for r in rows]


# --- checks ---------------------------------------------------------------------


def _ref_error(field: str, code: str, message: str) -> FieldError:
    return FieldError(location="body", field=field, message=message, code=code)


def _check_references(
    session: Session, chain_list: ChainList, list_type: ListType, refs: dict[str, int | None]
) -> list[FieldError]:
    """Errors for references (only those given in ``refs``) that the list cannot take."""
    errors: list[FieldError] = []
    chain_id = chain_list.chain_id
    allowed = list_type.entry_ref
    for kind, column in REF_COLUMNS.items():
        ref_id = refs.get(column)
        if ref_id is None:
            continue
        if kind != allowed:
            if allowed is None:
                msg = (
                    f"“{list_type.name_zh}”的条目不引用其他记录 / entries of this list type "
                    "do not reference enterprises, projects or nodes"
                )
            else:
                msg = (
                    f"“{list_type.name_zh}”的条目只能引用{_KIND_ZH[allowed]} / entries of this "
                    f"list type may only reference a {allowed} ({REF_COLUMNS[allowed]})"
                )
            errors.append(_ref_error(column, "reference_not_allowed", msg))
            continue
        exists, other_chain = _reference_state(session, kind, ref_id, chain_id)
        error = reference_error(
            kind,
            column,
            ref_id,
            exists=exists,
            on_chain=exists and other_chain is None,
            chain_id=chain_id,
            other_chain=other_chain,
        )
        if error is not None:
            errors.append(error)
    return errors


def _reference_state(
    session: Session, kind: str, ref_id: int, chain_id: int
) -> tuple[bool, int | None]:
    """Whether the referenced record exists, and the chain it is on instead of the list's
    (None: on the list's chain; an enterprise is when it holds a membership of it, ever,
    else it is off the chain: -1)."""
    if kind == "enterprise":
        if session.get(Enterprise, ref_id) is None:
            return False, None
        held = session.scalar(
            select(Membership.id)
            .where(Membership.enterprise_id == ref_id, Membership.chain_id == chain_id)
            .limit(1)
        )
        return True, None if held is not None else -1
    target = session.get(MapNode, ref_id) if kind == "node" else session.get(Project, ref_id)
    if target is None:
        return False, None
    return True, None if target.chain_id == chain_id else target.chain_id


def reference_error(
    kind: str,
    field: str,
    ref: object,
    *,
    exists: bool,
    on_chain: bool,
    chain_id: int | None = None,
    other_chain: int | None = None,
) -> FieldError | None:
    """The rule of an entry's reference (``ref``: its id, or the code an import gives):
    it must exist and be on the list's chain (an enterprise registered to it, a project or
    node of it). ``exists`` and ``on_chain`` are looked up by the caller, in bulk if it
    checks many."""
    what = _KIND_ZH[kind]
    if not exists:
        return _ref_error(
            field, "unknown_reference", f"{what}{ref}不存在 / {kind} {ref} does not exist"
        )
    if on_chain:
        return None
    if kind == "enterprise":
        return _ref_error(
            field,
            "not_on_chain",
            f"企业{ref}未登记在本产业链上 / enterprise {ref} is not on this list's chain"
            + (f" ({chain_id})" if chain_id is not None else "")
            + "; register a membership first",
        )
    other = f"（{other_chain}）" if other_chain is not None else ""
    ours = f"（{chain_id}）" if chain_id is not None else ""
    return _ref_error(
        field,
        "cross_chain",
        f"{what}{ref}属于另一条产业链{other}，不属于本清单的产业链{ours} / {kind} {ref} "
        f"belongs to chain {other_chain if other_chain is not None else 'another'}, not to "
        "this list's chain" + (f" {chain_id}" if chain_id is not None else ""),
    )


def _refuse_duplicate_reference(
    session: Session, list_id: int, refs: dict[str, int | None], except_id: int | None
) -> None:
    """An enterprise or project appears once per list (a node may carry several entries)."""
    for column in ("enterprise_id", "project_id"):
        ref_id = refs.get(column)
        if ref_id is None:
            continue
        col = getattr(ListEntry, column)
        stmt = select(ListEntry.id).where(ListEntry.list_id == list_id, col == ref_id)
        if except_id is not None:
            stmt = stmt.where(ListEntry.id != except_id)
        existing = session.scalar(stmt.limit(1))
        if existing is not None:
            raise Conflict(
                f"本清单已有引用该记录的条目（#{existing}） / this list already has an entry "
                f"for {column} {ref_id}",
                existing_id=existing,
                existing_url=f"/api/v1/list-entries/{existing}",
                field=column,
            )


def _validated(
    session: Session,
    chain_list: ChainList,
    attributes: dict[str, Any],
    refs: dict[str, int | None],
    except_id: int | None = None,
) -> dict[str, Any]:
    list_type = session.get(ListType, chain_list.list_type_id)
    assert list_type is not None  # foreign key
    normalised, errors = validate_attributes(parse_fields(list_type.fields), attributes)
    errors += _check_references(session, chain_list, list_type, refs)
    if errors:
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
        raise ValidationProblem(summary, errors=errors)
    _refuse_duplicate_reference(session, chain_list.id, refs, except_id)
    return normalised


# --- writes ---------------------------------------------------------------------


def create_entry(session: Session, list_id: int, data: EntryCreate) -> EntryView:
    chain_list = get_list(session, list_id)
    refs = {
        "enterprise_id": data.enterprise_id,
        "project_id": data.project_id,
        "node_id": data.node_id,
    }
    attributes = _validated(session, chain_list, data.attributes, refs)
    position = data.position
    if position is None:
        last = session.scalar(
            select(func.max(ListEntry.position)).where(ListEntry.list_id == list_id)
        )
        position = (last or 0) + 1
    entry = ListEntry(
        list_id=chain_list.id,
        chain_id=chain_list.chain_id,
        position=position,
        title=data.title,
        attributes=attributes,
        note=data.note,
        **refs,
    )
    session.add(entry)
    session.flush()
    return entry_view(session, entry.id)


def update_entry(
    session: Session, entry_id: int, data: EntryUpdate, if_match: str | None
) -> EntryView:
    entry = get_entry(session, entry_id)
    check_if_match(if_match, entry)
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    chain_list = get_list(session, entry.list_id)

    attributes = dict(entry.attributes or {})
    for name, value in (changes.get("attributes") or {}).items():
        if value is None:
            attributes.pop(name, None)
        else:
            attributes[name] = value
    # References that were sent are checked; unchanged ones stay as they are.
    sent_refs = {c: changes[c] for c in REF_COLUMNS.values() if c in changes}
    normalised = _validated(session, chain_list, attributes, sent_refs, except_id=entry.id)

    for name in ("title", "note", "position", *sent_refs):
        if name in changes:
            setattr(entry, name, changes[name])
    if normalised != (entry.attributes or {}):
        entry.attributes = normalised
    session.flush()
    return entry_view(session, entry.id)


def delete_entry(session: Session, entry_id: int, if_match: str | None) -> None:
    entry = get_entry(session, entry_id)
    check_if_match(if_match, entry)
    session.delete(entry)
    session.flush()


def reorder_entries(
    session: Session, list_id: int, entry_ids: list[int], if_match: str | None
) -> ChainList:
    """Positions 1..n in the given order; the ids must be exactly the list's entries.

    The list's version is bumped, so its ETag guards concurrent re-orderings.
    """
    chain_list = get_list(session, list_id)
    check_if_match(if_match, chain_list)
    entries = {
        e.id: e
        for e in session.scalars(select(ListEntry).where(ListEntry.list_id == list_id)).all()
    }
    seen: set[int] = set()
    repeated: set[int] = set()
    for i in entry_ids:
        (repeated if i in seen else seen).add(i)
    duplicates = sorted(repeated)
    missing = sorted(set(entries) - seen)
    unknown = sorted(seen - set(entries))
    if duplicates or missing or unknown:
        parts = []
        if duplicates:
            parts.append(f"重复 / repeated: {duplicates}")
        if missing:
            parts.append(f"缺少 / missing: {missing}")
        if unknown:
            parts.append(f"不属于本清单 / not in this list: {unknown}")
        problem = ValidationProblem.for_field(
            "entry_ids",
            "须恰好列出本清单的全部条目各一次 / must list every entry of this list exactly once; "
            + "; ".join(parts),
            code="entry_set_mismatch",
        )
        problem.extra.update(
            {"duplicate_ids": duplicates, "missing_ids": missing, "unknown_ids": unknown}
        )
        raise problem
    for position, entry_id in enumerate(entry_ids, start=1):
        if entries[entry_id].position != position:
            entries[entry_id].position = position
    chain_list.updated_at = utcnow()
    session.flush()
    return chain_list


def entries_of_node(session: Session, node_id: int, limit: int = 100) -> list[Row[Any]]:
    """(entry id, title, list id, list type name) of every list entry pointing at one map
    node, across the chain's lists (one statement; for the map picture's node panel)."""
    from chaintrack.models import ChainList, ListType

    return list(
        session.execute(
            select(ListEntry.id, ListEntry.title, ChainList.id, ListType.name_zh)
            .join(ChainList, ChainList.id == ListEntry.list_id)
            .join(ListType, ListType.id == ChainList.list_type_id)
            .where(ListEntry.node_id == node_id)
            .order_by(ChainList.id, ListEntry.position, ListEntry.id)
            .limit(limit)
        ).all()
    )
