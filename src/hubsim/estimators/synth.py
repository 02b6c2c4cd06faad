"""Synthetic control for one treated region against a donor pool (Abadie et al. 2010).

The synthetic region is the convex combination of donor regions (weights >= 0 summing
to 1) whose pre-period outcomes best match the treated region's in least squares. The
effect is the post-period gap between the treated region and its synthetic copy.

Inference is placebo-in-space: every donor in turn is treated as if it had been
treated, fitted from the other donors (never from the treated region), and the ratio of
post- to pre-period root mean squared prediction error (RMSPE) of the treated region
is ranked among all the ratios. The p-value is that rank divided by ``J + 1``. The
confidence interval inverts that test for a constant additive effect ``d``: the treated
gaps shifted by ``d`` are tested the same way (donor weights and placebo ratios do not
change), which gives a closed-form interval. With fewer than ``1/alpha - 1`` donors no
shift can be rejected and the interval is unbounded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubsim.checks import check_alpha
from hubsim.estimators._data import (
    handle_missing,
    require_columns,
    require_numeric,
)
from hubsim.estimators._estimate import Estimate, EstimateView
from hubsim.estimators.staggered import _balanced_wide
from hubsim.stats import on_one_blas_thread

__all__ = ["SyntheticControlResult", "simplex_least_squares", "synthetic_control"]

WEIGHT_COLUMNS = ["unit", "weight"]
GAP_COLUMNS = ["time", "post", "treated", "synthetic", "gap"]
PLACEBO_COLUMNS = ["unit", "pre_rmspe", "post_rmspe", "ratio", "effect", "is_treated"]


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto {w >= 0, sum w = 1} (sort-based, exact)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    idx = np.arange(1, len(v) + 1)
    rho = np.flatnonzero(u - css / idx > 0)[-1]
    theta = css[rho] / (rho + 1.0)
    return np.maximum(v - theta, 0.0)


def simplex_least_squares(a: np.ndarray, b: np.ndarray, *, max_iter: int = 1000) -> np.ndarray:
    """Minimise ``||a w - b||^2`` over the probability simplex.

    A primal active-set method (Lawson-Hanson for the simplex): start from the best
    single donor, add the donor whose gradient most violates optimality, solve the
    equality-constrained least squares on the active donors, and step back to the
    boundary whenever a weight would turn negative. It ends when the KKT conditions
    hold, so the solution is exact up to rounding and deterministic. If rounding ever
    stops it early, accelerated projected gradient finishes the job.

    Parameters
    ----------
    a : ndarray, shape (m, J)
        Donor outcomes in the pre-period (rows periods, columns donors).
    b : ndarray, shape (m,)
        Treated outcomes in the pre-period.

    Returns
    -------
    ndarray, shape (J,)
        The weights.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> simplex_least_squares(a, np.array([0.25, 0.75])).round(6).tolist()
    [0.25, 0.75]
    """
    _, j = a.shape
    if j == 1:
        return np.ones(1)
    q = a.T @ a
    c = a.T @ b
    scale = max(1.0, float(np.abs(q).max()), float(np.abs(c).max()))
    tol = 1e-11 * scale
    w = np.zeros(j)
    first = int(np.argmin(np.diag(q) - 2 * c))
    w[first] = 1.0
    active = np.zeros(j, dtype=bool)
    active[first] = True
    for _ in range(max_iter):
        g = q @ w - c
        mu = float(g[active].mean())
        slack = np.where(active, np.inf, g - mu)
        enter = int(np.argmin(slack))
        if slack[enter] >= -tol:
            return w
        active[enter] = True
        for _inner in range(j + 1):
            idx = np.flatnonzero(active)
            k = len(idx)
            kkt = np.zeros((k + 1, k + 1))
            kkt[:k, :k] = q[np.ix_(idx, idx)]
            kkt[:k, k] = 1.0
            kkt[k, :k] = 1.0
            v = np.linalg.lstsq(kkt, np.concatenate([c[idx], [1.0]]), rcond=None)[0][:k]
            if np.all(v > 1e-14):
                w = np.zeros(j)
                w[idx] = v
                break
            # move from w towards v until the first weight hits zero, drop it
            cur = w[idx]
            neg = v <= 1e-14
            steps = np.full(k, np.inf)
            with np.errstate(divide="ignore", invalid="ignore"):
                steps[neg] = cur[neg] / (cur[neg] - v[neg])
            steps[neg & ~np.isfinite(steps)] = 0.0  # 0/0: a weight already at zero
            step = float(np.clip(steps.min(), 0.0, 1.0))
            new = cur + step * (v - cur)
            new[neg & (steps <= step + 1e-15)] = 0.0
            new[new <= 1e-14] = 0.0
            w = np.zeros(j)
            w[idx] = new
            w /= w.sum()
            active = w > 0
    return _projected_gradient(q, c, w)


def _projected_gradient(
    q: np.ndarray, c: np.ndarray, w: np.ndarray, max_iter: int = 50000
) -> np.ndarray:
    """FISTA with restarts on the simplex, stopped by the Frank-Wolfe duality gap."""
    lip = float(np.linalg.eigvalsh(q)[-1])
    if lip <= 0:
        return w
    z, tk = w.copy(), 1.0
    scale = max(1.0, float(np.abs(c).max()))
    for _ in range(max_iter):
        w_new = _project_simplex(z - (q @ z - c) / lip)
        g = q @ w_new - c
        if float(g @ w_new - g.min()) <= 1e-13 * scale:
            return w_new
        t_new = 0.5 * (1 + math.sqrt(1 + 4 * tk * tk))
        if float((w_new - w) @ (q @ z - c)) > 0:  # momentum points uphill: restart
            z, tk = w_new.copy(), 1.0
        else:
            z, tk = w_new + ((tk - 1) / t_new) * (w_new - w), t_new
        w = w_new
    return w


def _fit_one(y_treated: np.ndarray, y_donors: np.ndarray, pre: np.ndarray):
    """Weights, synthetic path, pre and post RMSPE for one treated series."""
    w = simplex_least_squares(y_donors[:, pre].T, y_treated[pre])
    synth = w @ y_donors
    gap = y_treated - synth
    pre_rmspe = float(np.sqrt(np.mean(gap[pre] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[~pre] ** 2)))
    return w, synth, gap, pre_rmspe, post_rmspe


@dataclass(frozen=True)
class SyntheticControlResult(EstimateView):
    """A synthetic-control fit and its placebo-in-space inference.

    Behaves like its :class:`Estimate` (``estimate``, ``se``, ``ci_low``, ``ci_high``,
    ``p_value``, ``rejects()``, ``covers()``), which :meth:`to_estimate` returns.

    Attributes
    ----------
    weights : pandas.DataFrame
        Donor weights (columns :data:`WEIGHT_COLUMNS`), largest first.
    gaps : pandas.DataFrame
        Treated, synthetic and gap per period (:data:`GAP_COLUMNS`).
    placebos : pandas.DataFrame or None
        Per unit (treated and each donor): pre/post RMSPE, their ratio and the mean
        post gap (:data:`PLACEBO_COLUMNS`); None when placebos were not run.
    """

    weights: pd.DataFrame
    gaps: pd.DataFrame
    placebos: pd.DataFrame | None
    treated_unit: object
    treatment_time: float
    _estimate: Estimate = field(repr=False)

    def to_estimate(self) -> Estimate:
        """The mean post-period gap as an :class:`Estimate`."""
        return self._estimate

    def tidy(self) -> pd.DataFrame:
        """The effect in DeclareDesign's column names."""
        return self._estimate.tidy()

    def summary(self) -> str:
        """Effect, inference, pre-period fit and the main donors, as text."""
        e = self._estimate
        top = self.weights[self.weights["weight"] > 0.005].head(8)
        donors = ", ".join(f"{u} {w:.2f}" for u, w in zip(top["unit"], top["weight"], strict=True))
        pre = self.gaps.loc[self.gaps["post"] == 0, "gap"]
        return (
            f"{e.summary()}\n  pre-period RMSPE {np.sqrt(np.mean(pre**2)):.4g}; weights: {donors}"
        )


@on_one_blas_thread
def synthetic_control(
    df: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treated_unit: object,
    treatment_time: float,
    *,
    donors: list | None = None,
    placebo: bool = True,
    alpha: float = 0.05,
    missing: str = "raise",
) -> SyntheticControlResult:
    """Synthetic-control estimate of the effect on one treated unit.

    Parameters
    ----------
    df : pandas.DataFrame
        Balanced panel, one row per ``unit`` and ``time``.
    y, unit, time : str
        Outcome, unit and numeric period columns.
    treated_unit : object
        The value of ``unit`` that was treated.
    treatment_time : float
        The first treated period; periods before it are the fitting (pre) period.
    donors : list, optional
        Donor units; default every other unit. Donors must be untreated throughout.
    placebo : bool
        Run placebo-in-space inference (one refit per donor). Without it the p-value
        and interval are NaN.
    alpha : float
        Level of the test and 1 - coverage of the test-inversion interval.
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    SyntheticControlResult
        ``.weights``, ``.gaps``, ``.placebos``, ``.to_estimate()``, ``.tidy()``.
        The Estimate is the mean post-period gap; ``se`` is NaN (placebo inference has
        none), ``p_value`` the RMSPE-ratio rank p-value.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> rows = [(u, t, u % 3 + 0.1 * t + rng.normal(0, 0.1) + (1.0 if u == 0 and t >= 10 else 0.0))
    ...         for u in range(12) for t in range(15)]
    >>> d = pd.DataFrame(rows, columns=["region", "month", "y"])
    >>> res = synthetic_control(d, "y", "region", "month", treated_unit=0, treatment_time=10)
    >>> round(res.estimate, 1)
    0.9
    """
    where = "synthetic_control"
    check_alpha(alpha, where)
    require_columns(df, [y, unit, time], where=where)
    data = handle_missing(df[[y, unit, time]], [y, unit, time], missing=missing, where=where)
    require_numeric(data, y, where=where)
    require_numeric(data, time, where=where)
    units, tlist, ymat = _balanced_wide(data, y, unit, time, where=where)
    ulist = list(units)
    if treated_unit not in ulist:
        raise ValueError(f"{where}: treated unit {treated_unit!r} is not in column {unit!r}.")
    if donors is None:
        donor_list = [u for u in ulist if u != treated_unit]
    else:
        missing_d = [d for d in donors if d not in ulist]
        if missing_d:
            raise ValueError(f"{where}: donor {missing_d[0]!r} is not in column {unit!r}.")
        if treated_unit in donors:
            raise ValueError(f"{where}: the treated unit {treated_unit!r} cannot be its own donor.")
        donor_list = list(dict.fromkeys(donors))
    if len(donor_list) < 1:
        raise ValueError(
            f"{where}: the donor pool in column {unit!r} is empty; at least one donor is needed."
        )
    pre = tlist.astype(float) < float(treatment_time)
    if pre.sum() < 1:
        raise ValueError(
            f"{where}: treated unit {treated_unit!r} has no period before treatment_time="
            f"{treatment_time!r} in column {time!r}, so there is nothing to fit weights on."
        )
    if (~pre).sum() < 1:
        raise ValueError(
            f"{where}: no period at or after treatment_time={treatment_time!r} in column {time!r}."
        )

    row = {u: i for i, u in enumerate(ulist)}
    y1 = ymat[row[treated_unit]]
    y0 = ymat[[row[d] for d in donor_list]]
    w, synth, gap, pre_rmspe, post_rmspe = _fit_one(y1, y0, pre)
    effect = float(gap[~pre].mean())

    placebos = None
    p_value = ci_low = ci_high = math.nan
    note = "no placebo inference was run."
    no_test = False
    if placebo:
        recs = [(treated_unit, pre_rmspe, post_rmspe, _ratio(post_rmspe, pre_rmspe), effect, True)]
        if len(donor_list) >= 2:
            for i, d in enumerate(donor_list):
                others = np.delete(y0, i, axis=0)
                _, _, g_d, pre_d, post_d = _fit_one(y0[i], others, pre)
                recs.append(
                    (d, pre_d, post_d, _ratio(post_d, pre_d), float(g_d[~pre].mean()), False)
                )
        placebos = pd.DataFrame(recs, columns=PLACEBO_COLUMNS)
        ratios = placebos.loc[~placebos["is_treated"], "ratio"].to_numpy()
        n_all = len(ratios) + 1
        r_treated = recs[0][3]
        p_value = float((1 + np.sum(ratios >= r_treated)) / n_all)
        ci_low, ci_high = _invert(gap[~pre], pre_rmspe, ratios, alpha)
        note = (
            f"placebo-in-space: rank of the post/pre RMSPE ratio among {n_all} units "
            f"(smallest attainable p = {1 / n_all:.3g}); CI by inverting that test for a "
            "constant effect."
        )
        if 1 / n_all >= alpha:
            note += (
                f" With {len(ratios)} donors the smallest p-value is {1 / n_all:.3g}, so no test "
                f"at level {alpha:g} exists: nothing is rejected."
            )
            no_test = True

    est = Estimate(
        estimate=effect,
        se=math.nan,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        n_obs=int(ymat[[row[treated_unit]] + [row[d] for d in donor_list]].size),
        n_clusters=len(donor_list) + 1,
        method="synthetic_control",
        inference="placebo" if placebo else "none",
        inference_note=note,
        term="att",
        alpha=alpha,
        extra={"pre_rmspe": pre_rmspe, "post_rmspe": post_rmspe}
        | ({"no_level_alpha_test": True} if no_test else {}),
    )
    weights = (
        pd.DataFrame({"unit": donor_list, "weight": w}, columns=WEIGHT_COLUMNS)
        .sort_values("weight", ascending=False, kind="mergesort")
        .reset_index(drop=True)
    )
    gaps = pd.DataFrame(
        {"time": tlist, "post": (~pre).astype(int), "treated": y1, "synthetic": synth, "gap": gap},
        columns=GAP_COLUMNS,
    )
    return SyntheticControlResult(
        weights=weights,
        gaps=gaps,
        placebos=placebos,
        treated_unit=treated_unit,
        treatment_time=float(treatment_time),
        _estimate=est,
    )


def _ratio(post: float, pre: float) -> float:
    if pre > 0:
        return post / pre
    return math.inf if post > 0 else math.nan


def _invert(post_gap: np.ndarray, pre_rmspe: float, ratios: np.ndarray, alpha: float):
    """Interval of constant effects ``d`` the placebo test does not reject at ``alpha``.

    Shifting the treated post gaps by ``d`` gives ratio r(d) with
    ``r(d)^2 pre^2 = mean((gap - d)^2)``; ``d`` is kept when
    ``(1 + #{placebo ratio >= r(d)}) / (J + 1) > alpha``, i.e. when r(d) is at most the
    m-th largest placebo ratio, m the smallest count that makes the p-value exceed alpha.
    """
    n_all = len(ratios) + 1
    m = 0  # smallest count of placebo ratios >= r(d) that keeps the p-value above alpha
    while (1 + m) / n_all <= alpha:
        m += 1
    if m == 0:
        return -math.inf, math.inf
    if m > len(ratios):
        return math.nan, math.nan
    q = np.sort(ratios)[::-1][m - 1]
    if not np.isfinite(q):
        return (-math.inf, math.inf) if q > 0 else (math.nan, math.nan)
    centre = float(post_gap.mean())
    spread = float(np.mean((post_gap - centre) ** 2))
    room = q * q * pre_rmspe * pre_rmspe - spread
    if room < 0:
        return math.nan, math.nan
    half = math.sqrt(room)
    return centre - half, centre + half
