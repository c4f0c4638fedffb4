"""Features of the indicator tables (issue 18, item 3, first part): the enterprise's own
registration changes, complaints and external listings, point in time.

The leakage property: adding, ending or backdating roles, changes, complaints and
listings known on or after as_of changes no feature (hypothesis), while the same
records known the day before do change them (so the property is not vacuous).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk.data.schema import CHANGE_KINDS, EXTERNAL_LISTS, ROLES
from creditrisk.features import indicators, relations

AS_OF = pd.Timestamp("2022-07-01")
DAY = pd.Timedelta(days=1)
NAMES = [f.name for f in indicators.FEATURES]


@pytest.fixture(scope="module")
def world() -> cr.synth.World:
    return cr.synth.generate(1_500, "2020-01-01", "2023-06-30", seed=4, indicators=True)


@pytest.fixture(scope="module")
def spine(world) -> pd.DataFrame:
    return cr.spine(world.tables, AS_OF)


@pytest.fixture(scope="module")
def features(world, spine) -> pd.DataFrame:
    return cr.build_features(world.tables, spine)


def test_built_where_the_register_holds_the_tables(world, features):
    assert set(NAMES) <= set(features.columns)
    assert (features[NAMES].sum() > 0).all(), features[NAMES].sum()
    catalogue = cr.feature_catalogue(world.tables)
    assert catalogue.loc[NAMES, "built"].all()
    plain = world.tables.replace(complaints=world.tables.complaints.iloc[:0])
    assert cr.feature_catalogue(plain).loc["complaints_1y", "why"] == "complaints has no rows"


def test_counts_by_hand(world, features):
    t, day = world.tables, AS_OF
    x = features.set_index("entity_id")
    ch = t.changes[(t.changes["published_on"] < day) & (t.changes["changed_on"] >= day - 365 * DAY)]
    lr = ch[ch["kind"] == "legal_representative"].groupby("entity_id").size()
    assert (x["changes_legal_representative_1y"] == lr.reindex(x.index).fillna(0)).all()
    c = t.complaints
    mine = c[(c["recorded_on"] < day) & (c["received_on"] >= day - 365 * DAY)]
    yes = mine[(mine["substantiated"] == "yes") & (mine["concluded_on"] < day)]
    expected = yes.groupby("entity_id").size().reindex(x.index).fillna(0)
    assert (x["complaints_substantiated_1y"] == expected).all()
    e = t.external_lists
    now = e[(e["published_on"] < day) & ~(e["removed_on"] < day)].groupby("entity_id").size()
    assert (x["external_lists_current"] == now.reindex(x.index).fillna(0)).all()


def test_a_verdict_counts_from_its_date_or_from_recording_without_one():
    ent = pd.DataFrame({"entity_id": ["E1"], "registered_on": ["2020-01-01"]})
    complaints = pd.DataFrame(
        {
            "entity_id": ["E1", "E1", "E1"],
            "received_on": ["2022-03-01", "2022-06-01", "2022-11-30"],
            "recorded_on": ["2022-03-02", "2022-06-02", "2022-12-01"],
            "substantiated": ["yes", "yes", "pending"],
            # the second is decided after as_of; the third is received after it
            "concluded_on": ["2022-04-01", "2022-08-01", None],
        }
    )
    spine = pd.DataFrame({"entity_id": ["E1"], "as_of": [AS_OF]})
    spec = cr.FeatureSpec(features=("complaints_1y", "complaints_substantiated_1y"))
    t = cr.EventTables(enterprises=ent, complaints=complaints).validate()
    row = cr.build_features(t, spine, spec).iloc[0]
    assert (row["complaints_1y"], row["complaints_substantiated_1y"]) == (2, 1)
    undated = cr.EventTables(enterprises=ent, complaints=complaints.drop(columns="concluded_on"))
    assert cr.build_features(undated, spine, spec).iloc[0]["complaints_substantiated_1y"] == 2


def test_own_records_only_so_a_subset_gives_the_same_rows(world, spine, features):
    part_ids = spine["entity_id"].iloc[::7]
    part = world.tables.subset(part_ids)
    own = cr.FeatureSpec(features=tuple(NAMES))
    got = cr.build_features(part, spine[spine["entity_id"].isin(part_ids)], own)
    pd.testing.assert_frame_equal(got[NAMES], features.loc[got.index, NAMES])


# -- the leakage property ----------------------------------------------------------------
def _day(offset: int) -> pd.Timestamp:
    return AS_OF + offset * DAY


@st.composite
def late_edits(draw, n_entities: int):
    """Edits of records known on or after AS_OF: (table, action, row, offsets)."""
    table = draw(st.sampled_from(["roles", "changes", "complaints", "external_lists"]))
    action = draw(st.sampled_from(["add", "end", "backdate"]))
    row = draw(st.integers(0, 10**6))
    entity = draw(st.integers(0, n_entities - 1))
    known = draw(st.integers(0, 400))  # days on or after AS_OF the record becomes known
    event = draw(st.integers(-900, 0))  # days before it is known that it happened
    value = draw(st.integers(0, 10**6))
    return table, action, row, entity, known, event, value


def _apply(tables: cr.EventTables, edits, ids: np.ndarray) -> cr.EventTables:
    frames = {
        "roles": tables.roles.copy(),
        "changes": tables.changes.copy(),
        "complaints": tables.complaints.copy(),
        "external_lists": tables.external_lists.copy(),
    }
    people = tables.roles["person_id"].unique()
    for table, action, row, entity, known, event, value in edits:
        frame = frames[table]
        on, eid = _day(known), ids[entity]
        if action == "add":
            new = {
                "roles": {  # an existing person: a link, were it known before AS_OF
                    "person_id": people[value % len(people)],
                    "entity_id": eid,
                    "role": ROLES[value % len(ROLES)],
                    "from_on": on + event * DAY,
                    "published_on": on,
                },
                "changes": {
                    "entity_id": eid,
                    "kind": CHANGE_KINDS[value % len(CHANGE_KINDS)],
                    "changed_on": on + event * DAY,
                    "published_on": on,
                },
                "complaints": {
                    "entity_id": eid,
                    "received_on": on + max(event, -30) * DAY,
                    "recorded_on": on,
                    "substantiated": "yes",
                    "concluded_on": on + DAY,
                },
                "external_lists": {
                    "entity_id": eid,
                    "list": EXTERNAL_LISTS[value % len(EXTERNAL_LISTS)],
                    "listed_on": on + event * DAY,
                    "published_on": on,
                },
            }[table]
            key = frame.columns[0]
            new[key] = f"NEW{len(frame)}"
            frames[table] = pd.concat([frame, pd.DataFrame([new])], ignore_index=True)
            continue
        if not len(frame):
            continue
        i = frame.index[row % len(frame)]
        if action == "end":  # an end (a removal, a verdict) known on or after AS_OF
            column = {
                "roles": "to_on",
                "changes": None,
                "complaints": "concluded_on",
                "external_lists": "removed_on",
            }[table]
            if column is None:
                continue
            if frame.loc[i, column] < AS_OF:  # already ended, and known, before AS_OF
                continue
            frame.loc[i, column] = on
            if table == "complaints":
                frame.loc[i, "substantiated"] = "yes"
        else:  # backdate the event of a record known on or after AS_OF
            known_column, event_column = {
                "roles": ("published_on", "from_on"),
                "changes": ("published_on", "changed_on"),
                "complaints": ("recorded_on", "received_on"),
                "external_lists": ("published_on", "listed_on"),
            }[table]
            if frame.loc[i, known_column] >= AS_OF:
                frame.loc[i, event_column] = frame.loc[i, known_column] + event * DAY
    return tables.replace(**frames)


@settings(
    max_examples=int(os.environ.get("CREDITRISK_PIT_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_records_known_on_or_after_as_of_change_no_feature(world, spine, features, data):
    ids = spine["entity_id"].to_numpy()
    edits = data.draw(st.lists(late_edits(len(ids)), min_size=1, max_size=8))
    edited = _apply(world.tables, edits, ids)
    spec = cr.FeatureSpec(features=tuple(c for c in features.columns[2:]))
    got = cr.build_features(edited, spine, spec)
    pd.testing.assert_frame_equal(got, features, check_like=False)


@pytest.mark.parametrize("table", ["changes", "complaints", "external_lists"])
def test_the_same_records_known_the_day_before_do_count(world, spine, features, table):
    ids = spine["entity_id"].to_numpy()
    late = cr.build_features(_apply(world.tables, [(table, "add", 0, 0, 0, -10, 0)], ids), spine)
    early = cr.build_features(_apply(world.tables, [(table, "add", 0, 0, -1, -10, 0)], ids), spine)
    assert late.equals(features)
    column = {"changes": "changes_1y", "complaints": "complaints_1y"}.get(
        table, "external_lists_current"
    )
    first = features.index[0]
    assert early.loc[first, column] == features.loc[first, column] + 1


# -- related parties ------------------------------------------------------------------------
def _register(roles=None, changes=None, lists=None) -> cr.EventTables:
    """E1, E2 and E4 share person P1; E3 sits at E1's address; E5 comes late, alone."""
    ent = pd.DataFrame(
        {
            "entity_id": ["E1", "E2", "E3", "E4", "E5"],
            "registered_on": ["2019-01-01", "2019-06-01", "2020-01-01", "2020-02-01", "2023-06-30"],
            "deregistered_on": [None, None, None, "2020-10-01", None],
            "address_id": ["A1", "A2", "A1", "A9", "A8"],
        }
    )
    base = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P1"],
            "entity_id": ["E1", "E2", "E3", "E4"],
            "role": ["legal_representative", "shareholder", "legal_representative", "manager"],
            "from_on": ["2019-01-01", "2019-06-01", "2020-01-01", "2020-02-01"],
            "published_on": ["2019-01-03", "2019-06-03", "2020-01-03", "2020-02-03"],
        }
    )
    frames = {"enterprises": ent, "roles": base if roles is None else roles}
    if changes is not None:
        frames["changes"] = changes
    if lists is not None:
        frames["list_entries"] = lists
    return cr.EventTables(**frames).validate()


RELATIONAL = (
    "linked_enterprises",
    "linked_on_list",
    "linked_deregistered_young",
    "person_serious_history",
    "address_cluster_size",
    "address_cluster_abnormal",
)


def _rows(tables, as_of="2022-07-01") -> pd.DataFrame:
    spine = pd.DataFrame({"entity_id": ["E1", "E2", "E3"], "as_of": [pd.Timestamp(as_of)] * 3})
    spec = cr.FeatureSpec(features=RELATIONAL)
    return cr.build_features(tables, spine, spec).set_index("entity_id")[list(RELATIONAL)]


def test_links_through_people_and_addresses_by_hand():
    lists = pd.DataFrame(
        {
            "entity_id": ["E4", "E3"],
            "list": ["serious_illegal", "abnormal_operation"],
            "listed_on": ["2020-09-01", "2021-07-10"],
        }
    )
    x = _rows(_register(lists=lists))
    # E1 - E2 - E4 through P1 (E4: deregistered 8 months after registering, serious list)
    assert x.loc["E1", "linked_enterprises"] == 2 and x.loc["E3", "linked_enterprises"] == 0
    assert x.loc["E1", "linked_on_list"] == 1 and x.loc["E1", "linked_deregistered_young"] == 1
    # P1 is E1's legal representative but E4's manager: no serious history through E4
    assert x["person_serious_history"].tolist() == [0, 0, 0]
    # E1 and E3 share address A1 (E4 is deregistered, so its cluster does not count)
    assert x["address_cluster_size"].tolist() == [2, 1, 2]
    assert x["address_cluster_abnormal"].tolist() == [1, 0, 0]


def test_a_role_ended_or_not_yet_published_links_nothing():
    roles = _register().roles.copy()
    roles.loc[1, "to_on"] = pd.Timestamp("2021-01-01")  # P1 left E2 before as_of
    roles.loc[3, "published_on"] = pd.Timestamp("2022-07-01")  # known on as_of: not yet
    roles.loc[3, "from_on"] = pd.Timestamp("2020-02-01")
    x = _rows(_register(roles=roles))
    assert x["linked_enterprises"].tolist() == [0, 0, 0]


def test_the_address_on_the_as_of_date_comes_from_the_changes():
    changes = pd.DataFrame(
        {
            "entity_id": ["E3", "E2", "E2"],
            "kind": ["address", "address", "address"],
            "changed_on": ["2023-01-10", "2021-03-01", "2023-02-01"],
            "published_on": ["2023-01-12", "2021-03-02", "2023-02-03"],
            "old_value": ["A7", "A5", None],  # E3 was at A7 until 2023; E2 moved to A1
            "new_value": ["A1", "A1", "A2"],  # then left it (old value not recorded)
        }
    )
    x = _rows(_register(changes=changes))
    assert x["address_cluster_size"].tolist() == [2, 2, 1]
    # a year later every change is known: E3 at A1 with E1, E2 at A2
    later = _rows(_register(changes=changes), as_of="2023-07-01")
    assert later["address_cluster_size"].tolist() == [2, 1, 2]


def test_a_part_reads_the_whole_register_it_carries_and_refuses_without_it():
    tables = _register()
    spine = pd.DataFrame({"entity_id": ["E1"], "as_of": [pd.Timestamp("2022-07-01")]})
    spec = cr.FeatureSpec(features=RELATIONAL)
    whole = cr.build_features(tables, spine, spec)
    part = tables.subset(["E1", "E5"])  # E2 and E3, linked to E1, are outside it
    pd.testing.assert_frame_equal(cr.build_features(part, spine, spec), whole)
    alone = cr.EventTables(enterprises=part.enterprises, roles=part.roles).part_of(
        {"first_report_year": 2019}
    )  # a chunk that knows only the coverage
    with pytest.raises(ValueError, match="whole register"):
        cr.build_features(alone, spine, spec)


def test_chunked_scoring_chunks_carry_the_whole_register(world, spine, features):
    from creditrisk.jobs.scoring import ChunkedRegister

    names = [f.name for f in relations.FEATURES]
    spec = cr.FeatureSpec(features=tuple(names))
    parts = []
    for chunk in ChunkedRegister(world.tables, chunk_size=400):
        mine = spine[spine["entity_id"].isin(chunk.enterprises["entity_id"])]
        parts.append(cr.build_features(chunk, mine, spec, span=cr.data.data_span(world.tables)))
    got = pd.concat(parts).loc[features.index]
    pd.testing.assert_frame_equal(got[names], features[names])


def test_chunks_read_from_parquet_carry_the_related_parties(world, spine, features, tmp_path):
    from creditrisk.jobs.scoring import ChunkedRegister

    names = [f.name for f in relations.FEATURES]
    spec = cr.FeatureSpec(features=tuple(names))
    register = ChunkedRegister(world.tables.write(tmp_path / "register"), chunk_size=400)
    assert register.related_parties() is not None
    span = cr.data.data_span(world.tables)
    parts = []
    for chunk in register:
        mine = spine[spine["entity_id"].isin(chunk.enterprises["entity_id"])]
        parts.append(cr.build_features(chunk, mine, spec, span=span))
    got = pd.concat(parts).loc[features.index]
    pd.testing.assert_frame_equal(got[names], features[names])


def test_a_role_known_the_day_before_links_and_one_known_on_as_of_does_not(world, spine):
    roles = world.tables.roles
    target = spine["entity_id"].iloc[0]
    spec = cr.FeatureSpec(features=("linked_enterprises",))
    before = cr.build_features(world.tables, spine.head(1), spec).iloc[0]["linked_enterprises"]
    # a person now holding a role elsewhere, with no role in the target yet
    elsewhere = roles[
        (roles["entity_id"] != target)
        & (roles["published_on"] < AS_OF - 400 * DAY)
        & roles["to_on"].isna()
        & ~roles["person_id"].isin(roles.loc[roles["entity_id"] == target, "person_id"])
    ].iloc[0]

    def linked(published: pd.Timestamp) -> int:
        new = {
            "person_id": elsewhere["person_id"],
            "entity_id": target,
            "role": "supervisor",
            "from_on": published - 30 * DAY,
            "published_on": published,
        }
        more = pd.concat([roles, pd.DataFrame([new])], ignore_index=True)
        tables = world.tables.replace(roles=more)
        return cr.build_features(tables, spine.head(1), spec).iloc[0]["linked_enterprises"]

    assert linked(AS_OF) == before
    assert linked(AS_OF - DAY) >= before + 1
