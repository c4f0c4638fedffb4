"""EventTables: an entity's public credit history, typed and validated.

Only ``enterprises`` is required; the other five tables of the data model are optional
(an absent table is empty), so are the four tables of the rest of the indicator system
(``roles``, ``changes``, ``complaints``, ``external_lists``: carried only when they
hold rows), and a register may bring event tables of its own
(``extra``, each with an entity, an event date and a known date, declared by a
:class:`~creditrisk.data.register.Register`).

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> tables.validate() is tables
True
>>> sorted(tables.summary().index)[:2]
['annual_reports', 'changes']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Literal

import numpy as np
import pandas as pd

from creditrisk.data import sql, validation
from creditrisk.data.paths import atomic_file, check_output, commit, staging_dir
from creditrisk.data.register import Register
from creditrisk.data.schema import (
    ALL_TABLE_NAMES,
    INDICATOR_TABLES,
    TABLE_NAMES,
    TABLES,
    Problem,
    SchemaError,
    coerce_extra,
    coerce_table,
    empty_table,
)

__all__ = [
    "EventTables",
    "atomic_file",
    "file_problems",
    "load_sample",
    "read_parquet",
    "staging_dir",
]

Format = Literal["parquet", "csv"]


@dataclass(frozen=True, eq=False)
class EventTables:
    """The six event tables, coerced to the data model's dtypes on construction.

    Columns and meanings are in :data:`creditrisk.data.schema.TABLES` (and
    ``data/sample/README.md``). Construction only coerces dtypes (raising
    :class:`~creditrisk.SchemaError` on unreadable values); :meth:`validate` checks the
    rules between rows and tables.

    Parameters
    ----------
    enterprises : pandas.DataFrame
        One row per registered entity; the only table required.
    annual_reports, licenses, penalties, inspections, list_entries : pandas.DataFrame, optional
        The other tables of the data model; an absent table (``None``) is empty.
    roles, changes, complaints, external_lists : pandas.DataFrame, optional
        The indicator system's optional tables (people and their roles, registration
        changes, complaints, other departments' lists); an absent table is empty, and
        an empty one is left out of iteration, files, summaries and the fingerprint.
    extra : mapping of str to pandas.DataFrame, optional
        Event tables outside the data model, by name; ``register`` must declare each
        one's event date and known date. Their entity ids become text and their two
        dates dates; other columns are kept.
    register : Register, optional
        The register mapping the tables came through
        (:class:`~creditrisk.data.register.Register`); by default the data model's
        own names.

    Raises
    ------
    SchemaError
        A table is not a DataFrame, a value cannot be read, or an extra table is not
        declared by ``register``; every problem is listed at once.
    TypeError
        ``register`` is not a Register.

    Examples
    --------
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

    #: what the tables were read from (set by :meth:`read`): every writer refuses to
    #: write over, into or around them (:func:`creditrisk.data.paths.check_output`)
    sources: ClassVar[tuple[Path, ...]] = ()  # per instance once read; not a field
    #: the file each table was read from, named in the problems :meth:`validate` finds
    files: ClassVar[Mapping[str, Path]] = MappingProxyType({})
    #: facts of the whole register a part of it cannot see (set on subsets and chunks):
    #: ``first_report_year``, the first year its annual-report table covers
    coverage: ClassVar[Mapping[str, int]] = MappingProxyType({})
    #: True for a part of a register (set by :meth:`part_of`: subsets and chunks), whose
    #: features may not read other enterprises (related parties may lie outside it)...
    is_part: ClassVar[bool] = False
    #: ...unless the whole register rides along: related-party features read it
    whole: ClassVar[EventTables | None] = None

    enterprises: pd.DataFrame
    annual_reports: pd.DataFrame | None = None
    licenses: pd.DataFrame | None = None
    penalties: pd.DataFrame | None = None
    inspections: pd.DataFrame | None = None
    list_entries: pd.DataFrame | None = None
    roles: pd.DataFrame | None = None
    changes: pd.DataFrame | None = None
    complaints: pd.DataFrame | None = None
    external_lists: pd.DataFrame | None = None
    extra: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    register: Register = field(default_factory=Register)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for name in ALL_TABLE_NAMES:
            frame = getattr(self, name)
            if frame is None:
                frame = empty_table(name)
            if not isinstance(frame, pd.DataFrame):
                problems.append(
                    Problem(name, None, "wrong type", f"expected a DataFrame, got {type(frame)}")
                )
                continue
            try:
                object.__setattr__(self, name, coerce_table(frame, name))
            except SchemaError as err:
                problems += err.problems
        if not isinstance(self.register, Register):
            raise TypeError(f"register must be a Register, not {type(self.register).__name__}")
        extra = {}
        for name, frame in dict(self.extra).items():
            spec = self.register.mapping(name)
            if name in TABLES or spec.event_date is None:
                detail = (
                    f"{name} is not a table of the data model: declare its event_date and "
                    "known_date in the register mapping ([tables.NAME])"
                    if name not in TABLES
                    else f"{name} is a table of the data model: pass it as {name}="
                )
                problems.append(Problem(name, None, "undeclared table", detail))
                continue
            try:
                extra[name] = coerce_extra(frame, name, *spec.dates)
            except SchemaError as err:
                problems += err.problems
        object.__setattr__(self, "extra", extra)
        if problems:
            raise SchemaError(problems)

    @classmethod
    def empty(cls) -> EventTables:
        """Tables with no rows at all: a start to build a register from.

        Returns
        -------
        EventTables
            Empty tables of the data model's columns and dtypes.

        Examples
        --------
        >>> EventTables.empty().summary()["rows"].sum()
        np.int64(0)
        """
        return cls(enterprises=empty_table("enterprises"))

    def has(self, table: str, column: str | None = None) -> bool:
        """Whether the register holds data for a table (and a column of it).

        A table counts when it has rows; a column when it has a value somewhere. An
        absent table or optional column is empty, so this is how features know their
        inputs are there.

        Parameters
        ----------
        table : str
            A table of the data model, or an extra table.
        column : str, optional
            One of its columns.

        Returns
        -------
        bool
            True when there is something to read.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> t.has("penalties", "fine_amount"), EventTables.empty().has("penalties")
        (True, False)
        """
        frame = getattr(self, table, None) if table in TABLES else self.extra.get(table)
        if frame is None or not len(frame):
            return False
        if column is None:
            return True
        return column in frame.columns and bool(frame[column].notna().any())

    def __copy__(self) -> EventTables:
        return self

    def __deepcopy__(self, memo) -> EventTables:
        """EventTables are values: copies share them (scikit-learn's clone included).

        Change tables with :meth:`replace`, never in place.
        """
        return self

    # -- access -----------------------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, pd.DataFrame]]:
        """Iterate over ``(table name, DataFrame)`` pairs: the six tables in schema order,
        the indicator tables that hold rows, then extras."""
        yield from ((name, getattr(self, name)) for name in TABLE_NAMES)
        for name in INDICATOR_TABLES:
            if len(getattr(self, name)):
                yield name, getattr(self, name)
        yield from self.extra.items()

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(frame):,}" for name, frame in self)
        return f"EventTables({sizes})"

    def replace(self, **frames: pd.DataFrame) -> EventTables:
        """A copy with some tables replaced.

        Parameters
        ----------
        **frames : pandas.DataFrame
            New tables by name: a table of the data model, an extra table (added or
            replaced), or ``extra=`` / ``register=`` themselves.

        Returns
        -------
        EventTables
            New tables, coerced again; ``self`` is unchanged. A part of a register (a
            subset, a chunk) stays a part of the same whole: the features that read the
            whole register (coverage, related parties) read it as it is, not the
            replaced tables.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> len(t.replace(penalties=t.penalties.head(3)).penalties)
        3
        >>> len(t.penalties) > 3
        True
        >>> part = t.subset(["E0000001"])
        >>> part.replace(penalties=part.penalties.head(0)).whole is t
        True
        """
        current = dict(self.extra)
        for name in list(frames):
            if name not in TABLES and name not in ("extra", "register"):
                current[name] = frames.pop(name)
        arguments = {name: getattr(self, name) for name in ALL_TABLE_NAMES}
        arguments |= {"extra": current, "register": self.register}
        result = EventTables(**{**arguments, **frames})
        kept = {k: v for k, v in self.files.items() if k not in frames and k not in current}
        result = result._read_from(self.sources, kept)
        if self.is_part:  # still a part of the same register, with its facts
            result.part_of(self.coverage)
            object.__setattr__(result, "whole", self.whole)
        return result

    def subset(self, entity_ids: Iterable[str]) -> EventTables:
        """The tables restricted to some entities (rows of other entities dropped).

        Parameters
        ----------
        entity_ids : iterable of str
            The entities to keep (duplicates and unknown ids do no harm).

        Returns
        -------
        EventTables
            Every table, extras included, with only those entities' rows; the same
            register mapping.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> first = t.enterprises["entity_id"].iloc[:10]
        >>> len(t.subset(first).enterprises)
        10
        """
        keep = pd.Index(pd.unique(pd.Series(list(entity_ids), dtype="str")))
        kept = {
            name: frame[frame["entity_id"].isin(keep)].reset_index(drop=True)
            for name, frame in self
        }
        extra = {name: kept.pop(name) for name in self.extra}
        result = EventTables(**kept, extra=extra, register=self.register)
        return result._read_from(self.sources, self.files).part_of(self)

    def part_of(self, whole) -> EventTables:
        """Mark these tables as a part of ``whole`` (a chunk, a subset of entities).

        Features that depend on what the whole register covers (the first report year
        from which annual reports are owed) then give each entity what the whole register
        gives it, whatever part it is scored in. Features that read other enterprises
        (related parties) read the whole register when it is given (:attr:`whole`), and
        refuse a part without it (:attr:`is_part`).

        Parameters
        ----------
        whole : EventTables or mapping
            The whole register (kept as :attr:`whole`), or only its :attr:`coverage`
            already computed.

        Returns
        -------
        EventTables
            ``self``.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> part = t.subset(t.enterprises["entity_id"].head(3))
        >>> part.coverage["first_report_year"] == int(t.annual_reports["report_year"].min())
        True
        >>> part.is_part, t.is_part, part.whole is t
        (True, False, True)
        """
        if isinstance(whole, EventTables):
            facts = dict(whole.coverage) or _coverage(whole)
            register = whole.whole if whole.is_part else whole  # a part of a part
            object.__setattr__(self, "whole", register)
        else:
            facts = dict(whole)
        object.__setattr__(self, "coverage", MappingProxyType(facts))
        object.__setattr__(self, "is_part", True)
        return self

    def _read_from(self, sources, files) -> EventTables:
        """Record where the tables came from (for the output guard and messages)."""
        object.__setattr__(self, "sources", tuple(Path(p) for p in sources))
        object.__setattr__(self, "files", MappingProxyType(dict(files)))
        return self

    # -- checks -----------------------------------------------------------------------
    def validate(self) -> EventTables:
        """Check every rule of the data model; return ``self`` or raise SchemaError.

        The error lists every broken rule with the table, the column, the rule and up
        to five offending rows (see :mod:`creditrisk.data.validation`).

        Returns
        -------
        EventTables
            ``self``, so a call chains: ``cr.load_sample().validate()``.

        Raises
        ------
        SchemaError
            Some rule is broken.

        Examples
        --------
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
            raise SchemaError(_with_files(problems, self.files))
        return self

    def summary(self) -> pd.DataFrame:
        """Rows, entities and the span of known dates per table.

        Returns
        -------
        pandas.DataFrame
            One row per table (index ``table``: schema order, then extras) with
            ``rows``, ``entities``, ``first_known`` and ``last_known`` (the table's
            known date).

        Examples
        --------
        >>> import creditrisk as cr
        >>> int(cr.load_sample().summary().loc["enterprises", "entities"])
        10000
        """
        rows = []
        for name, frame in self:
            known_column = (
                TABLES[name].known_date if name in TABLES else self.register.mapping(name).dates[1]
            )
            known = frame[known_column]
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
    def read(
        cls, path: str | os.PathLike, register: Register | str | os.PathLike | None = None
    ) -> EventTables:
        """Read a register from a directory of parquet or CSV files.

        Without a mapping, each table is ``<table>.parquet`` or ``<table>.csv``; only
        ``enterprises`` must be there (an absent table is empty). With a register
        mapping, each table comes from the file or the query (DuckDB SQL over the
        files named in ``[files]``) the mapping gives, renamed and translated to the
        data model. CSV files are read as text and coerced, so identifiers keep leading
        zeros and an unreadable value is reported with its row. A file whose name
        nearly matches a table (``penalty.csv``) is an error, never silently skipped.

        Parameters
        ----------
        path : str or path-like
            The directory holding the register's files.
        register : Register, or a path to its TOML file, optional
            The register mapping (default: the data model's own names).

        Returns
        -------
        EventTables
            The tables, coerced (call :meth:`validate` to check the rules between rows).

        Raises
        ------
        FileNotFoundError
            ``path`` is not a directory.
        SchemaError
            Every problem found, at once: missing or misnamed files and columns,
            unmapped values, unreadable values.

        Examples
        --------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = cr.load_sample().write(d, format="csv", overwrite=True)
        ...     len(cr.EventTables.read(d).enterprises)
        10000
        """
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"no event-table directory at {root}")
        mapping_file = None if isinstance(register, Register) or register is None else register
        register = _as_register(register)
        frames: dict[str, pd.DataFrame] = {}
        files: dict[str, Path] = {}
        problems: list[Problem] = []
        for name in [*ALL_TABLE_NAMES, *register.extra_tables]:
            spec = register.mapping(name)
            try:
                raw = _read_source(root, name, spec, register, files)
                if raw is not None:
                    frames[name], found = register.translate(name, raw)
                    problems += found
                elif name == "enterprises":
                    detail = f"neither enterprises.parquet nor enterprises.csv in {root}"
                    problems.append(Problem(name, None, "missing table", detail))
            except SchemaError as err:
                problems += err.problems
        problems += file_problems(root, register)
        extra = {name: frames.pop(name) for name in register.extra_tables if name in frames}
        try:  # the data model's checks still run, so every problem is seen at once
            tables = (
                cls(**frames, extra=extra, register=register) if "enterprises" in frames else None
            )
        except SchemaError as err:
            problems += err.problems
        if problems:
            raise SchemaError(_with_files(problems, files))
        sources = [root, *files.values(), *([Path(mapping_file)] if mapping_file else [])]
        return tables._read_from(sources, files)

    @classmethod
    def read_sql(
        cls,
        source,
        tables: dict[str, str] | None = None,
        columns: dict[str, dict[str, str]] | None = None,
        where: dict | None = None,
        chunksize: int = 200_000,
        validate: bool = True,
        register: Register | str | os.PathLike | None = None,
    ) -> EventTables:
        """Read a register from a database (a SQLAlchemy URL, Engine or Connection).

        Each table from a database table or a SQL query, columns renamed from the
        register's names to ours, vocabularies translated, filters on enterprises run
        in the database, chunks coerced as they arrive, then validated: see
        :func:`creditrisk.data.sql.read_frames`.

        Parameters
        ----------
        source : str, sqlalchemy.engine.Engine or sqlalchemy.engine.Connection
            The database.
        tables : dict of str to str, optional
            Per table, a database table or a query.
        columns : dict of str to dict, optional
            Per table, ``{their name: our name}``.
        where : dict, optional
            Filters on enterprises run in the database.
        chunksize : int, default 200_000
            Rows fetched at a time through SQLAlchemy (PostgreSQL's Arrow reads take
            each table whole).
        validate : bool, default True
            Check the rules between rows (:meth:`validate`).
        register : Register, or a path to its TOML file, optional
            The register mapping; ``tables``, ``columns`` and ``where`` add to it.

        Returns
        -------
        EventTables
            The register's tables.

        Raises
        ------
        SchemaError
            Every problem found (missing tables or columns, unmapped values, broken
            rules).

        Examples
        --------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     url = f"sqlite:///{d}/register.db"
        ...     rows = sum(cr.io.write_sql(frame, url, name) for name, frame in cr.load_sample())
        ...     kept = cr.EventTables.read_sql(url, where={"region": "district_01"})
        >>> set(kept.enterprises["region"])
        {'district_01'}
        """
        register = _as_register(register)
        frames = sql.read_frames(source, tables, columns, where, chunksize, register=register)
        extra = {name: frames.pop(name) for name in register.extra_tables if name in frames}
        result = cls(**frames, extra=extra, register=register)
        return result.validate() if validate else result

    def write(
        self, path: str | os.PathLike, format: Format = "parquet", overwrite: bool = False
    ) -> Path:
        """Write each table as ``<table>.<format>`` into a directory, atomically.

        Files are written into a temporary directory beside ``path`` and moved in only
        when all of them (the six, the indicator tables that hold rows and any extra
        tables) are complete, as one unit
        (:func:`creditrisk.data.paths.commit`), so an interrupted write leaves no partial
        table and no mix of old and new tables.
        Parquet files carry page checksums, verified whenever creditrisk reads them
        (:func:`read_parquet`): a damaged file is an error, not a different register.
        ``path`` may not be, contain or lie inside a file the tables were read from.

        Parameters
        ----------
        path : str or path-like
            The directory; created when absent.
        format : {"parquet", "csv"}, default "parquet"
            The file format; CSV dates are written as ``YYYY-MM-DD``.
        overwrite : bool, default False
            Replace the tables a directory already holds (files of either format).

        Returns
        -------
        pathlib.Path
            The directory written.

        Raises
        ------
        ValueError
            ``format`` is neither parquet nor csv.
        FileExistsError
            The directory already holds tables and ``overwrite`` is False.

        Examples
        --------
        >>> import creditrisk as cr, tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = cr.load_sample().write(f"{d}/copy")
        ...     sorted(p.name for p in out.iterdir())[0]
        'annual_reports.parquet'
        """
        if format not in ("parquet", "csv"):
            raise ValueError(f"format must be 'parquet' or 'csv', not {format!r}")
        target = check_output(path, self.sources, kind="into")
        names = [name for name, _ in self]
        # an indicator table this register does not hold must not survive from before
        absent = [n for n in INDICATOR_TABLES if n not in names]
        existing = [f for n in [*names, *absent] for f in target.glob(f"{n}.*")]
        if existing and not overwrite:
            raise FileExistsError(f"{target} already holds tables; pass overwrite=True")
        with staging_dir(target) as staging:
            files = []
            for name, frame in self:
                file = staging / f"{name}.{format}"
                if format == "parquet":
                    # page checksums: a flipped bit is caught when the file is read
                    frame.to_parquet(file, index=False, write_page_checksum=True)
                else:
                    frame.to_csv(file, index=False, date_format="%Y-%m-%d")
                files.append(file)
            if not target.exists():
                staging.rename(target)
                return target
            other = "csv" if format == "parquet" else "parquet"
            stale = [target / f"{n}.{other}" for n in names if (target / f"{n}.{other}").exists()]
            stale += [target / f"{n}.{f}" for n in absent for f in ("parquet", "csv")]
            stale = [file for file in stale if file.exists()]
            aside = staging / ".replaced"
            aside.mkdir()
            moves = [(old, aside / old.name) for old in stale]  # removed with the staging
            moves += [(file, target / file.name) for file in files]
            commit(moves)
            return target

    def fingerprint(self) -> str:
        """A SHA-256 of the tables' content, stable across file formats.

        Returns
        -------
        str
            64 hexadecimal digits; equal for equal tables (extras included), whatever
            file they were read from.

        Examples
        --------
        >>> import creditrisk as cr
        >>> len(cr.load_sample().fingerprint())
        64
        >>> t = cr.load_sample()
        >>> t.fingerprint() == t.subset(t.enterprises["entity_id"]).fingerprint()
        True
        >>> t.fingerprint() == t.replace(penalties=t.penalties.head(3)).fingerprint()
        False
        """
        import hashlib

        digest = hashlib.sha256()
        for name, frame in self:
            digest.update(name.encode())
            cols = TABLES[name].names if name in TABLES else list(frame.columns)
            # a column added to the data model later counts only where it holds values,
            # so a register without it keeps its fingerprint
            cols = [c for c in cols if (name, c) not in _LATER or frame[c].notna().any()]
            hashed = pd.util.hash_pandas_object(frame[cols], index=False).to_numpy()
            digest.update(np.ascontiguousarray(hashed).tobytes())
        return digest.hexdigest()


#: columns added to the data model after fingerprints were first recorded
_LATER = {("enterprises", "address_id")}


def _as_register(register) -> Register:
    if register is None:
        return Register()
    if isinstance(register, Register):
        return register
    return Register.read(register)


def _coverage(tables: EventTables) -> dict[str, int]:
    years = tables.annual_reports["report_year"]
    return {"first_report_year": int(years.min())} if years.notna().any() else {}


def _with_files(problems: list[Problem], files: Mapping[str, Path]) -> list[Problem]:
    """Name the file of each problem's table (when it came from one)."""
    for problem in problems:
        if problem.file is None and problem.table in files:
            problem.file = str(files[problem.table])
    return problems


def read_parquet(file: str | os.PathLike, table: str, **options) -> pd.DataFrame:
    """A parquet file as a DataFrame, its page checksums verified when it has them.

    Parameters
    ----------
    file : str or path-like
        The parquet file.
    table : str
        The table it holds (named in the error).
    **options
        Passed to :func:`pyarrow.parquet.read_table` (``columns``, ``filters``...).

    Returns
    -------
    pandas.DataFrame
        The rows.

    Raises
    ------
    SchemaError
        The file cannot be read (corrupt, truncated, not parquet, a checksum that does
        not match): the problem names the table and the file.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "penalties.parquet").write_bytes(b"not parquet")
    ...     try:
    ...         read_parquet(Path(d) / "penalties.parquet", "penalties")
    ...     except cr.SchemaError as err:
    ...         print(err.problems[0].rule)
    unreadable file
    """
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(file, page_checksum_verification=True, **options).to_pandas()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = f"{file} cannot be read as parquet (corrupt or not parquet?): {first}"
        raise SchemaError(
            [Problem(table, None, "unreadable file", detail, file=str(file))]
        ) from None
    return frame


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _read_csv(file: Path, table: str) -> pd.DataFrame:
    def refuse(detail: str) -> SchemaError:
        return SchemaError([Problem(table, None, "unreadable file", detail, file=str(file))])

    try:
        frame = pd.read_csv(
            file, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
    except UnicodeDecodeError as exc:
        raise refuse(
            f"{file} is not UTF-8 text (byte {exc.object[exc.start : exc.start + 1].hex()} at "
            f"offset {exc.start}); save it as UTF-8 (a GBK or GB18030 export must be "
            "converted first)"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise refuse(f"{file} cannot be read as comma-separated CSV: {first}") from None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for separator, words in _SEPARATORS.items():
            if separator in header:
                raise refuse(
                    f"{file} has its columns separated by {words} ({header[:60]!r}); "
                    "creditrisk reads comma-separated CSV: export it with commas"
                )
    return frame


def _read_file(file: Path, table: str) -> pd.DataFrame:
    if not file.is_file():
        raise SchemaError([Problem(table, None, "missing table", f"no file {file}")])
    if file.suffix.lower() == ".csv":
        return _read_csv(file, table)
    return read_parquet(file, table)


def _read_source(
    root: Path, name: str, spec, register: Register, files: dict[str, Path]
) -> pd.DataFrame | None:
    """One table's raw rows as the register holds them (None: the register has none)."""
    if spec.table is not None:
        detail = f"table = {spec.table!r} names a database table; a file register needs file "
        detail += "or query"
        raise SchemaError([Problem(name, None, "mapping", detail)])
    if spec.query is not None:
        return _file_query(root, name, spec.query, register)
    if spec.file is not None:
        files[name] = register.path(spec.file, root)
        return _read_file(files[name], name)
    for suffix in (".parquet", ".csv"):
        file = root / f"{name}{suffix}"
        if file.is_file():
            files[name] = file
            return _read_file(file, name)
    return None


def _file_query(root: Path, name: str, query: str, register: Register) -> pd.DataFrame:
    """A SQL query over the register's files, run by DuckDB (nothing is written)."""
    import duckdb

    connection = duckdb.connect()
    try:
        for view, file in register.files.items():
            path = register.path(file, root)
            if not path.is_file():
                detail = f"[files] {view} = {file!r}: no file {path}"
                raise SchemaError([Problem(name, None, "missing table", detail)])
            reader = "read_csv" if path.suffix.lower() == ".csv" else "read_parquet"
            options = ", all_varchar = true" if reader == "read_csv" else ""
            quoted = str(path).replace("'", "''")
            connection.execute(
                f"CREATE VIEW \"{view}\" AS SELECT * FROM {reader}('{quoted}'{options})"
            )
        try:
            return connection.sql(query).df()
        except duckdb.Error as exc:
            detail = f"the query of [tables.{name}] failed: {str(exc).splitlines()[0]}"
            raise SchemaError([Problem(name, None, "mapping", detail)]) from None
    finally:
        connection.close()


def file_problems(root: str | os.PathLike, register: Register | None = None) -> list[Problem]:
    """Files of a register directory whose names nearly match a table that was not found.

    ``penalty.csv`` beside no ``penalties`` file is a table the user meant, never a
    file to skip in silence. :meth:`EventTables.read` reports these, and so does
    chunked scoring before it reads a chunk.

    Parameters
    ----------
    root : str or path-like
        The register's directory.
    register : Register, optional
        Its mapping (files the mapping names are read, so never near misses).

    Returns
    -------
    list of Problem
        One ``misnamed file`` problem per such file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "penalty.csv").write_text("entity_id")
    ...     [p.detail for p in file_problems(d)]
    ['penalty.csv is not read: did you mean penalties.csv?']
    """
    return _near_misses(Path(root), register or Register())


def _near_misses(root: Path, register: Register) -> list[Problem]:
    """Files whose names nearly match a table that was not found (``penalty.csv``)."""
    import difflib

    expected = [*ALL_TABLE_NAMES, *register.extra_tables]
    read = {
        register.path(spec.file, root).name for spec in register.tables.values() if spec.file
    } | {Path(f).name for f in register.files.values()}
    problems = []
    for file in sorted(root.iterdir()):
        if file.suffix.lower() not in (".parquet", ".csv") or file.name in read:
            continue
        stem = file.stem
        if stem in expected or stem in ("inspectors", "inspector_conflicts"):
            continue
        near = difflib.get_close_matches(stem.lower(), expected, n=1, cutoff=0.7)
        if (
            near
            and not (root / f"{near[0]}.parquet").exists()
            and not (root / f"{near[0]}.csv").exists()
        ):
            detail = f"{file.name} is not read: did you mean {near[0]}{file.suffix}?"
            problems.append(Problem(near[0], None, "misnamed file", detail))
    return problems


def load_sample() -> EventTables:
    """The packaged sample: 10,000 synthetic enterprises, 2018-2025 (seed 7).

    It ships inside the package, so it works from an installed wheel. See
    ``data/sample/README.md`` for every table and column.

    Returns
    -------
    EventTables
        The six tables, read and coerced (not validated: call :meth:`EventTables.validate`).

    Examples
    --------
    >>> import creditrisk as cr
    >>> tables = cr.load_sample()
    >>> len(tables.enterprises)
    10000
    """
    root = resources.files("creditrisk.data") / "sample"
    with resources.as_file(root) as path:
        return EventTables.read(path)
