"""Measure the size and power of every inference method: the table behind ``inference="auto"``.

Run: ``python experiments/measure_inference_table.py [--n-null N] [--n-alt N] [--workers K]``
(about two hours on two cores at the defaults; ``--quick`` for a minutes-long table of the
same shape). It writes ``src/hubsim/estimators/inference_table.csv``, which hubsim ships
and :func:`hubsim.estimators.inference.choose_inference` reads.

Designs (``RegionalDesign``, the regional panels hubsim simulates): G in {5, 6, 10, 20, 42}
regions and treated in {1, 2, 3, 4, G/2, G-4, G-2, G-1} of them (those between 1 and
G-1), adopting at once (period 6) or staggered (periods 5, 6, 7 in turn), 10 monthly
periods, help-seeker cohorts of 1% of Table 2's staff populations a year (105-150 people
a region-month, so cells differ in size), ICC 0.02, period shocks SD 0.05 and AR(1)
region shocks (rho 0.5, SD 0.05): the flagship study's variance structure.

Estimators and the methods measured for each (all at B = 999):

- ``twfe`` (also used for diff_in_means and triple differences): CR1, CR2
  (Bell-McCaffrey with Imbens-Kolesar df), the wild cluster restricted bootstrap with
  Rademacher and with Webb weights, randomization inference over adoption dates, and
  Conley-Taber (where at least two regions are never treated);
- ``event_study`` (leads = lags = 4): the same but Conley-Taber, for the post-period
  average (target ``att``) and for the joint pre-trend test (target ``pretrend``);
- ``callaway_santanna`` (not-yet-treated controls, as the power registry uses): the
  analytic influence-function variance (R did), CR1, CR2, the multiplier bootstrap
  (Rademacher, Webb) and randomization inference, for the simple ATT and the pre-trend
  test.

For each design, ``--n-null`` simulations with no effect give the size (the rejection rate
of a true null at alpha = 0.01, 0.05 and 0.10) and the first ``--n-alt`` of them, with a
constant effect of 2.5 standard deviations of the estimator's own estimate added to the
exposed cells (common random numbers), give the power. Each rate has its binomial MCSE.
Every method is batched over simulations; the first simulations are refitted through the
public estimators to check that the batch measures what the estimators compute
(randomization inference, which uses one shared set of reassignments per design here, is
checked where the reassignments are enumerated exactly).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from scipy import stats

import hubsim
from hubsim.estimators import callaway_santanna, event_study, twfe
from hubsim.estimators.inference import (
    TABLE_COLUMNS,
    FEProjector,
    LinearCore,
    _cr2_apply,
    _multiset_permutations,
    conley_taber,
    cr2_many,
    n_assignments,
    randomization_inference_many,
    wild_bootstrap_many,
    wild_weights,
)
from hubsim.estimators.linear import (
    _assignment,
    _codes,
    _contrast_regressors,
    _core_from,
    _es_permutation_stats,
    _event_dummies,
    _k_ssc,
    _partial_fn,
)
from hubsim.regional import RegionalDesign
from hubsim.rng import stream
from hubsim.stats import cr1_factor, t_interval

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "hubsim" / "estimators" / "inference_table.csv"
PARTS = ROOT / "results" / "inference_table_parts"
SEED = 20250601
B = 999
ALPHAS = (0.01, 0.05, 0.10)
GRID_G = (5, 6, 10, 20, 42)
ADOPTION = {"simultaneous": (6,), "staggered": (5, 6, 7)}
N_PERIODS = 10
LEADS = LAGS = 4
EFFECT_SD = 2.5
DESIGN = dict(
    n_periods=N_PERIODS,
    population_kind="help_seeker_cohort",
    icc=0.02,
    period_sd=0.05,
    ar_rho=0.5,
    ar_sd=0.05,
)


def treated_counts(G: int) -> list[int]:
    return sorted({t for t in (1, 2, 3, 4, G // 2, G - 4, G - 2, G - 1) if 1 <= t <= G - 1})


def designs(grid: tuple[int, ...] = GRID_G) -> list[tuple[int, int, str]]:
    return [(G, t, a) for G in grid for t in treated_counts(G) for a in ADOPTION]


def _p_t(beta, se, df):
    p, _, _ = t_interval(beta, se, df, 0.05)
    return np.asarray(p, dtype=float)


# ---------------------------------------------------------------------------------------
# TWFE
# ---------------------------------------------------------------------------------------


def twfe_block(cells, Y, seeds, seed_ri, G0):
    """p-values of every TWFE method for the columns of Y (cell means, weights n)."""
    u, t = _codes(cells["region"]), _codes(cells["period"])
    w = cells["n"].to_numpy(float)
    sw = np.sqrt(w)
    tr = cells["treated"].to_numpy(float)
    proj = FEProjector([u, t], w)
    none = np.zeros((len(cells), 0))
    k = _k_ssc(1, [u, t], u)
    core = _core_from(proj, sw, Y[:, 0], tr, none, u, k)
    Ys = proj.resid(Y) * sw[:, None]
    out: dict[str, np.ndarray] = {}
    beta = (core.x @ Ys) / core.xx
    U = Ys - core.x[:, None] * beta[None, :]
    se1 = np.sqrt(core.ssc * (core.cluster_sum(core.x[:, None] * U) ** 2).sum(axis=0)) / core.xx
    out["cr1"] = _p_t(beta, se1, core.G - 1)
    _, se2, df2 = cr2_many(core, Ys)
    out["cr2"] = _p_t(beta, se2, df2)
    for wts in ("rademacher", "webb"):
        out[f"wild_{wts}"] = wild_bootstrap_many(
            core, Ys, seeds, B=B, weights=wts, ci=False
        ).p_value
    a = _assignment(u, t, tr)
    K = n_assignments(a.path_codes)
    if K <= B:
        perms = _multiset_permutations(a.path_codes)
        obs = int(np.flatnonzero((perms == a.path_codes[None, :]).all(axis=1))[0])
        perms = np.vstack([perms[obs : obs + 1], np.delete(perms, obs, axis=0)])
    else:
        rng = stream(seed_ri, "twfe-ri")
        draws = np.argsort(rng.random((B, len(a.path_codes))), axis=1)
        perms = np.vstack([a.path_codes[None, :], a.path_codes[draws]])
    ri = randomization_inference_many(
        core, Ys, perms, a.paths, a.unit, a.time, partial=_partial_fn(proj, sw, none), ci=False
    )
    out["ri"] = ri["p_value"]
    if G0 >= 2:
        ps = np.empty(Y.shape[1])
        for s in range(Y.shape[1]):
            c = LinearCore(x=core.x, y=Ys[:, s], others=none, sw=sw, proj=proj, cluster=u, k_ssc=k)
            ps[s] = conley_taber(
                c, a.unit, a.time, a.treated_units, a.control_units, B=B, seed=int(seeds[s])
            ).p_value
        out["conley_taber"] = ps
    return out, beta, K


# ---------------------------------------------------------------------------------------
# Event study
# ---------------------------------------------------------------------------------------


def es_block(cells, Y, seeds, seed_ri, *, pretrend: bool):
    """p-values of the post-period average (and of the pre-trend test) per method."""
    u, t = _codes(cells["region"]), _codes(cells["period"])
    w = cells["n"].to_numpy(float)
    sw = np.sqrt(w)
    proj = FEProjector([u, t], w)
    cohort = cells["cohort"].to_numpy(float)
    gi = np.where(cohort > 0, cohort, np.nan)
    ever = ~np.isnan(gi)
    tvals = cells["period"].to_numpy(float)
    terms = [k for k in range(-LEADS, LAGS + 1) if k != -1]
    D = _event_dummies(ever, tvals, gi, LEADS, LAGS, terms)
    keep = D.sum(axis=0) > 0
    terms = [k for k, ok in zip(terms, keep, strict=True) if ok]
    D = D[:, keep]
    K = len(terms)
    pre = [j for j, k in enumerate(terms) if k < 0]
    post = [j for j, k in enumerate(terms) if k >= 0]
    c = np.zeros(K)
    c[post] = 1.0 / len(post)
    k_ssc = _k_ssc(K, [u, t], u)
    focal, others = _contrast_regressors(D, c)
    core = _core_from(proj, sw, Y[:, 0], focal, others, u, k_ssc)
    M = proj.resid(Y) * sw[:, None]
    coef, *_ = np.linalg.lstsq(core.others, M, rcond=None)
    Ys = M - core.others @ coef  # partialled like core.y
    out: dict[str, np.ndarray] = {}
    beta = (core.x @ Ys) / core.xx
    U = Ys - core.x[:, None] * beta[None, :]
    se1 = np.sqrt(core.ssc * (core.cluster_sum(core.x[:, None] * U) ** 2).sum(axis=0)) / core.xx
    out["cr1"] = _p_t(beta, se1, core.G - 1)
    _, se2, df2 = cr2_many(core, Ys)
    out["cr2"] = _p_t(beta, se2, df2)
    for wts in ("rademacher", "webb"):
        out[f"wild_{wts}"] = wild_bootstrap_many(
            core, Ys, seeds, B=B, weights=wts, ci=False
        ).p_value
    # randomization inference: reassign adoption dates across regions
    g_unit = np.full(int(u.max()) + 1, np.nan)
    g_unit[u] = gi
    lab_vals = np.unique(np.nan_to_num(g_unit, nan=-1.0))
    codes_g = np.searchsorted(lab_vals, np.nan_to_num(g_unit, nan=-1.0))
    Kassign = n_assignments(codes_g)
    if Kassign <= B:
        perms = _multiset_permutations(codes_g)
        obs = int(np.flatnonzero((perms == codes_g[None, :]).all(axis=1))[0])
        perms = np.vstack([perms[obs : obs + 1], np.delete(perms, obs, axis=0)])
    else:
        rng = stream(seed_ri, "es-ri")
        draws = np.argsort(rng.random((B, len(codes_g))), axis=1)
        perms = np.vstack([codes_g[None, :], codes_g[draws]])
    gperm = lab_vals[perms]
    gperm = np.where(gperm < 0, np.nan, gperm)
    expo = (ever & (tvals >= np.nan_to_num(gi))).astype(float)
    Rm = np.column_stack([Y, D, expo])
    Robs = proj.resid(Rm) * sw[:, None]
    st = _es_permutation_stats(
        gperm,
        unit_of_row=u,
        tvals=tvals,
        leads=LEADS,
        lags=LAGS,
        terms=terms,
        proj=proj,
        sw=sw,
        covs_p=np.zeros((len(cells), 0)),
        R=Robs,
        n_y=Y.shape[1],
        cl=u,
        G=core.G,
        pre_idx=pre if pretrend else [],
        post_c=c,
        per_coefficient=False,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        tp = np.abs(st["avg_by"]) / np.sqrt(st["avg_s11"])
    out["ri"] = np.mean(tp >= tp[0][None, :] * (1 - 1e-10), axis=0)
    pre_out: dict[str, np.ndarray] = {}
    if pretrend and pre:
        G = core.G
        q = len(pre)
        Xs = proj.resid(D) * sw[:, None]
        XtX_inv = np.linalg.pinv(Xs.T @ Xs)
        Yf = proj.resid(Y) * sw[:, None]
        bet = XtX_inv @ (Xs.T @ Yf)  # K x S
        Uf = Yf - Xs @ bet
        ssc = cr1_factor(G, len(cells), k_ssc)
        Hm = XtX_inv @ Xs.T

        def wald(resid):
            sc = np.stack([core.cluster_sum(Xs[:, j][:, None] * resid) for j in range(K)])
            V = np.einsum("igs,jgs->sij", sc, sc)
            Vq = np.einsum("ki,sij,lj->skl", XtX_inv[pre], V, XtX_inv[pre])
            b = bet[pre].T
            return np.einsum("si,sij,sj->s", b, np.linalg.pinv(Vq), b)

        W1 = ssc**-1 * wald(Uf)
        F1 = W1 * (G - q) / (q * (G - 1))
        pre_out["cr1"] = stats.f.sf(F1, q, G - q)
        AU = _cr2_apply(core, Uf)
        W2 = wald(AU)
        F2 = W2 * (G - q) / (q * (G - 1))
        pre_out["cr2"] = stats.f.sf(F2, q, G - q)
        keepr = [j for j in range(K) if j not in pre]
        Xr = Xs[:, keepr]
        Cl = np.zeros((G, len(cells)))
        Cl[u, np.arange(len(cells))] = 1.0
        for wts in ("rademacher", "webb"):
            ps = np.empty(Y.shape[1])
            for s in range(Y.shape[1]):
                ys = Yf[:, s]
                br = np.linalg.lstsq(Xr, ys, rcond=None)[0]
                ur = ys - Xr @ br
                Vr, _ = wild_weights(
                    G, B, wts, stream(int(seeds[s]), "event_study", "wild_pretrend")
                )
                ystar = (Xr @ br)[:, None] + ur[:, None] * Vr[u]
                bstar = XtX_inv @ (Xs.T @ ystar)
                rs = sw[:, None] * proj.resid(ystar / sw[:, None]) - Xs @ bstar
                Sq = np.stack([Cl @ (Hm[pre][j][:, None] * rs) for j in range(q)], axis=1)
                Vq = ssc * np.einsum("gib,gjb->bij", Sq, Sq)
                bq = bstar[pre].T
                Wb = np.einsum("bi,bij,bj->b", bq, np.linalg.pinv(Vq), bq)
                ps[s] = np.mean(Wb >= W1[s] * (1 - 1e-10))
            pre_out[f"wild_{wts}"] = ps
        pre_out["ri"] = np.mean(st["wald"] >= st["wald"][0][None, :] * (1 - 1e-10), axis=0)
    return out, pre_out, beta, Kassign


# ---------------------------------------------------------------------------------------
# Callaway-Sant'Anna
# ---------------------------------------------------------------------------------------


def cs_block(cells, Y, seeds, seed_ri, *, control: str, pretrend: bool):
    frame = cells[["region", "period", "cohort"]].copy()
    out = {m: np.empty(Y.shape[1]) for m in ("analytic", "cr1", "cr2")}
    out.update(
        {"bootstrap_rademacher": np.empty(Y.shape[1]), "bootstrap_webb": np.empty(Y.shape[1])}
    )
    pre = {m: np.full(Y.shape[1], np.nan) for m in out}
    est = np.empty(Y.shape[1])
    ri_fit = None
    for s in range(Y.shape[1]):
        frame["y"] = Y[:, s]
        # the CR2 fit also carries what every other method needs
        r = callaway_santanna(
            frame, "y", "region", "period", cohort="cohort", control=control, inference="cr2"
        )
        est[s] = r.estimate
        for m in ("analytic", "cr1", "cr2"):
            rr = replace(r, inference=m)  # shares the inference-free cached pieces
            out[m][s] = rr.overall("simple").p_value
            if pretrend:
                pre[m][s] = rr.pretrend()["p_value"].iloc[0]
        for wts in ("rademacher", "webb"):
            rng = stream(int(seeds[s]), "callaway_santanna", "multiplier_bootstrap")
            if wts == "webb":
                boot = wild_weights(r.n_clusters, B, "webb", rng)[0].T
            else:
                boot = rng.choice(np.array([-1.0, 1.0]), size=(B, r.n_clusters))
            rr = replace(r, inference="bootstrap", _boot=boot, wild_weights=wts)
            out[f"bootstrap_{wts}"][s] = rr.overall("simple").p_value
            if pretrend:
                pre[f"bootstrap_{wts}"][s] = rr.pretrend()["p_value"].iloc[0]
        if ri_fit is None:
            ri_fit = callaway_santanna(
                frame,
                "y",
                "region",
                "period",
                cohort="cohort",
                control=control,
                inference="ri",
                B=B,
                seed=seed_ri,
            )
    # randomization inference: one set of relabellings, every simulation
    ri = ri_fit._ri
    eng = ri["engine"]
    keys, *_, sets = ri_fit._pieces("dynamic", -math.inf, math.inf)
    simple_cells = ri_fit._pieces("simple", -math.inf, math.inf)[-1][0]
    pre_sets = [c for k, c in zip(keys, sets, strict=True) if k < 0]
    ymats = [
        pd.DataFrame({"r": cells["region"], "t": cells["period"], "y": Y[:, s]})
        .pivot(index="r", columns="t", values="y")
        .to_numpy()
        for s in range(Y.shape[1])
    ]
    res = eng.run(ri["lab"], [eng.deltas(m) for m in ymats], [simple_cells, *pre_sets])
    obs = ri["observed"]
    p_ri = np.empty(Y.shape[1])
    p_pre = np.full(Y.shape[1], np.nan)
    for s, (th, S) in enumerate(res):
        tt = np.abs(th[:, 0]) / np.sqrt((S[:, :, 0] ** 2).sum(axis=1))
        p_ri[s] = np.mean(tt >= tt[obs] * (1 - 1e-10))
        if pretrend and pre_sets:
            thp = th[:, 1:]
            Sp = S[:, :, 1:]
            Vp = np.einsum("pgi,pgj->pij", Sp, Sp)
            Wp = np.einsum("pi,pij,pj->p", thp, np.linalg.pinv(Vp), thp)
            p_pre[s] = np.mean(Wp >= Wp[obs] * (1 - 1e-10))
    out["ri"] = p_ri
    pre["ri"] = p_pre
    return out, pre, est, ri["n_perm"] if ri["exact"] else n_assign_of(ri_fit)


def n_assign_of(fit) -> int:
    from hubsim.estimators.staggered import _cluster_patterns

    lab_vals = np.unique(np.concatenate([[0.0], fit._unit_group]))
    lab_obs = np.searchsorted(lab_vals, fit._unit_group)
    _, pcode, _ = _cluster_patterns(fit._cluster_codes, lab_obs, "check")
    return n_assignments(pcode)


# ---------------------------------------------------------------------------------------
# One design
# ---------------------------------------------------------------------------------------


def check_against_estimators(cells, Y, seeds, ps_twfe, ps_es, n_check=2):
    """The batch p-values equal the public estimators' (wild: same seeds; CR)."""
    for s in range(n_check):
        df = cells.assign(y=Y[:, s])
        for m, kw in (("cr1", {}), ("cr2", {}), ("wild_webb", {"wild_weights": "webb"})):
            inf = m.split("_")[0]
            e = twfe(
                df,
                "y",
                "region",
                "period",
                "treated",
                weights="n",
                inference=inf,
                seed=int(seeds[s]),
                **kw,
            )
            if not math.isclose(e.p_value, ps_twfe[m][s], rel_tol=1e-7, abs_tol=1e-12):
                raise RuntimeError(f"twfe {m}: batch p {ps_twfe[m][s]} != estimator {e.p_value}")
        df["g"] = df["cohort"].where(df["cohort"] > 0)
        for m, kw in (("cr1", {}), ("cr2", {}), ("wild_rademacher", {})):
            inf = m.split("_")[0]
            r = event_study(
                df,
                "y",
                "region",
                "period",
                cohort="g",
                weights="n",
                leads=LEADS,
                lags=LAGS,
                inference=inf,
                seed=int(seeds[s]),
                **kw,
            )
            if not math.isclose(r.estimate.p_value, ps_es[m][s], rel_tol=1e-7, abs_tol=1e-12):
                raise RuntimeError(
                    f"event study {m}: batch p {ps_es[m][s]} != estimator {r.estimate.p_value}"
                )


def run_design(G: int, treated: int, adoption: str, n_null: int, n_alt: int) -> list[dict]:
    sched = ADOPTION[adoption]
    design = RegionalDesign(n_regions=G, n_treated=treated, schedule=sched, **DESIGN)
    cells, Y = design.simulate_many(stream(SEED, "table", G, treated, adoption), n_null)
    seeds = np.arange(n_null) + 1000
    seed_ri = int(SEED + 7919 * G + 31 * treated + (adoption == "staggered"))
    D = cells["treated"].to_numpy(float)
    G0 = G - treated
    rows: list[dict] = []
    meta = dict(G=G, treated=treated, untreated=G0, adoption=adoption)

    def add(estimator, target, method, p_null, p_alt, K, eff):
        for a in ALPHAS:
            size = float(np.mean(p_null < a))
            r = dict(
                estimator=estimator,
                target=target,
                **meta,
                n_assignments=int(min(K, 2**62)),
                method=method,
                alpha=a,
                size=size,
                size_mcse=math.sqrt(max(size * (1 - size), a * (1 - a)) / len(p_null)),
                power=float(np.mean(p_alt < a)) if p_alt is not None else math.nan,
                power_mcse=(
                    math.sqrt(
                        max(np.mean(p_alt < a) * (1 - np.mean(p_alt < a)), 1e-12) / len(p_alt)
                    )
                    if p_alt is not None
                    else math.nan
                ),
                n_null=len(p_null),
                n_alt=len(p_alt) if p_alt is not None else 0,
                effect_sd=eff,
                n_periods=N_PERIODS,
                seed=SEED,
            )
            rows.append(r)

    # TWFE
    p0, b0, K = twfe_block(cells, Y, seeds, seed_ri, G0)
    d = EFFECT_SD * float(np.std(b0, ddof=1))
    Ya = Y[:, :n_alt] + d * D[:, None]
    p1, _, _ = twfe_block(cells, Ya, seeds[:n_alt], seed_ri, G0)
    for m in p0:
        add("twfe", "att", m, p0[m], p1.get(m), K, EFFECT_SD)
    # event study
    e0, pre0, b0e, Ke = es_block(cells, Y, seeds, seed_ri, pretrend=True)
    d = EFFECT_SD * float(np.std(b0e, ddof=1))
    Ya = Y[:, :n_alt] + d * D[:, None]
    e1, _, _, _ = es_block(cells, Ya, seeds[:n_alt], seed_ri, pretrend=False)
    check_against_estimators(cells, Y, seeds, p0, e0)
    for m in e0:
        add("event_study", "att", m, e0[m], e1.get(m), Ke, EFFECT_SD)
        if m in pre0:
            add("event_study", "pretrend", m, pre0[m], None, Ke, math.nan)
    # Callaway-Sant'Anna (not-yet-treated controls)
    c0, cpre0, bc, Kc = cs_block(cells, Y, seeds, seed_ri, control="not_yet_treated", pretrend=True)
    d = EFFECT_SD * float(np.std(bc, ddof=1))
    Ya = Y[:, :n_alt] + d * D[:, None]
    c1, _, _, _ = cs_block(
        cells, Ya, seeds[:n_alt], seed_ri, control="not_yet_treated", pretrend=False
    )
    for m in c0:
        add("callaway_santanna", "att", m, c0[m], c1.get(m), Kc, EFFECT_SD)
        if np.isfinite(cpre0[m]).any():
            add("callaway_santanna", "pretrend", m, cpre0[m], None, Kc, math.nan)
    return rows


def _job(args):
    G, t, a, n_null, n_alt, part = args
    t0 = time.perf_counter()
    rows = run_design(G, t, a, n_null, n_alt)
    part.write_text(json.dumps(rows))
    return (G, t, a, time.perf_counter() - t0)


def main(n_null: int, n_alt: int, workers: int, out: Path, grid: tuple[int, ...] = GRID_G) -> None:
    """Measure the designs of ``grid``; a grid other than the full one replaces only its own
    G's rows in the table at ``out`` (the rest, and their provenance, are kept)."""
    PARTS.mkdir(parents=True, exist_ok=True)
    tag = f"n{n_null}-a{n_alt}-s{SEED}"
    partial = tuple(sorted(grid)) != tuple(sorted(GRID_G))
    if partial and not out.is_file():
        raise SystemExit(f"{out}: a partial grid merges into an existing table; none is there.")
    jobs = []
    for G, t, a in designs(grid):
        part = PARTS / f"{tag}-G{G}-t{t}-{a}.json"
        if not part.exists():
            jobs.append((G, t, a, n_null, n_alt, part))
    print(
        f"{len(designs(grid))} designs, {len(jobs)} to run ({n_null} null / {n_alt} alternative "
        f"simulations each, B = {B}), {workers} workers",
        flush=True,
    )
    t0 = time.perf_counter()
    if workers == 1:
        for j in jobs:
            print("done", *_job(j), flush=True)
    else:
        with ProcessPoolExecutor(max_workers=workers) as ex:
            for f in as_completed([ex.submit(_job, j) for j in jobs]):
                G, t, a, secs = f.result()
                print(
                    f"done G={G} treated={t} {a}: {secs:.0f} s ({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
    rows = []
    for G, t, a in designs(grid):
        rows += json.loads((PARTS / f"{tag}-G{G}-t{t}-{a}.json").read_text())
    table = pd.DataFrame(rows)[TABLE_COLUMNS]
    how = (
        f"experiments/measure_inference_table.py (hubsim {hubsim.__version__}); seed {SEED}, "
        f"{n_null} null and {n_alt} alternative simulations per design, B = {B}"
    )
    if partial:
        lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
        comments = [ln for ln in lines if ln.startswith("#")]
        old = pd.read_csv(out, comment="#")
        old = old[~old["G"].isin(grid)]
        # the measured G's rows in the grid's place (G ascending), the others as they were
        before = old[old["G"] < min(grid)]
        after = old[old["G"] > min(grid)]
        table = pd.concat([before, table, after], ignore_index=True)[TABLE_COLUMNS]
        shown = ", ".join(str(g) for g in sorted(grid))
        head = "".join(ln for ln in comments if not ln.startswith(f"# G = {shown}:")) + (
            f"# G = {shown}: measured apart and merged in; generated by {how}.\n"
        )
    else:
        head = (
            f"# hubsim inference table: size and power of each inference by design.\n"
            f"# Generated by {how}.\n"
            f"# Designs: RegionalDesign(n_periods={N_PERIODS}, help-seeker cohorts, ICC 0.02, period "
            f"SD 0.05, AR(1) rho 0.5 SD 0.05); simultaneous adoption at period 6, staggered at 5/6/7.\n"
            f"# size: rejection rate of a true null; power: at an effect of {EFFECT_SD} SD of the "
            f"estimate; *_mcse: binomial Monte-Carlo SEs.\n"
        )
    tmp = out.with_suffix(".csv.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(head)
        table.to_csv(fh, index=False, float_format="%.6g")
    tmp.replace(out)
    print(f"wrote {out} ({len(table)} rows) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-null", type=int, default=1000)
    ap.add_argument("--n-alt", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="100 null / 50 alternative simulations")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument(
        "--grid",
        type=int,
        nargs="+",
        default=list(GRID_G),
        help="numbers of regions to measure (default: the full grid); a part of the grid "
        "(e.g. --grid 5) replaces only those rows of the existing table",
    )
    a = ap.parse_args()
    if a.quick:
        a.n_null, a.n_alt = 100, 50
    sys.exit(main(a.n_null, a.n_alt, a.workers, a.out, tuple(a.grid)))
