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
    (e) ``score_register(parquet dir, overlap=False)``: one process, one chunk after
        the other (the sequential path);
    (f) ``score_register(parquet dir)``: one process, the next chunk read and built in
        a second thread while this one is scored; (f') the same in a forked process
        (``overlap="process"``);
    (j) ``score_register(parquet dir, n_jobs=2)``: two forked processes each scoring
        whole chunks while the job writes them in order (what ``creditrisk score``
        does by default, ``--jobs -1``, on two cores);
    (g) ``score_register(postgresql URL, n_jobs=2)``: the same, each chunk read from
        the database; (g') one process with the read-ahead thread; (g'') sequential.

Spark, on a world of ``--spark-n`` enterprises (default 100,000, seed 61, generated and
cached like the others), scored as of 2025-07-01 with the same model:
    (h) ``creditrisk score --engine spark --spark-master local[2]``;
    (i) a standalone cluster on loopback: a master and two workers of one core and
        2 GiB each, started with the installed PySpark's ``bin/spark-class`` (start-up
        timed apart), and the job submitted with ``bin/spark-submit`` of a driver
        script (``creditrisk.jobs.spark.main``), its wall time from submission to exit.
    Rows compared after sorting by entity_id.

Agreement: the fingerprints of (a)-(c) equal (d)'s; (e)-(g'') write files with the
same SHA-256. Peak memory of a job with worker processes is its own plus, per worker,
the largest worker's (``RUSAGE_CHILDREN`` gives the largest; workers share pages with
the job after the fork and do not all peak at once, so the sum overstates).

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
    if overlap.startswith("jobs"):  # n_jobs processes, each scoring whole chunks
        options = {"n_jobs": int(overlap[4:])}
    else:
        options = {"overlap": {"no": False, "thread": "thread", "process": "process"}[overlap]}
    manifest = score_register(source, chosen, AS_OF, out, **options)
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
                "processes": manifest["processes"],
            }
        )
    )


# -- Spark -------------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spark_jobs(data: Path, model: Path, logs: Path) -> list[tuple[str, dict]]:
    """(h) local[2] through the command, (i) a standalone master and two workers."""
    import shutil
    import signal

    import pyspark

    home = Path(pyspark.__file__).resolve().parent
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "PYSPARK_PYTHON": sys.executable,
        "SPARK_DAEMON_MEMORY": "512m",
    }
    results = []
    out = logs / "spark-local.parquet"
    cmd = [sys.executable, "-m", "creditrisk", "score", "--engine", "spark"]
    cmd += ["--spark-master", "local[2]", "--model", str(model), "--data", str(data)]
    cmd += ["--as-of", AS_OF, "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, cwd=logs)
    label = "(h) Spark local[2] (creditrisk score --engine spark)"
    results.append((label, out, time.perf_counter() - t0, None))

    port, started = _free_port(), []

    def launch(name: str, *args: str) -> Path:
        log = logs / f"{name}.log"
        with log.open("wb") as handle:
            started.append(
                subprocess.Popen(
                    [str(home / "bin" / "spark-class"), *args],
                    env=env,
                    cwd=logs,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        return log

    def wait(log: Path, text: str) -> None:
        deadline = time.monotonic() + 120
        while text not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{log}: no {text!r}")
            time.sleep(0.2)

    try:
        t_up = time.perf_counter()
        log = launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", "0"),
        )
        wait(log, "I have been elected leader")
        worker_logs = []
        for i in range(2):
            work = logs / f"worker-{i}"
            work.mkdir(exist_ok=True)
            worker_logs.append(
                launch(
                    f"worker-{i}",
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", "127.0.0.1", "--cores", "1", "--memory", "2g"),
                    *("--webui-port", "0", "--work-dir", str(work)),
                    f"spark://127.0.0.1:{port}",
                )
            )
        for log in worker_logs:
            wait(log, "Successfully registered with master")
        up = time.perf_counter() - t_up
        script = logs / "score_job.py"
        script.write_text("from creditrisk.jobs.spark import main\nmain()\n")
        out = logs / "spark-standalone.parquet"
        submit = [str(home / "bin" / "spark-submit"), "--master", f"spark://127.0.0.1:{port}"]
        submit += ["--conf", "spark.executor.memory=1536m", "--conf", "spark.executor.cores=1"]
        submit += ["--conf", f"spark.pyspark.python={sys.executable}"]
        submit += ["--conf", "spark.ui.enabled=false", "--driver-memory", "1g", str(script)]
        submit += ["--data", str(data), "--model", str(model), "--as-of", AS_OF]
        submit += ["--out", str(out)]
        t0 = time.perf_counter()
        subprocess.run(submit, check=True, env=env, cwd=logs, capture_output=True)
        label = "(i) Spark standalone: master + 2 workers x 1 core (spark-submit)"
        results.append((label, out, time.perf_counter() - t0, up))
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(logs / "worker-0", ignore_errors=True)
        shutil.rmtree(logs / "worker-1", ignore_errors=True)
    return results


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
    parser.add_argument("--spark-n", type=int, default=100_000, help="enterprises for Spark")
    parser.add_argument(
        "--only", choices=["reads", "scores", "spark"], help="just one of the three parts"
    )
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
    world = world_key(n, bench_sql.SEED, bench_sql.START, bench_sql.END, indicators=False)
    key = json.dumps(world, sort_keys=True)
    bench_sql.ensure_database(url, key, False, data, logs)
    db_url, _, _ = bench_sql._urls(url)
    model = ensure_model(Path(tempfile.gettempdir()) / "creditrisk-bench-throughput")
    print(f"world {data} ({how}); {bench_sql.server_version(url)}; model {model}", flush=True)

    if args.only in (None, "reads", "scores"):
        reads_and_scores(data, db_url, model, logs, args.only)
    if args.only not in (None, "spark"):
        return
    spark_data, _, _ = bench_sql.ensure_world(args.spark_n, bench_sql.SEED, False, logs)
    expected = logs / "pandas-for-spark.parquet"
    cmd = ["--child", "score", "--source", str(spark_data), "--model", str(model)]
    job = run_job([*cmd, "--out", str(expected), "--overlap", "no"])
    keys = ["entity_id", "as_of"]
    reference = pd.read_parquet(expected).sort_values(keys, ignore_index=True)
    rows = []
    for label, out, seconds, up in spark_jobs(spark_data, model, logs):
        got = pd.read_parquet(out).sort_values(keys, ignore_index=True)
        same = len(got) == len(reference) and all(
            got[c].astype(str).tolist() == reference[c].astype(str).tolist()
            for c in ("entity_id", "tier", "score_tier", "reason_1", "reason_2", "reason_3")
        )
        same = same and got["probability"].tolist() == reference["probability"].tolist()
        rows.append(
            {
                "engine": label,
                "rows": f"{len(got):,}",
                "wall s": f"{seconds:.1f}",
                "cluster start-up s": "" if up is None else f"{up:.1f}",
                "same rows as the pandas engine": "yes" if same else "**NO**",
            }
        )
    rows.append(
        {
            "engine": "pandas engine, sequential (reference)",
            "rows": f"{job['rows']:,}",
            "wall s": f"{job['seconds']:.1f}",
            "cluster start-up s": "",
            "same rows as the pandas engine": "reference",
        }
    )
    print(
        f"\n### Spark, {args.spark_n:,} enterprises as of {AS_OF}\n\n"
        + markdown(pd.DataFrame(rows)),
        flush=True,
    )


def reads_and_scores(data: Path, db_url: str, model: Path, logs: Path, only: str | None) -> None:
    if only != "scores":
        reads(data, db_url)
    if only != "reads":
        scores(data, db_url, model, logs)


def reads(data: Path, db_url: str) -> None:
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


def _workers(job: dict) -> int:
    """Worker processes of a scoring job: its scoring processes, or one read-ahead."""
    return job["processes"] if job["processes"] > 1 else 1


def _total_peak(job: dict) -> float:
    """The job's peak plus each worker at the largest worker's peak: an upper bound, as
    forked workers share pages with the job and do not all peak at once."""
    return job["peak"] + (_workers(job) * job["worker_peak"] if job["worker_peak"] else 0)


def scores(data: Path, db_url: str, model: Path, logs: Path) -> None:

    scores = [
        ("(e) parquet, one process, sequential (overlap=False)", str(data), "no"),
        ("(f) parquet, one process, read-ahead thread (overlap=True)", str(data), "thread"),
        ("(f') parquet, one process, read-ahead process (overlap='process')", str(data), "process"),
        ("(j) parquet, two scoring processes (n_jobs=2; score --jobs -1)", str(data), "jobs2"),
        ("(g) PostgreSQL URL, two scoring processes (n_jobs=2)", db_url, "jobs2"),
        ("(g') PostgreSQL URL, one process, read-ahead thread", db_url, "thread"),
        ("(g'') PostgreSQL URL, one process, sequential", db_url, "no"),
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
                "peak RSS GiB (+ workers x largest worker)": f"{job['peak'] / GIB:.2f}"
                + (
                    f" (+ {_workers(job)} x {job['worker_peak'] / GIB:.2f})"
                    if job["worker_peak"]
                    else ""
                ),
                "vs (e) peak": f"{_total_peak(job) / first['peak']:.2f}x",
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
