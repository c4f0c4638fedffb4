"""The double-random draw: random targets per stratum, random inspectors per target.

Targets are drawn at random within each stratum (tier x key sector) at the
frequency table's rates: every entity gets the whole visits of its rate, and a simple
random sample of the stratum (entities sorted by id, then
``numpy.random.default_rng(seed)``) gets one more for the fraction. The sample's size
is the fraction's expected count rounded at random (randomised rounding: down, or up
with the probability of the remainder), so every entity's chance of the extra visit is
exactly the fraction and no entity is exempt: a group of 40 tier-A entities at a 1%
floor gets one visit with probability 0.4 instead of none. Each visit records its
entity's ``inclusion_probability``, the exact chance that the entity is in the plan
(its stratum's rate, capped at 1); its inverse is the Horvitz-Thompson weight of the
entity's outcome. The counts per stratum are the expected counts rounded down or up.

Each visit then gets two inspectors, drawn at random among those allowed, least
loaded first (an even workload):
- from the entity's region; for a key-sector entity the lead must hold that speciality
  (from another region when the policy's ``specialists_any_region``, true by default,
  allows and the region has no such inspector free to go);
- never an inspector with a declared conflict with the entity;
- never an inspector of the entity's last inspection (``history``), nor one already
  sent to the entity in this plan.

The plan records the seed, the period, the library version, a SHA-256 of every
input and a SHA-256 of its own rows (``plan_sha256``, :func:`plan_digest`);
:func:`verify` checks the rows against their digest, re-draws, and confirms every
column the plan publishes. A register that cannot staff the plan
raises :class:`StaffingError` saying which constraint fell short where, and by how
many visits.

Examples
--------
>>> import creditrisk as cr
>>> from creditrisk.inspection import draw, load_sample_register, verify
>>> m = cr.RiskModel.load(cr.sample_model_path()); t = cr.load_sample()
>>> X = cr.build_features(t, cr.spine(t, "2025-01-01"))
>>> scores = m.classify(X, top_k=0).join(X[["key_sector", "region"]])
>>> plan = draw(scores, load_sample_register(), m.policy_, seed=20260101, history=t)
>>> verify(plan, scores, load_sample_register(), m.policy_, history=t)
True
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from creditrisk.inspection.frequency import frequency_table, strata
from creditrisk.inspection.register import InspectorRegister
from creditrisk.policy.rules import Policy

__all__ = [
    "PlanMismatch",
    "StaffingError",
    "draw",
    "inputs_digest",
    "plan_digest",
    "verify",
    "workload",
]

_GENERAL = "none"


class StaffingError(ValueError):
    """The inspector register cannot staff the plan: which constraint, where, how many.

    ``shortages`` is a DataFrame: constraint, region, key_sector, visits short.

    Parameters
    ----------
    shortages : pandas.DataFrame
        One row per constraint and place that fell short: ``constraint``, ``region``,
        ``key_sector`` and ``visits`` (how many visits it left unstaffed); kept as
        ``shortages``, and listed in the message.

    Examples
    --------
    >>> import pandas as pd
    >>> from creditrisk.policy import Policy
    >>> from creditrisk.inspection import InspectorRegister
    >>> scores = pd.DataFrame({"entity_id": [f"E{i:02d}" for i in range(40)],
    ...     "tier": "D", "probability": 0.5, "key_sector": "none", "region": "r1"})
    >>> alone = InspectorRegister(pd.DataFrame({"inspector_id": ["I1"], "region": "r1",
    ...     "speciality": "general"}))
    >>> try:
    ...     draw(scores, alone, Policy.load("national"), seed=1)
    ... except StaffingError as err:
    ...     print(err.shortages[["region", "visits"]].values.tolist())
    [['r1', 12]]
    """

    def __init__(self, shortages: pd.DataFrame):
        self.shortages = shortages
        lines = [
            f"- {r.constraint}: region {r.region}, key sector {r.key_sector}: "
            f"{r.visits} visits short"
            for r in shortages.itertuples()
        ]
        super().__init__(
            f"the inspector register cannot staff the plan ({int(shortages['visits'].sum())} "
            "visits short):\n" + "\n".join(lines)
        )

    def __reduce__(self):
        # rebuilt from the shortages, not the message: it crosses process boundaries
        return (type(self), (self.shortages,))


class PlanMismatch(ValueError):
    """A plan that does not match what its inputs and seed give.

    :func:`verify` raises it, naming what differs.

    Examples
    --------
    >>> import pandas as pd
    >>> from creditrisk.policy import Policy
    >>> from creditrisk.inspection import InspectorRegister
    >>> scores = pd.DataFrame({"entity_id": [f"E{i:02d}" for i in range(40)],
    ...     "tier": "D", "probability": 0.5, "key_sector": "none", "region": "r1"})
    >>> register = InspectorRegister(pd.DataFrame({"inspector_id": ["I1", "I2", "I3"],
    ...     "region": "r1", "speciality": "general"}))
    >>> plan = draw(scores, register, Policy.load("national"), seed=1)
    >>> try:
    ...     verify(plan, scores.assign(probability=0.6), register, Policy.load("national"))
    ... except PlanMismatch as err:
    ...     print(str(err)[:58])
    the inputs differ from those the plan was drawn from (SHA-
    """


def _last_inspectors(history) -> dict[str, set[str]]:
    if history is None:
        return {}
    inspections = getattr(history, "inspections", history)
    if not len(inspections):
        return {}
    last = (
        inspections.sort_values(["entity_id", "inspected_on"], kind="stable")
        .groupby("entity_id", observed=True)
        .tail(1)
    )
    out: dict[str, set[str]] = {}
    for e, a, b in zip(
        last["entity_id"].astype(str), last["inspector_1"], last["inspector_2"], strict=True
    ):
        out[e] = {str(x) for x in (a, b) if pd.notna(x)}
    return out


def inputs_digest(
    scores: pd.DataFrame,
    register: InspectorRegister,
    policy: Policy,
    table: pd.DataFrame,
    period: str,
    history=None,
) -> str:
    """SHA-256 of everything a draw depends on (besides the seed), order-independent.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity: entity_id, tier, probability, key_sector and region (other
        columns are not read).
    register : InspectorRegister
        The inspectors (id, region, speciality) and their declared conflicts.
    policy : Policy
        The whole policy (:meth:`~creditrisk.policy.rules.Policy.to_dict`).
    table : pandas.DataFrame
        The rates per stratum (tier, sector, rate).
    period : str
        The plan's period.
    history : EventTables or pandas.DataFrame, optional
        The event tables or their inspections: each entity's last inspectors count.

    Returns
    -------
    str
        64 hexadecimal digits; the same whatever the order of the rows.

    Examples
    --------
    >>> import pandas as pd
    >>> from creditrisk.policy.rules import Policy
    >>> from creditrisk.inspection import load_sample_register
    >>> s = pd.DataFrame({"entity_id": ["E1"], "tier": ["A"], "probability": [0.1],
    ...                   "key_sector": ["none"], "region": ["district_01"]})
    >>> p = Policy.load("national"); t = frequency_table(s, p)
    >>> d1 = inputs_digest(s, load_sample_register(), p, t, "1Y")
    >>> d1 == inputs_digest(s.iloc[::-1], load_sample_register(), p, t, "1Y")
    True
    >>> d1 == inputs_digest(s, load_sample_register(), p, t, "6M")
    False
    """
    digest = hashlib.sha256()

    def add(frame: pd.DataFrame, columns: list[str]) -> None:
        part = frame[columns].astype("str").sort_values(columns, kind="stable")
        digest.update(",".join(columns).encode())
        digest.update(pd.util.hash_pandas_object(part, index=False).to_numpy().tobytes())

    cols = ["entity_id", "tier", "probability", "key_sector", "region"]
    frame = scores[cols].assign(probability=scores["probability"].map(float.hex))
    add(frame, cols)
    add(register.inspectors, ["inspector_id", "region", "speciality"])
    add(register.conflicts, ["inspector_id", "entity_id"])
    last = _last_inspectors(history)
    pairs = pd.DataFrame(
        [(e, i) for e, ids in last.items() for i in ids], columns=["entity_id", "inspector_id"]
    )
    add(pairs, ["entity_id", "inspector_id"])
    add(table.assign(rate=table["rate"].map(float.hex)), ["tier", "sector", "rate"])
    digest.update(json.dumps(policy.to_dict(), sort_keys=True, default=str).encode())
    digest.update(str(period).encode())
    return digest.hexdigest()


def _text(column: pd.Series) -> list[str]:
    """A column's values as exact text: floats in hexadecimal, empty values as ''."""
    values = column.to_numpy(dtype=object)
    if pd.api.types.is_float_dtype(column.dtype):
        return ["" if pd.isna(v) else float(v).hex() for v in values]
    return ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values]


def plan_digest(plan: pd.DataFrame) -> str:
    """SHA-256 of a plan's rows: every column but ``plan_sha256``, in order, exactly.

    :func:`draw` records it in ``plan_sha256``; :func:`verify` recomputes it, so a row
    changed in the file (a tier, a probability, a region) is seen even before the
    re-draw. Values are compared as text (floats exactly, in hexadecimal), so a plan
    read back from parquet has the digest it was drawn with.

    Parameters
    ----------
    plan : pandas.DataFrame
        A plan (its ``plan_sha256`` column, if any, is left out).

    Returns
    -------
    str
        A SHA-256 hex digest.

    Examples
    --------
    >>> plan = pd.DataFrame({"entity_id": ["E1"], "tier": ["A"], "probability": [0.1]})
    >>> plan_digest(plan) == plan_digest(plan.assign(plan_sha256="x"))
    True
    >>> plan_digest(plan) == plan_digest(plan.assign(tier="D"))
    False
    """
    digest = hashlib.sha256()
    for name in plan.columns:
        if name == "plan_sha256":
            continue
        digest.update(f"\x1d{name}\x1d".encode())
        digest.update("\x1e".join(_text(plan[name])).encode())
    return digest.hexdigest()


def _extra_count(expected: float, rng) -> int:
    """Randomised rounding: floor(expected), plus one with the remainder's probability
    (one uniform drawn for every stratum, so the stream does not depend on the counts)."""
    expected = round(float(expected), 9)  # 0.1 x 30 is 3, not 3.0000000000000004
    low = int(np.floor(expected))
    return low + int(rng.random() < expected - low)


def _targets(scores: pd.DataFrame, policy: Policy, table: pd.DataFrame, rng) -> pd.DataFrame:
    groups = strata(scores, policy)
    frame = pd.DataFrame(
        {
            "entity_id": scores["entity_id"].astype(str).to_numpy(),
            "tier": groups["tier"].to_numpy(),
            "sector": groups["sector"].to_numpy(),
            "key_sector": scores["key_sector"].astype(str).to_numpy(),
            "region": scores["region"].astype(str).to_numpy(),
            "probability": scores["probability"].to_numpy(dtype=np.float64),
        }
    )
    if frame["entity_id"].duplicated().any():
        dup = frame.loc[frame["entity_id"].duplicated(), "entity_id"].head(5).tolist()
        raise ValueError(f"scores: one row per entity needed; repeated entity_id {dup}")
    visits = []
    for row in table.itertuples():
        part = frame[(frame["tier"] == str(row.tier)) & (frame["sector"] == row.sector)]
        part = part.sort_values("entity_id", kind="stable")
        part = part.assign(inclusion_probability=min(float(row.rate), 1.0))
        whole = int(np.floor(row.rate))
        for v in range(whole):
            visits.append(part.assign(visit=v + 1))
        extra = _extra_count((row.rate - whole) * len(part), rng) if len(part) else 0
        if extra:
            chosen = np.sort(rng.choice(len(part), size=extra, replace=False))
            visits.append(part.iloc[chosen].assign(visit=whole + 1))
    if not visits:
        return frame.iloc[:0].assign(
            inclusion_probability=pd.Series(dtype=np.float64), visit=pd.Series(dtype=np.int64)
        )
    return pd.concat(visits, ignore_index=True)


def draw(
    scores: pd.DataFrame,
    register: InspectorRegister,
    policy: Policy,
    seed: int,
    period: str = "1Y",
    table: pd.DataFrame | None = None,
    history=None,
) -> pd.DataFrame:
    """Draw targets and inspectors; the plan, one row per visit.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity with entity_id, tier, probability, key_sector and region.
    register : InspectorRegister
        The inspectors and their declared conflicts.
    policy : Policy
        Strata (its key sectors) and the inspectors' rules.
    seed : int
        The draw's seed: the same inputs and seed give the same plan, bit for bit.
    period : str
        The plan's period (``"1Y"``, ``"6M"``).
    table : pandas.DataFrame, optional
        The rates per stratum (default: :func:`frequency_table`; an
        :class:`Allocation`'s ``table`` works too).
    history : EventTables or pandas.DataFrame, optional
        The event tables or their inspections, for the last inspectors of every entity.

    Returns
    -------
    pandas.DataFrame
        entity_id, visit, tier, sector, key_sector, region, probability, inspector_1
        (the lead), inspector_2, inclusion_probability (the exact chance the entity is
        in the plan: its stratum's rate capped at 1, never 0 while the rate is
        positive), then seed, period, creditrisk_version, inputs_sha256 and
        plan_sha256 (the digest of the plan's own rows, :func:`plan_digest`), the same
        on every row.

    Examples
    --------
    >>> import pandas as pd
    >>> from creditrisk.policy import Policy
    >>> from creditrisk.inspection import InspectorRegister
    >>> scores = pd.DataFrame({"entity_id": [f"E{i:02d}" for i in range(40)],
    ...     "tier": "A", "probability": 0.05, "key_sector": "none", "region": "r1"})
    >>> register = InspectorRegister(pd.DataFrame({"inspector_id": ["I1", "I2", "I3"],
    ...     "region": "r1", "speciality": "general"}))
    >>> plans = [draw(scores, register, Policy.load("national"), seed=s) for s in range(20)]
    >>> sorted({len(p) for p in plans})   # 40 entities x 1%: 0.4 visits, rounded at random
    [0, 1]
    >>> next(p for p in plans if len(p))["inclusion_probability"].tolist()
    [0.01]
    """
    from creditrisk._version import __version__

    if not isinstance(register, InspectorRegister):
        raise TypeError("register must be an InspectorRegister (see load_sample_register)")
    if table is None:
        table = frequency_table(scores, policy, period)
    rng = np.random.default_rng(seed)
    visits = _targets(scores, policy, table, rng)
    lead, second = _assign(visits, register, policy, _last_inspectors(history), rng)
    plan = visits.assign(inspector_1=lead, inspector_2=second)
    plan = plan.sort_values(["entity_id", "visit"], kind="stable").reset_index(drop=True)
    columns = ["entity_id", "visit", "tier", "sector", "key_sector", "region", "probability"]
    plan = plan[[*columns, "inspector_1", "inspector_2", "inclusion_probability"]]
    plan["tier"] = pd.Categorical(plan["tier"], categories=list(policy.tiers), ordered=True)
    plan["seed"] = np.int64(seed)
    plan["period"] = str(period)
    plan["creditrisk_version"] = __version__
    plan["inputs_sha256"] = inputs_digest(scores, register, policy, table, period, history)
    plan["plan_sha256"] = plan_digest(plan)
    return plan


def _assign(visits, register, policy, last, rng):
    ins = register.inspectors
    ids = ins["inspector_id"].to_numpy(dtype=object)
    region = ins["region"].to_numpy(dtype=object)
    speciality = ins["speciality"].to_numpy(dtype=object)
    load = np.zeros(len(ins), dtype=np.int64)
    conflicts: dict[str, set[int]] = {}
    position = {i: k for k, i in enumerate(ids)}
    for i, e in zip(
        register.conflicts["inspector_id"], register.conflicts["entity_id"], strict=True
    ):
        conflicts.setdefault(e, set()).add(position[i])
    anywhere = bool(policy.inspection.get("specialists_any_region", True))
    by_region = {r: np.flatnonzero(region == r) for r in np.unique(region)}
    empty = np.array([], dtype=np.int64)
    lead = np.empty(len(visits), dtype=object)
    second = np.empty(len(visits), dtype=object)
    sent: dict[str, set[int]] = {}
    short: dict[tuple[str, str, str], int] = {}
    entities = visits["entity_id"].to_numpy(dtype=object)
    regions = visits["region"].to_numpy(dtype=object)
    sectors = visits["key_sector"].to_numpy(dtype=object)
    for k in rng.permutation(len(visits)):
        e, r, ks = entities[k], regions[k], sectors[k]
        barred = conflicts.get(e, set()) | {position[i] for i in last.get(e, ()) if i in position}
        barred |= sent.get(e, set())
        local = by_region.get(r, empty)
        pool = local if ks == _GENERAL else local[speciality[local] == ks]
        pool = pool[~np.isin(pool, list(barred))]
        if ks != _GENERAL and not len(pool) and anywhere:  # a specialist from elsewhere
            pool = np.flatnonzero(speciality == ks)
            pool = pool[~np.isin(pool, list(barred))]
        if not len(pool):
            what = "no lead inspector" if ks == _GENERAL else f"no inspector qualified for {ks}"
            key = (f"{what} free of conflicts and of the last inspection", r, ks)
            short[key] = short.get(key, 0) + 1
            continue
        first = _least_loaded(pool, load, rng)
        rest = local[~np.isin(local, [*barred, first])]
        if not len(rest):
            key = (
                "no second inspector in the region free of conflicts and of the last inspection",
                r,
                ks,
            )
            short[key] = short.get(key, 0) + 1
            continue
        other = _least_loaded(rest, load, rng)
        load[[first, other]] += 1
        lead[k], second[k] = ids[first], ids[other]
        sent.setdefault(e, set()).update((first, other))
    if short:
        rows = [(c, r, ks, n) for (c, r, ks), n in sorted(short.items())]
        raise StaffingError(
            pd.DataFrame(rows, columns=["constraint", "region", "key_sector", "visits"])
        )
    return lead, second


def _least_loaded(pool: np.ndarray, load: np.ndarray, rng) -> int:
    low = pool[load[pool] == load[pool].min()]
    return int(low[rng.integers(len(low))])


def workload(plan: pd.DataFrame, register: InspectorRegister) -> pd.DataFrame:
    """Visits per inspector (0 for those not sent), with region and speciality.

    Parameters
    ----------
    plan : pandas.DataFrame
        A plan of :func:`draw` (its ``inspector_1`` and ``inspector_2``).
    register : InspectorRegister
        The inspectors.

    Returns
    -------
    pandas.DataFrame
        One row per inspector of the register: ``inspector_id``, ``region``,
        ``speciality`` and ``visits``.

    Examples
    --------
    >>> from creditrisk.inspection import load_sample_register
    >>> r = load_sample_register()
    >>> w = workload(pd.DataFrame({"inspector_1": [], "inspector_2": []}), r)
    >>> int(w["visits"].sum()), len(w) == len(r.inspectors)
    (0, True)
    >>> first, second = r.inspectors["inspector_id"].iloc[:2]
    >>> plan = pd.DataFrame({"inspector_1": [first, first], "inspector_2": [second, second]})
    >>> workload(plan, r)["visits"].iloc[:3].tolist()
    [2, 2, 0]
    """
    counts = pd.concat([plan["inspector_1"], plan["inspector_2"]]).astype(str).value_counts()
    out = register.inspectors[["inspector_id", "region", "speciality"]].copy()
    out["visits"] = out["inspector_id"].map(counts).fillna(0).astype(int)
    return out


def verify(
    plan: pd.DataFrame,
    scores: pd.DataFrame,
    register: InspectorRegister,
    policy: Policy,
    table: pd.DataFrame | None = None,
    history=None,
) -> bool:
    """Check ``plan`` against its own digest, re-draw it from the inputs and its seed,
    and confirm every column it publishes.

    Parameters
    ----------
    plan : pandas.DataFrame
        The published plan (:func:`draw`'s columns).
    scores : pandas.DataFrame
        The scores it was drawn from.
    register : InspectorRegister
        The inspectors and their declared conflicts.
    policy : Policy
        The policy it was drawn under.
    table : pandas.DataFrame, optional
        The rates per stratum it used (default: :func:`frequency_table`).
    history : EventTables or pandas.DataFrame, optional
        The event tables (or inspections) it used.

    Returns
    -------
    bool
        True when the plan is exactly the draw of its inputs and seed.

    Raises
    ------
    PlanMismatch
        Naming what differs: a missing column, rows that do not match their digest
        (edited), inputs other than the plan's (their SHA-256), or the first visit and
        column whose value differs from the re-draw.

    Examples
    --------
    See the module's example; an edited tier is refused:

    >>> import creditrisk as cr
    >>> from creditrisk.inspection import load_sample_register
    >>> m = cr.RiskModel.load(cr.sample_model_path()); t = cr.load_sample()
    >>> X = cr.build_features(t, cr.spine(t, "2025-01-01"))
    >>> scores = m.classify(X, top_k=0).join(X[["key_sector", "region"]])
    >>> plan = draw(scores, load_sample_register(), m.policy_, seed=7)
    >>> plan.loc[0, "tier"] = "D" if plan.loc[0, "tier"] != "D" else "A"
    >>> try:
    ...     verify(plan, scores, load_sample_register(), m.policy_)
    ... except PlanMismatch as err:
    ...     print(str(err)[:41])
    the plan's rows do not match their digest
    """
    for column in ("seed", "period", "inputs_sha256", "creditrisk_version", "plan_sha256"):
        if column not in plan.columns or plan[column].nunique() > 1:
            raise PlanMismatch(f"the plan has no single {column!r}: not a creditrisk plan")
    if not len(plan):
        raise PlanMismatch("the plan has no visits: nothing to verify")
    recorded = str(plan["plan_sha256"].iat[0])
    edited = ""
    if plan_digest(plan) != recorded:
        edited = (
            f"the plan's rows do not match their digest (plan_sha256 {recorded[:12]}...): the "
            "file was changed after the draw"
        )
    seed, period = int(plan["seed"].iat[0]), str(plan["period"].iat[0])
    if table is None:
        table = frequency_table(scores, policy, period)
    digest = inputs_digest(scores, register, policy, table, period, history)
    if digest != plan["inputs_sha256"].iat[0]:
        raise PlanMismatch(
            (f"{edited}; " if edited else "")
            + f"the inputs differ from those the plan was drawn from (SHA-256 {digest[:12]}... "
            f"against the plan's {str(plan['inputs_sha256'].iat[0])[:12]}...)"
        )
    again = draw(scores, register, policy, seed, period, table, history)
    published = [c for c in plan.columns if c != "creditrisk_version"]
    wanted = [c for c in again.columns if c != "creditrisk_version"]
    prefix = f"{edited}: " if edited else ""
    if sorted(published) != sorted(wanted):
        extra = sorted(set(published) - set(wanted))
        missing = sorted(set(wanted) - set(published))
        raise PlanMismatch(
            f"{prefix}the plan's columns differ from a draw's (extra {extra}, missing {missing})"
        )
    if len(plan) != len(again):
        raise PlanMismatch(
            f"{prefix}the plan has {len(plan)} visits; the draw with seed {seed} gives "
            f"{len(again)}: the plan differs from what its inputs and seed give"
        )
    mine = plan.reset_index(drop=True)
    for column in wanted:
        if column == "plan_sha256":
            continue
        ours, theirs = _text(mine[column]), _text(again[column])
        if ours != theirs:
            i = next(k for k, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b)
            raise PlanMismatch(
                f"{prefix}visit {i} differs in {column} ({again['entity_id'].iat[i]}): the "
                f"plan says {mine[column].iat[i]!r}, the draw with seed {seed} gives "
                f"{again[column].iat[i]!r}"
            )
    if edited:
        raise PlanMismatch(edited)
    return True
