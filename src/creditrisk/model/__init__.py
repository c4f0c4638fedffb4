"""The risk model: the estimator, its training plan, contributions, reasons, recourse, evaluation.

This box owns :class:`RiskModel` (LightGBM with calibrated probabilities, policy tiers
and plain-word reasons from exact SHAP contributions, saved as LightGBM text plus JSON),
how it is trained and tested in time (:func:`fit_model`), the fast exact TreeSHAP
(:mod:`~creditrisk.model.contributions`), the sentences of reasons
(:mod:`~creditrisk.model.reasons`), what an entity can do to reach a lower tier
(:mod:`~creditrisk.model.recourse`) and the metrics, tier tables and model card
(:mod:`~creditrisk.model.evaluation`). It knows nothing of MLflow, batch jobs or
cards: it imports only :mod:`creditrisk.data`, :mod:`creditrisk.features` and
:mod:`creditrisk.policy`.

Examples
--------
>>> import creditrisk as cr
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> tables = cr.load_sample()
>>> scores = model.classify(cr.build_features(tables, cr.spine(tables, "2025-01-01")))
>>> scores["tier"].cat.categories.tolist()
['A', 'B', 'C', 'D']
"""

from creditrisk.model import contributions, evaluation, reasons, recourse
from creditrisk.model.estimator import ModelError, RiskModel
from creditrisk.model.training import TrainingResult, fit_model, sample_model_path

__all__ = [
    "ModelError",
    "RiskModel",
    "TrainingResult",
    "contributions",
    "evaluation",
    "fit_model",
    "reasons",
    "recourse",
    "sample_model_path",
]
