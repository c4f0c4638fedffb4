"""Declared features: computed as plain pandas would, point in time by construction.

Three kinds of evidence:
- a hypothesis property draws small registers (inspections with scores and kinds, and a
  table outside the data model), declared features of every aggregation, window and
  filter, and an as-of date, and checks every value against a plain pandas
  recomputation of the definition;
- a hypothesis property adds rows known on or after as_of, or changes such rows, and
  checks that no declared feature moves;
- declared copies of built-in features equal them exactly on the sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk.data.register import Register
from creditrisk.features.declared import AGGREGATIONS, Declared, declare, from_mapping

DAY = pd.Timedelta(days=1)
START, END = pd.Timestamp("2020-01-01"), pd.Timestamp("2023-12-31")
ENTITIES = [f"E{i}" for i in range(6)]
REGISTER = Register.from_dict(
    {"tables": {"notes": {"file": "n.csv", "event_date": "noted_on", "known_date": "seen_on"}}}
)
PROPERTY = settings(
    max_examples=80,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def day(draw, lo=START, hi=END) -> pd.Timestamp:
    return lo + DAY * draw(st.integers(0, (hi - lo).days))


@st.composite
def inspection_rows(draw, n_max=25, known_from=None):
    rows = []
    for _ in range(draw(st.integers(0, n_max))):
        seen = day(draw, known_from or START)
        rows.append(
            {
                "entity_id": draw(st.sampled_from(ENTITIES)),
                "inspected_on": seen - DAY * draw(st.integers(0, 30)),
                "published_on": seen,
                "kind": draw(st.sampled_from(["random", "routine", "follow_up"])),
                "outcome": draw(st.sampled_from(["compliant", "issues_found", "closed"])),
                "score": draw(st.one_of(st.none(), st.integers(-2, 60))),
            }
        )
    return rows


@st.composite
def note_rows(draw, n_max=25, known_from=None):
    rows = []
    for _ in range(draw(st.integers(0, n_max))):
        seen = day(draw, known_from or START)
        rows.append(
            {
                "entity_id": draw(st.sampled_from(ENTITIES)),
                "noted_on": seen - DAY * draw(st.integers(0, 400)),
                "seen_on": seen,
                "code": draw(st.one_of(st.none(), st.sampled_from(["04L", "06C", "10F"]))),
                "weight": draw(st.one_of(st.none(), st.floats(0, 9, allow_nan=False))),
            }
        )
    return rows


def register(inspections: list[dict], notes: list[dict]) -> cr.EventTables:
    enterprises = pd.DataFrame(
        {
            "entity_id": ENTITIES,
            "registered_on": ["2015-01-01"] * len(ENTITIES),
            "risk_class": ["I", "II", None, "I", "III", "II"],
        }
    )
    ins = pd.DataFrame(
        inspections,
        columns=["entity_id", "inspected_on", "published_on", "kind", "outcome", "score"],
    ).astype({"score": "Int64"})
    ins = pd.concat(  # one inspection at the span's end, so every as_of is inside it
        [
            ins,
            pd.DataFrame(
                [
                    {
                        "entity_id": "E0",
                        "inspected_on": END,
                        "published_on": END,
                        "kind": "other",
                        "outcome": "compliant",
                        "score": None,
                    }
                ]
            ),
        ],
        ignore_index=True,
    ).astype({"score": "Int64"})
    notes = pd.DataFrame(notes, columns=["entity_id", "noted_on", "seen_on", "code", "weight"])
    return cr.EventTables(
        enterprises=enterprises, inspections=ins, extra={"notes": notes}, register=REGISTER
    )


FILTERS = {
    "inspections": [None, "kind == 'routine'", "score >= 28", "outcome in ['closed']"],
    "notes": [None, "code == '06C'", "weight > 4", "notna(code)"],
}
COLUMNS = {"inspections": ["score"], "notes": ["weight"]}


@st.composite
def declarations(draw):
    aggregation = draw(st.sampled_from([a for a in AGGREGATIONS if a != "value"]))
    table = draw(st.sampled_from(["inspections", "notes"]))
    column = None
    if AGGREGATIONS[aggregation]:
        column = (
            "code"
            if aggregation in ("distinct", "last") and table == "notes" and draw(st.booleans())
            else draw(st.sampled_from(COLUMNS[table]))
        )
    return Declared(
        "f",
        table,
        aggregation,
        column=column,
        filter=draw(st.sampled_from(FILTERS[table])),
        window=draw(st.sampled_from([None, "30D", "365D", "1095D"])),
    )


def oracle(tables: cr.EventTables, d: Declared, as_of: pd.Timestamp) -> list:
    """The declaration computed with plain pandas, entity by entity."""
    frame = tables.inspections if d.table == "inspections" else tables.extra["notes"]
    event, known = (
        ("inspected_on", "published_on") if d.table == "inspections" else ("noted_on", "seen_on")
    )
    frame = frame.assign(_order=np.arange(len(frame)))
    rows = frame[frame[known] < as_of]
    if d.days is not None:
        rows = rows[rows[event] >= as_of - DAY * d.days]
    chosen = rows if d.filter is None else rows[cr.data.Rule(d.filter).mask(rows, d.table)]
    out = []
    for entity in ENTITIES:
        mine = chosen[chosen["entity_id"] == entity]
        if d.aggregation == "count":
            out.append(float(len(mine)))
        elif d.aggregation == "share":
            every = rows[rows["entity_id"] == entity]
            out.append(len(mine) / len(every) if len(every) else np.nan)
        elif d.aggregation == "days_since_first":
            out.append((as_of - mine[event].min()).days if len(mine) else np.nan)
        elif d.aggregation == "days_since_last":
            out.append((as_of - mine[event].max()).days if len(mine) else np.nan)
        else:
            values = mine[mine[d.column].notna()]
            if d.aggregation == "distinct":
                out.append(float(values[d.column].nunique()))
            elif d.aggregation == "last":
                ordered = values.sort_values([event, known, "_order"], kind="stable")
                out.append(ordered[d.column].iloc[-1] if len(ordered) else np.nan)
            elif d.aggregation == "sum":
                out.append(float(values[d.column].astype(float).sum()))
            elif not len(values):
                out.append(np.nan)
            else:
                out.append(float(getattr(values[d.column].astype(float), d.aggregation)()))
    return out


def computed(tables: cr.EventTables, d: Declared, as_of: pd.Timestamp) -> list:
    spine = pd.DataFrame({"entity_id": ENTITIES, "as_of": as_of})
    X = cr.build_features(tables, spine, cr.FeatureSpec(features=("f",), declared=d))
    values = X["f"]
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [None if pd.isna(v) else v for v in values.astype(object)]
    return values.astype(float).tolist()


def same(got: list, want: list) -> bool:
    def norm(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        return round(float(v), 9) if isinstance(v, int | float | np.number) else v

    return [norm(v) for v in got] == [norm(v) for v in want]


@PROPERTY
@given(data=st.data())
def test_property_declared_features_equal_plain_pandas(data):
    tables = register(data.draw(inspection_rows()), data.draw(note_rows()))
    d = data.draw(declarations(), label="declared")
    as_of = data.draw(st.builds(lambda n: START + DAY * n, st.integers(1, 1460)), label="as_of")
    got, want = computed(tables, d, as_of), oracle(tables, d, as_of)
    assert same(got, want), f"{d}: {got} != {want}"


@PROPERTY
@given(data=st.data())
def test_property_rows_known_on_or_after_as_of_never_change_declared_features(data):
    inspections, notes = data.draw(inspection_rows()), data.draw(note_rows())
    d = data.draw(declarations(), label="declared")
    as_of = data.draw(st.builds(lambda n: START + DAY * n, st.integers(1, 1400)), label="as_of")
    before = computed(register(inspections, notes), d, as_of)
    # later knowledge: new rows known from as_of on (their event may be earlier) ...
    later_inspections = data.draw(inspection_rows(n_max=8, known_from=as_of))
    later_notes = data.draw(note_rows(n_max=8, known_from=as_of))
    # ... and different values in the rows already known on or after as_of
    changed = [
        {**row, "score": data.draw(st.one_of(st.none(), st.integers(0, 99))), "kind": "routine"}
        if row["published_on"] >= as_of
        else row
        for row in inspections
    ]
    changed_notes = [
        {**row, "code": "06C", "weight": 8.5} if row["seen_on"] >= as_of else row for row in notes
    ]
    after = computed(register(changed + later_inspections, changed_notes + later_notes), d, as_of)
    assert same(after, before), f"{d} at {as_of.date()}: {before} became {after}"


def test_a_static_attribute_is_its_value() -> None:
    tables = register([], [])
    d = Declared("risk_class", "enterprises", "value", column="risk_class")
    spine = pd.DataFrame({"entity_id": ENTITIES, "as_of": pd.Timestamp("2022-01-01")})
    X = cr.build_features(tables, spine, cr.FeatureSpec(declared=d))
    assert X["risk_class"].astype(object).where(X["risk_class"].notna(), None).tolist() == [
        "I",
        "II",
        None,
        "I",
        "III",
        "II",
    ]
    assert isinstance(X["risk_class"].dtype, pd.CategoricalDtype)


# -- declared copies of built-in features -----------------------------------------------
COPIES = [
    (
        "inspections_not_found",
        declare("c", "inspections", filter="outcome == 'not_found_at_address'"),
    ),
    (
        "inspection_findings_3y",
        declare("c", "inspections", filter="outcome != 'compliant'", window="1095D"),
    ),
    ("inspections_complaint", declare("c", "inspections", filter="kind == 'complaint'")),
    ("inspections_random", declare("c", "inspections", filter="kind in ['random']")),
    ("inspection_days_since_last", declare("c", "inspections", "days_since_last")),
    ("region", declare("c", "enterprises", "value", column="region")),
    ("times_listed", declare("c", "list_entries")),
]


@pytest.mark.parametrize(("builtin", "copy"), COPIES, ids=[c[0] for c in COPIES])
def test_a_declared_copy_of_a_builtin_feature_equals_it_exactly(builtin, copy, tables) -> None:
    spine = cr.spine(tables, ["2020-07-01", "2023-01-01", "2026-01-01"])
    X = cr.build_features(tables, spine, cr.FeatureSpec(declared=copy))
    left, right = X[builtin], X["c"]
    if isinstance(left.dtype, pd.CategoricalDtype):
        assert left.astype(object).equals(right.astype(object))
    else:
        np.testing.assert_array_equal(left.to_numpy(float), right.to_numpy(float))


# -- declarations refused ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"name": "x", "table": "inspections", "aggregation": "median"}, "unknown aggregation"),
        ({"name": "x", "table": "inspections", "aggregation": "sum"}, "needs a column"),
        ({"name": "x", "table": "inspections", "column": "score"}, "reads no column"),
        ({"name": "x", "table": "inspections", "window": "1.5D"}, "whole days"),
        ({"name": "x y", "table": "inspections"}, "plain identifier"),
        ({"name": "x", "table": "inspections", "filter": "score >> 2"}, "rule"),
        ({"name": "x", "table": "inspections", "colour": "red"}, "unknown keys"),
        ({"name": "x", "table": "inspections", "aggregation": "value", "column": "a"}, "static"),
    ],
)
def test_bad_declarations_are_refused_by_name(entry, message) -> None:
    with pytest.raises(ValueError, match=message):
        from_mapping([entry])


def test_a_sum_of_text_names_the_table_column_and_values() -> None:
    small = register(
        [], [{"entity_id": "E1", "noted_on": START, "seen_on": START, "code": "06C", "weight": 1.0}]
    )
    d = Declared("f", "notes", "sum", column="code")
    with pytest.raises(cr.SchemaError, match=r"notes.code \[not a number\].*06C"):
        computed(small, d, pd.Timestamp("2021-01-01"))


def test_a_declared_name_may_not_shadow_a_builtin_one(tables) -> None:
    with pytest.raises(ValueError, match="reuse names"):
        cr.build_features(
            tables,
            cr.spine(tables, "2024-01-01"),
            cr.FeatureSpec(declared=declare("region", "inspections")),
        )
