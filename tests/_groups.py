"""Hand-built scores and random-inspection outcomes of named groups, for the fairness
checks and their plot."""

from __future__ import annotations

import numpy as np
import pandas as pd

TIERS = ["A", "B", "C", "D"]


def constructed(groups: dict[str, list[tuple[str, int, int]]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores (tier, probability, region) and outcomes from
    ``{region: [(tier, inspected, findings), ...]}``: every entity randomly inspected."""
    tier, region, y = [], [], []
    for name, cells in groups.items():
        for t, n, k in cells:
            tier += [t] * n
            region += [name] * n
            y += [1.0] * k + [0.0] * (n - k)
    scores = pd.DataFrame(
        {
            "tier": pd.Categorical(tier, categories=TIERS),
            "probability": np.linspace(0.05, 0.95, len(tier)),
            "region": region,
        }
    )
    found = pd.DataFrame({"random_finding": y, "targeted_finding": np.nan})
    return scores, found
