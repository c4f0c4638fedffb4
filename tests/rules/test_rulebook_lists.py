"""Rule book, DOMAIN.md "Annual reports", "Abnormal operation list" and "Serious
illegal and dishonest list".

The library reads reports and list entries from the register (features, the overrides,
recourse); the synthetic world (``creditrisk.synth``) plays the regulator who lists,
warns and escalates, so the rules of that process are asserted on a small world.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _rulebook import enterprise, entry, features, register, report

import creditrisk as cr
from creditrisk.data.schema import LIST_REASONS
from creditrisk.model.recourse import recourse

AS_OF = "2024-07-01"


@pytest.fixture(scope="module")
def world():
    """A small synthetic world: long enough for three-year escalations."""
    return cr.synth.generate(4_000, "2018-01-01", "2023-12-31", seed=21)


def _entries(world) -> pd.DataFrame:
    return world.tables.list_entries


# -- annual reports -------------------------------------------------------------------------
def test_annual_report_due_1_january_to_30_june_for_the_previous_year():
    t = register(
        [enterprise("E", "2020-03-01")],
        annual_reports=[report("E", 2022, "2023-06-30"), report("E", 2023, "2024-07-01")],
    )
    on_30_june = features(t, "E", "2024-06-30")  # the 2023 report is not due yet
    assert on_30_june["report_last_year_on_time"].item() == 1  # 2022's, on 30 June
    later = features(t, "E", "2024-07-02")
    assert later["report_last_year_on_time"].item() == 0  # 2023's, one day late
    assert later["reports_filed_late"].item() == 1


def test_an_entity_registered_during_a_year_files_from_the_following_year():
    """The reports due are derived from registration, not read from rows: E, registered
    in March 2023 and with no report row at all, owes 2023's report from 1 July 2024.
    (F's filed report shows the table covers report years from 2022.)"""
    t = register(
        [enterprise("E", "2023-03-01"), enterprise("F")],
        annual_reports=[report("F", 2022, "2023-03-01")],
    )
    assert features(t, "E", "2024-06-30")["reports_not_filed"].item() == 0
    assert features(t, "E", "2024-07-01")["reports_not_filed"].item() == 1  # 2023's


@pytest.mark.xfail(
    strict=True,
    reason="one row per report and year: a correction made before 30 June has no record of its own",
)
def test_corrections_are_allowed_until_30_june():
    rows = [report("E", 2023, "2024-03-01"), report("E", 2023, "2024-05-01")]
    rows[0]["revenue"], rows[1]["revenue"] = 1_000.0, 2_000.0  # the correction
    t = register([enterprise("E")], annual_reports=rows)
    assert features(t, "E", "2024-07-01")["revenue_last"].item() == 2_000.0


def test_report_contents_financial_figures_are_optional():
    """Headcount and the financial figures are optional: a register without them reads,
    and the features from them are missing, not zero."""
    t = register([enterprise("E")], annual_reports=[report("E", 2023, "2024-03-01")])
    row = features(t, "E", AS_OF)
    assert row["report_last_year_filed"].item() == 1
    assert row[["revenue_last", "employees_last", "leverage_last"]].isna().all(axis=None)


def test_a_missed_report_puts_the_entity_on_the_abnormal_list_in_july(world, model):
    """The world lists every non-filer 1-14 July; the library reads the listing (the
    reason, at least tier C) and asks for the report before removal."""
    nf = _entries(world)
    nf = nf[nf["reason"] == "annual_report_not_filed"]
    assert len(nf) > 50
    assert (nf["listed_on"].dt.month == 7).all() and (nf["listed_on"].dt.day <= 14).all()
    t = register(
        [enterprise("E", "2020-03-01")],
        annual_reports=[report("E", 2023, None)],
        list_entries=[
            entry("L1", "E", "abnormal_operation", "annual_report_not_filed", "2024-07-05")
        ],
    )
    row = features(t, "E", "2024-08-01", model.policy_)
    assert row["abnormal_reason"].astype(str).item() == "annual_report_not_filed"
    assert model.classify(row, top_k=0)["tier"].astype(str).item() in ("C", "D")
    plans = set(recourse(model, row, tables=t)["actions"])
    assert "leave_abnormal_list" not in plans
    assert "file_overdue_reports + leave_abnormal_list" in plans


# -- the abnormal operation list ----------------------------------------------------------------
def test_abnormal_list_reasons_are_the_four_of_domain():
    """Report not filed, information not published, false information, unreachable."""
    four = LIST_REASONS[:4]
    assert four == (
        "annual_report_not_filed",
        "disclosure_not_made",
        "false_information",
        "unreachable_at_address",
    )
    t = register(
        [enterprise(f"E{i}") for i in range(4)],
        list_entries=[
            entry(f"L{i}", f"E{i}", "abnormal_operation", reason, "2024-03-01")
            for i, reason in enumerate(four)
        ],
    )
    X = cr.build_features(t, cr.spine(t, AS_OF).query("entity_id != 'ANCHOR'"))
    assert X["abnormal_reason"].astype(str).tolist() == list(four)


def test_sole_proprietors_are_marked_abnormal_not_listed(model):
    """Issue 21, point 8: the mark counts as the list for the tier, but the words say
    "marked": reasons, recourse, the override and the card's records."""
    t = register(
        [enterprise("SOLE", entity_type="sole_proprietor")],
        list_entries=[entry("M1", "SOLE", "abnormal_mark", "unreachable_at_address", "2024-03-01")],
    )
    row = features(t, "SOLE", AS_OF, model.policy_)
    assert row["on_abnormal_list"].item() == 1
    from creditrisk.model.reasons import sentence

    assert "marked abnormal" in sentence("on_abnormal_list", 1)
    steps = recourse(model, row, tables=t).set_index("actions")["steps"]
    assert "abnormal mark removed" in steps["leave_abnormal_list"]
    assert "marked abnormal" in cr.Policy.load("national").overrides[1].reason
    card = cr.report.explain_card(model, "SOLE", tables=t, as_of=AS_OF)
    assert "Marked abnormal (a sole proprietor" in card.text
    assert "Put on the abnormal operation list" not in card.text


@pytest.mark.xfail(
    strict=True,
    reason="listing dates are taken from the register as they are: the library does not "
    "check them against the trigger (within 10 working days)",
)
def test_listing_happens_within_10_working_days_of_the_trigger():
    t = register(
        [enterprise("E", "2020-03-01")],
        annual_reports=[report("E", 2023, None)],
        list_entries=[
            entry("L1", "E", "abnormal_operation", "annual_report_not_filed", "2024-10-01")
        ],  # three months after 30 June
    )
    with pytest.raises(cr.SchemaError):
        t.validate()


def test_removal_on_application_once_the_cause_is_fixed(model, world):
    """Unreachable: removal is open at once; a missing report is filed first. In the
    world, a removal is decided within about 5 working days of the filing."""
    e = _entries(world)
    fixed = e[(e["reason"] == "annual_report_not_filed") & (e["removal_reason"] == "restored")]
    filed = world.tables.annual_reports[["entity_id", "filed_on"]]
    m = fixed[["entry_id", "entity_id", "removed_on"]].merge(filed, on="entity_id")
    near = m[
        (m["filed_on"] <= m["removed_on"])
        & (m["filed_on"] >= m["removed_on"] - pd.Timedelta(days=7))
    ]
    assert len(fixed) > 20 and set(near["entry_id"]) == set(fixed["entry_id"])
    t = register(
        [enterprise("U"), enterprise("R", "2020-03-01")],
        # U filed its 2023 report (reports due are derived: without it U would owe it)
        annual_reports=[report("R", 2023, None), report("U", 2023, "2024-04-01")],
        list_entries=[
            entry("L1", "U", "abnormal_operation", "unreachable_at_address", "2024-03-01"),
            entry("L2", "R", "abnormal_operation", "annual_report_not_filed", "2024-07-03"),
        ],
    )
    u = set(recourse(model, features(t, "U", "2024-08-01", model.policy_), tables=t)["actions"])
    r = set(recourse(model, features(t, "R", "2024-08-01", model.policy_), tables=t)["actions"])
    assert "leave_abnormal_list" in u
    assert "leave_abnormal_list" not in r and "file_overdue_reports + leave_abnormal_list" in r


def test_deregistration_removes_automatically(world):
    t = register(
        [enterprise("E", deregistered_on="2024-05-01")],
        list_entries=[
            entry(
                "L1",
                "E",
                "abnormal_operation",
                "unreachable_at_address",
                "2024-03-01",
                "2024-05-01",
                "deregistered",
            )
        ],
    )
    assert "E" not in set(cr.spine(t, AS_OF)["entity_id"])
    gone = _entries(world)
    gone = gone[gone["removal_reason"] == "deregistered"]
    dereg = world.tables.enterprises.set_index("entity_id")["deregistered_on"]
    assert len(gone) > 10
    assert (gone["removed_on"].to_numpy() == gone["entity_id"].map(dereg).to_numpy()).all()


def test_three_years_unfixed_moves_to_the_serious_list_after_a_public_warning(world, model):
    """Issue 21, point 10: on the third anniversary of the listing, with a public warning
    in the 60 days before; the library then sets tier D."""
    e = _entries(world)
    esc = e[e["removal_reason"] == "escalated"]
    assert len(esc) >= 5
    assert (esc["removed_on"] == esc["listed_on"] + pd.DateOffset(years=3)).all()
    w = world.warnings.merge(esc[["entry_id", "removed_on"]], on="entry_id")
    assert set(w["entry_id"]) >= set(esc.loc[esc["removed_on"] >= "2018-03-02", "entry_id"])
    lead = (w["removed_on"] - w["warned_on"]).dt.days
    assert lead.between(1, 60).all()
    t = register(
        [enterprise("E", "2018-03-01")],
        list_entries=[
            entry(
                "A1",
                "E",
                "abnormal_operation",
                "unreachable_at_address",
                "2021-03-01",
                "2024-03-01",
                "escalated",
            ),
            entry("S1", "E", "serious_illegal", "escalated_from_abnormal", "2024-03-01"),
        ],
    )
    row = features(t, "E", AS_OF, model.policy_)
    assert model.classify(row, top_k=0)["tier"].astype(str).item() == "D"


# -- the serious illegal and dishonest list -------------------------------------------------
def test_serious_listing_for_a_heavier_penalty_puts_the_entity_in_tier_D(world, model):
    e = _entries(world)
    serious = e[e["list"] == "serious_illegal"]
    assert set(serious["reason"].astype(str)) <= {"serious_violation", "escalated_from_abnormal"}
    t = register(
        [enterprise("E")],
        list_entries=[entry("S1", "E", "serious_illegal", "serious_violation", "2024-02-01")],
    )
    row = features(t, "E", AS_OF, model.policy_)
    assert row["on_serious_list"].item() == 1
    assert model.classify(row, top_k=0)["tier"].astype(str).item() == "D"


def test_serious_listing_period_is_3_years(world):
    e = _entries(world)
    expired = e[e["removal_reason"] == "expired"]
    assert len(expired) >= 5
    assert (expired["removed_on"] == expired["listed_on"] + pd.DateOffset(years=3)).all()
    t = register(
        [enterprise("E")],
        list_entries=[
            entry(
                "S1",
                "E",
                "serious_illegal",
                "serious_violation",
                "2021-03-01",
                "2024-03-01",
                "expired",
            )
        ],
    )
    assert features(t, "E", "2024-03-01")["on_serious_list"].item() == 1
    assert features(t, "E", "2024-03-02")["on_serious_list"].item() == 0
