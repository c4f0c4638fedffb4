"""The Spark engine (creditrisk.jobs.spark) gives the pandas engine's rows, in local[2].

Every test shares the session-scoped ``spark`` fixture of conftest.py. Expected rows
always come from the pandas engine (:func:`creditrisk.jobs.scoring.score_chunk` or the
``score --engine pandas`` command) on the same tables; only the representation is
normalised before comparing (categories and strings to ``str``/None, dates to one unit).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.jobs import scoring
from creditrisk.jobs import spark as engine

AS_OF = "2025-01-01"
TWO_DATES = ["2023-06-30", "2025-01-01"]
BAD_INPUT = 2

runner = CliRunner()


# -- helpers ---------------------------------------------------------------------------
def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Only the representation: text-like columns to str/None, dates to datetime64[us]."""
    columns = {}
    for name, column in frame.items():
        dtype = column.dtype
        if pd.api.types.is_datetime64_any_dtype(dtype):
            columns[name] = column.astype("datetime64[us]")
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(dtype)
            or pd.api.types.is_object_dtype(dtype)
        ):
            values = [None if pd.isna(v) else str(v) for v in column.astype(object)]
            columns[name] = pd.Series(values, dtype=object)
        else:
            columns[name] = column.reset_index(drop=True)
    return pd.DataFrame(columns)


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Column by column, row by row, floats exactly (same code on the same inputs)."""
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    pd.testing.assert_frame_equal(
        normalise(got.reset_index(drop=True)),
        normalise(expected.reset_index(drop=True)),
        check_exact=True,
    )


def assert_meaningful(expected: pd.DataFrame) -> None:
    """The compared rows exercise the score columns: tiers, reasons, contributions."""
    assert len(expected) > 100
    assert expected["tier"].nunique() >= 3
    contributions = [c for c in expected.columns if c.endswith("_contribution")]
    assert contributions, "no reason contributions to compare"
    assert all(expected[c].notna().any() for c in contributions)
    assert (expected["override"].astype(str) != "").any()


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "._staging-" in p.name)


# -- data ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


@pytest.fixture(scope="module")
def sample() -> cr.EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def plain(sample: cr.EventTables) -> cr.RiskModel:
    """A small model without related-party features (trained on the sample stripped of
    roles and addresses): the tests of the job's behaviour (outputs, failures, the
    command) run without the related parties' joins, which the reference model's
    equality tests here and tests/test_spark_indicators.py exercise."""
    bare = sample.replace(
        roles=sample.roles.iloc[:0], enterprises=sample.enterprises.assign(address_id=None)
    )
    spine = cr.spine(bare, ["2022-07-01", "2023-01-01", "2023-07-01", "2024-01-01"])
    y = cr.build_labels(bare, spine)
    fitted = cr.RiskModel(n_estimators=30, num_threads=1).fit(cr.build_features(bare, spine), y)
    assert not {"linked_enterprises", "address_cluster_size"} & set(fitted.feature_names_in_)
    return fitted


@pytest.fixture(scope="module")
def plain_dir(plain: cr.RiskModel, tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(plain.save(tmp_path_factory.mktemp("plain") / "model"))


@pytest.fixture(scope="module")
def part(sample: cr.EventTables) -> cr.EventTables:
    """A quarter of the sample (2,500 enterprises): enough rows, a quarter of the time."""
    return sample.subset(sample.enterprises["entity_id"].iloc[::4])


@pytest.fixture(scope="module")
def sample_dir(sample: cr.EventTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample.write(tmp_path_factory.mktemp("sample") / "register")


@pytest.fixture(scope="module")
def part_dir(part: cr.EventTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return part.write(tmp_path_factory.mktemp("part") / "register")


# -- the engines agree -----------------------------------------------------------------
def test_parquet_directory_equals_pandas_engine(spark, sample, sample_dir, model) -> None:
    expected = scoring.score_chunk(sample, model, AS_OF)
    assert_meaningful(expected)
    got = engine.score(spark, sample_dir, model, AS_OF).toPandas()
    assert_same_rows(got, expected)


def test_in_memory_tables_equal_pandas_engine(spark, part, model) -> None:
    expected = scoring.score_chunk(part, model, AS_OF)
    assert_meaningful(expected)
    got = engine.score(spark, part, model, AS_OF).toPandas()
    assert_same_rows(got, expected)


def test_two_dates_and_any_bucket_count_give_the_same_rows(spark, part, plain) -> None:
    model = plain
    expected = scoring.score_chunk(part, model, TWO_DATES)
    assert sorted(expected["as_of"].unique()) == [pd.Timestamp(d) for d in TWO_DATES]
    assert expected["entity_id"].duplicated().any()  # entities alive at both dates
    one = engine.score(spark, part, model, TWO_DATES, buckets=1).toPandas()
    seven = engine.score(spark, part, model, TWO_DATES, buckets=7).toPandas()
    assert_same_rows(one, seven)
    assert_same_rows(one, expected)
    assert_same_rows(seven, expected)


@pytest.mark.parametrize(("features", "top_k"), [(True, None), (False, None), (True, 1)])
def test_output_schema_is_the_pandas_engines_columns(part, model, features, top_k) -> None:
    frame = scoring.score_chunk(
        part.subset(part.enterprises["entity_id"].iloc[:50]),
        model,
        AS_OF,
        features=features,
        top_k=top_k,
    )
    schema = engine.output_schema(model, features=features, top_k=top_k)
    assert schema.fieldNames() == list(frame.columns)


# -- writing an output -----------------------------------------------------------------
def test_out_writes_a_directory_and_a_manifest_and_overwrites(
    spark, part, part_dir, plain, tmp_path
) -> None:
    model = plain
    out = tmp_path / "scores.parquet"
    # the files hold the part alone: their related parties are the part's own
    expected = scoring.score_chunk(cr.EventTables.read(part_dir), model, TWO_DATES)
    written = engine.score(spark, part_dir, model, TWO_DATES, out, buckets=3)
    assert out.is_dir()
    assert any(p.name.endswith(".parquet") for p in out.iterdir())
    assert leftovers(tmp_path) == []
    assert_same_rows(pd.read_parquet(out), expected)
    assert written.count() == len(expected)

    manifest = json.loads(scoring.manifest_path(out).read_text(encoding="utf-8"))
    assert scoring.manifest_path(out).parent == tmp_path
    assert manifest["rows"] == manifest["output"]["rows"] == len(expected)
    assert sum(manifest["tiers"].values()) == manifest["rows"]
    assert sum(manifest["score_tiers"].values()) == manifest["rows"]
    assert manifest["tiers"] == {
        str(k): int(v) for k, v in expected["tier"].value_counts().items() if v
    }
    assert manifest["as_of"] == TWO_DATES
    assert manifest["buckets"] == 3
    assert manifest["entities"]["in_register"] == len(part.enterprises)

    # overwriting: the new rows replace the old ones (not added to them)
    again = scoring.score_chunk(part, model, "2024-01-01")
    engine.score(spark, part, model, "2024-01-01", out)
    assert leftovers(tmp_path) == []
    assert_same_rows(pd.read_parquet(out), again)
    manifest = json.loads(scoring.manifest_path(out).read_text(encoding="utf-8"))
    assert manifest["as_of"] == ["2024-01-01"]
    assert sum(manifest["tiers"].values()) == manifest["rows"] == len(again)


def _negative_fine(tables: cr.EventTables) -> cr.EventTables:
    penalties = tables.penalties.copy()
    penalties.loc[0, "fine_amount"] = -500.0
    return tables.replace(penalties=penalties)


@pytest.mark.parametrize(
    ("breaker", "as_of", "message"),
    [
        (_negative_fine, AS_OF, "fine_amount"),
        (lambda tables: tables, "2040-01-01", "outside the data"),
    ],
    ids=["negative-fine", "as-of-outside-the-data"],
)
def test_a_failing_job_leaves_no_output(
    spark, part, plain, tmp_path, breaker, as_of, message
) -> None:
    model = plain
    small = part.subset(part.enterprises["entity_id"].iloc[:400])
    assert len(small.penalties) > 0
    out = tmp_path / "scores.parquet"
    with pytest.raises(Exception, match=message):
        engine.score(spark, breaker(small), model, as_of, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert not out.exists()
    assert not scoring.manifest_path(out).exists()


def test_a_failing_job_keeps_the_previous_output(spark, part, plain, tmp_path) -> None:
    model = plain
    small = part.subset(part.enterprises["entity_id"].iloc[:400])
    assert len(small.penalties) > 0
    out = tmp_path / "scores.parquet"
    engine.score(spark, small, model, AS_OF, out)
    before = pd.read_parquet(out)
    manifest = scoring.manifest_path(out).read_bytes()
    with pytest.raises(Exception, match="fine_amount"):
        engine.score(spark, _negative_fine(small), model, "2024-01-01", out)
    assert leftovers(tmp_path) == []
    pd.testing.assert_frame_equal(pd.read_parquet(out), before)
    assert scoring.manifest_path(out).read_bytes() == manifest


# -- the command -----------------------------------------------------------------------
def test_cli_spark_engine_equals_pandas_engine(spark, part_dir, plain_dir, tmp_path) -> None:
    model_dir = plain_dir
    outputs = {}
    for name, extra in (("spark", ["--spark-master", "local[2]"]), ("pandas", [])):
        out = tmp_path / f"{name}.parquet"
        args = ["score", "--engine", name, *extra, "--model", model_dir,
                "--data", str(part_dir), "--as-of", AS_OF, "--out", str(out)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (result.output, result.exception)
        assert "Traceback" not in result.output
        assert "Scored" in result.output
        assert scoring.manifest_path(out).exists()
        outputs[name] = pd.read_parquet(out)
    assert_meaningful(outputs["pandas"])
    assert_same_rows(outputs["spark"], outputs["pandas"])
    manifest = json.loads(scoring.manifest_path(tmp_path / "spark.parquet").read_text())
    assert manifest["engine"] == "spark"
    assert manifest["rows"] == len(outputs["pandas"])
    # the command reused the running session and left it running
    assert spark.range(3).count() == 3
    assert spark.sparkContext.master == "local[2]"


def test_cli_spark_engine_reports_bad_tables_as_bad_input(
    spark, part_dir, plain_dir, tmp_path
) -> None:
    """As with --engine pandas: exit code 2 and a message naming the rule, no traceback."""
    data = tmp_path / "register"
    shutil.copytree(part_dir, data)
    penalties = pd.read_parquet(data / "penalties.parquet")
    penalties.loc[0, "fine_amount"] = -500.0
    penalties.to_parquet(data / "penalties.parquet", index=False)
    out = tmp_path / "scores.parquet"
    results = {}
    for name in ("pandas", "spark"):
        args = ["score", "--engine", name, "--spark-master", "local[2]",
                "--model", plain_dir, "--data", str(data),
                "--as-of", AS_OF, "--out", str(out)]  # fmt: skip
        results[name] = runner.invoke(app, args)
    assert results["pandas"].exit_code == BAD_INPUT  # the reference behaviour
    result = results["spark"]
    assert result.exit_code == BAD_INPUT, (result.output, repr(result.exception))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "penalties.fine_amount" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["register"]


def test_a_key_repeated_across_buckets_is_refused(spark, part, plain, tmp_path) -> None:
    """Buckets validate alone; ids that are not per entity are checked register-wide."""
    model = plain
    small = part.subset(part.enterprises["entity_id"].iloc[:400])
    penalties = small.penalties.sort_values("entity_id").reset_index(drop=True)
    assert penalties["entity_id"].iloc[0] != penalties["entity_id"].iloc[-1]
    penalties.loc[len(penalties) - 1, "penalty_id"] = penalties.loc[0, "penalty_id"]
    bad = small.replace(penalties=penalties)
    out = tmp_path / "scores.parquet"
    with pytest.raises(cr.SchemaError, match=r"penalties\.penalty_id \[duplicate key\]"):
        engine.score(spark, bad, model, AS_OF, out, buckets=50)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
