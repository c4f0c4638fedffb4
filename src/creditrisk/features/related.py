"""The related enterprises behind one enterprise's related-party features, by name.

An enterprise has the right to know what its tier rests on: when a reason is "2 of the 3
other enterprises its people hold roles in are on the abnormal or serious list", it may
ask which. :func:`related_enterprises` lists, for one entity on one as-of date, each
enterprise its related-party features (:mod:`~creditrisk.features.relations`) counted:
how it is linked (through which person and roles, or the shared address) and what made
it count. It follows exactly the rules of those features, so its counts are theirs (a
test checks it on every entity of a world).

Examples
--------
>>> import creditrisk as cr
>>> w = cr.synth.generate(2_000, "2020-01-01", "2022-12-31", seed=3, indicators=True)
>>> rel = related_enterprises(w.tables, "E0000007", "2022-07-01")
>>> list(rel.columns)[:4]
['entity_id', 'related_id', 'link', 'via']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditrisk.data.keys import positions
from creditrisk.data.schema import LISTS, ROLES
from creditrisk.features.relations import (
    _address_codes,
    _address_keys,
    _current_roles,
    _person_codes,
    _registered,
    _states,
)
from creditrisk.features.source import FAR, Source, to_day

__all__ = ["COUNTS", "related_enterprises"]

#: what makes a related enterprise count, by the feature it counts in
COUNTS = {
    "linked_enterprises": "linked through a person",
    "linked_on_list": "on the abnormal or serious list",
    "linked_penalised_3y": "penalised in the last 3 years",
    "linked_deregistered_young": "deregistered within a year of registering",
    "person_serious_history": "led by its legal representative onto the serious list",
    "address_cluster_size": "registered at the same address",
    "address_cluster_abnormal": "at the same address and on the abnormal list",
}
_LEGAL = ROLES.index("legal_representative")


def related_enterprises(tables, entity_ids: str | Sequence[str], as_of) -> pd.DataFrame:
    """The enterprises some entities' related-party features count, and why each counts.

    Parameters
    ----------
    tables : EventTables
        The register (the whole of it, or a part carrying it: the related enterprises
        may lie anywhere in it).
    entity_ids : str or sequence of str
        The entity, or entities, asked about.
    as_of : date-like
        The as-of date: only what was known before it counts, as for the features.

    Returns
    -------
    pandas.DataFrame
        One row per entity asked about, related enterprise and kind of link, in the
        order asked, then by link and id: ``entity_id`` (the entity asked about),
        ``related_id`` (the related enterprise), ``link`` (``"person"`` or
        ``"address"``), ``via`` (the people and their roles here and there, or the
        address key), ``counts_for`` (the features it counts in, ``"; "``-joined, see
        :data:`COUNTS`) and ``why`` (the same in words, with the list, penalty or
        deregistration date). Empty (same columns) when nothing links them.

    Raises
    ------
    ValueError
        An entity id not in ``enterprises``.

    Examples
    --------
    >>> ent = pd.DataFrame({"entity_id": ["E1", "E2", "E3"],
    ...                     "registered_on": ["2020-01-01"] * 3,
    ...                     "address_id": ["A1", "A1", "A2"]})
    >>> roles = pd.DataFrame({"person_id": ["P1", "P1"], "entity_id": ["E1", "E3"],
    ...     "role": "legal_representative", "from_on": "2020-01-01",
    ...     "published_on": "2020-01-05"})
    >>> import creditrisk as cr
    >>> t = cr.EventTables(enterprises=ent, roles=roles)
    >>> related_enterprises(t, "E1", "2024-07-01")[["related_id", "link", "counts_for"]]
      related_id     link            counts_for
    0         E2  address  address_cluster_size
    1         E3   person    linked_enterprises
    """
    whole = getattr(tables, "whole", None) or tables
    src = Source(whole)
    ids = whole.enterprises["entity_id"].astype("str").to_numpy()
    asked = [str(entity_ids)] if isinstance(entity_ids, str) else [str(e) for e in entity_ids]
    at = positions(pd.Series(asked, dtype="str"), whole.enterprises["entity_id"])
    if (at < 0).any():
        raise ValueError(f"enterprises has no entity_id {asked[int(np.argmax(at < 0))]!r}")
    day = to_day(as_of)
    registered = src.days("enterprises", "registered_on")
    known = _registered(src, day)
    gone = src.days("enterprises", "deregistered_on")
    on_list, abnormal, serious_ever, penalised = _states(src, day)
    young = (gone < day) & (gone - registered <= 365) & (registered < FAR)
    # what every entity asked about reads: made once per call
    current = _current_roles(src, day)
    current = current[known[src.pos("roles")[current]]]
    lists = _lists_now(src, day)
    addresses = src.frame("enterprises")["address_id"].notna().any()
    address = _address_codes(src, day) if addresses else None
    columns = ["entity_id", "related_id", "link", "via", "counts_for", "why"]
    frames = []
    for e in at.tolist():
        rows = _by_person(src, e, day, known, current, lists, on_list, penalised, young)
        rows += _by_serious_history(src, e, day, current, serious_ever)
        if address is not None:
            rows += _by_address(src, e, address, known & ~(gone < day), abnormal)
        if rows:
            one = pd.DataFrame(rows, columns=["position", *columns[2:]])
            one.insert(0, "related_id", ids[one.pop("position").to_numpy()])
            one.insert(0, "entity_id", ids[e])
            frames.append(one.sort_values(["link", "related_id"], kind="stable"))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    return pd.concat(frames, ignore_index=True).astype("str")


def _lists_now(src: Source, day: int) -> dict[int, list[str]]:
    """Per enterprise position: the lists it is on at ``day``, with their dates."""
    ent = src.pos("list_entries")
    listed = src.days("list_entries", "listed_on")
    now = (ent >= 0) & (listed < day) & ~(src.days("list_entries", "removed_on") < day)
    which = src.codes("list_entries", "list", LISTS)
    out: dict[int, list[str]] = {}
    for r in np.flatnonzero(now):
        out.setdefault(int(ent[r]), []).append(
            f"{LISTS[which[r]].replace('_', ' ')} list since {_date(listed[r])}"
        )
    return out


def _by_person(src, e, day, known, current, lists, on_list, penalised, young):
    """The enterprises linked to ``e`` through a current person (``current`` roles)."""
    if not known[e] or not len(current):
        return []
    ent = src.pos("roles")
    person = _person_codes(src)
    roles = src.codes("roles", "role", ROLES)
    names = _person_names(src)
    here = current[ent[current] == e]
    people = np.unique(person[here])
    theirs = current[np.isin(person[current], people) & (ent[current] != e)]
    out = []
    for other in np.unique(ent[theirs]):
        links = theirs[ent[theirs] == other]
        via = "; ".join(
            f"{names[r]} ({_role(roles, here[person[here] == person[r]])} here, "
            f"{_role(roles, links[person[links] == person[r]])} there)"
            for r in links[np.unique(person[links], return_index=True)[1]]
        )
        counts, why = ["linked_enterprises"], [COUNTS["linked_enterprises"]]
        if on_list[other]:
            counts.append("linked_on_list")
            why.append("on the " + ", ".join(lists.get(int(other), ["a list"])))
        if penalised[other]:
            counts.append("linked_penalised_3y")
            why.append(COUNTS["linked_penalised_3y"])
        if young[other]:
            counts.append("linked_deregistered_young")
            why.append(
                f"deregistered on {_date(src.days('enterprises', 'deregistered_on')[other])}"
            )
        out.append((int(other), "person", via, "; ".join(counts), "; ".join(why)))
    return out


def _by_serious_history(src, e, day, current, serious_ever):
    """What a current legal representative of ``e`` ever led onto the serious list."""
    ent = src.pos("roles")
    person = _person_codes(src)
    roles = src.codes("roles", "role", ROLES)
    names = _person_names(src)
    here = current[ent[current] == e]
    legal_here = here[roles[here] == _LEGAL]
    out = []
    led = np.flatnonzero((ent >= 0) & (roles == _LEGAL) & (src.days("roles", "published_on") < day))
    led = led[np.isin(person[led], person[legal_here]) & (ent[led] != e)]
    led = led[serious_ever[ent[led]]]
    for other in np.unique(ent[led]):
        who = sorted({names[r] for r in led[ent[led] == other]})
        out.append(
            (
                int(other),
                "person",
                "; ".join(f"{p} (legal representative here and there)" for p in who),
                "person_serious_history",
                COUNTS["person_serious_history"],
            )
        )
    return out


def _by_address(src, e, address, alive, abnormal):
    """The enterprises alive at ``e``'s address (``address``: codes on the day)."""
    if address[e] < 0 or not alive[e]:
        return []
    key = _address_key(src, int(address[e]))
    out = []
    for other in np.flatnonzero(alive & (address == address[e])):
        if other == e:
            continue
        counts, why = ["address_cluster_size"], [COUNTS["address_cluster_size"]]
        if abnormal[other]:
            counts.append("address_cluster_abnormal")
            why.append("on the abnormal list")
        out.append((int(other), "address", key, "; ".join(counts), "; ".join(why)))
    return out


def _address_key(src: Source, code: int) -> str:
    """The register's key of an address code of :func:`relations._address_codes`."""
    _, keys, codes = _address_keys(src)
    at = int(np.flatnonzero(codes == code)[0])
    for column in keys:  # the position's key, in the column it falls in
        if at < len(column):
            return str(column.iloc[at])
        at -= len(column)
    raise AssertionError("an address code without a key")  # pragma: no cover


def _person_names(src: Source) -> np.ndarray:
    """Each role's person id as text, made once per Source."""
    return src.cached(
        ("roles", "person_id", "text"),
        lambda: src.frame("roles")["person_id"].astype("str").to_numpy(),
    )


def _role(roles: np.ndarray, rows: np.ndarray) -> str:
    return ", ".join(sorted({ROLES[roles[r]].replace("_", " ") for r in rows}))


def _date(day) -> str:
    return str(np.datetime64(int(day), "D"))
