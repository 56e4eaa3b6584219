"""assessment: annual task lists, indicators, targets, schemes, figures, adjustments

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chaintrack.models.base import ExactDecimal, JSONType, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The catalogue's starting entries (the office adds more through the API).
CATALOGUE = [
    ("INV", "完成投资", "investment_completed", {}, "万元"),
    ("PRJ_START", "新开工项目", "projects_started", {}, "个"),
    ("PRJ_START_FILL", "新开工补链项目", "projects_started", {"project_type": "fill"}, "个"),
    ("PRJ_DONE", "竣工项目", "projects_completed", {}, "个"),
    ("MEMBERS", "新增链上企业", "new_members", {}, "家"),
    (
        "TIER_CHAMP",
        "新增单项冠军",
        "new_designations",
        {"tier": "single_champion_enterprise"},
        "家",
    ),
    ("TIER_GIANT", "新增专精特新“小巨人”", "new_designations", {"tier": "little_giant"}, "家"),
    ("TIER_ANY", "新增梯度培育企业", "new_designations", {}, "家"),
    ("PROB_ON_TIME", "按期解决问题", "problems_closed_on_time", {}, "个"),
    ("REPORTING", "调度报送率", "reporting_rate", {}, "%"),
    ("LEADS", "招商签约项目", "leads_signed", {}, "个"),
    ("FUNDS", "到位资金", "funds_received", {}, "万元"),
    ("REVENUE", "营业收入", "manual", {}, "万元"),
]


def upgrade() -> None:
    op.create_table(
        "assessment_schemes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("total_weight", ExactDecimal(20, 4), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "published",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("items", JSONType, nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_schemes")),
        sa.UniqueConstraint("year", "number", name=op.f("uq_assessment_schemes_year_number")),
    )
    op.create_table(
        "indicators",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "investment_completed",
                "projects_started",
                "projects_completed",
                "new_members",
                "new_designations",
                "problems_closed_on_time",
                "reporting_rate",
                "leads_signed",
                "funds_received",
                "manual",
                name="kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("params", JSONType, nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
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
        sa.PrimaryKeyConstraint("code", name=op.f("pk_indicators")),
    )
    op.create_table(
        "annual_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("owner_unit", sa.String(length=128), nullable=False),
        sa.Column("owner_person", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "in_progress",
                "done",
                "lagging",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("evidence_files", JSONType, nullable=False),
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
        sa.CheckConstraint("year BETWEEN 2000 AND 2200", name=op.f("ck_annual_tasks_year_range")),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chains.id"],
            name=op.f("fk_annual_tasks_chain_id_chains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_tasks")),
    )
    with op.batch_alter_table("annual_tasks", schema=None) as batch_op:
        batch_op.create_index("ix_annual_tasks_chain_year", ["chain_id", "year"], unique=False)

    op.create_table(
        "assessment_targets",
        sa.Column("id", sa.Integer(), nullable=False),
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
            "(subject_kind = 'chain' AND chain_id IS NOT NULL AND region_code IS NULL) OR (subject_kind = 'city' AND chain_id IS NULL AND region_code IS NOT NULL)",
            name=op.f("ck_assessment_targets_subject"),
        ),
        sa.CheckConstraint(
            "quarter IS NULL OR quarter BETWEEN 1 AND 4",
            name=op.f("ck_assessment_targets_quarter_range"),
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_assessment_targets_value_non_negative")),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chains.id"],
            name=op.f("fk_assessment_targets_chain_id_chains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["indicators.code"],
            name=op.f("fk_assessment_targets_indicator_code_indicators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment_targets")),
    )
    with op.batch_alter_table("assessment_targets", schema=None) as batch_op:
        batch_op.create_index("ix_assessment_targets_year", ["year", "subject_kind"], unique=False)

    op.create_table(
        "indicator_figures",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.Column("source", sa.String(length=200), nullable=False),
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
            "(subject_kind = 'chain' AND chain_id IS NOT NULL AND region_code IS NULL) OR (subject_kind = 'city' AND chain_id IS NULL AND region_code IS NOT NULL)",
            name=op.f("ck_indicator_figures_subject"),
        ),
        sa.CheckConstraint(
            "quarter IS NULL OR quarter BETWEEN 1 AND 4",
            name=op.f("ck_indicator_figures_quarter_range"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chains.id"],
            name=op.f("fk_indicator_figures_chain_id_chains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["indicator_code"],
            ["indicators.code"],
            name=op.f("fk_indicator_figures_indicator_code_indicators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_figures")),
    )
    with op.batch_alter_table("indicator_figures", schema=None) as batch_op:
        batch_op.create_index("ix_indicator_figures_year", ["year", "subject_kind"], unique=False)

    op.create_table(
        "score_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=True),
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
        sa.Column("points", ExactDecimal(20, 4), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
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
            "(subject_kind = 'chain' AND chain_id IS NOT NULL AND region_code IS NULL) OR (subject_kind = 'city' AND chain_id IS NULL AND region_code IS NOT NULL)",
            name=op.f("ck_score_adjustments_subject"),
        ),
        sa.CheckConstraint("points <> 0", name=op.f("ck_score_adjustments_points_non_zero")),
        sa.CheckConstraint(
            "quarter IS NULL OR quarter BETWEEN 1 AND 4",
            name=op.f("ck_score_adjustments_quarter_range"),
        ),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chains.id"],
            name=op.f("fk_score_adjustments_chain_id_chains"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_adjustments")),
    )
    op.create_table(
        "annual_task_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.Integer(), nullable=False),
        sa.Column("noted_on", sa.Date(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "not_started",
                "in_progress",
                "done",
                "lagging",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chains.id"],
            name=op.f("fk_annual_task_notes_chain_id_chains"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_annual_task_notes_recorded_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["annual_tasks.id"],
            name=op.f("fk_annual_task_notes_task_id_annual_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_task_notes")),
    )
    with op.batch_alter_table("annual_task_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annual_task_notes_task_id"), ["task_id"], unique=False)
    op.bulk_insert(
        sa.table(
            "indicators",
            sa.column("code", sa.String),
            sa.column("name_zh", sa.String),
            sa.column("kind", sa.String),
            sa.column("params", sa.JSON),
            sa.column("unit", sa.String),
            sa.column("version", sa.Integer),
        ),
        [
            {"code": c, "name_zh": n, "kind": k, "params": p, "unit": u, "version": 1}
            for c, n, k, p, u in CATALOGUE
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("annual_task_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annual_task_notes_task_id"))

    op.drop_table("annual_task_notes")
    op.drop_table("score_adjustments")
    with op.batch_alter_table("indicator_figures", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_figures_year")

    op.drop_table("indicator_figures")
    with op.batch_alter_table("assessment_targets", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_targets_year")

    op.drop_table("assessment_targets")
    with op.batch_alter_table("annual_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_annual_tasks_chain_year")

    op.drop_table("annual_tasks")
    op.drop_table("indicators")
    op.drop_table("assessment_schemes")
