"""Enterprises and their yearly key figures: rules and queries (flush, never commit)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chaintrack.common.concurrency import check_if_match
from chaintrack.common.pagination import PageParams, paginate, sort_clause
from chaintrack.enterprises.rules import designation_active_on, membership_current_on
from chaintrack.enterprises.schemas import EnterpriseCreate, EnterpriseUpdate, FiguresPut
from chaintrack.errors import Conflict, ValidationProblem, identifier_problem, not_found
from chaintrack.history import office_today
from chaintrack.identifiers import IdentifierError, normalise, validate_uscc
from chaintrack.models import Designation, Enterprise, EnterpriseFigures, Membership, TierDefinition
from chaintrack.models.enums import MembershipRole, Ownership, SizeClass, Tier

ENTERPRISE_URL = "/api/v1/enterprises/{id}"
MIN_FIGURES_YEAR = 1949


# --------------------------------------------------------------------------- helpers


def get_enterprise(session: Session, enterprise_id: int) -> Enterprise:
    ent = session.get(Enterprise, enterprise_id)
    if ent is None:
        raise not_found("enterprise", enterprise_id)
    return ent


def checked_uscc(raw: str, field_name: str = "uscc") -> str:
    """Normalise and validate a USCC; the 422 names the field and the wrong position."""
    try:
        return validate_uscc(raw)
    except IdentifierError as err:
        raise identifier_problem(err, field_name) from None


def _ensure_uscc_free(session: Session, uscc: str, *, except_id: int | None = None) -> None:
    stmt = select(Enterprise.id, Enterprise.name).where(Enterprise.uscc == uscc)
    if except_id is not None:
        stmt = stmt.where(Enterprise.id != except_id)
    row = session.execute(stmt).first()
    if row is not None:
        raise Conflict(
            f"统一社会信用代码 {uscc} 已登记为“{row.name}”（id {row.id}） / "
            f"USCC {uscc} is already registered as enterprise {row.id}",
            existing_id=row.id,
            existing_url=ENTERPRISE_URL.format(id=row.id),
            existing_name=row.name,
        )


def clean_former_names(names: Sequence[str], current: str) -> list[str]:
    """Former names without duplicates or the current name, in first-seen order."""
    out: list[str] = []
    for name in names:
        if name and name != current and name not in out:
            out.append(name)
    return out


# --------------------------------------------------------------------------- writes


def create_enterprise(session: Session, data: EnterpriseCreate) -> Enterprise:
    uscc = checked_uscc(data.uscc)
    _ensure_uscc_free(session, uscc)
    values = data.model_dump()
    values["uscc"] = uscc
    values["former_names"] = clean_former_names(data.former_names, data.name)
    ent = Enterprise(**values)
    try:
        with session.begin_nested():
            session.add(ent)
            session.flush()
    except IntegrityError:
        # Lost a race with a concurrent registration: answer with the pointed 409.
        _ensure_uscc_free(session, uscc)
        raise
    return ent


def update_enterprise(
    session: Session, enterprise_id: int, data: EnterpriseUpdate, if_match: str | None
) -> Enterprise:
    ent = get_enterprise(session, enterprise_id)
    check_if_match(if_match, ent)
    changes = data.model_dump(exclude_unset=True)
    if "uscc" in changes:
        changes["uscc"] = checked_uscc(changes["uscc"])
        if changes["uscc"] != ent.uscc:
            _ensure_uscc_free(session, changes["uscc"], except_id=ent.id)
    old_name = ent.name
    new_name = changes.get("name", old_name)
    former = list(changes.get("former_names", ent.former_names or []))
    if new_name != old_name:
        former.append(old_name)
    cleaned = clean_former_names(former, new_name)
    if cleaned != (ent.former_names or []):
        changes["former_names"] = cleaned
    else:
        changes.pop("former_names", None)
    for key, value in changes.items():
        if getattr(ent, key) != value:
            setattr(ent, key, value)
    session.flush()
    return ent


# --------------------------------------------------------------------------- reads


def current_tiers(
    session: Session, enterprise_ids: Sequence[int], on: dt.date
) -> dict[int, list[Tier]]:
    """Tiers in force on ``on`` for many enterprises in ONE statement, highest rank first."""
    if not enterprise_ids:
        return {}
    rows = session.execute(
        select(Designation.enterprise_id, Designation.tier, TierDefinition.rank)
        .join(TierDefinition, TierDefinition.code == Designation.tier)
        .where(Designation.enterprise_id.in_(enterprise_ids), designation_active_on(on))
        .distinct()
        .order_by(Designation.enterprise_id, TierDefinition.rank.desc(), Designation.tier)
    ).all()
    out: dict[int, list[Tier]] = {}
    for ent_id, tier, _rank in rows:
        out.setdefault(ent_id, []).append(tier)
    return out


@dataclass
class EnterpriseView:
    enterprise: Enterprise
    designations: list[Designation] = field(default_factory=list)
    latest_figures: EnterpriseFigures | None = None

    @property
    def tiers(self) -> list[Tier]:
        out: list[Tier] = []
        for d in self.designations:
            if d.tier not in out:
                out.append(d.tier)
        return out


def enterprise_view(
    session: Session, enterprise_id: int, on: dt.date | None = None
) -> EnterpriseView:
    """One enterprise with its designations in force and its latest figures (3 statements)."""
    on = on or office_today()
    ent = get_enterprise(session, enterprise_id)
    designations = session.scalars(
        select(Designation)
        .join(TierDefinition, TierDefinition.code == Designation.tier)
        .where(Designation.enterprise_id == ent.id, designation_active_on(on))
        .order_by(TierDefinition.rank.desc(), Designation.recognised_on.desc(), Designation.id)
    ).all()
    latest = session.scalars(
        select(EnterpriseFigures)
        .where(EnterpriseFigures.enterprise_id == ent.id)
        .order_by(EnterpriseFigures.year.desc())
        .limit(1)
    ).first()
    return EnterpriseView(ent, list(designations), latest)


@dataclass(frozen=True)
class EnterpriseFilters:
    q: str | None = None
    uscc: str | None = None
    region_code: str | None = None
    tier: Tier | None = None
    chain_id: int | None = None
    role: MembershipRole | None = None
    size_class: SizeClass | None = None
    ownership: Ownership | None = None
    as_of: dt.date | None = None


SORT_KEYS: dict[str, Any] = {
    "name": Enterprise.name,
    "uscc": Enterprise.uscc,
    "created_at": Enterprise.created_at,
    "region_code": Enterprise.region_code,
    "id": Enterprise.id,
}

_REGION_PREFIX = re.compile(r"^\d{2,6}$")
_USCC_PREFIX = re.compile(r"^[0-9A-Z]{2,18}$")


def region_prefix(raw: str) -> str:
    """``3706`` or ``370600`` → ``3706`` (all of Yantai); ``370000`` → ``37``."""
    code = normalise(raw)
    if not _REGION_PREFIX.fullmatch(code):
        raise ValidationProblem.for_field(
            "region_code",
            f"行政区划代码前缀应为2-6位数字，实际为“{code}” / "
            "a region code prefix is 2 to 6 digits",
            location="query",
        )
    while len(code) > 2 and code.endswith("00") and len(code) % 2 == 0:
        code = code[:-2]
    return code


def _former_name_matches(session: Session, fragment: str) -> ColumnElement[bool]:
    """EXISTS over the JSON array of former names (engine-specific array expansion)."""
    fn = (
        func.jsonb_array_elements_text
        if session.get_bind().dialect.name == "postgresql"
        else func.json_each
    )
    names = fn(Enterprise.former_names).table_valued("value").alias("former_name")
    return exists(
        select(1).select_from(names).where(names.c.value.icontains(fragment, autoescape=True))
    ).correlate(Enterprise)


def search_statement(session: Session, f: EnterpriseFilters) -> Select[tuple[Enterprise]]:
    """The enterprises GET /enterprises finds (and the enterprise export writes)."""
    on = f.as_of or office_today()
    stmt = select(Enterprise)
    if f.q:
        q = normalise(f.q)
        conds = [
            Enterprise.name.icontains(q, autoescape=True),
            _former_name_matches(session, q),
        ]
        if _USCC_PREFIX.fullmatch(q):
            conds.append(Enterprise.uscc.startswith(q, autoescape=True))
        stmt = stmt.where(or_(*conds))
    if f.uscc:
        stmt = stmt.where(Enterprise.uscc == normalise(f.uscc))
    if f.region_code:
        stmt = stmt.where(Enterprise.region_code.startswith(region_prefix(f.region_code)))
    if f.size_class:
        stmt = stmt.where(Enterprise.size_class == f.size_class)
    if f.ownership:
        stmt = stmt.where(Enterprise.ownership == f.ownership)
    if f.tier:
        stmt = stmt.where(
            exists(
                select(Designation.id).where(
                    Designation.enterprise_id == Enterprise.id,
                    Designation.tier == f.tier,
                    designation_active_on(on),
                )
            )
        )
    if f.chain_id is not None or f.role is not None:
        member = select(Membership.id).where(
            Membership.enterprise_id == Enterprise.id, membership_current_on(on)
        )
        if f.chain_id is not None:
            member = member.where(Membership.chain_id == f.chain_id)
        if f.role is not None:
            member = member.where(Membership.role == f.role)
        stmt = stmt.where(exists(member))
    return stmt


def search_enterprises(
    session: Session, f: EnterpriseFilters, sort: str | None, page: PageParams
) -> tuple[int, Sequence[Enterprise], dict[int, list[Tier]]]:
    """Count + page + the page's current tiers: three statements whatever the size."""
    stmt = search_statement(session, f).order_by(
        *sort_clause(sort, SORT_KEYS, default=[Enterprise.id])
    )
    total, rows = paginate(session, stmt, page)
    tiers = current_tiers(session, [e.id for e in rows], f.as_of or office_today())
    return total, rows, tiers


# --------------------------------------------------------------------------- figures


def check_year(year: int) -> int:
    last = office_today().year
    if not MIN_FIGURES_YEAR <= year <= last:
        raise ValidationProblem.for_field(
            "year",
            f"年份应在{MIN_FIGURES_YEAR}至{last}之间 / year must be between "
            f"{MIN_FIGURES_YEAR} and {last}",
            location="path",
        )
    return year


FIGURES_SORT: dict[str, Any] = {"year": EnterpriseFigures.year}


def list_figures(
    session: Session,
    enterprise_id: int,
    page: PageParams,
    *,
    from_year: int | None = None,
    to_year: int | None = None,
    sort: str | None = None,
) -> tuple[int, Sequence[EnterpriseFigures]]:
    get_enterprise(session, enterprise_id)
    stmt = select(EnterpriseFigures).where(EnterpriseFigures.enterprise_id == enterprise_id)
    if from_year is not None:
        stmt = stmt.where(EnterpriseFigures.year >= from_year)
    if to_year is not None:
        stmt = stmt.where(EnterpriseFigures.year <= to_year)
    order = sort_clause(sort, FIGURES_SORT, default=[]) or [EnterpriseFigures.year.desc()]
    return paginate(session, stmt.order_by(*order), page)


def put_figures(
    session: Session, enterprise_id: int, year: int, data: FiguresPut, if_match: str | None
) -> tuple[EnterpriseFigures, bool]:
    """Create the year's row (no If-Match needed) or replace it (If-Match required).
    Returns the row and whether it was created."""
    get_enterprise(session, enterprise_id)
    check_year(year)
    row = session.scalars(
        select(EnterpriseFigures).where(
            EnterpriseFigures.enterprise_id == enterprise_id, EnterpriseFigures.year == year
        )
    ).one_or_none()
    values = data.model_dump()
    if row is None:
        row = EnterpriseFigures(enterprise_id=enterprise_id, year=year, **values)
        session.add(row)
        session.flush()
        return row, True
    check_if_match(if_match, row)
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
    session.flush()
    return row, False
