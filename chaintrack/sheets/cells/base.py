"""What every cell parser shares: the error, blank cells, the text of any cell value,
Excel's 15 significant digits and error values, and width/space folding."""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from decimal import Context, Decimal
from typing import Any

#: Excel's precision: a float cell never holds more significant digits than this.
EXCEL_DIGITS = 15
EXCEL_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#UNKNOWN!",
        "#CONNECT!",
        "#BUSY!",
    }
)
MIN_YEAR = 1900
MAX_YEAR = 2200


class CellError(ValueError):
    """A cell that cannot be read as its column's type. ``message`` is for the clerk."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2002\u2003\u2009\u202f\u205f\u3000"), " ")
# Full-width ASCII folded in text: letters, digits and symbols that are not also
# Chinese punctuation (（）、，：；！？“” stay as they are in Chinese prose).
WIDTH_FOLD = {
    cp: cp - 0xFEE0
    for cp in range(0xFF01, 0xFF5F)
    if chr(cp - 0xFEE0).isalnum() or chr(cp - 0xFEE0) in "#$%&*+-./<=>@\\^_`|~"
}
_BLANK = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]*")
CLEAN = {**INVISIBLE, **_SPACES}
CLEAN_TEXT = {**CLEAN, **WIDTH_FOLD}


def is_blank(value: Any) -> bool:
    """None, or a string of nothing but (any kind of) white space."""
    if value is None:
        return True
    if isinstance(value, str):
        return _BLANK.fullmatch(value) is not None
    return False


def tidy(number: Decimal) -> Decimal:
    """Trailing fractional zeros removed, never in exponent notation (1E+3 → 1000)."""
    if number == number.to_integral_value():
        return Decimal(int(number))  # exact at any size (quantize fails past 28 digits)
    return number.normalize()


def decimal_from_float(value: float) -> Decimal:
    """The decimal a float cell shows: its shortest repr, at most 15 significant digits."""
    if math.isnan(value) or math.isinf(value):
        raise CellError("不是有效数值 / not a finite number", "number")
    exact = Decimal(repr(value))
    if len(exact.as_tuple().digits) > EXCEL_DIGITS:
        exact = Context(prec=EXCEL_DIGITS).plus(exact)
    return tidy(exact)


def as_text(value: Any) -> str:
    """The text of any cell value (numbers as a clerk would see them)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format(decimal_from_float(value), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def check_excel_error(text: str) -> None:
    if text[:1] == "#" and text.upper() in EXCEL_ERRORS:
        raise CellError(
            f"单元格为Excel错误值“{text}”，请检查公式 / the cell holds the Excel error {text}",
            "excel_error",
        )


def clean(value: Any) -> str:
    text = as_text(value)
    return text if text.isascii() else text.translate(CLEAN)


def fold_width(text: str) -> str:
    """Full-width ASCII letters, digits and symbols to half-width; Chinese punctuation kept."""
    return text.translate(WIDTH_FOLD)


def nfkc(text: str) -> str:
    """Complete compatibility folding (for codes, numbers, dates, labels)."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text.translate(INVISIBLE)).strip()
