"""Recourse: which plans an entity can follow, what each reaches, and their order.

The plans expected for an entity are enumerated here from the rules (which actions are
open, which need another in the same plan). Whether a credit restoration or an early
exit from the serious list is open is worked out here from the raw register rows with
plain pandas (the penalty's measure, its publication date and the waiting period, a
repeat violation, the time on the serious list, a heavier penalty since the listing),
never by calling the library's own checks. The tier a plan reaches is checked by
applying its changes to the entity's row by hand and scoring the result.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk.model.recourse import ACTIONS, recourse

SMALL = {"n_estimators": 60, "num_threads": 1}
COLUMNS = ["actions", "steps", "n_actions", "probability", "tier", "lower"]
SEVERE = ("general", "serious")
WINDOWS = ("1y", "3y", "all")
NEVER = ("suspension", "trade_ban", "qualification_downgrade", "license_revocation")
STRICT_SECTORS = ("food", "drug", "special_equipment")
STRICT_AREAS = ("food_safety", "drug_safety", "special_equipment_safety")


@pytest.fixture(scope="module")
def fit():
    return cr.fit_model(cr.load_sample(), **SMALL)


@pytest.fixture(scope="module")
def model(fit) -> cr.RiskModel:
    return fit.model


@pytest.fixture(scope="module")
def X(fit) -> pd.DataFrame:
    return fit.X_test


@pytest.fixture(scope="module")
def reference() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


def num(row: pd.Series, name: str) -> float:
    value = row[name]
    return 0.0 if pd.isna(value) else float(value)


def restorable_ids(tables: cr.EventTables, row: pd.Series, policy: cr.Policy) -> list[str]:
    """The entity's penalties DOMAIN.md lets it restore on as_of, from the raw rows: a
    general or serious penalty still disclosed and not restored, whose measure allows
    it, disclosed for 6 months (12 in food, drugs, special equipment) since publication,
    with no later penalty of the same area."""
    as_of = pd.Timestamp(row["as_of"])
    pen = tables.penalties[tables.penalties["entity_id"] == row["entity_id"]]
    known = pen[pen["published_on"] < as_of]
    counted = known[
        known["severity"].astype(str).isin(SEVERE)
        & (known["disclosure_ends_on"] >= as_of)
        & ~(known["restored_on"] < as_of)
    ]
    sector = str(tables.enterprises.set_index("entity_id").at[row["entity_id"], "key_sector"])
    out = []
    for p in counted.itertuples():
        strict = sector in STRICT_SECTORS or str(p.category) in STRICT_AREAS
        wait = pd.DateOffset(
            months=policy.restoration["wait_months_key_sector" if strict else "wait_months"]
        )
        repeat = known[(known["category"] == p.category) & (known["decided_on"] > p.decided_on)]
        if str(p.measure) not in NEVER and p.published_on + wait <= as_of and repeat.empty:
            out.append(p.penalty_id)
    return out


def serious_exit_open(tables: cr.EventTables, row: pd.Series, policy: cr.Policy) -> bool:
    """Every open serious-list entry is 12 months old and no heavier penalty (serious,
    or a suspension, ban, downgrade, revocation) was decided after it."""
    as_of = pd.Timestamp(row["as_of"])
    e = tables.list_entries
    e = e[
        (e["entity_id"] == row["entity_id"])
        & (e["list"] == "serious_illegal")
        & (e["listed_on"] < as_of)
        & ~(e["removed_on"] < as_of)
    ]
    pen = tables.penalties
    pen = pen[(pen["entity_id"] == row["entity_id"]) & (pen["published_on"] < as_of)]
    heavy = pen[(pen["severity"] == "serious") | pen["measure"].astype(str).isin(NEVER)]
    months = pd.DateOffset(months=policy.restoration["serious_list_min_months"])
    return len(e) > 0 and all(
        listed + months <= as_of and not (heavy["decided_on"] > listed).any()
        for listed in e["listed_on"]
    )


def expected_plans(row: pd.Series, policy: cr.Policy, tables=None) -> set[str]:
    open_ = []
    if num(row, "reports_not_filed") > 0:
        open_.append("file_overdue_reports")
    if num(row, "on_abnormal_list") >= 1:
        open_.append("leave_abnormal_list")
    serious = tables is not None and num(row, "on_serious_list") >= 1
    if serious and serious_exit_open(tables, row, policy):
        open_.append("leave_serious_list")
    severe = sum(num(row, f"penalties_{s}_all") for s in SEVERE)
    if tables is not None and severe > 0 and restorable_ids(tables, row, policy):
        open_.append("restore_penalties")
    plans = {""}
    for size in range(1, len(open_) + 1):
        for combo in itertools.combinations(open_, size):
            s = set(combo)
            filed = num(row, "reports_not_filed") == 0 or "file_overdue_reports" in s
            if s & {"leave_abnormal_list", "leave_serious_list"} and not filed:
                continue  # the cause is fixed, the obligations met, first
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


# -- which plans -----------------------------------------------------------------------
def test_abnormal_for_unfiled_reports_needs_filing_first(model, X) -> None:
    rows = X[
        (X["on_abnormal_list"] == 1)
        & (X["reports_not_filed"] > 0)
        & (X["on_serious_list"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] == 0)
    ]
    assert len(rows) >= 5
    sole = (rows["entity_type"] == "sole_proprietor").to_numpy()
    picks = [*np.flatnonzero(sole)[:3], *np.flatnonzero(~sole)[:2]]
    assert len(picks) == 5
    for i in picks:
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
        # sole proprietors are marked abnormal, not listed (issue 21, point 8)
        sole = rows["entity_type"].iloc[i] == "sole_proprietor"
        words = "abnormal mark removed" if sole else "removal from the abnormal operation list"
        assert words in both["steps"], both["steps"]
        assert ("abnormal operation list" in both["steps"]) != sole


def test_plans_are_the_allowed_combinations(model, X, tables) -> None:
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
    for i in range(min(len(candidates), 150)):
        row = candidates.iloc[i]
        expected = expected_plans(row, policy, tables)
        plans = recourse(model, candidates.iloc[[i]], tables=tables)
        assert set(plans["actions"]) == expected, row["entity_id"]
        assert len(plans) == len(expected)  # each plan once
        assert (
            plans["n_actions"] == [len(a.split(" + ")) if a else 0 for a in plans["actions"]]
        ).all()
        kinds.update(a for p in expected for a in p.split(" + ") if a)
        checked += 1
    assert checked >= 100
    assert kinds == {a.name for a in ACTIONS}  # every action was seen open


def test_without_the_register_plans_never_restore_nor_leave_the_serious_list(model, X) -> None:
    """A feature row alone cannot show which measure a penalty carried, when its
    disclosure began or how long the entity has been on the serious list."""
    rows = X[(X["on_serious_list"] == 1) | (X["penalties_general_all"] > 0)]
    assert len(rows) >= 20
    for i in range(20):
        row = rows.iloc[i]
        plans = set(model.recourse(rows.iloc[[i]])["actions"])
        assert plans == expected_plans(row, model.policy_), row["entity_id"]
        assert not any(a in p for p in plans for a in ("restore_penalties", "leave_serious_list"))


def test_restoration_waits_for_leaving_the_abnormal_list(model, X, tables) -> None:
    rows = X[
        (X["on_abnormal_list"] == 1)
        & (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
        & (X["penalty_days_since_last"] > 400)
    ]
    picked = [i for i in range(len(rows)) if restorable_ids(tables, rows.iloc[i], model.policy_)]
    assert len(picked) >= 1
    for i in picked[:5]:
        plans = recourse(model, rows.iloc[[i]], tables=tables)
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


def restored_row(tables, row: pd.DataFrame, ids: list[str], policy) -> pd.DataFrame:
    """The entity's features rebuilt from the register with those penalties restored
    the day before as_of (what re-classification after the restoration gives)."""
    as_of = pd.Timestamp(row["as_of"].iloc[0])
    pen = tables.penalties.copy()
    pen.loc[pen["penalty_id"].isin(ids), "restored_on"] = as_of - pd.Timedelta(days=1)
    spine = row[["entity_id", "as_of"]].reset_index(drop=True)
    X = cr.build_features(tables.replace(penalties=pen), spine, policy.feature_spec())
    return X.set_axis(row.index)


def test_restoration_changes_by_hand(model, X, tables) -> None:
    policy = model.policy_
    rows = X[
        (X["on_abnormal_list"] == 0)
        & (X["on_serious_list"] == 0)
        & (X["reports_not_filed"] == 0)
        & (X["penalties_general_all"] + X["penalties_serious_all"] > 0)
    ]
    picked = [(i, restorable_ids(tables, rows.iloc[i], policy)) for i in range(len(rows))]
    picked = [(i, ids) for i, ids in picked if ids]
    assert len(picked) >= 2
    partial = 0
    for i, ids in picked[:6]:
        row = rows.iloc[[i]]
        plans = recourse(model, row, tables=tables).set_index("actions")
        assert set(plans.index) == {"", "restore_penalties"}
        changed = restored_row(tables, row, ids, policy)
        severe = sum(changed[f"penalties_{s}_all"].item() for s in SEVERE)
        partial += severe > 0  # a penalty that may not be restored still counts
        s = model.classify(changed, top_k=0).iloc[0]
        assert plans.loc["restore_penalties", "tier"] == s["tier"]
        assert plans.loc["restore_penalties", "probability"] == pytest.approx(
            s["probability"], abs=1e-12
        )
    assert partial < len(picked[:6])


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


def test_among_equal_sized_plans_the_lowest_tier_comes_first(X, tables) -> None:
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
    # the entity on both lists, the serious one for more than a year, in the register
    entity_id, as_of = clean["entity_id"].iloc[0], pd.Timestamp(clean["as_of"].iloc[0])
    listed = as_of - pd.Timedelta(days=400)
    extra = pd.DataFrame(
        {
            "entry_id": ["X_ABN", "X_SER"],
            "entity_id": [entity_id] * 2,
            "list": ["abnormal_operation", "serious_illegal"],
            "reason": ["unreachable_at_address", "serious_violation"],
            "listed_on": [listed] * 2,
            "removed_on": [pd.NaT] * 2,
            "removal_reason": [None] * 2,
        }
    )
    both = tables.replace(
        list_entries=pd.concat([tables.list_entries, extra], ignore_index=True)
    ).validate()
    row = cr.build_features(both, clean[["entity_id", "as_of"]].iloc[[0]], policy.feature_spec())
    assert row[["on_abnormal_list", "on_serious_list"]].values.tolist() == [[1, 1]]
    now = model.classify(row, top_k=0).iloc[0]
    assert now["score_tier"] == "low" and now["tier"] == "severe"
    plans = recourse(model, row, tables=both)
    by_plan = dict(zip(plans["actions"], plans["tier"], strict=True))
    assert by_plan["leave_abnormal_list"] == "high"
    assert by_plan["leave_serious_list"] == "medium"
    assert by_plan["leave_abnormal_list + leave_serious_list"] == "low"
    assert plans["lower"].iloc[:3].all()
    # fewest actions first; among the one-action plans the lowest tier first
    assert plans["actions"].iloc[0] == "leave_serious_list"
    assert plans["actions"].iloc[1] == "leave_abnormal_list"


# -- restorations the rules forbid are never offered (issue 21, points 1-3) ---------------
def test_a_suspension_is_never_offered_restoration(reference, tables) -> None:
    """E0003053's only penalty is a suspension, and it is on the serious list since
    2022-04-27: restoration is never offered (cards once offered it, tier D -> B)."""
    card = cr.report.explain_card(reference, "E0003053", tables=tables, as_of="2025-01-01")
    assert not card.recourse["actions"].str.contains("restore_penalties").any()
    X = cr.build_features(tables, cr.spine(tables, "2025-01-01"))
    row = X[X["entity_id"] == "E0003053"]
    assert row["penalties_serious_all"].item() == 1
    assert tables.penalties.loc[
        tables.penalties["entity_id"] == "E0003053", "measure"
    ].tolist() == ["suspension"]
    plans = set(recourse(reference, row, tables=tables)["actions"])
    assert plans == {"", "leave_serious_list"}  # 32 months on the list: early exit only


_PEN = cr.load_sample().penalties
_LISTS = cr.load_sample().list_entries
#: entities with a general or serious penalty or a serious-list entry: where the rules bite
_INTERESTING = sorted(
    set(_PEN.loc[_PEN["severity"].isin(SEVERE), "entity_id"])
    | set(_LISTS.loc[_LISTS["list"] == "serious_illegal", "entity_id"])
)
_DATES = pd.date_range("2019-01-01", "2026-01-01", freq="MS")


def _registered(tables, entity_id: str, as_of: pd.Timestamp) -> bool:
    e = tables.enterprises.set_index("entity_id").loc[entity_id]
    gone = e["deregistered_on"]
    return bool(e["registered_on"] < as_of and (pd.isna(gone) or gone >= as_of))


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    entity_id=st.sampled_from(_INTERESTING),
    as_of=st.sampled_from(list(_DATES)),
)
def test_property_no_card_offers_a_restoration_the_rules_forbid(
    reference, tables, entity_id, as_of
) -> None:
    """Over the sample's entities and dates: a card (cr.report.explain_card) never
    offers restoration or early exit the rules forbid, and recourse given the register
    offers them exactly when the rules, worked out here from the raw rows, allow."""
    if not _registered(tables, entity_id, as_of):
        return
    card = cr.report.explain_card(reference, entity_id, tables=tables, as_of=as_of)
    on_card = card.recourse  # the plans the card shows
    X = cr.build_features(
        tables,
        pd.DataFrame({"entity_id": [entity_id], "as_of": [as_of]}),
        reference.policy_.feature_spec(),
    )
    r = X.iloc[0]
    allowed_restore = bool(restorable_ids(tables, r, reference.policy_)) and (
        sum(num(r, f"penalties_{s}_all") for s in SEVERE) > 0
    )
    allowed_exit = num(r, "on_serious_list") >= 1 and serious_exit_open(
        tables, r, reference.policy_
    )
    for plans in (on_card, recourse(reference, X, tables=tables)):
        actions = " + ".join(plans["actions"])
        if "restore_penalties" in actions:
            assert allowed_restore, (entity_id, as_of)
        if "leave_serious_list" in actions:
            assert allowed_exit, (entity_id, as_of)
    full = set(recourse(reference, X, tables=tables)["actions"])
    assert full == expected_plans(r, reference.policy_, tables), (entity_id, as_of)
