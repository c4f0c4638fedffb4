"""How good a model is on a later slice: AUC, Brier, reliability, tiers, model card.

Measured on random-inspection labels (``inspection_finding``), which are unbiased;
targeted inspections would flatter any model (DOMAIN.md, selective labels).

Examples
--------
>>> import numpy as np
>>> y = np.array([0, 0, 1, 1]); p = np.array([0.1, 0.4, 0.35, 0.8])
>>> round(metrics(y, p)["auc"], 2)
0.75
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from creditrisk._figures import new_figure

__all__ = [
    "BASELINES",
    "baseline_scores",
    "baseline_table",
    "metrics",
    "model_card",
    "plot_reliability",
    "reason_table",
    "reliability_table",
    "soft_auc",
    "tier_table",
]


def _labelled(y, *others):
    y = pd.Series(np.asarray(y, dtype=np.float64))
    keep = y.notna().to_numpy()
    return (y.to_numpy()[keep], *[np.asarray(o)[keep] for o in others])


def metrics(y, probability, sample_weight=None) -> dict[str, float]:
    """AUC, average precision, Brier score, base rate and mean prediction.

    Rows with an undefined label (NaN) are left out. With ``sample_weight`` every figure
    is weighted: on inspected entities weighted by ``1 / inclusion_probability``
    (:func:`creditrisk.inspection.inspected_outcomes`), they estimate the figures on
    the whole population rather than on those the plan chose, and
    ``mean_probability - finding_rate`` is the population's calibration in the large.

    Parameters
    ----------
    y : array-like of float
        Observed outcome per row, 1 or 0; NaN where undefined.
    probability : array-like of float
        Predicted probability per row, in the order of ``y``.
    sample_weight : array-like of float, optional
        A weight per row (scikit-learn's ``sample_weight``); by default every row counts
        once.

    Returns
    -------
    dict of str to float
        ``n`` (labelled rows, an int), ``auc``, ``average_precision`` (NaN unless both
        outcomes occur), ``brier``, ``finding_rate`` and ``mean_probability`` (NaN
        without labelled rows).

    Examples
    --------
    >>> metrics([0, 1, np.nan], [0.2, 0.9, 0.5])["n"]
    2
    >>> y, p = [0, 1, 1, 0], [0.1, 0.8, 0.3, 0.4]
    >>> metrics(y, p)["auc"], metrics(y, p, sample_weight=[1, 1, 1, 3])["auc"]
    (0.75, 0.625)
    >>> metrics(y, p, sample_weight=[1, 1, 1, 3])["finding_rate"]
    0.3333333333333333
    """
    if sample_weight is None:
        y, p = _labelled(y, probability)
        w = np.ones(len(y))
    else:
        y, p, w = _labelled(y, probability, np.asarray(sample_weight, dtype=np.float64))
    weights = None if sample_weight is None else w
    both = len(np.unique(y)) == 2
    some = len(y) > 0 and w.sum() > 0
    return {
        "n": len(y),
        "auc": float(roc_auc_score(y, p, sample_weight=weights)) if both else float("nan"),
        "average_precision": (
            float(average_precision_score(y, p, sample_weight=weights)) if both else float("nan")
        ),
        "brier": float(brier_score_loss(y, p, sample_weight=weights)) if some else float("nan"),
        "finding_rate": float(np.average(y, weights=w)) if some else float("nan"),
        "mean_probability": float(np.average(p, weights=w)) if some else float("nan"),
    }


#: the simple rankers every model is measured against, out of time on the same rows
BASELINES = (
    "base rate",
    "last inspection result",
    "logistic regression on history counts",
)


def _count_columns(X: pd.DataFrame, catalogue=None) -> list[str]:
    from creditrisk.features import CATALOGUE

    kinds = {f.name: f.kind for f in CATALOGUE}
    if catalogue is not None:
        kinds |= {f.name: f.kind for f in catalogue}
    return [c for c in X.columns if kinds.get(c) == "count"]


def baseline_scores(
    X_train: pd.DataFrame, y_train, X_test: pd.DataFrame, catalogue=None
) -> dict[str, np.ndarray]:
    """Scores of the simple baselines, fitted on training rows, for the test rows.

    ``base rate`` ranks nobody (the training finding rate for all); ``last inspection
    result`` is each entity's latest inspection outcome (never inspected is its own
    value), scored by the finding rate of that outcome in training;
    ``logistic regression on history counts`` is scikit-learn's logistic regression on
    every count feature (penalties, inspections, findings, listings, reports, declared
    counts), log-scaled and standardised. A model that cannot beat them is not worth
    its explanation.

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame
        Features (training and test rows).
    y_train : array-like of float
        Training labels (NaN where undefined: ignored).
    catalogue : sequence of Feature, optional
        Catalogue entries of declared features (to know which are counts).

    Returns
    -------
    dict of str to numpy.ndarray
        Per baseline of :data:`BASELINES` that the features allow, one score per test
        row (higher: riskier).

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> s = cr.spine(t, ["2022-07-01", "2024-07-01"])
    >>> X, y = cr.build_features(t, s), cr.build_labels(t, s)
    >>> old = (X["as_of"] == "2022-07-01").to_numpy()
    >>> sorted(baseline_scores(X[old], y[old], X[~old]))
    ['base rate', 'last inspection result', 'logistic regression on history counts']
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    y = np.asarray(y_train, dtype=np.float64)
    known = ~np.isnan(y)
    rate = float(y[known].mean()) if known.any() else float("nan")
    out = {"base rate": np.full(len(X_test), rate)}
    if "inspection_last_outcome" in X_train.columns:

        def outcome(X: pd.DataFrame) -> pd.Series:
            values = X["inspection_last_outcome"]
            return values.astype("str").where(values.notna(), "never inspected")

        train = outcome(X_train)[known]
        rates = pd.Series(y[known], index=train.index).groupby(train.to_numpy()).mean()
        out["last inspection result"] = (
            outcome(X_test).map(rates).fillna(rate).to_numpy(dtype=np.float64)
        )
    counts = _count_columns(X_train, catalogue)
    if counts and known.sum() >= 10 and len(np.unique(y[known])) == 2:
        model = make_pipeline(
            FunctionTransformer(lambda v: np.log1p(np.clip(v, 0, None))),
            StandardScaler(),
            LogisticRegression(max_iter=2000),
        )
        model.fit(X_train.loc[known, counts].to_numpy(dtype=np.float64), y[known])
        test = X_test[counts].to_numpy(dtype=np.float64, na_value=0.0)
        out["logistic regression on history counts"] = model.predict_proba(test)[:, 1]
    return out


def baseline_table(y, probability, baselines: dict[str, np.ndarray]) -> pd.DataFrame:
    """The model beside its baselines: AUC, average precision and Brier on the same rows.

    Parameters
    ----------
    y : array-like of float
        Test labels (NaN where undefined).
    probability : array-like of float
        The model's probabilities for the same rows.
    baselines : dict of str to numpy.ndarray
        :func:`baseline_scores` for the same rows.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``model`` (the model first): ``auc``, ``average_precision``,
        ``brier`` (for baselines that give probabilities) and ``auc_gain`` (the model's
        AUC minus each row's).

    Examples
    --------
    >>> t = baseline_table([0, 1, 1, 0], [0.1, 0.8, 0.6, 0.3],
    ...                    {"base rate": np.full(4, 0.5)})
    >>> float(t.loc["base rate", "auc"]), float(t.loc["base rate", "auc_gain"])
    (0.5, 0.5)
    """
    rows = []
    for name, score in {"model": np.asarray(probability), **baselines}.items():
        m = metrics(y, score)
        rows.append(
            {
                "model": name,
                "auc": m["auc"],
                "average_precision": m["average_precision"],
                "brier": m["brier"],
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    table["auc_gain"] = table.loc["model", "auc"] - table["auc"]
    return table


def soft_auc(truth, score) -> float:
    """The AUC expected if every entity's label were drawn from its true probability.

    The yardstick on a synthetic world, whose true probabilities are known
    (``world.truth.probability(as_of)``): it rewards ranking the enterprise's risk, not
    the luck of who happened to be inspected or how strict the inspector was. Every
    pair of entities counts, weighted by the chance that the first has a finding and the
    second has not: ``sum p_i (1 - p_j) [s_i > s_j] / sum p_i (1 - p_j)`` over pairs
    ``i != j``, ties counting one half. ``soft_auc(truth, truth)`` is the best any score
    can reach; report a model's as a ratio to it.

    Parameters
    ----------
    truth : array-like of float
        True probability of a finding per entity (NaN rows are left out).
    score : array-like of float
        The model's score per entity (any monotone scale: probability or log-odds).

    Returns
    -------
    float
        The expected AUC, between 0 and 1 (NaN with fewer than two entities).

    Examples
    --------
    >>> p = np.array([0.1, 0.4, 0.8])
    >>> round(soft_auc(p, p), 4), round(soft_auc(p, -p), 4)
    (0.907, 0.093)
    >>> round(soft_auc(p, np.zeros(3)), 12)  # no ranking at all
    0.5
    """
    p = np.asarray(truth, dtype=np.float64)
    s = np.asarray(score, dtype=np.float64)
    if p.shape != s.shape:
        raise ValueError(f"truth has {p.shape} values, score {s.shape}")
    keep = ~np.isnan(p) & ~np.isnan(s)
    p, s = p[keep], s[keep]
    if len(p) < 2:
        return float("nan")
    order = np.argsort(s, kind="stable")
    p, s = p[order], s[order]
    q = 1.0 - p
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pos = np.add.reduceat(p, starts)  # per group of equal scores
    neg = np.add.reduceat(q, starts)
    own = np.add.reduceat(p * q, starts)
    below = np.cumsum(neg) - neg  # negatives weight of lower-scored groups
    numerator = float(np.sum(pos * below) + 0.5 * np.sum(pos * neg - own))
    denominator = float(p.sum() * q.sum() - np.sum(p * q))
    return numerator / denominator if denominator > 0 else float("nan")


def reliability_table(y, probability, bins: int = 10, sample_weight=None) -> pd.DataFrame:
    """Predicted against observed finding rates, in bins of equal count.

    Rows with an undefined label (NaN) are left out before binning. With
    ``sample_weight`` the bins hold equal weight and the rates are weighted: on
    inspected entities weighted by ``1 / inclusion_probability``, the population's
    reliability rather than that of the entities the plan chose.

    Parameters
    ----------
    y : array-like of float
        Observed outcome per row, 1 or 0; NaN where undefined.
    probability : array-like of float
        Predicted probability per row, in the order of ``y``.
    bins : int, default 10
        Number of bins, of equal count (or weight), along the probability.
    sample_weight : array-like of float, optional
        A positive weight per row; by default every row counts once.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``bin`` (1 for the lowest probabilities): ``rows``,
        ``mean_probability``, ``finding_rate``, and the bin's ``low`` and ``high``
        probability; empty without labelled rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0); p = rng.random(1000)
    >>> t = reliability_table(rng.random(1000) < p, p, bins=5)
    >>> list(t.columns)
    ['rows', 'mean_probability', 'finding_rate', 'low', 'high']
    >>> w = reliability_table([0, 1, 0, 1], [0.2, 0.3, 0.6, 0.7], bins=2,
    ...                       sample_weight=[3, 1, 1, 1])
    >>> w["rows"].tolist(), w["finding_rate"].round(3).tolist()  # weight 3 in each bin
    ([1, 3], [0.0, 0.667])
    """
    if sample_weight is None:
        y, p = _labelled(y, probability)
        w = np.ones(len(y))
    else:
        y, p, w = _labelled(y, probability, np.asarray(sample_weight, dtype=np.float64))
    if not len(y):
        return pd.DataFrame(columns=["rows", "mean_probability", "finding_rate", "low", "high"])
    order = np.argsort(p, kind="stable")
    groups = np.empty(len(p), dtype=np.int64)
    if sample_weight is None:
        groups[order] = np.arange(len(p)) * bins // len(p)
    else:  # equal weight: the bin of each row's weight midpoint
        cum = np.cumsum(w[order])
        middle = (cum - w[order] / 2) / cum[-1]
        groups[order] = np.minimum((middle * bins).astype(np.int64), bins - 1)
    frame = pd.DataFrame({"bin": groups + 1, "p": p, "y": y, "w": w})
    frame["wp"], frame["wy"] = frame["w"] * frame["p"], frame["w"] * frame["y"]
    sums = frame.groupby("bin")[["w", "wp", "wy"]].sum()
    table = frame.groupby("bin").agg(rows=("y", "size"), low=("p", "min"), high=("p", "max"))
    table.insert(1, "mean_probability", sums["wp"] / sums["w"])
    table.insert(2, "finding_rate", sums["wy"] / sums["w"])
    return table


def plot_reliability(y, probability, bins: int = 10, ax=None):
    """Reliability diagram (scikit-learn's ``CalibrationDisplay``, bins of equal count).

    Parameters
    ----------
    y : array-like of float
        Observed outcome per row, 1 or 0; rows with an undefined label (NaN) are left out.
    probability : array-like of float
        Predicted probability per row, in the order of ``y``.
    bins : int, default 10
        Number of bins, of equal count, along the probability.
    ax : matplotlib.axes.Axes, optional
        Where to draw; by default on a new 5 x 5 inch Figure that pyplot does not track
        (a notebook shows it once, as the cell's value).

    Returns
    -------
    matplotlib.figure.Figure
        The Figure drawn on (that of ``ax`` when given): observed finding rate against
        mean predicted probability per bin, beside the diagonal of perfect calibration.

    Examples
    --------
    >>> rng = np.random.default_rng(0); p = rng.random(500)
    >>> fig = plot_reliability(rng.random(500) < p, p, bins=5)
    >>> fig.axes[0].get_xlabel()
    'Predicted probability'
    """
    from sklearn.calibration import CalibrationDisplay

    y, p = _labelled(y, probability)
    if ax is None:
        ax = new_figure(figsize=(5, 5)).subplots()
    CalibrationDisplay.from_predictions(y, p, n_bins=bins, strategy="quantile", name="model", ax=ax)
    ax.set_xlabel("Predicted probability")
    ax.set_ylabel("Observed finding rate (random inspections)")
    ax.set_title("Reliability")
    return ax.figure


def tier_table(scores: pd.DataFrame, y=None) -> pd.DataFrame:
    """Per tier: entities, share, mean probability and, given labels, the finding rate.

    Given labels, the table also holds the labelled rows and their observed finding rate.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``tier`` and ``probability`` per row (:meth:`RiskModel.classify`).
    y : array-like of float, optional
        Observed outcome per row of ``scores``, 1 or 0, NaN where undefined.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``tier`` (every category, in order): ``entities``, ``share``,
        ``mean_probability`` and, given ``y``, ``labelled`` and ``finding_rate``.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(["A", "A", "B"], categories=["A", "B"]),
    ...                   "probability": [0.1, 0.2, 0.5]})
    >>> tier_table(s, [0, np.nan, 1])["finding_rate"].tolist()
    [0.0, 1.0]
    """
    frame = pd.DataFrame(
        {"tier": scores["tier"].to_numpy(), "probability": scores["probability"].to_numpy()}
    )
    if not isinstance(frame["tier"].dtype, pd.CategoricalDtype):
        frame["tier"] = scores["tier"].astype("category").to_numpy()
    table = frame.groupby("tier", observed=False).agg(
        entities=("probability", "size"), mean_probability=("probability", "mean")
    )
    table.insert(1, "share", table["entities"] / max(len(frame), 1))
    if y is not None:
        frame["y"] = np.asarray(y, dtype=np.float64)
        labelled = frame.dropna(subset=["y"])
        grouped = labelled.groupby("tier", observed=False)["y"]
        table["labelled"] = grouped.size()
        table["finding_rate"] = grouped.mean()
    return table


def reason_table(scores: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """Per tier, the features most often among the entities' reasons.

    Columns: tier, feature, meaning (from the feature catalogue), entities (of the tier
    with the feature among their ``reason_i_feature`` columns), share (of the tier),
    first (entities for which it is the first reason), mean_contribution (log-odds,
    over the entities where it is a reason). At most ``top`` features per tier, the most
    frequent first.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``tier`` and ``reason_<i>_feature`` / ``reason_<i>_contribution`` columns
        (:meth:`RiskModel.classify`).
    top : int, default 5
        Features per tier at most.

    Returns
    -------
    pandas.DataFrame
        The columns above, ordered by tier, then entities (most first), then feature;
        empty when ``scores`` carry no reasons.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(["D", "D"], categories=["A", "D"]),
    ...     "reason_1_feature": ["on_abnormal_list", "reports_not_filed"],
    ...     "reason_1_contribution": [0.9, 0.5],
    ...     "reason_2_feature": ["reports_not_filed", None],
    ...     "reason_2_contribution": [0.2, np.nan]})
    >>> reason_table(s)[["tier", "feature", "entities", "first"]].values.tolist()
    [['D', 'reports_not_filed', 2, 1], ['D', 'on_abnormal_list', 1, 1]]
    """
    from creditrisk.features.builder import CATALOGUE

    meaning = {f.name: f.meaning for f in CATALOGUE}
    ranks = sorted(
        int(c.split("_")[1])
        for c in scores.columns
        if c.startswith("reason_") and c.endswith("_feature")
    )
    columns = ["tier", "feature", "meaning", "entities", "share", "first", "mean_contribution"]
    tiers = scores["tier"].astype(str).to_numpy()
    parts = [
        pd.DataFrame(
            {
                "tier": tiers,
                "feature": scores[f"reason_{r}_feature"].astype(object).to_numpy(),
                "contribution": scores[f"reason_{r}_contribution"].to_numpy(dtype=np.float64),
                "first": r == 1,
            }
        )
        for r in ranks
    ]
    if not parts:
        return pd.DataFrame(columns=columns)
    long = pd.concat(parts, ignore_index=True).dropna(subset=["feature"])
    long = long[long["feature"].astype(str) != ""]
    size = pd.Series(tiers).value_counts()
    table = (
        long.groupby(["tier", "feature"], sort=False)
        .agg(
            entities=("contribution", "size"),
            first=("first", "sum"),
            mean_contribution=("contribution", "mean"),
        )
        .reset_index()
    )
    table["share"] = table["entities"] / table["tier"].map(size)
    table["meaning"] = table["feature"].map(meaning).fillna("")
    order = scores["tier"].cat.categories if hasattr(scores["tier"], "cat") else sorted(size.index)
    table["tier"] = pd.Categorical(table["tier"], categories=[str(t) for t in order])
    table = table.sort_values(
        ["tier", "entities", "feature"], ascending=[True, False, True], kind="stable"
    )
    table = table.groupby("tier", observed=True, sort=False).head(top)
    return table[columns].reset_index(drop=True)


def model_card(
    model,
    X_test: pd.DataFrame,
    y_test,
    title: str = "creditrisk model",
    baselines: pd.DataFrame | None = None,
) -> str:
    """A short Markdown model card of a fitted model, measured on its test slice.

    It gives the data window, label, metrics, tier shares and finding rates on the test
    slice, calibration, top features and policy.

    Parameters
    ----------
    model : RiskModel
        The fitted model.
    X_test : pandas.DataFrame
        Features of the test slice, with ``entity_id`` and ``as_of``.
    y_test : array-like of float
        Labels of ``X_test``'s rows (random-inspection findings; NaN where undefined).
    title : str, default "creditrisk model"
        The card's heading.
    baselines : pandas.DataFrame, optional
        :func:`baseline_table` on the same test rows, shown beside the model.

    Returns
    -------
    str
        The card, in Markdown.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> s = cr.spine(t, "2024-07-01")
    >>> card = model_card(m, cr.build_features(t, s), cr.build_labels(t, s))
    >>> "## Tiers on the test slice" in card
    True
    """
    scores = model.classify(X_test, top_k=0)
    p = scores["probability"].to_numpy()
    m = metrics(y_test, p)
    tiers = tier_table(scores, y_test)
    rel = reliability_table(y_test, p, bins=5)
    imp = model.importance(X_test).head(8)
    test_dates = sorted({str(pd.Timestamp(d).date()) for d in scores["as_of"]})
    training = model.training_
    lines = [
        f"# {title}",
        "",
        "A LightGBM model of the chance that a random inspection in the next 12 months "
        "finds issues (label `inspection_finding`), tiered by policy "
        f"`{model.policy_.name}`.",
        "",
        "## Data",
        f"- Training as-of dates: {', '.join(training['as_of'])} "
        f"({training['rows']:,} rows, {training['labelled']:,} labelled by a random inspection)",
        f"- Slices: {_slices(model.slices_)}",
        f"- Test as-of date(s): {', '.join(test_dates)} ({m['n']:,} labelled rows)",
        f"- Training data fingerprint: `{training['fingerprint'][:16]}`",
        "",
        "## Model",
        f"- {model.n_trees_} trees, max depth {model.max_depth}, {model.num_leaves} leaves, "
        f"learning rate {model.learning_rate}, monotone constraints "
        f"{'on' if model.monotone else 'off'}, seed {model.random_state}",
        f"- Calibration: {model.calibration_['method']} (slope "
        f"{model.calibration_['slope']:.3f}, intercept {model.calibration_['intercept']:.3f})",
        f"- Tier cut-offs (probability): {', '.join(f'{c:.4f}' for c in model.cutoffs_)}",
        *_nuisance_lines(model),
        *_context_lines(model),
        "",
        "## Test metrics",
        f"- AUC {m['auc']:.3f}, average precision {m['average_precision']:.3f}, "
        f"Brier {m['brier']:.4f}",
        f"- Finding rate {m['finding_rate']:.3f}, mean predicted probability "
        f"{m['mean_probability']:.3f}",
        "",
        *_baseline_lines(baselines),
        "## Tiers on the test slice",
        "",
        _markdown(
            tiers, {"share": "{:.1%}", "mean_probability": "{:.3f}", "finding_rate": "{:.3f}"}
        ),
        "",
        "## Reliability (test slice, 5 bins)",
        "",
        _markdown(
            rel,
            {
                "mean_probability": "{:.3f}",
                "finding_rate": "{:.3f}",
                "low": "{:.3f}",
                "high": "{:.3f}",
            },
        ),
        "",
        "## Most important features (mean |SHAP|, log-odds)",
        "",
        _markdown(imp[["mean_abs_shap", "meaning"]], {"mean_abs_shap": "{:.4f}"}),
        "",
        "## Limits",
        "- Labels come from random inspections only; they inherit the inspectors' "
        "strictness, which no entity feature explains.",
        "- Tiers are an internal supervision reference, not a public credit rating.",
        "",
    ]
    return "\n".join(lines)


def _baseline_lines(table: pd.DataFrame | None) -> list[str]:
    if table is None:
        return []
    best = table.drop(index="model")["auc"].max()
    gain = table.loc["model", "auc"] - best
    verdict = (
        f"The model beats the best baseline's AUC by {gain:+.3f}."
        if gain > 0
        else f"The model does NOT beat the best baseline: AUC {gain:+.3f}."
    )
    return [
        "## Baselines (same test rows, fitted on the same training rows)",
        "",
        _markdown(
            table,
            {
                "auc": "{:.3f}",
                "average_precision": "{:.3f}",
                "brier": "{:.4f}",
                "auc_gain": "{:+.3f}",
            },
        ),
        "",
        f"- {verdict}",
        "",
    ]


def _nuisance_lines(model) -> list[str]:
    info = getattr(model, "nuisance_", None)
    if not info:
        return ["- Nuisance: none declared (labels carry who inspected, unaccounted for)"]
    return [
        f"- Nuisance: {', '.join(info['columns'])} ({info['values']:,} values, effects' spread "
        f"{info['tau']:.3f} log-odds) took {info['variance_share']:.1%} of the training "
        "labels' log-odds variance; set to the average when scoring (never a reason or a tier)"
    ]


def _context_lines(model) -> list[str]:
    context = [f for f, c in zip(model.feature_names_in_, model._context_mask(), strict=True) if c]
    moves = "move tiers" if model.policy_.context_moves_tier else "do not move tiers"
    lines = []
    decided = getattr(model, "context_", {}) or {}
    measured = "folds_auc_with" in decided
    if context and decided.get("decision") == "dropped":
        how = (
            f" (out-of-time folds' AUC {decided['folds_auc_without']:.4f} without them, "
            f"{decided['folds_auc_with']:.4f} with)"
            if measured
            else ""
        )
        lines.append(f"- Context features left out{how}: {', '.join(context)}")
    elif context:
        how = (
            f"; kept by the out-of-time folds: AUC {decided['folds_auc_with']:.4f} with them, "
            f"{decided['folds_auc_without']:.4f} without"
            if measured
            else ""
        )
        lines.append(f"- Context features (never reasons; {moves}{how}): {', '.join(context)}")
    skipped = getattr(model, "inapplicable_overrides_", [])
    if skipped:
        lines.append(
            f"- Overrides the register cannot apply (their feature is absent): {', '.join(skipped)}"
        )
    return lines


def _slices(s: dict) -> str:
    if s.get("method") == "rolling":
        folds = "; ".join(
            f"{f['valid']} (trained on {len(f['train'])} earlier dates, AUC {f['auc']:.3f})"
            for f in s["folds"]
        )
        return (
            f"trees chosen on {len(s['folds'])} out-of-time folds ({folds}), calibrated on "
            f"their out-of-fold predictions, final model on all {s['final_rows']:,} labelled rows"
        )
    if s.get("method") == "time":
        left_out = f", left out {', '.join(s['left_out'])}" if s.get("left_out") else ""
        return (
            f"trained on {len(s['train'])} dates ({s['train_rows']:,} labelled rows), early "
            f"stopping and calibration on two halves of the entities at {s['stop']} "
            f"({s['stop_rows']:,} and {s['calibration_rows']:,}){left_out}"
        )
    return (
        f"entities split at random ({s['train_rows']:,} / {s['stop_rows']:,} / "
        f"{s['calibration_rows']:,})"
    )


def _markdown(frame: pd.DataFrame, formats: dict[str, str]) -> str:
    shown = frame.copy()
    for column, fmt in formats.items():
        if column in shown:
            shown[column] = [("" if pd.isna(v) else fmt.format(v)) for v in shown[column]]
    header = [shown.index.name or "", *map(str, shown.columns)]
    rows = [[str(i), *map(str, r)] for i, r in zip(shown.index, shown.to_numpy(), strict=True)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
