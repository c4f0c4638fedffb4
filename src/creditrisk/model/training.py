"""Train a model over as-of dates and test it on a later one, honestly in time.

:func:`fit_model` picks (or takes) the as-of dates, builds point-in-time features and
``inspection_finding`` labels, fits a :class:`~creditrisk.model.estimator.RiskModel` on dates
whose label windows end before the test date, and measures it on the test date. The
reference model in ``models/sample`` is ``fit_model(load_sample())`` (``make model``).

Examples
--------
>>> import creditrisk as cr
>>> train, test = as_of_plan(cr.load_sample())
>>> str(test.date()), str(train[-1].date())
('2025-01-01', '2024-01-01')
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

from creditrisk.data.spine import spine
from creditrisk.features.builder import build_features, declared_features
from creditrisk.features.labels import build_labels, horizon_days, known_until, label_nuisance
from creditrisk.model.estimator import RiskModel
from creditrisk.model.evaluation import baseline_scores, baseline_table, metrics, model_card
from creditrisk.policy.rules import Policy

__all__ = ["TrainingResult", "as_of_plan", "fit_model", "sample_model_path"]


@dataclass
class TrainingResult:
    """A fitted model with its test slice, test metrics and model card.

    Parameters
    ----------
    model : RiskModel
        The model fitted on the training dates.
    X_test : pandas.DataFrame
        The features on the test date.
    y_test : pandas.Series
        The test labels (NaN where no inspection defines one).
    metrics : dict
        :func:`~creditrisk.model.evaluation.metrics` of the model on the test date.
    card : str
        The model card, in Markdown (:func:`~creditrisk.model.evaluation.model_card`).
    baselines : pandas.DataFrame or None, default None
        The plain baselines fitted on the same training rows and scored on the test
        date (:func:`~creditrisk.model.evaluation.baseline_table`), with the model's own
        row; None when there was no labelled test date.

    Examples
    --------
    >>> import creditrisk as cr
    >>> r = fit_model(cr.load_sample(), train_as_of=["2024-01-01"], test_as_of="2025-01-01",
    ...               n_estimators=10)
    >>> len(r.X_test) == len(r.y_test), r.metrics["n"] == int(r.y_test.notna().sum())
    (True, True)
    >>> r.card.splitlines()[0]
    '# creditrisk model'
    """

    model: RiskModel
    X_test: pd.DataFrame
    y_test: pd.Series
    metrics: dict
    card: str
    baselines: pd.DataFrame | None = None


def as_of_plan(
    tables, horizon: str = "365D", every_months: int = 3, history_years: float = 1.0
) -> tuple[list[pd.Timestamp], pd.Timestamp]:
    """Training as-of dates and a test date for the data in ``tables``.

    The test date is the latest quarter start (1 January, April, July, October) whose
    label window ends by the last published inspection; training dates run every
    ``every_months`` from ``history_years`` after the first recorded inspection up to
    the test date minus the horizon, so no training label overlaps the test window.
    :class:`~creditrisk.RiskModel` validates out of time on these dates, which needs
    them to span at least one horizon: with a shorter history the training dates start
    at the first inspection instead (and a warning says so), and with less still, the
    latest training date alone is used (entities are then split).

    Parameters
    ----------
    tables : EventTables
        The register; its inspections and known dates bound the plan.
    horizon : str, default "365D"
        The label window (:func:`~creditrisk.features.labels.horizon_days`).
    every_months : int, default 3
        Months between training dates, counted back from the test date.
    history_years : float, default 1.0
        History wanted before the first training date.

    Returns
    -------
    train : list of pandas.Timestamp
        The training as-of dates, in order.
    test : pandas.Timestamp
        The test as-of date.

    Raises
    ------
    ValueError
        The data are too short for a training and a test date a horizon apart (the
        message gives the span).

    Examples
    --------
    >>> import creditrisk as cr
    >>> train, test = as_of_plan(cr.load_sample(), every_months=12)
    >>> [str(d.date()) for d in train][:2]
    ['2019-01-01', '2020-01-01']
    >>> str(train[-1].date()), str(test.date())  # a whole horizon apart
    ('2024-01-01', '2025-01-01')
    """
    import warnings

    last = known_until(tables)
    # labels come from inspections: the history starts with the first one recorded
    first = pd.Timestamp(tables.inspections["inspected_on"].min()).normalize()
    first = first.replace(day=1) if first.day == 1 else first + pd.offsets.MonthBegin(1)
    days = horizon_days(horizon)
    latest = last + pd.Timedelta(days=1) - pd.Timedelta(days=days)
    quarters = [d for d in pd.date_range(first, latest, freq="MS") if d.month in (1, 4, 7, 10)]
    end = quarters[-1] - pd.Timedelta(days=days) if quarters else None
    if not quarters or end < first:
        raise ValueError(
            f"the data ({first.date()} to {last.date()}) are too short for a training and a "
            f"test date {horizon} apart"
        )
    test = quarters[-1]

    def every(start: pd.Timestamp) -> list[pd.Timestamp]:
        dates = pd.date_range(start, end, freq="MS")
        step = [
            d
            for d in dates
            if (test.year * 12 + test.month - d.year * 12 - d.month) % every_months == 0
        ]
        return list(step)

    train = every(first + pd.DateOffset(months=round(12 * history_years)))
    if not train or (train[-1] - train[0]).days < days:
        wider = every(first)
        if wider and (wider[-1] - wider[0]).days >= days:
            warnings.warn(
                f"{history_years} years of history before the first training date would "
                f"leave no out-of-time fold: training from {wider[0].date()} instead",
                stacklevel=2,
            )
            train = wider
        elif train or wider:
            train = [(train or wider)[-1]]
    if not train:
        raise ValueError(f"no training date ends its {horizon} label window before {test.date()}")
    return train, test


def fit_model(
    tables,
    policy: Policy | str = "national",
    train_as_of=None,
    test_as_of=None,
    horizon: str | None = None,
    **params,
) -> TrainingResult:
    """Features and labels over the training dates, fit, then measure on the test date.

    Features follow the policy's disclosure settings; the label is the register's
    (``inspection_finding`` with the mapping's kinds, finding and horizon, see
    :func:`~creditrisk.build_labels`). ``params`` go to :class:`RiskModel`.

    Parameters
    ----------
    tables : EventTables
        The register.
    policy : Policy or str, default "national"
        The policy, or the name or path of one (:meth:`Policy.load`).
    train_as_of : list of dates, optional
        The training as-of dates (default: :func:`as_of_plan`'s).
    test_as_of : date, optional
        The test as-of date (default: :func:`as_of_plan`'s).
    horizon : str, optional
        The label window (default: the register mapping's, else ``"365D"``); also the
        model's ``horizon`` unless ``params`` sets it.
    **params
        Parameters of :class:`RiskModel` (``n_estimators``, ``num_threads``, ...).

    Returns
    -------
    TrainingResult
        The model, the test features and labels, the test metrics and the model card.

    Examples
    --------
    >>> import creditrisk as cr
    >>> result = fit_model(cr.load_sample(), n_estimators=30)
    >>> 0.5 < result.metrics["auc"] <= 1
    True
    """
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    if horizon is None:
        register = getattr(tables, "register", None)
        horizon = register.labels.horizon if register is not None else "365D"
    params.setdefault("horizon", horizon)
    if train_as_of is None or test_as_of is None:
        planned_train, planned_test = as_of_plan(tables, horizon)
        train_as_of = planned_train if train_as_of is None else train_as_of
        test_as_of = planned_test if test_as_of is None else test_as_of
    spec = policy.feature_spec()
    train_spine = spine(tables, list(train_as_of))
    X = build_features(tables, train_spine, spec)
    y = build_labels(tables, train_spine, outcome="inspection_finding", horizon=horizon)
    who = label_nuisance(tables, train_spine, horizon=horizon)  # inspectors, where known
    nuisance = who if who.shape[1] and who.notna().any(axis=None) else None
    model = RiskModel(policy=policy, **params).fit(X, y, nuisance=nuisance)
    test_spine = spine(tables, test_as_of)
    X_test = build_features(tables, test_spine, spec)
    y_test = build_labels(tables, test_spine, outcome="inspection_finding", horizon=horizon)
    p = model.predict_proba(X_test)[:, 1]
    declared = [d.feature for d in declared_features(tables, spec)]
    baselines = baseline_table(y_test, p, baseline_scores(X, y, X_test, declared))
    return TrainingResult(
        model=model,
        X_test=X_test,
        y_test=y_test,
        metrics=metrics(y_test, p),
        card=model_card(model, X_test, y_test, baselines=baselines),
        baselines=baselines,
    )


def sample_model_path() -> Path:
    """The reference model trained on the packaged sample (``models/sample``).

    Returns
    -------
    pathlib.Path
        The model directory inside the installed package, for :meth:`RiskModel.load`.

    Examples
    --------
    >>> (sample_model_path() / "model.txt").is_file()
    True
    >>> RiskModel.load(sample_model_path()).policy_.name
    'national'
    """
    return Path(str(resources.files("creditrisk.model").joinpath("sample")))
