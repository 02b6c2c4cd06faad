"""The ordinal-threshold item model and its calibration to published figures.

Each item has a continuous response tendency ``y* = w . theta + sqrt(1 - h) * e`` where
``theta`` holds the five latent domains (``LATENT_DOMAINS``; standard normal, 0 = the
average of the general staff population), ``w`` the item's loadings, ``h`` its communality
and ``e`` standard-normal item noise, so ``y*`` is standard normal in the staff population.
The item's category is the number of its ordered thresholds that ``y*`` exceeds (a graded
response model in its normal-ogive form); category k maps to the instrument's k-th allowed
score, so totals and item rules always hold.

Thresholds of an item with m thresholds are ``shift + span * (0, 1, ..., m-1) / (m-1)``.
The loading, the shift and the span are not chosen by hand: they are solved, by
Gauss-Hermite quadrature of the exact model (no simulation), so that the model reproduces
the published figures in :data:`TARGETS` (each naming its calibration.md row). The solve is
deterministic and runs once per process (cached).

GAD-7 fixes the span: its four unknowns (loading, shift, span, and the general-population
latent mean ``mu_gp`` relative to staff) are solved from four figures: NHS CHECK staff
GAD-7 >= 10 (23.2%), and in the general population (Löwe 2008) GAD-7 >= 10 (5%), >= 15 (1%)
and alpha 0.89. The other instruments reuse that span (assumption: the same spacing of
categories on the response scale) and solve their loading and shift from their own figures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq, root
from scipy.special import ndtr, ndtri

from hubsim.measures.instruments import ITQ_CLUSTERS, ITQ_ENDORSED, get_instrument

__all__ = [
    "DOMAINS",
    "REFERENCE_LATENT_CORRELATION",
    "TARGETS",
    "ItemModel",
    "Target",
    "expected_total_correlation",
    "general_population_shift",
    "item_model",
]

# Same order as hubsim.config.schema.LATENT_DOMAINS (not imported, so measures does not pull
# in pydantic; a test checks the two agree).
DOMAINS: tuple[str, ...] = ("depression", "anxiety", "trauma", "alcohol", "functioning")
_D = {d: i for i, d in enumerate(DOMAINS)}

# Latent correlation used to (a) scale the ITQ DSO items, which load on several domains, so
# that their response tendency has variance 1, and (b) draw latents in calibration_report.
# Copied from configs/defaults/hub.yaml clients.correlation, whose source is calibration.md
# §7 "Correlation PHQ-9 ~ GAD-7 0.75" and §4 WSAS "r = 0.76 with depression severity"; the
# other entries are assumptions there.
REFERENCE_LATENT_CORRELATION = np.array(
    [
        [1.00, 0.75, 0.55, 0.20, 0.76],
        [0.75, 1.00, 0.55, 0.20, 0.65],
        [0.55, 0.55, 1.00, 0.20, 0.50],
        [0.20, 0.20, 0.20, 1.00, 0.20],
        [0.76, 0.65, 0.50, 0.20, 1.00],
    ]
)
REFERENCE_LATENT_CORRELATION.setflags(write=False)

# Relative weights of the domains for ITQ items (before scaling to unit variance). PTSD
# symptom and PTSD impairment items load on trauma alone; the DSO clusters also carry
# depression (affective dysregulation, negative self-concept) or functioning (disturbed
# relationships, DSO impairment). The split is an assumption ("a bit" of depression and
# functioning); it changes the complex-PTSD share, which is reported, not calibrated.
_ITQ_DSO_WEIGHTS = {
    "ad": {"trauma": 0.8, "depression": 0.3},
    "nsc": {"trauma": 0.7, "depression": 0.5},
    "dr": {"trauma": 0.7, "functioning": 0.5},
    "dso_impairment": {"trauma": 0.7, "functioning": 0.5},
}


@dataclass(frozen=True)
class Target:
    """A published figure the item model is solved to reproduce, or is compared with."""

    key: str
    instrument: str
    statistic: str
    population: str
    value: float
    source: str
    conf: str
    cut: int | None = None  # the total's cut-off, for "P(total >= cut)" figures


# Figures used by the solve. "staff" = the general NHS staff population (latent ~ N(0, 1));
# "general" = the general adult population (latent ~ N(mu_gp, 1), mu_gp solved from GAD-7).
TARGETS: dict[str, Target] = {
    t.key: t
    for t in (
        Target(
            "phq9_ge10",
            "phq9",
            "P(total >= 10)",
            "staff",
            0.273,
            "calibration.md §2 Lamb 2021 NHS CHECK, PHQ-9 depression 27.3% "
            "(threshold >= 10 is R there)",
            "D",
            cut=10,
        ),
        Target(
            "phq9_item9_ge1",
            "phq9",
            "P(item 9 >= 1)",
            "staff",
            0.13,
            "calibration.md §2 Greenberg 2021 ICU staff, thoughts of self-harm 13% "
            "(an ICU figure applied to all staff)",
            "X",
        ),
        Target(
            "phq9_alpha",
            "phq9",
            "Cronbach alpha",
            "staff",
            0.89,
            "calibration.md §4 PHQ-9 alpha 0.89 (Kroenke 2001)",
            "D",
        ),
        Target(
            "gad7_ge10",
            "gad7",
            "P(total >= 10)",
            "staff",
            0.232,
            "calibration.md §2 Lamb 2021 NHS CHECK, GAD-7 anxiety 23.2% "
            "(threshold >= 10 is R there)",
            "D",
            cut=10,
        ),
        Target(
            "gad7_ge10_gp",
            "gad7",
            "P(total >= 10)",
            "general",
            0.05,
            "calibration.md §2 Löwe 2008 German adults, about 5% score >= 10",
            "D",
            cut=10,
        ),
        Target(
            "gad7_ge15_gp",
            "gad7",
            "P(total >= 15)",
            "general",
            0.01,
            "calibration.md §2 Löwe 2008 German adults, about 1% score >= 15",
            "D",
            cut=15,
        ),
        Target(
            "gad7_alpha_gp",
            "gad7",
            "Cronbach alpha",
            "general",
            0.89,
            "calibration.md §4 GAD-7 alpha 0.89 in the general population (Löwe 2008)",
            "D",
        ),
        Target(
            "wsas_ge10",
            "wsas",
            "P(total >= 10)",
            "staff",
            0.273,
            "assumption: equal to PHQ-9 >= 10 (calibration.md §4 WSAS r = 0.76 with "
            "depression severity; no staff WSAS prevalence in calibration.md)",
            "X",
            cut=10,
        ),
        Target(
            "wsas_alpha",
            "wsas",
            "Cronbach alpha",
            "staff",
            0.82,
            "calibration.md §4 WSAS alpha 0.70-0.94 (midpoint)",
            "X",
        ),
        Target(
            "audit_ge8",
            "audit",
            "P(total >= 8)",
            "staff",
            0.105,
            "calibration.md §2 Lamb 2021 NHS CHECK, AUDIT alcohol misuse 10.5% "
            "(threshold >= 8 is R there)",
            "D",
            cut=8,
        ),
        Target(
            "pcl5_ge33",
            "pcl5",
            "P(total >= 33)",
            "staff",
            0.302,
            "calibration.md §2 Lamb 2021 NHS CHECK, PCL-6 probable PTSD 30.2%, applied to "
            "PCL-5 >= 33 (Scott 2023 gives 25.4%)",
            "X",
            cut=33,
        ),
        Target(
            "itq_any",
            "itq",
            "P(PTSD or complex PTSD)",
            "staff",
            0.079,
            "calibration.md §2 Scott 2023 NHS CHECK, CAPS-5 PTSD 7.9% (DSM-5 interview "
            "applied to the ICD-11 ITQ algorithm)",
            "X",
        ),
        Target(
            "itq_ptsd_alpha",
            "itq",
            "Cronbach alpha (6 PTSD items)",
            "staff",
            0.89,
            "calibration.md §4 ITQ PTSD items alpha 0.89 (Cloitre 2018)",
            "D",
        ),
    )
}


@dataclass(frozen=True, eq=False)
class ItemModel:
    """Item parameters of one instrument in the ordinal-threshold model.

    Attributes
    ----------
    instrument : str
        Instrument name.
    weights : numpy.ndarray, shape (n_items, 5)
        Loadings of each item's response tendency on the latent domains.
    noise_sd : numpy.ndarray, shape (n_items,)
        Standard deviation of the item noise (``sqrt(1 - communality)``).
    thresholds : numpy.ndarray, shape (n_items, max thresholds)
        Ascending thresholds per item, padded with +inf.
    values : numpy.ndarray, shape (n_items, max thresholds + 1)
        The score of each category per item (padding repeats the top score).
    loading, shift, span : float
        The solved loading, threshold shift and threshold span.
    """

    instrument: str
    weights: np.ndarray
    noise_sd: np.ndarray
    thresholds: np.ndarray
    values: np.ndarray
    loading: float
    shift: float
    span: float

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.weights.shape[0])


# Gauss-Hermite nodes and weights for E[f(Z)], Z ~ N(0, 1).
_GH_X, _GH_W = hermegauss(61)
_GH_W = _GH_W / np.sqrt(2.0 * np.pi)


def _build(name: str, loading: float, shift: float, span: float) -> ItemModel:
    spec = get_instrument(name)
    k = spec.n_items
    m_max = max(len(v) for v in spec.item_values) - 1
    thresholds = np.full((k, m_max), np.inf)
    values = np.zeros((k, m_max + 1), dtype=np.int64)
    weights = np.zeros((k, len(DOMAINS)))
    for j, item_values in enumerate(spec.item_values):
        m = len(item_values) - 1
        start = shift
        if name == "phq9" and j == 8:
            # Item 9 (self-harm) is far rarer than the others: its first threshold is set so
            # P(item 9 >= 1) in the staff population equals its target; the span is shared.
            start = float(ndtri(1.0 - TARGETS["phq9_item9_ge1"].value))
        thresholds[j, :m] = start + span * np.arange(m) / (m - 1)
        values[j, : m + 1] = item_values
        values[j, m + 1 :] = item_values[-1]
        weights[j, _D[spec.domain]] = loading
    if name == "itq":
        r = REFERENCE_LATENT_CORRELATION
        for cluster, rel in _ITQ_DSO_WEIGHTS.items():
            w = np.zeros(len(DOMAINS))
            for domain, value in rel.items():
                w[_D[domain]] = value
            w = w / np.sqrt(w @ r @ w)  # unit variance under the reference correlation
            for item in ITQ_CLUSTERS[cluster]:
                weights[item - 1] = loading * w
    noise_sd = np.full(k, np.sqrt(1.0 - loading**2))
    for arr in (weights, noise_sd, thresholds, values):
        arr.setflags(write=False)
    return ItemModel(name, weights, noise_sd, thresholds, values, loading, shift, span)


def _primary(model: ItemModel, items: np.ndarray | None = None):
    """Loading, thresholds and values of single-domain items (for quadrature)."""
    idx = np.arange(model.n_items) if items is None else np.asarray(items)
    w = model.weights[idx]
    lam = w.max(axis=1)
    if not np.all((w != 0).sum(axis=1) == 1):
        raise RuntimeError("quadrature needs items that load on one domain")
    return lam, model.thresholds[idx], model.values[idx]


def _cat_probs(theta: np.ndarray, lam: np.ndarray, thr: np.ndarray) -> np.ndarray:
    """P(category | theta), shape (len(theta), items, m + 1)."""
    sd = np.sqrt(1.0 - lam**2)
    z = (lam[None, :, None] * theta[:, None, None] - thr[None, :, :]) / sd[None, :, None]
    p_ge = ndtr(z)  # P(y >= k), k = 1..m; +inf thresholds give 0
    ones = np.ones((*p_ge.shape[:2], 1))
    zeros = np.zeros_like(ones)
    full = np.concatenate([ones, p_ge, zeros], axis=2)
    return full[:, :, :-1] - full[:, :, 1:]


def _total_pmf(theta, lam, thr, vals) -> np.ndarray:
    """P(total = t | theta) by convolving the items, shape (len(theta), max total + 1)."""
    probs = _cat_probs(theta, lam, thr)
    top = int(vals.max(axis=1).sum())
    pmf = np.zeros((theta.size, top + 1))
    pmf[:, 0] = 1.0
    for j in range(vals.shape[0]):
        new = np.zeros_like(pmf)
        for c in range(vals.shape[1]):
            v = int(vals[j, c])
            new[:, v:] += pmf[:, : top + 1 - v] * probs[:, j, c : c + 1]
        pmf = new
    return pmf


def _prevalence(model: ItemModel, cut: int, mu: float = 0.0) -> float:
    lam, thr, vals = _primary(model)
    pmf = _total_pmf(_GH_X + mu, lam, thr, vals)
    return float(_GH_W @ pmf[:, cut:].sum(axis=1))


def _moments(model: ItemModel, mu: float = 0.0, items=None):
    """Item means given theta (items, nodes) and the marginal item variances."""
    lam, thr, vals = _primary(model, items)
    probs = _cat_probs(_GH_X + mu, lam, thr)
    m1 = np.einsum("nic,ic->in", probs, vals)
    m2 = np.einsum("nic,ic->in", probs, vals.astype(float) ** 2)
    var = m2 @ _GH_W - (m1 @ _GH_W) ** 2
    return m1, var


def _alpha(model: ItemModel, mu: float = 0.0, items=None) -> float:
    m1, var = _moments(model, mu, items)
    mean = m1 @ _GH_W
    cov = (m1 * _GH_W) @ m1.T - np.outer(mean, mean)  # items independent given theta
    np.fill_diagonal(cov, var)
    k = cov.shape[0]
    return float(k / (k - 1) * (1.0 - np.trace(cov) / cov.sum()))


def _itq_any(model: ItemModel) -> float:
    """P(ITQ PTSD criteria met) in the staff population (PTSD items load on trauma only)."""
    items = [i - 1 for c in ("re", "av", "th", "ptsd_impairment") for i in ITQ_CLUSTERS[c]]
    lam, thr, _ = _primary(model, items)
    probs = _cat_probs(_GH_X, lam, thr)
    p = probs[:, :, ITQ_ENDORSED:].sum(axis=2)  # P(item >= 2 | theta)
    met = np.ones(_GH_X.size)
    for cluster in ("re", "av", "th", "ptsd_impairment"):
        cols = [items.index(i - 1) for i in ITQ_CLUSTERS[cluster]]
        met *= 1.0 - np.prod(1.0 - p[:, cols], axis=1)
    return float(_GH_W @ met)


def _solve(fun, x0, what: str) -> np.ndarray:
    sol = root(fun, x0, method="hybr", options={"xtol": 1e-12})
    if not sol.success or np.max(np.abs(fun(sol.x))) > 1e-8:
        raise RuntimeError(f"calibration of {what} did not converge: {sol.message}")
    return sol.x


def _bounded(x: float) -> float:
    # loadings live in (0, 1): solve on the logit scale so the root finder cannot leave it
    return float(1.0 / (1.0 + np.exp(-x)))


@functools.cache
def _calibrate() -> tuple[dict[str, ItemModel], float]:
    t = {k: v.value for k, v in TARGETS.items()}
    cut = {k: v.cut for k, v in TARGETS.items()}

    def gad(x):
        lam, s, span, mu = _bounded(x[0]), x[1], np.exp(x[2]), x[3]
        m = _build("gad7", lam, s, span)
        return [
            _prevalence(m, cut["gad7_ge10"]) - t["gad7_ge10"],
            _prevalence(m, cut["gad7_ge10_gp"], mu) - t["gad7_ge10_gp"],
            _prevalence(m, cut["gad7_ge15_gp"], mu) - t["gad7_ge15_gp"],
            _alpha(m, mu) - t["gad7_alpha_gp"],
        ]

    g = _solve(gad, [1.3, 0.0, np.log(2.0), -0.8], "GAD-7")
    span, mu_gp = float(np.exp(g[2])), float(g[3])
    models = {"gad7": _build("gad7", _bounded(g[0]), float(g[1]), span)}

    def two(name, share_key, alpha_key, alpha_items=None, prevalence=None):
        def f(x):
            m = _build(name, _bounded(x[0]), x[1], span)
            p = _prevalence(m, cut[share_key]) if prevalence is None else prevalence(m)
            return [p - t[share_key], _alpha(m, 0.0, alpha_items) - t[alpha_key]]

        x = _solve(f, [1.3, 0.0], name)
        return _build(name, _bounded(x[0]), float(x[1]), span)

    models["phq9"] = two("phq9", "phq9_ge10", "phq9_alpha")
    models["wsas"] = two("wsas", "wsas_ge10", "wsas_alpha")
    models["itq"] = two(
        "itq", "itq_any", "itq_ptsd_alpha", alpha_items=np.arange(6), prevalence=_itq_any
    )

    def one(name, loading, key):
        def f(s):
            return _prevalence(_build(name, loading, s, span), cut[key]) - t[key]

        return _build(name, loading, brentq(f, -6.0, 6.0, xtol=1e-13), span)

    # No reliability figure in calibration.md for PCL-5 or AUDIT: PCL-5 items take the ITQ
    # PTSD-item loading (same construct, same 0-4 format) and AUDIT items the PHQ-9 item
    # loading (assumption); only their shift is solved.
    models["pcl5"] = one("pcl5", models["itq"].loading, "pcl5_ge33")
    models["audit"] = one("audit", models["phq9"].loading, "audit_ge8")
    return models, mu_gp


def item_model(instrument: str) -> ItemModel:
    """The calibrated :class:`ItemModel` of an instrument.

    Examples
    --------
    >>> m = item_model("phq9")
    >>> m.weights.shape, bool(0 < m.loading < 1)
    ((9, 5), True)
    """
    return _calibrate()[0][get_instrument(instrument).name]


def general_population_shift() -> float:
    """Latent mean of the general adult population relative to staff, solved from GAD-7."""
    return _calibrate()[1]


def _total_mean_given(model: ItemModel, theta: np.ndarray) -> np.ndarray:
    lam, thr, vals = _primary(model)
    return np.einsum("nic,ic->n", _cat_probs(theta, lam, thr), vals)


def expected_total_correlation(
    rho: float, a: str = "phq9", b: str = "gad7", *, mu: float = 0.0
) -> float:
    """Model correlation of two instruments' totals when their latent domains correlate ``rho``.

    Exact under the item model (two-dimensional Gauss-Hermite quadrature), for instruments
    whose items load on one domain each; both latents ~ N(mu, 1).

    Parameters
    ----------
    rho : float
        Latent correlation, in (-1, 1).
    a, b : str
        Instrument names (not ``"itq"``).
    mu : float, default 0
        Latent mean (0 = the general staff population).

    Returns
    -------
    float

    Examples
    --------
    >>> round(expected_total_correlation(0.75), 2)
    0.66
    """
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho!r}.")
    ma, mb = item_model(a), item_model(b)
    x1 = _GH_X[:, None] + mu
    x2 = rho * _GH_X[:, None] + np.sqrt(1.0 - rho**2) * _GH_X[None, :] + mu
    ea = _total_mean_given(ma, x1.ravel()).reshape(x1.shape)
    eb = _total_mean_given(mb, x2.ravel()).reshape(x2.shape)
    w2 = _GH_W[:, None] * _GH_W[None, :]
    cross = float((w2 * ea * eb).sum())
    moments = []
    for m in (ma, mb):
        lam, thr, vals = _primary(m)
        pmf = _GH_W @ _total_pmf(_GH_X + mu, lam, thr, vals)
        t = np.arange(pmf.size)
        moments.append((pmf @ t, pmf @ t**2 - (pmf @ t) ** 2))
    (mean_a, var_a), (mean_b, var_b) = moments
    return float((cross - mean_a * mean_b) / np.sqrt(var_a * var_b))


def category_probabilities(instrument: str, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(item category | domain latent) of a single-domain instrument, and item values.

    Returns an array of shape (len(theta), items, categories) and the item values
    (items, categories), so expected totals and tail probabilities are exact sums.
    """
    lam, thr, vals = _primary(item_model(instrument))
    return _cat_probs(np.asarray(theta, dtype=float), lam, thr), vals


def total_at_least(instrument: str, theta: np.ndarray, cut: int) -> np.ndarray:
    """P(total >= cut | domain latent), by convolving the items' distributions."""
    lam, thr, vals = _primary(item_model(instrument))
    return _total_pmf(np.asarray(theta, dtype=float), lam, thr, vals)[:, cut:].sum(axis=1)
