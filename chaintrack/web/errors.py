"""Errors on pages: the API's problem handlers, rendered as Chinese pages.

The app's handlers (``chaintrack.errors``) stay the one place that decides the
status and the message; for a page path the problem they produce is shown as a
page with a way back, and a 401 sends the user to sign in and back again.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from starlette.responses import Response

from chaintrack.web.core import login_url, redirect, render
from chaintrack.web.session import is_page_path

TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限",
    404: "页面或记录不存在",
    405: "不支持的操作",
    409: "与现有数据冲突",
    412: "数据已被他人修改",
    413: "文件或请求过大",
    422: "输入有误",
    428: "缺少版本信息",
    429: "尝试次数过多",
    500: "系统错误",
}
HINTS = {
    403: "您的账号没有执行此操作的权限。如需修改，请联系管理员分配产业链。",
    404: "您要找的页面或记录不存在，可能已被删除或地址有误。",
    409: "此操作与已有数据冲突（例如重复登记），请核对后再试。",
    412: "在您编辑期间，其他人已保存了这条记录。请重新打开页面，查看最新内容后再修改。",
    500: "系统出现意外错误，已记录日志。请稍后再试或联系管理员。",
}

ExceptionHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def _back(request: Request) -> str:
    referer = request.headers.get("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.netloc in ("", request.url.netloc) and parts.path != request.url.path:
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return "/"


def error_page(request: Request, status: int, detail: str | None) -> Response:
    if status == 401:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": login_url(request)})
        return redirect(login_url(request))
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "出错了"),
            "hint": HINTS.get(status, ""),
            "detail": detail,
            "back": _back(request),
        },
        status_code=status,
    )


def _html_aware(handler: ExceptionHandler) -> ExceptionHandler:
    async def handle(request: Request, exc: Any) -> Response:
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        if not is_page_path(request.url.path):
            return response
        detail = None
        try:
            body = json.loads(bytes(response.body))
            detail = body.get("detail")
        except (ValueError, AttributeError):
            pass
        page = error_page(request, response.status_code, detail)
        _end_late_transaction(request)
        for name, value in response.headers.items():
            if name.lower() in ("allow", "retry-after", "x-request-id"):
                page.headers[name] = value
        return page

    return handle


def _end_late_transaction(request: Request) -> None:
    """The error page is rendered after the request's session was ended (the problem was
    raised in a dependency); showing the signed-in user may have begun a new transaction
    on it (on SQLite a write request's takes the write lock), which nothing else would
    end: roll it back here."""
    principal = getattr(request.state, "principal", None)
    session = getattr(principal, "_session", None)
    if session is not None and session.in_transaction():
        session.rollback()
        session.close()


def install(app: FastAPI) -> None:
    """Wrap every installed problem handler (call after chaintrack.errors.install_handlers)."""
    for key, handler in list(app.exception_handlers.items()):
        app.exception_handlers[key] = _html_aware(handler)
