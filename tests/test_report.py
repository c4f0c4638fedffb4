"""The supervisor's report (creditrisk.report.page.build_report), read back from its HTML.

The report is built once from the sample: today's run, the run six months before, a
drawn plan and its inspector register. Every HTML table is parsed back with the
standard library's parser and each shown cell is compared with the DataFrame kept in
``Report.tables`` (numbers within the rounding of their display). The key figures of
those DataFrames are then recomputed independently: tier counts with value_counts, the
migration with a crosstab of the two runs, plan tables with groupby, finding rates with
``build_labels``. Every image must be an embedded PNG of non-zero size, and nothing
may point outside the file. One test opens the page in headless Chromium (Debian's
package, driven by Playwright) and skips, saying why, where there is none.
"""

from __future__ import annotations

import base64
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _services import unavailable
from markupsafe import escape

import creditrisk as cr
from creditrisk import inspection
from creditrisk.data.spine import data_span
from creditrisk.report.page import build_report

TODAY = pd.Timestamp("2026-01-01")
BEFORE = pd.Timestamp("2025-07-01")
SECTIONS = (
    "overview",
    "tier-distribution",
    "finding-rates",
    "reliability",
    "shap-summary",
    "top-reasons",
    "tier-migration",
    "inspection",
    "fairness",
)
TABLES = (
    "tiers",
    "importance",
    "reasons",
    "selection",
    "reliability",
    *(f"fairness-{g}" for g in cr.fairness.GROUPS),
    "shares-now",
    "migration",
    "frequency",
    "plan-tiers",
    "plan-regions",
    "related",
)


# -- reading the page back -------------------------------------------------------------
class Page(HTMLParser):
    """Sections, tables (id -> header, rows of cell text), images and every URL-bearing
    attribute of an HTML page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.images: list[tuple[str, str | None]] = []  # (src, section id)
        self.links: list[str] = []
        self.tags: set[str] = set()
        self._section: str | None = None
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._head = False
        self.feed(html)

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        self.tags.add(tag)
        for name in ("href", "src", "action", "poster", "data"):
            if name in attrs:
                self.links.append(attrs[name] or "")
        if tag == "section":
            self._section = attrs.get("id")
            self.sections.append(self._section)
        elif tag == "img":
            self.images.append((attrs.get("src", ""), self._section))
        elif tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.tables[self._table] = ([], [])
        elif tag == "thead":
            self._head = True
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            head, rows = self.tables[self._table]
            if self._head:
                head.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "thead":
            self._head = False
        elif tag == "table":
            self._table = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


def shown_equals(text: str, value) -> bool:
    """``text`` is how the page shows ``value``: a number within the rounding of its
    display (12.3%, 1,234, +0.123, 0.12), or the same text; empty for a missing value."""
    if (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and np.isnan(value))
    ):
        return text == ""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        match = re.fullmatch(r"([+-]?[\d,]*\.?(\d*))(%?)", text)
        if not match:
            return False
        number = float(match.group(1).replace(",", ""))
        decimals = len(match.group(2))
        if match.group(3):
            number /= 100
            decimals += 2
        return abs(number - float(value)) <= 0.5 * 10.0**-decimals + 1e-12
    return text == str(value)


def png_size(src: str) -> tuple[int, int]:
    """Width and height of a PNG data URI, from its IHDR chunk."""
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    data = base64.b64decode(src[len(prefix) :], validate=True)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_self_contained(html: str, page: Page) -> None:
    """No URL leaves the file: links are in-page anchors, images data URIs, no scripts,
    stylesheets, frames, fonts or imports."""
    assert not re.search(r"https?://|ftp://|file://", html)
    assert not re.search(r"url\(|@import", html)
    assert not page.tags & {"script", "link", "iframe", "object", "embed", "base", "video"}
    for link in page.links:
        assert link.startswith(("#", "data:image/png;base64,")), link[:60]


# -- shared objects --------------------------------------------------------------------
@pytest.fixture(scope="module")
def run(tables, model) -> dict:
    today = cr.scoring.score_chunk(tables, model, TODAY)
    before = cr.scoring.score_chunk(tables, model, BEFORE, top_k=0)
    register = inspection.load_sample_register()
    plan = inspection.draw(today, register, model.policy_, seed=20260101, history=tables)
    report = build_report(
        today,
        model,
        tables=tables,
        previous=before,
        plan=plan,
        register=register,
        max_shap_rows=len(today),
    )
    return {
        "tables": tables,
        "model": model,
        "today": today,
        "before": before,
        "plan": plan,
        "register": register,
        "report": report,
        "page": Page(report.html),
    }


# -- what the page shows ----------------------------------------------------------------
def test_every_section_is_present_with_its_plots(run) -> None:
    report, page = run["report"], run["page"]
    assert page.sections == list(SECTIONS)
    for section in SECTIONS:
        assert f'href="#{section}"' in report.html  # the table of contents links to it
    assert report.notes == []  # every input was given: nothing left out
    figured = {section for _, section in page.images}
    assert figured == set(SECTIONS) - {"overview"}
    assert len(page.images) == len(report.figures) == 11
    for src, _ in page.images:
        width, height = png_size(src)
        assert width > 100 and height > 100


def test_every_table_is_shown_as_its_dataframe(run) -> None:
    report, page = run["report"], run["page"]
    assert set(report.tables) == set(TABLES)
    assert set(page.tables) == set(TABLES)
    for name, frame in report.tables.items():
        head, rows = page.tables[name]
        assert head == [str(c) for c in frame.columns], name
        assert len(rows) == len(frame), name
        for i, (row, values) in enumerate(zip(rows, frame.itertuples(index=False), strict=True)):
            for column, text, value in zip(head, row, values, strict=True):
                assert shown_equals(text, value), (name, i, column, text, value)


def test_the_page_is_self_contained(run) -> None:
    assert_self_contained(run["report"].html, run["page"])


def test_tier_table_counts_the_run(run) -> None:
    today, policy = run["today"], run["model"].policy_
    tiers = run["report"].tables["tiers"].set_index("tier")
    counts = today["tier"].astype(str).value_counts().reindex(policy.tiers, fill_value=0)
    assert tiers["entities"].tolist() == counts.tolist()
    np.testing.assert_allclose(tiers["share"], counts / len(today))
    moved = today[today["override"].astype(str) != ""]["tier"].astype(str).value_counts()
    assert tiers["by_override"].tolist() == moved.reindex(policy.tiers, fill_value=0).tolist()
    assert tiers["label"].tolist() == list(policy.labels)
    means = today.groupby(today["tier"].astype(str))["probability"].mean()
    np.testing.assert_allclose(tiers["mean_probability"], means.reindex(policy.tiers))
    assert run["report"].facts["entities scored"] == f"{len(today):,}"


def test_migration_is_the_crosstab_of_the_two_runs(run) -> None:
    both = run["before"][["entity_id", "tier"]].merge(
        run["today"][["entity_id", "tier"]], on="entity_id", suffixes=("_before", "_now")
    )
    tiers = list(run["model"].policy_.tiers)
    direct = pd.crosstab(both["tier_before"].astype(str), both["tier_now"].astype(str)).reindex(
        index=tiers, columns=tiers, fill_value=0
    )
    shown = run["report"].tables["migration"].set_index("tier before")
    np.testing.assert_array_equal(shown.to_numpy(), direct.to_numpy())
    changed = int((both["tier_before"].astype(str) != both["tier_now"].astype(str)).sum())
    text = re.search(r'<p id="migration-summary">(.*?)</p>', run["report"].html, re.S).group(1)
    assert f"{len(both):,} entities in both runs" in " ".join(text.split())
    assert f"{changed:,} ({changed / len(both):.1%}) changed tier" in " ".join(text.split())


def test_plan_tables_count_the_plan(run) -> None:
    plan, register = run["plan"], run["register"]
    report = run["report"]
    per_tier = report.tables["plan-tiers"].set_index("tier")
    visits = plan["tier"].astype(str).value_counts()
    for tier, row in per_tier.iterrows():
        assert row["visits"] == visits.get(str(tier), 0)
        assert (
            row["entities"]
            == plan.loc[plan["tier"].astype(str) == str(tier), "entity_id"].nunique()
        )
    frequency = inspection.frequency_table(run["today"], run["model"].policy_)
    expected = frequency.groupby(frequency["tier"].astype(str))["expected_inspections"].sum()
    np.testing.assert_allclose(per_tier["expected_inspections"], expected.reindex(per_tier.index))
    per_region = report.tables["plan-regions"].set_index("region")
    for region, row in per_region.iterrows():
        mine = plan[plan["region"].astype(str) == str(region)]
        assert row["visits"] == len(mine)
        assert row["key_sector_visits"] == int((mine["key_sector"].astype(str) != "none").sum())
        staff = register.inspectors[register.inspectors["region"].astype(str) == str(region)]
        assert row["inspectors"] == len(staff)
    assert per_region["visits"].sum() == len(plan)
    assert 0 < per_region["key_sector_visits"].sum() < len(plan)
    assert str(plan["seed"].iat[0]) in report.html


def test_frequency_table_is_the_policy_table(run) -> None:
    direct = inspection.frequency_table(run["today"], run["model"].policy_)
    pd.testing.assert_frame_equal(
        run["report"].tables["frequency"], direct.drop(columns=["min_per_entity"])
    )


def test_finding_rates_come_from_the_back_test(run) -> None:
    """Today has no outcomes yet: rates are measured at the latest date whose 12 months
    are in the data, on the register scored there, as build_labels counts them."""
    report, tables, model = run["report"], run["tables"], run["model"]
    last = data_span(tables)[1]
    assert report.outcome_as_of == last - pd.Timedelta(days=364)
    assert "back-test" in report.facts["outcomes"]
    past = cr.scoring.score_chunk(tables, model, report.outcome_as_of, top_k=0)
    y = cr.build_labels(tables, past[["entity_id", "as_of"]], outcome="inspection_finding")
    selection = report.tables["selection"].set_index("tier")
    overall = selection.loc["all"]
    assert overall["entities"] == len(past)
    assert overall["random_inspected"] == int(y.notna().sum())
    assert overall["random_finding_rate"] == pytest.approx(y.mean())
    tier = past["tier"].astype(str)
    for name in model.policy_.tiers:
        mine = y[tier == name]
        assert selection.loc[name, "random_inspected"] == int(mine.notna().sum())
        assert selection.loc[name, "random_finding_rate"] == pytest.approx(mine.mean(), nan_ok=True)
    assert report.tables["reliability"]["rows"].sum() == int(y.notna().sum())
    auc = cr.evaluation.metrics(y, past["probability"])["auc"]
    assert f"AUC {auc:.3f}" in report.facts["back-test metrics"]
    for group in cr.fairness.GROUPS:
        assert report.tables[f"fairness-{group}"]["entities"].sum() == len(past)
        assert report.tables[f"fairness-{group}"]["random_inspected"].sum() == y.notna().sum()


def test_shap_summary_is_the_models_importance(run) -> None:
    model, today = run["model"], run["today"]
    X = today[["entity_id", "as_of", *model.feature_names_in_]]
    direct = model.importance(X).head(15)
    shown = run["report"].tables["importance"]
    assert shown["feature"].tolist() == direct.index.tolist()
    np.testing.assert_allclose(shown["mean_abs_shap"], direct["mean_abs_shap"])
    assert run["report"].facts["SHAP rows"].startswith(f"{len(today):,} of {len(today):,}")


def test_reasons_count_the_runs_reasons(run) -> None:
    today = run["today"]
    reasons = run["report"].tables["reasons"]
    columns = [c for c in today.columns if re.fullmatch(r"reason_\d+_feature", c)]
    assert columns
    for row in reasons.itertuples():
        mine = today[today["tier"].astype(str) == str(row.tier)]
        carries = mine[columns].astype(str).eq(row.feature).any(axis=1)
        assert row.entities == int(carries.sum())
        assert row.first == int((mine[columns[0]].astype(str) == row.feature).sum())


def test_fairness_flags_are_listed(run) -> None:
    report = run["report"]
    flagged = [
        (group, value, flag)
        for group in cr.fairness.GROUPS
        for value, flag in report.tables[f"fairness-{group}"][["value", "flag"]].itertuples(
            index=False
        )
        if flag
    ]
    count = re.search(r'<p[^>]*id="flag-count">(.*?)</p>', report.html, re.S).group(1)
    if flagged:
        assert count.startswith(f"{len(flagged)} group(s) flagged")
        for group, value, flag in flagged:
            assert f"{group.replace('_', ' ')} {value} ({flag})" in count
    else:
        assert count == "No group flagged."


# -- other inputs ------------------------------------------------------------------------
def test_a_run_whose_outcomes_are_known_is_measured_on_its_own_date(run) -> None:
    tables, model = run["tables"], run["model"]
    day = pd.Timestamp("2024-07-01")
    scores = cr.scoring.score_chunk(tables, model, day)
    report = build_report(scores, model, tables=tables, max_shap_rows=300)
    assert report.outcome_as_of == day
    assert "this run's own date" in report.facts["outcomes"]
    y = cr.build_labels(tables, scores[["entity_id", "as_of"]], outcome="inspection_finding")
    assert report.tables["selection"].set_index("tier").loc["all", "random_inspected"] == int(
        y.notna().sum()
    )
    assert "Tier migration: no previous run was given (--previous)." in report.notes
    assert "Inspection plan: none was given (--plan)." in report.notes
    assert "plan-tiers" not in report.tables and "migration" not in report.tables


def test_without_tables_the_report_says_what_it_left_out(run) -> None:
    model = run["model"]
    scores = run["today"][
        ["entity_id", "as_of", "probability", "tier", "score_tier", "override", "override_reason"]
    ].assign(key_sector=run["today"]["key_sector"])
    report = build_report(scores, model)
    assert report.outcome_as_of is None
    assert any("need the event tables" in n for n in report.notes)
    assert any(n.startswith("SHAP summary: the scores carry no features") for n in report.notes)
    assert {"selection", "reliability", "importance"}.isdisjoint(report.tables)
    page = Page(report.html)
    assert page.sections == list(SECTIONS)  # every section is there, saying why it is empty
    assert report.html.count("Needs the event tables.") == 3
    assert_self_contained(report.html, page)
    for note in report.notes:
        assert str(escape(note)) in report.html


def test_the_report_is_deterministic(run) -> None:
    args = (run["today"], run["model"])
    kwargs = {"previous": run["before"], "max_shap_rows": 400, "seed": 3}
    assert build_report(*args, **kwargs).html == build_report(*args, **kwargs).html


def test_text_is_escaped(run) -> None:
    title = "<script>alert('x')</script> & co"
    report = build_report(run["today"].head(200), run["model"], title=title, max_shap_rows=50)
    assert "<script>" not in report.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; co" in report.html


def test_write_is_atomic(run, tmp_path) -> None:
    target = tmp_path / "report.html"
    target.write_text("old")
    assert run["report"].write(target) == target
    assert target.read_text(encoding="utf-8") == run["report"].html
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError):
        run["report"].write(blocker / "report.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "report.html"]


# -- bad input ----------------------------------------------------------------------------
def test_scores_without_the_key_columns_are_refused(run) -> None:
    with pytest.raises(ValueError, match=r"lack the columns \['tier'\]"):
        build_report(run["today"].drop(columns=["tier"]), run["model"])


def test_tiers_outside_the_policy_are_refused_with_rows(run) -> None:
    scores = run["today"].copy()
    scores["tier"] = scores["tier"].astype(str)
    scores.loc[scores.index[7], "tier"] = "Z"
    bad = scores.loc[scores.index[7], "entity_id"]
    with pytest.raises(ValueError, match=rf"column 'tier'.*national.*{bad}"):
        build_report(scores, run["model"])


# -- in a browser -------------------------------------------------------------------------
def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.slow
def test_the_report_and_a_card_render_in_headless_chromium(run, tmp_path) -> None:
    """Opened from disk in Chromium: no console error, no request leaves the file, and
    every plot is drawn at a non-zero size."""
    executable = _chromium()
    if executable is None:
        unavailable("no Chromium on this machine (.ci/run installs Debian's chromium package)")
    from playwright import sync_api

    card = cr.report.explain_card(
        run["model"], str(run["plan"]["entity_id"].iat[0]), tables=run["tables"], as_of=TODAY
    )
    pages = {
        "report": (run["report"].write(tmp_path / "report.html"), len(run["report"].figures)),
        "card": (card.write(tmp_path / "card.html"), 0),
    }
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        try:
            for name, (path, figures) in pages.items():
                page = browser.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("console", lambda m, e=errors: m.type == "error" and e.append(m.text))
                page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
                page.on("request", lambda r, q=requests: q.append(r.url))
                page.goto(Path(path).resolve().as_uri(), wait_until="load")
                assert errors == [], (name, errors)
                assert [u for u in requests if not u.startswith(("file:", "data:"))] == [], name
                images = page.evaluate(
                    "() => [...document.images].map(i => ({complete: i.complete, "
                    "natural: i.naturalWidth * i.naturalHeight, "
                    "width: i.getBoundingClientRect().width, "
                    "height: i.getBoundingClientRect().height}))"
                )
                assert len(images) == figures, name
                for image in images:
                    assert image["complete"] and image["natural"] > 0, (name, image)
                    assert image["width"] > 0 and image["height"] > 0, (name, image)
                body = page.evaluate("() => document.body.getBoundingClientRect().height")
                assert body > 500, name
                if name == "report":
                    for section in SECTIONS:
                        assert page.locator(f"section#{section}").is_visible()
                else:
                    assert card.entity_id in page.inner_text("body")
                page.close()
        finally:
            browser.close()


def test_related_party_reasons_name_the_enterprises_behind_them(run) -> None:
    """The riskiest entities with a related-party reason, and exactly the enterprises
    that count for that reason (issue 18: an enterprise may know what its tier rests on)."""
    from creditrisk.features.related import COUNTS, related_enterprises

    report, today, tables = run["report"], run["today"], run["tables"]
    related = report.tables["related"]
    relational = set(COUNTS) - {"linked_enterprises"}
    ranks = [c for c in today.columns if c.startswith("reason_") and c.endswith("_feature")]
    hit = today[ranks].apply(lambda c: c.astype(str).isin(relational)).any(axis=1)
    assert 0 < len(related) == min(int(hit.sum()), 20)
    riskiest = today[hit].sort_values("probability", ascending=False, kind="stable")
    assert related["entity_id"].tolist() == riskiest["entity_id"].head(20).tolist()
    for _, row in related.head(5).iterrows():
        mine = today[today["entity_id"] == row["entity_id"]].iloc[0]
        first = next(c for c in ranks if str(mine[c]) in relational)  # its first such reason
        assert row["reason"] == mine[first.removesuffix("_feature")]
        rel = related_enterprises(tables, row["entity_id"], TODAY)
        counts = rel["counts_for"].str.split("; ")
        behind = rel.loc[counts.map(lambda c, f=mine[first]: f in c), "related_id"]
        shown = row["related enterprises"].split(" (+")[0].split(", ")
        assert shown == behind.head(5).tolist()
    assert 'id="related"' in report.html
