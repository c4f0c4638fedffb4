"""Any register: a register of only enterprises + inspections, in its own words.

The register here is built from a small synthetic world, then rewritten as a regulator
with another system would hold it: its own column names, no inspection ids, no
inspectors, its own inspection kinds and results, a score and a count of critical
violations on each inspection, an official risk class on each enterprise, and no other
table. A TOML register mapping (the same file for files and a database) brings it in;
it must validate, train, score, explain and report, from Python and from the CLI, and
every fault in the mapping must exit 2 naming the table, the column and the values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.data.register import Register

THEIR_KINDS = {
    "random": "Routine visit",
    "targeted": "Special check",
    "complaint": "Complaint visit",
    "joint": "Task force",
}
THEIR_RESULTS = {
    "compliant": "Pass",
    "issues_found": "Fail",
    "not_found_at_address": "Not located",
}
MAPPING = """
[register]
name = "a district's food and trade register"

[tables.enterprises]
file = "firms.csv"
[tables.enterprises.columns]
uscc = "entity_id"
founded = "registered_on"
district = "region"

[tables.inspections]
file = "visits.csv"
known_date = "inspected_on"
[tables.inspections.columns]
uscc = "entity_id"
visit_date = "inspected_on"
visit_type = "kind"
result = "outcome"
[tables.inspections.values.kind]
"Routine visit" = "routine"
"Special check" = "targeted"
"Complaint visit" = "complaint"
"Task force" = "joint"
[tables.inspections.values.outcome]
"Pass" = "compliant"
"Fail" = "issues_found"
"Not located" = "not_found_at_address"

[labels]
kinds = ["routine"]
finding = "critical >= 1"

[[features]]
name = "risk_class"
table = "enterprises"
aggregation = "value"
column = "risk_class"
meaning = "The authority's own risk class"
sentence = "Official risk class {value}"

[[features]]
name = "critical_found"
table = "inspections"
aggregation = "sum"
column = "critical"
windows = ["365D", "1095D"]
meaning = "Critical violations found"
direction = 1
sentence = "{value:.0f} critical violations found {window}"

[[features]]
name = "score_last"
table = "inspections"
aggregation = "last"
column = "score"
meaning = "Score of the latest inspection"
direction = 1
sentence = "The latest inspection scored {value:.0f}"
"""


@pytest.fixture(scope="module")
def world():
    return cr.synth.generate(3_000, start="2019-01-01", end="2024-12-31", seed=11)


@pytest.fixture(scope="module")
def register_dir(world, tmp_path_factory) -> Path:
    """The world as the other authority keeps it: two CSV files and a mapping."""
    root = tmp_path_factory.mktemp("their_register")
    ent = world.tables.enterprises
    rng = np.random.default_rng(3)
    firms = pd.DataFrame(
        {
            "uscc": ent["entity_id"],
            "founded": ent["registered_on"].dt.strftime("%Y-%m-%d"),
            "district": ent["region"],
            # the authority's own risk class: tertiles of the world's true risk in 2021
            "risk_class": pd.qcut(
                world.truth.probability("2021-01-01").reindex(ent["entity_id"]).to_numpy(),
                3,
                labels=["I", "II", "III"],
            ).astype(str),
        }
    )
    firms.to_csv(root / "firms.csv", index=False)
    ins = world.tables.inspections
    found = (ins["outcome"] != "compliant").to_numpy()
    critical = np.where(found, rng.integers(0, 3, len(ins)), 0)
    visits = pd.DataFrame(
        {
            "uscc": ins["entity_id"],
            "visit_date": ins["inspected_on"].dt.strftime("%Y-%m-%d"),
            "visit_type": ins["kind"].astype(str).map(THEIR_KINDS),
            "result": ins["outcome"].astype(str).map(THEIR_RESULTS),
            "score": np.where(found, rng.integers(10, 60, len(ins)), rng.integers(0, 14, len(ins))),
            "critical": critical,
        }
    )
    visits.to_csv(root / "visits.csv", index=False)
    (root / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def tables(register_dir) -> cr.EventTables:
    return cr.EventTables.read(register_dir, register=register_dir / "mapping.toml").validate()


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


# -- reading the register as it is ----------------------------------------------------
def test_the_register_reads_in_the_data_models_words(tables, world) -> None:
    assert len(tables.enterprises) == len(world.tables.enterprises)
    assert len(tables.inspections) == len(world.tables.inspections)
    for name in ("annual_reports", "licenses", "penalties", "list_entries"):
        assert not tables.has(name) and len(getattr(tables, name)) == 0
    ins = tables.inspections
    # kinds and results came through the register's vocabulary, none dropped
    their = world.tables.inspections["kind"].astype(str).replace({"random": "routine"})
    assert ins["kind"].astype(str).tolist() == their.tolist()
    assert (ins["outcome"].astype(str) == world.tables.inspections["outcome"].astype(str)).all()
    # no id, no inspector: ids made from entity and date, inspectors left empty
    assert ins["inspection_id"].is_unique
    ids = zip(ins["inspection_id"], ins["entity_id"], strict=True)
    assert all(i.startswith(f"{e}/") for i, e in ids)
    assert ins["inspector_1"].isna().all() and not tables.has("inspections", "inspector_1")
    # known the day it happened, as the mapping declares
    assert (ins["published_on"] == ins["inspected_on"]).all()
    # the register's own details ride along for declared features
    assert {"score", "critical"} <= set(ins.columns)
    assert "risk_class" in tables.enterprises.columns


def test_surrogate_ids_do_not_depend_on_which_entities_are_read(tables) -> None:
    some = tables.enterprises["entity_id"].iloc[::7]
    part = tables.subset(some)
    raw = part.inspections.drop(columns="inspection_id")
    again = cr.EventTables(enterprises=part.enterprises, inspections=raw)
    assert again.inspections["inspection_id"].tolist() == part.inspections["inspection_id"].tolist()


def test_features_whose_inputs_are_absent_are_not_built_and_the_catalogue_says_why(
    tables,
) -> None:
    catalogue = cr.feature_catalogue(tables)
    built = set(catalogue.index[catalogue["built"]])
    assert {"risk_class", "critical_found_1y", "critical_found_3y", "score_last"} <= built
    assert "inspections_routine" in built and "age_years" in built and "region" in built
    assert catalogue.loc["penalties_general_1y", "why"] == "penalties has no rows"
    assert catalogue.loc["entity_type", "why"] == "enterprises.entity_type is empty or absent"
    assert not catalogue.loc[~catalogue["built"], "why"].eq("").any()
    X = cr.build_features(tables, cr.spine(tables, "2023-01-01"))
    assert set(X.columns) - {"entity_id", "as_of"} == built
    # nothing built is constant for want of data: every built feature varies or is a count
    assert not X[[c for c in X.columns if c.startswith("penalt")]].shape[1]


def test_labels_follow_the_mapping(tables, world) -> None:
    spine = cr.spine(tables, "2022-01-01")
    y = cr.build_labels(tables, spine)
    assert y.attrs["kinds"] == ["routine"] and y.attrs["finding"] == "critical >= 1"
    assert y.attrs["horizon"] == "365D"
    ins = tables.inspections
    start, end = pd.Timestamp("2022-01-01"), pd.Timestamp("2023-01-01")
    window = ins[(ins["inspected_on"] >= start) & (ins["inspected_on"] < end)]
    window = window[window["kind"] == "routine"]
    window = window[window["entity_id"].isin(spine["entity_id"])]
    expected = (window["critical"] >= 1).groupby(window["entity_id"]).any().astype(float)
    got = y.set_axis(spine["entity_id"]).rename("critical")
    pd.testing.assert_series_equal(
        got.dropna().sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )


def test_the_minimal_register_trains_scores_explains_and_reports_in_python(tables) -> None:
    result = cr.fit_model(tables, n_estimators=40, num_threads=1)
    model = result.model
    lacking = {r.name for r in model.policy_.overrides if r.feature not in result.X_test.columns}
    assert lacking and set(model.inapplicable_overrides_) == lacking
    assert "risk_class" in model.feature_names_in_
    assert model.declared_["critical_found_1y"]["direction"] == 1
    assert 0 <= result.metrics["auc"] <= 1 and result.metrics["n"] > 100
    k = len(model.feature_names_in_)
    scores = model.classify(result.X_test, top_k=k)
    assert scores["override"].eq("").all()  # no override can apply without lists
    # a declared feature's reasons read in the mapping's own sentence
    declared = {d.name: d for d in cr.features.declared.from_mapping(tables.register.features)}
    seen = set()
    for rank in range(1, k + 1):
        feature = scores[f"reason_{rank}_feature"].astype(str)
        for name in set(feature) & set(declared):
            rows = scores[feature == name]
            values = result.X_test.loc[rows.index, name]
            assert rows[f"reason_{rank}"].tolist() == [declared[name].words(v) for v in values]
            seen.add(name)
    assert seen, "no declared feature is ever a reason"
    assert model.sentence("score_last", 7.0) == "The latest inspection scored 7"
    card = cr.report.explain_card(model, result.X_test.iloc[[0]])
    assert card.tier == scores["tier"].iloc[0]
    page = cr.report.build_report(
        cr.scoring.score_chunk(tables, model, result.X_test["as_of"].iloc[0]), model, tables=tables
    )
    assert "tier-distribution" in page.html


def test_a_model_saved_with_declared_features_reads_them_back(tables, tmp_path) -> None:
    result = cr.fit_model(tables, n_estimators=20, num_threads=1)
    saved = result.model.save(tmp_path / "model")
    meta = json.loads((saved / "metadata.json").read_text(encoding="utf-8"))
    assert {d["name"] for d in meta["declared"]} & {"risk_class", "score_last"}
    again = cr.RiskModel.load(saved)
    pd.testing.assert_frame_equal(
        again.classify(result.X_test), result.model.classify(result.X_test)
    )
    assert (
        again.sentence("critical_found_1y", 2.0)
        == "2 critical violations found in the last 12 months"
    )


def test_the_minimal_register_through_the_cli(register_dir, tmp_path) -> None:
    mapping = register_dir / "mapping.toml"
    done = run("validate", register_dir, "--data-map", mapping)
    assert done.exit_code == 0, done.output
    model_dir = tmp_path / "model"
    done = run("train", "--data", register_dir, "--data-map", mapping, "--out", model_dir)
    assert done.exit_code == 0, done.output
    scores = tmp_path / "scores.parquet"
    done = run(
        "score",
        "--model",
        model_dir,
        "--data",
        register_dir,
        "--data-map",
        mapping,
        "--as-of",
        "2024-01-01",
        "--out",
        scores,
    )
    assert done.exit_code == 0, done.output
    frame = pd.read_parquet(scores)
    assert len(frame) > 0 and frame["tier"].notna().all()
    assert "critical_found_1y" in frame.columns
    entity = frame["entity_id"].iloc[0]
    card = tmp_path / "card.txt"
    done = run(
        "explain",
        entity,
        "--model",
        model_dir,
        "--data",
        register_dir,
        "--data-map",
        mapping,
        "--as-of",
        "2024-01-01",
        "--out",
        card,
    )
    assert done.exit_code == 0, done.output
    assert entity in card.read_text(encoding="utf-8")
    report = tmp_path / "report.html"
    done = run(
        "report",
        "--scores",
        scores,
        "--model",
        model_dir,
        "--data",
        register_dir,
        "--data-map",
        mapping,
        "--out",
        report,
    )
    assert done.exit_code == 0, done.output
    assert report.stat().st_size > 10_000


# -- faults: exit 2 naming table, column and values -----------------------------------
def _broken(register_dir: Path, tmp_path: Path, mapping: str | None = None, **files) -> Path:
    root = tmp_path / "broken"
    root.mkdir()
    for name in ("firms.csv", "visits.csv"):
        (root / name).write_bytes((register_dir / name).read_bytes())
    for name, edit in files.items():
        frame = pd.read_csv(root / f"{name}.csv", dtype=str)
        edit(frame).to_csv(root / f"{name}.csv", index=False)
    (root / "mapping.toml").write_text(mapping or MAPPING, encoding="utf-8")
    return root


def _validate(root: Path):
    done = CliRunner().invoke(
        app, ["validate", str(root), "--data-map", str(root / "mapping.toml")]
    )
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output
    return " ".join(done.output.split())


def test_an_unmapped_vocabulary_value_exits_2_naming_it(register_dir, tmp_path) -> None:
    def edit(frame):
        frame.loc[frame.index[:3], "visit_type"] = "Night raid"
        return frame

    text = _validate(_broken(register_dir, tmp_path, visits=edit))
    assert "inspections.kind [unmapped value]" in text
    assert "'Night raid' (3 rows)" in text


def test_a_mapping_naming_a_missing_column_exits_2(register_dir, tmp_path) -> None:
    mapping = MAPPING.replace('district = "region"', 'disrict = "region"')
    text = _validate(_broken(register_dir, tmp_path, mapping=mapping))
    assert "enterprises.disrict [mapping names a missing column]" in text
    assert "district" in text  # what the table does have


def test_a_rule_on_a_text_column_exits_2_naming_its_values(register_dir, tmp_path) -> None:
    mapping = MAPPING.replace('finding = "critical >= 1"', 'finding = "visit_note >= 1"')

    def edit(frame):
        return frame.assign(visit_note=np.where(frame.index % 2 == 0, "dirty floor", "ok"))

    root = _broken(register_dir, tmp_path, mapping=mapping, visits=edit)
    done = run(
        "train", "--data", root, "--data-map", root / "mapping.toml", "--out", tmp_path / "m"
    )
    assert done.exit_code == 2, done.output
    text = " ".join(done.output.split())
    assert "inspections.visit_note [rule on a non-numeric column]" in text
    assert "dirty floor" in text


def test_a_mapping_to_a_value_outside_the_data_model_exits_2(register_dir, tmp_path) -> None:
    mapping = MAPPING.replace('"Task force" = "joint"', '"Task force" = "joint_operation"')
    root = _broken(register_dir, tmp_path, mapping=mapping)
    text = _validate(root)
    assert "values.kind" in text and "joint_operation" in text


def test_every_problem_is_reported_in_one_pass(register_dir, tmp_path) -> None:
    def firms(frame):
        return frame.drop(columns="founded").assign(district=frame["district"])

    def visits(frame):
        frame.loc[frame.index[:2], "visit_date"] = "yesterday"
        return frame

    mapping = MAPPING.replace('founded = "registered_on"\n', "")
    root = _broken(register_dir, tmp_path, mapping=mapping, firms=firms, visits=visits)
    frame = pd.read_csv(root / "visits.csv", dtype=str).drop(columns="result")
    frame.to_csv(root / "visits.csv", index=False)
    text = _validate(root)
    # a missing column and a bad date in the same table, both in one message
    assert "inspections.outcome" in text
    assert "inspections.inspected_on [unparseable]" in text


def test_a_misnamed_file_is_reported_not_skipped(tmp_path) -> None:
    cr.load_sample().write(tmp_path / "reg")
    (tmp_path / "reg" / "penalties.parquet").rename(tmp_path / "reg" / "penalty.parquet")
    with pytest.raises(cr.SchemaError, match=r"penalty\.parquet is not read: did you mean"):
        cr.EventTables.read(tmp_path / "reg")


def test_a_near_miss_of_an_optional_column_is_reported(tmp_path) -> None:
    sample = cr.load_sample()
    reports = sample.annual_reports.rename(columns={"revenue": "Revenue"})
    with pytest.raises(cr.SchemaError, match="has 'Revenue': rename it"):
        cr.EventTables(enterprises=sample.enterprises, annual_reports=reports)


# -- the same mapping for a database ----------------------------------------------------
def test_the_same_mapping_reads_the_register_from_a_database(register_dir, tables, tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path}/their.db"
    engine = sa.create_engine(url)
    pd.read_csv(register_dir / "firms.csv", dtype=str).to_sql("firm", engine, index=False)
    visits = pd.read_csv(register_dir / "visits.csv", dtype={"uscc": str})
    visits.to_sql("visit", engine, index=False)
    engine.dispose()
    text = MAPPING.replace('file = "firms.csv"', 'table = "firm"').replace(
        'file = "visits.csv"', 'query = "SELECT * FROM visit"'
    )
    register = Register.from_dict(__import__("tomllib").loads(text))
    got = cr.EventTables.read_sql(url, register=register)
    for name in ("enterprises", "inspections"):
        mine, theirs = getattr(got, name), getattr(tables, name)
        columns = [c for c in cr.schema.TABLES[name].names if c in mine]
        key = cr.schema.TABLES[name].key[0]
        pd.testing.assert_frame_equal(
            mine[columns].sort_values(key, ignore_index=True),
            theirs[columns].sort_values(key, ignore_index=True),
        )
    by_id = ["inspection_id", "score", "critical"]
    pd.testing.assert_frame_equal(
        got.inspections[by_id].sort_values("inspection_id", ignore_index=True),
        tables.inspections[by_id].sort_values("inspection_id", ignore_index=True),
        check_dtype=False,
    )


# -- the register object itself -------------------------------------------------------
def test_register_refuses_unknown_keys_and_kinds() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        Register.from_dict({"tables": {"inspections": {"colums": {}}}})
    with pytest.raises(ValueError, match="kinds"):
        Register.from_dict({"labels": {"kinds": ["scheduled"]}})
    with pytest.raises(ValueError, match="event_date and known_date"):
        Register.from_dict({"tables": {"violations": {"file": "v.csv"}}})
    with pytest.raises(ValueError, match="only isna"):
        Register.from_dict({"labels": {"finding": "open('x')"}})


def test_event_tables_from_any_subset_and_empty() -> None:
    sample = cr.load_sample()
    only = cr.EventTables(enterprises=sample.enterprises, penalties=sample.penalties).validate()
    assert only.has("penalties") and not only.has("inspections")
    assert (
        len(only.inspections) == 0
        and list(only.inspections.columns) == cr.schema.TABLES["inspections"].names
    )
    empty = cr.EventTables.empty()
    assert sum(len(frame) for _, frame in empty) == 0
    assert empty.validate() is empty


def test_the_readme_mapping_and_the_nyc_example_are_valid_mappings() -> None:
    import re
    import tomllib

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", readme, re.S)
    shown = Register.from_dict(tomllib.loads(block))
    assert shown.labels.kinds == ("routine",)
    assert [d.name for d in cr.features.declared.from_mapping(shown.features)] == [
        "critical_found_1y",
        "critical_found_3y",
    ]
    nyc = Register.read(root / "examples" / "nyc" / "mapping.toml")
    assert nyc.extra_tables == ["violations"] and nyc.labels.finding.text == "score >= 28"
    assert len(cr.features.declared.from_mapping(nyc.features)) >= 10


# -- obligations are derived, not read -------------------------------------------------
REPORT_FEATURES = [f.name for f in cr.features.CATALOGUE if f.source == "annual_reports"]


@pytest.mark.parametrize("as_of", ["2019-07-01", "2022-01-01", "2024-07-01", "2026-01-01"])
def test_unfiled_obligations_listed_or_not_give_the_same_features(as_of) -> None:
    # a register that lists unfiled reports (the sample) and one that keeps only the
    # reports filed must give identical annual-report features
    sample = cr.load_sample()
    reports = sample.annual_reports
    filed_only = sample.replace(annual_reports=reports[reports["filed_on"].notna()])
    assert len(filed_only.annual_reports) < len(reports)
    spine = cr.spine(sample, as_of)
    left = cr.build_features(sample, spine)[REPORT_FEATURES]
    right = cr.build_features(filed_only, spine)[REPORT_FEATURES]
    pd.testing.assert_frame_equal(left, right)


def test_reports_due_follow_registration_and_deregistration() -> None:
    enterprises = pd.DataFrame(
        {
            "entity_id": ["OLD", "NEW", "GONE", "EARLY_GONE"],
            "registered_on": ["2010-05-01", "2021-09-01", "2015-01-01", "2015-01-01"],
            "deregistered_on": [None, None, "2022-07-01", "2022-06-30"],
        }
    )
    reports = pd.DataFrame(  # the table covers report years from 2019; OLD filed 2019 only
        {"entity_id": ["OLD"], "report_year": [2019], "filed_on": ["2020-03-01"]}
    )
    tables = cr.EventTables(enterprises=enterprises, annual_reports=reports).validate()
    spine = pd.DataFrame({"entity_id": ["OLD", "NEW", "GONE", "EARLY_GONE"], "as_of": "2022-07-01"})
    X = cr.build_features(tables, spine).set_index("entity_id")
    # OLD owes 2019..2021 (the table starts in 2019), filed 2019: 2 missing in a row;
    # NEW registered in 2021 owes 2021 (due by 30 June 2022); GONE was deregistered on
    # 1 July 2022, after the 2021 deadline: it owes 2019..2021; EARLY_GONE left on 30 June
    # 2022, by the deadline: it owes 2019..2020 only
    assert X["reports_not_filed"].to_dict() == {"OLD": 2, "NEW": 1, "GONE": 3, "EARLY_GONE": 2}
    assert X["reports_missed_in_a_row"].to_dict() == {
        "OLD": 2,
        "NEW": 1,
        "GONE": 3,
        "EARLY_GONE": 2,
    }
    assert X.loc["OLD", "reports_on_time_share"] == pytest.approx(1 / 3)
    assert X.loc["NEW", "report_days_late_last"] == 1  # 30 June 2022 passed one day ago
