"""Point-in-time features: one row per (entity_id, as_of), from what was known before.

A feature for (entity, as_of) uses only events whose known date (publication, filing,
listing) is strictly before as_of, and applies the restorations and removals known
before as_of. The catalogue (:func:`feature_catalogue`) documents every feature: its
source table, window, meaning in plain words, whether the entity can act on it, and
the expected direction of risk.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> X = cr.build_features(tables, cr.spine(tables, "2024-07-01"))
>>> list(X.columns[:3])
['entity_id', 'as_of', 'age_years']
>>> bool(len(X.columns) - 2 == feature_catalogue(tables)["built"].sum())
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from creditrisk.data.schema import INSPECTION_KINDS
from creditrisk.data.spine import check_spine
from creditrisk.features import (
    indicators,
    inspections,
    licenses,
    lists,
    penalties,
    registration,
    relations,
    reports,
)
from creditrisk.features.catalogue import Feature, FeatureSpec
from creditrisk.features.declared import Declared, from_mapping
from creditrisk.features.source import Source

__all__ = [
    "CATALOGUE",
    "Feature",
    "FeatureBuilder",
    "FeatureSpec",
    "build_features",
    "feature_catalogue",
]

_MODULES = (registration, reports, licenses, penalties, inspections, lists, indicators, relations)

#: every feature, in output order
CATALOGUE: tuple[Feature, ...] = tuple(f for m in _MODULES for f in m.FEATURES)
_BY_NAME = {f.name: f for f in CATALOGUE}


#: per source table, the columns every built-in feature of it reads
_TABLE_INPUTS = {
    "enterprises": (),
    "annual_reports": ("report_year",),
    "licenses": ("issued_on",),
    "penalties": ("decided_on", "published_on", "severity"),
    "inspections": ("inspected_on", "published_on", "kind"),
    "list_entries": ("listed_on", "list"),
    "changes": ("changed_on", "published_on", "kind"),
    "complaints": ("received_on", "recorded_on"),
    "external_lists": ("listed_on", "published_on"),
    "roles": ("person_id", "published_on"),
}
#: feature name (or prefix) -> the further columns it reads
_FEATURE_INPUTS = {
    "age_years": ("registered_on",),
    "entity_type": ("entity_type",),
    "industry": ("industry",),
    "key_sector": ("key_sector",),
    "region": ("region",),
    "registered_capital": ("registered_capital",),
    "fines_": ("fine_amount",),
    "inspection_findings": ("outcome",),
    "inspection_last_outcome": ("outcome",),
    "inspections_not_found": ("outcome",),
    "leverage_": ("assets", "liabilities"),
    "tax_to_revenue_": ("tax_paid", "revenue"),
    "employees_last": ("employees",),
    "revenue_last": ("revenue",),
    "complaints_substantiated_": ("substantiated",),
    "address_cluster_": ("address_id",),
}


#: features that count one value of a column: useless (always 0) where it never occurs
_VALUE_INPUTS = {
    **{f"inspections_{kind}": ("kind", kind) for kind in INSPECTION_KINDS},
    "inspections_not_found": ("outcome", "not_found_at_address"),
}


def inputs(feature: Feature) -> list[tuple[str, str]]:
    """The (table, column) pairs a built-in feature reads.

    Parameters
    ----------
    feature : Feature
        A catalogue entry.

    Returns
    -------
    list of tuple
        Its source table's dated columns and the columns of its own.

    Examples
    --------
    >>> inputs(_BY_NAME["fines_general_1y"])[-1]
    ('penalties', 'fine_amount')
    """
    columns = list(_TABLE_INPUTS.get(feature.source, ()))
    for key, more in _FEATURE_INPUTS.items():
        if feature.name == key or (key.endswith("_") and feature.name.startswith(key)):
            columns += more
    return [(feature.source, c) for c in columns]


def declared_features(tables, spec: FeatureSpec | None = None) -> tuple[Declared, ...]:
    """The features the register mapping declares, then those ``spec`` declares.

    Parameters
    ----------
    tables : EventTables
        The register (its ``register.features``).
    spec : FeatureSpec, optional
        Settings with Python declarations (``declared=``).

    Returns
    -------
    tuple of Declared
        Every declared feature, in order.

    Raises
    ------
    ValueError
        A name used twice, or one that a built-in feature already has.

    Examples
    --------
    >>> import creditrisk as cr
    >>> declared_features(cr.load_sample())
    ()
    """
    register = getattr(tables, "register", None)
    mine = from_mapping(register.features) if register is not None else ()
    found = (*mine, *(spec.declared if spec is not None else ()))
    names = [d.name for d in found]
    twice = sorted({n for n in names if names.count(n) > 1 or n in _BY_NAME})
    if twice:
        raise ValueError(f"declared features reuse names {twice}: names must be new")
    return found


def feature_catalogue(tables=None, spec: FeatureSpec | None = None) -> pd.DataFrame:
    """The catalogue as a table: source, window, meaning, kind, actionable, monotone.

    With a register, declared features join the built-in ones, and two columns say
    what will be built: ``built`` and, when not, ``why`` (the input the register lacks).

    Parameters
    ----------
    tables : EventTables, optional
        A register, to see what it supports.
    spec : FeatureSpec, optional
        Settings with declared features.

    Returns
    -------
    pandas.DataFrame
        One row per feature, indexed by name.

    Examples
    --------
    >>> cat = feature_catalogue()
    >>> row = cat.loc["on_abnormal_list"]
    >>> row["source"], bool(row["actionable"]), int(row["monotone"])
    ('list_entries', True, 1)
    >>> import creditrisk as cr
    >>> minimal = cr.EventTables(enterprises=cr.load_sample().enterprises)
    >>> feature_catalogue(minimal).loc["penalties_general_1y", "why"]
    'penalties has no rows'
    """
    declared = (
        declared_features(tables, spec)
        if tables is not None
        else tuple(spec.declared if spec is not None else ())
    )
    entries = [*CATALOGUE, *(d.feature for d in declared)]
    rows = [
        {
            "name": f.name,
            "source": f.source,
            "window": f.window,
            "meaning": f.meaning,
            "kind": f.kind,
            "actionable": f.actionable,
            "monotone": f.monotone,
            "role": f.role,
            "declared": i >= len(CATALOGUE),
        }
        for i, f in enumerate(entries)
    ]
    table = pd.DataFrame(rows).set_index("name")
    if tables is not None:
        why = [_missing_input(tables, f) if f.name in _BY_NAME else "" for f in entries]
        table["built"] = [not w for w in why]
        table["why"] = why
    return table


def _missing_input(tables, feature: Feature) -> str:
    """Why a built-in feature is not built on this register ('' when it is)."""
    for table, column in inputs(feature):
        if not tables.has(table):
            return f"{table} has no rows"
        if not tables.has(table, column):
            return f"{table}.{column} is empty or absent"
    if feature.name in _VALUE_INPUTS:
        column, value = _VALUE_INPUTS[feature.name]
        if not (getattr(tables, feature.source)[column] == value).any():
            return f"no {feature.source} row has {column} {value!r}"
    return ""


def _selected(spec: FeatureSpec, tables, declared: tuple[Declared, ...]) -> list[str]:
    known = [*_BY_NAME, *(d.name for d in declared)]
    if spec.features is None:
        built = [f.name for f in CATALOGUE if not _missing_input(tables, f)]
        return [*built, *(d.name for d in declared)]
    unknown = [name for name in spec.features if name not in known]
    if unknown:
        raise ValueError(
            f"unknown features {unknown}; see creditrisk.feature_catalogue(tables) (a "
            "declared feature needs its declaration: the register mapping, or "
            "FeatureSpec(declared=...))"
        )
    wanted = set(spec.features)
    return [name for name in known if name in wanted]


def build_features(
    tables, spine: pd.DataFrame, spec: FeatureSpec | None = None, *, span=None
) -> pd.DataFrame:
    """Features for every spine row: entity_id, as_of, then the catalogue's columns.

    The result has the spine's index and row order. Rows for many as-of dates are
    computed date by date, so they equal rows computed one date at a time. Every
    feature uses only the entity's own events, so a chunk of entities gives the rows
    the whole register gives (``span``: the whole register's dates, see
    :func:`creditrisk.spine`).

    Parameters
    ----------
    tables : EventTables
        The register (:class:`~creditrisk.data.tables.EventTables`).
    spine : pandas.DataFrame
        Rows to compute, with columns ``entity_id`` and ``as_of``
        (:func:`creditrisk.spine`); checked by
        :func:`~creditrisk.data.spine.check_spine`.
    spec : FeatureSpec, optional
        What the features count and which to return; by default
        :class:`~creditrisk.features.catalogue.FeatureSpec` ``()``: every built-in
        feature whose inputs the register holds, and every declared feature.
    span : tuple of pandas.Timestamp, optional
        The whole register's (first, last) dates when ``tables`` is a chunk of it.

    Returns
    -------
    pandas.DataFrame
        ``entity_id``, ``as_of`` (``datetime64[s]``) and one column per feature, with
        the spine's index; ``attrs["declared"]`` holds the declared features'
        declarations.

    Raises
    ------
    ValueError
        The spine names an unknown entity, one not yet registered, or a date outside
        the data.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> s = cr.spine(t, ["2022-07-01", "2024-07-01"])
    >>> X = cr.build_features(t, s)
    >>> len(X) == len(s) and X.index.equals(s.index)
    True
    >>> spec = cr.FeatureSpec(features=("age_years", "penalties_general_1y"))
    >>> list(cr.build_features(t, s.head(3), spec).columns)
    ['entity_id', 'as_of', 'age_years', 'penalties_general_1y']
    """
    spec = spec or FeatureSpec()
    declared = declared_features(tables, spec)
    names = _selected(spec, tables, declared)
    wanted = {n for n in names if n in _BY_NAME}
    mine = [d for d in declared if d.name in set(names)]
    pos, days = check_spine(tables, spine, span)
    src = Source(tables)
    parts, order = [], []
    dates = np.unique(days)
    if not len(dates):  # an empty spine: empty columns of the right dtypes
        dates = np.array([int(src.days("enterprises", "registered_on").max(initial=0)) + 1])
    for day in dates:
        rows = np.flatnonzero(days == day)
        values: dict[str, object] = {}
        for module in _MODULES:
            if any(f.name in wanted for f in module.FEATURES):  # only what is asked
                values.update(module.compute(src, pos[rows], int(day), spec))
        for feature in mine:
            values[feature.name] = feature.compute(src, pos[rows], int(day))
        parts.append(pd.DataFrame({name: values[name] for name in names}))
        order.append(rows)
    features = pd.concat(parts, ignore_index=True)
    features = features.iloc[np.argsort(np.concatenate(order), kind="stable")]
    features.index = spine.index
    keys = pd.DataFrame(
        {
            "entity_id": spine["entity_id"].astype("str"),
            "as_of": pd.to_datetime(spine["as_of"]).dt.normalize().astype("datetime64[s]"),
        },
        index=spine.index,
    )
    out = pd.concat([keys, features], axis=1)
    # declared features carry their declarations, so a model fitted on them can save
    # their catalogue entries (direction, sentence) with itself
    out.attrs["declared"] = [d.to_dict() for d in mine]
    return out


class FeatureBuilder(TransformerMixin, BaseEstimator):
    """scikit-learn transformer: a spine in, features indexed by (entity_id, as_of) out.

    The event tables are a parameter, so a Pipeline takes the spine as ``X``:
    ``Pipeline([("features", FeatureBuilder(tables)), ("model", ...)])``. Cloning
    shares the tables (EventTables are not copied).

    Parameters
    ----------
    tables : EventTables
        The register the features are computed from (required; ``None`` only so
        scikit-learn can construct the class without arguments).
    spec : FeatureSpec, optional
        Which features, and how penalties and restorations count (default: every
        catalogue feature, :class:`FeatureSpec`'s defaults).

    Attributes
    ----------
    feature_names_out_ : numpy.ndarray of str
        The feature columns :meth:`transform` returns, in order.

    Examples
    --------
    >>> import creditrisk as cr
    >>> t = cr.load_sample()
    >>> fb = FeatureBuilder(t).fit(cr.spine(t, "2024-07-01"))
    >>> X = fb.transform(cr.spine(t, "2024-07-01"))
    >>> X.index.names
    FrozenList(['entity_id', 'as_of'])
    >>> list(X.columns) == list(fb.get_feature_names_out())
    True
    """

    def __init__(self, tables=None, spec: FeatureSpec | None = None):
        self.tables = tables
        self.spec = spec

    def fit(self, X: pd.DataFrame, y=None) -> FeatureBuilder:
        """Check the spine against the tables and fix the output features.

        Nothing is learned from the rows: every feature is computed from the tables,
        as of each row's date, in :meth:`transform`.

        Parameters
        ----------
        X : pandas.DataFrame
            A spine: ``entity_id`` and ``as_of`` columns (:func:`creditrisk.spine`).
        y : object, optional
            Ignored; there for scikit-learn's signature (a Pipeline passes the labels).

        Returns
        -------
        FeatureBuilder
            The fitted transformer (``self``).

        Raises
        ------
        ValueError
            No tables, an unknown feature in ``spec``, or a spine the tables cannot
            answer (no ``as_of``, an unknown entity, a date outside the data).

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> fb = FeatureBuilder(t, FeatureSpec(features=("age_years",)))
        >>> fb.fit(cr.spine(t, "2024-07-01")).feature_names_out_.tolist()
        ['age_years']
        """
        if self.tables is None:
            raise ValueError("FeatureBuilder needs the event tables: FeatureBuilder(tables)")
        check_spine(self.tables, X)
        spec = self.spec or FeatureSpec()
        names = _selected(spec, self.tables, declared_features(self.tables, spec))
        self.feature_names_out_ = np.array(names, dtype=object)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        """Point-in-time features of every spine row, indexed by (entity_id, as_of).

        Parameters
        ----------
        X : pandas.DataFrame
            A spine: ``entity_id`` and ``as_of`` columns, one row per entity and date.

        Returns
        -------
        pandas.DataFrame
            One row per spine row, in the spine's order, indexed by ``entity_id`` and
            ``as_of``; the columns are :meth:`get_feature_names_out`, as
            :func:`build_features` computes them.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            :meth:`fit` was not called (a ``ValueError`` too).
        ValueError
            A spine the tables cannot answer.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> s = cr.spine(t, ["2023-07-01", "2024-07-01"])
        >>> X = FeatureBuilder(t).fit(s).transform(s)
        >>> len(X) == len(s), X.index.names
        (True, FrozenList(['entity_id', 'as_of']))
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(
            self, "feature_names_out_", msg="This %(name)s is not fitted yet: call fit first."
        )
        features = build_features(self.tables, X, self.spec)
        return features.set_index(["entity_id", "as_of"])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """The names of the feature columns :meth:`transform` returns.

        Parameters
        ----------
        input_features : object, optional
            Ignored: the output features come from the catalogue and ``spec``, not
            from the spine's columns.

        Returns
        -------
        numpy.ndarray of str
            The feature names, in column order (a copy).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            :meth:`fit` was not called.

        Examples
        --------
        >>> import creditrisk as cr
        >>> t = cr.load_sample()
        >>> names = FeatureBuilder(t).fit(cr.spine(t, "2024-07-01")).get_feature_names_out()
        >>> names[:2].tolist()
        ['age_years', 'entity_type']
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(
            self, "feature_names_out_", msg="This %(name)s is not fitted yet: call fit first."
        )
        return self.feature_names_out_.copy()
