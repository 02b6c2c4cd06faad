"""Hourly staff cost of a role from its Agenda-for-Change band range.

A role spans a band range (``band_low`` to ``band_high``, paper Table 4). Its hourly cost
is the mean of the midpoint hourly costs of the bands in that range
(``simulation.economics.hourly_cost_by_band``, calibration.md §5, which costs the seed
staffing the same way: "the mean midpoint of each role's band range"), times
``overhead_multiplier``.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> round(role_hourly_cost(cfg.service.workforce.role("low_intensity"), cfg.simulation.economics), 2)
21.3
"""

from __future__ import annotations

import math

import numpy as np

from hubsim.config.schema import BAND_ORDER, Economics, Role, ServiceConfig


def role_hourly_cost(role: Role, economics: Economics) -> float:
    """Employer cost of one hour of ``role`` (GBP), overheads applied.

    Parameters
    ----------
    role : Role
    economics : Economics
        Supplies ``hourly_cost_by_band`` and ``overhead_multiplier``.

    Returns
    -------
    float
        Mean of the band midpoints' hourly costs over the role's band range.
    """
    lo = BAND_ORDER.index(role.band_low)
    hi = BAND_ORDER.index(role.band_high)
    costs = economics.hourly_cost_by_band
    bands = [b for b in BAND_ORDER[lo : hi + 1] if b in costs]
    if not bands:
        raise ValueError(
            f"economics.hourly_cost_by_band has no cost for role {role.id!r}'s bands "
            f"{role.band_low}-{role.band_high}; expected at least one of them."
        )
    return float(np.mean([costs[b] for b in bands])) * economics.overhead_multiplier


def role_hourly_costs(config: ServiceConfig) -> dict[str, float]:
    """Hourly cost of every role of a configuration, by role id.

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("hub")
    >>> sorted(role_hourly_costs(cfg))[:2]
    ['admin', 'clinical_leadership']
    """
    econ = config.simulation.economics
    return {r.id: role_hourly_cost(r, econ) for r in config.service.workforce.roles}


def cost_per_outcome(total_cost: float, n_outcomes: float) -> float:
    """Cost divided by a count of outcomes (clients, recoveries); NaN when the count is 0.

    Examples
    --------
    >>> cost_per_outcome(1000.0, 4)
    250.0
    >>> import math; math.isnan(cost_per_outcome(1000.0, 0))
    True
    """
    if n_outcomes < 0 or not math.isfinite(total_cost):
        raise ValueError(
            f"cost_per_outcome expects a finite cost and a non-negative count, got "
            f"{total_cost!r} and {n_outcomes!r}."
        )
    return float(total_cost) / n_outcomes if n_outcomes > 0 else math.nan


#: Working hours of one WTE a year behind the hourly costs (docs/calibration.md, section 5:
#: each band's hourly cost is its employer cost at the midpoint over 1,600 working hours).
WORKING_HOURS_PER_YEAR = 1600.0
STAFFING_COLUMNS = ["role", "label", "band_range", "wte", "hourly_cost_gbp", "annual_cost_gbp"]


def role_annual_cost(role: Role, economics: Economics, wte: float | None = None) -> float:
    """Employer cost a year of ``role`` at its WTE (or at ``wte``): the hourly cost times
    :data:`WORKING_HOURS_PER_YEAR` per WTE (docs/calibration.md §5, overheads excluded).

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> round(role_annual_cost(cfg.service.workforce.role("therapists"), cfg.simulation.economics))
    336312
    """
    w = role.wte if wte is None else float(wte)
    if not (math.isfinite(w) and w >= 0):
        raise ValueError(f"wte must be a non-negative number, got {wte!r}.")
    return role_hourly_cost(role, economics) * WORKING_HOURS_PER_YEAR * w


def staffing_costs(config: ServiceConfig):
    """A row a role: WTE, hourly and annual employer cost (:data:`STAFFING_COLUMNS`).

    Examples
    --------
    >>> import hubsim
    >>> t = staffing_costs(hubsim.load_config("site_d"))
    >>> round(t["annual_cost_gbp"].sum() / 1e3)
    751
    """
    import pandas as pd

    econ = config.simulation.economics
    rows = [
        (r.id, r.label, r.band_range, r.wte, role_hourly_cost(r, econ), role_annual_cost(r, econ))
        for r in config.service.workforce.roles
    ]
    return pd.DataFrame(rows, columns=STAFFING_COLUMNS)
