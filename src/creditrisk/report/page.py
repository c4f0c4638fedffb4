"""The supervisor's report: one self-contained HTML file about one scoring run.

:func:`build_report` takes a run's scores (``creditrisk score`` output, or
:meth:`RiskModel.classify` with the features beside it) and the model, and lays out:
the tier distribution, finding rates by tier (random and targeted inspections apart),
the reliability curve, the SHAP summary and the top reasons by tier, the tier
migration since the previous run, the inspection frequency table and the plan, and
the fairness checks by region, industry, entity type and key sector.

Finding rates need outcomes, and a run scored today has none yet. Given the event
tables, the report measures them where the data allow: on the run's own as-of date
when its label horizon has ended within the data, otherwise on a *back-test* (the
register scored by the same model at the latest as-of date whose horizon has ended,
``last known date - horizon + 1``), and says which it used. Every table shown is kept
in :attr:`Report.tables` under the id of its HTML table, so the numbers can be checked
against the page. Plots are PNG data URIs: the file opens anywhere, with no network.

Examples
--------
>>> import creditrisk as cr
>>> tables = cr.load_sample()
>>> model = cr.RiskModel.load(cr.sample_model_path())
>>> scores = cr.scoring.score_chunk(tables, model, "2026-01-01")
>>> report = build_report(scores, model, tables=tables, max_shap_rows=500)
>>> report.outcome_as_of.date(), int(report.tables["tiers"]["entities"].sum()) == len(scores)
(datetime.date(2025, 1, 1), True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from creditrisk import inspection
from creditrisk.features.labels import horizon_days, known_until
from creditrisk.features.related import COUNTS, related_enterprises
from creditrisk.jobs import monitoring
from creditrisk.jobs.scoring import resolve_model, score_chunk
from creditrisk.jobs.tracking import resolve_model as resolve_any_model
from creditrisk.model import evaluation
from creditrisk.report import fairness, plots
from creditrisk.report.html import figure, render, table

__all__ = ["Report", "build_report"]

_KEYS = ("entity_id", "as_of", "probability", "tier")


@dataclass
class Report:
    """A rendered report: the HTML page, every table it shows, and its facts.

    ``tables`` maps each HTML table's id to the DataFrame it shows; ``facts`` the
    overview lines; ``notes`` what could not be shown and why; ``outcome_as_of`` the
    as-of date whose outcomes the finding rates come from (None without tables).
    ``write(path)`` saves the page atomically (temporary name, then rename).

    Parameters
    ----------
    html : str
        The page: one self-contained HTML document.
    tables : dict of str to pandas.DataFrame
        Each HTML table's id → the DataFrame it shows.
    facts : dict of str to str
        The overview lines: what → its value.
    notes : list of str
        What could not be shown, and why.
    outcome_as_of : pandas.Timestamp, optional
        The as-of date whose outcomes the finding rates come from (None without tables).
    figures : list of str, optional
        The ids of the plots on the page.

    Examples
    --------
    >>> r = Report(html="<html></html>", tables={}, facts={}, notes=[])
    >>> r.write(__import__("tempfile").mkdtemp() + "/r.html").name
    'r.html'
    """

    html: str
    tables: dict[str, pd.DataFrame]
    facts: dict[str, str]
    notes: list[str]
    outcome_as_of: pd.Timestamp | None = None
    figures: list[str] = field(default_factory=list)

    def write(self, path: str | Path) -> Path:
        """Write the page under a temporary name and rename it into place.

        A failure midway leaves no partial file (and an older page at ``path``
        untouched); missing directories are created.

        Parameters
        ----------
        path : str or path-like
            The HTML file to write.

        Returns
        -------
        pathlib.Path
            ``path``.

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> page = Report(html="<html><body>tiers</body></html>", tables={}, facts={}, notes=[])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = page.write(Path(d) / "reports" / "run.html")
        ...     path.read_text(encoding="utf-8") == page.html
        True
        """
        from creditrisk.data.tables import atomic_file

        path = Path(path)
        with atomic_file(path) as tmp:
            tmp.write_text(self.html, encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        return self.html


def _check_scores(scores: pd.DataFrame, policy) -> pd.DataFrame:
    missing = [c for c in _KEYS if c not in scores.columns]
    if missing:
        raise ValueError(
            f"scores lack the columns {missing}: give the output of `creditrisk score` "
            "or RiskModel.classify"
        )
    tier = scores["tier"].astype("str")
    unknown = ~tier.isin(policy.tiers)
    if unknown.any():
        rows = scores.loc[unknown, ["entity_id", "tier"]].head(5).to_dict("records")
        raise ValueError(
            f"scores column 'tier' holds values outside policy {policy.name!r} tiers "
            f"{list(policy.tiers)}, e.g. {rows}"
        )
    out = scores.reset_index(drop=True).copy()
    out["tier"] = pd.Categorical(tier, categories=list(policy.tiers), ordered=True)
    out["as_of"] = pd.to_datetime(out["as_of"])
    return out


def _features(scores: pd.DataFrame, model, tables) -> pd.DataFrame | None:
    names = list(model.feature_names_in_)
    if all(n in scores.columns for n in names):
        return scores[["entity_id", "as_of", *names]]
    if tables is None:
        return None
    parts = []
    for day, part in scores.groupby("as_of", sort=True):
        fresh = score_chunk(tables, model, day, top_k=0, validate=False)
        parts.append(fresh[fresh["entity_id"].isin(part["entity_id"])])
    fresh = pd.concat(parts, ignore_index=True)
    order = scores[["entity_id", "as_of"]].merge(fresh, on=["entity_id", "as_of"], how="inner")
    return order[["entity_id", "as_of", *names]]


#: how many entities the report's related-party table shows (the riskiest first)
RELATED_ROWS = 20


def _related_table(reasons: pd.DataFrame, tables) -> pd.DataFrame | None:
    """The riskiest entities with a related-party reason, and the enterprises behind it."""
    ranks = sorted(
        c[: -len("_feature")]
        for c in reasons.columns
        if c.startswith("reason_") and c.endswith("_feature")
    )
    relational = set(COUNTS) - {"linked_enterprises"}
    hit = pd.DataFrame(
        {r: reasons[f"{r}_feature"].astype("str").isin(relational).to_numpy() for r in ranks}
    )
    if not len(ranks) or not hit.to_numpy().any():
        return None
    rows = np.flatnonzero(hit.to_numpy().any(axis=1))
    rows = rows[np.argsort(-reasons["probability"].to_numpy()[rows], kind="stable")]
    rows = rows[:RELATED_ROWS]
    first = [ranks[int(np.argmax(hit.iloc[row].to_numpy()))] for row in rows.tolist()]
    chosen = pd.DataFrame(
        {
            "entity_id": reasons["entity_id"].iloc[rows].astype("str").to_numpy(),
            "as_of": reasons["as_of"].iloc[rows].to_numpy(),
            "feature": [
                reasons[f"{r}_feature"].iloc[row] for r, row in zip(first, rows, strict=True)
            ],
        }
    )
    behind = pd.concat(  # one pass over the register per as-of date
        [
            related_enterprises(tables, group["entity_id"].tolist(), day).assign(as_of=day)
            for day, group in chosen.groupby("as_of", sort=False)
        ],
        ignore_index=True,
    )
    out = []
    for (row, r), (entity, day, feature) in zip(
        zip(rows.tolist(), first, strict=True), chosen.itertuples(index=False), strict=True
    ):
        mine = behind[(behind["entity_id"] == entity) & (behind["as_of"] == day)]
        ids = mine.loc[
            mine["counts_for"].str.split("; ").map(lambda c, f=feature: f in c), "related_id"
        ].tolist()
        shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5} more)" if len(ids) > 5 else "")
        out.append(
            {
                "entity_id": entity,
                "tier": str(reasons["tier"].iloc[row]),
                "probability": float(reasons["probability"].iloc[row]),
                "reason": reasons[r].iloc[row],
                "related enterprises": shown,
            }
        )
    return pd.DataFrame(out)


def _sample(X: pd.DataFrame, rows: int, seed: int) -> pd.DataFrame:
    if len(X) <= rows:
        return X
    keep = np.sort(np.random.default_rng(seed).choice(len(X), rows, replace=False))
    return X.iloc[keep]


def _outcome_date(scores: pd.DataFrame, tables, horizon: str, outcome_as_of):
    if outcome_as_of is not None:
        return pd.Timestamp(outcome_as_of), False
    last = known_until(tables)  # the label's own source, not the latest date of any table
    h = horizon_days(horizon)
    latest = last - pd.Timedelta(days=h - 1)
    if scores["as_of"].nunique() == 1 and scores["as_of"].iloc[0] <= latest:
        return scores["as_of"].iloc[0], True
    return latest, False


def _tier_table(scores: pd.DataFrame, policy) -> pd.DataFrame:
    out = evaluation.tier_table(scores).reset_index()
    labels = dict(zip(policy.tiers, policy.labels or policy.tiers, strict=True))
    out.insert(1, "label", out["tier"].astype(str).map(labels))
    overridden = scores["override"].astype(str).ne("") if "override" in scores else None
    if overridden is not None:
        by_rule = overridden.groupby(scores["tier"], observed=False).sum()
        out["by_override"] = out["tier"].map(by_rule).astype("int64")
    return out


def _plan_tables(plan: pd.DataFrame, frequency: pd.DataFrame | None, register):
    per_tier = (
        plan.groupby("tier", observed=False)
        .agg(visits=("entity_id", "size"), entities=("entity_id", "nunique"))
        .reset_index()
    )
    if frequency is not None:
        expected = frequency.groupby("tier", observed=False)["expected_inspections"].sum()
        per_tier["expected_inspections"] = per_tier["tier"].map(expected).astype(float)
    in_key_sector = plan["key_sector"].astype(str).ne("none")
    per_region = (
        plan.assign(key_sector_visit=in_key_sector)
        .groupby("region", observed=True)
        .agg(visits=("entity_id", "size"), key_sector_visits=("key_sector_visit", "sum"))
        .reset_index()
    )
    if register is not None:
        load = inspection.workload(plan, register)
        stats = load.groupby("region", observed=True)["visits"].agg(
            inspectors="size", mean_per_inspector="mean", max_per_inspector="max"
        )
        per_region = per_region.merge(stats.reset_index(), on="region", how="left")
    facts = {
        "visits": f"{len(plan):,} to {plan['entity_id'].nunique():,} entities",
        "seed": str(plan["seed"].iloc[0]) if "seed" in plan and len(plan) else "",
        "period": str(plan["period"].iloc[0]) if "period" in plan and len(plan) else "",
        "inputs SHA-256": str(plan["inputs_sha256"].iloc[0])
        if "inputs_sha256" in plan and len(plan)
        else "",
    }
    return per_tier, per_region, facts


_PCT = ("share", "coverage", "rate", "_low", "_high")
_COUNTS = (
    "entities",
    "inspected",
    "visits",
    "rows",
    "first",
    "labelled",
    "by_override",
    "inspectors",
    "max_per_inspector",
)


def _formats(frame: pd.DataFrame, tiers: tuple[str, ...]) -> dict[str, str]:
    formats = {}
    for c in map(str, frame.columns):
        if c.startswith("tier_") or c.endswith(_PCT) or c == "population_share":
            formats[c] = "pct"
        elif c.endswith("ratio") or c.startswith(("mean_per", "expected_", "observed_to")):
            formats[c] = "ratio"
        elif c in _COUNTS or c.endswith(("_inspected", "_visits")) or c in tiers:
            formats[c] = "count"
        elif c in ("mean_probability", "probability", "low", "high", "mean_abs_shap", "mean_shap"):
            formats[c] = "prob"
        elif c.endswith("contribution"):
            formats[c] = "signed"
    return formats


def build_report(
    scores: pd.DataFrame,
    model,
    *,
    tables=None,
    previous: pd.DataFrame | None = None,
    plan: pd.DataFrame | None = None,
    register=None,
    manifest: dict | None = None,
    horizon: str = "365D",
    outcome_as_of=None,
    high_tiers=None,
    max_shap_rows: int = 5_000,
    seed: int = 0,
    title: str = "creditrisk: risk tiers and inspection report",
) -> Report:
    """Build the report of one scoring run.

    ``model``: a RiskModel, a model directory or an MLflow URI. ``tables``: the event
    tables (for finding rates, fairness checks, group attributes and features the scores
    lack). ``previous``: the scores of the last run, for the tier migration. ``plan``
    and ``register``: an inspection plan (:func:`creditrisk.inspection.draw`) and its
    inspector register. ``outcome_as_of``: the as-of date of the finding rates (default:
    see the module text). ``max_shap_rows``: rows of the SHAP summary (a seeded sample).

    Parameters
    ----------
    scores : pandas.DataFrame
        The run's rows: ``entity_id``, ``as_of``, ``probability`` and ``tier`` at least
        (the output of ``creditrisk score`` or :meth:`RiskModel.classify`).
    model : RiskModel, str or path-like
        The model that scored them: a model, a model directory or an MLflow URI
        (:func:`creditrisk.jobs.tracking.resolve_model`).
    tables : EventTables, optional
        The event tables: without them there are no finding rates, reliability or
        fairness checks.
    previous : pandas.DataFrame, optional
        The scores of the last run, for the tier migration.
    plan : pandas.DataFrame, optional
        An inspection plan (:func:`creditrisk.inspection.draw`).
    register : InspectorRegister, optional
        The plan's inspector register.
    manifest : dict, optional
        The scoring run's manifest (:func:`creditrisk.jobs.scoring.score_register`),
        for the overview.
    horizon : str, default "365D"
        The label window of the finding rates.
    outcome_as_of : date-like, optional
        The as-of date of the finding rates (default: see the module text).
    high_tiers : sequence of str, optional
        The tiers the fairness checks count as high (default: the upper half).
    max_shap_rows : int, default 5_000
        Rows of the SHAP summary (a seeded sample).
    seed : int, default 0
        Seed of that sample.
    title : str, default "creditrisk: risk tiers and inspection report"
        The page's title.

    Returns
    -------
    Report
        The page, every table it shows, its facts and notes.

    Raises
    ------
    ValueError
        ``scores`` lack a key column, or hold tiers outside the model's policy.
    ModelError
        ``model`` cannot be loaded.

    Examples
    --------
    >>> import creditrisk as cr
    >>> m = cr.RiskModel.load(cr.sample_model_path())
    >>> s = cr.scoring.score_chunk(cr.load_sample(), m, "2025-01-01")
    >>> r = build_report(s, m, max_shap_rows=200)
    >>> "tier-distribution" in r.html, r.outcome_as_of is None
    (True, True)
    """
    model, info = resolve_model(resolve_any_model(model))
    policy = model.policy_
    scores = _check_scores(scores, policy)
    if tables is not None:
        scores = fairness.with_groups(scores, tables)
    tabs: dict[str, pd.DataFrame] = {}
    figs: dict[str, str] = {}
    notes: list[str] = []
    dates = sorted({str(d.date()) for d in scores["as_of"].unique()})
    facts = {
        "as of": ", ".join(dates),
        "entities scored": f"{len(scores):,}",
        "policy": f"{policy.name}: {policy.description}" if policy.description else policy.name,
        "model": f"{model.n_trees_} trees, max depth {model.max_depth}; model SHA-256 "
        f"{info['model_sha256'][:16]}; version {info.get('version') or 'unregistered'}",
        "model source": str(info.get("source", "")),
        "training data": f"as of {', '.join(model.training_['as_of'])}; fingerprint "
        f"{model.training_['fingerprint'][:16]}",
    }
    if manifest:
        facts["scoring run"] = (
            f"{manifest.get('rows', len(scores)):,} rows, created by creditrisk "
            f"{manifest.get('creditrisk_version', '')}; data SHA-256 "
            f"{str(manifest.get('data_sha256', ''))[:16]}"
        )

    # tiers
    tabs["tiers"] = _tier_table(scores, policy)
    figs["tiers"] = figure(plots.plot_tiers(scores))

    # SHAP summary and reasons
    X = _features(scores, model, tables)
    if X is not None and len(X):
        shown = _sample(X, max_shap_rows, seed)
        imp = model.importance(shown).head(15).reset_index()
        tabs["importance"] = imp[["feature", "mean_abs_shap", "mean_shap", "meaning"]]
        figs["shap"] = figure(plots.plot_shap_summary(model, shown))
        facts["SHAP rows"] = f"{len(shown):,} of {len(X):,} (seed {seed})"
    else:
        notes.append("SHAP summary: the scores carry no features; give the event tables.")
    reasons = scores
    if not any(c.endswith("_feature") for c in scores.columns) and X is not None:
        reasons = model.classify(X)
    tabs["reasons"] = evaluation.reason_table(reasons)
    figs["reasons"] = figure(plots.plot_reasons(tabs["reasons"]))
    if tables is not None:
        related = _related_table(reasons, tables)
        if related is not None:
            tabs["related"] = related

    # outcomes: finding rates, reliability, fairness
    outcome_day = None
    if tables is not None:
        outcome_day, own = _outcome_date(scores, tables, horizon, outcome_as_of)
        past = scores if own else score_chunk(tables, model, outcome_day, top_k=0, validate=False)
        past = fairness.with_groups(past, tables)
        found = fairness.outcomes(tables, past, horizon)
        facts["outcomes"] = (
            f"inspections in the {horizon_days(horizon)} days after {outcome_day.date()} "
            + (
                "(this run's own date)"
                if own
                else "(a back-test: the register scored by this model at that date)"
            )
        )
        tabs["selection"] = fairness.selection_table(past, found)
        figs["findings"] = figure(plots.plot_finding_rates(tabs["selection"]))
        y = found["random_finding"]
        m = evaluation.metrics(y, past["probability"])
        facts["back-test metrics"] = (
            f"AUC {m['auc']:.3f}, average precision {m['average_precision']:.3f}, Brier "
            f"{m['brier']:.4f} on {m['n']:,} random inspections"
        )
        tabs["reliability"] = evaluation.reliability_table(y, past["probability"]).reset_index()
        figs["reliability"] = figure(plots.plot_reliability(y, past["probability"]))
        audit = fairness.audit(past, found, high_tiers=high_tiers)
        shown = [
            c
            for c in audit.columns
            if c not in ("group", "mean_probability", "probability_ratio")
            and not c.startswith("tier_")
        ]
        for group in fairness.GROUPS:
            part = audit.loc[audit["group"] == group, shown]
            tabs[f"fairness-{group}"] = part.reset_index(drop=True)
            figs[f"fairness-{group}"] = figure(plots.plot_fairness(audit, group))
        now = fairness.audit(
            scores,
            pd.DataFrame(
                np.nan, index=scores.index, columns=["random_finding", "targeted_finding"]
            ),
            high_tiers=high_tiers,
        )
        tabs["shares-now"] = now[
            [
                "group",
                "value",
                "entities",
                "population_share",
                "high_tier_share",
                "high_tier_ratio",
                "mean_probability",
                "probability_ratio",
            ]
        ]
    else:
        notes.append(
            "Finding rates, reliability and fairness need the event tables "
            "(--data): they were not given."
        )

    # migration since the last run
    drift = None
    if previous is not None:
        drift = monitoring.compare(previous, scores)
        tabs["migration"] = drift.migration.rename_axis(index="tier before").reset_index()
        tabs["migration"].columns = [str(c) for c in tabs["migration"].columns]
        figs["migration"] = figure(plots.plot_migration(drift.migration))
    else:
        notes.append("Tier migration: no previous run was given (--previous).")

    # inspection
    frequency = None
    try:
        frequency = inspection.frequency_table(scores, policy)
        tabs["frequency"] = frequency.drop(columns=["min_per_entity"])
        figs["frequency"] = figure(plots.plot_frequency(frequency))
    except (KeyError, ValueError) as exc:
        notes.append(f"Frequency table: {exc}")
    plan_facts = {}
    if plan is not None:
        tabs["plan-tiers"], tabs["plan-regions"], plan_facts = _plan_tables(
            plan, frequency, register
        )
    else:
        notes.append("Inspection plan: none was given (--plan).")

    from creditrisk._version import __version__

    html = render(
        "report.html.j2",
        title=title,
        version=__version__,
        facts=facts,
        notes=notes,
        figs=figs,
        t={k: table(v, _formats(v, policy.tiers), k) for k, v in tabs.items()},
        drift=drift,
        plan_facts=plan_facts,
        groups=fairness.GROUPS,
        flagged=(
            pd.concat([tabs[f"fairness-{g}"].assign(group=g) for g in fairness.GROUPS]).query(
                "flag != ''"
            )
            if outcome_day is not None
            else None
        ),
        outcome_day=outcome_day,
        horizon=horizon_days(horizon),
    )
    return Report(html, tabs, facts, notes, outcome_day, list(figs))
