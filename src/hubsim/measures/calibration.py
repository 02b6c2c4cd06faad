"""Simulated instrument figures against the published figures they were calibrated to.

Examples
--------
>>> from hubsim.measures import calibration_report
>>> report = calibration_report(n=20_000, seed=1)
>>> sorted(report["role"].unique())
['calibrated', 'check', 'implied']
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pandas as pd

from hubsim.checks import check_int
from hubsim.measures._model import (
    _GH_W,
    _GH_X,
    REFERENCE_LATENT_CORRELATION,
    TARGETS,
    _alpha,
    _calibrate,
    _itq_any,
    _prevalence,
    _primary,
    _total_pmf,
    expected_total_correlation,
    item_model,
)
from hubsim.measures.iapt import iapt_caseness
from hubsim.measures.simulate import simulate_items, simulate_scores
from hubsim.rng import stream

__all__ = ["REPORT_COLUMNS", "calibration_report", "cronbach_alpha"]

REPORT_COLUMNS: tuple[str, ...] = (
    "key",
    "instrument",
    "statistic",
    "population",
    "role",
    "simulated",
    "mcse",
    "model",
    "target",
    "target_low",
    "target_high",
    "source",
    "conf",
)
_ALL = ("phq9", "gad7", "wsas", "audit", "pcl5", "itq")
_BATCHES = 20


def cronbach_alpha(items) -> float:
    """Cronbach's alpha of an item matrix (rows respondents, columns items).

    Parameters
    ----------
    items : array-like, shape (n, k), k >= 2

    Returns
    -------
    float

    Examples
    --------
    >>> round(cronbach_alpha([[0, 1], [1, 2], [2, 2], [3, 3]]), 3)
    0.923
    """
    x = np.asarray(items, dtype=float)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        raise ValueError(f"items: expected an (n, k) matrix with n >= 2 and k >= 2, got {x.shape}.")
    if not np.isfinite(x).all():
        raise ValueError("items: expected finite values, found NaN or infinity.")
    k = x.shape[1]
    total_var = x.sum(axis=1).var(ddof=1)
    return float(k / (k - 1) * (1.0 - x.var(axis=0, ddof=1).sum() / total_var))


def _batch_mcse(fun: Callable[[slice], float], n: int) -> float:
    """MCSE of a statistic from the spread of its value over equal contiguous batches."""
    edges = np.linspace(0, n, _BATCHES + 1).astype(int)
    values = np.array([fun(slice(a, b)) for a, b in itertools.pairwise(edges)])
    return float(values.std(ddof=1) / np.sqrt(_BATCHES))


def _model_mean(name: str, mu: float) -> float:
    lam, thr, vals = _primary(item_model(name))
    pmf = _GH_W @ _total_pmf(_GH_X + mu, lam, thr, vals)
    return float(pmf @ np.arange(pmf.size))


def calibration_report(n: int = 200_000, seed: int = 0, *, latent_correlation=None) -> pd.DataFrame:
    """Simulate the staff and general populations and compare with the published figures.

    ``n`` clients are drawn with latent ~ N(0, R) (the general staff population, where the
    NHS CHECK figures are the targets, calibration.md §2) and ``n`` with latent
    ~ N(mu_gp, R) (the general adult population; mu_gp is solved from Löwe 2008's GAD-7
    figures). Scores come from :func:`simulate_scores` and reliabilities from
    :func:`simulate_items`.

    Parameters
    ----------
    n : int, default 200000
        Simulated respondents per population.
    seed : int, default 0
        Seed of the named streams used (``hubsim.rng.stream(seed, "calibration_report", ...)``).
    latent_correlation : array-like (5, 5), optional
        Latent correlation; default ``REFERENCE_LATENT_CORRELATION`` (PHQ-9 ~ GAD-7 0.75).

    Returns
    -------
    pandas.DataFrame
        Columns ``REPORT_COLUMNS``; one row a figure. ``role`` is ``"calibrated"`` (the item
        model was solved to reproduce ``target``, so ``model`` equals it), ``"check"`` (a
        published figure or range the model was not solved for) or ``"implied"`` (no
        published figure). ``mcse``: binomial for shares, batch means (20 batches) for other
        statistics. ``model``: the exact value under the item model (quadrature), where
        available.

    Examples
    --------
    >>> r = calibration_report(n=20_000, seed=3)
    >>> row = r.set_index("key").loc["phq9_ge10"]
    >>> bool(abs(row.simulated - row.target) < 4 * row.mcse)
    True
    """
    check_int("n", n, 2 * _BATCHES)
    r = REFERENCE_LATENT_CORRELATION if latent_correlation is None else latent_correlation
    r = np.asarray(r, dtype=float)
    if r.shape != (5, 5) or not np.allclose(r, r.T) or np.linalg.eigvalsh(r).min() <= 0:
        raise ValueError("latent_correlation: expected a symmetric positive-definite 5x5 matrix.")
    models, mu_gp = _calibrate()
    chol = np.linalg.cholesky(r)
    rows: list[dict] = []

    def add(
        key,
        instrument,
        statistic,
        population,
        role,
        simulated,
        mcse,
        model,
        target,
        low=np.nan,
        high=np.nan,
        source="",
        conf="",
    ):
        rows.append(
            dict(
                key=key,
                instrument=instrument,
                statistic=statistic,
                population=population,
                role=role,
                simulated=float(simulated),
                mcse=float(mcse),
                model=float(model),
                target=float(target),
                target_low=float(low),
                target_high=float(high),
                source=source,
                conf=conf,
            )
        )

    def share(flags: np.ndarray, p_model: float) -> tuple[float, float]:
        p = float(np.mean(flags))
        ref = p if np.isnan(p_model) else p_model
        return p, float(np.sqrt(ref * (1.0 - ref) / flags.size))

    samples = {}
    for population, mu in (("staff", 0.0), ("general", mu_gp)):
        z = stream(seed, "calibration_report", population, "latent").standard_normal((n, 5))
        latent = mu + z @ chol.T
        scores = simulate_scores(
            latent, _ALL, stream(seed, "calibration_report", population, "scores")
        )
        items = {
            name: simulate_items(
                name, latent, stream(seed, "calibration_report", population, "items", name)
            )
            for name in _ALL
        }
        samples[population] = (latent, scores, items)

    # --- calibrated figures -------------------------------------------------------------
    for key, t in TARGETS.items():
        latent, scores, items = samples[t.population]
        mu = 0.0 if t.population == "staff" else mu_gp
        m = models[t.instrument]
        if t.statistic.startswith("Cronbach"):
            cols = slice(0, 6) if t.instrument == "itq" else slice(None)
            x = items[t.instrument][:, cols]
            sim = cronbach_alpha(x)
            mcse = _batch_mcse(lambda s, x=x: cronbach_alpha(x[s]), n)
            model = _alpha(m, mu, np.arange(6) if t.instrument == "itq" else None)
        else:
            if key == "phq9_item9_ge1":
                flags, model = scores["phq9_item9"].to_numpy() >= 1, t.value
            elif key == "itq_any":
                flags, model = scores["itq"].to_numpy() >= 1, _itq_any(m)
            else:
                cut = int(t.cut)
                flags = scores[t.instrument].to_numpy() >= cut
                model = _prevalence(m, cut, mu)
            sim, mcse = share(flags, model)
        add(
            key,
            t.instrument,
            t.statistic,
            t.population,
            "calibrated",
            sim,
            mcse,
            model,
            t.value,
            source=t.source,
            conf=t.conf,
        )

    # --- checks against figures the model was not solved for -----------------------------
    _, staff, staff_items = samples["staff"]
    _, general, _ = samples["general"]
    p, g = staff["phq9"].to_numpy(float), staff["gad7"].to_numpy(float)
    rho = float(r[0, 1])
    add(
        "phq9_gad7_corr",
        "phq9+gad7",
        f"corr(PHQ-9, GAD-7) at latent r = {rho:.2f}",
        "staff",
        "check",
        np.corrcoef(p, g)[0, 1],
        _batch_mcse(lambda s: np.corrcoef(p[s], g[s])[0, 1], n),
        expected_total_correlation(rho),
        np.nan,
        0.64,
        0.80,
        "calibration.md §7 Correlation PHQ-9 ~ GAD-7, range 0.64-0.80 (Löwe 2008 PHQ-2 0.64, "
        "D; clinical 0.7-0.8, R)",
        "D/R",
    )
    gad_gp = general["gad7"].to_numpy(float)
    add(
        "gad7_mean_gp",
        "gad7",
        "mean total",
        "general",
        "check",
        gad_gp.mean(),
        gad_gp.std(ddof=1) / np.sqrt(n),
        _model_mean("gad7", mu_gp),
        np.nan,
        2.7,
        3.2,
        "calibration.md §2 Löwe 2008 GAD-7 mean 2.7 (men) - 3.2 (women)",
        "D",
    )
    phq_gp = general["phq9"].to_numpy() >= 10
    sim, mcse = share(phq_gp, _prevalence(models["phq9"], 10, mu_gp))
    add(
        "phq9_ge10_gp",
        "phq9",
        "P(total >= 10)",
        "general",
        "check",
        sim,
        mcse,
        _prevalence(models["phq9"], 10, mu_gp),
        0.108,
        source="calibration.md §2 Johansson 2013 Swedish adults PHQ-9 >= 10: 10.8%",
        conf="D",
    )
    gad8_gp = general["gad7"].to_numpy() >= 8
    sim, mcse = share(gad8_gp, np.nan)
    add(
        "gad7_ge8_gp",
        "gad7",
        "P(total >= 8)",
        "general",
        "check",
        sim,
        mcse,
        np.nan,
        0.147,
        source="calibration.md §2 Johansson 2013 Swedish adults GAD-7 >= 8: 14.7%",
        conf="D",
    )
    both = phq_gp & gad8_gp
    sim, mcse = share(both, np.nan)
    add(
        "phq9_gad7_both_gp",
        "phq9+gad7",
        "P(PHQ-9 >= 10 and GAD-7 >= 8)",
        "general",
        "check",
        sim,
        mcse,
        np.nan,
        0.083,
        source="calibration.md §2 Johansson 2013 Swedish adults, both: 8.3%",
        conf="D",
    )

    # --- implied figures (no published target) ----------------------------------------------
    for name in ("gad7", "pcl5", "audit"):  # staff alpha of instruments not solved for it
        x = staff_items[name]
        mu_model = _alpha(models[name], 0.0)
        if name == "gad7":
            stat_source = "calibration.md §4 GAD-7 alpha 0.92 (Spitzer 2006, R)"
        else:
            stat_source = "no reliability figure in calibration.md; loading borrowed (see _model)"
        add(
            f"{name}_alpha",
            name,
            "Cronbach alpha",
            "staff",
            "implied",
            cronbach_alpha(x),
            _batch_mcse(lambda s, x=x: cronbach_alpha(x[s]), n),
            mu_model,
            np.nan,
            source=stat_source,
        )
    for name in _ALL[:-1]:
        v = staff[name].to_numpy(float)
        add(
            f"{name}_mean",
            name,
            "mean total",
            "staff",
            "implied",
            v.mean(),
            v.std(ddof=1) / np.sqrt(n),
            _model_mean(name, 0.0),
            np.nan,
        )
    for key, flags, stat in (
        ("itq_cptsd", staff["itq"].to_numpy() == 2, "P(complex PTSD)"),
        ("pcl5_dsm5_rule", staff["pcl5_dsm5"].to_numpy(), "P(DSM-5 cluster rule met)"),
        (
            "iapt_caseness",
            iapt_caseness(staff["phq9"].to_numpy(), staff["gad7"].to_numpy()),
            "P(PHQ-9 >= 10 or GAD-7 >= 8)",
        ),
        ("wsas_gt20", staff["wsas"].to_numpy() > 20, "P(total > 20)"),
    ):
        sim, mcse = share(flags, np.nan)
        inst = {"itq_cptsd": "itq", "pcl5_dsm5_rule": "pcl5", "wsas_gt20": "wsas"}.get(
            key, "phq9+gad7"
        )
        add(key, inst, stat, "staff", "implied", sim, mcse, np.nan, np.nan)
    add(
        "mu_general_population",
        "gad7",
        "latent mean of the general population",
        "general",
        "implied",
        mu_gp,
        0.0,
        mu_gp,
        np.nan,
        source="solved from Löwe 2008 GAD-7 >= 10 (5%), >= 15 (1%), alpha 0.89",
    )

    return pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
