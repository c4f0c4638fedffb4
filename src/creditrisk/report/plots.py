"""Plots for notebooks and the report: one matplotlib style, each a function returning
a Figure.

Every function takes the DataFrame that a table function made (so the picture shows
exactly the numbers printed beside it) and draws under :data:`STYLE`; tiers are coloured
from green (A, low risk) to red (the highest tier) by :func:`tier_colours`. Nothing is
shown or saved here: ``fig.savefig(...)``, or let the notebook display it.

Example
-------
>>> import matplotlib; matplotlib.use("Agg")
>>> import pandas as pd
>>> s = pd.DataFrame({"tier": pd.Categorical(list("AABD"), categories=list("ABCD")),
...                   "override": ["", "", "", "serious_illegal_list"]})
>>> fig = plot_tiers(s)
>>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
['A', 'B', 'C', 'D']
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from cycler import cycler

__all__ = [
    "STYLE",
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


@contextmanager
def style():
    """Draw under :data:`STYLE` (a ``matplotlib.rc_context``).

    Example
    -------
    >>> import matplotlib.pyplot as plt
    >>> with style():
    ...     plt.rcParams["axes.titlelocation"]
    'left'
    """
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        yield


def tier_colours(tiers: Sequence[str]) -> list[str]:
    """One colour per tier, green for the lowest risk to red for the highest.

    Example
    -------
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


def plot_tiers(scores: pd.DataFrame):
    """Entities per tier, split into those placed by their score and those moved there
    by an override rule; each bar labelled with its share.

    ``scores``: ``tier`` and, when present, ``override`` (empty when none applied).
    """
    import matplotlib.pyplot as plt

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
        fig, ax = plt.subplots()
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


def plot_finding_rates(table: pd.DataFrame):
    """Finding rate per tier on random and on targeted inspections, with intervals.

    ``table``: :func:`creditrisk.report.fairness.selection_table` (the ``all`` row is drawn as a
    line: the population's random finding rate).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    per_tier = table[table["tier"] != "all"]
    overall = table[table["tier"] == "all"]
    x = np.arange(len(per_tier))
    with style():
        fig, ax = plt.subplots()
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


def plot_reliability(y, probability, bins: int = 10):
    """Reliability curve: :func:`creditrisk.model.evaluation.plot_reliability` in this style."""
    import matplotlib.pyplot as plt

    from creditrisk.model.evaluation import plot_reliability as reliability

    with style():
        fig, ax = plt.subplots(figsize=(4.6, 4.2))
        reliability(y, probability, bins=bins, ax=ax)
        ax.grid(True, axis="both", alpha=0.3)
        fig.tight_layout()
    return fig


def plot_shap_summary(model, X: pd.DataFrame, max_display: int = 12):
    """The shap package's beeswarm summary of exact SHAP values over ``X``
    (:meth:`creditrisk.RiskModel.summary_plot`) in this style."""
    with style():
        fig = model.summary_plot(X, max_display=max_display)
        fig.axes[0].set_title("SHAP summary (log-odds)")
        fig.set_size_inches(7.0, 0.32 * max_display + 1.6)
        fig.tight_layout()
    return fig


def plot_reasons(table: pd.DataFrame, top: int = 5):
    """Per tier, the share of entities with each of the most frequent reasons.

    ``table``: :func:`creditrisk.model.evaluation.reason_table`.
    """
    import matplotlib.pyplot as plt
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
        fig, axes = plt.subplots(
            1, len(names), figsize=(2.6 * len(names) + 1.5, 2.8), sharex=True, squeeze=False
        )
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


def plot_migration(matrix: pd.DataFrame):
    """Tier migration heatmap: rows the earlier tier, columns the later one, each cell
    the count of entities (:attr:`creditrisk.jobs.monitoring.Comparison.migration`)."""
    import matplotlib.pyplot as plt

    counts = matrix.to_numpy(dtype=float)
    with style():
        fig, ax = plt.subplots(figsize=(4.6, 3.8))
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


def plot_frequency(table: pd.DataFrame):
    """Expected inspections and findings per tier
    (:func:`creditrisk.inspection.plot_frequency_table`) in this style."""
    from creditrisk.inspection import plot_frequency_table

    with style():
        fig = plot_frequency_table(table)
        fig.axes[0].set_title("Inspections per period by tier")
        fig.tight_layout()
    return fig


def plot_fairness(table: pd.DataFrame, group: str | None = None):
    """Observed random finding rate (with its interval) against the rate the group's
    tiers imply, one row per group value; flagged groups in red.

    ``table``: :func:`~creditrisk.report.fairness.group_table` or
    :func:`~creditrisk.report.fairness.audit`
    (then ``group`` picks the attribute, by default the first).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    if group is None and len(table):
        group = str(table["group"].iloc[0])
    part = table[table["group"] == group] if len(table) else table
    y = np.arange(len(part))
    with style():
        fig, ax = plt.subplots(figsize=(6.0, 0.28 * len(part) + 1.8))
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
