"""Exact TreeSHAP by pattern: TreeContributions against LightGBM and shap, and top_reasons.

The reference for every contribution is LightGBM's own ``pred_contrib`` (and the shap
package's TreeExplainer), computed row by row on the full model; TreeContributions
must give the same numbers (1e-12) whatever the batch, for numeric, categorical and
missing values, shallow and deep trees.
"""

from __future__ import annotations

import copy
import pickle
import warnings

import lightgbm as lgb
import numpy as np
import pytest

import creditrisk as cr
from creditrisk.model.contributions import TreeContributions, top_reasons

ATOL = 1e-12


def train(X, y, rounds: int = 40, categorical=None, **params) -> lgb.Booster:
    base = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 0}
    data = lgb.Dataset(X, y, categorical_feature=categorical or "auto", free_raw_data=False)
    return lgb.train(base | params, data, num_boost_round=rounds)


def split_nodes(booster: lgb.Booster) -> list[dict]:
    out = []
    for info in booster.dump_model()["tree_info"]:
        stack = [info["tree_structure"]]
        while stack:
            node = stack.pop()
            if "split_index" in node:
                out.append(node)
                stack += [node["left_child"], node["right_child"]]
    return out


def assert_matches_lightgbm(booster: lgb.Booster, X: np.ndarray) -> np.ndarray:
    phi = TreeContributions(booster).contributions(X)
    reference = booster.predict(X, pred_contrib=True, num_threads=1)
    assert phi.shape == reference.shape == (len(X), X.shape[1] + 1)
    np.testing.assert_allclose(phi, reference, rtol=0, atol=ATOL)
    return phi


# -- models ----------------------------------------------------------------------------
@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator per test: each test's data does not depend on the others."""
    return np.random.default_rng(20240701)


@pytest.fixture(scope="module")
def clean_model() -> lgb.Booster:
    """Trained without missing values: NaN at prediction time is read as 0."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 5))
    y = ((X[:, 0] + X[:, 1] ** 2 - 0.5 * X[:, 2] + rng.normal(size=3000)) > 0.8).astype(int)
    return train(X, y, rounds=50, max_depth=4, num_leaves=15)


@pytest.fixture(scope="module")
def missing_model() -> lgb.Booster:
    """Trained with NaN carrying signal in both directions: NaN-aware splits."""
    rng = np.random.default_rng(2)
    n = 4000
    X = rng.normal(size=(n, 6))
    X[rng.random((n, 6)) < 0.15] = np.nan
    signal = np.nan_to_num(X[:, 0]) + 1.5 * np.isnan(X[:, 1]) - 1.5 * np.isnan(X[:, 2])
    y = (signal + rng.normal(size=n) > 0).astype(int)
    return train(X, y, rounds=40, max_depth=3, num_leaves=8)


@pytest.fixture(scope="module")
def categorical_model() -> lgb.Booster:
    rng = np.random.default_rng(3)
    n = 4000
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 12, size=n).astype(float),  # many categories: set splits
            rng.normal(size=n),
            rng.integers(0, 3, size=n).astype(float),  # few categories: one-hot splits
        ]
    )
    X[rng.random(n) < 0.1, 1] = np.nan
    y = (X[:, 0] + np.isin(X[:, 1], [0, 3, 5, 7]) - (X[:, 3] == 1) + rng.normal(size=n)) > 0.5
    return train(
        X,
        y.astype(int),
        rounds=40,
        categorical=[1, 3],
        max_depth=3,
        num_leaves=8,
        min_data_per_group=10,
        cat_smooth=1,
    )


@pytest.fixture(scope="module")
def deep_model() -> lgb.Booster:
    rng = np.random.default_rng(4)
    n = 5000
    X = rng.normal(size=(n, 6))
    X[rng.random((n, 6)) < 0.1] = np.nan
    y = (np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 1]) + rng.normal(size=n) > 0).astype(int)
    return train(X, y, rounds=30, num_leaves=31, min_data_in_leaf=10)


def random_rows(rng, n: int, m: int, nan_share: float = 0.2) -> np.ndarray:
    X = rng.normal(size=(n, m))
    X[rng.random((n, m)) < nan_share] = np.nan
    return X


# -- equality with LightGBM's pred_contrib ---------------------------------------------
def test_random_numeric_matrix_with_nans(clean_model, rng) -> None:
    assert {n["missing_type"] for n in split_nodes(clean_model)} == {"None"}
    X = random_rows(rng, 3000, 5)
    X[:40, 0] = 0.0  # NaN is read as 0 by these splits: zeros and NaN side by side
    X[40:50] = np.inf
    X[50:60] = -np.inf
    assert_matches_lightgbm(clean_model, X)


def test_values_exactly_on_thresholds(clean_model, rng) -> None:
    """A value equal to a split threshold goes left (x <= threshold) in both."""
    thresholds = {}
    for node in split_nodes(clean_model):
        threshold = float(node["threshold"])
        if abs(threshold) > 1e-30:  # the +-1e-35 "zero" thresholds: see the test below
            thresholds.setdefault(node["split_feature"], []).append(threshold)
    X = random_rows(rng, 400, 5, nan_share=0.0)
    for f, values in thresholds.items():
        picks = rng.choice(values, size=len(X))
        nudge = rng.integers(-1, 2, size=len(X))  # the threshold or a neighbouring float
        X[:, f] = picks
        X[nudge < 0, f] = np.nextafter(picks[nudge < 0], -np.inf)
        X[nudge > 0, f] = np.nextafter(picks[nudge > 0], np.inf)
    assert_matches_lightgbm(clean_model, X)


def test_value_lightgbm_reads_as_zero_does_not_spoil_the_batch(rng) -> None:
    """LightGBM reads an input with |x| <= 1e-35 (its kZeroThreshold, a float32) as 0.

    Splits between negative values and zero get the threshold -1e-35 (as float32), so
    x = -1e-35 lies on the left side of the threshold for a plain ``x <= threshold``
    but goes right in LightGBM. A row holding it must get LightGBM's numbers, and
    must not change the numbers of the other rows scored with it.
    """
    n = 3000
    X = np.column_stack([rng.integers(-2, 3, size=n).astype(float), rng.normal(size=n)])
    y = ((X[:, 0] < 0) + rng.normal(size=n) > 0.5).astype(int)
    booster = train(X, y, rounds=10, max_depth=2)
    zero = float(np.float32(1e-35))
    assert any(float(n["threshold"]) == -zero for n in split_nodes(booster))
    rows = np.array([[-1.0, 0.3], [-zero, 0.3], [0.0, 0.3]])
    raw = booster.predict(rows, raw_score=True, num_threads=1)
    assert raw[1] == raw[2] != raw[0]  # LightGBM: -1e-35 is 0, and -1 is not
    alone = TreeContributions(booster).contributions(rows[:1])
    batch = TreeContributions(booster).contributions(rows)
    assert (batch[0] == alone[0]).all()  # the row x = -1 must not depend on its batch
    assert_matches_lightgbm(booster, rows)


def test_categorical_feature_with_nan_and_unseen_codes(categorical_model, rng) -> None:
    nodes = split_nodes(categorical_model)
    assert any(n["decision_type"] == "==" for n in nodes)
    assert any("||" in str(n["threshold"]) for n in nodes)  # a many-vs-many split
    X = np.column_stack(
        [
            rng.normal(size=1000),
            rng.integers(0, 12, size=1000).astype(float),
            rng.normal(size=1000),
            rng.integers(0, 3, size=1000).astype(float),
        ]
    )
    X[:50, 1] = np.nan
    X[50:100, 1] = 25.0  # a code never seen in training
    X[100:120, 1] = 1e6
    X[120:140, 1] = -1.0  # pandas' code for missing
    X[140:170, 3] = 7.0
    X[170:200, 3] = np.nan
    X[200:220, 0] = np.nan
    assert_matches_lightgbm(categorical_model, X)


def test_missing_type_nan_with_default_left_both_ways(missing_model, rng) -> None:
    nan_nodes = [n for n in split_nodes(missing_model) if n["missing_type"] == "NaN"]
    assert nan_nodes
    assert {bool(n["default_left"]) for n in nan_nodes} == {True, False}
    X = random_rows(rng, 3000, 6, nan_share=0.3)
    X[:20] = np.nan  # all missing
    assert_matches_lightgbm(missing_model, X)


def test_deeper_trees(deep_model, rng) -> None:
    assert max(len(split_nodes_of(t)) for t in deep_model.dump_model()["tree_info"]) > 15
    assert_matches_lightgbm(deep_model, random_rows(rng, 2000, 6, nan_share=0.1))


def split_nodes_of(info: dict) -> list[dict]:
    out, stack = [], [info["tree_structure"]]
    while stack:
        node = stack.pop()
        if "split_index" in node:
            out.append(node)
            stack += [node["left_child"], node["right_child"]]
    return out


def test_regression_model(rng) -> None:
    X = random_rows(rng, 2000, 4, nan_share=0.1)
    y = np.nan_to_num(X[:, 0]) * 2 + rng.normal(size=2000)
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_threads": 1, "max_depth": 3},
        lgb.Dataset(X, y),
        num_boost_round=20,
    )
    assert_matches_lightgbm(booster, random_rows(rng, 500, 4))


def test_single_leaf_model(rng) -> None:
    X = rng.normal(size=(500, 3))
    y = (rng.random(500) < 0.3).astype(int)
    booster = train(X, y, rounds=5, min_gain_to_split=1e9)
    phi = assert_matches_lightgbm(booster, X)
    assert (phi[:, :-1] == 0).all()


def test_many_chunks_and_threads_give_the_same_numbers(missing_model, rng) -> None:
    X = random_rows(rng, 70_000, 6, nan_share=0.15)  # more than one 32,768-row chunk
    threaded = TreeContributions(missing_model, num_threads=2).contributions(X)
    single = TreeContributions(missing_model, num_threads=1).contributions(X)
    assert (threaded == single).all()
    rows = rng.choice(len(X), size=3000, replace=False)
    reference = missing_model.predict(X[rows], pred_contrib=True, num_threads=1)
    np.testing.assert_allclose(threaded[rows], reference, rtol=0, atol=ATOL)


# -- the same numbers whatever the batch -----------------------------------------------
@pytest.mark.parametrize("which", ["missing_model", "categorical_model", "deep_model"])
def test_row_alone_equals_row_in_batch_and_shuffled_batch(which, request, rng) -> None:
    booster = request.getfixturevalue(which)
    m = booster.num_feature()
    X = random_rows(rng, 600, m, nan_share=0.15)
    if which == "categorical_model":
        X[:, 1] = np.where(np.isnan(X[:, 1]), np.nan, rng.integers(0, 14, size=len(X)))
        X[:, 3] = rng.integers(0, 3, size=len(X)).astype(float)
    batch = TreeContributions(booster).contributions(X)
    order = rng.permutation(len(X))
    shuffled = TreeContributions(booster).contributions(X[order])
    assert (shuffled == batch[order]).all()
    for i in rng.choice(len(X), size=25, replace=False):
        alone = TreeContributions(booster).contributions(X[i : i + 1])  # fresh: no cache
        assert (alone[0] == batch[i]).all(), i
    # and with a warm cache
    explainer = TreeContributions(booster)
    explainer.contributions(X[order])
    assert (explainer.contributions(X[:7]) == batch[:7]).all()


def test_contributions_sum_to_the_raw_score(missing_model, categorical_model, rng) -> None:
    X = random_rows(rng, 2000, 6)
    phi = TreeContributions(missing_model).contributions(X)
    raw = missing_model.predict(X, raw_score=True, num_threads=1)
    np.testing.assert_allclose(phi.sum(axis=1), raw, rtol=0, atol=1e-10)
    # the last column is the expected value: the same for every row
    assert np.ptp(phi[:, -1]) == 0
    Xc = random_rows(rng, 500, 4, nan_share=0.0)
    Xc[:, 1] = rng.integers(0, 15, size=500)
    Xc[:, 3] = rng.integers(0, 3, size=500)
    phic = TreeContributions(categorical_model).contributions(Xc)
    rawc = categorical_model.predict(Xc, raw_score=True, num_threads=1)
    np.testing.assert_allclose(phic.sum(axis=1), rawc, rtol=0, atol=1e-10)


@pytest.mark.parametrize("which", ["clean_model", "missing_model", "deep_model"])
def test_agrees_with_shap_tree_explainer(which, request, rng) -> None:
    import shap

    booster = request.getfixturevalue(which)
    X = random_rows(rng, 800, booster.num_feature(), nan_share=0.15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = shap.TreeExplainer(booster)
        values = explainer.shap_values(X)
    if isinstance(values, list):  # older shap: one array per class
        values = values[-1]
    values = np.asarray(values)
    phi = TreeContributions(booster).contributions(X)
    assert values.shape == (len(X), booster.num_feature())
    np.testing.assert_allclose(phi[:, :-1], values, rtol=0, atol=1e-10)
    expected = np.ravel(explainer.expected_value)[-1]
    assert phi[0, -1] == pytest.approx(expected, abs=1e-10)


# -- the cache and the edges -----------------------------------------------------------
def test_cached_patterns_are_reused(missing_model, rng) -> None:
    explainer = TreeContributions(missing_model)
    assert explainer.n_trees == missing_model.num_trees()
    assert (explainer.patterns == 0).all()
    X = random_rows(rng, 500, 6)
    first = explainer.contributions(X)
    after = explainer.patterns.copy()
    assert (after >= 1).all()
    assert (after <= len(X)).all()
    again = explainer.contributions(X)
    assert (explainer.patterns == after).all()  # nothing new to compute
    assert (again == first).all()


def test_pickle_and_copy_keep_the_numbers(missing_model, rng) -> None:
    X = random_rows(rng, 300, 6)
    explainer = TreeContributions(missing_model)
    expected = explainer.contributions(X)
    for clone in (pickle.loads(pickle.dumps(explainer)), copy.deepcopy(explainer)):
        assert (clone.contributions(X) == expected).all()


def test_wrong_shape_is_refused(missing_model) -> None:
    explainer = TreeContributions(missing_model)
    with pytest.raises(ValueError, match="6"):
        explainer.contributions(np.zeros((3, 5)))
    with pytest.raises(ValueError):
        explainer.contributions(np.zeros(6))


def test_multiclass_is_refused(rng) -> None:
    X = rng.normal(size=(300, 3))
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "verbose": -1, "num_threads": 1},
        lgb.Dataset(X, rng.integers(0, 3, size=300)),
        num_boost_round=2,
    )
    with pytest.raises(ValueError, match="binary"):
        TreeContributions(booster)


def test_zero_as_missing_is_refused(rng) -> None:
    X = np.column_stack([rng.normal(size=500), rng.integers(0, 3, size=500)])
    y = (X[:, 1] + rng.normal(size=500) > 1).astype(int)
    booster = train(X, y, rounds=5, zero_as_missing=True, max_depth=2)
    with pytest.raises(ValueError, match="zero_as_missing"):
        TreeContributions(booster)


def test_public_path() -> None:
    assert cr.model.contributions.TreeContributions is TreeContributions
    assert cr.model.contributions.top_reasons is top_reasons


# -- top_reasons -----------------------------------------------------------------------
def test_top_reasons_by_hand() -> None:
    phi = np.array(
        [
            [0.5, -1.0, 0.7, 0.0],  # two positive: 2 then 0, then none
            [0.1, 0.2, 0.3, 0.4],  # all positive: 3, 2, 1
            [-0.1, -0.2, 0.0, -0.3],  # none positive
            [0.2, 0.9, 0.2, 0.2],  # ties at 0.2: lowest positions first
        ]
    )
    positions, values = top_reasons(phi, k=3)
    assert positions.tolist() == [[2, 0, -1], [3, 2, 1], [-1, -1, -1], [1, 0, 2]]
    assert values.tolist() == [[0.7, 0.5, 0.0], [0.4, 0.3, 0.2], [0.0, 0.0, 0.0], [0.9, 0.2, 0.2]]
    assert positions.dtype.kind == "i"


def test_top_reasons_k_larger_than_features() -> None:
    positions, values = top_reasons(np.array([[0.3, 0.1]]), k=5)
    assert positions.tolist() == [[0, 1]]
    assert values.tolist() == [[0.3, 0.1]]


def test_top_reasons_rounding_noise_is_a_tie() -> None:
    """Values equal to 10 decimals tie; the lower position wins; values stay unrounded."""
    a = 0.3
    b = 0.3 + 1e-13  # larger in the last bits only
    positions, values = top_reasons(np.array([[a, b, 1e-12, 0.25]]), k=4)
    assert positions.tolist() == [[0, 1, 3, -1]]  # 1e-12 rounds to 0: not a reason
    assert values[0, 0] == a and values[0, 1] == b


def test_top_reasons_against_a_plain_sort(rng) -> None:
    phi = np.round(rng.normal(size=(400, 9)), 1)  # coarse values: many ties, some zeros
    for k in (1, 3, 9):
        positions, values = top_reasons(phi, k=k)
        assert positions.shape == values.shape == (400, k)
        for row, pos, val in zip(phi, positions, values, strict=True):
            ranked = sorted(range(len(row)), key=lambda j, r=row: (-r[j], j))
            wanted = [j for j in ranked if row[j] > 0][:k]
            wanted += [-1] * (k - len(wanted))
            assert pos.tolist() == wanted
            assert val.tolist() == [row[j] if j >= 0 else 0.0 for j in wanted]
