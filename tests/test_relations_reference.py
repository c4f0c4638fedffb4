"""Related-party features (creditrisk.features.relations) against a plain pandas version.

- a hypothesis property draws small registers (people shared by enterprises, addresses
  and address changes, listings, penalties, dates around the as-of date, empty dates and
  ids of unknown enterprises) and compares the 7 features with the merge-and-groupby
  reference of ``benchmarks/_pandas_relations.py``, value for value;
- an enterprise without a registration date counts as registered (linked, at its
  address), as the schema says;
- a register built in chunks (each chunk carrying the whole register) gives the whole
  register's features; the whole register's features are computed once per as-of date
  and reused by the chunks, never for another register or another date.
"""

from __future__ import annotations

import gc
import importlib.util
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk.data.schema import LISTS
from creditrisk.features import relations
from creditrisk.features.catalogue import FeatureSpec
from creditrisk.features.source import Source, to_day
from creditrisk.jobs.scoring import ChunkedRegister

_BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _helper(name: str):
    """A helper module of benchmarks/ (not a package), loaded from its file."""
    spec = importlib.util.spec_from_file_location(name, _BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = _helper("_pandas_relations")
draw = _helper("_register_draw")

AS_OF = pd.Timestamp("2022-07-01")
NAMES = [f.name for f in relations.FEATURES]
# days around the as-of date that the rules turn on: 3 years, one year, the day before
OFFSETS = (-1500, -1096, -1095, -1094, -700, -366, -365, -30, -1, 0, 1, 90)


def _days(draw, size: int, empty: bool) -> np.ndarray:
    """Dates near AS_OF (or empty, when ``empty``)."""
    choices = st.sampled_from(OFFSETS).map(lambda d: str((AS_OF + pd.Timedelta(days=d)).date()))
    if empty:
        choices = st.one_of(choices, st.none())
    return pd.to_datetime(draw(st.lists(choices, min_size=size, max_size=size))).to_numpy()


def _text(draw, values, size: int) -> pd.api.extensions.ExtensionArray:
    """Text values (or empty) drawn from ``values``, as a str array even when empty."""
    return pd.array(draw(st.lists(values, min_size=size, max_size=size)), dtype="str")


@st.composite
def registers(draw) -> cr.EventTables:
    """A small register; ids of people and addresses from small pools so they repeat."""
    n = draw(st.integers(1, 7))
    ids = [f"E{i}" for i in range(n)]
    entity = st.sampled_from([*ids, "E9"])  # E9: an id the register does not hold
    address = st.one_of(st.none(), st.sampled_from(["A0", "A1", "A2", "A3"]))
    ent = pd.DataFrame(
        {
            "entity_id": ids,
            "registered_on": _days(draw, n, empty=True),
            "deregistered_on": _days(draw, n, empty=True),
            "address_id": _text(draw, address, n),
        }
    )
    k = draw(st.integers(0, 14))
    roles = pd.DataFrame(
        {
            "person_id": _text(draw, st.sampled_from(["P0", "P1", "P2", "P3"]), k),
            "entity_id": _text(draw, entity, k),
            "role": _text(
                draw, st.sampled_from(["legal_representative", "shareholder", "manager"]), k
            ),
            "from_on": _days(draw, k, empty=False),
            "to_on": _days(draw, k, empty=True),
            "published_on": _days(draw, k, empty=False),
        }
    )
    k = draw(st.integers(0, 8))
    changes = pd.DataFrame(
        {
            "entity_id": _text(draw, entity, k),
            "kind": _text(draw, st.sampled_from(["address", "name"]), k),
            "changed_on": _days(draw, k, empty=False),
            "published_on": _days(draw, k, empty=False),
            "old_value": _text(draw, address, k),
            "new_value": _text(draw, address, k),
        }
    )
    k = draw(st.integers(0, 6))
    lists = pd.DataFrame(
        {
            "entity_id": _text(draw, entity, k),
            "list": _text(draw, st.sampled_from(LISTS), k),
            "listed_on": _days(draw, k, empty=False),
            "removed_on": _days(draw, k, empty=True),
        }
    )
    k = draw(st.integers(0, 6))
    penalties = pd.DataFrame(
        {
            "entity_id": _text(draw, entity, k),
            "decided_on": _days(draw, k, empty=False),
            "published_on": _days(draw, k, empty=False),
            "severity": "general",
        }
    )
    return cr.EventTables(
        enterprises=ent, roles=roles, changes=changes, list_entries=lists, penalties=penalties
    )


def _creditrisk(tables, as_of=AS_OF) -> pd.DataFrame:
    n = len(tables.enterprises)
    out = relations.compute(Source(tables), np.arange(n), to_day(as_of), FeatureSpec())
    return pd.DataFrame(out, index=pd.Index(tables.enterprises["entity_id"], name="entity_id"))


PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(tables=registers(), later=st.booleans())
def test_the_features_equal_the_pandas_merge_and_groupby_reference(tables, later):
    as_of = AS_OF + pd.Timedelta(days=1 if later else 0)
    got = _creditrisk(tables, as_of)
    want = reference.relations(tables, as_of)
    pd.testing.assert_frame_equal(got, want, check_names=False)


def _by_hand(registered_on) -> cr.EventTables:
    """E0 and E1 share person P0 and address A0."""
    ent = pd.DataFrame(
        {
            "entity_id": ["E0", "E1"],
            "registered_on": ["2020-01-01", registered_on],
            "address_id": ["A0", "A0"],
        }
    )
    roles = pd.DataFrame(
        {
            "person_id": ["P0", "P0"],
            "entity_id": ["E0", "E1"],
            "role": "manager",
            "from_on": "2020-01-01",
            "published_on": "2020-01-02",
        }
    )
    return cr.EventTables(enterprises=ent, roles=roles)


def test_an_enterprise_without_a_registration_date_counts_as_registered():
    empty = _creditrisk(_by_hand(None))
    assert empty["linked_enterprises"].tolist() == [1, 1]
    assert empty["address_cluster_size"].tolist() == [2, 2]
    # ...as one registered long ago does, and unlike one registered after the as-of date
    assert _creditrisk(_by_hand("2019-01-01")).equals(empty)
    late = _creditrisk(_by_hand("2023-01-01"))
    assert late["linked_enterprises"].tolist() == [0, 0]
    assert late["address_cluster_size"].tolist() == [1, 1]  # E0 alone is there


# -- chunks carrying the whole register -----------------------------------------------------
SPEC = cr.FeatureSpec(features=tuple(NAMES))
DAY1, DAY2 = pd.Timestamp("2024-07-01"), pd.Timestamp("2025-01-01")


def _drawn(seed: int) -> cr.EventTables:
    """2,000 enterprises drawn as the benchmark draws them (the ids do not depend on seed)."""
    return cr.EventTables(**draw.draw_register(2_000, seed=seed))


def _chunked(tables, as_of, chunk_size=500) -> pd.DataFrame:
    """The features built chunk by chunk, as batch scoring builds them."""
    span = cr.data.data_span(tables)
    spine = cr.spine(tables, as_of)
    parts = []
    for chunk in ChunkedRegister(tables, chunk_size=chunk_size):
        assert chunk.is_part and chunk.whole is tables
        mine = spine[spine["entity_id"].isin(chunk.enterprises["entity_id"])]
        parts.append(cr.build_features(chunk, mine, SPEC, span=span))
    return pd.concat(parts).set_index("entity_id")[NAMES]


def _whole(tables, as_of) -> pd.DataFrame:
    out = cr.build_features(tables, cr.spine(tables, as_of), SPEC)
    return out.set_index("entity_id")[NAMES]


@pytest.fixture
def counted(monkeypatch):
    """How many times the features of a whole register are computed."""
    calls = []
    compute = relations._values

    def counting(src, as_of):
        calls.append((id(src.tables), as_of))
        return compute(src, as_of)

    monkeypatch.setattr(relations, "_values", counting)
    monkeypatch.setitem(relations._WHOLE, "dates", relations.OrderedDict())
    monkeypatch.setitem(relations._WHOLE, "ref", None)
    monkeypatch.setitem(relations._WHOLE, "index", None)
    return calls


def test_chunks_give_the_whole_registers_features_computed_once(counted):
    tables = _drawn(1)
    whole = _whole(tables, DAY1)
    assert len(counted) == 1  # the whole register, directly
    got = _chunked(tables, DAY1)
    pd.testing.assert_frame_equal(got.loc[whole.index], whole)
    assert counted == [counted[0], (id(tables), to_day(DAY1))]  # once for the 4 chunks
    assert (whole > 0).any().all()  # every feature counts something here: not vacuous
    assert len(whole) > 1_000


def test_another_register_or_date_is_not_read_from_the_kept_values(counted):
    one, two = _drawn(1), _drawn(2)  # the same enterprise ids, other people and addresses
    assert one.enterprises["entity_id"].equals(two.enterprises["entity_id"])
    want = {(t, d): _whole(t, d) for t in (one, two) for d in (DAY1, DAY2)}
    assert not want[one, DAY1].equals(want[two, DAY1])  # so a stale value would show
    counted.clear()
    runs = [(one, DAY1), (two, DAY1), (one, DAY1), (one, DAY2), (one, DAY1)]
    for tables, as_of in runs:
        got = _chunked(tables, as_of)
        pd.testing.assert_frame_equal(got.loc[want[tables, as_of].index], want[tables, as_of])
    # computed again when another register came between; both dates of the last one kept
    day1, day2 = to_day(DAY1), to_day(DAY2)
    assert counted == [(id(one), day1), (id(two), day1), (id(one), day1), (id(one), day2)]


def test_the_kept_values_are_bounded_and_go_with_the_register(counted):
    tables = _drawn(3)
    chunk = next(iter(ChunkedRegister(tables, chunk_size=500)))
    src = Source(chunk)
    days = [to_day(DAY1) + 30 * i for i in range(relations._KEEP_DATES + 2)]
    for day in days:
        relations.compute(src, np.arange(10), day, FeatureSpec())
    assert list(relations._WHOLE["dates"]) == days[-relations._KEEP_DATES :]
    alive = weakref.ref(tables)
    del tables, chunk, src
    gc.collect()
    assert alive() is None  # the kept values do not keep the register alive...
    assert not relations._WHOLE["dates"]  # ...and are dropped with it


def test_a_part_finds_its_enterprises_in_the_whole_register_or_refuses():
    tables = _by_hand(None)
    part = tables.subset(["E1"])
    out = relations.compute(Source(part), np.array([0]), to_day(AS_OF), FeatureSpec())
    assert out["linked_enterprises"].tolist() == [1]  # E0, outside the part
    assert relations._in_whole(tables, pd.Series(["E1", "E7", "E0"])).tolist() == [1, -1, 0]
    stranger = cr.EventTables(
        enterprises=pd.DataFrame({"entity_id": ["E7"], "address_id": ["A0"]})
    ).part_of(tables)
    with pytest.raises(ValueError, match="not in the whole register"):
        relations.compute(Source(stranger), np.array([0]), to_day(AS_OF), FeatureSpec())
    # a repeated id in the whole register: its first row, as everywhere else
    twice = cr.EventTables(
        enterprises=pd.DataFrame({"entity_id": ["E0", "E1", "E0"], "address_id": "A0"})
    )
    assert relations._in_whole(twice, pd.Series(["E0", "E1"])).tolist() == [0, 1]
