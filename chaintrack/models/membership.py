"""Chain memberships: an enterprise on a chain (optionally on a map node) in a role.

Ending a membership sets ``ended_on``; rows are kept as the chain's history.
A chain-master enterprise (链主) is a membership with role ``chain_master``.

One enterprise cannot hold two memberships of the same chain, node and role whose
periods ``[started_on, ended_on)`` overlap. The service checks it (and names the row in
the way); on PostgreSQL an exclusion constraint also holds it against concurrent
writers, which the check alone cannot see.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from chaintrack.models.base import Base, TimestampMixin, VersionedMixin, enum_type
from chaintrack.models.enums import MembershipRole

if TYPE_CHECKING:
    from chaintrack.models.chain import Chain
    from chaintrack.models.enterprise import Enterprise
    from chaintrack.models.map import MapNode

#: The exclusion constraint that refuses overlapping memberships on PostgreSQL.
MEMBERSHIP_OVERLAP = "ex_memberships_no_overlap"


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
        # PostgreSQL only (needs btree_gist for the = parts). A membership without a node
        # counts as node 0, so two chain-level memberships collide as the service's check
        # says; ended_on is exclusive and NULL means open-ended, as daterange's "[)" does.
        ExcludeConstraint(
            ("enterprise_id", "="),
            ("chain_id", "="),
            ("role", "="),
            (text("COALESCE(node_id, 0)"), "="),
            (text("daterange(started_on, ended_on, '[)')"), "&&"),
            name=MEMBERSHIP_OVERLAP,
            using="gist",
        ).ddl_if(dialect="postgresql"),
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
