"""Issue 16: out-of-time training that keeps the data, nuisance effects, context apart,
baselines beside every model.

Each check recomputes what the model claims with plain LightGBM, scikit-learn or pandas:
the folds' mean AUC curve that chose the number of trees, the calibration fitted on the
out-of-fold predictions, the final model trained on every labelled row; the inspectors'
effects against the synthetic world's true strictness; reasons that never name context;
tiers without context when the policy says so; the baselines recomputed by hand.
"""

from __future__ import annotations

import dataclasses
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import creditrisk as cr
from creditrisk.features.labels import label_nuisance
from creditrisk.model.evaluation import baseline_scores, baseline_table, soft_auc
from creditrisk.model.folds import PlanError, rolling_folds
from creditrisk.model.nuisance import fit_effects

SMALL = {"n_estimators": 60, "num_threads": 1, "min_child_samples": 50}
DATES = ["2021-01-01", "2021-07-01", "2022-01-01", "2022-07-01", "2023-01-01"]


@pytest.fixture(scope="module")
def sample():
    return cr.load_sample()


@pytest.fixture(scope="module")
def data(sample):
    spine = cr.spine(sample, DATES)
    return cr.build_features(sample, spine), cr.build_labels(sample, spine), spine


@pytest.fixture(scope="module")
def fitted(data):
    X, y, _ = data
    return cr.RiskModel(**SMALL).fit(X, y)


# -- the plan ------------------------------------------------------------------------
def test_rolling_folds_train_only_on_dates_a_horizon_earlier() -> None:
    days = pd.to_datetime(np.repeat(DATES, 3)).to_numpy()
    folds = rolling_folds(days, np.ones(len(days), dtype=bool), horizon=365, n_folds=5)
    assert [f.valid_date for f in folds] == ["2022-01-01", "2022-07-01", "2023-01-01"]
    for f in folds:
        valid = pd.Timestamp(f.valid_date)
        assert all(pd.Timestamp(d) + pd.Timedelta(days=365) <= valid for d in f.train_dates)
        assert not (f.train & f.valid).any()
    assert len(rolling_folds(days, np.ones(len(days), dtype=bool), 365, n_folds=2)) == 2
    assert rolling_folds(days[:3], np.ones(3, dtype=bool), 365) is None  # one date only
    with pytest.raises(PlanError, match="span 181 days"):
        rolling_folds(days[:6], np.ones(6, dtype=bool), horizon=365)


def test_trees_calibration_and_final_model_are_what_the_folds_say(fitted, data) -> None:
    X, y, _ = data
    model = fitted
    params = model._lgb_params()
    matrix = model._matrix(X)
    target = y.to_numpy(dtype=np.float64, na_value=np.nan)
    labelled = ~np.isnan(target)
    folds = rolling_folds(X["as_of"].to_numpy(), labelled, 365, model.n_folds)
    curves, oof = [], []
    for fold in folds:  # each fold by hand, with LightGBM alone
        record: dict = {}
        data_ = lgb.Dataset(
            matrix[fold.train],
            target[fold.train],
            feature_name=list(model.feature_names_in_),
            categorical_feature=model._categorical_positions(),
        )
        check = data_.create_valid(matrix[fold.valid], target[fold.valid])
        booster = lgb.train(
            params,
            data_,
            num_boost_round=model.n_estimators,
            valid_sets=[check],
            callbacks=[
                lgb.record_evaluation(record),
                lgb.early_stopping(model.early_stopping_rounds, verbose=False),
            ],
        )
        curve = np.asarray(record["valid_0"]["auc"])
        curves.append(np.pad(curve, (0, model.n_estimators - len(curve)), mode="edge"))
        oof.append((booster, fold))
    best = int(np.argmax(np.mean(curves, axis=0))) + 1
    assert model.n_trees_ == best
    raw = np.concatenate(
        [b.predict(matrix[f.valid], raw_score=True, num_iteration=best) for b, f in oof]
    )
    truth = np.concatenate([target[f.valid] for _, f in oof])
    lr = LogisticRegression(C=1e6, tol=1e-10, max_iter=1000).fit(raw.reshape(-1, 1), truth)
    assert model.calibration_["slope"] == pytest.approx(lr.coef_[0, 0], rel=1e-6)
    assert model.calibration_["intercept"] == pytest.approx(lr.intercept_[0], rel=1e-6)
    final = lgb.train(
        params,
        lgb.Dataset(
            matrix[labelled],
            target[labelled],
            feature_name=list(model.feature_names_in_),
            categorical_feature=model._categorical_positions(),
        ),
        num_boost_round=best,
    )  # every labelled date trains the final model, bit for bit
    np.testing.assert_array_equal(final.predict(matrix, raw_score=True), model.decision_function(X))


def test_the_same_data_and_seed_give_the_same_model(fitted, data) -> None:
    X, y, _ = data
    again = cr.RiskModel(**SMALL).fit(X, y)
    assert again.booster_.model_to_string() == fitted.booster_.model_to_string()
    assert again.calibration_ == fitted.calibration_


def test_three_years_of_history_train_out_of_time() -> None:
    world = cr.synth.generate(4_000, start="2018-01-01", end="2020-12-31", seed=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = cr.fit_model(world.tables, **SMALL)
    assert any("training from 2018-01-01" in str(w.message) for w in caught)
    assert result.model.slices_["method"] == "rolling"
    assert result.X_test["as_of"].iloc[0] == pd.Timestamp("2020-01-01")
    assert 0 <= result.metrics["auc"] <= 1


# -- nuisance ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return cr.synth.generate(12_000, start="2018-01-01", end="2023-12-31", seed=21)


def test_inspector_effects_follow_the_worlds_true_strictness(world) -> None:
    tables = world.tables
    spine = cr.spine(tables, ["2019-07-01", "2020-07-01", "2021-07-01", "2022-01-01"])
    X, y = cr.build_features(tables, spine), cr.build_labels(tables, spine)
    who = label_nuisance(tables, spine)
    assert (who["inspector_1"].notna() == y.notna()).all()
    model = cr.RiskModel(**SMALL).fit(X, y, nuisance=who)
    info = model.nuisance_
    assert info["columns"] == ["inspector_1", "inspector_2"]
    assert 0 < info["variance_share"] < 1 and info["tau"] > 0.1
    # the effects, re-estimated as the model did, track the inspectors' true strictness
    known = y.notna().to_numpy()
    raw = cr.RiskModel(**SMALL).fit(X, y).decision_function(X)[known]
    effects = fit_effects(raw, y[known].to_numpy(), [who[c].to_numpy()[known] for c in who])
    strict = world.truth.inspector_strictness
    shared = [i for i in strict.index if i in effects.effects]
    estimated = np.array([effects.effects[i] for i in shared])
    assert np.corrcoef(estimated, strict.loc[shared].to_numpy())[0, 1] > 0.5
    # scoring knows nothing of inspectors: nothing about them is a feature or a reason
    assert not set(who.columns) & set(model.feature_names_in_)
    card = cr.evaluation.model_card(model, X[~known][:500], y[~known][:500])
    assert "Nuisance: inspector_1, inspector_2" in card


def test_nuisance_rows_must_match(data) -> None:
    X, y, _ = data
    with pytest.raises(ValueError, match="nuisance has 3 rows"):
        cr.RiskModel(**SMALL).fit(X, y, nuisance=pd.DataFrame({"i": ["a", "b", "c"]}))


# -- context versus conduct ------------------------------------------------------------
def test_context_never_a_reason_and_its_sum_reported(fitted, data) -> None:
    X, _, _ = data
    latest = X[X["as_of"] == X["as_of"].max()]
    scores = fitted.classify(latest, top_k=len(fitted.feature_names_in_))
    context = [
        f for f, c in zip(fitted.feature_names_in_, fitted._context_mask(), strict=True) if c
    ]
    assert set(context) == {
        "age_years",
        "entity_type",
        "industry",
        "key_sector",
        "region",
        "registered_capital",
        "linked_enterprises",  # how many enterprises its people hold roles in: context
    }
    for i in range(1, len(fitted.feature_names_in_) + 1):
        assert not scores[f"reason_{i}_feature"].astype(str).isin(context).any()
    phi = fitted.contributions(latest)
    np.testing.assert_allclose(scores["context_contribution"], phi[context].sum(axis=1), atol=1e-12)
    raised = scores["context"] != ""
    assert (
        raised.any()
        and scores.loc[raised, "context"].str.endswith("higher base rate than average").all()
    )


def test_a_policy_can_keep_context_out_of_the_tiers(data) -> None:
    X, y, _ = data
    policy = dataclasses.replace(cr.Policy.load("national"), context_moves_tier=False)
    model = cr.RiskModel(policy=policy, **SMALL).fit(X, y)
    latest = X[X["as_of"] == X["as_of"].max()]
    scores = model.classify(latest, top_k=0)
    phi = model.contributions(latest).to_numpy()  # features, then the base value
    context = model._context_mask()
    conduct_raw = phi.sum(axis=1) - phi[:, :-1][:, context].sum(axis=1)
    tiered = model._calibrate(conduct_raw)
    expected = np.searchsorted(np.asarray(model.cutoffs_), tiered, side="right")
    # a cut-off is a probability of the training population: rows within rounding of one
    # may fall either side of it
    clear = np.abs(tiered[:, None] - np.asarray(model.cutoffs_)[None, :]).min(axis=1) > 1e-12
    got = scores["score_tier"].cat.codes.to_numpy()
    np.testing.assert_array_equal(got[clear], expected[clear])
    assert clear.mean() > 0.99
    # the probability stays the model's full estimate
    np.testing.assert_allclose(scores["probability"], model.predict_proba(latest)[:, 1])
    assert policy.to_dict()["tiers"]["context_moves_tier"] is False
    assert cr.Policy.from_dict(policy.to_dict()).context_moves_tier is False


def test_declared_features_say_their_role(sample) -> None:
    static = cr.features.declare("cls", "enterprises", "value", column="region")[0]
    assert static.role == "context" and static.feature.role == "context"
    count = cr.features.declare("n", "inspections")[0]
    assert count.role == "conduct"
    forced = cr.features.declare("n2", "inspections", role="context")[0]
    assert forced.to_dict()["role"] == "context"
    with pytest.raises(ValueError, match="role must be"):
        cr.features.declare("n3", "inspections", role="nuisance")


# -- baselines -------------------------------------------------------------------------
def test_baselines_are_what_they_say(data) -> None:
    X, y, _ = data
    old = (X["as_of"] < "2022-07-01").to_numpy()
    scores = baseline_scores(X[old], y[old], X[~old])
    known = y[old].notna().to_numpy()
    rate = float(y[old][known].mean())
    assert (scores["base rate"] == rate).all()
    last = (
        X["inspection_last_outcome"]
        .astype(str)
        .where(X["inspection_last_outcome"].notna(), "never inspected")
    )
    by_outcome = y[old][known].groupby(last[old][known].to_numpy()).mean()
    expected = last[~old].map(by_outcome).fillna(rate).to_numpy()
    np.testing.assert_allclose(scores["last inspection result"], expected)
    table = baseline_table(y[~old], scores["logistic regression on history counts"], scores)
    assert table.loc["model", "auc_gain"] == 0.0
    labelled = y[~old].notna().to_numpy()
    assert table.loc["last inspection result", "auc"] == pytest.approx(
        roc_auc_score(y[~old][labelled], expected[labelled])
    )


def test_fit_model_reports_baselines_beside_the_model(sample) -> None:
    result = cr.fit_model(sample, train_as_of=DATES[:3], test_as_of="2023-07-01", **SMALL)
    table = result.baselines
    assert list(table.index) == ["model", *cr.evaluation.BASELINES]
    assert table.loc["model", "auc"] == pytest.approx(result.metrics["auc"])
    assert "## Baselines" in result.card and "best baseline" in result.card


def test_train_refuses_to_promote_a_model_that_does_not_beat_the_baselines(
    sample, tmp_path
) -> None:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    config = cr.TrainConfig(
        train_as_of=tuple(DATES[:3]),
        test_as_of="2023-07-01",
        model=SMALL,
        baseline_margin=0.5,  # no model beats its baselines by half an AUC
    )
    with pytest.warns(UserWarning, match="does not beat the best baseline"):
        run = cr.train(sample, config, tracking_uri=uri)
    assert not run.promoted
    assert run.comparison["beats_baselines"] is False
    assert run.comparison["decision"].startswith("does not beat the best baseline")
    import mlflow

    logged = mlflow.MlflowClient(uri).get_run(run.run_id).data.metrics
    assert "baseline_logistic_regression_on_history_counts_auc" in logged
    fair = cr.train(sample, dataclasses.replace(config, baseline_margin=0.0), tracking_uri=uri)
    assert fair.comparison["beats_baselines"] == (fair.comparison["baseline_gain"] > 0)


# -- the yardstick -----------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 0.99), st.integers(0, 5)), min_size=2, max_size=12))
def test_soft_auc_is_the_expected_auc_over_pairs(pairs) -> None:
    p = np.array([a for a, _ in pairs])
    s = np.array([b for _, b in pairs], dtype=float)
    num = den = 0.0
    for i in range(len(p)):
        for j in range(len(p)):
            if i != j:
                w = p[i] * (1 - p[j])
                den += w
                num += w * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
    assert soft_auc(p, s) == pytest.approx(num / den, rel=1e-9, abs=1e-12)
