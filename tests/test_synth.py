"""The synthetic world (``creditrisk.synth``) against the regulator's rules of DOMAIN.md.

One module-scoped world is generated and every expectation is derived from its tables
and the rules (annual report deadline and July listing, three-year escalation, serious
list exits, penalty disclosure and credit restoration, deregistration, the snapshot at
``start``/``end``, inspector assignment) and from the truth it exposes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import creditrisk.synth as synth

N, START, END, SEED = 20_000, "2018-01-01", "2025-12-31", 11
# DOMAIN.md's periods, in calendar months (an anniversary, not a count of days)
THREE_YEARS = pd.DateOffset(years=3)  # listing period, escalation, 3-year disclosure
ONE_YEAR = pd.DateOffset(months=12)  # earliest early exit from the serious list
MINOR_DISCLOSURE = pd.DateOffset(months=3)  # criticism notices, lower-amount fines
WAIT = pd.DateOffset(months=6)  # of disclosure before a restoration ...
WAIT_STRICT = pd.DateOffset(months=12)  # ... and in food, drug and special equipment
STRICT_SECTORS = ("food", "drug", "special_equipment")
FILING_TO_REMOVAL_DAYS = 7  # removal decided within about 5 working days
WARNING_DAYS = 60  # public warning before an escalation
HEAVIER = ("suspension", "license_revocation", "qualification_downgrade", "trade_ban")
DAY = pd.Timedelta(days=1)


# -- fixtures and helpers ----------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return synth.generate(n_enterprises=N, start=START, end=END, seed=SEED)


@pytest.fixture(scope="module")
def ents(world) -> pd.DataFrame:
    return world.tables.enterprises.set_index("entity_id")


@pytest.fixture(scope="module")
def entries(world, ents) -> pd.DataFrame:
    lst = world.tables.list_entries
    return lst.assign(
        days=(lst["removed_on"] - lst["listed_on"]).dt.days,
        entity_type=lst["entity_id"].map(ents["entity_type"]).astype("str"),
        deregistered_on=lst["entity_id"].map(ents["deregistered_on"]),
    )


def _show(frame: pd.DataFrame, n: int = 5) -> str:
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        return f"{len(frame)} rows, e.g.\n{frame.head(n).to_string()}"


def _july(years: pd.Series, day: int) -> pd.Series:
    return pd.to_datetime(years.astype("str") + f"-07-{day:02d}")


def _deadline(report_year: pd.Series) -> pd.Series:
    """30 June of the year after the report year."""
    return pd.to_datetime((report_year + 1).astype("str") + "-06-30")


def _on_a_list(
    keys: pd.DataFrame, entries: pd.DataFrame, lo: str, hi: str, lists=None
) -> np.ndarray:
    """Per row of ``keys``: is its entity on a list at some time in [keys[lo], keys[hi]]?

    An entry counts while ``listed_on <= hi`` and it is not removed before ``lo``.
    """
    chosen = entries if lists is None else entries[entries["list"].isin(lists)]
    pairs = (
        keys[["entity_id", lo, hi]]
        .rename(columns={lo: "_lo", hi: "_hi"})
        .reset_index(names="_row")
        .merge(chosen[["entity_id", "listed_on", "removed_on"]], on="entity_id")
    )
    hit = (pairs["listed_on"] <= pairs["_hi"]) & (
        pairs["removed_on"].isna() | (pairs["removed_on"] >= pairs["_lo"])
    )
    return keys.index.isin(pairs.loc[hit, "_row"])


def _listed_at(keys: pd.DataFrame, entries: pd.DataFrame, day: str) -> np.ndarray:
    """Per row of ``keys``: is its entity on any list on ``keys[day]`` (not removed by then)?"""
    pairs = (
        keys[["entity_id", day]]
        .rename(columns={day: "_day"})
        .reset_index(names="_row")
        .merge(entries[["entity_id", "listed_on", "removed_on"]], on="entity_id")
    )
    hit = (pairs["listed_on"] <= pairs["_day"]) & (
        pairs["removed_on"].isna() | (pairs["removed_on"] > pairs["_day"])
    )
    return keys.index.isin(pairs.loc[hit, "_row"])


def _registered(ents: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Registered at as_of: registered before it and not deregistered before it."""
    gone = ents["deregistered_on"]
    return (ents["registered_on"] < as_of) & (gone.isna() | (gone >= as_of))


def _random_labels(world, as_of: pd.Timestamp) -> tuple[pd.Series, pd.Series]:
    """True probability and the label 'a random inspection in (as_of, as_of + 365 days]
    did not find the entity compliant', for entities registered at as_of with at least
    one such inspection."""
    ins = world.tables.inspections
    window = ins[
        (ins["kind"] == "random")
        & (ins["inspected_on"] > as_of)
        & (ins["inspected_on"] <= as_of + 365 * DAY)
    ]
    label = (window["outcome"] != "compliant").groupby(window["entity_id"]).any()
    prob = world.truth.probability(as_of).reindex(label.index)
    known = prob.notna()
    return prob[known], label[known]


# -- 1, 2: determinism and validity ------------------------------------------------------
def test_same_seed_same_world_and_other_seed_other_world():
    kwargs = {"n_enterprises": 2_000, "start": "2019-01-01", "end": "2022-12-31"}
    a = synth.generate(seed=5, **kwargs)
    b = synth.generate(seed=5, **kwargs)
    c = synth.generate(seed=6, **kwargs)
    assert a.tables.fingerprint() == b.tables.fingerprint()
    pd.testing.assert_frame_equal(a.inspectors, b.inspectors)
    for name in (
        "mu",
        "x",
        "registered_day",
        "deregistered_day",
        "dormant_month",
        "dormancy_hazard",
        "exit_hazard",
    ):
        np.testing.assert_array_equal(getattr(a.truth, name), getattr(b.truth, name), name)
    pd.testing.assert_series_equal(a.truth.inspector_strictness, b.truth.inspector_strictness)
    pd.testing.assert_index_equal(a.truth.months, b.truth.months)
    pd.testing.assert_series_equal(
        a.truth.probability("2021-01-01"), b.truth.probability("2021-01-01")
    )
    assert c.tables.fingerprint() != a.tables.fingerprint()
    assert not np.array_equal(c.truth.mu, a.truth.mu)


def test_tables_pass_validation(world):
    assert world.tables.validate() is world.tables
    assert len(world.tables.enterprises) == N
    assert world.tables.enterprises["entity_id"].is_unique
    for name, frame in world.tables:
        assert len(frame) > 0, name


# -- 3, 4: annual reports and the July listing -------------------------------------------
def test_no_not_filed_listing_for_a_report_filed_on_time(world, entries):
    nf = entries[entries["reason"] == "annual_report_not_filed"]
    assert len(nf) > 1_000
    assert set(nf["list"].unique()) <= {"abnormal_operation", "abnormal_mark"}
    reports = world.tables.annual_reports[["entity_id", "report_year", "filed_on"]]
    m = nf.assign(report_year=nf["listed_on"].dt.year - 1).merge(
        reports, on=["entity_id", "report_year"], how="left", indicator=True
    )
    no_report = m[m["_merge"] != "both"]
    assert no_report.empty, "listed for a report that was never due:\n" + _show(no_report)
    on_time = m["filed_on"].notna() & (m["filed_on"] <= _deadline(m["report_year"]))
    assert not on_time.any(), "listed although filed by 30 June:\n" + _show(m[on_time])


def test_not_filed_listings_fall_in_first_half_of_july(entries):
    nf = entries[entries["reason"] == "annual_report_not_filed"]
    assert (nf["listed_on"].dt.month == 7).all(), _show(nf[nf["listed_on"].dt.month != 7])
    late = nf[nf["listed_on"].dt.day > 15]
    assert late.empty, "listed after 15 July:\n" + _show(late[["entry_id", "listed_on"]])


def test_every_unlisted_non_filer_alive_in_july_gets_listed(world, ents, entries):
    reports = world.tables.annual_reports[["entity_id", "report_year", "filed_on"]]
    listing_year = reports["report_year"] + 1
    jul1, jul15, jul31 = (_july(listing_year, d) for d in (1, 15, 31))
    gone = reports["entity_id"].map(ents["deregistered_on"])
    missed = reports["filed_on"].isna() | (reports["filed_on"] > _deadline(reports["report_year"]))
    candidates = reports[
        missed
        & (jul1 >= world.start)
        & (jul31 <= world.end)
        & (gone.isna() | (gone > jul31))  # registered all through July
    ].assign(jul1=jul1, jul15=jul15)
    assert len(candidates) > 1_000
    nf = entries[(entries["reason"] == "annual_report_not_filed")]
    listed = pd.MultiIndex.from_arrays([nf["entity_id"], nf["listed_on"].dt.year])
    got = pd.MultiIndex.from_arrays([candidates["entity_id"], candidates["report_year"] + 1]).isin(
        listed
    )
    # exempt: on any list (abnormal or serious) at some time during the listing days
    already = _on_a_list(candidates, entries, "jul1", "jul15")
    assert got.sum() > 0.75 * len(candidates)
    missing = candidates[~got & ~already]
    assert missing.empty, (
        "missed the 30 June deadline, on no list in 1-15 July, registered through July, "
        "but not listed:\n" + _show(missing[["entity_id", "report_year", "filed_on"]], 12)
    )


# -- 5, 6: abnormal list escalation and serious list exits -------------------------------
def test_abnormal_operation_escalates_to_serious_list_after_three_years(world, entries):
    abn = entries[entries["list"] == "abnormal_operation"]
    esc = abn[abn["removal_reason"] == "escalated"]
    assert len(esc) >= 20
    anniversary = esc["listed_on"] + THREE_YEARS  # calendar-exact, not 1,096 days
    assert (esc["removed_on"] == anniversary).all(), _show(esc[esc["removed_on"] != anniversary])
    too_long = abn[abn["removed_on"] > abn["listed_on"] + THREE_YEARS]
    assert too_long.empty, _show(too_long)
    still_open = abn[abn["removed_on"].isna()]
    overdue = still_open[world.end >= still_open["listed_on"] + THREE_YEARS]
    assert overdue.empty, "open beyond three years at the snapshot:\n" + _show(overdue)
    others = entries[(entries["list"] != "abnormal_operation")]
    assert not (others["removal_reason"] == "escalated").any()

    serious = entries[entries["list"] == "serious_illegal"]
    m = esc[["entry_id", "entity_id", "removed_on"]].merge(
        serious[["entity_id", "listed_on", "removed_on", "reason"]],
        on="entity_id",
        suffixes=("", "_s"),
    )
    on_that_day = (m["listed_on"] <= m["removed_on"]) & (
        m["removed_on_s"].isna() | (m["removed_on_s"] > m["removed_on"])
    )
    new = (m["listed_on"] == m["removed_on"]) & (m["reason"] == "escalated_from_abnormal")
    older = m["listed_on"] < m["removed_on"]
    ok = set(m.loc[on_that_day & (new | older), "entry_id"])
    lost = esc[~esc["entry_id"].isin(ok)]
    assert lost.empty, "escalated but not on the serious list that day:\n" + _show(lost)
    # and each escalated_from_abnormal entry comes from such an escalation
    from_abn = serious[
        (serious["reason"] == "escalated_from_abnormal") & (serious["listed_on"] >= world.start)
    ]
    assert len(from_abn) > 0
    source = pd.MultiIndex.from_arrays([esc["entity_id"], esc["removed_on"]])
    orphan = from_abn[
        ~pd.MultiIndex.from_arrays([from_abn["entity_id"], from_abn["listed_on"]]).isin(source)
    ]
    assert orphan.empty, _show(orphan)


def test_abnormal_marks_for_sole_proprietors_never_escalate(world, entries):
    abnormal = entries[entries["list"].isin(["abnormal_operation", "abnormal_mark"])]
    sole = abnormal["entity_type"] == "sole_proprietor"
    marked = abnormal["list"] == "abnormal_mark"
    assert marked.any() and (~marked).any()
    wrong = abnormal[sole != marked]
    assert wrong.empty, "sole proprietors are marked, others listed:\n" + _show(wrong)
    assert (abnormal.loc[~sole, "entity_type"] == "company").any()
    marks = abnormal[marked]
    assert not (marks["removal_reason"] == "escalated").any()
    # marks do stay open beyond three years: the rule is not vacuous
    assert (marks["removed_on"].fillna(world.end) > marks["listed_on"] + THREE_YEARS).any()


def test_serious_list_exits(world, entries):
    serious = entries[entries["list"] == "serious_illegal"]
    assert set(serious["reason"].unique()) <= {"escalated_from_abnormal", "serious_violation"}
    reason = serious["removal_reason"]
    assert set(reason.dropna().unique()) == {"expired", "restored", "deregistered"}
    expired = serious[reason == "expired"]
    ends = expired["listed_on"] + THREE_YEARS
    assert (expired["removed_on"] == ends).all(), _show(expired[expired["removed_on"] != ends])
    restored = serious[reason == "restored"]
    early = restored[restored["removed_on"] < restored["listed_on"] + ONE_YEAR]
    assert early.empty, _show(early)
    gone = serious[reason == "deregistered"]
    assert gone["deregistered_on"].notna().all(), _show(gone)
    removed = serious["removed_on"].notna()
    assert (serious["removed_on"] <= serious["listed_on"] + THREE_YEARS)[removed].all()
    still_open = serious[serious["removed_on"].isna()]
    assert (world.end < still_open["listed_on"] + THREE_YEARS).all()


def test_early_exits_need_obligations_met_and_no_heavier_penalty(world, entries):
    """Issue 21, point 10: early exit only with every annual report due filed (an entity
    escalated for a missing report files it first) and no heavier penalty decided since
    the listing."""
    serious = entries[entries["list"] == "serious_illegal"]
    early = serious[serious["removal_reason"] == "restored"]
    assert len(early) >= 20
    reports = world.tables.annual_reports
    m = early[["entry_id", "entity_id", "removed_on"]].merge(reports, on="entity_id")
    unfiled = m[
        (_deadline(m["report_year"]) < m["removed_on"])
        & (m["filed_on"].isna() | (m["filed_on"] > m["removed_on"]))
    ]
    assert unfiled.empty, "left early with a report outstanding:\n" + _show(unfiled)
    pen = world.tables.penalties
    heavy = pen[(pen["severity"] == "serious") | pen["measure"].isin(HEAVIER)]
    m = early[["entry_id", "entity_id", "listed_on", "removed_on"]].merge(
        heavy[["entity_id", "decided_on"]], on="entity_id"
    )
    after = m[(m["decided_on"] > m["listed_on"]) & (m["decided_on"] <= m["removed_on"])]
    assert after.empty, "left early after a new heavier penalty:\n" + _show(after)
    # the rule is not vacuous: escalated entities do stay for lack of a report
    escalated = serious[serious["reason"] == "escalated_from_abnormal"]
    assert len(escalated) > len(escalated[escalated["removal_reason"] == "restored"])


def test_escalation_is_announced_by_a_public_warning(world, entries):
    """Issue 21, point 10: a public warning in the 60 days before every escalation;
    some warned entities clear the cause and are removed before the escalation."""
    w = world.warnings
    assert list(w.columns) == [
        "warning_id",
        "entity_id",
        "entry_id",
        "warned_on",
        "escalation_due_on",
    ]
    assert w["warning_id"].is_unique and w["entry_id"].is_unique
    before = w["escalation_due_on"] - w["warned_on"]
    assert ((before > 0 * DAY) & (before <= WARNING_DAYS * DAY)).all(), _show(w)
    abn = entries.set_index("entry_id")
    warned = abn.loc[w["entry_id"]]
    assert (warned["list"] == "abnormal_operation").all()
    assert (
        w["escalation_due_on"].to_numpy() == (warned["listed_on"] + THREE_YEARS).to_numpy()
    ).all()
    esc = entries[
        (entries["removal_reason"] == "escalated")
        & (entries["removed_on"] - WARNING_DAYS * DAY >= world.start)
    ]
    assert len(esc) >= 20
    unwarned = esc[~esc["entry_id"].isin(w["entry_id"])]
    assert unwarned.empty, "escalated without a warning:\n" + _show(unwarned)
    # after a warning: escalated on the due day, removed before it, or still due
    outcome = warned["removal_reason"].astype("str")
    on_time = warned["removed_on"].to_numpy() == w["escalation_due_on"].to_numpy()
    early = (warned["removed_on"] < w["escalation_due_on"].to_numpy()).to_numpy()
    pending = warned["removed_on"].isna().to_numpy()
    assert ((outcome == "escalated").to_numpy() == on_time).all()
    assert (on_time | early | pending).all()
    cleared = warned[early & (outcome == "restored").to_numpy()]
    assert len(cleared) >= 5  # some clear the cause after the warning


def test_missed_report_entries_are_removed_once_the_cause_is_cleared(world, entries):
    """Issue 21, point 10: once every report due is filed, the missed-report listing is
    removed within days (a filing in June counts before the next report falls due)."""
    nf = entries[entries["reason"] == "annual_report_not_filed"]
    reports = world.tables.annual_reports[["entity_id", "report_year", "filed_on"]]
    due = reports.assign(deadline=_deadline(reports["report_year"]))
    m = nf[["entry_id", "entity_id", "listed_on", "removed_on"]].merge(
        due[["entity_id", "filed_on"]].rename(columns={"filed_on": "cleared_on"}), on="entity_id"
    )
    m = m[
        (m["cleared_on"] > m["listed_on"])
        & (m["removed_on"].isna() | (m["removed_on"] > m["cleared_on"]))
        & (m["cleared_on"] + FILING_TO_REMOVAL_DAYS * DAY <= world.end)
    ]
    m = m.merge(due[["entity_id", "deadline", "filed_on"]], on="entity_id")
    missing = (m["deadline"] < m["cleared_on"]) & (
        m["filed_on"].isna() | (m["filed_on"] > m["cleared_on"])
    )
    m = m.assign(missing=missing).groupby(["entry_id", "cleared_on", "removed_on"], dropna=False)
    clear = m["missing"].any()
    clear = clear[~clear].reset_index()
    assert len(nf) > 1_000
    late = clear[
        clear["removed_on"].isna()
        | (clear["removed_on"] > clear["cleared_on"] + FILING_TO_REMOVAL_DAYS * DAY)
    ]
    assert late.empty, "cause cleared but still listed:\n" + _show(late)
    in_june = nf[nf["removed_on"].dt.month == 6]
    assert len(in_june) > 0  # June filings do clear listings


# -- 7: penalties ------------------------------------------------------------------------
def test_penalty_disclosure_periods_and_fines(world):
    pen = world.tables.penalties
    sev = pen["severity"].astype("str")
    measure = pen["measure"].astype("str")
    days = (pen["disclosure_ends_on"] - pen["published_on"]).dt.days
    line = world.params.lower_amount_threshold
    assert set(sev.unique()) == {"warning", "minor", "general", "serious"}

    warning = sev == "warning"
    assert pen.loc[warning, "disclosure_ends_on"].isna().all()
    assert pen.loc[~warning, "disclosure_ends_on"].notna().all()
    assert (measure[warning] == "warning").all()
    ends = pen["disclosure_ends_on"]
    minor = sev == "minor"
    short = pen["published_on"] + MINOR_DISCLOSURE
    assert (ends[minor] == short[minor]).all(), _show(pen[minor & (ends != short)])
    heavy = sev.isin(["general", "serious"])
    ban = measure == "trade_ban"
    assert ban.any()
    three_years = heavy & ~ban
    long = pen["published_on"] + THREE_YEARS
    assert (ends[three_years] == long[three_years]).all(), _show(pen[three_years & (ends != long)])
    assert (ends[heavy & ban] >= long[heavy & ban]).all()
    assert (days[heavy] >= 1095).all()

    fines = measure == "fine"
    assert (pen.loc[minor & fines, "fine_amount"] < line).all()
    assert (pen.loc[minor & fines, "fine_amount"] > 0).all()
    # a fine disclosed for three years is not a lower-amount fine
    assert (pen.loc[heavy & fines, "fine_amount"] >= line).all()
    assert (pen["fine_amount"] >= 0).all()


def test_penalty_restorations_follow_the_rules(world, ents, entries):
    pen = world.tables.penalties
    done = pen[pen["restored_on"].notna()].copy()
    done["sector"] = done["entity_id"].map(ents["key_sector"]).astype("str")
    done["waited"] = (done["restored_on"] - done["published_on"]).dt.days
    strict = done["sector"].isin(STRICT_SECTORS)
    assert strict.sum() >= 10 and (~strict).sum() >= 10

    assert done["severity"].isin(["general", "serious"]).all(), _show(done)
    assert done["measure"].isin(["fine", "confiscation"]).all(), _show(done)
    may_apply = done["published_on"] + WAIT
    may_apply[strict] = done.loc[strict, "published_on"] + WAIT_STRICT
    early = done[done["restored_on"] < may_apply]
    assert early.empty, "restored before the waiting period:\n" + _show(early)
    # the waits really differ by sector
    assert done.loc[strict, "waited"].min() >= 365 > done.loc[~strict, "waited"].min()
    late = done[done["restored_on"] >= done["disclosure_ends_on"]]
    assert late.empty, "restored after disclosure ended:\n" + _show(late)
    listed = done[_listed_at(done, entries, "restored_on")]
    assert listed.empty, "restored while on a list:\n" + _show(listed)


def test_no_restoration_after_a_repeat_violation_of_the_same_type(world):
    pen = world.tables.penalties
    done = pen[pen["restored_on"].notna()]
    pairs = done.merge(pen, on=["entity_id", "category"], suffixes=("", "_other"))
    repeat = pairs[
        (pairs["penalty_id_other"] != pairs["penalty_id"])
        & (pairs["decided_on_other"] > pairs["decided_on"])
        & (pairs["decided_on_other"] <= pairs["restored_on"])
    ]
    assert len(done) >= 20
    assert repeat.empty, "restored despite a repeat violation:\n" + _show(repeat)


# -- 8: late filings and removals --------------------------------------------------------
def test_late_filers_file_from_august(world):
    reports = world.tables.annual_reports
    late = reports[reports["filed_on"] > _deadline(reports["report_year"])]
    assert len(late) > 500
    early = late[late["filed_on"] < _deadline(late["report_year"]) + 32 * DAY]
    assert early.empty, "late filed in July:\n" + _show(early)
    on_time = reports[reports["filed_on"] <= _deadline(reports["report_year"])]
    assert (on_time["filed_on"].dt.year == on_time["report_year"] + 1).all()


def test_restored_not_filed_entries_follow_a_filing_with_nothing_outstanding(world, entries):
    fixed = entries[
        (entries["reason"] == "annual_report_not_filed") & (entries["removal_reason"] == "restored")
    ]
    assert len(fixed) > 500
    reports = world.tables.annual_reports[["entity_id", "report_year", "filed_on"]]
    m = fixed[["entry_id", "entity_id", "listed_on", "removed_on"]].merge(reports, on="entity_id")
    filing = m[
        (m["filed_on"] > m["listed_on"])
        & (m["filed_on"] <= m["removed_on"])
        & (m["filed_on"] >= m["removed_on"] - FILING_TO_REMOVAL_DAYS * DAY)
    ]
    unexplained = fixed[~fixed["entry_id"].isin(filing["entry_id"])]
    assert unexplained.empty, "removed without a filing shortly before:\n" + _show(unexplained)
    outstanding = m[
        (_deadline(m["report_year"]) < m["removed_on"])
        & (m["filed_on"].isna() | (m["filed_on"] > m["removed_on"]))
    ]
    assert outstanding.empty, "removed with a report still outstanding:\n" + _show(outstanding)


# -- 9: the snapshot ---------------------------------------------------------------------
def test_nothing_known_after_end(world):
    end = world.end
    future_by_nature = {"expires_on", "disclosure_ends_on"}
    for name, frame in world.tables:
        for col in frame.columns:
            if frame[col].dtype.kind == "M" and col not in future_by_nature:
                late = frame[frame[col] > end]
                assert late.empty, f"{name}.{col} after end:\n" + _show(late)
    lst = world.tables.list_entries
    assert (lst["removed_on"].isna() == lst["removal_reason"].isna()).all()
    assert lst["removed_on"].isna().any()  # entries still open at the snapshot


def test_pre_start_records_only_while_in_force_at_start(world):
    start, t = world.start, world.tables
    lst = t.list_entries[t.list_entries["listed_on"] < start]
    assert len(lst) > 0
    assert (lst["removed_on"].isna() | (lst["removed_on"] >= start)).all(), _show(lst)
    pen = t.penalties[t.penalties["published_on"] < start]
    assert len(pen) > 0
    assert (pen["disclosure_ends_on"] >= start).all(), _show(pen)  # NaT (warnings) fail too
    assert (pen["restored_on"].isna() | (pen["restored_on"] >= start)).all(), _show(pen)
    lic = t.licenses[t.licenses["issued_on"] < start]
    assert len(lic) > 0
    assert (lic["expires_on"] >= start).all(), _show(lic)
    assert (lic["revoked_on"].isna() | (lic["revoked_on"] >= start)).all(), _show(lic)
    assert (t.inspections["published_on"] >= start).all()
    gone = t.enterprises["deregistered_on"].dropna()
    assert (gone >= start).all()
    # annual reports: every simulated year, burn-in included
    first_year = start.year - world.params.burn_in_years - 1
    years = set(t.annual_reports["report_year"].unique())
    assert years == set(range(first_year, world.end.year)), sorted(years)


# -- deregistration ----------------------------------------------------------------------
def test_nothing_happens_after_deregistration(world, ents, entries):
    t = world.tables
    for frame, col in (
        (t.penalties, "decided_on"),
        (t.inspections, "inspected_on"),
        (t.list_entries, "listed_on"),
        (t.licenses, "issued_on"),
        (t.annual_reports, "filed_on"),
    ):
        after = frame[frame[col] > frame["entity_id"].map(ents["deregistered_on"])]
        assert after.empty, f"{col} after deregistration:\n" + _show(after)
    assert ents["deregistered_on"].notna().sum() > 1_000


def test_open_entries_are_removed_on_the_day_of_deregistration(entries):
    by_dereg = entries[entries["removal_reason"] == "deregistered"]
    assert len(by_dereg) > 100
    wrong_day = by_dereg[by_dereg["removed_on"] != by_dereg["deregistered_on"]]
    assert wrong_day.empty, "removal not dated on deregistration:\n" + _show(
        wrong_day[["entry_id", "entity_id", "list", "listed_on", "removed_on", "deregistered_on"]]
    )
    gone = entries[entries["deregistered_on"].notna()]
    open_after = gone[
        (gone["listed_on"] <= gone["deregistered_on"])
        & (gone["removed_on"].isna() | (gone["removed_on"] > gone["deregistered_on"]))
    ]
    assert open_after.empty, "still listed after deregistration:\n" + _show(open_after)


# -- 10: inspectors ----------------------------------------------------------------------
def _previous_inspectors(ins: pd.DataFrame) -> pd.DataFrame:
    """Each inspection with the inspectors of the entity's inspection before it."""
    seq = ins.sort_values(["entity_id", "inspected_on", "inspection_id"], kind="stable")
    prev = seq.groupby("entity_id")[["inspector_1", "inspector_2"]].shift(1)
    return seq.assign(prev_1=prev["inspector_1"], prev_2=prev["inspector_2"])


def test_inspections_have_two_inspectors_from_the_entitys_region(world, ents):
    """Both from the entity's region, except a key-sector lead whose region's
    specialists were all barred (on the entity's previous inspection, or with a declared
    conflict): then a specialist of the sector from another region leads (as
    creditrisk.inspection.draw does)."""
    ins = _previous_inspectors(world.tables.inspections)
    register = world.inspectors.set_index("inspector_id")
    assert register.index.is_unique
    assert ins["inspector_2"].notna().all()
    assert (ins["inspector_1"] != ins["inspector_2"]).all()
    home = ins["entity_id"].map(ents["region"]).astype("str")
    for col in ("inspector_1", "inspector_2"):
        assert ins[col].isin(register.index).all()
    wrong = ins[ins["inspector_2"].map(register["region"]).astype("str") != home]
    assert wrong.empty, "inspector_2 from another region:\n" + _show(wrong)
    away = ins[ins["inspector_1"].map(register["region"]).astype("str") != home]
    sector = away["entity_id"].map(ents["key_sector"]).astype("str")
    assert (sector != "none").all(), _show(away[sector == "none"])
    assert (away["inspector_1"].map(register["speciality"]).astype("str") == sector).all()
    assert len(away) > 0  # small regions: one or two specialists of a sector
    pairs = set(zip(world.conflicts["inspector_id"], world.conflicts["entity_id"], strict=True))
    for row, s, r in zip(away.itertuples(), sector, home[away.index], strict=True):
        if pd.isna(row.prev_1):
            continue  # the previous inspection was before the register opens
        local = register[(register["region"] == r) & (register["speciality"] == s)].index
        free = {i for i in local if (i, row.entity_id) not in pairs} - {row.prev_1, row.prev_2}
        assert not free, row


def test_inspectors_avoid_the_previous_inspection_and_declared_conflicts(world, ents):
    """Issue 21, point 10: never an inspector with a declared conflict, and never one of
    the entity's previous inspection, unless its sector's only specialists anywhere
    were that inspection's."""
    ins = _previous_inspectors(world.tables.inspections)
    pairs = set(zip(world.conflicts["inspector_id"], world.conflicts["entity_id"], strict=True))
    conflicted = [
        row
        for row in ins.itertuples()
        if (row.inspector_1, row.entity_id) in pairs or (row.inspector_2, row.entity_id) in pairs
    ]
    assert not conflicted, conflicted[:3]
    repeat = ins[ins["prev_1"].notna()]
    assert len(repeat) > 5_000
    same = (
        (repeat["inspector_1"] == repeat["prev_1"])
        | (repeat["inspector_1"] == repeat["prev_2"])
        | (repeat["inspector_2"] == repeat["prev_1"])
        | (repeat["inspector_2"] == repeat["prev_2"])
    )
    register = world.inspectors.set_index("inspector_id")
    for row in repeat[same].itertuples():
        s = str(ents.at[row.entity_id, "key_sector"])
        specialists = set(register.index[register["speciality"] == s])
        # only a lead kept for want of any free specialist may repeat
        assert row.inspector_2 not in {row.prev_1, row.prev_2}, row
        assert s != "none" and specialists <= {row.prev_1, row.prev_2}, row


def test_key_sector_inspections_are_led_by_a_specialist_when_one_exists(world, ents):
    ins = world.tables.inspections
    register = world.inspectors.set_index("inspector_id")
    sector = ins["entity_id"].map(ents["key_sector"]).astype("str")
    region = ins["entity_id"].map(ents["region"]).astype("str")
    available = pd.MultiIndex.from_frame(
        register[["region", "speciality"]].astype("str").drop_duplicates()
    )
    has_specialist = pd.MultiIndex.from_arrays([region, sector]).isin(available)
    key = (sector != "none") & has_specialist
    assert key.sum() > 1_000
    assert ((sector != "none") & ~has_specialist).any()  # regions without one exist too
    lead = ins["inspector_1"].map(register["speciality"]).astype("str")
    wrong = ins[key & (lead != sector)]
    # ... unless every specialist of the sector, anywhere, has a conflict with the entity
    pairs = set(zip(world.conflicts["inspector_id"], world.conflicts["entity_id"], strict=True))
    for row in wrong.itertuples():
        specialists = register.index[register["speciality"] == sector[row.Index]]
        assert all((i, row.entity_id) in pairs for i in specialists), (
            "lead inspector without the sector's speciality:\n" + _show(wrong)
        )


# -- 11: truth and calibration -----------------------------------------------------------
def test_probability_defined_exactly_for_registered_entities(world, ents):
    for as_of in ("2019-03-15", "2022-01-01", "2025-06-30"):
        day = pd.Timestamp(as_of)
        prob = world.truth.probability(as_of)
        assert prob.index.equals(pd.Index(ents.index))
        registered = _registered(ents, day)
        assert registered.sum() > 5_000 and (~registered).sum() > 100
        inside = prob[registered.to_numpy()]
        assert inside.notna().all()
        assert ((inside > 0) & (inside < 1)).all()
        assert prob[~registered.to_numpy()].isna().all()


def test_finding_rate_rises_across_quintiles_of_true_probability(world):
    pooled = [_random_labels(world, pd.Timestamp(f"{y}-01-01")) for y in range(2019, 2025)]
    prob = pd.concat([p for p, _ in pooled], ignore_index=True)
    label = pd.concat([y for _, y in pooled], ignore_index=True)
    assert len(label) > 3_000
    rate = label.groupby(pd.qcut(prob, 5, labels=False)).mean()
    assert rate.is_monotonic_increasing and rate.is_unique, rate.round(3).tolist()
    assert rate.iloc[-1] > 2 * rate.iloc[0]


def test_oracle_auc_in_calibrated_range(world):
    mid = (world.start + (world.end - world.start) / 2).normalize()
    prob, label = _random_labels(world, mid)
    assert len(label) > 1_000 and 0 < label.mean() < 1
    auc = roc_auc_score(label, prob)
    assert 0.68 <= auc <= 0.88, auc


def test_random_inspection_finding_rate(world):
    ins = world.tables.inspections
    random = ins[ins["kind"] == "random"]
    assert len(random) > 5_000
    rate = (random["outcome"] != "compliant").mean()
    assert 0.10 <= rate <= 0.30, rate


def test_population_and_list_shares(world, ents, entries):
    assert (ents["entity_type"] == "sole_proprietor").mean() > 0.5
    mid = (world.start + (world.end - world.start) / 2).normalize()
    registered = ents.index[_registered(ents, mid)]
    still_on = entries["removed_on"].isna() | (entries["removed_on"] > mid)
    on_at_mid = entries[(entries["listed_on"] <= mid) & still_on]
    abnormal = on_at_mid[on_at_mid["list"].isin(["abnormal_operation", "abnormal_mark"])]
    serious = on_at_mid[on_at_mid["list"] == "serious_illegal"]
    abnormal_share = registered.isin(abnormal["entity_id"]).mean()
    serious_share = registered.isin(serious["entity_id"]).mean()
    assert 0.01 <= abnormal_share <= 0.06, abnormal_share
    assert 0 < serious_share < 0.012, serious_share
    never_penalized = 1 - ents.index.isin(world.tables.penalties["entity_id"]).mean()
    assert never_penalized > 0.75, never_penalized


# -- 12: argument checks -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "start", "end"),
    [
        (0, "2020-01-01", "2021-01-01"),
        (-5, "2020-01-01", "2021-01-01"),
        (100, "2021-01-01", "2021-01-01"),
        (100, "2021-01-01", "2020-06-30"),
    ],
)
def test_generate_rejects_bad_arguments(n, start, end):
    with pytest.raises(ValueError):
        synth.generate(n_enterprises=n, start=start, end=end, seed=1)


@pytest.mark.parametrize("as_of", ["2010-01-01", "2017-12-01", "2027-01-01", "2030-06-30"])
def test_probability_rejects_as_of_outside_the_world(world, as_of):
    with pytest.raises(ValueError):
        world.truth.probability(as_of)
