"""Temporal validation: train on labels that ended before the test as-of date.

In the spirit of DSSG triage, time is explicit: a list of as-of dates
(:func:`as_of_dates`) and a label horizon. :class:`TemporalSplit` is a scikit-learn
cross-validator over the rows of a spine (or a feature table with an ``as_of`` column
or index level): each split tests on one as-of date and trains on every earlier as-of
date whose whole label window ends on or before it (``as_of + horizon <= test as_of``),
so no label from after the test date leaks into training.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"as_of": pd.to_datetime(
...     ["2021-07-01", "2022-07-01", "2023-07-01", "2024-07-01"] * 2)})
>>> [(sorted(set(X.as_of[tr].dt.year)), sorted(set(X.as_of[te].dt.year)))
...  for tr, te in TemporalSplit(horizon="365D").split(X)]
[([2021], [2022]), ([2021, 2022], [2023]), ([2021, 2022, 2023], [2024])]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from creditrisk.features.labels import horizon_days

__all__ = ["TemporalSplit", "as_of_dates"]


def as_of_dates(start, end, freq: str = "12MS") -> list[pd.Timestamp]:
    """Evenly spaced as-of dates from ``start`` to ``end`` (inclusive).

    Parameters
    ----------
    start : str or pandas.Timestamp
        The first date (the first of a month when ``freq`` steps in month starts).
    end : str or pandas.Timestamp
        The last date allowed; it is in the list when it falls on the grid.
    freq : str, default "12MS"
        A pandas frequency: ``"12MS"`` yearly, ``"6MS"`` half-yearly, ``"7D"`` weekly.

    Returns
    -------
    list of pandas.Timestamp
        The dates, oldest first.

    Raises
    ------
    ValueError
        ``freq`` steps in month starts and ``start`` is not the first of a month.

    Examples
    --------
    >>> [str(d.date()) for d in as_of_dates("2021-07-01", "2023-07-01")]
    ['2021-07-01', '2022-07-01', '2023-07-01']
    >>> [str(d.date()) for d in as_of_dates("2023-01-01", "2023-07-01", "3MS")]
    ['2023-01-01', '2023-04-01', '2023-07-01']
    """
    first = pd.Timestamp(start)
    if freq.endswith("MS") and first.day != 1:
        raise ValueError(f"with freq {freq!r}, start must be the first of a month")
    return list(pd.date_range(first, pd.Timestamp(end), freq=freq))


def _as_of(X) -> np.ndarray:
    if isinstance(X, pd.DataFrame) and "as_of" in X.columns:
        values = X["as_of"]
    elif isinstance(X, pd.DataFrame | pd.Series) and "as_of" in (X.index.names or []):
        values = X.index.get_level_values("as_of")
    else:
        raise ValueError("X needs an as_of column or index level")
    days = pd.DatetimeIndex(pd.to_datetime(values)).normalize()
    return days.to_numpy(dtype="datetime64[D]").astype(np.int64)


class TemporalSplit(BaseCrossValidator):
    """Split rows by as-of date: train on earlier dates whose labels ended in time.

    Each split tests on the rows of one as-of date and trains on the rows of every
    earlier as-of date whose label window ends by then. Rows are found by position,
    so ``X`` may be a spine, a feature table, or anything with an ``as_of`` column or
    index level; ``y`` and ``groups`` are ignored.

    Parameters
    ----------
    horizon : str, pandas.Timedelta or int, default "365D"
        The label horizon (an int counts days): a training as-of date ``a`` is usable
        for a test date ``t`` only if ``a + horizon <= t``.
    n_splits : int, optional
        Test on the last ``n_splits`` as-of dates that have training data (None:
        every such date).
    max_train_dates : int, optional
        Train on at most this many of the latest usable dates (None: all).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"as_of": pd.to_datetime(["2022-01-01", "2022-07-01",
    ...                                            "2023-01-01"])})
    >>> [(tr.tolist(), te.tolist()) for tr, te in TemporalSplit("365D").split(X)]
    [([0], [2])]
    """

    def __init__(
        self,
        horizon: str | pd.Timedelta | int = "365D",
        n_splits: int | None = None,
        max_train_dates: int | None = None,
    ):
        self.horizon = horizon
        self.n_splits = n_splits
        self.max_train_dates = max_train_dates

    def _plan(self, X) -> tuple[np.ndarray, list[tuple[np.ndarray, int]]]:
        days = _as_of(X)
        h = horizon_days(self.horizon)
        dates = np.unique(days)
        plan = []
        for test in dates:
            usable = dates[dates + h <= test]
            if self.max_train_dates is not None:
                usable = usable[-self.max_train_dates :]
            if len(usable):
                plan.append((usable, int(test)))
        if self.n_splits is not None:
            if self.n_splits < 1:
                raise ValueError(f"n_splits must be at least 1, not {self.n_splits}")
            if len(plan) < self.n_splits:
                raise ValueError(
                    f"only {len(plan)} as-of dates have training dates at least "
                    f"{h} days earlier; n_splits={self.n_splits} needs more as-of dates"
                )
            plan = plan[-self.n_splits :]
        if not plan:
            raise ValueError(f"no as-of date has a training date at least {h} days before it")
        return days, plan

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Positions of the training and test rows, one test as-of date at a time.

        Parameters
        ----------
        X : pandas.DataFrame or pandas.Series
            Rows with an ``as_of`` column or index level (dates, or text pandas can
            read as dates).
        y : object, optional
            Ignored; there for scikit-learn's signature.
        groups : object, optional
            Ignored; there for scikit-learn's signature.

        Yields
        ------
        train : numpy.ndarray
            Positions of the rows of the usable training dates, ascending.
        test : numpy.ndarray
            Positions of the rows of the test date, ascending.

        Raises
        ------
        ValueError
            ``X`` has no ``as_of``; the horizon is not a positive number of days; no
            as-of date has a training date a horizon before it; or fewer such dates
            than ``n_splits``.

        Examples
        --------
        >>> import pandas as pd
        >>> X = pd.DataFrame({"as_of": pd.to_datetime(
        ...     ["2023-07-01", "2021-07-01", "2022-07-01", "2023-07-01"])})
        >>> [(tr.tolist(), te.tolist()) for tr, te in TemporalSplit("365D").split(X)]
        [([1], [2]), ([1, 2], [0, 3])]
        """
        days, plan = self._plan(X)
        for train_dates, test in plan:
            yield np.flatnonzero(np.isin(days, train_dates)), np.flatnonzero(days == test)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """The number of splits :meth:`split` yields for ``X``.

        Parameters
        ----------
        X : pandas.DataFrame or pandas.Series, optional
            Rows with an ``as_of`` column or index level; without it, ``n_splits``
            must be set.
        y : object, optional
            Ignored; there for scikit-learn's signature.
        groups : object, optional
            Ignored; there for scikit-learn's signature.

        Returns
        -------
        int
            The number of test as-of dates.

        Raises
        ------
        ValueError
            No ``X`` and no ``n_splits``, or ``X`` has too few as-of dates (see
            :meth:`split`).

        Examples
        --------
        >>> import pandas as pd
        >>> X = pd.DataFrame({"as_of": pd.to_datetime(["2021-07-01", "2022-07-01",
        ...                                            "2023-07-01"])})
        >>> TemporalSplit("365D").get_n_splits(X), TemporalSplit(n_splits=1).get_n_splits()
        (2, 1)
        """
        if X is None:
            if self.n_splits is None:
                raise ValueError("pass X, or set n_splits, to know the number of splits")
            return self.n_splits
        return len(self._plan(X)[1])

    def _iter_test_indices(self, X=None, y=None, groups=None):  # pragma: no cover
        for _, test in self.split(X, y, groups):
            yield test
