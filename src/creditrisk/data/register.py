"""The register mapping: how a regulator's own register becomes creditrisk's tables.

One TOML file, used for files and databases alike, says for each table where it comes
from (a file, a database table, or a SQL query — over the register's files, through
DuckDB, when they are files), how its columns are named, how its vocabularies map onto
the data model's (entity types, key sectors, inspection kinds and outcomes), and which
column dates the regulator's knowledge of each row. It also declares tables outside the
data model (a child table of cited violations, say), which inspections give unbiased
labels and what counts as a finding, and extra features (read by
:mod:`creditrisk.features.declared`)::

    [register]
    name = "NYC restaurant inspections"
    extracted_on = 2016-01-06        # the pull's date: a date after it is an error

    [files]                          # names a query can read (paths relative to --data)
    nyc = "nyc_restaurant_inspections.parquet"

    [tables.enterprises]
    query = "SELECT DISTINCT camis, boro FROM nyc"
    columns = { camis = "entity_id", boro = "region" }

    [tables.inspections]
    file = "inspections.parquet"     # or: table = "db_table", or: query = "SELECT ..."
    columns = { camis = "entity_id", inspection_date = "inspected_on",
                inspection_type = "kind", action = "outcome" }
    known_date = "inspected_on"      # results known the day of the inspection
    [tables.inspections.values.kind] # their value = ours; an unmapped value is an error
    "Cycle Inspection / Initial Inspection" = "routine"

    [tables.violations]              # any other event table: entity, event and known date
    file = "violations.parquet"
    columns = { camis = "entity_id" }
    event_date = "inspected_on"
    known_date = "inspected_on"

    [labels]
    kinds = ["routine"]              # inspections that give unbiased labels
    finding = "score >= 28"          # a rule (creditrisk.data.rules) or outcome values
    horizon = "365D"

    [[features]]                     # see creditrisk.features.declared
    name = "critical_violations"
    table = "violations"
    filter = "critical_flag == 'Critical'"
    aggregation = "count"
    windows = ["365D", "1095D"]

    [where]                          # databases: filters on enterprises, run in SQL
    region = ["district_01"]

The older database-only form (``[tables] name = "db table or query"`` and
``[columns.<table>] theirs = "ours"``) is read too.

Examples
--------
>>> reg = Register.from_dict({
...     "tables": {"inspections": {"columns": {"date": "inspected_on"},
...                                "known_date": "inspected_on",
...                                "values": {"kind": {"Routine": "routine"}}}},
...     "labels": {"kinds": ["routine"], "finding": "score >= 28"}})
>>> reg.labels.kinds, reg.labels.finding.text
(('routine',), 'score >= 28')
>>> raw = pd.DataFrame({"entity_id": ["E1"], "date": ["2024-01-05"], "kind": ["Routine"]})
>>> reg.apply("inspections", raw)[["inspected_on", "published_on", "kind"]].values.tolist()
[['2024-01-05', '2024-01-05', 'routine']]
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from creditrisk.data.rules import Rule
from creditrisk.data.schema import INSPECTION_KINDS, OUTCOMES, TABLES, Problem, SchemaError

__all__ = ["Labels", "Register", "TableMapping", "extraction_date", "read_register"]

_TABLE_KEYS = {"file", "table", "query", "columns", "values", "event_date", "known_date"}
_SECTIONS = {"register", "files", "tables", "columns", "labels", "features", "where"}
_REGISTER_KEYS = {"name", "extracted_on"}


@dataclass(frozen=True)
class TableMapping:
    """Where one table comes from and how its names and values read in ours.

    Parameters
    ----------
    name : str
        The table's name in creditrisk (one of the data model's tables, or a name of the
        register's own for another event table).
    file : str, optional
        A parquet or CSV file (relative to the data directory).
    table : str, optional
        A database table (``schema.table`` allowed).
    query : str, optional
        A ``SELECT``/``WITH`` query: run by the database, or by DuckDB over the files
        named in ``[files]`` when the register is files.
    columns : dict of str to str
        ``{their name: our name}`` for the columns named differently.
    values : dict of str to dict
        Per column (our name), ``{their value: our value}``. Every value found must be
        mapped: an unmapped one is an error that names it.
    event_date, known_date : str, optional
        Our names of the columns dating the event and the regulator's knowledge of it.
        For a data-model table, ``known_date`` fills the table's known date when the
        register has none (``known_date = "inspected_on"``: results known that day).
        Tables outside the data model need both.

    Examples
    --------
    >>> TableMapping("inspections", file="insp.csv").source
    'insp.csv'
    """

    name: str
    file: str | None = None
    table: str | None = None
    query: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    event_date: str | None = None
    known_date: str | None = None

    @property
    def source(self) -> str | None:
        """The file, database table or query this table is read from (None: default).

        Returns
        -------
        str or None
            ``query``, ``table`` or ``file``, whichever is given.

        Examples
        --------
        >>> TableMapping("enterprises").source is None
        True
        """
        return self.query or self.table or self.file

    @property
    def dates(self) -> tuple[str, str]:
        """The (event date, known date) columns of the table, in our names.

        Returns
        -------
        tuple of str
            The data model's dates for its tables, else the mapping's.

        Examples
        --------
        >>> TableMapping("penalties").dates
        ('decided_on', 'published_on')
        """
        if self.name in TABLES:
            schema = TABLES[self.name]
            return schema.event_date, schema.known_date
        return str(self.event_date), str(self.known_date)


@dataclass(frozen=True)
class Labels:
    """Which inspections give unbiased labels, what counts as a finding, and the horizon.

    Parameters
    ----------
    kinds : tuple of str, default ("random",)
        Inspection kinds drawn at random or routine and unannounced: their results are
        the ``inspection_finding`` label.
    finding : Rule, optional
        A rule on inspection columns (``score >= 28``); default: any outcome other
        than ``compliant``.
    horizon : str, default "365D"
        How far after the as-of date the label looks.

    Examples
    --------
    >>> Labels().kinds, Labels().finding
    (('random',), None)
    """

    kinds: tuple[str, ...] = ("random",)
    finding: Rule | None = None
    horizon: str = "365D"


def extraction_date(value) -> pd.Timestamp:
    """The day a register was extracted, from a date or its text (``2026-01-05``).

    Parameters
    ----------
    value : str, datetime.date or pandas.Timestamp
        The date.

    Returns
    -------
    pandas.Timestamp
        The day (time of day dropped).

    Raises
    ------
    ValueError
        ``value`` is not a date.

    Examples
    --------
    >>> extraction_date("2026-01-05")
    Timestamp('2026-01-05 00:00:00')
    """
    try:
        day = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise ValueError(f"extracted_on must be a date (YYYY-MM-DD), not {value!r}") from None
    if pd.isna(day):
        raise ValueError(f"extracted_on must be a date (YYYY-MM-DD), not {value!r}")
    if day.tzinfo is not None:
        day = day.tz_localize(None)
    return day.normalize()


@dataclass(frozen=True)
class Register:
    """A register mapping: tables, vocabularies, dates, labels and declared features.

    Read one with :func:`read_register` (or :meth:`Register.read`); the default
    ``Register()`` is the identity (the data model's own names and files).

    Parameters
    ----------
    name : str
        What the register is.
    tables : dict of str to TableMapping
        Per table, where it comes from and how it maps.
    labels : Labels
        The label definition.
    features : tuple of dict
        Declared features, as written (see :mod:`creditrisk.features.declared`).
    where : dict
        Filters on enterprises pushed into SQL (databases only).
    files : dict of str to str
        Names a file query can read, and their paths.
    root : pathlib.Path, optional
        The directory relative paths start from (the mapping file's, by default).
    extracted_on : pandas.Timestamp, optional
        The day the register was extracted (``extracted_on`` in ``[register]``): no
        date in it may be later (see :mod:`creditrisk.data.validation`).

    Examples
    --------
    >>> Register().tables, Register().labels.kinds
    ({}, ('random',))
    """

    name: str = ""
    tables: Mapping[str, TableMapping] = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    features: tuple[Mapping[str, Any], ...] = ()
    where: Mapping[str, Any] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    root: Path | None = None
    extracted_on: pd.Timestamp | None = None

    def __post_init__(self) -> None:
        if self.extracted_on is not None:
            object.__setattr__(self, "extracted_on", extraction_date(self.extracted_on))

    # -- reading -------------------------------------------------------------------
    @classmethod
    def read(cls, path: str | Path) -> Register:
        """Read a register mapping from a TOML file.

        Parameters
        ----------
        path : str or pathlib.Path
            The TOML file.

        Returns
        -------
        Register
            The mapping; relative file paths in it start from ``--data`` when given,
            else from the file's directory.

        Raises
        ------
        FileNotFoundError
            No file at ``path``.
        ValueError
            The TOML is malformed or breaks the mapping's rules (naming what and where).

        Examples
        --------
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = pathlib.Path(d) / "map.toml"
        ...     _ = path.write_text('[labels]\\nkinds = ["routine"]\\n')
        ...     Register.read(path).labels.kinds
        ('routine',)
        """
        path = Path(path)
        try:
            with path.open("rb") as handle:
                config = tomllib.load(handle)
        except FileNotFoundError:
            raise FileNotFoundError(f"no register mapping at {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: {exc}") from None
        try:
            return cls.from_dict(config, root=path.parent)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, config: Mapping[str, Any], root: str | Path | None = None) -> Register:
        """A register mapping from the dictionary a TOML file reads as.

        Parameters
        ----------
        config : dict
            Sections ``register``, ``files``, ``tables``, ``labels``, ``features``,
            ``where`` (and the older ``columns``).
        root : str or pathlib.Path, optional
            Where relative file paths start.

        Returns
        -------
        Register
            The checked mapping.

        Raises
        ------
        ValueError
            An unknown section or key, an inspection kind or outcome outside the data
            model, or a rule that does not parse.

        Examples
        --------
        >>> Register.from_dict({"tables": {"penalties": "SELECT * FROM punish"}}).tables[
        ...     "penalties"].query
        'SELECT * FROM punish'
        """
        unknown = sorted(set(config) - _SECTIONS)
        if unknown:
            raise ValueError(
                f"unknown sections {unknown}; sections are {', '.join(sorted(_SECTIONS))}"
            )
        head = dict(config.get("register", {}))
        bad = sorted(set(head) - _REGISTER_KEYS)
        if bad:
            raise ValueError(
                f"[register]: unknown keys {bad}; keys are {', '.join(sorted(_REGISTER_KEYS))}"
            )
        tables: dict[str, TableMapping] = {}
        older_columns = dict(config.get("columns", {}))
        for name, spec in dict(config.get("tables", {})).items():
            if isinstance(spec, str):  # the older form: a table name or a query
                spec = {"query" if _is_query(spec) else "table": spec}
            spec = dict(spec)
            bad = sorted(set(spec) - _TABLE_KEYS)
            if bad:
                raise ValueError(
                    f"[tables.{name}]: unknown keys {bad}; "
                    f"keys are {', '.join(sorted(_TABLE_KEYS))}"
                )
            if sum(k in spec for k in ("file", "table", "query")) > 1:
                raise ValueError(f"[tables.{name}]: give one of file, table or query")
            columns = {**older_columns.pop(name, {}), **dict(spec.pop("columns", {}))}
            values = {k: dict(v) for k, v in dict(spec.pop("values", {})).items()}
            tables[name] = TableMapping(name, columns=columns, values=values, **spec)
        for name, columns in older_columns.items():
            tables[name] = TableMapping(name, columns=dict(columns))
        for mapping in tables.values():
            _check_table(mapping)
        labels = _labels(dict(config.get("labels", {})))
        features = config.get("features", [])
        if isinstance(features, Mapping) or not all(isinstance(f, Mapping) for f in features):
            raise ValueError("features: write each as a [[features]] table")
        return cls(
            name=str(head.get("name", "")),
            tables=tables,
            labels=labels,
            features=tuple(dict(f) for f in features),
            where=dict(config.get("where", {})),
            files={str(k): str(v) for k, v in dict(config.get("files", {})).items()},
            root=Path(root) if root is not None else None,
            extracted_on=head.get("extracted_on"),
        )

    # -- applying ------------------------------------------------------------------
    def mapping(self, table: str) -> TableMapping:
        """The mapping of one table (the identity when the register says nothing of it).

        Parameters
        ----------
        table : str
            The table's name in creditrisk.

        Returns
        -------
        TableMapping
            What the register says of it.

        Examples
        --------
        >>> Register().mapping("licenses").columns
        {}
        """
        return self.tables.get(table) or TableMapping(table)

    @property
    def extra_tables(self) -> list[str]:
        """The tables outside the data model that this register declares.

        Returns
        -------
        list of str
            Their names, in the mapping's order.

        Examples
        --------
        >>> Register.from_dict({"tables": {"violations": {"file": "v.csv",
        ...     "event_date": "on", "known_date": "on"}}}).extra_tables
        ['violations']
        """
        return [name for name in self.tables if name not in TABLES]

    def apply(self, table: str, frame: pd.DataFrame, renamed: bool = False) -> pd.DataFrame:
        """One table of the register in the data model's names, values and dates.

        Columns are renamed (unless ``renamed``: a database query did it), mapped
        vocabularies translated, and a table's known date filled from the column the
        mapping names when the register has none.

        Parameters
        ----------
        table : str
            The table's name in creditrisk.
        frame : pandas.DataFrame
            The table as the register holds it.
        renamed : bool, default False
            The columns already carry our names.

        Returns
        -------
        pandas.DataFrame
            A new frame; coercion to the data model's dtypes comes after
            (:class:`~creditrisk.EventTables`).

        Raises
        ------
        SchemaError
            A mapped column is missing, a value is not in its vocabulary mapping (the
            problem names the values), or a declared date column is missing.

        Examples
        --------
        >>> reg = Register.from_dict({"tables": {"enterprises": {
        ...     "columns": {"uscc": "entity_id"}}}})
        >>> list(reg.apply("enterprises", pd.DataFrame({"uscc": ["E1"]})).columns)
        ['entity_id']
        """
        frame, problems = self.translate(table, frame, renamed)
        if problems:
            raise SchemaError(problems)
        return frame

    def translate(
        self, table: str, frame: pd.DataFrame, renamed: bool = False
    ) -> tuple[pd.DataFrame, list[Problem]]:
        """Like :meth:`apply`, but return the problems beside the frame, not raise them.

        Whatever can be mapped is, so the data model's own checks can still run on the
        rest and every problem is reported in one pass.

        Parameters
        ----------
        table : str
            The table's name in creditrisk.
        frame : pandas.DataFrame
            The table as the register holds it.
        renamed : bool, default False
            The columns already carry our names.

        Returns
        -------
        frame : pandas.DataFrame
            The mapped table (columns with an unmapped value keep the register's text).
        problems : list of Problem
            What could not be mapped.

        Examples
        --------
        >>> reg = Register.from_dict({"tables": {"inspections": {"values": {"kind": {
        ...     "R": "routine"}}}}})
        >>> frame, problems = reg.translate("inspections", pd.DataFrame({"kind": ["R", "X"]}))
        >>> frame["kind"].tolist(), problems[0].rule
        (['routine', nan], 'unmapped value')
        """
        spec = self.mapping(table)
        problems: list[Problem] = []
        if not renamed and spec.columns:
            absent = [theirs for theirs in spec.columns if theirs not in frame.columns]
            for theirs in absent:
                detail = (
                    f"the register mapping renames {theirs!r} to {spec.columns[theirs]!r}, "
                    f"but {table} has no column {theirs!r} (it has {_shown(frame.columns)})"
                )
                problems.append(Problem(table, theirs, "mapping names a missing column", detail))
            frame = frame.rename(columns=dict(spec.columns))
        else:
            frame = frame.copy()
        doubled = frame.columns[frame.columns.duplicated()].unique()
        for column in doubled:  # e.g. a column mapped onto entity_id, which is there too
            sources = [t for t, o in spec.columns.items() if o == column and t != column]
            detail = (
                f"two columns of {table} would be {column!r}: the register mapping renames "
                f"{', '.join(map(repr, sources))} to it, and {table} has it already"
                if sources
                else f"{table} has more than one column named {column!r}"
            )
            problems.append(Problem(table, str(column), "duplicate column", detail))
        if len(doubled):
            frame = frame.loc[:, ~frame.columns.duplicated()]
        for column, translation in spec.values.items():
            if column not in frame.columns:
                detail = f"the register mapping translates the values of {column!r}, a column "
                detail += f"{table} does not have (it has {_shown(frame.columns)})"
                problems.append(Problem(table, column, "mapping names a missing column", detail))
                continue
            problems += _translate(frame, table, column, translation)
        event, known = spec.dates
        if table in TABLES:
            if spec.known_date and known not in frame.columns:
                if spec.known_date not in frame.columns:
                    detail = f"known_date = {spec.known_date!r}, a column {table} does not have"
                    problems.append(Problem(table, spec.known_date, "missing column", detail))
                else:
                    frame[known] = frame[spec.known_date]
        else:
            for role, column in (("event_date", event), ("known_date", known)):
                if column not in frame.columns:
                    detail = f"{role} = {column!r}, a column {table} does not have"
                    problems.append(Problem(table, column, "missing column", detail))
        return frame, problems

    def filled_columns(self) -> list[str]:
        """The data-model columns this mapping fills by declaration, not from the register.

        Only known dates are ever filled (``known_date = "inspected_on"`` copies the
        inspection date into ``published_on``); nothing else is invented.

        Returns
        -------
        list of str
            ``table.column <- column`` for each.

        Examples
        --------
        >>> Register.from_dict({"tables": {"inspections": {"known_date": "inspected_on"}}}
        ...                    ).filled_columns()
        ['inspections.published_on <- inspected_on']
        """
        out = []
        for name, spec in self.tables.items():
            if name in TABLES and spec.known_date and spec.known_date != TABLES[name].known_date:
                out.append(f"{name}.{TABLES[name].known_date} <- {spec.known_date}")
        return out

    def path(self, file: str, data: str | Path | None = None) -> Path:
        """Where a file named in the mapping is: relative to ``data``, else the mapping.

        Parameters
        ----------
        file : str
            The path as written in the mapping.
        data : str or pathlib.Path, optional
            The data directory given with the mapping (``--data``).

        Returns
        -------
        pathlib.Path
            The file's path.

        Examples
        --------
        >>> Register().path("a.parquet", "reg").as_posix()
        'reg/a.parquet'
        """
        candidate = Path(file)
        if candidate.is_absolute():
            return candidate
        base = Path(data) if data is not None else (self.root or Path("."))
        return base / candidate


def read_register(path: str | Path) -> Register:
    """Read a register mapping from a TOML file: see :meth:`Register.read`.

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.

    Returns
    -------
    Register
        The mapping.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "map.toml"
    ...     _ = path.write_text('[register]\\nname = "mine"\\n')
    ...     read_register(path).name
    'mine'
    """
    return Register.read(path)


# -- helpers ---------------------------------------------------------------------------
def _is_query(spec: str) -> bool:
    return spec.lstrip().lower().startswith(("select", "with"))


def _shown(columns) -> str:
    names = [str(c) for c in columns]
    return ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")


def _check_table(spec: TableMapping) -> None:
    where = f"[tables.{spec.name}]"
    if spec.name in TABLES:
        if spec.event_date is not None:
            raise ValueError(f"{where}: event_date is fixed for {spec.name}; see the data model")
        vocab = {"kind": INSPECTION_KINDS, "outcome": OUTCOMES}
        for column, translation in spec.values.items():
            allowed = _allowed(spec.name, column) or (
                vocab.get(column) if spec.name == "inspections" else None
            )
            if allowed is None:
                continue
            wrong = sorted({str(v) for v in translation.values()} - set(allowed))
            if wrong:
                raise ValueError(
                    f"{where} values.{column}: {wrong} are not values of the data model "
                    f"({', '.join(allowed)})"
                )
    elif spec.event_date is None or spec.known_date is None:
        raise ValueError(
            f"{where}: a table outside the data model needs event_date and known_date "
            "(the columns dating the event and when the regulator knew it)"
        )
    if spec.query is None and spec.table is None and spec.file is None and spec.name not in TABLES:
        raise ValueError(f"{where}: say where it comes from: file, table or query")


def _allowed(table: str, column: str) -> tuple[str, ...] | None:
    try:
        return TABLES[table].column(column).values
    except KeyError:
        return None


def _labels(spec: dict[str, Any]) -> Labels:
    bad = sorted(set(spec) - {"kinds", "finding", "horizon"})
    if bad:
        raise ValueError(f"[labels]: unknown keys {bad}; keys are kinds, finding, horizon")
    kinds = tuple(spec.get("kinds", ("random",)))
    wrong = [k for k in kinds if k not in INSPECTION_KINDS]
    if wrong or not kinds:
        raise ValueError(
            f"[labels] kinds: {wrong or 'none given'}; inspection kinds are "
            f"{', '.join(INSPECTION_KINDS)} (map the register's own with "
            "[tables.inspections.values.kind])"
        )
    finding = spec.get("finding")
    if isinstance(finding, list):  # outcome values that count as a finding
        wrong = [v for v in finding if v not in OUTCOMES]
        if wrong:
            raise ValueError(f"[labels] finding: {wrong} are not outcomes ({', '.join(OUTCOMES)})")
        finding = "outcome in [" + ", ".join(repr(v) for v in finding) + "]"
    rule = Rule(finding) if finding is not None else None
    return Labels(kinds=kinds, finding=rule, horizon=str(spec.get("horizon", "365D")))


def _translate(frame: pd.DataFrame, table: str, column: str, translation: Mapping) -> list:
    values = frame[column]
    text = values.astype("str").where(values.notna())
    mapped = text.map(dict(translation))
    unmapped = text.notna() & mapped.isna()
    # unmapped values become empty, so the other checks run on the rest of the table
    frame[column] = mapped.where(text.notna())
    if unmapped.any():
        found = text[unmapped].value_counts()
        shown = ", ".join(f"{v!r} ({n:,} rows)" for v, n in found.head(10).items())
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        detail = (
            f"values the register mapping does not translate: {shown}{more}; add them to "
            f"[tables.{table}.values.{column}]"
        )
        return [Problem(table, column, "unmapped value", detail, int(unmapped.sum()))]
    return []
