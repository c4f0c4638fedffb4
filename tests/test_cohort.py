"""The spine: who is in the cohort on each as-of date, the cohort filters, as-of inputs.

Expected spines are computed directly with pandas from the rule: an entity is in the spine
at ``as_of`` when ``registered_on < as_of`` and (``deregistered_on`` is empty or
``deregistered_on >= as_of``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk import EventTables
from creditrisk.data.spine import data_span

DAY = pd.Timedelta(days=1)
#: each of these days is both some entity's registration and another's deregistration
BOUNDARY_DATES = ["2019-01-03", "2022-07-01", "2025-12-30"]


@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


def alive(tables: EventTables, as_of, mask=None) -> list[str]:
    """Entity ids in the spine at ``as_of`` by the rule, in enterprises order."""
    ent = tables.enterprises
    day = pd.Timestamp(as_of)
    keep = (ent["registered_on"] < day) & (
        ent["deregistered_on"].isna() | (ent["deregistered_on"] >= day)
    )
    if mask is not None:
        keep &= mask
    return ent.loc[keep, "entity_id"].astype(str).tolist()


def ids_by_date(spine: pd.DataFrame) -> dict[pd.Timestamp, list[str]]:
    return {
        pd.Timestamp(day): rows["entity_id"].tolist()
        for day, rows in spine.groupby("as_of", sort=True)
    }


# -- membership -------------------------------------------------------------------------
def test_spine_matches_the_registration_rule(sample: EventTables) -> None:
    ent = sample.enterprises
    for d in BOUNDARY_DATES:  # the boundaries are really exercised on these days
        day = pd.Timestamp(d)
        assert (ent["registered_on"] == day).any()
        assert (ent["deregistered_on"] == day).any()

    s = cr.spine(sample, BOUNDARY_DATES)

    assert list(s.columns) == ["entity_id", "as_of"]
    assert s["as_of"].dtype == np.dtype("datetime64[s]")
    assert pd.api.types.is_string_dtype(s["entity_id"])
    assert all(isinstance(v, str) for v in s["entity_id"])
    assert s["as_of"].is_monotonic_increasing
    assert not s.duplicated().any()
    got = ids_by_date(s)
    assert list(got) == [pd.Timestamp(d) for d in BOUNDARY_DATES]
    for d in BOUNDARY_DATES:
        assert got[pd.Timestamp(d)] == alive(sample, d), d


def test_boundaries_registered_on_excluded_deregistered_on_included(sample: EventTables) -> None:
    ent = sample.enterprises
    day = pd.Timestamp("2022-07-01")
    ids = set(cr.spine(sample, day)["entity_id"])
    registered_that_day = set(ent.loc[ent["registered_on"] == day, "entity_id"])
    deregistered_that_day = set(ent.loc[ent["deregistered_on"] == day, "entity_id"])
    deregistered_day_before = set(ent.loc[ent["deregistered_on"] == day - DAY, "entity_id"])
    assert registered_that_day and deregistered_that_day and deregistered_day_before
    assert not ids & registered_that_day
    assert deregistered_that_day <= ids
    assert not ids & deregistered_day_before


def test_spine_on_hand_built_tables() -> None:
    others = {t: cr.schema.empty_table(t) for t in cr.schema.TABLE_NAMES if t != "enterprises"}
    ent = pd.DataFrame(
        {
            "entity_id": ["A", "B", "C", "D", "E"],
            "entity_type": "company",
            "industry": "retail",
            "key_sector": "none",
            "region": "north",
            "registered_capital": 1e6,
            "registered_on": ["2010-01-01", "2020-01-01", "2020-01-02", "2010-01-01", "2010-01-01"],
            "deregistered_on": [None, None, None, "2019-12-31", "2020-01-01"],
        }
    )
    tables = EventTables(enterprises=ent, **others)
    s = cr.spine(tables, "2020-01-01")
    # B registered on as_of (not before), C after; D gone the day before; E gone on as_of
    assert s["entity_id"].tolist() == ["A", "E"]
    assert (s["as_of"] == pd.Timestamp("2020-01-01")).all()


# -- cohort filters -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "wanted"),
    [
        ("entity_type", "company"),
        ("entity_type", ["partnership", "cooperative"]),
        ("region", "district_03"),
        ("region", ("district_01", "district_12")),
        ("key_sector", "food"),
        ("key_sector", ["drug", "special_equipment"]),
        ("industry", "catering"),
        ("industry", ["healthcare", "real_estate", "agriculture"]),
    ],
)
def test_cohort_filter_keeps_exactly_the_matching_entities(
    sample: EventTables, column: str, wanted
) -> None:
    dates = ["2020-07-01", "2024-07-01"]
    s = cr.spine(sample, dates, **{column: wanted})
    values = [wanted] if isinstance(wanted, str) else list(wanted)
    mask = sample.enterprises[column].isin(values)
    got = ids_by_date(s)
    assert list(got) == [pd.Timestamp(d) for d in dates]
    for d in dates:
        expected = alive(sample, d, mask)
        assert expected, "the filter should keep someone for the test to mean anything"
        assert got[pd.Timestamp(d)] == expected


def test_cohort_filters_combine_as_and(sample: EventTables) -> None:
    ent = sample.enterprises
    s = cr.spine(
        sample,
        "2023-07-01",
        entity_type="company",
        key_sector=["food", "drug"],
        region="district_01",
    )
    mask = (
        (ent["entity_type"] == "company")
        & ent["key_sector"].isin(["food", "drug"])
        & (ent["region"] == "district_01")
    )
    expected = alive(sample, "2023-07-01", mask)
    assert expected
    assert s["entity_id"].tolist() == expected


@pytest.mark.parametrize(
    ("column", "wanted"),
    [
        ("entity_type", "corporation"),
        ("region", "district_99"),
        ("region", ["district_01", "district_99"]),
        ("key_sector", "Food"),
        ("industry", ["mining"]),
    ],
)
def test_unknown_filter_value_names_column_and_allowed_values(
    sample: EventTables, column: str, wanted
) -> None:
    allowed = sorted(sample.enterprises[column].cat.categories)
    with pytest.raises(ValueError, match=column) as err:
        cr.spine(sample, "2023-07-01", **{column: wanted})
    message = str(err.value)
    bad = wanted if isinstance(wanted, str) else wanted[-1]
    assert bad in message
    for value in allowed:
        assert value in message


# -- as-of inputs ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of",
    [
        "2023-07-01",
        pd.Timestamp("2023-07-01"),
        ["2023-07-01"],
        pd.DatetimeIndex(["2023-07-01"]),
        np.datetime64("2023-07-01"),
        ["2023-07-01", "2023-07-01", pd.Timestamp("2023-07-01")],
    ],
    ids=["str", "Timestamp", "list", "DatetimeIndex", "datetime64", "duplicates"],
)
def test_one_as_of_in_any_form(sample: EventTables, as_of) -> None:
    s = cr.spine(sample, as_of)
    assert (s["as_of"] == pd.Timestamp("2023-07-01")).all()
    assert s["entity_id"].tolist() == alive(sample, "2023-07-01")


@pytest.mark.parametrize(
    "as_of",
    [
        ["2024-07-01", "2022-07-01"],
        pd.DatetimeIndex(["2024-07-01", "2022-07-01", "2024-07-01"]),
        ("2022-07-01", "2024-07-01", "2022-07-01"),
        pd.Series(pd.to_datetime(["2024-07-01", "2022-07-01"])),
    ],
    ids=["list", "DatetimeIndex", "tuple", "Series"],
)
def test_many_as_of_sorted_and_deduplicated(sample: EventTables, as_of) -> None:
    s = cr.spine(sample, as_of)
    assert s["as_of"].is_monotonic_increasing
    got = ids_by_date(s)
    assert list(got) == [pd.Timestamp("2022-07-01"), pd.Timestamp("2024-07-01")]
    assert len(s) == len(alive(sample, "2022-07-01")) + len(alive(sample, "2024-07-01"))
    for day, ids in got.items():
        assert ids == alive(sample, day)


def test_as_of_at_the_edges_of_the_data(sample: EventTables) -> None:
    first, last = data_span(sample)
    assert first == sample.enterprises["registered_on"].min()
    # the day after the first registration: exactly the entities registered on it
    s = cr.spine(sample, first + DAY)
    assert s["entity_id"].tolist() == alive(sample, first + DAY)
    assert len(s) == (sample.enterprises["registered_on"] == first).sum()
    # one day after the last known date is still inside
    s = cr.spine(sample, last + DAY)
    assert s["entity_id"].tolist() == alive(sample, last + DAY)


@pytest.mark.parametrize(
    "as_of",
    [
        "first",  # nobody is registered strictly before the first registration
        "first - 1 year",
        "last + 2 days",
        "last + 1 year",
        ["2023-07-01", "last + 2 days"],
    ],
)
def test_as_of_outside_the_data_raises(sample: EventTables, as_of) -> None:
    first, last = data_span(sample)
    named = {
        "first": first,
        "first - 1 year": first - pd.DateOffset(years=1),
        "last + 2 days": last + 2 * DAY,
        "last + 1 year": last + pd.DateOffset(years=1),
    }
    value = [named.get(a, a) for a in as_of] if isinstance(as_of, list) else named[as_of]
    with pytest.raises(ValueError, match="outside the data"):
        cr.spine(sample, value)


def test_as_of_that_is_not_a_date_raises(sample: EventTables) -> None:
    with pytest.raises(ValueError):
        cr.spine(sample, "not a date")
    with pytest.raises(ValueError):
        cr.spine(sample, [])
