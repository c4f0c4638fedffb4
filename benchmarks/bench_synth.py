"""Speed, memory and realism of the synthetic world generator.

Speed: ``creditrisk.synth.generate`` for 1,000,000 enterprises over 8 years, each run
in a fresh process so its peak memory is its own, side by side with the targets of
issue 2 (under 90 s and 6 GB on 2 cores). Realism: on a 200,000-enterprise world,
the figures DESIGN.md asks for, beside their targets: oracle AUC of the 12-month
random-inspection finding label (0.70-0.85), random-inspection finding rate (10-30%)
and how steeply it rises with the true probability, shares of entities clean, on the
abnormal list and on the serious list, and sole proprietors.

Usage::

    .venv/bin/python benchmarks/bench_synth.py            # full run (about 2 minutes)
    .venv/bin/python benchmarks/bench_synth.py --n 100000 --realism-n 50000   # quick
    .venv/bin/python benchmarks/bench_synth.py --realism-only   # realism and rule figures
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from _report import markdown, peak_rss
from sklearn.metrics import roc_auc_score

START, END = "2018-01-01", "2025-12-31"
AS_OF = ("2021-07-01", "2022-07-01", "2023-07-01", "2024-07-01")


def _child(n: int, seed: int) -> None:
    """Run one generation and print its figures as JSON (called in a subprocess)."""
    import creditrisk as cr

    t0 = time.perf_counter()
    world = cr.synth.generate(n, START, END, seed=seed)
    seconds = time.perf_counter() - t0
    peak = peak_rss()
    rows = {name: len(frame) for name, frame in world.tables}
    print(json.dumps({"seconds": seconds, "peak_bytes": peak, "rows": rows}))


def speed(n: int, seed: int, repeats: int) -> list[dict]:
    runs = []
    for _ in range(repeats):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(n), "--seed", str(seed)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return runs


def realism(n: int, seed: int) -> pd.DataFrame:
    import creditrisk as cr

    world = cr.synth.generate(n, START, END, seed=seed)
    t = world.tables
    ent, ins, pen, lists = t.enterprises, t.inspections, t.penalties, t.list_entries
    random = ins[ins["kind"] == "random"].assign(finding=lambda d: d["outcome"] != "compliant")
    rows = []
    aucs, top_bottom = [], []
    for as_of in AS_OF:
        day = pd.Timestamp(as_of)
        window = random[
            (random["inspected_on"] > day)
            & (random["inspected_on"] <= day + pd.Timedelta(days=365))
        ]
        label = window.groupby("entity_id")["finding"].max().astype(float)
        prob = world.truth.probability(as_of).reindex(label.index)
        registered = prob.notna()  # the spine: entities registered before as_of
        label, prob = label[registered], prob[registered]
        aucs.append(roc_auc_score(label, prob))
        quintile = pd.qcut(prob, 5, labels=False)
        by_q = label.groupby(quintile).mean()
        top_bottom.append((by_q.iloc[0], by_q.iloc[-1]))
    rows.append(
        (
            "oracle AUC, 12-month inspection_finding (mean of 4 as-of dates)",
            f"{np.mean(aucs):.3f} ({min(aucs):.3f}-{max(aucs):.3f})",
            "0.70-0.85",
        )
    )
    low, high = np.mean(top_bottom, axis=0)
    rows.append(
        (
            "finding rate, lowest vs highest quintile of true probability",
            f"{low:.1%} vs {high:.1%}",
            "rising steeply",
        )
    )
    rows.append(("finding rate on random inspections", f"{random['finding'].mean():.1%}", "10-30%"))
    rows.append(
        (
            "entities never penalised in the window",
            f"{1 - pen.loc[pen['decided_on'] >= START, 'entity_id'].nunique() / len(ent):.1%}",
            "most",
        )
    )
    shares_ab, shares_se = [], []
    for as_of in AS_OF:
        day = pd.Timestamp(as_of)
        alive = ent[
            (ent["registered_on"] < day)
            & (ent["deregistered_on"].isna() | (ent["deregistered_on"] >= day))
        ]
        on = lists[
            (lists["listed_on"] < day) & (lists["removed_on"].isna() | (lists["removed_on"] >= day))
        ]
        abnormal = on[on["list"] != "serious_illegal"]["entity_id"].nunique()
        serious = on[on["list"] == "serious_illegal"]["entity_id"].nunique()
        shares_ab.append(abnormal / len(alive))
        shares_se.append(serious / len(alive))
    rows.append(
        (
            "on the abnormal list (incl. marks) at an as-of date",
            f"{min(shares_ab):.1%}-{max(shares_ab):.1%}",
            "a few percent",
        )
    )
    rows.append(
        (
            "on the serious illegal list at an as-of date",
            f"{min(shares_se):.2%}-{max(shares_se):.2%}",
            "well under 1%",
        )
    )
    missed = (
        lists[(lists["list"] != "serious_illegal")]["reason"].eq("annual_report_not_filed").mean()
    )
    rows.append(("abnormal entries for a missed annual report", f"{missed:.0%}", "most"))
    sole = (ent["entity_type"] == "sole_proprietor").mean()
    rows.append(("sole proprietors", f"{sole:.0%}", "the majority"))
    strict = world.truth.inspector_strictness
    rows.append(("inspector strictness, sd (probit scale)", f"{strict.std():.2f}", "varies"))
    rows += rule_figures(world)
    return pd.DataFrame(rows, columns=["figure", "measured", "target"])


def indicator_figures(n: int, seed: int, as_of: str = "2023-07-01") -> pd.DataFrame:
    """Shares of the indicator tables (issue 18), and how well each raw signal alone
    ranks the next 12 months' random-inspection findings, beside the oracle."""
    import creditrisk as cr

    world = cr.synth.generate(n, START, END, seed=seed, indicators=True)
    t, truth = world.tables, world.truth.indicators
    ent = t.enterprises.set_index("entity_id")
    years = (pd.Timestamp(END) - pd.Timestamp(START)).days / 365.25
    held = truth.controller.value_counts()
    size = truth.controller.map(held)
    at = ent["address_id"].map(ent["address_id"].value_counts())
    propensity = truth.controller.map(truth.controller_propensity)
    roles = t.roles
    rows = [
        ("controllers holding one enterprise", f"{(held == 1).mean():.0%}", "most"),
        (
            "enterprises whose controller holds 2+ / 10+",
            f"{(size > 1).mean():.0%} / {(size >= 10).mean():.1%}",
            "a few many",
        ),
        ("largest controller's enterprises", f"{held.max()}", ""),
        (
            "distinct people per enterprise (all roles)",
            f"{roles.groupby('entity_id')['person_id'].nunique().mean():.2f}",
            "",
        ),
        (
            "enterprises at an address shared by 2+ / 10+ (snapshot)",
            f"{(at > 1).mean():.1%} / {(at >= 10).mean():.1%}",
            "",
        ),
        (
            "enterprises first registered in a shell cluster (10+)",
            f"{(truth.address_kind == 'shell').mean():.1%}",
            "some",
        ),
        (
            "corr(controller propensity, mu)",
            f"{np.corrcoef(propensity, world.truth.mu)[0, 1]:.2f}",
            "",
        ),
    ]
    for kind, count in t.changes["kind"].value_counts().items():
        if count:
            rows.append((f"changes of {kind} per enterprise-year", f"{count / n / years:.3f}", ""))
    verdict = t.complaints["substantiated"].value_counts(normalize=True)
    rows.append(("complaints per enterprise-year", f"{len(t.complaints) / n / years:.3f}", ""))
    rows.append(
        (
            "complaints substantiated / pending",
            f"{verdict.get('yes', 0):.0%} / {verdict.get('pending', 0):.1%}",
            "",
        )
    )
    listed = t.external_lists["entity_id"].nunique() / n
    rows.append(("enterprises ever on an external list", f"{listed:.1%}", ""))
    # each raw signal alone against the 12-month random-inspection finding label
    day, year = pd.Timestamp(as_of), pd.Timedelta(days=365)
    ins = t.inspections
    random = ins[
        (ins["kind"] == "random")
        & (ins["inspected_on"] > day)
        & (ins["inspected_on"] <= day + year)
    ]
    label = random.assign(f=random["outcome"] != "compliant").groupby("entity_id")["f"].max()
    prob = world.truth.probability(as_of).reindex(label.index)
    label = label[prob.notna()].astype(int)

    def auc(signal: pd.Series) -> str:
        return f"{roc_auc_score(label, signal.reindex(label.index).fillna(0)):.3f}"

    ch = t.changes[(t.changes["published_on"] < day) & (t.changes["changed_on"] >= day - year)]
    cm = t.complaints[
        (t.complaints["recorded_on"] < day) & (t.complaints["received_on"] >= day - year)
    ]
    ex = t.external_lists
    ex = ex[(ex["published_on"] < day) & ~(ex["removed_on"] < day)]
    pen = set(t.penalties.loc[t.penalties["published_on"] < day, "entity_id"])
    lr = roles[
        (roles["role"] == "legal_representative")
        & (roles["published_on"] < day)
        & ~(roles["to_on"] < day)
    ]
    own = lr["entity_id"].isin(pen).astype(int)
    per_person = own.groupby(lr["person_id"]).sum()
    linked = (lr["person_id"].map(per_person) - own).groupby(lr["entity_id"]).sum()
    rows += [
        (f"AUC alone at {as_of}: the oracle", auc(prob), "0.70-0.85"),
        ("AUC alone: changes in the last 12 months", auc(ch.groupby("entity_id").size()), ""),
        ("AUC alone: complaints in the last 12 months", auc(cm.groupby("entity_id").size()), ""),
        ("AUC alone: current external listings", auc(ex.groupby("entity_id").size()), ""),
        ("AUC alone: penalised enterprises of its legal representative", auc(linked), ""),
    ]
    return pd.DataFrame(rows, columns=["figure", "measured", "target"])


def _share(hit: int, total: int) -> str:
    return f"{hit:,} of {total:,}" + (f" ({hit / total:.1%})" if total else "")


def rule_figures(world) -> list[tuple[str, str, str]]:
    """How closely the simulated history follows DOMAIN.md's rules (issue 21, point 10):
    inspector avoidance, early exits from the serious list, the public warning before an
    escalation, escalation on the third anniversary, removal once the cause is cleared."""
    t = world.tables
    ins, lists, pen, rep = t.inspections, t.list_entries, t.penalties, t.annual_reports
    rows = []

    # inspectors: not the previous inspection's, never one with a declared conflict
    seq = ins.sort_values(["entity_id", "inspected_on", "inspection_id"], kind="stable")
    prev = seq.groupby("entity_id", observed=True)[["inspector_1", "inspector_2"]].shift(1)
    repeat = prev["inspector_1"].notna()
    shared = np.zeros(len(seq), dtype=bool)
    for a in ("inspector_1", "inspector_2"):
        for b in ("inspector_1", "inspector_2"):
            shared |= (seq[a] == prev[b]).to_numpy()
    rows.append(
        (
            "repeat inspections sharing an inspector with the previous one",
            _share(int((shared & repeat.to_numpy()).sum()), int(repeat.sum())),
            "none",
        )
    )
    pairs = set(zip(world.conflicts["inspector_id"], world.conflicts["entity_id"], strict=True))
    conflicted = sum(
        (a, e) in pairs or (b, e) in pairs
        for e, a, b in zip(ins["entity_id"], ins["inspector_1"], ins["inspector_2"], strict=True)
    )
    rows.append(("inspections by an inspector with a declared conflict", f"{conflicted:,}", "0"))
    home = ins["entity_id"].map(t.enterprises.set_index("entity_id")["region"]).astype(str)
    lead_region = ins["inspector_1"].map(world.inspectors.set_index("inspector_id")["region"])
    rows.append(
        (
            "leads from another region (a sector's local specialists all barred)",
            _share(int((lead_region.astype(str) != home).sum()), len(ins)),
            "few",
        )
    )

    # early exits from the serious list: obligations met, no new heavier penalty
    serious = lists[(lists["list"] == "serious_illegal") & (lists["removal_reason"] == "restored")]
    esc = serious[serious["reason"] == "escalated_from_abnormal"]
    due = rep.assign(deadline=pd.to_datetime((rep["report_year"] + 1).astype(str) + "-06-30"))
    m = esc[["entry_id", "entity_id", "removed_on"]].merge(due, on="entity_id")
    unfiled = m[
        (m["deadline"] < m["removed_on"])
        & (m["filed_on"].isna() | (m["filed_on"] > m["removed_on"]))
    ]
    rows.append(
        (
            "early exits of escalated entities with a report still unfiled",
            _share(unfiled["entry_id"].nunique(), len(esc)),
            "none",
        )
    )
    heavy = pen[
        (pen["severity"].astype(str) == "serious")
        | pen["measure"]
        .astype(str)
        .isin(["suspension", "license_revocation", "qualification_downgrade", "trade_ban"])
    ]
    m = serious[["entry_id", "entity_id", "listed_on", "removed_on"]].merge(
        heavy[["entity_id", "decided_on"]], on="entity_id"
    )
    after = m[(m["decided_on"] > m["listed_on"]) & (m["decided_on"] <= m["removed_on"])]
    rows.append(
        (
            "early exits from the serious list after a new heavier penalty",
            _share(after["entry_id"].nunique(), len(serious)),
            "none",
        )
    )

    # escalation: on the third anniversary, after a public warning in the 60 days before
    escalated = lists[lists["removal_reason"] == "escalated"]
    anniversary = escalated["listed_on"] + pd.DateOffset(years=3)
    rows.append(
        (
            "escalations on the third anniversary of the listing",
            _share(int((escalated["removed_on"] == anniversary).sum()), len(escalated)),
            "all",
        )
    )
    warnings = getattr(world, "warnings", None)
    warned = 0
    if warnings is not None and len(escalated):
        w = escalated[["entry_id", "removed_on"]].merge(warnings, on="entry_id")
        ok = (w["warned_on"] < w["removed_on"]) & (
            w["warned_on"] >= w["removed_on"] - pd.Timedelta(days=60)
        )
        warned = w.loc[ok, "entry_id"].nunique()
    rows.append(
        (
            "escalations with a public warning in the 60 days before",
            _share(warned, len(escalated)),
            "all",
        )
    )

    # removal once the cause is cleared: every report due filed, entry still open 30 days on
    nf = lists[lists["reason"] == "annual_report_not_filed"]
    m = nf[["entry_id", "entity_id", "listed_on", "removed_on"]].merge(
        due[["entity_id", "filed_on"]].rename(columns={"filed_on": "cleared_on"}), on="entity_id"
    )
    m = m[
        (m["cleared_on"] > m["listed_on"]) & (m["cleared_on"] + pd.Timedelta(days=30) <= world.end)
    ]
    m = m.merge(due[["entity_id", "deadline", "filed_on"]], on="entity_id")
    outstanding = (m["deadline"] < m["cleared_on"]) & (
        m["filed_on"].isna() | (m["filed_on"] > m["cleared_on"])
    )
    key = ["entry_id", "cleared_on"]
    clear = m.assign(out=outstanding).groupby(key)["out"].any()
    clear = clear[~clear].reset_index()[key].merge(nf[["entry_id", "removed_on"]], on="entry_id")
    stuck = clear[
        clear["removed_on"].isna()
        | (clear["removed_on"] > clear["cleared_on"] + pd.Timedelta(days=30))
    ]
    rows.append(
        (
            "missed-report entries still open 30 days after every report due was filed",
            _share(stuck["entry_id"].nunique(), len(nf)),
            "none",
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--realism-n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--realism-only", action="store_true", help="skip the speed runs (rule figures only)"
    )
    parser.add_argument(
        "--indicators-only",
        action="store_true",
        help="only the indicator tables' shares and signals (issue 18), at --realism-n",
    )
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.seed)
        return
    if args.indicators_only:
        print(f"## Indicator tables: {args.realism_n:,} enterprises, seed {args.seed}\n")
        print(markdown(indicator_figures(args.realism_n, args.seed)))
        return
    if args.realism_only:
        print(f"## Realism: {args.realism_n:,} enterprises, seed {args.seed}\n")
        print(markdown(realism(args.realism_n, args.seed)))
        return

    print(
        f"# bench_synth  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{os.cpu_count()} cores  Python {platform.python_version()}"
    )
    runs = speed(args.n, args.seed, args.repeats)
    best = min(runs, key=lambda r: r["seconds"])
    print(f"\n## Speed: {args.n:,} enterprises, {START} .. {END} (best of {len(runs)})\n")
    table = pd.DataFrame(
        [
            (
                "wall time",
                f"{best['seconds']:.1f} s",
                "< 90 s",
                f"{90 / best['seconds']:.1f}x under",
            ),
            (
                "peak memory (RSS)",
                f"{best['peak_bytes'] / 2**30:.2f} GiB",
                "< 6 GiB",
                f"{6 * 2**30 / best['peak_bytes']:.1f}x under",
            ),
            (
                "event rows per second",
                f"{sum(best['rows'].values()) / best['seconds']:,.0f}",
                "",
                "",
            ),
        ],
        columns=["measure", "creditrisk.synth", "target (issue 2)", "margin"],
    )
    print(markdown(table))
    print("\nrows: " + ", ".join(f"{k} {v:,}" for k, v in best["rows"].items()))
    print("all runs: " + ", ".join(f"{r['seconds']:.1f} s" for r in runs))

    print(f"\n## Realism: {args.realism_n:,} enterprises, seed {args.seed}\n")
    print(markdown(realism(args.realism_n, args.seed)))


if __name__ == "__main__":
    main()
