"""Tests of synthetic_control and its simplex least-squares solver."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from hubsim.estimators import synthetic_control
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.synth import simplex_least_squares


def long_frame(ymat: np.ndarray) -> pd.DataFrame:
    n_units, n_t = ymat.shape
    return pd.DataFrame(
        {
            "region": np.repeat(np.arange(n_units), n_t),
            "month": np.tile(np.arange(n_t), n_units),
            "y": ymat.ravel(),
        }
    )


def factor_panel(rng, n_donors=20, n_t=30, t0=20, effect=1.0, noise=0.3):
    """Unit 0 is treated; its loadings sit at the centre of symmetric donor loadings."""
    half = rng.normal(0, 1, (n_donors // 2, 2))
    load = np.vstack([[0.0, 0.0], half, -half])  # symmetric: no bias by construction
    factors = np.column_stack([np.ones(n_t), np.sin(np.arange(n_t) / 3)])
    y = load @ factors.T + 0.05 * np.arange(n_t) + rng.normal(0, noise, (len(load), n_t))
    y[0, t0:] += effect
    return y


@pytest.mark.oracle
def test_simplex_least_squares_is_optimal_and_beats_slsqp():
    rng = np.random.default_rng(0)
    for m, j in [(20, 30), (12, 5), (30, 40)]:
        a, b = rng.normal(size=(m, j)), rng.normal(size=m)
        w = simplex_least_squares(a, b)
        assert w.min() >= 0 and w.sum() == pytest.approx(1, abs=1e-12)
        ref = minimize(
            lambda v, a=a, b=b: np.sum((a @ v - b) ** 2),
            np.full(j, 1 / j),
            method="SLSQP",
            bounds=[(0, 1)] * j,
            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
            options={"ftol": 1e-15, "maxiter": 2000},
        )
        assert np.sum((a @ w - b) ** 2) <= ref.fun + 1e-9
        # Frank-Wolfe duality gap certifies optimality: f(w) - f* <= gap
        g = a.T @ (a @ w - b)
        assert g @ w - g.min() < 1e-9
        np.testing.assert_allclose(w, ref.x, atol=1e-5)


def test_exact_convex_combination_is_recovered():
    rng = np.random.default_rng(1)
    donors = rng.normal(0, 1, (6, 25)).cumsum(axis=1)
    true_w = np.array([0.5, 0.3, 0.2, 0, 0, 0])
    treated = true_w @ donors
    treated[18:] += 2.5
    res = synthetic_control(long_frame(np.vstack([treated, donors])), "y", "region", "month", 0, 18)
    w = res.weights.set_index("unit")["weight"].sort_index().to_numpy()
    np.testing.assert_allclose(w, true_w, atol=1e-8)
    assert res.estimate == pytest.approx(2.5, abs=1e-8)
    np.testing.assert_allclose(res.gaps.loc[res.gaps["post"] == 1, "gap"], 2.5, atol=1e-8)
    assert list(res.tidy().columns) == TIDY_COLUMNS


def test_placebo_p_value_and_interval_invert_the_same_test():
    rng = np.random.default_rng(2)
    y = factor_panel(rng, n_donors=24, effect=3.0)
    res = synthetic_control(long_frame(y), "y", "region", "month", 0, 20)
    plac = res.placebos
    assert len(plac) == 25 and plac["is_treated"].sum() == 1
    assert res.p_value == pytest.approx(1 / 25)  # a large effect ranks first
    assert res.rejects() and not res.covers(0.0) and res.covers(res.estimate)
    # p(d) > alpha exactly inside the interval: recompute the ratio test by hand
    ratios = plac.loc[~plac["is_treated"], "ratio"].to_numpy()
    gap = res.gaps.loc[res.gaps["post"] == 1, "gap"].to_numpy()
    pre = res.to_estimate().extra["pre_rmspe"]
    for d in np.linspace(res.estimate - 3, res.estimate + 3, 61):
        r = np.sqrt(np.mean((gap - d) ** 2)) / pre
        p = (1 + np.sum(ratios >= r)) / 25
        inside = res.ci_low <= d <= res.ci_high
        assert inside == (p > 0.05)


def test_few_donors_cannot_reject():
    y = factor_panel(np.random.default_rng(3), n_donors=10, effect=5.0)
    res = synthetic_control(long_frame(y), "y", "region", "month", 0, 20)
    assert res.p_value == pytest.approx(1 / 11)
    assert res.ci_low == -np.inf and res.ci_high == np.inf
    assert "no test at level" in res.to_estimate().inference_note


@pytest.mark.statistical
def test_unbiased_for_a_constant_effect():
    rng = np.random.default_rng(4)
    n_sims, effect = 300, 1.0
    est = np.array(
        [
            synthetic_control(
                long_frame(factor_panel(rng, effect=effect)), "y", "region", "month", 0, 20,
                placebo=False,
            ).estimate
            for _ in range(n_sims)
        ]
    )  # fmt: skip
    mcse = est.std(ddof=1) / np.sqrt(n_sims)
    assert abs(est.mean() - effect) < 4 * mcse


def test_bad_input():
    df = long_frame(factor_panel(np.random.default_rng(5)))
    with pytest.raises(ValueError, match="'outcome' is not in the data frame"):
        synthetic_control(df, "outcome", "region", "month", 0, 20)
    with pytest.raises(ValueError, match="treated unit 99 is not in column 'region'"):
        synthetic_control(df, "y", "region", "month", 99, 20)
    with pytest.raises(ValueError, match="treated unit 0 has no period before"):
        synthetic_control(df, "y", "region", "month", 0, 0)
    with pytest.raises(ValueError, match="donor pool in column 'region' is empty"):
        synthetic_control(df[df["region"] == 0], "y", "region", "month", 0, 20)
    holes = df.copy()
    holes.loc[4, "y"] = np.nan
    with pytest.raises(ValueError, match="first in column 'y'"):
        synthetic_control(holes, "y", "region", "month", 0, 20)
    with pytest.raises(ValueError, match="panel is unbalanced"):
        synthetic_control(df.drop(index=4), "y", "region", "month", 0, 20)
    with pytest.raises(ValueError, match="cannot be its own donor"):
        synthetic_control(df, "y", "region", "month", 0, 20, donors=[0, 1, 2])
