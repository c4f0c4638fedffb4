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

The links are sparse matrices (enterprise x person times person x enterprise), and ids
are coded by pyarrow's hashing, so a register of a million enterprises and three million
roles takes a few seconds (``benchmarks/bench_relations.py``). These features read other
enterprises: they are computed on the whole register: a part of it (a subset, a chunk)
reads the whole register it carries (``EventTables.whole``), and refuses them without it
when it holds roles or addresses. The whole register's features are computed once per
as-of date and reused by every part that carries the same whole register (the last
few dates of the last whole register are kept, and dropped with it); its tables must not
be changed in place meanwhile.

Examples
--------
>>> [f.name for f in FEATURES][:2]
['linked_enterprises', 'linked_on_list']
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
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
        and does not carry the whole register: the linked enterprises may lie outside;
        or an enterprise of the part is not in the whole register it carries.

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
            at = src.cached(
                ("relations", "in whole"),
                lambda: _in_whole(whole, src.tables.enterprises["entity_id"]),
            )[pos]
            if (at < 0).any():
                raise ValueError(
                    "an enterprise of the part is not in the whole register it carries"
                )
            values = _whole_values(
                whole, as_of, lambda: src.cached(("relations", "whole"), lambda: Source(whole))
            )
            return {name: values[name][at].astype(np.int64) for name in _NAMES}
        if len(src.tables.roles) or src.tables.enterprises["address_id"].notna().any():
            raise ValueError(
                "related-party features (linked_*, address_cluster_*) read other "
                "enterprises: compute them on the whole register, or on a part that "
                "carries it (EventTables.part_of(whole))"
            )
    values = _values(src, as_of)
    return {name: values[name][pos].astype(np.int64) for name in _NAMES}


_NAMES = [f.name for f in FEATURES]
#: the whole register's features of its last few as-of dates (parts read them)
_KEEP_DATES = 4
_LOCK = threading.Lock()
_WHOLE: dict = {"ref": None, "frames": None, "dates": OrderedDict(), "index": None}
_READS = ("enterprises", "roles", "changes", "list_entries", "penalties")


def _frames(tables) -> tuple:
    """The identity and length of each table these features read."""
    return tuple(
        (id(frame), len(frame))
        for frame in (getattr(tables, name, None) for name in _READS)
        if frame is not None
    )


def _forget(ref) -> None:
    """The whole register is gone: drop what was kept of it (the garbage collector calls
    this)."""
    if _WHOLE["ref"] is ref:
        _WHOLE.update(dates=OrderedDict(), index=None)


def _kept(whole) -> dict:
    """What is kept of ``whole`` (call with the lock held): emptied first if ``whole``
    is not the register kept (by identity: a weak reference, so a register no longer used
    is not kept alive, and another register never reads what was kept of one)."""
    ref = _WHOLE["ref"]
    if ref is None or ref() is not whole or _WHOLE["frames"] != _frames(whole):
        _WHOLE.update(
            ref=weakref.ref(whole, _forget),
            frames=_frames(whole),
            dates=OrderedDict(),
            index=None,
        )
    return _WHOLE


def _in_whole(whole, ids: pd.Series) -> np.ndarray:
    """Positions of ``ids`` in ``whole.enterprises`` (-1 where absent); the whole
    register's ids are hashed once for all its parts (pyarrow hashes them on every call)."""
    with _LOCK:
        kept = _kept(whole)
        if kept["index"] is None:
            index = pd.Index(whole.enterprises["entity_id"].astype("str"))
            kept["index"] = index if index.is_unique else False
        if kept["index"] is False:  # a repeated id: its first row, as positions() gives
            return positions(ids, whole.enterprises["entity_id"])
        return kept["index"].get_indexer(ids.astype("str")).astype(np.int64)


def _whole_values(whole, as_of: int, source) -> dict:
    """Features of every enterprise of ``whole`` as of one day, computed once per day
    for its last ``_KEEP_DATES`` as-of dates. ``source()`` gives its Source when needed."""
    with _LOCK:
        dates = _kept(whole)["dates"]
        if as_of in dates:
            dates.move_to_end(as_of)
        else:
            dates[as_of] = _values(source(), as_of)
            while len(dates) > _KEEP_DATES:
                dates.popitem(last=False)
        return dates[as_of]


def _values(src: Source, as_of: int) -> dict:
    """Every feature of every enterprise of ``src`` as of one day (int32, read-only)."""
    n = src.n
    registered = src.days("enterprises", "registered_on")
    known = _registered(src, as_of)
    gone = src.days("enterprises", "deregistered_on")
    alive = known & ~(gone < as_of)
    on_list, abnormal, serious_ever, penalised = _states(src, as_of)
    young = (gone < as_of) & (gone - registered <= 365) & (registered < FAR)

    out: dict[str, np.ndarray] = {}
    links, linked = _links(src, as_of, n, known)
    # counts of linked enterprises with each state: one pass over the links, less the
    # enterprise itself (every enterprise with a current person links to itself)
    states = np.column_stack([on_list, penalised, young]).astype(np.int32)
    counts = links @ states - states * linked[:, None]
    out["linked_enterprises"] = np.diff(links.indptr) - linked
    out["linked_on_list"] = counts[:, 0]
    out["linked_penalised_3y"] = counts[:, 1]
    out["linked_deregistered_young"] = counts[:, 2]
    out["person_serious_history"] = _serious_history(src, as_of, n, serious_ever)
    size, abnormal_at = _address_clusters(src, as_of, n, alive, abnormal)
    out["address_cluster_size"] = size
    out["address_cluster_abnormal"] = abnormal_at
    values = {}
    for name in _NAMES:
        values[name] = np.ascontiguousarray(out[name], dtype=np.int32)
        values[name].flags.writeable = False
    return values


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


def _text_codes(*columns: pd.Series) -> np.ndarray:
    """Codes of the values of the columns put end to end: equal text, equal code; -1 for
    an empty value (pyarrow's hashing: no Python objects)."""
    parts = []
    for column in columns:
        values = pa.array(column.astype("str").array)
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        parts.append(values.cast(pa.large_string()))
    if not parts or not sum(len(p) for p in parts):
        return np.empty(0, dtype=np.int64)
    coded = pc.dictionary_encode(pa.concat_arrays(parts)).indices
    return coded.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _person_codes(src: Source) -> np.ndarray:
    """Each role's person as a code 0.. (-1: no person)."""
    return src.cached(
        ("roles", "person_id", "codes"), lambda: _text_codes(src.frame("roles")["person_id"])
    )


def _current_roles(src: Source, as_of: int) -> np.ndarray:
    """Rows of roles holding on the as-of date (published before it, not ended)."""
    ent = src.pos("roles")
    holds = (ent >= 0) & (src.days("roles", "published_on") < as_of)
    holds &= ~(src.days("roles", "to_on") < as_of)
    holds &= _person_codes(src) >= 0  # a role without a person links nothing
    return np.flatnonzero(holds)


def _links(src: Source, as_of: int, n: int, known: np.ndarray):
    """Enterprise x enterprise, True where a current person links two (the diagonal
    included), and whether each enterprise has a current person (its diagonal)."""
    rows = _current_roles(src, as_of)
    ent = src.pos("roles")[rows]
    rows, ent = rows[known[ent]], ent[known[ent]]
    person = _person_codes(src)[rows]
    people = int(person.max()) + 1 if len(person) else 0
    ones = np.ones(len(rows), dtype=bool)  # booleans: duplicates and sums are "or"
    holds = sparse.csr_matrix((ones, (ent, person)), shape=(n, people))
    held = sparse.csr_matrix((ones, (person, ent)), shape=(people, n))
    links = holds @ held
    linked = (np.bincount(ent, minlength=n) > 0).astype(np.int32)
    return links, linked


def _serious_history(src: Source, as_of: int, n: int, serious_ever: np.ndarray) -> np.ndarray:
    """1 where a current legal representative led another serious-list enterprise."""
    ent = src.pos("roles")
    person = _person_codes(src)
    legal = src.codes("roles", "role", ROLES) == _LEGAL
    ever = (ent >= 0) & (person >= 0) & legal & (src.days("roles", "published_on") < as_of)
    # per person: the serious-list enterprises they were ever legal representative of
    led = np.flatnonzero(ever)
    led = led[serious_ever[ent[led]]]
    pairs = np.unique(person[led] * np.int64(n) + ent[led])  # one per (person, enterprise)
    serious_led = np.bincount(pairs // max(n, 1), minlength=int(person.max(initial=-1)) + 1)
    current = _current_roles(src, as_of)
    current = current[legal[current]]
    own = serious_ever[ent[current]].astype(np.int64)  # its own listing is not "another"
    flagged = current[serious_led[person[current]] - own > 0]
    return (per_entity(n, ent[flagged]) > 0).astype(np.int64)


def _address_keys(src: Source) -> tuple[np.ndarray, tuple[pd.Series, ...], np.ndarray]:
    """The rows of address changes, the address keys :func:`_address_codes` codes in
    order (the snapshot's, then those changes' old and new keys), and their codes; made
    once per Source (every as-of date shares them)."""

    def make():
        changes = src.frame("changes")
        ent = src.pos("changes")
        kind = src.codes("changes", "kind", CHANGE_KINDS)
        moves = np.flatnonzero((ent >= 0) & (kind == _ADDRESS))
        keys = (
            src.frame("enterprises")["address_id"],
            changes["old_value"].take(moves),
            changes["new_value"].take(moves),
        )
        return moves, keys, _text_codes(*keys)

    return src.cached(("changes", "address keys"), make)


def _registered(src: Source, as_of: int) -> np.ndarray:
    """Enterprises registered before the as-of date (an empty date: registered all along)."""
    registered = src.days("enterprises", "registered_on")
    return (registered < as_of) | (registered == FAR)


def _address_codes(src: Source, as_of: int) -> np.ndarray:
    """Each enterprise's address on the as-of date, as a code (-1: unknown)."""
    moves, _, codes = _address_keys(src)
    ent = src.pos("changes")
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
