"""The stats site's clock, in one place.

WOG's site shows times in Moscow time, without a zone; a game's date (for its week and month)
is its Moscow start date. Moscow has kept UTC+3 without daylight saving since 2014, so the
fixed offset and the IANA name agree; Dagster's schedules and partitions take the name.
"""

from __future__ import annotations

import datetime as dt

SITE_TIMEZONE_NAME = "Europe/Moscow"
SITE_TIMEZONE = dt.timezone(dt.timedelta(hours=3), "MSK")


def site_now() -> dt.datetime:
    """Now on the site's clock, naive (as the site writes its times)."""
    return dt.datetime.now(SITE_TIMEZONE).replace(tzinfo=None)
