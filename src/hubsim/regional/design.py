"""The regional (hub vs no-hub) data-generating design.

A :class:`RegionalDesign` declares what a naturalistic evaluation would observe: regions
and their staff populations, which regions open a hub and when (staggered, optional
closures), periods, the population measured and its sample size per region-period, the
outcome scale, the variance components (ICC, common period shocks, AR(1) region-period
shocks) and the hub effect. ``simulate(rng)`` draws one data set; ``estimand()`` gives
the true values the estimators target.

Model (continuous outcome, individual i in region r, period t)::

    y_irt = mean + u_r + v_t + a_rt + tau_rt * exposed_rt + e_irt
    u_r ~ N(0, icc * sd^2),  e_irt ~ N(0, (1 - icc) * sd^2),  v_t ~ N(0, period_sd^2)
    a_rt = ar_rho * a_r,t-1 + N(0, ar_sd^2 (1 - ar_rho^2)),  a_r1 ~ N(0, ar_sd^2)

so the ICC is the share of region variance in the individual-level variance ``sd^2``
and ``ar_sd`` is the stationary SD of the AR(1) shocks. A cell mean of n individuals is
drawn from its exact distribution, ``N(mean_rt, (1 - icc) sd^2 / n)``. For a binary
outcome the same terms act on the link scale (``u_r`` variance ``icc/(1-icc)`` times the
link's residual variance, pi^2/3 for logit and 1 for probit); the intercept is solved so
that the marginal prevalence equals ``prevalence``; cells are binomial, individuals
Bernoulli; the hub effect is on the link scale (a log odds ratio for logit) and the
estimand on the probability scale (a risk difference).

Periods are labelled 1..n_periods; regions 0..n_regions-1. ``cohort`` is the adoption
period (0 for never treated), ``event_time`` is period minus adoption (NaN for never).

Defaults come from ``docs/calibration.md``: ICC 0.02 (§7 ICC; Martinson 1999,
Bhaskarapillai 2023), prevalence 0.273 (§2 Lamb 2021 NHS CHECK, PHQ-9 depression), uptake
1% of staff a year for help-seekers (§7 Annual self-referral/screening uptake). Continuous outcomes default to a
standardised scale (mean 0, SD 1), so effects are standardised mean differences. Period
and AR(1) shocks default to 0: no calibrated value exists; set them for sensitivity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from scipy import optimize, special, stats

from hubsim.regional.effects import DynamicEffect, ExternalEffect, HeterogeneousEffect

TABLE2_POPULATIONS = (126000, 165000, 129000, 180000)
TABLE2_SOURCE = "Allsopp 2024 Table 2"

@dataclass(frozen=True)
class PanelColumns:
    """What each column of a simulated regional panel holds, by role.

    Estimator adapters (:data:`hubsim.power.ESTIMATORS`) read a design's panel through
    these names, so a design that names its columns otherwise declares them once here.

    Attributes
    ----------
    unit, time : str
        Region and period labels.
    population : str
        Staff in scope in the region.
    treated : str
        1 when the region-period is exposed to an open hub.
    cohort : str
        Adoption period (0 for never treated).
    event_time : str
        Period minus adoption (NaN for never treated).
    size : str
        Individuals measured in the cell (cell means are weighted by it).
    true_effect : str
        The effect in the cell (what the estimand averages).
    outcome : str
        The measured outcome (the cell mean, or the individual's value).
    cluster : str, optional
        The cluster column when units nest in larger clusters (region x staff-group
        units in regions); None when the unit is the cluster.
    group : str, optional
        The staff-group column of a staff-group design (None otherwise).
    """

    unit: str = "region"
    time: str = "period"
    population: str = "population"
    treated: str = "treated"
    cohort: str = "cohort"
    event_time: str = "event_time"
    size: str = "n"
    true_effect: str = "true_effect"
    outcome: str = "y"
    cluster: str | None = None
    group: str | None = None


#: The columns :class:`RegionalDesign` simulates.
PANEL_COLUMNS = PanelColumns()
CELL_COLUMNS = [
    PANEL_COLUMNS.unit,
    PANEL_COLUMNS.time,
    PANEL_COLUMNS.population,
    PANEL_COLUMNS.treated,
    PANEL_COLUMNS.cohort,
    PANEL_COLUMNS.event_time,
    PANEL_COLUMNS.size,
    PANEL_COLUMNS.true_effect,
    PANEL_COLUMNS.outcome,
]
INDIVIDUAL_COLUMNS = ["id", *CELL_COLUMNS]
#: The columns of a staff-group design's panel: one row per region, staff group and
#: period; ``unit`` numbers the region x staff-group pairs.
GROUP_PANEL_COLUMNS = PanelColumns(unit="unit", cluster="region", group="staff_group")
GROUP_CELL_COLUMNS = ["region", "staff_group", "unit", *CELL_COLUMNS[1:]]
GROUP_INDIVIDUAL_COLUMNS = ["id", *GROUP_CELL_COLUMNS]
ESTIMAND_COLUMNS = ["estimand", "event_time", "value", "n_cells"]

_DEFAULT_N = {"staff_survey": 200}
_GH_X, _GH_W = special.roots_hermitenorm(80)
_GH_W = _GH_W / math.sqrt(2 * math.pi)

Effect = float | HeterogeneousEffect | DynamicEffect | ExternalEffect


def _exact_mean(x: np.ndarray, w: np.ndarray | None = None) -> float:
    """(Weighted) mean, shifted by the first value so that equal values give it exactly."""
    x0 = float(x[0])
    d = x - x0
    return x0 + float(d.mean() if w is None else (w @ d) / w.sum())


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy Generator or a non-negative integer seed, got {rng!r}.")


@dataclass(frozen=True)
class Estimand:
    """True values the estimators target.

    Attributes
    ----------
    att : float
        Mean effect over exposed region-periods (each cell counts once).
    att_n_weighted : float
        Mean effect over exposed individuals (cells weighted by their n).
    dynamic : pandas.DataFrame
        ``event_time``, ``value`` (mean effect over exposed cells at that event time),
        ``n_cells``, ``value_n_weighted`` (the mean over exposed individuals) and
        ``n_exposed`` (their number).
    scale : str
        ``"outcome"`` (continuous) or ``"probability"`` (binary: risk difference).
    by_group : pandas.DataFrame or None
        For a staff-group design: ``staff_group``, ``value`` (mean effect over the group's
        exposed cells), ``value_n_weighted`` and ``n_cells``.
    """

    att: float
    att_n_weighted: float
    dynamic: pd.DataFrame
    scale: str
    by_group: pd.DataFrame | None = None

    def event_window_mean(self, first: int = 0, last: int = 4) -> float:
        """Mean over event times ``first..last`` of the n-weighted effect at each event time.

        The last event time pools every later one (as an event study's binned endpoint
        does), weighting them by their exposed individuals. This is what an event study's
        post-period average (coefficients 0..lags) targets.

        Examples
        --------
        >>> from hubsim.regional import DynamicEffect
        >>> d = RegionalDesign(n_regions=4, n_periods=8, n_treated=2, schedule=(3,),
        ...                    effect=DynamicEffect(profile=(0.0, 1.0, 2.0)))
        >>> d.estimand().event_window_mean(0, 2)
        1.0
        """
        dyn = self.dynamic
        e = dyn["event_time"].to_numpy()
        v = dyn["value_n_weighted"].to_numpy(dtype=float)
        w = dyn["n_exposed"].to_numpy(dtype=float)
        vals = []
        for k in range(int(first), int(last) + 1):
            sel = (e >= k) if k == last else (e == k)
            if not sel.any():
                raise ValueError(f"the design has no exposed region-period at event time {k}.")
            vals.append(float((v[sel] * w[sel]).sum() / w[sel].sum()))
        return float(np.mean(vals))

    def tidy(self) -> pd.DataFrame:
        """One row per estimand (``ESTIMAND_COLUMNS``)."""
        n_exposed = int(self.dynamic["n_cells"].sum())
        head = pd.DataFrame(
            {
                "estimand": ["att", "att_n_weighted"],
                "event_time": [np.nan, np.nan],
                "value": [self.att, self.att_n_weighted],
                "n_cells": [n_exposed, n_exposed],
            }
        )
        dyn = self.dynamic.assign(estimand=[f"e{int(k):+d}" for k in self.dynamic["event_time"]])
        parts = [head, dyn[ESTIMAND_COLUMNS]]
        if self.by_group is not None:
            g = self.by_group
            parts.append(
                pd.DataFrame(
                    {
                        "estimand": [f"att_group={x}" for x in g["staff_group"]],
                        "event_time": np.nan,
                        "value": g["value"].to_numpy(),
                        "n_cells": g["n_cells"].to_numpy(),
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)

    def summary(self) -> str:
        """A short human-readable summary."""
        return (
            f"ATT {self.att:.4g} ({self.scale} scale) over {int(self.dynamic['n_cells'].sum())} "
            f"exposed region-periods; n-weighted {self.att_n_weighted:.4g}"
        )


class RegionalDesign(BaseModel):
    """A hub vs no-hub regional evaluation design (frozen, validated).

    Parameters
    ----------
    n_regions : int
        Number of regions (clusters), e.g. about 42 integrated care systems.
    populations : tuple of float, optional
        In-scope staff per region; default Table 2's sizes (126,000, 165,000, 129,000,
        180,000) recycled over the regions.
    populations_source : str
    n_periods : int
    period_unit : {"month", "wave"}
    periods_per_year : float, optional
        Default 12 for months, 1 for waves (used for help-seeker sample sizes).
    adoption : tuple of (int or None), optional
        Adoption period (2..n_periods) per region, None for never. Exclusive with
        ``n_treated``/``schedule``.
    n_treated : int, optional
        Number of treated regions (the first ones); default half the regions.
    schedule : tuple of int, optional
        Adoption periods recycled over the treated regions (staggered); default up to 4
        cohorts spread over the middle half of the periods.
    closures : tuple of (int or None), optional
        Period from which a region's hub is closed (exposure ends), per region.
    population_kind : {"staff_survey", "help_seeker_cohort", "service_waits"}
        Staff survey: a repeated cross-section of staff (default 200 per region-period).
        Help-seeker cohort and service waits: the people who seek help in the period,
        by default ``uptake_per_year`` of the staff population per year.
    n_per_cell : int or tuple of int, optional
        Sample size per region-period (one number, or one per region).
    uptake_per_year : float
        Share of staff seeking help per year (calibration.md section 7: 1%).
    outcome : {"continuous", "binary"}
    mean, sd : float
        Continuous outcome mean and individual-level SD (default standardised 0, 1).
    prevalence : float
        Binary: marginal baseline prevalence (default 0.273, PHQ-9 >= 10 in NHS CHECK).
    link : {"logit", "probit"}
    icc : float
        Intra-region correlation in [0, 1) (default 0.02, calibration.md section 7).
    period_sd : float
        SD of common period shocks (pandemic waves).
    ar_rho, ar_sd : float
        AR(1) coefficient and stationary SD of region-period shocks.
    effect : float, HeterogeneousEffect, DynamicEffect or ExternalEffect
        The hub effect on exposed region-periods.
    level : {"cell", "individual"}
        ``simulate`` returns region-period cell means or individual rows.
    staff_groups : tuple of str, optional
        Staff groups measured separately in each region (e.g. the paper's critical care,
        other NHS, social care and non-NHS emergency services). With them the panel has
        one row per region, staff group and period (:data:`GROUP_CELL_COLUMNS`), and a
        region's hub can open to its groups at different times (``group_phasing``).
    group_shares : tuple of float, optional
        Each group's share of the region's sample (default equal); cell sizes are the
        region's size times the share (at least 1).
    group_phasing : tuple of tuple of (int or None), optional
        Opening patterns: per pattern, each group's delay in periods after the region's
        hub opens (None: the group is never in scope). Patterns are recycled over the
        treated regions like ``schedule``; default every group at opening.
    group_effects : tuple of float, optional
        The effect's multiplier in each group (effects by staff group; default 1).
    group_sd : float
        SD of region x staff-group effects (persistent differences between a region's
        groups).

    Examples
    --------
    >>> import numpy as np
    >>> d = RegionalDesign(n_regions=8, n_periods=6, n_treated=4, schedule=(3, 4), effect=0.2)
    >>> df = d.simulate(np.random.default_rng(1))
    >>> df.shape
    (48, 9)
    >>> d.estimand().att
    0.2
    >>> d.replace(icc=0.05).icc
    0.05
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    n_regions: int = 40
    populations: tuple[float, ...] | None = None
    populations_source: str = TABLE2_SOURCE
    n_periods: int = 24
    period_unit: Literal["month", "wave"] = "month"
    periods_per_year: float | None = None
    adoption: tuple[int | None, ...] | None = None
    n_treated: int | None = None
    schedule: tuple[int, ...] | None = None
    closures: tuple[int | None, ...] | None = None
    population_kind: Literal["staff_survey", "help_seeker_cohort", "service_waits"] = "staff_survey"
    n_per_cell: int | tuple[int, ...] | None = None
    uptake_per_year: float = 0.01
    outcome: Literal["continuous", "binary"] = "continuous"
    mean: float = 0.0
    sd: float = 1.0
    prevalence: float = 0.273
    link: Literal["logit", "probit"] = "logit"
    icc: float = 0.02
    period_sd: float = 0.0
    ar_rho: float = 0.0
    ar_sd: float = 0.0
    effect: Effect = 0.0
    level: Literal["cell", "individual"] = "cell"
    staff_groups: tuple[str, ...] | None = None
    group_shares: tuple[float, ...] | None = None
    group_phasing: tuple[tuple[int | None, ...], ...] | None = None
    group_effects: tuple[float, ...] | None = None
    group_sd: float = 0.0

    @property
    def columns(self) -> PanelColumns:
        """The roles of the simulated panel's columns (:data:`PANEL_COLUMNS`, or
        :data:`GROUP_PANEL_COLUMNS` for a staff-group design)."""
        return GROUP_PANEL_COLUMNS if self.staff_groups else PANEL_COLUMNS

    @property
    def n_groups(self) -> int:
        """Staff groups per region (1 without staff groups)."""
        return len(self.staff_groups) if self.staff_groups else 1

    # ---- validation ------------------------------------------------------------------

    @field_validator("n_regions", "n_periods")
    @classmethod
    def _at_least_two(cls, v: int, info: Any) -> int:
        if v < 2:
            raise ValueError(f"{info.field_name} must be at least 2, got {v}.")
        return v

    @field_validator("icc")
    @classmethod
    def _icc(cls, v: float) -> float:
        if not 0 <= v < 1:
            raise ValueError(f"icc must be in [0, 1), got {v}.")
        return v

    @field_validator("sd")
    @classmethod
    def _sd(cls, v: float) -> float:
        if not v > 0:
            raise ValueError(f"sd must be positive, got {v}.")
        return v

    @field_validator("period_sd", "ar_sd", "group_sd")
    @classmethod
    def _nonneg(cls, v: float, info: Any) -> float:
        if not v >= 0:
            raise ValueError(f"{info.field_name} must be non-negative, got {v}.")
        return v

    @field_validator("ar_rho")
    @classmethod
    def _rho(cls, v: float) -> float:
        if not -1 < v < 1:
            raise ValueError(f"ar_rho must be in (-1, 1), got {v}.")
        return v

    @field_validator("prevalence")
    @classmethod
    def _prev(cls, v: float) -> float:
        if not 0 < v < 1:
            raise ValueError(f"prevalence must be in (0, 1), got {v}.")
        return v

    @field_validator("uptake_per_year")
    @classmethod
    def _uptake(cls, v: float) -> float:
        if not 0 < v <= 1:
            raise ValueError(f"uptake_per_year must be in (0, 1], got {v}.")
        return v

    @field_validator("periods_per_year")
    @classmethod
    def _ppy(cls, v: float | None) -> float | None:
        if v is not None and not v > 0:
            raise ValueError(f"periods_per_year must be positive, got {v}.")
        return v

    @field_validator("effect")
    @classmethod
    def _effect(cls, v: Effect) -> Effect:
        if isinstance(v, float | int) and not math.isfinite(v):
            raise ValueError(f"effect must be a finite number, got {v}.")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> RegionalDesign:
        R, T = self.n_regions, self.n_periods
        if self.populations is not None:
            if len(self.populations) != R:
                raise ValueError(
                    f"populations has {len(self.populations)} values but there are {R} regions."
                )
            if not all(p > 0 for p in self.populations):
                raise ValueError("populations must all be positive.")
        if self.adoption is not None:
            if self.n_treated is not None or self.schedule is not None:
                raise ValueError(
                    "give either adoption (one period per region) or n_treated/schedule, not both."
                )
            if len(self.adoption) != R:
                raise ValueError(
                    f"adoption has {len(self.adoption)} entries but there are {R} regions."
                )
            for a in self.adoption:
                if a is not None and not 2 <= a <= T:
                    raise ValueError(
                        f"adoption period {a} is outside 2..{T} (period 1 leaves no pre-period)."
                    )
            if all(a is None for a in self.adoption):
                raise ValueError("adoption must give at least one region a hub.")
        else:
            if self.n_treated is not None and not 1 <= self.n_treated <= R:
                raise ValueError(
                    f"n_treated must be between 1 and the number of regions ({R}), got {self.n_treated}."
                )
            if self.schedule is not None:
                if len(self.schedule) == 0:
                    raise ValueError("schedule must list at least one adoption period.")
                for a in self.schedule:
                    if not 2 <= a <= T:
                        raise ValueError(
                            f"schedule period {a} is outside 2..{T} (period 1 leaves no pre-period)."
                        )
        adopt = self._adoption_array()
        if self.closures is not None:
            if len(self.closures) != R:
                raise ValueError(
                    f"closures has {len(self.closures)} entries but there are {R} regions."
                )
            for r, c in enumerate(self.closures):
                if c is None:
                    continue
                if np.isnan(adopt[r]):
                    raise ValueError(f"region {r} has a closure period but never adopts a hub.")
                if not adopt[r] < c <= T:
                    raise ValueError(
                        f"closure period {c} of region {r} must be after its adoption ({int(adopt[r])}) and at most {T}."
                    )
        if isinstance(self.n_per_cell, int):
            if self.n_per_cell < 1:
                raise ValueError(f"n_per_cell must be at least 1, got {self.n_per_cell}.")
        elif self.n_per_cell is not None:
            if len(self.n_per_cell) != R:
                raise ValueError(
                    f"n_per_cell has {len(self.n_per_cell)} values but there are {R} regions."
                )
            if min(self.n_per_cell) < 1:
                raise ValueError(
                    f"n_per_cell values must be at least 1, got {min(self.n_per_cell)}."
                )
        if isinstance(self.effect, ExternalEffect):
            self.effect.grid(R, T, adopt)  # shape and finiteness checked now, not mid-simulation
        self._check_groups()
        return self

    def _check_groups(self) -> None:
        extras = {
            "group_shares": self.group_shares,
            "group_phasing": self.group_phasing,
            "group_effects": self.group_effects,
        }
        if not self.staff_groups:
            given = [k for k, v in extras.items() if v is not None]
            if given or self.group_sd:
                raise ValueError(
                    f"{(given or ['group_sd'])[0]} needs staff_groups (the staff groups measured "
                    "in each region)."
                )
            return
        k = len(self.staff_groups)
        if len(set(self.staff_groups)) != k:
            raise ValueError("staff_groups must be distinct names.")
        for name in ("group_shares", "group_effects"):
            v = extras[name]
            if v is not None and len(v) != k:
                raise ValueError(f"{name} has {len(v)} values but there are {k} staff groups.")
        if self.group_shares is not None:
            if not all(x > 0 for x in self.group_shares):
                raise ValueError("group_shares must all be positive.")
            if abs(sum(self.group_shares) - 1.0) > 1e-6:
                raise ValueError(
                    f"group_shares must add up to 1, got {sum(self.group_shares):.6g}."
                )
        if self.group_effects is not None and not all(math.isfinite(x) for x in self.group_effects):
            raise ValueError("group_effects must be finite numbers.")
        if self.group_phasing is not None:
            if len(self.group_phasing) == 0:
                raise ValueError("group_phasing must list at least one opening pattern.")
            for i, pat in enumerate(self.group_phasing):
                if len(pat) != k:
                    raise ValueError(
                        f"group_phasing pattern {i} has {len(pat)} delays but there are {k} "
                        "staff groups."
                    )
                if all(d is None for d in pat):
                    raise ValueError(
                        f"group_phasing pattern {i} opens to no staff group; give at least one delay."
                    )
                if any(d is not None and d < 0 for d in pat):
                    raise ValueError(f"group_phasing pattern {i} has a negative delay.")

    # ---- derived layout ----------------------------------------------------------------

    def _adoption_array(self) -> np.ndarray:
        R, T = self.n_regions, self.n_periods
        if self.adoption is not None:
            return np.array([np.nan if a is None else float(a) for a in self.adoption])
        n_tr = self.n_treated if self.n_treated is not None else R // 2
        if self.schedule is not None:
            sched = np.asarray(self.schedule, dtype=float)
        else:
            lo = max(2, T // 4 + 1)
            hi = max(lo, (3 * T) // 4)
            sched = np.unique(np.round(np.linspace(lo, hi, min(4, n_tr))))
        out = np.full(R, np.nan)
        out[:n_tr] = sched[np.arange(n_tr) % len(sched)]
        return out

    def _unit_offsets(self, adopt: np.ndarray) -> np.ndarray:
        """Delay of each region's staff groups after its opening (R x groups; NaN never)."""
        R, k = self.n_regions, self.n_groups
        off = np.zeros((R, k))
        if not self.staff_groups or self.group_phasing is None:
            return off
        pats = np.array(
            [[np.nan if d is None else float(d) for d in p] for p in self.group_phasing]
        )
        treated = np.flatnonzero(~np.isnan(adopt))
        off[treated] = pats[np.arange(len(treated)) % len(pats)]
        return off

    @cached_property
    def _layout(self) -> dict[str, np.ndarray]:
        """Unit x period arrays (units: regions, or region x staff-group pairs)."""
        R, T, k = self.n_regions, self.n_periods, self.n_groups
        adopt = self._adoption_array()
        close = np.full(R, np.inf)
        if self.closures is not None:
            close = np.array([np.inf if c is None else float(c) for c in self.closures])
        pops = (
            np.asarray(self.populations, dtype=float)
            if self.populations is not None
            else np.asarray(TABLE2_POPULATIONS, dtype=float)[np.arange(R) % 4]
        )
        period = np.arange(1, T + 1, dtype=float)
        region = np.repeat(np.arange(R), k)
        group = np.tile(np.arange(k), R)
        unit_adopt = adopt[region] + self._unit_offsets(adopt).ravel()
        # a group opening after the panel ends is never treated within it
        unit_adopt = np.where(unit_adopt > T, np.nan, unit_adopt)
        event = period[None, :] - unit_adopt[:, None]  # NaN for never treated
        exposed = (event >= 0) & (period[None, :] < close[region][:, None])
        n = self._n_matrix(pops)
        tau = np.where(exposed, self._effect_grid(adopt, unit_adopt, event, region, group), 0.0)
        return {
            "adopt": adopt,
            "unit_adopt": unit_adopt,
            "close": close,
            "pops": pops,
            "event": event,
            "exposed": exposed,
            "n": n,
            "tau": tau,
            "region": region,
            "group": group,
        }

    def _n_matrix(self, pops: np.ndarray) -> np.ndarray:
        R, T, k = self.n_regions, self.n_periods, self.n_groups
        if isinstance(self.n_per_cell, int):
            per_region = np.full(R, self.n_per_cell)
        elif self.n_per_cell is not None:
            per_region = np.asarray(self.n_per_cell)
        elif self.population_kind == "staff_survey":
            per_region = np.full(R, _DEFAULT_N["staff_survey"])
        else:
            ppy = self.periods_per_year or (12.0 if self.period_unit == "month" else 1.0)
            per_region = np.maximum(1, np.round(pops * self.uptake_per_year / ppy)).astype(int)
        if self.staff_groups:
            share = (
                np.asarray(self.group_shares, dtype=float)
                if self.group_shares is not None
                else np.full(k, 1.0 / k)
            )
            per_unit = np.maximum(1, np.round(np.outer(per_region, share))).astype(np.int64).ravel()
        else:
            per_unit = per_region.astype(np.int64)
        return np.repeat(per_unit[:, None], T, axis=1)

    def _effect_grid(
        self,
        adopt: np.ndarray,
        unit_adopt: np.ndarray,
        event: np.ndarray,
        region: np.ndarray,
        group: np.ndarray,
    ) -> np.ndarray:
        R, T = self.n_regions, self.n_periods
        e = self.effect
        if isinstance(e, HeterogeneousEffect):
            out = np.repeat(e.region_values(R)[region][:, None], T, axis=1)
        elif isinstance(e, DynamicEffect):
            out = e.at(np.nan_to_num(event, nan=0.0))
        elif isinstance(e, ExternalEffect):
            if self.staff_groups and e.fn is not None:
                # event time relative to each staff group's own opening
                reg = np.repeat(region, T)
                per = np.tile(np.arange(1, T + 1), len(region))
                ev = per - np.nan_to_num(unit_adopt, nan=0.0)[np.repeat(np.arange(len(region)), T)]
                out = np.asarray(e.fn(reg, per, ev), dtype=float).reshape(len(region), T)
            else:
                out = e.grid(R, T, adopt)[region]
        else:
            out = np.full((len(region), T), float(e))
        if self.staff_groups and self.group_effects is not None:
            out = out * np.asarray(self.group_effects, dtype=float)[group][:, None]
        return out

    @cached_property
    def _variance(self) -> dict[str, float]:
        if self.outcome == "continuous":
            s_e2 = (1 - self.icc) * self.sd**2
            return {
                "region_sd": math.sqrt(self.icc) * self.sd,
                "noise_sd": math.sqrt(s_e2),
                "intercept": self.mean,
            }
        s_link2 = math.pi**2 / 3 if self.link == "logit" else 1.0
        s_u = math.sqrt(self.icc / (1 - self.icc) * s_link2)
        s_tot = math.sqrt(s_u**2 + self.period_sd**2 + self.ar_sd**2)
        if self.link == "probit":
            alpha = stats.norm.ppf(self.prevalence) * math.sqrt(1 + s_tot**2)
        else:
            alpha = optimize.brentq(
                lambda a: float(_GH_W @ special.expit(a + s_tot * _GH_X)) - self.prevalence,
                -50,
                50,
                xtol=1e-14,
            )
        return {"region_sd": s_u, "noise_sd": math.nan, "intercept": alpha, "latent_sd": s_tot}

    def _invlink(self, z: np.ndarray) -> np.ndarray:
        return special.expit(z) if self.link == "logit" else stats.norm.cdf(z)

    # ---- public API --------------------------------------------------------------------

    def replace(self, **changes: Any) -> RegionalDesign:
        """A new, validated design with some fields changed.

        Examples
        --------
        >>> RegionalDesign(n_regions=10).replace(n_regions=20).n_regions
        20
        """
        unknown = sorted(set(changes) - set(type(self).model_fields))
        if unknown:
            raise ValueError(f"RegionalDesign has no field {unknown[0]!r}.")
        fields = {k: getattr(self, k) for k in type(self).model_fields}
        return type(self)(**{**fields, **changes})

    def cells(self) -> pd.DataFrame:
        """The layout without outcomes (``CELL_COLUMNS`` minus ``y``; for a staff-group
        design ``GROUP_CELL_COLUMNS`` minus ``y``, one row per region, group and period)."""
        return self._cells_frame.copy()

    @cached_property
    def _cells_frame(self) -> pd.DataFrame:
        L = self._layout
        T = self.n_periods
        U = len(L["region"])
        adopt = L["unit_adopt"]
        frame = pd.DataFrame(
            {
                "region": np.repeat(L["region"], T),
                "period": np.tile(np.arange(1, T + 1), U),
                "population": np.repeat(L["pops"][L["region"]], T),
                "treated": L["exposed"].ravel().astype(np.int64),
                "cohort": np.repeat(np.nan_to_num(adopt, nan=0.0).astype(np.int64), T),
                "event_time": L["event"].ravel(),
                "n": L["n"].ravel(),
                "true_effect": L["tau"].ravel(),
            }
        )
        if self.staff_groups:
            names = np.asarray(self.staff_groups, dtype=object)
            frame.insert(1, "staff_group", np.repeat(names[L["group"]], T))
            frame.insert(2, "unit", np.repeat(np.arange(U), T))
        return frame

    def _latent(self, rng: np.random.Generator, n_sims: int) -> np.ndarray:
        """Cell-level latent means (units x T x S) before sampling noise."""
        R, T = self.n_regions, self.n_periods
        V = self._variance
        u = rng.standard_normal((R, 1, n_sims)) * V["region_sd"]
        v = rng.standard_normal((1, T, n_sims)) * self.period_sd
        a = np.zeros((R, T, n_sims))
        if self.ar_sd > 0:
            innov = rng.standard_normal((R, T, n_sims))
            a[:, 0] = innov[:, 0] * self.ar_sd
            s_in = self.ar_sd * math.sqrt(1 - self.ar_rho**2)
            for t in range(1, T):
                a[:, t] = self.ar_rho * a[:, t - 1] + s_in * innov[:, t]
        region = self._layout["region"]
        out = V["intercept"] + (u + v + a)[region] + self._layout["tau"][:, :, None]
        if self.staff_groups and self.group_sd > 0:
            out = out + rng.standard_normal((len(region), 1, n_sims)) * self.group_sd
        return out

    def simulate_many(
        self, rng: np.random.Generator | int, n_sims: int
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Many cell-level data sets at once: the layout and a (cells x n_sims) matrix of y.

        Column ``s`` of the matrix is distributed exactly as ``simulate``'s ``y`` at
        cell level; rows follow ``cells()`` (region-major). Intended for vectorised
        power calculations.

        Examples
        --------
        >>> cells, Y = RegionalDesign(n_regions=4, n_periods=3, n_treated=2).simulate_many(0, 5)
        >>> Y.shape
        (12, 5)
        """
        rng = _rng(rng)
        if not (isinstance(n_sims, int | np.integer) and n_sims >= 1):
            raise ValueError(f"n_sims must be a positive integer, got {n_sims!r}.")
        latent = self._latent(rng, int(n_sims))
        n = self._layout["n"][:, :, None]
        if self.outcome == "continuous":
            y = latent + rng.standard_normal(latent.shape) * (
                self._variance["noise_sd"] / np.sqrt(n)
            )
        else:
            p = self._invlink(latent)
            y = rng.binomial(np.broadcast_to(n, p.shape), p) / n
        return self.cells(), y.reshape(latent.shape[0] * self.n_periods, int(n_sims))

    def simulate(self, rng: np.random.Generator | int) -> pd.DataFrame:
        """One simulated data set (cells or individual rows, per ``level``).

        Parameters
        ----------
        rng : numpy.random.Generator or int

        Returns
        -------
        pandas.DataFrame
            ``CELL_COLUMNS`` (``y`` the cell mean) or ``INDIVIDUAL_COLUMNS`` (``y`` the
            individual outcome; ``n`` the size of the individual's cell).
        """
        rng = _rng(rng)
        if self.level == "cell":
            cells, Y = self.simulate_many(rng, 1)
            cells["y"] = Y[:, 0]
            return cells
        latent = self._latent(rng, 1)[:, :, 0].ravel()
        cells = self.cells()
        n = cells["n"].to_numpy()
        idx = np.repeat(np.arange(len(cells)), n)
        if self.outcome == "continuous":
            y = latent[idx] + rng.standard_normal(len(idx)) * self._variance["noise_sd"]
        else:
            y = (rng.random(len(idx)) < self._invlink(latent)[idx]).astype(float)
        out = cells.iloc[idx].reset_index(drop=True)
        out.insert(0, "id", np.arange(len(idx)))
        out["y"] = y
        return out[GROUP_INDIVIDUAL_COLUMNS if self.staff_groups else INDIVIDUAL_COLUMNS]

    def estimand(self) -> Estimand:
        """The true ATT over exposed region-periods, the dynamic effects by event time and,
        for a staff-group design, the ATT of each staff group."""
        L = self._layout
        exposed, tau, n, event = L["exposed"], L["tau"], L["n"], L["event"]
        if self.outcome == "binary":
            V = self._variance
            z = V["intercept"] + V["latent_sd"] * _GH_X  # quadrature over the random terms
            base = _GH_W @ self._invlink(z)
            eff = np.array([_GH_W @ self._invlink(z + t) for t in tau[exposed]]) - base
            scale = "probability"
        else:
            eff = tau[exposed]
            scale = "outcome"
        if eff.size == 0:
            raise ValueError("the design has no exposed region-periods, so there is no ATT.")
        w = n[exposed].astype(float)
        ev = event[exposed].astype(np.int64)
        keys = np.unique(ev)
        dyn = pd.DataFrame(
            {
                "event_time": keys,
                "value": [_exact_mean(eff[ev == k]) for k in keys],
                "n_cells": [int((ev == k).sum()) for k in keys],
                "value_n_weighted": [_exact_mean(eff[ev == k], w[ev == k]) for k in keys],
                "n_exposed": [float(w[ev == k].sum()) for k in keys],
            }
        )
        by_group = None
        if self.staff_groups:
            grp = np.repeat(L["group"][:, None], self.n_periods, axis=1)[exposed]
            rows = []
            for gi, name in enumerate(self.staff_groups):
                sel = grp == gi
                rows.append(
                    (
                        name,
                        _exact_mean(eff[sel]) if sel.any() else math.nan,
                        _exact_mean(eff[sel], w[sel]) if sel.any() else math.nan,
                        int(sel.sum()),
                    )
                )
            by_group = pd.DataFrame(
                rows, columns=["staff_group", "value", "value_n_weighted", "n_cells"]
            )
        return Estimand(
            att=_exact_mean(eff),
            att_n_weighted=_exact_mean(eff, w),
            dynamic=dyn,
            scale=scale,
            by_group=by_group,
        )

    def facts(self) -> dict[str, Any]:
        """Counts a report states: regions with and without a hub, openings, closures,
        units never treated, people measured per cell.

        Examples
        --------
        >>> RegionalDesign(n_regions=10, n_treated=8, n_periods=12).facts()["n_without"]
        2
        """
        L = self._layout
        adopt = L["adopt"][~np.isnan(L["adopt"])]
        n = L["n"]
        return {
            "n_regions": self.n_regions,
            "n_with": len(adopt),
            "n_without": int(self.n_regions - len(adopt)),
            "first_opening": int(adopt.min()) if len(adopt) else None,
            "last_opening": int(adopt.max()) if len(adopt) else None,
            "n_closing": int(np.isfinite(L["close"]).sum()),
            "n_units_never": int(np.isnan(L["unit_adopt"]).sum()),
            "n_min": int(n.min()),
            "n_max": int(n.max()),
            "n_median": float(np.median(n)),
            # people measured in a region in a period (all its staff groups)
            "n_region_median": float(
                np.median(np.bincount(L["region"], n[:, 0], minlength=self.n_regions))
            ),
        }

    def describe(self) -> str:
        """One line on the design's shape."""
        L = self._layout
        n_tr = int((~np.isnan(L["adopt"])).sum())
        groups = ""
        if self.staff_groups:
            pats = self.group_phasing or ((0,) * self.n_groups,)
            shown = "; ".join(
                "/".join("-" if d is None else str(d) for d in p) for p in pats
            )
            groups = (
                f"; {self.n_groups} staff groups ({', '.join(self.staff_groups)}) opening "
                f"with delays {shown} periods"
            )
        return (
            f"{self.n_regions} regions ({n_tr} with a hub) x {self.n_periods} {self.period_unit}s; "
            f"{self.population_kind}, {self.outcome} outcome, ICC {self.icc}; "
            f"n per cell {int(L['n'].min())}-{int(L['n'].max())}{groups}"
        )
