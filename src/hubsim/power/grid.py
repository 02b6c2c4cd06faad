"""Grids of designs: power curves, minimum detectable effects, and simulation counts.

Common random numbers
---------------------
Every point of a power curve, and every effect size tried by
:func:`minimum_detectable_effect`, draws its simulations from the *base* design's stream
key, so simulation ``s`` uses the same random numbers at every point. Differences between
points are then not blurred by independent Monte-Carlo noise, and simulated power is
(nearly) monotone in the effect size, which the MDE search relies on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import interpolate, optimize, stats

from hubsim.checks import check_alpha, check_int
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    EstimatorSpec,
    _Progress,
    design_key,
    diagnose,
    resolve_estimators,
)

__all__ = [
    "MDE_POINT_COLUMNS",
    "MDEResult",
    "effect_scale",
    "minimum_detectable_effect",
    "n_sims_for",
    "power_curve",
]

MDE_POINT_COLUMNS = ["effect", "power", "power_mcse", "mean_estimate", "sd_estimate", "n_sims"]


def _points(
    vary: Mapping[str, Iterable[Any]], paired: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    if not isinstance(vary, Mapping) or not vary:
        raise ValueError("vary must be a non-empty mapping of design field to a list of values.")
    names = list(vary)
    values = []
    for k in names:
        v = vary[k]
        if isinstance(v, str | bytes) or not isinstance(v, Iterable):
            raise ValueError(f"vary[{k!r}] must be a list of values, got {v!r}.")
        v = list(v)
        if not v:
            raise ValueError(f"vary[{k!r}] must list at least one value.")
        values.append(v)
    if paired:
        if len({len(v) for v in values}) > 1:
            raise ValueError("with paired=True every vary list must have the same length.")
        combos = list(zip(*values, strict=True))
    else:
        combos = list(itertools.product(*values))
    return names, [dict(zip(names, combo, strict=True)) for combo in combos]


def power_curve(
    design: Any,
    vary: Mapping[str, Iterable[Any]],
    estimators: str | EstimatorSpec | Iterable[str | EstimatorSpec],
    *,
    n_sims: int,
    seed: int,
    alpha: float = 0.05,
    workers: int = 1,
    fixed: Mapping[str, Any] | None = None,
    common_random_numbers: bool = True,
    paired: bool = False,
    progress: bool | None = None,
    fast: bool = True,
) -> pd.DataFrame:
    """Diagnosands at every point of a grid of designs.

    Each point is ``design.replace(**fixed, **point)`` for the Cartesian product of the
    ``vary`` lists (or, with ``paired=True``, for the lists zipped). All designs are built (and so validated) before any simulation.

    Parameters
    ----------
    design : RegionalDesign or design-like
        The base design (with a ``replace(**changes)`` method).
    vary : mapping
        Field name -> list of values, e.g. ``{"n_regions": [20, 40], "effect": [0, 0.1]}``.
    estimators : names or EstimatorSpec objects
    n_sims, seed, alpha, workers, progress, fast
        As in :func:`~hubsim.power.diagnose.diagnose` (per point).
    fixed : mapping, optional
        Changes applied at every point (e.g. ``{"closures": None}`` when regions vary).
    common_random_numbers : bool
        Use the base design's stream key at every point (default) rather than each
        point's own.
    paired : bool
        Zip the ``vary`` lists (equal lengths) instead of crossing them, e.g. to vary
        ``n_regions`` and ``n_treated`` together.

    Returns
    -------
    pandas.DataFrame
        One row per point and estimator: the ``vary`` columns, ``point``, then
        :data:`~hubsim.power.diagnose.DIAGNOSAND_COLUMNS`.

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> d = RegionalDesign(n_regions=10, n_periods=6, n_treated=5, schedule=(3, 4))
    >>> pc = power_curve(d, {"effect": [0.0, 0.5]}, ["twfe_cr1"], n_sims=10, seed=1)
    >>> pc[["effect", "estimator"]].shape
    (2, 2)
    """
    names, points = _points(vary, paired)
    specs = resolve_estimators(estimators)
    check_alpha(alpha)
    check_int("n_sims", n_sims, 2)
    check_int("seed", seed, 0)
    if not callable(getattr(design, "replace", None)):
        raise ValueError("design must have a replace(**changes) method to vary its fields.")
    base = dict(fixed or {})
    designs = [design.replace(**{**base, **p}) for p in points]
    key = design_key(design) if common_random_numbers else None
    bar = _Progress(len(points) * n_sims, "power_curve", progress)
    frames = []
    try:
        for i, (p, d) in enumerate(zip(points, designs, strict=True)):
            res = diagnose(
                d,
                specs,
                n_sims=n_sims,
                seed=seed,
                alpha=alpha,
                workers=workers,
                progress=False,
                fast=fast,
                key=key,
            )
            fr = res.diagnosands.copy()
            for j, k in enumerate(names):
                fr.insert(j, k, [p[k]] * len(fr))
            fr.insert(len(names), "point", i)
            frames.append(fr)
            bar.update(n_sims)
    finally:
        bar.close()
    out = pd.concat(frames, ignore_index=True)
    return out[[*names, "point", *DIAGNOSAND_COLUMNS]]


@dataclass(frozen=True)
class MDEResult:
    """A minimum detectable effect and how it was found.

    Attributes
    ----------
    effect : float
        The smallest effect with the target power (NaN if not bracketed), on :attr:`scale`.
    mcse : float
        Its Monte-Carlo SE: the binomial MCSE of power at the target divided by the slope
        of power in the effect, ``phi(z_power) / SD`` (NaN for the normal approximation).
    power, alpha : float
        Target power and significance level.
    estimator : str
    method : str
        ``"simulation"`` or ``"normal"``.
    normal_approximation : float
        ``(z_{1-alpha/2} + z_power) * SD`` of the estimate under no effect.
    points : pandas.DataFrame
        Effects tried and their simulated power (:data:`MDE_POINT_COLUMNS`; size-adjusted
        power when :attr:`size_adjusted`).
    note : str
    scale : str
        What the effect is measured in (e.g. "standardised mean difference (SD units)",
        "log odds ratio (logit link; ...)", "outcome units").
    null_rejection, null_rejection_mcse : float
        The test's simulated rejection rate with no effect, and its MCSE.
    size_adjusted : bool
        True when that rate exceeded ``alpha + 3 MCSE``: power was then counted with the
        critical p-value :attr:`critical_p` taken from the simulated null (rejecting at
        most ``alpha`` of the null simulations), so the MDE is that of a test of the
        right size, not of the oversized one.
    critical_p : float
        The p-value threshold used (``alpha`` unless size-adjusted).
    estimand_at_mde : float
        The design's ATT at the MDE (on the estimand's scale: a risk difference for a
        binary outcome, whose effect field is on the link scale).
    """

    effect: float
    mcse: float
    power: float
    alpha: float
    estimator: str
    method: str
    normal_approximation: float
    points: pd.DataFrame
    note: str = ""
    scale: str = ""
    null_rejection: float = math.nan
    null_rejection_mcse: float = math.nan
    size_adjusted: bool = False
    critical_p: float = math.nan
    estimand_at_mde: float = math.nan

    def tidy(self) -> pd.DataFrame:
        """The effects tried with their power (one row each), each row carrying the
        answer they give: the MDE and its MCSE at the target power (``mde``, ``mde_mcse``,
        ``target_power``) and whether power was size-adjusted."""
        return self.points.assign(
            estimator=self.estimator,
            mde=self.effect,
            mde_mcse=self.mcse,
            target_power=self.power,
            size_adjusted=bool(self.size_adjusted),
        )

    def summary(self) -> str:
        """One paragraph."""
        txt = (
            f"MDE for {self.estimator} at {self.power:.0%} power (alpha {self.alpha}): "
            f"{self.effect:.4g}"
        )
        if np.isfinite(self.mcse):
            txt += f" (MCSE {self.mcse:.2g})"
        if self.scale:
            txt += f", {self.scale},"
        txt += f" by {self.method}; normal approximation {self.normal_approximation:.4g}."
        if self.size_adjusted:
            txt += (
                f" The test rejected a true null {self.null_rejection:.3f} of the time (MCSE "
                f"{self.null_rejection_mcse:.3f}), so power is size-adjusted: rejection at "
                f"p < {self.critical_p:.3g}, the simulated null's {self.alpha:g} quantile."
            )
        return txt + (f" {self.note}" if self.note else "")


def effect_scale(design: Any, effect_field: str = "effect") -> str:
    """What a design's effect field is measured in, in words.

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> effect_scale(RegionalDesign(outcome="binary"))
    'log odds ratio (logit link; the estimand is a risk difference)'
    >>> effect_scale(RegionalDesign())
    'standardised mean difference (SD units)'
    """
    if effect_field != "effect":
        return f"units of {effect_field}"
    outcome = getattr(design, "outcome", None)
    if outcome == "binary":
        link = getattr(design, "link", "logit")
        what = (
            "log odds ratio (logit link"
            if link == "logit"
            else "probit-scale difference (probit link"
        )
        return what + "; the estimand is a risk difference)"
    if outcome == "continuous":
        if getattr(design, "sd", None) == 1.0 and getattr(design, "mean", None) == 0.0:
            return "standardised mean difference (SD units)"
        return "outcome units"
    return ""


def _critical_p(p_null: np.ndarray, alpha: float) -> float:
    """The largest threshold c with at most alpha of the null p-values below it."""
    p = np.sort(p_null[np.isfinite(p_null)])
    k = math.floor(alpha * len(p))
    return float(p[k]) if k < len(p) else 1.0


def minimum_detectable_effect(
    design: Any,
    estimator: str | EstimatorSpec,
    *,
    power: float = 0.8,
    n_sims: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    method: str = "simulation",
    effect_field: str = "effect",
    max_evals: int = 8,
    workers: int = 1,
    progress: bool | None = None,
    fast: bool = True,
) -> MDEResult:
    """The smallest (positive) effect that ``estimator`` detects with probability ``power``.

    Method
    ------
    1. Simulate the design with no effect; the SD of the estimates gives the normal
       approximation ``(z_{1-alpha/2} + z_power) * SD`` (Bloom 1995), the starting point.
    2. ``method="simulation"``: simulate power there and step by factors of 1.5 until the
       target is bracketed, then bisect; all effect sizes share random numbers (common
       random numbers, see the module notes), so power is nearly monotone in the effect.
    3. Make the simulated points monotone (running maximum), interpolate them with a
       monotone cubic (PCHIP), and solve for the target power.
    4. Size: if the test rejects the simulated null more than ``alpha + 3 MCSE`` of the
       time, power is counted against the critical p-value of the simulated null (the
       largest threshold rejecting at most ``alpha`` of the null simulations) and the
       result says so (:attr:`MDEResult.size_adjusted`): an oversized test would report
       an MDE too small. The effect's scale is named (:func:`effect_scale`; a binary
       outcome's effect is a log odds ratio, its estimand a risk difference). The MCSE is the binomial
       MCSE of power at the target divided by the slope of power in the effect under the
       normal model, ``phi(z_power) / SD`` (the interpolant's own slope is unstable
       because simulated power is a step function of the effect).

    Parameters
    ----------
    design : RegionalDesign or design-like
        Its ``effect_field`` must accept a number.
    estimator : str or EstimatorSpec
    power : float
        Target power in (alpha, 1).
    n_sims : int
        Simulations per effect size.
    seed : int
    alpha : float
    method : {"simulation", "normal"}
    effect_field : str
        The design field holding the effect.
    max_evals : int
        Effect sizes simulated after the null (at least 2).
    workers, progress, fast
        As in :func:`~hubsim.power.diagnose.diagnose`.

    Returns
    -------
    MDEResult

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> d = RegionalDesign(n_regions=12, n_periods=6, n_treated=6, schedule=(3, 4))
    >>> res = minimum_detectable_effect(d, "twfe_cr1", n_sims=40, seed=1, max_evals=4)
    >>> bool(res.effect > 0)
    True
    """
    spec = resolve_estimators([estimator])[0]
    a = check_alpha(alpha)
    if not (isinstance(power, float | int) and a < power < 1):
        raise ValueError(f"power must be between alpha ({a}) and 1, got {power!r}.")
    if method not in ("simulation", "normal"):
        raise ValueError(f"method must be 'simulation' or 'normal', got {method!r}.")
    check_int("n_sims", n_sims, 2)
    check_int("max_evals", max_evals, 2)
    key = design_key(design)

    crit = {"p": a, "adjusted": False}

    def run(effect: float) -> dict[str, Any]:
        d = design.replace(**{effect_field: float(effect)})
        res = diagnose(
            d,
            [spec],
            n_sims=n_sims,
            seed=seed,
            alpha=a,
            workers=workers,
            progress=progress,
            fast=fast,
            key=key,
        )
        r = res.diagnosands.iloc[0]
        p = res.simulations["p_value"].to_numpy(dtype=float)
        fin = p[np.isfinite(p)]
        pw, pw_mcse = float(r["power"]), float(r["power_mcse"])
        if crit["adjusted"] and len(fin):
            hits = fin < crit["p"]
            pw = float(hits.mean())
            pw_mcse = math.sqrt(pw * (1 - pw) / len(hits))
        return {
            "effect": float(effect),
            "power": pw,
            "power_mcse": pw_mcse,
            "mean_estimate": float(r["mean_estimate"]),
            "sd_estimate": float(r["sd_estimate"]),
            "n_sims": int(r["n_sims"]),
            "_p": p,
        }

    scale = effect_scale(design, effect_field)
    null = run(0.0)
    sd0 = null["sd_estimate"]
    if not (np.isfinite(sd0) and sd0 > 0):
        raise ValueError(
            f"estimator {spec.name!r} gave no spread of estimates under no effect "
            "(all fits failed?), so no detectable effect can be found."
        )
    p0 = null["_p"][np.isfinite(null["_p"])]
    r0 = float(np.mean(p0 < a)) if len(p0) else math.nan
    r0_mcse = math.sqrt(r0 * (1 - r0) / len(p0)) if len(p0) else math.nan
    note = ""
    if len(p0) and r0 > a + 3 * math.sqrt(a * (1 - a) / len(p0)):
        # an oversized test: count power against the simulated null's critical p-value
        crit["p"] = _critical_p(p0, a)
        crit["adjusted"] = True
        null["power"] = float(np.mean(p0 < crit["p"]))
        null["power_mcse"] = math.sqrt(null["power"] * (1 - null["power"]) / len(p0))
    if len(p0) and np.all(p0 >= 1.0):
        note = (
            "the estimator found no test at level alpha for this design (it never rejects), "
            "so no effect is detectable with it."
        )
    normal = (stats.norm.ppf(1 - a / 2) + stats.norm.ppf(power)) * sd0
    pts = [null]

    def result(effect: float, mcse: float, how: str, table: pd.DataFrame, extra: str = ""):
        att = math.nan
        if np.isfinite(effect):
            try:
                att = float(design.replace(**{effect_field: float(effect)}).estimand().att)
            except (AttributeError, TypeError, ValueError):
                att = math.nan
        return MDEResult(
            effect,
            mcse,
            float(power),
            a,
            spec.name,
            how,
            normal,
            table,
            " ".join(x for x in (note, extra) if x),
            scale=scale,
            null_rejection=r0,
            null_rejection_mcse=r0_mcse,
            size_adjusted=crit["adjusted"],
            critical_p=crit["p"],
            estimand_at_mde=att,
        )

    def frame(points: list[dict[str, Any]]) -> pd.DataFrame:
        return pd.DataFrame(
            [{k: v for k, v in q.items() if not k.startswith("_")} for q in points],
            columns=MDE_POINT_COLUMNS,
        )

    if method == "normal":
        return result(normal, math.nan, "normal", frame(pts))
    lo, hi = 0.0, math.nan
    e = normal
    evals = 0
    while evals < max_evals and not np.isfinite(hi):
        r = run(e)
        pts.append(r)
        evals += 1
        if r["power"] >= power:
            hi = e
        else:
            lo = e
            e *= 1.5
    if np.isfinite(hi) and lo == 0.0 and evals < max_evals:
        # the first guess already had the power: walk down to bracket from below
        e = hi / 1.5
        while evals < max_evals:
            r = run(e)
            pts.append(r)
            evals += 1
            if r["power"] >= power:
                hi = e
                e /= 1.5
            else:
                lo = e
                break
    while evals < max_evals and np.isfinite(hi):
        mid = 0.5 * (lo + hi)
        r = run(mid)
        pts.append(r)
        evals += 1
        if r["power"] >= power:
            hi = mid
        else:
            lo = mid
    table = frame(pts).sort_values("effect").reset_index(drop=True)
    if not np.isfinite(hi):
        return result(
            math.nan,
            math.nan,
            "simulation",
            table,
            f"power stayed below {power} up to effect {lo:.4g}.",
        )
    x = table["effect"].to_numpy(dtype=float)
    y = np.maximum.accumulate(table["power"].to_numpy(dtype=float))
    xu, idx = np.unique(x, return_index=True)
    yu = y[idx]
    fell = ""
    if np.any(np.diff(table["power"].to_numpy()) < -3 * table["power_mcse"].to_numpy()[1:]):
        fell = "simulated power fell with the effect somewhere by more than 3 MCSE."
    if len(xu) < 2 or yu[-1] <= yu[0]:
        return result(hi, math.nan, "simulation", table, fell)
    f = interpolate.PchipInterpolator(xu, yu)
    if f(lo) >= power:
        sol = lo
    elif f(hi) <= power:
        # simulated power at hi can equal the target exactly (e.g. 160/200), leaving the
        # interpolant a rounding error short of it and brentq without a sign change
        sol = hi
    else:
        sol = float(optimize.brentq(lambda t: float(f(t)) - power, lo, hi, xtol=1e-12))
    # Slope of power in the effect from the normal model Phi(e / sd - z): the interpolant's
    # own slope is unstable because simulated power is a step function of the effect.
    slope = float(stats.norm.pdf(stats.norm.ppf(power)) / sd0)
    mcse = math.sqrt(power * (1 - power) / n_sims) / slope
    return result(sol, mcse, "simulation", table, fell)


def n_sims_for(mcse: float, *, p: float | None = None, sd: float | None = None) -> int:
    """Simulations needed for a diagnosand's Monte-Carlo SE to reach ``mcse``.

    For a proportion (power, coverage, size) ``n = p (1 - p) / mcse^2``, with ``p = 0.5``
    (the worst case) unless given; for a mean (bias, mean estimate) ``n = sd^2 / mcse^2``
    with ``sd`` the SD of the simulated quantity.

    Parameters
    ----------
    mcse : float
        Target Monte-Carlo standard error (positive).
    p : float, optional
        Anticipated proportion in [0, 1].
    sd : float, optional
        Anticipated SD of the estimates (exclusive with ``p``).

    Returns
    -------
    int
        At least 2.

    Examples
    --------
    >>> n_sims_for(0.01)
    2500
    >>> n_sims_for(0.005, p=0.05)
    1900
    >>> n_sims_for(0.01, sd=0.2)
    400
    """
    if isinstance(mcse, bool) or not isinstance(mcse, int | float) or not mcse > 0:
        raise ValueError(f"mcse must be a positive number, got {mcse!r}.")
    if p is not None and sd is not None:
        raise ValueError("give p (for a proportion) or sd (for a mean), not both.")
    if sd is not None:
        if not (isinstance(sd, int | float) and sd > 0):
            raise ValueError(f"sd must be a positive number, got {sd!r}.")
        need = sd**2 / mcse**2
    else:
        pp = 0.5 if p is None else p
        if not (isinstance(pp, int | float) and 0 <= pp <= 1):
            raise ValueError(f"p must be a proportion in [0, 1], got {p!r}.")
        need = pp * (1 - pp) / mcse**2
    return max(2, math.ceil(need - 1e-9))
