"""Designations (梯度培育): grant, correct, revoke, history (flush, never commit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate
from chaintrack.enterprises.rules import (
    DesignationState,
    designation_end,
    designation_in_state_on,
)
from chaintrack.enterprises.schemas import DesignationCreate, DesignationRevoke, DesignationUpdate
from chaintrack.enterprises.service import get_enterprise
from chaintrack.errors import Conflict, FieldError, ValidationProblem, not_found
from chaintrack.history import office_today
from chaintrack.models import Designation, TierDefinition
from chaintrack.models.enums import Level, Tier

DESIGNATION_URL = "/api/v1/designations/{id}"


def get_designation(session: Session, designation_id: int) -> Designation:
    row = session.get(Designation, designation_id)
    if row is None:
        raise not_found("designation", designation_id)
    return row


def check_level(session: Session, tier: Tier, level: Level) -> None:
    """The tier's catalogue entry allows the level (the catalogue is read through the
    session's identity map: one statement per tier however many rows are checked)."""
    definition = session.get(TierDefinition, tier)
    if definition is None:
        raise ValidationProblem.for_field(
            "tier",
            f"梯度“{tier}”未在梯度目录中定义 / tier '{tier}' is not in the catalogue",
            code="unknown_tier",
        )
    allowed = list(definition.levels or [])
    if level.value not in allowed:
        names = "、".join(Level(v).label_zh for v in allowed if v in Level._value2member_map_)
        raise ValidationProblem.for_field(
            "level",
            f"“{definition.name_zh}”只能为{names}认定，不能为{level.label_zh} / "
            f"tier '{tier.value}' allows level(s) {', '.join(allowed)}, not '{level.value}'",
            code="level_not_allowed",
        )


def check_product(tier: Tier, product: str | None) -> None:
    """A single-champion product names its product; no other tier does."""
    if tier is Tier.SINGLE_CHAMPION_PRODUCT and not product:
        raise ValidationProblem.for_field(
            "product",
            "单项冠军产品须填写产品名称 / product is required for single_champion_product",
            code="missing",
        )
    if tier is not Tier.SINGLE_CHAMPION_PRODUCT and product:
        raise ValidationProblem.for_field(
            "product",
            "只有单项冠军产品填写产品名称 / product is only for single_champion_product",
            code="product_not_allowed",
        )


def check_validity(recognised_on: dt.date, valid_until: dt.date | None) -> None:
    if valid_until is not None and valid_until < recognised_on:
        raise ValidationProblem.for_field(
            "valid_until",
            f"有效期至（{valid_until}）不能早于认定日期（{recognised_on}） / "
            "valid_until cannot be before recognised_on",
            code="date_order",
        )


def check_revocation(
    recognised_on: dt.date,
    valid_until: dt.date | None,
    revoked_on: dt.date | None,
    field: str = "revoked_on",
) -> None:
    """A revocation falls within the designation's validity: not before it was
    recognised, not after it expired (``field`` names what was sent)."""
    if revoked_on is None:
        return
    if revoked_on < recognised_on:
        raise ValidationProblem.for_field(
            field,
            f"撤销日期不能早于认定日期（{recognised_on}） / revoked_on cannot be before "
            "recognised_on",
            code="revoked_before_recognised",
        )
    if valid_until is not None and revoked_on > valid_until:
        raise ValidationProblem.for_field(
            field,
            f"该认定已于{valid_until}到期，撤销日期不能晚于有效期至 / the designation had "
            f"already expired on {valid_until}; revoked_on must not be after valid_until",
            code="revoked_after_expiry",
        )


def check_not_revoked(row: Designation) -> None:
    """A revocation is final: it is not changed or made again (409)."""
    if row.revoked_on is not None:
        raise Conflict(
            f"该认定已于{row.revoked_on}撤销 / designation {row.id} was already revoked "
            f"on {row.revoked_on}",
            errors=[
                FieldError(
                    location="body",
                    field="revoked_on",
                    message="already revoked",
                    code="already_revoked",
                )
            ],
            existing_id=row.id,
            revoked_on=row.revoked_on.isoformat(),
        )


def same_product(a: str | None, b: str | None) -> bool:
    """Product names compare without case and extra spaces."""
    return " ".join((a or "").split()).casefold() == " ".join((b or "").split()).casefold()


def periods_meet(
    start: dt.date, end: dt.date | None, other_start: dt.date, other_end: dt.date | None
) -> bool:
    """Two designation periods [recognised_on, end) have a day in common (end as
    :func:`designation_end` gives it; None: open-ended)."""
    return (other_end is None or start < other_end) and (end is None or other_start < end)


def check_no_overlap(
    *,
    tier: Tier,
    product: str | None,
    start: dt.date,
    end: dt.date | None,
    held: Iterable[Designation],
    field: str = "recognised_on",
) -> None:
    """Refuse a second designation of the same tier and level (and product, for a
    single-champion product) in force over any common day: 409 naming the first of
    ``held`` (the enterprise's other designations of that tier and level) it meets."""
    for other in held:
        if tier is Tier.SINGLE_CHAMPION_PRODUCT and not same_product(product, other.product):
            continue
        other_end = designation_end(other.valid_until, other.revoked_on)
        if periods_meet(start, end, other.recognised_on, other_end):
            raise Conflict(
                f"该企业已有同梯度同层级的认定（id {other.id}，{other.recognised_on}起）"
                "与此期间重叠 / "
                f"designation {other.id} of the same tier and level overlaps this period",
                errors=[
                    FieldError(
                        location="body",
                        field=field,
                        message="overlapping designation",
                        code="overlap",
                    )
                ],
                existing_id=other.id,
                existing_url=DESIGNATION_URL.format(id=other.id),
            )


def _check_no_overlap(
    session: Session,
    *,
    enterprise_id: int,
    tier: Tier,
    level: Level,
    product: str | None,
    start: dt.date,
    end: dt.date | None,
    except_id: int | None = None,
    field: str = "recognised_on",
) -> None:
    stmt = select(Designation).where(
        Designation.enterprise_id == enterprise_id,
        Designation.tier == tier,
        Designation.level == level,
    )
    if except_id is not None:
        stmt = stmt.where(Designation.id != except_id)
    held = session.scalars(stmt.order_by(Designation.recognised_on))
    check_no_overlap(tier=tier, product=product, start=start, end=end, held=held, field=field)


def grant_designation(session: Session, enterprise_id: int, data: DesignationCreate) -> Designation:
    get_enterprise(session, enterprise_id)
    check_level(session, data.tier, data.level)
    product = data.product or None
    check_product(data.tier, product)
    check_validity(data.recognised_on, data.valid_until)
    _check_no_overlap(
        session,
        enterprise_id=enterprise_id,
        tier=data.tier,
        level=data.level,
        product=product,
        start=data.recognised_on,
        end=designation_end(data.valid_until, None),
    )
    row = Designation(enterprise_id=enterprise_id, **data.model_dump())
    session.add(row)
    session.flush()
    return row


def correct_designation(
    session: Session, designation_id: int, data: DesignationUpdate, if_match: str | None
) -> Designation:
    row = get_designation(session, designation_id)
    check_if_match(if_match, row)
    changes = data.model_dump(exclude_unset=True)
    if "valid_until" in changes and changes["valid_until"] != row.valid_until:
        valid_until = changes["valid_until"]
        check_validity(row.recognised_on, valid_until)
        check_revocation(row.recognised_on, valid_until, row.revoked_on, "valid_until")
        _check_no_overlap(
            session,
            enterprise_id=row.enterprise_id,
            tier=row.tier,
            level=row.level,
            product=row.product,
            start=row.recognised_on,
            end=designation_end(valid_until, row.revoked_on),
            except_id=row.id,
            field="valid_until",
        )
    for key, value in changes.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
    session.flush()
    return row


def revoke_designation(
    session: Session, designation_id: int, data: DesignationRevoke, if_match: str | None
) -> Designation:
    row = get_designation(session, designation_id)
    check_if_match(if_match, row)
    check_not_revoked(row)
    check_revocation(row.recognised_on, row.valid_until, data.revoked_on)
    row.revoked_on = data.revoked_on
    row.revoke_reason = data.reason
    session.flush()
    return row


def designation_history(
    session: Session,
    enterprise_id: int,
    page: PageParams,
    *,
    as_of: dt.date | None = None,
    tier: Tier | None = None,
    state: DesignationState | None = None,
) -> tuple[int, Sequence[Designation]]:
    """Every designation of the enterprise, newest first."""
    get_enterprise(session, enterprise_id)
    stmt = select(Designation).where(Designation.enterprise_id == enterprise_id)
    if tier is not None:
        stmt = stmt.where(Designation.tier == tier)
    if state is not None:
        stmt = stmt.where(designation_in_state_on(state, as_of or office_today()))
    stmt = stmt.order_by(Designation.recognised_on.desc(), Designation.id.desc())
    return paginate(session, stmt, page)
