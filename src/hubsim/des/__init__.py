"""The hub as a SimPy discrete-event simulation: ``simulate`` and its result tables.

One room per concern: :mod:`~hubsim.des.calendar` (bank holidays, working days),
:mod:`~hubsim.des.staff` (people, contracts, timetables, absences),
:mod:`~hubsim.des.booking` (diaries, waiting lists, allocation, caseloads, priorities),
:mod:`~hubsim.des.pathway` (the client's process), :mod:`~hubsim.des.outcomes` (symptom
change, remission, recovery), :mod:`~hubsim.des.demand` and :mod:`~hubsim.des.streams`
(stable arrivals and keyed client draws), :mod:`~hubsim.des.record` (the run's output
contract), :mod:`~hubsim.des.frames` and :mod:`~hubsim.des.kpis` (tables and KPIs, read
from the record only), :mod:`~hubsim.des.simulate` (replications).
"""

from hubsim.des.calendar import WorkCalendar, bank_holidays
from hubsim.des.model import HubModel
from hubsim.des.record import EVENTS, QUEUE_STAGES, REASONS, STAGES, WAITING_LISTS, RunRecord
from hubsim.des.result import SimulationResult
from hubsim.des.simulate import run_replication, simulate

__all__ = [
    "EVENTS",
    "QUEUE_STAGES",
    "REASONS",
    "STAGES",
    "WAITING_LISTS",
    "HubModel",
    "RunRecord",
    "SimulationResult",
    "WorkCalendar",
    "bank_holidays",
    "run_replication",
    "simulate",
]
