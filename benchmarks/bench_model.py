"""Quality of the risk model (creditrisk.RiskModel) against the synthetic world's truth.

Data: a synthetic world of 200,000 enterprises (2018-01-01 .. 2025-12-31, seed 11).
Training as-of dates every 6 months (1 January / 1 July) from 2019-07-01 to 2022-07-01
(the model trains on the earlier ones, stops early on 2022-01-01 and calibrates on
2022-07-01); test as-of dates 2023-07-01 and 2024-07-01, each reported on its own.
Features are ``creditrisk.build_features``, labels ``creditrisk.build_labels``
(``inspection_finding``, 365 days: did a random inspection in the next 12 months find
issues; NaN when the entity was not inspected at random).

Figures per test date: trees, test AUC, oracle AUC (the labels ranked by the world's
true probability, ``world.truth.probability(as_of)``, on the same labelled rows), the
ratio model / oracle (issue 4's target: at least 0.97), average precision, Brier score
beside the Brier score of the test slice's own base rate (a constant prediction), a
reliability table (10 bins of equal count) and the policy tiers with their observed
finding rates (do they rise strictly A < B < C < D?).

Capacity: the same data, fitted with deeper / faster trees, with the explanation speed
of each (``model.contributions`` on 200,000 test rows right after the fit, so the
pattern cache is cold; then again, warm).

Usage::

    .venv/bin/python benchmarks/bench_model.py             # full run (about 3 minutes)
    .venv/bin/python benchmarks/bench_model.py --quick     # 50,000 enterprises, defaults only
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from _report import markdown, peak_rss, source_commit
from sklearn.metrics import roc_auc_score

START, END = "2018-01-01", "2025-12-31"
TRAIN = [str(d.date()) for d in pd.date_range("2019-07-01", "2022-07-01", freq="6MS")]
TESTS = ("2023-07-01", "2024-07-01")
TARGET_RATIO = 0.97
EXPLAIN_ROWS = 200_000
GIB = 2**30

#: (name, RiskModel parameters beyond num_threads)
VARIANTS = [
    ("defaults", {}),
    ("depth 3, lr 0.1, cap 300", {"learning_rate": 0.1, "n_estimators": 300}),
    ("depth 3, lr 0.05, cap 1000", {"learning_rate": 0.05, "n_estimators": 1000}),
    ("depth 4, 15 leaves", {"max_depth": 4, "num_leaves": 15}),
    ("depth 5, 31 leaves", {"max_depth": 5, "num_leaves": 31}),
    ("depth unconstrained, 15 leaves", {"max_depth": -1, "num_leaves": 15}),
]


def _params(model) -> str:
    p = model.get_params()
    return (
        f"max_depth {p['max_depth']}, num_leaves {p['num_leaves']}, learning_rate "
        f"{p['learning_rate']:g}, n_estimators {p['n_estimators']} with early stopping after "
        f"{p['early_stopping_rounds']} rounds, min_child_samples {p['min_child_samples']}, "
        f"subsample {p['subsample']:g}, colsample_bytree {p['colsample_bytree']:g}, "
        f"reg_lambda {p['reg_lambda']:g}, monotone {p['monotone']}, calibration "
        f"{p['calibration']}"
    )


def explain_speed(model, X_rows: pd.DataFrame) -> dict:
    """rows/s of model.contributions, cold (first call after the fit) then warm."""
    if getattr(model, "_explainer", None) is not None:
        raise RuntimeError("the explanation cache is not cold")
    out = {}
    try:
        for run in ("cold", "warm"):
            t0 = time.perf_counter()
            model.contributions(X_rows)
            out[run] = len(X_rows) / (time.perf_counter() - t0)
        patterns = model._explainer.patterns
        out["patterns_mean"], out["patterns_max"] = float(patterns.mean()), int(patterns.max())
    except ValueError as error:  # TreeContributions refuses trees with too many patterns
        out["error"] = str(error)
    return out


def evaluate(cr, model, tests: dict) -> dict:
    """Per test date: AUC, its ratio to the oracle, average precision, Brier."""
    out = {}
    for as_of, (X_test, y_test, oracle) in tests.items():
        m = cr.evaluation.metrics(y_test, model.predict_proba(X_test)[:, 1])
        m["oracle_auc"] = oracle
        m["ratio"] = m["auc"] / oracle
        m["base_brier"] = m["finding_rate"] * (1 - m["finding_rate"])
        out[as_of] = m
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="50,000 enterprises, defaults only")
    args = parser.parse_args()
    if args.quick:
        args.n = 50_000
    variants = VARIANTS[:1] if args.quick else VARIANTS

    started = time.perf_counter()
    import lightgbm as lgb

    import creditrisk as cr

    print(
        f"# bench_model  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{os.cpu_count()} cores  Python {platform.python_version()}  "
        f"pandas {pd.__version__}  numpy {np.__version__}  lightgbm {lgb.__version__}  "
        f"creditrisk {cr.__version__} ({source_commit()})"
    )

    # data ---------------------------------------------------------------------------------
    t0 = time.perf_counter()
    world = cr.synth.generate(args.n, START, END, seed=args.seed)
    tables = world.tables
    t1 = time.perf_counter()
    spine = cr.spine(tables, TRAIN)
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine, outcome="inspection_finding", horizon="365D")
    tests, test_frames = {}, []
    for as_of in TESTS:
        s = cr.spine(tables, as_of)
        X_test = cr.build_features(tables, s)
        y_test = cr.build_labels(tables, s, outcome="inspection_finding", horizon="365D")
        labelled = y_test.notna().to_numpy()
        truth = world.truth.probability(as_of).reindex(X_test.loc[labelled, "entity_id"])
        if truth.isna().any():
            raise RuntimeError(f"{int(truth.isna().sum())} labelled rows have no true probability")
        oracle = float(roc_auc_score(y_test[labelled], truth.to_numpy()))
        tests[as_of] = (X_test, y_test, oracle)
        test_frames.append(X_test)
    t2 = time.perf_counter()
    rows = pd.concat(test_frames, ignore_index=True).head(EXPLAIN_ROWS)
    print(
        f"\nworld {args.n:,} enterprises (seed {args.seed}) in {t1 - t0:.1f} s; features and "
        f"labels in {t2 - t1:.1f} s: training {len(X):,} rows ({int(y.notna().sum()):,} "
        f"labelled) over {len(TRAIN)} dates {TRAIN[0]} .. {TRAIN[-1]}; "
        + "; ".join(
            f"test {d}: {len(Xt):,} rows, {int(yt.notna().sum()):,} labelled, "
            f"finding rate {np.nanmean(yt):.3f}"
            for d, (Xt, yt, _) in tests.items()
        )
    )
    print(
        f"explanation speed on {len(rows):,} test rows "
        f"({', '.join(f'{d}: {int((rows.as_of == d).sum()):,}' for d in TESTS)})"
    )

    # the variants (the first is the defaults) ----------------------------------------------
    fitted = []
    for name, params in variants:
        t0 = time.perf_counter()
        model = cr.RiskModel(num_threads=2, **params).fit(X, y)
        seconds = time.perf_counter() - t0
        speed = explain_speed(model, rows)
        quality = evaluate(cr, model, tests)
        fitted.append((name, params, model, seconds, speed, quality))
        print(
            f"  {name}: {model.n_trees_} trees, fit {seconds:.1f} s, "
            + ", ".join(f"AUC {d} {q['auc']:.4f}" for d, q in quality.items())
            + (
                f", contributions {speed['cold']:,.0f} rows/s cold, {speed['warm']:,.0f} warm"
                if "cold" in speed
                else f", contributions failed: {speed['error']}"
            )
        )
    name, params, model, fit_seconds, speed, quality = fitted[0]

    md = [
        f"`.venv/bin/python benchmarks/bench_model.py` on {time.strftime('%Y-%m-%d')}, "
        f'machine "{platform.node()}" ({os.cpu_count()} cores), {source_commit()}. '
        f"A synthetic world of {args.n:,} enterprises "
        f"({START} .. {END}, seed {args.seed}); training as-of dates every 6 months {TRAIN[0]} .. "
        f"{TRAIN[-1]} ({len(X):,} rows, {int(y.notna().sum()):,} labelled by a random "
        f"inspection): trained on {', '.join(model.slices_['train'])} "
        f"({model.slices_['train_rows']:,} labelled), early stopping on "
        f"{model.slices_['stop']} ({model.slices_['stop_rows']:,}), calibration on "
        f"{model.slices_['calibration']} ({model.slices_['calibration_rows']:,}). "
        f"`RiskModel(num_threads=2)` with its defaults ({_params(model)}). Label: "
        "`inspection_finding`, 365 days. The oracle ranks the same labelled test rows by "
        "`world.truth.probability(as_of)`.",
        "",
        "### Test metrics, default model",
        "",
    ]
    table = pd.DataFrame(
        [
            ("trees", *[f"{model.n_trees_}" for _ in TESTS], ""),
            ("labelled test rows", *[f"{quality[d]['n']:,}" for d in TESTS], ""),
            ("test AUC", *[f"{quality[d]['auc']:.4f}" for d in TESTS], ""),
            ("oracle AUC", *[f"{quality[d]['oracle_auc']:.4f}" for d in TESTS], ""),
            (
                "ratio model / oracle",
                *[
                    f"{quality[d]['ratio']:.4f} "
                    f"({'met' if quality[d]['ratio'] >= TARGET_RATIO else 'missed'})"
                    for d in TESTS
                ],
                f">= {TARGET_RATIO}",
            ),
            ("average precision", *[f"{quality[d]['average_precision']:.4f}" for d in TESTS], ""),
            ("Brier score", *[f"{quality[d]['brier']:.4f}" for d in TESTS], ""),
            (
                "Brier of the base rate (constant prediction)",
                *[f"{quality[d]['base_brier']:.4f}" for d in TESTS],
                "",
            ),
            (
                "Brier skill score (1 - Brier / base)",
                *[f"{1 - quality[d]['brier'] / quality[d]['base_brier']:.3f}" for d in TESTS],
                "",
            ),
            ("finding rate", *[f"{quality[d]['finding_rate']:.4f}" for d in TESTS], ""),
            (
                "mean predicted probability",
                *[f"{quality[d]['mean_probability']:.4f}" for d in TESTS],
                "",
            ),
        ],
        columns=["measure", *[f"test {d}" for d in TESTS], "target (issue 4)"],
    )
    md += [markdown(table), ""]
    v = model.validation_
    md += [
        f"Validation inside the fit: AUC {v['stop_auc']:.4f} on the early-stopping date, "
        f"{v['calibration_auc']:.4f} on the calibration date; calibration slope "
        f"{model.calibration_['slope']:.3f}, intercept {model.calibration_['intercept']:.3f}; "
        f"fit {fit_seconds:.1f} s.",
        "",
    ]

    for as_of in TESTS:
        X_test, y_test, _ = tests[as_of]
        p = model.predict_proba(X_test)[:, 1]
        rel = cr.evaluation.reliability_table(y_test, p, bins=10).reset_index()
        rel["rows"] = rel["rows"].map("{:,}".format)
        for c in ("mean_probability", "finding_rate", "low", "high"):
            rel[c] = rel[c].map("{:.3f}".format)
        rel["gap"] = (
            (rel["finding_rate"].astype(float) - rel["mean_probability"].astype(float))
            .map("{:+.3f}".format)
            .to_numpy()
        )
        md += [f"### Reliability, test {as_of} (10 bins of equal count)", "", markdown(rel), ""]

    for as_of in TESTS:
        X_test, y_test, _ = tests[as_of]
        tiers = cr.evaluation.tier_table(model.classify(X_test, top_k=0), y_test)
        rates = tiers["finding_rate"].to_numpy()
        rising = bool(np.all(np.diff(rates) > 0))
        shown = tiers.reset_index()
        shown["entities"] = shown["entities"].map("{:,}".format)
        shown["share"] = shown["share"].map("{:.1%}".format)
        shown["mean_probability"] = shown["mean_probability"].map("{:.3f}".format)
        shown["labelled"] = shown["labelled"].map("{:,}".format)
        shown["finding_rate"] = shown["finding_rate"].map("{:.3f}".format)
        md += [
            f"### Tiers, test {as_of} (policy national, after overrides)",
            "",
            markdown(shown),
            "",
            f"Observed finding rates rise strictly A < B < C < D: "
            f"**{'yes' if rising else 'no'}** (" + " < ".join(f"{r:.3f}" for r in rates) + ").",
            "",
        ]

    if len(fitted) > 1:
        capacity = []
        for name, _, m, seconds, sp, q in fitted:
            capacity.append(
                (
                    name,
                    str(m.max_depth),
                    str(m.num_leaves),
                    f"{m.learning_rate:g}",
                    str(m.n_estimators),
                    str(m.n_trees_)
                    + (" (cap)" if m.n_trees_ > m.n_estimators - m.early_stopping_rounds else ""),
                    *[f"{q[d]['auc']:.4f}" for d in TESTS],
                    *[f"{q[d]['ratio']:.4f}" for d in TESTS],
                    f"{sp['cold']:,.0f}" if "cold" in sp else "refused",
                    f"{sp['warm']:,.0f}" if "warm" in sp else "",
                    f"{sp['patterns_mean']:,.0f} / {sp['patterns_max']:,}" if "cold" in sp else "",
                    f"{seconds:.1f} s",
                )
            )
        md += [
            "### Capacity: the same data, other tree shapes",
            "",
            f"Explanation speed: `model.contributions(X)` on {len(rows):,} test rows (both "
            f"test dates), first call right after the fit (cold pattern cache), then a "
            "second call (warm). Patterns: distinct patterns computed per tree (mean / max). "
            "Trees used marked (cap): the boosting reached n_estimators before "
            "early stopping could end it (the best round came within the last "
            "early_stopping_rounds).",
            "",
            markdown(
                pd.DataFrame(
                    capacity,
                    columns=[
                        "variant",
                        "max_depth",
                        "num_leaves",
                        "learning_rate",
                        "n_estimators cap",
                        "trees used",
                        *[f"AUC {d}" for d in TESTS],
                        *[f"ratio {d}" for d in TESTS],
                        "explain rows/s (cold)",
                        "explain rows/s (warm)",
                        "patterns / tree",
                        "fit",
                    ],
                )
            ),
            "",
        ]
        for name, _, _, _, sp, _ in fitted:
            if "error" in sp:
                md += [f"{name}: TreeContributions refused the model: {sp['error']}", ""]

    md += [
        f"Peak RSS {peak_rss() / GIB:.2f} GiB; script wall time "
        f"{time.perf_counter() - started:.0f} s.",
    ]
    print("\n## Risk model quality (issue 4)\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
