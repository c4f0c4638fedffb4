"""Labels: what happened to each (entity_id, as_of) in the horizon after as_of.

The label window for an as-of date is ``[as_of, as_of + horizon)`` in days (the
interval (as_of, as_of + horizon] of the issue, with dates at midnight), and an outcome
counts only if the regulator knew it by the end of the window (published, listed,
decided and published before ``as_of + horizon``). So a model trained on labels that
end before a test as-of date has seen nothing from after it.

Outcomes
--------
``inspection_finding`` (the default)
    1 if an inspection of a kind that gives unbiased labels (by default *random*,
    double-random ones; a register mapping's ``[labels] kinds``, e.g. ``routine``
    for scheduled unannounced inspections) in the window found something, 0 if such
    inspections found nothing, and **undefined (NaN)** if none took place. What counts
    as a finding is any outcome but ``compliant`` unless the register says otherwise
    (``[labels] finding = "score >= 28"``, a :class:`~creditrisk.data.rules.Rule`).
``targeted_finding``
    The same over the inspections the regulator chose: targeted, complaint and joint.
    Biased by design; kept to be shown beside the random rate.
``any_finding``
    The same over inspections of every kind.
``adverse_event``
    1 if in the window the entity was penalised, put on the abnormal or serious list,
    or an inspection found issues; 0 otherwise. Defined for every row.

The selective-label problem
---------------------------
Inspectors only see what they inspect, and who is inspected depends on risk: targeted
and complaint inspections go where trouble is expected, and today's tiers decide the
random sampling ratios. Labels from targeted inspections (``any_finding``) or from
whatever the regulator happened to act on (``adverse_event``: penalties follow
inspections) therefore say as much about where the regulator looked as about the
entity, and a model trained on them learns last year's targeting. Random inspections
are drawn at random within each tier, so among entities with the same features the
inspected ones are a random sample: ``inspection_finding`` is unbiased given the
features, which is why it is the default, and why an uninspected entity is left
undefined rather than counted as clean. Tiers keep a random floor (no tier is sampled
at 0%) so that every part of the population keeps producing such labels.

The labels carry their definition in ``y.attrs`` (``horizon``, ``kinds``,
``finding``), and :class:`~creditrisk.RiskModel` refuses labels whose horizon is not
its own. The window must lie inside what the label's own source is known to (the last
published inspection), not merely inside the latest date of any table: a truncated
window is refused.

Examples
--------
>>> import creditrisk as cr
>>> t = cr.load_sample()
>>> s = cr.spine(t, "2023-07-01")
>>> y = cr.build_labels(t, s, outcome="inspection_finding", horizon="365D")
>>> y.name, bool(y.isna().any()), set(y.dropna().unique()) <= {0.0, 1.0}
('inspection_finding', True, True)
>>> y.attrs["horizon"], y.attrs["kinds"]
('365D', ['random'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.data.rules import Rule
from creditrisk.data.schema import INSPECTION_KINDS, LISTS, OUTCOMES
from creditrisk.data.spine import check_spine
from creditrisk.features.source import Source

__all__ = ["OUTCOME_NAMES", "build_labels", "horizon_days", "known_until", "label_nuisance"]

#: the kinds the regulator chose (targeted_finding)
CHOSEN_KINDS = ("targeted", "complaint", "joint")
#: outcome name -> whether it is defined for entities without an inspection
OUTCOME_NAMES = {
    "inspection_finding": False,
    "targeted_finding": False,
    "any_finding": False,
    "adverse_event": True,
}


def horizon_days(horizon: str | pd.Timedelta | int) -> int:
    """A horizon ("365D", a Timedelta, or days) as whole days.

    Parameters
    ----------
    horizon : str, pandas.Timedelta or int
        Anything :class:`pandas.Timedelta` reads, or a number of days.

    Returns
    -------
    int
        The horizon in days.

    Raises
    ------
    ValueError
        The horizon is not a duration, not whole days, or not positive.

    Examples
    --------
    >>> horizon_days("365D"), horizon_days(90)
    (365, 90)
    >>> horizon_days(pd.Timedelta(weeks=2))
    14
    >>> horizon_days("36h")
    Traceback (most recent call last):
    ValueError: horizon must be whole days, not '36h'
    """
    if isinstance(horizon, int | np.integer):
        days = int(horizon)
    else:
        try:
            delta = pd.Timedelta(horizon)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"horizon must be like '365D': {exc}") from None
        if delta % pd.Timedelta(days=1):
            raise ValueError(f"horizon must be whole days, not {horizon!r}")
        days = delta.days
    if days <= 0:
        raise ValueError(f"horizon must be positive, not {horizon!r}")
    return days


def build_labels(
    tables,
    spine: pd.DataFrame,
    outcome: str = "inspection_finding",
    horizon: str | pd.Timedelta | int | None = None,
    *,
    kinds=None,
    finding: str | Rule | None = None,
) -> pd.Series:
    """The outcome for every spine row (1.0, 0.0, or NaN when undefined).

    Parameters
    ----------
    tables : EventTables
        The register.
    spine : pandas.DataFrame
        Rows of (entity_id, as_of), as :func:`creditrisk.spine` makes them.
    outcome : str, default "inspection_finding"
        One of :data:`OUTCOME_NAMES` (see the module's docstring).
    horizon : str, Timedelta or int, optional
        The label window after as_of ("365D"); default: the register mapping's
        ``[labels] horizon``, else 365 days.
    kinds : sequence of str, optional
        For ``inspection_finding``: the inspection kinds whose results are labels.
        Default: the register mapping's ``[labels] kinds``, else random inspections.
    finding : str or Rule, optional
        What counts as a finding, as a rule on inspection columns (``"score >= 28"``).
        Default: the register mapping's ``[labels] finding``, else any outcome but
        ``compliant``.

    Returns
    -------
    pandas.Series
        With the spine's index, named after the outcome; ``attrs`` holds ``outcome``,
        ``horizon``, ``kinds`` and ``finding``.

    Raises
    ------
    ValueError
        An unknown outcome or kind, or a label window that ends after the last date
        its source is known to.
    SchemaError
        The finding rule reads a column the inspections lack, or orders text.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> y = cr.build_labels(t, cr.spine(t, "2023-07-01"), outcome="adverse_event")
    >>> bool(y.notna().all())
    True
    """
    if outcome not in OUTCOME_NAMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOME_NAMES)}")
    labels = getattr(getattr(tables, "register", None), "labels", None)
    horizon = horizon if horizon is not None else (labels.horizon if labels else "365D")
    h = horizon_days(horizon)
    if outcome == "inspection_finding":
        kinds = tuple(kinds) if kinds is not None else (labels.kinds if labels else ("random",))
    elif outcome == "targeted_finding":
        kinds = CHOSEN_KINDS
    else:
        kinds = INSPECTION_KINDS
    wrong = [k for k in kinds if k not in INSPECTION_KINDS]
    if wrong or not kinds:
        raise ValueError(f"kinds {wrong or []}: inspection kinds are {', '.join(INSPECTION_KINDS)}")
    if finding is None and labels is not None:
        finding = labels.finding
    rule = Rule(finding) if isinstance(finding, str) else finding
    pos, days = check_spine(tables, spine)
    last = known_until(tables, outcome)
    last_day = int(last.to_datetime64().astype("datetime64[D]").astype(np.int64))
    short = days + h - 1 > last_day
    if short.any():
        first = pd.Timestamp(int(days[short].max()), unit="D")
        raise ValueError(
            f"the {h}-day label window of as_of {first.date()} ends after what its source is "
            f"known to (last {_SOURCE[outcome]} {last.date()}); use as_of dates up to "
            f"{(last - pd.Timedelta(days=h - 1)).date()}"
        )
    src = Source(tables)
    found = _findings(src, rule)
    label = np.full(len(spine), np.nan)
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        label[rows] = _label(src, outcome, int(day), h, kinds, found)[pos[rows]]
    y = pd.Series(label, index=spine.index, name=outcome)
    y.attrs.update(
        outcome=outcome,
        horizon=f"{h}D",
        kinds=list(kinds),
        finding=rule.text if rule is not None else "outcome != 'compliant'",
    )
    return y


#: what bounds each outcome's window: the last date its source is known to
_SOURCE = {
    "inspection_finding": "published inspection",
    "targeted_finding": "published inspection",
    "any_finding": "published inspection",
    "adverse_event": "published inspection, penalty or listing",
}


def known_until(tables, outcome: str = "inspection_finding") -> pd.Timestamp:
    """The last date the label's own source is known to (not any table's latest date).

    A label window may end no later than this: a license issued in the future, or any
    other table running on, never makes a truncated window look complete.

    Parameters
    ----------
    tables : EventTables
        The register.
    outcome : str, default "inspection_finding"
        One of :data:`OUTCOME_NAMES`.

    Returns
    -------
    pandas.Timestamp
        The last published inspection (for ``adverse_event``: the latest of the last
        inspection, penalty and listing dates).

    Raises
    ------
    ValueError
        The register holds none of the label's source.

    Examples
    --------
    >>> import creditrisk as cr
    >>> str(known_until(cr.load_sample()).date())
    '2025-12-31'
    """
    sources = [("inspections", "published_on")]
    if outcome == "adverse_event":
        sources += [("penalties", "published_on"), ("list_entries", "listed_on")]
    ends = [getattr(tables, t)[c].max() for t, c in sources if getattr(tables, t)[c].notna().any()]
    if not ends:
        raise ValueError(f"no {_SOURCE[outcome]} in the register: there is no label to build")
    return pd.Timestamp(max(ends))


def _findings(src: Source, rule: Rule | None) -> np.ndarray:
    """Which inspections found something: by the rule, or any outcome but compliant."""
    if rule is not None:
        return rule.mask(src.frame("inspections"), "inspections")
    return src.codes("inspections", "outcome", OUTCOMES) > 0


def label_nuisance(
    tables,
    spine: pd.DataFrame,
    columns=None,
    outcome: str = "inspection_finding",
    horizon: str | pd.Timedelta | int | None = None,
    *,
    kinds=None,
) -> pd.DataFrame:
    """Who produced each label: columns of the first inspection that labelled the row.

    A label says as much about who inspected as about the entity: a strict inspector
    finds more. These are the nuisance columns :meth:`RiskModel.fit
    <creditrisk.RiskModel.fit>` takes (``nuisance=``): it learns their effects while
    training, so they soak up their share of the labels, and sets them to the average
    inspector when scoring, so they never move a tier or become a reason.

    Parameters
    ----------
    tables : EventTables
        The register.
    spine : pandas.DataFrame
        The rows of the labels (entity_id, as_of).
    columns : sequence of str, optional
        Inspection columns naming who inspected (default: ``inspector_1`` and
        ``inspector_2`` where the register has them; none otherwise).
    outcome, horizon, kinds
        As for :func:`build_labels`: the inspections whose results are the label.

    Returns
    -------
    pandas.DataFrame
        With the spine's index, one column per nuisance column, as text: the values of
        the earliest label inspection in the window (empty where the row has no label).

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> s = cr.spine(t, "2023-07-01")
    >>> who = label_nuisance(t, s)
    >>> labelled = cr.build_labels(t, s).notna()
    >>> list(who.columns), bool((who["inspector_1"].notna() == labelled).all())
    (['inspector_1', 'inspector_2'], True)
    """
    if columns is None:
        columns = [c for c in ("inspector_1", "inspector_2") if tables.has("inspections", c)]
    columns = list(columns)
    missing = [c for c in columns if c not in tables.inspections.columns]
    if missing:
        raise ValueError(f"inspections have no column {missing[0]!r} to take as a nuisance")
    labels = getattr(getattr(tables, "register", None), "labels", None)
    horizon = horizon if horizon is not None else (labels.horizon if labels else "365D")
    h = horizon_days(horizon)
    if outcome == "inspection_finding":
        kinds = tuple(kinds) if kinds is not None else (labels.kinds if labels else ("random",))
    elif outcome == "targeted_finding":
        kinds = CHOSEN_KINDS
    else:
        kinds = INSPECTION_KINDS
    pos, days = check_spine(tables, spine)
    src = Source(tables)
    ent = src.pos("inspections")
    day = src.days("inspections", "inspected_on")
    published = src.days("inspections", "published_on")
    kind_ok = src.codes("inspections", "kind", tuple(kinds)) >= 0
    row = np.full(len(spine), -1, dtype=np.int64)
    for start in np.unique(days):
        end = int(start) + h
        seen = np.flatnonzero(
            (ent >= 0) & (day >= start) & (day < end) & (published < end) & kind_ok
        )
        first = np.full(src.n, -1, dtype=np.int64)
        if len(seen):  # the earliest per entity (ties: the table's order)
            order = seen[np.lexsort((seen, day[seen]))][::-1]
            first[ent[order]] = order
        rows = np.flatnonzero(days == start)
        row[rows] = first[pos[rows]]
    out = {}
    for column in columns:
        values = tables.inspections[column]
        text = values.astype("str").where(values.notna()).to_numpy(dtype=object)
        taken = np.where(row >= 0, text[np.maximum(row, 0)], None)
        out[column] = pd.array(taken, dtype="str")
    return pd.DataFrame(out, index=spine.index)


def _label(src: Source, outcome: str, start: int, h: int, kinds, found: np.ndarray) -> np.ndarray:
    """Per-entity outcome for the window [start, start + h)."""
    n, end = src.n, start + h
    ent = src.pos("inspections")
    day = src.days("inspections", "inspected_on")
    seen = (ent >= 0) & (day >= start) & (day < end)
    seen &= src.days("inspections", "published_on") < end
    seen &= src.codes("inspections", "kind", tuple(kinds)) >= 0
    finding = seen & found
    found = np.bincount(ent[finding], minlength=n) > 0
    if outcome != "adverse_event":
        inspected = np.bincount(ent[seen], minlength=n) > 0
        return np.where(inspected, found.astype(np.float64), np.nan)

    pen = src.pos("penalties")
    decided = src.days("penalties", "decided_on")
    penalised = (pen >= 0) & (decided >= start) & (decided < end)
    penalised &= src.days("penalties", "published_on") < end
    lst = src.pos("list_entries")
    listed = src.days("list_entries", "listed_on")
    put_on = (lst >= 0) & (listed >= start) & (listed < end)
    put_on &= src.codes("list_entries", "list", LISTS) >= 0
    event = found.copy()
    event[pen[penalised]] = True
    event[lst[put_on]] = True
    return event.astype(np.float64)
