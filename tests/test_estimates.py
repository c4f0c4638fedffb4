"""Population finding rates from a drawn plan: Horvitz-Thompson and Hajek weights.

Every expectation comes from the population itself (its outcomes are fixed and known
here), from arithmetic on the weights, or from many draws of the same population: a
weighted estimate must be right on average and its 95% interval must hold the truth
about 95% of the time, while the naive rate of a targeted plan must not.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import creditrisk as cr
from creditrisk.inspection import (
    ESTIMATORS,
    InspectorRegister,
    add_results,
    draw,
    finding_rates,
    floor_sample,
    frequency_table,
    inspected_outcomes,
    random_floor,
    results_to_inspections,
)

TIERS = ["A", "B", "C", "D"]
REGISTER = InspectorRegister(
    pd.DataFrame(
        {
            "inspector_id": [f"I{i}" for i in range(8)],
            "region": ["r1", "r2"] * 4,
            "speciality": "general",
        }
    )
)


def policy_with(**inspection) -> cr.Policy:
    d = cr.Policy.load("national").to_dict()
    d["name"] = "estimates_test"
    d["inspection"].update(inspection)
    return cr.Policy.from_dict(d)


#: tier A at 5%, D at 30% a year: expected counts 50.15 and 149.1, rounded at random
POLICY = policy_with(ratios={"A": 0.05, "B": 0.05, "C": 0.3, "D": 0.3}, key_sectors={})


def population(n_a: int = 1003, n_d: int = 497, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Scores of a population whose tier D finds issues far more often than tier A, and
    every entity's (fixed, known) outcome."""
    rng = np.random.default_rng(seed)
    n = n_a + n_d
    scores = pd.DataFrame(
        {
            "entity_id": [f"E{i:05d}" for i in range(n)],
            "tier": pd.Categorical(["A"] * n_a + ["D"] * n_d, categories=TIERS, ordered=True),
            "probability": 0.2,
            "key_sector": "none",
            "region": rng.choice(["r1", "r2"], n),
        }
    )
    p = np.where(scores["tier"] == "A", 0.08, 0.55) + np.where(scores["region"] == "r2", 0.1, 0)
    finds = rng.random(n) < p
    return scores, dict(zip(scores["entity_id"], finds, strict=True))


def results_of(plan: pd.DataFrame, finds: dict) -> pd.DataFrame:
    return plan[["entity_id", "visit"]].assign(
        outcome=["issues_found" if finds[e] else "compliant" for e in plan["entity_id"]]
    )


# -- right on average, and honest about it ----------------------------------------------
@pytest.fixture(scope="module")
def many_draws() -> tuple[pd.DataFrame, float, pd.DataFrame]:
    """150 plans of the same population (seeds 0..149) and their estimates."""
    scores, finds = population()
    rows = []
    for seed in range(150):
        plan = draw(scores, REGISTER, POLICY, seed=seed)
        rates = finding_rates(plan, results_of(plan, finds), scores, POLICY)
        rows.append(rates.set_index("estimator")[["estimate", "low", "high", "se"]].stack())
    by_region = finding_rates(plan, results_of(plan, finds), scores, POLICY, by="region")
    return pd.DataFrame(rows), float(np.mean(list(finds.values()))), by_region


@pytest.mark.parametrize("estimator", ["horvitz_thompson", "hajek"])
def test_weighted_estimates_are_unbiased_and_their_intervals_cover(many_draws, estimator) -> None:
    draws, truth, _ = many_draws
    estimate = draws[(estimator, "estimate")]
    # right on average: within 4 standard errors of the mean over the draws
    assert abs(estimate.mean() - truth) < 4 * estimate.std() / np.sqrt(len(estimate))
    # the standard error says how far one draw strays (within 25%)
    assert draws[(estimator, "se")].mean() == pytest.approx(estimate.std(), rel=0.25)
    covers = (draws[(estimator, "low")] <= truth) & (truth <= draws[(estimator, "high")])
    assert 0.88 <= covers.mean() <= 0.995, covers.mean()


def test_the_naive_rate_of_a_targeted_plan_is_not_the_population_rate(many_draws) -> None:
    draws, truth, _ = many_draws
    naive = draws[("naive", "estimate")]
    assert naive.mean() > truth + 0.15  # D, 5x A's findings, is a third of the visits
    covers = (draws[("naive", "low")] <= truth) & (truth <= draws[("naive", "high")])
    assert covers.mean() < 0.05


def test_domain_estimates_add_up_to_the_whole() -> None:
    """Horvitz-Thompson totals are additive: the domains' N x rate sum to the whole's."""
    scores, finds = population(seed=3)
    plan = draw(scores, REGISTER, POLICY, seed=7)
    results = results_of(plan, finds)
    whole = finding_rates(plan, results, scores, POLICY).set_index("estimator")
    for by in ("tier", "region", ["tier", "region"]):
        parts = finding_rates(plan, results, scores, POLICY, by=by)
        ht = parts[parts["estimator"] == "horvitz_thompson"]
        total = float((ht["estimate"] * ht["entities"]).sum())
        assert total == pytest.approx(whole.loc["horvitz_thompson", "estimate"] * len(scores))
        assert int(ht["entities"].sum()) == len(scores)
        assert int(ht["inspected"].sum()) == plan["entity_id"].nunique()


def test_a_census_stratum_adds_no_variance_and_per_tier_rates_are_exact() -> None:
    """Tier D inspected once each (rate 1): its rate is known exactly, with no error."""
    scores, finds = population(n_a=400, n_d=60, seed=5)
    census = policy_with(ratios={"A": 0.1, "B": 0.1, "C": 1.0, "D": 1.0}, key_sectors={})
    plan = draw(scores, REGISTER, census, seed=2)
    rates = finding_rates(plan, results_of(plan, finds), scores, census, by="tier")
    d = rates[(rates["tier"] == "D") & (rates["estimator"] != "naive")]
    truth_d = np.mean([finds[e] for e in scores.loc[scores["tier"] == "D", "entity_id"]])
    assert d["estimate"].tolist() == pytest.approx([truth_d, truth_d])
    assert d["se"].tolist() == [0.0, 0.0]
    a = rates[(rates["tier"] == "A") & (rates["estimator"] == "hajek")]
    assert float(a["se"].iat[0]) > 0


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(
    outcomes=st.lists(st.booleans(), min_size=4, max_size=40),
    tiers=st.lists(st.sampled_from(TIERS), min_size=40, max_size=40),
    seed=st.integers(0, 2**16),
)
def test_uniform_rates_make_hajek_the_naive_rate(outcomes, tiers, seed) -> None:
    """One rate for everyone: every weight is the same, so Hajek is the plain rate among
    the inspected, and a census (rate 1) gives the population's own rate with no error."""
    n = len(outcomes)
    scores = pd.DataFrame(
        {
            "entity_id": [f"E{i:03d}" for i in range(n)],
            "tier": pd.Categorical(tiers[:n], categories=TIERS, ordered=True),
            "probability": 0.1,
            "key_sector": "none",
            "region": "r1",
        }
    )
    finds = dict(zip(scores["entity_id"], outcomes, strict=True))
    for rate in (0.5, 1.0):
        table = frequency_table(scores, POLICY).assign(rate=rate)
        plan = draw(scores, REGISTER, POLICY, seed=seed, table=table)
        rates = finding_rates(plan, results_of(plan, finds), scores, POLICY, table=table)
        rates = rates.set_index("estimator")
        if not len(plan):
            assert rates["estimate"].isna().all()
            continue
        assert rates.loc["hajek", "estimate"] == pytest.approx(rates.loc["naive", "estimate"])
        if rate == 1.0:
            assert rates.loc["horvitz_thompson", "estimate"] == pytest.approx(np.mean(outcomes))
            assert rates.loc["hajek", "se"] == 0.0
            assert rates.loc["horvitz_thompson", "se"] == 0.0


def test_estimates_do_not_depend_on_the_order_of_rows() -> None:
    scores, finds = population(seed=8)
    plan = draw(scores, REGISTER, POLICY, seed=4)
    results = results_of(plan, finds)
    once = finding_rates(plan, results, scores, POLICY, by="region")
    again = finding_rates(
        plan.iloc[::-1],
        results.sample(frac=1, random_state=1),
        scores.iloc[::-1],
        POLICY,
        by="region",
    )
    pd.testing.assert_frame_equal(once, again)


# -- what cannot be estimated says so ---------------------------------------------------
def test_strata_with_no_chance_are_counted_uncovered() -> None:
    scores, finds = population(seed=9)
    table = frequency_table(scores, POLICY)
    table.loc[table["tier"] == "A", "rate"] = 0.0
    plan = draw(scores, REGISTER, POLICY, seed=1, table=table)
    assert set(plan["tier"].astype(str)) == {"D"}
    rates = finding_rates(plan, results_of(plan, finds), scores, POLICY, table=table)
    assert (rates["uncovered"] == 1003).all()
    truth_d = np.mean([finds[e] for e in scores.loc[scores["tier"] == "D", "entity_id"]])
    hajek = rates.set_index("estimator").loc["hajek", "estimate"]
    assert hajek == pytest.approx(truth_d, abs=0.1)  # the covered part, not the population


def test_a_plan_drawn_from_other_rates_is_refused() -> None:
    scores, finds = population(seed=10)
    plan = draw(scores, REGISTER, POLICY, seed=1)
    other = frequency_table(scores, POLICY).assign(rate=0.2)
    with pytest.raises(ValueError, match="not drawn from these scores and rates"):
        finding_rates(plan, results_of(plan, finds), scores, POLICY, table=other)
    with pytest.raises(ValueError, match="not visits of the plan"):
        finding_rates(plan, results_of(plan, finds).assign(visit=9), scores, POLICY)
    with pytest.raises(ValueError, match="outcome must be one of"):
        finding_rates(plan, results_of(plan, finds).assign(outcome="passed"), scores, POLICY)
    with pytest.raises(ValueError, match="missing columns"):
        finding_rates(plan, results_of(plan, finds), scores, POLICY, by="industry")


def test_no_inspection_no_estimate() -> None:
    scores, _ = population(n_a=20, n_d=0)
    table = frequency_table(scores, POLICY).assign(rate=0.0)
    plan = draw(scores, REGISTER, POLICY, seed=1, table=table)
    nothing = pd.DataFrame({"entity_id": [], "visit": [], "outcome": []})
    rates = finding_rates(plan, nothing, scores, POLICY, table=table)
    assert rates["estimator"].tolist() == list(ESTIMATORS)
    assert (rates["inspected"] == 0).all() and rates["estimate"].isna().all()
    assert (rates["uncovered"] == 20).all()


# -- outcomes, the floor's sample, and the weights in the register ----------------------
def test_inspected_outcomes_take_the_first_visit_with_a_result() -> None:
    scores, finds = population(seed=11)
    double = policy_with(min_inspections={"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.5}, key_sectors={})
    plan = draw(scores, REGISTER, double, seed=3)
    twice = plan.loc[plan["visit"] == 2, "entity_id"]
    results = results_of(plan, finds)
    results.loc[results["visit"] == 2, "outcome"] = "issues_found"
    outcomes = inspected_outcomes(plan, results)
    assert len(outcomes) == plan["entity_id"].nunique()
    first = outcomes.set_index("entity_id").loc[twice]
    assert (first["visits"] == 2).all()
    assert first["finding"].tolist() == [float(finds[e]) for e in twice]
    assert (outcomes["weight"] * outcomes["inclusion_probability"]).round(12).eq(1).all()


def test_the_floor_sample_is_uniform_over_the_population() -> None:
    """Kept with probability floor / pi: each entity of the plan, whatever its tier, is
    in the floor's sample with probability floor overall (checked per tier over seeds)."""
    scores, finds = population(seed=12)
    floor = random_floor(POLICY)
    assert floor == 0.01
    kept = {"A": 0, "D": 0}
    for seed in range(60):
        plan = draw(scores, REGISTER, POLICY, seed=seed)
        sample = floor_sample(inspected_outcomes(plan, results_of(plan, finds)), floor, seed)
        for tier, count in sample["tier"].value_counts().items():
            kept[tier] += count
    for tier, n in (("A", 1003), ("D", 497)):
        expected = 60 * n * floor
        assert abs(kept[tier] - expected) < 4 * np.sqrt(expected), (tier, kept[tier], expected)
    outcomes = inspected_outcomes(plan, results_of(plan, finds))
    with pytest.raises(ValueError, match="no such floor"):
        floor_sample(outcomes, 0.2, seed=0)
    assert floor_sample(outcomes, 0.0, seed=0).empty


def test_the_inclusion_probability_survives_into_the_register(tmp_path) -> None:
    tables = cr.load_sample()
    alive = tables.enterprises.loc[tables.enterprises["deregistered_on"].isna(), "entity_id"]
    plan = pd.DataFrame(
        {
            "entity_id": alive.iloc[:2].to_numpy(),
            "visit": 1,
            "inspector_1": ["IN0000001", "IN0000003"],
            "inspector_2": ["IN0000002", "IN0000004"],
            "inclusion_probability": [0.01, 0.25],
        }
    )
    results = plan[["entity_id", "visit"]].assign(
        inspected_on="2025-03-02", outcome="compliant", published_on="2025-03-20"
    )
    new = results_to_inspections(plan, results)
    assert new["inclusion_probability"].tolist() == [0.01, 0.25]
    grown = add_results(tables, plan, results)
    kept = grown.inspections.dropna(subset=["inclusion_probability"])
    assert kept["entity_id"].tolist() == plan["entity_id"].tolist()
    assert grown.inspections["inclusion_probability"].isna().sum() == len(tables.inspections)
    grown.write(tmp_path / "grown")
    back = cr.EventTables.read(tmp_path / "grown").inspections
    assert back["inclusion_probability"].dropna().tolist() == [0.01, 0.25]


# -- model evaluation, reweighted to the population -------------------------------------
def test_weighted_metrics_count_a_row_of_weight_k_as_k_rows() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(200)
    y = (rng.random(200) < p).astype(float)
    w = rng.integers(1, 5, 200)
    weighted = cr.evaluation.metrics(y, p, sample_weight=w)
    repeated = cr.evaluation.metrics(np.repeat(y, w), np.repeat(p, w))
    for key in ("auc", "average_precision", "brier", "finding_rate", "mean_probability"):
        assert weighted[key] == pytest.approx(repeated[key]), key
    assert weighted["auc"] == pytest.approx(roc_auc_score(y, p, sample_weight=w))
    table = cr.evaluation.reliability_table(y, p, bins=4, sample_weight=w)
    assert table["finding_rate"].tolist() == pytest.approx(
        [
            np.average(y[g], weights=w[g])
            for g in [np.isin(np.arange(200), idx) for idx in _weight_bins(p, w, 4)]
        ]
    )


def _weight_bins(p: np.ndarray, w: np.ndarray, bins: int) -> list[np.ndarray]:
    """Rows per bin of equal weight, by each row's weight midpoint (written out)."""
    order = np.argsort(p, kind="stable")
    cum = np.cumsum(w[order])
    middle = (cum - w[order] / 2) / cum[-1]
    group = np.minimum((middle * bins).astype(int), bins - 1)
    return [order[group == b] for b in range(bins)]


def test_weighting_by_the_draw_recovers_the_population_auc() -> None:
    """A plan that targets the risky measures a model on a range-restricted sample;
    weighted by 1 / inclusion probability, the sample's AUC is the population's again
    (on average over draws)."""
    rng = np.random.default_rng(4)
    n = 3000
    risk = rng.normal(size=n)
    p = 1 / (1 + np.exp(-(risk - 1.5)))
    y = rng.random(n) < p
    score = 1 / (1 + np.exp(-(risk + rng.normal(scale=0.8, size=n))))  # a model's probability
    tier = np.where(score > 0.73, "D", "A")
    scores = pd.DataFrame(
        {
            "entity_id": [f"E{i:05d}" for i in range(n)],
            "tier": pd.Categorical(tier, categories=TIERS, ordered=True),
            "probability": score,
            "key_sector": "none",
            "region": "r1",
        }
    )
    table = frequency_table(scores, POLICY)
    table["rate"] = np.where(table["tier"] == "D", 0.6, 0.05)
    finds = dict(zip(scores["entity_id"], y, strict=True))
    population_auc = roc_auc_score(y, score)
    plain, weighted = [], []
    for seed in range(30):
        plan = draw(scores, REGISTER, POLICY, seed=seed, table=table)
        o = inspected_outcomes(plan, results_of(plan, finds))
        s = scores.set_index("entity_id").loc[o["entity_id"], "probability"].to_numpy()
        plain.append(cr.evaluation.metrics(o["finding"], s)["auc"])
        weighted.append(cr.evaluation.metrics(o["finding"], s, sample_weight=o["weight"])["auc"])
    assert abs(np.mean(weighted) - population_auc) < 0.02
    assert abs(np.mean(plain) - population_auc) > 2 * abs(np.mean(weighted) - population_auc)
