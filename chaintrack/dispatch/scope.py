"""A reporter's scope: the projects of their region (and owner enterprise, if set)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, select, true
from sqlalchemy.orm import Session

from chaintrack.errors import Forbidden, not_found
from chaintrack.models import Problem, Project, ReporterScope
from chaintrack.regions import covers, in_region, region_prefixes


@dataclass(frozen=True)
class Scope:
    region_code: str
    prefixes: tuple[str, ...]
    enterprise_id: int | None

    def covers(self, region_code: str, owner_enterprise_id: int | None) -> bool:
        if self.enterprise_id is not None and owner_enterprise_id != self.enterprise_id:
            return False
        return covers(self.prefixes, region_code)

    def clause(self) -> ColumnElement[bool]:
        """Projects in this scope, as a WHERE clause."""
        owner = (
            Project.owner_enterprise_id == self.enterprise_id
            if self.enterprise_id is not None
            else true()
        )
        return and_(in_region(Project.region_code, self.prefixes), owner)


def scope_of(session: Session, user_id: int) -> Scope | None:
    row = session.get(ReporterScope, user_id)
    if row is None:
        return None
    return Scope(row.region_code, region_prefixes(session, row.region_code), row.enterprise_id)


def project_in_scope(session: Session, user_id: int, entity: str, value: int) -> None:
    """403 unless the project (or the problem's project) lies in the reporter's scope."""
    stmt = select(Project.region_code, Project.owner_enterprise_id)
    if entity == "problem":
        stmt = stmt.join(Problem, Problem.project_id == Project.id).where(Problem.id == value)
    else:
        stmt = stmt.where(Project.id == value)
    row = session.execute(stmt).first()
    if row is None:
        raise not_found(entity, value)
    scope = scope_of(session, user_id)
    if scope is None or not scope.covers(row.region_code, row.owner_enterprise_id):
        where = scope.region_code if scope else "（未设置）"
        raise Forbidden(
            f"项目不在您的填报辖区（{where}）内 / the project is outside your region ({where})",
            rule="reporter_scope",
        )
