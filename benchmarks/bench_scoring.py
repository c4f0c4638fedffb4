"""Batch scoring of a whole register (issue 6): chunked pandas, all at once, Spark.

The chunked pandas engine, the naive whole-register run and Spark ``local[2]``, side by
side.

Target (issue 6): 1,000,000 enterprises from event tables to tiers and reasons in under
90 s and under 4 GB peak on 2 cores, with the Spark local run's time beside it.

Data: a synthetic world of 1,000,000 enterprises (2018-01-01 .. 2025-12-31, seed 61)
whose six event tables are written as parquet into a cache directory under the system
temp dir (``creditrisk-bench-scoring/world-<n>-seed<seed>``), reused by later runs when
its marker file matches (enterprises, seed, dates, creditrisk version and a hash of the
generator's source); ``--fresh`` regenerates it. Generation is timed but is not part of
the target. The register is scored as of 2025-07-01 (every entity registered then).

Model: ``creditrisk.fit_model(tables, num_threads=2)`` (national policy, its default
as-of plan: training every 6 months, test 2025-01-01) on a separate world of 200,000
enterprises (seed 62), saved into the cache too (``model-<n>-seed<seed>``): a model
of realistic size (a couple of hundred trees of depth 3), not the packaged sample model
(about 50 trees, which would flatter the timing).

Measured, each job in its own process, one after the other:

(a) the chunked pandas engine through the actual command line,
    ``creditrisk score --model M --data D --as-of 2025-07-01 --out scores.parquet
    --threads 2`` (default chunk of 250,000 entities, and again with ``--chunk-size
    100000`` to show memory following the chunk): wall time, peak RSS, and the stage
    timings its manifest records (read, features_and_scores, write; "the rest" of the
    manifest's total is the register's entity ids, span and whole-register key check
    and the SHA-256 of the input and output files; wall minus the manifest's total is
    start-up: imports and loading the model);
(b) the naive baseline, the whole register at once in one process:
    ``EventTables.read`` + ``validate`` + ``spine`` + ``build_features`` +
    ``model.score`` + ``to_parquet`` (scores and features, as the command writes them),
    each step timed, with its own peak RSS (the high-water mark reset before it, which
    also lowers what wait4 reports: the job's peak is the largest step's);
(c) the Spark engine, ``creditrisk score --engine spark --spark-master local[2]``, with
    the same model, data and date: wall time (JVM start-up included).

Peak RSS is the job's own: ``os.wait4`` on the child returns its resource usage, whose
``ru_maxrss`` is the largest resident set of the child or of any descendant it waited
for, i.e. of ONE process, never a sum. That is the whole story for (a) and (b) (one
process); for Spark (a Python driver, a JVM and Python workers) it is not, so beside it
the script samples the process tree every 0.5 s and reports the peak of the summed
proportional set size (PSS, shared pages split between the processes sharing them):
a sampled figure, which can miss a short spike, and each process's own peak (VmHWM:
the JVM, the Python workers, the driver).

CPU: each job's CPU time (user + system) beside the machine's (/proc/stat), so the
table says how many of the 2 cores the job kept busy and how much other work ran
meanwhile. A job starts only once other work uses under 15% of the cores, and a job
that other work disturbed anyway (0.15 cores or more) is run again, at most twice.

Agreement: the rows of (a), (b) and (c) (Spark's parquet directory read with pandas),
sorted by entity_id, are compared column by column on every score column: same
entities, identical tiers, probabilities (exact), reasons and their contributions.

Usage::

    .venv/bin/python benchmarks/bench_scoring.py            # full run (about 3 minutes;
                                                            # 5 the first time, with the
                                                            # world and the model)
    .venv/bin/python benchmarks/bench_scoring.py --quick    # 100,000 enterprises (same
                                                            # 200,000-enterprise model)
    .venv/bin/python benchmarks/bench_scoring.py --fresh    # regenerate the cache
    .venv/bin/python benchmarks/bench_scoring.py --no-spark # skip (c)

It prints a Markdown block to paste into RESULTS.md (date, machine, commit).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import (
    GIB,
    SRC,
    generate_world,
    machine,
    markdown,
    peak_rss,
    reset_peak_rss,
    rss,
    source_commit,
    source_hash,
    world_key,
)

START, END, AS_OF = "2018-01-01", "2025-12-31", "2025-07-01"
SEED, MODEL_N, MODEL_SEED = 61, 200_000, 62
CHUNKS = (250_000, 100_000)  # the command's default, then a smaller one
TARGET_SECONDS, TARGET_BYTES = 90.0, 4e9  # issue 6: under 90 s and 4 GB, 2 cores
SAMPLE_EVERY = 0.5  # seconds between samples of the process tree's memory
TIMEOUT = 3600  # seconds for one job
RETRIES, DISTURBED = 2, 0.15  # a job run while others used >= 0.15 cores is run again
LINGER = 60  # seconds a job's leftover processes get to end on their own
TICKS = os.sysconf("SC_CLK_TCK")
HERE = Path(__file__).resolve().parent
#: what the fitted model depends on (a change refits it; cli.py, scoring.py... do not)
MODEL_SOURCES = (
    "synth",
    "features",
    "policies",
    "cohort.py",
    "data.py",
    "labels.py",
    "model.py",
    "policy.py",
    "schema.py",
    "training.py",
)
SCORE_COLUMNS = (
    "entity_id",
    "as_of",
    "probability",
    "score_tier",
    "tier",
    "override",
    "override_reason",
)


# -- child jobs (run as ``bench_scoring.py --child ...``) -----------------------------------
def _child_fit(n: int, seed: int, out: str) -> None:
    import creditrisk as cr

    t0 = time.perf_counter()
    tables = cr.synth.generate(n, START, END, seed=seed).tables
    t1 = time.perf_counter()
    result = cr.fit_model(tables, num_threads=2)
    t2 = time.perf_counter()
    model = result.model
    model.save(out, overwrite=True)
    print(
        json.dumps(
            {
                "seconds_generate": t1 - t0,
                "seconds_fit": t2 - t1,
                "trees": int(model.n_trees_),
                "max_depth": int(model.max_depth),
                "features": int(model.n_features_in_),
                "auc": float(result.metrics["auc"]),
                "test_as_of": str(pd.Timestamp(result.X_test["as_of"].iloc[0]).date()),
                "peak": peak_rss(),
            },
            default=str,
        )
    )


def _child_naive(data: str, model_dir: str, as_of: str, out: str) -> None:
    """The whole register at once: read, validate, spine, features, score, write.

    Each step is timed, and its own peak RSS is read by resetting the high-water mark
    to the current RSS before it (Linux clear_refs), beside the RSS held after it.
    """
    import creditrisk as cr

    seconds, peaks, held = {}, {}, {}
    can_reset = True

    def step(name, fn):
        nonlocal can_reset
        can_reset = reset_peak_rss() and can_reset
        t0 = time.perf_counter()
        value = fn()
        seconds[name] = time.perf_counter() - t0
        peaks[name], held[name] = peak_rss(), rss()
        return value

    def load():
        model = cr.RiskModel.load(model_dir)
        model.set_params(num_threads=2)
        return model

    model = step("load model", load)
    tables = step("read", lambda: cr.EventTables.read(data))
    step("validate", tables.validate)
    rows = step("spine", lambda: cr.spine(tables, as_of))
    X = step("features", lambda: cr.build_features(tables, rows, model.policy_.feature_spec()))
    scores = step("score", lambda: model.classify(X))

    def write():  # scores and features, as the command writes them
        frame = pd.concat([scores, X.drop(columns=["entity_id", "as_of"])], axis=1)
        frame.to_parquet(out, index=False)
        return len(frame)

    written = step("write", write)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peaks": peaks if can_reset else None,
                "held": held,
                "rows": written,
                "peak": max(peaks.values()),  # the resets lowered ru_maxrss
            }
        )
    )


# -- running a job and measuring its memory ---------------------------------------------------
def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU time used so far in clock ticks), from /proc."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _pss(pid: int) -> int:
    """Proportional set size of a process in bytes (its RSS if smaps_rollup is unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _busy() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICKS  # less idle and iowait


def wait_quiet(limit: float = 900.0) -> tuple[float, float]:
    """Wait (up to ``limit`` s) until other work uses under 15% of the cores; (waited, share)."""
    waited, cores = 0.0, os.cpu_count() or 1
    while True:
        before = _busy()
        time.sleep(2.0)
        share = (_busy() - before) / 2.0 / cores
        if share < 0.15 or waited >= limit:
            return waited, share
        time.sleep(8.0)
        waited += 10.0


class TreeSampler(threading.Thread):
    """Samples the summed PSS (and the CPU time) of a process and its descendants."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.most_processes = pid, 0, 0
        self.cpu: dict[int, int] = {}  # pid -> the last CPU ticks seen
        self.hwm: dict[int, tuple[str, int]] = {}  # pid -> (role, its own peak RSS: VmHWM)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_EVERY):
            found = _processes()
            children: dict[int, list[int]] = {}
            for pid, (ppid, _) in found.items():
                children.setdefault(ppid, []).append(pid)
            todo, pids = [self.pid], []
            while todo:
                pid = todo.pop()
                pids.append(pid)
                todo.extend(children.get(pid, []))
            for pid in pids:
                if pid in found:
                    self.cpu[pid] = found[pid][1]
                    role = self.hwm[pid][0] if pid in self.hwm else self._role(pid, found)
                    self.hwm[pid] = role, max(_hwm(pid), self.hwm.get(pid, ("", 0))[1])
            self.peak = max(self.peak, sum(_pss(p) for p in pids))
            self.most_processes = max(self.most_processes, len(pids))

    def cpu_seconds(self) -> float:
        return sum(self.cpu.values()) / TICKS

    def _role(self, pid: int, found: dict) -> str:
        if pid == self.pid:
            return "driver"
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            return "?"
        command = _cmdline(pid)
        if name == "java":
            return "JVM"
        if "pyspark.daemon" in command:
            parent = found.get(pid, (0, 0))[0]
            return "Python worker" if "pyspark.daemon" in _cmdline(parent) else "pyspark daemon"
        return name


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _hwm(pid: int) -> int:
    """A process's own peak resident set (VmHWM) in bytes, 0 if unknown."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def run_job(cmd: list[str], log: Path, *, json_out: bool = False) -> dict:
    """Run ``cmd`` in its own session; wall time, its own peak RSS and the tree's peak PSS."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    waited, share = wait_quiet()
    with log.open("w") as handle:
        busy = _busy()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        timer = threading.Timer(TIMEOUT, lambda: os.killpg(proc.pid, signal.SIGKILL))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's rusage, nobody else's
        wall = time.perf_counter() - t0
        busy = _busy() - busy
        timer.cancel()
        sampler.done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    leftover, lingered = _group_alive(proc.pid), 0.0
    while leftover and lingered < LINGER:  # e.g. a JVM outliving its driver, stopping
        time.sleep(0.5)
        lingered += 0.5
        leftover = _group_alive(proc.pid)
    if leftover:  # still there: ours, so end them by their group id
        os.killpg(proc.pid, signal.SIGTERM)
    text = log.read_text(errors="replace")
    if proc.returncode:
        tail = " | ".join(text.strip().splitlines()[-8:])
        raise RuntimeError(f"{' '.join(cmd[:3])} ... exited {proc.returncode}: {tail}")
    result = {
        "wall": wall,
        "peak": usage.ru_maxrss * 1024,  # KiB on Linux
        "tree_peak": sampler.peak,
        "processes": sampler.most_processes,
        "leftover": leftover,
        "lingered": lingered,
        "waited": waited,
        "busy_before": share,
        "cpu": (own := max(usage.ru_utime + usage.ru_stime, sampler.cpu_seconds())),
        "others": max(busy - own, 0.0) / wall,  # other processes' use, in cores
        "per_process": sorted(sampler.hwm.values(), key=lambda r: -r[1]),
    }
    if json_out:  # the child's own peak counts too (a reset of its high-water mark
        child = json.loads(text.strip().splitlines()[-1])  # lowers what wait4 sees)
        result |= child | {"peak": max(result["peak"], child.get("peak", 0))}
    return result


def measure(cmd: list[str], log: Path, *, json_out: bool = False) -> dict:
    """``run_job``, run again (at most RETRIES more times) while other work disturbed it."""
    disturbed = []
    for attempt in range(RETRIES + 1):
        job = run_job(cmd, log, json_out=json_out)
        if job["others"] < DISTURBED or attempt == RETRIES:
            break
        disturbed.append(f"{job['wall']:.1f} s with {job['others']:.2f} cores used by others")
    job["disturbed"] = disturbed
    return job


def _group_alive(pgid: int) -> list[str]:
    """Processes still alive in a job's process group: 'pid name'."""
    alive = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    name = Path(entry.path, "comm").read_text().strip()
                    alive.append(f"{entry.name} {name}")
            except OSError:
                continue
    return alive


# -- the cache --------------------------------------------------------------------------------
def cached(
    directory: Path, key: dict, make: list[str], fresh: bool, logs: Path
) -> tuple[dict, bool]:
    """The job's record from ``directory/MARKER.json`` if it matches ``key``, else run it."""
    marker = directory / "MARKER.json"
    if not fresh and marker.exists():
        record = json.loads(marker.read_text())
        if record.get("key") == key:
            return record["made"], True
    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    made = run_job(make, logs / f"make-{directory.name}.log", json_out=True)
    marker.write_text(json.dumps({"key": key, "made": made}, indent=2))  # written last
    return made, False


# -- agreement --------------------------------------------------------------------------------
def read_scores(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    names = pq.read_schema(next(path.glob("*.parquet")) if path.is_dir() else path).names
    columns = [c for c in names if c in SCORE_COLUMNS or c.startswith("reason_")]
    frame = pd.read_parquet(path, columns=columns)
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[us]")
    frame["entity_id"] = frame["entity_id"].astype("str")
    return frame.sort_values(["entity_id", "as_of"], kind="stable").reset_index(drop=True)


def agree(reference: pd.DataFrame, other: pd.DataFrame) -> tuple[str, str]:
    """Whether ``other`` has the reference's rows; a verdict and details."""
    if len(other) != len(reference):
        return "FAIL", f"{len(other):,} rows vs {len(reference):,}"
    if not (other["entity_id"].to_numpy() == reference["entity_id"].to_numpy()).all():
        return "FAIL", "different entities"
    notes, ok = [], True
    for column in reference.columns:
        if column not in other.columns:
            ok = False
            notes.append(f"no {column}")
            continue
        a, b = reference[column], other[column]
        if pd.api.types.is_float_dtype(a.dtype) and pd.api.types.is_float_dtype(b.dtype):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            same = (x == y) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                ok = False
                gap = np.nanmax(np.abs(x - y))
                notes.append(f"{column}: {int((~same).sum()):,} differ (max {gap:.3g})")
        else:
            x = a.astype(object).where(a.notna(), "").astype(str).to_numpy()
            y = b.astype(object).where(b.notna(), "").astype(str).to_numpy()
            if not (x == y).all():
                ok = False
                notes.append(f"{column}: {int((x != y).sum()):,} differ")
    checked = (
        f"{len(reference.columns)} columns identical (tiers, probabilities exact, reasons)"
        if ok
        else "; ".join(notes)
    )
    return ("pass" if ok else "FAIL"), checked


# -- main -------------------------------------------------------------------------------------
def _cli() -> list[str]:
    script = Path(sys.executable).parent / "creditrisk"
    return [str(script)] if script.exists() else [sys.executable, "-m", "creditrisk"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="enterprises to score")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--model-n", type=int, default=MODEL_N, help="enterprises to fit on")
    parser.add_argument("--model-seed", type=int, default=MODEL_SEED)
    parser.add_argument("--as-of", default=AS_OF)
    parser.add_argument(
        "--chunk-sizes", default=",".join(str(c) for c in CHUNKS), help="comma separated"
    )
    parser.add_argument(
        "--cache", default=str(Path(tempfile.gettempdir()) / "creditrisk-bench-scoring")
    )
    parser.add_argument("--fresh", action="store_true", help="regenerate the world and model")
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark run")
    parser.add_argument("--quick", action="store_true", help="100,000 enterprises")
    parser.add_argument("--child", choices=["generate", "fit", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        return generate_world(args.n, args.seed, START, END, args.out)
    if args.child == "fit":
        return _child_fit(args.n, args.seed, args.out)
    if args.child == "naive":
        return _child_naive(args.data, args.model, args.as_of, args.out)
    if args.quick:
        args.n = 100_000
    chunks = [int(c) for c in args.chunk_sizes.split(",") if c.strip()]

    started = time.perf_counter()
    import lightgbm as lgb
    import pyarrow as pa

    import creditrisk as cr

    try:
        import pyspark

        spark_version = pyspark.__version__
    except ImportError:
        spark_version = None
    today, commit = time.strftime("%Y-%m-%d"), source_commit()
    print(
        f"# bench_scoring  {today}  {machine()}  pandas {pd.__version__}  "
        f"pyarrow {pa.__version__}  lightgbm {lgb.__version__}  pyspark {spark_version}  "
        f"creditrisk {cr.__version__} ({commit})",
        flush=True,
    )
    me = [sys.executable, str(Path(__file__).resolve())]
    cache = Path(args.cache)
    logs = Path(tempfile.mkdtemp(prefix="bench_scoring_logs_"))

    # 1. the world, 2. the model -------------------------------------------------------------
    data = cache / f"world-{args.n}-seed{args.seed}"
    key = world_key(args.n, args.seed, START, END)
    make = [*me, "--child", "generate", "--n", str(args.n), "--seed", str(args.seed)]
    world, reused = cached(data, key, [*make, "--out", str(data)], args.fresh, logs)
    events = sum(v for k, v in world["rows"].items() if k != "enterprises")
    print(
        f"\nworld: {args.n:,} enterprises ({START} .. {END}, seed {args.seed}), {events:,} "
        f"event rows; generate {world['seconds_generate']:.1f} s + write parquet "
        f"{world['seconds_write']:.1f} s, peak RSS {world['peak'] / GIB:.2f} GiB"
        f"{' (cached from an earlier run)' if reused else ''}; {data}",
        flush=True,
    )
    model_dir = cache / f"model-{args.model_n}-seed{args.model_seed}"
    key = {
        "n": args.model_n,
        "seed": args.model_seed,
        "start": START,
        "end": END,
        "creditrisk": cr.__version__,
        "source": source_hash(*(SRC / p for p in MODEL_SOURCES if (SRC / p).exists())),
    }
    make = [*me, "--child", "fit", "--n", str(args.model_n), "--seed", str(args.model_seed)]
    fitted, reused = cached(model_dir, key, [*make, "--out", str(model_dir)], args.fresh, logs)
    print(
        f"model: fit_model(num_threads=2) on {args.model_n:,} enterprises (seed "
        f"{args.model_seed}): {fitted['trees']} trees of depth <= {fitted['max_depth']}, "
        f"{fitted['features']} features, test AUC {fitted['auc']:.4f} at "
        f"{fitted['test_as_of']}; generate {fitted['seconds_generate']:.1f} s, fit_model "
        f"{fitted['seconds_fit']:.1f} s{' (cached)' if reused else ''}; {model_dir}",
        flush=True,
    )

    # 3. the jobs ------------------------------------------------------------------------------
    runs, outputs, spark_failed = [], {}, ""
    with tempfile.TemporaryDirectory(prefix="bench_scoring_") as tmp:
        tmp = Path(tmp)
        common = ["--model", str(model_dir), "--data", str(data), "--as-of", args.as_of]
        for chunk in chunks:
            out = tmp / f"scores-{chunk}.parquet"
            cmd = [*_cli(), "score", *common, "--out", str(out), "--threads", "2"]
            if chunk != 250_000:
                cmd += ["--chunk-size", str(chunk)]
            job = measure(cmd, logs / f"pandas-{chunk}.log")
            job["manifest"] = json.loads(cr.scoring.manifest_path(out).read_text())
            label = (
                f"(a) pandas, chunked (`creditrisk score`{', default' if chunk == 250_000 else ''})"
            )
            runs.append((label, f"{chunk:,}", job))
            outputs[label + str(chunk)] = read_scores(out)
            out.unlink()
            print(
                f"{label} chunk {chunk:,}: {job['wall']:.1f} s, {job['peak'] / GIB:.2f} GiB",
                flush=True,
            )
        out = tmp / "scores-naive.parquet"
        cmd = [*me, "--child", "naive", "--data", str(data), "--model", str(model_dir)]
        job = measure(
            [*cmd, "--as-of", args.as_of, "--out", str(out)], logs / "naive.log", json_out=True
        )
        label = "(b) pandas, whole register at once"
        runs.append((label, "all", job))
        outputs[label] = read_scores(out)
        out.unlink()
        print(f"{label}: {job['wall']:.1f} s, {job['peak'] / GIB:.2f} GiB", flush=True)
        if not args.no_spark and spark_version:
            out = tmp / "scores-spark.parquet"
            cmd = [*_cli(), "score", *common, "--out", str(out), "--threads", "2"]
            cmd += ["--engine", "spark", "--spark-master", "local[2]"]
            label = "(c) Spark local[2] (`creditrisk score --engine spark`)"
            try:
                job = measure(cmd, logs / "spark.log")
            except RuntimeError as err:  # report it beside the pandas figures
                spark_failed = f"{label} failed: {err}"
                print(spark_failed, flush=True)
            else:
                job["manifest"] = json.loads(cr.scoring.manifest_path(out).read_text())
                runs.append((label, f"{job['manifest']['buckets']} buckets", job))
                outputs[label] = read_scores(out)
                print(f"{label}: {job['wall']:.1f} s", flush=True)

    # 4. agreement and report --------------------------------------------------------------
    now = source_commit()
    moved = f" (the tree moved to {now} during the run)" if now != commit else ""
    names = list(outputs)
    reference = outputs[names[0]]
    verdicts = {names[0]: ("reference", "")} | {n: agree(reference, outputs[n]) for n in names[1:]}
    scored = len(reference)
    register = args.n
    table = []
    for (label, chunk, job), name in zip(runs, names, strict=True):
        spark = label.startswith("(c)")
        ok_time = job["wall"] < TARGET_SECONDS
        if spark:  # the largest process (the JVM); the target compares with the tree's
            role, peak = job["per_process"][0] if job["per_process"] else ("?", 0)
            ok_memory = job["tree_peak"] < TARGET_BYTES
        else:
            role, peak = "", job["peak"]
            ok_memory = peak < TARGET_BYTES
        verdict, _ = verdicts[name]
        table.append(
            (
                label,
                chunk,
                f"{len(outputs[name]):,}",
                f"{job['wall']:.1f}",
                f"{peak / GIB:.2f}" + (f" (largest process: {role})" if spark else ""),
                f"{job['tree_peak'] / GIB:.2f} ({job['processes']} "
                + ("process)" if job["processes"] == 1 else "processes)"),
                f"{register / job['wall']:,.0f}",
                f"{'pass' if ok_time else 'FAIL'} / "
                + ("pass" if ok_memory else "FAIL")
                + (" (tree PSS)" if spark else ""),
                verdict,
            )
        )
    columns = [
        "engine",
        "chunk",
        "rows scored",
        "wall s",
        "peak RSS GiB",
        "tree peak PSS GiB (sampled)",
        "register entities/s",
        f"< {TARGET_SECONDS:.0f} s / < 4 GB",
        "same rows as the first",
    ]
    stage_rows = []
    for label, chunk, job in runs:
        if "manifest" in job and "read" in job["manifest"]["timings_s"]:
            t = job["manifest"]["timings_s"]
            other = t["total"] - t["read"] - t["features_and_scores"] - t["write"]
            stage_rows.append(
                (
                    f"{label}, chunk {chunk}",
                    f"{job['wall'] - t['total']:.1f}",
                    f"read {t['read']:.1f}, features_and_scores {t['features_and_scores']:.1f}, "
                    f"write {t['write']:.1f}, the rest {other:.1f}",
                    f"{t['total']:.1f}",
                )
            )
        elif "manifest" in job:
            stage_rows.append(
                (
                    f"{label}",
                    f"{job['wall'] - job['manifest']['timings_s']['total']:.1f}",
                    "not split (the manifest records the total only)",
                    f"{job['manifest']['timings_s']['total']:.1f}",
                )
            )
        else:
            s = job["seconds"]
            stage_rows.append(
                (
                    label,
                    f"{job['wall'] - sum(s.values()) + s['load model']:.1f}",
                    ", ".join(
                        f"{k} {v:.1f}"
                        + (
                            f" (peak {job['peaks'][k] / GIB:.2f}, after "
                            f"{job['held'][k] / GIB:.2f} GiB)"
                            if job["peaks"]
                            else ""
                        )
                        for k, v in s.items()
                        if k != "load model"
                    ),
                    f"{sum(s.values()) - s['load model']:.1f}",
                )
            )
    first = runs[0][2]["manifest"]
    tiers = ", ".join(f"{k} {v:,}" for k, v in sorted(first["tiers"].items()))
    md = [
        f"`.venv/bin/python benchmarks/bench_scoring.py{' --quick' if args.quick else ''}` on "
        f"{today}, {machine()}, {commit}{moved}; pandas {pd.__version__}, pyarrow "
        f"{pa.__version__}, LightGBM {lgb.__version__}, pyspark {spark_version}. A synthetic "
        f"world of {args.n:,} enterprises ({START} .. {END}, seed {args.seed}; {events:,} "
        f"event rows) as parquet, scored as of {args.as_of}: {scored:,} entities registered "
        f"then (tiers {tiers}). Model: `fit_model(num_threads=2)` on {args.model_n:,} "
        f"enterprises (seed {args.model_seed}), {fitted['trees']} trees of depth <= "
        f"{fitted['max_depth']}, {fitted['features']} features. Each job is its own process, "
        "one at a time; every output holds scores, tiers, top-3 reasons and the features.",
        "",
        f"### Scoring {args.n:,} enterprises as of {args.as_of}",
        "",
        markdown(pd.DataFrame(table, columns=columns)),
        "",
        "Peak RSS: the job's own `ru_maxrss` (`os.wait4`; for (b) the largest of its steps' "
        "peaks, the script resetting the high-water mark before each), one process; for "
        "Spark the largest process's own peak (VmHWM). Tree "
        f"peak PSS: the summed proportional set size of the job's process tree, sampled every "
        f"{SAMPLE_EVERY} s (can miss a short spike). For Spark the target's memory is "
        "the tree's, not one process's.",
        "",
        "### Where the time goes (seconds)",
        "",
        markdown(
            pd.DataFrame(
                [
                    (
                        *row,
                        f"{job['cpu']:.0f} ({job['cpu'] / job['wall']:.2f})",
                        f"{job['others']:.2f}",
                    )
                    for row, (_, _, job) in zip(stage_rows, runs, strict=True)
                ],
                columns=[
                    "job",
                    "start-up (imports, model)",
                    "stages",
                    "timed total",
                    "job CPU s (cores busy)",
                    "other processes' CPU (cores)",
                ],
            )
        ),
        "",
        f"Generation (not part of the target): {world['seconds_generate']:.1f} s to simulate, "
        f"{world['seconds_write']:.1f} s to write the parquet files "
        f"(peak RSS {world['peak'] / GIB:.2f} GiB). Model: fit_model "
        f"{fitted['seconds_fit']:.1f} s on {args.model_n:,} enterprises (test AUC "
        f"{fitted['auc']:.4f} at {fitted['test_as_of']}).",
    ]
    for name in names[1:]:
        verdict, details = verdicts[name]
        md.append(f"\nAgreement of {name.split(' (')[0]} with the first row: {verdict}: {details}")
    waits = ", ".join(f"{job['waited']:.0f} s" for _, _, job in runs)
    md.append(
        "\nCPU: the job's user + system time (its process tree's, sampled, for Spark) and, "
        "from /proc/stat, what the rest of the machine used meanwhile (in cores, of "
        f"{os.cpu_count()}): near 0 means the job had the machine to itself. Each job "
        "starts once other work uses under 15% of the cores"
        + (f" (waited {waits})." if any(j["waited"] for _, _, j in runs) else ".")
    )
    if spark_failed:
        md.append(f"\n{spark_failed}")
    for label, _, job in runs:
        if job["disturbed"]:
            md.append(
                f"\n{label}: run again, other work disturbed the earlier run(s): "
                + "; ".join(job["disturbed"])
                + (
                    f"; the run kept was disturbed too ({job['others']:.2f} cores used by others)"
                    if job["others"] >= DISTURBED
                    else ""
                )
            )
        if label.startswith("(c)"):
            md.append(
                f"\n{label}, each process's own peak RSS (VmHWM, read every {SAMPLE_EVERY} s "
                "while it ran; their sum double-counts shared pages and peaks that did not "
                "coincide): "
                + ", ".join(
                    f"{role} {size / GIB:.2f} GiB"
                    for role, size in job["per_process"]
                    if size >= 0.01 * GIB  # not the shell of spark-submit and the like
                )
            )
    for label, _, job in runs:
        if job["lingered"] or job["leftover"]:
            md.append(
                f"\n{label}: processes of the job outlived it by {job['lingered']:.1f} s"
                + (
                    f"; still alive then, ended by the script: {job['leftover']}"
                    if job["leftover"]
                    else " (they ended on their own)"
                )
            )
    md.append(f"\nScript wall time {time.perf_counter() - started:.0f} s; logs in {logs}.")
    print("\n" + "\n".join(md))


if __name__ == "__main__":
    main()
