"""Featuretools' deep feature synthesis on the sample, at one as-of date (helper).

Run by ``bench_features.py`` with the Python of its own virtual environment
(``benchmarks/.venv-featuretools``: featuretools does not run beside pandas 3), never
imported by creditrisk. Reads the event tables and the spine's entity ids as parquet
files from ``--data``, builds an EntitySet whose event dataframes have their KNOWN date
as time index (later-known columns behind a secondary time index), runs ``ft.dfs``
with a cutoff time of ``--as-of`` for every entity (``include_cutoff_time=False``: only
data known strictly before as_of, as in creditrisk), then the penalty and inspection
features again over 365- and 1095-day training windows. Prints one JSON line: wall
times (EntitySet + dfs, no file reading), feature counts and package versions; writes
the feature matrix to ``--out`` if given.

Usage::

    benchmarks/.venv-featuretools/bin/python benchmarks/_featuretools_dfs.py \\
        --data DIR --as-of 2024-07-01 [--out matrix.parquet]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
import warnings
from importlib.metadata import version
from typing import ClassVar

warnings.filterwarnings("ignore")  # pkg_resources, woodwork and pandas chatter

import featuretools as ft  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from featuretools.primitives import AggregationPrimitive, TimeSince  # noqa: E402
from woodwork.column_schema import ColumnSchema  # noqa: E402
from woodwork.logical_types import Datetime, Double  # noqa: E402

TABLES = ("enterprises", "penalties", "inspections", "list_entries", "annual_reports", "licenses")
SEVERITIES = ["warning", "minor", "general", "serious"]
KINDS = ["random", "targeted", "complaint", "joint"]
OUTCOMES = ["compliant", "issues_found", "not_found_at_address"]
LISTS = ["abnormal_operation", "abnormal_mark", "serious_illegal"]
WINDOWS = {"365d": "365 days", "1095d": "1095 days"}


class DaysSinceLatest(AggregationPrimitive):
    """Days from the latest value of a datetime column to the cutoff time.

    Featuretools' own TIME_SINCE_LAST only reads the time index (here the date a record
    became known); this one reads the event date (decided_on, inspected_on), which is
    what creditrisk's ``*_days_since_last`` features measure from.
    """

    name = "days_since_latest"
    input_types: ClassVar[list] = [ColumnSchema(logical_type=Datetime)]
    return_type = ColumnSchema(logical_type=Double, semantic_tags={"numeric"})
    uses_calc_time = True
    stack_on_self = False
    description_template = "the days since the latest {}"

    def get_function(self):
        def days_since_latest(values, time=None):
            latest = values.max()
            if pd.isna(latest):
                return np.nan
            return (time - latest).total_seconds() / 86_400

        return days_since_latest


def _ns(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates at nanosecond resolution and ids as plain strings (what woodwork expects)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype.kind == "M":
            out[col] = out[col].astype("datetime64[ns]")
        elif col.endswith("_id") or col == "entity_id":
            out[col] = out[col].astype(object)
    return out


def entityset(t: dict[str, pd.DataFrame]) -> ft.EntitySet:
    ent = _ns(t["enterprises"]).drop(columns=["deregistered_on"])  # a future date: leaks
    pen = _ns(t["penalties"])[
        ["penalty_id", "entity_id", "decided_on", "published_on", "severity", "fine_amount"]
    ]
    ins = _ns(t["inspections"])[
        ["inspection_id", "entity_id", "inspected_on", "published_on", "kind", "outcome"]
    ]
    ins["finding"] = ins["outcome"].astype(str) != "compliant"
    lst = _ns(t["list_entries"])[
        ["entry_id", "entity_id", "list", "reason", "listed_on", "removed_on", "removal_reason"]
    ]
    rep = _ns(t["annual_reports"])
    rep = rep[rep["filed_on"].notna()].reset_index(drop=True)  # an unfiled report has no date
    rep.insert(0, "report_id", rep["entity_id"] + "/" + rep["report_year"].astype(str))
    deadline = pd.to_datetime((rep["report_year"] + 1).astype(str) + "-06-30")
    rep["on_time"] = rep["filed_on"] <= deadline
    rep["days_late"] = ((rep["filed_on"] - deadline).dt.days).clip(lower=0).astype(float)
    rep = rep[
        ["report_id", "entity_id", "filed_on", "on_time", "days_late", "employees", "revenue"]
    ]
    lic = _ns(t["licenses"])[["license_id", "entity_id", "license_type", "issued_on", "revoked_on"]]
    lic["revoked"] = lic["revoked_on"].notna()

    cat = "Categorical"
    es = ft.EntitySet(id="credit")
    es.add_dataframe(
        dataframe_name="enterprises",
        dataframe=ent,
        index="entity_id",
        logical_types={c: cat for c in ("entity_type", "industry", "key_sector", "region")},
    )
    es.add_dataframe(
        dataframe_name="penalties",
        dataframe=pen,
        index="penalty_id",
        time_index="published_on",
        logical_types={"severity": cat, "entity_id": cat},
    )
    es.add_dataframe(
        dataframe_name="inspections",
        dataframe=ins,
        index="inspection_id",
        time_index="published_on",
        logical_types={"kind": cat, "outcome": cat, "finding": "Boolean", "entity_id": cat},
    )
    es.add_dataframe(
        dataframe_name="list_entries",
        dataframe=lst,
        index="entry_id",
        time_index="listed_on",
        # a removal becomes known on its date: featuretools hides it before then
        secondary_time_index={"removed_on": ["removed_on", "removal_reason"]},
        logical_types={"list": cat, "reason": cat, "removal_reason": cat, "entity_id": cat},
    )
    es.add_dataframe(
        dataframe_name="annual_reports",
        dataframe=rep,
        index="report_id",
        time_index="filed_on",
        logical_types={"on_time": "Boolean", "entity_id": cat},
    )
    es.add_dataframe(
        dataframe_name="licenses",
        dataframe=lic,
        index="license_id",
        time_index="issued_on",
        secondary_time_index={"revoked_on": ["revoked_on", "revoked"]},
        logical_types={"license_type": cat, "revoked": "BooleanNullable", "entity_id": cat},
    )
    for child in ("penalties", "inspections", "list_entries", "annual_reports", "licenses"):
        es.add_relationship("enterprises", "entity_id", child, "entity_id")
    interesting = {
        "penalties": {"severity": SEVERITIES},
        "inspections": {"kind": KINDS, "outcome": OUTCOMES[1:]},
        "list_entries": {"list": LISTS, "removal_reason": ["restored"]},
    }
    for name, values in interesting.items():
        es.add_interesting_values(dataframe_name=name, values=values)
    return es


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--out")
    args = parser.parse_args()

    tables = {name: pd.read_parquet(f"{args.data}/{name}.parquet") for name in TABLES}
    ids = pd.read_parquet(f"{args.data}/spine.parquet")["entity_id"].astype(object)
    cutoff = pd.DataFrame({"entity_id": ids, "time": pd.Timestamp(args.as_of)})

    t0 = time.perf_counter()
    es = entityset(tables)
    t1 = time.perf_counter()
    options = {
        "sum": {
            "include_dataframes": ["penalties"],
            "include_columns": {"penalties": ["fine_amount"]},
        },
        "max": {
            "include_dataframes": ["penalties", "annual_reports"],
            "include_columns": {"penalties": ["fine_amount"], "annual_reports": ["days_late"]},
        },
        "mean": {
            "include_dataframes": ["annual_reports"],
            "include_columns": {"annual_reports": ["days_late", "employees", "revenue"]},
        },
        "num_unique": {
            "include_dataframes": ["licenses"],
            "include_columns": {"licenses": ["license_type"]},
        },
        "days_since_latest": {
            "include_dataframes": ["penalties", "inspections"],
            "include_columns": {"penalties": ["decided_on"], "inspections": ["inspected_on"]},
        },
        "time_since": {"include_columns": {"enterprises": ["registered_on"]}},
    }
    common = {
        "entityset": es,
        "cutoff_time": cutoff,
        "include_cutoff_time": False,
        "n_jobs": 1,
        "verbose": False,
    }
    matrix, features = ft.dfs(
        target_dataframe_name="enterprises",
        agg_primitives=[
            "count",
            "sum",
            "max",
            "mean",
            "percent_true",
            "num_true",
            "num_unique",
            ft.primitives.TimeSinceLast(unit="days"),
            DaysSinceLatest,
        ],
        trans_primitives=[TimeSince(unit="days")],
        where_primitives=["count", "sum"],
        primitive_options=options,
        max_depth=1,
        **common,
    )
    # the windowed features: penalty counts and fines, inspection findings
    windowed = [
        f
        for f in features
        if f.dataframe_name == "enterprises"
        and f.get_name().startswith(("COUNT(penalties", "SUM(penalties", "NUM_TRUE(inspections"))
    ]
    parts = [matrix]
    for suffix, window in WINDOWS.items():
        part = ft.calculate_feature_matrix(windowed, training_window=window, **common)
        parts.append(part.add_suffix(f" [{suffix}]"))
    t2 = time.perf_counter()
    matrix = pd.concat(parts, axis=1)
    n_features = matrix.shape[1]
    if args.out:
        out = matrix.reset_index()
        for col in out.columns:
            if isinstance(out[col].dtype, pd.CategoricalDtype):
                out[col] = out[col].astype(object)
        out.to_parquet(args.out)
    print(
        json.dumps(
            {
                "seconds": t2 - t0,
                "seconds_entityset": t1 - t0,
                "seconds_dfs": t2 - t1,
                "rows": len(matrix),
                "features": n_features,
                "features_all_time": len(features),
                "features_windowed": len(windowed) * len(WINDOWS),
                "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "versions": {
                    p: version(p) for p in ("featuretools", "woodwork", "pandas", "numpy")
                },
            }
        )
    )


if __name__ == "__main__":
    main()
