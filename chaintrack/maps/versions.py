"""Published map versions (图谱1.0 → 2.0): frozen snapshots and the diff between two.

A snapshot is plain JSON: ``{"nodes": [...], "relations": [...]}`` with every
field a reader needs to redraw the map as it stood. Nodes are matched across
versions by id; relations by (from_node_id, to_node_id, kind).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from chaintrack.chains.service import require_chain
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.errors import Conflict, FieldError, NotFound, not_found
from chaintrack.history import office_today
from chaintrack.models import MapNode, MapRelation, MapVersion

NODE_FIELDS = (
    "id",
    "parent_id",
    "code",
    "name_zh",
    "name_en",
    "kind",
    "stage",
    "assessment",
    "gap_kind",
    "description",
    "position",
)
RELATION_FIELDS = ("id", "from_node_id", "to_node_id", "kind", "description")


def _plain(value: Any) -> Any:
    """Enum members as their stored string, everything else as is (JSON-safe)."""
    return value.value if hasattr(value, "value") else value


def live_snapshot(session: Session, chain_id: int) -> dict[str, Any]:
    """The chain's current map as snapshot JSON (two statements)."""
    nodes = session.scalars(
        select(MapNode).where(MapNode.chain_id == chain_id).order_by(MapNode.position, MapNode.id)
    ).all()
    relations = session.scalars(
        select(MapRelation).where(MapRelation.chain_id == chain_id).order_by(MapRelation.id)
    ).all()
    return {
        "nodes": [{f: _plain(getattr(n, f)) for f in NODE_FIELDS} for n in nodes],
        "relations": [{f: _plain(getattr(r, f)) for f in RELATION_FIELDS} for r in relations],
    }


def publish(session: Session, chain_id: int, data: dict[str, Any]) -> MapVersion:
    require_chain(session, chain_id)
    label = data.get("label")
    if label:
        same = session.scalars(
            select(MapVersion).where(MapVersion.chain_id == chain_id, MapVersion.label == label)
        ).first()
        if same is not None:
            raise Conflict(
                f"版本名称“{label}”已被第 {same.number} 版使用 / label {label!r} is already "
                f"used by version {same.number}",
                errors=[
                    FieldError(location="body", field="label", message="名称已被使用 / label taken")
                ],
                existing_id=same.id,
                existing_number=same.number,
            )
    latest = session.scalar(
        select(func.max(MapVersion.number)).where(MapVersion.chain_id == chain_id)
    )
    version = MapVersion(
        chain_id=chain_id,
        number=(latest or 0) + 1,
        label=label,
        published_on=data.get("published_on") or office_today(),
        note=data.get("note"),
        snapshot=live_snapshot(session, chain_id),
    )
    session.add(version)
    session.flush()
    return version


VERSION_SORTS: dict[str, Any] = {
    "number": MapVersion.number,
    "published_on": MapVersion.published_on,
    "published_at": MapVersion.published_at,
}


def list_versions(
    session: Session, chain_id: int, sort: str | None, page: PageParams
) -> tuple[int, Sequence[MapVersion]]:
    require_chain(session, chain_id)
    stmt: Select[Any] = select(MapVersion).where(MapVersion.chain_id == chain_id)
    stmt = stmt.order_by(*sort_clause(sort, VERSION_SORTS, [MapVersion.number.desc()]))
    return paginate(session, stmt, page)


def get_version(session: Session, version_id: int) -> MapVersion:
    version = session.get(MapVersion, version_id)
    if version is None:
        raise not_found("map version", version_id)
    return version


def _version_missing(chain_id: int, number: int, field: str) -> NotFound:
    return NotFound(
        f"产业链 {chain_id} 没有第 {number} 版图谱 / chain {chain_id} has no map version {number}",
        errors=[FieldError(location="query", field=field, message="版本不存在 / no such version")],
        entity="map version",
        key=f"{chain_id}#{number}",
    )


def _side(version: MapVersion | None) -> dict[str, Any]:
    if version is None:
        return {"number": None, "label": "当前图谱 / live map", "published_on": None}
    return {"number": version.number, "label": version.label, "published_on": version.published_on}


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    old_nodes = {n["id"]: n for n in old.get("nodes", [])}
    new_nodes = {n["id"]: n for n in new.get("nodes", [])}

    added = [n for i, n in new_nodes.items() if i not in old_nodes]
    removed = [n for i, n in old_nodes.items() if i not in new_nodes]
    reassessed: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    renamed: list[dict[str, Any]] = []
    for node_id, was in old_nodes.items():
        now = new_nodes.get(node_id)
        if now is None:
            continue
        if (was.get("assessment"), was.get("gap_kind")) != (
            now.get("assessment"),
            now.get("gap_kind"),
        ):
            reassessed.append(
                {
                    "id": node_id,
                    "code": now["code"],
                    "name_zh": now["name_zh"],
                    "old_assessment": was.get("assessment"),
                    "new_assessment": now.get("assessment"),
                    "old_gap_kind": was.get("gap_kind"),
                    "new_gap_kind": now.get("gap_kind"),
                }
            )
        if was.get("parent_id") != now.get("parent_id"):
            old_parent = old_nodes.get(was.get("parent_id"))
            new_parent = new_nodes.get(now.get("parent_id"))
            moved.append(
                {
                    "id": node_id,
                    "code": now["code"],
                    "name_zh": now["name_zh"],
                    "old_parent_id": was.get("parent_id"),
                    "new_parent_id": now.get("parent_id"),
                    "old_parent_code": old_parent["code"] if old_parent else None,
                    "new_parent_code": new_parent["code"] if new_parent else None,
                }
            )
        if (was["code"], was["name_zh"], was.get("name_en")) != (
            now["code"],
            now["name_zh"],
            now.get("name_en"),
        ):
            renamed.append(
                {
                    "id": node_id,
                    "old_code": was["code"],
                    "new_code": now["code"],
                    "old_name_zh": was["name_zh"],
                    "new_name_zh": now["name_zh"],
                    "old_name_en": was.get("name_en"),
                    "new_name_en": now.get("name_en"),
                }
            )

    def _key(r: dict[str, Any]) -> tuple[int, int, str]:
        return (r["from_node_id"], r["to_node_id"], r["kind"])

    old_rel = {_key(r): r for r in old.get("relations", [])}
    new_rel = {_key(r): r for r in new.get("relations", [])}
    rel_added = [r for k, r in new_rel.items() if k not in old_rel]
    rel_removed = [r for k, r in old_rel.items() if k not in new_rel]

    return {
        "nodes_added": added,
        "nodes_removed": removed,
        "nodes_reassessed": reassessed,
        "nodes_moved": moved,
        "nodes_renamed": renamed,
        "relations_added": rel_added,
        "relations_removed": rel_removed,
        "summary": {
            "nodes_added": len(added),
            "nodes_removed": len(removed),
            "nodes_reassessed": len(reassessed),
            "nodes_moved": len(moved),
            "nodes_renamed": len(renamed),
            "relations_added": len(rel_added),
            "relations_removed": len(rel_removed),
        },
    }


def diff(
    session: Session, chain_id: int, from_number: int, to_number: int | None
) -> dict[str, Any]:
    """Compare version ``from_number`` with ``to_number`` (or the live map when None)."""
    require_chain(session, chain_id)
    wanted = {from_number} | ({to_number} if to_number is not None else set())
    found = {
        v.number: v
        for v in session.scalars(
            select(MapVersion).where(MapVersion.chain_id == chain_id, MapVersion.number.in_(wanted))
        )
    }
    if from_number not in found:
        raise _version_missing(chain_id, from_number, "from_number")
    old_version = found[from_number]
    if to_number is None:
        new_version = None
        new_snapshot = live_snapshot(session, chain_id)
    else:
        if to_number not in found:
            raise _version_missing(chain_id, to_number, "to_number")
        new_version = found[to_number]
        new_snapshot = new_version.snapshot
    return {
        "chain_id": chain_id,
        "from_version": _side(old_version),
        "to_version": _side(new_version),
        **diff_snapshots(old_version.snapshot, new_snapshot),
    }
