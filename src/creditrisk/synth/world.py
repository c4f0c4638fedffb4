"""A generated world: the event tables, the inspector register and the hidden truth.

The register "opens" at ``start``: records from the burn-in years before it are kept
only while still in force at ``start`` (open list entries, penalties still disclosed,
licenses still valid), except annual reports, which are kept for every simulated year.
It is a snapshot at ``end``: nothing known after ``end`` is in it.

Examples
--------
>>> import creditrisk as cr
>>> world = cr.synth.generate(n_enterprises=2_000, start="2020-01-01",
...                           end="2022-12-31", seed=1)
>>> p = world.truth.probability("2021-07-01")
>>> bool(p.dropna().between(0, 1).all())
True
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import ndtr

from creditrisk.data.schema import (
    ENTITY_TYPES,
    INSPECTION_KINDS,
    KEY_SECTORS,
    LIST_REASONS,
    LISTS,
    MEASURES,
    OUTCOMES,
    REMOVAL_REASONS,
    SEVERITIES,
)
from creditrisk.data.tables import EventTables, atomic_file
from creditrisk.synth.calendar import NA_DAY, day_of, to_datetime
from creditrisk.synth.indicators import IndicatorParams, IndicatorTruth, draw_indicators
from creditrisk.synth.params import WorldParams
from creditrisk.synth.simulate import (
    CATEGORIES,
    LICENSE_TYPES,
    NEVER,
    SPECIALITIES,
    YEAR,
    Simulation,
)

__all__ = ["Truth", "World"]


@dataclass(frozen=True, eq=False)
class Truth:
    """What the generator knows and a model never sees.

    ``probability(as_of)`` is the true probability that a random inspection of the
    entity, at a uniformly drawn month of the 12 months after ``as_of``, finds issues
    (outcome ``issues_found`` or ``not_found_at_address``), given the entity's true
    state at ``as_of``: it integrates over the future drift of its risk, its chance of
    going dormant or deregistering, and the inspectors' strictness. Ranking entities by
    it gives the oracle AUC.

    :func:`creditrisk.synth.generate` makes it (``world.truth``); the fields are the
    simulation's state over the register's months.

    Parameters
    ----------
    entity_ids : pandas.Index
        The entities, in the order of every array below.
    months : pandas.DatetimeIndex
        The first day of every month from ``start`` to ``end``.
    mu : numpy.ndarray
        Each entity's persistent risk (attributes plus the hidden trait).
    x : numpy.ndarray
        (entities, months): the drift at the end of each month.
    registered_day, deregistered_day : numpy.ndarray
        Int days since 1970; ``NA_DAY`` when not deregistered.
    dormant_month : numpy.ndarray
        The index into ``months`` of the month the entity went dormant (negative:
        before ``start``; the largest int64 when it never did).
    dormancy_hazard : numpy.ndarray
        Each entity's monthly hazard of going dormant.
    exit_hazard : numpy.ndarray
        Each entity's monthly hazard of deregistering while operating.
    inspector_strictness : pandas.Series
        Each inspector's strictness (probit scale), by inspector_id.
    params : WorldParams
        The rates and effects of the world.
    indicators : IndicatorTruth, optional
        The people and addresses behind the indicator tables (controllers, their
        propensities, kinds of addresses), when the world has them
        (``generate(..., indicators=True)``); they act through ``mu``, so
        :meth:`probability` is the same with or without them.

    Examples
    --------
    >>> import creditrisk as cr
    >>> w = cr.synth.generate(1_000, "2020-01-01", "2021-12-31", seed=3)
    >>> bool(w.truth.latent_risk("2021-01-01").notna().any())
    True
    >>> len(w.truth.months), w.truth.x.shape
    (24, (1000, 24))
    """

    entity_ids: pd.Index
    months: pd.DatetimeIndex
    mu: np.ndarray
    x: np.ndarray  # (entities, months) drift at the end of each month
    registered_day: np.ndarray
    deregistered_day: np.ndarray
    dormant_month: np.ndarray  # index into ``months``; int64 max if never (< 0: before start)
    dormancy_hazard: np.ndarray
    exit_hazard: np.ndarray
    inspector_strictness: pd.Series
    params: WorldParams
    indicators: IndicatorTruth | None = None

    def _state_month(self, as_of: str | pd.Timestamp) -> tuple[int, int]:
        """The as-of day and the index of the last whole month before it."""
        stamp = pd.Timestamp(as_of)
        first = np.datetime64(self.months[0].to_datetime64(), "M")
        month = int((np.datetime64(stamp.to_datetime64(), "M") - first).astype(np.int64))
        s = month - 1
        if s < 0 or s >= len(self.months):
            raise ValueError(
                f"as_of {stamp.date()} is outside the world: it must fall between "
                f"{(self.months[0] + pd.DateOffset(months=1)).date()} and "
                f"{(self.months[-1] + pd.DateOffset(months=2) - pd.Timedelta(days=1)).date()}"
            )
        return day_of(stamp), s

    def _alive(self, day: int) -> np.ndarray:
        gone = self.deregistered_day
        return (self.registered_day < day) & ((gone == NA_DAY) | (gone >= day))

    def latent_risk(self, as_of: str | pd.Timestamp) -> pd.Series:
        """Each registered entity's latent risk (probit scale) in the month before as_of.

        Parameters
        ----------
        as_of : str or pandas.Timestamp
            A date from the second month of the world to a month after its end.

        Returns
        -------
        pandas.Series
            ``latent_risk`` by entity_id; NaN for entities not registered, or already
            deregistered, at as_of.

        Raises
        ------
        ValueError
            ``as_of`` is outside the world.

        Examples
        --------
        >>> import creditrisk as cr
        >>> w = cr.synth.generate(1_000, "2020-01-01", "2021-12-31", seed=3)
        >>> w.truth.latent_risk("2021-01-01").name
        'latent_risk'
        >>> w.truth.latent_risk("2030-01-01")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: as_of 2030-01-01 is outside the world: it must fall between 2020-02-01 and ...
        """
        day, s = self._state_month(as_of)
        start = self.months[s].to_datetime64().astype("datetime64[D]").astype(np.int64)
        r = self.mu + self.x[:, s] + self._youth(start - self.registered_day)
        r = np.where(self._alive(day), r, np.nan)
        return pd.Series(r, index=self.entity_ids, name="latent_risk")

    def dormant(self, as_of: str | pd.Timestamp) -> pd.Series:
        """Whether each entity had stopped operating (a shell) before as_of.

        Parameters
        ----------
        as_of : str or pandas.Timestamp
            A date inside the world (as for :meth:`latent_risk`).

        Returns
        -------
        pandas.Series
            ``dormant`` by entity_id: True or False, NaN for entities not registered, or
            already deregistered, at as_of.

        Examples
        --------
        >>> import creditrisk as cr
        >>> w = cr.synth.generate(1_000, "2020-01-01", "2021-12-31", seed=3)
        >>> d = w.truth.dormant("2021-01-01")
        >>> sorted(d.dropna().unique().tolist()), bool(d.isna().any())
        ([False, True], True)
        """
        day, s = self._state_month(as_of)
        out = pd.Series(self.dormant_month <= s, index=self.entity_ids, name="dormant")
        return out.where(self._alive(day))

    def _youth(self, days: np.ndarray) -> np.ndarray:
        p = self.params
        return p.youth_risk * np.exp(-np.maximum(days, 0) / YEAR / p.youth_years)

    def probability(self, as_of: str | pd.Timestamp, horizon_months: int = 12) -> pd.Series:
        """True probability of an inspection finding in the months after as_of.

        NaN for entities not registered, or already deregistered, at as_of.

        Parameters
        ----------
        as_of : str or pandas.Timestamp
            A date inside the world (as for :meth:`latent_risk`).
        horizon_months : int, default 12
            The months after as_of over which the inspection month is drawn.

        Returns
        -------
        pandas.Series
            ``probability`` by entity_id.

        Examples
        --------
        >>> import creditrisk as cr
        >>> w = cr.synth.generate(1_000, "2020-01-01", "2021-12-31", seed=3)
        >>> p = w.truth.probability("2021-01-01")
        >>> float(p.min()) > 0 and float(p.max()) < 1
        True
        >>> p.index.equals(w.truth.probability("2021-01-01", horizon_months=1).index)
        True
        """
        p = self.params
        day, s = self._state_month(as_of)
        alive = self._alive(day)
        rho, sd = p.drift_rho, p.drift_sd
        x_s, mu = self.x[:, s].astype(np.float64), self.mu
        active = (self.dormant_month > s).astype(np.float64)  # P(active) at the state month
        dorm = 1.0 - active
        p_dormant = p.dormant_not_found + p.dormant_issues
        month = np.datetime64(self.months[s].to_datetime64(), "M")
        num = np.zeros(len(mu))
        den = np.zeros(len(mu))
        for k in range(1, horizon_months + 1):
            start = (month + np.timedelta64(k, "M")).astype("datetime64[D]").astype(np.int64)
            age = start - self.registered_day
            young = age < 2 * YEAR
            exit_active = self.exit_hazard * np.where(young, p.young_exit_multiplier, 1.0)
            survive = active * (1 - exit_active)
            active = survive * (1 - self.dormancy_hazard)
            dorm = dorm * (1 - p.dormant_exit_rate) + survive * self.dormancy_hazard
            mean = mu + rho**k * x_s + self._youth(age)
            var = sd**2 * (1 - rho ** (2 * k))
            z = (p.finding_intercept + p.finding_risk * mean) / np.sqrt(
                1 + p.finding_risk**2 * var + p.strictness_sd**2
            )
            p_active = p.active_not_found + (1 - p.active_not_found) * ndtr(z)
            num += active * p_active + dorm * p_dormant
            den += active + dorm
        prob = np.where(alive, num / np.maximum(den, 1e-12), np.nan)
        return pd.Series(prob, index=self.entity_ids, name="probability")


@dataclass(frozen=True, eq=False)
class World:
    """Event tables + inspector register + truth, from :func:`creditrisk.synth.generate`.

    Parameters
    ----------
    tables : EventTables
        The event tables of the register: the six, and the indicator system's four
        when generated with ``indicators``.
    inspectors : pandas.DataFrame
        The inspector register: inspector_id, region, speciality.
    conflicts : pandas.DataFrame
        Declared conflicts of interest: inspector_id, entity_id, reason, declared_on.
    truth : Truth
        What no model sees (latent risk, the true finding probability).
    params : WorldParams
        The rates and effects the world was simulated with.
    seed : int
        Its seed.
    start, end : pandas.Timestamp
        The first and last day of the register.
    warnings : pandas.DataFrame
        Public warnings before an escalation to the serious list (no event table holds
        them): warning_id, entity_id, entry_id (the abnormal entry), warned_on,
        escalation_due_on.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> w = cr.synth.generate(500, "2021-01-01", "2022-12-31", seed=5)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = w.write(d)
    ...     len(cr.EventTables.read(d).enterprises)
    500
    """

    tables: EventTables
    inspectors: pd.DataFrame
    conflicts: pd.DataFrame
    truth: Truth
    params: WorldParams
    seed: int
    start: pd.Timestamp
    end: pd.Timestamp
    warnings: pd.DataFrame = field(default_factory=lambda: _empty_warnings())

    def write(
        self, path: str | os.PathLike, format: str = "parquet", overwrite: bool = False
    ) -> Path:
        """Write the six tables, ``inspectors`` and ``inspector_conflicts`` into a
        directory (``warnings`` stays in memory: no register file holds them).

        Parameters
        ----------
        path : str or os.PathLike
            The directory.
        format : {"parquet", "csv"}
            The files' format.
        overwrite : bool
            Replace existing files.

        Returns
        -------
        pathlib.Path
            The directory written.

        Examples
        --------
        >>> import creditrisk as cr, tempfile, os
        >>> w = cr.synth.generate(300, "2021-01-01", "2022-12-31", seed=5)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     sorted(os.listdir(w.write(d)))[:3]
        ['annual_reports.parquet', 'changes.parquet', 'complaints.parquet']
        """
        target = self.tables.write(path, format=format, overwrite=overwrite)
        for name, frame in (
            ("inspectors", self.inspectors),
            ("inspector_conflicts", self.conflicts),
        ):
            with atomic_file(target / f"{name}.{format}") as tmp:
                if format == "parquet":
                    frame.to_parquet(tmp, index=False)
                else:
                    frame.to_csv(tmp, index=False)
        return target


# -- assembly ---------------------------------------------------------------------------
def _ids(prefix: str, count: int) -> pa.Array:
    width = max(7, len(str(count)))
    digits = pc.utf8_lpad(pa.array(np.arange(1, count + 1)).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _text(arr: pa.Array) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="str"))


def _cat(codes: np.ndarray, names, ordered: bool = False) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes), categories=list(names), ordered=ordered)


def _open_cat(codes: np.ndarray, names) -> pd.Categorical:
    """Open-vocabulary category with sorted categories, as the schema stores them."""
    used = sorted({names[c] for c in np.unique(codes)})
    lookup = np.array([used.index(n) if n in used else -1 for n in names])
    return _cat(lookup[np.asarray(codes)] if len(codes) else codes, used)


def _dates(days: np.ndarray, end_day: int) -> np.ndarray:
    """int days -> datetime64[s], hiding what is not yet known at the snapshot."""
    days = np.where(days > end_day, NA_DAY, days)
    return to_datetime(days)


def _order(*keys: np.ndarray) -> np.ndarray:
    return np.lexsort(keys[::-1])


def build_world(
    sim: Simulation,
    seed: int,
    start: str,
    end: str,
    indicators: IndicatorParams | None = None,
) -> World:
    """Turn a finished simulation into a :class:`World` (with the indicator tables when
    ``indicators`` are given)."""
    s0, s1 = sim.start_day, sim.end_day
    ent_ids = _ids("E", sim.n)

    def entity(col: np.ndarray) -> pd.Series:
        return _text(ent_ids.take(pa.array(col)))

    gone = np.where(sim.gone_day > s1, NA_DAY, sim.gone_day)
    enterprises = pd.DataFrame(
        {
            "entity_id": _text(ent_ids),
            "entity_type": _cat(sim.entity_type, ENTITY_TYPES),
            "industry": _open_cat(sim.industry, sim.industry_names),
            "key_sector": _cat(sim.key_sector, KEY_SECTORS),
            "region": _open_cat(sim.region, sim.region_names),
            "registered_capital": sim.capital,
            "registered_on": to_datetime(sim.reg_day),
            "deregistered_on": to_datetime(gone),
        }
    )

    # annual reports: every simulated year; financials drawn here
    rep = sim.reports.columns()
    keep = _order(rep["entity"], rep["year"])
    reports = _reports(sim, rep, keep, seed)

    lic = sim.licenses.columns()
    in_force = (lic["expires"] >= s0) & ((lic["revoked"] == NA_DAY) | (lic["revoked"] >= s0))
    keep = np.flatnonzero((lic["issued"] <= s1) & ((lic["issued"] >= s0) | in_force))
    keep = keep[_order(lic["issued"][keep], lic["entity"][keep])]
    licenses = pd.DataFrame(
        {
            "license_id": _text(_ids("LIC", len(keep))),
            "entity_id": entity(lic["entity"][keep]),
            "license_type": _open_cat(lic["type"][keep], LICENSE_TYPES),
            "issued_on": to_datetime(lic["issued"][keep]),
            "expires_on": to_datetime(lic["expires"][keep]),
            "revoked_on": _dates(lic["revoked"][keep], s1),
        }
    )

    pen = sim.penalties.columns()
    restored_early = (pen["restored"] != NA_DAY) & (pen["restored"] < s0)
    disclosed = (pen["disclosure_end"] != NA_DAY) & (pen["disclosure_end"] >= s0)
    keep = np.flatnonzero(
        (pen["published"] <= s1) & ((pen["published"] >= s0) | (disclosed & ~restored_early))
    )
    keep = keep[_order(pen["decided"][keep], pen["entity"][keep])]
    penalties = pd.DataFrame(
        {
            "penalty_id": _text(_ids("PEN", len(keep))),
            "entity_id": entity(pen["entity"][keep]),
            "decided_on": to_datetime(pen["decided"][keep]),
            "published_on": to_datetime(pen["published"][keep]),
            "severity": _cat(pen["severity"][keep], SEVERITIES, ordered=True),
            "measure": _cat(pen["measure"][keep], MEASURES),
            "fine_amount": pen["fine"][keep],
            "category": _open_cat(pen["category"][keep], CATEGORIES),
            "disclosure_ends_on": to_datetime(pen["disclosure_end"][keep]),
            "restored_on": _dates(pen["restored"][keep], s1),
        }
    )

    ins = sim.inspections.columns()
    keep = np.flatnonzero((ins["published"] >= s0) & (ins["published"] <= s1))
    keep = keep[_order(ins["day"][keep], ins["entity"][keep])]
    officer_ids = _ids("IN", len(sim.insp_region))
    inspections = pd.DataFrame(
        {
            "inspection_id": _text(_ids("CHK", len(keep))),
            "entity_id": entity(ins["entity"][keep]),
            "inspected_on": to_datetime(ins["day"][keep]),
            "kind": _cat(ins["kind"][keep], INSPECTION_KINDS),
            "outcome": _cat(ins["outcome"][keep], OUTCOMES),
            "inspector_1": _text(officer_ids.take(pa.array(ins["lead"][keep]))),
            "inspector_2": _text(officer_ids.take(pa.array(ins["second"][keep]))),
            "published_on": to_datetime(ins["published"][keep]),
        }
    )

    ent = sim.entries.columns()
    still_open = (ent["removed"] == NA_DAY) | (ent["removed"] >= s0)
    real = ~ent["void"]  # entries pre-empted by an earlier listing never happened
    keep = np.flatnonzero(real & (ent["listed"] <= s1) & ((ent["listed"] >= s0) | still_open))
    keep = keep[_order(ent["listed"][keep], ent["entity"][keep])]
    entry_ids = _ids("LST", len(keep))
    removed = np.where(ent["removed"][keep] > s1, NA_DAY, ent["removed"][keep])
    removal = np.where(removed == NA_DAY, -1, ent["removal"][keep])
    list_entries = pd.DataFrame(
        {
            "entry_id": _text(entry_ids),
            "entity_id": entity(ent["entity"][keep]),
            "list": _cat(ent["list"][keep], LISTS),
            "reason": _cat(ent["reason"][keep], LIST_REASONS),
            "listed_on": to_datetime(ent["listed"][keep]),
            "removed_on": to_datetime(removed),
            "removal_reason": _cat(removal, REMOVAL_REASONS),
        }
    )

    frames, indicator_truth = {}, None
    if indicators is not None:  # drawn from streams of their own: the six do not move
        frames, address, indicator_truth = draw_indicators(
            sim, seed, enterprises["entity_id"].to_numpy(dtype=object), indicators
        )
        enterprises["address_id"] = address
    tables = EventTables(
        enterprises=enterprises,
        annual_reports=reports,
        licenses=licenses,
        penalties=penalties,
        inspections=inspections,
        list_entries=list_entries,
        **frames,
    )
    inspectors = pd.DataFrame(
        {
            "inspector_id": _text(officer_ids),
            "region": _open_cat(sim.insp_region, sim.region_names),
            "speciality": _cat(sim.insp_speciality, SPECIALITIES),
        }
    )
    window = pd.DatetimeIndex(sim.cal.months[sim.t0 :].astype("datetime64[ns]"))
    dormant = np.where(sim.dormant_t == NEVER, NEVER, sim.dormant_t - sim.t0)
    truth = Truth(
        entity_ids=pd.Index(enterprises["entity_id"], name="entity_id"),
        months=window,
        mu=sim.mu,
        x=sim.x_window,
        registered_day=sim.reg_day,
        deregistered_day=gone,
        dormant_month=np.where(dormant == NEVER, np.iinfo(np.int64).max, dormant),
        dormancy_hazard=sim.dormancy_hazard,
        exit_hazard=sim.exit_hazard,
        inspector_strictness=pd.Series(
            sim.insp_strictness, index=inspectors["inspector_id"], name="strictness"
        ),
        params=sim.p,
        indicators=indicator_truth,
    )
    return World(
        tables=tables,
        inspectors=inspectors,
        conflicts=_conflicts(sim, inspectors, enterprises),
        truth=truth,
        params=sim.p,
        seed=seed,
        start=pd.Timestamp(start),
        end=pd.Timestamp(end),
        warnings=_warnings(sim, keep, entry_ids, entity),
    )


def _empty_warnings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "warning_id": pd.Series(dtype="str"),
            "entity_id": pd.Series(dtype="str"),
            "entry_id": pd.Series(dtype="str"),
            "warned_on": pd.Series(dtype="datetime64[s]"),
            "escalation_due_on": pd.Series(dtype="datetime64[s]"),
        }
    )


def _warnings(sim: Simulation, kept: np.ndarray, entry_ids: pa.Array, entity) -> pd.DataFrame:
    """The public warnings known at the snapshot, of the entries the register keeps."""
    w = sim.warnings.columns()
    position = np.full(sim.entries.n, -1, dtype=np.int64)
    position[kept] = np.arange(len(kept))
    at = position[w["entry"]]
    keep = np.flatnonzero((at >= 0) & (w["day"] >= sim.start_day) & (w["day"] <= sim.end_day))
    keep = keep[_order(w["day"][keep], w["entity"][keep])]
    if not len(keep):
        return _empty_warnings()
    return pd.DataFrame(
        {
            "warning_id": _text(_ids("WRN", len(keep))),
            "entity_id": entity(w["entity"][keep]),
            "entry_id": _text(entry_ids.take(pa.array(at[keep]))),
            "warned_on": to_datetime(w["day"][keep]),
            "escalation_due_on": to_datetime(w["due"][keep]),
        }
    )


def _conflicts(
    sim: Simulation, inspectors: pd.DataFrame, enterprises: pd.DataFrame
) -> pd.DataFrame:
    """Declared conflicts of interest: a few entities of their own region per inspector.

    Drawn by the simulation from their own random stream (so the other draws do not
    depend on how many there are); the simulated inspections avoid them.
    """
    pairs = sim.conflict_pairs
    return pd.DataFrame(
        {
            "inspector_id": inspectors["inspector_id"].to_numpy()[pairs[:, 0]],
            "entity_id": enterprises["entity_id"].to_numpy()[pairs[:, 1]],
            "reason": pd.Categorical(
                sim.conflict_reason,
                categories=["relative", "former_employer", "shareholding"],
            ),
            "declared_on": sim.conflict_declared.astype("datetime64[D]").astype("datetime64[s]"),
        }
    )


def _reports(sim: Simulation, rep: dict, keep: np.ndarray, seed: int) -> pd.DataFrame:
    """Annual reports with optional financials (zeros for dormant shells)."""
    rng = np.random.default_rng([seed, 1])
    k = len(keep)
    ent = rep["entity"][keep]
    filed = np.where(rep["filed"][keep] > sim.end_day, NA_DAY, rep["filed"][keep])
    sole = sim.entity_type[ent] == ENTITY_TYPES.index("sole_proprietor")
    share = np.where(
        sole, sim.p.financials_disclosed["sole_proprietor"], sim.p.financials_disclosed["other"]
    )
    shown = (filed != NA_DAY) & (rng.random(k) < share)
    zero = rep["zero"][keep]
    risk = rep["risk"][keep].astype(np.float64)
    p = sim.p
    scale = np.nan_to_num(sim.capital[ent], nan=2e5)
    revenue = scale * np.exp(rng.normal(0.3, 0.8, k))
    assets = scale * np.exp(rng.normal(0.2, 0.6, k))
    leverage = ndtr(p.leverage_intercept + p.leverage_risk * risk)  # riskier: more debt
    liabilities = assets * rng.beta(6 * leverage, 6 * (1 - leverage))
    tax = revenue * 0.03 * np.exp(p.tax_ratio_risk * risk + rng.normal(0, 0.5, k))
    employees = np.where(sole, 1 + rng.poisson(1.5, k), 1 + (revenue / 3e5).astype(np.int64))

    def money(values: np.ndarray) -> np.ndarray:
        return np.where(shown, np.where(zero, 0.0, np.round(values, -2)), np.nan)

    return pd.DataFrame(
        {
            "entity_id": _text(_ids("E", sim.n).take(pa.array(ent))),
            "report_year": rep["year"][keep],
            "filed_on": to_datetime(filed),
            "employees": pd.Series(np.where(zero, 0, employees), dtype="Int64").where(shown),
            "revenue": money(revenue),
            "assets": money(assets),
            "liabilities": money(liabilities),
            "tax_paid": money(tax),
        }
    )
