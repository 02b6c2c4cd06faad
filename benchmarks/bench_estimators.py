"""Own kernels or statsmodels: ITS (HAC / Driscoll-Kraay) and the survival comparison of waits.

Issue 11 asks that hubsim use statsmodels where it serves and keep an own kernel only
where it matters in a Monte-Carlo loop. This measures both places, each against a named
baseline in the same run:

1. ``its`` in the design-diagnosis loop. Data: the flagship study's help-seeker design
   (42 regions, 48 months, phased openings and closures), reduced as the diagnosis
   adapter reduces it (one n-weighted series per opening wave, up to the first closure).
   Timed per fit: what ``its()`` does (normal equations, statsmodels' ``S_hac_simple`` meat
   over the per-period score sums) against statsmodels ``OLS(...).fit(cov_type="hac-groupsum")`` on the same design
   matrix (the baseline), and the whole ``its()`` call. Then the share of ``its`` in
   diagnosing that design with the flagship's five estimators.
2. ``compare_waits`` (statsmodels ``SurvfuncRight``, ``survdiff``, ``PHReg``) against
   lifelines (``KaplanMeierFitter`` x 2, ``logrank_test``, ``CoxPHFitter``) on 400 waits.
   ``compare_waits`` is not a registered diagnosis estimator, so it runs once per analysis.
3. The estimators on one BLAS thread (as they run: every public estimator enters
   ``hubsim.stats.one_blas_thread``) against the same calls with BLAS's default thread
   count (the baseline: the undecorated functions). Data: one null panel of the size
   grid's largest design (42 regions, 21 treated, staggered adoption, 10 periods); timed:
   the event study with its default (auto) inference and Callaway-Sant'Anna with its
   simple ATT and pre-trend test, in one process and in two at once (the test tier's two
   workers, ``--workers 2``, a two-worker Dask cluster), where OpenBLAS's spinning threads
   contend for the cores.

Prints seconds (best of the repeats) and ratios. Run:
``.venv/bin/python benchmarks/bench_estimators.py [--quick]``
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
import timeit
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.stats.sandwich_covariance import S_hac_simple

from hubsim.estimators import compare_waits, its
from hubsim.estimators.its import newey_west_lags
from hubsim.power import diagnose
from hubsim.power.diagnose import ESTIMATORS, _run_its
from hubsim.regional import PANEL_COLUMNS, RegionalDesign
from hubsim.rng import stream

FLAGSHIP = Path(__file__).resolve().parents[1] / "experiments" / "power_naturalistic_evaluation.yaml"
FLAGSHIP_ESTIMATORS = ["twfe_cr1", "twfe_wild", "callaway_santanna", "its", "synthetic_control"]


def best(fun, repeat: int, number: int = 1) -> float:
    return min(timeit.repeat(fun, number=number, repeat=repeat)) / number


def flagship_design() -> RegionalDesign:
    """The flagship study's help_seeker_cohort scenario, as the study file states it."""
    from hubsim.evaluation import load_study

    _, designs = load_study(FLAGSHIP)
    return designs["help_seeker_cohort"]


def its_series(df: pd.DataFrame) -> pd.DataFrame:
    """The series the diagnosis adapter passes to its() (one per opening wave)."""
    captured = {}

    def grab(series, **kw):
        captured["series"], captured["kw"] = series, kw
        return its(series, **kw)

    _run_its(grab, df, {}, True, PANEL_COLUMNS)
    return captured["series"], captured["kw"]


def bench_its(repeat: int) -> None:
    design = flagship_design()
    df = design.simulate(stream(1, "bench", 0, "design"))
    series, kw = its_series(df)
    s = series.sort_values([kw["unit"], kw["time"]]) if kw["unit"] else series
    t = s[kw["time"]].to_numpy(float)
    t0 = s[kw["intervention"]].to_numpy(float)
    post = (t >= t0).astype(float)
    dummies = pd.get_dummies(s[kw["unit"]], dtype=float).to_numpy()
    x = np.column_stack([dummies, t - t0, post, (t - t0) * post])
    y = s[kw["y"]].to_numpy(float)
    periods = np.unique(t)
    tcode = np.searchsorted(periods, t)
    lags = newey_west_lags(len(periods))

    def own():
        # what its() does: normal equations, statsmodels' meat over per-period score sums
        xtx_inv = np.linalg.inv(x.T @ x)
        beta = xtx_inv @ (x.T @ y)
        scores = x * (y - x @ beta)[:, None]
        sums = np.zeros((len(periods), x.shape[1]))
        np.add.at(sums, tcode, scores)
        return beta, xtx_inv @ S_hac_simple(sums, nlags=lags) @ xtx_inv

    def statsmodels_fit():
        return sm.OLS(y, x).fit(cov_type="hac-groupsum", cov_kwds={"time": tcode, "maxlags": lags})

    b_own, cov_own = own()
    ref = statsmodels_fit()
    k = dummies.shape[1] + 1  # the level change
    n, T = len(y), len(periods)
    se_own = np.sqrt(cov_own[k, k] * T / (T - 1) * (n - 1) / (n - x.shape[1]))
    print(
        f"ITS series: {len(y)} rows ({series[kw['unit']].nunique()} waves x {T} periods), "
        f"{x.shape[1]} terms, {lags} lags; level change {b_own[k]:.6f} (statsmodels "
        f"{ref.params[k]:.6f}), SE {se_own:.6f} (statsmodels {ref.bse[k]:.6f})"
    )
    n_fit = 50
    t_own = best(own, repeat, n_fit)
    t_sm = best(statsmodels_fit, repeat, n_fit)
    t_its = best(lambda: its(series, **kw), repeat, n_fit)
    print(f"  normal equations + S_hac_simple meat    {t_own * 1e3:8.3f} ms")
    print(f"  statsmodels OLS hac-groupsum [baseline] {t_sm * 1e3:8.3f} ms")
    print(f"  its() whole call (checks, matrix, fit) {t_its * 1e3:8.3f} ms")
    print(f"  ratio OLS fit / normal equations: {t_sm / t_own:.1f}x")
    print(f"  its() with statsmodels instead: about {(t_its - t_own + t_sm) / t_its:.2f}x its time")

    # share of its in diagnosing the design with the flagship's estimators
    n_sims = 20
    per = {}
    for name in FLAGSHIP_ESTIMATORS:
        per[name] = best(
            lambda name=name: diagnose(design, [ESTIMATORS[name]], n_sims=n_sims, seed=1),
            max(1, repeat // 2),
        )
    total = sum(per.values())
    print(f"diagnose({n_sims} sims) per estimator, flagship help-seeker design:")
    for name, sec in per.items():
        print(f"  {name:<18} {sec:7.3f} s  ({sec / total:.0%})")
    extra = per["its"] * ((t_its - t_own + t_sm) / t_its - 1)
    print(
        f"  with statsmodels inside its(): the diagnosis would take about "
        f"{(total + extra) / total:.2f}x as long"
    )


def bench_waits(repeat: int) -> None:
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(3)
    arm = np.repeat([0, 1], 200)
    w = rng.exponential(np.where(arm == 1, 5.0, 8.0))
    c = rng.uniform(0, 20, 400)
    df = pd.DataFrame({"weeks": np.minimum(w, c), "seen": (w <= c).astype(int), "hub": arm})

    def lifelines_all():
        for a in (0, 1):
            sub = df[df["hub"] == a]
            KaplanMeierFitter().fit(sub["weeks"], sub["seen"])
        a, b = df[df["hub"] == 0], df[df["hub"] == 1]
        logrank_test(a["weeks"], b["weeks"], a["seen"], b["seen"])
        CoxPHFitter().fit(df, "weeks", "seen")

    t_hub = best(lambda: compare_waits(df, "weeks", "seen", "hub"), repeat)
    t_ll = best(lifelines_all, repeat)
    print(
        f"compare_waits on 400 waits: {t_hub * 1e3:.1f} ms; lifelines [baseline] "
        f"{t_ll * 1e3:.1f} ms; ratio {t_hub / t_ll:.2f}x (once per analysis, no MC loop)"
    )


def _blas_panel() -> pd.DataFrame:
    design = RegionalDesign(
        n_regions=42, n_treated=21, schedule=(5, 6, 7), n_periods=10,
        population_kind="help_seeker_cohort", icc=0.02, period_sd=0.05, ar_rho=0.5, ar_sd=0.05,
    )
    df = design.simulate(stream(771, "bench-blas", 0, "es-cs"))
    df["g"] = df["cohort"].where(df["cohort"] > 0)
    return df


def _blas_job(limited: bool, n: int) -> float:
    """Seconds for ``n`` event studies and Callaway-Sant'Anna fits, with the thread limit
    (``limited``) or without it (the undecorated functions)."""
    from hubsim.estimators import callaway_santanna, event_study

    def pick(f):
        return f if limited else f.__wrapped__

    df = _blas_panel()
    t0 = time.perf_counter()
    for s in range(n):
        pick(event_study)(df, "y", "region", "period", cohort="g", weights="n", seed=s)
        r = pick(callaway_santanna)(
            df, "y", "region", "period", cohort="cohort", control="not_yet_treated", seed=s
        )
        pick(type(r).overall)(r)
        pick(type(r).pretrend)(r)
    return time.perf_counter() - t0


def bench_blas_threads(repeat: int) -> None:
    from threadpoolctl import threadpool_info

    threads = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    n = 5
    for procs in (1, 2):
        # two processes at once is how the test tier, Dask workers and --workers 2 run them
        with ProcessPoolExecutor(procs, mp_context=mp.get_context("spawn")) as ex:
            list(ex.map(_blas_job, [True] * procs, [1] * procs))  # imports, first calls
            one, many = [], []
            for _ in range(repeat):
                one.append(max(ex.map(_blas_job, [True] * procs, [n] * procs)) / n)
                many.append(max(ex.map(_blas_job, [False] * procs, [n] * procs)) / n)
        print(
            f"event study + Callaway-Sant'Anna, 42 regions, {procs} process(es) at once: "
            f"one BLAS thread {min(one) * 1e3:.0f} ms; BLAS's default {threads} threads "
            f"[baseline] {min(many) * 1e3:.0f} ms; ratio {min(one) / min(many):.2f}x"
        )


def main(quick: bool = False) -> None:
    repeat = 3 if quick else 7
    bench_its(repeat)
    bench_waits(repeat)
    bench_blas_threads(repeat)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    main(ap.parse_args().quick)
