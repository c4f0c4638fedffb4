"""The feature catalogue's entries and the settings that change how features count.

Examples
--------
>>> f = Feature("penalties_general_1y", "penalties", "1 year",
...             "General penalties still disclosed, decided in the last 12 months.",
...             monotone=1, actionable=True, kind="count")
>>> f.monotone
1
>>> FeatureSpec().restored_penalties
'exclude'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Feature", "FeatureSpec"]

Kind = Literal["number", "count", "flag", "category"]


@dataclass(frozen=True)
class Feature:
    """One feature: where it comes from, over what window, and what it means.

    ``monotone`` is the expected direction of risk as the value grows (+1 rises, -1
    falls, 0 no expectation); models use it as a monotone constraint. ``actionable``
    marks what the entity itself can change (file an overdue report, apply for removal
    from a list, complete a credit restoration). ``role`` says whether the feature is
    the entity's ``"conduct"`` (its filings, penalties, list entries, findings, what it
    reported: things it did) or its ``"context"`` (region, industry, age, legal form,
    capital: what it is). Only conduct becomes an enterprise's reasons; context
    contributions are reported apart, and a policy decides whether they move a tier.

    Parameters
    ----------
    name : str
        The feature's column name.
    source : str
        The table it is computed from.
    window : str
        The period it looks at (``"as of"``, ``"1 year"``, ...).
    meaning : str
        What it means, in a sentence.
    monotone : {0, 1, -1}, default 0
        The expected direction of risk as the value grows (see above).
    actionable : bool, default False
        Whether the entity itself can change it (see above).
    kind : {"number", "count", "flag", "category"}, default "number"
        What the value is.
    role : {"conduct", "context"}, default "conduct"
        Whether it is the entity's conduct or its context (see above).

    Examples
    --------
    >>> Feature("age_years", "enterprises", "as of", "Years since registration.").kind
    'number'
    """

    name: str
    source: str
    window: str
    meaning: str
    monotone: int = 0
    actionable: bool = False
    kind: Kind = "number"
    role: Literal["conduct", "context"] = "conduct"


@dataclass(frozen=True)
class FeatureSpec:
    """Settings that change what the features count (policy, not code).

    Parameters
    ----------
    penalty_counting : {"disclosed", "known"}, default "disclosed"
        ``"disclosed"`` (default, DOMAIN.md) counts a penalty only while it is publicly
        disclosed on the as-of date, so undisclosed warnings and penalties past their
        3-month / 3-year disclosure never count; ``"known"`` counts every penalty the
        regulator knew before the as-of date.
    restored_penalties : {"exclude", "include"}, default "exclude"
        ``"exclude"`` (default) stops counting a penalty once a credit restoration
        known before the as-of date ended its disclosure; ``"include"`` keeps counting
        it.
    features : tuple of str, optional
        The names to return (None: every built-in feature whose inputs the register
        holds, and every declared feature). A list is kept as a tuple.
    declared : tuple, default ()
        Features declared in Python (:func:`creditrisk.features.declared.declare`),
        added to those the register mapping declares. A single one or a list is kept
        as a tuple.

    Raises
    ------
    ValueError
        ``penalty_counting`` or ``restored_penalties`` is not one of its values.

    Examples
    --------
    >>> FeatureSpec(penalty_counting="known").penalty_counting
    'known'
    >>> FeatureSpec(features=["age_years"]).features
    ('age_years',)
    >>> FeatureSpec(restored_penalties="ignore")
    Traceback (most recent call last):
    ValueError: restored_penalties must be 'exclude' or 'include', not 'ignore'
    """

    penalty_counting: Literal["disclosed", "known"] = "disclosed"
    restored_penalties: Literal["exclude", "include"] = "exclude"
    features: tuple[str, ...] | None = None
    declared: tuple = ()

    def __post_init__(self) -> None:
        declared = self.declared
        if not isinstance(declared, tuple | list):
            declared = (declared,)
        object.__setattr__(self, "declared", tuple(declared))
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        if self.penalty_counting not in ("disclosed", "known"):
            raise ValueError(
                f"penalty_counting must be 'disclosed' or 'known', not {self.penalty_counting!r}"
            )
        if self.restored_penalties not in ("exclude", "include"):
            raise ValueError(
                "restored_penalties must be 'exclude' or 'include', "
                f"not {self.restored_penalties!r}"
            )
