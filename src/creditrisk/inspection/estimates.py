"""What a drawn plan's results say about the whole population: weighted finding rates.

Targeting decides who is inspected, so the finding rate among the inspected says little
about the population (DOMAIN.md, "Selective labels"). Every visit of a plan records its
entity's ``inclusion_probability`` (:func:`~creditrisk.inspection.draw.draw`), and
weighting each inspected entity by its inverse gives estimates of the population's
finding rate, overall and per tier, region, sector or any other column of the scores:

- ``naive``: the share of inspected entities with a finding (what a published hit rate
  says), with the interval of a simple random sample it is not;
- ``horvitz_thompson``: ``sum(y / pi) / N``, unbiased whenever every entity has a chance
  of being drawn (``N``: the entities of the population or domain);
- ``hajek``: ``sum(y / pi) / sum(1 / pi)``, the same weights as a ratio; a little
  biased in small samples but usually steadier, and the one to read first.

An entity's outcome is that of its first visit with a result: a finding is any outcome
but ``compliant`` (as :func:`~creditrisk.features.labels.build_labels` counts one).

The variance follows the draw's design: strata (tier x key sector) sampled
independently, each by randomised rounding then a simple random sample. In a stratum of
``N`` entities at rate ``f < 1``, the sample size ``m`` is ``floor(N f)`` or one more,
with probability ``rho``, the remainder of ``N f``; given ``m`` the sample is simple
random. The weighted total ``T = sum(z / f)`` of a variable ``z`` then has the exact
variance, per stratum, ``(E[m (1 - m/N)] S^2 + rho (1 - rho) Zbar^2) / f^2`` (``S^2``
and ``Zbar``: the stratum's variance and mean of ``z``). The estimate plugs in the
sample's ``m (1 - m/N)``, variance ``s^2`` and mean ``zbar``; strata at a rate of 1 or
more are a census (every entity has a first visit) and add nothing. Horvitz-Thompson
uses ``z = y`` (times the domain's indicator); Hajek linearises the ratio, ``z = y -
estimate`` in the domain and 0 outside, divided by the estimated domain size.

Where that is approximate, and how:

- a stratum with a single inspected entity has no ``s^2``: it borrows the pooled
  within-stratum variance of the other strata; a stratum with none adds nothing, so
  when many small strata draw no one, the standard error is too small;
- ``zbar^2`` overstates ``Zbar^2`` a little (conservative);
- intervals are normal (``estimate +- z se``), clipped to [0, 1]: poor when the strata
  that carry most of the weight have few inspections, or rates near 0 or 1 (a stratum
  of seven inspections at a 10% rate often shows no finding and no variance at all). In
  simulated draws from a fixed population (3,000 entities, 6 months of the national
  rates, about 7 inspections in tier A's largest stratum) 95% intervals covered the
  truth 85% of the time; with 20,000 entities over a year (about 100 there), 97%;
- entities with no chance of being drawn (a stratum at rate 0, an allocation without a
  random floor) are never seen: ``uncovered`` counts them. Horvitz-Thompson then counts
  them as if they had no findings and Hajek as if they were like the covered ones;
  neither is an estimate of the population any more.

Examples
--------
>>> import pandas as pd
>>> from creditrisk.policy import Policy
>>> from creditrisk.inspection import InspectorRegister, draw
>>> scores = pd.DataFrame({"entity_id": [f"E{i:03d}" for i in range(200)],
...     "tier": ["A"] * 150 + ["D"] * 50, "probability": 0.2, "key_sector": "none",
...     "region": "r1"})
>>> register = InspectorRegister(pd.DataFrame({"inspector_id": ["I1", "I2", "I3"],
...     "region": "r1", "speciality": "general"}))
>>> policy = Policy.load("national")
>>> plan = draw(scores, register, policy, seed=3)
>>> results = plan[["entity_id", "visit"]].assign(outcome="compliant")
>>> rates = finding_rates(plan, results, scores, policy)
>>> rates[["estimator", "inspected", "estimate"]].values.tolist()
[['naive', 17, 0.0], ['horvitz_thompson', 17, 0.0], ['hajek', 17, 0.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from creditrisk.data.schema import OUTCOMES
from creditrisk.inspection.frequency import frequency_table, period_years, strata
from creditrisk.policy.rules import Policy

__all__ = ["ESTIMATORS", "finding_rates", "floor_sample", "inspected_outcomes", "random_floor"]

#: the estimators of :func:`finding_rates`, in the order of its rows
ESTIMATORS = ("naive", "horvitz_thompson", "hajek")
_COLUMNS = ["estimator", "entities", "uncovered", "inspected", "findings"]
_VALUES = ["estimate", "se", "low", "high"]


def inspected_outcomes(plan: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One row per inspected entity: its stratum, chance of being drawn and outcome.

    Parameters
    ----------
    plan : pandas.DataFrame
        A plan of :func:`~creditrisk.inspection.draw.draw` (entity_id, visit, tier,
        sector, key_sector, region, inclusion_probability).
    results : pandas.DataFrame
        The results: entity_id, outcome and, when an entity has several visits, visit
        (1 when absent). Other columns are not read.

    Returns
    -------
    pandas.DataFrame
        Per entity with a result, sorted by entity_id: entity_id, tier, sector,
        key_sector, region, inclusion_probability, weight (its inverse), outcome (of
        the first visit with a result), finding (1.0 unless that outcome is
        ``compliant``) and visits (results of the entity).

    Raises
    ------
    ValueError
        A column is missing, a result is for no visit of the plan, or an outcome is
        not one of :data:`~creditrisk.data.schema.OUTCOMES`.

    Examples
    --------
    >>> plan = pd.DataFrame({"entity_id": ["E1", "E1", "E2"], "visit": [1, 2, 1],
    ...     "tier": ["D", "D", "A"], "sector": "other", "key_sector": "none",
    ...     "region": "r1", "inclusion_probability": [1.0, 1.0, 0.01]})
    >>> results = pd.DataFrame({"entity_id": ["E1", "E1", "E2"], "visit": [1, 2, 1],
    ...     "outcome": ["compliant", "issues_found", "not_found_at_address"]})
    >>> inspected_outcomes(plan, results)[["entity_id", "weight", "finding", "visits"]]
      entity_id  weight  finding  visits
    0        E1     1.0      0.0       2
    1        E2   100.0      1.0       1
    """
    missing = [c for c in ("entity_id", "outcome") if c not in results.columns]
    if missing:
        raise ValueError(f"results: missing columns {missing}")
    columns = ["entity_id", "visit", "tier", "sector", "key_sector", "region"]
    missing = [c for c in [*columns, "inclusion_probability"] if c not in plan.columns]
    if missing:
        raise ValueError(f"plan: missing columns {missing} (a plan of inspection.draw)")
    found = results[["entity_id", "outcome"]].astype({"entity_id": str})
    found["visit"] = (
        pd.to_numeric(results["visit"]).astype("int64").to_numpy() if "visit" in results else 1
    )
    found["outcome"] = found["outcome"].astype(str)
    bad = ~found["outcome"].isin(OUTCOMES)
    if bad.any():
        rows = found.loc[bad, ["entity_id", "outcome"]].head(5).to_dict("records")
        raise ValueError(f"results: outcome must be one of {list(OUTCOMES)}; rows {rows}")
    visits = plan[[*columns, "inclusion_probability"]].astype({"entity_id": str, "visit": "int64"})
    merged = found.merge(visits, on=["entity_id", "visit"], how="left", indicator=True)
    orphan = merged["_merge"] == "left_only"
    if orphan.any():
        rows = merged.loc[orphan, ["entity_id", "visit"]].head(5).to_dict("records")
        raise ValueError(f"results: {int(orphan.sum())} rows are not visits of the plan: {rows}")
    merged = merged.sort_values(["entity_id", "visit"], kind="stable")
    first = merged.drop_duplicates("entity_id").reset_index(drop=True)
    count = merged.groupby("entity_id", sort=True).size()
    out = first[["entity_id", "tier", "sector", "key_sector", "region"]].copy()
    out["tier"] = out["tier"].astype(str)
    out["inclusion_probability"] = first["inclusion_probability"].to_numpy(dtype=np.float64)
    out["weight"] = 1.0 / out["inclusion_probability"]
    out["outcome"] = first["outcome"].to_numpy()
    out["finding"] = (out["outcome"] != "compliant").astype(np.float64)
    out["visits"] = count.reindex(out["entity_id"]).to_numpy(dtype=np.int64)
    return out


def random_floor(policy: Policy, period: str = "1Y") -> float:
    """The policy's random floor as a rate per entity over ``period``.

    Parameters
    ----------
    policy : Policy
        Its ``inspection.random_floor`` (0 when unset) and ``inspection.period``.
    period : str, default "1Y"
        The period of the rate (:func:`~creditrisk.inspection.frequency.period_years`).

    Returns
    -------
    float
        Every entity's smallest chance of a visit in the period.

    Examples
    --------
    >>> round(random_floor(Policy.load("national"), "1M"), 6)  # 1% a year
    0.000833
    """
    ins = policy.inspection
    scale = period_years(period) / period_years(ins.get("period", "1Y"))
    return float(ins.get("random_floor", 0.0)) * scale


def floor_sample(outcomes: pd.DataFrame, rate: float, seed: int | list[int]) -> pd.DataFrame:
    """The random floor's inspections: inspected entities thinned to a uniform sample.

    Each inspected entity is kept with probability ``rate / inclusion_probability``,
    so every entity of the population is in the result with probability exactly
    ``rate``, whatever its tier: a simple random draw of the population, the unbiased
    yardstick for a model (measure it there, not on the targeted inspections).

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`inspected_outcomes` of a plan.
    rate : float
        The floor: every entity's smallest chance of being in the plan (the policy's
        :func:`random_floor` for the plan's period; the common rate of a uniform draw).
        0 gives an empty sample.
    seed : int or list of int
        Seed of the thinning (``numpy.random.default_rng``); entities are taken in
        entity_id order, so the same outcomes and seed keep the same entities.

    Returns
    -------
    pandas.DataFrame
        The rows of ``outcomes`` kept, in entity_id order.

    Raises
    ------
    ValueError
        An entity's inclusion probability is below ``rate``: the plan has no such floor.

    Examples
    --------
    >>> o = pd.DataFrame({"entity_id": ["E1", "E2", "E3"],
    ...                   "inclusion_probability": [0.01, 0.01, 1.0]})
    >>> floor_sample(o, 0.01, seed=0)["entity_id"].tolist()  # E3: kept 1 time in 100
    ['E1', 'E2']
    >>> len(floor_sample(o, 0.0, seed=0))
    0
    """
    ordered = outcomes.sort_values("entity_id", kind="stable")
    if rate <= 0 or not len(ordered):
        return ordered.iloc[:0]
    pi = ordered["inclusion_probability"].to_numpy(dtype=np.float64)
    low = pi < rate * (1 - 1e-9)
    if low.any():
        example = ordered["entity_id"].iloc[int(np.flatnonzero(low)[0])]
        raise ValueError(
            f"{int(low.sum())} inspected entities had less than the floor's chance {rate:.6g} "
            f"of being drawn (e.g. {example}): the plan has no such floor"
        )
    keep = np.random.default_rng(seed).random(len(ordered)) < rate / pi
    return ordered[keep]


def _design(scores: pd.DataFrame, policy: Policy, table: pd.DataFrame) -> pd.DataFrame:
    """Every entity of the population: its stratum, the stratum's rate, and its chance."""
    groups = strata(scores, policy)
    frame = pd.DataFrame(
        {
            "entity_id": scores["entity_id"].astype(str).to_numpy(),
            "tier": groups["tier"].to_numpy(),
            "sector": groups["sector"].to_numpy(),
        }
    )
    rates = table.assign(tier=table["tier"].astype(str))[["tier", "sector", "rate"]]
    frame = frame.merge(rates, on=["tier", "sector"], how="left")
    if frame["rate"].isna().any():
        row = frame.loc[frame["rate"].isna()].iloc[0]
        raise ValueError(f"table: no rate for stratum ({row['tier']}, {row['sector']})")
    frame["inclusion_probability"] = np.minimum(frame["rate"].to_numpy(dtype=np.float64), 1.0)
    return frame


def _strata_sizes(design: pd.DataFrame) -> pd.DataFrame:
    """Per stratum: entities N, rate f (sampled when below 1), remainder rho of N f."""
    size = design.groupby(["tier", "sector"], sort=True).agg(
        entities=("entity_id", "size"), rate=("rate", "first")
    )
    expected = np.round(size["entities"] * size["rate"].clip(upper=1.0), 9)
    size["rho"] = (expected - np.floor(expected)).where(size["rate"] < 1, 0.0)
    return size


def _total_variance(z: np.ndarray, stratum: np.ndarray, sizes: pd.DataFrame) -> float:
    """Estimated variance of ``sum(z / f)`` under the draw's design (see the module)."""
    frame = pd.DataFrame({"stratum": stratum, "z": z})
    g = frame.groupby("stratum", sort=True)["z"]
    per = pd.DataFrame({"m": g.size(), "mean": g.mean(), "var": g.var(ddof=1)})
    per = per.join(sizes, how="left")
    per = per[per["rate"] < 1]  # a census of first visits adds no variance
    if not len(per):
        return 0.0
    several = per["m"] >= 2
    dof = (per.loc[several, "m"] - 1).sum()
    pooled = (
        float(((per.loc[several, "m"] - 1) * per.loc[several, "var"]).sum() / dof) if dof else 0.0
    )
    s2 = per["var"].where(several, pooled)
    m, n, f, rho = per["m"], per["entities"], per["rate"], per["rho"]
    v = (m * (1 - m / n) * s2 + rho * (1 - rho) * per["mean"] ** 2) / f**2
    return float(v.sum())


def _interval(estimate: float, se: float, z: float) -> tuple[float, float]:
    if not np.isfinite(estimate) or not np.isfinite(se):
        return float("nan"), float("nan")
    return float(max(estimate - z * se, 0.0)), float(min(estimate + z * se, 1.0))


def _domain_rows(
    y: np.ndarray,
    w: np.ndarray,
    stratum: np.ndarray,
    inside: np.ndarray,
    entities: int,
    uncovered: int,
    sizes: pd.DataFrame,
    z: float,
) -> list[dict]:
    """The three estimators for one domain (``inside``: inspected entities in it)."""
    n = int(inside.sum())
    found = float(y[inside].sum())
    base = {"entities": entities, "uncovered": uncovered, "inspected": n, "findings": int(found)}
    nan = dict.fromkeys(_VALUES, float("nan"))
    if not n:
        return [base | {"estimator": e} | nan for e in ESTIMATORS]
    naive = found / n
    naive_se = float(np.sqrt(naive * (1 - naive) / n))
    rows = [base | {"estimator": "naive", "estimate": naive, "se": naive_se}]
    total = float((w * y)[inside].sum())
    ht = total / entities if entities else float("nan")
    ht_var = _total_variance(np.where(inside, y, 0.0), stratum, sizes)
    ht_se = float(np.sqrt(ht_var)) / entities if entities else float("nan")
    rows.append(base | {"estimator": "horvitz_thompson", "estimate": ht, "se": ht_se})
    weight = float(w[inside].sum())
    hajek = total / weight
    residual = np.where(inside, y - hajek, 0.0)
    hajek_se = float(np.sqrt(_total_variance(residual, stratum, sizes))) / weight
    rows.append(base | {"estimator": "hajek", "estimate": hajek, "se": hajek_se})
    for row in rows:
        row["low"], row["high"] = _interval(row["estimate"], row["se"], z)
    return rows


def finding_rates(
    plan: pd.DataFrame,
    results: pd.DataFrame,
    scores: pd.DataFrame,
    policy: Policy,
    table: pd.DataFrame | None = None,
    by: str | list[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The population's finding rate from a plan's results, naive and weighted.

    See the module for the estimators, the variance of the draw's design and where it
    is approximate.

    Parameters
    ----------
    plan : pandas.DataFrame
        The plan (:func:`~creditrisk.inspection.draw.draw`), with its period.
    results : pandas.DataFrame
        Its results: entity_id, outcome and visit (1 when absent).
    scores : pandas.DataFrame
        The population the plan was drawn from, as given to ``draw``: one row per
        entity with entity_id, tier, key_sector and the ``by`` columns.
    policy : Policy
        The policy the plan was drawn under (its key sectors make the strata).
    table : pandas.DataFrame, optional
        The rates per stratum the plan was drawn with (default: :func:`frequency_table`
        of ``scores`` for the plan's period; an :class:`Allocation`'s ``table`` works).
    by : str or list of str, optional
        Columns of ``scores`` to estimate the rate per value of (``"tier"``,
        ``"region"``, ``"key_sector"``...): domains, each estimated over the whole
        sample with the domain's indicator.
    level : float, default 0.95
        The intervals' confidence level.

    Returns
    -------
    pandas.DataFrame
        Per domain (the ``by`` columns, in sorted order; none for the whole population)
        and estimator (:data:`ESTIMATORS`): entities (in the population or domain),
        uncovered (of them, with no chance of being drawn), inspected (entities with a
        result), findings, estimate, se, low and high (the interval).

    Raises
    ------
    ValueError
        A column is missing, a result is for no visit of the plan, or the plan's
        inclusion probabilities are not those of ``table``: it was not drawn from these
        inputs.

    Examples
    --------
    A population whose tier D has five times the findings of tier A, a plan that
    visits D at 30% and A at 1%: the naive rate is far above the population's 0.23,
    the weighted ones are not.

    >>> from creditrisk.inspection import InspectorRegister, draw
    >>> scores = pd.DataFrame({"entity_id": [f"E{i:04d}" for i in range(4000)],
    ...     "tier": ["A"] * 3000 + ["D"] * 1000, "probability": 0.2, "key_sector": "none",
    ...     "region": "r1"})
    >>> finds = {f"E{i:04d}" for i in [*range(0, 3000, 7), *range(3000, 4000, 2)]}
    >>> register = InspectorRegister(pd.DataFrame({"inspector_id": ["I1", "I2", "I3"],
    ...     "region": "r1", "speciality": "general"}))
    >>> policy = Policy.load("national")
    >>> plan = draw(scores, register, policy, seed=1)
    >>> results = plan[["entity_id", "visit"]].assign(outcome=[
    ...     "issues_found" if e in finds else "compliant" for e in plan["entity_id"]])
    >>> r = finding_rates(plan, results, scores, policy).set_index("estimator")
    >>> round(len(finds) / 4000, 2), round(float(r.loc["naive", "estimate"]), 2)
    (0.23, 0.51)
    >>> low, high = r.loc["hajek", ["low", "high"]]
    >>> bool(low < len(finds) / 4000 < high)
    True
    >>> finding_rates(plan, results, scores, policy, by="tier")["tier"].unique().tolist()
    ['A', 'D']
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    missing = [c for c in ["entity_id", *keys] if c not in scores.columns]
    if missing:
        raise ValueError(f"scores: missing columns {missing}")
    if table is None:
        period = str(plan["period"].iat[0]) if "period" in plan and len(plan) else "1Y"
        table = frequency_table(scores, policy, period)
    design = _design(scores, policy, table)
    sizes = _strata_sizes(design)
    sizes.index = [f"{t}|{s}" for t, s in sizes.index]
    outcomes = inspected_outcomes(plan, results)
    chance = design.set_index("entity_id")["inclusion_probability"]
    known = chance.reindex(outcomes["entity_id"]).to_numpy()
    recorded = outcomes["inclusion_probability"].to_numpy()
    wrong = np.isnan(known) | ~np.isclose(known, recorded, rtol=1e-9, atol=0)
    if wrong.any():
        i = int(np.flatnonzero(wrong)[0])
        raise ValueError(
            f"the plan was not drawn from these scores and rates: entity "
            f"{outcomes['entity_id'].iat[i]} has inclusion probability {recorded[i]:.6g} in "
            f"the plan, {known[i]:.6g} from the table"
        )
    y = outcomes["finding"].to_numpy(dtype=np.float64)
    w = outcomes["weight"].to_numpy(dtype=np.float64)
    stratum = (outcomes["tier"] + "|" + outcomes["sector"].astype(str)).to_numpy()
    z = float(norm.ppf(0.5 + level / 2))
    population = scores[["entity_id", *keys]].astype({"entity_id": str})
    population = population.assign(covered=design["inclusion_probability"].to_numpy() > 0)
    if not keys:
        rows = _domain_rows(
            y,
            w,
            stratum,
            np.ones(len(y), dtype=bool),
            len(population),
            int((~population["covered"]).sum()),
            sizes,
            z,
        )
        return pd.DataFrame(rows)[[*_COLUMNS, *_VALUES]]
    lookup = population.set_index("entity_id")[keys].reindex(outcomes["entity_id"])
    rows = []
    for value, part in population.groupby(keys, sort=True, observed=True):
        value = value if isinstance(value, tuple) else (value,)
        inside = np.ones(len(y), dtype=bool)
        for key, v in zip(keys, value, strict=True):
            inside &= (lookup[key] == v).to_numpy()
        domain = dict(zip(keys, value, strict=True))
        uncovered = int((~part["covered"]).sum())
        for row in _domain_rows(y, w, stratum, inside, len(part), uncovered, sizes, z):
            rows.append(domain | row)
    return pd.DataFrame(rows)[[*keys, *_COLUMNS, *_VALUES]]
