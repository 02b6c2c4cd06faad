"""Speed of the wild cluster restricted bootstrap (B = 999) batched across simulations.

Data: 42 regions x 48 months of region-month cell means (help-seeker cohorts, so cells
differ in size), staggered adoption in 21 regions, simulated by ``RegionalDesign``.

Three ways to get the WCR-11 p-value (Rademacher weights, B = 999) of the TWFE effect for
each simulated data set, all on one core (BLAS limited to one thread) and timed in the
same run:

- "batched": :func:`hubsim.power.twfe_batch` with ``inference="wild"``, which
  ``diagnose`` uses: the layout's projection and restricted score maps once, then one
  batched product per simulation; p-value and the test-inversion 95% CI;
- "per-fit": ``twfe(..., inference="wild", seed=s)`` on each data frame (p-value and CI),
  the path a user's single fit takes;
- "wildboottest": statsmodels OLS with region and month dummies (built once per data set,
  outside the timing), then ``wildboottest(model, B=999, cluster=region)``, p-value only,
  its numba compilation done before timing.

Prints simulated evaluations per second for each, the ratios, and checks that the batched
and per-fit p-values are identical (same seeds, same draws) and the limits agree. The
target is >= 500 simulated evaluations per second for the batched path.

Run: ``.venv/bin/python benchmarks/bench_wild.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from threadpoolctl import threadpool_limits

from hubsim.estimators import twfe
from hubsim.power import twfe_batch
from hubsim.regional import RegionalDesign


def main(quick: bool = False) -> None:
    n_batch = 200 if quick else 1000
    n_fit = 20 if quick else 60
    n_wbt = 5 if quick else 15
    design = RegionalDesign(
        n_regions=42,
        n_periods=48,
        n_treated=21,
        population_kind="help_seeker_cohort",
        icc=0.02,
        period_sd=0.05,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    cells, Y = design.simulate_many(np.random.default_rng(2), n_batch)
    seeds = [1000 + s for s in range(n_batch)]
    print(
        f"42 regions x 48 months ({len(cells)} cells), B = 999 Rademacher, one BLAS thread; "
        f"{n_batch} simulations batched, {n_fit} fitted one by one, {n_wbt} by wildboottest"
    )
    with threadpool_limits(1, "blas"):
        twfe_batch(cells, Y[:, :5], seeds[:5], inference="wild")  # warm-up
        t0 = time.perf_counter()
        batch = twfe_batch(cells, Y, seeds, inference="wild")
        t_batch = time.perf_counter() - t0
        frames = [cells.assign(y=Y[:, s]) for s in range(n_fit)]
        twfe(frames[0], "y", "region", "period", "treated", weights="n", inference="wild", seed=1)
        t0 = time.perf_counter()
        fits = [
            twfe(
                df,
                "y",
                "region",
                "period",
                "treated",
                weights="n",
                inference="wild",
                B=999,
                wild_weights="rademacher",
                seed=seeds[s],
            )
            for s, df in enumerate(frames)
        ]
        t_fit = time.perf_counter() - t0
    rate_batch = n_batch / t_batch
    rate_fit = n_fit / t_fit
    p_fit = np.array([f.p_value for f in fits])
    same_p = np.array_equal(p_fit, batch["p_value"].to_numpy()[:n_fit])
    lim = max(
        np.max(np.abs(np.array([f.ci_low for f in fits]) - batch["ci_low"].to_numpy()[:n_fit])),
        np.max(np.abs(np.array([f.ci_high for f in fits]) - batch["ci_high"].to_numpy()[:n_fit])),
    )
    print(f"batched (p + CI)          {rate_batch:8.1f} simulations/s")
    print(f"per-fit twfe (p + CI)     {rate_fit:8.1f} simulations/s")
    print(f"batched / per-fit         {rate_batch / rate_fit:8.1f}x")
    print(f"identical p-values: {same_p}; largest difference of the limits {lim:.2e}")
    print(f"target >= 500 simulations/s: {'met' if rate_batch >= 500 else 'NOT met'}")
    try:
        from wildboottest.wildboottest import wildboottest
    except ImportError:
        print("wildboottest is not installed: that baseline is skipped")
        return
    models = []
    for s in range(n_wbt):
        df = frames[s] if s < n_fit else cells.assign(y=Y[:, s])
        X = pd.get_dummies(df[["region", "period"]].astype(str), drop_first=True).astype(float)
        X.insert(0, "treated", df["treated"].astype(float))
        w = np.sqrt(df["n"].to_numpy(dtype=float))
        Xw = sm.add_constant(X).mul(w, axis=0)
        models.append((sm.OLS(df["y"] * w, Xw), df["region"].to_numpy()))
    with warnings.catch_warnings(), threadpool_limits(1, "blas"):
        warnings.simplefilter("ignore")
        wildboottest(models[0][0], B=999, cluster=models[0][1], param="treated", seed=0, show=False)
        t0 = time.perf_counter()
        for s, (m, cl) in enumerate(models):
            wildboottest(m, B=999, cluster=cl, param="treated", seed=s, show=False)
        t_wbt = time.perf_counter() - t0
    rate_wbt = n_wbt / t_wbt
    print(f"wildboottest (p only)     {rate_wbt:8.1f} simulations/s")
    print(f"batched / wildboottest    {rate_batch / rate_wbt:8.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer data sets")
    main(parser.parse_args().quick)
