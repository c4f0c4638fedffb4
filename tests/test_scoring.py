"""Batch scoring of a register: chunks, sources, atomic output, the manifest, bad input
and a registered model.

Expectations come from scoring the whole tables at once (``score_chunk``), from the
files on disk (SHA-256 with hashlib) and from the model directory's own metadata.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.data.schema import ALL_TABLE_NAMES, TABLE_NAMES
from creditrisk.data.spine import data_span
from creditrisk.jobs.scoring import (
    ChunkedRegister,
    manifest_path,
    score_chunk,
    score_register,
)
from creditrisk.model.integrity import files_digest

AS_OF = "2025-01-01"
TWO_DATES = ["2024-01-01", "2025-01-01"]
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"


# -- fixtures and helpers ---------------------------------------------------------------
@pytest.fixture(scope="module")
def tables() -> cr.EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def model() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


@pytest.fixture(scope="module")
def whole(tables, model) -> pd.DataFrame:
    """The register scored at once: what every chunked run must reproduce."""
    return score_chunk(tables, model, AS_OF)


@pytest.fixture(scope="module")
def whole_two_dates(tables, model) -> pd.DataFrame:
    return score_chunk(tables, model, TWO_DATES)


@pytest.fixture(scope="module")
def sources(tables, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("sources")
    return {
        "parquet": tables.write(root / "parquet"),
        "csv": tables.write(root / "csv", format="csv"),
        "memory": tables,
    }


@pytest.fixture(scope="module")
def registry(tables, tmp_path_factory):
    """A registered champion in a temporary store."""
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root}/mlflow.db"
    run = cr.train(tables, {"model": {"n_estimators": 20, "num_threads": 1}}, tracking_uri=uri)
    assert run.promoted
    return uri, run


def read(path: Path) -> pd.DataFrame:
    """A scoring output as score_chunk returns it (parquet stores as_of in ms)."""
    frame = pd.read_parquet(path)
    assert frame["as_of"].dtype.kind == "M"
    return frame.assign(as_of=frame["as_of"].astype("datetime64[s]"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_sorted_by_keys(frame: pd.DataFrame) -> None:
    keys = frame[["entity_id", "as_of"]]
    expected = keys.sort_values(["entity_id", "as_of"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(keys, expected)
    assert not keys.duplicated().any()


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# -- chunks ------------------------------------------------------------------------------
@pytest.mark.parametrize("chunk_size", [1, 7])
def test_tiny_chunks_give_the_rows_of_one_chunk(tables, model, tmp_path, chunk_size) -> None:
    ids = tables.enterprises["entity_id"].sample(40, random_state=5)
    part = tables.subset(ids)
    out = tmp_path / "scores.parquet"
    manifest = score_register(part, model, AS_OF, out, chunk_size=chunk_size)
    expected = score_chunk(part, model, AS_OF)
    got = read(out)
    assert len(got) > 0
    # some of the 40 are not registered on AS_OF: their chunks are empty
    assert len(got) < 40
    pd.testing.assert_frame_equal(got, expected)
    assert_sorted_by_keys(got)
    assert manifest["chunks"] == math.ceil(40 / chunk_size)
    assert manifest["rows"] == len(expected)


@pytest.mark.parametrize("chunk_size", [777, 100_000])
def test_chunk_size_does_not_change_the_rows(tables, model, whole, tmp_path, chunk_size) -> None:
    out = tmp_path / "scores.parquet"
    manifest = score_register(tables, model, AS_OF, out, chunk_size=chunk_size)
    got = read(out)
    pd.testing.assert_frame_equal(got, whole)
    assert_sorted_by_keys(got)
    assert manifest["chunks"] == math.ceil(len(tables.enterprises) / chunk_size)
    # the same chunk size twice: the same bytes
    again = tmp_path / "again.parquet"
    second = score_register(tables, model, AS_OF, again, chunk_size=chunk_size)
    assert again.read_bytes() == out.read_bytes()
    assert second["output"]["sha256"] == manifest["output"]["sha256"] == sha256(out)


def test_two_dates_in_chunks(tables, model, whole_two_dates, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    manifest = score_register(tables, model, TWO_DATES, out, chunk_size=2_500)
    got = read(out)
    assert_sorted_by_keys(got)
    pd.testing.assert_frame_equal(got, whole_two_dates)
    assert manifest["as_of"] == TWO_DATES
    assert got["as_of"].nunique() == 2


def test_chunked_register_covers_every_row_once(tables) -> None:
    register = ChunkedRegister(tables, chunk_size=3_000)
    parts = list(register)
    assert len(parts) == len(register) == math.ceil(len(tables.enterprises) / 3_000)
    for name in TABLE_NAMES:
        assert sum(len(getattr(p, name)) for p in parts) == len(getattr(tables, name))
    ids = [set(p.enterprises["entity_id"]) for p in parts]
    assert set().union(*ids) == set(tables.enterprises["entity_id"])
    assert sum(len(i) for i in ids) == len(tables.enterprises)
    with pytest.raises(ValueError, match="chunk_size"):
        ChunkedRegister(tables, chunk_size=0)


# -- sources -----------------------------------------------------------------------------
@pytest.mark.parametrize("source", ["parquet", "csv", "memory"])
def test_sources_give_the_same_scores(sources, model, whole_two_dates, tmp_path, source) -> None:
    out = tmp_path / "scores.parquet"
    manifest = score_register(sources[source], model, TWO_DATES, out, chunk_size=3_000)
    pd.testing.assert_frame_equal(read(out), whole_two_dates)
    data = manifest["data"]
    if source == "memory":
        assert data["fingerprint"] == sources["memory"].fingerprint()
    else:
        directory = sources[source]
        assert data["source"] == str(directory)
        assert data["files"] == {
            f"{name}.{source}": sha256(directory / f"{name}.{source}") for name in ALL_TABLE_NAMES
        }


# -- a killed job ------------------------------------------------------------------------
class Killed(RuntimeError):
    pass


def kill_after_first_chunk(done: int, total: int) -> None:
    raise Killed(f"killed after {done} of {total}")


def test_killed_job_leaves_nothing(tables, model, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    with pytest.raises(Killed):
        score_register(tables, model, AS_OF, out, chunk_size=2_000, progress=kill_after_first_chunk)
    assert listing(tmp_path) == []


def test_killed_job_keeps_the_older_output(tables, model, whole, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    score_register(tables, model, "2024-01-01", out, chunk_size=5_000)
    before = {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)}
    assert set(before) == {"scores.parquet", "scores.manifest.json"}
    with pytest.raises(Killed):
        score_register(tables, model, AS_OF, out, chunk_size=2_000, progress=kill_after_first_chunk)
    assert {name: (tmp_path / name).read_bytes() for name in listing(tmp_path)} == before
    # a rerun without the failure replaces both
    calls = []
    manifest = score_register(
        tables, model, AS_OF, out, chunk_size=2_000, progress=lambda d, t: calls.append((d, t))
    )
    assert listing(tmp_path) == ["scores.manifest.json", "scores.parquet"]
    pd.testing.assert_frame_equal(read(out), whole)
    assert json.loads(manifest_path(out).read_text())["as_of"] == [AS_OF]
    assert manifest["as_of"] == [AS_OF]
    n = len(tables.enterprises)
    assert len(calls) == manifest["chunks"]
    assert [t for _, t in calls] == [n] * len(calls)
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[-1] == n


# -- the manifest ------------------------------------------------------------------------
def test_manifest(tables, tmp_path) -> None:
    out = tmp_path / "runs" / "scores.parquet"
    model_dir = cr.sample_model_path()
    chunk_size = 3_000
    manifest = score_register(SAMPLE_DIR, model_dir, AS_OF, out, chunk_size=chunk_size)
    assert manifest_path(out) == out.with_name("scores.manifest.json")
    assert json.loads(manifest_path(out).read_text(encoding="utf-8")) == manifest
    frame = read(out)
    assert manifest["rows"] == manifest["output"]["rows"] == len(frame)
    assert manifest["output"]["sha256"] == sha256(out)
    assert manifest["output"]["path"] == str(out)
    assert manifest["as_of"] == [AS_OF]
    assert sum(manifest["tiers"].values()) == manifest["rows"]
    assert manifest["tiers"] == {
        str(k): int(v) for k, v in frame["tier"].value_counts().items() if v > 0
    }
    assert manifest["score_tiers"] == {
        str(k): int(v) for k, v in frame["score_tier"].value_counts().items() if v > 0
    }
    assert manifest["overridden"] == int((frame["override"] != "").sum())
    # one digest over model.txt and metadata.json: a model differing only in metadata
    # never looks the same
    both = {name: sha256(model_dir / name) for name in ("model.txt", "metadata.json")}
    assert manifest["model"]["model_sha256"] == files_digest(both)
    assert manifest["model"]["signature"]["verified"] is False
    assert manifest["model"]["source"] == str(model_dir)
    assert manifest["model"]["version"] is None
    # every table file of the sample: the six and the indicator system's four
    assert manifest["data"]["files"] == {
        f"{name}.parquet": sha256(SAMPLE_DIR / f"{name}.parquet") for name in ALL_TABLE_NAMES
    }
    assert manifest["data"]["rows"] == {
        name: len(getattr(tables, name)) for name in ALL_TABLE_NAMES
    }
    assert manifest["data"]["span"] == [str(d.date()) for d in data_span(tables)]
    assert manifest["entities"]["in_register"] == len(tables.enterprises)
    assert manifest["chunks"] == math.ceil(len(tables.enterprises) / chunk_size)
    assert manifest["chunk_size"] == chunk_size
    assert manifest["creditrisk_version"] == cr.__version__


def test_without_features_only_score_columns(tables, model, whole, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    score_register(tables, model, AS_OF, out, features=False, top_k=1, chunk_size=4_000)
    got = read(out)
    expected = score_chunk(tables, model, AS_OF, features=False, top_k=1)
    pd.testing.assert_frame_equal(got, expected)
    assert not set(model.feature_names_in_) & set(got.columns)
    assert [c for c in got if c.startswith("reason_") and c.count("_") == 1] == ["reason_1"]
    np.testing.assert_array_equal(got["probability"], whole["probability"])


# -- one entity --------------------------------------------------------------------------
def test_one_entity_alone_equals_its_row_in_the_batch(tables, model, whole) -> None:
    span = data_span(tables)
    chosen = whole["entity_id"].sample(5, random_state=11).tolist()
    chosen.append(whole.loc[whole["override"] != "", "entity_id"].iloc[0])
    for entity in chosen:
        alone = score_chunk(tables.subset([entity]), model, AS_OF, span=span)
        row = whole[whole["entity_id"] == entity].reset_index(drop=True)
        assert len(alone) == len(row) == 1
        pd.testing.assert_frame_equal(alone, row)


def test_one_entity_register_equals_its_row(tables, model, whole, tmp_path) -> None:
    # an entity whose own events reach past AS_OF, so its own span covers the date
    last_event = tables.annual_reports.groupby("entity_id", observed=True)["filed_on"].max()
    late = set(last_event[last_event > pd.Timestamp(AS_OF)].index)
    entity = next(e for e in whole["entity_id"] if e in late)
    out = tmp_path / "one.parquet"
    manifest = score_register(tables.subset([entity]), model, AS_OF, out, chunk_size=1)
    assert manifest["rows"] == 1
    row = whole[whole["entity_id"] == entity].reset_index(drop=True)
    pd.testing.assert_frame_equal(read(out), row)


# -- bad input ---------------------------------------------------------------------------
def negative_fine(tables: cr.EventTables) -> cr.EventTables:
    pen = tables.penalties.copy()
    pen.loc[len(pen) // 2, "fine_amount"] = -500.0
    return tables.replace(penalties=pen)


def duplicate_penalty_id(tables: cr.EventTables) -> cr.EventTables:
    """Two penalties of entities far apart in the register share one penalty_id."""
    pen = tables.penalties.sort_values("entity_id").reset_index(drop=True)
    pen.loc[len(pen) - 1, "penalty_id"] = pen.loc[0, "penalty_id"]
    return tables.replace(penalties=pen)


@pytest.mark.parametrize("chunk_size", [777, 100_000])
@pytest.mark.parametrize("breaker", [negative_fine, duplicate_penalty_id])
def test_invalid_tables_raise_and_write_nothing(
    tables, model, tmp_path, breaker, chunk_size
) -> None:
    bad = breaker(tables)
    with pytest.raises(cr.SchemaError):
        bad.validate()  # the whole tables are invalid
    out = tmp_path / "scores.parquet"
    with pytest.raises(cr.SchemaError):
        score_register(bad, model, AS_OF, out, chunk_size=chunk_size)
    assert listing(tmp_path) == []


def test_invalid_table_files_raise_and_write_nothing(tables, model, tmp_path) -> None:
    data = negative_fine(tables).write(tmp_path / "data")
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(cr.SchemaError, match=r"penalties\.fine_amount"):
        score_register(data, model, AS_OF, out, chunk_size=2_000)
    assert not out.parent.exists() or listing(out.parent) == []


@pytest.mark.parametrize("as_of", ["2030-01-01", "1970-01-01", ["2024-01-01", "2027-06-30"]])
def test_as_of_outside_the_data(tables, model, tmp_path, as_of) -> None:
    first, last = data_span(tables)
    out = tmp_path / "scores.parquet"
    with pytest.raises(ValueError, match="outside the data") as info:
        score_register(tables, model, as_of, out)
    message = str(info.value)
    assert str(first.date()) in message
    assert str(last.date()) in message
    assert listing(tmp_path) == []


def test_missing_data_directory(model, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        score_register(tmp_path / "nowhere", model, AS_OF, out)
    assert listing(tmp_path) == []


def test_altered_model_directory(tables, tmp_path) -> None:
    model_dir = tmp_path / "model"
    shutil.copytree(cr.sample_model_path(), model_dir)
    with (model_dir / "model.txt").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(cr.ModelError, match="altered"):
        score_register(tables, model_dir, AS_OF, out)
    with pytest.raises(cr.ModelError, match="no model directory"):
        score_register(tables, tmp_path / "no-model", AS_OF, out)
    assert not out.parent.exists()


# -- a registered model ------------------------------------------------------------------
@pytest.mark.parametrize("reference", ["@champion", "/1"])
def test_registered_model_scores_like_the_risk_model(
    registry, tables, tmp_path, monkeypatch, reference
) -> None:
    uri, run = registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    source = f"models:/creditrisk{reference}"
    out = tmp_path / "scores.parquet"
    with pytest.raises(cr.ModelError, match=r"registry URI.*tracking\.load_model"):
        score_register(tables, source, AS_OF, out, chunk_size=4_000)  # knows no registry
    assert not out.exists()
    model = cr.tracking.resolve_model(source)  # the registry is read here, once
    manifest = score_register(tables, model, AS_OF, out, chunk_size=4_000)
    pd.testing.assert_frame_equal(read(out), score_chunk(tables, run.model, AS_OF))
    assert manifest["model"]["version"] == run.version == "1"
    assert manifest["model"]["source"] == source
    assert manifest["model"]["tracking_uri"] == uri
    assert manifest["model"]["registered_model"] == "creditrisk"
    assert manifest["model"]["run_id"] == run.run_id
    saved = run.model.save(tmp_path / "model")
    both = {name: sha256(saved / name) for name in ("model.txt", "metadata.json")}
    assert manifest["model"]["model_sha256"] == files_digest(both)
    assert manifest["model"]["trees"] == run.model.n_trees_


def test_resolve_model_refuses_an_unknown_alias(registry, monkeypatch) -> None:
    uri, _ = registry
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    with pytest.raises(cr.ModelError, match="nobody"):
        cr.tracking.resolve_model("models:/creditrisk@nobody")


@pytest.mark.parametrize("source", ["parquet", "memory"])
def test_overlapped_scoring_is_bit_for_bit_the_sequential_run(
    sources, model, tmp_path: Path, source: str
) -> None:
    """The next chunk is read and built in a second thread while this one is scored:
    the file written is byte for byte the one-thread run's."""
    model = cr.RiskModel.load(cr.sample_model_path()).set_params(num_threads=1)
    runs = {}
    for overlap in (False, "thread", "process"):
        out = tmp_path / f"overlap-{overlap}.parquet"
        runs[overlap] = score_register(
            sources[source], model, TWO_DATES, out, chunk_size=1_500, overlap=overlap
        )
        assert runs[overlap]["chunks"] == 7
    sequential = (tmp_path / "overlap-False.parquet").read_bytes()
    for overlap in ("thread", "process"):
        assert runs[overlap]["output"]["sha256"] == runs[False]["output"]["sha256"]
        assert (tmp_path / f"overlap-{overlap}.parquet").read_bytes() == sequential
        assert runs[overlap]["tiers"] == runs[False]["tiers"]


@pytest.mark.parametrize("overlap", ["thread", "process"])
def test_an_error_in_the_chunk_read_ahead_leaves_no_output(
    sources, model, tmp_path: Path, monkeypatch, overlap: str
) -> None:
    from creditrisk.jobs.scoring import ChunkedRegister

    chunk = ChunkedRegister.chunk
    calls = []

    def third_fails(self, low, high):
        calls.append(low)
        if len(calls) == 3:
            raise OSError("the disk went away while reading ahead")
        return chunk(self, low, high)

    monkeypatch.setattr(ChunkedRegister, "chunk", third_fails)
    out = tmp_path / "scores.parquet"
    with pytest.raises(OSError, match="reading ahead"):
        score_register(sources["parquet"], model, AS_OF, out, chunk_size=1_500, overlap=overlap)
    if overlap == "thread":  # a forked worker counts in its own memory
        assert len(calls) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- several scoring processes ------------------------------------------------------------
@pytest.mark.parametrize("source", ["parquet", "memory"])
def test_scoring_processes_write_the_one_process_file_byte_for_byte(
    sources, tmp_path: Path, source: str
) -> None:
    """Forked processes score whole chunks while the parent writes them in order: the
    file, the tiers and the counts are those of one process, whatever the processes."""
    import os

    model = cr.RiskModel.load(cr.sample_model_path()).set_params(num_threads=2)
    runs = {}
    for n_jobs in (None, 3, -1):
        out = tmp_path / f"jobs-{n_jobs}.parquet"
        runs[n_jobs] = score_register(
            sources[source], model, TWO_DATES, out, chunk_size=1_500, n_jobs=n_jobs
        )
    cores = len(os.sched_getaffinity(0))
    assert [runs[n]["processes"] for n in (None, 3, -1)] == [1, 3, min(cores, 7)]
    alone = (tmp_path / "jobs-None.parquet").read_bytes()
    for n_jobs in (3, -1):
        assert (tmp_path / f"jobs-{n_jobs}.parquet").read_bytes() == alone
        for key in ("rows", "tiers", "score_tiers", "overridden", "entities", "chunks"):
            assert runs[n_jobs][key] == runs[None][key]
        assert runs[n_jobs]["output"]["sha256"] == runs[None]["output"]["sha256"]
        assert runs[n_jobs]["data"]["rows"] == runs[None]["data"]["rows"]
    assert model.num_threads == 2  # the workers took their share in their own copy


def test_more_processes_than_chunks_score_in_as_many_as_chunks(tables, model, tmp_path) -> None:
    manifest = score_register(tables, model, AS_OF, tmp_path / "s.parquet", n_jobs=4)
    assert (manifest["chunks"], manifest["processes"]) == (1, 1)


@pytest.mark.parametrize("chunk_size", [777, 100_000])
@pytest.mark.parametrize("breaker", [negative_fine, duplicate_penalty_id])
def test_scoring_processes_refuse_bad_tables_as_one_process_does(
    tables, model, tmp_path, breaker, chunk_size
) -> None:
    bad = breaker(tables)
    out = tmp_path / "scores.parquet"
    errors = {}
    for n_jobs in (1, 2):
        with pytest.raises(cr.SchemaError) as info:
            score_register(bad, model, AS_OF, out, chunk_size=chunk_size, n_jobs=n_jobs)
        errors[n_jobs] = [
            (p.table, p.column, p.rule, p.detail, p.n_rows, p.file, _records(p.rows))
            for p in info.value.problems
        ] + [str(info.value)]
        assert listing(tmp_path) == []
    assert errors[2] == errors[1] and len(errors[1]) > 1


def test_an_error_in_a_scoring_process_reaches_the_caller_and_leaves_no_output(
    sources, model, tmp_path: Path, monkeypatch
) -> None:
    chunk = ChunkedRegister.chunk

    def fails_late(self, low, high):
        if low is not None and low >= "E0007000":
            raise OSError("the disk went away in a scoring process")
        return chunk(self, low, high)

    monkeypatch.setattr(ChunkedRegister, "chunk", fails_late)
    out = tmp_path / "scores.parquet"
    done = []
    with pytest.raises(OSError, match="in a scoring process"):
        score_register(
            sources["parquet"],
            model,
            AS_OF,
            out,
            chunk_size=1_500,
            n_jobs=2,
            progress=lambda n, total: done.append(n),
        )
    # chunk 5 (from E0007501) fails: the five before it were written, then the run ended
    assert done == [1_500, 3_000, 4_500, 6_000, 7_500]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("n_jobs", [0, 1.5, "2", True])
def test_n_jobs_must_be_a_non_zero_integer(tables, model, tmp_path, n_jobs) -> None:
    with pytest.raises(ValueError, match="n_jobs"):
        score_register(tables, model, AS_OF, tmp_path / "s.parquet", n_jobs=n_jobs)
    assert listing(tmp_path) == []


def _records(rows: pd.DataFrame | None) -> list | None:
    return None if rows is None else rows.astype("str").to_dict("records")


def _state(pid: int) -> str | None:
    """A process's state letter from /proc (Z: a zombie), None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def _children(parent: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


_HANGS = """
import sys, time
import creditrisk as cr
from creditrisk.jobs.scoring import score_register

def progress(done, total):
    print("scoring", flush=True)
    time.sleep(600)  # killed here

model = cr.RiskModel.load(cr.sample_model_path())
score_register(sys.argv[1], model, "2025-01-01", sys.argv[2], chunk_size=1_500, n_jobs=2,
               progress=progress)
"""


def test_scoring_processes_die_with_a_job_killed_alone(sources, tmp_path: Path) -> None:
    """SIGKILL of the job's process alone (not its group, as a scheduler may do): its
    scoring processes end too, instead of living on as orphans (Linux, from /proc)."""
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "hangs.py"
    script.write_text(_HANGS)
    job = subprocess.Popen(
        [sys.executable, str(script), str(sources["parquet"]), str(tmp_path / "out.parquet")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert job.stdout.readline().strip() == "scoring"  # a chunk written, workers busy
        workers = _children(job.pid)
        assert len(workers) == 2
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if all(_state(pid) in (None, "Z") for pid in workers):
                break
            time.sleep(0.1)
        assert [_state(pid) for pid in workers if _state(pid) not in (None, "Z")] == []
    finally:
        if job.poll() is None:
            job.kill()


def _dies_in_a_worker(monkeypatch) -> None:
    """ChunkedRegister.chunk SIGKILLs the scoring process that reads chunk 4 (of 7)."""
    import os
    import signal

    chunk, parent = ChunkedRegister.chunk, os.getpid()

    def dies(self, low, high):
        if os.getpid() != parent and low == "E0004501":
            os.kill(os.getpid(), signal.SIGKILL)
        return chunk(self, low, high)

    monkeypatch.setattr(ChunkedRegister, "chunk", dies)


def test_a_scoring_process_killed_midway_is_a_clear_error_and_no_output(
    sources, model, tmp_path: Path, monkeypatch
) -> None:
    from creditrisk.jobs.scoring import ScoringProcessError

    _dies_in_a_worker(monkeypatch)
    out = tmp_path / "out" / "scores.parquet"
    with pytest.raises(ScoringProcessError, match=r"ended abruptly .* of 7 not yet scored"):
        score_register(sources["parquet"], model, AS_OF, out, chunk_size=1_500, n_jobs=2)
    assert not out.parent.exists() or listing(out.parent) == []


def test_the_command_says_a_scoring_process_ended_and_exits_1(
    sources, tmp_path: Path, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from creditrisk.cli import app

    _dies_in_a_worker(monkeypatch)
    out = tmp_path / "out" / "scores.parquet"
    args = ["score", "--model", str(cr.sample_model_path()), "--data", str(sources["parquet"])]
    args += ["--as-of", AS_OF, "--out", str(out), "--chunk-size", "1500", "--jobs", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    text = " ".join(result.output.split())
    assert "error: a scoring process ended abruptly" in text
    assert "Traceback" not in result.output
    assert not out.parent.exists() or listing(out.parent) == []
