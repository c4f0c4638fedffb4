"""Jobs around the model: batch scoring of a whole register, Spark, MLflow tracking, monitoring.

This box runs the model at scale and over time: :func:`score_register` scores a register
chunk by chunk with a manifest (:mod:`~creditrisk.jobs.scoring`), the same job runs on
Spark (:mod:`creditrisk.jobs.spark`, imported on demand because it needs PySpark),
:func:`train` retrains with MLflow tracking and moves the ``@champion`` alias
(:mod:`~creditrisk.jobs.tracking`, the only place that resolves ``models:/`` URIs), and
:func:`~creditrisk.jobs.monitoring.compare` measures drift between two scoring runs.
Batch scoring knows nothing of the registry: resolve a registry URI with
:func:`~creditrisk.jobs.tracking.load_model` and pass the model.

Examples
--------
>>> import creditrisk as cr
>>> from creditrisk.jobs import score_chunk
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> scores = score_chunk(cr.load_sample(), model, "2025-01-01")
>>> bool(scores["entity_id"].is_unique)
True
"""

from creditrisk.jobs import monitoring, scoring, tracking
from creditrisk.jobs.scoring import score_chunk, score_register
from creditrisk.jobs.tracking import TrainConfig, load_model, train

__all__ = [
    "TrainConfig",
    "load_model",
    "monitoring",
    "score_chunk",
    "score_register",
    "scoring",
    "tracking",
    "train",
]
