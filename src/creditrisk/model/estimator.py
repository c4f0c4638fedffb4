"""RiskModel: a LightGBM risk model with policy tiers, reasons and recourse.

The model follows scikit-learn's conventions (parameters in ``__init__``, work in
``fit``, fitted attributes end in ``_``). ``fit(X, y)`` takes the feature table of
:func:`creditrisk.build_features` and labels of :func:`creditrisk.build_labels`; rows
whose label is undefined (not inspected at random) are ignored. Time decides the
slices: the latest labelled as-of date is split by entity, one half to stop the
boosting early and the other to calibrate the probabilities; the dates at least one
label horizon earlier train, so no inspection is a label on both sides (with no such
date, entities are split instead; ``slices_`` records what was used).

Every numeric feature carries the catalogue's monotone direction as a LightGBM
``monotone_constraints`` entry (one more penalty never lowers the risk); categorical
features are native LightGBM categoricals whose categories are stored with the model.

Example
-------
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
import shutil
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.utils.validation import check_is_fitted

from creditrisk.data.tables import staging_dir
from creditrisk.features import CATALOGUE
from creditrisk.features.declared import Declared
from creditrisk.features.labels import horizon_days
from creditrisk.model.contributions import TreeContributions, top_reasons
from creditrisk.model.reasons import coded_sentences, factorize
from creditrisk.model.reasons import sentence as _sentence
from creditrisk.policy import Policy, assign_tiers, fit_cutoffs

__all__ = ["FORMAT_VERSION", "KEYS", "ModelError", "RiskModel"]

KEYS = ("entity_id", "as_of")
FORMAT_VERSION = 1
_CATALOGUE = {f.name: f for f in CATALOGUE}
_FILES = ("model.txt", "metadata.json")


class ModelError(ValueError):
    """A model directory or an input that the model cannot use, with what differs.

    Example
    -------
    >>> str(ModelError("feature 'x' missing"))
    "feature 'x' missing"
    """


class RiskModel(ClassifierMixin, BaseEstimator):
    """LightGBM risk model: probability, policy tier with overrides, and reasons.

    Parameters
    ----------
    policy : Policy, or a policy name or path (default ``"national"``).
    n_estimators, learning_rate, max_depth, num_leaves, min_child_samples, subsample,
    colsample_bytree, reg_lambda : LightGBM capacity. The defaults (depth-3 trees) were
    chosen by validation with the explanation cost in view (benchmarks/RESULTS.md).
    early_stopping_rounds : rounds without improvement of the validation AUC.
    horizon : the labels' horizon. Training uses only as-of dates whose label windows
        end before the early-stopping and calibration date (``slices_`` says which).
    calibration : ``"sigmoid"`` (Platt scaling on a later, held-out slice; keeps the
        ranking) or ``None``.
    monotone : use the catalogue's monotone directions as constraints.
    top_k : reasons per entity.
    num_threads, random_state : explicit, so runs repeat bit for bit.

    Example
    -------
    >>> RiskModel(max_depth=4).get_params()["max_depth"]
    4
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
        early_stopping_rounds: int = 50,
        horizon: str = "365D",
        calibration: str | None = "sigmoid",
        monotone: bool = True,
        top_k: int = 3,
        num_threads: int = 1,
        random_state: int = 0,
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

    # -- fitting -------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: pd.Series) -> RiskModel:
        """Train on the labelled rows of ``X``; calibrate; fit the tier cut-offs.

        Parameters
        ----------
        X : pandas.DataFrame
            ``entity_id``, ``as_of`` and feature columns (or feature columns indexed by
            entity_id and as_of), as :func:`creditrisk.build_features` or
            :class:`creditrisk.FeatureBuilder` give them.
        y : pandas.Series or array-like of shape (n_rows,)
            0/1 labels, NaN where undefined (those rows are ignored). Aligned with
            ``X`` by position, as scikit-learn does; a Series whose index holds the
            same labels as ``X``'s index in another order is matched by label instead.

        Returns
        -------
        RiskModel
            The fitted model (``self``).

        Raises
        ------
        ModelError
            Fewer than 20 labelled rows, labels other than 0/1, or no feature columns.
        ValueError
            ``y`` and ``X`` differ in length.
        """
        declared = {d["name"]: d for d in X.attrs.get("declared", [])}
        made_for = getattr(y, "attrs", {}).get("horizon")
        if made_for is not None and horizon_days(made_for) != horizon_days(self.horizon):
            raise ModelError(
                f"the labels were built with a {horizon_days(made_for)}-day horizon, the model's "
                f"horizon is {horizon_days(self.horizon)} days: build the labels with "
                f"horizon={self.horizon!r}, or set RiskModel(horizon={made_for!r})"
            )
        X = _with_keys(X)
        y = _aligned(y, X)
        if self.calibration not in ("sigmoid", None):
            raise ValueError(f"calibration must be 'sigmoid' or None, not {self.calibration!r}")
        self.policy_ = _policy(self.policy)
        # an override whose feature the register cannot give (no lists kept, say) never
        # applies: it is named in inapplicable_overrides_ and the model card
        self.inapplicable_overrides_ = [
            rule.name for rule in self.policy_.overrides if rule.feature not in X.columns
        ]
        self.feature_names_in_ = np.array([c for c in X.columns if c not in KEYS], dtype=object)
        if not len(self.feature_names_in_):
            raise ModelError("X has no feature columns besides entity_id and as_of")
        self.n_features_in_ = len(self.feature_names_in_)
        self.declared_ = {f: declared[f] for f in self.feature_names_in_ if f in declared}
        self.categories_ = _categories(X, self.feature_names_in_)
        self.classes_ = np.array([0, 1])
        labelled = y.notna().to_numpy()
        if labelled.sum() < 20:
            raise ModelError(f"only {int(labelled.sum())} labelled rows: too few to train")
        values = set(np.unique(y[labelled]))
        if not values <= {0, 1}:
            raise ModelError(f"labels must be 0/1 (or NaN when undefined), found {sorted(values)}")
        matrix = self._matrix(X)
        target = y.to_numpy(dtype=np.float64, na_value=np.nan)
        horizon = horizon_days(self.horizon)
        train, stop, calib, self.slices_ = _slices(X, labelled, self.random_state, horizon)

        params = self._lgb_params()
        dtrain = lgb.Dataset(
            matrix[train],
            target[train],
            feature_name=list(self.feature_names_in_),
            categorical_feature=self._categorical_positions(),
            free_raw_data=True,
        )
        dstop = dtrain.create_valid(matrix[stop], target[stop])
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
        # tier cut-offs: the policy's, or fitted to its shares on the latest population
        if self.policy_.method == "cutoffs":
            self.cutoffs_ = tuple(self.policy_.cutoffs)
        else:
            latest = (X["as_of"] == X["as_of"].max()).to_numpy()
            self.cutoffs_ = fit_cutoffs(self._probability(matrix[latest]), self.policy_.shares)
        self.training_ = {
            "fingerprint": _fingerprint(X, y),
            "rows": len(X),
            "labelled": int(labelled.sum()),
            "as_of": [str(d.date()) for d in sorted(X["as_of"].unique())],
            "finding_rate": float(np.nanmean(target)),
        }
        self._explainer = None
        return self

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
        """Raw scores (log-odds before calibration): what the SHAP values add up to."""
        self._check_fitted()
        return self.booster_.predict(
            self._matrix(_with_keys(X)), raw_score=True, num_threads=self.num_threads
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of an inspection finding, shape (rows, 2)."""
        self._check_fitted()
        p = self._probability(self._matrix(_with_keys(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where the probability of a finding is at least one half, else 0."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def _probability(self, matrix: np.ndarray) -> np.ndarray:
        raw = self.booster_.predict(matrix, raw_score=True, num_threads=self.num_threads)
        return self._calibrate(raw)

    def _calibrate(self, raw: np.ndarray) -> np.ndarray:
        a, b = self.calibration_["slope"], self.calibration_["intercept"]
        return 1.0 / (1.0 + np.exp(-(a * raw + b)))

    # -- scoring -------------------------------------------------------------------
    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Exact SHAP values (log-odds) per feature, plus ``base_value``; rows sum to
        :meth:`decision_function`.
        """
        self._check_fitted()
        X = _with_keys(X)
        phi = self._contributions(self._matrix(X))
        return pd.DataFrame(phi, index=X.index, columns=[*self.feature_names_in_, "base_value"])

    def _contributions(self, matrix: np.ndarray) -> np.ndarray:
        if getattr(self, "_explainer", None) is None:
            self._explainer = TreeContributions(self.booster_, num_threads=self.num_threads)
        return self._explainer.contributions(matrix)

    def score(self, X: pd.DataFrame, y, sample_weight=None) -> float:
        """ROC AUC of the probabilities on the labelled rows: the selection metric.

        This is scikit-learn's ``score(X, y)`` contract, so ``GridSearchCV`` and
        ``cross_val_score`` select models by it without a ``scoring=`` argument. The
        per-entity tiers and reasons come from :meth:`classify`.

        Parameters
        ----------
        X : pandas.DataFrame
            Features with their keys, as for :meth:`fit`.
        y : pandas.Series or array-like of shape (n_rows,)
            0/1 labels, NaN where undefined (ignored); aligned as in :meth:`fit`.
        sample_weight : array-like of shape (n_rows,), optional
            Weights of the rows (for example inverse inclusion probabilities).

        Returns
        -------
        float
            The area under the ROC curve; NaN when the labelled rows hold one class.

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
        X = _with_keys(X)
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
            ``override_reason``, and for each reason ``i`` up to ``top_k``:
            ``reason_i`` (a sentence), ``reason_i_feature``, ``reason_i_value`` and
            ``reason_i_contribution`` (its SHAP value, log-odds).

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
        out = pd.DataFrame(
            {
                "entity_id": pd.array(X["entity_id"].astype("str").to_numpy(), dtype="str"),
                "as_of": X["as_of"].to_numpy(),
                "probability": probability,
            },
            index=X.index,
        )
        tiers = assign_tiers(probability, X, self._applicable_policy(), self.cutoffs_)
        parts = [out, tiers]
        if k > 0:
            positions, values = top_reasons(phi[:, :-1], k)
            parts += [
                self._reason_columns(X, positions[:, i], values[:, i], i + 1)
                for i in range(positions.shape[1])
            ]
        return pd.concat(parts, axis=1)

    def _reason_columns(self, X: pd.DataFrame, pos: np.ndarray, contrib: np.ndarray, rank: int):
        # sentences and values repeat: format each distinct value once, then gather
        n = len(X)
        names = list(self.feature_names_in_)
        text_codes = np.full(n, -1, dtype=np.int64)
        value_codes = np.full(n, -1, dtype=np.int64)
        texts: list[str] = []
        values: list[str] = []
        as_of = X["as_of"].to_numpy()
        for f in np.unique(pos[pos >= 0]).tolist():
            rows = np.flatnonzero(pos == f)
            codes, uniques = factorize(X[names[f]].iloc[rows])
            if names[f] in self.declared_:
                words = Declared(**self.declared_[names[f]]).words
                sentence_codes, sentence_text = codes, [words(u) for u in uniques]
            else:
                sentence_codes, sentence_text = coded_sentences(
                    names[f], codes, uniques, as_of[rows]
                )
            text_codes[rows] = sentence_codes + len(texts)
            texts += sentence_text
            value_codes[rows] = codes + len(values)
            values += [_show(u) for u in uniques]
        return pd.DataFrame(
            {
                f"reason_{rank}": _text(text_codes, texts),
                f"reason_{rank}_feature": pd.Categorical.from_codes(pos, categories=names),
                f"reason_{rank}_value": _text(value_codes, values),
                f"reason_{rank}_contribution": np.where(pos >= 0, contrib, np.nan),
            },
            index=X.index,
        )

    # -- global explanations -------------------------------------------------------
    def importance(self, X: pd.DataFrame) -> pd.DataFrame:
        """Mean |SHAP| per feature over ``X``, largest first, with the catalogue meaning.

        The exact SHAP values go through the shap package's ``Explanation``.

        Example
        -------
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

        Returns the matplotlib Figure.
        """
        import matplotlib.pyplot as plt
        import shap

        X = _with_keys(X)
        phi = self.contributions(X)
        shown = X[list(self.feature_names_in_)].copy()
        for name in self.categories_:
            shown[name] = shown[name].cat.codes.astype(float).where(shown[name].notna())
        fig = plt.figure()
        shap.summary_plot(
            phi.drop(columns="base_value").to_numpy(),
            shown.astype(float),
            max_display=max_display,
            show=False,
            rng=np.random.default_rng(self.random_state),  # the jitter repeats too
        )
        return fig

    # -- recourse ------------------------------------------------------------------
    def recourse(self, row: pd.DataFrame | pd.Series) -> pd.DataFrame:
        """What the entity can do to reach a lower tier: see :func:`creditrisk.model.recourse`."""
        from creditrisk.model.recourse import recourse

        return recourse(self, row)

    # -- input checks --------------------------------------------------------------
    def _check_fitted(self) -> None:
        check_is_fitted(
            self,
            "booster_",
            msg="This %(name)s is not fitted yet: call fit, or RiskModel.load.",
        )

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

    def sentence(self, feature: str, value, as_of=None) -> str:
        """How a value of one of the model's features reads in a reason.

        Parameters
        ----------
        feature : str
            A feature of the model (built-in or declared).
        value : object
            Its value for one entity.
        as_of : date-like, optional
            The as-of date (some sentences name the report year it implies).

        Returns
        -------
        str
            The sentence.

        Examples
        --------
        >>> import creditrisk as cr
        >>> cr.RiskModel.load(cr.sample_model_path()).sentence("times_listed", 2)
        'Listed 2 times'
        """
        if feature in getattr(self, "declared_", {}):
            return Declared(**self.declared_[feature]).words(value)
        return _sentence(feature, value, None if as_of is None else pd.Timestamp(as_of))

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
        """A model from its text and metadata (see :meth:`_parts`), e.g. on a Spark worker."""
        if meta.get("format_version") != FORMAT_VERSION:
            raise ModelError(
                f"model format {meta.get('format_version')}: this creditrisk reads format "
                f"{FORMAT_VERSION}"
            )
        if meta["files"]["model.txt"] != _sha256(model_text.encode()):
            raise ModelError("model.txt does not match the SHA-256 in metadata.json")
        params = {k: v for k, v in meta["params"].items() if k in cls._get_param_names()}
        policy = Policy.from_dict(meta["policy"])
        model = cls(**(params | {"policy": policy}))
        model.policy_ = policy
        model.booster_ = lgb.Booster(model_str=model_text)
        model.n_trees_ = model.booster_.num_trees()
        model.feature_names_in_ = np.array(meta["features"], dtype=object)
        model.n_features_in_ = len(model.feature_names_in_)
        model.categories_ = {k: list(v) for k, v in meta["categories"].items()}
        model.declared_ = {d["name"]: d for d in meta.get("declared", [])}
        model.inapplicable_overrides_ = list(meta.get("inapplicable_overrides", []))
        model.classes_ = np.array([0, 1])
        model.calibration_ = meta["calibration"]
        model.cutoffs_ = tuple(meta["cutoffs"])
        model.training_ = meta["training"]
        model.slices_ = meta["slices"]
        model.validation_ = meta["validation"]
        model.metadata_ = meta
        model._explainer = None
        return model

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write the model as a directory: ``model.txt`` (LightGBM text) and
        ``metadata.json`` (features, categories, constraints, calibration, cut-offs,
        policy, versions, training fingerprint, file hashes). No pickle.

        The directory appears complete or not at all.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
        model_text, meta = self._parts()
        meta_text = json.dumps(_jsonable(meta), indent=2, sort_keys=False)
        with staging_dir(path) as staging:
            (staging / "model.txt").write_text(model_text, encoding="utf-8")
            (staging / "metadata.json").write_text(meta_text, encoding="utf-8")
            (staging / "CHECKSUMS").write_text(
                "".join(f"{_sha256((staging / f).read_bytes())}  {f}\n" for f in _FILES),
                encoding="utf-8",
            )
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                path.rename(old)
                staging.rename(path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                staging.rename(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> RiskModel:
        """Read a model directory written by :meth:`save`, refusing altered files.

        Example
        -------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> m.policy_.name, len(m.cutoffs_)
        ('national', 3)
        """
        path = Path(path)
        if not path.is_dir():
            raise ModelError(f"no model directory at {path}")
        for name in (*_FILES, "CHECKSUMS"):
            if not (path / name).is_file():
                raise ModelError(f"{path} is not a creditrisk model: {name} is missing")
        recorded = {}
        for line in (path / "CHECKSUMS").read_text(encoding="utf-8").splitlines():
            digest, _, name = line.partition("  ")
            recorded[name] = digest
        for name in _FILES:
            actual = _sha256((path / name).read_bytes())
            if recorded.get(name) != actual:
                raise ModelError(
                    f"{path / name} was altered since the model was saved (its SHA-256 "
                    f"{actual[:12]}... differs from the recorded {str(recorded.get(name))[:12]}...)"
                )
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        model_text = (path / "model.txt").read_text(encoding="utf-8")
        try:
            model = cls._from_parts(model_text, meta)
        except ModelError as exc:
            raise ModelError(f"{path}: {exc}") from None
        model.origin_ = {"source": str(path), "version": None}
        return model

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
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
        raise ModelError(f"expected a DataFrame of features, got {type(X).__name__}")
    if all(k in X.columns for k in KEYS):
        return X
    if all(k in (X.index.names or []) for k in KEYS):
        keys = X.index.to_frame(index=False)[list(KEYS)]
        keys.index = X.index
        return pd.concat([keys, X], axis=1)
    raise ModelError("the features need entity_id and as_of, as columns or as the index")


def _aligned(y, X: pd.DataFrame) -> pd.Series:
    """``y`` as a float Series on ``X``'s index: by label when it holds X's labels in
    another order, else by position (lengths must match)."""
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
    if values.ndim != 1 or len(values) != len(X):
        raise ValueError(
            f"y has {len(values)} labels for {len(X)} rows of X: pass one label per row "
            "(NaN where undefined), in X's order"
        )
    return pd.Series(pd.to_numeric(values, errors="raise"), index=X.index, dtype="float64")


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
    """Train, early-stopping and calibration masks, honest in time.

    The latest labelled date is split by entity into an early-stopping half and a
    calibration half; training uses the dates whose label windows end by then (as_of
    at least ``horizon`` days earlier). Dates in between are left out: their labels
    would share inspections with both sides, and early stopping would then reward
    memorising them. With no such earlier date, entities are split instead.
    """
    dates = np.sort(X.loc[labelled, "as_of"].unique())
    as_of = X["as_of"].to_numpy()
    salt = pd.util.hash_pandas_object(
        X["entity_id"].astype("str"), index=False, hash_key=f"{seed:016d}"
    )
    bucket = salt.to_numpy() % 10
    last = dates[-1]
    end = last - np.timedelta64(horizon, "D")
    if dates[0] <= end:
        train = labelled & (as_of <= end)
        stop = labelled & (as_of == last) & (bucket < 5)
        calib = labelled & (as_of == last) & (bucket >= 5)
        how = {
            "method": "time",
            "train": [str(pd.Timestamp(d).date()) for d in dates if d <= end],
            "left_out": [str(pd.Timestamp(d).date()) for d in dates if end < d < last],
            "stop": str(pd.Timestamp(last).date()),
            "calibration": str(pd.Timestamp(last).date()),
        }
    else:
        # no date early enough: a stable split of entities, by a salted hash of their id
        train = labelled & (bucket < 6)
        stop = labelled & (bucket >= 6) & (bucket < 8)
        calib = labelled & (bucket >= 8)
        how = {"method": "entities", "dates": [str(pd.Timestamp(d).date()) for d in dates]}
    for name, mask in (("train", train), ("stop", stop), ("calibration", calib)):
        how[f"{name}_rows"] = int(mask.sum())
        if not mask.any():
            raise ModelError(f"the {name} slice is empty: need more labelled rows or as-of dates")
    return train, stop, calib, how


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


def _text(codes: np.ndarray, labels: list[str]):
    """Codes into labels as a text column; code -1 gives an empty string.

    Plain text, not a categorical, so a row scored alone has the dtype it has in a
    batch, and chunks concatenate.
    """
    table = np.array([*labels, ""], dtype=object)
    return pd.array(table[np.where(codes < 0, len(labels), codes)], dtype="str")


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
