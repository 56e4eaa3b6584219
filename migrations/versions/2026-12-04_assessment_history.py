"""assessment_history: earlier values of targets and of annual tasks

A target's value before a change or a deletion, and a task's title, owner, deadline
and evidence before a change, are kept with the span they were on record, so that
scores and task lists as of a past day read what was on record then.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 16:53:58.512930
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chaintrack.models.base import ExactDecimal, JSONType, UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessment_target_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=True),
        sa.Column("indicator_code", sa.String(length=32), nullable=False),
        sa.Column(
            "subject_kind",
            sa.Enum(
                "chain",
                "city",
                name="subject_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("chain_id", sa.Integer(), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("value", ExactDecimal(20, 4), nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_target_revisions")),
    )
    with op.batch_alter_table("assessment_target_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assessment_target_revisions_target_id"), ["target_id"], unique=False
        )
        batch_op.create_index(
            "ix_assessment_target_revisions_year", ["year", "subject_kind"], unique=False
        )

    op.create_table(
        "annual_task_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_unit", sa.String(length=128), nullable=False),
        sa.Column("owner_person", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evidence_files", JSONType, nullable=False),
        sa.Column("valid_from", UTCDateTime(), nullable=False),
        sa.Column("valid_until", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["annual_tasks.id"],
            name=op.f("fk_annual_task_revisions_task_id_annual_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_task_revisions")),
    )
    with op.batch_alter_table("annual_task_revisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_annual_task_revisions_task_id"), ["task_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("annual_task_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annual_task_revisions_task_id"))

    op.drop_table("annual_task_revisions")
    with op.batch_alter_table("assessment_target_revisions", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_target_revisions_year")
        batch_op.drop_index(batch_op.f("ix_assessment_target_revisions_target_id"))

    op.drop_table("assessment_target_revisions")
