"""Related-party features: the enterprises linked to one through a person or an address.

A person links two enterprises while both roles hold on the as-of date: published
before it and not ended before it (an end is known on ``to_on``). A linked enterprise
counts once registered before the as-of date, whatever happened to it since, and its
listings, penalties and deregistration count as any feature counts them (known before
the as-of date). The address of an enterprise on the as-of date is the new address of
its last address change known by then, else the old address of its first later change,
else ``enterprises.address_id`` (the address at extraction); a change that does not
record the address needed is passed over. Enterprises registered and not deregistered
on the as-of date make up its address's cluster.

The links are sparse matrices (person x enterprise, then enterprise x enterprise), so a
register of millions of roles takes seconds. These features read other enterprises:
they are computed on the whole register: a part of it (a subset, a chunk) reads the
whole register it carries (``EventTables.whole``), and refuses them without it when it
holds roles or addresses.

Examples
--------
>>> [f.name for f in FEATURES][:2]
['linked_enterprises', 'linked_on_list']
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse

from creditrisk.data.keys import positions
from creditrisk.data.schema import CHANGE_KINDS, LISTS, ROLES
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.source import FAR, Source, per_entity

__all__ = ["FEATURES", "compute"]

FEATURES = [
    Feature(
        "linked_enterprises",
        "roles",
        "as of",
        "Other enterprises in which its current people (legal representative, "
        "shareholders, managers) hold a current role.",
        kind="count",
        role="context",
    ),
    Feature(
        "linked_on_list",
        "roles",
        "as of",
        "Of those linked enterprises, how many are on the abnormal or serious list.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "linked_penalised_3y",
        "roles",
        "3 years",
        "Of those linked enterprises, how many were penalised in the last 3 years.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "linked_deregistered_young",
        "roles",
        "as of",
        "Of those linked enterprises, how many were deregistered within a year of registering.",
        monotone=1,
        kind="count",
    ),
    Feature(
        "person_serious_history",
        "roles",
        "all time",
        "1 if a current legal representative was the legal representative of another "
        "enterprise put on the serious illegal and dishonest list.",
        monotone=1,
        kind="flag",
    ),
    Feature(
        "address_cluster_size",
        "enterprises",
        "as of",
        "Enterprises registered at its address on the as-of date, itself included "
        "(0: address unknown).",
        monotone=1,
        kind="count",
    ),
    Feature(
        "address_cluster_abnormal",
        "enterprises",
        "as of",
        "Other enterprises at its address on the abnormal list on the as-of date.",
        monotone=1,
        kind="count",
    ),
]

_SERIOUS = LISTS.index("serious_illegal")
_LEGAL = ROLES.index("legal_representative")
_ADDRESS = CHANGE_KINDS.index("address")
_THREE_YEARS = 3 * 365


def compute(src: Source, pos: np.ndarray, as_of: int, spec: FeatureSpec) -> dict:
    """Related-party features of some entities as of one day (see the module text).

    Parameters
    ----------
    src : Source
        The whole register's arrays (:class:`~creditrisk.features.source.Source`).
    pos : numpy.ndarray
        Positions in ``enterprises`` of the entities wanted, one per output row.
    as_of : int
        The as-of date in days since 1970-01-01; only what was known before it counts.
    spec : FeatureSpec
        Unused: these features take no setting.

    Returns
    -------
    dict
        Each name of :data:`FEATURES`, in order → int64 values, one per position.

    Raises
    ------
    ValueError
        The tables are a part of a register (a chunk) that holds roles or addresses
        and does not carry the whole register: the linked enterprises may lie outside.

    Examples
    --------
    >>> import creditrisk as cr
    >>> from creditrisk.features.source import Source, to_day
    >>> ent = pd.DataFrame({"entity_id": ["E1", "E2"], "registered_on": ["2020-01-01"] * 2,
    ...                     "address_id": ["A1", "A1"]})
    >>> roles = pd.DataFrame({"person_id": ["P1", "P1"], "entity_id": ["E1", "E2"],
    ...     "role": "legal_representative", "from_on": "2020-01-01",
    ...     "published_on": "2020-01-05"})
    >>> t = cr.EventTables(enterprises=ent, roles=roles)
    >>> out = compute(Source(t), np.array([0, 1]), to_day("2024-07-01"), FeatureSpec())
    >>> out["linked_enterprises"].tolist(), out["address_cluster_size"].tolist()
    ([1, 1], [2, 2])
    """
    if getattr(src.tables, "is_part", False):
        whole = getattr(src.tables, "whole", None)
        if whole is not None:  # the whole register rides along: read it
            ids = src.tables.enterprises["entity_id"].to_numpy()[pos]
            everything = src.cached(("relations", "whole"), lambda: Source(whole))
            at = positions(pd.Series(ids, dtype="str"), whole.enterprises["entity_id"])
            return compute(everything, at, as_of, spec)
        if len(src.tables.roles) or src.tables.enterprises["address_id"].notna().any():
            raise ValueError(
                "related-party features (linked_*, address_cluster_*) read other "
                "enterprises: compute them on the whole register, or on a part that "
                "carries it (EventTables.part_of(whole))"
            )
    n = src.n
    registered = src.days("enterprises", "registered_on")
    known = (registered < as_of) | (registered == FAR)  # empty: registered all along
    gone = src.days("enterprises", "deregistered_on")
    alive = known & ~(gone < as_of)
    on_list, abnormal, serious_ever, penalised = _states(src, as_of)
    young = (gone < as_of) & (gone - registered <= 365) & (registered < FAR)

    out: dict[str, np.ndarray] = {}
    links = _links(src, as_of, n, known)
    out["linked_enterprises"] = np.diff(links.indptr)
    out["linked_on_list"] = links @ on_list.astype(np.int64)
    out["linked_penalised_3y"] = links @ penalised.astype(np.int64)
    out["linked_deregistered_young"] = links @ young.astype(np.int64)
    out["person_serious_history"] = _serious_history(src, as_of, n, serious_ever)
    size, abnormal_at = _address_clusters(src, as_of, n, alive, abnormal)
    out["address_cluster_size"] = size
    out["address_cluster_abnormal"] = abnormal_at
    return {f.name: np.asarray(out[f.name], dtype=np.int64)[pos] for f in FEATURES}


def _states(src: Source, as_of: int):
    """Per enterprise: on a list now, on the abnormal list now, ever put on the serious
    list, penalised (published) in the 3 years before as_of."""
    n = src.n
    ent = src.pos("list_entries")
    listed = src.days("list_entries", "listed_on")
    which = src.codes("list_entries", "list", LISTS)
    known = (ent >= 0) & (listed < as_of)
    now = known & ~(src.days("list_entries", "removed_on") < as_of)
    on_list = per_entity(n, ent[now]) > 0
    abnormal = per_entity(n, ent[now & (which != _SERIOUS)]) > 0
    serious_ever = per_entity(n, ent[known & (which == _SERIOUS)]) > 0
    ent = src.pos("penalties")
    recent = (ent >= 0) & (src.days("penalties", "published_on") < as_of)
    recent &= src.days("penalties", "decided_on") >= as_of - _THREE_YEARS
    return on_list, abnormal, serious_ever, per_entity(n, ent[recent]) > 0


def _person_codes(src: Source) -> np.ndarray:
    return src.cached(
        ("roles", "person_id", "codes"),
        lambda: pd.factorize(src.frame("roles")["person_id"])[0].astype(np.int64),
    )


def _incidence(src: Source, rows: np.ndarray, n: int) -> sparse.csr_matrix:
    """Person x enterprise, 1 where the person holds one of ``rows``' roles in it."""
    person = _person_codes(src)
    people = int(person.max()) + 1 if len(person) else 0
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int64), (person[rows], src.pos("roles")[rows])),
        shape=(people, n),
    )
    matrix.data[:] = 1  # duplicates summed: one link however many roles
    return matrix


def _current_roles(src: Source, as_of: int) -> np.ndarray:
    """Rows of roles holding on the as-of date (published before it, not ended)."""
    ent = src.pos("roles")
    holds = (ent >= 0) & (src.days("roles", "published_on") < as_of)
    holds &= ~(src.days("roles", "to_on") < as_of)
    return np.flatnonzero(holds)


def _links(src: Source, as_of: int, n: int, known: np.ndarray) -> sparse.csr_matrix:
    """Enterprise x enterprise, 1 where a current person links two (not the diagonal)."""
    rows = _current_roles(src, as_of)
    rows = rows[known[src.pos("roles")[rows]]]
    holds = _incidence(src, rows, n)
    links = (holds.T @ holds).tocsr()
    links = (links - sparse.diags(links.diagonal(), dtype=links.dtype)).tocsr()  # no self-link
    links.eliminate_zeros()
    links.data[:] = 1
    return links


def _serious_history(src: Source, as_of: int, n: int, serious_ever: np.ndarray) -> np.ndarray:
    """1 where a current legal representative led another serious-list enterprise."""
    ent = src.pos("roles")
    legal = src.codes("roles", "role", ROLES) == _LEGAL
    ever = np.flatnonzero((ent >= 0) & legal & (src.days("roles", "published_on") < as_of))
    led = _incidence(src, ever, n)  # person x enterprise: ever legal representative
    serious_led = led @ serious_ever.astype(np.int64)  # per person
    current = _current_roles(src, as_of)
    current = current[legal[current]]
    person = _person_codes(src)[current]
    own = serious_ever[ent[current]].astype(np.int64)  # its own listing is not "another"
    flagged = current[serious_led[person] - own > 0]
    return (per_entity(n, ent[flagged]) > 0).astype(np.int64)


def _address_codes(src: Source, as_of: int) -> np.ndarray:
    """Each enterprise's address on the as-of date, as a code (-1: unknown)."""
    frame = src.frame("enterprises")
    snapshot = frame["address_id"]
    changes = src.frame("changes")
    ent = src.pos("changes")
    moves = np.flatnonzero((ent >= 0) & (src.codes("changes", "kind", CHANGE_KINDS) == _ADDRESS))
    old = changes["old_value"].to_numpy(dtype=object)[moves]
    new = changes["new_value"].to_numpy(dtype=object)[moves]
    codes, _ = pd.factorize(
        np.concatenate([snapshot.to_numpy(dtype=object), old, new]), use_na_sentinel=True
    )
    n = src.n
    address = codes[:n].copy()
    old_code, new_code = codes[n : n + len(moves)], codes[n + len(moves) :]
    if not len(moves):
        return address
    e = ent[moves]
    day = src.days("changes", "changed_on")[moves]
    published = src.days("changes", "published_on")[moves]
    before = published < as_of
    # later changes first, so the earliest one later than as_of writes last; a change
    # without the value needed is passed over (the snapshot, or an earlier one, stands)
    later = np.flatnonzero(~before & (old_code >= 0))
    later = later[np.lexsort((-published[later], -day[later], e[later]))]
    address[e[later]] = old_code[later]
    # then the changes known by as_of, the latest writing last
    known = np.flatnonzero(before & (new_code >= 0))
    known = known[np.lexsort((published[known], day[known], e[known]))]
    address[e[known]] = new_code[known]
    return address


def _address_clusters(src: Source, as_of: int, n: int, alive: np.ndarray, abnormal):
    """Per enterprise: enterprises alive at its address, and the abnormal others."""
    if not src.frame("enterprises")["address_id"].notna().any():
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    address = _address_codes(src, as_of)
    here = alive & (address >= 0)
    slots = int(address.max()) + 1 if len(address) else 0
    size = np.bincount(address[here], minlength=slots)
    flagged = np.bincount(address[here & abnormal], minlength=slots)
    at = np.where(address >= 0, address, 0)
    cluster = np.where(address >= 0, size[at], 0) if slots else np.zeros(n, dtype=np.int64)
    others = np.where(address >= 0, flagged[at], 0) if slots else np.zeros(n, dtype=np.int64)
    others = others - (here & abnormal)
    return cluster, others
