"""List-entry features: on the abnormal or serious illegal list now, why, for how long.

An entry is known from its listing date; its removal counts once the removal date is
before the as-of date. ``abnormal`` covers the abnormal operation list and the abnormal
mark of sole proprietors.

Examples
--------
>>> [f.name for f in FEATURES][:2]
['on_abnormal_list', 'abnormal_reason']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.data.schema import LIST_REASONS, LISTS, REMOVAL_REASONS
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import FAR, Source, last_per_entity, per_entity

__all__ = ["FEATURES", "compute"]

_T = "list_entries"
FEATURES = [
    Feature(
        "on_abnormal_list",
        _T,
        "as of",
        "1 if on the abnormal operation list (or marked abnormal) on the as-of date.",
        monotone=1,
        actionable=True,
        kind="flag",
    ),
    Feature(
        "abnormal_reason",
        _T,
        "as of",
        "Why the entity is on the abnormal list (empty if it is not).",
        kind="category",
    ),
    Feature(
        "days_on_abnormal_list",
        _T,
        "as of",
        "Days the entity has been on the abnormal list this time; 0 if not on it.",
        monotone=1,
        actionable=True,
    ),
    Feature(
        "on_serious_list",
        _T,
        "as of",
        "1 if on the serious illegal and dishonest list on the as-of date.",
        monotone=1,
        actionable=True,
        kind="flag",
    ),
    Feature("times_listed", _T, "all time", "Times put on either list.", monotone=1, kind="count"),
    Feature(
        "times_listed_serious",
        _T,
        "all time",
        "Times put on the serious illegal and dishonest list.",
        monotone=1,
        kind="count",
    ),
    Feature("days_listed_total", _T, "all time", "Days spent on either list in all.", monotone=1),
    Feature(
        "list_removals_restored",
        _T,
        "all time",
        "Removals from a list by credit restoration.",
        kind="count",
    ),
]

_REASON_DTYPE = pd.CategoricalDtype(list(LIST_REASONS))
_SERIOUS = LISTS.index("serious_illegal")


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """List-entry features of some entities as of one day: on which list, why, how long.

    An entry counts from its listing date until a removal dated before the as-of date
    (see the module text). :func:`creditrisk.features.build_features` calls it, with the
    other source modules' ``compute``, once per as-of date.

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
        What the features count (the penalty features read it); the list
        features take no setting from it.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → an int64 array (flags and counts), a
        float array (days) or a Categorical of list reasons (``abnormal_reason``, empty
        when not listed), one value per position in ``pos``.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.catalogue import FeatureSpec
    >>> from creditrisk.features.source import Source, to_day
    >>> tables = cr.load_sample()
    >>> ids = pd.Series(["E0000006", "E0000001"])
    >>> pos = positions(ids, tables.enterprises["entity_id"])
    >>> out = compute(Source(tables), pos, to_day("2024-07-01"), FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> out["on_abnormal_list"].tolist(), [str(v) for v in out["abnormal_reason"]]
    ([1, 0], ['annual_report_not_filed', 'nan'])
    """
    n = src.n
    ent = src.pos(_T)
    listed = src.days(_T, "listed_on")
    removed = src.days(_T, "removed_on")
    which = src.codes(_T, "list", LISTS)
    known = (listed < as_of) & (ent >= 0)
    open_now = known & ~(removed < as_of)
    abnormal = open_now & (which != _SERIOUS)
    serious = open_now & (which == _SERIOUS)

    rows = np.flatnonzero(abnormal)[last_per_entity(ent[abnormal], listed[abnormal])]
    reason = np.full(n, -1, dtype=np.int64)
    spell = np.zeros(n)
    reason[ent[rows]] = src.codes(_T, "reason", LIST_REASONS)[rows]
    spell[ent[rows]] = as_of - listed[rows]

    until = np.minimum(np.where(removed == FAR, as_of, removed), as_of)
    total = per_entity(n, ent[known], (until - listed)[known].astype(np.float64))
    restored = known & (removed < as_of)
    restored &= src.codes(_T, "removal_reason", REMOVAL_REASONS) == REMOVAL_REASONS.index(
        "restored"
    )
    return {
        "on_abnormal_list": (per_entity(n, ent[abnormal]) > 0)[pos].astype(np.int64),
        "abnormal_reason": pd.Categorical.from_codes(reason[pos], dtype=_REASON_DTYPE),
        "days_on_abnormal_list": spell[pos],
        "on_serious_list": (per_entity(n, ent[serious]) > 0)[pos].astype(np.int64),
        "times_listed": per_entity(n, ent[known])[pos].astype(np.int64),
        "times_listed_serious": per_entity(n, ent[known & (which == _SERIOUS)])[pos].astype(
            np.int64
        ),
        "days_listed_total": total[pos],
        "list_removals_restored": per_entity(n, ent[restored])[pos].astype(np.int64),
    }
