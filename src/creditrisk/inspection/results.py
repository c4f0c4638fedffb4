"""Closing the loop: a plan's published results become ``inspections`` rows.

The next retraining then learns from them: the outcomes of random inspections are
the unbiased labels (``inspection_finding``).

Examples
--------
>>> import pandas as pd
>>> plan = pd.DataFrame({"entity_id": ["E0000001"], "visit": [1],
...     "inspector_1": ["IN0000001"], "inspector_2": ["IN0000002"]})
>>> results = pd.DataFrame({"entity_id": ["E0000001"], "visit": [1],
...     "inspected_on": ["2025-03-02"], "outcome": ["compliant"],
...     "published_on": ["2025-03-20"]})
>>> results_to_inspections(plan, results)[["kind", "inspector_1"]].values.tolist()
[['random', 'IN0000001']]
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

from creditrisk.data.schema import OUTCOMES, coerce_table

__all__ = ["add_results", "read_results", "results_to_inspections"]

_REQUIRED = ("entity_id", "inspected_on", "outcome", "published_on")


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """A results file (parquet or CSV, read as text) as a DataFrame.

    Parameters
    ----------
    path : str or path-like
        A ``.parquet`` file, or any other file read as CSV.

    Returns
    -------
    pandas.DataFrame
        The rows as stored (every CSV column as text), for
        :func:`results_to_inspections`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = Path(d, "results.csv").write_text("entity_id,visit\\n007,1\\n")
    ...     read_results(Path(d, "results.csv")).values.tolist()
    [['007', '1']]
    """
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str)


def results_to_inspections(plan: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``inspections`` rows (kind ``random``) for the plan's visits that have results.

    ``results`` needs entity_id, inspected_on, outcome and published_on, and visit
    when an entity has several visits. The inspectors come from the plan; a result for
    a visit the plan does not hold is refused, naming the rows.

    Parameters
    ----------
    plan : pandas.DataFrame
        The plan (:func:`~creditrisk.inspection.draw.draw`): entity_id, visit and the
        two inspectors.
    results : pandas.DataFrame
        The published results, one row per visit inspected (see above).

    Returns
    -------
    pandas.DataFrame
        Rows of the ``inspections`` table, coerced to the data model; each
        ``inspection_id`` is made from the entity, the visit and the date, so the
        same result gives the same id. When the plan records each entity's
        ``inclusion_probability`` (:func:`~creditrisk.inspection.draw.draw` does), it
        follows as an extra column, so the register keeps the weight
        (``1 / inclusion_probability``) of every random inspection's outcome.

    Raises
    ------
    ValueError
        A column is missing, a result is for no visit of the plan, or an outcome is
        not one of :data:`~creditrisk.data.schema.OUTCOMES`.

    Examples
    --------
    >>> plan = pd.DataFrame({"entity_id": ["E1"], "visit": [1],
    ...     "inspector_1": ["IN1"], "inspector_2": ["IN2"]})
    >>> results = pd.DataFrame({"entity_id": ["E2"], "inspected_on": ["2025-03-02"],
    ...     "outcome": ["compliant"], "published_on": ["2025-03-20"]})
    >>> results_to_inspections(plan, results)
    Traceback (most recent call last):
    ValueError: results: 1 rows are not visits of the plan, e.g. [{'entity_id': 'E2', 'visit': 1}]
    """
    missing = [c for c in _REQUIRED if c not in results.columns]
    if missing:
        raise ValueError(f"results: missing columns {missing}")
    results = results.copy()
    if "visit" not in results.columns:
        results["visit"] = 1
    results["visit"] = pd.to_numeric(results["visit"]).astype("int64")
    results["entity_id"] = results["entity_id"].astype(str)
    carried = [c for c in ("inclusion_probability",) if c in plan.columns]
    keys = plan[["entity_id", "visit", "inspector_1", "inspector_2", *carried]].astype(
        {"entity_id": str, "visit": "int64"}
    )
    merged = results.merge(keys, on=["entity_id", "visit"], how="left", indicator=True)
    orphan = merged["_merge"] == "left_only"
    if orphan.any():
        rows = merged.loc[orphan, ["entity_id", "visit"]].head(5).to_dict("records")
        raise ValueError(
            f"results: {int(orphan.sum())} rows are not visits of the plan, e.g. {rows}"
        )
    bad = ~merged["outcome"].astype(str).isin(OUTCOMES)
    if bad.any():
        rows = merged.loc[bad, ["entity_id", "outcome"]].head(5).to_dict("records")
        raise ValueError(f"results: outcome must be one of {list(OUTCOMES)}; rows {rows}")
    ids = [
        "P" + hashlib.sha256(f"{e}|{v}|{d}".encode()).hexdigest()[:12]
        for e, v, d in zip(
            merged["entity_id"], merged["visit"], merged["inspected_on"], strict=True
        )
    ]
    frame = pd.DataFrame(
        {
            "inspection_id": pd.array(ids, dtype="str"),  # text even when there is none
            "entity_id": merged["entity_id"],
            "inspected_on": merged["inspected_on"],
            "kind": "random",
            "outcome": merged["outcome"].astype(str),
            "inspector_1": merged["inspector_1"],
            "inspector_2": merged["inspector_2"],
            "published_on": merged["published_on"],
        }
    )
    for column in carried:  # an extra column: the register's other rows leave it empty
        frame[column] = merged[column].to_numpy(dtype="float64")
    return coerce_table(frame, "inspections")


def add_results(tables, plan: pd.DataFrame, results: pd.DataFrame):
    """The event tables with the plan's results added to ``inspections``, validated.

    Parameters
    ----------
    tables : EventTables
        The register the plan was drawn for.
    plan : pandas.DataFrame
        The plan.
    results : pandas.DataFrame
        Its published results (:func:`results_to_inspections`).

    Returns
    -------
    EventTables
        New tables; ``tables`` is unchanged.

    Raises
    ------
    ValueError
        A result is already in ``inspections``, or is refused by
        :func:`results_to_inspections`.
    SchemaError
        The new rows break a rule of the data model (an inspection before the
        entity's registration, say).

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> e = t.enterprises.loc[t.enterprises.deregistered_on.isna(), "entity_id"].iloc[0]
    >>> plan = pd.DataFrame({"entity_id": [e], "visit": [1],
    ...     "inspector_1": ["IN0000001"], "inspector_2": ["IN0000002"]})
    >>> res = pd.DataFrame({"entity_id": [e], "inspected_on": ["2025-03-02"],
    ...     "outcome": ["issues_found"], "published_on": ["2025-03-20"]})
    >>> len(add_results(t, plan, res).inspections) == len(t.inspections) + 1
    True
    >>> add_results(add_results(t, plan, res), plan, res)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: results: already in the inspections table: ...
    """
    new = results_to_inspections(plan, results)
    clash = new["inspection_id"].isin(tables.inspections["inspection_id"].astype(str))
    if clash.any():
        rows = new.loc[clash, ["entity_id", "inspected_on"]].head(5).to_dict("records")
        raise ValueError(f"results: already in the inspections table: {rows}")
    combined = pd.concat([tables.inspections, new], ignore_index=True)
    return tables.replace(inspections=combined).validate()
