"""The hub as a SimPy discrete-event simulation: ``simulate`` and its result tables."""

from hubsim.des.calendar import WorkCalendar
from hubsim.des.model import EVENTS, QUEUE_STAGES, REASONS, STAGES, HubModel
from hubsim.des.result import SimulationResult
from hubsim.des.simulate import run_replication, simulate

__all__ = [
    "EVENTS",
    "QUEUE_STAGES",
    "REASONS",
    "STAGES",
    "HubModel",
    "SimulationResult",
    "WorkCalendar",
    "run_replication",
    "simulate",
]
