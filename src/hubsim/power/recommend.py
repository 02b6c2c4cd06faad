"""Which estimator to use for a design, by a stated rule over its diagnosands and their MCSEs.

The rule (:func:`recommend_estimator`): an estimator is *usable* when it fails in at most
:data:`MAX_FAILURE_RATE` of the simulations, its bias is within :data:`K_MCSE` Monte-Carlo
standard errors of zero, and its CI coverage is within :data:`K_MCSE` MCSEs of the nominal
``1 - alpha``; among usable estimators the one with the highest power is recommended (ties
by lower RMSE). When none is usable there is no recommendation, and the reason names what
failed for each estimator. The MCSEs are those :func:`~hubsim.power.diagnose` reports, so
a recommendation from few simulations is tolerant, and one from many is strict.

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

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: Tolerance of the rule in Monte-Carlo standard errors.
K_MCSE = 2.0
#: Largest share of failed fits a usable estimator may have.
MAX_FAILURE_RATE = 0.05
CHECK_COLUMNS = ["estimator", "usable", "unbiased", "covers", "fits", "power", "why"]


@dataclass(frozen=True)
class Recommendation:
    """The recommended estimator (None when no estimator is usable), the rule, and why."""

    estimator: str | None
    rule: str
    reason: str
    checks: pd.DataFrame

    def tidy(self) -> pd.DataFrame:
        """A row an estimator: usable, unbiased, covers, fits, power and why (:data:`CHECK_COLUMNS`)."""
        return self.checks

    def summary(self) -> str:
        head = f"Recommended: {self.estimator}" if self.estimator else "No estimator is usable"
        return f"{head}. {self.reason}\nRule: {self.rule}"


def _frame(diagnosis: Any) -> pd.DataFrame:
    return diagnosis.diagnosands if hasattr(diagnosis, "diagnosands") else pd.DataFrame(diagnosis)


def recommend_estimator(
    diagnosis: Any, *, k_mcse: float = K_MCSE, max_failure_rate: float = MAX_FAILURE_RATE
) -> Recommendation:
    """Apply the module's rule to a :class:`~hubsim.power.DiagnosisResult` (or its
    ``diagnosands`` frame: one row per estimator with ``power``, ``bias``, ``coverage``,
    ``rmse``, ``failure_rate``, ``alpha`` and the ``_mcse`` columns)."""
    d = _frame(diagnosis)
    missing = [
        c
        for c in ("estimator", "power", "bias", "bias_mcse", "coverage", "coverage_mcse", "alpha")
        if c not in d
    ]
    if missing:
        raise ValueError(f"recommend_estimator: the diagnosands lack column {missing[0]!r}.")
    rows = []
    for _, r in d.iterrows():
        nominal = 1.0 - float(r["alpha"])
        fail = float(r.get("failure_rate", 0.0) or 0.0)
        bias, bm = float(r["bias"]), float(r["bias_mcse"])
        cov, cm = float(r["coverage"]), float(r["coverage_mcse"])
        fits = fail <= max_failure_rate
        unbiased = bool(np.isfinite(bias) and abs(bias) <= k_mcse * (bm if np.isfinite(bm) else 0))
        covers = bool(
            np.isfinite(cov) and abs(cov - nominal) <= k_mcse * (cm if np.isfinite(cm) else 0)
        )
        why = []
        if not fits:
            why.append(f"fails in {fail:.0%} of simulations")
        if not unbiased:
            why.append(
                f"bias {bias:+.3g} is beyond {k_mcse:g} MCSE ({bm:.2g})"
                if np.isfinite(bias)
                else "no estimate"
            )
        if not covers:
            why.append(
                f"coverage {cov:.1%} is not within {k_mcse:g} MCSE ({cm:.1%}) of {nominal:.0%}"
                if np.isfinite(cov)
                else "no interval"
            )
        rows.append(
            {
                "estimator": r["estimator"],
                "usable": fits and unbiased and covers,
                "unbiased": unbiased,
                "covers": covers,
                "fits": fits,
                "power": float(r["power"]),
                "why": "; ".join(why) if why else "unbiased and well covered",
                "_rmse": float(r.get("rmse", np.nan)),
            }
        )
    checks = pd.DataFrame(rows)
    rule = (
        f"usable = fails in at most {max_failure_rate:.0%} of simulations, bias within {k_mcse:g} "
        f"MCSE of zero and CI coverage within {k_mcse:g} MCSE of the nominal level; among usable "
        "estimators, the highest power (then the lowest RMSE)."
    )
    ok = checks[checks["usable"]]
    if ok.empty:
        reason = (
            "None passes the rule: "
            + "; ".join(f"{r.estimator}: {r.why}" for r in checks.itertuples(index=False))
            + "."
        )
        return Recommendation(None, rule, reason, checks[CHECK_COLUMNS])
    best = ok.sort_values(["power", "_rmse"], ascending=[False, True], kind="stable").iloc[0]
    others = [e for e in checks["estimator"] if e != best["estimator"]]
    reason = (
        f"{best['estimator']} is unbiased and well covered, with power {best['power']:.0%}"
        + (
            f", the highest of the usable estimators ({', '.join(ok['estimator'])})"
            if len(ok) > 1
            else ""
        )
        + "."
    )
    if others and len(ok) < len(checks):
        reason += (
            " Not usable: "
            + "; ".join(
                f"{r.estimator} ({r.why})"
                for r in checks[~checks["usable"]].itertuples(index=False)
            )
            + "."
        )
    return Recommendation(str(best["estimator"]), rule, reason, checks[CHECK_COLUMNS])
