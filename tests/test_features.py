"""Point-in-time features: the catalogue, hand-computed values, and the no-leak rule.

The rule: a feature for (entity, as_of) uses only events whose known date is strictly
before as_of (annual_reports.filed_on, licenses.issued_on, penalties.published_on,
inspections.published_on, list_entries.listed_on), and applies the revocations,
expiries, restorations and removals dated before as_of.

* Hand-computed values use tiny tables built here, one entity per scenario; every
  expected value is worked out by hand from the rules (the comments show the sums).
* Property tests (hypothesis) start from a subset of the packaged sample and add,
  delete or change events that are only known on or after as_of: the entity's feature
  row must not move. Annual reports are one row per report *due*: the row of a due
  report exists whether or not it was filed, so for them the "event" is the filing
  (filed_on) and only the rows of reports not yet due on as_of are added or dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

import creditrisk as cr
from creditrisk import EventTables, FeatureBuilder, FeatureSpec, build_features, feature_catalogue
from creditrisk.data.schema import (
    ALL_TABLE_NAMES,
    INDICATOR_TABLES,
    INSPECTION_KINDS,
    LIST_REASONS,
    LISTS,
    MEASURES,
    OUTCOMES,
    REMOVAL_REASONS,
    SEVERITIES,
    TABLES,
    empty_table,
)
from creditrisk.data.spine import KNOWN_DATE_COLUMNS, data_span
from creditrisk.features.builder import CATALOGUE

DAY = pd.Timedelta(days=1)
KEYS = ["entity_id", "as_of"]
EVENT_TABLES = ("annual_reports", "licenses", "penalties", "inspections", "list_entries")
SPECS = [
    FeatureSpec(penalty_counting=c, restored_penalties=r)
    for c in ("disclosed", "known")
    for r in ("exclude", "include")
]


def features(tables: EventTables, entity_id: str, as_of, spec: FeatureSpec | None = None):
    """The one-row feature frame of (entity_id, as_of), every catalogue feature built.

    Which features are built by default depends on what the register holds (a count of
    routine inspections is not built where there is none); here the whole catalogue is
    asked for, so the frames of two registers always have the same columns.
    """
    spine = pd.DataFrame({"entity_id": [entity_id], "as_of": [pd.Timestamp(as_of)]})
    every = tuple(f.name for f in CATALOGUE)
    return build_features(tables, spine, dataclasses.replace(spec or FeatureSpec(), features=every))


def feature_row(tables: EventTables, entity_id: str, as_of, spec=None) -> pd.Series:
    return features(tables, entity_id, as_of, spec).iloc[0]


def days_between(start: str, end: str) -> int:
    """Calendar days from ``start`` to ``end`` (plain datetime arithmetic)."""
    return (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days


# =====================================================================================
# 1. The catalogue
# =====================================================================================
@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def sample_features(sample: EventTables) -> pd.DataFrame:
    return build_features(sample, cr.spine(sample, "2024-07-01"))


def test_catalogue_matches_the_columns_one_to_one_in_order(sample_features, sample):
    columns = list(sample_features.columns)
    assert columns[:2] == KEYS
    names = [f.name for f in CATALOGUE]
    assert len(set(names)) == len(names), "duplicate catalogue entries"
    catalogue = cr.feature_catalogue(sample)
    assert columns[2:] == [n for n in names if catalogue.loc[n, "built"]]
    # the sample has no routine, follow-up or other inspection: those counts are not
    # built; it holds the indicator tables, so their features are
    assert set(names) - set(columns) == {
        "inspections_routine",
        "inspections_follow_up",
        "inspections_other",
    }
    # without the indicator tables and addresses, their features are not built
    bare = sample.replace(
        **{name: getattr(sample, name).iloc[:0] for name in INDICATOR_TABLES},
        enterprises=sample.enterprises.assign(address_id=None),
    )
    plain = cr.feature_catalogue(bare)
    lacking = {f.name for f in CATALOGUE if f.source in INDICATOR_TABLES}
    lacking |= {"address_cluster_size", "address_cluster_abnormal"}
    assert not plain.loc[sorted(lacking), "built"].any()


def test_catalogue_entries_are_documented():
    for f in CATALOGUE:
        assert isinstance(f.meaning, str) and f.meaning.strip(), f.name
        assert f.source in ALL_TABLE_NAMES, (f.name, f.source)
        assert f.monotone in (-1, 0, 1), (f.name, f.monotone)
        assert f.kind in ("number", "count", "flag", "category"), (f.name, f.kind)


def test_feature_catalogue_is_a_frame_indexed_by_name():
    cat = feature_catalogue()
    assert isinstance(cat, pd.DataFrame)
    assert cat.index.name == "name"
    assert list(cat.index) == [f.name for f in CATALOGUE]
    assert cat.index.is_unique
    assert {"source", "window", "meaning", "actionable", "monotone"} <= set(cat.columns)
    assert cat.loc["on_abnormal_list", "source"] == "list_entries"
    assert set(cat["monotone"]) <= {-1, 0, 1}


def test_spec_features_selects_just_those_columns(sample: EventTables):
    spine = cr.spine(sample, "2023-07-01").iloc[:200]
    wanted = ("penalties_general_1y", "age_years", "on_abnormal_list", "inspection_last_outcome")
    X = build_features(sample, spine, FeatureSpec(features=wanted))
    assert list(X.columns[:2]) == KEYS
    assert sorted(X.columns[2:]) == sorted(wanted)
    full = build_features(sample, spine)
    pdt.assert_frame_equal(X, full[list(X.columns)])


def test_spec_features_unknown_name_raises(sample: EventTables):
    spine = cr.spine(sample, "2023-07-01").iloc[:10]
    with pytest.raises(ValueError, match="no_such_feature"):
        build_features(sample, spine, FeatureSpec(features=("age_years", "no_such_feature")))


def test_spec_rejects_unknown_policies():
    with pytest.raises(ValueError):
        FeatureSpec(penalty_counting="everything")
    with pytest.raises(ValueError):
        FeatureSpec(restored_penalties="sometimes")


# =====================================================================================
# 2. Hand-computed values on tiny tables
# =====================================================================================
def enterprise(entity_id: str, registered_on: str = "2010-01-01", **overrides) -> dict:
    row = {
        "entity_id": entity_id,
        "entity_type": "company",
        "industry": "retail",
        "key_sector": "none",
        "region": "district_01",
        "registered_capital": 1_000_000.0,
        "registered_on": registered_on,
        "deregistered_on": None,
    }
    row.update(overrides)
    return row


def report(entity_id: str, year: int, filed_on: str | None) -> dict:
    return {"entity_id": entity_id, "report_year": year, "filed_on": filed_on}


def license_(lid, entity_id, kind, issued, expires=None, revoked=None) -> dict:
    return {
        "license_id": lid,
        "entity_id": entity_id,
        "license_type": kind,
        "issued_on": issued,
        "expires_on": expires,
        "revoked_on": revoked,
    }


def penalty(pid, entity_id, severity, decided, published, fine, ends, restored=None) -> dict:
    return {
        "penalty_id": pid,
        "entity_id": entity_id,
        "decided_on": decided,
        "published_on": published,
        "severity": severity,
        "measure": "warning" if severity == "warning" else "fine",
        "fine_amount": fine,
        "category": "food_safety",
        "disclosure_ends_on": ends,
        "restored_on": restored,
    }


def inspection(iid, entity_id, kind, outcome, inspected, published) -> dict:
    return {
        "inspection_id": iid,
        "entity_id": entity_id,
        "inspected_on": inspected,
        "kind": kind,
        "outcome": outcome,
        "inspector_1": "IN1",
        "inspector_2": "IN2",
        "published_on": published,
    }


def entry(eid, entity_id, which, reason, listed, removed=None, removal=None) -> dict:
    return {
        "entry_id": eid,
        "entity_id": entity_id,
        "list": which,
        "reason": reason,
        "listed_on": listed,
        "removed_on": removed,
        "removal_reason": removal,
    }


def make_tables(enterprises: list[dict], **events: list[dict]) -> EventTables:
    """EventTables from rows; an anchor entity keeps the data span 2000-01-01..2026-12-31."""
    anchor = enterprise("ANCHOR", "2000-01-01", deregistered_on="2026-12-31")
    frames = {"enterprises": pd.DataFrame([anchor, *enterprises])}
    for table in EVENT_TABLES:
        rows = events.get(table, [])
        frames[table] = pd.DataFrame(rows) if rows else empty_table(table)
    return EventTables(**frames).validate()


@pytest.fixture(scope="module")
def hand() -> EventTables:
    return make_tables(
        [
            enterprise("AGE", "2015-03-02", entity_type="partnership", key_sector="food"),
            # reports 2019 filed on time, 2020 and 2021 never filed, 2022 not due yet
            enterprise("R_MISS", "2019-02-01"),
            # 2019 on time, 2020 filed late, 2021 filed on 2022-08-01 (late)
            enterprise("R_LATE", "2019-02-01"),
            # 2020 and 2021 on time (2021 exactly on the deadline)
            enterprise("R_ONTIME", "2020-05-01"),
            # missed, filed, missed: only the last miss is "in a row"
            enterprise("R_GAP", "2019-02-01"),
            # registered 2022: nothing due on 2022-08-01
            enterprise("R_NONE", "2022-03-01"),
            enterprise("LIC"),
            enterprise("PEN"),
            enterprise("PEN_EDGE"),
            enterprise("INSP"),
            enterprise("INSP_NONE"),
            enterprise("LST"),
            enterprise("LST_RESTORED"),
        ],
        annual_reports=[
            report("R_MISS", 2019, "2020-05-01"),
            report("R_MISS", 2020, None),
            report("R_MISS", 2021, None),
            report("R_MISS", 2022, None),
            report("R_LATE", 2019, "2020-05-01"),
            report("R_LATE", 2020, "2021-09-10"),
            report("R_LATE", 2021, "2022-08-01"),
            report("R_ONTIME", 2020, "2021-03-01"),
            report("R_ONTIME", 2021, "2022-06-30"),
            report("R_GAP", 2019, None),
            report("R_GAP", 2020, "2021-05-01"),
            report("R_GAP", 2021, None),
        ],
        licenses=[
            license_("A", "LIC", "food_business", "2018-01-01", "2023-01-01"),
            license_("B", "LIC", "fire_safety", "2017-01-01", "2020-01-01"),
            license_("C", "LIC", "food_business", "2015-01-01", "2018-01-01"),
            license_("D", "LIC", "drug_trade", "2019-01-01", "2024-01-01", "2021-01-01"),
            license_("E", "LIC", "road_transport", "2022-08-01"),
            license_("F", "LIC", "drug_trade", "2020-01-01", None, "2022-08-01"),
            license_("G", "LIC", "environmental_permit", "2019-01-01", "2022-08-01"),
        ],
        penalties=[
            # as_of 2022-08-01: 1y window from 2021-08-01, 3y window from 2019-08-02
            penalty("p1", "PEN", "general", "2022-03-01", "2022-03-10", 10_000.0, "2025-03-10"),
            penalty("p2", "PEN", "serious", "2020-01-15", "2020-01-20", 500_000.0, "2023-01-20"),
            penalty("p3", "PEN", "minor", "2022-05-01", "2022-05-05", 2_000.0, "2022-08-05"),
            # minor, disclosure ended 2022-04-05: counts only when counting what is known
            penalty("p4", "PEN", "minor", "2022-01-01", "2022-01-05", 3_000.0, "2022-04-05"),
            # warning: never disclosed
            penalty("p5", "PEN", "warning", "2022-06-01", "2022-06-03", 0.0, None),
            # published on the as-of date itself: not known yet
            penalty("p6", "PEN", "general", "2022-07-20", "2022-08-01", 99_000.0, "2025-08-01"),
            # restored on 2022-02-10, disclosure would run to 2024-02-05
            penalty(
                "p7",
                "PEN",
                "general",
                "2021-02-01",
                "2021-02-05",
                20_000.0,
                "2024-02-05",
                "2022-02-10",
            ),
            # serious, disclosure ended 2021-03-05
            penalty("p8", "PEN", "serious", "2018-03-01", "2018-03-05", 800_000.0, "2021-03-05"),
            # decided exactly 365 days before 2022-08-01: inside the 1y window
            penalty("p9", "PEN", "general", "2021-08-01", "2021-08-03", 7_000.0, "2024-08-03"),
            # decided 366 days before: outside the 1y window, inside 3y
            penalty("p10", "PEN", "general", "2021-07-31", "2021-08-02", 5_000.0, "2024-08-02"),
            penalty("q1", "PEN_EDGE", "serious", "2022-07-25", "2022-08-01", 1.0, "2025-08-01"),
        ],
        inspections=[
            inspection("i1", "INSP", "random", "compliant", "2020-03-01", "2020-03-10"),
            inspection("i2", "INSP", "complaint", "issues_found", "2021-05-01", "2021-05-12"),
            inspection(
                "i3", "INSP", "targeted", "not_found_at_address", "2022-06-01", "2022-06-05"
            ),
            # published on the as-of date: not known yet
            inspection("i4", "INSP", "random", "issues_found", "2022-07-25", "2022-08-01"),
            inspection("i5", "INSP", "joint", "compliant", "2018-01-01", "2018-01-10"),
        ],
        list_entries=[
            entry(
                "l1",
                "LST",
                "abnormal_operation",
                "annual_report_not_filed",
                "2019-07-10",
                "2020-03-01",
                "restored",
            ),
            entry("l2", "LST", "abnormal_operation", "unreachable_at_address", "2021-07-15"),
            entry(
                "l3",
                "LST",
                "serious_illegal",
                "serious_violation",
                "2020-01-01",
                "2022-08-01",
                "expired",
            ),
            entry("l4", "LST", "abnormal_mark", "disclosure_not_made", "2022-08-01"),
            entry(
                "m1",
                "LST_RESTORED",
                "abnormal_operation",
                "annual_report_not_filed",
                "2020-07-10",
                "2021-01-05",
                "restored",
            ),
        ],
    )


def check_values(row: pd.Series, expected: dict) -> None:
    """Compare every expected value (None means empty); report all mismatches at once."""
    wrong = []
    for name, want in expected.items():
        got = row[name]
        if want is None:
            ok = pd.isna(got)
        elif pd.isna(got):
            ok = False
        elif isinstance(want, float):
            ok = got == pytest.approx(want, rel=1e-12, abs=1e-9)
        else:
            ok = got == want
        if not ok:
            wrong.append(f"{name}: expected {want!r}, got {got!r}")
    assert not wrong, f"{row['entity_id']} on {row['as_of'].date()}:\n" + "\n".join(wrong)


def test_hand_days_between_is_plain_calendar_arithmetic():
    # the literals used below, double-checked once
    assert days_between("2022-06-30", "2022-08-01") == 32
    assert days_between("2021-06-30", "2022-06-15") == 350
    assert days_between("2021-06-30", "2021-09-10") == 72
    assert days_between("2022-05-01", "2022-08-01") == 92
    assert days_between("2022-06-01", "2022-08-01") == 61
    assert days_between("2019-07-10", "2020-03-01") == 235
    assert days_between("2021-07-15", "2022-08-01") == 382
    assert days_between("2020-01-01", "2022-08-01") == 943
    assert days_between("2020-07-10", "2021-01-05") == 179
    assert days_between("2015-03-02", "2022-08-01") == 2709


def test_hand_age_and_registration(hand: EventTables):
    row = feature_row(hand, "AGE", "2022-08-01")
    check_values(
        row,
        {
            "age_years": 2709 / 365.25,
            "entity_type": "partnership",
            "key_sector": "food",
            "industry": "retail",
            "region": "district_01",
            "registered_capital": 1_000_000.0,
        },
    )


REPORT_CASES = [
    # 2019 filed on time; 2020, 2021 missed (2021 due 2022-06-30 < as_of); 32 days late
    (
        "R_MISS",
        "2022-08-01",
        {
            "report_last_year_filed": 0.0,
            "report_last_year_on_time": 0.0,
            "reports_missed_in_a_row": 2,
            "report_days_late_last": 32.0,
            "reports_on_time_share": 1 / 3,
        },
    ),
    # 2021 not due yet (deadline 2022-06-30 >= as_of): last due is 2020, 350 days late
    (
        "R_MISS",
        "2022-06-15",
        {
            "report_last_year_filed": 0.0,
            "report_last_year_on_time": 0.0,
            "reports_missed_in_a_row": 1,
            "report_days_late_last": 350.0,
            "reports_on_time_share": 1 / 2,
        },
    ),
    # as_of is 2021's deadline itself, so 2021 is not due yet; 2020 was filed 72 days late
    (
        "R_LATE",
        "2022-06-30",
        {
            "report_last_year_filed": 1.0,
            "report_last_year_on_time": 0.0,
            "reports_missed_in_a_row": 0,
            "report_days_late_last": 72.0,
            "reports_on_time_share": 1 / 2,
        },
    ),
    # 2021 filed on the as-of date itself: not known yet, so still missing and 32 days late
    (
        "R_LATE",
        "2022-08-01",
        {
            "report_last_year_filed": 0.0,
            "report_last_year_on_time": 0.0,
            "reports_missed_in_a_row": 1,
            "report_days_late_last": 32.0,
            "reports_on_time_share": 1 / 3,
        },
    ),
    # a day later the late filing is known: filed, not on time, 32 days late
    (
        "R_LATE",
        "2022-08-02",
        {
            "report_last_year_filed": 1.0,
            "report_last_year_on_time": 0.0,
            "reports_missed_in_a_row": 0,
            "report_days_late_last": 32.0,
            "reports_on_time_share": 1 / 3,
        },
    ),
    # filed on 30 June exactly is on time
    (
        "R_ONTIME",
        "2022-07-01",
        {
            "report_last_year_filed": 1.0,
            "report_last_year_on_time": 1.0,
            "reports_missed_in_a_row": 0,
            "report_days_late_last": 0.0,
            "reports_on_time_share": 1.0,
        },
    ),
    # missed 2019, filed 2020, missed 2021: one missed in a row
    (
        "R_GAP",
        "2022-08-01",
        {
            "report_last_year_filed": 0.0,
            "reports_missed_in_a_row": 1,
            "report_days_late_last": 32.0,
            "reports_on_time_share": 1 / 3,
        },
    ),
    # nothing due yet
    (
        "R_NONE",
        "2022-08-01",
        {
            "report_last_year_filed": None,
            "report_last_year_on_time": None,
            "reports_missed_in_a_row": 0,
            "report_days_late_last": None,
            "reports_on_time_share": None,
        },
    ),
]


@pytest.mark.parametrize(("entity_id", "as_of", "expected"), REPORT_CASES)
def test_hand_annual_reports(hand: EventTables, entity_id, as_of, expected):
    check_values(feature_row(hand, entity_id, as_of), expected)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # active A, F (revocation dated as_of not yet in effect), G (expires on as_of);
        # lapsed B (no fire_safety in force; C is covered by A); revoked D; E not issued yet
        ("2022-08-01", {"licenses_active": 3, "licenses_lapsed": 1, "licenses_revoked": 1}),
        # active A, E; lapsed B, G; revoked D, F
        ("2022-08-02", {"licenses_active": 2, "licenses_lapsed": 2, "licenses_revoked": 2}),
    ],
)
def test_hand_licenses(hand: EventTables, as_of, expected):
    check_values(feature_row(hand, "LIC", as_of), expected)


def _penalty_expectation(counting: str, restored: str) -> dict:
    """PEN on 2022-08-01, worked out from the rows above.

    disclosed: p1, p9 (general, 1y), p10 (general, 3y), p2 (serious, 3y), p3 (minor, 1y);
    p4 and p8 no longer disclosed, p5 a warning, p6 published on as_of, p7 restored.
    known: adds p4 (minor, 1y), p5 (warning, 1y), p8 (serious, all time only).
    include: adds p7 (general, 3y, fine 20,000) under either counting.
    """
    known = counting == "known"
    include = restored == "include"
    general = (2, 4, 4) if include else (2, 3, 3)
    general_fines = (17_000.0, 42_000.0, 42_000.0) if include else (17_000.0, 22_000.0, 22_000.0)
    out = {
        "penalties_general_1y": general[0],
        "penalties_general_3y": general[1],
        "penalties_general_all": general[2],
        "fines_general_1y": general_fines[0],
        "fines_general_3y": general_fines[1],
        "fines_general_all": general_fines[2],
        "penalties_serious_1y": 0,
        "penalties_serious_3y": 1,
        "penalties_serious_all": 2 if known else 1,
        "fines_serious_1y": 0.0,
        "fines_serious_3y": 500_000.0,
        "fines_serious_all": 1_300_000.0 if known else 500_000.0,
        "penalties_minor_1y": 2 if known else 1,
        "penalties_minor_3y": 2 if known else 1,
        "penalties_minor_all": 2 if known else 1,
        "fines_minor_1y": 5_000.0 if known else 2_000.0,
        "fines_minor_all": 5_000.0 if known else 2_000.0,
        "penalties_warning_1y": 1 if known else 0,
        "penalties_warning_3y": 1 if known else 0,
        "penalties_warning_all": 1 if known else 0,
        # latest decision still counted: p5 (2022-06-01) if known, else p3 (2022-05-01)
        "penalty_days_since_last": 61.0 if known else 92.0,
        "penalties_restored": 1,
    }
    return out


@pytest.mark.parametrize("counting", ["disclosed", "known"])
@pytest.mark.parametrize("restored", ["exclude", "include"])
def test_hand_penalties(hand: EventTables, counting, restored):
    spec = FeatureSpec(penalty_counting=counting, restored_penalties=restored)
    check_values(
        feature_row(hand, "PEN", "2022-08-01", spec), _penalty_expectation(counting, restored)
    )


def test_hand_penalty_published_on_as_of_is_not_counted(hand: EventTables):
    for spec in SPECS:
        on_day = feature_row(hand, "PEN_EDGE", "2022-08-01", spec)
        check_values(
            on_day,
            {"penalties_serious_1y": 0, "penalties_serious_all": 0, "fines_serious_all": 0.0},
        )
        assert pd.isna(on_day["penalty_days_since_last"])
        next_day = feature_row(hand, "PEN_EDGE", "2022-08-02", spec)
        check_values(
            next_day,
            {
                "penalties_serious_1y": 1,
                "penalties_serious_all": 1,
                "fines_serious_all": 1.0,
                "penalty_days_since_last": 8.0,  # decided 2022-07-25
            },
        )


def test_hand_inspections(hand: EventTables):
    # i4 is published on as_of: not known. Known: i1 random, i2 complaint (issues),
    # i3 targeted (not found, the latest, 2022-06-01), i5 joint.
    check_values(
        feature_row(hand, "INSP", "2022-08-01"),
        {
            "inspections_random": 1,
            "inspections_targeted": 1,
            "inspections_complaint": 1,
            "inspections_joint": 1,
            "inspection_findings_share": 0.5,
            "inspection_findings_3y": 2,
            "inspection_last_outcome": "not_found_at_address",
            "inspection_days_since_last": 61.0,
            "inspections_not_found": 1,
        },
    )
    # a day later i4 (random, issues found, inspected 2022-07-25) is known and the latest
    check_values(
        feature_row(hand, "INSP", "2022-08-02"),
        {
            "inspections_random": 2,
            "inspection_findings_share": 3 / 5,
            "inspection_last_outcome": "issues_found",
            "inspection_days_since_last": 8.0,
            "inspections_not_found": 1,
        },
    )
    check_values(
        feature_row(hand, "INSP_NONE", "2022-08-01"),
        {
            "inspections_random": 0,
            "inspections_complaint": 0,
            "inspection_findings_share": None,
            "inspection_last_outcome": None,
            "inspection_days_since_last": None,
            "inspections_not_found": 0,
        },
    )


def test_last_inspection_of_a_day_is_the_later_row_whatever_the_row_order():
    # two inspections of A on one day, rows of B between them: the later row is the last
    rows = [
        inspection("a1", "A", "random", "compliant", "2022-03-01", "2022-03-05"),
        inspection("b1", "B", "random", "issues_found", "2022-04-01", "2022-04-05"),
        inspection("a2", "A", "targeted", "issues_found", "2022-03-01", "2022-03-06"),
        inspection("b2", "B", "joint", "compliant", "2021-01-01", "2021-01-05"),
    ]
    people = [enterprise("A"), enterprise("B")]
    as_of = "2022-08-01"
    row = feature_row(make_tables(people, inspections=rows), "A", as_of)
    assert row["inspection_last_outcome"] == "issues_found"
    assert row["inspection_days_since_last"] == days_between("2022-03-01", as_of)
    assert (
        feature_row(make_tables(people, inspections=rows), "B", as_of)["inspection_last_outcome"]
        == "issues_found"
    )
    swapped = [rows[2], rows[1], rows[0], rows[3]]
    row = feature_row(make_tables(people, inspections=swapped), "A", as_of)
    assert row["inspection_last_outcome"] == "compliant"


def test_source_positions_are_each_tables_own_lookup(sample: EventTables):
    # the event tables' entities are looked up together: each table still gets its own
    from creditrisk.data.keys import positions
    from creditrisk.features.source import Source

    ids = sample.enterprises["entity_id"]
    stranger = sample.penalties.head(3).assign(entity_id=["E_NOBODY", ids.iloc[5], "E_NONE"])
    tables = sample.replace(penalties=pd.concat([sample.penalties, stranger], ignore_index=True))
    names = ["list_entries", "annual_reports", "penalties", "licenses", "inspections"]
    for order in (names, names[::-1]):
        src = Source(tables)
        for name in order:
            frame = getattr(tables, name)
            np.testing.assert_array_equal(src.pos(name), positions(frame["entity_id"], ids))
    assert src.pos("penalties")[-3:].tolist() == [-1, 5, -1]


def test_last_per_entity_matches_a_stable_sort():
    from creditrisk.features.source import last_per_entity

    def by_sort(ent, key):  # the definition: sort by entity then key, keep each last
        order = np.lexsort((key, ent))
        return order[np.r_[ent[order][1:] != ent[order][:-1], True]]

    rng = np.random.default_rng(7)
    for size, keys in [(1, 3), (50, 2), (5_000, 40), (5_000, 10**12)]:
        ent = rng.integers(0, 300, size)
        key = rng.integers(-keys, keys, size)
        np.testing.assert_array_equal(last_per_entity(ent, key), by_sort(ent, key))
        # float keys, unknown entities (-1) and keys too wide to code in 64 bits
        for e, k in [(ent, key + 0.5), (ent - 1, key), (ent, key * 2**20)]:
            np.testing.assert_array_equal(last_per_entity(e, k), by_sort(e, k))
    assert last_per_entity(np.array([], dtype=np.int64), np.array([])).tolist() == []


@pytest.mark.parametrize(
    ("entity_id", "as_of", "expected"),
    [
        # l2 open since 2021-07-15 (382 days); l3 removal dated as_of not in effect yet;
        # l4 listed on as_of not known; total 235 (l1) + 382 (l2) + 943 (l3)
        (
            "LST",
            "2022-08-01",
            {
                "on_abnormal_list": 1,
                "abnormal_reason": "unreachable_at_address",
                "days_on_abnormal_list": 382.0,
                "on_serious_list": 1,
                "times_listed": 3,
                "times_listed_serious": 1,
                "days_listed_total": 235.0 + 382.0 + 943.0,
                "list_removals_restored": 1,
            },
        ),
        # l4 (the latest abnormal entry) now known: 1 day; l3 removed (expired, not restored)
        (
            "LST",
            "2022-08-02",
            {
                "on_abnormal_list": 1,
                "abnormal_reason": "disclosure_not_made",
                "days_on_abnormal_list": 1.0,
                "on_serious_list": 0,
                "times_listed": 4,
                "times_listed_serious": 1,
                "days_listed_total": 235.0 + 383.0 + 943.0 + 1.0,
                "list_removals_restored": 1,
            },
        ),
        # removed by restoration before as_of: off the list
        (
            "LST_RESTORED",
            "2022-08-01",
            {
                "on_abnormal_list": 0,
                "abnormal_reason": None,
                "days_on_abnormal_list": 0.0,
                "on_serious_list": 0,
                "times_listed": 1,
                "days_listed_total": 179.0,
                "list_removals_restored": 1,
            },
        ),
        # removed on the as-of date itself: still listed
        (
            "LST_RESTORED",
            "2021-01-05",
            {
                "on_abnormal_list": 1,
                "abnormal_reason": "annual_report_not_filed",
                "days_on_abnormal_list": 179.0,
                "times_listed": 1,
                "days_listed_total": 179.0,
                "list_removals_restored": 0,
            },
        ),
    ],
)
def test_hand_list_entries(hand: EventTables, entity_id, as_of, expected):
    check_values(feature_row(hand, entity_id, as_of), expected)


# =====================================================================================
# 3. Property tests: nothing known on or after as_of moves a feature row
# =====================================================================================
SAMPLE = cr.load_sample()
LO, HI, END = pd.Timestamp("2019-01-01"), pd.Timestamp("2025-12-01"), pd.Timestamp("2025-12-31")


def _choose_entities() -> tuple[list[str], list[str]]:
    """~150 entities with licenses, penalties, inspections and list entries, and anchors.

    Entities with a restored penalty come first; the rest are evenly spaced by id. Two
    anchors (first registration, last known date) keep the data span of the subset equal
    to the sample's; they are never drawn, so editing a drawn entity cannot move it.
    """
    first, last = data_span(SAMPLE)
    ent = SAMPLE.enterprises
    anchors = [str(ent.loc[ent["registered_on"] == first, "entity_id"].iloc[0])]
    for table, columns in KNOWN_DATE_COLUMNS.items():
        frame = getattr(SAMPLE, table)
        hit = np.zeros(len(frame), dtype=bool)
        for column in columns:
            hit |= (frame[column] == last).to_numpy()
        if hit.any():
            anchors.append(str(frame.loc[hit, "entity_id"].iloc[0]))
            break
    sets = [set(getattr(SAMPLE, t)["entity_id"]) for t in EVENT_TABLES[1:]]
    registered = ent.set_index("entity_id")["registered_on"]
    rich = sorted(
        e for e in set.intersection(*sets) if registered[e] < HI and e not in set(anchors)
    )
    restored = set(SAMPLE.penalties.loc[SAMPLE.penalties["restored_on"].notna(), "entity_id"])
    first_ones = [e for e in rich if e in restored]
    others = [e for e in rich if e not in restored]
    take = np.linspace(0, len(others) - 1, 148 - len(first_ones)).round().astype(int)
    chosen = first_ones + [others[i] for i in sorted(set(take))]
    return chosen, anchors


CANDIDATES, ANCHORS = _choose_entities()
BASE = SAMPLE.subset(CANDIDATES + ANCHORS)
REGISTERED = {
    str(k): pd.Timestamp(v).normalize()
    for k, v in BASE.enterprises.set_index("entity_id")["registered_on"].items()
}
LICENSE_TYPES = (*SAMPLE.licenses["license_type"].cat.categories, "novel_permit")
PENALTY_AREAS = (*SAMPLE.penalties["category"].cat.categories, "novel_area")


def _interesting_dates() -> dict[str, list[pd.Timestamp]]:
    """Per entity: every event date of its rows, and the days either side."""
    out: dict[str, set] = {e: set() for e in CANDIDATES}
    for table in EVENT_TABLES:
        frame = getattr(BASE, table)
        for column in frame.columns:
            if frame[column].dtype.kind != "M":
                continue
            for entity, value in zip(frame["entity_id"], frame[column], strict=True):
                if entity in out and pd.notna(value):
                    day = pd.Timestamp(value).normalize()
                    out[entity].update((day - DAY, day, day + DAY))
    return {e: sorted(d for d in v if LO <= d <= HI and d > REGISTERED[e]) for e, v in out.items()}


NEAR_EVENTS = _interesting_dates()

#: no example database (nothing written to the work tree) and no shrinking: a failing
#: example is reported as drawn (every draw is labelled), so a failing run stays fast
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_property_base_keeps_the_sample_span():
    assert len(CANDIDATES) >= 140
    assert data_span(BASE) == data_span(SAMPLE)
    for table in EVENT_TABLES[1:]:
        assert getattr(BASE, table)["entity_id"].isin(CANDIDATES).sum() > 100, table


def a_date(draw, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Timestamp:
    """A day in [lo, hi], often one of the two ends (as_of itself is the usual edge)."""
    lo, hi = pd.Timestamp(lo).normalize(), pd.Timestamp(hi).normalize()
    if hi <= lo:
        return lo
    n = (hi - lo).days
    return lo + DAY * draw(st.one_of(st.sampled_from([0, n]), st.integers(0, n)))


def later_or_never(draw, as_of: pd.Timestamp):
    """Empty, as_of itself, or a later day: a date that is not in effect on as_of."""
    choice = draw(st.sampled_from(["never", "on as_of", "later"]))
    if choice == "never":
        return None
    return as_of if choice == "on as_of" else a_date(draw, as_of + DAY, END)


def maybe(draw, value):
    return value if draw(st.booleans()) else None


def deadline(year: int) -> pd.Timestamp:
    return pd.Timestamp(year + 1, 6, 30)


@st.composite
def points(draw) -> tuple[str, pd.Timestamp]:
    """An entity and an as-of date after its registration, often next to one of its events."""
    entity = draw(st.sampled_from(CANDIDATES))
    lo = max(LO, REGISTERED[entity] + DAY)
    near = NEAR_EVENTS[entity]
    if near and draw(st.booleans()):
        return entity, draw(st.sampled_from(near))
    return entity, a_date(draw, lo, HI)


def _figures(draw) -> dict:
    amounts = st.sampled_from([None, 0.0, 1_000.0, 2_500_000.0])
    return {
        "employees": draw(st.one_of(st.none(), st.integers(0, 300))),
        "revenue": draw(amounts),
        "assets": draw(amounts),
        "liabilities": draw(amounts),
        "tax_paid": draw(amounts),
    }


def future_event(draw, table: str, entity: str, as_of: pd.Timestamp, key: str, year=None):
    """A row of ``table`` for ``entity`` known on or after ``as_of`` (its own dates may be
    earlier: a penalty decided, or an inspection made, before as_of)."""
    registered = REGISTERED[entity]
    known = a_date(draw, as_of, END)
    if table == "annual_reports":
        first_day = max(as_of, pd.Timestamp(year + 1, 1, 1))
        filed = maybe(draw, a_date(draw, first_day, max(first_day, END)))
        return {"entity_id": entity, "report_year": year, "filed_on": filed, **_figures(draw)}
    if table == "licenses":
        return {
            "license_id": key,
            "entity_id": entity,
            "license_type": draw(st.sampled_from(LICENSE_TYPES)),
            "issued_on": known,
            "expires_on": maybe(draw, known + DAY * draw(st.integers(0, 4000))),
            "revoked_on": maybe(draw, known + DAY * draw(st.integers(0, 2000))),
        }
    if table == "penalties":
        return {
            "penalty_id": key,
            "entity_id": entity,
            "decided_on": max(registered, known - DAY * draw(st.integers(0, 1500))),
            "published_on": known,
            "severity": draw(st.sampled_from(SEVERITIES)),
            "measure": draw(st.sampled_from(MEASURES)),
            "fine_amount": draw(st.sampled_from([0.0, 500.0, 80_000.0, 3_000_000.0])),
            "category": draw(st.sampled_from(PENALTY_AREAS)),
            "disclosure_ends_on": maybe(draw, known + DAY * draw(st.integers(0, 1500))),
            "restored_on": maybe(draw, known + DAY * draw(st.integers(0, 1500))),
        }
    if table == "inspections":
        return {
            "inspection_id": key,
            "entity_id": entity,
            "inspected_on": max(registered, known - DAY * draw(st.integers(0, 1200))),
            "kind": draw(st.sampled_from(INSPECTION_KINDS)),
            "outcome": draw(st.sampled_from(OUTCOMES)),
            "inspector_1": "IN_NEW_1",
            "inspector_2": maybe(draw, "IN_NEW_2"),
            "published_on": known,
        }
    assert table == "list_entries"
    removed = maybe(draw, known + DAY * draw(st.integers(0, 1500)))
    return {
        "entry_id": key,
        "entity_id": entity,
        "list": draw(st.sampled_from(LISTS)),
        "reason": draw(st.sampled_from(LIST_REASONS)),
        "listed_on": known,
        "removed_on": removed,
        "removal_reason": None if removed is None else draw(st.sampled_from(REMOVAL_REASONS)),
    }


def known_after(frame: pd.DataFrame, table: str, as_of: pd.Timestamp) -> np.ndarray:
    """Rows whose known date is on or after as_of (an unfiled report: never known)."""
    known = frame[TABLES[table].known_date]
    return (known.isna() | (known >= as_of)).to_numpy()


def with_objects(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose category columns accept any value (EventTables re-types them)."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    return frame.astype({c: "object" for c in cats})


def assert_same_row(before: pd.DataFrame, after: pd.DataFrame, what: str) -> None:
    try:
        pdt.assert_frame_equal(after, before)
    except AssertionError as err:
        diff = before.iloc[0].compare(after.iloc[0], result_names=("before", "after"))
        raise AssertionError(f"{what} changed the features:\n{diff}\n{err}") from None


@PROPERTY
@given(data=st.data())
def test_property_adding_future_events_changes_nothing(data):
    entity, as_of = data.draw(points(), label="entity, as_of")
    spec = data.draw(st.sampled_from(SPECS), label="spec")
    before = features(BASE, entity, as_of, spec)
    tables = data.draw(
        st.lists(st.sampled_from(EVENT_TABLES), min_size=1, max_size=5), label="tables"
    )
    years = set(BASE.annual_reports.loc[BASE.annual_reports["entity_id"] == entity, "report_year"])
    new: dict[str, list[dict]] = {}
    for n, table in enumerate(tables):
        year = None
        if table == "annual_reports":  # a report not due yet on as_of, not in the table
            free = [y for y in range(as_of.year - 1, 2031) if deadline(y) >= as_of]
            year = data.draw(st.sampled_from([y for y in free if y not in years]))
            years.add(year)
        row = future_event(data.draw, table, entity, as_of, f"NEW{n:03d}", year)
        new.setdefault(table, []).append(row)
    added = {t: pd.DataFrame(rows) for t, rows in new.items()}
    frames = {
        t: pd.concat([with_objects(getattr(BASE, t)), with_objects(rows)], ignore_index=True)
        for t, rows in added.items()
    }
    after = features(BASE.replace(**frames), entity, as_of, spec)
    assert_same_row(before, after, f"adding {added}")


@PROPERTY
@given(data=st.data())
def test_property_deleting_future_events_changes_nothing(data):
    entity, as_of = data.draw(points(), label="entity, as_of")
    spec = data.draw(st.sampled_from(SPECS), label="spec")
    before = features(BASE, entity, as_of, spec)
    frames = {}
    for table in EVENT_TABLES:
        frame = getattr(BASE, table)
        rows = np.flatnonzero(known_after(frame, table, as_of) & (frame["entity_id"] == entity))
        if not len(rows):
            continue
        if data.draw(st.booleans(), label=f"all of {table}"):
            chosen = rows
        else:
            picked = data.draw(st.sets(st.sampled_from(rows.tolist())), label=table)
            chosen = np.array(sorted(picked), dtype=np.int64)
        if not len(chosen):
            continue
        frame = frame.copy()
        if table == "annual_reports":
            # a due report's row stays (it is due whether or not filed): drop its filing;
            # the row of a report not yet due goes
            due = frame.loc[chosen, "report_year"].map(deadline) < as_of
            frame.loc[chosen[due.to_numpy()], "filed_on"] = pd.NaT
            frame = frame.drop(index=chosen[~due.to_numpy()])
        else:
            frame = frame.drop(index=chosen)
        frames[table] = frame.reset_index(drop=True)
    after = features(BASE.replace(**frames), entity, as_of, spec)
    assert_same_row(before, after, f"deleting rows of {sorted(frames)}")


@PROPERTY
@given(data=st.data())
def test_property_changing_future_facts_changes_nothing(data):
    entity, as_of = data.draw(points(), label="entity, as_of")
    spec = data.draw(st.sampled_from(SPECS), label="spec")
    before = features(BASE, entity, as_of, spec)
    frames, changes = {}, []
    for table in EVENT_TABLES:
        frame = with_objects(getattr(BASE, table))
        mine = (frame["entity_id"] == entity).to_numpy()
        later = known_after(frame, table, as_of)
        key = TABLES[table].key[0]
        # rows known on or after as_of: any column may change (known date stays >= as_of)
        for i in np.flatnonzero(mine & later):
            if not data.draw(st.booleans()):
                continue
            year = int(frame.at[i, "report_year"]) if table == "annual_reports" else None
            row = future_event(data.draw, table, entity, as_of, frame.at[i, key], year)
            for column, value in row.items():
                frame.at[i, column] = value
            changes.append((table, i, row))
        # rows known before as_of: only dates still in the future may move (to the future)
        for i in np.flatnonzero(mine & ~later):
            fresh = pending_changes(data.draw, table, frame, i, as_of)
            if fresh and data.draw(st.booleans()):
                for column, value in fresh.items():
                    frame.at[i, column] = value
                changes.append((table, i, fresh))
        if any(c[0] == table for c in changes):
            frames[table] = frame
    after = features(BASE.replace(**frames), entity, as_of, spec)
    assert_same_row(before, after, f"changing {changes}")


def _future(value, as_of: pd.Timestamp) -> bool:
    """An empty date, or one on or after as_of: not in effect yet."""
    return pd.isna(value) or value >= as_of


def pending_changes(draw, table: str, frame: pd.DataFrame, i: int, as_of: pd.Timestamp) -> dict:
    """New values for the dates of row ``i`` (known before as_of) not in effect on as_of:
    a revocation, restoration or removal moves to never, to as_of or later; a disclosure
    end on or after as_of moves to another day on or after as_of."""
    fresh: dict[str, object] = {}
    if table == "licenses" and _future(frame.at[i, "revoked_on"], as_of):
        fresh["revoked_on"] = later_or_never(draw, as_of)
    if table == "penalties":
        if _future(frame.at[i, "restored_on"], as_of):
            fresh["restored_on"] = later_or_never(draw, as_of)
        ends = frame.at[i, "disclosure_ends_on"]
        if pd.notna(ends) and ends >= as_of:
            fresh["disclosure_ends_on"] = a_date(draw, as_of, END + 1500 * DAY)
    if table == "list_entries" and _future(frame.at[i, "removed_on"], as_of):
        removed = later_or_never(draw, as_of)
        fresh["removed_on"] = removed
        fresh["removal_reason"] = (
            None if removed is None else draw(st.sampled_from(REMOVAL_REASONS))
        )
    return fresh


#: per table, rows of drawn entities with a revocation / restoration / removal that is
#: empty or falls after the day they became known (so some as_of sees it pending)
_PENDING_DATE = {"licenses": "revoked_on", "penalties": "restored_on", "list_entries": "removed_on"}


def _pending_rows() -> dict[str, list[int]]:
    out = {}
    for table, column in _PENDING_DATE.items():
        frame = getattr(BASE, table)
        effect = frame[column].fillna(HI).clip(upper=HI)
        ok = frame["entity_id"].isin(CANDIDATES) & (frame[TABLES[table].known_date] + DAY <= effect)
        out[table] = frame.index[ok].tolist()
    return out


PENDING = _pending_rows()


@PROPERTY
@given(data=st.data())
def test_property_moving_pending_dates_changes_nothing(data):
    """A revocation, restoration or removal not in effect on as_of (empty, on as_of or
    later) may move anywhere not before as_of; a disclosure end may move but stay on or
    after as_of: the features on as_of stay the same."""
    table = data.draw(st.sampled_from(sorted(PENDING)), label="table")
    i = data.draw(st.sampled_from(PENDING[table]), label="row")
    frame = with_objects(getattr(BASE, table))
    entity = frame.at[i, "entity_id"]
    known = pd.Timestamp(frame.at[i, TABLES[table].known_date]).normalize()
    effect = frame.at[i, _PENDING_DATE[table]]
    effect = HI if pd.isna(effect) else min(pd.Timestamp(effect).normalize(), HI)
    as_of = a_date(data.draw, max(known, REGISTERED[entity]) + DAY, effect)
    data.draw(st.just(as_of), label="as_of")
    spec = data.draw(st.sampled_from(SPECS), label="spec")
    before = features(BASE, entity, as_of, spec)
    fresh = pending_changes(data.draw, table, frame, i, as_of)
    assert _PENDING_DATE[table] in fresh
    for column, value in fresh.items():
        frame.at[i, column] = value
    after = features(BASE.replace(**{table: frame}), entity, as_of, spec)
    assert_same_row(before, after, f"moving {fresh} of {table} row {i}")


def test_property_pending_pools_are_large():
    assert all(len(rows) > 30 for rows in PENDING.values()), {t: len(r) for t, r in PENDING.items()}


def _penalty_rows(mask: pd.Series) -> list[int]:
    pen = BASE.penalties
    return pen.index[mask & pen["entity_id"].isin(CANDIDATES)].tolist()


_PEN = BASE.penalties
RESTORABLE = _penalty_rows(
    _PEN["severity"].isin(["general", "serious"])
    & _PEN["disclosure_ends_on"].notna()
    & (_PEN["published_on"] + DAY <= _PEN["disclosure_ends_on"].clip(upper=HI))
)
EXPIRED = _penalty_rows(
    ((_PEN["severity"] == "warning") & (_PEN["published_on"] + DAY <= HI))
    | (_PEN["disclosure_ends_on"].notna() & (_PEN["disclosure_ends_on"] + DAY <= HI))
)


def _edited_penalty(i: int, **values) -> EventTables:
    frame = BASE.penalties.copy()
    for column, value in values.items():
        frame.at[i, column] = value
    return BASE.replace(penalties=frame)


def test_property_penalty_pools_are_large():
    assert len(RESTORABLE) > 50
    assert len(EXPIRED) > 50


@PROPERTY
@given(data=st.data())
def test_property_restoration_policy(data):
    """A general or serious penalty published before as_of and disclosed through it counts
    unless restored before as_of under "exclude"; under "include" it always counts."""
    i = data.draw(st.sampled_from(RESTORABLE), label="penalty row")
    pen = BASE.penalties.loc[i]
    entity, severity = pen["entity_id"], pen["severity"]
    published = pd.Timestamp(pen["published_on"]).normalize()
    lo, hi = published + DAY, min(pd.Timestamp(pen["disclosure_ends_on"]).normalize(), HI)
    as_of = data.draw(st.sampled_from([lo, hi, a_date(data.draw, lo, hi)]), label="as_of")
    spec = FeatureSpec(
        penalty_counting=data.draw(st.sampled_from(["disclosed", "known"])),
        restored_penalties=data.draw(st.sampled_from(["exclude", "include"])),
    )
    restored_before = a_date(data.draw, published, as_of - DAY)
    restored_later = a_date(data.draw, as_of, END)
    column = f"penalties_{severity}_all"

    def row(tables: EventTables) -> pd.Series:
        return feature_row(tables, entity, as_of, spec)

    without = row(BASE.replace(penalties=BASE.penalties.drop(index=i)))
    never = row(_edited_penalty(i, restored_on=pd.NaT))
    later = row(_edited_penalty(i, restored_on=restored_later))
    earlier = row(_edited_penalty(i, restored_on=restored_before))
    # not restored, or restored on/after as_of: it counts
    assert never[column] == without[column] + 1
    assert later[column] == without[column] + 1
    # restored before as_of: counts only when the policy includes restored penalties
    expected = 1 if spec.restored_penalties == "include" else 0
    assert earlier[column] == without[column] + expected
    assert earlier[column] - never[column] == (0 if expected else -1)
    assert earlier["penalties_restored"] == never["penalties_restored"] + 1
    assert later["penalties_restored"] == never["penalties_restored"]


@PROPERTY
@given(data=st.data())
def test_property_disclosure_policy(data):
    """A penalty no longer disclosed (or a warning, never disclosed) is invisible under
    "disclosed" and counts under "known"."""
    i = data.draw(st.sampled_from(EXPIRED), label="penalty row")
    pen = BASE.penalties.loc[i]
    entity, severity = pen["entity_id"], pen["severity"]
    if pd.isna(pen["disclosure_ends_on"]):  # a warning: never disclosed
        lo = pd.Timestamp(pen["published_on"]).normalize() + DAY
    else:  # disclosure over
        lo = pd.Timestamp(pen["disclosure_ends_on"]).normalize() + DAY
    as_of = data.draw(st.sampled_from([lo, a_date(data.draw, lo, HI)]), label="as_of")
    counting = data.draw(st.sampled_from(["disclosed", "known"]), label="counting")
    spec = FeatureSpec(
        penalty_counting=counting,
        restored_penalties=data.draw(st.sampled_from(["exclude", "include"])),
    )
    with_it = features(_edited_penalty(i, restored_on=pd.NaT), entity, as_of, spec)
    without = features(BASE.replace(penalties=BASE.penalties.drop(index=i)), entity, as_of, spec)
    column = f"penalties_{severity}_all"
    if counting == "disclosed":
        assert_same_row(without, with_it, f"a penalty no longer disclosed ({pen.to_dict()})")
    else:
        assert with_it[column].iloc[0] == without[column].iloc[0] + 1


# =====================================================================================
# 4. and 5. Many dates at once, row order and index
# =====================================================================================
AS_OF_DATES = ["2019-07-01", "2021-01-15", "2023-07-01", "2025-12-01"]


def test_many_dates_equal_one_date_at_a_time(sample: EventTables):
    spine = cr.spine(sample, AS_OF_DATES)
    assert spine["as_of"].nunique() == 4
    together = build_features(sample, spine)
    one_by_one = pd.concat(
        [build_features(sample, spine[spine["as_of"] == day]) for day in spine["as_of"].unique()]
    )
    pdt.assert_frame_equal(together, one_by_one)


def test_many_dates_in_mixed_order_equal_one_date_at_a_time(sample: EventTables):
    spine = cr.spine(sample, AS_OF_DATES).sample(frac=1.0, random_state=3)
    together = build_features(sample, spine)
    one_by_one = pd.concat(
        [build_features(sample, spine[spine["as_of"] == day]) for day in spine["as_of"].unique()]
    ).loc[spine.index]
    pdt.assert_frame_equal(together, one_by_one)


def test_row_order_and_index_follow_the_spine(sample: EventTables):
    spine = cr.spine(sample, ["2022-01-01", "2024-07-01"])
    spine.index = pd.Index([f"row{i}" for i in range(len(spine))], name="row")
    ordered = build_features(sample, spine)
    assert ordered.index.equals(spine.index)
    shuffled = spine.sample(frac=1.0, random_state=11)
    X = build_features(sample, shuffled)
    assert X.index.equals(shuffled.index)
    assert (X["entity_id"].to_numpy() == shuffled["entity_id"].to_numpy()).all()
    assert (X["as_of"].to_numpy() == shuffled["as_of"].to_numpy()).all()
    pdt.assert_frame_equal(X, ordered.loc[shuffled.index])
    # an integer index that is not 0..n-1
    numbered = shuffled.set_axis(np.arange(len(shuffled))[::-1] * 7 + 5, axis=0)
    Y = build_features(sample, numbered)
    assert Y.index.equals(numbered.index)
    pdt.assert_frame_equal(Y.reset_index(drop=True), X.reset_index(drop=True))


def test_one_row_alone_equals_its_row_in_the_batch(sample: EventTables):
    spine = cr.spine(sample, ["2022-01-01", "2024-07-01"]).sample(frac=1.0, random_state=5)
    batch = build_features(sample, spine)
    penalised = set(sample.penalties["entity_id"]) & set(sample.list_entries["entity_id"])
    rows = [spine.index[0], spine.index[-1]]
    rows += spine.index[spine["entity_id"].isin(penalised)][:3].tolist()
    for label in rows:
        alone = build_features(sample, spine.loc[[label]])
        pdt.assert_frame_equal(alone, batch.loc[[label]])


# =====================================================================================
# 6. Bad input
# =====================================================================================
def test_unknown_entity_is_named(sample: EventTables):
    spine = pd.DataFrame({"entity_id": ["E0000008", "NOT_AN_ENTITY"], "as_of": ["2023-01-01"] * 2})
    with pytest.raises(ValueError, match="NOT_AN_ENTITY"):
        build_features(sample, spine)


@pytest.mark.parametrize("as_of", ["2030-01-01", "1900-01-01"])
def test_as_of_outside_the_data(sample: EventTables, as_of):
    spine = pd.DataFrame({"entity_id": ["E0000008"], "as_of": [as_of]})
    with pytest.raises(ValueError, match="outside the data"):
        build_features(sample, spine)


def test_spine_without_as_of(sample: EventTables):
    with pytest.raises(ValueError):
        build_features(sample, pd.DataFrame({"entity_id": ["E0000008"]}))
    with pytest.raises(ValueError):
        build_features(sample, pd.DataFrame({"entity_id": ["E0000008"], "date": ["2023-01-01"]}))


def test_as_of_on_or_before_registration(sample: EventTables):
    ent = sample.enterprises
    late = ent[ent["registered_on"] > pd.Timestamp("2022-01-01")].iloc[0]
    registered = pd.Timestamp(late["registered_on"])
    for as_of in (registered, registered - DAY):
        spine = pd.DataFrame({"entity_id": [late["entity_id"]], "as_of": [as_of]})
        with pytest.raises(ValueError, match="registration"):
            build_features(sample, spine)
    ok = pd.DataFrame({"entity_id": [late["entity_id"]], "as_of": [registered + DAY]})
    assert len(build_features(sample, ok)) == 1


# =====================================================================================
# 7. FeatureBuilder
# =====================================================================================
def test_feature_builder_fit_transform(sample: EventTables):
    spine = cr.spine(sample, ["2023-07-01", "2024-07-01"]).iloc[::7]
    fb = FeatureBuilder(sample)
    X = fb.fit(spine).transform(spine)
    assert list(X.index.names) == KEYS
    assert list(X.columns) == list(fb.get_feature_names_out())
    assert list(X.columns) == list(cr.feature_catalogue(sample).query("built").index)
    expected = build_features(sample, spine).set_index(KEYS)
    pdt.assert_frame_equal(X, expected)
    Xf = FeatureBuilder(sample).fit_transform(spine)
    pdt.assert_frame_equal(Xf, X)


def test_feature_builder_with_a_spec(sample: EventTables):
    spine = cr.spine(sample, "2024-07-01").iloc[:300]
    spec = FeatureSpec(penalty_counting="known", features=("penalties_minor_all", "age_years"))
    fb = FeatureBuilder(sample, spec).fit(spine)
    X = fb.transform(spine)
    assert sorted(fb.get_feature_names_out()) == ["age_years", "penalties_minor_all"]
    assert list(X.columns) == list(fb.get_feature_names_out())


def test_feature_builder_clone_shares_the_tables(sample: EventTables):
    spine = cr.spine(sample, "2024-07-01").iloc[:100]
    fb = FeatureBuilder(sample, FeatureSpec(restored_penalties="include")).fit(spine)
    copy = clone(fb)
    assert copy.tables is fb.tables
    assert copy.spec == fb.spec
    with pytest.raises(ValueError):
        copy.transform(spine)  # a clone is not fitted
    pdt.assert_frame_equal(copy.fit(spine).transform(spine), fb.transform(spine))


def test_feature_builder_transform_before_fit_raises(sample: EventTables):
    spine = cr.spine(sample, "2024-07-01").iloc[:10]
    with pytest.raises(ValueError):
        FeatureBuilder(sample).transform(spine)
    with pytest.raises(ValueError):
        FeatureBuilder().fit(spine)


def test_an_empty_spine_gives_empty_features_and_labels_of_the_right_types():
    tables = cr.load_sample()
    full = cr.spine(tables, "2024-07-01")
    empty = full.iloc[:0]
    features = cr.build_features(tables, empty)
    labels = cr.build_labels(tables, empty)
    assert len(features) == 0 and len(labels) == 0
    expected = cr.build_features(tables, full.iloc[:5]).dtypes
    pd.testing.assert_series_equal(features.dtypes, expected)
