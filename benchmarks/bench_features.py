"""Speed, memory and correctness of point-in-time features (creditrisk.build_features).

Scale: ``creditrisk.spine`` + ``creditrisk.build_features`` (the whole catalogue) on a
synthetic world of 1,000,000 enterprises (2018-2025, seed 7) at one as-of date,
2024-07-01, in a fresh process per run (peak RSS is that process's own, reported after
generating the world and after the features; the high-water mark is then reset to read
the feature build's own peak too), beside the issue's target: under 30 s and 6 GB on 2
cores. Only spine + features are timed, not the generation.

Side by side: on the 10,000-enterprise sample at 2024-07-01, creditrisk against
featuretools' deep feature synthesis (``ft.dfs`` with cutoff times, each event table's
time index its KNOWN date, so featuretools itself keeps later data out), computing the
same kind of features: penalty counts and fines by severity over all time, 365 and
1095 days, inspection counts by kind and share with a finding, time since the last
penalty / inspection, list-entry counts, annual reports and licenses. Each timed run is
a fresh process; best of 2. featuretools does not run beside pandas 3, so it gets its
own virtual environment, created on first use at ``benchmarks/.venv-featuretools``
(which git must ignore), and runs ``benchmarks/_featuretools_dfs.py`` on the sample
tables handed over as parquet files. If featuretools cannot run at all, the output says
why and the comparison is against a plain per-entity pandas groupby-apply instead.

Agreement: the features both compute the same way (penalty counts and fines by
severity, inspection counts by kind, days since the last inspection / penalty, ...)
compared entity by entity, with creditrisk counting every penalty known before as_of
(``FeatureSpec(penalty_counting="known", restored_penalties="include")``).

Usage::

    .venv/bin/python benchmarks/bench_features.py            # full run (about 1.5 minutes)
    .venv/bin/python benchmarks/bench_features.py --quick    # 100,000 world, 1 repeat

The first run also creates the featuretools environment (about 30 s, needs PyPI).
``--no-featuretools`` skips it and compares with the pandas baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import markdown, peak_rss, reset_peak_rss, rss

START, END, AS_OF = "2018-01-01", "2025-12-31", "2024-07-01"
HERE = Path(__file__).resolve().parent
FT_VENV = HERE / ".venv-featuretools"
FT_HELPER = HERE / "_featuretools_dfs.py"
FT_PYTHONS = (
    "/root/.pyenv/versions/3.12.1/bin/python3.12",
    "/root/.pyenv/versions/3.11.7/bin/python3.11",
)
# featuretools 1.31 (woodwork 0.31) fails on pandas 3 (woodwork's accessor state is lost:
# WoodworkNotInitError) and woodwork imports pkg_resources, gone from setuptools 81
FT_REQUIREMENTS = ("featuretools==1.31.0", "pandas>=2.2,<3", "setuptools<81", "pyarrow")
TARGET_SECONDS, TARGET_BYTES = 30.0, 6e9
GIB = 2**30

SEVERITIES = ("warning", "minor", "general", "serious")
KINDS = ("random", "targeted", "complaint", "joint")
LISTS = ("abnormal_operation", "abnormal_mark", "serious_illegal")
WINDOWS = {"365d": 365, "1095d": 1095}

#: (creditrisk feature, the other side's feature): the same thing computed both ways
SAME = [
    *[(f"penalties_{s}_all", f"COUNT(penalties WHERE severity = {s})") for s in SEVERITIES],
    *[
        (f"fines_{s}_all", f"SUM(penalties.fine_amount WHERE severity = {s})")
        for s in SEVERITIES[1:]
    ],
    ("penalty_days_since_last", "DAYS_SINCE_LATEST(penalties.decided_on)"),
    *[(f"inspections_{k}", f"COUNT(inspections WHERE kind = {k})") for k in KINDS],
    ("inspections_not_found", "COUNT(inspections WHERE outcome = not_found_at_address)"),
    ("inspection_findings_share", "PERCENT_TRUE(inspections.finding)"),
    ("inspection_days_since_last", "DAYS_SINCE_LATEST(inspections.inspected_on)"),
    ("times_listed", "COUNT(list_entries)"),
    ("times_listed_serious", "COUNT(list_entries WHERE list = serious_illegal)"),
    ("list_removals_restored", "COUNT(list_entries WHERE removal_reason = restored)"),
    ("licenses_revoked", "NUM_TRUE(licenses.revoked)"),
    ("age_years", "TIME_SINCE(registered_on, unit=days)"),  # compared as days / 365.25
]
#: same window length, but creditrisk windows on the event date (decided_on,
#: inspected_on) and featuretools on the time index (published_on): close, not equal
NEAR = [
    *[
        (f"penalties_{s}_{w}", f"COUNT(penalties WHERE severity = {s}) [{d}d]")
        for s in ("minor", "general", "serious")
        for w, d in (("1y", 365), ("3y", 1095))
    ],
    ("inspection_findings_3y", "NUM_TRUE(inspections.finding) [1095d]"),
]


def _child_scale(n: int, seed: int, as_of: str) -> None:
    import creditrisk as cr

    t0 = time.perf_counter()
    world = cr.synth.generate(n, START, END, seed=seed)
    tables = world.tables
    del world  # the truth is not an input to features
    generated = time.perf_counter() - t0
    peak_generated = peak_rss()
    rss_tables = rss()
    reset = reset_peak_rss()  # so the feature build's own peak can be read too
    t0 = time.perf_counter()
    spine = cr.spine(tables, as_of)
    t1 = time.perf_counter()
    features = cr.build_features(tables, spine)
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": t2 - t0,
                "seconds_spine": t1 - t0,
                "seconds_features": t2 - t1,
                "seconds_generate": generated,
                "peak_generated": peak_generated,
                "peak_features": max(peak_generated, peak_rss()),
                "rss_tables": rss_tables,
                "peak_build": peak_rss() if reset else None,
                "rows": {name: len(frame) for name, frame in tables},
                "spine_rows": len(spine),
                "features": features.shape[1] - 2,
            }
        )
    )


def _child_sample(as_of: str) -> None:
    import creditrisk as cr

    tables = cr.load_sample()
    t0 = time.perf_counter()
    features = cr.build_features(tables, cr.spine(tables, as_of))
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": len(features),
                "features": features.shape[1] - 2,
                "peak_bytes": peak_rss(),
            }
        )
    )


def _child_baseline(as_of: str, out: str | None) -> None:
    import creditrisk as cr

    tables = cr.load_sample()
    ids = cr.spine(tables, as_of)["entity_id"]
    t0 = time.perf_counter()
    matrix = pandas_baseline(tables, ids, as_of)
    seconds = time.perf_counter() - t0
    if out:
        matrix.reset_index().to_parquet(out)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": len(matrix),
                "features": matrix.shape[1],
                "peak_bytes": peak_rss(),
            }
        )
    )


def _run(args: list[str], python: str = sys.executable) -> dict:
    proc = subprocess.run(
        [python, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    if proc.returncode:
        raise RuntimeError(
            f"{Path(args[0]).name} exited {proc.returncode}: "
            + " | ".join(proc.stderr.strip().splitlines()[-3:])
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the pandas baseline: per-entity groupby-apply, the same features as _featuretools_dfs -
def _days(delta: pd.Series | pd.Timedelta) -> float:
    return delta.total_seconds() / 86_400


def _apply(frame: pd.DataFrame, fn) -> pd.DataFrame:
    """``fn`` (a frame of one entity's rows -> a Series) for every entity, one call each."""
    if frame.empty:
        return pd.DataFrame(index=pd.Index([], name="entity_id"))
    grouped = frame.groupby(frame["entity_id"].astype("str"), sort=False)
    return grouped[[c for c in frame.columns if c != "entity_id"]].apply(fn)


def pandas_baseline(tables, ids: pd.Series, as_of: str) -> pd.DataFrame:
    """What _featuretools_dfs.py computes, by a plain per-entity groupby-apply."""
    day = pd.Timestamp(as_of)
    ids = pd.Index(ids.astype("str"), name="entity_id")
    ent = tables.enterprises.set_index("entity_id").loc[ids]
    out = pd.DataFrame(index=ids)
    for col in ("entity_type", "industry", "key_sector", "region", "registered_capital"):
        out[col] = ent[col].to_numpy()
    out["TIME_SINCE(registered_on, unit=days)"] = (
        day - ent["registered_on"]
    ).dt.total_seconds().to_numpy() / 86_400

    def penalties(g: pd.DataFrame) -> pd.Series:
        r = {"COUNT(penalties)": len(g), "SUM(penalties.fine_amount)": g["fine_amount"].sum()}
        for s in SEVERITIES:
            hit = g["severity"] == s
            r[f"COUNT(penalties WHERE severity = {s})"] = int(hit.sum())
            r[f"SUM(penalties.fine_amount WHERE severity = {s})"] = g["fine_amount"][hit].sum()
        return pd.Series(r, dtype=float)

    def penalties_all(g: pd.DataFrame) -> pd.Series:
        r = penalties(g)
        r["MAX(penalties.fine_amount)"] = g["fine_amount"].max()
        r["DAYS_SINCE_LATEST(penalties.decided_on)"] = _days(day - g["decided_on"].max())
        r["TIME_SINCE_LAST(penalties.published_on, unit=days)"] = _days(
            day - g["published_on"].max()
        )
        return r

    def inspections(g: pd.DataFrame) -> pd.Series:
        return pd.Series({"NUM_TRUE(inspections.finding)": g["finding"].sum()}, dtype=float)

    def inspections_all(g: pd.DataFrame) -> pd.Series:
        r = {"COUNT(inspections)": len(g)}
        for k in KINDS:
            r[f"COUNT(inspections WHERE kind = {k})"] = int((g["kind"] == k).sum())
        for o in ("issues_found", "not_found_at_address"):
            r[f"COUNT(inspections WHERE outcome = {o})"] = int((g["outcome"] == o).sum())
        r["NUM_TRUE(inspections.finding)"] = g["finding"].sum()
        r["PERCENT_TRUE(inspections.finding)"] = g["finding"].mean()
        r["DAYS_SINCE_LATEST(inspections.inspected_on)"] = _days(day - g["inspected_on"].max())
        r["TIME_SINCE_LAST(inspections.published_on, unit=days)"] = _days(
            day - g["published_on"].max()
        )
        return pd.Series(r, dtype=float)

    def lists(g: pd.DataFrame) -> pd.Series:
        r = {"COUNT(list_entries)": len(g)}
        for name in LISTS:
            r[f"COUNT(list_entries WHERE list = {name})"] = int((g["list"] == name).sum())
        restored = (g["removed_on"] < day) & (g["removal_reason"] == "restored")
        r["COUNT(list_entries WHERE removal_reason = restored)"] = int(restored.sum())
        r["TIME_SINCE_LAST(list_entries.listed_on, unit=days)"] = _days(day - g["listed_on"].max())
        return pd.Series(r, dtype=float)

    def reports(g: pd.DataFrame) -> pd.Series:
        deadline = pd.to_datetime((g["report_year"] + 1).astype("str") + "-06-30")
        late = ((g["filed_on"] - deadline).dt.days).clip(lower=0).astype(float)
        on_time = g["filed_on"] <= deadline
        r = {
            "COUNT(annual_reports)": len(g),
            "MAX(annual_reports.days_late)": late.max(),
            "MEAN(annual_reports.days_late)": late.mean(),
            "MEAN(annual_reports.employees)": g["employees"].astype(float).mean(),
            "MEAN(annual_reports.revenue)": g["revenue"].mean(),
            "NUM_TRUE(annual_reports.on_time)": on_time.sum(),
            "PERCENT_TRUE(annual_reports.on_time)": on_time.mean(),
            "TIME_SINCE_LAST(annual_reports.filed_on, unit=days)": _days(day - g["filed_on"].max()),
        }
        return pd.Series(r, dtype=float)

    def licenses(g: pd.DataFrame) -> pd.Series:
        revoked = g["revoked_on"] < day
        r = {
            "COUNT(licenses)": len(g),
            "NUM_TRUE(licenses.revoked)": revoked.sum(),
            "NUM_UNIQUE(licenses.license_type)": g["license_type"].nunique(),
            "PERCENT_TRUE(licenses.revoked)": revoked.mean(),
            "TIME_SINCE_LAST(licenses.issued_on, unit=days)": _days(day - g["issued_on"].max()),
        }
        return pd.Series(r, dtype=float)

    t = tables
    pen = t.penalties[t.penalties["published_on"] < day]
    ins = t.inspections[t.inspections["published_on"] < day].assign(
        finding=lambda d: d["outcome"] != "compliant"
    )
    parts = [
        _apply(pen, penalties_all),
        _apply(ins, inspections_all),
        _apply(t.list_entries[t.list_entries["listed_on"] < day], lists),
        _apply(t.annual_reports[t.annual_reports["filed_on"] < day], reports),
        _apply(t.licenses[t.licenses["issued_on"] < day], licenses),
    ]
    for suffix, days in WINDOWS.items():
        since = day - pd.Timedelta(days=days)
        for frame, fn in ((pen, penalties), (ins, inspections)):
            part = _apply(frame[frame["published_on"] >= since], fn)
            parts.append(part.add_suffix(f" [{suffix}]"))
    events = pd.concat(parts, axis=1).reindex(ids)
    zero = [c for c in events.columns if c.startswith(("COUNT(", "SUM(", "NUM_TRUE("))]
    events[zero] = events[zero].fillna(0)
    return pd.concat([out, events], axis=1)


# -- featuretools in its own environment --------------------------------------------------
def ensure_featuretools() -> tuple[str | None, str]:
    """The featuretools venv's python (created on first use) and what happened."""
    python = FT_VENV / "bin" / "python"
    check = [str(python), "-W", "ignore", "-c", "import featuretools"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python), f"reused {FT_VENV.relative_to(HERE.parent)}"
    failures = []
    for base in FT_PYTHONS:
        if not Path(base).exists():
            failures.append(f"{base}: not found")
            continue
        shutil.rmtree(FT_VENV, ignore_errors=True)
        t0 = time.perf_counter()
        steps = {
            "python -m venv": [base, "-m", "venv", str(FT_VENV)],
            "pip install": [str(python), "-m", "pip", "install", "--quiet", *FT_REQUIREMENTS],
            "import featuretools": check,
        }
        for what, step in steps.items():
            proc = subprocess.run(step, capture_output=True, text=True)
            if proc.returncode:
                tail = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:]
                failures.append(f"{Path(base).name}: {what} failed: {' '.join(tail)}")
                break
        else:
            return str(python), (
                f"created {FT_VENV.relative_to(HERE.parent)} with {Path(base).name}: "
                f"pip install {' '.join(FT_REQUIREMENTS)} ({time.perf_counter() - t0:.0f} s)"
            )
    shutil.rmtree(FT_VENV, ignore_errors=True)
    return None, "; ".join(failures)


def side_by_side(args, tmp: Path) -> tuple[pd.DataFrame, list[dict], list[dict], str, dict]:
    """Timed runs of both; returns the other side's matrix, runs, its name and notes."""
    import creditrisk as cr

    tables = cr.load_sample()
    for name, frame in tables:
        frame.to_parquet(tmp / f"{name}.parquet")
    cr.spine(tables, args.as_of)[["entity_id"]].to_parquet(tmp / "spine.parquet")
    out = tmp / "matrix.parquet"

    child = [__file__, "--child", "sample", "--as-of", args.as_of]
    ours = [_run(child) for _ in range(args.repeats)]
    notes: dict = {}
    if args.no_featuretools:
        python, notes["setup"] = None, "not tried (--no-featuretools)"
    else:
        python, notes["setup"] = ensure_featuretools()
    if python:
        try:
            helper = [str(FT_HELPER), "--data", str(tmp), "--as-of", args.as_of, "--out", str(out)]
            theirs = [_run(helper, python) for _ in range(args.repeats)]
            return pd.read_parquet(out), ours, theirs, "featuretools", notes
        except (RuntimeError, json.JSONDecodeError) as err:
            notes["failed"] = str(err)
    notes.setdefault("failed", notes["setup"])
    baseline = ["--child", "baseline", "--as-of", args.as_of, "--out", str(out)]
    theirs = [_run([__file__, *baseline]) for _ in range(args.repeats)]
    return pd.read_parquet(out), ours, theirs, "pandas groupby-apply", notes


def agreement(matrix: pd.DataFrame, as_of: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Entity-by-entity agreement of creditrisk with the other side's matrix."""
    import creditrisk as cr

    tables = cr.load_sample()
    spec = cr.FeatureSpec(penalty_counting="known", restored_penalties="include")
    ours = cr.build_features(tables, cr.spine(tables, as_of), spec).set_index("entity_id")
    theirs = matrix.assign(entity_id=matrix["entity_id"].astype("str")).set_index("entity_id")
    theirs = theirs.reindex(ours.index)

    def table(pairs: list[tuple[str, str]]) -> pd.DataFrame:
        rows = []
        for mine, other in pairs:
            a = ours[mine].to_numpy(dtype=float, na_value=np.nan)
            b = theirs[other].to_numpy(dtype=float, na_value=np.nan)
            if mine == "age_years":
                b = b / 365.25
            both_empty = np.isnan(a) & np.isnan(b)
            exact = (a == b) | both_empty
            close = np.isclose(a, b, rtol=1e-9, atol=0) | both_empty
            first = np.flatnonzero(~close)[:1]
            example = (
                f"{ours.index[first[0]]}: {a[first[0]]:g} vs {b[first[0]]:g}" if len(first) else ""
            )
            rows.append(
                (
                    mine,
                    f"`{other}`",
                    f"{int(exact.sum()):,} / {len(a):,}",
                    f"{int(close.sum()):,}",
                    example,
                )
            )
        columns = ["creditrisk", "other side", "agree exactly", "agree to 1e-9", "first difference"]
        return pd.DataFrame(rows, columns=columns)

    return table(SAME), table(NEAR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="100,000 enterprises, 1 repeat")
    parser.add_argument(
        "--no-featuretools", action="store_true", help="compare with the pandas baseline only"
    )
    parser.add_argument("--child", choices=["scale", "sample", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "scale":
        _child_scale(args.n, args.seed, args.as_of)
        return
    if args.child == "sample":
        _child_sample(args.as_of)
        return
    if args.child == "baseline":
        _child_baseline(args.as_of, args.out)
        return
    if args.quick:
        args.n, args.repeats = 100_000, 1

    started = time.perf_counter()
    import creditrisk as cr

    print(
        f"# bench_features  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{os.cpu_count()} cores  Python {platform.python_version()}  "
        f"pandas {pd.__version__}  numpy {np.__version__}  creditrisk {cr.__version__}"
    )

    # 1. scale ----------------------------------------------------------------------------
    scale = [
        _run([__file__, "--child", "scale", "--n", str(args.n), "--seed", str(args.seed)])
        for _ in range(args.repeats)
    ]
    best = min(scale, key=lambda r: r["seconds"])
    print(
        f"\n## Speed and memory: {args.n:,} enterprises ({START} .. {END}, seed {args.seed}), "
        f"one as-of date {args.as_of}, best of {len(scale)}\n"
    )
    print(
        markdown(
            pd.DataFrame(
                [
                    (
                        "wall time, spine + build_features",
                        f"{best['seconds']:.1f} s",
                        f"< {TARGET_SECONDS:.0f} s",
                        f"{TARGET_SECONDS / best['seconds']:.1f}x under",
                    ),
                    (
                        "peak RSS after generating the world",
                        f"{best['peak_generated'] / GIB:.2f} GiB",
                        "",
                        "",
                    ),
                    (
                        "RSS holding the tables, before the features",
                        f"{best['rss_tables'] / GIB:.2f} GiB",
                        "",
                        "",
                    ),
                    (
                        "peak RSS during spine + build_features alone",
                        f"{best['peak_build'] / GIB:.2f} GiB" if best["peak_build"] else "n/a",
                        "",
                        "",
                    ),
                    (
                        "peak RSS after the features (whole process)",
                        f"{best['peak_features'] / GIB:.2f} GiB",
                        f"< 6 GB ({TARGET_BYTES / GIB:.2f} GiB)",
                        f"{TARGET_BYTES / best['peak_features']:.1f}x under",
                    ),
                ],
                columns=["measure", "creditrisk", "target (issue)", "margin"],
            )
        )
    )
    rows = best["rows"]
    print(
        f"\nspine rows {best['spine_rows']:,} x {best['features']} features; "
        f"spine {best['seconds_spine']:.2f} s, build_features {best['seconds_features']:.2f} s "
        f"(generation, not timed: {best['seconds_generate']:.1f} s)"
    )
    print(
        f"event rows {sum(v for k, v in rows.items() if k != 'enterprises'):,} "
        f"(all rows {sum(rows.values()):,}): " + ", ".join(f"{k} {v:,}" for k, v in rows.items())
    )
    print(
        "all runs: "
        + ", ".join(f"{r['seconds']:.1f} s / {r['peak_features'] / GIB:.2f} GiB" for r in scale)
    )

    # 2. side by side on the sample ----------------------------------------------------------
    with tempfile.TemporaryDirectory(prefix="bench_features_") as tmp:
        matrix, ours, theirs, other, notes = side_by_side(args, Path(tmp))
    mine, their = (min(r, key=lambda x: x["seconds"]) for r in (ours, theirs))
    print(
        f"\n## Side by side: the sample (10,000 enterprises), {mine['rows']:,} spine entities "
        f"at {args.as_of}, best of {len(ours)}, each run a fresh process\n"
    )
    if other == "featuretools":
        v = their["versions"]
        print(
            f"featuretools {v['featuretools']} (woodwork {v['woodwork']}, pandas {v['pandas']}, "
            f"numpy {v['numpy']}) in its own venv: {notes['setup']}. Timed: EntitySet + "
            f"ft.dfs (all time) + 2 x calculate_feature_matrix (training windows), n_jobs=1; "
            f"creditrisk: spine + build_features. Reading files is not timed.\n"
        )
    else:
        print(
            f"**featuretools could not run**: {notes['failed']}\n\n"
            "Compared instead with a plain per-entity pandas groupby-apply computing the "
            "features _featuretools_dfs.py asks featuretools for.\n"
        )
    their_count = their["features"]
    split = (
        f" ({their['features_all_time']} all time + {their['features_windowed']} windowed)"
        if "features_all_time" in their
        else ""
    )
    print(
        markdown(
            pd.DataFrame(
                [
                    (
                        "wall time",
                        f"{mine['seconds']:.3f} s",
                        f"{their['seconds']:.3f} s",
                        f"{their['seconds'] / mine['seconds']:.0f}x",
                    ),
                    ("features", f"{mine['features']}", f"{their_count}{split}", ""),
                    (
                        "peak RSS of the process",
                        f"{mine['peak_bytes'] / GIB:.2f} GiB",
                        f"{their['peak_bytes'] / GIB:.2f} GiB",
                        "",
                    ),
                ],
                columns=["measure", "creditrisk", other, f"ratio ({other} / creditrisk)"],
            )
        )
    )
    print(
        "\nall runs: creditrisk "
        + ", ".join(f"{r['seconds']:.3f} s" for r in ours)
        + f"; {other} "
        + ", ".join(f"{r['seconds']:.3f} s" for r in theirs)
    )
    if "seconds_dfs" in their:
        print(
            f"{other} best run: EntitySet {their['seconds_entityset']:.2f} s, "
            f"dfs + windows {their['seconds_dfs']:.2f} s"
        )

    # 3. agreement ------------------------------------------------------------------------
    same, near = agreement(matrix, args.as_of)
    print(
        f"\n## Agreement with {other}: the same features, entity by entity\n\n"
        'creditrisk with FeatureSpec(penalty_counting="known", restored_penalties="include") '
        "(every penalty published before as_of); both sides use only data known strictly "
        "before as_of (featuretools: include_cutoff_time=False; removals and revocations "
        "behind a secondary time index). Empty on both sides counts as agreeing; age_years "
        "is compared with TIME_SINCE / 365.25.\n"
    )
    print(markdown(same))
    print(
        "\nSame window length, different date (expected to differ a little, not an "
        "error): creditrisk windows penalties on decided_on and findings on inspected_on, "
        f"{other} on the date they became known (published_on, featuretools' time index), "
        "so only the other side counts a penalty decided (an inspection done) before the "
        "window's start but published after it:\n"
    )
    print(markdown(near))
    print(f"\nscript wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
