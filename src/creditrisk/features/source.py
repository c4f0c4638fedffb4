"""Event tables as NumPy arrays for feature and label computations.

Entity ids become positions in ``enterprises`` (once per table) and dates become int
days since 1970, with empty dates as :data:`FAR` (a day after every real date), so
"known before as_of" is simply ``day < as_of``.

Examples
--------
>>> import creditrisk as cr
>>> src = Source(cr.load_sample())
>>> src.n
10000
>>> bool((src.pos("penalties") >= 0).all())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.data.keys import positions_each
from creditrisk.data.schema import TABLE_NAMES

__all__ = ["FAR", "Source", "to_day"]

#: an empty date: later than any real date
FAR = np.int64(10**9)

#: the event tables of the data model, whose entities' positions are found together
_EVENT_TABLES = tuple(t for t in TABLE_NAMES if t != "enterprises")


def to_day(value) -> int:
    """Days since 1970-01-01 of a date-like value.

    Parameters
    ----------
    value : str, datetime.date, pandas.Timestamp or numpy.datetime64
        Anything :class:`pandas.Timestamp` reads; a time of day is dropped.

    Returns
    -------
    int
        The day number, as in the arrays of :class:`Source`.

    Examples
    --------
    >>> to_day("1970-01-02"), to_day("2024-07-01 18:00") - to_day("2024-06-30")
    (1, 1)
    """
    return int(pd.Timestamp(value).to_datetime64().astype("datetime64[D]").astype(np.int64))


class Source:
    """Arrays of one EventTables, computed on first use and kept.

    Parameters
    ----------
    tables : EventTables
        The register (:class:`~creditrisk.data.tables.EventTables`); kept as
        ``tables``, its number of enterprises as ``n``.

    Examples
    --------
    >>> import creditrisk as cr
    >>> src = Source(cr.load_sample())
    >>> src.days("penalties", "published_on") is src.days("penalties", "published_on")
    True
    """

    def __init__(self, tables):
        self.tables = tables
        self.n = len(tables.enterprises)
        self._cache: dict[tuple, np.ndarray] = {}

    def cached(self, key: tuple, make) -> np.ndarray:
        """The array stored under ``key``, made by ``make()`` on first use.

        Parameters
        ----------
        key : tuple
            What the array is (the accessors use ``(table, column, ...)``).
        make : callable
            Called with no argument, once, to make the array.

        Returns
        -------
        numpy.ndarray
            The stored array (the same object on every call).

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> src.cached(("demo",), lambda: np.arange(3))
        array([0, 1, 2])
        >>> src.cached(("demo",), lambda: np.zeros(3))  # kept: make is not called again
        array([0, 1, 2])
        """
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def frame(self, table: str) -> pd.DataFrame:
        """One table of the register (of the data model, or one the register declares).

        Parameters
        ----------
        table : str
            A table of the data model, or an extra table.

        Returns
        -------
        pandas.DataFrame
            The table itself (not a copy).

        Raises
        ------
        KeyError
            The register has no such table.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> len(src.frame("enterprises"))
        10000
        >>> src.frame("violations")
        Traceback (most recent call last):
        KeyError: "the register has no table 'violations'"
        """
        extra = getattr(self.tables, "extra", {})
        if table in extra:
            return extra[table]
        if not hasattr(self.tables, table):
            raise KeyError(f"the register has no table {table!r}")
        return getattr(self.tables, table)

    def pos(self, table: str) -> np.ndarray:
        """Position of each row's entity in ``enterprises`` (-1 if unknown).

        Parameters
        ----------
        table : str
            A table with an ``entity_id`` column.

        Returns
        -------
        numpy.ndarray
            One integer per row of the table.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> src.pos("enterprises")[:3]
        array([0, 1, 2])
        >>> len(src.pos("penalties")) == len(src.frame("penalties"))
        True
        """
        if table == "enterprises":
            return self.cached((table, "pos"), lambda: np.arange(self.n))
        if (table, "pos") not in self._cache:
            names = [table]
            if table in _EVENT_TABLES:  # looked up at once: the ids to find are hashed once
                names += [t for t in _EVENT_TABLES if t != table and self._unplaced(t)]
            found = positions_each(
                [self.frame(t)["entity_id"] for t in names], self.tables.enterprises["entity_id"]
            )
            self._cache.update({(t, "pos"): part for t, part in zip(names, found, strict=True)})
        return self._cache[(table, "pos")]

    def _unplaced(self, table: str) -> bool:
        """A table with entity ids whose positions are not known yet."""
        frame = getattr(self.tables, table, None)
        return (table, "pos") not in self._cache and "entity_id" in getattr(frame, "columns", ())

    def days(self, table: str, column: str) -> np.ndarray:
        """A date column as int days; empty dates are FAR.

        Parameters
        ----------
        table : str
            The table.
        column : str
            One of its date columns.

        Returns
        -------
        numpy.ndarray
            int64 days since 1970-01-01 (:func:`to_day`), :data:`FAR` where empty.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> gone = src.days("enterprises", "deregistered_on")
        >>> bool((gone == FAR).any()), bool((gone[gone < FAR] > to_day("2017-12-31")).all())
        (True, True)
        """

        def make() -> np.ndarray:
            values = self.frame(table)[column].to_numpy(dtype="datetime64[s]")
            out = values.astype(np.int64) // 86_400
            out[np.isnat(values)] = FAR
            return out

        return self.cached((table, column), make)

    def values(self, table: str, column: str, dtype=np.float64) -> np.ndarray:
        """A numeric column as a NumPy array (empty values as NaN).

        Parameters
        ----------
        table : str
            The table.
        column : str
            One of its numeric columns.
        dtype : numpy dtype, default numpy.float64
            The array's dtype; empty values become NaN only in a floating dtype.

        Returns
        -------
        numpy.ndarray
            One value per row of the table.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> src.values("penalties", "fine_amount").dtype
        dtype('float64')
        >>> src.values("annual_reports", "report_year", np.int64).dtype
        dtype('int64')
        >>> bool(np.isnan(src.values("annual_reports", "revenue")).any())  # undisclosed
        True
        """

        def make() -> np.ndarray:
            values = self.frame(table)[column]
            if np.issubdtype(dtype, np.floating):
                return values.to_numpy(dtype=dtype, na_value=np.nan)
            return values.to_numpy(dtype=dtype)

        return self.cached((table, column, "values", np.dtype(dtype).str), make)

    def codes(self, table: str, column: str, vocabulary: tuple[str, ...]) -> np.ndarray:
        """A category column as codes into ``vocabulary`` (-1 for empty or not in it).

        Parameters
        ----------
        table : str
            The table.
        column : str
            One of its category (or text) columns.
        vocabulary : tuple of str
            The values to code: value ``vocabulary[i]`` becomes ``i``.

        Returns
        -------
        numpy.ndarray
            int64 codes, one per row of the table.

        Examples
        --------
        >>> import creditrisk as cr
        >>> src = Source(cr.load_sample())
        >>> codes = src.codes("penalties", "severity", ("general", "serious"))
        >>> sorted(set(codes.tolist()))
        [-1, 0, 1]
        """

        def make() -> np.ndarray:
            values = self.frame(table)[column]
            if isinstance(values.dtype, pd.CategoricalDtype):
                cat = values.array
            else:
                cat = pd.Categorical(values.astype("str").where(values.notna()))
            lookup = [vocabulary.index(c) if c in vocabulary else -1 for c in cat.categories]
            # the trailing -1 is what code -1 (an empty value) picks
            return np.array([*lookup, -1], dtype=np.int64)[cat.codes]

        return self.cached((table, column, "codes", vocabulary), make)


def per_entity(n: int, index: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``weights`` (or count) per entity position, for all ``n`` entities."""
    sums = np.bincount(index, weights=weights, minlength=n)
    # numpy sums no weights into integers: keep sums of weights float even when empty
    return sums if weights is None else sums.astype(np.float64, copy=False)


def last_per_entity(ent: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Row numbers of each entity's row with the largest ``key`` (entities with rows).

    Rows come in entity order; of rows tied on the largest key, the last one is taken.
    """
    if not len(ent):
        return np.empty(0, dtype=np.int64)
    if (fast := _last_by_maximum(ent, key)) is not None:
        return fast
    order = np.lexsort((key, ent))
    sorted_ent = ent[order]
    last = np.r_[sorted_ent[1:] != sorted_ent[:-1], True]
    return order[last]


def _last_by_maximum(ent: np.ndarray, key: np.ndarray) -> np.ndarray | None:
    """:func:`last_per_entity` for integer keys and positions, without a sort.

    Each row's key and row number become one integer ``(key - min) * rows + row``,
    whose largest value per entity is that entity's largest key, ties going to the last
    row, as the stable sort gives; ``np.maximum.at`` finds it in one pass. None where
    that integer could overflow, or for float keys or negative positions.
    """
    if not (np.issubdtype(key.dtype, np.signedinteger) and np.issubdtype(ent.dtype, np.integer)):
        return None
    low, rows = int(key.min()), len(ent)
    if int(ent.min()) < 0 or (int(key.max()) - low + 1) * rows >= 2**62:
        return None
    coded = (key.astype(np.int64) - low) * rows + np.arange(rows, dtype=np.int64)
    best = np.full(int(ent.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(best, ent, coded)
    return best[best >= 0] % rows
