"""Penalty features: counts and fines by severity over 1 year, 3 years and all time.

Which penalties count is policy (:class:`FeatureSpec`): by default only those still
publicly disclosed on the as-of date and not ended early by a credit restoration known
before it, so a restored record stops counting against the entity (DOMAIN.md).
Windows are on the decision date; a penalty is known from its publication date.

How long a penalty is disclosed is policy too (:class:`DisclosureRules`, the
``[disclosure]`` section of a policy): warnings are never published; criticism notices
and fines below the lower-amount line are published 3 months, other penalties 3 years.
Where the register gives ``disclosure_ends_on`` that date is used (a ban longer than 3
years is published for the ban period, which only the register knows); where it does
not, the end is derived from these rules, so a penalty without an end date still
counts while the rules say it is published. :func:`disclosure_problems` reports given
ends that contradict the rules, and warnings given an end (never counted as disclosed).

Examples
--------
>>> "penalties_general_1y" in [f.name for f in FEATURES]
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from creditrisk.data.schema import SEVERITIES, Problem, offending_rows
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import FAR, Source, per_entity

__all__ = [
    "FEATURES",
    "WINDOWS",
    "DisclosureRules",
    "DisclosureSpec",
    "compute",
    "derived_disclosure_ends",
    "disclosure_problems",
]

_T = "penalties"
#: name suffix -> (days, words); None is all time
WINDOWS: dict[str, tuple[int | None, str]] = {
    "1y": (365, "in the last 12 months"),
    "3y": (1095, "in the last 3 years"),
    "all": (None, "ever"),
}
_WINDOW_LABEL = {"1y": "1 year", "3y": "3 years", "all": "all time"}
# a minor penalty is disclosed 3 months, so no restoration can end it early (6 months)
_RESTORABLE = ("general", "serious")

FEATURES = (
    [
        Feature(
            f"penalties_{sev}_{w}",
            _T,
            _WINDOW_LABEL[w],
            f"Administrative penalties of {sev} severity {words}"
            + (" (recorded, not disclosed)." if sev == "warning" else ", still counted."),
            monotone=1,
            actionable=sev in _RESTORABLE,
            kind="count",
        )
        for sev in SEVERITIES
        for w, (_, words) in WINDOWS.items()
    ]
    + [
        Feature(
            f"fines_{sev}_{w}",
            _T,
            _WINDOW_LABEL[w],
            f"Fines in yuan from {sev} penalties {words}, still counted.",
            monotone=1,
            actionable=sev in _RESTORABLE,
        )
        for sev in SEVERITIES[1:]
        for w, (_, words) in WINDOWS.items()
    ]
    + [
        Feature(
            "penalty_days_since_last",
            _T,
            "all time",
            "Days since the decision of the latest penalty still counted.",
            monotone=-1,
        ),
        Feature(
            "penalties_restored",
            _T,
            "all time",
            "Penalties whose disclosure a credit restoration ended early.",
            kind="count",
        ),
    ]
)


@dataclass(frozen=True)
class DisclosureRules:
    """How long penalties are publicly disclosed (DOMAIN.md; a policy's ``[disclosure]``).

    Parameters
    ----------
    lower_amount_fine : float
        A fine below this many yuan is a "lower-amount" fine (set per province; *local*).
    short_disclosure_months : int
        Months a criticism notice or a lower-amount fine is published.
    disclosure_months : int
        Months any other penalty is published (warnings never are).

    Examples
    --------
    >>> rules = DisclosureRules.from_policy({"lower_amount_fine": 50_000})
    >>> rules.lower_amount_fine, rules.short_disclosure_months, rules.disclosure_months
    (50000.0, 3, 36)
    """

    lower_amount_fine: float = 100_000.0
    short_disclosure_months: int = 3
    disclosure_months: int = 36

    @classmethod
    def from_policy(cls, disclosure: dict[str, Any]) -> DisclosureRules:
        """The rules of a policy's ``[disclosure]`` section (DOMAIN.md's where unset).

        Parameters
        ----------
        disclosure : dict
            The section, as ``Policy.disclosure`` holds it.

        Returns
        -------
        DisclosureRules

        Examples
        --------
        >>> DisclosureRules.from_policy({}) == DisclosureRules()
        True
        """
        default = cls()
        return cls(
            lower_amount_fine=float(disclosure.get("lower_amount_fine", default.lower_amount_fine)),
            short_disclosure_months=int(
                disclosure.get("short_disclosure_months", default.short_disclosure_months)
            ),
            disclosure_months=int(disclosure.get("disclosure_months", default.disclosure_months)),
        )

    def months(self, measure: pd.Series, fine: pd.Series) -> pd.Series:
        """Months of disclosure per penalty (0 for a warning: never published).

        Parameters
        ----------
        measure : pandas.Series
            The heaviest measure of each penalty (``creditrisk.data.schema.MEASURES``).
        fine : pandas.Series
            The fine in yuan (empty counts as 0).

        Returns
        -------
        pandas.Series
            Integer months, aligned with ``measure``.

        Examples
        --------
        >>> m = pd.Series(["warning", "criticism_notice", "fine", "fine", "suspension"])
        >>> DisclosureRules().months(m, pd.Series([0, 0, 99_000, 100_000, 0])).tolist()
        [0, 3, 3, 36, 36]
        """
        kind = measure.astype("str").to_numpy()
        amount = np.nan_to_num(pd.to_numeric(fine, errors="coerce").to_numpy(dtype=np.float64))
        short = (kind == "criticism_notice") | (
            (kind == "fine") & (amount < self.lower_amount_fine)
        )
        months = np.where(short, self.short_disclosure_months, self.disclosure_months)
        return pd.Series(np.where(kind == "warning", 0, months), index=measure.index)


@dataclass(frozen=True)
class DisclosureSpec(FeatureSpec):
    """A :class:`FeatureSpec` that also carries the policy's disclosure periods.

    :meth:`creditrisk.Policy.feature_spec` returns one; a plain ``FeatureSpec`` uses
    DOMAIN.md's national periods (:class:`DisclosureRules` defaults).

    Parameters
    ----------
    penalty_counting : {"disclosed", "known"}
        As :class:`FeatureSpec`: count penalties while disclosed, or all known ones.
    restored_penalties : {"exclude", "include"}
        As :class:`FeatureSpec`: whether a restored penalty stops counting.
    features : tuple of str, optional
        As :class:`FeatureSpec`: the features to return (None: all).
    declared : tuple, default ()
        As :class:`FeatureSpec`: features declared in Python, added to the register's.
    disclosure : DisclosureRules
        The periods that derive a missing ``disclosure_ends_on``.

    Examples
    --------
    >>> spec = DisclosureSpec(disclosure=DisclosureRules(lower_amount_fine=5e4))
    >>> spec.penalty_counting, spec.disclosure.lower_amount_fine
    ('disclosed', 50000.0)
    """

    disclosure: DisclosureRules = field(default_factory=DisclosureRules)


def _rules(spec: FeatureSpec) -> DisclosureRules:
    return getattr(spec, "disclosure", None) or DisclosureRules()


def derived_disclosure_ends(penalties: pd.DataFrame, rules: DisclosureRules) -> pd.Series:
    """The end of public disclosure each penalty gets from the rules alone.

    Counted in calendar months from publication (``published_on``); NaT for a warning,
    which is never published. The register's own ``disclosure_ends_on`` is not read.

    Parameters
    ----------
    penalties : pandas.DataFrame
        Rows of the ``penalties`` table (measure, fine_amount, published_on).
    rules : DisclosureRules
        The periods.

    Returns
    -------
    pandas.Series
        ``datetime64[s]`` ends aligned with ``penalties``.

    Examples
    --------
    >>> p = pd.DataFrame({"measure": ["fine", "fine", "warning"],
    ...                   "fine_amount": [200_000.0, 5_000.0, 0.0],
    ...                   "published_on": pd.to_datetime(["2024-01-31"] * 3)})
    >>> [str(d.date()) if pd.notna(d) else None
    ...  for d in derived_disclosure_ends(p, DisclosureRules())]
    ['2027-01-31', '2024-04-30', None]
    """
    months = rules.months(penalties["measure"], penalties["fine_amount"]).to_numpy()
    published = pd.to_datetime(penalties["published_on"]).astype("datetime64[s]")
    out = pd.Series(pd.NaT, index=penalties.index, dtype="datetime64[s]")
    for m in np.unique(months[months > 0]):
        rows = months == m
        out[rows] = (published[rows] + pd.DateOffset(months=int(m))).astype("datetime64[s]")
    return out


def _effective_ends(src: Source, spec: FeatureSpec) -> np.ndarray:
    """Disclosure end per penalty row as int days: the register's, else the rules';
    never for a warning (FAR where not published at all)."""
    rules = _rules(spec)

    def make() -> np.ndarray:
        frame = src.frame(_T)
        given = src.days(_T, "disclosure_ends_on")
        warning = (src.codes(_T, "severity", SEVERITIES) == 0) | (
            frame["measure"].astype("str") == "warning"
        ).to_numpy()
        ends = given.copy()
        missing = (given == FAR) & ~warning
        if missing.any():
            derived = derived_disclosure_ends(frame.loc[missing], rules).to_numpy()
            days = derived.astype("datetime64[s]").astype(np.int64) // 86_400
            ends[missing] = np.where(np.isnat(derived), FAR, days)
        ends[warning] = FAR
        return ends

    return src.cached((_T, "effective_ends", rules), make)


def disclosure_problems(
    penalties: pd.DataFrame, rules: DisclosureRules, tolerance_days: int = 31
) -> list[Problem]:
    """Disclosure ends in the register that contradict the rules, as problems.

    Two rules: a warning must have no disclosure end (warnings are not published; one
    with an end is never counted as disclosed); a given end must be within
    ``tolerance_days`` of the rules' end (a trade ban's may be later: a ban longer than
    3 years is published for the ban period). Penalties without an end are not
    problems: their end is derived (:func:`derived_disclosure_ends`).

    Parameters
    ----------
    penalties : pandas.DataFrame
        The ``penalties`` table.
    rules : DisclosureRules
        The policy's periods.
    tolerance_days : int
        Days a given end may differ from the rules' end (registers count days
        differently; a period of another length is more than a month off).

    Returns
    -------
    list of creditrisk.data.schema.Problem
        Empty when every given end agrees with the rules.

    Examples
    --------
    >>> p = pd.DataFrame({"penalty_id": ["P1", "P2"], "entity_id": ["E1", "E1"],
    ...     "severity": ["general", "warning"], "measure": ["fine", "warning"],
    ...     "fine_amount": [200_000.0, 0.0],
    ...     "published_on": pd.to_datetime(["2024-01-10", "2024-01-10"]),
    ...     "disclosure_ends_on": pd.to_datetime(["2024-04-10", "2024-04-10"])})
    >>> [x.rule for x in disclosure_problems(p, DisclosureRules())]
    ['warning disclosed', 'disclosure period']
    """
    out: list[Problem] = []
    given = pd.to_datetime(penalties["disclosure_ends_on"])
    has = given.notna().to_numpy()
    warning = (penalties["measure"].astype("str") == "warning").to_numpy() | (
        penalties["severity"].astype("str") == "warning"
    ).to_numpy()
    mask = warning & has
    if mask.any():
        n, rows = offending_rows(penalties, mask, _T, ["severity", "disclosure_ends_on"])
        detail = "warnings are not published, so they have no disclosure end"
        out.append(Problem(_T, "disclosure_ends_on", "warning disclosed", detail, n, rows))
    derived = derived_disclosure_ends(penalties, rules)
    off = (given - derived).dt.days.to_numpy(dtype=np.float64, na_value=np.nan)
    ban = (penalties["measure"].astype("str") == "trade_ban").to_numpy()
    with np.errstate(invalid="ignore"):
        wrong = np.where(ban, off < -tolerance_days, np.abs(off) > tolerance_days)
    mask = wrong & has & ~warning
    if mask.any():
        frame = penalties.assign(policy_end=derived)
        columns = ["measure", "fine_amount", "published_on", "disclosure_ends_on", "policy_end"]
        n, rows = offending_rows(frame, mask, _T, columns)
        detail = (
            f"disclosure end more than {tolerance_days} days from the policy's "
            f"({rules.short_disclosure_months} months for criticism notices and fines under "
            f"{rules.lower_amount_fine:,.0f} yuan, {rules.disclosure_months} months otherwise)"
        )
        out.append(Problem(_T, "disclosure_ends_on", "disclosure period", detail, n, rows))
    return out


def counted(src: Source, as_of: int, spec: FeatureSpec) -> np.ndarray:
    """Which penalty rows count on the as-of date, under the spec's policy."""
    ent = src.pos(_T)
    mask = (src.days(_T, "published_on") < as_of) & (ent >= 0)
    if spec.penalty_counting == "disclosed":
        ends = _effective_ends(src, spec)
        mask &= (ends != FAR) & (ends >= as_of)
    if spec.restored_penalties == "exclude":
        mask &= ~(src.days(_T, "restored_on") < as_of)
    return mask


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Penalty features of some entities as of one day: counts and fines by severity.

    The penalties that count are those of :func:`counted` (by default: published before
    the as-of date, still disclosed on it, and not ended early by a known credit
    restoration); the windows are on the decision date.
    :func:`creditrisk.features.build_features` calls it, with the other source modules'
    ``compute``, once per as-of date.

    Parameters
    ----------
    src : Source
        The register's arrays (:class:`~creditrisk.features.source.Source`), made once
        and shared by every source module and as-of date.
    pos : numpy.ndarray
        Positions in ``enterprises`` of the entities wanted, one per output row.
    as_of : int
        The as-of date in days since 1970-01-01
        (:func:`~creditrisk.features.source.to_day`); only what was known before it
        counts.
    spec : FeatureSpec
        Which penalties count (``penalty_counting``, ``restored_penalties``) and, for a
        :class:`DisclosureSpec`, how long they are disclosed.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → an array, one value per position in
        ``pos``: int64 counts, float fines in yuan, and float days since the last
        penalty counted (NaN without one).

    Examples
    --------
    >>> import creditrisk as cr
    >>> from creditrisk.data.keys import positions
    >>> from creditrisk.features.source import to_day
    >>> tables = cr.load_sample()
    >>> pos = positions(pd.Series(["E0004154", "E0000004"]), tables.enterprises["entity_id"])
    >>> src, day = Source(tables), to_day("2024-07-01")
    >>> out = compute(src, pos, day, FeatureSpec())
    >>> list(out) == [f.name for f in FEATURES]
    True
    >>> out["penalties_general_all"].tolist(), out["penalties_restored"].tolist()
    ([2, 0], [1, 0])
    >>> compute(src, pos, day, FeatureSpec(penalty_counting="known"))["penalties_general_all"]
    array([5, 0])
    """
    n, k = src.n, len(SEVERITIES)
    ent = src.pos(_T)
    decided = src.days(_T, "decided_on")
    severity = src.codes(_T, "severity", SEVERITIES)
    fine = np.nan_to_num(src.values(_T, "fine_amount"))
    mask = counted(src, as_of, spec)
    out: dict[str, np.ndarray] = {}
    for w, (days, _) in WINDOWS.items():
        rows = mask if days is None else mask & (decided >= as_of - days)
        cell = ent[rows] * k + severity[rows]
        counts = np.bincount(cell, minlength=n * k).reshape(n, k)[pos]
        fines = per_entity(n * k, cell, fine[rows]).reshape(n, k)[pos]
        for j, sev in enumerate(SEVERITIES):
            out[f"penalties_{sev}_{w}"] = counts[:, j].astype(np.int64)
            if j:
                out[f"fines_{sev}_{w}"] = fines[:, j]
    latest = np.full(n, -FAR)
    np.maximum.at(latest, ent[mask], decided[mask])
    since = np.where(latest[pos] > -FAR, as_of - latest[pos], np.nan)
    known = (src.days(_T, "published_on") < as_of) & (ent >= 0)
    restored = known & (src.days(_T, "restored_on") < as_of)
    out["penalty_days_since_last"] = since.astype(np.float64)
    out["penalties_restored"] = per_entity(n, ent[restored])[pos].astype(np.int64)
    return {f.name: out[f.name] for f in FEATURES}
