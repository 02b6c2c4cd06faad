"""Scenario comparisons: common random numbers by default, paired t intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hubsim
from hubsim.experiment import compare_scenarios, paired_differences, vary

from .conftest import SITES


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config(SITES["d"])


def test_differently_named_configs_share_common_random_numbers(site_d):
    renamed = vary(site_d, {"name": "site_d_copy"})
    a = hubsim.simulate(site_d, horizon_days=120, seed=5)
    b = hubsim.simulate(renamed, horizon_days=120, seed=5)
    pd.testing.assert_frame_equal(a.clients, b.clients)


def test_comparing_a_config_with_itself_gives_exact_zeros(site_d):
    same = vary(site_d, {"name": "same_again"})
    cmp = compare_scenarios([site_d, same], horizon_days=90, replications=3, seed=2)
    d = cmp.differences.dropna(subset=["mean_difference"])
    assert len(d) > 0
    assert (d["mean_difference"] == 0).all()
    # a KPI estimable in fewer than two replications (a share past the follow-up) has no SE
    assert (d.loc[d["n_replications"] >= 2, "se"] == 0).all()
    assert d.loc[d["n_replications"] < 2, "se"].isna().all()


def test_paired_interval_equals_scipy_paired_t():
    rng = np.random.default_rng(0)
    base = rng.normal(10, 2, 12)
    scen = base + rng.normal(1, 0.5, 12)
    long = pd.DataFrame(
        {
            "scenario": ["a"] * 12 + ["b"] * 12,
            "replication": list(range(12)) * 2,
            "kpi": "wait",
            "value": np.concatenate([base, scen]),
        }
    )
    out = paired_differences(long, "a").iloc[0]
    ref = stats.ttest_rel(scen, base)
    ci = ref.confidence_interval(0.95)
    assert out["mean_difference"] == pytest.approx(np.mean(scen - base), abs=1e-12)
    assert out["p_value"] == pytest.approx(ref.pvalue, abs=1e-12)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_crn_pairing_narrows_the_interval(site_d):
    """Doubling demand: paired by replication, the SE of the wait difference is smaller
    than the SE two independent runs would give (the replications are positively
    correlated because they share clients)."""
    more = vary(site_d, {"simulation.demand.multiplier": 2.0}, name="double_demand")
    cmp = compare_scenarios(
        [site_d, more],
        horizon_days=180,
        replications=6,
        seed=11,
        kpis=["wait_to_first_assessment_mean_days"],
    )
    row = cmp.differences.iloc[0]
    wide = cmp.kpis.pivot(index="replication", columns="scenario", values="value")
    unpaired_se = np.sqrt(wide.var(ddof=1).sum() / len(wide))
    assert row["paired_correlation"] > 0
    assert row["se"] < unpaired_se


def test_bad_input(site_d):
    with pytest.raises(ValueError, match="at least two"):
        compare_scenarios([site_d])
    with pytest.raises(ValueError, match="unique"):
        compare_scenarios([site_d, site_d], replications=2)
    with pytest.raises(ValueError, match="unknown KPI 'nope'"):
        compare_scenarios(
            [site_d, vary(site_d, {"name": "x"})], horizon_days=20, replications=2, kpis=["nope"]
        )
