"""Recourse: the smallest set of actions an entity can take to reach a lower tier.

DOMAIN.md gives an entity the right to know what it can do: file the overdue annual
reports, apply for removal from the abnormal operation list once the cause is fixed,
apply for early exit from the serious illegal list, complete a credit restoration of
its disclosed penalties once the waiting period has passed. Each action here changes
only features the catalogue marks actionable, plus their bookkeeping consequences
(a report filed late counts as filed late; a removal by restoration is counted). The
model re-scores every combination of the actions open to the entity, overrides
included, and the smallest combinations that reach a lower tier come first.

Example
-------
>>> import creditrisk as cr
>>> [a.name for a in ACTIONS]
['file_overdue_reports', 'leave_abnormal_list', 'leave_serious_list', 'restore_penalties']
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from creditrisk.features.builder import CATALOGUE

__all__ = ["ACTIONS", "Action", "recourse"]

_ACTIONABLE = {f.name for f in CATALOGUE if f.actionable}
_SEVERE = ("general", "serious")  # disclosed for years: what a restoration shortens
_WINDOWS = ("1y", "3y", "all")


@dataclass(frozen=True)
class Action:
    """Something the entity can do, when it is open, and what it changes.

    ``open(row, policy)`` says whether the action applies now; ``apply(row, policy)``
    returns the row after it; ``needs`` names actions that must come with it;
    ``targets`` are the actionable features it changes.

    Example
    -------
    >>> ACTIONS[0].describe
    'File the overdue annual reports'
    """

    name: str
    describe: str
    targets: tuple[str, ...]
    open: Callable[[pd.Series, object], bool]
    apply: Callable[[pd.Series, object], pd.Series]
    needs: Callable[[pd.Series, frozenset], str | None] = lambda row, chosen: None


def _get(row: pd.Series, name: str, default=0.0) -> float:
    value = row.get(name, default)
    return default if pd.isna(value) else float(value)


def _file_reports(row: pd.Series, policy) -> pd.Series:
    row = row.copy()
    missing = _get(row, "reports_not_filed")
    for name, value in (
        ("report_last_year_filed", 1),
        ("reports_missed_in_a_row", 0),
        ("reports_not_filed", 0),
    ):
        if name in row.index:
            row[name] = value
    if "reports_filed_late" in row.index:
        row["reports_filed_late"] = _get(row, "reports_filed_late") + missing
    return row


def _leave_abnormal(row: pd.Series, policy) -> pd.Series:
    row = row.copy()
    for name, value in (("on_abnormal_list", 0), ("days_on_abnormal_list", 0)):
        if name in row.index:
            row[name] = value
    if "abnormal_reason" in row.index:
        row["abnormal_reason"] = np.nan
    if "list_removals_restored" in row.index:
        row["list_removals_restored"] = _get(row, "list_removals_restored") + 1
    return row


def _leave_serious(row: pd.Series, policy) -> pd.Series:
    row = row.copy()
    if "on_serious_list" in row.index:
        row["on_serious_list"] = 0
    if "list_removals_restored" in row.index:
        row["list_removals_restored"] = _get(row, "list_removals_restored") + 1
    return row


def _restorable(row: pd.Series, policy) -> bool:
    counted = sum(_get(row, f"penalties_{s}_all") for s in _SEVERE)
    if counted <= 0:
        return False
    key = str(row.get("key_sector", "none")) not in ("none", "nan", "None")
    wait = policy.restoration.get("wait_months_key_sector" if key else "wait_months", 6)
    # the latest counted penalty has been disclosed long enough, so all of them have
    return _get(row, "penalty_days_since_last", 0.0) >= wait * 30.44


def _restore(row: pd.Series, policy) -> pd.Series:
    row = row.copy()
    restored = sum(_get(row, f"penalties_{s}_all") for s in _SEVERE)
    if "penalties_restored" in row.index:
        row["penalties_restored"] = _get(row, "penalties_restored") + restored
    if policy.disclosure.get("restored_penalties", "exclude") == "include":
        return row  # restored penalties keep counting under this policy
    for s in _SEVERE:
        for w in _WINDOWS:
            for prefix in ("penalties", "fines"):
                if f"{prefix}_{s}_{w}" in row.index:
                    row[f"{prefix}_{s}_{w}"] = 0
    others = sum(_get(row, f"penalties_{s}_all") for s in ("warning", "minor"))
    if others == 0 and "penalty_days_since_last" in row.index:
        row["penalty_days_since_last"] = np.nan
    return row


def _restore_needs(row: pd.Series, chosen: frozenset) -> str | None:
    # no restoration while on either list (DOMAIN.md): leave them in the same plan
    if _get(row, "on_abnormal_list") >= 1 and "leave_abnormal_list" not in chosen:
        return "leave_abnormal_list"
    if _get(row, "on_serious_list") >= 1 and "leave_serious_list" not in chosen:
        return "leave_serious_list"
    return None


def _abnormal_needs(row: pd.Series, chosen: frozenset) -> str | None:
    # the cause must be fixed first: a missed report is filed before removal
    if _get(row, "reports_not_filed") > 0 and "file_overdue_reports" not in chosen:
        return "file_overdue_reports"
    return None


ACTIONS: tuple[Action, ...] = (
    Action(
        "file_overdue_reports",
        "File the overdue annual reports",
        ("report_last_year_filed", "reports_missed_in_a_row", "reports_not_filed"),
        lambda row, policy: _get(row, "reports_not_filed") > 0,
        _file_reports,
    ),
    Action(
        "leave_abnormal_list",
        "Apply for removal from the abnormal operation list",
        ("on_abnormal_list", "days_on_abnormal_list"),
        lambda row, policy: _get(row, "on_abnormal_list") >= 1,
        _leave_abnormal,
        _abnormal_needs,
    ),
    Action(
        "leave_serious_list",
        "Apply for early exit from the serious illegal and dishonest list "
        "(after at least 12 months on it, obligations met)",
        ("on_serious_list",),
        lambda row, policy: _get(row, "on_serious_list") >= 1,
        _leave_serious,
    ),
    Action(
        "restore_penalties",
        "Apply for credit restoration of the disclosed penalties (early stop of disclosure)",
        tuple(f"{p}_{s}_{w}" for p in ("penalties", "fines") for s in _SEVERE for w in _WINDOWS),
        _restorable,
        _restore,
        _restore_needs,
    ),
)
for _action in ACTIONS:  # actions move actionable features only
    assert set(_action.targets) <= _ACTIONABLE, _action.name


def recourse(model, row: pd.DataFrame | pd.Series, max_actions: int = 4) -> pd.DataFrame:
    """Every plan of open actions, best first, with the probability and tier it reaches.

    Columns: ``actions`` (names, ``" + "``-joined), ``steps`` (what to do, in words),
    ``n_actions``, ``probability``, ``tier`` and ``lower`` (whether the plan reaches a
    tier below the current one). Plans that reach a lower tier come first, fewest
    actions first, then the lowest tier and probability. The first row, with
    ``n_actions == 0``, is the entity as it stands when no plan helps; an entity with
    no open action gets just that row.

    Example
    -------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> X = cr.build_features(t, cr.spine(t, "2024-07-01"))
    >>> row = X[X.on_abnormal_list == 1].iloc[[0]]
    >>> plans = m.recourse(row)
    >>> bool(plans["lower"].iloc[0]) == bool(plans["lower"].any())
    True
    """
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ValueError(f"recourse explains one entity at a time, got {len(row)} rows")
        frame = row
    else:
        frame = row.to_frame().T.infer_objects()  # a row of a frame: restore dtypes
    base = frame.iloc[0]
    policy = model.policy_
    open_actions = [a for a in ACTIONS if a.open(base, policy)]
    plans: list[tuple[str, ...]] = [()]
    names = {a.name: a for a in open_actions}
    for size in range(1, min(len(open_actions), max_actions) + 1):
        for combo in itertools.combinations(open_actions, size):
            chosen = frozenset(a.name for a in combo)
            if all(a.needs(base, chosen) in (None, *chosen) for a in combo):
                plans.append(tuple(a.name for a in combo))
    rows = []
    for plan in plans:
        changed = base
        for name in plan:
            changed = names[name].apply(changed, policy)
        rows.append(changed)
    candidates = pd.DataFrame(rows).reset_index(drop=True)
    for column in frame.columns:  # keep the input's dtypes (categories above all)
        candidates[column] = candidates[column].astype(frame[column].dtype)
    scored = model.classify(candidates, top_k=0)
    now = scored["tier"].cat.codes.iloc[0]
    out = pd.DataFrame(
        {
            "actions": [" + ".join(p) for p in plans],
            "steps": ["; ".join(names[n].describe for n in p) or "(as it stands)" for p in plans],
            "n_actions": [len(p) for p in plans],
            "probability": scored["probability"].to_numpy(),
            "tier": scored["tier"].array,  # categorical: sorts in the policy's order
            "lower": (scored["tier"].cat.codes < now).to_numpy(),
        }
    )
    helpful = out[out["lower"]].sort_values(["n_actions", "tier", "probability"], kind="stable")
    rest = out[~out["lower"]].sort_values(["n_actions", "probability"], kind="stable")
    return pd.concat([helpful, rest], ignore_index=True)
