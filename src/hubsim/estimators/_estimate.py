"""The result object every estimator returns."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

TIDY_COLUMNS = [
    "term",
    "estimate",
    "std_error",
    "statistic",
    "p_value",
    "conf_low",
    "conf_high",
    "df",
    "n_obs",
    "n_clusters",
    "method",
    "inference",
]


@dataclass(frozen=True)
class Estimate:
    """One estimated effect with its uncertainty.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, p_value : float
        Point estimate, standard error, confidence limits and two-sided p-value. ``se`` is
        NaN where the inference gives no standard error (e.g. randomization inference).
    n_obs, n_clusters : int
        Rows used and clusters (regions) used.
    method : str
        The estimator, e.g. ``"twfe"``.
    inference : str
        The inference actually used, e.g. ``"cr1"`` or ``"wild"``.
    inference_note : str
        Why that inference was used (chosen by ``"auto"`` or asked for).
    term : str
        The name of the coefficient.
    df : float
        Degrees of freedom of the reference distribution (NaN where none applies).
    extra : dict
        Estimator-specific results (event-study coefficients, weights, ...).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_obs: int
    n_clusters: int
    method: str
    inference: str
    inference_note: str = ""
    term: str = "att"
    df: float = math.nan
    alpha: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def statistic(self) -> float:
        """Estimate divided by its standard error (NaN without one)."""
        if not self.se or math.isnan(self.se):
            return math.nan
        return self.estimate / self.se

    def rejects(self, alpha: float | None = None) -> bool:
        """Whether the null of no effect is rejected at ``alpha`` (default: the fit's)."""
        a = self.alpha if alpha is None else alpha
        return bool(self.p_value < a)

    def covers(self, value: float) -> bool:
        """Whether the confidence interval contains ``value``."""
        return bool(self.ci_low <= value <= self.ci_high)

    def tidy(self) -> pd.DataFrame:
        """One row in DeclareDesign's column names."""
        row = {
            "term": self.term,
            "estimate": self.estimate,
            "std_error": self.se,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "conf_low": self.ci_low,
            "conf_high": self.ci_high,
            "df": self.df,
            "n_obs": self.n_obs,
            "n_clusters": self.n_clusters,
            "method": self.method,
            "inference": self.inference,
        }
        return pd.DataFrame([row], columns=TIDY_COLUMNS)

    def summary(self) -> str:
        """A short human-readable summary."""
        lvl = round(100 * (1 - self.alpha))
        txt = (
            f"{self.method} [{self.inference}] {self.term} = {self.estimate:.4g} "
            f"(SE {self.se:.3g}; {lvl}% CI {self.ci_low:.4g} to {self.ci_high:.4g}; "
            f"p = {self.p_value:.3g}; {self.n_clusters} clusters, {self.n_obs} rows)"
        )
        if self.inference_note:
            txt += f"\n  {self.inference_note}"
        return txt

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        return d


class EstimateView:
    """Mixin for result objects that carry a headline :class:`Estimate`.

    Subclasses implement :meth:`to_estimate`; the mixin exposes the headline's fields and
    tests, so code written for an ``Estimate`` (e.g. design diagnosis) accepts the richer
    result too.
    """

    def to_estimate(self) -> Estimate:  # pragma: no cover - implemented by subclasses
        raise NotImplementedError

    @property
    def estimate(self) -> float:
        return self.to_estimate().estimate

    @property
    def se(self) -> float:
        return self.to_estimate().se

    @property
    def ci_low(self) -> float:
        return self.to_estimate().ci_low

    @property
    def ci_high(self) -> float:
        return self.to_estimate().ci_high

    @property
    def p_value(self) -> float:
        return self.to_estimate().p_value

    @property
    def method(self) -> str:
        return self.to_estimate().method

    def rejects(self, alpha: float | None = None) -> bool:
        """Whether the headline test rejects no effect at ``alpha``."""
        return self.to_estimate().rejects(alpha)

    def covers(self, value: float) -> bool:
        """Whether the headline interval contains ``value``."""
        return self.to_estimate().covers(value)
