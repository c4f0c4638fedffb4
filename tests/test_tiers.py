"""Tiers from probabilities: fitted cut-offs, the boundary rule, and the override rules.

Expected tiers are worked out by hand from the documented rules: a probability at or
above a cut-off goes to the higher tier; rules apply in file order, each on the tier
the previous ones left; a rule is reported only when it changed the tier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.policy.rules import KEY_SECTOR_EXAMPLE
from creditrisk.policy.tiers import (
    assign_tiers,
    fit_cutoffs,
    override_mask,
    score_tiers,
    tier_dtype,
)

TIERS = {"names": ["A", "B", "C", "D"], "method": "cutoffs", "cutoffs": [0.1, 0.3, 0.6]}
CUTOFFS = (0.1, 0.3, 0.6)


def policy(*rules: dict, tiers: dict | None = None) -> cr.Policy:
    return cr.Policy.from_dict({"name": "test", "tiers": tiers or TIERS, "overrides": list(rules)})


def rule(name: str, feature: str, op: str, value, action: str, target, reason=None) -> dict:
    out = {"name": name, "feature": feature, "op": op, "value": value, action: target}
    if reason is not None:
        out["reason"] = reason
    return out


def tiers_of(frame: pd.DataFrame, column: str = "tier") -> list[str]:
    return frame[column].astype(str).tolist()


# -- cut-offs --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shares", [(0.654, 0.253, 0.077, 0.016), (0.25, 0.25, 0.25, 0.25), (0.5, 0.2, 0.15, 0.1, 0.05)]
)
def test_fit_cutoffs_gives_the_target_shares(shares) -> None:
    p = np.random.default_rng(11).random(200_000)
    cutoffs = fit_cutoffs(p, shares)
    assert len(cutoffs) == len(shares) - 1
    assert list(cutoffs) == sorted(cutoffs)
    tiers = score_tiers(p, cutoffs)
    observed = np.bincount(tiers, minlength=len(shares)) / len(p)
    np.testing.assert_allclose(observed, shares, atol=0.01)
    # on a uniform sample the cut-offs are the cumulative shares themselves
    np.testing.assert_allclose(cutoffs, np.cumsum(shares)[:-1], atol=0.01)


def test_fit_cutoffs_ignores_nan_and_refuses_empty() -> None:
    p = np.concatenate([np.linspace(0, 1, 101), [np.nan] * 50])
    assert fit_cutoffs(p, [0.5, 0.5]) == pytest.approx((0.5,))
    with pytest.raises(ValueError):
        fit_cutoffs(np.array([np.nan, np.nan]), [0.5, 0.5])


def test_fit_cutoffs_keeps_order_with_ties() -> None:
    p = np.array([0.2] * 90 + [0.9] * 10)
    cutoffs = fit_cutoffs(p, [0.3, 0.3, 0.3, 0.1])
    assert list(cutoffs) == sorted(cutoffs)
    # by hand: quantiles 0.3, 0.6, 0.9 of 100 values, rounded up to a sample, are the
    # 31st, 61st and 91st smallest: 0.2, 0.2 and 0.9
    assert cutoffs == (0.2, 0.2, 0.9)


def test_score_tiers_boundary_goes_to_the_higher_tier() -> None:
    p = np.array([0.0, 0.0999999, 0.1, 0.2999999, 0.3, 0.5999999, 0.6, 1.0])
    assert score_tiers(p, CUTOFFS).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    out = assign_tiers(p, pd.DataFrame(index=range(len(p))), policy(), CUTOFFS)
    assert tiers_of(out, "score_tier") == ["A", "A", "B", "B", "C", "C", "D", "D"]
    assert tiers_of(out) == tiers_of(out, "score_tier")


def test_fitted_cutoff_itself_goes_to_the_higher_tier() -> None:
    p = np.linspace(0, 1, 101)
    (cut,) = fit_cutoffs(p, [0.5, 0.5])
    assert score_tiers(np.array([cut]), (cut,)).tolist() == [1]
    assert score_tiers(np.array([np.nextafter(cut, 0)]), (cut,)).tolist() == [0]


def test_assign_tiers_checks_lengths_and_features() -> None:
    p = policy(rule("r", "on_abnormal_list", "==", 1, "set", "D"))
    with pytest.raises(ValueError, match="cut-offs"):
        assign_tiers(np.array([0.1]), pd.DataFrame({"on_abnormal_list": [0]}), p, (0.1, 0.2))
    with pytest.raises(ValueError, match="probabilities"):
        assign_tiers(np.array([0.1, 0.2]), pd.DataFrame({"on_abnormal_list": [0]}), p, CUTOFFS)
    with pytest.raises(ValueError, match="on_abnormal_list"):
        assign_tiers(np.array([0.1]), pd.DataFrame({"on_serious_list": [0]}), p, CUTOFFS)


def test_tier_columns_are_ordered_categoricals_and_keep_the_index() -> None:
    p = policy()
    features = pd.DataFrame({"x": [1, 2, 3]}, index=[10, 20, 30])
    out = assign_tiers(np.array([0.05, 0.5, 0.9]), features, p, CUTOFFS)
    assert out.index.tolist() == [10, 20, 30]
    assert out["tier"].dtype == tier_dtype(p)
    assert out["score_tier"].dtype == tier_dtype(p)
    assert out["tier"].cat.ordered
    assert (out["override"] == "").all() and (out["override_reason"] == "").all()


# -- override actions ------------------------------------------------------------------
# score tiers A, B, C, D for probabilities 0.05, 0.2, 0.4, 0.8
P4 = np.array([0.05, 0.2, 0.4, 0.8])
FLAGS = pd.DataFrame({"on_abnormal_list": [1, 1, 1, 1]})


@pytest.mark.parametrize(
    ("action", "target", "expected"),
    [
        ("set", "B", ["B", "B", "B", "B"]),
        ("set", "D", ["D", "D", "D", "D"]),
        ("at_least", "C", ["C", "C", "C", "D"]),
        ("at_least", "A", ["A", "B", "C", "D"]),
        ("at_most", "B", ["A", "B", "B", "B"]),
        ("at_most", "D", ["A", "B", "C", "D"]),
        ("raise_by", 1, ["B", "C", "D", "D"]),
        ("raise_by", 2, ["C", "D", "D", "D"]),
        ("raise_by", 7, ["D", "D", "D", "D"]),
    ],
)
def test_override_actions(action: str, target, expected: list[str]) -> None:
    p = policy(rule("r", "on_abnormal_list", "==", 1, action, target))
    out = assign_tiers(P4, FLAGS, p, CUTOFFS)
    assert tiers_of(out, "score_tier") == ["A", "B", "C", "D"]
    assert tiers_of(out) == expected
    # reported exactly where the tier moved
    moved = [e != s for e, s in zip(expected, "ABCD", strict=True)]
    assert out["override"].tolist() == ["r" if m else "" for m in moved]
    assert [bool(r) for r in out["override_reason"]] == moved


def test_rule_only_applies_where_it_matches() -> None:
    p = policy(rule("r", "on_abnormal_list", "==", 1, "set", "D"))
    features = pd.DataFrame({"on_abnormal_list": [0, 1, 0, 1]})
    out = assign_tiers(P4, features, p, CUTOFFS)
    assert tiers_of(out) == ["A", "D", "C", "D"]
    # row 3 matched but was already D: not reported
    assert out["override"].tolist() == ["", "r", "", ""]


def test_override_order_matters() -> None:
    set_b = rule("to_b", "on_abnormal_list", "==", 1, "set", "B", "set {tier}")
    up_one = rule("up", "on_abnormal_list", "==", 1, "raise_by", 1, "up to {tier}")
    features = pd.DataFrame({"on_abnormal_list": [1]})
    p_d = np.array([0.9])  # score tier D
    # set first: D -> B, then B -> C; both changed the tier
    first = assign_tiers(p_d, features, policy(set_b, up_one), CUTOFFS).iloc[0]
    assert first["tier"] == "C"
    assert first["override"] == "to_b; up"
    assert first["override_reason"] == "set B; up to C"
    # raise first: D stays D (capped, not reported), then set -> B
    second = assign_tiers(p_d, features, policy(up_one, set_b), CUTOFFS).iloc[0]
    assert second["tier"] == "B"
    assert second["override"] == "to_b"
    assert second["override_reason"] == "set B"


def test_at_least_then_at_most_in_both_orders() -> None:
    low = rule("floor", "penalties_general_1y", ">=", 1, "at_least", "C")
    high = rule("ceiling", "times_listed", "==", 0, "at_most", "B")
    features = pd.DataFrame({"penalties_general_1y": [2], "times_listed": [0]})
    p_a = np.array([0.01])  # score tier A
    # floor first: A -> C, then ceiling: C -> B
    assert tiers_of(assign_tiers(p_a, features, policy(low, high), CUTOFFS)) == ["B"]
    # ceiling first: A stays A (not reported), then floor: A -> C
    out = assign_tiers(p_a, features, policy(high, low), CUTOFFS)
    assert tiers_of(out) == ["C"]
    assert out["override"].tolist() == ["floor"]


def test_two_rules_changing_the_tier_are_joined() -> None:
    p = policy(
        rule("first", "on_abnormal_list", "==", 1, "at_least", "B", "first to {tier}"),
        rule("second", "penalties_general_1y", ">", 0, "raise_by", 1, "second to {tier}"),
        rule("third", "on_serious_list", "==", 1, "at_least", "A", "never shown"),
    )
    features = pd.DataFrame(
        {
            "on_abnormal_list": [1, 1, 0],
            "penalties_general_1y": [3, 0, 3],
            "on_serious_list": [1, 1, 1],
        }
    )
    out = assign_tiers(np.array([0.01, 0.01, 0.01]), features, p, CUTOFFS)
    assert tiers_of(out) == ["C", "B", "B"]
    assert out["override"].tolist() == ["first; second", "first", "second"]
    assert out["override_reason"].tolist() == [
        "first to B; second to C",
        "first to B",
        "second to B",
    ]


# -- matching --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("op", "value"),
    [("!=", 1), ("<", 5), ("<=", 5), (">", -1), (">=", 0), ("not in", [1, 2]), ("==", 0)],
)
def test_nan_numeric_values_never_match(op: str, value) -> None:
    p = policy(rule("r", "penalties_general_1y", op, value, "set", "D"))
    features = pd.DataFrame({"penalties_general_1y": [np.nan, 0.0, np.nan]})
    out = assign_tiers(np.array([0.01, 0.01, 0.01]), features, p, CUTOFFS)
    assert tiers_of(out)[0] == "A" and tiers_of(out)[2] == "A"
    assert tiers_of(out)[1] == "D"  # 0 does match every one of these conditions
    assert out["override"].tolist() == ["", "r", ""]


@pytest.mark.parametrize("dtype", ["category", "str", "object"])
@pytest.mark.parametrize(("op", "value"), [("!=", "none"), ("not in", ["none", "drug"])])
def test_nan_categories_never_match(dtype: str, op: str, value) -> None:
    p = policy(rule("r", "key_sector", op, value, "at_least", "B"))
    column = pd.Series(["food", None, "none", np.nan], dtype=dtype)
    out = assign_tiers(np.full(4, 0.01), pd.DataFrame({"key_sector": column}), p, CUTOFFS)
    assert tiers_of(out) == ["B", "A", "A", "A"]


def test_nullable_integer_missing_never_matches() -> None:
    p = policy(rule("r", "times_listed", "!=", 1, "set", "C"))
    features = pd.DataFrame({"times_listed": pd.array([pd.NA, 0, 1], dtype="Int64")})
    out = assign_tiers(np.full(3, 0.01), features, p, CUTOFFS)
    assert tiers_of(out) == ["A", "C", "A"]


def test_override_mask_ops_against_python() -> None:
    values = [0.0, 1.0, 2.0, 3.0, np.nan]
    frame = pd.DataFrame({"penalties_general_1y": values})
    checks = {
        "==": lambda v: v == 2,
        "!=": lambda v: v != 2,
        ">": lambda v: v > 2,
        ">=": lambda v: v >= 2,
        "<": lambda v: v < 2,
        "<=": lambda v: v <= 2,
    }
    for op, python in checks.items():
        p = policy(rule("r", "penalties_general_1y", op, 2, "set", "D"))
        expected = [python(v) and not np.isnan(v) for v in values]
        assert override_mask(p.overrides[0], frame).tolist() == expected, op
    p = policy(rule("r", "penalties_general_1y", "in", [1, 3], "set", "D"))
    assert override_mask(p.overrides[0], frame).tolist() == [False, True, False, True, False]
    p = policy(rule("r", "penalties_general_1y", "not in", [1, 3], "set", "D"))
    assert override_mask(p.overrides[0], frame).tolist() == [True, False, True, False, False]


def test_override_reason_fills_tier_and_value() -> None:
    p = policy(
        rule(
            "sector",
            "key_sector",
            "in",
            ["special_equipment", "food"],
            "at_least",
            "C",
            "Sector {value} puts it in tier {tier}",
        ),
        rule(
            "penalties",
            "penalties_general_1y",
            ">=",
            2,
            "raise_by",
            1,
            "{value} penalties: tier {tier}",
        ),
    )
    features = pd.DataFrame(
        {
            "key_sector": pd.Categorical(["special_equipment", "food", "none"]),
            "penalties_general_1y": [0.0, 4.0, 2.0],
        }
    )
    out = assign_tiers(np.array([0.01, 0.01, 0.35]), features, p, CUTOFFS)
    assert tiers_of(out) == ["C", "D", "D"]
    reasons = out["override_reason"].tolist()
    assert reasons[0] == "Sector special equipment puts it in tier C"
    assert reasons[1] == "Sector food puts it in tier C; 4 penalties: tier D"
    assert reasons[2] == "2 penalties: tier D"
    assert "{" not in "".join(reasons)


def test_default_reason_names_the_rule_and_tier() -> None:
    p = policy(rule("my_rule", "on_abnormal_list", "==", 1, "set", "C"))
    out = assign_tiers(np.array([0.01]), pd.DataFrame({"on_abnormal_list": [1]}), p, CUTOFFS)
    text = out["override_reason"].iloc[0]
    assert "my_rule" in text and "C" in text


def test_national_overrides_on_hand_rows() -> None:
    p = cr.Policy.load("national")
    features = pd.DataFrame(
        {
            "on_serious_list": [1, 0, 0, 0, 1],
            "on_abnormal_list": [0, 1, 1, 0, 1],
            "key_sector": pd.Categorical(["none", "none", "drug", "food", "drug"]),
        }
    )
    out = assign_tiers(np.array([0.01, 0.01, 0.5, 0.01, 0.01]), features, p, CUTOFFS)
    # serious -> D; abnormal -> at least C; C stays C; food by its score alone (A);
    # serious -> D then abnormal does not change D
    assert tiers_of(out) == ["D", "C", "C", "A", "D"]
    assert out["override"].tolist() == [
        "serious_illegal_list",
        "abnormal_list",
        "",
        "",
        "serious_illegal_list",
    ]
    assert out["override_reason"].iloc[0].endswith("D")
    assert "marked abnormal" in out["override_reason"].iloc[1]


@pytest.mark.parametrize("name", ["national", "daqing"])
def test_key_sector_alone_never_moves_a_tier_in_the_shipped_policies(name) -> None:
    """Issue 21, point 9: DOMAIN.md gives key sectors more inspections, not a riskier
    tier; every key sector at the lowest probability stays in tier A."""
    p = cr.Policy.load(name)
    sectors = ["none", "food", "drug", "industrial_product", "special_equipment"]
    features = pd.DataFrame(
        {
            "on_serious_list": 0,
            "on_abnormal_list": 0,
            "penalties_serious_1y": 0,
            "key_sector": pd.Categorical(sectors),
        }
    )
    out = assign_tiers(np.full(len(sectors), 0.001), features, p, CUTOFFS)
    assert tiers_of(out) == ["A"] * len(sectors)
    assert (out["override"] == "").all()
    assert all(rule.feature != "key_sector" for rule in p.overrides)


def test_the_key_sector_example_rule_still_works() -> None:
    d = cr.Policy.load("national").to_dict()
    d["overrides"].append(dict(KEY_SECTOR_EXAMPLE))
    p = cr.Policy.from_dict(d)
    features = pd.DataFrame(
        {
            "on_serious_list": [0, 0],
            "on_abnormal_list": [0, 0],
            "key_sector": pd.Categorical(["food", "none"]),
        }
    )
    out = assign_tiers(np.array([0.01, 0.01]), features, p, CUTOFFS)
    assert tiers_of(out) == ["B", "A"]
    assert out["override_reason"].iloc[0] == "Key-sector business (food): never tier A"


def test_fitted_cutoffs_are_frozen_at_training() -> None:
    """Issue 21, point 9: "shares" fits the cut-offs once, on the latest training date's
    population; later scoring never refits them, so later shares are an outcome."""
    result = cr.fit_model(cr.load_sample(), n_estimators=20, num_threads=1)
    model = result.model
    frozen = tuple(model.cutoffs_)
    # fitted to the policy's shares on the training population of the latest as-of date
    X_train = cr.build_features(
        cr.load_sample(), cr.spine(cr.load_sample(), model.training_["as_of"][-1])
    )
    p = model.classify(X_train, top_k=0)["probability"].to_numpy()
    assert frozen == pytest.approx(fit_cutoffs(p, model.policy_.shares), abs=1e-12)
    # a riskier population later: same cut-offs, other shares
    later = result.X_test[result.X_test["on_abnormal_list"] == 1]
    scored = model.classify(later, top_k=0)
    assert tuple(model.cutoffs_) == frozen
    codes = scored["score_tier"].cat.codes.to_numpy()
    np.testing.assert_array_equal(codes, score_tiers(scored["probability"].to_numpy(), frozen))
    assert abs(float((codes == 0).mean()) - model.policy_.shares[0]) > 0.1
