"""``creditrisk score`` killed with SIGKILL at random points, on both engines.

A killed run must leave the previous scores and manifest as they were (or, killed after
its commit, its own complete pair: never new scores beside an old manifest), never
touch an input, and the next run must leave no partial file behind. Each kill ends the
whole process group (the Python driver, Spark's JVM and its Python workers), as a
machine that loses power would.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from _faults import (
    AS_OF,
    MODEL,
    ROOT,
    cli,
    consistent,
    copy_register,
    leftovers,
    score_args,
    snapshot,
)

import creditrisk as cr
from creditrisk.data import paths
from creditrisk.jobs import scoring

SEED = int(os.environ.get("CREDITRISK_KILL_SEED", "17"))
BEFORE = "2024-01-01"  # the previous run's as-of date; the killed runs score AS_OF


def _start(args: list) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "creditrisk", *map(str, args)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches every child
    )


def _kill(process: subprocess.Popen) -> bool:
    """SIGKILL the run's whole process group; True if it was still running."""
    running = process.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return running


def _settled(out: Path, previous: dict) -> str:
    """What a kill left: the previous pair, or the new pair complete (a commit the next
    writer finishes counts as complete once finished)."""
    manifest = scoring.manifest_path(out)
    if snapshot(out, manifest) == previous:
        return "previous"
    paths.recover(out, manifest)  # a journal left between two renames is finished here
    if snapshot(out, manifest) == previous:
        return "previous"
    return "new"


def test_a_killed_pandas_score_leaves_the_previous_scores_and_manifest(tmp_path) -> None:
    register = copy_register(tmp_path)
    inputs = snapshot(register, MODEL)
    out = tmp_path / "out" / "scores.parquet"
    manifest = scoring.manifest_path(out)
    assert cli(*score_args(register, out, as_of=BEFORE)).exit_code == 0
    previous = snapshot(out, manifest)
    args = score_args(register, out, "--chunk-size", "1000")

    started = time.perf_counter()  # one whole run, to place the kills inside one
    assert _start(args).wait(timeout=300) == 0
    duration = time.perf_counter() - started
    assert consistent(out)
    assert cli(*score_args(register, out, as_of=BEFORE)).exit_code == 0  # back to before
    previous = snapshot(out, manifest)

    rng = random.Random(SEED)
    outcomes = []
    for _ in range(4):
        delay = rng.uniform(0.2, 1.0) * duration
        process = _start(args)
        time.sleep(delay)
        killed = _kill(process)
        state = _settled(out, previous)
        outcomes.append((round(delay, 2), killed, state))
        if state == "new":  # killed after its commit: its own pair, complete
            assert consistent(out), outcomes
            assert json.loads(manifest.read_text())["as_of"] == [AS_OF], outcomes
            assert cli(*score_args(register, out, as_of=BEFORE)).exit_code == 0
            previous = snapshot(out, manifest)
        assert snapshot(register, MODEL) == inputs, outcomes

    assert cli(*args).exit_code == 0  # the next run
    assert leftovers(tmp_path) == [], outcomes
    assert consistent(out)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """400 enterprises of the sample, as creditrisk writes them (Spark reads parquet)."""
    tables = cr.load_sample()
    part = tables.subset(tables.enterprises["entity_id"].head(400))
    return part.write(tmp_path_factory.mktemp("spark-kill") / "register")


def _spark_rows(out: Path) -> pd.DataFrame:
    return pd.read_parquet(out).sort_values(["entity_id", "as_of"], ignore_index=True)


def test_a_killed_spark_score_leaves_the_previous_output_and_manifest(
    spark, small, tmp_path
) -> None:
    from creditrisk.jobs import spark as engine

    inputs = snapshot(small, MODEL)
    out = tmp_path / "out" / "scores.parquet"
    manifest = scoring.manifest_path(out)
    engine.score(spark, small, MODEL, BEFORE, out, buckets=2)  # the previous run
    previous = snapshot(out, manifest)
    args = [
        *score_args(small, out, "--engine", "spark"),
        "--spark-master",
        "local[1]",
        "--buckets",
        "2",
    ]

    rng = random.Random(SEED)
    process = _start(args)
    if rng.random() < 0.5:  # a random point of the whole run
        time.sleep(rng.uniform(2.0, 12.0))
    else:  # a random point of the write: once Spark has begun staging the output
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            if any(p.name.endswith(".partial") for p in out.parent.iterdir()):
                break
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
    _kill(process)

    state = _settled(out, previous)
    if state == "new":
        assert json.loads(manifest.read_text())["as_of"] == [AS_OF]
        assert json.loads(manifest.read_text())["rows"] == len(_spark_rows(out))
    assert snapshot(small, MODEL) == inputs

    engine.score(spark, small, MODEL, AS_OF, out, buckets=2)  # the next run
    assert leftovers(tmp_path) == []
    rows = _spark_rows(out)
    assert json.loads(manifest.read_text())["rows"] == len(rows)
    assert set(rows["as_of"].astype(str)) == {AS_OF}
