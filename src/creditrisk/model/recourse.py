"""Recourse: the smallest set of actions an entity can take to reach a lower tier.

DOMAIN.md gives an entity the right to know what it can do: file the overdue annual
reports, apply for removal from the abnormal operation list (a sole proprietor: to have
its abnormal mark removed) once the cause is fixed, apply for early exit from the
serious illegal list, complete a credit restoration of its disclosed penalties once
the waiting period has passed. Each action here changes only features the catalogue
marks actionable, plus their bookkeeping consequences (a report filed late counts as
filed late; a removal by restoration is counted). The model re-scores every
combination of the actions open to the entity, overrides included, and the smallest
combinations that reach a lower tier come first.

Two actions are open only where the entity's records show the rules allow them, so
they need the register (``tables``):

- credit restoration (early stop of disclosure) of a penalty: never after a suspension,
  a trade ban, a downgraded qualification or a revoked license (the penalty's
  ``measure``); only after ``wait_months`` of disclosure counted from its publication,
  ``wait_months_key_sector`` in food, drugs and special equipment (the policy's
  ``restoration.key_sectors``, or a penalty in their areas); never after a repeat
  violation of the same type; never while on either list (leaving it comes first, in
  the same plan). See :func:`restoration_eligibility`.
- early exit from the serious illegal list: only after ``serious_list_min_months`` on
  it, with no new heavier penalty since the listing, and with the overdue annual
  reports filed (obligations met). See :func:`serious_exit_eligibility`.

Without ``tables`` (``RiskModel.recourse(row)``) those facts are unknown, so these two
actions are not offered: recourse never proposes what the rules may forbid.

Examples
--------
>>> import creditrisk as cr
>>> [a.name for a in ACTIONS]
['file_overdue_reports', 'leave_abnormal_list', 'leave_serious_list', 'restore_penalties']
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from creditrisk.features import penalties as penalty_features
from creditrisk.features.builder import CATALOGUE
from creditrisk.features.source import Source, to_day

__all__ = [
    "ACTIONS",
    "Action",
    "recourse",
    "restoration_eligibility",
    "restoration_rules",
    "serious_exit_eligibility",
]

_ACTIONABLE = {f.name for f in CATALOGUE if f.actionable}
_SEVERE = ("general", "serious")  # disclosed for years: what a restoration shortens
_WINDOWS = ("1y", "3y", "all")
#: DOMAIN.md's restoration rules, used where a policy does not set them
_RESTORATION: dict[str, Any] = {
    "wait_months": 6,
    "wait_months_key_sector": 12,
    "key_sectors": ("food", "drug", "special_equipment"),
    "key_categories": ("food_safety", "drug_safety", "special_equipment_safety"),
    "never_after": ("suspension", "trade_ban", "qualification_downgrade", "license_revocation"),
    "serious_list_min_months": 12,
}
#: a penalty heavier than the ordinary: what bars an early exit from the serious list
_HEAVIER = ("suspension", "trade_ban", "qualification_downgrade", "license_revocation")


def restoration_rules(policy) -> dict[str, Any]:
    """The policy's ``[restoration]`` settings, with DOMAIN.md's where it sets none.

    Parameters
    ----------
    policy : Policy
        The policy (``model.policy_``).

    Returns
    -------
    dict
        ``wait_months``, ``wait_months_key_sector``, ``key_sectors``,
        ``key_categories``, ``never_after`` and ``serious_list_min_months``.

    Examples
    --------
    >>> from creditrisk.policy import Policy
    >>> rules = restoration_rules(Policy.load("national"))
    >>> rules["wait_months"], rules["wait_months_key_sector"], rules["key_sectors"]
    (6, 12, ('food', 'drug', 'special_equipment'))
    """
    given = getattr(policy, "restoration", {}) or {}
    out = {}
    for key, default in _RESTORATION.items():
        value = given.get(key, default)
        out[key] = tuple(value) if isinstance(default, tuple) else value
    return out


def _own(tables, entity_id: str, as_of) -> tuple[Any, pd.Timestamp]:
    as_of = pd.Timestamp(as_of).normalize()
    return tables.subset([str(entity_id)]), as_of


def _months_after(dates: pd.Series, months: pd.Series | int) -> pd.Series:
    """Each date plus a whole number of calendar months (per row, or one for all)."""
    months = pd.Series(months, index=dates.index) if np.isscalar(months) else months
    out = pd.Series(pd.NaT, index=dates.index, dtype="datetime64[s]")
    for m in pd.unique(months):
        rows = (months == m).to_numpy()
        shifted = pd.to_datetime(dates[rows]) + pd.DateOffset(months=int(m))
        out[rows] = shifted.astype("datetime64[s]")
    return out


def restoration_eligibility(tables, entity_id: str, as_of, policy) -> pd.DataFrame:
    """Whether each penalty counting against the entity may be restored on ``as_of``.

    One row per general or serious penalty that counts on ``as_of`` (the actionable
    penalty features): published before it, still disclosed under the policy, not
    restored before it. A penalty is restorable when its measure allows it (never after
    a suspension, trade ban, downgraded qualification or revoked license), it has been
    disclosed for the waiting period (counted in calendar months from publication: 6
    months, 12 in food, drugs and special equipment) and no penalty of the same area was
    decided after it. That the entity is on neither list is checked by the plan
    (leaving the list comes first); that obligations are performed and harm removed
    is the entity's to show when it applies.

    Parameters
    ----------
    tables : EventTables
        The register.
    entity_id : str
        The entity.
    as_of : date-like
        The day the entity would apply (records known before it count).
    policy : Policy
        Its ``restoration`` and ``disclosure`` settings (see :func:`restoration_rules`).

    Returns
    -------
    pandas.DataFrame
        penalty_id, severity, measure, category, published_on, may_apply_on (the day
        the wait ends), restorable (bool) and why_not (empty when restorable).

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> e = restoration_eligibility(t, "E0003053", "2025-01-01", cr.Policy.load("national"))
    >>> e[["measure", "restorable", "why_not"]].values.tolist()
    [['suspension', False, 'a suspension is never restorable']]
    """
    rules = restoration_rules(policy)
    own, as_of = _own(tables, entity_id, as_of)
    pen = own.penalties
    columns = [
        "penalty_id",
        "severity",
        "measure",
        "category",
        "published_on",
        "may_apply_on",
        "restorable",
        "why_not",
    ]
    if not len(pen) or not len(own.enterprises):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    src = Source(own)
    day = to_day(as_of)
    counted = penalty_features.counted(src, day, policy.feature_spec())
    severe = pen["severity"].astype("str").isin(_SEVERE).to_numpy()
    rows = pen[counted & severe].copy()
    sector = str(own.enterprises["key_sector"].iloc[0])
    key = (sector in rules["key_sectors"]) | rows["category"].astype("str").isin(
        rules["key_categories"]
    )
    wait = np.where(key, rules["wait_months_key_sector"], rules["wait_months"])
    rows["may_apply_on"] = _months_after(rows["published_on"], pd.Series(wait, index=rows.index))
    known = pen[pen["published_on"] < as_of]
    why = []
    for r, w in zip(rows.itertuples(), wait, strict=True):
        reasons = []
        measure = str(r.measure)
        if measure in rules["never_after"]:
            reasons.append(f"a {measure.replace('_', ' ')} is never restorable")
        if r.may_apply_on > as_of:
            reasons.append(
                f"disclosed since {r.published_on.date()}: may apply after {int(w)} months, "
                f"from {r.may_apply_on.date()}"
            )
        repeat = known[
            (known["category"].astype("str") == str(r.category))
            & (known["decided_on"] > r.decided_on)
        ]
        if len(repeat):
            reasons.append(
                f"a repeat violation of the same type ({str(r.category).replace('_', ' ')}) "
                f"decided {repeat['decided_on'].min().date()}"
            )
        why.append("; ".join(reasons))
    rows["why_not"] = why
    rows["restorable"] = rows["why_not"] == ""
    return rows[columns].reset_index(drop=True)


def serious_exit_eligibility(tables, entity_id: str, as_of, policy) -> pd.DataFrame:
    """Whether each open serious-list entry of the entity allows an early exit on ``as_of``.

    An early exit is possible after at least ``serious_list_min_months`` (12) on the
    list, counted in calendar months from the listing, when no heavier penalty (serious,
    or a suspension, trade ban, downgraded qualification or revoked license) was decided
    after the listing. Filing the overdue annual reports (obligations met) is required
    by the plan; other obligations are the entity's to show when it applies.

    Parameters
    ----------
    tables : EventTables
        The register.
    entity_id : str
        The entity.
    as_of : date-like
        The day the entity would apply (records known before it count).
    policy : Policy
        Its ``restoration.serious_list_min_months``.

    Returns
    -------
    pandas.DataFrame
        entry_id, reason, listed_on, may_exit_on, exit_open (bool) and why_not.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> policy = cr.Policy.load("national")
    >>> e = serious_exit_eligibility(t, "E0003053", "2025-01-01", policy)
    >>> e[["listed_on", "may_exit_on", "exit_open"]].astype(str).values.tolist()
    [['2022-04-27', '2023-04-27', 'True']]
    >>> serious_exit_eligibility(t, "E0003053", "2023-01-01", policy)["why_not"].tolist()
    ['listed 2022-04-27: early exit after 12 months, from 2023-04-27']
    """
    rules = restoration_rules(policy)
    own, as_of = _own(tables, entity_id, as_of)
    lists = own.list_entries
    open_now = (
        (lists["list"].astype("str") == "serious_illegal")
        & (lists["listed_on"] < as_of)
        & (lists["removed_on"].isna() | (lists["removed_on"] >= as_of))
    )
    rows = lists[open_now.to_numpy()].copy()
    rows["may_exit_on"] = _months_after(rows["listed_on"], int(rules["serious_list_min_months"]))
    pen = own.penalties
    pen = pen[pen["published_on"] < as_of]
    heavier = pen[
        (pen["severity"].astype("str") == "serious") | pen["measure"].astype("str").isin(_HEAVIER)
    ]
    why = []
    for r in rows.itertuples():
        reasons = []
        if r.may_exit_on > as_of:
            reasons.append(
                f"listed {r.listed_on.date()}: early exit after "
                f"{rules['serious_list_min_months']} months, from {r.may_exit_on.date()}"
            )
        later = heavier[heavier["decided_on"] > r.listed_on]
        if len(later):
            reasons.append(f"a heavier penalty decided {later['decided_on'].min().date()}")
        why.append("; ".join(reasons))
    rows["why_not"] = pd.Series(why, index=rows.index, dtype=object)
    rows["exit_open"] = rows["why_not"] == ""
    columns = ["entry_id", "reason", "listed_on", "may_exit_on", "exit_open", "why_not"]
    return rows[columns].reset_index(drop=True)


@dataclass(frozen=True)
class _Records:
    """What an entity's records allow on the as-of date, for the actions below."""

    tables: Any
    as_of: pd.Timestamp
    restorable: tuple[str, ...]
    serious_exit: bool


def _records(tables, base: pd.Series, policy) -> _Records | None:
    if tables is None:
        return None
    if "entity_id" not in base.index or "as_of" not in base.index:
        raise ValueError("recourse with tables= needs the row's entity_id and as_of")
    entity_id, as_of = str(base["entity_id"]), pd.Timestamp(base["as_of"]).normalize()
    own = tables.subset([entity_id])  # once: the checks below read only these rows
    pen = restoration_eligibility(own, entity_id, as_of, policy)
    serious = serious_exit_eligibility(own, entity_id, as_of, policy)
    return _Records(
        tables=own,
        as_of=as_of,
        restorable=tuple(pen.loc[pen["restorable"].astype(bool), "penalty_id"].astype(str)),
        serious_exit=bool(len(serious)) and bool(serious["exit_open"].all()),
    )


@dataclass(frozen=True)
class Action:
    """Something the entity can do, when it is open, and what it changes.

    Parameters
    ----------
    name : str
        The action's name in a plan (``actions`` of :func:`recourse`).
    describe : str
        What to do, in words.
    targets : tuple of str
        The actionable features it changes.
    open : callable
        ``open(row, policy, records)``: whether the action applies now (``records``:
        what the entity's register rows allow, or None without the register).
    apply : callable
        ``apply(row, policy, records)``: the row after it.
    needs : callable
        ``needs(row, chosen)``: the name of an action that must come with it, or None.
    marked : str
        The words for a sole proprietor when they differ (sole proprietors are
        *marked* abnormal, not listed).

    Examples
    --------
    >>> ACTIONS[0].describe
    'File the overdue annual reports'
    >>> import pandas as pd
    >>> ACTIONS[1].words(pd.Series({"entity_type": "sole_proprietor"}))
    'Apply to have the abnormal mark removed (restoring the normal mark) once the cause is fixed'
    """

    name: str
    describe: str
    targets: tuple[str, ...]
    open: Callable[[pd.Series, object, object], bool]
    apply: Callable[[pd.Series, object, object], pd.Series]
    needs: Callable[[pd.Series, frozenset], str | None] = lambda row, chosen: None
    marked: str = ""

    def words(self, row: pd.Series) -> str:
        """What to do, in words, for this entity (a sole proprietor's own words).

        Parameters
        ----------
        row : pandas.Series
            The entity's features (``entity_type`` is read).

        Returns
        -------
        str

        Examples
        --------
        >>> import pandas as pd
        >>> ACTIONS[1].words(pd.Series({"entity_type": "company"}))
        'Apply for removal from the abnormal operation list once the cause is fixed'
        """
        sole = str(row.get("entity_type", "")) == "sole_proprietor"
        return self.marked if sole and self.marked else self.describe


def _get(row: pd.Series, name: str, default=0.0) -> float:
    value = row.get(name, default)
    return default if pd.isna(value) else float(value)


def _file_reports(row: pd.Series, policy, records) -> pd.Series:
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


def _leave_abnormal(row: pd.Series, policy, records) -> pd.Series:
    row = row.copy()
    for name, value in (("on_abnormal_list", 0), ("days_on_abnormal_list", 0)):
        if name in row.index:
            row[name] = value
    if "abnormal_reason" in row.index:
        row["abnormal_reason"] = np.nan
    if "list_removals_restored" in row.index:
        row["list_removals_restored"] = _get(row, "list_removals_restored") + 1
    return row


def _serious_open(row: pd.Series, policy, records) -> bool:
    # the minimum time on the list and "no new heavier penalty" are in the records
    return _get(row, "on_serious_list") >= 1 and records is not None and records.serious_exit


def _leave_serious(row: pd.Series, policy, records) -> pd.Series:
    row = row.copy()
    if "on_serious_list" in row.index:
        row["on_serious_list"] = 0
    if "list_removals_restored" in row.index:
        row["list_removals_restored"] = _get(row, "list_removals_restored") + 1
    return row


def _restorable(row: pd.Series, policy, records) -> bool:
    # the measure, the start of disclosure and repeat violations are in the records
    if records is None or not records.restorable:
        return False
    return sum(_get(row, f"penalties_{s}_all") for s in _SEVERE) > 0


def _restore(row: pd.Series, policy, records) -> pd.Series:
    """The penalty features recomputed with the restorable penalties restored the day
    before as-of (so the policy's ``restored_penalties`` decides whether they count)."""
    row = row.copy()
    own = records.tables
    pen = own.penalties.copy()
    chosen = pen["penalty_id"].astype("str").isin(records.restorable).to_numpy()
    day = (records.as_of - pd.Timedelta(days=1)).to_datetime64().astype("datetime64[s]")
    pen.loc[chosen, "restored_on"] = day
    src = Source(own.replace(penalties=pen))
    values = penalty_features.compute(
        src, np.array([0]), to_day(records.as_of), policy.feature_spec()
    )
    for name, column in values.items():
        if name in row.index:
            row[name] = column[0]
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


def _serious_needs(row: pd.Series, chosen: frozenset) -> str | None:
    # obligations met: an entity escalated for missing reports files them first
    if _get(row, "reports_not_filed") > 0 and "file_overdue_reports" not in chosen:
        return "file_overdue_reports"
    return None


ACTIONS: tuple[Action, ...] = (
    Action(
        "file_overdue_reports",
        "File the overdue annual reports",
        ("report_last_year_filed", "reports_missed_in_a_row", "reports_not_filed"),
        lambda row, policy, records: _get(row, "reports_not_filed") > 0,
        _file_reports,
    ),
    Action(
        "leave_abnormal_list",
        "Apply for removal from the abnormal operation list once the cause is fixed",
        ("on_abnormal_list", "days_on_abnormal_list"),
        lambda row, policy, records: _get(row, "on_abnormal_list") >= 1,
        _leave_abnormal,
        _abnormal_needs,
        marked="Apply to have the abnormal mark removed (restoring the normal mark) "
        "once the cause is fixed",
    ),
    Action(
        "leave_serious_list",
        "Apply for early exit from the serious illegal and dishonest list "
        "(allowed after the minimum time on it, obligations met, no new heavier penalty)",
        ("on_serious_list",),
        _serious_open,
        _leave_serious,
        _serious_needs,
    ),
    Action(
        "restore_penalties",
        "Apply for credit restoration of the disclosed penalties that allow it (early stop "
        "of disclosure: obligations performed, harm removed)",
        tuple(f"{p}_{s}_{w}" for p in ("penalties", "fines") for s in _SEVERE for w in _WINDOWS),
        _restorable,
        _restore,
        _restore_needs,
    ),
)
for _action in ACTIONS:  # actions move actionable features only
    assert set(_action.targets) <= _ACTIONABLE, _action.name


def recourse(
    model, row: pd.DataFrame | pd.Series, max_actions: int = 4, tables=None
) -> pd.DataFrame:
    """Every plan of open actions, best first, with the probability and tier it reaches.

    Plans that reach a lower tier come first, fewest actions first, then the lowest
    tier and probability. The first row, with ``n_actions == 0``, is the entity as it
    stands when no plan helps; an entity with no open action gets just that row.

    Parameters
    ----------
    model : RiskModel
        A fitted model (its policy decides tiers and the restoration rules).
    row : pandas.DataFrame or pandas.Series
        One entity's features with ``entity_id`` and ``as_of``.
    max_actions : int
        The most actions one plan may combine.
    tables : EventTables, optional
        The register the row was built from. Credit restoration and early exit from the
        serious list are offered only with it, where the entity's records show the
        rules allow them (:func:`restoration_eligibility`,
        :func:`serious_exit_eligibility`); without it they are never offered.

    Returns
    -------
    pandas.DataFrame
        ``actions`` (names, ``" + "``-joined), ``steps`` (what to do, in words),
        ``n_actions``, ``probability``, ``tier`` and ``lower`` (whether the plan reaches
        a tier below the current one).

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> X = cr.build_features(t, cr.spine(t, "2024-07-01"))
    >>> row = X[X.on_abnormal_list == 1].iloc[[0]]
    >>> plans = m.recourse(row)
    >>> bool(plans["lower"].iloc[0]) == bool(plans["lower"].any())
    True
    >>> X = cr.build_features(t, cr.spine(t, "2025-01-01"))
    >>> row = X[X.entity_id == "E0003053"]   # a suspension, serious list since 2022-04
    >>> sorted(recourse(m, row, tables=t)["actions"])   # early exit, never restoration
    ['', 'leave_serious_list']
    >>> sorted(recourse(m, row)["actions"])   # without the records: nothing to offer
    ['']
    """
    if isinstance(row, pd.DataFrame):
        if len(row) != 1:
            raise ValueError(f"recourse explains one entity at a time, got {len(row)} rows")
        frame = row
    else:
        frame = row.to_frame().T.infer_objects()  # a row of a frame: restore dtypes
    base = frame.iloc[0]
    policy = model.policy_
    records = _records(tables, base, policy)
    open_actions = [a for a in ACTIONS if a.open(base, policy, records)]
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
            changed = names[name].apply(changed, policy, records)
        rows.append(changed)
    candidates = pd.DataFrame(rows).reset_index(drop=True)
    for column in frame.columns:  # keep the input's dtypes (categories above all)
        candidates[column] = candidates[column].astype(frame[column].dtype)
    scored = model.classify(candidates, top_k=0)
    now = scored["tier"].cat.codes.iloc[0]
    out = pd.DataFrame(
        {
            "actions": [" + ".join(p) for p in plans],
            "steps": [
                "; ".join(names[n].words(base) for n in p) or "(as it stands)" for p in plans
            ],
            "n_actions": [len(p) for p in plans],
            "probability": scored["probability"].to_numpy(),
            "tier": scored["tier"].array,  # categorical: sorts in the policy's order
            "lower": (scored["tier"].cat.codes < now).to_numpy(),
        }
    )
    helpful = out[out["lower"]].sort_values(["n_actions", "tier", "probability"], kind="stable")
    rest = out[~out["lower"]].sort_values(["n_actions", "probability"], kind="stable")
    return pd.concat([helpful, rest], ignore_index=True)
