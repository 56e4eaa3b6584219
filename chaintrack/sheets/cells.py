"""Cell normalisation: what a clerk typed, or what Excel stored, into a typed value.

Every ``parse_*`` function is pure. It takes the raw cell value as openpyxl or the CSV
reader hands it over (``None``, ``str``, ``int``, ``float``, ``Decimal``, ``bool``,
``datetime``/``date``), returns the typed value, ``None`` for a blank cell, and raises
``CellError`` with a message a clerk understands (Chinese first, then English).

Quirks handled (all seen in real office spreadsheets):
- leading/trailing spaces, non-breaking and zero-width spaces, full-width digits and
  letters (``１２３４．５``, ``ＡＢＣ``) and the ideographic space;
- numbers stored as text, thousands separators (``1,234.50``), a ``万元``/``万`` unit
  typed after the number, ``%`` after a percentage, accounting negatives ``(12.5)``;
- floats from openpyxl are converted through their shortest ``repr`` and rounded to 15
  significant digits (what Excel itself holds and shows): ``0.1`` → ``Decimal('0.1')``,
  never ``0.1000000000000000055…``, and ``0.1 + 0.2`` computed by Excel → ``0.3``;
- dates as ``datetime`` (a date-formatted cell), as Excel serial numbers (with the 1900
  leap-year bug: serial 60 is the non-existent 1900-02-29), or as text
  ``2024-03-05`` / ``2024/3/5`` / ``2024.3.5`` / ``2024年3月5日`` / ``20240305``;
- periods (reporting months) as dates, serials or ``2024年3月`` / ``2024/3`` / ``2024-03``
  / ``2024.3`` / ``202403``;
- Excel error values (``#N/A``, ``#DIV/0!``, ...) are refused with a clear message.

Text keeps Chinese punctuation (full-width ``（）``, ``，``, ``：`` are correct in Chinese
names and prose); only full-width ASCII letters, digits and a few symbols are folded to
half-width. Codes, numbers, dates and enumerations are folded completely (NFKC).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from decimal import Context, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

from chaintrack.identifiers import (
    IdentifierError,
    validate_internal_project_code,
    validate_national_project_code,
    validate_region_code,
    validate_uscc,
)
from chaintrack.models.enums import LabelledEnum

E = TypeVar("E", bound=LabelledEnum)

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
# Excel's last valid serial is 9999-12-31.
_MAX_SERIAL = 2958465


class CellError(ValueError):
    """A cell that cannot be read as its column's type. ``message`` is for the clerk."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------- text

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = dict.fromkeys(map(ord, "\u00a0\u2002\u2003\u2009\u202f\u205f\u3000"), " ")
# Full-width ASCII folded in text: letters, digits and symbols that are not also
# Chinese punctuation (（）、，：；！？“” stay as they are in Chinese prose).
_WIDTH_FOLD = {
    cp: cp - 0xFEE0
    for cp in range(0xFF01, 0xFF5F)
    if chr(cp - 0xFEE0).isalnum() or chr(cp - 0xFEE0) in "#$%&*+-./<=>@\\^_`|~"
}
_WS_RUN = re.compile(r"\s+")
_INLINE_WS_RUN = re.compile(r"[^\S\n]+")
# A leading apostrophe our CSV export adds so Excel does not run a value as a formula.
_FORMULA_START = frozenset("=+-@\t\r")


_BLANK = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00ad]*")
_CLEAN = {**_INVISIBLE, **_SPACES}
_CLEAN_TEXT = {**_CLEAN, **_WIDTH_FOLD}
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def is_blank(value: Any) -> bool:
    """None, or a string of nothing but (any kind of) white space."""
    if value is None:
        return True
    if isinstance(value, str):
        return _BLANK.fullmatch(value) is not None
    return False


def _tidy(number: Decimal) -> Decimal:
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
    return _tidy(exact)


def _as_text(value: Any) -> str:
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


def _check_excel_error(text: str) -> None:
    if text[:1] == "#" and text.upper() in EXCEL_ERRORS:
        raise CellError(
            f"单元格为Excel错误值“{text}”，请检查公式 / the cell holds the Excel error {text}",
            "excel_error",
        )


def _clean(value: Any) -> str:
    text = _as_text(value)
    return text if text.isascii() else text.translate(_CLEAN)


def fold_width(text: str) -> str:
    """Full-width ASCII letters, digits and symbols to half-width; Chinese punctuation kept."""
    return text.translate(_WIDTH_FOLD)


def nfkc(text: str) -> str:
    """Complete compatibility folding (for codes, numbers, dates, labels)."""
    if text.isascii():
        return text.strip()
    return unicodedata.normalize("NFKC", text.translate(_INVISIBLE)).strip()


_SPECIAL = "".join(map(chr, _CLEAN_TEXT))
# Text that parse_text returns unchanged: no white space but single inner spaces, none
# of the characters it folds, no apostrophe or '#' in front (formula guard, error values).
_PLAIN_TEXT = re.compile(f"[^\\s'#{re.escape(_SPECIAL)}](?: ?[^\\s{re.escape(_SPECIAL)}])*")


def plain_text(value: Any) -> bool:
    """``parse_text(value)`` would return ``value`` itself (a quick check first)."""
    return value.__class__ is str and _PLAIN_TEXT.fullmatch(value) is not None


def parse_text(value: Any, *, multiline: bool = False, max_length: int | None = None) -> str | None:
    """Trimmed text; inner white space collapsed (line breaks kept when ``multiline``)."""
    if is_blank(value):
        return None
    text = _as_text(value)
    if not text.isascii():
        text = text.translate(_CLEAN_TEXT)
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
    _check_excel_error(text)
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


# ------------------------------------------------------------------------ numbers

_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_NUMBER_SPACES = re.compile(r"[\s']")


def _number_text(value: Any, *, unit: str | None) -> str:
    """A number typed as text, with separators, sign forms and the unit removed."""
    text = nfkc(_clean(value))
    _check_excel_error(text)
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


def _to_decimal(value: Any, *, unit: str | None) -> Decimal:
    if isinstance(value, bool):
        raise CellError(f"应为数值，实际为“{_as_text(value)}” / a number is expected", "number")
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
            f"应为数值，实际为日期“{_as_text(value)}”，请将单元格格式设为“常规”或“数值” / "
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
        raise CellError(f"“{_as_text(value).strip()}”不是有效数值 / not a number", "number")
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
    number = _to_decimal(value, unit=unit)
    exponent = number.as_tuple().exponent
    if scale is not None and isinstance(exponent, int) and -exponent > scale:
        places = max(0, -int(_tidy(number).as_tuple().exponent))  # trailing zeros do not count
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
    _check_range(number, min_value, max_value, unit)
    return number


def _check_range(number: Any, low: Any, high: Any, unit: str | None = None) -> None:
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
    _check_range(result, min_value, max_value, unit)
    return result


def _integral(value: Any, unit: str | None) -> int:
    number = _to_decimal(value, unit=unit)
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
                f"“{_as_text(value).strip()}”不是有效年份（应如2024） / not a year (e.g. 2024)",
                "year",
            ) from None
    if not min_year <= year <= max_year:
        raise CellError(
            f"年份应在{min_year}—{max_year}之间，实际为{year} / "
            f"the year must be between {min_year} and {max_year}",
            "year",
        )
    return year


# -------------------------------------------------------------------------- dates

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
        number = _to_decimal(value, unit=None)
        if number == number.to_integral_value() and 19000101 <= number <= 22001231:
            text = str(int(number))
            return _make_date(int(text[:4]), int(text[4:6]), int(text[6:]), text)
        if number <= 0:
            return None
        return excel_serial_to_date(number, date1904=date1904)
    if not isinstance(value, str):
        return None
    text = nfkc(_clean(value))
    _check_excel_error(text)
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
            f"“{_as_text(value).strip()}”不是有效日期，请填写如{_DATE_FORMATS_HELP} / "
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
        return _make_period(value.year, value.month, _as_text(value))
    if isinstance(value, (bool, dt.time)):
        raise _period_error(_as_text(value))
    if isinstance(value, (int, float, Decimal)):
        number = _to_decimal(value, unit=None)
        whole = int(number)
        if number == whole and 190001 <= whole <= 220012:
            return _make_period(whole // 100, whole % 100, str(whole))
        if MIN_YEAR <= whole <= MAX_YEAR:
            if number == whole:
                raise _year_only(whole)
            # 2024.3 typed into a number cell: the month is the fraction's digits.
            fraction = format(_tidy(number), "f").split(".")[1]
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
            raise _period_error(_as_text(value))
        return _make_period(day.year, day.month, _as_text(value))
    text = nfkc(_clean(value))
    _check_excel_error(text)
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


# ----------------------------------------------------------------------- booleans

_TRUE = frozenset({"是", "Y", "YES", "TRUE", "T", "1", "√", "✓", "✔", "对", "有"})
_FALSE = frozenset({"否", "N", "NO", "FALSE", "F", "0", "×", "✗", "✘", "X", "错", "无"})


def parse_bool(value: Any) -> bool | None:
    """是/否, Y/N, true/false, 1/0, √/×."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)) and value in (0, 1):
        return bool(value)
    text = nfkc(_clean(value)).upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(
        f"“{_as_text(value).strip()}”应填“是”或“否” / expected 是 (yes) or 否 (no)", "boolean"
    )


# ------------------------------------------------------------------- enumerations

_QUOTES = dict.fromkeys(map(ord, "“”\"'‘’「」『』《》"), None)
_PAREN = re.compile(r"[(（][^)）]*[)）]")


@lru_cache(maxsize=8192)
def label_key(text: str) -> str:
    """Comparison key for labels and headers: NFKC, case-folded, no spaces or quotes."""
    return re.sub(r"\s+", "", nfkc(text).translate(_QUOTES)).casefold()


def _build_lookup(pairs: Iterable[tuple[str, list[str]]]) -> dict[str, str]:
    """Key → canonical value, for every form; a short form shared by two values is dropped."""
    lookup: dict[str, str] = {}
    ambiguous: set[str] = set()
    exact: set[str] = set()
    for canonical, forms in pairs:
        for i, form in enumerate(forms):
            key = label_key(form)
            if not key:
                continue
            if i < 3:  # value, label and name win over derived short forms
                lookup[key] = canonical
                exact.add(key)
            elif key not in exact:
                if key in lookup and lookup[key] != canonical:
                    ambiguous.add(key)
                lookup[key] = canonical
    for key in ambiguous - exact:
        lookup.pop(key, None)
    return lookup


@lru_cache(maxsize=128)
def _enum_lookup(enum_cls: type[LabelledEnum]) -> dict[str, str]:
    pairs = []
    for member in enum_cls:
        label = member.label_zh
        short = _PAREN.sub("", label)
        inner = [m.strip("()（）") for m in _PAREN.findall(label)]
        forms = [member.value, label, member.name, short, *inner]
        if short.endswith("企业") and len(short) > 3:
            forms.append(short[:-2])  # 链主企业 → 链主, 瞪羚企业 → 瞪羚
        pairs.append((member.value, forms))
    return _build_lookup(pairs)


def enum_labels(enum_cls: type[LabelledEnum]) -> list[str]:
    """The Chinese labels clerks pick from (the drop-down list)."""
    return [m.label_zh or m.value for m in enum_cls]


def parse_enum(value: Any, enum_cls: type[E]) -> E | None:
    """A member by its Chinese label or its English value (case, width, quotes ignored)."""
    if is_blank(value):
        return None
    text = _as_text(value)
    found = _enum_lookup(enum_cls).get(label_key(text))
    if found is None:
        _check_excel_error(nfkc(text))
        allowed = "、".join(enum_labels(enum_cls))
        raise CellError(
            f"“{text.strip()}”不是可选值，只能填：{allowed} / "
            f"not an allowed value; choose one of: {', '.join(m.value for m in enum_cls)}",
            "choice",
        )
    return enum_cls(found)


def parse_choice(value: Any, choices: Sequence[str]) -> str | None:
    """One of a list type's declared choices (returned exactly as declared)."""
    if is_blank(value):
        return None
    text = _as_text(value)
    found = _choice_lookup(tuple(choices)).get(label_key(text))
    if found is None:
        raise CellError(
            f"“{text.strip()}”不是可选值，只能填：{'、'.join(choices)} / "
            f"not an allowed value; choose one of: {', '.join(choices)}",
            "choice",
        )
    return found


@lru_cache(maxsize=256)
def _choice_lookup(choices: tuple[str, ...]) -> dict[str, str]:
    return _build_lookup((c, [c]) for c in choices)


# -------------------------------------------------------------------- identifiers


def _identifier(value: Any, validator: Callable[[str], str]) -> str | None:
    if is_blank(value):
        return None
    text = nfkc(_clean(value)).lstrip("'")  # '9137... : the apostrophe that keeps Excel off
    _check_excel_error(text)
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
    text = re.sub(r"\s+", "", nfkc(_clean(value))).lstrip("'")
    _check_excel_error(text)
    if len(text) > max_length:
        raise CellError(
            f"代码不能超过{max_length}位 / a code has at most {max_length} characters", "too_long"
        )
    return text
