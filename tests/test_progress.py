"""Progress on stderr: plain lines about every tenth when not a terminal, a live bar on one,
nothing with quiet; an experiment's lines keep one total, and a finished run ends at 100%."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from hubsim.progress import Progress


def test_plain_lines_every_tenth_with_stage_counts_and_time_left():
    buf = io.StringIO()
    p = Progress("replications", total=100, stream=buf, terminal=False, unit="replications")
    for _ in range(100):
        p.advance()
    p.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "hubsim: replications 0/100 (0%) starting"
    middle = lines[1:-1]
    assert [int(re.search(r"\((\d+)%\)", ln)[1]) for ln in middle] == list(range(10, 100, 10))
    assert all("elapsed" in ln and "left" in ln for ln in middle)
    assert lines[-1].startswith("hubsim: replications 100/100 (100%) done in")


def test_a_resumed_stage_counts_what_was_done_and_names_new_stages():
    buf = io.StringIO()
    p = Progress("power study", total=20, done=8, stream=buf, terminal=False, unit="cells")
    p.set_stage("power study: curves")
    for _ in range(12):
        p.advance()
    p.close("done")
    lines = buf.getvalue().splitlines()
    assert lines[0] == "hubsim: power study 8/20 cells (40%) resuming"
    assert lines[1] == "hubsim: power study: curves 8/20 cells (40%)"
    assert len(lines) == 2 + 5 + 1  # 50%..90%, then the end
    assert lines[-1].startswith("hubsim: power study: curves 20/20 cells (100%) done")


def test_quiet_prints_nothing_and_a_terminal_gets_a_bar():
    buf = io.StringIO()
    p = Progress("x", total=3, stream=buf, terminal=False, quiet=True)
    p.advance(3)
    p.close()
    assert buf.getvalue() == ""
    tty = io.StringIO()
    bar = Progress("replications", total=4, stream=tty, terminal=True, unit="replications")
    bar.advance(4)
    bar.close()
    text = tty.getvalue()
    assert "replications" in text and "4/4" in text


def test_a_bounded_stage_counts_against_its_bound_and_ends_at_100_percent():
    buf = io.StringIO()
    p = Progress("replications", total=40, stream=buf, terminal=False, unit="runs", bound=True)
    for _ in range(25):
        p.advance()
    p.finish("the other 15 were not needed")
    lines = buf.getvalue().splitlines()
    assert all("/40 runs (" in ln for ln in lines), lines
    assert all("at most about" in ln for ln in lines[1:-1])
    assert re.fullmatch(
        r"hubsim: replications 40/40 runs \(100%\) done in \d+s \(the other 15 were not needed\)",
        lines[-1],
    )
    # on a terminal the bar completes and the reason follows it
    tty = io.StringIO()
    bar = Progress("replications", total=4, stream=tty, terminal=True, unit="runs", bound=True)
    bar.advance(3)
    bar.finish("1 not needed")
    assert "4/4" in tty.getvalue() and "replications done (1 not needed)" in tty.getvalue()


def _small_staffing(tmp_path: Path, replications: str) -> Path:
    """The shipped site_d_staffing experiment, shrunk: a 30-day horizon, few replications."""
    from hubsim.resources import experiment_path

    text = experiment_path("site_d_staffing").read_text(encoding="utf-8")
    start, end = text.index("window:"), text.index("baseline:")
    # its scenarios name shipped configurations (site_d_band_shift), found from any folder
    p = tmp_path / "small_staffing.yaml"
    p.write_text(text[:start] + f"horizon_days: 30\n{replications}\n" + text[end:], "utf-8")
    return p


def _lines(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith("hubsim: replications")]


@pytest.mark.parametrize(
    ("replications", "total", "stopped_early"),
    [
        ("replications: 2", "10", False),
        # the algorithm's target is loose, so it stops (at 4 a scenario) before its maximum
        (
            "replications: {kpis: [wait_to_first_treatment_mean_days], "
            "relative_half_width: 5.0, initial: 3, look_ahead: 1, max: 6}",
            "30",
            True,
        ),
    ],
    ids=["fixed", "algorithm"],
)
def test_an_experiments_progress_keeps_one_total_and_a_resumed_run_ends_at_100_percent(
    tmp_path, capsys, replications, total, stopped_early
):
    from hubsim.experiment import run_experiment

    path = _small_staffing(tmp_path, replications)
    out = tmp_path / "out"
    kw = {"quiet": False, "terminal": False, "report": False, "workers": 1}
    first = run_experiment(path, out, **kw)
    lines = _lines(capsys.readouterr().err)
    again = run_experiment(path, out, **kw)
    resumed = _lines(capsys.readouterr().err)
    assert again.resumed == first.n_replications * 5
    for run in (lines, resumed):
        counts = [re.search(r" (\d+)/(\d+)(?: replications)? \((\d+)%\)", ln) for ln in run]
        assert all(m is not None and m[2] == total for m in counts), run
        assert counts[-1][1] == total and counts[-1][3] == "100", run
        assert " done in " in run[-1]
        assert ("were not needed" in run[-1]) == stopped_early, run
    assert "starting" in lines[0] and "resuming" in resumed[0]
    assert len(resumed) == 2
