"""Tracked training with MLflow: runs, the ``creditrisk`` pyfunc and the champion alias.

:func:`train` builds features and labels over the configured as-of dates, fits a
:class:`~creditrisk.RiskModel` honestly in time (:func:`creditrisk.fit_model`), and logs
one MLflow run: parameters, the configuration, the data fingerprint, test metrics
(AUC, average precision, Brier, finding rate and share per tier), artifacts (model
card, SHAP summary plot, tier table, reliability table and plot, feature catalogue) and
the model as a pyfunc. The pyfunc wraps the model directory itself (LightGBM text and
JSON, no pickle) and is loaded by this module (``loader_module``); it returns what
:meth:`RiskModel.classify` returns, re-applying the model's categories to its input.

Every run registers a new version of the registered model (``creditrisk``). The alias
``champion`` moves to it only when it beats the current champion on the configured
metric, both measured on the new run's test slice, or when promotion is forced; the
comparison is logged with the run.

The tracking store is ``MLFLOW_TRACKING_URI`` when set, else ``sqlite:///mlflow.db``
in the working directory; a new experiment keeps its artifacts beside a SQLite store.

Examples
--------
>>> config = TrainConfig.from_dict({"model": {"n_estimators": 40}, "mlflow": {"metric": "brier"}})
>>> config.metric, config.model["n_estimators"], config.registered_model
('brier', 40, 'creditrisk')
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import tomllib
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from creditrisk.features.builder import feature_catalogue
from creditrisk.model.estimator import ModelError, RiskModel
from creditrisk.model.evaluation import metrics, plot_reliability, reliability_table, tier_table
from creditrisk.model.training import TrainingResult, as_of_plan, fit_model

__all__ = [
    "CHAMPION",
    "DEFAULT_TRACKING_URI",
    "METRICS",
    "ScoringModel",
    "TrainConfig",
    "TrainingRun",
    "check_store",
    "load_model",
    "model_signature",
    "resolve_model",
    "resolve_tracking_uri",
    "train",
]

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
CHAMPION = "champion"
#: metrics a challenger can be compared on, and whether larger is better
METRICS = {"auc": True, "average_precision": True, "brier": False}
_SECTIONS = {
    "training": ("policy", "horizon", "train_as_of", "test_as_of", "every_months", "history_years"),
    "mlflow": (
        "experiment",
        "registered_model",
        "metric",
        "promote",
        "artifact_location",
        "baseline_margin",
    ),
}


@dataclass(frozen=True)
class TrainConfig:
    """What :func:`train` does, as written in a ``train.toml``.

    Sections: ``[training]`` (policy, horizon, train_as_of, test_as_of, every_months,
    history_years: dates are planned by :func:`creditrisk.model.training.as_of_plan` unless
    given), ``[model]`` (any :class:`RiskModel` parameter) and ``[mlflow]`` (experiment,
    registered_model, metric: one of :data:`METRICS`, promote, artifact_location).

    Parameters
    ----------
    policy : str, default "national"
        The policy's name or TOML path (:meth:`creditrisk.Policy.load`).
    horizon : str, default "365D"
        The label horizon: an inspection finding within it after the as-of date.
    train_as_of : tuple of str, optional
        Training as-of dates (default: planned by :func:`~creditrisk.model.training.as_of_plan`).
    test_as_of : str, optional
        The test as-of date (default: planned likewise).
    every_months : int, default 3
        Months between planned training dates.
    history_years : float, default 1.0
        Years of inspections before the first planned training date.
    model : dict, optional
        :class:`RiskModel` parameters (all but ``policy``).
    experiment : str, default "creditrisk"
        The MLflow experiment of the runs.
    registered_model : str, default "creditrisk"
        The registered model each run adds a version to.
    metric : {"auc", "average_precision", "brier"}, default "auc"
        What a challenger must beat the champion on (:data:`METRICS`).
    promote : bool, default False
        Move ``champion`` to every new version, whatever the comparison.
    artifact_location : str, optional
        Where a new experiment keeps its artifacts (default: ``mlartifacts`` beside a
        SQLite store, else MLflow's default).
    baseline_margin : float, default 0.0
        The AUC by which a new model must beat the best simple baseline on its test
        slice (:func:`creditrisk.evaluation.baseline_scores`) to become champion; a
        model that does not is registered but not promoted, with a warning.

    Raises
    ------
    ValueError
        An unknown ``metric`` or an unknown :class:`RiskModel` parameter in ``model``.

    Examples
    --------
    >>> TrainConfig(model={"max_depth": 4}).to_dict()["model"]
    {'max_depth': 4}
    """

    policy: str = "national"
    horizon: str = "365D"
    train_as_of: tuple[str, ...] | None = None
    test_as_of: str | None = None
    every_months: int = 3
    history_years: float = 1.0
    model: dict[str, Any] = field(default_factory=dict)
    experiment: str = "creditrisk"
    registered_model: str = "creditrisk"
    metric: str = "auc"
    promote: bool = False
    artifact_location: str | None = None
    baseline_margin: float = 0.0

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(
                f"[mlflow] metric must be one of {', '.join(METRICS)}, not {self.metric!r}"
            )
        known = set(RiskModel._get_param_names()) - {"policy"}
        unknown = sorted(set(self.model) - known)
        if unknown:
            raise ValueError(
                f"[model] has unknown parameters {unknown}; RiskModel takes {sorted(known)}"
            )
        # TOML reads a bare 2025-01-01 as a date: keep dates as text either way
        if self.train_as_of is not None:
            object.__setattr__(self, "train_as_of", tuple(str(d) for d in self.train_as_of))
        if self.test_as_of is not None:
            object.__setattr__(self, "test_as_of", str(self.test_as_of))

    @classmethod
    def from_dict(cls, config: dict) -> TrainConfig:
        """From nested sections (as in the TOML file), refusing unknown names.

        Parameters
        ----------
        config : dict
            ``{"training": {...}, "model": {...}, "mlflow": {...}}``; any section may
            be left out.

        Returns
        -------
        TrainConfig
            The settings, defaults for those not given.

        Raises
        ------
        ValueError
            An unknown section or setting, or a setting :class:`TrainConfig` refuses.

        Examples
        --------
        >>> TrainConfig.from_dict({"training": {"policy": "daqing"}}).policy
        'daqing'
        >>> TrainConfig.from_dict({"train": {}})
        Traceback (most recent call last):
        ValueError: unknown section [train]; sections are training, model, mlflow
        """
        flat: dict[str, Any] = {}
        for section, values in config.items():
            if section == "model":
                flat["model"] = dict(values)
                continue
            if section not in _SECTIONS:
                raise ValueError(
                    f"unknown section [{section}]; sections are training, model, mlflow"
                )
            for key, value in values.items():
                if key not in _SECTIONS[section]:
                    raise ValueError(
                        f"[{section}] has no setting {key!r}; settings are "
                        f"{', '.join(_SECTIONS[section])}"
                    )
                flat[key] = value
        return cls(**flat)

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> TrainConfig:
        """Read a ``train.toml`` (see ``configs/train.toml``).

        Parameters
        ----------
        path : str or path-like
            The TOML file.

        Returns
        -------
        TrainConfig
            The settings (:meth:`from_dict` of the file's sections).

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The file is not TOML, or holds an unknown or refused setting (the message
            starts with the path).

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = Path(d) / "train.toml"
        ...     _ = path.write_text('[mlflow]\\nmetric = "brier"\\n', encoding="utf-8")
        ...     TrainConfig.from_toml(path).metric
        'brier'
        """
        path = Path(path)
        try:
            with path.open("rb") as handle:
                return cls.from_dict(tomllib.load(handle))
        except FileNotFoundError:
            raise FileNotFoundError(f"no training config at {path}") from None
        except (tomllib.TOMLDecodeError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None

    def to_dict(self) -> dict:
        """Nested sections, as in the TOML file (None settings left out).

        Returns
        -------
        dict
            ``training``, ``model`` and ``mlflow`` sections; tuples become lists, so
            the result can be written as JSON or TOML and read by :meth:`from_dict`.

        Examples
        --------
        >>> config = TrainConfig(policy="daqing", train_as_of=("2023-01-01",))
        >>> config.to_dict()["training"]["train_as_of"]
        ['2023-01-01']
        >>> TrainConfig.from_dict(config.to_dict()) == config
        True
        """
        flat = asdict(self)
        out: dict[str, dict] = {section: {} for section in ("training", "model", "mlflow")}
        for section, keys in _SECTIONS.items():
            for key in keys:
                if flat[key] is not None:
                    value = flat[key]
                    out[section][key] = list(value) if isinstance(value, tuple) else value
        out["model"] = dict(self.model)
        return out


@dataclass
class TrainingRun:
    """What :func:`train` did: the run, the registered version and the promotion decision.

    Parameters
    ----------
    run_id : str
        The MLflow run.
    experiment_id : str
        Its experiment.
    model_uri : str
        The registered version: ``models:/<registered_model>/<version>``.
    registered_model : str
        The registered model's name.
    version : str
        The version this run registered.
    promoted : bool
        Whether the ``champion`` alias moved to it.
    comparison : dict
        The comparison with the former champion on the new test slice: ``metric``,
        ``slice``, ``labelled_rows``, ``challenger``, ``champion``,
        ``champion_version``, ``decision`` and ``promoted``.
    result : TrainingResult
        The fitted model, its test slice, test metrics and model card.
    tracking_uri : str
        The tracking store the run was logged to.

    Examples
    --------
    >>> import creditrisk as cr
    >>> from creditrisk.model.training import TrainingResult
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> run = TrainingRun("run-1", "1", "models:/creditrisk/1", "creditrisk", "1", True,
    ...                   {"decision": "no champion"},
    ...                   TrainingResult(model, None, None, {}, ""), "sqlite:///mlflow.db")
    >>> run.model is model
    True
    """

    run_id: str
    experiment_id: str
    model_uri: str
    registered_model: str
    version: str
    promoted: bool
    comparison: dict
    result: TrainingResult
    tracking_uri: str

    @property
    def model(self) -> RiskModel:
        """The fitted model of the run (``result.model``), as registered.

        Examples
        --------
        >>> import creditrisk as cr
        >>> from creditrisk.model.training import TrainingResult
        >>> model = cr.RiskModel.load(cr.sample_model_path())
        >>> result = TrainingResult(model, None, None, {}, "")
        >>> TrainingRun("run-1", "1", "models:/creditrisk/1", "creditrisk", "1", True, {},
        ...             result, "sqlite:///mlflow.db").model.n_trees_ == model.n_trees_
        True
        """
        return self.result.model


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The tracking store: ``uri`` if given, else ``MLFLOW_TRACKING_URI``, else ``mlflow.db``.

    The default is ``mlflow.db`` in the working directory, as an absolute ``sqlite:///``
    URI: MLflow keeps one store per URI for the life of the process, so a relative path
    would stay tied to the first working directory.

    Parameters
    ----------
    uri : str, optional
        An explicit tracking URI; it wins over the environment.

    Returns
    -------
    str
        The tracking URI to use.

    Examples
    --------
    >>> resolve_tracking_uri("sqlite:////tmp/x.db")
    'sqlite:////tmp/x.db'
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    if chosen == DEFAULT_TRACKING_URI:
        return f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    return chosen


def check_store(uri: str, create: bool = True) -> None:
    """Refuse a tracking store MLflow could not use, at once and in words.

    MLflow retries a SQLite store it cannot open for minutes before it fails with a
    traceback; this check says what is wrong first: a directory that cannot be created
    or written, a file that is not a SQLite database. Other stores (a server) are left
    to MLflow.

    Parameters
    ----------
    uri : str
        The tracking URI.
    create : bool, default True
        Whether the store may be created (training); when False (loading a model), a
        SQLite file that does not exist is an error too.

    Raises
    ------
    ModelError
        Naming the store and what is wrong with it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     check_store(f"sqlite:///{d}/mlflow.db")          # a new store: fine
    ...     try:
    ...         check_store(f"sqlite:///{d}/other.db", create=False)
    ...     except ModelError as err:
    ...         print(str(err)[:22])
    no MLflow store at ...
    """
    import sqlite3

    if not uri.startswith("sqlite:///"):
        return
    path = Path(uri.removeprefix("sqlite:///"))
    if str(path) in (":memory:", ""):
        return
    if path.exists():
        if not path.is_file():
            raise ModelError(f"the MLflow store {path} is not a file")
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=rw", uri=True)) as db:
                db.execute("PRAGMA schema_version").fetchone()
        except sqlite3.Error as exc:
            raise ModelError(f"cannot use the MLflow store {path}: {exc}") from None
        return
    if not create:
        raise ModelError(f"no MLflow store at {path} (from {uri})")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ModelError(
            f"cannot create the MLflow store {path}: {exc.strerror or exc} in {path.parent}"
        ) from None


@contextmanager
def _store_lock(uri: str):
    """One process at a time creates a new SQLite store's tables (MLflow does not lock:
    two first trainings at once fail with "table experiments already exists")."""
    directory = (
        Path(uri.removeprefix("sqlite:///")).parent if uri.startswith("sqlite:///") else None
    )
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not a POSIX system
        fcntl = None
    if directory is None or fcntl is None or not directory.is_dir():
        yield
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        os.close(handle)


@contextmanager
def _tracking(uri: str, create: bool = True):
    """Point MLflow's fluent API at ``uri`` for the block, then restore what was set
    (MLflow's own global and the user's ``MLFLOW_TRACKING_URI``)."""
    import mlflow
    from mlflow.tracking._tracking_service import utils

    check_store(uri, create)
    previous, had = utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        with _store_lock(uri):  # the stores' tables are created here, once
            client = mlflow.MlflowClient(uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        yield client
    finally:
        mlflow.set_tracking_uri(previous)
        if had is not None:
            os.environ["MLFLOW_TRACKING_URI"] = had


def _experiment_id(client, config: TrainConfig, uri: str) -> str:
    found = client.get_experiment_by_name(config.experiment)
    if found is not None:
        return found.experiment_id
    location = config.artifact_location
    if location is None and uri.startswith("sqlite:///"):
        # artifacts beside the database, not wherever the process happens to run
        db = Path(uri.removeprefix("sqlite:///"))
        location = (db.resolve().parent / "mlartifacts").as_uri()
    return client.create_experiment(config.experiment, artifact_location=location)


def train(
    tables,
    config: TrainConfig | dict | str | os.PathLike | None = None,
    *,
    tracking_uri: str | None = None,
    promote: bool | None = None,
) -> TrainingRun:
    """Train, test, log to MLflow, register a version, and promote it if it is better.

    ``config``: a :class:`TrainConfig`, its nested dict, or a TOML path (default
    settings when None). ``promote=True`` moves ``champion`` whatever the comparison.

    Parameters
    ----------
    tables : EventTables
        The register to train and test on.
    config : TrainConfig, dict, str or path-like, optional
        The settings (default: ``TrainConfig()``).
    tracking_uri : str, optional
        The tracking store (default: see :func:`resolve_tracking_uri`); MLflow's
        global URI and ``MLFLOW_TRACKING_URI`` are left as they were.
    promote : bool, optional
        Overrides ``config.promote``: True moves ``champion`` whatever the comparison.

    Returns
    -------
    TrainingRun
        The run, the registered version, the comparison and the training result.

    Raises
    ------
    ValueError
        A refused setting, or data too short for a training and a test date.
    FileNotFoundError
        ``config`` is a path to no file.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     run = cr.train(cr.load_sample(), {"model": {"n_estimators": 30}},
    ...                    tracking_uri=f"sqlite:///{d}/mlflow.db")
    ...     champion, info = load_model("models:/creditrisk@champion", run.tracking_uri)
    >>> run.version, run.promoted, info["version"], champion.n_trees_ == run.model.n_trees_
    ('1', True, '1', True)
    """
    import mlflow

    if config is None:
        config = TrainConfig()
    elif isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    elif not isinstance(config, TrainConfig):
        config = TrainConfig.from_toml(config)
    force = config.promote if promote is None else promote
    uri = resolve_tracking_uri(tracking_uri)
    train_as_of, test_as_of = config.train_as_of, config.test_as_of
    if train_as_of is None or test_as_of is None:
        planned_train, planned_test = as_of_plan(
            tables, config.horizon, config.every_months, config.history_years
        )
        train_as_of = train_as_of or tuple(str(d.date()) for d in planned_train)
        test_as_of = test_as_of or str(planned_test.date())
    with _tracking(uri) as client, _quiet_mlflow():
        experiment_id = _experiment_id(client, config, uri)
        with mlflow.start_run(experiment_id=experiment_id) as run:
            mlflow.set_tags({"creditrisk.task": "train", "creditrisk.version": _version()})
            mlflow.log_dict(config.to_dict(), "train_config.json")
            fingerprint = tables.fingerprint()
            mlflow.log_params(
                {
                    "policy": config.policy,
                    "horizon": config.horizon,
                    "train_as_of": ",".join(train_as_of),
                    "test_as_of": test_as_of,
                    "data_fingerprint": fingerprint,
                }
            )
            result = fit_model(
                tables,
                config.policy,
                list(train_as_of),
                test_as_of,
                config.horizon,
                **config.model,
            )
            model = result.model
            mlflow.log_params(
                {f"model.{k}": v for k, v in model.get_params().items() if k != "policy"}
            )
            scores = model.classify(result.X_test, top_k=0)  # once, for metrics and artifacts
            tiers = tier_table(scores, result.y_test)
            mlflow.log_metrics(_run_metrics(result, tiers))
            with tempfile.TemporaryDirectory() as tmp:
                model_dir = _log_artifacts(result, scores, tiers, Path(tmp))
                info = mlflow.pyfunc.log_model(
                    name="model",
                    loader_module="creditrisk.jobs.tracking",
                    data_path=str(model_dir),
                    signature=model_signature(model, result.X_test),
                    input_example=_input_example(model, result.X_test),
                    pip_requirements=_pip_requirements(),
                    metadata={"creditrisk_version": _version(), "data_fingerprint": fingerprint},
                )
            with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints its progress
                version = mlflow.register_model(
                    info.model_uri, config.registered_model, await_registration_for=0
                ).version
            comparison = _compare_with_champion(client, config, result)
            comparison |= _against_baselines(result, config.baseline_margin)
            if not comparison["beats_baselines"]:
                comparison["decision"] = comparison["baseline_decision"]
                warnings.warn(
                    f"version {version} of {config.registered_model}: "
                    f"{comparison['baseline_decision']}",
                    stacklevel=2,
                )
            earned = comparison["decision"] in ("no champion", "better")
            promoted = bool(force or earned)
            if promoted and not earned:
                comparison["decision"] += ", promoted by request"
            comparison["promoted"] = promoted
            mlflow.log_dict(comparison, "champion_comparison.json")
            mlflow.set_tags(
                {
                    "creditrisk.promoted": str(promoted),
                    "creditrisk.decision": comparison["decision"],
                }
            )
            if comparison.get("champion") is not None:
                mlflow.log_metric(f"champion_{config.metric}", comparison["champion"])
            if promoted:
                client.set_registered_model_alias(config.registered_model, CHAMPION, version)
            # the model scores as what it is: registered name, version, run and store
            model.origin_ = {
                "source": f"models:/{config.registered_model}/{version}",
                "registered_model": config.registered_model,
                "version": str(version),
                "run_id": run.info.run_id,
                "tracking_uri": _without_password(uri),
            }
            client.set_model_version_tag(
                config.registered_model,
                str(version),
                f"test_{config.metric}",
                str(comparison["challenger"]),
            )
    return TrainingRun(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        model_uri=f"models:/{config.registered_model}/{version}",
        registered_model=config.registered_model,
        version=str(version),
        promoted=promoted,
        comparison=comparison,
        result=result,
        tracking_uri=uri,
    )


def _version() -> str:
    from creditrisk._version import __version__

    return __version__


def _run_metrics(result: TrainingResult, tiers: pd.DataFrame) -> dict[str, float]:
    m = {f"test_{k}": float(v) for k, v in result.metrics.items() if np.isfinite(v)}
    m["trees"] = float(result.model.n_trees_)
    for tier, row in tiers.iterrows():
        m[f"tier_{tier}_share"] = float(row["share"])
        if pd.notna(row["finding_rate"]):
            m[f"tier_{tier}_finding_rate"] = float(row["finding_rate"])
    for key, value in (result.model.validation_ or {}).items():
        if isinstance(value, int | float) and np.isfinite(value):
            m[f"validation_{key}"] = float(value)
    if result.baselines is not None:  # every baseline beside the model, same rows
        for name, row in result.baselines.drop(index="model").iterrows():
            key = "baseline_" + "_".join(str(name).split())
            for metric in ("auc", "average_precision", "brier"):
                if pd.notna(row[metric]):
                    m[f"{key}_{metric}"] = float(row[metric])
    nuisance = getattr(result.model, "nuisance_", None)
    if nuisance:
        m["nuisance_variance_share"] = float(nuisance["variance_share"])
        m["nuisance_tau"] = float(nuisance["tau"])
    return m


def _log_artifacts(
    result: TrainingResult, scores: pd.DataFrame, tiers: pd.DataFrame, tmp: Path
) -> Path:
    """Write the model directory and the run's artifacts; log the artifacts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow

    model = result.model
    model_dir = model.save(tmp / "creditrisk_model")
    (model_dir / "MODEL_CARD.md").write_text(result.card, encoding="utf-8")
    reports = tmp / "reports"
    reports.mkdir()
    (reports / "MODEL_CARD.md").write_text(result.card, encoding="utf-8")
    tiers.to_csv(reports / "tier_table.csv")
    if result.baselines is not None:
        result.baselines.to_csv(reports / "baselines.csv")
    p = scores["probability"].to_numpy()
    reliability_table(result.y_test, p).to_csv(reports / "reliability.csv")
    figure = plot_reliability(result.y_test, p)
    figure.savefig(reports / "reliability.png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    sample = result.X_test.sample(min(len(result.X_test), 5_000), random_state=0)
    figure = model.summary_plot(sample)
    figure.savefig(reports / "shap_summary.png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    feature_catalogue().to_csv(reports / "feature_catalogue.csv")
    mlflow.log_artifacts(str(reports))
    return model_dir


def _input_example(model: RiskModel, X: pd.DataFrame) -> pd.DataFrame:
    """Three rows of input as JSON can hold them (categories as text)."""
    example = X[["entity_id", "as_of", *model.feature_names_in_]].head(3).copy()
    for name in model.categories_:
        example[name] = example[name].astype("str").where(example[name].notna())
    return example


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    pins = [f"creditrisk=={_version()}"]
    for package in ("lightgbm", "pandas", "numpy", "scikit-learn", "pyarrow"):
        pins.append(f"{package}=={version(package)}")
    return pins


def _against_baselines(result: TrainingResult, margin: float) -> dict:
    """Whether the model beats the best simple baseline's test AUC by ``margin``."""
    table = result.baselines
    if table is None or len(table) < 2:
        return {"beats_baselines": True, "baseline_decision": "no baseline"}
    others = table.drop(index="model")["auc"].dropna()
    if others.empty:
        return {"beats_baselines": True, "baseline_decision": "no baseline"}
    best = str(others.idxmax())
    gain = float(table.loc["model", "auc"] - others.max())
    beats = gain >= margin if margin > 0 else gain > 0
    words = "beats" if beats else "does not beat"
    return {
        "best_baseline": best,
        "best_baseline_auc": float(others.max()),
        "baseline_gain": gain,
        "beats_baselines": beats,
        "baseline_decision": (
            f"{words} the best baseline ({best}, AUC {others.max():.4f}) by the margin "
            f"{margin}: AUC gain {gain:+.4f}"
        ),
    }


def _compare_with_champion(client, config: TrainConfig, result: TrainingResult) -> dict:
    """The challenger and the current champion on the challenger's test slice."""
    from mlflow.exceptions import MlflowException

    metric, larger = config.metric, METRICS[config.metric]
    challenger = result.metrics[metric]
    comparison = {
        "metric": metric,
        "slice": sorted({str(pd.Timestamp(d).date()) for d in result.X_test["as_of"]}),
        "labelled_rows": int(result.metrics["n"]),
        "challenger": challenger,
        "champion": None,
        "champion_version": None,
    }
    try:
        current = client.get_model_version_by_alias(config.registered_model, CHAMPION)
    except MlflowException:
        return comparison | {"decision": "no champion"}
    comparison["champion_version"] = str(current.version)
    try:
        champion, _ = load_model(
            f"models:/{config.registered_model}/{current.version}", client.tracking_uri
        )
        p = champion.predict_proba(result.X_test)[:, 1]
    except (ModelError, MlflowException, OSError) as exc:
        return comparison | {"decision": f"champion cannot score the slice: {exc}"}
    comparison["champion"] = metrics(result.y_test, p)[metric]
    better = challenger > comparison["champion"] if larger else challenger < comparison["champion"]
    return comparison | {"decision": "better" if better else "not better"}


def load_model(uri: str, tracking_uri: str | None = None) -> tuple[RiskModel, dict]:
    """The RiskModel behind an MLflow model URI, with its registry version.

    ``uri``: ``models:/creditrisk@champion``, ``models:/creditrisk/3`` or
    ``runs:/<run_id>/model``. The model directory inside the MLflow model is read and
    checked by :meth:`RiskModel.load` (no pickle is involved).

    Parameters
    ----------
    uri : str
        ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or
        ``runs:/<run_id>/model``.
    tracking_uri : str, optional
        The tracking store (default: see :func:`resolve_tracking_uri`).

    Returns
    -------
    model : RiskModel
        The model; its ``origin_`` records the URI, registered name, version, run and
        store, with the digest of its files and its signature check (see
        :meth:`RiskModel.load`).
    info : dict
        A copy of ``origin_``: ``source``, ``registered_model`` and ``version`` (None
        for a ``runs:/`` URI), ``run_id``, ``tracking_uri`` (without a password),
        ``sha256`` and ``signature``.

    Raises
    ------
    ModelError
        MLflow cannot find or download ``uri``, it is not a creditrisk pyfunc, its
        MLmodel points outside its artifacts, or the model directory inside it is not
        a valid model (or not signed by the configured key).

    Examples
    --------
    A model logged by hand into a throwaway store (:func:`train` does this, and
    registers it; its example loads ``models:/creditrisk@champion``):

    >>> import creditrisk as cr, mlflow, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     store = f"sqlite:///{d}/mlflow.db"
    ...     client = mlflow.MlflowClient(store)
    ...     run = client.create_run(client.create_experiment("demo", f"{d}/artifacts"))
    ...     _ = mlflow.pyfunc.save_model(f"{d}/model", loader_module="creditrisk.jobs.tracking",
    ...                                  data_path=str(cr.sample_model_path()),
    ...                                  pip_requirements=["creditrisk"])
    ...     client.log_artifacts(run.info.run_id, f"{d}/model", "model")
    ...     model, info = load_model(f"runs:/{run.info.run_id}/model", store)
    >>> model.policy_.name, info["version"], info["source"].endswith("/model")
    ('national', None, True)
    """
    import mlflow
    from mlflow.exceptions import MlflowException
    from mlflow.models import Model

    uri_used = resolve_tracking_uri(tracking_uri)
    name = version = run_id = None
    with _tracking(uri_used, create=False) as client, tempfile.TemporaryDirectory() as tmp:
        try:
            if uri.startswith("models:/"):
                name, _, ref = uri.removeprefix("models:/").partition("@")
                if ref:
                    found = client.get_model_version_by_alias(name, ref)
                else:
                    name, _, number = name.partition("/")
                    found = client.get_model_version(name, number)
                version, run_id = str(found.version), found.run_id
            elif uri.startswith("runs:/"):
                run_id = uri.removeprefix("runs:/").split("/", 1)[0]
            with _quiet_downloads():
                local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=tmp))
            flavors = Model.load(str(local)).flavors
        except MlflowException as exc:
            raise ModelError(f"cannot load {uri} from {uri_used}: {exc.message}") from None
        except (OSError, ValueError, TypeError, KeyError) as exc:  # a broken MLmodel file
            raise ModelError(f"{uri} is not a readable MLflow model: {exc}") from None
        data = flavors.get("python_function", {}).get("data")
        if data is None:
            raise ModelError(f"{uri} is not a creditrisk pyfunc model (no data directory)")
        folder = (local / data).resolve()
        if not folder.is_relative_to(local.resolve()):
            raise ModelError(
                f"{uri}: its MLmodel points outside the model's artifacts ({data!r}); refusing"
            )
        model = RiskModel.load(folder)  # read whole into memory: tmp may go
    model.origin_ = model.origin_ | {
        "source": uri,
        "registered_model": name,
        "version": version,
        "run_id": run_id,
        "tracking_uri": _without_password(uri_used),
    }
    return model, dict(model.origin_)


def _without_password(uri: str) -> str:
    """A tracking URI as it may be recorded: any password in it replaced by ***."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    if parts.port is not None:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def resolve_model(source, tracking_uri: str | None = None) -> RiskModel:
    """A RiskModel from a model, a model directory or an MLflow URI.

    The one place, with :func:`load_model`, that reads the registry: the command line
    and the report call it, and batch scoring receives the model it returns (whose
    ``origin_`` records the URI and version for the scoring manifest).

    Parameters
    ----------
    source : RiskModel, str or path-like
        A fitted model, a model directory, or ``models:/<name>@<alias>``,
        ``models:/<name>/<version>`` or ``runs:/<run_id>/model``.
    tracking_uri : str, optional
        The MLflow tracking store for a URI (default: see :func:`resolve_tracking_uri`).

    Returns
    -------
    RiskModel
        The fitted model.

    Raises
    ------
    ModelError
        A URI MLflow cannot load, or a directory that is not a model.

    Examples
    --------
    >>> import creditrisk as cr
    >>> resolve_model(cr.sample_model_path()).policy_.name
    'national'
    """
    if isinstance(source, RiskModel):
        source._check_fitted()
        return source
    if str(source).startswith(("models:/", "runs:/")):
        return load_model(str(source), tracking_uri)[0]
    return RiskModel.load(source)


@contextmanager
def _quiet_mlflow():
    """MLflow's INFO chatter (input example validation, run links) kept out of the way."""
    import logging

    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _quiet_downloads():
    """No per-file progress bars from MLflow while it fetches a model's files."""
    from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR

    had = os.environ.get(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name)
    os.environ[MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name] = "false"
    try:
        yield
    finally:
        if had is None:
            os.environ.pop(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, None)
        else:
            os.environ[MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name] = had


def model_signature(model: RiskModel, X: pd.DataFrame):
    """The pyfunc's explicit signature: keys and features in, score columns out.

    Categorical features are declared ``Any``: MLflow cannot enforce pandas categories
    (it hands them over as text) and the model re-applies its own categories.

    Parameters
    ----------
    model : RiskModel
        The fitted model.
    X : pandas.DataFrame
        Feature rows with ``entity_id`` and ``as_of`` (their dtypes set the input
        types; five rows are classified to set the output types).

    Returns
    -------
    mlflow.models.ModelSignature
        Inputs ``entity_id``, ``as_of`` and the model's features; outputs the columns
        of :meth:`RiskModel.classify`; one parameter, ``top_k``.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> sig = model_signature(m, cr.build_features(t, cr.spine(t, "2024-07-01")))
    >>> sig.inputs.input_names()[:3]
    ['entity_id', 'as_of', 'age_years']
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    def spec(name: str, dtype) -> ColSpec:
        if name in model.categories_ or isinstance(dtype, pd.CategoricalDtype):
            return ColSpec(AnyType(), name, required=False)
        if pd.api.types.is_bool_dtype(dtype):
            kind = "boolean"
        elif pd.api.types.is_integer_dtype(dtype):
            kind = "long"
        elif pd.api.types.is_float_dtype(dtype):
            kind = "double"
        elif pd.api.types.is_datetime64_any_dtype(dtype):
            kind = "datetime"
        else:
            kind = "string"
        return ColSpec(kind, name)

    inputs = [spec("entity_id", X["entity_id"].dtype), spec("as_of", X["as_of"].dtype)]
    inputs += [spec(name, X[name].dtype) for name in model.feature_names_in_]
    example = model.classify(X.head(5))
    outputs = [
        ColSpec(
            AnyType() if isinstance(dtype, pd.CategoricalDtype) else spec(name, dtype).type, name
        )
        for name, dtype in example.dtypes.items()
    ]
    params = ParamSchema([ParamSpec("top_k", "long", int(model.top_k))])
    return ModelSignature(Schema(inputs), Schema(outputs), params)


class ScoringModel:
    """The object MLflow's pyfunc returns: ``predict(frame)`` is :meth:`RiskModel.classify`.

    It casts categorical features back to the model's categories (MLflow hands them
    over as text) and keeps ``as_of`` as dates, so the result equals
    ``RiskModel.classify`` on the same rows.

    Parameters
    ----------
    model : RiskModel
        The fitted model it wraps.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> X = cr.build_features(t, cr.spine(t, "2024-07-01")).head(3)
    >>> wrapped = _load_pyfunc(str(cr.sample_model_path()))
    >>> wrapped.predict(X.astype({"region": "str"}))["tier"].equals(
    ...     wrapped.model.classify(X)["tier"])
    True
    """

    def __init__(self, model: RiskModel):
        self.model = model

    def predict(self, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        """Classify rows as MLflow hands them over: :meth:`RiskModel.classify`.

        Categorical features given as text are cast back to the model's categories,
        and ``as_of`` to dates, before the model classifies them.

        Parameters
        ----------
        model_input : pandas.DataFrame
            ``entity_id``, ``as_of`` and the model's features (categories as text or
            as categories).
        params : dict, optional
            ``{"top_k": k}``: reasons per row (default: the model's ``top_k``).

        Returns
        -------
        pandas.DataFrame
            What :meth:`RiskModel.classify` returns for the same rows.

        Raises
        ------
        ModelError
            A categorical feature holds a value the model was not trained on.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> X = cr.build_features(t, cr.spine(t, "2024-07-01")).head(3)
        >>> wrapped = ScoringModel(cr.RiskModel.load(cr.sample_model_path()))
        >>> rows = wrapped.predict(X.astype({"region": "str"}), params={"top_k": 1})
        >>> [c for c in rows.columns if c.startswith("reason_")]
        ['reason_1', 'reason_1_feature', 'reason_1_value', 'reason_1_contribution']
        """
        frame = pd.DataFrame(model_input).copy()
        for name, categories in self.model.categories_.items():
            if name in frame:
                column = frame[name]
                text = column.astype("str").where(column.notna())
                unknown = text.notna() & ~text.isin(categories)
                if unknown.any():
                    raise ModelError(
                        f"feature {name!r} has categories the model was not trained on: "
                        f"{sorted(set(text[unknown]))[:10]}; the model knows {categories}"
                    )
                frame[name] = text.astype(pd.CategoricalDtype(categories))
        if "as_of" in frame:
            frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[s]")
        top_k = (params or {}).get("top_k")
        return self.model.classify(frame, top_k=None if top_k is None else int(top_k))


def _load_pyfunc(data_path: str) -> ScoringModel:
    """MLflow's entry point (``loader_module``): the model directory → a ScoringModel."""
    return ScoringModel(RiskModel.load(data_path))
