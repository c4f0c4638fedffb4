"""RiskModel and FeatureBuilder under scikit-learn's contracts (issue 14).

Model selection in time (GridSearchCV and cross_val_score over TemporalSplit, scored by
``RiskModel.score``), a Pipeline from the spine, how ``y`` goes with ``X``, plain feature
matrices, scikit-learn's own estimator checks (with the few that RiskModel fails on
purpose listed, each with its reason, and strict: a listed check that starts passing
fails the test), and ``summary_plot`` leaving pyplot as it was.

Expectations are recomputed here by hand (the splits, ``roc_auc_score``, a model fitted
directly), never taken from earlier runs.
"""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.datasets import make_blobs
from sklearn.exceptions import DataConversionWarning
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import shuffle
from sklearn.utils.estimator_checks import parametrize_with_checks

import creditrisk as cr

DATES = ["2021-07-01", "2022-07-01", "2023-07-01", "2024-07-01"]
#: small and quick. About 700 rows per date are labelled, so the first temporal split
#: trains on some 400 rows: with the default 200 rows per leaf its trees could hardly
#: split, and the candidates of a grid search would tie on a constant model.
SMALL = {"n_estimators": 40, "min_child_samples": 50, "num_threads": 1}


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spine(tables) -> pd.DataFrame:
    return cr.spine(tables, DATES)


@pytest.fixture(scope="module")
def X(tables, spine) -> pd.DataFrame:
    return cr.build_features(tables, spine)


@pytest.fixture(scope="module")
def y(tables, spine) -> pd.Series:
    labels = cr.build_labels(tables, spine, outcome="inspection_finding", horizon="365D")
    assert labels.isna().any() and set(labels.dropna().unique()) == {0.0, 1.0}
    return labels


@pytest.fixture(scope="module")
def cv() -> cr.temporal.TemporalSplit:
    return cr.temporal.TemporalSplit("365D")


@pytest.fixture(scope="module")
def by_hand(X, y, cv) -> dict[int, list[float]]:
    """max_depth -> RiskModel.score on every temporal split, fitted and scored by hand."""
    out = {}
    for depth in (2, 3):
        scores = []
        for train, test in cv.split(X):
            model = cr.RiskModel(**SMALL, max_depth=depth).fit(X.iloc[train], y.iloc[train])
            scores.append(model.score(X.iloc[test], y.iloc[test]))
        out[depth] = scores
    return out


@pytest.fixture(scope="module")
def matrix() -> tuple[np.ndarray, np.ndarray]:
    """A plain feature matrix and 0/1 labels a small model can learn (400 rows)."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(400, 4))
    labels = (features[:, 0] - features[:, 1] + rng.normal(scale=0.5, size=400) > 0).astype(int)
    return features, labels


def plain_model(**params) -> cr.RiskModel:
    return cr.RiskModel(**({"n_estimators": 30, "min_child_samples": 10} | params))


# -- model selection in time -----------------------------------------------------------
def test_grid_search_selects_by_risk_model_score(X, y, cv, by_hand) -> None:
    search = GridSearchCV(
        cr.RiskModel(**SMALL), {"max_depth": [2, 3]}, cv=cv, error_score="raise"
    ).fit(X, y)
    assert np.isfinite(search.best_score_)
    assert search.n_splits_ == cv.get_n_splits(X) == len(DATES) - 1
    results = search.cv_results_
    for i, depth in enumerate(results["param_max_depth"]):
        for k, score in enumerate(by_hand[depth]):
            assert results[f"split{k}_test_score"][i] == score, (depth, k)
        assert results["mean_test_score"][i] == pytest.approx(np.mean(by_hand[depth]), abs=1e-15)
    means = {depth: np.mean(scores) for depth, scores in by_hand.items()}
    assert means[2] != means[3]  # the candidates differ, so the choice means something
    best = max(means, key=means.get)
    assert search.best_params_ == {"max_depth": best}
    assert search.best_score_ == pytest.approx(means[best], abs=1e-15)


def test_risk_model_score_is_the_auc_of_the_labelled_rows(X, y, cv) -> None:
    """The score by hand above is ROC AUC, not accuracy: recomputed from predict_proba."""
    train, test = list(cv.split(X))[-1]
    model = cr.RiskModel(**SMALL).fit(X.iloc[train], y.iloc[train])
    X_test, y_test = X.iloc[test], y.iloc[test]
    known = y_test.notna().to_numpy()
    p = model.predict_proba(X_test)[:, 1]
    auc = roc_auc_score(y_test[known], p[known])
    assert model.score(X_test, y_test) == auc
    assert 0.6 < auc < 1.0
    assert auc != accuracy_score(y_test[known], model.predict(X_test)[known])


# -- a pipeline from the spine ---------------------------------------------------------
def test_pipeline_from_the_spine_equals_a_model_on_build_features(tables, spine, y) -> None:
    early = (spine["as_of"] < pd.Timestamp("2024-07-01")).to_numpy()
    spine_train, y_train = spine[early], y[early]
    spine_test, y_test = spine[~early], y[~early]
    pipe = Pipeline(
        [("features", cr.FeatureBuilder(tables)), ("model", cr.RiskModel(**SMALL))]
    ).fit(spine_train, y_train)

    auc = pipe.score(spine_test, y_test)
    p = pipe.predict_proba(spine_test)[:, 1]
    known = y_test.notna().to_numpy()
    assert np.isfinite(auc)
    assert auc == roc_auc_score(y_test[known], p[known])

    direct = cr.RiskModel(**SMALL).fit(cr.build_features(tables, spine_train), y_train)
    fitted = pipe.named_steps["model"]
    assert fitted.booster_.model_to_string() == direct.booster_.model_to_string()
    assert fitted.calibration_ == direct.calibration_
    assert fitted.cutoffs_ == direct.cutoffs_
    X_test = cr.build_features(tables, spine_test)
    np.testing.assert_array_equal(pipe.predict_proba(spine_test), direct.predict_proba(X_test))
    np.testing.assert_array_equal(pipe.predict(spine_test), direct.predict(X_test))
    np.testing.assert_array_equal(
        pipe.decision_function(spine_test), direct.decision_function(X_test)
    )


def test_cross_val_score_of_the_pipeline(tables, spine, y, cv, by_hand) -> None:
    pipe = Pipeline([("features", cr.FeatureBuilder(tables)), ("model", cr.RiskModel(**SMALL))])
    scores = cross_val_score(pipe, spine, y, cv=cv, error_score="raise")
    assert len(scores) == cv.get_n_splits(spine) == len(DATES) - 1
    assert np.isfinite(scores).all()
    # the same models as RiskModel fitted on build_features: the same AUC on every split
    np.testing.assert_array_equal(scores, by_hand[3])


# -- how y goes with X -----------------------------------------------------------------
@pytest.fixture(scope="module")
def train_xy(X, y) -> tuple[pd.DataFrame, pd.Series]:
    keep = (X["as_of"] >= pd.Timestamp("2023-07-01")).to_numpy()
    return X[keep], y[keep]


@pytest.fixture(scope="module")
def reference_fit(train_xy) -> cr.RiskModel:
    X, y = train_xy
    return cr.RiskModel(**SMALL).fit(X, y)


@pytest.mark.parametrize(
    "form",
    ["array", "list", "series with another index", "series with a range index", "column vector"],
)
def test_y_goes_with_x_by_position(train_xy, reference_fit, form) -> None:
    X, y = train_xy
    assert not X.index.equals(pd.RangeIndex(len(X)))  # a subset: labels are not positions
    values = y.to_numpy()
    other = {
        "array": values,
        "list": values.tolist(),
        "series with another index": pd.Series(values, index=np.arange(len(y)) + 10**7),
        "series with a range index": y.reset_index(drop=True),
        "column vector": values.reshape(-1, 1),
    }[form]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataConversionWarning)
        fitted = cr.RiskModel(**SMALL).fit(X, other)
        score = fitted.score(X, other)
    converted = [w for w in caught if issubclass(w.category, DataConversionWarning)]
    assert len(converted) == (2 if form == "column vector" else 0)  # fit and score warn
    assert fitted.booster_.model_to_string() == reference_fit.booster_.model_to_string()
    assert fitted.training_ == reference_fit.training_
    assert score == reference_fit.score(X, y)


def test_y_indexed_like_x_in_another_order_is_matched_by_label(train_xy, reference_fit) -> None:
    X, y = train_xy
    shuffled = y.sample(frac=1.0, random_state=3)
    assert not shuffled.index.equals(y.index)
    assert not np.array_equal(shuffled.to_numpy(), y.to_numpy(), equal_nan=True)
    fitted = cr.RiskModel(**SMALL).fit(X, shuffled)
    assert fitted.booster_.model_to_string() == reference_fit.booster_.model_to_string()
    assert fitted.training_["fingerprint"] == reference_fit.training_["fingerprint"]
    assert reference_fit.score(X, shuffled) == reference_fit.score(X, y)
    # by position, the same values would be other labels: a different model
    by_position = cr.RiskModel(**SMALL).fit(X, shuffled.to_numpy())
    assert by_position.training_["fingerprint"] != reference_fit.training_["fingerprint"]


@pytest.mark.parametrize("method", ["fit", "score"])
def test_y_of_another_length_names_both_lengths(train_xy, reference_fit, method) -> None:
    X, y = train_xy
    target = reference_fit if method == "score" else cr.RiskModel(**SMALL)
    with pytest.raises(ValueError, match=rf"y has {len(y) - 1} labels for {len(X)} rows of X"):
        getattr(target, method)(X, y.iloc[:-1])


def test_y_none_is_refused(train_xy) -> None:
    X, _ = train_xy
    with pytest.raises(ValueError, match="requires y to be passed"):
        cr.RiskModel(**SMALL).fit(X, None)


def test_undefined_or_one_class_labels(train_xy, reference_fit) -> None:
    X, y = train_xy
    nothing = pd.Series(np.nan, index=y.index)
    with pytest.raises(cr.ModelError, match=rf"no labelled rows: all {len(y)} labels are NaN"):
        cr.RiskModel(**SMALL).fit(X, nothing)
    ones = y.where(y.isna(), 1.0)
    with pytest.raises(cr.ModelError, match=r"one class only \(all 1\)"):
        cr.RiskModel(**SMALL).fit(X, ones)
    # score: documented NaN when the labelled rows hold one class, or none
    assert np.isnan(reference_fit.score(X, ones))
    assert np.isnan(reference_fit.score(X, nothing))
    assert np.isfinite(reference_fit.score(X, y))


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        (["one", "two"], r"labels must be 0/1 .*found \['one', 'two'\]"),
        ([-1, 1], r"labels must be 0/1 .*found \[-1\.0, 1\.0\]"),
        ([1, 2], r"labels must be 0/1 .*found \[1\.0, 2\.0\]"),
        ([0, 1, 2], "Only binary classification is supported"),
        ([0.25, 0.5], "Unknown label type: continuous"),
    ],
    ids=["text", "minus one and one", "one and two", "three classes", "continuous"],
)
def test_labels_other_than_zero_one_are_refused(matrix, labels, words) -> None:
    X, _ = matrix
    y = np.resize(np.array(labels, dtype=object), len(X))
    with pytest.raises(ValueError, match=words):
        plain_model().fit(X, y)


# -- a plain feature matrix ------------------------------------------------------------
def test_plain_matrix_fits_predicts_and_scores(matrix) -> None:
    X, y = matrix
    model = plain_model().fit(X, y)
    assert list(model.feature_names_in_) == ["x0", "x1", "x2", "x3"]
    assert model.n_features_in_ == 4
    assert model.slices_["method"] == "entities" and model.slices_["dates"] == []
    assert model.training_["as_of"] == []
    rows = model.slices_["train_rows"] + model.slices_["stop_rows"]
    assert rows + model.slices_["calibration_rows"] == len(X)
    p = model.predict_proba(X)
    assert p.shape == (len(X), 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X), (p[:, 1] >= 0.5).astype(int))
    assert accuracy_score(y, model.predict(X)) > 0.8
    assert model.score(X, y) == roc_auc_score(y, p[:, 1]) > 0.85
    phi = model.contributions(X)
    np.testing.assert_allclose(
        phi.sum(axis=1).to_numpy(), model.decision_function(X), rtol=0, atol=1e-9
    )
    # the same seed and rows: the same model, bit for bit
    again = plain_model().fit(X, y)
    assert again.booster_.model_to_string() == model.booster_.model_to_string()


def test_plain_matrix_forms_agree(matrix) -> None:
    """An array, a list of rows, a DataFrame with numbered or named columns, any dtype."""
    X, y = matrix
    reference = plain_model().fit(X, y)
    p = reference.predict_proba(X)
    numbered = pd.DataFrame(X)  # columns 0..3: not names, so read by position
    for form in (X.tolist(), numbered):
        model = plain_model().fit(form, y)
        assert model.booster_.model_to_string() == reference.booster_.model_to_string()
        np.testing.assert_array_equal(model.predict_proba(form), p)
    named = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    by_name = plain_model().fit(named, y)
    assert list(by_name.feature_names_in_) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(by_name.predict_proba(named), p)
    # found by name: other column order, extra columns
    shuffled = named[["d", "b", "a", "c"]].assign(note="x")
    np.testing.assert_array_equal(by_name.predict_proba(shuffled), p)
    for dtype in (np.float32, np.int64, np.int32):
        rounded = (3 * X).astype(dtype)
        fitted = plain_model().fit(rounded, y)
        assert fitted.predict_proba(rounded).shape == (len(X), 2)
        np.testing.assert_array_equal(
            fitted.predict_proba(rounded),
            plain_model().fit(rounded.astype(np.float64), y).predict_proba(rounded),
        )


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function", "score"])
def test_plain_matrix_of_another_width_is_refused(matrix, method) -> None:
    X, y = matrix
    model = plain_model().fit(X, y)
    call = getattr(model, method)
    args = (y,) if method == "score" else ()
    with pytest.raises(ValueError, match="X has 1 features, but RiskModel is expecting 4 features"):
        call(X[:, [1]], *args)
    with pytest.raises(ValueError, match="Reshape your data"):
        call(X[0], *args)  # one row as a 1-D array


def test_plain_matrix_of_one_feature(matrix) -> None:
    X, y = matrix
    model = plain_model().fit(X[:, [0]], y)
    assert model.n_features_in_ == 1
    assert model.score(X[:, [0]], y) > 0.75


def test_keyless_features_predict_but_classify_needs_the_keys(X, y) -> None:
    keyed = X[X["as_of"] == pd.Timestamp("2024-07-01")]
    labels = y[keyed.index]
    features = keyed.drop(columns=["entity_id", "as_of"])
    model = cr.RiskModel(**SMALL).fit(features, labels)
    assert model.slices_["method"] == "entities"
    assert list(model.feature_names_in_) == list(features.columns)
    assert model.categories_["region"] == [str(c) for c in keyed["region"].cat.categories]
    np.testing.assert_array_equal(model.predict_proba(features), model.predict_proba(keyed))
    assert 0.5 < model.score(features, labels) < 1.0
    with pytest.raises(cr.ModelError, match="entity_id and as_of"):
        model.classify(features)
    with pytest.raises(cr.ModelError, match="entity_id and as_of"):
        model.classify(features.to_numpy())
    tiers = model.classify(keyed.head(5))
    assert list(tiers["entity_id"]) == list(keyed["entity_id"].head(5))


def test_sparse_and_complex_input_are_refused(matrix) -> None:
    from scipy import sparse

    X, y = matrix
    with pytest.raises(TypeError, match="sparse"):
        plain_model().fit(sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        plain_model().fit(X + 1j, y)


def test_decision_function_is_before_calibration() -> None:
    """Why check_classifiers_train is expected to fail: predict is the calibrated
    probability against one half, decision_function the raw score before it."""
    X, y = make_blobs(n_samples=300, random_state=0)  # the check's data, made as it makes it
    X, y = shuffle(X, y, random_state=7)
    X = StandardScaler().fit_transform(X)
    keep = y != 2
    X, y = X[keep], y[keep]
    model = plain_model(min_child_samples=5, n_estimators=20).fit(X, y)
    raw = model.decision_function(X)
    a, b = model.calibration_["slope"], model.calibration_["intercept"]
    assert a > 0
    np.testing.assert_array_equal(model.predict(X), (1 / (1 + np.exp(-(a * raw + b))) >= 0.5))
    assert accuracy_score(y, model.predict(X)) > 0.83  # what the check asks, besides the sign
    # ranked alike, yet the raw sign disagrees with predict here (the check's complaint)
    p = model.predict_proba(X)[:, 1]
    assert (np.diff(p[np.argsort(raw, kind="stable")]) >= 0).all()
    assert ((raw > 0).astype(int) != model.predict(X)).any()


# -- scikit-learn's estimator checks ---------------------------------------------------
#: the checks RiskModel fails on purpose, and why. xfail strict: a listed check that
#: starts passing fails, so the list cannot silently rot; an unlisted failure fails too.
#: What each listed check would also have tested is covered above on data RiskModel takes.
EXPECTED_FAILED_CHECKS = {
    "check_classifiers_train": (
        "decision_function is the booster's raw log-odds before calibration (what the "
        "SHAP values add up to) while predict compares the calibrated probability with "
        "one half, so 'decision_function > 0' need not agree with predict; the rest of "
        "the check is test_decision_function_is_before_calibration"
    ),
    "check_estimators_dtypes": (
        "its labels are 1 and 2: RiskModel takes 0/1 labels (a finding or not) and refuses "
        "others rather than guess which class is the finding; the dtypes themselves are "
        "test_plain_matrix_forms_agree"
    ),
    "check_classifiers_classes": (
        "its labels are text ('one', 'two') and -1/1: RiskModel takes 0/1 labels only "
        "(test_labels_other_than_zero_one_are_refused)"
    ),
    "check_classifier_data_not_an_array": (
        "its labels are 1 and 2, on 12 rows: RiskModel takes 0/1 labels and at least 20 "
        "labelled rows; lists and DataFrames are test_plain_matrix_forms_agree"
    ),
    "check_n_features_in_after_fitting": (
        "it fits 15 rows: RiskModel refuses fewer than 20 labelled rows, too few to give "
        "rows to training, early stopping and calibration each; the width check is "
        "test_plain_matrix_of_another_width_is_refused"
    ),
    "check_fit2d_1feature": (
        "it fits 10 rows: RiskModel refuses fewer than 20 labelled rows; one feature is "
        "test_plain_matrix_of_one_feature"
    ),
}
#: not run: scikit-learn skips it unless SCIPY_ARRAY_API=1 is set before SciPy is first
#: imported, which a test module cannot arrange; RiskModel reads any array through NumPy.
NOT_RUN = {"check_array_api_input"}


def _expected_failed_checks(estimator) -> dict[str, str]:
    return EXPECTED_FAILED_CHECKS


#: min_child_samples=5: the checks fit 10 to 300 rows, and the default of 200 rows per
#: leaf would allow no split at all: every model a constant, and checks such as
#: check_decision_proba_consistency or check_methods_subset_invariance would pass
#: without testing anything. n_estimators=20 keeps them quick.
_CHECKS = parametrize_with_checks(
    [cr.RiskModel(n_estimators=20, min_child_samples=5, num_threads=1)],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)


def _check_name(param) -> str:
    check = param.values[1] if hasattr(param, "values") else param[1]
    return getattr(check, "func", check).__name__


_ARGNAMES, _ARGVALUES = _CHECKS.args
_RUN = [p for p in _ARGVALUES if _check_name(p) not in NOT_RUN]


def test_the_expected_failures_are_checks_that_run() -> None:
    names = {_check_name(p) for p in _RUN}
    assert set(EXPECTED_FAILED_CHECKS) <= names
    assert NOT_RUN.isdisjoint(names) and len(_ARGVALUES) - len(_RUN) == len(NOT_RUN)
    assert all(len(reason) > 40 for reason in EXPECTED_FAILED_CHECKS.values())


@pytest.mark.parametrize(_ARGNAMES, _RUN, **_CHECKS.kwargs)
def test_scikit_learn_estimator_checks(estimator, check) -> None:
    check(estimator)


# -- summary_plot ----------------------------------------------------------------------
def test_summary_plot_returns_a_figure_not_left_in_pyplot(model, X) -> None:
    rows = X[X["as_of"] == pd.Timestamp("2024-07-01")].head(500)
    mine = plt.figure()  # a figure of the caller's, current before the call
    try:
        before = plt.get_fignums()
        fig = model.summary_plot(rows, max_display=5)
        assert isinstance(fig, Figure)
        assert plt.get_fignums() == before
        assert plt.gcf() is mine
        labels = {t.get_text() for ax in fig.axes for t in ax.get_yticklabels()}
        assert set(model.importance(rows).index[:5]) <= labels
        png = io.BytesIO()
        fig.savefig(png, format="png")
        assert png.getvalue().startswith(b"\x89PNG") and len(png.getvalue()) > 5_000
    finally:
        plt.close(mine)
    assert plt.get_fignums() == [n for n in before if n != mine.number]
