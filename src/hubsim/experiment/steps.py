"""Simulation in steps of replications, with progress: for interactive front ends.

:func:`simulate_in_steps` runs the replications of :func:`hubsim.simulate` one task each on
a pool of worker processes, reports ``(done, total)`` as each finishes and returns the
same :class:`~hubsim.des.SimulationResult` that one call of :func:`hubsim.simulate` gives:
replication ``r`` is addressed by the same random streams whichever step runs it, so the
frames are identical. :func:`concat_results` stacks results of disjoint replications.
:func:`simulate_to_precision` runs one configuration until the replications algorithm
(:func:`~hubsim.experiment.runner.replications_needed`, the one ``hubsim experiment`` uses)
is satisfied, with the same progress and cancel.

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
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import pandas as pd

from hubsim.config.schema import ServiceConfig
from hubsim.des.result import FRAMES, SimulationResult
from hubsim.errors import HubsimError
from hubsim.experiment.runner import replications_needed
from hubsim.experiment.spec import ReplicationTarget
from hubsim.stats import mean_mcse, t_interval

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
class Precision:
    """What the replications algorithm found for one configuration.

    Attributes
    ----------
    target : ReplicationTarget
        The target asked for.
    n_solution : int or None
        The algorithm's number of replications (None: not reached by ``target.max``).
    n_used : int
        Replications in the result: ``n_solution`` and its look-ahead, as ``hubsim
        experiment`` keeps them, or ``target.max`` when the target was not reached.
    half_width : float
        The widest ``target.level`` half-width over the target's KPIs at ``n_used``: a
        share of the mean for a relative target, in the KPI's units for an absolute one.
    """

    target: ReplicationTarget
    n_solution: int | None
    n_used: int
    half_width: float

    @property
    def reached(self) -> bool:
        return self.n_solution is not None

    def describe(self) -> str:
        """How the number of replications was chosen, in words.

        Examples
        --------
        >>> t = ReplicationTarget(kpis=["w"], relative_half_width=0.1)
        >>> Precision(t, 13, 18, 0.077).describe()
        '13 replications reach the target, confirmed over 5 more; 18 used (half-width 7.7% of the mean)'
        """
        t = self.target
        at = (
            f"{self.half_width:.1%} of the mean"
            if t.relative_half_width is not None
            else f"{self.half_width:.3g}"
        )
        if self.n_solution is None:
            return (
                f"the target was not reached by the maximum of {t.max} replications; "
                f"{self.n_used} used (half-width {at})"
            )
        return (
            f"{self.n_solution} replications reach the target, confirmed over "
            f"{self.n_used - self.n_solution} more; {self.n_used} used (half-width {at})"
        )


def describe_target(target: ReplicationTarget, labels: Mapping[str, str] | None = None) -> str:
    """The target of the replications algorithm in words (``labels``: plain names of KPIs).

    Examples
    --------
    >>> t = ReplicationTarget(kpis=["wait_to_first_treatment_median_days"],
    ...                       relative_half_width=0.1, max=40)
    >>> describe_target(t, {"wait_to_first_treatment_median_days": "median wait to treatment"})
    '95% CI half-width within 10% of the mean median wait to treatment (replications algorithm, Hoad, Robinson & Davies 2010: at least 5, at most 40, confirmed over 5 more)'
    """
    labels = labels or {}
    kpis = ", ".join(labels.get(k, k) for k in target.kpis)
    half = (
        f"{target.relative_half_width:.0%} of the mean {kpis}"
        if target.relative_half_width is not None
        else f"{target.absolute_half_width:g} of {kpis}"
    )
    return (
        f"{round(100 * target.level)}% CI half-width within {half} (replications "
        f"algorithm, Hoad, Robinson & Davies 2010: at least {target.initial}, at most "
        f"{target.max}, confirmed over {target.look_ahead} more)"
    )


def _half_width(values: Sequence[float], target: ReplicationTarget) -> float:
    """The ``target.level`` t half-width of the mean of ``values`` (relative to the mean for
    a relative target; inf when undefined)."""
    mean, se, n = mean_mcse(values)
    if not n >= 2:
        return math.inf
    if se == 0:
        return 0.0
    _, _, high = t_interval(mean, se, n - 1, 1 - target.level)
    half = high - mean
    if target.relative_half_width is None:
        return float(half)
    return float(half / abs(mean)) if mean != 0 else math.inf


def simulate_to_precision(
    config: ServiceConfig,
    target: ReplicationTarget,
    *,
    horizon_days: float = 365,
    seed: int = 0,
    warmup_days: float = 0,
    workers: int = 1,
    scenario: str | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> tuple[SimulationResult, Precision]:
    """Replications of one configuration until the replications algorithm is satisfied.

    The decisions are :func:`~hubsim.experiment.runner.replications_needed`'s, the one
    implementation of the Hoad-Robinson-Davies algorithm that ``hubsim experiment`` uses;
    here it runs in memory, with progress and a cancel, on the target's KPIs of this one
    configuration. Replications are added in batches of at least ``workers`` (so that
    every worker is busy); the result keeps the ones the decision used.

    Parameters
    ----------
    config, horizon_days, seed, warmup_days, workers, scenario
        As :func:`simulate_in_steps`.
    target : ReplicationTarget
        KPIs and the half-width to reach (``hubsim.experiment.ReplicationTarget``).
    progress : callable, optional
        ``progress(done, target.max)`` after each batch.
    cancel : threading.Event, optional
        As :func:`simulate_in_steps`.

    Returns
    -------
    (SimulationResult, Precision)
        Replications ``0 .. precision.n_used - 1``.

    Examples
    --------
    >>> import hubsim
    >>> t = ReplicationTarget(kpis=["wait_to_first_assessment_mean_days"],
    ...                       relative_half_width=0.5, initial=3, look_ahead=1, max=6)
    >>> res, p = simulate_to_precision(hubsim.load_config("site_d"), t, horizon_days=60)
    >>> (p.n_solution, p.n_used, len(res.kpis))
    (3, 4, 4)
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
    values: dict[tuple[str, str], list[float]] = {("config", k): [] for k in target.kpis}
    while True:
        n_sol, n_next = replications_needed(values, target)
        if n_sol is not None or have >= target.max:
            break
        add = min(max(n_next - have, int(workers)), target.max - have)
        part = simulate_in_steps(config, replications=add, first_replication=have, **kw)
        missing = [k for k in target.kpis if k not in part.kpis]
        if missing:
            raise ValueError(f"replications target: unknown KPI {missing[0]!r}.")
        parts.append(part)
        have += add
        for (_, k), v in values.items():
            v.extend(part.kpis[k].tolist())
        if progress is not None:
            progress(have, target.max)
    n_used = n_next if n_sol is not None else have
    full = concat_results(parts)
    if n_used < have:
        full = concat_results([full.replication(k) for k in range(n_used)])
    half = max(_half_width(v[:n_used], target) for v in values.values())
    return full, Precision(target, n_sol, int(n_used), half)
