"""Text cells: trimmed, spaces collapsed, full-width ASCII folded, Chinese kept."""

from __future__ import annotations

import re
from typing import Any

from chaintrack.common.text import text_problem
from chaintrack.sheets.cells.base import CLEAN_TEXT, CellError, as_text, check_excel_error, is_blank

_WS_RUN = re.compile(r"\s+")
_INLINE_WS_RUN = re.compile(r"[^\S\n]+")
# A leading apostrophe our CSV export adds so Excel does not run a value as a formula.
_FORMULA_START = frozenset("=+-@\t\r")


_SPECIAL = "".join(map(chr, CLEAN_TEXT))
# Text that parse_text returns unchanged: no white space but single inner spaces, none
# of the characters it folds, no apostrophe or '#' in front (formula guard, error values).
# Control characters and lone surrogates are refused by the text rule (common/text.py).
_NEVER_PLAIN = "\\x00-\\x1f\\x7f-\\x9f\\ud800-\\udfff"
_PLAIN_TEXT = re.compile(
    f"[^\\s'#{re.escape(_SPECIAL)}{_NEVER_PLAIN}](?: ?[^\\s{re.escape(_SPECIAL)}{_NEVER_PLAIN}])*"
)


def plain_text(value: Any) -> bool:
    """``parse_text(value)`` would return ``value`` itself (a quick check first)."""
    return value.__class__ is str and _PLAIN_TEXT.fullmatch(value) is not None


def parse_text(value: Any, *, multiline: bool = False, max_length: int | None = None) -> str | None:
    """Trimmed text; inner white space collapsed (line breaks kept when ``multiline``)."""
    if is_blank(value):
        return None
    text = as_text(value)
    if not text.isascii():
        text = text.translate(CLEAN_TEXT)
    if multiline:
        lines = [_INLINE_WS_RUN.sub(" ", line).strip() for line in text.splitlines()]
        text = "\n".join(lines).strip("\n")
        text = re.sub(r"\n{3,}", "\n\n", text)
    elif " " in text or not text.isprintable():
        text = _WS_RUN.sub(" ", text).strip()
    else:
        text = text.strip()
    if len(text) > 1 and text[0] == "'" and text[1] in _FORMULA_START:
        text = text[1:]
    check_excel_error(text)
    # The API's rule for every text field (chaintrack.common.text), so that whatever an
    # import stores an export writes back and an import reads again.
    problem = text_problem(text, multiline=multiline)
    if problem is not None:
        raise CellError(problem, "text")
    if max_length is not None and len(text) > max_length:
        raise CellError(
            f"不能超过{max_length}个字，实际{len(text)}个字 / "
            f"at most {max_length} characters, this has {len(text)}",
            "too_long",
        )
    return text


_LIST_SEPARATORS = re.compile(r"[;；\n|｜]+")


def parse_text_list(value: Any, *, max_length: int | None = None) -> list[str]:
    """Several names in one cell, separated by ``；`` ``;`` ``|`` or line breaks."""
    text = parse_text(value, multiline=True)
    if text is None:
        return []
    out: list[str] = []
    for part in _LIST_SEPARATORS.split(text):
        item = parse_text(part, max_length=max_length)
        if item and item not in out:
            out.append(item)
    return out
