"""PostgreSQL's Arrow reads (ADBC) give exactly the tables and errors of the other reads.

Arrow reads cast dates, whole numbers and categories in Arrow before one coercion, and
fetch the largest table and the others on two connections at once: neither may change a
value, a dtype, a category, the order of rows or an error. The expectations come from
the same database read through SQLAlchemy (``arrow=False``), through one connection, and
with the Arrow columns left uncast (as ``coerce_table`` received them before).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from _postgres import postgres_schema

import creditrisk as cr
from creditrisk import EventTables, SchemaError
from creditrisk.data import sql as sql_module
from creditrisk.data.sql import read_frames, write_sql


@pytest.fixture
def pg() -> Iterator[str]:
    """A URL whose tables land in a fresh PostgreSQL schema, dropped afterwards."""
    with postgres_schema() as (url, _):
        yield url


def awkward_register() -> dict[str, pd.DataFrame]:
    """The sample with what a cast could get wrong: empty counts and dates, categories
    beyond ASCII (sorted by code point), an all-empty category, shuffled rows."""
    frames = {name: frame.copy() for name, frame in cr.load_sample()}
    reports = frames["annual_reports"]
    reports.loc[::7, "employees"] = pd.NA
    reports.loc[::11, "filed_on"] = pd.NaT
    enterprises = frames["enterprises"]
    enterprises["industry"] = enterprises["industry"].astype(object)
    enterprises.loc[:5, "industry"] = ["Ärger", "éclair", "中文", "Zeta", "zeta", ""]
    enterprises.loc[6:9, "region"] = None
    frames["licenses"]["license_type"] = None
    rng = np.random.default_rng(3)
    return {name: frame.iloc[rng.permutation(len(frame))] for name, frame in frames.items()}


def written(url: str, frames: dict[str, pd.DataFrame]) -> str:
    for name, frame in frames.items():
        write_sql(frame.reset_index(drop=True), url, name)
    return url


def assert_same(got: dict[str, pd.DataFrame], want: dict[str, pd.DataFrame]) -> None:
    assert list(got) == list(want)
    for name, frame in want.items():
        pd.testing.assert_frame_equal(got[name], frame, check_exact=True, obj=name)


def plain(table, name, register) -> pd.DataFrame:
    """The Arrow columns uncast: what coerce_table was given before the casts."""
    return sql_module._arrow_frame(table)


def test_arrow_casts_give_the_tables_of_sqlalchemy_and_of_uncast_columns(pg, monkeypatch):
    url = written(pg, awkward_register())
    fast = read_frames(url)
    assert_same(fast, read_frames(url, arrow=False))
    categories = list(fast["enterprises"]["industry"].cat.categories)
    assert categories == sorted(categories) and {"Ärger", "中文", ""} <= set(categories)
    assert fast["annual_reports"]["employees"].dtype == "Int64"
    assert fast["annual_reports"]["employees"].isna().sum() > 0
    monkeypatch.setattr(sql_module, "_typed_frame", plain)
    assert_same(fast, read_frames(url))


def test_arrow_casts_refuse_what_uncast_columns_refuse(pg, monkeypatch):
    frames = awkward_register()
    penalties = frames["penalties"]
    penalties["severity"] = penalties["severity"].astype(object)
    penalties.iloc[::50, penalties.columns.get_loc("severity")] = "bogus"
    url = written(pg, frames)
    with pytest.raises(SchemaError) as cast:
        read_frames(url)
    assert "bogus" in str(cast.value) and "unknown category" in str(cast.value)
    monkeypatch.setattr(sql_module, "_typed_frame", plain)
    with pytest.raises(SchemaError) as uncast:
        read_frames(url)
    assert str(cast.value) == str(uncast.value)


def test_two_connections_give_the_tables_of_one(pg, monkeypatch):
    url = written(pg, awkward_register())
    threads: list[str] = []
    fetch = sql_module._fetch_arrow

    def spied(*args):
        threads.append(threading.current_thread().name)
        return fetch(*args)

    monkeypatch.setattr(sql_module, "_fetch_arrow", spied)
    both = read_frames(url)
    assert len(set(threads)) == 2  # the largest table and the others, at once
    threads.clear()
    monkeypatch.setattr(sql_module, "_TWO_CONNECTIONS", False)
    one = read_frames(url)
    assert len(set(threads)) == 1
    assert_same(both, one)
    assert EventTables(**both).fingerprint() == EventTables(**one).fingerprint()
