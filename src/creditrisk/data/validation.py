"""Rules a set of event tables must satisfy, each reported as a :class:`Problem`.

:func:`check` runs every rule and returns all problems at once, so one run of
``EventTables.validate()`` tells the user everything that is wrong. The rules:

==========================  ============================================================
rule                        meaning
==========================  ============================================================
required                    a non-nullable column has empty values
duplicate key               two rows share the table's key
unknown entity              an event's entity_id is not in ``enterprises``
before registration         an event happened before the entity was registered
after deregistration        an event happened after the entity was deregistered
known before event          a known/end date is earlier than the date it follows (an
                            annual report filed before its report year ended, too)
restoration before penalty  ``restored_on`` is earlier than the penalty's ``published_on``
removed before listed       ``removed_on`` is earlier than ``listed_on`` (both lists)
ended before it began       a role's ``to_on`` is earlier than its ``from_on``
verdict while pending       a complaint still ``pending`` carries a ``concluded_on``
share                       a shareholder's share of capital outside 0-1
removal reason              ``removed_on`` and ``removal_reason`` not both set or both
                            empty
non-negative                a negative fine or financial figure
after extraction            a date after the register's extraction date (``extracted_on``
                            in the register mapping, or ``--extracted-on``); without one,
                            a date more than a year past today (a typo such as 2099)
implausible                 a date before 1900, a report year before 1900, an amount
                            beyond ±1e15 yuan or a headcount beyond 1e8: mistyped values
                            that would otherwise pass as data
==========================  ============================================================

Scheduled dates (a license's ``expires_on``, a penalty's ``disclosure_ends_on``) may lie
after the extraction; every other date records something that happened or became known.
Complaints and other departments' listings may come after an entity's deregistration
(consumers and courts act on a closed business too); every other event may not.

Examples
--------
>>> import creditrisk as cr
>>> check(cr.load_sample())
[]
"""

from __future__ import annotations

import operator
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from creditrisk.data.keys import positions, positions_each
from creditrisk.data.schema import ALL_TABLE_NAMES, TABLES, Problem, offending_rows

__all__ = ["check", "cross_entity_keys", "duplicate_keys"]

# (table, earlier column, later column, rule, detail): the later date may not precede
# the earlier one. Empty dates are not compared.
_DATE_ORDER: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "enterprises",
        "registered_on",
        "deregistered_on",
        "known before event",
        "deregistered before it was registered",
    ),
    (
        "penalties",
        "decided_on",
        "published_on",
        "known before event",
        "published before it was decided",
    ),
    (
        "penalties",
        "published_on",
        "disclosure_ends_on",
        "known before event",
        "disclosure ends before publication",
    ),
    (
        "penalties",
        "published_on",
        "restored_on",
        "restoration before penalty",
        "restored before the penalty was published",
    ),
    (
        "inspections",
        "inspected_on",
        "published_on",
        "known before event",
        "result published before the inspection",
    ),
    ("licenses", "issued_on", "expires_on", "known before event", "expires before it was issued"),
    ("licenses", "issued_on", "revoked_on", "known before event", "revoked before it was issued"),
    (
        "list_entries",
        "listed_on",
        "removed_on",
        "removed before listed",
        "removed from the list before it was listed",
    ),
    ("roles", "from_on", "to_on", "ended before it began", "the role ended before it began"),
    ("roles", "from_on", "published_on", "known before event", "published before it began"),
    ("changes", "changed_on", "published_on", "known before event", "published before it was made"),
    (
        "complaints",
        "received_on",
        "recorded_on",
        "known before event",
        "recorded before it was received",
    ),
    (
        "complaints",
        "received_on",
        "concluded_on",
        "known before event",
        "concluded before it was received",
    ),
    (
        "external_lists",
        "listed_on",
        "published_on",
        "known before event",
        "published before it was listed",
    ),
    (
        "external_lists",
        "listed_on",
        "removed_on",
        "removed before listed",
        "removed from the list before it was listed",
    ),
)

_NON_NEGATIVE: tuple[tuple[str, str], ...] = (
    ("penalties", "fine_amount"),
    ("enterprises", "registered_capital"),
    ("annual_reports", "employees"),
    ("annual_reports", "assets"),
    ("annual_reports", "liabilities"),
    ("annual_reports", "tax_paid"),
    ("roles", "share"),
)

#: events that may come after the entity's deregistration
_OUTLIVE_THE_ENTITY = ("complaints", "external_lists")


def check(tables) -> list[Problem]:
    """Run every rule on ``tables`` (an :class:`~creditrisk.EventTables`); return problems.

    Parameters
    ----------
    tables : EventTables
        The register, already coerced to the data model's dtypes.

    Returns
    -------
    list of Problem
        Every broken rule, one :class:`~creditrisk.data.schema.Problem` per rule and
        column (with up to five offending rows); empty when the tables are sound.

    Examples
    --------
    >>> import creditrisk as cr
    >>> len(check(cr.load_sample()))
    0
    >>> t = cr.load_sample()
    >>> late = t.list_entries.assign(removed_on=pd.Timestamp("2000-01-01"))
    >>> sorted({p.rule for p in check(t.replace(list_entries=late))})
    ['removal reason', 'removed before listed']
    """
    problems: list[Problem] = []
    found = _entity_positions(tables)
    for name, schema in TABLES.items():
        frame = getattr(tables, name)
        problems += _required(frame, name)
        problems += duplicate_keys(frame, name, list(schema.key), found.get(name))
    problems += _dates_in_order(tables)
    problems += _non_negative(tables)
    problems += _removal_reason(tables.list_entries)
    problems += _shares(tables.roles)
    problems += _pending_verdicts(tables.complaints)
    problems += _annual_report_timing(tables.annual_reports)
    problems += _entity_lifetimes(tables, found)
    problems += _extra_tables(tables)
    problems += _after_extraction(tables)
    problems += _implausible(tables)
    return problems


def _compare(
    values: pd.Series,
    op: Callable,
    bound: object,
    magnitude: bool = False,
) -> np.ndarray:
    """``op(values, bound)`` as a bool array, False where either side is empty.

    ``bound`` is a scalar or a Series of ``values``' length (``magnitude``: compare
    ``abs(values)``). NumPy arrays of the data model's dtypes are compared as they are
    (NaN and NaT compare False); other dtypes as pandas compares them.
    """
    dtype = values.dtype
    other = bound.dtype if isinstance(bound, pd.Series) else None
    if dtype == np.dtype("datetime64[s]"):
        if other == dtype:
            return op(values.to_numpy(), bound.to_numpy())
        if isinstance(bound, np.datetime64):
            exact = bound.astype(dtype)
            if exact == bound:
                return op(values.to_numpy(), exact)
    elif (
        isinstance(dtype, np.dtype)
        and dtype.kind in "iuf"
        and isinstance(bound, int | float)
        and not isinstance(bound, bool)
    ):
        numbers = np.abs(values.to_numpy()) if magnitude else values.to_numpy()
        return op(numbers, bound)
    elif (
        isinstance(dtype, pd.Int64Dtype)
        and isinstance(bound, int)
        and not isinstance(bound, bool)
        and not magnitude
    ):  # nullable counts: compare the numbers, then drop the empty ones
        numbers = values.to_numpy(dtype="int64", na_value=0)
        return op(numbers, bound) & values.notna().to_numpy()
    if magnitude:
        values = values.abs()
    return op(values, bound).fillna(False).to_numpy(dtype=bool)


#: no record of the register is older (a year typed 0202 or 1800 is a typo)
EARLIEST = pd.Timestamp("1900-01-01")
#: no amount is larger: a quadrillion yuan, about ten times China's yearly GDP
LARGEST_AMOUNT = 1e15
#: no entity employs more people
LARGEST_HEADCOUNT = 100_000_000


def _implausible(tables) -> list[Problem]:
    """Values no register holds: mistyped years, amounts and headcounts."""
    out = []
    earliest = EARLIEST.to_datetime64()
    for name, schema in TABLES.items():
        frame = getattr(tables, name)
        for col in schema.columns:
            values = frame[col.name]
            if col.kind == "date":
                mask = _compare(values, operator.lt, earliest)
                detail = f"dated before {EARLIEST.date()}: a mistyped year?"
            elif col.kind == "amount":
                mask = _compare(values, operator.gt, LARGEST_AMOUNT, magnitude=True)
                detail = f"beyond ±{LARGEST_AMOUNT:.0e} yuan: a mistyped amount?"
            elif col.kind == "count":
                mask = _compare(values, operator.gt, LARGEST_HEADCOUNT)
                detail = f"more than {LARGEST_HEADCOUNT:,}: a mistyped number?"
            elif col.kind == "integer":
                mask = _compare(values, operator.lt, EARLIEST.year)
                detail = f"a year before {EARLIEST.year}: a mistyped year?"
            else:
                continue
            if mask.any():
                n, rows = offending_rows(frame, mask, name, [col.name])
                out.append(Problem(name, col.name, "implausible", detail, n, rows))
    for name, frame in getattr(tables, "extra", {}).items():
        for column in dict.fromkeys(tables.register.mapping(name).dates):
            mask = (frame[column] < earliest).fillna(False).to_numpy(dtype=bool)
            if mask.any():
                n, rows = offending_rows(frame, mask, name, [column])
                detail = f"dated before {EARLIEST.date()}: a mistyped year?"
                out.append(Problem(name, column, "implausible", detail, n, rows))
    return out


#: without an extraction date, how far past today a recorded date may lie (test
#: registers and synthetic worlds run a little ahead; a mistyped 2099 does not)
FUTURE_SLACK = pd.Timedelta(days=366)

#: dates set in advance, not recorded: they may lie after the extraction (no expiry)
_SCHEDULED = {("licenses", "expires_on"), ("penalties", "disclosure_ends_on")}


def _extraction_limit(tables) -> tuple[pd.Timestamp, str]:
    """The latest date a record may carry, and how to say so."""
    given = getattr(getattr(tables, "register", None), "extracted_on", None)
    if given is not None:
        return pd.Timestamp(given), f"dated after the register's extraction date {given.date()}"
    today = pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    limit = today + FUTURE_SLACK
    return limit, (
        f"dated after {limit.date()}, more than a year after today: a mistyped date? "
        "(nothing is known before it happens; give the register's extraction date with "
        "--extracted-on or extracted_on in the register mapping to bound every date by it)"
    )


def _after_extraction(tables) -> list[Problem]:
    """Dates past the register's extraction date (or today): typos such as 2099-06-01."""
    limit, detail = _extraction_limit(tables)
    bound = limit.to_datetime64()
    out = []
    for name, schema in TABLES.items():
        frame = getattr(tables, name)
        for col in schema.columns:
            if col.kind != "date" or (name, col.name) in _SCHEDULED:
                continue
            mask = _compare(frame[col.name], operator.gt, bound)
            if mask.any():
                n, rows = offending_rows(frame, mask, name, [col.name])
                out.append(Problem(name, col.name, "after extraction", detail, n, rows))
    reports = tables.annual_reports
    late = _compare(reports["report_year"], operator.gt, limit.year)
    if late.any():
        n, rows = offending_rows(reports, late, "annual_reports", ["report_year"])
        words = f"a report year after {limit.year}, the year of extraction"
        out.append(Problem("annual_reports", "report_year", "after extraction", words, n, rows))
    for name, frame in getattr(tables, "extra", {}).items():
        for column in dict.fromkeys(tables.register.mapping(name).dates):
            mask = (frame[column] > bound).fillna(False).to_numpy(dtype=bool)
            if mask.any():
                n, rows = offending_rows(frame, mask, name, [column])
                out.append(Problem(name, column, "after extraction", detail, n, rows))
    return out


def _extra_tables(tables) -> list[Problem]:
    """Tables outside the data model: known entities, and known on or after the event."""
    out = []
    ent = tables.enterprises["entity_id"]
    for name, frame in getattr(tables, "extra", {}).items():
        event, known = tables.register.mapping(name).dates
        unknown = positions(frame["entity_id"], ent) < 0
        if unknown.any():
            n, rows = offending_rows(frame, unknown, name, ["entity_id"])
            out.append(Problem(name, "entity_id", "unknown entity", "not in enterprises", n, rows))
        if event != known:
            early = (frame[known] < frame[event]).fillna(False).to_numpy()
            if early.any():
                n, rows = offending_rows(frame, early, name, [event, known])
                detail = f"{known} is before {event}"
                out.append(Problem(name, known, "known before event", detail, n, rows))
    return out


def _required(frame: pd.DataFrame, table: str) -> list[Problem]:
    out = []
    for col in TABLES[table].columns:
        if col.nullable:
            continue
        mask = frame[col.name].isna().to_numpy()
        if col.optional and mask.all():
            continue  # an optional column the register does not have
        if mask.any():
            n, rows = offending_rows(frame, mask, table, [col.name])
            out.append(Problem(table, col.name, "required", "values are empty", n, rows))
    return out


def cross_entity_keys() -> dict[str, list[str]]:
    """Tables whose key is an identifier of its own (not per entity): a chunk of
    entities cannot see a duplicate in another chunk, so these keys are checked on the
    whole register (:mod:`creditrisk.jobs.scoring`, :mod:`creditrisk.jobs.spark`).

    Returns
    -------
    dict of str to list of str
        Table name -> its key columns, for every table of the data model (the six and
        the indicator system's four) whose key does not include ``entity_id``.

    Examples
    --------
    >>> cross_entity_keys()["penalties"], cross_entity_keys()["roles"]
    (['penalty_id'], ['role_id'])
    >>> "annual_reports" in cross_entity_keys()  # keyed by entity and year
    False
    """
    return {
        name: list(TABLES[name].key)
        for name in ALL_TABLE_NAMES
        if "entity_id" not in TABLES[name].key
    }


def duplicate_keys(
    frame: pd.DataFrame, table: str, key: list[str], entities: np.ndarray | None = None
) -> list[Problem]:
    """The duplicate-key problem of ``frame`` (empty list when its key is unique).

    Parameters
    ----------
    frame : pandas.DataFrame
        One table.
    table : str
        Its name, for the problem.
    key : list of str
        The columns that must identify one row.
    entities : numpy.ndarray, optional
        The position of each row's ``entity_id`` in ``enterprises`` (-1: not there),
        when already known (:func:`check` has it): equal ids have equal positions, so
        the ids need not be hashed again.

    Returns
    -------
    list of Problem
        One problem naming every row whose key another row shares, or none.

    Examples
    --------
    >>> frame = pd.DataFrame({"penalty_id": ["P1", "P1"], "entity_id": ["E1", "E2"]})
    >>> duplicate_keys(frame, "penalties", ["penalty_id"])[0].headline()
    'penalties.penalty_id [duplicate key]: penalty_id must identify one row (2 rows)'
    """
    mask = _duplicated(frame, key, entities)
    if not mask.any():
        return []
    n, rows = offending_rows(frame, mask, table, key)
    detail = f"{' + '.join(key)} must identify one row"
    return [Problem(table, ", ".join(key), "duplicate key", detail, n, rows)]


def _increasing(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether ``key`` (text or integers, no empty value) strictly increases row by row.

    Rows in strictly increasing key order repeat no key: the usual register, written
    sorted, is cleared with one comparison of neighbours instead of hashing its keys.
    """
    if len(frame) < 2:
        return True
    before = np.zeros(len(frame) - 1, dtype=bool)  # earlier key columns all equal
    tied = np.ones(len(frame) - 1, dtype=bool)
    for column in key:
        values = frame[column]
        if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu":
            ints = values.to_numpy()
            less, equal = ints[:-1] < ints[1:], ints[:-1] == ints[1:]
        elif pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
            text = pa.array(values)
            if text.null_count:
                return False
            less = pc.less(text[:-1], text[1:]).to_numpy(zero_copy_only=False)
            equal = pc.equal(text[:-1], text[1:]).to_numpy(zero_copy_only=False)
        else:
            return False
        before |= tied & less
        tied &= equal
    return bool(before.all())


def _key_codes(values: pd.Series, found: np.ndarray | None = None) -> tuple[np.ndarray, int]:
    """Codes of one key column: equal values (empty ones too) share one; and their count.

    Integers spanning fewer values than rows become offsets from the smallest (no
    hashing); ids whose positions among the enterprises are ``found`` take them (the
    others are factorized after them); anything else is factorized as
    ``DataFrame.duplicated`` does.
    """
    if found is not None:
        codes = found.copy()
        size = int(found.max(initial=-1)) + 1
        unknown = found < 0
        if unknown.any():
            more, uniques = pd.factorize(values[unknown])  # empty ids: -1, one code
            codes[unknown] = more.astype(np.int64) + size + 1
            size += len(uniques) + 1
        return codes, size
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu" and len(values):
        ints = values.to_numpy()
        low, high = int(ints.min()), int(ints.max())
        if high - low < len(ints):
            return (ints - low).astype(np.int64), high - low + 1
    codes, uniques = pd.factorize(values)  # empty values: -1, one code for all
    return codes.astype(np.int64) + 1, len(uniques) + 1


def _duplicated(
    frame: pd.DataFrame, key: list[str], entities: np.ndarray | None = None
) -> np.ndarray:
    """Rows whose ``key`` another row shares: ``frame.duplicated(key, keep=False)``."""
    if not frame.columns.is_unique or not set(key) <= set(frame.columns) or not key:
        return frame.duplicated(subset=key, keep=False).to_numpy()
    if _increasing(frame, key):  # a register written in key order: no key repeats
        return np.zeros(len(frame), dtype=bool)

    def codes_of(column: str) -> tuple[np.ndarray, int]:
        return _key_codes(frame[column], entities if column == "entity_id" else None)

    codes, size = codes_of(key[0])
    for column in key[1:]:
        more, count = codes_of(column)
        codes, size = codes * count + more, size * count
        if size > 4 * len(frame) + 1:  # keep the codes dense (and far from overflow)
            dense, uniques = pd.factorize(codes)
            codes, size = dense.astype(np.int64), len(uniques)
    return np.bincount(codes, minlength=size)[codes] > 1


def _dates_in_order(tables) -> list[Problem]:
    out = []
    for table, first, later, rule, detail in _DATE_ORDER:
        frame = getattr(tables, table)
        mask = _compare(frame[later], operator.lt, frame[first])
        if mask.any():
            n, rows = offending_rows(frame, mask, table, [first, later])
            out.append(Problem(table, later, rule, detail, n, rows))
    return out


def _non_negative(tables) -> list[Problem]:
    out = []
    for table, column in _NON_NEGATIVE:
        frame = getattr(tables, table)
        mask = _compare(frame[column], operator.lt, 0)
        if mask.any():
            n, rows = offending_rows(frame, mask, table, [column])
            out.append(Problem(table, column, "non-negative", "values must be >= 0", n, rows))
    return out


def _removal_reason(entries: pd.DataFrame) -> list[Problem]:
    mask = (entries["removed_on"].isna() != entries["removal_reason"].isna()).to_numpy()
    if not mask.any():
        return []
    n, rows = offending_rows(entries, mask, "list_entries", ["removed_on", "removal_reason"])
    detail = "removed_on and removal_reason must be both set or both empty"
    return [Problem("list_entries", "removal_reason", "removal reason", detail, n, rows)]


def _shares(roles: pd.DataFrame) -> list[Problem]:
    mask = (roles["share"] > 1).fillna(False).to_numpy(dtype=bool)
    if not mask.any():
        return []
    n, rows = offending_rows(roles, mask, "roles", ["person_id", "share"])
    return [Problem("roles", "share", "share", "a share of capital is at most 1", n, rows)]


def _pending_verdicts(complaints: pd.DataFrame) -> list[Problem]:
    pending = (complaints["substantiated"] == "pending").fillna(False).to_numpy(dtype=bool)
    mask = pending & complaints["concluded_on"].notna().to_numpy()
    if not mask.any():
        return []
    n, rows = offending_rows(complaints, mask, "complaints", ["substantiated", "concluded_on"])
    detail = "a complaint still pending has no verdict date: set substantiated, or clear it"
    return [Problem("complaints", "concluded_on", "verdict while pending", detail, n, rows)]


def _annual_report_timing(reports: pd.DataFrame) -> list[Problem]:
    mask = _filed_early(reports["report_year"], reports["filed_on"])
    if not mask.any():
        return []
    n, rows = offending_rows(reports, mask, "annual_reports", ["report_year", "filed_on"])
    detail = "filed before the report year ended"
    return [Problem("annual_reports", "filed_on", "known before event", detail, n, rows)]


def _filed_early(year: pd.Series, filed_on: pd.Series) -> np.ndarray:
    """Where ``filed_on`` precedes January 1st after ``year`` (empty values: False)."""
    typed = year.dtype.kind in "iu" and filed_on.dtype == np.dtype("datetime64[s]")
    known = year.notna().to_numpy()
    years = year.to_numpy(dtype="float64", na_value=np.nan)[known] if typed else None
    if years is not None and ((years >= 999) & (years <= 9998)).all():
        # four-digit years: January 1st after each year, without reading text
        year_end = np.full(len(year), np.datetime64("NaT", "s"))
        if len(years):  # one conversion per distinct year, not per report
            ints = years.astype(np.int64)
            first = int(ints.min())
            span = np.arange(first, int(ints.max()) + 1) + 1 - 1970
            ends = span.astype("datetime64[Y]").astype("datetime64[s]")
            year_end[known] = ends[ints - first]
        return filed_on.to_numpy() < year_end
    # other years read as pandas reads their text ("1-01-01" is not year 1)
    year_end = pd.to_datetime((year + 1).astype("str") + "-01-01", errors="coerce")
    return (filed_on < year_end.astype("datetime64[s]")).fillna(False).to_numpy()


def _entity_positions(tables) -> dict[str, np.ndarray]:
    """Each event table's entity ids' positions in ``enterprises`` (-1: not there)."""
    events = [name for name in TABLES if name != "enterprises"]
    ids = [getattr(tables, name)["entity_id"] for name in events]
    return dict(zip(events, positions_each(ids, tables.enterprises["entity_id"]), strict=True))


def _entity_lifetimes(tables, found: dict[str, np.ndarray] | None = None) -> list[Problem]:
    """Unknown entity ids, and events outside [registered_on, deregistered_on]."""
    found = _entity_positions(tables) if found is None else found
    ent = tables.enterprises
    registered = ent["registered_on"].to_numpy()
    deregistered = ent["deregistered_on"].to_numpy()
    out = []
    for table, schema in TABLES.items():
        if table == "enterprises":
            continue
        frame = getattr(tables, table)
        pos = found[table]
        unknown = pos < 0
        if unknown.any():
            n, rows = offending_rows(frame, unknown, table, [])
            out.append(Problem(table, "entity_id", "unknown entity", "not in enterprises", n, rows))
        date = frame[schema.event_date].to_numpy()
        known = ~unknown & ~np.isnat(date)
        safe = np.where(known, pos, 0)
        before = known & (date < registered[safe])
        if before.any():
            n, rows = offending_rows(frame, before, table, [schema.event_date])
            rows = rows.assign(registered_on=registered[safe][before][: len(rows)])
            out.append(
                Problem(
                    table,
                    schema.event_date,
                    "before registration",
                    "event dated before the entity was registered",
                    n,
                    rows,
                )
            )
        gone = deregistered[safe]
        after = known & ~np.isnat(gone) & (date > gone) & (table not in _OUTLIVE_THE_ENTITY)
        if after.any():
            n, rows = offending_rows(frame, after, table, [schema.event_date])
            rows = rows.assign(deregistered_on=gone[after][: len(rows)])
            out.append(
                Problem(
                    table,
                    schema.event_date,
                    "after deregistration",
                    "event dated after the entity was deregistered",
                    n,
                    rows,
                )
            )
    return out
