"""The related-party features written plainly with pandas merges and groupbys.

The reference side of ``bench_relations.py`` and of ``tests/test_relations_reference.py``:
the same 7 features as :mod:`creditrisk.features.relations`, with the semantics of its
module text, computed the way one would write them in pandas without sparse matrices:
merge the roles with themselves on the person, drop duplicate pairs, merge the linked
enterprises' states in, group by enterprise and count.

An empty date is "later than every date" (as in :mod:`creditrisk.features.source`): an
empty ``to_on`` or ``removed_on`` never ends a role or a listing, an empty
``registered_on`` counts as registered, an empty ``published_on`` is never known.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAMES = [
    "linked_enterprises",
    "linked_on_list",
    "linked_penalised_3y",
    "linked_deregistered_young",
    "person_serious_history",
    "address_cluster_size",
    "address_cluster_abnormal",
]


def _day(col: pd.Series) -> pd.Series:
    """Dates as whole days (a time of day dropped), NaT kept."""
    return pd.to_datetime(col).dt.floor("D")


def _before(col: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Known before as_of: a date earlier than it (an empty date never is)."""
    return (_day(col) < as_of).fillna(False).astype(bool)


def _table(tables, name: str) -> pd.DataFrame:
    frame = getattr(tables, name)
    return frame if frame is not None else pd.DataFrame()


def relations(tables, as_of) -> pd.DataFrame:
    """The 7 related-party features of every enterprise of ``tables`` at ``as_of``.

    Returns a frame indexed by ``entity_id`` (in the order of ``enterprises``), one int64
    column per feature.
    """
    as_of = pd.Timestamp(as_of).normalize()
    ents = tables.enterprises[["entity_id"]].copy()
    ents["entity_id"] = ents["entity_id"].astype(str)
    ents = ents.drop_duplicates("entity_id")  # the first row of an id is the enterprise
    ent = tables.enterprises.drop_duplicates("entity_id")
    registered = _day(ent["registered_on"])
    gone = _day(ent["deregistered_on"])
    state = pd.DataFrame({"entity_id": ents["entity_id"].to_numpy()})
    state["known"] = ~(registered >= as_of).fillna(False).to_numpy(dtype=bool)
    state["alive"] = state["known"] & ~_before(ent["deregistered_on"], as_of).to_numpy()
    state["young"] = (
        _before(ent["deregistered_on"], as_of)
        & ((gone - registered).dt.days <= 365).fillna(False).astype(bool)
    ).to_numpy()

    # listings and penalties, per enterprise
    lists = _table(tables, "list_entries")
    lists = lists[lists["entity_id"].astype(str).isin(state["entity_id"])]
    lists = lists.assign(entity_id=lists["entity_id"].astype(str))
    known = lists[_before(lists["listed_on"], as_of)]
    now = known[~_before(known["removed_on"], as_of)]
    serious = (now["list"] == "serious_illegal").fillna(False).astype(bool)
    flags = {
        "on_list": now["entity_id"],
        "abnormal": now.loc[~serious.to_numpy(), "entity_id"],
        "serious_ever": known.loc[
            (known["list"] == "serious_illegal").fillna(False).astype(bool).to_numpy(),
            "entity_id",
        ],
    }
    pen = _table(tables, "penalties")
    pen = pen.assign(entity_id=pen["entity_id"].astype(str))
    cutoff = as_of - pd.Timedelta(days=3 * 365)
    decided = _day(pen["decided_on"])
    recent = _before(pen["published_on"], as_of) & (decided.isna() | (decided >= cutoff))
    flags["penalised"] = pen.loc[recent.to_numpy(), "entity_id"]
    for name, ids in flags.items():
        state[name] = state["entity_id"].isin(ids.drop_duplicates())

    # roles holding on as_of, between enterprises registered by then
    roles = _table(tables, "roles")
    roles = roles.assign(entity_id=roles["entity_id"].astype(str)).dropna(subset=["person_id"])
    roles = roles.merge(state[["entity_id", "known"]], on="entity_id", how="inner")
    published = _before(roles["published_on"], as_of)
    current = roles[published & ~_before(roles["to_on"], as_of)]
    holds = current.loc[current["known"], ["person_id", "entity_id"]].drop_duplicates()
    pairs = holds.merge(holds, on="person_id", suffixes=("", "_linked"))
    pairs = pairs.loc[pairs["entity_id"] != pairs["entity_id_linked"]]
    pairs = pairs[["entity_id", "entity_id_linked"]].drop_duplicates()
    linked_state = state[["entity_id", "on_list", "penalised", "young"]].rename(
        columns={"entity_id": "entity_id_linked"}
    )
    pairs = pairs.merge(linked_state, on="entity_id_linked", how="left")
    pairs["linked_enterprises"] = 1
    counted = pairs.groupby("entity_id")[
        ["linked_enterprises", "on_list", "penalised", "young"]
    ].sum()
    counted.columns = NAMES[:4]

    # person_serious_history: a current legal representative who was ever (published
    # before as_of) the legal representative of another enterprise on the serious list
    legal = roles[published & (roles["role"] == "legal_representative").fillna(False)]
    led = legal[["person_id", "entity_id"]].drop_duplicates()
    led = led.merge(state[["entity_id", "serious_ever"]], on="entity_id")
    led = led.loc[led["serious_ever"], ["person_id", "entity_id"]]
    now_legal = legal.loc[~_before(legal["to_on"], as_of), ["person_id", "entity_id"]]
    history = now_legal.merge(led, on="person_id", suffixes=("", "_led"))
    history = history.loc[history["entity_id"] != history["entity_id_led"], "entity_id"]
    state["person_serious_history"] = state["entity_id"].isin(history.drop_duplicates())

    # the address on as_of: the last address change known by then (its new value), else
    # the first later one (its old value), else the address at extraction
    address = pd.Series(
        ent["address_id"].astype(object).to_numpy(), index=state["entity_id"], dtype=object
    )
    if "address_id" in ent and ent["address_id"].notna().any():
        changes = _table(tables, "changes")
        changes = changes.assign(
            entity_id=changes["entity_id"].astype(str), row=np.arange(len(changes))
        )
        moves = changes[
            (changes["kind"] == "address").fillna(False).astype(bool)
            & changes["entity_id"].isin(state["entity_id"])
        ]
        moves = moves.assign(day=_day(moves["changed_on"]), pub=_day(moves["published_on"]))
        before = _before(moves["published_on"], as_of)
        later = moves[~before & moves["old_value"].notna()]
        # the earliest later change (by day, then publication; the last row of a tie)
        later = later.sort_values(["day", "pub", "row"], ascending=[True, True, False])
        first_later = later.groupby("entity_id").first()["old_value"]
        done = moves[before & moves["new_value"].notna()]
        done = done.sort_values(["day", "pub", "row"])
        last_done = done.groupby("entity_id").last()["new_value"]
        address.loc[first_later.index] = first_later.astype(object).to_numpy()
        address.loc[last_done.index] = last_done.astype(object).to_numpy()
        at = pd.DataFrame({"entity_id": state["entity_id"], "address": address.to_numpy()}).merge(
            state[["entity_id", "alive", "abnormal"]], on="entity_id"
        )
        here = at[at["alive"] & at["address"].notna()]
        per_address = here.groupby("address").agg(
            address_cluster_size=("alive", "size"), abnormal_here=("abnormal", "sum")
        )
        at = at.merge(per_address, left_on="address", right_index=True, how="left")
        at["address_cluster_size"] = at["address_cluster_size"].fillna(0)
        mine = at["alive"] & at["address"].notna() & at["abnormal"]
        at["address_cluster_abnormal"] = at["abnormal_here"].fillna(0) - mine
        clusters = at.set_index("entity_id")[["address_cluster_size", "address_cluster_abnormal"]]
    else:
        clusters = pd.DataFrame(
            0,
            index=state["entity_id"],
            columns=["address_cluster_size", "address_cluster_abnormal"],
        )

    out = state.set_index("entity_id")[["person_serious_history"]]
    out = out.join(counted).join(clusters)
    return out[NAMES].fillna(0).astype(np.int64)
