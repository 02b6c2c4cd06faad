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
formula for users who want one. Every function returns a frozen result with all inputs,
the solved quantity, ``.tidy()`` (one row) and ``.summary()``.

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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize, stats

__all__ = [
    "ClusterDiDPower",
    "ClusterPower",
    "IndividualPower",
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
# Input checks
# ---------------------------------------------------------------------------------------


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return out


def _check_alpha(alpha: Any) -> float:
    a = _number("alpha", alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}.")
    return a


def _check_icc(icc: Any) -> float:
    v = _number("icc", icc)
    if not 0.0 <= v < 1.0:
        raise ValueError(f"icc must be in [0, 1), got {icc!r}.")
    return v


def _check_positive(name: str, value: Any) -> float:
    v = _number(name, value)
    if v <= 0.0:
        raise ValueError(f"{name} must be greater than 0, got {value!r}.")
    return v


def _check_at_least(name: str, value: Any, low: float, why: str = "") -> float:
    v = _number(name, value)
    if v < low:
        raise ValueError(f"{name} must be at least {low:g}{why}, got {value!r}.")
    return v


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


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


def _check_target_power(power: Any) -> float:
    p = _number("power", power)
    if not 0.0 < p < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}.")
    return p


# ---------------------------------------------------------------------------------------
# Rejection probability and root finding
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


def _solve_effect(se: float, df: float, alpha: float, both_tails: bool, target: float) -> float:
    # The rejection rate at no effect is the floor; a target at or below it has no solution.
    floor = _rejection_probability(0.0, se, df, alpha, both_tails)
    if target <= floor:
        raise ValueError(
            f"power must exceed the rejection rate under no effect ({floor:.4g}) to solve "
            f"for the effect, got {target:g}."
        )
    return _solve_increasing(
        lambda e: _rejection_probability(e, se, df, alpha, both_tails), target, "effect", 0.0, se
    )


# ---------------------------------------------------------------------------------------
# Result objects
# ---------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _dist_text(df: float) -> str:
    return "normal reference" if math.isinf(df) else f"t with {_fmt(df)} df"


@dataclass(frozen=True)
class _PowerResult:
    """Shared behaviour: one tidy row in declared columns, a dict, a summary."""

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = ()

    def tidy(self) -> pd.DataFrame:
        """One-row DataFrame with the columns in ``TIDY_COLUMNS``."""
        row = {c: getattr(self, c) for c in self.TIDY_COLUMNS}
        return pd.DataFrame([row], columns=list(self.TIDY_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict."""
        return asdict(self)

    def _solved_line(self, quantity: str, value: float, unit: str) -> str:
        if self.solved_for != quantity:  # type: ignore[attr-defined]
            return f"{unit} = {_fmt(value)}"
        if quantity in ("power", "effect"):
            return f"solved: {unit} = {_fmt(value)}"
        # Sample sizes are solved as real numbers; a design needs whole units.
        return f"solved: {unit} = {_fmt(value)} (round up to {math.ceil(value - 1e-9)})"


@dataclass(frozen=True)
class IndividualPower(_PowerResult):
    """Power of a two-arm individually randomised comparison of means.

    Attributes
    ----------
    solved_for : str
        Which of ``"power"``, ``"n_per_arm"``, ``"effect"`` was solved.
    power, effect, n_per_arm : float
        Power, difference in means (outcome units) and size of arm 1.
    n_other_arm : float
        Size of arm 2 (``ratio * n_per_arm``).
    ratio, sd, alpha : float
        Inputs.
    std_effect : float
        ``effect / sd`` (Cohen's d).
    se, df : float
        Standard error of the difference and t degrees of freedom.
    both_tails : bool
        Whether rejections in the wrong direction count toward power.
    """

    solved_for: str
    power: float
    effect: float
    n_per_arm: float
    n_other_arm: float
    ratio: float
    sd: float
    alpha: float
    std_effect: float
    se: float
    df: float
    both_tails: bool
    design: str = "individual"

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "design",
        "solved_for",
        "power",
        "effect",
        "std_effect",
        "n_per_arm",
        "n_other_arm",
        "ratio",
        "sd",
        "alpha",
        "se",
        "df",
        "both_tails",
    )

    def summary(self) -> str:
        """Readable multi-line summary."""
        lines = [
            "Two-arm individually randomised comparison of means (two-sided t-test)",
            f"  {self._solved_line('power', self.power, 'power')}",
            f"  {self._solved_line('effect', self.effect, 'difference in means')}"
            f" (SD {_fmt(self.sd)}, d = {_fmt(self.std_effect)})",
            f"  {self._solved_line('n_per_arm', self.n_per_arm, 'n per arm')}"
            f" (other arm {_fmt(self.n_other_arm)})",
            f"  alpha {_fmt(self.alpha)}, SE {_fmt(self.se)}, {_dist_text(self.df)}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ClusterPower(_PowerResult):
    """Power of a two-arm cluster-randomised comparison of means.

    Attributes
    ----------
    solved_for : str
        Which of ``"power"``, ``"n_clusters"``, ``"cluster_size"``, ``"effect"`` was solved.
    power, effect : float
        Power and difference in means (outcome units).
    n_clusters, cluster_size : float
        Clusters per arm and mean cluster size.
    icc, sd, cv : float
        Intracluster correlation, total SD (between + within) and coefficient of
        variation of cluster sizes.
    cv_method : str
        ``"eldridge"`` or ``"taylor"`` (how unequal sizes inflate the variance).
    cluster_sizes : tuple of float or None
        Cluster sizes of one arm when given explicitly.
    design_effect : float
        Variance inflation relative to individual randomisation of the same n.
    alpha, se, df : float
        Level, standard error of the difference, degrees of freedom (inf for z).
    both_tails : bool
        Whether rejections in the wrong direction count toward power.
    """

    solved_for: str
    power: float
    effect: float
    n_clusters: float
    cluster_size: float
    icc: float
    sd: float
    cv: float
    cv_method: str
    cluster_sizes: tuple[float, ...] | None
    design_effect: float
    alpha: float
    se: float
    df: float
    both_tails: bool
    design: str = "cluster"

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "design",
        "solved_for",
        "power",
        "effect",
        "n_clusters",
        "cluster_size",
        "icc",
        "sd",
        "cv",
        "cv_method",
        "design_effect",
        "alpha",
        "se",
        "df",
        "both_tails",
    )

    def summary(self) -> str:
        """Readable multi-line summary."""
        sizes = (
            f"cluster sizes {list(self.cluster_sizes)} (mean {_fmt(self.cluster_size)}, "
            f"CV {_fmt(self.cv)})"
            if self.cluster_sizes is not None
            else self._solved_line("cluster_size", self.cluster_size, "mean cluster size")
            + (f" (CV {_fmt(self.cv)})" if self.cv > 0 else "")
        )
        lines = [
            "Two-arm cluster-randomised comparison of means",
            f"  {self._solved_line('power', self.power, 'power')}",
            f"  {self._solved_line('effect', self.effect, 'difference in means')}"
            f" (total SD {_fmt(self.sd)})",
            f"  {self._solved_line('n_clusters', self.n_clusters, 'clusters per arm')}",
            f"  {sizes}",
            f"  ICC {_fmt(self.icc)}, design effect {_fmt(self.design_effect)}"
            f" ({self.cv_method if self.cv > 0 else '1 + (m - 1) ICC'})",
            f"  alpha {_fmt(self.alpha)}, SE {_fmt(self.se)}, {_dist_text(self.df)}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class ClusterDiDPower(_PowerResult):
    """Power of a two-period cluster difference-in-differences comparison.

    Attributes
    ----------
    solved_for : str
        Which of ``"power"``, ``"n_clusters"``, ``"cluster_size"``, ``"effect"`` was solved.
    power, effect : float
        Power and difference in mean change between arms (outcome units).
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
    alpha, se, df : float
        Level, standard error of the difference in differences, degrees of freedom.
    both_tails : bool
        Whether rejections in the wrong direction count toward power.
    """

    solved_for: str
    power: float
    effect: float
    n_clusters: float
    cluster_size: float
    icc: float
    rho_c: float
    rho_s: float
    sd: float
    r: float
    design_effect: float
    alpha: float
    se: float
    df: float
    both_tails: bool
    design: str = "cluster_did"

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "design",
        "solved_for",
        "power",
        "effect",
        "n_clusters",
        "cluster_size",
        "icc",
        "rho_c",
        "rho_s",
        "sd",
        "r",
        "design_effect",
        "alpha",
        "se",
        "df",
        "both_tails",
    )

    def summary(self) -> str:
        """Readable multi-line summary."""
        kind = "cohort" if self.rho_s > 0 else "cross-sectional"
        lines = [
            f"Cluster difference-in-differences, two periods ({kind})",
            f"  {self._solved_line('power', self.power, 'power')}",
            f"  {self._solved_line('effect', self.effect, 'difference in mean change')}"
            f" (total SD {_fmt(self.sd)})",
            f"  {self._solved_line('n_clusters', self.n_clusters, 'clusters per arm')}",
            f"  {self._solved_line('cluster_size', self.cluster_size, 'subjects per cluster')}",
            f"  ICC {_fmt(self.icc)}, rho_c {_fmt(self.rho_c)}, rho_s {_fmt(self.rho_s)}"
            f" (r = {_fmt(self.r)}), design effect {_fmt(self.design_effect)}",
            f"  alpha {_fmt(self.alpha)}, SE {_fmt(self.se)}, {_dist_text(self.df)}",
        ]
        return "\n".join(lines)


@dataclass(frozen=True)
class SteppedWedgePower(_PowerResult):
    """Power of a stepped-wedge / staggered roll-out design (Hussey & Hughes 2007).

    Attributes
    ----------
    solved_for : str
        Which of ``"power"``, ``"clusters_per_sequence"``, ``"cluster_size"``,
        ``"effect"`` was solved.
    power, effect : float
        Power and treatment effect (outcome units).
    clusters_per_sequence : float
        Clusters that follow each row of ``design_matrix``.
    cluster_size : float
        Individuals measured per cluster per period.
    tau, sigma, gamma : float
        SDs of the cluster random intercept, of individuals, and of cluster-by-period
        random effects.
    design_matrix : tuple of tuple of float
        Treatment indicator per sequence (row) and period (column).
    n_sequences, n_periods : int
        Shape of ``design_matrix``.
    n_clusters : float
        ``n_sequences * clusters_per_sequence``.
    alpha, se : float
        Level and GLS standard error of the treatment effect (normal reference).
    both_tails : bool
        Whether rejections in the wrong direction count toward power.
    """

    solved_for: str
    power: float
    effect: float
    clusters_per_sequence: float
    cluster_size: float
    tau: float
    sigma: float
    gamma: float
    design_matrix: tuple[tuple[float, ...], ...]
    n_sequences: int
    n_periods: int
    n_clusters: float
    alpha: float
    se: float
    both_tails: bool
    design: str = "stepped_wedge"

    TIDY_COLUMNS: ClassVar[tuple[str, ...]] = (
        "design",
        "solved_for",
        "power",
        "effect",
        "clusters_per_sequence",
        "n_clusters",
        "cluster_size",
        "n_sequences",
        "n_periods",
        "tau",
        "sigma",
        "gamma",
        "alpha",
        "se",
        "both_tails",
    )

    def summary(self) -> str:
        """Readable multi-line summary."""
        icc = (self.tau**2 + self.gamma**2) / (self.tau**2 + self.gamma**2 + self.sigma**2)
        lines = [
            f"Stepped-wedge design: {self.n_sequences} sequences x {self.n_periods} periods"
            " (Hussey & Hughes GLS, cross-sectional)",
            f"  {self._solved_line('power', self.power, 'power')}",
            f"  {self._solved_line('effect', self.effect, 'treatment effect')}",
            f"  {self._solved_line('clusters_per_sequence', self.clusters_per_sequence, 'clusters per sequence')}"
            f" ({_fmt(self.n_clusters)} clusters)",
            f"  {self._solved_line('cluster_size', self.cluster_size, 'individuals per cluster-period')}",
            f"  tau {_fmt(self.tau)}, sigma {_fmt(self.sigma)}, gamma {_fmt(self.gamma)}"
            f" (within-period ICC {_fmt(icc)})",
            f"  alpha {_fmt(self.alpha)}, SE {_fmt(self.se)}, normal reference",
        ]
        return "\n".join(lines)


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
    sd_ = _check_positive("sd", sd)
    alpha_ = _check_alpha(alpha)
    ratio_ = _check_positive("ratio", ratio)
    both = _check_bool("both_tails", both_tails)
    # Smallest n with at least 1 degree of freedom.
    n_low = 3.0 / (1.0 + ratio_)

    def se_df(n1: float) -> tuple[float, float]:
        n2 = ratio_ * n1
        return sd_ * math.sqrt(1.0 / n1 + 1.0 / n2), n1 + n2 - 2.0

    if n_per_arm is not None:
        n1 = _check_at_least("n_per_arm", n_per_arm, n_low, " (the t-test needs 1 df)")
    if effect is not None:
        eff = _number("effect", effect)
    if power is not None:
        pw = _check_target_power(power)

    if target == "power":
        se, df = se_df(n1)
        pw = _rejection_probability(eff, se, df, alpha_, both)
    elif target == "effect":
        se, df = se_df(n1)
        eff = _solve_effect(se, df, alpha_, both, pw)
    else:
        if eff == 0.0:
            raise ValueError("effect must be non-zero to solve for n_per_arm, got 0.")

        def power_at(n: float) -> float:
            s, d = se_df(n)
            return _rejection_probability(eff, s, d, alpha_, both)

        n1 = _solve_increasing(power_at, pw, "n_per_arm", n_low, 50.0)
        se, df = se_df(n1)
    return IndividualPower(
        solved_for=target,
        power=pw,
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
    method_ = _check_choice("method", method, _CV_METHODS)
    if cluster_sizes is not None:
        sizes = _check_sizes(cluster_sizes)
        m = float(sizes.mean())
        cv_ = float(sizes.std(ddof=1) / m)
    else:
        sizes = None
        m = _check_at_least("cluster_size", cluster_size, 1.0)
        cv_ = _number("cv", cv)
        if cv_ < 0:
            raise ValueError(f"cv must be at least 0, got {cv!r}.")
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
    sd_ = _check_positive("sd", sd)
    alpha_ = _check_alpha(alpha)
    method = _check_choice("cv_method", cv_method, _CV_METHODS)
    dist_ = _check_choice("dist", dist, _DISTS)
    both = _check_bool("both_tails", both_tails)
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
        cv_ = _number("cv", cv)
        if cv_ < 0:
            raise ValueError(f"cv must be at least 0, got {cv!r}.")
        target = _which_missing(
            {
                "effect": effect,
                "n_clusters": n_clusters,
                "cluster_size": cluster_size,
                "power": power,
            }
        )

    if n_clusters is not None:
        k = _number("n_clusters", n_clusters)
        if dist_ == "t" and k <= 1.0:
            raise ValueError(
                f"n_clusters must be greater than 1 (the t-test has 2 (n_clusters - 1) df), "
                f"got {n_clusters!r}."
            )
        if k <= 0.0:
            raise ValueError(f"n_clusters must be greater than 0, got {n_clusters!r}.")
    if cluster_size is not None:
        m = _check_at_least("cluster_size", cluster_size, 1.0)
    if effect is not None:
        eff = _number("effect", effect)
    if power is not None:
        pw = _check_target_power(power)

    def se_df(k_: float, m_: float) -> tuple[float, float, float]:
        de = _design_effect(m_, icc_, cv_, method, sizes)
        df = 2.0 * (k_ - 1.0) if dist_ == "t" else math.inf
        return sd_ * math.sqrt(2.0 * de / (k_ * m_)), df, de

    if target in ("n_clusters", "cluster_size") and eff == 0.0:
        raise ValueError(f"effect must be non-zero to solve for {target}, got 0.")
    if target == "power":
        se, df, de = se_df(k, m)
        pw = _rejection_probability(eff, se, df, alpha_, both)
    elif target == "effect":
        se, df, de = se_df(k, m)
        eff = _solve_effect(se, df, alpha_, both, pw)
    elif target == "n_clusters":

        def power_k(k_: float) -> float:
            s, d, _ = se_df(k_, m)
            return _rejection_probability(eff, s, d, alpha_, both)

        k = _solve_increasing(power_k, pw, "n_clusters", k_low, 10.0)
        se, df, de = se_df(k, m)
    else:

        def power_m(m_: float) -> float:
            s, d, _ = se_df(k, m_)
            return _rejection_probability(eff, s, d, alpha_, both)

        m = _solve_increasing(power_m, pw, "cluster_size", 1.0, 10.0)
        se, df, de = se_df(k, m)
    return ClusterPower(
        solved_for=target,
        power=pw,
        effect=eff,
        n_clusters=k,
        cluster_size=m,
        icc=icc_,
        sd=sd_,
        cv=cv_,
        cv_method=method,
        cluster_sizes=None if sizes is None else tuple(float(s) for s in sizes),
        design_effect=de,
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
    rc = _number("rho_c", rho_c)
    if not 0.0 <= rc <= 1.0:
        raise ValueError(f"rho_c must be in [0, 1], got {rho_c!r}.")
    rs = _number("rho_s", rho_s)
    if not 0.0 <= rs < 1.0:
        raise ValueError(f"rho_s must be in [0, 1), got {rho_s!r}.")
    sd_ = _check_positive("sd", sd)
    alpha_ = _check_alpha(alpha)
    dist_ = _check_choice("dist", dist, _DISTS)
    both = _check_bool("both_tails", both_tails)
    target = _which_missing(
        {"effect": effect, "n_clusters": n_clusters, "cluster_size": cluster_size, "power": power}
    )
    k_low = 1.5 if dist_ == "t" else 1.0
    if n_clusters is not None:
        k = _number("n_clusters", n_clusters)
        if dist_ == "t" and k <= 1.0:
            raise ValueError(
                f"n_clusters must be greater than 1 (the t-test has 2 (n_clusters - 1) df), "
                f"got {n_clusters!r}."
            )
        if k <= 0.0:
            raise ValueError(f"n_clusters must be greater than 0, got {n_clusters!r}.")
    if cluster_size is not None:
        m = _check_at_least("cluster_size", cluster_size, 1.0)
    if effect is not None:
        eff = _number("effect", effect)
    if power is not None:
        pw = _check_target_power(power)

    def parts(k_: float, m_: float) -> tuple[float, float, float, float]:
        deff = 1.0 + (m_ - 1.0) * icc_
        r = (m_ * icc_ * rc + (1.0 - icc_) * rs) / deff
        vif = 2.0 * deff * (1.0 - r)
        df = 2.0 * (k_ - 1.0) if dist_ == "t" else math.inf
        return sd_ * math.sqrt(2.0 * vif / (k_ * m_)), df, r, vif

    if target in ("n_clusters", "cluster_size") and eff == 0.0:
        raise ValueError(f"effect must be non-zero to solve for {target}, got 0.")
    if target == "power":
        se, df, r, vif = parts(k, m)
        pw = _rejection_probability(eff, se, df, alpha_, both)
    elif target == "effect":
        se, df, r, vif = parts(k, m)
        eff = _solve_effect(se, df, alpha_, both, pw)
    elif target == "n_clusters":

        def power_k(k_: float) -> float:
            s, d, _, _ = parts(k_, m)
            return _rejection_probability(eff, s, d, alpha_, both)

        k = _solve_increasing(power_k, pw, "n_clusters", k_low, 10.0)
        se, df, r, vif = parts(k, m)
    else:

        def power_m(m_: float) -> float:
            s, d, _, _ = parts(k, m_)
            return _rejection_probability(eff, s, d, alpha_, both)

        m = _solve_increasing(power_m, pw, "cluster_size", 1.0, 10.0)
        se, df, r, vif = parts(k, m)
    return ClusterDiDPower(
        solved_for=target,
        power=pw,
        effect=eff,
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
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise ValueError(f"{name} must be an integer of at least {low}, got {value!r}.")
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
    tau_ = _number("tau", tau)
    if tau_ < 0:
        raise ValueError(f"tau must be at least 0, got {tau!r}.")
    sigma_ = _check_positive("sigma", sigma)
    gamma_ = _number("gamma", gamma)
    if gamma_ < 0:
        raise ValueError(f"gamma must be at least 0, got {gamma!r}.")
    alpha_ = _check_alpha(alpha)
    both = _check_bool("both_tails", both_tails)
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
    if clusters_per_sequence is not None:
        c = _check_positive("clusters_per_sequence", clusters_per_sequence)
    if cluster_size is not None:
        m = _check_at_least("cluster_size", cluster_size, 1.0)
    if effect is not None:
        eff = _number("effect", effect)
    if power is not None:
        pw = _check_target_power(power)

    def se_at(c_: float, m_: float) -> float:
        return math.sqrt(_sw_variance(x, c_, sigma_**2 / m_ + gamma_**2, tau_**2))

    def power_of(se: float) -> float:
        return _rejection_probability(eff, se, math.inf, alpha_, both)

    if target in ("clusters_per_sequence", "cluster_size") and eff == 0.0:
        raise ValueError(f"effect must be non-zero to solve for {target}, got 0.")
    if target == "power":
        se = se_at(c, m)
        pw = power_of(se)
    elif target == "effect":
        se = se_at(c, m)
        eff = _solve_effect(se, math.inf, alpha_, both, pw)
    elif target == "clusters_per_sequence":
        c = _solve_increasing(
            lambda c_: power_of(se_at(c_, m)), pw, "clusters_per_sequence", 1e-6, 1.0
        )
        se = se_at(c, m)
    else:
        m = _solve_increasing(lambda m_: power_of(se_at(c, m_)), pw, "cluster_size", 1.0, 10.0)
        se = se_at(c, m)
    return SteppedWedgePower(
        solved_for=target,
        power=pw,
        effect=eff,
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
