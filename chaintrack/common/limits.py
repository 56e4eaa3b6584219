"""Request body size limit: 413 ``payload-too-large`` before the app reads too much.

Two caps, read from the environment (``CHAINTRACK_MAX_BODY_BYTES``, default 4 MiB,
for JSON and other bodies; spreadsheet uploads (``multipart/form-data``) get the
import cap ``CHAINTRACK_IMPORT_MAX_BYTES`` plus room for the multipart framing). A
declared ``Content-Length`` over the cap is refused at once; a chunked body is
counted as it arrives and refused as soon as it passes the cap, whatever the
endpoint was doing with it. The other limits live with their data: page size in
``common.pagination`` (``CHAINTRACK_PAGE_SIZE_MAX``), string lengths in each
schema (``max_length``), rows and bytes of an import in ``imports.limits``.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chaintrack.errors import PROBLEM_MEDIA_TYPE, PayloadTooLarge

MiB = 1024 * 1024
MULTIPART_OVERHEAD = 1 * MiB


class LimitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINTRACK_", env_file=".env", extra="ignore")

    max_body_bytes: int = Field(
        default=4 * MiB, ge=1024, description="largest request body other than an upload"
    )


def _upload_cap() -> int:
    from chaintrack.imports.limits import ImportSettings

    return ImportSettings().max_bytes + MULTIPART_OVERHEAD


def _size(n: int) -> str:
    return f"{n / MiB:g} MiB" if n >= MiB else f"{n / 1024:g} KiB"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    def limit_for(self, headers: Headers) -> int:
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return self.max_upload_bytes
        return self.max_body_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        problem = PayloadTooLarge(
            f"请求体超过 {_size(limit)} 上限 / the request body is larger than {_size(limit)}",
            max_bytes=limit,
        )
        response = JSONResponse(
            problem.body(instance=scope.get("path")),
            status_code=problem.status,
            media_type=PROBLEM_MEDIA_TYPE,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = self.limit_for(headers)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return

        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise PayloadTooLarge("request body over the limit")
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # Whatever the app made of the interrupted body, the answer is 413.
                if not started and message["type"] == "http.response.start":
                    started = True
                    await self._refuse(scope, receive, send, limit)
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if exceeded and not started:
                await self._refuse(scope, receive, send, limit)
                return
            raise


def install(app: Starlette, *, max_body_bytes: int | None = None) -> None:
    """Add the middleware to the app (limits from the environment unless given)."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=max_body_bytes or LimitSettings().max_body_bytes,
        max_upload_bytes=_upload_cap(),
    )
