"""The stats site's clock, in one place.

WOG's site shows times in Moscow time, without a zone; a game's date (for its week and month)
is its Moscow start date. Moscow has kept UTC+3 without daylight saving since 2014, so the
fixed offset and the IANA name agree; Dagster's schedules and partitions take the name.
"""

from __future__ import annotations

import datetime as dt
import re

SITE_TIMEZONE_NAME = "Europe/Moscow"
SITE_TIMEZONE = dt.timezone(dt.timedelta(hours=3), "MSK")


def site_now() -> dt.datetime:
    """Now on the site's clock, naive (as the site writes its times)."""
    return dt.datetime.now(SITE_TIMEZONE).replace(tzinfo=None)


# --- the periods of the statistics: ISO weeks (Monday first) and months, by site date ------


def week_of(day: dt.date) -> str:
    """``2026-W10`` for a date in that ISO week."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def month_of(day: dt.date) -> str:
    return f"{day.year}-{day.month:02d}"


_PERIOD = re.compile(r"^(\d{4})-(?:W(\d{2})|(\d{2}))$")


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """[first day, day after the last) of ``2026-03`` or ``2026-W10``; ValueError otherwise."""
    match = _PERIOD.match(period.strip())
    if not match:
        raise ValueError(f"period {period!r}: give a month (2026-03) or an ISO week (2026-W10)")
    year = int(match.group(1))
    if match.group(2):
        week = int(match.group(2))
        start = dt.date.fromisocalendar(year, week, 1)
        return start, start + dt.timedelta(days=7)
    month = int(match.group(3))
    if not 1 <= month <= 12:
        raise ValueError(f"period {period!r}: no month {month}")
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end
