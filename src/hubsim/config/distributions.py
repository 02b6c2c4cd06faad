"""Probability distributions for durations, counts and waits in a configuration.

Each distribution is a small frozen pydantic model tagged by ``dist``. All are on the
non-negative half-line (they describe times and counts). Lognormal and gamma are given by
their mean and standard deviation on the natural scale, which is how service data report
them; the constructor checks the parameters are possible.

Examples
--------
>>> import numpy as np
>>> from hubsim.config.distributions import Lognormal
>>> d = Lognormal(dist="lognormal", mean=60.0, sd=15.0)
>>> round(d.mean, 6)
60.0
>>> float(d.sample(np.random.default_rng(0), 3).round(2)[0]) > 0
True
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def mean(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int | None = None):
        """Draw ``size`` values (a float when ``size`` is None)."""
        raise NotImplementedError  # pragma: no cover - overridden

    def ppf(self, u):
        """Quantile function at ``u`` in [0, 1) (an array): inverse-CDF sampling from
        uniforms, so a value can be addressed by the uniform a keyed stream gives it."""
        raise NotImplementedError  # pragma: no cover - overridden


class Fixed(_Dist):
    """Always ``value``."""

    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        return float(self.value)

    def sample(self, rng, size=None):
        return self.value if size is None else np.full(size, float(self.value))

    def ppf(self, u):
        return np.full(np.shape(u), float(self.value))


class Exponential(_Dist):
    """Exponential with the given ``mean``."""

    dist: Literal["exponential"] = "exponential"
    mean_: float = Field(alias="mean", gt=0)
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def mean(self) -> float:
        return float(self.mean_)

    def sample(self, rng, size=None):
        return rng.exponential(self.mean_, size)

    def ppf(self, u):
        return -self.mean_ * np.log1p(-np.asarray(u, dtype=float))


class _MeanSd(_Dist):
    mean_: float = Field(alias="mean", gt=0)
    sd: float = Field(gt=0)
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @property
    def mean(self) -> float:
        return float(self.mean_)


class Lognormal(_MeanSd):
    """Lognormal with natural-scale ``mean`` and ``sd``."""

    dist: Literal["lognormal"] = "lognormal"

    def _params(self) -> tuple[float, float]:
        s2 = math.log1p((self.sd / self.mean_) ** 2)
        return math.log(self.mean_) - s2 / 2, math.sqrt(s2)

    def sample(self, rng, size=None):
        mu, sigma = self._params()
        return rng.lognormal(mu, sigma, size)

    def ppf(self, u):
        from scipy.special import ndtri

        mu, sigma = self._params()
        return np.exp(mu + sigma * ndtri(np.asarray(u, dtype=float)))


class Gamma(_MeanSd):
    """Gamma with ``mean`` and ``sd`` (shape = (mean/sd)^2)."""

    dist: Literal["gamma"] = "gamma"

    def sample(self, rng, size=None):
        shape = (self.mean_ / self.sd) ** 2
        return rng.gamma(shape, self.mean_ / shape, size)

    def ppf(self, u):
        from scipy.special import gammaincinv

        shape = (self.mean_ / self.sd) ** 2
        return gammaincinv(shape, np.asarray(u, dtype=float)) * (self.mean_ / shape)


class Uniform(_Dist):
    """Uniform on [low, high]."""

    dist: Literal["uniform"] = "uniform"
    low: float = Field(ge=0)
    high: float

    @model_validator(mode="after")
    def _order(self):
        if not self.high > self.low:
            raise ValueError(f"expected high > low, got low={self.low} and high={self.high}")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng, size=None):
        return rng.uniform(self.low, self.high, size)

    def ppf(self, u):
        return self.low + np.asarray(u, dtype=float) * (self.high - self.low)


class Empirical(_Dist):
    """Resample ``values`` with optional ``weights``."""

    dist: Literal["empirical"] = "empirical"
    values: tuple[float, ...] = Field(min_length=1)
    weights: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _check(self):
        if any(v < 0 or not math.isfinite(v) for v in self.values):
            raise ValueError("expected finite non-negative values")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError(
                    f"expected as many weights as values, got {len(self.weights)} weights "
                    f"for {len(self.values)} values"
                )
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("expected non-negative weights with a positive sum")
        return self

    def _p(self):
        if self.weights is None:
            return None
        w = np.asarray(self.weights, dtype=float)
        return w / w.sum()

    @property
    def mean(self) -> float:
        p = self._p()
        v = np.asarray(self.values, dtype=float)
        return float(v.mean() if p is None else v @ p)

    def sample(self, rng, size=None):
        return rng.choice(np.asarray(self.values, dtype=float), size=size, p=self._p())

    def ppf(self, u):
        v = np.asarray(self.values, dtype=float)
        p = self._p()
        cum = np.cumsum(np.full(len(v), 1.0 / len(v)) if p is None else p)
        idx = np.searchsorted(cum, np.asarray(u, dtype=float), side="right")
        return v[np.minimum(idx, len(v) - 1)]


Distribution = Annotated[
    Fixed | Exponential | Lognormal | Gamma | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any of the distributions above, chosen by its ``dist`` tag."""

DIST_NAMES = ("fixed", "exponential", "lognormal", "gamma", "uniform", "empirical")
