"""EventTables: the six tables of an entity's public credit history, typed and validated.

Example
-------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> tables.validate() is tables
True
>>> sorted(tables.summary().index)[:2]
['annual_reports', 'enterprises']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from creditrisk.data import sql, validation
from creditrisk.data.schema import TABLE_NAMES, TABLES, Problem, SchemaError, coerce_table

__all__ = ["EventTables", "atomic_file", "load_sample"]

Format = Literal["parquet", "csv"]


@dataclass(frozen=True, eq=False)
class EventTables:
    """The six event tables, coerced to the data model's dtypes on construction.

    Columns and meanings are in :data:`creditrisk.data.schema.TABLES` (and
    ``data/sample/README.md``). Construction only coerces dtypes (raising
    :class:`~creditrisk.SchemaError` on unreadable values); :meth:`validate` checks the
    rules between rows and tables.

    Example
    -------
    >>> import creditrisk as cr
    >>> from creditrisk.data.schema import empty_table
    >>> ent = pd.DataFrame({"entity_id": ["E1"], "entity_type": ["company"],
    ...     "industry": ["retail"], "key_sector": ["none"], "region": ["north"],
    ...     "registered_capital": [1e6], "registered_on": ["2015-03-02"],
    ...     "deregistered_on": [None]})
    >>> others = {t: empty_table(t) for t in cr.schema.TABLE_NAMES if t != "enterprises"}
    >>> tables = cr.EventTables(enterprises=ent, **others).validate()
    >>> tables.enterprises["registered_on"].dtype
    dtype('<M8[s]')
    """

    enterprises: pd.DataFrame
    annual_reports: pd.DataFrame
    licenses: pd.DataFrame
    penalties: pd.DataFrame
    inspections: pd.DataFrame
    list_entries: pd.DataFrame

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for name in TABLE_NAMES:
            frame = getattr(self, name)
            if not isinstance(frame, pd.DataFrame):
                problems.append(
                    Problem(name, None, "wrong type", f"expected a DataFrame, got {type(frame)}")
                )
                continue
            try:
                object.__setattr__(self, name, coerce_table(frame, name))
            except SchemaError as err:
                problems += err.problems
        if problems:
            raise SchemaError(problems)

    def __copy__(self) -> EventTables:
        return self

    def __deepcopy__(self, memo) -> EventTables:
        """EventTables are values: copies share them (scikit-learn's clone included).

        Change tables with :meth:`replace`, never in place.
        """
        return self

    # -- access -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """Iterate over ``(table name, DataFrame)`` pairs in schema order."""
        return ((name, getattr(self, name)) for name in TABLE_NAMES)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame):,}" for name, frame in self)
        return f"EventTables({sizes})"

    def replace(self, **frames: pd.DataFrame) -> EventTables:
        """A copy with some tables replaced.

        Example
        -------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> len(t.replace(penalties=t.penalties.head(3)).penalties)
        3
        """
        current = {f.name: getattr(self, f.name) for f in fields(self)}
        return EventTables(**{**current, **frames})

    def subset(self, entity_ids: Iterable[str]) -> EventTables:
        """The tables restricted to some entities (rows of other entities dropped).

        Example
        -------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> first = t.enterprises["entity_id"].iloc[:10]
        >>> len(t.subset(first).enterprises)
        10
        """
        keep = pd.Index(pd.unique(pd.Series(list(entity_ids), dtype="str")))
        return EventTables(
            **{
                name: frame[frame["entity_id"].isin(keep)].reset_index(drop=True)
                for name, frame in self
            }
        )

    # -- checks -----------------------------------------------------------------------
    def validate(self) -> EventTables:
        """Check every rule of the data model; return ``self`` or raise SchemaError.

        The error lists every broken rule with the table, the column, the rule and up
        to five offending rows (see :mod:`creditrisk.data.validation`).

        Example
        -------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> bad = t.penalties.assign(fine_amount=-1.0)
        >>> try:
        ...     t.replace(penalties=bad).validate()
        ... except cr.SchemaError as err:
        ...     print(err.problems[0].headline().split(":")[0])
        penalties.fine_amount [non-negative]
        """
        problems = validation.check(self)
        if problems:
            raise SchemaError(problems)
        return self

    def summary(self) -> pd.DataFrame:
        """Rows, entities and the span of known dates per table.

        Example
        -------
        >>> import creditrisk as cr
        >>> int(cr.load_sample().summary().loc["enterprises", "entities"])
        10000
        """
        rows = []
        for name, frame in self:
            known = frame[TABLES[name].known_date]
            rows.append(
                {
                    "table": name,
                    "rows": len(frame),
                    "entities": frame["entity_id"].nunique(),
                    "first_known": known.min(),
                    "last_known": known.max(),
                }
            )
        return pd.DataFrame(rows).set_index("table")

    # -- files ------------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | os.PathLike) -> EventTables:
        """Read ``<table>.parquet`` or ``<table>.csv`` for each table from a directory.

        CSV files are read as text and coerced, so identifiers keep leading zeros and an
        unreadable value is reported with its row. A missing table is a SchemaError.

        Example
        -------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = cr.load_sample().write(d, format="csv", overwrite=True)
        ...     len(cr.EventTables.read(d).enterprises)
        10000
        """
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"no event-table directory at {root}")
        frames: dict[str, pd.DataFrame] = {}
        problems: list[Problem] = []
        for name in TABLE_NAMES:
            parquet, csv = root / f"{name}.parquet", root / f"{name}.csv"
            if parquet.exists():
                frames[name] = pd.read_parquet(parquet)
            elif csv.exists():
                frames[name] = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
            else:
                detail = f"neither {parquet.name} nor {csv.name} in {root}"
                problems.append(Problem(name, None, "missing table", detail))
        if problems:
            raise SchemaError(problems)
        return cls(**frames)

    @classmethod
    def read_sql(
        cls,
        source,
        tables: dict[str, str] | None = None,
        columns: dict[str, dict[str, str]] | None = None,
        where: dict | None = None,
        chunksize: int = 200_000,
        validate: bool = True,
    ) -> EventTables:
        """Read the tables from a database (a SQLAlchemy URL, Engine or Connection).

        Each table from a database table or a SQL query, columns renamed from the
        register's names to ours, filters on enterprises run in the database, chunks
        coerced as they arrive, then validated: see :func:`creditrisk.data.sql.read_frames`.

        Example
        -------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     url = f"sqlite:///{d}/register.db"
        ...     rows = sum(cr.io.write_sql(frame, url, name) for name, frame in cr.load_sample())
        ...     kept = cr.EventTables.read_sql(url, where={"region": "district_01"})
        >>> set(kept.enterprises["region"])
        {'district_01'}
        """
        frames = sql.read_frames(source, tables, columns, where, chunksize)
        result = cls(**frames)
        return result.validate() if validate else result

    def write(
        self, path: str | os.PathLike, format: Format = "parquet", overwrite: bool = False
    ) -> Path:
        """Write each table as ``<table>.<format>`` into a directory, atomically.

        Files are written into a temporary directory beside ``path`` and moved in only
        when all six are complete, so an interrupted write leaves no partial table.

        Example
        -------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = cr.load_sample().write(f"{d}/copy")
        ...     sorted(p.name for p in out.iterdir())[0]
        'annual_reports.parquet'
        """
        if format not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv', not {format!r}")
        target = Path(path)
        existing = [f for n in TABLE_NAMES for f in target.glob(f"{n}.*")]
        if existing and not overwrite:
            raise FileExistsError(f"{target} already holds tables; pass overwrite=True")
        with staging_dir(target) as staging:
            for name, frame in self:
                file = staging / f"{name}.{format}"
                if format == "parquet":
                    frame.to_parquet(file, index=False)
                else:
                    frame.to_csv(file, index=False, date_format="%Y-%m-%d")
            if not target.exists():
                staging.rename(target)
                return target
            for name in TABLE_NAMES:
                for stale in (target / f"{name}.parquet", target / f"{name}.csv"):
                    stale.unlink(missing_ok=True)
                os.replace(staging / f"{name}.{format}", target / f"{name}.{format}")
            return target

    def fingerprint(self) -> str:
        """A SHA-256 of the tables' content, stable across file formats.

        Example
        -------
        >>> import creditrisk as cr
        >>> len(cr.load_sample().fingerprint())
        64
        """
        import hashlib

        digest = hashlib.sha256()
        for name, frame in self:
            digest.update(name.encode())
            cols = TABLES[name].names
            hashed = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
            digest.update(np.ascontiguousarray(hashed).tobytes())
        return digest.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def staging_dir(target: str | os.PathLike) -> Iterator[Path]:
    """A fresh directory beside ``target`` to write into before moving files into place.

    Whatever is left in it is removed on exit, so a failed write leaves nothing behind.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with staging_dir(Path(d) / "model") as tmp:
    ...         _ = (tmp / "a.txt").write_text("A")
    ...     sorted(p.name for p in Path(d).iterdir())
    []
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes it private; use the usual mode
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def atomic_file(target: str | os.PathLike) -> Iterator[Path]:
    """Write to a temporary path beside ``target``; it becomes ``target`` only on success.

    An exception inside the block leaves ``target`` as it was and no temporary behind.

    Example
    -------
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with atomic_file(Path(d) / "scores.txt") as tmp:
    ...         _ = tmp.write_text("A")
    ...     sorted(p.name for p in Path(d).iterdir())
    ['scores.txt']
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes it private; use the usual mode
    try:
        yield tmp
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def load_sample() -> EventTables:
    """The packaged sample: 10,000 synthetic enterprises, 2018-2025 (seed 7).

    It ships inside the package, so it works from an installed wheel. See
    ``data/sample/README.md`` for every table and column.

    Example
    -------
    >>> import creditrisk as cr
    >>> tables = cr.load_sample()
    >>> len(tables.enterprises)
    10000
    """
    root = resources.files("creditrisk.data") / "sample"
    with resources.as_file(root) as path:
        return EventTables.read(path)
