"""Penalty features: counts and fines by severity over 1 year, 3 years and all time.

Which penalties count is policy (:class:`FeatureSpec`): by default only those still
publicly disclosed on the as-of date and not ended early by a credit restoration known
before it, so a restored record stops counting against the entity (DOMAIN.md).
Windows are on the decision date; a penalty is known from its publication date.

Example
-------
>>> "penalties_general_1y" in [f.name for f in FEATURES]
True
"""

from __future__ import annotations

import numpy as np

from creditrisk.data.schema import SEVERITIES
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import FAR, Source, per_entity

__all__ = ["FEATURES", "WINDOWS", "compute"]

_T = "penalties"
#: name suffix -> (days, words); None is all time
WINDOWS: dict[str, tuple[int | None, str]] = {
    "1y": (365, "in the last 12 months"),
    "3y": (1095, "in the last 3 years"),
    "all": (None, "ever"),
}
_WINDOW_LABEL = {"1y": "1 year", "3y": "3 years", "all": "all time"}
# a minor penalty is disclosed 3 months, so no restoration can end it early (6 months)
_RESTORABLE = ("general", "serious")

FEATURES = (
    [
        Feature(
            f"penalties_{sev}_{w}",
            _T,
            _WINDOW_LABEL[w],
            f"Administrative penalties of {sev} severity {words}"
            + (" (recorded, not disclosed)." if sev == "warning" else ", still counted."),
            monotone=1,
            actionable=sev in _RESTORABLE,
            kind="count",
        )
        for sev in SEVERITIES
        for w, (_, words) in WINDOWS.items()
    ]
    + [
        Feature(
            f"fines_{sev}_{w}",
            _T,
            _WINDOW_LABEL[w],
            f"Fines in yuan from {sev} penalties {words}, still counted.",
            monotone=1,
            actionable=sev in _RESTORABLE,
        )
        for sev in SEVERITIES[1:]
        for w, (_, words) in WINDOWS.items()
    ]
    + [
        Feature(
            "penalty_days_since_last",
            _T,
            "all time",
            "Days since the decision of the latest penalty still counted.",
            monotone=-1,
        ),
        Feature(
            "penalties_restored",
            _T,
            "all time",
            "Penalties whose disclosure a credit restoration ended early.",
            kind="count",
        ),
    ]
)


def counted(src: Source, as_of: int, spec: FeatureSpec) -> np.ndarray:
    """Which penalty rows count on the as-of date, under the spec's policy."""
    ent = src.pos(_T)
    mask = (src.days(_T, "published_on") < as_of) & (ent >= 0)
    if spec.penalty_counting == "disclosed":
        ends = src.days(_T, "disclosure_ends_on")
        mask &= (ends != FAR) & (ends >= as_of)
    if spec.restored_penalties == "exclude":
        mask &= ~(src.days(_T, "restored_on") < as_of)
    return mask


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    n, k = src.n, len(SEVERITIES)
    ent = src.pos(_T)
    decided = src.days(_T, "decided_on")
    severity = src.codes(_T, "severity", SEVERITIES)
    fine = np.nan_to_num(src.values(_T, "fine_amount"))
    mask = counted(src, as_of, spec)
    out: dict[str, np.ndarray] = {}
    for w, (days, _) in WINDOWS.items():
        rows = mask if days is None else mask & (decided >= as_of - days)
        cell = ent[rows] * k + severity[rows]
        counts = np.bincount(cell, minlength=n * k).reshape(n, k)[pos]
        fines = per_entity(n * k, cell, fine[rows]).reshape(n, k)[pos]
        for j, sev in enumerate(SEVERITIES):
            out[f"penalties_{sev}_{w}"] = counts[:, j].astype(np.int64)
            if j:
                out[f"fines_{sev}_{w}"] = fines[:, j]
    latest = np.full(n, -FAR)
    np.maximum.at(latest, ent[mask], decided[mask])
    since = np.where(latest[pos] > -FAR, as_of - latest[pos], np.nan)
    known = (src.days(_T, "published_on") < as_of) & (ent >= 0)
    restored = known & (src.days(_T, "restored_on") < as_of)
    out["penalty_days_since_last"] = since.astype(np.float64)
    out["penalties_restored"] = per_entity(n, ent[restored])[pos].astype(np.int64)
    return {f.name: out[f.name] for f in FEATURES}
