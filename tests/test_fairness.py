"""Fairness and selection checks (creditrisk.report.fairness) and the ``targeted_finding`` label.

Expectations are computed here, independently: outcomes straight from the inspections
table with pandas, group rates and ratios with groupby, Wilson intervals from their
closed form, and flags from hand-built groups whose findings are far from (or exactly
at) the rates their tiers imply.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _groups import constructed
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

import creditrisk as cr
from creditrisk import EventTables, fairness
from creditrisk.data.schema import TABLE_NAMES, empty_table

AS_OF = pd.Timestamp("2023-07-01")
LAST = pd.Timestamp("2025-12-31")
HORIZON = 365
FINDINGS = ("issues_found", "not_found_at_address")
TIERS = ["A", "B", "C", "D"]


# -- shared objects ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tables, model) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of the sample at AS_OF (with features and group attributes) and outcomes."""
    scores = cr.scoring.score_chunk(tables, model, AS_OF, top_k=0)
    return scores, fairness.outcomes(tables, scores)


def direct_outcome(tables: EventTables, spine: pd.DataFrame, kinds) -> pd.Series:
    """The finding label over inspections of ``kinds``, computed with plain pandas."""
    ins = tables.inspections
    out = []
    for entity, as_of in zip(spine["entity_id"], pd.to_datetime(spine["as_of"]), strict=True):
        end = as_of + pd.Timedelta(days=HORIZON)
        mine = ins[
            (ins["entity_id"] == entity)
            & (ins["inspected_on"] >= as_of)
            & (ins["inspected_on"] < end)
            & (ins["published_on"] < end)
            & ins["kind"].astype(str).isin(kinds)
        ]
        out.append(
            np.nan if mine.empty else float(mine["outcome"].astype(str).isin(FINDINGS).any())
        )
    return pd.Series(out, index=spine.index)


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval, closed form."""
    z = norm.ppf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def close(a, b, tol: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(float(a), float(b), rel_tol=tol, abs_tol=tol)


# -- a hand-built register for the targeted label --------------------------------------------
def day(offset: int) -> pd.Timestamp:
    return AS_OF + pd.Timedelta(days=offset)


def insp(entity: str, on: int, kind: str, outcome: str, published: int | None = None) -> dict:
    return {
        "entity_id": entity,
        "inspected_on": day(on),
        "kind": kind,
        "outcome": outcome,
        "inspector_1": "IN1",
        "inspector_2": None,
        "published_on": day(on + 5 if published is None else published),
    }


#: entity -> (its inspections, expected random_finding, expected targeted_finding)
HAND_BUILT = {
    "E1": (
        [insp("E1", 10, "random", "compliant"), insp("E1", 20, "targeted", "issues_found")],
        0.0,
        1.0,
    ),
    "E2": ([insp("E2", 30, "complaint", "compliant")], np.nan, 0.0),
    "E3": ([insp("E3", 40, "random", "issues_found")], 1.0, np.nan),
    "E4": (
        [
            insp("E4", 50, "joint", "not_found_at_address"),
            insp("E4", 60, "complaint", "compliant"),
        ],
        np.nan,
        1.0,
    ),
    # a targeted finding inside the window but published after it does not count
    "E5": (
        [
            insp("E5", 300, "targeted", "issues_found", published=400),
            insp("E5", 70, "random", "compliant"),
        ],
        0.0,
        np.nan,
    ),
    # a random finding never counts as targeted; a targeted one before as_of is outside
    "E6": (
        [
            insp("E6", 80, "random", "issues_found"),
            insp("E6", -10, "targeted", "issues_found", published=-5),
        ],
        1.0,
        np.nan,
    ),
    "E7": ([], np.nan, np.nan),
}


def hand_built_tables() -> EventTables:
    ids = [*HAND_BUILT, "LATE"]
    ent = pd.DataFrame(
        {
            "entity_id": ids,
            "entity_type": "company",
            "industry": "retail",
            "key_sector": "none",
            "region": "north",
            "registered_capital": 1e6,
            "registered_on": ["2015-03-02"] * len(HAND_BUILT) + [str(LAST.date())],
            "deregistered_on": None,
        }
    )
    rows = [r for case in HAND_BUILT.values() for r in case[0]]
    inspections = pd.DataFrame(rows)
    inspections.insert(0, "inspection_id", [f"CHK{i}" for i in range(len(rows))])
    frames = {t: empty_table(t) for t in TABLE_NAMES}
    frames["enterprises"] = ent
    frames["inspections"] = inspections
    return EventTables(**frames)


def test_targeted_finding_on_hand_built_tables() -> None:
    tables = hand_built_tables()
    spine = cr.spine(tables, AS_OF)
    assert spine["entity_id"].tolist() == list(HAND_BUILT)
    # a scores frame with a shuffled, non-default index: outcomes must follow it
    scores = spine.iloc[::-1].set_index(pd.Index([f"r{i}" for i in range(len(spine))]))
    got = fairness.outcomes(tables, scores)
    assert list(got.columns) == ["random_finding", "targeted_finding"]
    assert got.index.equals(scores.index)
    for key, entity in zip(scores.index, scores["entity_id"], strict=True):
        _, random, targeted = HAND_BUILT[entity]
        assert close(got.at[key, "random_finding"], random), entity
        assert close(got.at[key, "targeted_finding"], targeted), entity
    label = cr.build_labels(tables, spine, outcome="targeted_finding")
    assert label.name == "targeted_finding"
    expected = [HAND_BUILT[e][2] for e in spine["entity_id"]]
    assert all(close(a, b) for a, b in zip(label.tolist(), expected, strict=True))


def test_targeted_finding_counts_only_chosen_inspections_on_the_sample(tables) -> None:
    # entities with an inspection of any kind in the window, plus some without
    spine = cr.spine(tables, AS_OF)
    end = AS_OF + pd.Timedelta(days=HORIZON)
    ins = tables.inspections
    window = ins[(ins["inspected_on"] >= AS_OF) & (ins["inspected_on"] < end)]
    busy = set(window["entity_id"])
    chosen = spine[spine["entity_id"].isin(busy)].head(400)
    chosen = pd.concat([chosen, spine[~spine["entity_id"].isin(busy)].head(50)])
    targeted = cr.build_labels(tables, chosen, outcome="targeted_finding")
    random = cr.build_labels(tables, chosen, outcome="inspection_finding")
    want_targeted = direct_outcome(tables, chosen, ("targeted", "complaint", "joint"))
    want_random = direct_outcome(tables, chosen, ("random",))
    pd.testing.assert_series_equal(targeted, want_targeted, check_names=False)
    pd.testing.assert_series_equal(random, want_random, check_names=False)
    # the sample has entities with only targeted inspections and with only random ones
    assert (targeted.notna() & random.isna()).any()
    assert (targeted.isna() & random.notna()).any()
    assert targeted.eq(1).any() and targeted.eq(0).any()


def test_outcomes_agree_with_build_labels(tables, scored) -> None:
    scores, found = scored
    keys = scores[["entity_id", "as_of"]]
    for column, outcome in (
        ("random_finding", "inspection_finding"),
        ("targeted_finding", "targeted_finding"),
    ):
        want = cr.build_labels(tables, keys, outcome=outcome, horizon="365D")
        np.testing.assert_array_equal(found[column].to_numpy(), want.to_numpy())
    assert found.index.equals(scores.index)
    assert found["random_finding"].notna().sum() > 100
    assert found["targeted_finding"].notna().sum() > 50


def test_outcomes_refuse_a_window_past_the_data(tables) -> None:
    late = cr.spine(tables, "2025-07-01")
    with pytest.raises(ValueError, match="ends after what its source is known to"):
        fairness.outcomes(tables, late)


def test_with_groups_adds_the_missing_attributes(tables) -> None:
    ent = tables.enterprises
    picked = ent["entity_id"].iloc[[5, 1, 900, 42]].reset_index(drop=True)
    scores = pd.DataFrame({"entity_id": picked, "tier": ["A", "B", "C", "D"]})
    out = fairness.with_groups(scores, tables)
    assert list(out.columns) == ["entity_id", "tier", *fairness.GROUPS]
    by_id = ent.set_index("entity_id")
    for g in fairness.GROUPS:
        assert out[g].astype(str).tolist() == by_id.loc[picked, g].astype(str).tolist()
    assert "region" not in scores.columns  # the input is not changed
    # a column already present is kept as it is
    given_region = scores.assign(region="mine")
    assert fairness.with_groups(given_region, tables)["region"].eq("mine").all()


# -- group_table on the sample ---------------------------------------------------------------
@pytest.mark.parametrize("by", fairness.GROUPS)
def test_group_table_matches_a_direct_computation(scored, by) -> None:
    scores, found = scored
    table = fairness.group_table(scores, found, by)
    assert table["entities"].sum() == len(scores)
    assert table["group"].eq(by).all()
    assert close(table["population_share"].sum(), 1.0)

    tier = scores["tier"].astype(str)
    high = tier.isin(["C", "D"])  # the upper half of A-D by default
    random = found["random_finding"]
    targeted = found["targeted_finding"]
    pop_high, pop_p = high.mean(), scores["probability"].mean()
    pop_random, pop_targeted = random.mean(), targeted.mean()  # NaN skipped
    tier_rate = random.groupby(tier).mean()
    values = scores[by].astype(str)
    assert sorted(table["value"]) == sorted(values.unique())
    for row in table.itertuples(index=False):
        g = values == row.value
        n = int(g.sum())
        assert row.entities == n
        assert close(row.population_share, n / len(scores))
        assert close(row.high_tier_share, high[g].mean())
        assert close(row.high_tier_ratio, high[g].mean() / pop_high)
        for t in TIERS:
            assert close(getattr(row, f"tier_{t}"), (tier[g] == t).mean())
        assert close(row.mean_probability, scores.loc[g, "probability"].mean())
        assert close(row.probability_ratio, scores.loc[g, "probability"].mean() / pop_p)
        r = random[g].dropna()
        assert row.random_inspected == len(r)
        if len(r):
            assert close(row.random_finding_rate, r.mean())
            assert close(row.random_ratio, r.mean() / pop_random)
            low, top = wilson(int(r.sum()), len(r))
            assert close(row.random_low, low, 1e-7) and close(row.random_high, top, 1e-7)
            assert row.random_low <= row.random_finding_rate <= row.random_high
            implied = tier[g & random.notna()].map(tier_rate).mean()
            assert close(row.implied_rate, implied)
            assert close(row.observed_to_implied, r.mean() / implied)
        else:
            assert math.isnan(row.random_finding_rate) and math.isnan(row.random_low)
        tg = targeted[g].dropna()
        assert row.targeted_inspected == len(tg)
        if len(tg):
            assert close(row.targeted_finding_rate, tg.mean())
            assert close(row.targeted_ratio, tg.mean() / pop_targeted)


def test_group_table_default_high_tiers_are_the_upper_half(scored) -> None:
    scores, found = scored
    default = fairness.group_table(scores, found, "region")
    explicit = fairness.group_table(scores, found, "region", high_tiers=["C", "D"])
    pd.testing.assert_frame_equal(default, explicit)
    only_d = fairness.group_table(scores, found, "region", high_tiers=["D"])
    d = scores["tier"].astype(str).eq("D")
    for row in only_d.itertuples(index=False):
        g = scores["region"].astype(str) == row.value
        assert close(row.high_tier_share, d[g].mean())


def test_audit_stacks_the_group_tables(scored) -> None:
    scores, found = scored
    table = fairness.audit(scores, found, tolerance=1.5)
    assert table["group"].unique().tolist() == list(fairness.GROUPS)
    for g in fairness.GROUPS:
        part = table[table["group"] == g].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            part, fairness.group_table(scores, found, g, tolerance=1.5), check_dtype=False
        )
        assert part["entities"].sum() == len(scores)


def test_group_table_needs_the_column(scored) -> None:
    scores, found = scored
    with pytest.raises(KeyError, match="no_such_attribute"):
        fairness.group_table(scores, found, "no_such_attribute")


# -- flags on constructed groups --------------------------------------------------------------
def flags(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["value"], table["flag"], strict=True))


def test_harsh_and_lenient_groups_are_flagged() -> None:
    # both groups hold 100 tier-D entities; D's rate is (10 + 90) / 200 = 0.5.
    # x: all D, 10% found -> far below the 50% its tiers imply: over-tiered.
    # y: 100 D (90 found) and 100 A (0 found) -> implies 25%, finds 45%: under-tiered.
    scores, found = constructed({"x": [("D", 100, 10)], "y": [("D", 100, 90), ("A", 100, 0)]})
    table = fairness.group_table(scores, found, "region")
    assert flags(table) == {"x": "over-tiered", "y": "under-tiered"}
    x = table.set_index("value").loc["x"]
    y = table.set_index("value").loc["y"]
    assert close(x["implied_rate"], 0.5) and close(x["random_finding_rate"], 0.1)
    assert close(y["implied_rate"], 0.25) and close(y["random_finding_rate"], 0.45)
    # the flag rule as documented, on the numbers of the table
    assert x["random_high"] * 1.2 < x["implied_rate"]
    assert y["random_low"] / 1.2 > y["implied_rate"]
    # a tolerance wide enough forgives both
    assert set(fairness.group_table(scores, found, "region", tolerance=10)["flag"]) == {""}


def test_a_group_with_too_few_inspections_is_not_flagged() -> None:
    # z is as harsh as x above, but with 20 random inspections only (min_inspections=30)
    scores, found = constructed(
        {
            "x": [("D", 100, 10)],
            "y": [("D", 100, 90), ("A", 100, 0)],
            "z": [("D", 20, 0)],
        }
    )
    table = fairness.group_table(scores, found, "region", min_inspections=30)
    z = table.set_index("value").loc["z"]
    assert z["random_inspected"] == 20
    assert z["random_high"] * 1.2 < z["implied_rate"]  # it would be flagged on the numbers
    assert flags(table)["z"] == ""
    assert flags(table)["x"] == "over-tiered"
    # with a lower minimum the same group is flagged
    assert flags(fairness.group_table(scores, found, "region", min_inspections=20))["z"] == (
        "over-tiered"
    )


def test_a_calibrated_group_is_not_flagged() -> None:
    scores, found = constructed({"x": [("D", 100, 50)], "y": [("D", 100, 50), ("A", 100, 5)]})
    table = fairness.group_table(scores, found, "region")
    assert set(table["flag"]) == {""}
    assert np.allclose(table["observed_to_implied"], 1.0)


# -- selection_table ----------------------------------------------------------------------
def test_selection_table_all_row_is_the_population(scored) -> None:
    scores, found = scored
    table = fairness.selection_table(scores, found)
    assert table["tier"].tolist() == [*TIERS, "all"]
    everyone = table.set_index("tier").loc["all"]
    assert everyone["entities"] == len(scores)
    for kind in ("random", "targeted"):
        y = found[f"{kind}_finding"].dropna()
        assert everyone[f"{kind}_inspected"] == len(y)
        assert close(everyone[f"{kind}_coverage"], len(y) / len(scores))
        assert close(everyone[f"{kind}_finding_rate"], y.mean())
        low, top = wilson(int(y.sum()), len(y))
        assert close(everyone[f"{kind}_low"], low, 1e-7)
        assert close(everyone[f"{kind}_high"], top, 1e-7)
    per_tier = table[table["tier"] != "all"].set_index("tier")
    tier = scores["tier"].astype(str)
    for t in TIERS:
        assert per_tier.loc[t, "entities"] == (tier == t).sum()
        r = found.loc[tier == t, "random_finding"].dropna()
        assert per_tier.loc[t, "random_inspected"] == len(r)
        if len(r):
            assert close(per_tier.loc[t, "random_finding_rate"], r.mean())
    assert per_tier["entities"].sum() == everyone["entities"]
    assert per_tier["random_inspected"].sum() == everyone["random_inspected"]
    assert per_tier["targeted_inspected"].sum() == everyone["targeted_inspected"]


# -- properties -------------------------------------------------------------------------------
@st.composite
def calibrated_frames(draw):
    """Groups whose random findings equal, cell by cell, the rate of their tier."""
    tiers = draw(st.lists(st.sampled_from(TIERS), min_size=1, max_size=4, unique=True))
    rate = {}
    for t in tiers:
        d = draw(st.integers(1, 5))
        rate[t] = (draw(st.integers(0, d)), d)
    groups = draw(
        st.lists(st.sampled_from(["g1", "g2", "g3", "g4"]), min_size=1, max_size=4, unique=True)
    )
    tier, region, y, targeted = [], [], [], []
    for g in groups:
        for t in tiers:
            c = draw(st.integers(0, 6))
            k, d = rate[t]
            inspected = [1.0] * (c * k) + [0.0] * (c * (d - k))
            missing = draw(st.integers(0, 3))  # entities without a random inspection
            cell = [*inspected, *([np.nan] * missing)]
            tier += [t] * len(cell)
            region += [g] * len(cell)
            y += cell
            targeted += draw(
                st.lists(
                    st.sampled_from([np.nan, 0.0, 1.0]), min_size=len(cell), max_size=len(cell)
                )
            )
    if not tier:  # at least one entity
        tier, region, y, targeted = [tiers[0]], [groups[0]], [np.nan], [np.nan]
    scores = pd.DataFrame(
        {
            "tier": pd.Categorical(tier, categories=TIERS),
            "probability": np.linspace(0.01, 0.99, len(tier)),
            "region": region,
        }
    )
    found = pd.DataFrame({"random_finding": y, "targeted_finding": targeted})
    return scores, found


@given(
    frame=calibrated_frames(),
    tolerance=st.sampled_from([1.0, 1.2, 2.0]),
    min_inspections=st.integers(0, 5),
)
def test_no_flag_when_findings_equal_the_implied_rates(frame, tolerance, min_inspections):
    scores, found = frame
    table = fairness.group_table(
        scores, found, "region", tolerance=tolerance, min_inspections=min_inspections
    )
    assert table["flag"].eq("").all(), table[["value", "random_finding_rate", "implied_rate"]]
    assert table["entities"].sum() == len(scores)
    inspected = table[table["random_inspected"] > 0]
    assert np.allclose(inspected["random_finding_rate"], inspected["implied_rate"])
    assert (inspected["random_low"] <= inspected["random_finding_rate"] + 1e-12).all()
    assert (inspected["random_finding_rate"] <= inspected["random_high"] + 1e-12).all()

    selection = fairness.selection_table(scores, found)
    for kind in ("random", "targeted"):
        coverage = selection[f"{kind}_coverage"].dropna()
        assert ((coverage >= 0) & (coverage <= 1)).all()
        everyone = selection.iloc[-1]
        assert everyone[f"{kind}_inspected"] == found[f"{kind}_finding"].notna().sum()
    assert selection.iloc[-1]["entities"] == len(scores)
