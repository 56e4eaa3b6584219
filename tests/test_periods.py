"""Period: a reporting month, parsed from and formatted as YYYY-MM."""

import datetime as dt

import pytest

from chaintrack.identifiers import IdentifierError, Period
from chaintrack.seeding.synthetic import latest_complete_month, periods_ending


def test_parse_and_format_round_trip():
    p = Period.parse(" 2025-03 ")
    assert (p.year, p.month) == (2025, 3)
    assert str(p) == "2025-03"
    assert str(Period(2001, 12)) == "2001-12"


@pytest.mark.parametrize("bad", ["2025-3", "2025-13", "2025-00", "1999-12", "25-03", "2025/03"])
def test_malformed_periods_are_refused_naming_the_rule(bad):
    with pytest.raises(IdentifierError, match="YYYY-MM"):
        Period.parse(bad)


def test_month_out_of_range_cannot_be_built():
    with pytest.raises(ValueError):
        Period(2025, 13)


def test_previous_and_next_cross_years():
    assert Period(2025, 1).previous() == Period(2024, 12)
    assert Period(2024, 12).next() == Period(2025, 1)
    assert Period(2025, 6).previous().next() == Period(2025, 6)
    assert Period(2025, 6).january == Period(2025, 1)


def test_first_and_last_day():
    assert Period(2024, 2).first_day == dt.date(2024, 2, 1)
    assert Period(2024, 2).last_day == dt.date(2024, 2, 29)
    assert Period(2025, 2).last_day == dt.date(2025, 2, 28)
    assert Period(2025, 12).last_day == dt.date(2025, 12, 31)
    assert Period.of(dt.date(2025, 7, 31)) == Period(2025, 7)


def test_order_is_the_calendar_order_and_matches_the_stored_strings():
    months = [Period(2024, 12), Period(2025, 1), Period(2025, 10), Period(2025, 2)]
    assert sorted(months) == [Period(2024, 12), Period(2025, 1), Period(2025, 2), Period(2025, 10)]
    assert [str(p) for p in sorted(months)] == sorted(str(p) for p in months)
    assert Period(2025, 1) < Period(2025, 2) <= Period(2025, 2)


def test_synthetic_periods_use_the_calendar():
    assert periods_ending("2025-02", 3) == ["2024-12", "2025-01", "2025-02"]
    assert latest_complete_month(dt.date(2025, 1, 15)) == "2024-12"
