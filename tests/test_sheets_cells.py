"""Cell normalisation: every quirk of real office spreadsheets, one pure function each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaintrack.models.enums import Assessment, MembershipRole, ProjectType, SizeClass, Tier
from chaintrack.sheets import cells
from chaintrack.sheets.cells import CellError

# ------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  示例新材料有限公司  ", "示例新材料有限公司"),
        ("示例\u3000新材料  有限\t公司", "示例 新材料 有限 公司"),
        ("ＡＢＣ１２３科技", "ABC123科技"),
        ("山东某某（集团）有限公司", "山东某某（集团）有限公司"),  # Chinese punctuation kept
        ("\u200b\ufeff名称\u00a0", "名称"),
        ("第一行\n第二行", "第一行 第二行"),
        (370100, "370100"),
        (12.5, "12.5"),
        ("'=SUM(A1)", "=SUM(A1)"),  # the CSV export's formula guard is removed
        ("'普通文字", "'普通文字"),
    ],
)
def test_text_is_trimmed_and_folded(raw, expected):
    assert cells.parse_text(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000", "\u200b"])
def test_blank_text_is_none(raw):
    assert cells.parse_text(raw) is None


def test_multiline_text_keeps_line_breaks():
    assert (
        cells.parse_text("  第一行  \r\n\n\n\n 第二 \t 行 ", multiline=True) == "第一行\n\n第二 行"
    )


def test_text_too_long_names_the_limit():
    with pytest.raises(CellError, match="不能超过5个字") as exc:
        cells.parse_text("一二三四五六", max_length=5)
    assert exc.value.code == "too_long"


def test_excel_error_values_are_refused():
    with pytest.raises(CellError, match="Excel错误值“#N/A”"):
        cells.parse_text("#N/A")
    with pytest.raises(CellError, match="#DIV/0!"):
        cells.parse_decimal("#DIV/0!")


def test_text_list_splits_on_separators():
    assert cells.parse_text_list("甲公司；乙公司; 丙公司\n甲公司") == ["甲公司", "乙公司", "丙公司"]
    assert cells.parse_text_list(None) == []


# ---------------------------------------------------------------------- decimals


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("12,345,678.1234", Decimal("12345678.1234")),
        ("１２３４．５", Decimal("1234.5")),
        ("１，２３４．５", Decimal("1234.5")),
        (" 1234.5 ", Decimal("1234.5")),
        ("1234.5万元", Decimal("1234.5")),
        ("1234.5 万", Decimal("1234.5")),
        ("(12.5)", Decimal("-12.5")),
        ("−3", Decimal("-3")),
        ("1 234", Decimal("1234")),
        (0.1, Decimal("0.1")),
        (12345678.1234, Decimal("12345678.1234")),
        (0.1 + 0.2, Decimal("0.3")),  # a formula's cached float, at Excel's 15 digits
        (1e20, Decimal("100000000000000000000")),
        (42, Decimal(42)),
        (Decimal("7.25"), Decimal("7.25")),
    ],
)
def test_decimals(raw, expected):
    value = cells.parse_decimal(raw, unit="万元")
    assert value == expected
    assert isinstance(value, Decimal)


def test_float_is_converted_through_repr_not_binary():
    value = cells.parse_decimal(0.1)
    assert str(value) == "0.1"
    assert value != Decimal(0.1)  # noqa: RUF032 - the binary value, on purpose


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("abc", "不是有效数值"),
        ("1,23.5", "千分位"),
        ("12亿元", "单位不对"),
        ("1200元", "单位不对"),
        ("NaN", "不是有效数值"),
        ("Infinity", "不是有效数值"),
        (True, "应为数值"),
        (dt.date(2024, 1, 1), "日期"),
    ],
)
def test_bad_decimals(raw, fragment):
    with pytest.raises(CellError, match=fragment):
        cells.parse_decimal(raw, unit="万元")


def test_decimal_scale_range_and_digits():
    assert cells.parse_decimal("1.23450", scale=4) == Decimal("1.23450")  # trailing zero ok
    with pytest.raises(CellError, match="最多保留4位小数"):
        cells.parse_decimal("1.23456", scale=4)
    with pytest.raises(CellError, match="不能小于0"):
        cells.parse_decimal("-1", min_value=Decimal(0))
    with pytest.raises(CellError, match="不能大于100%"):
        cells.parse_decimal("100.5%", max_value=Decimal(100), unit="%")
    assert cells.parse_decimal("35.5％", unit="%") == Decimal("35.5")
    with pytest.raises(CellError, match="整数部分最多16位"):
        cells.parse_decimal("12345678901234567", scale=4, max_digits=20)


# ---------------------------------------------------------------------- integers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1,234", 1234), ("１２３", 123), (12.0, 12), ("12.0", 12), (7, 7), ("35人", 35)],
)
def test_integers(raw, expected):
    assert cells.parse_integer(raw, unit="人") == expected


def test_bad_integers():
    with pytest.raises(CellError, match="应为整数"):
        cells.parse_integer("12.5")
    with pytest.raises(CellError, match="不能小于0"):
        cells.parse_integer("-1", min_value=0)


def test_years():
    assert cells.parse_year("2024年") == 2024
    assert cells.parse_year(2024.0) == 2024
    assert cells.parse_year(dt.datetime(2023, 5, 1)) == 2023
    with pytest.raises(CellError, match="年份应在"):
        cells.parse_year("1800")
    with pytest.raises(CellError, match="不是有效年份"):
        cells.parse_year("去年")


# ------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (dt.datetime(2024, 3, 5, 0, 0), dt.date(2024, 3, 5)),
        (dt.datetime(2024, 3, 5, 14, 30), dt.date(2024, 3, 5)),
        (dt.date(2024, 3, 5), dt.date(2024, 3, 5)),
        ("2024-03-05", dt.date(2024, 3, 5)),
        ("2024/3/5", dt.date(2024, 3, 5)),
        ("2024.3.5", dt.date(2024, 3, 5)),
        ("2024年3月5日", dt.date(2024, 3, 5)),
        ("2024 年 3 月 5 日", dt.date(2024, 3, 5)),
        ("２０２４年３月５日", dt.date(2024, 3, 5)),
        ("20240305", dt.date(2024, 3, 5)),
        (20240305, dt.date(2024, 3, 5)),
        ("2024-03-05 00:00:00", dt.date(2024, 3, 5)),
        (45356, dt.date(2024, 3, 5)),  # Excel serial
        (45356.75, dt.date(2024, 3, 5)),  # serial with a time of day
        ("45356", dt.date(2024, 3, 5)),  # serial as text (CSV)
        (1, dt.date(1900, 1, 1)),
        (59, dt.date(1900, 2, 28)),
        (61, dt.date(1900, 3, 1)),  # after Excel's fake 1900-02-29
    ],
)
def test_dates(raw, expected):
    assert cells.parse_date(raw, min_year=1900) == expected


def test_excel_leap_year_bug_serial_60():
    with pytest.raises(CellError, match="1900年2月29日"):
        cells.excel_serial_to_date(60)


def test_serial_round_trip_and_1904_system():
    for day in (
        dt.date(1900, 1, 1),
        dt.date(1900, 2, 28),
        dt.date(1900, 3, 1),
        dt.date(2024, 3, 5),
    ):
        assert cells.excel_serial_to_date(cells.date_to_excel_serial(day)) == day
    assert cells.excel_serial_to_date(0, date1904=True) == dt.date(1904, 1, 1)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("2024-02-30", "不存在"),
        ("下个月", "不是有效日期"),
        ("3/5/2024", "不是有效日期"),
        ("2024年3月", "不是有效日期"),
        (dt.time(12, 0), "实际为时间"),
        ("1850-01-01", "年份应在"),
    ],
)
def test_bad_dates(raw, fragment):
    with pytest.raises(CellError, match=fragment):
        cells.parse_date(raw)


# ----------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-03", "2024-03"),
        ("2024-3", "2024-03"),
        ("2024/3", "2024-03"),
        ("2024.3", "2024-03"),
        ("2024.10", "2024-10"),
        ("2024年3月", "2024-03"),
        ("2024年03月份", "2024-03"),
        ("２０２４年３月", "2024-03"),
        ("202403", "2024-03"),
        (202403, "2024-03"),
        ("2024-03-01", "2024-03"),
        ("2024年3月5日", "2024-03"),
        (dt.datetime(2024, 3, 1), "2024-03"),
        (dt.date(2024, 12, 31), "2024-12"),
        (45352, "2024-03"),  # Excel serial of 2024-03-01
        (45352.0, "2024-03"),
        (2024.03, "2024-03"),
        (2024.12, "2024-12"),
        (" 2024 / 3 ", "2024-03"),
    ],
)
def test_periods(raw, expected):
    assert cells.parse_period(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("2024-13", "月份应为1—12"),
        ("2024", "只有年份"),
        (2024, "只有年份"),
        (2024.1, "无法区分1月还是10月"),
        ("1999-12", "年份应在2000"),
        ("三月", "不是有效的年月"),
        (True, "不是有效的年月"),
    ],
)
def test_bad_periods(raw, fragment):
    with pytest.raises(CellError, match=fragment):
        cells.parse_period(raw)


# ---------------------------------------------------------------------- booleans


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("是", True),
        ("否", False),
        ("Y", True),
        ("n", False),
        ("TRUE", True),
        ("false", False),
        ("1", True),
        (0, False),
        (True, True),
        ("√", True),
        ("×", False),
        ("Ｙ", True),
    ],
)
def test_booleans(raw, expected):
    assert cells.parse_bool(raw) is expected


def test_bad_boolean():
    with pytest.raises(CellError, match="应填“是”或“否”"):
        cells.parse_bool("也许")


# ------------------------------------------------------------------ enumerations


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("大型", SizeClass.LARGE),
        ("large", SizeClass.LARGE),
        (" LARGE ", SizeClass.LARGE),
        ("ｌａｒｇｅ", SizeClass.LARGE),
        ("补链", ProjectType.FILL),
        ("fill", ProjectType.FILL),
        ("专精特新“小巨人”企业", Tier.LITTLE_GIANT),
        ('专精特新"小巨人"企业', Tier.LITTLE_GIANT),
        ("专精特新小巨人企业", Tier.LITTLE_GIANT),
        ("little_giant", Tier.LITTLE_GIANT),
        ("强链（长板）", Assessment.STRONG),
        ("强链(长板)", Assessment.STRONG),
        ("强链", Assessment.STRONG),  # the label without its parenthesis
        ("链主企业", MembershipRole.CHAIN_MASTER),
    ],
)
def test_enums_by_label_or_value(raw, expected):
    assert cells.parse_enum(raw, type(expected)) is expected


def test_bad_enum_lists_the_allowed_labels():
    with pytest.raises(CellError, match="只能填：建链、补链、延链、强链") as exc:
        cells.parse_enum("造链", ProjectType)
    assert exc.value.code == "choice"
    assert cells.parse_enum("  ", ProjectType) is None


def test_choices():
    choices = ("全国第一", "全国前三", "Top 10")
    assert cells.parse_choice(" 全国前三 ", choices) == "全国前三"
    assert cells.parse_choice("top10", choices) == "Top 10"
    with pytest.raises(CellError, match="只能填：全国第一、全国前三、Top 10"):
        cells.parse_choice("全球第一", choices)


# -------------------------------------------------------------------- identifiers


def test_uscc_normalised_and_checked():
    assert cells.parse_uscc(" ９１１１００００６０００３７３４１ｌ ") == "91110000600037341L"
    with pytest.raises(CellError, match="第18位校验码") as exc:
        cells.parse_uscc("91110000600037341X")
    assert exc.value.code == "uscc"
    with pytest.raises(CellError, match="18位"):
        cells.parse_uscc(911100006000373)  # a number that kept its 15 digits: too short
    with pytest.raises(CellError, match="以数字形式保存") as exc:
        cells.parse_uscc(9111000060003734)  # 16 digits: more than a number keeps
    assert exc.value.code == "lost_digits"


def test_codes_with_excel_text_apostrophe_or_tab():
    assert cells.parse_uscc("'91110000600037341L") == "91110000600037341L"
    assert cells.parse_uscc("\t91110000600037341L") == "91110000600037341L"
    assert cells.parse_region_code("'370100") == "370100"
    assert cells.parse_decimal("'1234.5") == Decimal("1234.5")
    assert cells.parse_code("'0531") == "0531"


def test_codes():
    assert cells.parse_region_code(370100) == "370100"
    assert cells.parse_region_code(370100.0) == "370100"
    with pytest.raises(CellError, match="6位数字"):
        cells.parse_region_code("3701")
    assert cells.parse_internal_code(" sd-2024-001 ") == "SD-2024-001"
    assert cells.parse_national_code("2104-370600-04-01-a1b2c3") == "2104-370600-04-01-A1B2C3"
    assert cells.parse_code(" ＨＥ－01 ") == "HE-01"


# ------------------------------------------------------------------- fast paths
# The per-column fast paths (chaintrack.sheets.columns) must give what the careful
# parsers give, for every input they accept.

_TEXTY = "ab c#'=+-@\t\n\r\x00\x01\u00a0\u3000\u200b\uff21\uff08（）中文，0１."


@given(st.text(alphabet=_TEXTY, min_size=1, max_size=8))
@settings(max_examples=3000, deadline=None)
def test_plain_text_is_exactly_what_parse_text_keeps(text):
    if cells.plain_text(text):
        assert cells.parse_text(text) == text


def _assert_fast_path_agrees(raw):
    """The revenue column's fast path and its careful parser: same value, same digits,
    or the same error."""
    from chaintrack.sheets.specs import get_spec

    col = get_spec("enterprises").column("revenue")

    def outcome(fn):
        try:
            return fn(raw)
        except cells.CellError as exc:
            return exc.code

    def careful(value):
        return col.rules.parse(col, value, date1904=False, number_format=None)

    fast, careful = outcome(col._fast), outcome(careful)
    assert fast == careful and str(fast) == str(careful)


@given(st.text(alphabet="0123456789.-,+ 万元１", min_size=1, max_size=22))
@settings(max_examples=3000, deadline=None)
def test_decimal_fast_path_agrees_with_parse_decimal(text):
    _assert_fast_path_agrees(text)


def test_memoised_columns_tell_equal_values_of_different_types_apart():
    from chaintrack.sheets.specs import get_spec

    col = get_spec("enterprises").column("employees")
    assert col.parse(1) == 1
    assert col.parse("12") == 12
    assert col.parse(12.0) == 12
    with pytest.raises(cells.CellError):
        col.parse(True)  # equal to 1 as a dict key, but not a number of people


@given(
    st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(places=6, min_value=-(10**14), max_value=10**14).map(float)
)
@settings(max_examples=3000, deadline=None)
def test_decimal_fast_path_reads_float_cells_as_parse_decimal_does(number):
    _assert_fast_path_agrees(number)
