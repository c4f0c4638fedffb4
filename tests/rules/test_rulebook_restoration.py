"""Rule book, DOMAIN.md "Credit restoration" and the serious list's early exit.

One test per rule, each on the smallest hand-made register that exercises it, asserting
what the library does: which recourse plans it offers (with the register, so the rules
that need an entity's records can be checked), and how the features count a restored
record. The reference model scores the rows; the rules, not the model, decide which
plans exist.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _rulebook import enterprise, entry, features, penalty, register, report

import creditrisk as cr
from creditrisk.model.recourse import (
    ACTIONS,
    recourse,
    restoration_eligibility,
    serious_exit_eligibility,
)

AS_OF = "2024-07-01"


def plans(model, tables, entity_id: str, as_of: str = AS_OF) -> set[str]:
    row = features(tables, entity_id, as_of, model.policy_)
    return set(recourse(model, row, tables=tables)["actions"])


def offers(plan_names: set[str], action: str) -> bool:
    return any(action in p.split(" + ") for p in plan_names)


# -- what restoration covers --------------------------------------------------------------
def test_restoration_covers_removal_mark_early_exit_and_early_stop_of_disclosure(model):
    """Removal from the abnormal list, restoring a sole proprietor's normal mark, early
    exit from the serious list, early stop of penalty disclosure: each is an action."""
    assert {a.name for a in ACTIONS} >= {
        "leave_abnormal_list",
        "leave_serious_list",
        "restore_penalties",
    }
    t = register(
        [enterprise("CO"), enterprise("SOLE", entity_type="sole_proprietor")],
        list_entries=[
            entry("L1", "CO", "abnormal_operation", "unreachable_at_address", "2024-03-01"),
            entry("L2", "SOLE", "abnormal_mark", "unreachable_at_address", "2024-03-01"),
        ],
    )
    for entity_id, words in (
        ("CO", "removal from the abnormal operation list"),
        ("SOLE", "abnormal mark removed"),
    ):
        row = features(t, entity_id, AS_OF, model.policy_)
        out = recourse(model, row, tables=t)
        step = out.loc[out["actions"] == "leave_abnormal_list", "steps"].item()
        assert words in step, step


# -- early stop of penalty disclosure -----------------------------------------------------
@pytest.mark.parametrize(
    "measure", ["suspension", "trade_ban", "qualification_downgrade", "license_revocation"]
)
def test_restoration_never_after_suspension_trade_ban_downgrade_or_revoked_license(model, measure):
    """Issue 21, point 1: a penalty with one of these measures is never restorable,
    however long it has been disclosed; the same penalty as a fine is."""
    t = register(
        [enterprise("HEAVY"), enterprise("FINE")],
        penalties=[
            penalty("P1", "HEAVY", "2022-01-05", "2022-01-10", severity="serious", measure=measure),
            penalty("P2", "FINE", "2022-01-05", "2022-01-10", severity="serious", measure="fine"),
        ],
    )
    assert not offers(plans(model, t, "HEAVY"), "restore_penalties")
    assert offers(plans(model, t, "FINE"), "restore_penalties")
    why = restoration_eligibility(t, "HEAVY", AS_OF, model.policy_)["why_not"].item()
    assert "never restorable" in why


def test_restoration_needs_no_repeat_violation_of_the_same_type_and_neither_list(model):
    """A later penalty of the same area bars restoring the earlier one; while on a list
    the plan must leave it first."""
    t = register(
        [enterprise("REPEAT"), enterprise("LISTED")],
        penalties=[
            penalty("P1", "REPEAT", "2022-01-05", "2022-01-10", category="pricing"),
            penalty(
                "P2",
                "REPEAT",
                "2023-02-01",
                "2023-02-05",
                severity="minor",
                fine=3_000.0,
                category="pricing",
            ),
            penalty("P3", "LISTED", "2022-01-05", "2022-01-10"),
        ],
        list_entries=[
            entry("L1", "LISTED", "abnormal_operation", "unreachable_at_address", "2024-03-01")
        ],
    )
    e = restoration_eligibility(t, "REPEAT", AS_OF, model.policy_)
    assert e["restorable"].tolist() == [False]
    assert "repeat violation" in e["why_not"].item()
    assert not offers(plans(model, t, "REPEAT"), "restore_penalties")
    listed = plans(model, t, "LISTED")
    assert offers(listed, "restore_penalties")
    assert all("leave_abnormal_list" in p for p in listed if "restore_penalties" in p)


@pytest.mark.parametrize(
    ("sector", "months"),
    [("none", 6), ("industrial_product", 6), ("food", 12), ("drug", 12), ("special_equipment", 12)],
)
def test_restoration_after_6_months_of_disclosure_12_in_food_drugs_special_equipment(
    model, sector, months
):
    """Issue 21, point 3: the wait is counted from the start of disclosure (publication),
    not from the decision, and is 12 months only in food, drugs and special equipment."""
    decided, published = "2023-06-01", "2023-06-25"
    t = register(
        [enterprise("E", key_sector=sector)],
        penalties=[penalty("P1", "E", decided, published)],
    )
    opens = pd.Timestamp(published) + pd.DateOffset(months=months)
    day_before = str((opens - pd.Timedelta(days=1)).date())
    e = restoration_eligibility(t, "E", day_before, model.policy_)
    assert e["may_apply_on"].item() == opens
    assert not offers(plans(model, t, "E", day_before), "restore_penalties")
    assert offers(plans(model, t, "E", str(opens.date())), "restore_penalties")


def test_restored_record_no_longer_counts_and_the_entity_is_reclassified(model):
    """After restoration the record is not public: under the default policy it stops
    counting in the features the tier is computed from ("include" keeps it)."""
    t = register(
        [enterprise("E")],
        penalties=[penalty("P1", "E", "2023-01-05", "2023-01-10", restored="2024-03-01")],
    )
    before = features(t, "E", "2024-03-01")
    after = features(t, "E", "2024-03-02")
    assert before["penalties_general_all"].item() == 1
    assert after["penalties_general_all"].item() == 0
    assert after["penalties_restored"].item() == 1
    include = cr.Policy.from_dict(
        {**cr.Policy.load("national").to_dict(), "disclosure": {"restored_penalties": "include"}}
    )
    assert features(t, "E", "2024-03-02", include)["penalties_general_all"].item() == 1
    # the row the tier is recomputed from is that of a register without the record,
    # but for the count of restorations
    clean = features(register([enterprise("E")]), "E", "2024-03-02")
    differs = [c for c in after.columns if not after[c].equals(clean[c])]
    assert differs == ["penalties_restored"]


def test_recourse_restoration_recomputes_the_penalty_features_exactly(model):
    """The restore plan's row is the features of the register with the penalty restored
    the day before (what re-classification after restoration gives)."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty("P1", "E", "2023-01-05", "2023-01-10"),
            penalty(
                "P2",
                "E",
                "2023-02-05",
                "2023-02-10",
                measure="suspension",
                severity="serious",
                category="advertising",
            ),
        ],
    )
    row = features(t, "E", AS_OF, model.policy_)
    out = recourse(model, row, tables=t).set_index("actions")
    restored = t.penalties.assign(
        restored_on=t.penalties["restored_on"].mask(
            t.penalties["penalty_id"] == "P1", pd.Timestamp("2024-06-30")
        )
    )
    expected = features(t.replace(penalties=restored), "E", AS_OF, model.policy_)
    assert expected["penalties_serious_all"].item() == 1  # the suspension still counts
    p = model.classify(expected, top_k=0)["probability"].item()
    assert out.loc["restore_penalties", "probability"] == pytest.approx(p, abs=1e-12)


# -- the serious list's early exit ----------------------------------------------------------
def test_serious_list_early_exit_after_at_least_12_months_obligations_met_no_new_heavier_penalty(
    model,
):
    """Issue 21, point 2: not before 12 months on the list; not after a new heavier
    penalty; an entity escalated for a missing report files it in the same plan."""
    t = register(
        [enterprise("NEW"), enterprise("OLD"), enterprise("HEAVIER"), enterprise("ESC")],
        penalties=[
            penalty(
                "P1",
                "HEAVIER",
                "2023-08-01",
                "2023-08-05",
                severity="serious",
                measure="suspension",
            ),
        ],
        annual_reports=[report("ESC", 2019, None), report("ESC", 2020, "2021-05-01")],
        list_entries=[
            entry("S1", "NEW", "serious_illegal", "serious_violation", "2024-01-01"),
            entry("S2", "OLD", "serious_illegal", "serious_violation", "2023-06-30"),
            entry("S3", "HEAVIER", "serious_illegal", "serious_violation", "2023-01-01"),
            entry(
                "A4",
                "ESC",
                "abnormal_operation",
                "annual_report_not_filed",
                "2020-07-01",
                "2023-07-01",
                "escalated",
            ),
            entry("S4", "ESC", "serious_illegal", "escalated_from_abnormal", "2023-07-01"),
        ],
    )
    assert not offers(plans(model, t, "NEW"), "leave_serious_list")  # 6 months
    assert offers(plans(model, t, "OLD"), "leave_serious_list")  # 12 months and a day
    assert not offers(plans(model, t, "HEAVIER"), "leave_serious_list")
    esc = plans(model, t, "ESC")
    assert "file_overdue_reports + leave_serious_list" in esc
    assert "leave_serious_list" not in esc
    e = serious_exit_eligibility(t, "NEW", AS_OF, model.policy_)
    assert e["may_exit_on"].item() == pd.Timestamp("2025-01-01")
    # on the day 12 months are reached, exit opens
    assert offers(plans(model, t, "NEW", "2025-01-01"), "leave_serious_list")


def test_without_the_register_no_restoration_or_early_exit_is_offered(model):
    """The rules need the records (measure, start of disclosure, time on the list): a
    feature row alone never gets those plans."""
    t = register(
        [enterprise("E")],
        penalties=[penalty("P1", "E", "2022-01-05", "2022-01-10")],
        list_entries=[entry("S1", "E", "serious_illegal", "serious_violation", "2022-01-20")],
    )
    row = features(t, "E", AS_OF, model.policy_)
    assert set(model.recourse(row)["actions"]) == {""}
    assert {"leave_serious_list", "leave_serious_list + restore_penalties"} <= set(
        recourse(model, row, tables=t)["actions"]
    )
