"""The vidigi / HSMA view of the event log, on every pandas the package supports.

pandas 3 keeps a missing ``staff_id`` as NaN through ``astype(str)`` where pandas 2 gave
the string ``"nan"``; the view must read both the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hubsim
from hubsim.des.frames import vidigi_log


@pytest.fixture(scope="module")
def site_d_run(site_paths):
    return hubsim.simulate(hubsim.load_config(site_paths["d"]), horizon_days=60, seed=3)


def test_site_d_resource_ids_are_the_staff_numbers(site_d_run):
    ev = site_d_run.events
    v = site_d_run.vidigi_event_log
    staffed = ev["staff_id"].notna().to_numpy()
    assert staffed.any() and (~staffed).any()
    use = v[v["event_type"].isin(["resource_use", "resource_use_end"])]
    assert len(use) > 0 and use["resource_id"].notna().all()
    # the same rows of the log, in order: the number is the staff label's suffix
    src = ev[ev["event"].astype(str).isin(["begins", "completes"])]
    want = [int(str(s).rsplit("_", 1)[1]) if pd.notna(s) else pd.NA for s in src["staff_id"]]
    got = use["resource_id"].tolist()
    assert got == want


def test_rows_without_staff_have_no_resource():
    events = pd.DataFrame(
        {
            "replication": [0, 0, 0],
            "client_id": [1, 1, 1],
            "time": [0.0, 1.0, 2.0],
            "stage": pd.Categorical(["screening", "assessment", "assessment"]),
            "event": pd.Categorical(["arrival", "begins", "discharged"]),
            "role": pd.Categorical([None, "therapists", None]),
            "staff_id": pd.Categorical([None, "therapists_3", None]),
        }
    )
    v = vidigi_log(events)
    assert v["event_type"].tolist() == ["arrival_departure", "resource_use", "arrival_departure"]
    assert v["resource_id"].isna().tolist() == [True, False, True]
    assert int(v["resource_id"].iloc[1]) == 3
    assert np.issubdtype(v["time"].dtype, np.floating)
