"""Tracked training with MLflow: the champion alias, the pyfunc, what a run logs, the
tracking store in use, and TrainConfig.

One temporary SQLite store per module holds three runs of the registered model
``creditrisk`` (a good model, a worse one, the worse one again promoted by request) and
two runs of ``creditrisk-brier`` compared on the Brier score. Expectations come from the
public API (``creditrisk.model.evaluation.metrics``, ``RiskModel.classify``, ``tier_table``) or
from the files themselves, never from earlier runs.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tomllib
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking._tracking_service import utils as mlflow_tracking_utils

import creditrisk as cr
from creditrisk.jobs.tracking import TrainConfig, load_model
from creditrisk.model.evaluation import metrics, tier_table

REPO = Path(__file__).resolve().parents[1]
NAME = "creditrisk"
GOOD = {"model": {"n_estimators": 60, "num_threads": 1}}
WORSE = {"model": {"n_estimators": 2, "learning_rate": 0.01, "num_threads": 1}}
BRIER = {"registered_model": "creditrisk-brier", "experiment": "brier", "metric": "brier"}
ARTIFACTS = {
    "MODEL_CARD.md",
    "shap_summary.png",
    "tier_table.csv",
    "reliability.png",
    "feature_catalogue.csv",
    "champion_comparison.json",
    "train_config.json",
}
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Store:
    uri: str
    root: Path
    runs: list  # TrainingRun of creditrisk: good, worse, worse promoted by request
    champions: list[str]  # the champion version after each of those runs
    user_uri: str  # MLFLOW_TRACKING_URI while the runs were trained
    env_after: list  # MLFLOW_TRACKING_URI right after each train()
    brier_runs: list  # creditrisk-brier: worse, then good
    brier_champions: list[str]


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables() -> cr.EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def store(tables, tmp_path_factory) -> Store:
    root = tmp_path_factory.mktemp("store")
    uri = f"sqlite:///{root}/mlflow.db"
    user_uri = f"sqlite:///{root}/user.db"
    client = mlflow.MlflowClient(uri)
    runs, champions, env_after = [], [], []
    brier_runs, brier_champions = [], []
    with pytest.MonkeyPatch.context() as mp:
        # the user's own store: an explicit tracking_uri wins over it and leaves it set
        mp.setenv("MLFLOW_TRACKING_URI", user_uri)
        for config, promote in ((GOOD, None), (WORSE, None), (WORSE, True)):
            runs.append(cr.train(tables, config, tracking_uri=uri, promote=promote))
            env_after.append(os.environ.get("MLFLOW_TRACKING_URI"))
            champions.append(str(client.get_model_version_by_alias(NAME, "champion").version))
        for config in (WORSE, GOOD):
            brier_runs.append(cr.train(tables, config | {"mlflow": BRIER}, tracking_uri=uri))
            env_after.append(os.environ.get("MLFLOW_TRACKING_URI"))
            alias = client.get_model_version_by_alias(BRIER["registered_model"], "champion")
            brier_champions.append(str(alias.version))
    return Store(uri, root, runs, champions, user_uri, env_after, brier_runs, brier_champions)


@pytest.fixture(scope="module")
def client(store) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(store.uri)


@contextmanager
def tracking_at(uri: str):
    """MLflow's fluent API (registry included) pointed at ``uri``, then restored."""
    previous = mlflow_tracking_utils._tracking_uri
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", uri)  # undone on exit, whatever MLflow did
        mlflow.set_tracking_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def champion_pyfunc(store):
    """``models:/creditrisk@champion`` loaded through MLflow's pyfunc."""
    with tracking_at(store.uri):
        return mlflow.pyfunc.load_model(f"models:/{NAME}@champion")


@pytest.fixture(scope="module")
def champion(store) -> cr.RiskModel:
    model, info = load_model(f"models:/{NAME}@champion", store.uri)
    assert info["version"] == store.champions[-1]
    return model


@pytest.fixture(scope="module")
def rows(tables) -> pd.DataFrame:
    """Feature rows as build_features returns them (categories), in shuffled order."""
    X = cr.build_features(tables, cr.spine(tables, "2024-07-01"))
    return X.sample(400, random_state=3)


@pytest.fixture(scope="module")
def downloaded(store, tmp_path_factory) -> Path:
    """The logged MLflow model of the first run, as files."""
    dst = tmp_path_factory.mktemp("downloaded")
    with tracking_at(store.uri):
        return Path(mlflow.artifacts.download_artifacts(store.runs[0].model_uri, dst_path=str(dst)))


def run_artifact(store: Store, run_id: str, name: str, tmp_path: Path) -> Path:
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=name, dst_path=str(tmp_path), tracking_uri=store.uri
    )
    return Path(local)


def slice_metric(model: cr.RiskModel, run, metric: str) -> float:
    """``metric`` of ``model`` on ``run``'s test slice, measured here."""
    p = model.predict_proba(run.result.X_test)[:, 1]
    return metrics(run.result.y_test, p)[metric]


# -- champion and challenger -----------------------------------------------------------
def test_first_run_becomes_champion(store, client) -> None:
    first = store.runs[0]
    assert first.version == "1"
    assert first.promoted is True
    assert first.comparison["decision"] == "no champion"
    assert first.comparison["champion"] is None
    assert store.champions[0] == "1"
    assert first.model_uri == f"models:/{NAME}/1"
    assert client.get_model_version(NAME, "1").run_id == first.run_id


def test_a_worse_model_does_not_become_champion(store, client) -> None:
    good, worse = store.runs[0], store.runs[1]
    c = worse.comparison
    assert worse.version == "2"
    assert c["metric"] == "auc"
    assert c["champion_version"] == "1"
    # the challenger's number is its own AUC on its test slice
    assert c["challenger"] == pytest.approx(slice_metric(worse.model, worse, "auc"), abs=1e-12)
    assert c["challenger"] == pytest.approx(worse.result.metrics["auc"], abs=1e-12)
    # the champion's number: v1 from the registry, measured on the challenger's slice
    v1, _ = load_model(f"models:/{NAME}/1", store.uri)
    assert v1.booster_.model_to_string() == good.model.booster_.model_to_string()
    assert c["champion"] == pytest.approx(slice_metric(v1, worse, "auc"), abs=1e-12)
    dates = sorted({str(pd.Timestamp(d).date()) for d in worse.result.X_test["as_of"]})
    assert c["slice"] == dates
    assert c["labelled_rows"] == int(worse.result.y_test.notna().sum())
    # the worse config is worse: not promoted, champion stays v1
    assert c["challenger"] < c["champion"]
    assert c["decision"] == "not better"
    assert worse.promoted is False
    assert c["promoted"] is False
    assert store.champions[1] == "1"
    tags = client.get_run(worse.run_id).data.tags
    assert tags["creditrisk.promoted"] == "False"
    assert tags["creditrisk.decision"] == "not better"
    logged = client.get_run(worse.run_id).data.metrics
    assert logged["champion_auc"] == pytest.approx(c["champion"])
    assert client.get_model_version(NAME, "2").tags["test_auc"] == str(c["challenger"])


def test_promote_true_forces_a_worse_model(store, client) -> None:
    forced = store.runs[2]
    c = forced.comparison
    assert forced.version == "3"
    assert c["champion_version"] == "1"
    assert c["challenger"] < c["champion"]
    assert forced.promoted is True
    assert c["decision"] == "not better, promoted by request"
    assert store.champions[2] == "3"
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "3"


def test_brier_lower_is_better(store, client) -> None:
    worse, good = store.brier_runs
    assert worse.comparison["decision"] == "no champion"
    assert worse.registered_model == good.registered_model == "creditrisk-brier"
    c = good.comparison
    assert c["metric"] == "brier"
    assert c["challenger"] == pytest.approx(slice_metric(good.model, good, "brier"), abs=1e-12)
    assert c["champion"] == pytest.approx(slice_metric(worse.model, good, "brier"), abs=1e-12)
    # a lower Brier score (the better-calibrated, better-ranking model) wins
    assert c["challenger"] < c["champion"]
    assert c["decision"] == "better"
    assert good.promoted is True
    assert store.brier_champions == ["1", "2"]
    # the other registered model's alias did not move
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == store.champions[-1]


def test_explicit_uri_wins_and_leaves_the_users_store_alone(store) -> None:
    assert all(run.tracking_uri == store.uri for run in [*store.runs, *store.brier_runs])
    assert store.env_after == [store.user_uri] * len(store.env_after)
    assert not (store.root / "user.db").exists()
    # artifacts beside the SQLite store
    assert (store.root / "mlartifacts").is_dir()


# -- the pyfunc --------------------------------------------------------------------------
def test_pyfunc_by_alias_scores_like_risk_model(champion_pyfunc, champion, rows) -> None:
    categorical = [c for c in rows if isinstance(rows[c].dtype, pd.CategoricalDtype)]
    assert categorical  # build_features gives pandas categories
    got = champion_pyfunc.predict(rows)
    expected = champion.classify(rows)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


@pytest.mark.parametrize("dtype", ["str", object])
def test_pyfunc_takes_categories_as_text(champion_pyfunc, champion, rows, dtype) -> None:
    categorical = [c for c in rows if isinstance(rows[c].dtype, pd.CategoricalDtype)]
    text = rows.astype(dict.fromkeys(categorical, dtype))
    assert not any(isinstance(text[c].dtype, pd.CategoricalDtype) for c in text)
    got = champion_pyfunc.predict(text)
    expected = champion.classify(rows)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


def test_pyfunc_top_k_param(champion_pyfunc, champion, rows) -> None:
    got = champion_pyfunc.predict(rows, params={"top_k": 1})
    reasons = [c for c in got if c.startswith("reason_") and c.count("_") == 1]
    assert reasons == ["reason_1"]
    expected = champion.classify(rows, top_k=1)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True))


@pytest.mark.parametrize("as_category", [False, True])
def test_pyfunc_refuses_an_unseen_category(champion_pyfunc, rows, as_category) -> None:
    bad = rows.copy()
    if as_category:
        bad["region"] = bad["region"].cat.add_categories(["atlantis"])
    else:
        bad["region"] = bad["region"].astype("str")
    bad.loc[bad.index[5], "region"] = "atlantis"
    with pytest.raises(cr.ModelError, match="'region'") as info:
        champion_pyfunc.predict(bad)
    assert "atlantis" in str(info.value)


def test_pyfunc_signature(store, champion) -> None:
    with tracking_at(store.uri):
        info = mlflow.models.get_model_info(f"models:/{NAME}@champion")
    sig = info.signature
    assert sig is not None
    assert sig.inputs.input_names() == ["entity_id", "as_of", *champion.feature_names_in_]
    assert sig.params.to_dict() == [
        {"name": "top_k", "type": "long", "default": champion.top_k, "shape": None}
    ]
    # categorical features are optional "any" columns (MLflow cannot enforce categories)
    by_name = {c.name: c for c in sig.inputs.inputs}
    for name in champion.categories_:
        assert str(by_name[name].type) == "Any"
        assert by_name[name].required is False


# -- what a run logs -------------------------------------------------------------------
def test_run_params(store, client, tables) -> None:
    run = store.runs[0]
    params = client.get_run(run.run_id).data.params
    assert params["policy"] == "national"
    assert params["data_fingerprint"] == tables.fingerprint()
    assert params["horizon"] == "365D"
    assert params["test_as_of"] == str(pd.Timestamp(run.result.X_test["as_of"].iloc[0]).date())
    assert params["train_as_of"] == ",".join(run.model.training_["as_of"])
    assert params["model.n_estimators"] == str(GOOD["model"]["n_estimators"])
    assert params["model.num_threads"] == "1"
    assert "model.policy" not in params


def test_run_metrics(store, client) -> None:
    run = store.runs[0]
    logged = client.get_run(run.run_id).data.metrics
    for name in ("auc", "average_precision", "brier"):
        assert logged[f"test_{name}"] == pytest.approx(run.result.metrics[name], abs=1e-12)
    assert logged["trees"] == run.model.n_trees_
    tiers = list(run.model.policy_.tiers)
    shares = [logged[f"tier_{t}_share"] for t in tiers]
    assert sum(shares) == pytest.approx(1.0)
    scores = run.model.classify(run.result.X_test, top_k=0)
    y = run.result.y_test.to_numpy(dtype=float)
    for tier in tiers:
        in_tier = (scores["tier"] == tier).to_numpy()
        assert logged[f"tier_{tier}_share"] == pytest.approx(in_tier.mean())
        labelled = in_tier & ~np.isnan(y)
        if labelled.any():
            assert logged[f"tier_{tier}_finding_rate"] == pytest.approx(y[labelled].mean())
        else:
            assert f"tier_{tier}_finding_rate" not in logged


def test_run_artifacts(store, client, tmp_path) -> None:
    run = store.runs[1]
    names = {a.path for a in client.list_artifacts(run.run_id)}
    assert names >= ARTIFACTS
    card = run_artifact(store, run.run_id, "MODEL_CARD.md", tmp_path)
    assert card.read_text(encoding="utf-8") == run.result.card
    for png in ("shap_summary.png", "reliability.png"):
        assert run_artifact(store, run.run_id, png, tmp_path).read_bytes().startswith(PNG)
    logged = json.loads(
        run_artifact(store, run.run_id, "champion_comparison.json", tmp_path).read_text()
    )
    assert logged == json.loads(json.dumps(run.comparison))
    config = json.loads(run_artifact(store, run.run_id, "train_config.json", tmp_path).read_text())
    assert config == TrainConfig.from_dict(WORSE).to_dict()
    catalogue = pd.read_csv(run_artifact(store, run.run_id, "feature_catalogue.csv", tmp_path))
    assert len(catalogue) == len(cr.feature_catalogue())
    table = pd.read_csv(run_artifact(store, run.run_id, "tier_table.csv", tmp_path), index_col=0)
    expected = tier_table(run.model.classify(run.result.X_test, top_k=0), run.result.y_test)
    assert [str(t) for t in table.index] == [str(t) for t in expected.index]
    np.testing.assert_allclose(table["share"], expected["share"])
    np.testing.assert_array_equal(table["entities"], expected["entities"])
    np.testing.assert_allclose(table["finding_rate"], expected["finding_rate"])


def test_logged_model_has_signature_pins_and_no_pickle(store, downloaded) -> None:
    spec = yaml.safe_load((downloaded / "MLmodel").read_text(encoding="utf-8"))
    assert spec["signature"]["inputs"]
    assert spec["signature"]["outputs"]
    flavor = spec["flavors"]["python_function"]
    assert flavor["loader_module"] == "creditrisk.jobs.tracking"
    assert spec["metadata"]["data_fingerprint"] == cr.load_sample().fingerprint()
    requirements = [
        line.strip()
        for line in (downloaded / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert requirements
    assert all("==" in line for line in requirements), requirements
    assert f"creditrisk=={cr.__version__}" in requirements
    for package in ("lightgbm", "pandas", "numpy", "scikit-learn", "pyarrow"):
        assert f"{package}=={version(package)}" in requirements
    every_file = [p for p in downloaded.rglob("*") if p.is_file()]
    assert not [p for p in every_file if p.suffix in (".pkl", ".pickle")]
    # the model directory inside is the RiskModel itself, checked on load
    data = downloaded / flavor["data"]
    assert {"model.txt", "metadata.json", "CHECKSUMS"} <= {p.name for p in data.iterdir()}
    loaded = cr.RiskModel.load(data)
    first = store.runs[0].model
    assert loaded.booster_.model_to_string() == first.booster_.model_to_string()
    digest = hashlib.sha256((data / "model.txt").read_bytes()).hexdigest()
    assert json.loads((data / "metadata.json").read_text())["files"]["model.txt"] == digest


def test_load_model_by_version_and_alias(store) -> None:
    by_version, info = load_model(f"models:/{NAME}/2", store.uri)
    assert info["version"] == "2"
    assert info["tracking_uri"] == store.uri
    worse = store.runs[1].model
    assert by_version.booster_.model_to_string() == worse.booster_.model_to_string()
    by_run, info = load_model(f"runs:/{store.runs[1].run_id}/model", store.uri)
    assert info["version"] is None
    assert by_run.booster_.model_to_string() == worse.booster_.model_to_string()


@pytest.mark.parametrize(
    "uri", [f"models:/{NAME}@nobody", "models:/no-such-model@champion", f"models:/{NAME}/99"]
)
def test_load_model_refuses_what_is_not_there(store, uri) -> None:
    with pytest.raises(cr.ModelError, match="cannot load"):
        load_model(uri, store.uri)


# -- which store -----------------------------------------------------------------------
def test_env_tracking_uri_is_used_without_an_explicit_one(store, tables, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    config = {**WORSE, "mlflow": {"registered_model": "creditrisk-env", "experiment": "env"}}
    run = cr.train(tables, config)
    assert run.tracking_uri == store.uri
    assert os.environ["MLFLOW_TRACKING_URI"] == store.uri
    client = mlflow.MlflowClient(store.uri)
    assert client.get_model_version("creditrisk-env", run.version).run_id == run.run_id
    assert client.get_experiment_by_name("env").experiment_id == run.experiment_id


def test_default_store_is_mlflow_db_in_the_working_directory(tables, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    previous = mlflow_tracking_utils._tracking_uri
    assert not (tmp_path / "mlflow.db").exists()
    run = cr.train(tables, WORSE)
    assert run.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert (tmp_path / "mlflow.db").is_file()
    assert (tmp_path / "mlartifacts").is_dir()
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert mlflow_tracking_utils._tracking_uri == previous
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    assert client.get_model_version(NAME, run.version).run_id == run.run_id
    assert str(client.get_model_version_by_alias(NAME, "champion").version) == "1"


# -- TrainConfig -----------------------------------------------------------------------
def test_config_from_toml(tmp_path) -> None:
    path = tmp_path / "train.toml"
    path.write_text(
        "[training]\n"
        'policy = "daqing"\n'
        'horizon = "180D"\n'
        'train_as_of = ["2021-01-01", "2022-01-01"]\n'
        'test_as_of = "2024-01-01"\n'
        "every_months = 12\n"
        "history_years = 2\n"
        "[model]\n"
        "n_estimators = 40\n"
        "max_depth = 4\n"
        "[mlflow]\n"
        'experiment = "exp"\n'
        'registered_model = "reg"\n'
        'metric = "average_precision"\n'
        "promote = true\n"
        "baseline_margin = 0.02\n"
        'artifact_location = "file:///tmp/somewhere"\n'
    )
    config = TrainConfig.from_toml(path)
    assert config == TrainConfig(
        policy="daqing",
        horizon="180D",
        train_as_of=("2021-01-01", "2022-01-01"),
        test_as_of="2024-01-01",
        every_months=12,
        history_years=2,
        model={"n_estimators": 40, "max_depth": 4},
        experiment="exp",
        registered_model="reg",
        metric="average_precision",
        promote=True,
        baseline_margin=0.02,
        artifact_location="file:///tmp/somewhere",
    )
    # and back: every setting written in the file comes out as written
    assert TrainConfig.from_toml(path).to_dict() == tomllib.loads(path.read_text())


def test_shipped_config_file_reads_as_written() -> None:
    path = REPO / "configs" / "train.toml"
    written = tomllib.loads(path.read_text(encoding="utf-8"))
    config = TrainConfig.from_toml(path)
    as_dict = config.to_dict()
    for section, values in written.items():
        for key, value in values.items():
            assert as_dict[section][key] == value, (section, key)


def test_toml_dates_are_read_like_quoted_dates(tmp_path) -> None:
    """TOML dates (unquoted) mean the same as quoted ones, for every date setting."""
    quoted = tmp_path / "quoted.toml"
    quoted.write_text(
        '[training]\ntrain_as_of = ["2022-01-01", "2023-01-01"]\ntest_as_of = "2025-01-01"\n'
    )
    bare = tmp_path / "bare.toml"
    bare.write_text("[training]\ntrain_as_of = [2022-01-01, 2023-01-01]\ntest_as_of = 2025-01-01\n")
    assert tomllib.loads(bare.read_text())["training"]["test_as_of"] == datetime.date(2025, 1, 1)
    from_bare = TrainConfig.from_toml(bare)
    assert from_bare.train_as_of == ("2022-01-01", "2023-01-01")
    assert from_bare.test_as_of == "2025-01-01"
    assert from_bare == TrainConfig.from_toml(quoted)


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"trainig": {"policy": "national"}}, "[trainig]"),
        ({"training": {"polcy": "national"}}, "'polcy'"),
        ({"mlflow": {"tracking_uri": "sqlite:///x.db"}}, "'tracking_uri'"),
        ({"mlflow": {"metric": "accuracy"}}, "'accuracy'"),
        ({"model": {"n_trees": 5}}, "['n_trees']"),
        ({"model": {"policy": "daqing"}}, "['policy']"),
    ],
)
def test_config_refuses_unknown_names(tmp_path, config, named) -> None:
    with pytest.raises(ValueError) as info:
        TrainConfig.from_dict(config)
    assert named in str(info.value)
    # the same from a file, which is named too
    path = tmp_path / "bad.toml"
    lines = []
    for section, values in config.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError) as info:
        TrainConfig.from_toml(path)
    assert named in str(info.value)
    assert str(path) in str(info.value)


def test_config_refuses_an_unknown_metric_directly() -> None:
    with pytest.raises(ValueError, match="'f1'"):
        TrainConfig(metric="f1")
    with pytest.raises(ValueError, match="n_trees"):
        TrainConfig(model={"n_trees": 3})


def test_config_missing_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.toml"):
        TrainConfig.from_toml(tmp_path / "nowhere.toml")


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(
            policy="daqing",
            horizon="180D",
            train_as_of=("2021-07-01", "2022-07-01"),
            test_as_of="2024-07-01",
            every_months=12,
            history_years=2,
            model={"n_estimators": 25, "learning_rate": 0.1, "num_threads": 1},
            experiment="e",
            registered_model="r",
            metric="brier",
            promote=True,
            artifact_location="file:///tmp/a",
        ),
    ],
)
def test_config_dict_round_trip(config) -> None:
    as_dict = config.to_dict()
    assert set(as_dict) == {"training", "model", "mlflow"}
    assert TrainConfig.from_dict(as_dict) == config
    assert TrainConfig.from_dict(json.loads(json.dumps(as_dict))) == config
