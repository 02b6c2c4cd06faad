"""Warm-up length by MSER-5 on the weekly queue series.

A hub starts empty at ``simulation.period.start``: its waiting lists take weeks to fill,
so KPIs over the first weeks describe a service that does not exist yet. MSER-5 (White,
1997; White, Cobb and Spratt, 2000) picks the truncation that minimises the squared
standard error of the mean of what is left: the series is cut into batches of five
observations with means ``Z_1 .. Z_m``, and for each truncation ``d`` (in batches)

``MSER(d) = sum_{j > d} (Z_j - mean(Z_{d+1..m}))^2 / (m - d)^2``;

the suggested warm-up is ``5 d*`` observations, ``d*`` the minimiser over
``d <= m / 2``. A minimiser in the second half of the run (the unrestricted one, over
``d <= m - 5``) means the run is too short to tell, and the result says so.

Here an observation is a week, the series the number of clients waiting on every list
(``queue_<list>`` columns of :attr:`SimulationResult.weekly`, summed), averaged over
replications week by week (the usual way to smooth it before truncation; Robinson 2014,
*Simulation: The Practice of Model Development and Use*, ch. 9). Partial weeks at the
horizon are left out.

Examples
--------
>>> import numpy as np
>>> y = np.r_[np.linspace(0, 10, 20), np.full(80, 10.0)] + np.tile([0.5, -0.5], 50)
>>> d, values = mser(y, batch_size=5)
>>> d  # batches of 5: the ramp of 20 observations is 4 batches
4
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["WarmupResult", "mser", "suggest_warmup", "warmup_analysis"]

SERIES_COLUMNS = ["week", "week_start_day", "week_start", "value", "batch_mean", "mser"]


def mser(y, batch_size: int = 5) -> tuple[int, np.ndarray]:
    """MSER truncation of series ``y`` in batches of ``batch_size``.

    Returns
    -------
    d_star : int
        The truncation in batches minimising MSER over ``d <= m // 2`` (``m`` batches).
    values : ndarray
        ``MSER(d)`` for ``d = 0 .. m - 2`` (NaN where fewer than two batches remain).

    Raises
    ------
    ValueError
        Fewer than four batches, a batch size below one, or a non-finite value.
    """
    x = np.asarray(y, dtype=float)
    b = int(batch_size)
    if b < 1:
        raise ValueError(f"mser: batch_size must be at least 1, got {batch_size}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("mser: the series has missing or infinite values.")
    m = len(x) // b
    if m < 4:
        raise ValueError(
            f"mser: expected at least {4 * b} observations (4 batches of {b}), got {len(x)}."
        )
    z = x[: m * b].reshape(m, b).mean(axis=1)
    values = np.full(m - 1, np.nan)
    for d in range(m - 1):
        rest = z[d:]
        values[d] = float(((rest - rest.mean()) ** 2).sum()) / (m - d) ** 2
    d_star = int(np.argmin(values[: m // 2 + 1]))
    return d_star, values


@dataclass(frozen=True)
class WarmupResult:
    """A suggested warm-up and the series it comes from.

    Attributes
    ----------
    series : DataFrame
        :data:`SERIES_COLUMNS`: a row a week: the averaged series ``value``, its batch's
        mean and the MSER statistic of truncating before that batch (on the batch's
        first week; NaN elsewhere).
    warmup_weeks, warmup_days : int, float
        The suggestion, in weeks and days from the period start.
    warmup_end : date
        The KPI window's first day with that warm-up (``--start`` of ``hubsim run``).
    reliable : bool
        False when the unrestricted MSER minimum falls in the run's second half: a longer
        run is needed before the suggestion can be trusted.
    meta : dict
        Configuration, replications, seed, horizon, series name, batch size.
    """

    series: pd.DataFrame
    warmup_weeks: int
    warmup_days: float
    warmup_end: dt.date
    reliable: bool
    meta: dict = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        """The weekly series with batch means and MSER (:data:`SERIES_COLUMNS`)."""
        return self.series

    def summary(self) -> str:
        """The suggestion in words, with the rule behind it."""
        m = self.meta
        lines = [
            f"{m.get('config_name', '?')}: MSER-{m.get('batch_size', 5)} on the weekly "
            f"{m.get('series', 'queue')} (mean of {m.get('replications', '?')} replication(s), "
            f"{m.get('weeks', '?')} weeks from {m.get('period_start', '?')})",
            f"suggested warm-up: {self.warmup_weeks} weeks ({self.warmup_days:g} days), "
            f"KPIs from {self.warmup_end.isoformat()}: hubsim run "
            f"{m.get('config_name', 'CONFIG')} --start {self.warmup_end.isoformat()}",
        ]
        if not self.reliable:
            lines.append(
                "not reliable: the series keeps drifting into the run's second half (MSER's "
                "unrestricted minimum lies there); simulate longer before trusting it"
            )
        return "\n".join(lines)

    def plot(self, path: str | os.PathLike[str] | None = None):
        """The series, its batch means and the suggested truncation; saved to ``path``
        (PNG, written to a temporary sibling and moved in place) when given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        import matplotlib

        if path is not None:
            matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        s = self.series
        fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
        dates = pd.to_datetime(s["week_start"])
        ax.plot(dates, s["value"], lw=1, color="0.4", label="clients waiting (weekly mean)")
        ax.step(dates, s["batch_mean"], where="post", lw=1.5, label="batch means")
        cut = pd.Timestamp(self.warmup_end)
        for a in (ax, ax2):
            a.axvline(cut, color="C3", ls="--", lw=1)
        ax.set_ylabel("clients waiting")
        ax.set_title(
            f"{self.meta.get('config_name', '')}: MSER-{self.meta.get('batch_size', 5)} "
            f"warm-up {self.warmup_weeks} weeks (to {self.warmup_end.isoformat()})"
        )
        ax.legend(loc="lower right", fontsize=8)
        ok = s["mser"].notna()
        ax2.plot(dates[ok], s["mser"][ok], marker="o", ms=3, lw=1, color="C0")
        ax2.set_ylabel("MSER(d)")
        ax2.set_xlabel("week starting")
        fig.tight_layout()
        if path is not None:
            target = Path(path)
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}.png")
            try:
                fig.savefig(tmp, dpi=120)
                os.replace(tmp, target)
            finally:
                if tmp.exists():
                    tmp.unlink()
            plt.close(fig)
        return fig


def _queue_columns(weekly: pd.DataFrame) -> list[str]:
    return [c for c in weekly.columns if c.startswith("queue_")]


def suggest_warmup(result, *, series: str = "queue_total", batch_size: int = 5) -> WarmupResult:
    """MSER warm-up of a :class:`~hubsim.des.result.SimulationResult`'s weekly series.

    Parameters
    ----------
    result : SimulationResult
        Simulated with no warm-up of its own (its weeks start at the period start).
    series : str, default ``"queue_total"``
        ``"queue_total"`` (clients on every list) or a column of ``result.weekly``.
    batch_size : int, default 5
        Weeks a batch (MSER-5).
    """
    wk = result.weekly
    if series == "queue_total":
        cols = _queue_columns(wk)
        values = wk[cols].sum(axis=1)
    elif series in wk.columns:
        values = wk[series]
    else:
        raise ValueError(
            f"suggest_warmup: series {series!r} is not a weekly column; expected "
            f"'queue_total' or one of {', '.join(_queue_columns(wk))}."
        )
    full = wk["week_days"].to_numpy() >= 7.0 - 1e-9
    frame = pd.DataFrame(
        {"week": wk["week"], "week_start_day": wk["week_start_day"], "value": values}
    )[full]
    mean = frame.groupby("week", sort=True).agg(
        week_start_day=("week_start_day", "first"), value=("value", "mean")
    )
    y = mean["value"].to_numpy()
    d_star, values_d = mser(y, batch_size)
    m = len(y) // batch_size
    tail = max(1, m - 5)
    reliable = int(np.argmin(values_d[:tail])) <= m // 2
    if "period_start" not in result.meta:
        raise ValueError("suggest_warmup: the result's meta has no period_start date.")
    period_start = dt.date.fromisoformat(str(result.meta["period_start"]))
    days = mean["week_start_day"].to_numpy()
    out = pd.DataFrame(
        {
            "week": mean.index.to_numpy(),
            "week_start_day": days,
            "week_start": [period_start + dt.timedelta(days=int(d)) for d in days],
            "value": y,
        }
    )
    batch = np.arange(len(y)) // batch_size
    z = np.array([y[batch == k].mean() if k < m else np.nan for k in range(batch.max() + 1)])
    out["batch_mean"] = z[batch]
    first = (np.arange(len(y)) % batch_size == 0) & (batch < m - 1)
    out["mser"] = np.where(first, np.r_[values_d, np.nan][np.minimum(batch, m - 1)], np.nan)
    weeks = d_star * batch_size
    warm_days = float(days[weeks]) if weeks < len(days) else float(days[-1])
    meta = {
        "config_name": result.meta.get("config_name"),
        "replications": len(result.meta.get("replications", [])) or None,
        "seed": result.meta.get("seed"),
        "horizon_days": result.meta.get("horizon_days"),
        "period_start": period_start.isoformat(),
        "series": series,
        "batch_size": int(batch_size),
        "weeks": len(y),
    }
    return WarmupResult(
        series=out[SERIES_COLUMNS],
        warmup_weeks=int(weeks),
        warmup_days=warm_days,
        warmup_end=period_start + dt.timedelta(days=math.floor(warm_days)),
        reliable=bool(reliable),
        meta=meta,
    )


def warmup_analysis(
    config,
    *,
    replications: int = 5,
    seed: int = 0,
    horizon_days: float | None = None,
    end=None,
    workers: int = 1,
    series: str = "queue_total",
    batch_size: int = 5,
) -> WarmupResult:
    """Simulate ``config`` from its period start with no warm-up and suggest one by MSER.

    The run lasts ``horizon_days`` or to ``end`` (date), else the configuration's
    ``simulation.horizon``, else its whole period.

    Examples
    --------
    >>> import hubsim
    >>> w = warmup_analysis(hubsim.load_config("site_d"), replications=2, horizon_days=280)
    >>> w.warmup_weeks % 5, w.summary().splitlines()[1].startswith("suggested warm-up")
    (0, True)
    """
    from hubsim.des.record import WAITING_LISTS
    from hubsim.des.simulate import simulate
    from hubsim.des.window import Window, resolve_window

    known = ["queue_total", *(f"queue_{q}" for q in WAITING_LISTS)]
    if series not in known:  # before the run, not after it
        raise ValueError(
            f"warmup_analysis: series {series!r} is not a weekly queue; expected one of "
            f"{', '.join(known)}."
        )
    p = config.simulation.period
    whole = Window(p.start, float((p.end - p.start).days + 1), 0.0)
    w = resolve_window(config, horizon_days=horizon_days, end=end, default=whole)
    res = simulate(
        config,
        horizon_days=w.horizon_days,
        warmup_days=0.0,
        seed=seed,
        replications=replications,
        workers=workers,
    )
    return suggest_warmup(res, series=series, batch_size=batch_size)
