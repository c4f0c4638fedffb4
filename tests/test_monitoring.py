"""Monitoring between two scoring runs: psi, tier_migration, compare (and the command)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.jobs import scoring
from creditrisk.jobs.monitoring import Comparison, Thresholds, compare, psi, tier_migration

runner = CliRunner()
TIERS = pd.CategoricalDtype(["A", "B", "C", "D"], ordered=True)


def psi_of_shares(old: list[float], new: list[float]) -> float:
    """The definition: sum over bins of (new - old) * ln(new / old)."""
    return float(sum((b - a) * math.log(b / a) for a, b in zip(old, new, strict=True)))


# -- psi -------------------------------------------------------------------------------
def test_psi_of_identical_samples_is_zero() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=5_000)
    assert abs(psi(x, x)) < 1e-12
    assert abs(psi(x, rng.permutation(x))) < 1e-12
    words = pd.Series(rng.choice(["a", "b", "c"], size=500))
    assert abs(psi(words, words)) < 1e-12


def test_psi_hand_computed_categories() -> None:
    old = ["a"] * 50 + ["b"] * 50
    new = ["a"] * 80 + ["b"] * 20
    expected = (0.8 - 0.5) * math.log(0.8 / 0.5) + (0.2 - 0.5) * math.log(0.2 / 0.5)
    assert psi(old, new) == pytest.approx(expected, rel=1e-12)
    assert psi_of_shares([0.5, 0.5], [0.8, 0.2]) == pytest.approx(expected, rel=1e-12)


def test_psi_bins_are_equal_count_deciles_of_old() -> None:
    old = np.arange(100)  # ten bins of ten values: 0-9, 10-19, ..., 90-99
    # new: three times as many values in each of the lower five deciles as in the upper
    new = np.r_[np.tile(np.arange(50), 3), np.arange(50, 100)]
    expected = psi_of_shares([0.1] * 10, [0.15] * 5 + [0.05] * 5)
    assert psi(old, new) == pytest.approx(expected, rel=1e-12)
    # only the old decile a new value falls in matters, not where in it
    moved = np.r_[np.repeat(np.arange(0, 50, 10), 30), np.repeat(np.arange(59, 100, 10), 10)]
    assert psi(old, moved) == pytest.approx(expected, rel=1e-12)
    # the bins follow old: swapping the roles changes the bins and so the value
    assert psi(new, old) != pytest.approx(expected, rel=1e-6)


def test_psi_bins_follow_old_whatever_its_scale() -> None:
    """Equal-count bins: a skewed old sample is cut at its own quantiles."""
    rng = np.random.default_rng(2)
    old = rng.lognormal(sigma=2.0, size=20_000)
    same = rng.lognormal(sigma=2.0, size=20_000)
    assert psi(old, same) < 0.01
    # the lower half of old's values gets twice its share: five bins at 0.1 → 0.2/3 each
    low = np.sort(old)[: len(old) // 2]
    new = np.r_[low, low, np.sort(old)[len(old) // 2 :]]
    expected = psi_of_shares([0.1] * 10, [0.2 / 1.5] * 5 + [0.1 / 1.5] * 5)
    assert psi(old, new) == pytest.approx(expected, rel=1e-6)


def test_psi_grows_with_a_mean_shift() -> None:
    rng = np.random.default_rng(3)
    old = rng.normal(size=20_000)
    base = rng.normal(size=20_000)
    values = [psi(old, base + shift) for shift in (0.0, 0.5, 1.0, 2.0)]
    assert values[0] < 0.01
    assert values[1] > 0.1
    assert values[1] < values[2] < values[3]


def test_missing_values_are_a_bin_of_their_own() -> None:
    values = np.arange(1, 101, dtype=float)
    old = pd.Series(np.r_[values, [np.nan] * 25])  # 20% missing, deciles of 8% each
    new = pd.Series(np.r_[values, [np.nan] * 100])  # 50% missing, deciles of 5% each
    expected = psi_of_shares([0.08] * 10 + [0.2], [0.05] * 10 + [0.5])
    assert psi(old, new) == pytest.approx(expected, rel=1e-12)
    # gaining missing values alone shifts the PSI
    assert psi(pd.Series(values), pd.Series(values)) < 1e-12
    assert psi(pd.Series(values), old) > 0.1
    # missing text is a bin too
    text = pd.Series(["a", "b"] * 50)
    assert psi(text, pd.concat([text, pd.Series([None] * 50)], ignore_index=True)) > 0.1


def test_psi_of_categorical_and_text_columns() -> None:
    dtype = pd.CategoricalDtype(["a", "b", "unused"])
    old = pd.Series(["a"] * 50 + ["b"] * 50, dtype=dtype)
    new = pd.Series(["a"] * 80 + ["b"] * 20, dtype=dtype)
    expected = psi_of_shares([0.5, 0.5], [0.8, 0.2])
    assert psi(old, new) == pytest.approx(expected, rel=1e-12)  # unused categories: no bin
    assert psi(old.astype("str"), new.astype("str")) == pytest.approx(expected, rel=1e-12)
    assert psi(old.astype(object), new) == pytest.approx(expected, rel=1e-12)
    # a category new to the new run counts (and is finite)
    grown = pd.Series(["a"] * 40 + ["b"] * 40 + ["c"] * 20)
    value = psi(old, grown)
    assert np.isfinite(value)
    assert value > psi(old, pd.Series(["a"] * 50 + ["b"] * 50))


def test_psi_of_empty_inputs_is_nan() -> None:
    assert math.isnan(psi([], [1.0, 2.0]))
    assert math.isnan(psi([1.0, 2.0], []))
    assert math.isnan(psi(pd.Series([], dtype=float), pd.Series([], dtype=float)))
    assert math.isnan(psi(pd.Series([], dtype="str"), pd.Series(["a"])))


def test_psi_is_symmetric_for_categories() -> None:
    rng = np.random.default_rng(4)
    a = pd.Series(rng.choice(["x", "y", "z"], p=[0.5, 0.3, 0.2], size=3_000))
    b = pd.Series(rng.choice(["x", "y", "z"], p=[0.3, 0.3, 0.4], size=2_000))
    assert psi(a, b) > 0.1
    assert psi(a, b) == pytest.approx(psi(b, a), rel=1e-12)


# -- tier_migration --------------------------------------------------------------------
def _run(pairs: dict[str, str], dtype=TIERS) -> pd.DataFrame:
    return pd.DataFrame(
        {"entity_id": list(pairs), "tier": pd.Series(list(pairs.values()), dtype=dtype)}
    )


def test_tier_migration_counts_by_hand() -> None:
    old = _run({"e1": "A", "e2": "A", "e3": "B", "e4": "C", "e5": "A", "gone": "D"})
    new = _run({"e1": "A", "e2": "B", "e3": "A", "e4": "C", "e5": "B", "born": "D"})
    table = tier_migration(old, new)
    assert list(table.index) == list(table.columns) == ["A", "B", "C", "D"]
    expected = np.zeros((4, 4), dtype=int)
    expected[0, 0] = 1  # e1 A→A
    expected[0, 1] = 2  # e2, e5 A→B
    expected[1, 0] = 1  # e3 B→A
    expected[2, 2] = 1  # e4 C→C
    assert table.to_numpy().tolist() == expected.tolist()
    # "gone" (old only) and "born" (new only) are left out: D stays empty
    assert int(table.to_numpy().sum()) == 5


def test_tier_migration_keeps_policy_order_and_absent_tiers() -> None:
    order = ["low", "medium", "high", "critical"]  # not alphabetical
    dtype = pd.CategoricalDtype(order, ordered=True)
    old = _run({"e1": "low", "e2": "high"}, dtype)
    new = _run({"e1": "high", "e2": "high"}, dtype)
    table = tier_migration(old, new)
    assert list(table.index) == list(table.columns) == order
    assert table.loc["low", "high"] == 1
    assert table.loc["high", "high"] == 1
    assert table.loc["medium"].sum() == table["medium"].sum() == 0
    assert table.loc["critical"].sum() == table["critical"].sum() == 0
    assert int(table.to_numpy().sum()) == 2


def test_tier_migration_of_runs_with_no_entity_in_common() -> None:
    table = tier_migration(_run({"e1": "A"}), _run({"e2": "B"}))
    assert list(table.index) == ["A", "B", "C", "D"]
    assert int(table.to_numpy().sum()) == 0


# -- compare on two real runs ----------------------------------------------------------
@pytest.fixture(scope="module")
def model() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


@pytest.fixture(scope="module")
def runs(model) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables = cr.load_sample()
    return (
        scoring.score_chunk(tables, model, "2024-01-01"),
        scoring.score_chunk(tables, model, "2025-01-01"),
    )


@pytest.fixture(scope="module")
def result(runs) -> Comparison:
    return compare(*runs)


def _features(old: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    score_columns = {"entity_id", "as_of", "probability", "score_tier", "tier"}
    return [
        c
        for c in old.columns
        if c in new.columns and c not in score_columns and not c.startswith(("reason_", "override"))
    ]


def test_compare_psi_table(runs, result) -> None:
    old, new = runs
    table = result.psi
    assert table.index[0] == "probability"
    assert table["kind"].iloc[0] == "score"
    assert (table["kind"].iloc[1:] == "feature").all()
    features = _features(old, new)
    assert len(features) > 20
    assert sorted(table.index[1:]) == sorted(features)
    assert table["psi"].iloc[1:].is_monotonic_decreasing
    # each value is psi() of that column
    for variable in ["probability", *features]:
        expected = psi(old[variable], new[variable])
        assert table.loc[variable, "psi"] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert result.summary["score_psi"] == table.loc["probability", "psi"]


@pytest.mark.parametrize(
    "limits",
    [Thresholds(), Thresholds(psi_warn=0.001, psi_alert=0.005), Thresholds(0.002, 0.01, 0.5)],
    ids=["default", "low", "mixed"],
)
def test_compare_status_follows_the_thresholds(runs, limits) -> None:
    result = compare(*runs, thresholds=limits)
    assert result.thresholds == limits
    for variable, row in result.psi.iterrows():
        if row["psi"] >= limits.psi_alert:
            expected = "alert"
        elif row["psi"] >= limits.psi_warn:
            expected = "warn"
        else:
            expected = "stable"
        assert row["status"] == expected, variable
    assert result.alert == bool((result.psi["psi"] >= limits.psi_alert).any())
    flagged = result.psi.index[result.psi["status"] != "stable"]
    psi_warnings = [w for w in result.warnings if "PSI of" in w]
    assert len(psi_warnings) == len(flagged)
    for variable in flagged:
        what = "the score" if variable == "probability" else f"feature {variable} "
        assert any(what in w for w in psi_warnings), variable
    if limits.psi_alert == 0.005:  # the low limits do flag something, in both kinds
        assert set(result.psi["status"]) >= {"alert", "warn"}


def test_compare_summary_is_consistent(runs, result) -> None:
    old, new = runs
    s = result.summary
    old_ids, new_ids = set(old["entity_id"]), set(new["entity_id"])
    assert s["entities_old"] == len(old_ids) == len(old)
    assert s["entities_new"] == len(new_ids) == len(new)
    assert s["in_both"] == len(old_ids & new_ids)
    assert s["in_both"] + s["only_old"] == s["entities_old"]
    assert s["in_both"] + s["only_new"] == s["entities_new"]
    assert s["only_old"] > 0 and s["only_new"] > 0  # registrations and deregistrations

    # the migration matrix, counted from scratch
    both = old[["entity_id", "tier"]].merge(new[["entity_id", "tier"]], on="entity_id")
    pairs = both.groupby(
        [both["tier_x"].astype("str"), both["tier_y"].astype("str")], observed=True
    ).size()
    migration = result.migration
    assert list(migration.index) == list(migration.columns) == ["A", "B", "C", "D"]
    for (a, b), count in pairs.items():
        assert migration.loc[a, b] == count
    assert int(migration.to_numpy().sum()) == s["in_both"]
    matrix = migration.to_numpy()
    off_diagonal = int(matrix.sum() - np.trace(matrix))
    assert s["tier_changed"] == off_diagonal > 0
    assert s["tier_changed"] == int(
        (both["tier_x"].astype("str") != both["tier_y"].astype("str")).sum()
    )
    assert s["to_riskier_tier"] == int(np.triu(matrix, 1).sum())
    assert s["to_safer_tier"] == int(np.tril(matrix, -1).sum())
    assert s["to_riskier_tier"] + s["to_safer_tier"] == s["tier_changed"]
    assert s["tier_changed_share"] == pytest.approx(s["tier_changed"] / s["in_both"])

    shares = result.tier_shares
    assert list(shares.index) == ["A", "B", "C", "D"]
    for run, column in ((old, "old"), (new, "new")):
        counts = run["tier"].astype("str").value_counts(normalize=True)
        for tier in shares.index:
            assert shares.loc[tier, column] == pytest.approx(counts.get(tier, 0.0))
        assert shares[column].sum() == pytest.approx(1.0)
    np.testing.assert_allclose(shares["change"], shares["new"] - shares["old"])


def test_compare_warns_exactly_when_thresholds_are_crossed(runs, result) -> None:
    silent = compare(*runs, thresholds=Thresholds(1e9, 1e9, 1e9, 1e9))
    assert silent.warnings == []
    assert (silent.psi["status"] == "stable").all()
    assert not silent.alert

    tiny = 1e-12
    loud = compare(*runs, thresholds=Thresholds(tiny, tiny, tiny, tiny))
    psi_values = loud.psi["psi"]
    flagged = int((psi_values >= tiny).sum())
    assert flagged > 0
    assert (loud.psi.loc[psi_values >= tiny, "status"] == "alert").all()
    assert loud.alert
    share_moves = int((loud.tier_shares["change"].abs() >= tiny).sum())
    expected = flagged + 1 + share_moves  # PSI, migration, tier shares
    assert len(loud.warnings) == expected
    assert sum("changed tier" in w for w in loud.warnings) == 1
    assert sum(w.startswith("warn: tier ") for w in loud.warnings) == share_moves

    # the migration warning alone: on at the observed share, off just above it
    share = result.summary["tier_changed_share"]
    for limit, count in ((share, 1), (np.nextafter(share, 1.0), 0)):
        only = compare(*runs, thresholds=Thresholds(1e9, 1e9, limit, 1e9))
        assert sum("changed tier" in w for w in only.warnings) == count
        assert len(only.warnings) == count

    # the tier share warning alone: one per tier whose share moved at least that much
    largest = float(result.tier_shares["change"].abs().max())
    only = compare(*runs, thresholds=Thresholds(1e9, 1e9, 1e9, largest))
    moved = result.tier_shares.index[result.tier_shares["change"].abs() >= largest]
    assert len(only.warnings) == len(moved) >= 1
    for tier in moved:
        assert any(w.startswith(f"warn: tier {tier} ") for w in only.warnings)


def test_compare_refuses_a_run_of_several_dates(model) -> None:
    tables = cr.load_sample()
    few = tables.subset(tables.enterprises["entity_id"].iloc[:300])
    two = scoring.score_chunk(few, model, ["2024-01-01", "2025-01-01"], features=False)
    one = scoring.score_chunk(few, model, "2025-01-01", features=False)
    with pytest.raises(ValueError, match="several as-of dates"):
        compare(two, one)
    with pytest.raises(ValueError, match="several as-of dates"):
        compare(one, two)


def test_compare_refuses_a_frame_without_tier(runs) -> None:
    old, new = runs
    with pytest.raises(ValueError, match="tier"):
        compare(old.drop(columns="tier"), new)
    with pytest.raises(ValueError, match="tier"):
        compare(old, new.drop(columns="tier"))


def test_comparison_to_dict_is_json(result) -> None:
    data = result.to_dict()
    text = json.dumps(data)  # no default=: every value must be JSON already
    back = json.loads(text)
    assert back["summary"] == json.loads(json.dumps(result.summary))
    assert [row["variable"] for row in back["psi"]] == list(result.psi.index)
    assert back["migration"]["A"]["B"] == int(result.migration.loc["A", "B"])
    assert back["thresholds"]["psi_alert"] == result.thresholds.psi_alert
    assert back["warnings"] == result.warnings


# -- the command -----------------------------------------------------------------------
def test_compare_command_matches_the_api(runs, tmp_path) -> None:
    old_file, new_file, json_file = (tmp_path / n for n in ("old.parquet", "new.parquet", "c.json"))
    runs[0].to_parquet(old_file, index=False)
    runs[1].to_parquet(new_file, index=False)
    expected = compare(pd.read_parquet(old_file), pd.read_parquet(new_file))
    result = runner.invoke(app, ["compare", str(old_file), str(new_file), "--json", str(json_file)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert f"{expected.summary['in_both']:,} entities in both runs" in result.output
    written = json.loads(json_file.read_text(encoding="utf-8"))
    assert written["summary"] == json.loads(json.dumps(expected.summary))
    assert written["migration"] == expected.to_dict()["migration"]
    # --fail-on-alert: exit 1 only when some PSI reaches the alert level
    alert = ["compare", str(old_file), str(new_file), "--psi-warn", "0", "--psi-alert", "0.0001"]
    assert runner.invoke(app, [*alert, "--fail-on-alert"]).exit_code == 1
    assert runner.invoke(app, alert).exit_code == 0
    assert runner.invoke(
        app, ["compare", str(old_file), str(new_file), "--fail-on-alert"]
    ).exit_code == (1 if expected.alert else 0)
