"""The chase list (催报清单) and the red list (预警清单) as Excel workbooks, written by
the sheets writer (chaintrack.sheets.writer): bold frozen header, code columns as text,
user text that looks like a formula kept as text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.models import Chain, DispatchRound, User
from chaintrack.sheets.columns import Column
from chaintrack.sheets.kind_base import ColumnKind
from chaintrack.sheets.sheetspec import SheetSpec
from chaintrack.sheets.writer import xlsx_bytes

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEVEL_ZH = {"red": "红", "yellow": "黄", "green": "绿"}


def _col(field: str, header: str, kind: ColumnKind = ColumnKind.TEXT, **kw: Any) -> Column:
    return Column(field, header, kind, export_only=True, **kw)


_COMMON = (
    _col("project_id", "项目ID", ColumnKind.INTEGER),
    _col("name", "项目名称", width=36),
    _col("chain", "产业链", width=20),
    _col("city_code", "地市代码", ColumnKind.CODE),
)
CHASE_SPEC = SheetSpec(
    name="dispatch_chase",
    title_zh="催报清单",
    title_en="Chase list",
    columns=(
        *_COMMON,
        _col("reason_zh", "催报原因"),
        _col("reporters", "填报员", width=30),
    ),
    key=(),
)
RED_SPEC = SheetSpec(
    name="dispatch_warnings",
    title_zh="预警清单",
    title_en="Warnings",
    columns=(
        *_COMMON,
        _col("level_zh", "预警等级"),
        _col("reasons", "预警原因", width=60),
    ),
    key=(),
)


def _chain_names(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    ids = {r["chain_id"] for r in rows}
    return dict(
        session.execute(select(Chain.id, Chain.name_zh).where(Chain.id.in_(ids))).tuples().all()
    )


def chase_xlsx(session: Session, rows: Sequence[Mapping[str, Any]]) -> bytes:
    chains = _chain_names(session, rows)
    uids = {u for r in rows for u in r["reporter_ids"]}
    names = dict(
        session.execute(select(User.id, User.display_name).where(User.id.in_(uids))).tuples().all()
    )
    return xlsx_bytes(
        CHASE_SPEC,
        (
            {
                **r,
                "chain": chains.get(r["chain_id"], str(r["chain_id"])),
                "reporters": "、".join(names.get(u, str(u)) for u in r["reporter_ids"]),
            }
            for r in rows
        ),
        instructions=False,
    )


def red_xlsx(session: Session, rows: Sequence[Mapping[str, Any]]) -> bytes:
    chains = _chain_names(session, rows)
    return xlsx_bytes(
        RED_SPEC,
        (
            {
                **r,
                "chain": chains.get(r["chain_id"], str(r["chain_id"])),
                "level_zh": LEVEL_ZH[r["level"]],
                "reasons": "；".join(r["reasons"]),
            }
            for r in rows
        ),
        instructions=False,
    )


def disposition(rnd: DispatchRound, what: str) -> str:
    """``what``: "chase" (催报清单) or "warnings" (预警清单)."""
    zh = "催报清单" if what == "chase" else "预警清单"
    return (
        f'attachment; filename="dispatch-{rnd.period}-{what}.xlsx"; '
        f"filename*=UTF-8''{quote(f'{rnd.period}{zh}')}.xlsx"
    )
