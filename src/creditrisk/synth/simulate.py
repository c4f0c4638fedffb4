"""The month-by-month simulation behind :func:`creditrisk.synth.generate`.

Every entity carries a latent risk ``r = mu + x_t + youth(age)`` (probit scale) and a
life state (active, dormant, deregistered). Each month, vectorised over all entities:
registrations and licenses, drift of ``x``, deregistrations, dormancy, risk-driven
penalties, inspections (random at the simulated regulator's tier rates, complaints,
targeted, joint) with outcomes that depend on ``r`` and on the inspectors' strictness,
annual reports (due 1 Jan - 30 Jun), the July abnormal listing of non-filers, removals
once the cause is cleared, the public warning and the escalation to the serious illegal
list on the third anniversary, early exits from it (after a year, obligations met, no
heavier penalty since), and credit restorations after their waiting periods. Periods
are calendar months (DOMAIN.md's "3 years" is the anniversary, not 1,096 days).
Inspectors avoid the entity's previous inspection and their declared conflicts.
Events that follow others with a lag (a penalty after a finding) are dated ahead; an
entity's deregistration is never dated before its last event.

Dates are int days since 1970 here; :mod:`creditrisk.synth.world` turns the stores into
the typed event tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from creditrisk.data.schema import ENTITY_TYPES, KEY_SECTORS, MEASURES, SEVERITIES
from creditrisk.synth.calendar import NA_DAY, Calendar, add_months, day_of, next_june_30
from creditrisk.synth.params import (
    GENERAL_CATEGORIES,
    INDUSTRIES,
    OTHER_LICENSES,
    SECTOR_CATEGORY,
    SECTOR_LICENSES,
    WorldParams,
)

__all__ = ["Simulation"]

NEVER = -10_000  # "no such month" in month-index state arrays
YEAR = 365.25
# calendar periods (DOMAIN.md), in months: the lists' three years and the serious
# list's one-year minimum, 3-month and 3-year disclosure, 6- and 12-month waits
LIST_MONTHS = 36
EARLY_EXIT_MONTHS = 12
SHORT_DISCLOSURE_MONTHS = 3
DISCLOSURE_MONTHS = 36
WAIT_MONTHS, WAIT_MONTHS_STRICT = 6, 12
SPECIALITIES = ("general", *KEY_SECTORS[1:])
CATEGORIES = tuple(dict.fromkeys([*SECTOR_CATEGORY.values(), *GENERAL_CATEGORIES]))
LICENSE_TYPES = (*SECTOR_LICENSES.values(), *OTHER_LICENSES)
RESTORABLE = (MEASURES.index("fine"), MEASURES.index("confiscation"))
#: measures of a heavier penalty (with any serious one): no early exit from the serious
#: list after one
HEAVIER = tuple(
    MEASURES.index(m)
    for m in ("suspension", "license_revocation", "qualification_downgrade", "trade_ban")
)
STRICT_SECTORS = (
    KEY_SECTORS.index("food"),
    KEY_SECTORS.index("drug"),
    KEY_SECTORS.index("special_equipment"),
)
# list codes and reason codes follow creditrisk.data.schema.LISTS / LIST_REASONS
ABNORMAL, MARK, SERIOUS = 0, 1, 2
NOT_FILED, NOT_DISCLOSED, FALSE_INFO, UNREACHABLE, ESCALATED, VIOLATION = range(6)
RESTORED, DEREGISTERED, ESCALATION, EXPIRED = range(4)
KIND_RANDOM, KIND_TARGETED, KIND_COMPLAINT, KIND_JOINT = range(4)
COMPLIANT, ISSUES, NOT_FOUND = range(3)


class Store:
    """A growable set of equal-length NumPy columns (an append-mostly event table)."""

    def __init__(self, **dtypes: str):
        self._cols = {k: np.empty(1024, dtype=v) for k, v in dtypes.items()}
        self.n = 0

    def append(self, **values) -> np.ndarray:
        k = len(next(iter(values.values())))
        end = self.n + k
        cap = len(next(iter(self._cols.values())))
        if end > cap:
            new = max(end, 2 * cap)
            for name, col in self._cols.items():
                grown = np.empty(new, dtype=col.dtype)
                grown[: self.n] = col[: self.n]
                self._cols[name] = grown
        for name, col in self._cols.items():
            col[self.n : end] = values[name]
        idx = np.arange(self.n, end)
        self.n = end
        return idx

    def __getitem__(self, name: str) -> np.ndarray:
        return self._cols[name][: self.n]

    def columns(self) -> dict[str, np.ndarray]:
        return {k: v[: self.n] for k, v in self._cols.items()}


class Simulation:
    """One run of the synthetic world; ``run()`` fills the stores and the truth arrays.

    The calendar starts ``params.burn_in_years`` before ``start``. Construction draws
    the entities, the inspectors and their declared conflicts;
    :func:`creditrisk.synth.generate` then calls :meth:`run` and turns the stores into a
    :class:`~creditrisk.synth.world.World`.

    Parameters
    ----------
    params : WorldParams
        The rates and effects.
    n : int
        The number of entities.
    start, end : str
        The first and last day of the register (ISO dates).
    seed : int
        The seed of every random draw.

    Examples
    --------
    >>> from creditrisk.synth.params import WorldParams
    >>> sim = Simulation(WorldParams(), 200, "2022-01-01", "2022-12-31", seed=1)
    >>> sim.cal.n_months, sim.t0  # three burn-in years, then the register's year
    (48, 36)
    """

    def __init__(self, params: WorldParams, n: int, start: str, end: str, seed: int):
        self.p = params
        self.n = n
        self.rng = np.random.default_rng(seed)
        first = (np.datetime64(start, "M") - np.timedelta64(12 * params.burn_in_years, "M")).astype(
            "datetime64[D]"
        )
        self.cal = Calendar(str(first), end)
        self.t0 = 12 * params.burn_in_years  # index of the month holding `start`
        self.start_day, self.end_day = day_of(start), day_of(end)
        self.seed = seed
        self._setup_entities()
        self._setup_inspectors()
        self._setup_conflicts()
        self._setup_state()
        self._setup_stores()

    # -- set-up ------------------------------------------------------------------------
    def _setup_entities(self) -> None:
        p, rng, n = self.p, self.rng, self.n
        types = list(p.entity_type_shares)
        self.entity_type = np.array([ENTITY_TYPES.index(x) for x in types])[
            rng.choice(len(types), n, p=_norm(p.entity_type_shares.values()))
        ]
        names = list(INDUSTRIES)
        shares = _norm([INDUSTRIES[k][0] for k in names])
        self.industry_names = tuple(names)
        self.industry = rng.choice(len(names), n, p=shares)
        self.key_sector = np.zeros(n, dtype=np.int64)
        u = rng.random(n)
        for code, name in enumerate(names):
            mine = self.industry == code
            acc = 0.0
            for sector, share in INDUSTRIES[name][2].items():
                hit = mine & (u >= acc) & (u < acc + share)
                self.key_sector[hit] = KEY_SECTORS.index(sector)
                acc += share
        weights = 1 / np.arange(1, p.n_regions + 1) ** 0.6
        self.region_names = tuple(f"district_{k + 1:02d}" for k in range(p.n_regions))
        self.region_weights = weights / weights.sum()
        self.region = rng.choice(p.n_regions, n, p=self.region_weights)
        region_risk = rng.normal(0, p.region_risk_sd, p.n_regions)

        # registered capital: log-normal by type; branches have none
        median = {
            "sole_proprietor": 5e4,
            "company": 1e6,
            "partnership": 2e6,
            "branch": np.nan,
            "cooperative": 5e5,
        }
        med = np.array([median[t] for t in ENTITY_TYPES])[self.entity_type]
        z = rng.normal(0, 1, n)
        self.capital = np.round(med * np.exp(1.2 * z), -2)
        capital_effect = np.where(np.isnan(med), 0.0, p.capital_risk * z)

        # registration: entrants uniform over the window, incumbents exponential ages
        entrant = rng.random(n) < p.entrant_share
        span = self.end_day - self.start_day
        age = np.minimum(rng.exponential(p.mean_age_at_start * YEAR, n), 40 * YEAR)
        reg = np.where(
            entrant,
            self.start_day + rng.integers(0, span, n),
            self.start_day - 1 - age.astype(np.int64),
        )
        order = np.argsort(reg, kind="stable")  # ids in order of registration
        for name in ("entity_type", "industry", "key_sector", "region", "capital"):
            setattr(self, name, getattr(self, name)[order])
        capital_effect, z = capital_effect[order], z[order]
        self.reg_day = reg[order]
        self.reg_t = self.cal.month_index(self.reg_day)

        trait = np.where(
            rng.random(n) < p.risky_share,
            rng.normal(p.risky_mean, p.risky_sd, n),
            rng.normal(p.ordinary_mean, p.ordinary_sd, n),
        )
        self.trait = trait  # the hidden part of mu (controllers are matched on it)
        self.mu = (
            np.array([p.entity_type_risk[t] for t in ENTITY_TYPES])[self.entity_type]
            + np.array([INDUSTRIES[k][1] for k in names])[self.industry]
            + np.array([p.key_sector_risk[s] for s in KEY_SECTORS])[self.key_sector]
            + region_risk[self.region]
            + capital_effect
            + trait
        ).astype(np.float64)
        self.dormancy_hazard = p.dormancy_rate * np.exp(p.dormancy_risk * self.mu)
        self.exit_hazard = np.array([p.exit_rate[t] for t in ENTITY_TYPES])[self.entity_type]

    def _setup_inspectors(self) -> None:
        p, rng = self.p, self.rng
        total = max(
            p.min_inspectors_per_region * p.n_regions, round(self.n * p.inspectors_per_entity)
        )
        extra = total - p.min_inspectors_per_region * p.n_regions
        sizes = p.min_inspectors_per_region + np.floor(extra * self.region_weights).astype(int)
        self.insp_region = np.repeat(np.arange(p.n_regions), sizes)
        m = len(self.insp_region)
        shares = [p.speciality_shares[s] for s in SPECIALITIES]
        self.insp_speciality = rng.choice(len(SPECIALITIES), m, p=_norm(shares))
        self.insp_strictness = rng.normal(0, p.strictness_sd, m)
        self.region_offset = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.region_size = sizes
        # lead-inspector pools per (region, key sector): the qualified, else everyone
        pools, offsets, lengths = [], [], []
        pos = 0
        for g in range(p.n_regions):
            members = np.arange(self.region_offset[g], self.region_offset[g] + sizes[g])
            for s in range(len(KEY_SECTORS)):
                qualified = members[self.insp_speciality[members] == s] if s else members
                pool = qualified if len(qualified) else members
                pools.append(pool)
                offsets.append(pos)
                lengths.append(len(pool))
                pos += len(pool)
        self.lead_pool = np.concatenate(pools)
        self.lead_offset = np.array(offsets).reshape(p.n_regions, len(KEY_SECTORS))
        self.lead_size = np.array(lengths).reshape(p.n_regions, len(KEY_SECTORS))

    def _setup_conflicts(self) -> None:
        """Declared conflicts of interest: a few entities of their own region per
        inspector, drawn from their own random stream (so the other draws do not depend
        on how many there are); the simulated inspections avoid them."""
        rng = np.random.default_rng([self.seed, 2])
        rows = []
        for i, r in enumerate(self.insp_region):
            pool = np.flatnonzero(self.region == r)
            k = min(rng.poisson(self.p.conflicts_per_inspector), len(pool))
            for e in rng.choice(pool, k, replace=False) if k else []:
                rows.append((i, e))
        self.conflict_pairs = np.array(rows, dtype=np.int64).reshape(-1, 2)
        start = self.cal.month_start[self.t0]
        self.conflict_declared = start + rng.integers(0, 365, len(self.conflict_pairs))
        self.conflict_reason = rng.choice(
            ["relative", "former_employer", "shareholding"], len(self.conflict_pairs)
        )
        codes = self.conflict_pairs[:, 0] * self.n + self.conflict_pairs[:, 1]
        self.conflict_codes = np.unique(codes)
        self.specialists = [
            np.flatnonzero(self.insp_speciality == s) for s in range(len(KEY_SECTORS))
        ]

    def _setup_state(self) -> None:
        n, p = self.n, self.p
        self.x = self.rng.normal(0, p.drift_sd, n)
        self.x_window = np.empty((n, self.cal.n_months - self.t0), dtype=np.float32)
        self.gone_day = np.full(n, NA_DAY, dtype=np.int64)
        self.dormant_t = np.full(n, NEVER, dtype=np.int64)
        self.tier = np.ones(n, dtype=np.int64)  # 0..3 = A..D; new entities start at B
        self.last_minor_t = np.full(n, NEVER, dtype=np.int64)
        self.last_general_t = np.full(n, NEVER, dtype=np.int64)
        self.last_serious_t = np.full(n, NEVER, dtype=np.int64)
        self.last_penalty_t = np.full(n, NEVER, dtype=np.int64)
        self.last_finding_t = np.full(n, NEVER, dtype=np.int64)
        self.last_late_year = np.full(n, NEVER, dtype=np.int64)
        self.last_category_day = np.full((n, len(CATEGORIES)), NA_DAY, dtype=np.int32)
        self.outstanding = np.zeros(n, dtype=np.int64)
        self.missed_now = np.zeros(n, dtype=bool)
        self.open_abnormal = np.full(n, -1, dtype=np.int64)
        self.open_serious = np.full(n, -1, dtype=np.int64)
        self.current_license = np.full(n, -1, dtype=np.int64)
        self.last_event_day = self.reg_day.copy()
        self.last_removal_day = np.full(n, NA_DAY, dtype=np.int64)
        self.last_heavy_day = np.full(n, NA_DAY, dtype=np.int64)
        # the inspectors of each entity's last inspection (avoidance), -1 for none
        self.last_lead = np.full(n, -1, dtype=np.int64)
        self.last_second = np.full(n, -1, dtype=np.int64)
        self.report_blocks: list[tuple[int, int, int]] = []  # (start, end, year) of each June
        self.warning_fixes: dict[int, list[np.ndarray]] = defaultdict(list)
        self.late_filings: dict[int, list[np.ndarray]] = defaultdict(list)
        self.restorations: dict[int, list[np.ndarray]] = defaultdict(list)
        self.expiries: dict[int, list[np.ndarray]] = defaultdict(list)

    def _setup_stores(self) -> None:
        self.reports = Store(entity="i8", year="i8", filed="i8", zero="?", risk="f4")
        self.licenses = Store(entity="i8", type="i8", issued="i8", expires="i8", revoked="i8")
        self.penalties = Store(
            entity="i8",
            decided="i8",
            published="i8",
            severity="i8",
            measure="i8",
            fine="f8",
            category="i8",
            disclosure_end="i8",
            restored="i8",
            apply="i8",
        )
        self.inspections = Store(
            entity="i8", day="i8", kind="i8", outcome="i8", lead="i8", second="i8", published="i8"
        )
        self.entries = Store(
            void="?",
            entity="i8",
            list="i8",
            reason="i8",
            listed="i8",
            removed="i8",
            removal="i8",
            warned="i8",
            fix_day="i8",
            fix_removal="i8",
        )
        # public warnings in the days before an escalation to the serious list
        self.warnings = Store(entity="i8", entry="i8", day="i8", due="i8")

    # -- the loop ----------------------------------------------------------------------
    def run(self, progress: Callable[[int, int], None] | None = None) -> Simulation:
        """Simulate every month of the calendar, in order, filling the stores.

        Parameters
        ----------
        progress : callable, optional
            Called as ``progress(months_done, months_total)`` after every month.

        Returns
        -------
        Simulation
            ``self``.

        Examples
        --------
        >>> from creditrisk.synth.params import WorldParams
        >>> sim = Simulation(WorldParams(), 200, "2022-01-01", "2022-12-31", seed=1)
        >>> sim.run() is sim
        True
        >>> sim.reports.n > 0 and sim.inspections.n > 0
        True
        """
        total = self.cal.n_months
        for t in range(total):
            month = int(self.cal.month_of_year[t])
            self._restore(t)
            if month == 1:
                self._set_tiers(t)
            self._register(t)
            self.x = self.p.drift_rho * self.x + self._innovation_sd() * self.rng.normal(
                0, 1, self.n
            )
            self._list_terms(t)
            if t >= self.t0:
                self.x_window[:, t - self.t0] = self.x
                self._exits(t)
            alive = np.flatnonzero((self.reg_t < t) & (self.gone_day == NA_DAY))
            self._dormancy(t, alive)
            self.r = self.risk(t)
            active = alive[self.dormant_t[alive] == NEVER]
            self._renew_licenses(t)
            hit = self.rng.random(len(active)) < np.minimum(
                0.5, self.p.penalty_rate * np.exp(self.p.penalty_risk * self.r[active])
            )
            ent = active[hit]
            self._add_penalties(ent, self.cal.random_day(t, self.rng.random(len(ent))))
            self._inspect(t, alive, active)
            # late filings first: one made in June clears the cause before the next
            # report counts as missed on 30 June
            self._late_filings(t)
            if month == 6:
                self._reports_due(t)
            if month == 7:
                self._list_non_filers(t)
            self._fix_listings(t, active)
            self._answer_warnings(t)
            if progress is not None:
                progress(t + 1, total)
        return self

    def _innovation_sd(self) -> float:
        return self.p.drift_sd * float(np.sqrt(1 - self.p.drift_rho**2))

    def youth(self, days_since_registration: np.ndarray) -> np.ndarray:
        """The youth effect on the latent risk: ``youth_risk`` at registration, fading.

        Parameters
        ----------
        days_since_registration : numpy.ndarray
            Days since each entity's registration (a negative number counts as 0).

        Returns
        -------
        numpy.ndarray
            ``youth_risk * exp(-age / youth_years)``, the age in years.

        Examples
        --------
        >>> from creditrisk.synth.params import WorldParams
        >>> sim = Simulation(WorldParams(), 10, "2022-01-01", "2022-12-31", seed=1)
        >>> sim.youth(np.array([-30, 0, 548])).round(3).tolist()
        [0.35, 0.35, 0.129]
        """
        age = np.maximum(days_since_registration, 0) / YEAR
        return self.p.youth_risk * np.exp(-age / self.p.youth_years)

    def risk(self, t: int) -> np.ndarray:
        """Every entity's latent risk ``r = mu + x + youth`` in month ``t``.

        The drift ``x`` is the current state (:meth:`run` calls it in month ``t``, after
        the month's drift); the youth effect is at the start of month ``t``.

        Parameters
        ----------
        t : int
            The month's index in the calendar.

        Returns
        -------
        numpy.ndarray
            One value per entity (probit scale).

        Examples
        --------
        >>> from creditrisk.synth.params import WorldParams
        >>> sim = Simulation(WorldParams(), 200, "2022-01-01", "2022-12-31", seed=1)
        >>> r = sim.risk(0)
        >>> r.shape, bool(np.allclose(r - sim.youth(sim.cal.month_start[0] - sim.reg_day),
        ...                          sim.mu + sim.x))
        ((200,), True)
        """
        return self.mu + self.x + self.youth(self.cal.month_start[t] - self.reg_day)

    # -- life events -------------------------------------------------------------------
    def _register(self, t: int) -> None:
        new = np.flatnonzero(self.reg_t == t) if t else np.flatnonzero(self.reg_t <= 0)
        if not len(new):
            return
        rng = self.rng
        self.tier[new] = 1
        gets = (self.key_sector[new] > 0) | (rng.random(len(new)) < 0.25)
        ent = new[gets]
        kind = np.where(
            self.key_sector[ent] > 0,
            self.key_sector[ent] - 1,
            len(SECTOR_LICENSES) + rng.integers(0, len(OTHER_LICENSES), len(ent)),
        )
        if t:
            left = self.cal.month_end(t) - self.reg_day[ent]
            issued = self.reg_day[ent] + (rng.random(len(ent)) * (left + 1)).astype(np.int64)
        else:  # entities older than the simulation: a license still running at its start
            issued = np.maximum(
                self.reg_day[ent], self.cal.month_start[0] - rng.integers(0, 5 * 365, len(ent))
            )
        self._issue_licenses(ent, kind, issued)

    def _issue_licenses(self, ent: np.ndarray, kind: np.ndarray, issued: np.ndarray) -> None:
        expires = issued + 5 * 365 + 1
        idx = self.licenses.append(
            entity=ent, type=kind, issued=issued, expires=expires, revoked=NA_DAY
        )
        self.current_license[ent] = idx
        np.maximum.at(self.last_event_day, ent, issued)
        months = self.cal.month_index(expires)
        for m in np.unique(months):
            self.expiries[int(m)].append(idx[months == m])

    def _renew_licenses(self, t: int) -> None:
        if t not in self.expiries:
            return
        idx = np.concatenate(self.expiries.pop(t))
        ent = self.licenses["entity"][idx]
        ok = (
            (self.gone_day[ent] == NA_DAY)
            & (self.dormant_t[ent] == NEVER)
            & (self.licenses["revoked"][idx] == NA_DAY)
            & (self.current_license[ent] == idx)
            & (self.rng.random(len(idx)) < 0.93)
        )
        idx, ent = idx[ok], ent[ok]
        issued = self.licenses["expires"][idx] - self.rng.integers(0, 31, len(idx))
        self._issue_licenses(ent, self.licenses["type"][idx], issued)

    def _exits(self, t: int) -> None:
        alive = np.flatnonzero((self.reg_t < t) & (self.gone_day == NA_DAY))
        dormant = self.dormant_t[alive] != NEVER
        young = (self.cal.month_start[t] - self.reg_day[alive]) < 2 * YEAR
        hazard = np.where(
            dormant,
            self.p.dormant_exit_rate,
            self.exit_hazard[alive] * np.where(young, self.p.young_exit_multiplier, 1.0),
        )
        ent = alive[self.rng.random(len(alive)) < hazard]
        day = np.maximum(
            self.cal.random_day(t, self.rng.random(len(ent))), self.last_event_day[ent] + 1
        )
        self.gone_day[ent] = day
        for pointer in (self.open_abnormal, self.open_serious):
            listed = pointer[ent] >= 0
            self._remove(pointer[ent][listed], day[listed], DEREGISTERED)
            pointer[ent[listed]] = -1

    def _dormancy(self, t: int, alive: np.ndarray) -> None:
        awake = alive[self.dormant_t[alive] == NEVER]
        falls = self.rng.random(len(awake)) < self.dormancy_hazard[awake]
        self.dormant_t[awake[falls]] = t

    # -- penalties -----------------------------------------------------------------------
    def _add_penalties(self, ent: np.ndarray, decided: np.ndarray) -> None:
        k = len(ent)
        if not k:
            return
        p, rng = self.p, self.rng
        shift = np.exp(p.severity_risk * self.r[ent])
        base = np.array([p.severity_shares[s] for s in SEVERITIES])
        w = base[None, :] * np.column_stack([np.ones(k), np.ones(k), shift, shift])
        cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
        severity = (rng.random(k)[:, None] > cum).sum(axis=1)
        measure, fine = self._measures(severity)
        sector = self.key_sector[ent]
        sector_category = np.array(
            [
                CATEGORIES.index(SECTOR_CATEGORY[s]) if s in SECTOR_CATEGORY else 0
                for s in KEY_SECTORS
            ]
        )[sector]
        general = np.array([CATEGORIES.index(c) for c in GENERAL_CATEGORIES])
        category = np.where(
            (sector > 0) & (rng.random(k) < 0.6),
            sector_category,
            general[rng.integers(0, len(general), k)],
        )
        published = decided + rng.integers(1, 21, k)
        ban_years = rng.integers(1, 11, k)
        # published 3 months (criticism notices, lower-amount fines: the minor ones),
        # 3 years, or a ban's years when longer; calendar months from publication
        disclosure_end = np.select(
            [severity == 0, severity == 1, measure == MEASURES.index("trade_ban")],
            [
                NA_DAY,
                add_months(published, SHORT_DISCLOSURE_MONTHS),
                add_months(published, 12 * np.maximum(3, ban_years)),
            ],
            add_months(published, DISCLOSURE_MONTHS),
        )
        # credit restoration: general/serious fines and confiscations, after 6 months of
        # disclosure (12 in food, drugs and special equipment)
        wait = np.where(np.isin(sector, STRICT_SECTORS), WAIT_MONTHS_STRICT, WAIT_MONTHS)
        delay = rng.exponential(p.restoration_delay_days, k).astype(np.int64)
        apply = add_months(published, wait) + delay
        restorable = (
            (severity >= 2)
            & np.isin(measure, RESTORABLE)
            & (apply + 45 < disclosure_end)
            & (rng.random(k) < p.restoration_apply_share)
        )
        apply = np.where(restorable, apply, NA_DAY)
        idx = self.penalties.append(
            entity=ent,
            decided=decided,
            published=published,
            severity=severity,
            measure=measure,
            fine=fine,
            category=category,
            disclosure_end=disclosure_end,
            restored=NA_DAY,
            apply=apply,
        )
        months = self.cal.month_index(apply[restorable]) + 1  # decided the month after
        for m in np.unique(months):
            self.restorations[int(m)].append(idx[restorable][months == m])

        # state the simulated regulator and the later rules look at
        t_pub = self.cal.month_index(published)
        for level, last in (
            (1, self.last_minor_t),
            (2, self.last_general_t),
            (3, self.last_serious_t),
        ):
            hit = severity == level
            np.maximum.at(last, ent[hit], t_pub[hit])
        t_dec = self.cal.month_index(decided)
        np.maximum.at(self.last_penalty_t, ent, t_dec)
        np.maximum.at(self.last_category_day, (ent, category), decided.astype(np.int32))
        np.maximum.at(self.last_event_day, ent, decided)
        heavy = (severity == 3) | np.isin(measure, HEAVIER)
        np.maximum.at(self.last_heavy_day, ent[heavy], decided[heavy])

        revoke = measure == MEASURES.index("license_revocation")
        lic = self.current_license[ent[revoke]]
        has = lic >= 0
        lic, when = lic[has], decided[revoke][has]
        live = (
            (self.licenses["revoked"][lic] == NA_DAY)
            & (self.licenses["issued"][lic] <= when)
            & (self.licenses["expires"][lic] > when)
        )
        self.licenses["revoked"][lic[live]] = when[live]

        serious = (severity == 3) & (rng.random(k) < p.serious_listing_share)
        self._list(
            ent[serious],
            SERIOUS,
            VIOLATION,
            published[serious] + rng.integers(0, 15, int(serious.sum())),
        )

    def _measures(self, severity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, k = self.rng, len(severity)
        u = rng.random(k)
        m = MEASURES.index
        measure = np.select(
            [severity == 0, severity == 1, severity == 2],
            [
                m("warning"),
                np.where(u < 0.3, m("criticism_notice"), m("fine")),
                np.where(u < 0.6, m("fine"), m("confiscation")),
            ],
            np.select(
                [u < 0.40, u < 0.65, u < 0.80, u < 0.90],
                [m("fine"), m("suspension"), m("license_revocation"), m("qualification_downgrade")],
                m("trade_ban"),
            ),
        )
        line = self.p.lower_amount_threshold
        z = rng.normal(0, 1, k)
        small = np.minimum(np.exp(np.log(5_000) + 0.9 * z), line - 1_000)
        fine = np.select(
            [
                measure == m("fine"),
                (measure == m("confiscation")) | (severity == 3),
            ],
            [
                np.where(
                    severity == 1,
                    small,
                    line + np.exp(np.log(np.where(severity == 3, 2e5, 5e4)) + z),
                ),
                np.where(rng.random(k) < 0.5, np.exp(np.log(2e4) + z), 0.0),
            ],
            0.0,
        )
        return measure, np.round(fine, -2)

    def _restore(self, t: int) -> None:
        """Decide, at the start of month t, the applications made in the month before."""
        if t not in self.restorations:
            return
        day = self.cal.month_start[t] - 1
        idx = np.concatenate(self.restorations.pop(t))
        pen = self.penalties
        ent = pen["entity"][idx]
        # no repeat violation of the same type since this penalty
        same_category_since = (
            self.last_category_day[ent, pen["category"][idx]] > (pen["decided"][idx])
        )
        ok = (
            (self.gone_day[ent] == NA_DAY)
            & (self.dormant_t[ent] == NEVER)
            & (self.open_abnormal[ent] < 0)
            & (self.open_serious[ent] < 0)
            & (self.last_removal_day[ent] < day)
            & ~same_category_since
        )
        pen["restored"][idx[ok]] = day

    # -- inspections ---------------------------------------------------------------------
    def _inspect(self, t: int, alive: np.ndarray, active: np.ndarray) -> None:
        p, rng = self.p, self.rng
        tier_rate = np.array([p.random_rate_by_tier[k] for k in "ABCD"])
        sector_rate = np.array([p.random_rate_by_sector.get(s, 0.0) for s in KEY_SECTORS])
        rate = np.maximum(tier_rate[self.tier[alive]], sector_rate[self.key_sector[alive]])
        chosen = [alive[rng.random(len(alive)) < rate / 12]]
        complaint = p.complaint_rate * np.exp(p.complaint_risk * self.r[active])
        chosen.append(active[rng.random(len(active)) < complaint])
        recent = (t - self.last_penalty_t[alive]) <= 12
        targeted = (
            p.targeted_base_rate
            + p.targeted_listed_rate * (self.open_abnormal[alive] >= 0)
            + p.targeted_penalized_rate * recent
        )
        chosen.append(alive[rng.random(len(alive)) < targeted])
        joint = p.joint_rate * np.where(
            self.key_sector[alive] > 0, p.joint_key_sector_multiplier, 1.0
        )
        chosen.append(alive[rng.random(len(alive)) < joint])
        kinds = [KIND_RANDOM, KIND_COMPLAINT, KIND_TARGETED, KIND_JOINT]
        ent = np.concatenate(chosen)
        kind = np.concatenate([np.full(len(c), k) for c, k in zip(chosen, kinds, strict=True)])
        k = len(ent)
        if not k:
            return
        day = self.cal.random_day(t, rng.random(k))
        lead, second = self._assign_inspectors(ent, day)
        team = (self.insp_strictness[lead] + self.insp_strictness[second]) / np.sqrt(2)
        offset = np.array([p.kind_offset[x] for x in ("random", "targeted", "complaint", "joint")])[
            kind
        ]
        p_issue = ndtr(p.finding_intercept + p.finding_risk * self.r[ent] + offset + team)
        u, v = rng.random(k), rng.random(k)
        dormant = self.dormant_t[ent] != NEVER
        outcome = np.where(
            dormant,
            np.select(
                [u < p.dormant_not_found, u < p.dormant_not_found + p.dormant_issues],
                [NOT_FOUND, ISSUES],
                COMPLIANT,
            ),
            np.select([u < p.active_not_found, v < p_issue], [NOT_FOUND, ISSUES], COMPLIANT),
        )
        self.inspections.append(
            entity=ent,
            day=day,
            kind=kind,
            outcome=outcome,
            lead=lead,
            second=second,
            published=day + rng.integers(1, 21, k),
        )
        np.maximum.at(self.last_event_day, ent, day)
        issues = outcome == ISSUES
        self.last_finding_t[ent[issues]] = t

        punish = issues & (rng.random(k) < p.penalty_after_finding)
        self._add_penalties(ent[punish], day[punish] + rng.integers(7, 61, int(punish.sum())))
        false_info = issues & ~punish & (rng.random(k) < p.false_information_after_finding)
        for mask, reason in ((outcome == NOT_FOUND, UNREACHABLE), (false_info, FALSE_INFO)):
            e = ent[mask]
            self._list_abnormal(e, reason, day[mask] + rng.integers(1, 15, len(e)))

    def _assign_inspectors(self, ent: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two inspectors of the entity's region per inspection (a key-sector lead with
        the sector's speciality), never one of the entity's previous inspection nor one
        with a declared conflict (DOMAIN.md's avoidance rules). An entity inspected more
        than once this month is served in day order, each visit avoiding the one before."""
        k = len(ent)
        lead = np.empty(k, dtype=np.int64)
        second = np.empty(k, dtype=np.int64)
        if not k:
            return lead, second
        order = np.lexsort((day, ent))
        sorted_ent = ent[order]
        first = np.r_[True, sorted_ent[1:] != sorted_ent[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(k), 0))
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k) - start
        for r in range(int(rank.max()) + 1):
            rows = np.flatnonzero(rank == r)
            lead[rows], second[rows] = self._inspector_pair(ent[rows])
            self.last_lead[ent[rows]] = lead[rows]
            self.last_second[ent[rows]] = second[rows]
        return lead, second

    def _barred(self, inspector: np.ndarray, ent: np.ndarray) -> np.ndarray:
        """Whether each inspector may not go to each entity: on its last inspection, or
        with a declared conflict."""
        out = (inspector == self.last_lead[ent]) | (inspector == self.last_second[ent])
        return out | self._conflicted(inspector, ent)

    def _inspector_pair(self, ent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rng, k = self.rng, len(ent)
        g, s = self.region[ent], self.key_sector[ent]
        offset, size = self.lead_offset[g, s], self.lead_size[g, s]
        lead = self.lead_pool[offset + (rng.random(k) * size).astype(np.int64)]
        for _ in range(3):  # redraw the barred (vectorised); the rest one by one below
            bad = np.flatnonzero(self._barred(lead, ent))
            if not len(bad):
                break
            u = rng.random(len(bad))
            lead[bad] = self.lead_pool[offset[bad] + (u * size[bad]).astype(np.int64)]
        for i in np.flatnonzero(self._barred(lead, ent)):
            pool = self.lead_pool[offset[i] : offset[i] + size[i]]
            pool = pool[~self._barred(pool, np.full(len(pool), ent[i]))]
            if len(pool):
                lead[i] = pool[rng.integers(len(pool))]
            else:
                lead[i] = self._free_lead(int(ent[i]), int(lead[i]))
        base, members = self.region_offset[g], self.region_size[g]
        pos = lead - base
        local = (pos >= 0) & (pos < members)
        other = (rng.random(k) * (members - local)).astype(np.int64)
        other += local & (other >= pos)
        second = base + other
        for _ in range(3):
            bad = np.flatnonzero(self._barred(second, ent) | (second == lead))
            if not len(bad):
                break
            second[bad] = base[bad] + (rng.random(len(bad)) * members[bad]).astype(np.int64)
        for i in np.flatnonzero(self._barred(second, ent) | (second == lead)):
            pool = np.arange(base[i], base[i] + members[i])
            pool = pool[(pool != lead[i]) & ~self._barred(pool, np.full(len(pool), ent[i]))]
            if len(pool):  # else no one is free: the least bad stays
                second[i] = pool[self.rng.integers(len(pool))]
        return lead, second

    def _free_lead(self, e: int, current: int) -> int:
        """A lead for an entity whose pool of leads is all barred: for a key-sector
        entity of a region with specialists, a specialist of its sector from another
        region, else the local one of its last inspection (the speciality before "not
        the same again"), but never one with a declared conflict: then anyone free in
        its region."""
        rng, s, g = self.rng, int(self.key_sector[e]), int(self.region[e])
        members = np.arange(self.region_offset[g], self.region_offset[g] + self.region_size[g])
        pools = [members]
        if s > 0 and self.insp_speciality[current] == s:
            pools.insert(0, self.specialists[s])
            repeat = self.specialists[s][np.isin(self.specialists[s], members)]
            repeat = repeat[~self._conflicted(repeat, np.full(len(repeat), e))]
            if len(repeat):
                pools.insert(1, None)  # keep a specialist of the last inspection
        for pool in pools:
            if pool is None:
                return int(repeat[rng.integers(len(repeat))])
            pool = pool[~self._barred(pool, np.full(len(pool), e))]
            if len(pool):
                return int(pool[rng.integers(len(pool))])
        return current

    def _conflicted(self, inspector: np.ndarray, ent: np.ndarray) -> np.ndarray:
        if not len(self.conflict_codes):
            return np.zeros(len(inspector), dtype=bool)
        code = inspector * self.n + ent
        pos = np.minimum(np.searchsorted(self.conflict_codes, code), len(self.conflict_codes) - 1)
        return self.conflict_codes[pos] == code

    # -- annual reports --------------------------------------------------------------------
    def _reports_due(self, t: int) -> None:
        """In June of year Y+1: who filed the report for year Y, on time, late or never."""
        p, rng = self.p, self.rng
        year = int(self.cal.year[t]) - 1
        year_end = day_of(f"{year}-12-31")
        due = np.flatnonzero(
            (self.reg_day <= year_end) & (self.reg_t < t) & (self.gone_day == NA_DAY)
        )
        k = len(due)
        dormant = self.dormant_t[due] != NEVER
        on_time = np.where(
            dormant,
            rng.random(k) < p.dormant_filing_share,
            rng.random(k) < ndtr(p.on_time_intercept - p.on_time_risk * self.r[due]),
        )
        # riskier entities file closer to the deadline
        lateness = ndtr(
            p.filing_day_intercept + p.filing_day_risk * self.r[due] + rng.normal(0, 1, k)
        )
        filed = np.where(on_time, year_end + 1 + (180 * lateness).astype(np.int64), NA_DAY)
        idx = self.reports.append(
            entity=due, year=year, filed=filed, zero=dormant & on_time, risk=self.r[due]
        )
        self.report_blocks.append((int(idx[0]) if k else self.reports.n, self.reports.n, year))
        np.maximum.at(self.last_event_day, due[on_time], filed[on_time])
        missed = ~on_time
        self.outstanding[due[missed]] += 1
        self.last_late_year[due[missed]] = year
        self.missed_now[:] = False
        self.missed_now[due[missed]] = True
        late = missed & ~dormant & (rng.random(k) < p.late_filing_share)
        delay = 2 + rng.geometric(1 / p.late_filing_months, int(late.sum())) - 1
        for m in np.unique(delay):
            self.late_filings[t + int(m)].append(idx[late][delay == m])

    def _list_non_filers(self, t: int) -> None:
        """1-14 July: every entity registered that day that missed 30 June is listed (one
        whose deregistration is already dated, after a pending event, leaves the list
        that day)."""
        ent = np.flatnonzero(self.missed_now)
        day = self.cal.month_start[t] + self.rng.integers(0, 14, len(ent))  # 1-14 July
        gone = self.gone_day[ent]
        registered = (gone == NA_DAY) | (gone > day)
        ent, day = ent[registered], day[registered]
        self._list_abnormal(ent, NOT_FILED, day)
        leaving = ent[(self.gone_day[ent] != NA_DAY) & (self.open_abnormal[ent] >= 0)]
        self._remove(self.open_abnormal[leaving], self.gone_day[leaving], DEREGISTERED)
        self.open_abnormal[leaving] = -1
        self.missed_now[:] = False

    def _late_filings(self, t: int) -> None:
        if t not in self.late_filings:
            return
        idx = np.concatenate(self.late_filings.pop(t))
        idx = idx[self.reports["filed"][idx] == NA_DAY]  # filed after a warning already
        ent = self.reports["entity"][idx]
        ok = self.gone_day[ent] == NA_DAY
        idx, ent = idx[ok], ent[ok]
        day = self.cal.random_day(t, self.rng.random(len(idx)))
        self.reports["filed"][idx] = day
        np.maximum.at(self.last_event_day, ent, day)
        np.subtract.at(self.outstanding, ent, 1)
        entry = self.open_abnormal[ent]
        fixed = (entry >= 0) & (self.outstanding[ent] == 0)
        fixed[fixed] &= self.entries["reason"][entry[fixed]] == NOT_FILED
        # removal within about 5 working days, and this month: in June, before the next
        # report falls due, so nothing is outstanding on the day of removal
        when = day[fixed] + self.rng.integers(1, 8, int(fixed.sum()))
        when = np.minimum(when, self.cal.month_end(t))
        self._remove(entry[fixed], when, RESTORED)
        self.open_abnormal[ent[fixed]] = -1
        np.maximum.at(self.last_event_day, ent[fixed], when)

    # -- list entries ----------------------------------------------------------------------
    def _listed_by(self, pointer: np.ndarray, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether each entity's open entry (if any) was listed on or before ``day``."""
        entry = pointer[ent]
        has = entry >= 0
        out = np.zeros(len(ent), dtype=bool)
        out[has] = self.entries["listed"][entry[has]] <= day[has]
        return out

    def _new_entries(
        self,
        pointer: np.ndarray,
        ent: np.ndarray,
        day: np.ndarray,
        blocked: np.ndarray,
        **columns,
    ) -> None:
        """Append entries for the unblocked entities; an entry of theirs dated later than
        the new one (listed ahead, e.g. after an inspection) is void: it never happens,
        because the entity is already listed by then."""
        ent, day = ent[~blocked], day[~blocked]
        later = pointer[ent]
        self.entries["void"][later[later >= 0]] = True
        cols = {k: (v[~blocked] if isinstance(v, np.ndarray) else v) for k, v in columns.items()}
        idx = self.entries.append(
            entity=ent,
            listed=day,
            removed=NA_DAY,
            removal=-1,
            void=False,
            warned=NA_DAY,
            fix_day=NA_DAY,
            fix_removal=NA_DAY,
            **cols,
        )
        pointer[ent] = idx
        np.maximum.at(self.last_event_day, ent, day)

    def _list_abnormal(self, ent: np.ndarray, reason: int, day: np.ndarray) -> None:
        """Abnormal operation list (sole proprietors: marked) unless listed by that day."""
        ent, first = np.unique(ent, return_index=True)
        day = day[first]
        blocked = self._listed_by(self.open_abnormal, ent, day)
        blocked |= self._listed_by(self.open_serious, ent, day)
        sole = self.entity_type[ent] == ENTITY_TYPES.index("sole_proprietor")
        self._new_entries(
            self.open_abnormal,
            ent,
            day,
            blocked,
            list=np.where(sole, MARK, ABNORMAL),
            reason=reason,
        )

    def _list(self, ent: np.ndarray, which: int, reason: int, day: np.ndarray) -> None:
        ent, first = np.unique(ent, return_index=True)
        day = day[first]
        blocked = self._listed_by(self.open_serious, ent, day)
        self._new_entries(self.open_serious, ent, day, blocked, list=which, reason=reason)

    def _remove(self, idx: np.ndarray, day: np.ndarray, reason: int) -> None:
        day = np.maximum(day, self.entries["listed"][idx] + 1)
        self.entries["removed"][idx] = day
        self.entries["removal"][idx] = reason
        np.maximum.at(self.last_removal_day, self.entries["entity"][idx], day)

    def _list_terms(self, t: int) -> None:
        """List periods ending this month, before anyone exits: the serious list's three
        years (or an early exit after one), then the public warning before an
        escalation and the escalation itself, three years (calendar) after the listing."""
        p, rng = self.p, self.rng
        month_end = self.cal.month_end(t)
        e = self.entries
        # serious list first (an escalation this month may need the entity free of it):
        # three years, or an early exit after one year for operating entities that met
        # their obligations (no annual report outstanding) and drew no heavier penalty
        # since the listing
        ent = np.flatnonzero(self.open_serious >= 0)
        entry = self.open_serious[ent]
        listed = e["listed"][entry]
        ends = add_months(listed, LIST_MONTHS)
        expired = ends <= month_end
        early = (
            ~expired
            & (add_months(listed, EARLY_EXIT_MONTHS) <= self.cal.month_start[t])
            & (self.dormant_t[ent] == NEVER)
            & (self.outstanding[ent] == 0)
            & ~(self.last_heavy_day[ent] > listed)
            & (rng.random(len(ent)) < p.serious_early_exit_rate)
        )
        self._remove(entry[expired], ends[expired], EXPIRED)
        self._remove(entry[early], self.cal.random_day(t, rng.random(int(early.sum()))), RESTORED)
        done = expired | early
        self.open_serious[ent[done]] = -1
        np.maximum.at(self.last_event_day, ent[done], e["removed"][entry[done]])

        # abnormal operation entries unfixed for three years escalate, after a public
        # warning in the days before (entries being fixed after the warning do not)
        ent = np.flatnonzero(self.open_abnormal >= 0)
        entry = self.open_abnormal[ent]
        listing = e["list"][entry] == ABNORMAL
        escalate_on = add_months(e["listed"][entry], LIST_MONTHS)
        warn = listing & (e["warned"][entry] == NA_DAY)
        warn &= escalate_on - p.warning_days <= month_end
        self._warn(ent[warn], entry[warn], escalate_on[warn])
        due = listing & (escalate_on <= month_end) & (e["fix_day"][entry] == NA_DAY)
        self._remove(entry[due], escalate_on[due], ESCALATION)
        self.open_abnormal[ent[due]] = -1
        self._list(ent[due], SERIOUS, ESCALATED, escalate_on[due])

    def _warn(self, ent: np.ndarray, entry: np.ndarray, escalate_on: np.ndarray) -> None:
        """The public warning, 50-60 days before the escalation; some operating entities
        then clear the cause (file the missing reports, confirm the address, ...) and
        are removed from the list before the escalation."""
        p, rng, k = self.p, self.rng, len(ent)
        if not k:
            return
        day = escalate_on - p.warning_days + rng.integers(0, 11, k)
        self.entries["warned"][entry] = day
        self.warnings.append(entity=ent, entry=entry, day=day, due=escalate_on)
        np.maximum.at(self.last_event_day, ent, day)
        operating = (self.dormant_t[ent] == NEVER) & (self.gone_day[ent] == NA_DAY)
        fix = operating & (rng.random(k) < p.warning_fix_share)
        ent, entry, day, due = ent[fix], entry[fix], day[fix], escalate_on[fix]
        m = len(ent)
        fix_day = day + 1 + (rng.random(m) * np.maximum(due - 8 - day, 1)).astype(np.int64)
        # removal within about 5 working days, before the escalation and before the next
        # annual report falls due (nothing may be outstanding on the day of removal)
        removal = np.minimum(fix_day + rng.integers(1, 8, m), due - 1)
        removal = np.maximum(np.minimum(removal, next_june_30(fix_day)), fix_day)
        self.entries["fix_day"][entry] = fix_day
        self.entries["fix_removal"][entry] = removal
        months = self.cal.month_index(removal)
        for month in np.unique(months):
            self.warning_fixes[int(month)].append(entry[months == month])

    def _answer_warnings(self, t: int) -> None:
        """Carry out the fixes decided after the warnings, removed this month."""
        if t not in self.warning_fixes:
            return
        e = self.entries
        entry = np.concatenate(self.warning_fixes.pop(t))
        ent = e["entity"][entry]
        still = self.open_abnormal[ent] == entry  # not removed otherwise meanwhile
        entry, ent = entry[still], ent[still]
        fix_day, removal = e["fix_day"][entry], e["fix_removal"][entry]
        files = e["reason"][entry] == NOT_FILED
        self._file_outstanding(ent[files], fix_day[files])
        self._remove(entry, removal, RESTORED)
        self.open_abnormal[ent] = -1
        np.maximum.at(self.last_event_day, ent, removal)

    def _file_outstanding(self, ent: np.ndarray, day: np.ndarray) -> None:
        """File on ``day`` every report of each entity still missing and due before it."""
        rep = self.reports
        for start, end, year in self.report_blocks:
            deadline = day_of(f"{year + 1}-06-30")
            block = rep["entity"][start:end]  # ascending: appended in entity order
            if not len(block):
                continue
            pos = np.minimum(np.searchsorted(block, ent), len(block) - 1)
            rows = start + pos
            hit = (block[pos] == ent) & (rep["filed"][rows] == NA_DAY) & (deadline < day)
            rows, owner = rows[hit], ent[hit]
            rep["filed"][rows] = day[hit]
            np.subtract.at(self.outstanding, owner, 1)
            np.maximum.at(self.last_event_day, owner, day[hit])

    def _fix_listings(self, t: int, active: np.ndarray) -> None:
        """Operating entities fix the cause of abnormal listings; rare new ones."""
        p, rng, e = self.p, self.rng, self.entries
        ent = np.flatnonzero(self.open_abnormal >= 0)
        entry = self.open_abnormal[ent]
        reason = e["reason"][entry]
        operating = (self.dormant_t[ent] == NEVER) & (self.gone_day[ent] == NA_DAY)
        fix_rate = np.select(
            [reason == UNREACHABLE, reason == NOT_FILED],
            [p.unreachable_fix_rate, 0.0],
            p.other_fix_rate,
        )
        # an entry due to escalate this month was handled by _list_terms already; one
        # being fixed after its warning is removed by _answer_warnings
        fixed = operating & (rng.random(len(ent)) < fix_rate)
        fixed &= e["listed"][entry] < self.cal.month_start[t]
        fixed &= e["fix_day"][entry] == NA_DAY
        day = self.cal.random_day(t, rng.random(int(fixed.sum())))
        self._remove(entry[fixed], day, RESTORED)
        self.open_abnormal[ent[fixed]] = -1
        np.maximum.at(self.last_event_day, ent[fixed], day)

        # ordered disclosures not made (rare), by operating entities
        hit = active[rng.random(len(active)) < p.disclosure_order_rate]
        self._list_abnormal(hit, NOT_DISCLOSED, self.cal.random_day(t, rng.random(len(hit))))

    # -- the simulated regulator's own rule tiers ----------------------------------------
    def _set_tiers(self, t: int) -> None:
        """Rule grid on what the regulator knows on 1 January: drives random-draw rates."""
        year = int(self.cal.year[t])
        tier = np.zeros(self.n, dtype=np.int64)
        b = ((t - self.last_minor_t) <= 12) | (self.last_late_year >= year - 2)
        b |= (self.cal.month_start[t] - self.reg_day) < 365
        c = (self.open_abnormal >= 0) | ((t - self.last_general_t) <= 36)
        c |= (t - self.last_finding_t) <= 24
        d = (self.open_serious >= 0) | ((t - self.last_serious_t) <= 36)
        tier[b] = 1
        tier[c] = 2
        tier[d] = 3
        self.tier = tier


def _norm(values) -> np.ndarray:
    arr = np.asarray(list(values), dtype=float)
    return arr / arr.sum()
