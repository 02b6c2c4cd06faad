"""simulate_in_steps gives the frames of one hubsim.simulate call, with progress and cancel."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

import hubsim
from hubsim.des.result import FRAMES
from hubsim.experiment.steps import Cancelled, concat_results, simulate_in_steps


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config("site_d")


@pytest.mark.parametrize("workers", [1, 2])
def test_steps_give_the_frames_of_one_call(site_d, workers):
    kw = {"horizon_days": 120, "seed": 4, "warmup_days": 20}
    seen = []
    got = simulate_in_steps(
        site_d, replications=3, workers=workers, progress=lambda *a: seen.append(a), **kw
    )
    want = hubsim.simulate(site_d, replications=3, **kw)
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
    assert got.meta == want.meta
    assert seen[-1] == (3, 3) and len(seen) == -(-3 // workers)


def test_later_replications_extend_a_result(site_d):
    kw = {"horizon_days": 60, "seed": 2}
    a = simulate_in_steps(site_d, replications=2, **kw)
    b = simulate_in_steps(site_d, replications=1, first_replication=2, **kw)
    pd.testing.assert_frame_equal(
        concat_results([a, b]).clients, hubsim.simulate(site_d, replications=3, **kw).clients
    )


def test_concat_refuses_mismatched_parts(site_d):
    a = hubsim.simulate(site_d, horizon_days=30, seed=1)
    with pytest.raises(ValueError, match="seed"):
        concat_results([a, hubsim.simulate(site_d, horizon_days=30, seed=2)])
    with pytest.raises(ValueError, match="more than one"):
        concat_results([a, a])
    with pytest.raises(ValueError, match="at least one"):
        concat_results([])


def test_a_set_cancel_event_stops_before_the_next_step(site_d):
    stop = threading.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        stop.set()

    with pytest.raises(Cancelled):
        simulate_in_steps(site_d, horizon_days=30, replications=3, progress=progress, cancel=stop)
    assert calls == [1]
