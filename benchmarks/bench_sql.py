"""Reading the register from PostgreSQL (issue 8): ``EventTables.read_sql`` beside parquet.

Done means (issue 8): reading the 1,000,000-enterprise world from PostgreSQL on
loopback, rows per second and peak memory, beside reading the same from parquet.

Data: a synthetic world of 1,000,000 enterprises (2018-01-01 .. 2025-12-31, seed 61, the
world of bench_scoring.py) whose six event tables are kept as parquet in a cache
directory under the system temp dir (``creditrisk-bench-sql/world-<n>-seed<seed>``,
with a MARKER.json: enterprises, seed, dates, creditrisk version and a hash of the
generator's source). If bench_scoring.py's cache (``creditrisk-bench-scoring/``) holds
the same world (same marker key) its files are copied, and its generation time is
reported; otherwise the world is generated here, in a child process, and timed.
``--fresh`` regenerates. Generation is not part of what is measured.

Database: the tables are loaded into a database of this script's own
(``creditrisk_bench_sql``, created through an AUTOCOMMIT connection to ``--url``, which
needs CREATEDB) with PostgreSQL's COPY: the parquet files are streamed in record batches
of 100,000 rows, written as CSV by pyarrow and fed to psycopg 3's ``cursor.copy``.
Columns get the types a register would use (ids and categories ``text``, dates
``date``, years and counts ``bigint``, amounts ``double precision``; ``NOT NULL`` where
the data model forbids empties), then each table gets its primary key (the data model's
key) and ``ANALYZE``. The load is timed but is not part of what is measured. The
database is dropped at the end unless ``--keep``; a kept database whose marker table
matches the world is reused by the next run (``--reload`` forces a new load).

Measured, each job in its own process, one after the other (the script waits while
``bench_scoring.py`` runs: polled every 20 s, at most 30 minutes; a job during which it
started anyway is run again, at most twice):

(a) ``creditrisk.EventTables.read_sql(url)`` at the default chunk of 200,000 rows and at
    50,000 (memory follows the chunk, or not), validation included as by default;
(a') the same at the default chunk but handed a SQLAlchemy Connection with
    ``execution_options(stream_results=True)`` (a server-side cursor): without it the
    psycopg driver receives each table's whole result into libpq's memory before the
    first chunk is made (pandas' ``read_sql`` does not ask for streaming), so this row
    shows what chunking alone does not save;
(b) ``creditrisk.EventTables.read(parquet_dir).validate()``;
(c) the naive baseline: ``pd.read_sql_table`` of each whole table at once, no chunks,
    then ``EventTables(**frames).validate()``.

For each: wall time of the step (imports excluded), total rows of the six tables,
rows per second, and peak RSS: the step's own process (``ru_maxrss`` of the child read
before anything else runs in it, and checked against ``os.wait4``'s reading for that
child alone; ``RUSAGE_CHILDREN`` would give the largest of all children so far). The
PostgreSQL server's memory is not in it. Where the time goes: each job's CPU time
beside the machine's (/proc/stat), the difference being mostly the PostgreSQL server
process (nothing else runs), and, inside the step, time spent in the query and transfer
(``pd.read_sql`` returning), in making rows into DataFrames (its chunks), in coercion
to the data model (``coerce_table``), in validation (``validation.check``), and the rest
(concatenation, sorting by key, construction). The timers wrap those functions in the
child process only; the library is not changed.

Agreement: the fingerprint (``EventTables.fingerprint``) of every database read equals
the parquet read's: the same tables, dtypes and row order (the naive baseline's tables
are sorted by key first, since ``read_sql_table`` promises no order).

Usage::

    .venv/bin/python benchmarks/bench_sql.py            # full run (about 6 minutes)
    .venv/bin/python benchmarks/bench_sql.py --quick    # 100,000 enterprises
    .venv/bin/python benchmarks/bench_sql.py --keep     # keep the database afterwards

``--url`` (default ``$CREDITRISK_TEST_POSTGRES_URL`` or the loopback test server) is the
server to create the benchmark database on. It prints a Markdown block to paste into
RESULTS.md (date, machine, PostgreSQL version, commit).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _report import (
    GIB,
    generate_world,
    machine,
    markdown,
    peak_rss,
    source_commit,
    world_key,
)

START, END = "2018-01-01", "2025-12-31"
SEED = 61  # bench_scoring.py's world, so its cache can be reused
CHUNKS = (200_000, 50_000)  # read_sql's default, then a smaller chunk
BATCH = 100_000  # rows per COPY batch when loading
DATABASE = "creditrisk_bench_sql"
DEFAULT_URL = os.environ.get(
    "CREDITRISK_TEST_POSTGRES_URL",
    "postgresql+psycopg://creditrisk:creditrisk@127.0.0.1:5432/creditrisk_test",
)
POLL, WAIT_AT_MOST = 20, 30 * 60  # seconds: polling for bench_scoring.py to end
RETRIES = 2  # a job that bench_scoring.py ran beside is run again, at most twice
TICKS = os.sysconf("SC_CLK_TCK")
HERE = Path(__file__).resolve().parent
SQL_TYPES = {
    "id": "text",
    "category": "text",
    "date": "date",
    "integer": "bigint",
    "count": "bigint",
    "amount": "double precision",
}


# -- timers wrapped around the library's functions, in a child process only --------------------
class Timers(dict):
    def add(self, key: str, seconds: float) -> None:
        self[key] = self.get(key, 0.0) + seconds

    def wrap(self, key: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(key, time.perf_counter() - t0)

        return timed


def _instrument(timers: Timers) -> None:
    """Time pd.read_sql (query + transfer) and its chunks, coercion and validation."""
    import creditrisk.data.sql
    import creditrisk.data.tables
    import creditrisk.data.validation

    read_sql = pd.read_sql

    def timed_read_sql(*args, **kwargs):
        t0 = time.perf_counter()
        result = read_sql(*args, **kwargs)
        timers.add("query", time.perf_counter() - t0)
        if isinstance(result, pd.DataFrame):
            return result

        def chunks():
            while True:
                t0 = time.perf_counter()
                try:
                    chunk = next(result)
                except StopIteration:
                    timers.add("rows to frames", time.perf_counter() - t0)
                    return
                timers.add("rows to frames", time.perf_counter() - t0)
                yield chunk

        return chunks()

    pd.read_sql = timed_read_sql
    pd.read_parquet = timers.wrap("read files", pd.read_parquet)
    pd.read_sql_table = timers.wrap("query + rows to frames", pd.read_sql_table)
    creditrisk.data.sql.coerce_table = timers.wrap("coerce", creditrisk.data.sql.coerce_table)
    creditrisk.data.tables.coerce_table = timers.wrap("coerce", creditrisk.data.tables.coerce_table)
    creditrisk.data.validation.check = timers.wrap("validate", creditrisk.data.validation.check)


def _child_read(method: str, source: str, chunksize: int) -> None:
    import sqlalchemy as sa

    import creditrisk as cr
    from creditrisk.data.schema import TABLE_NAMES, TABLES

    timers = Timers()
    _instrument(timers)
    engine = None
    t0 = time.perf_counter()
    if method == "read_sql":
        tables = cr.EventTables.read_sql(source, chunksize=chunksize)
    elif method == "read_sql_stream":
        engine = sa.create_engine(source)
        with engine.connect() as connection:
            streaming = connection.execution_options(stream_results=True)
            tables = cr.EventTables.read_sql(streaming, chunksize=chunksize)
    elif method == "parquet":
        tables = cr.EventTables.read(source).validate()
    elif method == "naive":
        engine = sa.create_engine(source)
        with engine.connect() as connection:
            frames = {name: pd.read_sql_table(name, connection) for name in TABLE_NAMES}
        tables = cr.EventTables(**frames).validate()
    else:
        raise ValueError(method)
    seconds = time.perf_counter() - t0
    peak = peak_rss()  # the step's own peak, before anything else runs here
    rows = {name: len(frame) for name, frame in tables}
    if engine is not None:
        engine.dispose()
    if method == "naive":  # read_sql_table promises no order: compare sorted by key
        tables = tables.replace(
            **{
                name: frame.sort_values(list(TABLES[name].key), ignore_index=True)
                for name, frame in tables
            }
        )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak": peak,
                "rows": rows,
                "timers": timers,
                "fingerprint": tables.fingerprint(),
            }
        )
    )


def _arrow_batch_for_copy(batch):
    """A record batch with categories as text and timestamps as dates, for CSV."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in batch.columns:
        if pa.types.is_dictionary(column.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_timestamp(column.type):
            column = pc.cast(column, pa.date32(), safe=False)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)


def _child_load(data: str, url: str, key: str) -> None:
    """COPY the parquet tables into the (empty) database at ``url``; keys, ANALYZE."""
    import psycopg
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    from creditrisk.data.schema import TABLE_NAMES, TABLES

    seconds: dict[str, dict[str, float]] = {}
    options = pv.WriteOptions(include_header=False)
    with psycopg.connect(url) as conn:
        for name in TABLE_NAMES:
            schema = TABLES[name]
            t0 = time.perf_counter()
            columns = ", ".join(
                f'"{c.name}" {SQL_TYPES[c.kind]}{"" if c.nullable else " NOT NULL"}'
                for c in schema.columns
            )
            names = ", ".join(f'"{c}"' for c in schema.names)
            with conn.cursor() as cur:
                cur.execute(f'CREATE TABLE "{name}" ({columns})')
                parquet = pq.ParquetFile(Path(data) / f"{name}.parquet")
                with cur.copy(f'COPY "{name}" ({names}) FROM STDIN (FORMAT csv)') as copy:
                    for batch in parquet.iter_batches(batch_size=BATCH, columns=schema.names):
                        sink = io.BytesIO()
                        pv.write_csv(_arrow_batch_for_copy(batch), sink, options)
                        copy.write(sink.getbuffer())
                t1 = time.perf_counter()
                key_columns = ", ".join(f'"{c}"' for c in schema.key)
                cur.execute(f'ALTER TABLE "{name}" ADD PRIMARY KEY ({key_columns})')
                cur.execute(f'ANALYZE "{name}"')
            conn.commit()
            t2 = time.perf_counter()
            seconds[name] = {"copy": t1 - t0, "key": t2 - t1}
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE bench_marker (key text)")
            cur.execute("INSERT INTO bench_marker VALUES (%s)", (key,))
            cur.execute("SELECT pg_database_size(current_database())")
            size = cur.fetchone()[0]
        conn.commit()
    print(json.dumps({"seconds": seconds, "bytes": size, "peak": peak_rss()}))


# -- the parent: jobs, waiting, cache, database -------------------------------------------------
def _cpu_busy() -> float:
    """Seconds of CPU the whole machine has spent busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICKS


def _mem_available() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _others_running() -> bool:
    found = subprocess.run(["pgrep", "-f", "bench_scoring.py"], capture_output=True)
    return found.returncode == 0


def wait_for_others() -> float:
    """Wait (polling every 20 s, at most 30 minutes) while bench_scoring.py runs."""
    waited = 0.0
    while waited < WAIT_AT_MOST:
        if not _others_running():
            return waited
        if waited == 0:
            print("  (waiting for bench_scoring.py to end)", file=sys.stderr, flush=True)
        time.sleep(POLL)
        waited += POLL
    print("  (bench_scoring.py still runs after 30 minutes: going on)", file=sys.stderr)
    return waited


def _run_once(args: list[str], log: Path) -> dict:
    """Run this script as a child job; its JSON, wall time, CPU and wait4's own peak."""
    waited = wait_for_others()
    available = _mem_available()
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    disturbed = False
    with log.open("w") as handle:
        busy = _cpu_busy()
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
        )
        checked = t0
        while True:  # this child's rusage, nobody else's
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.2)
            if time.perf_counter() - checked > 5:
                disturbed = disturbed or _others_running()
                checked = time.perf_counter()
        wall = time.perf_counter() - t0
        busy = _cpu_busy() - busy
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if proc.returncode:
        tail = " | ".join(text.strip().splitlines()[-8:])
        raise RuntimeError(f"{' '.join(args[:3])} ... exited {proc.returncode}: {tail}")
    own = usage.ru_utime + usage.ru_stime
    return json.loads(text.strip().splitlines()[-1]) | {
        "wall": wall,
        "wait4_peak": usage.ru_maxrss * 1024,  # KiB on Linux
        "cpu": own,
        "others_cpu": max(busy - own, 0.0),  # the PostgreSQL server, mostly
        "waited": waited,
        "available_before": available,
        "disturbed": disturbed,
    }


def run_job(args: list[str], log: Path) -> dict:
    """``_run_once``, again (at most twice more) if bench_scoring.py ran meanwhile."""
    for _ in range(RETRIES):
        job = _run_once(args, log)
        if not job["disturbed"]:
            return job
        print("  (bench_scoring.py ran meanwhile: again)", file=sys.stderr, flush=True)
    return _run_once(args, log)


def ensure_world(n: int, seed: int, fresh: bool, logs: Path) -> tuple[Path, dict, str]:
    """The parquet world in the cache: reused, copied from bench_scoring's, or generated."""
    from creditrisk.data.schema import TABLE_NAMES

    tmp = Path(tempfile.gettempdir())
    directory = tmp / "creditrisk-bench-sql" / f"world-{n}-seed{seed}"
    # the six core tables: the register these benchmarks read from PostgreSQL
    marker, key = directory / "MARKER.json", world_key(n, seed, START, END, indicators=False)
    if not fresh and marker.exists():
        record = json.loads(marker.read_text())
        if record.get("key") == key:
            return directory, record["made"], f"cached ({record.get('how', 'generated')})"
    shutil.rmtree(directory, ignore_errors=True)
    directory.parent.mkdir(parents=True, exist_ok=True)
    theirs = tmp / "creditrisk-bench-scoring" / f"world-{n}-seed{seed}"
    other = theirs / "MARKER.json"
    if not fresh and other.exists() and json.loads(other.read_text()).get("key") == key:
        made = json.loads(other.read_text())["made"]
        directory.mkdir()
        for name in TABLE_NAMES:
            shutil.copy2(theirs / f"{name}.parquet", directory / f"{name}.parquet")
        how = f"copied from bench_scoring.py's cache {theirs}"
    else:
        cmd = ["--child", "generate", "--n", str(n), "--seed", str(seed), "--out", str(directory)]
        made = run_job(cmd, logs / "generate.log")
        how = "generated by this script"
    marker.write_text(json.dumps({"key": key, "made": made, "how": how}, indent=2))
    return directory, made, how


def _urls(url: str) -> tuple[str, str, str]:
    """(SQLAlchemy URL of the benchmark database, its psycopg URL, the server's psycopg)."""
    import sqlalchemy as sa

    server = sa.engine.make_url(url)
    bench = server.set(database=DATABASE)

    def plain(u) -> str:
        return u.set(drivername="postgresql").render_as_string(hide_password=False)

    return bench.render_as_string(hide_password=False), plain(bench), plain(server)


def ensure_database(url: str, key: str, reload: bool, data: Path, logs: Path) -> dict:
    """The world loaded into the benchmark database (reused if its marker matches)."""
    import psycopg

    _, bench, server = _urls(url)
    if not reload:
        try:
            with psycopg.connect(bench) as conn, conn.cursor() as cur:
                cur.execute("SELECT key FROM bench_marker")
                if cur.fetchone()[0] == key:
                    cur.execute("SELECT pg_database_size(current_database())")
                    return {"reused": True, "bytes": cur.fetchone()[0]}
        except psycopg.Error:
            pass
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    loaded = run_job(
        ["--child", "load", "--data", str(data), "--source", bench, "--key", key], logs / "load.log"
    )
    return loaded | {"reused": False}


def drop_database(url: str) -> None:
    import psycopg

    _, _, server = _urls(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def server_version(url: str) -> str:
    import psycopg

    _, bench, _ = _urls(url)
    with psycopg.connect(bench) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
        cur.execute("SHOW shared_buffers")
        buffers = cur.fetchone()[0]
        cur.execute("SHOW work_mem")
        work_mem = cur.fetchone()[0]
    return f"PostgreSQL {version} (shared_buffers {buffers}, work_mem {work_mem})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="enterprises")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--quick", action="store_true", help="100,000 enterprises")
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL server (SQLAlchemy URL)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reload", action="store_true", help="load the database again")
    parser.add_argument("--fresh", action="store_true", help="regenerate the parquet world")
    parser.add_argument("--child", choices=["generate", "load", "read"], help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--chunksize", type=int, default=CHUNKS[0], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "generate":
        return generate_world(args.n, args.seed, START, END, args.out, indicators=False)
    if args.child == "load":
        return _child_load(args.data, args.source, args.key)
    if args.child == "read":
        return _child_read(args.method, args.source, args.chunksize)
    if args.quick:
        args.n = 100_000

    started = time.perf_counter()
    import psycopg
    import pyarrow as pa
    import sqlalchemy as sa

    import creditrisk as cr

    today, commit = time.strftime("%Y-%m-%d"), source_commit()
    logs = Path(tempfile.mkdtemp(prefix="bench_sql_logs_"))
    print(
        f"# bench_sql  {today}  {machine()}  pandas {pd.__version__}  pyarrow {pa.__version__}  "
        f"SQLAlchemy {sa.__version__}  psycopg {psycopg.__version__} "
        f"({psycopg.pq.__impl__})  creditrisk {cr.__version__} ({commit})",
        flush=True,
    )

    # 1. the world as parquet ------------------------------------------------------------------
    data, made, how = ensure_world(args.n, args.seed, args.fresh, logs)
    rows = made["rows"]
    total = sum(rows.values())
    print(
        f"\nworld: {args.n:,} enterprises ({START} .. {END}, seed {args.seed}), {total:,} rows "
        f"in the six tables ({', '.join(f'{k} {v:,}' for k, v in rows.items())}); "
        f"generate {made['seconds_generate']:.1f} s + write parquet "
        f"{made['seconds_write']:.1f} s (not measured; {how}); {data}",
        flush=True,
    )

    # 2. the database ------------------------------------------------------------------------
    key = json.dumps(world_key(args.n, args.seed, START, END, indicators=False), sort_keys=True)
    bench_url, _, _ = _urls(args.url)
    loaded = ensure_database(args.url, key, args.reload, data, logs)
    version = server_version(args.url)
    masked = sa.engine.make_url(bench_url).render_as_string(hide_password=True)
    if loaded["reused"]:
        load_line = "reused from an earlier run (--keep)"
    else:
        copy = sum(s["copy"] for s in loaded["seconds"].values())
        keys = sum(s["key"] for s in loaded["seconds"].values())
        load_line = (
            f"COPY {copy:.1f} s ({total / copy:,.0f} rows/s) + primary keys and ANALYZE "
            f"{keys:.1f} s, loader peak RSS {loaded['peak'] / GIB:.2f} GiB (not measured)"
        )
    print(
        f"database: {masked} on {version}; {loaded['bytes'] / GIB:.2f} GiB with keys; "
        f"load: {load_line}",
        flush=True,
    )

    # 3. the reads ---------------------------------------------------------------------------
    jobs = [
        ("EventTables.read_sql(url)", "read_sql", bench_url, CHUNKS[0]),
        ("EventTables.read_sql(url, chunksize=50_000)", "read_sql", bench_url, CHUNKS[1]),
        (
            "EventTables.read_sql(Connection with stream_results=True)",
            "read_sql_stream",
            bench_url,
            CHUNKS[0],
        ),
        ("EventTables.read(parquet).validate()", "parquet", str(data), 0),
        ("naive: pd.read_sql_table x 6, EventTables(...).validate()", "naive", bench_url, 0),
    ]
    results = []
    for label, method, source, chunksize in jobs:
        print(f"  {label} ...", file=sys.stderr, flush=True)
        cmd = ["--child", "read", "--method", method, "--source", source]
        job = run_job([*cmd, "--chunksize", str(chunksize)], logs / f"{method}-{chunksize}.log")
        results.append((label, method, chunksize, job))
    reference = next(job for _, method, _, job in results if method == "parquet")

    table = pd.DataFrame(
        [
            (
                label,
                f"{chunksize:,}" if chunksize else "whole tables",
                f"{sum(job['rows'].values()):,}",
                f"{job['seconds']:.1f}",
                f"{sum(job['rows'].values()) / job['seconds']:,.0f}",
                f"{job['peak'] / GIB:.2f}",
                "yes (reference)"
                if job is reference
                else ("yes" if job["fingerprint"] == reference["fingerprint"] else "**NO**"),
            )
            for label, method, chunksize, job in results
        ],
        columns=[
            "method",
            "chunksize",
            "rows",
            "wall s",
            "rows/s",
            "peak RSS GiB",
            "same tables as parquet",
        ],
    )
    print(
        f"\n## Reading {args.n:,} enterprises ({total:,} rows in six tables): PostgreSQL on "
        f"loopback vs parquet\n\n{today}, {machine()}, {version}, creditrisk {cr.__version__} "
        f"({commit}). Each read is a fresh process, run one after the other; wall time of "
        f"the read alone (imports excluded), validation included; peak RSS of that process "
        f"(the PostgreSQL server's not counted).\n"
    )
    print(markdown(table))

    parts = ("query", "rows to frames", "query + rows to frames", "read files", "coerce")
    breakdown = []
    for label, _, chunksize, job in results:
        timers = job["timers"]
        accounted = sum(timers.get(p, 0.0) for p in (*parts, "validate"))
        breakdown.append(
            (
                label + (f" ({chunksize:,})" if chunksize else ""),
                *(f"{timers[p]:.1f}" if p in timers else "" for p in parts),
                f"{timers.get('validate', 0.0):.1f}",
                f"{job['seconds'] - accounted:.1f}",
                f"{job['cpu']:.1f}",
                f"{job['others_cpu']:.1f}",
            )
        )
    print(
        "\nWhere the time goes (seconds, inside the timed read): `query` is pd.read_sql "
        "returning (the server runs the query and, with a client-side cursor, the whole "
        "result reaches libpq); `rows to frames` its chunks (psycopg rows to Python "
        "objects to DataFrames); `coerce` the data model's coerce_table (per chunk, then "
        "again on construction, where it finds the dtypes right); `rest` concatenation, "
        "sorting by key, probes. CPU: the job's own (user + system) and the rest of the "
        "machine's in the meantime (the PostgreSQL server process, nothing else runs).\n"
    )
    print(
        markdown(
            pd.DataFrame(
                breakdown,
                columns=[
                    "method",
                    *parts,
                    "validate",
                    "rest",
                    "CPU s, job",
                    "CPU s, server (+ others)",
                ],
            )
        )
    )
    print(
        "\npeak RSS by os.wait4 (whole job, fingerprint included): "
        + "; ".join(
            f"{method}{f' {chunksize:,}' if chunksize else ''} {job['wait4_peak'] / GIB:.2f} GiB"
            for _, method, chunksize, job in results
        )
    )
    waits = sum(job["waited"] for *_, job in results)
    if waits:
        print(f"waited {waits:.0f} s in all for bench_scoring.py to end before the jobs")
    disturbed = [label for label, *_, job in results if job["disturbed"]]
    if disturbed:
        print(f"**bench_scoring.py ran during (after 2 retries)**: {'; '.join(disturbed)}")

    if args.keep:
        print(f"\ndatabase kept: {masked}")
    else:
        drop_database(args.url)
    shutil.rmtree(logs, ignore_errors=True)
    print(f"\nscript wall time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
