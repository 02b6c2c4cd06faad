"""Shared numerics: Monte-Carlo standard errors, t intervals and the CR1 sandwich.

One home for the small formulas that several layers use, so that a replication summary
of the DES, a paired scenario difference, a diagnosand and a regression coefficient all
compute an interval the same way. Imports numpy, scipy and threadpoolctl only, so every
layer may use it.

- :func:`mean_mcse`: a mean and its Monte-Carlo SE ``sd / sqrt(n)`` over the finite
  values (per column of a 2-D array with ``axis=0``);
- :func:`proportion_mcse`: a share and its binomial MCSE ``sqrt(p (1 - p) / n)``;
- :func:`t_interval`: two-sided p-value and confidence limits of ``estimate / se`` on a
  t reference (``df = inf`` for the normal), scalar or vectorised;
- :func:`bounded_t_interval`: a t interval kept inside the range the quantity can take
  (a share in [0, 1], a count or a wait at or above 0), with a flag where it was clipped;
- :func:`cr1_factor` and :func:`cr1_se`: the CR1 cluster-robust variance, with the
  small-sample factor ``G/(G-1) * (N-1)/(N-K)`` (pyfixest's default convention);
- :func:`one_blas_thread` and :func:`on_one_blas_thread`: BLAS limited to one thread while
  the estimators' many small products run (a context manager and a decorator).

Examples
--------
>>> import numpy as np
>>> m, se, n = mean_mcse(np.array([1.0, 2.0, 3.0, np.nan]))
>>> m, round(se, 4), n
(2.0, 0.5774, 3)
>>> proportion_mcse(np.array([True, False, True, True]))
(0.75, 0.21650635094610965)
>>> p, lo, hi = t_interval(1.0, 0.5, 10, 0.05)
>>> round(p, 4), round(lo, 3), round(hi, 3)
(0.0734, -0.114, 2.114)
>>> p, lo, hi, clipped = bounded_t_interval(0.998, 0.001, 2, 0.05, low=0.0, high=1.0)
>>> round(lo, 4), hi, clipped
(0.9937, 1.0, True)
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats as _st
from threadpoolctl import ThreadpoolController

__all__ = [
    "bounded_t_interval",
    "cr1_factor", "cr1_se", "mean_mcse", "on_one_blas_thread", "one_blas_thread",
    "proportion_mcse", "t_interval",
]


def mean_mcse(values, axis: int | None = None):
    """Mean of the finite values, its Monte-Carlo SE (``sd / sqrt(n)``) and their count.

    Parameters
    ----------
    values : array_like
        Replications or simulations; NaN and infinite values are left out.
    axis : {None, 0}
        ``None``: one mean of everything, returned as ``(float, float, int)``. ``0``: a mean
        per column of a 2-D array (replications in rows), returned as three arrays.

    Returns
    -------
    mean, mcse, n
        NaN mean without a finite value; NaN MCSE with fewer than two.
    """
    x = np.asarray(values, dtype=float)
    if axis is None:
        x = x.ravel()
        x = x[np.isfinite(x)]
        n = len(x)
        if n == 0:
            return math.nan, math.nan, 0
        if n == 1:
            return float(x[0]), math.nan, 1
        return float(x.mean()), float(x.std(ddof=1) / math.sqrt(n)), n
    if axis != 0:
        raise ValueError(f"mean_mcse: axis must be None or 0, got {axis!r}.")
    ok = np.isfinite(x)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(x, axis=0) / np.maximum(n, 1), np.nan)
        dev = np.where(ok, x - mean, 0.0)
        sd = np.sqrt((dev**2).sum(axis=0) / np.maximum(n - 1, 1))
        mcse = np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, mcse, n


def proportion_mcse(hits) -> tuple[float, float]:
    """Share of true values and its binomial MCSE (NaN, NaN for no values)."""
    h = np.asarray(hits)
    n = len(h)
    if n == 0:
        return math.nan, math.nan
    p = float(np.mean(h))
    return p, math.sqrt(p * (1 - p) / n)


def t_interval(estimate, se, df, alpha: float):
    """Two-sided p-value and ``1 - alpha`` confidence limits of ``estimate`` with SE ``se``.

    The reference is Student's t with ``df`` degrees of freedom (the normal for
    ``df = inf``). Scalars give floats (NaN where ``se`` is not positive); arrays give
    arrays.

    Returns
    -------
    p_value, ci_low, ci_high
    """
    if np.ndim(estimate) == 0 and np.ndim(se) == 0:
        if not se > 0:
            return math.nan, math.nan, math.nan
        t = estimate / se
        if math.isinf(df):
            p = float(2 * _st.norm.sf(abs(t)))
            q = float(_st.norm.ppf(1 - alpha / 2))
        else:
            p = float(2 * _st.t.sf(abs(t), df))
            q = float(_st.t.ppf(1 - alpha / 2, df))
        return p, estimate - q * se, estimate + q * se
    est, s = np.asarray(estimate, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / s
    if np.isinf(df):
        p = 2 * _st.norm.sf(np.abs(t))
        q = _st.norm.ppf(1 - alpha / 2)
    else:
        p = 2 * _st.t.sf(np.abs(t), df)
        q = _st.t.ppf(1 - alpha / 2, df)
    return p, est - q * s, est + q * s


def bounded_t_interval(
    estimate: float,
    se: float,
    df: float,
    alpha: float,
    *,
    low: float = -math.inf,
    high: float = math.inf,
) -> tuple[float, float, float, bool]:
    """A t interval clipped to the range ``[low, high]`` the quantity can take.

    A mean over few replications of a share near 1 (or of a waiting list near 0) gives a
    symmetric t interval that crosses the bound. Clipping it at the bound keeps the t
    interval's coverage (the true value lies inside the range, so no covering interval
    loses it) and reads honestly; the flag lets a printed summary say so. With ``se == 0``
    (every replication equal) the interval is the point itself.

    Returns
    -------
    p_value, ci_low, ci_high, clipped
        ``p_value`` is that of :func:`t_interval` (NaN for ``se == 0``); NaN limits for
        a NaN or negative ``se``.

    Examples
    --------
    >>> p, lo, hi, clipped = bounded_t_interval(0.02, 0.02, 2, 0.05, low=0.0)
    >>> lo, round(hi, 4), clipped
    (0.0, 0.1061, True)
    """
    if low > high:
        raise ValueError(f"bounded_t_interval: low ({low}) is above high ({high}).")
    if se == 0:
        return math.nan, float(estimate), float(estimate), False
    p, lo, hi = t_interval(estimate, se, df, alpha)
    if math.isnan(lo):
        return p, lo, hi, False
    clipped = bool(lo < low or hi > high)
    return p, float(max(lo, low)), float(min(hi, high)), clipped


def cr1_factor(n_clusters: int, n_obs: int, n_params: int) -> float:
    """CR1 small-sample factor ``G/(G-1) * (N-1)/(N-K)``.

    ``K`` counts the regressors and the fixed-effect levels not nested in the clusters
    (pyfixest's convention). The same factor, with periods as ``G``, scales
    Driscoll-Kraay errors.
    """
    G, n = n_clusters, n_obs
    return G / (G - 1) * (n - 1) / (n - n_params)


def cr1_se(scores, xx, factor: float):
    """CR1 standard error of a single-regressor coefficient from its cluster scores.

    Parameters
    ----------
    scores : numpy.ndarray
        Per-cluster sums of ``x * u`` (``G``), or one column per outcome (``G x S``).
    xx : float
        ``x'x`` of the (partialled, weighted) regressor.
    factor : float
        :func:`cr1_factor`.
    """
    if scores.ndim == 1:
        return math.sqrt(factor * float(scores @ scores)) / xx
    return np.sqrt(factor * np.einsum("gs,gs->s", scores, scores)) / xx


_CONTROLLER = None


def one_blas_thread():
    """A context manager that runs BLAS and LAPACK on one thread, restoring it on exit.

    The estimators' design matrices are small (hundreds of rows) and each fit does many
    products (a wild bootstrap refits every restricted model; Callaway-Sant'Anna's
    randomization test one per draw). OpenBLAS's threads cost more than they save at that
    size, and far more when two processes share the cores (the test tier's workers,
    ``--workers 2``, a Dask cluster), where its spinning threads contend: an event study
    and a Callaway-Sant'Anna fit on a 42-region panel took 0.27-0.29 times as long on one
    thread with two processes at once, and 0.80-1.04 times in one process
    (benchmarks/bench_estimators.py prints both ratios). Nesting is safe: the innermost
    exit restores the enclosing limit. The libraries are found once, at the first call (by
    then numpy's and scipy's BLAS are loaded); each entry then costs a few microseconds.

    Examples
    --------
    >>> import numpy as np
    >>> with one_blas_thread():
    ...     float(np.linalg.lstsq(np.eye(3), np.ones(3), rcond=None)[0].sum())
    3.0
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def on_one_blas_thread(fn):
    """Decorate ``fn`` to run inside :func:`one_blas_thread`.

    Examples
    --------
    >>> @on_one_blas_thread
    ... def gram(x):
    ...     return x.T @ x
    >>> gram(np.ones((4, 2))).tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return fn(*args, **kwargs)

    return wrapper
