"""Does the working tree's ``creditrisk demo`` give what an earlier commit's gave?

Runs the demo twice in one go, once with the source of ``--ref`` (extracted with
``git archive``, imported ahead of the installed package through PYTHONPATH) and once
with the working tree, then compares the outputs that matter: ``scores.parquet``
(probabilities, tiers, overrides, reasons and features) and ``plan.parquet`` (the
double-random draw), bit for bit, plus the counts in the scoring manifest. Kept for
refactors that must not change behaviour (issue 14 moved every module).

Usage::

    .venv/bin/python benchmarks/compare_demo.py --ref b4d5754

Exit status 0 when both runs agree, 1 when they differ (the differences are printed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
from _report import extract_source

ROOT = Path(__file__).resolve().parent.parent
OUTPUTS = ("scores.parquet", "plan.parquet")
MANIFEST_KEYS = ("as_of", "rows", "tiers", "overrides")


def run_demo(src: Path, out: Path) -> Path:
    """``python -m creditrisk demo --out out`` importing creditrisk from ``src``."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(src)
    check = subprocess.run(
        [sys.executable, "-c", "import creditrisk; print(creditrisk.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not check.startswith(str(src)):
        sys.exit(f"creditrisk imported from {check}, not from {src}")
    subprocess.run(
        [sys.executable, "-m", "creditrisk", "demo", "--out", str(out)],
        env=env,
        cwd=out.parent,
        check=True,
        capture_output=True,
    )
    return out


def compare(before: Path, after: Path) -> list[str]:
    """Differences between two demo output directories (empty: identical)."""
    problems = []
    for name in OUTPUTS:
        old, new = pd.read_parquet(before / name), pd.read_parquet(after / name)
        try:
            pd.testing.assert_frame_equal(old, new, check_exact=True)
        except AssertionError as exc:
            problems.append(f"{name}: {exc}")
        else:
            print(f"{name}: identical ({len(new):,} rows x {new.shape[1]} columns)")
    old = json.loads((before / "scores.manifest.json").read_text())
    new = json.loads((after / "scores.manifest.json").read_text())
    for key in MANIFEST_KEYS:
        if old.get(key) != new.get(key):
            problems.append(f"manifest {key}: {old.get(key)!r} != {new.get(key)!r}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the commit to compare against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="compare-demo-") as tmp:
        tmp = Path(tmp)
        old_src = extract_source(args.ref, tmp / "ref")
        before = run_demo(old_src, tmp / "before")
        after = run_demo(ROOT / "src", tmp / "after")
        problems = compare(before, after)
    if problems:
        print("\n".join(["DIFFERENT:", *problems]))
        sys.exit(1)
    print(f"the demo's scores and plan are bit for bit those of {args.ref}")


if __name__ == "__main__":
    main()
