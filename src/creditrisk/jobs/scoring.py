"""Batch scoring of a whole register: chunk by chunk, written atomically, with a manifest.

:func:`score_register` reads the event tables one chunk of entities at a time (a range
of entity ids, read from parquet with a row filter), builds the point-in-time features
of each chunk, scores them (probability, tier, reasons) and appends the chunk to one
parquet file. Memory is bounded by the chunk, not by the register. Every feature uses
only the entity's own events, so the rows equal those of scoring the register at once.

The output appears complete or not at all: it is written under a temporary name and
committed with its manifest as one unit, so a job killed midway leaves the previous
output and manifest untouched (and the next run removes what it left). Beside it,
``<name>.manifest.json`` records the model (registry name, version, run, tracking store,
a digest of its files and whether its signature was verified), the data (file hashes),
the as-of dates, row and tier counts and timings.

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
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from creditrisk.data import validation
from creditrisk.data.paths import atomic_files, check_output
from creditrisk.data.register import Register, extraction_date
from creditrisk.data.schema import (
    ALL_TABLE_NAMES,
    TABLE_NAMES,
    TABLES,
    Problem,
    SchemaError,
    as_dates,
    offending_rows,
)
from creditrisk.data.spine import (
    INDICATOR_KNOWN_DATE_COLUMNS,
    KNOWN_DATE_COLUMNS,
    as_of_list,
    check_dates,
    data_span,
    spine,
)
from creditrisk.data.sql import is_url, read_columns, read_frames
from creditrisk.data.tables import EventTables, file_problems, read_parquet
from creditrisk.data.validation import cross_entity_keys, duplicate_keys
from creditrisk.features import FeatureSpec
from creditrisk.features.builder import build_features
from creditrisk.features.declared import Declared
from creditrisk.model.estimator import ModelError, RiskModel
from creditrisk.model.integrity import files_digest

__all__ = [
    "ChunkedRegister",
    "ScoringProcessError",
    "manifest_path",
    "merge_problems",
    "resolve_model",
    "score_chunk",
    "score_register",
]

Progress = Callable[[int, int], None]


class ScoringProcessError(RuntimeError):
    """A scoring process ended abruptly (killed, out of memory): nothing was written.

    Raised by :func:`score_register` with ``n_jobs`` above 1; the message names the
    chunk and what to try (fewer processes, smaller chunks).

    Examples
    --------
    >>> err = ScoringProcessError("a scoring process ended abruptly")
    >>> isinstance(err, RuntimeError)
    True
    """


#: the tables that related-party features read of the whole register
_RELATED = ("enterprises", "roles", "changes", "list_entries", "penalties")


class ChunkedRegister:
    """Event tables read one range of entity ids at a time.

    ``source`` is a directory of parquet files (each chunk is read with a row filter,
    so memory follows the chunk), a database URL (each chunk is read with its range of
    entity ids, and the register's filters, in the SQL: memory follows the chunk too),
    a directory holding CSV files (read once: CSV cannot be filtered) or an
    :class:`EventTables`. Chunks are ranges of the sorted entity ids
    of ``enterprises`` (compared as text, whatever the files' id type); the first and
    last ranges are open and rows without an entity id belong to the first, so every
    row belongs to exactly one chunk, even one naming an unknown entity or none (which
    validation reports).

    Validation does not depend on the chunks: :meth:`problems` finds in a chunk what
    whole-register validation finds in the same rows (an optional column counts as
    present when the register has it anywhere), :meth:`check_keys` checks keys that
    are not per entity on the whole register, and :meth:`check_rows` that the chunks
    read every row of every file.

    Parameters
    ----------
    source : str, path-like or EventTables
        A directory of ``<table>.parquet`` or ``<table>.csv`` files, a database URL
        (:func:`creditrisk.data.sql.read_frames` reads it), or the tables.
    chunk_size : int, default 250_000
        Entities per chunk (the last chunk may hold fewer).
    register : Register, optional
        The register mapping of a directory or a database (its tables, columns,
        filters and ``extracted_on``); default: the tables' own, or the identity.

    Raises
    ------
    ValueError
        ``chunk_size`` is below 1.
    FileNotFoundError
        ``source`` is a path but not a directory.
    SchemaError
        A directory whose files cannot be read, or misnamed.

    Examples
    --------
    >>> import creditrisk as cr
    >>> register = ChunkedRegister(cr.load_sample(), chunk_size=6_000)
    >>> [len(t.enterprises) for t in register]
    [6000, 4000]
    """

    def __init__(
        self,
        source: str | os.PathLike | EventTables,
        chunk_size: int = 250_000,
        register: Register | None = None,
    ):
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
        self.chunk_size = chunk_size
        self.root: Path | None = None
        self._tables: EventTables | None = None
        self.files: dict[str, Path] = {}
        self._schemas: dict[str, pa.Schema] = {}
        self._related: EventTables | None = None
        self._span: tuple[pd.Timestamp, pd.Timestamp] | None = None
        #: the database URL of a register read by SQL, chunk by chunk (else None)
        self.url: str | None = None
        if isinstance(source, EventTables):
            self._tables = source
            self.register = register or source.register
        elif is_url(source):
            self.url = str(source)
            self.register = register or Register()
        else:
            self.register = register or Register()
            self.root = Path(source)
            if not self.root.is_dir():
                raise FileNotFoundError(f"no event-table directory at {self.root}")
            if not self._chunkable():  # CSV, a mapping, unreadable files: read whole
                self._tables = EventTables.read(self.root, register=self.register)
                self.files = dict(self._tables.files)
        if self._tables is not None:
            self.files = dict(self._tables.files)
        self._required = self._present_required()
        years = pd.to_numeric(self._column("annual_reports", "report_year"), errors="coerce")
        #: what the whole register covers (see EventTables.part_of)
        self.coverage = {"first_report_year": int(years.min())} if years.notna().any() else {}
        if self._tables is not None and self._tables.coverage:  # itself a part of a register
            self.coverage = dict(self._tables.coverage)
        ids = self._column("enterprises", "entity_id")
        self.entity_ids = _sorted_unique(ids[ids.notna()].astype("str"))
        self.bounds = [
            (
                None if i == 0 else str(self.entity_ids[i]),
                None
                if i + chunk_size >= len(self.entity_ids)
                else str(self.entity_ids[i + chunk_size]),
            )
            for i in range(0, max(len(self.entity_ids), 1), chunk_size)
        ]

    @property
    def sources(self) -> tuple[Path, ...]:
        """What is read: the directory and its files (for the output guard).

        Returns
        -------
        tuple of pathlib.Path
            The directory and every file read (empty for tables in memory not read
            from files).

        Examples
        --------
        >>> import creditrisk as cr
        >>> ChunkedRegister(cr.load_sample()).sources[0].name
        'sample'
        """
        if self._tables is not None:
            return tuple(self._tables.sources)
        if self.url is not None:
            return ()
        return (self.root, *self.files.values())

    def _chunkable(self) -> bool:
        """A directory of our parquet files whose entity ids a row filter can read."""
        import pyarrow.types as pt

        if self.register.tables or file_problems(self.root, self.register):
            return False
        for name in ALL_TABLE_NAMES:
            parquet, csv = self.root / f"{name}.parquet", self.root / f"{name}.csv"
            if csv.exists():
                return False
            if not parquet.is_file():
                if name == "enterprises":
                    return False
                continue
            try:
                schema = pq.read_schema(parquet)
            except Exception:
                return False
            if "entity_id" not in schema.names:
                return False
            kind = schema.field("entity_id").type
            if pt.is_dictionary(kind):
                kind = kind.value_type
            if not (pt.is_string(kind) or pt.is_large_string(kind) or pt.is_integer(kind)):
                return False
            self.files[name] = parquet
            self._schemas[name] = schema
        return True

    def __len__(self) -> int:
        return len(self.bounds)

    def __iter__(self):
        for low, high in self.bounds:
            yield self.chunk(low, high)

    def _columns(self, table: str, columns: list[str]) -> pd.DataFrame:
        """Some columns of a whole table (only those are read from parquet); a column
        the table does not have comes back empty."""
        if self._tables is not None:
            frame = getattr(self._tables, table)
            present = [c for c in columns if c in frame.columns]
            return frame[present].reindex(columns=columns)
        if self.url is not None:
            return read_columns(self.url, table, columns, register=self.register)
        if table not in self.files:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        present = [c for c in columns if c in self._schemas[table].names]
        frame = read_parquet(self.files[table], table, columns=present)
        return frame.reindex(columns=columns)

    def _column(self, table: str, column: str) -> pd.Series:
        return self._columns(table, [column])[column]

    def _present_required(self) -> dict[str, list[str]]:
        """Optional columns that may not be empty, which the register has somewhere."""
        found: dict[str, list[str]] = {}
        for name, schema in TABLES.items():
            for col in schema.columns:
                wanted = col.optional and not col.nullable
                if wanted and self._column(name, col.name).notna().any():
                    found.setdefault(name, []).append(col.name)
        return found

    def chunk(self, low: str | None, high: str | None) -> EventTables:
        """The tables of entities with ``low <= entity_id < high`` (None: unbounded).

        Rows without an entity id belong to the first chunk (``low`` None).

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

        Raises
        ------
        SchemaError
            The rows break the data model where it can be seen row by row (dtypes,
            vocabularies): the problem names the table, column and rows.

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
            frames = {name: _in_range(getattr(whole, name), low, high) for name in ALL_TABLE_NAMES}
            extra = {name: _in_range(frame, low, high) for name, frame in whole.extra.items()}
            tables = EventTables(**frames, extra=extra, register=whole.register)
            # the whole register rides along, for the features that read related parties
            tables = tables._read_from(whole.sources, whole.files).part_of(whole)
            object.__setattr__(tables, "coverage", MappingProxyType(dict(self.coverage)))
            return tables
        if self.url is not None:
            frames = read_frames(self.url, register=self.register, entities=(low, high))
            extra = {n: frames.pop(n) for n in self.register.extra_tables if n in frames}
            tables = EventTables(**frames, extra=extra, register=self.register)
            tables = tables.part_of(self.coverage)
            related = self.related_parties()
            if related is not None:  # for the features that read linked enterprises
                object.__setattr__(tables, "whole", related)
            return tables
        frames = {}
        for name in ALL_TABLE_NAMES:
            if name not in self.files:
                continue
            condition = _range_filter(self._schemas[name].field("entity_id").type, low, high)
            frames[name] = read_parquet(self.files[name], name, filters=condition)
        try:
            tables = EventTables(**frames, register=self.register)
        except SchemaError as err:
            raise SchemaError(_named(err.problems, self.files)) from None
        tables = tables._read_from(self.sources, self.files).part_of(self.coverage)
        related = self.related_parties()
        if related is not None:  # for the features that read linked enterprises
            object.__setattr__(tables, "whole", related)
        return tables

    def related_parties(self) -> EventTables | None:
        """The whole register's tables that related-party features read, read once.

        Only for a parquet directory or a database with roles or addresses: a chunk then
        carries them (``EventTables.whole``), so a feature that reads the enterprises
        linked to one gives what the whole register gives, whatever chunk the enterprise
        is in. From a database they are read whole, once (memory then follows the
        register, not the chunk).

        Returns
        -------
        EventTables or None
            ``enterprises``, ``roles``, ``changes``, ``list_entries`` and ``penalties``
            of the whole register; None when there are no roles and no addresses, or the
            tables are in memory (their chunks carry the whole tables themselves).

        Examples
        --------
        >>> import creditrisk as cr
        >>> ChunkedRegister(cr.load_sample()).related_parties() is None
        True
        """
        if self._tables is not None or (self.root is None and self.url is None):
            return None
        if self._related is None:
            addresses = self._column("enterprises", "address_id").notna().any()
            if self.url is not None:
                if not addresses and not len(self._column("roles", "entity_id")):
                    return None
                # these five tables of the whole register, read once: memory is not
                # bounded by the chunk for a database register with related parties
                frames = read_frames(self.url, register=self.register, only=_RELATED)
            else:
                if "roles" not in self.files and not addresses:
                    return None
                frames = {n: read_parquet(self.files[n], n) for n in _RELATED if n in self.files}
            self._related = EventTables(**frames, register=self.register)
        return self._related

    def problems(self, tables: EventTables) -> list[Problem]:
        """What validation finds in one chunk, as it finds it in the whole register.

        Parameters
        ----------
        tables : EventTables
            One chunk (:meth:`chunk`).

        Returns
        -------
        list of Problem
            The data model's rules (:meth:`EventTables.validate`), and empty values in
            an optional column the register has elsewhere, which a chunk alone would
            take for an absent column.

        Examples
        --------
        >>> import creditrisk as cr
        >>> register = ChunkedRegister(cr.load_sample(), chunk_size=4_000)
        >>> register.problems(register.chunk(None, None))
        []
        """
        problems = validation.check(tables)
        reported = {(p.table, p.column, p.rule) for p in problems}
        for name, columns in self._required.items():
            frame = getattr(tables, name)
            for column in columns:
                empty = frame[column].isna().to_numpy()
                if empty.all() and empty.any() and (name, column, "required") not in reported:
                    n, rows = offending_rows(frame, empty, name, [column])
                    problems.append(Problem(name, column, "required", "values are empty", n, rows))
        return _named(problems, self.files)

    def all_problems(self, skip: int = -1) -> list[Problem]:
        """Every chunk's problems (but chunk ``skip``'s), merged: validation of the whole.

        Parameters
        ----------
        skip : int, default -1
            A chunk already validated (its position in :attr:`bounds`).

        Returns
        -------
        list of Problem
            The problems, one per table, column, rule and detail, with the rows of all
            chunks counted and the first five shown.

        Examples
        --------
        >>> import creditrisk as cr
        >>> ChunkedRegister(cr.load_sample(), chunk_size=4_000).all_problems()
        []
        """
        problems: list[Problem] = []
        for i, (low, high) in enumerate(self.bounds):
            if i == skip:
                continue
            try:
                problems += self.problems(self.chunk(low, high))
            except SchemaError as err:
                problems += err.problems
        return merge_problems(problems)

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
            if frame[key].isna().all(axis=None):
                continue  # the register has no such key: ids are made per entity
            problems += duplicate_keys(frame, name, key)
        if problems:
            raise SchemaError(_named(problems, self.files))

    def check_rows(self, rows: dict[str, int]) -> None:
        """Refuse a read that lost rows: every file's rows must be in some chunk.

        Parameters
        ----------
        rows : dict of str to int
            Rows read per table, over all chunks.

        Raises
        ------
        SchemaError
            A table's chunks hold fewer rows than its file (corrupt statistics, say).

        Examples
        --------
        >>> import creditrisk as cr
        >>> ChunkedRegister(cr.load_sample()).check_rows({})  # tables in memory: nothing
        """
        if self._tables is not None or self.url is not None:
            return
        problems = []
        for name, file in self.files.items():
            total = pq.ParquetFile(file).metadata.num_rows
            if rows.get(name, 0) != total:
                detail = (
                    f"the chunks read {rows.get(name, 0):,} of the file's {total:,} rows: "
                    "the file is inconsistent (corrupt statistics?)"
                )
                problems.append(Problem(name, "entity_id", "rows lost", detail, file=str(file)))
        if problems:
            raise SchemaError(problems)

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First registration and last known date of the whole register (column by column).

        Returns
        -------
        tuple of pandas.Timestamp
            ``(first, last)``: the earliest ``registered_on`` and the latest known date
            of any table, the span every chunk's as-of dates are checked against.

        Raises
        ------
        ValueError
            The register holds no dated record.

        Examples
        --------
        >>> import creditrisk as cr
        >>> first, last = ChunkedRegister(cr.load_sample()).span()
        >>> str(last.date())
        '2025-12-31'
        """
        if self._span is None:
            self._span = self._find_span()
        return self._span

    def _find_span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        if self._tables is not None:
            return data_span(self._tables)

        def dates(table: str, column: str) -> pd.Series:
            try:
                return as_dates(self._column(table, column))
            except TypeError:  # not dates: the chunk's validation says so
                return pd.Series([], dtype="datetime64[s]")

        dated = {**KNOWN_DATE_COLUMNS, **INDICATOR_KNOWN_DATE_COLUMNS}  # as data_span
        known = [
            value
            for table, columns in dated.items()
            for column in columns
            if pd.notna(value := dates(table, column).max())
        ]
        if not known:
            raise ValueError("the tables hold no dated record: there is no span to work in")
        first = dates("enterprises", "registered_on").min()
        if pd.isna(first):  # a register without registration dates: its first known record
            first = min(
                value
                for table, columns in dated.items()
                for column in columns
                if pd.notna(value := dates(table, column).min())
            ) - pd.Timedelta(days=1)
        return pd.Timestamp(first), pd.Timestamp(max(known))

    def fingerprint(self) -> dict:
        """What was read: SHA-256 of each file, or the tables' content fingerprint.

        Returns
        -------
        dict
            ``source`` (the directory, the database URL without its password, or
            ``"EventTables in memory"``), ``fingerprint`` (a SHA-256 hex digest; for a
            database None, as the content is only seen chunk by chunk:
            :func:`score_register` records a digest of every table's sorted row hashes,
            the same whatever the chunk size) and,
            for a directory, ``files``: file name → SHA-256.

        Examples
        --------
        >>> import creditrisk as cr
        >>> info = ChunkedRegister(cr.load_sample()).fingerprint()
        >>> info["source"], len(info["fingerprint"])
        ('EventTables in memory', 64)
        """
        if self.url is not None:
            import sqlalchemy as sa

            shown = sa.make_url(self.url).render_as_string(hide_password=True)
            return {"source": shown, "fingerprint": None}
        if self.root is None:
            return {"source": "EventTables in memory", "fingerprint": self._tables.fingerprint()}
        files = {}
        for name in ALL_TABLE_NAMES:
            for path in (self.root / f"{name}.parquet", self.root / f"{name}.csv"):
                if path.exists():
                    files[path.name] = _file_sha256(path)
                    break
        combined = hashlib.sha256("".join(f"{k}:{v}\n" for k, v in files.items()).encode())
        return {"source": str(self.root), "fingerprint": combined.hexdigest(), "files": files}


def _sorted_unique(ids: pd.Series) -> np.ndarray:
    """The distinct ids in text order, as an object array (Arrow sorts text 3x faster
    than NumPy sorts objects; UTF-8 byte order is code point order, NumPy's)."""
    import pyarrow.compute as pc

    distinct = pc.unique(pa.array(ids, type=pa.large_string()))
    return pc.take(distinct, pc.sort_indices(distinct)).to_numpy(zero_copy_only=False)


def _range_filter(kind, low: str | None, high: str | None):
    """The row filter of one chunk: ids compared as text; no id: the first chunk."""
    import pyarrow.compute as pc

    ids = pc.field("entity_id")
    if kind != pa.string():
        ids = ids.cast(pa.string())
    condition = None
    if low is not None:
        condition = ids >= low
    if high is not None:
        condition = ids < high if condition is None else condition & (ids < high)
    if low is None and condition is not None:
        condition = condition | pc.field("entity_id").is_null()
    return condition


def _named(problems: list[Problem], files: dict) -> list[Problem]:
    for problem in problems:
        if problem.file is None and problem.table in files:
            problem.file = str(files[problem.table])
    return problems


def merge_problems(problems: list[Problem]) -> list[Problem]:
    """One problem per table, column, rule and detail: rows counted, first five shown.

    Chunks each report the rows they hold; merged, they read as the problems of the
    whole register.

    Parameters
    ----------
    problems : list of Problem
        Problems of several chunks.

    Returns
    -------
    list of Problem
        In the order each was first found.

    Examples
    --------
    >>> a = Problem("penalties", "fine_amount", "non-negative", "values must be >= 0", 2)
    >>> b = Problem("penalties", "fine_amount", "non-negative", "values must be >= 0", 3)
    >>> merge_problems([a, b])[0].n_rows
    5
    """
    merged: dict[tuple, Problem] = {}
    for problem in problems:
        key = (problem.table, problem.column, problem.rule, problem.detail)
        if key not in merged:
            merged[key] = dataclasses.replace(problem)
            continue
        into = merged[key]
        into.n_rows += problem.n_rows
        if problem.rows is not None:
            rows = problem.rows if into.rows is None else pd.concat([into.rows, problem.rows])
            into.rows = rows.head(5)
    return list(merged.values())


def _in_range(frame: pd.DataFrame, low: str | None, high: str | None) -> pd.DataFrame:
    ids = frame["entity_id"].astype("str")
    missing = ids.isna().to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    if low is not None:
        keep &= (ids >= low).fillna(False).to_numpy(dtype=bool)
    if high is not None:
        keep &= (ids < high).fillna(False).to_numpy(dtype=bool)
    if low is None:
        keep |= missing
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
    (78, ())
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
    return _chunk_scores(_chunk_features(tables, model, as_of, span), model, features, top_k)


def _chunk_features(tables: EventTables, model: RiskModel, as_of, span) -> pd.DataFrame:
    """The features of one chunk: the part of :func:`score_chunk` before the model."""
    tables = _own_features_only(tables)
    rows = spine(tables, as_of, span=span)
    return build_features(tables, rows, feature_spec(model), span=span)


def _chunk_scores(
    X: pd.DataFrame, model: RiskModel, features: bool = True, top_k: int | None = None
) -> pd.DataFrame:
    """The model's part of :func:`score_chunk`: scores, tiers, reasons (and features)."""
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
    extracted_on=None,
    register: Register | None = None,
    overlap: bool | str = True,
    n_jobs: int | None = None,
) -> dict:
    """Score a register chunk by chunk into one parquet file; return its manifest.

    ``data``: a directory of event tables, a database URL (each chunk read by SQL, see
    :class:`ChunkedRegister`) or an :class:`EventTables`. ``model``: a
    :class:`RiskModel` or a model directory; an MLflow URI (``models:/creditrisk@champion``)
    is refused, as batch scoring knows nothing of the registry: resolve it with
    :func:`creditrisk.jobs.tracking.load_model` and pass the model.
    ``progress(done, total)`` is called with entities done after every chunk; an
    exception raised anywhere (the callback included) leaves no output behind.

    The scores and their manifest are committed as one unit: both or neither, the
    previous pair untouched until then (:func:`creditrisk.data.paths.atomic_files`);
    what a killed run left behind is cleaned up first. ``out`` may not be, contain or
    lie inside an input (:func:`creditrisk.data.paths.check_output`). Validation does
    not depend on the chunk size: a register refused whole is refused in chunks,
    with the same problems (:class:`ChunkedRegister`).

    Rows are ordered by entity_id, then as_of, whatever the chunk size.

    Parameters
    ----------
    data : str, path-like or EventTables
        A directory of ``<table>.parquet`` (read chunk by chunk) or ``<table>.csv``
        files, a database URL (read chunk by chunk), or the tables.
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
    extracted_on : date-like, optional
        The register's extraction date: a date after it is an error (default: the
        register mapping's; without one, a year past today, see
        :mod:`creditrisk.data.validation`).
    register : Register, optional
        The register mapping of a directory or database (tables, columns, filters,
        vocabularies); default: the tables' own, or the identity.
    overlap : {True, "thread", "process", False}, default True
        Read, validate and build the features of the next chunk in a second thread
        (True, ``"thread"``) or a forked process (``"process"``; a thread where there
        is no fork) while the model scores and explains this one, so both cores work.
        The rows are bit for bit those of the sequential run (``overlap=False``): each
        chunk goes through the same functions, and only their timing changes. The
        stage timings then overlap, so they add up to more than the total. Used when
        one process scores (``n_jobs`` resolving to 1).
    n_jobs : int or None, default None
        Processes scoring whole chunks side by side (read, validate, build, score,
        explain), while this one writes them in order: -1 one per core, -2 all but
        one, and so on (scikit-learn's rule); None or 1 this process alone, as in
        scikit-learn (``creditrisk score`` takes ``--jobs -1``). Never more than there
        are chunks. They are forked (the register and model are inherited, not copied
        or pickled) and die with this process; where there is no fork, this process
        scores alone. Each takes ``num_threads // processes`` threads of the model (at
        least 1). Rows are bit for bit those of one process; memory is about one chunk
        per process more.

    Returns
    -------
    dict
        The manifest, also written as JSON: ``creditrisk_version``, ``output`` (path,
        SHA-256, rows), ``as_of``, ``model`` (see :func:`resolve_model`), ``data``
        (fingerprint, rows per table, span), ``entities``, ``rows``, ``tiers``,
        ``score_tiers``, ``overridden``, ``chunk_size``, ``chunks``, ``processes`` and
        ``timings_s`` (each stage summed over the chunks: with read-ahead or several
        processes, over stages that ran at the same time).

    Raises
    ------
    ModelError
        ``model`` is a registry URI, or a directory that is not a model (or altered).
    SchemaError
        With ``validate``, data that break the data model.
    ValueError
        ``chunk_size`` below 1, ``overlap`` or ``n_jobs`` not one of their values, or
        an as-of date outside the data.
    creditrisk.data.paths.OutputError
        ``out`` (or its manifest) is an input, inside one, a directory, or cannot be
        written.
    ScoringProcessError
        With ``n_jobs`` above 1, a scoring process ended abruptly (killed, out of
        memory); nothing was written.
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
    if overlap not in (True, False, "thread", "process"):
        raise ValueError(f"overlap must be True, False, 'thread' or 'process', not {overlap!r}")
    _check_n_jobs(n_jobs)
    timings = dict.fromkeys(("read", "features_and_scores", "write"), 0.0)
    out = Path(out)
    manifest_file = manifest_path(out)
    model, model_info = resolve_model(model)
    inputs = [] if is_url(data) else [data if not isinstance(data, EventTables) else data.sources]
    inputs += [model_info["source"]] if Path(str(model_info["source"])).exists() else []
    for target in (out, manifest_file):
        check_output(target, inputs)  # before any work: never after it
    if extracted_on is not None:
        register = _with_extraction(register or data, extracted_on)
    register = ChunkedRegister(data, chunk_size, register)
    dates = as_of_list(as_of)
    hashing = ThreadPoolExecutor(1, "creditrisk-fingerprint")
    try:  # the files are hashed (the GIL released) while the register is checked
        fingerprint = hashing.submit(register.fingerprint)
        _check_whole(register, dates, validate)
        data_info = fingerprint.result()
    finally:
        hashing.shutdown(wait=True, cancel_futures=True)
    total, done, rows, table_rows = len(register.entity_ids), 0, 0, dict.fromkeys(TABLE_NAMES, 0)
    tiers: dict[str, int] = {}
    score_tiers: dict[str, int] = {}
    overridden = 0
    span = register.span()
    row_hashes: dict[str, list[np.ndarray]] = {}
    with atomic_files(out, manifest_file, inputs=[*inputs, *register.sources]) as (
        tmp,
        tmp_manifest,
    ):
        writer = None
        job = {"register": register, "model": model, "dates": dates, "span": span}
        job |= {"validate": validate, "features": features, "top_k": top_k}
        processes = _processes(n_jobs, len(register.bounds))
        chunks = _scored_chunks(job, overlap, processes)
        try:
            for result in chunks:
                if isinstance(result, SchemaError):
                    raise SchemaError(result.problems) from None
                counts, entities, table, hashes, summary, seconds = result
                for name, found in hashes.items():
                    row_hashes.setdefault(name, []).extend(found)
                for stage, spent in seconds.items():
                    timings[stage] += spent
                tick = time.perf_counter()
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, write_page_checksum=True)
                writer.write_table(table.cast(writer.schema))
                timings["write"] += time.perf_counter() - tick
                for name, n in counts.items():
                    table_rows[name] = table_rows.get(name, 0) + n
                for key, found in (("tiers", tiers), ("score_tiers", score_tiers)):
                    for name, n in summary[key].items():
                        found[name] = found.get(name, 0) + n
                overridden += summary["overridden"]
                rows += table.num_rows
                done += entities
                del table, result
                if progress is not None:
                    progress(done, total)
            register.check_rows(table_rows)
            if register.url is not None:  # the content, whatever the chunks
                data_info["fingerprint"] = _rows_digest(row_hashes)
        finally:
            chunks.close()  # no worker outlives the run
            if writer is not None:
                writer.close()
        output_sha = _file_sha256(tmp)
        from creditrisk._version import __version__

        manifest = {
            "creditrisk_version": __version__,
            "output": {"path": str(out), "sha256": output_sha, "rows": rows},
            "as_of": [str(d.date()) for d in dates],
            "model": model_info,
            "data": data_info
            | {
                "rows": table_rows,
                "span": [str(d.date()) for d in span],
                "extracted_on": _extraction_text(register.register),
            },
            "entities": {"in_register": total, "scored": int(rows // max(len(dates), 1))},
            "rows": rows,
            "tiers": tiers,
            "score_tiers": score_tiers,
            "overridden": overridden,
            "chunk_size": chunk_size,
            "chunks": len(register),
            "processes": processes,
            "timings_s": {k: round(v, 3) for k, v in timings.items()}
            | {"total": round(time.perf_counter() - started, 3)},
        }
        tmp_manifest.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


_JOB: dict = {}  # in a worker process (or the read-ahead thread): what every chunk needs


def _set_job(job: dict, threads: int | None = None, parent: int | None = None) -> None:
    _JOB.clear()
    _JOB.update(job)
    if parent is not None:  # a forked worker
        _die_with(parent)
    if threads is not None:  # a forked scoring process: its share of the cores
        _JOB["model"].set_params(num_threads=threads)
        pa.set_cpu_count(threads)  # Arrow's decoding threads too


def _die_with(parent: int) -> None:
    """End this worker when ``parent`` ends, however it ends (a SIGKILL of the job
    alone included): on Linux, the kernel sends SIGKILL (``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent ended before the signal was set
        os._exit(1)


def _processes(n_jobs: int | None, chunks: int) -> int:
    """The processes that score whole chunks side by side: ``n_jobs`` resolved the way
    scikit-learn resolves it, no more than there are chunks, and 1 without fork."""
    import multiprocessing

    if n_jobs is None or chunks < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - platforms without affinity
        cores = os.cpu_count() or 1
    wanted = n_jobs if n_jobs > 0 else max(cores + 1 + n_jobs, 1)
    return min(wanted, chunks)


def _check_n_jobs(n_jobs) -> None:
    if n_jobs is not None and (
        isinstance(n_jobs, bool) or not isinstance(n_jobs, int | np.integer) or n_jobs == 0
    ):
        raise ValueError(f"n_jobs must be a non-zero integer or None, not {n_jobs!r}")


def _scored_chunks(job: dict, overlap: bool | str, processes: int):
    """Every chunk scored, in chunk order (see :func:`_finish_chunk` for what each is).

    With several ``processes``, forked workers take whole chunks (read, validate, build,
    score, explain, convert to Arrow) while this process writes them in order; at most
    ``processes + 1`` chunks are in flight. Otherwise the chunks are scored here, the
    next one read and built ahead with ``overlap``. Either way each chunk goes through
    the same functions, so the rows are the same. Closing the generator stops the
    workers.
    """
    n = len(job["register"].bounds)
    if processes > 1:
        job["register"].related_parties()  # read once, here, and inherited by the workers
        threads = max(1, job["model"].num_threads // processes)
        pool = _fork_pool(processes, job, threads)
        try:
            ahead = deque(pool.submit(_scored_chunk, i) for i in range(min(n, processes + 1)))
            for i in range(n):
                try:
                    result = ahead.popleft().result()
                except BrokenProcessPool:
                    raise ScoringProcessError(
                        f"a scoring process ended abruptly (killed, or out of memory?) with "
                        f"chunk {i + 1} of {n} not yet scored; nothing was written: run again "
                        f"with fewer processes (n_jobs, --jobs) or smaller chunks"
                    ) from None
                if i + processes + 1 < n:
                    ahead.append(pool.submit(_scored_chunk, i + processes + 1))
                yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return
    pool = _read_ahead_pool(job, overlap == "process") if overlap else None
    try:
        ahead = pool.submit(_prepare_chunk, 0) if pool else None
        for i in range(n):
            ready = ahead.result() if pool else _prepare_chunk(i, job)
            if pool and i + 1 < n:
                # the next chunk is read and built while this one is scored
                ahead = pool.submit(_prepare_chunk, i + 1)
            yield _finish_chunk(ready, job)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _fork_pool(processes: int, job: dict, threads: int | None):
    """Forked worker processes holding ``job`` (inherited, not pickled)."""
    import multiprocessing
    import warnings
    from concurrent.futures import ProcessPoolExecutor

    with warnings.catch_warnings():  # Python warns at any fork of a threaded process
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = ProcessPoolExecutor(
            processes,
            multiprocessing.get_context("fork"),
            initializer=_set_job,
            initargs=(job, threads, os.getpid()),
        )
        pool.submit(int).result()  # fork now (all workers at once), inside the filter
    return pool


def _read_ahead_pool(job: dict, process: bool):
    """One worker that reads, validates and builds the next chunk while the caller scores.

    A thread, or with ``process`` a forked process where the platform has fork (its
    own interpreter, whatever holds the GIL; the register and model are inherited, not
    pickled; only the chunk number goes out and the features come back).
    """
    import multiprocessing

    if not process or "fork" not in multiprocessing.get_all_start_methods():
        return ThreadPoolExecutor(1, "creditrisk-chunk", initializer=_set_job, initargs=(job,))
    return _fork_pool(1, job, None)


def _scored_chunk(i: int):
    """A scoring process's whole part of chunk ``i``."""
    return _finish_chunk(_prepare_chunk(i), _JOB)


def _finish_chunk(ready, job: dict):
    """A prepared chunk (:func:`_prepare_chunk`) scored and made into an Arrow table.

    Returns the rows per table, the entities, the table, the row hashes, the tier
    counts (``tiers``, ``score_tiers``, ``overridden``) and the seconds per stage; or
    the prepared chunk's SchemaError.
    """
    if isinstance(ready, SchemaError):
        return ready
    counts, entities, X, hashes, read, built = ready
    tick = time.perf_counter()
    frame = _chunk_scores(X, job["model"], features=job["features"], top_k=job["top_k"])
    scored = time.perf_counter() - tick
    tick = time.perf_counter()
    summary = {
        "tiers": _value_counts(frame["tier"]),
        "score_tiers": _value_counts(frame["score_tier"]),
        "overridden": int((frame["override"] != "").sum()),
    }
    table = pa.Table.from_pandas(frame, preserve_index=False)
    seconds = {"read": read, "features_and_scores": built + scored}
    return counts, entities, table, hashes, summary, seconds | {"write": time.perf_counter() - tick}


def _prepare_chunk(i: int, job: dict | None = None):
    """Chunk ``i`` read, validated and made into features: the read-ahead worker's part.

    Returns the rows per table, the entities, the features, the row hashes of a
    database register, and the seconds spent reading and building; or the
    SchemaError (returned, not raised: its problems cross a process boundary whole).
    """
    job = _JOB if job is None else job
    register, validate = job["register"], job["validate"]
    tick = time.perf_counter()
    low, high = register.bounds[i]
    try:
        try:
            tables = register.chunk(low, high)
            if validate and (found := register.problems(tables)):
                raise SchemaError(found)
        except SchemaError as err:
            if not validate:
                raise
            # the whole register's problems, not this chunk's: chunk-independent
            raise SchemaError(merge_problems(err.problems + register.all_problems(i))) from None
    except SchemaError as err:
        return err
    hashes: dict[str, list[np.ndarray]] = {}
    if register.url is not None:
        _add_row_hashes(hashes, tables)
    read = time.perf_counter() - tick
    X = _chunk_features(tables, job["model"], job["dates"], job["span"])
    counts = {name: len(frame) for name, frame in tables}
    built = time.perf_counter() - tick - read
    return counts, len(tables.enterprises), X, hashes, read, built


def _add_row_hashes(hashes: dict[str, list[np.ndarray]], tables: EventTables) -> None:
    """Collect one 64-bit hash per row of every table of a chunk (values, not order)."""
    for name, frame in tables:
        cols = TABLES[name].names if name in TABLES else list(frame.columns)
        row = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
        hashes.setdefault(name, []).append(row)


def _rows_digest(hashes: dict[str, list[np.ndarray]]) -> str:
    """SHA-256 over each table's sorted row hashes: the same for the same rows, whatever
    the chunk size or the order the database returned them in."""
    digest = hashlib.sha256()
    for name in sorted(hashes):
        digest.update(name.encode())
        digest.update(np.sort(np.concatenate(hashes[name])).tobytes())
    return digest.hexdigest()


def _with_extraction(data, extracted_on) -> Register:
    """The register mapping of ``data`` (or ``data`` itself) with its extraction date set."""
    if isinstance(data, Register):
        base = data
    else:
        base = data.register if isinstance(data, EventTables) else Register()
    return dataclasses.replace(base, extracted_on=extraction_date(extracted_on))


def _extraction_text(register: Register) -> str | None:
    given = register.extracted_on
    return None if given is None else str(given.date())


def _check_whole(register: ChunkedRegister, dates, validate: bool) -> None:
    """What only the whole register shows: keys across chunks, the span of its dates.

    When anything is wrong, every chunk is validated too, so the error is the one
    whole-register validation gives, whatever the chunk size.
    """
    problems: list[Problem] = []
    date_error: ValueError | None = None
    if validate:
        try:
            register.check_keys()
        except SchemaError as err:
            problems += err.problems
    try:
        check_dates(dates, *register.span())
    except ValueError as exc:
        date_error = exc
    if validate and (problems or date_error is not None):
        problems = merge_problems(problems + register.all_problems())
    if problems:
        raise SchemaError(problems)
    if date_error is not None:
        raise date_error


def _value_counts(column: pd.Series) -> dict[str, int]:
    return {str(key): int(value) for key, value in column.value_counts(sort=False).items()}


def resolve_model(model) -> tuple[RiskModel, dict]:
    """A RiskModel and what identifies it (source, registry version, model digest).

    Batch scoring knows nothing of the MLflow registry: a ``models:/`` or ``runs:/``
    URI is resolved by :func:`creditrisk.jobs.tracking.load_model` (or
    :func:`~creditrisk.jobs.tracking.resolve_model`, which also takes directories), and
    the model it returns remembers its source, registry name, version, run and store in
    ``origin_``.

    Parameters
    ----------
    model : RiskModel, str or path-like
        A fitted model, or a model directory.

    Returns
    -------
    model : RiskModel
        The model, loaded if a directory was given.
    info : dict
        ``source``, ``registered_model``, ``version`` and ``run_id`` (None unless the
        model came from MLflow), ``tracking_uri``, ``model_sha256`` (one SHA-256 over
        model.txt and metadata.json, see
        :func:`creditrisk.model.integrity.files_digest`), ``signature`` (whether it
        was verified, see :mod:`creditrisk.model.signing`), ``training_fingerprint``,
        ``trees`` and ``policy``.

    Raises
    ------
    ModelError
        ``model`` is a registry URI, or a directory that is not a model.

    Examples
    --------
    >>> import creditrisk as cr
    >>> model, info = resolve_model(cr.sample_model_path())
    >>> info["policy"], len(info["model_sha256"]), info["signature"]["verified"]
    ('national', 64, False)
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
    origin = dict(getattr(model, "origin_", None) or {"source": "RiskModel in memory"})
    digest = origin.pop("sha256", None)
    if digest is None:  # in memory: the digest of the files save would write
        files = model._file_bytes()
        digest = files_digest({name: hashlib.sha256(b).hexdigest() for name, b in files.items()})
    signature = origin.pop("signature", None) or {
        "verified": False,
        "reason": "a model in memory, not loaded from a directory",
    }
    info = {
        "source": origin.pop("source", "RiskModel in memory"),
        "registered_model": origin.pop("registered_model", None),
        "version": origin.pop("version", None),
        "run_id": origin.pop("run_id", None),
        "tracking_uri": origin.pop("tracking_uri", None),
        **origin,
        "model_sha256": digest,
        "signature": signature,
        "training_fingerprint": model.training_["fingerprint"],
        "trees": model.n_trees_,
        "policy": model.policy_.name,
    }
    return model, info
