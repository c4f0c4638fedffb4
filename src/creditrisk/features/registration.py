"""Registration features: who the entity is and how long it has existed.

Examples
--------
>>> [f.name for f in FEATURES][:2]
['age_years', 'entity_type']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import Source

__all__ = ["FEATURES", "compute"]

_T = "enterprises"
FEATURES = [
    Feature("age_years", _T, "as of", "Years since the entity was registered.", role="context"),
    Feature(
        "entity_type",
        _T,
        "as of",
        "Legal form (company, sole proprietor, ...).",
        kind="category",
        role="context",
    ),
    Feature(
        "industry",
        _T,
        "as of",
        "Industry of the registered business scope.",
        kind="category",
        role="context",
    ),
    Feature(
        "key_sector",
        _T,
        "as of",
        "Key supervision sector (food, drug, industrial product, special equipment) or none.",
        kind="category",
        role="context",
    ),
    Feature(
        "region",
        _T,
        "as of",
        "District of the registration authority.",
        kind="category",
        role="context",
    ),
    Feature("registered_capital", _T, "as of", "Registered capital in yuan.", role="context"),
]


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Registration features of some entities as of one day: age, form, sector, region, capital.

    The entity's own row of ``enterprises``: nothing in it changes with the as-of date
    but the age. :func:`creditrisk.features.build_features` calls it, with the other
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
        What the features count (the penalty features read it); the registration
        features take no setting from it.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → a float array (``age_years``,
        ``registered_capital``) or a Categorical in the enterprises table's categories,
        one value per position in ``pos``.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.catalogue import FeatureSpec
    >>> from creditrisk.features.source import Source, to_day
    >>> tables = cr.load_sample()
    >>> ids = pd.Series(["E0000004", "E0000008"])
    >>> pos = positions(ids, tables.enterprises["entity_id"])
    >>> out = compute(Source(tables), pos, to_day("2024-07-01"), FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> [str(v) for v in out["entity_type"]], [round(float(v), 1) for v in out["age_years"]]
    (['company', 'sole_proprietor'], [46.5, 46.5])
    """
    ent = src.frame(_T)
    registered = src.days(_T, "registered_on")[pos]
    out: dict[str, object] = {"age_years": (as_of - registered) / 365.25}
    for name in ("entity_type", "industry", "key_sector", "region"):
        column = ent[name]
        out[name] = pd.Categorical.from_codes(column.cat.codes.to_numpy()[pos], dtype=column.dtype)
    out["registered_capital"] = src.values(_T, "registered_capital")[pos]
    return out
