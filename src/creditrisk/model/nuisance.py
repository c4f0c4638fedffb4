"""Nuisance effects: who inspected, learned while training, left out when scoring.

A label says whether an inspection found something, and that depends on the entity and
on the inspectors (some are stricter than others) and on chance. If the model sees only
the entity, it blames the entity for its inspectors; if it is given the inspector as an
ordinary feature, hundreds of inspectors with a few labels each overfit, and the
inspector would become a "reason" for the entity's tier. Here each value of a nuisance
column (an inspector id, a team, a district standing for its inspectors) gets a random
effect on the log-odds of a finding, shrunk towards zero by how much the data say:

    minimise  sum_i logloss(y_i, raw_i + sum_k b_k [k inspected i])  +  sum_k b_k^2 / (2 tau^2)

with ``raw_i`` the model's score of the entity, the effects ``b`` found by Newton steps
and their spread ``tau`` by the usual empirical-Bayes (Laplace) update. The model is
then trained again with these effects as a fixed offset (LightGBM's ``init_score``), so
its trees learn the entity's risk net of who inspected. When scoring, every effect is 0:
the average inspector. Nuisance columns are never features, never reasons and never
move a tier.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> strict = rng.normal(0, 1.0, 40)               # 40 inspectors, some much stricter
>>> who = rng.integers(0, 40, 4_000)
>>> y = (rng.random(4_000) < 1 / (1 + np.exp(-(strict[who] - 1.0)))).astype(float)
>>> fitted = fit_effects(np.full(4_000, -1.0), y, [who.astype(str)])
>>> est = np.array([fitted.effects.get(str(k), 0.0) for k in range(40)])
>>> bool(np.corrcoef(est, strict)[0, 1] > 0.9), 0.7 < fitted.tau < 1.3
(True, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["NuisanceEffects", "fit_effects"]


@dataclass(frozen=True)
class NuisanceEffects:
    """Shrunken effects of the nuisance values on the log-odds of a finding.

    Parameters
    ----------
    effects : dict of str to float
        Per value (pooled over the nuisance columns: an inspector has one effect
        whether lead or second), its effect on the log-odds.
    tau : float
        The spread of the effects (their prior's standard deviation).
    rows : int
        Labelled rows the effects were learned from.

    Examples
    --------
    >>> e = NuisanceEffects({"IN1": 0.5, "IN2": -0.2}, tau=0.4, rows=10)
    >>> e.offsets([np.array(["IN1", "IN9", None], dtype=object)]).tolist()
    [0.5, 0.0, 0.0]
    """

    effects: dict[str, float]
    tau: float
    rows: int

    def offsets(self, columns: Sequence[np.ndarray]) -> np.ndarray:
        """The summed effect of each row's values (0 for a value never seen, or empty).

        Parameters
        ----------
        columns : sequence of numpy.ndarray
            One array of values per nuisance column, all of the same length.

        Returns
        -------
        numpy.ndarray of float
            One offset per row.

        Examples
        --------
        >>> NuisanceEffects({"A": 1.0}, 1.0, 1).offsets([np.array(["A"]), np.array(["A"])])
        array([2.])
        """
        out = np.zeros(len(columns[0]) if columns else 0)
        lookup = pd.Series(self.effects, dtype="float64")
        for values in columns:
            found = lookup.reindex(pd.Index(np.asarray(values, dtype=object))).to_numpy()
            out += np.nan_to_num(found, nan=0.0)
        return out


def _codes(columns: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Pairs (row, level) for every non-empty value, and the levels' names."""
    rows, values = [], []
    for column in columns:
        column = np.asarray(column, dtype=object)
        present = pd.notna(column)
        rows.append(np.flatnonzero(present))
        values.append(column[present].astype(str))
    row = np.concatenate(rows) if rows else np.empty(0, dtype=np.int64)
    text = np.concatenate(values) if values else np.empty(0, dtype=str)
    codes, levels = pd.factorize(text, sort=True)
    return row.astype(np.int64), codes.astype(np.int64), [str(v) for v in levels]


def fit_effects(
    offset: np.ndarray,
    target: np.ndarray,
    columns: Sequence[np.ndarray],
    *,
    max_iter: int = 200,
    tol: float = 1e-7,
) -> NuisanceEffects:
    """Random effects of the nuisance values, given the model's score of each row.

    Parameters
    ----------
    offset : numpy.ndarray of float
        The model's raw score (log-odds) of each labelled row.
    target : numpy.ndarray of float
        Its 0/1 label.
    columns : sequence of numpy.ndarray
        The nuisance values of each row, one array per column (None or NaN: none).
    max_iter : int, default 200
        Newton sweeps at most.
    tol : float, default 1e-7
        Stop when no effect moves by more than this.

    Returns
    -------
    NuisanceEffects
        The effects, their spread and the rows used.

    Raises
    ------
    ValueError
        The arrays differ in length.

    Examples
    --------
    >>> fit_effects(np.zeros(4), np.array([1, 1, 0, 0.0]),
    ...             [np.array(["a", "a", "b", "b"], dtype=object)]).effects["a"] > 0
    True
    """
    offset = np.asarray(offset, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if len(offset) != len(y) or any(len(c) != len(y) for c in columns):
        raise ValueError("offset, target and every nuisance column need one value per row")
    row, code, levels = _codes(columns)
    k = len(levels)
    if not k:
        return NuisanceEffects({}, 0.0, len(y))
    b = np.zeros(k)
    tau2 = 0.1
    for _ in range(max_iter):
        for _ in range(50):  # Newton (Jacobi) steps on b for the current spread
            eta = offset + np.bincount(row, weights=b[code], minlength=len(y))
            p = 1.0 / (1.0 + np.exp(-eta))
            grad = np.bincount(code, weights=(p - y)[row], minlength=k) + b / tau2
            hess = np.bincount(code, weights=(p * (1 - p))[row], minlength=k) + 1.0 / tau2
            step = grad / hess
            # two effects can share a row: a half step keeps the sweep from overshooting
            b -= step if k == 1 or len(columns) == 1 else 0.5 * step
            if np.max(np.abs(step)) < tol:
                break
        new = max((np.sum(b**2) + np.sum(1.0 / hess)) / k, 1e-6)
        if abs(new - tau2) < tol:
            tau2 = new
            break
        tau2 = new
    effects = dict(zip(levels, (float(v) for v in b), strict=True))
    return NuisanceEffects(effects, float(np.sqrt(tau2)), len(y))
