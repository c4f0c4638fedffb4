"""RiskModel on the packaged sample: fitting, constraints, scoring, reasons, save/load,
the reference model, quality against the synthetic world's truth, and ``creditrisk train``.

One small model (60 trees) is trained once per module and reused. Expectations come
from the documented rules (catalogue directions, policy overrides), from LightGBM and
scikit-learn directly, or from the world's true probabilities, never from earlier runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.features.builder import CATALOGUE
from creditrisk.model.reasons import (
    TEMPLATES,
    coded_sentences,
    factorize,
    feature_sentences,
    sentence,
)

KEYS = ["entity_id", "as_of"]
SMALL = {"n_estimators": 60, "num_threads": 1}
CATALOGUE_BY_NAME = {f.name: f for f in CATALOGUE}
CATEGORICAL = {f.name for f in CATALOGUE if f.kind == "category"}
SAMPLE_DIR = Path(cr.data.__file__).parent / "sample"


# -- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables() -> cr.EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def result(tables):
    return cr.fit_model(tables, **SMALL)


@pytest.fixture(scope="module")
def model(result) -> cr.RiskModel:
    return result.model


@pytest.fixture(scope="module")
def X_test(result) -> pd.DataFrame:
    return result.X_test


@pytest.fixture(scope="module")
def y_test(result) -> pd.Series:
    return result.y_test


@pytest.fixture(scope="module")
def scores(model, X_test) -> pd.DataFrame:
    return model.classify(X_test)


@pytest.fixture(scope="module")
def train_xy(tables, model):
    """The training features and labels, rebuilt the way fit_model builds them."""
    s = cr.spine(tables, list(model.training_["as_of"]))
    X = cr.build_features(tables, s, model.policy_.feature_spec())
    y = cr.build_labels(tables, s, outcome="inspection_finding", horizon="365D")
    return X, y


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory) -> Path:
    return model.save(tmp_path_factory.mktemp("models") / "small")


def reason_columns(k: int = 3) -> list[str]:
    out = []
    for i in range(1, k + 1):
        out += [f"reason_{i}", f"reason_{i}_feature", f"reason_{i}_value"]
        out += [f"reason_{i}_contribution"]
    return out


def plain(value):
    """A feature value as sentence() takes it: None when missing, Python scalars."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


# -- fitting ---------------------------------------------------------------------------
def test_fit_ignores_nan_labels(train_xy, X_test) -> None:
    X, y = train_xy
    assert y.isna().any() and y.notna().sum() > 1000
    plain_fit = cr.RiskModel(**SMALL).fit(X, y)
    # the same data plus copies of 3,000 rows under new ids, none of them labelled
    extra = X.sample(3000, random_state=1).copy()
    extra["entity_id"] = "NEW" + extra["entity_id"].astype(str)
    X2 = pd.concat([X, extra], ignore_index=True)
    y2 = pd.concat([y, pd.Series(np.nan, index=extra.index)], ignore_index=True)
    assert isinstance(X2["region"].dtype, pd.CategoricalDtype)
    padded_fit = cr.RiskModel(**SMALL).fit(X2, y2)
    assert padded_fit.training_["labelled"] == plain_fit.training_["labelled"]
    assert padded_fit.training_["rows"] == plain_fit.training_["rows"] + 3000
    assert padded_fit.booster_.model_to_string() == plain_fit.booster_.model_to_string()
    np.testing.assert_array_equal(padded_fit.predict_proba(X_test), plain_fit.predict_proba(X_test))
    assert padded_fit.calibration_ == plain_fit.calibration_


def test_fit_refuses_labels_other_than_zero_one(train_xy) -> None:
    X, y = train_xy
    bad = y.copy()
    bad[bad == 1] = 2
    with pytest.raises(cr.ModelError, match="0/1"):
        cr.RiskModel(**SMALL).fit(X, bad)


def test_fit_refuses_too_few_labels(train_xy) -> None:
    X, y = train_xy
    few = pd.Series(np.nan, index=y.index)
    few.iloc[:10] = [0, 1] * 5
    with pytest.raises(cr.ModelError, match="10 labelled"):
        cr.RiskModel(**SMALL).fit(X, few)


def test_slices_are_out_of_time_folds(model, train_xy) -> None:
    """Every fold validates on one date and trains on the dates a horizon before it."""
    s = model.slices_
    dates = [pd.Timestamp(d) for d in model.training_["as_of"]]
    horizon = pd.Timedelta(model.horizon)
    assert s["method"] == "rolling"
    assert 1 <= len(s["folds"]) <= model.n_folds
    X, y = train_xy
    known = y.notna()
    for fold in s["folds"]:
        valid = pd.Timestamp(fold["valid"])
        assert fold["train"] == [str(d.date()) for d in dates if d + horizon <= valid]
        assert fold["valid_rows"] == int((known & (X["as_of"] == valid)).sum())
        assert fold["train_rows"] == int((known & (X["as_of"] + horizon <= valid)).sum())
    # the latest folds: the last validation date is the last training date
    assert s["folds"][-1]["valid"] == str(dates[-1].date())
    assert s["final_rows"] == int(known.sum())  # the final model uses every labelled row


def test_dates_closer_than_the_horizon_say_what_would_work(tables) -> None:
    spine = cr.spine(tables, ["2023-01-01", "2023-07-01"])  # less than a horizon apart
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine)
    with pytest.raises(cr.ModelError, match=r"no date is a whole 365-day label horizon"):
        cr.RiskModel(**SMALL).fit(X, y)
    one = spine["as_of"] == spine["as_of"].max()  # one date: entities are split instead
    model = cr.RiskModel(**SMALL).fit(X[one.to_numpy()], y[one.to_numpy()])
    s = model.slices_
    assert s["method"] == "entities"
    assert s["train_rows"] + s["stop_rows"] + s["calibration_rows"] == int(y[one].notna().sum())


def test_categorical_features_are_stored(model, train_xy) -> None:
    X, _ = train_xy
    categorical_in_x = {c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)}
    assert set(model.categories_) == categorical_in_x == CATEGORICAL
    for name, categories in model.categories_.items():
        assert categories == [str(c) for c in X[name].cat.categories], name


def test_monotone_constraints_follow_the_catalogue(model) -> None:
    text = model.booster_.model_to_string()
    line = next(x for x in text.splitlines() if x.startswith("monotone_constraints="))
    stored = [int(v) for v in line.split("=", 1)[1].split()]
    expected = [
        0 if name in CATEGORICAL else CATALOGUE_BY_NAME[name].monotone
        for name in model.feature_names_in_
    ]
    assert stored == expected
    assert any(v == 1 for v in expected) and any(v == -1 for v in expected)


@pytest.fixture(scope="module")
def reference() -> cr.RiskModel:
    return cr.RiskModel.load(cr.sample_model_path())


@pytest.mark.parametrize("which", ["model", "reference"])
@pytest.mark.parametrize(
    ("feature", "change", "direction"),
    [
        ("penalties_general_1y", "plus_one", 1),
        ("on_abnormal_list", "zero_to_one", 1),
        ("reports_not_filed", "plus_one", 1),
        ("penalties_serious_1y", "plus_one", 1),
        ("report_last_year_filed", "zero_to_one", -1),
    ],
)
def test_monotone_constraints_hold(which, feature, change, direction, request, X_test) -> None:
    m = request.getfixturevalue(which)
    assert m.calibration_["slope"] > 0  # calibration keeps the direction
    if change == "plus_one":
        rows = X_test.head(3000)
        moved = rows.copy()
        moved[feature] = moved[feature] + 1
    else:
        rows = X_test[X_test[feature] == 0].head(3000)
        moved = rows.copy()
        moved[feature] = 1
    assert len(rows) >= 50
    before = m.predict_proba(rows)[:, 1]
    after = m.predict_proba(moved)[:, 1]
    if direction > 0:
        assert (after >= before).all(), feature
    else:
        assert (after <= before).all(), feature


def test_same_seed_same_model_scores_and_reasons(tables, model, X_test, scores) -> None:
    again = cr.fit_model(tables, **SMALL).model
    assert again.booster_.model_to_string() == model.booster_.model_to_string()
    np.testing.assert_array_equal(again.predict_proba(X_test), model.predict_proba(X_test))
    pd.testing.assert_frame_equal(again.classify(X_test), scores)


# -- scoring ---------------------------------------------------------------------------
def test_score_columns(scores, X_test) -> None:
    expected = [
        "entity_id",
        "as_of",
        "probability",
        "score_tier",
        "tier",
        "override",
        "override_reason",
        "context",
        "context_contribution",
        *reason_columns(3),
    ]
    assert list(scores.columns) == expected
    assert len(scores) == len(X_test)
    assert scores.index.equals(X_test.index)
    assert (scores["entity_id"] == X_test["entity_id"].astype(str)).all()
    assert (scores["as_of"] == X_test["as_of"]).all()
    assert list(scores["tier"].cat.categories) == ["A", "B", "C", "D"]
    assert scores["probability"].between(0, 1).all()


def test_top_k_changes_the_reason_columns(model, X_test) -> None:
    rows = X_test.head(50)
    assert list(model.classify(rows, top_k=0).columns)[-1] == "context_contribution"
    assert list(model.classify(rows, top_k=1).columns)[-4:] == reason_columns(1)
    five = model.classify(rows, top_k=5)
    assert list(five.columns)[9:] == reason_columns(5)


def test_row_alone_equals_row_in_batch(saved, scores, X_test) -> None:
    positions = [0, 1, 17, len(X_test) // 2, len(X_test) - 1]
    positions += list(np.flatnonzero(scores["override"].to_numpy() != "")[:3])
    positions += list(np.flatnonzero(scores["reason_3"].to_numpy() == "")[:2])
    for i in positions:
        fresh = cr.RiskModel.load(saved)  # no cached patterns from the batch
        alone = fresh.classify(X_test.iloc[[i]])
        pd.testing.assert_frame_equal(alone, scores.iloc[[i]])


def test_batch_order_does_not_matter(saved, scores, X_test) -> None:
    order = np.random.default_rng(4).permutation(len(X_test))[:2000]
    shuffled = cr.RiskModel.load(saved).classify(X_test.iloc[order])
    pd.testing.assert_frame_equal(shuffled, scores.iloc[order])


def test_contributions_add_up_to_the_decision_function(model, X_test) -> None:
    phi = model.contributions(X_test)
    assert list(phi.columns) == [*model.feature_names_in_, "base_value"]
    raw = model.decision_function(X_test)
    np.testing.assert_allclose(phi.sum(axis=1).to_numpy(), raw, rtol=0, atol=1e-9)
    # and the raw score through the calibration is predict_proba
    a, b = model.calibration_["slope"], model.calibration_["intercept"]
    p = 1 / (1 + np.exp(-(a * raw + b)))
    np.testing.assert_allclose(model.predict_proba(X_test)[:, 1], p, rtol=0, atol=1e-12)


def test_probability_column_is_predict_proba(model, scores, X_test) -> None:
    np.testing.assert_allclose(
        scores["probability"].to_numpy(), model.predict_proba(X_test)[:, 1], rtol=0, atol=1e-12
    )


def test_predict_proba_rows_sum_to_one(model, X_test) -> None:
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(model.predict(X_test), (proba[:, 1] >= 0.5).astype(int))
    np.testing.assert_array_equal(model.classes_, [0, 1])


def test_reasons_are_the_largest_positive_contributions(model, scores, X_test) -> None:
    """Among the conduct features: context (region, industry, ...) is never a reason."""
    phi = model.contributions(X_test).drop(columns="base_value")
    context = [f for f in phi.columns if cr.features.builder._BY_NAME[f].role == "context"]
    assert {"region", "industry", "age_years"} <= set(context)
    for i in range(1, 4):
        assert not scores[f"reason_{i}_feature"].astype(str).isin(context).any()
    np.testing.assert_allclose(
        scores["context_contribution"].to_numpy(), phi[context].sum(axis=1).to_numpy(), atol=1e-12
    )
    phi = phi.drop(columns=context)
    values = phi.to_numpy()
    names = np.asarray(phi.columns)
    for i in range(1, 4):
        feature = scores[f"reason_{i}_feature"]
        present = feature.notna().to_numpy()
        contribution = scores[f"reason_{i}_contribution"].to_numpy()
        assert (contribution[present] > 0).all()
        assert np.isnan(contribution[~present]).all()
        # the contribution shown is the feature's own SHAP value in that row
        col = pd.Index(names).get_indexer(feature[present].astype(str))
        np.testing.assert_array_equal(contribution[present], values[present, col])
        if i > 1:
            previous = scores[f"reason_{i - 1}_contribution"].to_numpy()
            assert (previous[present] >= contribution[present]).all()
            # a later reason only where the earlier one exists
            assert scores[f"reason_{i - 1}_feature"].notna().to_numpy()[present].all()
    # reason 1 is the largest contribution of the row, when one is positive
    best = values.max(axis=1)
    has_reason = scores["reason_1_feature"].notna().to_numpy()
    np.testing.assert_array_equal(has_reason, np.round(best, 10) > 0)
    np.testing.assert_allclose(
        scores["reason_1_contribution"].to_numpy()[has_reason], best[has_reason], rtol=0, atol=1e-10
    )
    # the number of reasons is the number of positive contributions, at most 3
    positive = (np.round(values, 10) > 0).sum(axis=1)
    shown = sum(scores[f"reason_{i}_feature"].notna().to_numpy().astype(int) for i in (1, 2, 3))
    np.testing.assert_array_equal(shown, np.minimum(positive, 3))


def test_reason_sentences_and_values(scores, X_test) -> None:
    rng = np.random.default_rng(0)
    for i in range(1, 4):
        feature = scores[f"reason_{i}_feature"]
        present = feature.notna().to_numpy()
        text = scores[f"reason_{i}"].to_numpy()
        assert all(isinstance(t, str) and t for t in text[present])
        assert all(t == "" for t in text[~present])
        assert (scores[f"reason_{i}_value"].to_numpy()[~present] == "").all()
        rows = rng.choice(np.flatnonzero(present), size=150, replace=False)
        for r in rows:
            name = str(feature.iloc[r])
            value = X_test[name].iloc[r]
            as_of = X_test["as_of"].iloc[r]
            assert text[r] == sentence(name, plain(value), as_of), (name, value)
            shown = scores[f"reason_{i}_value"].iloc[r]
            if name in CATEGORICAL:
                assert shown == ("" if pd.isna(value) else str(value))
            elif pd.isna(value):
                assert shown == ""
            else:
                assert float(shown) == pytest.approx(float(value), rel=1e-5, abs=1e-12)


def test_reason_values_are_the_values_to_six_significant_digits(scores, X_test) -> None:
    # every row, exactly: the values are formatted once per distinct value, then gathered
    for i in range(1, 4):
        feature = scores[f"reason_{i}_feature"].astype("str").to_numpy()
        shown = scores[f"reason_{i}_value"].to_numpy()
        for name in set(feature[scores[f"reason_{i}_feature"].notna().to_numpy()]):
            rows = np.flatnonzero(feature == name)
            values = X_test[name].to_numpy()[rows]
            if name in CATEGORICAL:
                expected = ["" if pd.isna(v) else str(v) for v in values]
            else:
                expected = ["" if pd.isna(v) else f"{float(v):.6g}" for v in values]
            assert shown[rows].tolist() == expected, name


def test_number_sentences_of_many_values_read_as_each_alone() -> None:
    floats = [0.0, 0.5, 1 / 3, -12.25, 1e9 + 0.5, float("nan"), 2.5e-7, 0.5, 0.995]
    numbers = [f for f, t in TEMPLATES.items() if "number" in t]
    assert "leverage_last" in numbers
    for name in numbers:
        expected = [sentence(name, v) for v in floats]
        codes, uniques = factorize(pd.Series(floats))
        for given in (uniques, [float(u) for u in uniques], np.array(uniques)):
            codes_out, text = coded_sentences(name, codes, given)
            assert [text[c] for c in codes_out] == expected, name
        assert feature_sentences(name, pd.Series(floats)).tolist() == expected, name


def test_report_year_in_reason_sentences(model, X_test) -> None:
    """The report-year sentences name the year of the last report due before as_of."""
    rows = X_test[X_test["report_last_year_filed"] == 0].head(200).copy()
    assert len(rows)
    # the same entities as of 1 July 2024: the last report due is that of 2023
    rows["as_of"] = pd.Timestamp("2024-07-01")
    s = model.classify(rows, top_k=len(model.feature_names_in_))
    hits = 0
    for i in range(1, len(model.feature_names_in_) + 1):
        mask = (s[f"reason_{i}_feature"] == "report_last_year_filed").to_numpy()
        for text in s[f"reason_{i}"].to_numpy()[mask]:
            assert text == "2023 annual report not filed"
            hits += 1
    assert hits > 0


def test_serious_list_gets_tier_d_with_a_reason(scores, X_test) -> None:
    serious = (X_test["on_serious_list"] == 1).to_numpy()
    moved = serious & (scores["score_tier"] != "D").to_numpy()
    assert moved.sum() >= 1
    assert (scores["tier"].to_numpy()[serious] == "D").all()
    for r in np.flatnonzero(moved):
        assert "serious_illegal_list" in scores["override"].iloc[r].split("; ")
        reason = scores["override_reason"].iloc[r]
        assert "serious illegal" in reason and "D" in reason
    # already D by score: the rule did not change the tier, so it is not reported
    stayed = serious & (scores["score_tier"] == "D").to_numpy()
    for r in np.flatnonzero(stayed):
        assert "serious_illegal_list" not in scores["override"].iloc[r]


def test_national_overrides_only_raise_tiers(scores, X_test) -> None:
    score = scores["score_tier"].cat.codes.to_numpy()
    final = scores["tier"].cat.codes.to_numpy()
    assert (final >= score).all()
    assert ((final != score) == (scores["override"] != "").to_numpy()).all()
    abnormal = (X_test["on_abnormal_list"] == 1).to_numpy()
    assert (final[abnormal] >= 2).all()
    # a key sector sets inspection frequency, not risk: no override moves it (DOMAIN.md)
    key = (X_test["key_sector"].notna() & (X_test["key_sector"] != "none")).to_numpy()
    assert not scores.loc[key, "override"].str.contains("key_sector").any()


def test_cutoffs_split_the_latest_training_date_in_the_policy_shares(model, train_xy) -> None:
    X, _ = train_xy
    latest = X[X["as_of"] == X["as_of"].max()]
    p = model.predict_proba(latest)[:, 1]
    tiers = np.searchsorted(np.asarray(model.cutoffs_), p, side="right")
    shares = np.bincount(tiers, minlength=4) / len(p)
    np.testing.assert_allclose(shares, model.policy_.shares, atol=0.01)


def test_features_in_the_index_score_the_same(model, scores, X_test) -> None:
    indexed = X_test.set_index(KEYS)
    s = model.classify(indexed)
    for column in ("probability", "tier", "reason_1", "override"):
        np.testing.assert_array_equal(s[column].to_numpy(), scores[column].to_numpy())


# -- refusing bad input ----------------------------------------------------------------
def test_score_refuses_a_missing_feature(model, X_test) -> None:
    with pytest.raises(cr.ModelError, match="leverage_last"):
        model.classify(X_test.drop(columns="leverage_last").head(10))


def test_score_refuses_an_unknown_category(model, X_test) -> None:
    rows = X_test.head(20).copy()
    region = rows["region"].cat.add_categories(["district_99"])
    region.iloc[3] = "district_99"
    rows["region"] = region
    with pytest.raises(cr.ModelError) as info:
        model.classify(rows)
    message = str(info.value)
    assert "region" in message
    assert "district_99" in message


def test_score_refuses_text_in_a_numeric_feature(model, X_test) -> None:
    rows = X_test.head(5).copy()
    rows["age_years"] = rows["age_years"].astype(str)
    with pytest.raises(cr.ModelError, match="age_years"):
        model.classify(rows)


def test_score_refuses_missing_keys(model, X_test) -> None:
    with pytest.raises(cr.ModelError, match="entity_id"):
        model.classify(X_test.drop(columns="entity_id").head(5))


def test_category_with_other_category_order_scores_the_same(model, scores, X_test) -> None:
    rows = X_test.copy()
    rows["region"] = rows["region"].cat.reorder_categories(
        list(reversed(rows["region"].cat.categories))
    )
    np.testing.assert_array_equal(
        model.classify(rows)["probability"].to_numpy(), scores["probability"].to_numpy()
    )


@pytest.mark.parametrize("dtype", ["str", "object"])
def test_text_region_scores_the_same_as_the_category(model, scores, X_test, dtype) -> None:
    # region is context, never a reason, but its sentence names the largest context
    assert scores["context"].str.startswith("Registered in").sum() > 0
    rows = X_test.copy()
    rows["region"] = rows["region"].astype(dtype)
    assert not isinstance(rows["region"].dtype, pd.CategoricalDtype)
    np.testing.assert_array_equal(model.predict_proba(rows), model.predict_proba(X_test))
    pd.testing.assert_frame_equal(model.classify(rows), scores)


# -- save and load ---------------------------------------------------------------------
def test_saved_directory_holds_text_and_json_only(saved) -> None:
    assert sorted(p.name for p in saved.iterdir()) == ["CHECKSUMS", "metadata.json", "model.txt"]
    for path in saved.iterdir():
        data = path.read_bytes()
        assert not data.startswith(b"\x80"), path.name  # no pickle protocol header
        data.decode("utf-8")  # text
    assert not list(saved.rglob("*.pkl")) and not list(saved.rglob("*.pickle"))
    meta = json.loads((saved / "metadata.json").read_text())
    assert meta["features"] == list(cr.RiskModel.load(saved).feature_names_in_)
    # the checksums are the files' SHA-256
    for line in (saved / "CHECKSUMS").read_text().splitlines():
        digest, name = line.split("  ")
        assert hashlib.sha256((saved / name).read_bytes()).hexdigest() == digest


def test_save_load_roundtrip(saved, model, scores, X_test) -> None:
    loaded = cr.RiskModel.load(saved)
    pd.testing.assert_frame_equal(loaded.classify(X_test), scores)
    np.testing.assert_array_equal(loaded.predict_proba(X_test), model.predict_proba(X_test))
    assert loaded.cutoffs_ == model.cutoffs_
    assert loaded.calibration_ == model.calibration_
    assert loaded.categories_ == model.categories_
    assert loaded.policy_ == model.policy_
    assert list(loaded.feature_names_in_) == list(model.feature_names_in_)
    params = {k: v for k, v in model.get_params().items() if k != "policy"}
    assert {k: v for k, v in loaded.get_params().items() if k != "policy"} == params
    assert loaded.booster_.model_to_string() == model.booster_.model_to_string()


def copy_of(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(saved, target)
    return target


def test_load_refuses_a_tampered_model_txt(saved, tmp_path) -> None:
    path = copy_of(saved, tmp_path)
    text = (path / "model.txt").read_text()
    (path / "model.txt").write_text(re.sub(r"shrinkage=[0-9.]+", "shrinkage=0.123", text, count=1))
    with pytest.raises(cr.ModelError, match=r"model\.txt"):
        cr.RiskModel.load(path)


def test_load_refuses_a_tampered_metadata_json(saved, tmp_path) -> None:
    path = copy_of(saved, tmp_path)
    meta = json.loads((path / "metadata.json").read_text())
    meta["cutoffs"] = [0.01, 0.02, 0.03]
    (path / "metadata.json").write_text(json.dumps(meta, indent=2))
    with pytest.raises(cr.ModelError, match=r"metadata\.json"):
        cr.RiskModel.load(path)


def test_load_refuses_model_txt_with_forged_checksums(saved, tmp_path) -> None:
    path = copy_of(saved, tmp_path)
    text = re.sub(
        r"shrinkage=[0-9.]+", "shrinkage=0.123", (path / "model.txt").read_text(), count=1
    )
    (path / "model.txt").write_text(text)
    lines = []
    for line in (path / "CHECKSUMS").read_text().splitlines():
        digest, name = line.split("  ")
        if name == "model.txt":
            digest = hashlib.sha256(text.encode()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    (path / "CHECKSUMS").write_text("".join(lines))
    with pytest.raises(cr.ModelError, match=r"model\.txt"):
        cr.RiskModel.load(path)


@pytest.mark.parametrize("name", ["model.txt", "metadata.json", "CHECKSUMS"])
def test_load_refuses_a_missing_file(saved, tmp_path, name) -> None:
    path = copy_of(saved, tmp_path)
    (path / name).unlink()
    with pytest.raises(cr.ModelError, match=name):
        cr.RiskModel.load(path)


def test_load_refuses_a_missing_directory(tmp_path) -> None:
    with pytest.raises(cr.ModelError):
        cr.RiskModel.load(tmp_path / "nothing")


def test_save_refuses_an_existing_directory(model, saved, tmp_path) -> None:
    path = copy_of(saved, tmp_path)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises(FileExistsError):
        model.save(path)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before
    (path / "stale.txt").write_text("left over")
    model.save(path, overwrite=True)
    assert sorted(p.name for p in path.iterdir()) == ["CHECKSUMS", "metadata.json", "model.txt"]
    assert cr.RiskModel.load(path).cutoffs_ == model.cutoffs_
    # nothing left beside it: no staging or old directories
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


@pytest.mark.parametrize(
    "method",
    ["classify", "predict_proba", "predict", "decision_function", "contributions", "save"],
)
def test_unfitted_model_raises_scikit_learns_not_fitted_error(X_test, tmp_path, method) -> None:
    from sklearn.exceptions import NotFittedError

    args = (tmp_path / "m",) if method == "save" else (X_test.head(2),)
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(cr.RiskModel(), method)(*args)
    assert not (tmp_path / "m").exists()


# -- other policies --------------------------------------------------------------------
def test_fixed_cutoffs_policy(tables) -> None:
    m = cr.fit_model(tables, policy="daqing", **SMALL).model
    assert m.cutoffs_ == cr.Policy.load("daqing").cutoffs
    assert m.policy_.name == "daqing"


def test_five_tier_policy_end_to_end(tables, X_test) -> None:
    d = cr.Policy.load("national").to_dict()
    d["name"] = "five"
    d["tiers"] = {
        "names": ["A", "B", "C", "D", "E"],
        "method": "shares",
        "shares": [0.4, 0.3, 0.15, 0.1, 0.05],
    }
    d["overrides"][0]["set"] = "E"
    d["inspection"]["ratios"]["E"] = 0.5
    policy = cr.Policy.from_dict(d)
    m = cr.fit_model(tables, policy=policy, **SMALL).model
    assert len(m.cutoffs_) == 4
    s = m.classify(X_test)
    assert list(s["tier"].cat.categories) == ["A", "B", "C", "D", "E"]
    serious = (X_test["on_serious_list"] == 1).to_numpy()
    assert (s["tier"].to_numpy()[serious] == "E").all()
    assert set(s["score_tier"].astype(str)) == {"A", "B", "C", "D", "E"}


# -- the reference model ---------------------------------------------------------------
def test_reference_model_loads_and_scores(reference, X_test) -> None:
    assert reference.policy_.name == "national"
    assert reference.n_trees_ == reference.booster_.num_trees() > 0
    s = reference.classify(X_test.head(500))
    assert list(s["tier"].cat.categories) == ["A", "B", "C", "D"]
    assert s["probability"].between(0, 1).all()


def test_reference_model_is_reproduced_by_fit_model(reference) -> None:
    meta = reference.metadata_
    # `creditrisk train` (how the reference was made) fits with --threads, default 2
    threads = meta["params"]["num_threads"]
    assert threads == 2
    fitted = cr.fit_model(cr.load_sample(), num_threads=threads).model
    expected = (cr.sample_model_path() / "model.txt").read_text(encoding="utf-8")
    assert fitted.booster_.model_to_string() == expected
    assert fitted.training_["fingerprint"] == meta["training"]["fingerprint"]
    assert fitted.cutoffs_ == pytest.approx(tuple(meta["cutoffs"]), rel=1e-9)
    assert fitted.calibration_["slope"] == pytest.approx(meta["calibration"]["slope"], rel=1e-9)


# -- quality against the truth of a small synthetic world ------------------------------
@pytest.fixture(scope="module")
def world_fit():
    world = cr.synth.generate(30_000, "2018-01-01", "2025-12-31", seed=3)
    return world, cr.fit_model(world.tables, num_threads=1)


def test_auc_close_to_the_oracle(world_fit) -> None:
    world, fit = world_fit
    X, y = fit.X_test, fit.y_test
    (test_as_of,) = X["as_of"].unique()
    labelled = y.notna().to_numpy()
    assert labelled.sum() > 1000
    truth = world.truth.probability(test_as_of)
    oracle = truth.reindex(X["entity_id"].astype(str)).to_numpy()
    assert not np.isnan(oracle[labelled]).any()
    p = fit.model.predict_proba(X)[:, 1]
    auc = roc_auc_score(y[labelled], p[labelled])
    oracle_auc = roc_auc_score(y[labelled], oracle[labelled])
    assert auc == pytest.approx(fit.metrics["auc"], abs=1e-12)
    assert auc / oracle_auc >= 0.90, (auc, oracle_auc)


def test_finding_rate_rises_across_tiers(world_fit) -> None:
    _, fit = world_fit
    scores = fit.model.classify(fit.X_test, top_k=0)
    table = cr.evaluation.tier_table(scores, fit.y_test)
    assert list(table.index) == ["A", "B", "C", "D"]
    assert (table["labelled"] > 20).all()
    rates = table["finding_rate"].to_numpy()
    assert (np.diff(rates) > 0).all(), rates


def test_brier_beats_the_base_rate(world_fit) -> None:
    _, fit = world_fit
    y = fit.y_test
    labelled = y.notna().to_numpy()
    p = fit.model.predict_proba(fit.X_test)[:, 1][labelled]
    truth = y[labelled].to_numpy()
    base = np.full(len(truth), truth.mean())
    assert brier_score_loss(truth, p) < brier_score_loss(truth, base)


# -- creditrisk train ------------------------------------------------------------------
def test_cli_train_writes_the_model_and_refuses_to_overwrite(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "model"
    args = ["train", "--data", str(SAMPLE_DIR), "--out", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, (first.output, first.exception)
    assert sorted(p.name for p in out.iterdir()) == [
        "CHECKSUMS",
        "MODEL_CARD.md",
        "metadata.json",
        "model.txt",
    ]
    card = (out / "MODEL_CARD.md").read_text()
    assert card.startswith("# ")
    assert "## Tiers on the test slice" in card
    loaded = cr.RiskModel.load(out)
    assert loaded.policy_.name == "national"
    # the packaged sample through the command gives the reference model
    reference_text = (cr.sample_model_path() / "model.txt").read_text(encoding="utf-8")
    assert (out / "model.txt").read_text(encoding="utf-8") == reference_text

    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = runner.invoke(app, args)
    assert again.exit_code == 2
    assert again.exception is None or isinstance(again.exception, SystemExit)
    assert "--overwrite" in again.output
    assert "Traceback" not in again.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # one thread: this training is not compared with the reference (suite time)
    replaced = runner.invoke(app, [*args, "--overwrite", "--policy", "daqing", "--threads", "1"])
    assert replaced.exit_code == 0, (replaced.output, replaced.exception)
    assert cr.RiskModel.load(out).policy_.name == "daqing"
    assert (out / "MODEL_CARD.md").is_file()


def test_cli_train_refuses_a_bad_policy(tmp_path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "bad"\n[tiers]\nnames = ["A", "B"]\nmethod = "cutoffs"\ncutoffs = [1.5]\n'
    )
    for policy, words in (("nowhere", "no policy 'nowhere'"), (str(bad), "tiers.cutoffs")):
        out = tmp_path / f"model-{len(words)}"
        args = ["train", "--data", str(SAMPLE_DIR), "--out", str(out), "--policy", policy]
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert words in " ".join(result.output.split())
        assert not out.exists()


# -- global explanations and the model card --------------------------------------------
def test_importance_is_the_mean_absolute_contribution(model, X_test) -> None:
    imp = model.importance(X_test)
    phi = model.contributions(X_test).drop(columns="base_value")
    expected = phi.abs().mean().sort_values(ascending=False, kind="stable")
    assert list(imp.index) == list(expected.index)
    np.testing.assert_allclose(imp["mean_abs_shap"].to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert imp.loc["on_abnormal_list", "meaning"] == CATALOGUE_BY_NAME["on_abnormal_list"].meaning


def test_summary_plot_draws_the_top_features(model, X_test) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = model.summary_plot(X_test, max_display=5)
    try:
        labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
        top = model.importance(X_test).index[:5]
        assert set(top) <= set(labels)
        width, height = fig.get_size_inches()
        assert width > 0 and height > 0
    finally:
        plt.close(fig)


def test_model_card_reports_the_test_slice(model, X_test, y_test) -> None:
    card = cr.evaluation.model_card(model, X_test, y_test)
    p = model.predict_proba(X_test)[:, 1]
    known = y_test.notna().to_numpy()
    auc = roc_auc_score(y_test[known], p[known])
    assert f"AUC {auc:.3f}" in card
    for tier in model.policy_.tiers:
        assert f"| {tier} |" in card
    for date in model.training_["as_of"]:
        assert date in card
