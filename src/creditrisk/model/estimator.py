"""RiskModel: a LightGBM risk model with policy tiers, reasons and recourse.

The model follows scikit-learn's conventions (parameters in ``__init__``, work in
``fit``, fitted attributes end in ``_``). ``fit(X, y)`` takes the feature table of
:func:`creditrisk.build_features` and labels of :func:`creditrisk.build_labels`; rows
whose label is undefined (not inspected at random) are ignored. Time decides the
slices: the latest labelled as-of date is split by entity, one half to stop the
boosting early and the other to calibrate the probabilities; the dates at least one
label horizon earlier train, so no inspection is a label on both sides (with no such
date, entities are split instead; ``slices_`` records what was used).

A plain feature matrix (a NumPy array, a list of rows, or a DataFrame without
``entity_id`` and ``as_of``) is accepted too by ``fit``, ``predict``,
``predict_proba``, ``decision_function`` and ``score``: every row is then its own
entity at one date, so the rows are split by a salted hash of their position. Only
:meth:`RiskModel.classify` needs the keys (its overrides and reason sentences use them).

Every numeric feature carries the catalogue's monotone direction as a LightGBM
``monotone_constraints`` entry (one more penalty never lowers the risk); categorical
features are native LightGBM categoricals whose categories are stored with the model.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> spine = cr.spine(tables, ["2021-07-01", "2022-07-01", "2023-07-01"])
>>> X = cr.build_features(tables, spine)
>>> y = cr.build_labels(tables, spine)
>>> model = RiskModel(n_estimators=50).fit(X, y)
>>> scores = model.classify(X[X.as_of == "2023-07-01"].head(3))
>>> list(scores.columns[:5])
['entity_id', 'as_of', 'probability', 'score_tier', 'tier']
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from creditrisk.data.paths import check_output, commit, staging_dir
from creditrisk.features import CATALOGUE
from creditrisk.features.declared import Declared
from creditrisk.features.labels import horizon_days
from creditrisk.model import integrity, signing
from creditrisk.model.contributions import TreeContributions, top_reasons
from creditrisk.model.folds import PlanError, rolling_folds
from creditrisk.model.nuisance import fit_effects
from creditrisk.model.reasons import PARTS, coded_sentences, factorize
from creditrisk.model.reasons import sentence as _sentence
from creditrisk.policy import Policy, assign_tiers, fit_cutoffs

__all__ = ["FORMAT_VERSION", "KEYS", "ModelError", "RiskModel"]

#: the key columns of a feature table: who, and as of which date
KEYS = ("entity_id", "as_of")
#: the version of the model directory format that :meth:`RiskModel.save` writes
FORMAT_VERSION = 1
_CATALOGUE = {f.name: f for f in CATALOGUE}
_FILES = ("model.txt", "metadata.json")
#: the as-of date of every row of a plain feature matrix (one date, rows as entities)
_NO_DATE = pd.Timestamp("1970-01-01")


class ModelError(ValueError):
    """A model directory or an input that the model cannot use, with what differs.

    A subclass of ``ValueError``, so code that expects scikit-learn's errors for bad
    input catches it too. Its one argument is the message: what the model cannot use,
    and what it expected instead.

    Examples
    --------
    >>> str(ModelError("feature 'x' missing"))
    "feature 'x' missing"
    >>> issubclass(ModelError, ValueError)
    True
    """


class RiskModel(ClassifierMixin, BaseEstimator):
    """LightGBM risk model: probability, policy tier with overrides, and reasons.

    A scikit-learn classifier of 0/1 labels (an inspection finding or not): it works
    in ``GridSearchCV``, ``cross_val_score`` and a ``Pipeline`` after
    :class:`creditrisk.FeatureBuilder`; :meth:`score` is the ROC AUC. ``X`` is the
    feature table of :func:`creditrisk.build_features` (keys ``entity_id`` and
    ``as_of`` as columns or index levels), or a plain feature matrix for ``fit``,
    ``predict``, ``predict_proba``, ``decision_function`` and ``score``.

    Parameters
    ----------
    policy : Policy or str, optional
        The tier policy, or a policy name or path (default ``"national"``).
    n_estimators : int, default 300
        Boosting rounds at most (the out-of-time folds choose how many). This and the
        parameters down to ``reg_lambda`` set LightGBM's capacity; the defaults
        (depth-3 trees) were chosen by validation with the explanation cost in view
        (benchmarks/RESULTS.md).
    learning_rate : float, default 0.05
        LightGBM's shrinkage.
    max_depth : int, default 3
        Depth of each tree.
    num_leaves : int, default 8
        Leaves of each tree at most.
    min_child_samples : int, default 200
        Training rows in a leaf at least (LightGBM's ``min_data_in_leaf``).
    subsample : float, default 0.8
        Share of the training rows each tree sees (bagging; 1 for all).
    colsample_bytree : float, default 0.8
        Share of the features each tree sees.
    reg_lambda : float, default 0.0
        L2 penalty on the leaf values.
    early_stopping_rounds : int, default 100
        Rounds without improvement of a fold's validation AUC before its boosting
        stops (the folds' mean AUC then chooses the number of trees).
    horizon : str, default "365D"
        The labels' horizon. Each out-of-time fold trains on as-of dates whose label
        windows end by its validation date (``slices_`` records the folds).
    calibration : {"sigmoid", None}, default "sigmoid"
        ``"sigmoid"``: Platt scaling on the folds' out-of-fold, out-of-time predictions
        (keeps the ranking); ``None``: the booster's own probabilities.
    monotone : bool, default True
        Use the catalogue's monotone directions as constraints.
    top_k : int, default 3
        Reasons per entity in :meth:`classify`.
    num_threads : int, default 1
        LightGBM threads; explicit, so runs repeat bit for bit.
    random_state : int, default 0
        Seed of the bagging, the feature sampling and the entity split; explicit, so
        runs repeat bit for bit.
    n_folds : int, default 3
        Rolling-origin folds (the latest ones) that choose the number of trees and
        calibrate (:mod:`creditrisk.model.folds`); the final model then trains on every
        labelled date.
    context : {"validate", "keep", "drop"}, default "validate"
        Whether the context features (region, industry, age, legal form, capital: what
        the entity is, not what it did) are used at all. ``"validate"``: only if they
        raise the out-of-time folds' AUC (``context_`` says what was decided). A dropped
        feature is left blank for the trees, so it never contributes.

    Attributes
    ----------
    booster_ : lightgbm.Booster
        The trees (stopped early).
    feature_names_in_ : numpy.ndarray of str
        The features, in the order the booster reads them (``x0``, ``x1``, ... when
        fitted on a plain matrix).
    n_features_in_ : int
        Number of features.
    classes_ : numpy.ndarray
        ``[0, 1]``.
    categories_ : dict
        The categories of every categorical feature, in code order.
    calibration_ : dict
        The sigmoid's ``slope`` and ``intercept`` on the raw scores.
    cutoffs_ : tuple of float
        Probability cut-offs between the tiers.
    policy_ : Policy
        The policy in use.
    slices_, training_, validation_ : dict
        What trained, stopped and calibrated; the training data's fingerprint; the
        validation AUC and Brier score.

    Examples
    --------
    >>> RiskModel(max_depth=4).get_params()["max_depth"]
    4
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3))
    >>> y = (X[:, 0] + rng.normal(size=400) > 0).astype(int)
    >>> m = RiskModel(n_estimators=20, min_child_samples=20).fit(X, y)
    >>> m.predict_proba(X[:2]).shape, m.slices_["method"]
    ((2, 2), 'entities')
    """

    def __init__(
        self,
        policy: Policy | str | None = None,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        num_leaves: int = 8,
        min_child_samples: int = 200,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 0.0,
        early_stopping_rounds: int = 100,
        horizon: str = "365D",
        calibration: str | None = "sigmoid",
        monotone: bool = True,
        top_k: int = 3,
        num_threads: int = 1,
        random_state: int = 0,
        n_folds: int = 3,
        context: str = "validate",
    ):
        self.policy = policy
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.horizon = horizon
        self.calibration = calibration
        self.monotone = monotone
        self.top_k = top_k
        self.num_threads = num_threads
        self.random_state = random_state
        self.n_folds = n_folds
        self.context = context

    # -- fitting -------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: pd.Series, nuisance=None) -> RiskModel:
        """Train on the labelled rows of ``X``; calibrate; fit the tier cut-offs.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            ``entity_id``, ``as_of`` and feature columns (or feature columns indexed by
            entity_id and as_of), as :func:`creditrisk.build_features` or
            :class:`creditrisk.FeatureBuilder` give them. Without the keys (a NumPy
            array, a list of rows, a DataFrame of features only), every row is its own
            entity at one date: the rows are then split by a salted hash of their
            position into training, early-stopping and calibration rows, and the
            features are named by the DataFrame's text column names, else ``x0``,
            ``x1``, ... in column order.
        y : pandas.Series or array-like of shape (n_rows,)
            0/1 labels, NaN where undefined (those rows are ignored). Aligned with
            ``X`` by position, as scikit-learn does; a Series whose index holds the
            same labels as ``X``'s index in another order is matched by label instead.
        nuisance : pandas.DataFrame or array-like, optional
            Who produced each label (:func:`creditrisk.features.labels.label_nuisance`:
            the label inspection's inspectors), aligned with ``X`` by position. Their
            effects are learned as shrunken random effects and used as a fixed offset
            while training (:mod:`creditrisk.model.nuisance`), so the trees learn the
            entity's risk net of who inspected; scoring sets them to the average
            inspector. They are never features, reasons or tier movers.

        Returns
        -------
        RiskModel
            The fitted model (``self``).

        Raises
        ------
        ModelError
            No feature columns; labels other than 0/1; no labelled row; labelled rows
            of one class only; fewer than 20 labelled rows; or too few rows to fill the
            training, early-stopping and calibration slices.
        ValueError
            ``y`` is None or differs in length from ``X`` (``ModelError`` is a
            ``ValueError`` too), labels that are not classes (continuous values), or
            complex numbers in ``X``.
        TypeError
            ``X`` is a sparse matrix.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> s = cr.spine(t, ["2022-07-01", "2023-07-01"])
        >>> X, y = cr.build_features(t, s), cr.build_labels(t, s)
        >>> model = cr.RiskModel(n_estimators=20).fit(X, y)
        >>> fold = model.slices_["folds"][0]  # trained on the past, validated after it
        >>> model.slices_["method"], fold["train"], fold["valid"]
        ('rolling', ['2022-07-01'], '2023-07-01')
        """
        declared = {d["name"]: d for d in getattr(X, "attrs", {}).get("declared", [])}
        made_for = getattr(y, "attrs", {}).get("horizon")
        if made_for is not None and horizon_days(made_for) != horizon_days(self.horizon):
            raise ModelError(
                f"the labels were built with a {horizon_days(made_for)}-day horizon, the model's "
                f"horizon is {horizon_days(self.horizon)} days: build the labels with "
                f"horizon={self.horizon!r}, or set RiskModel(horizon={made_for!r})"
            )
        X, keyed = _fit_frame(X)
        y = _aligned(y, X)
        if self.calibration not in ("sigmoid", None):
            raise ValueError(f"calibration must be 'sigmoid' or None, not {self.calibration!r}")
        self.policy_ = _policy(self.policy)
        # an override whose feature the register cannot give (no lists kept, say) never
        # applies: it is named in inapplicable_overrides_ and the model card
        self.inapplicable_overrides_ = [
            rule.name
            for rule in self.policy_.overrides
            if any(f not in X.columns for f in rule.features)
        ]
        self.feature_names_in_ = np.array([c for c in X.columns if c not in KEYS], dtype=object)
        if not len(self.feature_names_in_):
            raise ModelError(
                f"X has 0 feature(s) (shape=({len(X)}, 0)) while a minimum of 1 is required: "
                "pass feature columns besides entity_id and as_of"
            )
        self.n_features_in_ = len(self.feature_names_in_)
        self.declared_ = {f: declared[f] for f in self.feature_names_in_ if f in declared}
        self.categories_ = _categories(X, self.feature_names_in_)
        self.classes_ = np.array([0, 1])
        labelled = y.notna().to_numpy()
        _check_labels(y[labelled].to_numpy(), len(y))
        if labelled.sum() < 20:
            raise ModelError(f"only {int(labelled.sum())} labelled rows: too few to train")
        matrix = self._matrix(X)
        target = y.to_numpy(dtype=np.float64, na_value=np.nan)
        horizon = horizon_days(self.horizon)
        params = self._lgb_params()
        try:
            folds = rolling_folds(
                X["as_of"].to_numpy() if keyed else None, labelled, horizon, self.n_folds
            )
        except PlanError as exc:
            raise ModelError(str(exc)) from None

        if self.context not in ("validate", "keep", "drop"):
            raise ValueError(f"context must be validate, keep or drop, not {self.context!r}")
        context = self._context_mask()
        self.context_ = {"decision": "none"}
        if context.any():
            blank = matrix.copy()
            blank[:, context] = np.nan  # no tree can split on a blank column
            drop = self.context == "drop"
            if self.context == "validate" and folds is not None:
                usable = _usable(folds, target)
                with_ = np.mean(self._fold_curves(matrix, target, usable, params)[0], axis=0)
                without = np.mean(self._fold_curves(blank, target, usable, params)[0], axis=0)
                drop = bool(without.max() >= with_.max())
                self.context_ |= {
                    "folds_auc_with": float(with_.max()),
                    "folds_auc_without": float(without.max()),
                }
            self.context_["decision"] = "dropped" if drop else "kept"
            self.context_["features"] = [
                str(f) for f, c in zip(self.feature_names_in_, context, strict=True) if c
            ]
            if drop:
                matrix = blank

        def train(init: np.ndarray | None) -> None:
            if folds is None:
                self._fit_split(X, matrix, target, labelled, params, horizon, keyed, init)
            else:
                self._fit_rolling(matrix, target, labelled, folds, params, init)

        self.nuisance_ = None
        train(None)
        if nuisance is not None:
            columns = _nuisance_columns(nuisance, len(X))
            rows = np.flatnonzero(labelled)
            raw = self.booster_.predict(matrix[rows], raw_score=True, num_threads=self.num_threads)
            effects = fit_effects(raw, target[rows], [c[rows] for c in columns.values()])
            init = effects.offsets(list(columns.values()))
            train(init)
            score = self.booster_.predict(
                matrix[rows], raw_score=True, num_threads=self.num_threads
            )
            share = float(np.var(init[rows]) / max(np.var(init[rows]) + np.var(score), 1e-12))
            self.nuisance_ = {
                "columns": list(columns),
                "values": len(effects.effects),
                "tau": effects.tau,
                "variance_share": share,
                "neutral": "0: the average value (each effect is shrunk towards 0)",
            }
        # tier cut-offs: the policy's, or fitted to its shares on the latest population
        if self.policy_.method == "cutoffs":
            self.cutoffs_ = tuple(self.policy_.cutoffs)
        else:
            latest = (X["as_of"] == X["as_of"].max()).to_numpy()
            self.cutoffs_ = fit_cutoffs(self._tier_probability(matrix[latest]), self.policy_.shares)
        self.training_ = {
            "fingerprint": _fingerprint(X, y),
            "rows": len(X),
            "labelled": int(labelled.sum()),
            "as_of": [str(d.date()) for d in sorted(X["as_of"].unique())] if keyed else [],
            "finding_rate": float(np.nanmean(target)),
        }
        self._explainer = None
        return self

    def _dataset(self, matrix: np.ndarray, target: np.ndarray, rows: np.ndarray, init=None):
        return lgb.Dataset(
            matrix[rows],
            target[rows],
            init_score=None if init is None else init[rows],
            feature_name=list(self.feature_names_in_),
            categorical_feature=self._categorical_positions(),
            free_raw_data=True,
        )

    def _fit_rolling(self, matrix, target, labelled, folds, params, init=None) -> None:
        """Trees chosen on out-of-time folds, calibration on their out-of-fold
        predictions, then one final model on every labelled date."""
        folds = _usable(folds, target)
        curves, boosters = self._fold_curves(matrix, target, folds, params, init)
        self._fit_rolling_tail(matrix, target, labelled, folds, params, init, curves, boosters)

    def _fold_curves(self, matrix, target, folds, params, init=None) -> tuple[list, list]:
        """Each fold's validation AUC after every tree, and its booster."""
        curves, boosters = [], []
        for fold in folds:
            record: dict = {}
            data = self._dataset(matrix, target, fold.train, init)
            check = data.create_valid(
                matrix[fold.valid],
                target[fold.valid],
                init_score=None if init is None else init[fold.valid],
            )
            boosters.append(
                lgb.train(
                    params,
                    data,
                    num_boost_round=self.n_estimators,
                    valid_sets=[check],
                    valid_names=["valid"],
                    callbacks=[
                        lgb.record_evaluation(record),
                        lgb.early_stopping(self.early_stopping_rounds, verbose=False),
                    ],
                )
            )
            # a fold that stopped early stays at its last value: past its peak, it is
            # never the best of the mean curve by rising again
            curve = np.asarray(record["valid"]["auc"], dtype=np.float64)
            curves.append(np.pad(curve, (0, self.n_estimators - len(curve)), mode="edge"))
        return curves, boosters

    def _fit_rolling_tail(self, matrix, target, labelled, folds, params, init, curves, boosters):
        mean = np.mean(curves, axis=0)
        best = int(np.argmax(mean)) + 1  # the first best: fewer trees on a tie
        shift = np.zeros(len(target)) if init is None else init
        oof_raw = np.concatenate(
            [
                b.predict(
                    matrix[f.valid],
                    raw_score=True,
                    num_iteration=best,
                    num_threads=self.num_threads,
                )
                + shift[f.valid]
                for b, f in zip(boosters, folds, strict=True)
            ]
        )
        oof_target = np.concatenate([target[f.valid] for f in folds])
        self.booster_ = lgb.train(
            params, self._dataset(matrix, target, labelled, init), num_boost_round=best
        )
        self.n_trees_ = self.booster_.num_trees()
        self.calibration_ = _fit_sigmoid(oof_raw, oof_target, self.calibration)
        p_oof = self._calibrate(oof_raw)
        self.slices_ = {
            "method": "rolling",
            "folds": [
                {
                    "train": f.train_dates,
                    "valid": f.valid_date,
                    "train_rows": int(f.train.sum()),
                    "valid_rows": int(f.valid.sum()),
                    "auc": float(c[best - 1]),
                }
                for f, c in zip(folds, curves, strict=True)
            ],
            "final_rows": int(labelled.sum()),
        }
        self.validation_ = {
            "folds_auc": float(mean[best - 1]),
            "calibration_auc": _auc(oof_target, oof_raw),
            "calibration_brier": float(brier_score_loss(oof_target, p_oof)),
            "calibration_base_rate": float(oof_target.mean()),
            "trees": int(self.n_trees_),
        }

    def _fit_split(self, X, matrix, target, labelled, params, horizon, keyed, init=None) -> None:
        """One as-of date (or a plain matrix): entities split for stopping and calibration."""
        train, stop, calib, self.slices_ = _slices(X, labelled, self.random_state, horizon)
        if not keyed:  # rows of a plain matrix: one placeholder date, no dates to name
            self.slices_["dates"] = []
        shift = np.zeros(len(target)) if init is None else init
        dtrain = self._dataset(matrix, target, train, init)
        dstop = dtrain.create_valid(
            matrix[stop], target[stop], init_score=None if init is None else init[stop]
        )
        booster = lgb.train(
            params,
            dtrain,
            num_boost_round=self.n_estimators,
            valid_sets=[dstop],
            valid_names=["stop"],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )
        if booster.best_iteration > 0:
            booster = lgb.Booster(
                model_str=booster.model_to_string(num_iteration=booster.best_iteration)
            )
        self.booster_ = booster
        self.n_trees_ = booster.num_trees()
        raw_calib = booster.predict(matrix[calib], raw_score=True, num_threads=self.num_threads)
        raw_calib = raw_calib + shift[calib]
        self.calibration_ = _fit_sigmoid(raw_calib, target[calib], self.calibration)
        p_calib = self._calibrate(raw_calib)
        raw_stop = booster.predict(matrix[stop], raw_score=True, num_threads=self.num_threads)
        self.validation_ = {
            "stop_auc": _auc(target[stop], raw_stop),
            "calibration_auc": _auc(target[calib], raw_calib),
            "calibration_brier": float(brier_score_loss(target[calib], p_calib)),
            "calibration_base_rate": float(target[calib].mean()),
            "trees": int(self.n_trees_),
        }

    def _lgb_params(self) -> dict[str, Any]:
        monotone = [
            (self._entry(f).monotone if self._entry(f) and f not in self.categories_ else 0)
            if self.monotone
            else 0
            for f in self.feature_names_in_
        ]
        return {
            "objective": "binary",
            "metric": "auc",
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_child_samples,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree,
            "lambda_l2": self.reg_lambda,
            "monotone_constraints": monotone,
            "monotone_constraints_method": "intermediate",
            "num_threads": self.num_threads,
            "seed": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }

    # -- probabilities -------------------------------------------------------------
    def decision_function(self, X: pd.DataFrame) -> np.ndarray:
        """Raw scores (log-odds before calibration): what the SHAP values add up to.

        The calibration is monotone, so these rank the rows as :meth:`predict_proba`
        does; but the sign is the booster's, before calibration: a positive raw score
        need not mean a calibrated probability of one half or more (:meth:`predict`).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The model's features, found by name in a DataFrame (keys and other columns
            may be there too), or in the model's feature order in a plain matrix.

        Returns
        -------
        numpy.ndarray of shape (n_rows,)
            The booster's raw score of every row, in log-odds.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.
        ValueError
            A plain matrix with another number of columns than the model's features.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> X = cr.build_features(t, cr.spine(t, "2024-07-01")).head(3)
        >>> raw = m.decision_function(X)
        >>> raw.shape, bool(abs(m.contributions(X).sum(axis=1) - raw).max() < 1e-9)
        ((3,), True)
        """
        self._check_fitted()
        return self.booster_.predict(
            self._matrix(self._frame(X)), raw_score=True, num_threads=self.num_threads
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of an inspection finding, shape (rows, 2).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The model's features, as for :meth:`decision_function`.

        Returns
        -------
        numpy.ndarray of shape (n_rows, 2)
            The probability of no finding (column 0, class 0) and of a finding
            (column 1, class 1); rows sum to one.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.
        ValueError
            A plain matrix with another number of columns than the model's features.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> p = m.predict_proba(cr.build_features(t, cr.spine(t, "2024-07-01")).head(3))
        >>> p.shape, bool(((p >= 0) & (p <= 1)).all())
        ((3, 2), True)
        """
        self._check_fitted()
        p = self._probability(self._matrix(self._frame(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the probability of a finding is at least one half, else 0.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The model's features, as for :meth:`decision_function`.

        Returns
        -------
        numpy.ndarray of shape (n_rows,)
            The predicted class: 1 where ``predict_proba(X)[:, 1] >= 0.5``, else 0.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> X = cr.build_features(t, cr.spine(t, "2024-07-01")).head(200)
        >>> bool((m.predict(X) == (m.predict_proba(X)[:, 1] >= 0.5)).all())
        True
        """
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _probability(self, matrix: np.ndarray) -> np.ndarray:
        raw = self.booster_.predict(matrix, raw_score=True, num_threads=self.num_threads)
        return self._calibrate(raw)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        a, b = self.calibration_["slope"], self.calibration_["intercept"]
        return 1.0 / (1.0 + np.exp(-(a * raw + b)))

    # -- scoring -------------------------------------------------------------------
    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP values (log-odds) per feature, plus ``base_value``.

        Every row sums to :meth:`decision_function`: the base value plus the
        contribution of every feature to the raw score.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The model's features, as for :meth:`decision_function`.

        Returns
        -------
        pandas.DataFrame
            With ``X``'s index (a range for a plain matrix): one column per feature,
            in the model's order, then ``base_value``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> phi = m.contributions(cr.build_features(t, cr.spine(t, "2024-07-01")).head(2))
        >>> list(phi.columns[-2:]), len(phi)
        (['address_cluster_abnormal', 'base_value'], 2)
        """
        self._check_fitted()
        X = self._frame(X)
        phi = self._contributions(self._matrix(X))
        return pd.DataFrame(phi, index=X.index, columns=[*self.feature_names_in_, "base_value"])

    def _contributions(self, matrix: np.ndarray) -> np.ndarray:
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeContributions(self.booster_, num_threads=self.num_threads)
        self._explainer.num_threads = self.num_threads  # set_params after the first call
        return self._explainer.contributions(matrix)

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """ROC AUC of the probabilities on the labelled rows: the selection metric.

        This is scikit-learn's ``score(X, y)`` contract, so ``GridSearchCV`` and
        ``cross_val_score`` select models by it without a ``scoring=`` argument. The
        per-entity tiers and reasons come from :meth:`classify`.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The model's features, as for :meth:`decision_function` (the keys are not
            needed).
        y : pandas.Series or array-like of shape (n_rows,)
            0/1 labels, NaN where undefined (ignored); aligned as in :meth:`fit`.
        sample_weight : array-like of shape (n_rows,), optional
            Weights of the rows (for example inverse inclusion probabilities), in
            ``X``'s order.

        Returns
        -------
        float
            The area under the ROC curve of ``predict_proba(X)[:, 1]`` on the rows
            whose label is defined; NaN when those rows hold one class only (or none),
            since no ranking can then be measured.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ValueError
            ``y`` differs in length from ``X``, or is None.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> s = cr.spine(t, "2024-01-01")
        >>> auc = m.score(cr.build_features(t, s), cr.build_labels(t, s))
        >>> 0.5 < auc < 1.0
        True
        """
        self._check_fitted()
        X = self._frame(X)
        y = _aligned(y, X)
        labelled = y.notna().to_numpy()
        target = y.to_numpy(dtype=np.float64, na_value=np.nan)[labelled]
        if len(np.unique(target)) < 2:
            return float("nan")
        weight = None if sample_weight is None else np.asarray(sample_weight)[labelled]
        probability = self.predict_proba(X.loc[labelled])[:, 1]
        return float(roc_auc_score(target, probability, sample_weight=weight))

    def classify(self, X: pd.DataFrame, top_k: int | None = None) -> pd.DataFrame:
        """Credit risk classification: probability, tier, overrides and reasons per row.

        The regulator's own word for what this does ("credit risk classification").
        Reasons are the largest risk-raising SHAP contributions (empty when fewer are
        positive). An override that changed the tier is named in ``override`` and
        explained in ``override_reason``.

        Parameters
        ----------
        X : pandas.DataFrame
            Features with ``entity_id`` and ``as_of`` (columns or index levels).
        top_k : int, optional
            Reasons per row (default: the model's ``top_k``; 0 for none).

        Returns
        -------
        pandas.DataFrame
            With ``X``'s index: ``entity_id``, ``as_of``, ``probability``,
            ``score_tier`` (from the cut-offs alone), ``tier``, ``override``,
            ``override_reason``, ``context`` and ``context_contribution``, and for each
            reason ``i`` up to ``top_k``: ``reason_i`` (a sentence),
            ``reason_i_feature``, ``reason_i_value`` and ``reason_i_contribution`` (its
            SHAP value, log-odds). Reasons come from conduct features only (what the
            entity did); the context features (what it is: region, industry, age...)
            are summed in ``context_contribution``, and ``context`` names the largest
            that raises the risk ("Industry: retail: a higher base rate than
            average"). With a policy whose ``context_moves_tier`` is false the tier is
            set without the context contributions.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            ``X`` lacks ``entity_id`` or ``as_of`` (unlike :meth:`predict_proba`, this
            needs them: the policy's overrides and the reason sentences depend on the
            entity and the date), or a feature is missing or unreadable.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> s = m.classify(cr.build_features(t, cr.spine(t, "2024-07-01")))
        >>> s["tier"].cat.categories.tolist()
        ['A', 'B', 'C', 'D']
        """
        self._check_fitted()
        X = _with_keys(X)
        k = self.top_k if top_k is None else top_k
        matrix = self._matrix(X)
        phi = self._contributions(matrix)
        raw = phi.sum(axis=1)
        probability = self._calibrate(raw)
        context = self._context_mask()
        context_phi = phi[:, :-1][:, context].sum(axis=1)
        out = pd.DataFrame(
            {
                "entity_id": pd.array(X["entity_id"].astype("str").to_numpy(), dtype="str"),
                "as_of": X["as_of"].to_numpy(),
                "probability": probability,
            },
            index=X.index,
        )
        tiered = probability
        if not self.policy_.context_moves_tier:
            tiered = self._calibrate(raw - context_phi)
        tiers = assign_tiers(tiered, X, self._applicable_policy(), self.cutoffs_)
        parts = [out, tiers, self._context_columns(X, phi[:, :-1], context, context_phi)]
        if k > 0:
            conduct = np.where(context, 0.0, phi[:, :-1])  # context is never a reason
            positions, values = top_reasons(conduct, k)
            parts += [
                self._reason_columns(X, positions[:, i], values[:, i], i + 1)
                for i in range(positions.shape[1])
            ]
        return pd.concat(parts, axis=1)

    def _tier_probability(self, matrix: np.ndarray) -> np.ndarray:
        """The probability tiers are cut from: without context when the policy says so."""
        if self.policy_.context_moves_tier:
            return self._probability(matrix)
        phi = self._contributions(matrix)
        context = self._context_mask()
        return self._calibrate(phi.sum(axis=1) - phi[:, :-1][:, context].sum(axis=1))

    def _context_mask(self) -> np.ndarray:
        """True for the model's context features (what the entity is, not what it did)."""
        return np.array(
            [
                bool(self._entry(f)) and self._entry(f).role == "context"
                for f in self.feature_names_in_
            ],
            dtype=bool,
        )

    def _context_columns(self, X, phi: np.ndarray, context: np.ndarray, total: np.ndarray):
        """``context`` (the context feature raising the risk most, in words) and
        ``context_contribution`` (all context contributions, summed)."""
        n = len(X)
        if context.any():
            masked = np.where(context, phi, -np.inf)
            pos = np.argmax(masked, axis=1)
            raising = masked[np.arange(n), pos] > 0
            pos = np.where(raising, pos, -1)
        else:
            pos = np.full(n, -1, dtype=np.int64)
        codes, texts, _, _ = self._reason_codes(X, pos, values=False)
        text = _text(codes, [f"{t}: a higher base rate than average" for t in texts])
        return pd.DataFrame(
            {"context": text, "context_contribution": total},
            index=X.index,
        )

    def _reason_columns(self, X: pd.DataFrame, pos: np.ndarray, contrib: np.ndarray, rank: int):
        text_codes, texts, value_codes, values = self._reason_codes(X, pos)
        names = list(self.feature_names_in_)
        return pd.DataFrame(
            {
                f"reason_{rank}": _text(text_codes, texts),
                f"reason_{rank}_feature": pd.Categorical.from_codes(pos, categories=names),
                f"reason_{rank}_value": _text(value_codes, values),
                f"reason_{rank}_contribution": np.where(pos >= 0, contrib, np.nan),
            },
            index=X.index,
        )

    def _reason_codes(
        self, X: pd.DataFrame, pos: np.ndarray, values: bool = True
    ) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
        """Per row, the sentence of feature ``pos`` (-1: none) and its value as text.

        As codes into distinct texts (-1 where ``pos`` is -1): sentences and values
        repeat, so each distinct one is formatted once, then gathered. With ``values``
        false the values are not formatted (empty codes and texts).
        """
        n = len(X)
        names = list(self.feature_names_in_)
        text_codes = np.full(n, -1, dtype=np.int64)
        value_codes = np.full(n, -1, dtype=np.int64)
        texts: list[str] = []
        shown: list[str] = []
        as_of = X["as_of"].to_numpy()
        for f in np.unique(pos[pos >= 0]).tolist():
            rows = np.flatnonzero(pos == f)
            codes, uniques = _factorized(X[names[f]], rows)
            whole = PARTS.get(names[f], ("",))[0]
            if names[f] in self.declared_:
                words = Declared(**self.declared_[names[f]]).words
                sentence_codes, sentence_text = codes, [words(u) for u in uniques]
            elif whole in names:  # a part read with its whole: by distinct pair
                pairs = pd.MultiIndex.from_arrays([codes, X[whole].iloc[rows].to_numpy()])
                sentence_codes, keys = pairs.factorize()
                sentence_text = [
                    self.sentence(names[f], uniques[c], of=w) for c, w in keys.tolist()
                ]
            else:
                sentence_codes, sentence_text = coded_sentences(
                    names[f], codes, uniques, as_of[rows]
                )
            text_codes[rows] = sentence_codes + len(texts)
            texts += sentence_text
            if values:
                value_codes[rows] = codes + len(shown)
                shown += _shown(uniques)
        return text_codes, texts, value_codes, shown

    # -- global explanations -------------------------------------------------------
    def importance(self, X: pd.DataFrame) -> pd.DataFrame:
        """Mean |SHAP| per feature over ``X``, largest first, with the catalogue meaning.

        The exact SHAP values go through the shap package's ``Explanation``.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The rows to explain: the model's features, as for :meth:`decision_function`.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``feature``, largest ``mean_abs_shap`` first: ``mean_abs_shap``
            (mean absolute contribution, log-odds), ``mean_shap`` (mean signed
            contribution) and ``meaning`` (the catalogue's words; empty for a feature
            not in the catalogue).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> imp = m.importance(cr.build_features(t, cr.spine(t, "2024-07-01")))
        >>> bool(imp["mean_abs_shap"].is_monotonic_decreasing)
        True
        """
        import shap

        phi = self.contributions(X)
        explanation = shap.Explanation(
            values=phi.drop(columns="base_value").to_numpy(),
            base_values=phi["base_value"].to_numpy(),
            feature_names=list(self.feature_names_in_),
        )
        names = list(self.feature_names_in_)
        table = pd.DataFrame(
            {
                "mean_abs_shap": explanation.abs.mean(0).values,
                "mean_shap": explanation.mean(0).values,
                "meaning": [self._entry(f).meaning if self._entry(f) else "" for f in names],
            },
            index=names,
        )
        table.index.name = "feature"
        return table.sort_values("mean_abs_shap", ascending=False, kind="stable")

    def summary_plot(self, X: pd.DataFrame, max_display: int = 15):
        """The shap package's summary (beeswarm) plot of the SHAP values over ``X``.

        The figure is drawn through pyplot (as the shap package draws) and then
        closed, so it is not left in pyplot's list of open figures: nothing piles up
        when plots are made in a loop, and ``plt.show()`` does not show it again. It
        stays a complete Figure: save it with ``fig.savefig(...)``, or let a notebook
        display it. Categorical features are coloured by the model's category codes.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_rows, n_features)
            The rows to explain: the model's features, as for :meth:`decision_function`.
        max_display : int, default 15
            Features shown at most (those of largest mean absolute SHAP value).

        Returns
        -------
        matplotlib.figure.Figure
            The beeswarm plot: one row of dots per feature, coloured by its value.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            The model is not fitted.
        ModelError
            A feature is missing, or holds text or categories the model cannot read.

        Examples
        --------
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> X = cr.build_features(t, cr.spine(t, "2024-07-01")).head(300)
        >>> open_before = plt.get_fignums()
        >>> fig = m.summary_plot(X, max_display=5)
        >>> type(fig).__name__, plt.get_fignums() == open_before
        ('Figure', True)
        """
        import matplotlib.pyplot as plt
        import shap

        X = self._frame(X)
        phi = self.contributions(X)
        names = list(self.feature_names_in_)
        shown = pd.DataFrame(self._matrix(X), index=X.index, columns=names)
        fig = plt.figure()
        try:
            shap.summary_plot(
                phi.drop(columns="base_value").to_numpy(),
                shown,
                max_display=max_display,
                show=False,
                rng=np.random.default_rng(self.random_state),  # the jitter repeats too
            )
        finally:
            plt.close(fig)  # the caller owns the figure; pyplot does not keep it
        return fig

    # -- recourse ------------------------------------------------------------------
    def recourse(self, row: pd.DataFrame | pd.Series, tables=None) -> pd.DataFrame:
        """What the entity can do to reach a lower tier: see :func:`creditrisk.model.recourse`.

        Parameters
        ----------
        row : pandas.DataFrame or pandas.Series
            One entity's features with ``entity_id`` and ``as_of``: a one-row
            DataFrame, or a row of one.
        tables : EventTables, optional
            The register the row was built from. Credit restoration and early exit from
            the serious list are offered only with it, where the entity's records show
            the rules allow them.

        Returns
        -------
        pandas.DataFrame
            Every plan of open actions, best first: ``actions``, ``steps``,
            ``n_actions``, ``probability``, ``tier`` and ``lower`` (whether the plan
            reaches a lower tier); the row with ``n_actions == 0`` is the entity as it
            stands.

        Raises
        ------
        ValueError
            ``row`` is a DataFrame of more than one row.
        ModelError
            As :meth:`classify`: no keys, or a missing or unreadable feature.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> t = cr.load_sample()
        >>> X = cr.build_features(t, cr.spine(t, "2024-07-01"))
        >>> plans = m.recourse(X[X.on_abnormal_list == 1].iloc[[0]])
        >>> list(plans.columns)
        ['actions', 'steps', 'n_actions', 'probability', 'tier', 'lower']
        """
        from creditrisk.model.recourse import recourse

        return recourse(self, row, tables=tables)

    # -- input checks --------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(
            self,
            "booster_",
            msg="This %(name)s is not fitted yet: call fit, or RiskModel.load.",
        )

    def _frame(self, X) -> pd.DataFrame:
        """``X`` as a DataFrame holding the model's features by name.

        A DataFrame whose column names are all text is taken as it is (its features are
        found by name; keys and other columns may be there). A plain matrix, or a
        DataFrame with other column names, holds the model's features in order.
        """
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            return X
        values = _plain(X)
        if values.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {values.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input ({', '.join(self.feature_names_in_)})"
            )
        return _plain_frame(X, values, list(self.feature_names_in_))

    def _categorical_positions(self) -> list[int]:
        names = list(self.feature_names_in_)
        return [names.index(c) for c in self.categories_]

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        """Features as LightGBM sees them: float64, categories as the model's codes."""
        names = list(self.feature_names_in_)
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ModelError(
                f"the input lacks {len(missing)} of the model's features: {missing[:10]}"
            )
        matrix = np.empty((len(X), len(names)), dtype=np.float64)
        for j, name in enumerate(names):
            column = X[name]
            if pd.api.types.is_complex_dtype(column.dtype):
                raise ValueError(f"Complex data not supported: feature {name!r} is {column.dtype}")
            if name in self.categories_:
                matrix[:, j] = _codes(column, name, self.categories_[name], X)
            elif pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
                column.dtype
            ):
                matrix[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                raise ModelError(
                    f"feature {name!r} is {column.dtype} in the input; the model was trained "
                    "on numbers"
                )
        return matrix

    def _applicable_policy(self) -> Policy:
        """The policy without the overrides this model's register cannot apply."""
        skipped = set(getattr(self, "inapplicable_overrides_", ()))
        if not skipped:
            return self.policy_
        kept = tuple(r for r in self.policy_.overrides if r.name not in skipped)
        return dataclasses.replace(self.policy_, overrides=kept)

    def _entry(self, feature: str):
        """The catalogue entry of one of the model's features (built-in or declared)."""
        if feature in _CATALOGUE:
            return _CATALOGUE[feature]
        declared = getattr(self, "declared_", {}).get(feature)
        return Declared(**declared).feature if declared else None

    def sentence(self, feature: str, value, as_of=None, of=None) -> str:
        """How a value of one of the model's features reads in a reason.

        Parameters
        ----------
        feature : str
            A feature of the model (built-in or declared).
        value : object
            Its value for one entity.
        as_of : date-like, optional
            The as-of date (some sentences name the report year it implies).
        of : object, optional
            For a count that is a part of another feature's
            (:data:`~creditrisk.model.reasons.PARTS`), the entity's value of that one:
            the two read as one sentence.

        Returns
        -------
        str
            The sentence.

        Examples
        --------
        >>> import creditrisk as cr
        >>> cr.RiskModel.load(cr.sample_model_path()).sentence("times_listed", 2)
        'Listed or marked 2 times'
        """
        if feature in getattr(self, "declared_", {}):
            return Declared(**self.declared_[feature]).words(value)
        at = None if as_of is None else pd.Timestamp(as_of)
        return _sentence(feature, value, at, of=of)

    # -- save and load -------------------------------------------------------------
    def _parts(self) -> tuple[str, dict]:
        """The LightGBM model text and the metadata a model directory holds."""
        from creditrisk._version import __version__

        self._check_fitted()
        model_text = self.booster_.model_to_string()
        meta = {
            "format_version": FORMAT_VERSION,
            "creditrisk_version": __version__,
            "lightgbm_version": lgb.__version__,
            "params": _jsonable(self.get_params() | {"policy": None}),
            "features": list(self.feature_names_in_),
            "dtypes": {
                c: ("category" if c in self.categories_ else "float64")
                for c in self.feature_names_in_
            },
            "categories": self.categories_,
            "monotone_constraints": self._lgb_params()["monotone_constraints"],
            "calibration": self.calibration_,
            "cutoffs": list(self.cutoffs_),
            "policy": self.policy_.to_dict(),
            "training": self.training_,
            "slices": self.slices_,
            "validation": self.validation_,
            "context": getattr(self, "context_", {"decision": "none"}),
            "nuisance": getattr(self, "nuisance_", None),
            "files": {"model.txt": _sha256(model_text.encode())},
        }
        if getattr(self, "inapplicable_overrides_", None):
            meta["inapplicable_overrides"] = list(self.inapplicable_overrides_)
        if getattr(self, "declared_", None):
            meta["declared"] = [
                self.declared_[f] for f in self.feature_names_in_ if f in self.declared_
            ]
        return model_text, _jsonable(meta)

    @classmethod
    def _from_parts(cls, model_text: str, meta: dict) -> RiskModel:
        """A model from its text and metadata (see :meth:`_parts`), e.g. on a Spark worker.

        The text is checked against itself and the metadata first
        (:func:`creditrisk.model.integrity.check_model_text`), so a malformed model is a
        :class:`ModelError`, never a crash of LightGBM.
        """
        if not isinstance(meta, dict):
            raise ModelError("metadata.json must hold a JSON object")
        missing = [key for key in integrity.REQUIRED_KEYS if key not in meta]
        if missing:
            raise ModelError(f"metadata.json lacks keys a model needs: {', '.join(missing)}")
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"model format {meta.get('format_version')}: this creditrisk reads format "
                f"{FORMAT_VERSION}"
            )
        files = meta["files"]
        if not isinstance(files, dict) or files.get("model.txt") != _sha256(model_text.encode()):
            raise ModelError("model.txt does not match the SHA-256 in metadata.json")
        try:
            text = integrity.check_model_text(model_text, meta)
            params = {k: v for k, v in meta["params"].items() if k in cls._get_param_names()}
            policy = Policy.from_dict(meta["policy"])
            model = cls(**(params | {"policy": policy}))
            model.policy_ = policy
            model.booster_ = lgb.Booster(model_str=text)
            model.n_trees_ = model.booster_.num_trees()
            model.feature_names_in_ = np.array(meta["features"], dtype=object)
            model.n_features_in_ = len(model.feature_names_in_)
            model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
            model.declared_ = {d["name"]: d for d in meta.get("declared", [])}
            model.inapplicable_overrides_ = list(meta.get("inapplicable_overrides", []))
            model.classes_ = np.array([0, 1])
            model.calibration_ = dict(meta["calibration"])
            model.cutoffs_ = tuple(float(c) for c in meta["cutoffs"])
            model.training_ = meta["training"]
            model.slices_ = meta["slices"]
            model.validation_ = meta["validation"]
            model.context_ = meta.get("context", {"decision": "none"})
            model.nuisance_ = meta.get("nuisance")
        except integrity.IntegrityError as exc:
            raise ModelError(str(exc)) from None
        except (KeyError, TypeError, ValueError, AttributeError, lgb.basic.LightGBMError) as exc:
            what = f"missing {exc}" if isinstance(exc, KeyError) else str(exc).strip()
            raise ModelError(f"metadata.json does not describe a usable model: {what}") from None
        if list(model.booster_.feature_name()) != list(meta["features"]):
            raise ModelError("model.txt's feature_names differ from metadata.json's features")
        model.metadata_ = meta
        model._explainer = None
        return model

    def _file_bytes(self) -> dict[str, bytes]:
        """The bytes :meth:`save` writes as model.txt and metadata.json."""
        model_text, meta = self._parts()
        meta_text = json.dumps(_jsonable(meta), indent=2, sort_keys=False)
        return {"model.txt": model_text.encode("utf-8"), "metadata.json": meta_text.encode("utf-8")}

    def save(self, path: str | Path, overwrite: bool = False, signing_key=None) -> Path:
        """Write the model as a directory: ``model.txt`` (LightGBM text) and
        ``metadata.json`` (features, categories, constraints, calibration, cut-offs,
        policy, versions, training fingerprint, file hashes), ``CHECKSUMS``, and with a
        signing key ``SIGNATURE``. No pickle.

        The directory appears complete or not at all. An existing directory is replaced
        (with ``overwrite``) only when it is a model directory: never a directory of
        other files (see :func:`creditrisk.data.paths.check_output`).

        Parameters
        ----------
        path : str or pathlib.Path
            The model directory to write.
        overwrite : bool, default False
            Replace a model directory already at ``path``.
        signing_key : optional
            Sign the model (:mod:`creditrisk.model.signing`): an Ed25519 private key,
            an HMAC secret, or a key file; default: ``CREDITRISK_SIGNING_KEY`` when set.

        Returns
        -------
        pathlib.Path
            The directory written; it also holds ``CHECKSUMS`` (the SHA-256 of both
            files), which :meth:`load` checks.

        Raises
        ------
        FileExistsError
            ``path`` exists and ``overwrite`` is False.
        ModelError
            The configured key cannot sign (an Ed25519 public key).
        creditrisk.data.paths.OutputError
            ``path`` is a directory creditrisk did not write, or cannot be written.

        Examples
        --------
        >>> import creditrisk as cr, tempfile
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> with tempfile.TemporaryDirectory() as d:
        ...     folder = m.save(f"{d}/model", signing_key="hmac:secret")
        ...     sorted(p.name for p in folder.iterdir())
        ['CHECKSUMS', 'SIGNATURE', 'metadata.json', 'model.txt']
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        check_output(path, kind="model")
        try:
            key = signing.resolve_key(signing_key)
            if key is not None and not key.can_sign:
                raise signing.SignatureError(
                    f"cannot sign {path} with an Ed25519 public key ({signing.ENV} or "
                    "signing_key): give the private key"
                )
        except signing.SignatureError as exc:
            raise ModelError(str(exc)) from None
        files = self._file_bytes()
        with staging_dir(path) as staging:
            for name in _FILES:
                (staging / name).write_bytes(files[name])
            (staging / "CHECKSUMS").write_text(
                "".join(f"{_sha256(files[f])}  {f}\n" for f in _FILES), encoding="utf-8"
            )
            if key is not None:
                signing.sign_directory(staging, key)
            commit([(staging, path)])
        return path

    @classmethod
    def load(cls, path: str | Path, signing_key=None) -> RiskModel:
        """Read a model directory written by :meth:`save`, refusing altered files.

        The files must match ``CHECKSUMS``; metadata.json and model.txt must be whole
        and agree (same features, well-formed trees). When a signing key is given or
        configured (``CREDITRISK_SIGNING_KEY``), the model must carry a signature that
        the key verifies (:mod:`creditrisk.model.signing`); ``origin_["signature"]``
        says whether it was verified.

        Parameters
        ----------
        path : str or pathlib.Path
            The model directory.
        signing_key : optional
            The key to verify with (default: ``CREDITRISK_SIGNING_KEY`` when set).

        Returns
        -------
        RiskModel
            The fitted model; ``origin_`` records its directory, the digest of its files
            (``sha256``) and the signature check.

        Raises
        ------
        ModelError
            A file missing, altered, malformed or inconsistent; unsigned or wrongly
            signed when a key is configured.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> m.policy_.name, len(m.cutoffs_), m.origin_["signature"]["verified"]
        ('national', 3, False)
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = m.save(f"{d}/model")
        ...     _ = (out / "model.txt").write_text("tampered")
        ...     cr.RiskModel.load(out)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        creditrisk.model.estimator.ModelError: ...model.txt...
        """
        path = Path(path)
        if not path.is_dir():
            raise ModelError(f"no model directory at {path}")
        for name in (*_FILES, "CHECKSUMS"):
            if not (path / name).is_file():
                raise ModelError(f"{path} is not a creditrisk model: {name} is missing")
        recorded = {}
        try:
            lines = (path / "CHECKSUMS").read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise ModelError(f"{path / 'CHECKSUMS'} is not text") from None
        for line in lines:
            digest, _, name = line.partition("  ")
            recorded[name] = digest
        raw = {name: (path / name).read_bytes() for name in _FILES}
        actual = {name: _sha256(raw[name]) for name in _FILES}
        for name in _FILES:
            if recorded.get(name) != actual[name]:
                raise ModelError(
                    f"{path / name} was altered since the model was saved (its SHA-256 "
                    f"{actual[name][:12]}... differs from the recorded "
                    f"{str(recorded.get(name))[:12]}...)"
                )
        try:
            key = signing.resolve_key(signing_key)
            if key is None:
                signed = (path / signing.SIGNATURE_FILE).is_file()
                checked = {
                    "verified": False,
                    "reason": f"no signing key configured ({signing.ENV})",
                    "signed": signed,
                }
            else:
                checked = signing.verify_directory(path, key)
        except signing.SignatureError as exc:
            raise ModelError(str(exc)) from None
        try:
            meta = integrity.check_metadata(raw["metadata.json"], str(path / "metadata.json"))
            model_text = raw["model.txt"].decode("utf-8")
            model = cls._from_parts(model_text, meta)
        except UnicodeDecodeError:
            raise ModelError(f"{path / 'model.txt'} is not UTF-8 text") from None
        except (ModelError, integrity.IntegrityError) as exc:
            raise ModelError(f"{path}: {exc}") from None
        model.origin_ = {
            "source": str(path),
            "version": None,
            "sha256": integrity.files_digest(actual),
            "signature": checked,
        }
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.classifier_tags.multi_class = False  # 0/1: an inspection finding or not
        return tags


# -- helpers ---------------------------------------------------------------------------
def _policy(policy: Policy | str | None) -> Policy:
    if policy is None:
        return Policy.load("national")
    if isinstance(policy, Policy):
        return policy
    return Policy.load(policy)


def _with_keys(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with entity_id and as_of as columns (moved out of the index if there)."""
    if not isinstance(X, pd.DataFrame):
        raise ModelError(
            f"expected a DataFrame of features with entity_id and as_of, got "
            f"{type(X).__name__}: tiers and reasons need the keys (predict_proba, "
            "decision_function and score take a plain feature matrix)"
        )
    if all(k in X.columns for k in KEYS):
        return X
    if all(k in (X.index.names or []) for k in KEYS):
        keys = X.index.to_frame(index=False)[list(KEYS)]
        keys.index = X.index
        return pd.concat([keys, X], axis=1)
    raise ModelError(
        "the features need entity_id and as_of, as columns or as the index: tiers and "
        "reasons depend on them (predict_proba, decision_function and score do not)"
    )


def _has_keys(X: pd.DataFrame) -> bool:
    """Whether a DataFrame names any key, as a column or an index level."""
    names = {*X.columns, *(n for n in (X.index.names or []) if n is not None)}
    return any(k in names for k in KEYS)


def _fit_frame(X) -> tuple[pd.DataFrame, bool]:
    """The training features with their keys, and whether ``X`` came with keys.

    A DataFrame naming a key is a feature table: it must hold both keys. Anything else
    is a plain matrix: every row becomes its own entity (its position) at one date, so
    :func:`_slices` splits the rows by a salted hash of their position. Its features
    keep a DataFrame's text column names, else are called ``x0``, ``x1``, ...
    """
    if isinstance(X, pd.DataFrame) and _has_keys(X):
        return _with_keys(X), True
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
        frame = X
    else:
        values = _plain(X)
        frame = _plain_frame(X, values, [f"x{j}" for j in range(values.shape[1])])
    keys = pd.DataFrame(
        {
            "entity_id": np.arange(len(frame)).astype(str),
            "as_of": np.full(len(frame), _NO_DATE.to_datetime64()),
        },
        index=frame.index,
    )
    return pd.concat([keys, frame], axis=1), False


def _plain(X) -> np.ndarray:
    """A plain feature matrix as a 2-D array (a DataFrame's values, when given one)."""
    if sp.issparse(X):
        raise TypeError(
            "RiskModel takes dense features, not a sparse matrix: pass X.toarray(), or a DataFrame"
        )
    values = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
    if values.ndim != 2:
        raise ValueError(
            f"Expected a 2D array of features, got a {values.ndim}D array instead. "
            "Reshape your data either using array.reshape(-1, 1) if it has a single "
            "feature or array.reshape(1, -1) if it contains a single row."
        )
    if np.iscomplexobj(values):
        raise ValueError("Complex data not supported: the features must be real numbers")
    return values


def _plain_frame(X, values: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Columns named ``names``: a DataFrame's own columns (dtypes kept), else ``values``."""
    if isinstance(X, pd.DataFrame):
        return X.set_axis(names, axis=1)
    frame = pd.DataFrame(values, columns=names)
    return frame.infer_objects() if values.dtype == object else frame


def _aligned(y, X: pd.DataFrame) -> pd.Series:
    """``y`` as a float Series on ``X``'s index: by label when it holds X's labels in
    another order, else by position (lengths must match)."""
    if y is None:
        raise ValueError(
            "RiskModel requires y to be passed, but the target y is None: pass one 0/1 "
            "label per row of X (NaN where undefined)"
        )
    if (
        isinstance(y, pd.Series)
        and len(y) == len(X)
        and not y.index.equals(X.index)
        and y.index.is_unique
        and X.index.is_unique
        and y.index.isin(X.index).all()
    ):
        y = y.reindex(X.index)
    values = y.to_numpy() if isinstance(y, pd.Series) else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = column_or_1d(values, warn=True)  # a column vector: warn, as sklearn does
    if values.ndim != 1:
        raise ValueError(f"y should be a 1d array of labels, got an array of shape {values.shape}")
    if len(values) != len(X):
        raise ValueError(
            f"y has {len(values)} labels for {len(X)} rows of X: pass one label per row "
            "(NaN where undefined), in X's order"
        )
    if np.iscomplexobj(values):
        raise ValueError("Complex data not supported: labels must be 0/1")
    try:
        numbers = pd.to_numeric(values, errors="raise")
    except (TypeError, ValueError):
        shown = sorted({str(v) for v in values if not pd.isna(v)})[:5]
        raise ModelError(
            f"labels must be 0/1 (or NaN when undefined), found {shown}: map your classes "
            "to 1 (a finding) and 0 (none)"
        ) from None
    return pd.Series(numbers, index=X.index, dtype="float64")


def _check_labels(values: np.ndarray, rows: int) -> None:
    """Refuse labels a 0/1 risk model cannot learn from, saying what they are."""
    if len(values):
        check_classification_targets(values)  # sklearn's error for a continuous target
    found = set(np.unique(values).tolist())
    if len(found) > 2:
        raise ModelError(
            "Only binary classification is supported. The type of the target is "
            f"multiclass: labels must be 0/1 (or NaN when undefined), found {sorted(found)}"
        )
    if not found <= {0, 1}:
        raise ModelError(
            f"labels must be 0/1 (or NaN when undefined), found {sorted(found)}: map your "
            "classes to 1 (a finding) and 0 (none)"
        )
    if not found:
        raise ModelError(
            f"no labelled rows: all {rows} labels are NaN (undefined), nothing to train on"
        )
    if len(found) == 1:
        (only,) = found
        raise ModelError(
            f"the labelled rows hold one class only (all {int(only)}): the model needs "
            "rows of both classes, findings (1) and none (0)"
        )


def _categories(X: pd.DataFrame, names) -> dict[str, list[str]]:
    out = {}
    for name in names:
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            out[name] = [str(c) for c in column.cat.categories]
        elif not (
            pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)
        ):
            out[name] = sorted(str(v) for v in column.dropna().unique())
    return out


def _codes(column: pd.Series, name: str, categories: list[str], X: pd.DataFrame) -> np.ndarray:
    """Category codes in the model's categories; refuses values the model never saw."""
    if (
        isinstance(column.dtype, pd.CategoricalDtype)
        and [str(c) for c in column.cat.categories] == categories
    ):
        codes = column.cat.codes.to_numpy()
    else:
        text = column.astype("str").where(column.notna())
        codes = pd.Index(categories).get_indexer(text)
        unknown = (codes < 0) & column.notna().to_numpy()
        if unknown.any():
            values = sorted(set(text[unknown].tolist()))
            rows = X.loc[unknown, list(KEYS)].head(5).to_dict("records")
            raise ModelError(
                f"feature {name!r} has categories the model was not trained on: "
                f"{values[:10]}; the model knows {categories}; rows: {rows}"
            )
    return np.where(codes < 0, np.nan, codes.astype(np.float64))


def _slices(X: pd.DataFrame, labelled: np.ndarray, seed: int, horizon: int):
    """Train, early-stopping and calibration masks for data of a single as-of date.

    With one date there is no time to split: entities are split by a salted hash of
    their id (60% / 20% / 20%). Several dates use out-of-time folds instead
    (:mod:`creditrisk.model.folds`).
    """
    dates = np.sort(X.loc[labelled, "as_of"].unique())
    salt = pd.util.hash_pandas_object(
        X["entity_id"].astype("str"), index=False, hash_key=f"{seed:016d}"
    )
    bucket = salt.to_numpy() % 10
    train = labelled & (bucket < 6)
    stop = labelled & (bucket >= 6) & (bucket < 8)
    calib = labelled & (bucket >= 8)
    how = {"method": "entities", "dates": [str(pd.Timestamp(d).date()) for d in dates]}
    for name, mask in (("train", train), ("stop", stop), ("calibration", calib)):
        how[f"{name}_rows"] = int(mask.sum())
        if not mask.any():
            raise ModelError(f"the {name} slice is empty: need more labelled rows or as-of dates")
    return train, stop, calib, how


def _usable(folds, target: np.ndarray) -> list:
    """The folds whose validation date has both outcomes (an AUC is defined)."""
    folds = [f for f in folds if len(np.unique(target[f.valid])) == 2]
    if not folds:
        raise ModelError(
            "every out-of-time fold's validation date has labels of one class only: "
            "no AUC to choose the trees by; add as-of dates or labelled rows"
        )
    return folds


def _nuisance_columns(nuisance, n: int) -> dict[str, np.ndarray]:
    """Nuisance values as text arrays per column, aligned with X by position."""
    if isinstance(nuisance, pd.Series):
        frame = nuisance.to_frame()
    elif isinstance(nuisance, pd.DataFrame):
        frame = nuisance
    else:
        frame = pd.DataFrame(np.asarray(nuisance, dtype=object))
    if len(frame) != n:
        raise ValueError(f"nuisance has {len(frame)} rows for {n} rows of X")
    return {
        str(c): frame[c].astype("str").where(frame[c].notna()).to_numpy(dtype=object)
        for c in frame.columns
    }


def _fit_sigmoid(raw: np.ndarray, target: np.ndarray, method: str | None) -> dict[str, float]:
    if method is None or len(np.unique(target)) < 2:
        return {"method": "none", "slope": 1.0, "intercept": 0.0}
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, tol=1e-10, max_iter=1000).fit(raw.reshape(-1, 1), target)
    return {
        "method": "sigmoid",
        "slope": float(lr.coef_[0, 0]),
        "intercept": float(lr.intercept_[0]),
    }


def _auc(target: np.ndarray, score: np.ndarray) -> float | None:
    return float(roc_auc_score(target, score)) if len(np.unique(target)) == 2 else None


def _fingerprint(X: pd.DataFrame, y: pd.Series) -> str:
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(X, index=False).to_numpy().tobytes())
    digest.update(pd.util.hash_pandas_object(y.astype("float64"), index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _show(value) -> str:
    """A value as short text: numbers to 6 significant digits, categories as they are."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    return f"{float(value):.6g}"


def _shown(values) -> list[str]:
    """:func:`_show` of many values; float64 ones (a factorized column's) in one pass."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return ["" if v != v else f"{v:.6g}" for v in values.tolist()]
    return [_show(v) for v in values]


def _factorized(column: pd.Series, rows: np.ndarray) -> tuple[np.ndarray, Any]:
    """:func:`~creditrisk.model.reasons.factorize` of some rows of a column.

    The distinct values of a column that is not categorical stay an array (the same
    values as the list :func:`factorize` gives).
    """
    if isinstance(column.dtype, pd.CategoricalDtype):
        return factorize(column.iloc[rows])
    codes, uniques = pd.factorize(column.to_numpy()[rows], use_na_sentinel=False)
    return codes.astype(np.int64), uniques


def _text(codes: np.ndarray, labels: list[str]):
    """Codes into labels as a text column; code -1 gives an empty string.

    Plain text, not a categorical, so a row scored alone has the dtype it has in a
    batch, and chunks concatenate. The labels become Arrow text once, and the rows
    are gathered from them (not from Python strings, one per row).
    """
    table = pa.array([*labels, ""], type=pa.large_string())
    taken = table.take(pa.array(np.where(codes < 0, len(labels), codes), type=pa.int64()))
    return pd.array(taken, dtype="str")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Policy):
        return value.to_dict()
    return value
