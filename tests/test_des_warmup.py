"""MSER-5 warm-up: the statistic, its truncation on series with a known transient, the
helper on a simulated hub and its CLI entry."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.des.warmup import SERIES_COLUMNS, mser, suggest_warmup


def test_mser_equals_its_definition():
    rng = np.random.default_rng(1)
    y = rng.normal(size=103)
    d, values = mser(y, 5)
    z = y[:100].reshape(20, 5).mean(axis=1)
    for k in range(19):
        rest = z[k:]
        assert values[k] == pytest.approx(rest.var(ddof=0) / len(rest), rel=1e-12)
    assert d == int(np.argmin(values[:11]))


@pytest.mark.parametrize("ramp_batches", [2, 6, 10])
def test_mser_finds_a_known_transient(ramp_batches):
    """A linear fill-up over ``ramp_batches`` batches then stationary AR(1) noise (phi
    0.5, unit innovations; fixed seeds): the truncation removes the fill-up (at most its
    last batch is kept) and the mean of what is left is within 4 long-run standard errors
    (``1 / (1 - phi) / sqrt(n)``) of the steady state."""
    for seed in range(5):
        rng = np.random.default_rng(seed)
        n_ramp, n = 5 * ramp_batches, 300
        e = np.zeros(n)
        for t in range(1, n):
            e[t] = 0.5 * e[t - 1] + rng.normal(scale=1.0)
        y = 20.0 + e
        y[:n_ramp] = np.linspace(0.0, 20.0, n_ramp, endpoint=False) + e[:n_ramp]
        d, _ = mser(y, 5)
        assert d >= ramp_batches - 1, (seed, d)
        left = y[5 * d :]
        assert abs(left.mean() - 20.0) <= 4 * 2.0 / np.sqrt(len(left)), (seed, d)
        # no truncation at all would be biased well beyond that
        assert abs(y.mean() - 20.0) > 4 * 2.0 / np.sqrt(n) or ramp_batches < 6


def test_mser_input_errors():
    with pytest.raises(ValueError, match="at least 20 observations"):
        mser(np.ones(19))
    with pytest.raises(ValueError, match="missing or infinite"):
        mser(np.r_[np.ones(30), np.nan])
    with pytest.raises(ValueError, match="batch_size"):
        mser(np.ones(30), 0)


@pytest.fixture(scope="module")
def run():
    return hubsim.simulate(hubsim.load_config("site_d"), horizon_days=300, replications=2, seed=2)


def test_suggest_warmup_on_a_hub(run, tmp_path):
    w = suggest_warmup(run)
    s = w.tidy()
    assert list(s.columns) == SERIES_COLUMNS
    # only full weeks, the mean over replications of the clients on every list
    wk = run.weekly[run.weekly["week_days"] >= 7]
    queues = [c for c in wk.columns if c.startswith("queue_")]
    want = wk.assign(q=wk[queues].sum(axis=1)).groupby("week")["q"].mean().to_numpy()
    np.testing.assert_allclose(s["value"].to_numpy(), want, rtol=1e-12)
    d, _ = mser(want, 5)
    assert w.warmup_weeks == 5 * d and w.warmup_days == 7.0 * w.warmup_weeks
    assert w.warmup_end.isoformat() == str(s["week_start"].iloc[w.warmup_weeks])
    assert f"--start {w.warmup_end.isoformat()}" in w.summary()
    path = tmp_path / "warmup.png"
    w.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["warmup.png"]  # no temporary left
    with pytest.raises(ValueError, match="not a weekly column"):
        suggest_warmup(run, series="queue_nowhere")


def test_warmup_cli(tmp_path):
    runner = CliRunner()
    plot = tmp_path / "w.png"
    res = runner.invoke(
        app, ["warmup", "site_d", "-r", "2", "--horizon-days", "200", "--plot", str(plot)]
    )
    assert res.exit_code == 0, res.output
    assert "suggested warm-up" in res.output and plot.is_file()
    again = runner.invoke(app, ["warmup", "site_d", "--horizon-days", "200", "--plot", str(plot)])
    assert again.exit_code == 2 and "exists" in again.output
    bad = runner.invoke(app, ["warmup", "site_d", "--end", "2021-02-30"])
    assert bad.exit_code == 2 and "--end: expected a date YYYY-MM-DD" in bad.output
    bad = runner.invoke(app, ["warmup", "site_d", "--series", "queue_nowhere"])
    assert bad.exit_code == 2 and "expected one of queue_total, queue_" in bad.output
