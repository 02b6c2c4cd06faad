"""Progress on stderr: plain lines about every tenth when not a terminal, a live bar on one,
nothing with quiet."""

from __future__ import annotations

import io
import re

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
