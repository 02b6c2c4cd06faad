"""Comparing waits between two arms (e.g. regions with and without a hub).

A wait is a time-to-event record: ``duration`` from referral to the event (being seen),
``event = 1`` if the wait ended in the event and ``0`` if it was censored (still waiting
at the end of follow-up, or lost). Censored waits are kept: they count in the risk
sets up to their censoring time, as they must, instead of being dropped or treated as
completed.

:func:`compare_waits` gives Kaplan-Meier median waits per arm with Brookmeyer-Crowley
confidence intervals (from the log-log transformed Greenwood band, as ``lifelines``
does), the log-rank test, and the Cox proportional-hazards hazard ratio of the
comparison arm against the reference arm, on the Efron (or Breslow) partial likelihood.
The Estimate is on the **log hazard ratio** scale; with the event "being seen", a hazard
ratio above 1 (log HR > 0) means shorter waits in the comparison arm.

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
from hubsim.estimators._estimate import Estimate, EstimateView
from hubsim.stats import t_interval

__all__ = ["ARM_COLUMNS", "WaitsComparison", "compare_waits", "cox_ph", "kaplan_meier"]

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

    Returns
    -------
    beta : ndarray (p,)
        Log hazard ratios.
    cov : ndarray (p, p)
        Inverse observed information.
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


def _logrank(d: np.ndarray, e: np.ndarray, g: np.ndarray) -> tuple[float, float]:
    """Two-sample log-rank chi-square statistic and p-value (1 df)."""
    from statsmodels.duration.survfunc import survdiff

    chi2, p = survdiff(d, e, g)
    return float(chi2), float(p)


@dataclass(frozen=True)
class WaitsComparison(EstimateView):
    """Kaplan-Meier medians per arm, log-rank test and Cox hazard ratio.

    Behaves like its :class:`Estimate` (log hazard ratio): ``estimate``, ``se``,
    ``ci_low``, ``ci_high``, ``p_value``, ``rejects()``, ``covers()``.

    Attributes
    ----------
    arms : pandas.DataFrame
        Per arm (reference first): n, events, censored, KM median wait and its CI
        (:data:`ARM_COLUMNS`; ``inf`` when the survival curve or band never reaches 0.5).
    curves : dict
        Kaplan-Meier table (:data:`KM_COLUMNS`) per arm.
    hazard_ratio, hr_ci_low, hr_ci_high : float
        ``exp`` of the log hazard ratio and of its Wald limits.
    logrank_chi2, logrank_p : float
        Two-sample log-rank test.
    """

    arms: pd.DataFrame
    curves: dict
    reference: object
    comparison: object
    logrank_chi2: float
    logrank_p: float
    _estimate: Estimate = field(repr=False)

    def to_estimate(self) -> Estimate:
        """The log hazard ratio as an :class:`Estimate`."""
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
        """The log hazard ratio in DeclareDesign's column names."""
        return self._estimate.tidy()

    def summary(self) -> str:
        """Medians per arm, the log-rank test and the hazard ratio, as text."""
        lines = [self._estimate.summary()]
        lines.append(
            f"  hazard ratio {self.comparison!r} vs {self.reference!r}: {self.hazard_ratio:.3g} "
            f"({self.hr_ci_low:.3g} to {self.hr_ci_high:.3g}); > 1 means the event (end of wait) "
            "comes sooner."
        )
        lines.append(f"  log-rank chi2 = {self.logrank_chi2:.3g}, p = {self.logrank_p:.3g}")
        for r in self.arms.itertuples(index=False):
            lines.append(
                f"  arm {r.arm!r}: n={r.n}, events={r.events}, median wait {r.median:.4g} "
                f"({r.median_ci_low:.4g} to {r.median_ci_high:.4g})"
            )
        return "\n".join(lines)


def compare_waits(
    df: pd.DataFrame,
    duration: str,
    event: str,
    arm: str,
    *,
    reference: object = None,
    ties: str = "efron",
    alpha: float = 0.05,
    missing: str = "raise",
) -> WaitsComparison:
    """Compare waits between two arms, respecting censoring.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per person (or referral).
    duration : str
        Non-negative wait (time to the event or to censoring).
    event : str
        1 if the wait ended in the event (e.g. seen), 0 if censored.
    arm : str
        Column with exactly two arms (e.g. hub / no hub).
    reference : optional
        The reference arm; default the first in sorted order (0 for a 0/1 column).
    ties : {"efron", "breslow"}
        Tie handling in the Cox partial likelihood.
    alpha : float
        1 - confidence level.
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    WaitsComparison
        ``.arms``, ``.curves``, ``.hazard_ratio``, log-rank results, ``.to_estimate()``
        (log hazard ratio of the comparison arm vs the reference, Wald SE/CI/p).

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
    require_columns(df, [duration, event, arm], where=where)
    data = handle_missing(
        df[[duration, event, arm]], [duration, event, arm], missing=missing, where=where
    )
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
    levels = sorted(
        (v.item() if isinstance(v, np.generic) else v for v in pd.unique(data[arm])),
        key=lambda v: (str(type(v)), v),
    )
    if len(levels) != 2:
        raise ValueError(
            f"{where}: column {arm!r} must hold exactly two arms, found {len(levels)}."
        )
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise ValueError(f"{where}: reference arm {reference!r} is not in column {arm!r}.")
    comparison = levels[1] if reference == levels[0] else levels[0]
    g = (data[arm] == comparison).to_numpy().astype(float)
    for lvl, mask in ((reference, g == 0), (comparison, g == 1)):
        if e[mask].sum() == 0:
            raise ValueError(
                f"{where}: arm {lvl!r} of column {arm!r} has no events (all waits censored), "
                "so its hazard and median are not estimable."
            )

    rows, curves = [], {}
    for lvl, mask in ((reference, g == 0), (comparison, g == 1)):
        km = kaplan_meier(d[mask], e[mask], alpha=alpha)
        curves[lvl] = km
        t = km["time"].to_numpy()
        rows.append(
            (
                lvl,
                int(mask.sum()),
                int(e[mask].sum()),
                int(mask.sum() - e[mask].sum()),
                _first_at_or_below(t, km["survival"].to_numpy()),
                # the lower band reaches 0.5 first: it gives the lower limit of the median
                _first_at_or_below(t, km["ci_low"].to_numpy()),
                _first_at_or_below(t, km["ci_high"].to_numpy()),
            )
        )
    arms = pd.DataFrame(rows, columns=ARM_COLUMNS)
    chi2, p_lr = _logrank(d, e, g)
    beta, cov, _ = cox_ph(d, e, g, ties=ties)
    b, se = float(beta[0]), float(math.sqrt(cov[0, 0]))
    p_wald, lo, hi = t_interval(b, se, math.inf, alpha)
    est = Estimate(
        estimate=b,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p_wald,
        n_obs=len(d),
        n_clusters=len(d),
        method="compare_waits",
        inference="wald",
        inference_note=(
            f"Cox proportional hazards ({ties} ties), Wald test on the log hazard ratio of "
            f"{comparison!r} vs {reference!r}; individuals assumed independent."
        ),
        term="log_hazard_ratio",
        alpha=alpha,
        extra={"hazard_ratio": math.exp(b), "logrank_chi2": chi2, "logrank_p": p_lr},
    )
    return WaitsComparison(
        arms=arms,
        curves=curves,
        reference=reference,
        comparison=comparison,
        logrank_chi2=chi2,
        logrank_p=p_lr,
        _estimate=est,
    )
