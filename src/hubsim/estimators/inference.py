"""Inference on one regression coefficient with clustered errors.

Every linear estimator in :mod:`hubsim.estimators.linear` reduces its coefficient of
interest to a *single-regressor* problem by the Frisch-Waugh-Lovell theorem: the fixed
effects and the other regressors are partialled out of the outcome and of the focal
regressor (exactly, see :class:`FEProjector`), and weights enter as square-root scaling.
:class:`LinearCore` holds that reduced problem, and the functions below compute

- ``"cr1"``: cluster-robust variance with the small-sample factor
  ``G/(G-1) * (N-1)/(N-K)`` and a t(G-1) reference (pyfixest's default convention, with
  fixed effects nested in the clusters not counted in K);
- ``"cr2"``: Bell-McCaffrey bias-reduced variance with Imbens-Kolesar degrees of freedom,
  using the hat matrix of the *full* model (fixed effects included);
- ``"wild"``: wild cluster restricted bootstrap (WCR, null imposed) with Rademacher or
  Webb weights, full enumeration of Rademacher signs when ``2**G <= B``, p-values as
  wildboottest defines them and confidence intervals by test inversion;
- ``"ri"``: randomization inference permuting treatment paths (adoption dates) across
  units, on the CR1 t-statistic, with intervals by inverting sharp nulls;
- ``"conley_taber"``: Conley and Taber (2011) inference for few treated units, using
  the residuals of the untreated units to approximate the error of the estimate.

All random draws come from a ``seed`` argument; nothing touches global state. The
bootstrap and the permutations are matrices (clusters x draws), so one call costs a few
milliseconds on region-period data.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from hubsim.stats import cr1_factor, cr1_se

INFERENCES = ("auto", "cr1", "cr2", "wild", "ri", "conley_taber")
WILD_WEIGHTS = ("rademacher", "webb")

_MAX_WILD_CLUSTERS = 5000

_WEBB_VALUES = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two long vectors without BLAS.

    A multi-threaded BLAS dot on a busy machine costs milliseconds for 10^5 entries; the
    plain einsum loop costs tens of microseconds and is deterministic.
    """
    return float(np.einsum("i,i->", a, b))


# ---------------------------------------------------------------------------------------
# Exact fixed-effect projections
# ---------------------------------------------------------------------------------------


class FEProjector:
    """Exact weighted projection on one or two sets of fixed effects.

    For two factors the normal equations are reduced to a small system in the factor
    with fewer levels, whose pseudo-inverse is computed once; residuals are therefore
    exact (no iteration) on balanced and unbalanced panels alike, and disconnected
    designs are handled by the pseudo-inverse.

    Parameters
    ----------
    factors : sequence of numpy.ndarray
        One to three integer code arrays (0..L-1) of length N. An all-zero array is the
        intercept. Three factors (the triple-differences interactions) are projected by
        demeaning within the factor with most levels and an orthonormal basis of the other
        two factors' demeaned dummies, also exact.
    weights : numpy.ndarray
        Positive weights of length N.

    Examples
    --------
    >>> import numpy as np
    >>> unit = np.repeat(np.arange(3), 4); time = np.tile(np.arange(4), 3)
    >>> p = FEProjector([unit, time], np.ones(12))
    >>> e = p.resid(np.add.outer(unit, time).astype(float))
    >>> bool(np.allclose(e, 0))
    True
    """

    def __init__(self, factors: Sequence[np.ndarray], weights: np.ndarray):
        if not 1 <= len(factors) <= 3:
            raise ValueError("FEProjector: one to three factors are supported.")
        self.n = len(weights)
        self.w = np.asarray(weights, dtype=float)
        self.codes = [np.asarray(f, dtype=np.int64) for f in factors]
        self.levels = [int(f.max()) + 1 if len(f) else 0 for f in self.codes]
        self._S: list | None = None
        self.Wl = [
            np.bincount(f, self.w, minlength=L)
            for f, L in zip(self.codes, self.levels, strict=True)
        ]
        self._three = None
        self._big = None
        if len(self.codes) == 3:
            self._init_three()
            self.connected = True
        elif len(self.codes) == 2:
            a, b = self.codes
            La, Lb = self.levels
            C = np.bincount(a * Lb + b, self.w, minlength=La * Lb).reshape(La, Lb)
            # eliminate the factor with more levels, keep a small reduced system
            self._swap = La < Lb
            if self._swap:
                C = C.T
            Wbig, Wsmall = (self.Wl[1], self.Wl[0]) if self._swap else (self.Wl[0], self.Wl[1])
            self._C = C
            self._Wbig = Wbig
            red = np.diag(Wsmall) - (C.T / Wbig) @ C
            self._red_pinv = np.linalg.pinv(red, hermitian=True, rcond=1e-12)
            self.connected = bool(np.linalg.matrix_rank(red, hermitian=True) == len(Wsmall) - 1)
        else:
            self.connected = True

    def _init_three(self) -> None:
        """Three factors: demean within the factor with most levels (exact), then project on
        the other two factors' demeaned dummies through an orthonormal basis of their span
        (from the eigen-decomposition of their Gram matrix; collinear directions, the
        shared intercepts, dropped)."""
        big = int(np.argmax(self.levels))
        rest = [i for i in range(3) if i != big]
        n = self.n
        f, L = self.codes[big], self.levels[big]
        self._big = (big, sp.csr_matrix((self.w, (f, np.arange(n))), shape=(L, n)))
        cols = []
        for i in rest:
            D = np.zeros((n, self.levels[i]))
            D[np.arange(n), self.codes[i]] = 1.0
            cols.append(D)
        D2 = np.hstack(cols)
        sw = np.sqrt(self.w)
        Z = sw[:, None] * (D2 - self._big_mean(big, D2))
        lam, V = np.linalg.eigh(Z.T @ Z)
        keep = lam > lam.max() * 1e-10
        Q = Z @ (V[:, keep] / np.sqrt(lam[keep]))
        # one Gram-Schmidt pass (QR) restores orthonormality lost to the squared condition
        Q, _ = np.linalg.qr(Q)
        self._three = (big, Q, sw)

    def _big_mean(self, big: int, E: np.ndarray) -> np.ndarray:
        f, L = self.codes[big], self.levels[big]
        Wb = self.Wl[big]
        if E.ndim == 1:
            return (np.bincount(f, self.w * E, minlength=L) / Wb)[f]
        S = self._big[1] if getattr(self, "_big", None) is not None else None
        if S is None:
            S = sp.csr_matrix((self.w, (f, np.arange(self.n))), shape=(L, self.n))
        return (S @ E / Wb[:, None])[f]

    def _level_sums(self, E2: np.ndarray) -> list[np.ndarray]:
        """Weighted sums of the columns of E2 by level of each factor."""
        if E2.shape[1] <= 4:
            # bincount beats a sparse product for a few columns
            out = []
            for f, L in zip(self.codes, self.levels, strict=True):
                out.append(
                    np.column_stack(
                        [np.bincount(f, self.w * E2[:, j], minlength=L) for j in range(E2.shape[1])]
                    )
                )
            return out
        if self._S is None:
            rows = np.arange(self.n)
            self._S = [
                sp.csr_matrix((self.w, (f, rows)), shape=(L, self.n))
                for f, L in zip(self.codes, self.levels, strict=True)
            ]
        return [S @ E2 for S in self._S]

    def fitted(self, E: np.ndarray) -> np.ndarray:
        """Weighted least-squares fit of ``E`` (N or N x k) on the fixed effects."""
        E = np.asarray(E, dtype=float)
        vec = E.ndim == 1
        E2 = E[:, None] if vec else E
        if self._three is not None:
            big, Q, sw = self._three
            f1 = self._big_mean(big, E2)
            r = sw[:, None] * (E2 - f1)
            out = f1 + (Q @ (Q.T @ r)) / sw[:, None]
            return out[:, 0] if vec else out
        sums = self._level_sums(E2)
        if len(self.codes) == 1:
            m = sums[0] / self.Wl[0][:, None]
            out = m[self.codes[0]]
        else:
            sa, sb = sums
            if self._swap:
                s_big, s_small, c_big, c_small = sb, sa, self.codes[1], self.codes[0]
            else:
                s_big, s_small, c_big, c_small = sa, sb, self.codes[0], self.codes[1]
            rhs = s_small - self._C.T @ (s_big / self._Wbig[:, None])
            b = self._red_pinv @ rhs
            a = (s_big - self._C @ b) / self._Wbig[:, None]
            out = a[c_big] + b[c_small]
        return out[:, 0] if vec else out

    def resid(self, E: np.ndarray) -> np.ndarray:
        """``E`` minus its weighted fit on the fixed effects."""
        return np.asarray(E, dtype=float) - self.fitted(E)

    def normal_pinv(self) -> np.ndarray:
        """Pseudo-inverse of ``D'WD`` for the stacked dummy matrix D (for CR2)."""
        total = sum(self.levels)
        if total > 4000:
            raise ValueError(
                f"inference='cr2': {total} fixed-effect levels are too many for the exact "
                "hat matrix; use inference='cr1' or 'wild'."
            )
        if len(self.codes) == 1:
            return np.diag(1.0 / self.Wl[0])
        if len(self.codes) == 3:
            D = np.zeros((self.n, total))
            off = 0
            for f, L in zip(self.codes, self.levels, strict=True):
                D[np.arange(self.n), f + off] = 1.0
                off += L
            return np.linalg.pinv((D * self.w[:, None]).T @ D, hermitian=True, rcond=1e-12)
        a, b = self.codes
        La, Lb = self.levels
        C = np.bincount(a * Lb + b, self.w, minlength=La * Lb).reshape(La, Lb)
        N = np.block([[np.diag(self.Wl[0]), C], [C.T, np.diag(self.Wl[1])]])
        return np.linalg.pinv(N, hermitian=True, rcond=1e-12)


# ---------------------------------------------------------------------------------------
# The reduced single-coefficient problem
# ---------------------------------------------------------------------------------------


@dataclass
class LinearCore:
    """A coefficient reduced by FWL to a one-regressor problem (square-root-weight space).

    Attributes
    ----------
    x, y : numpy.ndarray
        Focal regressor and outcome, both residualised on the fixed effects and the other
        regressors, multiplied by ``sqrt(weights)``.
    others : numpy.ndarray
        The other regressors residualised on the fixed effects (N x q, scaled likewise).
    sw : numpy.ndarray
        Square roots of the weights.
    proj : FEProjector
        The fixed-effect projection (original space, weighted).
    cluster : numpy.ndarray
        Cluster codes 0..G-1.
    k_ssc : int
        Parameter count K in the CR1 small-sample factor.
    """

    x: np.ndarray
    y: np.ndarray
    others: np.ndarray
    sw: np.ndarray
    proj: FEProjector
    cluster: np.ndarray
    k_ssc: int
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.G = int(self.cluster.max()) + 1
        self.n = len(self.y)
        self.xx = _dot(self.x, self.x)
        if not self.xx > 1e-12 * max(1.0, _dot(self.y, self.y)):
            raise ValueError(
                "the focal regressor has no variation left after removing the fixed effects "
                "and covariates, so its coefficient is not identified."
            )
        self.beta = _dot(self.x, self.y) / self.xx
        self.u = self.y - self.beta * self.x
        self._S: sp.csr_matrix | None = None

    @property
    def ssc(self) -> float:
        """CR1 small-sample factor G/(G-1) * (N-1)/(N-K)."""
        return cr1_factor(self.G, self.n, self.k_ssc)

    def cluster_sum(self, v: np.ndarray) -> np.ndarray:
        """Sum of ``v`` (N or N x m) within clusters."""
        if v.ndim == 1:
            return np.bincount(self.cluster, v, minlength=self.G)
        if self._S is None:
            self._S = sp.csr_matrix(
                (np.ones(self.n), (self.cluster, np.arange(self.n))), shape=(self.G, self.n)
            )
        return self._S @ v

    def full_resid(self, E: np.ndarray) -> np.ndarray:
        """Residual maker of the full model (fixed effects, other regressors, focal)."""
        sw = self.sw[:, None] if E.ndim == 2 else self.sw
        R = sw * self.proj.resid(E / sw)
        if self.others.shape[1]:
            coef, *_ = np.linalg.lstsq(self.others, R, rcond=None)
            R = R - self.others @ coef
        xcol = self.x[:, None] if E.ndim == 2 else self.x
        return R - xcol * ((self.x @ R) / self.xx)

    def spread(self, v: np.ndarray) -> np.ndarray:
        """N x G matrix holding ``v`` in its cluster's column and 0 elsewhere."""
        out = np.zeros((self.n, self.G))
        out[np.arange(self.n), self.cluster] = v
        return out


def cr1(core: LinearCore) -> tuple[float, float]:
    """CR1 standard error and its t degrees of freedom (G - 1)."""
    scores = core.cluster_sum(core.x * core.u)
    return cr1_se(scores, core.xx, core.ssc), float(core.G - 1)


def _cr2_operators(core: LinearCore) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per cluster: rows, Q and QU and the scales of ``A_g = (I - H_gg)^(-1/2)``.

    ``H`` is the hat matrix of the *full* model (fixed effects, other regressors, focal),
    which depends on the layout only, so the operators serve every outcome (cached).
    ``A_g v = v - Q Q'v + QU diag(scale) U'Q' v`` (pseudo-inverse square root).
    """
    if "cr2_ops" in core._cache:
        return core._cache["cr2_ops"]
    proj = core.proj
    npinv = proj.normal_pinv()
    offsets = np.cumsum([0, *proj.levels[:-1]])
    order = np.argsort(core.cluster, kind="stable")
    bounds = np.searchsorted(core.cluster[order], np.arange(core.G + 1))
    q = core.others.shape[1]
    oo_inv = np.linalg.pinv(core.others.T @ core.others) if q else np.zeros((0, 0))
    ops = []
    for g in range(core.G):
        idx = order[bounds[g] : bounds[g + 1]]
        sw = core.sw[idx]
        cols = np.concatenate(
            [np.unique(c[idx]) + off for c, off in zip(proj.codes, offsets, strict=True)]
        )
        Zfe = np.zeros((len(idx), len(cols)))
        for c, off in zip(proj.codes, offsets, strict=True):
            # cols is sorted (sorted uniques with increasing offsets)
            Zfe[np.arange(len(idx)), np.searchsorted(cols, c[idx] + off)] = sw
        Z = np.hstack([Zfe, core.others[idx], core.x[idx, None]])
        mid = np.zeros((Z.shape[1], Z.shape[1]))
        k = len(cols)
        mid[:k, :k] = npinv[np.ix_(cols, cols)]
        mid[k : k + q, k : k + q] = oo_inv
        mid[-1, -1] = 1.0 / core.xx
        Q, R = np.linalg.qr(Z)
        lam, U = np.linalg.eigh(R @ mid @ R.T)
        one_minus = 1.0 - lam
        scale = np.where(one_minus > 1e-10, 1.0 / np.sqrt(np.clip(one_minus, 1e-300, None)), 0.0)
        ops.append((idx, Q, Q @ U, scale))
    core._cache["cr2_ops"] = ops
    return ops


def _cr2_apply(core: LinearCore, V: np.ndarray) -> np.ndarray:
    """``A_g v_g`` in every cluster for a vector or the columns of an N x S matrix."""
    out = np.empty_like(V, dtype=float)
    for idx, Q, QU, scale in _cr2_operators(core):
        v = V[idx]
        if v.ndim == 1:
            out[idx] = v - Q @ (Q.T @ v) + QU @ (scale * (QU.T @ v))
        else:
            out[idx] = v - Q @ (Q.T @ v) + QU @ (scale[:, None] * (QU.T @ v))
    return out


def _cr2_adjusted(core: LinearCore) -> tuple[np.ndarray, np.ndarray]:
    """For each cluster, A_g u_g and A_g x_g with A_g = (I - H_gg)^(-1/2) (pseudo-inverse)."""
    if "cr2" not in core._cache:
        core._cache["cr2"] = (_cr2_apply(core, core.u), _cr2_apply(core, core.x))
    return core._cache["cr2"]


def _ik_df(core: LinearCore) -> float:
    """Imbens-Kolesar degrees of freedom of the CR2 t-test (layout only; cached)."""
    if "ik_df" not in core._cache:
        if core.n * core.G > 5e7:
            core._cache["ik_df"] = float(core.G - 1)
        else:
            _, Ax = _cr2_adjusted(core)
            # columns M[:, g] A_g x_g; eigenvalues of their Gram matrix
            Gm = core.full_resid(core.spread(Ax))
            gram = Gm.T @ Gm
            core._cache["ik_df"] = float(np.trace(gram) ** 2 / np.sum(gram * gram))
    return core._cache["ik_df"]


def cr2(core: LinearCore) -> tuple[float, float]:
    """Bell-McCaffrey (CR2) standard error with Imbens-Kolesar degrees of freedom."""
    Au, _ = _cr2_adjusted(core)
    scores = core.cluster_sum(core.x * Au)
    se = math.sqrt(float(scores @ scores)) / core.xx
    return se, _ik_df(core)


def cr2_many(core: LinearCore, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """CR2 standard errors for many outcomes on ``core``'s layout (partialled like ``core.y``).

    Returns the estimates, their CR2 SEs and the (common) Imbens-Kolesar df; column ``s``
    equals :func:`cr2` of the core built from outcome ``s``.
    """
    Y = np.asarray(Y, dtype=float)
    beta = (core.x @ Y) / core.xx
    U = Y - core.x[:, None] * beta[None, :]
    AU = _cr2_apply(core, U)
    scores = core.cluster_sum(core.x[:, None] * AU)
    se = np.sqrt(np.einsum("gs,gs->s", scores, scores)) / core.xx
    return beta, se, _ik_df(core)


# ---------------------------------------------------------------------------------------
# Wild cluster restricted bootstrap
# ---------------------------------------------------------------------------------------


def wild_weights(G: int, B: int, weights: str, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """Bootstrap weights (G x B) and whether they are a full enumeration.

    Rademacher signs are enumerated (all 2**G, in itertools.product order) when
    ``2**G <= B``; otherwise each entry is drawn independently.
    """
    if weights not in WILD_WEIGHTS:
        raise ValueError(f"wild bootstrap weights must be one of {WILD_WEIGHTS}, got {weights!r}.")
    if weights == "rademacher" and 2**G <= B:
        codes = np.arange(2**G)[None, :] >> np.arange(G - 1, -1, -1)[:, None]
        return (2.0 * (codes & 1) - 1.0), True
    if weights == "rademacher":
        return 2.0 * rng.integers(0, 2, size=(G, B)) - 1.0, False
    return _WEBB_VALUES[rng.integers(0, 6, size=(G, B))], False


@dataclass
class WildResult:
    """Wild cluster restricted bootstrap of one coefficient."""

    p_value: float
    ci_low: float
    ci_high: float
    t_stat: float
    t_boot: np.ndarray
    B: int
    full_enumeration: bool
    weights: str


def _invert(
    pfun: Callable[[float], float], beta: float, scale: float, alpha: float
) -> tuple[float, float]:
    """Confidence limits {b: p(b) >= alpha} by outward search and bisection."""
    if not (scale > 0 and math.isfinite(scale)):
        scale = max(abs(beta), 1.0)
    limits = []
    for sign in (-1.0, 1.0):
        inner, step = beta, scale
        outer = beta + sign * step
        n = 0
        while pfun(outer) >= alpha:
            inner, step = outer, step * 2
            outer = beta + sign * step
            n += 1
            if n > 60:
                limits.append(sign * math.inf)
                break
        else:
            for _ in range(200):
                mid = 0.5 * (inner + outer)
                if pfun(mid) >= alpha:
                    inner = mid
                else:
                    outer = mid
                if abs(outer - inner) <= 1e-7 * scale:
                    break
            limits.append(0.5 * (inner + outer))
    return limits[0], limits[1]


def wild_bootstrap(
    core: LinearCore,
    *,
    B: int = 999,
    weights: str = "rademacher",
    seed: int = 0,
    alpha: float = 0.05,
    ci: bool = True,
) -> WildResult:
    """Wild cluster restricted (WCR-11) bootstrap p-value and test-inversion CI.

    The p-value is the share of bootstrap t-statistics whose absolute value strictly
    exceeds the observed one (wildboottest's two-tailed definition); ties within
    1e-10 relative are treated as equal. Both the observed and the bootstrap
    statistics use CR1 standard errors. This is :func:`wild_bootstrap_many` for the one
    outcome of ``core``, so a batched run over many simulations gives the same numbers.

    Parameters
    ----------
    core : LinearCore
    B : int
        Bootstrap draws (Rademacher signs are enumerated when ``2**G <= B``).
    weights : {"rademacher", "webb"}
    seed : int
        Seed of the weight draws.
    alpha : float
    ci : bool
        Whether to invert the test for a confidence interval.
    """
    res = wild_bootstrap_many(
        core, core.y[:, None], [seed], B=B, weights=weights, alpha=alpha, ci=ci, keep_draws=True
    )
    return WildResult(
        p_value=float(res.p_value[0]),
        ci_low=float(res.ci_low[0]),
        ci_high=float(res.ci_high[0]),
        t_stat=float(res.estimate[0] / res.se[0]),
        t_boot=res.t_boot[0],
        B=res.B,
        full_enumeration=res.full_enumeration,
        weights=weights,
    )


def _invert_many(
    pfun: Callable[[np.ndarray, np.ndarray], np.ndarray],
    beta: np.ndarray,
    scale: np.ndarray,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_invert` for many coefficients at once, step for step.

    ``pfun(b0, rows)`` returns the p-values of the null values ``b0`` for the selected
    ``rows``. Every row follows exactly the sequence of evaluations :func:`_invert` would
    make for it alone (outward doubling, then bisection to ``1e-7 * scale``), so the limits
    are those of the one-at-a-time search.
    """
    beta = np.asarray(beta, dtype=float)
    scale = np.asarray(scale, dtype=float).copy()
    bad = ~((scale > 0) & np.isfinite(scale))
    scale[bad] = np.maximum(np.abs(beta[bad]), 1.0)
    S = len(beta)
    limits = []
    for sign in (-1.0, 1.0):
        inner = beta.copy()
        step = scale.copy()
        outer = beta + sign * step
        out = np.full(S, np.nan)
        searching = np.ones(S, dtype=bool)
        count = np.zeros(S, dtype=int)
        while searching.any():
            rows = np.flatnonzero(searching)
            keep = pfun(outer[rows], rows) >= alpha
            grow = rows[keep]
            inner[grow] = outer[grow]
            step[grow] *= 2
            outer[grow] = beta[grow] + sign * step[grow]
            count[grow] += 1
            lost = grow[count[grow] > 60]
            out[lost] = sign * math.inf
            searching[rows[~keep]] = False
            searching[lost] = False
        bisect = np.isnan(out)
        for _ in range(200):
            rows = np.flatnonzero(bisect)
            if not len(rows):
                break
            mid = 0.5 * (inner[rows] + outer[rows])
            ok = pfun(mid, rows) >= alpha
            inner[rows[ok]] = mid[ok]
            outer[rows[~ok]] = mid[~ok]
            done = np.abs(outer[rows] - inner[rows]) <= 1e-7 * scale[rows]
            bisect[rows[done]] = False
        fin = np.isnan(out)
        out[fin] = 0.5 * (inner[fin] + outer[fin])
        limits.append(out)
    return limits[0], limits[1]


@dataclass
class WildBatch:
    """Wild cluster restricted bootstrap of one coefficient for many outcome vectors."""

    p_value: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    B: int
    full_enumeration: bool
    weights: str
    t_boot: np.ndarray | None = None


def _restricted_maps(core: LinearCore) -> tuple[np.ndarray, np.ndarray]:
    """``K = P_full(x spread over clusters)`` (N x G) and ``diag(cx) - Hx`` (G x G), cached.

    ``H[g, h] = x_g' [P_full (u restricted to cluster h)]_g`` is linear in the outcome, and
    ``P_full`` is symmetric, so one projection of the N x G matrix serves every outcome
    and every null value.
    """
    if "wild_maps" not in core._cache:
        Ex = core.spread(core.x)
        Kmat = Ex - core.full_resid(Ex)
        Hx = core.cluster_sum(Kmat * core.x[:, None]).T
        cx = core.cluster_sum(core.x * core.x)
        core._cache["wild_maps"] = (Kmat, np.diag(cx) - Hx)
    return core._cache["wild_maps"]


def wild_bootstrap_many(
    core: LinearCore,
    Y: np.ndarray,
    seeds: Sequence[int],
    *,
    B: int = 999,
    weights: str = "rademacher",
    alpha: float = 0.05,
    ci: bool = True,
    keep_draws: bool = False,
) -> WildBatch:
    """:func:`wild_bootstrap` for many outcomes sharing one layout (batched over outcomes).

    ``core`` fixes the regressor, the projection, the clusters and the CR1 factor; ``Y``
    (N x S) holds outcomes partialled exactly like ``core.y`` (fixed effects and other
    regressors removed, times the square-root weights). Column ``s`` is bootstrapped with
    the weights ``wild_weights(G, B, weights, default_rng(seeds[s]))``. The bootstrap
    numerators and the three quadratic forms of every draw's CR1 variance (linear and
    quadratic in the null value) come from two batched matrix products of G x G restricted
    score maps with the weights; p-values and test-inversion limits are then evaluated for
    all outcomes at once (:func:`_invert_many`).

    Returns
    -------
    WildBatch
        Arrays of length S (p-values, limits, estimates, CR1 SEs); ``t_boot`` (S x B, the
        bootstrap t-statistics under no effect) with ``keep_draws=True``.
    """
    if core.G > _MAX_WILD_CLUSTERS:
        raise ValueError(
            f"inference='wild': {core.G} clusters are too many for the wild cluster bootstrap "
            f"(at most {_MAX_WILD_CLUSTERS}); with so many clusters use inference='cr1'."
        )
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[0] != core.n or Y.shape[1] != len(seeds):
        raise ValueError(
            f"wild_bootstrap_many: Y must have shape ({core.n}, {len(seeds)}), got {Y.shape}."
        )
    G, S = core.G, Y.shape[1]
    x, xx, ssc = core.x, core.xx, core.ssc
    beta = (x @ Y) / xx
    cy = core.cluster_sum(x[:, None] * Y)  # G x S
    cyy = cy - core.cluster_sum(x * x)[:, None] * beta[None, :]
    se = np.sqrt(ssc * np.einsum("gs,gs->s", cyy, cyy)) / xx
    Kmat, Mx = _restricted_maps(core)
    # Hy[s, g, h] = sum over rows j of cluster h of K[j, g] y_js
    order = np.argsort(core.cluster, kind="stable")
    bounds = np.searchsorted(core.cluster[order], np.arange(G + 1))
    A = np.empty((S, G, G))
    for h in range(G):
        idx = order[bounds[h] : bounds[h + 1]]
        A[:, :, h] = -(Kmat[idx].T @ Y[idx]).T
    A[:, np.arange(G), np.arange(G)] += cy.T
    full = weights == "rademacher" and 2**G <= B
    cx = core.cluster_sum(x * x)
    V0 = wild_weights(G, B, weights, np.random.default_rng(0))[0] if full else None
    Bn = V0.shape[1] if full else B
    ny, nx = np.empty((S, Bn)), np.empty((S, Bn))
    qyy, qxy, qxx = np.empty((S, Bn)), np.empty((S, Bn)), np.empty((S, Bn))
    if full:
        Zx = Mx @ V0
        nx[:] = cx @ V0
        qxx[:] = np.einsum("gb,gb->b", Zx, Zx)
    for i in range(S):
        # one G x G by G x B product per outcome (a stacked matmul is far slower than
        # a loop of BLAS calls)
        V = V0 if full else wild_weights(G, B, weights, np.random.default_rng(int(seeds[i])))[0]
        Zy = A[i] @ V
        ny[i] = cy[:, i] @ V
        if not full:
            Zx = Mx @ V
            nx[i] = cx @ V
            qxx[i] = np.einsum("gb,gb->b", Zx, Zx)
        qyy[i] = np.einsum("gb,gb->b", Zy, Zy)
        qxy[i] = np.einsum("gb,gb->b", Zy, Zx)

    def tstats(b0: np.ndarray) -> np.ndarray:
        b0 = np.asarray(b0, dtype=float)[:, None]
        den = ssc * np.maximum(qyy - 2 * b0 * qxy + b0 * b0 * qxx, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (ny - b0 * nx) / np.sqrt(den)

    # p-values by squared comparisons in preallocated buffers: |t*| > |t| (1 + 1e-10)
    # is (ny - b0 nx)^2 > (t (1 + 1e-10))^2 ssc max(q(b0), 0), with no square root or
    # division over the S x B draws (a zero denominator counts as exceeding, as t* = inf)
    qxy2 = -2.0 * qxy
    buf_d = np.empty_like(qyy)
    buf_n = np.empty_like(qyy)

    def pvals(b0: np.ndarray, rows: np.ndarray) -> np.ndarray:
        full_b0 = beta.copy()
        full_b0[rows] = b0
        b = full_b0[:, None]
        np.multiply(qxx, b, out=buf_d)
        np.add(buf_d, qxy2, out=buf_d)
        np.multiply(buf_d, b, out=buf_d)
        np.add(buf_d, qyy, out=buf_d)
        np.maximum(buf_d, 0.0, out=buf_d)
        t = np.abs((beta - full_b0) / se) * (1 + 1e-10)
        np.multiply(buf_d, (ssc * t * t)[:, None], out=buf_d)
        np.multiply(nx, b, out=buf_n)
        np.subtract(ny, buf_n, out=buf_n)
        np.multiply(buf_n, buf_n, out=buf_n)
        hits = np.count_nonzero(buf_n > buf_d, axis=1)
        return (hits / qyy.shape[1])[rows]

    allrows = np.arange(S)
    p = pvals(np.zeros(S), allrows)
    if ci:
        lo, hi = _invert_many(pvals, beta, se, alpha)
    else:
        lo = hi = np.full(S, np.nan)
    return WildBatch(
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        estimate=beta,
        se=se,
        B=int(Bn),
        full_enumeration=bool(full),
        weights=weights,
        t_boot=tstats(np.zeros(S)) if keep_draws else None,
    )


# ---------------------------------------------------------------------------------------
# Randomization inference
# ---------------------------------------------------------------------------------------


def _multiset_permutations(labels: np.ndarray) -> np.ndarray:
    """All distinct orderings of ``labels`` (rows), for small counts."""
    G = len(labels)
    vals, counts = np.unique(labels, return_counts=True)
    out: list[np.ndarray] = []

    def rec(free: list[int], k: int, cur: np.ndarray) -> None:
        if k == len(vals):
            out.append(cur.copy())
            return
        for pos in itertools.combinations(free, counts[k]):
            cur[list(pos)] = vals[k]
            rest = [f for f in free if f not in pos]
            rec(rest, k + 1, cur)

    rec(list(range(G)), 0, np.empty(G, dtype=labels.dtype))
    return np.array(out)


def n_assignments(labels: np.ndarray) -> int:
    """Number of distinct reassignments of ``labels`` across units (multinomial)."""
    _, counts = np.unique(labels, return_counts=True)
    log_n = math.lgamma(len(labels) + 1) - sum(math.lgamma(int(c) + 1) for c in counts)
    if log_n > 60:  # astronomically many: no need for the exact integer
        return 2**62
    n = math.factorial(len(labels))
    for c in counts:
        n //= math.factorial(int(c))
    return n


@dataclass
class RIResult:
    """Randomization-inference result for one coefficient."""

    p_value: float
    ci_low: float
    ci_high: float
    t_stat: float
    t_perm: np.ndarray
    n_perm: int
    exact: bool
    min_p: float = math.nan
    attainable: bool = True


def ri_min_p(n_assignments: int, B: int) -> float:
    """Smallest p-value randomization inference can return.

    With ``K <= B`` distinct assignments all are used and the smallest p is ``1/K`` (the
    observed assignment the most extreme); otherwise ``B`` random permutations plus the
    observed one give ``1/(B+1)``. A test that rejects when ``p < alpha`` exists only when
    this is below ``alpha``, i.e. ``K > 1/alpha`` for an exact test.

    Examples
    --------
    >>> ri_min_p(20, 999), ri_min_p(10**6, 999)
    (0.05, 0.001)
    """
    return 1.0 / n_assignments if n_assignments <= B else 1.0 / (B + 1)


def randomization_inference(
    core: LinearCore,
    path_codes: np.ndarray,
    paths: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    *,
    B: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
    ci: bool = True,
    partial: Callable[[np.ndarray], np.ndarray],
) -> RIResult:
    """Randomization inference by reassigning treatment paths across units.

    Each unit ``u`` has a treatment path ``paths[path_codes[u], t]`` over time codes. A
    permutation gives unit ``u`` the path of another unit; the focal regressor is rebuilt,
    partialled like the original (``partial``) and the CR1 t-statistic recomputed.
    All distinct assignments are used when there are at most ``B`` of them (an exact
    test); otherwise ``B`` random permutations plus the observed one. Two-sided p-value
    ``share of |t_perm| >= |t_obs|``; the CI inverts sharp nulls of a constant effect.
    """
    rng = np.random.default_rng(seed)
    n_all = n_assignments(path_codes)
    if n_all <= B:
        perms = _multiset_permutations(path_codes)
        exact = True
    else:
        draws = np.argsort(rng.random((B, len(path_codes))), axis=1)
        perms = np.vstack([path_codes[None, :], path_codes[draws]])
        exact = False
    se_obs, _ = cr1(core)
    ssc = core.ssc
    xobs = core.x
    beta_y, beta_x, s11, s12, s22 = [], [], [], [], []
    chunk = max(1, int(4e6 // max(core.n, 1)))
    for start in range(0, len(perms), chunk):
        P = perms[start : start + chunk]
        D = paths[P[:, unit], time].T.astype(float)  # N x m permuted focal regressors
        X = partial(D)
        xx = np.einsum("nm,nm->m", X, X)
        by = (X.T @ core.y) / xx
        bx = (X.T @ xobs) / xx
        a = core.cluster_sum(X * core.y[:, None])
        b = core.cluster_sum(X * xobs[:, None])
        c = core.cluster_sum(X * X)
        r1 = (a - by * c) / xx
        r2 = (b - bx * c) / xx
        beta_y.append(by)
        beta_x.append(bx)
        s11.append(np.einsum("gm,gm->m", r1, r1))
        s12.append(np.einsum("gm,gm->m", r1, r2))
        s22.append(np.einsum("gm,gm->m", r2, r2))
    by, bx = np.concatenate(beta_y), np.concatenate(beta_x)
    s11, s12, s22 = np.concatenate(s11), np.concatenate(s12), np.concatenate(s22)

    def tperm(b0: float) -> np.ndarray:
        den = ssc * np.maximum(s11 - 2 * b0 * s12 + b0 * b0 * s22, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (by - b0 * bx) / np.sqrt(den)

    def pval(b0: float) -> float:
        t = abs((core.beta - b0) / se_obs)
        tp = np.abs(tperm(b0))
        return float(np.mean(tp >= t * (1 - 1e-10)))

    p = pval(0.0)
    min_p = ri_min_p(n_all, B)
    attainable = min_p < alpha
    if not attainable:
        # no p-value can fall below alpha, so no null is ever rejected: the interval is
        # the whole line (test inversion would say so after a long outward search)
        lo, hi = -math.inf, math.inf
    else:
        lo, hi = _invert(pval, core.beta, se_obs, alpha) if ci else (math.nan, math.nan)
    return RIResult(
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        t_stat=core.beta / se_obs,
        t_perm=tperm(0.0),
        n_perm=len(perms),
        exact=exact,
        min_p=min_p,
        attainable=attainable,
    )


def randomization_inference_many(
    core: LinearCore,
    Y: np.ndarray,
    perms: np.ndarray,
    paths: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    *,
    partial: Callable[[np.ndarray], np.ndarray],
    alpha: float = 0.05,
    ci: bool = True,
    chunk: int = 64,
) -> dict[str, np.ndarray]:
    """:func:`randomization_inference` for many outcomes with one set of reassignments.

    ``perms`` (P x units) are the path codes of every reassignment, the observed one in the
    first row; ``Y`` (N x S) holds outcomes partialled like ``core.y``. Every outcome is
    tested against the same reassignments (a valid test for each; the Monte-Carlo
    experiments that measure the inference table use this to test thousands of simulated
    outcomes at once). Returns ``p_value``, ``ci_low``, ``ci_high`` (length S).
    """
    Y = np.asarray(Y, dtype=float)
    S = Y.shape[1]
    ssc = core.ssc
    xobs = core.x
    D = paths[perms[:, unit], time].T.astype(float)  # N x P
    X = partial(D)
    xx = np.einsum("np,np->p", X, X)
    bx = (X.T @ xobs) / xx  # P
    c = core.cluster_sum(X * X)  # G x P
    b = core.cluster_sum(X * xobs[:, None])  # G x P
    r2 = (b - bx * c) / xx  # G x P
    s22 = np.einsum("gp,gp->p", r2, r2)
    by = (X.T @ Y) / xx[:, None]  # P x S
    s11 = np.empty_like(by)
    s12 = np.empty_like(by)
    order = np.argsort(core.cluster, kind="stable")
    bounds = np.searchsorted(core.cluster[order], np.arange(core.G + 1))
    for s0 in range(0, S, chunk):
        Ys = Y[:, s0 : s0 + chunk]
        acc11 = np.zeros((X.shape[1], Ys.shape[1]))
        acc12 = np.zeros_like(acc11)
        for g in range(core.G):
            idx = order[bounds[g] : bounds[g + 1]]
            a = X[idx].T @ Ys[idx]  # P x s
            r1 = (a - by[:, s0 : s0 + chunk] * c[g][:, None]) / xx[:, None]
            acc11 += r1 * r1
            acc12 += r1 * r2[g][:, None]
        s11[:, s0 : s0 + chunk] = acc11
        s12[:, s0 : s0 + chunk] = acc12
    beta = (xobs @ Y) / core.xx
    U = Y - xobs[:, None] * beta[None, :]
    se_obs = cr1_se(core.cluster_sum(xobs[:, None] * U), core.xx, ssc)

    def pvals(b0: np.ndarray, rows: np.ndarray) -> np.ndarray:
        b0 = np.asarray(b0, dtype=float)
        den = ssc * np.maximum(
            s11[:, rows] - 2 * b0[None, :] * s12[:, rows] + b0[None, :] ** 2 * s22[:, None], 0.0
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            tp = np.abs((by[:, rows] - b0[None, :] * bx[:, None]) / np.sqrt(den))
        t = np.abs((beta[rows] - b0) / se_obs[rows])
        return np.mean(tp >= t[None, :] * (1 - 1e-10), axis=0)

    p = pvals(np.zeros(S), np.arange(S))
    if ci:
        lo, hi = _invert_many(pvals, beta, se_obs, alpha)
    else:
        lo = hi = np.full(S, np.nan)
    return {"p_value": p, "ci_low": lo, "ci_high": hi, "estimate": beta}


# ---------------------------------------------------------------------------------------
# Conley-Taber
# ---------------------------------------------------------------------------------------


@dataclass
class CTResult:
    """Conley-Taber inference for few treated units."""

    p_value: float
    ci_low: float
    ci_high: float
    null_draws: np.ndarray
    n_draws: int


def conley_taber(
    core: LinearCore,
    unit: np.ndarray,
    time: np.ndarray,
    treated_units: np.ndarray,
    control_units: np.ndarray,
    *,
    B: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
) -> CTResult:
    """Conley and Taber (2011) inference with few treated and many control units.

    The error of the estimate is dominated by the treated units' errors weighted by
    their partialled treatment. Its distribution is approximated by putting the
    residual paths (cell means over time) of control units in place of the treated
    units' errors: for every tuple of controls ``(k_1, ..., k_G1)`` (all tuples when
    there are at most ``B``, else ``B`` random tuples), ``sum_j sum_t X_jt eta_{k_j t} /
    x'Wx``. The p-value is the share of draws at least as large in absolute value as
    ``beta - beta0``; the CI is ``[beta - q(1-alpha/2), beta - q(alpha/2)]``.
    Control units must be observed in every period in which a treated unit has weight.
    """
    rng = np.random.default_rng(seed)
    T = int(time.max()) + 1
    U = int(unit.max()) + 1
    w = core.sw**2
    u_orig = core.u / core.sw
    x_orig = core.x / core.sw
    cell = unit * T + time
    wsum = np.bincount(cell, w, minlength=U * T).reshape(U, T)
    usum = np.bincount(cell, w * u_orig, minlength=U * T).reshape(U, T)
    Xjt = np.bincount(cell, w * x_orig, minlength=U * T).reshape(U, T)[treated_units]
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = usum[control_units] / wsum[control_units]
    need = np.any(np.abs(Xjt) > 0, axis=0)
    if np.isnan(eta[:, need]).any():
        raise ValueError(
            "inference='conley_taber': every control region must be observed in every "
            "period in which a treated region is; use a balanced panel or another inference."
        )
    eta = np.nan_to_num(eta)
    contrib = Xjt @ eta.T / core.xx  # G1 x G0: treated j's weight path with control k's errors
    G1, G0 = contrib.shape
    if G0**G1 <= B:
        idx = np.array(list(itertools.product(range(G0), repeat=G1)))
    else:
        idx = rng.integers(0, G0, size=(B, G1))
    draws = contrib[np.arange(G1)[None, :], idx].sum(axis=1)
    p = float(np.mean(np.abs(draws) >= abs(core.beta) * (1 - 1e-10)))
    qlo, qhi = np.quantile(draws, [alpha / 2, 1 - alpha / 2])
    return CTResult(
        p_value=p,
        ci_low=core.beta - float(qhi),
        ci_high=core.beta - float(qlo),
        null_draws=draws,
        n_draws=len(draws),
    )


# ---------------------------------------------------------------------------------------
# Choosing an inference: the measured table
# ---------------------------------------------------------------------------------------

#: Methods each estimator's table rows cover, with the name the estimator runs them by
#: and the wild/multiplier weights (``None`` where there are none).
TABLE_METHODS: dict[str, dict[str, tuple[str, str | None]]] = {
    "twfe": {
        "cr1": ("cr1", None),
        "cr2": ("cr2", None),
        "wild_rademacher": ("wild", "rademacher"),
        "wild_webb": ("wild", "webb"),
        "ri": ("ri", None),
        "conley_taber": ("conley_taber", None),
    },
    "event_study": {
        "cr1": ("cr1", None),
        "cr2": ("cr2", None),
        "wild_rademacher": ("wild", "rademacher"),
        "wild_webb": ("wild", "webb"),
        "ri": ("ri", None),
    },
    "callaway_santanna": {
        "analytic": ("analytic", None),
        "cr1": ("cr1", None),
        "cr2": ("cr2", None),
        "bootstrap_rademacher": ("bootstrap", "rademacher"),
        "bootstrap_webb": ("bootstrap", "webb"),
        "ri": ("ri", None),
    },
}
TABLE_ESTIMATORS = {
    "twfe": "twfe",
    "diff_in_means": "twfe",
    "triple_differences": "twfe",
    "event_study": "event_study",
    "callaway_santanna": "callaway_santanna",
    "callaway_santanna_nyt": "callaway_santanna",
}
TABLE_FILE = "inference_table.csv"
TABLE_COLUMNS = [
    "estimator",
    "target",
    "adoption",
    "G",
    "treated",
    "untreated",
    "n_assignments",
    "method",
    "alpha",
    "size",
    "size_mcse",
    "power",
    "power_mcse",
    "n_null",
    "n_alt",
    "effect_sd",
    "n_periods",
    "seed",
]
_TABLE: dict[str, object] = {}


def inference_table():
    """The measured size and power table behind ``inference="auto"`` (a pandas DataFrame).

    Shipped with hubsim as ``hubsim/estimators/inference_table.csv`` and regenerated by
    ``experiments/measure_inference_table.py`` (which records its seed and simulation
    counts in every row). One row per estimator, target (``att``: the effect; ``pretrend``:
    the joint test of no pre-trends), adoption (``simultaneous`` or ``staggered``), design
    (``G`` clusters, ``treated``/``untreated`` of them), inference method and level
    ``alpha``: the null rejection rate ``size`` and the rejection rate ``power`` at an effect
    of ``effect_sd`` standard deviations of the estimate, each with its binomial MCSE.

    Examples
    --------
    >>> t = inference_table()
    >>> sorted(set(t["G"]))
    [5, 6, 10, 20, 42]
    """
    if "frame" not in _TABLE:
        import importlib.resources

        import pandas as pd

        ref = importlib.resources.files("hubsim.estimators").joinpath(TABLE_FILE)
        with importlib.resources.as_file(ref) as path:
            if not path.is_file():
                raise RuntimeError(
                    f"the measured inference table {TABLE_FILE} is missing from the hubsim "
                    "package; run experiments/measure_inference_table.py or reinstall hubsim."
                )
            frame = pd.read_csv(path, comment="#")
        missing = [c for c in TABLE_COLUMNS if c not in frame.columns]
        if missing:
            raise RuntimeError(f"{TABLE_FILE} lacks the columns {missing}.")
        _TABLE["frame"] = frame
    return _TABLE["frame"]


#: How far (in MCSE of the nominal level) a method's measured null rejection rate may sit
#: above alpha for ``auto`` to use it. The choice then favours power, and an over-rejecting
#: test's measured power is inflated by its excess size, so a method without a finite-sample
#: guarantee must hold its size with margin: 2 MCSE, not the 3 MCSE that flags a design as
#: oversized. (Under the 3-MCSE band auto took CR1 at a measured size of 0.070 with 3 of 6
#: regions treated; a fresh simulation of 8 regions, 4 treated, then rejected above 5%.)
#: Randomization inference is exact for exchangeable regions, so its measured deviations from
#: alpha are Monte-Carlo noise and the 3-MCSE band applies to it.
_SIZE_BAND_MCSE = {"ri": 3.0}
_SIZE_BAND_MCSE_DEFAULT = 2.0

#: Computing cost order, for ties in power (cheapest first).
_COST = {
    "analytic": 0,
    "cr1": 1,
    "cr2": 2,
    "wild_rademacher": 3,
    "wild_webb": 3,
    "bootstrap_rademacher": 3,
    "bootstrap_webb": 3,
    "conley_taber": 4,
    "ri": 5,
}


class InferenceChoice(NamedTuple):
    """What ``inference="auto"`` runs and why.

    ``method`` is what the estimator runs (``"none"`` when no test at level ``alpha``
    exists); ``weights`` the wild or multiplier weights; ``note`` the sentence the estimate
    carries; ``size``/``power`` (with MCSEs) what the table measured for that method at
    the design ``design`` the choice rests on.
    """

    method: str
    weights: str
    note: str
    size: float = math.nan
    size_mcse: float = math.nan
    power: float = math.nan
    power_mcse: float = math.nan
    design: str = ""
    table_method: str = ""


def _floor_design(rows, G: int, G1: int, G0: int):
    """The measured design the rule reads for a design of G clusters, G1 treated, G0 not.

    The largest measured G not above the design's (None when every measured G is above
    it: no measured design is as hard), then, among its rows, the design whose smaller side (treated or untreated) is on the
    same side and is the largest count not above the design's: a design at least as hard
    as the one in hand, so a method that held its size there holds it here.
    """
    Gs = sorted(set(int(g) for g in rows["G"]))
    below = [g for g in Gs if g <= G]
    if not below:
        return None  # fewer clusters than any measured design: none is as hard
    g_row = below[-1]
    at = rows[rows["G"] == g_row]
    m = min(G1, G0)
    side_treated = G1 <= G0
    best, best_m = None, -1
    for (t, u), _ in at.groupby(["treated", "untreated"], sort=True):
        t, u = int(t), int(u)
        mm = min(t, u)
        same_side = (t <= u) == side_treated or t == u
        if same_side and mm <= m and mm > best_m:
            best, best_m = (t, u), mm
    if best is None:  # the design is harder than any measured: the hardest on its side
        cands = [
            (int(t), int(u))
            for (t, u), _ in at.groupby(["treated", "untreated"])
            if (int(t) <= int(u)) == side_treated
        ] or [(int(t), int(u)) for (t, u), _ in at.groupby(["treated", "untreated"])]
        best = min(cands, key=lambda tu: min(tu))
    return g_row, best


def choose_inference(
    G: int,
    G_treated: int,
    G_untreated: int,
    *,
    estimator: str = "twfe",
    staggered: bool = True,
    n_assignments: int | None = None,
    alpha: float = 0.05,
    B: int = 999,
    available: Sequence[str] | None = None,
) -> InferenceChoice:
    """The inference ``"auto"`` uses, chosen from the measured size and power table.

    Rule (the table is :func:`inference_table`, measured by
    ``experiments/measure_inference_table.py`` on simulated regional panels):

    1. Read the rows of the estimator, adoption pattern and the measured ``alpha`` nearest
       to ``alpha``, at the measured design no easier than this one: the largest measured
       number of clusters not above ``G``, and the largest measured count of the smaller
       side (treated or untreated clusters) not above this design's. With fewer clusters
       than any measured design, none is as hard and only step 4 can give a test.
    2. Keep the methods whose measured null rejection rate is at most ``alpha + 2 MCSE``
       (MCSE at the nominal level; ``alpha + 3 MCSE`` for randomization inference, which
       is exact for exchangeable regions; the others need the margin because step 3
       favours power, which an over-rejecting test has in excess), for every target the
       estimator reports (the effect, and for the event study and Callaway-Sant'Anna the joint pre-trend test), that can
       run here (``available``; randomization inference only when the number of
       distinct assignments allows a p-value below ``alpha``), and whose power (at an
       effect of 2.5 SDs of the estimate) exceeds ``alpha`` by 3 MCSE: a test that
       holds its size by never rejecting is no usable test.
    3. Of those, take the most powerful; the methods whose power is within 3 MCSE of
       it are indistinguishable at the table's precision, and of them the cheapest to
       compute is taken (analytic, CR1, CR2, the wild or multiplier bootstrap,
       Conley-Taber, randomization inference, in that order).
    4. If none is left but randomization inference can run here (more distinct
       reassignments than ``1/alpha``), its size and power are read at the next larger
       measured design with the same smaller side: it is exact for exchangeable regions
       whatever their number, so a harder design's infeasibility (too few reassignments)
       does not carry over.
    5. Otherwise no usable test at level ``alpha`` exists for this design: ``"none"``
       (the estimator reports the estimate with no rejection and says why).

    Parameters
    ----------
    G, G_treated, G_untreated : int
        Clusters, and those with and without any treated unit.
    estimator : str
        ``"twfe"`` (also diff_in_means, triple differences), ``"event_study"`` or
        ``"callaway_santanna"``.
    staggered : bool
        Whether treated clusters adopt at more than one date.
    n_assignments : int, optional
        Distinct reassignments of the treatment paths (for randomization inference).
    alpha : float
    B : int
        Bootstrap draws / permutations the estimator would use.
    available : sequence of str, optional
        Table method names the caller can run (default all of the estimator's).

    Returns
    -------
    InferenceChoice
        A named tuple; ``choice[0]`` is the method and ``choice[:2]`` (method, weights).

    Examples
    --------
    >>> c = choose_inference(42, 3, 39)
    >>> c.design
    'G=42, 3 treated, 39 untreated, staggered adoption, alpha 0.05'
    >>> c.method in ("cr1", "cr2", "wild", "ri", "conley_taber", "none")
    True
    >>> choose_inference(20, 1, 19, n_assignments=20).method != "ri"  # p >= 1/20: no test
    True
    """
    return _choose_cached(
        int(G),
        int(G_treated),
        int(G_untreated),
        estimator,
        bool(staggered),
        None if n_assignments is None else int(n_assignments),
        float(alpha),
        int(B),
        None if available is None else tuple(sorted(available)),
    )


@functools.lru_cache(maxsize=4096)
def _choose_cached(
    G: int,
    G_treated: int,
    G_untreated: int,
    estimator: str,
    staggered: bool,
    n_assignments: int | None,
    alpha: float,
    B: int,
    available: tuple[str, ...] | None,
) -> InferenceChoice:
    key = TABLE_ESTIMATORS.get(estimator)
    if key is None:
        raise ValueError(
            f"choose_inference: estimator must be one of {', '.join(TABLE_ESTIMATORS)}, got "
            f"{estimator!r}."
        )
    if G_treated < 1 or G_untreated < 0 or G_treated + G_untreated != G:
        raise ValueError(
            f"choose_inference: treated ({G_treated}) and untreated ({G_untreated}) clusters "
            f"must be counts that add up to G ({G})."
        )
    table = inference_table()
    rows = table[(table["estimator"] == key)]
    adoption = "staggered" if staggered else "simultaneous"
    if (rows["adoption"] == adoption).any():
        rows = rows[rows["adoption"] == adoption]
    alphas = np.unique(rows["alpha"].to_numpy(dtype=float))
    a_row = float(alphas[np.argmin(np.abs(alphas - alpha))])
    rows = rows[np.isclose(rows["alpha"].to_numpy(dtype=float), a_row)]
    names = TABLE_METHODS[key]
    allowed = set(names) if available is None else set(available) & set(names)
    ri_ok = n_assignments is None or ri_min_p(int(n_assignments), B) < alpha
    if not ri_ok:
        allowed.discard("ri")
    here = f"{G} clusters ({G_treated} treated, {G_untreated} untreated)"

    def score(g_row: int, t_row: int, u_row: int):
        at = rows[(rows["G"] == g_row) & (rows["treated"] == t_row) & (rows["untreated"] == u_row)]
        scored = []
        for m, grp in at.groupby("method", sort=False):
            if m not in names:
                continue
            ok = True
            for _, r in grp.iterrows():
                k = _SIZE_BAND_MCSE.get(m, _SIZE_BAND_MCSE_DEFAULT)
                band = k * math.sqrt(a_row * (1 - a_row) / max(float(r["n_null"]), 1.0))
                if not (np.isfinite(r["size"]) and r["size"] <= a_row + band):
                    ok = False
            att = grp[grp["target"] == "att"]
            if att.empty:
                continue
            r = att.iloc[0]
            scored.append(
                (
                    m,
                    ok,
                    float(r["size"]),
                    float(r["size_mcse"]),
                    float(r["power"]),
                    float(r["power_mcse"]),
                )
            )
        held = [x for x in scored if x[1] and x[0] in allowed and np.isfinite(x[4])]
        # a test that holds its size but (almost) never rejects an effect of 2.5 SDs is no
        # usable test either: its power must clear alpha by 3 MCSE
        good = [x for x in held if x[4] > a_row + 3 * x[5]]
        design = (
            f"G={g_row}, {t_row} treated, {u_row} untreated, {adoption} adoption, alpha {a_row:g}"
        )
        return scored, held, good, design

    floor_design = _floor_design(rows, G, G_treated, G_untreated)
    if floor_design is None:
        # fewer clusters than any measured design: a method's size there says nothing
        # about it here (sizes worsen as clusters fall), so only randomization inference,
        # exact whatever the number of regions, can be taken (step 4)
        fewest = min(int(g) for g in rows["G"])
        g_row, scored, held, good = G, [], [], []
        design = f"the fewest clusters measured is {fewest}"
    else:
        g_row, (t_row, u_row) = floor_design
        scored, held, good, design = score(g_row, t_row, u_row)
    measured = {m: (sz, pw) for m, _, sz, _, pw, _ in scored}
    others = "; ".join(
        f"{m.replace('_', ' ')} {sz:.3f}" for m, (sz, _) in measured.items() if np.isfinite(sz)
    )
    if not good and "ri" in allowed and n_assignments is not None:
        # randomization inference is exact (for exchangeable regions) whatever the number
        # of clusters once the reassignments allow a p-value below alpha: its size and
        # power can be read at a larger measured design with the same smaller side
        for g_up in sorted(int(g) for g in set(rows["G"]) if g > g_row):
            up_rows = rows[rows["G"] == g_up]
            _, (t2, u2) = _floor_design(up_rows, g_up, G_treated, G_untreated)
            _, _, good2, design2 = score(g_up, t2, u2)
            ri = [x for x in good2 if x[0] == "ri"]
            if ri:
                _, _, sz, szm, pw, pwm = ri[0]
                note = (
                    f"auto chose randomization inference over adoption dates for {here}: "
                    + (
                        f"no measured design is as hard ({design}), "
                        if floor_design is None
                        else f"no method is usable at the nearest harder measured design "
                        f"({design}; measured sizes: {others}), "
                    )
                    + "and randomization inference, exact for "
                    f"exchangeable regions whatever their number once {n_assignments} "
                    f"distinct reassignments allow a p-value below {alpha:g}, had a null "
                    f"rejection rate of {sz:.3f} (MCSE {szm:.3f}) and power {pw:.2f} (MCSE "
                    f"{pwm:.2f}) at {design2}."
                )
                return InferenceChoice("ri", "rademacher", note, sz, szm, pw, pwm, design2, "ri")
    if not good:
        why = []
        if held:
            why.append(
                "the methods that hold their size there ("
                + ", ".join(f"{x[0].replace('_', ' ')} power {x[4]:.2f}" for x in held)
                + ") almost never reject even a large effect"
            )
        if not ri_ok:
            why.append(
                f"randomization inference has only {n_assignments} distinct assignments, "
                f"so no p-value can fall below {alpha:g}"
            )
        if floor_design is None:
            if not ri_ok:
                ri_why = why[-1]
            elif "ri" not in allowed or n_assignments is None:
                ri_why = "randomization inference is not available here"
            else:
                ri_why = "randomization inference was not usable at any measured design"
            found = (
                f"no measured design is as hard ({design}), so no method's size is known "
                f"here, and {ri_why}"
            )
        else:
            found = (
                f"at the measured design ({design}) every method either over-rejected a true "
                "null beyond alpha + 2 MCSE (3 MCSE for randomization inference) or cannot "
                f"run here (measured sizes: {others})" + (f"; {'; '.join(why)}" if why else "")
            )
        note = (
            f"auto found no test at level {alpha:g} for {here}: {found}. The estimate is "
            "reported with no rejection (p = 1) and an unbounded interval."
        )
        return InferenceChoice("none", "rademacher", note, design=design)
    # the most powerful; the methods within 3 MCSE of it are indistinguishable at the
    # table's precision, so the cheapest of them to compute
    floor = max(x[4] - 3 * x[5] for x in good)
    near = [x for x in good if x[4] >= floor]
    m, _, sz, szm, pw, pwm = min(near, key=lambda x: (_COST.get(x[0], 9), -x[4]))
    method, weights = names[m]
    label = {
        "cr1": "CR1 cluster-robust t-test",
        "cr2": "CR2 (Bell-McCaffrey) t-test",
        "wild_rademacher": "the wild cluster restricted bootstrap (Rademacher)",
        "wild_webb": "the wild cluster restricted bootstrap (Webb)",
        "ri": "randomization inference over adoption dates",
        "conley_taber": "Conley-Taber inference",
        "analytic": "the analytic influence-function variance",
        "bootstrap_rademacher": "the multiplier bootstrap (Rademacher)",
        "bootstrap_webb": "the multiplier bootstrap (Webb)",
    }[m]
    note = (
        f"auto chose {label} for {here}: at the measured design ({design}) its null "
        f"rejection rate was {sz:.3f} (MCSE {szm:.3f}) and its power {pw:.2f} (MCSE "
        f"{pwm:.2f}), the highest of the methods that held their size (measured sizes: "
        f"{others})"
    )
    return InferenceChoice(method, weights or "rademacher", note + ".", sz, szm, pw, pwm, design, m)
