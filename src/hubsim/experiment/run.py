"""Run a configuration from the command line: simulate, print the KPI summary, write results.

``hubsim run CONFIG`` calls :func:`run_cli`; results are written by :func:`write_result`
as Parquet files plus ``manifest.json``, atomically (into a temporary directory next to
the target, then renamed), so a reader never sees a half-written result.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import pandas as pd

from hubsim.config.schema import ServiceConfig
from hubsim.des.result import CLIPPED_NOTE, FRAMES, SimulationResult

PACKAGES = ("hubsim", "numpy", "pandas", "scipy", "simpy", "pydantic", "pyarrow")

# KPIs printed by format_summary, in this order, with a label and a format
_SHOWN = (
    ("referrals_per_year", "Referrals per year", "{:.0f}"),
    ("uptake_pct_per_year", "Uptake, % of in-scope staff a year", "{:.2f}"),
    ("wait_to_first_assessment_mean_days", "Referral to 1st assessment, mean* (days)", "{:.1f}"),
    ("wait_to_first_assessment_p90_days", "Referral to 1st assessment, p90* (days)", "{:.1f}"),
    ("wait_to_first_assessment_within_6w_share", "1st assessment within 6 weeks*", "{:.1%}"),
    ("wait_to_first_treatment_mean_days", "Referral to 1st treatment, mean* (days)", "{:.1f}"),
    ("wait_to_first_treatment_median_days", "Referral to 1st treatment, median* (days)", "{:.1f}"),
    ("wait_to_first_treatment_p90_days", "Referral to 1st treatment, p90* (days)", "{:.1f}"),
    ("wait_to_first_treatment_within_6w_share", "1st treatment within 6 weeks*", "{:.1%}"),
    ("wait_to_first_treatment_within_18w_share", "1st treatment within 18 weeks*", "{:.1%}"),
    ("wait_to_second_treatment_mean_days", "Referral to 2nd treatment, mean* (days)", "{:.1f}"),
    ("wait_to_second_treatment_median_days", "Referral to 2nd treatment, median* (days)", "{:.1f}"),
    ("wait_to_second_treatment_within_18w_share", "2nd treatment within 18 weeks*", "{:.1%}"),
    ("discharges_per_week", "Discharges per week", "{:.1f}"),
    ("onward_share", "Onward-referred share of assessed", "{:.1%}"),
    ("treatment_dropout_rate", "Drop-out among treatment starters", "{:.1%}"),
    ("sessions_per_completed_course", "Sessions per completed course", "{:.1f}"),
    ("recovery_rate", "Recovery (finished courses, cases at start)", "{:.1%}"),
    ("reliable_improvement_rate", "Reliable improvement (finished courses)", "{:.1%}"),
    ("senior_hours_share", "Senior share of clinical hours", "{:.1%}"),
    ("cost_per_client_gbp", "Direct staff cost per client (GBP)", "{:.0f}"),
)


def format_summary(result: SimulationResult) -> str:
    """A plain-text KPI table: mean and 95% CI over replications, utilisation by role.

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> print(format_summary(hubsim.simulate(cfg, horizon_days=30)).splitlines()[0])  # doctest: +ELLIPSIS
    site_d: 30 days, 1 replication(s), seed 0...
    """
    s = result.tidy().set_index("kpi")
    m = result.meta
    reps = len(m.get("replications", [])) or len(result.kpis)
    head = (
        f"{m.get('config_name', '?')}: {m.get('horizon_days', 0):g} days, {reps} replication(s), "
        f"seed {m.get('seed', '?')}, warm-up {m.get('warmup_days', 0):g} days"
    )
    window = result.window_text()
    lines = [head, *([window] if window else []), "-" * max(len(head), len(window))]
    clipped = []

    def fmt(kpi, f):
        row = s.loc[kpi]
        if pd.isna(row["mean"]):
            return "n/a"
        text = f.format(row["mean"])
        if reps > 1 and not pd.isna(row["ci_low"]):
            text += f"  [{f.format(row['ci_low'])}, {f.format(row['ci_high'])}]"
            if row["ci_clipped"]:
                text += " (clipped)"
                clipped.append(kpi)
        return text

    for kpi, label, f in _SHOWN:
        if kpi in s.index:
            lines.append(f"{label:<42} {fmt(kpi, f)}")
    for kpi in [k for k in s.index if k.startswith("waiting_list_")]:
        name = kpi[len("waiting_list_") :].removesuffix("_mean")
        lines.append(f"{'Waiting list, ' + name + ' (mean clients)':<42} {fmt(kpi, '{:.1f}')}")
    for kpi in [k for k in s.index if k.startswith("utilisation_")]:
        lines.append(f"{'Utilisation, ' + kpi[len('utilisation_') :]:<42} {fmt(kpi, '{:.1%}')}")
    lines.append(
        "* waits with censoring handled: Kaplan-Meier medians, p90s and shares, means "
        "restricted to the KPI window (or to the longest follow-up, where the curve has not "
        "reached zero there); see SimulationResult.kpi_definitions"
    )
    if reps > 1:
        lines.append("(95% t intervals over replications in brackets)")
        if clipped:
            lines.append(CLIPPED_NOTE)
    return "\n".join(lines)


def package_versions(packages=PACKAGES) -> dict[str, str]:
    """Python's and each package's installed version (``"not installed"`` if absent), for
    the manifests of ``hubsim run`` and ``hubsim experiment``."""
    out = {"python": platform.python_version()}
    for p in packages:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def write_result(
    result: SimulationResult,
    config: ServiceConfig,
    out_dir: str | os.PathLike[str],
    *,
    seed: int,
    run_seconds: float | None = None,
    command: str | None = None,
    overwrite: bool = True,
) -> Path:
    """Write the result's tables as Parquet plus ``manifest.json``, atomically.

    Parameters
    ----------
    result : SimulationResult
    config : ServiceConfig
        The configuration that was run; its resolved form and content hash go in the manifest.
    out_dir : path
        Target directory; written into a temporary sibling first and renamed at the end.
    seed : int
    run_seconds : float, optional
        Wall time of the run, recorded in the manifest.
    command : str, optional
        The command line, recorded in the manifest.
    overwrite : bool, default True
        Replace an existing ``out_dir``; with False an existing directory is an error.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Examples
    --------
    >>> import hubsim, tempfile
    >>> from pathlib import Path
    >>> cfg = hubsim.load_config("site_d")
    >>> res = hubsim.simulate(cfg, horizon_days=20)
    >>> d = write_result(res, cfg, Path(tempfile.mkdtemp()) / "run", seed=0)
    >>> sorted(p.name for p in d.iterdir())[:2]
    ['caseloads.parquet', 'clients.parquet']
    """
    out = Path(out_dir)
    if out.exists() and not overwrite:
        raise FileExistsError(
            f"{out} exists; pass overwrite=True or choose another --out directory."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        files = {}
        for name in FRAMES:
            df = getattr(result, name)
            path = tmp / f"{name}.parquet"
            df.to_parquet(path, index=False)
            files[name] = {
                "file": path.name,
                "rows": len(df),
                "columns": list(map(str, df.columns)),
            }
        manifest = {
            "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
            "seed": seed,
            "scenario": result.meta.get("scenario"),
            "horizon_days": result.meta.get("horizon_days"),
            "warmup_days": result.meta.get("warmup_days"),
            "replications": result.meta.get("replications"),
            "run_seconds": run_seconds,
            "config_name": config.name,
            "config_hash": config.content_hash,
            "config": config.to_dict(),
            "versions": package_versions(),
            "platform": platform.platform(),
            "files": files,
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=2, default=str), encoding="utf-8"
        )
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}-{time.time_ns()}")
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


CLI_NAMES = {
    "horizon_days": "--horizon-days",
    "warmup_days": "--warmup-days",
    "start": "--start",
    "end": "--end",
}


def run_window(config, source, horizon_days=None, warmup_days=None, start=None, end=None):
    """``hubsim run``'s window: the days or dates given, else the configuration's
    ``simulation.horizon`` / ``warmup``, else the first full-opening year
    (:func:`hubsim.des.window.first_full_year`). Raises :class:`hubsim.ConfigError` naming
    the flag for a bad window."""
    from hubsim.des.window import first_full_year, resolve_window
    from hubsim.errors import ConfigError

    try:
        return resolve_window(
            config,
            horizon_days=horizon_days,
            warmup_days=warmup_days,
            start=start,
            end=end,
            default=first_full_year(config),
            names=CLI_NAMES,
        )
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def run_cli(
    config_path: str | os.PathLike[str],
    horizon_days: float | None = None,
    replications: int = 1,
    seed: int = 0,
    warmup_days: float | None = None,
    workers: int = 1,
    out: str | os.PathLike[str] | None = None,
    *,
    initial_waiting_list: str | os.PathLike[str] | None = None,
    start=None,
    end=None,
) -> SimulationResult:
    """What ``hubsim run CONFIG ...`` does: load, simulate, print the summary, write results.

    The window is given by days (``horizon_days``, ``warmup_days``) or dates (``start``,
    ``end``), else the configuration's ``simulation.horizon`` / ``warmup``, else the
    site's first full-opening year (:func:`hubsim.des.window.first_full_year`), warmed up
    from the period start. Raises :class:`hubsim.ConfigError` for a bad configuration or
    window (the CLI prints its message and exits with code 2).

    Examples
    --------
    >>> import hubsim
    >>> res = run_cli("site_d", horizon_days=20)  # doctest: +ELLIPSIS
    site_d: 20 days, 1 replication(s), seed 0...
    """
    from hubsim.config.loader import load_config
    from hubsim.des.simulate import simulate

    config = load_config(config_path)
    window = run_window(config, config_path, horizon_days, warmup_days, start, end)
    t0 = time.perf_counter()
    result = simulate(
        config,
        horizon_days=window.horizon_days,
        seed=seed,
        replications=replications,
        warmup_days=window.warmup_days,
        workers=workers,
        initial_waiting_list=None if initial_waiting_list is None else str(initial_waiting_list),
    )
    seconds = time.perf_counter() - t0
    print(format_summary(result))
    print(f"({seconds:.2f} s)")
    if out is not None:
        path = write_result(
            result, config, out, seed=seed, run_seconds=seconds, command=" ".join(sys.argv)
        )
        print(f"results written to {path}")
    return result


def result_from_store(out: str | os.PathLike[str], scenario: str) -> SimulationResult:
    """A :class:`SimulationResult` of one scenario read back from a results folder.

    Every frame the result holds is read from the store (tables, or the Parquet partitions
    of ``events`` and ``staff_activity``) without the ``scenario`` column; the KPIs are
    pivoted back to one row per replication.

    Examples
    --------
    >>> import hubsim, tempfile
    >>> from hubsim.experiment import plan_from_configs, run_experiment
    >>> cfg = hubsim.load_config("site_d")
    >>> plan = plan_from_configs([cfg], replications=2, horizon_days=20)
    >>> res = run_experiment(plan, tempfile.mkdtemp() + "/r", quiet=True, report=False,
    ...                      workers=1, kind="run")
    >>> back = result_from_store(res.out, "site_d")
    >>> sorted(back.kpis["replication"].tolist()), len(back.events) > 0
    ([0, 1], True)
    """
    import dataclasses

    from hubsim.experiment.runner import load_experiment_result

    store, folder = load_experiment_result(out)
    try:
        sc = store.query("SELECT * FROM scenarios WHERE scenario = ?", [scenario])
        if sc.empty:
            raise ValueError(f"{out}: no scenario {scenario!r} in the results.")
        frames = {}
        for f in dataclasses.fields(SimulationResult):
            if f.name in ("meta", "kpis"):
                continue
            df = store.frame(f.name, [scenario])
            frames[f.name] = df.drop(columns=["scenario"], errors="ignore")
        long = store.kpis()
        long = long[long["scenario"] == scenario]
        order = list(dict.fromkeys(long["kpi"]))
        wide = long.pivot_table(
            index="replication", columns="kpi", values="value", dropna=False
        ).reset_index()
        wide = wide[["replication", *[k for k in order if k in wide.columns]]]
        wide.columns.name = None
        frames["kpis"] = wide
        reps = sorted(int(r) for r in wide["replication"])
        seed = int(store.query("SELECT seed FROM runs ORDER BY run_id LIMIT 1")["seed"].iloc[0])
        meta = {
            "config_name": scenario,
            "config_hash": str(sc["config_hash"].iloc[0]),
            "seed": seed,
            "scenario": "common",
            "horizon_days": float(sc["horizon_days"].iloc[0]),
            "warmup_days": float(sc["warmup_days"].iloc[0]),
            "replications": reps,
        }
        return SimulationResult(meta=meta, **frames)
    finally:
        store.close()
        folder.close()
