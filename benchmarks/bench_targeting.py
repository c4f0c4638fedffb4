"""Inspection targeting (issue 5): findings per inspection, model-targeted against random.

Data: a synthetic world of 200,000 enterprises (2018-01-01 .. 2025-12-31, seed 11). A
``RiskModel(num_threads=2)`` is trained on as-of dates every 6 months from 2019-07-01 to
2023-07-01 (the last label window ends before the evaluation date) and scores the
register at 2024-07-01. The truth is ``world.truth.probability("2024-07-01")``: the true
chance that a random inspection in the next 12 months finds issues.

For one year's budget (3% of the registered entities, DOMAIN's baseline ratio, then 5%
and 10%; 20% as context, the first round share at which the national policy's minimums
fit) the methods compared, each by findings per 100 inspections:

(a) a uniform random draw of ``budget`` entities;
(b) the tiered draw at the policy's frequency-table rates (``frequency_table``), every
    rate multiplied by one factor so the expected inspections equal the budget; a rate
    that would pass 1 (more than one visit per entity and year) is capped at 1 and the
    factor recomputed over the other strata, so the budget is still spent;
(c) the capacity allocation ``cr.inspection.allocate(scores, budget, policy)``;
(d) the oracle: the ``budget`` entities with the highest true probability (no floor);
(e) the model's ranking: the ``budget`` entities with the highest model probability.

(b) and (c) are drawn with ``cr.inspection.draw`` (the world's inspectors and declared
conflicts, history = the world's inspections) and measured on the drawn visits. The
national policy's key-sector minimums need more inspections than these budgets, so
``allocate`` refuses it; (b) and (c) then use the national policy without key-sector
minimums, and the minimums' cost is reported on its own.

Three figures per method: expected from the rates (the expectation over the random
draw: sum of rate x true probability over the strata, per inspection), the drawn targets
(the true probabilities of the entities actually drawn) and one simulated realisation
(Bernoulli(true probability) per visit; the same uniform numbers per entity and visit
for every method, so the methods are compared on one realised world).

Usage::

    .venv/bin/python benchmarks/bench_targeting.py            # full run (about 1 minute)
    .venv/bin/python benchmarks/bench_targeting.py --quick    # 50,000 enterprises
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import pandas as pd
from _report import markdown, peak_rss, source_commit

START, END = "2018-01-01", "2025-12-31"
TRAIN = [str(d.date()) for d in pd.date_range("2019-07-01", "2023-07-01", freq="6MS")]
EVAL = "2024-07-01"
SHARES = (0.03, 0.05, 0.10)
CONTEXT_SHARE = 0.20  # context: the national policy's minimums fit from here
TARGET = 2.5  # (c) over (a), findings per inspection
DRAW_SEED = 20261125
SAMPLE_SEED = 5  # (a): which entities the uniform draw picks
OUTCOME_SEED = 7  # the simulated realisation
GIB = 2**30


def scaled_table(table: pd.DataFrame, budget: float) -> tuple[pd.DataFrame, float, list[str]]:
    """The frequency table with every rate times one factor so that sum(entities x rate)
    equals ``budget``; rates that would pass 1 are capped at 1 and the factor recomputed
    over the other strata. Returns the table, the factor and the capped strata."""
    n = table["entities"].to_numpy(dtype=np.float64)
    base = table["rate"].to_numpy(dtype=np.float64)
    capped = np.zeros(len(table), dtype=bool)
    while True:
        free = float(np.dot(n[~capped], base[~capped]))
        left = budget - float(n[capped].sum())
        factor = left / free if free > 0 else 0.0
        over = ~capped & (base * factor > 1.0)
        if not over.any():
            break
        capped |= over
    rate = np.where(capped, 1.0, base * factor)
    out = table.copy()
    out["rate"] = rate
    out["sampling_ratio"] = np.minimum(rate, 1.0)
    out["min_per_entity"] = np.floor(rate).astype(int)
    out["expected_inspections"] = n * rate
    out["expected_findings"] = rate * out["mean_probability"] * n
    out["rule"] = [f"{r} x {factor:.3f}" for r in table["rule"]]
    names = [
        f"{t}/{s}" for t, s, c in zip(table["tier"], table["sector"], capped, strict=True) if c
    ]
    return out, factor, names


class Outcomes:
    """True probabilities and one realisation per entity and visit (common numbers)."""

    def __init__(self, entity_ids: pd.Series, p_true: np.ndarray, seed: int, visits: int = 2):
        self.position = pd.Index(entity_ids.astype(str).to_numpy())
        self.p = p_true
        self.u = np.random.default_rng(seed).random((len(p_true), visits))

    def of_positions(self, pos: np.ndarray, visit: np.ndarray | None = None) -> tuple[float, float]:
        """(expected findings, simulated findings) for visits to these rows."""
        visit = np.ones(len(pos), dtype=np.int64) if visit is None else visit
        if len(visit) and visit.max() > self.u.shape[1]:
            raise RuntimeError(f"a plan with {visit.max()} visits to one entity")
        p = self.p[pos]
        return float(p.sum()), float((self.u[pos, visit - 1] < p).sum())

    def of_plan(self, plan: pd.DataFrame) -> tuple[float, float]:
        pos = self.position.get_indexer(plan["entity_id"].astype(str))
        if (pos < 0).any():
            raise RuntimeError("the plan names entities that are not in the scores")
        return self.of_positions(pos, plan["visit"].to_numpy(dtype=np.int64))


def expected_from_rates(table: pd.DataFrame, strata: pd.DataFrame, p_true: np.ndarray) -> tuple:
    """(inspections, expected true findings) of a table's rates over the strata."""
    frame = pd.DataFrame(
        {"tier": strata["tier"].astype(str), "sector": strata["sector"].astype(str), "p": p_true}
    )
    sums = frame.groupby(["tier", "sector"], observed=True)["p"].agg(["sum", "size"])
    keys = list(zip(table["tier"].astype(str), table["sector"].astype(str), strict=True))
    p_sum = sums["sum"].reindex(keys).to_numpy()
    n = sums["size"].reindex(keys).to_numpy()
    rate = table["rate"].to_numpy(dtype=np.float64)
    return float(np.dot(n, rate)), float(np.dot(p_sum, rate))


def _span(low: float, high: float) -> str:
    return f"{low:.3f}" + (f"-{high:.3f}" if high > low else "")


def per100(findings: float, inspections: float) -> float:
    return 100.0 * findings / inspections if inspections else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="50,000 enterprises")
    args = parser.parse_args()
    if args.quick:
        args.n = 50_000

    started = time.perf_counter()
    import creditrisk as cr
    from creditrisk.inspection import StaffingError, allocate, draw, frequency_table, workload
    from creditrisk.inspection.frequency import strata as stratify

    print(
        f"# bench_targeting  {time.strftime('%Y-%m-%d')}  {platform.node()}  "
        f"{os.cpu_count()} cores  Python {platform.python_version()}  "
        f"pandas {pd.__version__}  numpy {np.__version__}  "
        f"creditrisk {cr.__version__} ({source_commit()})"
    )

    # world, model, scores ---------------------------------------------------------------
    t0 = time.perf_counter()
    world = cr.synth.generate(args.n, START, END, seed=args.seed)
    tables = world.tables
    spine = cr.spine(tables, TRAIN)
    X = cr.build_features(tables, spine)
    y = cr.build_labels(tables, spine, outcome="inspection_finding", horizon="365D")
    t1 = time.perf_counter()
    model = cr.RiskModel(num_threads=2).fit(X, y)
    t2 = time.perf_counter()
    X_eval = cr.build_features(tables, cr.spine(tables, EVAL))
    scores = model.classify(X_eval, top_k=0).join(X_eval[["key_sector", "region"]])
    truth = world.truth.probability(EVAL).reindex(scores["entity_id"].astype(str))
    if truth.isna().any():
        raise RuntimeError(f"{int(truth.isna().sum())} scored entities have no true probability")
    p_true = truth.to_numpy(dtype=np.float64)
    n_reg = len(scores)
    outcomes = Outcomes(scores["entity_id"], p_true, OUTCOME_SEED)
    register = cr.inspection.InspectorRegister(world.inspectors, world.conflicts)
    print(
        f"world {args.n:,} enterprises (seed {args.seed}), training {len(X):,} rows "
        f"({int(y.notna().sum()):,} labelled) in {t1 - t0:.1f} s; fit {t2 - t1:.1f} s, "
        f"{model.n_trees_} trees; register at {EVAL}: {n_reg:,} entities, "
        f"{len(register.inspectors):,} inspectors, {len(register.conflicts):,} conflicts"
    )

    national = model.policy_
    d = national.to_dict()
    d["inspection"]["key_sectors"] = {}
    d["name"] = "national-no-key-sector-minimums"
    variant = cr.Policy.from_dict(d)
    floor = float(national.inspection.get("random_floor", 0.0))
    label = {national.name: "national", variant.name: "national without key-sector minimums"}

    # the key-sector minimums' cost -------------------------------------------------------
    ft_nat = frequency_table(scores, national)
    ft_var = frequency_table(scores, variant)
    need_nat = float(ft_nat["expected_inspections"].sum())
    need_var = float(ft_var["expected_inspections"].sum())
    ks_rows = []
    for sector, rule in national.inspection.get("key_sectors", {}).items():
        entities = int((scores["key_sector"].astype(str) == sector).sum())
        every = cr.inspection.period_years(rule.get("every", "1Y"))
        rate = rule.get("min_inspections", 1) / every
        ks_rows.append((sector, entities, rule.get("min_inspections", 1), rule["every"], rate))
    ks = pd.DataFrame(ks_rows, columns=["sector", "entities", "minimum", "every", "rate"])
    ks["inspections"] = ks["entities"] * ks["rate"]
    ks_total = float(ks["inspections"].sum())

    # one budget ----------------------------------------------------------------------------
    rows, floors, draws, plans, notes = [], [], [], {}, []
    uniform_rng = np.random.default_rng(SAMPLE_SEED)

    def run_budget(share: float, policies: list) -> None:
        budget = round(share * n_reg)
        tag = f"{share:.0%}" + (" (context)" if share == CONTEXT_SHARE else "")
        # (a) uniform
        pos = uniform_rng.choice(n_reg, size=budget, replace=False)
        exp_a = 100.0 * float(p_true.mean())
        drawn, sim = outcomes.of_positions(pos)
        base = {"exp": exp_a, "sim": per100(sim, budget)}
        rows.append(
            (
                tag,
                "(a) uniform random",
                "none",
                budget,
                exp_a,
                per100(drawn, budget),
                per100(sim, budget),
                base,
            )
        )
        for policy in policies:
            name = label[policy.name]
            table = ft_nat if policy is national else ft_var
            groups = stratify(scores, policy)
            try:
                allocation = allocate(scores, budget, policy)
            except ValueError as error:
                notes.append(f"{tag}, {name}: `allocate` raised ValueError: {error}")
                rows.append((tag, "(b) tiered, scaled", name, budget, None, None, None, base))
                rows.append((tag, "(c) allocate", name, budget, None, None, None, base))
                continue
            # (b) tiered at the policy's rates, scaled to the budget
            scaled, factor, capped = scaled_table(table, budget)
            cap = f"; capped at 1: {', '.join(capped)}" if capped else ""
            for method, tab, extra in (
                ("(b) tiered, scaled", scaled, f" (rates x {factor:.3f}{cap})"),
                ("(c) allocate", allocation.table, ""),
            ):
                insp, found = expected_from_rates(tab, groups, p_true)
                t = time.perf_counter()
                try:
                    plan = draw(scores, register, policy, DRAW_SEED, table=tab, history=tables)
                except StaffingError as error:
                    notes.append(f"{tag}, {name}, {method}: draw raised StaffingError: {error}")
                    rows.append(
                        (
                            tag,
                            method + extra,
                            name,
                            round(insp),
                            per100(found, insp),
                            None,
                            None,
                            base,
                        )
                    )
                    continue
                seconds = time.perf_counter() - t
                drawn, sim = outcomes.of_plan(plan)
                rows.append(
                    (
                        tag,
                        method + extra,
                        name,
                        len(plan),
                        per100(found, insp),
                        per100(drawn, len(plan)),
                        per100(sim, len(plan)),
                        base,
                    )
                )
                load = workload(plan, register)["visits"]
                draws.append(
                    (
                        tag,
                        method,
                        name,
                        len(plan),
                        seconds,
                        int((load > 0).sum()),
                        int(load.min()),
                        int(load.max()),
                        float(load.std()),
                    )
                )
                plans[(share, method, name)] = plan
            per_tier = allocation.table.groupby("tier", observed=True)["rate"].agg(["min", "max"])
            floors.append(
                (
                    tag,
                    name,
                    per_tier,
                    bool((per_tier["min"] >= floor - 1e-12).all()),
                    allocation,
                    plans.get((share, "(c) allocate", name)),
                )
            )
        # (d) oracle and (e) model ranking, no floor
        for method, key in (
            ("(d) oracle: top by true probability", p_true),
            ("(e) model: top by model probability", scores["probability"].to_numpy()),
        ):
            top = np.argsort(-key, kind="stable")[:budget]
            drawn, sim = outcomes.of_positions(top)
            rows.append(
                (
                    tag,
                    method,
                    "none (no floor)",
                    budget,
                    per100(drawn, budget),
                    per100(drawn, budget),
                    per100(sim, budget),
                    base,
                )
            )

    for share in SHARES:
        run_budget(share, [national, variant])
    run_budget(CONTEXT_SHARE, [national, variant])

    # report ----------------------------------------------------------------------------
    def fmt(v, spec="{:.1f}"):
        return "" if v is None else spec.format(v)

    shown = []
    target_met = []
    for tag, method, policy, insp, exp, drawn, sim, base in rows:
        ratio = None if exp is None else exp / base["exp"]
        ratio_sim = None if sim is None else sim / base["sim"]
        if method.startswith("(c)") and ratio is not None and not tag.endswith("(context)"):
            target_met.append((tag, policy, ratio))
        shown.append(
            (
                tag,
                method,
                policy,
                f"{insp:,}" if exp is not None else "refused",
                fmt(exp),
                fmt(drawn),
                fmt(sim),
                fmt(ratio, "{:.2f}x"),
                fmt(ratio_sim, "{:.2f}x"),
            )
        )
    table = pd.DataFrame(
        shown,
        columns=[
            "budget",
            "method",
            "policy",
            "inspections",
            "findings / 100, expected (rates)",
            "findings / 100, drawn targets",
            "findings / 100, simulated",
            "ratio to (a), expected",
            "ratio to (a), simulated",
        ],
    )

    floor_rows = []
    for tag, name, per_tier, ok, allocation, plan in floors:
        if plan is None:
            drawn = "not drawn"
        else:
            counts = plan["tier"].value_counts()
            drawn = " / ".join(f"{int(counts.get(t, 0)):,}" for t in national.tiers)
        floor_rows.append(
            (
                tag,
                name,
                *[_span(per_tier.loc[t, "min"], per_tier.loc[t, "max"]) for t in national.tiers],
                f"{allocation.findings_per_100:.1f} / {allocation.uniform_per_100:.1f} "
                f"({allocation.lift:.2f}x)",
                f"{allocation.inspections:,.0f}",
                drawn,
                "yes" if ok else "**no**",
            )
        )
    floor_table = pd.DataFrame(
        floor_rows,
        columns=[
            "budget",
            "policy",
            *[f"rate {t}" for t in national.tiers],
            "model's view: per 100 / uniform (lift)",
            "inspections allocated",
            "drawn visits " + " / ".join(national.tiers),
            f"every tier >= floor {floor:g}",
        ],
    )
    draw_table = pd.DataFrame(
        [
            (t, m, p, f"{v:,}", f"{s:.2f}", f"{u:,}", mn, mx, f"{sd:.1f}")
            for t, m, p, v, s, u, mn, mx, sd in draws
        ],
        columns=[
            "budget",
            "method",
            "policy",
            "visits",
            "draw (s)",
            "inspectors sent",
            "min visits / inspector",
            "max",
            "std",
        ],
    )
    # the inspector workload of the baseline plan, (c) at 3% without key-sector minimums
    base_key = (SHARES[0], "(c) allocate", label[variant.name])
    region_table = speciality_table = None
    if base_key in plans:
        plan = plans[base_key]
        load = workload(plan, register)
        by_region = load.groupby("region", observed=True)["visits"].agg(
            ["size", "sum", "min", "mean", "max", "std"]
        )
        visits = plan.groupby("region", observed=True).size()
        entities = scores.groupby("region", observed=True).size()
        region_table = pd.DataFrame(
            {
                "region": by_region.index.astype(str),
                "entities": [f"{entities.get(r, 0):,}" for r in by_region.index],
                "visits": [f"{visits.get(r, 0):,}" for r in by_region.index],
                "inspectors": by_region["size"].to_numpy(),
                "min": by_region["min"].to_numpy(),
                "mean": by_region["mean"].map("{:.1f}".format).to_numpy(),
                "max": by_region["max"].to_numpy(),
                "std": by_region["std"].map("{:.1f}".format).to_numpy(),
            }
        )
        by_spec = load.groupby("speciality", observed=True)["visits"].agg(
            ["size", "min", "mean", "max", "std"]
        )
        speciality_table = pd.DataFrame(
            {
                "speciality": by_spec.index.astype(str),
                "inspectors": by_spec["size"].to_numpy(),
                "min": by_spec["min"].to_numpy(),
                "mean": by_spec["mean"].map("{:.1f}".format).to_numpy(),
                "max": by_spec["max"].to_numpy(),
                "std": by_spec["std"].map("{:.1f}".format).to_numpy(),
            }
        )

    met = [(t, p, r) for t, p, r in target_met if r >= TARGET]
    md = [
        f"`.venv/bin/python benchmarks/bench_targeting.py` on {time.strftime('%Y-%m-%d')}, "
        f'machine "{platform.node()}" ({os.cpu_count()} cores), {source_commit()}. A synthetic '
        f"world of {args.n:,} enterprises ({START} .. {END}, seed {args.seed}); "
        f"`RiskModel(num_threads=2)` trained on as-of dates every 6 months {TRAIN[0]} .. "
        f"{TRAIN[-1]} ({len(X):,} rows, {int(y.notna().sum()):,} labelled; "
        f"{model.n_trees_} trees; early stopping and calibration on "
        f"{model.slices_['stop']}); scores for the {n_reg:,} entities registered at {EVAL}; "
        f"truth `world.truth.probability('{EVAL}')` (mean {p_true.mean():.4f}; the model's "
        f"mean probability {scores['probability'].mean():.4f}). Inspector register: the "
        f"world's {len(register.inspectors):,} inspectors and {len(register.conflicts):,} "
        "declared conflicts; history = the world's inspections (the last inspection's "
        f"inspectors are barred). Draw seed {DRAW_SEED}; one simulated realisation "
        f"(seed {OUTCOME_SEED}, the same uniform numbers per entity and visit for every "
        "method).",
        "",
        "Methods, for one year's budget of inspections: (a) a uniform random draw of "
        "`budget` entities; (b) the tiered draw at the policy's frequency-table rates, "
        "every rate multiplied by one factor so that the expected inspections (sum of "
        "entities x rate) equal the budget, a rate that would pass 1 capped at 1 and the "
        "factor recomputed over the rest (so (b) keeps the policy's ratios between tiers, "
        "A:B:C:D = 1:2:10:30, but not its ratio ranges); (c) "
        "`cr.inspection.allocate(scores, budget, policy)`; (b) and (c) drawn with "
        "`cr.inspection.draw(..., table=...)` and measured on the drawn visits; (d) the "
        "oracle, the `budget` entities with the highest true probability; (e) the "
        "`budget` entities with the highest model probability. (d) and (e) keep no "
        "random floor. Findings per 100 inspections: *expected (rates)* is the "
        "expectation over the draw (sum over strata of rate x the true probabilities, "
        "per inspection; for (a) the register's mean true probability); *drawn targets* "
        "the mean true probability of the entities actually drawn; *simulated* one "
        "Bernoulli(true probability) realisation per visit.",
        "",
        "### Key-sector minimums (national policy)",
        "",
        markdown(
            ks.assign(
                entities=ks["entities"].map("{:,}".format),
                minimum=ks["minimum"].map("{:g}".format),
                rate=ks["rate"].map("{:g}".format),
                inspections=ks["inspections"].map("{:,.0f}".format),
            ).rename(columns={"rate": "rate per year", "inspections": "inspections per year"})
        ),
        "",
        f"The key-sector minimums alone need {ks_total:,.0f} inspections a year "
        f"({ks_total / n_reg:.1%} of the register; "
        + ", ".join(f"{ks_total / round(s * n_reg):.1f}x the {s:.0%} budget" for s in SHARES)
        + f"). The national frequency table (tier ratios, key-sector minimums and random "
        f"floor) needs {need_nat:,.0f} ({need_nat / n_reg:.1%}); without the key-sector "
        f"minimums {need_var:,.0f} ({need_var / n_reg:.1%}). So the minimums cost "
        f"{need_nat - need_var:,.0f} inspections a year beyond the tier ratios, and "
        "`allocate` refuses the national policy at these budgets:",
        "",
        *[f"- {n}" for n in notes],
        "",
        "### Findings per 100 inspections",
        "",
        markdown(table),
        "",
        f"Target (issue 5): (c) at least {TARGET}x (a) (expected). "
        + (
            "**Met** for: " + "; ".join(f"{t}, {p} ({r:.2f}x)" for t, p, r in met) + ". "
            if met
            else "**Not met** at any budget. "
        )
        + (
            "Missed for: "
            + "; ".join(f"{t}, {p} ({r:.2f}x)" for t, p, r in target_met if r < TARGET)
            + "."
            if len(met) < len(target_met)
            else ""
        ),
        "",
        "### The allocation's rates per tier and the random floor",
        "",
        "Rates are inspections per entity and year (min-max over the key sectors within a "
        "tier for the national policy). The model's view: `Allocation.findings_per_100` "
        "and `uniform_per_100`, which use the model's probabilities, not the truth.",
        "",
        markdown(floor_table),
        "",
        "### The draw: speed and inspector workload",
        "",
        "Visits per inspector count both inspectors of a visit (each visit sends two); "
        "every inspector of the register counted, 0 for those not sent.",
        "",
        markdown(draw_table),
        "",
    ]
    if region_table is not None:
        md += [
            f"Workload per region, (c) at {SHARES[0]:.0%}, {label[variant.name]} "
            "(visits per inspector):",
            "",
            markdown(region_table),
            "",
            "Per speciality (same plan):",
            "",
            markdown(speciality_table),
            "",
        ]
    md += [
        f"Peak RSS {peak_rss() / GIB:.2f} GiB; script wall time "
        f"{time.perf_counter() - started:.0f} s.",
    ]
    print("\n## Inspection targeting (issue 5)\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
