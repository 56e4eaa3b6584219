"""What the import and export routers share: path and format parameters, the file response."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Path, Query, Response
from fastapi.responses import StreamingResponse

from chaintrack.common.ids import StrictId
from chaintrack.imports import exporter, service
from chaintrack.imports.schemas import ExportFormat

Id = Annotated[StrictId, Path()]
Format = Annotated[
    ExportFormat, Query(alias="format", description="xlsx (default) or csv (UTF-8 with BOM)")
]

FILE_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The spreadsheet (Content-Disposition names it)",
        "content": {
            service.media_type(ExportFormat.XLSX): {},
            service.media_type(ExportFormat.CSV): {},
        },
    }
}


def download(
    content: Iterable[bytes], size: int | None, filename: str, fallback: str, fmt: ExportFormat
) -> Response:
    headers = {"Content-Disposition": exporter.content_disposition(filename, fallback)}
    if size is not None:
        headers["Content-Length"] = str(size)
    return StreamingResponse(content, media_type=service.media_type(fmt), headers=headers)
