"""Throughput (issue 20): Arrow reads from PostgreSQL, chunked scoring from a database,
both cores in batch scoring, side by side with the paths they replace, in one run.

Data: bench_sql.py's world (1,000,000 enterprises, 2018-01-01 .. 2025-12-31, seed 61,
parquet under ``<tmp>/creditrisk-bench-sql/``) and its PostgreSQL database
(``creditrisk_bench_sql`` on ``--url``, loaded with COPY, primary keys, ANALYZE), made
or reused the way bench_sql.py makes them. Model: bench_scoring.py's
(``fit_model(num_threads=2)`` on 200,000 enterprises, seed 62), fitted once into
``<tmp>/creditrisk-bench-throughput/`` and reused.

Measured, each job a fresh process, one after the other (wall time of the step, imports
excluded; peak RSS of the process, ``ru_maxrss``; CPU of the job and, from /proc/stat,
of everything else on the machine meanwhile: the PostgreSQL server, and other work
when the machine is shared):

reads of the whole register, validation included
    (a) ``EventTables.read_sql(url)``: PostgreSQL through ADBC (Arrow);
    (b) the same through SQLAlchemy's psycopg rows (``read_frames(..., arrow=False)``),
        the path before issue 20;
    (c) naive: ``pd.read_sql_table`` of each whole table, then validation;
    (d) ``EventTables.read(parquet).validate()``.
scoring 1,000,000 enterprises as of 2025-07-01 (scores, tiers, top-3 reasons, features)
    (e) ``score_register(parquet dir, overlap=False)``: one chunk after the other;
    (f) ``score_register(parquet dir)``: the next chunk read and built in a second
        thread while this one is scored (the default); (f') the same in a forked
        process (``overlap="process"``);
    (g) ``score_register(postgresql URL)``: chunk by chunk from the database, with
        the read-ahead thread; (g') without.

Agreement: the fingerprints of (a)-(c) equal (d)'s; (e)-(g') write files with the
same SHA-256. Peak memory of a job with a worker process is its own plus the worker's
(``RUSAGE_CHILDREN``; the two share pages after the fork, so the sum overstates).

Usage::

    .venv/bin/python benchmarks/bench_throughput.py            # 1,000,000 enterprises
    .venv/bin/python benchmarks/bench_throughput.py --quick    # 100,000

It prints a Markdown block for RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _report import GIB, machine, markdown, peak_rss, source_commit, world_key

HERE = Path(__file__).resolve().parent
AS_OF = "2025-07-01"
MODEL_N, MODEL_SEED = 200_000, 62
TICKS = os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> float:
    with open("/proc/stat") as handle:
        values = [int(v) for v in handle.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


def run_job(args: list[str]) -> dict:
    """One child process: its JSON line, its own CPU, the rest of the machine's CPU."""
    before = _machine_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=HERE,
    )
    out, _ = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"job {args} failed with {proc.returncode}")
    job = json.loads(out.strip().splitlines()[-1])
    cpu = job.pop("cpu")
    job |= {"cpu": cpu, "others_cpu": max(_machine_cpu() - before - cpu, 0.0), "job_wall": wall}
    return job


# -- children -----------------------------------------------------------------------------
def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _child_read(method: str, source: str) -> None:
    import sqlalchemy as sa

    import creditrisk as cr
    from creditrisk.data import sql
    from creditrisk.data.schema import TABLE_NAMES, TABLES

    t0 = time.perf_counter()
    if method == "adbc":
        tables = cr.EventTables.read_sql(source)
    elif method == "sqlalchemy":
        tables = cr.EventTables(**sql.read_frames(source, arrow=False)).validate()
    elif method == "naive":
        engine = sa.create_engine(source)
        with engine.connect() as connection:
            frames = {name: pd.read_sql_table(name, connection) for name in TABLE_NAMES}
        engine.dispose()
        tables = cr.EventTables(**frames).validate()
    elif method == "parquet":
        tables = cr.EventTables.read(source).validate()
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - t0
    peak, cpu = peak_rss(), _cpu()
    rows = sum(len(frame) for _, frame in tables)
    if method == "naive":  # read_sql_table promises no order
        tables = tables.replace(
            **{n: f.sort_values(list(TABLES[n].key), ignore_index=True) for n, f in tables}
        )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak": peak,
                "cpu": cpu,
                "rows": rows,
                "fingerprint": tables.fingerprint(),
            }
        )
    )


def _child_score(source: str, model: str, out: str, overlap: str) -> None:
    import resource

    import creditrisk as cr
    from creditrisk.jobs.scoring import score_register

    chosen = cr.RiskModel.load(model).set_params(num_threads=2)
    t0 = time.perf_counter()
    chosen_overlap = {"no": False, "thread": "thread", "process": "process"}[overlap]
    manifest = score_register(source, chosen, AS_OF, out, overlap=chosen_overlap)
    seconds = time.perf_counter() - t0
    worker = resource.getrusage(resource.RUSAGE_CHILDREN)
    children = worker.ru_maxrss * 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak": peak_rss(),
                "cpu": _cpu() + worker.ru_utime + worker.ru_stime,
                "worker_peak": children,
                "rows": manifest["rows"],
                "sha256": manifest["output"]["sha256"],
                "timings": manifest["timings_s"],
            }
        )
    )


# -- the run ---------------------------------------------------------------------------------
def ensure_model(cache: Path) -> Path:
    directory = cache / f"model-{MODEL_N}-seed{MODEL_SEED}"
    if not (directory / "model.txt").exists():
        cmd = [sys.executable, str(HERE / "bench_scoring.py"), "--child", "fit"]
        cmd += ["--n", str(MODEL_N), "--seed", str(MODEL_SEED), "--out", str(directory)]
        subprocess.run(cmd, check=True, cwd=HERE, stdout=subprocess.DEVNULL)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 enterprises")
    parser.add_argument("--url", default=None, help="PostgreSQL server (SQLAlchemy URL)")
    parser.add_argument("--child", choices=["read", "score"], help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--overlap", default="thread", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "read":
        return _child_read(args.method, args.source)
    if args.child == "score":
        return _child_score(args.source, args.model, args.out, args.overlap)

    import bench_sql

    import creditrisk as cr

    n = 100_000 if args.quick else 1_000_000
    url = args.url or bench_sql.DEFAULT_URL
    logs = Path(tempfile.mkdtemp(prefix="bench_throughput_"))
    print(
        f"# bench_throughput  {time.strftime('%Y-%m-%d')}  {machine()}  creditrisk "
        f"{cr.__version__} ({source_commit()})",
        flush=True,
    )
    data, _, how = bench_sql.ensure_world(n, bench_sql.SEED, False, logs)
    key = json.dumps(world_key(n, bench_sql.SEED, bench_sql.START, bench_sql.END), sort_keys=True)
    bench_sql.ensure_database(url, key, False, data, logs)
    db_url, _, _ = bench_sql._urls(url)
    model = ensure_model(Path(tempfile.gettempdir()) / "creditrisk-bench-throughput")
    print(f"world {data} ({how}); {bench_sql.server_version(url)}; model {model}", flush=True)

    reads = [
        ("(a) EventTables.read_sql(url): ADBC, Arrow", "adbc", db_url),
        ("(b) the same through SQLAlchemy + psycopg rows (before)", "sqlalchemy", db_url),
        ("(c) naive: pd.read_sql_table x 6, then validate", "naive", db_url),
        ("(d) EventTables.read(parquet).validate()", "parquet", str(data)),
    ]
    read_rows = []
    for label, method, source in reads:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        job = run_job(["--child", "read", "--method", method, "--source", source])
        read_rows.append((label, method, job))
    reference = read_rows[-1][2]["fingerprint"]
    naive = next(job for _, m, job in read_rows if m == "naive")["seconds"]
    table = pd.DataFrame(
        [
            {
                "read": label,
                "rows": f"{job['rows']:,}",
                "wall s": f"{job['seconds']:.1f}",
                "rows/s": f"{job['rows'] / job['seconds']:,.0f}",
                "vs naive": f"{naive / job['seconds']:.2f}x",
                "peak RSS GiB": f"{job['peak'] / GIB:.2f}",
                "CPU s job / rest of machine": f"{job['cpu']:.1f} / {job['others_cpu']:.1f}",
                "same tables as parquet": "yes" if job["fingerprint"] == reference else "**NO**",
            }
            for label, _, job in read_rows
        ]
    )
    print("\n### Reading the register\n\n" + markdown(table), flush=True)

    scores = [
        ("(e) parquet, sequential (overlap=False, the path before)", str(data), "no"),
        ("(f) parquet, read-ahead thread (overlap=True, the default)", str(data), "thread"),
        ("(f') parquet, read-ahead process (overlap='process')", str(data), "process"),
        ("(g) PostgreSQL URL, chunk by chunk, read-ahead thread", db_url, "thread"),
        ("(g') PostgreSQL URL, chunk by chunk, sequential", db_url, "no"),
    ]
    score_rows = []
    for i, (label, source, overlap) in enumerate(scores):
        print(f"  {label} ...", file=sys.stderr, flush=True)
        cmd = ["--child", "score", "--source", source, "--model", str(model)]
        cmd += ["--out", str(logs / f"scores-{i}.parquet"), "--overlap", overlap]
        job = run_job(cmd)
        score_rows.append((label, job))
    first = score_rows[0][1]
    table = pd.DataFrame(
        [
            {
                "scoring": label,
                "rows": f"{job['rows']:,}",
                "wall s": f"{job['seconds']:.1f}",
                "peak RSS GiB (+ worker process)": f"{job['peak'] / GIB:.2f}"
                + (f" (+ {job['worker_peak'] / GIB:.2f})" if job["worker_peak"] else ""),
                "vs (e) peak": f"{(job['peak'] + job['worker_peak']) / first['peak']:.2f}x",
                "CPU s job (cores busy) / rest": (
                    f"{job['cpu']:.1f} ({job['cpu'] / job['job_wall']:.2f}) / "
                    f"{job['others_cpu']:.1f}"
                ),
                "stages s (read, features_and_scores, write)": ", ".join(
                    f"{job['timings'][k]:.1f}" for k in ("read", "features_and_scores", "write")
                ),
                "same file as (e)": "yes" if job["sha256"] == first["sha256"] else "**NO**",
            }
            for label, job in score_rows
        ]
    )
    print("\n### Scoring as of " + AS_OF + "\n\n" + markdown(table), flush=True)


if __name__ == "__main__":
    main()
