"""Plain-language sentences for feature values: the words behind every reason.

Each catalogue feature has a template here; :func:`sentence` fills it with an
entity's value ("2 general administrative penalties in the last 12 months", "2023
annual report not filed"). :func:`coded_sentences` formats many at once, one call per
distinct value (and report year), which is what makes reasons for millions of rows
cheap: most values repeat.

Examples
--------
>>> import pandas as pd
>>> sentence("penalties_general_1y", 2)
'2 general administrative penalties in the last 12 months'
>>> sentence("report_last_year_filed", 0, pd.Timestamp("2024-07-01"))
'2023 annual report not filed'
>>> sentence("on_abnormal_list", 1)
'On the abnormal operation list, or marked abnormal (a sole proprietor)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from creditrisk.features.builder import CATALOGUE

__all__ = [
    "PARTS",
    "TEMPLATES",
    "coded_sentences",
    "factorize",
    "feature_sentences",
    "last_report_year",
    "sentence",
]


def _count(one: str, many: str, none: str | None = None) -> dict:
    return {"count": (one, many), "none": none}


def _flag(yes: str, no: str) -> dict:
    return {"flag": (no, yes)}


def _number(text: str, missing: str | None = None) -> dict:
    return {"number": text, "missing": missing}


_WINDOWS = {"1y": "in the last 12 months", "3y": "in the last 3 years", "all": "on record"}

#: feature -> how its value reads; counts take {n}, numbers {v}, categories {v}
TEMPLATES: dict[str, dict] = {
    "age_years": _number("Registered {v:.1f} years ago"),
    "entity_type": _number("Legal form: {v}"),
    "industry": _number("Industry: {v}"),
    "key_sector": _number("Key supervision sector: {v}"),
    "region": _number("Registered in {v}"),
    "registered_capital": _number("Registered capital of {v:,.0f} yuan", "No registered capital"),
    "report_last_year_filed": _flag("{year} annual report filed", "{year} annual report not filed"),
    "report_last_year_on_time": _flag(
        "{year} annual report filed by 30 June", "{year} annual report not filed by 30 June"
    ),
    "reports_missed_in_a_row": _count(
        "The last annual report due is missing",
        "The last {n} annual reports due are missing",
    ),
    "reports_not_filed": _count(
        "1 annual report due and not filed", "{n} annual reports due and not filed"
    ),
    "reports_filed_late": _count(
        "1 annual report filed after its 30 June deadline",
        "{n} annual reports filed after their 30 June deadline",
    ),
    "report_days_late_last": _number("The last annual report due was {v:.0f} days late"),
    "reports_on_time_share": _number(
        "{p:.0f}% of annual reports filed on time", "No annual report due yet"
    ),
    "reports_zero_financials": _count(
        "1 annual report with all figures zero", "{n} annual reports with all figures zero"
    ),
    "report_days_before_deadline": _number(
        "Recent annual reports filed {v:.0f} days before the deadline on average",
        "No recent annual report filed on time",
    ),
    "report_days_before_deadline_all": _number(
        "Annual reports filed {v:.0f} days before the deadline on average",
        "No annual report filed on time",
    ),
    "leverage_last": _number(
        "Liabilities {p:.0f}% of assets in the last annual report", "No liabilities disclosed"
    ),
    "leverage_mean": _number(
        "Liabilities {p:.0f}% of assets on average in annual reports", "No liabilities disclosed"
    ),
    "tax_to_revenue_last": _number(
        "Tax paid {p:.1f}% of revenue in the last annual report", "No tax or revenue disclosed"
    ),
    "tax_to_revenue_mean": _number(
        "Tax paid {p:.1f}% of revenue on average in annual reports",
        "No tax or revenue disclosed",
    ),
    "employees_last": _number(
        "{v:,.0f} employees in the last annual report", "No headcount disclosed"
    ),
    "revenue_last": _number(
        "Revenue of {v:,.0f} yuan in the last annual report", "No revenue disclosed"
    ),
    "licenses_active": _count("1 license in force", "{n} licenses in force", "No license in force"),
    "licenses_lapsed": _count(
        "1 license expired and not renewed", "{n} licenses expired and not renewed"
    ),
    "licenses_revoked": _count("1 license revoked", "{n} licenses revoked"),
    "penalties_restored": _count(
        "1 penalty whose disclosure ended by credit restoration",
        "{n} penalties whose disclosure ended by credit restoration",
    ),
    "penalty_days_since_last": _number(
        "Latest counted penalty decided {v:,.0f} days ago", "No counted penalty"
    ),
    "inspections_random": _count(
        "1 random inspection", "{n} random inspections", "Never inspected at random"
    ),
    "inspections_targeted": _count("1 targeted inspection", "{n} targeted inspections"),
    "inspections_complaint": _count(
        "1 inspection after a complaint", "{n} inspections after complaints"
    ),
    "inspections_joint": _count("1 joint inspection", "{n} joint inspections"),
    "inspections_routine": _count("1 routine inspection", "{n} routine inspections"),
    "inspections_follow_up": _count("1 follow-up inspection", "{n} follow-up inspections"),
    "inspections_other": _count(
        "1 inspection of another programme", "{n} inspections of other programmes"
    ),
    "inspection_findings_share": _number(
        "{p:.0f}% of inspections found problems", "Never inspected"
    ),
    "inspection_findings_3y": _count(
        "1 inspection found issues in the last 3 years",
        "{n} inspections found issues in the last 3 years",
    ),
    "inspection_last_outcome": _number("Latest inspection outcome: {v}", "Never inspected"),
    "inspection_days_since_last": _number("Latest inspection {v:,.0f} days ago", "Never inspected"),
    "inspections_not_found": _count(
        "Not found at the registered address in 1 inspection",
        "Not found at the registered address in {n} inspections",
    ),
    # sole proprietors are *marked* abnormal, not listed (DOMAIN.md); one feature covers
    # both, and a sentence does not know the legal form, so it names both
    "on_abnormal_list": _flag(
        "On the abnormal operation list, or marked abnormal (a sole proprietor)",
        "Neither on the abnormal operation list nor marked abnormal",
    ),
    "abnormal_reason": _number(
        "Listed (a sole proprietor: marked) abnormal because: {v}",
        "Neither listed nor marked abnormal",
    ),
    "days_on_abnormal_list": _number(
        "Listed (a sole proprietor: marked) abnormal for {v:,.0f} days"
    ),
    "on_serious_list": _flag(
        "On the serious illegal and dishonest list",
        "Not on the serious illegal and dishonest list",
    ),
    "times_listed": _count("Listed or marked once before", "Listed or marked {n} times"),
    "times_listed_serious": _count(
        "Once on the serious illegal and dishonest list",
        "{n} times on the serious illegal and dishonest list",
    ),
    "days_listed_total": _number("{v:,.0f} days listed or marked in all"),
    "list_removals_restored": _count(
        "Removed from a list (or a mark removed) once by credit restoration",
        "Removed from a list (or a mark removed) {n} times by credit restoration",
        "Never removed from a list by credit restoration",
    ),
    "changes_1y": _count(
        "1 registration change in the last 12 months",
        "{n} registration changes in the last 12 months",
        "No registration change in the last 12 months",
    ),
    "changes_legal_representative_1y": _count(
        "Legal representative changed in the last 12 months",
        "Legal representative changed {n} times in the last 12 months",
        "Legal representative unchanged in the last 12 months",
    ),
    "changes_address_1y": _count(
        "Registered address changed in the last 12 months",
        "Registered address changed {n} times in the last 12 months",
        "Registered address unchanged in the last 12 months",
    ),
    "complaints_1y": _count(
        "1 complaint received in the last 12 months",
        "{n} complaints received in the last 12 months",
        "No complaint in the last 12 months",
    ),
    "complaints_substantiated_1y": _count(
        "1 substantiated complaint in the last 12 months",
        "{n} substantiated complaints in the last 12 months",
        "No substantiated complaint in the last 12 months",
    ),
    "linked_enterprises": _count(
        "Its people hold roles in 1 other enterprise",
        "Its people hold roles in {n} other enterprises",
        "Its people hold no role in another enterprise",
    ),
    "linked_on_list": _count(
        "1 enterprise linked through its people is on the abnormal or serious list",
        "{n} enterprises linked through its people are on the abnormal or serious list",
        "No enterprise linked through its people is on a list",
    ),
    "linked_penalised_3y": _count(
        "1 enterprise linked through its people was penalised in the last 3 years",
        "{n} enterprises linked through its people were penalised in the last 3 years",
        "No enterprise linked through its people was penalised in the last 3 years",
    ),
    "linked_deregistered_young": _count(
        "1 enterprise linked through its people was deregistered within a year of registering",
        "{n} enterprises linked through its people were deregistered within a year of registering",
        "No enterprise linked through its people was deregistered young",
    ),
    "person_serious_history": _flag(
        "Its legal representative led another enterprise onto the serious illegal list",
        "Its legal representative led no other enterprise onto the serious illegal list",
    ),
    "address_cluster_size": _count(
        "Registered alone at its address",
        "{n} enterprises registered at its address",
        "Registered address unknown",
    ),
    "address_cluster_abnormal": _count(
        "1 other enterprise at its address is on the abnormal list",
        "{n} other enterprises at its address are on the abnormal list",
        "No other enterprise at its address is on the abnormal list",
    ),
    "external_lists_current": _count(
        "On another department's joint-punishment list",
        "On {n} entries of other departments' joint-punishment lists",
        "On no other department's joint-punishment list",
    ),
}

#: Counts that are a part of another feature's count read as one sentence with it
#: ("2 of the 3 other enterprises its people hold roles in are on the abnormal or serious
#: list"): feature -> (the whole's feature, what to add to the whole's value to count
#: the others, and the sentences for one of one, one of {m} and {n} of {m}).
PARTS: dict[str, tuple[str, int, tuple[str, str, str]]] = {
    "linked_on_list": (
        "linked_enterprises",
        0,
        (
            "The other enterprise its people hold a role in is on the abnormal or serious list",
            "1 of the {m} other enterprises its people hold roles in is on the abnormal or "
            "serious list",
            "{n} of the {m} other enterprises its people hold roles in are on the abnormal "
            "or serious list",
        ),
    ),
    "linked_penalised_3y": (
        "linked_enterprises",
        0,
        (
            "The other enterprise its people hold a role in was penalised in the last 3 years",
            "1 of the {m} other enterprises its people hold roles in was penalised in the "
            "last 3 years",
            "{n} of the {m} other enterprises its people hold roles in were penalised in the "
            "last 3 years",
        ),
    ),
    "linked_deregistered_young": (
        "linked_enterprises",
        0,
        (
            "The other enterprise its people hold a role in was deregistered within a year "
            "of registering",
            "1 of the {m} other enterprises its people hold roles in was deregistered within "
            "a year of registering",
            "{n} of the {m} other enterprises its people hold roles in were deregistered "
            "within a year of registering",
        ),
    ),
    "address_cluster_abnormal": (
        "address_cluster_size",
        -1,
        (
            "The other enterprise at its address is on the abnormal list",
            "1 of the {m} other enterprises at its address is on the abnormal list",
            "{n} of the {m} other enterprises at its address are on the abnormal list",
        ),
    ),
}
for _sev in ("warning", "minor", "general", "serious"):
    for _w, _words in _WINDOWS.items():
        _kind = (
            "administrative penalty (warning, not disclosed)"
            if _sev == "warning"
            else (f"{_sev} administrative penalty")
        )
        _plural = _kind.replace("penalty", "penalties")
        TEMPLATES[f"penalties_{_sev}_{_w}"] = _count(
            f"1 {_kind} {_words}", f"{{n}} {_plural} {_words}"
        )
        if _sev != "warning":
            TEMPLATES[f"fines_{_sev}_{_w}"] = _number(
                f"Fines of {{v:,.0f}} yuan from {_sev} penalties {_words}"
            )

_MISSING = {f.name for f in CATALOGUE} - set(TEMPLATES)
if _MISSING:  # every feature must read in plain words
    raise RuntimeError(f"features without a sentence template: {sorted(_MISSING)}")


def last_report_year(as_of: pd.Timestamp | None) -> int | None:
    """The year of the last annual report due before ``as_of`` (due by 30 June next year).

    Parameters
    ----------
    as_of : pandas.Timestamp or None
        The as-of date.

    Returns
    -------
    int or None
        The report year, or None when ``as_of`` is None or NaT.

    Examples
    --------
    >>> last_report_year(pd.Timestamp("2024-07-01")), last_report_year(pd.Timestamp("2024-06-30"))
    (2023, 2022)
    >>> last_report_year(None) is None
    True
    """
    if as_of is None or pd.isna(as_of):
        return None
    return int(_report_years(pd.DatetimeIndex([as_of]))[0])


def _report_years(dates: pd.DatetimeIndex) -> np.ndarray:
    # a report for year Y is due by 30 June of Y+1
    return np.where(dates.month > 6, dates.year - 1, dates.year - 2).astype(np.int64)


def sentence(feature: str, value, as_of: pd.Timestamp | None = None, of=None) -> str:
    """The sentence saying what ``feature`` = ``value`` means for an entity.

    A count that is a part of another (:data:`PARTS`) reads with the whole when ``of``
    gives the whole's value.

    Parameters
    ----------
    feature : str
        A feature of the catalogue (a key of :data:`TEMPLATES`).
    value : object
        Its value: a count, a number, a flag (0 or 1), a category; None or NaN when
        missing.
    as_of : pandas.Timestamp, optional
        The as-of date, for the sentences that name a report year
        (:func:`last_report_year`); without it they say "The last".
    of : object, optional
        For a feature of :data:`PARTS`, the entity's value of the whole's feature.

    Returns
    -------
    str
        The sentence.

    Raises
    ------
    KeyError
        ``feature`` has no template.

    Examples
    --------
    >>> sentence("inspections_not_found", 1)
    'Not found at the registered address in 1 inspection'
    >>> sentence("leverage_last", 0.92)
    'Liabilities 92% of assets in the last annual report'
    >>> sentence("penalty_days_since_last", float("nan"))
    'No counted penalty'
    >>> sentence("report_last_year_filed", 1)
    'The last annual report filed'
    >>> sentence("linked_on_list", 2, of=3)
    '2 of the 3 other enterprises its people hold roles in are on the abnormal or serious list'
    """
    if feature not in TEMPLATES:
        raise KeyError(f"unknown feature {feature!r}; see creditrisk.feature_catalogue()")
    if of is not None:
        text = part_sentence(feature, value, of)
        if text is not None:
            return text
    return _sentence(feature, value, last_report_year(as_of))


def part_sentence(feature: str, value, of) -> str | None:
    """The sentence of a count read with the whole it is a part of (:data:`PARTS`).

    Parameters
    ----------
    feature : str
        A feature of :data:`PARTS`.
    value : object
        Its count for one entity.
    of : object
        The entity's value of the whole's feature.

    Returns
    -------
    str or None
        The sentence; None when the feature is not a part, the count is missing or 0
        (its own sentence says it), or the two disagree (more parts than the whole).

    Examples
    --------
    >>> part_sentence("address_cluster_abnormal", 3, 12)
    '3 of the 11 other enterprises at its address are on the abnormal list'
    >>> part_sentence("linked_on_list", 1, 1)
    'The other enterprise its people hold a role in is on the abnormal or serious list'
    >>> part_sentence("linked_on_list", 0, 4) is None
    True
    """
    if feature not in PARTS or _plain(value) is None or _plain(of) is None:
        return None
    _, offset, (single, one, many) = PARTS[feature]
    n, m = round(float(value)), round(float(of)) + offset
    if n <= 0 or m < n:
        return None
    return single if m == 1 else (one if n == 1 else many).format(n=n, m=m)


def _sentence(feature: str, value, year: int | None) -> str:
    template = TEMPLATES[feature]
    year_text = str(year) if year is not None else "The last"
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
    if "flag" in template:
        if missing:
            return "No annual report due yet" if "report" in feature else "Unknown"
        no, yes = template["flag"]
        text = yes if float(value) >= 0.5 else no
        return text.format(year=year_text)
    if "count" in template:
        n = 0 if missing else round(float(value))
        if n == 0 and template.get("none"):
            return template["none"]
        one, many = template["count"]
        return (one if n == 1 else many).format(n=n)
    if missing:
        return template.get("missing") or f"{feature.replace('_', ' ')}: not known"
    text = template["number"]
    if isinstance(value, str):
        return text.format(v=value.replace("_", " "))
    v = float(value)
    return text.format(v=v, p=100 * v)


def factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """Codes and distinct values of a column (missing values get a code too).

    Parameters
    ----------
    values : pandas.Series
        One feature's column.

    Returns
    -------
    codes : numpy.ndarray
        int64, one per row: the position of the row's value in ``uniques``.
    uniques : list
        The distinct values in order of appearance; for a categorical column, its
        categories followed by None (for the missing values), used or not.

    Examples
    --------
    >>> codes, uniques = factorize(pd.Series([2.0, None, 2.0]))
    >>> codes.tolist(), len(uniques)
    ([0, 1, 0], 2)
    >>> codes, uniques = factorize(pd.Series(["b", None], dtype="category"))
    >>> codes.tolist(), uniques
    ([0, 1], ['b', None])
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        uniques = [*values.cat.categories, None]
        return np.where(codes < 0, len(uniques) - 1, codes), uniques
    codes, uniques = pd.factorize(values.to_numpy(), use_na_sentinel=False)
    return codes.astype(np.int64), list(uniques)


def coded_sentences(
    feature: str, codes: np.ndarray, uniques: Sequence, as_of=None
) -> tuple[np.ndarray, list[str]]:
    """Sentences for factorized values: (a code per row, the distinct sentences).

    Each distinct value (and report year, for the sentences that name one) is
    formatted once. ``as_of`` (dates aligned with ``codes``) matters only to those.

    Parameters
    ----------
    feature : str
        A feature of the catalogue.
    codes : numpy.ndarray
        The rows' codes into ``uniques`` (:func:`factorize`).
    uniques : sequence
        The distinct values.
    as_of : array-like of dates, optional
        One as-of date per row.

    Returns
    -------
    codes : numpy.ndarray
        Each row's position in ``text`` (``codes`` itself when no report year enters).
    text : list of str
        The distinct sentences.

    Raises
    ------
    KeyError
        ``feature`` has no template.

    Examples
    --------
    >>> codes, text = coded_sentences("times_listed", np.array([0, 0, 1]), [2, 1])
    >>> [text[c] for c in codes]
    ['Listed or marked 2 times', 'Listed or marked 2 times', 'Listed or marked once before']
    >>> dates = pd.to_datetime(["2024-07-01", "2025-07-01"])
    >>> codes, text = coded_sentences("report_last_year_filed", np.array([0, 0]), [0], dates)
    >>> [text[c] for c in codes]
    ['2023 annual report not filed', '2024 annual report not filed']
    """
    if feature not in TEMPLATES:
        raise KeyError(f"unknown feature {feature!r}; see creditrisk.feature_catalogue()")
    if "{year}" in str(TEMPLATES[feature]) and as_of is not None:
        years = _report_years(pd.DatetimeIndex(np.asarray(as_of)))
        pair, pairs = pd.factorize(codes * 10_000 + years)
        text = [_sentence(feature, _plain(uniques[c // 10_000]), c % 10_000) for c in pairs]
        return pair.astype(np.int64), text
    if "number" in TEMPLATES[feature] and _floats(uniques):
        return codes, _number_sentences(feature, uniques)
    return codes, [_sentence(feature, _plain(u), None) for u in uniques]


def _floats(values: Sequence) -> bool:
    """True when every value is a float (NumPy's float64 included, NaN for missing)."""
    if isinstance(values, np.ndarray):
        return values.dtype == np.float64
    return all(isinstance(v, float) for v in values)


def _number_sentences(feature: str, values: Sequence) -> list[str]:
    """:func:`_sentence` of many float values of a number feature, in one pass.

    The same words: NaN reads as the template's missing sentence, any other value
    fills ``{v}`` and ``{p}`` (100 times it).
    """
    template = TEMPLATES[feature]
    missing = template.get("missing") or f"{feature.replace('_', ' ')}: not known"
    fill = template["number"].format
    floats = values.tolist() if isinstance(values, np.ndarray) else [float(v) for v in values]
    return [missing if v != v else fill(v=v, p=100 * v) for v in floats]


def feature_sentences(feature: str, values: pd.Series, as_of=None) -> np.ndarray:
    """Sentences for many values of one feature; each distinct value formatted once.

    Parameters
    ----------
    feature : str
        A feature of the catalogue.
    values : pandas.Series
        Its values.
    as_of : array-like of dates, optional
        One as-of date per value, for the sentences that name a report year.

    Returns
    -------
    numpy.ndarray
        One sentence per value (dtype object).

    Examples
    --------
    >>> feature_sentences("times_listed", pd.Series([2, 2, 1])).tolist()
    ['Listed or marked 2 times', 'Listed or marked 2 times', 'Listed or marked once before']
    """
    codes, uniques = factorize(values)
    codes, text = coded_sentences(feature, codes, uniques, as_of)
    return np.array(text, dtype=object)[codes]


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value
