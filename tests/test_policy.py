"""Policies as data: the shipped TOML files, round trips, custom policies and the errors.

Every error test checks that the message names the setting at fault, so a bureau
editing its own TOML file knows what to fix.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.policy.rules import KEY_SECTOR_EXAMPLE, available_policies
from creditrisk.policy.tiers import assign_tiers


def national_dict() -> dict:
    return copy.deepcopy(cr.Policy.load("national").to_dict())


def error_of(data: dict) -> str:
    with pytest.raises(cr.PolicyError) as info:
        cr.Policy.from_dict(data)
    return str(info.value)


# -- the shipped policies --------------------------------------------------------------
def test_shipped_policies_are_listed() -> None:
    assert set(available_policies()) >= {"national", "daqing"}


def test_national_loads_with_the_documented_settings() -> None:
    p = cr.Policy.load("national")
    assert p.name == "national"
    assert p.tiers == ("A", "B", "C", "D")
    assert p.method == "shares"
    assert len(p.shares) == 4
    assert sum(p.shares) == pytest.approx(1.0, abs=1e-9)
    assert all(s > 0 for s in p.shares)
    assert p.shares[0] > p.shares[-1]  # most entities are low risk
    names = [r.name for r in p.overrides]
    assert names[0] == "serious_illegal_list"
    serious = p.overrides[0]
    assert (serious.feature, serious.op, serious.value) == ("on_serious_list", "==", 1)
    assert (serious.action, serious.target) == ("set", "D")
    assert set(p.inspection["ratios"]) == set(p.tiers)
    spec = p.feature_spec()
    assert spec.penalty_counting == "disclosed"
    assert spec.restored_penalties == "exclude"


def test_daqing_loads_with_fixed_cutoffs() -> None:
    p = cr.Policy.load("daqing")
    assert p.name == "daqing"
    assert p.method == "cutoffs"
    assert len(p.cutoffs) == len(p.tiers) - 1
    assert list(p.cutoffs) == sorted(p.cutoffs)
    assert all(0 < c < 1 for c in p.cutoffs)
    raise_rules = [r for r in p.overrides if r.action == "raise_by"]
    assert raise_rules and all(isinstance(r.target, int) and r.target >= 1 for r in raise_rules)


def test_worse_is_capped_at_the_worst_tier() -> None:
    p = cr.Policy.load("national")
    assert p.worse("A") == "B"
    assert p.worse("A", 2) == "C"
    assert p.worse("C", 1) == "D"
    assert p.worse("C", 5) == "D"
    assert p.worse("D", 1) == "D"
    assert p.tier_index("A") == 0
    assert p.tier_index("D") == 3


@pytest.mark.parametrize("name", ["national", "daqing"])
def test_to_dict_from_dict_roundtrip(name: str) -> None:
    p = cr.Policy.load(name)
    data = p.to_dict()
    q = cr.Policy.from_dict(data)
    assert q == p
    assert q.to_dict() == data
    # to_dict is a copy: editing it leaves the policy alone
    data["inspection"]["ratios"]["A"] = 0.99
    data["tiers"]["names"].append("E")
    assert p.inspection["ratios"]["A"] != 0.99
    assert p.tiers[-1] == "D"


def test_shipped_file_and_dict_agree(tmp_path: Path) -> None:
    """Loading the shipped file by name equals loading its exact text from a path."""
    from importlib import resources

    text = resources.files("creditrisk.policy").joinpath("daqing.toml").read_text("utf-8")
    path = tmp_path / "copy_of_daqing.toml"
    path.write_text(text, encoding="utf-8")
    assert cr.Policy.load(path) == cr.Policy.load("daqing")
    assert cr.Policy.load(str(path)) == cr.Policy.load("daqing")


# -- a bureau's own policy, written as TOML ----------------------------------------------
FIVE_TIERS_TOML = """
name = "five"
description = "A hand-written five-tier policy."

[tiers]
names = ["A", "B", "C", "D", "E"]
labels = ["lowest", "low", "middle", "high", "highest"]
method = "cutoffs"
cutoffs = [0.1, 0.2, 0.4, 0.7]

[[overrides]]
name = "serious"
feature = "on_serious_list"
op = "=="
value = 1
set = "E"
reason = "Serious list: {tier}"

[[overrides]]
name = "general_penalties"
feature = "penalties_general_1y"
op = ">="
value = 2
raise_by = 1
reason = "{value} general penalties: up to {tier}"

[[overrides]]
name = "food"
feature = "key_sector"
op = "in"
value = ["food", "drug"]
at_least = "B"
reason = "Key sector {value}: at least {tier}"

[[overrides]]
name = "clean_record"
feature = "times_listed"
op = "=="
value = 0
at_most = "D"
reason = "Never listed: at most {tier}"

[disclosure]
penalty_counting = "known"
restored_penalties = "include"

[inspection]
ratios = { A = 0.01, B = 0.02, C = 0.05, D = 0.1, E = 0.5 }
"""


def test_load_toml_path(tmp_path: Path) -> None:
    path = tmp_path / "five.toml"
    path.write_text(FIVE_TIERS_TOML, encoding="utf-8")
    p = cr.Policy.load(path)
    assert p.name == "five"
    assert p.tiers == ("A", "B", "C", "D", "E")
    assert p.labels == ("lowest", "low", "middle", "high", "highest")
    assert p.method == "cutoffs"
    assert p.cutoffs == (0.1, 0.2, 0.4, 0.7)
    assert [r.name for r in p.overrides] == [
        "serious",
        "general_penalties",
        "food",
        "clean_record",
    ]
    assert [r.action for r in p.overrides] == ["set", "raise_by", "at_least", "at_most"]
    assert p.overrides[2].value == ["food", "drug"]
    spec = p.feature_spec()
    assert (spec.penalty_counting, spec.restored_penalties) == ("known", "include")
    # the round trip holds for a hand-written policy too
    assert cr.Policy.from_dict(p.to_dict()) == p


def test_five_tier_policy_end_to_end_in_assign_tiers(tmp_path: Path) -> None:
    path = tmp_path / "five.toml"
    path.write_text(FIVE_TIERS_TOML, encoding="utf-8")
    p = cr.Policy.load(path)
    features = pd.DataFrame(
        {
            "on_serious_list": [0, 0, 0, 0, 0, 1, 0, 0, 0, 0],
            "penalties_general_1y": [0, 0, 0, 0, 0, 0, 2, 3, 0, 0],
            "key_sector": ["none"] * 8 + ["food", "none"],
            "times_listed": [1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
        }
    )
    probability = np.array([0.05, 0.1, 0.3, 0.5, 0.9, 0.05, 0.15, 0.9, 0.05, 0.95])
    # by hand: cut-offs 0.1 | 0.2 | 0.4 | 0.7, a probability equal to a cut-off goes up
    score = ["A", "B", "C", "D", "E", "A", "B", "E", "A", "E"]
    # overrides: row 5 serious -> E; row 6 B + 1 -> C; row 7 E + 1 capped -> E (unchanged);
    # row 8 food, A -> at least B; row 9 never listed, E -> at most D
    final = ["A", "B", "C", "D", "E", "E", "C", "E", "B", "D"]
    override = ["", "", "", "", "", "serious", "general_penalties", "", "food", "clean_record"]
    out = assign_tiers(probability, features, p, p.cutoffs)
    assert list(out.columns) == ["score_tier", "tier", "override", "override_reason"]
    assert out["score_tier"].astype(str).tolist() == score
    assert out["tier"].astype(str).tolist() == final
    assert out["override"].tolist() == override
    assert list(out["tier"].cat.categories) == ["A", "B", "C", "D", "E"]
    assert out["tier"].cat.ordered
    reasons = out["override_reason"].tolist()
    assert reasons[5] == "Serious list: E"
    assert reasons[6] == "2 general penalties: up to C"
    assert reasons[8] == "Key sector food: at least B"
    assert reasons[9] == "Never listed: at most D"
    assert all(r == "" for i, r in enumerate(reasons) if i not in (5, 6, 8, 9))


def test_five_tier_shares_policy_from_dict() -> None:
    d = national_dict()
    d["tiers"]["names"] = ["A", "B", "C", "D", "E"]
    d["tiers"]["shares"] = [0.4, 0.3, 0.15, 0.1, 0.05]
    d["tiers"]["labels"] = ["1", "2", "3", "4", "5"]
    d["inspection"]["ratios"]["E"] = 0.5
    p = cr.Policy.from_dict(d)
    assert p.tiers[-1] == "E"
    assert p.worse("D", 3) == "E"


# -- errors name the setting at fault --------------------------------------------------
def test_unknown_top_level_key() -> None:
    d = national_dict()
    d["colour"] = "red"
    message = error_of(d)
    assert "colour" in message
    assert "unknown setting" in message
    assert "national" in message


def test_unknown_tiers_key() -> None:
    d = national_dict()
    d["tiers"]["colour"] = "red"
    assert "tiers.colour" in error_of(d)


def test_shares_not_summing_to_one() -> None:
    d = national_dict()
    d["tiers"]["shares"] = [0.5, 0.3, 0.1, 0.05]  # 0.95
    message = error_of(d)
    assert "tiers.shares" in message
    assert "0.95" in message


def test_shares_of_the_wrong_count() -> None:
    d = national_dict()
    d["tiers"]["shares"] = [0.5, 0.5]
    assert "tiers.shares" in error_of(d)


@pytest.mark.parametrize("cutoffs", [[0.3, 0.2, 0.5], [0.2, 0.2, 0.5], [0.1, 0.5, 1.2]])
def test_cutoffs_not_increasing_or_outside_zero_one(cutoffs: list[float]) -> None:
    d = national_dict()
    d["tiers"]["method"] = "cutoffs"
    d["tiers"]["cutoffs"] = cutoffs
    assert "tiers.cutoffs" in error_of(d)


def test_unknown_method() -> None:
    d = national_dict()
    d["tiers"]["method"] = "quantiles"
    assert "tiers.method" in error_of(d)


def test_override_with_unknown_feature() -> None:
    d = national_dict()
    d["overrides"][1]["feature"] = "shoe_size"
    message = error_of(d)
    assert "shoe_size" in message
    assert "abnormal_list" in message  # the rule at fault
    assert "unknown feature" in message


def test_override_with_two_actions() -> None:
    d = national_dict()
    d["overrides"][0]["at_least"] = "C"  # besides set = "D"
    message = error_of(d)
    assert "serious_illegal_list" in message
    assert "exactly one" in message
    assert "set" in message and "at_least" in message


def test_override_with_no_action() -> None:
    d = national_dict()
    del d["overrides"][0]["set"]
    assert "exactly one" in error_of(d)


def test_override_naming_an_unknown_tier() -> None:
    d = national_dict()
    d["overrides"].append(copy.deepcopy(KEY_SECTOR_EXAMPLE))
    d["overrides"][2]["at_least"] = "Z"
    message = error_of(d)
    assert "'Z'" in message
    assert "key_sector" in message
    assert "unknown tier" in message


def test_override_with_unknown_op_or_setting() -> None:
    d = national_dict()
    d["overrides"][0]["op"] = "~="
    assert "~=" in error_of(d)
    d = national_dict()
    d["overrides"][0]["colour"] = "red"
    assert "colour" in error_of(d)


def test_raise_by_needs_a_positive_integer() -> None:
    d = national_dict()
    rule = d["overrides"][0]
    del rule["set"]
    rule["raise_by"] = 0
    message = error_of(d)
    assert "raise_by" in message
    assert "serious_illegal_list" in message


def test_in_needs_a_list() -> None:
    d = national_dict()
    d["overrides"].append(copy.deepcopy(KEY_SECTOR_EXAMPLE))
    d["overrides"][2]["op"] = "in"
    d["overrides"][2]["value"] = "food"
    assert "needs a list" in error_of(d)


def test_inspection_ratio_for_an_unknown_tier() -> None:
    d = national_dict()
    d["inspection"]["ratios"]["Z"] = 0.5
    message = error_of(d)
    assert "inspection.ratios" in message
    assert "'Z'" in message


def test_bad_disclosure_setting() -> None:
    d = national_dict()
    d["disclosure"]["penalty_counting"] = "sometimes"
    assert "disclosure.penalty_counting" in error_of(d)


@pytest.mark.parametrize(
    ("section", "key", "value", "named"),
    [
        ("disclosure", "lower_amount_fine", -1, "disclosure.lower_amount_fine"),
        ("disclosure", "disclosure_months", 0, "disclosure.disclosure_months"),
        ("restoration", "wait_months", "six", "restoration.wait_months"),
        ("restoration", "key_sectors", ["food", "toys"], "'toys'"),
        ("restoration", "never_after", ["suspension", "scolding"], "'scolding'"),
        ("inspection", "random_floor", 0.0, "no entity is exempt"),
        ("inspection", "baseline_ratio", 1.5, "inspection.baseline_ratio"),
    ],
)
def test_bad_disclosure_restoration_and_inspection_settings(section, key, value, named) -> None:
    d = national_dict()
    d[section][key] = value
    assert named in error_of(d)


@pytest.mark.parametrize("name", ["national", "daqing"])
def test_shipped_policies_carry_domain_restoration_and_disclosure_numbers(name: str) -> None:
    """Issue 21, points 1-5: the numbers recourse and the features read."""
    p = cr.Policy.load(name)
    assert p.restoration["wait_months"] == 6
    assert p.restoration["wait_months_key_sector"] == 12
    assert p.restoration["key_sectors"] == ["food", "drug", "special_equipment"]
    assert set(p.restoration["never_after"]) == {
        "suspension",
        "trade_ban",
        "qualification_downgrade",
        "license_revocation",
    }
    assert p.restoration["serious_list_min_months"] == 12
    spec = p.feature_spec()
    assert spec.disclosure.lower_amount_fine == p.disclosure["lower_amount_fine"] == 100_000
    assert (spec.disclosure.short_disclosure_months, spec.disclosure.disclosure_months) == (3, 36)
    assert p.inspection["baseline_ratio"] == 0.03
    assert p.inspection["random_floor"] > 0
    assert all(v == 0 for v in p.inspection["min_inspections"].values())  # ratios rule
    assert "marked abnormal" in next(r.reason for r in p.overrides if r.name == "abnormal_list")


def test_feature_spec_reads_the_disclosure_settings() -> None:
    """Issue 21, point 5: a province's lower-amount line reaches the features."""
    d = national_dict()
    d["disclosure"]["lower_amount_fine"] = 50_000
    d["disclosure"]["short_disclosure_months"] = 2
    spec = cr.Policy.from_dict(d).feature_spec()
    assert spec.disclosure.lower_amount_fine == 50_000
    assert spec.disclosure.short_disclosure_months == 2
    assert cr.Policy.from_dict(d).disclosure_problems(cr.load_sample()) != []


def test_unknown_shipped_name() -> None:
    with pytest.raises(cr.PolicyError) as info:
        cr.Policy.load("atlantis")
    message = str(info.value)
    assert "atlantis" in message
    assert "national" in message and "daqing" in message  # what exists instead


def test_invalid_toml_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken"\n[tiers\n', encoding="utf-8")
    with pytest.raises(cr.PolicyError) as info:
        cr.Policy.load(path)
    assert "broken.toml" in str(info.value)
    assert "TOML" in str(info.value)


def test_policy_error_is_a_value_error() -> None:
    assert issubclass(cr.PolicyError, ValueError)
