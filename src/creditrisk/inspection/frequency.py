"""The frequency table: how often each tier (and key sector) is inspected per period.

Every number comes from a policy rule, and the table says which: the tier's sampling
ratio, the tier's minimum inspections, a key sector's minimum (food at least once every
2 years), or the random floor that keeps every entity drawable. The rate used is the
largest that applies; rates are inspections per entity per period (a rate of 0.05 is a
5% sample; 2.0 is two visits each).

Examples
--------
>>> import pandas as pd
>>> from creditrisk.policy.rules import Policy
>>> scores = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "probability": [0.1, 0.2, 0.9],
...     "tier": pd.Categorical(["A", "A", "D"], categories=list("ABCD"), ordered=True),
...     "key_sector": ["none", "food", "none"]})
>>> t = frequency_table(scores, Policy.load("national"))
>>> t[["tier", "sector", "rate", "rule"]].values.tolist()[0]
['A', 'food', 0.5, 'key sector food: 1 every 2Y']
>>> t.loc[t.tier == "D", "rule"].item()
'ratio D: 30% per 1Y'
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from creditrisk._figures import new_figure
from creditrisk.policy.rules import Policy

__all__ = [
    "OTHER",
    "frequency_table",
    "minimum_rules",
    "period_years",
    "plot_frequency_table",
    "strata",
]

OTHER = "other"  # entities outside the policy's key sectors
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([YM])\s*$", re.IGNORECASE)


def period_years(period: str) -> float:
    """A period such as ``"1Y"``, ``"6M"`` or ``"2Y"`` in years.

    Parameters
    ----------
    period : str
        A positive number of years (``Y``) or months (``M``), case and spaces ignored.

    Returns
    -------
    float
        The period in years.

    Raises
    ------
    ValueError
        The period does not look like ``"1Y"`` or ``"6M"``, or is not positive.

    Examples
    --------
    >>> period_years("6M"), period_years("2Y")
    (0.5, 2.0)
    >>> period_years("1 week")
    Traceback (most recent call last):
    ValueError: period must look like '1Y' or '6M', not '1 week'
    """
    match = _PERIOD.match(str(period))
    if not match:
        raise ValueError(f"period must look like '1Y' or '6M', not {period!r}")
    value, unit = float(match.group(1)), match.group(2).upper()
    if value <= 0:
        raise ValueError(f"period must be positive, not {period!r}")
    return value if unit == "Y" else value / 12


def _require(scores: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in scores.columns]
    if missing:
        raise ValueError(
            f"scores: missing columns {missing} (join them from the features, e.g. "
            "scores.join(X[['key_sector', 'region']]))"
        )


def strata(scores: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """Each entity's stratum: its tier and its key sector (``other`` outside them).

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity with ``tier``, and ``key_sector`` when the policy has
        key-sector rules.
    policy : Policy
        Its tiers and ``inspection.key_sectors``.

    Returns
    -------
    pandas.DataFrame
        ``tier`` and ``sector`` (text), with the index of ``scores``.

    Raises
    ------
    ValueError
        A column is missing, or a tier is not one of the policy's.

    Examples
    --------
    >>> from creditrisk.policy.rules import Policy
    >>> s = pd.DataFrame({"tier": ["B"], "key_sector": ["drug"]})
    >>> strata(s, Policy.load("daqing"))["sector"].tolist()  # daqing: food only
    ['other']
    >>> strata(s, Policy.load("national"))["sector"].tolist()
    ['drug']
    """
    sectors = list(policy.inspection.get("key_sectors", {}))
    columns = ["tier", "key_sector"] if sectors else ["tier"]
    _require(scores, columns)
    tier = scores["tier"].astype("str")
    unknown = sorted(set(tier.unique()) - set(policy.tiers))
    if unknown:
        raise ValueError(f"scores: tiers {unknown} are not in policy {policy.name!r}")
    if sectors:
        ks = scores["key_sector"].astype("str")
        sector = ks.where(ks.isin(sectors), OTHER)
    else:
        sector = pd.Series(OTHER, index=scores.index)
    return pd.DataFrame({"tier": tier.to_numpy(), "sector": sector.to_numpy()}, index=scores.index)


def minimum_rules(policy: Policy, tier: str, sector: str, years: float) -> list[tuple[float, str]]:
    """The (rate, rule) pairs a stratum may never go below: tier minimum, key-sector
    minimum and random floor, as inspections per entity over ``years``.

    Parameters
    ----------
    policy : Policy
        Its ``inspection`` section: ``min_inspections``, ``key_sectors``,
        ``random_floor`` and ``period``.
    tier : str
        The stratum's tier.
    sector : str
        The stratum's key sector, or :data:`OTHER`.
    years : float
        The period the rates are for, in years (:func:`period_years`).

    Returns
    -------
    list of tuple of (float, str)
        Each minimum that applies: its rate and the rule in words; empty when none does.

    Examples
    --------
    >>> from creditrisk.policy.rules import Policy
    >>> minimum_rules(Policy.load("national"), "A", "food", 1.0)
    [(0.5, 'key sector food: 1 every 2Y'), (0.01, 'random floor: 1% per 1Y')]
    >>> minimum_rules(Policy.load("national"), "A", "other", 2.0)
    [(0.02, 'random floor: 1% per 1Y')]
    """
    ins = policy.inspection
    period = ins.get("period", "1Y")
    scale = years / period_years(period)
    out = []
    minimum = ins.get("min_inspections", {}).get(tier, 0)
    if minimum:
        out.append((minimum * scale, f"minimum {tier}: {minimum:g} per {period}"))
    if sector != OTHER:
        rule = ins["key_sectors"][sector]
        every = rule.get("every", "1Y")
        rate = rule.get("min_inspections", 1) * years / period_years(every)
        out.append((rate, f"key sector {sector}: {rule.get('min_inspections', 1):g} every {every}"))
    floor = ins.get("random_floor", 0)
    if floor:
        out.append((floor * scale, f"random floor: {floor:.0%} per {period}"))
    return out


def _rules(policy: Policy, tier: str, sector: str, years: float) -> list[tuple[float, str]]:
    """Every (rate per entity per period, rule) that applies to a stratum."""
    ins = policy.inspection
    period = ins.get("period", "1Y")
    out = []
    ratio = ins.get("ratios", {}).get(tier)
    if ratio is not None:
        out.append(
            (ratio * years / period_years(period), f"ratio {tier}: {ratio:.0%} per {period}")
        )
    out += minimum_rules(policy, tier, sector, years)
    if not out:
        raise ValueError(f"policy {policy.name!r}: no inspection ratio for tier {tier!r}")
    return out


def frequency_table(scores: pd.DataFrame, policy: Policy, period: str = "1Y") -> pd.DataFrame:
    """Per stratum (tier, key sector): entities, rate, expected inspections and findings.

    Columns: tier, sector, entities, rate (inspections per entity per period),
    sampling_ratio (share of the stratum visited at least once), min_per_entity (whole
    visits every entity gets), expected_inspections, mean_probability,
    expected_findings (rate x the sum of the model's probabilities) and rule (the
    policy rule the rate came from). ``scores`` needs tier and probability, and
    key_sector when the policy has key-sector rules.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity: ``tier``, ``probability`` and (see above) ``key_sector``.
    policy : Policy
        The rules: ratios, minimums, key sectors, random floor and their period.
    period : str, default "1Y"
        The period the rates are per (:func:`period_years`).

    Returns
    -------
    pandas.DataFrame
        One row per stratum present, in the policy's tier order (``tier`` an ordered
        Categorical of the policy's tiers), then by sector; the columns above.

    Raises
    ------
    ValueError
        A column is missing, a tier is not the policy's, or the policy has no rule for
        a tier.

    Examples
    --------
    >>> from creditrisk.policy.rules import Policy
    >>> scores = pd.DataFrame({"entity_id": ["E1", "E2", "E3"],
    ...     "probability": [0.1, 0.2, 0.9], "tier": ["A", "A", "D"],
    ...     "key_sector": ["none", "none", "none"]})
    >>> t = frequency_table(scores, Policy.load("national"))
    >>> t[["tier", "entities", "rate"]].values.tolist()
    [['A', 2, 0.01], ['D', 1, 0.3]]
    >>> frequency_table(scores, Policy.load("national"), "6M")["rate"].tolist()
    [0.005, 0.15]
    """
    _require(scores, ["tier", "probability"])
    years = period_years(period)
    groups = strata(scores, policy).assign(probability=scores["probability"].to_numpy())
    rows = []
    for (tier, sector), part in groups.groupby(["tier", "sector"], sort=False):
        rate, rule = max(_rules(policy, tier, sector, years), key=lambda r: r[0])
        n = len(part)
        rows.append(
            {
                "tier": tier,
                "sector": sector,
                "entities": n,
                "rate": rate,
                "sampling_ratio": min(rate, 1.0),
                "min_per_entity": int(np.floor(rate)),
                "expected_inspections": n * rate,
                "mean_probability": float(part["probability"].mean()),
                "expected_findings": rate * float(part["probability"].sum()),
                "rule": rule,
            }
        )
    table = pd.DataFrame(rows)
    order = {t: i for i, t in enumerate(policy.tiers)}
    table = table.sort_values(
        ["tier", "sector"], key=lambda c: c.map(order) if c.name == "tier" else c, kind="stable"
    )
    table["tier"] = pd.Categorical(table["tier"], categories=list(policy.tiers), ordered=True)
    return table.reset_index(drop=True)


def plot_frequency_table(table: pd.DataFrame):
    """Bar chart of expected inspections and findings per tier.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`frequency_table`: ``tier``, ``expected_inspections`` and
        ``expected_findings`` per row; the rows of a tier are summed.

    Returns
    -------
    matplotlib.figure.Figure
        Paired bars per tier, expected inspections and expected findings per period.
        Pyplot does not track it: a notebook shows it once, as the cell's value.

    Examples
    --------
    >>> t = pd.DataFrame({"tier": ["A", "B"], "expected_inspections": [10.0, 5.0],
    ...                   "expected_findings": [1.0, 2.0]})
    >>> len(plot_frequency_table(t).axes)
    1
    """

    per_tier = table.groupby("tier", observed=True)[
        ["expected_inspections", "expected_findings"]
    ].sum()
    fig = new_figure(figsize=(6, 3.5))
    ax = fig.subplots()
    x = np.arange(len(per_tier))
    ax.bar(x - 0.2, per_tier["expected_inspections"], 0.4, label="expected inspections")
    ax.bar(x + 0.2, per_tier["expected_findings"], 0.4, label="expected findings")
    ax.set_xticks(x, [str(t) for t in per_tier.index])
    ax.set_xlabel("tier")
    ax.set_ylabel("per period")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
