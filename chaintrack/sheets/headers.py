"""Finding the header row: which field each header names, and which row is the header.

Headers compare without case, spaces, width, quotes and required markers; a header
may drop its unit ("营业收入" for "营业收入（万元）") when no other column shares the rest.
The header row is the row among the first few that names the most known columns.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chaintrack.sheets.cells import PAREN, as_text, is_blank, label_key
from chaintrack.sheets.files import SheetError

HEADER_SCAN_ROWS = 10


@dataclass
class HeaderMatch:
    row: int  # 1-based
    columns: dict[str, int]  # field -> 0-based column index
    headers: dict[str, str]  # field -> header text as found in the file
    unknown: list[str]
    duplicates: dict[str, list[str]] = field(default_factory=dict)

    @property
    def score(self) -> int:
        return len(self.columns)


def header_key(text: str) -> str:
    """Headers compare without case, spaces, width, quotes and required markers (*)."""
    key = label_key(text)
    for marker in ("(必填)", "(选填)", "必填", "*"):
        key = key.replace(marker, "")
    return key.rstrip(":")


class HeaderIndex:
    """Which field a header names: by each accepted form, and by it without its unit."""

    def __init__(self, columns: Mapping[str, Iterable[str]]) -> None:
        self.display: dict[str, str] = {}
        self.lookup: dict[str, str] = {}
        short: dict[str, set[str]] = {}
        for name, forms in columns.items():
            forms = [name, *forms]
            self.display[name] = next((f for f in forms[1:] if f), name)
            for form in forms:
                key = header_key(form)
                if key:
                    self.lookup.setdefault(key, name)
                bare = header_key(PAREN.sub("", form))
                if bare and bare != key:
                    short.setdefault(bare, set()).add(name)
        for key, names in short.items():
            if len(names) == 1 and key not in self.lookup:
                self.lookup[key] = next(iter(names))

    def match(self, cells: Sequence[Any], row: int) -> HeaderMatch:
        found = HeaderMatch(row=row, columns={}, headers={}, unknown=[])
        for idx, cell in enumerate(cells):
            if is_blank(cell):
                continue
            text = as_text(cell).strip()
            name = self.lookup.get(header_key(text))
            if name is None:
                found.unknown.append(text)
            elif name in found.columns:
                found.duplicates.setdefault(name, [found.headers[name]]).append(text)
            else:
                found.columns[name] = idx
                found.headers[name] = text
        return found

    def best(self, rows: Iterable[Sequence[Any]]) -> HeaderMatch | None:
        """The row that names the most known columns (the first of equals), or None."""
        best: HeaderMatch | None = None
        for number, cells in enumerate(rows, start=1):
            match = self.match(cells, number)
            if match.score and (best is None or match.score > best.score):
                best = match
        return best

    def not_found(self) -> SheetError:
        sample = "、".join(list(self.display.values())[:4])
        return SheetError(
            "no_header",
            f"前{HEADER_SCAN_ROWS}行中找不到表头（如：{sample}），请使用下载的模板 / "
            "no header row found in the first rows; use the downloaded template",
        )

    def check(self, header: HeaderMatch, required: Collection[str]) -> None:
        """No column twice, every required column present."""
        if header.duplicates:
            shown = "；".join("、".join(texts) for texts in header.duplicates.values())
            raise SheetError(
                "duplicate_columns",
                f"第{header.row}行有重复的列：{shown}，每列只能出现一次 / "
                "the same column appears twice in the header row",
                row=header.row,
            )
        missing = [self.display[name] for name in required if name not in header.columns]
        if missing:
            raise SheetError(
                "missing_columns",
                f"表头（第{header.row}行）缺少必填列：{'、'.join(missing)} / "
                f"required columns are missing: {', '.join(missing)}",
                row=header.row,
            )
