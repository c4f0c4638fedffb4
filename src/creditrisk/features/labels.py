"""Labels: what happened to each (entity_id, as_of) in the horizon after as_of.

The label window for an as-of date is ``[as_of, as_of + horizon)`` in days (the
interval (as_of, as_of + horizon] of the issue, with dates at midnight), and an outcome
counts only if the regulator knew it by the end of the window (published, listed,
decided and published before ``as_of + horizon``). So a model trained on labels that
end before a test as-of date has seen nothing from after it.

Outcomes
--------
``inspection_finding`` (the default)
    1 if a *random* (double-random) inspection in the window found issues or did not
    find the entity at its address, 0 if random inspections found nothing, and
    **undefined (NaN)** if no random inspection took place.
``targeted_finding``
    The same over the inspections the regulator chose: targeted, complaint and joint
    (every kind but random). Biased by design; kept to be shown beside the random rate.
``any_finding``
    The same over inspections of every kind (random, targeted, complaint, joint).
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

Example
-------
>>> import creditrisk as cr
>>> t = cr.load_sample()
>>> s = cr.spine(t, "2023-07-01")
>>> y = cr.build_labels(t, s, outcome="inspection_finding", horizon="365D")
>>> y.name, bool(y.isna().any()), set(y.dropna().unique()) <= {0.0, 1.0}
('inspection_finding', True, True)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from creditrisk.data.schema import INSPECTION_KINDS, LISTS, OUTCOMES
from creditrisk.data.spine import check_spine, data_span
from creditrisk.features.source import Source

__all__ = ["OUTCOME_NAMES", "build_labels", "horizon_days"]

#: outcome name -> whether it is defined for entities without an inspection
OUTCOME_NAMES = {
    "inspection_finding": False,
    "targeted_finding": False,
    "any_finding": False,
    "adverse_event": True,
}


def horizon_days(horizon: str | pd.Timedelta | int) -> int:
    """A horizon ("365D", a Timedelta, or days) as whole days.

    Example
    -------
    >>> horizon_days("365D"), horizon_days(90)
    (365, 90)
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
    horizon: str | pd.Timedelta | int = "365D",
) -> pd.Series:
    """The outcome for every spine row (1.0, 0.0, or NaN when undefined).

    The result has the spine's index. Raises ValueError for an unknown outcome, or when
    the data end before the label window of an as-of date does.

    Example
    -------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> y = cr.build_labels(t, cr.spine(t, "2023-07-01"), outcome="adverse_event")
    >>> bool(y.notna().all())
    True
    """
    if outcome not in OUTCOME_NAMES:
        raise ValueError(f"unknown outcome {outcome!r}; choose one of {', '.join(OUTCOME_NAMES)}")
    h = horizon_days(horizon)
    pos, days = check_spine(tables, spine)
    _, last = data_span(tables)
    last_day = int(last.to_datetime64().astype("datetime64[D]").astype(np.int64))
    short = days + h - 1 > last_day
    if short.any():
        first = pd.Timestamp(int(days[short].max()), unit="D")
        raise ValueError(
            f"the {h}-day label window of as_of {first.date()} ends after the data "
            f"(last known date {last.date()}); use as_of dates up to "
            f"{(last - pd.Timedelta(days=h - 1)).date()}"
        )
    src = Source(tables)
    label = np.full(len(spine), np.nan)
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        label[rows] = _label(src, outcome, int(day), h)[pos[rows]]
    return pd.Series(label, index=spine.index, name=outcome)


def _label(src: Source, outcome: str, start: int, h: int) -> np.ndarray:
    """Per-entity outcome for the window [start, start + h)."""
    n, end = src.n, start + h
    ent = src.pos("inspections")
    day = src.days("inspections", "inspected_on")
    seen = (ent >= 0) & (day >= start) & (day < end)
    seen &= src.days("inspections", "published_on") < end
    if outcome == "inspection_finding":
        seen &= src.codes("inspections", "kind", ("random",)) == 0
    elif outcome == "targeted_finding":
        seen &= src.codes("inspections", "kind", INSPECTION_KINDS) > 0
    finding = seen & (src.codes("inspections", "outcome", OUTCOMES) > 0)
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
