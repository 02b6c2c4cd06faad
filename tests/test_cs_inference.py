"""Callaway-Sant'Anna inference: the relabelling engine, the options, R did's documented
multiplier-bootstrap output on mpdta, csdid's bootstrap, and randomization inference."""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import callaway_santanna
from tests.test_staggered import make_panel

MPDTA = Path(__file__).parent / "data" / "mpdta.csv"

# R did 2.x, att_gt(yname="lemp", gname="first.treat", idname="countyreal", tname="year",
# xformla=~1, data=mpdta, est_method="reg") with its defaults (multiplier bootstrap,
# biters = 1000, cband = TRUE), as printed by summary(out) in a published run of the
# package's own example (rstudio-pubs-static.s3.amazonaws.com/736765_...html): group,
# time, ATT(g,t), bootstrap SE, 95% simultaneous band.
R_DID_MPDTA = [
    (2004, 2004, -0.0105, 0.0237, -0.0740, 0.0530),
    (2004, 2005, -0.0704, 0.0330, -0.1588, 0.0180),
    (2004, 2006, -0.1373, 0.0404, -0.2455, -0.0291),
    (2004, 2007, -0.1008, 0.0364, -0.1982, -0.0034),
    (2006, 2004, 0.0065, 0.0243, -0.0584, 0.0715),
    (2006, 2005, -0.0028, 0.0205, -0.0575, 0.0520),
    (2006, 2006, -0.0046, 0.0162, -0.0481, 0.0389),
    (2006, 2007, -0.0412, 0.0203, -0.0955, 0.0130),
    (2007, 2004, 0.0305, 0.0142, -0.0074, 0.0684),
    (2007, 2005, -0.0027, 0.0162, -0.0461, 0.0406),
    (2007, 2006, -0.0311, 0.0178, -0.0787, 0.0166),
    (2007, 2007, -0.0261, 0.0174, -0.0725, 0.0204),
]
R_BIT = 1000  # R's draws


def test_engine_reproduces_the_estimator_with_the_observed_labels():
    for control in ("never_treated", "not_yet_treated"):
        for base in ("varying", "universal"):
            df = make_panel(np.random.default_rng(11), {0: 15, 3: 12, 5: 10, 6: 13})
            a = callaway_santanna(
                df,
                "y",
                "region",
                "month",
                cohort="g",
                control=control,
                base_period=base,
                inference="analytic",
            )
            r = callaway_santanna(
                df,
                "y",
                "region",
                "month",
                cohort="g",
                control=control,
                base_period=base,
                inference="ri",
                B=99,
            )
            eng, ri = r._ri["engine"], r._ri
            lab = ri["lab"][ri["observed"]][None, :]
            for kind in ("simple", "dynamic"):
                _, ests, infs, _, est, inf, _, sets = a._pieces(kind, -np.inf, np.inf)
                ((th, S),) = eng.run(lab, [ri["dy"]], list(sets))
                if kind == "simple":
                    assert th[0, 0] == pytest.approx(est, abs=1e-12)
                    np.testing.assert_allclose(S[0, :, 0], a._sums(inf[:, None])[:, 0], atol=1e-11)
                else:
                    np.testing.assert_allclose(th[0], ests, atol=1e-12)
                    np.testing.assert_allclose(S[0], a._sums(infs), atol=1e-11)


def test_inference_options_share_the_estimate_and_differ_in_uncertainty():
    df = make_panel(np.random.default_rng(21), {0: 12, 3: 10, 5: 10})
    fits = {
        m: callaway_santanna(df, "y", "region", "month", cohort="g", inference=m, B=199, seed=2)
        for m in ("analytic", "cr1", "cr2", "bootstrap", "ri")
    }
    est = {m: f.estimate for m, f in fits.items()}
    assert len({round(v, 12) for v in est.values()}) == 1
    G = fits["analytic"].n_clusters
    assert fits["cr1"].se == pytest.approx(fits["analytic"].se * math.sqrt(G / (G - 1)), rel=1e-12)
    assert fits["cr1"].to_estimate().df == G - 1
    # CR2 inflates each group's residual variance by the group-mean leverage
    assert fits["cr2"].se > fits["analytic"].se
    assert math.isnan(fits["ri"].se) and fits["ri"].inference == "ri"
    for m, f in fits.items():
        assert f.inference == m and m in f.to_estimate().inference_note
        assert f.ci_low < f.estimate < f.ci_high
        assert np.isfinite(f.pretrend()["p_value"].iloc[0])
        assert {"band_low", "band_high"} <= set(f.aggregate("dynamic").columns)
    with pytest.raises(ValueError, match="inference must be one of"):
        callaway_santanna(df, "y", "region", "month", cohort="g", inference="wild")


def test_randomization_inference_is_exact_over_clusters_and_flags_unattainable_levels():
    # 6 units: 2 never treated, 2 each in two cohorts -> 6!/(2!2!2!) = 90 relabellings
    df = make_panel(np.random.default_rng(22), {0: 2, 3: 2, 5: 2}, effect=lambda e: 0 * e)
    r = callaway_santanna(df, "y", "region", "month", cohort="g", inference="ri", B=999)
    assert r._ri["exact"] and r._ri["n_perm"] == 90
    p = r.p_value
    assert abs(p * 90 - round(p * 90)) < 1e-9
    # 4 units, one cohort of 1: 4 relabellings, p >= 1/4: no level-0.05 test
    small = make_panel(np.random.default_rng(23), {0: 3, 4: 1}, n_periods=6)
    s = callaway_santanna(small, "y", "region", "month", cohort="g", inference="ri")
    assert s._ri["n_perm"] == 4 and not s._ri["attainable"]
    est = s.to_estimate()
    assert not est.rejects() and est.ci_low == -math.inf and est.ci_high == math.inf
    assert "no test at level 0.05 exists" in est.inference_note


def test_note_counts_the_control_clusters():
    df = make_panel(np.random.default_rng(24), {0: 2, 3: 12, 5: 12})
    r = callaway_santanna(df, "y", "region", "month", cohort="g", inference="cr1")
    note = r.to_estimate().inference_note
    assert "2 of 26 clusters have no treated unit" in note
    assert "With 2 control clusters behind some comparisons" in note


@pytest.mark.oracle
def test_multiplier_bootstrap_matches_r_did_documented_output_on_mpdta():
    d = pd.read_csv(MPDTA)
    r = callaway_santanna(
        d,
        "lemp",
        "countyreal",
        "year",
        cohort="first.treat",
        inference="bootstrap",
        B=20000,
        seed=1,
    )
    cells, crit = r.att_gt_band()
    ref = pd.DataFrame(R_DID_MPDTA, columns=["group", "time", "att", "se", "lo", "hi"])
    mine = cells.set_index(["group", "time"]).loc[list(zip(ref["group"], ref["time"], strict=True))]
    # point estimates: R prints 4 decimals
    np.testing.assert_allclose(mine["att"], ref["att"], atol=5e-5 + 1e-12)
    # bootstrap SEs: R's are themselves IQR-based estimates from 1000 draws, whose
    # relative Monte-Carlo SD is 1.167 / sqrt(1000) (ours, from 20000, adds little)
    rel_mcse = 1.167 * math.sqrt(1 / R_BIT + 1 / 20000)
    ratio = mine["se"].to_numpy() / ref["se"].to_numpy()
    assert np.all(np.abs(ratio - 1) <= 4 * rel_mcse + 0.5e-4 / ref["se"].to_numpy()), ratio
    # the simultaneous band's critical value, (hi - lo) / (2 SE) in R's output
    r_crit = float(np.median((ref["hi"] - ref["lo"]) / (2 * ref["se"])))
    # MCSE of a bootstrap 95% quantile from 1000 draws: sqrt(.05 .95 / B) / density there;
    # the density of the max |t| at its 95% quantile, from our draws
    boot = r._boot @ r._sums(r._inf[:, np.isfinite(cells["se"].to_numpy())]) / r.n_units
    tmax = np.max(np.abs(boot / cells["se"].to_numpy()[np.isfinite(cells["se"])]), axis=1)
    h = 0.05
    dens = np.mean(np.abs(tmax - crit) < h) / (2 * h)
    q_mcse = math.sqrt(0.05 * 0.95 / R_BIT) / dens
    assert abs(crit - r_crit) <= 4 * q_mcse + 0.01, (crit, r_crit, q_mcse)


@pytest.mark.oracle
def test_clustered_multiplier_bootstrap_agrees_with_csdid():
    """csdid's own multiplier bootstrap, clustered, on the same data: an independent
    implementation, so SEs and simultaneous critical values agree within bootstrap MCSE."""
    from csdid.att_gt import ATTgt

    rng = np.random.default_rng(25)
    df = make_panel(rng, {0: 40, 3: 40, 5: 40})
    df["icb"] = df["region"] % 30
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = ATTgt(
            yname="y",
            tname="month",
            idname="region",
            gname="g",
            data=df,
            control_group="nevertreated",
            clustervar="icb",
            biters=4000,
            cband=True,
        ).fit(est_method="reg", bstrap=True)
        m.aggte("dynamic")
    theirs_se = np.ravel(m.atte["se_egt"]).astype(float)
    theirs_crit = float(np.ravel(m.atte["crit_val_egt"])[0])
    r = callaway_santanna(
        df,
        "y",
        "region",
        "month",
        cohort="g",
        cluster="icb",
        inference="bootstrap",
        B=4000,
        seed=3,
    )
    dyn = r.aggregate("dynamic")
    rel = 1.167 * math.sqrt(2 / 4000)
    np.testing.assert_allclose(dyn["se"].to_numpy(), theirs_se, rtol=4 * rel)
    ours_crit = float(
        ((dyn["band_high"] - dyn["att"]) / dyn["se"]).to_numpy()[np.isfinite(dyn["se"])].mean()
    )
    assert abs(ours_crit - theirs_crit) < 0.15, (ours_crit, theirs_crit)


def test_no_test_means_no_band_either():
    """Where auto finds no test at the level (a design smaller than any measured), the
    pointwise intervals are unbounded, and so is every simultaneous band: a finite band
    that excludes zero would be a rejection the rule says cannot be made."""
    df = make_panel(np.random.default_rng(25), {0: 2, 4: 2}, n_periods=8)
    r = callaway_santanna(df, "y", "region", "month", cohort="g", control="not_yet_treated")
    assert r.inference == "none", r.inference_note
    dyn = r.aggregate("dynamic")
    assert (dyn["ci_low"] == -math.inf).all() and (dyn["ci_high"] == math.inf).all()
    assert (dyn["band_low"] == -math.inf).all() and (dyn["band_high"] == math.inf).all()
    cells, crit = r.att_gt_band()
    assert crit == math.inf and (cells["band_low"] == -math.inf).all()
    rows = [ln for ln in r.summary().splitlines() if ln.strip().startswith("e=")]
    assert len(rows) == len(dyn) and all("band -inf to inf" in ln for ln in rows)
