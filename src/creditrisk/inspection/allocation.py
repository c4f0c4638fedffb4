"""Capacity allocation: the per-stratum rates that find the most within a budget.

A linear programme (scipy's HiGHS): choose the rate of every stratum (tier x key
sector) to maximise expected findings (rate x the sum of the model's probabilities)
subject to the budget, the policy's ratio range per tier, the random floor, the
tier and key-sector minimums, the baseline for disclosed-information checks (at least
``baseline_ratio``, 3% nationally, of all enterprises per period) and the ordering
rules: a riskier tier is never sampled less than a safer one of the same sector, and a
key-sector stratum never less than its tier outside the key sectors.

Examples
--------
>>> import pandas as pd
>>> from creditrisk.policy.rules import Policy
>>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
...     "probability": [0.1] * 90 + [0.8] * 10,
...     "tier": pd.Categorical(["A"] * 90 + ["D"] * 10, categories=list("ABCD")),
...     "key_sector": ["none"] * 100})
>>> a = allocate(scores, budget=11, policy=Policy.load("national"))
>>> a.table.set_index("tier")["rate"].round(3).to_dict()
{'A': 0.011, 'D': 1.0}
>>> a.findings_per_100 > a.uniform_per_100
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from creditrisk.inspection.frequency import OTHER, frequency_table, minimum_rules, period_years
from creditrisk.policy.rules import Policy

__all__ = ["Allocation", "allocate", "baseline_inspections"]


@dataclass(frozen=True)
class Allocation:
    """The chosen rates (``table``, frequency-table columns) and what they buy.

    ``findings_per_100`` is expected findings per 100 inspections; ``uniform_per_100``
    the same for a uniform random draw of the same budget; ``lift`` their ratio.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per stratum (tier x sector): the columns of
        :func:`~creditrisk.inspection.frequency.frequency_table` with the chosen
        ``rate``, ``expected_inspections``, ``expected_findings`` and the ``rule``
        giving the stratum's range.
    budget : float
        Inspections available per period.
    inspections : float
        Inspections the rates use per period (at most the budget).
    expected_findings : float
        Findings expected from them (rate x the sum of the model's probabilities).
    findings_per_100 : float
        Expected findings per 100 inspections.
    uniform_per_100 : float
        The same for a uniform random draw.

    Examples
    --------
    >>> import pandas as pd
    >>> from creditrisk.policy.rules import Policy
    >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
    ...     "probability": [0.1] * 90 + [0.8] * 10,
    ...     "tier": pd.Categorical(["A"] * 90 + ["D"] * 10, categories=list("ABCD")),
    ...     "key_sector": ["none"] * 100})
    >>> a = allocate(scores, budget=11, policy=Policy.load("national"))
    >>> round(a.inspections, 6), round(a.expected_findings, 6)
    (11.0, 8.1)
    """

    table: pd.DataFrame
    budget: float
    inspections: float
    expected_findings: float
    findings_per_100: float
    uniform_per_100: float

    @property
    def unused(self) -> float:
        """Budget left over when every stratum is at the top of its range.

        Examples
        --------
        >>> import pandas as pd
        >>> from creditrisk.policy.rules import Policy
        >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
        ...     "probability": [0.1] * 90 + [0.8] * 10,
        ...     "tier": pd.Categorical(["A"] * 90 + ["D"] * 10, categories=list("ABCD")),
        ...     "key_sector": ["none"] * 100})
        >>> round(allocate(scores, 11, Policy.load("national")).unused, 6)
        0.0
        >>> round(allocate(scores, 1000, Policy.load("national")).unused, 6)
        985.5
        """
        return max(self.budget - self.inspections, 0.0)

    @property
    def lift(self) -> float:
        """Expected findings per inspection over the uniform draw's.

        Examples
        --------
        >>> import pandas as pd
        >>> from creditrisk.policy.rules import Policy
        >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
        ...     "probability": [0.1] * 90 + [0.8] * 10,
        ...     "tier": pd.Categorical(["A"] * 90 + ["D"] * 10, categories=list("ABCD")),
        ...     "key_sector": ["none"] * 100})
        >>> a = allocate(scores, budget=11, policy=Policy.load("national"))
        >>> round(a.lift, 3), round(a.findings_per_100 / a.uniform_per_100, 3)
        (4.332, 4.332)
        """
        return self.findings_per_100 / self.uniform_per_100

    def summary(self) -> pd.Series:
        """The headline figures as a Series.

        Returns
        -------
        pandas.Series
            ``budget``, ``inspections``, ``unused``, ``expected_findings``,
            ``findings_per_100``, ``uniform_per_100`` and ``lift``.

        Examples
        --------
        >>> import pandas as pd
        >>> from creditrisk.policy.rules import Policy
        >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
        ...     "probability": [0.1] * 90 + [0.8] * 10,
        ...     "tier": pd.Categorical(["A"] * 90 + ["D"] * 10, categories=list("ABCD")),
        ...     "key_sector": ["none"] * 100})
        >>> s = allocate(scores, budget=11, policy=Policy.load("national")).summary()
        >>> s[["budget", "findings_per_100", "uniform_per_100"]].round(2).tolist()
        [11.0, 73.64, 17.0]
        """
        return pd.Series(
            {
                "budget": self.budget,
                "inspections": self.inspections,
                "unused": self.unused,
                "expected_findings": self.expected_findings,
                "findings_per_100": self.findings_per_100,
                "uniform_per_100": self.uniform_per_100,
                "lift": self.lift,
            }
        )


def _bounds(policy: Policy, tier: str, sector: str, years: float) -> tuple[float, float]:
    ins = policy.inspection
    scale = years / period_years(ins.get("period", "1Y"))
    ratio = ins.get("ratios", {}).get(tier)
    low, high = ins.get("ratio_ranges", {}).get(tier, [ratio, ratio])
    if low is None or high is None:
        raise ValueError(f"policy {policy.name!r}: no ratio range for tier {tier!r}")
    lower = max([low * scale, *(r for r, _ in minimum_rules(policy, tier, sector, years))])
    return lower, max(high * scale, lower)


def baseline_inspections(policy: Policy, entities: int, period: str = "1Y") -> float:
    """The fewest inspections per period the baseline for disclosed-information checks
    allows: ``inspection.baseline_ratio`` of all entities (scaled to the period).

    Parameters
    ----------
    policy : Policy
        Its ``inspection.baseline_ratio`` (0 when unset) and ``inspection.period``.
    entities : int
        All the enterprises in the population.
    period : str
        The allocation's period.

    Returns
    -------
    float
        Inspections per period.

    Examples
    --------
    >>> baseline_inspections(Policy.load("national"), 1_000)
    30.0
    >>> baseline_inspections(Policy.load("national"), 1_000, "6M")
    15.0
    """
    ins = policy.inspection
    scale = period_years(period) / period_years(ins.get("period", "1Y"))
    return float(ins.get("baseline_ratio", 0.0)) * entities * scale


def allocate(scores: pd.DataFrame, budget: float, policy: Policy, period: str = "1Y") -> Allocation:
    """The rates per stratum that maximise expected findings within ``budget``.

    Under the policy's random floor, ratio ranges, tier and key-sector minimums, the
    baseline for disclosed-information checks (:func:`baseline_inspections`: the plan
    visits at least ``baseline_ratio`` of all entities' worth of inspections) and the
    ordering rules.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity: tier, probability and key_sector.
    budget : float
        Inspections available per period.
    policy : Policy
        The rules.
    period : str
        The period of the budget and the rates.

    Returns
    -------
    Allocation
        The rates per stratum and what they are expected to find.

    Raises
    ------
    ValueError
        A budget below what the floors and minimums need, or below the baseline; ranges
        whose upper ends cannot reach the baseline.

    Examples
    --------
    >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(100)],
    ...     "probability": 0.1, "tier": pd.Categorical(["A"] * 100, categories=list("ABCD")),
    ...     "key_sector": "none"})
    >>> try:
    ...     allocate(scores, budget=2, policy=Policy.load("national"))
    ... except ValueError as exc:
    ...     print(str(exc)[:60])
    a budget of 2 inspections is below the baseline of 3 for dis
    >>> allocate(scores, budget=3, policy=Policy.load("national")).inspections
    3.0
    """
    if budget <= 0:
        raise ValueError(f"budget must be a positive number of inspections, not {budget}")
    years = period_years(period)
    table = frequency_table(scores, policy, period)
    n = table["entities"].to_numpy(dtype=np.float64)
    p_sum = (table["mean_probability"] * table["entities"]).to_numpy(dtype=np.float64)
    bounds = [
        _bounds(policy, str(t), s, years)
        for t, s in zip(table["tier"], table["sector"], strict=True)
    ]
    need = float(np.dot(n, [b[0] for b in bounds]))
    if need > budget + 1e-9:
        raise ValueError(
            f"a budget of {budget:,.6g} inspections is below the {need:,.6g} that the random "
            "floor, the ratio ranges' lower ends and the minimums need"
        )
    baseline = baseline_inspections(policy, int(n.sum()), period)
    ratio = float(policy.inspection.get("baseline_ratio", 0.0))
    if baseline > budget + 1e-9:
        raise ValueError(
            f"a budget of {budget:,.6g} inspections is below the baseline of {baseline:,.6g} "
            f"for disclosed-information checks ({ratio:.0%} of {int(n.sum()):,} enterprises "
            f"per {policy.inspection.get('period', '1Y')})"
        )
    most = float(np.dot(n, [b[1] for b in bounds]))
    if baseline > most + 1e-9:
        raise ValueError(
            f"the ratio ranges' upper ends allow {most:,.6g} inspections, below the baseline "
            f"of {baseline:,.6g} for disclosed-information checks ({ratio:.0%} of "
            f"{int(n.sum()):,} enterprises)"
        )
    # ordering: x_safer <= x_riskier within a sector; key sector >= its tier's "other"
    rank = {t: i for i, t in enumerate(policy.tiers)}
    keys = list(zip(table["tier"].astype(str), table["sector"], strict=True))
    position = {k: i for i, k in enumerate(keys)}
    rows = []
    for i, (tier, sector) in enumerate(keys):
        riskier = [j for j, (t, s) in enumerate(keys) if s == sector and rank[t] > rank[tier]]
        if riskier:
            nxt = min(riskier, key=lambda j: rank[keys[j][0]])
            rows.append((i, nxt))
        if sector != OTHER and (tier, OTHER) in position:
            rows.append((position[(tier, OTHER)], i))
    a_ub = [n, -n]  # within the budget, and at least the baseline
    b_ub = [budget, -baseline]
    for low, high in rows:  # x_low - x_high <= 0
        row = np.zeros(len(keys))
        row[low], row[high] = 1.0, -1.0
        a_ub.append(row)
        b_ub.append(0.0)
    # tiny preference for spending on riskier strata breaks ties deterministically
    tie = np.array([rank[t] for t, _ in keys], dtype=np.float64) * 1e-12
    result = linprog(
        -(p_sum + tie * n),
        A_ub=np.array(a_ub),
        b_ub=np.array(b_ub),
        bounds=bounds,
        method="highs",
    )
    if not result.success:
        raise ValueError(f"no allocation satisfies the policy's rules: {result.message}")
    rate = np.round(result.x, 12)
    out = table.copy()
    out["rate"] = rate
    out["sampling_ratio"] = np.minimum(rate, 1.0)
    out["min_per_entity"] = np.floor(rate).astype(int)
    out["expected_inspections"] = n * rate
    out["expected_findings"] = p_sum * rate
    out["rule"] = [f"allocated within [{lo:.3g}, {hi:.3g}]" for lo, hi in bounds]
    inspections = float(out["expected_inspections"].sum())
    findings = float(out["expected_findings"].sum())
    uniform = 100 * float(p_sum.sum() / n.sum())
    return Allocation(
        table=out,
        budget=float(budget),
        inspections=inspections,
        expected_findings=findings,
        findings_per_100=100 * findings / inspections,
        uniform_per_100=uniform,
    )
