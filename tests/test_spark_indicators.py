"""The Spark engine carries the indicator tables (issue 18): roles, changes, complaints,
external_lists and enterprises.address_id, and the related parties of every bucket.

A small synthetic world with the indicator tables, and a model trained on it with the
indicator and related-party features, are scored by the pandas engine (the expected
rows) and by Spark in several buckets. Linked enterprises (a shared person, a shared
address) are checked to fall in different buckets, so a bucket that did not carry its
related parties would give other rows. Expected rows always come from the pandas engine.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from test_spark import assert_same_rows

import creditrisk as cr
from creditrisk.data.schema import INDICATOR_TABLES
from creditrisk.features import indicators, relations
from creditrisk.jobs import scoring
from creditrisk.jobs import spark as engine

DATES = ["2022-07-01", "2023-06-01"]
BUCKETS = 5
RELATED = [f.name for f in relations.FEATURES]
OWN = [f.name for f in indicators.FEATURES]


@pytest.fixture(scope="module", autouse=True)
def few_partitions(spark):
    """Small data: a few shuffle partitions instead of 200 (the rows do not change)."""
    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "4")
    yield
    spark.conf.set("spark.sql.shuffle.partitions", before)


@pytest.fixture(scope="module")
def world() -> cr.synth.World:
    return cr.synth.generate(1_500, "2020-01-01", "2023-06-30", seed=4, indicators=True)


@pytest.fixture(scope="module")
def model(world) -> cr.RiskModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a short history: fewer folds
        model = cr.fit_model(world.tables, n_estimators=30, num_threads=1).model
    assert set(OWN + RELATED) <= set(model.feature_names_in_)
    return model


@pytest.fixture(scope="module")
def expected(world, model) -> pd.DataFrame:
    rows = scoring.score_chunk(world.tables, model, DATES)
    for name in [*OWN, *RELATED]:  # every feature compared takes more than one value
        assert rows[name].nunique() > 1, name
    return rows


@pytest.fixture(scope="module")
def where(spark, world) -> pd.Series:
    """Each enterprise's bucket of BUCKETS, by the engine's own expression."""
    ids = world.tables.enterprises["entity_id"].astype(object)
    frame = spark.createDataFrame(pd.DataFrame({"entity_id": ids}))
    out = frame.select("entity_id", engine._bucket_of("entity_id", BUCKETS).alias("b"))
    return out.toPandas().set_index("entity_id")["b"]


def linked_pairs(tables: cr.EventTables, day: str) -> pd.DataFrame:
    """Pairs of enterprises sharing a person who holds a role in both on ``day``."""
    day = pd.Timestamp(day)
    roles = tables.roles
    now = roles[(roles["published_on"] < day) & ~(roles["to_on"] < day)]
    now = now[["person_id", "entity_id"]].drop_duplicates()
    pairs = now.merge(now, on="person_id", suffixes=("", "_other"))
    return pairs[pairs["entity_id"] != pairs["entity_id_other"]]


def test_buckets_carry_their_related_parties_across_buckets(
    spark, world, model, expected, where, tmp_path
):
    # linked enterprises lie in other buckets: a bucket alone would miss them
    pairs = linked_pairs(world.tables, DATES[1])
    crossing = (
        where.reindex(pairs["entity_id"]).to_numpy()
        != where.reindex(pairs["entity_id_other"]).to_numpy()
    )
    assert crossing.sum() > 20, crossing.sum()
    ent = world.tables.enterprises
    shared = ent[ent["address_id"].duplicated(keep=False)].groupby("address_id")["entity_id"]
    assert any(where.reindex(ids).nunique() > 1 for _, ids in shared)
    assert (expected["address_cluster_size"] > 1).any()

    # from parquet files, as a cluster reads them: the indicator tables are read too
    data = world.tables.write(tmp_path / "register")
    assert {f"{name}.parquet" for name in INDICATOR_TABLES} <= {p.name for p in data.iterdir()}
    out = tmp_path / "scores.parquet"
    engine.score(spark, data, model, DATES, out, buckets=BUCKETS)
    assert_same_rows(pd.read_parquet(out), expected)
    # the pandas engine chunk by chunk gives them too
    scoring.score_register(world.tables, model, DATES, tmp_path / "chunks.parquet", chunk_size=400)
    assert_same_rows(pd.read_parquet(tmp_path / "chunks.parquet"), expected)


def test_addresses_known_only_from_changes_in_a_bucket(spark, world, model, where):
    """One enterprise alone has address_id (an address of its own) and no roles link any:
    every other bucket knows addresses from changes only, as the whole register does."""
    ent = world.tables.enterprises.copy()
    lone = ent["entity_id"].iloc[0]
    ent["address_id"] = None
    ent.loc[0, "address_id"] = "AD-ITS-OWN"
    tables = world.tables.replace(enterprises=ent, roles=None)
    expected = scoring.score_chunk(tables, model, DATES[1])
    elsewhere = where.reindex(expected["entity_id"]).to_numpy() != where[lone]
    # known from changes alone, yet known: 0 would say unknown
    assert (expected.loc[elsewhere, "address_cluster_size"] > 0).any()
    got = engine.score(spark, tables, model, DATES[1], buckets=BUCKETS, validate=False)
    assert_same_rows(got.toPandas(), expected)


def test_a_register_without_the_tables_runs_as_before(spark, world, model, monkeypatch):
    """No roles, changes, complaints, external lists or addresses: no related parties are
    gathered (no join), and the rows equal the pandas engine's."""
    ent = world.tables.enterprises.assign(address_id=None)
    plain = world.tables.replace(enterprises=ent, **dict.fromkeys(INDICATOR_TABLES))
    assert not any(plain.has(name) for name in INDICATOR_TABLES)

    def refuse(*args, **kwargs):
        raise AssertionError("related parties gathered for a register without them")

    monkeypatch.setattr(engine, "_neighbourhood", refuse)
    expected = scoring.score_chunk(plain, model, DATES[1])
    assert (expected[[*OWN, *RELATED]] == 0).all(axis=None)
    got = engine.score(spark, plain, model, DATES[1], buckets=3).toPandas()
    assert_same_rows(got, expected)


def test_a_csv_indicator_table_beside_parquet_is_refused(world, model, tmp_path):
    """Spark reads parquet: a roles.csv is never left out in silence."""
    data = world.tables.write(tmp_path / "register")
    world.tables.roles.to_csv(data / "roles.csv", index=False)
    (data / "roles.parquet").unlink()
    with pytest.raises(ValueError, match=r"roles\.csv would be left out"):
        engine.score(None, data, model, DATES[1])


def test_a_part_reads_its_related_parties_in_the_whole_register_it_carries(spark, world, model):
    """A subset of the register (EventTables.part_of) draws related parties from the
    whole register, as the pandas engine does; a part without it is refused."""
    part = world.tables.subset(world.tables.enterprises["entity_id"].iloc[::3])
    expected = scoring.score_chunk(part, model, DATES[1])
    alone = cr.EventTables(**{name: frame for name, frame in part})  # forgets the whole
    own = scoring.score_chunk(alone, model, DATES[1])
    assert not own[RELATED].equals(expected[RELATED])  # the whole register matters
    got = engine.score(spark, part, model, DATES[1], buckets=BUCKETS, validate=False)
    assert_same_rows(got.toPandas(), expected)
    with pytest.raises(ValueError, match=r"carries it \(EventTables.part_of\(whole\)\)"):
        engine.score(spark, alone.part_of(part.coverage), model, DATES[1])
