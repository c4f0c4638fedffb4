"""Fast lookups of entity ids (pyarrow hashing; pandas' str lookups are ~10x slower).

Examples
--------
>>> import pandas as pd
>>> positions(pd.Series(["b", "x", "a"]), pd.Series(["a", "b"]))
array([ 1, -1,  0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["positions", "positions_each"]


def _arrow(values: pd.Series | pd.Index | np.ndarray) -> pa.Array:
    arr = pa.array(values.astype("str") if hasattr(values, "astype") else values)
    return arr.cast(pa.large_string()) if arr.type != pa.large_string() else arr


def positions(values: pd.Series | pd.Index, keys: pd.Series | pd.Index) -> np.ndarray:
    """Position of each value in ``keys`` (first occurrence), or -1 where absent.

    Values and keys are compared as text (pyarrow's ``index_in`` on large strings).

    Parameters
    ----------
    values : pandas.Series or pandas.Index
        The ids to look up (an event table's ``entity_id``, say).
    keys : pandas.Series or pandas.Index
        The ids to find them in (``enterprises["entity_id"]``).

    Returns
    -------
    numpy.ndarray
        int64, one position in ``keys`` per value, -1 where a value is not in ``keys``.

    Examples
    --------
    >>> import pandas as pd
    >>> positions(pd.Series(["E2", "E9"]), pd.Series(["E1", "E2"])).tolist()
    [1, -1]
    """
    found = pc.index_in(_arrow(values), value_set=_arrow(keys))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def positions_each(
    values: Sequence[pd.Series | pd.Index], keys: pd.Series | pd.Index
) -> list[np.ndarray]:
    """:func:`positions` of several columns in the same ``keys``, hashing ``keys`` once.

    Looking up every event table's ``entity_id`` in ``enterprises`` one table at a time
    builds the same hash table of ``keys`` once per table; here it is built once.

    Parameters
    ----------
    values : sequence of pandas.Series or pandas.Index
        The columns of ids to look up.
    keys : pandas.Series or pandas.Index
        The ids to find them in.

    Returns
    -------
    list of numpy.ndarray
        One int64 array per column of ``values``, as :func:`positions` returns it.

    Examples
    --------
    >>> import pandas as pd
    >>> keys = pd.Series(["E1", "E2"])
    >>> [p.tolist() for p in positions_each([pd.Series(["E2"]), pd.Series([], dtype=str)], keys)]
    [[1], []]
    """
    arrays = [_arrow(v) for v in values]
    if not arrays:
        return []
    chunks = [c for a in arrays for c in (a.chunks if isinstance(a, pa.ChunkedArray) else [a])]
    together = pa.chunked_array(chunks, type=pa.large_string())
    found = pc.index_in(together, value_set=_arrow(keys))
    flat = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.split(flat, np.cumsum([len(a) for a in arrays])[:-1])
