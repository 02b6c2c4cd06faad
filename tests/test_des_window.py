"""Run length and warm-up by date: CLI, YAML and ``hubsim.simulate`` agree with day counts."""

from __future__ import annotations

import datetime as dt
import importlib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.des.window import first_full_year, full_opening_day, resolve_window


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config("site_d")


def test_dates_map_to_days_from_the_period_start(site_d):
    # period.start 2020-05-01: 2021-09-01 is day 488; 2022-08-31 is day 852, the last
    w = resolve_window(site_d, start="2021-09-01", end=dt.date(2022, 8, 31))
    assert (w.warmup_days, w.horizon_days) == (488.0, 853.0)
    assert (w.start, w.end, w.days) == (dt.date(2021, 9, 1), dt.date(2022, 8, 31), 365.0)
    d = resolve_window(site_d, horizon_days=853, warmup_days=488)
    assert d == w
    assert resolve_window(site_d) == resolve_window(site_d, horizon_days=365, warmup_days=0)


def test_a_date_window_gives_the_same_frames_as_its_days(site_d):
    a = hubsim.simulate(site_d, start="2020-06-01", end="2020-08-31", seed=4, replications=2)
    b = hubsim.simulate(site_d, horizon_days=123, warmup_days=31, seed=4, replications=2)
    for name in ("kpis", "clients", "events", "weekly"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert a.meta["window_start"] == "2020-06-01" and a.meta["window_end"] == "2020-08-31"
    assert "KPI window 2020-06-01 to 2020-08-31 (92 days)" in a.summary()
    # frames carry calendar dates beside day numbers
    for name, day, date in (
        ("weekly", "week_start_day", "week_start"),
        ("waiting_lists", "week_start_day", "week_start"),
        ("clients", "referred_at", "referred_on"),
    ):
        df = getattr(a, name)
        days = np.floor(df[day].to_numpy()).astype("timedelta64[D]")
        want = np.datetime64("2020-05-01") + days
        assert (df[date].to_numpy().astype("datetime64[D]") == want).all(), name


def test_first_full_year_starts_when_every_group_is_open(site_d):
    opens = max(g.opens for g in site_d.service.target_population.groups)
    assert full_opening_day(site_d) == opens == dt.date(2020, 11, 1)
    w = first_full_year(site_d)
    assert (w.start, w.end) == (dt.date(2020, 11, 1), dt.date(2021, 10, 31))
    # nothing in the window is half-open: every group refers from its first day
    assert all(g.opens <= w.start for g in site_d.service.target_population.groups)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2019-01-01"}, "start: 2019-01-01 is outside the configuration's period"),
        ({"end": "2024-01-01"}, "end: 2024-01-01 is outside"),
        ({"start": "2022-01-02", "end": "2022-01-01"}, "on or before its last day"),
        ({"end": "2022-01-01", "horizon_days": 30}, "either horizon_days or end"),
        ({"start": "2022-01-01", "warmup_days": 3}, "either warmup_days or start"),
        ({"start": "1 Sept"}, "start: expected a date YYYY-MM-DD"),
    ],
)
def test_bad_windows_are_one_clear_sentence(site_d, kwargs, message):
    with pytest.raises(ValueError, match=message):
        hubsim.simulate(site_d, **kwargs)


def _yaml(tmp_path, body: str):
    p = tmp_path / "d.yaml"
    p.write_text("extends: site_d\nname: d_window\nsimulation:\n" + body)
    return p


def test_yaml_horizon_and_warmup_as_dates(tmp_path, site_d):
    cfg = hubsim.load_config(_yaml(tmp_path, "  horizon: 2020-08-31\n  warmup: 2020-06-01\n"))
    res = hubsim.simulate(cfg, seed=4, replications=2)
    assert (res.meta["horizon_days"], res.meta["warmup_days"]) == (123.0, 31.0)
    days = hubsim.load_config(_yaml(tmp_path, "  horizon: 123\n  warmup: 31\n"))
    assert resolve_window(days) == resolve_window(cfg)
    # a caller's days win over the configuration's dates
    assert resolve_window(cfg, horizon_days=60).horizon_days == 60.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("  horizon: 2030-01-01\n", "line 4: simulation.horizon: expected a date inside"),
        (
            "  horizon: 2021-08-31\n  warmup: 2021-09-01\n",
            "line 5: simulation.warmup: expected the warm-up to end before the horizon",
        ),
        ("  warmup: -3\n", "simulation.warmup: expected a date or a non-negative number"),
        ("  horizonn: 30\n", "horizonn"),
        (
            "  horizon: soon\n",
            "line 4: simulation.horizon: expected a date \\(YYYY-MM-DD\\) or a number of days, "
            "got 'soon'",
        ),
        ("  warmup: true\n", "simulation.warmup: expected a date .* or a number of days, got True"),
    ],
)
def test_yaml_window_errors_name_file_line_and_field(tmp_path, body, message):
    with pytest.raises(hubsim.ConfigError, match=message) as err:
        hubsim.load_config(_yaml(tmp_path, body))
    assert "d.yaml" in str(err.value)
    # one sentence, not one per type the field accepts
    assert len(str(err.value).strip().splitlines()) == 1


def test_cli_window_by_dates_and_its_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["run", "site_d", "--start", "2020-06-01", "--end", "2020-07-31"])
    assert res.exit_code == 0, res.output
    assert "KPI window 2020-06-01 to 2020-07-31 (61 days), simulated from 2020-05-01" in res.output
    for args, message in (
        (["--start", "2022-13-01"], "--start: expected a date YYYY-MM-DD, got '2022-13-01'."),
        (["--end", "2030-01-01"], "--end: 2030-01-01 is outside the configuration's period"),
        (["--end", "2021-01-01", "--horizon-days", "30"], "either --horizon-days or --end"),
    ):
        bad = runner.invoke(app, ["run", "site_d", *args])
        assert bad.exit_code == 2 and message in bad.output, bad.output
        assert "Traceback" not in bad.output


def test_cli_default_window_is_the_first_full_opening_year(monkeypatch):
    """``hubsim run site_d`` covers 2020-11-01 to 2021-10-31, warmed up from 2020-05-01
    (checked on the window it asks simulate for, without running 549 days)."""
    sim = importlib.import_module("hubsim.des.simulate")
    real = sim.simulate
    seen = {}

    def fake(config, **kw):
        seen.update(kw)
        return real(config, **{**kw, "horizon_days": 5, "warmup_days": 0})

    monkeypatch.setattr(sim, "simulate", fake)
    res = CliRunner().invoke(app, ["run", "site_d"])
    assert res.exit_code == 0, res.output
    assert (seen["horizon_days"], seen["warmup_days"]) == (549.0, 184.0)


def test_cli_run_out_stores_the_date_window(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(
        app,
        [
            "run",
            "site_d",
            "-r",
            "2",
            "--start",
            "2020-06-01",
            "--end",
            "2020-07-31",
            "--out",
            str(out),
            "--workers",
            "1",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "site_d: 92 days, 2 replication(s)" in res.output
    assert "KPI window 2020-06-01 to 2020-07-31 (61 days)" in res.output
    bad = CliRunner().invoke(
        app, ["run", "site_d", "--end", "2030-01-01", "--out", str(tmp_path / "b")]
    )
    assert bad.exit_code == 2 and not (tmp_path / "b").exists()
