"""Chain memberships: an enterprise on a chain (optionally on a map node) in a role.

Ending a membership sets ``ended_on``; rows are kept as the chain's history.
A chain-master enterprise (链主) is a membership with role ``chain_master``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Date, ForeignKey, ForeignKeyConstraint, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chaintrack.models.base import Base, TimestampMixin, VersionedMixin, enum_type
from chaintrack.models.enums import MembershipRole

if TYPE_CHECKING:
    from chaintrack.models.chain import Chain
    from chaintrack.models.enterprise import Enterprise
    from chaintrack.models.map import MapNode


class Membership(Base, TimestampMixin, VersionedMixin):
    __tablename__ = "memberships"
    __table_args__ = (
        ForeignKeyConstraint(
            ["chain_id", "node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_memberships_node_same_chain",
        ),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="period_order"),
        Index("ix_memberships_chain_role", "chain_id", "role"),
        Index("ix_memberships_enterprise_chain", "enterprise_id", "chain_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    node_id: Mapped[int | None] = mapped_column(Integer, index=True)
    role: Mapped[MembershipRole] = mapped_column(enum_type(MembershipRole, "role"))
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    # Load explicitly (joinedload / contains_eager): an accidental lazy load is an N+1.
    enterprise: Mapped[Enterprise] = relationship(lazy="raise")
    chain: Mapped[Chain] = relationship(lazy="raise")
    node: Mapped[MapNode | None] = relationship(
        primaryjoin="Membership.node_id == MapNode.id",
        foreign_keys=[node_id],
        viewonly=True,
        lazy="raise",
    )
