"""Databases: ``read_sql``, ``write_sql``, ``read_mapping`` on SQLite and PostgreSQL.

Every database test runs twice: on a SQLite file in a temporary directory, and on the
PostgreSQL server named by ``CREDITRISK_TEST_POSTGRES_URL`` (skipped, with the reason,
when the variable is unset or the server does not answer). Each PostgreSQL fixture
works in a schema of its own (``CREATE SCHEMA t_<uuid>``, reached through the URL's
``search_path``) that is dropped with everything in it afterwards.

Expectations come from the files: the packaged sample (``creditrisk.load_sample()``)
and ``EventTables.read`` of a directory holding the same broken values.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from _postgres import postgres_schema
from pandas.io import sql as pandas_sql

import creditrisk as cr
from creditrisk import EventTables, SchemaError
from creditrisk.data import sql as sql_module
from creditrisk.data.schema import ALL_TABLE_NAMES, TABLES
from creditrisk.data.sql import FILTERS, is_url, read_mapping, run_identifiers, write_sql
from creditrisk.jobs.scoring import resolve_model, score_chunk, score_register

BACKENDS = ["sqlite", "postgresql"]
AS_OF = "2025-01-01"
#: the register's names for two enterprises columns: {their name: our name}
THEIRS = {"uscc": "entity_id", "district": "region"}


# -- databases ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Database:
    """A database to test against: tables created through ``url`` land in ``schema``."""

    backend: str
    url: str
    schema: str

    def qualified(self, table: str) -> str:
        """``schema.table``, as read_sql accepts it (``main.table`` on SQLite)."""
        return f"{self.schema}.{table}"

    @contextmanager
    def engine(self) -> Iterator[sa.Engine]:
        engine = sa.create_engine(self.url)
        try:
            yield engine
        finally:
            engine.dispose()

    def execute(self, *statements: str) -> None:
        with self.engine() as engine, engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))

    def query(self, sql: str) -> pd.DataFrame:
        with self.engine() as engine, engine.connect() as connection:
            return pd.read_sql(sa.text(sql), connection)

    def tables(self) -> set[str]:
        with self.engine() as engine:
            return set(sa.inspect(engine).get_table_names())


@contextmanager
def database(backend: str, directory: Path) -> Iterator[Database]:
    """A fresh SQLite file, or a fresh PostgreSQL schema dropped (CASCADE) on exit."""
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{directory}/register.db", "main")
        return
    with postgres_schema() as (url, schema):
        yield Database("postgresql", url, schema)


@pytest.fixture(params=BACKENDS)
def db(request, tmp_path: Path) -> Iterator[Database]:
    """An empty database of its own for one test."""
    with database(request.param, tmp_path) as fresh:
        yield fresh


# -- the sample, loaded the register's way -----------------------------------------------
@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


def shuffled(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows out of key order, so that reading them back in order proves the ORDER BY."""
    return frame.sample(frac=1.0, random_state=7).reset_index(drop=True)


def register_mapping(db: Database) -> dict[str, dict]:
    """How the loaded register differs from our names: what read_sql is told."""
    return {
        "tables": {
            "enterprises": db.qualified("reg_enterprise"),
            "penalties": f"SELECT * FROM {db.qualified('reg_penalty')}",
        },
        "columns": {"enterprises": dict(THEIRS)},
    }


def with_tables(mapping: dict[str, dict], **tables: str) -> dict[str, dict]:
    return {**mapping, "tables": {**mapping["tables"], **tables}}


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory, sample: EventTables) -> Iterator[Database]:
    """The sample in a database, shuffled: enterprises as ``reg_enterprise`` with the
    columns ``uscc`` and ``district``, penalties as ``reg_penalty`` (read through a
    query), the other four tables under their own names. Tests only read it (and add
    tables of their own, which they drop)."""
    with database(request.param, tmp_path_factory.mktemp(request.param)) as loaded_db:
        ours_to_theirs = {ours: theirs for theirs, ours in THEIRS.items()}
        enterprises = sample.enterprises.rename(columns=ours_to_theirs)
        write_sql(shuffled(enterprises), loaded_db.url, "reg_enterprise")
        write_sql(shuffled(sample.penalties), loaded_db.url, "reg_penalty")
        for name, frame in sample:
            if name not in ("enterprises", "penalties"):
                write_sql(shuffled(frame), loaded_db.url, name)
        yield loaded_db


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


@contextmanager
def extra_table(db: Database, prefix: str, frame: pd.DataFrame) -> Iterator[str]:
    """A table of one test in a shared database, dropped afterwards."""
    name = unique(prefix)
    write_sql(frame, db.url, name)
    try:
        yield name
    finally:
        db.execute(f"DROP TABLE IF EXISTS {name}")


def assert_same_tables(got: EventTables, expected: EventTables) -> None:
    for name, frame in expected:
        pd.testing.assert_frame_equal(getattr(got, name), frame, obj=name)
    assert got.fingerprint() == expected.fingerprint()


def assert_ordered_by_key(tables: EventTables) -> None:
    for name, frame in tables:
        key = list(TABLES[name].key)
        in_order = frame.sort_values(key, kind="stable", ignore_index=True)
        pd.testing.assert_frame_equal(frame, in_order, obj=f"{name} ordered by {key}")


# -- reading the sample back -------------------------------------------------------------
def test_read_sql_gives_back_the_sample(loaded: Database, sample: EventTables) -> None:
    tables = EventTables.read_sql(loaded.url, **register_mapping(loaded))
    assert_same_tables(tables, sample)


def test_event_tables_read_sql_with_a_mapping_file(
    loaded: Database, sample: EventTables, tmp_path: Path
) -> None:
    mapping = register_mapping(loaded)
    path = tmp_path / "map.toml"
    path.write_text(
        "[tables]\n"
        f'enterprises = "{mapping["tables"]["enterprises"]}"\n'
        f'penalties = "{mapping["tables"]["penalties"]}"\n'
        "[columns.enterprises]  # their name = our name\n"
        'uscc = "entity_id"\n'
        'district = "region"\n',
        encoding="utf-8",
    )
    assert read_mapping(path) == mapping
    assert_same_tables(EventTables.read_sql(loaded.url, **read_mapping(path)), sample)


def test_read_sql_from_an_engine_or_a_connection_leaves_them_open(
    loaded: Database, sample: EventTables
) -> None:
    mapping = register_mapping(loaded)
    with loaded.engine() as engine:
        assert_same_tables(EventTables.read_sql(engine, **mapping), sample)
        with engine.connect() as connection:
            assert_same_tables(EventTables.read_sql(connection, **mapping), sample)
            assert not connection.closed  # not ours to close
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1
        with engine.connect() as connection:  # the engine still works
            assert connection.execute(sa.text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("chunksize", [1_000, 1_000_000])
def test_chunked_reading_gives_the_same_tables_in_key_order(
    loaded: Database, sample: EventTables, chunksize: int, monkeypatch
) -> None:
    import creditrisk.data.sql as crio

    coerced: dict[str, list[int]] = {name: [] for name in ALL_TABLE_NAMES}
    coerce = crio.coerce_table

    def spy(frame: pd.DataFrame, table: str) -> pd.DataFrame:
        coerced[table].append(len(frame))
        return coerce(frame, table)

    monkeypatch.setattr(crio, "coerce_table", spy)
    tables = EventTables.read_sql(loaded.url, chunksize=chunksize, **register_mapping(loaded))
    assert_same_tables(tables, sample)  # the database holds the rows shuffled
    assert_ordered_by_key(tables)
    for name, frame in sample:  # read in chunks of at most chunksize rows
        assert sum(coerced[name]) == len(frame), name
        if loaded.backend == "postgresql":  # Arrow (ADBC): compact already, coerced whole
            assert coerced[name] == [len(frame)], name
            continue
        assert max(coerced[name]) <= chunksize, name
        assert len(coerced[name]) == max(1, -(-len(frame) // chunksize)), name


# -- filters run in the database -----------------------------------------------------------
WHERES = {
    "regions_and_date": {
        "region": ["district_01", "district_04"],
        "registered_before": "2020-01-01",
    },
    "one_region_two_types": {"region": "district_07", "entity_type": ["company", "branch"]},
}


def expected_kept(sample: EventTables, where: dict) -> EventTables:
    """The sample filtered with pandas the way the filters are documented."""
    ent = sample.enterprises
    keep = pd.Series(True, index=ent.index)
    for key, value in where.items():
        column = ent[FILTERS[key]]
        if key == "registered_before":
            keep &= column < pd.Timestamp(value)
        else:
            keep &= column.isin([value] if isinstance(value, str) else value)
    return sample.subset(ent.loc[keep, "entity_id"])


@pytest.mark.parametrize("where", list(WHERES.values()), ids=list(WHERES))
def test_filters_run_in_the_database(
    loaded: Database, sample: EventTables, where: dict, monkeypatch
) -> None:
    expected = expected_kept(sample, where)
    assert 0 < len(expected.enterprises) < len(sample.enterprises)
    statements: list[tuple[str, object]] = []
    # PostgreSQL's tables are read through ADBC (Arrow), past SQLAlchemy's events: the
    # statements it runs, values inlined, are recorded where they are made
    to_text = sql_module._sql_text

    def recorded(connection, query):
        text = to_text(connection, query)
        statements.append((text, text))
        return text

    monkeypatch.setattr(sql_module, "_sql_text", recorded)
    with loaded.engine() as engine:

        @sa.event.listens_for(engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        tables = EventTables.read_sql(engine, where=where, **register_mapping(loaded))
    assert_same_tables(tables, expected)
    # every table was read with one query filtered in the database
    reads = [(s, p) for s, p in statements if "ORDER BY" in s]
    assert len(reads) == len(ALL_TABLE_NAMES)  # the sample holds all ten
    for statement, parameters in reads:
        assert "WHERE" in statement, statement
        assert " IN " in statement, statement
        shown = str(parameters)
        regions = [where["region"]] if isinstance(where["region"], str) else where["region"]
        for region in regions:
            assert region in shown, (statement, parameters)
        if "registered_before" in where:
            assert "registered_on <" in statement, statement
    enterprises = [s for s, _ in reads if "reg_enterprise" in s and "IN (SELECT" not in s]
    assert len(enterprises) == 1 and "district IN" in enterprises[0], enterprises
    others = [s for s, _ in reads if "IN (SELECT" in s]
    assert len(others) == len(ALL_TABLE_NAMES) - 1, others


def test_an_unknown_filter_is_a_value_error(loaded: Database) -> None:
    with pytest.raises(ValueError, match="'province'") as info:
        EventTables.read_sql(loaded.url, where={"province": "north"}, **register_mapping(loaded))
    for name in FILTERS:
        assert name in str(info.value)


@pytest.mark.parametrize("argument", ["tables", "columns"])
def test_an_unknown_table_name_is_a_value_error(loaded: Database, argument: str) -> None:
    value = "reg_enterprise" if argument == "tables" else dict(THEIRS)
    with pytest.raises(ValueError, match="enterprise'") as info:
        EventTables.read_sql(loaded.url, **{argument: {"enterprise": value}})
    assert not isinstance(info.value, SchemaError)
    assert "enterprises" in str(info.value)  # the tables there are


# -- broken tables: the same SchemaError as files ------------------------------------------
def _negative_fine(sample: EventTables) -> tuple[str, pd.DataFrame]:
    pen = sample.penalties.copy()
    pen.loc[[3, 500], "fine_amount"] = -250.0
    return "penalties", pen


def _filed_on_not_a_date(sample: EventTables) -> tuple[str, pd.DataFrame]:
    # the column is text in the database (and in the parquet file)
    reports = sample.annual_reports.copy()
    filed = reports["filed_on"]
    text = filed.dt.strftime("%Y-%m-%d").astype(object).where(filed.notna(), None)
    text.iloc[[10, 20_000]] = ["not a date", "2021-13-45"]
    reports["filed_on"] = text
    return "annual_reports", reports


def _duplicate_penalty_id(sample: EventTables) -> tuple[str, pd.DataFrame]:
    pen = sample.penalties.copy()
    pen.loc[7, "penalty_id"] = pen.loc[6, "penalty_id"]
    return "penalties", pen


BREAKERS = {
    "negative_fine": (_negative_fine, "penalties.fine_amount [non-negative]"),
    "filed_on_text": (_filed_on_not_a_date, "annual_reports.filed_on [unparseable]"),
    "duplicate_penalty_id": (_duplicate_penalty_id, "penalties.penalty_id [duplicate key]"),
}


def problems_of(err: SchemaError) -> list[tuple[str, list[str] | None]]:
    """Each problem's headline and the keys of the rows it shows."""
    return [
        (p.headline(), None if p.rows is None else [str(v) for v in p.rows.iloc[:, 0]])
        for p in err.problems
    ]


@pytest.mark.parametrize("breaker", list(BREAKERS), ids=list(BREAKERS))
def test_a_broken_table_gives_the_schema_error_of_files(
    loaded: Database, sample: EventTables, tmp_path: Path, breaker: str
) -> None:
    breaks, headline = BREAKERS[breaker]
    name, frame = breaks(sample)
    directory = sample.write(tmp_path / "files")
    frame.to_parquet(directory / f"{name}.parquet", index=False)
    with pytest.raises(SchemaError) as from_files:
        EventTables.read(directory).validate()
    with (
        extra_table(loaded, f"broken_{name}", frame) as table,
        pytest.raises(SchemaError) as from_database,
    ):
        EventTables.read_sql(loaded.url, **with_tables(register_mapping(loaded), **{name: table}))
    assert len(from_files.value.problems) == 1, str(from_files.value)
    assert from_files.value.problems[0].headline().startswith(headline)
    assert problems_of(from_database.value) == problems_of(from_files.value)


@pytest.mark.parametrize("spec", ["default", "named"])
def test_a_missing_table_is_a_schema_error(loaded: Database, spec: str) -> None:
    if spec == "default":  # no table called enterprises: it is reg_enterprise
        table, what, kwargs = "enterprises", "enterprises", {}
    else:
        table, what = "licenses", "no_such_licenses"
        kwargs = with_tables(register_mapping(loaded), licenses=what)
    with pytest.raises(SchemaError) as info:
        EventTables.read_sql(loaded.url, **kwargs)
    (problem,) = info.value.problems
    assert (problem.table, problem.column, problem.rule) == (table, None, "missing table")
    assert what in problem.detail
    assert f"{table} [missing table]" in str(info.value)


MISSING_COLUMNS = {
    # (table, column dropped in the database, the column and rule the problem names)
    "penalties.severity": ("penalties", "severity", "severity", "missing column"),
    # the mapping renames their district to region: the mapping names a missing column
    "enterprises.district": (
        "enterprises",
        "district",
        "district",
        "mapping names a missing column",
    ),
}


@pytest.mark.parametrize("case", list(MISSING_COLUMNS), ids=list(MISSING_COLUMNS))
def test_a_missing_required_column_is_a_schema_error(
    loaded: Database, sample: EventTables, case: str
) -> None:
    name, dropped, ours, rule = MISSING_COLUMNS[case]
    frame = getattr(sample, name)
    if name == "enterprises":
        frame = frame.rename(columns={v: k for k, v in THEIRS.items()})
    with extra_table(loaded, f"cut_{name}", frame) as table:
        loaded.execute(f"ALTER TABLE {table} DROP COLUMN {dropped}")
        mapping = with_tables(register_mapping(loaded), **{name: loaded.qualified(table)})
        with pytest.raises(SchemaError) as info:
            EventTables.read_sql(loaded.url, **mapping)
    (problem,) = info.value.problems
    assert (problem.table, problem.column, problem.rule) == (name, ours, rule)
    assert f"{name}.{ours} [{rule}]" in str(info.value)


# -- writing: all or nothing ---------------------------------------------------------------
@pytest.fixture(scope="module")
def penalties() -> pd.DataFrame:
    return cr.load_sample().penalties


def rows_of(db: Database, table: str) -> pd.DataFrame:
    back = db.query(f"SELECT * FROM {table}")
    return back.sort_values("penalty_id", ignore_index=True)


def assert_holds(db: Database, table: str, frame: pd.DataFrame) -> None:
    """The table holds exactly ``frame``'s rows and columns."""
    back = rows_of(db, table)
    held = (list(back.columns), back["penalty_id"].tolist())
    assert held == (list(frame.columns), sorted(frame["penalty_id"])), f"{table} changed"
    assert back["fine_amount"].tolist() == frame.sort_values("penalty_id")["fine_amount"].tolist()


@pytest.fixture
def failing_second_insert(monkeypatch) -> list[int]:
    """pandas' insert of one chunk raises on its second call (the first one is done)."""
    calls: list[int] = []
    insert = pandas_sql.SQLTable._execute_insert

    def second_fails(self, conn, keys, data_iter):
        calls.append(len(calls) + 1)
        if len(calls) == 2:
            raise RuntimeError("the connection dropped half-way")
        return insert(self, conn, keys, data_iter)

    monkeypatch.setattr(pandas_sql.SQLTable, "_execute_insert", second_fails)
    # PostgreSQL's rows go in as one bulk ingest (ADBC): half of them, then the failure
    ingest = sql_module._ingest

    def half_then_fails(cursor, rows, *args):
        calls.extend([1, 2])
        ingest(cursor, rows.slice(0, len(rows) // 2), *args)
        raise RuntimeError("the connection dropped half-way")

    monkeypatch.setattr(sql_module, "_ingest", half_then_fails)
    return calls


@pytest.mark.parametrize("if_exists", ["replace", "append"])
def test_a_write_failing_half_way_leaves_the_table_as_it_was(
    db: Database, penalties: pd.DataFrame, if_exists: str, request
) -> None:
    old, new = penalties.iloc[:30], penalties.iloc[30:130]
    if if_exists == "replace":  # other columns too: a new table would show
        new = new.drop(columns=["restored_on", "category"])
    write_sql(old, db.url, "pen")
    calls = request.getfixturevalue("failing_second_insert")
    with pytest.raises(RuntimeError, match="half-way"):
        write_sql(new, db.url, "pen", if_exists=if_exists, chunksize=10)
    assert calls == [1, 2]  # one chunk of ten rows went in before the failure
    assert_holds(db, "pen", old)


def test_an_append_the_database_refuses_half_way_adds_no_row(db: Database) -> None:
    db.execute("CREATE TABLE keyed (k BIGINT PRIMARY KEY, v TEXT)")
    old = pd.DataFrame({"k": range(5), "v": list("abcde")})
    write_sql(old, db.url, "keyed", if_exists="append")
    new = pd.DataFrame({"k": [*range(100, 130), 2], "v": "new"})  # k=2 is taken
    # pandas wraps SQLite's refusal; PostgreSQL's (a bulk ingest through ADBC) is
    # SQLAlchemy's IntegrityError itself
    with pytest.raises((pd.errors.DatabaseError, sa.exc.IntegrityError)) as info:
        write_sql(new, db.url, "keyed", if_exists="append", chunksize=10)
    refusal = info.value if db.backend == "postgresql" else info.value.__cause__
    assert isinstance(refusal, sa.exc.IntegrityError), repr(info.value)
    back = db.query("SELECT k, v FROM keyed ORDER BY k")
    assert back["k"].tolist() == list(range(5))
    assert back["v"].tolist() == list("abcde")


def test_if_exists_fail_on_an_existing_table_changes_nothing(
    db: Database, penalties: pd.DataFrame
) -> None:
    old = penalties.iloc[:30]
    write_sql(old, db.url, "pen", if_exists="fail")  # a new table is fine
    with pytest.raises(ValueError, match="'pen' exists"):
        write_sql(penalties.iloc[30:40], db.url, "pen")
    assert_holds(db, "pen", old)
    with pytest.raises(ValueError, match="if_exists"):
        write_sql(penalties.iloc[30:40], db.url, "pen", if_exists="upsert")
    assert_holds(db, "pen", old)
    assert db.tables() == {"pen"}


def test_write_then_append_and_replace(db: Database, penalties: pd.DataFrame) -> None:
    write_sql(penalties.iloc[:30], db.url, "pen")
    write_sql(penalties.iloc[30:50], db.url, "pen", if_exists="append")
    assert_holds(db, "pen", penalties.iloc[:50])
    write_sql(penalties.iloc[50:55], db.url, "pen", if_exists="replace")
    assert_holds(db, "pen", penalties.iloc[50:55])


@pytest.mark.parametrize("chunksize", [50_000, 7])
def test_write_sql_returns_the_rows_written(
    db: Database, penalties: pd.DataFrame, chunksize: int
) -> None:
    # documented: "return the rows written"
    assert write_sql(penalties.iloc[:30], db.url, "pen", chunksize=chunksize) == 30
    assert write_sql(penalties.iloc[30:31], db.url, "pen", "append", chunksize=chunksize) == 1
    assert write_sql(penalties.iloc[:20], db.url, "pen", "replace", chunksize=chunksize) == 20
    assert len(rows_of(db, "pen")) == 20


# -- scores with the run's identifiers ------------------------------------------------------
@pytest.fixture(scope="module")
def scored(tmp_path_factory, sample: EventTables) -> tuple[pd.DataFrame, dict]:
    """score_chunk's rows for the sample and a real score_register manifest of them."""
    model = cr.RiskModel.load(cr.sample_model_path())
    out = tmp_path_factory.mktemp("scores") / "scores.parquet"
    manifest = score_register(sample, model, AS_OF, out)
    scores = score_chunk(sample, model, AS_OF)
    assert manifest["rows"] == len(scores) > 0
    return scores, manifest


def test_write_sql_scores_with_the_run_identifiers(db: Database, scored) -> None:
    scores, manifest = scored
    ids = run_identifiers(manifest)
    _, model_info = resolve_model(cr.sample_model_path())
    assert ids["model_sha256"] == model_info["model_sha256"]
    assert ids["model_version"] == model_info["version"]  # None: a directory, no registry
    assert len(ids["run_id"]) == 16
    columns = list(scores.columns)
    write_sql(scores, db.url, "scores", identifiers=ids)
    assert list(scores.columns) == columns  # the caller's frame is left alone
    back = db.query("SELECT * FROM scores").sort_values("entity_id", ignore_index=True)
    assert len(back) == len(scores)
    assert list(back.columns) == [*columns, *ids]
    for name, value in ids.items():
        assert (back[name].isna() if value is None else back[name] == value).all(), name
    assert back["entity_id"].tolist() == scores["entity_id"].tolist()
    pd.testing.assert_series_equal(back["probability"], scores["probability"])
    with db.engine() as engine:
        types = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("scores")}
    categories = [c for c in columns if isinstance(scores[c].dtype, pd.CategoricalDtype)]
    assert {"tier", "score_tier"} <= set(categories)
    for name in categories:  # categories are written as text
        assert isinstance(types[name], sa.String), (name, types[name])
        expected = scores[name].astype(object).where(scores[name].notna(), None)
        assert back[name].astype(object).where(back[name].notna(), None).tolist() == list(
            expected
        ), name


# -- helpers without a database --------------------------------------------------------------
def test_is_url() -> None:
    assert is_url("sqlite:///register.db")
    assert is_url("postgresql+psycopg://u:p@127.0.0.1/db")
    assert not is_url("data/sample")
    assert not is_url("file:///data/sample")
    assert not is_url(None)
    assert not is_url(Path("data/sample"))


def test_read_mapping_refuses_unknown_sections_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "map.toml"
    path.write_text('[tables]\nenterprises = "reg"\n[filters]\nregion = "x"\n')
    with pytest.raises(ValueError, match=r"unknown sections \['filters'\]"):
        read_mapping(path)
    path.write_text("[tables\n")
    with pytest.raises(ValueError, match=r"map\.toml"):
        read_mapping(path)
    with pytest.raises(FileNotFoundError, match="no database mapping"):
        read_mapping(tmp_path / "none.toml")


def test_read_sql_refuses_a_chunksize_below_one() -> None:
    with pytest.raises(ValueError, match="chunksize"):
        EventTables.read_sql("sqlite://", chunksize=0)


@pytest.mark.parametrize("loaded", ["postgresql"], indirect=True)  # ADBC is PostgreSQL's
def test_postgresql_is_read_through_arrow_giving_the_same_tables(
    loaded: Database, sample: EventTables, monkeypatch
) -> None:
    batches = []
    fetch_arrow = sql_module._fetch_arrow

    def counted(*args):
        table = fetch_arrow(*args)
        batches.append(table.num_rows)
        return table

    monkeypatch.setattr(sql_module, "_fetch_arrow", counted)
    mapping = register_mapping(loaded)
    # a query with a literal % (pyformat drivers double it) and a quote in a filter
    mapping["tables"]["penalties"] += " WHERE length('%') = 1"
    where = {"region": ["district_01", "it's"]}
    fast = sql_module.read_frames(loaded.url, where=where, chunksize=700, **mapping)
    assert sum(batches) == sum(len(f) for f in fast.values())  # every row came as Arrow
    slow = sql_module.read_frames(loaded.url, where=where, arrow=False, **mapping)
    expected = expected_kept(sample, {"region": "district_01"})
    assert_same_tables(EventTables(**fast), expected)
    assert_same_tables(EventTables(**slow), expected)
    with pytest.raises(ValueError, match="PostgreSQL"):
        sql_module.read_frames("sqlite://", arrow=True)


def test_a_database_is_read_chunk_by_chunk_in_sql(
    loaded: Database, sample: EventTables, monkeypatch
) -> None:
    from creditrisk.data.register import Register
    from creditrisk.jobs.scoring import ChunkedRegister

    mapping = register_mapping(loaded)
    register = Register.from_dict(
        {
            "tables": {
                name: {"query" if spec.startswith("SELECT") else "table": spec}
                for name, spec in mapping["tables"].items()
            },
            "columns": mapping["columns"],
            "where": {"region": ["district_01", "district_02"]},
        }
    )
    kept = expected_kept(sample, {"region": ["district_01", "district_02"]})
    # every chunk's rows come from queries bounded by its range of entity ids
    ranges: list[str] = []
    read = sql_module.read_frames

    def recorded(*args, **kwargs):
        ranges.append((kwargs.get("entities"), kwargs.get("only")))
        return read(*args, **kwargs)

    monkeypatch.setattr("creditrisk.jobs.scoring.read_frames", recorded)
    chunked = ChunkedRegister(loaded.url, chunk_size=700, register=register)
    expected = ChunkedRegister(kept, chunk_size=700)
    assert chunked.bounds == expected.bounds and len(chunked) == 5
    assert chunked.span() == expected.span()
    parts = list(chunked)
    # no whole-table read of the register's rows, but for the five tables the
    # related-party features read (enterprises, roles, changes, list entries, penalties),
    # read whole once
    assert [r for r, only in ranges if only is None] == chunked.bounds
    whole = [only for r, only in ranges if only is not None]
    assert len(whole) == 1 and "annual_reports" not in whole[0] and "roles" in whole[0]
    for got, want in zip(parts, expected, strict=True):
        assert len(got.enterprises) <= 700
        assert_same_tables(got, want)
    assert chunked.all_problems() == []
    chunked.check_keys()
