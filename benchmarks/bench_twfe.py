"""Speed of ``hubsim.estimators.twfe`` with CR1 against named baselines measured in the same run.

Data: 40 regions x 10 periods x 200 staff per region-period (80,000 individual rows),
staggered adoption in half the regions, simulated by ``RegionalDesign``. Baselines, each fitting
``y ~ treated + region dummies + period dummies`` with CR1 standard errors clustered by region:

- "statsmodels (formula)": ``smf.ols("y ~ treated + C(region) + C(period)")`` with
  ``cov_type="cluster"``, as a user would write it;
- "statsmodels (dummy matrix)": ``sm.OLS`` on a prebuilt dummy matrix, fit only (its build
  time excluded);
- "pyfixest": ``feols("y ~ treated | region + period", vcov={"CRV1": "region"})``.

Prints seconds (best of the repeats), the estimates (they agree) and the speed ratios.
Targets: >= 10x faster than statsmodels, no slower than pyfixest.

Run: ``/work/main/.venv/bin/python benchmarks/bench_twfe.py [--quick]``
"""

from __future__ import annotations

import argparse
import timeit
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
import statsmodels.formula.api as smf

from hubsim.estimators import twfe
from hubsim.regional import RegionalDesign


def best(fun, repeat: int) -> float:
    return min(timeit.repeat(fun, number=1, repeat=repeat))


def main(quick: bool = False) -> None:
    repeat = 3 if quick else 7
    design = RegionalDesign(
        n_regions=40,
        n_periods=10,
        n_treated=20,
        n_per_cell=200,
        effect=0.2,
        icc=0.02,
        level="individual",
    )
    df = design.simulate(np.random.default_rng(1))
    print(f"data: {len(df)} rows, 40 regions x 10 periods x 200 staff; best of {repeat}")

    ours = twfe(df, "y", "region", "period", "treated", inference="cr1")
    t_ours = best(lambda: twfe(df, "y", "region", "period", "treated", inference="cr1"), repeat)

    def sm_formula():
        return smf.ols("y ~ treated + C(region) + C(period)", data=df).fit(
            cov_type="cluster", cov_kwds={"groups": df["region"]}
        )

    X = pd.get_dummies(df[["region", "period"]].astype(str), drop_first=True).astype(float)
    X.insert(0, "treated", df["treated"].astype(float))
    X = sm.add_constant(X)
    y = df["y"]

    def sm_matrix():
        return sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": df["region"]})

    r_form = sm_formula()
    t_form = best(sm_formula, max(2, repeat // 2))
    r_mat = sm_matrix()
    t_mat = best(sm_matrix, repeat)

    timings = {
        "hubsim twfe": t_ours,
        "statsmodels (formula)": t_form,
        "statsmodels (dummy matrix)": t_mat,
    }
    estimates = {
        "hubsim twfe": (ours.estimate, ours.se),
        "statsmodels (formula)": (r_form.params["treated"], r_form.bse["treated"]),
        "statsmodels (dummy matrix)": (r_mat.params["treated"], r_mat.bse["treated"]),
    }
    try:
        import pyfixest as pf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")

            def fixest():
                return pf.feols("y ~ treated | region + period", df, vcov={"CRV1": "region"})

            r_pf = fixest()
            timings["pyfixest"] = best(fixest, repeat)
        estimates["pyfixest"] = (r_pf.coef()["treated"], r_pf.se()["treated"])
    except ImportError:
        print("pyfixest is not installed: that baseline is skipped")

    for name, t in timings.items():
        est, se = estimates[name]
        print(f"{name:28s} {t * 1000:9.1f} ms   estimate {est:.10f}  SE {se:.10f}")
    for name, t in timings.items():
        if name != "hubsim twfe":
            print(f"speed-up vs {name:26s} {t / t_ours:7.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    main(parser.parse_args().quick)
