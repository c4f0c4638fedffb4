"""The indicator system's optional tables in a generated world: the people behind the
enterprises, their addresses, registration changes, complaints and other departments'
lists (``generate(..., indicators=True)``).

They are drawn after the simulation, from its finished state and from random streams
of their own, so the six tables of a world are the same, bit for bit, with or without
them. Nothing here feeds back into the simulation: every effect runs through the
latent risk the simulation already carries, which is why ``world.truth.probability``
(the oracle) is unchanged. What each table knows of that risk:

- **controllers.** Every enterprise has a controlling person (its first legal
  representative, and its main shareholder where it has shareholders). Most control one
  enterprise, a few many (``P(k) ~ k^-portfolio_exponent``, heavier-tailed
  ``risky_portfolio_exponent`` for the riskiest controllers). A controller's enterprises
  share a hidden propensity: they are matched on their hidden traits (the part of ``mu``
  no attribute explains) plus noise, within a region, so the traits of one controller's
  enterprises correlate by about ``controller_trait_share``; the propensity is the mean of
  their matched values (``IndicatorTruth.controller_propensity``). Companies and
  partnerships have other shareholders too (some of them controllers elsewhere), and some
  a manager.
- **addresses.** Most enterprises have an address of their own; some share one with
  their controller's other enterprises or sit in an ordinary shared building; some of
  the riskiest companies are registered in shell clusters of 10 or more, enterprises
  registered in the same months (an agent's address), and a shell that moves most often
  moves to another shell cluster of its region. ``enterprises.address_id`` is the
  address at the snapshot; an address change records the old and new address keys, so
  the address at any earlier date can be recovered.
- **changes.** Per month, ``rate * exp(risk * r)`` for each kind of change, lower while
  dormant; a change of legal representative ends the old role and starts a new one (a
  nominee who fronts several risky enterprises, or a new person), and records both
  people; an address change records both addresses. Changes of capital, scope, name and
  shareholders are recorded without values, and leave ``enterprises`` and the
  shareholder roles as they were (the six tables do not move).
- **complaints.** Every complaint inspection of the world follows a complaint
  (substantiated when the inspection found issues); other complaints arrive at
  ``complaint_rate * exp(complaint_risk * r)`` and are substantiated with probability
  ``ndtr(substantiated_intercept + substantiated_risk * r)``.
- **external_lists.** Per list, ``rate * exp(external_risk * r)`` a month (higher while
  dormant: unpaid debts), removed after an exponential time.

**How strong, and why.** The strengths are set from what is known of these warning
signs, not from what a model gains with them. On the default world the latent risk
``r`` of registered enterprises has a median near 0.2, its riskiest tenth starts near
1.0 and its riskiest hundredth near 2.1, so an effect ``b`` makes the riskiest tenth
``exp(0.8 b)`` and the riskiest hundredth about ``exp(1.9 b)`` times as frequent as the
median enterprise. Each rate at ``r = 0`` is set so that the register-wide rate stays
at its realistic level (per 100 enterprise-years of registration, about 6 changes
of legal representative and 7 of address, 5.5 complaints; about 5% of enterprises in a
year with a complaint, 1.3% on another department's list at any time): a stronger
effect concentrates the events on the risky, it does not add events.

- Changes of legal representative and of address (``b = 1.5``: 3.3x for the riskiest
  tenth, about 17x for the riskiest hundredth). SAMR's 2022 opinion names abnormal
  changes as an early warning; frequent changes of legal representative (nominees
  fronting many firms) and of address (firms that leave and are then "not found at the
  registered address") are the marks of shell and absconding firms. Changes of
  capital, scope, name and shareholders are ordinary business life (``b`` 0.2-0.6).
- Complaints (``b = 1.2``: 2.6x, about 10x): complaints concentrate on a few traders,
  and a surge is a named warning sign; about half are substantiated, more often the
  riskier the trader. Complaint inspections are already in the six tables; this
  table adds the complaints that led to none.
- Other departments' lists (``b = 1.0``: 2.2x, about 7x; three times the rate while
  dormant): court-judgment defaulters and tax, customs, social-security and safety
  lists track other obligations, linked to market-regulation conduct mostly through
  distress and abandonment, so less tightly than the register's own signals.
- Controllers (``controller_trait_share = 0.7``): the person in control sets how the
  enterprises keep their obligations, and one person's enterprises are often abandoned
  or listed together; the rest of the trait is each enterprise's own (its manager, its
  trade). The riskiest eighth of controllers hold more enterprises (one person behind
  many shells), so related parties say most about the riskiest enterprises, as studies
  of director networks find (Tobback et al. 2017).
- Shell clusters: the riskiest fifth of companies, a third of them at an agent's
  address with 10 or more others (Shandong draws 10% of such addresses for targeted
  inspection).

Each signal stays weak alone: most enterprises have none in a year, and the six tables'
history already tells much of the risk; what they add to a model is measured by
``benchmarks/bench_relations_auc.py``.

Examples
--------
>>> import creditrisk as cr
>>> w = cr.synth.generate(2_000, "2021-01-01", "2022-12-31", seed=1, indicators=True)
>>> sorted(name for name, _ in w.tables)[:3]
['annual_reports', 'changes', 'complaints']
>>> bool(w.tables.enterprises["address_id"].notna().all())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.special import ndtr

from creditrisk.data.schema import CHANGE_KINDS, ENTITY_TYPES, EXTERNAL_LISTS, ROLES, SUBSTANTIATED
from creditrisk.synth.calendar import NA_DAY, to_datetime
from creditrisk.synth.simulate import ISSUES, KIND_COMPLAINT, NEVER

__all__ = ["IndicatorParams", "IndicatorTruth", "draw_indicators"]

YEAR = 365.25
#: complaint categories (an open vocabulary in the data model)
COMPLAINT_CATEGORIES = (
    "product_quality",
    "food_safety",
    "false_advertising",
    "contract",
    "pricing",
    "service",
    "other",
)
_COMPANY_LIKE = tuple(ENTITY_TYPES.index(t) for t in ("company", "partnership", "cooperative"))
_SOLE = ENTITY_TYPES.index("sole_proprietor")
_BRANCH = ENTITY_TYPES.index("branch")


@dataclass(frozen=True)
class IndicatorParams:
    """Rates and effects of the indicator tables of a generated world.

    Rates are per entity and year at latent risk ``r = 0``; an effect ``x_risk``
    multiplies a rate by ``exp(x_risk * r)``.

    Parameters
    ----------
    controller_trait_share : float
        How much of the hidden trait a controller's enterprises share (about the
        correlation of the traits of two enterprises of one controller): most of it, as
        the person in control sets the conduct (see the module text).
    portfolio_exponent : float
        Enterprises per controller: ``P(k) ~ k ** -portfolio_exponent``.
    risky_controller_share, risky_portfolio_exponent : float
        The riskiest controllers (this share, by matched trait) draw their portfolio
        sizes with this smaller exponent: more of them hold several enterprises (one
        person behind many shells).
    max_portfolio : int
        The most enterprises one controller holds.
    other_shareholders : float
        Mean number of other shareholders of a company, partnership or cooperative.
    investor_share : float
        Of those, the share who control another enterprise of the region.
    manager_share : float
        Companies with a manager who is neither controller nor shareholder.
    controller_address_share : float
        Enterprises of a multi-enterprise controller registered at its first one's address.
    shared_address_share, shared_address_mean : float
        Enterprises in an ordinary shared building, and the buildings' mean size.
    shell_share, shell_cluster_mean : float
        Of the riskiest fifth of companies, the share registered in shell clusters, and
        the clusters' mean size (at least 10); a cluster's members registered in
        neighbouring months.
    shell_hop_share : float
        A move from a shell cluster goes to another shell cluster of the region with this
        probability (else to an address of its own).
    change_rates, change_risk : dict of str to float
        Per kind of change, its yearly rate and its risk effect (legal representative
        and address strongest, the marks of shell and absconding firms).
    dormant_change_factor : float
        Changes of a dormant enterprise, relative to an active one.
    nominee_share, nominee_portfolio : float
        A new legal representative of an enterprise with ``r > 0.5`` is a nominee with
        this probability; each region has as many nominees as make each front about
        ``nominee_portfolio`` appointments (whatever the world's size).
    complaint_rate, complaint_risk : float
        Complaints that lead to no inspection.
    substantiated_intercept, substantiated_risk : float
        Probit of a complaint being substantiated.
    list_rates : dict of str to float
        Per external list, its yearly listing rate.
    external_risk, external_dormant_factor : float
        The lists' risk effect, and the factor while dormant.
    list_months : dict of str to float
        Per list, the mean months until removal.

    Examples
    --------
    >>> IndicatorParams().change_rates["legal_representative"]
    0.027
    """

    controller_trait_share: float = 0.7
    portfolio_exponent: float = 3.2
    risky_controller_share: float = 0.12
    risky_portfolio_exponent: float = 2.4
    max_portfolio: int = 40
    other_shareholders: float = 0.6
    investor_share: float = 0.2
    manager_share: float = 0.3
    controller_address_share: float = 0.4
    shared_address_share: float = 0.10
    shared_address_mean: float = 4.0
    shell_share: float = 0.35
    shell_cluster_mean: float = 18.0
    shell_hop_share: float = 0.7
    change_rates: dict[str, float] = field(
        default_factory=lambda: {
            "legal_representative": 0.027,
            "address": 0.032,
            "registered_capital": 0.03,
            "business_scope": 0.06,
            "name": 0.01,
            "shareholders": 0.05,
        }
    )
    change_risk: dict[str, float] = field(
        default_factory=lambda: {
            "legal_representative": 1.5,
            "address": 1.5,
            "registered_capital": 0.4,
            "business_scope": 0.2,
            "name": 0.5,
            "shareholders": 0.6,
        }
    )
    dormant_change_factor: float = 0.3
    nominee_share: float = 0.3
    nominee_portfolio: float = 6.0
    complaint_rate: float = 0.024
    complaint_risk: float = 1.2
    substantiated_intercept: float = -0.4
    substantiated_risk: float = 0.8
    list_rates: dict[str, float] = field(
        default_factory=lambda: {
            "court_judgment_defaulter": 0.004,
            "major_tax_violation": 0.0006,
            "customs_dishonest": 0.0002,
            "environmental_violation": 0.0004,
            "work_safety": 0.0004,
            "social_security": 0.001,
        }
    )
    external_risk: float = 1.0
    external_dormant_factor: float = 3.0
    list_months: dict[str, float] = field(
        default_factory=lambda: {
            "court_judgment_defaulter": 18.0,
            "major_tax_violation": 36.0,
            "customs_dishonest": 24.0,
            "environmental_violation": 24.0,
            "work_safety": 12.0,
            "social_security": 12.0,
        }
    )


@dataclass(frozen=True, eq=False)
class IndicatorTruth:
    """What the generator knows of the people and addresses, and a model never sees.

    Parameters
    ----------
    controller : pandas.Series
        Each enterprise's controlling person (person_id), by entity_id: its first legal
        representative (and main shareholder where it has shareholders); a branch's
        controller holds no role in the branch itself (its manager runs it).
    controller_propensity : pandas.Series
        Each controller's hidden propensity (the mean matched trait of its enterprises;
        probit scale, like ``mu``), by person_id.
    address_kind : pandas.Series
        Each enterprise's first address: ``own``, ``controller`` (shared with its
        controller's enterprises), ``shared`` (an ordinary shared building) or ``shell``
        (a shell cluster), by entity_id.
    params : IndicatorParams
        The rates and effects drawn with.

    Examples
    --------
    >>> import creditrisk as cr
    >>> w = cr.synth.generate(1_000, "2021-01-01", "2021-12-31", seed=2, indicators=True)
    >>> w.truth.indicators.address_kind.isin(["own", "controller", "shared", "shell"]).all()
    np.True_
    """

    controller: pd.Series
    controller_propensity: pd.Series
    address_kind: pd.Series
    params: IndicatorParams


def draw_indicators(sim, seed: int, entity_ids: np.ndarray, params: IndicatorParams | None = None):
    """The four indicator tables, the address of every enterprise, and their truth.

    Parameters
    ----------
    sim : Simulation
        A finished simulation (:meth:`~creditrisk.synth.simulate.Simulation.run`).
    seed : int
        The world's seed; the draws use streams of their own (``[seed, 3]`` to
        ``[seed, 7]``).
    entity_ids : numpy.ndarray
        The enterprises' ids, in the simulation's order.
    params : IndicatorParams, optional
        Rates and effects; the defaults otherwise.

    Returns
    -------
    frames : dict of str to pandas.DataFrame
        ``roles``, ``changes``, ``complaints``, ``external_lists``: plain frames of the
        data model's columns (EventTables coerces them), as the register knows them at
        the snapshot.
    address_id : numpy.ndarray
        Each enterprise's address at the snapshot.
    truth : IndicatorTruth
        Controllers, their propensities and the kinds of addresses.

    Examples
    --------
    >>> from creditrisk.synth.params import WorldParams
    >>> from creditrisk.synth.simulate import Simulation
    >>> sim = Simulation(WorldParams(), 300, "2021-01-01", "2021-12-31", seed=1).run()
    >>> frames, address, truth = draw_indicators(sim, 1, np.array([f"E{i}" for i in range(300)]))
    >>> sorted(frames), len(address)
    (['changes', 'complaints', 'external_lists', 'roles'], 300)
    """
    p = params or IndicatorParams()
    state = _State(sim, entity_ids)
    controller, propensity = _controllers(sim, p, np.random.default_rng([seed, 3]))
    address, kind = _addresses(sim, p, controller, np.random.default_rng([seed, 4]))
    changes = _changes(sim, state, p, np.random.default_rng([seed, 5]))
    roles, changes, address = _roles(
        sim, state, p, controller, changes, address, kind, np.random.default_rng([seed, 6])
    )
    rng = np.random.default_rng([seed, 7])
    complaints = _complaints(sim, state, p, rng)
    external = _external(sim, state, p, rng)
    n_people = int(controller.max()) + 1 if len(controller) else 0
    truth = IndicatorTruth(
        controller=pd.Series(_person_ids(controller), index=entity_ids, name="controller"),
        controller_propensity=pd.Series(
            propensity, index=_person_ids(np.arange(n_people)), name="controller_propensity"
        ),
        address_kind=pd.Series(kind, index=entity_ids, name="address_kind"),
        params=p,
    )
    frames = {"roles": roles, "changes": changes, "complaints": complaints}
    frames["external_lists"] = external
    return frames, _address_ids(address), truth


# -- the pieces -------------------------------------------------------------------------
class _State:
    """Month-by-month facts of the window: who is alive, dormant, and how risky."""

    def __init__(self, sim, entity_ids: np.ndarray):
        self.ids = np.asarray(entity_ids, dtype=object)
        self.months = range(sim.t0, sim.cal.n_months)
        self.gone = np.where(sim.gone_day == NA_DAY, np.iinfo(np.int64).max, sim.gone_day)

    def month(self, sim, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entities alive through month t's start, whether dormant, and their risk."""
        start = sim.cal.month_start[t]
        alive = np.flatnonzero((sim.reg_t < t) & (self.gone >= start))
        r = (
            sim.mu[alive]
            + sim.x_window[alive, t - sim.t0].astype(np.float64)
            + sim.youth(start - sim.reg_day[alive])
        )
        dormant = (sim.dormant_t[alive] != NEVER) & (sim.dormant_t[alive] <= t)
        return alive, dormant, r

    def days(self, sim, t: int, ent: np.ndarray, rng) -> np.ndarray:
        """A day of month t for each event, never after the entity's deregistration."""
        return np.minimum(sim.cal.random_day(t, rng.random(len(ent))), self.gone[ent])


def _controllers(sim, p: IndicatorParams, rng) -> tuple[np.ndarray, np.ndarray]:
    """Each enterprise's controller (0..people-1) and each controller's propensity."""
    n = sim.n
    trait = sim.trait
    spread = float(np.std(trait)) if n > 1 else 1.0
    share = min(max(p.controller_trait_share, 1e-6), 1 - 1e-6)
    matched = trait + rng.normal(0, spread * np.sqrt((1 - share) / share), n)
    risky_cut = np.quantile(matched, 1 - p.risky_controller_share) if n else np.inf
    k = np.arange(1, p.max_portfolio + 1)
    ordinary = k ** -float(p.portfolio_exponent)
    risky = k ** -float(p.risky_portfolio_exponent)
    controller = np.empty(n, dtype=np.int64)
    next_id = 0
    for region in range(int(sim.region.max()) + 1 if n else 0):
        members = np.flatnonzero(sim.region == region)
        if not len(members):
            continue
        members = members[np.argsort(matched[members], kind="stable")]
        # a portfolio's size is drawn where it starts, from the heavier tail when its
        # first (least risky) member is already among the riskiest controllers
        sizes = np.where(
            matched[members] >= risky_cut,
            rng.choice(k, size=len(members), p=risky / risky.sum()),
            rng.choice(k, size=len(members), p=ordinary / ordinary.sum()),
        )
        starts = np.zeros(len(members), dtype=bool)
        at = 0
        while at < len(members):
            starts[at] = True
            at += int(sizes[at])
        group = np.cumsum(starts) - 1
        count = int(group[-1]) + 1
        # shuffle which block of similar traits becomes which controller, so that ids
        # carry no order of risk
        controller[members] = next_id + rng.permutation(count)[group]
        next_id += count
    propensity = np.bincount(controller, weights=matched, minlength=next_id) / np.maximum(
        np.bincount(controller, minlength=next_id), 1
    )
    return controller, propensity


def _addresses(sim, p: IndicatorParams, controller: np.ndarray, rng):
    """Each enterprise's first address (0..) and its kind."""
    n = sim.n
    address = np.arange(n, dtype=np.int64)
    kind = np.full(n, "own", dtype=object)
    next_id = n
    # the controller's other enterprises at its first enterprise's address
    first = np.full(int(controller.max()) + 1 if n else 0, -1, dtype=np.int64)
    held, at = np.unique(controller, return_index=True)
    first[held] = at  # each controller's first enterprise
    size = np.bincount(controller, minlength=len(first))
    follows = (size[controller] > 1) & (first[controller] != np.arange(n))
    follows &= rng.random(n) < p.controller_address_share
    address[follows] = address[first[controller[follows]]]
    kind[follows] = "controller"
    # shell clusters: some of the riskiest fifth of companies
    company = np.isin(sim.entity_type, _COMPANY_LIKE)
    cut = np.quantile(sim.mu[company], 0.8) if company.any() else np.inf
    risky = company & (sim.mu >= cut)
    shells = risky & (rng.random(n) < p.shell_share)
    members = np.flatnonzero(shells)
    next_id, shells = _cluster(
        sim, members, address, 10, p.shell_cluster_mean, next_id, rng, by=sim.reg_day
    )
    kind[shells] = "shell"
    # ordinary shared buildings
    shared = ~shells & ~follows & (rng.random(n) < p.shared_address_share)
    members = np.flatnonzero(shared)
    next_id, shared = _cluster(sim, members, address, 2, p.shared_address_mean, next_id, rng)
    kind[shared] = "shared"
    return address, kind


def _cluster(sim, members, address, least: int, mean: float, next_id: int, rng, by=None):
    """Group ``members`` by region into clusters of at least ``least`` (mean ``mean``).

    A short last cluster joins the one before; a region with fewer than ``least``
    members leaves them where they were. With ``by`` (a value per entity) a cluster
    takes members next to each other in its order (ties in random order): shells
    registered at one agent's address in the same months. Returns the next free address
    and a mask of the members clustered.
    """
    clustered = np.zeros(len(address), dtype=bool)
    for region in np.unique(sim.region[members]):
        here = rng.permutation(members[sim.region[members] == region])
        if by is not None:
            here = here[np.argsort(by[here], kind="stable")]
        if len(here) < least:
            continue
        sizes = least + rng.geometric(1 / max(mean - least + 1, 1), len(here)) - 1
        ends = np.cumsum(sizes)
        count = int(np.searchsorted(ends, len(here))) + 1
        group = np.repeat(np.arange(count), sizes[:count])[: len(here)]
        if count > 1 and (group == count - 1).sum() < least:
            group[group == count - 1] = count - 2
            count -= 1
        address[here] = next_id + group
        clustered[here] = True
        next_id += count
    return next_id, clustered


def _changes(sim, state: _State, p: IndicatorParams, rng) -> dict[str, np.ndarray]:
    """Registration changes in the window: entity, kind code, day, published day."""
    kinds = list(p.change_rates)
    rates = np.array([p.change_rates[k] for k in kinds]) / 12
    effects = np.array([p.change_risk[k] for k in kinds])
    codes = np.array([CHANGE_KINDS.index(k) for k in kinds])
    company = np.isin(sim.entity_type, _COMPANY_LIKE)
    shareholders = kinds.index("shareholders") if "shareholders" in kinds else -1
    out = {"entity": [], "kind": [], "day": []}
    for t in state.months:
        alive, dormant, r = state.month(sim, t)
        lam = rates[None, :] * np.exp(effects[None, :] * r[:, None])
        lam = lam * np.where(dormant, p.dormant_change_factor, 1.0)[:, None]
        if shareholders >= 0:
            lam[:, shareholders] *= company[alive]
        if "legal_representative" in kinds:  # a branch has a manager, no representative
            lam[:, kinds.index("legal_representative")] *= sim.entity_type[alive] != _BRANCH
        counts = rng.poisson(lam)
        row, col = np.nonzero(counts)
        times = counts[row, col]
        ent = np.repeat(alive[row], times)
        out["entity"].append(ent)
        out["kind"].append(np.repeat(codes[col], times))
        out["day"].append(state.days(sim, t, ent, rng))
    result = {k: np.concatenate(v) if v else np.empty(0, np.int64) for k, v in out.items()}
    result["published"] = result["day"] + rng.integers(0, 11, len(result["day"]))
    keep = result["published"] <= sim.end_day
    order = np.lexsort((result["kind"][keep], result["day"][keep], result["entity"][keep]))
    return {k: v[keep][order] for k, v in result.items()}


def _roles(sim, state, p: IndicatorParams, controller, changes, address, kind, rng):
    """Roles from registration and from the changes; the changes' old and new values."""
    n = sim.n
    lag = rng.integers(0, 6, n)
    people = int(controller.max()) + 1 if n else 0
    rows = {k: [] for k in ("person", "entity", "role", "from", "to", "published", "share")}

    def add(person, entity, role, start, end, published, share):
        rows["person"].append(np.asarray(person, np.int64))
        rows["entity"].append(np.asarray(entity, np.int64))
        rows["role"].append(np.full(len(rows["person"][-1]), ROLES.index(role)))
        rows["from"].append(np.asarray(start, np.int64))
        rows["to"].append(np.asarray(end, np.int64))
        rows["published"].append(np.asarray(published, np.int64))
        rows["share"].append(np.asarray(share, np.float64))

    everyone = np.arange(n)
    # shareholders of companies: the controller and a few others
    company = np.flatnonzero(np.isin(sim.entity_type, _COMPANY_LIKE))
    others = rng.poisson(p.other_shareholders, len(company))
    holder_ent = np.repeat(company, others)
    raw = rng.random(len(holder_ent)) + 0.2
    control = np.where(others > 0, rng.uniform(0.5, 0.95, len(company)), 1.0)
    total = np.bincount(
        np.repeat(np.arange(len(company)), others), weights=raw, minlength=len(company)
    )
    index = np.repeat(np.arange(len(company)), others)
    share = (1 - control[index]) * raw / np.maximum(total[index], 1e-12)
    investor = rng.random(len(holder_ent)) < p.investor_share
    holder = np.empty(len(holder_ent), dtype=np.int64)
    fresh = int((~investor).sum())
    holder[~investor] = people + np.arange(fresh)
    people += fresh
    # investors: a controller of another enterprise of the same region
    pick = rng.integers(0, n, int(investor.sum())) if n else np.empty(0, np.int64)
    same = sim.region[pick] == sim.region[holder_ent[investor]]
    holder[investor] = np.where(same, controller[pick], people + np.arange(int(investor.sum())))
    people += int(investor.sum())
    reg = sim.reg_day
    add(
        controller[company],
        company,
        "shareholder",
        reg[company],
        _na(len(company)),
        reg[company] + lag[company],
        np.round(control, 3),
    )
    add(
        holder,
        holder_ent,
        "shareholder",
        reg[holder_ent],
        _na(len(holder)),
        reg[holder_ent] + lag[holder_ent],
        np.round(share, 3),
    )
    # managers (branches: the person in charge is the manager)
    managed = np.isin(sim.entity_type, _COMPANY_LIKE) & (rng.random(n) < p.manager_share)
    managed |= sim.entity_type == _BRANCH
    managed = np.flatnonzero(managed)
    add(
        people + np.arange(len(managed)),
        managed,
        "manager",
        reg[managed],
        _na(len(managed)),
        reg[managed] + lag[managed],
        np.full(len(managed), np.nan),
    )
    people += len(managed)

    # legal representatives: the controller, then whoever each change brings
    lr = changes["kind"] == CHANGE_KINDS.index("legal_representative")
    ent, day, pub = changes["entity"][lr], changes["day"][lr], changes["published"][lr]
    risky = _risk_at(sim, ent, day) > 0.5
    nominee = risky & (rng.random(len(ent)) < p.nominee_share)
    newcomer = np.empty(len(ent), dtype=np.int64)
    newcomer[~nominee] = people + np.arange(int((~nominee).sum()))
    people += int((~nominee).sum())
    # each region's nominees front about nominee_portfolio appointments each
    regions = int(sim.region.max()) + 1 if n else 0
    appointed = np.bincount(sim.region[ent[nominee]], minlength=regions)
    pool = np.ceil(appointed / max(p.nominee_portfolio, 1.0)).astype(np.int64)
    offset = np.r_[0, np.cumsum(pool)[:-1]].astype(np.int64)
    region = sim.region[ent[nominee]]
    newcomer[nominee] = (
        people + offset[region] + (rng.random(len(region)) * pool[region]).astype(np.int64)
    )
    people += int(pool.sum())
    # spell k of an entity runs from its k-th change (or registration) to the next
    first = np.r_[True, ent[1:] != ent[:-1]] if len(ent) else np.empty(0, bool)
    last = np.r_[ent[1:] != ent[:-1], True] if len(ent) else np.empty(0, bool)
    before = np.where(first, controller[ent], np.r_[-1, newcomer[:-1]])
    has_change = np.zeros(n, dtype=bool)
    has_change[ent] = True
    plain = everyone[~has_change & (sim.entity_type != _BRANCH)]
    add(
        controller[plain],
        plain,
        "legal_representative",
        reg[plain],
        _na(len(plain)),
        reg[plain] + lag[plain],
        np.full(len(plain), np.nan),
    )
    began = np.where(first, reg[ent], np.r_[0, day[:-1]])
    began_pub = np.where(first, reg[ent] + lag[ent], np.r_[0, pub[:-1]])
    add(before, ent, "legal_representative", began, day, began_pub, np.full(len(ent), np.nan))
    add(
        newcomer[last],
        ent[last],
        "legal_representative",
        day[last],
        _na(int(last.sum())),
        pub[last],
        np.full(int(last.sum()), np.nan),
    )
    old_value = np.full(len(changes["day"]), None, dtype=object)
    new_value = np.full(len(changes["day"]), None, dtype=object)
    old_value[lr], new_value[lr] = _person_ids(before), _person_ids(newcomer)

    # address changes: a move to an address of its own, or, from a shell cluster, most
    # often to another shell cluster of its region (agents move their shells around)
    moves = np.flatnonzero(changes["kind"] == CHANGE_KINDS.index("address"))
    new_address = int(address.max()) + 1 + np.arange(len(moves)) if n else moves
    hop = rng.random(len(moves)) < p.shell_hop_share
    pick = rng.random(len(moves))
    shell = kind == "shell"
    clusters = {
        region: np.unique(address[shell & (sim.region == region)])
        for region in np.unique(sim.region[shell])
    }
    current = address.copy()
    in_shell = shell.copy()
    for i, where, hops, u in zip(moves, new_address, hop, pick, strict=True):
        e = changes["entity"][i]  # in order of entity and day
        others = clusters.get(sim.region[e], np.empty(0, np.int64))
        others = others[others != current[e]]
        if in_shell[e] and hops and len(others):
            where = others[int(u * len(others))]
        else:
            in_shell[e] = False
        old_value[i], new_value[i] = current[e], where
        current[e] = where
    is_address = changes["kind"] == CHANGE_KINDS.index("address")
    old_value[is_address] = _address_ids(old_value[is_address].astype(np.int64))
    new_value[is_address] = _address_ids(new_value[is_address].astype(np.int64))

    frame = {k: np.concatenate(v) for k, v in rows.items()}
    keep = frame["published"] <= sim.end_day
    frame = {k: v[keep] for k, v in frame.items()}
    order = np.lexsort((frame["role"], frame["from"], frame["entity"]))
    frame = {k: v[order] for k, v in frame.items()}
    roles = pd.DataFrame(
        {
            "role_id": _ids("ROL", len(frame["person"])),
            "person_id": _person_ids(frame["person"]),
            "entity_id": state.ids[frame["entity"]],
            "role": pd.Categorical.from_codes(frame["role"], ROLES),
            "from_on": to_datetime(frame["from"]),
            "to_on": to_datetime(frame["to"]),
            "published_on": to_datetime(frame["published"]),
            "share": frame["share"],
        }
    )
    table = pd.DataFrame(
        {
            "change_id": _ids("CHG", len(changes["day"])),
            "entity_id": state.ids[changes["entity"]],
            "kind": pd.Categorical.from_codes(changes["kind"], CHANGE_KINDS),
            "changed_on": to_datetime(changes["day"]),
            "published_on": to_datetime(changes["published"]),
            "old_value": old_value,
            "new_value": new_value,
        }
    )
    return roles, table, current


def _complaints(sim, state: _State, p: IndicatorParams, rng) -> pd.DataFrame:
    """Complaints behind the complaint inspections, and others that led to none."""
    ins = sim.inspections.columns()
    behind = np.flatnonzero(ins["kind"] == KIND_COMPLAINT)
    ent = ins["entity"][behind]
    received = np.maximum(ins["day"][behind] - rng.integers(1, 21, len(behind)), sim.reg_day[ent])
    verdict = np.where(ins["outcome"][behind] == ISSUES, 0, 1)  # issues found: yes
    concluded = ins["published"][behind]
    parts = [(ent, received, verdict, concluded)]
    for t in state.months:
        alive, dormant, r = state.month(sim, t)
        lam = p.complaint_rate / 12 * np.exp(p.complaint_risk * r) * np.where(dormant, 0.3, 1.0)
        counts = rng.poisson(lam)
        e = np.repeat(alive, counts)
        r_e = np.repeat(r, counts)
        day = state.days(sim, t, e, rng)
        yes = rng.random(len(e)) < ndtr(p.substantiated_intercept + p.substantiated_risk * r_e)
        parts.append((e, day, np.where(yes, 0, 1), day + rng.integers(10, 61, len(e))))
    ent, received, verdict, concluded = (np.concatenate(c) for c in zip(*parts, strict=True))
    recorded = received + rng.integers(0, 3, len(ent))
    keep = (received >= sim.start_day) & (recorded <= sim.end_day)
    ent, received, recorded = ent[keep], received[keep], recorded[keep]
    verdict, concluded = verdict[keep], concluded[keep]
    pending = concluded > sim.end_day
    verdict = np.where(pending, SUBSTANTIATED.index("pending"), verdict)
    concluded = np.where(pending, NA_DAY, concluded)
    food = sim.key_sector[ent] == 1
    category = rng.integers(0, len(COMPLAINT_CATEGORIES), len(ent))
    category = np.where(food & (rng.random(len(ent)) < 0.5), 1, category)
    order = np.lexsort((received, ent))
    return pd.DataFrame(
        {
            "complaint_id": _ids("CMP", len(ent)),
            "entity_id": state.ids[ent[order]],
            "received_on": to_datetime(received[order]),
            "recorded_on": to_datetime(recorded[order]),
            "category": np.asarray(COMPLAINT_CATEGORIES, dtype=object)[category[order]],
            "substantiated": pd.Categorical.from_codes(verdict[order], SUBSTANTIATED),
            "concluded_on": to_datetime(concluded[order]),
        }
    )


def _external(sim, state: _State, p: IndicatorParams, rng) -> pd.DataFrame:
    """Entries on other departments' lists, listed in the window."""
    lists = list(p.list_rates)
    rates = np.array([p.list_rates[name] for name in lists]) / 12
    codes = np.array([EXTERNAL_LISTS.index(name) for name in lists])
    months = np.array([p.list_months[name] for name in lists])
    ent_parts, list_parts, day_parts = [], [], []
    for t in state.months:
        alive, dormant, r = state.month(sim, t)
        factor = np.exp(p.external_risk * r) * np.where(dormant, p.external_dormant_factor, 1.0)
        counts = rng.poisson(rates[None, :] * factor[:, None])
        row, col = np.nonzero(counts)
        ent = np.repeat(alive[row], counts[row, col])
        ent_parts.append(ent)
        list_parts.append(np.repeat(col, counts[row, col]))
        day_parts.append(state.days(sim, t, ent, rng))
    ent, which, listed = (np.concatenate(x) for x in (ent_parts, list_parts, day_parts))
    published = listed + rng.integers(0, 31, len(ent))
    removed = listed + (rng.exponential(months[which] * YEAR / 12)).astype(np.int64) + 1
    keep = published <= sim.end_day
    ent, which, listed, published, removed = (
        x[keep] for x in (ent, which, listed, published, removed)
    )
    removed = np.where(removed > sim.end_day, NA_DAY, removed)
    order = np.lexsort((listed, ent))
    return pd.DataFrame(
        {
            "entry_id": _ids("EXT", len(ent)),
            "entity_id": state.ids[ent[order]],
            "list": pd.Categorical.from_codes(codes[which[order]], EXTERNAL_LISTS),
            "listed_on": to_datetime(listed[order]),
            "removed_on": to_datetime(removed[order]),
            "published_on": to_datetime(published[order]),
        }
    )


# -- helpers -----------------------------------------------------------------------------
def _risk_at(sim, ent: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Latent risk of each entity in the month of ``day`` (within the window)."""
    t = np.clip(sim.cal.month_index(day), sim.t0, sim.cal.n_months - 1)
    x = sim.x_window[ent, t - sim.t0].astype(np.float64)
    return sim.mu[ent] + x + sim.youth(sim.cal.month_start[t] - sim.reg_day[ent])


def _na(k: int) -> np.ndarray:
    return np.full(k, NA_DAY, dtype=np.int64)


def _ids(prefix: str, count: int) -> np.ndarray:
    width = max(7, len(str(count)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(1, count + 1)], dtype=object)


def _person_ids(index: np.ndarray) -> np.ndarray:
    return np.array([f"P{i + 1:08d}" for i in np.asarray(index, np.int64)], dtype=object)


def _address_ids(index: np.ndarray) -> np.ndarray:
    return np.array([f"AD{i + 1:08d}" for i in np.asarray(index, np.int64)], dtype=object)
