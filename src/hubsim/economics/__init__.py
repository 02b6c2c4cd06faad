"""Staff cost by Agenda-for-Change band, cost per client and per recovery."""

from hubsim.economics.costs import (
    STAFFING_COLUMNS,
    WORKING_HOURS_PER_YEAR,
    cost_per_outcome,
    role_annual_cost,
    role_hourly_cost,
    role_hourly_costs,
    staffing_costs,
)

__all__ = [
    "STAFFING_COLUMNS",
    "WORKING_HOURS_PER_YEAR",
    "cost_per_outcome",
    "role_annual_cost",
    "role_hourly_cost",
    "role_hourly_costs",
    "staffing_costs",
]
