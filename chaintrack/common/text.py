"""What a stored text may hold: one rule for every text field and every imported cell.

- No control characters (Unicode category Cc: U+0000-U+001F, U+007F-U+009F) and no lone
  surrogates: the database cannot hold NUL, Excel cannot hold most controls (the
  ``.xlsx`` export would drop them, so export -> import would change the text), and none of
  them is something a clerk typed. Multi-line fields (notes, descriptions: see
  ``is_multiline``) keep tab, line feed and carriage return.
- Not invisible only: a name made of zero-width characters, a BOM, fillers or blanks
  shows as nothing in every list and cannot be told apart from another one.

``check_text`` raises ``ValueError`` with a Chinese + English message (pydantic turns it
into a 422 naming the field); ``InputModel`` applies it to every text field of every
request body, ``lists.attributes`` to text attributes, and the sheet reader to cells.
"""

from __future__ import annotations

import re
import unicodedata

# A field this long is prose (notes, descriptions, reasons, content); shorter ones are
# names, titles, codes: one line.
MULTILINE_MIN_LENGTH = 1000

_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")

# Categories that render as nothing: controls, format characters (zero-width space and
# joiners, BOM, bidi marks, soft hyphen), separators (spaces, line/paragraph), surrogates.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs"})
# Letters and marks that render as nothing too (fillers, variation selectors, CGJ).
_INVISIBLE_CHARS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0"
    + "".join(chr(c) for c in range(0x180B, 0x1810))
    + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)
_VARIATION_SUPPLEMENT = range(0xE0100, 0xE01F0)


_MULTILINE_NOTE = ("（制表符、换行除外）", " (tabs and line breaks are fine)")


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def is_invisible(ch: str) -> bool:
    return (
        unicodedata.category(ch) in _INVISIBLE_CATEGORIES
        or ch in _INVISIBLE_CHARS
        or ord(ch) in _VARIATION_SUPPLEMENT
    )


def is_multiline(max_length: int | None) -> bool:
    return max_length is not None and max_length >= MULTILINE_MIN_LENGTH


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why ``value`` cannot be stored as text (Chinese / English), or None when it can."""
    bad = (_CONTROL_MULTILINE if multiline else _CONTROL_ONE_LINE).search(value)
    if bad is not None:
        ch, position = bad.group(), bad.start() + 1
        allowed_zh, allowed_en = (
            ("（制表符、换行除外）", " (tabs and line breaks are fine)") if multiline else ("", "")
        )
        return (
            f"第{position}个字符是控制字符{_describe(ch)}，不能保存{allowed_zh} / "
            f"contains a control character ({_describe(ch)} at position {position}){allowed_en}"
        )
    if value and all(is_invisible(ch) for ch in value):
        return (
            "不能只由空白或不可见字符（零宽字符、BOM等）组成 / "
            "must not consist only of blank or invisible characters (zero-width, BOM, ...)"
        )
    return None


def check_text(value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or ValueError with the reason (see ``text_problem``)."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise ValueError(problem)
    return value
