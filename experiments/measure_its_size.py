"""Measure the true-null rejection rate of the ITS level change by inference method.

The table in the notes of ``hubsim.estimators.its``: single series of ``T`` periods with
stationary AR(1) errors (``rho``), no level or slope change, intervention at mid-series;
each row's 2,000 series are fitted with the default ``ar1_reml``, with ``newey_west``, and
with plain OLS (t with ``n - k`` df). MCSE of a rejection rate near 0.05: 0.005.

Run: ``python experiments/measure_its_size.py`` (about two minutes on one core).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from hubsim.estimators import its

ROWS = [(10, 0.0), (10, 0.6), (24, 0.3), (48, 0.0), (48, 0.3), (48, 0.6), (120, 0.3), (120, 0.6)]
N_SIMS = 2000


def ar1(rng, n, rho):
    e = np.empty(n)
    e[0] = rng.normal() / np.sqrt(1 - rho**2)
    for i in range(1, n):
        e[i] = rho * e[i - 1] + rng.normal()
    return e


def main():
    print(f"{'T':>4} {'rho':>4} {'ar1_reml':>9} {'newey_west':>11} {'ols':>6}")
    for n, rho in ROWS:
        rng = np.random.default_rng([n, int(rho * 10)])
        t = np.arange(n, dtype=float)
        t0 = n // 2
        post = (t >= t0).astype(float)
        x = np.column_stack([np.ones(n), t - t0, post, (t - t0) * post])
        hits = np.zeros(3)
        for _ in range(N_SIMS):
            df = pd.DataFrame({"month": t, "y": ar1(rng, n, rho)})
            hits[0] += its(df, "y", "month", t0).p_value < 0.05
            hits[1] += its(df, "y", "month", t0, inference="newey_west").p_value < 0.05
            hits[2] += sm.OLS(df["y"].to_numpy(), x).fit().pvalues[2] < 0.05
        r = hits / N_SIMS
        print(f"{n:>4} {rho:>4} {r[0]:>9.3f} {r[1]:>11.3f} {r[2]:>6.3f}", flush=True)


if __name__ == "__main__":
    main()
