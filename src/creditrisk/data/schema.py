"""The data model: event tables with fixed columns, dtypes and vocabularies.

Six tables every register has (:data:`TABLE_NAMES`; an absent one is empty), and four
optional tables for the rest of the indicator system (:data:`INDICATOR_TABLES`: the
people behind an enterprise, registration changes, complaints and other departments'
lists), carried only when a register holds them.

Every table is described by a :class:`TableSchema`; :func:`coerce_table` turns any
DataFrame with the right columns (from parquet, CSV or the caller's own code) into the
declared dtypes, and raises :class:`SchemaError` naming the table, column and rows when
a value cannot be read. Cross-table rules (unknown entities, dates out of order) live in
:mod:`creditrisk.data.validation`.

Each event carries the date it happened and the date the regulator knew it; the
``known_date`` of a table is what point-in-time features filter on.

Examples
--------
>>> from creditrisk.data.schema import TABLES
>>> TABLES["penalties"].known_date
'published_on'
>>> [c.name for c in TABLES["enterprises"].columns][:3]
['entity_id', 'entity_type', 'industry']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "ALL_TABLE_NAMES",
    "DATE_DTYPE",
    "INDICATOR_TABLES",
    "TABLES",
    "TABLE_NAMES",
    "Column",
    "Problem",
    "SchemaError",
    "TableSchema",
    "as_dates",
    "coerce_extra",
    "coerce_table",
    "data_dictionary",
    "empty_table",
]

#: Dates are stored at second resolution: day-precision values, and far-future dates
#: such as 9999-12-31 (used by registers for "no expiry") fit without overflow.
DATE_DTYPE = "datetime64[s]"

Kind = Literal["id", "category", "date", "integer", "count", "amount"]

ENTITY_TYPES = ("company", "sole_proprietor", "partnership", "branch", "cooperative")
KEY_SECTORS = ("none", "food", "drug", "industrial_product", "special_equipment")
SEVERITIES = ("warning", "minor", "general", "serious")
MEASURES = (
    "warning",
    "criticism_notice",
    "fine",
    "confiscation",
    "suspension",
    "license_revocation",
    "qualification_downgrade",
    "trade_ban",
)
#: random: drawn at random (double random); routine: scheduled, unannounced; follow_up: a
#: re-inspection or compliance check after an earlier result; other: special programmes
INSPECTION_KINDS = ("random", "targeted", "complaint", "joint", "routine", "follow_up", "other")
#: closed: the premises were closed on the spot (the most serious finding)
OUTCOMES = ("compliant", "issues_found", "not_found_at_address", "closed")
LISTS = ("abnormal_operation", "abnormal_mark", "serious_illegal")
LIST_REASONS = (
    "annual_report_not_filed",
    "disclosure_not_made",
    "false_information",
    "unreachable_at_address",
    "escalated_from_abnormal",
    "serious_violation",
)
REMOVAL_REASONS = ("restored", "deregistered", "escalated", "expired")
#: a person's part in an enterprise, as the registration authority records it
ROLES = ("legal_representative", "shareholder", "director", "supervisor", "manager", "other")
#: registration changes the indicator system watches ("abnormal changes"); other: the rest
CHANGE_KINDS = (
    "legal_representative",
    "address",
    "registered_capital",
    "business_scope",
    "name",
    "shareholders",
    "other",
)
#: whether a complaint was found substantiated; pending: not yet decided
SUBSTANTIATED = ("yes", "no", "pending")
#: other departments' joint-punishment lists
EXTERNAL_LISTS = (
    "court_judgment_defaulter",
    "major_tax_violation",
    "customs_dishonest",
    "environmental_violation",
    "work_safety",
    "social_security",
    "other",
)


@dataclass(frozen=True)
class Column:
    """One column of an event table.

    ``kind`` decides the dtype: ``id`` -> ``str``, ``category`` -> ``category`` (with a
    fixed vocabulary when ``values`` is given), ``date`` -> ``datetime64[s]``,
    ``integer`` -> ``int64``, ``count`` -> nullable ``Int64``, ``amount`` -> ``float64``.

    Parameters
    ----------
    name : str
        The column's name in the table.
    kind : {"id", "category", "date", "integer", "count", "amount"}
        What the column holds; it decides the dtype (see above).
    description : str
        What the column means, for the data dictionary (:func:`data_dictionary`).
    nullable : bool, default False
        Whether a value may be empty.
    values : tuple of str, optional
        The closed vocabulary of a ``category`` column; ``None`` (the default) leaves
        the vocabulary open (the categories are then the values found, sorted).
    optional : bool, default False
        An optional column may be absent from the input: it is then added, all empty.

    Examples
    --------
    >>> Column("fine_amount", "amount", "Fine in yuan; 0 when none.").dtype
    'float64'
    >>> dtype = Column("severity", "category", "Severity.", values=("minor", "serious")).dtype
    >>> list(dtype.categories), dtype.ordered
    (['minor', 'serious'], True)
    """

    name: str
    kind: Kind
    description: str
    nullable: bool = False
    values: tuple[str, ...] | None = None
    #: an optional column may be absent from the input: it is then added, all empty
    optional: bool = False

    @property
    def dtype(self) -> str | pd.CategoricalDtype:
        """The pandas dtype of the column: a dtype name, or a CategoricalDtype.

        A ``category`` column with a closed vocabulary gets a CategoricalDtype of its
        ``values`` (ordered for ``severity`` only: warning < minor < general < serious);
        one with an open vocabulary gets ``"category"``.

        Examples
        --------
        >>> Column("report_year", "integer", "The year the report covers.").dtype
        'int64'
        >>> Column("region", "category", "District.").dtype
        'category'
        >>> TABLES["penalties"].column("severity").dtype.ordered
        True
        """
        if self.kind == "category":
            if self.values is None:
                return "category"
            return pd.CategoricalDtype(list(self.values), ordered=self.name == "severity")
        return {
            "id": "str",
            "date": DATE_DTYPE,
            "integer": "int64",
            "count": "Int64",
            "amount": "float64",
        }[self.kind]


@dataclass(frozen=True)
class TableSchema:
    """Columns, key and dates of one event table.

    ``event_date`` is when the thing happened; ``known_date`` is when the regulator
    knew it (features may only use rows whose known date is before the as-of date).

    Parameters
    ----------
    name : str
        The table's name (``"penalties"``, say), the key of :data:`TABLES`.
    description : str
        What one row is, for the data dictionary (:func:`data_dictionary`).
    columns : tuple of Column
        The columns, in schema order.
    key : tuple of str
        The columns that identify a row.
    event_date : str
        The column dating the event.
    known_date : str
        The column dating the regulator's knowledge of it.

    Examples
    --------
    >>> schema = TABLES["inspections"]
    >>> schema.key, schema.event_date, schema.known_date
    (('inspection_id',), 'inspected_on', 'published_on')
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    event_date: str
    known_date: str

    def column(self, name: str) -> Column:
        """The column called ``name``.

        Parameters
        ----------
        name : str
            A column of the table.

        Returns
        -------
        Column
            Its description.

        Raises
        ------
        KeyError
            The table has no such column.

        Examples
        --------
        >>> TABLES["penalties"].column("fine_amount").kind
        'amount'
        >>> TABLES["penalties"].column("fine")
        Traceback (most recent call last):
        KeyError: "penalties has no column 'fine'"
        """
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        """The names of the columns, in schema order.

        Examples
        --------
        >>> TABLES["licenses"].names
        ['license_id', 'entity_id', 'license_type', 'issued_on', 'expires_on', 'revoked_on']
        """
        return [c.name for c in self.columns]


_ID = Column("entity_id", "id", "Registered entity (e.g. unified social credit code).")
#: a column the register may leave out (it is then added, all empty) or leave empty
_OPTIONAL = {"nullable": True, "optional": True}

TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        TableSchema(
            "enterprises",
            "One row per registered market entity, including deregistered ones.",
            (
                _ID,
                Column("entity_type", "category", "Legal form.", values=ENTITY_TYPES, **_OPTIONAL),
                Column(
                    "industry",
                    "category",
                    "Industry of the registered business scope.",
                    **_OPTIONAL,
                ),
                Column(
                    "key_sector",
                    "category",
                    "Key supervision sector, or 'none'.",
                    values=KEY_SECTORS,
                    **_OPTIONAL,
                ),
                Column("region", "category", "Registration authority's district.", **_OPTIONAL),
                Column("registered_capital", "amount", "Registered capital in yuan.", **_OPTIONAL),
                Column(
                    "registered_on",
                    "date",
                    "Date of establishment registration; empty where the register lacks it "
                    "(the entity then counts as registered at every as-of date).",
                    **_OPTIONAL,
                ),
                Column(
                    "deregistered_on",
                    "date",
                    "Date of deregistration; empty while registered.",
                    **_OPTIONAL,
                ),
                Column(
                    "address_id",
                    "id",
                    "Key of the registered address at extraction: enterprises registered at "
                    "one address share it; empty where unknown. Earlier addresses come from "
                    "the address changes (changes.old_value / new_value).",
                    **_OPTIONAL,
                ),
            ),
            key=("entity_id",),
            event_date="registered_on",
            known_date="registered_on",
        ),
        TableSchema(
            "annual_reports",
            "One row per report due (entity, report_year); filed_on empty if never filed. "
            "Reports for year Y are due 1 January - 30 June of Y+1.",
            (
                _ID,
                Column("report_year", "integer", "The year the report covers."),
                Column("filed_on", "date", "Date filed; empty if not filed.", nullable=True),
                Column("employees", "count", "Headcount, if disclosed.", True, optional=True),
                Column("revenue", "amount", "Revenue in yuan, if disclosed.", True, optional=True),
                Column(
                    "assets", "amount", "Total assets in yuan, if disclosed.", True, optional=True
                ),
                Column(
                    "liabilities",
                    "amount",
                    "Total liabilities in yuan, if disclosed.",
                    nullable=True,
                    optional=True,
                ),
                Column(
                    "tax_paid", "amount", "Tax paid in yuan, if disclosed.", True, optional=True
                ),
            ),
            key=("entity_id", "report_year"),
            event_date="filed_on",
            known_date="filed_on",
        ),
        TableSchema(
            "licenses",
            "Administrative licenses (permits) granted to entities.",
            (
                Column(
                    "license_id",
                    "id",
                    "License number; made from the entity when absent.",
                    optional=True,
                ),
                _ID,
                Column(
                    "license_type", "category", "Kind of license (food_business, ...).", **_OPTIONAL
                ),
                Column("issued_on", "date", "Date granted."),
                Column("expires_on", "date", "End of validity; empty if none.", **_OPTIONAL),
                Column("revoked_on", "date", "Date revoked; empty if not.", **_OPTIONAL),
            ),
            key=("license_id",),
            event_date="issued_on",
            known_date="issued_on",
        ),
        TableSchema(
            "penalties",
            "Administrative penalty decisions. Warnings are recorded but never disclosed "
            "(disclosure_ends_on empty).",
            (
                Column(
                    "penalty_id", "id", "Penalty decision number; made when absent.", optional=True
                ),
                _ID,
                Column("decided_on", "date", "Date of the penalty decision."),
                Column(
                    "published_on",
                    "date",
                    "Date the decision entered the credit-information record.",
                ),
                Column(
                    "severity",
                    "category",
                    "warning < minor < general < serious.",
                    values=SEVERITIES,
                ),
                Column(
                    "measure", "category", "Heaviest measure imposed.", values=MEASURES, **_OPTIONAL
                ),
                Column("fine_amount", "amount", "Fine in yuan; 0 when no fine.", optional=True),
                Column(
                    "category", "category", "Area of the violation (food_safety, ...).", **_OPTIONAL
                ),
                Column(
                    "disclosure_ends_on",
                    "date",
                    "End of public disclosure; empty for undisclosed warnings.",
                    **_OPTIONAL,
                ),
                Column(
                    "restored_on",
                    "date",
                    "Date disclosure stopped early by credit restoration; empty if not.",
                    **_OPTIONAL,
                ),
            ),
            key=("penalty_id",),
            event_date="decided_on",
            known_date="published_on",
        ),
        TableSchema(
            "inspections",
            "Inspections and their published results.",
            (
                Column(
                    "inspection_id",
                    "id",
                    "Inspection record number; made from the entity and date when absent.",
                    optional=True,
                ),
                _ID,
                Column("inspected_on", "date", "Date of the inspection."),
                Column(
                    "kind",
                    "category",
                    "random (double-random draw), routine (scheduled, unannounced), targeted, "
                    "complaint, joint, follow_up (re-inspection), or other.",
                    values=INSPECTION_KINDS,
                ),
                Column(
                    "outcome", "category", "Result of the inspection.", values=OUTCOMES, **_OPTIONAL
                ),
                Column("inspector_1", "id", "Lead inspector.", **_OPTIONAL),
                Column("inspector_2", "id", "Second inspector.", **_OPTIONAL),
                Column("published_on", "date", "Date the result was published."),
            ),
            key=("inspection_id",),
            event_date="inspected_on",
            known_date="published_on",
        ),
        TableSchema(
            "list_entries",
            "Entries on the abnormal operation list (abnormal_mark for sole proprietors) "
            "and the serious illegal and dishonest list.",
            (
                Column("entry_id", "id", "List decision number; made when absent.", optional=True),
                _ID,
                Column("list", "category", "Which list.", values=LISTS),
                Column(
                    "reason",
                    "category",
                    "Why the entity was listed.",
                    values=LIST_REASONS,
                    **_OPTIONAL,
                ),
                Column("listed_on", "date", "Date listed (and published)."),
                Column("removed_on", "date", "Date removed; empty while listed.", **_OPTIONAL),
                Column(
                    "removal_reason",
                    "category",
                    "Why removed; empty while listed.",
                    values=REMOVAL_REASONS,
                    **_OPTIONAL,
                ),
            ),
            key=("entry_id",),
            event_date="listed_on",
            known_date="listed_on",
        ),
        TableSchema(
            "roles",
            "Optional. People behind enterprises: one row per person, enterprise, role and "
            "spell. The end of a role is taken as known on to_on (the register records it "
            "with the change).",
            (
                Column("role_id", "id", "Record number; made when absent.", optional=True),
                Column(
                    "person_id",
                    "id",
                    "The person (a pseudonymous key: the same person has the same key in "
                    "every enterprise).",
                ),
                _ID,
                Column("role", "category", "The person's part in the enterprise.", values=ROLES),
                Column("from_on", "date", "Date the role began."),
                Column("to_on", "date", "Date the role ended; empty while it holds.", **_OPTIONAL),
                Column("published_on", "date", "Date the role became public."),
                Column(
                    "share",
                    "amount",
                    "Share of registered capital held (0-1), for shareholders; else empty.",
                    **_OPTIONAL,
                ),
            ),
            key=("role_id",),
            event_date="from_on",
            known_date="published_on",
        ),
        TableSchema(
            "changes",
            "Optional. Registration changes (legal representative, address, capital, "
            "business scope, name, shareholders).",
            (
                Column("change_id", "id", "Change record number; made when absent.", optional=True),
                _ID,
                Column("kind", "category", "What changed.", values=CHANGE_KINDS),
                Column("changed_on", "date", "Date the change was registered."),
                Column("published_on", "date", "Date the change became public."),
                Column(
                    "old_value",
                    "id",
                    "The value before, where public: for an address change the address key "
                    "(as address_id), for a legal representative change the person_id.",
                    **_OPTIONAL,
                ),
                Column(
                    "new_value",
                    "id",
                    "The value after, where public (keys as for old_value).",
                    **_OPTIONAL,
                ),
            ),
            key=("change_id",),
            event_date="changed_on",
            known_date="published_on",
        ),
        TableSchema(
            "complaints",
            "Optional. Complaints and reports about an enterprise (12315 and the like). A "
            "verdict counts from concluded_on; without that column, from recorded_on.",
            (
                Column(
                    "complaint_id",
                    "id",
                    "Complaint record number; made when absent.",
                    optional=True,
                ),
                _ID,
                Column("received_on", "date", "Date the complaint was received."),
                Column(
                    "recorded_on",
                    "date",
                    "Date it entered the records the classification reads.",
                ),
                Column(
                    "category", "category", "What it is about (quality, fraud, ...).", **_OPTIONAL
                ),
                Column(
                    "substantiated",
                    "category",
                    "Whether it was found substantiated; pending while undecided.",
                    values=SUBSTANTIATED,
                    **_OPTIONAL,
                ),
                Column(
                    "concluded_on",
                    "date",
                    "Date of the verdict; empty while pending.",
                    **_OPTIONAL,
                ),
            ),
            key=("complaint_id",),
            event_date="received_on",
            known_date="recorded_on",
        ),
        TableSchema(
            "external_lists",
            "Optional. Entries on other departments' joint-punishment lists (court "
            "judgment defaulters, major tax violations, ...). A removal is taken as known "
            "on removed_on.",
            (
                Column("entry_id", "id", "List entry number; made when absent.", optional=True),
                _ID,
                Column("list", "category", "Which department's list.", values=EXTERNAL_LISTS),
                Column("listed_on", "date", "Date listed."),
                Column("removed_on", "date", "Date removed; empty while listed.", **_OPTIONAL),
                Column("published_on", "date", "Date the listing became known."),
            ),
            key=("entry_id",),
            event_date="listed_on",
            known_date="published_on",
        ),
    )
}

#: the tables every register has (an absent one is empty), in schema order
TABLE_NAMES: tuple[str, ...] = (
    "enterprises",
    "annual_reports",
    "licenses",
    "penalties",
    "inspections",
    "list_entries",
)
#: the indicator system's optional tables: carried (written, read, fingerprinted,
#: summarised) only when they hold rows
INDICATOR_TABLES: tuple[str, ...] = ("roles", "changes", "complaints", "external_lists")
#: every table of the data model
ALL_TABLE_NAMES: tuple[str, ...] = TABLE_NAMES + INDICATOR_TABLES


@dataclass
class Problem:
    """One broken rule: where it is, what it is, and up to five offending rows.

    Parameters
    ----------
    table : str
        The table that breaks the rule.
    column : str or None
        The column, or ``None`` for the table as a whole (a missing table, say).
    rule : str
        The rule's short name (``"unparseable"``, ``"missing column"``, ...).
    detail : str
        What is wrong, in a sentence.
    n_rows : int, default 0
        How many rows break the rule (0: not a matter of rows).
    rows : pandas.DataFrame, optional
        Up to five offending rows, key columns first; printed under the headline by
        ``str(problem)``.
    file : str, optional
        The file the table was read from, when it came from one; ``str(problem)``
        names it, so the user knows which file to fix.

    Examples
    --------
    >>> p = Problem("penalties", "fine_amount", "non-negative", "must be >= 0", n_rows=1)
    >>> p.headline()
    'penalties.fine_amount [non-negative]: must be >= 0 (1 row)'
    """

    table: str
    column: str | None
    rule: str
    detail: str
    n_rows: int = 0
    rows: pd.DataFrame | None = field(default=None, repr=False)
    file: str | None = None

    def headline(self) -> str:
        """The problem in one line: table.column, the rule, the detail and the row count.

        Returns
        -------
        str
            ``table.column [rule]: detail (n rows)``; the column and the count are left
            out when there are none.

        Examples
        --------
        >>> Problem("licenses", None, "missing table", "no licenses file").headline()
        'licenses [missing table]: no licenses file'
        >>> Problem("penalties", "decided_on", "required", "values are empty", 3).headline()
        'penalties.decided_on [required]: values are empty (3 rows)'
        """
        where = f"{self.table}.{self.column}" if self.column else self.table
        count = f" ({self.n_rows:,} row{'s' if self.n_rows != 1 else ''})" if self.n_rows else ""
        return f"{where} [{self.rule}]: {self.detail}{count}"

    def __str__(self) -> str:
        head = self.headline() + (f" [file {self.file}]" if self.file else "")
        if self.rows is None or self.rows.empty:
            return head
        shown = self.rows.to_string(max_colwidth=40)
        label = "first 5 rows" if self.n_rows > 5 else "rows"
        return f"{head}\n  {label}:\n" + "\n".join("    " + line for line in shown.splitlines())


class SchemaError(ValueError):
    """Event tables that break the data model; ``problems`` lists every broken rule.

    The message names the table, the column, the rule and up to five offending rows.

    Parameters
    ----------
    problems : list of Problem
        Every broken rule; kept (as a list) in the ``problems`` attribute.

    Examples
    --------
    >>> err = SchemaError([Problem("licenses", None, "missing table", "no licenses file")])
    >>> print(err)
    1 problem in the event tables:
    - licenses [missing table]: no licenses file
    >>> err.problems[0].rule
    'missing table'
    """

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} in the event tables:"]
        lines += [f"- {p}" for p in self.problems]
        super().__init__("\n".join(lines))


def offending_rows(
    frame: pd.DataFrame, mask: np.ndarray | pd.Series, table: str, columns: list[str]
) -> tuple[int, pd.DataFrame]:
    """Count the rows where ``mask`` holds and return the first five, key columns first."""
    mask = np.asarray(mask, dtype=bool)
    schema = TABLES.get(table)
    shown = list(dict.fromkeys([*(schema.key if schema else ()), "entity_id", *columns]))
    shown = [c for c in shown if c in frame.columns]
    return int(mask.sum()), frame.loc[mask, shown].head(5)


def as_dates(values: pd.Series) -> pd.Series:
    """A column as dates of the data model (``datetime64[s]``); unreadable values empty.

    Timezone-aware dates keep their wall-clock day; text is read as ISO 8601.

    Parameters
    ----------
    values : pandas.Series
        Dates as text, as dates (naive or timezone-aware).

    Returns
    -------
    pandas.Series
        The dates, ``NaT`` where a value is empty or does not read as a date.

    Raises
    ------
    TypeError
        A numeric column (numbers are not dates).

    Examples
    --------
    >>> as_dates(pd.Series(["2024-03-05", "", "soon"])).isna().tolist()
    [False, True, True]
    """
    return _parse_dates(values)


def _parse_dates(values: pd.Series) -> pd.Series:
    if values.dtype.kind == "M":
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        return values.astype(DATE_DTYPE)
    if values.dtype.kind in "iufb":
        raise TypeError(f"{values.dtype} is not a date dtype")
    text = values.astype("str").str.strip()
    text = text.mask(text.isin(["", "NaT", "nan", "None"]))
    return pd.to_datetime(text, format="ISO8601", errors="coerce").astype(DATE_DTYPE)


def _already_typed(values: pd.Series, col: Column) -> bool:
    if col.kind != "category":
        return values.dtype == col.dtype
    if not isinstance(values.dtype, pd.CategoricalDtype):
        return False
    if col.values is not None:
        return values.dtype == col.dtype
    cats = values.cat.categories
    used = np.bincount(values.cat.codes.to_numpy() + 1, minlength=len(cats) + 1)[1:] > 0
    return cats.dtype == "str" and cats.is_monotonic_increasing and bool(used.all())


def _coerce_column(values: pd.Series, col: Column) -> tuple[pd.Series, np.ndarray | None, str]:
    """Return the coerced column, a mask of unreadable values (or None) and a hint."""
    if _already_typed(values, col):
        return values, None, ""
    if col.kind == "date":
        out = _parse_dates(values)
        bad = out.isna().to_numpy() & values.notna().to_numpy()
        if values.dtype.kind not in "M":
            text = values.astype("str").str.strip()
            bad &= ~text.isin(["", "NaT", "nan", "None"]).to_numpy()
        return out, bad, "a date (YYYY-MM-DD)"
    if col.kind in ("integer", "count", "amount"):
        if values.dtype.kind == "M" or values.dtype == bool:
            raise TypeError(f"{values.dtype} is not a numeric dtype")
        if values.dtype.kind in "iuf":
            num = values
        else:
            text = values.astype("str").str.strip()
            text = text.mask(text.isin(["", "nan", "None", "<NA>"]))
            num = pd.to_numeric(text, errors="coerce")
        bad = num.isna().to_numpy() & values.notna().to_numpy()
        if col.kind == "amount":
            return num.astype("float64"), bad, "a number"
        fractional = num.notna().to_numpy() & (np.asarray(num, dtype="float64") % 1 != 0)
        bad |= fractional
        num = num.where(~fractional)
        if col.kind == "count":
            return num.astype("Int64"), bad, "a whole number"
        if num.isna().any():  # integer columns are required; nulls are reported later
            return num.astype("Int64"), bad, "a whole number"
        return num.astype("int64"), bad, "a whole number"
    if col.kind == "id":
        if values.dtype.kind == "f":  # ids read as floats would render as '12.0'
            raise TypeError(f"{values.dtype} ids are ambiguous; read ids as text")
        return values.astype("str"), None, ""
    # category
    if isinstance(values.dtype, pd.CategoricalDtype):
        if col.values is None and pd.api.types.is_string_dtype(values.cat.categories.dtype):
            # text categories already: keep the codes, drop the unused, sort (as below)
            used = values.cat.remove_unused_categories()
            cats = sorted(used.cat.categories)
            ordered = used.cat.reorder_categories(cats) if cats else used
            return ordered.cat.set_categories(pd.Index(cats)), None, ""
        values = values.astype("str").where(values.notna())
    text = values.astype("str").where(values.notna())
    if col.values is None:
        cats = sorted(text.dropna().unique())
        return pd.Series(pd.Categorical(text, categories=cats), index=values.index), None, ""
    return text, None, ""


def coerce_table(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``frame`` with the columns and dtypes of ``table``; raise on unreadable data.

    Columns are put in schema order (extra columns follow, untouched); open-vocabulary
    categories get sorted categories, so a parquet or CSV round trip is exact. Values
    outside a closed vocabulary (an unknown severity, say) are reported, not dropped.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read, in our column names.
    table : str
        Its name in :data:`TABLES`.

    Returns
    -------
    pandas.DataFrame
        The table with the declared dtypes, a fresh index, the schema's columns in order
        (absent optional columns added, all empty) and then the extra columns (text that
        is all numbers read as numbers).

    Raises
    ------
    SchemaError
        A required column is missing or a value cannot be read; every problem is
        listed at once.

    Examples
    --------
    >>> raw = pd.DataFrame({"entity_id": ["E1"], "report_year": ["2021"],
    ...                     "filed_on": ["2022-05-01"]})
    >>> coerce_table(raw, "annual_reports").dtypes["filed_on"]
    dtype('<M8[s]')
    >>> coerce_table(raw.assign(report_year="twenty"), "annual_reports")
    Traceback (most recent call last):
    creditrisk.data.schema.SchemaError: 1 problem in the event tables:
    - annual_reports.report_year [unparseable]: values are not a whole number (1 row)
      rows:
          entity_id report_year
        0        E1      twenty
    """
    schema = TABLES[table]
    frame = frame.reset_index(drop=True)
    doubled = [str(c) for c in frame.columns[frame.columns.duplicated()].unique()]
    if doubled:
        detail = f"{table} has more than one column named {', '.join(map(repr, doubled))}"
        raise SchemaError([Problem(table, doubled[0], "duplicate column", detail)])
    problems = [
        Problem(table, c.name, "missing column", _missing_detail(table, c.name, frame.columns))
        for c in schema.columns
        if c.name not in frame.columns and not c.optional
    ]
    out = {}
    for col in schema.columns:
        if col.name not in frame.columns:
            if not col.optional:
                continue  # reported above; the other columns are still checked
            near = [c for c in frame.columns if c not in schema.names and _near(c, col.name)]
            if near:  # "Revenue" for "revenue": never silently treated as absent
                detail = f"{table} has no column {col.name!r} but has {near[0]!r}: rename it"
                problems.append(Problem(table, col.name, "column name near miss", detail))
                continue
            if col.kind == "id" and col.name in schema.key:
                if "entity_id" in frame.columns:
                    out[col.name] = surrogate_ids(frame, schema)
                continue
            out[col.name] = _empty_column(col, frame.index)  # an optional column: all empty
            continue
        values = frame[col.name]
        if col.kind in ("integer", "count", "amount"):
            infinite = _infinite(values)
            if infinite.any():
                n, rows = offending_rows(frame, infinite, table, [col.name])
                detail = "values must be finite numbers (inf is not an amount)"
                problems.append(Problem(table, col.name, "non-finite", detail, n, rows))
                values = values.where(~infinite)
        try:
            coerced, bad, hint = _coerce_column(values, col)
        except (TypeError, ValueError) as exc:
            problems.append(Problem(table, col.name, "wrong dtype", f"expected {col.dtype}; {exc}"))
            continue
        if bad is not None and bad.any():
            n, rows = offending_rows(frame, bad, table, [col.name])
            problems.append(
                Problem(table, col.name, "unparseable", f"values are not {hint}", n, rows)
            )
        if col.values is not None:
            unknown = coerced.notna().to_numpy() & ~coerced.isin(col.values).to_numpy()
            if unknown.any():
                n, rows = offending_rows(frame, unknown, table, [col.name])
                allowed = ", ".join(col.values)
                problems.append(
                    Problem(
                        table,
                        col.name,
                        "unknown category",
                        f"values must be one of: {allowed}",
                        n,
                        rows,
                    )
                )
                continue
            coerced = coerced.astype(col.dtype)
        out[col.name] = coerced
    if problems:
        raise SchemaError(problems)
    extras = [c for c in frame.columns if c not in out]
    # the coerced columns as they are: copying them into 2-D blocks cost a third of the
    # coercion of a register already typed (pandas' copy-on-write keeps the input safe)
    result = pd.DataFrame(out, copy=False)
    for c in extras:  # the register's own details: numbers read as text become numbers
        result[c] = infer_numbers(frame[c])
    problems = _non_finite(result, table, extras)
    if problems:
        raise SchemaError(problems)
    return result


_INFINITE_TEXT = ("inf", "+inf", "-inf", "infinity", "+infinity", "-infinity")


def _infinite(values: pd.Series) -> np.ndarray:
    """Where a column holds an infinite number (as a number, or as text)."""
    if values.dtype.kind == "f" or pd.api.types.is_float_dtype(values.dtype):
        return np.isinf(values.to_numpy(dtype="float64", na_value=np.nan))
    if values.dtype.kind in "iubmM" or pd.api.types.is_numeric_dtype(values.dtype):
        return np.zeros(len(values), dtype=bool)
    text = values.astype("str").where(values.notna()).str.strip().str.lower()
    number = pd.to_numeric(text.mask(text.isin(_INFINITE_TEXT)), errors="coerce")
    huge = np.isinf(number.to_numpy(dtype="float64", na_value=np.nan))  # "1e999"
    return text.isin(_INFINITE_TEXT).to_numpy(dtype=bool) | huge


def _non_finite(frame: pd.DataFrame, table: str, columns) -> list[Problem]:
    """Infinite numbers in a register's own numeric columns."""
    problems = []
    for column in columns:
        values = frame[column]
        if not (values.dtype.kind == "f" or pd.api.types.is_float_dtype(values.dtype)):
            continue
        infinite = _infinite(values)
        if infinite.any():
            n, rows = offending_rows(frame, infinite, table, [column])
            detail = "values must be finite numbers (inf is not a value)"
            problems.append(Problem(table, column, "non-finite", detail, n, rows))
    return problems


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_LEADING_ZERO = r"^[+-]?0\d"


def infer_numbers(values: pd.Series) -> pd.Series:
    """A text column whose every value is a number, as numbers; anything else unchanged.

    Files such as CSV carry no types: a register's score or count of violations arrives
    as text. It becomes a number (whole numbers as nullable ``Int64``) when every value
    reads as one and none has a leading zero (``"007"`` is a code, not seven).

    Parameters
    ----------
    values : pandas.Series
        A column of a register's table.

    Returns
    -------
    pandas.Series
        Numbers when the text is all numbers, else ``values`` itself.

    Examples
    --------
    >>> infer_numbers(pd.Series(["12", None, "3"])).tolist()
    [12, <NA>, 3]
    >>> infer_numbers(pd.Series(["007", "12"])).tolist()
    ['007', '12']
    """
    if values.dtype.kind not in "OU" and not pd.api.types.is_string_dtype(values.dtype):
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values
    text = values.dropna().astype("str").str.strip()
    if not len(text):
        return pd.Series(np.nan, index=values.index, dtype="float64")
    if not text.str.match(_NUMBER).all() or text.str.match(_LEADING_ZERO).any():
        return values
    numbers = pd.to_numeric(values.astype("str").str.strip().where(values.notna()))
    whole = numbers.dropna()
    if (whole % 1 == 0).all() and whole.abs().max() < 2**53:
        return numbers.astype("Int64")
    return numbers.astype("float64")


def _empty_column(col: Column, index: pd.Index) -> pd.Series:
    """An all-empty column of ``col``'s dtype (open categories: no categories, text)."""
    if col.kind == "category" and col.values is None:
        empty = pd.Series([None] * len(index), index=index, dtype=object)
        return pd.Series(pd.Categorical(empty, categories=[]), index=index)
    return pd.Series(pd.NA if col.kind == "count" else np.nan, index=index, dtype=col.dtype)


def _norm(name) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _near(name, column: str) -> bool:
    """A near miss of ``column``: the same but for case, spaces and punctuation, or one
    character off at the same length (a typo, a flipped bit)."""
    text, wanted = str(name), column
    if _norm(text) == _norm(wanted):
        return True
    return len(text) == len(wanted) and sum(a != b for a, b in zip(text, wanted, strict=True)) == 1


def _missing_detail(table: str, column: str, present) -> str:
    """Why a column is missing, naming a near miss (case, spaces) when there is one."""
    import difflib

    near = [c for c in present if _norm(c) == _norm(column)]
    near = near or difflib.get_close_matches(str(column), [str(c) for c in present], n=1)
    hint = f" (is {near[0]!r} it? rename it, or map it in the register mapping)" if near else ""
    return f"{table} has no column {column!r}{hint}"


def surrogate_ids(frame: pd.DataFrame, schema: TableSchema) -> pd.Series:
    """Identifiers for a register that has none: entity, event date and a counter.

    ``E1/2024-03-05/0`` is the first row of entity E1 dated 2024-03-05 (in the input's
    order), so the ids are the same whether the whole register or a chunk of its
    entities is read.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read, with ``entity_id`` and the table's event date.
    schema : TableSchema
        The table's schema (its event date names the date column).

    Returns
    -------
    pandas.Series
        One id per row, as text.

    Examples
    --------
    >>> raw = pd.DataFrame({"entity_id": ["E1", "E1", "E2"],
    ...                     "inspected_on": ["2024-03-05", "2024-03-05", None]})
    >>> surrogate_ids(raw, TABLES["inspections"]).tolist()
    ['E1/2024-03-05/0', 'E1/2024-03-05/1', 'E2//0']
    """
    entity = frame["entity_id"].astype("str")
    if schema.event_date in frame.columns:
        dates = _parse_dates(frame[schema.event_date])
        day = dates.dt.strftime("%Y-%m-%d").fillna("")
    else:
        day = pd.Series("", index=frame.index)
    counter = pd.DataFrame({"e": entity, "d": day}).groupby(["e", "d"], sort=False).cumcount()
    return (entity + "/" + day + "/" + counter.astype("str")).astype("str")


def coerce_extra(frame: pd.DataFrame, table: str, event_date: str, known_date: str) -> pd.DataFrame:
    """An event table outside the data model: entity ids as text, its two dates as dates.

    Other columns are kept as they are (numbers stay numbers, text stays text), so
    declared features can count, sum or compare them.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table, in our names (``entity_id`` and the two date columns).
    table : str
        Its name, for messages.
    event_date, known_date : str
        The columns dating the event and the regulator's knowledge of it.

    Returns
    -------
    pandas.DataFrame
        The coerced table, with a fresh index.

    Raises
    ------
    SchemaError
        A column is missing, an entity id or a known date is empty, or a date does
        not parse.

    Examples
    --------
    >>> raw = pd.DataFrame({"entity_id": [1], "cited_on": ["2024-02-01"], "code": ["04L"]})
    >>> coerce_extra(raw, "violations", "cited_on", "cited_on").dtypes.astype(str).tolist()
    ['str', 'datetime64[s]', 'str']
    """
    frame = frame.reset_index(drop=True)
    problems = [
        Problem(table, c, "missing column", _missing_detail(table, c, frame.columns))
        for c in dict.fromkeys(("entity_id", event_date, known_date))
        if c not in frame.columns
    ]
    if problems:
        raise SchemaError(problems)
    out = frame.copy()
    others = [c for c in out.columns if c not in ("entity_id", event_date, known_date)]
    for column in others:
        out[column] = infer_numbers(out[column])
    problems += _non_finite(out, table, others)
    values = frame["entity_id"]
    if values.dtype.kind == "f":
        problems.append(Problem(table, "entity_id", "wrong dtype", "ids read as floats"))
    else:
        out["entity_id"] = values.astype("str").where(values.notna())
    for column in dict.fromkeys((event_date, known_date)):
        try:
            parsed = _parse_dates(frame[column])
        except TypeError as exc:
            problems.append(Problem(table, column, "wrong dtype", f"expected dates; {exc}"))
            continue
        bad = parsed.isna().to_numpy() & frame[column].notna().to_numpy()
        if bad.any():
            n, rows = offending_rows(frame, bad, table, [column])
            problems.append(Problem(table, column, "unparseable", "values are not dates", n, rows))
        out[column] = parsed
    for column in dict.fromkeys(("entity_id", known_date)):
        empty = out[column].isna().to_numpy() if column in out else None
        if empty is not None and empty.any():
            n, rows = offending_rows(frame, empty, table, [column])
            problems.append(Problem(table, column, "required", "values are empty", n, rows))
    if problems:
        raise SchemaError(problems)
    return out


def empty_table(table: str) -> pd.DataFrame:
    """An empty DataFrame with the columns and dtypes of ``table``.

    Parameters
    ----------
    table : str
        A table of :data:`TABLES`.

    Returns
    -------
    pandas.DataFrame
        No rows, every column of the schema in order, each with its dtype.

    Examples
    --------
    >>> empty_table("licenses").shape
    (0, 6)
    >>> str(empty_table("licenses").dtypes["issued_on"])
    'datetime64[s]'
    """
    schema = TABLES[table]
    return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in schema.columns})


def data_dictionary() -> str:
    """The data model as Markdown: one section per table, one row per column.

    ``data/sample/README.md`` embeds this text (a test keeps the two in step).

    Returns
    -------
    str
        Markdown: for each table a ``## name`` heading, its description, key and dates,
        and a table of its columns (type, whether empty values are allowed, meaning).

    Examples
    --------
    >>> print(data_dictionary().splitlines()[0])
    ## enterprises
    >>> [line for line in data_dictionary().splitlines() if line.startswith("## ")][-1]
    '## external_lists'
    """
    kinds = {
        "id": "text",
        "category": "category",
        "date": "date",
        "integer": "integer",
        "count": "integer (nullable)",
        "amount": "number",
    }
    parts = []
    for schema in TABLES.values():
        lines = [
            f"## {schema.name}",
            "",
            schema.description,
            "",
            f"Key: {', '.join(schema.key)}. Happened: `{schema.event_date}`. "
            f"Known to the regulator: `{schema.known_date}`.",
            "",
            "| column | type | empty allowed | meaning |",
            "|---|---|---|---|",
        ]
        for col in schema.columns:
            meaning = col.description
            if col.values:
                meaning += " One of: " + ", ".join(f"`{v}`" for v in col.values) + "."
            if col.optional:
                meaning += " Optional column."
            empty = "yes" if col.nullable else "no"
            lines.append(f"| `{col.name}` | {kinds[col.kind]} | {empty} | {meaning} |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"
