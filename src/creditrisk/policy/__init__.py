"""Policies as data, and the tiers they assign: cut-offs, shares and override rules.

This box owns the regulator's classification rules, read from TOML (the national
standard and Daqing's are shipped here; a path to your own works the same way):
:class:`Policy` holds the tier cut-offs or target shares, the overrides (listed on the
serious illegal list means tier D, and so on), the inspection ratios per tier and the
restoration rules; :mod:`~creditrisk.policy.tiers` turns probabilities and features
into tiers under a policy. It imports only :mod:`creditrisk.data` and
:mod:`creditrisk.features` (override rules name features).

Examples
--------
>>> from creditrisk.policy import Policy, available_policies
>>> sorted(available_policies())
['daqing', 'national']
>>> Policy.load("national").tiers
('A', 'B', 'C', 'D')
"""

from creditrisk.policy import tiers
from creditrisk.policy.rules import (
    KEY_SECTOR_EXAMPLE,
    RELATED_PARTY_EXAMPLES,
    Condition,
    Override,
    Policy,
    PolicyError,
    available_policies,
)
from creditrisk.policy.tiers import assign_tiers, fit_cutoffs

__all__ = [
    "KEY_SECTOR_EXAMPLE",
    "RELATED_PARTY_EXAMPLES",
    "Condition",
    "Override",
    "Policy",
    "PolicyError",
    "assign_tiers",
    "available_policies",
    "fit_cutoffs",
    "tiers",
]
