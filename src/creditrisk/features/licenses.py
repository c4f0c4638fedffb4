"""License features: active, lapsed and revoked administrative licenses.

Examples
--------
>>> [f.name for f in FEATURES]
['licenses_active', 'licenses_lapsed', 'licenses_revoked']
"""

from __future__ import annotations

import numpy as np

from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import Source, per_entity

__all__ = ["FEATURES", "compute"]

_T = "licenses"
FEATURES = [
    Feature("licenses_active", _T, "as of", "Licenses in force on the as-of date.", kind="count"),
    Feature(
        "licenses_lapsed",
        _T,
        "all time",
        "Licenses that expired with no license of the same type in force now.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "licenses_revoked",
        _T,
        "all time",
        "Licenses revoked as a penalty.",
        monotone=1,
        kind="count",
    ),
]


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """License features of some entities as of one day: licenses active, lapsed and revoked.

    A license is known from its issue date; it is active while neither revoked nor
    expired before the as-of date, and lapsed when it expired with no license of the same
    type in force. :func:`creditrisk.features.build_features` calls it, with the other
    source modules' ``compute``, once per as-of date.

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
        What the features count (the penalty features read it); the license
        features take no setting from it.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → an int64 array of counts, one value per
        position in ``pos``.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.catalogue import FeatureSpec
    >>> from creditrisk.features.source import Source, to_day
    >>> tables = cr.load_sample()
    >>> ids = pd.Series(["E0000072", "E0000008"])
    >>> pos = positions(ids, tables.enterprises["entity_id"])
    >>> out = compute(Source(tables), pos, to_day("2024-07-01"), FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> out["licenses_active"].tolist(), out["licenses_lapsed"].tolist()
    ([0, 1], [1, 0])
    """
    n = src.n
    ent = src.pos(_T)
    issued = src.days(_T, "issued_on") < as_of
    revoked = src.days(_T, "revoked_on") < as_of
    expired = src.days(_T, "expires_on") < as_of
    known = issued & (ent >= 0)
    active = known & ~revoked & ~expired
    kind = src.codes(_T, "license_type", _license_types(src))
    n_kinds = int(kind.max()) + 1 if len(kind) else 1
    held = np.zeros(n * n_kinds, dtype=bool)  # (entity, type) with one in force
    held[ent[active] * n_kinds + kind[active]] = True
    lapsed = known & expired & ~revoked
    lapsed[lapsed] = ~held[ent[lapsed] * n_kinds + kind[lapsed]]
    return {
        "licenses_active": per_entity(n, ent[active])[pos].astype(np.int64),
        "licenses_lapsed": per_entity(n, ent[lapsed])[pos].astype(np.int64),
        "licenses_revoked": per_entity(n, ent[known & revoked])[pos].astype(np.int64),
    }


def _license_types(src: Source) -> tuple[str, ...]:
    return tuple(src.frame(_T)["license_type"].cat.categories)
