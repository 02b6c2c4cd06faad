"""vidigi round trip: a Site D replication's log, fed to vidigi 2 (a dev-only oracle),
shows no phantom resource use.

vidigi snapshots each entity's latest event: a client is drawn on resource ``resource_id``
from its ``<stage>_begins`` (``resource_use``) to its ``<stage>_complete``
(``resource_use_end``). So every use must end (unless the horizon cuts the appointment),
no two clients may hold one resource at one snapshot, and a client drawn on a resource
must be in an appointment with that member of staff at that moment. Times are scaled to
minutes for half-hourly snapshots over a fortnight (appointments last hours).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import hubsim

pytestmark = pytest.mark.oracle

vidigi_animation = pytest.importorskip("vidigi.animation")

MIN_PER_DAY = 1440.0
T0_DAY, DAYS = 200, 14  # a fortnight inside the full-opening year


@pytest.fixture(scope="module")
def run():
    return hubsim.simulate(
        hubsim.load_config("site_d"), start="2020-11-01", end="2020-12-31", replications=2, seed=1
    )


@pytest.fixture(scope="module")
def log(run):
    one = run.replication(1)
    pd.testing.assert_frame_equal(
        one.vidigi_event_log, run.vidigi(run=1).reset_index(drop=True), check_index_type=False
    )
    return one, one.vidigi_event_log


@pytest.fixture(scope="module")
def snapshots(log):
    _, v = log
    minutes = v.assign(time=v["time"] * MIN_PER_DAY)
    t0 = T0_DAY * MIN_PER_DAY
    return vidigi_animation.reshape_for_animations(
        minutes,
        every_x_time_units=30,
        limit_duration=int(t0 + DAYS * MIN_PER_DAY),
        warm_up=int(t0),
        step_snapshot_max=1000,
    )


def test_one_replication_a_run(run, log):
    one, v = log
    assert set(v["run"]) == {1}
    assert set(run.vidigi_event_log["run"]) == {0, 1}
    assert one.meta["replications"] == [1]


def test_every_resource_use_ends_unless_the_horizon_cuts_it(run, log):
    one, v = log
    use = v[v["event_type"] == "resource_use"]
    end = v[v["event_type"] == "resource_use_end"]
    key = ["entity_id", "resource_id"]
    began = use.groupby(key).size()
    ended = end.groupby(key).size().reindex(began.index, fill_value=0)
    open_ = (began - ended)[lambda s: s != 0]
    assert (open_ > 0).all(), "an end with no beginning"
    # what is still open is exactly the appointments running at the horizon
    H = run.meta["horizon_days"]
    act = one.staff_activity
    running = act[(act["client_id"] >= 0) & (act["start"] < H) & (act["end"] > H)]
    assert int(open_.sum()) == len(running)
    # per client and resource, uses and ends alternate in time, a use first (an end and
    # the next use at one moment: back-to-back sessions, the end first)
    both = pd.concat([use.assign(b=1), end.assign(b=0)]).sort_values(
        [*key, "time", "b"], kind="stable"
    )
    for _, g in both.groupby(key):
        b = g["b"].to_numpy()
        assert (b[::2] == 1).all() and (b[1::2] == 0).all()


def test_no_two_clients_share_a_resource_in_any_snapshot(snapshots):
    use = snapshots[snapshots["event_type"] == "resource_use"]
    assert len(use) > 50  # the fortnight is busy enough to test something
    per = use.groupby(["snapshot_time", "resource_id"])["entity_id"].nunique()
    assert per.max() == 1


def test_a_client_on_a_resource_is_in_an_appointment_then(log, snapshots):
    one, _ = log
    staff = one.staff["staff_id"].tolist()
    act = one.staff_activity[one.staff_activity["client_id"] >= 0]
    use = snapshots[snapshots["event_type"] == "resource_use"]
    n_staff = len(staff)
    checked = 0
    for r in use.itertuples(index=False):
        t = r.snapshot_time / MIN_PER_DAY
        c = act[(act["client_id"] == r.entity_id) & (act["start"] <= t) & (act["end"] > t)]
        assert len(c) >= 1, f"client {r.entity_id} drawn on resource {r.resource_id} at day {t}"
        if int(r.resource_id) <= n_staff:  # a member of staff (group seats come after)
            assert staff[int(r.resource_id) - 1] in set(c["staff_id"].astype(str)), r
            checked += 1
    assert checked > 0


def _positions(v):
    events = sorted(set(v["event"]) - {"arrival", "depart"})
    rows = [
        {"event": "arrival", "x": 10, "y": 50, "label": "Arrival"},
        {"event": "depart", "x": 10, "y": 10, "label": "Exit"},
    ]
    for i, e in enumerate(events):
        res = "n_resources" if e.endswith("_begins") and not e.endswith("wait_begins") else None
        rows.append({"event": e, "x": 400, "y": 60 + 40 * i, "label": e, "resource": res})
    return pd.DataFrame(rows)


def test_vidigi_places_every_snapshot(log, snapshots):
    """vidigi's placement step accepts the log's resources (each id a distinct slot)."""
    _, v = log
    pos = _positions(v)
    df = vidigi_animation.generate_animation_df(snapshots, pos, wrap_resources_at=40)
    assert {"x_final", "y_final"} <= set(df.columns)
    placed = df[df["event_type"] == "resource_use"]
    assert len(placed) == int((snapshots["event_type"] == "resource_use").sum())
    slots = placed.groupby(["snapshot_time", "event", "x_final", "y_final"]).size()
    assert slots.max() == 1


def test_vidigi_animates_a_site_d_replication(log):
    _, v = log
    minutes = v.assign(time=v["time"] * MIN_PER_DAY)
    pos = _positions(v)
    n = int(np.nanmax(v["resource_id"].astype(float)))
    fig = vidigi_animation.animate_activity_log(
        minutes,
        pos,
        scenario=SimpleNamespace(n_resources=n),
        every_x_time_units=60,
        limit_duration=int((T0_DAY + 3) * MIN_PER_DAY),
        warm_up=int(T0_DAY * MIN_PER_DAY),
        simulation_time_unit="minutes",
        step_snapshot_max=500,
        wrap_resources_at=40,
    )
    assert len(fig.frames) > 10
