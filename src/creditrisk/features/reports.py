"""Annual-report features: filing on time, missed years, lateness, what was reported.

A report for year Y is due 1 January - 30 June of Y+1 (DOMAIN.md). Which reports were
due is derived, not read: the report for year Y is due from every entity registered by
31 December of Y and not deregistered by its deadline, for the years the table covers
(from its first report year on). So a register that lists unfiled obligations (an empty
``filed_on``) and one that keeps only the reports filed give the same features. On an
as-of date, the reports due are those whose deadline has passed; a report counts as
filed only if its filing date is before the as-of date.

Examples
--------
>>> [f.name for f in FEATURES][:3]
['report_last_year_filed', 'report_last_year_on_time', 'reports_missed_in_a_row']
"""

from __future__ import annotations

import numpy as np

from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import FAR, Source, last_per_entity, per_entity

__all__ = ["FEATURES", "compute", "deadline_days"]

_T = "annual_reports"


def _f(name, window, meaning, **kw) -> Feature:
    return Feature(name, _T, window, meaning, **kw)


FEATURES = [
    _f(
        "report_last_year_filed",
        "last report due",
        "1 if the last annual report due has been filed, 0 if not (empty if none due yet).",
        monotone=-1,
        actionable=True,
        kind="flag",
    ),
    _f(
        "report_last_year_on_time",
        "last report due",
        "1 if the last annual report due was filed by 30 June, 0 if not.",
        monotone=-1,
        kind="flag",
    ),
    _f(
        "reports_missed_in_a_row",
        "all time",
        "Annual reports due and not filed, counting back from the last one due.",
        monotone=1,
        actionable=True,
        kind="count",
    ),
    _f(
        "reports_not_filed",
        "all time",
        "Annual reports due and still not filed.",
        monotone=1,
        actionable=True,
        kind="count",
    ),
    _f(
        "reports_filed_late",
        "all time",
        "Annual reports filed after their 30 June deadline.",
        monotone=1,
        kind="count",
    ),
    _f(
        "report_days_late_last",
        "last report due",
        "Days the last annual report due was (or still is) late; 0 if on time.",
        monotone=1,
    ),
    _f(
        "reports_on_time_share",
        "all time",
        "Share of the annual reports due that were filed by 30 June.",
        monotone=-1,
    ),
    _f(
        "reports_zero_financials",
        "all time",
        "Filed annual reports whose disclosed figures are all zero (a sign of a shell).",
        monotone=1,
        kind="count",
    ),
    _f(
        "report_days_before_deadline",
        "3 years",
        "Average days before 30 June that the last three reports due were filed, among "
        "those filed on time.",
        monotone=-1,
    ),
    _f(
        "report_days_before_deadline_all",
        "all time",
        "Average days before 30 June that the reports due were filed, among those filed on time.",
        monotone=-1,
    ),
    _f(
        "leverage_last",
        "last filed report",
        "Liabilities over assets in the last annual report filed.",
        monotone=1,
    ),
    _f(
        "leverage_mean",
        "all time",
        "Average of liabilities over assets across the annual reports filed.",
        monotone=1,
    ),
    _f(
        "tax_to_revenue_last",
        "last filed report",
        "Tax paid over revenue in the last annual report filed.",
        monotone=-1,
    ),
    _f(
        "tax_to_revenue_mean",
        "all time",
        "Average of tax paid over revenue across the annual reports filed.",
        monotone=-1,
    ),
    _f("employees_last", "last filed report", "Employees in the last annual report filed."),
    _f("revenue_last", "last filed report", "Revenue in yuan in the last annual report filed."),
]

_FIGURES = ("employees", "revenue", "assets", "liabilities", "tax_paid")


def deadline_days(report_year: np.ndarray) -> np.ndarray:
    """30 June of the year after each report year, as int days.

    The deadline of the annual report for year Y (DOMAIN.md): it is due from 1 January
    to 30 June of Y+1.

    Parameters
    ----------
    report_year : array-like of int
        Report years.

    Returns
    -------
    numpy.ndarray
        int64 days since 1970-01-01 of each deadline.

    Examples
    --------
    >>> import numpy as np
    >>> str(np.datetime64(int(deadline_days(np.array([2023]))[0]), "D"))
    '2024-06-30'
    """
    years = np.asarray(report_year)
    if years.size > 1_000 and np.issubdtype(years.dtype, np.integer):
        # few distinct years: compute each once, then look the rows up
        low, high = int(years.min()), int(years.max())
        if high - low < 10_000:
            return deadline_days(np.arange(low, high + 1, dtype=np.int64))[years - low]
    june = ((years + 1 - 1970) * 12 + 5).astype("datetime64[M]")
    return june.astype("datetime64[D]").astype(np.int64) + 29


def _last_due_year(days: np.ndarray) -> np.ndarray:
    """The last report year whose deadline (30 June next year) is before each day."""
    dates = np.asarray(days).astype("datetime64[D]")
    year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    july = ((year - 1970) * 12 + 6).astype("datetime64[M]").astype("datetime64[D]")
    return np.where(dates >= july, year - 1, year - 2)


def _obligations(src: Source, year: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per entity, the first and the last report year it owes (derived, not read).

    From the later of its registration year and the table's first report year; to the
    last year whose deadline comes before its deregistration (no end while registered).
    """
    registered = src.days("enterprises", "registered_on")
    gone = src.days("enterprises", "deregistered_on")
    # what the whole register covers, when these tables are a chunk of it
    whole = getattr(src.tables, "coverage", {}).get("first_report_year")
    if not len(year) and whole is None:  # no report anywhere: nothing is known to be owed
        never = np.full(src.n, np.iinfo(np.int64).max // 2)
        return never, never
    covered = int(whole if whole is not None else year.min())
    reg_year = np.where(
        registered < FAR,
        registered.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970,
        covered,
    )
    first = np.maximum(reg_year, covered)
    last = np.where(gone < FAR, _last_due_year(np.minimum(gone, FAR - 1)), np.iinfo(np.int64).max)
    return first, last


def _owed(
    ent: np.ndarray, year: np.ndarray, first_year: np.ndarray, last_obliged: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: owed by a known entity (a year from its first one on), its last year owed."""
    at = np.maximum(ent, 0)
    return (ent >= 0) & (year >= first_year[at]), last_obliged[at]


def _mean(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom where bottom is positive, else NaN."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(bottom > 0, top / bottom, np.nan)


def _all_zero(figures: dict[str, np.ndarray]) -> np.ndarray:
    """Rows that disclose at least one figure, every disclosed one zero (NaN: undisclosed)."""
    shown = np.zeros(len(next(iter(figures.values()))), dtype=bool)
    zero = np.ones_like(shown)
    for values in figures.values():
        missing = np.isnan(values)
        shown |= ~missing
        zero &= missing | (values == 0)
    return shown & zero


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Annual-report features of some entities as of one day: filing record and figures.

    A report counts as due once its deadline (:func:`deadline_days`) is before the
    as-of date, as filed once its filing date is, and its figures are known once filed.
    :func:`creditrisk.features.build_features` calls it, with the other source modules'
    ``compute``, once per as-of date.

    Parameters
    ----------
    src : Source
        The register's arrays (:class:`~creditrisk.features.source.Source`), made once
        and shared by every source module and as-of date.
    pos : numpy.ndarray
        Positions in ``enterprises`` of the entities wanted, one per output row.
    as_of : int
        The as-of date in days since 1970-01-01
        (:func:`~creditrisk.features.source.to_day`); only what was known before it
        counts.
    spec : FeatureSpec
        What the features count (the penalty features read it); the annual-report
        features take no setting from it.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → a float array (NaN where undefined: no
        report due or filed yet) or an int64 array for counts, one value per position in
        ``pos``.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.catalogue import FeatureSpec
    >>> from creditrisk.features.source import Source, to_day
    >>> tables = cr.load_sample()
    >>> ids = pd.Series(["E0002392", "E0000006"])
    >>> pos = positions(ids, tables.enterprises["entity_id"])
    >>> out = compute(Source(tables), pos, to_day("2024-07-01"), FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> out["reports_not_filed"].tolist(), out["reports_missed_in_a_row"].tolist()
    ([7, 3], [2, 1])
    """
    n = src.n
    ent = src.pos(_T)
    year = src.values(_T, "report_year", dtype=np.int64)
    deadline = src.cached((_T, "deadline"), lambda: deadline_days(year))
    filed_day = src.days(_T, "filed_on")
    first_year, last_obliged = src.cached((_T, "obligations"), lambda: _obligations(src, year))
    # the years due on as_of: first_year .. the last whose deadline has passed
    last_year = _last_due_year(np.array([as_of]))[0]
    last_due = np.minimum(last_obliged, last_year)
    due_count = np.maximum(last_due - first_year + 1, 0)
    has_due = due_count > 0
    # per row, what does not depend on as_of: owed from its entity's first year on,
    # until its last obliged year (the as-of date may end the years due earlier)
    owed, row_last_obliged = src.cached(
        (_T, "owed"), lambda: _owed(ent, year, first_year, last_obliged)
    )
    due = owed & (year <= np.minimum(row_last_obliged, last_year))
    filed = filed_day < as_of
    on_time = filed & (filed_day <= deadline)
    # boolean masks select through their row numbers: the same rows, faster
    due_rows = np.flatnonzero(due)

    # the last report due: its row (if the table has one) says whether and when filed
    e, y = ent[due_rows], year[due_rows]
    last_rows = due_rows[y == last_due[e]]
    le = ent[last_rows]
    last_filed = np.where(has_due, 0.0, np.nan)
    last_on_time = last_filed.copy()
    last_deadline = deadline_days(last_due).astype(np.float64)
    days_late = np.where(has_due, np.maximum(as_of - last_deadline, 0), np.nan)
    last_filed[le] = filed[last_rows]
    last_on_time[le] = on_time[last_rows]
    late_until = np.where(filed[last_rows], filed_day[last_rows], as_of)
    days_late[le] = np.maximum(late_until - deadline[last_rows], 0)

    def count(mask: np.ndarray) -> np.ndarray:
        return per_entity(n, ent[np.flatnonzero(mask)])

    # the record of filing over the years due
    filed_due = np.flatnonzero(due & filed)
    latest_filed_year = np.full(n, -1, dtype=np.int64)
    np.maximum.at(latest_filed_year, ent[filed_due], year[filed_due])
    since = np.maximum(latest_filed_year, first_year - 1)
    missed_in_a_row = np.where(has_due, last_due - since, 0)
    on_time_share = _mean(count(due & on_time), due_count)

    def mean_days_before(rows: np.ndarray) -> np.ndarray:
        who = ent[rows]
        days = per_entity(n, who, (deadline[rows] - filed_day[rows]).astype(np.float64))
        return _mean(days, per_entity(n, who))

    recent_on_time = due & on_time
    recent_on_time[due_rows] &= y >= last_due[e] - 2

    # what the filed reports said (known once filed)
    known = filed & (ent >= 0)
    known_rows = np.flatnonzero(known)
    figures = {c: src.values(_T, c) for c in _FIGURES}
    zero = known & src.cached((_T, "all figures zero"), lambda: _all_zero(figures))
    leverage = src.cached(
        (_T, "leverage"), lambda: _ratio(figures["liabilities"], figures["assets"])
    )
    tax_ratio = src.cached(
        (_T, "tax ratio"), lambda: _ratio(figures["tax_paid"], figures["revenue"])
    )
    latest = known_rows[
        last_per_entity(ent[known_rows], filed_day[known_rows] * 10_000 + year[known_rows])
    ]

    def last_value(values: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        out[ent[latest]] = values[latest]
        return out

    def mean_value(values: np.ndarray) -> np.ndarray:
        ok = known_rows[~np.isnan(values[known_rows])]
        who = ent[ok]
        return _mean(per_entity(n, who, values[ok]), per_entity(n, who))

    out = {
        "report_last_year_filed": last_filed,
        "report_last_year_on_time": last_on_time,
        "reports_missed_in_a_row": missed_in_a_row.astype(np.int64),
        "reports_not_filed": (due_count - per_entity(n, ent[filed_due])).astype(np.int64),
        "reports_filed_late": count(due & filed & ~on_time).astype(np.int64),
        "report_days_late_last": days_late,
        "reports_on_time_share": on_time_share,
        "reports_zero_financials": count(zero).astype(np.int64),
        "report_days_before_deadline": mean_days_before(np.flatnonzero(recent_on_time)),
        "report_days_before_deadline_all": mean_days_before(np.flatnonzero(due & on_time)),
        "leverage_last": last_value(leverage),
        "leverage_mean": mean_value(leverage),
        "tax_to_revenue_last": last_value(tax_ratio),
        "tax_to_revenue_mean": mean_value(tax_ratio),
        "employees_last": last_value(figures["employees"]),
        "revenue_last": last_value(figures["revenue"]),
    }
    return {name: values[pos] for name, values in out.items()}
