"""Registration features: who the entity is and how long it has existed.

Example
-------
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
    Feature("age_years", _T, "as of", "Years since the entity was registered."),
    Feature(
        "entity_type", _T, "as of", "Legal form (company, sole proprietor, ...).", kind="category"
    ),
    Feature("industry", _T, "as of", "Industry of the registered business scope.", kind="category"),
    Feature(
        "key_sector",
        _T,
        "as of",
        "Key supervision sector (food, drug, industrial product, special equipment) or none.",
        kind="category",
    ),
    Feature("region", _T, "as of", "District of the registration authority.", kind="category"),
    Feature("registered_capital", _T, "as of", "Registered capital in yuan."),
]


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    ent = src.frame(_T)
    registered = src.days(_T, "registered_on")[pos]
    out: dict[str, object] = {"age_years": (as_of - registered) / 365.25}
    for name in ("entity_type", "industry", "key_sector", "region"):
        column = ent[name]
        out[name] = pd.Categorical.from_codes(column.cat.codes.to_numpy()[pos], dtype=column.dtype)
    out["registered_capital"] = src.values(_T, "registered_capital")[pos]
    return out
