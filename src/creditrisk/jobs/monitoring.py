"""Monitoring between two scoring runs: population stability and tier migration.

:func:`psi` is the population stability index of one variable: the old run's
distribution cut into bins of equal count (categories for text), and
``sum((new - old) * ln(new / old))`` over the bins' shares, i.e. the symmetric
Kullback-Leibler divergence (``scipy.special.rel_entr`` both ways). Missing values
are a bin of their own. Customary reading: below 0.1 stable, 0.1-0.25 a shift worth a
look, above 0.25 a shift that needs an explanation before the tiers are used.

:func:`compare` applies it to the score and to every feature present in both runs,
builds the tier migration matrix of the entities scored in both, and lists warnings
above configurable thresholds.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> round(psi(rng.normal(size=10_000), rng.normal(size=10_000)), 3) < 0.01
True
>>> psi(rng.normal(size=10_000), rng.normal(0.5, size=10_000)) > 0.1
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import rel_entr

__all__ = ["Comparison", "Thresholds", "compare", "psi", "tier_migration"]

#: columns of a scoring run that are not features
_SCORE_COLUMNS = ("entity_id", "as_of", "probability", "score_tier", "tier", "override")
_FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


@dataclass(frozen=True)
class Thresholds:
    """When :func:`compare` warns.

    ``psi_warn`` / ``psi_alert``: PSI of the score or a feature; ``migration_warn``:
    share of the entities in both runs whose tier changed; ``tier_share_warn``: change
    of any tier's share of the population (absolute).

    Parameters
    ----------
    psi_warn : float, default 0.10
        PSI of the score or a feature from which :func:`compare` warns.
    psi_alert : float, default 0.25
        PSI from which it alerts (:attr:`Comparison.alert`).
    migration_warn : float, default 0.10
        Share of the entities in both runs whose tier changed, from which it warns.
    tier_share_warn : float, default 0.05
        Absolute change of a tier's share of the population from which it warns.

    Examples
    --------
    >>> Thresholds(psi_alert=0.3).psi_alert
    0.3
    """

    psi_warn: float = 0.10
    psi_alert: float = 0.25
    migration_warn: float = 0.10
    tier_share_warn: float = 0.05


def _shares(old: pd.Series, new: pd.Series, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Shares of old and new in the same bins (edges from old; NaN its own bin)."""
    numeric = pd.api.types.is_numeric_dtype(old.dtype) and not pd.api.types.is_bool_dtype(old.dtype)
    if numeric:
        a = old.to_numpy(dtype=np.float64, na_value=np.nan)
        b = new.to_numpy(dtype=np.float64, na_value=np.nan)
        edges = (
            np.unique(np.nanquantile(a, np.linspace(0, 1, bins + 1)[1:-1]))
            if (np.isfinite(a).any())
            else np.array([])
        )
        codes_a = np.where(np.isnan(a), -1, np.searchsorted(edges, a, side="right"))
        codes_b = np.where(np.isnan(b), -1, np.searchsorted(edges, b, side="right"))
        size = len(edges) + 1
    else:
        text_a = old.astype("str").where(old.notna())
        text_b = new.astype("str").where(new.notna())
        levels = pd.Index(sorted(set(text_a.dropna()) | set(text_b.dropna())))
        codes_a = levels.get_indexer(text_a)
        codes_b = levels.get_indexer(text_b)
        size = len(levels)
    counts_a = np.bincount(codes_a + 1, minlength=size + 1).astype(np.float64)
    counts_b = np.bincount(codes_b + 1, minlength=size + 1).astype(np.float64)
    return counts_a / max(counts_a.sum(), 1), counts_b / max(counts_b.sum(), 1)


def psi(old, new, bins: int = 10) -> float:
    """Population stability index of ``new`` against ``old`` (bins from ``old``).

    Numeric values are cut at the quantiles of ``old`` (equal-count bins; ties merge
    bins), text and categories are compared level by level, and missing values are a
    bin of their own. An empty bin counts as a share of 0.0001, so the index stays
    finite.

    Parameters
    ----------
    old : array-like
        The reference values (the earlier run).
    new : array-like
        The values to compare with them.
    bins : int, default 10
        Bins of equal count in ``old`` for numeric values.

    Returns
    -------
    float
        ``sum((new - old) * ln(new / old))`` over the bins' shares; NaN when either
        side is empty.

    Examples
    --------
    >>> psi(pd.Series(["a", "a", "b", "b"]), pd.Series(["a", "b", "b", "b"])) > 0
    True
    """
    old, new = pd.Series(old), pd.Series(new)
    if not len(old) or not len(new):
        return float("nan")
    a, b = _shares(old, new, bins)
    used = (a > 0) | (b > 0)
    a, b = np.maximum(a[used], _FLOOR), np.maximum(b[used], _FLOOR)
    return float(np.sum(rel_entr(b, a) + rel_entr(a, b)))


def tier_migration(old: pd.DataFrame, new: pd.DataFrame, column: str = "tier") -> pd.DataFrame:
    """Counts of entities by old tier (rows) and new tier (columns).

    Only the entities scored in both runs count; all tiers of either run appear, in order.

    Parameters
    ----------
    old : pandas.DataFrame
        The earlier run: ``entity_id`` and ``column``.
    new : pandas.DataFrame
        The later run: ``entity_id`` and ``column``.
    column : str, default "tier"
        The tier column (``"score_tier"``: the tiers before overrides).

    Returns
    -------
    pandas.DataFrame
        Counts, indexed by ``old tier`` with columns ``new tier``; the categories'
        order when a column is categorical, else sorted.

    Examples
    --------
    >>> tiers = pd.CategoricalDtype(["A", "B"], ordered=True)
    >>> old = pd.DataFrame({"entity_id": ["e1", "e2"], "tier": pd.Series(["A", "B"], dtype=tiers)})
    >>> new = pd.DataFrame({"entity_id": ["e1", "e2"], "tier": pd.Series(["B", "B"], dtype=tiers)})
    >>> tier_migration(old, new).to_numpy().tolist()
    [[0, 1], [0, 1]]
    """
    both = old[["entity_id", column]].merge(
        new[["entity_id", column]], on="entity_id", suffixes=("_old", "_new")
    )
    levels = _levels(old[column], new[column])
    table = pd.crosstab(
        pd.Categorical(both[f"{column}_old"].astype("str"), categories=levels),
        pd.Categorical(both[f"{column}_new"].astype("str"), categories=levels),
        dropna=False,
    )
    table.index.name, table.columns.name = "old tier", "new tier"
    return table.reindex(index=levels, columns=levels, fill_value=0)


def _levels(*columns: pd.Series) -> list[str]:
    for column in columns:
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = [str(c) for c in column.cat.categories]
            extra = sorted({str(v) for c in columns for v in c.dropna().unique()} - set(levels))
            return levels + extra
    return sorted({str(v) for c in columns for v in c.dropna().unique()})


@dataclass
class Comparison:
    """The result of :func:`compare`.

    ``psi``: one row per variable (the score first, then features by PSI) with its
    PSI and status (stable / warn / alert); ``migration``: the tier migration matrix;
    ``tier_shares``: share per tier in each run; ``summary``: entities in both runs,
    only in one, the share whose tier changed, up and down; ``warnings``: sentences.

    Parameters
    ----------
    psi : pandas.DataFrame
        Indexed by ``variable``: ``kind`` (score or feature), ``psi`` and ``status``.
    migration : pandas.DataFrame
        The tier migration matrix (:func:`tier_migration`).
    tier_shares : pandas.DataFrame
        Indexed by ``tier``: ``old``, ``new`` and ``change`` of each tier's share.
    summary : dict
        ``entities_old``, ``entities_new``, ``in_both``, ``only_old``, ``only_new``,
        ``tier_changed``, ``tier_changed_share``, ``to_riskier_tier``,
        ``to_safer_tier`` and ``score_psi``.
    warnings : list of str, optional
        What crossed a threshold, in words.
    thresholds : Thresholds, optional
        The thresholds the warnings were measured against.

    Examples
    --------
    >>> import pandas as pd
    >>> old = pd.DataFrame({"entity_id": ["e1", "e2", "e3", "e4"],
    ...                     "probability": [0.1, 0.2, 0.4, 0.6], "tier": ["A", "B", "B", "C"]})
    >>> new = old.assign(probability=[0.1, 0.5, 0.4, 0.6], tier=["A", "C", "B", "C"])
    >>> result = compare(old, new)
    >>> result.summary["tier_changed"], result.warnings[0]
    (1, 'alert: PSI of the score is 3.910 (>= 0.25)')
    """

    psi: pd.DataFrame
    migration: pd.DataFrame
    tier_shares: pd.DataFrame
    summary: dict
    warnings: list[str] = field(default_factory=list)
    thresholds: Thresholds = field(default_factory=Thresholds)

    @property
    def alert(self) -> bool:
        """True when any PSI reaches the alert threshold.

        The score's or any feature's ``status`` in :attr:`psi` is ``"alert"``
        (``psi >= thresholds.psi_alert``).

        Examples
        --------
        >>> import pandas as pd
        >>> run = pd.DataFrame({"entity_id": ["e1", "e2"], "probability": [0.1, 0.6],
        ...                     "tier": ["A", "C"]})
        >>> compare(run, run).alert
        False
        """
        return bool((self.psi["status"] == "alert").any())

    def to_dict(self) -> dict:
        """JSON-ready: PSI rows, the migration matrix, tier shares, summary, warnings.

        Returns
        -------
        dict
            ``summary``, ``warnings``, ``thresholds``, ``psi`` (a list of records),
            ``migration`` (old tier → new tier → count) and ``tier_shares`` (tier →
            old, new, change), of plain types that :func:`json.dumps` takes.

        Examples
        --------
        >>> import json, pandas as pd
        >>> run = pd.DataFrame({"entity_id": ["e1", "e2"], "probability": [0.1, 0.6],
        ...                     "tier": ["A", "C"]})
        >>> data = compare(run, run).to_dict()
        >>> data["migration"], json.loads(json.dumps(data))["warnings"]
        ({'A': {'A': 1, 'C': 0}, 'C': {'A': 0, 'C': 1}}, [])
        """
        return {
            "summary": self.summary,
            "warnings": list(self.warnings),
            "thresholds": self.thresholds.__dict__,
            "psi": self.psi.reset_index().to_dict("records"),
            "migration": {
                str(k): {str(c): int(v) for c, v in row.items()}
                for k, row in self.migration.iterrows()
            },
            "tier_shares": {str(k): row.to_dict() for k, row in self.tier_shares.iterrows()},
        }


def _one_date(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = [c for c in ("entity_id", "probability", "tier") if c not in frame.columns]
    if missing:
        raise ValueError(f"the {name} run lacks columns {missing}: is it a scoring output?")
    if "as_of" in frame and frame["as_of"].nunique() > 1:
        dates = sorted(str(pd.Timestamp(d).date()) for d in frame["as_of"].unique())
        raise ValueError(
            f"the {name} run holds several as-of dates ({', '.join(dates[:5])}); compare "
            "one date of each run"
        )
    return frame


def compare(
    old: pd.DataFrame,
    new: pd.DataFrame,
    thresholds: Thresholds | None = None,
    bins: int = 10,
) -> Comparison:
    """Population stability of the score and every feature, and tier migration.

    ``old`` and ``new`` are scoring outputs (:func:`creditrisk.jobs.scoring.score_register`
    or ``RiskModel.classify`` joined with features), one as-of date each. Features are the
    columns both share that are not score or reason columns.

    Parameters
    ----------
    old : pandas.DataFrame
        The earlier run: ``entity_id``, ``probability``, ``tier`` and any features.
    new : pandas.DataFrame
        The later run, of the same columns.
    thresholds : Thresholds, optional
        When to warn (default: ``Thresholds()``).
    bins : int, default 10
        Bins of equal count for each numeric variable (:func:`psi`).

    Returns
    -------
    Comparison
        PSI per variable, the tier migration matrix, tier shares, a summary and the
        warnings.

    Raises
    ------
    ValueError
        A run lacks ``entity_id``, ``probability`` or ``tier``, or holds several
        as-of dates.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> runs = [cr.scoring.score_chunk(t, m, d) for d in ("2024-01-01", "2025-01-01")]
    >>> result = compare(*runs)
    >>> result.psi.index[0], list(result.migration.columns)
    ('probability', ['A', 'B', 'C', 'D'])
    """
    thresholds = thresholds or Thresholds()
    old, new = _one_date(old, "old"), _one_date(new, "new")
    variables = ["probability"] + [
        c
        for c in old.columns
        if c in new.columns
        and c not in _SCORE_COLUMNS
        and not c.startswith(("reason_", "override"))
    ]
    values = [psi(old[c], new[c], bins) for c in variables]
    table = pd.DataFrame(
        {"kind": ["score"] + ["feature"] * (len(variables) - 1), "psi": values},
        index=pd.Index(variables, name="variable"),
    )
    table["status"] = np.select(
        [table["psi"] >= thresholds.psi_alert, table["psi"] >= thresholds.psi_warn],
        ["alert", "warn"],
        "stable",
    )
    features = table.iloc[1:].sort_values("psi", ascending=False, kind="stable")
    table = pd.concat([table.iloc[:1], features])

    migration = tier_migration(old, new)
    in_both = int(migration.to_numpy().sum())
    order = np.arange(len(migration))
    moved = migration.to_numpy() * (order[:, None] != order[None, :])
    up = int(np.triu(migration.to_numpy(), 1).sum())  # to a riskier tier
    down = int(np.tril(migration.to_numpy(), -1).sum())
    changed = int(moved.sum())
    levels = list(migration.index)
    shares = (
        pd.DataFrame(
            {
                "old": old["tier"].astype("str").value_counts(normalize=True),
                "new": new["tier"].astype("str").value_counts(normalize=True),
            }
        )
        .reindex(levels)
        .fillna(0.0)
    )
    shares["change"] = shares["new"] - shares["old"]
    shares.index.name = "tier"
    old_ids, new_ids = set(old["entity_id"]), set(new["entity_id"])
    summary = {
        "entities_old": len(old_ids),
        "entities_new": len(new_ids),
        "in_both": in_both,
        "only_old": len(old_ids - new_ids),
        "only_new": len(new_ids - old_ids),
        "tier_changed": changed,
        "tier_changed_share": changed / in_both if in_both else float("nan"),
        "to_riskier_tier": up,
        "to_safer_tier": down,
        "score_psi": float(table.loc["probability", "psi"]),
    }
    warnings = []
    for variable, row in table.iterrows():
        if row["status"] != "stable":
            what = "the score" if row["kind"] == "score" else f"feature {variable}"
            limit = thresholds.psi_alert if row["status"] == "alert" else thresholds.psi_warn
            warnings.append(f"{row['status']}: PSI of {what} is {row['psi']:.3f} (>= {limit})")
    if in_both and summary["tier_changed_share"] >= thresholds.migration_warn:
        warnings.append(
            f"warn: {summary['tier_changed_share']:.1%} of the {in_both:,} entities in both runs "
            f"changed tier ({up:,} riskier, {down:,} safer; threshold "
            f"{thresholds.migration_warn:.0%})"
        )
    for tier, row in shares.iterrows():
        if abs(row["change"]) >= thresholds.tier_share_warn:
            warnings.append(
                f"warn: tier {tier} went from {row['old']:.1%} to {row['new']:.1%} of the "
                f"population (threshold {thresholds.tier_share_warn:.0%} points)"
            )
    return Comparison(table, migration, shares, summary, warnings, thresholds)
