"""Which estimator to use for a design, by a stated rule over its diagnosands and their MCSEs.

The rule (:func:`recommend_estimator`), over the estimators of one design:

1. **Fits**: it fails in at most :data:`MAX_FAILURE_RATE` of the simulations.
2. **A usable test**: it reported a test at level alpha in most fits (``no_test_rate <
   0.5``; :mod:`hubsim.estimators.inference` says when none exists, e.g. synthetic control
   with few donors or randomization inference with few reassignments).
3. **Unbiased within MCSE**: ``|bias| <= k * bias_mcse`` against the estimand the estimator
   declares.
4. **Coverage within MCSE of nominal**: ``|coverage - (1 - alpha)| <= k * m``, where ``m``
   is the larger of the reported ``coverage_mcse`` and the binomial MCSE at nominal coverage
   over the ``n_ok`` fits (so an observed 1.000 from few simulations is not a failure),
   and its test of a true null is not flagged as oversized (``null_rejection`` above
   ``alpha + 3`` nominal MCSEs).
5. Among the estimators passing 1-4, the **highest power**; ties within one MCSE of power
   go to the smaller RMSE.

``k`` is :data:`K_MCSE` (3). When none passes there is no recommendation, and the reason
names what failed for each estimator. The MCSEs are those :func:`~hubsim.power.diagnose`
reports, so a recommendation from few simulations is tolerant and one from many strict.

Examples
--------
>>> import pandas as pd
>>> d = pd.DataFrame({"estimator": ["a", "b"], "power": [0.9, 0.7], "power_mcse": [0.02, 0.03],
...     "bias": [0.3, 0.0], "bias_mcse": [0.05, 0.05], "coverage": [0.95, 0.95],
...     "coverage_mcse": [0.01, 0.01], "rmse": [0.4, 0.2], "failure_rate": [0.0, 0.0],
...     "alpha": [0.05, 0.05]})
>>> recommend_estimator(d).estimator
'b'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hubsim.power.diagnose import has_no_test

__all__ = [
    "CHECK_COLUMNS",
    "K_MCSE",
    "MAX_FAILURE_RATE",
    "RECOMMENDATION_COLUMNS",
    "Recommendation",
    "recommend_by_scenario",
    "recommend_estimator",
]

#: Tolerance of the rule in Monte-Carlo standard errors.
K_MCSE = 3.0
#: Largest share of failed fits a usable estimator may have.
MAX_FAILURE_RATE = 0.05
CHECK_COLUMNS = [
    "estimator",
    "usable",
    "fits",
    "has_test",
    "unbiased",
    "covers",
    "power",
    "power_mcse",
    "why",
]
RECOMMENDATION_COLUMNS = ["scenario", "estimator", "power", "power_mcse", "eligible", "reason"]


@dataclass(frozen=True)
class Recommendation:
    """The recommended estimator (None when no estimator is usable), the rule, and why."""

    estimator: str | None
    rule: str
    reason: str
    checks: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """One row an estimator: each check, power and why (:data:`CHECK_COLUMNS`)."""
        return self.checks.copy()

    def summary(self) -> str:
        head = f"Recommended: {self.estimator}" if self.estimator else "No estimator is usable"
        return f"{head}. {self.reason}\nRule: {self.rule}"


def _frame(diagnosis: Any) -> pd.DataFrame:
    return diagnosis.diagnosands if hasattr(diagnosis, "diagnosands") else pd.DataFrame(diagnosis)


def _num(r: pd.Series, col: str, default: float = math.nan) -> float:
    v = r.get(col, default)
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


def recommend_estimator(
    diagnosis: Any,
    *,
    alpha: float | None = None,
    k_mcse: float = K_MCSE,
    max_failure_rate: float = MAX_FAILURE_RATE,
) -> Recommendation:
    """Apply the module's rule to a :class:`~hubsim.power.DiagnosisResult` or its
    ``diagnosands`` frame (one row per estimator of one design).

    Parameters
    ----------
    diagnosis : DiagnosisResult or pandas.DataFrame
        With ``estimator``, ``power``, ``bias``, ``coverage`` and their ``_mcse`` columns;
        ``rmse``, ``failure_rate``, ``no_test_rate``, ``oversized`` and ``null_rejection``
        are used when present.
    alpha : float, optional
        The level (default the frame's ``alpha`` column).
    k_mcse, max_failure_rate : float
        The rule's tolerances.

    Returns
    -------
    Recommendation
    """
    d = _frame(diagnosis)
    need = ("estimator", "power", "bias", "bias_mcse", "coverage", "coverage_mcse")
    missing = [c for c in need if c not in d]
    if missing:
        raise ValueError(f"recommend_estimator: the diagnosands lack column {missing[0]!r}.")
    if alpha is None:
        if "alpha" not in d:
            raise ValueError("recommend_estimator: give alpha or an 'alpha' column.")
        alpha = float(d["alpha"].iloc[0])
    nominal = 1.0 - alpha
    rows = []
    for _, r in d.iterrows():
        fail = _num(r, "failure_rate", 0.0)
        no_test = _num(r, "no_test_rate", 0.0)
        bias, bm = _num(r, "bias"), _num(r, "bias_mcse", 0.0)
        cov, cm = _num(r, "coverage"), _num(r, "coverage_mcse", 0.0)
        bm = bm if np.isfinite(bm) else 0.0
        cm = cm if np.isfinite(cm) else 0.0
        # the MCSE of an observed coverage of 1.000 (or 0.000) is zero; judged against the
        # nominal level, the test's spread is the binomial MCSE at nominal coverage
        n_cov = _num(r, "n_ok", _num(r, "n_sims", math.nan))
        if np.isfinite(n_cov) and n_cov > 0:
            cm = max(cm, math.sqrt(nominal * (1.0 - nominal) / n_cov))
        fits = np.isfinite(fail) and fail <= max_failure_rate
        has_test = not has_no_test(no_test)
        unbiased = bool(np.isfinite(bias) and abs(bias) <= k_mcse * bm)
        oversized = bool(r.get("oversized", False))
        covers = bool(np.isfinite(cov) and abs(cov - nominal) <= k_mcse * cm) and not oversized
        why = []
        if not fits:
            why.append(f"fails in {fail:.0%} of simulations")
        if not has_test:
            why.append("has no test at this level for this design")
        if not unbiased:
            why.append(
                f"is biased ({bias:+.3g}, beyond {k_mcse:g} MCSE of {bm:.2g})"
                if np.isfinite(bias)
                else "gives no estimate"
            )
        if not covers:
            if oversized:
                why.append(f"over-rejects a true null ({_num(r, 'null_rejection'):.3f})")
            elif np.isfinite(cov):
                why.append(
                    f"covers {cov:.3f}, not within {k_mcse:g} MCSE ({cm:.3f}) of {nominal:.2f}"
                )
            else:
                why.append("gives no interval")
        rows.append(
            {
                "estimator": r["estimator"],
                "usable": bool(fits and has_test and unbiased and covers),
                "fits": bool(fits),
                "has_test": has_test,
                "unbiased": unbiased,
                "covers": covers,
                "power": _num(r, "power"),
                "power_mcse": _num(r, "power_mcse", 0.0),
                "why": "; ".join(why),
                "_rmse": _num(r, "rmse", math.inf),
            }
        )
    checks = pd.DataFrame(rows)
    rule = (
        f"usable = fails in at most {max_failure_rate:.0%} of simulations, has a test at level "
        f"{alpha:g}, bias within {k_mcse:g} MCSE of zero and CI coverage within {k_mcse:g} "
        f"MCSE of {nominal:.0%} (and not oversized); among usable estimators the highest "
        "power, ties within one MCSE to the lower RMSE."
    )
    ok = checks[checks["usable"]]
    if ok.empty:
        reason = (
            "none passes the rule: "
            + "; ".join(f"{r.estimator} {r.why}" for r in checks.itertuples(index=False))
            + "."
        )
        return Recommendation(None, rule, reason, checks[CHECK_COLUMNS])
    top = float(ok["power"].max())
    tied = ok[ok["power"] >= top - ok["power_mcse"]]
    best = tied.sort_values(["_rmse", "power"], ascending=[True, False], kind="stable").iloc[0]
    reason = (
        f"{best['estimator']} is unbiased within MCSE and covers at the nominal level, with "
        f"power {best['power']:.2f}"
        + (
            f", the highest of the usable estimators ({', '.join(ok['estimator'])})"
            if len(ok) > 1
            else ""
        )
        + "."
    )
    bad = checks[~checks["usable"]]
    if len(bad):
        reason += (
            " Not usable: "
            + "; ".join(f"{r.estimator} ({r.why})" for r in bad.itertuples(index=False))
            + "."
        )
    return Recommendation(str(best["estimator"]), rule, reason, checks[CHECK_COLUMNS])


def recommend_by_scenario(diagnosands: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`recommend_estimator` for each scenario of a study's diagnosands.

    Returns :data:`RECOMMENDATION_COLUMNS`, one row per scenario and estimator:
    ``eligible`` says whether it passes the rule's checks, ``reason`` why not (or
    ``"recommended"`` for the recommended one, whose row comes first in its scenario).

    Examples
    --------
    >>> d = pd.DataFrame({"scenario": "s", "estimator": ["a", "b"], "bias": [0.0, 0.5],
    ...     "bias_mcse": 0.01, "coverage": 0.95, "coverage_mcse": 0.01, "power": [0.6, 0.9],
    ...     "power_mcse": 0.03, "rmse": 0.1, "failure_rate": 0.0})
    >>> recommend_by_scenario(d).iloc[0]["estimator"]
    'a'
    """
    out = []
    for scen, g in diagnosands.groupby("scenario", sort=False):
        rec = recommend_estimator(g, alpha=alpha)
        ch = rec.checks
        rows = [
            {
                "scenario": scen,
                "estimator": r.estimator,
                "power": r.power,
                "power_mcse": r.power_mcse,
                "eligible": bool(r.usable),
                "reason": "recommended" if r.estimator == rec.estimator else r.why,
            }
            for r in ch.itertuples(index=False)
        ]
        rows.sort(key=lambda x: x["reason"] != "recommended")
        out += rows
    if not out:
        return pd.DataFrame(columns=RECOMMENDATION_COLUMNS)
    return pd.DataFrame(out, columns=RECOMMENDATION_COLUMNS)
