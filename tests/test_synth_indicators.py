"""The synthetic world's indicator tables (issue 18, item 2): people, addresses, changes,
complaints and other departments' lists, drawn from the latent risk, the truth included.

The six tables of a world do not move when the indicator tables are drawn (they come
from random streams of their own), so the packaged sample, the reference model and every
realism figure of the world stay as they were.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import creditrisk as cr
from creditrisk.data.schema import INDICATOR_TABLES, TABLE_NAMES

N, START, END, SEED = 3_000, "2019-01-01", "2024-12-31", 11


@pytest.fixture(scope="module")
def plain() -> cr.synth.World:
    return cr.synth.generate(N, START, END, seed=SEED, indicators=False)


@pytest.fixture(scope="module")
def world() -> cr.synth.World:
    return cr.synth.generate(N, START, END, seed=SEED, indicators=True)


@pytest.fixture(scope="module")
def mu(world) -> pd.Series:
    return pd.Series(world.truth.mu, index=world.truth.entity_ids)


def test_the_six_tables_and_the_oracle_do_not_move(plain, world):
    for name in TABLE_NAMES:
        theirs = getattr(world.tables, name)
        if name == "enterprises":
            assert theirs["address_id"].notna().all()
            theirs = theirs.assign(address_id=plain.tables.enterprises["address_id"])
        pd.testing.assert_frame_equal(theirs, getattr(plain.tables, name))
    assert [name for name, _ in plain.tables] == list(TABLE_NAMES)
    pd.testing.assert_series_equal(
        world.truth.probability("2023-07-01"), plain.truth.probability("2023-07-01")
    )
    assert plain.truth.indicators is None


def test_valid_deterministic_and_seeded(world):
    assert world.tables.validate() is world.tables
    assert [name for name, _ in world.tables][len(TABLE_NAMES) :] == list(INDICATOR_TABLES)
    again = cr.synth.generate(N, START, END, seed=SEED, indicators=True)
    assert again.tables.fingerprint() == world.tables.fingerprint()
    other = cr.synth.generate(N, START, END, seed=SEED + 1, indicators=True)
    assert other.tables.roles["person_id"].tolist() != world.tables.roles["person_id"].tolist()


def test_nothing_known_after_the_snapshot(world):
    end = pd.Timestamp(END)
    t = world.tables
    for frame, columns in (
        (t.roles, ("published_on", "to_on")),
        (t.changes, ("published_on",)),
        (t.complaints, ("recorded_on", "concluded_on")),
        (t.external_lists, ("published_on", "removed_on")),
    ):
        for column in columns:
            assert not (frame[column] > end).any(), column
    pending = t.complaints["substantiated"] == "pending"
    assert t.complaints.loc[pending, "concluded_on"].isna().all()
    assert t.complaints.loc[~pending, "concluded_on"].notna().all()


def test_controllers_most_hold_one_a_few_many_and_share_a_propensity(world, mu):
    truth = world.truth.indicators
    held = truth.controller.value_counts()
    assert (held == 1).mean() > 0.75 and held.max() >= 8
    # the propensity is what a controller's enterprises share: it tracks their mu
    propensity = truth.controller.map(truth.controller_propensity)
    assert np.corrcoef(propensity, mu.reindex(propensity.index))[0, 1] > 0.4
    # and the enterprises of one controller are alike: their mu correlate
    several = truth.controller[truth.controller.map(held) >= 2]
    pairs = pd.DataFrame({"controller": several, "mu": mu.reindex(several.index)})
    first = pairs.groupby("controller")["mu"].first()
    last = pairs.groupby("controller")["mu"].last()
    assert np.corrcoef(first, last)[0, 1] > 0.25
    # the controller is on the register: a legal representative or a shareholder
    roles = world.tables.roles
    held_by = set(zip(roles["person_id"], roles["entity_id"], strict=True))
    kept = truth.controller[truth.controller.index.isin(roles["entity_id"])]
    branches = world.tables.enterprises.set_index("entity_id")["entity_type"] == "branch"
    kept = kept[~branches.reindex(kept.index).to_numpy()]
    assert all((person, entity) in held_by for entity, person in kept.items())


def test_the_riskiest_more_often_share_a_controller_and_nominees_front_a_few(world, mu):
    truth = world.truth.indicators
    several = truth.controller.map(truth.controller.value_counts()) >= 2
    top = mu >= mu.quantile(0.9)
    assert several[top.to_numpy()].mean() > several[~top.to_numpy()].mean() + 0.1
    # nominees front a few enterprises each, whatever the world's size
    lr = world.tables.roles[world.tables.roles["role"] == "legal_representative"]
    led = lr.groupby("person_id")["entity_id"].nunique()
    assert led.max() <= cr.synth.IndicatorParams().max_portfolio


def test_legal_representatives_follow_their_changes(world):
    t = world.tables
    lr = t.roles[t.roles["role"] == "legal_representative"]
    changes = t.changes[t.changes["kind"] == "legal_representative"]
    assert len(changes) > 50
    ended = set(zip(lr["entity_id"], lr["person_id"], lr["to_on"], strict=True))
    began = set(zip(lr["entity_id"], lr["person_id"], lr["from_on"], strict=True))
    for row in changes.itertuples():
        assert (row.entity_id, row.old_value, row.changed_on) in ended
        assert (row.entity_id, row.new_value, row.changed_on) in began
    # one legal representative at a time, and no branch has one
    open_now = lr[lr["to_on"].isna()].groupby("entity_id").size()
    assert open_now.max() == 1
    types = t.enterprises.set_index("entity_id")["entity_type"]
    assert not (types.reindex(lr["entity_id"]) == "branch").any()


def test_addresses_follow_their_changes_and_shells_cluster(world, mu):
    t = world.tables
    moves = t.changes[t.changes["kind"] == "address"]
    assert len(moves) > 50
    last = moves.groupby("entity_id")["new_value"].last()
    now = t.enterprises.set_index("entity_id")["address_id"]
    assert (now.reindex(last.index) == last).all()
    chained = moves.groupby("entity_id")["old_value"].shift(-1).dropna()
    assert (chained == moves.loc[chained.index, "new_value"]).all()
    kind = world.truth.indicators.address_kind
    assert {"own", "controller", "shared", "shell"} == set(kind)
    assert mu[kind == "shell"].mean() > mu[kind == "own"].mean() + 0.3
    at_first = pd.concat(
        [moves.groupby("entity_id")["old_value"].first(), now[~now.index.isin(moves["entity_id"])]]
    )
    shell_sizes = at_first.groupby(at_first).size()[at_first[kind[kind == "shell"].index]]
    assert shell_sizes.min() >= 10 or len(shell_sizes) == 0


def test_changes_complaints_and_listings_rise_with_latent_risk(world, mu):
    t = world.tables
    for frame in (t.changes, t.complaints, t.external_lists):
        with_any = mu.index.isin(frame["entity_id"])
        assert mu[with_any].mean() > mu[~with_any].mean() + 0.1
    verdicts = t.complaints[t.complaints["substantiated"] != "pending"]
    yes = verdicts["substantiated"] == "yes"
    risk = mu.reindex(verdicts["entity_id"]).to_numpy()
    assert risk[yes.to_numpy()].mean() > risk[~yes.to_numpy()].mean()


def test_every_complaint_inspection_follows_a_complaint(world):
    t = world.tables
    inspected = t.inspections[
        (t.inspections["kind"] == "complaint")
        & (t.inspections["inspected_on"] >= pd.Timestamp(START) + pd.Timedelta(days=30))
    ]
    received = t.complaints.groupby("entity_id")["received_on"].agg(list)
    for row in inspected.itertuples():
        days = received.get(row.entity_id, [])
        assert any(row.inspected_on - pd.Timedelta(days=21) <= d < row.inspected_on for d in days)


def test_indicator_params_change_the_world_as_asked(plain):
    none = cr.synth.IndicatorParams(
        list_rates={"court_judgment_defaulter": 0.0}, complaint_rate=0.0, shell_share=0.0
    )
    quiet = cr.synth.generate(N, START, END, seed=SEED, indicators=none)
    assert len(quiet.tables.external_lists) == 0
    assert "shell" not in set(quiet.truth.indicators.address_kind)
    # complaints remain: those behind complaint inspections (pending while the
    # inspection's result is not yet published)
    n_complaint_inspections = (plain.tables.inspections["kind"] == "complaint").sum()
    decided = quiet.tables.complaints["substantiated"] != "pending"
    assert 0 < decided.sum() <= n_complaint_inspections


def test_the_command_line_generates_them_unless_told_not_to(tmp_path):
    from typer.testing import CliRunner

    from creditrisk.cli import app

    args = ["generate", "--n", "300", "--seed", "3", "--start", START, "--end", END]
    plain = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "plain"), "--no-indicators"])
    rich = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "rich")])
    assert plain.exit_code == 0 and rich.exit_code == 0, (plain.output, rich.output)
    assert not any((tmp_path / "plain" / f"{n}.parquet").exists() for n in INDICATOR_TABLES)
    read = cr.EventTables.read(tmp_path / "rich").validate()
    expected = cr.synth.generate(300, START, END, seed=3, indicators=True).tables
    assert read.fingerprint() == expected.fingerprint()
