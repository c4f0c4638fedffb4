"""The numbers that shape the synthetic world, in one documented place.

Rates are per month unless a name says otherwise. The latent risk ``r`` of an entity is
on a probit scale: ``r = mu + x_t + youth(age)``, where ``mu`` is persistent (attributes
plus a hidden trait), ``x_t`` drifts as an AR(1) process and ``youth`` fades with age.

Examples
--------
>>> from creditrisk.synth.params import WorldParams
>>> p = WorldParams()
>>> p.random_rate_by_tier["D"] > p.random_rate_by_tier["A"]
True
>>> WorldParams(finding_intercept=-1.0).finding_intercept
-1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["INDUSTRIES", "WorldParams"]

# name: (share, risk offset, {key sector: share of the industry's entities})
INDUSTRIES: dict[str, tuple[float, float, dict[str, float]]] = {
    "retail": (0.26, 0.075, {"food": 0.22, "drug": 0.04}),
    "catering": (0.12, 0.300, {"food": 0.90}),
    "resident_services": (0.10, 0.000, {}),
    "wholesale": (0.09, 0.075, {"food": 0.12, "drug": 0.03}),
    "manufacturing": (
        0.07,
        0.225,
        {"food": 0.10, "industrial_product": 0.35, "drug": 0.02, "special_equipment": 0.04},
    ),
    "business_services": (0.09, -0.075, {}),
    "construction": (0.05, 0.300, {"special_equipment": 0.10}),
    "transport": (0.05, 0.150, {"special_equipment": 0.05}),
    "information_technology": (0.05, -0.300, {}),
    "accommodation": (0.03, 0.150, {"food": 0.30, "special_equipment": 0.05}),
    "real_estate": (0.02, 0.225, {"special_equipment": 0.20}),
    "agriculture": (0.04, -0.075, {"food": 0.15}),
    "healthcare": (0.02, 0.150, {"drug": 0.50, "special_equipment": 0.05}),
}

# key sector -> (license type, penalty category most often seen)
SECTOR_LICENSES = {
    "food": "food_business",
    "drug": "drug_trade",
    "industrial_product": "production_license",
    "special_equipment": "special_equipment_registration",
}
OTHER_LICENSES = (
    "environmental_permit",
    "road_transport",
    "advertising_registration",
    "fire_safety",
    "publication_trade",
)
SECTOR_CATEGORY = {
    "food": "food_safety",
    "drug": "drug_safety",
    "industrial_product": "product_quality",
    "special_equipment": "special_equipment_safety",
}
GENERAL_CATEGORIES = (
    "product_quality",
    "advertising",
    "pricing",
    "unfair_competition",
    "registration",
    "unlicensed_operation",
    "consumer_protection",
    "trademark",
    "other",
)


@dataclass(frozen=True)
class WorldParams:
    """Every rate and effect of the synthetic world (defaults are the calibrated world).

    The default world is calibrated (see ``benchmarks/RESULTS.md``) to an oracle AUC of
    0.70-0.85 for the 12-month inspection finding label, a 10-30% finding rate on random
    inspections, a few percent of entities on the abnormal list and well under 1% on the
    serious illegal list at any time, and sole proprietors in the majority.

    The parameters come in eight groups, in this order: the population
    (``entity_type_shares`` to ``burn_in_years``), the latent risk (``risky_share`` to
    ``youth_years``), life and death (``dormancy_rate`` to ``dormant_exit_rate``),
    annual reports (``on_time_intercept`` to ``financials_disclosed``), penalties
    (``penalty_rate`` to ``serious_listing_share``), list entries
    (``false_information_after_finding`` to ``warning_fix_share``), inspections
    (``random_rate_by_tier`` to ``joint_key_sector_multiplier``) and inspection
    outcomes (``finding_intercept`` to ``speciality_shares``). ``r`` is an entity's
    latent risk, ``mu`` its persistent part (see the module's docstring); rates are
    monthly chances unless said otherwise. Every parameter has its calibrated default.

    Parameters
    ----------
    entity_type_shares : dict of str to float
        **Population.** Share of each legal form among the entities (normalised).
    entity_type_risk : dict of str to float
        Offset of ``mu`` per legal form.
    key_sector_risk : dict of str to float
        Offset of ``mu`` per key sector (``none`` for the rest); an entity's key sector
        is drawn from its industry's shares (:data:`INDUSTRIES`).
    n_regions : int
        Number of regions (``district_01``, ...), of decreasing size.
    region_risk_sd : float
        Standard deviation of the regions' offsets of ``mu``.
    capital_risk : float
        Offset of ``mu`` per sd of log registered capital within the entity type
        (branches have no registered capital).
    entrant_share : float
        Share of entities registered during [start, end); the rest existed before start.
    mean_age_at_start : float
        Mean age in years at ``start`` of the entities that existed before it
        (exponential ages, capped at 40 years).
    burn_in_years : int
        Years simulated before ``start``; their records are kept only while still in
        force at ``start`` (annual reports: all of them).
    risky_share, risky_mean, risky_sd : float
        **Latent risk.** A hidden trait: a minority of "risky" operators (this share),
        whose trait is normal with this mean and standard deviation.
    ordinary_mean, ordinary_sd : float
        The trait of the rest, the ordinary operators.
    drift_rho : float
        Monthly AR(1) coefficient of ``x_t``.
    drift_sd : float
        Stationary standard deviation of ``x_t``.
    youth_risk : float
        Extra risk at registration, fading.
    youth_years : float
        E-folding time of the youth effect, in years.
    dormancy_rate : float
        **Life and death.** Monthly hazard of ceasing to operate (a dormant shell) at
        ``mu`` = 0.
    dormancy_risk : float
        Log-hazard of dormancy per unit of ``mu``.
    exit_rate : dict of str to float
        Monthly hazard of deregistration of an operating entity, per legal form (from
        ``start`` on).
    young_exit_multiplier : float
        Multiplies ``exit_rate`` during the first two years after registration.
    dormant_exit_rate : float
        Monthly hazard of deregistration, forced or voluntary, once dormant.
    on_time_intercept, on_time_risk : float
        **Annual reports.** Probit of filing by 30 June for an operating entity:
        ``on_time_intercept - on_time_risk * r``.
    filing_day_intercept, filing_day_risk : float
        Probit position of the filing day in January-June:
        ``filing_day_intercept + filing_day_risk * r`` plus a standard normal draw
        (riskier entities file closer to the deadline).
    leverage_intercept, leverage_risk : float
        Probit of the mean of liabilities / assets:
        ``leverage_intercept + leverage_risk * r`` (riskier: more debt).
    tax_ratio_risk : float
        Change of the log tax-to-revenue ratio per unit of ``r``.
    late_filing_share : float
        Share of the operating entities that miss 30 June and file late; the rest stay
        unfiled unless they clear the cause after a public warning.
    late_filing_months : float
        Mean of the geometric number of months after July in which a late report is
        filed (August at the earliest).
    dormant_filing_share : float
        Share of dormant shells that file (all-zero) reports on time.
    financials_disclosed : dict of str to float
        Share of filed reports that disclose their financials, for ``sole_proprietor``
        and for every ``other`` legal form.
    penalty_rate, penalty_risk : float
        **Penalties.** Monthly hazard of a penalty for an operating entity:
        ``penalty_rate * exp(penalty_risk * r)``, at most 0.5.
    severity_shares : dict of str to float
        Base shares of warning, minor, general and serious penalties.
    severity_risk : float
        Log-odds shift of general and serious penalties per unit of ``r``.
    penalty_after_finding : float
        Chance that an inspection finding issues brings a penalty (decided 7-60 days
        later).
    lower_amount_threshold : float
        The local "lower amount" line in yuan: minor fines fall below it, the fines of
        general and serious penalties above.
    restoration_apply_share : float
        Share of restorable penalties (general or serious fines and confiscations)
        whose entity applies for credit restoration.
    restoration_delay_days : float
        Mean delay of the application after first eligibility (6 months of disclosure,
        12 in food, drugs and special equipment), in days.
    serious_listing_share : float
        Share of serious penalties that also put the entity on the serious illegal
        list.
    false_information_after_finding : float
        **List entries.** Chance that a finding of issues that brings no penalty lists
        the entity for false information.
    unreachable_fix_rate : float
        Monthly chance that an operating entity listed as unreachable fixes the cause
        (and is removed from the list).
    other_fix_rate : float
        The same for entities listed for false information or a disclosure not made.
    disclosure_order_rate : float
        Monthly chance that an operating entity is listed for an ordered disclosure not
        made.
    serious_early_exit_rate : float
        Monthly chance of an early exit from the serious list after its first year, for
        operating entities with no report outstanding and no heavier penalty since the
        listing.
    warning_days : int
        Days before an escalation to the serious list that the public warning comes at
        the earliest (it comes ``warning_days`` - 10 to ``warning_days`` days before).
    warning_fix_share : float
        Share of operating entities that clear the cause after the warning (and are
        removed before the escalation).
    random_rate_by_tier : dict of str to float
        **Inspections.** Yearly random-inspection ratio per tier (A-D) of the simulated
        regulator's rule grid, set every 1 January from what it knows.
    random_rate_by_sector : dict of str to float
        Yearly minimum random-inspection ratio in key sectors (food: once in two
        years); the higher of the two ratios applies.
    complaint_rate, complaint_risk : float
        Monthly chance of an inspection after a complaint for an operating entity:
        ``complaint_rate * exp(complaint_risk * r)``.
    targeted_base_rate : float
        Monthly chance of a targeted inspection of any registered entity.
    targeted_listed_rate : float
        Added for an entity on the abnormal list (address checks).
    targeted_penalized_rate : float
        Added within a year of a penalty (a follow-up).
    joint_rate : float
        Monthly chance of a joint inspection.
    joint_key_sector_multiplier : float
        Multiplies ``joint_rate`` for key-sector entities.
    finding_intercept, finding_risk : float
        **Inspection outcomes.** Probit of issues found at an operating entity:
        ``finding_intercept + finding_risk * r`` plus the kind's offset and the team's
        strictness.
    kind_offset : dict of str to float
        Offset of that probit per kind of inspection (random, targeted, complaint,
        joint).
    strictness_sd : float
        Standard deviation of a two-inspector team's strictness (probit scale).
    conflicts_per_inspector : float
        Mean (Poisson) number of declared conflicts of interest per inspector, with
        entities of the same region.
    active_not_found : float
        Chance that an operating entity is not found at its address (it moved without
        updating it).
    dormant_not_found : float
        Chance that a dormant shell is not found at its address.
    dormant_issues : float
        Chance that a visit to a dormant shell finds issues; the rest of dormant visits
        are compliant.
    inspectors_per_entity : float
        Inspectors per entity in the inspector register.
    min_inspectors_per_region : int
        At least this many inspectors in every region.
    speciality_shares : dict of str to float
        Share of inspectors per speciality (``general`` or a key sector).

    Examples
    --------
    >>> WorldParams().entity_type_shares["sole_proprietor"]
    0.64
    >>> from dataclasses import replace
    >>> replace(WorldParams(), penalty_rate=0.002).penalty_rate
    0.002
    """

    # -- population ------------------------------------------------------------------
    entity_type_shares: dict[str, float] = field(
        default_factory=lambda: {
            "sole_proprietor": 0.64,
            "company": 0.30,
            "partnership": 0.015,
            "branch": 0.03,
            "cooperative": 0.015,
        }
    )
    entity_type_risk: dict[str, float] = field(
        default_factory=lambda: {
            "sole_proprietor": 0.10,
            "company": 0.00,
            "partnership": 0.10,
            "branch": -0.15,
            "cooperative": 0.05,
        }
    )
    key_sector_risk: dict[str, float] = field(
        default_factory=lambda: {
            "none": 0.0,
            "food": 0.15,
            "drug": 0.10,
            "industrial_product": 0.10,
            "special_equipment": 0.10,
        }
    )
    n_regions: int = 12
    region_risk_sd: float = 0.20
    capital_risk: float = -0.12  # per sd of log registered capital within the entity type
    #: share of entities registered during [start, end); the rest existed before start
    entrant_share: float = 0.42
    #: mean age in years at ``start`` of the entities that existed before it
    mean_age_at_start: float = 7.0
    burn_in_years: int = 3

    # -- latent risk -----------------------------------------------------------------
    #: a hidden trait: a minority of "risky" operators, the rest ordinary
    risky_share: float = 0.12
    risky_mean: float = 1.05
    risky_sd: float = 0.45
    ordinary_mean: float = -0.15
    ordinary_sd: float = 0.20
    drift_rho: float = 0.97  # monthly AR(1) coefficient of x_t
    drift_sd: float = 0.20  # stationary standard deviation of x_t
    youth_risk: float = 0.35  # extra risk at registration, fading
    youth_years: float = 1.5  # e-folding time of the youth effect

    # -- life and death --------------------------------------------------------------
    dormancy_rate: float = 0.0004  # monthly hazard of ceasing to operate (at mu = 0)
    dormancy_risk: float = 0.6  # log-hazard per unit of mu
    exit_rate: dict[str, float] = field(
        default_factory=lambda: {
            "sole_proprietor": 0.0065,
            "company": 0.0030,
            "partnership": 0.0035,
            "branch": 0.0040,
            "cooperative": 0.0025,
        }
    )
    young_exit_multiplier: float = 1.6  # during the first two years
    dormant_exit_rate: float = 0.025  # forced or voluntary deregistration once dormant

    # -- annual reports --------------------------------------------------------------
    on_time_intercept: float = 2.0  # probit of filing by 30 June, active entity, r = 0
    on_time_risk: float = 0.55
    filing_day_intercept: float = 0.5  # probit position of the filing day in Jan-Jun
    filing_day_risk: float = 1.0
    leverage_intercept: float = -0.6  # probit of liabilities / assets
    leverage_risk: float = 0.7
    tax_ratio_risk: float = -0.7  # log tax-to-revenue ratio per unit of r
    late_filing_share: float = 0.90  # of active entities that miss 30 June
    late_filing_months: float = 4.0  # mean delay in months after July (geometric)
    dormant_filing_share: float = 0.25  # dormant shells filing zero reports
    financials_disclosed: dict[str, float] = field(
        default_factory=lambda: {"sole_proprietor": 0.45, "other": 0.92}
    )

    # -- penalties -------------------------------------------------------------------
    penalty_rate: float = 0.0010  # monthly, active entity at r = 0
    penalty_risk: float = 1.30  # log-hazard per unit of r
    severity_shares: dict[str, float] = field(
        default_factory=lambda: {"warning": 0.25, "minor": 0.47, "general": 0.23, "serious": 0.05}
    )
    severity_risk: float = 0.45  # log-odds shift of general/serious per unit of r
    penalty_after_finding: float = 0.45
    lower_amount_threshold: float = 100_000.0  # yuan, the local "lower amount" line
    restoration_apply_share: float = 0.40
    restoration_delay_days: float = 120.0  # mean delay after first eligibility
    serious_listing_share: float = 0.40  # serious penalties that also list the entity

    # -- list entries ----------------------------------------------------------------
    false_information_after_finding: float = 0.03
    unreachable_fix_rate: float = 0.30  # monthly, active entities listed as unreachable
    other_fix_rate: float = 0.20  # monthly, false information / disclosure not made
    disclosure_order_rate: float = 0.00005  # monthly: ordered disclosure not made
    serious_early_exit_rate: float = 0.03  # monthly after the first year, active entities
    #: days before an escalation to the serious list that the public warning comes
    warning_days: int = 60
    #: share of operating entities that clear the cause after the warning (and are
    #: removed before the escalation)
    warning_fix_share: float = 0.25

    # -- inspections -----------------------------------------------------------------
    #: yearly random-inspection ratio per tier of the simulated regulator's rule grid
    random_rate_by_tier: dict[str, float] = field(
        default_factory=lambda: {"A": 0.03, "B": 0.06, "C": 0.12, "D": 0.25}
    )
    #: yearly minimum random-inspection ratio in key sectors (food: once in two years)
    random_rate_by_sector: dict[str, float] = field(
        default_factory=lambda: {
            "food": 0.50,
            "drug": 0.30,
            "special_equipment": 0.30,
            "industrial_product": 0.15,
        }
    )
    complaint_rate: float = 0.0008  # monthly, active entity at r = 0
    complaint_risk: float = 1.0
    targeted_base_rate: float = 0.0004
    targeted_listed_rate: float = 0.03  # address checks of listed entities
    targeted_penalized_rate: float = 0.01  # follow-up within a year of a penalty
    joint_rate: float = 0.0005
    joint_key_sector_multiplier: float = 3.0

    # -- inspection outcomes ---------------------------------------------------------
    finding_intercept: float = -1.40  # probit of issues found, active entity, r = 0
    finding_risk: float = 1.0
    kind_offset: dict[str, float] = field(
        default_factory=lambda: {"random": 0.0, "targeted": 0.2, "complaint": 0.4, "joint": 0.0}
    )
    #: standard deviation of a two-inspector team's strictness (probit scale)
    strictness_sd: float = 0.45
    #: declared conflicts of interest per inspector (entities of the same region)
    conflicts_per_inspector: float = 3.0
    active_not_found: float = 0.005  # moved without updating the address
    dormant_not_found: float = 0.80
    dormant_issues: float = 0.10  # the rest of dormant visits are compliant
    inspectors_per_entity: float = 1 / 250
    min_inspectors_per_region: int = 6
    speciality_shares: dict[str, float] = field(
        default_factory=lambda: {
            "general": 0.70,
            "food": 0.15,
            "drug": 0.05,
            "special_equipment": 0.05,
            "industrial_product": 0.05,
        }
    )
