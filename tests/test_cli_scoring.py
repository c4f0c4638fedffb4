"""``creditrisk train``, ``score`` and ``compare`` through Typer's CliRunner.

Expectations come from the library behind each command (``score_register``,
``creditrisk.jobs.monitoring.compare``, the MLflow registry) on the same inputs.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.jobs import monitoring
from creditrisk.jobs.scoring import manifest_path, score_register

runner = CliRunner()
BAD_INPUT = 2
AS_OF = "2025-01-01"
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
MODEL_DIR = cr.sample_model_path()


def assert_clean_exit(result, code: int) -> None:
    """The command ended through SystemExit with ``code``: no escaped exception."""
    assert result.exit_code == code, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def flat(output: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(output.split())


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def score_args(
    out: Path, *extra: str, data: Path = SAMPLE_DIR, model=MODEL_DIR, as_of: str = AS_OF
) -> list[str]:
    return [
        "score",
        "--model",
        str(model),
        "--data",
        str(data),
        "--as-of",
        as_of,
        "--out",
        str(out),
        *extra,
    ]


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Path:
    """``creditrisk score`` of the sample on AS_OF, with features."""
    out = tmp_path_factory.mktemp("scored") / "scores.parquet"
    result = runner.invoke(app, score_args(out))
    assert_clean_exit(result, 0)
    return out


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> Path:
    """The sample scored a year before AS_OF, through the library."""
    out = tmp_path_factory.mktemp("earlier") / "scores-2024.parquet"
    score_register(SAMPLE_DIR, MODEL_DIR, "2024-01-01", out)
    return out


# -- train -------------------------------------------------------------------------------
def test_train_with_config_registers_and_promotes_only_a_better_model(
    tmp_path, monkeypatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    good = tmp_path / "train.toml"
    good.write_text("[model]\nn_estimators = 30\nnum_threads = 1\n")
    worse = tmp_path / "worse.toml"
    worse.write_text("[model]\nn_estimators = 2\nlearning_rate = 0.01\nnum_threads = 1\n")

    def train(config: Path):
        args = ["train", "--data", str(SAMPLE_DIR), "--config", str(config)]
        return runner.invoke(app, [*args, "--tracking-uri", uri])

    first = train(good)
    assert_clean_exit(first, 0)
    client = mlflow.MlflowClient(uri)
    v1 = client.get_model_version("creditrisk", "1")
    text = flat(first.output)
    assert f"MLflow run {v1.run_id}" in text
    assert "registered creditrisk v1" in text
    assert "now models:/creditrisk/1 is @champion" in text
    assert str(client.get_model_version_by_alias("creditrisk", "champion").version) == "1"
    run = client.get_run(v1.run_id)
    assert f"test AUC {run.data.metrics['test_auc']:.3f}" in text
    assert f"Trained {int(run.data.metrics['trees'])} trees" in text
    # the settings of the file, threads included
    assert run.data.params["model.n_estimators"] == "30"
    assert run.data.params["model.num_threads"] == "1"

    second = train(worse)
    assert_clean_exit(second, 0)
    v2 = client.get_model_version("creditrisk", "2")
    text = flat(second.output)
    assert f"MLflow run {v2.run_id}" in text
    assert "registered creditrisk v2" in text
    assert "vs champion v1" in text
    assert "not better" in text
    assert "champion unchanged" in text
    assert str(client.get_model_version_by_alias("creditrisk", "champion").version) == "1"
    # the store is the one given, not one in the working directory
    assert listing(cwd) == []


def test_train_out_alone_writes_a_model_and_no_store(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "model"
    args = ["train", "--data", str(SAMPLE_DIR), "--out", str(out), "--threads", "1"]
    result = runner.invoke(app, args)
    assert_clean_exit(result, 0)
    assert listing(tmp_path) == ["model"]
    assert listing(out) == ["CHECKSUMS", "MODEL_CARD.md", "metadata.json", "model.txt"]
    model = cr.RiskModel.load(out)
    assert f"Trained {model.n_trees_} trees" in flat(result.output)
    assert "MLflow" not in result.output


def test_train_with_nothing_to_do(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "--data", str(SAMPLE_DIR)])
    assert_clean_exit(result, BAD_INPUT)
    assert "nothing to do" in result.output
    assert "--out" in result.output and "--config" in result.output
    assert listing(tmp_path) == []


# -- score -------------------------------------------------------------------------------
def test_score_writes_what_score_register_writes(scored, tmp_path) -> None:
    assert listing(scored.parent) == ["scores.manifest.json", "scores.parquet"]
    api = tmp_path / "scores.parquet"
    expected = score_register(SAMPLE_DIR, MODEL_DIR, AS_OF, api)
    got = pd.read_parquet(scored)
    pd.testing.assert_frame_equal(got, pd.read_parquet(api))
    manifest = json.loads(manifest_path(scored).read_text(encoding="utf-8"))
    assert manifest["rows"] == expected["rows"] == len(got)
    assert manifest["tiers"] == expected["tiers"]
    assert manifest["output"]["sha256"] == expected["output"]["sha256"]
    assert manifest["model"]["model_sha256"] == expected["model"]["model_sha256"]
    assert manifest["data"]["files"] == expected["data"]["files"]
    assert manifest["as_of"] == [AS_OF]


def test_score_prints_rows_and_tiers(tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, score_args(out, "--chunk-size", "4000"))
    assert_clean_exit(result, 0)
    manifest = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    text = flat(result.output)
    assert f"Scored {manifest['rows']:,} rows as of {AS_OF}" in text
    for tier, count in manifest["tiers"].items():
        assert f"{tier} {count:,}" in text
    assert manifest["chunks"] == math.ceil(len(cr.load_sample().enterprises) / 4000)
    assert manifest["processes"] == min(len(os.sched_getaffinity(0)), manifest["chunks"])


def test_score_jobs_write_the_file_of_one_process(tmp_path) -> None:
    """--jobs -1 (the default) scores chunks in one process per core; --jobs 1 in one."""
    runs = {}
    for jobs in ("1", "2"):
        out = tmp_path / jobs / "scores.parquet"
        result = runner.invoke(app, score_args(out, "--chunk-size", "3000", "-j", jobs))
        assert_clean_exit(result, 0)
        runs[jobs] = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert (runs["1"]["processes"], runs["2"]["processes"]) == (1, 2)
    assert runs["1"]["output"]["sha256"] == runs["2"]["output"]["sha256"]
    assert runs["1"]["tiers"] == runs["2"]["tiers"]


def test_score_without_features(scored, tmp_path) -> None:
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, score_args(out, "--no-features"))
    assert_clean_exit(result, 0)
    got = pd.read_parquet(out)
    model = cr.RiskModel.load(MODEL_DIR)
    tables = cr.load_sample()
    score_columns = list(model.classify(cr.build_features(tables, cr.spine(tables, AS_OF))).columns)
    assert list(got.columns) == score_columns
    with_features = pd.read_parquet(scored)
    pd.testing.assert_frame_equal(got, with_features[score_columns])


def _negative_fine(directory: Path) -> None:
    pen = pd.read_parquet(directory / "penalties.parquet")
    pen.loc[len(pen) // 2, "fine_amount"] = -500.0
    pen.to_parquet(directory / "penalties.parquet", index=False)


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing data", ["no event-table directory", "nowhere"]),
        ("missing model", ["cannot load the model", "no-model"]),
        ("as_of outside", ["outside the data", "2035-01-01"]),
        ("invalid tables", ["does not hold valid event tables", "penalties.fine_amount"]),
        ("unknown engine", ["--engine", "dask"]),
        ("no processes", ["--jobs", "must not be 0"]),
    ],
)
def test_score_bad_input(tmp_path, case, words) -> None:
    out = tmp_path / "out" / "scores.parquet"
    if case == "missing data":
        args = score_args(out, data=tmp_path / "nowhere")
    elif case == "missing model":
        args = score_args(out, model=tmp_path / "no-model")
    elif case == "as_of outside":
        args = score_args(out, as_of="2035-01-01")
    elif case == "invalid tables":
        data = tmp_path / "data"
        shutil.copytree(SAMPLE_DIR, data)
        _negative_fine(data)
        args = score_args(out, data=data)
    elif case == "no processes":
        args = score_args(out, "--jobs", "0")
    else:
        args = score_args(out, "--engine", "dask")
    result = runner.invoke(app, args)
    assert_clean_exit(result, BAD_INPUT)
    text = flat(result.output)
    assert "error" in text
    for word in words:
        assert word in text, word
    assert not out.parent.exists() or listing(out.parent) == []


# -- compare -----------------------------------------------------------------------------
def test_compare_prints_migration_and_psi(earlier, scored, tmp_path) -> None:
    report = tmp_path / "report.json"
    result = runner.invoke(app, ["compare", str(earlier), str(scored), "--json", str(report)])
    assert_clean_exit(result, 0)
    expected = monitoring.compare(pd.read_parquet(earlier), pd.read_parquet(scored))
    text = flat(result.output)
    assert "Tier migration" in text
    assert "Population stability index" in text
    s = expected.summary
    assert f"{s['in_both']:,} entities in both runs" in text
    assert f"score PSI {s['score_psi']:.4f}" in text
    for variable in expected.psi.index[:3]:
        assert variable in text
    written = json.loads(report.read_text(encoding="utf-8"))
    assert written["summary"] == pytest.approx(s)
    assert [row["variable"] for row in written["psi"]] == list(expected.psi.index)
    assert written["migration"] == {
        str(k): {str(c): int(v) for c, v in row.items()} for k, row in expected.migration.iterrows()
    }
    assert sum(sum(row.values()) for row in written["migration"].values()) == s["in_both"]


def test_compare_fail_on_alert(scored, tmp_path) -> None:
    old = pd.read_parquet(scored)
    shifted = old.assign(registered_capital=old["registered_capital"] * 1_000)
    new = tmp_path / "shifted.parquet"
    shifted.to_parquet(new, index=False)
    assert monitoring.compare(old, shifted).alert  # the shift is an alert by the library
    args = ["compare", str(scored), str(new)]
    assert_clean_exit(runner.invoke(app, args), 0)
    alerted = runner.invoke(app, [*args, "--fail-on-alert"])
    assert_clean_exit(alerted, 1)
    assert "alert: PSI of feature registered_capital" in flat(alerted.output)
    # the same run against itself: nothing to alert on
    assert not monitoring.compare(old, old).alert
    same = runner.invoke(app, ["compare", str(scored), str(scored), "--fail-on-alert"])
    assert_clean_exit(same, 0)
    assert "No warnings." in same.output


def test_compare_refuses_what_is_not_scores(scored, tmp_path) -> None:
    enterprises = tmp_path / "enterprises.parquet"
    shutil.copy(SAMPLE_DIR / "enterprises.parquet", enterprises)
    result = runner.invoke(app, ["compare", str(scored), str(enterprises)])
    assert_clean_exit(result, BAD_INPUT)
    assert "scoring output" in flat(result.output)
    text_file = tmp_path / "notes.parquet"
    text_file.write_text("not a parquet file")
    result = runner.invoke(app, ["compare", str(text_file), str(scored)])
    assert_clean_exit(result, BAD_INPUT)
    assert "cannot read scores" in flat(result.output)
    result = runner.invoke(app, ["compare", str(tmp_path / "missing.parquet"), str(scored)])
    assert_clean_exit(result, BAD_INPUT)
    assert "cannot read scores" in flat(result.output)
