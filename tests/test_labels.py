"""Labels: the three outcomes, the window [as_of, as_of + horizon) and publication rule.

Exact values come from small hand-built tables: one entity ("E1") carries the events of
a case, a second ("E2") has none, and a third ("LATE") registered and inspected on
2025-12-31 makes the labels' source, the published inspections, run to that day. On
the sample, labels are checked against a direct pandas computation of the rules in
:mod:`creditrisk.features.labels`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk import EventTables
from creditrisk.data.schema import LISTS, TABLE_NAMES, empty_table
from creditrisk.data.spine import data_span

NAN = np.nan
AS_OF = pd.Timestamp("2023-07-01")
LAST = pd.Timestamp("2025-12-31")
OUTCOMES = ("inspection_finding", "any_finding", "adverse_event")


def day(offset: int) -> pd.Timestamp:
    """``AS_OF`` plus ``offset`` days (day(365) is the first day after a 365-day window)."""
    return AS_OF + pd.Timedelta(days=offset)


# -- hand-built tables --------------------------------------------------------------------
def insp(on: int, kind: str = "random", outcome: str = "issues_found", published=None) -> dict:
    """An inspection of E1 ``on`` days after AS_OF, published 5 days later by default."""
    return {
        "entity_id": "E1",
        "inspected_on": day(on),
        "kind": kind,
        "outcome": outcome,
        "inspector_1": "IN1",
        "inspector_2": None,
        "published_on": day(on + 5 if published is None else published),
    }


def pen(decided: int, published: int | None = None) -> dict:
    return {
        "entity_id": "E1",
        "decided_on": day(decided),
        "published_on": day(decided + 5 if published is None else published),
        "severity": "general",
        "measure": "fine",
        "fine_amount": 5000.0,
        "category": "food_safety",
        "disclosure_ends_on": day(decided + 5 + 3 * 365),
        "restored_on": None,
    }


def listing(on: int, which: str = "abnormal_operation") -> dict:
    return {
        "entity_id": "E1",
        "list": which,
        "reason": "serious_violation" if which == "serious_illegal" else "unreachable_at_address",
        "listed_on": day(on),
        "removed_on": None,
        "removal_reason": None,
    }


def frame(table: str, rows: list[dict], id_column: str, prefix: str) -> pd.DataFrame:
    if not rows:
        return empty_table(table)
    out = pd.DataFrame(rows)
    out.insert(0, id_column, [f"{prefix}{i}" for i in range(len(rows))])
    return out


def make_tables(inspections=(), penalties=(), list_entries=()) -> EventTables:
    ent = pd.DataFrame(
        {
            "entity_id": ["E1", "E2", "LATE"],
            "entity_type": ["company", "sole_proprietor", "company"],
            "industry": "retail",
            "key_sector": "none",
            "region": "north",
            "registered_capital": 1e6,
            "registered_on": ["2015-03-02", "2016-05-10", str(LAST.date())],
            "deregistered_on": None,
        }
    )
    frames = {t: empty_table(t) for t in TABLE_NAMES}
    frames["enterprises"] = ent
    late = {**insp(0), "entity_id": "LATE", "inspected_on": LAST, "published_on": LAST}
    rows = [*inspections, {**late, "outcome": "compliant"}]
    frames["inspections"] = frame("inspections", rows, "inspection_id", "CHK")
    frames["penalties"] = frame("penalties", list(penalties), "penalty_id", "PEN")
    frames["list_entries"] = frame("list_entries", list(list_entries), "entry_id", "LST")
    return EventTables(**frames)


def labels_of(tables: EventTables, outcome: str, horizon="365D", as_of=AS_OF) -> dict:
    s = cr.spine(tables, as_of)
    assert s["entity_id"].tolist() == ["E1", "E2"]
    y = cr.build_labels(tables, s, outcome=outcome, horizon=horizon)
    assert y.name == outcome
    assert y.index.equals(s.index)
    return dict(zip(s["entity_id"], y.to_numpy(), strict=True))


def same(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or a == b


def test_hand_built_tables_end_on_the_last_day() -> None:
    assert data_span(make_tables())[1] == LAST
    assert day(365) == pd.Timestamp("2024-06-30")  # 2024 is a leap year


# -- inspection outcomes ------------------------------------------------------------------
# (case, inspections of E1, inspection_finding, any_finding, adverse_event)
INSPECTION_CASES = [
    ("random issues inside", [insp(100)], 1, 1, 1),
    ("random not found at address", [insp(50, outcome="not_found_at_address")], 1, 1, 1),
    (
        "only compliant random",
        [insp(30, outcome="compliant"), insp(200, outcome="compliant")],
        0,
        0,
        0,
    ),
    ("random compliant and random issues", [insp(30, outcome="compliant"), insp(200)], 1, 1, 1),
    (
        "targeted and complaint issues, no random",
        [insp(50, "targeted"), insp(60, "complaint")],
        NAN,
        1,
        1,
    ),
    ("joint not found, no random", [insp(50, "joint", "not_found_at_address")], NAN, 1, 1),
    (
        "targeted issues and random compliant",
        [insp(50, "targeted"), insp(80, outcome="compliant")],
        0,
        1,
        1,
    ),
    ("targeted compliant only", [insp(50, "targeted", "compliant")], NAN, 0, 0),
    ("no inspection", [], NAN, NAN, 0),
    ("on as_of itself", [insp(0, published=0)], 1, 1, 1),
    ("last day of the window", [insp(364, published=364)], 1, 1, 1),
    ("on as_of + horizon", [insp(365, published=365)], NAN, NAN, 0),
    ("day before as_of, published inside", [insp(-1, published=3)], NAN, NAN, 0),
    ("long before as_of", [insp(-200)], NAN, NAN, 0),
    ("inside but published on as_of + horizon", [insp(360, published=365)], NAN, NAN, 0),
    ("inside but published after the window", [insp(300, published=400)], NAN, NAN, 0),
    (
        "late-published finding and a compliant random in time",
        [insp(360, published=365), insp(100, outcome="compliant")],
        0,
        0,
        0,
    ),
    (
        "late-published targeted finding, compliant random in time",
        [insp(362, "targeted", published=366), insp(100, outcome="compliant")],
        0,
        0,
        0,
    ),
]
assert len({case[0] for case in INSPECTION_CASES}) == len(INSPECTION_CASES)


@pytest.mark.parametrize(
    ("rows", "inspection_finding", "any_finding", "adverse_event"),
    [case[1:] for case in INSPECTION_CASES],
    ids=[case[0] for case in INSPECTION_CASES],
)
def test_inspection_outcomes(rows, inspection_finding, any_finding, adverse_event) -> None:
    tables = make_tables(inspections=rows)
    expected = {
        "inspection_finding": inspection_finding,
        "any_finding": any_finding,
        "adverse_event": adverse_event,
    }
    for outcome, want in expected.items():
        got = labels_of(tables, outcome)
        assert same(got["E1"], float(want)), (outcome, got["E1"], want)
        # E2 has no events at all
        assert same(got["E2"], 0.0 if outcome == "adverse_event" else NAN), outcome


# -- adverse events: penalties and listings -----------------------------------------------
ADVERSE_CASES = [
    ("penalty decided and published inside", {"penalties": [pen(10, 20)]}, 1),
    ("penalty decided on as_of", {"penalties": [pen(0, 0)]}, 1),
    ("penalty decided and published on the last day", {"penalties": [pen(364, 364)]}, 1),
    ("penalty decided inside, published on as_of + horizon", {"penalties": [pen(360, 365)]}, 0),
    ("penalty decided before as_of, published inside", {"penalties": [pen(-1, 10)]}, 0),
    ("penalty decided on as_of + horizon", {"penalties": [pen(365, 370)]}, 0),
    ("listed on as_of", {"list_entries": [listing(0)]}, 1),
    ("listed on the last day", {"list_entries": [listing(364)]}, 1),
    ("listed before as_of, still listed", {"list_entries": [listing(-30)]}, 0),
    ("listed on as_of + horizon", {"list_entries": [listing(365)]}, 0),
    *[(f"listed inside on {which}", {"list_entries": [listing(40, which)]}, 1) for which in LISTS],
    (
        "penalty and listing outside, nothing inside",
        {"penalties": [pen(-100)], "list_entries": [listing(400)]},
        0,
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [case[1:] for case in ADVERSE_CASES],
    ids=[case[0] for case in ADVERSE_CASES],
)
def test_adverse_event_penalties_and_listings(events: dict, expected: int) -> None:
    tables = make_tables(**events)
    got = labels_of(tables, "adverse_event")
    assert got == {"E1": float(expected), "E2": 0.0}
    # penalties and listings are not inspection findings
    for outcome in ("inspection_finding", "any_finding"):
        got = labels_of(tables, outcome)
        assert np.isnan(got["E1"]) and np.isnan(got["E2"])


def test_adverse_event_is_never_undefined() -> None:
    tables = make_tables(
        inspections=[insp(-50), insp(500, "targeted")],
        penalties=[pen(-300)],
        list_entries=[listing(-10)],
    )
    got = labels_of(tables, "adverse_event")
    assert got == {"E1": 0.0, "E2": 0.0}


# -- the horizon --------------------------------------------------------------------------
@pytest.mark.parametrize("horizon", ["90D", 90, np.int64(90), pd.Timedelta(days=90), "2160h"])
def test_a_90_day_horizon_moves_the_window(horizon) -> None:
    inside = make_tables(inspections=[insp(89, published=89)])
    assert labels_of(inside, "inspection_finding", horizon)["E1"] == 1.0
    on_end = make_tables(inspections=[insp(90, published=90)])
    assert np.isnan(labels_of(on_end, "inspection_finding", horizon)["E1"])
    assert labels_of(on_end, "inspection_finding", "365D")["E1"] == 1.0
    published_late = make_tables(inspections=[insp(80, published=90)])
    assert np.isnan(labels_of(published_late, "inspection_finding", horizon)["E1"])
    assert labels_of(published_late, "inspection_finding", "365D")["E1"] == 1.0
    penalised = make_tables(penalties=[pen(85, 95)])
    assert labels_of(penalised, "adverse_event", horizon)["E1"] == 0.0
    assert labels_of(penalised, "adverse_event", "365D")["E1"] == 1.0
    listed = make_tables(list_entries=[listing(90)])
    assert labels_of(listed, "adverse_event", horizon)["E1"] == 0.0
    assert labels_of(listed, "adverse_event", 91)["E1"] == 1.0


@pytest.mark.parametrize(
    "horizon",
    ["36h", "90D12h", "1.5D", 90.5, "-90D", -90, pd.Timedelta(days=-1), "0D", 0, "a year"],
)
def test_bad_horizon_raises(horizon) -> None:
    tables = make_tables(inspections=[insp(10)])
    with pytest.raises(ValueError, match="horizon"):
        cr.build_labels(tables, cr.spine(tables, AS_OF), horizon=horizon)


# -- bad input ----------------------------------------------------------------------------
def test_unknown_outcome_lists_the_valid_names() -> None:
    tables = make_tables()
    with pytest.raises(ValueError, match="finding_rate") as err:
        cr.build_labels(tables, cr.spine(tables, AS_OF), outcome="finding_rate")
    for name in OUTCOMES:
        assert name in str(err.value)


@pytest.mark.parametrize(("horizon", "days"), [("365D", 365), ("90D", 90), (1, 1)])
def test_window_must_end_inside_the_data(horizon, days: int) -> None:
    tables = make_tables(inspections=[insp(10)])
    latest = LAST - pd.Timedelta(days=days - 1)  # window's last day is the data's last day
    y = cr.build_labels(tables, cr.spine(tables, latest), horizon=horizon)
    assert len(y) == 2
    with pytest.raises(ValueError, match="ends after what its source is known to"):
        cr.build_labels(tables, cr.spine(tables, latest + pd.Timedelta(days=1)), horizon=horizon)
    both = cr.spine(tables, [AS_OF, latest + pd.Timedelta(days=1)])
    with pytest.raises(ValueError, match="ends after what its source is known to"):
        cr.build_labels(tables, both, horizon=horizon)


def test_spine_entity_not_in_enterprises_raises() -> None:
    tables = make_tables(inspections=[insp(10)])
    spine = pd.DataFrame({"entity_id": ["E1", "NOBODY"], "as_of": [AS_OF, AS_OF]})
    with pytest.raises(ValueError, match="not in enterprises") as err:
        cr.build_labels(tables, spine)
    assert "NOBODY" in str(err.value)


def test_spine_row_before_registration_raises() -> None:
    tables = make_tables()
    spine = pd.DataFrame({"entity_id": ["E1"], "as_of": [pd.Timestamp("2015-03-02")]})
    with pytest.raises(ValueError, match="registration"):
        cr.build_labels(tables, spine)


# -- on the sample ------------------------------------------------------------------------
SAMPLE_DATES = ["2021-07-01", "2023-07-01"]


@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def sample_spine(sample: EventTables) -> pd.DataFrame:
    return cr.spine(sample, SAMPLE_DATES)


def direct_labels(tables: EventTables, spine: pd.DataFrame, outcome: str, days: int) -> pd.Series:
    """The rules of creditrisk.features.labels in plain pandas, one as-of date at a time."""
    out = pd.Series(np.nan, index=spine.index, name=outcome)
    ins, pens, lst = tables.inspections, tables.penalties, tables.list_entries
    for as_of, rows in spine.groupby("as_of"):
        start, end = pd.Timestamp(as_of), pd.Timestamp(as_of) + pd.Timedelta(days=days)
        seen = ins[
            (ins["inspected_on"] >= start)
            & (ins["inspected_on"] < end)
            & (ins["published_on"] < end)
        ]
        if outcome == "inspection_finding":
            seen = seen[seen["kind"] == "random"]
        found = set(seen.loc[seen["outcome"] != "compliant", "entity_id"])
        if outcome == "adverse_event":
            penalised = pens[
                (pens["decided_on"] >= start)
                & (pens["decided_on"] < end)
                & (pens["published_on"] < end)
            ]
            listed = lst[(lst["listed_on"] >= start) & (lst["listed_on"] < end)]
            bad = found | set(penalised["entity_id"]) | set(listed["entity_id"])
            out[rows.index] = rows["entity_id"].isin(bad).astype(float).to_numpy()
        else:
            inspected = rows["entity_id"].isin(set(seen["entity_id"]))
            value = rows["entity_id"].isin(found).astype(float).where(inspected)
            out[rows.index] = value.to_numpy()
    return out


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_sample_labels_equal_direct_computation(
    sample: EventTables, sample_spine: pd.DataFrame, outcome: str
) -> None:
    y = cr.build_labels(sample, sample_spine, outcome=outcome, horizon="365D")
    assert y.index.equals(sample_spine.index)
    expected = direct_labels(sample, sample_spine, outcome, 365)
    assert (expected == 1).any() and (expected == 0).any()
    assert expected.isna().any() == (outcome != "adverse_event")
    pd.testing.assert_series_equal(y, expected, check_dtype=False)


def test_sample_labels_with_a_90_day_horizon(sample: EventTables) -> None:
    spine = cr.spine(sample, ["2022-01-01", "2025-07-01"])
    for outcome in OUTCOMES:
        y = cr.build_labels(sample, spine, outcome=outcome, horizon=90)
        pd.testing.assert_series_equal(
            y, direct_labels(sample, spine, outcome, 90), check_dtype=False
        )


def test_share_of_defined_labels_is_share_randomly_inspected(
    sample: EventTables, sample_spine: pd.DataFrame
) -> None:
    y = cr.build_labels(sample, sample_spine, outcome="inspection_finding")
    ins = sample.inspections
    inspected = pd.Series(False, index=sample_spine.index)
    for as_of, rows in sample_spine.groupby("as_of"):
        end = pd.Timestamp(as_of) + pd.Timedelta(days=365)
        random = ins[
            (ins["kind"] == "random")
            & (ins["inspected_on"] >= as_of)
            & (ins["inspected_on"] < end)
            & (ins["published_on"] < end)
        ]
        # the publication rule matters on the sample: some are inspected in time but
        # published after the window
        late = ins[
            (ins["kind"] == "random")
            & (ins["inspected_on"] < end)
            & (ins["inspected_on"] >= end - pd.Timedelta(days=20))
            & (ins["published_on"] >= end)
        ]
        assert len(late) > 0
        inspected[rows.index] = rows["entity_id"].isin(set(random["entity_id"])).to_numpy()
    assert 0 < inspected.mean() < 1
    assert y.notna().mean() == pytest.approx(inspected.mean(), abs=0)
    assert (y.notna() == inspected).all()


def test_label_index_follows_any_spine_index(
    sample: EventTables, sample_spine: pd.DataFrame
) -> None:
    full = cr.build_labels(sample, sample_spine, outcome="inspection_finding")
    shuffled = sample_spine.sample(frac=0.5, random_state=3)
    shuffled.index = shuffled.index * 10 + 7
    y = cr.build_labels(sample, shuffled, outcome="inspection_finding")
    assert y.index.equals(shuffled.index)
    expected = full.loc[(shuffled.index - 7) // 10].to_numpy()
    np.testing.assert_array_equal(y.to_numpy(), expected)


def test_sample_as_of_whose_window_ends_after_the_data_raises(sample: EventTables) -> None:
    last = data_span(sample)[1]
    assert last == pd.Timestamp("2025-12-31")
    with pytest.raises(ValueError, match="ends after what its source is known to"):
        cr.build_labels(sample, cr.spine(sample, ["2023-07-01", "2025-07-01"]))


def test_a_later_date_in_another_table_never_makes_a_truncated_window_look_complete() -> None:
    # the inspections (the label's source) end on LAST; a license issued a year later
    # must not let a window past LAST through, as the latest date of any table would
    tables = make_tables([insp(10)])
    future = pd.DataFrame(
        {
            "license_id": ["LIC1"],
            "entity_id": ["E1"],
            "license_type": ["food_business"],
            "issued_on": [LAST + pd.Timedelta(days=365)],
        }
    )
    tables = tables.replace(licenses=future)
    assert data_span(tables)[1] == LAST + pd.Timedelta(days=365)
    s = cr.spine(tables, "2025-07-01")
    with pytest.raises(ValueError, match="last published inspection 2025-12-31"):
        cr.build_labels(tables, s, horizon="365D")
    y = cr.build_labels(tables, cr.spine(tables, "2025-01-01"), horizon="365D")
    assert y.attrs == {
        "outcome": "inspection_finding",
        "horizon": "365D",
        "kinds": ["random"],
        "finding": "outcome != 'compliant'",
    }


def test_the_model_refuses_labels_of_another_horizon(tables) -> None:
    s = cr.spine(tables, ["2021-07-01", "2023-07-01"])
    X = cr.build_features(tables, s)
    y = cr.build_labels(tables, s, horizon="180D")
    with pytest.raises(cr.ModelError, match=r"180-day horizon.*365 days"):
        cr.RiskModel(n_estimators=5).fit(X, y)
    model = cr.RiskModel(n_estimators=5, horizon="180D", min_child_samples=20).fit(X, y)
    assert model.horizon == "180D"
