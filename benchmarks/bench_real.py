"""A real register as the benchmark: New York City's restaurant inspections (issue 15).

The register is read as it is, through ``examples/nyc/mapping.toml`` (no column
invented), and measured out of time:

- training as-of dates every quarter from 2013-01-05 to 2014-01-05 (their 12-month label
  windows end by the test date; ``RiskModel`` validates out of time on them: the first
  date trains, 2014-01-05 validates, then all five train the final model), test as-of
  date 2015-01-05: the routine inspections of the register's last whole year;
- the label (chosen before any result was seen, see the mapping): a routine inspection
  in the 12 months after as_of scoring 28 or more, the publisher's C band;
- the rows: at the training dates every restaurant of the extract (on the first date
  none has a known inspection yet); at the test date the restaurants with at least one
  inspection known before it (the regulator's register then); those with a routine
  inspection in the window are labelled;
- every model uses default settings: nothing is tuned, least of all on 2015.

Side by side, on the same rows: creditrisk (``RiskModel`` on the built-in and declared
features), the previous routine inspection's score alone, a logistic regression on
history counts, and plain LightGBM on the same features without creditrisk's pipeline.
Figures: ROC AUC, average precision, and the share of the restaurants whose 2015
routine inspection scored 28+ (and of those with any critical violation) that a
schedule ordered by each model's risk would reach in the first half of 2015's routine
inspections, beside the share the actual schedule reached.

Usage::

    .venv/bin/python benchmarks/bench_real.py [--data ../shared/data/nyc_restaurant_inspections]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from _report import machine
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import creditrisk as cr

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "nyc_restaurant_inspections"
MAPPING = ROOT / "examples" / "nyc" / "mapping.toml"
TRAIN = ["2013-01-05", "2013-04-05", "2013-07-05", "2013-10-05", "2014-01-05"]
TEST = "2015-01-05"
THREADS = 2
#: history counts for the logistic regression (no scores: counts of what happened)
COUNTS = [
    "inspections_routine",
    "inspections_follow_up",
    "inspections_other",
    "inspections_joint",
    "inspection_findings_3y",
    "violations_1y",
    "violations_3y",
    "critical_violations_1y",
    "critical_violations_3y",
    "c_band_inspections_1y",
    "c_band_inspections_3y",
    "closures_3y",
]


def population(
    tables: cr.EventTables, as_of, known_only: bool = True
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and labels at as_of: of every restaurant, or (``known_only``) of those
    with an inspection known before as_of (only the past decides who is in)."""
    spine = cr.spine(tables, as_of)
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine)
    if not known_only:
        return X, y
    known = X["inspection_days_since_last"].notna().to_numpy()
    return X[known], y[known]


def window_outcomes(tables: cr.EventTables, X: pd.DataFrame) -> pd.DataFrame:
    """Per restaurant of X: its first routine inspection in the test year and results."""
    start = pd.Timestamp(TEST)
    end = start + pd.Timedelta(days=365)
    ins = tables.inspections
    routine = ins[(ins["kind"] == "routine") & (ins["inspected_on"] >= start)]
    routine = routine[routine["inspected_on"] < end]
    per = routine.groupby("entity_id").agg(
        first=("inspected_on", "min"),
        c_band=("score", lambda s: bool((s >= 28).any())),
        critical=("critical_violations", lambda s: bool((s > 0).any())),
    )
    return per.reindex(X["entity_id"].to_numpy())


def reach(order_score: np.ndarray, positive: np.ndarray) -> float:
    """Share of positives among the first half of the visits, visiting by score."""
    half = len(order_score) // 2
    first = np.argsort(-order_score, kind="stable")[:half]
    return float(positive[first].sum() / positive.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the register's directory")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    register = cr.data.Register.read(MAPPING)
    tables = cr.EventTables.read(args.data, register=register).validate()
    print(f"read and validated the register in {time.perf_counter() - t0:.1f} s: {tables}")
    invented = 0  # every column comes from the register; the lines below list the rest
    print(f"columns the mapping had to invent: {invented}")
    for line in register.filled_columns():
        print(f"  filled by declaration (not invented): {line}")
    print("  made (no id in the register): inspections.inspection_id from restaurant + date")
    absent = [f"enterprises.{c}" for c in ("registered_on", "entity_type", "key_sector")] + [
        "inspections.inspector_1/2"
    ]
    print(f"  left missing (the register lacks them): {', '.join(absent)}")

    t0 = time.perf_counter()
    # training: every restaurant at each date (on the first, 2013-01-05, none has a known
    # inspection yet: those rows teach what context alone says, and give the out-of-time
    # fold its training date); test: the restaurants the regulator knew on the test date
    parts = [population(tables, d, known_only=False) for d in TRAIN]
    X_train = pd.concat([p[0] for p in parts], ignore_index=True)
    y_train = pd.concat([p[1] for p in parts], ignore_index=True)
    y_train.attrs = parts[0][1].attrs
    X_test, y_test = population(tables, TEST)
    X_train.attrs = parts[0][0].attrs
    names = [c for c in X_test.columns if c not in ("entity_id", "as_of")]
    print(
        f"features and labels in {time.perf_counter() - t0:.1f} s: {len(names)} features; "
        f"train {int(y_train.notna().sum()):,} labelled rows ({np.nanmean(y_train):.1%} "
        f"positive), test {int(y_test.notna().sum()):,} ({np.nanmean(y_test):.1%})"
    )

    labelled = y_test.notna().to_numpy()
    target = y_test.to_numpy()[labelled]
    scores: dict[str, np.ndarray] = {}
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    model = cr.RiskModel(num_threads=THREADS).fit(X_train, y_train)
    scores["creditrisk RiskModel"] = model.predict_proba(X_test)[:, 1]
    timings["creditrisk RiskModel"] = time.perf_counter() - t0

    fill = float(np.nanmean(X_train["routine_score_last"]))
    scores["previous routine score alone"] = X_test["routine_score_last"].fillna(fill).to_numpy()
    timings["previous routine score alone"] = 0.0

    t0 = time.perf_counter()
    known = y_train.notna().to_numpy()
    logistic = make_pipeline(
        FunctionTransformer(np.log1p), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    logistic.fit(X_train.loc[known, COUNTS].to_numpy(float), y_train[known])
    scores["logistic regression on history counts"] = logistic.predict_proba(
        X_test[COUNTS].to_numpy(float)
    )[:, 1]
    timings["logistic regression on history counts"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plain = lgb.LGBMClassifier(num_threads=THREADS, verbose=-1, random_state=0)
    plain.fit(X_train.loc[known, names], y_train[known])
    scores["plain LightGBM, same features"] = plain.predict_proba(X_test[names])[:, 1]
    timings["plain LightGBM, same features"] = time.perf_counter() - t0

    outcomes = window_outcomes(tables, X_test)
    visited = outcomes["first"].notna().to_numpy()
    c_band = outcomes["c_band"].fillna(False).to_numpy(bool)[visited]
    critical = outcomes["critical"].fillna(False).to_numpy(bool)[visited]
    actual_order = -outcomes["first"].to_numpy()[visited].astype("datetime64[D]").astype(float)
    rows = []
    for name, score in scores.items():
        rows.append(
            {
                "model": name,
                "AUC": roc_auc_score(target, score[labelled]),
                "average precision": average_precision_score(target, score[labelled]),
                "C-band reached in first half": reach(score[visited], c_band),
                "critical reached in first half": reach(score[visited], critical),
                "fit seconds": timings[name],
            }
        )
    rows.append(
        {
            "model": "actual 2015 schedule (reference)",
            "AUC": np.nan,
            "average precision": np.nan,
            "C-band reached in first half": reach(actual_order, c_band),
            "critical reached in first half": reach(actual_order, critical),
            "fit seconds": np.nan,
        }
    )
    table = pd.DataFrame(rows).set_index("model")
    print(
        f"\nTest: routine inspections of {TEST[:4]}, {int(labelled.sum()):,} labelled "
        f"restaurants, {target.mean():.1%} with a 28+ score; {int(visited.sum()):,} visited, "
        f"{c_band.mean():.1%} C band, {critical.mean():.1%} with a critical violation"
    )
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    ours = table.loc["creditrisk RiskModel", "AUC"]
    for name in scores:
        if name != "creditrisk RiskModel":
            theirs = table.loc[name, "AUC"]
            verdict = "beats" if ours > theirs else "does NOT beat"
            print(f"creditrisk {verdict} {name} on AUC ({ours:.3f} vs {theirs:.3f})")
    top = model.importance(X_test).head(5).index.tolist()
    print(f"creditrisk's five largest mean |SHAP| features: {', '.join(top)}")


if __name__ == "__main__":
    main()
