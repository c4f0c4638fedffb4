"""Capacity allocation: the per-stratum rates that find the most within a budget.

A linear programme (scipy's HiGHS): choose the rate of every stratum (tier x key
sector) to maximise expected findings (rate x the sum of the model's probabilities)
subject to the budget, the policy's ratio range per tier, the random floor, the
tier and key-sector minimums, and the ordering rules: a riskier tier is never sampled
less than a safer one of the same sector, and a key-sector stratum never less than its
tier outside the key sectors.

Example
-------
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

__all__ = ["Allocation", "allocate"]


@dataclass(frozen=True)
class Allocation:
    """The chosen rates (``table``, frequency-table columns) and what they buy.

    ``findings_per_100`` is expected findings per 100 inspections; ``uniform_per_100``
    the same for a uniform random draw of the same budget; ``lift`` their ratio.
    """

    table: pd.DataFrame
    budget: float
    inspections: float
    expected_findings: float
    findings_per_100: float
    uniform_per_100: float

    @property
    def unused(self) -> float:
        """Budget left over when every stratum is at the top of its range."""
        return max(self.budget - self.inspections, 0.0)

    @property
    def lift(self) -> float:
        """Expected findings per inspection over the uniform draw's."""
        return self.findings_per_100 / self.uniform_per_100

    def summary(self) -> pd.Series:
        """The headline figures as a Series."""
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


def allocate(scores: pd.DataFrame, budget: float, policy: Policy, period: str = "1Y") -> Allocation:
    """The rates per stratum that maximise expected findings within ``budget``
    inspections per period, under the policy's floors, ranges, minimums and ordering.
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
    a_ub = [n]
    b_ub = [budget]
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
