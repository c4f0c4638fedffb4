"""The enterprise's own records in the indicator system's optional tables: registration
changes, complaints and other departments' lists.

Built only where the register holds the table (``roles``, ``changes``, ``complaints``,
``external_lists`` are optional). Point in time as every feature: a change counts once
published before the as-of date, a complaint once recorded before it, its verdict once
concluded before it (a complaint still undecided on the as-of date is not substantiated
then, whatever was decided later; without ``concluded_on`` the verdict counts from
``recorded_on``), and an external listing from its publication until a removal dated
before the as-of date. Windows are on the event date: ``1y`` is the 365 days before
the as-of date.

Features that read other enterprises (through a shared person or address) are not
here: they need the whole register, not a chunk of it (issue 18, next part).

Examples
--------
>>> [f.name for f in FEATURES][:2]
['changes_1y', 'changes_legal_representative_1y']
"""

from __future__ import annotations

import numpy as np

from creditrisk.data.schema import CHANGE_KINDS, SUBSTANTIATED
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import Source, per_entity

__all__ = ["FEATURES", "compute"]

YEAR = 365
FEATURES = [
    Feature(
        "changes_1y",
        "changes",
        "1 year",
        "Registration changes (any kind) made in the last 12 months.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "changes_legal_representative_1y",
        "changes",
        "1 year",
        "Changes of legal representative made in the last 12 months.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "changes_address_1y",
        "changes",
        "1 year",
        "Changes of registered address made in the last 12 months.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "complaints_1y",
        "complaints",
        "1 year",
        "Complaints received in the last 12 months.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "complaints_substantiated_1y",
        "complaints",
        "1 year",
        "Complaints received in the last 12 months and found substantiated.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "external_lists_current",
        "external_lists",
        "as of",
        "Entries on other departments' joint-punishment lists in force on the as-of date.",
        monotone=1,
        kind="count",
    ),
]

_LEGAL = CHANGE_KINDS.index("legal_representative")
_ADDRESS = CHANGE_KINDS.index("address")
_YES = SUBSTANTIATED.index("yes")


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Change, complaint and external-list features of some entities as of one day.

    :func:`creditrisk.features.build_features` calls it, with the other source modules'
    ``compute``, once per as-of date (see the module text for what counts when).

    Parameters
    ----------
    src : Source
        The register's arrays (:class:`~creditrisk.features.source.Source`).
    pos : numpy.ndarray
        Positions in ``enterprises`` of the entities wanted, one per output row.
    as_of : int
        The as-of date in days since 1970-01-01; only what was known before it counts.
    spec : FeatureSpec
        Unused: these features take no setting.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → int64 counts, one per position.

    Examples
    --------
    >>> import creditrisk as cr, pandas as pd
    >>> from creditrisk.features.source import Source, to_day
    >>> ent = pd.DataFrame({"entity_id": ["E1"], "registered_on": ["2020-01-01"]})
    >>> changes = pd.DataFrame({"entity_id": ["E1", "E1"], "kind": ["address", "name"],
    ...     "changed_on": ["2023-09-01", "2024-03-01"],
    ...     "published_on": ["2023-09-05", "2024-07-02"]})   # the second: known later
    >>> t = cr.EventTables(enterprises=ent, changes=changes)
    >>> out = compute(Source(t), np.array([0]), to_day("2024-07-01"), FeatureSpec())
    >>> out["changes_1y"].tolist(), out["changes_address_1y"].tolist()
    ([1], [1])
    """
    n = src.n
    out: dict[str, np.ndarray] = {}

    ent = src.pos("changes")
    recent = (
        (ent >= 0)
        & (src.days("changes", "published_on") < as_of)
        & (src.days("changes", "changed_on") >= as_of - YEAR)
    )
    kind = src.codes("changes", "kind", CHANGE_KINDS)
    out["changes_1y"] = per_entity(n, ent[recent])[pos]
    out["changes_legal_representative_1y"] = per_entity(n, ent[recent & (kind == _LEGAL)])[pos]
    out["changes_address_1y"] = per_entity(n, ent[recent & (kind == _ADDRESS)])[pos]

    ent = src.pos("complaints")
    recorded = src.days("complaints", "recorded_on")
    received = (ent >= 0) & (recorded < as_of)
    received &= src.days("complaints", "received_on") >= as_of - YEAR
    verdict_known = src.days("complaints", "concluded_on")
    if not src.frame("complaints")["concluded_on"].notna().any():
        verdict_known = recorded  # a register without verdict dates
    yes = src.codes("complaints", "substantiated", SUBSTANTIATED) == _YES
    out["complaints_1y"] = per_entity(n, ent[received])[pos]
    out["complaints_substantiated_1y"] = per_entity(
        n, ent[received & yes & (verdict_known < as_of)]
    )[pos]

    ent = src.pos("external_lists")
    current = (ent >= 0) & (src.days("external_lists", "published_on") < as_of)
    current &= ~(src.days("external_lists", "removed_on") < as_of)
    out["external_lists_current"] = per_entity(n, ent[current])[pos]
    return {f.name: out[f.name].astype(np.int64) for f in FEATURES}
