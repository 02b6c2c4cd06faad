"""Simulation in steps of replications, with progress: for interactive front ends.

:func:`simulate_in_steps` runs the replications of :func:`hubsim.simulate` a few at a time
(as many as there are workers), reports ``(done, total)`` after each step and returns the
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

import threading
from collections.abc import Callable, Sequence

import pandas as pd

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
    """:func:`hubsim.simulate`, a step of ``workers`` replications at a time, with progress.

    Parameters
    ----------
    config, horizon_days, seed, warmup_days, workers, scenario, initial_waiting_list
        As :func:`hubsim.simulate` (the result is the same for any ``workers``).
    replications : int
        Replications ``first_replication .. first_replication + replications - 1``.
    first_replication : int, default 0
        The first replication index (to add replications to a result already run).
    progress : callable, optional
        Called as ``progress(done, total)`` after each step.
    cancel : threading.Event, optional
        When set, the run stops before its next step and raises :class:`Cancelled`.

    Returns
    -------
    SimulationResult
    """
    from hubsim.des.simulate import simulate

    n = int(replications)
    if n < 1:
        raise ValueError(f"replications must be at least 1, got {replications}.")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    ids = list(range(int(first_replication), int(first_replication) + n))
    step = int(workers)
    parts = []
    for i in range(0, n, step):
        if cancel is not None and cancel.is_set():
            raise Cancelled("the run was cancelled.")
        parts.append(
            simulate(
                config,
                horizon_days=horizon_days,
                seed=seed,
                replication_ids=ids[i : i + step],
                warmup_days=warmup_days,
                workers=workers,
                scenario=scenario,
                initial_waiting_list=initial_waiting_list,
            )
        )
        if progress is not None:
            progress(min(i + step, n), n)
    return concat_results(parts)
