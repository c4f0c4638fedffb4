"""The training plan: out-of-time folds over the as-of dates, nothing held out twice.

A risk model is used on dates after the ones it learned from, so it is validated the
same way. Rolling origin: each fold validates on one labelled as-of date and trains on
every earlier date whose label window ends by then (``as_of + horizon <= valid date``),
so no inspection is a label on both sides. :class:`~creditrisk.RiskModel` uses the last
``n_folds`` such folds to choose its number of trees (the best mean validation AUC),
calibrates its probabilities on the folds' out-of-fold, out-of-time predictions, then
refits on every labelled date: all the data trains the final model, and every number
that chose or calibrated it came from a date the deciding model had not seen.

With a single as-of date (or a plain feature matrix, which has none) there is no time to
split, and entities are split instead (``method == "entities"``). With several dates
but none a whole horizon after another, no fold can be honest: the plan says so, and
what would work.

Examples
--------
>>> import numpy as np, pandas as pd
>>> days = pd.to_datetime(["2021-01-01", "2022-01-01", "2023-01-01"] * 2).to_numpy()
>>> folds = rolling_folds(days, np.ones(6, dtype=bool), horizon=365, n_folds=3)
>>> [(f.valid_date, f.train_dates) for f in folds]
[('2022-01-01', ['2021-01-01']), ('2023-01-01', ['2021-01-01', '2022-01-01'])]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Fold", "PlanError", "rolling_folds"]


class PlanError(ValueError):
    """As-of dates from which no honest out-of-time fold can be made.

    Examples
    --------
    >>> isinstance(PlanError("x"), ValueError)
    True
    """


@dataclass(frozen=True)
class Fold:
    """One out-of-time fold: train on earlier dates, validate on a later one.

    Parameters
    ----------
    train : numpy.ndarray of bool
        The labelled rows the fold trains on.
    valid : numpy.ndarray of bool
        The labelled rows of its validation date.
    train_dates : list of str
        The training as-of dates.
    valid_date : str
        The validation as-of date.

    Examples
    --------
    >>> f = Fold(np.array([True, False]), np.array([False, True]), ["2021-01-01"],
    ...          "2022-01-01")
    >>> int(f.train.sum()), f.valid_date
    (1, '2022-01-01')
    """

    train: np.ndarray
    valid: np.ndarray
    train_dates: list[str]
    valid_date: str


def _day(value) -> str:
    return str(pd.Timestamp(value).date())


def rolling_folds(
    as_of: np.ndarray | None, labelled: np.ndarray, horizon: int, n_folds: int = 3
) -> list[Fold] | None:
    """The last ``n_folds`` rolling-origin folds over the labelled as-of dates.

    Parameters
    ----------
    as_of : numpy.ndarray of datetime64, or None
        Each row's as-of date (None: a plain matrix without dates).
    labelled : numpy.ndarray of bool
        Rows whose label is defined.
    horizon : int
        The label horizon in days: a training date ``t`` serves a validation date ``v``
        only if ``t + horizon <= v``.
    n_folds : int, default 3
        How many of the latest possible folds to use (at least 1).

    Returns
    -------
    list of Fold, or None
        The folds, oldest first; None when there is only one as-of date (or none), so
        only an entity split is possible.

    Raises
    ------
    PlanError
        Several dates, but none at least ``horizon`` days after another: no honest
        out-of-time fold (the message says what would work).

    Examples
    --------
    >>> days = pd.to_datetime(["2022-01-01", "2022-07-01"]).to_numpy()
    >>> rolling_folds(days, np.ones(2, dtype=bool), horizon=365)
    Traceback (most recent call last):
    ...
    creditrisk.model.folds.PlanError: as-of dates 2022-01-01 .. 2022-07-01 span 181 days: ...
    """
    if n_folds < 1:
        raise ValueError(f"n_folds must be at least 1, not {n_folds}")
    if as_of is None:
        return None
    days = np.asarray(as_of, dtype="datetime64[D]")
    dates = np.unique(days[labelled])
    if len(dates) < 2:
        return None
    folds = []
    for valid in dates:
        usable = dates[dates + np.timedelta64(horizon, "D") <= valid]
        if not len(usable):
            continue
        train = labelled & np.isin(days, usable)
        check = labelled & (days == valid)
        folds.append(Fold(train, check, [_day(d) for d in usable], _day(valid)))
    if not folds:
        span = int((dates[-1] - dates[0]).astype(np.int64))
        raise PlanError(
            f"as-of dates {_day(dates[0])} .. {_day(dates[-1])} span {span} days: no date is "
            f"a whole {horizon}-day label horizon after another, so no model can be "
            "validated out of time. Add as-of dates at least "
            f"{horizon} days apart (for example {_day(dates[-1] - np.timedelta64(horizon, 'D'))}"
            f" beside {_day(dates[-1])}), shorten the horizon, or fit on one date "
            "(entities are then split, which says less about later dates)"
        )
    return folds[-n_folds:]
