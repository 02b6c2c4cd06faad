"""The output contract of one replication: :class:`RunRecord`.

``HubModel.run()`` returns a record: the event log (every state change of every client and
every staff task, a row an event) plus the few facts that are not state changes: who the
clients are (group, identity, latent problems, screening answers, outcome answers, needed
step, external service draws), who the staff are (role, contract, caseload cap, cost), and
their rostered time and absences. :mod:`hubsim.des.frames`, :mod:`hubsim.des.kpis`,
scenario comparisons and the DES-derived effects of the regional evaluation read only this.

Event log columns (:data:`EVENT_FIELDS`): client (-1 for staff work with no client), time
(days), stage (:data:`STAGES`), event (:data:`EVENTS`), staff (index into the staff table,
-1 for none) and appointment (index of the diary appointment the event belongs to, -1 for
none). Each appointment is ``booked`` once and ends once: ``begins`` and ``completes``,
``dna`` (the client did not attend; the slot is free), or ``cancelled``; an appointment
still running at the horizon has ``begins`` and no end (censored). Each stay on a waiting
list is ``wait_begins`` ... ``wait_ends`` (at the start of the work it waited for, or when
the client reneges), or runs to the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubsim.config.schema import STEP_IDS

STAGES: tuple[str, ...] = (
    "referral",
    "screening",
    "processing",
    "duty",
    "assessment",
    "in_depth_assessment",
    *STEP_IDS,
    "team_support",
    "onward",
    "discharge",
)
WAITING_LISTS: tuple[str, ...] = (
    "processing",
    "duty",
    "assessment",
    "in_depth_assessment",
    *STEP_IDS,
)
QUEUE_STAGES = WAITING_LISTS
EVENTS: tuple[str, ...] = (
    "arrival",
    "screened",
    "screening_not_completed",
    "not_referred",
    "not_accepted",
    "risk_flagged",
    "wait_begins",
    "booked",
    "wait_ends",
    "begins",
    "completes",
    "dna",
    "cancelled",
    "reneged",
    "allocated",
    "dropout",
    "course_ends",
    "step_up",
    "onward_referred",
    "discharged",
)
REASONS: tuple[str, ...] = (
    "not_referred",
    "screening_not_completed",
    "not_accepted",
    "dropped_out_waiting",
    "onward_referred",
    "completed",
    "dropped_out_treatment",
    "dna_discharge",
)
EVENT_FIELDS: tuple[str, ...] = ("client", "time", "stage", "event", "staff", "appointment")
ACTIVITIES: tuple[str, ...] = ("clinical", "duty", "team", "supervision", "admin", "other")
ABSENCE_KINDS: tuple[str, ...] = ("bank_holiday", "closure", "annual_leave", "sickness")
S = {s: i for i, s in enumerate(STAGES)}
E = {e: i for i, e in enumerate(EVENTS)}
R = {r: i for i, r in enumerate(REASONS)}
STEP_STAGE = {code: S[sid] for code, sid in enumerate(STEP_IDS)}


@dataclass
class RunRecord:
    """One replication's record (see the module docstring).

    Attributes
    ----------
    replication, horizon_days : int, float
    events : numpy.ndarray, shape (n_events, 6)
        :data:`EVENT_FIELDS` as floats, in the order they were recorded.
    staff : pandas.DataFrame
        A row a member of staff: ``staff_id`` (label ``<role>_<k>``), ``role``, ``wte``,
        ``caseload_cap``, ``qualified``, ``cost_per_hour``.
    rostered : numpy.ndarray, shape (n, 4)
        staff, start, end, activity (:data:`ACTIVITIES`): the rostered intervals after
        leave, bank holidays, closures and sickness are removed.
    absences : numpy.ndarray, shape (n, 4)
        staff (-1: the whole service), start, end, kind (:data:`ABSENCE_KINDS`).
    clients : dict of arrays
        Per-client facts: ``referred_at``, ``group``, ``layer``, ``index``, ``initial``,
        ``needed_step``, ``start_step``, ``latent0``, ``latent_end``, ``z0``, ``pre``
        (screening answers, DataFrame), ``post`` (answers at discharge, DataFrame),
        ``destination``, ``external_wait``, ``external_treated``.
    queue_area : dict
        The kernel's own running integral of each waiting list's length (a check on the
        event log: it equals the total time spent on the list).
    meta : dict
        Names of groups, layers, roles, destinations, steps; the period start.
    """

    replication: int
    horizon_days: float
    events: np.ndarray
    staff: pd.DataFrame
    rostered: np.ndarray
    absences: np.ndarray
    clients: dict
    queue_area: dict
    meta: dict = field(default_factory=dict)

    @property
    def n_clients(self) -> int:
        return len(self.clients["referred_at"])
