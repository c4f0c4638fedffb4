"""The scoring job on Apache Spark: the same pandas code, run per bucket of entities.

:func:`score` reads the event tables (parquet paths, Spark DataFrames or an
:class:`~creditrisk.EventTables`): the six tables, and the indicator system's optional
tables (``roles``, ``changes``, ``complaints``, ``external_lists``) and
``enterprises.address_id`` when the register holds them. It tags every row with its
entity's bucket (a hash of entity_id) and its place in its table, gathers each bucket's
rows of all tables into one group (``groupBy(bucket).applyInPandas``), and on the worker
rebuilds the bucket's :class:`EventTables` (rows in the input's order) and runs
:func:`creditrisk.jobs.scoring.score_chunk`: the very function the pandas engine runs
per chunk. So the two engines give the same rows; the test suite checks it in
``local[2]``.

Own records. Most features read only the entity's own rows (the six tables, and the
changes, complaints and external listings of :mod:`creditrisk.features.indicators`):
those rows travel in the entity's bucket and nothing else is needed.

Related parties. The features of :mod:`creditrisk.features.relations` read other
enterprises: those linked to the entity through a person holding a current role in
both, and those at its address on the as-of date. A bucket therefore also receives its
*neighbourhood*: every enterprise that ever shares a person with one of the bucket's
enterprises (any role row, any date), and every enterprise that ever had an address
(``address_id``, or an old or new value of an address change) that one of the bucket's
enterprises ever had; with their rows that those features read (``enterprises``,
``roles``, the address ``changes``, ``list_entries``, ``penalties``). The pairs are
found with Spark joins, once per bucket rather than per entity ((bucket, person or
address) joined to (entity, person or address)), and the neighbours' rows are tagged
with the bucket and flagged as neighbours, never scored there. On the worker the
bucket's tables are a part of the tables of the bucket and its neighbours
(:meth:`EventTables.part_of`), which the features read as the whole register.

One hop suffices, feature by feature, since every enterprise a feature reads for an
entity is a neighbour, and what it reads of that enterprise is its own rows:

- ``linked_enterprises``, ``linked_on_list``, ``linked_penalised_3y``,
  ``linked_deregistered_young``: the enterprises in which a person holding a current
  role in the entity also holds one, so sharing a person with it; of each, its
  registration, roles (the person's), list entries, penalties and deregistration: its
  own rows;
- ``person_serious_history``: the enterprises the entity's current legal
  representatives ever led, so sharing a person with it; of each, its list entries;
- ``address_cluster_size``, ``address_cluster_abnormal``: the enterprises at the
  entity's address on the as-of date. That address is one the entity ever had, and each
  of them has it then, so ever had it: they share an address with the entity; of each,
  its address on that date (from its own address changes and ``address_id``), its
  registration, deregistration and list entries.

An :class:`EventTables` that is a part of a register (:meth:`EventTables.subset`)
draws its related parties from the whole register it carries (``EventTables.whole``),
as the pandas engine does; a part without it is refused when the features need it. A
directory or a dict is a register of its own: its related parties are its own.

A person or an address shared by very many enterprises (a registered agent's office)
puts all of them in the group of every bucket that touches it: size ``buckets`` so
that a bucket's entities and their neighbours fit an executor's memory. Related parties
are gathered only for a model with related-party features, on a register with roles or
addresses; any other register runs as it did before them, with no join.

The model travels to the workers as its LightGBM text and JSON metadata (no pickle
of the booster), checked against its SHA-256 on arrival.

Submitting to a cluster (YARN, Kubernetes, standalone): install creditrisk (and its
dependencies) into the Python environment the executors use, e.g. a packed virtualenv
shipped with ``--archives venv.tar.gz#venv`` and
``--conf spark.pyspark.python=./venv/bin/python``; put the event tables where every
node reads them (HDFS, S3, a shared filesystem) and the model directory where the
driver reads it (a mounted directory); write a one-line driver script and submit it ::

    echo 'from creditrisk.jobs.spark import main; main()' > score_job.py
    spark-submit --master yarn --deploy-mode cluster \\
        --archives venv.tar.gz#venv --conf spark.pyspark.python=./venv/bin/python \\
        --conf spark.sql.session.timeZone=UTC \\
        score_job.py --data hdfs:///register/2026-11 --model /shared/models/creditrisk-12 \\
        --as-of 2026-12-01 --out hdfs:///scores/2026-12-01.parquet

This job knows nothing of the MLflow registry: for a ``models:/`` URI, run the driver
where it reaches the tracking server and let the command line resolve it
(``creditrisk score --engine spark --spark-master spark://... --model models:/...``),
or resolve it yourself with :func:`creditrisk.jobs.tracking.load_model` and pass the
model to :func:`score`. Size ``--buckets`` so one bucket's events fit in an
executor's memory (about 50,000 entities per bucket is a comfortable start).

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> few = tables.subset(tables.enterprises["entity_id"].head(200))
>>> rows = score(local_session(), few, cr.sample_model_path(), "2025-01-01").toPandas()
>>> pandas_rows = cr.scoring.score_chunk(few, cr.RiskModel.load(cr.sample_model_path()),
...                                      "2025-01-01", span=cr.data.data_span(tables))
>>> len(rows) == len(pandas_rows), bool((rows["probability"] == pandas_rows["probability"]).all())
(True, True)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import pandas as pd

from creditrisk.data.paths import (
    MARKER,
    OutputError,
    check_output,
    commit,
    mark_directory,
    partial_path,
    recover,
)
from creditrisk.data.register import Register
from creditrisk.data.schema import (
    INDICATOR_TABLES,
    TABLE_NAMES,
    TABLES,
    SchemaError,
    empty_table,
)
from creditrisk.data.spine import (
    INDICATOR_KNOWN_DATE_COLUMNS,
    KNOWN_DATE_COLUMNS,
    as_of_list,
    check_dates,
)
from creditrisk.data.tables import EventTables
from creditrisk.data.validation import cross_entity_keys, duplicate_keys
from creditrisk.features import relations
from creditrisk.jobs.scoring import feature_spec, manifest_path, resolve_model, score_chunk
from creditrisk.model.estimator import RiskModel

__all__ = ["SparkJobError", "local_session", "output_schema", "score"]

_TABLE = "_table"
_BUCKET = "_bucket"
_ROW = "_row"  # a row's place in its table, so a bucket sees its rows in the input's order
_NEIGHBOUR = "_neighbour"  # True: a row of another bucket's entity, for related parties
_KEY = "_key"
_SEP = "__"
#: what related-party features read of the enterprises linked to one
_RELATED = ("enterprises", "roles", "changes", "list_entries", "penalties")
#: an enterprise that never lives, added to a bucket's related parties when the register
#: has addresses but none of them does (see _related_parties)
_NOWHERE = "\x00creditrisk-no-address"
_MODELS: dict[str, RiskModel] = {}  # per worker process: the model, rebuilt once


class SparkJobError(ValueError):
    """A bucket's data refused on a worker (invalid tables, unknown categories...).

    It carries the worker's own message, without the Python and JVM stack traces.

    It is a ``ValueError``, as the errors it carries are (``SchemaError``,
    ``ModelError``, ``ValueError``); :func:`score` raises it when writing ``out``.

    Examples
    --------
    >>> str(SparkJobError("penalties.fine_amount [non-negative]"))
    'penalties.fine_amount [non-negative]'
    """


def _worker_error(exc: Exception) -> SparkJobError | None:
    """The creditrisk error raised in a Spark worker, if that is what ``exc`` carries."""
    text = str(exc)
    for kind in ("SchemaError", "ModelError", "ValueError"):
        marker = f"{kind}: "
        if marker in text and "Traceback" in text:
            message = text.split(marker, 1)[1].split("\n\tat ", 1)[0].strip()
            return SparkJobError(f"a Spark task refused its bucket ({kind}): {message}")
    return None


def local_session(master: str = "local[2]", app_name: str = "creditrisk"):
    """A SparkSession for one machine, its Python workers on this interpreter, in UTC.

    Arrow transfers are on and the web UI off; ``PYSPARK_PYTHON`` and
    ``PYSPARK_DRIVER_PYTHON`` default to this interpreter. A session already running in
    the process is returned as it is (``getOrCreate``).

    Parameters
    ----------
    master : str, default "local[2]"
        The Spark master: ``local[n]`` for n cores of this machine.
    app_name : str, default "creditrisk"
        The application's name.

    Returns
    -------
    pyspark.sql.SparkSession
        The session.

    Examples
    --------
    >>> spark = local_session()
    >>> spark.conf.get("spark.sql.session.timeZone")
    'UTC'
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def _spark_type(dtype):
    from pyspark.sql import types as T

    if pd.api.types.is_bool_dtype(dtype):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(dtype):
        return T.LongType()
    if pd.api.types.is_float_dtype(dtype):
        return T.DoubleType()
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return T.TimestampNTZType()
    return T.StringType()


def output_schema(model: RiskModel, features: bool = True, top_k: int | None = None):
    """The Spark schema of :func:`creditrisk.jobs.scoring.score_chunk`'s rows for ``model``.

    Taken from the pandas engine itself (scoring an empty register), so it cannot
    drift from it. Categories become strings, dates ``timestamp_ntz``.

    Parameters
    ----------
    model : RiskModel
        The fitted model (its features, categories and ``top_k``).
    features : bool, default True
        Include every feature after the score columns.
    top_k : int, optional
        Reasons per row (default: the model's ``top_k``).

    Returns
    -------
    pyspark.sql.types.StructType
        One nullable field per column, in the pandas engine's order.

    Examples
    --------
    >>> import creditrisk as cr
    >>> schema = output_schema(cr.RiskModel.load(cr.sample_model_path()), features=False)
    >>> schema.fieldNames()[:3]
    ['entity_id', 'as_of', 'probability']
    """
    from pyspark.sql import types as T

    empty = EventTables(**{name: empty_table(name) for name in TABLE_NAMES})
    day = pd.Timestamp("2000-01-02")
    frame = score_chunk(
        empty, model, day, span=(day - pd.Timedelta(days=1), day), features=features, top_k=top_k
    )
    return T.StructType(
        [T.StructField(name, _spark_type(dtype), True) for name, dtype in frame.dtypes.items()]
    )


def _read_tables(spark, source, only: tuple[str, ...] | None = None) -> dict:
    """Spark DataFrames of the tables a register holds, from a directory, a dict or
    EventTables: the six tables always, the indicator tables when present (``only``:
    these of an EventTables)."""
    if isinstance(source, EventTables):
        frames = {}
        for name, frame in source:
            if name not in TABLES or (only is not None and name not in only):
                continue  # an extra table: declared features are not carried
            plain = frame.copy()
            for column in plain.columns:
                if (
                    isinstance(plain[column].dtype, pd.CategoricalDtype)
                    or plain[column].dtype == "str"
                ):
                    plain[column] = plain[column].astype(object).where(plain[column].notna(), None)
                elif pd.api.types.is_datetime64_any_dtype(plain[column].dtype):
                    plain[column] = plain[column].astype("datetime64[us]")
            frames[name] = spark.createDataFrame(plain, schema=_table_schema(name))
        return frames
    if isinstance(source, dict):
        return {
            name: spark.read.parquet(str(value)) if isinstance(value, str | Path) else value
            for name, value in source.items()
        }
    root = str(source).rstrip("/")
    held = []
    for name in INDICATOR_TABLES:
        if _exists(spark, f"{root}/{name}.parquet"):
            held.append(name)
        elif _exists(spark, f"{root}/{name}.csv"):  # never scored without it in silence
            raise ValueError(
                f"the Spark engine reads parquet: {root}/{name}.csv would be left out; write "
                "the register as parquet (EventTables.read(...).write(..., format='parquet'))"
            )
    return {name: spark.read.parquet(f"{root}/{name}.parquet") for name in (*TABLE_NAMES, *held)}


def _exists(spark, path: str) -> bool:
    if _local(path):
        return _path(path).exists()
    fs, target = _filesystem(spark, path)
    return bool(fs.exists(target))


def _table_schema(name: str):
    from pyspark.sql import types as T

    fields = []
    for column in TABLES[name].columns:
        dtype = empty_table(name)[column.name].dtype
        fields.append(T.StructField(column.name, _spark_type(dtype), True))
    return T.StructType(fields)


def _span(frames: dict) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The register's span as :func:`creditrisk.data.spine.data_span` gives it (one job:
    each table's dates aggregated, the one-row results joined)."""
    from pyspark.sql import functions as F

    dated = {**KNOWN_DATE_COLUMNS, **INDICATOR_KNOWN_DATE_COLUMNS}
    row = frames["enterprises"].agg(F.min("registered_on").alias("_first"))
    for table, columns in dated.items():
        present = [c for c in columns if table in frames and c in frames[table].columns]
        if present:
            row = row.crossJoin(
                frames[table].agg(*[F.max(c).alias(f"{table}{_SEP}{c}") for c in present])
            )
    first, *values = row.first()
    lasts = [pd.Timestamp(v) for v in values if v is not None]
    return pd.Timestamp(first).normalize(), max(lasts).normalize()


def _coverage(frames: dict, source) -> dict:
    """What the whole register covers, for every bucket (see EventTables.part_of)."""
    from pyspark.sql import functions as F

    if isinstance(source, EventTables) and source.coverage:
        return dict(source.coverage)
    first = frames["annual_reports"].agg(F.min("report_year")).first()[0]
    return {} if first is None else {"first_report_year": int(first)}


def _cross_entity_keys(frames: dict) -> dict[str, list[str]]:
    """Keys that are not per entity, of the tables held, where the register has them
    (a table without its key column gets ids made per entity, in its bucket)."""
    keys = cross_entity_keys()
    return {
        name: key
        for name, key in keys.items()
        if name in frames and all(c in frames[name].columns for c in key)
    }


def _check_keys(frames: dict) -> None:
    """Identifiers that are not per entity must be unique across buckets too (one job
    over every such key; the examples of a repeated one in a second)."""
    from pyspark.sql import functions as F

    keys = _cross_entity_keys(frames)
    if not keys:
        return
    parts = [
        frames[name].select(F.lit(name).alias(_TABLE), F.to_json(F.struct(*key)).alias(_KEY))
        for name, key in keys.items()
    ]
    every = parts[0]
    for part in parts[1:]:
        every = every.unionByName(part)
    counts = every.groupBy(_TABLE, _KEY).agg(F.count("*").alias("_rows"))
    repeated = counts.filter(F.col("_rows") > 1).groupBy(_TABLE).agg(F.sum("_rows"))
    problems = []
    for name, total in sorted(repeated.collect(), key=lambda r: list(keys).index(r[0])):
        key = keys[name]
        # the problem as validation words it, with example rows and the true count
        counted = frames[name].groupBy(*key).agg(F.count("*").alias("_rows"))
        examples = frames[name].join(
            counted.filter(F.col("_rows") > 1).select(*key).limit(5), on=key
        )
        sample = examples.select(*key, "entity_id").toPandas()
        problems += [
            dataclasses.replace(p, n_rows=int(total)) for p in duplicate_keys(sample, name, key)
        ]
    if problems:
        raise SchemaError(problems)


def _columns(frames: dict) -> dict[str, list[str]]:
    """Per table held, the data model's columns its source has (others stay absent, as
    they are when the pandas engine reads the files: ids are then made, optional
    columns empty)."""
    columns = {}
    for name in (*TABLE_NAMES, *INDICATOR_TABLES):
        if name not in frames:
            continue
        frame = frames[name]
        missing = [
            c.name for c in TABLES[name].columns if c.name not in frame.columns and not c.optional
        ]
        if missing:
            raise ValueError(f"table {name} lacks columns {missing}")
        columns[name] = [c.name for c in TABLES[name].columns if c.name in frame.columns]
    return columns


def _bucket_of(column, buckets: int):
    """The bucket of an entity id (text): the same expression wherever it is asked."""
    from pyspark.sql import functions as F

    return F.pmod(F.xxhash64(column), F.lit(buckets))


def _tagged(frames: dict, columns: dict, buckets: int):
    """All tables in one frame: prefixed columns, the table's name, each row's place in
    its table, and the bucket."""
    from pyspark.sql import functions as F

    parts = []
    for name, present in columns.items():
        frame = frames[name]
        selected = [F.col("entity_id").cast("string").alias("entity_id")]
        selected += [
            F.col(column).alias(f"{name}{_SEP}{column}")
            for column in present
            if column != "entity_id"
        ]
        parts.append(
            frame.select(
                F.lit(name).alias(_TABLE), F.monotonically_increasing_id().alias(_ROW), *selected
            )
        )
    tagged = parts[0]
    for part in parts[1:]:
        tagged = tagged.unionByName(part, allowMissingColumns=True)
    return tagged.withColumn(_BUCKET, _bucket_of("entity_id", buckets))


def _needs_related_parties(model: RiskModel, related: dict, source) -> tuple[bool, bool]:
    """(whether buckets need their related parties, whether the register has addresses).

    Only for a model with related-party features, on a register with roles or
    addresses: without them those features read nothing outside the entity. ``related``:
    the tables related parties are drawn from; ``source``: what they were read from."""
    wanted = feature_spec(model).features
    names = {f.name for f in relations.FEATURES}
    if wanted is not None and not names & set(wanted):
        return False, False
    if isinstance(source, EventTables):
        addresses = bool(source.enterprises["address_id"].notna().any())
    elif "address_id" in related["enterprises"].columns:
        held = related["enterprises"].filter(related["enterprises"]["address_id"].isNotNull())
        addresses = bool(held.limit(1).count())
    else:
        addresses = False
    needed = "roles" in related or addresses
    if needed and isinstance(source, EventTables) and source.is_part and source.whole is None:
        raise ValueError(  # as the pandas engine refuses it (features.relations)
            "related-party features (linked_*, address_cluster_*) read other enterprises: "
            "score the whole register, or a part that carries it (EventTables.part_of(whole))"
        )
    return needed, addresses


def _keys(frames: dict):
    """(entity_id, key) pairs: each person an entity ever had, each address it ever had."""
    from pyspark.sql import functions as F

    def ends(frame, key, prefix):
        return frame.select(
            F.col("entity_id").cast("string").alias("entity_id"),
            F.concat(F.lit(prefix), F.col(key).cast("string")).alias(_KEY),
        )

    parts = []
    if "roles" in frames:
        parts.append(ends(frames["roles"], "person_id", "person:"))
    if "address_id" in frames["enterprises"].columns:
        parts.append(ends(frames["enterprises"], "address_id", "address:"))
    if "changes" in frames:
        moves = frames["changes"].filter(F.col("kind") == "address")
        parts += [
            ends(moves, column, "address:")
            for column in ("old_value", "new_value")
            if column in frames["changes"].columns
        ]
    if not parts:  # neither persons nor addresses: no pairs
        parts.append(ends(frames["enterprises"].withColumn("_none", F.lit(None)), "_none", ""))
    keys = parts[0]
    for part in parts[1:]:
        keys = keys.unionByName(part)
    return keys.filter(F.col(_KEY).isNotNull() & F.col("entity_id").isNotNull()).distinct()


def _neighbourhood(frames: dict, related: dict, rows, buckets: int, own=None):
    """The rows of every bucket's related parties, tagged with that bucket.

    An entity's related parties are the enterprises that ever share a person with it (any
    role, any time) or an address (``address_id``, or a value of an address change):
    (bucket, key) pairs of the tables scored (``frames``) are joined on the key to the
    (entity, key) pairs of the tables related parties are drawn from (``related``: the
    same tables, or the whole register a part of it carries), once per bucket, not per
    entity. Of each related party not already in the bucket, the rows of ``rows`` (the
    tagged ``related``) that related-party features read (:data:`_RELATED`; of changes,
    the address changes) follow, flagged as neighbours. ``own``: the scored (entity,
    bucket) pairs, when ``related`` is not ``frames`` (else a bucket holds exactly the
    entities hashed to it).
    """
    from pyspark.sql import functions as F

    keys = _keys(related)
    owned = keys if related is frames else _keys(frames)
    owned = owned.select(_bucket_of("entity_id", buckets).alias(_BUCKET), _KEY).distinct()
    near = owned.join(keys, on=_KEY).select(_BUCKET, "entity_id").distinct()
    if own is None:
        near = near.filter(_bucket_of("entity_id", buckets) != F.col(_BUCKET))
    else:
        near = near.join(own, on=["entity_id", _BUCKET], how="left_anti")
    wanted = F.col(_TABLE).isin(*[n for n in _RELATED if n != "changes"])
    if "changes" in related:
        wanted |= (F.col(_TABLE) == "changes") & (F.col(f"changes{_SEP}kind") == "address")
    rows = rows.filter(wanted).drop(_BUCKET, _NEIGHBOUR)
    return rows.join(near, on="entity_id").withColumn(_NEIGHBOUR, F.lit(True))


def _frames(rows: pd.DataFrame, columns: dict) -> dict[str, pd.DataFrame]:
    """Rows of the tagged frame back into one plain table each, in the input's order."""
    frames = {}
    for name, present in columns.items():
        part = rows[rows[_TABLE] == name]
        if _ROW in part.columns:
            part = part.sort_values(_ROW, kind="stable")
        table = {"entity_id": part["entity_id"]}
        for column in present:
            if column != "entity_id":
                table[column] = part[f"{name}{_SEP}{column}"]
        frames[name] = pd.DataFrame(table).reset_index(drop=True)
    return frames


def _tables_of(
    group: pd.DataFrame,
    register: Register | None = None,
    coverage: dict | None = None,
    columns: dict | None = None,
    addresses: bool = False,
    related: dict | None = None,
) -> EventTables:
    """One bucket's rows back into EventTables (coerced to the data model's dtypes).

    With neighbour rows in the group, the bucket is a part of an EventTables of the
    bucket and its related parties (``EventTables.part_of``), which related-party
    features read."""
    if columns is None:
        columns = {name: [c.name for c in TABLES[name].columns] for name in TABLE_NAMES}
    register = register or Register()
    if _NEIGHBOUR in group.columns:
        neighbour = group[_NEIGHBOUR].fillna(False).to_numpy(dtype=bool)
    else:
        neighbour = None
    own = group if neighbour is None else group[~neighbour]
    tables = EventTables(**_frames(own, columns), register=register)
    if neighbour is None:
        return tables.part_of(coverage or {})
    parties = _related_parties(group, related or columns, register, addresses)
    return tables.part_of(parties).part_of(coverage or {})


def _related_parties(
    group: pd.DataFrame, columns: dict, register: Register, addresses: bool
) -> EventTables:
    """The bucket's entities and their related parties: what related-party features read.

    For them the bucket's related parties are the whole register: every enterprise a
    bucket's entity can be linked to on any date is among them, with its rows. One
    difference is mended: where the register has addresses and none of these
    enterprises has ``address_id``, the features would take the addresses as absent
    (the whole register's are not); an enterprise that never lives, at an address of
    its own, says they are not, and counts in no cluster and no link."""
    frames = _frames(group, {name: columns[name] for name in _RELATED if name in columns})
    enterprises = frames["enterprises"]
    if addresses and not enterprises.get("address_id", pd.Series(dtype=object)).notna().any():
        nowhere = {
            "entity_id": [_NOWHERE],
            "registered_on": [pd.Timestamp("1970-01-01")],
            "deregistered_on": [pd.Timestamp("1970-01-02")],
            "address_id": [_NOWHERE],
        }
        frames["enterprises"] = pd.concat([enterprises, pd.DataFrame(nowhere)], ignore_index=True)
    return EventTables(**frames, register=register)


def score(
    spark,
    tables_or_paths,
    model,
    as_of,
    out: str | os.PathLike | None = None,
    *,
    buckets: int | None = None,
    features: bool = True,
    top_k: int | None = None,
    validate: bool = True,
    sort: bool = True,
    extracted_on=None,
):
    """Score a register on Spark; the rows equal the pandas engine's.

    ``tables_or_paths``: a directory holding ``<table>.parquet`` (local, HDFS, S3...),
    a dict of table name to path or Spark DataFrame, or an :class:`EventTables`.
    ``model``: a :class:`RiskModel` or a model directory; an MLflow ``models:/`` URI is
    refused, as this job knows nothing of the registry: resolve it with
    :func:`creditrisk.jobs.tracking.load_model` and pass the model.
    With ``out``, the rows are written as parquet under a temporary name and, when
    complete, committed with their ``.manifest.json`` as one unit (both or neither), then
    read back. ``out`` may not be, contain or lie inside an input, and an existing
    ``out`` is replaced only when creditrisk wrote it (it carries the
    :data:`~creditrisk.data.paths.MARKER` file) or is empty: never another directory
    (:func:`creditrisk.data.paths.check_output`). What a killed job left beside ``out``
    is removed by the next. ``sort``
    orders rows by entity_id and as_of, as the pandas engine does. Invalid data raises
    :class:`SparkJobError` with the worker's message when writing; without ``out`` the
    rows are computed lazily and such errors surface when they are.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        The session to run on (:func:`local_session` on one machine).
    tables_or_paths : str, path-like, dict or EventTables
        A directory of ``<table>.parquet``, a dict of table name to path or Spark
        DataFrame, or the tables in memory.
    model : RiskModel, str or path-like
        A fitted model or a model directory.
    as_of : date-like or list of date-like
        One or more as-of dates.
    out : str or path-like, optional
        Where to write the rows as parquet (a local path or any Hadoop URI); the
        manifest is written beside a local output only.
    buckets : int, optional
        Groups of entities, each scored by one pandas call (default: twice the
        default parallelism, or more so that a bucket holds at most 50,000 entities).
    features : bool, default True
        Include every feature after the score columns.
    top_k : int, optional
        Reasons per row (default: the model's ``top_k``; 0 for none).
    validate : bool, default True
        Check keys shared across buckets on the whole register, and each bucket's
        tables on its worker.
    sort : bool, default True
        Order the rows by entity_id and as_of.
    extracted_on : date-like, optional
        The register's extraction date: a date after it is an error (default: a year
        past today, see :mod:`creditrisk.data.validation`).

    Returns
    -------
    pyspark.sql.DataFrame
        The rows of :func:`creditrisk.jobs.scoring.score_chunk` (schema:
        :func:`output_schema`): lazy without ``out``, read back from ``out`` with it.

    Raises
    ------
    SparkJobError
        With ``out``, a worker refused its bucket (invalid tables, unknown categories).
    SchemaError
        With ``validate``, a key repeated across entities.
    ModelError
        ``model`` is a registry URI, or a directory that is not a model.
    ValueError
        An as-of date outside the data, or a table lacking columns.
    creditrisk.data.paths.OutputError
        ``out`` is an input, inside or around one, or a directory creditrisk did not
        write.

    Examples
    --------
    Without ``out`` nothing is scored until the rows are asked for:

    >>> import creditrisk as cr
    >>> tables = cr.load_sample()
    >>> few = tables.subset(tables.enterprises["entity_id"].head(100))
    >>> rows = score(local_session(), few, cr.sample_model_path(), "2025-01-01",
    ...              features=False)
    >>> rows.columns[:5]
    ['entity_id', 'as_of', 'probability', 'score_tier', 'tier']
    """

    from pyspark.sql import functions as F

    started = time.perf_counter()
    model, model_info = resolve_model(model)
    model_text, meta = model._parts()
    dates = as_of_list(as_of)
    register = Register(extracted_on=extracted_on)
    if out is not None:
        out = str(out).rstrip("/")
        sources = tables_or_paths.values() if isinstance(tables_or_paths, dict) else []
        inputs = [tables_or_paths, *sources, model_info["source"]]
        check_output(out, inputs, kind="dir")
        if _local(out):
            check_output(manifest_path(_path(out)), inputs)
            recover(_path(out), manifest_path(_path(out)))
        else:
            _refuse_foreign(spark, out)
    frames = _read_tables(spark, tables_or_paths)
    columns = _columns(frames)
    # related parties are drawn from the whole register an EventTables part carries
    whole = getattr(tables_or_paths, "whole", None)
    others = frames if whole is None else _read_tables(spark, whole, only=_RELATED)
    source = tables_or_paths if whole is None else whole
    related, addresses = _needs_related_parties(model, others, source)
    related_columns = {n: c for n, c in _columns(others).items() if n in _RELATED}
    span = _span(frames)
    check_dates(dates, *span)
    if validate:
        _check_keys(frames)  # the rest of the rules hold within an entity's bucket
    entities = frames["enterprises"].count()
    coverage = _coverage(frames, tables_or_paths)
    if buckets is None:
        parallelism = spark.sparkContext.defaultParallelism
        buckets = max(2 * parallelism, -(-entities // 50_000))
    schema = output_schema(model, features, top_k)
    digest = meta["files"]["model.txt"]

    def score_bucket(group: pd.DataFrame) -> pd.DataFrame:
        if digest not in _MODELS:
            _MODELS[digest] = RiskModel._from_parts(model_text, meta)
        tables = _tables_of(group, register, coverage, columns, addresses, related_columns)
        rows = score_chunk(
            tables,
            _MODELS[digest],
            dates,
            span=span,
            features=features,
            top_k=top_k,
            validate=validate,
        )
        for name, dtype in rows.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                rows[name] = rows[name].astype(object).where(rows[name].notna(), None)
        return rows

    tagged = _tagged(frames, columns, buckets)
    if related:  # each bucket's related parties ride along in its group
        tagged = tagged.withColumn(_NEIGHBOUR, F.lit(False))
        if whole is None:
            rows, own = tagged, None
        else:
            rows = _tagged(others, related_columns, buckets)
            own = tagged.select("entity_id", _BUCKET).distinct()
        near = _neighbourhood(frames, others, rows, buckets, own)
        tagged = tagged.unionByName(near, allowMissingColumns=True)
    result = tagged.groupBy(_BUCKET).applyInPandas(score_bucket, schema)
    if sort:
        result = result.orderBy("entity_id", "as_of")
    if out is None:
        return result
    local = _local(out)
    staging = str(partial_path(_path(out))) if local else f"{out}._staging-{uuid.uuid4().hex}"
    manifest_tmp = partial_path(manifest_path(_path(out))) if local else None
    try:
        try:
            result.write.parquet(staging)
        except Exception as exc:  # a worker's error arrives as a PythonException
            error = _worker_error(exc)
            if error is None:
                raise
            raise error from None
        _mark(spark, staging)
        written = spark.read.parquet(staging)
        pairs = written.groupBy("tier", "score_tier").count().toPandas()  # one pass
        counts = {
            "tiers": {str(k): int(v) for k, v in pairs.groupby("tier")["count"].sum().items()},
            "score_tiers": {
                str(k): int(v) for k, v in pairs.groupby("score_tier")["count"].sum().items()
            },
        }
        rows = sum(counts["tiers"].values())
        from creditrisk._version import __version__

        manifest = {
            "creditrisk_version": __version__,
            "engine": "spark",
            "spark_master": spark.sparkContext.master,
            "output": {"path": out, "rows": rows},
            "as_of": [str(d.date()) for d in dates],
            "model": model_info,
            "data": {
                "source": repr(tables_or_paths)
                if isinstance(tables_or_paths, EventTables)
                else str(tables_or_paths),
                "span": [str(d.date()) for d in span],
                "extracted_on": None if extracted_on is None else str(register.extracted_on.date()),
            },
            "entities": {"in_register": int(entities)},
            "rows": rows,
            **counts,
            "buckets": buckets,
            "timings_s": {"total": round(time.perf_counter() - started, 3)},
        }
        if local:  # scores and manifest: both or neither
            manifest_tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            commit([(staging, _path(out)), (manifest_tmp, manifest_path(_path(out)))])
        else:
            _replace(spark, staging, out)
    finally:
        _delete(spark, staging)
        if manifest_tmp is not None:
            manifest_tmp.unlink(missing_ok=True)
    return spark.read.parquet(out)


def _local(out: str) -> bool:
    return "://" not in out or out.startswith("file://")


def _path(out: str) -> Path:
    return Path(out.removeprefix("file://"))


def _mark(spark, directory: str) -> None:
    """The marker that says creditrisk wrote this output (see creditrisk.data.paths)."""
    if _local(directory):
        mark_directory(_path(directory))
        return
    fs, target = _filesystem(spark, f"{directory}/{MARKER}")
    stream = fs.create(target, True)
    stream.write(bytearray(b'{"written_by": "creditrisk"}\n'))
    stream.close()


def _filesystem(spark, path: str):
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    return hadoop_path.getFileSystem(conf), hadoop_path


def _replace(spark, staging: str, out: str) -> None:
    """Move a finished output into place (Hadoop rename: local, HDFS, S3A...)."""
    fs, target = _filesystem(spark, out)
    _, source = _filesystem(spark, staging)
    _refuse_foreign(spark, out)
    if fs.exists(target):
        fs.delete(target, True)
    if not fs.rename(source, target):
        raise OSError(f"could not rename {staging} to {out}")


def _refuse_foreign(spark, out: str) -> None:
    """An output elsewhere (HDFS, S3...) is replaced only when creditrisk wrote it."""
    fs, target = _filesystem(spark, out)
    if fs.exists(target):
        _, marker = _filesystem(spark, f"{out}/{MARKER}")
        if not fs.exists(marker):
            raise OutputError(
                f"refusing to replace {out}: it is not an output of creditrisk ({MARKER}); "
                "remove it yourself or choose another output"
            )


def _delete(spark, path: str) -> None:
    if _local(path):
        shutil.rmtree(_path(path), ignore_errors=True)
        return
    fs, target = _filesystem(spark, path)
    if fs.exists(target):
        fs.delete(target, True)


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - spark-submit entry
    """Entry point of a ``spark-submit`` driver script (see the module's docstring)."""
    parser = argparse.ArgumentParser(description="Score a register with creditrisk on Spark.")
    parser.add_argument("--data", required=True, help="Directory of <table>.parquet files.")
    parser.add_argument("--model", required=True, help="Model directory.")
    parser.add_argument("--as-of", required=True, action="append", help="As-of date.")
    parser.add_argument("--out", required=True, help="Output parquet path.")
    parser.add_argument("--buckets", type=int, default=None, help="Entity buckets.")
    args = parser.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.appName("creditrisk-score")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    score(spark, args.data, args.model, args.as_of, args.out, buckets=args.buckets)
    spark.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
