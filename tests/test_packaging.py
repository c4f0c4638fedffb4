"""The package as a user gets it: a wheel that carries the sample, and the set-up docs."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import creditrisk as cr
from creditrisk.data.schema import TABLE_NAMES, data_dictionary

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(out)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("creditrisk-*.whl")
    return built


def test_wheel_ships_the_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for table in TABLE_NAMES:
        assert f"creditrisk/data/sample/{table}.parquet" in names
    assert "creditrisk/data/sample/README.md" in names
    for part in ("metadata.json", "model.txt", "CHECKSUMS", "MODEL_CARD.md"):
        assert f"creditrisk/model/sample/{part}" in names
    assert {"creditrisk/policy/national.toml", "creditrisk/policy/daqing.toml"} <= names
    assert "creditrisk/py.typed" in names
    templates = {n.split("/")[-1] for n in names if n.startswith("creditrisk/report/templates/")}
    assert templates == {p.name for p in (ROOT / "src/creditrisk/report/templates").glob("*.j2")}


def test_load_sample_from_installed_wheel(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    code = (
        "import creditrisk as cr; t = cr.load_sample().validate(); "
        "m = cr.RiskModel.load(cr.sample_model_path()); "
        "card = cr.report.explain_card(m, 'E0000025', tables=t, as_of='2025-01-01'); "
        "assert card.html.startswith('<!DOCTYPE html>') and 'E0000025' in card.html; "
        "print(cr.__file__); print(len(t.enterprises))"
    )
    # -I would drop site-packages (the dependencies); put the wheel's copy first instead
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    where, count = result.stdout.split()
    assert Path(where).is_relative_to(target)  # not the editable source tree
    assert int(count) == len(cr.load_sample().enterprises) == 10_000


def test_sample_readme_documents_every_column():
    readme = (ROOT / "data" / "sample" / "README.md").read_text()
    assert data_dictionary() in readme


def test_setup_is_two_commands():
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set-up", 1)[1].split("##", 1)[0]
    block = re.search(r"```\n(.*?)```", setup, re.S).group(1)
    assert block.split("\n")[:-1] == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_sample_is_what_the_generator_writes():
    world = cr.synth.generate(10_000, start="2018-01-01", end="2025-12-31", seed=7)
    assert world.tables.fingerprint() == cr.load_sample().fingerprint(), (
        "the packaged sample is stale: run `make sample`"
    )


def test_readme_python_runs(tmp_path, monkeypatch):
    """Every ```python block of the README runs, in order, as a user would paste it."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    (tmp_path / "data").symlink_to(ROOT / "data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert (tmp_path / "out" / "copy" / "penalties.csv").exists()


def test_the_documented_training_config_is_valid_and_holds_the_defaults():
    from creditrisk.jobs.tracking import TrainConfig

    config = TrainConfig.from_toml(ROOT / "configs" / "train.toml")
    defaults = TrainConfig()
    for name in (
        "policy",
        "horizon",
        "every_months",
        "history_years",
        "experiment",
        "registered_model",
        "metric",
        "promote",
    ):
        assert getattr(config, name) == getattr(defaults, name), name
    model_defaults = cr.RiskModel().get_params()
    for name, value in config.model.items():
        if name != "num_threads":  # the file asks for the 2 cores the CLI uses
            assert value == model_defaults[name], name


NOTEBOOKS = (
    "01_quickstart",
    "02_retrain_with_mlflow",
    "03_inspection_planning",
    "04_model_review",
    "05_closed_loop",
)


def test_notebooks_are_committed_without_outputs():
    import nbformat

    for name in NOTEBOOKS:
        book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        code = [c for c in book.cells if c.cell_type == "code"]
        assert code, name
        assert all(c.outputs == [] and c.execution_count is None for c in code), name
        assert book.metadata["kernelspec"]["name"] == "python3"


def test_make_test_runs_the_notebooks():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    assert "notebooks" in config["ini_options"]["testpaths"]
    assert "--nbmake" in config["ini_options"]["addopts"].split()
