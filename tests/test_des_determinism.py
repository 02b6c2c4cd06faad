"""Reproducibility: same seed, same frames; processes change nothing; CRN across configs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hubsim
from hubsim.experiment import vary

FRAMES = ("events", "clients", "weekly", "kpis", "staff_activity", "queue_area")


@pytest.fixture(scope="module")
def site_b(site_paths):
    return hubsim.load_config(site_paths["b"])


def _same(a, b):
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_same_seed_identical_frames_and_config_untouched(site_b):
    before = site_b.content_hash
    a = hubsim.simulate(site_b, horizon_days=200, seed=5, replications=2)
    b = hubsim.simulate(site_b, horizon_days=200, seed=5, replications=2)
    _same(a, b)
    assert site_b.to_dict() == hubsim.load_config(site_b_path()).to_dict()
    assert site_b.content_hash == before
    c = hubsim.simulate(site_b, horizon_days=200, seed=6, replications=2)
    assert not np.array_equal(a.clients["referred_at"], c.clients["referred_at"])


def site_b_path():
    from pathlib import Path

    return Path(__file__).resolve().parents[1] / "configs/sites/site_b.yaml"


def test_serial_equals_two_worker_processes(site_b):
    serial = hubsim.simulate(site_b, horizon_days=200, seed=9, replications=3, workers=1)
    parallel = hubsim.simulate(site_b, horizon_days=200, seed=9, replications=3, workers=2)
    _same(serial, parallel)
    # a replication does not depend on which others ran with it
    alone = hubsim.simulate(site_b, horizon_days=200, seed=9, replication_ids=[2])
    pd.testing.assert_frame_equal(
        alone.clients.reset_index(drop=True),
        serial.clients[serial.clients["replication"] == 2].reset_index(drop=True),
    )


def test_crn_configs_differing_in_wte_share_arrivals_and_clients(site_b):
    fewer = vary(site_b, {"service.workforce.roles[therapists].wte": 6.0})
    a = hubsim.simulate(site_b, horizon_days=300, seed=4)
    b = hubsim.simulate(fewer, horizon_days=300, seed=4)
    cols = ["client_id", "occupational_group", "referred_at", "phq9_pre", "gad7_pre", "risk_flag"]
    pd.testing.assert_frame_equal(a.clients[cols], b.clients[cols])
    assert np.array_equal(a.weekly["referrals"], b.weekly["referrals"])
    # ... while the staffing change does change what happens to them
    assert not a.clients["wait_to_first_treatment_days"].equals(b.clients["wait_to_first_treatment_days"])
    # a different scenario key gives different streams
    c = hubsim.simulate(site_b, horizon_days=300, seed=4, scenario="other")
    assert not np.array_equal(a.clients["referred_at"], c.clients["referred_at"])


@pytest.mark.parametrize(("workers", "chunksize"), [(2, 1), (2, 2), (3, None), (2, 5)])
def test_any_worker_count_and_chunking_gives_the_serial_frames(
    site_b, workers, chunksize, tmp_path, monkeypatch
):
    """Chunks of replications in worker processes (the configuration sent once per worker)
    stack into the serial frames, whatever the chunking; the work really is spread over
    several processes (each replication notes its process id)."""
    import importlib
    import os

    sim = importlib.import_module("hubsim.des.simulate")
    real = sim.run_replication

    def noting(config, **kw):
        (tmp_path / f"rep{kw['replication']}").write_text(str(os.getpid()))
        return real(config, **kw)

    serial = hubsim.simulate(site_b, horizon_days=120, seed=9, replications=5)
    monkeypatch.setattr(sim, "run_replication", noting)  # inherited by forked workers
    par = hubsim.simulate(
        site_b, horizon_days=120, seed=9, replications=5, workers=workers, chunksize=chunksize
    )
    _same(serial, par)
    for name in ("waiting_lists", "caseloads", "staff"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(par, name))
    pids = {(tmp_path / f"rep{r}").read_text() for r in range(5)}
    assert str(os.getpid()) not in pids
    if chunksize == 5:  # one chunk: one worker ran it all
        assert len(pids) == 1
    else:  # several chunks: spread over more than one worker
        assert len(pids) >= 2


def test_chunks_cover_every_replication_in_order():
    from hubsim.des.simulate import chunks

    for n in range(1, 23):
        for w in (1, 2, 3):
            for size in (None, 1, 4, 30):
                got = chunks(list(range(n)), w, size)
                assert [x for c in got for x in c] == list(range(n))
    with pytest.raises(ValueError, match="chunksize"):
        chunks([1, 2], 2, 0)
