"""Inspection planning: frequency tables, capacity allocation, the double-random draw.

Tiers decide who is inspected, how often, and by whom:
:func:`frequency_table` turns a policy's ratios into rates per stratum (tier x key
sector); :func:`allocate` chooses the rates that find the most within a budget;
:func:`draw` picks the targets and their inspectors at random, reproducibly, and
:func:`verify` lets anyone confirm a published plan; :func:`add_results` feeds the
results back as inspections for the next retraining; :func:`finding_rates` estimates
the whole population's finding rate from a plan's results, weighting each outcome by
the inverse of its entity's chance of being drawn (Horvitz-Thompson and Hajek).

Examples
--------
>>> import creditrisk as cr
>>> from creditrisk import inspection
>>> m = cr.RiskModel.load(cr.sample_model_path()); t = cr.load_sample()
>>> X = cr.build_features(t, cr.spine(t, "2025-01-01"))
>>> scores = m.classify(X, top_k=0).join(X[["key_sector", "region"]])
>>> table = inspection.frequency_table(scores, m.policy_)
>>> int(table["entities"].sum()) == len(scores)
True
"""

from creditrisk.inspection.allocation import Allocation, allocate, baseline_inspections
from creditrisk.inspection.draw import (
    PlanMismatch,
    StaffingError,
    draw,
    inputs_digest,
    plan_digest,
    verify,
    workload,
)
from creditrisk.inspection.estimates import (
    ESTIMATORS,
    finding_rates,
    floor_sample,
    inspected_outcomes,
    random_floor,
)
from creditrisk.inspection.frequency import frequency_table, period_years, plot_frequency_table
from creditrisk.inspection.register import InspectorRegister, load_sample_register
from creditrisk.inspection.results import add_results, read_results, results_to_inspections

__all__ = [
    "ESTIMATORS",
    "Allocation",
    "InspectorRegister",
    "PlanMismatch",
    "StaffingError",
    "add_results",
    "allocate",
    "baseline_inspections",
    "draw",
    "finding_rates",
    "floor_sample",
    "frequency_table",
    "inputs_digest",
    "inspected_outcomes",
    "load_sample_register",
    "period_years",
    "plan_digest",
    "plot_frequency_table",
    "random_floor",
    "read_results",
    "results_to_inspections",
    "verify",
    "workload",
]
