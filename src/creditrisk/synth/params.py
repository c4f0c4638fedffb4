"""The numbers that shape the synthetic world, in one documented place.

Rates are per month unless a name says otherwise. The latent risk ``r`` of an entity is
on a probit scale: ``r = mu + x_t + youth(age)``, where ``mu`` is persistent (attributes
plus a hidden trait), ``x_t`` drifts as an AR(1) process and ``youth`` fades with age.

Example
-------
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

    Example
    -------
    >>> WorldParams().entity_type_shares["sole_proprietor"]
    0.64
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
    dormancy_rate: float = 0.0004  # monthly hazard of ceasing to operate (at r = 0)
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
    late_filing_months: float = 4.0  # mean delay after 30 June
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
