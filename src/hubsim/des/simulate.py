"""``hubsim.simulate``: run a configuration for some replications, serially or in processes."""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from hubsim.config.schema import STEP_IDS, ServiceConfig
from hubsim.des.frames import (
    activity_frame,
    add_calendar_dates,
    clients_frame,
    events_frame,
    weekly_frames,
)
from hubsim.des.kpis import replication_kpis, service_lists
from hubsim.des.model import HubModel
from hubsim.des.record import STAGES, RunRecord
from hubsim.des.result import SimulationResult
from hubsim.des.window import resolve_window

LIST_NAMES = ("assessment", "in_depth_assessment", "treatment", *STEP_IDS)


#: Most problems of an initial waiting list reported one by one; the rest are counted.
MAX_INITIAL_PROBLEMS = 50
_WAITED = "expected the days the client has waited so far (a finite number, at least 0)"


def _initial_problems(
    df: pd.DataFrame, allowed: set[str], ids: Sequence[str]
) -> list[tuple[int, str]]:
    """``(row, "column: what was expected, got ...")`` for every bad cell of a waiting list.

    ``waited_days`` must be a finite number at least 0, ``stage`` (if a column) one of
    ``allowed`` and ``occupational_group`` (if a column) one of ``ids``. Rows count from 0.
    """
    checks: list[tuple[str, np.ndarray, str]] = []
    w = pd.to_numeric(df["waited_days"], errors="coerce").to_numpy(dtype=float)
    checks.append(("waited_days", ~(np.isfinite(w) & (w >= 0)), _WAITED))
    for column, ok in (("stage", sorted(allowed)), ("occupational_group", list(ids))):
        if column in df:
            seen = df[column].map(str) if column == "stage" else df[column]
            good = seen.map(lambda v, ok=set(ok): isinstance(v, str) and v in ok)
            checks.append((column, ~good.to_numpy(dtype=bool), f"expected one of {', '.join(ok)}"))
    out: list[tuple[int, str]] = []
    for column, bad, expected in checks:
        for i in np.flatnonzero(bad):
            value = df[column].iloc[i]
            value = value.item() if isinstance(value, np.generic) else value
            got = "an empty cell" if isinstance(value, str) and not value else repr(value)
            out.append((int(i), f"{column}: {expected}, got {got}"))
    return sorted(out, key=lambda p: p[0])  # stable: a row's columns stay in order


def _capped(problems: list[str], source: str) -> list[str]:
    """At most :data:`MAX_INITIAL_PROBLEMS` sentences, then one counting the rest."""
    if len(problems) <= MAX_INITIAL_PROBLEMS:
        return problems
    rest = len(problems) - MAX_INITIAL_PROBLEMS
    return [*problems[:MAX_INITIAL_PROBLEMS], f"{source}: {rest} more problem(s) not shown."]


def read_initial_csv(
    path: str | os.PathLike[str], allowed: set[str], ids: Sequence[str]
) -> pd.DataFrame:
    r"""An initial waiting list CSV (header ``waited_days`` and optional ``stage`` and
    ``occupational_group``) as a frame, or ConfigError with every problem in it.

    Each problem is one sentence naming the file, the line (the header is line 1), the
    column and what was expected (at most :data:`MAX_INITIAL_PROBLEMS`, then a count of the
    rest). Other columns are ignored; blank lines are skipped.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "waiting.csv"
    >>> _ = p.write_text("waited_days,stage\n5,assessment\n-3,assessment\n")
    >>> read_initial_csv(p, {"assessment"}, ["nhs"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hubsim.errors.ConfigError: ...waiting.csv, line 3: waited_days: expected the days ... got '-3'.
    """
    import csv

    from hubsim.errors import ConfigError

    path = Path(path)
    expect = "expected a CSV file with a waited_days column"
    rows: list[tuple[int, list[str]]] = []  # (first line of the record, its cells)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            start = 1
            try:
                for row in reader:
                    if any(cell.strip() for cell in row):
                        rows.append((start, row))
                    start = reader.line_num + 1
            except csv.Error as exc:
                raise ConfigError(
                    f"{path}, line {reader.line_num}: not valid CSV ({exc}); {expect}."
                ) from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; {expect}.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory; {expect}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; {expect}.") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); {expect}.") from None
    if not rows:
        raise ConfigError(
            f"{path}: the file is empty; {expect} (a header line, then a line per client)."
        )
    header_line, header = rows[0]
    names = [h.strip() for h in header]
    if "waited_days" not in names:
        found = ", ".join(repr(n) for n in names)
        raise ConfigError(
            f"{path}, line {header_line}: the header has no waited_days column (it has {found}); "
            "expected the columns waited_days and optionally stage and occupational_group."
        )
    wanted = [n for n in ("waited_days", "stage", "occupational_group") if n in names]
    problems: list[tuple[int, str]] = [
        (header_line, f"column {n} appears {names.count(n)} times; expected each column once")
        for n in wanted
        if names.count(n) > 1
    ]
    lines = [line for line, _ in rows[1:]]
    cells: dict[str, list[str]] = {n: [] for n in wanted}
    for line, row in rows[1:]:
        if len(row) > len(names):
            problems.append(
                (line, f"{len(row)} fields; expected at most {len(names)} (the header's columns)")
            )
        for n in wanted:
            j = names.index(n)
            cells[n].append(row[j].strip() if j < len(row) else "")
    df = pd.DataFrame(cells, dtype=object)
    problems += [(lines[i], text) for i, text in _initial_problems(df, allowed, ids)]
    if problems:
        problems.sort(key=lambda p: p[0])
        raise ConfigError(_capped([f"{path}, line {n}: {t}." for n, t in problems], str(path)))
    df["waited_days"] = pd.to_numeric(df["waited_days"]).astype(float)
    return df


def initial_frame(config: ServiceConfig, initial, seed: int, scenario: str) -> pd.DataFrame | None:
    """Normalise an initial waiting list to columns waited_days, stage, group (index).

    ``initial`` is a count (waited 0 days, assessment list), the days each has waited, a
    DataFrame with ``waited_days`` and optional ``stage`` (``assessment``,
    ``in_depth_assessment``, ``treatment`` for the client's own first step, or a step id)
    and ``occupational_group``, a CSV path with those columns, or None for the
    configuration's ``simulation.initial_waiting_list``.
    """
    groups = config.service.target_population.groups
    ids = [g.id for g in groups]
    from hubsim.rng import stream

    if initial is None:
        spec = config.simulation.initial_waiting_list
        if spec is None:
            return None
        if spec.csv is not None:
            initial = spec.csv
        else:
            rng = stream(seed, scenario, "initial_waiting_list_days")
            parts = []
            for stage, k in spec.counts.items():
                if k:
                    w = spec.waited_days.ppf(rng.random(k))
                    parts.append(pd.DataFrame({"waited_days": w, "stage": stage}))
            if not parts:
                return None
            initial = pd.concat(parts, ignore_index=True)
    offered = set(config.offered_steps())
    allowed = {"assessment", "in_depth_assessment", "treatment", *offered}
    if isinstance(initial, str | os.PathLike):
        # a CSV file: every problem, each named by file, line and column (ConfigError)
        df = read_initial_csv(initial, allowed, ids)
    elif isinstance(initial, int | np.integer):
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
    if not isinstance(initial, str | os.PathLike):  # in memory: rows counted from 0
        found = [
            f"initial_waiting_list row {i}: {t}." for i, t in _initial_problems(df, allowed, ids)
        ]
        if found:
            raise ValueError(" ".join(_capped(found, "initial_waiting_list")))
    if "stage" not in df:
        df["stage"] = "assessment"
    if "occupational_group" in df:
        df["group"] = [ids.index(x) for x in df["occupational_group"]]
    else:
        # mix of groups as in referrals at full opening
        w_g = np.array([g.share_of_staff * g.referrals_per_1000_per_year for g in groups])
        rng = stream(seed, scenario, "initial_waiting_list_groups")
        df["group"] = rng.choice(len(groups), size=len(df), p=w_g / w_g.sum())
    df["stage"] = df["stage"].astype(str)
    return df[["waited_days", "stage", "group"]].reset_index(drop=True)


def run_record(
    config: ServiceConfig,
    *,
    horizon_days: float,
    seed: int,
    replication: int,
    scenario: str,
    initial_waiting_list: pd.DataFrame | None = None,
) -> RunRecord:
    """One replication's record (the output contract every table is derived from)."""
    model = HubModel(
        config,
        horizon_days,
        seed=seed,
        scenario=scenario,
        replication=replication,
        initial_waiting_list=initial_waiting_list,
    )
    return model.run()


def tables(
    config: ServiceConfig, rec: RunRecord, warmup_days: float = 0.0
) -> dict[str, pd.DataFrame]:
    """The tidy tables and KPIs of one record."""
    events = events_frame(rec)
    activity = activity_frame(rec)
    clients = clients_frame(rec)
    wf = weekly_frames(rec, activity)
    roles = config.service.workforce.roles
    kpis = replication_kpis(
        clients,
        wf["weekly"],
        activity,
        wf["waiting_lists"],
        replication=rec.replication,
        horizon_days=rec.horizon_days,
        warmup_days=warmup_days,
        in_scope_staff=config.region.in_scope_staff,
        role_ids=[r.id for r in roles],
        qualified_roles={r.id for r in roles if r.qualified},
        lists=service_lists(config),
    )
    area = pd.DataFrame(
        {
            "replication": rec.replication,
            "stage": [STAGES[k] for k in rec.queue_area],
            "area": list(rec.queue_area.values()),
        }
    )
    staff = rec.staff.copy()
    staff.insert(0, "replication", rec.replication)
    frames = {
        "events": events,
        "clients": clients,
        "weekly": wf["weekly"],
        "kpis": pd.DataFrame([kpis]),
        "staff_activity": activity,
        "waiting_lists": wf["waiting_lists"],
        "caseloads": wf["caseloads"],
        "staff": staff,
        "queue_area": area,
    }
    return add_calendar_dates(frames, config.simulation.period.start)


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
    ['caseloads', 'clients', 'events']
    """
    rec = run_record(
        config,
        horizon_days=horizon_days,
        seed=seed,
        replication=replication,
        scenario=scenario,
        initial_waiting_list=initial_waiting_list,
    )
    return tables(config, rec, warmup_days)


# A worker process's configuration and initial waiting list, set once by _init_worker so
# that each task carries only replication indices (the configuration is not re-sent).
_WORKER: dict = {}


def _init_worker(config: ServiceConfig, initial) -> None:
    _WORKER["config"], _WORKER["initial"] = config, initial
    # a forked worker inherits the parent's objects: keep the garbage collector from
    # scanning (and so copying) them on every collection
    gc.freeze()


def _run_chunk(kwargs: list[dict]) -> list[dict[str, pd.DataFrame]]:
    """A chunk of replications in a worker: their tables (built here, in parallel)."""
    config, initial = _WORKER["config"], _WORKER["initial"]
    return [run_replication(config, initial_waiting_list=initial, **k) for k in kwargs]


def chunks(items: list, workers: int, chunksize: int | None = None) -> list[list]:
    """Contiguous chunks of ``items`` for ``workers`` processes.

    By default about four chunks per worker, their sizes differing by at most one: few
    enough that task overhead stays small, enough that a slow replication does not leave
    the other worker idle at the end, and even, so that no worker is handed a whole extra
    chunk (20 replications in chunks of 3 would give one worker 11 and the other 9).
    Results never depend on the chunking (each replication has its own keyed streams).

    Examples
    --------
    >>> chunks(list(range(10)), 2)
    [[0, 1], [2, 3], [4], [5], [6], [7], [8], [9]]
    >>> chunks(list(range(5)), 2, chunksize=5)
    [[0, 1, 2, 3, 4]]
    """
    if chunksize is not None:
        if int(chunksize) < 1:
            raise ValueError(f"chunksize must be at least 1, got {chunksize}.")
        size = int(chunksize)
        return [items[i : i + size] for i in range(0, len(items), size)]
    n = min(len(items), 4 * max(1, int(workers)))
    if n == 0:
        return []
    base, extra = divmod(len(items), n)
    out, i = [], 0
    for k in range(n):
        step = base + (1 if k < extra else 0)
        out.append(items[i : i + step])
        i += step
    return out


def simulate(
    config: ServiceConfig,
    *,
    horizon_days: float | None = None,
    seed: int = 0,
    replications: int = 1,
    warmup_days: float | None = None,
    initial_waiting_list=None,
    workers: int = 1,
    scenario: str | None = None,
    replication_ids: Sequence[int] | None = None,
    start=None,
    end=None,
    chunksize: int | None = None,
) -> SimulationResult:
    """Run the hub a configuration describes.

    Parameters
    ----------
    config : ServiceConfig
        Never modified.
    horizon_days : float, optional
        Days simulated from ``simulation.period.start`` (default: ``end``, else the
        configuration's ``simulation.horizon``, else 365).
    seed : int, default 0
    replications : int, default 1
    warmup_days : float, optional
        KPIs use clients referred from this day on, and staff time after it (default:
        ``start``, else the configuration's ``simulation.warmup``, else 0).
    initial_waiting_list : int, array-like, DataFrame or path, optional
        Clients already waiting at time zero (default: the configuration's
        ``simulation.initial_waiting_list``): a count (waited 0 days), the days each has
        waited, a DataFrame or CSV with ``waited_days`` and optional ``stage``
        (``assessment``, ``in_depth_assessment``, ``treatment`` or a step id) and
        ``occupational_group``. Their renege clock starts at the days already waited.
    workers : int, default 1
        Processes for replications; results are identical for any number. Each worker
        gets the configuration once and builds its replications' tables itself.
    scenario : str, optional
        Key of the random streams; default ``"common"``, so any two configurations run
        with the same seed share common random numbers (the clients, their arrival times
        and their draws are the same; only what the configurations change differs). Pass
        distinct keys for independent streams.
    replication_ids : sequence of int, optional
        Run these replication indices instead of ``range(replications)`` (for resuming).
    start, end : date or ISO string, optional
        The KPI window by date, instead of ``warmup_days`` / ``horizon_days``: its first
        day (the run warms up from the period start until then) and its last simulated
        day, inclusive (:func:`hubsim.des.window.resolve_window`).
    chunksize : int, optional
        Replications per task sent to a worker (default: about four tasks a worker; see
        :func:`chunks`); results are identical for any value.

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
    if horizon_days is not None and not horizon_days > 0:
        raise ValueError(f"horizon_days must be positive, got {horizon_days}.")
    window = resolve_window(
        config, horizon_days=horizon_days, warmup_days=warmup_days, start=start, end=end
    )
    horizon_days, warmup_days = window.horizon_days, window.warmup_days
    if int(replications) < 1:
        raise ValueError(f"replications must be at least 1, got {replications}.")
    if int(workers) < 1:
        raise ValueError(f"workers must be at least 1, got {workers}.")
    scenario = "common" if scenario is None else str(scenario)
    reps = list(range(int(replications))) if replication_ids is None else list(replication_ids)
    initial = initial_frame(config, initial_waiting_list, seed, scenario)
    kwargs = [
        {
            "horizon_days": float(horizon_days),
            "seed": seed,
            "replication": r,
            "scenario": scenario,
            "warmup_days": float(warmup_days),
        }
        for r in reps
    ]
    if chunksize is not None and int(chunksize) < 1:
        raise ValueError(f"chunksize must be at least 1, got {chunksize}.")
    if workers > 1 and len(reps) > 1:
        n_proc = min(int(workers), len(reps))
        tasks = chunks(kwargs, n_proc, chunksize)
        with ProcessPoolExecutor(
            max_workers=n_proc, initializer=_init_worker, initargs=(config, initial)
        ) as ex:
            # map keeps the chunks' order, so the frames are stacked by replication as
            # in a serial run
            parts = [p for chunk in ex.map(_run_chunk, tasks) for p in chunk]
    else:
        parts = [run_replication(config, initial_waiting_list=initial, **k) for k in kwargs]
    frames = {name: pd.concat([p[name] for p in parts], ignore_index=True) for name in parts[0]}
    for name in ("events", "staff_activity", "clients"):
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
        **window.meta(),
        "replications": reps,
    }
    return SimulationResult(meta=meta, **frames)
