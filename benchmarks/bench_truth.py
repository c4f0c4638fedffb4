"""Does the model learn the enterprise's risk, or the inspectors'? Measured against the truth.

On a synthetic world the true probability of a finding is known
(``world.truth.probability(as_of)``), and so are the inspectors' strictness. The
yardstick is the **soft AUC against the truth** (:func:`creditrisk.evaluation.soft_auc`):
the AUC expected if every entity's label were drawn from its true probability, over every
registered entity at the test date, as a ratio to the truth's own soft AUC. Beside it,
always, the AUC on the realized labels (the random inspections of the 12 months after
the test date) and its ratio to the oracle's (the truth ranking the same labelled rows).

Worlds and dates (issue 16):

- ``small``: 40,000 enterprises, seed 5, 2018-2025; ``RiskModel().fit`` on as-of dates
  2021-07-01 and 2022-07-01, tested at 2024-01-01 (target: soft-AUC ratio >= 0.95);
- ``large``: 200,000 enterprises, seed 11, 2018-2025, training dates every 6 months from
  2019-07-01 to 2022-07-01, tested at 2023-07-01 and 2024-07-01 (target >= 0.975).

Side by side, on the same rows: ``RiskModel()`` with its defaults, ``RiskModel`` with
region and the other context features left out, and plain LightGBM
(``LGBMClassifier``, 150 trees, no region) without creditrisk's pipeline. With
``--sample`` it also reports, on the packaged sample scored by the reference model, how
often a context or nuisance feature is reason 1 (target: under 5%) and the finding rate
per tier.

Usage::

    .venv/bin/python benchmarks/bench_truth.py              # small world (about 1 minute)
    .venv/bin/python benchmarks/bench_truth.py --large      # and the 200,000 world
"""

from __future__ import annotations

import argparse
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from _report import machine, source_commit
from sklearn.metrics import roc_auc_score

import creditrisk as cr

START, END = "2018-01-01", "2025-12-31"
WORLDS = {
    "small": {
        "n": 40_000,
        "seed": 5,
        "train": ["2021-07-01", "2022-07-01"],
        "tests": ["2024-01-01"],
        "target": 0.95,
    },
    "large": {
        "n": 200_000,
        "seed": 11,
        "train": [str(d.date()) for d in pd.date_range("2019-07-01", "2022-07-01", freq="6MS")],
        "tests": ["2023-07-01", "2024-07-01"],
        "target": 0.975,
    },
}
THREADS = 2
CONTEXT = ("region", "industry", "entity_type", "key_sector", "age_years", "registered_capital")


def _plain(X: pd.DataFrame, y: pd.Series) -> lgb.LGBMClassifier:
    names = [c for c in X.columns if c not in ("entity_id", "as_of", "region")]
    known = y.notna().to_numpy()
    model = lgb.LGBMClassifier(n_estimators=150, num_threads=THREADS, verbose=-1, random_state=0)
    model.fit(X.loc[known, names], y[known])
    model.names_ = names
    return model


def ceiling(X: pd.DataFrame, truth: np.ndarray):
    """What the features can rank at best: LightGBM fitted to the truth itself.

    A regression of the true log-odds on the training rows' features (every row, not
    only the inspected ones, and the truth instead of noisy labels): no model of the
    labels can rank better than this, so it shows how much of the gap to the truth
    is the features' and how much the labels'.
    """
    names = [c for c in X.columns if c not in ("entity_id", "as_of")]
    p = np.clip(truth, 1e-6, 1 - 1e-6)
    model = lgb.LGBMRegressor(
        n_estimators=400, learning_rate=0.05, num_leaves=15, num_threads=THREADS, verbose=-1
    )
    model.fit(X[names], np.log(p / (1 - p)))
    return lambda T: model.predict(T[names]), model


def models(X: pd.DataFrame, y: pd.Series, who: pd.DataFrame) -> dict:
    """The contenders, fitted on the same training rows: name -> (predict, model, seconds)."""
    out = {}
    t0 = time.perf_counter()
    nuisance = cr.RiskModel(num_threads=THREADS).fit(X, y, nuisance=who)
    out["RiskModel, inspectors as nuisance"] = (
        lambda T: nuisance.predict_proba(T)[:, 1],
        nuisance,
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    no_region = [c for c in X.columns if c != "region"]
    both = who.assign(region=X["region"].astype("str").to_numpy())
    regional = cr.RiskModel(num_threads=THREADS).fit(X[no_region], y, nuisance=both)
    out["RiskModel, inspectors and region as nuisance"] = (
        lambda T: regional.predict_proba(T[no_region])[:, 1],
        regional,
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    default = cr.RiskModel(num_threads=THREADS).fit(X, y)
    out["RiskModel() defaults"] = (lambda T: default.predict_proba(T)[:, 1], default)
    out["RiskModel() defaults"] += (time.perf_counter() - t0,)
    t0 = time.perf_counter()
    keep = [c for c in X.columns if c not in CONTEXT]
    conduct = cr.RiskModel(num_threads=THREADS).fit(X[keep], y)
    out["RiskModel(), conduct features only"] = (
        lambda T: conduct.predict_proba(T[keep])[:, 1],
        conduct,
        time.perf_counter() - t0,
    )
    t0 = time.perf_counter()
    plain = _plain(X, y)
    out["plain LGBMClassifier, 150 trees, no region"] = (
        lambda T: plain.predict_proba(T[plain.names_])[:, 1],
        plain,
        time.perf_counter() - t0,
    )
    return out


def measure(world_name: str) -> pd.DataFrame:
    spec = WORLDS[world_name]
    t0 = time.perf_counter()
    world = cr.synth.generate(spec["n"], START, END, seed=spec["seed"])
    tables = world.tables
    spine = cr.spine(tables, spec["train"])
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine)
    who = cr.features.labels.label_nuisance(tables, spine)
    print(f"{world_name}: world, features and labels in {time.perf_counter() - t0:.0f} s")
    contenders = models(X, y, who)
    truth_train = np.concatenate(
        [
            world.truth.probability(d).reindex(X.loc[X["as_of"] == d, "entity_id"]).to_numpy()
            for d in sorted(X["as_of"].unique())
        ]
    )
    order = np.argsort(X["as_of"].to_numpy(), kind="stable")
    t0 = time.perf_counter()
    fitted = ceiling(X.iloc[order], truth_train)
    contenders["ceiling: LightGBM fitted to the truth itself"] = (*fitted, time.perf_counter() - t0)
    rows = []
    for as_of in spec["tests"]:
        test = cr.spine(tables, as_of)
        X_test = cr.build_features(tables, test)
        y_test = cr.build_labels(tables, test)
        truth = world.truth.probability(as_of).reindex(X_test["entity_id"]).to_numpy()
        best_soft = cr.evaluation.soft_auc(truth, truth)
        labelled = y_test.notna().to_numpy()
        oracle = roc_auc_score(y_test[labelled], truth[labelled])
        for name, (predict, model, seconds) in contenders.items():
            score = predict(X_test)
            realized = roc_auc_score(y_test[labelled], score[labelled])
            soft = cr.evaluation.soft_auc(truth, score)
            rows.append(
                {
                    "world": world_name,
                    "test as_of": as_of,
                    "model": name,
                    "soft AUC ratio": soft / best_soft,
                    "realized AUC ratio": realized / oracle,
                    "soft AUC": soft,
                    "realized AUC": realized,
                    "trees": getattr(model, "n_trees_", getattr(model, "n_estimators", 0)),
                    "fit s": seconds,
                }
            )
        print(
            f"  test {as_of}: truth soft AUC {best_soft:.4f}, oracle AUC on "
            f"{int(labelled.sum()):,} labelled rows {oracle:.4f}"
        )
    return pd.DataFrame(rows)


def sample_reasons() -> pd.DataFrame:
    """On the sample: how often reason 1 is a context feature, and rates per tier."""
    tables = cr.load_sample()
    model = cr.RiskModel.load(cr.sample_model_path())
    as_of = "2025-01-01"
    X = cr.build_features(tables, cr.spine(tables, as_of))
    scores = model.classify(X)
    first = scores["reason_1_feature"].astype(str)
    share = float(first.isin(CONTEXT).mean())
    y = cr.build_labels(tables, cr.spine(tables, as_of))
    table = cr.evaluation.tier_table(scores, y)
    print(f"sample at {as_of}: a context feature is reason 1 for {share:.1%} of entities")
    print(first.value_counts(normalize=True).head(5).to_string())
    print(table.to_string())
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the 200,000 world")
    parser.add_argument("--sample", action="store_true", help="reasons on the sample")
    args = parser.parse_args()
    print(f"machine: {machine()}; source {source_commit()}")
    names = ["small", "large"] if args.large else ["small"]
    result = pd.concat([measure(n) for n in names], ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for name in names:
        target = WORLDS[name]["target"]
        got = result[(result["world"] == name) & (result["model"] == "RiskModel() defaults")]
        print(
            f"{name}: RiskModel() soft-AUC ratio {got['soft AUC ratio'].min():.4f} "
            f"(target >= {target})"
        )
    if args.sample:
        sample_reasons()


if __name__ == "__main__":
    main()
