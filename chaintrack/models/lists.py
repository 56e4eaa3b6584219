"""The N lists (N张清单): list types as data, lists per chain and period, entries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from chaintrack.models.base import Base, JSONType, TimestampMixin, VersionedMixin


class ListType(Base, TimestampMixin, VersionedMixin):
    """A kind of list in the catalogue, e.g. 重点项目清单.

    ``fields`` declares the attributes its entries carry: a list of
    ``{"name", "label", "type", "required", "choices"}`` (see FieldType).
    ``entry_ref`` says what an entry may point at (enterprise, project, node).
    """

    __tablename__ = "list_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(128), doc="Where this list is used.")
    entry_ref: Mapped[str | None] = mapped_column(String(16))
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint(
            "entry_ref IS NULL OR entry_ref IN ('enterprise', 'project', 'node')",
            name="entry_ref",
        ),
    )


class ChainList(Base, TimestampMixin, VersionedMixin):
    """One list of one type for one chain and period (usually a year: "2025")."""

    __tablename__ = "chain_lists"
    __table_args__ = (
        UniqueConstraint("chain_id", "list_type_id", "period"),
        UniqueConstraint("chain_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    list_type_id: Mapped[int] = mapped_column(ForeignKey("list_types.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class ListEntry(Base, TimestampMixin, VersionedMixin):
    """An entry: a reference to an enterprise, project or map node, or free-standing."""

    __tablename__ = "list_entries"
    __table_args__ = (
        ForeignKeyConstraint(
            ["chain_id", "list_id"],
            ["chain_lists.chain_id", "chain_lists.id"],
            name="fk_list_entries_list_same_chain",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["chain_id", "node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_list_entries_node_same_chain",
        ),
        ForeignKeyConstraint(
            ["chain_id", "project_id"],
            ["projects.chain_id", "projects.id"],
            name="fk_list_entries_project_same_chain",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(Integer, index=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(200))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(Integer, index=True)
    node_id: Mapped[int | None] = mapped_column(Integer, index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
