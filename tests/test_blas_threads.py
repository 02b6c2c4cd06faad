"""The estimators run BLAS on one thread while they work, and restore it afterwards.

``hubsim.stats.one_blas_thread`` exists because OpenBLAS's threads made the estimators'
small fits 3.5 times slower with two processes on two cores (benchmarks/bench_estimators.py).
These tests check the limit is in force inside each public estimator (spied where the
estimator calls into numpy's linear algebra) and lifted on exit, so a caller's own thread
setting survives.
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from hubsim.estimators import callaway_santanna, event_study, twfe
from hubsim.regional import RegionalDesign
from hubsim.rng import stream
from hubsim.stats import one_blas_thread


def _blas_threads() -> set[int]:
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


@pytest.fixture(scope="module")
def panel():
    design = RegionalDesign(n_regions=10, n_treated=4, schedule=(5, 6, 7), n_periods=10)
    df = design.simulate(stream(5, "blas-threads", 0, "panel"))
    df["g"] = df["cohort"].where(df["cohort"] > 0)
    return df


def test_the_context_limits_and_restores():
    with threadpool_limits(2, "blas"):
        with one_blas_thread():
            assert _blas_threads() == {1}
            with one_blas_thread():  # nested: the inner exit keeps the outer limit
                pass
            assert _blas_threads() == {1}
        assert _blas_threads() == {2}


@pytest.mark.parametrize("name", ["twfe", "event_study", "callaway_santanna"])
def test_estimators_fit_on_one_thread_and_restore_the_callers(panel, name, monkeypatch):
    seen = []
    lstsq = np.linalg.lstsq
    pinv = np.linalg.pinv

    def spy(f):
        def wrapped(*a, **k):
            seen.append(_blas_threads())
            return f(*a, **k)

        return wrapped

    monkeypatch.setattr(np.linalg, "lstsq", spy(lstsq))
    monkeypatch.setattr(np.linalg, "pinv", spy(pinv))
    with threadpool_limits(2, "blas"):
        if name == "twfe":
            twfe(panel, "y", "region", "period", "treated", inference="wild", seed=0)
        elif name == "event_study":
            event_study(panel, "y", "region", "period", cohort="g", weights="n", seed=0)
        else:
            r = callaway_santanna(panel, "y", "region", "period", cohort="cohort", seed=0)
            r.pretrend()
        after = _blas_threads()
    assert seen, f"{name} made no lstsq/pinv call to observe"
    assert all(s == {1} for s in seen), seen
    assert after == {2}
