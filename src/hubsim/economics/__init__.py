"""Staff cost by Agenda-for-Change band, cost per client and per recovery."""

from hubsim.economics.costs import (
    cost_per_outcome,
    role_hourly_cost,
    role_hourly_costs,
)

__all__ = ["cost_per_outcome", "role_hourly_cost", "role_hourly_costs"]
