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
from hubsim.experiment.steps import (  # noqa: E402
    ReplicationRule,
    relative_half_width,
    replications_decision,
    simulate_to_precision,
)


def test_the_decision_needs_the_look_ahead_to_stay_precise():
    rule = ReplicationRule(kpi="w", relative_half_width=0.05, initial=3, look_ahead=3, max=20)
    steady = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0]
    assert replications_decision(steady[:3], rule) == (None, 6)  # precise at 3: look ahead
    assert replications_decision(steady, rule) == (3, 6)
    # an outlier inside the look-ahead breaks the candidate: the search moves on
    jumpy = [10.0, 10.2, 9.8, 14.0, 10.1, 9.9, 10.0, 10.1, 9.9, 10.0]
    n, _ = replications_decision(jumpy, rule)
    assert n is None or n > 4
    for m in range(n or len(jumpy), len(jumpy) + 1):
        if n is not None and m <= n + rule.look_ahead:
            assert relative_half_width(jumpy[:m], 0.95) <= 0.05
    # never beyond max
    rule = ReplicationRule(kpi="w", relative_half_width=0.01, initial=3, look_ahead=2, max=5)
    assert replications_decision([1, 9, 1, 9, 1], rule) == (None, 5)


def test_rule_checks():
    with pytest.raises(ValueError, match="relative_half_width"):
        ReplicationRule(relative_half_width=0)
    with pytest.raises(ValueError, match="initial"):
        ReplicationRule(initial=2)


def test_simulate_to_precision_stops_when_the_rule_is_met(site_d):
    rule = ReplicationRule(relative_half_width=0.15, initial=3, look_ahead=2, max=12)
    seen = []
    res, n, rel = simulate_to_precision(
        site_d, rule, horizon_days=120, seed=2, workers=1, progress=lambda *a: seen.append(a)
    )
    values = res.kpis[rule.kpi].to_numpy()
    have = len(values)
    if n < rule.max:
        assert rel <= rule.relative_half_width
        assert have == min(n + rule.look_ahead, rule.max)
        for m in range(n, have + 1):
            assert relative_half_width(values[:m]) <= rule.relative_half_width
        for m in range(rule.initial, n):  # no smaller n is confirmed
            assert replications_decision(values[:m], rule)[0] is None
    assert seen[-1] == (have, rule.max)
    want = hubsim.simulate(site_d, horizon_days=120, seed=2, replications=have)
    pd.testing.assert_frame_equal(res.kpis, want.kpis)
