"""What the indicator tables add to the risk model (issue 18): with and without them.

World: 200,000 enterprises (2018-01-01 .. 2025-12-31, seed 11) generated with
``indicators=True``; the six core tables and the oracle are those of the same world
without them. Out-of-time, as ``bench_model.py`` and ``bench_truth.py``: features and
labels on as-of dates every 6 months from 2019-07-01 to 2022-07-01 (``RiskModel`` trains
on the earlier ones, stops early on 2022-01-01 and calibrates on 2022-07-01), tested at
2023-07-01 and 2024-07-01; nothing is tuned on the test dates.

Three ``RiskModel(num_threads=2)`` fits on the same rows, defaults otherwise:

- ``core``: without the 13 indicator features;
- ``+ own records``: with the 6 own-record features (changes, complaints, external
  lists; ``creditrisk.features.indicators``), without the 7 related-party ones;
- ``+ related parties``: with all 13 (``creditrisk.features.relations`` too).

Per test date and model: the AUC on the realized labels (random inspections of the next
12 months) and its ratio to the oracle's AUC on the same rows (``world.truth``'s
probability), with a paired bootstrap standard error of the gain; the soft AUC against
the truth over every registered enterprise (``cr.evaluation.soft_auc``) as a ratio to the
truth's own; the top-decile capture (the share of findings, realized and expected, in
the model's riskiest tenth, and how much of the truly riskiest tenth it holds); and, by
decile of true risk, the AUC of telling each decile from the deciles below it (the top
decile's: how well the riskiest tenth stands out), for all enterprises and for those
registered less than two years before the test date. Beside them, a LightGBM
regression on the truth itself with each feature set (the ceiling: what the features
can rank at best, without label noise). Then the world's
shares: people per enterprise, enterprises per person, address clusters, changes,
complaints and external listings.

Usage::

    .venv/bin/python benchmarks/bench_relations_auc.py            # 200,000 (26 min, loaded)
    .venv/bin/python benchmarks/bench_relations_auc.py --n 40000  # a quick look
"""

from __future__ import annotations

import argparse
import os
import time

import lightgbm as lgb
import numpy as np
import pandas as pd
from _report import machine, markdown, source_commit
from sklearn.metrics import roc_auc_score

import creditrisk as cr
from creditrisk.features import indicators as own_features
from creditrisk.features import relations as related_features

START, END = "2018-01-01", "2025-12-31"
TRAIN = [str(d.date()) for d in pd.date_range("2019-07-01", "2022-07-01", freq="6MS")]
TESTS = ("2023-07-01", "2024-07-01")
THREADS = 2
OWN = [f.name for f in own_features.FEATURES]
RELATED = [f.name for f in related_features.FEATURES]
YEAR = 365.25


def load() -> str:
    """The machine's load averages (1, 5, 15 minutes)."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def feature_sets(columns) -> dict[str, list[str]]:
    """The three models' columns: core, + own records, + related parties."""
    columns = list(columns)
    core = [c for c in columns if c not in OWN and c not in RELATED]
    return {
        "core": core,
        "+ own records": [c for c in columns if c not in RELATED],
        "+ related parties": columns,
    }


def separation(score: np.ndarray, decile: np.ndarray) -> pd.Series:
    """Per decile of true risk d (2..10): the AUC of telling its enterprises from those of
    the deciles below by the score (the truth itself scores 1; the top decile's is how
    well the riskiest tenth stands out from the rest)."""
    out = {}
    for d in range(2, int(decile.max()) + 1):
        mask = decile <= d
        positive = decile[mask] == d
        if positive.any() and not positive.all():
            out[d] = roc_auc_score(positive, score[mask])
    return pd.Series(out, dtype=float)


def capture(score: np.ndarray, outcome: np.ndarray, top: float = 0.1) -> float:
    """Share of the outcome (findings, or expected findings) in the top tenth of scores."""
    k = max(round(top * len(score)), 1)
    chosen = np.argsort(-score, kind="stable")[:k]
    return float(outcome[chosen].sum() / outcome.sum())


def bootstrap_gain(y: np.ndarray, a: np.ndarray, b: np.ndarray, reps: int = 200) -> float:
    """Standard error of AUC(b) - AUC(a) on the same rows (paired bootstrap)."""
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(reps):
        i = rng.integers(0, len(y), len(y))
        if y[i].min() == y[i].max():
            continue
        gains.append(roc_auc_score(y[i], b[i]) - roc_auc_score(y[i], a[i]))
    return float(np.std(gains))


def ceiling(X: pd.DataFrame, truth: np.ndarray, names: list[str]):
    """LightGBM fitted to the true log-odds on the training rows (as bench_truth.py)."""
    p = np.clip(truth, 1e-6, 1 - 1e-6)
    model = lgb.LGBMRegressor(
        n_estimators=400, learning_rate=0.05, num_leaves=15, num_threads=THREADS, verbose=-1
    )
    model.fit(X[names], np.log(p / (1 - p)))
    return lambda T: model.predict(T[names])


# -- the world's shares ------------------------------------------------------------------
def exposure_years(ent: pd.DataFrame, start: str, end: str) -> float:
    """Enterprise-years registered within [start, end]."""
    a = ent["registered_on"].clip(lower=pd.Timestamp(start))
    b = ent["deregistered_on"].fillna(pd.Timestamp(end)).clip(upper=pd.Timestamp(end))
    return float(((b - a).dt.days.clip(lower=0)).sum() / YEAR)


def distribution(counts: pd.Series, bins, labels) -> str:
    """Shares of counts in bins, as 'label share' pairs."""
    cut = pd.cut(counts, bins, labels=labels, right=True)
    shares = cut.value_counts(normalize=True).reindex(labels).fillna(0)
    return ", ".join(f"{k}: {v:.1%}" for k, v in shares.items())


def world_shares(world, as_of: str) -> pd.DataFrame:
    """People, addresses, changes, complaints and external lists of the world."""
    t, truth = world.tables, world.truth.indicators
    ent = t.enterprises
    day = pd.Timestamp(as_of)
    alive = (ent["registered_on"] < day) & ~(ent["deregistered_on"] < day)
    alive_ids = set(ent.loc[alive, "entity_id"])
    years = exposure_years(ent, START, END)
    rows = []
    roles = t.roles
    current = roles[(roles["published_on"] < day) & ~(roles["to_on"] < day)]
    current = current[current["entity_id"].isin(alive_ids)]
    people = current.groupby("entity_id")["person_id"].nunique()
    people = people.reindex(list(alive_ids), fill_value=0)
    rows.append(
        (
            f"people holding a role per enterprise ({as_of}; mean {people.mean():.2f})",
            distribution(people, [-1, 0, 1, 2, 3, 10**9], ["0", "1", "2", "3", "4+"]),
        )
    )
    held = current.groupby("person_id")["entity_id"].nunique()
    rows.append(
        (
            f"enterprises per person with a role ({as_of}; mean {held.mean():.2f}, "
            f"max {held.max()})",
            distribution(held, [0, 1, 2, 4, 9, 10**9], ["1", "2", "3-4", "5-9", "10+"]),
        )
    )
    controlled = truth.controller.value_counts()
    size = truth.controller.map(controlled)
    mu = pd.Series(world.truth.mu, index=world.truth.entity_ids)
    top = (mu >= mu.quantile(0.9)).to_numpy()
    rows.append(
        (
            "enterprises per controller (truth; all enterprises ever)",
            distribution(controlled, [0, 1, 2, 4, 9, 10**9], ["1", "2", "3-4", "5-9", "10+"])
            + f"; max {controlled.max()}",
        )
    )
    rows.append(
        (
            "enterprises whose controller holds 2+: riskiest tenth by mu / the rest",
            f"{(size[top] > 1).mean():.1%} / {(size[~top] > 1).mean():.1%}",
        )
    )
    propensity = truth.controller.map(truth.controller_propensity)
    rows.append(("corr(controller propensity, mu)", f"{np.corrcoef(propensity, mu)[0, 1]:.2f}"))
    # addresses at the as-of date: relations' own reading of the register
    X = cr.build_features(t, cr.spine(t, as_of))
    cluster = X["address_cluster_size"]
    rows.append(
        (
            f"enterprises by size of their address cluster ({as_of})",
            distribution(
                cluster, [0, 1, 2, 4, 9, 19, 10**9], ["1", "2", "3-4", "5-9", "10-19", "20+"]
            ),
        )
    )
    kind = truth.address_kind.reindex(X["entity_id"]).to_numpy()
    shell_first = _first_address(t)[truth.address_kind == "shell"]
    at_date = pd.Series(_address_at(t, day), index=ent["entity_id"])
    live_at = at_date[ent["entity_id"][alive.to_numpy()].to_numpy()]
    sizes = live_at.value_counts()
    shell_addresses = pd.Index(shell_first.unique())
    rows.append(
        (
            f"shell clusters: addresses / with 10+ enterprises alive ({as_of}) / "
            "addresses with 10+ in all",
            f"{len(shell_addresses):,} / "
            f"{int((sizes.reindex(shell_addresses, fill_value=0) >= 10).sum()):,} / "
            f"{int((sizes >= 10).sum()):,}",
        )
    )
    rows.append(
        (
            f"shell enterprises alive ({as_of}) / of them at an address of 10+",
            f"{(kind == 'shell').mean():.2%} / {(cluster[kind == 'shell'] >= 10).mean():.0%}",
        )
    )
    ch = t.changes
    for k, count in ch["kind"].value_counts().items():
        if count:
            rows.append((f"changes of {k} per enterprise-year", f"{count / years:.4f}"))
    recent = ch[(ch["published_on"] < day) & (ch["changed_on"] >= day - pd.Timedelta(days=365))]
    rows.append(
        (
            f"enterprises with a change in the 12 months before {as_of}",
            f"{recent['entity_id'].drop_duplicates().isin(alive_ids).sum() / len(alive_ids):.1%}",
        )
    )
    cm = t.complaints
    verdict = cm["substantiated"].value_counts(normalize=True)
    decided = cm["substantiated"] != "pending"
    rows.append(("complaints per enterprise-year", f"{len(cm) / years:.4f}"))
    last = cm[(cm["recorded_on"] < day) & (cm["received_on"] >= day - pd.Timedelta(days=365))]
    rows.append(
        (
            f"enterprises with a complaint in the 12 months before {as_of}",
            f"{last['entity_id'].drop_duplicates().isin(alive_ids).sum() / len(alive_ids):.1%}",
        )
    )
    rows.append(
        (
            "complaints substantiated (of decided) / pending",
            f"{(cm.loc[decided, 'substantiated'] == 'yes').mean():.0%} / "
            f"{verdict.get('pending', 0):.1%}",
        )
    )
    ex = t.external_lists
    rows.append(("external listings per enterprise-year", f"{len(ex) / years:.4f}"))
    for name, count in ex["list"].value_counts().items():
        if count:
            rows.append((f"  {name} per enterprise-year", f"{count / years:.5f}"))
    now = ex[(ex["published_on"] < day) & ~(ex["removed_on"] < day)]
    rows.append(
        (
            f"enterprises on an external list on {as_of} / ever (2018-2025)",
            f"{now['entity_id'].drop_duplicates().isin(alive_ids).sum() / len(alive_ids):.2%} / "
            f"{ex['entity_id'].nunique() / len(ent):.1%}",
        )
    )
    return pd.DataFrame(rows, columns=["figure", "measured"])


def _first_address(t) -> pd.Series:
    """Each enterprise's first address (before its first address change)."""
    moves = t.changes[t.changes["kind"] == "address"]
    now = t.enterprises.set_index("entity_id")["address_id"].copy()
    first = moves.groupby("entity_id")["old_value"].first()
    now.loc[first.index] = first
    return now


def _address_at(t, day: pd.Timestamp) -> np.ndarray:
    """Each enterprise's address on a day (from the address changes made before it)."""
    moves = t.changes[(t.changes["kind"] == "address")].sort_values(["entity_id", "changed_on"])
    address = _first_address(t)
    done = moves[moves["changed_on"] < day].groupby("entity_id")["new_value"].last()
    address.loc[done.index] = done
    return address.to_numpy()


# -- the models --------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"# bench_relations_auc {time.strftime('%Y-%m-%d %H:%M')}; {machine()}")
    print(f"source {source_commit()}; load at start {load()}")
    t0 = time.perf_counter()
    world = cr.synth.generate(args.n, START, END, seed=args.seed, indicators=True)
    tables = world.tables
    t1 = time.perf_counter()
    spine = cr.spine(tables, TRAIN)
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine, outcome="inspection_finding", horizon="365D")
    tests = {}
    for as_of in TESTS:
        s = cr.spine(tables, as_of)
        X_test = cr.build_features(tables, s)
        y_test = cr.build_labels(tables, s, outcome="inspection_finding", horizon="365D")
        truth = world.truth.probability(as_of).reindex(X_test["entity_id"]).to_numpy()
        if np.isnan(truth).any():
            raise RuntimeError("registered test rows without a true probability")
        tests[as_of] = (X_test, y_test, truth)
    t2 = time.perf_counter()
    missing = [c for c in OWN + RELATED if c not in X.columns]
    if missing:
        raise RuntimeError(f"indicator features not built: {missing}")
    print(
        f"world {args.n:,} enterprises (seed {args.seed}) in {t1 - t0:.0f} s; features and "
        f"labels in {t2 - t1:.0f} s: training {len(X):,} rows ({int(y.notna().sum()):,} "
        f"labelled) on {len(TRAIN)} dates {TRAIN[0]} .. {TRAIN[-1]}; load {load()}"
    )
    sets = feature_sets([c for c in X.columns if c not in ("entity_id", "as_of")])
    keys = ["entity_id", "as_of"]
    models = {}
    for name, cols in sets.items():
        t0 = time.perf_counter()
        model = cr.RiskModel(num_threads=THREADS).fit(X[keys + cols], y)
        models[name] = (model, cols, time.perf_counter() - t0)
        print(
            f"  {name}: {len(cols)} features, {model.n_trees_} trees, fit {models[name][2]:.0f} s"
        )
    truth_train = np.concatenate(
        [
            world.truth.probability(d).reindex(X.loc[X["as_of"] == d, "entity_id"]).to_numpy()
            for d in sorted(X["as_of"].unique())
        ]
    )
    order = np.argsort(X["as_of"].to_numpy(), kind="stable")
    X_sorted = X.iloc[order]
    ceilings = {name: ceiling(X_sorted, truth_train, cols) for name, cols in sets.items()}
    print(f"  ceilings fitted; load {load()}")

    main_rows, decile_rows = [], []
    for as_of, (X_test, y_test, truth) in tests.items():
        labelled = y_test.notna().to_numpy()
        y_l = y_test[labelled].to_numpy().astype(int)
        oracle = roc_auc_score(y_l, truth[labelled])
        best_soft = cr.evaluation.soft_auc(truth, truth)
        registered = pd.to_datetime(
            tables.enterprises.set_index("entity_id")["registered_on"]
            .reindex(X_test["entity_id"])
            .to_numpy()
        )
        young = np.asarray((pd.Timestamp(as_of) - registered).days < 730)
        decile = pd.qcut(truth, 10, labels=False, duplicates="drop") + 1
        scores = {
            name: model.predict_proba(X_test[keys + cols])[:, 1]
            for name, (model, cols, _) in models.items()
        }
        for name, score in scores.items():
            realized = roc_auc_score(y_l, score[labelled])
            soft = cr.evaluation.soft_auc(truth, score)
            ceil = ceilings[name](X_test)
            young_soft = cr.evaluation.soft_auc(truth[young], score[young])
            young_best = cr.evaluation.soft_auc(truth[young], truth[young])
            row = {
                "test as_of": as_of,
                "model": name,
                "features": len(sets[name]),
                "trees": models[name][0].n_trees_,
                "realized AUC": f"{realized:.4f}",
                "/ oracle": f"{realized / oracle:.4f}",
                "gain vs core (se)": (
                    "-"
                    if name == "core"
                    else f"{realized - roc_auc_score(y_l, scores['core'][labelled]):+.4f} "
                    f"({bootstrap_gain(y_l, scores['core'][labelled], score[labelled]):.4f})"
                ),
                "soft AUC / truth": f"{soft / best_soft:.4f}",
                "young: soft / truth": f"{young_soft / young_best:.4f}",
                "ceiling soft / truth": f"{cr.evaluation.soft_auc(truth, ceil) / best_soft:.4f}",
                "top-decile capture, realized": f"{capture(score[labelled], y_l):.1%}",
                "expected": f"{capture(score, truth):.1%}",
                "riskiest tenth found": f"{capture(score, (decile == 10).astype(float)):.1%}",
            }
            main_rows.append(row)
            per = separation(score, decile)
            per_young = separation(score[young], decile[young])
            for d in per.index:
                decile_rows.append(
                    {
                        "test as_of": as_of,
                        "model": name,
                        "decile": int(d),
                        "all": per[d],
                        "young": per_young.get(d, np.nan),
                    }
                )
        print(
            f"test {as_of}: {len(X_test):,} registered, {int(labelled.sum()):,} labelled "
            f"(finding rate {y_l.mean():.3f}), oracle AUC {oracle:.4f}, truth soft AUC "
            f"{best_soft:.4f}, oracle top-decile capture {capture(truth[labelled], y_l):.1%} "
            f"realized / {capture(truth, truth):.1%} expected; {int(young.sum()):,} young "
            f"(registered < 2 years)"
        )
    result = pd.DataFrame(main_rows)
    print("\n### With and without the indicator features\n")
    print(markdown(result))
    deciles = pd.DataFrame(decile_rows)
    wide = deciles.pivot_table(index=["test as_of", "decile"], columns="model", values="all")
    wide_y = deciles.pivot_table(index=["test as_of", "decile"], columns="model", values="young")
    table = pd.DataFrame(
        {
            "test as_of": [i[0] for i in wide.index],
            "true-risk decile (10 riskiest)": [i[1] for i in wide.index],
            "core": [f"{v:.4f}" for v in wide["core"]],
            "+ own records": [f"{v:.4f}" for v in wide["+ own records"]],
            "+ related parties": [f"{v:.4f}" for v in wide["+ related parties"]],
            "gain, all 13": [f"{v:+.4f}" for v in wide["+ related parties"] - wide["core"]],
            "gain, related only": [
                f"{v:+.4f}" for v in wide["+ related parties"] - wide["+ own records"]
            ],
            "young: gain, all 13": [
                f"{v:+.4f}" for v in wide_y["+ related parties"] - wide_y["core"]
            ],
        }
    )
    print(
        "\n### By decile of true risk: AUC of telling each decile from the deciles below "
        "(the truth scores 1)\n"
    )
    print(markdown(table))
    print(f"\n### The world's shares ({args.n:,} enterprises, seed {args.seed})\n")
    print(markdown(world_shares(world, TESTS[0])))
    print(f"\ntotal {time.perf_counter() - started:.0f} s; load at end {load()}")


if __name__ == "__main__":
    main()
