"""Run length and warm-up as calendar dates or as day counts.

Simulation time is days from ``simulation.period.start`` (day 0, the hub's first day in
the configuration), so a hub always runs from its opening: a KPI window starting later is
reached by warming the model up through the days before it. A :class:`Window` holds

* ``horizon_days``: days simulated from the period start (the run ends at this time);
* ``warmup_days``: the day the KPI window starts (the days before it are the warm-up);

and the dates they stand for: the window's first day ``start`` and last day ``end``
(inclusive, so ``end`` is the date of day ``horizon_days - 1``).

:func:`resolve_window` turns what a user gives (days, dates, the configuration's
``simulation.horizon`` / ``simulation.warmup``) into a window, with one-sentence errors
for dates outside the configuration's period or an end before the start;
:func:`first_full_year` is ``hubsim run``'s default: the year from the day every
occupational group is open, not a year in which part of the service was still closed.

Examples
--------
>>> import datetime as dt
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> w = resolve_window(cfg, start=dt.date(2021, 9, 1), end=dt.date(2022, 8, 31))
>>> w.warmup_days, w.horizon_days, w.describe()
(488.0, 853.0, '2021-09-01 to 2022-08-31 (365 days)')
>>> first_full_year(cfg).describe()
'2020-11-01 to 2021-10-31 (365 days)'
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

__all__ = ["Window", "first_full_year", "full_opening_day", "parse_date", "resolve_window"]


@dataclass(frozen=True)
class Window:
    """A run's length and KPI window, in days from the period start and as dates."""

    period_start: dt.date
    horizon_days: float
    warmup_days: float

    @property
    def start(self) -> dt.date:
        """The first day of the KPI window (the date of day ``warmup_days``)."""
        return self.period_start + dt.timedelta(days=math.floor(self.warmup_days))

    @property
    def end(self) -> dt.date:
        """The last simulated day (inclusive): the date of day ``horizon_days - 1``."""
        return self.period_start + dt.timedelta(days=math.ceil(self.horizon_days) - 1)

    @property
    def days(self) -> float:
        """The KPI window's length in days."""
        return self.horizon_days - self.warmup_days

    def describe(self) -> str:
        """``'YYYY-MM-DD to YYYY-MM-DD (N days)'``."""
        return f"{self.start.isoformat()} to {self.end.isoformat()} ({self.days:g} days)"

    def meta(self) -> dict:
        """The window's dates for a result's ``meta`` (ISO strings)."""
        return {
            "period_start": self.period_start.isoformat(),
            "window_start": self.start.isoformat(),
            "window_end": self.end.isoformat(),
        }


def parse_date(value, field: str) -> dt.date:
    """A date from a ``datetime.date`` or an ISO ``YYYY-MM-DD`` string.

    Raises
    ------
    ValueError
        Naming ``field`` and what was expected.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{field}: expected a date YYYY-MM-DD, got {value!r}.")


def full_opening_day(config) -> dt.date:
    """The first day every occupational group of the configuration can refer."""
    p = config.simulation.period
    opens = [g.opens for g in config.service.target_population.groups if g.opens is not None]
    return max([p.start, *opens])


def first_full_year(config) -> Window:
    """The year from :func:`full_opening_day` (cut at the period's end), warmed up before.

    ``hubsim run``'s default: a half-open first year (some groups not yet referring) would
    understate demand and waits.
    """
    p = config.simulation.period
    first = full_opening_day(config)
    try:
        year_on = first.replace(year=first.year + 1)
    except ValueError:  # 29 February
        year_on = first.replace(year=first.year + 1, day=28)
    last = min(year_on - dt.timedelta(days=1), p.end)
    return Window(p.start, float((last - p.start).days + 1), float((first - p.start).days))


def _day_of(config, date: dt.date, field: str) -> int:
    p = config.simulation.period
    if not p.start <= date <= p.end:
        raise ValueError(
            f"{field}: {date.isoformat()} is outside the configuration's period "
            f"(simulation.period {p.start.isoformat()} to {p.end.isoformat()})."
        )
    return (date - p.start).days


def resolve_window(
    config,
    *,
    horizon_days: float | None = None,
    warmup_days: float | None = None,
    start=None,
    end=None,
    default: Window | None = None,
    names: dict[str, str] | None = None,
) -> Window:
    """The run's window from days or dates (at most one of each pair), else the config's.

    Parameters
    ----------
    config : ServiceConfig
    horizon_days, warmup_days : float, optional
        Days from the period start: the run's length and the KPI window's first day.
    start, end : date or ISO string, optional
        The KPI window's first and last day (inclusive); ``start`` ends the warm-up.
    default : Window, optional
        Used for what is neither given nor set in ``simulation.horizon`` /
        ``simulation.warmup``; without it the horizon defaults to 365 days and the
        warm-up to 0.
    names : dict, optional
        How to name the four arguments in errors (e.g. ``{"start": "--start"}``).

    Raises
    ------
    ValueError
        One sentence naming the argument: both forms of one bound given, a date outside
        the configuration's period, or a window that ends before it starts.
    """
    nm = {"horizon_days": "horizon_days", "warmup_days": "warmup_days", "start": "start"}
    nm |= {"end": "end"} | (names or {})
    if horizon_days is not None and end is not None:
        raise ValueError(f"{nm['end']}: give either {nm['horizon_days']} or {nm['end']}, not both.")
    if warmup_days is not None and start is not None:
        raise ValueError(
            f"{nm['start']}: give either {nm['warmup_days']} or {nm['start']}, not both."
        )
    sim = config.simulation
    p = sim.period
    what = {"horizon": nm["horizon_days"], "warmup": nm["warmup_days"]}
    if end is not None:
        what["horizon"] = nm["end"]
        horizon = float(_day_of(config, parse_date(end, nm["end"]), nm["end"]) + 1)
    elif horizon_days is not None:
        horizon = float(horizon_days)
    elif sim.horizon is not None:
        what["horizon"] = "simulation.horizon"
        h = sim.horizon
        horizon = float(_day_of(config, h, "simulation.horizon") + 1) if _is_date(h) else h
    elif default is not None:
        horizon = default.horizon_days
    else:
        horizon = 365.0
    if start is not None:
        what["warmup"] = nm["start"]
        warmup = float(_day_of(config, parse_date(start, nm["start"]), nm["start"]))
    elif warmup_days is not None:
        warmup = float(warmup_days)
    elif sim.warmup is not None:
        what["warmup"] = "simulation.warmup"
        w = sim.warmup
        warmup = float(_day_of(config, w, "simulation.warmup")) if _is_date(w) else float(w)
    elif default is not None and horizon_days is None and end is None and sim.horizon is None:
        warmup = default.warmup_days
    else:
        warmup = 0.0
    if not horizon > 0 or not math.isfinite(horizon):
        raise ValueError(f"{what['horizon']}: expected a positive number of days, got {horizon:g}.")
    if not 0 <= warmup < horizon:
        w_date = p.start + dt.timedelta(days=math.floor(max(warmup, 0)))
        e_date = p.start + dt.timedelta(days=math.ceil(horizon) - 1)
        raise ValueError(
            f"{what['warmup']}: expected the KPI window's first day (day {warmup:g}, "
            f"{w_date.isoformat()}) on or before its last day (set by {what['horizon']}: "
            f"{e_date.isoformat()}) and not before the period start {p.start.isoformat()}."
        )
    return Window(p.start, float(horizon), warmup)


def _is_date(x) -> bool:
    return isinstance(x, dt.date)
