"""The register: the data model, validation, the EventTables class, files and SQL, the spine.

This box owns everything about the regulator's records before any feature is computed:
the tables' columns, dtypes and vocabularies (:mod:`~creditrisk.data.schema`), the rules
between rows and tables (:mod:`~creditrisk.data.validation`), the :class:`EventTables`
that hold them with parquet and CSV reading and writing (:mod:`~creditrisk.data.tables`),
databases in and out through SQLAlchemy (:mod:`~creditrisk.data.sql`), the one guard
and the all-or-nothing writes every output goes through (:mod:`~creditrisk.data.paths`),
the register
mapping that takes a regulator's own register as it is (:mod:`~creditrisk.data.register`,
with rules on columns in :mod:`~creditrisk.data.rules`), the spine of (entity_id, as_of)
rows to score (:mod:`~creditrisk.data.spine`), and the packaged sample. It imports
nothing else of creditrisk.

Examples
--------
>>> from creditrisk import data
>>> tables = data.load_sample().validate()
>>> rows = data.spine(tables, "2024-07-01")
>>> list(rows.columns), rows["entity_id"].is_unique
(['entity_id', 'as_of'], True)
"""

from creditrisk.data import paths, register, rules, schema, sql, validation
from creditrisk.data.register import Labels, Register, TableMapping, read_register
from creditrisk.data.rules import Rule
from creditrisk.data.schema import TABLE_NAMES, TABLES, Problem, SchemaError
from creditrisk.data.spine import data_span, spine
from creditrisk.data.tables import EventTables, atomic_file, load_sample, staging_dir

__all__ = [
    "TABLES",
    "TABLE_NAMES",
    "EventTables",
    "Labels",
    "Problem",
    "Register",
    "Rule",
    "SchemaError",
    "TableMapping",
    "atomic_file",
    "data_span",
    "load_sample",
    "paths",
    "read_register",
    "register",
    "rules",
    "schema",
    "spine",
    "sql",
    "staging_dir",
    "validation",
]
