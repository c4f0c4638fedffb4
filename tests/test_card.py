"""Explanation cards (creditrisk.report.card): one enterprise's "why am I in this tier?".

Every expectation is computed here, independently of the card:

- Card equals batch: the card of an entity is compared, field by field and bit for bit,
  with its row of :func:`creditrisk.jobs.scoring.score_chunk` run on the whole sample at the
  same as-of date. Entities are chosen by fixed rules: the first (by id) of each tier
  with no override, the first moved by each override rule, the first on the abnormal
  list with a plan that lowers its tier.
- Exact SHAP weights: LightGBM itself (``booster.predict`` with ``raw_score`` and
  ``pred_contrib``) on the model's matrix of the entity's row of ``build_features``;
  the probability from the stored Platt calibration, the score tier from the cut-offs.
- Records: recomputed with plain pandas from the raw event tables: a row is shown when
  the regulator knew it before as_of (penalties and inspections by ``published_on``,
  list entries by ``listed_on``, licenses by ``issued_on``, reports by ``filed_on`` or,
  when not filed then, by their 30 June due date), dated by the event; a hypothesis
  property runs over entities and dates of the sample.
- Text and HTML: the expected lines and table cells are formatted here from the card's
  fields and the policy; the HTML is parsed with the standard library's ``html.parser``.
- Recourse: each plan's actions are re-applied to the feature row by hand (DOMAIN.md's
  actions) and the row re-scored.

Three tests guard bugs these tests found in :func:`creditrisk.report.card.records`: a
registration after as_of was listed, a missing capital read "nan", key sectors kept
their underscores.
"""

from __future__ import annotations

import math
import re
from datetime import date
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import creditrisk as cr
from creditrisk import EventTables
from creditrisk.report.card import RIGHTS, ExplanationCard, explain_card, records

AS_OF = pd.Timestamp("2025-01-01")
EARLY = pd.Timestamp("2021-07-01")
TIERS = ["A", "B", "C", "D"]
OVERRIDES = ["abnormal_list", "serious_illegal_list"]
LABELS = [*TIERS, *OVERRIDES, "helpful"]
SEVERE = ("general", "serious")
WINDOWS = ("1y", "3y", "all")
INJECTED = "<script>alert(1)</script> & <b>bold</b>"


# -- shared objects ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def batches(tables, model) -> dict[pd.Timestamp, pd.DataFrame]:
    """The whole sample scored once per date (with reasons and features), sorted by id."""
    return {day: cr.scoring.score_chunk(tables, model, day) for day in (AS_OF, EARLY)}


@pytest.fixture(scope="module")
def features(tables) -> pd.DataFrame:
    """The sample's feature rows at AS_OF, as build_features gives them."""
    return cr.build_features(tables, cr.spine(tables, AS_OF))


@pytest.fixture(scope="module")
def card_of(tables, model):
    """card_of(entity_id, as_of): the entity's card, made once per module."""
    made: dict[tuple[str, pd.Timestamp], ExplanationCard] = {}

    def get(entity_id: str, as_of: pd.Timestamp = AS_OF) -> ExplanationCard:
        key = (entity_id, pd.Timestamp(as_of))
        if key not in made:
            made[key] = explain_card(model, entity_id, tables=tables, as_of=as_of)
        return made[key]

    return get


@pytest.fixture(scope="module")
def chosen(batches, card_of) -> dict[pd.Timestamp, dict[str, str]]:
    """Per date, an entity for each label of LABELS, by fixed rules on the batch."""
    out = {}
    for day, batch in batches.items():
        picks = {}
        for tier in TIERS:
            rows = batch[(batch["tier"] == tier) & (batch["override"] == "")]
            picks[tier] = str(rows["entity_id"].iloc[0])
        for rule in OVERRIDES:
            rows = batch[[rule in str(o).split("; ") for o in batch["override"]]]
            picks[rule] = str(rows["entity_id"].iloc[0])
        listed = batch.loc[batch["on_abnormal_list"] == 1, "entity_id"]
        picks["helpful"] = next(str(e) for e in listed if len(card_of(str(e), day).helpful_plans()))
        out[day] = picks
    return out


# -- helpers ----------------------------------------------------------------------------
def batch_row(batch: pd.DataFrame, entity_id: str) -> pd.Series:
    rows = batch[batch["entity_id"] == entity_id]
    assert len(rows) == 1
    return rows.iloc[0]


def label_of(model: cr.RiskModel, tier: str) -> str:
    policy = model.policy_
    return (policy.labels or policy.tiers)[list(policy.tiers).index(tier)]


def cutoff_tier(probability: float, cutoffs) -> int:
    """The score tier's position: how many cut-offs the probability reaches."""
    return sum(probability >= c for c in cutoffs)


def due_date(report_year: int) -> pd.Timestamp:
    return pd.Timestamp(year=report_year + 1, month=6, day=30)


def known(column: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return column.notna() & (column < as_of)


def day(value) -> str:
    return str(pd.Timestamp(value).date())


def registered_at(tables: EventTables, entity_id: str, as_of: pd.Timestamp) -> bool:
    e = tables.enterprises.set_index("entity_id").loc[entity_id]
    gone = e["deregistered_on"]
    return bool(e["registered_on"] < as_of and (pd.isna(gone) or gone >= as_of))


def first_registered(tables: EventTables, candidates, as_of: pd.Timestamp) -> str:
    """The first of ``candidates`` registered at ``as_of`` (one a card can be made for)."""
    return next(str(e) for e in candidates if registered_at(tables, str(e), as_of))


def first_known(tables: EventTables, frame: pd.DataFrame, column: str) -> pd.Series:
    """The first row (by entity id) of ``frame`` whose ``column`` was known before AS_OF,
    of an entity registered at AS_OF."""
    hit = frame[known(frame[column], AS_OF)].sort_values("entity_id")
    entity_id = first_registered(tables, hit["entity_id"], AS_OF)
    return hit[hit["entity_id"] == entity_id].iloc[0]


OUTCOME_WORDS = {
    "compliant": "no issues found",
    "issues_found": "issues found",
    "not_found_at_address": "not found at the registered address",
}
LIST_WORDS = {
    "abnormal_operation": "Put on the abnormal operation list",
    "abnormal_mark": "Marked abnormal (a sole proprietor is marked, not listed)",
    "serious_illegal": "Put on the serious illegal and dishonest list",
}


def words(value) -> str:
    return str(value).replace("_", " ")


def expected_records(tables: EventTables, entity_id: str, as_of) -> dict[str, list]:
    """Per source, the (date, text) of every record known before ``as_of``, sorted, built
    with plain pandas from the raw tables."""
    as_of = pd.Timestamp(as_of)

    def own(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["entity_id"] == entity_id]

    ent = own(tables.enterprises).iloc[0]
    sector = "" if ent["key_sector"] == "none" else f", key sector {words(ent['key_sector'])}"
    capital = ent["registered_capital"]
    out: dict[str, list] = {"enterprises": []}
    if ent["registered_on"] < as_of:
        out["enterprises"].append(
            (
                ent["registered_on"],
                f"Registered as a {words(ent['entity_type'])} in {words(ent['industry'])}, "
                f"{words(ent['region'])}{sector}; "
                + (
                    "no registered capital recorded"
                    if pd.isna(capital)
                    else f"registered capital {round(capital):,} yuan"
                ),
            )
        )
    if pd.notna(ent["deregistered_on"]) and ent["deregistered_on"] < as_of:
        out["enterprises"].append((ent["deregistered_on"], "Deregistered"))
    out["annual_reports"] = []
    for year, filed in own(tables.annual_reports)[["report_year", "filed_on"]].itertuples(
        index=False
    ):
        due = due_date(int(year))
        if pd.notna(filed) and filed < as_of:
            late = (filed - due).days
            when = "on time" if late <= 0 else f"{late} days late"
            out["annual_reports"].append((filed, f"{year} annual report filed {when}"))
        elif due < as_of:
            out["annual_reports"].append((due, f"{year} annual report not filed (due {day(due)})"))
    out["licenses"] = []
    for lic in own(tables.licenses).itertuples():
        if not lic.issued_on < as_of:
            continue
        text = f"{words(lic.license_type).capitalize()} license issued"
        if pd.notna(lic.revoked_on) and lic.revoked_on < as_of:
            text += f", revoked on {day(lic.revoked_on)}"
        elif pd.notna(lic.expires_on) and lic.expires_on < as_of:
            text += f", expired on {day(lic.expires_on)}"
        elif pd.notna(lic.expires_on):
            text += f", valid until {day(lic.expires_on)}"
        out["licenses"].append((lic.issued_on, text))
    out["penalties"] = []
    for pen in own(tables.penalties).itertuples():
        if not pen.published_on < as_of:
            continue
        fine = f", fine {pen.fine_amount:,.0f} yuan" if pen.fine_amount > 0 else ""
        text = (
            f"{str(pen.severity).capitalize()} administrative penalty ({words(pen.measure)}, "
            f"{words(pen.category)}{fine}), decided {day(pen.decided_on)}, published "
            f"{day(pen.published_on)}"
        )
        ends = pen.disclosure_ends_on
        if pd.notna(pen.restored_on) and pen.restored_on < as_of:
            text += f"; credit restored on {day(pen.restored_on)}"
        elif pd.notna(ends):
            text += f"; public disclosure {'ended' if ends < as_of else 'ends'} {day(ends)}"
        out["penalties"].append((pen.decided_on, text))
    out["inspections"] = [
        (i.inspected_on, f"{str(i.kind).capitalize()} inspection: {OUTCOME_WORDS[i.outcome]}")
        for i in own(tables.inspections).itertuples()
        if i.published_on < as_of
    ]
    out["list_entries"] = []
    for e in own(tables.list_entries).itertuples():
        if not e.listed_on < as_of:
            continue
        text = f"{LIST_WORDS[e.list]}: {words(e.reason)}"
        if pd.notna(e.removed_on) and e.removed_on < as_of:
            text += f"; removed on {day(e.removed_on)} ({words(e.removal_reason)})"
        out["list_entries"].append((e.listed_on, text))
    out.update(expected_indicator_records(own, tables, as_of))
    return {k: sorted((pd.Timestamp(d), t) for d, t in v) for k, v in out.items() if v}


def expected_indicator_records(own, tables: EventTables, as_of) -> dict[str, list]:
    """The records of roles, changes, complaints and other departments' lists, by hand."""
    out: dict[str, list] = {"roles": [], "changes": [], "complaints": [], "external_lists": []}
    for r in own(tables.roles).itertuples():
        if r.published_on < as_of:
            share = "" if pd.isna(r.share) else f" ({round(100 * r.share)}% of the capital)"
            ended = f" to {day(r.to_on)}" if pd.notna(r.to_on) and r.to_on < as_of else ""
            text = f"{r.person_id} {words(r.role)}{share} from {day(r.from_on)}{ended}"
            out["roles"].append((r.from_on, text))
    for c in own(tables.changes).itertuples():
        if c.published_on < as_of:
            text = f"Registration change of {words(c.kind)}"
            if pd.notna(c.old_value) or pd.notna(c.new_value):
                old = c.old_value if pd.notna(c.old_value) else "not recorded"
                new = c.new_value if pd.notna(c.new_value) else "not recorded"
                text += f": {words(old)} -> {words(new)}"
            out["changes"].append((c.changed_on, text))
    verdicts = {"yes": "substantiated", "no": "not substantiated"}
    for c in own(tables.complaints).itertuples():
        if c.recorded_on < as_of:
            done = pd.notna(c.concluded_on) and c.concluded_on < as_of
            verdict = f"{verdicts[c.substantiated]} on {day(c.concluded_on)}" if done else "pending"
            out["complaints"].append((c.received_on, f"Complaint ({words(c.category)}): {verdict}"))
    for e in own(tables.external_lists).itertuples():
        if e.published_on < as_of:
            text = f"Put on another department's list: {words(e.list)}"
            if pd.notna(e.removed_on) and e.removed_on < as_of:
                text += f"; removed on {day(e.removed_on)}"
            out["external_lists"].append((e.listed_on, text))
    return out


def check_records(frame: pd.DataFrame, expected: dict[str, list], as_of) -> None:
    """``frame`` (records at ``as_of``) holds exactly the expected records, oldest first."""
    assert list(frame.columns) == ["date", "source", "record"]
    assert frame["date"].is_monotonic_increasing
    assert (frame["date"] < pd.Timestamp(as_of)).all()
    got = {
        source: sorted(zip(rows["date"], rows["record"], strict=True))
        for source, rows in frame.groupby("source", sort=False)
    }
    assert set(got) == set(expected)
    assert got == expected


def apply_by_hand(row: pd.DataFrame, actions: list[str]) -> pd.DataFrame:
    """The feature row after the recourse actions (DOMAIN.md), re-derived here."""
    row = row.copy()
    i = row.index[0]

    def value(name: str) -> float:
        v = row.at[i, name]
        return 0.0 if pd.isna(v) else float(v)

    for action in actions:
        if action == "file_overdue_reports":
            row.at[i, "reports_filed_late"] = value("reports_filed_late") + value(
                "reports_not_filed"
            )
            row.at[i, "report_last_year_filed"] = 1
            row.at[i, "reports_missed_in_a_row"] = 0
            row.at[i, "reports_not_filed"] = 0
        elif action == "leave_abnormal_list":
            row.at[i, "on_abnormal_list"] = 0
            row.at[i, "days_on_abnormal_list"] = 0
            row.at[i, "abnormal_reason"] = np.nan
            row.at[i, "list_removals_restored"] = value("list_removals_restored") + 1
        elif action == "leave_serious_list":
            row.at[i, "on_serious_list"] = 0
            row.at[i, "list_removals_restored"] = value("list_removals_restored") + 1
        elif action == "restore_penalties":  # the national policy excludes restored ones
            restored = sum(value(f"penalties_{s}_all") for s in SEVERE)
            row.at[i, "penalties_restored"] = value("penalties_restored") + restored
            for s in SEVERE:
                for w in WINDOWS:
                    row.at[i, f"penalties_{s}_{w}"] = 0
                    row.at[i, f"fines_{s}_{w}"] = 0
            if sum(value(f"penalties_{s}_all") for s in ("warning", "minor")) == 0:
                row.at[i, "penalty_days_since_last"] = np.nan
        else:
            raise AssertionError(f"unexpected action {action!r}")
    return row


class Page(HTMLParser):
    """What the tests read from the card's HTML: tags, link attributes, the text of
    elements with an id, the body cells of tables with an id, and all text."""

    VOID = frozenset({"meta", "br", "img", "link", "input", "hr", "col", "source"})

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.values: list[str] = []
        self.by_id: dict[str, str] = {}
        self.tables: dict[str, list[list[str]]] = {}
        self.chunks: list[str] = []
        self._open: list[tuple[str, str | None]] = []
        self._table: str | None = None
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()
        self.text = " ".join(" ".join(self.chunks).split())

    def handle_starttag(self, tag: str, attrs) -> None:
        self.tags.append(tag)
        attrs = dict(attrs)
        self.links += [v or "" for k, v in attrs.items() if k in ("src", "href", "action")]
        self.values += [v or "" for v in attrs.values()]
        if tag in self.VOID:
            return
        self._open.append((tag, attrs.get("id")))
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag == "td" and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[self._table][-1].append("".join(self._cell))
            self._cell = None
        elif tag == "table":
            self._table = None
        while self._open:
            name, element_id = self._open.pop()
            if element_id is not None:
                self.by_id[element_id] = " ".join(self.by_id.get(element_id, "").split())
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)
        for _, element_id in self._open:
            if element_id is not None:
                self.by_id[element_id] = self.by_id.get(element_id, "") + data

    def rows(self, table_id: str) -> list[list[str]]:
        """Body rows (header rows have no td cells)."""
        return [r for r in self.tables.get(table_id, []) if r]


def without_records(text: str) -> str:
    """A card's text with its records section cut out."""
    head, rest = text.split("\nRecords known to the regulator before ")
    return head + "\nRights\n" + rest.split("\nRights\n")[1]


def reason_lines(frame: pd.DataFrame) -> list[str]:
    return [
        f"  {c:+.3f}  {s}" for c, s in zip(frame["contribution"], frame["sentence"], strict=True)
    ]


# -- 1. the card is the batch's row -----------------------------------------------------
@pytest.mark.parametrize("as_of", [AS_OF, EARLY], ids=["2025-01-01", "2021-07-01"])
@pytest.mark.parametrize("label", LABELS)
def test_card_equals_batch_row(label, as_of, batches, chosen, card_of, model) -> None:
    entity_id = chosen[as_of][label]
    row = batch_row(batches[as_of], entity_id)
    card = card_of(entity_id, as_of)
    assert card.entity_id == entity_id
    assert card.as_of == as_of == pd.Timestamp(row["as_of"])
    assert card.tier == str(row["tier"])
    assert card.score_tier == str(row["score_tier"])
    assert card.probability == float(row["probability"])  # bit for bit
    assert card.override == row["override"]
    assert card.override_reason == row["override_reason"]
    if label in OVERRIDES:
        assert label in card.override.split("; ") and card.tier != card.score_tier
    elif label in TIERS:
        assert card.override == "" and card.tier == card.score_tier == label
    # the raising reasons are the batch's reason_1..k, in order, with the same weights
    assert card.top_k == model.top_k
    up = card.raising()
    expected = [
        (row[f"reason_{i}_feature"], row[f"reason_{i}_contribution"], row[f"reason_{i}"])
        for i in range(1, model.top_k + 1)
        if pd.notna(row[f"reason_{i}_feature"])
    ]
    got = list(zip(up["feature"], up["contribution"], up["sentence"], strict=True))
    assert got == expected
    assert card.tier_label == label_of(model, card.tier)


def test_chosen_entities_cover_every_tier_and_override(chosen, batches) -> None:
    for as_of, picks in chosen.items():
        batch = batches[as_of]
        assert {str(batch_row(batch, picks[t])["tier"]) for t in TIERS} == set(TIERS)
        assert len(set(picks.values())) >= len(TIERS) + len(OVERRIDES)


# -- 2. exact SHAP weights --------------------------------------------------------------
@pytest.mark.parametrize("label", LABELS)
def test_reasons_are_exact_shap_values(label, chosen, card_of, features, model) -> None:
    entity_id = chosen[AS_OF][label]
    card = card_of(entity_id)
    X = features[features["entity_id"] == entity_id]
    matrix = model._matrix(X)
    raw = float(model.booster_.predict(matrix, raw_score=True)[0])
    phi = model.booster_.predict(matrix, pred_contrib=True)[0]
    names = list(model.feature_names_in_)
    # base value plus every shown weight is the model's raw log-odds
    assert math.isclose(card.base_value + card.reasons["contribution"].sum(), raw, abs_tol=1e-12)
    assert math.isclose(card.base_value, phi[-1], abs_tol=1e-12)
    shown = dict(zip(card.reasons["feature"], card.reasons["contribution"], strict=True))
    for j, name in enumerate(names):
        if name in shown:
            assert math.isclose(shown[name], phi[j], abs_tol=1e-12), name
            assert shown[name] != 0
        else:
            assert abs(phi[j]) <= 1e-12, name
    # the probability is the calibrated raw score; the score tier follows the cut-offs
    a, b = model.calibration_["slope"], model.calibration_["intercept"]
    assert math.isclose(card.probability, 1 / (1 + math.exp(-(a * raw + b))), rel_tol=1e-12)
    assert model.policy_.tiers[cutoff_tier(card.probability, model.cutoffs_)] == card.score_tier
    # the values shown are the entity's feature values
    for name, value in zip(card.reasons["feature"], card.reasons["value"], strict=True):
        own = X[name].iloc[0]
        assert (pd.isna(own) and pd.isna(value)) or str(own) == str(value), name


@pytest.mark.parametrize("label", LABELS)
def test_reasons_order_raising_and_lowering(label, chosen, card_of) -> None:
    card = card_of(chosen[AS_OF][label])
    weights = card.reasons["contribution"].tolist()
    assert weights == sorted(weights, reverse=True)
    assert all(w != 0 for w in weights)
    # raising/lowering name conduct only; context (where, what sector) is shown apart
    conduct = card.reasons.loc[card.reasons["role"] == "conduct", "contribution"].tolist()
    positive = [w for w in conduct if w > 0]
    negative = sorted(w for w in conduct if w < 0)
    up, down = card.raising(), card.lowering()
    assert up["contribution"].tolist() == positive[: card.top_k]
    assert (up["contribution"] > 0).all() and len(up) <= card.top_k
    assert down["contribution"].tolist() == negative[:3]
    assert (down["contribution"] < 0).all()
    assert card.lowering(k=len(weights))["contribution"].tolist() == negative
    assert set(up["feature"]) | set(down["feature"]) <= set(
        card.reasons.loc[card.reasons["role"] == "conduct", "feature"]
    )


# -- 3. records are point in time -------------------------------------------------------
@pytest.fixture(scope="module")
def entity_pool(tables) -> list[list[str]]:
    """Every entity; those with penalties or list entries; those with rare events
    (a revoked license, a restored penalty, a removal from a list, a deregistration)."""
    eventful = set(tables.penalties["entity_id"]) | set(tables.list_entries["entity_id"])
    rare = set(tables.licenses.loc[tables.licenses["revoked_on"].notna(), "entity_id"])
    rare |= set(tables.penalties.loc[tables.penalties["restored_on"].notna(), "entity_id"])
    rare |= set(tables.list_entries.loc[tables.list_entries["removed_on"].notna(), "entity_id"])
    ent = tables.enterprises
    rare |= set(ent.loc[ent["deregistered_on"].notna(), "entity_id"])
    return [list(ent["entity_id"]), sorted(eventful), sorted(rare)]


def entities(pool: list[list[str]]):
    return st.one_of(*(st.sampled_from(ids) for ids in pool))


DATES = st.dates(min_value=date(2018, 1, 2), max_value=date(2026, 1, 1)).map(pd.Timestamp)


def turning_days(tables: EventTables, entity_id: str) -> list[pd.Timestamp]:
    """Every date in the entity's rows, and its reports' due dates: where records change."""
    days = []
    for _, frame in tables:
        own = frame[frame["entity_id"] == entity_id]
        for column in own.columns:
            if own[column].dtype.kind == "M":
                days += [pd.Timestamp(d) for d in own[column] if pd.notna(d)]
        if "report_year" in own.columns:
            days += [due_date(int(y)) for y in own["report_year"]]
    return sorted({d for d in days if d.year < 2027})


def as_of_dates(days: list[pd.Timestamp]):
    """Any date of the data, or a day around one of ``days`` (to hit the boundaries)."""
    if not days:
        return DATES
    near = st.tuples(st.sampled_from(days), st.integers(-1, 1))
    return st.one_of(DATES, near.map(lambda pair: pair[0] + pd.Timedelta(days=pair[1])))


@pytest.mark.parametrize("label", LABELS)
def test_card_records_are_those_known_before_as_of(label, chosen, card_of, tables) -> None:
    entity_id = chosen[AS_OF][label]
    card = card_of(entity_id)
    assert card.records is not None
    check_records(card.records, expected_records(tables, entity_id, AS_OF), AS_OF)


def test_records_property(tables, entity_pool) -> None:
    @given(data=st.data())
    def check(data) -> None:
        entity_id = data.draw(entities(entity_pool), label="entity_id")
        days = as_of_dates(turning_days(tables, entity_id))
        early, late = sorted([data.draw(days, label="as_of"), data.draw(days, label="as_of")])
        now, before = records(tables, entity_id, late), records(tables, entity_id, early)
        check_records(now, expected_records(tables, entity_id, late), late)
        check_records(before, expected_records(tables, entity_id, early), early)
        # moving as_of earlier never adds a record
        counts_now = now["source"].value_counts()
        counts_before = before["source"].value_counts()
        for source, n in counts_before.items():
            assert n <= counts_now.get(source, 0), source
        for source in ("enterprises", "licenses", "penalties", "inspections", "list_entries"):
            a = before.loc[before["source"] == source, "date"].value_counts()
            b = now.loc[now["source"] == source, "date"].value_counts()
            assert all(b.get(d, 0) >= n for d, n in a.items()), source
        years = before.loc[before["source"] == "annual_reports", "record"].str[:4]
        assert set(years) <= set(now.loc[now["source"] == "annual_reports", "record"].str[:4])

    check()


@pytest.mark.parametrize(
    ("table", "happened", "published"),
    [("penalties", "decided_on", "published_on"), ("inspections", "inspected_on", "published_on")],
)
def test_records_wait_for_publication(tables, table, happened, published) -> None:
    """An event shows from the day after it is published, dated when it happened."""
    frame = getattr(tables, table)
    gap = frame[frame[published] - frame[happened] >= pd.Timedelta(days=2)]
    event = gap.sort_values(happened).iloc[len(gap) // 2]
    entity_id = event["entity_id"]
    shown = {}
    for as_of in (
        event[happened] + pd.Timedelta(days=1),
        event[published],
        event[published] + pd.Timedelta(days=1),
    ):
        found = records(tables, entity_id, as_of)
        check_records(found, expected_records(tables, entity_id, as_of), as_of)
        mine = found[found["source"] == table]
        shown[as_of] = int((mine["date"] == event[happened]).sum())
    counts = list(shown.values())
    assert counts[0] == counts[1] == counts[2] - 1


def test_records_before_registration_are_empty(tables) -> None:
    ent = tables.enterprises
    late = ent[ent["registered_on"] > pd.Timestamp("2022-01-01")].iloc[0]
    as_of = late["registered_on"] - pd.Timedelta(days=365)
    assert records(tables, late["entity_id"], as_of).empty


def test_registration_without_capital_reads_in_words(tables, card_of) -> None:
    ent = tables.enterprises.sort_values("entity_id")
    no_capital = ent.loc[ent["registered_capital"].isna(), "entity_id"]
    registration = card_of(first_registered(tables, no_capital, AS_OF)).records["record"].iloc[0]
    assert registration.startswith("Registered as a ")
    assert not re.search(r"\bnan\b", registration)


def test_records_are_plain_words(tables, card_of) -> None:
    ent = tables.enterprises.sort_values("entity_id")
    coded = ent.loc[ent["key_sector"].astype("str").str.contains("_"), "entity_id"]
    card = card_of(first_registered(tables, coded, AS_OF))
    assert not card.records["record"].str.contains("_", regex=False).any()


def test_restored_penalty_says_credit_restored(tables, card_of) -> None:
    mine = first_known(tables, tables.penalties, "restored_on")
    entity_id = mine["entity_id"]
    line = f"credit restored on {day(mine['restored_on'])}"
    card = card_of(entity_id)
    assert line in card.text
    shown = card.records[card.records["record"].str.contains(line, regex=False)]
    assert shown["date"].tolist() == [mine["decided_on"]]
    # before the restoration was known, the same penalty is not yet restored
    between = mine["published_on"] + (mine["restored_on"] - mine["published_on"]) / 2
    between = pd.Timestamp(between).normalize() + pd.Timedelta(days=1)
    assert mine["published_on"] < between <= mine["restored_on"]
    earlier = records(tables, entity_id, between)
    assert not earlier["record"].str.contains(line, regex=False).any()
    assert earlier["date"].eq(mine["decided_on"]).any()


def test_a_sole_proprietor_is_marked_abnormal_not_listed(tables, batches, card_of) -> None:
    """Issue 21, point 8: the card of a sole proprietor with an abnormal mark says
    "marked" in its records, its reasons and what it can do, never "listed"."""
    batch = batches[AS_OF]
    marks = tables.list_entries[tables.list_entries["list"] == "abnormal_mark"]
    marked = batch[
        (batch["on_abnormal_list"] == 1)
        & (batch["entity_type"] == "sole_proprietor")
        & batch["entity_id"].isin(marks["entity_id"])
    ]
    assert len(marked) >= 3
    helped = 0
    for entity_id in marked["entity_id"].head(6):
        card = card_of(entity_id)
        assert "Marked abnormal (a sole proprietor is marked, not listed)" in card.text
        assert "Put on the abnormal operation list" not in card.text
        for sentence in card.reasons.loc[card.reasons["feature"] == "on_abnormal_list", "sentence"]:
            assert "marked abnormal" in sentence
        steps = " ".join(card.recourse["steps"])
        assert "Apply for removal from the abnormal operation list" not in steps
        if "leave_abnormal_list" in " ".join(card.recourse["actions"]):
            assert "abnormal mark removed" in steps
            helped += 1
    assert helped >= 1


def test_removed_list_entry_says_removed_on(tables, card_of) -> None:
    mine = first_known(tables, tables.list_entries, "removed_on")
    entity_id = mine["entity_id"]
    line = f"removed on {day(mine['removed_on'])}"
    card = card_of(entity_id)
    assert line in card.text
    assert f"{day(mine['listed_on'])}  {LIST_WORDS[mine['list']]}: " in card.text
    # while still listed, the entry shows without its removal
    earlier = records(tables, entity_id, mine["removed_on"])
    listed = earlier[earlier["date"] == mine["listed_on"]]
    assert len(listed) >= 1
    assert not earlier["record"].str.contains(line, regex=False).any()


def test_report_filed_after_as_of(tables, card_of) -> None:
    """Filed after as_of: shown as not filed once due, not at all before its due date."""
    ar = tables.annual_reports
    overdue = ar[(ar["report_year"] == 2023) & (ar["filed_on"] >= AS_OF)]
    entity_id = first_registered(tables, overdue["entity_id"].sort_values(), AS_OF)
    text = card_of(entity_id).text
    assert "2023 annual report not filed (due 2024-06-30)" in text
    assert "2023 annual report filed" not in text
    filed = overdue.loc[overdue["entity_id"] == entity_id, "filed_on"].iloc[0]
    later = records(tables, entity_id, filed + pd.Timedelta(days=1))
    assert later["record"].str.startswith("2023 annual report filed").sum() == 1
    # on its due date the report is not overdue yet; the day after, it is
    due = pd.Timestamp("2024-06-30")
    on_due = records(tables, entity_id, due)["record"]
    after_due = records(tables, entity_id, due + pd.Timedelta(days=1))["record"]
    assert not on_due.str.startswith("2023 annual report").any()
    assert after_due.str.startswith("2023 annual report not filed").sum() == 1
    not_due = ar[(ar["report_year"] == 2024) & (ar["filed_on"] >= AS_OF)]
    entity_id = first_registered(tables, not_due["entity_id"].sort_values(), AS_OF)
    assert "2024 annual report" not in card_of(entity_id).text


def test_license_records(tables) -> None:
    """A license shows once issued; revoked or expired only once that date has passed."""
    lic = tables.licenses.sort_values("license_id")
    revoked = lic[lic["revoked_on"].notna()].iloc[0]
    expiring = lic[lic["revoked_on"].isna() & (lic["expires_on"] < AS_OF)].iloc[0]
    for one, column, word in (
        (revoked, "revoked_on", "revoked"),
        (expiring, "expires_on", "expired"),
    ):
        entity_id, issued, ended = one["entity_id"], one["issued_on"], one[column]

        def texts(as_of: pd.Timestamp, entity_id: str = entity_id, issued=issued) -> list[str]:
            found = records(tables, entity_id, as_of)
            mine = found[(found["source"] == "licenses") & (found["date"] == issued)]
            return mine["record"].tolist()

        assert texts(issued) == []
        assert len(texts(issued + pd.Timedelta(days=1))) >= 1
        line = f", {word} on {day(ended)}"
        assert not any(line in t for t in texts(ended))
        assert sum(line in t for t in texts(ended + pd.Timedelta(days=1))) == 1


# -- 4. text and HTML -------------------------------------------------------------------
@pytest.mark.parametrize("label", LABELS)
def test_text_content(label, chosen, card_of, model) -> None:
    card = card_of(chosen[AS_OF][label])
    text = card.text
    lines = text.splitlines()
    assert card.entity_id in lines[0] and "2025-01-01" in lines[0]
    assert f"Tier {card.tier} ({label_of(model, card.tier)})" in text
    assert f"{card.probability * 100:.1f}%" in text
    for line in reason_lines(card.raising()) + reason_lines(card.lowering()):
        assert line in lines
    plans = card.helpful_plans()
    for steps, tier, p in zip(plans["steps"], plans["tier"], plans["probability"], strict=True):
        assert f"  {steps} -> tier {tier} ({p * 100:.1f}%)" in lines
    if label == "helpful":
        assert len(plans) > 0
    if card.override:
        assert f"  {card.override_reason} (by its score alone: tier {card.score_tier})" in lines
        assert "None applied" not in text
    else:
        assert f"  None applied: the tier is the score's (tier {card.score_tier})" in lines
    for when, record in zip(card.records["date"], card.records["record"], strict=True):
        assert f"  {day(when)}  {record}" in lines
    assert "Rights" in lines and "  " + RIGHTS in lines
    assert lines.index("Rights") > lines.index("Records known to the regulator before 2025-01-01")


@pytest.mark.parametrize("label", LABELS)
def test_html_content(label, chosen, card_of, model) -> None:
    card = card_of(chosen[AS_OF][label])
    html = card.html
    assert html.startswith("<!DOCTYPE html>")
    page = Page(html)
    assert page.by_id["entity-id"] == card.entity_id
    assert page.by_id["tier"] == card.tier
    assert page.by_id["probability"] == f"{card.probability * 100:.1f}%"
    assert f"Tier {card.tier} ({label_of(model, card.tier)})" in page.text
    assert "as of 2025-01-01" in page.text
    up, down = card.raising(), card.lowering()
    assert page.rows("raising") == [
        [s, f"{c:+.3f}", ""] for s, c in zip(up["sentence"], up["contribution"], strict=True)
    ]
    assert page.rows("lowering") == [
        [s, f"{c:+.3f}", ""] for s, c in zip(down["sentence"], down["contribution"], strict=True)
    ]
    plans = card.helpful_plans()
    assert page.rows("plans") == [
        [s, str(t), f"{p * 100:.1f}%"]
        for s, t, p in zip(plans["steps"], plans["tier"], plans["probability"], strict=True)
    ]
    assert page.rows("record-list") == [
        [day(d), r] for d, r in zip(card.records["date"], card.records["record"], strict=True)
    ]
    overrides = " ".join(page.by_id["overrides"].split())
    if card.override:
        assert card.override_reason in overrides
        assert f"tier {card.score_tier}" in overrides and "None applied" not in overrides
    else:
        assert f"None applied: the tier is the one its score gives (tier {card.score_tier})" in (
            overrides
        )
    assert RIGHTS in page.by_id["rights"]
    # self-contained: no scripts, nothing fetched from elsewhere
    assert "script" not in page.tags and "<script" not in html.lower()
    assert not any(t in page.tags for t in ("link", "iframe", "object", "embed", "img"))
    assert all(":" not in link for link in page.links)
    assert all("//" not in value for value in page.values)
    lowered = html.lower()
    assert "http://" not in lowered and "https://" not in lowered
    assert "@import" not in lowered and "url(" not in lowered


def test_html_escapes_record_text(tables, model) -> None:
    pen = tables.penalties
    mine = first_known(tables, pen, "published_on")
    entity_id, penalty_id = mine["entity_id"], mine["penalty_id"]
    changed = pen.copy()
    changed["category"] = changed["category"].astype("str")
    changed.loc[changed["penalty_id"] == penalty_id, "category"] = INJECTED
    card = explain_card(model, entity_id, tables=tables.replace(penalties=changed), as_of=AS_OF)
    assert INJECTED in card.text
    html = card.html
    assert INJECTED not in html and "<b>" not in html and "<script" not in html.lower()
    assert escape(INJECTED, quote=False) in html
    cells = [r[1] for r in Page(html).rows("record-list")]
    assert sum(INJECTED in cell for cell in cells) == 1


# -- 5. a feature row instead of an entity id -------------------------------------------
def _same_explanation(a: ExplanationCard, b: ExplanationCard, recourse: bool = True) -> None:
    def head(card: ExplanationCard) -> tuple:
        return (card.entity_id, card.as_of, card.tier, card.score_tier, card.probability)

    assert head(a) == head(b)  # the probability bit for bit
    assert (a.override, a.override_reason) == (b.override, b.override_reason)
    for column in ("feature", "sentence", "contribution"):
        assert a.reasons[column].tolist() == b.reasons[column].tolist(), column
    assert a.base_value == b.base_value
    if recourse:
        for column in ("actions", "tier", "probability", "lower"):
            assert a.recourse[column].tolist() == b.recourse[column].tolist(), column


@pytest.mark.parametrize("label", ["A", "D", "abnormal_list", "serious_illegal_list", "helpful"])
def test_feature_row_input(label, chosen, card_of, features, batches, model) -> None:
    entity_id = chosen[AS_OF][label]
    by_id = card_of(entity_id)
    i = int(np.flatnonzero(features["entity_id"].to_numpy() == entity_id)[0])
    as_frame = explain_card(model, features.iloc[[i]])
    as_series = explain_card(model, features.iloc[i])
    batch = batches[AS_OF]
    from_scores = explain_card(model, batch[batch["entity_id"] == entity_id])
    # without the register, no record shows whether the rules allow a restoration or an
    # early exit: those are never offered, every other action is as with the register
    blind = model.recourse(features.iloc[[i]])
    assert not blind["actions"].str.contains("restore_penalties|leave_serious_list").any()
    for card in (as_frame, as_series, from_scores):
        _same_explanation(card, by_id, recourse=False)
        for column in ("actions", "tier", "probability", "lower"):
            assert card.recourse[column].tolist() == blind[column].tolist(), column
        assert card.records is None
        assert "Records known to the regulator" not in card.text
        assert 'id="records"' not in card.html
        if by_id.recourse["actions"].tolist() == blind["actions"].tolist():
            assert card.text == without_records(by_id.text)


def test_feature_rows_must_be_one(features, model) -> None:
    with pytest.raises(ValueError, match="one entity, got 2 rows"):
        explain_card(model, features.iloc[:2])
    with pytest.raises(ValueError, match="got 0 rows"):
        explain_card(model, features.iloc[:0])


# -- 6. errors --------------------------------------------------------------------------
def test_unknown_entity(tables, model) -> None:
    with pytest.raises(ValueError, match="E9999999"):
        explain_card(model, "E9999999", tables=tables, as_of=AS_OF)


def test_entity_id_needs_tables_and_as_of(tables, model) -> None:
    with pytest.raises(ValueError, match="tables= and as_of="):
        explain_card(model, "E0000025", as_of=AS_OF)
    with pytest.raises(ValueError, match="tables= and as_of="):
        explain_card(model, "E0000025", tables=tables)


def test_entity_not_registered_at_as_of(tables, model) -> None:
    ent = tables.enterprises.sort_values("entity_id")
    young = ent[ent["registered_on"] > EARLY].iloc[0]
    with pytest.raises(ValueError, match="not registered") as err:
        explain_card(model, young["entity_id"], tables=tables, as_of=EARLY)
    message = str(err.value)
    assert young["entity_id"] in message
    assert f"registered_on {day(young['registered_on'])}" in message
    gone_on = young["deregistered_on"]
    assert f"deregistered_on {'never' if pd.isna(gone_on) else day(gone_on)}" in message
    gone = ent[ent["deregistered_on"] < EARLY].iloc[0]
    with pytest.raises(ValueError, match="not registered") as err:
        explain_card(model, gone["entity_id"], tables=tables, as_of=EARLY)
    message = str(err.value)
    assert f"registered_on {day(gone['registered_on'])}" in message
    assert f"deregistered_on {day(gone['deregistered_on'])}" in message
    # on the deregistration day itself it still counts as registered (spine's rule)
    on_the_day = explain_card(
        model, gone["entity_id"], tables=tables, as_of=gone["deregistered_on"]
    )
    assert on_the_day.entity_id == gone["entity_id"]


# -- 7. write ---------------------------------------------------------------------------
def test_write(tmp_path: Path, chosen, card_of) -> None:
    card = card_of(chosen[AS_OF]["helpful"])
    assert card.write(tmp_path / "c.html") == tmp_path / "c.html"
    assert card.write(tmp_path / "c.txt") == tmp_path / "c.txt"
    assert (tmp_path / "c.html").read_text(encoding="utf-8") == card.html
    assert (tmp_path / "c.txt").read_text(encoding="utf-8") == card.text
    other = card_of(chosen[AS_OF]["A"])
    other.write(tmp_path / "c.txt")  # replaces the file in place
    assert (tmp_path / "c.txt").read_text(encoding="utf-8") == other.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.html", "c.txt"]
    card.write(tmp_path / "C.TXT")  # the suffix decides whatever its case
    assert (tmp_path / "C.TXT").read_text(encoding="utf-8") == card.text


def test_records_take_as_of_as_a_day(tables) -> None:
    """A time of day in as_of does not let in what was published that same day."""
    pen = tables.penalties.sort_values("entity_id")
    first = pen.iloc[0]
    day = pd.Timestamp(first["published_on"]).normalize()
    noon = day + pd.Timedelta(hours=12)
    at_noon = records(tables, first["entity_id"], noon)
    pd.testing.assert_frame_equal(at_noon, records(tables, first["entity_id"], day))
    assert not at_noon["record"].str.contains(f"published {day.date()}", regex=False).any()


# -- 8. determinism ---------------------------------------------------------------------
@pytest.mark.parametrize("label", ["B", "helpful"])
def test_cards_repeat(label, chosen, tables, model) -> None:
    entity_id = chosen[AS_OF][label]
    first = explain_card(model, entity_id, tables=tables, as_of=AS_OF)
    again = explain_card(cr.RiskModel.load(cr.sample_model_path()), entity_id, tables, "2025-01-01")
    assert first.text == again.text
    assert first.html == again.html
    pd.testing.assert_frame_equal(first.reasons, again.reasons)


# -- 9. recourse ------------------------------------------------------------------------
@pytest.mark.parametrize("label", LABELS)
def test_recourse_plans(label, chosen, card_of, batches, model) -> None:
    entity_id = chosen[AS_OF][label]
    card = card_of(entity_id)
    tiers = list(model.policy_.tiers)
    now = tiers.index(card.tier)
    plans = card.recourse
    helpful = card.helpful_plans(k=len(plans))
    reached = plans["tier"].astype("str").map(tiers.index)
    assert plans["lower"].tolist() == (reached < now).tolist()
    # the helpful plans come first, fewest actions, then lowest tier and probability
    assert plans["lower"].tolist() == sorted(plans["lower"], reverse=True)
    assert len(helpful) == int(plans["lower"].sum())
    order = list(
        zip(helpful["n_actions"], reached[: len(helpful)], helpful["probability"], strict=True)
    )
    assert order == sorted(order)
    assert len(card.helpful_plans()) == min(5, len(helpful))
    as_is = plans[plans["n_actions"] == 0].iloc[0]
    assert as_is["probability"] == card.probability and str(as_is["tier"]) == card.tier
    batch = batches[AS_OF]
    row = batch[batch["entity_id"] == entity_id][["entity_id", "as_of", *model.feature_names_in_]]
    for actions, tier, p in zip(plans["actions"], plans["tier"], plans["probability"], strict=True):
        steps = actions.split(" + ") if actions else []
        rescored = model.classify(apply_by_hand(row, steps), top_k=0).iloc[0]
        assert rescored["probability"] == p, actions
        assert str(rescored["tier"]) == str(tier), actions
        # overrides only ever raise a tier under the national policy
        assert tiers.index(str(tier)) >= cutoff_tier(p, model.cutoffs_)
    if label == "helpful":
        assert len(helpful) > 0


def test_raising_ignores_what_the_batch_ranks_as_zero() -> None:
    """A contribution that rounds to zero where the batch ranks reasons
    (explain.top_reasons) is no reason on the card either."""
    phi = np.array([[0.3, 4e-12, -0.2, 0.3]])
    positions, _ = cr.model.contributions.top_reasons(phi, k=3)
    card = ExplanationCard(
        entity_id="E1",
        as_of=AS_OF,
        tier="B",
        tier_label="general",
        score_tier="B",
        probability=0.2,
        override="",
        override_reason="",
        reasons=pd.DataFrame(
            {
                "feature": list("abcd"),
                "sentence": list("abcd"),
                "value": 1.0,
                "contribution": phi[0],
            }
        ),
        base_value=-1.0,
        recourse=pd.DataFrame(),
    )
    batch = [list("abcd")[p] for p in positions[0] if p >= 0]
    assert card.raising()["feature"].tolist() == batch == ["a", "d"]
