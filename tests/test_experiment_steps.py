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
    assert seen == [(1, 3), (2, 3), (3, 3)]


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


# ------------------------------------------------------------------- replications algorithm
from hubsim.experiment import (  # noqa: E402
    ReplicationTarget,
    describe_target,
    replications_needed,
    simulate_to_precision,
)
from hubsim.stats import mean_mcse, t_interval  # noqa: E402


def _relative_half_width(x):
    mean, se, n = mean_mcse(x)
    return (t_interval(mean, se, n - 1, 0.05)[2] - mean) / mean


def test_simulate_to_precision_stops_where_replications_needed_does(site_d):
    kpi = "wait_to_first_assessment_mean_days"
    target = ReplicationTarget(kpis=[kpi], relative_half_width=0.15, initial=3, look_ahead=2, max=12)
    seen = []
    res, p = simulate_to_precision(
        site_d, target, horizon_days=120, seed=2, workers=2, progress=lambda *a: seen.append(a)
    )
    values = res.kpis[kpi].to_numpy()
    assert len(values) == p.n_used
    # the result is hubsim.simulate's replications 0 .. n_used - 1, whatever the batches
    want = hubsim.simulate(site_d, horizon_days=120, seed=2, replications=p.n_used)
    pd.testing.assert_frame_equal(res.kpis, want.kpis)
    if p.reached:
        # the decision is the experiments runner's on the same values; no smaller n is
        assert replications_needed({("a", kpi): values}, target) == (p.n_solution, p.n_used)
        assert p.n_used == p.n_solution + target.look_ahead
        for m in range(target.initial, p.n_used):
            assert replications_needed({("a", kpi): values[:m]}, target)[0] is None
        assert p.half_width == pytest.approx(_relative_half_width(values))
        assert p.half_width <= target.relative_half_width
        assert f"{p.n_solution} replications reach the target" in p.describe()
    else:
        assert p.n_used == target.max
    assert seen[-1][1] == target.max and seen[-1][0] >= len(values)  # batches of workers


def test_a_target_out_of_reach_stops_at_max(site_d):
    kpi = "wait_to_first_assessment_mean_days"
    target = ReplicationTarget(
        kpis=[kpi], relative_half_width=1e-6, initial=3, look_ahead=2, max=4
    )
    res, p = simulate_to_precision(site_d, target, horizon_days=60, seed=1)
    assert (p.reached, p.n_used, len(res.kpis)) == (False, 4, 4)
    assert "not reached by the maximum of 4" in p.describe()


def test_an_unknown_kpi_is_a_sentence(site_d):
    target = ReplicationTarget(kpis=["no_such_kpi"], relative_half_width=0.1, initial=3)
    with pytest.raises(ValueError, match="unknown KPI 'no_such_kpi'"):
        simulate_to_precision(site_d, target, horizon_days=30)


def test_describe_target_names_the_kpi_and_bounds():
    t = ReplicationTarget(kpis=["w"], absolute_half_width=0.5, initial=4, max=9, look_ahead=3)
    text = describe_target(t)
    assert "within 0.5 of w" in text and "at least 4, at most 9, confirmed over 3 more" in text
