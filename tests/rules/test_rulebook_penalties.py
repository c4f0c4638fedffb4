"""Rule book, DOMAIN.md "Administrative penalties and their disclosure".

How long a penalty counts against an entity follows from how long it is published:
each test builds a register of one or two penalties and reads the penalty features on
both sides of the disclosure end, or the problems the policy reports.
"""

from __future__ import annotations

import pandas as pd
import pytest
from _rulebook import enterprise, features, penalty, policy_with, register

import creditrisk as cr
from creditrisk.features.penalties import DisclosureRules, derived_disclosure_ends

NATIONAL = cr.Policy.load("national")


def counted(tables, as_of: str, column: str = "penalties_general_all", policy=None) -> int:
    return int(features(tables, "E", as_of, policy)[column].item())


def test_warnings_alone_are_not_published():
    """Issue 21, point 5: a warning never counts as disclosed, even with an end date in
    the register, and that end date is reported as a contradiction."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty(
                "W1",
                "E",
                "2023-01-05",
                "2023-01-10",
                severity="warning",
                measure="warning",
                fine=0.0,
                ends="2024-01-10",
            )
        ],
    )
    assert counted(t, "2023-06-01", "penalties_warning_all") == 0
    problems = NATIONAL.disclosure_problems(t)
    assert [p.rule for p in problems] == ["warning disclosed"]
    assert problems[0].rows["penalty_id"].tolist() == ["W1"]
    known = cr.Policy.from_dict({**NATIONAL.to_dict(), "disclosure": {"penalty_counting": "known"}})
    assert counted(t, "2023-06-01", "penalties_warning_all", known) == 1  # recorded


@pytest.mark.parametrize(
    ("measure", "fine", "severity"),
    [("criticism_notice", 0.0, "minor"), ("fine", 99_000.0, "minor")],
)
def test_criticism_notices_and_lower_amount_fines_are_published_3_months(measure, fine, severity):
    """Issue 21, point 5: without an end date in the register, the end is derived (3
    calendar months from publication) and the penalty counts until then."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty(
                "P1", "E", "2023-01-05", "2023-01-31", severity=severity, measure=measure, fine=fine
            )
        ],
    )
    column = f"penalties_{severity}_all"
    assert counted(t, "2023-04-30", column) == 1  # 30 April is the last day
    assert counted(t, "2023-05-01", column) == 0
    assert NATIONAL.disclosure_problems(t) == []


def test_other_penalties_are_published_3_years():
    """Issue 21, point 5: a general fine of 200,000 yuan with no end date counts for 3
    years (it used to count 0 days)."""
    t = register([enterprise("E")], penalties=[penalty("P1", "E", "2022-03-01", "2022-03-10")])
    assert counted(t, "2022-03-11") == 1
    assert counted(t, "2025-03-10") == 1
    assert counted(t, "2025-03-11") == 0
    assert features(t, "E", "2024-03-11")["fines_general_all"].item() == 200_000.0


def test_a_given_end_is_kept_and_features_are_unchanged_where_the_register_gives_it():
    """The register's own end date wins; the sample's features are what they were."""
    t = register(
        [enterprise("E")],
        penalties=[penalty("P1", "E", "2022-03-01", "2022-03-10", ends="2025-03-12")],
    )
    assert counted(t, "2025-03-12") == 1  # two days past the derived end
    assert NATIONAL.disclosure_problems(t) == []
    sample = cr.load_sample()
    assert NATIONAL.disclosure_problems(sample) == []
    derived = derived_disclosure_ends(sample.penalties, DisclosureRules())
    given = sample.penalties["disclosure_ends_on"]
    # every given end is within a few days of the derived one (or a longer ban)
    off = (given - derived).dt.days
    ban = sample.penalties["measure"] == "trade_ban"
    assert off[~ban].abs().max() <= 3 and (off[ban] >= 0).all()


def test_bans_longer_than_3_years_are_published_for_the_ban_period():
    """A 5-year trade ban's end in the register is kept (not a contradiction)."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty(
                "P1",
                "E",
                "2020-03-01",
                "2020-03-10",
                severity="serious",
                measure="trade_ban",
                ends="2025-03-10",
            )
        ],
    )
    assert counted(t, "2024-06-01", "penalties_serious_all") == 1
    assert NATIONAL.disclosure_problems(t) == []


@pytest.mark.xfail(
    strict=True,
    reason="the register has no ban length: a trade ban without an end date is derived "
    "as 3 years, not its ban period",
)
def test_a_ban_without_an_end_date_is_published_for_the_ban_period():
    t = register(
        [enterprise("E")],
        penalties=[
            penalty("P1", "E", "2020-03-01", "2020-03-10", severity="serious", measure="trade_ban")
        ],
    )  # a 5-year ban
    assert counted(t, "2024-06-01", "penalties_serious_all") == 1


def test_the_lower_amount_is_set_per_province():
    """A 60,000 yuan fine is a lower-amount fine at the national 100,000 line (3
    months), not at a province's 50,000 (3 years)."""
    t = register(
        [enterprise("E")],
        penalties=[penalty("P1", "E", "2023-01-05", "2023-01-10", severity="minor", fine=60_000.0)],
    )
    province = policy_with(disclosure={"lower_amount_fine": 50_000})
    assert counted(t, "2023-06-01", "penalties_minor_all") == 0
    assert counted(t, "2023-06-01", "penalties_minor_all", province) == 1
    assert [p.rule for p in province.disclosure_problems(t)] == []  # no end given


def test_a_given_end_that_contradicts_the_policy_is_reported():
    """Issue 21, point 5: a general fine of 200,000 yuan published for 3 months."""
    t = register(
        [enterprise("E")],
        penalties=[
            penalty("P1", "E", "2023-01-05", "2023-01-10", ends="2023-04-10"),
            penalty(
                "P2",
                "E",
                "2023-02-05",
                "2023-02-10",
                severity="minor",
                fine=5_000.0,
                ends="2026-02-10",
            ),
        ],
    )
    problems = NATIONAL.disclosure_problems(t)
    assert [p.rule for p in problems] == ["disclosure period"]
    assert problems[0].n_rows == 2
    assert problems[0].rows["policy_end"].tolist() == [
        pd.Timestamp("2026-01-10"),
        pd.Timestamp("2023-05-10"),
    ]


@pytest.mark.xfail(
    strict=True,
    reason="the 2025 scheme (minor at most 3 months, general 3 months - 1 year, serious "
    "1 - 3 years) is not a policy setting: periods follow the measure and the fine",
)
def test_the_2025_scheme_publishes_general_dishonesty_information_at_most_1_year():
    scheme = policy_with(
        disclosure={"disclosure_months_by_severity": {"minor": 3, "general": 12, "serious": 36}}
    )
    t = register([enterprise("E")], penalties=[penalty("P1", "E", "2022-03-01", "2022-03-10")])
    assert counted(t, "2023-06-01", policy=scheme) == 0
