"""``creditrisk plan`` and ``creditrisk verify-plan`` through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app

runner = CliRunner()
SAMPLE = Path(cr.data.__file__).parent / "sample"


@pytest.fixture(scope="module")
def scores_file(tmp_path_factory) -> Path:
    model = cr.RiskModel.load(cr.sample_model_path())
    tables = cr.load_sample()
    X = cr.build_features(tables, cr.spine(tables, "2025-01-01"))
    path = tmp_path_factory.mktemp("plan") / "scores.parquet"
    model.classify(X, top_k=0).join(X[["key_sector", "region"]]).to_parquet(path)
    return path


def _plan(scores_file: Path, out: Path, *extra: str):
    args = ["plan", "--scores", str(scores_file), "--inspectors", str(SAMPLE), "--seed", "11"]
    return runner.invoke(app, [*args, "--out", str(out), "--history", str(SAMPLE), *extra])


def _verify(scores_file: Path, plan: Path, *extra: str):
    args = ["verify-plan", "--plan", str(plan), "--scores", str(scores_file)]
    return runner.invoke(app, [*args, "--inspectors", str(SAMPLE), *extra])


def test_plan_then_verify(scores_file, tmp_path) -> None:
    out = tmp_path / "plan.parquet"
    result = _plan(scores_file, out)
    assert result.exit_code == 0, result.output
    plan = pd.read_parquet(out)
    assert f"{len(plan):,} visits" in " ".join(result.output.split())
    assert set(plan["seed"]) == {11}
    checked = _verify(scores_file, out, "--history", str(SAMPLE))
    assert checked.exit_code == 0, checked.output
    assert "Verified" in checked.output


def test_verify_refuses_a_tampered_plan(scores_file, tmp_path) -> None:
    out = tmp_path / "plan.parquet"
    assert _plan(scores_file, out).exit_code == 0
    plan = pd.read_parquet(out)
    plan.loc[0, "inspector_2"] = "IN9999999"
    plan.to_parquet(out)
    result = _verify(scores_file, out, "--history", str(SAMPLE))
    assert result.exit_code == 2
    printed = " ".join(result.output.split())
    assert "does not verify" in printed and "visit 0 differs in inspector_2" in printed


def test_verify_needs_the_same_history(scores_file, tmp_path) -> None:
    out = tmp_path / "plan.parquet"
    assert _plan(scores_file, out).exit_code == 0
    result = _verify(scores_file, out)  # without --history: other inputs
    assert result.exit_code == 2
    assert "inputs differ" in " ".join(result.output.split())


def test_plan_with_a_budget_below_the_minimums_fails_cleanly(scores_file, tmp_path) -> None:
    out = tmp_path / "plan.parquet"
    result = _plan(scores_file, out, "--budget", "10")
    assert result.exit_code == 2
    assert "below the" in " ".join(result.output.split())
    assert not out.exists()


def test_plan_with_a_budget_allocates_and_verifies(scores_file, tmp_path) -> None:
    out = tmp_path / "plan.parquet"
    scores = pd.read_parquet(scores_file)
    budget = 0.25 * len(scores)
    result = _plan(scores_file, out, "--budget", f"{budget}")
    assert result.exit_code == 0, result.output
    plan = pd.read_parquet(out)
    assert len(plan) <= budget + len(plan["tier"].unique()) * 4  # rounding per stratum
    checked = _verify(scores_file, out, "--history", str(SAMPLE), "--budget", f"{budget}")
    assert checked.exit_code == 0, checked.output


def test_plan_names_missing_score_columns(tmp_path) -> None:
    bad = tmp_path / "scores.parquet"
    pd.DataFrame({"entity_id": ["E1"], "probability": [0.1]}).to_parquet(bad)
    result = _plan(bad, tmp_path / "plan.parquet")
    assert result.exit_code == 2
    assert "tier" in result.output and "Traceback" not in result.output
