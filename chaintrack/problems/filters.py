"""The problem lists' filters, parsed once for every list: the API's page, its Excel
export (``format=xlsx``) and the web page's export link read the same query parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from chaintrack.auth.deps import CurrentPrincipal
from chaintrack.common.ids import StrictId
from chaintrack.models.enums import ProblemLevel, ProblemState, ProblemSubject
from chaintrack.problems.service import LoopFilters


def problem_filters(
    principal: CurrentPrincipal,
    chain_id: Annotated[StrictId | None, Query()] = None,
    state: ProblemState | None = None,
    level: ProblemLevel | None = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    subject: ProblemSubject | None = None,
    overdue: Annotated[bool | None, Query(description="true: only overdue; false: none")] = None,
    mine: Annotated[bool, Query(description="Only those I raised")] = False,
    responsible_unit: Annotated[str | None, Query(max_length=128)] = None,
) -> LoopFilters:
    return LoopFilters(
        chain_id=chain_id,
        state=state,
        level=level,
        category=category or None,
        subject=subject,
        overdue=overdue,
        raised_by=principal.id if mine else None,
        responsible_unit=responsible_unit or None,
    )


ProblemFilters = Annotated[LoopFilters, Depends(problem_filters)]
