"""The vidigi / HSMA view of the event log, on every pandas the package supports.

Resource ids are the members' numbers in the staff table, unique across roles.

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
    """A resource id is the member's number in the staff table (from 1, across all roles),
    so ids never collide between roles sharing a step's pool (issue 9)."""
    ev = site_d_run.events
    v = site_d_run.vidigi_event_log
    staffed = ev["staff_id"].notna().to_numpy()
    assert staffed.any() and (~staffed).any()
    use = v[v["event_type"].isin(["resource_use", "resource_use_end"])]
    assert len(use) > 0 and use["resource_id"].notna().all()
    labels = site_d_run.staff["staff_id"].tolist()
    src = ev[ev["event"].astype(str).isin(["begins", "completes"]) & (ev["client_id"] >= 0)]
    single = ~src["appointment_id"].duplicated(keep=False) | (src["stage"].astype(str) != "group")
    want = [labels.index(str(s)) + 1 for s in src.loc[single, "staff_id"]]
    got = use["resource_id"].to_numpy()[single.to_numpy()].tolist()
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
            "staff_id": pd.Categorical([None, "therapists_3", None], categories=["x_1", "therapists_3"]),
            "appointment_id": [-1, 0, -1],
        }
    )
    v = vidigi_log(events)
    assert v["event_type"].tolist() == ["arrival_departure", "resource_use", "arrival_departure"]
    assert v["resource_id"].isna().tolist() == [True, False, True]
    assert int(v["resource_id"].iloc[1]) == 2  # the second member of the staff list
    assert np.issubdtype(v["time"].dtype, np.floating)
