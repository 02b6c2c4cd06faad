"""Working time: which moments of the simulated period staff can work in.

Simulation time is in days from the start of the simulated period (day 0 is
``simulation.period.start``). A :class:`WorkCalendar` maps a moment ``t`` to the number of
open hours elapsed since day 0 (``open_hours(t)``) and back (``at_open_hours(y)``), so a
task needing ``w`` hours of a staff member working at rate ``r`` ends at
``at_open_hours(open_hours(start) + w / r)``.

Two kinds:

* ``working_week``: Monday to Friday, open from 09:00 for ``hours_per_day`` hours plus a
  fifth of ``evening_hours_per_week`` (evening sessions run on from the day). Weekends are
  closed. Leave is not a closure: it is already one of the job-plan shares, so a role's
  direct-clinical hours are what is left after leave.
* ``continuous``: always open (a textbook queue, for validation).

Examples
--------
>>> import datetime as dt
>>> cal = WorkCalendar("working_week", dt.date(2021, 3, 1), hours_per_day=7.5)  # a Monday
>>> cal.open_hours(7.0)
37.5
>>> round(cal.at_open_hours(7.5), 4)  # end of Monday's working day, 16:30
0.6875
>>> cal.next_open(5.0)  # Saturday -> Monday 09:00
7.375
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

OPENING_HOUR = 9.0


class WorkCalendar:
    """Open hours of a working week, or continuous time.

    Parameters
    ----------
    kind : {"working_week", "continuous"}
    start : datetime.date
        The date of day 0 (sets which days are weekdays).
    hours_per_day : float
        Daytime hours each weekday.
    evening_hours_per_week : float
        Extra evening hours a week, spread evenly over the five weekdays.
    """

    def __init__(
        self,
        kind: str,
        start: dt.date,
        hours_per_day: float = 7.5,
        evening_hours_per_week: float = 0.0,
    ):
        if kind not in ("working_week", "continuous"):
            raise ValueError(f"calendar kind must be 'working_week' or 'continuous', got {kind!r}.")
        self.kind = kind
        self.continuous = kind == "continuous"
        self.start = start
        if self.continuous:
            self.day_hours = 24.0
            self.open_from = 0.0
            self.hours_per_week = 168.0
            return
        h = float(hours_per_day) + float(evening_hours_per_week) / 5.0
        if h > 24.0:
            raise ValueError(
                f"calendar hours_per_day plus evening hours per weekday must be at most 24, got {h}."
            )
        self.day_hours = h
        # open at 09:00 unless the day is so long that it must start earlier
        self.open_from = min(OPENING_HOUR / 24.0, 1.0 - h / 24.0)
        self.hours_per_week = 5.0 * h
        wd0 = start.weekday()
        self._is_work = [((wd0 + k) % 7) < 5 for k in range(7)]
        # weekdays among the first k days of a week that starts on day 0's weekday
        self._prefix = [sum(self._is_work[:k]) for k in range(8)]
        # offset (0-6) of the j-th weekday (0-based) of such a week
        self._nth = [k for k in range(7) if self._is_work[k]]

    # ------------------------------------------------------------------ conversions
    def open_hours(self, t: float) -> float:
        """Open hours elapsed between day 0 and moment ``t`` (days)."""
        if self.continuous:
            return 24.0 * t
        d = math.floor(t)
        weeks, rem = divmod(d, 7)
        full = weeks * 5 + self._prefix[rem]
        h = full * self.day_hours
        if self._is_work[rem]:
            x = (t - d - self.open_from) * 24.0
            if x > 0.0:
                h += x if x < self.day_hours else self.day_hours
        return h

    def at_open_hours(self, y: float) -> float:
        """The first moment at which ``y`` open hours have elapsed (inverse of open_hours)."""
        if self.continuous:
            return y / 24.0
        if y <= 0.0:
            return self.next_open(0.0) if y == 0.0 else 0.0
        n, r = divmod(y, self.day_hours)
        n = int(n)
        if r <= 1e-12:
            # exactly at the end of the n-th working day
            return self._workday(n - 1) + self.open_from + self.day_hours / 24.0
        return self._workday(n) + self.open_from + r / 24.0

    def _workday(self, k: int) -> int:
        weeks, j = divmod(k, 5)
        return weeks * 7 + self._nth[j]

    def next_open(self, t: float) -> float:
        """The first open moment at or after ``t``."""
        if self.continuous:
            return t
        d = math.floor(t)
        rem = d % 7
        f = t - d
        if self._is_work[rem]:
            if f < self.open_from:
                return d + self.open_from
            if f < self.open_from + self.day_hours / 24.0:
                return t
        k = 1
        while not self._is_work[(rem + k) % 7]:
            k += 1
        return d + k + self.open_from

    def end_of_working_day(self, t: float) -> float:
        """Close of the working day on which something arriving at ``t`` is first handled."""
        s = self.next_open(t)
        if self.continuous:
            return math.floor(t) + 1.0
        return math.floor(s) + self.open_from + self.day_hours / 24.0

    def open_hours_array(self, t) -> np.ndarray:
        """Vectorised :meth:`open_hours` for an array of moments."""
        t = np.asarray(t, dtype=float)
        if self.continuous:
            return 24.0 * t
        d = np.floor(t)
        weeks, rem = np.divmod(d, 7)
        rem = rem.astype(np.int64)
        prefix = np.asarray(self._prefix, dtype=float)
        is_work = np.asarray(self._is_work, dtype=bool)
        h = (weeks * 5 + prefix[rem]) * self.day_hours
        x = np.clip((t - d - self.open_from) * 24.0, 0.0, self.day_hours)
        return h + np.where(is_work[rem], x, 0.0)
