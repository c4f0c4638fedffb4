"""Speed of the related-party features (issue 18): 1,000,000 enterprises, 1.5M people, 3M roles.

Target (issue 18, "Done means"): the relational features for 1,000,000 enterprises,
about 1.5M people and 3M roles in at most 10 s on 2 cores, measured side by side with a
plain pandas merge-and-groupby version of the same features.

Data: by default a register drawn directly with NumPy (``benchmarks/_register_draw.py``,
the data model's column names): 1,000,000 enterprises with ``address_id`` (84% an
address of their own, 10% shared buildings of about 4, 2% shell clusters of tens, 4%
unknown), 1,500,000 people holding 3,000,000 roles (74% of the people in one enterprise,
a heavy tail up to a few hundred), 350,000 address changes (old and new values, some
missing) and as many of other kinds, 210,000 list entries, 210,000 penalties, 18% of
the enterprises deregistered (a third within a year). ``creditrisk.synth`` draws fewer
roles than that (about 1.9 per enterprise, 1.4 people); ``--synth`` measures its world
instead (``generate(..., indicators=True)``). The tables are cached as parquet files under
the system temp dir (``creditrisk-bench-relations``), keyed by the size, seed and a
hash of the drawing code and of ``creditrisk.data``; ``--fresh`` redraws them.

Measured at one as-of date (2024-07-01), each job in its own process (peak RSS is the
job's own, the high-water mark reset after loading the tables), one after the other:

- ``relations.compute``: the 7 features of every enterprise from a fresh ``Source``;
- ``build_features``: ``creditrisk.spine`` + ``creditrisk.build_features`` with
  ``FeatureSpec(features=<the 7>)`` (the public path; the spine holds the enterprises
  registered and not deregistered);
- chunked: the register in ``--chunks`` chunks of ``ChunkedRegister`` (as batch
  scoring reads an in-memory register; each chunk carries the whole register), spine +
  ``build_features`` per chunk; and the same with the whole-register values not kept
  (each chunk computes the whole register again, as before they were kept);
- pandas: ``benchmarks/_pandas_relations.py``, merges and groupbys of the same features;
- ``--main``: ``relations.compute`` of the source at git ``main`` (before this work),
  for comparison (its values differ where an enterprise has no registration date).

Agreement: every job's values are compared with ``relations.compute``'s on the rows it
computed ("same values").

Usage::

    .venv/bin/python benchmarks/bench_relations.py                 # full run (~3 min)
    .venv/bin/python benchmarks/bench_relations.py --n 100000      # quick
    .venv/bin/python benchmarks/bench_relations.py --main --out /tmp/results/x.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import (
    GIB,
    SRC,
    extract_source,
    machine,
    markdown,
    peak_rss,
    reset_peak_rss,
    rss,
    source_commit,
    source_hash,
)

HERE = Path(__file__).resolve().parent
AS_OF = "2024-07-01"
TARGET_SECONDS = 10.0
SEED = 18
JOBS = ("compute", "build", "chunked", "chunked_each", "pandas", "main")


def _cpu() -> float:
    """CPU seconds (user + system) of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _hwm() -> int:
    """This process's own peak RSS (VmHWM, reset by reset_peak_rss), in bytes.

    Not ``ru_maxrss``: it also holds the RSS the process had when forked from the parent,
    which has the tables loaded.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return peak_rss()


def _cache(args) -> Path:
    kind = "synth" if args.synth else "drawn"
    drawing = hashlib.sha256((HERE / "_register_draw.py").read_bytes()).hexdigest()[:8]
    key = drawing + "-" + source_hash(SRC / "data")
    if args.synth:
        key += "-" + source_hash(SRC / "synth")
    root = Path(tempfile.gettempdir()) / "creditrisk-bench-relations"
    return root / f"{kind}-{args.n}-seed{args.seed}-{key}"


def _make(args) -> dict:
    """Draw (or generate) the register and cache it; return what it took."""
    import creditrisk as cr

    path = _cache(args)
    if path.exists() and not args.fresh:
        return {"cached": str(path)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tick = time.perf_counter()
    if args.synth:
        world = cr.synth.generate(
            args.n, "2018-01-01", "2025-12-31", seed=args.seed, indicators=True
        )
        tables = world.tables
    else:
        sys.path.insert(0, str(HERE))
        from _register_draw import draw_register

        tables = cr.EventTables(**draw_register(args.n, seed=args.seed))
    seconds = time.perf_counter() - tick
    tables.write(path, overwrite=True)  # parquet files, written whole or not at all
    return {"made": str(path), "seconds": seconds}


def _child(args) -> None:
    """One job in this process: load the tables, time the job, save its values."""
    import creditrisk as cr
    from creditrisk.features import relations
    from creditrisk.features.catalogue import FeatureSpec
    from creditrisk.features.source import Source, to_day

    tables = cr.EventTables.read(_cache(args))
    names = [f.name for f in relations.FEATURES]
    ids = tables.enterprises["entity_id"]
    loaded = rss()
    reset = reset_peak_rss()
    detail = ""
    tick, cpu = time.perf_counter(), _cpu()
    if args.child in ("compute", "main"):
        n = len(ids)
        out = relations.compute(Source(tables), np.arange(n), to_day(args.as_of), FeatureSpec())
        rows = np.arange(n)
    elif args.child == "build":
        spine = cr.spine(tables, args.as_of)
        x = cr.build_features(tables, spine, FeatureSpec(features=tuple(names)))
        out = {name: x[name].to_numpy() for name in names}
        rows = pd.Index(ids).get_indexer(x["entity_id"])
        detail = f"{len(x):,} spine rows"
    elif args.child in ("chunked", "chunked_each"):
        from creditrisk.jobs.scoring import ChunkedRegister

        if args.child == "chunked_each":  # each chunk computes the whole register again
            relations._whole_values = lambda whole, as_of, source: relations._values(
                source(), as_of
            )
        size = math.ceil(len(ids) / args.chunks)
        register = ChunkedRegister(tables, chunk_size=size)
        span = cr.data.data_span(tables)
        spec = FeatureSpec(features=tuple(names))
        parts, built = [], 0.0
        for chunk in register:
            start = time.perf_counter()
            spine = cr.spine(chunk, args.as_of, span=span)
            parts.append(cr.build_features(chunk, spine, spec, span=span))
            built += time.perf_counter() - start
        x = pd.concat(parts)
        out = {name: x[name].to_numpy() for name in names}
        rows = pd.Index(ids).get_indexer(x["entity_id"])
        detail = f"{len(parts)} chunks of {size:,}; spine + build_features {built:.2f} s of it"
    elif args.child == "pandas":
        sys.path.insert(0, str(HERE))
        from _pandas_relations import relations as pandas_relations

        x = pandas_relations(tables, args.as_of)
        out = {name: x[name].to_numpy() for name in names}
        rows = pd.Index(ids).get_indexer(x.index)
    seconds, cpu = time.perf_counter() - tick, _cpu() - cpu
    peak = _hwm() if reset else 0
    np.savez(args.values, rows=rows, **{k: np.asarray(v, dtype=np.int64) for k, v in out.items()})
    result = {"seconds": seconds, "cpu": cpu, "loaded": loaded, "peak": peak, "detail": detail}
    print(json.dumps(result))


def _load() -> str:
    return "load average " + " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _run(args, job: str, values: Path, pythonpath: str) -> dict:
    command = [sys.executable, __file__, "--child", job, "--values", str(values)]
    command += ["--n", str(args.n), "--seed", str(args.seed), "--as-of", args.as_of]
    command += ["--chunks", str(args.chunks)] + (["--synth"] if args.synth else [])
    env = dict(os.environ, PYTHONPATH=pythonpath)
    before = _load()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{job} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load"] = before
    return result


def _same(reference: dict, values: Path) -> str:
    got = np.load(values)
    rows = got["rows"]
    if (rows < 0).any():
        return "no (unknown rows)"
    names = [k for k in got.files if k != "rows"]
    differ = [k for k in names if not np.array_equal(got[k], reference[k][rows])]
    return "yes" if not differ else "no: " + ", ".join(differ)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="enterprises")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument("--chunks", type=int, default=10, help="chunks of the chunked runs")
    parser.add_argument("--synth", action="store_true", help="creditrisk.synth's world instead")
    parser.add_argument("--fresh", action="store_true", help="draw the register again")
    parser.add_argument("--main", action="store_true", help="also time git main's relations")
    parser.add_argument("--skip", nargs="*", default=[], choices=JOBS, help="jobs to leave out")
    parser.add_argument("--out", help="also append the Markdown section to this file")
    parser.add_argument("--child", choices=JOBS, help=argparse.SUPPRESS)
    parser.add_argument("--values", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    import creditrisk as cr
    from creditrisk.features import relations

    made = _make(args)
    tables = cr.EventTables.read(_cache(args))
    rows = {name: len(frame) for name, frame in tables}
    people = tables.roles["person_id"].nunique()
    per_person = tables.roles.groupby("person_id", observed=True)["entity_id"].nunique()
    one = float((per_person == 1).mean())
    del tables, per_person

    jobs = [j for j in JOBS[:-1] if j not in args.skip]
    if args.main and "main" not in args.skip:
        jobs.append("main")
    work = Path(tempfile.mkdtemp(prefix="bench-relations-"))
    here = str(SRC.parent)
    paths = {job: here for job in jobs}
    if "main" in jobs:
        paths["main"] = str(extract_source("main", work / "main"))
    results = {}
    try:
        for job in jobs:
            print(f"{job} ...", flush=True)
            results[job] = _run(args, job, work / f"{job}.npz", paths[job])
        reference = dict(np.load(work / "compute.npz")) if "compute" in results else None
        same = {job: _same(reference, work / f"{job}.npz") for job in results if reference}
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the values (and git main's source)

    labels = {
        "compute": "creditrisk `relations.compute` (all enterprises)",
        "build": "creditrisk `spine` + `build_features` (the 7 features)",
        "chunked": f"creditrisk chunked: {args.chunks} chunks, whole register kept",
        "chunked_each": f"creditrisk chunked: {args.chunks} chunks, each recomputing the whole",
        "pandas": "pandas merge + groupby (`_pandas_relations.py`)",
        "main": "creditrisk `relations.compute` at git main (before)",
    }
    table = []
    for job, result in results.items():
        agree = "(reference)" if job == "compute" else same.get(job, "?")
        table.append(
            {
                "run": labels[job],
                "wall s": f"{result['seconds']:.2f}",
                "CPU s": f"{result['cpu']:.2f}",
                "peak RSS GiB (tables loaded)": f"{result['peak'] / GIB:.2f} "
                f"({result['loaded'] / GIB:.2f})",
                "same values": agree,
                "load before": result["load"].removeprefix("load average "),
                "note": result["detail"],
            }
        )
    frame = pd.DataFrame(table)
    data = (
        "creditrisk.synth world (indicators=True)"
        if args.synth
        else "register drawn with NumPy (benchmarks/_register_draw.py; not creditrisk.synth)"
    )
    lines = [
        f"### Related-party features: {args.n:,} enterprises, {people:,} people, "
        f"{rows.get('roles', 0):,} roles, as of {args.as_of}",
        "",
        f"`{' '.join(['.venv/bin/python', 'benchmarks/bench_relations.py', *sys.argv[1:]])}` "
        f"on {time.strftime('%Y-%m-%d %H:%M')}, {machine()}, {source_commit()}, "
        f"creditrisk {cr.__version__}. Each run a fresh process; wall time of the job alone "
        "(loading the cached tables not timed), and its CPU time (user + system, all "
        "threads: less sensitive than the wall time to other work on the machine); peak "
        "RSS of the job's process after its high-water mark was reset with the tables "
        "loaded. Load: the 1-, 5- and 15-minute "
        "load averages just before each run (2 cores: a load above 2 means other work "
        "shared the cores).",
        "",
        f"Data: {data}; "
        + ", ".join(f"{k} {v:,}" for k, v in rows.items() if v)
        + f"; {one:.0%} of the people hold roles in one enterprise. "
        + (
            f"Drawn in {made['seconds']:.1f} s (not timed)."
            if "seconds" in made
            else "Read from the cache."
        ),
        "",
        markdown(frame),
        "",
        f"Target (issue 18): at most {TARGET_SECONDS:.0f} s on 2 cores for 1,000,000 "
        f"enterprises. Kept dates of the whole register: {relations._KEEP_DATES}.",
    ]
    text = "\n".join(lines)
    print()
    print(text)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "a") as f:
            f.write(text + "\n\n")


if __name__ == "__main__":
    main()
