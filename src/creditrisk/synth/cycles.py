"""The loop closed on a synthetic world: classify, plan, inspect, learn, month after month.

A regulator's system is a loop: tiers decide who is inspected, the inspections' results
become the next training labels, and finding rates are published. Targeting changes
which outcomes are ever seen (DOMAIN.md, "Selective labels"). :func:`run_cycles` runs
the loop on a :class:`~creditrisk.synth.world.World`, whose truth knows every entity's
chance of a finding, and measures what the loop cannot see by itself.

Each monthly cycle, at the first day of the month:

1. retrain on schedule (every ``retrain_every`` cycles): features and
   ``inspection_finding`` labels at as-of dates whose label windows end by the cycle's
   date, so only results published before it are learned from;
2. score the register (every entity registered at that date) and tier it;
3. set the rates per stratum by the regime (:data:`REGIMES`) and draw the plan
   (:func:`~creditrisk.inspection.draw.draw`, period one month): every visit records
   its entity's exact chance of being drawn;
4. let the world decide the outcomes of exactly those visits: every registered entity
   has an outcome for the month, drawn from its true probability
   (``world.truth.probability(as_of, horizon_months=1)``; a finding at a dormant entity
   is ``not_found_at_address``), and only the visited ones are revealed, inspected on a
   day of the month and published 1 to 20 days later;
5. add the results to the register (:func:`~creditrisk.inspection.results.add_results`)
   and record the cycle.

Before the first cycle the world's own random inspections from that date on are taken
out of the register: the regime's draw replaces the world's. Everything else the world
simulated goes on (reports, listings, penalties, targeted, complaint and joint
inspections), including penalties that followed the removed inspections, so conduct
features are a little richer than the regime alone would make them. Outcomes come from
the truth's probability, which averages over inspectors' strictness: in the loop the
inspectors sent do not change what is found.

The regimes, on the same world, seed and budget (inspections per month):

``uniform``
    every registered entity at ``budget / entities``: no targeting at all.
``tiered``
    the policy's frequency table (tier ratios, key-sector minimums, the random floor)
    with every rate scaled by one factor to spend the budget, never below the floor.
``allocation``
    :func:`~creditrisk.inspection.allocation.allocate`: the rates that find the most
    within the budget, under the policy's floor, ranges and minimums.
``allocation_no_floor``
    the same allocation with the random floor removed (no ``random_floor`` and every
    tier's ratio range starting at 0; key-sector and tier minimums stay): strata can
    get no inspection at all, and their entities no chance.

The random floor's inspections (:func:`~creditrisk.inspection.estimates.floor_sample`)
are a uniform sample of the register inside the plan: the model is measured there
against the oracle (ranking by the true probability). Without a floor there is no such
sample. The world's truth measures what the loop cannot: the true population finding
rate of the month (the share of registered entities whose outcome is a finding) and
the model's soft AUC against the true probabilities of every registered entity.

Examples
--------
>>> import creditrisk as cr
>>> staffed = cr.synth.WorldParams(min_inspectors_per_region=20)  # staff a small world
>>> world = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=3, params=staffed)
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> table = run_cycles(world, "national", months=2, budget=60, retrain_every=None,
...                    seed=1, regime="uniform", model=model)
>>> table["cycle"].tolist(), bool(table["inspections"].between(50, 70).all())
([0, 1], True)
>>> bool((table["never_inspected"] < table["entities"]).all())
True
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditrisk.data.spine import spine
from creditrisk.data.tables import EventTables
from creditrisk.features.builder import build_features
from creditrisk.features.labels import build_labels, horizon_days, label_nuisance
from creditrisk.inspection.allocation import allocate
from creditrisk.inspection.draw import draw
from creditrisk.inspection.estimates import (
    finding_rates,
    floor_sample,
    inspected_outcomes,
    random_floor,
)
from creditrisk.inspection.frequency import frequency_table
from creditrisk.inspection.register import InspectorRegister
from creditrisk.inspection.results import add_results
from creditrisk.model.estimator import RiskModel
from creditrisk.model.evaluation import metrics, soft_auc
from creditrisk.policy.rules import Policy
from creditrisk.synth.world import World

__all__ = [
    "REGIMES",
    "Cycle",
    "compare_regimes",
    "cycles",
    "initial_model",
    "regime_rates",
    "run_cycles",
    "training_dates",
]

#: the targeting regimes :func:`run_cycles` compares, from no targeting to no floor
REGIMES = ("uniform", "tiered", "allocation", "allocation_no_floor")
PERIOD = "1M"  # one cycle: plans and rates are per month


@dataclass(frozen=True, eq=False)
class Cycle:
    """One month of the loop: what was decided, what the world revealed, what it cost.

    Parameters
    ----------
    regime : str
        The regime (one of :data:`REGIMES`).
    cycle : int
        The cycle's number, from 0.
    as_of : pandas.Timestamp
        The cycle's date: the first day of its month.
    model : RiskModel
        The model in use (retrained at this date when the schedule said so).
    scores : pandas.DataFrame
        The register scored at ``as_of``: entity_id, probability, tier, key_sector,
        region.
    rates : pandas.DataFrame
        The rates per stratum the plan was drawn with (frequency-table columns).
    policy : Policy
        The policy the plan was drawn under (for ``allocation_no_floor``, the policy
        without its floor).
    floor : float
        The random floor's rate this month (0 without one).
    plan : pandas.DataFrame
        The plan (:func:`~creditrisk.inspection.draw.draw`).
    results : pandas.DataFrame
        The revealed results of the plan's visits: entity_id, visit, inspected_on,
        outcome, published_on.
    truth : pandas.DataFrame
        What only the world knows, per registered entity (indexed by entity_id):
        ``probability`` (true, for this month) and ``finding`` (its outcome had it been
        inspected). The loop never reads it; the record does.
    tables : EventTables
        The register after the cycle's results were added: what the next cycle learns
        from.
    record : dict
        The cycle's row of :func:`run_cycles`' table.

    Examples
    --------
    >>> import creditrisk as cr
    >>> staffed = cr.synth.WorldParams(min_inspectors_per_region=20)  # staff a small world
    >>> world = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=3, params=staffed)
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> first = next(cycles(world, "national", months=1, budget=60, regime="uniform",
    ...                     model=model))
    >>> set(first.results["entity_id"]) == set(first.plan["entity_id"])
    True
    """

    regime: str
    cycle: int
    as_of: pd.Timestamp
    model: RiskModel
    scores: pd.DataFrame
    rates: pd.DataFrame
    policy: Policy
    floor: float
    plan: pd.DataFrame
    results: pd.DataFrame
    truth: pd.DataFrame
    tables: EventTables
    record: dict


# -- the regimes -------------------------------------------------------------------------
def _without_floor(policy: Policy) -> Policy:
    data = policy.to_dict()
    data["name"] = f"{policy.name}_no_floor"
    ins = data["inspection"]
    ins.pop("random_floor", None)  # absent, not 0: a policy may not set a floor of 0
    ins["ratio_ranges"] = {t: [0.0, high] for t, (_, high) in ins.get("ratio_ranges", {}).items()}
    return Policy.from_dict(data)


def _scale(rates: np.ndarray, entities: np.ndarray, floor: float, budget: float) -> float:
    """The factor c with sum(entities * max(floor, c * rates)) == budget (exact)."""
    need = float(entities.sum() * floor)
    if budget < need * (1 - 1e-12):
        raise ValueError(
            f"a budget of {budget:,.6g} inspections is below the {need:,.6g} that the random "
            f"floor alone needs ({entities.sum():,.0f} entities at {floor:.4%})"
        )
    positive = rates > 0
    leave = np.full(len(rates), np.inf)
    leave[positive] = floor / rates[positive]  # c at which a stratum leaves the floor
    knots = np.unique(np.concatenate([[0.0], leave[positive]]))
    for low, high in zip(knots, [*knots[1:], np.inf], strict=True):
        above = leave <= low
        weight = float((entities * rates)[above].sum())
        if weight <= 0:
            continue
        c = (budget - floor * float(entities[~above].sum())) / weight
        if low - 1e-12 <= c <= high:
            return c
    raise ValueError(f"no rate in the policy's table is above zero: cannot spend {budget:,.6g}")


def _with_rates(table: pd.DataFrame, rate: np.ndarray, rule: list[str]) -> pd.DataFrame:
    out = table.copy()
    n = out["entities"].to_numpy(dtype=np.float64)
    out["rate"] = rate
    out["sampling_ratio"] = np.minimum(rate, 1.0)
    out["min_per_entity"] = np.floor(rate).astype(int)
    out["expected_inspections"] = n * rate
    out["expected_findings"] = rate * n * out["mean_probability"].to_numpy(dtype=np.float64)
    out["rule"] = rule
    return out


def regime_rates(
    scores: pd.DataFrame, policy: Policy, regime: str, budget: float, period: str = PERIOD
) -> tuple[pd.DataFrame, Policy, float]:
    """The rates per stratum a regime draws with, under which policy, and its floor.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity: tier, probability and key_sector.
    policy : Policy
        The policy: its rates, floor, ranges and minimums per :data:`REGIMES`.
    regime : str
        One of :data:`REGIMES` (see the module).
    budget : float
        Inspections per period.
    period : str, default "1M"
        The period of the budget and rates.

    Returns
    -------
    rates : pandas.DataFrame
        The frequency-table columns, one row per stratum, with the regime's ``rate``.
    policy : Policy
        The policy to draw under (``allocation_no_floor``: without its floor).
    floor : float
        Every entity's smallest chance of a visit (``uniform``: the common rate; 0
        without a floor).

    Raises
    ------
    ValueError
        An unknown regime, a budget that is not positive, or below what the regime's
        floor and minimums need.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"entity_id": [f"E{i}" for i in range(1000)],
    ...     "probability": [0.1] * 900 + [0.6] * 100,
    ...     "tier": pd.Categorical(["A"] * 900 + ["D"] * 100, categories=list("ABCD")),
    ...     "key_sector": "none"})
    >>> policy = Policy.load("national")
    >>> for regime in REGIMES:
    ...     rates, _, floor = regime_rates(scores, policy, regime, budget=5)
    ...     print(regime, rates["rate"].round(5).tolist(), round(floor, 5))
    uniform [0.005, 0.005] 0.005
    tiered [0.00128, 0.03846] 0.00083
    allocation [0.00083, 0.0425] 0.00083
    allocation_no_floor [0.0, 0.05] 0.0
    """
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {list(REGIMES)}, not {regime!r}")
    if not budget > 0:
        raise ValueError(f"budget must be a positive number of inspections, not {budget}")
    table = frequency_table(scores, policy, period)
    n = table["entities"].to_numpy(dtype=np.float64)
    if regime == "uniform":
        rate = budget / n.sum()
        rates = _with_rates(
            table, np.full(len(table), rate), [f"uniform: {budget:g} over all"] * len(table)
        )
        return rates, policy, min(rate, 1.0)
    if regime == "tiered":
        floor = random_floor(policy, period)
        c = _scale(table["rate"].to_numpy(dtype=np.float64), n, floor, budget)
        rate = np.maximum(floor, c * table["rate"].to_numpy(dtype=np.float64))
        rule = [f"{r}, scaled x{c:.3g} to the budget" for r in table["rule"]]
        return _with_rates(table, rate, rule), policy, floor
    chosen = policy if regime == "allocation" else _without_floor(policy)
    rates = allocate(scores, budget, chosen, period).table
    return rates, chosen, random_floor(chosen, period)


# -- the loop ----------------------------------------------------------------------------
def _month_start(date) -> pd.Timestamp:
    return pd.Timestamp(date).to_period("M").to_timestamp()


def _first_cycle(world: World, months: int, start) -> pd.Timestamp:
    last = _month_start(world.end)
    first = last - pd.DateOffset(months=months - 1) if start is None else pd.Timestamp(start)
    if first != _month_start(first):
        raise ValueError(f"start must be the first day of a month, not {first.date()}")
    end = first + pd.DateOffset(months=months - 1)
    if first <= _month_start(world.start) or end > last:
        raise ValueError(
            f"{months} monthly cycles from {first.date()} do not fit in the world "
            f"({world.start.date()} to {world.end.date()}): the first must come after its "
            f"first month and the last ({end.date()}) in its last month"
        )
    return first


def training_dates(
    as_of, earliest, horizon: str = "365D", every_months: int = 6, history_years: float = 3.0
) -> list[pd.Timestamp]:
    """As-of dates to train on at ``as_of``: label windows that end by then.

    The latest is the last first-of-month whose ``horizon`` ends by ``as_of``; the others
    go back every ``every_months`` over ``history_years``, never before ``earliest``.
    When they span less than a horizon (a short history), no model could be validated
    out of time on them: the latest alone is returned (:class:`RiskModel` then splits
    its entities).

    Parameters
    ----------
    as_of : date
        The date of the training: only results published before it are learned from.
    earliest : date
        No training date before it (the register's history must cover the features).
    horizon : str, default "365D"
        The label window.
    every_months : int, default 6
        Months between training dates.
    history_years : float, default 3.0
        The span of the training dates.

    Returns
    -------
    list of pandas.Timestamp
        The dates, oldest first.

    Raises
    ------
    ValueError
        No date fits between ``earliest`` and ``as_of`` minus the horizon.

    Examples
    --------
    >>> [str(d.date()) for d in training_dates("2024-01-01", "2020-06-01")]
    ['2020-07-01', '2021-01-01', '2021-07-01', '2022-01-01', '2022-07-01', '2023-01-01']
    >>> [str(d.date()) for d in training_dates("2024-01-01", "2022-06-01")]
    ['2023-01-01']
    """
    days = horizon_days(horizon)
    last = _month_start(pd.Timestamp(as_of) - pd.Timedelta(days=days))
    count = int(history_years * 12 // every_months) + 1
    dates = [last - pd.DateOffset(months=every_months * k) for k in range(count)]
    dates = [d for d in dates if d >= pd.Timestamp(earliest)]
    if not dates:
        raise ValueError(
            f"no training date between {pd.Timestamp(earliest).date()} and "
            f"{last.date()} ({horizon} before {pd.Timestamp(as_of).date()})"
        )
    if (last - min(dates)).days < days:  # no fold out of time: one date, entities split
        return [last]
    return sorted(dates)


def _train(tables, policy: Policy, dates, horizon: str, params: dict) -> RiskModel:
    """A model fitted on the labelled rows of ``dates`` (and every row of the latest,
    which fixes the tier cut-offs): what fitting on every row gives, faster."""
    rows = spine(tables, list(dates))
    y = build_labels(tables, rows, outcome="inspection_finding", horizon=horizon)
    attrs = dict(y.attrs)
    keep = (y.notna() | (rows["as_of"] == rows["as_of"].max())).to_numpy()
    rows = rows[keep].reset_index(drop=True)
    y = y[keep].reset_index(drop=True)
    y.attrs = attrs
    X = build_features(tables, rows, policy.feature_spec())
    who = label_nuisance(tables, rows, horizon=horizon)
    nuisance = who if who.shape[1] and who.notna().any(axis=None) else None
    return RiskModel(policy=policy, horizon=horizon, **params).fit(X, y, nuisance=nuisance)


def initial_model(
    world: World,
    policy: Policy | str = "national",
    months: int = 12,
    start=None,
    model_params: dict | None = None,
    horizon: str = "365D",
    every_months: int = 6,
    history_years: float = 3.0,
) -> RiskModel:
    """The model the loop starts with: trained at the first cycle's date on the history.

    What :func:`cycles` trains when given no model, and what :func:`compare_regimes`
    trains once for every regime (the register is the same for all until the loop
    starts). The world's random inspections from the first cycle on are not in the
    history (the regime's draw replaces them); the as-of dates are
    :func:`training_dates`, a year after the world's start at the earliest.

    Parameters
    ----------
    world : World
        The synthetic world.
    policy : Policy or str, default "national"
        The policy (tiers and features); a name or path is loaded.
    months : int, default 12
        The loop's cycles (with ``start``, they fix the first cycle's date).
    start : date, optional
        The first cycle's date (default: the last cycle in the world's last month).
    model_params : dict, optional
        Parameters of the :class:`RiskModel` (``num_threads``, ...).
    horizon, every_months, history_years
        As for :func:`training_dates`.

    Returns
    -------
    RiskModel
        Fitted on the labelled rows of the training dates (and every row of the latest,
        which fixes the tier cut-offs): what fitting on every row gives, faster.

    Raises
    ------
    ValueError
        The cycles do not fit in the world, or it has too little history to train on.

    Examples
    --------
    >>> import creditrisk as cr
    >>> world = cr.synth.generate(3_000, "2020-01-01", "2022-12-31", seed=3)
    >>> model = initial_model(world, months=3, model_params={"n_estimators": 20})
    >>> model.training_["as_of"][-1]  # a 365-day label window ends by 2022-10-01
    '2021-10-01'
    """
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    first = _first_cycle(world, int(months), start)
    earliest = _month_start(world.start) + pd.DateOffset(months=12)
    dates = training_dates(first, earliest, horizon, every_months, history_years)
    return _train(_prepare(world, first), policy, dates, horizon, dict(model_params or {}))


def _prepare(world: World, first: pd.Timestamp):
    """The register the loop starts from: the world's random draw ends at ``first``."""
    ins = world.tables.inspections
    drop = (ins["kind"].astype(str) == "random") & (ins["inspected_on"] >= first)
    return world.tables.replace(inspections=ins[~drop.to_numpy()].reset_index(drop=True))


def _seed(seed: int, *keys: int) -> int:
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def _potential(world: World, as_of: pd.Timestamp, seed: int, cycle: int) -> pd.DataFrame:
    """Every entity's outcome for the month had it been inspected, and when."""
    truth = world.truth
    rng = np.random.default_rng([seed, cycle, 1])
    n = len(truth.entity_ids)
    u = rng.random(n)
    day = rng.integers(0, as_of.days_in_month, n)
    lag = rng.integers(1, 21, n)
    p = truth.probability(as_of, horizon_months=1).to_numpy()
    dormant = truth.dormant(as_of).to_numpy(dtype=np.float64, na_value=0.0) > 0
    return pd.DataFrame(
        {
            "probability": p,
            "finding": u < np.nan_to_num(p),
            "dormant": dormant,
            "day": day,
            "lag": lag,
        },
        index=truth.entity_ids,
    )


def _results(
    plan: pd.DataFrame, potential: pd.DataFrame, as_of: pd.Timestamp, gone: pd.Series
) -> pd.DataFrame:
    """The plan's visits as results: an entity deregistered later in the month is
    visited on its last day at the latest."""
    ids = plan["entity_id"].to_numpy()
    who = potential.loc[ids]
    inspected = as_of + pd.to_timedelta(who["day"].to_numpy(), unit="D")
    last = gone.reindex(ids).to_numpy(dtype="datetime64[ns]")
    inspected = pd.DatetimeIndex(
        np.where(np.isnat(last) | (last > inspected.to_numpy()), inspected.to_numpy(), last)
    )
    outcome = np.where(
        who["finding"].to_numpy(),
        np.where(who["dormant"].to_numpy(), "not_found_at_address", "issues_found"),
        "compliant",
    )
    return pd.DataFrame(
        {
            "entity_id": plan["entity_id"].to_numpy(),
            "visit": plan["visit"].to_numpy(),
            "inspected_on": inspected,
            "outcome": outcome,
            "published_on": inspected + pd.to_timedelta(who["lag"].to_numpy(), unit="D"),
        }
    )


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    return metrics(y, score)["auc"] if len(y) else float("nan")


def _record(c: dict, policy: Policy, ever: pd.Series) -> dict:
    scores, truth, plan, results = c["scores"], c["truth"], c["plan"], c["results"]
    outcomes = inspected_outcomes(plan, results)
    rates = finding_rates(plan, results, scores, c["policy"], table=c["rates"])
    rates = rates.set_index("estimator")
    probability = scores.set_index("entity_id")["probability"]
    floor = floor_sample(outcomes, c["floor"], _seed(c["seed"], c["cycle"], 2))
    true_rate = float(truth["finding"].mean())
    model = c["model"]
    trained = model.training_.get("as_of") or [None]
    record = {
        "regime": c["regime"],
        "cycle": c["cycle"],
        "as_of": c["as_of"],
        "model_trained": pd.Timestamp(trained[-1]) if trained[-1] else pd.NaT,
        "model_labels": int(model.training_.get("labelled", 0)),
        "entities": len(scores),
        "inspections": len(plan),
        "inspected": len(outcomes),
        "findings": int((results["outcome"] != "compliant").sum()),
    }
    record["findings_per_100"] = (
        100 * record["findings"] / record["inspections"] if len(plan) else float("nan")
    )
    fy = floor["finding"].to_numpy()
    record |= {
        "floor_inspections": len(floor),
        "auc_floor": _auc(fy, probability.reindex(floor["entity_id"]).to_numpy()),
        "oracle_auc_floor": _auc(fy, truth["probability"].reindex(floor["entity_id"]).to_numpy()),
        "auc_weighted": metrics(
            outcomes["finding"],
            probability.reindex(outcomes["entity_id"]).to_numpy(),
            sample_weight=outcomes["weight"],
        )["auc"],
        "soft_auc": soft_auc(truth["probability"], probability.reindex(truth.index).to_numpy()),
        "oracle_soft_auc": soft_auc(truth["probability"], truth["probability"]),
    }
    shares = scores["tier"].astype(str).value_counts(normalize=True)
    record |= {f"share_{t}": float(shares.get(t, 0.0)) for t in policy.tiers}
    record["true_rate"] = true_rate
    for name, estimator in (("naive", "naive"), ("ht", "horvitz_thompson"), ("hajek", "hajek")):
        row = rates.loc[estimator]
        record[f"{name}_rate"] = float(row["estimate"])
        record[f"{name}_error"] = float(row["estimate"]) - true_rate
        record[f"{name}_se"] = float(row["se"])
        record[f"{name}_low"], record[f"{name}_high"] = float(row["low"]), float(row["high"])
        record[f"{name}_covers"] = bool(row["low"] <= true_rate <= row["high"])
    record["uncovered"] = int(rates["uncovered"].iat[0])
    record["never_inspected"] = int((~ever.reindex(scores["entity_id"]).to_numpy()).sum())
    return record


def cycles(
    world: World,
    policy: Policy | str = "national",
    months: int = 12,
    budget: float = 1_000,
    retrain_every: int | None = 6,
    seed: int = 0,
    regime: str = "tiered",
    start=None,
    model: RiskModel | None = None,
    model_params: dict | None = None,
    horizon: str = "365D",
    every_months: int = 6,
    history_years: float = 3.0,
) -> Iterator[Cycle]:
    """Run the loop, one :class:`Cycle` at a time (see the module for each step).

    Parameters are those of :func:`run_cycles`.

    Parameters
    ----------
    world : World
        The synthetic world (:func:`creditrisk.synth.generate`).
    policy : Policy or str, default "national"
        The policy: tiers, rates, floor; a name or path is loaded.
    months : int, default 12
        Monthly cycles.
    budget : float, default 1_000
        Inspections per month.
    retrain_every : int or None, default 6
        Retrain every this many cycles (None or 0: never).
    seed : int, default 0
        Seed of the draws, the outcomes and the floor's sample.
    regime : str, default "tiered"
        One of :data:`REGIMES`.
    start : date, optional
        The first cycle's date, a first of the month (default: the last cycle falls in
        the world's last month).
    model : RiskModel, optional
        The model of the first cycles (default: trained at the first cycle's date).
    model_params : dict, optional
        Parameters of every :class:`RiskModel` trained (``num_threads``, ...).
    horizon : str, default "365D"
        The label window of the training.
    every_months : int, default 6
        Months between training as-of dates (:func:`training_dates`).
    history_years : float, default 3.0
        The span of the training as-of dates.

    Yields
    ------
    Cycle
        Each month's scores, rates, plan, results, the world's truth and the record.

    Raises
    ------
    ValueError
        Bad input (an unknown regime, a budget the regime cannot spend, months that do
        not fit in the world, too little history to train on).
    StaffingError
        The world's inspectors cannot staff a plan. A small world has one or two
        specialists per key sector, and the draw never sends the inspectors of an
        entity's last inspection again: generate it with more inspectors
        (``WorldParams(min_inspectors_per_region=20)``).

    Examples
    --------
    >>> import creditrisk as cr
    >>> staffed = cr.synth.WorldParams(min_inspectors_per_region=20)  # staff a small world
    >>> world = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=3, params=staffed)
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> [c.as_of.month for c in cycles(world, months=2, budget=60, regime="uniform",
    ...                                model=model)]
    [11, 12]
    """
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    if regime not in REGIMES:
        raise ValueError(f"regime must be one of {list(REGIMES)}, not {regime!r}")
    if int(months) < 1:
        raise ValueError(f"months must be at least 1, not {months}")
    if not budget > 0:
        raise ValueError(f"budget must be a positive number of inspections, not {budget}")
    if retrain_every is not None and retrain_every < 0:
        raise ValueError(f"retrain_every must be a number of cycles (or None), not {retrain_every}")
    params = dict(model_params or {})
    first = _first_cycle(world, int(months), start)
    earliest = _month_start(world.start) + pd.DateOffset(months=12)
    tables = _prepare(world, first)
    register = InspectorRegister(world.inspectors, world.conflicts)
    ever = pd.Series(False, index=world.truth.entity_ids.astype(str))
    gone = tables.enterprises.set_index("entity_id")["deregistered_on"]
    for t in range(int(months)):
        as_of = first + pd.DateOffset(months=t)
        if model is None or (t and retrain_every and t % retrain_every == 0):
            dates = training_dates(as_of, earliest, horizon, every_months, history_years)
            model = _train(tables, policy, dates, horizon, params)
        rows = spine(tables, as_of)
        X = build_features(tables, rows, policy.feature_spec())
        scores = model.classify(X, top_k=0)[["entity_id", "probability", "tier"]]
        scores = scores.assign(
            key_sector=X["key_sector"].to_numpy(), region=X["region"].to_numpy()
        ).reset_index(drop=True)
        rates, drawn_under, floor = regime_rates(scores, policy, regime, budget)
        # the inspectors to avoid: those of each entity's last inspection before now (the
        # regulator knows whom it sent before the result is published); only that last
        # inspection counts, so only it is passed on (the same plan, found faster)
        known = tables.inspections[(tables.inspections["inspected_on"] < as_of).to_numpy()]
        known = known.sort_values(["entity_id", "inspected_on"], kind="stable")
        known = known.drop_duplicates("entity_id", keep="last")
        plan = draw(scores, register, drawn_under, _seed(seed, t), PERIOD, rates, known)
        potential = _potential(world, as_of, seed, t)
        truth = potential.loc[scores["entity_id"].to_numpy(), ["probability", "finding"]]
        if truth["probability"].isna().any():
            raise ValueError(f"the world's truth has no probability for some entities at {as_of}")
        results = _results(plan, potential, as_of, gone)
        tables = add_results(tables, plan, results)
        ever[plan["entity_id"].to_numpy()] = True
        parts = {
            "regime": regime,
            "cycle": t,
            "as_of": as_of,
            "model": model,
            "scores": scores,
            "rates": rates,
            "policy": drawn_under,
            "floor": floor,
            "plan": plan,
            "results": results,
            "truth": truth,
        }
        record = _record(parts | {"seed": seed}, policy, ever)
        yield Cycle(**parts, tables=tables, record=record)


def run_cycles(
    world: World,
    policy: Policy | str = "national",
    months: int = 12,
    budget: float = 1_000,
    retrain_every: int | None = 6,
    seed: int = 0,
    regime: str = "tiered",
    start=None,
    model: RiskModel | None = None,
    model_params: dict | None = None,
    horizon: str = "365D",
    every_months: int = 6,
    history_years: float = 3.0,
) -> pd.DataFrame:
    """The loop's cycle table: one row per month of classify, plan, inspect, retrain.

    The same world, policy, arguments and seed give the same table, bit for bit.

    Parameters
    ----------
    world : World
        The synthetic world (:func:`creditrisk.synth.generate`); the cycles fall inside
        it.
    policy : Policy or str, default "national"
        The policy: tiers, rates, floor; a name or path is loaded.
    months : int, default 12
        Monthly cycles.
    budget : float, default 1_000
        Inspections per month (every regime spends it, in expectation).
    retrain_every : int or None, default 6
        Retrain every this many cycles (None or 0: never).
    seed : int, default 0
        Seed of the draws, the outcomes and the floor's sample.
    regime : str, default "tiered"
        One of :data:`REGIMES`.
    start : date, optional
        The first cycle's date, a first of the month (default: the last cycle falls in
        the world's last month).
    model : RiskModel, optional
        The model of the first cycles (default: trained at the first cycle's date on
        the world's history; :func:`compare_regimes` trains it once for all regimes).
    model_params : dict, optional
        Parameters of every :class:`RiskModel` trained (``num_threads``, ...).
    horizon : str, default "365D"
        The label window of the training.
    every_months : int, default 6
        Months between training as-of dates (:func:`training_dates`).
    history_years : float, default 3.0
        The span of the training as-of dates.

    Returns
    -------
    pandas.DataFrame
        One row per cycle: regime, cycle, as_of; model_trained (its latest training
        date) and model_labels (its labelled training rows); entities (registered),
        inspections (visits), inspected (entities), findings, findings_per_100
        (findings per 100 inspections); floor_inspections, auc_floor and
        oracle_auc_floor (the model's and the true probability's AUC on the random
        floor's inspections; NaN without a floor), auc_weighted (the model's AUC on
        every inspection, weighted by ``1 / inclusion_probability``), soft_auc and
        oracle_soft_auc (against the true probabilities of every registered entity);
        share_<tier> (tier shares); true_rate (the share of registered entities whose
        outcome this month is a finding); for each of naive, ht (Horvitz-Thompson) and
        hajek: <name>_rate, <name>_error (minus true_rate), <name>_se, <name>_low,
        <name>_high and <name>_covers (the 95% interval holds true_rate); uncovered
        (entities with no chance of being drawn) and never_inspected (registered
        entities the loop has not inspected yet, this cycle included).

    Raises
    ------
    ValueError
        Bad input, or a plan the world's inspectors cannot staff (see :func:`cycles`).

    Examples
    --------
    >>> import creditrisk as cr
    >>> staffed = cr.synth.WorldParams(min_inspectors_per_region=20)  # staff a small world
    >>> world = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=3, params=staffed)
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> t = run_cycles(world, months=2, budget=60, regime="uniform", model=model)
    >>> bool((t["ht_low"] <= t["ht_rate"]).all()), t["uncovered"].tolist()
    (True, [0, 0])
    """
    records = [
        c.record
        for c in cycles(
            world,
            policy,
            months,
            budget,
            retrain_every,
            seed,
            regime,
            start,
            model,
            model_params,
            horizon,
            every_months,
            history_years,
        )
    ]
    table = pd.DataFrame(records)
    table["as_of"] = pd.to_datetime(table["as_of"])
    table["model_trained"] = pd.to_datetime(table["model_trained"])
    return table


def compare_regimes(
    world: World,
    policy: Policy | str = "national",
    regimes=REGIMES,
    months: int = 12,
    budget: float = 1_000,
    retrain_every: int | None = 6,
    seed: int = 0,
    start=None,
    model: RiskModel | None = None,
    model_params: dict | None = None,
    horizon: str = "365D",
    every_months: int = 6,
    history_years: float = 3.0,
) -> pd.DataFrame:
    """:func:`run_cycles` for several regimes on the same world, seed and first model.

    Parameters
    ----------
    world : World
        The synthetic world.
    policy : Policy or str, default "national"
        The policy.
    regimes : sequence of str, default :data:`REGIMES`
        The regimes to run, in the table's order.
    months, budget, retrain_every, seed, start, model_params, horizon, every_months, history_years
        As for :func:`run_cycles`.
    model : RiskModel, optional
        The model of the first cycles; by default trained once, at the first cycle's
        date (the register is the same for every regime until the loop starts).

    Returns
    -------
    pandas.DataFrame
        The cycle tables one after the other (``regime`` tells them apart).

    Examples
    --------
    >>> import creditrisk as cr
    >>> staffed = cr.synth.WorldParams(min_inspectors_per_region=20)  # staff a small world
    >>> world = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=3, params=staffed)
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> t = compare_regimes(world, regimes=["uniform", "tiered"], months=1, budget=60,
    ...                     model=model)
    >>> t["regime"].tolist(), t["true_rate"].nunique()  # the same world, the same month
    (['uniform', 'tiered'], 1)
    """
    policy = policy if isinstance(policy, Policy) else Policy.load(policy)
    regimes = list(regimes)
    unknown = [r for r in regimes if r not in REGIMES]
    if unknown:
        raise ValueError(f"regimes must be among {list(REGIMES)}, not {unknown}")
    if model is None:
        model = initial_model(
            world, policy, months, start, model_params, horizon, every_months, history_years
        )
    tables = [
        run_cycles(
            world,
            policy,
            months,
            budget,
            retrain_every,
            seed,
            regime,
            start,
            model,
            model_params,
            horizon,
            every_months,
            history_years,
        )
        for regime in regimes
    ]
    return pd.concat(tables, ignore_index=True)
