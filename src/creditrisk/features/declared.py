"""Declared features: a table, a filter, an aggregation and a window, written as data.

A register brings signals the built-in catalogue cannot know: a restaurant's past
inspection scores, the critical violations cited, an official risk class. A declared
feature says how to compute one from any table (of the data model, or one the register
mapping declares): which rows (a :class:`~creditrisk.data.rules.Rule` ``filter``), which
column, which aggregation, over which window before the as-of date, and its catalogue
entry (meaning, direction of risk, whether the entity can act on it, the sentence that
reads it in a reason).

Declared features obey the point-in-time rule by construction: for (entity, as_of)
they read only rows the regulator knew before as_of (known date strictly earlier), and
a window counts rows whose event date lies in the ``window`` days before as_of, exactly
as the built-in features do.

Aggregations
------------
``count``            rows (that pass the filter)
``sum`` / ``mean`` / ``min`` / ``max``  of ``column`` over those rows (empty values skipped)
``last``             ``column`` of the latest row (by event date, then known date, then
                     the table's order)
``share``            rows passing the filter over all rows in the window (NaN without rows)
``distinct``         distinct values of ``column``
``days_since_first`` / ``days_since_last``  days from the first / latest event to as_of
``value``            a static attribute: ``column`` of ``enterprises`` (no window)

In a register mapping::

    [[features]]
    name = "critical_violations"
    table = "violations"
    filter = "critical_flag == 'Critical'"
    aggregation = "count"
    windows = ["365D", "1095D"]        # critical_violations_1y, critical_violations_3y
    meaning = "Critical violations cited"
    direction = 1                      # more means riskier
    sentence = "{value:.0f} critical violations cited {window}"

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> mine = declare("not_found", "inspections", "count",
...                filter="outcome == 'not_found_at_address'", direction=1)
>>> X = cr.build_features(tables, cr.spine(tables, "2024-07-01"),
...                       cr.FeatureSpec(declared=mine))
>>> bool((X["not_found"] == X["inspections_not_found"]).all())
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditrisk.data.rules import Rule
from creditrisk.data.schema import TABLES, Problem, SchemaError
from creditrisk.features.catalogue import Feature
from creditrisk.features.source import FAR, Source, last_per_entity, per_entity

__all__ = ["AGGREGATIONS", "Declared", "declare", "from_mapping"]

#: aggregation -> whether it reads ``column``
AGGREGATIONS = {
    "count": False,
    "sum": True,
    "mean": True,
    "min": True,
    "max": True,
    "last": True,
    "share": False,
    "distinct": True,
    "days_since_first": False,
    "days_since_last": False,
    "value": True,
}
_KEYS = {
    "role",
    "name",
    "table",
    "aggregation",
    "column",
    "filter",
    "window",
    "windows",
    "meaning",
    "direction",
    "actionable",
    "sentence",
}
_WINDOW_WORDS = {
    365: "in the last 12 months",
    730: "in the last 2 years",
    1095: "in the last 3 years",
}


def _window_days(window: str | int | None) -> int | None:
    if window is None:
        return None
    if isinstance(window, int | np.integer):
        days = int(window)
    else:
        delta = pd.Timedelta(window)
        if delta % pd.Timedelta(days=1):
            raise ValueError(f"window must be whole days, not {window!r}")
        days = delta.days
    if days <= 0:
        raise ValueError(f"window must be positive, not {window!r}")
    return days


def _suffix(days: int | None) -> str:
    if days is None:
        return "all"
    return f"{days // 365}y" if days % 365 == 0 else f"{days}d"


@dataclass(frozen=True)
class Declared:
    """One declared feature: how to compute it and what it means.

    Parameters
    ----------
    name : str
        The feature's name (a column of the features).
    table : str
        The table it reads (``enterprises`` only with ``aggregation="value"``).
    aggregation : str, default "count"
        One of :data:`AGGREGATIONS`.
    column : str, optional
        The column aggregated (required by sum, mean, min, max, last, distinct, value).
    filter : str, optional
        A :class:`~creditrisk.data.rules.Rule` choosing the rows counted.
    window : str, optional
        ``"365D"``: rows whose event date is in the 365 days before as_of. None: all
        rows known before as_of.
    meaning : str
        What it measures, in plain words (the catalogue's entry).
    direction : int, default 0
        Expected direction of risk as the value grows: 1, -1 or 0 (used as a monotone
        constraint by :class:`~creditrisk.RiskModel`).
    actionable : bool, default False
        Whether the entity itself can change it.
    sentence : str, optional
        How a value reads in a reason: ``str.format`` with ``value`` and ``window``
        (``"{value:.0f} critical violations cited {window}"``). Default: the meaning
        and the value.
    role : {"conduct", "context"}, optional
        What the entity did, or what it is (never a reason; see
        :class:`~creditrisk.features.catalogue.Feature`). Default: context for a static
        attribute (``aggregation="value"``), conduct otherwise.

    Raises
    ------
    ValueError
        An unknown aggregation, a missing or needless column, a bad window or rule.

    Examples
    --------
    >>> d = Declared("score_mean", "inspections", "mean", column="score", window="1095D")
    >>> d.feature.window, d.feature.monotone
    ('3 years', 0)
    """

    name: str
    table: str
    aggregation: str = "count"
    column: str | None = None
    filter: str | None = None
    window: str | None = None
    meaning: str = ""
    direction: int = 0
    actionable: bool = False
    sentence: str | None = None
    role: str | None = None

    def __post_init__(self) -> None:
        where = f"declared feature {self.name!r}"
        if self.role is None:
            object.__setattr__(
                self, "role", "context" if self.aggregation == "value" else "conduct"
            )
        if self.role not in ("conduct", "context"):
            raise ValueError(f"{where}: role must be 'conduct' or 'context', not {self.role!r}")
        if not self.name or not str(self.name).isidentifier():
            raise ValueError(f"{where}: a name must be a plain identifier (letters, _, digits)")
        if self.aggregation not in AGGREGATIONS:
            raise ValueError(
                f"{where}: unknown aggregation {self.aggregation!r}; "
                f"choose one of {', '.join(AGGREGATIONS)}"
            )
        if AGGREGATIONS[self.aggregation] and not self.column:
            raise ValueError(f"{where}: aggregation {self.aggregation!r} needs a column")
        if not AGGREGATIONS[self.aggregation] and self.column:
            raise ValueError(f"{where}: aggregation {self.aggregation!r} reads no column")
        if (self.aggregation == "value") != (self.table == "enterprises"):
            raise ValueError(
                f"{where}: static attributes (aggregation 'value') come from enterprises, "
                "and enterprises gives only static attributes"
            )
        if self.aggregation == "value" and (self.window or self.filter):
            raise ValueError(f"{where}: a static attribute has no window or filter")
        if self.direction not in (-1, 0, 1):
            raise ValueError(f"{where}: direction must be -1, 0 or 1")
        _window_days(self.window)
        if self.filter is not None:
            Rule(self.filter)

    @property
    def days(self) -> int | None:
        """The window in days (None: all time).

        Returns
        -------
        int or None
            Days before as_of that the window covers.

        Examples
        --------
        >>> Declared("n", "inspections", window="365D").days
        365
        """
        return _window_days(self.window)

    @property
    def feature(self) -> Feature:
        """The catalogue entry of this feature.

        Returns
        -------
        Feature
            Name, source table, window, meaning, direction, actionable and kind.

        Examples
        --------
        >>> Declared("n", "inspections", meaning="Inspections").feature.kind
        'count'
        """
        days = self.days
        window = (
            "as of"
            if self.aggregation == "value"
            else (
                "all time"
                if days is None
                else {365: "1 year", 730: "2 years", 1095: "3 years"}.get(days, f"{days} days")
            )
        )
        kind = {"count": "count", "distinct": "count"}.get(self.aggregation, "number")
        meaning = self.meaning or f"{self.aggregation} of {self.column or 'rows'} in {self.table}"
        return Feature(
            self.name,
            self.table,
            window,
            meaning,
            monotone=self.direction,
            actionable=self.actionable,
            kind=kind,
            role=self.role,
        )

    def words(self, value) -> str:
        """The sentence that reads ``value`` of this feature in a reason.

        Parameters
        ----------
        value : object
            The feature's value for one entity (NaN when it has none).

        Returns
        -------
        str
            The sentence.

        Examples
        --------
        >>> d = Declared("crit", "violations", window="365D",
        ...              sentence="{value:.0f} critical violations {window}")
        >>> d.words(2.0)
        '2 critical violations in the last 12 months'
        """
        days = self.days
        window = (
            "on record" if days is None else _WINDOW_WORDS.get(days, f"in the last {days} days")
        )
        missing = value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
        if missing:
            return f"{self.feature.meaning}: none on record"
        if self.sentence:
            try:
                return self.sentence.format(value=value, window=window)
            except (ValueError, TypeError):  # a text value in a number format
                return self.sentence.replace(":.0f", "").format(value=value, window=window)
        shown = f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else value
        return f"{self.feature.meaning}: {shown}"

    def to_dict(self) -> dict[str, Any]:
        """The declaration as plain data (what a mapping or a model's metadata holds).

        Returns
        -------
        dict
            Every field that is set.

        Examples
        --------
        >>> Declared("n", "inspections").to_dict()
        {'name': 'n', 'table': 'inspections', 'aggregation': 'count'}
        """
        out = {"name": self.name, "table": self.table, "aggregation": self.aggregation}
        for key in ("column", "filter", "window", "meaning", "sentence"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.role != ("context" if self.aggregation == "value" else "conduct"):
            out["role"] = self.role
        if self.direction:
            out["direction"] = self.direction
        if self.actionable:
            out["actionable"] = True
        return out

    # -- computing -----------------------------------------------------------------
    def compute(self, src: Source, pos: np.ndarray, as_of: int) -> np.ndarray | pd.Categorical:
        """The feature for the entities at positions ``pos``, as of day ``as_of``.

        Parameters
        ----------
        src : Source
            The register's arrays.
        pos : numpy.ndarray
            Positions of the entities in ``enterprises``.
        as_of : int
            The as-of date in days since 1970.

        Returns
        -------
        numpy.ndarray or pandas.Categorical
            One value per position.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> d = Declared("n", "inspections")
        >>> int(d.compute(src, np.arange(src.n), 19_000).sum()) > 0
        True
        """
        frame = src.frame(self.table)
        if self.aggregation == "value":
            return _take(frame[self.column], pos)
        event, known = _dates(src, self.table)
        ent = src.pos(self.table)
        rows = (ent >= 0) & (src.days(self.table, known) < as_of)
        if self.days is not None:
            rows &= src.days(self.table, event) >= as_of - self.days
        chosen = rows & self._filter(src, frame)
        n = src.n
        if self.aggregation == "count":
            return per_entity(n, ent[chosen])[pos].astype(np.int64)
        if self.aggregation == "share":
            total = per_entity(n, ent[rows])[pos]
            hits = per_entity(n, ent[chosen])[pos]
            return np.where(total > 0, hits / np.maximum(total, 1), np.nan)
        day = src.days(self.table, event)
        if self.aggregation in ("days_since_first", "days_since_last"):
            pick = np.fmin if self.aggregation == "days_since_first" else np.fmax
            out = np.full(n, np.nan)
            dated = chosen & (day < FAR)
            pick.at(out, ent[dated], day[dated].astype(np.float64))
            return as_of - out[pos]
        values = frame[self.column]
        if self.aggregation == "last":
            keep = np.flatnonzero(chosen & values.notna().to_numpy())
            order = day[keep] * 1_000_000_000 + np.minimum(src.days(self.table, known)[keep], FAR)
            last = keep[last_per_entity(ent[keep], order + np.arange(len(keep)) / (len(keep) + 1))]
            index = np.full(n, -1, dtype=np.int64)
            index[ent[last]] = last
            return _take(values, index[pos])
        if self.aggregation == "distinct":
            keep = chosen & values.notna().to_numpy()
            pairs = pd.DataFrame({"e": ent[keep], "v": values[keep].to_numpy()}).drop_duplicates()
            return per_entity(n, pairs["e"].to_numpy())[pos].astype(np.int64)
        number = _numbers(values, self)
        keep = chosen & ~np.isnan(number)
        if self.aggregation in ("sum", "mean"):
            total = per_entity(n, ent[keep], number[keep])[pos]
            if self.aggregation == "sum":
                return total
            count = per_entity(n, ent[keep])[pos]
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)
        out = np.full(n, np.nan)
        (np.fmin if self.aggregation == "min" else np.fmax).at(out, ent[keep], number[keep])
        return out[pos]

    def _filter(self, src: Source, frame: pd.DataFrame) -> np.ndarray:
        if self.filter is None:
            return np.ones(len(frame), dtype=bool)
        return src.cached(
            (self.table, "rule", self.filter), lambda: Rule(self.filter).mask(frame, self.table)
        )


def declare(
    name: str,
    table: str,
    aggregation: str = "count",
    *,
    column: str | None = None,
    filter: str | None = None,
    window: str | None = None,
    windows: Sequence[str | None] | None = None,
    meaning: str = "",
    direction: int = 0,
    actionable: bool = False,
    sentence: str | None = None,
    role: str | None = None,
) -> tuple[Declared, ...]:
    """Declare a feature in Python (one per window when ``windows`` is given).

    Parameters
    ----------
    name : str
        The feature's name; with ``windows``, each gets a suffix (``_1y``, ``_3y``,
        ``_all``, ``_90d``).
    table, aggregation, column, filter, window, meaning, direction, actionable, sentence, role
        As for :class:`Declared`.
    windows : sequence of str or None, optional
        Several windows at once (None in the list: all time).

    Returns
    -------
    tuple of Declared
        The declarations, ready for :class:`~creditrisk.FeatureSpec` ``declared=``.

    Examples
    --------
    >>> [d.name for d in declare("score_max", "inspections", "max", column="score",
    ...                          windows=["365D", None])]
    ['score_max_1y', 'score_max_all']
    """
    fields = dict(
        table=table,
        aggregation=aggregation,
        column=column,
        filter=filter,
        meaning=meaning,
        direction=direction,
        actionable=actionable,
        sentence=sentence,
        role=role,
    )
    if windows is None:
        return (Declared(name, window=window, **fields),)
    if window is not None:
        raise ValueError(f"declared feature {name!r}: give window or windows, not both")
    return tuple(
        Declared(f"{name}_{_suffix(_window_days(w))}", window=w, **fields) for w in windows
    )


def from_mapping(entries: Iterable[Mapping[str, Any]]) -> tuple[Declared, ...]:
    """Declarations from a register mapping's ``[[features]]`` entries.

    Parameters
    ----------
    entries : iterable of dict
        Each with the keys of :func:`declare`.

    Returns
    -------
    tuple of Declared
        Every feature declared, windows expanded.

    Raises
    ------
    ValueError
        An unknown key, or a declaration :class:`Declared` refuses (naming it).

    Examples
    --------
    >>> [d.name for d in from_mapping([{"name": "visits", "table": "inspections",
    ...                                 "windows": ["365D"]}])]
    ['visits_1y']
    """
    out: list[Declared] = []
    for entry in entries:
        entry = dict(entry)
        bad = sorted(set(entry) - _KEYS)
        if bad:
            raise ValueError(
                f"[[features]] {entry.get('name', '?')!r}: unknown keys {bad}; "
                f"keys are {', '.join(sorted(_KEYS))}"
            )
        if "name" not in entry or "table" not in entry:
            raise ValueError(f"[[features]] {entry}: name and table are required")
        out += declare(entry.pop("name"), entry.pop("table"), **entry)
    names = [d.name for d in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"features declared twice: {twice}")
    return tuple(out)


# -- helpers ---------------------------------------------------------------------------
def _dates(src: Source, table: str) -> tuple[str, str]:
    if table in TABLES:
        return TABLES[table].event_date, TABLES[table].known_date
    return src.tables.register.mapping(table).dates


def _take(values: pd.Series, index: np.ndarray) -> np.ndarray | pd.Categorical:
    """``values`` at ``index`` (-1: missing), keeping categories and numbers."""
    index = np.asarray(index, dtype=np.int64)
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = np.where(index >= 0, values.cat.codes.to_numpy()[np.maximum(index, 0)], -1)
        return pd.Categorical.from_codes(codes, dtype=values.dtype)
    if pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        number = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.where(index >= 0, number[np.maximum(index, 0)], np.nan)
    text = values.astype("str").where(values.notna())
    categories = sorted(text.dropna().unique())
    codes = pd.Categorical(text, categories=categories).codes
    picked = np.where(index >= 0, codes[np.maximum(index, 0)], -1)
    return pd.Categorical.from_codes(picked, categories=categories)


def _numbers(values: pd.Series, declared: Declared) -> np.ndarray:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not pd.api.types.is_numeric_dtype(values.dtype):
        shown = values.dropna().astype("str").drop_duplicates().head(5).tolist()
        detail = (
            f"declared feature {declared.name!r} takes the {declared.aggregation} of "
            f"{declared.column!r}, which is {values.dtype}, not a number; values like {shown}"
        )
        raise SchemaError([Problem(declared.table, declared.column, "not a number", detail)])
    return values.to_numpy(dtype=np.float64, na_value=np.nan)
