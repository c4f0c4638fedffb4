"""Month grid and day arithmetic for the simulation (dates are int days since 1970).

Example
-------
>>> cal = Calendar("2018-01-01", "2018-12-31")
>>> cal.n_months, int(cal.month_of_year[5]), int(cal.days_in_month[1])
(12, 6, 28)
>>> str(to_datetime(cal.month_start[:1])[0])[:10]
'2018-01-01'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NA_DAY", "Calendar", "day_of", "to_datetime"]

#: "no date" in int-day arrays
NA_DAY = np.iinfo(np.int32).min


def day_of(date: str | pd.Timestamp) -> int:
    """Days since 1970-01-01 of a date."""
    return int(pd.Timestamp(date).to_datetime64().astype("datetime64[D]").astype(np.int64))


def to_datetime(days: np.ndarray) -> np.ndarray:
    """int days (NA_DAY for none) -> datetime64[s] (NaT for none)."""
    days = np.asarray(days)
    out = days.astype(np.int64) * 86_400
    out[days == NA_DAY] = np.iinfo(np.int64).min
    return out.view("datetime64[s]")


class Calendar:
    """Months from ``first`` to ``last`` (inclusive) with their first days and lengths."""

    def __init__(self, first: str | pd.Timestamp, last: str | pd.Timestamp):
        lo = np.datetime64(pd.Timestamp(first).to_datetime64(), "M")
        hi = np.datetime64(pd.Timestamp(last).to_datetime64(), "M")
        months = np.arange(
            lo, hi + np.timedelta64(2, "M")
        )  # one extra month for the end of the last
        starts = months.astype("datetime64[D]").astype(np.int64)
        self.months = months[:-1]
        self.month_start = starts[:-1]
        self.days_in_month = np.diff(starts)
        self.month_of_year = (self.months.astype(np.int64) % 12 + 1).astype(np.int64)
        self.year = (self.months.astype(np.int64) // 12 + 1970).astype(np.int64)
        self.n_months = len(self.months)
        self._first_day = int(starts[0])

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Index of the month holding each day (may be <0 or >= n_months)."""
        m = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        return m - self.months[0].astype(np.int64)

    def random_day(self, t: int, u: np.ndarray) -> np.ndarray:
        """A day within month ``t`` for each uniform draw ``u``."""
        return (self.month_start[t] + (u * self.days_in_month[t]).astype(np.int64)).astype(np.int64)

    def month_end(self, t: int) -> int:
        return int(self.month_start[t] + self.days_in_month[t] - 1)
