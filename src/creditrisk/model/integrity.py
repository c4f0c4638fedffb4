"""A model directory's integrity: its files read before LightGBM sees them, and its digest.

A model directory holds ``model.txt`` (LightGBM's text) and ``metadata.json``;
``CHECKSUMS`` records their SHA-256. Checksums catch an accident, not an edit whose
checksums were recomputed, so before LightGBM parses a model this module checks what
would otherwise crash the process or mislead: :func:`check_metadata` (valid JSON, every
key the model needs) and :func:`check_model_text` (the trees' structure, feature
indices in range, and ``feature_names`` equal to metadata.json's ``features``).
LightGBM parses the text it returns tree by tree, so a malformed tree is an error,
never an abort of the process. Authenticity is :mod:`creditrisk.model.signing`'s job.

:func:`files_digest` is the model's identity in a scoring manifest and in database
rows: one SHA-256 over ``model.txt`` **and** ``metadata.json``, so two models that
differ only in their metadata (cut-offs, calibration, policy) never look the same.

Examples
--------
>>> import creditrisk as cr
>>> from pathlib import Path
>>> folder = Path(cr.sample_model_path())
>>> meta = check_metadata((folder / "metadata.json").read_bytes())
>>> text = check_model_text((folder / "model.txt").read_text(), meta)
>>> "tree_sizes=" in text
False
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping

__all__ = ["IntegrityError", "check_metadata", "check_model_text", "files_digest"]

#: keys of metadata.json a model cannot be rebuilt without
REQUIRED_KEYS = (
    "format_version",
    "params",
    "features",
    "categories",
    "calibration",
    "cutoffs",
    "policy",
    "training",
    "slices",
    "validation",
    "files",
)
#: per tree, the arrays of one value per internal node and per leaf
_PER_NODE = ("split_feature", "threshold", "decision_type", "left_child", "right_child")
_PER_LEAF = ("leaf_value",)


class IntegrityError(ValueError):
    """A model file that is malformed, incomplete or inconsistent with the other.

    Examples
    --------
    >>> str(IntegrityError("metadata.json lacks 'cutoffs'"))
    "metadata.json lacks 'cutoffs'"
    """


def files_digest(checksums: Mapping[str, str]) -> str:
    """The model's digest: one SHA-256 over the SHA-256 of each of its files.

    Parameters
    ----------
    checksums : mapping of str to str
        File name to SHA-256 hex digest (``model.txt`` and ``metadata.json``).

    Returns
    -------
    str
        A SHA-256 hex digest; it changes when any file changes.

    Examples
    --------
    >>> a = files_digest({"model.txt": "ab", "metadata.json": "cd"})
    >>> a == files_digest({"metadata.json": "cd", "model.txt": "ab"}), len(a)
    (True, 64)
    >>> a == files_digest({"model.txt": "ab", "metadata.json": "ce"})
    False
    """
    text = "".join(f"{checksums[name]}  {name}\n" for name in sorted(checksums))
    return hashlib.sha256(text.encode()).hexdigest()


def check_metadata(raw: bytes | str, name: str = "metadata.json") -> dict:
    """Parse metadata.json and check that it holds what a model is rebuilt from.

    Parameters
    ----------
    raw : bytes or str
        The file's content.
    name : str, default "metadata.json"
        How to name the file in errors (its path, say).

    Returns
    -------
    dict
        The metadata.

    Raises
    ------
    IntegrityError
        Not UTF-8 JSON, not an object, a key missing, or ``features`` not a list of
        names.

    Examples
    --------
    >>> try:
    ...     check_metadata('{"format_version": 1}')
    ... except IntegrityError as err:
    ...     print(str(err)[:43])
    metadata.json lacks keys a model needs: ...
    """
    try:
        meta = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise IntegrityError(f"{name} is not UTF-8 text: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise IntegrityError(
            f"{name} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(meta, dict):
        raise IntegrityError(f"{name} must hold a JSON object, not {type(meta).__name__}")
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise IntegrityError(f"{name} lacks keys a model needs: {', '.join(missing)}")
    features = meta["features"]
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise IntegrityError(f"{name}: 'features' must be a list of feature names")
    if not isinstance(meta["files"], dict) or "model.txt" not in meta["files"]:
        raise IntegrityError(f"{name}: 'files' must give the SHA-256 of model.txt")
    return meta


def _header(text: str) -> dict[str, str]:
    head = text.split("\nTree=", 1)[0]
    values = {}
    for line in head.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def _ints(value: str, what: str) -> list[int]:
    try:
        return [int(v) for v in value.split()]
    except ValueError:
        raise IntegrityError(f"model.txt: {what} holds values that are not integers") from None


def _check_categorical(values: dict[str, str], where: str) -> None:
    """Categorical splits index cat_boundaries, which index cat_threshold."""
    kinds = _ints(values["decision_type"], f"{where} decision_type")
    categorical = [i for i, kind in enumerate(kinds) if kind & 1]
    count = _ints(values.get("num_cat", "0"), f"{where} num_cat") or [0]
    if count[0] < 0:
        raise IntegrityError(f"{where}: num_cat is negative")
    if not categorical and not count[0]:
        return
    bounds = _ints(values.get("cat_boundaries", ""), f"{where} cat_boundaries")
    if (
        len(bounds) != count[0] + 1
        or bounds[0] != 0
        or any(b > a for b, a in itertools.pairwise(bounds))
    ):
        raise IntegrityError(f"{where}: cat_boundaries do not fit num_cat {count[0]}")
    if len(values.get("cat_threshold", "").split()) != bounds[-1]:
        raise IntegrityError(f"{where}: cat_threshold does not fit cat_boundaries")
    thresholds = values["threshold"].split()
    for i in categorical:
        try:
            index = int(float(thresholds[i]))
        except ValueError:
            raise IntegrityError(f"{where}: a categorical threshold is not a number") from None
        if not 0 <= index < count[0]:
            raise IntegrityError(f"{where}: a categorical split points outside cat_boundaries")


def check_model_text(text: str, meta: Mapping, name: str = "model.txt") -> str:
    """Check LightGBM's model text against itself and metadata.json; return it parseable
    tree by tree.

    The header's ``feature_names`` must equal metadata.json's ``features`` (same names,
    same order) and ``max_feature_idx`` their count; every tree must give its arrays
    at the lengths its ``num_leaves`` implies, with feature indices and children in
    range; the text must end its trees. The ``tree_sizes`` line is dropped from the
    returned text: without it LightGBM parses trees one after the other and reports a
    malformed tree as an error instead of aborting the process.

    Parameters
    ----------
    text : str
        The content of model.txt.
    meta : mapping
        The model's metadata (``features``).
    name : str, default "model.txt"
        How to name the file in errors.

    Returns
    -------
    str
        The text to hand to LightGBM.

    Raises
    ------
    IntegrityError
        What is malformed or inconsistent, and where (tree number, key).

    Examples
    --------
    >>> import creditrisk as cr
    >>> from pathlib import Path
    >>> text = (Path(cr.sample_model_path()) / "model.txt").read_text()
    >>> try:
    ...     check_model_text(text, {"features": ["age_years"]})
    ... except IntegrityError as err:
    ...     print(str(err)[:60])
    model.txt names 78 features (feature_names); metadata.json 1
    """
    header = _header(text)
    if not text.startswith("tree\n") or "feature_names" not in header:
        raise IntegrityError(f"{name} is not a LightGBM model (no tree header, no feature_names)")
    names = header["feature_names"].split()
    features = list(meta.get("features", []))
    if len(names) != len(features):
        raise IntegrityError(
            f"{name} names {len(names)} features (feature_names); metadata.json "
            f"{len(features)}: the two files are not of one model"
        )
    for i, (mine, theirs) in enumerate(zip(names, features, strict=True)):
        if mine != theirs:
            raise IntegrityError(
                f"{name} and metadata.json disagree on feature {i}: {mine!r} in "
                f"feature_names, {theirs!r} in features: the two files are not of one model"
            )
    try:
        max_index = int(header.get("max_feature_idx", ""))
    except ValueError:
        raise IntegrityError(f"{name}: max_feature_idx is not an integer") from None
    if max_index != len(names) - 1:
        raise IntegrityError(f"{name}: max_feature_idx {max_index} for {len(names)} features")
    if "\nend of trees" not in text:
        raise IntegrityError(f"{name} is truncated: 'end of trees' is missing")
    body = text.split("\nend of trees", 1)[0]
    blocks = re.split(r"\nTree=", body)[1:]
    for position, block in enumerate(blocks):
        number, _, rest = block.partition("\n")
        if number.strip() != str(position):
            raise IntegrityError(f"{name}: tree {position} is numbered {number.strip()!r}")
        values = dict(line.partition("=")[::2] for line in rest.splitlines() if "=" in line)
        where = f"{name}, tree {position}"
        try:
            leaves = int(values.get("num_leaves", ""))
        except ValueError:
            raise IntegrityError(f"{where}: num_leaves is missing or not an integer") from None
        if leaves < 1:
            raise IntegrityError(f"{where}: num_leaves is {leaves}")
        wanted = {key: leaves - 1 for key in _PER_NODE} | {key: leaves for key in _PER_LEAF}
        if leaves == 1:
            wanted = {key: n for key, n in wanted.items() if n}
        for key, n in wanted.items():
            got = len(values.get(key, "").split())
            if got != n:
                raise IntegrityError(
                    f"{where}: {key} holds {got} values, {n} expected for {leaves} leaves"
                )
        if leaves > 1:
            split = _ints(values["split_feature"], f"tree {position} split_feature")
            if min(split) < 0 or max(split) > max_index:
                raise IntegrityError(f"{where}: split_feature outside 0..{max_index}")
            for key in ("left_child", "right_child"):
                child = _ints(values[key], f"tree {position} {key}")
                if min(child) < -leaves or max(child) > leaves - 2:
                    raise IntegrityError(f"{where}: {key} points outside the tree")
            _check_categorical(values, where)
    return re.sub(r"(?m)^tree_sizes=.*\n", "", text, count=1)
