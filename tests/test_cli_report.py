"""``creditrisk report`` and ``creditrisk explain`` through Typer's CliRunner.

The inputs are made by the command line itself: ``score`` at two dates (with the
manifest beside the scores) and ``plan``. The page and the card are then checked
against those files: tier counts of the scores, the plan's visits, the entity's tier
and reasons in the scores.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app

runner = CliRunner()
SAMPLE = Path(cr.data.__file__).parent / "sample"
MODEL = str(cr.sample_model_path())
BAD_INPUT = 2


def ok(result) -> str:
    assert result.exit_code == 0, (result.output, result.exception)
    return " ".join(result.output.split())  # Rich wraps lines at the terminal width


def refused(result) -> str:
    assert result.exit_code == BAD_INPUT, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    files = {"today": out / "today.parquet", "before": out / "before.parquet"}
    score = ["score", "--model", MODEL, "--data", str(SAMPLE)]
    for name, day in (("today", "2026-01-01"), ("before", "2025-07-01")):
        ok(runner.invoke(app, [*score, "--as-of", day, "--out", str(files[name])]))
    files["plan"] = out / "plan.parquet"
    plan = ["plan", "--scores", str(files["today"]), "--inspectors", str(SAMPLE)]
    ok(
        runner.invoke(
            app, [*plan, "--history", str(SAMPLE), "--seed", "7", "--out", str(files["plan"])]
        )
    )
    return files


def report_args(made: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["report", "--scores", str(made["today"]), "--model", MODEL, "--out", str(out), *extra]


def table_rows(html: str, table_id: str) -> list[list[str]]:
    body = re.search(rf'<table class="data" id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in body.group(1).split("</tr>")[:-1]]


def test_report_of_a_scoring_run_with_everything(made, tmp_path) -> None:
    out = tmp_path / "out" / "report.html"
    given = ["--data", str(SAMPLE), "--previous", str(made["before"]), "--plan", str(made["plan"])]
    args = report_args(made, out, *given, "--inspectors", str(SAMPLE), "--shap-rows", "500")
    result = runner.invoke(app, args)
    printed = ok(result)
    assert "not shown" not in printed
    assert f"Wrote the report to {out}" in printed
    html = out.read_text(encoding="utf-8")
    scores = pd.read_parquet(made["today"])
    plan = pd.read_parquet(made["plan"])
    counts = scores["tier"].astype(str).value_counts()
    for row in table_rows(html, "tiers"):
        assert row[2] == f"{counts.get(row[0], 0):,}"
    visits = plan["tier"].astype(str).value_counts()
    for row in table_rows(html, "plan-tiers"):
        assert row[1] == f"{visits.get(row[0], 0):,}"
    # the manifest beside the scores is reported
    assert "scoring run" in html and "created by creditrisk" in html
    assert "SHAP rows" in html and "500 of" in html
    assert re.search(r"https?://", html) is None


def test_report_says_what_it_could_not_show(made, tmp_path) -> None:
    out = tmp_path / "report.html"
    printed = ok(runner.invoke(app, report_args(made, out, "--shap-rows", "200")))
    assert "not shown: Finding rates, reliability and fairness need the event tables" in printed
    assert "not shown: Tier migration: no previous run was given (--previous)." in printed
    assert "not shown: Inspection plan: none was given (--plan)." in printed
    assert out.is_file() and "Needs the event tables." in out.read_text(encoding="utf-8")


def test_report_of_scores_that_are_not_scores_is_refused(made, tmp_path) -> None:
    bad = tmp_path / "bad.parquet"
    pd.read_parquet(made["today"]).drop(columns=["probability"]).to_parquet(bad)
    out = tmp_path / "report.html"
    args = ["report", "--scores", str(bad), "--model", MODEL, "--out", str(out)]
    printed = refused(runner.invoke(app, args))
    assert "lack the columns ['probability']" in printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.parquet"]  # nothing written


def test_report_of_a_missing_file_is_refused(tmp_path) -> None:
    args = ["report", "--scores", str(tmp_path / "nowhere.parquet"), "--model", MODEL]
    printed = refused(runner.invoke(app, [*args, "--out", str(tmp_path / "r.html")]))
    assert "cannot read scores from" in printed and "nowhere.parquet" in printed
    assert list(tmp_path.iterdir()) == []


def test_report_with_an_unknown_model_is_refused(made, tmp_path) -> None:
    args = ["report", "--scores", str(made["today"]), "--model", str(tmp_path / "no-model")]
    printed = refused(runner.invoke(app, [*args, "--out", str(tmp_path / "r.html")]))
    assert "cannot load the model" in printed
    assert not (tmp_path / "r.html").exists()


# -- explain ------------------------------------------------------------------------------
def explain_args(entity: str, *extra: str) -> list[str]:
    return ["explain", entity, "--model", MODEL, "--data", str(SAMPLE), *extra]


def test_explain_prints_the_batch_tier_and_reasons(made, tmp_path) -> None:
    scores = pd.read_parquet(made["today"])
    row = scores[scores["override"] != ""].sort_values("entity_id").iloc[0]
    out = tmp_path / "card.html"
    result = runner.invoke(
        app, explain_args(row["entity_id"], "--as-of", "2026-01-01", "--out", str(out))
    )
    printed = ok(result)
    assert f"enterprise {row['entity_id']}, as of 2026-01-01" in printed
    assert f"Tier {row['tier']} (" in printed
    assert f"{row['probability']:.1%}" in printed
    assert " ".join(row["override_reason"].split()) in printed
    for i in (1, 2, 3):
        if row[f"reason_{i}"]:
            assert f"{row[f'reason_{i}_contribution']:+.3f} {row[f'reason_{i}']}" in printed
    assert f"Wrote the card to {out}" in printed
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and row["entity_id"] in html


def test_explain_writes_text_for_a_txt_path(tmp_path) -> None:
    out = tmp_path / "card.txt"
    result = runner.invoke(
        app, explain_args("E0000025", "--as-of", "2025-01-01", "--out", str(out))
    )
    ok(result)
    text = out.read_text(encoding="utf-8")
    card = cr.report.explain_card(
        cr.RiskModel.load(MODEL), "E0000025", tables=cr.load_sample(), as_of="2025-01-01"
    )
    assert text == card.text
    assert card.text.splitlines()[0] in result.output


def test_explain_an_unknown_entity(tmp_path) -> None:
    out = tmp_path / "card.html"
    printed = refused(
        runner.invoke(app, explain_args("E9999999", "--as-of", "2025-01-01", "--out", str(out)))
    )
    assert "enterprises has no entity_id 'E9999999'" in printed
    assert not out.exists()


def test_explain_before_registration() -> None:
    tables = cr.load_sample()
    late = tables.enterprises.sort_values("registered_on").iloc[-1]
    day = (late["registered_on"] - pd.Timedelta(days=30)).date().isoformat()
    printed = refused(runner.invoke(app, explain_args(late["entity_id"], "--as-of", day)))
    assert f"entity {late['entity_id']!r} is not registered at {day}" in printed
    assert f"registered_on {late['registered_on'].date()}" in printed
