"""Request ids: taken from ``X-Request-ID`` (when sane) or generated, echoed back.

The id is in ``request.state.request_id`` for the session dependency, which
puts it on every audit record the request writes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
_HEADER_BYTES = HEADER.lower().encode()
_SANE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,64}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def pick_request_id(sent: str | None) -> str:
    """The client's id when it is short and plain, else a new one."""
    if sent and _SANE.match(sent):
        return sent
    return new_request_id()


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope.get("headers", []):
            if name == _HEADER_BYTES:
                sent = value.decode("latin-1")
                break
        request_id = pick_request_id(sent)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != _HEADER_BYTES
                ]
                headers.append((_HEADER_BYTES, request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
