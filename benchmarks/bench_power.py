"""Speed of simulated power studies against named baselines, measured in one run.

1. 1,000 simulated evaluations of a 40-region x 10-period design with 200 staff per
   region-period, TWFE with CR1: hubsim's vectorised path (``twfe_cr1_batch``, as used by
   ``diagnose``) against a loop of pyfixest ``feols`` fits on the same simulated data
   (cell means weighted by n, CRV1 by region). The estimates and SEs are checked equal.
2. Wild cluster restricted bootstrap, B = 999 Rademacher draws, on 42 regions x 24
   months: hubsim's ``twfe(..., inference="wild")`` (which also inverts the test for a
   confidence interval) against a loop of ``wildboottest`` calls (p-value only) on the
   same data.

Baselines that are too slow to run 1,000 times are run on a subset and scaled linearly;
the script says so. Run: ``python benchmarks/bench_power.py [--n-sims 1000] [--subset 100]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
import warnings

import numpy as np

from hubsim.estimators.linear import twfe
from hubsim.power.diagnose import design_key, diagnose, twfe_cr1_batch
from hubsim.regional import RegionalDesign
from hubsim.rng import stream


def _frames(design: RegionalDesign, n: int, seed: int) -> list:
    key = design_key(design)
    return [design.simulate(stream(seed, key, s, "design")) for s in range(n)]


def bench_twfe_cr1(n_sims: int, subset: int) -> None:
    import pyfixest as pf

    design = RegionalDesign(n_regions=40, n_periods=10, n_treated=20, n_per_cell=200, effect=0.05)
    print(f"[1] TWFE + CR1, {design.describe()}, {n_sims} simulations")
    t = time.perf_counter()
    frames = _frames(design, n_sims, seed=1)
    t_sim = time.perf_counter() - t
    cells = frames[0]
    Y = np.column_stack([f["y"].to_numpy() for f in frames])

    t = time.perf_counter()
    fast = twfe_cr1_batch(cells, Y)
    t_fast = time.perf_counter() - t

    t = time.perf_counter()
    res = diagnose(design, ["twfe_cr1"], n_sims=n_sims, seed=1, progress=False)
    t_diag = time.perf_counter() - t
    assert np.allclose(res.simulations["estimate"], fast["estimate"], rtol=0, atol=1e-10)

    m = min(subset, n_sims)
    t = time.perf_counter()
    for f in frames[:m]:
        twfe(f, "y", "region", "period", "treated", weights="n", inference="cr1")
    t_general = (time.perf_counter() - t) * n_sims / m

    warnings.filterwarnings("ignore")
    pf.feols(
        "y ~ treated | region + period", data=frames[0], weights="n", vcov={"CRV1": "region"}
    )  # warm-up (imports, compilation)
    est, se = [], []
    t = time.perf_counter()
    for f in frames[:m]:
        fit = pf.feols(
            "y ~ treated | region + period", data=f, weights="n", vcov={"CRV1": "region"}
        )
        est.append(float(fit.coef()["treated"]))
        se.append(float(fit.se()["treated"]))
    t_pf = (time.perf_counter() - t) * n_sims / m
    d_est = np.max(np.abs(np.array(est) - fast["estimate"].to_numpy()[:m]))
    d_se = np.max(np.abs(np.array(se) - fast["se"].to_numpy()[:m]))

    scaled = f" (run on {m} and scaled to {n_sims})" if m < n_sims else ""
    print(f"  simulating the data (design.simulate x {n_sims}):      {t_sim:8.3f} s")
    print(f"  hubsim vectorised TWFE+CR1 (twfe_cr1_batch):           {t_fast:8.3f} s")
    print(f"  hubsim diagnose() end to end (simulate + fast path):   {t_diag:8.3f} s")
    print(f"  hubsim general path, loop of twfe(){scaled}: {t_general:8.3f} s")
    print(f"  pyfixest feols loop{scaled}:                 {t_pf:8.3f} s")
    print(f"  max |difference| vs pyfixest: estimate {d_est:.2e}, SE {d_se:.2e}")
    print(
        f"  RATIO pyfixest loop / hubsim vectorised estimation: {t_pf / t_fast:8.1f}x (target >= 20x)"
    )
    print(f"  ratio pyfixest loop / hubsim diagnose end to end:   {t_pf / t_diag:8.1f}x")


def bench_wild(n_sims: int, subset: int) -> None:
    import statsmodels.formula.api as smf
    from wildboottest.wildboottest import wildboottest

    design = RegionalDesign(n_regions=42, n_periods=24, n_treated=21, effect=0.0)
    print(f"\n[2] Wild cluster bootstrap B=999, {design.describe()}, {n_sims} simulations")
    frames = _frames(design, n_sims, seed=2)

    t = time.perf_counter()
    p_h = [
        twfe(f, "y", "region", "period", "treated", inference="wild", B=999, seed=s).p_value
        for s, f in enumerate(frames)
    ]
    t_h = time.perf_counter() - t

    m = min(subset, n_sims)
    with contextlib.redirect_stdout(io.StringIO()):
        wildboottest(
            smf.ols("y ~ treated + C(region) + C(period)", data=frames[0]),
            param="treated",
            cluster=frames[0]["region"],
            B=999,
            seed=0,
            weights_type="rademacher",
            impose_null=True,
            bootstrap_type="11",
            show=False,
        )  # warm-up
    p_w = []
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        for s, f in enumerate(frames[:m]):
            r = wildboottest(
                smf.ols("y ~ treated + C(region) + C(period)", data=f),
                param="treated",
                cluster=f["region"],
                B=999,
                seed=s,
                weights_type="rademacher",
                impose_null=True,
                bootstrap_type="11",
                show=False,
            )
            p_w.append(float(r["p-value"].iloc[0]))
    t_w = (time.perf_counter() - t) * n_sims / m
    diff = np.abs(np.array(p_w) - np.array(p_h[:m]))
    scaled = f" (run on {m} and scaled to {n_sims})" if m < n_sims else ""
    print(
        f"  hubsim twfe(inference='wild') loop, p-value and CI:  {t_h:8.3f} s "
        f"({n_sims / t_h:.0f} simulations/s)"
    )
    print(f"  wildboottest loop, p-value only{scaled}: {t_w:8.3f} s")
    print(
        f"  p-values under no effect, same seed per simulation: max |hubsim - wildboottest| "
        f"= {diff.max():.2e} over {m} fits"
    )
    print(f"  RATIO wildboottest loop / hubsim: {t_w / t_h:8.1f}x (target >= 10x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-sims", type=int, default=1000)
    ap.add_argument(
        "--subset",
        type=int,
        default=100,
        help="baseline fits actually run before scaling (default 100)",
    )
    ap.add_argument("--wild-n-sims", type=int, default=200)
    ap.add_argument("--wild-subset", type=int, default=10)
    a = ap.parse_args()
    bench_twfe_cr1(a.n_sims, a.subset)
    bench_wild(a.wild_n_sims, a.wild_subset)


if __name__ == "__main__":
    main()
