"""Simulation in steps of replications, with progress: for interactive front ends.

:func:`simulate_in_steps` runs the replications of :func:`hubsim.simulate` one task each on
a pool of worker processes, reports ``(done, total)`` as each finishes and returns the
same :class:`~hubsim.des.SimulationResult` that one call of :func:`hubsim.simulate` gives:
replication ``r`` is addressed by the same random streams whichever step runs it, so the
frames are identical. :func:`concat_results` stacks results of disjoint replications.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> seen = []
>>> res = simulate_in_steps(cfg, horizon_days=30, seed=1, replications=3,
...                         progress=lambda done, total: seen.append((done, total)))
>>> seen
[(1, 3), (2, 3), (3, 3)]
>>> res.kpis.equals(hubsim.simulate(cfg, horizon_days=30, seed=1, replications=3).kpis)
True
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hubsim.config.schema import ServiceConfig
from hubsim.des.result import FRAMES, SimulationResult
from hubsim.errors import HubsimError

Progress = Callable[[int, int], None]


class Cancelled(HubsimError):
    """The run was cancelled between two steps (finished replications are discarded)."""


def concat_results(parts: Sequence[SimulationResult]) -> SimulationResult:
    """One result from results of the same configuration and settings over disjoint
    replications, stacked in the order given (categorical columns kept).

    Raises
    ------
    ValueError
        When the parts differ in configuration, seed, scenario, horizon or warm-up, or
        repeat a replication.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("concat_results: expected at least one result.")
    keys = ("config_hash", "seed", "scenario", "horizon_days", "warmup_days")
    first = parts[0].meta
    for p in parts[1:]:
        diff = [k for k in keys if p.meta.get(k) != first.get(k)]
        if diff:
            raise ValueError(f"concat_results: the results differ in {diff[0]}.")
    reps = [r for p in parts for r in p.meta.get("replications", [])]
    if len(set(reps)) != len(reps):
        raise ValueError("concat_results: a replication appears in more than one result.")
    if len(parts) == 1:
        return parts[0]
    frames = {}
    for name in FRAMES:
        dfs = [getattr(p, name) for p in parts]
        out = pd.concat(dfs, ignore_index=True)
        for col in dfs[0].columns:
            dtype = dfs[0][col].dtype
            if isinstance(dtype, pd.CategoricalDtype) and not isinstance(
                out[col].dtype, pd.CategoricalDtype
            ):
                out[col] = pd.Categorical(out[col], categories=dtype.categories)
        frames[name] = out
    return SimulationResult(meta=dict(first, replications=reps), **frames)


def simulate_in_steps(
    config: ServiceConfig,
    *,
    horizon_days: float = 365,
    seed: int = 0,
    replications: int = 1,
    warmup_days: float = 0,
    workers: int = 1,
    scenario: str | None = None,
    initial_waiting_list=None,
    first_replication: int = 0,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> SimulationResult:
    """:func:`hubsim.simulate` with progress after each replication, and a cancel.

    Parameters
    ----------
    config, horizon_days, seed, warmup_days, workers, scenario, initial_waiting_list
        As :func:`hubsim.simulate` (the result is the same for any ``workers``).
    replications : int
        Replications ``first_replication .. first_replication + replications - 1``.
    first_replication : int, default 0
        The first replication index (to add replications to a result already run).
    progress : callable, optional
        Called as ``progress(done, total)`` after each replication.
    cancel : threading.Event, optional
        When set, the run stops after the replication finishing next (queued ones are
        dropped) and raises :class:`Cancelled`.

    Returns
    -------
    SimulationResult
    """
    n = int(replications)
    if n < 1:
        raise ValueError(f"replications must be at least 1, got {replications}.")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    ids = list(range(int(first_replication), int(first_replication) + n))
    kw = {
        "horizon_days": horizon_days,
        "seed": seed,
        "warmup_days": warmup_days,
        "scenario": scenario,
        "initial_waiting_list": initial_waiting_list,
    }
    parts: dict[int, SimulationResult] = {}

    def done(r: int, res: SimulationResult) -> None:
        parts[r] = res
        if progress is not None:
            progress(len(parts), n)

    if int(workers) == 1 or n == 1:
        for r in ids:
            if cancel is not None and cancel.is_set():
                raise Cancelled("the run was cancelled.")
            done(r, _one_replication(config, r, kw))
    else:
        # one pool for the whole run, a replication a task (the pool balances replications
        # of different lengths); each replication is addressed by its own streams, so the
        # order they finish in changes nothing
        with ProcessPoolExecutor(max_workers=min(int(workers), n)) as ex:
            futures = {ex.submit(_one_replication, config, r, kw): r for r in ids}
            try:
                for f in as_completed(futures):
                    done(futures[f], f.result())
                    if cancel is not None and cancel.is_set():
                        raise Cancelled("the run was cancelled.")
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
    return concat_results([parts[r] for r in ids])


def _one_replication(config: ServiceConfig, r: int, kw: dict) -> SimulationResult:
    from hubsim.des.simulate import simulate

    return simulate(config, replication_ids=[r], workers=1, **kw)


# ------------------------------------------------------------------- replications algorithm
@dataclass(frozen=True)
class ReplicationRule:
    """The target of the replications algorithm (Hoad, Robinson & Davies 2010).

    The replications are enough when the ``level`` t interval of the mean of ``kpi`` over
    replications has a half-width of at most ``relative_half_width`` times the mean, and
    stays so for the ``look_ahead`` replications after (HRD's kLimit), with at least
    ``initial`` and at most ``max`` replications.
    """

    kpi: str = "wait_to_first_treatment_median_days"
    relative_half_width: float = 0.10
    level: float = 0.95
    initial: int = 5
    max: int = 40
    look_ahead: int = 5

    def __post_init__(self):
        if not 0 < self.relative_half_width < 1:
            raise ValueError(
                f"relative_half_width must be in (0, 1), got {self.relative_half_width}."
            )
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level}.")
        if not 3 <= self.initial <= self.max:
            raise ValueError(
                f"expected 3 <= initial <= max, got initial {self.initial}, max {self.max}."
            )
        if self.look_ahead < 0:
            raise ValueError(f"look_ahead must be non-negative, got {self.look_ahead}.")

    def describe(self) -> str:
        return (
            f"{round(100 * self.level)}% CI half-width within {self.relative_half_width:.0%} of "
            f"the mean {self.kpi.replace('_', ' ')} (replications algorithm, Hoad, Robinson & "
            f"Davies 2010: at least {self.initial}, at most {self.max}, confirmed over "
            f"{self.look_ahead} more)"
        )


def relative_half_width(values: Sequence[float], level: float = 0.95) -> float:
    """Half-width of the t interval of the mean over the mean's size (inf when undefined).

    Examples
    --------
    >>> round(relative_half_width([10.0, 11.0, 9.0, 10.0]), 4)
    0.1299
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return math.inf
    mean = float(x.mean())
    half = (
        float(stats.t.ppf(0.5 + level / 2, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    )
    if mean == 0:
        return 0.0 if half == 0 else math.inf
    return half / abs(mean)


def replications_decision(values: Sequence[float], rule: ReplicationRule) -> tuple[int | None, int]:
    """The algorithm's decision on the replications so far: ``(n_solution, n_next)``.

    ``n_solution`` is the smallest ``n >= initial`` whose interval is within the target and
    stays within it for every count up to ``n + look_ahead`` (None until confirmed);
    ``n_next`` is the number of replications to have before deciding again (never more than
    ``max``). At ``max`` replications without a solution, ``(None, max)``.

    Examples
    --------
    >>> rule = ReplicationRule(kpi="w", relative_half_width=0.1, initial=3, look_ahead=2)
    >>> replications_decision([10, 10.1, 9.9, 10, 10.05], rule)
    (3, 5)
    >>> replications_decision([1, 5, 9], rule)
    (None, 4)
    """
    x = list(values)
    n = len(x)
    if n < rule.initial:
        return None, rule.initial
    ok = [
        relative_half_width(x[:m], rule.level) <= rule.relative_half_width
        for m in range(rule.initial, n + 1)
    ]
    for i, good in enumerate(ok):
        m = rule.initial + i
        end = min(m + rule.look_ahead, rule.max)
        if not (good and all(ok[i : min(end, n) - rule.initial + 1])):
            continue
        if end > n:
            return None, end  # precise so far: run the rest of the look-ahead
        return m, end
    return None, min(n + 1, rule.max)


def simulate_to_precision(
    config: ServiceConfig,
    rule: ReplicationRule,
    *,
    horizon_days: float = 365,
    seed: int = 0,
    warmup_days: float = 0,
    workers: int = 1,
    scenario: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[SimulationResult, int, float]:
    """Run replications until the replications algorithm is satisfied (or ``rule.max``).

    Returns ``(result, n, relative half-width at n)``: the result holds every replication
    run (the look-ahead ones too); ``n`` is the algorithm's number of replications, or
    ``rule.max`` when the target was not reached (the half-width then says by how much).
    Progress is reported against ``rule.max``.
    """
    kw = {
        "horizon_days": horizon_days,
        "seed": seed,
        "warmup_days": warmup_days,
        "workers": workers,
        "scenario": scenario,
        "cancel": cancel,
    }
    parts: list[SimulationResult] = []
    have = 0
    values: list[float] = []
    while True:
        n_sol, n_next = replications_decision(values, rule)
        if n_sol is not None or have >= rule.max or n_next <= have:
            break
        add = max(n_next - have, min(int(workers), rule.max - have))
        part = simulate_in_steps(config, replications=add, first_replication=have, **kw)
        if rule.kpi not in part.kpis:
            raise ValueError(f"replication rule: unknown KPI {rule.kpi!r}.")
        parts.append(part)
        have += add
        values.extend(part.kpis[rule.kpi].tolist())
        if progress is not None:
            progress(have, rule.max)
    n = n_sol if n_sol is not None else have
    return concat_results(parts), int(n), relative_half_width(values[:n], rule.level)
