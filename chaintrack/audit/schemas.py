"""The audit trail as the API shows it (read only)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from chaintrack.common.schemas import OutputModel
from chaintrack.models.enums import AuditAction


class AuditRecordOut(OutputModel):
    id: int
    occurred_at: dt.datetime
    user_id: int | None = Field(description="Who made the change (null: the system / CLI)")
    username: str | None = None
    request_id: str | None = Field(description="The X-Request-ID of the request")
    action: AuditAction = Field(description="create 新增 / update 修改 / delete 删除")
    entity: str = Field(description="Table name", examples=["projects"])
    entity_id: str = Field(description="Primary key; composite keys joined with `/`")
    chain_id: int | None
    changes: dict[str, Any] = Field(
        description=(
            "`{field: {before, after}}` — for a create `before` is null, for a delete `after` "
            "is; decimals are strings, dates ISO 8601; password hashes are `[redacted]`"
        ),
        examples=[{"status": {"before": "signed", "after": "under_construction"}}],
    )
