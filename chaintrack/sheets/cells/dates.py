"""Date and period (reporting month) cells: date cells, Excel serials, and text."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

from chaintrack.sheets.cells.base import (
    MAX_YEAR,
    MIN_YEAR,
    CellError,
    as_text,
    check_excel_error,
    clean,
    is_blank,
    nfkc,
    tidy,
)
from chaintrack.sheets.cells.numbers import to_decimal

# Excel's last valid serial is 9999-12-31.
_MAX_SERIAL = 2958465

_DATE_FORMATS_HELP = "2024-03-05、2024/3/5、2024年3月5日或20240305"
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_TEXT = re.compile(r"^\d{5}(?:\.\d+)?$")


def excel_serial_to_date(serial: float | int | Decimal, *, date1904: bool = False) -> dt.date:
    """The date of an Excel serial number (its fraction, the time of day, is dropped).

    In the 1900 date system Excel counts the non-existent 1900-02-29 (serial 60), so
    serials from 61 on are one day ahead of a plain count from 1899-12-31.
    """
    day = math.floor(serial)
    if date1904:
        if not 0 <= day <= _MAX_SERIAL - 1462:
            raise CellError(f"日期序号{serial}超出范围 / date serial out of range", "date")
        return dt.date(1904, 1, 1) + dt.timedelta(days=day)
    if not 1 <= day <= _MAX_SERIAL:
        raise CellError(f"日期序号{serial}超出范围 / date serial out of range", "date")
    if day == 60:
        raise CellError(
            "日期序号60对应1900年2月29日，该日期不存在（Excel闰年错误） / "
            "serial 60 is 1900-02-29, a day that does not exist (Excel's leap-year bug)",
            "date",
        )
    if day < 60:
        return dt.date(1899, 12, 31) + dt.timedelta(days=day)
    return dt.date(1899, 12, 30) + dt.timedelta(days=day)


def date_to_excel_serial(day: dt.date) -> int:
    """The 1900-system serial of a date (inverse of ``excel_serial_to_date``)."""
    if day < dt.date(1900, 3, 1):
        return (day - dt.date(1899, 12, 31)).days
    return (day - dt.date(1899, 12, 30)).days


def _make_date(year: int, month: int, day: int, shown: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(f"日期“{shown}”不存在 / '{shown}' is not a real date", "date") from None


def _date_or_none(value: Any, date1904: bool) -> dt.date | None:
    """A date if the value is one in any accepted form; None if it is not a date at all."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Decimal)):
        number = to_decimal(value, unit=None)
        if number == number.to_integral_value() and 19000101 <= number <= 22001231:
            text = str(int(number))
            return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]), text)
        if number <= 0:
            return None
        return excel_serial_to_date(number, date1904=date1904)
    if not isinstance(value, str):
        return None
    text = nfkc(clean(value))
    check_excel_error(text)
    if m := _DATE_TEXT.fullmatch(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _DATE_COMPACT.fullmatch(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if _SERIAL_TEXT.fullmatch(text):
        return excel_serial_to_date(Decimal(text), date1904=date1904)
    return None


def parse_date(
    value: Any,
    *,
    min_year: int = MIN_YEAR,
    max_year: int = MAX_YEAR,
    date1904: bool = False,
) -> dt.date | None:
    """A calendar date from a date cell, an Excel serial or text (see module doc)."""
    if is_blank(value):
        return None
    if isinstance(value, dt.time):
        raise CellError("应为日期，实际为时间 / a date is expected, not a time", "date")
    day = _date_or_none(value, date1904)
    if day is None:
        raise CellError(
            f"“{as_text(value).strip()}”不是有效日期，请填写如{_DATE_FORMATS_HELP} / "
            "not a date; write e.g. 2024-03-05",
            "date",
        )
    if not min_year <= day.year <= max_year:
        raise CellError(
            f"日期{day.isoformat()}的年份应在{min_year}—{max_year}之间 / "
            f"the year must be between {min_year} and {max_year}",
            "date",
        )
    return day


_PERIOD_FORMATS_HELP = "2024-03、2024/3、2024年3月或202403"
_PERIOD_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*(?:月份?)?$")
_PERIOD_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
MIN_PERIOD_YEAR = 2000


def _period_error(shown: str) -> CellError:
    return CellError(
        f"“{shown}”不是有效的年月，请填写如{_PERIOD_FORMATS_HELP} / "
        "not a month; write e.g. 2024-03",
        "period",
    )


def _year_only(year: int) -> CellError:
    return CellError(
        f"“{year}”只有年份，请填写年月，如{year}-03 / "
        "a year alone is not a month; write e.g. 2024-03",
        "period",
    )


def _make_period(year: int, month: int, shown: str) -> str:
    if not 1 <= month <= 12:
        raise CellError(f"“{shown}”的月份应为1—12 / the month must be 1-12", "period")
    if not MIN_PERIOD_YEAR <= year <= MAX_YEAR:
        raise CellError(
            f"“{shown}”的年份应在{MIN_PERIOD_YEAR}—{MAX_YEAR}之间 / "
            f"the year must be between {MIN_PERIOD_YEAR} and {MAX_YEAR}",
            "period",
        )
    return f"{year:04d}-{month:02d}"


def parse_period(value: Any, *, date1904: bool = False) -> str | None:
    """A reporting month as ``YYYY-MM`` (see module doc for the accepted forms)."""
    if is_blank(value):
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return _make_period(value.year, value.month, as_text(value))
    if isinstance(value, (bool, dt.time)):
        raise _period_error(as_text(value))
    if isinstance(value, (int, float, Decimal)):
        number = to_decimal(value, unit=None)
        whole = int(number)
        if number == whole and 190001 <= whole <= 220012:
            return _make_period(whole // 100, whole % 100, str(whole))
        if MIN_YEAR <= whole <= MAX_YEAR:
            if number == whole:
                raise _year_only(whole)
            # 2024.3 typed into a number cell: the month is the fraction's digits.
            fraction = format(tidy(number), "f").split(".")[1]
            if fraction == "1":
                raise CellError(
                    f"“{format(number, 'f')}”无法区分1月还是10月（数字单元格会去掉末尾的0），"
                    f"请填写{whole}-01或{whole}-10 / ambiguous: January or October? "
                    "write 2024-01 or 2024-10",
                    "period",
                )
            return _make_period(whole, int(fraction), format(number, "f"))
        day = _date_or_none(value, date1904)
        if day is None:
            raise _period_error(as_text(value))
        return _make_period(day.year, day.month, as_text(value))
    text = nfkc(clean(value))
    check_excel_error(text)
    text = re.sub(r"\s+", "", text)
    if m := _PERIOD_TEXT.fullmatch(text):
        return _make_period(int(m[1]), int(m[2]), text)
    if m := _PERIOD_COMPACT.fullmatch(text):
        return _make_period(int(m[1]), int(m[2]), text)
    if re.fullmatch(r"\d{4}年?", text):
        raise _year_only(int(text[:4]))
    try:
        day = _date_or_none(text, date1904)
    except CellError:
        raise _period_error(text) from None
    if day is None:
        raise _period_error(text)
    return _make_period(day.year, day.month, text)
