"""Validation's fast rules against a plain pandas reference, on the sample broken at random.

:mod:`creditrisk.data.validation` finds duplicate keys through integer codes (and skips
keys that strictly increase), reads the end of a report year from the year, looks entity
ids up once for every table and compares dates and amounts on NumPy arrays. Each test
here breaks the packaged sample (duplicate rows across many entities, empty keys, reports
filed early, events before registration, unknown entities, shuffled rows, odd years...)
and checks that every problem of those rules has the rows, the count and the example rows
(their order too) the plain pandas expressions give: ``DataFrame.duplicated``, the year's
end read from text, a merge with ``enterprises``, and comparisons filled with False.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk import EventTables
from creditrisk.data import validation
from creditrisk.data.schema import TABLES

#: odd report years take pandas' text path, which warns as it reads them one by one
pytestmark = pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning")

SAMPLE = cr.load_sample()
DAY = pd.Timedelta(days=1)
#: the rules whose fast paths the reference below restates
RULES = (
    "duplicate key",
    "known before event",
    "removed before listed",
    "ended before it began",
    "restoration before penalty",
    "unknown entity",
    "before registration",
    "after deregistration",
    "non-negative",
    "implausible",
    "after extraction",
)

PROPERTY = settings(
    max_examples=10,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fill(mask) -> np.ndarray:
    return mask.fillna(False).to_numpy(dtype=bool)


def reference(tables: EventTables) -> dict[tuple[str, str, str], np.ndarray]:
    """(table, column, rule) -> offending rows, by plain pandas (validation's old code)."""
    out: dict[tuple[str, str, str], np.ndarray] = {}
    for name, schema in TABLES.items():
        frame = getattr(tables, name)
        key = list(schema.key)
        out[name, ", ".join(key), "duplicate key"] = frame.duplicated(key, keep=False).to_numpy()
    for table, first, later, rule, _ in validation._DATE_ORDER:
        frame = getattr(tables, table)
        out[table, later, rule] = _fill(frame[later] < frame[first])
    reports = tables.annual_reports
    with warnings.catch_warnings():  # odd years: pandas warns it reads them one by one
        warnings.simplefilter("ignore", UserWarning)
        text = (reports["report_year"] + 1).astype("str") + "-01-01"
        year_end = pd.to_datetime(text, errors="coerce").astype("datetime64[s]")
    out["annual_reports", "filed_on", "known before event"] = _fill(reports["filed_on"] < year_end)
    ent = tables.enterprises.drop_duplicates("entity_id")[
        ["entity_id", "registered_on", "deregistered_on"]
    ]
    for name, schema in TABLES.items():
        if name == "enterprises":
            continue
        frame = getattr(tables, name)
        lives = frame[["entity_id", schema.event_date]].merge(ent, on="entity_id", how="left")
        known = frame["entity_id"].isin(ent["entity_id"]).to_numpy()
        out[name, "entity_id", "unknown entity"] = ~known
        date = lives[schema.event_date]
        out[name, schema.event_date, "before registration"] = known & _fill(
            date < lives["registered_on"]
        )
        late = known & _fill(date > lives["deregistered_on"])
        outlives = name in ("complaints", "external_lists")
        out[name, schema.event_date, "after deregistration"] = late & (not outlives)
    for table, column in validation._NON_NEGATIVE:
        out[table, column, "non-negative"] = _fill(getattr(tables, table)[column] < 0)
    limit, _ = validation._extraction_limit(tables)
    for name, schema in TABLES.items():
        frame = getattr(tables, name)
        for col in schema.columns:
            values = frame[col.name]
            if col.kind == "date":
                out[name, col.name, "implausible"] = _fill(values < validation.EARLIEST)
                if (name, col.name) not in validation._SCHEDULED:
                    out[name, col.name, "after extraction"] = _fill(values > limit)
            elif col.kind == "amount":
                out[name, col.name, "implausible"] = _fill(values.abs() > 1e15)
            elif col.kind == "count":
                out[name, col.name, "implausible"] = _fill(values > 100_000_000)
            elif col.kind == "integer":
                out[name, col.name, "implausible"] = _fill(values < 1900)
    late = _fill(reports["report_year"] > limit.year)
    out["annual_reports", "report_year", "after extraction"] = late
    return {k: v for k, v in out.items() if v.any()}


def assert_as_reference(tables: EventTables) -> list:
    """Every problem of RULES is the reference's: same rows counted, same rows shown."""
    expected = reference(tables)
    problems = validation.check(tables)
    found = {(p.table, p.column, p.rule): p for p in problems if p.rule in RULES}
    assert sorted(found) == sorted(expected)
    for where, mask in expected.items():
        problem = found[where]
        assert problem.n_rows == int(mask.sum()), where
        assert problem.rows.index.tolist() == np.flatnonzero(mask)[:5].tolist(), where
    return problems


def test_the_sample_is_sound():
    assert reference(SAMPLE) == {}
    assert validation.check(SAMPLE) == []


def _with_rows(frame: pd.DataFrame, rows, **values) -> pd.DataFrame:
    frame = frame.copy()
    for column, value in values.items():
        changed = frame[column].astype(object)
        changed.iloc[rows] = value
        frame[column] = changed
    return frame


CASES = {
    "two empty penalty ids": lambda t: {
        "penalties": _with_rows(t.penalties, [3, 9], penalty_id=None)
    },
    "one empty penalty id": lambda t: {"penalties": _with_rows(t.penalties, [3], penalty_id=None)},
    "empty entity ids in reports": lambda t: {
        "annual_reports": _with_rows(t.annual_reports, [0, 7, 8], entity_id=None)
    },
    "copied rows across many entities": lambda t: {
        "licenses": pd.concat([t.licenses, t.licenses.iloc[::50]], ignore_index=True),
        "annual_reports": pd.concat(
            [t.annual_reports.iloc[::97], t.annual_reports], ignore_index=True
        ),
    },
    "an enterprise twice": lambda t: {
        "enterprises": pd.concat([t.enterprises, t.enterprises.iloc[[4, 4000]]])
    },
    "shuffled tables, no repeat": lambda t: {
        name: getattr(t, name).sample(frac=1.0, random_state=1)
        for name in ("enterprises", "annual_reports", "licenses", "roles")
    },
    "reports filed in their own year": lambda t: {
        "annual_reports": t.annual_reports.assign(
            filed_on=pd.to_datetime(t.annual_reports["report_year"].astype(str) + "-12-31")
            .where(np.arange(len(t.annual_reports)) % 9 == 0, t.annual_reports["filed_on"])
            .astype("datetime64[s]")
        )
    },
    "report years out of four digits": lambda t: {
        "annual_reports": _with_rows(
            t.annual_reports, [0, 1, 2, 3, 4, 5], report_year=[9998, 9999, 999, 1, 1850, 2262]
        )
    },
    "an empty report year": lambda t: {
        "annual_reports": _with_rows(t.annual_reports, [10, 11], report_year=None)
    },
    "events before registration, unknown entities": lambda t: {
        "inspections": _with_rows(
            t.inspections, list(range(0, 9000, 700)), inspected_on=pd.Timestamp("1990-01-01")
        ),
        "penalties": _with_rows(t.penalties, [5, 6, 700], entity_id="E9999999"),
        "roles": _with_rows(t.roles, [1, 2], entity_id="X1"),
    },
    "deregistered early": lambda t: {
        "enterprises": _with_rows(
            t.enterprises, list(range(0, 10000, 37)), deregistered_on=pd.Timestamp("2012-01-01")
        )
    },
    "implausible and future values": lambda t: {
        "enterprises": _with_rows(
            t.enterprises, [1, 2, 3], registered_capital=[-1.0, 2e15, np.nan]
        ),
        "annual_reports": _with_rows(t.annual_reports, [5, 6], employees=[10**9, -3]),
        "licenses": _with_rows(
            t.licenses, [0, 1], issued_on=[pd.Timestamp("1850-01-01"), pd.Timestamp("2099-06-01")]
        ),
        "roles": _with_rows(t.roles, [3], to_on=pd.Timestamp("1999-01-01")),
    },
}


@pytest.mark.parametrize("case", list(CASES))
def test_broken_sample_as_reference(case):
    tables = SAMPLE.replace(**CASES[case](SAMPLE))
    problems = assert_as_reference(tables)
    assert bool(problems) == ("no repeat" not in case)  # every other case breaks a rule


def test_empty_keys_are_one_key():
    """Two empty penalty ids repeat one key, as DataFrame.duplicated has it; one does not."""
    two = validation.check(SAMPLE.replace(**CASES["two empty penalty ids"](SAMPLE)))
    assert [(p.rule, p.n_rows) for p in two if p.table == "penalties"] == [
        ("required", 2),
        ("duplicate key", 2),
    ]
    one = validation.check(SAMPLE.replace(**CASES["one empty penalty id"](SAMPLE)))
    assert [(p.rule, p.n_rows) for p in one if p.table == "penalties"] == [("required", 1)]


def test_odd_report_years_read_as_text_reads_them():
    """Year 9998 ends on 9999-01-01; 9999 has no end pandas can read, so nothing is early."""
    reports = _with_rows(
        SAMPLE.annual_reports, [0, 1], report_year=[9998, 9999], filed_on=pd.Timestamp("2020-01-01")
    )
    problems = assert_as_reference(SAMPLE.replace(annual_reports=reports))
    early = [p for p in problems if p.rule == "known before event" and p.table == "annual_reports"]
    assert [p.rows.index.tolist() for p in early] == [[0]]


def test_duplicate_keys_of_any_frame():
    frame = pd.DataFrame(
        {
            "entity_id": ["E1", "E1", None, None, "E2", "E1"],
            "report_year": pd.array([2020, 2021, 2020, 2020, 2020, 2020], dtype="Int64"),
        }
    )
    (problem,) = validation.duplicate_keys(frame, "annual_reports", ["entity_id", "report_year"])
    assert problem.n_rows == 4
    assert problem.rows.index.tolist() == [0, 2, 3, 5]
    sorted_keys = pd.DataFrame({"penalty_id": ["P1", "P2", "P3"], "entity_id": ["E1"] * 3})
    assert validation.duplicate_keys(sorted_keys, "penalties", ["penalty_id"]) == []


@st.composite
def broken(draw) -> dict[str, pd.DataFrame]:
    """A few faults, each on rows drawn from one table of the sample."""
    frames: dict[str, pd.DataFrame] = {}

    def table(name: str) -> pd.DataFrame:
        return frames.get(name, getattr(SAMPLE, name))

    def rows(name: str) -> list[int]:
        n = len(table(name))
        return sorted(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=12)))

    names = [n for n in TABLES if len(getattr(SAMPLE, n))]
    for fault in draw(st.lists(st.sampled_from(FAULTS), min_size=1, max_size=4)):
        name = draw(st.sampled_from(names))
        frame, schema = table(name), TABLES[name]
        if fault == "copy rows":
            frame = pd.concat([frame, frame.iloc[rows(name)]], ignore_index=True)
        elif fault == "empty key":
            frame = _with_rows(frame, rows(name), **{schema.key[0]: None})
        elif fault == "shuffle":
            frame = frame.sample(frac=1.0, random_state=draw(st.integers(0, 9)))
        elif fault == "unknown entity" and name != "enterprises":
            frame = _with_rows(frame, rows(name), entity_id="Z0000001")
        elif fault == "early event":
            day = pd.Timestamp(draw(st.sampled_from(["1899-12-31", "1995-06-01", "2013-01-01"])))
            frame = _with_rows(frame, rows(name), **{schema.event_date: day})
        elif fault == "late event":
            day = pd.Timestamp(draw(st.sampled_from(["2024-01-01", "2099-01-01"])))
            frame = _with_rows(frame, rows(name), **{schema.known_date: day})
        elif fault == "odd year":
            name, frame = "annual_reports", table("annual_reports")
            year = draw(st.sampled_from([1, 999, 1850, 2017, 9998, 9999, 20000]))
            frame = _with_rows(frame, rows(name), report_year=year)
        frames[name] = frame
    return frames


FAULTS = (
    "copy rows",
    "empty key",
    "shuffle",
    "unknown entity",
    "early event",
    "late event",
    "odd year",
)


@PROPERTY
@given(frames=broken())
def test_property_broken_sample_as_reference(frames):
    assert_as_reference(SAMPLE.replace(**frames))
