"""A finished run leaves no reference cycles behind, so its objects are freed at once.

The kernel runs with the cyclic collector off. Had the model stayed in a cycle (through the
bound methods on its event heap, in its booking passes or in the risk calls'
continuations), every object of the run would wait for the collector, whose first pass
after a run cost about 20 ms a run (benchmarks/bench_des.py prints it).
"""

from __future__ import annotations

import gc
import weakref

import pytest

import hubsim
from hubsim.des import HubModel


def _freed_by_refcount(cfg, horizon):
    was = gc.isenabled()
    gc.disable()
    try:
        model = HubModel(cfg, horizon, seed=3, scenario="teardown", replication=0)
        rec = model.run()
        ref = weakref.ref(model)
        del model
        return ref() is None, rec
    finally:
        if was:
            gc.enable()


def test_a_finished_model_is_freed_without_the_cyclic_collector(site_paths):
    # Site D: risk calls to the duty clinician (continuations), courses, team support and
    # events beyond the horizon left on the heap
    cfg = hubsim.load_config(site_paths["d"])
    freed, rec = _freed_by_refcount(cfg, 90)
    assert rec.n_clients > 0
    assert freed, "the model is still referenced after the run: a reference cycle is left"


def test_a_model_runs_once_and_says_so_the_second_time():
    # a run books into the diaries the model was built with, so a second run of the same
    # model would start from a used state: it is refused with a clear error
    cfg = hubsim.load_config("mmc")
    model = HubModel(cfg, 120, seed=2, scenario="teardown", replication=0)
    assert model.run().n_clients > 0
    with pytest.raises(RuntimeError, match="already run"):
        model.run()
