"""The closed loop (issue 19): classify, plan, inspect, retrain, month after month.

A synthetic world of 200,000 enterprises (2019-01-01 .. 2025-12-31, seed 7) runs 24
monthly cycles (2024-01 .. 2025-12) of ``cr.synth.run_cycles`` under each targeting
regime of ``cr.synth.REGIMES`` (uniform random; the policy's tiered rates with its
floor; budget allocation with the floor; allocation without a floor), on the same world,
seed and budget (1% of the world's enterprises a month: 2,000 inspections), retraining
every 6 cycles. The first model is trained once, at the first cycle's date, and shared;
every regime then retrains on what its own inspections revealed. The regimes run in
``--workers`` processes (default 2, one LightGBM thread each); each process regenerates
the world from its seed (the world is deterministic) and loads the first model from a
temporary directory (LightGBM text and JSON).

Printed, as Markdown for RESULTS.md: the wall time of the whole run and of its parts,
the cycle table of every regime, and per regime the coverage of the 95% intervals of
the weighted estimates (Hajek, Horvitz-Thompson; target: at least 90% of cycles for
every regime with a floor) beside the naive estimate's error.

Usage::

    .venv/bin/python benchmarks/bench_cycles.py            # the full run (target <= 10 min)
    .venv/bin/python benchmarks/bench_cycles.py --quick    # 20,000 enterprises, 12 cycles
    .venv/bin/python benchmarks/bench_cycles.py --n 50000 --months 12 --out cycles.csv
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pandas as pd
from _report import markdown, source_commit

START, END = "2019-01-01", "2025-12-31"
COVERAGE_TARGET = 0.90
SHOWN = [
    "cycle",
    "as_of",
    "model_labels",
    "inspections",
    "findings_per_100",
    "auc_floor",
    "oracle_auc_floor",
    "soft_auc",
    "share_A",
    "share_D",
    "true_rate",
    "naive_rate",
    "hajek_rate",
    "hajek_low",
    "hajek_high",
    "ht_rate",
    "uncovered",
    "never_inspected",
]


def _world(n: int, seed: int):
    """The world; below 100,000 enterprises with 20 inspectors a region at least (the
    default 6 leave one or two specialists per key sector, too few to staff the draw)."""
    import creditrisk as cr

    params = cr.synth.WorldParams(min_inspectors_per_region=6 if n >= 100_000 else 20)
    return cr.synth.generate(n, START, END, seed=seed, params=params)


def _run_regime(job: dict) -> dict:
    """Worker: the world again (same seed), the shared first model, one regime's loop."""
    import creditrisk as cr

    t0 = time.perf_counter()
    world = _world(job["n"], job["seed"])
    model = cr.RiskModel.load(job["model"])
    t1 = time.perf_counter()
    table = cr.synth.run_cycles(
        world,
        "national",
        months=job["months"],
        budget=job["budget"],
        retrain_every=job["retrain_every"],
        seed=job["loop_seed"],
        regime=job["regime"],
        model=model,
        model_params={"num_threads": 1},
    )
    t2 = time.perf_counter()
    out = Path(job["dir"]) / f"{job['regime']}.parquet"
    table.to_parquet(out, index=False)
    return {"regime": job["regime"], "path": str(out), "world": t1 - t0, "loop": t2 - t1}


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for regime, part in table.groupby("regime", sort=False):
        rows.append(
            {
                "regime": regime,
                "findings per 100": f"{part['findings_per_100'].mean():.1f}",
                "Hajek covers": f"{int(part['hajek_covers'].sum())}/{len(part)}",
                "HT covers": f"{int(part['ht_covers'].sum())}/{len(part)}",
                "naive covers": f"{int(part['naive_covers'].sum())}/{len(part)}",
                "naive error, mean": f"{part['naive_error'].mean():+.4f}",
                "Hajek error, mean": f"{part['hajek_error'].mean():+.4f}",
                "Hajek abs error, mean": f"{part['hajek_error'].abs().mean():.4f}",
                "HT error, mean": f"{part['ht_error'].mean():+.4f}",
                "Hajek se, mean": f"{part['hajek_se'].mean():.4f}",
                "soft AUC first, last": (
                    f"{part['soft_auc'].iat[0]:.4f}, {part['soft_auc'].iat[-1]:.4f}"
                ),
                "floor AUC, mean (oracle)": (
                    f"{part['auc_floor'].mean():.3f} ({part['oracle_auc_floor'].mean():.3f})"
                ),
                "uncovered, mean": f"{part['uncovered'].mean():,.0f}",
                "never inspected, last": f"{int(part['never_inspected'].iat[-1]):,}",
            }
        )
    return pd.DataFrame(rows)


def _rounded(part: pd.DataFrame) -> pd.DataFrame:
    shown = part[SHOWN].copy()
    shown["as_of"] = shown["as_of"].dt.strftime("%Y-%m")
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            digits = 1 if column == "findings_per_100" else 4
            shown[column] = shown[column].round(digits)
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="For a quick check: --quick (20,000 enterprises, 12 cycles), or --n 20000.",
    )
    parser.add_argument("--n", type=int, default=200_000, help="enterprises (default 200,000)")
    parser.add_argument("--months", type=int, default=24, help="monthly cycles (default 24)")
    parser.add_argument("--retrain-every", type=int, default=6, help="cycles between retrains")
    parser.add_argument(
        "--budget", type=float, default=None, help="inspections a month (default: 1%% of --n)"
    )
    parser.add_argument("--seed", type=int, default=7, help="the world's seed")
    parser.add_argument("--loop-seed", type=int, default=20260101, help="draws and outcomes")
    parser.add_argument("--workers", type=int, default=2, help="processes (regimes at once)")
    parser.add_argument("--quick", action="store_true", help="20,000 enterprises, 12 cycles")
    parser.add_argument("--out", type=Path, default=None, help="write the cycle tables (CSV)")
    args = parser.parse_args()
    if args.quick:
        args.n, args.months = 20_000, 12
    budget = args.budget if args.budget is not None else round(args.n / 100)

    import creditrisk as cr

    t0 = time.perf_counter()
    world = _world(args.n, args.seed)
    t1 = time.perf_counter()
    first = (pd.Timestamp(END).to_period("M").to_timestamp()) - pd.DateOffset(
        months=args.months - 1
    )
    dates = cr.synth.training_dates(first, pd.Timestamp(START) + pd.DateOffset(months=12))
    model = cr.synth.initial_model(
        world, "national", months=args.months, model_params={"num_threads": args.workers}
    )
    t2 = time.perf_counter()
    registered = len(cr.spine(world.tables, first))
    del world
    with tempfile.TemporaryDirectory() as tmp:
        model.save(Path(tmp) / "first-model")
        jobs = [
            {
                "n": args.n,
                "seed": args.seed,
                "months": args.months,
                "budget": budget,
                "retrain_every": args.retrain_every,
                "loop_seed": args.loop_seed,
                "regime": regime,
                "model": str(Path(tmp) / "first-model"),
                "dir": tmp,
            }
            for regime in cr.synth.REGIMES
        ]
        context = multiprocessing.get_context("spawn")  # no fork after LightGBM's threads
        with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
            done = list(pool.map(_run_regime, jobs))
        table = pd.concat([pd.read_parquet(d["path"]) for d in done], ignore_index=True)
    t3 = time.perf_counter()
    if args.out is not None:
        table.to_csv(args.out, index=False)

    print("\n## The closed loop (issue 19, bench_cycles.py)\n")
    print(
        f"`.venv/bin/python benchmarks/bench_cycles.py"
        f"{'' if args.n == 200_000 else f' --n {args.n}'}"
        f"{'' if args.months == 24 else f' --months {args.months}'}`, {date.today()}, "
        f'machine "vm" (2 cores), {source_commit()}. World: {args.n:,} enterprises '
        f"({START} .. {END}, seed {args.seed}; {registered:,} registered at the first cycle, "
        f"{first.date()}); {args.months} monthly cycles, budget {budget:,.0f} inspections a "
        f"month, retrain every {args.retrain_every} cycles, loop seed {args.loop_seed}; "
        f"policy national; first model trained on {len(dates)} as-of dates "
        f"{dates[0].date()} .. {dates[-1].date()} ({model.training_['labelled']:,} labelled "
        f"rows, {model.n_trees_} trees).\n"
    )
    loop = {d["regime"]: d["loop"] for d in done}
    print(
        f"Wall time **{t3 - t0:.0f} s** (target <= 600 s): world {t1 - t0:.0f} s, first "
        f"model {t2 - t1:.0f} s, regimes in {args.workers} processes {t3 - t2:.0f} s "
        "(loop per regime: " + ", ".join(f"{r} {s:.0f} s" for r, s in loop.items()) + ").\n"
    )
    summary = _summary(table)
    print("### Per regime\n")
    print(markdown(summary))
    floors = table[table["regime"] != "allocation_no_floor"]
    met = floors.groupby("regime")["hajek_covers"].mean()
    print(
        f"\nHajek 95% interval covers the true rate in at least {COVERAGE_TARGET:.0%} of "
        "cycles for every regime with a floor: "
        + ("**yes**" if (met >= COVERAGE_TARGET).all() else "**no**")
        + " ("
        + ", ".join(f"{r} {v:.0%}" for r, v in met.items())
        + ")."
    )
    for regime, part in table.groupby("regime", sort=False):
        print(f"\n### Cycle table: {regime}\n")
        print(markdown(_rounded(part)))


if __name__ == "__main__":
    main()
