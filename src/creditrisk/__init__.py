"""creditrisk: enterprise credit-risk tiers, reasons and inspection plans for regulators.

The package follows the flow, one sub-package per box, each importing only the boxes
before it: :mod:`~creditrisk.data` (the register) → :mod:`~creditrisk.features`
(features, labels, temporal splits) → :mod:`~creditrisk.policy` (policies and tiers) →
:mod:`~creditrisk.model` (the estimator, contributions, reasons, recourse, evaluation)
→ :mod:`~creditrisk.inspection` (frequency, allocation, the draw, population estimates)
→ :mod:`~creditrisk.synth` (the synthetic world, whose generator uses only the data box,
and the closed loop run on it) → :mod:`~creditrisk.jobs` (batch scoring, Spark, MLflow,
monitoring) → :mod:`~creditrisk.report` (report, cards, plots, fairness) →
:mod:`creditrisk.cli`.

The names a notebook uses most are here at the top, and so are the modules the README
tour reaches through ``cr.``: ``cr.schema`` and ``cr.io`` (:mod:`creditrisk.data.schema`
and :mod:`creditrisk.data.sql`), ``cr.temporal``, ``cr.evaluation``, ``cr.scoring``,
``cr.tracking``, ``cr.monitoring``, ``cr.plots`` and ``cr.fairness``.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample().validate()
>>> int(tables.summary().loc["enterprises", "rows"])
10000
>>> s = cr.spine(tables, as_of=["2023-07-01", "2024-07-01"])
>>> X = cr.build_features(tables, s)
>>> y = cr.build_labels(tables, s, outcome="inspection_finding", horizon="365D")
>>> len(X) == len(y) == len(s)
True
"""

from creditrisk import data, features, inspection, jobs, model, policy, report, synth
from creditrisk._version import __version__
from creditrisk.data import EventTables, SchemaError, load_sample, schema, spine
from creditrisk.data import sql as io
from creditrisk.features import (
    FeatureBuilder,
    FeatureSpec,
    build_features,
    build_labels,
    feature_catalogue,
    temporal,
)
from creditrisk.jobs import monitoring, scoring, tracking
from creditrisk.jobs.scoring import score_register
from creditrisk.jobs.tracking import TrainConfig, train
from creditrisk.model import ModelError, RiskModel, evaluation, fit_model, sample_model_path
from creditrisk.policy import Policy, PolicyError
from creditrisk.report import fairness, plots

__all__ = [
    "EventTables",
    "FeatureBuilder",
    "FeatureSpec",
    "ModelError",
    "Policy",
    "PolicyError",
    "RiskModel",
    "SchemaError",
    "TrainConfig",
    "__version__",
    "build_features",
    "build_labels",
    "data",
    "evaluation",
    "fairness",
    "feature_catalogue",
    "features",
    "fit_model",
    "inspection",
    "io",
    "jobs",
    "load_sample",
    "model",
    "monitoring",
    "plots",
    "policy",
    "report",
    "sample_model_path",
    "schema",
    "score_register",
    "scoring",
    "spine",
    "synth",
    "temporal",
    "tracking",
    "train",
]
