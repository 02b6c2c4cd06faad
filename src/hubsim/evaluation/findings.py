"""The answers a power study's report opens with, computed from its frames.

Everything here is a pure function of the study's diagnosands and curves, so the key
findings are reproducible from ``diagnosands.csv`` and ``curves.csv`` alone and a test can
change a diagnosand and watch the recommendation change. The recommendation rule is
:func:`hubsim.power.recommend_estimator` (fits, has a usable test, unbiased within 3
MCSE, coverage within 3 MCSE of nominal and not oversized, then the highest power), the
one the app's evaluation page uses too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hubsim.power.recommend import RECOMMENDATION_COLUMNS, recommend_by_scenario

__all__ = [
    "RECOMMENDATION_COLUMNS",
    "Crossing",
    "Plateau",
    "first_crossing",
    "plateau",
    "recommend",
    "recommended",
]


def recommend(diagnosands: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """The recommendation of every scenario (:func:`hubsim.power.recommend_by_scenario`)."""
    return recommend_by_scenario(diagnosands, alpha)


def recommended(recommendations: pd.DataFrame, scenario: str) -> str:
    """The recommended estimator of a scenario ('' when no estimator passes the rule)."""
    r = recommendations[
        (recommendations["scenario"] == scenario) & (recommendations["reason"] == "recommended")
    ]
    return str(r["estimator"].iloc[0]) if len(r) else ""


@dataclass(frozen=True)
class Crossing:
    """Where a power curve first reaches a target."""

    x: float  # the first x with power >= target (NaN if never)
    power: float  # power there
    power_mcse: float
    max_x: float
    max_power: float
    max_power_mcse: float
    reached: bool


def first_crossing(curve: pd.DataFrame, target: float = 0.8) -> Crossing:
    """The first point of a curve (sorted by ``x_value``) with power at least ``target``.

    Examples
    --------
    >>> c = pd.DataFrame({"x_value": [10, 20, 40], "power": [0.3, 0.85, 0.99],
    ...                   "power_mcse": 0.02})
    >>> first_crossing(c).x
    20.0
    """
    g = curve.sort_values("x_value")
    hit = g[g["power"] >= target]
    last = g.iloc[-1]
    if len(hit):
        h = hit.iloc[0]
        return Crossing(
            float(h["x_value"]),
            float(h["power"]),
            float(h["power_mcse"]),
            float(last["x_value"]),
            float(last["power"]),
            float(last["power_mcse"]),
            True,
        )
    best = g.loc[g["power"].idxmax()]
    return Crossing(
        math.nan,
        math.nan,
        math.nan,
        float(last["x_value"]),
        float(best["power"]),
        float(best["power_mcse"]),
        False,
    )


@dataclass(frozen=True)
class Plateau:
    """Why power stops rising with respondents: ``Var(estimate) = a + b / n``.

    ``a`` is the part of the estimate's variance that more respondents per region-month
    cannot remove (between-region variation over time, period shocks that do not cancel),
    ``b / n`` the sampling part. ``ceiling`` is the power of a two-sided z-test at level
    ``alpha`` with the effect over ``sqrt(a)``.
    """

    a: float
    b: float
    share_at: float  # share of the variance that is between-region, at the design's n
    n_at: float
    ceiling: float


def plateau(
    curve: pd.DataFrame, effect: float, alpha: float = 0.05, n_at: float = 200.0
) -> Plateau:
    """Fit ``sd_estimate^2 = a + b / n`` to a respondents curve (least squares, a, b >= 0).

    Examples
    --------
    >>> n = np.array([50.0, 100, 200, 400])
    >>> c = pd.DataFrame({"x_value": n, "sd_estimate": np.sqrt(0.01 + 1.0 / n)})
    >>> p = plateau(c, effect=0.2)
    >>> round(p.a, 6), round(p.b, 6)
    (0.01, 1.0)
    """
    from scipy import optimize, stats

    g = curve.sort_values("x_value")
    n = g["x_value"].to_numpy(dtype=float)
    v = g["sd_estimate"].to_numpy(dtype=float) ** 2
    ok = np.isfinite(n) & np.isfinite(v) & (n > 0)
    A = np.column_stack([np.ones(ok.sum()), 1.0 / n[ok]])
    coef = optimize.nnls(A, v[ok])[0]
    a, b = float(coef[0]), float(coef[1])
    tot = a + b / n_at
    share = a / tot if tot > 0 else math.nan
    z = stats.norm.ppf(1 - alpha / 2)
    ceiling = (
        float(
            stats.norm.cdf(abs(effect) / math.sqrt(a) - z)
            + stats.norm.cdf(-abs(effect) / math.sqrt(a) - z)
        )
        if a > 0
        else 1.0
    )
    return Plateau(a, b, share, float(n_at), ceiling)
