"""problems as a closed loop: subject, category, level, state, steps, supervision notices

The existing project problems stay and become problems raised on their project: the
chain is the project's, the category 其他, the level 县; ``open`` becomes 办理中 (they
were being worked on) and ``resolved`` 已办结. Each gets one step (迁入) recording the
state it came in with. The category catalogue is created with its ten entries (the
reference loader keeps them up to date).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from chaintrack.models.base import JSONType, UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATEGORIES = [
    ("land", "土地", "Land"),
    ("energy", "能耗", "Energy quota"),
    ("environment", "环评", "Environmental assessment"),
    ("funding", "资金", "Funding"),
    ("labour", "用工", "Labour"),
    ("approval", "审批", "Approvals"),
    ("factors", "要素保障", "Production factors"),
    ("infrastructure", "基础设施", "Infrastructure"),
    ("policy", "政策", "Policy"),
    ("other", "其他", "Other"),
]
STATES = ("pending", "in_progress", "handled", "rated", "returned")
LEVELS = ("county", "city", "province", "leader")
ACTIONS = (
    "raise",
    "migrate",
    "accept",
    "return",
    "escalate",
    "assign",
    "handle",
    "rate",
    "supervise",
    "reply",
)


def _enum(name: str, values: Sequence[str]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    categories = op.create_table(
        "problem_categories",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=32), nullable=False),
        sa.Column("name_en", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_problem_categories")),
    )
    op.bulk_insert(
        categories,
        [
            {"code": c, "name_zh": zh, "name_en": en, "position": i}
            for i, (c, zh, en) in enumerate(CATEGORIES)
        ],
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "subject",
                _enum("problem_subject", ("project", "enterprise", "chain")),
                server_default="project",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("chain_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("enterprise_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("category", sa.String(length=32), server_default="other", nullable=False)
        )
        batch_op.add_column(sa.Column("raised_by", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "raised_at",
                UTCDateTime(),
                server_default=sa.text("(CURRENT_TIMESTAMP)"),
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column(
                "level", _enum("problem_level", LEVELS), server_default="county", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "state", _enum("problem_state", STATES), server_default="pending", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column(
                "satisfaction",
                _enum("satisfaction", ("satisfied", "fairly", "unsatisfied")),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("return_reason", sa.Text(), nullable=True))

    # the existing problems: on their project's chain, raised when they were recorded
    op.execute(
        "UPDATE problems SET chain_id = (SELECT p.chain_id FROM projects p"
        " WHERE p.id = problems.project_id), raised_at = created_at,"
        " state = CASE WHEN status = 'resolved' THEN 'handled' ELSE 'in_progress' END"
    )

    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.alter_column("chain_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_chain_id_chains"), "chains", ["chain_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_enterprise_id_enterprises"),
            "enterprises",
            ["enterprise_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_category_problem_categories"),
            "problem_categories",
            ["category"],
            ["code"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_raised_by_users"), "users", ["raised_by"], ["id"]
        )
        batch_op.create_index(
            batch_op.f("ix_problems_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index("ix_problems_chain_state", ["chain_id", "state"], unique=False)
        batch_op.create_check_constraint(
            op.f("ck_problems_status_follows_state"),
            "(status = 'resolved') = (state IN ('handled', 'rated', 'returned'))",
        )
        batch_op.create_check_constraint(
            op.f("ck_problems_subject_has_its_id"),
            "(subject = 'project') = (project_id IS NOT NULL)"
            " AND (subject = 'enterprise') = (enterprise_id IS NOT NULL)",
        )
        batch_op.create_check_constraint(
            op.f("ck_problems_rated_has_satisfaction"),
            "(state = 'rated') = (satisfaction IS NOT NULL)",
        )

    op.create_table(
        "problem_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("action", _enum("problem_action", ACTIONS), nullable=False),
        sa.Column("from_state", _enum("from_state", STATES), nullable=True),
        sa.Column("to_state", _enum("to_state", STATES), nullable=False),
        sa.Column("from_level", _enum("from_level", LEVELS), nullable=True),
        sa.Column("to_level", _enum("to_level", LEVELS), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("on_behalf_of", sa.Integer(), nullable=True),
        sa.Column("acted_at", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("attachments", JSONType, nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_problem_steps_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["on_behalf_of"], ["users.id"], name=op.f("fk_problem_steps_on_behalf_of_users")
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_problem_steps_problem_id_problems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_problem_steps")),
    )
    op.create_index("ix_problem_steps_problem", "problem_steps", ["problem_id", "id"])
    op.execute(
        "INSERT INTO problem_steps (problem_id, action, from_state, to_state, from_level,"
        " to_level, actor_id, acted_at, note)"
        " SELECT id, 'migrate', NULL, state, NULL, level, NULL, created_at,"
        " '由原项目问题迁入' FROM problems ORDER BY id"
    )

    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("level", _enum("issuing_level", LEVELS), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("issued_by", sa.Integer(), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("replied_by", sa.Integer(), nullable=True),
        sa.Column("replied_at", UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "(replied_at IS NULL) = (reply IS NULL)",
            name=op.f("ck_supervision_notices_reply_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["issued_by"], ["users.id"], name=op.f("fk_supervision_notices_issued_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["replied_by"], ["users.id"], name=op.f("fk_supervision_notices_replied_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_supervision_notices_problem_id_problems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_notices")),
    )
    op.create_index(
        op.f("ix_supervision_notices_problem_id"), "supervision_notices", ["problem_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_supervision_notices_problem_id"), table_name="supervision_notices")
    op.drop_table("supervision_notices")
    op.drop_index("ix_problem_steps_problem", table_name="problem_steps")
    op.drop_table("problem_steps")
    # problems raised on an enterprise or a chain have no place in the old schema
    op.execute("DELETE FROM problems WHERE project_id IS NULL")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        if op.get_context().dialect.name == "sqlite":
            # the enumerations' checks (PostgreSQL drops them with their columns)
            for enum in ("satisfaction", "problem_subject", "problem_level", "problem_state"):
                batch_op.drop_constraint(op.f(f"ck_problems_{enum}"), type_="check")
        batch_op.drop_constraint(op.f("ck_problems_rated_has_satisfaction"), type_="check")
        batch_op.drop_constraint(op.f("ck_problems_subject_has_its_id"), type_="check")
        batch_op.drop_constraint(op.f("ck_problems_status_follows_state"), type_="check")
        batch_op.drop_index("ix_problems_chain_state")
        batch_op.drop_index(batch_op.f("ix_problems_enterprise_id"))
        batch_op.drop_constraint(batch_op.f("fk_problems_raised_by_users"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_problems_category_problem_categories"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_problems_enterprise_id_enterprises"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("fk_problems_chain_id_chains"), type_="foreignkey")
        batch_op.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        for name in (
            "return_reason",
            "satisfaction",
            "state",
            "level",
            "raised_at",
            "raised_by",
            "category",
            "enterprise_id",
            "chain_id",
            "subject",
        ):
            batch_op.drop_column(name)
    op.drop_table("problem_categories")
