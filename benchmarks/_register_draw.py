"""A register drawn directly with NumPy for the related-party benchmark (bench_relations).

The tables use the data model's column names (:mod:`creditrisk.data.schema`): the
enterprises with ``address_id``, roles of people, address and other changes (old and
new values), list entries and penalties. Only what the related-party features read is
drawn with care; it is not a calibrated world (``creditrisk.synth`` is), but its shares
follow what a register looks like: most people hold roles in one enterprise, a few in
many (a heavy tail), most enterprises have an address of their own, some share a
building and a few sit in shell clusters of tens.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DAY0 = np.datetime64("2000-01-01", "D")
LAST = np.datetime64("2025-12-31", "D")
ROLE_NAMES = ("legal_representative", "shareholder", "director", "supervisor", "manager", "other")
ROLE_SHARES = (0.34, 0.30, 0.12, 0.10, 0.10, 0.04)
LIST_NAMES = ("abnormal_operation", "abnormal_mark", "serious_illegal")
LIST_SHARES = (0.62, 0.23, 0.15)
SEVERITIES = ("warning", "minor", "general", "serious")
KINDS = ("legal_representative", "address", "registered_capital", "business_scope")


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Ids like E0000042 as an object array (fast: char arithmetic, no Python loop)."""
    digits = np.char.zfill(numbers.astype(str), width)
    return np.char.add(prefix, digits).astype(object)


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    out = (DAY0 + days.astype("timedelta64[D]")).astype("datetime64[s]")
    if missing is not None:
        out[missing] = np.datetime64("NaT", "s")
    return out


def draw_register(n: int, seed: int = 18, people: float = 1.5, roles: float = 3.0) -> dict:
    """The tables (name -> DataFrame) of ``n`` enterprises, ``people * n`` people and
    about ``roles * n`` roles."""
    rng = np.random.default_rng(seed)
    span = int((LAST - DAY0).astype(int))
    ent_ids = _ids("E", np.arange(n), 8)

    # enterprises: registered over 26 years (1% unknown), 18% deregistered (a third of
    # those within a year of registering)
    registered = rng.integers(0, span - 30, n)
    gone = rng.random(n) < 0.18
    young = rng.random(n) < 0.33
    life = np.where(young, rng.integers(20, 365, n), rng.integers(366, 4000, n))
    deregistered = registered + life
    missing_gone = ~gone | (deregistered >= span)
    # addresses: own address (84%), ordinary shared buildings of about 4 (10%), shell
    # clusters of 10-60 (2%), unknown (4%)
    u = rng.random(n)
    address = np.arange(n, dtype=np.int64)  # own
    shared = (u >= 0.84) & (u < 0.94)
    address[shared] = n + rng.integers(0, max(int(shared.sum() / 4), 1), int(shared.sum()))
    shell = (u >= 0.94) & (u < 0.96)
    n_shells = max(int(shell.sum() / 30), 1)
    address[shell] = (
        2 * n + (rng.pareto(1.5, int(shell.sum())) * n_shells / 10).astype(np.int64) % n_shells
    )
    unknown = u >= 0.96
    address_ids = _ids("A", address, 8)
    address_ids[unknown] = None
    enterprises = pd.DataFrame(
        {
            "entity_id": ent_ids,
            "registered_on": _dates(registered, rng.random(n) < 0.01),
            "deregistered_on": _dates(deregistered, missing_gone),
            "address_id": address_ids,
        }
    )

    # people: how many roles each holds: 1 for most, a heavy tail up to a few hundred
    n_people = int(people * n)
    extra = np.minimum(rng.zipf(2.5, n_people) - 1, 300)
    per_person = 1 + extra
    target = int(roles * n)
    # scale the tail so the roles add up to about the target
    while per_person.sum() < target:
        bump = rng.random(n_people) < (target - per_person.sum()) / n_people
        per_person += bump
    person = np.repeat(np.arange(n_people), per_person)
    m = len(person)
    # a person's roles: the first in a random enterprise; each further one in the same
    # enterprise (another role there, 35%), or in one near it (same district: ids close
    # by, 45%), or anywhere (20%)
    first = np.repeat(rng.integers(0, n, n_people), per_person)
    k = np.arange(m) - np.repeat(np.cumsum(per_person) - per_person, per_person)
    v = rng.random(m)
    near = (first + rng.integers(-2000, 2000, m)) % n
    anywhere = rng.integers(0, n, m)
    ent = np.where(k == 0, first, np.where(v < 0.35, first, np.where(v < 0.8, near, anywhere)))
    role = rng.choice(len(ROLE_NAMES), m, p=ROLE_SHARES)
    start = registered[ent] + rng.integers(0, 2000, m)
    start = np.minimum(start, span - 5)
    published = start + rng.integers(0, 30, m)
    ended = rng.random(m) < 0.3
    end = start + rng.integers(30, 3000, m)
    order = rng.permutation(m)  # rows in no particular order
    roles_frame = pd.DataFrame(
        {
            "person_id": _ids("P", person[order], 8),
            "entity_id": ent_ids[ent[order]],
            "role": pd.Categorical.from_codes(role[order], ROLE_NAMES),
            "from_on": _dates(start[order]),
            "to_on": _dates(end[order], ~ended[order] | (end[order] >= span)),
            "published_on": _dates(published[order]),
        }
    )

    # changes: 0.35 address changes per enterprise (from an address to another; 8% lack
    # the old value, 3% the new one), and as many changes of other kinds
    n_moves = int(0.35 * n)
    mover = rng.integers(0, n, n_moves)
    day = np.minimum(registered[mover] + rng.integers(30, 3000, n_moves), span - 1)
    old = np.where(rng.random(n_moves) < 0.7, address[mover], rng.integers(0, 3 * n, n_moves))
    new = rng.integers(0, 3 * n, n_moves)
    new = np.where(rng.random(n_moves) < 0.5, address[mover], new)
    old_ids = _ids("A", old, 8)
    old_ids[rng.random(n_moves) < 0.08] = None
    new_ids = _ids("A", new, 8)
    new_ids[rng.random(n_moves) < 0.03] = None
    n_other = int(0.35 * n)
    other_ent = rng.integers(0, n, n_other)
    other_day = np.minimum(registered[other_ent] + rng.integers(30, 3000, n_other), span - 1)
    kinds = np.r_[np.full(n_moves, 1), rng.choice([0, 2, 3], n_other)]
    all_ent = np.r_[mover, other_ent]
    all_day = np.r_[day, other_day]
    changes = pd.DataFrame(
        {
            "entity_id": ent_ids[all_ent],
            "kind": pd.Categorical.from_codes(kinds, KINDS),
            "changed_on": _dates(all_day),
            "published_on": _dates(all_day + rng.integers(0, 40, len(all_ent))),
            "old_value": np.r_[old_ids, np.full(n_other, None, dtype=object)],
            "new_value": np.r_[new_ids, np.full(n_other, None, dtype=object)],
        }
    )

    # list entries: 0.21 per enterprise, more in shell clusters; half removed later
    weight = np.where(shell, 8.0, 1.0)
    n_lists = int(0.21 * n)
    listed_ent = rng.choice(n, n_lists, p=weight / weight.sum())
    listed = np.minimum(registered[listed_ent] + rng.integers(200, 3500, n_lists), span - 1)
    removed = listed + rng.integers(30, 1500, n_lists)
    list_entries = pd.DataFrame(
        {
            "entity_id": ent_ids[listed_ent],
            "list": pd.Categorical.from_codes(
                rng.choice(len(LIST_NAMES), n_lists, p=LIST_SHARES), LIST_NAMES
            ),
            "listed_on": _dates(listed),
            "removed_on": _dates(removed, (rng.random(n_lists) < 0.5) | (removed >= span)),
        }
    )

    # penalties: 0.21 per enterprise
    n_pen = int(0.21 * n)
    pen_ent = rng.choice(n, n_pen, p=weight / weight.sum())
    decided = np.minimum(registered[pen_ent] + rng.integers(30, 3500, n_pen), span - 1)
    penalties = pd.DataFrame(
        {
            "entity_id": ent_ids[pen_ent],
            "decided_on": _dates(decided),
            "published_on": _dates(decided + rng.integers(1, 60, n_pen)),
            "severity": pd.Categorical.from_codes(rng.integers(0, 4, n_pen), SEVERITIES),
        }
    )
    return {
        "enterprises": enterprises,
        "roles": roles_frame,
        "changes": changes,
        "list_entries": list_entries,
        "penalties": penalties,
    }
