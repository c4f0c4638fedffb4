"""Recourse: which plans an entity can follow, what each reaches, and their order.

The plans expected for an entity are enumerated here from the rules (which actions are
open, which need another in the same plan); the tier a plan reaches is checked by
applying its changes to the entity's row by hand and scoring the result.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.model.recourse import ACTIONS, recourse

SMALL = {"n_estimators": 60, "num_threads": 1}
COLUMNS = ["actions", "steps", "n_actions", "probability", "tier", "lower"]
SEVERE = ("general", "serious")
WINDOWS = ("1y", "3y", "all")


@pytest.fixture(scope="module")
def fit():
    return cr.fit_model(cr.load_sample(), **SMALL)


@pytest.fixture(scope="module")
def model(fit) -> cr.RiskModel:
    return fit.model


@pytest.fixture(scope="module")
def X(fit) -> pd.DataFrame:
    return fit.X_test


def num(row: pd.Series, name: str) -> float:
    value = row[name]
    return 0.0 if pd.isna(value) else float(value)


def restorable(row: pd.Series, policy: cr.Policy) -> bool | None:
    """Open by DOMAIN.md's rule; None when too close to the waiting period to tell."""
    if sum(num(row, f"penalties_{s}_all") for s in SEVERE) <= 0:
        return False
    key = not (pd.isna(row["key_sector"]) or row["key_sector"] == "none")
    months = policy.restoration["wait_months_key_sector" if key else "wait_months"]
    days = row["penalty_days_since_last"]
    if pd.isna(days):
        return False
    if abs(days - months * 365.25 / 12) < 3:
        return None
    return days > months * 365.25 / 12


def expected_plans(row: pd.Series, policy: cr.Policy) -> set[str] | None:
    open_ = []
    if num(row, "reports_not_filed") > 0:
        open_.append("file_overdue_reports")
    if num(row, "on_abnormal_list") >= 1:
        open_.append("leave_abnormal_list")
    if num(row, "on_serious_list") >= 1:
        open_.append("leave_serious_list")
    restore = restorable(row, policy)
    if restore is None:
        return None
    if restore:
        open_.append("restore_penalties")
    plans = {""}
    for size in range(1, len(open_) + 1):
        for combo in itertools.combinations(open_, size):
            s = set(combo)
            if (
                "leave_abnormal_list" in s
                and num(row, "reports_not_filed") > 0
                and "file_overdue_reports" not in s
            ):
                continue  # the cause is fixed first
            if "restore_penalties" in s and (
                (num(row, "on_abnormal_list") >= 1 and "leave_abnormal_list" not in s)
                or (num(row, "on_serious_list") >= 1 and "leave_serious_list" not in s)
            ):
                continue  # no restoration while listed
            plans.add(" + ".join(combo))
    return plans


def file_reports_by_hand(row: pd.DataFrame) -> pd.DataFrame:
    out = row.copy()
    missing = out["reports_not_filed"].iloc[0]
    out["report_last_year_filed"] = 1.0
    out["reports_missed_in_a_row"] = 0
    out["reports_not_filed"] = 0
    out["reports_filed_late"] = out["reports_filed_late"] + missing  # filed, but late
    return out


def leave_abnormal_by_hand(row: pd.DataFrame) -> pd.DataFrame:
    out = row.copy()
    out["on_abnormal_list"] = 0
    out["days_on_abnormal_list"] = 0.0
    out["abnormal_reason"] = pd.Series(
        [np.nan], index=out.index, dtype=row["abnormal_reason"].dtype
    )
    out["list_removals_restored"] = out["list_removals_restored"] + 1
    return out


def restore_by_hand(row: pd.DataFrame) -> pd.DataFrame:
    out = row.copy()
    counted = sum(out[f"penalties_{s}_all"].iloc[0] for s in SEVERE)
    out["penalties_restored"] = out["penalties_restored"] + counted
    for s in SEVERE:
        for w in WINDOWS:
            out[f"penalties_{s}_{w}"] = 0
            out[f"fines_{s}_{w}"] = 0.0
    if out["penalties_warning_all"].iloc[0] + out["penalties_minor_all"].iloc[0] == 0:
        out["penalty_days_since_last"] = np.nan
    return out


# -- which plans -----------------------------------------------------------------------
def test_abnormal_for_unfiled_reports_needs_filing_first(model, X) -> None:
    rows = X[
        (X["on_abnormal_list"] == 1)
        & (X["reports_not_filed"] > 0)
        & (X["on_serious_list"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] == 0)
    ]
    assert len(rows) >= 5
    for i in range(5):
        plans = model.recourse(rows.iloc[[i]])
        assert list(plans.columns) == COLUMNS
        assert set(plans["actions"]) == {
            "",
            "file_overdue_reports",
            "file_overdue_reports + leave_abnormal_list",
        }
        both = plans[plans["actions"] == "file_overdue_reports + leave_abnormal_list"].iloc[0]
        assert both["n_actions"] == 2
        assert "File the overdue annual reports" in both["steps"]
        assert "abnormal operation list" in both["steps"]


def test_plans_are_the_allowed_combinations(model, X) -> None:
    policy = model.policy_
    open_any = (
        (X["reports_not_filed"] > 0)
        | (X["on_abnormal_list"] == 1)
        | (X["on_serious_list"] == 1)
        | (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
    )
    candidates = X[open_any]
    checked = 0
    kinds = set()
    for i in range(min(len(candidates), 80)):
        row = candidates.iloc[i]
        expected = expected_plans(row, policy)
        if expected is None:
            continue
        plans = recourse(model, candidates.iloc[[i]])
        assert set(plans["actions"]) == expected, row["entity_id"]
        assert len(plans) == len(expected)  # each plan once
        assert (
            plans["n_actions"] == [len(a.split(" + ")) if a else 0 for a in plans["actions"]]
        ).all()
        kinds.update(a for p in expected for a in p.split(" + ") if a)
        checked += 1
    assert checked >= 40
    assert kinds == {a.name for a in ACTIONS}  # every action was seen open


def test_restoration_waits_for_leaving_the_abnormal_list(model, X) -> None:
    rows = X[
        (X["on_abnormal_list"] == 1)
        & (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
        & (X["penalty_days_since_last"] > 400)
    ]
    assert len(rows) >= 1
    for i in range(min(len(rows), 5)):
        plans = model.recourse(rows.iloc[[i]])
        with_restore = [a for a in plans["actions"] if "restore_penalties" in a]
        assert with_restore
        assert all("leave_abnormal_list" in a for a in with_restore)


def test_no_open_action_gives_a_single_row(model, X) -> None:
    rows = X[
        (X["reports_not_filed"] == 0)
        & (X["on_abnormal_list"] == 0)
        & (X["on_serious_list"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] == 0)
    ]
    for i in (0, 1, len(rows) - 1):
        row = rows.iloc[[i]]
        plans = model.recourse(row)
        assert len(plans) == 1
        only = plans.iloc[0]
        assert only["n_actions"] == 0
        assert only["actions"] == ""
        assert only["steps"] == "(as it stands)"
        assert not only["lower"]
        now = model.classify(row, top_k=0).iloc[0]
        assert only["tier"] == now["tier"]
        assert only["probability"] == now["probability"]


def test_max_actions_limits_the_plans(model, X) -> None:
    rows = X[(X["on_abnormal_list"] == 1) & (X["reports_not_filed"] > 0)]
    plans = recourse(model, rows.iloc[[0]], max_actions=1)
    assert plans["n_actions"].max() <= 1
    assert "file_overdue_reports + leave_abnormal_list" not in set(plans["actions"])


def test_series_input_and_one_row_only(model, X) -> None:
    rows = X[(X["on_abnormal_list"] == 1) & (X["reports_not_filed"] > 0)]
    as_frame = model.recourse(rows.iloc[[0]])
    as_series = model.recourse(rows.iloc[0])
    pd.testing.assert_frame_equal(as_series, as_frame)
    with pytest.raises(ValueError, match="one entity"):
        model.recourse(rows.iloc[:2])


# -- what each plan reaches, and the order -----------------------------------------------
def test_reported_tier_is_the_score_of_the_changed_row(model, X) -> None:
    rows = X[
        (X["on_abnormal_list"] == 1)
        & (X["reports_not_filed"] > 0)
        & (X["on_serious_list"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] == 0)
    ]
    row = rows.iloc[[0]]
    plans = model.recourse(row).set_index("actions")
    filed = file_reports_by_hand(row)
    both = leave_abnormal_by_hand(filed)
    for name, changed in (
        ("", row),
        ("file_overdue_reports", filed),
        ("file_overdue_reports + leave_abnormal_list", both),
    ):
        s = model.classify(changed, top_k=0).iloc[0]
        assert plans.loc[name, "tier"] == s["tier"], name
        assert plans.loc[name, "probability"] == pytest.approx(s["probability"], abs=1e-12)
    # the abnormal-list override no longer applies once off the list
    s_both = model.classify(both, top_k=0).iloc[0]
    assert "abnormal_list" not in s_both["override"]


def test_restoration_changes_by_hand(model, X) -> None:
    policy = model.policy_
    rows = X[
        (X["on_abnormal_list"] == 0)
        & (X["on_serious_list"] == 0)
        & (X["reports_not_filed"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
    ]
    picked = [i for i in range(len(rows)) if restorable(rows.iloc[i], policy)]
    assert len(picked) >= 2
    for i in picked[:3]:
        row = rows.iloc[[i]]
        plans = model.recourse(row).set_index("actions")
        assert set(plans.index) == {"", "restore_penalties"}
        s = model.classify(restore_by_hand(row), top_k=0).iloc[0]
        assert plans.loc["restore_penalties", "tier"] == s["tier"]
        assert plans.loc["restore_penalties", "probability"] == pytest.approx(
            s["probability"], abs=1e-12
        )


def test_order_lower_plans_first_then_fewest_actions(model, X) -> None:
    open_any = (
        (X["reports_not_filed"] > 0)
        | (X["on_abnormal_list"] == 1)
        | (X["on_serious_list"] == 1)
        | (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
    )
    candidates = X[open_any]
    tiers = list(model.policy_.tiers)
    some_lower = 0
    for i in range(min(len(candidates), 80)):
        row = candidates.iloc[[i]]
        plans = model.recourse(row)
        now = model.classify(row, top_k=0).iloc[0]
        current = tiers.index(now["tier"])
        rank = np.array([tiers.index(t) for t in plans["tier"]])
        np.testing.assert_array_equal(plans["lower"].to_numpy(), rank < current)
        as_it_stands = plans[plans["n_actions"] == 0]
        assert len(as_it_stands) == 1 and as_it_stands["tier"].iloc[0] == now["tier"]
        lower = plans["lower"].to_numpy()
        if lower.any():
            some_lower += 1
            first = plans.iloc[0]
            assert first["lower"]
            assert first["n_actions"] == plans.loc[lower, "n_actions"].min()
            # lowering plans come before the rest
            assert lower[: lower.sum()].all()
        else:
            assert plans.iloc[0]["n_actions"] == 0
    assert some_lower >= 3


def test_among_equal_sized_plans_the_lowest_tier_comes_first(X) -> None:
    """Tiers named in words: "lowest tier" is the policy's order, not the alphabet.

    With score tier forced to the lowest (cut-offs near 1), the overrides decide:
    on the serious list -> at least "high"; then on the abnormal list -> one tier up.
    An entity on both is "severe"; leaving the abnormal list reaches "high", leaving
    the serious list reaches "medium" (low + 1): both one action, "medium" is lower.
    """
    policy = cr.Policy.from_dict(
        {
            "name": "words",
            "tiers": {
                "names": ["low", "medium", "high", "severe"],
                "method": "cutoffs",
                "cutoffs": [0.97, 0.98, 0.99],
            },
            "overrides": [
                {
                    "name": "serious",
                    "feature": "on_serious_list",
                    "op": "==",
                    "value": 1,
                    "at_least": "high",
                },
                {
                    "name": "abnormal",
                    "feature": "on_abnormal_list",
                    "op": "==",
                    "value": 1,
                    "raise_by": 1,
                },
            ],
        }
    )
    model = cr.fit_model(cr.load_sample(), policy=policy, **SMALL).model
    clean = X[
        (X["on_abnormal_list"] == 0)
        & (X["on_serious_list"] == 0)
        & (X["reports_not_filed"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] == 0)
    ]
    row = clean.iloc[[0]].copy()
    row["on_abnormal_list"] = 1
    row["on_serious_list"] = 1
    row["abnormal_reason"] = pd.Series(
        ["unreachable_at_address"], index=row.index, dtype=X["abnormal_reason"].dtype
    )
    now = model.classify(row, top_k=0).iloc[0]
    assert now["score_tier"] == "low" and now["tier"] == "severe"
    plans = model.recourse(row)
    by_plan = dict(zip(plans["actions"], plans["tier"], strict=True))
    assert by_plan["leave_abnormal_list"] == "high"
    assert by_plan["leave_serious_list"] == "medium"
    assert by_plan["leave_abnormal_list + leave_serious_list"] == "low"
    assert plans["lower"].iloc[:3].all()
    # fewest actions first; among the one-action plans the lowest tier first
    assert plans["actions"].iloc[0] == "leave_serious_list"
    assert plans["actions"].iloc[1] == "leave_abnormal_list"
