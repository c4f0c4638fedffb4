"""Inspection planning: frequency tables, capacity allocation, the double-random draw,
staffing shortages, plan verification, results fed back as inspections, and the
synthetic world's conflicts of interest.

The packaged sample model scores the sample at 2025-01-01 once per module. Every
expectation comes from the policy rules (worked out by hand below), from constraints
checked directly on the plan, or from a brute-force search, never from earlier runs.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.inspection import (
    InspectorRegister,
    PlanMismatch,
    StaffingError,
    add_results,
    allocate,
    draw,
    frequency_table,
    load_sample_register,
    plot_frequency_table,
    results_to_inspections,
    verify,
    workload,
)

SEED = 20260101
AS_OF = "2025-01-01"
TIERS = ["A", "B", "C", "D"]
KEY = ["food", "drug", "special_equipment", "industrial_product"]
STRATUM = ["tier", "sector"]


# -- helpers ---------------------------------------------------------------------------
# The national inspection rules the hand-worked cases below assume, pinned so that
# they hold whatever the shipped file says (the sample tests use the shipped policy).
PINNED = {
    "period": "1Y",
    "random_floor": 0.01,
    "ratios": {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30},
    "ratio_ranges": {"A": [0.01, 0.05], "B": [0.02, 0.20], "C": [0.10, 0.60], "D": [0.30, 1.00]},
    "min_inspections": {"A": 0.0, "B": 0.0, "C": 0.0, "D": 0.0},
    "key_sectors": {
        "food": {"min_inspections": 1, "every": "2Y"},
        "drug": {"min_inspections": 1, "every": "1Y"},
        "special_equipment": {"min_inspections": 1, "every": "1Y"},
        "industrial_product": {"min_inspections": 1, "every": "2Y"},
    },
}


def policy_with(base: str = "national", **inspection) -> cr.Policy:
    """A shipped policy with the pinned inspection rules (national), then some replaced."""
    d = cr.Policy.load(base).to_dict()
    d["name"] = f"{base}_test"
    if base == "national":
        d["inspection"].update(PINNED)
    d["inspection"].update(inspection)
    return cr.Policy.from_dict(d)


def years_of(period: str) -> float:
    value, unit = float(period[:-1]), period[-1].upper()
    return value if unit == "Y" else value / 12


def make_scores(rows: list[tuple[str, str, float, str, str]]) -> pd.DataFrame:
    """Scores from (entity_id, tier, probability, key_sector, region) rows."""
    frame = pd.DataFrame(rows, columns=["entity_id", "tier", "probability", "key_sector", "region"])
    frame["tier"] = pd.Categorical(frame["tier"], categories=TIERS, ordered=True)
    return frame


def sector_of(key_sector: pd.Series, policy: cr.Policy) -> pd.Series:
    sectors = set(policy.inspection.get("key_sectors", {}))
    ks = key_sector.astype(str)
    return ks.where(ks.isin(sectors), "other")


def hand_bounds(policy: cr.Policy, tier: str, sector: str, years: float = 1.0):
    """Allocation bounds written from the rules: at least the range's lower end, the
    tier minimum, the key-sector minimum and the random floor; at most the range's
    upper end (or the lower bound when a minimum exceeds the range)."""
    ins = policy.inspection
    low, high = ins["ratio_ranges"][tier]
    lows = [low * years, ins.get("min_inspections", {}).get(tier, 0) * years]
    lows.append(ins.get("random_floor", 0) * years)
    if sector != "other":
        rule = ins["key_sectors"][sector]
        lows.append(rule["min_inspections"] * years / years_of(rule["every"]))
    lower = max(lows)
    return lower, max(high * years, lower)


def barred_sets(scores: pd.DataFrame, register: InspectorRegister, tables) -> dict[str, set]:
    """Each entity's barred inspectors: declared conflicts plus its last inspection's."""
    out: dict[str, set] = {}
    for i, e in zip(
        register.conflicts["inspector_id"], register.conflicts["entity_id"], strict=True
    ):
        out.setdefault(str(e), set()).add(str(i))
    if tables is not None:
        ins = tables.inspections
        last_day = ins.groupby("entity_id")["inspected_on"].transform("max")
        last = ins[ins["inspected_on"] == last_day]
        # entities with two inspections on their last day: keep the one sorted last
        last = last.sort_values(["entity_id", "inspected_on"], kind="stable")
        last = last.groupby("entity_id").tail(1)
        for e, a, b in zip(
            last["entity_id"], last["inspector_1"], last["inspector_2"], strict=True
        ):
            out.setdefault(str(e), set()).update({str(a), str(b)})
    return out


def stratum_counts(plan: pd.DataFrame) -> pd.Series:
    return plan.groupby([plan["tier"].astype(str), plan["sector"]]).size().sort_index()


def count_bounds(scores: pd.DataFrame, policy: cr.Policy, rates: dict) -> dict:
    """Visits per stratum, (fewest, most): every entity the whole visits of its rate,
    and the fraction's expected count n x frac rounded at random, down or up."""
    s = pd.DataFrame(
        {"tier": scores["tier"].astype(str), "sector": sector_of(scores["key_sector"], policy)}
    )
    n = s.groupby(STRATUM).size()
    out = {}
    for key, count in n.items():
        rate = rates[key]
        whole = int(np.floor(rate))
        expected = round((rate - whole) * count, 9)
        low = count * whole + int(np.floor(expected))
        out[key] = (low, low + int(expected != np.floor(expected)))
    return out


def check_counts(plan: pd.DataFrame, scores: pd.DataFrame, policy: cr.Policy, rates) -> None:
    """Every stratum's visits are its expected count rounded down or up."""
    bounds = count_bounds(scores, policy, rates)
    got = stratum_counts(plan).to_dict()
    assert set(got) <= set(bounds), set(got) - set(bounds)
    for key, (low, high) in bounds.items():
        assert low <= got.get(key, 0) <= high, (key, got.get(key, 0), low, high)


def general_spread(plan: pd.DataFrame, register: InspectorRegister) -> pd.Series:
    """Per region, max - min visits of the general inspectors."""
    w = workload(plan, register)
    general = w[w["speciality"] == "general"]
    return general.groupby("region")["visits"].agg(lambda v: v.max() - v.min())


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables() -> cr.EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def model() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


@pytest.fixture(scope="module")
def policy(model) -> cr.Policy:
    assert model.policy_.name == "national"
    return model.policy_


@pytest.fixture(scope="module")
def scores(model, tables) -> pd.DataFrame:
    X = cr.build_features(tables, cr.spine(tables, AS_OF))
    return model.classify(X, top_k=0).join(X[["key_sector", "region"]])


@pytest.fixture(scope="module")
def register() -> InspectorRegister:
    return load_sample_register()


@pytest.fixture(scope="module")
def busy_register(scores, register) -> InspectorRegister:
    """The sample register plus one declared conflict per entity with a random general
    inspector of its region, so conflicts bar inspectors on every visit (never the
    region's only specialist, which could leave a key-sector visit unstaffable)."""
    rng = np.random.default_rng(0)
    ins = register.inspectors
    extra = []
    for e, r in zip(scores["entity_id"], scores["region"].astype(str), strict=True):
        local = ins.loc[
            (ins["region"] == r) & (ins["speciality"] == "general"), "inspector_id"
        ].to_numpy()
        extra.append((local[rng.integers(len(local))], e))
    extra = pd.DataFrame(extra, columns=["inspector_id", "entity_id"])
    conflicts = pd.concat([register.conflicts[["inspector_id", "entity_id"]], extra])
    return InspectorRegister(ins, conflicts.drop_duplicates().reset_index(drop=True))


@pytest.fixture(scope="module")
def table(scores, policy) -> pd.DataFrame:
    return frequency_table(scores, policy)


@pytest.fixture(scope="module")
def plan(scores, busy_register, policy, tables) -> pd.DataFrame:
    return draw(scores, busy_register, policy, seed=SEED, history=tables)


@pytest.fixture(scope="module")
def barred(scores, busy_register, tables) -> dict[str, set]:
    return barred_sets(scores, busy_register, tables)


# -- frequency table -------------------------------------------------------------------
# a policy where each rule wins somewhere: the floor beats A's ratio, D's minimum
# beats everything, food and drug beat B's and A's ratios
RULES = {
    "ratios": {"A": 0.005, "B": 0.02, "C": 0.10, "D": 0.30},
    "min_inspections": {"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.5},
    "random_floor": 0.01,
}
HAND = make_scores(
    [
        ("E01", "A", 0.05, "none", "r1"),
        ("E02", "A", 0.15, "none", "r1"),
        ("E03", "B", 0.20, "none", "r1"),
        ("E04", "B", 0.30, "food", "r1"),
        ("E05", "B", 0.10, "food", "r1"),
        ("E06", "B", 0.40, "food", "r1"),
        ("E07", "C", 0.50, "none", "r1"),
        ("E08", "C", 0.30, "industrial_product", "r1"),
        ("E09", "D", 0.90, "none", "r1"),
        ("E10", "D", 0.70, "food", "r1"),
        ("E11", "A", 0.25, "drug", "r1"),
    ]
)
# (tier, sector) -> (entities, sum of probabilities, rate per 1Y, rate per 6M, rule)
HAND_EXPECTED = {
    ("A", "drug"): (1, 0.25, 1.0, 0.5, "key sector drug"),
    ("A", "other"): (2, 0.20, 0.01, 0.005, "random floor"),
    ("B", "food"): (3, 0.80, 0.5, 0.25, "key sector food"),
    ("B", "other"): (1, 0.20, 0.02, 0.01, "ratio B"),
    ("C", "industrial_product"): (1, 0.30, 0.5, 0.25, "key sector industrial_product"),
    ("C", "other"): (1, 0.50, 0.10, 0.05, "ratio C"),
    ("D", "food"): (1, 0.70, 1.5, 0.75, "minimum D"),
    ("D", "other"): (1, 0.90, 1.5, 0.75, "minimum D"),
}


@pytest.mark.parametrize("period", ["1Y", "6M"])
def test_frequency_rates_are_the_largest_rule(period) -> None:
    t = frequency_table(HAND, policy_with(**RULES), period=period).set_index(STRATUM)
    assert sorted(t.index) == sorted(HAND_EXPECTED)
    for key, (n, p_sum, yearly, half, rule) in HAND_EXPECTED.items():
        rate = yearly if period == "1Y" else half
        row = t.loc[key]
        assert row["entities"] == n, key
        assert row["rate"] == pytest.approx(rate), key
        assert row["rule"].startswith(rule), (key, row["rule"])
        assert row["expected_inspections"] == pytest.approx(n * rate), key
        assert row["expected_findings"] == pytest.approx(rate * p_sum), key
        assert row["mean_probability"] == pytest.approx(p_sum / n), key
        assert row["sampling_ratio"] == pytest.approx(min(rate, 1.0)), key
        assert row["min_per_entity"] == int(np.floor(rate)), key


def test_frequency_food_every_two_years_scales_with_the_period(policy) -> None:
    s = make_scores([("E1", "B", 0.2, "food", "r1")])
    rates = {p: frequency_table(s, policy, period=p)["rate"].item() for p in ("1Y", "6M", "2Y")}
    assert rates == pytest.approx({"1Y": 0.5, "6M": 0.25, "2Y": 1.0})
    assert frequency_table(s, policy)["rule"].item() == "key sector food: 1 every 2Y"


def test_frequency_daqing_treats_drug_as_other() -> None:
    """Daqing's key sectors are food only: a drug entity is rated by its tier (B: the
    20% ratio), a food entity by the larger of food's 0.5 and its tier's rule."""
    s = make_scores([("E1", "B", 0.2, "drug", "r1"), ("E2", "A", 0.1, "food", "r1")])
    p = policy_with(
        "daqing",
        ratios={"A": 0.05, "B": 0.20, "C": 0.60, "D": 1.00},
        key_sectors={"food": {"min_inspections": 1, "every": "2Y"}},
    )
    t = frequency_table(s, p).set_index(STRATUM)
    assert sorted(t.index) == [("A", "food"), ("B", "other")]
    assert t.loc[("B", "other"), "rate"] == pytest.approx(0.20)
    assert t.loc[("B", "other"), "rule"].startswith("ratio B")
    assert t.loc[("A", "food"), "rate"] == pytest.approx(0.5)


def test_daqing_keeps_its_published_ratios() -> None:
    """Issue 21, point 4: Daqing publishes sampling ratios (A <=5%, B 5-20%, C 21-60%,
    D 61-100%); its check frequencies are not per-entity minimums, so the shipped file
    rates B and C within their ranges (not at 100%) and D at most once per entity, and
    an allocation can go down to each range's lower end."""
    p = cr.Policy.load("daqing")
    s = make_scores(
        [(f"B{i:03d}", "B", 0.2, "none", "r1") for i in range(100)]
        + [(f"C{i:03d}", "C", 0.4, "none", "r1") for i in range(100)]
        + [(f"D{i:03d}", "D", 0.7, "none", "r1") for i in range(100)]
    )
    published = {"B": (0.05, 0.20), "C": (0.21, 0.60), "D": (0.61, 1.00)}
    t = frequency_table(s, p).set_index(STRATUM)
    for tier, (low, high) in published.items():
        rate = t.loc[(tier, "other"), "rate"]
        assert low <= rate <= high, (tier, rate)
    a = allocate(s, 100 * (0.05 + 0.21 + 0.61), p)  # every range at its lower end
    rate = a.table.set_index(a.table["tier"].astype(str))["rate"]
    for tier, (low, _) in published.items():
        assert rate[tier] == pytest.approx(low), tier


def test_frequency_table_on_the_sample(scores) -> None:
    # pinned national, 1Y: tier ratios for "other"; key sectors at least 0.5 (food,
    # industrial_product) or 1.0 (drug, special_equipment), above any tier's ratio
    policy = policy_with()
    table = frequency_table(scores, policy)
    ratio = {"A": 0.01, "B": 0.02, "C": 0.10, "D": 0.30}
    sector_rate = {"food": 0.5, "industrial_product": 0.5, "drug": 1.0, "special_equipment": 1.0}
    assert int(table["entities"].sum()) == len(scores)
    s = scores.assign(
        sector=sector_of(scores["key_sector"], policy), tier=scores["tier"].astype(str)
    )
    n = s.groupby(STRATUM).size()
    p_sum = s.groupby(STRATUM)["probability"].sum()
    t = table.set_index([table["tier"].astype(str), "sector"])
    assert sorted(t.index) == sorted(n.index)
    for (tier, sector), row in t.iterrows():
        rate = ratio[tier] if sector == "other" else max(ratio[tier], sector_rate[sector])
        assert row["rate"] == pytest.approx(rate), (tier, sector)
        assert row["entities"] == n[(tier, sector)]
        assert row["expected_inspections"] == pytest.approx(n[(tier, sector)] * rate)
        assert row["expected_findings"] == pytest.approx(rate * p_sum[(tier, sector)])
        assert row["rule"].startswith("ratio" if sector == "other" else f"key sector {sector}")
    # sorted by tier (lowest risk first), and tier is an ordered categorical
    assert list(table["tier"].cat.categories) == TIERS
    codes = table["tier"].cat.codes.to_numpy()
    assert (np.diff(codes) >= 0).all()


def test_frequency_table_of_the_shipped_policy(scores, policy, table) -> None:
    """The model's own policy, whatever its numbers: each rate is the largest of the
    tier ratio, the tier minimum, the key-sector minimum and the random floor."""
    ins = policy.inspection
    assert years_of(ins.get("period", "1Y")) == 1.0
    assert int(table["entities"].sum()) == len(scores)
    for r in table.itertuples():
        tier = str(r.tier)
        rules = [
            ins.get("ratios", {}).get(tier, 0),
            ins.get("min_inspections", {}).get(tier, 0),
            ins.get("random_floor", 0),
        ]
        if r.sector != "other":
            rule = ins["key_sectors"][r.sector]
            rules.append(rule.get("min_inspections", 1) / years_of(rule.get("every", "1Y")))
        assert r.rate == pytest.approx(max(rules)), (tier, r.sector)
        assert r.expected_inspections == pytest.approx(r.entities * r.rate)


def test_frequency_missing_key_sector_is_named(policy) -> None:
    s = HAND.drop(columns="key_sector")
    with pytest.raises(ValueError, match=r"missing columns \['key_sector'\]"):
        frequency_table(s, policy)


@pytest.mark.parametrize("period", ["1W", "", "Y", "0Y", "-1Y", "one year", "1Y6M"])
def test_frequency_bad_period(policy, period) -> None:
    with pytest.raises(ValueError, match="period"):
        frequency_table(HAND, policy, period=period)


def test_frequency_unknown_tier(policy) -> None:
    s = HAND.assign(tier=HAND["tier"].astype(str).replace({"D": "E"}))
    with pytest.raises(ValueError, match=r"tiers \['E'\] are not in policy"):
        frequency_table(s, policy)


def test_plot_frequency_table(table) -> None:
    fig = plot_frequency_table(table)
    try:
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) >= 1
        ax = fig.axes[0]
        # two bars (inspections, findings) per tier present in the table
        assert len(ax.patches) == 2 * table["tier"].nunique()
        heights = sorted(p.get_height() for p in ax.patches)
        assert heights[-1] == pytest.approx(
            table.groupby("tier", observed=True)["expected_inspections"].sum().max()
        )
    finally:
        plt.close(fig)


# -- allocation ------------------------------------------------------------------------
def check_allocation(a, policy: cr.Policy) -> None:
    """Bounds and ordering rules on an allocation's table."""
    t = a.table.assign(tier=a.table["tier"].astype(str))
    rate = {(r.tier, r.sector): r.rate for r in t.itertuples()}
    floor = policy.inspection["random_floor"]
    for (tier, sector), x in rate.items():
        lower, upper = hand_bounds(policy, tier, sector)
        assert x >= floor - 1e-9, (tier, sector)
        assert lower - 1e-9 <= x <= upper + 1e-9, (tier, sector, x, lower, upper)
        if sector != "other":
            rule = policy.inspection["key_sectors"][sector]
            assert x >= rule["min_inspections"] / years_of(rule["every"]) - 1e-9
            if (tier, "other") in rate:  # a key sector never below its tier's "other"
                assert x >= rate[(tier, "other")] - 1e-9, (tier, sector)
        for riskier in TIERS[TIERS.index(tier) + 1 :]:  # riskier never sampled less
            if (riskier, sector) in rate:
                assert rate[(riskier, sector)] >= x - 1e-9, (tier, riskier, sector)
    assert a.inspections == pytest.approx(float((t["entities"] * t["rate"]).sum()))
    assert a.inspections <= a.budget + 1e-6


def need_and_most(table: pd.DataFrame, policy: cr.Policy) -> tuple[float, float]:
    need = most = 0.0
    for r in table.itertuples():
        lower, upper = hand_bounds(policy, str(r.tier), r.sector)
        need += r.entities * lower
        most += r.entities * upper
    return need, most


def test_allocate_spends_the_budget_within_the_rules(scores, policy, table) -> None:
    need, most = need_and_most(table, policy)
    assert need < most
    budget = need + 0.5 * (most - need)
    a = allocate(scores, budget, policy)
    check_allocation(a, policy)
    assert a.inspections == pytest.approx(budget, rel=1e-9)
    assert a.budget == budget
    p_sum = float(scores["probability"].sum())
    assert a.uniform_per_100 == pytest.approx(100 * p_sum / len(scores))
    assert a.findings_per_100 > a.uniform_per_100
    assert a.lift == pytest.approx(a.findings_per_100 / a.uniform_per_100)
    assert a.expected_findings == pytest.approx(float(a.table["expected_findings"].sum()))
    # more budget than the ranges can use: spend only up to the upper ends
    a = allocate(scores, most + 100, policy)
    check_allocation(a, policy)
    assert a.inspections == pytest.approx(most, rel=1e-9)
    assert a.unused == pytest.approx(100, rel=1e-6)


def test_allocate_beats_the_frequency_table_at_its_own_budget(scores) -> None:
    """Ratios inside their ranges: the frequency table's rates are a feasible point of
    the allocation's problem at their own total, so the optimum finds at least as much."""
    p = policy_with(ratios={"A": 0.02, "B": 0.05, "C": 0.20, "D": 0.50})
    t = frequency_table(scores, p)
    for r in t.itertuples():  # feasibility of the table's rates
        lower, upper = hand_bounds(p, str(r.tier), r.sector)
        assert lower - 1e-12 <= r.rate <= upper + 1e-12
    budget = float(t["expected_inspections"].sum())
    a = allocate(scores, budget, p)
    check_allocation(a, p)
    assert a.inspections == pytest.approx(budget, rel=1e-9)
    assert a.expected_findings >= float(t["expected_findings"].sum()) - 1e-9
    assert a.findings_per_100 > a.uniform_per_100


def test_allocate_ordering_binds_on_a_miscalibrated_case() -> None:
    """Safer tiers with higher probabilities: the LP would like to sample A more than
    D and key sectors less than "other", the ordering rules stop it."""
    s = make_scores(
        [(f"A{i}", "A", 0.6, "none", "r1") for i in range(20)]
        + [(f"D{i}", "D", 0.1, "none", "r1") for i in range(20)]
        + [(f"F{i}", "D", 0.05, "food", "r1") for i in range(4)]
    )
    p = policy_with(
        ratio_ranges={"A": [0.01, 1.0], "B": [0.0, 1.0], "C": [0.0, 1.0], "D": [0.0, 1.0]}
    )
    # by hand: findings per inspection are 12/20 on A, 2/20 on D, 0.2/4 on D food; A
    # may not exceed D nor D its food stratum, so all three move together and share
    # the budget: 20 x + 20 x + 4 x = 30, x = 30/44 (above food's minimum 0.5)
    a = allocate(s, 30, p)
    check_allocation(a, p)
    rate = a.table.set_index([a.table["tier"].astype(str), "sector"])["rate"]
    for key in [("A", "other"), ("D", "other"), ("D", "food")]:
        assert rate[key] == pytest.approx(30 / 44, abs=1e-6), key
    assert a.inspections == pytest.approx(30)


def test_allocate_budget_below_the_minimums() -> None:
    policy = policy_with()
    # 100 A at 0.01 and 10 D at 0.30: the floors need 1 + 3 = 4 inspections
    s = make_scores(
        [(f"A{i:03d}", "A", 0.1, "none", "r1") for i in range(100)]
        + [(f"D{i:03d}", "D", 0.8, "none", "r1") for i in range(10)]
    )
    with pytest.raises(ValueError) as err:
        allocate(s, 3, policy)
    numbers = re.findall(r"\d+(?:\.\d+)?", str(err.value))
    assert "3" in numbers and "4" in numbers, str(err.value)
    assert allocate(s, 4, policy).inspections == pytest.approx(4)
    with pytest.raises(ValueError, match="budget"):
        allocate(s, 0, policy)


def test_allocate_budget_error_shows_a_fractional_need() -> None:
    """100 A at 0.01 and 8 D at 0.30 need 1 + 2.4 = 3.4 inspections; a budget of 3 must
    be refused with both numbers, not as "a budget of 3 ... below the 3"."""
    policy = policy_with()
    s = make_scores(
        [(f"A{i:03d}", "A", 0.1, "none", "r1") for i in range(100)]
        + [(f"D{i:03d}", "D", 0.8, "none", "r1") for i in range(8)]
    )
    with pytest.raises(ValueError) as err:
        allocate(s, 3, policy)
    assert "3.4" in str(err.value), str(err.value)


def test_allocate_matches_a_brute_force_grid() -> None:
    """Two tiers, A riskier per entity than D: 50 A (p sum 20) and 20 D (p sum 6),
    A in [0.01, 0.6], D in [0.1, 0.8], x_A <= x_D, 50 x_A + 20 x_D <= 30.
    By hand: spending on A and D together yields 26/70 per inspection, more than D
    alone (0.3), so x_A = x_D = 3/7 and the findings are 26 x 3/7."""
    rng = np.random.default_rng(5)
    pa = 0.4 + rng.uniform(-0.1, 0.1, 50)
    pa += 0.4 - pa.mean()
    pd_ = 0.3 + rng.uniform(-0.1, 0.1, 20)
    pd_ += 0.3 - pd_.mean()
    s = make_scores(
        [(f"A{i:02d}", "A", float(p), "none", "r1") for i, p in enumerate(pa)]
        + [(f"D{i:02d}", "D", float(p), "none", "r1") for i, p in enumerate(pd_)]
    )
    p = policy_with(
        ratios={"A": 0.01, "B": 0.02, "C": 0.1, "D": 0.1},
        ratio_ranges={"A": [0.01, 0.6], "B": [0.02, 0.2], "C": [0.1, 0.6], "D": [0.1, 0.8]},
    )
    a = allocate(s, 30, p)
    rate = a.table.set_index(a.table["tier"].astype(str))["rate"]
    sa, sd = float(pa.sum()), float(pd_.sum())
    assert rate["A"] == pytest.approx(3 / 7, abs=1e-6)
    assert rate["D"] == pytest.approx(3 / 7, abs=1e-6)
    assert a.expected_findings == pytest.approx((sa + sd) * 3 / 7, rel=1e-6)
    grid = np.linspace(0, 1, 1001)
    xa, xd = np.meshgrid(grid, grid, indexing="ij")
    ok = (xa >= 0.01) & (xa <= 0.6) & (xd >= 0.1) & (xd <= 0.8) & (xa <= xd)
    ok &= 50 * xa + 20 * xd <= 30 + 1e-12
    value = np.where(ok, sa * xa + sd * xd, -np.inf)
    best = float(value.max())
    assert best <= a.expected_findings + 1e-9  # nothing feasible beats the LP
    assert a.expected_findings - best <= (sa + sd) * 0.002  # within the grid's step


def test_allocate_keeps_the_baseline_for_disclosed_information_checks() -> None:
    """Issue 21, point 7: at least 3% of all enterprises per year. 200 tier-A entities
    at the 1% floor need 2 inspections, but the baseline needs 6."""
    policy = policy_with()
    s = make_scores([(f"A{i:03d}", "A", 0.1, "none", "r1") for i in range(200)])
    with pytest.raises(ValueError, match="baseline of 6 ") as err:
        allocate(s, 5, policy)
    assert "3% of 200 enterprises" in str(err.value)
    assert allocate(s, 6, policy).inspections == pytest.approx(6)
    assert allocate(s, 8, policy).inspections == pytest.approx(8)
    # a half-year plan needs half the baseline
    assert allocate(s, 3, policy, period="6M").inspections == pytest.approx(3)
    # ranges whose upper ends cannot reach the baseline are refused, not ignored
    narrow = policy_with(ratio_ranges={**PINNED["ratio_ranges"], "A": [0.01, 0.02]})
    with pytest.raises(ValueError, match="upper ends allow 4 inspections"):
        allocate(s, 10, narrow)


def test_allocate_table_drives_the_draw(scores, register, policy, table) -> None:
    need, most = need_and_most(table, policy)
    a = allocate(scores, (need + most) / 2, policy)
    empty = InspectorRegister(register.inspectors)
    p = draw(scores, empty, policy, seed=3, table=a.table)
    rates = {(str(r.tier), r.sector): r.rate for r in a.table.itertuples()}
    check_counts(p, scores, policy, rates)
    assert verify(p, scores, empty, policy, table=a.table)


# -- the draw --------------------------------------------------------------------------
def test_draw_two_distinct_inspectors(plan) -> None:
    assert plan["inspector_1"].notna().all() and plan["inspector_2"].notna().all()
    assert (plan["inspector_1"] != plan["inspector_2"]).all()


def test_draw_second_inspector_from_the_region(plan, busy_register) -> None:
    region = busy_register.inspectors.set_index("inspector_id")["region"]
    assert (plan["inspector_2"].map(region) == plan["region"].astype(str)).all()


def test_draw_lead_rules(plan, busy_register, barred) -> None:
    ins = busy_register.inspectors
    region = ins.set_index("inspector_id")["region"]
    speciality = ins.set_index("inspector_id")["speciality"]
    elsewhere = 0
    for row in plan.itertuples():
        ks, r = str(row.key_sector), str(row.region)
        lead_region = region[row.inspector_1]
        if ks != "none":
            assert speciality[row.inspector_1] == ks, row
        local = ins[ins["region"] == r]
        if ks != "none":
            local = local[local["speciality"] == ks]
        free = set(local["inspector_id"]) - barred.get(row.entity_id, set())
        if free:
            assert lead_region == r, row
        else:
            # only a key-sector entity may get its lead from elsewhere
            assert ks != "none", row
            elsewhere += lead_region != r
    assert elsewhere > 0  # the rule was exercised


def test_draw_avoids_conflicts_and_last_inspectors(plan, barred, busy_register, tables) -> None:
    hits = [
        (row.entity_id, who)
        for row in plan.itertuples()
        for who in (row.inspector_1, row.inspector_2)
        if who in barred.get(row.entity_id, set())
    ]
    assert hits == []
    # the constraints bite: most planned entities have a barred inspector in their region
    region = busy_register.inspectors.set_index("inspector_id")["region"]
    bites = sum(
        any(region.get(i) == str(row.region) for i in barred.get(row.entity_id, ()))
        for row in plan.itertuples()
    )
    assert bites > 0.9 * len(plan)
    assert plan["entity_id"].isin(tables.inspections["entity_id"]).mean() > 0.5


def test_draw_counts_per_stratum(plan, scores, policy, table) -> None:
    rates = {(str(r.tier), r.sector): r.rate for r in table.itertuples()}
    check_counts(plan, scores, policy, rates)
    assert not plan.duplicated(["entity_id", "visit"]).any()
    assert set(plan["entity_id"]) <= set(scores["entity_id"])
    # drug and special equipment entities (rate 1) are all visited
    must = scores.loc[scores["key_sector"].isin(["drug", "special_equipment"]), "entity_id"]
    assert set(must) <= set(plan["entity_id"])


def test_draw_whole_and_fractional_visits(scores, register, policy) -> None:
    """D at 1.5 visits: every D entity once, half of them a second time, by other
    inspectors than the first visit's."""
    p = policy_with(min_inspections={"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.5})
    d = scores[(scores["tier"] == "D") & (scores["key_sector"] == "none")]
    plan = draw(d, register, p, seed=11)
    n = len(d)
    assert (plan["visit"] == 1).sum() == n
    assert (plan["visit"] == 2).sum() in {n // 2, (n + 1) // 2}
    assert set(plan.loc[plan["visit"] == 1, "entity_id"]) == set(d["entity_id"])
    for _, visits in plan.groupby("entity_id"):
        team = list(visits["inspector_1"]) + list(visits["inspector_2"])
        assert len(team) == len(set(team))  # never sent twice to the same entity


def test_draw_small_group_at_the_floor_is_not_exempt() -> None:
    """Issue 21, point 6: 40 tier-A entities at the 1% floor expect 0.4 visits. Rounded
    to the nearest whole number that was never a visit, so no entity of the group could
    be drawn; rounded at random it is one visit in about 40% of draws."""
    s = make_scores([(f"E{i:02d}", "A", 0.05, "none", "r1") for i in range(40)])
    reg = InspectorRegister(
        pd.DataFrame({"inspector_id": ["I1", "I2", "I3"], "region": "r1", "speciality": "general"})
    )
    plans = [draw(s, reg, policy_with(), seed=k) for k in range(200)]
    sizes = np.array([len(p) for p in plans])
    assert set(sizes) == {0, 1}
    assert 0.3 <= sizes.mean() <= 0.5, sizes.mean()
    drawn = pd.concat([p for p in plans if len(p)])
    assert (drawn["inclusion_probability"] == 0.01).all()
    assert drawn["entity_id"].nunique() > 20  # any entity of the group can be drawn


def test_draw_inclusion_probabilities_are_exact() -> None:
    """12 tier-D entities at 30% expect 3.6 visits: 3 or 4 by randomised rounding, then
    a simple random sample, so each entity is in the plan with probability exactly 0.30
    (checked on 300 seeds, within 4 standard errors) and the plan says so."""
    s = make_scores([(f"D{i:02d}", "D", 0.5, "none", "r1") for i in range(12)])
    reg = InspectorRegister(
        pd.DataFrame(
            {"inspector_id": [f"I{i}" for i in range(6)], "region": "r1", "speciality": "general"}
        )
    )
    plans = [draw(s, reg, policy_with(), seed=k) for k in range(300)]
    sizes = np.array([len(p) for p in plans])
    assert set(sizes) == {3, 4}
    assert abs(sizes.mean() - 3.6) < 4 * np.sqrt(0.24 / 300)
    drawn = pd.concat(plans)
    assert (drawn["inclusion_probability"] == 0.30).all()
    share = drawn["entity_id"].value_counts().reindex(s["entity_id"], fill_value=0) / 300
    assert (share.sub(0.30).abs() < 4 * np.sqrt(0.21 / 300)).all(), share.round(3).tolist()


def test_draw_inclusion_probability_column(plan, table) -> None:
    """Each visit carries its entity's chance of being in the plan: the stratum's rate,
    capped at 1 (whole visits are certain)."""
    rates = {(str(r.tier), r.sector): min(r.rate, 1.0) for r in table.itertuples()}
    expected = [rates[(str(t), s)] for t, s in zip(plan["tier"], plan["sector"], strict=True)]
    assert plan["inclusion_probability"].tolist() == expected
    assert (plan["inclusion_probability"] > 0).all()
    assert list(plan.columns[9:11]) == ["inclusion_probability", "seed"]


def test_draw_same_seed_same_plan(plan, scores, busy_register, policy, tables) -> None:
    again = draw(scores, busy_register, policy, seed=SEED, history=tables)
    pd.testing.assert_frame_equal(plan, again)


def test_draw_other_seed_other_plan_counts_within_rounding(
    plan, scores, busy_register, policy, tables, table
) -> None:
    other = draw(scores, busy_register, policy, seed=SEED + 1, history=tables)
    rates = {(str(r.tier), r.sector): r.rate for r in table.itertuples()}
    check_counts(other, scores, policy, rates)
    # strata with whole expected counts (rate 0.5 or 1 on an even number) do not move
    for key, (low, high) in count_bounds(scores, policy, rates).items():
        if low == high:
            assert stratum_counts(other).get(key, 0) == stratum_counts(plan).get(key, 0)
    keys = ["entity_id", "visit", "inspector_1", "inspector_2"]
    assert not plan[keys].equals(other[keys])
    # the fractional strata draw other targets, not only other inspectors
    assert set(plan["entity_id"]) != set(other["entity_id"])
    assert (other["seed"] == SEED + 1).all()
    assert other["inputs_sha256"].iat[0] == plan["inputs_sha256"].iat[0]


def test_draw_ignores_the_row_order_of_scores(plan, scores, busy_register, policy, tables) -> None:
    shuffled = scores.sample(frac=1.0, random_state=7)
    assert not shuffled["entity_id"].equals(scores["entity_id"])
    again = draw(shuffled, busy_register, policy, seed=SEED, history=tables)
    pd.testing.assert_frame_equal(plan, again)
    again = draw(shuffled.reset_index(drop=True), busy_register, policy, seed=SEED, history=tables)
    pd.testing.assert_frame_equal(plan, again)


def test_draw_constant_columns(plan) -> None:
    for column in ("seed", "period", "creditrisk_version", "inputs_sha256"):
        assert plan[column].nunique() == 1, column
    assert int(plan["seed"].iat[0]) == SEED
    assert plan["period"].iat[0] == "1Y"
    assert plan["creditrisk_version"].iat[0] == cr.__version__
    assert re.fullmatch(r"[0-9a-f]{64}", str(plan["inputs_sha256"].iat[0]))
    assert list(plan.columns[:9]) == [
        "entity_id",
        "visit",
        "tier",
        "sector",
        "key_sector",
        "region",
        "probability",
        "inspector_1",
        "inspector_2",
    ]


def test_draw_half_year_period(scores, register, policy) -> None:
    """A 6-month plan: rates from the 6M table (food 0.25, drug 0.5, ...), the period
    recorded, and verify re-draws it from that period."""
    clean = InspectorRegister(register.inspectors)
    half = frequency_table(scores, policy, period="6M")
    year = frequency_table(scores, policy)
    assert half["rate"].to_numpy() == pytest.approx(year["rate"].to_numpy() / 2)
    plan = draw(scores, clean, policy, seed=5, period="6M")
    rates = {(str(r.tier), r.sector): r.rate for r in half.itertuples()}
    check_counts(plan, scores, policy, rates)
    assert (plan["period"] == "6M").all()
    assert verify(plan, scores, clean, policy) is True


def test_workload_even_without_exclusions(scores, register, policy) -> None:
    """No conflicts and no history: a general inspector is only ever picked when no
    inspector of its region's pool has fewer visits, so within a region the general
    inspectors' visits never differ by more than one."""
    clean = InspectorRegister(register.inspectors)
    plan = draw(scores, clean, policy, seed=SEED)
    spread = general_spread(plan, clean)
    assert len(spread) == register.inspectors["region"].nunique()
    assert spread.max() <= 1, spread.to_dict()
    w = workload(plan, clean)
    assert int(w["visits"].sum()) == 2 * len(plan)


def test_workload_with_exclusions(plan, busy_register, barred) -> None:
    """A visit that bars some general inspector of the region can widen their spread
    by at most one; any other visit never widens it beyond one. And the spread is
    far below that of a naive uniform random assignment of the same visits."""
    ins = busy_register.inspectors
    general = ins[ins["speciality"] == "general"]
    general_by_region = general.groupby("region")["inspector_id"].agg(set)
    spread = general_spread(plan, busy_register)
    bound = {r: 1 for r in general_by_region.index}
    for row in plan.itertuples():
        r = str(row.region)
        if barred.get(row.entity_id, set()) & general_by_region.get(r, set()):
            bound[r] += 1
    for r, s in spread.items():
        assert s <= bound[r], (r, s, bound[r])

    rng = np.random.default_rng(1)
    ids_by_region = ins.groupby("region")["inspector_id"].agg(list)
    spreads = []
    for _ in range(20):
        first, second = [], []
        for row in plan.itertuples():
            local = ids_by_region[str(row.region)]
            a, b = rng.choice(local, 2, replace=False)
            first.append(a)
            second.append(b)
        naive = plan.assign(inspector_1=first, inspector_2=second)
        spreads.append(general_spread(naive, busy_register).max())
    assert spread.max() * 3 <= np.mean(spreads), (spread.max(), spreads)


# -- staffing --------------------------------------------------------------------------
def test_staffing_no_specialist_anywhere_in_region(scores, register) -> None:
    """Specialists may not leave their region and every key-sector entity gets one
    visit a year: a region without a specialist for a sector is short of exactly its
    entities of that sector."""
    every_year = {k: {"min_inspections": 1, "every": "1Y"} for k in KEY}
    p = policy_with(specialists_any_region=False, key_sectors=every_year)
    clean = InspectorRegister(register.inspectors)
    with pytest.raises(StaffingError) as err:
        draw(scores, clean, p, seed=1)
    ins = register.inspectors
    have = set(zip(ins["region"], ins["speciality"], strict=True))
    keyed = pd.DataFrame(
        {"region": scores["region"].astype(str), "key_sector": scores["key_sector"].astype(str)}
    )
    entities = keyed[keyed["key_sector"] != "none"].groupby(["region", "key_sector"]).size()
    expected = {(r, ks): int(n) for (r, ks), n in entities.items() if (r, ks) not in have and n}
    assert expected  # the sample register leaves some gaps
    short = err.value.shortages
    got = {(r.region, r.key_sector): int(r.visits) for r in short.itertuples()}
    assert got == expected
    for r in short.itertuples():
        assert f"qualified for {r.key_sector}" in r.constraint
    assert int(short["visits"].sum()) == sum(expected.values())
    assert str(sum(expected.values())) in str(err.value)


def test_staffing_register_lacking_a_speciality(scores, register) -> None:
    """No drug inspector anywhere: every drug visit (rate 1: every drug entity) is short."""
    policy = policy_with()
    table = frequency_table(scores, policy)
    ins = register.inspectors.assign(
        speciality=register.inspectors["speciality"].replace({"drug": "general"})
    )
    with pytest.raises(StaffingError) as err:
        draw(scores, InspectorRegister(ins), policy, seed=1)
    short = err.value.shortages
    drug = scores[scores["key_sector"] == "drug"]
    expected = drug.groupby(drug["region"].astype(str)).size()
    expected = {r: int(n) for r, n in expected.items() if n}
    assert set(short["key_sector"]) == {"drug"}
    assert dict(zip(short["region"], short["visits"].astype(int), strict=True)) == expected
    assert short["constraint"].str.contains("qualified for drug").all()
    # the table's drug visits, all short
    drug_visits = table.loc[table["sector"] == "drug", "expected_inspections"].sum()
    assert int(short["visits"].sum()) == round(drug_visits)


def test_staffing_one_inspector_region() -> None:
    s = make_scores(
        [(f"E{i}", "D", 0.5, "none", "r1") for i in range(4)]
        + [(f"F{i}", "D", 0.5, "none", "r2") for i in range(3)]
    )
    p = policy_with(min_inspections={"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0})
    reg = InspectorRegister(
        pd.DataFrame(
            {
                "inspector_id": ["I1", "I2", "I3", "I4"],
                "region": ["r1", "r2", "r2", "r2"],
                "speciality": ["general"] * 4,
            }
        )
    )
    with pytest.raises(StaffingError) as err:
        draw(s, reg, p, seed=1)
    short = err.value.shortages
    assert len(short) == 1
    row = short.iloc[0]
    assert "no second inspector" in row["constraint"]
    assert (row["region"], row["key_sector"], int(row["visits"])) == ("r1", "none", 4)
    assert "4 visits short" in str(err.value)
    # with a second inspector in r1 every visit is staffed
    reg2 = InspectorRegister(
        pd.concat(
            [
                reg.inspectors,
                pd.DataFrame({"inspector_id": ["I5"], "region": ["r1"], "speciality": ["general"]}),
            ],
            ignore_index=True,
        )
    )
    assert len(draw(s, reg2, p, seed=1)) == 7


def test_staffing_conflicts_can_leave_no_one() -> None:
    """Two inspectors, one with a declared conflict with E1: E1 cannot be staffed."""
    s = make_scores([("E1", "D", 0.5, "none", "r1"), ("E2", "D", 0.5, "none", "r1")])
    p = policy_with(min_inspections={"A": 0.0, "B": 0.0, "C": 0.0, "D": 1.0})
    ins = pd.DataFrame(
        {"inspector_id": ["I1", "I2"], "region": ["r1", "r1"], "speciality": ["general"] * 2}
    )
    conflicts = pd.DataFrame({"inspector_id": ["I1"], "entity_id": ["E1"]})
    with pytest.raises(StaffingError) as err:
        draw(s, InspectorRegister(ins, conflicts), p, seed=1)
    assert int(err.value.shortages["visits"].sum()) == 1
    assert (err.value.shortages["region"] == "r1").all()


def test_register_refuses_unknown_conflict_inspector() -> None:
    ins = pd.DataFrame({"inspector_id": ["I1"], "region": ["r1"], "speciality": ["general"]})
    with pytest.raises(ValueError, match="I9"):
        InspectorRegister(ins, pd.DataFrame({"inspector_id": ["I9"], "entity_id": ["E1"]}))


# -- verify ----------------------------------------------------------------------------
def test_verify_untouched_plan(plan, scores, busy_register, policy, tables, tmp_path) -> None:
    assert verify(plan, scores, busy_register, policy, history=tables) is True
    path = tmp_path / "plan.parquet"
    plan.to_parquet(path, index=False)
    back = pd.read_parquet(path)
    assert verify(back, scores, busy_register, policy, history=tables) is True


def test_verify_swapped_inspector(plan, scores, busy_register, policy, tables) -> None:
    bad = plan.copy()
    row = bad.index[len(bad) // 2]
    region = str(bad.at[row, "region"])
    ins = busy_register.inspectors
    used = {bad.at[row, "inspector_1"], bad.at[row, "inspector_2"]}
    other = ins.loc[(ins["region"] == region) & ~ins["inspector_id"].isin(used), "inspector_id"]
    bad.at[row, "inspector_2"] = other.iloc[0]
    with pytest.raises(PlanMismatch) as err:
        verify(bad, scores, busy_register, policy, history=tables)
    assert other.iloc[0] in str(err.value)
    assert f"visit {row} differs" in str(err.value)


def test_verify_replaced_target(plan, scores, busy_register, policy, tables) -> None:
    bad = plan.copy()
    outside = sorted(set(scores["entity_id"]) - set(plan["entity_id"]))[0]
    bad.at[0, "entity_id"] = outside
    with pytest.raises(PlanMismatch) as err:
        verify(bad, scores, busy_register, policy, history=tables)
    assert outside in str(err.value)


def test_verify_changed_seed(plan, scores, busy_register, policy, tables) -> None:
    bad = plan.assign(seed=np.int64(SEED + 1))
    with pytest.raises(PlanMismatch) as err:
        verify(bad, scores, busy_register, policy, history=tables)
    assert str(SEED + 1) in str(err.value)
    assert "differs" in str(err.value)
    mixed = plan.copy()
    mixed.loc[0, "seed"] = SEED + 1
    with pytest.raises(PlanMismatch, match="seed"):
        verify(mixed, scores, busy_register, policy, history=tables)


def test_verify_changed_scores(plan, scores, busy_register, policy, tables) -> None:
    changed = scores.copy()
    changed.loc[changed.index[0], "probability"] = changed["probability"].iloc[0] + 1e-9
    with pytest.raises(PlanMismatch, match="inputs differ"):
        verify(plan, changed, busy_register, policy, history=tables)
    with pytest.raises(PlanMismatch, match="SHA-256"):
        verify(plan, scores, busy_register, policy)  # without the history it was drawn with


# -- results ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def picked(plan, tables) -> pd.DataFrame:
    """Three planned entities still registered and without a random inspection in the
    year after AS_OF (their label is undefined)."""
    spine = cr.spine(tables, AS_OF)
    y = cr.build_labels(tables, spine)
    undefined = set(spine.loc[y.isna().to_numpy(), "entity_id"])
    alive = set(tables.enterprises.loc[tables.enterprises["deregistered_on"].isna(), "entity_id"])
    rows = plan[plan["entity_id"].isin(undefined & alive)].head(3)
    assert len(rows) == 3
    return rows


@pytest.fixture(scope="module")
def results(picked) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entity_id": picked["entity_id"].to_numpy(),
            "visit": picked["visit"].to_numpy(),
            "inspected_on": ["2025-03-02", "2025-04-10", "2025-05-20"],
            "outcome": ["issues_found", "compliant", "not_found_at_address"],
            "published_on": ["2025-03-20", "2025-04-30", "2025-06-01"],
        }
    )


def test_results_to_inspections(plan, picked, results) -> None:
    new = results_to_inspections(plan, results)
    assert len(new) == 3
    assert (new["kind"].astype(str) == "random").all()
    assert list(new["entity_id"]) == list(picked["entity_id"])
    assert list(new["inspector_1"]) == list(picked["inspector_1"])
    assert list(new["inspector_2"]) == list(picked["inspector_2"])
    assert list(new["outcome"].astype(str)) == list(results["outcome"])
    assert new["inspection_id"].is_unique
    assert list(new["inspected_on"]) == list(pd.to_datetime(results["inspected_on"]))
    # one visit per entity: the visit column may be left out
    assert (picked["visit"] == 1).all()
    pd.testing.assert_frame_equal(results_to_inspections(plan, results.drop(columns="visit")), new)


def test_add_results_closes_the_loop(tables, plan, picked, results) -> None:
    grown = add_results(tables, plan, results)
    assert len(grown.inspections) == len(tables.inspections) + 3
    assert grown.validate() is grown
    assert len(tables.inspections) == len(cr.load_sample().inspections)  # input untouched
    spine = cr.spine(grown, AS_OF)
    y = cr.build_labels(grown, spine).set_axis(spine["entity_id"].to_numpy())
    old_spine = cr.spine(tables, AS_OF)
    before = cr.build_labels(tables, old_spine).set_axis(old_spine["entity_id"].to_numpy())
    ids = list(picked["entity_id"])
    assert before[ids].isna().all()
    # issues found and not found at the address are findings; compliant is not
    assert y[ids].tolist() == [1.0, 0.0, 1.0]
    others = spine["entity_id"][~spine["entity_id"].isin(ids)].to_numpy()
    pd.testing.assert_series_equal(y[others], before[others])
    with pytest.raises(ValueError, match="already"):
        add_results(grown, plan, results)


def test_results_for_an_entity_not_in_the_plan(tables, plan, results, scores) -> None:
    outside = sorted(set(scores["entity_id"]) - set(plan["entity_id"]))[0]
    bad = pd.concat([results, results.head(1).assign(entity_id=outside)], ignore_index=True)
    with pytest.raises(ValueError, match=outside):
        results_to_inspections(plan, bad)
    with pytest.raises(ValueError, match=outside):
        add_results(tables, plan, bad)
    wrong_visit = results.head(1).assign(visit=9)
    with pytest.raises(ValueError, match="not visits of the plan"):
        results_to_inspections(plan, wrong_visit)


def test_results_with_an_unknown_outcome(plan, results) -> None:
    bad = results.assign(outcome=["issues_found", "passed", "compliant"])
    with pytest.raises(ValueError, match="passed"):
        results_to_inspections(plan, bad)


def test_an_empty_plan_adds_no_results(tables) -> None:
    """A month whose plan drew no one: nothing to add, and the register stays valid."""
    plan = pd.DataFrame(
        {"entity_id": [], "visit": [], "inspector_1": [], "inspector_2": []}, dtype="str"
    )
    columns = ["entity_id", "visit", "inspected_on", "outcome", "published_on"]
    none = pd.DataFrame({c: [] for c in columns}, dtype="str")  # as read_results reads it
    assert results_to_inspections(plan, none).empty
    assert len(add_results(tables, plan, none).inspections) == len(tables.inspections)


def test_a_staffing_error_crosses_process_boundaries() -> None:
    """Pickled (as a worker process returns it), it keeps its shortages and message."""
    import pickle

    shortages = pd.DataFrame(
        [("no second inspector", "r1", "none", 3)],
        columns=["constraint", "region", "key_sector", "visits"],
    )
    error = pickle.loads(pickle.dumps(StaffingError(shortages)))
    pd.testing.assert_frame_equal(error.shortages, shortages)
    assert "3 visits short" in str(error)


# -- the synthetic world's conflicts ---------------------------------------------------
@pytest.mark.parametrize(("n", "seed"), [(300, 0), (40, 0), (5, 2)])
def test_world_conflicts_stay_in_the_region(n, seed) -> None:
    """Small worlds leave some regions without entities; a conflict must still pair an
    inspector with an entity of the inspector's own region."""
    w = cr.synth.generate(n, "2022-01-01", "2023-06-30", seed=seed)
    entity_region = w.tables.enterprises.set_index("entity_id")["region"].astype(str)
    inspector_region = w.inspectors.set_index("inspector_id")["region"].astype(str)
    c = w.conflicts
    assert len(c) > 0
    assert set(c["inspector_id"]) <= set(inspector_region.index)
    assert set(c["entity_id"]) <= set(entity_region.index)
    same = (
        c["entity_id"].map(entity_region).to_numpy()
        == c["inspector_id"].map(inspector_region).to_numpy()
    )
    assert same.all(), c.loc[~same].head()
    assert not c.duplicated(["inspector_id", "entity_id"]).any()


def test_world_history_avoids_its_declared_conflicts() -> None:
    """Conflicts come from their own random stream (the same for the same seed, whatever
    else the world draws), and the simulated inspections avoid them: more conflicts
    change who inspects (and, through the random stream, what follows), never who is
    registered or the inspectors."""
    few = cr.synth.generate(3_000, "2022-01-01", "2023-06-30", seed=4)
    many = cr.synth.generate(
        3_000,
        "2022-01-01",
        "2023-06-30",
        seed=4,
        params=cr.synth.WorldParams(conflicts_per_inspector=10.0),
    )
    # who is registered does not move; when they leave, and where (the address at the
    # end follows the simulated history), may
    moving = ("deregistered_on", "address_id")
    static = [c for c in few.tables.enterprises.columns if c not in moving]
    pd.testing.assert_frame_equal(few.tables.enterprises[static], many.tables.enterprises[static])
    pd.testing.assert_frame_equal(few.inspectors, many.inspectors)
    assert len(many.conflicts) > 2 * len(few.conflicts)
    again = cr.synth.generate(3_000, "2022-01-01", "2023-06-30", seed=4)
    pd.testing.assert_frame_equal(few.conflicts, again.conflicts)
    for world in (few, many):
        ins = world.tables.inspections
        pairs = set(zip(world.conflicts["inspector_id"], world.conflicts["entity_id"], strict=True))
        used = {(i, e) for e, i in zip(ins["entity_id"], ins["inspector_1"], strict=True)}
        used |= {(i, e) for e, i in zip(ins["entity_id"], ins["inspector_2"], strict=True)}
        assert not used & pairs
        # they bite: some conflicted entity was inspected all the same
        assert {e for _, e in pairs} & set(ins["entity_id"])
    # the conflicts load as a register
    assert len(InspectorRegister(many.inspectors, many.conflicts).conflicts) == len(many.conflicts)
