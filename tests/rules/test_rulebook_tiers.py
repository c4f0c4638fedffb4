"""Rule book, DOMAIN.md "Tiers": how many, the overrides, and shares as an outcome."""

from __future__ import annotations

import numpy as np
import pandas as pd
from _rulebook import enterprise, entry, features, penalty, register

import creditrisk as cr
from creditrisk.policy import assign_tiers
from creditrisk.policy.tiers import score_tiers

NATIONAL = cr.Policy.load("national")


def test_four_tiers_nationally_and_tier_count_and_names_configurable():
    assert NATIONAL.tiers == ("A", "B", "C", "D")
    five = cr.Policy.from_dict(
        {
            "name": "pilot",
            "tiers": {"names": list("ABCDE"), "method": "cutoffs", "cutoffs": [0.1, 0.2, 0.4, 0.7]},
        }
    )
    out = assign_tiers(
        np.array([0.05, 0.15, 0.3, 0.5, 0.9]), pd.DataFrame(index=range(5)), five, five.cutoffs
    )
    assert out["tier"].astype(str).tolist() == list("ABCDE")


def test_serious_dishonesty_goes_straight_to_the_worst_tier(model):
    t = register(
        [enterprise("E")],
        list_entries=[entry("S1", "E", "serious_illegal", "serious_violation", "2024-01-10")],
    )
    scored = model.classify(features(t, "E", "2024-07-01", model.policy_), top_k=0)
    assert scored["tier"].astype(str).item() == "D"
    assert "serious_illegal_list" in scored["override"].item()


def test_major_events_move_an_entity_up_two_tiers_capped_at_the_worst():
    """Daqing's local example: a serious penalty in the last 12 months, up two tiers."""
    daqing = cr.Policy.load("daqing")
    t = register(
        [enterprise("E")],
        penalties=[penalty("P1", "E", "2024-01-05", "2024-01-10", severity="serious")],
    )
    X = pd.concat([features(t, "E", "2024-07-01", daqing)] * 3, ignore_index=True)
    out = assign_tiers(np.array([0.05, 0.2, 0.4]), X, daqing, daqing.cutoffs)
    assert out["score_tier"].astype(str).tolist() == ["A", "B", "C"]
    assert out["tier"].astype(str).tolist() == ["C", "D", "D"]


def test_tier_shares_are_an_outcome_not_a_quota(model, tables):
    """Issue 21, point 9: the national cut-offs are fitted to the observed shares once,
    at training, then frozen in the model: a later or riskier population gets other
    shares, never refitted ones."""
    frozen = tuple(model.cutoffs_)
    assert NATIONAL.method == "shares" and len(frozen) == 3
    X = cr.build_features(tables, cr.spine(tables, "2025-07-01"))
    risky = X[(X["penalties_general_all"] + X["penalties_serious_all"]) > 0]
    scored = model.classify(risky, top_k=0)
    assert tuple(model.cutoffs_) == frozen
    expected = score_tiers(scored["probability"].to_numpy(), frozen)
    assert (scored["score_tier"].cat.codes.to_numpy() == expected).all()
    share_a = float((scored["score_tier"] == "A").mean())
    assert abs(share_a - NATIONAL.shares[0]) > 0.1, share_a  # an outcome, not 65.4%
    again = cr.RiskModel.load(cr.sample_model_path())
    assert tuple(again.cutoffs_) == frozen  # saved with the model


def test_tiers_are_recomputed_after_a_credit_restoration(model):
    """The day after a restoration the penalty no longer counts, and the tier of that
    day is computed from the restored record."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty(
                "P1",
                "E",
                "2023-01-05",
                "2023-01-10",
                severity="serious",
                fine=900_000.0,
                restored="2024-03-01",
            )
        ],
    )
    before = features(t, "E", "2024-03-01", model.policy_)
    after = features(t, "E", "2024-03-02", model.policy_)
    assert before["penalties_serious_all"].item() == 1
    assert after["penalties_serious_all"].item() == 0
    counted = [
        c
        for c in after.columns
        if c.startswith(("penalties_", "fines_")) and c != "penalties_restored"
    ]
    assert (after[counted].fillna(0) == 0).all(axis=None)  # nothing of it counts any more
    p_before = model.classify(before, top_k=0)["probability"].item()
    p_after = model.classify(after, top_k=0)["probability"].item()
    assert p_after <= p_before  # monotone: removing a penalty never raises the risk
    phi = model.contributions(after)[counted]
    assert (phi <= 0).all(axis=None)  # and no penalty feature raises the tier any more
