"""The indicator system's optional tables (issue 18, item 1): roles, changes, complaints,
external_lists and enterprises.address_id.

Each is coerced and validated like the six tables (every problem in one pass, naming the
table, the column and the rows), travels through files, SQL and the register mapping,
and is absent (empty, and invisible in files, summaries and fingerprints) when a register
does not hold it, so the packaged sample and everything built on it are unchanged.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import pytest

import creditrisk as cr
from creditrisk import EventTables, SchemaError
from creditrisk.data.schema import INDICATOR_TABLES, TABLE_NAMES, TABLES, data_dictionary

#: the packaged sample's fingerprint before the indicator tables existed (commit d4a6475)
SAMPLE_FINGERPRINT = "e0b30fae3df5679b378f053941fb701b1eacefa7de2bd10ade33749878428464"


def register() -> dict[str, pd.DataFrame]:
    """Three enterprises at two addresses, one person in two of them, and one row or
    more in every indicator table (plain text, as a CSV or a database gives them), each
    in the order of its key (as a database read returns it)."""
    enterprises = pd.DataFrame(
        {
            "entity_id": ["E1", "E2", "E3"],
            "registered_on": ["2019-03-01", "2020-06-15", "2021-01-10"],
            "deregistered_on": [None, None, "2023-05-31"],
            "address_id": ["A1", "A1", "A2"],
        }
    )
    roles = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P3"],
            "entity_id": ["E1", "E2", "E2", "E3"],
            "role": ["legal_representative", "legal_representative", "shareholder", "manager"],
            "from_on": ["2019-03-01", "2020-06-15", "2020-06-15", "2021-01-10"],
            "to_on": [None, "2022-04-01", None, None],
            "published_on": ["2019-03-05", "2020-06-20", "2020-06-20", "2021-01-12"],
            "share": [None, None, "0.6", None],
        }
    )
    changes = pd.DataFrame(
        {
            "entity_id": ["E1", "E2"],
            "kind": ["address", "legal_representative"],
            "changed_on": ["2023-02-01", "2022-04-01"],
            "published_on": ["2023-02-03", "2022-04-08"],
            "old_value": [None, "P1"],
            "new_value": [None, "P4"],
        }
    )
    complaints = pd.DataFrame(
        {
            "entity_id": ["E1", "E3", "E3"],
            "received_on": ["2022-01-05", "2023-03-01", "2023-07-01"],  # E3: after it closed
            "recorded_on": ["2022-01-06", "2023-03-01", "2023-07-02"],
            "category": ["quality", "fraud", "fraud"],
            "substantiated": ["yes", "pending", "no"],
            "concluded_on": ["2022-02-10", None, "2023-08-01"],
        }
    )
    external = pd.DataFrame(
        {
            "entity_id": ["E3"],
            "list": ["court_judgment_defaulter"],
            "listed_on": ["2022-09-01"],
            "removed_on": [None],
            "published_on": ["2022-09-15"],
        }
    )
    return {
        "enterprises": enterprises,
        "roles": roles,
        "changes": changes,
        "complaints": complaints,
        "external_lists": external,
    }


@pytest.fixture(scope="module")
def tables() -> EventTables:
    return EventTables(**register()).validate()


def test_indicator_tables_are_coerced_and_valid(tables):
    assert tables.roles["from_on"].dtype == "datetime64[s]"
    assert tables.roles["share"].tolist()[2] == 0.6
    assert list(tables.roles["role"].cat.categories) == list(TABLES["roles"].column("role").values)
    assert tables.enterprises["address_id"].tolist() == ["A1", "A1", "A2"]
    # ids made from entity and event date when the register has none, as for penalties
    assert tables.changes["change_id"].tolist() == ["E1/2023-02-01/0", "E2/2022-04-01/0"]
    assert [t.has(name) for t in [tables] for name in INDICATOR_TABLES] == [True] * 4
    assert [name for name, _ in tables] == [*TABLE_NAMES, *INDICATOR_TABLES]
    summary = tables.summary()
    assert summary.loc["roles", "rows"] == 4 and summary.loc["complaints", "entities"] == 2
    assert summary.loc["external_lists", "first_known"] == pd.Timestamp("2022-09-15")


def test_absent_indicator_tables_leave_the_sample_as_it_was():
    """The sample without the indicator tables and addresses is the six-table sample
    it was before them: same tables, same fingerprint."""
    full = cr.load_sample()
    assert [name for name, _ in full] == [*TABLE_NAMES, *INDICATOR_TABLES]
    sample = full.replace(
        **{name: getattr(full, name).iloc[:0] for name in INDICATOR_TABLES},
        enterprises=full.enterprises.drop(columns="address_id"),
    )
    assert [name for name, _ in sample] == list(TABLE_NAMES)
    assert all(len(getattr(sample, name)) == 0 for name in INDICATOR_TABLES)
    assert sample.enterprises["address_id"].isna().all()
    assert list(sample.summary().index) == list(TABLE_NAMES)
    assert sample.fingerprint() == SAMPLE_FINGERPRINT


def test_every_problem_of_the_indicator_tables_in_one_pass():
    frames = register()
    roles = frames["roles"].copy()
    roles.loc[0, "to_on"] = "2018-01-01"  # ended before it began (and before registration)
    roles.loc[1, "published_on"] = "2020-06-01"  # known before it began
    roles.loc[2, "share"] = "1.5"
    roles.loc[3, "entity_id"] = "E9"  # no such enterprise
    changes = frames["changes"].copy()
    changes.loc[1, "changed_on"] = "2024-01-01"  # E2 is alive: fine; published before
    complaints = frames["complaints"].copy()
    complaints.loc[1, "concluded_on"] = "2023-04-01"  # a verdict date while pending
    external = frames["external_lists"].copy()
    external.loc[0, "removed_on"] = "2022-01-01"
    late = frames["changes"].iloc[[0]].assign(entity_id="E3", changed_on="2023-06-30")
    late = late.assign(published_on="2023-07-01")  # E3 deregistered on 2023-05-31
    broken = EventTables(
        **{
            **frames,
            "roles": roles,
            "changes": pd.concat([changes, late], ignore_index=True),
            "complaints": complaints,
            "external_lists": external,
        }
    )
    with pytest.raises(SchemaError) as caught:
        broken.validate()
    found = {(p.table, p.column, p.rule): p for p in caught.value.problems}
    assert set(found) == {
        ("roles", "to_on", "ended before it began"),
        ("roles", "published_on", "known before event"),
        ("roles", "share", "share"),
        ("roles", "entity_id", "unknown entity"),
        ("changes", "published_on", "known before event"),
        ("changes", "changed_on", "after deregistration"),
        ("complaints", "concluded_on", "verdict while pending"),
        ("external_lists", "removed_on", "removed before listed"),
    }
    rows = found["roles", "share", "share"].rows
    assert rows["person_id"].tolist() == ["P2"] and rows["share"].tolist() == [1.5]
    assert found["changes", "changed_on", "after deregistration"].rows["entity_id"].tolist() == [
        "E3"
    ]
    assert "roles.share [share]" in str(caught.value)
    # complaints and other departments' listings may outlive the entity: no problem there
    assert not any(
        p.table in ("complaints", "external_lists") and "deregistration" in p.rule
        for p in caught.value.problems
    )


def test_unreadable_values_are_reported_with_their_table_and_rows():
    frames = register()
    roles = frames["roles"].assign(role=["legal_representative", "boss", "shareholder", "x"])
    complaints = frames["complaints"].assign(received_on=["2022-01-05", "soon", "2023-07-01"])
    with pytest.raises(SchemaError) as caught:
        EventTables(**{**frames, "roles": roles, "complaints": complaints})
    by_rule = {(p.table, p.column, p.rule): p for p in caught.value.problems}
    assert set(by_rule) == {
        ("roles", "role", "unknown category"),
        ("complaints", "received_on", "unparseable"),
    }
    assert by_rule["roles", "role", "unknown category"].n_rows == 2


def test_a_required_column_missing_is_named():
    frames = register()
    with pytest.raises(SchemaError) as caught:
        EventTables(**{**frames, "roles": frames["roles"].drop(columns="person_id")})
    (problem,) = caught.value.problems
    assert (problem.table, problem.column, problem.rule) == ("roles", "person_id", "missing column")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_files_round_trip_and_absent_tables_leave_no_stale_file(tables, tmp_path, fmt):
    out = tables.write(tmp_path / "register", format=fmt)
    assert {f"{name}.{fmt}" for name in INDICATOR_TABLES} <= {p.name for p in out.iterdir()}
    again = EventTables.read(out).validate()
    assert again.fingerprint() == tables.fingerprint()
    pd.testing.assert_frame_equal(again.roles, tables.roles)
    # the same directory rewritten without the indicator tables: they are gone, not stale
    plain = tables.replace(**{name: None for name in INDICATOR_TABLES})
    plain.write(out, format=fmt, overwrite=True)
    assert not any(
        (out / f"{name}.{f}").exists() for name in INDICATOR_TABLES for f in ("parquet", "csv")
    )
    assert EventTables.read(out).fingerprint() == plain.fingerprint() != tables.fingerprint()


def test_sql_round_trip(tables, tmp_path):
    url = f"sqlite:///{tmp_path}/register.db"
    for name, frame in tables:
        cr.io.write_sql(frame, url, name)
    again = EventTables.read_sql(url)
    assert again.fingerprint() == tables.fingerprint()
    # a database without the indicator tables reads them as absent
    url2 = f"sqlite:///{tmp_path}/plain.db"
    cr.io.write_sql(tables.enterprises, url2, "enterprises")
    assert not EventTables.read_sql(url2).has("roles")


def test_sql_filters_keep_the_indicator_rows_of_the_enterprises_kept(tables, tmp_path):
    url = f"sqlite:///{tmp_path}/register.db"
    for name, frame in tables:
        cr.io.write_sql(frame, url, name)
    kept = EventTables.read_sql(url, where={"registered_before": "2020-01-01"})
    assert kept.enterprises["entity_id"].tolist() == ["E1"]
    assert set(kept.roles["entity_id"]) == {"E1"} and set(kept.complaints["entity_id"]) == {"E1"}


def test_the_register_mapping_renames_and_translates_indicator_tables(tmp_path):
    frames = register()
    theirs = frames["roles"].rename(columns={"person_id": "zjhm", "role": "zw"})
    theirs["zw"] = theirs["zw"].map(
        {"legal_representative": "法定代表人", "shareholder": "股东", "manager": "经理"}
    )
    for name, frame in {**frames, "roles": theirs}.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        "[tables.roles]\n"
        'columns = { zjhm = "person_id", zw = "role" }\n'
        "[tables.roles.values.role]\n"
        '"法定代表人" = "legal_representative"\n'
        '"股东" = "shareholder"\n'
    )
    with pytest.raises(SchemaError) as caught:
        EventTables.read(tmp_path, register=mapping)
    (problem,) = caught.value.problems
    assert (problem.table, problem.column, problem.rule) == ("roles", "role", "unmapped value")
    assert "'经理'" in problem.detail
    mapping.write_text(mapping.read_text() + '"经理" = "manager"\n')
    read = EventTables.read(tmp_path, register=mapping).validate()
    assert read.fingerprint() == EventTables(**frames).fingerprint()
    # a translation onto a value outside the data model is refused when the mapping is read
    mapping.write_text(mapping.read_text() + '"监事" = "overseer"\n')
    with pytest.raises(ValueError, match="overseer"):
        cr.data.register.Register.read(mapping)


def test_the_data_dictionary_documents_the_indicator_tables():
    text = data_dictionary()
    for name in INDICATOR_TABLES:
        assert f"## {name}" in text
    assert "| `address_id` | text | yes |" in text
    assert "`court_judgment_defaulter`" in text and "`pending`" in text


def test_spark_reads_files_that_lack_an_optional_column(spark, tmp_path):
    """A register written before address_id existed (the packaged sample's files) scores
    on Spark as on pandas."""
    from creditrisk.jobs import scoring
    from creditrisk.jobs import spark as engine

    sample = cr.load_sample()
    few = sample.subset(sample.enterprises["entity_id"].iloc[::50])  # 200 enterprises
    out = few.write(tmp_path / "register")
    enterprises = pd.read_parquet(out / "enterprises.parquet").drop(columns="address_id")
    enterprises.to_parquet(out / "enterprises.parquet", index=False)
    model = cr.RiskModel.load(cr.sample_model_path())
    expected = scoring.score_chunk(few, model, "2025-01-01", features=False)
    got = engine.score(spark, out, model, "2025-01-01", features=False).toPandas()
    got = got.sort_values("entity_id", ignore_index=True)
    assert got["entity_id"].tolist() == expected["entity_id"].tolist()
    assert got["tier"].tolist() == expected["tier"].astype(str).tolist()


def test_a_database_scored_chunk_by_chunk_carries_the_related_parties(tmp_path):
    """Chunks read from a database carry the whole register's related-party tables, and
    the scores equal those of the whole register in memory."""
    from creditrisk.jobs.scoring import ChunkedRegister

    world = cr.synth.generate(3000, "2021-01-01", "2024-12-31", seed=3, indicators=True)
    url = f"sqlite:///{tmp_path}/register.db"
    for name, frame in world.tables:
        cr.io.write_sql(frame, url, name, if_exists="replace")
    related = ChunkedRegister(url, chunk_size=1000).related_parties()
    assert related is not None
    assert len(related.roles) == len(world.tables.roles) > 0
    assert len(related.enterprises) == len(world.tables.enterprises)
    # only the five tables the related-party features read are read whole
    assert len(world.tables.annual_reports) and not len(related.annual_reports)
    assert len(world.tables.inspections) and not len(related.inspections)
    assert len(related.list_entries) == len(world.tables.list_entries)
    model = cr.RiskModel.load(cr.sample_model_path())
    # in two scoring processes: they inherit the related parties, read once before
    run = cr.score_register(
        url, model, "2024-06-01", tmp_path / "db.parquet", chunk_size=1000, n_jobs=2
    )
    assert run["processes"] == 2
    cr.score_register(world.tables, model, "2024-06-01", tmp_path / "whole.parquet")
    chunked = pd.read_parquet(tmp_path / "db.parquet")
    pd.testing.assert_frame_equal(chunked, pd.read_parquet(tmp_path / "whole.parquet"))
    assert len(chunked) > 1000  # more than one chunk


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_database_under_its_own_names_carries_the_indicator_tables(backend, tmp_path):
    """The register mapping renames a database's indicator tables, their columns and
    enterprises.address_id, and translates their values, on SQLite and PostgreSQL."""

    frames = register()
    theirs = {
        "qy_enterprises": frames["enterprises"].rename(
            columns={"entity_id": "uscc", "address_id": "dz"}
        ),
        "qy_roles": frames["roles"].rename(columns={"person_id": "zjhm", "role": "zw"}),
        "qy_changes": frames["changes"].rename(columns={"old_value": "bgq", "new_value": "bgh"}),
        "qy_complaints": frames["complaints"].rename(columns={"substantiated": "sfsl"}),
        "qy_external": frames["external_lists"].rename(columns={"list": "md"}),
    }
    theirs["qy_roles"]["zw"] = theirs["qy_roles"]["zw"].map(
        {"legal_representative": "法定代表人", "shareholder": "股东", "manager": "经理"}
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[tables.enterprises]\ntable = "qy_enterprises"\n'
        'columns = { uscc = "entity_id", dz = "address_id" }\n'
        '[tables.roles]\ntable = "qy_roles"\ncolumns = { zjhm = "person_id", zw = "role" }\n'
        "[tables.roles.values.role]\n"
        '"法定代表人" = "legal_representative"\n"股东" = "shareholder"\n"经理" = "manager"\n'
        '[tables.changes]\ntable = "qy_changes"\n'
        'columns = { bgq = "old_value", bgh = "new_value" }\n'
        '[tables.complaints]\ntable = "qy_complaints"\ncolumns = { sfsl = "substantiated" }\n'
        '[tables.external_lists]\ntable = "qy_external"\ncolumns = { md = "list" }\n',
        encoding="utf-8",
    )
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path}/register.db"
        else:
            from _postgres import postgres_schema

            url, _ = stack.enter_context(postgres_schema())
        for name, frame in theirs.items():
            cr.io.write_sql(frame, url, name)
        read = EventTables.read_sql(url, register=mapping)
        assert [name for name, _ in read] == [*TABLE_NAMES, *INDICATOR_TABLES]
        assert read.fingerprint() == EventTables(**frames).fingerprint()
        assert read.enterprises["address_id"].tolist() == ["A1", "A1", "A2"]
        assert read.roles["role"].astype(str).tolist()[-1] == "manager"


def test_chunked_files_check_indicator_keys_and_dates_as_the_whole(tmp_path):
    """A file register scored chunk by chunk refuses a role id repeated across chunks
    (a chunk alone cannot see it) and spans the indicator tables' known dates, as the
    whole register in memory and the Spark engine do."""
    from creditrisk.data.spine import data_span
    from creditrisk.jobs.scoring import ChunkedRegister

    sample = cr.load_sample()
    roles = sample.roles.sort_values("entity_id").reset_index(drop=True)
    assert roles["entity_id"].iloc[0] != roles["entity_id"].iloc[-1]
    roles.loc[len(roles) - 1, "role_id"] = roles.loc[0, "role_id"]
    late = sample.changes.iloc[[0]].assign(
        change_id="CHG-LATE", changed_on="2026-02-01", published_on="2026-02-03"
    )
    changes = pd.concat([sample.changes, late], ignore_index=True)
    bad = sample.replace(roles=roles)
    bad.write(tmp_path / "bad")
    register = ChunkedRegister(tmp_path / "bad", chunk_size=2_000)
    assert len(register) > 1
    with pytest.raises(cr.SchemaError, match=r"roles\.role_id \[duplicate key\]"):
        register.check_keys()
    out = tmp_path / "scores.parquet"
    model = cr.RiskModel.load(cr.sample_model_path())
    with pytest.raises(cr.SchemaError, match=r"role_id"):
        cr.score_register(tmp_path / "bad", model, "2025-07-01", out, chunk_size=2_000)
    assert not out.exists()
    later = sample.replace(changes=changes)
    later.write(tmp_path / "later")
    span = ChunkedRegister(tmp_path / "later", chunk_size=2_000).span()
    assert span == data_span(later)
    assert span[1] == pd.Timestamp("2026-02-03")
