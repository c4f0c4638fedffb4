"""EventTables: every validation rule on a real bad table, file round trips, atomic writes.

Each rule test starts from the packaged sample (10,000 entities, valid), breaks a few rows
in one table and checks the exact problem: table, column, rule, row count and the keys of
the offending rows.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk import EventTables, SchemaError
from creditrisk.data.schema import ALL_TABLE_NAMES, INDICATOR_TABLES, TABLE_NAMES, TABLES, Problem

DAY = pd.Timedelta(days=1)


# -- fixtures and helpers -------------------------------------------------------------
@pytest.fixture(scope="module")
def sample() -> EventTables:
    return cr.load_sample()


@pytest.fixture(scope="module")
def parquet_dir(sample: EventTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample.write(tmp_path_factory.mktemp("parquet") / "tables")


@pytest.fixture(scope="module")
def csv_dir(sample: EventTables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sample.write(tmp_path_factory.mktemp("csv") / "tables", format="csv")


def pick(mask, k: int = 3) -> np.ndarray:
    """``k`` row positions spread over the rows where ``mask`` holds."""
    pos = np.flatnonzero(np.asarray(mask, dtype=bool))
    assert len(pos) >= k, "the sample has too few candidate rows for this test"
    return pos[np.linspace(0, len(pos) - 1, k).astype(int)]


def entity_dates(tables: EventTables, frame: pd.DataFrame, column: str) -> pd.Series:
    """``enterprises[column]`` of each row's entity, aligned with ``frame``."""
    by_id = tables.enterprises.set_index("entity_id")[column]
    return pd.Series(by_id.reindex(frame["entity_id"]).to_numpy(), index=frame.index)


def _text(value) -> str | None:
    """A key value as text: empty values as None, 2019.0 (a float year) as '2019'."""
    if pd.isna(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def keys_of(rows: pd.DataFrame, table: str) -> set[tuple[str | None, ...]]:
    key = list(TABLES[table].key)
    return {tuple(map(_text, r)) for r in rows[key].itertuples(index=False)}


def the_problem(err: SchemaError) -> Problem:
    assert len(err.problems) == 1, str(err)
    return err.problems[0]


def assert_problem(
    err: SchemaError,
    table: str,
    column: str | None,
    rule: str,
    bad_rows: pd.DataFrame | None = None,
) -> Problem:
    """The error holds exactly one problem, at ``table.column`` under ``rule``.

    ``bad_rows`` are the rows the test broke: their count is ``n_rows`` and their keys
    are the keys shown (all of them when there are at most five).
    """
    p = the_problem(err)
    assert (p.table, p.column, p.rule) == (table, column, rule)
    if bad_rows is None:
        assert p.n_rows == 0
        assert p.rows is None
    else:
        assert p.n_rows == len(bad_rows)
        assert p.rows is not None
        expected = keys_of(bad_rows, table)
        shown = keys_of(p.rows, table)
        if len(bad_rows) <= 5:
            assert shown == expected
        else:
            assert len(p.rows) == 5
            assert shown <= expected
    where = f"{table}.{column}" if column else table
    assert where in str(err)
    assert f"[{rule}]" in str(err)
    return p


def validate_error(tables: EventTables, **frames: pd.DataFrame) -> SchemaError:
    """The SchemaError raised by validating ``tables`` with some tables replaced."""
    broken = tables.replace(**frames)
    with pytest.raises(SchemaError) as info:
        broken.validate()
    return info.value


def construction_error(tables: EventTables, **frames: pd.DataFrame) -> SchemaError:
    """The SchemaError raised when building ``tables`` with some tables replaced."""
    with pytest.raises(SchemaError) as info:
        tables.replace(**frames)
    return info.value


def copy_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def read_raw_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def snapshot(directory: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(directory.iterdir())
    }


def test_the_sample_is_valid(sample: EventTables) -> None:
    # every rule test below relies on starting from a valid set of tables
    assert sample.validate() is sample
    assert len(sample.enterprises) == 10_000


# -- coercion rules (raised on construction or read) -----------------------------------
def test_missing_enterprises_table(parquet_dir: Path, tmp_path: Path) -> None:
    work = copy_dir(parquet_dir, tmp_path / "tables")
    (work / "enterprises.parquet").unlink()
    with pytest.raises(SchemaError) as info:
        EventTables.read(work)
    p = assert_problem(info.value, "enterprises", None, "missing table")
    assert "enterprises.parquet" in p.detail
    assert "enterprises.csv" in p.detail


@pytest.mark.parametrize("table", TABLE_NAMES[1:])
def test_an_absent_event_table_is_empty(parquet_dir: Path, tmp_path: Path, table: str) -> None:
    # only enterprises is required: a register without, say, penalties reads, empty
    work = copy_dir(parquet_dir, tmp_path / "tables")
    (work / f"{table}.parquet").unlink()
    tables = EventTables.read(work).validate()
    assert not tables.has(table) and len(getattr(tables, table)) == 0
    assert list(getattr(tables, table).columns) == TABLES[table].names
    for name in set(TABLE_NAMES) - {table}:
        assert tables.has(name)


@pytest.mark.parametrize(
    ("table", "column"),
    [("penalties", "severity"), ("inspections", "kind"), ("list_entries", "list")],
)
def test_missing_column(sample: EventTables, table: str, column: str) -> None:
    frame = getattr(sample, table).drop(columns=[column])
    err = construction_error(sample, **{table: frame})
    assert_problem(err, table, column, "missing column")


@pytest.mark.parametrize("column", [c.name for c in TABLES["annual_reports"].columns if c.optional])
def test_optional_financial_column_may_be_absent(sample: EventTables, column: str) -> None:
    assert column in {"employees", "revenue", "assets", "liabilities", "tax_paid"}
    frame = sample.annual_reports.drop(columns=[column])
    tables = sample.replace(annual_reports=frame).validate()
    reports = tables.annual_reports
    assert list(reports.columns) == TABLES["annual_reports"].names
    assert reports[column].isna().all()
    assert reports[column].dtype == TABLES["annual_reports"].column(column).dtype
    assert len(reports) == len(sample.annual_reports)


@pytest.mark.parametrize(
    ("table", "column", "make"),
    [
        ("penalties", "decided_on", lambda f: np.arange(len(f), dtype="int64")),
        ("licenses", "expires_on", lambda f: np.linspace(0, 1, len(f))),
        ("penalties", "penalty_id", lambda f: np.arange(len(f), dtype="float64")),
        ("inspections", "inspector_1", lambda f: np.full(len(f), 7.0)),
        ("annual_reports", "report_year", lambda f: f["filed_on"]),
        ("penalties", "fine_amount", lambda f: f["fine_amount"] > 0),
    ],
    ids=["date-int", "date-float", "id-float", "id-float-2", "integer-date", "amount-bool"],
)
def test_wrong_dtype(sample: EventTables, table: str, column: str, make) -> None:
    frame = getattr(sample, table).copy()
    frame[column] = make(frame)
    err = construction_error(sample, **{table: frame})
    p = assert_problem(err, table, column, "wrong dtype")
    assert str(TABLES[table].column(column).dtype) in p.detail


@pytest.mark.parametrize(
    ("table", "column", "bad"),
    [
        ("penalties", "decided_on", "not a date"),
        ("inspections", "published_on", "2021-02-30"),
        ("penalties", "fine_amount", "abc"),
        ("enterprises", "registered_capital", "12 yuan"),
        ("annual_reports", "report_year", "2019.5"),
        ("annual_reports", "employees", "3.5"),
    ],
)
def test_unparseable_csv_value(
    csv_dir: Path, tmp_path: Path, table: str, column: str, bad: str
) -> None:
    work = copy_dir(csv_dir, tmp_path / "tables")
    path = work / f"{table}.csv"
    raw = read_raw_csv(path)
    idx = pick(raw[column].notna())
    raw.loc[idx, column] = bad
    raw.to_csv(path, index=False)
    with pytest.raises(SchemaError) as info:
        EventTables.read(work)
    p = assert_problem(info.value, table, column, "unparseable", raw.loc[idx])
    assert (p.rows[column] == bad).all()


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("penalties", "decided_on"),
        ("inspections", "kind"),
        ("inspections", "published_on"),
        ("licenses", "issued_on"),
        ("list_entries", "listed_on"),
        ("annual_reports", "report_year"),
    ],
)
def test_required(sample: EventTables, table: str, column: str) -> None:
    assert not TABLES[table].column(column).nullable
    frame = getattr(sample, table).copy()
    idx = pick(np.ones(len(frame), dtype=bool))
    frame.loc[idx, column] = np.nan
    err = validate_error(sample, **{table: frame})
    assert_problem(err, table, column, "required", frame.loc[idx])


def test_required_empty_report_year_in_csv(csv_dir: Path, tmp_path: Path) -> None:
    # an empty report_year in a CSV (as a user would send it) is a "required" problem
    work = copy_dir(csv_dir, tmp_path / "tables")
    path = work / "annual_reports.csv"
    raw = read_raw_csv(path)
    idx = pick(np.ones(len(raw), dtype=bool), k=2)
    raw.loc[idx, "report_year"] = np.nan
    raw.to_csv(path, index=False)
    tables = EventTables.read(work)
    with pytest.raises(SchemaError) as info:
        tables.validate()
    p = the_problem(info.value)
    assert (p.table, p.column, p.rule, p.n_rows) == ("annual_reports", "report_year", "required", 2)
    assert set(p.rows["entity_id"]) == set(raw.loc[idx, "entity_id"])


@pytest.mark.parametrize("table", ["penalties", "annual_reports"])
def test_duplicate_key(sample: EventTables, table: str) -> None:
    frame = getattr(sample, table)
    idx = pick(np.ones(len(frame), dtype=bool), k=2)
    doubled = pd.concat([frame, frame.iloc[idx]], ignore_index=True)
    err = validate_error(sample, **{table: doubled})
    key = TABLES[table].key
    p = assert_problem(
        err,
        table,
        ", ".join(key),
        "duplicate key",
        doubled.loc[doubled.duplicated(list(key), keep=False)],
    )
    assert p.n_rows == 2 * len(idx)
    assert keys_of(p.rows, table) == keys_of(frame.iloc[idx], table)


@pytest.mark.parametrize("table", ["penalties", "licenses", "annual_reports"])
def test_unknown_entity(sample: EventTables, table: str) -> None:
    frame = getattr(sample, table).copy()
    idx = pick(np.ones(len(frame), dtype=bool))
    frame.loc[idx, "entity_id"] = ["E9999999", "NOBODY", "e0000001"]
    assert not frame.loc[idx, "entity_id"].isin(sample.enterprises["entity_id"]).any()
    err = validate_error(sample, **{table: frame})
    assert_problem(err, table, "entity_id", "unknown entity", frame.loc[idx])


@pytest.mark.parametrize("table", ["penalties", "inspections", "licenses"])
def test_before_registration(sample: EventTables, table: str) -> None:
    frame = getattr(sample, table).copy()
    event = TABLES[table].event_date
    registered = entity_dates(sample, frame, "registered_on")
    idx = pick(frame[event].notna())
    frame.loc[idx, event] = registered[idx] - 30 * DAY
    err = validate_error(sample, **{table: frame})
    p = assert_problem(err, table, event, "before registration", frame.loc[idx])
    # the rows show the registration date the event precedes
    shown = p.rows.set_index(list(TABLES[table].key))
    want = frame.loc[idx].set_index(list(TABLES[table].key))
    assert (shown["registered_on"] == registered[idx].to_numpy()).all()
    assert (shown[event] < shown["registered_on"]).all()
    assert shown.index.equals(want.index)


@pytest.mark.parametrize("table", ["penalties", "inspections", "licenses"])
def test_after_deregistration(sample: EventTables, table: str) -> None:
    schema = TABLES[table]
    frame = getattr(sample, table).copy()
    gone = entity_dates(sample, frame, "deregistered_on")
    idx = pick(gone.notna())
    # move the whole event (all its dates, keeping their order) to the day after
    shift = gone[idx] + DAY - frame.loc[idx, schema.event_date]
    assert (shift > pd.Timedelta(0)).all()
    for col in schema.columns:
        if col.kind == "date":
            frame.loc[idx, col.name] = frame.loc[idx, col.name] + shift
    err = validate_error(sample, **{table: frame})
    p = assert_problem(err, table, schema.event_date, "after deregistration", frame.loc[idx])
    assert (p.rows["deregistered_on"].to_numpy() == gone[idx].to_numpy()).all()
    assert (p.rows[schema.event_date] > p.rows["deregistered_on"]).all()


def _published_before_decided(t: EventTables):
    f = t.penalties.copy()
    idx = pick(np.ones(len(f), dtype=bool))
    f.loc[idx, "published_on"] = f.loc[idx, "decided_on"] - DAY
    return "penalties", "published_on", f, idx


def _inspection_published_before_inspected(t: EventTables):
    f = t.inspections.copy()
    idx = pick(np.ones(len(f), dtype=bool))
    f.loc[idx, "published_on"] = f.loc[idx, "inspected_on"] - DAY
    return "inspections", "published_on", f, idx


def _filed_before_year_end(t: EventTables):
    f = t.annual_reports.copy()
    new = pd.to_datetime(f["report_year"].astype(str) + "-12-31").astype("datetime64[s]")
    registered = entity_dates(t, f, "registered_on")
    idx = pick(f["filed_on"].notna() & (registered <= new))
    f.loc[idx, "filed_on"] = new[idx]
    return "annual_reports", "filed_on", f, idx


def _expires_before_issued(t: EventTables):
    f = t.licenses.copy()
    idx = pick(f["expires_on"].notna())
    f.loc[idx, "expires_on"] = f.loc[idx, "issued_on"] - DAY
    return "licenses", "expires_on", f, idx


def _disclosure_ends_before_publication(t: EventTables):
    f = t.penalties.copy()
    idx = pick(f["disclosure_ends_on"].notna())
    f.loc[idx, "disclosure_ends_on"] = f.loc[idx, "published_on"] - DAY
    return "penalties", "disclosure_ends_on", f, idx


@pytest.mark.parametrize(
    "breaker",
    [
        _published_before_decided,
        _inspection_published_before_inspected,
        _filed_before_year_end,
        _expires_before_issued,
        _disclosure_ends_before_publication,
    ],
)
def test_known_before_event(sample: EventTables, breaker) -> None:
    table, column, frame, idx = breaker(sample)
    err = validate_error(sample, **{table: frame})
    assert_problem(err, table, column, "known before event", frame.loc[idx])


def test_removed_before_listed(sample: EventTables) -> None:
    f = sample.list_entries.copy()
    idx = pick(f["removed_on"].notna())
    f.loc[idx, "removed_on"] = f.loc[idx, "listed_on"] - DAY
    err = validate_error(sample, list_entries=f)
    assert_problem(err, "list_entries", "removed_on", "removed before listed", f.loc[idx])


def test_restoration_before_penalty(sample: EventTables) -> None:
    f = sample.penalties.copy()
    idx = pick(f["restored_on"].notna())
    f.loc[idx, "restored_on"] = f.loc[idx, "published_on"] - DAY
    err = validate_error(sample, penalties=f)
    assert_problem(err, "penalties", "restored_on", "restoration before penalty", f.loc[idx])


@pytest.mark.parametrize("emptied", ["removal_reason", "removed_on"])
def test_removal_reason(sample: EventTables, emptied: str) -> None:
    f = sample.list_entries.copy()
    idx = pick(f["removed_on"].notna() & f["removal_reason"].notna())
    f.loc[idx, emptied] = np.nan
    err = validate_error(sample, list_entries=f)
    assert_problem(err, "list_entries", "removal_reason", "removal reason", f.loc[idx])


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("penalties", "severity"),
        ("inspections", "kind"),
        ("inspections", "outcome"),
        ("list_entries", "list"),
    ],
)
def test_unknown_category(sample: EventTables, table: str, column: str) -> None:
    allowed = TABLES[table].column(column).values
    assert allowed is not None
    f = getattr(sample, table).copy()
    f[column] = f[column].astype(object)
    idx = pick(np.ones(len(f), dtype=bool))
    f.loc[idx, column] = [f"not_a_{column}", "Serious", "blacklist"]
    assert not f.loc[idx, column].isin(allowed).any()
    err = construction_error(sample, **{table: f})
    p = assert_problem(err, table, column, "unknown category", f.loc[idx])
    assert all(v in p.detail for v in allowed)
    assert set(p.rows[column]) == set(f.loc[idx, column])


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("penalties", "fine_amount"),
        ("enterprises", "registered_capital"),
        ("annual_reports", "assets"),
        ("annual_reports", "employees"),
    ],
)
def test_non_negative(sample: EventTables, table: str, column: str) -> None:
    f = getattr(sample, table).copy()
    idx = pick(f[column].notna())
    f.loc[idx, column] = -f.loc[idx, column] - 1
    err = validate_error(sample, **{table: f})
    p = assert_problem(err, table, column, "non-negative", f.loc[idx])
    assert (p.rows[column] < 0).all()


# -- several problems, capped rows -----------------------------------------------------
def test_validate_reports_every_problem_at_once(sample: EventTables) -> None:
    pen = sample.penalties.copy()
    pen.loc[pick(np.ones(len(pen), dtype=bool), k=2), "fine_amount"] = -1.0
    ins = sample.inspections.copy()
    ins.loc[pick(np.ones(len(ins), dtype=bool), k=1), "entity_id"] = "E9999999"
    lic = sample.licenses
    lic = pd.concat([lic, lic.iloc[[0]]], ignore_index=True)
    err = validate_error(sample, penalties=pen, inspections=ins, licenses=lic)
    found = {(p.table, p.column, p.rule, p.n_rows) for p in err.problems}
    assert found == {
        ("penalties", "fine_amount", "non-negative", 2),
        ("inspections", "entity_id", "unknown entity", 1),
        ("licenses", "license_id", "duplicate key", 2),
    }
    message = str(err)
    assert message.startswith("3 problems in the event tables:")
    for where in ("penalties.fine_amount", "inspections.entity_id", "licenses.license_id"):
        assert where in message


def test_construction_reports_problems_of_several_tables_at_once(sample: EventTables) -> None:
    pen = sample.penalties.drop(columns=["severity", "published_on"])
    ins = sample.inspections.copy()
    ins["kind"] = ins["kind"].astype(object)
    ins.loc[0, "kind"] = "surprise"
    rep = sample.annual_reports.copy()
    rep["revenue"] = rep["revenue"].astype(object)
    rep.loc[[1, 2], "revenue"] = "lots"
    with pytest.raises(SchemaError) as info:
        EventTables(**{**dict(sample), "penalties": pen, "inspections": ins, "annual_reports": rep})
    found = {(p.table, p.column, p.rule, p.n_rows) for p in info.value.problems}
    assert found == {
        ("penalties", "severity", "missing column", 0),
        ("penalties", "published_on", "missing column", 0),
        ("inspections", "kind", "unknown category", 1),
        ("annual_reports", "revenue", "unparseable", 2),
    }
    assert str(info.value).startswith("4 problems in the event tables:")


def test_error_rows_are_capped_at_five(sample: EventTables) -> None:
    f = sample.penalties.copy()
    idx = pick(f["fine_amount"].notna(), k=12)
    f.loc[idx, "fine_amount"] = -1.0
    err = validate_error(sample, penalties=f)
    p = assert_problem(err, "penalties", "fine_amount", "non-negative", f.loc[idx])
    assert p.n_rows == 12
    assert list(p.rows["penalty_id"]) == list(f.loc[idx[:5], "penalty_id"])
    assert "(12 rows)" in str(err)
    assert "first 5 rows" in str(err)
    assert f.loc[idx[5], "penalty_id"] not in str(err)


# -- round trips -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip_is_exact(
    sample: EventTables, parquet_dir: Path, csv_dir: Path, fmt: str
) -> None:
    directory = parquet_dir if fmt == "parquet" else csv_dir
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        f"{t}.{fmt}" for t in ALL_TABLE_NAMES
    )
    back = EventTables.read(directory)
    for name, frame in sample:
        pd.testing.assert_frame_equal(getattr(back, name), frame, check_exact=True)
        for col in TABLES[name].columns:
            assert getattr(back, name)[col.name].dtype == col.dtype


def test_fingerprint_is_equal_across_formats(
    sample: EventTables, parquet_dir: Path, csv_dir: Path
) -> None:
    from_parquet = EventTables.read(parquet_dir).fingerprint()
    from_csv = EventTables.read(csv_dir).fingerprint()
    assert from_parquet == from_csv == sample.fingerprint()
    # ... and it does depend on the content
    pen = sample.penalties.copy()
    pen.loc[0, "fine_amount"] += 1
    assert sample.replace(penalties=pen).fingerprint() != from_parquet


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ids_with_leading_zeros_survive(sample: EventTables, tmp_path: Path, fmt: str) -> None:
    first = sample.penalties["entity_id"].drop_duplicates().iloc[:3].tolist()
    small = sample.subset(first)
    new_ids = dict(zip(first, ["000123", "0042", "007"], strict=True))
    frames = {
        name: frame.assign(entity_id=frame["entity_id"].map(new_ids)) for name, frame in small
    }
    frames["penalties"] = frames["penalties"].assign(
        penalty_id=[f"{i:06d}" for i in range(len(frames["penalties"]))]
    )
    small = EventTables(**frames).validate()
    small.write(tmp_path / "small", format=fmt)
    if fmt == "csv":
        assert "000123," in (tmp_path / "small" / "enterprises.csv").read_text()
    back = EventTables.read(tmp_path / "small")
    assert sorted(back.enterprises["entity_id"]) == ["000123", "0042", "007"]
    assert back.penalties["penalty_id"].iloc[0] == "000000"
    for name, frame in small:
        pd.testing.assert_frame_equal(getattr(back, name), frame)
    assert back.fingerprint() == small.fingerprint()


# -- writing ---------------------------------------------------------------------------
def test_write_refuses_to_overwrite(sample: EventTables, tmp_path: Path) -> None:
    target = sample.write(tmp_path / "t")
    before = snapshot(target)
    smaller = sample.replace(penalties=sample.penalties.head(5))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        smaller.write(target)
    assert snapshot(target) == before
    smaller.write(target, overwrite=True)
    assert len(EventTables.read(target).penalties) == 5
    assert sorted(os.listdir(tmp_path)) == ["t"]


def test_write_refuses_to_replace_tables_of_the_other_format(
    sample: EventTables, tmp_path: Path
) -> None:
    target = sample.write(tmp_path / "t", format="csv")
    before = snapshot(target)
    smaller = sample.replace(penalties=sample.penalties.head(5))
    with pytest.raises(FileExistsError):
        smaller.write(target, format="parquet")
    assert snapshot(target) == before


def test_write_rejects_an_unknown_format(sample: EventTables, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        sample.write(tmp_path / "t", format="xlsx")
    assert not (tmp_path / "t").exists()


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch):
    """Call the returned function to make the 4th DataFrame.to_parquet call from then on
    fail, as a full disk would; it returns the call counter."""

    def arm() -> dict[str, int]:
        calls = {"n": 0}
        original = pd.DataFrame.to_parquet

        def to_parquet(self, *args, **kwargs):
            calls["n"] += 1
            if calls["n"] == 4:
                raise OSError("No space left on device")
            return original(self, *args, **kwargs)

        monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
        return calls

    return arm


def test_interrupted_write_leaves_no_new_directory(
    sample: EventTables, tmp_path: Path, full_disk
) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    calls = full_disk()
    with pytest.raises(OSError, match="No space left"):
        sample.write(parent / "out")
    assert calls["n"] == 4
    assert not (parent / "out").exists()
    assert list(parent.iterdir()) == []  # no staging directory left behind


def test_interrupted_overwrite_keeps_the_old_tables(
    sample: EventTables, tmp_path: Path, full_disk
) -> None:
    target = sample.write(tmp_path / "t")
    before = snapshot(target)
    smaller = sample.replace(penalties=sample.penalties.head(5))
    calls = full_disk()
    with pytest.raises(OSError, match="No space left"):
        smaller.write(target, overwrite=True)
    assert calls["n"] == 4
    assert snapshot(target) == before
    assert sorted(os.listdir(tmp_path)) == ["t"]
    pd.testing.assert_frame_equal(EventTables.read(target).penalties, sample.penalties)


# -- helpers ---------------------------------------------------------------------------
def test_subset_keeps_only_the_given_entities(sample: EventTables) -> None:
    ids = sample.enterprises["entity_id"].iloc[::97].tolist()
    sub = sample.subset([*ids, ids[0], "NOT_AN_ENTITY"])
    assert len(sub.enterprises) == len(ids)
    for name, frame in sample:
        part = getattr(sub, name)
        inside = frame["entity_id"].isin(ids)
        assert set(part["entity_id"]) <= set(ids)
        assert len(part) == int(inside.sum())
        assert keys_of(part, name) == keys_of(frame[inside], name)
        assert part.index.equals(pd.RangeIndex(len(part)))
        for col in TABLES[name].columns:
            assert part[col.name].dtype == col.dtype
    sub.validate()


def test_replace_returns_a_new_set_of_tables(sample: EventTables) -> None:
    before = sample.fingerprint()
    head = sample.penalties.head(3)
    small = sample.replace(penalties=head)
    assert len(small.penalties) == 3
    assert sample.fingerprint() == before  # the original is untouched
    assert len(sample.penalties) > 3
    pd.testing.assert_frame_equal(sample.enterprises, small.enterprises)
    # a replacement given as plain text is coerced like any input
    as_text = head.astype(object).where(head.notna(), None)
    for col in ("decided_on", "published_on", "disclosure_ends_on", "restored_on"):
        as_text[col] = head[col].dt.strftime("%Y-%m-%d").where(head[col].notna(), None)
    pd.testing.assert_frame_equal(sample.replace(penalties=as_text).penalties, small.penalties)
    with pytest.raises(SchemaError, match="not_a_table is not a table of the data model"):
        sample.replace(not_a_table=head)


def test_summary_counts_match_the_tables(sample: EventTables) -> None:
    summary = sample.summary()
    # the six, then the indicator tables that hold rows (the sample holds all four)
    assert list(summary.index) == [*TABLE_NAMES, *INDICATOR_TABLES]
    for name, frame in sample:
        known = frame[TABLES[name].known_date]
        row = summary.loc[name]
        assert row["rows"] == len(frame)
        assert row["entities"] == frame["entity_id"].nunique()
        assert row["first_known"] == known.min()
        assert row["last_known"] == known.max()
    assert summary.loc["enterprises", "entities"] == 10_000


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a user would build it: object columns of text, numbers and None."""
    out = {}
    for col, values in frame.items():
        if values.dtype.kind == "M":
            out[col] = [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in values]
        elif isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == "str":
            out[col] = [None if pd.isna(v) else str(v) for v in values]
        else:
            out[col] = [
                None if pd.isna(v) else v.item() if hasattr(v, "item") else v for v in values
            ]
    return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in out.items()})


def test_construction_from_plain_columns_coerces_to_declared_dtypes(
    sample: EventTables,
) -> None:
    typed = sample.subset(sample.enterprises["entity_id"].iloc[::50])
    plain = {name: _plain(frame) for name, frame in typed}
    for frame in plain.values():
        assert all(frame[c].dtype == object for c in frame.columns)
    built = EventTables(**plain)
    for name in TABLE_NAMES:
        frame = getattr(built, name)
        assert list(frame.columns) == TABLES[name].names
        for col in TABLES[name].columns:
            assert frame[col.name].dtype == TABLES[name].column(col.name).dtype, (name, col)
        pd.testing.assert_frame_equal(frame, getattr(typed, name), check_exact=True)
    built.validate()
