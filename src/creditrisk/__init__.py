"""creditrisk: enterprise credit-risk tiers, reasons and inspection plans for regulators.

Example
-------
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

from importlib.metadata import PackageNotFoundError, version

from creditrisk import (
    card,
    evaluation,
    explain,
    fairness,
    inspection,
    io,
    monitoring,
    plots,
    recourse,
    report,
    schema,
    scoring,
    synth,
    temporal,
    tiers,
    tracking,
)
from creditrisk.cohort import spine
from creditrisk.data import EventTables, load_sample
from creditrisk.features import (
    FeatureBuilder,
    FeatureSpec,
    build_features,
    feature_catalogue,
)
from creditrisk.labels import build_labels
from creditrisk.model import ModelError, RiskModel
from creditrisk.policy import Policy, PolicyError
from creditrisk.schema import SchemaError
from creditrisk.scoring import score_register
from creditrisk.tracking import TrainConfig, train
from creditrisk.training import fit_model, sample_model_path

try:
    __version__ = version("creditrisk")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

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
    "card",
    "evaluation",
    "explain",
    "fairness",
    "feature_catalogue",
    "fit_model",
    "inspection",
    "io",
    "load_sample",
    "monitoring",
    "plots",
    "recourse",
    "report",
    "sample_model_path",
    "schema",
    "score_register",
    "scoring",
    "spine",
    "synth",
    "temporal",
    "tiers",
    "tracking",
    "train",
]
