"""Identifier cells: credit codes, region codes, project codes and short codes.

A code typed into a General cell is stored as a number when it is all digits. A double
keeps 15 significant digits, so an 18-digit credit code ``913702000049936450`` comes
back as ``913702000049936000`` (or ``9.13702000049937E+17``): such a cell is refused
with a message saying what happened (``check_number_kept_digits``) rather than a check
character that looks wrong. A number that still holds every digit (a 6-digit region
code, a 15-digit project code) is read as the code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from chaintrack.identifiers import (
    IdentifierError,
    validate_internal_project_code,
    validate_national_project_code,
    validate_region_code,
    validate_uscc,
)
from chaintrack.sheets.cells.base import (
    EXCEL_DIGITS,
    CellError,
    as_text,
    check_excel_error,
    clean,
    is_blank,
    nfkc,
)


def check_number_kept_digits(value: Any) -> None:
    """Refuse a number cell in a code column that has more digits than a double keeps
    (more than 15 significant digits, or a whole number of 16 digits or more)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            return
        if value.is_integer():
            lost = len(str(int(abs(value)))) > EXCEL_DIGITS
        else:
            lost = len(Decimal(repr(value)).as_tuple().digits) > EXCEL_DIGITS
    else:
        lost = len(str(abs(value))) > EXCEL_DIGITS
    if lost:
        raise CellError(
            f"该单元格以数字形式保存（显示为“{as_text(value)}”），数字最多保留15位，代码的末尾"
            "几位已经丢失：请将本列单元格格式设为“文本”，再重新输入完整代码 / the cell was "
            "stored as a number and lost digits (a number keeps 15): format the column as "
            "text and type the code again",
            "lost_digits",
        )


def _identifier(value: Any, validator: Callable[[str], str]) -> str | None:
    if is_blank(value):
        return None
    check_number_kept_digits(value)
    text = nfkc(clean(value)).lstrip("'")  # '9137... : the apostrophe that keeps Excel off
    check_excel_error(text)
    if not text.isalnum():
        text = re.sub(r"\s+", "", text)
    try:
        return validator(text)
    except IdentifierError as exc:
        raise CellError(exc.message, exc.kind) from None


def parse_uscc(value: Any) -> str | None:
    """统一社会信用代码, normalised (half-width, upper case) and checked."""
    return _identifier(value, validate_uscc)


def parse_region_code(value: Any) -> str | None:
    return _identifier(value, validate_region_code)


def parse_internal_code(value: Any) -> str | None:
    return _identifier(value, validate_internal_project_code)


def parse_national_code(value: Any) -> str | None:
    return _identifier(value, validate_national_project_code)


def parse_code(value: Any, *, max_length: int = 32) -> str | None:
    """A short code (chain code, node code): half-width, no spaces; case kept."""
    if is_blank(value):
        return None
    check_number_kept_digits(value)
    text = re.sub(r"\s+", "", nfkc(clean(value))).lstrip("'")
    check_excel_error(text)
    if len(text) > max_length:
        raise CellError(
            f"代码不能超过{max_length}位 / a code has at most {max_length} characters", "too_long"
        )
    return text
