"""``hubsim.simulate``: run a configuration for some replications, serially or in processes."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from hubsim.config.schema import ServiceConfig
from hubsim.des.frames import busy_frame, clients_frame, events_frame, weekly_frame
from hubsim.des.model import STAGES, HubModel
from hubsim.des.result import SimulationResult, replication_kpis


def _initial_frame(config: ServiceConfig, initial, seed: int, scenario: str) -> pd.DataFrame | None:
    """Normalise ``initial_waiting_list`` to columns waited_days, stage, group (index)."""
    if initial is None:
        return None
    groups = config.service.target_population.groups
    ids = [g.id for g in groups]
    if isinstance(initial, int | np.integer):
        if initial < 0:
            raise ValueError(f"initial_waiting_list must be non-negative, got {initial}.")
        df = pd.DataFrame({"waited_days": np.zeros(int(initial))})
    elif isinstance(initial, pd.DataFrame):
        if "waited_days" not in initial:
            raise ValueError(
                "initial_waiting_list is missing column 'waited_days'; expected days waited so far."
            )
        df = initial.copy()
    else:
        df = pd.DataFrame({"waited_days": np.asarray(initial, dtype=float)})
    w = df["waited_days"].to_numpy(dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError("initial_waiting_list 'waited_days' must be finite and non-negative.")
    if "stage" not in df:
        df["stage"] = "assessment"
    bad = set(df["stage"]) - {"assessment", "treatment"}
    if bad:
        raise ValueError(
            f"initial_waiting_list 'stage' has {sorted(bad)}; expected 'assessment' or 'treatment'."
        )
    if "occupational_group" in df:
        unknown = set(df["occupational_group"]) - set(ids)
        if unknown:
            raise ValueError(
                f"initial_waiting_list 'occupational_group' has unknown groups {sorted(unknown)}; "
                f"expected one of {', '.join(ids)}."
            )
        df["group"] = [ids.index(x) for x in df["occupational_group"]]
    else:
        # mix of groups as in referrals at full opening
        w_g = np.array([g.share_of_staff * g.referrals_per_1000_per_year for g in groups])
        from hubsim.rng import stream

        rng = stream(seed, scenario, "initial_waiting_list_groups")
        df["group"] = rng.choice(len(groups), size=len(df), p=w_g / w_g.sum())
    return df[["waited_days", "stage", "group"]].reset_index(drop=True)


def run_replication(
    config: ServiceConfig,
    *,
    horizon_days: float,
    seed: int,
    replication: int,
    scenario: str,
    warmup_days: float = 0.0,
    initial_waiting_list: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """One replication: the model run and its tables (a dict of DataFrames).

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> out = run_replication(cfg, horizon_days=30, seed=0, replication=0, scenario="d")
    >>> sorted(out)[:3]
    ['clients', 'events', 'kpis']
    """
    from hubsim.measures import simulate_scores

    model = HubModel(
        config,
        horizon_days,
        seed=seed,
        scenario=scenario,
        replication=replication,
        scores=simulate_scores,
        initial_waiting_list=initial_waiting_list,
    )
    model.run()
    events = events_frame(model)
    busy = busy_frame(model)
    clients = clients_frame(model)
    weekly = weekly_frame(model, events, busy)
    roles = config.service.workforce.roles
    kpis = replication_kpis(
        clients,
        weekly,
        busy,
        replication=replication,
        horizon_days=horizon_days,
        warmup_days=warmup_days,
        in_scope_staff=config.region.in_scope_staff,
        role_ids=[r.id for r in roles],
        qualified_roles={r.id for r in roles if r.qualified},
    )
    area = pd.DataFrame(
        {
            "replication": replication,
            "stage": list(model.queue_area),
            "area": list(model.queue_area.values()),
        }
    )
    area = area[area["stage"].isin(STAGES)]
    return {
        "events": events,
        "clients": clients,
        "weekly": weekly,
        "kpis": pd.DataFrame([kpis]),
        "staff_activity": busy,
        "queue_area": area,
    }


def _run_one(args):
    config, kwargs = args
    return run_replication(config, **kwargs)


def simulate(
    config: ServiceConfig,
    *,
    horizon_days: float = 365,
    seed: int = 0,
    replications: int = 1,
    warmup_days: float = 0,
    initial_waiting_list=None,
    workers: int = 1,
    scenario: str | None = None,
    replication_ids: Sequence[int] | None = None,
) -> SimulationResult:
    """Run the hub a configuration describes.

    Parameters
    ----------
    config : ServiceConfig
        Never modified.
    horizon_days : float, default 365
        Days simulated from ``simulation.period.start``.
    seed : int, default 0
    replications : int, default 1
    warmup_days : float, default 0
        KPIs use clients referred from this day on, and staff time after it.
    initial_waiting_list : int, array-like or DataFrame, optional
        Clients already waiting at time zero: a count (waited 0 days), the days each has
        waited, or a DataFrame with ``waited_days`` and optional ``stage``
        (``"assessment"``/``"treatment"``) and ``occupational_group``.
    workers : int, default 1
        Processes for replications; results are identical for any number.
    scenario : str, optional
        Key of the random streams; default ``"common"``, so any two configurations run
        with the same seed share common random numbers (the clients, their arrival times
        and their draws are the same; only what the configurations change differs). Pass
        distinct keys for independent streams.
    replication_ids : sequence of int, optional
        Run these replication indices instead of ``range(replications)`` (for resuming).

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> res = hubsim.simulate(cfg, horizon_days=60, seed=3, replications=2)
    >>> sorted(res.kpis["replication"].tolist())
    [0, 1]
    """
    if not isinstance(config, ServiceConfig):
        raise ValueError(f"config must be a ServiceConfig, got {type(config).__name__}.")
    if not horizon_days > 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}.")
    if not 0 <= warmup_days < horizon_days:
        raise ValueError(
            f"warmup_days must be in [0, horizon_days), got {warmup_days} with horizon {horizon_days}."
        )
    if int(replications) < 1:
        raise ValueError(f"replications must be at least 1, got {replications}.")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    scenario = "common" if scenario is None else str(scenario)
    reps = list(range(int(replications))) if replication_ids is None else list(replication_ids)
    initial = _initial_frame(config, initial_waiting_list, seed, scenario)
    kwargs = [
        {
            "horizon_days": float(horizon_days),
            "seed": seed,
            "replication": r,
            "scenario": scenario,
            "warmup_days": float(warmup_days),
            "initial_waiting_list": initial,
        }
        for r in reps
    ]
    if workers > 1 and len(reps) > 1:
        with ProcessPoolExecutor(max_workers=min(int(workers), len(reps))) as ex:
            parts = list(ex.map(_run_one, [(config, k) for k in kwargs]))
    else:
        parts = [run_replication(config, **k) for k in kwargs]
    frames = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    for name in ("events", "staff_activity"):
        # keep categorical dtypes after concatenation
        for col in frames[name].columns:
            if isinstance(parts[0][name][col].dtype, pd.CategoricalDtype):
                frames[name][col] = pd.Categorical(
                    frames[name][col], categories=parts[0][name][col].cat.categories
                )
    meta = {
        "config_name": config.name,
        "config_hash": config.content_hash,
        "seed": seed,
        "scenario": scenario,
        "horizon_days": float(horizon_days),
        "warmup_days": float(warmup_days),
        "replications": reps,
    }
    return SimulationResult(meta=meta, **frames)
