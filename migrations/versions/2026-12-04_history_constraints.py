"""history constraints: status-as-of index; memberships cannot overlap (PostgreSQL)

The status-as-of window (``history.status_as_of``) ranks a project's status changes up
to a day by (changed_on, id): an index on (project_id, changed_on, id) serves it and
replaces the index on project_id alone, which it contains.

On PostgreSQL an exclusion constraint refuses two memberships of one enterprise, chain,
node and role whose periods [started_on, ended_on) overlap, so that two writers who both
passed the service's check cannot both commit. A membership without a node counts as
node 0 (the service treats two node-less memberships as on the same node); a NULL
ended_on is an open end. SQLite writers are serialised (BEGIN IMMEDIATE), so the
service's check suffices there.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OVERLAP = "ex_memberships_no_overlap"
SAME_SLOT = (
    "a.enterprise_id = b.enterprise_id AND a.chain_id = b.chain_id AND a.role = b.role"
    " AND COALESCE(a.node_id, 0) = COALESCE(b.node_id, 0)"
)


def _refuse_existing_overlaps() -> None:
    """Name the rows in the way rather than fail on an anonymous constraint error."""
    rows = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT a.id, b.id FROM memberships a JOIN memberships b"
                f" ON a.id < b.id AND {SAME_SLOT}"
                " AND daterange(a.started_on, a.ended_on, '[)')"
                " && daterange(b.started_on, b.ended_on, '[)')"
                " ORDER BY a.id, b.id LIMIT 20"
            )
        )
        .all()
    )
    if rows:
        pairs = ", ".join(f"{a}/{b}" for a, b in rows)
        raise RuntimeError(
            f"memberships overlap in time and must be ended or corrected first: {pairs}"
        )


def upgrade() -> None:
    with op.batch_alter_table("project_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_project_status_changes_as_of", ["project_id", "changed_on", "id"], unique=False
        )
        batch_op.drop_index("ix_project_status_changes_project_id")

    if op.get_context().dialect.name == "postgresql":
        # Trusted since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        _refuse_existing_overlaps()
        op.execute(
            f"ALTER TABLE memberships ADD CONSTRAINT {OVERLAP} EXCLUDE USING gist ("
            "enterprise_id WITH =, chain_id WITH =, role WITH =, COALESCE(node_id, 0) WITH =,"
            " daterange(started_on, ended_on, '[)') WITH &&)"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # btree_gist stays: other objects of the database may use it.
        op.execute(f"ALTER TABLE memberships DROP CONSTRAINT {OVERLAP}")

    with op.batch_alter_table("project_status_changes", schema=None) as batch_op:
        batch_op.create_index("ix_project_status_changes_project_id", ["project_id"], unique=False)
        batch_op.drop_index("ix_project_status_changes_as_of")
