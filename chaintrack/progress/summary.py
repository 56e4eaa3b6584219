"""Investment completed in a year, by project type and by month (the overview's charts)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from chaintrack.history import revision_on_record
from chaintrack.models import Chain, ProgressReport, Project


def investment_by_type_and_month(
    session: Session,
    year_start: str,
    period: str,
    cutoff: dt.datetime | None = None,
    group_id: int | None = None,
) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """({project type: 万元}, {YYYY-MM: 万元}) completed from ``year_start`` through
    ``period``, from the revisions on record at ``cutoff`` (None: the current ones).
    One statement, grouped by type and month."""
    stmt = (
        select(Project.type, ProgressReport.period, func.sum(ProgressReport.investment_month))
        .join(Project, Project.id == ProgressReport.project_id)
        .where(
            ProgressReport.period >= year_start,
            ProgressReport.period <= period,
            revision_on_record(cutoff),
        )
        .group_by(Project.type, ProgressReport.period)
    )
    if group_id is not None:
        stmt = stmt.join(Chain, Chain.id == Project.chain_id).where(Chain.group_id == group_id)
    by_type: dict[str, Decimal] = {}
    by_month: dict[str, Decimal] = {}
    for kind, month, amount in session.execute(stmt).all():
        value = Decimal(amount or 0)
        by_type[str(kind)] = by_type.get(str(kind), Decimal(0)) + value
        by_month[month] = by_month.get(month, Decimal(0)) + value
    return by_type, dict(sorted(by_month.items()))
