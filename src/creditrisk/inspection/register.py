"""The inspector register: who can inspect where, in which key sectors, and whom not.

``inspectors`` holds one row per inspector (inspector_id, region, speciality:
``general`` or a key sector); ``conflicts`` the declared conflicts of interest
(inspector_id, entity_id, reason, declared_on). The packaged sample ships both.

Examples
--------
>>> register = load_sample_register()
>>> len(register.inspectors) > 0, set(register.conflicts.columns) >= {"inspector_id", "entity_id"}
(True, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["InspectorRegister", "load_sample_register"]

_INSPECTOR_COLUMNS = ("inspector_id", "region", "speciality")
_CONFLICT_COLUMNS = ("inspector_id", "entity_id")


@dataclass(frozen=True)
class InspectorRegister:
    """Inspectors and their declared conflicts of interest, checked on creation.

    Parameters
    ----------
    inspectors : pandas.DataFrame
        One row per inspector: ``inspector_id`` (unique), ``region`` and
        ``speciality`` (``general`` or a key sector), kept as text; other columns
        are kept.
    conflicts : pandas.DataFrame, optional
        Declared conflicts of interest: ``inspector_id`` (an inspector of
        ``inspectors``) and ``entity_id``, kept as text; by default none.

    Raises
    ------
    ValueError
        A column is missing, an inspector_id is repeated, or a conflict names an
        unknown inspector.

    Examples
    --------
    >>> r = InspectorRegister(pd.DataFrame({"inspector_id": ["I1", "I2"],
    ...     "region": ["d1", "d1"], "speciality": ["general", "food"]}))
    >>> len(r.conflicts)
    0
    >>> InspectorRegister(r.inspectors, pd.DataFrame({"inspector_id": ["I9"],
    ...     "entity_id": ["E1"]}))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: inspector_conflicts: unknown inspector_id in rows [{'inspector_id': 'I9', ...}]
    """

    inspectors: pd.DataFrame
    conflicts: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        ins = self.inspectors
        missing = [c for c in _INSPECTOR_COLUMNS if c not in ins.columns]
        if missing:
            raise ValueError(f"inspectors: missing columns {missing}")
        ins = ins.assign(**{c: ins[c].astype("str") for c in _INSPECTOR_COLUMNS})
        dup = ins["inspector_id"].duplicated(keep=False)
        if dup.any():
            rows = ins.loc[dup, "inspector_id"].head(5).tolist()
            raise ValueError(f"inspectors: inspector_id must be unique; repeated: {rows}")
        conflicts = self.conflicts
        if conflicts is None:
            conflicts = pd.DataFrame({"inspector_id": [], "entity_id": []}, dtype="str")
        missing = [c for c in _CONFLICT_COLUMNS if c not in conflicts.columns]
        if missing:
            raise ValueError(f"inspector_conflicts: missing columns {missing}")
        conflicts = conflicts.assign(**{c: conflicts[c].astype("str") for c in _CONFLICT_COLUMNS})
        unknown = ~conflicts["inspector_id"].isin(ins["inspector_id"])
        if unknown.any():
            rows = conflicts.loc[unknown].head(5).to_dict("records")
            raise ValueError(f"inspector_conflicts: unknown inspector_id in rows {rows}")
        object.__setattr__(self, "inspectors", ins.reset_index(drop=True))
        object.__setattr__(self, "conflicts", conflicts.reset_index(drop=True))

    @classmethod
    def read(cls, path: str | os.PathLike) -> InspectorRegister:
        """``inspectors`` and (if present) ``inspector_conflicts`` from a directory,
        as parquet or CSV.

        A file whose name nearly matches one of them (``inspector_conflict.csv``,
        ``Inspector_Conflicts.parquet``, ``conflicts.csv``) is an error, never skipped:
        a plan drawn without the declared conflicts would send inspectors to entities
        they declared a conflict with.

        Parameters
        ----------
        path : str or path-like
            The directory; ``<name>.parquet`` is read in preference to ``<name>.csv``
            (read as text).

        Returns
        -------
        InspectorRegister
            The inspectors and their conflicts (none when there is no conflicts file).

        Raises
        ------
        FileNotFoundError
            No inspectors file.
        ValueError
            A misnamed or unreadable file, or missing columns.

        Examples
        --------
        >>> InspectorRegister.read(_sample_dir()).inspectors.columns[0]
        'inspector_id'
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = pd.DataFrame({"inspector_id": ["I1"], "region": ["d1"],
        ...                       "speciality": ["general"]}).to_csv(f"{d}/inspectors.csv")
        ...     len(InspectorRegister.read(d).conflicts)
        0
        """
        path = Path(path)
        if not path.is_dir():
            raise FileNotFoundError(f"no inspector register directory at {path}")
        frames = {}
        for name in _FILES:
            parquet, csv = path / f"{name}.parquet", path / f"{name}.csv"
            try:
                if parquet.exists():
                    frames[name] = pd.read_parquet(parquet)
                elif csv.exists():
                    frames[name] = pd.read_csv(csv, dtype=str)
            except Exception as exc:
                file = parquet if parquet.exists() else csv
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ValueError(f"cannot read {file}: {first}") from None
        misnamed = _misnamed(path, frames)
        if misnamed:
            raise ValueError("; ".join(misnamed))
        if "inspectors" not in frames:
            raise FileNotFoundError(f"no inspectors.parquet or inspectors.csv in {path}")
        return cls(frames["inspectors"], frames.get("inspector_conflicts"))


_FILES = ("inspectors", "inspector_conflicts")


def _misnamed(path: Path, found: dict) -> list[str]:
    """Files that look meant as the inspector register's but are not named so."""
    import difflib

    from creditrisk.data.schema import TABLE_NAMES

    def norm(text: str) -> str:
        return "".join(ch for ch in text.lower() if ch.isalnum())

    out = []
    for file in sorted(path.iterdir()):
        stem = file.stem
        if file.suffix.lower() not in (".parquet", ".csv") or stem in (*_FILES, *TABLE_NAMES):
            continue
        for name in _FILES:
            if name in found:
                continue
            close = norm(stem) == norm(name) or difflib.get_close_matches(
                stem.lower(), [name], n=1, cutoff=0.8
            )
            if close or (name == "inspector_conflicts" and "conflict" in stem.lower()):
                out.append(f"{file} is not read: did you mean {name}{file.suffix}?")
                break
    return out


def _sample_dir() -> Path:
    return Path(str(resources.files("creditrisk.data").joinpath("sample")))


def load_sample_register() -> InspectorRegister:
    """The inspector register of the packaged sample.

    Returns
    -------
    InspectorRegister
        The sample's inspectors and their declared conflicts.

    Examples
    --------
    >>> load_sample_register().inspectors["speciality"].isin(["general", "food"]).any()
    np.True_
    """
    return InspectorRegister.read(_sample_dir())
