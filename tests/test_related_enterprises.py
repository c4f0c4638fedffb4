"""The related enterprises behind a relational reason (issue 18, item 5): the list an
enterprise is shown counts exactly what its features count, names the people or the
address that link them, and uses only what was known before the as-of date.
"""

from __future__ import annotations

import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.features import relations
from creditrisk.features.related import COUNTS, related_enterprises

AS_OF = pd.Timestamp("2022-07-01")
NAMES = [f.name for f in relations.FEATURES]


@pytest.fixture(scope="module")
def world() -> cr.synth.World:
    return cr.synth.generate(1_500, "2020-01-01", "2023-06-30", seed=4, indicators=True)


@pytest.fixture(scope="module")
def features(world) -> pd.DataFrame:
    spine = cr.spine(world.tables, AS_OF)
    return cr.build_features(world.tables, spine).set_index("entity_id")[NAMES]


def counted(rel: pd.DataFrame) -> pd.Series:
    flags = rel["counts_for"].str.split("; ").explode()
    return flags.value_counts().reindex(NAMES, fill_value=0)


def test_the_list_counts_what_the_features_count(world, features) -> None:
    # every entity with any related-party value, and as many without
    linked = features.index[features.drop(columns="address_cluster_size").sum(axis=1) > 0]
    quiet = features.index[features.drop(columns="address_cluster_size").sum(axis=1) == 0]
    chosen = [*linked[:150], *quiet[:30]]
    assert len(linked) >= 50  # the world links enterprises: the test can fail
    for entity in chosen:
        rel = related_enterprises(world.tables, entity, AS_OF)
        got = counted(rel)
        want = features.loc[entity]
        assert got["linked_enterprises"] == want["linked_enterprises"], entity
        for name in ("linked_on_list", "linked_penalised_3y", "linked_deregistered_young"):
            assert got[name] == want[name], (entity, name)
        assert (got["person_serious_history"] > 0) == bool(want["person_serious_history"])
        # the cluster counts the enterprise itself; the list shows the others
        size = want["address_cluster_size"]
        assert got["address_cluster_size"] == max(size - 1, 0), entity
        assert got["address_cluster_abnormal"] == want["address_cluster_abnormal"], entity
        assert not (rel["related_id"] == entity).any()
        assert (rel["entity_id"] == entity).all()


def test_rows_name_the_people_and_the_address(world, features) -> None:
    t = world.tables
    entity = features.index[features["linked_on_list"] > 0][0]
    rel = related_enterprises(t, entity, AS_OF)
    by_person = rel[rel["link"] == "person"]
    people = t.roles.loc[t.roles["entity_id"] == entity, "person_id"].astype(str)
    assert by_person["via"].map(lambda via: any(p in via for p in people)).all()
    assert by_person["why"].str.contains("list since").any()
    clustered = features.index[features["address_cluster_size"] > 2][0]
    rel = related_enterprises(t, clustered, AS_OF)
    at = rel[rel["link"] == "address"]
    assert at["via"].nunique() == 1
    # with no address change of the entity since the snapshot, the key is address_id's
    moved = t.changes[(t.changes["entity_id"] == clustered) & (t.changes["kind"] == "address")]
    if moved.empty:
        own = t.enterprises.set_index("entity_id").loc[clustered, "address_id"]
        assert at["via"].iloc[0] == own
    assert set(rel.columns) == {"entity_id", "related_id", "link", "via", "counts_for", "why"}
    assert set(rel["counts_for"].str.split("; ").explode()) <= set(COUNTS)


def test_a_role_published_on_or_after_as_of_links_nothing(world) -> None:
    t = world.tables
    lonely = t.enterprises["entity_id"].iloc[0]
    other = t.enterprises["entity_id"].iloc[1]
    before = related_enterprises(t, lonely, AS_OF)
    person = "P-NEW"
    added = pd.DataFrame(
        {
            "person_id": [person, person],
            "entity_id": [lonely, other],
            "role": "manager",
            "from_on": AS_OF - pd.Timedelta(days=400),
            "published_on": [AS_OF, AS_OF - pd.Timedelta(days=300)],
        }
    )
    later = t.replace(roles=pd.concat([t.roles, added], ignore_index=True))
    after = related_enterprises(later, lonely, AS_OF)
    pd.testing.assert_frame_equal(before, after)
    added["published_on"] = AS_OF - pd.Timedelta(days=1)  # known the day before: counts
    known = t.replace(roles=pd.concat([t.roles, added], ignore_index=True))
    shown = related_enterprises(known, lonely, AS_OF)
    assert (shown["related_id"] == other).any()
    assert shown.loc[shown["related_id"] == other, "via"].str.contains(person).all()


def test_an_unknown_entity_is_refused(world) -> None:
    with pytest.raises(ValueError, match="no entity_id 'nobody'"):
        related_enterprises(world.tables, "nobody", AS_OF)


def test_a_register_without_roles_or_addresses_lists_nothing(world) -> None:
    t = world.tables
    bare = t.replace(roles=t.roles.iloc[:0], enterprises=t.enterprises.assign(address_id=None))
    rel = related_enterprises(bare, t.enterprises["entity_id"].iloc[0], AS_OF)
    assert rel.empty
    assert list(rel.columns) == ["entity_id", "related_id", "link", "via", "counts_for", "why"]


def test_many_entities_at_once_give_each_its_own_list(world, features) -> None:
    chosen = [*features.index[features["linked_enterprises"] > 0][:5], "E0000001"]
    together = related_enterprises(world.tables, chosen, AS_OF)
    apart = pd.concat(
        [related_enterprises(world.tables, e, AS_OF) for e in chosen], ignore_index=True
    )
    pd.testing.assert_frame_equal(together, apart)
    assert together["entity_id"].nunique() >= 5


def test_card_records_list_the_indicator_tables_known_before_as_of(world) -> None:
    from creditrisk.report.card import records

    t = world.tables
    busy = t.changes["entity_id"].value_counts().index[0]
    rows = records(t, busy, AS_OF)
    mine = t.changes[(t.changes["entity_id"] == busy) & (t.changes["published_on"] < AS_OF)]
    assert (rows["source"] == "changes").sum() == len(mine) > 0
    shown = rows[rows["source"] == "roles"]["record"]
    people = t.roles.loc[
        (t.roles["entity_id"] == busy) & (t.roles["published_on"] < AS_OF), "person_id"
    ]
    assert len(shown) == len(people) and all(p in " ".join(shown) for p in people)
    for table, column in (("complaints", "recorded_on"), ("external_lists", "published_on")):
        frame = getattr(t, table)
        who = frame["entity_id"].value_counts().index[0]
        known = frame[(frame["entity_id"] == who) & (frame[column] < AS_OF)]
        assert (records(t, who, AS_OF)["source"] == table).sum() == len(known)
