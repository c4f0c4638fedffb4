"""Month grid and day arithmetic for the simulation (dates are int days since 1970).

Examples
--------
>>> cal = Calendar("2018-01-01", "2018-12-31")
>>> cal.n_months, int(cal.month_of_year[5]), int(cal.days_in_month[1])
(12, 6, 28)
>>> str(to_datetime(cal.month_start[:1])[0])[:10]
'2018-01-01'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["NA_DAY", "Calendar", "add_months", "day_of", "next_june_30", "to_datetime"]

#: "no date" in int-day arrays
NA_DAY = np.iinfo(np.int32).min


def day_of(date: str | pd.Timestamp) -> int:
    """Days since 1970-01-01 of a date.

    Parameters
    ----------
    date : str or pandas.Timestamp
        A date (a time of day is dropped).

    Returns
    -------
    int
        The day number.

    Examples
    --------
    >>> day_of("1970-01-11"), day_of(pd.Timestamp("2018-01-01"))
    (10, 17532)
    """
    return int(pd.Timestamp(date).to_datetime64().astype("datetime64[D]").astype(np.int64))


def add_months(days: np.ndarray, months) -> np.ndarray:
    """The same day ``months`` calendar months later (the month's last day when it is
    shorter: 31 January + 1 month is 28 or 29 February), as pandas' DateOffset counts.

    Parameters
    ----------
    days : numpy.ndarray
        int days since 1970 (NA_DAY stays NA_DAY).
    months : int or numpy.ndarray
        Whole months to add, one for all or one per day.

    Returns
    -------
    numpy.ndarray
        int64 days.

    Examples
    --------
    >>> d = np.array([day_of("2021-07-01"), day_of("2024-02-29"), day_of("2024-01-31")])
    >>> [str(x)[:10] for x in to_datetime(add_months(d, 36))]
    ['2024-07-01', '2027-02-28', '2027-01-31']
    >>> str(to_datetime(add_months(d[2:], 1))[0])[:10]
    '2024-02-29'
    """
    days = np.asarray(days, dtype=np.int64)
    na = days == NA_DAY
    safe = np.where(na, 0, days)
    date = safe.astype("datetime64[D]")
    month = date.astype("datetime64[M]")
    offset = safe - month.astype("datetime64[D]").astype(np.int64)  # day of month - 1
    target = month + np.asarray(months, dtype=np.int64).astype("timedelta64[M]")
    first = target.astype("datetime64[D]").astype(np.int64)
    length = (target + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - first
    out = first + np.minimum(offset, length - 1)
    return np.where(na, NA_DAY, out).astype(np.int64)


def next_june_30(days: np.ndarray) -> np.ndarray:
    """The first 30 June on or after each day (an annual report deadline).

    Parameters
    ----------
    days : numpy.ndarray
        int days since 1970.

    Returns
    -------
    numpy.ndarray
        int64 days.

    Examples
    --------
    >>> d = np.array([day_of("2023-06-30"), day_of("2023-07-01")])
    >>> [str(x)[:10] for x in to_datetime(next_june_30(d))]
    ['2023-06-30', '2024-06-30']
    """
    days = np.asarray(days, dtype=np.int64)
    year = days.astype("datetime64[D]").astype("datetime64[Y]")
    this = (year + np.timedelta64(6, "M")).astype("datetime64[D]").astype(np.int64) - 1
    following = (year + np.timedelta64(18, "M")).astype("datetime64[D]").astype(np.int64) - 1
    return np.where(days <= this, this, following)


def to_datetime(days: np.ndarray) -> np.ndarray:
    """int days (NA_DAY for none) -> datetime64[s] (NaT for none).

    Parameters
    ----------
    days : numpy.ndarray
        int days since 1970; :data:`NA_DAY` for no date.

    Returns
    -------
    numpy.ndarray
        ``datetime64[s]``, NaT where there was no date.

    Examples
    --------
    >>> to_datetime(np.array([day_of("2024-02-29"), NA_DAY])).astype(str).tolist()
    ['2024-02-29T00:00:00', 'NaT']
    """
    days = np.asarray(days)
    out = days.astype(np.int64) * 86_400
    out[days == NA_DAY] = np.iinfo(np.int64).min
    return out.view("datetime64[s]")


class Calendar:
    """Months from ``first`` to ``last`` (inclusive) with their first days and lengths.

    Attributes ``months`` (``datetime64[M]``), ``month_start`` (int days),
    ``days_in_month``, ``month_of_year`` (1-12) and ``year`` hold one value per month;
    ``n_months`` is their number.

    Parameters
    ----------
    first : str or pandas.Timestamp
        A day of the first month.
    last : str or pandas.Timestamp
        A day of the last month.

    Examples
    --------
    >>> cal = Calendar("2023-11-15", "2024-02-01")
    >>> cal.n_months, cal.year.tolist(), cal.days_in_month.tolist()
    (4, [2023, 2023, 2024, 2024], [30, 31, 31, 29])
    """

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
        """Index of the month holding each day (may be <0 or >= n_months).

        Parameters
        ----------
        days : numpy.ndarray
            int days since 1970.

        Returns
        -------
        numpy.ndarray
            int64 month indices, 0 for the first month.

        Examples
        --------
        >>> cal = Calendar("2018-01-01", "2018-12-31")
        >>> cal.month_index(np.array([day_of("2018-03-31"), day_of("2017-12-31")])).tolist()
        [2, -1]
        """
        m = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        return m - self.months[0].astype(np.int64)

    def random_day(self, t: int, u: np.ndarray) -> np.ndarray:
        """A day within month ``t`` for each uniform draw ``u``.

        Parameters
        ----------
        t : int
            The month's index.
        u : numpy.ndarray
            Uniform draws in [0, 1): 0 gives the first day, just under 1 the last.

        Returns
        -------
        numpy.ndarray
            int64 days, one per draw.

        Examples
        --------
        >>> cal = Calendar("2018-01-01", "2018-12-31")
        >>> days = cal.random_day(1, np.array([0.0, 0.5, 0.999]))
        >>> [str(d)[:10] for d in to_datetime(days)]
        ['2018-02-01', '2018-02-15', '2018-02-28']
        """
        return (self.month_start[t] + (u * self.days_in_month[t]).astype(np.int64)).astype(np.int64)

    def month_end(self, t: int) -> int:
        """The last day of month ``t``.

        Parameters
        ----------
        t : int
            The month's index.

        Returns
        -------
        int
            The day, in int days since 1970.

        Examples
        --------
        >>> cal = Calendar("2024-01-01", "2024-12-31")
        >>> cal.month_end(1) == day_of("2024-02-29")
        True
        """
        return int(self.month_start[t] + self.days_in_month[t] - 1)
