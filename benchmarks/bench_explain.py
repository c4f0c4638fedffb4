"""Speed and exactness of reasons (SHAP contributions) for 1,000,000 scored enterprises.

Data: a synthetic world of 340,000 enterprises (2018-01-01 .. 2025-12-31, seed 11),
big enough that its spines at five as-of dates (2021-07-01, 2022-01-01, 2022-07-01,
2023-01-01, 2023-07-01) stack to more than 1,000,000 feature rows; the first 1,000,000
(in spine order: as_of, then enterprise) are scored. The model is
``RiskModel(num_threads=2)`` with its defaults, fitted on earlier dates (every 6 months
2019-01-01 .. 2021-01-01: trained on the first three, early stopping on 2020-07-01,
calibration on 2021-01-01).

Measured in one run:

(a) ``model.classify(X)`` on the 1,000,000 rows, in full (probability, tier with
    overrides, top-3 reasons with feature, value, contribution and sentence), first
    right after the fit (cold pattern cache), then again (warm). The time is split by
    wrapping, for the call only, the steps ``score`` calls: building the matrix
    (``_matrix``), the contributions (``_contributions``: TreeContributions), tiers
    (``assign_tiers``), top-k (``top_reasons``), the reason columns with their sentences
    (``_reason_columns``) and the rest (calibration, DataFrame assembly). Peak RSS is
    read for the scoring alone (high-water mark reset before it) and for the process.
(b) ``shap.TreeExplainer(model.booster_).shap_values(M)`` on 20,000 of those rows
    (drawn at random, seed 0; ``M = model._matrix(X)``), extrapolated to 1,000,000.
(c) LightGBM's ``booster.predict(M, pred_contrib=True, num_threads=2)`` on the same rows.
    (b), (c) and ``model.contributions`` on a freshly loaded model (cold cache) on the
    subset: best of 3 runs each.
(d) Exactness on those rows: max |difference| between ``model.contributions`` and
    shap's values (and LightGBM's), and whether the top-3 reason features
    (``creditrisk.model.contributions.top_reasons`` on shap's values) agree with the features the
    score named (``reason_i_feature``) on every row.

Usage::

    .venv/bin/python benchmarks/bench_explain.py            # full run (about 3 minutes)
    .venv/bin/python benchmarks/bench_explain.py --quick    # 100,000 rows
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from _report import markdown, peak_rss, reset_peak_rss, rss, source_commit

START, END = "2018-01-01", "2025-12-31"
TRAIN = ("2019-01-01", "2019-07-01", "2020-01-01", "2020-07-01", "2021-01-01")
SCORE = ("2021-07-01", "2022-01-01", "2022-07-01", "2023-01-01", "2023-07-01")
TARGET_RATE = 50_000  # enterprises per second, issue 4, 2 cores
REPEATS = 3  # best of, for the subset timings
GIB = 2**30


class Split:
    """Wall time of the steps score() calls, by wrapping them for one call."""

    STEPS = (
        ("matrix", "instance", "_matrix"),
        ("contributions", "instance", "_contributions"),
        ("tiers", "module", "assign_tiers"),
        ("top-k", "module", "top_reasons"),
        ("reason columns + sentences", "instance", "_reason_columns"),
    )

    def __init__(self, model, module):
        self.model, self.module = model, module
        self.seconds: dict[str, float] = defaultdict(float)
        self.hooked: list[str] = []

    def _wrap(self, label, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0

        return timed

    def __enter__(self):
        self._undo = []
        for label, where, name in self.STEPS:
            owner = self.model if where == "instance" else self.module
            if not hasattr(owner, name):
                continue  # score() no longer calls it: its time lands in "the rest"
            if where == "instance":
                setattr(owner, name, self._wrap(label, getattr(owner, name)))
                self._undo.append(lambda o=owner, n=name: delattr(o, n))
            else:
                original = getattr(owner, name)
                setattr(owner, name, self._wrap(label, original))
                self._undo.append(lambda o=owner, n=name, f=original: setattr(o, n, f))
            self.hooked.append(label)
        return self

    def __exit__(self, *exc):
        for undo in self._undo:
            undo()


def timed_score(model, X, module) -> tuple[pd.DataFrame, float, dict, int]:
    reset = reset_peak_rss()
    before = rss()
    with Split(model, module) as split:
        t0 = time.perf_counter()
        scores = model.classify(X)
        total = time.perf_counter() - t0
    parts = dict(split.seconds)
    parts["the rest (calibration, DataFrame assembly)"] = total - sum(parts.values())
    peak = peak_rss() if reset else 0
    return scores, total, parts, peak - before if peak else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=340_000, help="enterprises in the world")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to score")
    parser.add_argument("--subset", type=int, default=20_000, help="rows for shap")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 5,000 for shap")
    args = parser.parse_args()
    if args.quick:
        args.n, args.rows, args.subset = 40_000, 100_000, 5_000

    started = time.perf_counter()
    import lightgbm as lgb
    import shap

    import creditrisk as cr
    import creditrisk.model.estimator as cr_model
    from creditrisk.model.contributions import TreeContributions, top_reasons

    print(
        f"# bench_explain  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{os.cpu_count()} cores  Python {platform.python_version()}  "
        f"pandas {pd.__version__}  numpy {np.__version__}  lightgbm {lgb.__version__}  "
        f"shap {shap.__version__}  creditrisk {cr.__version__} ({source_commit()})"
    )

    # data and model ----------------------------------------------------------------------
    t0 = time.perf_counter()
    world = cr.synth.generate(args.n, START, END, seed=args.seed)
    tables = world.tables
    del world
    t1 = time.perf_counter()
    spine = cr.spine(tables, list(TRAIN))
    X_train = cr.build_features(tables, spine)
    y_train = cr.build_labels(tables, spine, outcome="inspection_finding", horizon="365D")
    t2 = time.perf_counter()
    model = cr.RiskModel(num_threads=2).fit(X_train, y_train)
    t3 = time.perf_counter()
    labelled = int(y_train.notna().sum())
    del X_train, y_train, spine
    spine = cr.spine(tables, list(SCORE))
    X_all = cr.build_features(tables, spine)
    t4 = time.perf_counter()
    if len(X_all) < args.rows:
        raise SystemExit(f"only {len(X_all):,} feature rows; raise --n")
    X = X_all.head(args.rows).reset_index(drop=True)
    per_date = X["as_of"].dt.strftime("%Y-%m-%d").value_counts().sort_index()
    del X_all, spine, tables
    print(
        f"\nworld {args.n:,} enterprises (seed {args.seed}) {t1 - t0:.1f} s; training "
        f"features {t2 - t1:.1f} s; fit {t3 - t2:.1f} s ({model.n_trees_} trees, "
        f"{labelled:,} labelled rows, slices {model.slices_}); scoring features "
        f"{t4 - t3:.1f} s"
    )
    print(
        f"scored rows: {len(X):,} x {model.n_features_in_} features ("
        + ", ".join(f"{d}: {c:,}" for d, c in per_date.items())
        + ")"
    )
    rss_before = rss()

    # (a) score, cold then warm ---------------------------------------------------------------
    t0 = time.perf_counter()
    engine = TreeContributions(model.booster_, num_threads=2)
    engine_seconds = time.perf_counter() - t0
    possible = np.array([tree.size for tree in engine._trees])
    del engine
    runs = {}
    for run in ("cold", "warm"):
        scores, total, parts, peak = timed_score(model, X, cr_model)
        runs[run] = (total, parts, peak)
        print(
            f"(a) score {run}: {total:.2f} s, {len(X) / total:,.0f} rows/s; "
            + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
            + f"; peak RSS over the start of the call +{peak / GIB:.2f} GiB"
        )
        if run == "cold":
            patterns = model._explainer.patterns
            rng = np.random.default_rng(0)
            subset = np.sort(rng.choice(len(X), size=args.subset, replace=False))
            named = scores.iloc[subset][
                [f"reason_{i}_feature" for i in range(1, model.top_k + 1)]
            ].reset_index(drop=True)
            example = scores.iloc[subset[0]]
        del scores
    peak_process = peak_rss()
    print(
        f"patterns per tree: mean {patterns.mean():.1f}, max {patterns.max():,} "
        f"(possible: mean {possible.mean():,.0f}, max {possible.max():,}); engine build "
        f"{engine_seconds:.2f} s"
    )

    # (b) shap, (c) LightGBM pred_contrib, (d) exactness on a subset ------------------------
    X_sub = X.iloc[subset]
    M = model._matrix(X_sub)
    ours = model.contributions(X_sub).to_numpy()  # warm cache: the same numbers as cold
    with tempfile.TemporaryDirectory(prefix="bench_explain_") as tmp:
        saved = model.save(Path(tmp) / "model")
        cold_times = []
        for _ in range(REPEATS):
            fresh = cr.RiskModel.load(saved)  # a fresh model: an empty pattern cache
            t0 = time.perf_counter()
            ours_cold = fresh.contributions(X_sub).to_numpy()
            cold_times.append(time.perf_counter() - t0)
    ours_cold_seconds = min(cold_times)
    shap_times, ctor_times = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            explainer = shap.TreeExplainer(model.booster_)
            t1 = time.perf_counter()
            shap_values = explainer.shap_values(M)
            t2 = time.perf_counter()
            ctor_times.append(t1 - t0)
            shap_times.append(t2 - t1)
    shap_notes = sorted({str(w.message).splitlines()[0][:160] for w in caught})
    if isinstance(shap_values, list):  # older shap: one array per class
        shap_values = shap_values[-1]
    shap_values = np.asarray(shap_values)
    shap_seconds, shap_ctor = min(shap_times), min(ctor_times)
    lgb_times = {2: [], 1: []}
    for threads in (2, 1):
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            values = model.booster_.predict(M, pred_contrib=True, num_threads=threads)
            lgb_times[threads].append(time.perf_counter() - t0)
            if threads == 2:
                lgb_values = values
    lgb_seconds, lgb_seconds_1 = min(lgb_times[2]), min(lgb_times[1])

    diff_shap = float(np.abs(ours[:, :-1] - shap_values).max())
    diff_lgb = float(np.abs(ours - lgb_values).max())
    diff_cold = float(np.abs(ours - ours_cold).max())
    base_diff = float(abs(ours[0, -1] - np.ravel(explainer.expected_value)[-1]))
    positions, _ = top_reasons(shap_values, model.top_k)
    names = np.asarray(model.feature_names_in_, dtype=object)
    theirs = np.where(positions >= 0, names[np.maximum(positions, 0)], None)
    mine = named.astype(object).where(named.notna(), None).to_numpy()
    row_mismatch = ~np.all(mine == theirs, axis=1)
    slot_mismatch = int((mine != theirs).sum())
    first_bad = ""
    if row_mismatch.any():
        i = int(np.flatnonzero(row_mismatch)[0])
        first_bad = f"row {subset[i]}: score {list(mine[i])} vs shap {list(theirs[i])}"

    # report -------------------------------------------------------------------------------
    cold_total, cold_parts, cold_peak = runs["cold"]
    warm_total, warm_parts, warm_peak = runs["warm"]
    rate_cold, rate_warm = len(X) / cold_total, len(X) / warm_total
    shap_rate, lgb_rate = args.subset / shap_seconds, args.subset / lgb_seconds
    ours_contrib_rate = len(X) / cold_parts["contributions"]
    print(
        f"(b) shap: TreeExplainer {shap_ctor:.3f} s, shap_values {shap_seconds:.2f} s on "
        f"{args.subset:,} rows = {shap_rate:,.0f} rows/s, 1M extrapolated "
        f"{1e6 / shap_rate:.0f} s; notes: {shap_notes or 'none'}"
    )
    print(
        "subset runs (s): ours cold "
        + ", ".join(f"{v:.3f}" for v in cold_times)
        + "; shap "
        + ", ".join(f"{v:.3f}" for v in shap_times)
        + "; lightgbm 2 threads "
        + ", ".join(f"{v:.3f}" for v in lgb_times[2])
        + "; 1 thread "
        + ", ".join(f"{v:.3f}" for v in lgb_times[1])
    )
    print(
        f"(c) LightGBM pred_contrib: {lgb_seconds:.2f} s (2 threads) = {lgb_rate:,.0f} rows/s;"
        f" 1 thread {lgb_seconds_1:.2f} s"
    )
    print(
        f"(d) max |ours - shap| {diff_shap:.3g}, |ours - lightgbm| {diff_lgb:.3g}, |warm - "
        f"cold| {diff_cold:.3g}; base value diff {base_diff:.3g}; top-{model.top_k} mismatches:"
        f" {int(row_mismatch.sum())} rows, {slot_mismatch} slots {first_bad}"
    )

    md = [
        f"`.venv/bin/python benchmarks/bench_explain.py` on {time.strftime('%Y-%m-%d')}, "
        f'machine "{platform.node()}" ({os.cpu_count()} cores), {source_commit()}; '
        f"shap {shap.__version__}, LightGBM "
        f"{lgb.__version__}. A synthetic world of {args.n:,} enterprises ({START} .. {END}, "
        f"seed {args.seed}); the first {len(X):,} rows of its spines at "
        f"{', '.join(per_date.index)} ("
        + ", ".join(f"{c:,}" for c in per_date.to_numpy())
        + f" rows) x {model.n_features_in_} features. Model: `RiskModel(num_threads=2)`, "
        f"defaults, fitted on {', '.join(TRAIN)} ({labelled:,} labelled rows): "
        f"{model.n_trees_} trees of depth <= {model.max_depth}. Times are wall clock; "
        f"the {len(X):,}-row scoring runs once cold and once warm.",
        "",
        f"### Scoring {len(X):,} enterprises: `model.classify(X)` with top-{model.top_k} reasons",
        "",
        markdown(
            pd.DataFrame(
                [
                    (
                        "wall time",
                        f"{cold_total:.2f} s",
                        f"{warm_total:.2f} s",
                        f"< {len(X) / TARGET_RATE:.0f} s",
                    ),
                    (
                        "enterprises per second",
                        f"{rate_cold:,.0f}",
                        f"{rate_warm:,.0f}",
                        f">= {TARGET_RATE:,} "
                        f"({'met' if min(rate_cold, rate_warm) >= TARGET_RATE else 'missed'}, "
                        f"{rate_cold / TARGET_RATE:.1f}x)",
                    ),
                    *[
                        (
                            f"of which {k}",
                            f"{v:.2f} s ({v / cold_total:.0%})",
                            f"{warm_parts[k]:.2f} s ({warm_parts[k] / warm_total:.0%})",
                            "",
                        )
                        for k, v in cold_parts.items()
                    ],
                    (
                        "peak RSS during the call, above its start",
                        f"{cold_peak / GIB:.2f} GiB",
                        f"{warm_peak / GIB:.2f} GiB",
                        "",
                    ),
                ],
                columns=[
                    "measure",
                    "first call (cold pattern cache)",
                    "second call (warm)",
                    "target (issue 4)",
                ],
            )
        ),
        "",
        f"RSS before scoring {rss_before / GIB:.2f} GiB (tables dropped, features and "
        f"model held); peak RSS of the process {peak_process / GIB:.2f} GiB (the world's "
        f"generation included). Distinct patterns per tree after the {len(X):,} rows: mean "
        f"{patterns.mean():.1f}, max {patterns.max():,} (possible patterns per tree: mean "
        f"{possible.mean():,.0f}, max {possible.max():,}); building the TreeContributions "
        f"engine from the booster takes {engine_seconds:.2f} s (inside the cold "
        "contributions). Contributions alone, cold: "
        f"{ours_contrib_rate:,.0f} rows/s.",
        "",
        f"An example row ({example['entity_id']}, {str(example['as_of'])[:10]}): "
        f"probability {example['probability']:.3f}, tier {example['tier']}; reason 1: "
        f"{example['reason_1']!r} ({example['reason_1_feature']} = "
        f"{example['reason_1_value']}, {example['reason_1_contribution']:+.3f} log-odds).",
        "",
        f"### The same model, {args.subset:,} of the rows (random, seed 0): shap and LightGBM",
        "",
        f"Subset timings: best of {REPEATS}. Per 1M rows: extrapolated from the subset. "
        "Speed-ups: how many times faster than the method on that row our side is "
        "(rows/s over rows/s).",
        "",
        markdown(
            pd.DataFrame(
                [
                    (
                        f"`model.classify(X)`, all of it, {len(X):,} rows, cold",
                        f"{cold_total:.2f} s",
                        f"{rate_cold:,.0f}",
                        f"{1e6 / rate_cold:.1f} s",
                        "",
                        "",
                    ),
                    (
                        f"its contributions step alone, {len(X):,} rows, cold",
                        f"{cold_parts['contributions']:.2f} s",
                        f"{ours_contrib_rate:,.0f}",
                        f"{1e6 / ours_contrib_rate:.1f} s",
                        "",
                        "",
                    ),
                    (
                        "`model.contributions(X)` on the subset, fresh model (cold cache)",
                        f"{ours_cold_seconds:.3f} s",
                        f"{args.subset / ours_cold_seconds:,.0f}",
                        f"{1e6 * ours_cold_seconds / args.subset:.1f} s",
                        "",
                        "",
                    ),
                    *[
                        (
                            label,
                            f"{seconds:.3f} s" + extra,
                            f"{args.subset / seconds:,.0f}",
                            f"{1e6 * seconds / args.subset:.1f} s",
                            f"{rate_cold * seconds / args.subset:.1f}x",
                            f"{ours_contrib_rate * seconds / args.subset:.1f}x",
                        )
                        for label, seconds, extra in (
                            (
                                "`shap.TreeExplainer(booster).shap_values(M)`",
                                shap_seconds,
                                f" (+ {shap_ctor:.3f} s explainer)",
                            ),
                            (
                                "`booster.predict(M, pred_contrib=True, num_threads=2)`",
                                lgb_seconds,
                                "",
                            ),
                            ("the same, `num_threads=1`", lgb_seconds_1, ""),
                        )
                    ],
                ],
                columns=[
                    "method",
                    "time",
                    "rows/s",
                    "per 1M rows",
                    "speed-up of model.score (all of it)",
                    "speed-up of the contributions step",
                ],
            )
        ),
        "",
        "shap and LightGBM compute SHAP values only: no probability, tier or sentence. For "
        "a LightGBM model, shap's TreeExplainer (path-dependent, the default) hands the "
        "work to LightGBM's own `predict(X, pred_contrib=True)` with the booster's thread "
        "setting, so the two rows cost the same. "
        + (f"shap warned: {'; '.join(shap_notes)}" if shap_notes else "shap gave no warning."),
        "",
        "### Exactness on the subset",
        "",
        markdown(
            pd.DataFrame(
                [
                    ("max abs(ours - shap), feature contributions", f"{diff_shap:.3g}"),
                    ("max abs(ours - LightGBM pred_contrib), incl. base", f"{diff_lgb:.3g}"),
                    (
                        "max abs(cached after 1M rows - fresh model), same rows",
                        f"{diff_cold:.3g}",
                    ),
                    ("base value: ours - shap expected_value", f"{base_diff:.3g}"),
                    (
                        f"rows whose top-{model.top_k} reason features differ "
                        "(score vs top_reasons on shap)",
                        f"{int(row_mismatch.sum())} of {args.subset:,}"
                        + (f" (first: {first_bad})" if first_bad else ""),
                    ),
                    ("reason slots that differ", f"{slot_mismatch} of {mine.size:,}"),
                ],
                columns=["check", "result"],
            )
        ),
        "",
        f"Script wall time {time.perf_counter() - started:.0f} s.",
    ]
    print("\n## Explanations (issue 4)\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
