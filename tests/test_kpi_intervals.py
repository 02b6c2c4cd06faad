"""Pooled KPI intervals respect the values a KPI can take (shares in [0, 1], counts >= 0).

One computation (``SimulationResult.tidy`` with ``hubsim.stats.bounded_t_interval``)
feeds ``hubsim run``'s printed summary, ``SimulationResult.summary`` and the paired
scenario differences, so all of them agree.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hubsim
from hubsim.des.kpis import kpi_range
from hubsim.experiment.compare import paired_differences
from hubsim.experiment.run import format_summary
from hubsim.stats import bounded_t_interval, t_interval


@pytest.fixture(scope="module")
def short_run():
    cfg = hubsim.load_config("site_d")
    return hubsim.simulate(cfg, horizon_days=60, seed=3, replications=3)


def test_bounded_interval_is_the_t_interval_inside_the_range():
    p, lo, hi, clipped = bounded_t_interval(0.5, 0.05, 4, 0.05, low=0.0, high=1.0)
    assert (p, lo, hi) == t_interval(0.5, 0.05, 4, 0.05)
    assert not clipped


def test_bounded_interval_clips_at_each_bound():
    _, lo_t, hi_t = t_interval(0.998, 0.002, 2, 0.05)
    _, lo, hi, clipped = bounded_t_interval(0.998, 0.002, 2, 0.05, low=0.0, high=1.0)
    assert hi_t > 1 and (lo, hi, clipped) == (lo_t, 1.0, True)
    _, lo, hi, clipped = bounded_t_interval(0.02, 0.02, 2, 0.05, low=0.0)
    assert (lo, clipped) == (0.0, True) and hi == t_interval(0.02, 0.02, 2, 0.05)[2]
    # every replication equal: the point itself, not clipped
    assert bounded_t_interval(1.0, 0.0, 2, 0.05, low=0.0, high=1.0)[1:] == (1.0, 1.0, False)
    with pytest.raises(ValueError, match="low"):
        bounded_t_interval(0.5, 0.1, 2, 0.05, low=1.0, high=0.0)


def test_kpi_ranges():
    assert kpi_range("wait_to_first_treatment_within_6w_share") == (0.0, 1.0)
    assert kpi_range("recovery_rate") == (0.0, 1.0)
    assert kpi_range("waiting_list_step3_mean") == (0.0, math.inf)
    assert kpi_range("wait_to_first_treatment_mean_days") == (0.0, math.inf)


def _near_bounds(res):
    """The result with a share near 1 and a waiting list near 0, as in a real 3-rep run."""
    k = res.kpis.copy()
    k["wait_to_first_treatment_within_6w_share"] = [1.0, 1.0, 0.994]
    k["waiting_list_step3_mean"] = [0.0, 0.0, 0.06]
    return dataclasses.replace(res, kpis=k)


def test_every_pooled_interval_lies_in_the_kpis_range(short_run):
    for res in (short_run, _near_bounds(short_run)):
        t = res.tidy().dropna(subset=["ci_low"])
        for r in t.itertuples(index=False):
            low, high = kpi_range(r.kpi)
            assert low <= r.ci_low <= r.mean <= r.ci_high <= high, r.kpi


def test_clipped_intervals_are_flagged_and_noted(short_run):
    res = _near_bounds(short_run)
    t = res.tidy().set_index("kpi")
    share = t.loc["wait_to_first_treatment_within_6w_share"]
    x = np.array([1.0, 1.0, 0.994])
    half = stats.t.ppf(0.975, 2) * x.std(ddof=1) / math.sqrt(3)
    assert share["ci_clipped"] and share["ci_high"] == 1.0
    assert share["ci_low"] == pytest.approx(x.mean() - half, abs=1e-12)
    wl = t.loc["waiting_list_step3_mean"]
    assert wl["ci_clipped"] and wl["ci_low"] == 0.0
    text = format_summary(res)
    line = next(s for s in text.splitlines() if s.startswith("1st treatment within 6 weeks"))
    assert line.endswith("(clipped)") and "100.0%]" in line
    for pct in re.findall(r"(-?\d+\.\d)%", text):
        assert 0.0 <= float(pct) <= 100.0
    assert "-0.0" not in text
    assert "cut at that bound" in text and "cut at that bound" in res.summary()
    # the plain run's summary has no clipped note when nothing was clipped
    plain = short_run.tidy()
    if not plain["ci_clipped"].any():
        assert "cut at that bound" not in format_summary(short_run)


def test_paired_share_differences_stay_in_minus_one_to_one():
    long = pd.DataFrame(
        {
            "scenario": ["a"] * 3 + ["b"] * 3,
            "replication": [0, 1, 2] * 2,
            "kpi": "recovery_rate",
            "value": [0.0, 0.02, 0.4, 1.0, 1.0, 0.98],
        }
    )
    out = paired_differences(long, "a").iloc[0]
    assert out["ci_clipped"] and out["ci_high"] == 1.0
    assert -1.0 <= out["ci_low"] < out["mean_difference"]
    unbounded = long.assign(kpi="wait_days")
    d = paired_differences(unbounded, "a").iloc[0]
    assert not d["ci_clipped"] and d["ci_high"] > 1.0
