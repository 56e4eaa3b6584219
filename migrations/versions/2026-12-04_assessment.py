"""assessment: annual task lists, indicators, targets, schemes, figures, adjustments

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chaintrack.models.assessment import (
    AnnualTask,
    AssessmentScheme,
    AssessmentTarget,
    Indicator,
    IndicatorFigure,
    ScoreAdjustment,
    TaskNote,
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# In dependency order; the tables are created from the models' definitions as of this
# revision (a later change of a model gets its own migration).
TABLES = (
    Indicator,
    AnnualTask,
    TaskNote,
    AssessmentTarget,
    IndicatorFigure,
    AssessmentScheme,
    ScoreAdjustment,
)

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
    bind = op.get_bind()
    for model in TABLES:
        model.__table__.create(bind)  # type: ignore[attr-defined]
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
    bind = op.get_bind()
    for model in reversed(TABLES):
        model.__table__.drop(bind)  # type: ignore[attr-defined]
