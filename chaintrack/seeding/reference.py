"""Reference data: regions, tiers, project types, list types, chain groups and chains,
the problem categories.

Loading is an upsert by natural key that only touches rows whose content
differs, so loading twice leaves the same rows (and the same versions).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaintrack.models import (
    Base,
    Chain,
    ChainGroup,
    ListType,
    ProblemCategory,
    ProjectTypeDefinition,
    Region,
    TierDefinition,
)

SEEDS_DIR = Path(__file__).resolve().parents[2] / "seeds"
REFERENCE_DIR = SEEDS_DIR / "reference"


def _upsert(
    session: Session, model: type[Base], key: dict[str, Any], values: dict[str, Any]
) -> bool:
    """Insert or update one row; returns True when something changed."""
    row = session.scalars(select(model).filter_by(**key)).one_or_none()
    if row is None:
        session.add(model(**key, **values))
        return True
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def _read_json(name: str, directory: Path) -> Any:
    return json.loads((directory / name).read_text(encoding="utf-8"))


def load_regions(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    with (directory / "regions.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # Parents first, so the self-reference holds at every flush.
    rows.sort(key=lambda r: (r["parent_code"] != "", r["code"]))
    for row in rows:
        changed += _upsert(
            session,
            Region,
            {"code": row["code"]},
            {
                "name_zh": row["name_zh"],
                "name_en": row["name_en"] or None,
                "parent_code": row["parent_code"] or None,
                "abolished_on": dt.date.fromisoformat(row["abolished_on"])
                if row["abolished_on"]
                else None,
                "successor_code": row["successor_code"] or None,
            },
        )
        session.flush()
    return changed


def load_tiers(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    for item in _read_json("tiers.json", directory):
        code = item.pop("code")
        changed += _upsert(session, TierDefinition, {"code": code}, item)
    return changed


def load_project_types(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    for item in _read_json("project_types.json", directory):
        code = item.pop("code")
        changed += _upsert(session, ProjectTypeDefinition, {"code": code}, item)
    return changed


def load_list_types(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    for item in _read_json("list_types.json", directory):
        code = item.pop("code")
        item.setdefault("description", None)
        changed += _upsert(session, ListType, {"code": code}, item)
    return changed


def load_chains(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    data = _read_json("chains.json", directory)
    for position, group in enumerate(data["groups"]):
        chains = group.pop("chains")
        changed += _upsert(
            session,
            ChainGroup,
            {"code": group["code"]},
            {
                "name_zh": group["name_zh"],
                "name_en": group["name_en"],
                "description": group.get("description"),
                "position": position,
            },
        )
        session.flush()
        group_id = session.scalars(select(ChainGroup.id).filter_by(code=group["code"])).one()
        for chain in chains:
            changed += _upsert(
                session,
                Chain,
                {"code": chain["code"]},
                {
                    "name_zh": chain["name_zh"],
                    "name_en": chain["name_en"],
                    "group_id": group_id,
                    "region_code": chain.get("region_code", "370000"),
                    "description": chain.get("description"),
                },
            )
    return changed


def load_problem_categories(session: Session, directory: Path = REFERENCE_DIR) -> int:
    changed = 0
    for position, item in enumerate(_read_json("problem_categories.json", directory)):
        code = item.pop("code")
        changed += _upsert(session, ProblemCategory, {"code": code}, {**item, "position": position})
    return changed


def load_reference(session: Session, directory: Path = REFERENCE_DIR) -> dict[str, int]:
    """Load every reference file; returns the number of rows changed per file."""
    counts = {
        "regions": load_regions(session, directory),
        "tiers": load_tiers(session, directory),
        "project_types": load_project_types(session, directory),
        "list_types": load_list_types(session, directory),
        "chains": load_chains(session, directory),
        "problem_categories": load_problem_categories(session, directory),
    }
    session.flush()
    return counts
