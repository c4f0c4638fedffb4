"""Fuzzing the command line with damaged registers: exit 0 or 2, and never silently wrong.

Hypothesis mutates one table of the sample (written by creditrisk, so its parquet pages
carry checksums): a column's dtype, empty values, extreme and non-finite numbers, bad
dates, a renamed column, flipped bytes. ``creditrisk score`` then scores the register
in chunks. Whatever the mutation:

- the command exits 0 or 2, never anything else, and no traceback reaches the user;
- the inputs are byte-identical afterwards and no partial file remains;
- exit 0 only with the clean run's result, unless the mutation is valid data (an empty
  value where one is allowed, a tiny amount, a far expiry, a column the register may
  lack): then the result must be the library's own, whole-register result on the same
  data, so chunking, reading and writing changed nothing.

The number of examples is bounded (20; ``CREDITRISK_FUZZ_EXAMPLES`` sets another) so the
test runs in well under a minute; CI replays a fixed, derandomised set
(``HYPOTHESIS_PROFILE=ci``).
"""

from __future__ import annotations

import itertools
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _faults import AS_OF, BAD_INPUT, MODEL, cli, consistent, leftovers, score_args, snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk.data.schema import TABLE_NAMES, TABLES
from creditrisk.jobs.scoring import score_chunk

CHUNK = "4000"  # three chunks of the sample's 10,000 entities
#: scheduled dates may lie far ahead (a license without expiry)
SCHEDULED = {("licenses", "expires_on"), ("penalties", "disclosure_ends_on")}
_counter = itertools.count()


@dataclass(frozen=True)
class Mutation:
    kind: str
    table: str
    column: str | None
    how: object
    rows: tuple[int, ...]

    @property
    def valid_data(self) -> bool:
        """Whether the mutated register may legitimately score differently."""
        if self.kind == "null" or (self.kind == "non_finite" and self.how == "nan"):
            return True
        if self.kind == "extreme" and self.how == 1e-300:
            return True
        if self.kind == "bad_date" and (self.table, self.column) in SCHEDULED:
            return self.how in ("2099-06-01", "9999-12-31")
        return self.kind == "rename" and self.how == "other"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The sample as creditrisk writes it, its clean chunked scores, and the model."""
    root = tmp_path_factory.mktemp("fuzz")
    base = cr.load_sample().write(root / "base")
    clean = root / "clean" / "scores.parquet"
    assert cli(*score_args(base, clean, "--chunk-size", CHUNK)).exit_code == 0
    frames = {name: pd.read_parquet(base / f"{name}.parquet") for name in TABLE_NAMES}
    return root, base, pd.read_parquet(clean), frames, cr.RiskModel.load(MODEL)


def _columns(table: str, kinds: tuple[str, ...]) -> list[str]:
    return [c.name for c in TABLES[table].columns if c.kind in kinds]


@st.composite
def mutations(draw) -> Mutation:
    table = draw(st.sampled_from(list(TABLE_NAMES)))
    kind = draw(
        st.sampled_from(["retype", "null", "extreme", "non_finite", "bad_date", "rename", "flip"])
    )
    numeric = _columns(table, ("amount", "count", "integer"))
    dates = _columns(table, ("date",))
    if kind in ("extreme", "non_finite") and not numeric:
        kind = "null"
    if kind == "bad_date" and not dates:
        kind = "retype"
    columns = {
        "extreme": numeric,
        "non_finite": numeric,
        "bad_date": dates,
    }.get(kind, [c.name for c in TABLES[table].columns])
    column = None if kind == "flip" else draw(st.sampled_from(columns))
    how = {
        "retype": st.sampled_from(["text", "float", "int", "bool"]),
        "null": st.just(None),
        "extreme": st.sampled_from([1e16, 1e300, -1e300, 2**62, -(2**62), 1e-300]),
        "non_finite": st.sampled_from(["inf", "-inf", "nan"]),
        "bad_date": st.sampled_from(
            ["2099-06-01", "9999-12-31", "1800-01-01", "0202-05-01", "not a date", "2024-02-30"]
        ),
        "rename": st.sampled_from(["upper", "title", "space", "one_char", "other"]),
        "flip": st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=3),
    }[kind]
    rows = tuple(draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=3)))
    value = draw(how)
    return Mutation(kind, table, column, tuple(value) if kind == "flip" else value, rows)


def _as_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), None)
    return values.astype(str).astype(object).where(values.notna(), None)


def _retype(values: pd.Series, how: str) -> pd.Series:
    if how == "text":
        return _as_text(values)
    if how == "bool":
        return values.notna()
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        seconds = values.astype("int64") // 10**9
        return seconds.astype("float64") if how == "float" else seconds
    if isinstance(values.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        values.dtype
    ):
        codes = pd.Series(pd.factorize(values)[0], index=values.index)
        return codes.astype("float64") if how == "float" else codes
    return values.astype("float64") if how == "float" else values.round().astype("Int64")


def _rename(column: str, how: str) -> str:
    if how == "upper":
        return column.upper()
    if how == "title":
        return column.title().replace("_", "")
    if how == "space":
        return f" {column}"
    if how == "one_char":
        return column[:-1] + ("x" if column[-1] != "x" else "y")
    return "zz_not_a_column"


def apply(mutation: Mutation, frames: dict, register: Path) -> None:
    """Write the mutated table into ``register`` (a copy of the clean one)."""
    path = register / f"{mutation.table}.parquet"
    if mutation.kind == "flip":
        data = bytearray(path.read_bytes())
        for fraction in mutation.how:
            data[int(fraction * len(data))] ^= 1 << (int(fraction * 1e6) % 8)
        path.write_bytes(bytes(data))
        return
    frame = frames[mutation.table].copy()
    rows = sorted({r % len(frame) for r in mutation.rows}) if len(frame) else []
    column = mutation.column
    if mutation.kind == "retype":
        frame[column] = _retype(frame[column], mutation.how)
    elif mutation.kind == "rename":
        frame = frame.rename(columns={column: _rename(column, mutation.how)})
    elif mutation.kind == "null":
        frame[column] = frame[column].astype(object).where(~frame.index.isin(rows), None)
    elif mutation.kind == "bad_date":
        text = _as_text(frame[column])
        text.iloc[rows] = mutation.how
        frame[column] = text
    else:  # extreme and non-finite numbers
        value = float(mutation.how)
        frame[column] = frame[column].astype("float64")
        frame.loc[frame.index[rows], column] = value
    frame.to_parquet(path, index=False)


def reference(register: Path, model) -> pd.DataFrame | None:
    """The library's whole-register result on ``register`` (None: it refuses the data)."""
    try:
        tables = cr.EventTables.read(register).validate()
        rows = score_chunk(tables, model, AS_OF)
    except ValueError:  # SchemaError and ModelError included
        return None
    back = register.parent / "reference.parquet"
    rows.to_parquet(back, index=False)
    return pd.read_parquet(back)


@settings(
    max_examples=int(os.environ.get("CREDITRISK_FUZZ_EXAMPLES", "20")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutation=mutations())
def test_a_damaged_register_exits_0_or_2_and_is_never_silently_wrong(world, mutation) -> None:
    root, base, clean, frames, model = world
    case = root / f"case-{next(_counter)}"
    register = case / "register"
    shutil.copytree(base, register)
    apply(mutation, frames, register)
    before = snapshot(register)
    out = case / "out" / "scores.parquet"

    result = cli(*score_args(register, out, "--chunk-size", CHUNK))  # 0 or 2, no traceback

    assert snapshot(register) == before, mutation
    assert leftovers(case) == [], mutation
    if result.exit_code == BAD_INPUT:
        assert not out.exists(), mutation
        return
    assert consistent(out), mutation
    got = pd.read_parquet(out)
    if got.equals(clean):
        return
    assert mutation.valid_data, (
        f"{mutation} changed the scores and was not refused: silently wrong?",
        int((got["probability"] != clean["probability"]).sum()) if len(got) == len(clean) else -1,
    )
    expected = reference(register, model)
    assert expected is not None, f"{mutation}: scored in chunks, refused whole"
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=str(mutation))


def test_the_oracle_knows_a_change_when_it_sees_one(world) -> None:
    """The fuzz's own check: a valid edit scores differently, the library agrees."""
    root, base, clean, frames, model = world
    register = root / "oracle" / "register"
    shutil.copytree(base, register)
    listed = frames["list_entries"]
    entity = listed.loc[listed["removed_on"].isna(), "entity_id"].iloc[0]
    apply(
        Mutation(
            "null",
            "list_entries",
            "reason",
            None,
            tuple(np.flatnonzero(listed["entity_id"] == entity)),
        ),
        frames,
        register,
    )
    out = root / "oracle" / "out" / "scores.parquet"
    assert cli(*score_args(register, out, "--chunk-size", CHUNK)).exit_code == 0
    got = pd.read_parquet(out)
    assert not got.equals(clean)  # the listing's reason is a feature: the scores move
    pd.testing.assert_frame_equal(got, reference(register, model), check_dtype=False)
