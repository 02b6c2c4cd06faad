"""Inference on a coefficient: oracle equality (wildboottest, dense CR2), exactness, rules."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import twfe
from hubsim.estimators.inference import wild_weights


def _panel(
    seed: int, G: int, T: int = 6, n_treated: int | None = None, effect: float = 0.15
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_treated = G // 2 if n_treated is None else n_treated
    d = pd.DataFrame([(r, t) for r in range(G) for t in range(T)], columns=["region", "period"])
    adopt = {r: (2 + r % 3 if r < n_treated else np.inf) for r in range(G)}
    d["treat"] = (d["period"] >= d["region"].map(adopt)).astype(int)
    d["x1"] = rng.normal(size=len(d))
    d["n"] = rng.integers(10, 100, len(d)).astype(float)
    d["y"] = (
        rng.normal(size=G)[d["region"]]
        + 0.3 * d["period"]
        + effect * d["treat"]
        + 0.2 * d["x1"]
        + rng.normal(size=len(d))
    )
    return d


def _wildboottest(d: pd.DataFrame, covariates=()):
    sm = pytest.importorskip("statsmodels.api")
    wbt = pytest.importorskip("wildboottest.wildboottest")
    X = pd.get_dummies(d[["region", "period"]].astype(str), drop_first=True).astype(float)
    for c in covariates:
        X.insert(0, c, d[c].astype(float))
    X.insert(0, "treat", d["treat"].astype(float))
    X.insert(0, "const", 1.0)
    R = np.zeros(X.shape[1])
    R[1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = wbt.WildboottestCL(
            X=X.to_numpy(),
            Y=d["y"].to_numpy(),
            cluster=d["region"].to_numpy(),
            R=R,
            B=999,
            seed=1,
            parallel=False,
        )
        wb.get_scores(bootstrap_type="11", impose_null=True)
        _, _, full = wb.get_weights("rademacher")
        wb.get_numer()
        wb.get_denom()
        wb.get_tboot()
        wb.get_vcov()
        wb.get_tstat()
        wb.get_pvalue("two-tailed")
        res = wbt.wildboottest(
            sm.OLS(d["y"], X),
            param="treat",
            cluster=d["region"].to_numpy(),
            B=999,
            seed=1,
            show=False,
            parallel=False,
        )
    return wb, float(res["p-value"].iloc[0]), full


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("seed", "G", "covariates"),
    [(0, 8, ()), (1, 9, ()), (2, 9, ("x1",)), (3, 8, ("x1",)), (4, 12, ()), (5, 14, ("x1",))],
)
def test_wild_bootstrap_equals_wildboottest(seed, G, covariates):
    """Full enumeration for G <= 9; for G = 12, 14 both draw the same Rademacher signs
    (``default_rng(seed).integers(0, 2)`` in clusters x draws order), so they agree too."""
    d = _panel(seed, G)
    est = twfe(
        d,
        "y",
        "region",
        "period",
        "treat",
        covariates=covariates,
        inference="wild",
        wild_weights="rademacher",
        B=999,
        seed=1,
    )
    wb, p_theirs, full = _wildboottest(d, covariates)
    assert est.extra["full_enumeration"] == full == (2**G <= 999)
    assert est.extra["wild_B"] == (2**G if full else 999)
    # Same bootstrap distribution, draw by draw (itertools.product order). Our t uses
    # pyfixest's K in the CR1 factor and wildboottest counts every dummy, so compare t*/t.
    from hubsim.estimators.inference import FEProjector, wild_bootstrap
    from hubsim.estimators.linear import _codes, _core_from, _k_ssc

    u, t = _codes(d["region"]), _codes(d["period"])
    proj = FEProjector([u, t], np.ones(len(d)))
    covs = d[list(covariates)].to_numpy(dtype=float).reshape(len(d), -1)
    core = _core_from(
        proj,
        np.ones(len(d)),
        d["y"].to_numpy(),
        d["treat"].to_numpy(dtype=float),
        covs,
        u,
        _k_ssc(1 + covs.shape[1], [u, t], u),
    )
    ours = wild_bootstrap(core, B=999, seed=1, ci=False)
    theirs_t = float(np.ravel(wb.t_stat)[0])
    assert np.allclose(ours.t_boot / ours.t_stat, wb.t_boot / theirs_t, rtol=1e-8, atol=1e-10)
    # p-value: wildboottest's share of |t*| > |t|. The draws v = +-1 reproduce t exactly,
    # so their count there is decided by rounding; we count exact ties as not exceeding.
    ties = np.isclose(np.abs(wb.t_boot), abs(theirs_t), rtol=1e-9, atol=0)
    if full:
        assert ties.sum() == 2
    p_theirs_exact = float(np.mean((np.abs(wb.t_boot) > abs(theirs_t)) & ~ties))
    assert est.p_value == pytest.approx(p_theirs_exact, abs=1e-12)
    assert abs(est.p_value - p_theirs) <= ties.sum() / len(wb.t_boot) + 1e-12


@pytest.mark.oracle
def test_cr2_and_imbens_kolesar_df_equal_dense_computation():
    d = _panel(4, G=7, T=5)
    est = twfe(
        d, "y", "region", "period", "treat", weights="n", covariates=("x1",), inference="cr2"
    )
    # dense Bell-McCaffrey with every dummy written out, in sqrt-weight space
    X = pd.get_dummies(d[["region", "period"]].astype(str), drop_first=True).astype(float)
    X.insert(0, "const", 1.0)
    X.insert(0, "x1", d["x1"])
    X.insert(0, "treat", d["treat"].astype(float))
    sw = np.sqrt(d["n"].to_numpy())
    Xs = X.to_numpy() * sw[:, None]
    ys = d["y"].to_numpy() * sw
    bread = np.linalg.inv(Xs.T @ Xs)
    beta = bread @ Xs.T @ ys
    u = ys - Xs @ beta
    H = Xs @ bread @ Xs.T
    M = np.eye(len(d)) - H
    c = bread[:, 0]
    meat, cols = 0.0, []
    for g in range(7):
        idx = np.flatnonzero(d["region"].to_numpy() == g)
        lam, U = np.linalg.eigh(np.eye(len(idx)) - H[np.ix_(idx, idx)])
        # region effects are nested in the cluster, so I - H_gg is singular: use the
        # symmetric square root of its Moore-Penrose inverse (as clubSandwich does)
        inv_sqrt = np.where(lam > 1e-10, 1 / np.sqrt(np.clip(lam, 1e-300, None)), 0.0)
        A = U @ np.diag(inv_sqrt) @ U.T
        meat += (c @ Xs[idx].T @ A @ u[idx]) ** 2
        col = np.zeros(len(d))
        col[idx] = A @ Xs[idx] @ c
        cols.append(M @ col)
    Gm = np.column_stack(cols)
    gram = Gm.T @ Gm
    df_ik = np.trace(gram) ** 2 / np.sum(gram * gram)
    assert est.estimate == pytest.approx(beta[0], abs=1e-10)
    assert est.se == pytest.approx(math.sqrt(meat), abs=1e-10)
    assert est.df == pytest.approx(df_ik, rel=1e-8)


def test_randomization_inference_is_exact_with_one_treated_region():
    d = _panel(5, G=10, n_treated=1, effect=5.0)
    est = twfe(d, "y", "region", "period", "treat", inference="ri")
    assert est.extra["ri_exact"] and est.extra["ri_n_perm"] == 10
    # a large effect makes the observed assignment the most extreme of the 10
    assert est.p_value == pytest.approx(1 / 10)
    ps = [
        twfe(
            _panel(s, G=10, n_treated=1, effect=0.0),
            "y",
            "region",
            "period",
            "treat",
            inference="ri",
        ).p_value
        for s in range(5)
    ]
    assert all(abs(p * 10 - round(p * 10)) < 1e-12 for p in ps)


@pytest.mark.parametrize(
    ("method", "extra"), [("wild", {"wild_weights": "webb"}), ("wild", {}), ("ri", {})]
)
def test_confidence_limits_invert_the_test(method, extra):
    d = _panel(6, G=14, effect=0.5)
    est = twfe(d, "y", "region", "period", "treat", inference=method, seed=3, B=499, **extra)
    assert est.ci_low < est.estimate < est.ci_high
    width = est.ci_high - est.ci_low
    for limit, inside in ((est.ci_low, +1), (est.ci_high, -1)):
        for shift, expect_reject in (
            (inside * 1e-4 * width, False),
            (-inside * 1e-4 * width, True),
        ):
            shifted = d.assign(y=d["y"] - (limit + shift) * d["treat"])
            p = twfe(
                shifted, "y", "region", "period", "treat", inference=method, seed=3, B=499, **extra
            ).p_value
            assert (p < est.alpha) == expect_reject, (limit, shift, p)


def test_conley_taber_uses_control_residual_paths():
    d = _panel(7, G=30, n_treated=2, effect=0.0)
    est = twfe(d, "y", "region", "period", "treat", inference="conley_taber")
    assert est.inference == "conley_taber"
    assert est.extra["ct_draws"] == 28**2  # all ordered pairs of control regions
    assert est.ci_low < est.estimate < est.ci_high
    big = twfe(
        d.assign(y=d["y"] + 10 * d["treat"]),
        "y",
        "region",
        "period",
        "treat",
        inference="conley_taber",
    )
    assert big.p_value == 0.0
    assert big.estimate - est.estimate == pytest.approx(10.0)


def test_auto_says_which_inference_and_why():
    d = _panel(8, G=8)
    est = twfe(d, "y", "region", "period", "treat", seed=1)
    assert est.inference_note.startswith("auto chose") or "no test" in est.inference_note
    assert "8 clusters (4 treated, 4 untreated)" in est.inference_note
    assert "null rejection rate" in est.inference_note or est.inference == "none"


def test_wild_weights_matrix():
    V, full = wild_weights(3, 999, "rademacher", np.random.default_rng(0))
    assert full and V.shape == (3, 8) and len({tuple(c) for c in V.T}) == 8
    W, full = wild_weights(12, 999, "webb", np.random.default_rng(0))
    assert not full and W.shape == (12, 999)
    assert np.allclose(np.unique(W) ** 2, [1.5, 1.0, 0.5, 0.5, 1.0, 1.5])
    assert abs(W.mean()) < 4 * 1 / math.sqrt(W.size) and abs((W**2).mean() - 1) < 4 * math.sqrt(
        0.1667 / W.size
    )


def test_seed_controls_the_bootstrap():
    d = _panel(9, G=20)
    a = twfe(d, "y", "region", "period", "treat", inference="wild", seed=5)
    b = twfe(d, "y", "region", "period", "treat", inference="wild", seed=5)
    c = twfe(d, "y", "region", "period", "treat", inference="wild", seed=6)
    assert (a.p_value, a.ci_low) == (b.p_value, b.ci_low)
    assert (a.p_value, a.ci_low) != (c.p_value, c.ci_low)


@pytest.mark.parametrize("method", ["wild", "ri", "conley_taber"])
def test_resampling_on_rows_equals_resampling_on_weighted_cell_means(method):
    from hubsim.regional import RegionalDesign

    design = RegionalDesign(
        n_regions=12,
        n_periods=5,
        n_treated=3,
        schedule=(3, 4),
        n_per_cell=(20, 30, 25, 40) * 3,
        icc=0.05,
        level="individual",
        effect=0.2,
    )
    rows = design.simulate(3)
    cells = rows.groupby(["region", "period"], as_index=False).agg(
        y=("y", "mean"), n=("y", "size"), treated=("treated", "first")
    )
    a = twfe(rows, "y", "region", "period", "treated", inference=method, seed=4, B=299)
    b = twfe(
        cells, "y", "region", "period", "treated", weights="n", inference=method, seed=4, B=299
    )
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    assert a.p_value == pytest.approx(b.p_value, abs=1e-12)
    assert (a.ci_low, a.ci_high) == pytest.approx((b.ci_low, b.ci_high), rel=1e-7)


def test_row_level_wild_bootstrap_equals_the_collapsed_one():
    from hubsim.estimators.inference import FEProjector, wild_bootstrap
    from hubsim.estimators.linear import _codes, _core_from, _k_ssc
    from hubsim.regional import RegionalDesign

    rows = RegionalDesign(
        n_regions=10,
        n_periods=4,
        n_treated=4,
        schedule=(2, 3),
        n_per_cell=15,
        level="individual",
        effect=0.1,
    ).simulate(6)
    u, t = _codes(rows["region"]), _codes(rows["period"])
    n = len(rows)
    core = _core_from(
        FEProjector([u, t], np.ones(n)),
        np.ones(n),
        rows["y"].to_numpy(),
        rows["treated"].to_numpy(dtype=float),
        np.zeros((n, 0)),
        u,
        _k_ssc(1, [u, t], u),
    )
    direct = wild_bootstrap(core, B=199, seed=2)
    est = twfe(rows, "y", "region", "period", "treated", inference="wild", B=199, seed=2)
    assert est.p_value == pytest.approx(direct.p_value, abs=1e-12)
    assert (est.ci_low, est.ci_high) == pytest.approx((direct.ci_low, direct.ci_high), rel=1e-7)
