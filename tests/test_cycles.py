"""The closed loop on a synthetic world: deterministic, point in time, and blind.

A small world (3,000 enterprises, 2019-2022, inspectors enough to staff its draws) runs
four monthly cycles with a retrain after two, through the public API. The loop must give
the same table bit for bit for the same inputs; it may learn only from the results of
the inspections it drew, published before each training date; and the world's truth of
entities it never inspected must change nothing it decides (only the yardsticks that
read the truth move).
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.synth import REGIMES, compare_regimes, cycles, regime_rates, run_cycles

START, END = "2019-01-01", "2022-12-31"
FAST = {"n_estimators": 40, "num_threads": 1}
#: the columns that read the world's truth of every registered entity
TRUTH_COLUMNS = [
    "soft_auc",
    "oracle_soft_auc",
    "true_rate",
    *[f"{e}_{c}" for e in ("naive", "ht", "hajek") for c in ("error", "covers")],
]


@pytest.fixture(scope="module")
def world():
    params = cr.synth.WorldParams(min_inspectors_per_region=20)
    return cr.synth.generate(3_000, START, END, seed=5, params=params)


@pytest.fixture(scope="module")
def loop(world):
    """Four cycles (2022-09 .. 2022-12) of the tiered regime, retrained after two."""
    return list(cycles(world, months=4, budget=40, retrain_every=2, seed=3, model_params=FAST))


@pytest.fixture(scope="module")
def table(loop):
    return pd.DataFrame([c.record for c in loop])


def test_the_same_inputs_give_the_same_table_bit_for_bit(world, loop, table) -> None:
    again = run_cycles(world, months=4, budget=40, retrain_every=2, seed=3, model_params=FAST)
    expected = table.assign(as_of=pd.to_datetime(table["as_of"]))
    expected["model_trained"] = pd.to_datetime(expected["model_trained"])
    pd.testing.assert_frame_equal(again, expected, check_exact=True)
    # the seed matters: another seed draws other entities from the same first model
    other = next(cycles(world, months=4, budget=40, seed=4, model=loop[0].model))
    assert set(other.plan["entity_id"]) != set(loop[0].plan["entity_id"])


def test_the_cycle_table_records_each_month(table) -> None:
    assert table["cycle"].tolist() == [0, 1, 2, 3]
    assert [d.strftime("%Y-%m") for d in table["as_of"]] == [
        "2022-09",
        "2022-10",
        "2022-11",
        "2022-12",
    ]
    assert table["inspections"].between(30, 50).all()  # a budget of 40, rounded at random
    assert (table["findings"] <= table["inspections"]).all()
    shares = table[[f"share_{t}" for t in "ABCD"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert table["never_inspected"].is_monotonic_decreasing
    assert (table["never_inspected"] < table["entities"]).all()
    assert table["true_rate"].between(0.05, 0.5).all()
    assert (table["oracle_soft_auc"] >= table["soft_auc"]).all()
    assert (table["uncovered"] == 0).all()  # the policy's floor gives everyone a chance


def test_training_uses_only_results_published_before_the_cycle(loop, table) -> None:
    """The model of each cycle was fitted on label windows that end by its date; it is
    retrained on schedule (every two cycles) and kept in between."""
    horizon = pd.Timedelta(days=365)
    assert (table["model_trained"] + horizon <= table["as_of"]).all()
    assert loop[1].model is loop[0].model and loop[2].model is not loop[1].model
    assert loop[3].model is loop[2].model
    assert table.loc[2, "model_trained"] > table.loc[1, "model_trained"]


def test_the_loop_reveals_only_the_visits_it_drew(world, loop) -> None:
    first = loop[0].as_of
    revealed = pd.concat([c.results for c in loop], ignore_index=True)
    for c in loop:
        visits = set(zip(c.plan["entity_id"], c.plan["visit"], strict=True))
        assert set(zip(c.results["entity_id"], c.results["visit"], strict=True)) == visits
        assert c.results["inspected_on"].between(c.as_of, c.as_of + pd.offsets.MonthEnd(0)).all()
        assert (c.results["published_on"] > c.results["inspected_on"]).all()
    # the register's random inspections since the loop began are exactly those results
    ins = loop[-1].tables.inspections
    random = ins[(ins["kind"].astype(str) == "random") & (ins["inspected_on"] >= first)]
    assert len(random) == len(revealed)
    assert sorted(random["entity_id"]) == sorted(revealed["entity_id"])
    assert random["inclusion_probability"].notna().all()
    # the world's own random draw after that date is gone; its earlier history is kept
    own = world.tables.inspections
    assert len(own[(own["kind"].astype(str) == "random") & (own["inspected_on"] >= first)])
    before = own[own["inspected_on"] < first]
    assert len(ins[ins["inspected_on"] < first]) == len(before)


class _Altered:
    """A world's truth with other probabilities for some entities (the rest delegated)."""

    def __init__(self, truth, entities: set[str]):
        self._truth, self._entities = truth, entities
        self.entity_ids = truth.entity_ids

    def probability(self, as_of, horizon_months: int = 12) -> pd.Series:
        p = self._truth.probability(as_of, horizon_months)
        changed = p.index.isin(list(self._entities))
        return p.where(~changed, 1 - p)

    def dormant(self, as_of) -> pd.Series:
        return self._truth.dormant(as_of)


def test_the_truth_of_the_never_inspected_changes_nothing_the_loop_decides(
    world, loop, table
) -> None:
    """No leakage: flip the true probability of every entity the loop never inspected.
    The plans, scores, models and estimates stay the same to the last bit; only the
    yardsticks that read the whole truth move."""
    inspected = set().union(*(set(c.plan["entity_id"]) for c in loop))
    never = set(world.truth.entity_ids) - inspected
    altered = dataclasses.replace(world, truth=_Altered(world.truth, never))
    again = list(cycles(altered, months=4, budget=40, retrain_every=2, seed=3, model_params=FAST))
    for old, new in zip(loop, again, strict=True):
        pd.testing.assert_frame_equal(old.plan, new.plan, check_exact=True)
        pd.testing.assert_frame_equal(old.scores, new.scores, check_exact=True)
        pd.testing.assert_frame_equal(old.results, new.results, check_exact=True)
    decided = pd.DataFrame([c.record for c in again])
    pd.testing.assert_frame_equal(
        decided.drop(columns=TRUTH_COLUMNS), table.drop(columns=TRUTH_COLUMNS), check_exact=True
    )
    assert not decided["true_rate"].equals(table["true_rate"])  # the truth did change


# -- the regimes --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regimes(world, loop):
    """Every regime on the same world, seed and first model, two cycles each."""
    return compare_regimes(
        world, months=2, budget=40, retrain_every=None, seed=3, model=loop[0].model
    )


def test_every_regime_runs_on_the_same_world_and_month(regimes) -> None:
    assert regimes["regime"].tolist() == [r for r in REGIMES for _ in range(2)]
    truth = regimes.pivot(index="cycle", columns="regime", values="true_rate")
    assert (truth.nunique(axis=1) == 1).all()  # the same outcomes, whoever is inspected
    by = regimes.set_index(["regime", "cycle"])
    uniform = by.loc["uniform"]
    assert (uniform["hajek_rate"] == uniform["naive_rate"]).all()  # equal weights
    assert (uniform["floor_inspections"] == uniform["inspected"]).all()
    no_floor = by.loc["allocation_no_floor"]
    assert (no_floor["uncovered"] > 0).all() and no_floor["auc_floor"].isna().all()
    assert (no_floor["floor_inspections"] == 0).all()
    for regime in ("uniform", "tiered", "allocation"):
        assert (by.loc[regime, "uncovered"] == 0).all()


def test_regime_rates_spend_the_budget_and_keep_the_floor(loop) -> None:
    scores = loop[0].scores
    policy = cr.Policy.load("national")
    floor = cr.inspection.random_floor(policy, "1M")
    for regime in REGIMES:
        rates, drawn_under, chosen_floor = regime_rates(scores, policy, regime, budget=40)
        spent = float((rates["entities"] * rates["rate"]).sum())
        assert spent <= 40 + 1e-9
        if regime != "allocation_no_floor":
            assert (rates["rate"] >= chosen_floor - 1e-12).all()  # allocate rounds to 1e-12
            assert spent == pytest.approx(40)
    assert regime_rates(scores, policy, "uniform", 40)[0]["rate"].nunique() == 1
    assert regime_rates(scores, policy, "tiered", 40)[2] == floor
    rates, drawn_under, chosen_floor = regime_rates(scores, policy, "allocation_no_floor", 40)
    assert chosen_floor == 0.0 and (rates["rate"] == 0).any()
    assert "random_floor" not in drawn_under.inspection
    with pytest.raises(ValueError, match="regime must be one of"):
        regime_rates(scores, policy, "oracle", 30)
    with pytest.raises(ValueError, match="below the"):
        regime_rates(scores, policy, "tiered", 0.5)


def test_bad_input_is_refused(world, loop) -> None:
    model = loop[0].model
    with pytest.raises(ValueError, match="do not fit in the world"):
        run_cycles(world, months=60, budget=30, model=model)
    with pytest.raises(ValueError, match="first day of a month"):
        run_cycles(world, months=1, budget=30, start="2022-03-15", model=model)
    with pytest.raises(ValueError, match="budget must be"):
        run_cycles(world, months=1, budget=0, model=model)
    with pytest.raises(ValueError, match="regime must be"):
        run_cycles(world, months=1, budget=30, regime="random", model=model)


def test_plot_cycles_draws_each_regime(regimes) -> None:
    fig = cr.plots.plot_cycles(regimes)
    found, error = fig.axes
    assert [line.get_label() for line in found.lines] == list(REGIMES)
    assert len(error.lines) == 2 * len(REGIMES) + 1  # weighted, naive, and zero
    hajek = error.lines[0].get_ydata()
    expected = 100 * regimes.loc[regimes["regime"] == "uniform", "hajek_error"]
    assert np.allclose(hajek, expected)
    with pytest.raises(ValueError, match="estimator"):
        cr.plots.plot_cycles(regimes, estimator="naive")


# -- the command line ---------------------------------------------------------------------
runner = CliRunner()
SMALL = ["--n", "2000", "--start", "2020-01-01", "--end", "2022-12-31", "--months", "2"]


def test_simulate_cycles_writes_the_table(tmp_path) -> None:
    out = tmp_path / "cycles.csv"
    model = str(cr.sample_model_path())
    args = ["simulate-cycles", *SMALL, "--budget", "30", "--model", model, "--out", str(out)]
    result = runner.invoke(app, [*args, "--regime", "uniform", "--regime", "allocation"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written["regime"].tolist() == ["uniform", "uniform", "allocation", "allocation"]
    assert "Wrote 4 cycles" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["cycles.csv"]  # no temporary left


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--regime", "oracle"], "--regime must be among"),
        (["--budget", "0"], "--budget must be a positive"),
        (["--months", "0"], "--months"),
        (["--policy", "nowhere"], "nowhere"),
        (["--budget", "0.01"], "below"),
    ],
)
def test_simulate_cycles_exits_2_on_bad_input(tmp_path, extra, message) -> None:
    out = tmp_path / "cycles.csv"
    model = str(cr.sample_model_path())
    args = ["simulate-cycles", *SMALL, "--budget", "30", "--model", model, "--out", str(out)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_simulate_cycles_never_writes_over_an_input(tmp_path) -> None:
    policy = tmp_path / "policy.toml"
    shutil.copy(Path(cr.policy.__file__).parent / "national.toml", policy)
    before = policy.read_bytes()
    for out in (policy, tmp_path / "cycles.txt"):
        result = runner.invoke(
            app,
            [
                "simulate-cycles",
                *SMALL,
                "--budget",
                "30",
                "--policy",
                str(policy),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 2, result.output
    assert policy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.toml"]
