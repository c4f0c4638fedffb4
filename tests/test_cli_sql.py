"""The ``creditrisk`` command with database URLs, through Typer's CliRunner.

``validate``, ``features``, ``score`` and ``plan`` read from and write to SQLite (a file
in a temporary directory) and PostgreSQL (the server named by
``CREDITRISK_TEST_POSTGRES_URL``, skipped with the reason when unset or not answering;
each module run works in a schema of its own, dropped afterwards). Expectations are
the same commands run on the files of ``data/sample``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from _postgres import postgres_schema, postgres_url
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.data.sql import write_sql
from creditrisk.jobs.scoring import manifest_path

runner = CliRunner()
BAD_INPUT = 2
BACKENDS = ["sqlite", "postgresql"]
AS_OF = "2025-01-01"
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "sample"
MODEL_DIR = cr.sample_model_path()
THEIRS = {"uscc": "entity_id", "district": "region"}
IDENTIFIERS = [
    "run_id",
    "model_name",
    "model_version",
    "model_run_id",
    "tracking_uri",
    "model_sha256",
]


def assert_clean_exit(result, code: int) -> None:
    """The command ended through SystemExit with ``code``: no escaped exception."""
    assert result.exit_code == code, (result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output


def squashed(output: str) -> str:
    """Output without any whitespace: Rich wraps and folds long URLs anywhere."""
    return "".join(output.split())


# -- databases (as in test_io.py) ------------------------------------------------------------
@dataclass(frozen=True)
class Database:
    """A database to test against: tables created through ``url`` land in ``schema``."""

    backend: str
    url: str
    schema: str
    directory: Path

    @property
    def shown(self) -> str:
        """The URL as the command may print it: without its password."""
        return sa.make_url(self.url).render_as_string(hide_password=True)

    def query(self, sql: str) -> pd.DataFrame:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as connection:
                return pd.read_sql(sa.text(sql), connection)
        finally:
            engine.dispose()


@contextmanager
def database(backend: str, directory: Path) -> Iterator[Database]:
    """A fresh SQLite file, or a fresh PostgreSQL schema dropped (CASCADE) on exit."""
    if backend == "sqlite":
        yield Database("sqlite", f"sqlite:///{directory}/register.db", "main", directory)
        return
    with postgres_schema() as (url, schema):
        yield Database("postgresql", url, schema, directory)


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(request, tmp_path_factory) -> Iterator[Database]:
    """The sample under its own table names, plus ``reg_enterprise`` (columns ``uscc``,
    ``district``) and ``broken_penalties`` (two negative fines), with the mapping files
    ``map.toml`` (enterprises from reg_enterprise) and ``broken.toml``."""
    directory = tmp_path_factory.mktemp(request.param)
    with database(request.param, directory) as db:
        sample = cr.load_sample()
        for name, frame in sample:
            write_sql(frame, db.url, name)
        theirs = sample.enterprises.rename(columns={v: k for k, v in THEIRS.items()})
        write_sql(theirs, db.url, "reg_enterprise")
        broken = sample.penalties.copy()
        broken.loc[[5, 900], "fine_amount"] = -100.0
        write_sql(broken, db.url, "broken_penalties")
        (directory / "map.toml").write_text(
            f'[tables]\nenterprises = "{db.schema}.reg_enterprise"\n'
            '[columns.enterprises]\nuscc = "entity_id"\ndistrict = "region"\n',
            encoding="utf-8",
        )
        (directory / "broken.toml").write_text(
            '[tables]\npenalties = "broken_penalties"\n', encoding="utf-8"
        )
        yield db


@pytest.fixture(scope="module")
def file_scores(tmp_path_factory) -> Path:
    """``creditrisk score`` of data/sample into a parquet file (with its manifest)."""
    out = tmp_path_factory.mktemp("file-scores") / "scores.parquet"
    result = runner.invoke(app, score_args(str(SAMPLE_DIR), str(out)))
    assert_clean_exit(result, 0)
    return out


def score_args(data: str, out: str, *extra: str) -> list[str]:
    return [
        "score",
        "--model",
        str(MODEL_DIR),
        "--data",
        data,
        "--as-of",
        AS_OF,
        "--out",
        out,
        *extra,
    ]


# -- validate ------------------------------------------------------------------------------
def test_validate_a_database(loaded: Database) -> None:
    result = runner.invoke(app, ["validate", loaded.url])
    assert_clean_exit(result, 0)
    assert "valid" in result.output
    assert "error" not in result.output
    assert "10,000" in result.output  # the summary: 10,000 enterprises
    assert squashed(f"{loaded.shown}: valid") in squashed(result.output)
    if loaded.backend == "postgresql":
        assert ":***@" in squashed(result.output)
        password = sa.make_url(loaded.url).password
        assert f":{password}@" not in squashed(result.output)


def test_validate_a_database_through_a_mapping(loaded: Database) -> None:
    result = runner.invoke(
        app, ["validate", loaded.url, "--data-map", str(loaded.directory / "map.toml")]
    )
    assert_clean_exit(result, 0)
    assert "10,000" in result.output


def test_validate_a_broken_database(loaded: Database) -> None:
    result = runner.invoke(
        app, ["validate", loaded.url, "--data-map", str(loaded.directory / "broken.toml")]
    )
    assert_clean_exit(result, BAD_INPUT)
    pen = cr.load_sample().penalties
    for text in [
        "error",
        "penalties.fine_amount",
        "non-negative",
        "(2 rows)",
        *pen.loc[[5, 900], "penalty_id"],
    ]:
        assert text in result.output, text
    assert squashed(loaded.shown) in squashed(result.output)
    if loaded.backend == "postgresql":
        password = sa.make_url(loaded.url).password
        assert f":{password}@" not in squashed(result.output)


def test_validate_a_database_without_the_tables(loaded: Database) -> None:
    mapping = loaded.directory / "missing.toml"
    mapping.write_text('[tables]\nlicenses = "no_such_licenses"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", loaded.url, "--data-map", str(mapping)])
    assert_clean_exit(result, BAD_INPUT)
    for text in ["licenses [missing table]", "no_such_licenses"]:
        assert text in result.output, text


WRONG_PASSWORD = "Wr0ng-Pa55-Qz7"


@pytest.mark.parametrize("command", ["validate", "score --out"])
def test_a_wrong_password_is_never_printed(command: str, tmp_path: Path) -> None:
    # a schema that does not exist either: exit 2 even where the server trusts everyone
    url = postgres_url().set(password=WRONG_PASSWORD)
    url = url.update_query_dict({"options": f"-csearch_path=nowhere_{uuid.uuid4().hex[:8]}"})
    text = url.render_as_string(hide_password=False)
    assert WRONG_PASSWORD in text
    if command == "validate":
        result = runner.invoke(app, ["validate", text])
    else:
        result = runner.invoke(app, score_args(str(SAMPLE_DIR), text, "--no-features"))
    assert_clean_exit(result, BAD_INPUT)
    assert "error" in result.output
    assert WRONG_PASSWORD not in squashed(result.output)
    assert ":***@" in squashed(result.output)


def test_an_unreachable_database_is_shown_without_its_password() -> None:
    # nothing listens on port 1 of the loopback: the connection is refused at once
    url = "postgresql+psycopg://someone:S3cret-Unseen@127.0.0.1:1/nowhere"
    result = runner.invoke(app, ["validate", url])
    assert_clean_exit(result, BAD_INPUT)
    assert "cannot read from" in result.output
    assert "S3cret-Unseen" not in squashed(result.output)
    assert "someone:***@127.0.0.1:1/nowhere" in squashed(result.output)


# -- features ------------------------------------------------------------------------------
def test_features_from_a_database_equal_those_from_files(loaded: Database, tmp_path) -> None:
    def features(data: str, out: Path, *extra: str):
        args = ["features", "--data", data, "--as-of", "2024-07-01", "--out", str(out)]
        result = runner.invoke(app, [*args, *extra])
        assert_clean_exit(result, 0)
        return pd.read_parquet(out)

    expected = features(str(SAMPLE_DIR), tmp_path / "files.parquet")
    mapping = str(loaded.directory / "map.toml")
    got = features(loaded.url, tmp_path / "db.parquet", "--data-map", mapping)
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected)


# -- score ---------------------------------------------------------------------------------
def test_score_into_a_database(loaded: Database, file_scores: Path) -> None:
    expected = pd.read_parquet(file_scores)
    file_manifest = json.loads(manifest_path(file_scores).read_text(encoding="utf-8"))
    # the run as scored from the database, chunk by chunk: its id is its content's,
    # whatever the chunk size (scored in 5 chunks here, in one below)
    args = score_args(loaded.url, loaded.url, "--table", "scores")
    first = runner.invoke(app, [*args, "--chunk-size", "2000"])
    assert_clean_exit(first, 0)
    ids = {"run_id": re.search(r"\(run([0-9a-f]{16})\)", squashed(first.output)).group(1)}
    assert f"Scored {len(expected):,} rows" in " ".join(first.output.split())
    assert squashed(f"{loaded.shown} table scores (run {ids['run_id']})") in squashed(first.output)
    table = loaded.query("SELECT * FROM scores").sort_values("entity_id", ignore_index=True)
    assert len(table) == len(expected)
    assert sorted(table.columns) == sorted([*expected.columns, *IDENTIFIERS])
    assert table["entity_id"].tolist() == expected["entity_id"].tolist()
    assert table["tier"].tolist() == expected["tier"].astype(str).tolist()
    assert table["score_tier"].tolist() == expected["score_tier"].astype(str).tolist()
    pd.testing.assert_series_equal(table["probability"], expected["probability"])
    as_of = pd.to_datetime(table["as_of"])
    assert (as_of == pd.Timestamp(AS_OF)).all()
    assert (table["run_id"] == ids["run_id"]).all()
    assert (table["model_sha256"] == file_manifest["model"]["model_sha256"]).all()
    assert table["model_version"].isna().all()  # a model directory has no registry version

    def rows() -> int:
        return int(loaded.query("SELECT COUNT(*) AS n FROM scores")["n"].iat[0])

    again = runner.invoke(app, args)
    assert_clean_exit(again, BAD_INPUT)
    assert "'scores' exists" in again.output
    assert "replace" in again.output
    assert rows() == len(expected)
    replaced = runner.invoke(app, [*args, "--if-exists", "replace"])
    assert_clean_exit(replaced, 0)
    assert rows() == len(expected)
    # the same run appended again would count every entity twice: refused
    appended = runner.invoke(app, [*args, "--if-exists", "append"])
    assert_clean_exit(appended, BAD_INPUT)
    assert squashed(f"already holds run {ids['run_id']}") in squashed(appended.output)
    assert rows() == len(expected)
    rerun = runner.invoke(app, [*args, "--if-exists", "replace-run"])
    assert_clean_exit(rerun, 0)
    assert rows() == len(expected)
    refused = runner.invoke(app, [*args, "--if-exists", "upsert"])
    assert_clean_exit(refused, BAD_INPUT)
    assert "--if-exists" in refused.output
    assert rows() == len(expected)


# -- plan ----------------------------------------------------------------------------------
def test_plan_into_a_database(loaded: Database, file_scores: Path, tmp_path: Path) -> None:
    args = ["plan", "--scores", str(file_scores), "--inspectors", str(SAMPLE_DIR), "--seed", "1"]
    to_file = runner.invoke(app, [*args, "--out", str(tmp_path / "plan.parquet")])
    assert_clean_exit(to_file, 0)
    expected = pd.read_parquet(tmp_path / "plan.parquet")
    to_database = runner.invoke(app, [*args, "--out", loaded.url, "--table", "plan"])
    assert_clean_exit(to_database, 0)
    assert squashed(f"wrote {loaded.shown} table plan") in squashed(to_database.output)
    assert f"Plan of {len(expected):,} visits" in " ".join(to_database.output.split())
    table = loaded.query("SELECT * FROM plan")
    assert list(table.columns) == list(expected.columns)
    order = ["entity_id", "visit"]
    table = table.sort_values(order, ignore_index=True)
    expected = expected.sort_values(order, ignore_index=True)
    for name in expected.columns:  # categories are text in the database
        if isinstance(expected[name].dtype, pd.CategoricalDtype):
            expected[name] = expected[name].astype(str)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)
    again = runner.invoke(app, [*args, "--out", loaded.url, "--table", "plan"])
    assert_clean_exit(again, BAD_INPUT)
    assert "'plan' exists" in again.output


# -- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["--data", "--out"])
def test_the_spark_engine_refuses_a_database_url(
    loaded: Database, where: str, tmp_path: Path
) -> None:
    data = loaded.url if where == "--data" else str(SAMPLE_DIR)
    out = loaded.url if where == "--out" else str(tmp_path / "scores.parquet")
    result = runner.invoke(app, score_args(data, out, "--engine", "spark"))
    assert_clean_exit(result, BAD_INPUT)
    assert "--engine spark reads and writes parquet" in " ".join(result.output.split())
    assert not (tmp_path / "scores.parquet").exists()


@pytest.mark.parametrize("command", ["validate", "features", "score"])
def test_a_database_table_in_the_mapping_of_files_is_bad_input(command: str, tmp_path: Path):
    # one mapping serves files and databases, but a database table cannot be read from
    # a directory of files: the mapping must give a file or a query there
    mapping = tmp_path / "map.toml"
    mapping.write_text('[tables]\nenterprises = "reg_enterprise"\n', encoding="utf-8")
    out = tmp_path / "out.parquet"
    if command == "validate":
        args = ["validate", str(SAMPLE_DIR)]
    elif command == "features":
        args = ["features", "--data", str(SAMPLE_DIR), "--as-of", AS_OF, "--out", str(out)]
    else:
        args = score_args(str(SAMPLE_DIR), str(out))
    result = runner.invoke(app, [*args, "--data-map", str(mapping)])
    assert_clean_exit(result, BAD_INPUT)
    text = " ".join(result.output.split())
    assert "enterprises [mapping]: table = 'reg_enterprise' names a database table" in text
    assert not out.exists()


def test_a_missing_data_map_is_bad_input(loaded: Database) -> None:
    missing = loaded.directory / "no-such-map.toml"
    result = runner.invoke(app, ["validate", loaded.url, "--data-map", str(missing)])
    assert_clean_exit(result, BAD_INPUT)
    assert "no register mapping" in result.output
