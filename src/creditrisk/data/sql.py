"""Databases: read the event tables with SQL, write scores and plans back.

:func:`read_frames` (behind :meth:`EventTables.read_sql <creditrisk.EventTables.read_sql>`)
reads each table from a database table or a SQL query through SQLAlchemy, renaming the
register's own column names to ours, in chunks that are coerced to the data model's
compact dtypes as they arrive (so the register is never held twice as raw Python
objects); ``EventTables.read_sql`` then validates the result with the same
:class:`~creditrisk.SchemaError` rules as files. Filters on enterprises
(region, entity type, key sector, industry, registered before a date) run in the
database, and the other tables keep only the rows of the enterprises kept.

:func:`write_sql` writes a DataFrame (scores, reasons, a plan) in one transaction:
a failure half-way leaves the previous table exactly as it was. The run's identifiers
(run id, model version and hash, as_of) go into every row.

SQLite needs no server (``sqlite:///register.db``); PostgreSQL is the server case
(``postgresql+psycopg://user:password@host/db``, with ``pip install 'creditrisk[sql]'``).

Examples
--------
A register whose enterprises table and columns are named differently:

>>> import creditrisk as cr, sqlalchemy as sa, tempfile
>>> sample = cr.load_sample()
>>> with tempfile.TemporaryDirectory() as d:
...     url = f"sqlite:///{d}/register.db"
...     theirs = sample.enterprises.rename(columns={"entity_id": "uscc", "region": "district"})
...     rows = write_sql(theirs, url, "reg_enterprise")
...     rows += sum(write_sql(f, url, n) for n, f in sample if n != "enterprises")
...     tables = cr.EventTables.read_sql(
...         url, tables={"enterprises": "reg_enterprise"},
...         columns={"enterprises": {"uscc": "entity_id", "district": "region"}})
...     sa.create_engine(url).dispose()
>>> tables.fingerprint() == sample.fingerprint()
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

import pandas as pd

from creditrisk.data.schema import (
    ALL_TABLE_NAMES,
    TABLES,
    Problem,
    SchemaError,
    coerce_table,
    empty_table,
)

__all__ = [
    "FILTERS",
    "IF_EXISTS",
    "is_url",
    "read_frames",
    "read_mapping",
    "run_identifiers",
    "write_sql",
]

#: filters pushed down to the database, and the enterprises column each applies to
FILTERS = {
    "region": "region",
    "entity_type": "entity_type",
    "key_sector": "key_sector",
    "industry": "industry",
    "registered_before": "registered_on",
}


@contextmanager
def _connection(source):
    """A connection from a URL, an Engine or a Connection (closed only if opened here)."""
    import sqlalchemy as sa

    if isinstance(source, sa.engine.Connection):
        yield source
        return
    engine = source if isinstance(source, sa.engine.Engine) else sa.create_engine(str(source))
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        if not isinstance(source, sa.engine.Engine):
            engine.dispose()


def _is_query(spec: str) -> bool:
    return spec.lstrip().lower().startswith(("select", "with"))


def _source_columns(connection, name: str, spec: str | None) -> list[str]:
    """The column names a database table or query offers (read with LIMIT 0)."""
    import sqlalchemy as sa

    spec = spec or name
    if _is_query(spec):
        sql = f"SELECT * FROM ({spec}) AS probe LIMIT 0"
    else:
        quote = connection.dialect.identifier_preparer.quote
        sql = "SELECT * FROM " + ".".join(quote(p) for p in spec.split(".")) + " LIMIT 0"
    return list(connection.execute(sa.text(sql)).keys())


def _query_source(name: str, spec: str | None, available: list[str]):
    """The source with its columns declared, usable in SQLAlchemy Core expressions."""
    import sqlalchemy as sa

    spec = spec or name
    columns = [sa.column(c) for c in available]
    if _is_query(spec):
        return sa.text(spec).columns(*columns).subquery(f"{name}_query")
    schema, _, table = spec.rpartition(".")
    return sa.table(table, *columns, schema=schema or None)


def _filters(enterprises, renamed: dict[str, str], where: dict[str, Any]):
    """SQL conditions on the enterprises source for the pushed-down filters."""
    import sqlalchemy as sa

    conditions = []
    for key, value in where.items():
        if key not in FILTERS:
            raise ValueError(
                f"read_frames cannot filter on {key!r}; filters are {', '.join(FILTERS)}"
            )
        column = enterprises.c[renamed[FILTERS[key]]]
        if key == "registered_before":
            day = pd.Timestamp(value).date()
            conditions.append(column < sa.bindparam(f"w_{key}", day, type_=sa.Date()))
        else:
            values = [value] if isinstance(value, str) else list(value)
            conditions.append(column.in_(values))
    return conditions


def read_frames(
    source,
    tables: dict[str, str] | None = None,
    columns: dict[str, dict[str, str]] | None = None,
    where: dict[str, Any] | None = None,
    chunksize: int = 200_000,
    register=None,
) -> dict[str, pd.DataFrame]:
    """Read a register's tables from a database, in the data model's names and dtypes.

    Most users call :meth:`EventTables.read_sql <creditrisk.EventTables.read_sql>`,
    which validates what this returns.

    Parameters
    ----------
    source : str, sqlalchemy.engine.Engine or sqlalchemy.engine.Connection
        A SQLAlchemy URL, Engine or Connection (an Engine or Connection is left open).
    tables : dict of str to str, optional
        Per table, the database table (``schema.table`` allowed) or a ``SELECT``/``WITH``
        query to read. Default: a table of the same name; a table of the data model
        the database does not hold (and no mapping names) is absent, except
        enterprises.
    columns : dict of str to dict, optional
        Per table, ``{their name: our name}`` for columns named differently.
    where : dict, optional
        Filters on enterprises, run in the database: ``region``, ``entity_type``,
        ``key_sector``, ``industry`` (a value or a list), ``registered_before`` (a
        date). The other tables keep the rows of the enterprises kept.
    chunksize : int, default 200_000
        Rows fetched and coerced at a time.
    register : Register, optional
        A register mapping (:mod:`creditrisk.data.register`): tables, columns,
        vocabularies, known dates and tables outside the data model. ``tables``,
        ``columns`` and ``where`` are merged into it.

    Returns
    -------
    dict of str to pandas.DataFrame
        Each table read, coerced to the data model (tables outside it: entity and
        dates coerced), ordered by its key. Every column of a source comes along, so
        result details (a score, a count of violations) stay available.

    Raises
    ------
    SchemaError
        A table cannot be read, a mapped value is unknown, or a value cannot be
        coerced (naming table, column and rows).

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     url = f"sqlite:///{d}/register.db"
    ...     rows = sum(write_sql(frame, url, name) for name, frame in cr.load_sample())
    ...     frames = read_frames(url, where={"region": "district_01"})
    >>> sorted(set(frames["enterprises"]["region"]))
    ['district_01']
    """
    import sqlalchemy as sa

    from creditrisk.data.register import Register

    register = register if register is not None else Register()
    config = {
        "tables": {
            name: {"query" if _is_query(spec) else "table": spec}
            for name, spec in dict(tables or {}).items()
        },
        "columns": dict(columns or {}),
    }
    unknown = sorted((set(config["tables"]) | set(config["columns"])) - set(ALL_TABLE_NAMES))
    if unknown:
        raise ValueError(f"unknown tables {unknown}; the tables are {', '.join(ALL_TABLE_NAMES)}")
    if config["tables"] or config["columns"]:
        extra = Register.from_dict(config)
        merged = dict(register.tables)
        for name, spec in extra.tables.items():
            old = merged.get(name)
            merged[name] = (
                spec
                if old is None
                else type(spec)(
                    name,
                    file=old.file,
                    table=spec.table or old.table,
                    query=spec.query or old.query,
                    columns={**old.columns, **spec.columns},
                    values=old.values,
                    event_date=old.event_date,
                    known_date=old.known_date,
                )
            )
        register = Register(**{**register.__dict__, "tables": merged})
    where = {**dict(register.where), **dict(where or {})}
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, not {chunksize}")
    frames: dict[str, pd.DataFrame] = {}
    with _connection(source) as connection:
        sources, renamed = {}, {}
        for name in [*ALL_TABLE_NAMES, *register.extra_tables]:
            spec = register.mapping(name)
            if spec.file is not None:
                detail = f"file = {spec.file!r} is for file registers; name a table or a query"
                raise SchemaError([Problem(name, None, "mapping", detail)])
            given = spec.query or spec.table
            try:
                available = _source_columns(connection, name, given)
            except sa.exc.SQLAlchemyError as exc:
                connection.rollback()
                if given is None and name != "enterprises" and name in TABLES:
                    continue  # the register has no such table: it is absent
                detail = f"cannot read {given or name!r}: {str(exc.orig or exc).strip()}"
                raise SchemaError([Problem(name, None, "missing table", detail)]) from None
            theirs_to_ours = dict(spec.columns)
            missing = [theirs for theirs in theirs_to_ours if theirs not in available]
            if missing:
                raise SchemaError(
                    [
                        Problem(
                            name,
                            theirs,
                            "mapping names a missing column",
                            f"the register mapping renames {theirs!r}, which {given or name} "
                            f"does not have (it has {', '.join(available[:12])})",
                        )
                        for theirs in missing
                    ]
                )
            renamed[name] = {theirs_to_ours.get(c, c): c for c in available}
            sources[name] = _query_source(name, given, available)
        enterprises = sources["enterprises"]
        conditions = _filters(enterprises, renamed["enterprises"], where)
        kept = None
        if conditions:
            kept = sa.select(enterprises.c[renamed["enterprises"]["entity_id"]]).where(*conditions)
        for name, src in sources.items():
            selected = [src.c[theirs].label(ours) for ours, theirs in renamed[name].items()]
            order = _order(name, register, renamed[name])
            query = sa.select(*selected).select_from(src).order_by(*(src.c[c] for c in order))
            if kept is not None and "entity_id" in renamed[name]:
                if name == "enterprises":
                    query = query.where(*conditions)
                else:
                    query = query.where(src.c[renamed[name]["entity_id"]].in_(kept))
            frames[name] = _read_table(connection, query, name, chunksize, register)
    return frames


def _order(name: str, register, renamed: dict[str, str]) -> list[str]:
    """The source columns to sort a table by: its key, else entity and event date."""
    if name in TABLES and all(k in renamed for k in TABLES[name].key):
        return [renamed[k] for k in TABLES[name].key]
    event = register.mapping(name).dates[0]
    return [renamed[c] for c in ("entity_id", event) if c in renamed]


def _read_table(connection, query, name: str, chunksize: int, register) -> pd.DataFrame:
    """One table, chunk by chunk, each chunk mapped and coerced to compact dtypes.

    A chunk that does not coerce is re-read whole, so the error names every bad row of
    the table exactly as reading a file would. A table whose ids are made here
    (surrogates) or that lies outside the data model is coerced once, whole.
    """
    from creditrisk.data.schema import coerce_extra

    if name not in TABLES:
        raw = pd.read_sql(query, connection)
        return coerce_extra(
            register.apply(name, raw, renamed=True), name, *register.mapping(name).dates
        )
    key = TABLES[name].key
    if any(k not in [c.name for c in query.selected_columns] for k in key):
        raw = pd.read_sql(query, connection, dtype_backend="pyarrow")  # ids made whole
        return coerce_table(register.apply(name, raw, renamed=True), name)
    parts = []
    open_categories = [
        c.name for c in TABLES[name].columns if c.kind == "category" and c.values is None
    ]
    try:
        # a server-side cursor, so the driver never holds a whole table's result; and
        # Arrow-backed chunks: dates and numbers arrive as typed arrays, not Python
        # objects, and coerce about 5x faster (benchmarks/bench_sql.py)
        streamed = query.execution_options(stream_results=True, max_row_buffer=chunksize)
        chunks = pd.read_sql(streamed, connection, chunksize=chunksize, dtype_backend="pyarrow")
        for chunk in chunks:
            part = coerce_table(register.apply(name, chunk, renamed=True), name)
            for column in open_categories:  # categories differ between chunks: text
                part[column] = part[column].astype("str").where(part[column].notna())
            parts.append(part)
    except SchemaError:
        raw = pd.read_sql(query, connection, dtype_backend="pyarrow")
        return coerce_table(register.apply(name, raw, renamed=True), name)
    if not parts:
        return empty_table(name)
    frame = pd.concat(parts, ignore_index=True)
    # ordered by key as files are, whatever the database's collation
    return frame.sort_values(list(key), kind="stable", ignore_index=True)


def run_identifiers(manifest: dict) -> dict[str, str | None]:
    """The identifiers a run's rows carry in the database, from a scoring manifest.

    ``run_id`` is a digest of the model's digest, the data fingerprint and the as-of
    dates: the same inputs give the same run id, so appending a run twice is refused
    (:func:`write_sql`). The model's registry name, version and run, and its tracking
    store, say where it came from (None for a model directory).

    Parameters
    ----------
    manifest : dict
        A scoring manifest (:func:`creditrisk.score_register`).

    Returns
    -------
    dict
        ``run_id``, ``model_name``, ``model_version``, ``model_run_id``,
        ``tracking_uri`` and ``model_sha256``.

    Examples
    --------
    >>> manifest = {"model": {"version": "3", "model_sha256": "ab"},
    ...             "data": {"fingerprint": "cd"}, "as_of": ["2025-01-01"]}
    >>> ids = run_identifiers(manifest)
    >>> ids["model_version"], len(ids["run_id"]), ids == run_identifiers(manifest)
    ('3', 16, True)
    """
    model, data = manifest.get("model", {}), manifest.get("data", {})
    key = "|".join(
        [
            str(model.get("model_sha256")),
            str(data.get("fingerprint")),
            ",".join(manifest.get("as_of", [])),
        ]
    )

    def text(value):
        return None if value is None else str(value)

    return {
        "run_id": hashlib.sha256(key.encode()).hexdigest()[:16],
        "model_name": text(model.get("registered_model")),
        "model_version": text(model.get("version")),
        "model_run_id": text(model.get("run_id")),
        "tracking_uri": text(model.get("tracking_uri")),
        "model_sha256": model.get("model_sha256"),
    }


#: what write_sql does when the table exists
IF_EXISTS = ("fail", "replace", "append", "replace-run")


def write_sql(
    frame: pd.DataFrame,
    target,
    table: str,
    if_exists: str = "fail",
    identifiers: dict[str, Any] | None = None,
    chunksize: int = 50_000,
    run_column: str = "run_id",
) -> int:
    """Write ``frame`` to a database table in one transaction; return the rows written.

    ``table`` may name a schema (``credit.scores``). ``identifiers`` (e.g.
    :func:`run_identifiers` of a scoring manifest) become columns of every row.
    Categories are written as text. A failure half-way rolls back everything: a
    replaced table is as it was, an appended one has no new row.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows.
    target : str or sqlalchemy.engine.Engine
        The database.
    table : str
        The table (``schema.table`` allowed).
    if_exists : {"fail", "replace", "append", "replace-run"}, default "fail"
        When the table exists: refuse, replace the table, append the rows, or replace
        the rows of this run only (those with the same ``run_id``). ``append`` refuses a
        run whose ``run_id`` the table already holds: the same scores twice.
    identifiers : dict, optional
        Columns of every row (``run_id`` among them for ``append`` to check).
    chunksize : int, default 50_000
        Rows per INSERT batch.
    run_column : str, default "run_id"
        The column identifying a run: from ``identifiers``, or a column of ``frame``
        holding one value (a plan's ``plan_sha256``).

    Returns
    -------
    int
        The rows written.

    Raises
    ------
    ValueError
        An unknown ``if_exists``; the table exists and ``if_exists`` is ``fail``; the
        run is already there and ``if_exists`` is ``append``; ``replace-run`` without a
        ``run_id``.

    Examples
    --------
    >>> import tempfile
    >>> rows = pd.DataFrame({"entity_id": ["E1", "E2"], "tier": ["A", "C"]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     url = f"sqlite:///{d}/out.db"
    ...     first = write_sql(rows, url, "scores", identifiers={"run_id": "r1"})
    ...     try:
    ...         write_sql(rows, url, "scores", "append", identifiers={"run_id": "r1"})
    ...     except ValueError as err:
    ...         print(str(err).split(":")[0])
    ...     again = write_sql(rows, url, "scores", "replace-run", identifiers={"run_id": "r1"})
    table 'scores' already holds run r1 (2 rows)
    """
    import sqlalchemy as sa

    if if_exists not in IF_EXISTS:
        raise ValueError(f"if_exists must be one of {', '.join(IF_EXISTS)}, not {if_exists!r}")
    run_id = (identifiers or {}).get(run_column)
    if run_id is None and run_column in frame.columns and frame[run_column].nunique() == 1:
        run_id = str(frame[run_column].iat[0])
    if if_exists == "replace-run" and run_id is None:
        raise ValueError(f"if_exists='replace-run' needs the run's identifiers ({run_column})")
    out = frame.copy()
    for name, value in (identifiers or {}).items():
        out[name] = value
    for name, dtype in out.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) or dtype == "str":
            out[name] = out[name].astype(object).where(out[name].notna(), None)
    schema, _, name = table.rpartition(".")
    schema = schema or None
    engine = target if isinstance(target, sa.engine.Engine) else sa.create_engine(str(target))
    try:
        with engine.connect() as connection, connection.begin():  # commit or roll back
            if connection.dialect.name == "sqlite":
                # Python's sqlite3 runs DROP/CREATE outside any transaction unless one was
                # opened explicitly: open it, so a failed replace rolls back the drop too
                connection.exec_driver_sql("BEGIN")
            exists = sa.inspect(connection).has_table(name, schema=schema)
            if if_exists == "fail" and exists:
                raise ValueError(
                    f"table {table!r} exists; pass if_exists='replace', 'append' or 'replace-run'"
                )
            if exists and run_id is not None and if_exists in ("append", "replace-run"):
                existing = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
                _one_run(connection, existing, table, run_column, run_id, if_exists)
            out.to_sql(
                name,
                connection,
                schema=schema,
                if_exists="append" if if_exists == "replace-run" else if_exists,
                index=False,
                chunksize=chunksize,
            )
    finally:
        if not isinstance(target, sa.engine.Engine):
            engine.dispose()
    return len(out)


def _one_run(connection, existing, table: str, column: str, run_id: str, if_exists: str) -> None:
    """A run appears once: refuse it again (append) or delete its rows (replace-run)."""
    import sqlalchemy as sa

    if column not in existing.c:
        return  # a table of rows without runs: the insert says what does not fit
    key = existing.c[column]
    present = connection.execute(
        sa.select(sa.func.count()).select_from(existing).where(key == run_id)
    ).scalar()
    if not present:
        return
    if if_exists == "append":
        raise ValueError(
            f"table {table!r} already holds run {run_id} ({present:,} rows): appending it "
            "again would count every entity twice; pass --if-exists replace-run "
            "(if_exists='replace-run') to replace that run"
        )
    connection.execute(existing.delete().where(key == run_id))


def read_mapping(path) -> dict[str, dict]:
    """The ``tables``, ``columns`` and ``where`` of ``EventTables.read_sql`` from TOML.

    ::

        [tables]                      # database table or query, per table
        enterprises = "credit.reg_enterprise"
        penalties = "SELECT * FROM credit.punish WHERE status <> 'revoked'"
        [columns.enterprises]         # their name = our name
        uscc = "entity_id"
        district = "region"
        [where]                       # run in the database
        region = ["district_01", "district_02"]
        registered_before = "2025-01-01"

    Parameters
    ----------
    path : str or pathlib.Path
        The TOML file.

    Returns
    -------
    dict of str to dict
        The sections the file has, of ``tables``, ``columns`` and ``where``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is not TOML, or has another section.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d) / "map.toml"
    ...     _ = path.write_text('[columns.enterprises]\\nuscc = "entity_id"\\n')
    ...     read_mapping(path)
    {'columns': {'enterprises': {'uscc': 'entity_id'}}}
    """
    import tomllib
    from pathlib import Path

    path = Path(path)
    try:
        with path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"no database mapping at {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from None
    unknown = sorted(set(config) - {"tables", "columns", "where"})
    if unknown:
        raise ValueError(f"{path}: unknown sections {unknown}; sections are tables, columns, where")
    return config


def is_url(value: str | Iterable | None) -> bool:
    """True for a database URL (``sqlite:///...``, ``postgresql+psycopg://...``).

    Parameters
    ----------
    value : str, iterable or None
        A source as given on the command line or to a loader: a URL, a path, a list.

    Returns
    -------
    bool
        Whether ``value`` is text with a scheme (``://``) other than ``file://``.

    Examples
    --------
    >>> is_url("sqlite:///register.db"), is_url("data/sample")
    (True, False)
    >>> is_url("file:///data/sample"), is_url(["sqlite:///a.db"])
    (False, False)
    """
    return isinstance(value, str) and "://" in value and not value.startswith("file://")
