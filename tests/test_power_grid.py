"""Tests of hubsim.power.grid: power curves, minimum detectable effects, n_sims_for."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hubsim.power import analytic
from hubsim.power.diagnose import DIAGNOSAND_COLUMNS, EstimatorSpec
from hubsim.power.grid import minimum_detectable_effect, n_sims_for, power_curve
from hubsim.regional import RegionalDesign
from tests.test_power_diagnose import TwoArmDesign, cluster_t_test

BASE = RegionalDesign(n_regions=16, n_periods=6, n_treated=8, schedule=(3, 4), effect=0.0)


def test_power_curve_has_a_row_per_point_and_estimator():
    pc = power_curve(
        BASE, {"n_regions": [12, 16], "effect": [0.0, 0.2]}, ["twfe_cr1", "its"], n_sims=5, seed=1
    )
    assert list(pc.columns) == ["n_regions", "effect", "point", *DIAGNOSAND_COLUMNS]
    assert len(pc) == 2 * 2 * 2
    assert list(pc["n_regions"]) == [12, 12, 12, 12, 16, 16, 16, 16]
    assert list(pc["effect"]) == [0.0, 0.0, 0.2, 0.2] * 2
    assert (pc["n_sims"] == 5).all()


def test_power_curve_uses_common_random_numbers_across_points():
    # TWFE is linear in y and the effect is constant, so with the same random numbers at
    # every point the estimates move by exactly the change in effect and their SD is equal.
    pc = power_curve(BASE, {"effect": [0.0, 0.3]}, ["twfe_cr1"], n_sims=30, seed=2)
    a, b = pc.iloc[0], pc.iloc[1]
    assert b["mean_estimate"] - a["mean_estimate"] == pytest.approx(0.3, abs=1e-10)
    assert b["sd_estimate"] == pytest.approx(a["sd_estimate"], abs=1e-10)
    own = power_curve(
        BASE, {"effect": [0.0, 0.3]}, ["twfe_cr1"], n_sims=30, seed=2, common_random_numbers=False
    )
    assert abs(own.iloc[1]["sd_estimate"] - own.iloc[0]["sd_estimate"]) > 1e-6


def test_paired_vary_zips_fields():
    pc = power_curve(
        BASE,
        {"n_regions": [10, 20], "n_treated": [5, 10]},
        ["twfe_cr1"],
        n_sims=3,
        seed=1,
        paired=True,
    )
    assert list(zip(pc["n_regions"], pc["n_treated"], strict=True)) == [(10, 5), (20, 10)]
    with pytest.raises(ValueError, match="same length"):
        power_curve(
            BASE,
            {"n_regions": [10, 20], "n_treated": [5]},
            ["twfe_cr1"],
            n_sims=3,
            seed=1,
            paired=True,
        )


def test_a_bad_grid_point_is_refused_before_any_simulation(monkeypatch):
    calls = []
    real = RegionalDesign.simulate
    monkeypatch.setattr(
        RegionalDesign, "simulate", lambda self, rng: calls.append(1) or real(self, rng)
    )
    with pytest.raises(ValueError, match="n_treated must be between 1 and the number of regions"):
        power_curve(BASE, {"n_regions": [16, 6]}, ["twfe_cr1"], n_sims=5, seed=1)
    with pytest.raises(ValueError, match=r"icc must be in \[0, 1\)"):
        power_curve(BASE, {"icc": [0.0, 1.0]}, ["twfe_cr1"], n_sims=5, seed=1)
    with pytest.raises(ValueError, match="unknown estimator name"):
        power_curve(BASE, {"icc": [0.0]}, ["nope"], n_sims=5, seed=1)
    with pytest.raises(ValueError, match="non-empty mapping"):
        power_curve(BASE, {}, ["twfe_cr1"], n_sims=5, seed=1)
    assert calls == []


@pytest.mark.statistical
def test_simulated_mde_matches_the_closed_form():
    n_per_arm, n = 25, 1000
    theory = analytic.power_individual(n_per_arm=n_per_arm, power=0.8).effect
    res = minimum_detectable_effect(
        TwoArmDesign(k=n_per_arm, m=1),
        EstimatorSpec("t", cluster_t_test),
        power=0.8,
        n_sims=n,
        seed=4,
        max_evals=5,
    )
    assert res.method == "simulation"
    assert np.isfinite(res.mcse) and res.mcse > 0
    assert abs(res.effect - theory) < 4 * res.mcse
    # the normal approximation uses the simulated SD under no effect
    sd0 = res.points.loc[res.points["effect"] == 0, "sd_estimate"].iloc[0]
    assert res.normal_approximation == pytest.approx(2.8015852 * sd0, rel=1e-6)
    # every point's power comes with its binomial MCSE
    p = res.points["power"].to_numpy()
    assert np.allclose(res.points["power_mcse"], np.sqrt(p * (1 - p) / n))
    assert isinstance(res.summary(), str) and f"{res.effect:.4g}" in res.summary()
    assert (res.tidy()["estimator"] == "t").all() and len(res.tidy()) == len(res.points)
    # the long frame carries the headline the summary gives
    assert (res.tidy()["mde"] == res.effect).all() and (res.tidy()["mde_mcse"] == res.mcse).all()


def test_mde_normal_method_and_bad_input():
    d = TwoArmDesign(k=20, m=1)
    spec = EstimatorSpec("t", cluster_t_test)
    res = minimum_detectable_effect(d, spec, method="normal", n_sims=50, seed=1)
    assert res.effect == res.normal_approximation and len(res.points) == 1
    with pytest.raises(ValueError, match="power must be between alpha"):
        minimum_detectable_effect(d, spec, power=0.01, n_sims=50, seed=1)
    with pytest.raises(ValueError, match="method must be"):
        minimum_detectable_effect(d, spec, method="magic", n_sims=50, seed=1)
    with pytest.raises(ValueError, match="unknown estimator name"):
        minimum_detectable_effect(d, "nope", n_sims=50, seed=1)


def test_n_sims_for():
    assert n_sims_for(0.01) == 2500  # worst case p = 0.5
    assert n_sims_for(0.005, p=0.05) == math.ceil(0.05 * 0.95 / 0.005**2)
    assert n_sims_for(0.01, sd=0.2) == 400
    assert n_sims_for(0.5, p=0.0) == 2
    for bad, match in (
        (dict(mcse=0), "mcse must be a positive"),
        (dict(mcse=0.01, p=1.5), "p must be a proportion"),
        (dict(mcse=0.01, p=0.5, sd=1.0), "not both"),
        (dict(mcse=0.01, sd=-1.0), "sd must be a positive"),
    ):
        with pytest.raises(ValueError, match=match):
            n_sims_for(**bad)


@pytest.mark.statistical
def test_mde_of_an_oversized_test_is_size_adjusted_and_says_so():
    """CR1 with two treated regions of eight rejects a true null far above alpha: the MDE
    then counts power against the simulated null's critical p-value."""
    design = RegionalDesign(
        n_regions=8,
        n_periods=10,
        n_treated=2,
        schedule=(4, 7),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
    )
    res = minimum_detectable_effect(design, "twfe_cr1", n_sims=200, seed=5, max_evals=3)
    assert res.null_rejection > 0.05 + 3 * np.sqrt(0.05 * 0.95 / 200)
    assert res.size_adjusted and res.critical_p < 0.05
    null = res.points[res.points["effect"] == 0.0].iloc[0]
    assert null["power"] <= 0.05  # the adjusted test rejects at most alpha of the null
    assert "size-adjusted" in res.summary() and res.scale.startswith("standardised")
    ok = minimum_detectable_effect(
        RegionalDesign(n_regions=40, n_periods=8, n_treated=20, n_per_cell=200),
        "twfe_cr1",
        n_sims=100,
        seed=5,
        max_evals=2,
    )
    assert not ok.size_adjusted and ok.critical_p == 0.05


def test_mde_names_the_link_scale_of_a_binary_outcome():
    design = RegionalDesign(
        n_regions=30, n_periods=6, n_treated=15, schedule=(3,), outcome="binary", n_per_cell=300
    )
    res = minimum_detectable_effect(design, "twfe_cr1", n_sims=40, seed=2, max_evals=2)
    assert res.scale.startswith("log odds ratio")
    # the estimand at the MDE is a risk difference, below the log odds ratio
    if np.isfinite(res.effect):
        assert 0 < res.estimand_at_mde < res.effect
    assert "log odds ratio" in res.summary()
