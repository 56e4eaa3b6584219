"""Date rules for designations (梯度培育) and chain memberships, in one place.

An enterprise's current tiers are not stored: they follow from the dates of its
designations. Reports and searches reuse :func:`designation_active_on` so every
view of "the enterprise's tiers on day D" agrees.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import ColumnElement, and_

from chaintrack.history import designation_active as designation_active_on
from chaintrack.history import membership_current as membership_current_on
from chaintrack.models import Designation

__all__ = ["designation_active_on", "membership_current_on"]


class DesignationState(StrEnum):
    """Where a designation stands on a given day."""

    PENDING = "pending"  # recognised_on is still ahead
    ACTIVE = "active"
    EXPIRED = "expired"  # valid_until has passed
    REVOKED = "revoked"  # revoked_on has been reached


STATE_LABELS_ZH = {
    DesignationState.PENDING: "未生效",
    DesignationState.ACTIVE: "有效",
    DesignationState.EXPIRED: "已到期",
    DesignationState.REVOKED: "已撤销",
}


def designation_in_state_on(state: DesignationState, d: dt.date) -> ColumnElement[bool]:
    """SQL: the designation is in ``state`` on day ``d`` (consistent with
    :func:`designation_state` and :func:`designation_active_on`)."""
    revoked = and_(Designation.revoked_on.is_not(None), Designation.revoked_on <= d)
    if state is DesignationState.ACTIVE:
        return designation_active_on(d)
    if state is DesignationState.REVOKED:
        return revoked
    if state is DesignationState.PENDING:
        return and_(Designation.recognised_on > d, ~revoked)
    return and_(
        Designation.valid_until.is_not(None),
        Designation.valid_until < d,
        Designation.recognised_on <= d,
        ~revoked,
    )


def designation_state(
    d: dt.date,
    *,
    recognised_on: dt.date,
    valid_until: dt.date | None,
    revoked_on: dt.date | None,
) -> DesignationState:
    """The same rule in Python, for rows already loaded."""
    if revoked_on is not None and revoked_on <= d:
        return DesignationState.REVOKED
    if recognised_on > d:
        return DesignationState.PENDING
    if valid_until is not None and valid_until < d:
        return DesignationState.EXPIRED
    return DesignationState.ACTIVE


def designation_end(valid_until: dt.date | None, revoked_on: dt.date | None) -> dt.date | None:
    """The first day a designation is no longer in force (None: open-ended)."""
    ends = []
    if valid_until is not None:
        ends.append(valid_until + dt.timedelta(days=1))
    if revoked_on is not None:
        ends.append(revoked_on)
    return min(ends) if ends else None
