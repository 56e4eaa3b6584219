"""Number cells: decimals (exact, Excel's digits), whole numbers and years."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from chaintrack.sheets.cells.base import (
    MAX_YEAR,
    CellError,
    as_text,
    check_excel_error,
    clean,
    decimal_from_float,
    is_blank,
    nfkc,
    tidy,
)

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_NUMBER_SPACES = re.compile(r"[\s']")


def _number_text(value: Any, *, unit: str | None) -> str:
    """A number typed as text, with separators, sign forms and the unit removed."""
    text = nfkc(clean(value))
    check_excel_error(text)
    text = _NUMBER_SPACES.sub("", text).replace("−", "-").replace("－", "-")
    if unit == "万元":
        if text.endswith("万元"):
            text = text[:-2]
        elif text.endswith("万"):
            text = text[:-1]
        elif text.endswith("亿元") or text.endswith("亿") or text.endswith("元"):
            raise CellError(
                f"“{text}”的单位不对：本列单位为万元，请换算成万元后只填数字 / "
                "this column is in 10,000 yuan (万元): convert and enter the number only",
                "unit",
            )
    elif unit == "%" and text.endswith("%"):
        text = text[:-1]
    elif unit and text.endswith(unit):
        text = text[: -len(unit)]
    if text.startswith("(") and text.endswith(")"):
        text = "-" + text[1:-1]
    if "," in text:
        if not _GROUPED.fullmatch(text):
            raise CellError(
                f"“{text}”的千分位分隔符位置不对（应如1,234.50） / "
                "misplaced thousands separator (write 1,234.50)",
                "number",
            )
        text = text.replace(",", "")
    return text


def to_decimal(value: Any, *, unit: str | None) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"应为数值，实际为“{as_text(value)}” / a number is expected", "number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return decimal_from_float(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellError("不是有效数值 / not a finite number", "number")
        return value
    if isinstance(value, (dt.date, dt.time)):
        raise CellError(
            f"应为数值，实际为日期“{as_text(value)}”，请将单元格格式设为“常规”或“数值” / "
            "a number is expected, not a date (set the cell format to General or Number)",
            "number",
        )
    if isinstance(value, str) and value.isascii() and _PLAIN_NUMBER.fullmatch(value):
        return Decimal(value)
    text = _number_text(value, unit=unit)
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or not text:
        raise CellError(f"“{as_text(value).strip()}”不是有效数值 / not a number", "number")
    return number


def parse_decimal(
    value: Any,
    *,
    scale: int | None = None,
    max_digits: int | None = None,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    unit: str | None = None,
) -> Decimal | None:
    """An exact Decimal. ``unit`` (``"万元"``, ``"%"``) may be typed after the number.

    ``scale``: most decimal places allowed (trailing zeros do not count);
    ``max_digits``: most digits in all (as NUMERIC(max_digits, scale)).
    """
    if is_blank(value):
        return None
    number = to_decimal(value, unit=unit)
    exponent = number.as_tuple().exponent
    if scale is not None and isinstance(exponent, int) and -exponent > scale:
        places = max(0, -int(tidy(number).as_tuple().exponent))  # trailing zeros do not count
        if places > scale:
            raise CellError(
                f"“{format(number, 'f')}”最多保留{scale}位小数 / at most {scale} decimal places",
                "scale",
            )
    if max_digits is not None:
        int_digits = max(0, number.adjusted() + 1) if number else 0
        allowed = max_digits - (scale or 0)
        if int_digits > allowed:
            raise CellError(
                f"“{format(number, 'f')}”整数部分最多{allowed}位 / "
                f"at most {allowed} digits before the decimal point",
                "range",
            )
    check_range(number, min_value, max_value, unit)
    return number


def check_range(number: Any, low: Any, high: Any, unit: str | None = None) -> None:
    u = "" if unit in (None, "万元") else unit
    if low is not None and number < low:
        raise CellError(f"不能小于{low}{u}，实际为{number}{u} / must be at least {low}{u}", "range")
    if high is not None and number > high:
        raise CellError(
            f"不能大于{high}{u}，实际为{number}{u} / must be at most {high}{u}", "range"
        )


def parse_integer(
    value: Any,
    *,
    min_value: int | None = None,
    max_value: int | None = None,
    unit: str | None = None,
) -> int | None:
    """A whole number (``1,234``, ``１２３``, ``12.0`` are fine; ``12.5`` is not)."""
    if type(value) is int:
        result = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        result = int(value)
    elif is_blank(value):
        return None
    else:
        result = _integral(value, unit)
    check_range(result, min_value, max_value, unit)
    return result


def _integral(value: Any, unit: str | None) -> int:
    number = to_decimal(value, unit=unit)
    if number != number.to_integral_value():
        raise CellError(
            f"应为整数，实际为“{format(number, 'f')}” / a whole number is expected", "integer"
        )
    return int(number)


def parse_year(value: Any, *, min_year: int = 1949, max_year: int = MAX_YEAR) -> int | None:
    """A year: ``2024``, ``2024年``, or a date cell (its year)."""
    if type(value) is int:
        year = value
    elif isinstance(value, str) and len(value) == 4 and value.isascii() and value.isdigit():
        year = int(value)
    elif is_blank(value):
        return None
    elif isinstance(value, (dt.date, dt.datetime)):
        year = value.year
    else:
        if isinstance(value, str):
            text = nfkc(value)
            value = text[:-1] if text.endswith("年") else text
        try:
            year = parse_integer(value) or 0
        except CellError:
            raise CellError(
                f"“{as_text(value).strip()}”不是有效年份（应如2024） / not a year (e.g. 2024)",
                "year",
            ) from None
    if not min_year <= year <= max_year:
        raise CellError(
            f"年份应在{min_year}—{max_year}之间，实际为{year} / "
            f"the year must be between {min_year} and {max_year}",
            "year",
        )
    return year
