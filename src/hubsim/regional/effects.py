"""Hub effects for a :class:`~hubsim.regional.RegionalDesign`.

An effect says how much the outcome of an exposed region-period changes (on the outcome
scale for continuous outcomes, on the link scale for binary ones). Four kinds:

- a plain number: the same effect in every exposed region-period;
- :class:`HeterogeneousEffect`: a fixed effect per region, drawn once from
  ``Normal(mean, sd)`` with the effect's own seed (so the design, and its estimand, are
  deterministic);
- :class:`DynamicEffect`: the effect depends on periods since opening (event time
  0, 1, 2, ...), given as a profile whose last value holds thereafter, or built as a ramp;
- :class:`ExternalEffect`: supplied from outside, either as a (region x period) array or as
  a function of (region, period, event time) arrays. This is the hook through which
  results of the hub simulation (DES) feed the design.

Effects apply only where a region is exposed (after opening and before any closure).

Examples
--------
>>> [round(v, 12) for v in DynamicEffect.ramp(full=0.3, periods=3).profile]
[0.1, 0.2, 0.3]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, field_validator, model_validator


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class HeterogeneousEffect(_Frozen):
    """A region-specific effect ``mean + sd * z_r``, with ``z_r`` standard normal draws.

    Parameters
    ----------
    mean, sd : float
        Mean and standard deviation of the region effects.
    seed : int
        Seed of the draws (part of the design, so every simulation shares the effects).

    Examples
    --------
    >>> e = HeterogeneousEffect(mean=0.2, sd=0.1, seed=3)
    >>> e.region_values(4).shape
    (4,)
    """

    kind: Literal["heterogeneous"] = "heterogeneous"
    mean: float
    sd: float
    seed: int = 0

    @field_validator("sd")
    @classmethod
    def _sd(cls, v: float) -> float:
        if not v >= 0:
            raise ValueError(f"effect sd must be non-negative, got {v}.")
        return v

    def region_values(self, n_regions: int) -> np.ndarray:
        """The per-region effects (length ``n_regions``), fixed by ``seed``."""
        z = np.random.default_rng(self.seed).standard_normal(n_regions)
        return self.mean + self.sd * z


class DynamicEffect(_Frozen):
    """An effect by periods since opening.

    Parameters
    ----------
    profile : tuple of float
        Effect at event time 0, 1, 2, ...; the last value holds for later event times.

    Examples
    --------
    >>> DynamicEffect(profile=(0.0, 0.1, 0.2)).at(np.array([0, 1, 5]))
    array([0. , 0.1, 0.2])
    """

    kind: Literal["dynamic"] = "dynamic"
    profile: tuple[float, ...]

    @field_validator("profile")
    @classmethod
    def _profile(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) == 0:
            raise ValueError("effect profile must have at least one value (event time 0).")
        if not all(np.isfinite(v)):
            raise ValueError("effect profile values must be finite numbers.")
        return v

    @classmethod
    def ramp(cls, full: float, periods: int) -> DynamicEffect:
        """Linear ramp reaching ``full`` after ``periods`` periods (``full/periods`` at event time 0)."""
        if not (isinstance(periods, int) and periods >= 1):
            raise ValueError(f"ramp periods must be a positive integer, got {periods!r}.")
        return cls(profile=tuple(float(full) * (k + 1) / periods for k in range(periods)))

    def at(self, event_time: np.ndarray) -> np.ndarray:
        """Effect at the given (non-negative integer) event times."""
        prof = np.asarray(self.profile, dtype=float)
        k = np.clip(np.asarray(event_time, dtype=np.int64), 0, len(prof) - 1)
        return prof[k]


class ExternalEffect(_Frozen):
    """An effect supplied from outside (e.g. derived from hub simulations).

    Give exactly one of

    values : array-like, shape (n_regions, n_periods)
        Effect of region r in period t (used where the region is exposed).
    fn : callable
        ``fn(region, period, event_time) -> array`` on equal-length integer arrays
        (region 0-based, period 1-based, event time = period - adoption period).
    source : str
        Where the numbers come from (kept for reports).

    Examples
    --------
    >>> e = ExternalEffect(values=np.full((3, 4), 0.1), source="test")
    >>> e.grid(3, 4).sum().round(6)
    np.float64(1.2)
    """

    kind: Literal["external"] = "external"
    values: tuple[tuple[float, ...], ...] | None = None
    fn: Callable[..., Any] | None = None
    source: str = ""

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v: Any) -> Any:
        if v is None:
            return v
        a = np.asarray(v, dtype=float)
        if a.ndim != 2:
            raise ValueError(
                f"external effect values must be a (regions x periods) array, got shape {a.shape}."
            )
        if not np.all(np.isfinite(a)):
            raise ValueError("external effect values must be finite numbers.")
        return tuple(tuple(float(x) for x in row) for row in a)

    @model_validator(mode="after")
    def _one(self) -> ExternalEffect:
        if (self.values is None) == (self.fn is None):
            raise ValueError(
                "external effect needs exactly one of values= (array) or fn= (callable)."
            )
        return self

    def grid(
        self, n_regions: int, n_periods: int, adoption: np.ndarray | None = None
    ) -> np.ndarray:
        """The (n_regions x n_periods) effect grid."""
        if self.values is not None:
            a = np.asarray(self.values, dtype=float)
            if a.shape != (n_regions, n_periods):
                raise ValueError(
                    f"external effect values have shape {a.shape}, expected ({n_regions}, {n_periods})."
                )
            return a
        region = np.repeat(np.arange(n_regions), n_periods)
        period = np.tile(np.arange(1, n_periods + 1), n_regions)
        adopt = np.zeros(n_regions) if adoption is None else np.nan_to_num(adoption, nan=0.0)
        event = period - adopt[region]
        out = np.asarray(self.fn(region, period, event), dtype=float)
        if out.shape != region.shape or not np.all(np.isfinite(out)):
            raise ValueError(
                f"external effect fn must return {region.size} finite numbers (one per region-period)."
            )
        return out.reshape(n_regions, n_periods)
