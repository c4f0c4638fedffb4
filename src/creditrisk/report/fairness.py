"""Fairness and selection checks: do the tiers treat groups as their findings say?

DOMAIN.md's lesson from inspection targeting elsewhere: audit tier shares and hit rates
by region, industry and entity type, and measure on random inspections separately from
targeted ones, because who gets a targeted inspection depends on who was suspected.

Outcomes come from the inspections in the label horizon after each score's as-of date
(:func:`outcomes`): ``random_finding`` from double-random inspections (unbiased given
the features) and ``targeted_finding`` from the inspections the regulator chose
(targeted, complaint, joint), each undefined (NaN) for an entity not so inspected.

:func:`group_table` compares, for each value of an attribute (each region, say), the
group's tiers with its findings. A group's tiers *imply* a finding rate: the
population's random-inspection finding rate of each tier, averaged over the group's
randomly inspected entities. The group is flagged ``over-tiered`` when even the top of
the confidence interval of its observed random finding rate, times ``tolerance``,
stays below that implied rate (its tiers are harsher than its findings), and
``under-tiered`` in the mirror case. Comparing tier *shares* directly with finding
rates would flag a perfectly calibrated model, because tiers are cut-offs: a group
30% riskier can hold twice the share of tier D.

Examples
--------
>>> import creditrisk as cr
>>> t = cr.load_sample()
>>> m = cr.RiskModel.load(cr.sample_model_path())
>>> s = m.classify(cr.build_features(t, cr.spine(t, "2024-07-01")), top_k=0)
>>> s = s.join(cr.build_features(t, cr.spine(t, "2024-07-01"))[["region"]])
>>> o = outcomes(t, s)
>>> table = group_table(s, o, "region")
>>> int(table["entities"].sum()) == len(s)
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from creditrisk.features.labels import build_labels

__all__ = ["GROUPS", "audit", "group_table", "outcomes", "selection_table", "with_groups"]

#: the attributes audited by default: region, industry, entity type, key sector
GROUPS = ("region", "industry", "entity_type", "key_sector")
_KINDS = {"random": "inspection_finding", "targeted": "targeted_finding"}


def outcomes(tables, scores: pd.DataFrame, horizon: str = "365D") -> pd.DataFrame:
    """Random and targeted inspection findings in the horizon after each score's as_of.

    Columns ``random_finding`` and ``targeted_finding`` (1.0, 0.0, or NaN when the entity
    had no inspection of that kind), on the index of ``scores``. Raises ValueError when
    the data end before a label window does.

    Parameters
    ----------
    tables : EventTables
        The register whose inspections give the findings.
    scores : pandas.DataFrame
        ``entity_id`` and ``as_of`` per row (scores, or a spine).
    horizon : str, default "365D"
        The label window after each as-of date.

    Returns
    -------
    pandas.DataFrame
        ``random_finding`` and ``targeted_finding``, on the index of ``scores``.

    Raises
    ------
    ValueError
        The data end before a label window does.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> o = outcomes(t, cr.spine(t, "2023-07-01"))
    >>> list(o.columns), bool(o["random_finding"].isna().any())
    (['random_finding', 'targeted_finding'], True)
    """
    keys = scores[["entity_id", "as_of"]]
    return pd.DataFrame(
        {
            f"{kind}_finding": build_labels(tables, keys, outcome=name, horizon=horizon)
            for kind, name in _KINDS.items()
        },
        index=scores.index,
    )


def with_groups(scores: pd.DataFrame, tables, groups: Sequence[str] = GROUPS) -> pd.DataFrame:
    """``scores`` with the group attributes it lacks, from the enterprises table.

    Parameters
    ----------
    scores : pandas.DataFrame
        Rows with ``entity_id``.
    tables : EventTables
        The register whose ``enterprises`` table holds the attributes.
    groups : sequence of str, default GROUPS
        The attributes wanted: region, industry, entity type and key sector.

    Returns
    -------
    pandas.DataFrame
        ``scores`` itself when it has every attribute, else a copy with the missing
        ones added (empty for an entity not in the register).

    Examples
    --------
    >>> import creditrisk as cr
    >>> s = pd.DataFrame({"entity_id": cr.load_sample().enterprises["entity_id"][:2]})
    >>> list(with_groups(s, cr.load_sample()).columns)
    ['entity_id', 'region', 'industry', 'entity_type', 'key_sector']
    """
    missing = [g for g in groups if g not in scores.columns]
    if not missing:
        return scores
    ent = tables.enterprises.set_index(tables.enterprises["entity_id"].astype(str))
    ids = scores["entity_id"].astype(str)
    out = scores.copy()
    for g in missing:
        out[g] = ids.map(ent[g]).to_numpy()
    return out


def _interval(k: int, n: int, confidence: float) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def _high_tiers(tiers: pd.Series, high_tiers: Sequence[str] | None) -> list[str]:
    if high_tiers is not None:
        return list(high_tiers)
    names = list(tiers.cat.categories)
    return names[len(names) // 2 :]


def _tiers(scores: pd.DataFrame) -> pd.Series:
    tiers = scores["tier"]
    if not isinstance(tiers.dtype, pd.CategoricalDtype):
        tiers = tiers.astype("category")
    return tiers


def group_table(
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    by: str,
    high_tiers: Sequence[str] | None = None,
    tolerance: float = 1.2,
    min_inspections: int = 30,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per value of ``by``: tier shares and finding rates, each with its ratio to the population.

    A flag marks where the tiers diverge from the findings.

    Columns: group, value, entities, population_share, high_tier_share (share in
    ``high_tiers``, by default the upper half of the policy's tiers), high_tier_ratio,
    one ``tier_<name>`` share per tier, mean_probability, probability_ratio,
    random_inspected, random_finding_rate with random_low and random_high (Wilson
    interval at ``confidence``), random_ratio, implied_rate (what the group's tiers
    imply, see the module text), observed_to_implied, targeted_inspected,
    targeted_finding_rate, targeted_ratio, and flag (``over-tiered``,
    ``under-tiered``, or empty; groups with fewer than ``min_inspections`` random
    inspections are never flagged).

    Parameters
    ----------
    scores : pandas.DataFrame
        ``tier``, ``probability`` and the column ``by``.
    outcomes : pandas.DataFrame
        ``random_finding`` and ``targeted_finding`` by row of ``scores``
        (:func:`outcomes`).
    by : str
        The attribute to group by (a column of ``scores``; see :func:`with_groups`).
    high_tiers : sequence of str, optional
        The tiers counted in ``high_tier_share`` (default: the upper half).
    tolerance : float, default 1.2
        How far, as a ratio, the observed rate's interval must stay from the implied
        rate before the group is flagged.
    min_inspections : int, default 30
        Random inspections a group needs before it can be flagged.
    confidence : float, default 0.95
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``by``, in sorted order (empty values as ``(missing)``).

    Raises
    ------
    KeyError
        ``scores`` has no column ``by``.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(list("AADD"), categories=list("ABCD")),
    ...                   "probability": [.1, .1, .6, .6], "region": list("xyxy")})
    >>> o = pd.DataFrame({"random_finding": [0, 0, 1, np.nan],
    ...                   "targeted_finding": [np.nan] * 4})
    >>> group_table(s, o, "region")[["value", "entities", "random_inspected"]].values.tolist()
    [['x', 2, 2], ['y', 2, 1]]
    """
    if by not in scores.columns:
        raise KeyError(f"scores have no column {by!r}; see creditrisk.report.fairness.with_groups")
    tiers = _tiers(scores)
    high = tiers.isin(_high_tiers(tiers, high_tiers)).to_numpy()
    probability = scores["probability"].to_numpy(dtype=np.float64)
    random = outcomes["random_finding"].to_numpy(dtype=np.float64)
    targeted = outcomes["targeted_finding"].to_numpy(dtype=np.float64)
    inspected = ~np.isnan(random)
    # the finding rate of each tier on random inspections: what a tier stands for
    tier_rate = (
        pd.Series(random[inspected]).groupby(tiers.to_numpy()[inspected], observed=False).mean()
    )
    implied = tiers.map(tier_rate).to_numpy(dtype=np.float64)
    pop = {
        "high": high.mean(),
        "probability": probability.mean(),
        "random": np.nanmean(random) if inspected.any() else np.nan,
        "targeted": np.nanmean(targeted) if (~np.isnan(targeted)).any() else np.nan,
    }
    values = scores[by].astype("str").fillna("(missing)").to_numpy()
    rows = []
    for value in pd.unique(np.sort(values)):
        g = values == value
        n = int(g.sum())
        gi = g & inspected
        k, m = int(np.nansum(random[gi])), int(gi.sum())
        low, top = _interval(k, m, confidence)
        rate = k / m if m else np.nan
        expected = float(implied[gi].mean()) if m else np.nan
        gt = g & ~np.isnan(targeted)
        t_rate = float(targeted[gt].mean()) if gt.any() else np.nan
        flag = ""
        if m >= min_inspections and expected > 0:
            if top * tolerance < expected:
                flag = "over-tiered"
            elif low / tolerance > expected:
                flag = "under-tiered"
        row = {
            "group": by,
            "value": value,
            "entities": n,
            "population_share": n / len(values),
            "high_tier_share": float(high[g].mean()),
            "high_tier_ratio": _ratio(high[g].mean(), pop["high"]),
        }
        shares = tiers[g].value_counts(normalize=True, sort=False)
        row |= {f"tier_{t}": float(shares.get(t, 0.0)) for t in tiers.cat.categories}
        row |= {
            "mean_probability": float(probability[g].mean()),
            "probability_ratio": _ratio(probability[g].mean(), pop["probability"]),
            "random_inspected": m,
            "random_finding_rate": rate,
            "random_low": low,
            "random_high": top,
            "random_ratio": _ratio(rate, pop["random"]),
            "implied_rate": expected,
            "observed_to_implied": _ratio(rate, expected),
            "targeted_inspected": int(gt.sum()),
            "targeted_finding_rate": t_rate,
            "targeted_ratio": _ratio(t_rate, pop["targeted"]),
            "flag": flag,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _ratio(a: float, b: float) -> float:
    return float(a / b) if b and np.isfinite(a) and np.isfinite(b) else np.nan


def audit(
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    groups: Sequence[str] = GROUPS,
    **options,
) -> pd.DataFrame:
    """:func:`group_table` for every attribute in ``groups``, one table.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``tier``, ``probability`` and every column of ``groups``.
    outcomes : pandas.DataFrame
        ``random_finding`` and ``targeted_finding`` by row of ``scores``.
    groups : sequence of str, default GROUPS
        The attributes to audit, in order.
    **options
        Passed to :func:`group_table`: ``high_tiers``, ``tolerance``,
        ``min_inspections``, ``confidence``.

    Returns
    -------
    pandas.DataFrame
        The tables of :func:`group_table`, one after the other.

    Raises
    ------
    KeyError
        ``scores`` lacks an attribute of ``groups``.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(list("AD"), categories=list("AD")),
    ...                   "probability": [.1, .6], "region": ["x", "y"], "industry": ["i", "i"]})
    >>> o = pd.DataFrame({"random_finding": [0.0, 1.0], "targeted_finding": [np.nan] * 2})
    >>> audit(s, o, groups=["region", "industry"])["group"].tolist()
    ['region', 'region', 'industry']
    """
    return pd.concat(
        [group_table(scores, outcomes, g, **options) for g in groups], ignore_index=True
    )


def selection_table(
    scores: pd.DataFrame, outcomes: pd.DataFrame, confidence: float = 0.95
) -> pd.DataFrame:
    """Per tier and overall: entities each kind of inspection reached, and what it found.

    Random and targeted inspections side by side: the selective-labels check.

    Columns: tier, entities, random_inspected, random_coverage (inspected share of the
    tier), random_finding_rate, random_low, random_high, targeted_inspected,
    targeted_coverage, targeted_finding_rate, targeted_low, targeted_high. The last row,
    tier ``all``, is the population.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``tier`` per row.
    outcomes : pandas.DataFrame
        ``random_finding`` and ``targeted_finding`` by row of ``scores``.
    confidence : float, default 0.95
        Confidence level of the Wilson intervals.

    Returns
    -------
    pandas.DataFrame
        One row per tier, in the tiers' order, then ``all``.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(list("AD"), categories=list("AD")),
    ...                   "probability": [.1, .6]})
    >>> o = pd.DataFrame({"random_finding": [0.0, 1.0], "targeted_finding": [np.nan, 1.0]})
    >>> selection_table(s, o)["targeted_inspected"].tolist()
    [0, 1, 1]
    """
    tiers = _tiers(scores)
    labels = tiers.to_numpy()
    parts = [(str(t), labels == t) for t in tiers.cat.categories]
    parts.append(("all", np.ones(len(scores), dtype=bool)))
    rows = []
    for name, rows_in in parts:
        row: dict = {"tier": name, "entities": int(rows_in.sum())}
        for kind in _KINDS:
            y = outcomes[f"{kind}_finding"].to_numpy(dtype=np.float64)[rows_in]
            y = y[~np.isnan(y)]
            low, top = _interval(int(y.sum()), len(y), confidence)
            row |= {
                f"{kind}_inspected": len(y),
                f"{kind}_coverage": len(y) / row["entities"] if row["entities"] else np.nan,
                f"{kind}_finding_rate": float(y.mean()) if len(y) else np.nan,
                f"{kind}_low": low,
                f"{kind}_high": top,
            }
        rows.append(row)
    return pd.DataFrame(rows)
