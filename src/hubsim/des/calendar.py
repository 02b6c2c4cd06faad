"""Working time: bank holidays, working days and open hours of the simulated period.

Simulation time is in days from the start of the simulated period (day 0 is
``simulation.period.start``). A :class:`WorkCalendar` maps a moment ``t`` to the number of
open hours elapsed since day 0 (``open_hours(t)``) and back (``at_open_hours(y)``), so a
task needing ``w`` hours of a staff member working at rate ``r`` ends at
``at_open_hours(open_hours(start) + w / r)``.

Two kinds:

* ``working_week``: Monday to Friday, open from 09:00 for ``hours_per_day`` hours plus a
  fifth of ``evening_hours_per_week`` (evening sessions run on from the day). Weekends are
  closed. (This calendar only converts times for derived tables; staff availability is the
  rostered diary of :mod:`hubsim.des.staff`, which also removes bank holidays, leave and
  closures.)
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

# One-off changes to England-and-Wales bank holidays (gov.uk "UK bank holidays"; Banking and
# Financial Dealings Act 1971 royal proclamations): date -> name for extra days, and the
# regular holiday a proclamation moved, as (year, regular name) -> new date.
_EXTRA_DAYS: dict[dt.date, str] = {
    dt.date(1999, 12, 31): "Millennium Eve",
    dt.date(2002, 6, 3): "Golden Jubilee",
    dt.date(2011, 4, 29): "Royal wedding",
    dt.date(2012, 6, 5): "Diamond Jubilee",
    dt.date(2022, 6, 3): "Platinum Jubilee",
    dt.date(2022, 9, 19): "State funeral of Queen Elizabeth II",
    dt.date(2023, 5, 8): "Coronation of King Charles III",
}
_MOVED: dict[tuple[int, str], dt.date] = {
    (1995, "Early May bank holiday"): dt.date(1995, 5, 8),  # VE Day 50th anniversary
    (2002, "Spring bank holiday"): dt.date(2002, 6, 4),
    (2012, "Spring bank holiday"): dt.date(2012, 6, 4),
    (2020, "Early May bank holiday"): dt.date(2020, 5, 8),  # VE Day 75th anniversary (a Friday)
    (2022, "Spring bank holiday"): dt.date(2022, 6, 2),  # Platinum Jubilee (a Thursday)
}


def easter_sunday(year: int) -> dt.date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian algorithm (Meeus).

    Examples
    --------
    >>> easter_sunday(2021), easter_sunday(2024)
    (datetime.date(2021, 4, 4), datetime.date(2024, 3, 31))
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def _first_monday(year: int, month: int) -> dt.date:
    d = dt.date(year, month, 1)
    return d + dt.timedelta(days=(7 - d.weekday()) % 7)


def _last_monday(year: int, month: int) -> dt.date:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    d = nxt - dt.timedelta(days=1)
    return d - dt.timedelta(days=d.weekday())


def bank_holidays(year: int) -> dict[dt.date, str]:
    """England-and-Wales bank holidays of ``year``: date -> name.

    The regular days (New Year's Day, Good Friday, Easter Monday, the early May, spring and
    summer bank holidays, Christmas Day and Boxing Day) with their substitute days when they
    fall at a weekend, the holidays moved by proclamation and the one-off extra days
    (1995-2023). Years without a proclamation follow the rules as they have stood since the
    early May bank holiday began in 1978 (sources: calibration.md §9 Bank holidays).

    Examples
    --------
    >>> hol = bank_holidays(2022)
    >>> len(hol), hol[dt.date(2022, 6, 3)], hol[dt.date(2022, 12, 27)]
    (10, 'Platinum Jubilee', 'Christmas Day (substitute day)')
    >>> sorted(d.isoformat() for d in bank_holidays(2020))[2:4]
    ['2020-04-13', '2020-05-08']
    """
    if year < 1978:
        raise ValueError(f"bank_holidays: expected a year from 1978 on, got {year}.")
    out: dict[dt.date, str] = {}
    ny = dt.date(year, 1, 1)
    if ny.weekday() >= 5:
        out[ny + dt.timedelta(days=7 - ny.weekday())] = "New Year's Day (substitute day)"
    else:
        out[ny] = "New Year's Day"
    easter = easter_sunday(year)
    out[easter - dt.timedelta(days=2)] = "Good Friday"
    out[easter + dt.timedelta(days=1)] = "Easter Monday"
    regular = {
        "Early May bank holiday": _first_monday(year, 5),
        "Spring bank holiday": _last_monday(year, 5),
        "Summer bank holiday": _last_monday(year, 8),
    }
    for name, day in regular.items():
        out[_MOVED.get((year, name), day)] = name
    xmas, boxing = dt.date(year, 12, 25), dt.date(year, 12, 26)
    wd = xmas.weekday()
    if wd == 5:  # Saturday: both move to Monday 27 and Tuesday 28
        out[dt.date(year, 12, 27)] = "Christmas Day (substitute day)"
        out[dt.date(year, 12, 28)] = "Boxing Day (substitute day)"
    elif wd == 6:  # Sunday: Boxing Day on Monday 26, Christmas substitute on Tuesday 27
        out[boxing] = "Boxing Day"
        out[dt.date(year, 12, 27)] = "Christmas Day (substitute day)"
    elif wd == 4:  # Friday: Boxing Day (Saturday) moves to Monday 28
        out[xmas] = "Christmas Day"
        out[dt.date(year, 12, 28)] = "Boxing Day (substitute day)"
    else:
        out[xmas] = "Christmas Day"
        out[boxing] = "Boxing Day"
    for day, name in _EXTRA_DAYS.items():
        if day.year == year:
            out[day] = name
    return dict(sorted(out.items()))


def bank_holiday_set(start: dt.date, end: dt.date) -> set[dt.date]:
    """All England-and-Wales bank holidays from ``start`` to ``end`` inclusive."""
    out: set[dt.date] = set()
    for y in range(start.year, end.year + 1):
        out.update(d for d in bank_holidays(y) if start <= d <= end)
    return out


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
