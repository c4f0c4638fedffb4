"""Batch scoring of a whole register: chunk by chunk, written atomically, with a manifest.

:func:`score_register` reads the event tables one chunk of entities at a time (a range
of entity ids, read from parquet with a row filter), builds the point-in-time features
of each chunk, scores them (probability, tier, reasons) and appends the chunk to one
parquet file. Memory is bounded by the chunk, not by the register. Every feature uses
only the entity's own events, so the rows equal those of scoring the register at once.

The output appears complete or not at all: it is written under a temporary name and
renamed at the end, so a job killed midway leaves nothing behind (and the old output,
if any, untouched). Beside it, ``<name>.manifest.json`` records the model (version and
hash), the data (file hashes), the as-of dates, row and tier counts and timings.

Examples
--------
>>> import creditrisk as cr, tempfile
>>> from pathlib import Path
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> with tempfile.TemporaryDirectory() as d:
...     run = score_register(cr.load_sample(), model, "2025-01-01", Path(d) / "scores.parquet",
...                          chunk_size=4_000)
...     run["chunks"], sorted(run["tiers"]) == ["A", "B", "C", "D"]
(3, True)
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditrisk.data.schema import TABLE_NAMES, SchemaError
from creditrisk.data.spine import KNOWN_DATE_COLUMNS, as_of_list, check_dates, data_span, spine
from creditrisk.data.tables import EventTables, atomic_file
from creditrisk.data.validation import cross_entity_keys, duplicate_keys
from creditrisk.features import FeatureSpec
from creditrisk.features.builder import build_features
from creditrisk.features.declared import Declared
from creditrisk.model.estimator import ModelError, RiskModel

__all__ = ["ChunkedRegister", "manifest_path", "resolve_model", "score_chunk", "score_register"]

Progress = Callable[[int, int], None]


class ChunkedRegister:
    """Event tables read one range of entity ids at a time.

    ``source`` is a directory of parquet files (each chunk is read with a row filter,
    so memory follows the chunk), a directory of CSV files (read once: CSV cannot be
    filtered) or an :class:`EventTables`. Chunks are ranges of the sorted entity ids of
    ``enterprises``; the first and last ranges are open, so every event row belongs to
    exactly one chunk, even one naming an unknown entity (which validation reports).

    Parameters
    ----------
    source : str, path-like or EventTables
        A directory of ``<table>.parquet`` or ``<table>.csv`` files, or the tables.
    chunk_size : int, default 250_000
        Entities per chunk (the last chunk may hold fewer).

    Raises
    ------
    ValueError
        ``chunk_size`` is below 1.
    FileNotFoundError
        ``source`` is a path but not a directory.

    Examples
    --------
    >>> import creditrisk as cr
    >>> register = ChunkedRegister(cr.load_sample(), chunk_size=6_000)
    >>> [len(t.enterprises) for t in register]
    [6000, 4000]
    """

    def __init__(self, source: str | os.PathLike | EventTables, chunk_size: int = 250_000):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        self.chunk_size = chunk_size
        self.root: Path | None = None
        self._tables: EventTables | None = None
        if isinstance(source, EventTables):
            self._tables = source
        else:
            self.root = Path(source)
            if not self.root.is_dir():
                raise FileNotFoundError(f"no event-table directory at {self.root}")
            if not all((self.root / f"{n}.parquet").exists() for n in TABLE_NAMES):
                self._tables = EventTables.read(self.root)  # CSV (or an incomplete dir)
        ids = self._column("enterprises", "entity_id").astype("str")
        self.entity_ids = np.sort(pd.unique(ids.to_numpy()))
        self.bounds = [
            (
                None if i == 0 else str(self.entity_ids[i]),
                None
                if i + chunk_size >= len(self.entity_ids)
                else str(self.entity_ids[i + chunk_size]),
            )
            for i in range(0, max(len(self.entity_ids), 1), chunk_size)
        ]

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self):
        for low, high in self.bounds:
            yield self.chunk(low, high)

    def _columns(self, table: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a whole table (only those are read from parquet)."""
        if self._tables is not None:
            return getattr(self._tables, table)[columns]
        return pq.read_table(self.root / f"{table}.parquet", columns=columns).to_pandas()

    def _column(self, table: str, column: str) -> pd.Series:
        return self._columns(table, [column])[column]

    def chunk(self, low: str | None, high: str | None) -> EventTables:
        """The tables of entities with ``low <= entity_id < high`` (None: unbounded).

        Parameters
        ----------
        low : str or None
            The first entity id of the chunk; None: from the first.
        high : str or None
            The entity id just after the chunk; None: to the last.

        Returns
        -------
        EventTables
            The rows of every table whose ``entity_id`` is in the range (read from
            parquet with a row filter when the source is a parquet directory).

        Examples
        --------
        >>> import creditrisk as cr
        >>> register = ChunkedRegister(cr.load_sample())
        >>> tables = register.chunk(None, "E0000100")
        >>> len(tables.enterprises), tables.enterprises["entity_id"].iloc[-1]
        (99, 'E0000099')
        """
        if self._tables is not None:
            whole = self._tables
            frames = {name: _in_range(getattr(whole, name), low, high) for name in TABLE_NAMES}
            extra = {name: _in_range(frame, low, high) for name, frame in whole.extra.items()}
            return EventTables(**frames, extra=extra, register=whole.register)
        filters = []
        if low is not None:
            filters.append(("entity_id", ">=", low))
        if high is not None:
            filters.append(("entity_id", "<", high))
        frames = {
            name: pq.read_table(self.root / f"{name}.parquet", filters=filters or None).to_pandas()
            for name in TABLE_NAMES
        }
        return EventTables(**frames)

    def check_keys(self) -> None:
        """Refuse identifiers shared across chunks (penalty_id, license_id, ...).

        Each chunk is validated on its own; a key that is not per entity can repeat in
        two chunks, so it is checked here on the whole register, one column at a time.

        Raises
        ------
        SchemaError
            A key repeats across entities; the error lists the table, columns and rows.

        Examples
        --------
        >>> import creditrisk as cr
        >>> ChunkedRegister(cr.load_sample(), chunk_size=4_000).check_keys()  # no error
        """
        problems = []
        for name, key in cross_entity_keys().items():
            frame = self._columns(name, [*key, "entity_id"])
            problems += duplicate_keys(frame, name, key)
        if problems:
            raise SchemaError(problems)

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First registration and last known date of the whole register (column by column).

        Returns
        -------
        tuple of pandas.Timestamp
            ``(first, last)``: the earliest ``registered_on`` and the latest known date
            of any table, the span every chunk's as-of dates are checked against.

        Examples
        --------
        >>> import creditrisk as cr
        >>> first, last = ChunkedRegister(cr.load_sample()).span()
        >>> str(last.date())
        '2025-12-31'
        """
        if self._tables is not None:
            return data_span(self._tables)
        first = pd.Timestamp(pd.to_datetime(self._column("enterprises", "registered_on")).min())
        last = max(
            pd.Timestamp(value)
            for table, columns in KNOWN_DATE_COLUMNS.items()
            for column in columns
            if pd.notna(value := pd.to_datetime(self._column(table, column)).max())
        )
        return first, last

    def fingerprint(self) -> dict:
        """What was read: SHA-256 of each file, or the tables' content fingerprint.

        Returns
        -------
        dict
            ``source`` (the directory, or ``"EventTables in memory"``), ``fingerprint``
            (a SHA-256 hex digest) and, for a directory, ``files``: file name → SHA-256.

        Examples
        --------
        >>> import creditrisk as cr
        >>> info = ChunkedRegister(cr.load_sample()).fingerprint()
        >>> info["source"], len(info["fingerprint"])
        ('EventTables in memory', 64)
        """
        if self.root is None:
            return {"source": "EventTables in memory", "fingerprint": self._tables.fingerprint()}
        files = {}
        for name in TABLE_NAMES:
            for path in (self.root / f"{name}.parquet", self.root / f"{name}.csv"):
                if path.exists():
                    files[path.name] = _file_sha256(path)
                    break
        combined = hashlib.sha256("".join(f"{k}:{v}\n" for k, v in files.items()).encode())
        return {"source": str(self.root), "fingerprint": combined.hexdigest(), "files": files}


def _in_range(frame: pd.DataFrame, low: str | None, high: str | None) -> pd.DataFrame:
    ids = frame["entity_id"].astype("str")
    keep = np.ones(len(frame), dtype=bool)
    if low is not None:
        keep &= (ids >= low).to_numpy()
    if high is not None:
        keep &= (ids < high).to_numpy()
    return frame[keep].reset_index(drop=True)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def feature_spec(model: RiskModel) -> FeatureSpec:
    """The feature settings that rebuild exactly the features ``model`` was trained on.

    Parameters
    ----------
    model : RiskModel
        A fitted model.

    Returns
    -------
    FeatureSpec
        The policy's counting settings, the model's feature names, and the definitions
        of its declared features.

    Examples
    --------
    >>> import creditrisk as cr
    >>> spec = feature_spec(cr.RiskModel.load(cr.sample_model_path()))
    >>> len(spec.features), spec.declared
    (65, ())
    """
    declared = tuple(Declared(**d) for d in getattr(model, "declared_", {}).values())
    return dataclasses.replace(
        model.policy_.feature_spec(),
        features=tuple(model.feature_names_in_),
        declared=declared,
    )


def _own_features_only(tables: EventTables) -> EventTables:
    """The register without its feature declarations: the model brings its own."""
    if not tables.register.features:
        return tables
    return tables.replace(register=dataclasses.replace(tables.register, features=()))


def score_chunk(
    tables: EventTables,
    model: RiskModel,
    as_of,
    *,
    span=None,
    features: bool = True,
    top_k: int | None = None,
    validate: bool = True,
) -> pd.DataFrame:
    """Score every entity of ``tables`` registered at ``as_of``: the rows of one chunk.

    Columns: the model's score columns (see :meth:`RiskModel.classify`), then, with
    ``features``, the model's features (categorical ones in the model's categories, so
    chunks share one schema). Exactly the model's features are built: built-in ones,
    and declared ones from the definitions the model was trained with (a register
    mapping's own declarations of the same names are not used). The same function runs
    per partition on Spark.

    Parameters
    ----------
    tables : EventTables
        The register, or one chunk of it.
    model : RiskModel
        A fitted model (:func:`resolve_model` turns a directory into one).
    as_of : date-like or list of date-like
        One or more as-of dates; every entity registered and not deregistered on each
        date gets a row.
    span : tuple of pandas.Timestamp, optional
        ``(first, last)`` dates of the whole register when ``tables`` is a chunk, so
        as-of dates are checked against the register, not the chunk (default: the
        span of ``tables``).
    features : bool, default True
        Add every feature after the score columns.
    top_k : int, optional
        Reasons per row (default: the model's ``top_k``; 0 for none).
    validate : bool, default True
        Validate ``tables`` first (:meth:`EventTables.validate`).

    Returns
    -------
    pandas.DataFrame
        One row per (entity_id, as_of), ordered by entity_id then as_of, with a fresh
        RangeIndex.

    Raises
    ------
    SchemaError
        With ``validate``, tables that break the data model.
    ValueError
        An as-of date outside the data.

    Examples
    --------
    >>> import creditrisk as cr
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> rows = score_chunk(cr.load_sample(), model, "2025-01-01", features=False)
    >>> list(rows.columns[:5])
    ['entity_id', 'as_of', 'probability', 'score_tier', 'tier']
    """
    if validate:
        tables.validate()
    tables = _own_features_only(tables)
    rows = spine(tables, as_of, span=span)
    X = build_features(tables, rows, feature_spec(model), span=span)
    scores = model.classify(X, top_k=top_k)
    if features:
        extra = X.drop(columns=["entity_id", "as_of"])
        for name in extra.columns:
            if name in model.categories_:
                dtype = pd.CategoricalDtype(model.categories_[name])
                extra[name] = extra[name].astype("str").where(extra[name].notna()).astype(dtype)
            elif isinstance(extra[name].dtype, pd.CategoricalDtype):
                extra[name] = extra[name].astype("str").where(extra[name].notna())
        scores = pd.concat([scores, extra], axis=1)
    order = np.lexsort((scores["as_of"].to_numpy(), scores["entity_id"].to_numpy()))
    return scores.iloc[order].reset_index(drop=True)


def manifest_path(out: str | os.PathLike) -> Path:
    """Where the manifest of an output goes: ``scores.parquet`` → ``scores.manifest.json``.

    Parameters
    ----------
    out : str or path-like
        The scores file.

    Returns
    -------
    pathlib.Path
        ``<stem>.manifest.json`` in the directory of ``out``.

    Examples
    --------
    >>> manifest_path("runs/scores.parquet").name
    'scores.manifest.json'
    """
    out = Path(out)
    return out.with_name(f"{out.stem}.manifest.json")


def score_register(
    data: str | os.PathLike | EventTables,
    model: RiskModel | str | os.PathLike,
    as_of,
    out: str | os.PathLike,
    *,
    chunk_size: int = 250_000,
    features: bool = True,
    top_k: int | None = None,
    validate: bool = True,
    progress: Progress | None = None,
) -> dict:
    """Score a register chunk by chunk into one parquet file; return its manifest.

    ``data``: a directory of event tables or an :class:`EventTables`. ``model``: a
    :class:`RiskModel` or a model directory; an MLflow URI (``models:/creditrisk@champion``)
    is refused, as batch scoring knows nothing of the registry: resolve it with
    :func:`creditrisk.jobs.tracking.load_model` and pass the model.
    ``progress(done, total)`` is called with entities done after every chunk; an
    exception raised anywhere (the callback included) leaves no output behind.

    Rows are ordered by entity_id, then as_of, whatever the chunk size.

    Parameters
    ----------
    data : str, path-like or EventTables
        A directory of ``<table>.parquet`` (read chunk by chunk) or ``<table>.csv``
        files, or the tables.
    model : RiskModel, str or path-like
        A fitted model or a model directory (see :func:`resolve_model`).
    as_of : date-like or list of date-like
        One or more as-of dates.
    out : str or path-like
        The parquet file to write (its directory is created); the manifest goes
        beside it (:func:`manifest_path`).
    chunk_size : int, default 250_000
        Entities per chunk: memory follows the chunk.
    features : bool, default True
        Write every feature after the score columns.
    top_k : int, optional
        Reasons per row (default: the model's ``top_k``; 0 for none).
    validate : bool, default True
        Validate each chunk, and keys shared across chunks on the whole register.
    progress : callable, optional
        ``progress(done, total)``, called after every chunk with entities done and
        entities in the register.

    Returns
    -------
    dict
        The manifest, also written as JSON: ``creditrisk_version``, ``output`` (path,
        SHA-256, rows), ``as_of``, ``model`` (see :func:`resolve_model`), ``data``
        (fingerprint, rows per table, span), ``entities``, ``rows``, ``tiers``,
        ``score_tiers``, ``overridden``, ``chunk_size``, ``chunks`` and ``timings_s``.

    Raises
    ------
    ModelError
        ``model`` is a registry URI, or a directory that is not a model (or altered).
    SchemaError
        With ``validate``, data that break the data model.
    ValueError
        ``chunk_size`` below 1, or an as-of date outside the data.
    FileNotFoundError
        ``data`` is a path but not a directory.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> from pathlib import Path
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> with tempfile.TemporaryDirectory() as d:
    ...     out = Path(d) / "scores.parquet"
    ...     manifest = score_register(cr.load_sample(), model, "2025-01-01", out,
    ...                               features=False, top_k=0)
    ...     manifest["rows"] == manifest["entities"]["scored"], manifest_path(out).exists()
    (True, True)
    """
    started = time.perf_counter()
    timings = dict.fromkeys(("read", "features_and_scores", "write"), 0.0)
    model, model_info = resolve_model(model)
    register = ChunkedRegister(data, chunk_size)
    dates = as_of_list(as_of)
    span = register.span()
    check_dates(dates, *span)
    if validate:
        register.check_keys()  # the rest of the rules hold within an entity's chunk
    data_info = register.fingerprint()
    out = Path(out)
    manifest_file = manifest_path(out)
    total, done, rows, table_rows = len(register.entity_ids), 0, 0, dict.fromkeys(TABLE_NAMES, 0)
    tiers: dict[str, int] = {}
    score_tiers: dict[str, int] = {}
    overridden = 0
    with atomic_file(out) as tmp:
        writer = None
        try:
            for low, high in register.bounds:
                tick = time.perf_counter()
                tables = register.chunk(low, high)
                timings["read"] += time.perf_counter() - tick
                tick = time.perf_counter()
                frame = score_chunk(
                    tables,
                    model,
                    dates,
                    span=span,
                    features=features,
                    top_k=top_k,
                    validate=validate,
                )
                timings["features_and_scores"] += time.perf_counter() - tick
                tick = time.perf_counter()
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
                timings["write"] += time.perf_counter() - tick
                for name, frame_t in tables:
                    table_rows[name] += len(frame_t)
                _add_counts(tiers, frame["tier"])
                _add_counts(score_tiers, frame["score_tier"])
                overridden += int((frame["override"] != "").sum())
                rows += len(frame)
                done += len(tables.enterprises)
                if progress is not None:
                    progress(done, total)
        finally:
            if writer is not None:
                writer.close()
        output_sha = _file_sha256(tmp)
        manifest_file.unlink(missing_ok=True)  # never a manifest of another output
    from creditrisk._version import __version__

    manifest = {
        "creditrisk_version": __version__,
        "output": {"path": str(out), "sha256": output_sha, "rows": rows},
        "as_of": [str(d.date()) for d in dates],
        "model": model_info,
        "data": data_info | {"rows": table_rows, "span": [str(d.date()) for d in span]},
        "entities": {"in_register": total, "scored": int(rows // max(len(dates), 1))},
        "rows": rows,
        "tiers": tiers,
        "score_tiers": score_tiers,
        "overridden": overridden,
        "chunk_size": chunk_size,
        "chunks": len(register),
        "timings_s": {k: round(v, 3) for k, v in timings.items()}
        | {"total": round(time.perf_counter() - started, 3)},
    }
    with atomic_file(manifest_file) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _add_counts(counts: dict[str, int], column: pd.Series) -> None:
    for key, value in column.value_counts(sort=False).items():
        counts[str(key)] = counts.get(str(key), 0) + int(value)


def resolve_model(model) -> tuple[RiskModel, dict]:
    """A RiskModel and what identifies it (source, registry version, model hash).

    Batch scoring knows nothing of the MLflow registry: a ``models:/`` or ``runs:/``
    URI is resolved by :func:`creditrisk.jobs.tracking.load_model` (or
    :func:`~creditrisk.jobs.tracking.resolve_model`, which also takes directories), and
    the model it returns remembers its source and version in ``origin_``.

    Parameters
    ----------
    model : RiskModel, str or path-like
        A fitted model, or a model directory.

    Returns
    -------
    model : RiskModel
        The model, loaded if a directory was given.
    info : dict
        ``source``, ``version`` (the registry version, or None), ``model_sha256``,
        ``training_fingerprint``, ``trees`` and ``policy``.

    Raises
    ------
    ModelError
        ``model`` is a registry URI, or a directory that is not a model.

    Examples
    --------
    >>> import creditrisk as cr
    >>> model, info = resolve_model(cr.sample_model_path())
    >>> info["policy"], len(info["model_sha256"])
    ('national', 64)
    """
    if isinstance(model, RiskModel):
        model._check_fitted()
    elif str(model).startswith(("models:/", "runs:/")):
        raise ModelError(
            f"{model} is an MLflow registry URI: load it with "
            "creditrisk.jobs.tracking.load_model and pass the model"
        )
    else:
        model = RiskModel.load(Path(model))
    origin = getattr(model, "origin_", None) or {"source": "RiskModel in memory", "version": None}
    info = dict(origin)
    _, meta = model._parts()
    info |= {
        "model_sha256": meta["files"]["model.txt"],
        "training_fingerprint": model.training_["fingerprint"],
        "trees": model.n_trees_,
        "policy": model.policy_.name,
    }
    return model, info
