"""Bulk look-ups of the natural keys a sheet carries: one statement per chunk.

Sheets reference other records by natural keys (a USCC, a chain code, a node code, a
project's internal code); the handlers resolve a whole chunk's keys at once with
these helpers, never one statement per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, TypeVar

from sqlalchemy import JSON, ColumnElement, Select, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from chaintrack.models import Chain, Enterprise, MapNode, Project

T = TypeVar("T")
IN_BATCH = 1000  # keys per look-up statement (an import chunk's worth)


def batched(values: Collection[T], size: int = IN_BATCH) -> Iterable[list[T]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_values(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values as one parameter: a JSON array read by
    ``json_each`` on SQLite, an array (``= ANY``) on PostgreSQL.

    ``column.in_(values)`` binds one parameter per value, which SQLAlchemy renders into
    the SQL text on every execution (and psycopg parses again): for a thousand keys per
    chunk that cost more than the look-up. With one parameter the statement's text is
    the same every time, compiled and prepared once.
    """
    items = list(values)
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, items, type_=ARRAY(column.type)))
    # Each value as the column stores it (dates as text, money as scaled integers).
    proc = column.type.dialect_impl(dialect).bind_processor(dialect)
    if proc is not None:
        items = [v if v is None else proc(v) for v in items]
    keys: Select[Any] = select(literal_column("value")).select_from(
        func.json_each(bindparam(None, items, type_=JSON()))
    )
    return column.in_(keys.scalar_subquery())


def enterprises_by_uscc(session: Session, usccs: Collection[str]) -> dict[str, Enterprise]:
    out: dict[str, Enterprise] = {}
    for part in batched({u for u in usccs if u}):
        for ent in session.scalars(
            select(Enterprise).where(in_values(session, Enterprise.uscc, part))
        ):
            out[ent.uscc] = ent
    return out


def enterprise_refs(session: Session, usccs: Collection[str]) -> dict[str, tuple[int, str]]:
    """USCC -> (id, name) without loading whole rows."""
    out: dict[str, tuple[int, str]] = {}
    for part in batched({u for u in usccs if u}):
        for ent_id, uscc, name in session.execute(
            select(Enterprise.id, Enterprise.uscc, Enterprise.name).where(
                in_values(session, Enterprise.uscc, part)
            )
        ):
            out[uscc] = (ent_id, name)
    return out


def projects_by_code(session: Session, codes: Collection[str]) -> dict[str, Project]:
    out: dict[str, Project] = {}
    for part in batched({c for c in codes if c}):
        for project in session.scalars(
            select(Project).where(in_values(session, Project.internal_code, part))
        ):
            out[project.internal_code] = project
    return out


class ChainCodes:
    """Chains by code (exact, then case-insensitive), loaded once per import."""

    def __init__(self, session: Session) -> None:
        rows = session.execute(select(Chain.id, Chain.code, Chain.name_zh)).all()
        self.by_code = {code: (cid, code, name) for cid, code, name in rows}
        self.by_upper = {code.upper(): (cid, code, name) for cid, code, name in rows}
        self.by_id = {cid: (cid, code, name) for cid, code, name in rows}

    def find(self, code: str) -> tuple[int, str, str] | None:
        return self.by_code.get(code) or self.by_upper.get(code.upper())

    def code_of(self, chain_id: int) -> str:
        found = self.by_id.get(chain_id)
        return found[1] if found else str(chain_id)


class NodeCodes:
    """Map nodes by (chain, code), fetched per chunk and cached."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, str], int | None] = {}

    def load(self, session: Session, wanted: Iterable[tuple[int, str]]) -> None:
        missing = {w for w in wanted if w not in self.cache}
        by_chain: dict[int, set[str]] = {}
        for chain_id, code in missing:
            by_chain.setdefault(chain_id, set()).add(code)
        for chain_id, codes in by_chain.items():
            found: dict[str, int] = {}
            for part in batched(codes):
                for node_id, code in session.execute(
                    select(MapNode.id, MapNode.code).where(
                        MapNode.chain_id == chain_id, in_values(session, MapNode.code, part)
                    )
                ):
                    found[code] = node_id
            for code in codes:
                self.cache[(chain_id, code)] = found.get(code)

    def get(self, chain_id: int, code: str) -> int | None:
        return self.cache.get((chain_id, code))


def changed_fields(obj: Any, values: dict[str, Any]) -> list[str]:
    """Names of the attributes whose stored value differs (Decimals compare as numbers)."""
    return [name for name, value in values.items() if getattr(obj, name) != value]
