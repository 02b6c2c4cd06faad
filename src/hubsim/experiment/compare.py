"""Scenario comparisons with common random numbers and paired confidence intervals.

Every scenario is run with the same seed and replication indices, so replication ``r`` of
each scenario sees the same clients (arrival times, needs, attendance draws); only what the
configurations change differs. Differences from the baseline are then paired by
replication, which removes the shared noise from their confidence intervals.

Examples
--------
>>> import hubsim
>>> from hubsim.experiment import compare_scenarios, vary
>>> site_d = hubsim.load_config("site_d")
>>> more = vary(site_d, {"simulation.demand.multiplier": 2.0}, name="double_demand")
>>> cmp = compare_scenarios([site_d, more], horizon_days=60, replications=2, seed=1)
>>> cmp.differences.loc[0, "scenario"]
'double_demand'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hubsim.config.schema import ServiceConfig
from hubsim.des.kpis import kpi_range
from hubsim.stats import bounded_t_interval

KPI_LONG_COLUMNS = ["scenario", "replication", "kpi", "value"]
DIFFERENCE_COLUMNS = [
    "scenario",
    "baseline",
    "kpi",
    "n_replications",
    "baseline_mean",
    "scenario_mean",
    "mean_difference",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "paired_correlation",
    "ci_clipped",
]
DEFAULT_KPIS = (
    "wait_to_first_assessment_mean_days",
    "wait_to_first_treatment_mean_days",
    "wait_to_first_treatment_p90_days",
    "wait_to_first_treatment_within_6w_share",
    "wait_to_first_treatment_within_18w_share",
    "wait_to_second_treatment_mean_days",
    "treatment_dropout_rate",
    "recovery_rate",
    "senior_hours_share",
    "wait_to_first_senior_mean_days",
    "cost_per_client_gbp",
)


@dataclass(frozen=True)
class ScenarioComparison:
    """Per-replication KPIs of several scenarios and their paired differences."""

    kpis: pd.DataFrame
    differences: pd.DataFrame
    baseline: str
    level: float

    def tidy(self) -> pd.DataFrame:
        """The paired differences (one row per scenario and KPI)."""
        return self.differences

    def summary(self) -> str:
        """A readable table of differences from the baseline with their CIs."""
        pct = round(100 * self.level)
        lines = [f"Differences from {self.baseline!r} (paired by replication, {pct}% t CIs)"]
        for _, r in self.differences.iterrows():
            lines.append(
                f"  {r['scenario']:<24} {r['kpi']:<36} {r['mean_difference']:+.4g} "
                f"[{r['ci_low']:+.4g}, {r['ci_high']:+.4g}]  (n={r['n_replications']})"
                + (" (clipped)" if r["ci_clipped"] else "")
            )
        if self.differences["ci_clipped"].any():
            lines.append(
                "(clipped): the t interval reached beyond the differences the KPI allows "
                "(a share's difference lies in [-1, 1]) and is cut at that bound"
            )
        return "\n".join(lines)


def paired_differences(long: pd.DataFrame, baseline: str, level: float = 0.95) -> pd.DataFrame:
    """Paired t intervals of ``scenario - baseline`` per KPI from a long KPI frame.

    Parameters
    ----------
    long : DataFrame
        Columns ``scenario, replication, kpi, value``.
    baseline : str
        The scenario differences are taken from.
    level : float
        Confidence level of the intervals.

    Returns
    -------
    DataFrame
        Columns :data:`DIFFERENCE_COLUMNS`. Replications where either value is missing
        (e.g. no client reached treatment) are dropped pairwise.
    """
    missing = [c for c in KPI_LONG_COLUMNS if c not in long.columns]
    if missing:
        raise ValueError(f"paired_differences: column {missing[0]!r} is missing from the frame.")
    if baseline not in set(long["scenario"]):
        raise ValueError(f"paired_differences: baseline {baseline!r} is not among the scenarios.")
    if not 0 < level < 1:
        raise ValueError(f"paired_differences: level must be in (0, 1), got {level}.")
    wide = long.pivot_table(
        index=["kpi", "replication"], columns="scenario", values="value", dropna=False
    )
    rows = []
    for scen in [s for s in dict.fromkeys(long["scenario"]) if s != baseline]:
        for kpi, block in wide.groupby(level="kpi", sort=False):
            pair = block[[baseline, scen]].dropna()
            n = len(pair)
            d = (pair[scen] - pair[baseline]).to_numpy(dtype=float)
            mean = float(d.mean()) if n else np.nan
            clipped = False
            if n >= 2:
                se = float(d.std(ddof=1) / np.sqrt(n))
                # a difference of two values in [a, b] lies in [a - b, b - a]
                a, b = kpi_range(kpi)
                p, lo, hi, clipped = bounded_t_interval(
                    mean, se, n - 1, 1 - level, low=a - b, high=b - a
                )
                if se == 0:  # every replication gives the same difference
                    p = 1.0 if mean == 0 else 0.0
                sd_a, sd_b = pair[baseline].std(), pair[scen].std()
                corr = float(pair[baseline].corr(pair[scen])) if sd_a > 0 and sd_b > 0 else np.nan
            else:
                se = p = lo = hi = corr = np.nan
            rows.append(
                {
                    "scenario": scen,
                    "baseline": baseline,
                    "kpi": kpi,
                    "n_replications": n,
                    "baseline_mean": float(pair[baseline].mean()) if n else np.nan,
                    "scenario_mean": float(pair[scen].mean()) if n else np.nan,
                    "mean_difference": mean,
                    "se": se,
                    "ci_low": lo,
                    "ci_high": hi,
                    "p_value": p,
                    "paired_correlation": corr,
                    "ci_clipped": clipped,
                }
            )
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def compare_scenarios(
    configs: Sequence[ServiceConfig],
    *,
    baseline: str | None = None,
    horizon_days: float = 365,
    replications: int = 10,
    seed: int = 0,
    warmup_days: float = 0,
    workers: int = 1,
    kpis: Sequence[str] = DEFAULT_KPIS,
    level: float = 0.95,
) -> ScenarioComparison:
    """Run several configurations on common random numbers and compare them.

    Parameters
    ----------
    configs : sequence of ServiceConfig
        The scenarios, told apart by ``config.name`` (names must be unique).
    baseline : str, optional
        Name of the reference scenario; default the first.
    horizon_days, replications, seed, warmup_days, workers
        As :func:`hubsim.simulate`; every scenario uses the same seed and replications.
    kpis : sequence of str
        KPI columns of ``SimulationResult.kpis`` to compare.
    level : float
        Confidence level.

    Returns
    -------
    ScenarioComparison
    """
    from hubsim.des.simulate import simulate

    configs = list(configs)
    if len(configs) < 2:
        raise ValueError("compare_scenarios: expected at least two configurations.")
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"compare_scenarios: scenario names must be unique, {dup!r} repeats.")
    base = names[0] if baseline is None else baseline
    if base not in names:
        raise ValueError(f"compare_scenarios: baseline {base!r} is not one of {names}.")
    if int(replications) < 2:
        raise ValueError("compare_scenarios: paired intervals need at least 2 replications.")
    frames = []
    for cfg in configs:
        res = simulate(
            cfg,
            horizon_days=horizon_days,
            seed=seed,
            replications=replications,
            warmup_days=warmup_days,
            workers=workers,
            scenario="common",
        )
        unknown = [k for k in kpis if k not in res.kpis.columns]
        if unknown:
            raise ValueError(f"compare_scenarios: unknown KPI {unknown[0]!r}.")
        long = res.kpis.melt(id_vars="replication", value_vars=list(kpis), var_name="kpi")
        long.insert(0, "scenario", cfg.name)
        frames.append(long[KPI_LONG_COLUMNS])
    long = pd.concat(frames, ignore_index=True)
    return ScenarioComparison(
        kpis=long, differences=paired_differences(long, base, level), baseline=base, level=level
    )
