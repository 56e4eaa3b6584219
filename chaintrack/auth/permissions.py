"""Who may write what: one declared rule per write route, checked before the endpoint.

Roles:
- ``admin``: everything, including users, editor assignments and the catalogues;
- ``editor``: writes on the chains assigned to them (the chain itself, its leaders,
  map, lists, memberships, projects, progress and problems) and on the shared
  register of enterprises, figures and designations;
- ``viewer``: reads only;
- ``reporter`` (填报员): submits and corrects progress and raises problems for the
  projects in their scope (a region, a city covering its counties, and optionally one
  owner enterprise: ``reporter_scopes``), on any chain; reads like a viewer; nothing else.

A route declares its rule in the decorator, e.g.::

    @router.patch("/nodes/{node_id}", dependencies=[chain_write(ChainOf.node("node_id"),
                                                                Ref.node("parent_id"))])

For an editor, the chain of the target (a path id, or ``chain_id`` in the body)
is looked up and must be one of theirs (403 otherwise; 404 for an unknown path
id); every other object the body references (a parent node, a project, a list
entry's enterprise, ...) must not belong to someone else's chain (403 naming the
field). The rule is attached to the dependency (``permission_rule``), so the
tests enumerate ``app.routes`` and fail for a write route that has none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from chaintrack.auth.deps import CurrentPrincipal, Principal
from chaintrack.common.deps import SessionDep
from chaintrack.common.ids import MAX_ID, parse_id
from chaintrack.errors import Forbidden, not_found
from chaintrack.models import (
    AttractionLead,
    Chain,
    ChainLeader,
    ChainList,
    DispatchRoundChain,
    ListEntry,
    MapNode,
    MapRelation,
    MapVersion,
    Membership,
    Problem,
    ProgressReport,
    Project,
    SupervisionNotice,
)
from chaintrack.models.enums import UserRole


class Access(StrEnum):
    AUTHENTICATED = "authenticated"  # any signed-in user (their own account)
    REGISTER = "register"  # admin or any editor: the shared enterprise register
    CHAIN = "chain"  # admin or an editor of the target's chain
    ADMIN = "admin"  # administrators only
    PROJECT = "project"  # CHAIN, or a reporter whose scope covers the target project
    RAISER = "raiser"  # admin or the user who raised the target problem (its rating)


# entity -> the statement giving the chain id(s) of one row
_CHAIN_OF: dict[str, Callable[[int], Select[Any]]] = {
    "chain": lambda v: select(Chain.id).where(Chain.id == v),
    "chain_leader": lambda v: select(ChainLeader.chain_id).where(ChainLeader.id == v),
    "node": lambda v: select(MapNode.chain_id).where(MapNode.id == v),
    "relation": lambda v: select(MapRelation.chain_id).where(MapRelation.id == v),
    "map_version": lambda v: select(MapVersion.chain_id).where(MapVersion.id == v),
    "list": lambda v: select(ChainList.chain_id).where(ChainList.id == v),
    "list_entry": lambda v: select(ListEntry.chain_id).where(ListEntry.id == v),
    "membership": lambda v: select(Membership.chain_id).where(Membership.id == v),
    "project": lambda v: select(Project.chain_id).where(Project.id == v),
    "progress_report": lambda v: (
        select(Project.chain_id)
        .join(ProgressReport, ProgressReport.project_id == Project.id)
        .where(ProgressReport.id == v)
    ),
    "problem": lambda v: select(Problem.chain_id).where(Problem.id == v),
    "supervision_notice": lambda v: (
        select(Problem.chain_id)
        .join(SupervisionNotice, SupervisionNotice.problem_id == Problem.id)
        .where(SupervisionNotice.id == v)
    ),
    "dispatch_round": lambda v: select(DispatchRoundChain.chain_id).where(
        DispatchRoundChain.round_id == v
    ),
    # An enterprise belongs to the chains it is (or was) registered on.
    "enterprise": lambda v: (
        select(Membership.chain_id).where(Membership.enterprise_id == v).distinct()
    ),
}

# Investment attraction (招商): a lead belongs to its chain.
_CHAIN_OF["lead"] = lambda v: select(AttractionLead.chain_id).where(AttractionLead.id == v)


def chains_of(session: Session, entity: str, value: int) -> frozenset[int]:
    if not 1 <= value <= MAX_ID:
        return frozenset()
    return frozenset(session.scalars(_CHAIN_OF[entity](value)).all())


@dataclass(frozen=True)
class Target:
    """An id in the path or the body whose chain the rule checks."""

    entity: str
    location: Literal["path", "body"]
    field: str
    many: bool = False

    def __post_init__(self) -> None:
        if self.entity not in _CHAIN_OF:
            raise ValueError(f"no chain resolver for {self.entity!r}")

    def describe(self) -> str:
        return f"{self.entity}:{self.location}.{self.field}{'[]' if self.many else ''}"


class ChainOf:
    """The object a chain-scoped write changes, by its id in the path (or body)."""

    @staticmethod
    def chain(param: str = "chain_id") -> Target:
        return Target("chain", "path", param)

    @staticmethod
    def body_chain(field: str = "chain_id") -> Target:
        return Target("chain", "body", field)

    @staticmethod
    def path(entity: str, param: str) -> Target:
        return Target(entity, "path", param)

    @classmethod
    def chain_leader(cls, param: str) -> Target:
        return cls.path("chain_leader", param)

    @classmethod
    def node(cls, param: str) -> Target:
        return cls.path("node", param)

    @classmethod
    def relation(cls, param: str) -> Target:
        return cls.path("relation", param)

    @classmethod
    def list(cls, param: str) -> Target:
        return cls.path("list", param)

    @classmethod
    def list_entry(cls, param: str) -> Target:
        return cls.path("list_entry", param)

    @classmethod
    def membership(cls, param: str) -> Target:
        return cls.path("membership", param)

    @classmethod
    def project(cls, param: str) -> Target:
        return cls.path("project", param)

    @classmethod
    def problem(cls, param: str) -> Target:
        return cls.path("problem", param)

    @classmethod
    def supervision_notice(cls, param: str) -> Target:
        return cls.path("supervision_notice", param)


class Ref:
    """Another object the request body references; it must not be another chain's."""

    @staticmethod
    def node(field: str) -> Target:
        return Target("node", "body", field)

    @staticmethod
    def nodes(field: str) -> Target:
        return Target("node", "body", field, many=True)

    @staticmethod
    def project(field: str) -> Target:
        return Target("project", "body", field)

    @staticmethod
    def enterprise(field: str) -> Target:
        return Target("enterprise", "body", field)

    @staticmethod
    def progress_report(field: str) -> Target:
        return Target("progress_report", "body", field)

    @staticmethod
    def list_entries(field: str) -> Target:
        return Target("list_entry", "body", field, many=True)


@dataclass(frozen=True)
class Rule:
    access: Access
    target: Target | None = None
    refs: tuple[Target, ...] = ()

    def describe(self) -> str:
        parts = [self.access.value]
        if self.target:
            parts.append(f"target={self.target.describe()}")
        if self.refs:
            parts.append("refs=" + ",".join(r.describe() for r in self.refs))
        return " ".join(parts)

    @property
    def needs_body(self) -> bool:
        return any(t.location == "body" for t in (self.target, *self.refs) if t is not None)


def forbidden(detail: str, **extra: Any) -> Forbidden:
    return Forbidden(detail, **extra)


# --- reading the request ------------------------------------------------------------


def _route(request: Request) -> Any:
    return request.scope.get("route")


def _path_value(request: Request, name: str) -> int | None:
    """The path parameter as the endpoint will see it (None when it fails validation)."""
    raw = request.path_params.get(name)
    if raw is None:
        return None
    route = _route(request)
    for field in getattr(getattr(route, "dependant", None), "path_params", []):
        if field.alias == name:
            value, errors = field.validate(raw, {}, loc=("path", name))
            return value if not errors and isinstance(value, int) else None
    return parse_id(raw)


async def _validated_body(request: Request) -> Any:
    """The body as the endpoint will receive it, or None when it will be refused (422)."""
    body_field = getattr(_route(request), "body_field", None)
    if body_field is None:
        return None
    try:
        raw = await request.json()
    except Exception:
        return None
    value, errors = body_field.validate(raw, {}, loc=("body",))
    return None if errors else value


def _body_values(body: Any, target: Target) -> list[int]:
    if body is None:
        return []
    value = body.get(target.field) if isinstance(body, dict) else getattr(body, target.field, None)
    values: Iterable[Any] = value if target.many and isinstance(value, list | tuple) else [value]
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


# --- the check ----------------------------------------------------------------------


def _chain_label(chains: Iterable[int]) -> str:
    return ", ".join(str(c) for c in sorted(chains))


def check_chain_rule(
    rule: Rule, principal: Principal, session: Session, path: dict[str, int | None], body: Any
) -> None:
    """For an editor: the target's chain must be theirs, references not another's."""
    editable = principal.editable_chains(session)
    target = rule.target
    if target is not None:
        values = (
            [v for v in [path.get(target.field)] if v is not None]
            if target.location == "path"
            else _body_values(body, target)
        )
        for value in values:
            chains = chains_of(session, target.entity, value)
            if not chains:
                if target.location == "path":
                    raise not_found(target.entity.replace("_", " "), value)
                continue  # the endpoint answers 422 naming the field
            if chains.isdisjoint(editable):
                raise forbidden(
                    f"您不是产业链 {_chain_label(chains)} 的编辑 / you are not an editor of "
                    f"chain {_chain_label(chains)}",
                    chain_ids=sorted(chains),
                )
    for ref in rule.refs:
        for value in _body_values(body, ref):
            chains = chains_of(session, ref.entity, value)
            if chains and chains.isdisjoint(editable):
                raise forbidden(
                    f"{ref.field}: 引用了其他产业链（{_chain_label(chains)}）的{ref.entity} / "
                    f"refers to a {ref.entity.replace('_', ' ')} of chain "
                    f"{_chain_label(chains)}, which you do not edit",
                    field=ref.field,
                    chain_ids=sorted(chains),
                )


def check_raiser_rule(
    rule: Rule, principal: Principal, session: Session, path: dict[str, int | None]
) -> None:
    """The target problem must have been raised by the signed-in user (403 otherwise)."""
    assert rule.target is not None and rule.target.entity == "problem"
    value = path.get(rule.target.field)
    raiser = (
        session.execute(select(Problem.raised_by).where(Problem.id == value)).one_or_none()
        if value is not None and 1 <= value <= MAX_ID
        else None
    )
    if raiser is None:
        raise not_found("problem", value)
    if raiser[0] != principal.id:
        raise forbidden(
            "仅问题提出人（或管理员代为）可评价 / only the one who raised it (or an "
            "administrator acting for them) may rate it"
        )


def _role_check(rule: Rule, principal: Principal) -> bool:
    """True when decided (allowed) by the role alone; raises when refused."""
    if rule.access is Access.AUTHENTICATED:
        return True
    if principal.is_admin:
        return True
    if rule.access is Access.ADMIN:
        raise forbidden("仅管理员可操作 / administrators only")
    if principal.role is UserRole.REPORTER and rule.access is not Access.PROJECT:
        raise forbidden(
            "填报员只能报送本辖区项目的进度和问题 / a reporter may only report progress and "
            "problems of the projects in their region"
        )
    if principal.role not in (UserRole.EDITOR, UserRole.REPORTER):
        raise forbidden("只读账号不能修改数据 / a viewer account can only read")
    return rule.access is Access.REGISTER


def require(rule: Rule) -> DependsParam:
    """The dependency that enforces ``rule`` (and carries it for the route table)."""

    async def check_permission(
        request: Request, principal: CurrentPrincipal, session: SessionDep
    ) -> None:
        if rule.access is Access.RAISER and not principal.is_admin:
            raiser_path = {
                t.field: _path_value(request, t.field) for t in (rule.target,) if t is not None
            }
            await run_in_threadpool(check_raiser_rule, rule, principal, session, raiser_path)
            return
        if _role_check(rule, principal):
            return
        path = {
            t.field: _path_value(request, t.field)
            for t in (rule.target, *rule.refs)
            if t is not None and t.location == "path"
        }
        body = await _validated_body(request) if rule.needs_body else None
        if principal.role is UserRole.REPORTER:
            await run_in_threadpool(check_reporter_rule, rule, principal, session, path, body)
            return
        await run_in_threadpool(check_chain_rule, rule, principal, session, path, body)

    check_permission.permission_rule = rule  # type: ignore[attr-defined]
    return Depends(check_permission)


# --- reporters (issue 16) ------------------------------------------------------------


def check_reporter_rule(
    rule: Rule,
    principal: Principal,
    session: Session,
    path: dict[str, int | None],
    body: Any = None,
) -> None:
    """For a reporter: the target project (path id) must lie in their scope; for a rule
    on a body (raising a problem), the project or enterprise it names must."""
    from chaintrack.dispatch.scope import project_in_scope

    target = rule.target
    if target is not None and target.location == "body":
        check_reporter_body(rule, principal, session, body)
        return
    value = path.get(target.field) if target is not None else None
    if target is None or value is None or target.entity not in ("project", "problem"):
        raise forbidden("填报员不能进行此操作 / a reporter cannot do this")
    project_in_scope(session, principal.id, target.entity, value)


def check_reporter_body(rule: Rule, principal: Principal, session: Session, body: Any) -> None:
    """A reporter raises problems on the projects of their scope and on the enterprises of
    their region (their own enterprise, if the scope names one); not on a whole chain."""
    from chaintrack.dispatch.scope import scope_of
    from chaintrack.models import Enterprise

    named = False
    places: list[tuple[str, int | None]] = []
    for ref in rule.refs:
        for value in _body_values(body, ref):
            named = True
            if ref.entity == "project":
                stmt = select(Project.region_code, Project.owner_enterprise_id)
                row = session.execute(stmt.where(Project.id == value)).first()
            elif ref.entity == "enterprise":
                stmt = select(Enterprise.region_code, Enterprise.id)
                row = session.execute(stmt.where(Enterprise.id == value)).first()
            else:
                continue
            if row is not None:  # an unknown one: the endpoint answers 422 naming the field
                places.append((row[0], row[1]))
    if not named:
        raise forbidden(
            "填报员只能就本辖区的项目或企业提出问题 / a reporter raises problems on a project "
            "or an enterprise of their region, not on a whole chain"
        )
    scope = scope_of(session, principal.id)
    for region_code, owner in places:
        if scope is None or not scope.covers(region_code, owner):
            where = scope.region_code if scope else "（未设置）"
            raise Forbidden(
                f"项目或企业不在您的填报辖区（{where}）内 / the project or enterprise is outside "
                f"your region ({where})",
                rule="reporter_scope",
            )


def project_write(target: Target, *refs: Target) -> DependsParam:
    """Administrators, editors of the target's chain, or reporters whose region (and
    owner enterprise, if set) covers the target project."""
    return require(Rule(Access.PROJECT, target, tuple(refs)))


def chain_write(target: Target, *refs: Target) -> DependsParam:
    """Administrators, or editors of the target's chain."""
    return require(Rule(Access.CHAIN, target, tuple(refs)))


def admin_only() -> DependsParam:
    return require(Rule(Access.ADMIN))


def register_write() -> DependsParam:
    """Administrators and editors: the shared register of enterprises."""
    return require(Rule(Access.REGISTER))


def raiser_only(target: Target) -> DependsParam:
    """The one who raised the problem (``target``), or an administrator acting for them."""
    return require(Rule(Access.RAISER, target))


def signed_in() -> DependsParam:
    """Any signed-in user (e.g. changing one's own password)."""
    return require(Rule(Access.AUTHENTICATED))


def rule_of(route: Any) -> Rule | None:
    """The permission rule a route declares (None when it declares none)."""
    stack = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, "permission_rule", None)
        if isinstance(rule, Rule):
            return rule
        stack.extend(dep.dependencies)
    return None


def _permission_text(rule: Rule | None) -> str:
    if rule is None or rule.access is Access.AUTHENTICATED:
        return "任何登录用户 / any signed-in user."
    if rule.access is Access.ADMIN:
        return "仅管理员 / administrators only."
    if rule.access is Access.RAISER:
        return (
            "问题提出人，或管理员代为 / the user who raised the problem, or an administrator "
            "acting for them (recorded as such); others get 403."
        )
    if rule.access is Access.REGISTER:
        return (
            "管理员和链编辑（企业库为共享登记）/ administrators and editors (the enterprise "
            "register is shared); viewers get 403."
        )
    target = rule.target.describe() if rule.target else ""
    if rule.access is Access.PROJECT and rule.target and rule.target.location == "body":
        return (
            f"管理员、该产业链的编辑，或就本辖区项目/企业提出的填报员 / administrators, editors "
            f"of the chain of `{target}`, or reporters naming a project or enterprise of their "
            "region; others get 403."
        )
    if rule.access is Access.PROJECT:
        return (
            f"管理员、该产业链的编辑或辖区覆盖该项目的填报员 / administrators, editors of the "
            f"chain of `{target}`, or reporters whose region covers the project; others get 403."
        )
    refs = ", ".join(f"`{r.field}`" for r in rule.refs)
    text = (
        f"管理员或该产业链的编辑 / administrators, or editors of the chain of `{target}`; "
        "others get 403."
    )
    if refs:
        text += f" Referenced objects ({refs}) must not belong to a chain you do not edit."
    return text


PERMISSION_NOTE = "**权限 / Permission:**"


def api_routes(routes: Iterable[Any]) -> Iterator[Any]:
    """Every HTTP endpoint of the app with its full path and all its dependencies
    (routers included under a prefix are expanded)."""
    for ctx in iter_route_contexts(list(routes)):
        if isinstance(ctx.original_route, APIRoute):
            yield ctx


def document_permissions(routers: Iterable[Any]) -> None:
    """Add the permission and the 401/403 answers to each route's OpenAPI entry.

    Edits the routers' own routes, once (apps are built repeatedly in tests).
    """
    from chaintrack.errors import Unauthorized, problem_responses

    for router in routers:
        for route in router.routes:
            if not isinstance(route, APIRoute) or PERMISSION_NOTE in (route.description or ""):
                continue
            rule = rule_of(route)
            classes: list[type[Any]] = [Unauthorized]
            if rule is not None and rule.access is not Access.AUTHENTICATED:
                classes.append(Forbidden)
            for status, spec in problem_responses(*classes).items():
                route.responses.setdefault(status, spec)
            note = f"{PERMISSION_NOTE} {_permission_text(rule)}"
            route.description = f"{route.description}\n\n{note}" if route.description else note
