"""attraction: investment attraction leads, their nodes, dated steps and funds by month

The entries of the 招商目标企业清单 (list type ``attraction_targets``) become leads at
线索 on the same chain and node; the entries themselves are kept (history is kept) and
the lead's note names the entry it came from.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 16:07:20.522047
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from chaintrack.models.base import ExactDecimal, JSONType, UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attraction_leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=200), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("origin", sa.String(length=64), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "chain_master",
                "expo",
                "overseas_office",
                "by_business",
                "other",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("intended_investment", ExactDecimal(20, 4), nullable=False),
        sa.Column("responsible_unit", sa.String(length=128), nullable=False),
        sa.Column("responsible_person", sa.String(length=64), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "lead",
                "contact",
                "visit",
                "negotiation",
                "signed",
                "landed",
                "started",
                "terminated",
                name="stage",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("stage_on", sa.Date(), nullable=False),
        sa.Column(
            "terminated_from",
            sa.Enum(
                "lead",
                "contact",
                "visit",
                "negotiation",
                "signed",
                "landed",
                "started",
                "terminated",
                name="terminated_from",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("termination_reason", sa.Text(), nullable=True),
        sa.Column("signed_amount", ExactDecimal(20, 4), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            UTCDateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTCDateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(stage = 'terminated') = (terminated_from IS NOT NULL)",
            name=op.f("ck_attraction_leads_terminated_state"),
        ),
        sa.CheckConstraint(
            "intended_investment >= 0", name=op.f("ck_attraction_leads_intended_non_negative")
        ),
        sa.CheckConstraint(
            "signed_amount IS NULL OR signed_amount >= 0",
            name=op.f("ck_attraction_leads_signed_non_negative"),
        ),
        sa.CheckConstraint(
            "uscc IS NOT NULL OR origin IS NOT NULL",
            name=op.f("ck_attraction_leads_uscc_or_origin"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id", "project_id"],
            ["projects.chain_id", "projects.id"],
            name="fk_attraction_leads_project_same_chain",
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"], ["chains.id"], name=op.f("fk_attraction_leads_chain_id_chains")
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_attraction_leads_enterprise_id_enterprises"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attraction_leads")),
        sa.UniqueConstraint("chain_id", "id", name=op.f("uq_attraction_leads_chain_id_id")),
    )
    with op.batch_alter_table("attraction_leads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attraction_leads_chain_id"), ["chain_id"], unique=False
        )
        batch_op.create_index(
            "ix_attraction_leads_chain_stage", ["chain_id", "stage"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attraction_leads_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_attraction_leads_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_attraction_leads_stage"), ["stage"], unique=False)
        batch_op.create_index(batch_op.f("ix_attraction_leads_uscc"), ["uscc"], unique=False)

    op.create_table(
        "attraction_funds",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("amount", ExactDecimal(20, 4), nullable=False),
        sa.Column(
            "created_at",
            UTCDateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            UTCDateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_attraction_funds_amount_non_negative")),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["attraction_leads.id"],
            name=op.f("fk_attraction_funds_lead_id_attraction_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "period", name=op.f("pk_attraction_funds")),
    )
    op.create_table(
        "attraction_lead_nodes",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_id", "lead_id"],
            ["attraction_leads.chain_id", "attraction_leads.id"],
            name="fk_attraction_lead_nodes_lead_same_chain",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chain_id", "node_id"],
            ["map_nodes.chain_id", "map_nodes.id"],
            name="fk_attraction_lead_nodes_node_same_chain",
        ),
        sa.PrimaryKeyConstraint("lead_id", "node_id", name=op.f("pk_attraction_lead_nodes")),
    )
    with op.batch_alter_table("attraction_lead_nodes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attraction_lead_nodes_node_id"), ["node_id"], unique=False
        )

    op.create_table(
        "attraction_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_stage",
            sa.Enum(
                "lead",
                "contact",
                "visit",
                "negotiation",
                "signed",
                "landed",
                "started",
                "terminated",
                name="from_stage",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_stage",
            sa.Enum(
                "lead",
                "contact",
                "visit",
                "negotiation",
                "signed",
                "landed",
                "started",
                "terminated",
                name="to_stage",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=True),
        sa.Column("next_contact_on", sa.Date(), nullable=True),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["attraction_leads.id"],
            name=op.f("fk_attraction_steps_lead_id_attraction_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_attraction_steps_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attraction_steps")),
    )
    with op.batch_alter_table("attraction_steps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attraction_steps_lead", ["lead_id", "happened_on", "id"], unique=False
        )

    _move_attraction_list_entries()


def _move_attraction_list_entries() -> None:
    """Each attraction-target list entry becomes a lead (stage 线索) on its chain and node."""
    bind = op.get_bind()
    types = sa.table("list_types", sa.column("id", sa.Integer), sa.column("code", sa.String))
    lists = sa.table("chain_lists", sa.column("id", sa.Integer), sa.column("list_type_id"))
    entries = sa.table(
        "list_entries",
        sa.column("id", sa.Integer),
        sa.column("list_id", sa.Integer),
        sa.column("chain_id", sa.Integer),
        sa.column("node_id", sa.Integer),
        sa.column("title", sa.String),
        sa.column("attributes", JSONType),
        sa.column("note", sa.Text),
        sa.column("created_at", UTCDateTime()),
    )
    leads = sa.table(
        "attraction_leads",
        sa.column("id", sa.Integer),
        sa.column("chain_id", sa.Integer),
        sa.column("company_name", sa.String),
        sa.column("origin", sa.String),
        sa.column("source", sa.String),
        sa.column("intended_investment", ExactDecimal(20, 4)),
        sa.column("responsible_unit", sa.String),
        sa.column("responsible_person", sa.String),
        sa.column("stage", sa.String),
        sa.column("stage_on", sa.Date),
        sa.column("note", sa.Text),
        sa.column("version", sa.Integer),
    )
    lead_nodes = sa.table(
        "attraction_lead_nodes",
        sa.column("lead_id", sa.Integer),
        sa.column("node_id", sa.Integer),
        sa.column("chain_id", sa.Integer),
    )
    steps = sa.table(
        "attraction_steps",
        sa.column("lead_id", sa.Integer),
        sa.column("to_stage", sa.String),
        sa.column("happened_on", sa.Date),
        sa.column("actor", sa.String),
        sa.column("summary", sa.Text),
        sa.column("recorded_at", UTCDateTime()),
    )
    rows = bind.execute(
        sa.select(entries)
        .join(lists, lists.c.id == entries.c.list_id)
        .join(types, types.c.id == lists.c.list_type_id)
        .where(types.c.code == "attraction_targets")
        .order_by(entries.c.id)
    ).all()
    now = dt.datetime.now(dt.UTC)
    for row in rows:
        attributes: dict[str, Any] = row.attributes or {}
        name = str(attributes.get("target_enterprise") or row.title)[:200]
        status = attributes.get("contact_status")
        note = f"由招商目标企业清单条目 {row.id}（{row.title}）迁移"
        if status:
            note += f"；对接进展：{status}"
        if attributes.get("priority"):
            note += f"；优先级：{attributes['priority']}"
        if row.note:
            note += f"；{row.note}"
        found_on = (row.created_at or now).date()
        lead_id = bind.execute(
            leads.insert()
            .values(
                chain_id=row.chain_id,
                company_name=name,
                origin="待补充（清单迁移）",
                source="other",
                intended_investment=0,
                responsible_unit="待补充",
                responsible_person="待补充",
                stage="lead",
                stage_on=found_on,
                note=note,
                version=1,
            )
            .returning(leads.c.id)
        ).scalar_one()
        if row.node_id is not None:
            bind.execute(
                lead_nodes.insert().values(
                    lead_id=lead_id, node_id=row.node_id, chain_id=row.chain_id
                )
            )
        bind.execute(
            steps.insert().values(
                lead_id=lead_id,
                to_stage="lead",
                happened_on=found_on,
                actor="清单迁移",
                summary=note,
                recorded_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("attraction_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_attraction_steps_lead")

    op.drop_table("attraction_steps")
    with op.batch_alter_table("attraction_lead_nodes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attraction_lead_nodes_node_id"))

    op.drop_table("attraction_lead_nodes")
    op.drop_table("attraction_funds")
    with op.batch_alter_table("attraction_leads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attraction_leads_uscc"))
        batch_op.drop_index(batch_op.f("ix_attraction_leads_stage"))
        batch_op.drop_index(batch_op.f("ix_attraction_leads_project_id"))
        batch_op.drop_index(batch_op.f("ix_attraction_leads_enterprise_id"))
        batch_op.drop_index("ix_attraction_leads_chain_stage")
        batch_op.drop_index(batch_op.f("ix_attraction_leads_chain_id"))

    op.drop_table("attraction_leads")
