"""Databases: read the event tables with SQL, write scores and plans back.

:func:`read_frames` (behind :meth:`EventTables.read_sql <creditrisk.EventTables.read_sql>`)
reads each table from a database table or a SQL query through SQLAlchemy, renaming the
register's own column names to ours, in chunks that are coerced to the data model's
compact dtypes as they arrive (so the register is never held twice as raw Python
objects); from PostgreSQL, each table arrives whole as Arrow (ADBC), already compact,
and is cast to those dtypes in Arrow; ``EventTables.read_sql`` then validates the
result with the same :class:`~creditrisk.SchemaError` rules as files. Filters on enterprises
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

import numpy as np
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
    "read_columns",
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


@contextmanager
def _arrow_connection(source, arrow: bool | None):
    """An ADBC PostgreSQL connection to the same database as ``source``, or None.

    None for another database, a SQLAlchemy Connection (its transaction cannot be
    shared), ``arrow=False``, or when ``adbc-driver-postgresql`` is not installed.
    """
    import sqlalchemy as sa

    if arrow is False or isinstance(source, sa.engine.Connection):
        yield None
        return
    url = source.url if isinstance(source, sa.engine.Engine) else sa.make_url(str(source))
    if url.get_backend_name() != "postgresql":
        if arrow:
            raise ValueError(f"Arrow reads (ADBC) are for PostgreSQL, not {url.drivername}")
        yield None
        return
    try:
        from adbc_driver_postgresql import dbapi
    except ImportError:
        if arrow:
            raise ImportError(
                "Arrow reads need adbc-driver-postgresql: pip install 'creditrisk[sql]'"
            ) from None
        yield None
        return
    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        connection = dbapi.connect(uri)
    except dbapi.Error as exc:
        raise sa.exc.OperationalError("connect", None, exc) from None
    try:
        yield connection
    finally:
        connection.close()


def _sql_text(connection, query) -> str:
    """A SELECT as PostgreSQL text, its values inlined (escaped by SQLAlchemy)."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect(paramstyle="named")  # no %-doubling of pyformat
    dialect._backslash_escapes = getattr(connection.dialect, "_backslash_escapes", False)
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _fetch_arrow(fast, connection, query):
    """A whole query's result as one Arrow table, through ADBC."""
    import sqlalchemy as sa
    from adbc_driver_postgresql import dbapi

    sql = _sql_text(connection, query)
    cursor = fast.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetch_arrow_table()
    except dbapi.Error as exc:
        raise sa.exc.ProgrammingError(sql, None, exc) from None
    finally:
        cursor.close()


def _arrow_frame(table) -> pd.DataFrame:
    """An Arrow result as a DataFrame as parquet gives one: dates as datetime64."""
    return table.to_pandas(date_as_object=False)


#: integers up to this size go through float64 exactly (how nullable ones arrive)
_EXACT_FLOAT = 2**53


def _typed_frame(table, name: str, register) -> pd.DataFrame:
    """An Arrow result of a data-model table as a DataFrame, its columns already of the
    model's dtypes where coercion would only cast them (so it has nothing left to do).

    Only casts that give exactly what :func:`coerce_table` makes of
    :func:`_arrow_frame`'s columns: dates to ``datetime64[s]``, whole numbers to
    ``int64``/``Int64``, text to categories (sorted; a closed vocabulary only when every
    value is in it). Anything else (columns whose values the mapping translates, other
    types, values to report) is left as :func:`_arrow_frame` gives it, for
    :func:`coerce_table` to coerce or refuse as before.
    """
    skip = set(register.mapping(name).values)
    names = table.column_names
    if len(set(names)) != len(names):  # duplicate columns: as they were, to be reported
        return _arrow_frame(table)
    schema = TABLES[name]
    typed = {}
    for column_name, column in zip(names, table.columns, strict=True):
        if column_name in schema.names and column_name not in skip:
            series = _typed_column(column, schema.column(column_name))
            if series is not None:
                typed[column_name] = series
    rest = table.drop_columns(list(typed)) if typed else table
    frame = _arrow_frame(rest)
    for column_name, series in typed.items():
        frame[column_name] = series
    return frame[names] if typed else frame


def _typed_column(column, col) -> pd.Series | None:
    """One Arrow column as a Series of ``col``'s dtype, or None (left to coerce_table)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind, arrow = col.kind, column.type
    if kind == "date" and (pa.types.is_date32(arrow) or pa.types.is_date64(arrow)):
        return column.cast(pa.timestamp("s")).to_pandas()
    if kind in ("integer", "count") and pa.types.is_signed_integer(arrow):
        column = column.cast(pa.int64())
        if column.null_count:
            if kind == "integer":
                return None  # a required column with nulls: coerce_table says which
            low, high = pc.min_max(column).as_py().values()
            if low is not None and max(-low, high) > _EXACT_FLOAT:
                return None  # nullable numbers arrive as float64, which rounds these
        elif kind == "integer":
            return column.to_pandas()
        return column.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    if kind == "category" and (pa.types.is_string(arrow) or pa.types.is_large_string(arrow)):
        if column.null_count == len(column):
            return None  # no values: no categories to sort
        encoded = pc.dictionary_encode(column.combine_chunks())
        words = encoded.dictionary.to_pylist()
        if col.values is None:
            order = np.asarray(pc.sort_indices(encoded.dictionary))  # code points: sorted()
            dtype = pd.CategoricalDtype(pd.Index([words[i] for i in order], dtype="str"))
            rank = np.empty(len(order), dtype=np.int64)
            rank[order] = np.arange(len(order))
        else:
            dtype = col.dtype
            rank = dtype.categories.get_indexer(pd.Index(words, dtype="str"))
            if (rank < 0).any():
                return None  # values outside the vocabulary: coerce_table reports them
        indices = pc.fill_null(encoded.indices, -1).to_numpy()
        codes = np.where(indices < 0, -1, rank[np.maximum(indices, 0)])
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype))
    return None


def _chunks(connection, query, chunksize: int):
    """A query's rows through SQLAlchemy as DataFrames of about ``chunksize`` rows.

    A server-side cursor, so the driver never holds a whole table's result; and
    Arrow-backed chunks: dates and numbers arrive as typed arrays, not Python objects,
    and coerce about 5x faster (benchmarks/bench_sql.py).
    """
    streamed = query.execution_options(stream_results=True, max_row_buffer=chunksize)
    yield from pd.read_sql(streamed, connection, chunksize=chunksize, dtype_backend="pyarrow")


def _whole(connection, query, fast) -> pd.DataFrame:
    """A query's rows as one DataFrame."""
    if fast is None:
        return pd.read_sql(query, connection, dtype_backend="pyarrow")
    return _arrow_frame(_fetch_arrow(fast, connection, query))


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


#: Arrow reads fetch the largest table and the others on two connections at once
#: (tests turn it off to compare with one connection)
_TWO_CONNECTIONS = True


def read_frames(
    source,
    tables: dict[str, str] | None = None,
    columns: dict[str, dict[str, str]] | None = None,
    where: dict[str, Any] | None = None,
    chunksize: int = 200_000,
    register=None,
    *,
    entities: tuple[str | None, str | None] | None = None,
    arrow: bool | None = None,
    only: tuple[str, ...] | None = None,
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
        Rows fetched and coerced at a time through SQLAlchemy's driver. Arrow reads
        (below) take each table whole: it arrives compact, one array per column.
    register : Register, optional
        A register mapping (:mod:`creditrisk.data.register`): tables, columns,
        vocabularies, known dates and tables outside the data model. ``tables``,
        ``columns`` and ``where`` are merged into it.
    entities : tuple of (str or None, str or None), optional
        Read only the rows of entities with ``low <= entity_id < high``, ids compared
        as text in code-point order (None: unbounded; rows without an id belong to the
        range whose ``low`` is None), filtered in the database: one chunk of
        :class:`creditrisk.jobs.scoring.ChunkedRegister`.
    arrow : bool, optional
        Fetch PostgreSQL results as Arrow through ADBC (``adbc-driver-postgresql``:
        binary COPY, no Python object per value) instead of SQLAlchemy's driver rows.
        Default: whenever the source is a PostgreSQL URL or Engine and the driver is
        installed. The tables are the same either way.
    only : tuple of str, optional
        Read only these tables (names of the data model or the mapping); the others
        are not queried. Default: every table the source holds.

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
    >>> sorted(frames) == sorted(name for name, _ in cr.load_sample())
    True
    """
    register = _merged(register, tables, columns)
    where = {**dict(register.where), **dict(where or {})}
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, not {chunksize}")
    frames: dict[str, pd.DataFrame] = {}
    with _connection(source) as connection, _arrow_connection(source, arrow) as fast:
        queries = _queries(connection, register, where, entities)
        if only is not None:
            queries = {name: query for name, query in queries.items() if name in only}
        if fast is None or len(queries) < 2 or not _TWO_CONNECTIONS:
            for name, query in queries.items():
                frames[name] = _read_table(connection, query, name, chunksize, register, fast)
            return frames
        # Arrow reads: the largest table on this connection, the others on a second one
        # in a thread (each fetch runs outside the GIL while the other's rows coerce)
        from concurrent.futures import ThreadPoolExecutor

        names = list(queries)
        first = "annual_reports" if "annual_reports" in queries else names[0]

        def others():
            read = {}
            with _arrow_connection(source, arrow) as second:
                for name in names:
                    if name == first:
                        continue
                    try:
                        read[name] = _read_table(
                            connection, queries[name], name, chunksize, register, second
                        )
                    except BaseException as exc:  # raised below, in table order
                        return read, (name, exc)
            return read, None

        failures = []
        with ThreadPoolExecutor(1, thread_name_prefix="creditrisk-sql") as pool:
            rest = pool.submit(others)
            try:
                largest = _read_table(connection, queries[first], first, chunksize, register, fast)
            except BaseException as exc:
                failures.append((names.index(first), exc))
            read, failed = rest.result()
        if failed is not None:
            failures.append((names.index(failed[0]), failed[1]))
        if failures:  # what reading one table after the other raises: the first's
            raise min(failures, key=lambda failure: failure[0])[1]
        for name in names:
            frames[name] = largest if name == first else read[name]
    return frames


def _merged(register, tables, columns):
    """The register mapping with read_frames' ``tables`` and ``columns`` merged in."""
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
    return register


def _queries(connection, register, where, entities=None, only=None) -> dict:
    """Per table present, the SELECT that reads it: columns renamed to ours, ordered by
    key, filtered (``where`` on enterprises, ``entities`` a range of ids); ``only``:
    ``{table: [our columns]}`` to read just those (raw, for whole-register checks)."""
    import sqlalchemy as sa

    sources, renamed = {}, {}
    for name in [*ALL_TABLE_NAMES, *register.extra_tables]:
        if only is not None and name not in only and name != "enterprises":
            continue
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
    queries = {}
    for name, src in sources.items():
        if only is not None and name not in only:
            continue
        wanted = (
            renamed[name]
            if only is None
            else {ours: theirs for ours, theirs in renamed[name].items() if ours in only[name]}
        )
        selected = [src.c[theirs].label(ours) for ours, theirs in wanted.items()]
        query = sa.select(*selected).select_from(src)
        if only is None:
            order = _order(name, register, renamed[name])
            query = query.order_by(*(src.c[c] for c in order))
        if "entity_id" in renamed[name]:
            ids = src.c[renamed[name]["entity_id"]]
            if kept is not None:
                query = (
                    query.where(*conditions)
                    if name == "enterprises"
                    else query.where(ids.in_(kept))
                )
            if entities is not None:
                query = query.where(_in_range(connection, ids, *entities))
        queries[name] = query
    return queries


def _in_range(connection, ids, low: str | None, high: str | None):
    """``low <= id < high`` with ids as text in code-point order (NULL ids: first range).

    PostgreSQL compares text by the database's collation, which need not be code-point
    order: ``COLLATE "C"`` makes it so (UTF-8 bytes sort as code points, as Python's
    strings do). SQLite's default collation is already binary.
    """
    import sqlalchemy as sa

    text = sa.cast(ids, sa.String())
    if connection.dialect.name == "postgresql":
        text = text.collate("C")
    conditions = []
    if low is not None:
        conditions.append(text >= sa.literal(low, sa.String()))
    if high is not None:
        conditions.append(text < sa.literal(high, sa.String()))
    condition = sa.and_(sa.true(), *conditions)
    return sa.or_(condition, ids.is_(None)) if low is None else condition


def read_columns(source, table: str, columns: list[str], register=None, where=None):
    """Some columns of one whole table, in our names, as the database gives them.

    What :class:`creditrisk.jobs.scoring.ChunkedRegister` needs of the whole register
    (entity ids, dates for the span, keys): only these columns travel, and nothing is
    coerced. A column the source does not have comes back empty; an absent table
    comes back empty.

    Parameters
    ----------
    source : str or sqlalchemy.engine.Engine
        The database.
    table : str
        A table of the data model, or an extra table of ``register``.
    columns : list of str
        Our names of the columns to read.
    register : Register, optional
        The register mapping (tables, columns, ``where``).
    where : dict, optional
        Filters on enterprises, as :func:`read_frames` takes them.

    Returns
    -------
    pandas.DataFrame
        ``columns``, in that order, one row per row of the table (of the enterprises
        kept by the filters).

    Raises
    ------
    SchemaError
        The table cannot be read, or the mapping names a missing column.

    Examples
    --------
    >>> import creditrisk as cr, tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     url = f"sqlite:///{d}/register.db"
    ...     rows = write_sql(cr.load_sample().enterprises, url, "enterprises")
    ...     ids = read_columns(url, "enterprises", ["entity_id", "no_such_column"])
    >>> len(ids), int(ids["no_such_column"].notna().sum())
    (10000, 0)
    """
    register = _merged(register, None, None)
    where = {**dict(register.where), **dict(where or {})}
    with _connection(source) as connection:
        queries = _queries(connection, register, where, only={table: list(columns)})
        if table not in queries:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
        with _arrow_connection(source, None) as fast:
            if fast is None:
                frame = pd.read_sql(queries[table], connection, dtype_backend="pyarrow")
            else:
                frame = _fetch_arrow(fast, connection, queries[table]).to_pandas(
                    date_as_object=False
                )
    return frame.reindex(columns=columns)


def _order(name: str, register, renamed: dict[str, str]) -> list[str]:
    """The source columns to sort a table by: its key, else entity and event date."""
    if name in TABLES and all(k in renamed for k in TABLES[name].key):
        return [renamed[k] for k in TABLES[name].key]
    event = register.mapping(name).dates[0]
    return [renamed[c] for c in ("entity_id", event) if c in renamed]


def _read_table(connection, query, name: str, chunksize: int, register, fast=None) -> pd.DataFrame:
    """One table, mapped and coerced to compact dtypes: through SQLAlchemy chunk by chunk,
    through ADBC (``fast``, an ADBC connection) whole (:func:`_read_arrow_table`).

    A chunk that does not coerce is re-read whole, so the error names every bad row of
    the table exactly as reading a file would. A table whose ids are made here
    (surrogates) or that lies outside the data model is coerced once, whole.
    """
    from creditrisk.data.schema import coerce_extra

    if name not in TABLES:
        raw = _whole(connection, query, fast)
        return coerce_extra(
            register.apply(name, raw, renamed=True), name, *register.mapping(name).dates
        )
    key = TABLES[name].key
    if any(k not in [c.name for c in query.selected_columns] for k in key):
        raw = _whole(connection, query, fast)  # ids made whole
        return coerce_table(register.apply(name, raw, renamed=True), name)
    if fast is not None:
        return _read_arrow_table(connection, query, name, register, fast)
    parts = []
    open_categories = [
        c.name for c in TABLES[name].columns if c.kind == "category" and c.values is None
    ]
    try:
        for chunk in _chunks(connection, query, chunksize):
            parts.append(coerce_table(register.apply(name, chunk, renamed=True), name))
    except SchemaError:
        raw = _whole(connection, query, fast)
        return coerce_table(register.apply(name, raw, renamed=True), name)
    if not parts:
        return empty_table(name)
    # categories differ between chunks: their union, sorted as one coercion sorts them
    merged = {
        column: pd.api.types.union_categoricals(
            [part[column] for part in parts], sort_categories=True
        )
        for column in open_categories
        if column in parts[0]
    }
    frame = pd.concat([part.drop(columns=list(merged)) for part in parts], ignore_index=True)
    for column, values in merged.items():
        frame[column] = values
    return _key_ordered(frame[list(parts[0].columns)], key)


def _read_arrow_table(connection, query, name: str, register, fast) -> pd.DataFrame:
    """One table of the data model read whole through ADBC, cast in Arrow, coerced once.

    The Arrow result is already compact (no Python object per value), so there is no
    need to coerce it in chunks: one conversion, its dates, whole numbers and
    categories already of the model's dtypes (:func:`_typed_frame`), then one
    :func:`coerce_table`. When that refuses the table, the plain conversion of the same
    rows is coerced instead, so the error is the one reading it unconverted gives.
    """
    arrow = _fetch_arrow(fast, connection, query)
    if not arrow.num_rows:
        return empty_table(name)
    try:
        frame = coerce_table(_mapped(register, name, _typed_frame(arrow, name, register)), name)
    except SchemaError:
        return coerce_table(register.apply(name, _arrow_frame(arrow), renamed=True), name)
    return _key_ordered(frame, TABLES[name].key)


def _mapped(register, name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``register.apply(name, frame, renamed=True)``, without its copy of ``frame`` when
    the mapping has nothing to do to a table of unique, renamed columns (no values to
    translate, no known date to fill): then it is that copy, unchanged."""
    spec = register.mapping(name)
    if name in TABLES and not spec.values and not spec.known_date and frame.columns.is_unique:
        return frame
    return register.apply(name, frame, renamed=True)


def _key_ordered(frame: pd.DataFrame, key) -> pd.DataFrame:
    """Rows ordered by key as files are, whatever the database's collation (when the
    database gave that order already, as its primary key often does, the check is all
    it costs)."""
    if _in_order(frame, list(key)):
        return frame
    return frame.sort_values(list(key), kind="stable", ignore_index=True)


def _in_order(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether rows are in strictly increasing key order (compared as pandas sorts)."""
    if len(frame) < 2:
        return True
    later = True  # rows whose key columns after this one increase
    for column in reversed(key):
        values = frame[column]
        if values.isna().any():
            return False
        a = values.iloc[1:].reset_index(drop=True)
        b = values.iloc[:-1].reset_index(drop=True)
        try:
            greater = (a > b).to_numpy(dtype=bool)
            equal = (a == b).to_numpy(dtype=bool)
        except TypeError:  # values without an order here: sort
            return False
        later = greater | (equal & later)
    return bool(np.all(later))


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
    replaced table is as it was, an appended one has no new row. On PostgreSQL (with
    ``adbc-driver-postgresql``) the rows go in as one bulk ingest of Arrow (binary COPY)
    through ADBC, in the same transaction as the checks, the DROP or the DELETE; a
    refusal is SQLAlchemy's exception of the same name (``IntegrityError``...).

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
    with _arrow_connection(target, None) as fast:
        if fast is not None:  # PostgreSQL: one COPY of Arrow rows, in one transaction
            _write_arrow(fast, out, schema, name, table, if_exists, run_column, run_id)
            return len(out)
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


def _write_arrow(fast, out, schema, name, table, if_exists, run_column, run_id) -> None:
    """write_sql on PostgreSQL through ADBC: checks, DROP or DELETE, and the rows' bulk
    ingest (binary COPY) in one transaction, committed at the end or rolled back."""
    import pyarrow as pa
    import sqlalchemy as sa
    from adbc_driver_postgresql import dbapi
    from sqlalchemy.dialects import postgresql

    quote = postgresql.dialect().identifier_preparer.quote
    qualified = f"{quote(schema)}.{quote(name)}" if schema else quote(name)

    def literal(text: str) -> str:
        return "'" + str(text).replace("'", "''") + "'"

    rows = pa.Table.from_pandas(out, preserve_index=False)
    for i, field in enumerate(rows.schema):  # a column of None only: text
        if pa.types.is_null(field.type):
            rows = rows.set_column(i, field.name, rows.column(i).cast(pa.string()))
    cursor = fast.cursor()
    try:
        cursor.execute(f"SELECT to_regclass({literal(qualified)}) IS NOT NULL")
        exists = bool(cursor.fetchone()[0])
        if if_exists == "fail" and exists:
            raise ValueError(
                f"table {table!r} exists; pass if_exists='replace', 'append' or 'replace-run'"
            )
        if exists and if_exists == "replace":
            cursor.execute(f"DROP TABLE {qualified}")
            exists = False
        if exists and run_id is not None and if_exists in ("append", "replace-run"):
            cursor.execute(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = "
                f"to_regclass({literal(qualified)}) AND attname = {literal(run_column)} "
                "AND attnum > 0 AND NOT attisdropped"
            )
            if cursor.fetchone()[0]:
                where = f"{quote(run_column)} = {literal(run_id)}"
                cursor.execute(f"SELECT count(*) FROM {qualified} WHERE {where}")
                present = int(cursor.fetchone()[0])
                if present and if_exists == "append":
                    raise ValueError(_twice(table, run_id, present))
                if present:
                    cursor.execute(f"DELETE FROM {qualified} WHERE {where}")
        _ingest(cursor, rows, name, schema, "append" if exists else "create")
        fast.commit()
    except dbapi.Error as exc:  # as SQLAlchemy's: IntegrityError, ProgrammingError...
        fast.rollback()
        raise sa.exc.DBAPIError.instance(f"write {table}", None, exc, dbapi.Error) from None
    except BaseException:
        fast.rollback()
        raise
    finally:
        cursor.close()


def _ingest(cursor, rows, name: str, schema: str | None, mode: str) -> None:
    """ADBC's bulk ingest of Arrow rows (binary COPY) into a table."""
    cursor.adbc_ingest(name, rows, mode=mode, db_schema_name=schema)


def _twice(table: str, run_id: str, present: int) -> str:
    return (
        f"table {table!r} already holds run {run_id} ({present:,} rows): appending it "
        "again would count every entity twice; pass --if-exists replace-run "
        "(if_exists='replace-run') to replace that run"
    )


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
        raise ValueError(_twice(table, run_id, present))
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
