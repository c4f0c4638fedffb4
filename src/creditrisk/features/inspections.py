"""Inspection features: how often, by which kind, and what inspectors found.

An inspection is known from the date its result was published. A finding is any
result other than ``compliant`` (issues found, or not found at the registered address).

Examples
--------
>>> [f.name for f in FEATURES][:2]
['inspections_random', 'inspections_targeted']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.data.schema import INSPECTION_KINDS, OUTCOMES
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import Source, last_per_entity, per_entity

__all__ = ["FEATURES", "compute"]

_T = "inspections"
_KIND_WORDS = {
    "random": "random (double-random) inspections",
    "targeted": "targeted inspections",
    "complaint": "inspections after complaints",
    "joint": "joint inspections",
    "routine": "routine (scheduled, unannounced) inspections",
    "follow_up": "follow-up inspections (re-inspections, compliance checks)",
    "other": "inspections of other programmes",
}
FEATURES = [
    Feature(
        f"inspections_{k}",
        _T,
        "all time",
        f"Number of {_KIND_WORDS[k]}.",
        monotone=1 if k == "complaint" else 0,
        kind="count",
    )
    for k in INSPECTION_KINDS
] + [
    Feature(
        "inspection_findings_share",
        _T,
        "all time",
        "Share of inspections that found issues or did not find the entity at its address.",
        monotone=1,
    ),
    Feature(
        "inspection_findings_3y",
        _T,
        "3 years",
        "Inspections in the last 3 years that found issues.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "inspection_last_outcome",
        _T,
        "last inspection",
        "Result of the latest inspection.",
        kind="category",
    ),
    Feature(
        "inspection_days_since_last", _T, "last inspection", "Days since the latest inspection."
    ),
    Feature(
        "inspections_not_found",
        _T,
        "all time",
        "Inspections that did not find the entity at its registered address.",
        monotone=1,
        kind="count",
    ),
]

_OUTCOME_DTYPE = pd.CategoricalDtype(list(OUTCOMES))


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Inspection features of some entities as of one day: counts by kind, findings, last.

    Only inspections whose result was published before the as-of date count; the
    3-year window is on the inspection date. :func:`creditrisk.features.build_features`
    calls it, with the other source modules' ``compute``, once per as-of date.

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
        What the features count (the penalty features read it); the inspection
        features take no setting from it.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → an array, one value per position in
        ``pos``: int64 counts, float shares and days (NaN without an inspection), and a
        Categorical of :data:`~creditrisk.data.schema.OUTCOMES` for the last outcome.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.source import to_day
    >>> tables = cr.load_sample()
    >>> pos = positions(pd.Series(["E0000004", "E0000008"]), tables.enterprises["entity_id"])
    >>> out = compute(Source(tables), pos, to_day("2024-07-01"), FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> out["inspections_random"].tolist(), [str(v) for v in out["inspection_last_outcome"]]
    ([1, 2], ['compliant', 'issues_found'])
    """
    n, k = src.n, len(INSPECTION_KINDS)
    ent = src.pos(_T)
    day = src.days(_T, "inspected_on")
    known = (src.days(_T, "published_on") < as_of) & (ent >= 0)
    kind = src.codes(_T, "kind", INSPECTION_KINDS)
    outcome = src.codes(_T, "outcome", OUTCOMES)
    finding = outcome > 0  # anything but compliant
    e = ent[known]
    by_kind = np.bincount(e * k + kind[known], minlength=n * k).reshape(n, k)[pos]
    total = per_entity(n, e)[pos]
    findings = per_entity(n, e[finding[known]])[pos]
    out: dict[str, object] = {
        f"inspections_{name}": by_kind[:, j].astype(np.int64)
        for j, name in enumerate(INSPECTION_KINDS)
    }
    out["inspection_findings_share"] = np.where(total > 0, findings / np.maximum(total, 1), np.nan)
    recent = known & finding & (day >= as_of - 1095)
    out["inspection_findings_3y"] = per_entity(n, ent[recent])[pos].astype(np.int64)
    rows = np.flatnonzero(known)[last_per_entity(e, day[known])]
    last_code = np.full(n, -1, dtype=np.int64)
    last_day = np.full(n, np.nan)
    last_code[ent[rows]] = outcome[rows]
    last_day[ent[rows]] = day[rows]
    out["inspection_last_outcome"] = pd.Categorical.from_codes(last_code[pos], dtype=_OUTCOME_DTYPE)
    out["inspection_days_since_last"] = as_of - last_day[pos]
    not_found = known & (outcome == OUTCOMES.index("not_found_at_address"))
    out["inspections_not_found"] = per_entity(n, ent[not_found])[pos].astype(np.int64)
    return out
