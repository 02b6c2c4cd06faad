"""Closed-form power and sample size for the designs that have one.

Four designs, each solving for whichever ONE of power, sample size (clusters or
individuals), cluster size or effect is passed as ``None``:

* :func:`power_individual` - two arms, individually randomised, two-sided t-test
  (identical to ``statsmodels.stats.power.TTestIndPower``);
* :func:`power_cluster` - two arms, cluster randomised, design effect
  ``1 + (m - 1) ICC`` with the unequal-cluster-size extensions of Eldridge et al. (2006)
  and van Breukelen et al. (2007), following the conventions of clusterPower's
  ``cpa.normal``;
* :func:`power_cluster_did` - cluster difference-in-differences (pre/post, treated vs
  control clusters) with cluster- and subject-level pre/post correlations, following
  clusterPower's ``cpa.did.normal``;
* :func:`power_stepped_wedge` - stepped-wedge / staggered roll-out with the generalised
  least squares variance of Hussey & Hughes (2007), as in swCRTdesign's ``swPwr``.

They are fast cross-checks for the simulation-based :mod:`hubsim.power` results and a
formula for users who want one. Each design states only its standard error and degrees of
freedom as a function of its sample sizes; one solver (``_solve``) fills in whichever
quantity is missing (power directly, the effect or a sample size by bracketing and
Brent's method, where power increases in it). Every function returns a frozen
:class:`PowerResult` (one shape: the common fields, the design's own, ``.tidy()`` one row
and ``.summary()`` text).

References
----------
Eldridge SM, Ashby D, Kerry S (2006). Sample size for cluster randomized trials: effect of
coefficient of variation of cluster size and analysis method. Int J Epidemiol 35:1292-300.
van Breukelen GJP, Candel MJJM, Berger MPF (2007). Relative efficiency of unequal versus
equal cluster sizes in cluster randomized and multicentre trials. Stat Med 26:2589-603.
Hussey MA, Hughes JP (2007). Design and analysis of stepped wedge cluster randomized
trials. Contemp Clin Trials 28:182-91.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

from hubsim.checks import (
    check_alpha,
    check_at_least,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_positive,
    check_unit_interval,
)

__all__ = [
    "ClusterDiDPower",
    "ClusterPower",
    "IndividualPower",
    "PowerResult",
    "SteppedWedgePower",
    "design_effect",
    "power_cluster",
    "power_cluster_did",
    "power_individual",
    "power_stepped_wedge",
    "stepped_wedge_design",
]

# Root-finding tolerances: tight enough that solved sample sizes and effects agree with
# statsmodels to ~1e-10 relative (the tests ask for 1e-8).
_XTOL = 1e-12
_RTOL = 1e-13
# Bracket expansion stops here; beyond it the target is called unreachable.
_UPPER_LIMIT = 1e9
_CV_METHODS = ("eldridge", "taylor")
_DISTS = ("t", "z")


# ---------------------------------------------------------------------------------------
# Input checks (the shared ones live in hubsim.checks)
# ---------------------------------------------------------------------------------------


def _check_icc(icc: Any) -> float:
    return check_unit_interval("icc", icc, closed_low=True)


def _which_missing(values: dict[str, Any]) -> str:
    """Name of the single argument passed as None; raise unless exactly one is."""
    missing = [k for k, v in values.items() if v is None]
    if len(missing) != 1:
        got = "none" if not missing else f"{len(missing)}: {', '.join(missing)}"
        raise ValueError(
            f"Exactly one of {', '.join(values)} must be None (the quantity to solve for), "
            f"got {got}."
        )
    return missing[0]


def _given(value: Any, check: Callable[..., float], *args: Any) -> float | None:
    """``check(*args)`` applied to a given value; None stays None (the quantity solved)."""
    return None if value is None else check(args[0], value, *args[1:])


def _check_n_clusters(name: str, n_clusters: Any, dist: str) -> float:
    k = check_number(name, n_clusters)
    if dist == "t" and k <= 1.0:
        raise ValueError(
            f"n_clusters must be greater than 1 (the t-test has 2 (n_clusters - 1) df), "
            f"got {n_clusters!r}."
        )
    if k <= 0.0:
        raise ValueError(f"n_clusters must be greater than 0, got {n_clusters!r}.")
    return k


# ---------------------------------------------------------------------------------------
# Rejection probability and the one solver
# ---------------------------------------------------------------------------------------


def _rejection_probability(
    effect: float, se: float, df: float, alpha: float, both_tails: bool
) -> float:
    """Probability that a two-sided level-``alpha`` test rejects when the truth is ``effect``.

    ``df = inf`` means a z-test. With ``both_tails`` the (tiny) chance of rejecting in the
    wrong direction is counted too, as statsmodels and swPwr do; clusterPower's ``cpa.*``
    functions leave it out.
    """
    ncp = abs(effect) / se
    if math.isinf(df):
        crit = stats.norm.isf(alpha / 2.0)
        p = stats.norm.sf(crit - ncp)
        if both_tails:
            p += stats.norm.cdf(-crit - ncp)
    else:
        crit = stats.t.isf(alpha / 2.0, df)
        p = stats.nct.sf(crit, df, ncp)
        if both_tails:
            # P(T < -crit | ncp) = P(T > crit | -ncp); scipy's nct.cdf returns NaN deep in
            # the lower tail (e.g. df=488, ncp=8), the reflected sf does not.
            p += stats.nct.sf(crit, df, -ncp)
    return float(p)


def _solve_increasing(
    power_at: Callable[[float], float],
    target: float,
    name: str,
    low: float,
    start_high: float,
) -> float:
    """Solve ``power_at(x) = target`` for x >= ``low`` where power increases with x."""
    p_low = power_at(low)
    if p_low >= target:
        raise ValueError(
            f"The target power {target:g} is already reached at the smallest {name} "
            f"considered ({low:g}, power {p_low:.4g}), so there is nothing to solve."
        )
    high = max(start_high, 2.0 * low, 1e-6)
    p_high = power_at(high)
    while p_high < target:
        if high >= _UPPER_LIMIT:
            raise ValueError(
                f"The target power {target:g} cannot be reached by increasing {name} "
                f"(power is only {p_high:.4g} at {name} = {high:.3g})."
            )
        low, high = high, min(2.0 * high, _UPPER_LIMIT)
        p_high = power_at(high)
    return float(
        optimize.brentq(
            lambda x: power_at(x) - target, low, high, xtol=_XTOL, rtol=_RTOL, maxiter=500
        )
    )


def _solve(
    target: str,
    values: dict[str, Any],
    se_df: Callable[..., tuple[float, float]],
    *,
    alpha: float,
    both_tails: bool,
    brackets: Mapping[str, tuple[float, float]],
) -> dict[str, float]:
    """Fill in the one quantity passed as None: power, effect, or a sample size.

    ``values`` holds ``power``, ``effect`` and the design's sample sizes (checked numbers,
    the target None); ``se_df(**sizes)`` gives the standard error of the effect and the
    reference df (inf for z). A sample size is solved where power increases in it, from
    ``brackets[target] = (smallest value, first upper guess)``. Returns ``values`` completed.
    """
    sizes = {k: v for k, v in values.items() if k not in ("power", "effect")}
    out = dict(values)
    eff, pw = values["effect"], values["power"]
    if target == "power":
        out["power"] = _rejection_probability(eff, *se_df(**sizes), alpha, both_tails)
    elif target == "effect":
        se, df = se_df(**sizes)
        # the rejection rate at no effect is the floor; a target at or below it has no solution
        floor = _rejection_probability(0.0, se, df, alpha, both_tails)
        if pw <= floor:
            raise ValueError(
                f"power must exceed the rejection rate under no effect ({floor:.4g}) to solve "
                f"for the effect, got {pw:g}."
            )
        out["effect"] = _solve_increasing(
            lambda e: _rejection_probability(e, se, df, alpha, both_tails), pw, "effect", 0.0, se
        )
    else:
        if eff == 0.0:
            raise ValueError(f"effect must be non-zero to solve for {target}, got 0.")

        def power_at(x: float) -> float:
            return _rejection_probability(eff, *se_df(**{**sizes, target: x}), alpha, both_tails)

        low, start = brackets[target]
        out[target] = _solve_increasing(power_at, pw, target, low, start)
    return out


# ---------------------------------------------------------------------------------------
# Result objects: one shape
# ---------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _dist_text(df: float) -> str:
    return "normal reference" if math.isinf(df) else f"t with {_fmt(df)} df"


@dataclass(frozen=True, kw_only=True)
class PowerResult:
    """The shape every closed-form power result has.

    Attributes
    ----------
    design : str
        Which design (``"individual"``, ``"cluster"``, ``"cluster_did"``,
        ``"stepped_wedge"``).
    solved_for : str
        The quantity that was passed as None and solved.
    power, effect : float
        Power and effect (outcome units).
    alpha, se, df : float
        Level, standard error of the effect and the reference df (inf: normal).
    both_tails : bool
        Whether rejections in the wrong direction count toward power.

    Each design adds its own fields; ``TIDY_COLUMNS`` (the one-row ``.tidy()`` frame) is
    ``design, solved_for, power, effect``, the design's own fields, then ``alpha, se, df,
    both_tails`` (less the fields a design leaves out of it).
    """

    design: str
    solved_for: str
    power: float
    effect: float
    alpha: float
    se: float
    df: float = math.inf
    both_tails: bool

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = ()
    #: fields left out of the tidy row (tuples, or a df that is always inf)
    _UNTIDY: ClassVar[tuple[str, ...]] = ()
    #: the summary's first line
    _TITLE: ClassVar[str] = ""
    #: (field, label) of the quantities the summary lists, solved or given
    _QUANTITIES: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        head = ("design", "solved_for", "power", "effect")
        tail = ("alpha", "se", "df", "both_tails")
        own = tuple(
            k for k, v in cls.__annotations__.items() if not str(v).startswith("ClassVar")
        )
        cls.TIDY_COLUMNS = tuple(
            c for c in (*head, *(o for o in own if o not in head + tail), *tail)
            if c not in cls._UNTIDY
        )

    def tidy(self) -> pd.DataFrame:
        """One-row DataFrame with the columns in ``TIDY_COLUMNS``."""
        row = {c: getattr(self, c) for c in self.TIDY_COLUMNS}
        return pd.DataFrame([row], columns=list(self.TIDY_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict."""
        return asdict(self)

    def _solved_line(self, quantity: str, value: float, unit: str) -> str:
        if self.solved_for != quantity:
            return f"{unit} = {_fmt(value)}"
        if quantity in ("power", "effect"):
            return f"solved: {unit} = {_fmt(value)}"
        # Sample sizes are solved as real numbers; a design needs whole units.
        return f"solved: {unit} = {_fmt(value)} (round up to {math.ceil(value - 1e-9)})"

    def _title(self) -> str:
        return self._TITLE

    def _note(self, quantity: str) -> str:
        """Text after a quantity's line (e.g. the SD after the effect)."""
        return ""

    def _details(self) -> list[str]:
        """Lines between the quantities and the alpha line."""
        return []

    def summary(self) -> str:
        """Readable multi-line summary: what was solved, the inputs, the test."""
        lines = [self._title()]
        for q, label in self._QUANTITIES:
            lines.append(f"  {self._solved_line(q, getattr(self, q), label)}{self._note(q)}")
        lines += [f"  {d}" for d in self._details()]
        lines.append(f"  alpha {_fmt(self.alpha)}, SE {_fmt(self.se)}, {_dist_text(self.df)}")
        return "\n".join(lines)


@dataclass(frozen=True, kw_only=True)
class IndividualPower(PowerResult):
    """Power of a two-arm individually randomised comparison of means.

    Attributes (besides :class:`PowerResult`'s)
    ----------
    std_effect : float
        ``effect / sd`` (Cohen's d).
    n_per_arm, n_other_arm : float
        Size of arm 1 and of arm 2 (``ratio * n_per_arm``).
    ratio, sd : float
        Inputs.
    """

    design: str = "individual"
    std_effect: float
    n_per_arm: float
    n_other_arm: float
    ratio: float
    sd: float

    _TITLE: ClassVar[str] = "Two-arm individually randomised comparison of means (two-sided t-test)"
    _QUANTITIES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("power", "power"),
        ("effect", "difference in means"),
        ("n_per_arm", "n per arm"),
    )

    def _note(self, quantity: str) -> str:
        if quantity == "effect":
            return f" (SD {_fmt(self.sd)}, d = {_fmt(self.std_effect)})"
        if quantity == "n_per_arm":
            return f" (other arm {_fmt(self.n_other_arm)})"
        return ""


@dataclass(frozen=True, kw_only=True)
class ClusterPower(PowerResult):
    """Power of a two-arm cluster-randomised comparison of means.

    Attributes (besides :class:`PowerResult`'s)
    ----------
    n_clusters, cluster_size : float
        Clusters per arm and mean cluster size.
    icc, sd, cv : float
        Intracluster correlation, total SD (between + within) and coefficient of
        variation of cluster sizes.
    cv_method : str
        ``"eldridge"`` or ``"taylor"`` (how unequal sizes inflate the variance).
    cluster_sizes : tuple of float or None
        Cluster sizes of one arm when given explicitly (not in the tidy row).
    design_effect : float
        Variance inflation relative to individual randomisation of the same n.
    """

    design: str = "cluster"
    n_clusters: float
    cluster_size: float
    icc: float
    sd: float
    cv: float
    cv_method: str
    cluster_sizes: tuple[float, ...] | None
    design_effect: float

    _UNTIDY: ClassVar[tuple[str, ...]] = ("cluster_sizes",)
    _TITLE: ClassVar[str] = "Two-arm cluster-randomised comparison of means"
    _QUANTITIES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("power", "power"),
        ("effect", "difference in means"),
        ("n_clusters", "clusters per arm"),
    )

    def _note(self, quantity: str) -> str:
        return f" (total SD {_fmt(self.sd)})" if quantity == "effect" else ""

    def _details(self) -> list[str]:
        sizes = (
            f"cluster sizes {list(self.cluster_sizes)} (mean {_fmt(self.cluster_size)}, "
            f"CV {_fmt(self.cv)})"
            if self.cluster_sizes is not None
            else self._solved_line("cluster_size", self.cluster_size, "mean cluster size")
            + (f" (CV {_fmt(self.cv)})" if self.cv > 0 else "")
        )
        return [
            sizes,
            f"ICC {_fmt(self.icc)}, design effect {_fmt(self.design_effect)}"
            f" ({self.cv_method if self.cv > 0 else '1 + (m - 1) ICC'})",
        ]


@dataclass(frozen=True, kw_only=True)
class ClusterDiDPower(PowerResult):
    """Power of a two-period cluster difference-in-differences comparison.

    Attributes (besides :class:`PowerResult`'s)
    ----------
    n_clusters, cluster_size : float
        Clusters per arm and subjects per cluster per period.
    icc, rho_c, rho_s, sd : float
        ICC; pre/post correlation of cluster means (cluster level) and of subjects
        (0 for a cross-sectional design); total SD.
    r : float
        Pre/post correlation of a cluster's observed mean implied by the above.
    design_effect : float
        ``2 (1 + (m - 1) ICC) (1 - r)``: variance relative to a single-period
        individually randomised comparison of the same n.
    """

    design: str = "cluster_did"
    n_clusters: float
    cluster_size: float
    icc: float
    rho_c: float
    rho_s: float
    sd: float
    r: float
    design_effect: float

    _QUANTITIES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("power", "power"),
        ("effect", "difference in mean change"),
        ("n_clusters", "clusters per arm"),
        ("cluster_size", "subjects per cluster"),
    )

    def _title(self) -> str:
        kind = "cohort" if self.rho_s > 0 else "cross-sectional"
        return f"Cluster difference-in-differences, two periods ({kind})"

    def _note(self, quantity: str) -> str:
        return f" (total SD {_fmt(self.sd)})" if quantity == "effect" else ""

    def _details(self) -> list[str]:
        return [
            f"ICC {_fmt(self.icc)}, rho_c {_fmt(self.rho_c)}, rho_s {_fmt(self.rho_s)}"
            f" (r = {_fmt(self.r)}), design effect {_fmt(self.design_effect)}"
        ]


@dataclass(frozen=True, kw_only=True)
class SteppedWedgePower(PowerResult):
    """Power of a stepped-wedge / staggered roll-out design (Hussey & Hughes 2007).

    Attributes (besides :class:`PowerResult`'s; ``df`` is inf, the normal reference)
    ----------
    clusters_per_sequence : float
        Clusters that follow each row of ``design_matrix``.
    n_clusters : float
        ``n_sequences * clusters_per_sequence``.
    cluster_size : float
        Individuals measured per cluster per period.
    n_sequences, n_periods : int
        Shape of ``design_matrix``.
    tau, sigma, gamma : float
        SDs of the cluster random intercept, of individuals, and of cluster-by-period
        random effects.
    design_matrix : tuple of tuple of float
        Treatment indicator per sequence (row) and period (column); not in the tidy row.
    """

    design: str = "stepped_wedge"
    clusters_per_sequence: float
    n_clusters: float
    cluster_size: float
    n_sequences: int
    n_periods: int
    tau: float
    sigma: float
    gamma: float
    design_matrix: tuple[tuple[float, ...], ...]

    _UNTIDY: ClassVar[tuple[str, ...]] = ("design_matrix", "df")
    _QUANTITIES: ClassVar[tuple[tuple[str, str], ...]] = (
        ("power", "power"),
        ("effect", "treatment effect"),
        ("clusters_per_sequence", "clusters per sequence"),
        ("cluster_size", "individuals per cluster-period"),
    )

    def _title(self) -> str:
        return (
            f"Stepped-wedge design: {self.n_sequences} sequences x {self.n_periods} periods"
            " (Hussey & Hughes GLS, cross-sectional)"
        )

    def _note(self, quantity: str) -> str:
        if quantity == "clusters_per_sequence":
            return f" ({_fmt(self.n_clusters)} clusters)"
        return ""

    def _details(self) -> list[str]:
        icc = (self.tau**2 + self.gamma**2) / (self.tau**2 + self.gamma**2 + self.sigma**2)
        return [
            f"tau {_fmt(self.tau)}, sigma {_fmt(self.sigma)}, gamma {_fmt(self.gamma)}"
            f" (within-period ICC {_fmt(icc)})"
        ]

# ---------------------------------------------------------------------------------------
# Individually randomised
# ---------------------------------------------------------------------------------------


def power_individual(
    *,
    effect: float | None = None,
    n_per_arm: float | None = None,
    power: float | None = None,
    sd: float = 1.0,
    alpha: float = 0.05,
    ratio: float = 1.0,
    both_tails: bool = True,
) -> IndividualPower:
    """Power or sample size of a two-arm individually randomised comparison of means.

    Two-sided two-sample t-test with ``n_per_arm + ratio * n_per_arm - 2`` degrees of
    freedom and noncentrality ``(effect / sd) / sqrt(1 / n1 + 1 / n2)``; identical to
    ``statsmodels.stats.power.TTestIndPower`` with ``effect_size = effect / sd``.
    Exactly one of ``effect``, ``n_per_arm``, ``power`` must be None; it is solved for.

    Parameters
    ----------
    effect : float or None
        Difference in means, in outcome units (Cohen's d when ``sd = 1``).
    n_per_arm : float or None
        Size of arm 1; arm 2 has ``ratio * n_per_arm``.
    power : float or None
        Probability of rejecting the null of no difference.
    sd : float
        Common standard deviation of the outcome.
    alpha : float
        Two-sided significance level, in (0, 1).
    ratio : float
        Size of arm 2 relative to arm 1.
    both_tails : bool
        Count rejections in the wrong direction toward power (statsmodels does).

    Returns
    -------
    IndividualPower

    Examples
    --------
    >>> from hubsim.power.analytic import power_individual
    >>> res = power_individual(effect=0.5, power=0.8)
    >>> round(res.n_per_arm, 2)
    63.77
    >>> round(power_individual(effect=0.5, n_per_arm=64).power, 4)
    0.8015
    """
    target = _which_missing({"effect": effect, "n_per_arm": n_per_arm, "power": power})
    sd_ = check_positive("sd", sd)
    alpha_ = check_alpha(alpha)
    ratio_ = check_positive("ratio", ratio)
    both = check_bool("both_tails", both_tails)
    # Smallest n with at least 1 degree of freedom.
    n_low = 3.0 / (1.0 + ratio_)

    def se_df(n_per_arm: float) -> tuple[float, float]:
        n2 = ratio_ * n_per_arm
        return sd_ * math.sqrt(1.0 / n_per_arm + 1.0 / n2), n_per_arm + n2 - 2.0

    v = _solve(
        target,
        {
            "n_per_arm": _given(
                n_per_arm, check_at_least, "n_per_arm", n_low, " (the t-test needs 1 df)"
            ),
            "effect": _given(effect, check_number, "effect"),
            "power": _given(power, check_unit_interval, "power"),
        },
        se_df,
        alpha=alpha_,
        both_tails=both,
        brackets={"n_per_arm": (n_low, 50.0)},
    )
    eff, n1 = v["effect"], v["n_per_arm"]
    se, df = se_df(n1)
    return IndividualPower(
        solved_for=target,
        power=v["power"],
        effect=eff,
        n_per_arm=n1,
        n_other_arm=ratio_ * n1,
        ratio=ratio_,
        sd=sd_,
        alpha=alpha_,
        std_effect=eff / sd_,
        se=se,
        df=df,
        both_tails=both,
    )


# ---------------------------------------------------------------------------------------
# Two-arm cluster randomised
# ---------------------------------------------------------------------------------------


def design_effect(
    cluster_size: float | None,
    icc: float,
    cv: float = 0.0,
    method: str = "eldridge",
    cluster_sizes: Sequence[float] | None = None,
) -> float:
    """Variance inflation of a cluster-randomised arm relative to individual randomisation.

    With equal cluster sizes ``m`` this is ``1 + (m - 1) ICC``. Unequal sizes with
    coefficient of variation ``cv`` inflate it further:

    * ``"eldridge"`` (Eldridge et al. 2006; clusterPower's ``"weighted"``):
      ``1 + ((cv^2 + 1) m - 1) ICC``;
    * ``"taylor"`` (van Breukelen et al. 2007; clusterPower's default):
      ``(1 + (m - 1) ICC) / (1 - cv^2 L (1 - L))`` with ``L = m ICC / (1 + (m - 1) ICC)``,
      or, when the actual ``cluster_sizes`` are given, the exact relative efficiency
      ``(m + a) / m * mean(n_j / (n_j + a))`` with ``a = (1 - ICC) / ICC``.

    Parameters
    ----------
    cluster_size : float or None
        Mean cluster size m (ignored, and may be None, when ``cluster_sizes`` is given).
    icc : float
        Intracluster correlation in [0, 1).
    cv : float
        Coefficient of variation of cluster sizes (ignored when ``cluster_sizes`` is given).
    method : {"eldridge", "taylor"}
        Unequal-size correction.
    cluster_sizes : sequence of float, optional
        The sizes of the clusters of one arm.

    Returns
    -------
    float

    Examples
    --------
    >>> from hubsim.power.analytic import design_effect
    >>> design_effect(10, 0.1)
    1.9
    >>> round(design_effect(100, 0.1, cv=0.5), 4)
    13.4
    """
    icc_ = _check_icc(icc)
    method_ = check_choice("method", method, _CV_METHODS)
    if cluster_sizes is not None:
        sizes = _check_sizes(cluster_sizes)
        m = float(sizes.mean())
        cv_ = float(sizes.std(ddof=1) / m)
    else:
        sizes = None
        m = check_at_least("cluster_size", cluster_size, 1.0)
        cv_ = check_at_least("cv", cv, 0.0)
    return _design_effect(m, icc_, cv_, method_, sizes)


def _check_sizes(cluster_sizes: Sequence[float]) -> np.ndarray:
    try:
        sizes = np.asarray(cluster_sizes, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("cluster_sizes must be a sequence of numbers.") from exc
    if sizes.ndim != 1 or sizes.size < 2:
        raise ValueError(
            f"cluster_sizes must list at least 2 cluster sizes, got {sizes.size} value(s)."
        )
    if not np.all(np.isfinite(sizes)) or np.any(sizes < 1):
        raise ValueError("cluster_sizes must all be finite and at least 1.")
    return sizes


def _design_effect(m: float, icc: float, cv: float, method: str, sizes: np.ndarray | None) -> float:
    deff = 1.0 + (m - 1.0) * icc
    if cv == 0.0 or icc == 0.0:
        return deff
    if method == "eldridge":
        return 1.0 + ((cv**2 + 1.0) * m - 1.0) * icc
    if sizes is not None:
        a = (1.0 - icc) / icc
        relative = (m + a) / m * float(np.mean(sizes / (sizes + a)))
        return deff * relative
    lam = m * icc / deff
    denom = 1.0 - cv**2 * lam * (1.0 - lam)
    if denom <= 0.0:
        raise ValueError(
            f"cv = {cv:g} is too large for the Taylor approximation at this cluster size and "
            "ICC; use cv_method='eldridge'."
        )
    return deff / denom


def power_cluster(
    *,
    effect: float | None = None,
    n_clusters: float | None = None,
    cluster_size: float | None = None,
    power: float | None = None,
    icc: float,
    sd: float = 1.0,
    cv: float = 0.0,
    cv_method: str = "eldridge",
    cluster_sizes: Sequence[float] | None = None,
    alpha: float = 0.05,
    dist: str = "t",
    both_tails: bool = True,
) -> ClusterPower:
    """Power or sample size of a two-arm cluster-randomised comparison of means.

    The difference in means has variance ``2 sd^2 DE / (k m)`` for ``k`` clusters per arm
    of mean size ``m`` with design effect ``DE`` (see :func:`design_effect`); the test is a
    t-test on ``2 (k - 1)`` degrees of freedom (clusterPower's ``cpa.normal`` convention) or
    a z-test. Exactly one of ``effect``, ``n_clusters``, ``cluster_size``, ``power`` must be
    None; it is solved for. With ``cluster_sizes`` the clusters are given explicitly
    (both arms alike) and only ``effect`` or ``power`` can be solved.

    Parameters
    ----------
    effect : float or None
        Difference in means, in outcome units.
    n_clusters : float or None
        Clusters per arm.
    cluster_size : float or None
        Mean number of individuals per cluster.
    power : float or None
        Probability of rejecting the null of no difference.
    icc : float
        Intracluster correlation ``sigma_b^2 / (sigma_b^2 + sigma_w^2)``, in [0, 1).
    sd : float
        Total SD of the outcome, ``sqrt(sigma_b^2 + sigma_w^2)``.
    cv : float
        Coefficient of variation of cluster sizes (0 = equal sizes).
    cv_method : {"eldridge", "taylor"}
        Unequal-size correction; ``"taylor"`` is clusterPower's default, ``"eldridge"``
        (its ``"weighted"``) is the more conservative.
    cluster_sizes : sequence of float, optional
        Sizes of the clusters in one arm; sets ``n_clusters``, ``cluster_size`` and ``cv``.
    alpha : float
        Two-sided significance level, in (0, 1).
    dist : {"t", "z"}
        Reference distribution.
    both_tails : bool
        Count rejections in the wrong direction toward power. clusterPower's
        ``cpa.normal`` does not (``both_tails=False``); the difference is negligible once
        power exceeds about 0.5.

    Returns
    -------
    ClusterPower

    Examples
    --------
    >>> from hubsim.power.analytic import power_cluster
    >>> res = power_cluster(effect=1, cluster_size=10, power=0.8, icc=0.1, sd=5**0.5)
    >>> round(res.n_clusters, 2)
    15.93
    >>> round(power_cluster(effect=1, n_clusters=16, cluster_size=10, icc=0.1,
    ...                     sd=5**0.5, both_tails=False).power, 6)
    0.801766
    """
    icc_ = _check_icc(icc)
    sd_ = check_positive("sd", sd)
    alpha_ = check_alpha(alpha)
    method = check_choice("cv_method", cv_method, _CV_METHODS)
    dist_ = check_choice("dist", dist, _DISTS)
    both = check_bool("both_tails", both_tails)
    k_low = 1.5 if dist_ == "t" else 1.0

    sizes: np.ndarray | None = None
    if cluster_sizes is not None:
        if n_clusters is not None or cluster_size is not None:
            raise ValueError("Give either cluster_sizes or n_clusters and cluster_size, not both.")
        sizes = _check_sizes(cluster_sizes)
        n_clusters = float(sizes.size)
        cluster_size = float(sizes.mean())
        cv_ = float(sizes.std(ddof=1) / sizes.mean())
        target = _which_missing({"effect": effect, "power": power})
    else:
        cv_ = check_at_least("cv", cv, 0.0)
        target = _which_missing(
            {
                "effect": effect,
                "n_clusters": n_clusters,
                "cluster_size": cluster_size,
                "power": power,
            }
        )

    def se_df(n_clusters: float, cluster_size: float) -> tuple[float, float]:
        de = _design_effect(cluster_size, icc_, cv_, method, sizes)
        df = 2.0 * (n_clusters - 1.0) if dist_ == "t" else math.inf
        return sd_ * math.sqrt(2.0 * de / (n_clusters * cluster_size)), df

    v = _solve(
        target,
        {
            "n_clusters": _given(n_clusters, _check_n_clusters, "n_clusters", dist_),
            "cluster_size": _given(cluster_size, check_at_least, "cluster_size", 1.0),
            "effect": _given(effect, check_number, "effect"),
            "power": _given(power, check_unit_interval, "power"),
        },
        se_df,
        alpha=alpha_,
        both_tails=both,
        brackets={"n_clusters": (k_low, 10.0), "cluster_size": (1.0, 10.0)},
    )
    k, m = v["n_clusters"], v["cluster_size"]
    se, df = se_df(k, m)
    return ClusterPower(
        solved_for=target,
        power=v["power"],
        effect=v["effect"],
        n_clusters=k,
        cluster_size=m,
        icc=icc_,
        sd=sd_,
        cv=cv_,
        cv_method=method,
        cluster_sizes=None if sizes is None else tuple(float(s) for s in sizes),
        design_effect=_design_effect(m, icc_, cv_, method, sizes),
        alpha=alpha_,
        se=se,
        df=df,
        both_tails=both,
    )


# ---------------------------------------------------------------------------------------
# Cluster difference-in-differences
# ---------------------------------------------------------------------------------------


def power_cluster_did(
    *,
    effect: float | None = None,
    n_clusters: float | None = None,
    cluster_size: float | None = None,
    power: float | None = None,
    icc: float,
    rho_c: float = 0.0,
    rho_s: float = 0.0,
    sd: float = 1.0,
    alpha: float = 0.05,
    dist: str = "t",
    both_tails: bool = True,
) -> ClusterDiDPower:
    """Power or sample size of a two-period cluster difference-in-differences comparison.

    Treated and control arms of ``k`` clusters each, measured before and after with ``m``
    subjects per cluster per period. With ``DE = 1 + (m - 1) ICC`` the observed pre/post
    correlation of a cluster mean is ``r = (m ICC rho_c + (1 - ICC) rho_s) / DE`` and the
    difference in mean change has variance ``4 sd^2 DE (1 - r) / (k m)``; the test is a
    t-test on ``2 (k - 1)`` df (clusterPower's ``cpa.did.normal``) or a z-test. Exactly one
    of ``effect``, ``n_clusters``, ``cluster_size``, ``power`` must be None.

    Parameters
    ----------
    effect : float or None
        Difference between arms in mean change, in outcome units.
    n_clusters : float or None
        Clusters per arm.
    cluster_size : float or None
        Subjects per cluster per period.
    power : float or None
        Probability of rejecting the null of no difference.
    icc : float
        Intracluster correlation, in [0, 1).
    rho_c : float
        Correlation between a cluster's pre and post population means (cluster
        autocorrelation), in [0, 1]; 0 is conservative.
    rho_s : float
        Correlation between a subject's pre and post outcomes, in [0, 1); 0 for a
        cross-sectional design (new subjects each period), > 0 for a cohort.
    sd : float
        Total SD of the outcome (between + within clusters).
    alpha : float
        Two-sided significance level, in (0, 1).
    dist : {"t", "z"}
        Reference distribution.
    both_tails : bool
        Count rejections in the wrong direction toward power (``cpa.did.normal`` does not).

    Returns
    -------
    ClusterDiDPower

    Examples
    --------
    >>> from hubsim.power.analytic import power_cluster_did
    >>> res = power_cluster_did(effect=0.5, cluster_size=100, power=0.8, icc=0.05,
    ...                         rho_c=0.5, rho_s=0.7, both_tails=False)
    >>> round(res.n_clusters, 4)
    4.6834
    """
    icc_ = _check_icc(icc)
    rc = check_number("rho_c", rho_c)
    if not 0.0 <= rc <= 1.0:
        raise ValueError(f"rho_c must be in [0, 1], got {rho_c!r}.")
    rs = check_number("rho_s", rho_s)
    if not 0.0 <= rs < 1.0:
        raise ValueError(f"rho_s must be in [0, 1), got {rho_s!r}.")
    sd_ = check_positive("sd", sd)
    alpha_ = check_alpha(alpha)
    dist_ = check_choice("dist", dist, _DISTS)
    both = check_bool("both_tails", both_tails)
    target = _which_missing(
        {"effect": effect, "n_clusters": n_clusters, "cluster_size": cluster_size, "power": power}
    )
    k_low = 1.5 if dist_ == "t" else 1.0

    def parts(k_: float, m_: float) -> tuple[float, float, float, float]:
        deff = 1.0 + (m_ - 1.0) * icc_
        r = (m_ * icc_ * rc + (1.0 - icc_) * rs) / deff
        vif = 2.0 * deff * (1.0 - r)
        df = 2.0 * (k_ - 1.0) if dist_ == "t" else math.inf
        return sd_ * math.sqrt(2.0 * vif / (k_ * m_)), df, r, vif

    v = _solve(
        target,
        {
            "n_clusters": _given(n_clusters, _check_n_clusters, "n_clusters", dist_),
            "cluster_size": _given(cluster_size, check_at_least, "cluster_size", 1.0),
            "effect": _given(effect, check_number, "effect"),
            "power": _given(power, check_unit_interval, "power"),
        },
        lambda n_clusters, cluster_size: parts(n_clusters, cluster_size)[:2],
        alpha=alpha_,
        both_tails=both,
        brackets={"n_clusters": (k_low, 10.0), "cluster_size": (1.0, 10.0)},
    )
    k, m = v["n_clusters"], v["cluster_size"]
    se, df, r, vif = parts(k, m)
    return ClusterDiDPower(
        solved_for=target,
        power=v["power"],
        effect=v["effect"],
        n_clusters=k,
        cluster_size=m,
        icc=icc_,
        rho_c=rc,
        rho_s=rs,
        sd=sd_,
        r=r,
        design_effect=vif,
        alpha=alpha_,
        se=se,
        df=df,
        both_tails=both,
    )


# ---------------------------------------------------------------------------------------
# Stepped wedge
# ---------------------------------------------------------------------------------------


def stepped_wedge_design(
    n_sequences: int,
    *,
    clusters_per_sequence: int = 1,
    baseline_periods: int = 1,
    extra_periods: int = 0,
) -> np.ndarray:
    """Classic stepped-wedge layout: one more sequence crosses over at each step.

    Sequence ``s`` (0-based) is in control for ``baseline_periods + s`` periods and treated
    afterwards; ``extra_periods`` adds periods after the last crossover with everyone
    treated. ``stepped_wedge_design(4, clusters_per_sequence=6)`` is swCRTdesign's
    ``swDsn(c(6, 6, 6, 6))$swDsn``.

    Parameters
    ----------
    n_sequences : int
        Number of sequences (steps).
    clusters_per_sequence : int
        Rows repeated per sequence.
    baseline_periods : int
        Periods before the first crossover.
    extra_periods : int
        Periods after the last crossover.

    Returns
    -------
    numpy.ndarray
        0/1 integer matrix, clusters x periods.

    Examples
    --------
    >>> from hubsim.power.analytic import stepped_wedge_design
    >>> stepped_wedge_design(3)
    array([[0, 1, 1, 1],
           [0, 0, 1, 1],
           [0, 0, 0, 1]])
    """
    for name, value, low in (
        ("n_sequences", n_sequences, 1),
        ("clusters_per_sequence", clusters_per_sequence, 1),
        ("baseline_periods", baseline_periods, 1),
        ("extra_periods", extra_periods, 0),
    ):
        check_int(name, value, low)
    n_periods = baseline_periods + n_sequences + extra_periods
    start = baseline_periods + np.arange(n_sequences)
    rows = (np.arange(n_periods)[None, :] >= start[:, None]).astype(int)
    return np.repeat(rows, clusters_per_sequence, axis=0)


def _check_design_matrix(design: Any) -> np.ndarray:
    try:
        x = np.array(design, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError("design must be a clusters x periods matrix of numbers.") from exc
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 2:
        raise ValueError(
            f"design must be a 2-D clusters x periods matrix with at least 2 periods, "
            f"got shape {x.shape}."
        )
    if not np.all(np.isfinite(x)) or np.any((x < 0) | (x > 1)):
        raise ValueError("design entries must be treatment indicators in [0, 1].")
    return x


def _sw_variance(x: np.ndarray, c: float, cell_var: float, tau2: float) -> float:
    """GLS variance of the treatment effect (Hussey & Hughes 2007, eq. 8).

    The model has fixed period effects, a random cluster intercept (variance ``tau2``) and
    cell means with variance ``cell_var = sigma^2 / n + gamma^2``. The cluster-by-period
    term keeps each cluster's covariance compound-symmetric, so the closed form applies
    with ``cell_var`` in place of ``sigma^2 / n``. Replicating each row ``c`` times scales
    the variance by ``1 / c``.
    """
    n_rows, n_periods = x.shape
    u = x.sum()
    w = float((x.sum(axis=0) ** 2).sum())
    v = float((x.sum(axis=1) ** 2).sum())
    numerator = n_rows * cell_var * (cell_var + n_periods * tau2)
    denominator = (n_rows * u - w) * cell_var + (
        u**2 + n_rows * n_periods * u - n_periods * w - n_rows * v
    ) * tau2
    # Zero (up to rounding) when every period has all clusters in one condition.
    scale = n_rows * u * cell_var + (u**2 + n_rows * n_periods * u) * tau2
    if denominator <= 1e-12 * scale:
        return math.inf
    return numerator / denominator / c


def power_stepped_wedge(
    *,
    effect: float | None = None,
    clusters_per_sequence: float | None = None,
    cluster_size: float | None = None,
    power: float | None = None,
    design: Any,
    tau: float,
    sigma: float,
    gamma: float = 0.0,
    alpha: float = 0.05,
    both_tails: bool = True,
) -> SteppedWedgePower:
    """Power or sample size of a stepped-wedge or other staggered cluster design.

    Cross-sectional sampling under the Hussey & Hughes (2007) model
    ``Y_ijk = mu + beta_j + theta X_ij + a_i + g_ij + e_ijk`` with fixed period effects
    ``beta_j``, cluster intercepts ``a_i ~ N(0, tau^2)``, optional cluster-by-period effects
    ``g_ij ~ N(0, gamma^2)`` and individual errors ``e_ijk ~ N(0, sigma^2)``, ``n``
    individuals per cluster-period. The variance of the GLS estimate of ``theta`` has a
    closed form for any treatment matrix ``X``; power uses the normal reference, as
    swCRTdesign's ``swPwr`` does. Exactly one of ``effect``, ``clusters_per_sequence``,
    ``cluster_size``, ``power`` must be None.

    Parameters
    ----------
    effect : float or None
        Treatment effect ``theta``, in outcome units.
    clusters_per_sequence : float or None
        Clusters following each row of ``design`` (1 when each row is one cluster).
    cluster_size : float or None
        Individuals measured per cluster per period.
    power : float or None
        Probability of rejecting the null of no effect.
    design : array-like
        Clusters (or sequences) x periods matrix of treatment indicators in [0, 1], e.g.
        from :func:`stepped_wedge_design`.
    tau : float
        SD of the cluster random intercept.
    sigma : float
        SD of individual outcomes within a cluster-period (for a binary outcome,
        ``sqrt(p (1 - p))``).
    gamma : float
        SD of cluster-by-period random effects (0 in Hussey & Hughes).
    alpha : float
        Two-sided significance level, in (0, 1).
    both_tails : bool
        Count rejections in the wrong direction toward power (``swPwr`` does).

    Returns
    -------
    SteppedWedgePower

    Examples
    --------
    >>> from hubsim.power.analytic import power_stepped_wedge, stepped_wedge_design
    >>> x = stepped_wedge_design(4, clusters_per_sequence=6)
    >>> res = power_stepped_wedge(effect=0.2, clusters_per_sequence=1, cluster_size=20,
    ...                           design=x, tau=0.3, sigma=1.0)
    >>> round(res.power, 4)
    0.7914
    """
    x = _check_design_matrix(design)
    tau_ = check_at_least("tau", tau, 0.0)
    sigma_ = check_positive("sigma", sigma)
    gamma_ = check_at_least("gamma", gamma, 0.0)
    alpha_ = check_alpha(alpha)
    both = check_bool("both_tails", both_tails)
    target = _which_missing(
        {
            "effect": effect,
            "clusters_per_sequence": clusters_per_sequence,
            "cluster_size": cluster_size,
            "power": power,
        }
    )
    # Identification: a design whose treatment pattern is explained by the period effects
    # (every period all-treated or all-control) carries no information about theta.
    probe = _sw_variance(x, 1.0, 1.0, tau_**2)
    if not (math.isfinite(probe) and probe > 0):
        raise ValueError(
            "design does not identify the treatment effect: some period must have treated "
            "and control clusters side by side."
        )
    def se_df(clusters_per_sequence: float, cluster_size: float) -> tuple[float, float]:
        cell_var = sigma_**2 / cluster_size + gamma_**2
        return math.sqrt(_sw_variance(x, clusters_per_sequence, cell_var, tau_**2)), math.inf

    v = _solve(
        target,
        {
            "clusters_per_sequence": _given(
                clusters_per_sequence, check_positive, "clusters_per_sequence"
            ),
            "cluster_size": _given(cluster_size, check_at_least, "cluster_size", 1.0),
            "effect": _given(effect, check_number, "effect"),
            "power": _given(power, check_unit_interval, "power"),
        },
        se_df,
        alpha=alpha_,
        both_tails=both,
        brackets={"clusters_per_sequence": (1e-6, 1.0), "cluster_size": (1.0, 10.0)},
    )
    c, m = v["clusters_per_sequence"], v["cluster_size"]
    se = se_df(c, m)[0]
    return SteppedWedgePower(
        solved_for=target,
        power=v["power"],
        effect=v["effect"],
        clusters_per_sequence=c,
        cluster_size=m,
        tau=tau_,
        sigma=sigma_,
        gamma=gamma_,
        design_matrix=tuple(tuple(float(v) for v in row) for row in x),
        n_sequences=int(x.shape[0]),
        n_periods=int(x.shape[1]),
        n_clusters=float(x.shape[0] * c),
        alpha=alpha_,
        se=se,
        both_tails=both,
    )
