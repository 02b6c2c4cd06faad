"""Comparing waits between arms (e.g. regions with and without a hub, or several hub models).

A wait is a time-to-event record: ``duration`` from referral to the event (being seen),
``event = 1`` if the wait ended in the event and ``0`` if it was censored (still waiting
at the end of follow-up, or lost). Censored waits are kept: they count in the risk
sets up to their censoring time, as they must, instead of being dropped or treated as
completed.

:func:`compare_waits` gives Kaplan-Meier median waits per arm with Brookmeyer-Crowley
confidence intervals (from the log-log transformed Greenwood band, as ``lifelines``
does), the log-rank test, and the Cox proportional-hazards hazard ratio of each arm
against the reference arm, on the Efron (or Breslow) partial likelihood. The Estimate is
on the **log hazard ratio** scale; with the event "being seen", a hazard ratio above 1
(log HR > 0) means shorter waits in the comparison arm.

Waits of clients in one region share the region's services, staff and demand, so they
are not independent. With ``cluster=`` (the region) the Cox variance is the
cluster-robust sandwich of Lin & Wei (1989) (the score residuals summed within clusters,
as ``lifelines``' ``cluster_col`` computes it) with the small-sample factor ``G/(G-1)``
and a t(G-1) reference, and the Kaplan-Meier bands and median intervals come from a
bootstrap that resamples whole clusters.

The fitting is statsmodels': ``SurvfuncRight`` (Kaplan-Meier and Greenwood's variance),
``survdiff`` (log-rank) and ``PHReg`` (Cox, Newton-Raphson). This module adds the band's
log-log transform, the median and its limits (the first time the curve or band is at or
below one half, lifelines' convention; statsmodels' ``quantile`` takes the first time
strictly below) and the checks. No own kernel is kept: waits are compared once per
analysis, not in a Monte-Carlo loop (``compare_waits`` is not in
:data:`hubsim.power.ESTIMATORS`); ``benchmarks/bench_estimators.py`` measures the cost.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hubsim.checks import check_alpha
from hubsim.estimators._data import (
    handle_missing,
    require_binary,
    require_columns,
    require_numeric,
)
from hubsim.estimators._estimate import TIDY_COLUMNS, Estimate, EstimateView
from hubsim.stats import on_one_blas_thread, t_interval

__all__ = [
    "ARM_COLUMNS",
    "COMPARISON_COLUMNS",
    "WaitsComparison",
    "compare_waits",
    "cox_ph",
    "cox_score_residuals",
    "kaplan_meier",
]

ARM_COLUMNS = [
    "arm",
    "n",
    "events",
    "censored",
    "median",
    "median_ci_low",
    "median_ci_high",
]
KM_COLUMNS = ["time", "at_risk", "events", "survival", "ci_low", "ci_high"]


def kaplan_meier(duration: np.ndarray, event: np.ndarray, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier survival at each event time with a log-log (exponential Greenwood) band.

    Parameters
    ----------
    duration, event : array_like
        Times and event indicators (1 = event, 0 = censored).
    alpha : float
        1 - pointwise coverage of the band.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`KM_COLUMNS`, one row per distinct event time.

    Examples
    --------
    >>> kaplan_meier([1, 2, 2, 3], [1, 1, 0, 1])["survival"].round(3).tolist()
    [0.75, 0.5, 0.0]
    """
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=float)
    if not (e == 1).any():
        return pd.DataFrame(columns=KM_COLUMNS)
    from statsmodels.duration.survfunc import SurvfuncRight  # on use: ~0.1 s to import

    sf = SurvfuncRight(d, e)
    times = np.asarray(sf.surv_times, dtype=float)
    at_risk = np.asarray(sf.n_risk, dtype=float)
    deaths = np.asarray(sf.n_events, dtype=float)
    surv = np.asarray(sf.surv_prob, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Greenwood's relative SE, sqrt(sum d / (n (n - d))) = se(S) / S
        rel = np.asarray(sf.surv_prob_se, dtype=float) / surv
        # where the last events empty the risk set S is 0 and the band closes at 0
        rel[surv == 0] = 0.0
        v = np.log(surv)
        # v < 0, so subtracting z * sd / v raises log(-log S): the lower limit
        lower = np.exp(-np.exp(np.log(-v) - z * rel / v))
        upper = np.exp(-np.exp(np.log(-v) + z * rel / v))
    upper = np.where(np.isnan(upper), 1.0, upper)
    lower = np.where(np.isnan(lower), 1.0, lower)
    return pd.DataFrame(
        {
            "time": times,
            "at_risk": at_risk.astype(int),
            "events": deaths.astype(int),
            "survival": surv,
            "ci_low": lower,
            "ci_high": upper,
        },
        columns=KM_COLUMNS,
    )


def _first_at_or_below(times: np.ndarray, curve: np.ndarray, q: float = 0.5) -> float:
    """First time the step curve is at or below ``q`` (inf if it never is)."""
    hit = np.flatnonzero(curve <= q)
    return float(times[hit[0]]) if len(hit) else math.inf


def cox_ph(
    duration: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    *,
    ties: str = "efron",
    tol: float = 1e-12,
    max_iter: int = 100,
    groups: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Cox proportional-hazards fit (statsmodels' ``PHReg``, Newton-Raphson).

    Parameters
    ----------
    duration, event : array_like
        Times and event indicators.
    x : array_like, shape (n,) or (n, p)
        Covariates.
    ties : {"efron", "breslow"}
        Handling of tied event times.
    groups : array_like, optional
        Cluster labels: ``cov`` is then the robust (Lin-Wei) sandwich of the score
        residuals summed within clusters, without a small-sample factor.

    Returns
    -------
    beta : ndarray (p,)
        Log hazard ratios.
    cov : ndarray (p, p)
        Inverse observed information (or the cluster-robust sandwich).
    loglik : float
        Maximised log partial likelihood.

    Examples
    --------
    >>> beta, cov, _ = cox_ph([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], [1, 0, 1, 0, 1, 0])
    >>> round(float(beta[0]), 3)
    0.632
    """
    if ties not in ("efron", "breslow"):
        raise ValueError(f"cox_ph: ties must be 'efron' or 'breslow', got {ties!r}.")
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=float)
    xm = np.asarray(x, dtype=float)
    if xm.ndim == 1:
        xm = xm[:, None]
    from statsmodels.duration.hazard_regression import PHReg

    with warnings.catch_warnings():
        # a singular or divergent fit is reported below as one sentence
        warnings.simplefilter("ignore")
        try:
            fit = PHReg(d, xm, status=e, ties=ties).fit(disp=False, maxiter=max_iter, tol=tol)
            cov = np.asarray(fit.cov_params(), dtype=float)
            if groups is not None:
                # the Lin-Wei sandwich: inverse information around the cluster sums of
                # the score residuals (Efron's or Breslow's, as the fit's ties)
                sr = cox_score_residuals(d, e, xm, np.asarray(fit.params), ties=ties)
                g_codes = pd.factorize(np.asarray(groups), sort=True)[0]
                U = np.zeros((int(g_codes.max()) + 1, xm.shape[1]))
                np.add.at(U, g_codes, sr)
                cov = cov @ (U.T @ U) @ cov
        except np.linalg.LinAlgError as exc:
            raise ValueError(
                "cox_ph: the information matrix is singular (a covariate has no variation "
                "among the risk sets)."
            ) from exc
    beta = np.asarray(fit.params, dtype=float)
    if not np.all(np.isfinite(cov)):
        raise ValueError(
            "cox_ph: the information matrix is singular (a covariate has no variation "
            "among the risk sets)."
        )
    if not np.all(np.isfinite(beta)) or np.max(np.abs(beta)) > 50:
        raise ValueError(
            "cox_ph: the hazard ratio is not finite (one arm has all the events early or "
            "none at all: monotone likelihood)."
        )
    return beta, cov, float(fit.llf)


def cox_score_residuals(
    duration: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, *, ties: str = "efron"
) -> np.ndarray:
    """Cox score residuals (n x p) at ``beta``, with Efron's or Breslow's handling of ties.

    At an event time with ``D`` tied events, Efron's approximation takes ``D`` steps in
    which the tied subjects keep weight ``1 - l/D`` in the risk set. Each tied event then
    contributes ``x_i`` minus the mean of the steps' weighted covariate means, and every
    subject at risk ``-r_i * sum_l w_il (x_i - xbar_l) / S0_l`` (``r_i = exp(x_i beta)``),
    the decomposition R's ``survival`` uses; the residuals sum to the score. Summed within
    clusters they give the robust (Lin-Wei) variance; statsmodels' own score residuals use
    Breslow increments whatever the ties, so under Efron they do not match its Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> r = cox_score_residuals(np.array([1., 2, 2, 3]), np.array([1., 1, 1, 0]),
    ...                         np.array([[0.], [1], [0], [1]]), np.array([0.]))
    >>> r.shape
    (4, 1)
    """
    d = np.asarray(duration, dtype=float)
    e = np.asarray(event, dtype=float)
    X = np.asarray(x, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    n, p = X.shape
    lp = X @ beta
    r = np.exp(lp - lp.max())
    res = np.zeros((n, p))
    for tau in np.unique(d[e == 1]):
        risk = d >= tau
        dead = (d == tau) & (e == 1)
        D = int(dead.sum())
        S0 = float(r[risk].sum())
        S1 = (r[risk, None] * X[risk]).sum(axis=0)
        S0e = float(r[dead].sum())
        S1e = (r[dead, None] * X[dead]).sum(axis=0)
        steps = np.arange(D) / D if ties == "efron" else np.zeros(D)
        a = S0 - steps * S0e  # D
        b = S1[None, :] - steps[:, None] * S1e[None, :]  # D x p
        xbar = b / a[:, None]
        res[dead] += X[dead] - xbar.mean(axis=0)[None, :]
        # at-risk part: tied subjects carry weight 1 - l/D in step l (Efron), others 1
        idx = np.flatnonzero(risk)
        w = np.ones((len(idx), D))
        if ties == "efron":
            tied = dead[idx]
            w[tied] = 1.0 - steps[None, :]
        xi = X[idx]  # m x p
        # sum_l w_il (x_i - xbar_l) / a_l
        term = (w / a[None, :]).sum(axis=1)[:, None] * xi - (w / a[None, :]) @ xbar
        res[idx] -= r[idx, None] * term
    return res


def _logrank(d: np.ndarray, e: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """k-sample log-rank chi-square statistic and p-value (k - 1 df)."""
    from statsmodels.duration.survfunc import survdiff

    chi2, p = survdiff(d, e, g)
    return float(chi2), float(p)


def _cluster_km_bootstrap(
    d: np.ndarray,
    e: np.ndarray,
    arm_code: np.ndarray,
    cl: np.ndarray,
    n_arms: int,
    times: list[np.ndarray],
    *,
    B: int,
    alpha: float,
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Pointwise Kaplan-Meier bands and median draws by resampling whole clusters.

    For every arm and its event times, the curve is recomputed on ``B`` samples of the
    clusters drawn with replacement (each cluster's events and risk sets enter with its
    multiplicity), giving percentile bands; the medians of the draws give the median's
    percentile interval. Returns (lower, upper) per arm and the B x arms medians.
    """
    from hubsim.rng import stream

    G = int(cl.max()) + 1
    rng = stream(int(seed), "compare_waits", "cluster_bootstrap")
    counts = rng.multinomial(G, np.full(G, 1.0 / G), size=B).astype(float)  # B x G
    lows, highs = [], []
    medians = np.full((B, n_arms), np.inf)
    for a in range(n_arms):
        m = arm_code == a
        tj = times[a]
        if len(tj) == 0:
            lows.append(np.array([]))
            highs.append(np.array([]))
            continue
        da, ea, ca = d[m], e[m], cl[m]
        # events at each event time and numbers at risk, by cluster
        j = np.searchsorted(tj, da)
        ev = np.zeros((G, len(tj)))
        hit = (ea == 1) & (j < len(tj)) & (tj[np.minimum(j, len(tj) - 1)] == da)
        np.add.at(ev, (ca[hit], j[hit]), 1.0)
        risk = np.zeros((G, len(tj) + 1))
        # a wait of length da is at risk at every event time <= da
        k = np.searchsorted(tj, da, side="right")
        np.add.at(risk, (ca, k), 1.0)
        at_risk = np.cumsum(risk[:, ::-1], axis=1)[:, ::-1][:, 1:]  # G x J: d >= t_j
        D = counts @ ev
        N = counts @ at_risk
        with np.errstate(divide="ignore", invalid="ignore"):
            S = np.cumprod(np.where(N > 0, 1.0 - D / N, 1.0), axis=1)
        lows.append(np.quantile(S, alpha / 2, axis=0))
        highs.append(np.quantile(S, 1 - alpha / 2, axis=0))
        below = S <= 0.5
        first = np.argmax(below, axis=1)
        medians[:, a] = np.where(below.any(axis=1), tj[first], np.inf)
    return lows, highs, medians


@dataclass(frozen=True)
class WaitsComparison(EstimateView):
    """Kaplan-Meier medians per arm, log-rank test and Cox hazard ratios.

    Behaves like its :class:`Estimate` (the log hazard ratio of :attr:`comparison` against
    :attr:`reference`): ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``,
    ``rejects()``, ``covers()``.

    Attributes
    ----------
    arms : pandas.DataFrame
        Per arm (reference first): n, events, censored, KM median wait and its CI
        (:data:`ARM_COLUMNS`; ``inf`` when the survival curve or band never reaches 0.5).
    curves : dict
        Kaplan-Meier table (:data:`KM_COLUMNS`) per arm; with clusters its band is the
        cluster bootstrap's.
    comparisons : pandas.DataFrame
        One row per non-reference arm: its log hazard ratio against the reference with
        the fit's inference (:data:`COMPARISON_COLUMNS`).
    hazard_ratio, hr_ci_low, hr_ci_high : float
        ``exp`` of the headline log hazard ratio and of its limits.
    logrank_chi2, logrank_p : float
        The k-sample log-rank test (independent waits assumed).
    joint_stat, joint_p : float
        Joint test that every arm has the reference's hazard (Wald; with clusters the
        Hotelling-type F(k - 1, G - k + 1) of the robust covariance).
    """

    arms: pd.DataFrame
    curves: dict
    reference: object
    comparison: object
    logrank_chi2: float
    logrank_p: float
    _estimate: Estimate = field(repr=False)
    comparisons: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    joint_stat: float = math.nan
    joint_p: float = math.nan

    def to_estimate(self) -> Estimate:
        """The headline log hazard ratio as an :class:`Estimate`."""
        return self._estimate

    @property
    def hazard_ratio(self) -> float:
        return math.exp(self._estimate.estimate)

    @property
    def hr_ci_low(self) -> float:
        return math.exp(self._estimate.ci_low)

    @property
    def hr_ci_high(self) -> float:
        return math.exp(self._estimate.ci_high)

    def tidy(self) -> pd.DataFrame:
        """Every arm's log hazard ratio against the reference in DeclareDesign's column names."""
        return (
            self.comparisons[TIDY_COLUMNS].copy()
            if len(self.comparisons)
            else self._estimate.tidy()
        )

    def summary(self) -> str:
        """Medians per arm, the log-rank test and the hazard ratios, as text."""
        lines = [self._estimate.summary()]
        for r in self.comparisons.itertuples(index=False):
            lines.append(
                f"  hazard ratio {r.arm!r} vs {self.reference!r}: {math.exp(r.estimate):.3g} "
                f"({math.exp(r.conf_low):.3g} to {math.exp(r.conf_high):.3g}); > 1 means the "
                "event (end of wait) comes sooner."
            )
        if len(self.comparisons) > 1:
            lines.append(
                f"  joint test of equal hazards: {self.joint_stat:.3g}, p = {self.joint_p:.3g}"
            )
        lines.append(f"  log-rank chi2 = {self.logrank_chi2:.3g}, p = {self.logrank_p:.3g}")
        for r in self.arms.itertuples(index=False):
            lines.append(
                f"  arm {r.arm!r}: n={r.n}, events={r.events}, median wait {r.median:.4g} "
                f"({r.median_ci_low:.4g} to {r.median_ci_high:.4g})"
            )
        return "\n".join(lines)


COMPARISON_COLUMNS = ["arm", *TIDY_COLUMNS]


@on_one_blas_thread
def compare_waits(
    df: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    *,
    cluster: str | None = None,
    reference: object = None,
    comparison: object = None,
    ties: str = "efron",
    alpha: float = 0.05,
    B: int = 999,
    seed: int = 0,
    missing: str = "raise",
) -> WaitsComparison:
    """Compare waits between arms, respecting censoring and, with ``cluster``, clustering.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per person (or referral).
    duration : str
        Non-negative wait (time to the event or to censoring).
    event : str
        1 if the wait ended in the event (e.g. seen), 0 if censored.
    arm : str
        Column with two or more arms (e.g. hub / no hub, or several hub models).
    cluster : str, optional
        Cluster column (e.g. region). Then the Cox variance is the cluster-robust sandwich
        (score residuals summed by cluster) times ``G/(G-1)`` with a t(G-1) reference, and
        the Kaplan-Meier bands and median intervals come from ``B`` bootstrap samples of
        whole clusters (seeded by ``seed``). Without it waits are taken as independent.
    reference : optional
        The reference arm; default the first in sorted order (0 for a 0/1 column).
    comparison : optional
        The arm whose log hazard ratio is the headline Estimate; default the first
        non-reference arm in sorted order. Every arm's is in ``.comparisons``.
    ties : {"efron", "breslow"}
        Tie handling in the Cox partial likelihood.
    alpha : float
        1 - confidence level.
    B : int
        Cluster-bootstrap samples for the Kaplan-Meier bands (with ``cluster``).
    seed : int
        Seed of the cluster bootstrap.
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    WaitsComparison
        ``.arms``, ``.curves``, ``.comparisons``, ``.hazard_ratio``, log-rank and joint
        tests, ``.to_estimate()`` (the headline log hazard ratio with SE/CI/p).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> arm = np.repeat([0, 1], 200)
    >>> t = rng.exponential(np.where(arm == 1, 5.0, 10.0))
    >>> d = pd.DataFrame({"weeks": np.minimum(t, 20), "seen": (t < 20).astype(int), "hub": arm})
    >>> res = compare_waits(d, "weeks", "seen", "hub")
    >>> round(res.hazard_ratio, 1)
    2.2
    """
    where = "compare_waits"
    check_alpha(alpha, where)
    cols = [duration, event, arm] + ([cluster] if cluster is not None else [])
    require_columns(df, cols, where=where)
    data = handle_missing(df[cols], cols, missing=missing, where=where)
    require_numeric(data, duration, where=where)
    d = data[duration].to_numpy(dtype=float)
    if not np.all(np.isfinite(d)) or (d < 0).any():
        raise ValueError(f"{where}: column {duration!r} must hold finite non-negative waits.")
    try:
        e = require_binary(data, event, where=where).astype(float)
    except ValueError as exc:
        raise ValueError(
            f"{where}: event column {event!r} must be 1 (event) or 0 (censored)."
        ) from exc
    if not (isinstance(B, int | np.integer) and B >= 19):
        raise ValueError(f"{where}: B must be an integer of at least 19, got {B!r}.")
    levels = sorted(
        (v.item() if isinstance(v, np.generic) else v for v in pd.unique(data[arm])),
        key=lambda v: (str(type(v)), v),
    )
    if len(levels) < 2:
        raise ValueError(
            f"{where}: column {arm!r} must hold at least two arms, found {len(levels)}."
        )
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise ValueError(f"{where}: reference arm {reference!r} is not in column {arm!r}.")
    others = [v for v in levels if v != reference]
    if comparison is None:
        comparison = others[0]
    if comparison not in others:
        raise ValueError(
            f"{where}: comparison arm {comparison!r} is not a non-reference arm of column {arm!r}."
        )
    order = [reference, *others]
    values = data[arm].to_numpy()
    code = np.full(len(d), -1)
    for i, lv in enumerate(order):
        code[values == lv] = i
    for i, lv in enumerate(order):
        if e[code == i].sum() == 0:
            raise ValueError(
                f"{where}: arm {lv!r} of column {arm!r} has no events (all waits censored), "
                "so its hazard and median are not estimable."
            )
    cl = None
    G = len(d)
    if cluster is not None:
        cl = pd.factorize(data[cluster], sort=True)[0].astype(np.int64)
        G = int(cl.max()) + 1
        if G < 2:
            raise ValueError(
                f"{where}: column {cluster!r} has a single cluster; at least 2 are needed for "
                "cluster-robust inference."
            )

    rows, curves, times = [], {}, []
    for i, lv in enumerate(order):
        mask = code == i
        km = kaplan_meier(d[mask], e[mask], alpha=alpha)
        curves[lv] = km
        times.append(km["time"].to_numpy())
    meds_boot = None
    if cl is not None:
        lows, highs, meds_boot = _cluster_km_bootstrap(
            d, e, code, cl, len(order), times, B=int(B), alpha=alpha, seed=seed
        )
        for i, lv in enumerate(order):
            curves[lv] = curves[lv].assign(ci_low=lows[i], ci_high=highs[i])
    for i, lv in enumerate(order):
        mask = code == i
        km = curves[lv]
        t = km["time"].to_numpy()
        med = _first_at_or_below(t, km["survival"].to_numpy())
        if meds_boot is None:
            # the lower band reaches 0.5 first: it gives the lower limit of the median
            lo_m = _first_at_or_below(t, km["ci_low"].to_numpy())
            hi_m = _first_at_or_below(t, km["ci_high"].to_numpy())
        else:
            lo_m = float(np.quantile(meds_boot[:, i], alpha / 2))
            hi_m = float(np.quantile(meds_boot[:, i], 1 - alpha / 2))
        rows.append(
            (
                lv,
                int(mask.sum()),
                int(e[mask].sum()),
                int(mask.sum() - e[mask].sum()),
                med,
                lo_m,
                hi_m,
            )
        )
    arms = pd.DataFrame(rows, columns=ARM_COLUMNS)
    chi2, p_lr = _logrank(d, e, code)
    X = np.column_stack([(code == i).astype(float) for i in range(1, len(order))])
    beta, cov, _ = cox_ph(d, e, X, ties=ties, groups=cl)
    if cl is not None:
        cov = cov * G / (G - 1)
        df_ref = float(G - 1)
        how = (
            f"cluster-robust (Lin-Wei) variance by {G} clusters of column {cluster!r} with the "
            f"G/(G-1) factor and a t({G - 1}) reference"
        )
        if G <= 10:
            how += (
                f"; with {G} clusters the robust variance is itself imprecise, so treat the "
                "interval as approximate"
            )
    else:
        df_ref = math.inf
        how = "model-based (inverse information) variance; waits assumed independent"
    comp_rows = []
    for j, lv in enumerate(others):
        b, se = float(beta[j]), float(math.sqrt(cov[j, j]))
        p_w, lo, hi = t_interval(b, se, df_ref, alpha)
        comp_rows.append(
            {
                "arm": lv,
                "term": f"log_hazard_ratio[{lv}]",
                "estimate": b,
                "std_error": se,
                "statistic": b / se,
                "p_value": p_w,
                "conf_low": lo,
                "conf_high": hi,
                "df": df_ref,
                "n_obs": len(d),
                "n_clusters": G,
                "method": "compare_waits",
                "inference": "cluster" if cl is not None else "wald",
            }
        )
    comps = pd.DataFrame(comp_rows, columns=COMPARISON_COLUMNS)
    k1 = len(others)
    W = float(beta @ np.linalg.pinv(cov) @ beta)
    if cl is not None and G > k1:
        joint_stat = W * (G - k1) / (k1 * (G - 1))
        joint_p = float(stats.f.sf(joint_stat, k1, G - k1))
    else:
        joint_stat, joint_p = W, float(stats.chi2.sf(W, k1))
    head = comps.set_index("arm").loc[comparison]
    est = Estimate(
        estimate=float(head["estimate"]),
        se=float(head["std_error"]),
        ci_low=float(head["conf_low"]),
        ci_high=float(head["conf_high"]),
        p_value=float(head["p_value"]),
        n_obs=len(d),
        n_clusters=G,
        method="compare_waits",
        inference="cluster" if cl is not None else "wald",
        inference_note=(
            f"Cox proportional hazards ({ties} ties), Wald test on the log hazard ratio of "
            f"{comparison!r} vs {reference!r}; {how}."
        ),
        term="log_hazard_ratio",
        df=df_ref,
        alpha=alpha,
        extra={
            "hazard_ratio": math.exp(float(head["estimate"])),
            "logrank_chi2": chi2,
            "logrank_p": p_lr,
        },
    )
    return WaitsComparison(
        arms=arms,
        curves=curves,
        reference=reference,
        comparison=comparison,
        logrank_chi2=chi2,
        logrank_p=p_lr,
        _estimate=est,
        comparisons=comps,
        joint_stat=joint_stat,
        joint_p=joint_p,
    )
