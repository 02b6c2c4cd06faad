"""Size and coverage of each inference under the null, with binomial MCSE bands.

Each test simulates a RegionalDesign with a FIXED seed, fits TWFE with several inferences
on the same data sets and compares rejection rates with the nominal 5% (or, for
randomization inference with K equally likely assignments, the attainable level
(ceil(0.05 K) - 1) / K) within 4 binomial Monte-Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hubsim.estimators import twfe
from hubsim.estimators.inference import choose_inference
from hubsim.regional import RegionalDesign

ALPHA = 0.05
K_MCSE = 4.0


def _mcse(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def _ri_level(n_assign: int) -> float:
    """Exact size of 'reject when p < alpha' with n_assign equally likely assignments."""
    return (math.ceil(ALPHA * n_assign) - 1) / n_assign


def _run(design: RegionalDesign, inferences, n_sims: int, seed: int, B: int = 999):
    rng = np.random.default_rng(seed)
    tau = design.estimand().att
    rej = {k: 0 for k in inferences}
    cover = {k: 0 for k in inferences}
    info: dict[str, set] = {k: set() for k in inferences}
    for s in range(n_sims):
        df = design.simulate(rng)
        for k in inferences:
            e = twfe(df, "y", "region", "period", "treated", inference=k, seed=s, B=B)
            rej[k] += e.p_value < ALPHA
            cover[k] += e.covers(tau)
            info[k].add((e.inference, e.extra.get("ri_n_perm")))
    return (
        {k: v / n_sims for k, v in rej.items()},
        {k: v / n_sims for k, v in cover.items()},
        info,
    )


def _nominal(info_k: set) -> float:
    ((method, n_perm),) = info_k  # one inference used throughout
    return _ri_level(n_perm) if method == "ri" and n_perm is not None and n_perm < 1000 else ALPHA


def _assert_in_band(rate: float, level: float, n: int, what: str) -> None:
    band = K_MCSE * _mcse(level, n)
    assert abs(rate - level) <= band, f"{what}: rate {rate:.4f} vs level {level:.4f} +- {band:.4f}"


@pytest.mark.statistical
def test_one_treated_region_of_40_cr1_over_rejects_auto_holds_size_and_coverage():
    n = 500
    design = RegionalDesign(
        n_regions=40,
        n_periods=10,
        n_treated=1,
        schedule=(6,),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    rate, cover, info = _run(design, ["cr1", "auto"], n, seed=101)
    assert rate["cr1"] > ALPHA + K_MCSE * _mcse(ALPHA, n), rate
    level = _nominal(info["auto"])
    _assert_in_band(rate["auto"], level, n, "auto")
    assert rate["auto"] <= ALPHA + K_MCSE * _mcse(ALPHA, n)
    _assert_in_band(1 - cover["auto"], level, n, "auto non-coverage")


@pytest.mark.statistical
def test_eight_regions_cr1_over_rejects_auto_holds_size_and_coverage():
    n = 400
    design = RegionalDesign(
        n_regions=8,
        n_periods=10,
        n_treated=2,
        schedule=(4, 7),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.1,
    )
    _rate, cover, info = _run(design, ["cr1", "auto"], n, seed=102)
    # coverage of the true effect is the size of the test of the true value
    assert 1 - cover["cr1"] > ALPHA + K_MCSE * _mcse(ALPHA, n), cover
    level = _nominal(info["auto"])
    _assert_in_band(1 - cover["auto"], level, n, "auto non-coverage")
    null_rate, _, info0 = _run(design.replace(effect=0.0), ["cr1", "auto"], n, seed=103)
    assert null_rate["cr1"] > ALPHA + K_MCSE * _mcse(ALPHA, n), null_rate
    _assert_in_band(null_rate["auto"], _nominal(info0["auto"]), n, "auto")


@pytest.mark.statistical
def test_fifty_regions_cr1_and_cr2_hold_size():
    n = 400
    design = RegionalDesign(
        n_regions=50,
        n_periods=8,
        n_treated=25,
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    rate, _cover, _info = _run(design, ["cr1", "cr2"], n, seed=104)
    for k in ("cr1", "cr2"):
        _assert_in_band(rate[k], ALPHA, n, k)


@pytest.mark.statistical
@pytest.mark.slow
def test_fifty_regions_every_inference_holds_size_and_auto_covers():
    n = 600
    design = RegionalDesign(
        n_regions=50,
        n_periods=8,
        n_treated=25,
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    rate, _, _info = _run(design, ["cr1", "cr2", "wild", "ri", "auto"], n, seed=105, B=399)
    for k in rate:
        _assert_in_band(rate[k], ALPHA, n, k)
    _, cover, _ = _run(design.replace(effect=0.2), ["auto"], n, seed=106)
    _assert_in_band(1 - cover["auto"], ALPHA, n, "auto non-coverage")


@pytest.mark.statistical
@pytest.mark.slow
def test_conley_taber_holds_size_with_three_treated_of_fifty():
    n = 800
    design = RegionalDesign(
        n_regions=50,
        n_periods=8,
        n_treated=3,
        schedule=(4, 5, 6),
        n_per_cell=200,
        icc=0.02,
        effect=0.0,
    )
    rate, _, _ = _run(design, ["conley_taber"], n, seed=107)
    _assert_in_band(rate["conley_taber"], ALPHA, n, "conley_taber")


@pytest.mark.statistical
@pytest.mark.slow
def test_eight_regions_half_treated_auto_holds_size():
    # 8 regions, 4 treated is read at the table's (G=6, 3 treated) row, where CR1 measured
    # 0.070: within alpha + 3 MCSE, so auto once took it, and it rejected above 5% here
    n = 1000
    design = RegionalDesign(
        n_regions=8,
        n_periods=10,
        n_treated=4,
        schedule=(4, 6, 8),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.0,
    )
    chosen = choose_inference(8, 4, 4, staggered=True).method
    assert chosen != "cr1"
    rate, _, info = _run(design, ["auto"], n, seed=108)
    assert {m for m, _ in info["auto"]} == {chosen}
    _assert_in_band(rate["auto"], _nominal(info["auto"]), n, f"auto ({chosen})")
