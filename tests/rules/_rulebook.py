"""Hand-made registers for the rule book: the smallest tables that exercise one rule.

Every builder returns plain rows; :func:`register` turns them into validated
EventTables with an anchor entity that keeps the data span 2000-01-01 .. 2026-12-31,
so any as-of date in between is allowed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

import creditrisk as cr
from creditrisk.data.schema import TABLE_NAMES, empty_table

ANCHOR_SPAN = ("2000-01-01", "2026-12-31")


def enterprise(entity_id: str, registered_on: str = "2015-01-01", **overrides) -> dict:
    row = {
        "entity_id": entity_id,
        "entity_type": "company",
        "industry": "retail",
        "key_sector": "none",
        "region": "district_01",
        "registered_capital": 1_000_000.0,
        "registered_on": registered_on,
        "deregistered_on": None,
    }
    row.update(overrides)
    return row


def report(entity_id: str, year: int, filed_on: str | None) -> dict:
    return {"entity_id": entity_id, "report_year": year, "filed_on": filed_on}


def penalty(
    penalty_id: str,
    entity_id: str,
    decided: str,
    published: str,
    *,
    severity: str = "general",
    measure: str = "fine",
    fine: float = 200_000.0,
    category: str = "pricing",
    ends: str | None = None,
    restored: str | None = None,
) -> dict:
    return {
        "penalty_id": penalty_id,
        "entity_id": entity_id,
        "decided_on": decided,
        "published_on": published,
        "severity": severity,
        "measure": measure,
        "fine_amount": fine,
        "category": category,
        "disclosure_ends_on": ends,
        "restored_on": restored,
    }


def inspection(
    inspection_id: str,
    entity_id: str,
    inspected: str,
    *,
    kind: str = "random",
    outcome: str = "compliant",
    inspectors: tuple[str, str] = ("I1", "I2"),
) -> dict:
    day = pd.Timestamp(inspected)
    return {
        "inspection_id": inspection_id,
        "entity_id": entity_id,
        "inspected_on": inspected,
        "kind": kind,
        "outcome": outcome,
        "inspector_1": inspectors[0],
        "inspector_2": inspectors[1],
        "published_on": str((day + pd.Timedelta(days=7)).date()),
    }


def entry(
    entry_id: str,
    entity_id: str,
    which: str,
    reason: str,
    listed: str,
    removed: str | None = None,
    removal: str | None = None,
) -> dict:
    return {
        "entry_id": entry_id,
        "entity_id": entity_id,
        "list": which,
        "reason": reason,
        "listed_on": listed,
        "removed_on": removed,
        "removal_reason": removal,
    }


def register(enterprises: list[dict], **events: list[dict]) -> cr.EventTables:
    """Validated EventTables from rows, plus the anchor entity, whose registration and
    last inspection (a compliant one of another programme, published on the span's last
    day) make the data, and the labels' source, run across ANCHOR_SPAN."""
    anchor = enterprise("ANCHOR", ANCHOR_SPAN[0], deregistered_on=ANCHOR_SPAN[1])
    frames = {"enterprises": pd.DataFrame([anchor, *enterprises])}
    last = str((pd.Timestamp(ANCHOR_SPAN[1]) - pd.Timedelta(days=7)).date())
    watch = inspection("ANCHOR-LAST", "ANCHOR", last, kind="other")
    events = {**events, "inspections": [*events.get("inspections", []), watch]}
    for table in TABLE_NAMES[1:]:
        rows = events.get(table, [])
        frames[table] = pd.DataFrame(rows) if rows else empty_table(table)
    return cr.EventTables(**frames).validate()


def features(tables: cr.EventTables, entity_id: str, as_of: str, policy=None) -> pd.DataFrame:
    """The entity's feature row on ``as_of`` (one-row DataFrame), under ``policy``."""
    spec = (policy or cr.Policy.load("national")).feature_spec()
    # the whole catalogue, whatever the small register holds
    spec = dataclasses.replace(spec, features=tuple(f.name for f in cr.features.CATALOGUE))
    spine = cr.spine(tables, as_of)
    X = cr.build_features(tables, spine[spine["entity_id"] == entity_id], spec)
    assert len(X) == 1, f"{entity_id} is not registered on {as_of}"
    return X.reset_index(drop=True)


def scores(rows: list[tuple[str, str, str]], probability: float = 0.2) -> pd.DataFrame:
    """Scores for planning from (entity_id, tier, key_sector) rows, all in region district_01."""
    frame = pd.DataFrame(rows, columns=["entity_id", "tier", "key_sector"])
    frame["tier"] = pd.Categorical(frame["tier"], categories=list("ABCD"), ordered=True)
    frame["probability"] = np.float64(probability)
    frame["region"] = "district_01"
    return frame


def inspectors(
    n: int = 6, speciality: dict[str, str] | None = None
) -> cr.inspection.InspectorRegister:
    """``n`` inspectors I1..In of region district_01 (general unless ``speciality`` says)."""
    ids = [f"I{i}" for i in range(1, n + 1)]
    kinds = [(speciality or {}).get(i, "general") for i in ids]
    frame = pd.DataFrame({"inspector_id": ids, "region": "district_01", "speciality": kinds})
    return cr.inspection.InspectorRegister(frame)


def policy_with(name: str = "national", **sections) -> cr.Policy:
    """A shipped policy with some settings of some sections replaced."""
    data = cr.Policy.load(name).to_dict()
    for section, values in sections.items():
        data[section] = {**data.get(section, {}), **values}
    return cr.Policy.from_dict(data)
