"""The whole map of a chain in a fixed number of statements.

1. the chain; 2. all its nodes; 3. current enterprise counts per node (one
grouped query); 4. all its relations. The tree is built in Python, so the
statement count does not grow with the size of the map.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from chaintrack.history import membership_current, office_today
from chaintrack.maps.service import get_chain
from chaintrack.models import MapNode, MapRelation, Membership
from chaintrack.models.enums import Assessment, Stage


def enterprise_counts(session: Session, chain_id: int, as_of: dt.date) -> dict[int, int]:
    """Distinct enterprises with a membership current at ``as_of``, per node."""
    rows = session.execute(
        select(Membership.node_id, func.count(distinct(Membership.enterprise_id)))
        .where(
            Membership.chain_id == chain_id,
            Membership.node_id.is_not(None),
            membership_current(as_of),
        )
        .group_by(Membership.node_id)
    ).all()
    return {node_id: count for node_id, count in rows}


def _label(value: Any) -> str | None:
    return value.label_zh if value is not None else None


def _node_dict(node: MapNode, count: int) -> dict[str, Any]:
    return {
        "id": node.id,
        "parent_id": node.parent_id,
        "code": node.code,
        "name_zh": node.name_zh,
        "name_en": node.name_en,
        "kind": node.kind,
        "kind_label": node.kind.label_zh,
        "stage": node.stage,
        "stage_label": node.stage.label_zh,
        "assessment": node.assessment,
        "assessment_label": _label(node.assessment),
        "gap_kind": node.gap_kind,
        "gap_kind_label": _label(node.gap_kind),
        "description": node.description,
        "position": node.position,
        "enterprise_count": count,
        "children": [],
    }


def chain_map(session: Session, chain_id: int, as_of: dt.date | None = None) -> dict[str, Any]:
    as_of = as_of or office_today()
    chain = get_chain(session, chain_id)
    nodes = session.scalars(
        select(MapNode).where(MapNode.chain_id == chain_id).order_by(MapNode.position, MapNode.id)
    ).all()
    counts = enterprise_counts(session, chain_id, as_of)
    relations = session.scalars(
        select(MapRelation).where(MapRelation.chain_id == chain_id).order_by(MapRelation.id)
    ).all()

    # Nodes arrive ordered by (position, id), so appending keeps every child list ordered.
    by_id = {n.id: _node_dict(n, counts.get(n.id, 0)) for n in nodes}
    roots_by_stage: dict[Stage, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes:
        item = by_id[node.id]
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        if parent is not None:
            parent["children"].append(item)
        else:
            roots_by_stage[node.stage].append(item)

    assessed = defaultdict(int, {a: 0 for a in Assessment})
    unassessed = 0
    for node in nodes:
        if node.assessment is None:
            unassessed += 1
        else:
            assessed[node.assessment] += 1

    return {
        "chain": chain,
        "as_of": as_of,
        "stages": [
            {"stage": s, "stage_label": s.label_zh, "nodes": roots_by_stage.get(s, [])}
            for s in Stage
        ],
        "relations": [
            {
                "id": r.id,
                "from_node_id": r.from_node_id,
                "to_node_id": r.to_node_id,
                "kind": r.kind,
                "kind_label": r.kind.label_zh,
                "description": r.description,
            }
            for r in relations
        ],
        "summary": {
            "nodes_total": len(nodes),
            "strong": assessed[Assessment.STRONG],
            "weak": assessed[Assessment.WEAK],
            "missing": assessed[Assessment.MISSING],
            "unassessed": unassessed,
            "nodes_with_enterprises": sum(1 for n in nodes if counts.get(n.id, 0) > 0),
            "relations_total": len(relations),
        },
    }
