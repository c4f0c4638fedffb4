"""Temporal validation: as-of date grids, TemporalSplit's rule, and scikit-learn use.

The rule: a split tests on one as-of date ``t`` and trains on every earlier as-of date
``a`` with ``a + horizon <= t`` (the whole label window of ``a`` ends by ``t``).
"""

from __future__ import annotations

import lightgbm
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

import creditrisk as cr
from creditrisk import EventTables
from creditrisk.features.temporal import TemporalSplit, as_of_dates

YEAR = pd.Timedelta(days=365)
YEARLY = [f"{y}-07-01" for y in range(2019, 2025)]  # 2019-07-01 .. 2024-07-01


@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def yearly_spine(sample: EventTables) -> pd.DataFrame:
    return cr.spine(sample, YEARLY)


@pytest.fixture(scope="module")
def labelled(sample: EventTables, yearly_spine: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    y = cr.build_labels(sample, yearly_spine, outcome="inspection_finding", horizon="365D")
    keep = y.notna()
    return yearly_spine[keep], y[keep]


def small_frame(dates: list[str], per_date: int = 3, seed: int = 0) -> pd.DataFrame:
    """Rows for ``per_date`` entities at each date, shuffled so dates are interleaved."""
    rows = pd.DataFrame(
        {
            "entity_id": [f"E{i}" for _ in dates for i in range(per_date)],
            "as_of": pd.to_datetime([d for d in dates for _ in range(per_date)]),
        }
    )
    return rows.sample(frac=1, random_state=seed).reset_index(drop=True)


def expected_plan(dates, horizon: pd.Timedelta) -> list[tuple[list, pd.Timestamp]]:
    """(training dates, test date) for every test date with training dates, by the rule."""
    dates = sorted(pd.Timestamp(d) for d in set(dates))
    plan = []
    for t in dates:
        train = [a for a in dates if a + horizon <= t]
        if train:
            plan.append((train, t))
    return plan


def dates_of(X: pd.DataFrame, rows: np.ndarray) -> list[pd.Timestamp]:
    return sorted(pd.Timestamp(d) for d in set(X["as_of"].iloc[rows]))


# -- as_of_dates ------------------------------------------------------------------------
def test_as_of_dates_yearly_inclusive_of_the_end() -> None:
    dates = as_of_dates("2019-07-01", "2024-07-01")
    assert dates == [pd.Timestamp(d) for d in YEARLY]


@pytest.mark.parametrize(
    ("start", "end", "freq", "expected"),
    [
        (
            "2020-01-01",
            "2021-07-01",
            "6MS",
            ["2020-01-01", "2020-07-01", "2021-01-01", "2021-07-01"],
        ),
        ("2023-01-01", "2023-07-01", "3MS", ["2023-01-01", "2023-04-01", "2023-07-01"]),
        ("2023-07-01", "2023-07-01", "12MS", ["2023-07-01"]),
        ("2020-07-01", "2022-06-30", "12MS", ["2020-07-01", "2021-07-01"]),  # end off the grid
        (
            "2024-01-01",
            "2024-01-22",
            "7D",
            ["2024-01-01", "2024-01-08", "2024-01-15", "2024-01-22"],
        ),
    ],
)
def test_as_of_dates_evenly_spaced(start, end, freq, expected) -> None:
    assert as_of_dates(start, end, freq) == [pd.Timestamp(d) for d in expected]


# -- the rule on the sample spine ---------------------------------------------------------
def test_every_split_trains_only_on_finished_labels(yearly_spine: pd.DataFrame) -> None:
    splits = list(TemporalSplit("365D").split(yearly_spine))
    assert len(splits) == len(YEARLY) - 1
    tested = []
    for train, test in splits:
        assert len(train) and len(test)
        test_dates = yearly_spine["as_of"].iloc[test].unique()
        assert len(test_dates) == 1
        t = pd.Timestamp(test_dates[0])
        tested.append(t)
        assert (yearly_spine["as_of"].iloc[train] + YEAR <= t).all()
        # and every usable row is used: all rows of every date a with a + 365D <= t
        usable = np.flatnonzero((yearly_spine["as_of"] + YEAR <= t).to_numpy())
        np.testing.assert_array_equal(np.sort(train), usable)
        np.testing.assert_array_equal(
            np.sort(test), np.flatnonzero((yearly_spine["as_of"] == t).to_numpy())
        )
    assert tested == [pd.Timestamp(d) for d in YEARLY[1:]]


@pytest.mark.parametrize(
    "dates",
    [
        YEARLY,
        ["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01"],  # 2020 is a leap year
        ["2021-03-01", "2022-03-01", "2022-02-28", "2023-06-15", "2023-01-01"],
    ],
)
def test_split_plan_follows_the_rule(dates) -> None:
    X = small_frame(dates)
    got = [(dates_of(X, tr), dates_of(X, te)) for tr, te in TemporalSplit("365D").split(X)]
    want = [(train, [t]) for train, t in expected_plan(dates, YEAR)]
    assert got == want


def test_n_splits_keeps_the_last_ones() -> None:
    X = small_frame(YEARLY)
    every = [(tuple(tr), tuple(te)) for tr, te in TemporalSplit("365D").split(X)]
    assert len(every) == 5
    for n in (1, 2, 5):
        last = [(tuple(tr), tuple(te)) for tr, te in TemporalSplit("365D", n_splits=n).split(X)]
        assert last == every[-n:]


def test_max_train_dates_keeps_the_latest_usable_dates() -> None:
    X = small_frame(YEARLY)
    splits = list(TemporalSplit("365D", max_train_dates=2).split(X))
    assert len(splits) == 5
    for (train, test), (usable, t) in zip(splits, expected_plan(YEARLY, YEAR), strict=True):
        assert dates_of(X, test) == [t]
        assert dates_of(X, train) == usable[-2:]
    one = [dates_of(X, tr) for tr, _ in TemporalSplit("365D", max_train_dates=1).split(X)]
    assert one == [[pd.Timestamp(d)] for d in YEARLY[:-1]]


def test_too_few_dates_raise() -> None:
    X = small_frame(["2021-07-01", "2022-07-01", "2023-07-01"])  # two splits at most
    assert len(list(TemporalSplit("365D", n_splits=2).split(X))) == 2
    with pytest.raises(ValueError):
        list(TemporalSplit("365D", n_splits=3).split(X))
    with pytest.raises(ValueError):
        TemporalSplit("365D", n_splits=3).get_n_splits(X)
    close = small_frame(["2022-07-01", "2023-01-01", "2023-06-30"])  # no date a year apart
    with pytest.raises(ValueError):
        list(TemporalSplit("365D").split(close))


@pytest.mark.parametrize(
    ("cv", "expected"),
    [
        (TemporalSplit("365D"), 5),
        (TemporalSplit("365D", n_splits=3), 3),
        (TemporalSplit("365D", max_train_dates=1), 5),
        (TemporalSplit(180), 5),
        (TemporalSplit("730D"), 4),  # 2019-07-01 + 730 days <= 2021-07-01
    ],
    ids=["default", "n_splits", "max_train_dates", "180 days", "730D"],
)
def test_get_n_splits_counts_the_splits(cv: TemporalSplit, expected: int) -> None:
    X = small_frame(YEARLY)
    assert cv.get_n_splits(X) == len(list(cv.split(X))) == expected


def test_as_of_as_column_or_index_level_agree(yearly_spine: pd.DataFrame) -> None:
    cv = TemporalSplit("365D")
    by_column = [(list(tr), list(te)) for tr, te in cv.split(yearly_spine)]
    indexed = yearly_spine.set_index(["entity_id", "as_of"])
    by_level = [(list(tr), list(te)) for tr, te in cv.split(indexed)]
    assert by_level == by_column
    assert cv.get_n_splits(indexed) == cv.get_n_splits(yearly_spine) == len(by_column)
    only_dates = pd.Series(1.0, index=pd.DatetimeIndex(yearly_spine["as_of"], name="as_of"))
    assert [(list(tr), list(te)) for tr, te in cv.split(only_dates)] == by_column
    with pytest.raises(ValueError, match="as_of"):
        list(cv.split(yearly_spine.rename(columns={"as_of": "date"})))


def test_six_month_spacing_skips_the_next_date() -> None:
    dates = [str(d.date()) for d in as_of_dates("2020-01-01", "2024-07-01", "6MS")]
    assert len(dates) == 10
    X = small_frame(dates)
    splits = list(TemporalSplit("365D").split(X))
    assert len(splits) == len(dates) - 2  # the first two dates have nothing a year before
    for train, test in splits:
        (t,) = dates_of(X, test)
        train_dates = dates_of(X, train)
        assert train_dates[-1] == t - pd.DateOffset(months=12)
        assert t - pd.DateOffset(months=6) not in train_dates
        assert train_dates == [pd.Timestamp(d) for d in dates if pd.Timestamp(d) + YEAR <= t]


def test_horizon_is_validated() -> None:
    X = small_frame(YEARLY)
    for bad in ("36h", "-365D", 0):
        with pytest.raises(ValueError, match="horizon"):
            list(TemporalSplit(bad).split(X))


# -- scikit-learn -----------------------------------------------------------------------
def pipeline(tables: EventTables) -> Pipeline:
    return Pipeline(
        [
            ("features", cr.FeatureBuilder(tables)),
            (
                "model",
                lightgbm.LGBMClassifier(n_estimators=30, num_threads=1, verbose=-1, random_state=0),
            ),
        ]
    )


def test_cross_val_score_with_a_feature_pipeline(
    sample: EventTables, labelled: tuple[pd.DataFrame, pd.Series]
) -> None:
    spine, y = labelled
    assert set(y.unique()) == {0.0, 1.0}
    assert sorted(spine["as_of"].unique()) == [pd.Timestamp(d) for d in YEARLY]
    cv = TemporalSplit("365D")
    scores = cross_val_score(
        pipeline(sample), spine, y, cv=cv, scoring="roc_auc", error_score="raise"
    )
    assert len(scores) == cv.get_n_splits(spine) == len(YEARLY) - 1
    assert np.isfinite(scores).all()
    assert ((scores > 0) & (scores < 1)).all()


def test_fit_then_predict_proba_on_a_later_as_of(
    sample: EventTables, labelled: tuple[pd.DataFrame, pd.Series]
) -> None:
    spine, y = labelled
    early = (spine["as_of"] + YEAR <= pd.Timestamp("2024-07-01")).to_numpy()
    model = pipeline(sample).fit(spine[early], y[early])

    X = model.named_steps["features"].transform(spine[early].head(50))
    assert X.index.names == ["entity_id", "as_of"]
    assert list(X.columns) == list(model.named_steps["features"].get_feature_names_out())
    assert not {"entity_id", "as_of"} & set(X.columns)
    assert all(
        isinstance(t, pd.CategoricalDtype) or pd.api.types.is_numeric_dtype(t) for t in X.dtypes
    )

    later = cr.spine(sample, "2024-07-01")
    proba = model.predict_proba(later)
    assert proba.shape == (len(later), 2)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba[:, 1].std() > 0
    # the model ranks next year's random-inspection findings better than chance
    y_later = cr.build_labels(sample, later, outcome="inspection_finding")
    defined = y_later.notna().to_numpy()
    assert roc_auc_score(y_later[defined], proba[defined, 1]) > 0.6

    beyond = cr.spine(sample, "2025-12-01")  # no label window fits here; features do
    assert model.predict_proba(beyond).shape == (len(beyond), 2)
