"""Validation of the identifiers chaintrack stores, in one place.

- USCC (统一社会信用代码, GB 32100-2015): 18 characters, check character at 18.
- Region codes (GB/T 2260): 6 digits; historical codes (e.g. 莱芜 3712xx) are
  accepted, so only the shape and the province prefix are checked.
- National investment project codes (GB/T 40058-2021): 24 characters,
  ``TTTT-RRRRRR-DD-TT-NNNNNC``.
- Internal project codes: the office's own, letters, digits and hyphens.
- Reporting periods: a calendar month, ``YYYY-MM`` (:class:`Period`).

Every error says which character or part is wrong, in Chinese and English.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from operator import mul

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {ch: i for i, ch in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Position 1: registration authority. 1-9 are the numbered authorities
# (9 = market regulation); A, N and Y are valid too and must not be refused.
USCC_AUTHORITIES = "123456789ANY"

# Province-level prefixes of GB/T 2260 (incl. 71 Taiwan, 81 Hong Kong, 82 Macao).
PROVINCE_PREFIXES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63"}
    | {"64", "65", "71", "81", "82"}
)


@dataclass
class IdentifierError(ValueError):
    """A malformed identifier. ``position`` is 1-based where one character is at fault."""

    kind: str
    value: str
    message: str
    position: int | None = None

    def __str__(self) -> str:
        return self.message


def normalise(raw: str) -> str:
    """Half-width, upper-case, no surrounding spaces: what clerks paste from Excel."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def uscc_check_character(first17: str) -> str:
    if len(first17) != 17:
        raise ValueError("the check character is computed over 17 characters")
    total = sum(map(mul, map(_USCC_VALUES.__getitem__, first17), USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


# The shape of a well-formed USCC: a valid code takes one regular-expression match
# and the check-character sum; anything else goes through the checks below, which
# name the part that is wrong.
_USCC_SHAPE = re.compile(f"[{USCC_AUTHORITIES}][{USCC_ALPHABET}][0-9]{{6}}[{USCC_ALPHABET}]{{10}}")


def validate_uscc(raw: str) -> str:
    """Return the normalised USCC or raise IdentifierError naming the wrong part."""
    code = raw.strip().upper() if raw.isascii() else normalise(raw)
    if (
        _USCC_SHAPE.fullmatch(code)
        and code[2:4] in PROVINCE_PREFIXES
        and code[17] == uscc_check_character(code[:17])
    ):
        return code
    if len(code) != 18:
        raise IdentifierError(
            "uscc",
            code,
            f"统一社会信用代码应为18位，实际为{len(code)}位 / "
            f"a USCC has 18 characters, this one has {len(code)}",
        )
    for pos, ch in enumerate(code, start=1):
        if ch not in _USCC_VALUES:
            raise IdentifierError(
                "uscc",
                code,
                f"第{pos}位字符“{ch}”不允许（不使用I、O、Z、S、V） / "
                f"character {pos} '{ch}' is not allowed (I, O, Z, S, V are never used)",
                pos,
            )
    if code[0] not in USCC_AUTHORITIES:
        raise IdentifierError(
            "uscc",
            code,
            f"第1位登记管理部门代码“{code[0]}”无效 / "
            f"character 1 (registration authority) '{code[0]}' is not a valid authority",
            1,
        )
    region = code[2:8]
    if not region.isdigit():
        bad = next(i for i, ch in enumerate(region, start=3) if not ch.isdigit())
        raise IdentifierError(
            "uscc",
            code,
            f"第3-8位应为行政区划代码（数字），第{bad}位为“{code[bad - 1]}” / "
            f"characters 3-8 are a region code (digits); character {bad} is '{code[bad - 1]}'",
            bad,
        )
    if region[:2] not in PROVINCE_PREFIXES:
        raise IdentifierError(
            "uscc",
            code,
            f"第3-4位省级代码“{region[:2]}”不存在 / "
            f"characters 3-4 '{region[:2]}' are not a province code",
            3,
        )
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        raise IdentifierError(
            "uscc",
            code,
            f"第18位校验码应为“{expected}”，实际为“{code[17]}” / "
            f"check character (position 18) should be '{expected}', not '{code[17]}'",
            18,
        )
    return code


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (for fixtures and demo data)."""
    return first17 + uscc_check_character(first17)


def validate_region_code(raw: str) -> str:
    code = normalise(raw)
    if len(code) != 6 or not code.isdigit():
        raise IdentifierError(
            "region_code",
            code,
            f"行政区划代码应为6位数字，实际为“{code}” / a region code is 6 digits, got '{code}'",
        )
    if code[:2] not in PROVINCE_PREFIXES:
        raise IdentifierError(
            "region_code",
            code,
            f"行政区划代码前两位“{code[:2]}”不是省级代码 / "
            f"'{code[:2]}' (digits 1-2) is not a province code",
            1,
        )
    return code


_NATIONAL_PARTS = (
    ("time", 4, "赋码时间", "time code"),
    ("region", 6, "行政区划", "region code"),
    ("department", 2, "行业主管部门", "supervising department"),
    ("type", 2, "项目类型", "project type"),
    ("serial", 6, "流水号及校验位", "serial and check character"),
)


def validate_national_project_code(raw: str) -> str:
    """GB/T 40058-2021 shape: ``2104-370600-04-01-A1B2C3`` (24 characters)."""
    code = normalise(raw)
    parts = code.split("-")
    if len(code) != 24 or len(parts) != 5:
        raise IdentifierError(
            "national_code",
            code,
            f"国家项目代码应为24位、以“-”分为5段，实际为“{code}” / "
            "a national project code has 24 characters in 5 hyphen-separated parts",
        )
    for value, (_key, length, zh, en) in zip(parts, _NATIONAL_PARTS, strict=True):
        digits_only = en != "serial and check character"
        ok = len(value) == length and (value.isdigit() if digits_only else value.isalnum())
        if not ok:
            kind = "数字" if digits_only else "字母或数字"
            raise IdentifierError(
                "national_code",
                code,
                f"{zh}段“{value}”应为{length}位{kind} / the {en} part '{value}' "
                f"should be {length} {'digits' if digits_only else 'letters or digits'}",
            )
    if parts[1][:2] not in PROVINCE_PREFIXES:
        raise IdentifierError(
            "national_code",
            code,
            f"行政区划段“{parts[1]}”的省级代码不存在 / "
            f"the region part '{parts[1]}' has no valid province prefix",
        )
    month = int(parts[0][2:])
    if not (parts[0].startswith("20") or 1 <= month <= 12):
        raise IdentifierError(
            "national_code",
            code,
            f"赋码时间段“{parts[0]}”不是有效的年月 / "
            f"the time part '{parts[0]}' is not a valid YYMM",
        )
    return code


_INTERNAL_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,31}$")


def validate_internal_project_code(raw: str) -> str:
    code = normalise(raw)
    if not _INTERNAL_CODE.fullmatch(code):
        raise IdentifierError(
            "internal_code",
            code,
            f"内部项目编号“{code}”只能包含字母、数字、“-”和“_”，2-32位 / "
            "an internal project code has 2-32 letters, digits, '-' or '_'",
        )
    return code


_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def validate_period(raw: str) -> str:
    """A reporting month, ``YYYY-MM``."""
    value = normalise(raw)
    m = _PERIOD.fullmatch(value)
    if not m or not 1 <= int(m.group(2)) <= 12 or not 2000 <= int(m.group(1)) <= 2200:
        raise IdentifierError(
            "period",
            value,
            f"期间应为YYYY-MM格式（2000-2200年），实际为“{value}” / "
            "a period is YYYY-MM (2000-2200)",
        )
    return value


@dataclass(frozen=True, order=True)
class Period:
    """A reporting month. Stored and sent as ``YYYY-MM`` (which sorts as the months do);
    code that computes with months uses this type rather than slicing the string.
    """

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise ValueError(f"no such month: {self.year}-{self.month}")

    @classmethod
    def parse(cls, raw: str) -> Period:
        """``YYYY-MM`` (2000-2200); an :class:`IdentifierError` naming the rule otherwise."""
        value = validate_period(raw)
        return cls(int(value[:4]), int(value[5:7]))

    @classmethod
    def of_text(cls, text: str) -> Period:
        """A ``YYYY-MM`` the program itself derived (no 2000-2200 rule: January 2000's
        previous month is a month too)."""
        year, month = text.split("-")
        return cls(int(year), int(month))

    @classmethod
    def of(cls, day: dt.date) -> Period:
        """The month ``day`` falls in."""
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def january(self) -> Period:
        """The first month of this period's year (where a year's running sums start)."""
        return Period(self.year, 1)
