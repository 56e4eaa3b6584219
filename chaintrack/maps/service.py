"""Rules for map nodes and relations: same-chain references, unique codes, no cycles.

Services flush, never commit (the request's session commits). Every write
resolves the chain it touches (``node.chain_id`` / ``chain_id``), so a later
per-chain permission check has one place to hook in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.orm import Session

from chaintrack.chains.service import require_chain
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.models import Chain, ListEntry, MapNode, MapRelation, Membership, ProjectTarget
from chaintrack.models.enums import Assessment, GapKind, NodeKind, RelationKind, Stage

GAP_ASSESSMENTS = frozenset({Assessment.WEAK, Assessment.MISSING})
# Columns a PATCH may not set to null.
NOT_NULLABLE = ("code", "name_zh", "kind", "stage", "position")


# ---------------------------------------------------------------- look-ups


def get_chain(session: Session, chain_id: int) -> Chain:
    chain = session.get(Chain, chain_id)
    if chain is None:
        raise not_found("chain", chain_id)
    return chain


def get_node(session: Session, node_id: int) -> MapNode:
    node = session.get(MapNode, node_id)
    if node is None:
        raise not_found("map node", node_id)
    return node


def get_relation(session: Session, relation_id: int) -> MapRelation:
    relation = session.get(MapRelation, relation_id)
    if relation is None:
        raise not_found("map relation", relation_id)
    return relation


def node_of_chain(session: Session, chain_id: int, node_id: int, field: str) -> MapNode:
    """The referenced node, which must exist and sit on ``chain_id`` (422 naming ``field``)."""
    node = session.get(MapNode, node_id)
    if node is None:
        raise ValidationProblem.for_field(
            field, f"节点 {node_id} 不存在 / map node {node_id} does not exist", code="unknown"
        )
    if node.chain_id != chain_id:
        raise ValidationProblem.for_field(
            field,
            f"节点 {node_id}（{node.code}）属于产业链 {node.chain_id}，"
            f"不能引用到产业链 {chain_id} / "
            f"map node {node_id} belongs to chain {node.chain_id}, not chain {chain_id}",
            code="cross_chain",
        )
    return node


def _check_gap(assessment: Assessment | None, gap_kind: GapKind | None) -> None:
    if gap_kind is not None and assessment not in GAP_ASSESSMENTS:
        shown = assessment.value if assessment else "null"
        raise ValidationProblem.for_field(
            "gap_kind",
            f"只有弱链（weak）或缺链（missing）节点可以填写缺口类型，当前研判为 {shown}；"
            f"请将 gap_kind 置为 null / gap_kind is only allowed when assessment is weak or "
            f"missing (it is {shown}); send gap_kind: null",
            code="gap_not_allowed",
        )


def _check_code_free(
    session: Session, chain_id: int, code: str, exclude_id: int | None = None
) -> None:
    stmt = select(MapNode).where(MapNode.chain_id == chain_id, MapNode.code == code)
    if exclude_id is not None:
        stmt = stmt.where(MapNode.id != exclude_id)
    existing = session.scalars(stmt).first()
    if existing is not None:
        raise Conflict(
            f"产业链 {chain_id} 已有编码为 {code} 的节点（id {existing.id}，{existing.name_zh}）/ "
            f"chain {chain_id} already has a node with code {code} (id {existing.id})",
            errors=[
                FieldError(
                    location="body",
                    field="code",
                    message="编码已被使用 / code taken",
                    code="duplicate",
                )
            ],
            existing_id=existing.id,
            existing={"id": existing.id, "code": existing.code, "name_zh": existing.name_zh},
        )


# ---------------------------------------------------------------- nodes


def create_node(session: Session, chain_id: int, data: dict[str, Any]) -> MapNode:
    require_chain(session, chain_id)
    if data.get("parent_id") is not None:
        node_of_chain(session, chain_id, data["parent_id"], "parent_id")
    _check_gap(data.get("assessment"), data.get("gap_kind"))
    _check_code_free(session, chain_id, data["code"])
    node = MapNode(chain_id=chain_id, **data)
    session.add(node)
    session.flush()
    return node


@dataclass(frozen=True)
class NodeFilters:
    stage: Stage | None = None
    assessment: Assessment | None = None
    unassessed: bool | None = None
    kind: NodeKind | None = None
    gap_kind: GapKind | None = None
    parent_id: int | None = None
    top_level: bool | None = None
    q: str | None = None


NODE_SORTS: dict[str, Any] = {
    "position": MapNode.position,
    "code": MapNode.code,
    "name_zh": MapNode.name_zh,
    "stage": MapNode.stage,
    "created_at": MapNode.created_at,
    "updated_at": MapNode.updated_at,
    "id": MapNode.id,
}


def list_nodes(
    session: Session, chain_id: int, filters: NodeFilters, sort: str | None, page: PageParams
) -> tuple[int, Sequence[MapNode]]:
    require_chain(session, chain_id)
    stmt: Select[Any] = select(MapNode).where(MapNode.chain_id == chain_id)
    if filters.stage is not None:
        stmt = stmt.where(MapNode.stage == filters.stage)
    if filters.assessment is not None:
        stmt = stmt.where(MapNode.assessment == filters.assessment)
    if filters.unassessed is not None:
        assessed = MapNode.assessment
        stmt = stmt.where(assessed.is_(None) if filters.unassessed else assessed.is_not(None))
    if filters.kind is not None:
        stmt = stmt.where(MapNode.kind == filters.kind)
    if filters.gap_kind is not None:
        stmt = stmt.where(MapNode.gap_kind == filters.gap_kind)
    if filters.parent_id is not None:
        stmt = stmt.where(MapNode.parent_id == filters.parent_id)
    if filters.top_level is not None:
        parent = MapNode.parent_id
        stmt = stmt.where(parent.is_(None) if filters.top_level else parent.is_not(None))
    if filters.q:
        q = filters.q.strip()
        stmt = stmt.where(
            or_(
                MapNode.code.icontains(q, autoescape=True),
                MapNode.name_zh.icontains(q, autoescape=True),
                MapNode.name_en.icontains(q, autoescape=True),
            )
        )
    stmt = stmt.order_by(*sort_clause(sort, NODE_SORTS, [MapNode.position, MapNode.id]))
    return paginate(session, stmt, page)


def _cycle_path(session: Session, node: MapNode, new_parent_id: int) -> list[dict[str, Any]] | None:
    """The path node → … → new parent if the move would make a cycle, else None.

    One statement: the chain's (id, parent_id, code, name) rows, walked in Python.
    """
    rows = session.execute(
        select(MapNode.id, MapNode.parent_id, MapNode.code, MapNode.name_zh).where(
            MapNode.chain_id == node.chain_id
        )
    ).all()
    by_id = {r.id: r for r in rows}
    walk: list[Any] = []
    current: int | None = new_parent_id
    seen: set[int] = set()
    while current is not None and current not in seen:
        seen.add(current)
        row = by_id.get(current)
        if row is None:
            return None
        walk.append(row)
        if current == node.id:
            return [{"id": r.id, "code": r.code, "name_zh": r.name_zh} for r in reversed(walk)]
        current = row.parent_id
    return None


def update_node(session: Session, node: MapNode, changes: dict[str, Any]) -> MapNode:
    for field in NOT_NULLABLE:
        if field in changes and changes[field] is None:
            raise ValidationProblem.for_field(field, "不能为空 / may not be null", code="null")

    if "parent_id" in changes and changes["parent_id"] != node.parent_id:
        new_parent_id = changes["parent_id"]
        if new_parent_id is not None:
            if new_parent_id != node.id:
                node_of_chain(session, node.chain_id, new_parent_id, "parent_id")
            path = _cycle_path(session, node, new_parent_id)
            if path is not None:
                shown = " → ".join(p["code"] for p in path)
                raise Conflict(
                    f"不能把节点 {node.code} 移到它自己或其下级节点之下（{shown} → {node.code}）/ "
                    f"moving node {node.code} under {path[-1]['code']} would make a cycle",
                    errors=[
                        FieldError(
                            location="body",
                            field="parent_id",
                            message="新的上级节点是本节点或其下级 / the new parent is the node "
                            "itself or one of its descendants",
                            code="cycle",
                        )
                    ],
                    path=path,
                )

    if "code" in changes and changes["code"] != node.code:
        _check_code_free(session, node.chain_id, changes["code"], exclude_id=node.id)

    assessment = changes.get("assessment", node.assessment)
    gap_kind = changes.get("gap_kind", node.gap_kind)
    _check_gap(assessment, gap_kind)

    for field, value in changes.items():
        setattr(node, field, value)
    session.flush()
    return node


def node_references(session: Session, node_id: int) -> dict[str, int]:
    """What still points at a node, counted in one statement."""

    def _count(model: Any, column: Any) -> Any:
        return select(func.count()).select_from(model).where(column == node_id).scalar_subquery()

    row = session.execute(
        select(
            _count(MapNode, MapNode.parent_id).label("children"),
            _count(Membership, Membership.node_id).label("memberships"),
            _count(ProjectTarget, ProjectTarget.node_id).label("project_targets"),
            _count(ListEntry, ListEntry.node_id).label("list_entries"),
        )
    ).one()
    return {
        "children": row.children,
        "memberships": row.memberships,
        "project_targets": row.project_targets,
        "list_entries": row.list_entries,
    }


_REF_LABELS = {
    "children": "下级节点 / child nodes",
    "memberships": "企业登记（含已结束）/ memberships (incl. ended)",
    "project_targets": "项目目标 / project targets",
    "list_entries": "清单条目 / list entries",
}


def delete_node(session: Session, node: MapNode) -> None:
    refs = node_references(session, node.id)
    blocking = {k: v for k, v in refs.items() if v}
    if blocking:
        shown = "，".join(f"{_REF_LABELS[k]} {v}" for k, v in blocking.items())
        raise Conflict(
            f"节点 {node.code} 仍被引用，不能删除：{shown} / node {node.code} is still referenced",
            references=refs,
        )
    session.execute(
        delete(MapRelation).where(
            or_(MapRelation.from_node_id == node.id, MapRelation.to_node_id == node.id)
        )
    )
    session.delete(node)
    session.flush()


# ---------------------------------------------------------------- relations


def create_relation(session: Session, chain_id: int, data: dict[str, Any]) -> MapRelation:
    require_chain(session, chain_id)
    node_of_chain(session, chain_id, data["from_node_id"], "from_node_id")
    node_of_chain(session, chain_id, data["to_node_id"], "to_node_id")
    if data["from_node_id"] == data["to_node_id"]:
        raise ValidationProblem.for_field(
            "to_node_id",
            "供应关系的两端不能是同一个节点 / a relation cannot join a node to itself",
            code="self_relation",
        )
    existing = session.scalars(
        select(MapRelation).where(
            MapRelation.from_node_id == data["from_node_id"],
            MapRelation.to_node_id == data["to_node_id"],
            MapRelation.kind == data["kind"],
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"该关系已存在（id {existing.id}）/ this relation already exists (id {existing.id})",
            existing_id=existing.id,
        )
    relation = MapRelation(chain_id=chain_id, **data)
    session.add(relation)
    session.flush()
    return relation


@dataclass(frozen=True)
class RelationFilters:
    node_id: int | None = None
    from_node_id: int | None = None
    to_node_id: int | None = None
    kind: RelationKind | None = None


RELATION_SORTS: dict[str, Any] = {
    "id": MapRelation.id,
    "from_node_id": MapRelation.from_node_id,
    "to_node_id": MapRelation.to_node_id,
    "kind": MapRelation.kind,
    "created_at": MapRelation.created_at,
}


def list_relations(
    session: Session,
    chain_id: int,
    filters: RelationFilters,
    sort: str | None,
    page: PageParams,
) -> tuple[int, Sequence[MapRelation]]:
    require_chain(session, chain_id)
    stmt: Select[Any] = select(MapRelation).where(MapRelation.chain_id == chain_id)
    if filters.node_id is not None:
        stmt = stmt.where(
            or_(
                MapRelation.from_node_id == filters.node_id,
                MapRelation.to_node_id == filters.node_id,
            )
        )
    if filters.from_node_id is not None:
        stmt = stmt.where(MapRelation.from_node_id == filters.from_node_id)
    if filters.to_node_id is not None:
        stmt = stmt.where(MapRelation.to_node_id == filters.to_node_id)
    if filters.kind is not None:
        stmt = stmt.where(MapRelation.kind == filters.kind)
    stmt = stmt.order_by(*sort_clause(sort, RELATION_SORTS, [MapRelation.id]))
    return paginate(session, stmt, page)


def delete_relation(session: Session, relation: MapRelation) -> None:
    session.delete(relation)
    session.flush()
