"""The ``creditrisk`` command: help, generate, validate and demo through Typer's CliRunner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.data.schema import INDICATOR_TABLES, TABLE_NAMES

runner = CliRunner()
COMMANDS = typer.main.get_command(app).commands
BAD_INPUT = 2


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def expected_files(fmt: str) -> list[str]:
    return sorted(
        [
            *(f"{t}.{fmt}" for t in (*TABLE_NAMES, *INDICATOR_TABLES)),
            f"inspectors.{fmt}",
            f"inspector_conflicts.{fmt}",
        ]
    )


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}


def assert_clean_exit(result, code: int) -> None:
    """The command ended through SystemExit with ``code``: no escaped exception."""
    assert result.exit_code == code, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "world"
    result = runner.invoke(app, ["generate", "--n", "300", "--seed", "3", "--out", str(out)])
    assert_clean_exit(result, 0)
    return out


# -- help ------------------------------------------------------------------------------
def test_app_help_lists_every_command() -> None:
    assert set(COMMANDS) >= {"generate", "validate", "demo"}
    result = runner.invoke(app, ["--help"])
    assert_clean_exit(result, 0)
    assert "Usage" in result.output
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name: str) -> None:
    result = runner.invoke(app, [name, "--help"])
    assert_clean_exit(result, 0)
    assert "Usage" in result.output
    assert name in result.output
    options = [p for p in COMMANDS[name].params if p.param_type_name == "option"]
    for param in options:
        assert param.opts[0] in result.output, param.opts


# -- generate --------------------------------------------------------------------------
def test_generate_writes_the_tables_and_inspectors(generated: Path) -> None:
    assert files(generated) == expected_files("parquet")
    tables = cr.EventTables.read(generated).validate()
    assert len(tables.enterprises) == 300
    assert tables.fingerprint() == cr.synth.generate(300, seed=3).tables.fingerprint()
    assert len(pd.read_parquet(generated / "inspectors.parquet")) > 0


def test_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "world"

    def generate(seed: int, *extra: str):
        args = ["generate", "--n", "300", "--seed", str(seed), "--out", str(out), *extra]
        return runner.invoke(app, args)

    assert_clean_exit(generate(3), 0)
    before = snapshot(out)
    again = generate(4)
    assert_clean_exit(again, BAD_INPUT)
    assert "already holds tables" in again.output
    assert "--overwrite" in again.output
    assert snapshot(out) == before
    assert_clean_exit(generate(4, "--overwrite"), 0)
    seed4 = cr.synth.generate(300, seed=4).tables.fingerprint()
    assert cr.EventTables.read(out).fingerprint() == seed4


def test_generate_csv(tmp_path: Path, generated: Path) -> None:
    out = tmp_path / "world"
    args = ["generate", "--n", "300", "--seed", "3", "--out", str(out), "--format", "csv"]
    result = runner.invoke(app, args)
    assert_clean_exit(result, 0)
    assert files(out) == expected_files("csv")
    # the same world as the parquet one generated with the same seed
    from_csv = cr.EventTables.read(out).validate()
    assert from_csv.fingerprint() == cr.EventTables.read(generated).fingerprint()


def test_generate_rejects_an_unknown_format(tmp_path: Path) -> None:
    out = tmp_path / "world"
    args = ["generate", "--n", "300", "--out", str(out), "--format", "xml"]
    result = runner.invoke(app, args)
    assert_clean_exit(result, BAD_INPUT)
    assert "--format" in result.output
    assert "xml" in result.output
    assert not out.exists()


# -- validate --------------------------------------------------------------------------
def test_validate_a_good_directory(generated: Path) -> None:
    result = runner.invoke(app, ["validate", str(generated)])
    assert_clean_exit(result, 0)
    assert "valid" in result.output
    assert "error" not in result.output
    assert "300" in result.output  # the summary: 300 enterprises


def _negative_fine(directory: Path) -> list[str]:
    pen = pd.read_parquet(directory / "penalties.parquet")
    idx = [0, len(pen) - 1]
    pen.loc[idx, "fine_amount"] = -500.0
    pen.to_parquet(directory / "penalties.parquet", index=False)
    return ["penalties.fine_amount", "non-negative", *pen.loc[idx, "penalty_id"]]


def _misnamed_table(directory: Path) -> list[str]:
    # tables other than enterprises may be absent, but a near miss is never skipped
    (directory / "licenses.parquet").rename(directory / "license.parquet")
    return ["licenses", "misnamed file", "license.parquet"]


def _empty_report_year(directory: Path) -> list[str]:
    # a CSV with an empty value in a required integer column
    tables = cr.EventTables.read(directory)
    for p in directory.glob("*.parquet"):
        p.unlink()
    # the tables may not be written over the files they were read from: via elsewhere
    converted = tables.write(directory.with_name("converted"), format="csv")
    for p in converted.iterdir():
        p.rename(directory / p.name)
    path = directory / "annual_reports.csv"
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raw.loc[0, "report_year"] = np.nan
    raw.to_csv(path, index=False)
    return ["annual_reports.report_year", "required", raw.loc[0, "entity_id"]]


def _bracketed_entity_id(directory: Path) -> list[str]:
    # an unknown entity whose id looks like console markup must be shown as is
    pen = pd.read_parquet(directory / "penalties.parquet")
    pen["entity_id"] = pen["entity_id"].astype(object)
    pen.loc[0, "entity_id"] = "[/b]"
    pen.to_parquet(directory / "penalties.parquet", index=False)
    return ["penalties.entity_id", "unknown entity", "[/b]"]


@pytest.mark.parametrize(
    "breaker", [_negative_fine, _misnamed_table, _empty_report_year, _bracketed_entity_id]
)
def test_validate_a_broken_directory(generated: Path, tmp_path: Path, breaker) -> None:
    work = tmp_path / "world"
    shutil.copytree(generated, work)
    expected = breaker(work)
    result = runner.invoke(app, ["validate", str(work)])
    assert_clean_exit(result, BAD_INPUT)
    assert "error" in result.output
    for text in expected:
        assert text in result.output, text


def test_validate_a_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = runner.invoke(app, ["validate", str(missing)])
    assert_clean_exit(result, BAD_INPUT)
    assert "no event-table directory" in result.output
    assert "nowhere" in result.output


# -- demo ------------------------------------------------------------------------------
def test_demo_prints_the_summary(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert_clean_exit(result, 0)
    sample = cr.load_sample()
    random = sample.inspections[sample.inspections["kind"] == "random"]
    rate = (random["outcome"] != "compliant").mean()
    for name in TABLE_NAMES:
        assert name in result.output
    assert f"{len(sample.enterprises):,}" in result.output
    assert f"finding rate {rate:.1%}" in result.output
    assert "valid" in result.output
    # the model part: the tier table and three explanations with their reasons
    assert "Tiers on the test date" in result.output
    for tier in cr.Policy.load("national").tiers:
        assert f"│ {tier} " in result.output
    assert result.output.count("log-odds)") >= 3
    assert "override: " in result.output
    # tracked in an MLflow store inside the output directory, registered as champion
    flat = " ".join(result.output.split())  # Rich wraps lines at 80 columns
    assert (tmp_path / "mlflow.db").is_file()
    assert "Registered creditrisk v1" in flat
    assert "it is now @champion" in flat
    # the register scored today, with its manifest, and compared with the test date
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    manifest = json.loads((tmp_path / "scores.manifest.json").read_text())
    assert manifest["rows"] == len(scores) > 0
    assert manifest["as_of"] == ["2026-01-01"]
    assert f"Scored {len(scores):,} rows as of 2026-01-01" in flat
    assert "score PSI" in flat
    # the inspection part: the frequency table and a plan drawn from today's scores
    assert "Inspection frequency table" in result.output
    plan = pd.read_parquet(tmp_path / "plan.parquet")
    assert set(plan["entity_id"]) <= set(scores["entity_id"])
    assert f"{len(plan):,} visits" in result.output
    assert (plan["inspector_1"] != plan["inspector_2"]).all()
    # the supervisor's report and one explanation card, with their paths printed
    report = tmp_path / "report.html"
    assert f"Report: {report.resolve()}" in flat
    html = report.read_text(encoding="utf-8")
    for section in ("tier-distribution", "tier-migration", "inspection", "fairness"):
        assert f'<section id="{section}">' in html
    assert f"{len(plan):,} to {plan['entity_id'].nunique():,} entities" in html
    cards = sorted(tmp_path.glob("card-*.html"), key=lambda p: flat.index(p.name))
    card, related = cards  # the example card, then one with a related-party reason
    entity = card.stem.removeprefix("card-")
    assert f"Card: {card.resolve()}" in flat
    text = card.with_suffix(".txt").read_text(encoding="utf-8")
    assert text.startswith(f"Explanation card: enterprise {entity}, as of 2026-01-01")
    tier = scores.loc[scores["entity_id"] == entity, "tier"].astype(str).item()
    assert f"Tier {tier} (" in text
    assert f"Explanation card of {entity}: tier {tier}" in flat
    # the second card names the enterprises behind its related-party reason
    other = related.stem.removeprefix("card-")
    text = related.with_suffix(".txt").read_text(encoding="utf-8")
    assert "Related enterprises behind these reasons" in text
    named = text.split("Related enterprises behind these reasons\n")[1].split("\n\n")[0]
    ids = [line.split()[0] for line in named.splitlines()]
    expected = cr.features.related_enterprises(cr.load_sample(), other, "2026-01-01")
    assert ids and set(ids) <= set(expected["related_id"])
    assert f"Explanation card of {other}, with a related-party reason" in flat
    assert ", ".join(ids[:5]) in flat
