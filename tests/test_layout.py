"""The house: one sub-package per box of the flow, imports one way, no circles.

The flow is data → features → policy → model → inspection → synth → jobs → report →
cli. The synthetic world's generator uses only data (a world must know nothing of the
models measured in it); synth's closed loop (``synth.cycles``) runs the flow up to the
draw on a world, so synth sits after inspection. Every import statement in ``src/creditrisk``
(at module level or inside a function, where a lazy import would hide a circle) is an
edge from the importing module to the module it names; the test fails on an edge that
runs against the flow and on any circle among modules. The checker itself is tested on
small made-up packages, so a broken checker cannot pass silently.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import creditrisk as cr

SRC = Path(cr.__file__).parent
#: the boxes in the order of the flow; a box imports only from itself and earlier boxes
FLOW = ("data", "features", "policy", "model", "inspection", "synth", "jobs", "report", "cli")
#: what a box may import besides itself, where that is narrower than "everything before"
ONLY = {"synth": {"data"}}
#: modules (without the package's name) free of their box's ONLY: the closed loop runs
#: the whole flow before it (features, model, the draw) on a world
WHOLE_FLOW = {"synth.cycles"}
#: modules of the package root that every box may import (they import nothing of ours)
SHARED = {"_version", "_figures"}
#: the package root's entry points, which may import the command line
ENTRY = {"__main__"}


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root``, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join([package, *parts])] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module an imported dotted name lives in (an attribute import: its module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (function-level imports too)."""
    known = modules(root, package)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                    base = f"{anchor}.{base}" if base else anchor
                # "from pkg import sub" names the submodule when there is one
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
            for target in targets:
                if target == package or target.startswith(package + "."):
                    resolved = _resolve(target, known)
                    if resolved is not None and resolved != name:
                        graph[name].add(resolved)
    return graph


def box(module: str, package: str) -> str | None:
    """The box a module belongs to (None for the package root's own ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def against_the_flow(graph: dict[str, set[str]], package: str) -> list[str]:
    """Every import that runs against the flow, as 'importer -> imported (why)'."""
    order = {name: i for i, name in enumerate(FLOW)}
    wrong = []
    for module, targets in sorted(graph.items()):
        source = box(module, package)
        for target in sorted(targets):
            dest = box(target, package)
            if source is None or source in ENTRY or dest == source or dest in SHARED:
                continue  # the root gathers everything; a box may use itself
            if dest is None:
                wrong.append(f"{module} -> {target} (imports the package root)")
            elif source in SHARED:
                wrong.append(f"{module} -> {target} ({source} must import nothing of ours)")
            elif source not in order or dest not in order:
                unknown = source if source not in order else dest
                wrong.append(f"{module} -> {target} ({unknown} is not a box of the flow)")
            elif (
                source in ONLY
                and dest not in ONLY[source]
                and module.partition(".")[2] not in WHOLE_FLOW
            ):
                wrong.append(f"{module} -> {target} ({source} uses only {sorted(ONLY[source])})")
            elif order[dest] > order[source]:
                wrong.append(f"{module} -> {target} ({dest} comes after {source})")
    return wrong


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# -- the package itself ----------------------------------------------------------------
@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(SRC, "creditrisk")


def test_every_module_sits_in_a_box_of_the_flow(graph) -> None:
    boxes = {box(m, "creditrisk") for m in graph} - {None}
    assert boxes <= set(FLOW) | SHARED | ENTRY, boxes - set(FLOW) - SHARED - ENTRY
    # each box is a sub-package (cli is the one module), with a docstring saying what it owns
    for name in set(FLOW) - {"cli"}:
        init = SRC / name / "__init__.py"
        assert init.is_file(), f"{name} is not a sub-package"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc.split("\n\n")[0]) > 40, f"{name}/__init__.py says nothing"
    assert sorted(p.name for p in SRC.glob("*.py")) == [
        "__init__.py",
        "__main__.py",
        "_figures.py",
        "_version.py",
        "cli.py",
    ]


def test_imports_run_with_the_flow(graph) -> None:
    assert against_the_flow(graph, "creditrisk") == []


def test_no_import_circle_remains(graph) -> None:
    assert circles(graph) == []


def test_the_model_knows_nothing_of_cards_mlflow_or_jobs(graph) -> None:
    reached = set()
    todo = [m for m in graph if box(m, "creditrisk") == "model"]
    while todo:  # everything the model box reaches, directly or not
        module = todo.pop()
        for target in graph[module] - reached:
            reached.add(target)
            todo.append(target)
    allowed = {"data", "features", "policy", "model", *SHARED}
    assert {box(m, "creditrisk") for m in reached} <= allowed
    for path in (SRC / "model").rglob("*.py"):
        assert "mlflow" not in path.read_text(encoding="utf-8"), path


def test_the_world_knows_nothing_of_the_models_measured_in_it(graph) -> None:
    """The generator reaches only data (and itself); the loop reaches the model and the
    draw, and nothing before synth reaches the loop."""
    generator = [m for m in graph if box(m, "creditrisk") == "synth"]
    generator = [m for m in generator if m not in ("creditrisk.synth", "creditrisk.synth.cycles")]
    assert "creditrisk.synth.world" in generator and "creditrisk.synth.simulate" in generator
    reached, todo = set(), list(generator)
    while todo:
        for target in graph[todo.pop()] - reached:
            reached.add(target)
            todo.append(target)
    assert {box(m, "creditrisk") for m in reached} <= {"data", "synth", *SHARED}
    assert "creditrisk.synth.cycles" not in reached
    loop = graph["creditrisk.synth.cycles"]
    assert {"creditrisk.model.estimator", "creditrisk.inspection.draw"} <= loop


def test_batch_scoring_knows_nothing_of_the_registry(graph) -> None:
    assert "creditrisk.jobs.tracking" not in graph["creditrisk.jobs.scoring"]
    assert "creditrisk.jobs.tracking" not in graph["creditrisk.jobs.spark"]
    text = (SRC / "jobs" / "scoring.py").read_text(encoding="utf-8")
    assert "import mlflow" not in text


def test_the_register_does_not_import_its_sql_reader_back(graph) -> None:
    assert "creditrisk.data.tables" not in graph["creditrisk.data.sql"]


# -- the checker, on made-up packages --------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_checker_finds_a_backward_import_even_inside_a_function(tmp_path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "data/__init__.py": "",
            "data/tables.py": "def f():\n    from pkg.report.card import x\n",
            "report/__init__.py": "",
            "report/card.py": "from pkg.data import tables\nx = 1\n",
        },
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.data.tables"] == {"pkg.report.card"}
    assert graph["pkg.report.card"] == {"pkg.data.tables"}
    assert against_the_flow(graph, "pkg") == [
        "pkg.data.tables -> pkg.report.card (report comes after data)"
    ]
    assert circles(graph) == [["pkg.data.tables", "pkg.report.card"]]


def test_the_checker_resolves_relative_imports_and_the_root(tmp_path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.model import a\n__version__ = '1'\n",
            "model/__init__.py": "from . import a\n",
            "model/a.py": "from .b import thing\nfrom pkg import __version__\n",
            "model/b.py": "from ..features import f\nthing = 1\n",
            "features/__init__.py": "from pkg.synth import w\n",
            "synth/__init__.py": "",
            "synth/w.py": "from pkg.features import f\n",
            "features/f.py": "",
        },
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.model"] == {"pkg.model.a"}
    assert graph["pkg.model.a"] == {"pkg.model.b", "pkg"}
    assert graph["pkg.model.b"] == {"pkg.features.f"}
    assert against_the_flow(graph, "pkg") == [
        "pkg.features -> pkg.synth.w (synth comes after features)",
        "pkg.model.a -> pkg (imports the package root)",
        "pkg.synth.w -> pkg.features.f (synth uses only ['data'])",
    ]
    # the root imports model.a, which imports the root back: a circle through the root
    assert circles(graph) == [["pkg", "pkg.model.a"]]


def test_the_checker_frees_only_the_loop_from_synths_rule(tmp_path) -> None:
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "synth/__init__.py": "from pkg.synth import cycles\n",
            "synth/cycles.py": "from pkg.model import m\nfrom pkg.synth import world\n",
            "synth/world.py": "from pkg.model import m\n",
            "model/__init__.py": "",
            "model/m.py": "",
        },
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.synth.cycles"] == {"pkg.model.m", "pkg.synth.world"}
    assert against_the_flow(graph, "pkg") == [
        "pkg.synth.world -> pkg.model.m (synth uses only ['data'])"
    ]
