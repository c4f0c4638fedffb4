"""Shared by the benchmark scripts: Markdown tables and memory readings (Linux)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import time
from pathlib import Path

import pandas as pd


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (for RESULTS.md)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([head, rule, *body])


def peak_rss() -> int:
    """This process's peak resident set size in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss() -> int:
    """Current resident set size in bytes (Linux), 0 if unknown."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def source_commit() -> str:
    """The git commit of the source tree measured (read only), and whether src/ differs."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "../src"],
            cwd=here,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown commit"
    return f"commit {head or 'unknown'}" + (" with changes in src/" if dirty else "")


GIB = 2**30
SRC = Path(__file__).resolve().parent.parent / "src" / "creditrisk"


def machine() -> str:
    """The machine in one phrase: name, platform, cores, RAM, Python."""
    try:
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        ram = f"{kib * 1024 / GIB:.1f} GiB RAM"
    except (OSError, StopIteration):
        ram = "RAM unknown"
    return (
        f'machine "{platform.node()}" ({platform.platform()}, {os.cpu_count()} cores, {ram}), '
        f"Python {platform.python_version()}"
    )


def source_hash(*parts: Path) -> str:
    """A short SHA-256 of the Python files under ``parts`` (cache keys of generated data)."""
    digest = hashlib.sha256()
    for part in parts:
        files = sorted(part.rglob("*.py")) if part.is_dir() else [part]
        for file in files:
            digest.update(str(file.relative_to(SRC.parent)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def extract_source(ref: str, into: Path) -> Path:
    """The ``src/`` tree of git commit ``ref``, written under ``into`` (for side-by-side runs).

    Import creditrisk from it by putting the returned path first on PYTHONPATH.
    """
    import io
    import tarfile

    blob = subprocess.run(
        ["git", "archive", "--format=tar", ref, "src"],
        cwd=SRC.parent.parent,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def world_key(n: int, seed: int, start: str, end: str, indicators: bool = True) -> dict:
    """What a cached synthetic world depends on: benchmarks sharing it share this key."""
    import creditrisk as cr

    return {
        "n": n,
        "seed": seed,
        "start": start,
        "end": end,
        "creditrisk": cr.__version__,
        "synth_source": source_hash(SRC / "synth", SRC / "data"),
    } | ({} if indicators else {"indicators": False})


def generate_world(
    n: int, seed: int, start: str, end: str, out: str, indicators: bool = True
) -> None:
    """Child job: generate a world, write its tables as parquet, print timings as JSON.

    ``indicators=False``: the six core tables only (the register of issues 8 and 20).
    """
    import creditrisk as cr

    t0 = time.perf_counter()
    world = cr.synth.generate(n, start, end, seed=seed, indicators=indicators)
    t1 = time.perf_counter()
    world.tables.write(out, overwrite=True)
    t2 = time.perf_counter()
    rows = {name: len(frame) for name, frame in world.tables}
    print(
        json.dumps(
            {
                "seconds_generate": t1 - t0,
                "seconds_write": t2 - t1,
                "rows": rows,
                "peak": peak_rss(),
            }
        )
    )
