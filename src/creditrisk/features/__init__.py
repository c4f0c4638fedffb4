"""Point-in-time features, labels and temporal splits: what the model learns from.

This box turns a register (:class:`~creditrisk.EventTables`) and a spine of
(entity_id, as_of) rows into features that use only what was known before each as_of
(:func:`build_features`, :class:`FeatureBuilder`, documented by
:func:`feature_catalogue`), into labels over a horizon after it
(:func:`~creditrisk.features.labels.build_labels`), features a register declares as data
(:mod:`~creditrisk.features.declared`), the related enterprises behind an entity's
related-party features (:func:`related_enterprises`), and into honest train/test splits
in time (:class:`~creditrisk.features.temporal.TemporalSplit`). It imports only
:mod:`creditrisk.data`.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> X = cr.build_features(tables, cr.spine(tables, "2024-07-01"))
>>> list(X.columns[:3])
['entity_id', 'as_of', 'age_years']
>>> bool(len(X.columns) - 2 == feature_catalogue(tables)["built"].sum())
True
"""

from creditrisk.features import declared, labels, temporal
from creditrisk.features.builder import (
    CATALOGUE,
    FeatureBuilder,
    build_features,
    feature_catalogue,
)
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.declared import Declared, declare
from creditrisk.features.labels import build_labels
from creditrisk.features.related import related_enterprises
from creditrisk.features.temporal import TemporalSplit

__all__ = [
    "CATALOGUE",
    "Declared",
    "Feature",
    "FeatureBuilder",
    "FeatureSpec",
    "TemporalSplit",
    "build_features",
    "build_labels",
    "declare",
    "declared",
    "feature_catalogue",
    "labels",
    "related_enterprises",
    "temporal",
]
