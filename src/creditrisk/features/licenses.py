"""License features: active, lapsed and revoked administrative licenses.

Example
-------
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
