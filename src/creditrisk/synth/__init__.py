"""A synthetic world with known truth: the laboratory every figure is measured in.

:func:`generate` simulates registered entities month by month under the rules of
DOMAIN.md (annual reports due 1 Jan - 30 Jun and the July abnormal listing, removal
once the cause is cleared, escalation to the serious illegal list on the third
anniversary after a public warning in the 60 days before (``world.warnings``), early
exit from it after a year only with obligations met and no heavier penalty since,
3-month / 3-year penalty disclosure in calendar months, credit restoration after 6 or
12 months, key sectors, sole proprietors marked rather than listed, random inspections
at tiered rates plus targeted, complaint and joint ones by two inspectors who avoid the
entity's previous inspection and their declared conflicts, deregistrations) around a
hidden, drifting risk per entity, and inspectors who differ in strictness.
``world.truth`` holds what no model sees, including the true probability of an
inspection finding for any as-of date (the oracle).

:func:`run_cycles` closes the loop on a world (:mod:`~creditrisk.synth.cycles`): each
month it scores the register, draws the plan under a targeting regime, lets the world
reveal the outcomes of exactly those inspections, feeds them back and retrains on
schedule, measuring against the truth what the loop cannot see. The generator itself
uses only :mod:`creditrisk.data`; the loop uses the whole flow up to the draw.

Examples
--------
>>> import creditrisk as cr
>>> world = cr.synth.generate(n_enterprises=1_000, start="2021-01-01",
...                           end="2022-12-31", seed=7)
>>> len(world.tables.enterprises)
1000
>>> world.tables.validate() is world.tables
True
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from creditrisk.synth.cycles import (
    REGIMES,
    Cycle,
    compare_regimes,
    cycles,
    initial_model,
    regime_rates,
    run_cycles,
    training_dates,
)
from creditrisk.synth.indicators import IndicatorParams, IndicatorTruth
from creditrisk.synth.params import WorldParams
from creditrisk.synth.simulate import Simulation
from creditrisk.synth.world import Truth, World, build_world

__all__ = [
    "REGIMES",
    "Cycle",
    "IndicatorParams",
    "IndicatorTruth",
    "Truth",
    "World",
    "WorldParams",
    "compare_regimes",
    "cycles",
    "generate",
    "initial_model",
    "regime_rates",
    "run_cycles",
    "training_dates",
]


def generate(
    n_enterprises: int = 100_000,
    start: str = "2018-01-01",
    end: str = "2025-12-31",
    seed: int = 7,
    params: WorldParams | None = None,
    progress: Callable[[int, int], None] | None = None,
    indicators: bool | IndicatorParams = True,
) -> World:
    """Simulate ``n_enterprises`` entities from ``start`` to ``end``; deterministic per seed.

    Parameters
    ----------
    n_enterprises : int, default 100_000
        Entities in the register (registered before or during the window).
    start, end : str, default "2018-01-01" and "2025-12-31"
        First and last day of the register (ISO dates).
    seed : int, default 7
        The same seed and parameters give the same world, bit for bit.
    params : WorldParams, optional
        Rates and effects; defaults are the calibrated world (see WorldParams).
    progress : callable, optional
        Called as ``progress(months_done, months_total)``.
    indicators : bool or IndicatorParams, default True
        Also draw the indicator system's optional tables (roles, changes, complaints,
        external_lists) and ``enterprises.address_id``, with these rates (True: the
        defaults); see :mod:`creditrisk.synth.indicators`. The six tables are the same
        either way; False leaves the four empty and the addresses unknown (a register
        that does not keep them).

    Returns
    -------
    World
        The register (``world.tables``), the inspector register, and the hidden truth
        (``world.truth``).

    Raises
    ------
    ValueError
        ``n_enterprises`` is not positive, or ``end`` is not after ``start``.

    Examples
    --------
    >>> import creditrisk as cr
    >>> a = cr.synth.generate(300, "2022-01-01", "2023-06-30", seed=2)
    >>> b = cr.synth.generate(300, "2022-01-01", "2023-06-30", seed=2)
    >>> a.tables.fingerprint() == b.tables.fingerprint()
    True
    >>> seen = []
    >>> _ = cr.synth.generate(50, "2022-01-01", "2022-03-31",
    ...                       progress=lambda done, total: seen.append((done, total)))
    >>> seen[-1][0] == seen[-1][1]  # the last call: every month done
    True
    """
    if n_enterprises < 1:
        raise ValueError(f"n_enterprises must be positive, not {n_enterprises}")
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    if last <= first:
        raise ValueError(f"end ({last.date()}) must be after start ({first.date()})")
    start_s, end_s = str(first.date()), str(last.date())
    sim = Simulation(params or WorldParams(), int(n_enterprises), start_s, end_s, int(seed))
    sim.run(progress)
    if indicators is True:
        indicators = IndicatorParams()
    return build_world(sim, int(seed), start_s, end_s, indicators or None)
