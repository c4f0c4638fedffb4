"""Explanation cards: one page that answers an enterprise's "why am I in this tier?".

DOMAIN.md gives entities the right to an explanation, to have wrong records corrected
and to know what they can do. A card holds, for one entity at one as-of date: the tier
and probability, the records the regulator knew before that date in plain words, the
reasons with their exact SHAP weights (those that raise the risk and those that lower
it), the override rules that moved the tier, and the recourse plans with the tier each
reaches. It renders as plain text (:attr:`ExplanationCard.text`) and as a
self-contained one-page HTML (:attr:`ExplanationCard.html`).

The card scores the entity through :func:`creditrisk.jobs.scoring.score_chunk` on its own
rows, so its tier and reasons are the ones a batch run gives it.

Examples
--------
>>> import creditrisk as cr
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> tables = cr.load_sample()
>>> card = explain_card(model, "E0000025", tables=tables, as_of="2025-01-01")
>>> card.tier in ("A", "B", "C", "D"), "E0000025" in card.text
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from creditrisk.features.related import COUNTS, related_enterprises
from creditrisk.model.contributions import RANK_DECIMALS
from creditrisk.model.reasons import PARTS

__all__ = ["ExplanationCard", "explain_card", "records"]

RIGHTS = (
    "The tier is an internal supervision reference that sets how often the enterprise "
    "is inspected; it is not a public credit rating. If a record listed here is wrong, "
    "the enterprise can ask for it to be corrected, and it can challenge a listing or a "
    "penalty through administrative reconsideration or litigation. Listings state their "
    "reasons and remedies; a sole proprietor may ask for this explanation of an "
    "automated decision. Credit restoration (an early stop of a penalty's disclosure) and "
    "early exit from the serious illegal list are shown only where the records show the "
    "rules allow them: never after a suspension, a trade ban, a downgraded qualification "
    "or a revoked license; after 6 months of disclosure, 12 in food, drugs and special "
    "equipment; early exit after 12 months on the list, with obligations met and no "
    "heavier penalty since."
)
_OUTCOME_WORDS = {
    "compliant": "no issues found",
    "issues_found": "issues found",
    "not_found_at_address": "not found at the registered address",
}
_LIST_WORDS = {  # sole proprietors are *marked* abnormal, not listed (DOMAIN.md)
    "abnormal_operation": "Put on the abnormal operation list",
    "abnormal_mark": "Marked abnormal (a sole proprietor is marked, not listed)",
    "serious_illegal": "Put on the serious illegal and dishonest list",
}


@dataclass
class ExplanationCard:
    """One entity's explanation: what its tier is, why, and what it can do.

    ``reasons`` has one row per feature with a non-zero contribution (rounded as a
    batch ranks reasons): feature, sentence, value, contribution in log-odds;
    risk-raising first, largest first; ``records`` the events known before
    ``as_of`` (date, record); ``recourse`` the plans of :meth:`RiskModel.recourse`.
    ``top_k`` is how many raising reasons the card shows (the model's own, as in
    ``reason_1..k`` of a batch). ``write(path)`` saves the HTML (or the text, for a
    ``.txt`` path) atomically.

    :func:`explain_card` makes cards; the fields are what it fills in.

    Parameters
    ----------
    entity_id : str
        The entity.
    as_of : pandas.Timestamp
        The as-of date.
    tier : str
        The final tier, after the overrides.
    tier_label : str
        The tier in words (the policy's label).
    score_tier : str
        The tier of the probability alone, before the overrides.
    probability : float
        The model's probability of an inspection finding.
    override : str
        The names of the override rules that moved the tier (``"; "``-joined; empty
        when none did).
    override_reason : str
        Their sentences.
    reasons : pandas.DataFrame
        The reasons (see above).
    base_value : float
        The model's base value in log-odds: with the contributions, the entity's
        log-odds.
    recourse : pandas.DataFrame
        The recourse plans: actions, steps, n_actions, probability, tier and
        ``lower`` (whether the plan reaches a lower tier).
    records : pandas.DataFrame, optional
        The records known before ``as_of`` (:func:`records`); None without the tables.
    attributes : dict, optional
        Legal form, industry, region and key sector, in words.
    top_k : int, default 3
        How many raising reasons the card shows.
    policy : str, default ""
        The policy's name.
    model_version : str, default ""
        The first 12 digits of the model's training fingerprint.
    related : pandas.DataFrame, optional
        The related enterprises behind its related-party reasons and overrides
        (:func:`~creditrisk.features.related.related_enterprises`, the rows that count
        for a shown reason): entity_id, related_id, link, via, counts_for, why. None when no such
        reason is shown, or without the tables.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> c = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
    >>> bool(c.raising()["contribution"].gt(0).all())
    True
    """

    entity_id: str
    as_of: pd.Timestamp
    tier: str
    tier_label: str
    score_tier: str
    probability: float
    override: str
    override_reason: str
    reasons: pd.DataFrame
    base_value: float
    recourse: pd.DataFrame
    records: pd.DataFrame | None = None
    attributes: dict = field(default_factory=dict)
    top_k: int = 3
    policy: str = ""
    model_version: str = ""
    related: pd.DataFrame | None = None

    def _conduct(self) -> pd.DataFrame:
        return _conduct(self.reasons)

    def raising(self) -> pd.DataFrame:
        """The reasons that raise the risk, largest first (at most ``top_k``).

        Only conduct (what the enterprise did) is a reason; context is in
        :meth:`context`.

        Returns
        -------
        pandas.DataFrame
            Rows of ``reasons`` of conduct features with a positive contribution.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> bool((card.raising()["contribution"] > 0).all())
        True
        >>> set(card.raising()["role"]) <= {"conduct"}
        True
        """
        return _raising(self.reasons, self.top_k)

    def lowering(self, k: int = 3) -> pd.DataFrame:
        """The ``k`` conduct features that lower the risk most, largest first.

        Parameters
        ----------
        k : int, default 3
            How many.

        Returns
        -------
        pandas.DataFrame
            Rows of ``reasons`` of conduct features with a negative contribution, most
            negative first.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> bool(card.lowering()["contribution"].is_monotonic_increasing)
        True
        """
        conduct = self._conduct()
        down = conduct[conduct["contribution"] < 0]
        return down.sort_values("contribution", kind="stable").head(k)

    def context(self) -> pd.DataFrame:
        """The context features' contributions, largest first: reported, never reasons.

        Context is what the enterprise is (region, industry, age, legal form, capital),
        not what it did: enterprises like it have a higher or lower base rate.

        Returns
        -------
        pandas.DataFrame
            Rows of ``reasons`` of context features (empty for a model without any).

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> set(card.context()["role"]) <= {"context"}
        True
        """
        if "role" not in self.reasons:
            return self.reasons.iloc[:0]
        return self.reasons[self.reasons["role"] == "context"]

    def helpful_plans(self, k: int = 5) -> pd.DataFrame:
        """Recourse plans that reach a lower tier, best first (at most ``k``).

        Parameters
        ----------
        k : int, default 5
            How many.

        Returns
        -------
        pandas.DataFrame
            Rows of ``recourse`` whose ``lower`` is true.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000006", tables=cr.load_sample(), as_of="2025-01-01")
        >>> plan = card.helpful_plans().iloc[0]
        >>> card.tier, plan["tier"], plan["actions"]
        ('D', 'C', 'file_overdue_reports')
        """
        return self.recourse[self.recourse["lower"]].head(k)

    @property
    def text(self) -> str:
        """The card as plain text.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> print(card.text.splitlines()[0])
        Explanation card: enterprise E0000025, as of 2025-01-01
        >>> "No action open to the enterprise now would lower its tier." in card.text
        True
        """
        return _text(self)

    @property
    def html(self) -> str:
        """The card as one self-contained HTML page (no scripts, no network).

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> page = card.html
        >>> page.startswith("<!DOCTYPE html>"), "<script" in page
        (True, False)
        """
        from creditrisk.report.html import render
        from creditrisk.report.plots import tier_colours

        tiers = list(self.recourse["tier"].cat.categories)
        colour = dict(zip(tiers, tier_colours(tiers), strict=True)).get(self.tier, "#555")
        return render(
            "card.html.j2",
            card=self,
            rights=RIGHTS,
            fmt=_fmt,
            colour=colour,
            related_shown=RELATED_SHOWN,
        )

    def _repr_html_(self) -> str:
        return self.html

    def write(self, path: str | Path) -> Path:
        """Write the HTML (or, for a ``.txt`` path, the text) under a temporary name and
        rename it into place.

        Parameters
        ----------
        path : str or pathlib.Path
            The file; its directory is created when absent.

        Returns
        -------
        pathlib.Path
            The file written.

        Examples
        --------
        >>> import creditrisk as cr
        >>> m = cr.RiskModel.load(cr.sample_model_path())
        >>> card = explain_card(m, "E0000025", tables=cr.load_sample(), as_of="2025-01-01")
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = card.write(f"{d}/cards/E0000025.txt")
        ...     out.read_text(encoding="utf-8") == card.text
        True
        """
        from creditrisk.data.tables import atomic_file

        path = Path(path)
        content = self.text if path.suffix.lower() == ".txt" else self.html
        with atomic_file(path) as tmp:
            tmp.write_text(content, encoding="utf-8")
        return path


def _fmt(value, kind: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if kind == "date":
        return str(pd.Timestamp(value).date())
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "signed":
        return f"{value:+.3f}"
    return str(value)


def explain_card(
    model,
    entity: str | pd.DataFrame | pd.Series,
    tables=None,
    as_of=None,
) -> ExplanationCard:
    """The explanation card of one entity.

    ``entity`` is an entity id (then ``tables`` and ``as_of`` are needed: the entity's
    features are built from its own rows), or one row of features with entity_id and
    as_of (a row of :func:`creditrisk.build_features`, or of scores written with their
    features). With ``tables``, the card lists the records behind the tier.

    Parameters
    ----------
    model : RiskModel
        The fitted model (its policy, reasons and recourse).
    entity : str, pandas.DataFrame or pandas.Series
        An entity id, or one row of features (see above).
    tables : EventTables, optional
        The register: needed with an entity id; with it the card lists the records
        and the recourse plans can read them.
    as_of : date, optional
        The as-of date; needed with an entity id.

    Returns
    -------
    ExplanationCard
        The card.

    Raises
    ------
    ValueError
        An entity id without ``tables`` and ``as_of``, an unknown entity or one not
        registered on the as-of date, or features that are not one row.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> t = cr.load_sample()
    >>> X = cr.build_features(t, cr.spine(t, "2025-01-01"))
    >>> card = explain_card(m, X[X.on_abnormal_list == 1].iloc[[0]])
    >>> card.override != "" or card.score_tier == card.tier
    True
    >>> explain_card(m, "E0000025")
    Traceback (most recent call last):
    ValueError: explaining an entity id needs tables= and as_of=
    """
    from creditrisk.data.spine import data_span
    from creditrisk.jobs.scoring import score_chunk

    if isinstance(entity, str):
        if tables is None or as_of is None:
            raise ValueError("explaining an entity id needs tables= and as_of=")
        ids = tables.enterprises["entity_id"].astype(str)
        if not ids.eq(entity).any():
            raise ValueError(f"enterprises has no entity_id {entity!r}")
        own = tables.subset([entity])
        scored = score_chunk(own, model, as_of, span=data_span(tables), validate=False)
        if scored.empty:
            row = own.enterprises.iloc[0]
            raise ValueError(
                f"entity {entity!r} is not registered at {pd.Timestamp(as_of).date()} "
                f"(registered_on {_fmt(row['registered_on'], 'date')}, deregistered_on "
                f"{_fmt(row['deregistered_on'], 'date') or 'never'})"
            )
        X = scored[["entity_id", "as_of", *model.feature_names_in_]]
    else:
        X = entity.to_frame().T.infer_objects() if isinstance(entity, pd.Series) else entity
        if len(X) != 1:
            raise ValueError(f"an explanation card is for one entity, got {len(X)} rows")
        X = X[["entity_id", "as_of", *model.feature_names_in_]]
    score = model.classify(X).iloc[0]
    phi = model.contributions(X).iloc[0]
    names = list(model.feature_names_in_)
    at = pd.Timestamp(score["as_of"])
    row = X.iloc[0]
    roles = np.where(model._context_mask(), "context", "conduct")
    reasons = pd.DataFrame(
        {
            "feature": names,
            "sentence": [_sentence(model, f, row, at) for f in names],
            "value": [row[f] for f in names],
            "contribution": phi[names].to_numpy(dtype=np.float64),
            "role": roles,
        }
    )
    # ranked as the batch ranks reasons (explain.top_reasons): rounded, ties by position
    rank = reasons["contribution"].round(RANK_DECIMALS).to_numpy()
    kept = rank != 0
    reasons = reasons[kept].iloc[np.argsort(-rank[kept], kind="stable")]
    policy = model.policy_
    tier = str(score["tier"])
    labels = dict(zip(policy.tiers, policy.labels or policy.tiers, strict=True))
    entity_id = str(score["entity_id"])
    return ExplanationCard(
        entity_id=entity_id,
        as_of=at,
        tier=tier,
        tier_label=labels.get(tier, ""),
        score_tier=str(score["score_tier"]),
        probability=float(score["probability"]),
        override=str(score["override"]),
        override_reason=str(score["override_reason"]),
        reasons=reasons.reset_index(drop=True),
        base_value=float(phi["base_value"]),
        recourse=model.recourse(X, tables=tables),
        records=None if tables is None else records(tables, entity_id, at),
        related=None if tables is None else _related(tables, entity_id, at, reasons, score, model),
        attributes=_attributes(row),
        top_k=model.top_k,
        policy=policy.name,
        model_version=str(model.training_.get("fingerprint", ""))[:12],
    )


def _conduct(reasons: pd.DataFrame) -> pd.DataFrame:
    return reasons if "role" not in reasons else reasons[reasons["role"] != "context"]


def _raising(reasons: pd.DataFrame, top_k: int) -> pd.DataFrame:
    conduct = _conduct(reasons)
    return conduct[conduct["contribution"].round(RANK_DECIMALS) > 0].head(top_k)


#: how many related enterprises a card prints (all are in ``card.related``)
RELATED_SHOWN = 20


def _related(tables, entity_id, as_of, reasons, score, model) -> pd.DataFrame | None:
    """The related enterprises behind the shown related-party reasons and overrides."""
    behind = set(_raising(reasons, model.top_k)["feature"])
    moved = {n for n in str(score["override"]).split("; ") if n}
    for rule in model.policy_.overrides:
        if rule.name in moved:
            behind |= set(rule.features)
    behind &= set(COUNTS) - {"linked_enterprises"}  # a context count is never a reason
    if not behind:
        return None
    rel = related_enterprises(tables, entity_id, as_of)
    counts = rel["counts_for"].str.split("; ")
    return rel[counts.map(lambda c: bool(behind & set(c)))].reset_index(drop=True)


def _attributes(row: pd.Series) -> dict[str, str]:
    shown = {k: _w(row[k]) for k in ("entity_type", "industry", "region") if k in row}
    if "key_sector" in row and str(row["key_sector"]) not in ("none", "nan", "<NA>"):
        shown["key_sector"] = f"key sector {_w(row['key_sector'])}"
    return shown


def _sentence(model, feature: str, row: pd.Series, as_of) -> str:
    whole = PARTS.get(feature, ("",))[0]  # a part reads with its whole, as in a batch
    of = row[whole] if whole in row.index and whole in model.feature_names_in_ else None
    try:
        return model.sentence(feature, row[feature], as_of, of=of)
    except KeyError:
        return f"{feature.replace('_', ' ')}: {row[feature]}"


def _d(value) -> str:
    return _fmt(value, "date")


def _known(day, as_of: pd.Timestamp) -> bool:
    return bool(pd.notna(day) and pd.Timestamp(day) < as_of)


def records(tables, entity_id: str, as_of) -> pd.DataFrame:
    """The entity's records that the regulator knew before ``as_of``, in plain words,
    oldest first: columns date, source (the table) and record. ``as_of`` is a day: a time
    of day is dropped, as for a card.

    Parameters
    ----------
    tables : EventTables
        The register.
    entity_id : str
        The entity.
    as_of : date
        The as-of date: only records known before it are listed (a report not filed by
        its due date is a record too).

    Returns
    -------
    pandas.DataFrame
        ``date``, ``source`` and ``record`` (a sentence).

    Examples
    --------
    >>> import creditrisk as cr
    >>> r = records(cr.load_sample(), "E0000025", "2025-01-01")
    >>> r["source"].iloc[0]
    'enterprises'
    >>> r["record"].iloc[-1]
    '2023 annual report filed on time'
    >>> bool(r["date"].is_monotonic_increasing and (r["date"] < "2025-01-01").all())
    True
    """
    as_of = pd.Timestamp(as_of).normalize()
    own = tables.subset([entity_id])
    rows: list[tuple] = []
    for e in own.enterprises.itertuples():
        if not _known(e.registered_on, as_of):
            continue
        sector = "" if str(e.key_sector) in ("none", "nan") else f", key sector {_w(e.key_sector)}"
        capital = (
            f"registered capital {e.registered_capital:,.0f} yuan"
            if pd.notna(e.registered_capital)
            else "no registered capital recorded"
        )
        rows.append(
            (
                e.registered_on,
                "enterprises",
                f"Registered as a {_w(e.entity_type)} in {_w(e.industry)}, {_w(e.region)}{sector}; "
                + capital,
            )
        )
        if _known(e.deregistered_on, as_of):
            rows.append((e.deregistered_on, "enterprises", "Deregistered"))
    for r in own.annual_reports.itertuples():
        due = pd.Timestamp(year=int(r.report_year) + 1, month=6, day=30)
        if _known(r.filed_on, as_of):
            late = (pd.Timestamp(r.filed_on) - due).days
            when = "on time" if late <= 0 else f"{late} days late"
            rows.append(
                (r.filed_on, "annual_reports", f"{r.report_year} annual report filed {when}")
            )
        elif due < as_of:
            rows.append(
                (due, "annual_reports", f"{r.report_year} annual report not filed (due {_d(due)})")
            )
    for lic in own.licenses.itertuples():
        if not _known(lic.issued_on, as_of):
            continue
        text = f"{_w(lic.license_type).capitalize()} license issued"
        if _known(lic.revoked_on, as_of):
            text += f", revoked on {_d(lic.revoked_on)}"
        elif _known(lic.expires_on, as_of):
            text += f", expired on {_d(lic.expires_on)}"
        elif pd.notna(lic.expires_on):
            text += f", valid until {_d(lic.expires_on)}"
        rows.append((lic.issued_on, "licenses", text))
    for p in own.penalties.itertuples():
        if not _known(p.published_on, as_of):
            continue
        fine = f", fine {p.fine_amount:,.0f} yuan" if p.fine_amount else ""
        text = (
            f"{str(p.severity).capitalize()} administrative penalty ({_w(p.measure)}, "
            f"{_w(p.category)}{fine}), decided {_d(p.decided_on)}, published "
            f"{_d(p.published_on)}"
        )
        if _known(p.restored_on, as_of):
            text += f"; credit restored on {_d(p.restored_on)}"
        elif pd.notna(p.disclosure_ends_on):
            ends = "ended" if _known(p.disclosure_ends_on, as_of) else "ends"
            text += f"; public disclosure {ends} {_d(p.disclosure_ends_on)}"
        rows.append((p.decided_on, "penalties", text))
    for i in own.inspections.itertuples():
        if not _known(i.published_on, as_of):
            continue
        outcome = _OUTCOME_WORDS.get(str(i.outcome), _w(i.outcome))
        rows.append(
            (i.inspected_on, "inspections", f"{str(i.kind).capitalize()} inspection: {outcome}")
        )
    for e in own.list_entries.itertuples():
        if not _known(e.listed_on, as_of):
            continue
        text = f"{_LIST_WORDS.get(str(e.list), 'Put on the ' + _w(e.list))}: {_w(e.reason)}"
        if _known(e.removed_on, as_of):
            text += f"; removed on {_d(e.removed_on)} ({_w(e.removal_reason)})"
        rows.append((e.listed_on, "list_entries", text))
    rows += _indicator_records(own, as_of)
    frame = pd.DataFrame(rows, columns=["date", "source", "record"])
    frame["date"] = pd.to_datetime(frame["date"])
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def _indicator_records(own, as_of: pd.Timestamp) -> list[tuple]:
    """Roles, registration changes, complaints and other departments' listings known
    before ``as_of``, in words (each at the date it happened)."""
    rows: list[tuple] = []
    for r in own.roles.itertuples():
        if not _known(r.published_on, as_of):
            continue
        share = f" ({r.share:.0%} of the capital)" if pd.notna(r.share) else ""
        text = f"{r.person_id} {_w(r.role)}{share} from {_d(r.from_on)}"
        if _known(r.to_on, as_of):
            text += f" to {_d(r.to_on)}"
        rows.append((r.from_on, "roles", text))
    for c in own.changes.itertuples():
        if not _known(c.published_on, as_of):
            continue
        values = ""
        if pd.notna(c.old_value) or pd.notna(c.new_value):
            values = f": {_w(c.old_value) or 'not recorded'} -> {_w(c.new_value) or 'not recorded'}"
        rows.append((c.changed_on, "changes", f"Registration change of {_w(c.kind)}{values}"))
    for c in own.complaints.itertuples():
        if not _known(c.recorded_on, as_of):
            continue
        verdict = "pending"
        if _known(c.concluded_on, as_of):
            verdict = {"yes": "substantiated", "no": "not substantiated"}.get(
                str(c.substantiated), _w(c.substantiated)
            ) + f" on {_d(c.concluded_on)}"
        rows.append((c.received_on, "complaints", f"Complaint ({_w(c.category)}): {verdict}"))
    for e in own.external_lists.itertuples():
        if not _known(e.published_on, as_of):
            continue
        text = f"Put on another department's list: {_w(e.list)}"
        if _known(e.removed_on, as_of):
            text += f"; removed on {_d(e.removed_on)}"
        rows.append((e.listed_on, "external_lists", text))
    return rows


def _w(value) -> str:
    return "" if pd.isna(value) else str(value).replace("_", " ")


def _text(card: ExplanationCard) -> str:
    lines = [
        f"Explanation card: enterprise {card.entity_id}, as of {_d(card.as_of)}",
        "",
        f"Tier {card.tier} ({card.tier_label}); probability of an inspection finding in the "
        f"next 12 months {card.probability:.1%}",
    ]
    if card.attributes:
        lines.append(", ".join(card.attributes.values()))
    lines += ["", "Overrides"]
    if card.override:
        lines.append(f"  {card.override_reason} (by its score alone: tier {card.score_tier})")
    else:
        lines.append(f"  None applied: the tier is the score's (tier {card.score_tier})")
    lines += ["", "Reasons that raise the risk (exact SHAP contribution, log-odds)"]
    up = card.raising()
    lines += [f"  {r.contribution:+.3f}  {r.sentence}" for r in up.itertuples()] or ["  None"]
    lines += ["", "What lowers it most"]
    down = card.lowering()
    lines += [f"  {r.contribution:+.3f}  {r.sentence}" for r in down.itertuples()] or ["  None"]
    context = card.context()
    if len(context):
        lines += ["", "Context: what the enterprise is, not what it did (never a reason)"]
        lines += [f"  {r.contribution:+.3f}  {r.sentence}" for r in context.itertuples()]
    lines += ["", "What the enterprise can do"]
    plans = card.helpful_plans()
    if len(plans):
        lines += [f"  {p.steps} -> tier {p.tier} ({p.probability:.1%})" for p in plans.itertuples()]
    else:
        lines.append("  No action open to the enterprise now would lower its tier.")
    if card.related is not None and len(card.related):
        lines += ["", "Related enterprises behind these reasons"]
        lines += [
            f"  {r.related_id}  {r.why}  (via {r.via})"
            for r in card.related.head(RELATED_SHOWN).itertuples()
        ]
        if len(card.related) > RELATED_SHOWN:
            lines.append(f"  ... and {len(card.related) - RELATED_SHOWN} more")
    if card.records is not None:
        lines += ["", f"Records known to the regulator before {_d(card.as_of)}"]
        lines += [f"  {_d(r.date)}  {r.record}" for r in card.records.itertuples()]
    lines += ["", "Rights", "  " + RIGHTS, ""]
    return "\n".join(lines)
