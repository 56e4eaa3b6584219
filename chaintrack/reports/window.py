"""The time window a report is computed for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from chaintrack.history import end_of_day, office_today
from chaintrack.identifiers import Period, validate_period


def month_end(period: str) -> dt.date:
    return Period.of_text(period).last_day


def previous_period(period: str) -> str:
    return str(Period.of_text(period).previous())


def latest_complete_period(today: dt.date) -> str:
    return str(Period.of(today).previous())


@dataclass(frozen=True)
class Window:
    """``period``: the month whose figures are reported (YYYY-MM).
    ``day``: the date whose state is shown (memberships, tiers, statuses, problems).
    ``cutoff``: progress revisions on record at this instant; None = the current ones.
    """

    period: str
    day: dt.date
    cutoff: dt.datetime | None

    @property
    def year_start(self) -> str:
        return str(Period.of_text(self.period).january)

    @property
    def year(self) -> int:
        return int(self.period[:4])

    def previous(self) -> Window:
        prev = previous_period(self.period)
        return Window(prev, min(self.day, month_end(prev)), self.cutoff)

    @classmethod
    def build(
        cls, period: str | None, as_of: dt.date | None, today: dt.date | None = None
    ) -> Window:
        """Default period: the latest complete month. Default day: the period's last
        day (today if the month is not over). With ``as_of`` the report is what the
        register held at the end of that day, revisions included."""
        today = today or office_today()
        if period is None:
            # The latest month complete at the end of as_of (or today).
            base = as_of + dt.timedelta(days=1) if as_of else today
            period = latest_complete_period(base)
        period = validate_period(period)
        if as_of is not None:
            return cls(period, min(as_of, month_end(period)), end_of_day(as_of))
        return cls(period, min(month_end(period), today), None)
