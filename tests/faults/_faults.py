"""Helpers of the fault tests: the command line in and out, inputs fingerprinted, leftovers.

Every fault test runs the ``creditrisk`` command as a user would and checks three things
besides the exit code and the message: no traceback reached the user, every input file
is byte-identical afterwards (:func:`snapshot`), and no partial file remains
(:func:`leftovers`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import creditrisk as cr
from creditrisk.cli import app
from creditrisk.data.schema import ALL_TABLE_NAMES

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
MODEL = Path(cr.sample_model_path())
AS_OF = "2025-01-01"
BAD_INPUT = 2
#: the sample's tables: the six, and the indicator system's four
TABLES = ALL_TABLE_NAMES

runner = CliRunner()

#: what an interrupted writer leaves: hidden temporaries, journals, directories moved
#: aside, and the names older versions used
_LEFTOVER = re.compile(
    r"^\..+\.(\d+-[0-9a-f]{8}\.(partial|old|commit)|[a-z0-9_]{8}|old)$|\._staging-[0-9a-f]{32}$"
)


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def cli(*args, env: dict | None = None):
    """Run ``creditrisk`` in this process; assert it ended cleanly (no escaped exception,
    no traceback) and return the result."""
    result = runner.invoke(app, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        result.output,
        repr(result.exception),
    )
    assert "Traceback" not in result.output, result.output
    assert result.exit_code in (0, BAD_INPUT), (result.exit_code, result.output)
    if result.exit_code == BAD_INPUT:
        assert result.output.lstrip().startswith("error:") or "error:" in result.output
    return result


def cli_process(*args, env: dict | None = None, timeout: float = 300):
    """Run ``python -m creditrisk`` in a process of its own (what an abort would kill)."""
    merged = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "creditrisk", *map(str, args)],
        capture_output=True,
        text=True,
        env=merged,
        timeout=timeout,
        cwd=ROOT,
    )


def snapshot(*roots: Path) -> dict[str, str]:
    """SHA-256 of every file under ``roots`` (files or directories), by path."""
    found = {}
    for root in roots:
        root = Path(root)
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def leftovers(*roots: Path) -> list[str]:
    """Partial files and directories anywhere under ``roots``."""
    found = []
    for root in roots:
        for path in Path(root).rglob("*"):
            if _LEFTOVER.search(path.name):
                found.append(str(path))
    return sorted(found)


def copy_register(tmp_path: Path, name: str = "reg") -> Path:
    """A private copy of the packaged sample (tables and inspector register)."""
    target = tmp_path / name
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("README.md"))
    return target


def rewrite(register: Path, table: str, change) -> pd.DataFrame:
    """Rewrite one table file through ``change(frame) -> frame``; return the new frame."""
    path = register / f"{table}.parquet"
    frame = change(pd.read_parquet(path))
    frame.to_parquet(path, index=False)
    return frame


def score_args(data: Path, out, *extra, model=MODEL, as_of: str = AS_OF) -> list:
    return ["score", "--model", model, "--data", data, "--as-of", as_of, "--out", out, *extra]


def manifest_of(out: Path) -> dict:
    return json.loads(out.with_name(f"{out.stem}.manifest.json").read_text(encoding="utf-8"))


def consistent(out: Path) -> bool:
    """The scores and their manifest belong together (the manifest's hash is the file's)."""
    manifest = manifest_of(out)
    return manifest["output"]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def problems(output: str) -> set[str]:
    """The problem headlines in a message (``table.column [rule]``)."""
    return set(re.findall(r"- ([a-z_]+(?:\.[A-Za-z_ ]+)? \[[a-z -]+\])", flat(output)))
