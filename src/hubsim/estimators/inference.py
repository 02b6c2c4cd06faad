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

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from hubsim.stats import cr1_factor, cr1_se

INFERENCES = ("auto", "cr1", "cr2", "wild", "ri", "conley_taber")
WILD_WEIGHTS = ("rademacher", "webb")

# Rule thresholds used by choose_inference (documented there).
_FEW_SIDE = 2
_MANY_CLUSTERS = 40
_MANY_SIDE = 8
_WEBB_BELOW = 13
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
        One or two integer code arrays (0..L-1) of length N. An all-zero array is the
        intercept.
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
        if not 1 <= len(factors) <= 2:
            raise ValueError("FEProjector: one or two factors are supported.")
        self.n = len(weights)
        self.w = np.asarray(weights, dtype=float)
        self.codes = [np.asarray(f, dtype=np.int64) for f in factors]
        self.levels = [int(f.max()) + 1 if len(f) else 0 for f in self.codes]
        self._S: list | None = None
        self.Wl = [
            np.bincount(f, self.w, minlength=L)
            for f, L in zip(self.codes, self.levels, strict=True)
        ]
        if len(self.codes) == 2:
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


def _cr2_adjusted(core: LinearCore) -> tuple[np.ndarray, np.ndarray]:
    """For each cluster, A_g u_g and A_g x_g with A_g = (I - H_gg)^(-1/2) (pseudo-inverse)."""
    if "cr2" in core._cache:
        return core._cache["cr2"]
    proj = core.proj
    npinv = proj.normal_pinv()
    offsets = np.cumsum([0, *proj.levels[:-1]])
    order = np.argsort(core.cluster, kind="stable")
    bounds = np.searchsorted(core.cluster[order], np.arange(core.G + 1))
    q = core.others.shape[1]
    oo_inv = np.linalg.pinv(core.others.T @ core.others) if q else np.zeros((0, 0))
    Au = np.empty(core.n)
    Ax = np.empty(core.n)
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
        QU = Q @ U

        def apply(v, QU=QU, scale=scale, Q=Q):
            # (I - H)^(-1/2) v = (I - QQ')v + QU diag(scale) U'Q' v
            return v - Q @ (Q.T @ v) + QU @ (scale * (QU.T @ v))

        Au[idx] = apply(core.u[idx])
        Ax[idx] = apply(core.x[idx])
    core._cache["cr2"] = (Au, Ax)
    return Au, Ax


def cr2(core: LinearCore) -> tuple[float, float]:
    """Bell-McCaffrey (CR2) standard error with Imbens-Kolesar degrees of freedom."""
    Au, Ax = _cr2_adjusted(core)
    scores = core.cluster_sum(core.x * Au)
    se = math.sqrt(float(scores @ scores)) / core.xx
    # Imbens-Kolesar: columns M[:, g] A_g x_g; eigenvalues of their Gram matrix
    if core.n * core.G > 5e7:
        return se, float(core.G - 1)
    Gm = core.full_resid(core.spread(Ax))
    gram = Gm.T @ Gm
    df = float(np.trace(gram) ** 2 / np.sum(gram * gram))
    return se, df


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
    statistics use CR1 standard errors.

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
    if core.G > _MAX_WILD_CLUSTERS:
        raise ValueError(
            f"inference='wild': {core.G} clusters are too many for the wild cluster bootstrap "
            f"(at most {_MAX_WILD_CLUSTERS}); with so many clusters use inference='cr1'."
        )
    rng = np.random.default_rng(seed)
    V, full = wild_weights(core.G, B, weights, rng)
    cy = core.cluster_sum(core.x * core.y)
    cx = core.cluster_sum(core.x * core.x)
    # H[g, h] = x_g' [P_full (u restricted to cluster h)]_g, linear in the null value
    key = "wild_H"
    if key not in core._cache:
        # H[g, h] = sum_{j in h} K[j, g] u_j with K = P_full (x spread over clusters): P is
        # symmetric, so one projection of an N x G matrix serves every null value.
        Ex = core.spread(core.x)
        K = Ex - core.full_resid(Ex)
        Hy = core.cluster_sum(K * core.y[:, None]).T
        Hx = core.cluster_sum(K * core.x[:, None]).T
        core._cache[key] = (Hy, Hx)
    Hy, Hx = core._cache[key]
    G = core.G
    # bootstrap numerators and cluster scores for y and x in one product:
    # Z_g = v_g C_g - sum_h H_gh v_h, linear in the null value through (y, x)
    P = np.vstack([cy, cx, np.diag(cy) - Hy, np.diag(cx) - Hx]) @ V
    ny, nx, Zy, Zx = P[0], P[1], P[2 : 2 + G], P[2 + G :]
    qyy = np.einsum("gb,gb->b", Zy, Zy)
    qxy = np.einsum("gb,gb->b", Zy, Zx)
    qxx = np.einsum("gb,gb->b", Zx, Zx)
    se, _ = cr1(core)
    ssc = core.ssc

    def tboot(b0: float) -> np.ndarray:
        den = ssc * np.maximum(qyy - 2 * b0 * qxy + b0 * b0 * qxx, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (ny - b0 * nx) / np.sqrt(den)

    def pval(b0: float) -> float:
        t = abs((core.beta - b0) / se)
        tb = np.abs(tboot(b0))
        return float(np.mean(tb > t * (1 + 1e-10) + 1e-300))

    p = pval(0.0)
    lo, hi = _invert(pval, core.beta, se, alpha) if ci else (math.nan, math.nan)
    return WildResult(
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        t_stat=core.beta / se,
        t_boot=tboot(0.0),
        B=V.shape[1],
        full_enumeration=full,
        weights=weights,
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
    lo, hi = _invert(pval, core.beta, se_obs, alpha) if ci else (math.nan, math.nan)
    return RIResult(
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        t_stat=core.beta / se_obs,
        t_perm=tperm(0.0),
        n_perm=len(perms),
        exact=exact,
    )


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
# Choosing an inference
# ---------------------------------------------------------------------------------------


def choose_inference(
    G: int, G_treated: int, G_untreated: int, *, B: int = 999
) -> tuple[str, str, str]:
    """The inference ``"auto"`` uses, the wild weights, and a sentence saying why.

    Rules (MacKinnon & Webb 2017; Conley & Taber 2011; Pustejovsky & Tipton 2018):

    - at most 2 treated or at most 2 untreated clusters: cluster-robust and wild
      bootstrap tests are badly sized, so ``"ri"`` (permuting adoption dates, exact when
      regions are exchangeable);
    - fewer than 40 clusters, or fewer than 8 treated or untreated clusters: ``"wild"``
      (restricted, Webb weights below 13 clusters, Rademacher otherwise);
    - otherwise: ``"cr2"`` (Bell-McCaffrey with Imbens-Kolesar degrees of freedom).

    Examples
    --------
    >>> choose_inference(42, 20, 22)[0]
    'cr2'
    >>> choose_inference(8, 4, 4)[:2]
    ('wild', 'webb')
    """
    few = min(G_treated, G_untreated)
    if few <= _FEW_SIDE:
        side = "treated" if G_treated <= G_untreated else "untreated"
        k = math.comb(G, few) if few else 1
        note = (
            f"auto chose randomization inference: only {few} {side} of {G} clusters, where "
            "cluster-robust and wild bootstrap tests are badly sized; permuting adoption dates "
            "across regions is exact if regions are exchangeable"
        )
        if k < 1 / 0.05:
            note += f" (but about {k} distinct assignments cannot give p < 0.05)"
        return "ri", "rademacher", note + "."
    if G < _MANY_CLUSTERS or few < _MANY_SIDE:
        weights = "webb" if G < _WEBB_BELOW else "rademacher"
        return (
            "wild",
            weights,
            f"auto chose the wild cluster restricted bootstrap ({weights} weights): {G} clusters "
            f"({G_treated} treated, {G_untreated} untreated) are too few for CR1/CR2 t-tests "
            "to hold their size.",
        )
    return (
        "cr2",
        "rademacher",
        f"auto chose CR2 (Bell-McCaffrey, Imbens-Kolesar df): {G} clusters with {G_treated} "
        f"treated and {G_untreated} untreated are enough for a bias-reduced t-test.",
    )
