"""The spine: one row per (entity_id, as_of) to compute features and labels for.

An entity belongs to the spine at an as-of date when it was registered before that date
and not deregistered before it. :func:`check_spine` is the gate every feature and label
computation passes: entities must exist, and as-of dates must fall inside the data.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> s = cr.spine(tables, as_of=["2023-07-01", "2024-07-01"], entity_type="company")
>>> list(s.columns), s["as_of"].nunique()
(['entity_id', 'as_of'], 2)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from creditrisk.data.keys import positions
from creditrisk.data.schema import DATE_DTYPE

__all__ = ["KNOWN_DATE_COLUMNS", "as_of_list", "check_dates", "check_spine", "data_span", "spine"]

#: per table, the columns dated when the regulator learned something (they bound the
#: data: scheduled dates such as expires_on or disclosure_ends_on do not)
KNOWN_DATE_COLUMNS = {
    "enterprises": ("registered_on", "deregistered_on"),
    "annual_reports": ("filed_on",),
    "licenses": ("issued_on", "revoked_on"),
    "penalties": ("published_on", "restored_on"),
    "inspections": ("published_on",),
    "list_entries": ("listed_on", "removed_on"),
}
#: the same for the indicator system's optional tables (see data_span)
INDICATOR_KNOWN_DATE_COLUMNS = {
    "roles": ("published_on", "to_on"),
    "changes": ("published_on",),
    "complaints": ("recorded_on", "concluded_on"),
    "external_lists": ("published_on", "removed_on"),
}


def data_span(tables) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First registration and last date anything became known, in ``tables``.

    Without registration dates, the day before the first known record stands for the
    first registration.

    Parameters
    ----------
    tables : EventTables
        The register (:class:`~creditrisk.data.tables.EventTables`); the known dates of
        its extra tables count too.

    Returns
    -------
    tuple of pandas.Timestamp
        (first registration, last date anything became known): the columns of
        :data:`KNOWN_DATE_COLUMNS` bound the data, scheduled dates (an expiry) do not.

    Raises
    ------
    ValueError
        The tables hold no dated record.

    Examples
    --------
    >>> import creditrisk as cr
    >>> first, last = data_span(cr.load_sample())
    >>> str(last.date())
    '2025-12-31'
    >>> first < last
    True
    """
    known = [
        getattr(tables, table)[column]
        for table, columns in KNOWN_DATE_COLUMNS.items()
        for column in columns
        if getattr(tables, table)[column].notna().any()
    ]
    for table, columns in INDICATOR_KNOWN_DATE_COLUMNS.items():
        frame = getattr(tables, table, None)
        known += [frame[c] for c in columns if frame is not None and frame[c].notna().any()]
    for name, frame in getattr(tables, "extra", {}).items():
        column = tables.register.mapping(name).dates[1]
        if frame[column].notna().any():
            known.append(frame[column])
    if not known:
        raise ValueError("the tables hold no dated record: there is no span to work in")
    first = tables.enterprises["registered_on"].min()
    if pd.isna(first):  # a register without registration dates: its first known record
        first = min(column.min() for column in known) - pd.Timedelta(days=1)
    last = max(column.max() for column in known)
    return pd.Timestamp(first), pd.Timestamp(last)


def as_of_list(as_of) -> list[pd.Timestamp]:
    """As-of dates (one or many, text or timestamps) as sorted unique days.

    Parameters
    ----------
    as_of : str, pandas.Timestamp or iterable of them
        One date or many; times of day are dropped.

    Returns
    -------
    list of pandas.Timestamp
        The distinct days, in order.

    Raises
    ------
    ValueError
        No date is given, a value is not a date, or a date is empty.

    Examples
    --------
    >>> [str(d.date()) for d in as_of_list(["2024-07-01", "2023-07-01", "2024-07-01"])]
    ['2023-07-01', '2024-07-01']
    >>> as_of_list(pd.Timestamp("2024-01-01 12:30"))
    [Timestamp('2024-01-01 00:00:00')]
    """
    values = (
        [as_of]
        if isinstance(as_of, str | pd.Timestamp) or not isinstance(as_of, Iterable)
        else list(as_of)
    )
    if not values:
        raise ValueError("no as_of date given")
    try:
        days = pd.to_datetime(pd.Series(values)).dt.normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"as_of must be dates: {exc}") from None
    if days.isna().any():
        raise ValueError("as_of has empty dates")
    return sorted(pd.Timestamp(d) for d in days.unique())


def check_dates(dates: list[pd.Timestamp], first: pd.Timestamp, last: pd.Timestamp) -> None:
    """Refuse as-of dates outside the data (after the first registration, at most the day
    after the last known date), naming them and the span.

    Parameters
    ----------
    dates : list of pandas.Timestamp
        The as-of dates (:func:`as_of_list`).
    first, last : pandas.Timestamp
        The data's span (:func:`data_span`).

    Raises
    ------
    ValueError
        Some dates fall outside the span; the message names up to five of them.

    Examples
    --------
    >>> check_dates([pd.Timestamp("2026-01-01")], pd.Timestamp("2018-01-01"),
    ...             pd.Timestamp("2025-12-31"))  # the day after the last known date is fine
    >>> check_dates([pd.Timestamp("2030-01-01")], pd.Timestamp("2018-01-01"),
    ...             pd.Timestamp("2025-12-31"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: as_of 2030-01-01 is outside the data: ...
    """
    outside = [d for d in dates if not (first < d <= last + pd.Timedelta(days=1))]
    if outside:
        shown = ", ".join(str(d.date()) for d in outside[:5])
        raise ValueError(
            f"as_of {shown} is outside the data: the tables run from {first.date()} (first "
            f"registration) to {last.date()} (last known date), so as_of must be after "
            f"{first.date()} and no later than {(last + pd.Timedelta(days=1)).date()}"
        )


def spine(
    tables,
    as_of,
    *,
    entity_type: str | Iterable[str] | None = None,
    region: str | Iterable[str] | None = None,
    key_sector: str | Iterable[str] | None = None,
    industry: str | Iterable[str] | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """Entities registered before, and not deregistered by, each as-of date.

    Rows are ordered by as_of, then by their order in ``enterprises``. The cohort
    filters keep entities whose attribute is one of the given values. ``span`` is the
    data's (first, last) dates when ``tables`` is a part of a larger register (a chunk
    of entities): as-of dates are checked against the whole register's span.

    Parameters
    ----------
    tables : EventTables
        The register (:class:`~creditrisk.data.tables.EventTables`).
    as_of : str, pandas.Timestamp or iterable of them
        One as-of date or many (:func:`as_of_list`); each must fall inside the data.
    entity_type, region, key_sector, industry : str or iterable of str, optional
        Cohort filters on the columns of ``enterprises`` of the same name; ``None``
        (the default) keeps every value.
    span : tuple of pandas.Timestamp, optional
        The whole register's (first, last) dates when ``tables`` is a chunk of it;
        by default :func:`data_span` of ``tables``.

    Returns
    -------
    pandas.DataFrame
        Columns ``entity_id`` (text) and ``as_of`` (``datetime64[s]``).

    Raises
    ------
    ValueError
        An as-of date is outside the data, or a filter names a value the column does
        not have.

    Examples
    --------
    >>> import creditrisk as cr
    >>> s = cr.spine(cr.load_sample(), "2024-01-01", key_sector=["food", "drug"])
    >>> len(s) > 0
    True
    >>> cr.spine(cr.load_sample(), "2024-01-01", key_sector="fish")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: enterprises.key_sector has no value 'fish'; values are: ...
    """
    dates = as_of_list(as_of)
    check_dates(dates, *(span or data_span(tables)))
    ent = tables.enterprises
    keep = np.ones(len(ent), dtype=bool)
    for column, wanted in (
        ("entity_type", entity_type),
        ("region", region),
        ("key_sector", key_sector),
        ("industry", industry),
    ):
        if wanted is None:
            continue
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        known = set(ent[column].cat.categories)
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise ValueError(
                f"enterprises.{column} has no value {unknown[0]!r}; "
                f"values are: {', '.join(sorted(known))}"
            )
        keep &= ent[column].isin(wanted).to_numpy()
    registered = ent["registered_on"].to_numpy()
    gone = ent["deregistered_on"].to_numpy()
    parts = []
    for day in dates:
        d = day.to_datetime64()
        # an entity without a registration date counts as registered all along
        alive = keep & (np.isnat(registered) | (registered < d)) & (np.isnat(gone) | (gone >= d))
        parts.append(
            pd.DataFrame(
                {
                    "entity_id": ent["entity_id"][alive].to_numpy(),
                    "as_of": np.full(int(alive.sum()), d, dtype=DATE_DTYPE),
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["entity_id"] = out["entity_id"].astype("str")
    return out


def check_spine(tables, spine: pd.DataFrame, span=None) -> tuple[np.ndarray, np.ndarray]:
    """Validate a spine against the tables; return entity positions and as-of days.

    Raises ValueError naming the offending rows when an entity is not in
    ``enterprises``, was not yet registered on its as-of date, or an as-of date falls
    outside the data (``span``, as in :func:`spine`, when the tables are a chunk).

    Parameters
    ----------
    tables : EventTables
        The register (:class:`~creditrisk.data.tables.EventTables`).
    spine : pandas.DataFrame
        Rows to compute for, with columns ``entity_id`` and ``as_of``.
    span : tuple of pandas.Timestamp, optional
        The whole register's (first, last) dates when ``tables`` is a chunk of it.

    Returns
    -------
    pos : numpy.ndarray
        Each row's position in ``enterprises`` (int64).
    days : numpy.ndarray
        Each row's as-of date in days since 1970-01-01 (int64).

    Raises
    ------
    ValueError
        The spine lacks a column or holds empty or unreadable dates, names an unknown
        entity or one not yet registered, or has an as-of date outside the data.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> pos, days = check_spine(t, cr.spine(t, "2024-01-01"))
    >>> bool((pos >= 0).all())
    True
    >>> int(days[0]) == (pd.Timestamp("2024-01-01") - pd.Timestamp("1970-01-01")).days
    True
    """
    if not isinstance(spine, pd.DataFrame) or not {"entity_id", "as_of"} <= set(spine.columns):
        raise ValueError("the spine must be a DataFrame with columns entity_id and as_of")
    try:
        as_of = pd.to_datetime(spine["as_of"]).dt.normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"spine.as_of must hold dates: {exc}") from None
    if as_of.isna().any():
        raise ValueError(f"spine.as_of is empty in {int(as_of.isna().sum())} rows")
    if spine.empty:  # e.g. a cohort nobody belongs to: nothing to check
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ent = tables.enterprises
    pos = positions(spine["entity_id"], ent["entity_id"])
    unknown = pos < 0
    if unknown.any():
        examples = spine.loc[unknown, ["entity_id", "as_of"]].head(5).to_string()
        raise ValueError(
            f"{int(unknown.sum())} spine rows name entities not in enterprises:\n{examples}"
        )
    check_dates(as_of_list(as_of.unique()), *(span or data_span(tables)))
    registered = ent["registered_on"].to_numpy()[pos]
    early = ~np.isnat(registered) & (registered >= as_of.to_numpy(dtype="datetime64[s]"))
    if early.any():
        rows = (
            spine.loc[early, ["entity_id", "as_of"]]
            .head(5)
            .assign(registered_on=registered[early][:5])
        )
        raise ValueError(
            f"{int(early.sum())} spine rows have an as_of on or before the entity's "
            f"registration:\n{rows.to_string()}"
        )
    days = as_of.to_numpy(dtype="datetime64[D]").astype(np.int64)
    return pos, days
