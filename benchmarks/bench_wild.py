"""Speed of the wild cluster restricted bootstrap (B=999) against wildboottest, same data.

Data: 42 regions x 24 months of region-period cell means (200 staff per cell), staggered
adoption in 21 regions, simulated by ``RegionalDesign``; several simulated data sets.

- "hubsim": ``twfe(..., inference="wild", B=999, wild_weights="rademacher")`` from the
  DataFrame: fit, CR1, bootstrap p-value and the test-inversion 95% CI;
- "wildboottest": statsmodels OLS with region and month dummies (design matrix built once per
  data set, outside the timing), then ``wildboottest(model, B=999, cluster=region,
  param="treated")`` for the p-value only (WCR-11, Rademacher). Its numba compilation is
  done before timing.

Prints simulated evaluations (fits with bootstrap) per second for each, the ratio, and the
mean absolute difference of the two p-values. Both draw Rademacher signs as
``integers(0, 2)`` from ``numpy.random.default_rng(seed)`` in (clusters x draws) order, so
with the same seed they use the same draws and the p-values agree exactly.

Run: ``/work/main/.venv/bin/python benchmarks/bench_wild.py [--quick]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from hubsim.estimators import twfe
from hubsim.regional import RegionalDesign


def main(quick: bool = False) -> None:
    n_sims = 10 if quick else 50
    design = RegionalDesign(
        n_regions=42,
        n_periods=24,
        n_treated=21,
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    rng = np.random.default_rng(2)
    data = [design.simulate(rng) for _ in range(n_sims)]
    print(f"{n_sims} data sets of 42 regions x 24 months ({len(data[0])} cells), B = 999")

    twfe(data[0], "y", "region", "period", "treated", inference="wild", seed=0)
    t0 = time.perf_counter()
    ours = [
        twfe(
            df,
            "y",
            "region",
            "period",
            "treated",
            inference="wild",
            B=999,
            wild_weights="rademacher",
            seed=s,
        ).p_value
        for s, df in enumerate(data)
    ]
    t_ours = time.perf_counter() - t0
    print(f"hubsim twfe wild (p + CI)      {n_sims / t_ours:8.1f} simulations/s")

    try:
        from wildboottest.wildboottest import wildboottest
    except ImportError:
        print("wildboottest is not installed: that baseline is skipped")
        return

    models = []
    for df in data:
        X = pd.get_dummies(df[["region", "period"]].astype(str), drop_first=True).astype(float)
        X.insert(0, "treated", df["treated"].astype(float))
        models.append((sm.OLS(df["y"], sm.add_constant(X)), df["region"].to_numpy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wildboottest(models[0][0], B=999, cluster=models[0][1], param="treated", seed=0, show=False)
        t0 = time.perf_counter()
        theirs = [
            float(
                wildboottest(m, B=999, cluster=cl, param="treated", seed=s, show=False)[
                    "p-value"
                ].iloc[0]
            )
            for s, (m, cl) in enumerate(models)
        ]
        t_theirs = time.perf_counter() - t0
    print(f"wildboottest (p only)          {n_sims / t_theirs:8.1f} simulations/s")
    print(f"speed-up vs wildboottest       {t_theirs / t_ours:8.1f}x")
    print(f"mean |p_hubsim - p_wildboottest| = {np.mean(np.abs(np.array(ours) - theirs)):.4f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer data sets")
    main(parser.parse_args().quick)
