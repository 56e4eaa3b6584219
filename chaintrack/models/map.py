"""The chain map (产业链图谱): a tree of nodes, supply relations, published versions.

Nodes and relations carry their chain id and reference each other through
composite foreign keys on (chain_id, id), so the database itself refuses a
parent or a relation that crosses chains.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import (
    Base,
    JSONType,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    enum_type,
    utcnow,
)
from chaintrack.models.enums import Assessment, GapKind, NodeKind, RelationKind, Stage


class MapNode(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "map_nodes"
    __table_args__ = (
        UniqueConstraint("chain_id", "id"),
        UniqueConstraint("chain_id", "code"),
        ForeignKeyConstraint(
            ["chain_id", "parent_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_map_nodes_parent_same_chain",
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        CheckConstraint(
            "gap_kind IS NULL OR assessment IN ('weak', 'missing')", name="gap_only_on_weak"
        ),
        # Ids are never reused (SQLite would reuse the highest deleted one): published
        # map versions identify nodes by id, so a new node must not take a deleted one's.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    code: Mapped[str] = mapped_column(String(32))
    name_zh: Mapped[str] = mapped_column(String(128))
    name_en: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[NodeKind] = mapped_column(enum_type(NodeKind, "kind"))
    stage: Mapped[Stage] = mapped_column(enum_type(Stage, "stage"))
    assessment: Mapped[Assessment | None] = mapped_column(enum_type(Assessment, "assessment"))
    gap_kind: Mapped[GapKind | None] = mapped_column(enum_type(GapKind, "gap_kind"))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MapRelation(Base, TimestampMixin):
    """``from_node`` supplies (or otherwise serves) ``to_node`` on the same chain."""

    __tablename__ = "map_relations"
    __table_args__ = (
        UniqueConstraint("from_node_id", "to_node_id", "kind"),
        ForeignKeyConstraint(
            ["chain_id", "from_node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_map_relations_from_same_chain",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["chain_id", "to_node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_map_relations_to_same_chain",
            ondelete="CASCADE",
        ),
        CheckConstraint("from_node_id <> to_node_id", name="not_self"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    from_node_id: Mapped[int] = mapped_column(Integer, index=True)
    to_node_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[RelationKind] = mapped_column(
        enum_type(RelationKind, "kind"), default=RelationKind.SUPPLY
    )
    description: Mapped[str | None] = mapped_column(Text)


class MapVersion(Base):
    """A published, frozen snapshot of a chain's map ("图谱 1.0 → 2.0")."""

    __tablename__ = "map_versions"
    __table_args__ = (
        UniqueConstraint("chain_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str | None] = mapped_column(String(32), doc="e.g. 图谱2.0")
    published_on: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONType)
