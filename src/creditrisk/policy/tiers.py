"""Tiers from probabilities: policy cut-offs, then the policy's override rules.

The model's probability gives a *score tier* through cut-offs (fixed in the policy, or
fitted to target shares on the training population); the override rules then move
it, in the policy's order, to the final *tier*. Each rule that changed the tier is
named in ``override`` and explained in ``override_reason``.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from creditrisk.policy.rules import Policy
>>> policy = Policy.load("national")
>>> features = pd.DataFrame({"on_serious_list": [0, 1, 0], "on_abnormal_list": [0, 0, 1],
...                          "key_sector": ["none", "none", "food"]})
>>> t = assign_tiers(np.array([0.05, 0.05, 0.9]), features, policy, cutoffs=(0.1, 0.3, 0.6))
>>> t["tier"].tolist(), t["override"].tolist()
(['A', 'D', 'D'], ['', 'serious_illegal_list', ''])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditrisk.policy.rules import Override, Policy

__all__ = ["assign_tiers", "fit_cutoffs", "override_mask", "score_tiers", "tier_dtype"]


def tier_dtype(policy: Policy) -> pd.CategoricalDtype:
    """The ordered categorical dtype of a policy's tiers, lowest risk first.

    Parameters
    ----------
    policy : Policy
        Its ``tiers``.

    Returns
    -------
    pandas.CategoricalDtype
        Ordered, so tiers compare by risk.

    Examples
    --------
    >>> from creditrisk.policy.rules import Policy
    >>> list(tier_dtype(Policy.load("national")).categories)
    ['A', 'B', 'C', 'D']
    >>> tiers = pd.Series(["B", "D"], dtype=tier_dtype(Policy.load("national")))
    >>> (tiers > "C").tolist()
    [False, True]
    """
    return pd.CategoricalDtype(list(policy.tiers), ordered=True)


def fit_cutoffs(probability: np.ndarray, shares: Sequence[float]) -> tuple[float, ...]:
    """Cut-offs that split ``probability`` into tiers of the given shares, lowest first.

    An entity goes to the tier above a cut-off when its probability is at least the
    cut-off.

    Parameters
    ----------
    probability : numpy.ndarray
        The training population's probabilities; NaN are left out.
    shares : sequence of float
        The share of each tier, lowest risk first (summing to 1).

    Returns
    -------
    tuple of float
        One cut-off fewer than ``shares``, non-decreasing: quantiles of
        ``probability`` (the next observed value above each cumulative share).

    Raises
    ------
    ValueError
        No probability to fit on.

    Examples
    --------
    >>> fit_cutoffs(np.linspace(0, 1, 101), [0.5, 0.3, 0.2])
    (0.5, 0.8)
    >>> fit_cutoffs(np.array([0.3, 0.1, np.nan, 0.2, 0.4]), [0.5, 0.5])  # NaN left out
    (0.3,)
    """
    p = np.asarray(probability, dtype=np.float64)
    p = p[~np.isnan(p)]
    if not len(p):
        raise ValueError("cannot fit tier cut-offs on an empty population")
    q = np.cumsum(np.asarray(shares, dtype=np.float64))[:-1]
    cut = np.quantile(p, np.clip(q, 0, 1), method="higher")
    # equal quantiles (many tied probabilities) would leave a tier empty: keep order
    return tuple(float(c) for c in np.maximum.accumulate(cut))


def score_tiers(probability: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    """Tier positions (0 = lowest risk) from probabilities and cut-offs.

    Parameters
    ----------
    probability : numpy.ndarray
        Probabilities.
    cutoffs : sequence of float
        Increasing cut-offs between consecutive tiers; a probability equal to a
        cut-off goes to the tier above it.

    Returns
    -------
    numpy.ndarray
        An integer per probability, from 0 to ``len(cutoffs)``.

    Examples
    --------
    >>> score_tiers(np.array([0.05, 0.1, 0.5]), (0.1, 0.3)).tolist()
    [0, 1, 2]
    """
    return np.searchsorted(np.asarray(cutoffs, dtype=np.float64), probability, side="right")


def override_mask(rule: Override, features: pd.DataFrame) -> np.ndarray:
    """Rows where all the rule's conditions hold (a missing value never matches).

    Parameters
    ----------
    rule : Override
        The rule; a numeric column is compared as numbers, any other as text.
    features : pandas.DataFrame
        The features, with a column for each feature the rule tests.

    Returns
    -------
    numpy.ndarray
        A bool per row.

    Raises
    ------
    ValueError
        ``features`` lacks a feature the rule tests.

    Examples
    --------
    >>> from creditrisk.policy.rules import KEY_SECTOR_EXAMPLE, RELATED_PARTY_EXAMPLES, Policy
    >>> d = Policy.load("national").to_dict()
    >>> d["overrides"] += [KEY_SECTOR_EXAMPLE, *RELATED_PARTY_EXAMPLES]
    >>> key_sector, _, cluster = Policy.from_dict(d).overrides[2:]
    >>> override_mask(key_sector, pd.DataFrame({"key_sector": ["food", "none", None]})).tolist()
    [True, False, False]
    >>> f = pd.DataFrame({"address_cluster_size": [12, 12, 4],
    ...                   "address_cluster_abnormal": [3, 1, 3]})
    >>> override_mask(cluster, f).tolist()
    [True, False, False]
    """
    hit = np.ones(len(features), dtype=bool)
    for condition in rule.conditions:
        hit &= _holds(rule.name, condition, features)
    return hit


def _holds(name: str, condition, features: pd.DataFrame) -> np.ndarray:
    if condition.feature not in features.columns:
        raise ValueError(
            f"override {name!r} needs feature {condition.feature!r}, which the input lacks"
        )
    column = features[condition.feature]
    missing = column.isna().to_numpy()
    value = condition.value
    if not pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("str").to_numpy(dtype=object)
        target = [str(v) for v in value] if isinstance(value, list) else str(value)
    else:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        target = value
    op = condition.op
    if op == "in":
        hit = np.isin(values, target)
    elif op == "not in":
        hit = ~np.isin(values, target)
    else:
        with np.errstate(invalid="ignore"):
            hit = {
                "==": np.equal,
                "!=": np.not_equal,
                ">": np.greater,
                ">=": np.greater_equal,
                "<": np.less,
                "<=": np.less_equal,
            }[op](values, target)
    return np.asarray(hit, dtype=bool) & ~missing


def assign_tiers(
    probability: np.ndarray,
    features: pd.DataFrame,
    policy: Policy,
    cutoffs: Sequence[float],
) -> pd.DataFrame:
    """Score tier, final tier, and the overrides that moved it, for every row.

    Columns: ``score_tier`` (from the cut-offs), ``tier`` (after the overrides),
    ``override`` (names of the rules that changed the tier, ``"; "``-joined, empty when
    none did) and ``override_reason`` (their sentences). The index is ``features``'.

    Parameters
    ----------
    probability : numpy.ndarray
        One probability per row of ``features``.
    features : pandas.DataFrame
        The features the policy's overrides test.
    policy : Policy
        The tiers and the overrides, applied in order.
    cutoffs : sequence of float
        One cut-off fewer than the policy has tiers (the policy's, or a model's
        ``cutoffs_``).

    Returns
    -------
    pandas.DataFrame
        The four columns above; ``score_tier`` and ``tier`` in :func:`tier_dtype`.

    Raises
    ------
    ValueError
        The lengths disagree, or ``features`` lacks a feature an override tests.

    Examples
    --------
    >>> from creditrisk.policy.rules import Policy
    >>> p = Policy.load("daqing")
    >>> f = pd.DataFrame({"on_serious_list": [0], "on_abnormal_list": [0],
    ...                   "penalties_serious_1y": [1], "key_sector": ["none"]})
    >>> row = assign_tiers(np.array([0.2]), f, p, p.cutoffs).iloc[0]
    >>> row["score_tier"], row["tier"], row["override_reason"]
    ('B', 'D', 'A serious penalty in the last 12 months: up two tiers to D')
    """
    n = len(features)
    if len(probability) != n:
        raise ValueError(f"{len(probability)} probabilities for {n} rows of features")
    if len(cutoffs) != len(policy.tiers) - 1:
        raise ValueError(f"{len(cutoffs)} cut-offs for {len(policy.tiers)} tiers")
    start = score_tiers(np.asarray(probability, dtype=np.float64), cutoffs)
    tier = start.copy()
    worst = len(policy.tiers) - 1
    names = np.full(n, "", dtype=object)
    reasons = np.full(n, "", dtype=object)
    for rule in policy.overrides:
        hit = override_mask(rule, features)
        if not hit.any():
            continue
        if rule.action == "raise_by":
            moved = np.minimum(tier + int(rule.target), worst)
        else:
            target = policy.tier_index(str(rule.target))
            moved = {
                "set": np.full(n, target),
                "at_least": np.maximum(tier, target),
                "at_most": np.minimum(tier, target),
            }[rule.action]
        changed = np.flatnonzero(hit & (moved != tier))
        tier[changed] = moved[changed]
        if len(changed):
            _append(names, changed, rule.name)
            _append(reasons, changed, _sentences(rule, features, changed, tier, policy))
    dtype = tier_dtype(policy)
    return pd.DataFrame(
        {
            "score_tier": pd.Categorical.from_codes(start, dtype=dtype),
            "tier": pd.Categorical.from_codes(tier, dtype=dtype),
            "override": names.astype(str),
            "override_reason": reasons.astype(str),
        },
        index=features.index,
    )


def _append(out: np.ndarray, rows: np.ndarray, text) -> None:
    old = out[rows]
    joined = np.where(old == "", "", old + "; ")
    out[rows] = joined + text


def _sentences(
    rule: Override, features: pd.DataFrame, rows: np.ndarray, tier: np.ndarray, policy: Policy
) -> np.ndarray:
    # one format() per distinct (values, tier), not per row
    tested = list(rule.features)
    pairs = pd.DataFrame(
        {f: features[f].iloc[rows].astype("str").to_numpy(dtype=object) for f in tested}
    )
    pairs["tier"] = np.asarray(policy.tiers, dtype=object)[tier[rows]]
    codes, uniques = pd.MultiIndex.from_frame(pairs).factorize()
    text = np.array(
        [
            rule.sentence(
                tier=key[-1],
                value=_show(key[0]),
                **{f: _show(v) for f, v in zip(tested, key[:-1], strict=True)},
            )
            for key in uniques
        ],
        dtype=object,
    )
    return text[codes]


def _show(value: str) -> str:
    # "1.0" -> "1" for flags and counts; category names with underscores as words
    try:
        number = float(value)
    except ValueError:
        return value.replace("_", " ")
    return f"{number:g}"
