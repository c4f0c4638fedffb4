"""Building the built-in catalogue for 1,000,000 enterprises, this tree beside another commit.

Issue 15 made every table and most columns optional, checks which inputs a register
holds before building a feature, and added declared features; the built-in catalogue
must stay within 1.3x of the time it took before. One synthetic world of 1,000,000
enterprises (2018-2025, seed 7) is generated once and written as parquet; then, in
fresh processes taking turns, ``spine`` + ``build_features`` (the whole built-in
catalogue, one as-of date 2024-07-01) run on it with the source of ``--ref`` and with
this tree, best of ``--repeat`` each, and the feature values are compared (the columns
both build must be equal).

Usage::

    .venv/bin/python benchmarks/bench_catalogue.py --ref db14776   # about 3 minutes
    .venv/bin/python benchmarks/bench_catalogue.py --ref db14776 --n 100000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _report import extract_source, generate_world, machine

ROOT = Path(__file__).resolve().parent.parent
START, END, AS_OF = "2018-01-01", "2025-12-31", "2024-07-01"
CHILD = """
import json, sys, time
import creditrisk as cr
from creditrisk.data.tables import EventTables
tables = EventTables.read(sys.argv[1])
t0 = time.perf_counter()
X = cr.build_features(tables, cr.spine(tables, sys.argv[2]))
seconds = time.perf_counter() - t0
X.to_parquet(sys.argv[3])
print(json.dumps({"seconds": seconds, "columns": X.shape[1] - 2, "rows": len(X),
                  "file": cr.__file__}))
"""


def timed(src: Path, data: Path, out: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), AS_OF, str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["file"].startswith(str(src)), result["file"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the commit to compare against")
    parser.add_argument("--n", type=int, default=1_000_000, help="enterprises")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tree (best is kept)")
    parser.add_argument("--child-generate", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_generate:
        n, seed, out, _ = args.child_generate
        return generate_world(int(n), int(seed), START, END, out)
    print(f"machine: {machine()}")
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="bench-catalogue-") as tmp:
        tmp = Path(tmp)
        data = tmp / "world"
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--ref",
                args.ref,
                "--child-generate",
                str(args.n),
                "7",
                str(data),
                "-",
            ],
            check=True,
            capture_output=True,
        )
        trees = {args.ref: extract_source(args.ref, tmp / "ref"), "this tree": ROOT / "src"}
        best: dict[str, dict] = {}
        for i in range(args.repeat):
            for name, src in trees.items():
                run = timed(src, data, tmp / f"{i}-{len(best)}.parquet")
                run["out"] = tmp / f"{i}-{len(best)}.parquet"
                if name not in best or run["seconds"] < best[name]["seconds"]:
                    best[name] = run
        old, new = best[args.ref], best["this tree"]
        a, b = pd.read_parquet(old["out"]), pd.read_parquet(new["out"])
        shared = [c for c in a.columns if c in b.columns]
        pd.testing.assert_frame_equal(a[shared], b[shared], check_categorical=False)
    print(f"{args.n:,} enterprises, spine + build_features as of {AS_OF}, best of {args.repeat}")
    print("| source | seconds | features | rows |")
    print("|---|---|---|---|")
    for name, run in best.items():
        print(f"| {name} | {run['seconds']:.2f} | {run['columns']} | {run['rows']:,} |")
    ratio = new["seconds"] / old["seconds"]
    print(
        f"ratio {ratio:.2f}x (target: within 1.3x); the {len(shared) - 2} shared feature "
        f"columns are equal; new columns: {sorted(set(b.columns) - set(a.columns)) or 'none'}"
    )


if __name__ == "__main__":
    main()
