"""Plots (creditrisk.report.plots): each draws the numbers of the table it is given, under STYLE.

Bar heights, points, cells and tick labels are read back from the Figure and compared
with the table (or a direct computation on the scores). Every plotting function returns a
Figure that pyplot does not track: the call opens no pyplot figure and leaves none open,
so a notebook shows the Figure once, as the cell's value (tests/test_notebooks.py runs
one to see).
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from _groups import constructed
from matplotlib.colors import to_rgb, to_rgba
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from sklearn.calibration import calibration_curve

import creditrisk as cr
from creditrisk import inspection
from creditrisk.jobs import monitoring
from creditrisk.model import evaluation
from creditrisk.report import fairness, html, plots

AS_OF = "2024-07-01"
TIERS = ["A", "B", "C", "D"]


@pytest.fixture(scope="module")
def run(model) -> dict:
    tables = cr.load_sample()
    scores = cr.scoring.score_chunk(tables, model, AS_OF)
    before = cr.scoring.score_chunk(tables, model, "2024-01-01", top_k=0)
    return {
        "tables": tables,
        "scores": scores,
        "before": before,
        "outcomes": fairness.outcomes(tables, scores),
    }


@pytest.fixture
def drawn():
    """Checks each figure a test makes: a Figure of its own that pyplot does not track
    (pyplot's figures are as they were before the test), drawn without changing the
    global settings."""
    before = plt.get_fignums()
    location = plt.rcParams["axes.titlelocation"]

    def check(fig):
        assert isinstance(fig, Figure)
        assert plt.get_fignums() == before  # no pyplot figure opened, or left open
        assert fig.canvas.manager is None  # no pyplot window or notebook display of it
        # the style applies while drawing only: global settings are as they were
        assert plt.rcParams["axes.titlelocation"] == location
        return fig

    yield check
    assert plt.get_fignums() == before


def bars(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def heights(container: BarContainer) -> np.ndarray:
    return np.array([p.get_height() for p in container.patches])


def ticks(labels) -> list[str]:
    return [t.get_text() for t in labels]


def styled(ax, title: str) -> None:
    """Drawn under STYLE: the title on the left in bold, no top or right spine."""
    assert ax.get_title(loc="left") == title
    assert ax.get_title(loc="center") == ""
    assert ax.title.get_text() == ""
    left = ax._left_title
    assert left.get_fontweight() in ("bold", 700)
    assert left.get_fontsize() == pytest.approx(10)
    assert not ax.spines["top"].get_visible()
    assert not ax.spines["right"].get_visible()


def rendered(fig) -> None:
    """The figure draws without error to a non-empty canvas."""
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    assert width > 0 and height > 0


# -- tier_colours ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 8])
def test_tier_colours_are_distinct_and_run_green_to_red(n) -> None:
    colours = plots.tier_colours([f"T{i}" for i in range(n)])
    assert len(colours) == n
    assert len(set(colours)) == n
    rgb = np.array([to_rgb(c) for c in colours])
    greenness = rgb[:, 1] - rgb[:, 0]  # green minus red
    assert np.argmax(greenness) == 0  # the lowest tier is the greenest
    assert np.argmin(greenness) == n - 1  # the highest the reddest
    assert greenness[0] > 0 > greenness[-1]


def test_tier_colours_of_one_tier_is_green() -> None:
    (colour,) = plots.tier_colours(["A"])
    r, g, _ = to_rgb(colour)
    assert g > r


def test_style_is_a_context() -> None:
    location = plt.rcParams["axes.titlelocation"]
    with plots.style():
        for key in ("axes.titlelocation", "axes.titleweight", "axes.spines.top"):
            assert plt.rcParams[key] == plots.STYLE[key]
    assert plt.rcParams["axes.titlelocation"] == location


# -- the plots ----------------------------------------------------------------------------
def test_plot_tiers_draws_the_counts(run, drawn) -> None:
    scores = run["scores"]
    fig = drawn(plots.plot_tiers(scores))
    ax = fig.axes[0]
    styled(ax, "Tier distribution")
    assert ticks(ax.get_xticklabels()) == TIERS
    by_score, by_rule = bars(ax)
    tier = scores["tier"].astype(str)
    moved = scores["override"].astype(str).ne("")
    want_score = tier[~moved].value_counts().reindex(TIERS, fill_value=0).to_numpy()
    want_rule = tier[moved].value_counts().reindex(TIERS, fill_value=0).to_numpy()
    assert moved.any() and (~moved).any()
    np.testing.assert_array_equal(heights(by_score), want_score)
    np.testing.assert_array_equal(heights(by_rule), want_rule)
    np.testing.assert_array_equal([p.get_y() for p in by_rule.patches], want_score)
    colours = [to_rgba(c) for c in plots.tier_colours(TIERS)]
    assert [p.get_facecolor() for p in by_score.patches] == colours
    shares = tier.value_counts(normalize=True).reindex(TIERS, fill_value=0)
    assert [t.get_text() for t in ax.texts] == [f"{s:.1%}" for s in shares]
    rendered(fig)


def test_plot_tiers_without_override_column(drawn) -> None:
    scores = pd.DataFrame({"tier": pd.Categorical(list("AADDD"), categories=TIERS)})
    ax = drawn(plots.plot_tiers(scores)).axes[0]
    by_score, by_rule = bars(ax)
    np.testing.assert_array_equal(heights(by_score), [2, 0, 0, 3])
    np.testing.assert_array_equal(heights(by_rule), [0, 0, 0, 0])


def test_plot_finding_rates_draws_the_selection_table(run, drawn) -> None:
    table = fairness.selection_table(run["scores"], run["outcomes"])
    fig = drawn(plots.plot_finding_rates(table))
    ax = fig.axes[0]
    styled(ax, "Finding rate by tier")
    assert ticks(ax.get_xticklabels()) == TIERS
    random, targeted = bars(ax)
    per_tier = table[table["tier"] != "all"]
    np.testing.assert_allclose(heights(random), per_tier["random_finding_rate"].fillna(0))
    np.testing.assert_allclose(heights(targeted), per_tier["targeted_finding_rate"].fillna(0))
    assert random.patches[0].get_facecolor() == to_rgba(plots.RANDOM_COLOUR)
    assert targeted.patches[0].get_facecolor() == to_rgba(plots.TARGETED_COLOUR)
    # the population's random rate is the dashed line
    overall = table.loc[table["tier"] == "all", "random_finding_rate"].item()
    levels = [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--"]
    assert levels == [pytest.approx(overall)]
    rendered(fig)


def test_plot_reliability_draws_the_binned_rates(run, drawn) -> None:
    y, p = run["outcomes"]["random_finding"], run["scores"]["probability"]
    fig = drawn(plots.plot_reliability(y, p, bins=10))
    ax = fig.axes[0]
    styled(ax, "Reliability")
    known = y.notna()
    observed, predicted = calibration_curve(y[known], p[known], n_bins=10, strategy="quantile")
    (curve,) = [line for line in ax.lines if line.get_label() == "model"]
    np.testing.assert_allclose(curve.get_xdata(), predicted)
    np.testing.assert_allclose(curve.get_ydata(), observed)
    rendered(fig)


def test_plot_shap_summary_shows_the_top_features(run, model, drawn) -> None:
    X = run["scores"].head(400)
    fig = drawn(plots.plot_shap_summary(model, X, max_display=8))
    ax = fig.axes[0]
    styled(ax, "SHAP summary (log-odds)")
    top = model.importance(X)["mean_abs_shap"]
    shown = ticks(ax.get_yticklabels())[::-1]  # shap lists the largest at the top
    assert len(shown) == 8
    assert shown == top.index[:8].tolist()
    points = [c for c in ax.collections if len(c.get_offsets())]
    assert sum(len(c.get_offsets()) for c in points) >= 8 * len(X)
    rendered(fig)


def test_plot_reasons_draws_the_shares(run, drawn) -> None:
    table = evaluation.reason_table(run["scores"], top=4)
    fig = drawn(plots.plot_reasons(table, top=4))
    present = [t for t in TIERS if (table["tier"].astype(str) == t).any()]
    assert len(present) >= 2
    assert len(fig.axes) == len(present)
    colours = dict(zip(TIERS, plots.tier_colours(TIERS), strict=True))
    for ax, tier in zip(fig.axes, present, strict=True):
        styled(ax, f"tier {tier}")
        part = table[table["tier"].astype(str) == tier].iloc[::-1]
        (container,) = bars(ax)
        widths = [p.get_width() for p in container.patches]
        np.testing.assert_allclose(widths, part["share"])
        assert ticks(ax.get_yticklabels()) == part["feature"].astype(str).tolist()
        assert container.patches[0].get_facecolor() == to_rgba(colours[tier])
    rendered(fig)


def test_plot_reasons_of_an_empty_table(drawn) -> None:
    empty = evaluation.reason_table(pd.DataFrame({"tier": pd.Categorical([], categories=TIERS)}))
    fig = drawn(plots.plot_reasons(empty))
    assert len(fig.axes) == 1
    assert not bars(fig.axes[0]) or not len(bars(fig.axes[0])[0].patches)
    rendered(fig)


def test_plot_migration_draws_the_matrix(run, drawn) -> None:
    matrix = monitoring.tier_migration(run["before"], run["scores"])
    fig = drawn(plots.plot_migration(matrix))
    ax = fig.axes[0]
    styled(ax, "Tier migration")
    (image,) = ax.images
    np.testing.assert_allclose(image.get_array(), np.log1p(matrix.to_numpy(dtype=float)))
    assert ticks(ax.get_xticklabels()) == TIERS
    assert ticks(ax.get_yticklabels()) == TIERS
    cells = {(t.get_position()[1], t.get_position()[0]): t.get_text() for t in ax.texts}
    for (i, j), n in np.ndenumerate(matrix.to_numpy()):
        assert cells[(i, j)] == f"{n:,}"
    rendered(fig)


def test_plot_frequency_draws_the_expected_counts(run, model, drawn) -> None:
    table = inspection.frequency_table(run["scores"], model.policy_)
    fig = drawn(plots.plot_frequency(table))
    ax = fig.axes[0]
    styled(ax, "Inspections per period by tier")
    per_tier = table.groupby("tier", observed=True)[
        ["expected_inspections", "expected_findings"]
    ].sum()
    assert ticks(ax.get_xticklabels()) == [str(t) for t in per_tier.index]
    inspections, findings = bars(ax)
    np.testing.assert_allclose(heights(inspections), per_tier["expected_inspections"])
    np.testing.assert_allclose(heights(findings), per_tier["expected_findings"])
    rendered(fig)


def flagged_table() -> pd.DataFrame:
    """group_table of three groups: x over-tiered, y under-tiered, w calibrated."""
    scores, found = constructed(
        {"w": [("B", 60, 30)], "x": [("D", 100, 10)], "y": [("D", 100, 90), ("A", 100, 0)]}
    )
    return fairness.group_table(scores, found, "region")


def test_plot_fairness_draws_flagged_groups_in_the_flag_colour(drawn) -> None:
    table = flagged_table()
    assert table["flag"].tolist() == ["", "over-tiered", "under-tiered"]
    fig = drawn(plots.plot_fairness(table))
    ax = fig.axes[0]
    styled(ax, "Findings against tiers by region")
    assert ticks(ax.get_yticklabels()) == table["value"].tolist()
    observed, implied = [c for c in ax.collections if c.get_label().startswith(("obs", "impl"))]
    np.testing.assert_allclose(observed.get_offsets()[:, 0], table["random_finding_rate"])
    np.testing.assert_allclose(observed.get_offsets()[:, 1], np.arange(len(table)))
    np.testing.assert_allclose(implied.get_offsets()[:, 0], table["implied_rate"])
    flag, plain = to_rgba(plots.FLAG_COLOUR), to_rgba(plots.RANDOM_COLOUR)
    faces = [tuple(c) for c in observed.get_facecolors()]
    assert faces == [plain, flag, flag]
    (intervals,) = [c for c in ax.collections if c not in (observed, implied)]
    segments = intervals.get_segments()
    np.testing.assert_allclose([s[0][0] for s in segments], table["random_low"])
    np.testing.assert_allclose([s[1][0] for s in segments], table["random_high"])
    assert [tuple(c) for c in intervals.get_colors()] == [plain, flag, flag]
    rendered(fig)


def test_plot_fairness_picks_the_group_of_an_audit(run, drawn) -> None:
    scores = run["scores"]
    audit = fairness.audit(scores, run["outcomes"])
    fig = drawn(plots.plot_fairness(audit, "entity_type"))
    ax = fig.axes[0]
    styled(ax, "Findings against tiers by entity type")
    part = audit[audit["group"] == "entity_type"]
    assert ticks(ax.get_yticklabels()) == part["value"].tolist()
    assert sorted(part["value"]) == sorted(scores["entity_type"].astype(str).unique())
    rendered(fig)


# -- the plots of the boxes before the report ------------------------------------------------
def test_evaluation_plot_reliability_draws_on_a_figure_of_its_own(run, drawn) -> None:
    y, p = run["outcomes"]["random_finding"], run["scores"]["probability"]
    fig = drawn(evaluation.plot_reliability(y, p, bins=8))
    assert tuple(fig.get_size_inches()) == (5.0, 5.0)
    (ax,) = fig.axes
    assert ax.get_title() == "Reliability"
    assert ax.get_xlabel() == "Predicted probability"
    known = y.notna()
    observed, predicted = calibration_curve(y[known], p[known], n_bins=8, strategy="quantile")
    (curve,) = [line for line in ax.lines if line.get_label() == "model"]
    np.testing.assert_allclose(curve.get_xdata(), predicted)
    np.testing.assert_allclose(curve.get_ydata(), observed)
    rendered(fig)


def test_evaluation_plot_reliability_draws_on_the_axes_given(drawn) -> None:
    own = Figure()
    left, right = own.subplots(1, 2)
    fig = drawn(evaluation.plot_reliability([0, 1, 1, 0], [0.1, 0.8, 0.7, 0.3], 2, ax=right))
    assert fig is own
    assert not left.lines and right.get_title() == "Reliability"


def test_inspection_plot_frequency_table_draws_the_expected_counts(run, model, drawn) -> None:
    table = inspection.frequency_table(run["scores"], model.policy_)
    fig = drawn(inspection.plot_frequency_table(table))
    assert tuple(fig.get_size_inches()) == (6.0, 3.5)
    (ax,) = fig.axes
    per_tier = table.groupby("tier", observed=True)[
        ["expected_inspections", "expected_findings"]
    ].sum()
    assert ticks(ax.get_xticklabels()) == [str(t) for t in per_tier.index]
    inspections, findings = bars(ax)
    np.testing.assert_allclose(heights(inspections), per_tier["expected_inspections"])
    np.testing.assert_allclose(heights(findings), per_tier["expected_findings"])
    rendered(fig)


def cycle_table() -> pd.DataFrame:
    """A cycle table of two regimes over three months, as ``synth.compare_regimes``
    returns (only the columns the plot reads)."""
    return pd.DataFrame(
        {
            "regime": ["uniform"] * 3 + ["allocation"] * 3,
            "as_of": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"] * 2),
            "findings_per_100": [17.0, 18.0, 17.5, 25.0, 26.0, 25.5],
            "naive_error": [0.0, 0.01, -0.01, 0.08, 0.09, 0.085],
            "hajek_error": [0.0, 0.01, -0.01, 0.01, -0.005, 0.0],
        }
    )


# -- pyplot's state ------------------------------------------------------------------------
def every_plot(run, model) -> dict[str, Callable[[], Figure]]:
    """A call of every plotting function, by name."""
    scores = run["scores"]
    y, p = run["outcomes"]["random_finding"], scores["probability"]
    frequency = inspection.frequency_table(scores, model.policy_)
    return {
        "plot_tiers": lambda: plots.plot_tiers(scores),
        "plot_finding_rates": lambda: plots.plot_finding_rates(
            fairness.selection_table(scores, run["outcomes"])
        ),
        "plot_reliability": lambda: plots.plot_reliability(y, p),
        "plot_shap_summary": lambda: plots.plot_shap_summary(model, scores.head(100), 5),
        "plot_reasons": lambda: plots.plot_reasons(evaluation.reason_table(scores)),
        "plot_migration": lambda: plots.plot_migration(
            monitoring.tier_migration(run["before"], scores)
        ),
        "plot_frequency": lambda: plots.plot_frequency(frequency),
        "plot_fairness": lambda: plots.plot_fairness(flagged_table()),
        "plot_cycles": lambda: plots.plot_cycles(cycle_table()),
        "evaluation.plot_reliability": lambda: evaluation.plot_reliability(y, p),
        "inspection.plot_frequency_table": lambda: inspection.plot_frequency_table(frequency),
    }


def test_every_plot_leaves_pyplot_as_it_was(run, model) -> None:
    calls = every_plot(run, model)
    drawing = {name for name in plots.__all__ if name.startswith("plot_")}
    drawing |= {"evaluation.plot_reliability", "inspection.plot_frequency_table"}
    assert set(calls) == drawing
    mine = plt.figure()  # the analyst's own figure, current
    before = plt.get_fignums()
    try:
        for name, call in calls.items():
            fig = call()
            assert isinstance(fig, Figure) and fig is not mine, name
            assert fig.canvas.manager is None, name
            assert plt.get_fignums() == before, name
            assert plt.gcf() is mine and not mine.axes, name  # nothing drawn into it
    finally:
        plt.close(mine)


# -- embedded in a page --------------------------------------------------------------------
def png_size(uri: str) -> tuple[int, int]:
    png = base64.b64decode(uri.removeprefix("data:image/png;base64,"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_html_figure_embeds_a_figure_pyplot_does_not_track(drawn) -> None:
    scores = pd.DataFrame({"tier": pd.Categorical(list("AAB"), categories=TIERS)})
    fig = drawn(plots.plot_tiers(scores))
    first = html.figure(fig)  # close=True: pyplot has nothing to close
    assert png_size(first) == (600, 360)  # STYLE's 6 x 3.6 inches at 100 dpi
    assert html.figure(fig) == first  # still whole, and the same bytes
    assert fig.axes and fig.canvas.manager is None


def test_html_figure_closes_a_pyplot_figure_unless_told_not_to() -> None:
    fig = plt.figure(figsize=(1, 1))
    uri = html.figure(fig, close=False)
    assert fig.number in plt.get_fignums()
    assert html.figure(fig) == uri
    assert fig.number not in plt.get_fignums()
    assert png_size(uri) == (100, 100)
