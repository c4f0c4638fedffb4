"""Plots for notebooks and the report: one matplotlib style, each a function returning
a Figure.

Every function takes the DataFrame that a table function made (so the picture shows
exactly the numbers printed beside it) and draws under :data:`STYLE`; tiers are coloured
from green (A, low risk) to red (the highest tier) by :func:`tier_colours`. Nothing is
shown or saved here, and pyplot keeps none of the figures: each is a
``matplotlib.figure.Figure`` that belongs to the caller alone, so a notebook shows it
once, as the cell's value (pyplot neither shows it again at the end of the cell nor
keeps it open); ``fig.savefig(...)`` writes it.

Examples
--------
>>> import pandas as pd
>>> s = pd.DataFrame({"tier": pd.Categorical(list("AABD"), categories=list("ABCD")),
...                   "override": ["", "", "", "serious_illegal_list"]})
>>> fig = plot_tiers(s)
>>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
['A', 'B', 'C', 'D']
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from cycler import cycler

from creditrisk._figures import new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "STYLE",
    "plot_cycles",
    "plot_fairness",
    "plot_finding_rates",
    "plot_frequency",
    "plot_migration",
    "plot_reasons",
    "plot_reliability",
    "plot_shap_summary",
    "plot_tiers",
    "style",
    "tier_colours",
]

#: matplotlib settings every creditrisk figure is drawn under
STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=["#1f5f8b", "#e07b39", "#6a994e", "#8e5572", "#6c757d"]),
}
RANDOM_COLOUR, TARGETED_COLOUR, FLAG_COLOUR = "#1f5f8b", "#e07b39", "#c62828"


def _figure(**kwargs) -> Figure:
    """A new Figure under the settings in force that pyplot does not track."""
    return new_figure(**kwargs)


@contextmanager
def style() -> Iterator[None]:
    """Draw under :data:`STYLE`: a ``matplotlib.rc_context`` for a ``with`` block.

    ``style()`` is a context manager (:func:`contextlib.contextmanager`): it yields
    once, inside the block.

    Yields
    ------
    None
        Inside its ``with`` block, the figures made and drawn use :data:`STYLE`'s
        settings; after it, the settings are as they were.

    Examples
    --------
    >>> import matplotlib
    >>> before = matplotlib.rcParams["axes.titlelocation"]
    >>> with style():
    ...     matplotlib.rcParams["axes.titlelocation"]
    'left'
    >>> matplotlib.rcParams["axes.titlelocation"] == before  # restored after the block
    True
    """
    import matplotlib

    with matplotlib.rc_context(STYLE):
        yield


def tier_colours(tiers: Sequence[str]) -> list[str]:
    """One colour per tier, green for the lowest risk to red for the highest.

    Parameters
    ----------
    tiers : sequence of str
        The tiers from the lowest risk to the highest (only their number counts).

    Returns
    -------
    list of str
        One hex colour per tier, from the ``RdYlGn_r`` colour map.

    Examples
    --------
    >>> tier_colours(["A", "B", "C", "D"])
    ['#199750', '#c7e77f', '#fece7c', '#d62f27']
    """
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    n = len(tiers)
    cmap = colormaps["RdYlGn_r"]
    return [to_hex(cmap(0.1 + 0.8 * i / (n - 1) if n > 1 else 0.1)) for i in range(n)]


def _tier_names(tier: pd.Series) -> list[str]:
    if isinstance(tier.dtype, pd.CategoricalDtype):
        return [str(t) for t in tier.cat.categories]
    return sorted(tier.astype(str).unique())


def plot_tiers(scores: pd.DataFrame) -> Figure:
    """The entities per tier, by score and by override rule, each labelled with its share.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per entity: ``tier`` and, when present, ``override`` (empty when no
        override rule applied), as :meth:`creditrisk.RiskModel.classify` gives them.

    Returns
    -------
    matplotlib.figure.Figure
        One bar chart: per tier, the entities placed there by their score, topped by
        (hatched) those an override rule moved there. Pyplot does not track it.

    Examples
    --------
    >>> s = pd.DataFrame({"tier": pd.Categorical(list("AABD"), categories=list("ABCD")),
    ...                   "override": ["", "", "", "serious_illegal_list"]})
    >>> fig = plot_tiers(s)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['50.0%', '25.0%', '0.0%', '25.0%']
    """
    names = _tier_names(scores["tier"])
    tier = scores["tier"].astype(str)
    overridden = (
        scores["override"].astype(str).fillna("").ne("").to_numpy()
        if "override" in scores
        else np.zeros(len(scores), dtype=bool)
    )
    by_score = tier[~overridden].value_counts().reindex(names, fill_value=0)
    by_rule = tier[overridden].value_counts().reindex(names, fill_value=0)
    with style():
        fig = _figure()
        ax = fig.subplots()
        x = np.arange(len(names))
        ax.bar(x, by_score, color=tier_colours(names), label="by score")
        ax.bar(
            x,
            by_rule,
            bottom=by_score,
            color="none",
            edgecolor="#333333",
            hatch="///",
            label="by override rule",
        )
        total = max(len(scores), 1)
        for i, n in enumerate(by_score + by_rule):
            ax.annotate(
                f"{n / total:.1%}",
                (i, n),
                ha="center",
                va="bottom",
                xytext=(0, 2),
                textcoords="offset points",
            )
        ax.set_ylim(0, max(int((by_score + by_rule).max()), 1) * 1.15)
        ax.set_xticks(x, names)
        ax.set_xlabel("tier")
        ax.set_ylabel("entities")
        ax.set_title("Tier distribution")
        ax.legend()
        fig.tight_layout()
    return fig


def plot_finding_rates(table: pd.DataFrame) -> Figure:
    """Finding rate per tier on random and on targeted inspections, with intervals.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`creditrisk.report.fairness.selection_table`: per tier (and an ``all``
        row), ``random_finding_rate``, ``random_low``, ``random_high`` and the same for
        ``targeted``.

    Returns
    -------
    matplotlib.figure.Figure
        Paired bars per tier, random and targeted, with their intervals as error bars;
        the ``all`` row's random finding rate is the dashed line. Pyplot does not
        track it.

    Examples
    --------
    >>> t = pd.DataFrame({"tier": ["A", "B", "all"],
    ...                   "random_finding_rate": [0.1, 0.3, 0.2],
    ...                   "random_low": [0.05, 0.2, 0.15], "random_high": [0.2, 0.4, 0.25],
    ...                   "targeted_finding_rate": [0.2, 0.5, 0.4],
    ...                   "targeted_low": [0.1, 0.4, 0.3], "targeted_high": [0.3, 0.6, 0.5]})
    >>> fig = plot_finding_rates(t)
    >>> [round(float(bar.get_height()), 2) for bar in fig.axes[0].patches[:2]]
    [0.1, 0.3]
    """
    from matplotlib.ticker import PercentFormatter

    per_tier = table[table["tier"] != "all"]
    overall = table[table["tier"] == "all"]
    x = np.arange(len(per_tier))
    with style():
        fig = _figure()
        ax = fig.subplots()
        for shift, kind, colour in (
            (-0.2, "random", RANDOM_COLOUR),
            (0.2, "targeted", TARGETED_COLOUR),
        ):
            rate = per_tier[f"{kind}_finding_rate"].to_numpy(dtype=float)
            low = per_tier[f"{kind}_low"].to_numpy(dtype=float)
            high = per_tier[f"{kind}_high"].to_numpy(dtype=float)
            err = np.nan_to_num(np.vstack([rate - low, high - rate]))
            ax.bar(
                x + shift,
                np.nan_to_num(rate),
                0.4,
                yerr=err,
                capsize=3,
                color=colour,
                label=f"{kind} inspections",
            )
        if len(overall):
            ax.axhline(
                float(overall["random_finding_rate"].iloc[0]),
                color="#333333",
                linestyle="--",
                linewidth=1,
                label="population, random",
            )
        ax.set_xticks(x, per_tier["tier"].astype(str))
        ax.set_xlabel("tier")
        ax.set_ylabel("finding rate")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title("Finding rate by tier")
        ax.legend()
        fig.tight_layout()
    return fig


def plot_reliability(y, probability, bins: int = 10) -> Figure:
    """Reliability curve: :func:`creditrisk.model.evaluation.plot_reliability` in this style.

    Parameters
    ----------
    y : array-like of float
        Observed outcome per entity, 1 or 0; NaN (no random inspection) is left out.
    probability : array-like of float
        The model's probability per entity, in the order of ``y``.
    bins : int, default 10
        Number of bins, of equal count, along the probability.

    Returns
    -------
    matplotlib.figure.Figure
        Observed finding rate against mean predicted probability per bin, beside the
        diagonal of perfect calibration. Pyplot does not track it.

    Examples
    --------
    >>> rng = np.random.default_rng(0); p = rng.random(500)
    >>> fig = plot_reliability(rng.random(500) < p, p, bins=5)
    >>> fig.axes[0].get_title(loc="left"), len(fig.axes[0].lines[1].get_xdata())
    ('Reliability', 5)
    """
    from creditrisk.model.evaluation import plot_reliability as reliability

    with style():
        fig = _figure(figsize=(4.6, 4.2))
        ax = fig.subplots()
        reliability(y, probability, bins=bins, ax=ax)
        ax.grid(True, axis="both", alpha=0.3)
        fig.tight_layout()
    return fig


def plot_shap_summary(model, X: pd.DataFrame, max_display: int = 12) -> Figure:
    """The shap beeswarm summary of exact SHAP values over ``X``, in this style.

    Parameters
    ----------
    model : creditrisk.RiskModel
        A fitted model; the plot is its :meth:`~creditrisk.RiskModel.summary_plot`.
    X : pandas.DataFrame
        Features, one row per entity (``entity_id``, ``as_of`` and the model's
        features), as :func:`creditrisk.build_features` gives them.
    max_display : int, default 12
        Number of features shown, those of the largest mean absolute SHAP value.

    Returns
    -------
    matplotlib.figure.Figure
        One row of dots per feature, one dot per entity at its SHAP value (log-odds),
        coloured by the feature's value. Pyplot does not track it.

    Examples
    --------
    >>> import creditrisk as cr
    >>> tables = cr.load_sample()
    >>> X = cr.build_features(tables, cr.spine(tables, as_of="2025-01-01").head(100))
    >>> model = cr.RiskModel.load(cr.sample_model_path())
    >>> fig = plot_shap_summary(model, X, max_display=5)
    >>> len(fig.axes[0].get_yticklabels())
    5
    """
    with style():
        fig = model.summary_plot(X, max_display=max_display)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:  # shap draws through pyplot: let it forget the figure
            pyplot.close(fig)
        fig.axes[0].set_title("SHAP summary (log-odds)")
        fig.set_size_inches(7.0, 0.32 * max_display + 1.6)
        fig.tight_layout()
    return fig


def plot_reasons(table: pd.DataFrame, top: int = 5) -> Figure:
    """Per tier, the share of entities with each of the most frequent reasons.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`creditrisk.model.evaluation.reason_table`: per tier, its reasons
        (``feature``) from the most frequent down, with their ``share`` of the tier.
    top : int, default 5
        Number of reasons shown per tier, the first ones of ``table``.

    Returns
    -------
    matplotlib.figure.Figure
        One horizontal bar chart per tier present in ``table``, side by side, in the
        tier's colour. Pyplot does not track it.

    Examples
    --------
    >>> t = pd.DataFrame({"tier": ["C", "C", "D"],
    ...                   "feature": ["late_reports", "penalties_3y", "on_abnormal_list"],
    ...                   "share": [0.6, 0.3, 0.9]})
    >>> fig = plot_reasons(t)
    >>> [ax.get_title(loc="left") for ax in fig.axes]
    ['tier C', 'tier D']
    """
    from matplotlib.ticker import PercentFormatter

    names = _tier_names(table["tier"]) if len(table) else []
    names = [t for t in names if (table["tier"].astype(str) == t).any()] or ["(none)"]
    colours = dict(
        zip(
            _tier_names(table["tier"]) if len(table) else [],
            tier_colours(_tier_names(table["tier"])) if len(table) else [],
            strict=True,
        )
    )
    with style():
        fig = _figure(figsize=(2.6 * len(names) + 1.5, 2.8))
        axes = fig.subplots(1, len(names), sharex=True, squeeze=False)
        for ax, tier in zip(axes[0], names, strict=True):
            part = table[table["tier"].astype(str) == tier].head(top).iloc[::-1]
            ax.barh(part["feature"].astype(str), part["share"], color=colours.get(tier, "#999"))
            ax.set_title(f"tier {tier}")
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
            ax.grid(True, axis="x", alpha=0.3)
            ax.grid(False, axis="y")
            ax.tick_params(axis="y", labelsize=7)
        fig.supxlabel("share of the tier with this reason", fontsize=9)
        fig.tight_layout()
    return fig


def plot_migration(matrix: pd.DataFrame) -> Figure:
    """Tier migration heatmap: entities by their earlier tier and their later one.

    Parameters
    ----------
    matrix : pandas.DataFrame
        Counts of entities, rows the earlier tier and columns the later one, as
        :attr:`creditrisk.jobs.monitoring.Comparison.migration` gives them.

    Returns
    -------
    matplotlib.figure.Figure
        The matrix as a heatmap (colour on a log scale), each cell labelled with its
        count. Pyplot does not track it.

    Examples
    --------
    >>> m = pd.DataFrame([[90, 10], [5, 45]], index=["A", "B"], columns=["A", "B"])
    >>> fig = plot_migration(m)
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['90', '10', '5', '45']
    """
    counts = matrix.to_numpy(dtype=float)
    with style():
        fig = _figure(figsize=(4.6, 3.8))
        ax = fig.subplots()
        ax.grid(False)
        shown = np.log1p(counts)
        ax.imshow(shown, cmap="Blues", aspect="auto")
        top = shown.max() if shown.size else 0
        for (i, j), n in np.ndenumerate(counts):
            ax.text(
                j,
                i,
                f"{int(n):,}",
                ha="center",
                va="center",
                fontsize=8,
                color="white" if top and shown[i, j] > 0.6 * top else "black",
            )
        ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns])
        ax.set_yticks(range(matrix.shape[0]), [str(r) for r in matrix.index])
        ax.set_xlabel("tier now")
        ax.set_ylabel("tier at the last run")
        ax.set_title("Tier migration")
        fig.tight_layout()
    return fig


def plot_frequency(table: pd.DataFrame) -> Figure:
    """Expected inspections and findings per tier, in this style.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`creditrisk.inspection.frequency_table`: ``tier``,
        ``expected_inspections`` and ``expected_findings`` per row (summed per tier).

    Returns
    -------
    matplotlib.figure.Figure
        :func:`creditrisk.inspection.plot_frequency_table`'s paired bars per tier,
        drawn under :data:`STYLE` with a title. Pyplot does not track it.

    Examples
    --------
    >>> t = pd.DataFrame({"tier": ["A", "B", "B"], "expected_inspections": [10.0, 4.0, 1.0],
    ...                   "expected_findings": [1.0, 1.5, 0.5]})
    >>> fig = plot_frequency(t)
    >>> [float(bar.get_height()) for bar in fig.axes[0].containers[0]]
    [10.0, 5.0]
    """
    from creditrisk.inspection import plot_frequency_table

    with style():
        fig = plot_frequency_table(table)
        fig.axes[0].set_title("Inspections per period by tier")
        fig.tight_layout()
    return fig


def plot_fairness(table: pd.DataFrame, group: str | None = None) -> Figure:
    """Per group value, the observed random finding rate against the rate its tiers imply.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~creditrisk.report.fairness.group_table` or
        :func:`~creditrisk.report.fairness.audit`: per ``group`` and ``value``, the
        ``random_finding_rate`` with ``random_low`` and ``random_high``, the
        ``implied_rate`` and the ``flag`` (empty when not flagged).
    group : str, optional
        The attribute drawn (``"region"``, say) when ``table`` holds several; by
        default the first one in ``table``.

    Returns
    -------
    matplotlib.figure.Figure
        One row per value of the group: the observed rate as a dot on its 95% interval
        (red when flagged) and the implied rate as a black tick. Pyplot does not
        track it.

    Examples
    --------
    >>> t = pd.DataFrame({"group": "region", "value": ["north", "south"],
    ...                   "random_finding_rate": [0.10, 0.45], "random_low": [0.05, 0.35],
    ...                   "random_high": [0.18, 0.55], "implied_rate": [0.12, 0.25],
    ...                   "flag": ["", "under-tiered"]})
    >>> fig = plot_fairness(t)
    >>> fig.axes[0].get_title(loc="left")
    'Findings against tiers by region'
    """
    from matplotlib.ticker import PercentFormatter

    if group is None and len(table):
        group = str(table["group"].iloc[0])
    part = table[table["group"] == group] if len(table) else table
    y = np.arange(len(part))
    with style():
        fig = _figure(figsize=(6.0, 0.28 * len(part) + 1.8))
        ax = fig.subplots()
        rate = part["random_finding_rate"].to_numpy(dtype=float)
        low = part["random_low"].to_numpy(dtype=float)
        high = part["random_high"].to_numpy(dtype=float)
        flagged = part["flag"].astype(str).ne("").to_numpy()
        colours = np.where(flagged, FLAG_COLOUR, RANDOM_COLOUR)
        ax.hlines(y, np.nan_to_num(low), np.nan_to_num(high), colors=colours, linewidth=2)
        ax.scatter(rate, y, color=colours, zorder=3, label="observed (random inspections)")
        ax.scatter(
            part["implied_rate"],
            y,
            marker="|",
            s=120,
            color="#333333",
            zorder=4,
            label="implied by the tiers",
        )
        ax.set_yticks(y, part["value"].astype(str))
        ax.invert_yaxis()
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
        ax.grid(True, axis="x", alpha=0.3)
        ax.grid(False, axis="y")
        ax.set_xlabel("finding rate")
        ax.set_title(f"Findings against tiers by {str(group).replace('_', ' ')}")
        ax.legend(
            loc="upper center",
            bbox_to_anchor=(0.5, -0.62 / (fig.get_figheight() - 1.0)),
            ncol=2,
            fontsize=8,
        )
        fig.tight_layout()
    return fig


def plot_cycles(table: pd.DataFrame, estimator: str = "hajek") -> Figure:
    """The closed loop over its cycles, per regime: findings per inspection, and how far
    the naive and the weighted estimates of the population finding rate fall from it.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`creditrisk.synth.run_cycles` or :func:`creditrisk.synth.compare_regimes`:
        ``regime``, ``as_of``, ``findings_per_100``, ``naive_error`` and the
        estimator's ``<estimator>_error``.
    estimator : {"hajek", "ht"}, default "hajek"
        The weighted estimate to show (``ht``: Horvitz-Thompson).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels over the cycles' dates, one line per regime: findings per 100
        inspections; the error of the weighted estimate (solid) and of the naive one
        (dashed, same colour) against the true rate, in percentage points. Pyplot does
        not track it.

    Examples
    --------
    >>> t = pd.DataFrame({"regime": ["uniform"] * 2 + ["tiered"] * 2,
    ...     "as_of": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2),
    ...     "findings_per_100": [18.0, 19.0, 25.0, 26.0], "naive_error": [0, 0, 0.06, 0.07],
    ...     "hajek_error": [0.0, 0.01, -0.01, 0.0]})
    >>> fig = plot_cycles(t)
    >>> len(fig.axes), [line.get_label() for line in fig.axes[0].lines]
    (2, ['uniform', 'tiered'])
    """
    if estimator not in ("hajek", "ht"):
        raise ValueError(f"estimator must be 'hajek' or 'ht', not {estimator!r}")
    weighted = "Hajek" if estimator == "hajek" else "Horvitz-Thompson"
    with style():
        fig = _figure(figsize=(9.0, 3.6))
        found, error = fig.subplots(1, 2)
        colours = STYLE["axes.prop_cycle"].by_key()["color"]
        for k, (regime, part) in enumerate(table.groupby("regime", sort=False)):
            colour = colours[k % len(colours)]
            when = pd.to_datetime(part["as_of"])
            found.plot(when, part["findings_per_100"], color=colour, label=str(regime))
            error.plot(when, 100 * part[f"{estimator}_error"], color=colour, label=str(regime))
            error.plot(when, 100 * part["naive_error"], color=colour, linestyle="--")
        error.axhline(0, color="#333333", linewidth=0.8)
        found.set_ylabel("findings per 100 inspections")
        found.set_title("Findings per inspection")
        error.set_ylabel("estimate - true rate (points)")
        error.set_title(f"Population rate: {weighted} (solid), naive (dashed)")
        found.legend()
        fig.autofmt_xdate()
        fig.tight_layout()
    return fig
