"""What every page uses: templates, the signed-in user, CSRF, permissions, form errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.params import Depends as DependsParam
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from chaintrack import __version__
from chaintrack.auth.deps import CurrentPrincipal, Principal
from chaintrack.auth.permissions import (
    Access,
    Rule,
    Target,
    check_chain_rule,
    check_reporter_rule,
    require,
)
from chaintrack.common.deps import SessionDep
from chaintrack.errors import Conflict, Forbidden, Problem, ValidationProblem
from chaintrack.identifiers import IdentifierError
from chaintrack.models.enums import UserRole
from chaintrack.web.session import CSRF_FIELD, csrf_ok, csrf_token

M = TypeVar("M", bound=BaseModel)

NAV = (
    ("home", "/", "工作台"),
    ("overview", "/overview", "全省总览"),
    ("chains", "/chains", "产业链"),
    ("enterprises", "/enterprises", "企业"),
    ("projects", "/projects", "项目"),
    ("dispatch", "/dispatch", "调度"),
    ("problems", "/problems", "问题"),
    ("attraction", "/attraction", "招商"),
    ("imports", "/imports", "导入"),
    ("assessment", "/assessment", "考核"),
    ("admin", "/admin", "管理"),
)


def _money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    number = Decimal(str(value))
    text = f"{number:,.2f}"
    return text


def _pct(value: Any) -> str:
    if value is None:
        return "—"
    return f"{Decimal(str(value)):.1f}%"


def _label(value: Any) -> str:
    if value is None:
        return "—"
    return str(getattr(value, "label_zh", None) or value)


def _date(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
    return str(value)


env = Environment(
    loader=PackageLoader("chaintrack.web", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters.update(
    money=_money, pct=_pct, label=_label, date=_date, pairs=lambda xs: [(x, x) for x in xs]
)
env.globals.update(NAV=NAV, app_version=__version__, CSRF_FIELD=CSRF_FIELD)


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


env.globals["static"] = static_url


def principal_of(request: Request) -> Principal | None:
    return getattr(request.state, "principal", None)


def can_write(request: Request) -> bool:
    """Whether to show edit controls at all (the rules still decide every POST)."""
    principal = principal_of(request)
    return principal is not None and principal.role in (UserRole.ADMIN, UserRole.EDITOR)


def can_edit_chain(request: Request, session: Session, chain_id: int) -> bool:
    principal = principal_of(request)
    if principal is None:
        return False
    if principal.is_admin:
        return True
    return principal.role is UserRole.EDITOR and chain_id in principal.editable_chains(session)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    section: str | None = None,
) -> HTMLResponse:
    principal = principal_of(request)
    html = env.get_template(template).render(
        request=request,
        path=request.url.path,
        principal=principal,
        user=principal.user if principal is not None else None,
        csrf_token=csrf_token(request),
        can_write=can_write(request),
        section=section,
        **(context or {}),
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_url(request: Request) -> str:
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if wanted == "/" else f"/login?next={quote(wanted, safe='')}"


# --- CSRF and permissions on page POSTs --------------------------------------------------


async def check_csrf(request: Request) -> None:
    """Every page POST carries the form's CSRF token (router-level dependency)."""
    if request.method != "POST":
        return
    form = await request.form()
    if not csrf_ok(request, form):
        raise Forbidden(
            "表单已失效或来源不明（CSRF校验失败），请刷新页面后重试 / CSRF check failed"
        )


def _ints(values: Iterable[Any]) -> list[int]:
    out = []
    for value in values:
        try:
            out.append(int(str(value).strip()))
        except ValueError:
            continue
    return out


def page_rule(rule: Rule) -> DependsParam:
    """The API's permission rule for a page POST whose fields arrive as a form.

    The role and path targets are checked by the API's own dependency
    (``auth.permissions.require``); body targets and references are read from the
    form and checked by the same ``check_chain_rule``.
    """
    path_target = rule.target if rule.target and rule.target.location == "path" else None
    base = require(Rule(rule.access, path_target)).dependency
    assert base is not None
    body_targets: list[Target] = [
        t for t in (rule.target, *rule.refs) if t is not None and t.location == "body"
    ]

    async def form_body(request: Request) -> dict[str, Any]:
        form = await request.form()
        return {
            t.field: _ints(form.getlist(t.field))
            if t.many
            else next(iter(_ints(form.getlist(t.field))), None)
            for t in body_targets
        }

    async def check_page_permission(
        request: Request, principal: CurrentPrincipal, session: SessionDep
    ) -> None:
        if (
            principal.role is UserRole.REPORTER
            and rule.access is Access.PROJECT
            and path_target is None
            and body_targets
        ):  # a reporter raising a problem: the project or enterprise named in the form
            body = await form_body(request)
            await run_in_threadpool(check_reporter_rule, rule, principal, session, {}, body)
            return
        await base(request, principal, session)
        if (
            not body_targets
            or principal.is_admin
            or principal.role is UserRole.REPORTER
            or rule.access not in (Access.CHAIN, Access.PROJECT)
        ):
            return
        body = await form_body(request)
        target = rule.target if rule.target in body_targets else None
        refs = tuple(t for t in body_targets if t is not target)
        await run_in_threadpool(
            check_chain_rule, Rule(Access.CHAIN, target, refs), principal, session, {}, body
        )

    check_page_permission.permission_rule = rule  # type: ignore[attr-defined]
    return Depends(check_page_permission)


# --- forms --------------------------------------------------------------------------------


def form_values(
    form: Any, *, lists: Iterable[str] = (), skip: Iterable[str] = ()
) -> dict[str, Any]:
    """A form's fields as a dict for a schema: blanks left out, ``lists`` as lists."""
    lists = set(lists)
    skip = {CSRF_FIELD, "etag", *skip}
    out: dict[str, Any] = {}
    for key in form:
        if key in skip:
            continue
        if key in lists:
            out[key] = [v.strip() for v in form.getlist(key) if isinstance(v, str) and v.strip()]
            continue
        value = form.get(key)
        if isinstance(value, str) and value.strip():
            out[key] = value.strip()
    for key in lists:
        out.setdefault(key, [])
    return out


def parse(model: type[M], data: dict[str, Any]) -> M:
    return model.model_validate(data)


def field_errors(exc: Exception) -> dict[str, str]:
    """Field -> Chinese-first message, from a pydantic ValidationError or a problem.
    A message about the whole form is under ``""``."""
    out: dict[str, str] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            field = ".".join(loc) or ""
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, IdentifierError):
                message = cause.message
            else:
                message = str(err.get("msg", "无效")).removeprefix("Value error, ")
                message = _zh_message(err.get("type", ""), message)
            out.setdefault(field, message)
        return out
    if isinstance(exc, IdentifierError):
        return {exc.kind: exc.message}
    if isinstance(exc, Problem):
        for fe in exc.errors or []:
            out.setdefault(fe.field, fe.message)
        if not out:
            out[""] = exc.detail or exc.title
        return out
    return {"": str(exc)}


_ZH = {
    "missing": "必填 / required",
    "string_too_short": "必填 / required",
    "int_parsing": "请输入整数 / a whole number",
    "decimal_parsing": "请输入数字 / a number",
    "date_from_datetime_parsing": "日期格式为 YYYY-MM-DD / a date",
    "date_parsing": "日期格式为 YYYY-MM-DD / a date",
    "enum": "请从列表中选择 / choose from the list",
    "greater_than_equal": "不能为负数 / may not be negative",
    "extra_forbidden": "不接受此字段 / not accepted",
}


def _zh_message(kind: str, message: str) -> str:
    if kind in _ZH:
        return f"{_ZH[kind]}（{message}）" if kind not in ("missing",) else _ZH[kind]
    return message


#: Failures shown beside the form's fields (others become the 403 / 404 / ... pages).
FORM_PROBLEMS: tuple[type[Exception], ...] = (
    ValidationError,
    IdentifierError,
    ValidationProblem,
    Conflict,
)


def form_failed(session: Session) -> None:
    """Undo whatever the failed attempt flushed: a refused form writes nothing."""
    session.rollback()


Handler = Callable[..., Any]
