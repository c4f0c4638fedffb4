"""The Spark job on a real standalone cluster: a master and two workers on loopback.

The master and workers are Spark's own daemons from the installed PySpark
(``bin/spark-class org.apache.spark.deploy.master.Master`` and ``...worker.Worker``:
the pip package has no ``sbin/start-master.sh``), each a JVM of its own; the job is
submitted with ``bin/spark-submit`` from a driver script, as in production
(:mod:`creditrisk.jobs.spark`), from a working directory of its own. Its executors run
in the workers' processes, so nothing the driver holds in memory reaches them except
what the job ships; the driver deletes the model's directory once it has loaded it, so
no executor can read it from disk (the model travels with the job, as text). The rows
must equal the pandas engine's. The cluster is stopped in a finaliser, whatever happens.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.jobs import scoring

AS_OF = "2025-01-01"
#: the driver script submitted: creditrisk.jobs.spark.main's work, the model read by
#: the driver only (its directory deleted before the job starts)
DRIVER = """\
import shutil
import sys

from pyspark.sql import SparkSession

import creditrisk as cr
from creditrisk.jobs.spark import score

data, model_dir, as_of, out = sys.argv[1:]
model = cr.RiskModel.load(model_dir)
shutil.rmtree(model_dir)
spark = (
    SparkSession.builder.appName("creditrisk-cluster-test")
    .config("spark.sql.session.timeZone", "UTC")
    .getOrCreate()
)
score(spark, data, model, as_of, out, buckets=2)
spark.stop()
"""
WORKERS = 2
START_TIMEOUT = 90  # seconds for the cluster to come up


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _spark_home() -> Path:
    import pyspark  # the spark extra, which make installs

    home = Path(pyspark.__file__).resolve().parent
    assert (home / "bin" / "spark-class").exists(), f"PySpark without bin/spark-class: {home}"
    # PySpark 4 needs Java 17 for every Spark test, local[2] included
    assert shutil.which("java") or os.environ.get("JAVA_HOME"), "no Java to run Spark"
    return home


def _wait_for(log: Path, text: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name} ended ({proc.returncode}):\n{log.read_text()[-3000:]}")
        time.sleep(0.3)
    raise TimeoutError(f"{log.name}: no {text!r} in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """``spark://127.0.0.1:<port>``, two workers of one core each, and their directories."""
    home = _spark_home()
    root = tmp_path_factory.mktemp("spark-cluster")
    env = {
        **os.environ,
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "384m",
        "PYSPARK_PYTHON": sys.executable,
    }
    port = _free_port()
    master_url = f"spark://127.0.0.1:{port}"
    started: list[subprocess.Popen] = []

    def launch(name: str, *args: str) -> tuple[subprocess.Popen, Path]:
        log = root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(home / "bin" / "spark-class"), *args],
                env=env,
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped as one below
            )
        started.append(proc)
        return proc, log

    def stop() -> None:
        for proc in reversed(started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    try:
        deadline = time.monotonic() + START_TIMEOUT
        master, log = launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", "127.0.0.1", "--port", str(port), "--webui-port", "0"),
        )
        _wait_for(log, "I have been elected leader", master, deadline)
        workers = []
        for i in range(WORKERS):
            work = root / f"worker-{i}"
            work.mkdir()
            proc, log = launch(
                f"worker-{i}",
                "org.apache.spark.deploy.worker.Worker",
                *("--host", "127.0.0.1", "--cores", "1", "--memory", "768m"),
                *("--webui-port", "0", "--work-dir", str(work), master_url),
            )
            workers.append((proc, log, work))
        for proc, log, _ in workers:
            _wait_for(log, "Successfully registered with master", proc, deadline)
        yield {"master": master_url, "home": home, "env": env, "work": [w for *_, w in workers]}
    finally:
        stop()


def test_the_job_submitted_to_a_standalone_cluster_gives_the_pandas_rows(
    cluster, tmp_path: Path
) -> None:
    sample = cr.load_sample()
    tables = sample.subset(sample.enterprises["entity_id"].iloc[::4])  # 2,500: a short job
    data = tables.write(tmp_path / "register")
    model_dir = tmp_path / "model"
    shutil.copytree(cr.sample_model_path(), model_dir)
    driver_dir = tmp_path / "driver"
    driver_dir.mkdir()
    # the driver loads the model, then deletes its directory: nothing on the driver's
    # disk is left for an executor to read, so the rows prove the model travels with
    # the job (as text), as it must when workers cannot see the driver's files
    script = driver_dir / "score_job.py"
    script.write_text(DRIVER)
    out = tmp_path / "scores.parquet"
    submit = [
        str(cluster["home"] / "bin" / "spark-submit"),
        *("--master", cluster["master"]),
        *("--conf", "spark.executor.memory=512m", "--conf", "spark.executor.cores=1"),
        *("--conf", f"spark.pyspark.python={sys.executable}"),
        *("--conf", "spark.ui.enabled=false", "--conf", "spark.sql.shuffle.partitions=2"),
        *("--driver-memory", "512m"),
        str(script),
        *(str(data), str(model_dir), AS_OF, str(out)),
    ]
    done = subprocess.run(
        submit, env=cluster["env"], cwd=driver_dir, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-4000:]
    # the job ran in executors on both workers, not in the driver
    apps = [sorted(p.name for p in work.iterdir()) for work in cluster["work"]]
    assert all(len(found) == 1 and found[0].startswith("app-") for found in apps), apps
    assert apps[0] == apps[1]
    got = pd.read_parquet(out).sort_values(["entity_id", "as_of"], ignore_index=True)
    assert not model_dir.exists()
    model = cr.RiskModel.load(cr.sample_model_path())
    # the files hold the part alone: their related parties are the part's own
    expected = scoring.score_chunk(cr.EventTables.read(data), model, AS_OF)
    assert len(expected) > 1_000 and expected["tier"].nunique() >= 3
    assert list(got.columns) == list(expected.columns)
    for column in ("entity_id", "tier", "score_tier", "override", "reason_1", "reason_2"):
        assert got[column].astype(str).tolist() == expected[column].astype(str).tolist(), column
    assert got["probability"].to_numpy().tolist() == expected["probability"].to_numpy().tolist()
    manifest = scoring.manifest_path(out)
    assert manifest.exists()
