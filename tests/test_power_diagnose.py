"""Tests of hubsim.power.diagnose: diagnosands, MCSEs, seeds, workers, fast path, refusals.

Statistical tests use fixed seeds and tolerances of 4 Monte-Carlo standard errors computed
from the simulations (binomial for rejection rates). The closed-form comparisons use small
self-contained designs below whose test statistic has exactly the distribution the
formulas in hubsim.power.analytic assume.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubsim.estimators import Estimate, its
from hubsim.power import analytic
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    DIAGNOSANDS,
    SIMULATION_COLUMNS,
    EstimatorSpec,
    diagnosands_from,
    diagnose,
    resolve_estimators,
    twfe_cr1_batch,
)
from hubsim.regional import DynamicEffect, HeterogeneousEffect, RegionalDesign
from hubsim.rng import stream

# the module itself (hubsim.power re-exports the function of the same name)
dg = importlib.import_module("hubsim.power.diagnose")

# ---------------------------------------------------------------------------------------
# Self-contained designs with closed-form power (module level, so worker processes can
# unpickle them)
# ---------------------------------------------------------------------------------------


def _t_estimate(diff: float, se: float, df: float, alpha: float) -> Estimate:
    t = diff / se
    q = stats.t.ppf(1 - alpha / 2, df)
    return Estimate(
        estimate=diff,
        se=se,
        ci_low=diff - q * se,
        ci_high=diff + q * se,
        p_value=float(2 * stats.t.sf(abs(t), df)),
        n_obs=0,
        n_clusters=0,
        method="t_test",
        inference="t",
        df=df,
        alpha=alpha,
    )


@dataclass(frozen=True)
class TwoArmDesign:
    """Individuals (clusters of size 1) or clusters of m, k per arm, with a cluster effect."""

    k: int = 30
    m: int = 1
    icc: float = 0.0
    effect: float = 0.0
    sd: float = 1.0
    label: str = "two_arm"

    def simulate(self, rng: np.random.Generator) -> pd.DataFrame:
        G = 2 * self.k
        arm = np.repeat([0, 1], self.k)
        u = rng.standard_normal(G) * math.sqrt(self.icc) * self.sd
        e = rng.standard_normal((G, self.m)) * math.sqrt(1 - self.icc) * self.sd
        y = (u + self.effect * arm)[:, None] + e
        return pd.DataFrame(
            {
                "cluster": np.repeat(np.arange(G), self.m),
                "arm": np.repeat(arm, self.m),
                "y": y.ravel(),
            }
        )

    def estimand(self) -> dict:
        return {"att": self.effect}

    def replace(self, **changes) -> TwoArmDesign:
        return replace(self, **changes)


def _pooled_t(a: np.ndarray, b: np.ndarray, alpha: float) -> Estimate:
    """Pooled-variance two-sample t-test of mean(a) - mean(b)."""
    na, nb = len(a), len(b)
    sp2 = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / (na + nb - 2)
    se = math.sqrt(sp2 * (1 / na + 1 / nb))
    return _t_estimate(float(a.mean() - b.mean()), se, na + nb - 2, alpha)


def cluster_t_test(df: pd.DataFrame, alpha: float = 0.05) -> Estimate:
    """Pooled two-sample t-test on cluster means (df = clusters - 2)."""
    cl = df["cluster"].to_numpy()
    means = np.bincount(cl, df["y"].to_numpy()) / np.bincount(cl)
    arm = np.bincount(cl, df["arm"].to_numpy()) / np.bincount(cl)
    return _pooled_t(means[arm == 1], means[arm == 0], alpha)


@dataclass(frozen=True)
class DiDDesign:
    """Two-period cluster DiD, k clusters per arm, m new subjects per cluster and period.

    Cluster means are correlated rho_c between periods (cross-sectional sampling,
    subject correlation 0), as in clusterPower's cpa.did.normal.
    """

    k: int = 10
    m: int = 30
    icc: float = 0.05
    rho_c: float = 0.5
    effect: float = 0.0
    label: str = "did"

    def simulate(self, rng: np.random.Generator) -> pd.DataFrame:
        G = 2 * self.k
        arm = np.repeat([0, 1], self.k)
        sb = math.sqrt(self.icc)
        z0, z1 = rng.standard_normal(G), rng.standard_normal(G)
        b_pre = sb * z0
        b_post = sb * (self.rho_c * z0 + math.sqrt(1 - self.rho_c**2) * z1)
        sw = math.sqrt(1 - self.icc)
        e = rng.standard_normal((G, 2, self.m)) * sw
        y = np.stack([b_pre, b_post + self.effect * arm], axis=1)[:, :, None] + e
        return pd.DataFrame(
            {
                "cluster": np.repeat(np.arange(G), 2 * self.m),
                "arm": np.repeat(arm, 2 * self.m),
                "post": np.tile(np.repeat([0, 1], self.m), G),
                "y": y.ravel(),
            }
        )

    def estimand(self) -> dict:
        return {"att": self.effect}

    def replace(self, **changes) -> DiDDesign:
        return replace(self, **changes)


def did_t_test(df: pd.DataFrame, alpha: float = 0.05) -> Estimate:
    """t-test between arms of cluster-mean changes (df = clusters - 2)."""
    cl, post = df["cluster"].to_numpy(), df["post"].to_numpy()
    y = df["y"].to_numpy()
    G = int(cl.max()) + 1
    m1 = np.bincount(cl, y * post, minlength=G) / np.bincount(cl, post, minlength=G)
    m0 = np.bincount(cl, y * (1 - post), minlength=G) / np.bincount(cl, 1 - post, minlength=G)
    arm = np.bincount(cl, df["arm"].to_numpy(), minlength=G) > 0
    change = m1 - m0
    return _pooled_t(change[arm], change[~arm], alpha)


def planted(df: pd.DataFrame, offset: float = 0.25) -> Estimate:
    """A fake estimator: the true ATT of the data plus ``offset``, CI offset +- 0.05."""
    att = float(df.loc[df["treated"] == 1, "true_effect"].mean())
    e = att + offset
    return Estimate(e, 0.01, e - 0.05, e + 0.05, 0.001, len(df), 0, "planted", "none")


def flaky(df: pd.DataFrame, seed: int = 0) -> Estimate:
    """Raises on half of the seeds (decided by the seed it is given)."""
    if seed % 2:
        raise RuntimeError("simulated convergence failure")
    return Estimate(1.0, 0.1, 0.8, 1.2, 0.01, len(df), 0, "flaky", "none")


def pid_recorder(df: pd.DataFrame, folder: str = "") -> Estimate:
    """Returns a constant, and records which process ran it (by creating a file)."""
    with open(os.path.join(folder, f"pid-{os.getpid()}"), "a") as fh:
        fh.write(".")
    time.sleep(0.003)  # a chunk lasts long enough for the second worker to take the next
    return Estimate(float(df["y"].mean()), 1.0, -1.0, 1.0, 0.5, len(df), 0, "pid", "none")


def _binomial_band(p: float, n: int, k: float = 4.0) -> float:
    return k * math.sqrt(p * (1 - p) / n)


STAGGERED = RegionalDesign(n_regions=24, n_periods=8, n_treated=16, schedule=(3, 5, 7), effect=0.0)

# ---------------------------------------------------------------------------------------
# Structure of the results
# ---------------------------------------------------------------------------------------


def test_result_frames_have_declared_columns_and_one_row_per_estimator():
    res = diagnose(STAGGERED.replace(effect=0.2), ["twfe_cr1", "its"], n_sims=6, seed=3)
    assert list(res.diagnosands.columns) == DIAGNOSAND_COLUMNS
    assert list(res.diagnosands["estimator"]) == ["twfe_cr1", "its"]
    assert list(res.simulations.columns) == SIMULATION_COLUMNS
    assert len(res.simulations) == 12
    assert (res.diagnosands["n_sims"] == 6).all()
    tidy = res.tidy()
    assert len(tidy) == 2 * len(DIAGNOSANDS)
    assert set(tidy["diagnosand"]) == set(DIAGNOSANDS)
    # the long frame carries the wide one's values and MCSEs
    wide = res.diagnosands.set_index("estimator")
    for r in tidy.itertuples(index=False):
        np.testing.assert_equal(r.estimate, wide.loc[r.estimator, r.diagnosand])
        np.testing.assert_equal(r.mcse, wide.loc[r.estimator, f"{r.diagnosand}_mcse"])
    assert isinstance(res.summary(), str)


def test_diagnosands_follow_their_definitions_and_mcse_formulas():
    rng = np.random.default_rng(11)
    n = 400
    est = 1.0 + rng.standard_normal(n) * 0.3
    p = rng.random(n)
    sims = pd.DataFrame(
        {
            "sim": np.arange(n),
            "estimator": "e",
            "estimand": 1.0,
            "estimate": est,
            "se": 0.3,
            "ci_low": est - 0.6,
            "ci_high": est + 0.6,
            "p_value": p,
            "error": "",
        }
    )
    d = diagnosands_from(sims, alpha=0.1).iloc[0]
    err = est - 1.0
    assert d["bias"] == pytest.approx(err.mean(), abs=1e-14)
    assert d["bias_mcse"] == pytest.approx(err.std(ddof=1) / math.sqrt(n), rel=1e-12)
    assert d["rmse"] == pytest.approx(math.sqrt(np.mean(err**2)), rel=1e-12)
    pw = np.mean(p < 0.1)
    assert d["power"] == pytest.approx(pw, abs=1e-15)
    assert d["power_mcse"] == pytest.approx(math.sqrt(pw * (1 - pw) / n), rel=1e-12)
    cov = np.mean((est - 0.6 <= 1.0) & (1.0 <= est + 0.6))
    assert d["coverage"] == pytest.approx(cov, abs=1e-15)
    sig = p < 0.1
    assert d["type_s_rate"] == pytest.approx(np.mean(est[sig] < 0), abs=1e-15)
    assert d["exaggeration_ratio"] == pytest.approx(np.mean(np.abs(est[sig])), rel=1e-12)
    assert d["mean_ci_width"] == pytest.approx(1.2, rel=1e-12)
    # delta-method MCSE of the SD is s / sqrt(2(n-1)) for normal data, up to the kurtosis
    # estimate's own error: compare with the exact formula on these values
    s = est.std(ddof=1)
    m4 = np.mean((est - est.mean()) ** 4)
    assert d["sd_estimate_mcse"] == pytest.approx(
        math.sqrt((m4 - s**4) / (4 * n * s**2)), rel=1e-12
    )
    assert np.isfinite(d["exaggeration_ratio_mcse"]) and d["exaggeration_ratio_mcse"] > 0
    assert d["failure_rate"] == 0.0


def test_bias_and_coverage_are_computed_against_the_design_estimand():
    # heterogeneous region effects: the ATT is a non-trivial number fixed by the design
    design = RegionalDesign(
        n_regions=12,
        n_periods=6,
        n_treated=6,
        schedule=(4,),
        effect=HeterogeneousEffect(mean=0.3, sd=0.2, seed=5),
    )
    att = design.estimand().att
    spec = EstimatorSpec("planted", planted, {"offset": 0.25})
    res = diagnose(design, [spec], n_sims=5, seed=1)
    d = res.diagnosands.iloc[0]
    assert (res.simulations["estimand"] == att).all()
    assert d["mean_estimand"] == pytest.approx(att, abs=1e-12)
    assert d["bias"] == pytest.approx(0.25, abs=1e-12)
    assert d["coverage"] == 0.0  # the CI (att+0.2, att+0.3) never holds att
    spec0 = EstimatorSpec("planted0", planted, {"offset": 0.0})
    assert diagnose(design, [spec0], n_sims=5, seed=1).diagnosands["coverage"].iloc[0] == 1.0


def first_cohort_att(design_estimand, df: pd.DataFrame) -> float:
    """A custom estimand: the mean true effect of the earliest cohort's exposed cells."""
    g = df.loc[df["cohort"] > 0, "cohort"].min()
    sel = (df["cohort"] == g) & (df["treated"] == 1)
    return float(df.loc[sel, "true_effect"].mean())


def test_estimand_by_name_or_callable():
    design = RegionalDesign(
        n_regions=12,
        n_periods=8,
        n_treated=6,
        schedule=(3, 6),
        effect=DynamicEffect(profile=(0.1, 0.2, 0.3)),
    )
    est = design.estimand()
    specs = [
        EstimatorSpec("by_name", planted, {"offset": 0.0}, estimand="att_n_weighted"),
        EstimatorSpec("dynamic", planted, {"offset": 0.0}, estimand="e+1"),
        EstimatorSpec("custom", planted, {"offset": 0.0}, estimand=first_cohort_att),
    ]
    sims = diagnose(design, specs, n_sims=3, seed=1).simulations.groupby("estimator")["estimand"]
    assert (sims.get_group("by_name") == est.att_n_weighted).all()
    assert (sims.get_group("dynamic") == 0.2).all()
    # cohort 3 is exposed for 6 periods: (0.1 + 0.2 + 4 * 0.3) / 6
    assert sims.get_group("custom").to_numpy() == pytest.approx([1.5 / 6] * 3, abs=1e-12)
    with pytest.raises(ValueError, match="no value named 'nope'"):
        diagnose(design, [EstimatorSpec("x", planted, estimand="nope")], n_sims=2, seed=1)


@pytest.mark.statistical
def test_twfe_unbiased_and_covers_with_single_adoption_date():
    design = RegionalDesign(
        n_regions=30,
        n_periods=6,
        n_treated=15,
        schedule=(4,),
        effect=HeterogeneousEffect(mean=0.2, sd=0.1, seed=2),
        icc=0.05,
    )
    res = diagnose(design, ["twfe_cr1"], n_sims=800, seed=7)
    d = res.diagnosands.iloc[0]
    assert d["mean_estimand"] == pytest.approx(design.estimand().att, abs=1e-12)
    assert abs(d["bias"]) < 4 * d["bias_mcse"]
    # Coverage of the region-level (super-population) CR1 interval is checked with a
    # constant effect: with fixed heterogeneous region effects CR1 also counts the effect
    # spread as noise, so it over-covers the fixed-sample ATT (a property, not a bug).
    const = diagnose(design.replace(effect=0.2), ["twfe_cr1"], n_sims=800, seed=7)
    assert abs(const.diagnosands["coverage"].iloc[0] - 0.95) < _binomial_band(0.95, 800)


@pytest.mark.statistical
def test_power_equals_size_under_no_effect():
    n = 1500
    res = diagnose(
        RegionalDesign(n_regions=30, n_periods=6, n_treated=15, schedule=(3, 4)),
        ["twfe_cr1"],
        n_sims=n,
        seed=2024,
    )
    size = res.diagnosands["power"].iloc[0]
    assert abs(size - 0.05) < _binomial_band(0.05, n)
    # the individually randomised closed form under the null, too
    spec = EstimatorSpec("t", cluster_t_test)
    res = diagnose(TwoArmDesign(k=20, m=1), [spec], n_sims=n, seed=5)
    assert abs(res.diagnosands["power"].iloc[0] - 0.05) < _binomial_band(0.05, n)


# ---------------------------------------------------------------------------------------
# Against closed-form power
# ---------------------------------------------------------------------------------------


@pytest.mark.statistical
def test_simulated_power_matches_power_individual():
    n = 2000
    theory = analytic.power_individual(effect=0.6, n_per_arm=30).power
    res = diagnose(
        TwoArmDesign(k=30, m=1, effect=0.6), [EstimatorSpec("t", cluster_t_test)], n_sims=n, seed=31
    )
    assert abs(res.diagnosands["power"].iloc[0] - theory) < _binomial_band(theory, n)


@pytest.mark.statistical
def test_simulated_power_matches_power_cluster():
    n = 2000
    theory = analytic.power_cluster(effect=0.45, n_clusters=8, cluster_size=20, icc=0.1).power
    res = diagnose(
        TwoArmDesign(k=8, m=20, icc=0.1, effect=0.45),
        [EstimatorSpec("t", cluster_t_test)],
        n_sims=n,
        seed=32,
    )
    assert 0.3 < theory < 0.9  # a point where a wrong formula would show
    assert abs(res.diagnosands["power"].iloc[0] - theory) < _binomial_band(theory, n)


@pytest.mark.statistical
def test_simulated_power_matches_power_cluster_did():
    n = 2000
    theory = analytic.power_cluster_did(
        effect=0.3, n_clusters=10, cluster_size=30, icc=0.05, rho_c=0.5, rho_s=0.0
    ).power
    res = diagnose(
        DiDDesign(k=10, m=30, icc=0.05, rho_c=0.5, effect=0.3),
        [EstimatorSpec("did", did_t_test)],
        n_sims=n,
        seed=33,
    )
    assert 0.3 < theory < 0.9
    assert abs(res.diagnosands["power"].iloc[0] - theory) < _binomial_band(theory, n)


# ---------------------------------------------------------------------------------------
# Staggered dynamic effects: TWFE biased, Callaway-Sant'Anna not
# ---------------------------------------------------------------------------------------


@pytest.mark.statistical
def test_twfe_biased_under_staggered_dynamic_effects_callaway_santanna_not():
    design = RegionalDesign(
        n_regions=30,
        n_periods=10,
        n_treated=24,
        schedule=(3, 5, 7),
        icc=0.05,
        n_per_cell=100,
        effect=DynamicEffect(profile=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0)),
    )
    res = diagnose(design, ["twfe_cr1", "callaway_santanna"], n_sims=150, seed=99)
    tw = res.diagnosands.set_index("estimator").loc["twfe_cr1"]
    cs = res.diagnosands.set_index("estimator").loc["callaway_santanna"]
    assert tw["mean_estimand"] == pytest.approx(design.estimand().att, abs=1e-12)
    assert abs(tw["bias"]) > 4 * tw["bias_mcse"]
    assert abs(cs["bias"]) < 4 * cs["bias_mcse"]
    assert cs["failure_rate"] == 0.0


# ---------------------------------------------------------------------------------------
# Seeds, workers, failures, recomputation
# ---------------------------------------------------------------------------------------


def test_each_simulation_uses_its_named_stream():
    res = diagnose(STAGGERED, ["twfe_cr1"], n_sims=3, seed=8, keep_simulations=True)
    for s in range(3):
        expect = STAGGERED.simulate(stream(8, res.key, s, "design"))
        pd.testing.assert_frame_equal(res.data[s], expect)


def test_serial_and_two_workers_identical_and_really_parallel(tmp_path):
    wild = EstimatorSpec("twfe_wild99", dg.twfe, dict(inference="wild", B=99))
    specs = ["twfe_cr1", wild, "its", EstimatorSpec("pid", pid_recorder, {"folder": str(tmp_path)})]
    # twfe_cr1 takes the fast path, the others the general one; both must be identical
    design = STAGGERED.replace(effect=0.1)
    n = 2 * dg.CHUNK + 7  # several chunks, uneven
    one = diagnose(design, specs, n_sims=n, seed=5, workers=1)
    serial_pids = {p.name for p in tmp_path.iterdir()}
    assert serial_pids == {f"pid-{os.getpid()}"}
    for p in tmp_path.iterdir():
        p.unlink()
    two = diagnose(design, specs, n_sims=n, seed=5, workers=2)
    worker_pids = {p.name for p in tmp_path.iterdir()}
    assert len(worker_pids) == 2 and f"pid-{os.getpid()}" not in worker_pids
    pd.testing.assert_frame_equal(one.simulations, two.simulations, check_exact=True)
    pd.testing.assert_frame_equal(one.diagnosands, two.diagnosands, check_exact=True)


def test_failures_are_counted_not_fatal():
    res = diagnose(STAGGERED, [EstimatorSpec("flaky", flaky), "twfe_cr1"], n_sims=40, seed=1)
    sims = res.simulations[res.simulations["estimator"] == "flaky"]
    failed = (sims["error"] != "").to_numpy()
    d = res.diagnosands.set_index("estimator").loc["flaky"]
    assert 0 < failed.sum() < 40
    assert d["failure_rate"] == pytest.approx(failed.mean(), abs=1e-15)
    assert d["n_ok"] == 40 - failed.sum()
    assert sims.loc[failed, "error"].str.contains("simulated convergence failure").all()
    assert d["mean_estimate"] == 1.0  # computed over the successful fits only
    assert res.diagnosands.set_index("estimator").loc["twfe_cr1", "failure_rate"] == 0.0


def test_recompute_changes_alpha_without_resimulating():
    res = diagnose(STAGGERED.replace(effect=0.05), ["twfe_cr1"], n_sims=60, seed=4)
    again = res.recompute()
    pd.testing.assert_frame_equal(again.diagnosands, res.diagnosands)
    loose = res.recompute(alpha=0.3)
    p = res.simulations["p_value"].to_numpy()
    assert loose.diagnosands["power"].iloc[0] == pytest.approx(np.mean(p < 0.3), abs=1e-15)
    assert loose.diagnosands["alpha"].iloc[0] == 0.3
    assert loose.diagnosands["bias"].iloc[0] == res.diagnosands["bias"].iloc[0]
    with pytest.raises(ValueError, match="alpha"):
        res.recompute(alpha=1.5)


# ---------------------------------------------------------------------------------------
# Fast path
# ---------------------------------------------------------------------------------------


def test_fast_and_general_paths_agree_to_1e10(monkeypatch):
    calls = []
    real = dg.twfe_cr1_batch

    def spy(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(dg, "twfe_cr1_batch", spy)
    closures = (6, None, 7, None) + (None,) * 16
    design = RegionalDesign(
        n_regions=20,
        n_periods=9,
        n_treated=12,
        schedule=(3, 5),
        closures=closures,
        population_kind="help_seeker_cohort",
        effect=0.1,
        period_sd=0.1,
        ar_rho=0.4,
        ar_sd=0.1,
    )
    fast = diagnose(design, ["twfe_cr1"], n_sims=70, seed=12, fast=True)
    assert calls, "the fast path was not used"
    n_calls = len(calls)
    general = diagnose(design, ["twfe_cr1"], n_sims=70, seed=12, fast=False)
    assert len(calls) == n_calls
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        diff = np.abs(fast.simulations[c].to_numpy() - general.simulations[c].to_numpy())
        assert diff.max() <= 1e-10, c


def test_twfe_cr1_batch_equals_twfe_on_each_column():
    from hubsim.estimators.linear import twfe

    design = RegionalDesign(
        n_regions=14,
        n_periods=7,
        n_treated=8,
        schedule=(3, 4, 6),
        population_kind="service_waits",
        effect=0.2,
    )
    cells, Y = design.simulate_many(3, 6)
    batch = twfe_cr1_batch(cells, Y, alpha=0.1)
    for s in range(6):
        e = twfe(
            cells.assign(y=Y[:, s]),
            "y",
            "region",
            "period",
            "treated",
            weights="n",
            inference="cr1",
            alpha=0.1,
        )
        got = batch.iloc[s]
        for a, b in (
            (got["estimate"], e.estimate),
            (got["se"], e.se),
            (got["p_value"], e.p_value),
            (got["ci_low"], e.ci_low),
            (got["ci_high"], e.ci_high),
        ):
            assert abs(a - b) <= 1e-10


# ---------------------------------------------------------------------------------------
# Refusals, before any simulation
# ---------------------------------------------------------------------------------------


class SpyDesign:
    """Counts simulate() calls."""

    def __init__(self):
        self.calls = 0

    def simulate(self, rng):
        self.calls += 1
        return STAGGERED.simulate(rng)

    def estimand(self):
        return STAGGERED.estimand()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(alpha=0.0), "alpha must be a number strictly between 0 and 1"),
        (dict(alpha=1.0), "alpha must be a number strictly between 0 and 1"),
        (dict(alpha=-0.1), "alpha must be a number strictly between 0 and 1"),
        (dict(n_sims=1), "n_sims must be an integer of at least 2"),
        (dict(n_sims=2.5), "n_sims must be an integer of at least 2"),
        (
            dict(estimators=["twfe_cr1", "no_such_estimator"]),
            "unknown estimator name 'no_such_estimator'",
        ),
        (dict(estimators=["twfe_cr1", "twfe_cr1"]), "appears more than once"),
        (dict(estimators=[]), "at least one estimator"),
        (dict(workers=0), "workers must be a positive integer"),
        (dict(seed=-1), "seed must be a non-negative integer"),
    ],
)
def test_bad_input_refused_before_any_simulation(kwargs, match):
    spy = SpyDesign()
    args = dict(estimators=["twfe_cr1"], n_sims=10, seed=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        diagnose(spy, **args)
    assert spy.calls == 0


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (dict(n_regions=10, n_treated=12), "n_treated must be between 1 and the number of regions"),
        (dict(icc=1.0), r"icc must be in \[0, 1\)"),
        (dict(icc=-0.1), r"icc must be in \[0, 1\)"),
    ],
)
def test_design_level_refusals_come_from_regional_design(fields, match):
    with pytest.raises(ValueError, match=match):
        RegionalDesign(**fields)
    with pytest.raises(ValueError, match=match):
        STAGGERED.replace(**fields)


def test_registry_names_and_specs():
    names = [
        "twfe",
        "twfe_cr1",
        "twfe_wild",
        "callaway_santanna",
        "its",
        "synthetic_control",
        "diff_in_means",
    ]
    specs = resolve_estimators(names)
    assert [s.name for s in specs] == names
    assert dg.ESTIMATORS["twfe_wild"].kwargs == {"inference": "wild", "B": 999}
    custom = EstimatorSpec("twfe_wild99", dg.twfe, dict(inference="wild", B=99))
    assert resolve_estimators([custom, "its"])[0] is custom
    with pytest.raises(ValueError, match="non-empty string"):
        EstimatorSpec("", planted)
    with pytest.raises(ValueError, match="must be callable"):
        EstimatorSpec("x", 3)


@pytest.mark.parametrize("groups", [False, True])
def test_every_registered_estimator_runs_on_a_regional_design(groups):
    kw = dict(
        n_regions=16,
        n_periods=10,
        n_treated=12,
        schedule=(4, 6),
        closures=(9,) + (None,) * 15,
        effect=0.3,
    )
    if groups:
        kw.update(staff_groups=("nhs", "social"), group_phasing=((0, 2), (0, 0)))
    design = RegionalDesign(**kw)
    names = [n for n in dg.ESTIMATORS if groups or n != "triple_differences"]
    res = diagnose(design, names, n_sims=2, seed=1)
    d = res.diagnosands.set_index("estimator")
    assert (d["failure_rate"] == 0).all(), res.simulations.loc[
        res.simulations["error"] != "", "error"
    ].tolist()
    assert np.isfinite(d["mean_estimate"]).all()
    if not groups:
        # triple differences needs staff groups, and says so
        ddd = diagnose(design, ["triple_differences"], n_sims=2, seed=1).simulations
        assert ddd["error"].str.contains("needs a design with staff groups").all()


@pytest.mark.statistical
def test_null_rejection_and_the_oversized_flag():
    """One treated region of twenty: CR1 rejects a true null far too often and is flagged;
    randomization inference over the regions is not."""
    design = RegionalDesign(
        n_regions=20,
        n_periods=8,
        n_treated=1,
        schedule=(5,),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.1,
    )
    ri = EstimatorSpec("twfe_ri", dg.twfe, {"inference": "ri", "B": 199})
    res = diagnose(design, ["twfe_cr1", ri], n_sims=150, seed=2)
    d = res.diagnosands.set_index("estimator")
    for est in d.index:
        assert d.loc[est, "null_rejection"] == pytest.approx(1 - d.loc[est, "coverage"], abs=1e-12)
    assert d.loc["twfe_cr1", "oversized"] and d.loc["twfe_cr1", "inference"] == "cr1"
    # 20 reassignments of one treated region: no p-value below 0.05, so no test exists
    assert d.loc["twfe_ri", "no_test_rate"] == 1.0 and d.loc["twfe_ri", "power"] == 0.0
    assert not d.loc["twfe_ri", "oversized"]
    assert set(res.simulations.loc[res.simulations["estimator"] == "twfe_ri", "inference"]) == {
        "none"
    }


def test_batched_wild_and_auto_paths_equal_the_fit_by_fit_path():
    design = RegionalDesign(
        n_regions=14,
        n_periods=8,
        n_treated=7,
        schedule=(3, 5),
        population_kind="help_seeker_cohort",
        effect=0.1,
        ar_sd=0.05,
        ar_rho=0.5,
    )
    wild = EstimatorSpec("w", dg.twfe, {"inference": "wild", "B": 199, "wild_weights": "webb"})
    specs = [wild, "twfe", "twfe_cr2"]
    fast = diagnose(design, specs, n_sims=2 * dg.CHUNK + 3, seed=6, fast=True)
    slow = diagnose(design, specs, n_sims=2 * dg.CHUNK + 3, seed=6, fast=False)
    a, b = fast.simulations, slow.simulations
    w = (a["estimator"] == "w").to_numpy()
    # the wild bootstrap: identical p-values (same draws, same statistics)
    np.testing.assert_array_equal(a.loc[w, "p_value"].to_numpy(), b.loc[w, "p_value"].to_numpy())
    for c in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(a[c].to_numpy(), b[c].to_numpy(), rtol=1e-7, atol=1e-12)
    assert (a["inference"] == b["inference"]).all()


def test_summary_and_tidy_carry_the_flags_that_qualify_power_and_coverage():
    """On the hubs' own small design (5 regions, 3 with a hub), the text summary marks an
    oversized test and an estimator with no test (whose coverage of unbounded intervals
    is shown as n/a, not 1.000), and the long frame carries each estimator's inference and
    oversized flag on its rows, as the wide frame has them."""
    from hubsim.regional import RegionalDesign

    d = RegionalDesign(
        n_regions=5, n_periods=10, n_treated=3, schedule=[6], effect=0, icc=0.02,
        population_kind="help_seeker_cohort", period_sd=0.05, ar_rho=0.5, ar_sd=0.05,
    )
    its_nw = EstimatorSpec("its_newey_west", its, {"inference": "newey_west"}, "att")
    res = diagnose(d, ["twfe", "its", its_nw, "synthetic_control"], n_sims=40, seed=7)
    wide = res.diagnosands.set_index("estimator")
    lines = {ln.split()[0]: ln for ln in res.summary().splitlines()[2:]}
    for est, r in wide.iterrows():
        no_test = r["no_test_rate"] >= 0.5
        assert ("! no test at level 0.05" in lines[est]) == no_test, lines[est]
        assert ("n/a (no test)" in lines[est]) == no_test
        assert ("! oversized" in lines[est]) == (bool(r["oversized"]) and not no_test)
    assert wide.loc["synthetic_control", "no_test_rate"] == 1.0  # 2 donors: p >= 1/3
    assert wide.loc["its_newey_west", "oversized"]  # Newey-West in a 10-period series
    tidy = res.tidy()
    for est, g in tidy.groupby("estimator"):
        assert (g["oversized"] == bool(wide.loc[est, "oversized"])).all()
        assert (g["inference"] == wide.loc[est, "inference"]).all()
