"""Notebook manners: a figure shows once, and the notebooks teach only public names.

A Jupyter kernel (the inline backend, as a notebook has it) runs a small generated
notebook whose cells end with each creditrisk plot call: each shows exactly one PNG, as
the cell's value. The notebooks in ``notebooks/`` are read with ``ast``: they import and
reach creditrisk only through public names (``__all__`` from ``import creditrisk``) and
touch no ``_private`` attribute. The checker is tried on small snippets first, so a
broken checker cannot pass silently. (``pytest notebooks/`` runs the notebooks.)
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

import creditrisk as cr

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
INLINE = "module://matplotlib_inline.backend_inline"


# -- a figure shows once ---------------------------------------------------------------
SETUP = """\
import sys

import numpy as np
import pandas as pd

import creditrisk as cr

scores = pd.DataFrame({"tier": pd.Categorical(list("AABD"), categories=list("ABCD")),
                       "override": ["", "", "", "serious_illegal_list"]})
frequency = pd.DataFrame({"tier": ["A", "B"], "expected_inspections": [10.0, 5.0],
                          "expected_findings": [1.0, 2.0]})
selection = pd.DataFrame({"tier": ["A", "B", "all"], "random_finding_rate": [0.1, 0.3, 0.2],
                          "random_low": [0.05, 0.2, 0.15], "random_high": [0.2, 0.4, 0.25],
                          "targeted_finding_rate": [0.2, 0.5, 0.4],
                          "targeted_low": [0.1, 0.4, 0.3], "targeted_high": [0.3, 0.6, 0.5]})
rng = np.random.default_rng(0)
p = rng.random(500)
y = (rng.random(500) < p).astype(float)
reasons = pd.DataFrame({"tier": ["C", "C", "D"], "share": [0.6, 0.3, 0.9],
                        "feature": ["late_reports", "penalties_3y", "on_abnormal_list"]})
migration = pd.DataFrame([[90, 10], [5, 45]], index=["A", "B"], columns=["A", "B"])
cycles = pd.DataFrame({"regime": ["uniform"] * 2 + ["tiered"] * 2,
                       "as_of": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2),
                       "findings_per_100": [18.0, 19.0, 25.0, 26.0],
                       "naive_error": [0.0, 0.0, 0.06, 0.07],
                       "hajek_error": [0.0, 0.01, -0.01, 0.0]})
groups = pd.DataFrame({"group": "region", "value": ["north", "south"],
                       "random_finding_rate": [0.10, 0.45], "random_low": [0.05, 0.35],
                       "random_high": [0.18, 0.55], "implied_rate": [0.12, 0.25],
                       "flag": ["", "under-tiered"]})
tables = cr.load_sample()
X = cr.build_features(tables, cr.spine(tables, as_of="2025-01-01").head(100))
model = cr.RiskModel.load(cr.sample_model_path())
print("backend loaded:", "matplotlib_inline.backend_inline" in sys.modules)
"""

#: cells that each end with one plot call; the first is a fresh kernel's first figure
PLOTS = [
    "cr.inspection.plot_frequency_table(frequency)",
    "cr.evaluation.plot_reliability(y, p, bins=5)",
    "cr.plots.plot_tiers(scores)",
    "cr.plots.plot_finding_rates(selection)",
    "cr.plots.plot_reliability(y, p, bins=5)",
    "cr.plots.plot_reasons(reasons)",
    "cr.plots.plot_migration(migration)",
    "cr.plots.plot_frequency(frequency)",
    "cr.plots.plot_fairness(groups)",
    "cr.plots.plot_shap_summary(model, X, max_display=5)",
    "cr.plots.plot_cycles(cycles)",
]


def test_the_plot_calls_cover_every_plotting_function() -> None:
    from creditrisk.report import plots

    drawing = {f"cr.plots.{n}" for n in plots.__all__ if n.startswith("plot_")}
    drawing |= {"cr.inspection.plot_frequency_table", "cr.evaluation.plot_reliability"}
    assert {cell.partition("(")[0] for cell in PLOTS} == drawing


def images(cell) -> list[str]:
    """The image/png payloads a cell showed, whether displayed or its value."""
    return [
        o["data"]["image/png"]
        for o in cell.outputs
        if o["output_type"] in ("display_data", "execute_result") and "image/png" in o["data"]
    ]


@pytest.fixture(scope="module")
def executed():
    """The generated notebook, run in a fresh kernel under the inline backend."""
    import nbformat
    from nbclient import NotebookClient

    cells = [
        SETUP,
        *PLOTS,
        "fig = cr.plots.plot_tiers(scores)",  # assigned: nothing is shown
        "fig",
        "import matplotlib\nimport matplotlib.pyplot as plt\n"
        "print(matplotlib.get_backend(), plt.get_fignums())",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    # the kernel picks the inline backend itself unless MPLBACKEND says otherwise
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    NotebookClient(nb, timeout=120, kernel_name="python3").execute(env=env)
    return nb.cells


def test_a_notebook_shows_each_figure_once(executed) -> None:
    setup, *plots, assigned, shown, state = executed
    assert not images(setup)
    # the first plot is the kernel's first figure: nothing loaded the backend before it
    assert setup.outputs[0]["text"] == "backend loaded: False\n"
    for source, cell in zip(PLOTS, plots, strict=True):
        assert len(images(cell)) == 1, (source, [o["output_type"] for o in cell.outputs])
        (value,) = [o for o in cell.outputs if o["output_type"] == "execute_result"]
        assert "image/png" in value["data"], source  # shown as the cell's value
    assert assigned.outputs == []  # nothing shown behind the cell's back
    assert len(images(shown)) == 1
    # the inline backend was in use, and pyplot was left holding no figure
    assert state.outputs[0]["text"].split(maxsplit=1) == [INLINE, "[]\n"]


def test_under_the_inline_backend_a_plot_makes_ipython_show_figures(monkeypatch) -> None:
    """In IPython under the inline backend, each plotting function loads the backend
    (as pyplot's first figure would), so IPython shows the Figure it returns as an image
    even when the call is the session's first figure."""
    import IPython
    import matplotlib
    import pandas as pd

    monkeypatch.setattr(IPython, "get_ipython", lambda: object())  # "in a shell"
    monkeypatch.setattr(matplotlib, "get_backend", lambda *a, **k: INLINE)
    frequency = pd.DataFrame(
        {"tier": ["A"], "expected_inspections": [1.0], "expected_findings": [0.5]}
    )
    calls = {
        "plots": lambda: cr.plots.plot_migration(pd.DataFrame([[1]])),
        "evaluation": lambda: cr.evaluation.plot_reliability([0, 1, 1], [0.2, 0.7, 0.9], 2),
        "inspection": lambda: cr.inspection.plot_frequency_table(frequency),
    }
    for where, call in calls.items():
        monkeypatch.delitem(sys.modules, "matplotlib_inline.backend_inline", raising=False)
        call()
        assert "matplotlib_inline.backend_inline" in sys.modules, where


# -- notebooks teach public names ------------------------------------------------------
def public_modules() -> dict[str, ModuleType]:
    """Every module ``import creditrisk`` reaches through public ``__all__`` names, by the
    dotted path that reaches it (``creditrisk.plots`` is ``creditrisk.report.plots``)."""
    found: dict[str, ModuleType] = {"creditrisk": cr}
    todo = ["creditrisk"]
    while todo:
        path = todo.pop()
        for name in getattr(found[path], "__all__", ()):
            value = getattr(found[path], name, None)
            public = isinstance(value, ModuleType) and not name.startswith("_")
            if public and f"{path}.{name}" not in found:
                found[f"{path}.{name}"] = value
                todo.append(f"{path}.{name}")
    return found


def code(source: str) -> ast.Module:
    """A code cell as Python (IPython's magics become calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return ast.parse(TransformerManager().transform_cell(source))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def non_public(tree: ast.Module, modules: dict[str, ModuleType]) -> list[str]:
    """What ``tree`` uses of creditrisk that is not public, and any ``_private``
    attribute it touches (of anything: a notebook teaches)."""
    found: dict[str, None] = {}  # ordered set
    bound: dict[str, str] = {}  # a name bound to a public module -> its dotted path
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "creditrisk":
                    continue
                if alias.name not in modules:
                    found[f"import {alias.name}: not a public module"] = None
                elif alias.asname:
                    bound[alias.asname] = alias.name
                else:
                    bound["creditrisk"] = "creditrisk"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == (
            "creditrisk"
        ):
            if node.level or node.module not in modules:
                found[f"from {node.module} import ...: not a public module"] = None
                continue
            public = set(getattr(modules[node.module], "__all__", ()))
            for alias in node.names:
                if alias.name not in public or _private(alias.name):
                    found[f"from {node.module} import {alias.name}: not public"] = None
                elif f"{node.module}.{alias.name}" in modules:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    inner = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            found[f".{node.attr}: a private attribute"] = None
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            found[f"{node.func.id}(..., {node.args[1].value!r}): a private attribute"] = None
        if not isinstance(node, ast.Attribute) or id(node) in inner:
            continue
        chain, base = [], node
        while isinstance(base, ast.Attribute):
            chain.append(base.attr)
            base = base.value
        if not isinstance(base, ast.Name) or base.id not in bound:
            continue
        path = bound[base.id]
        for attr in reversed(chain):
            if path not in modules:
                break  # past the modules: a class or function's attributes are its own
            if attr not in getattr(modules[path], "__all__", ()):
                if not _private(attr):  # a private one is reported above
                    found[f"{base.id}...{attr}: not public in {path}"] = None
                break
            path = f"{path}.{attr}"
    return list(found)


@pytest.fixture(scope="module")
def modules() -> dict[str, ModuleType]:
    return public_modules()


def test_public_modules_are_those_the_tour_reaches(modules) -> None:
    assert modules["creditrisk.plots"] is modules["creditrisk.report.plots"]
    assert modules["creditrisk.io"].__name__ == "creditrisk.data.sql"
    assert "creditrisk.data" in modules and "creditrisk.inspection" in modules
    assert "creditrisk.model.estimator" not in modules  # a home, not a public name
    assert not any(_private(part) for path in modules for part in path.split("."))


@pytest.mark.parametrize(
    "source",
    [
        "import creditrisk as cr\nspan = cr.data.data_span(tables)\ncr.plots.plot_tiers(s)",
        "from creditrisk import inspection\ninspection.PlanMismatch\ninspection.draw(a)",
        "from creditrisk.report import plots\nplots.STYLE",
        "%matplotlib inline\nimport creditrisk\ncreditrisk.RiskModel.load(p).policy_.tiers",
        "import creditrisk.report.fairness as f\nf.audit(g, o)",
        "_, info = f()\nimport pandas as pd\npd.DataFrame().__class__",
    ],
)
def test_the_checker_passes_public_use(source, modules) -> None:
    assert non_public(code(source), modules) == []


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("from creditrisk.cohort import data_span", "creditrisk.cohort"),
        ("from creditrisk.labels import horizon_days", "creditrisk.labels"),
        ("from creditrisk.model.estimator import RiskModel", "creditrisk.model.estimator"),
        ("from creditrisk.report.plots import _figure", "_figure"),
        ("from creditrisk import _version", "_version"),
        ("import creditrisk.model.estimator", "creditrisk.model.estimator"),
        ("import creditrisk as cr\ncr.model.estimator.RiskModel", "estimator"),
        ("import creditrisk as cr\ncr.plots._figure()", "_figure"),
        ("from creditrisk import plots as p\np._INLINE", "_INLINE"),
        ("model._check_fitted()", "_check_fitted"),
        ("getattr(model, '_matrix')(X)", "_matrix"),
        ("def f():\n    import creditrisk as c\n    return c.data.validation.x", "x"),
    ],
)
def test_the_checker_finds_non_public_use(source, problem, modules) -> None:
    problems = non_public(code(source), modules)
    assert len(problems) == 1 and problem in problems[0], problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_use_only_public_names(path, modules) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    problems = []
    for i, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            problems += [f"cell {i}: {p}" for p in non_public(code(source), modules)]
    assert problems == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


def test_there_are_the_five_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05"]
