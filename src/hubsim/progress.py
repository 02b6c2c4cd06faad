"""Progress of long work on stderr: a live bar on a terminal, plain lines elsewhere.

On a terminal (``rich``) a bar shows the stage name, the count done of the total, the
time elapsed and the time left. When stderr is not a terminal (a log file, CI, ``make run``
piped), a plain line is printed at the start, at every tenth of the work and at the end,
e.g. ``hubsim: replications 40/100 (40%), 1m12s elapsed, about 1m48s left``. ``quiet``
silences both. Work already finished before this run (resumed) counts as done but not in
the rate behind the time left. Every line of a stage counts the same unit against the same
total; work whose size is known only as a bound (the replications algorithm runs *at most*
so many) counts against the bound, and what turns out not to be needed is counted off at
the end (:meth:`Progress.finish`), so a finished stage always ends at 100%.

Examples
--------
>>> import io
>>> buf = io.StringIO()
>>> p = Progress("replications", total=4, stream=buf, terminal=False, unit="replications")
>>> for _ in range(4):
...     p.advance()
>>> p.close()
>>> buf.getvalue().splitlines()[0]
'hubsim: replications 0/4 (0%) starting'
>>> buf.getvalue().splitlines()[-1].startswith("hubsim: replications 4/4 (100%)")
True
"""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["Progress", "format_seconds"]


def format_seconds(s: float) -> str:
    """``75`` -> ``'1m15s'``; ``3700`` -> ``'1h01m'``.

    Examples
    --------
    >>> format_seconds(75), format_seconds(3700), format_seconds(4)
    ('1m15s', '1h01m', '4s')
    """
    s = max(0.0, float(s))
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


class Progress:
    """Progress of one stage of work (``stage`` names it; ``unit`` names what is counted).

    Parameters
    ----------
    stage : str
        Shown before the count (``"replications"``, ``"power study: curves"``).
    total : float
        Work in the stage (a count, or a weight such as simulations).
    done : float
        Work already finished before this run (a resume).
    quiet : bool
        Print nothing.
    terminal : bool, optional
        Force the live bar (True) or plain lines (False); default: whether ``stream`` is a
        terminal.
    stream : file, optional
        Default ``sys.stderr``.
    unit : str
        Printed after the count in plain lines.
    bound : bool
        ``total`` is the most the stage may take, not what it will take: the time left is
        then a bound ("at most about ... left").
    """

    def __init__(
        self,
        stage: str,
        total: float,
        *,
        done: float = 0,
        quiet: bool = False,
        terminal: bool | None = None,
        stream: IO[str] | None = None,
        unit: str = "",
        bound: bool = False,
    ):
        self.stream = sys.stderr if stream is None else stream
        self.stage, self.unit = stage, unit
        self.total = max(float(total), 0.0)
        self.done = float(done)
        self.start_done = float(done)
        self.quiet = bool(quiet)
        self.bound = bool(bound)
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.terminal = bool(isatty()) if terminal is None else bool(terminal)
        self.t0 = time.monotonic()
        self._next_tenth = int(10 * self.done / self.total) + 1 if self.total else 11
        self._bar = None
        if self.quiet:
            return
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                console=Console(file=self.stream, stderr=self.stream is sys.stderr),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(stage, total=self.total or None, completed=self.done)
        else:
            word = "resuming" if self.done else "starting"
            self._line(word)

    def _count(self) -> str:
        fmt = (lambda v: f"{v:.0f}") if float(self.total).is_integer() else (lambda v: f"{v:.3g}")
        pct = 100.0 * self.done / self.total if self.total else 100.0
        unit = f" {self.unit}" if self.unit and self.unit != self.stage else ""
        return f"{fmt(self.done)}/{fmt(self.total)}{unit} ({pct:.0f}%)"

    def _line(self, tail: str) -> None:
        self.stream.write(f"hubsim: {self.stage} {self._count()} {tail}".rstrip() + "\n")
        self.stream.flush()

    def left(self) -> float | None:
        """Seconds left at this run's rate (None until something finished in this run)."""
        run = self.done - self.start_done
        if run <= 0 or self.total <= 0:
            return None
        return (time.monotonic() - self.t0) / run * max(self.total - self.done, 0.0)

    def set_stage(self, stage: str) -> None:
        """Name the stage now running (shown on the bar and in the next plain line)."""
        if stage == self.stage:
            return
        self.stage = stage
        if self._bar is not None:
            self._bar.update(self._task, description=stage)
        elif not self.quiet:
            self._line("")

    def advance(self, k: float = 1) -> None:
        """``k`` more units finished."""
        self.done += k
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        tenth = int(10 * self.done / self.total) if self.total else 10
        if tenth >= self._next_tenth and self.done < self.total:
            self._next_tenth = tenth + 1
            el = time.monotonic() - self.t0
            left = self.left()
            about = "at most about" if self.bound else "about"
            tail = f"{format_seconds(el)} elapsed" + (
                f", {about} {format_seconds(left)} left" if left is not None else ""
            )
            self._line(tail)

    def finish(self, reason: str) -> None:
        """End the stage done before its total: the rest was not needed (``reason`` says why).

        The rest counts as done, so the last line reads 100%, the same total as every line
        before it, followed by ``reason``.

        Examples
        --------
        >>> import io
        >>> buf = io.StringIO()
        >>> p = Progress("replications", total=8, stream=buf, terminal=False, bound=True)
        >>> p.advance(6)
        >>> p.finish("the target was met with 6, the other 2 were not needed")
        >>> buf.getvalue().splitlines()[-1]  # doctest: +ELLIPSIS
        'hubsim: replications 8/8 (100%) done in ...s (the target was met with 6, the other 2 were not needed)'
        """
        rest = max(self.total - self.done, 0.0)
        self.done += rest
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            self._bar.stop()
            self._bar = None
            self.stream.write(f"hubsim: {self.stage} done ({reason})\n")
            self.stream.flush()
            return
        self._line(f"done in {format_seconds(time.monotonic() - self.t0)} ({reason})")

    def close(self, status: str = "done") -> None:
        """End the stage (``status`` e.g. ``"done"`` or ``"interrupted"``)."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            if status != "done":
                self.stream.write(f"hubsim: {self.stage} {status} at {self._count()}\n")
            return
        self._line(f"{status} in {format_seconds(time.monotonic() - self.t0)}")
