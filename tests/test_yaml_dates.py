"""An impossible calendar date in any YAML file is one sentence (file, line, field), exit 2."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config.loader import read_yaml_text
from hubsim.errors import ConfigError
from hubsim.experiment import read_experiment
from hubsim.resources import experiment_path

from .conftest import SITES

runner = CliRunner()


def _cli(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    return res.output


def test_config_with_an_impossible_date(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        f"extends: {SITES['d']}\nname: bad\nsimulation:\n  period: {{start: 2020-02-30}}\n",
        encoding="utf-8",
    )
    want = (
        f"{p}, line 4: simulation.period.start: 2020-02-30 is not a valid date (day is out "
        "of range for month); expected a real calendar date (YYYY-MM-DD)."
    )
    with pytest.raises(ConfigError) as info:
        hubsim.load_config(p)
    assert info.value.problems == [want]
    assert want in _cli("validate", str(p))
    out = _cli("run", str(p), "-r", "1", "--horizon-days", "30")
    assert "simulation.period.start" in out and "line 4" in out and str(p) in out


def test_experiment_file_with_an_impossible_date(tmp_path):
    text = experiment_path("site_d_staffing").read_text(encoding="utf-8")
    assert "window: {start: 2021-04-01, end: 2022-03-31}" in text
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines, 1) if s.startswith("window:"))
    p = tmp_path / "exp.yaml"
    p.write_text(text.replace("end: 2022-03-31}", "end: 2022-02-31}"), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        read_experiment(p)
    msg = str(info.value)
    assert msg.startswith(f"{p}, line {line}: window.end: 2022-02-31 is not a valid date"), msg
    assert "\n" not in msg
    out = _cli("validate", str(p))
    assert f"{p}, line {line}: window.end:" in out
    out = _cli("experiment", str(p), "--out", str(tmp_path / "out"), "--quiet")
    assert f"{p}, line {line}: window.end:" in out


def test_power_study_with_an_impossible_date(tmp_path):
    text = experiment_path("power_naturalistic_evaluation").read_text(encoding="utf-8")
    p = tmp_path / "study.yaml"
    n = len(text.splitlines()) + 1
    p.write_text(text.rstrip("\n") + "\nreviewed: 2023-04-31\n", encoding="utf-8")
    out = _cli("validate", str(p))
    assert f"{p}, line {n}: reviewed: 2023-04-31 is not a valid date" in out


@pytest.mark.parametrize(
    ("text", "field", "what"),
    [
        (
            "a:\n  b: [2020-01-01, 2021-13-01]\n",
            "line 2: a.b[1]: 2021-13-01",
            "month must be in 1..12",
        ),
        (
            "when: 2020-01-01 25:00:00\n",
            "line 1: when: 2020-01-01 25:00:00",
            "not a valid date and time",
        ),
        ("2019-02-29: x\n", "line 1: 2019-02-29: 2019-02-29", "day is out of range"),
        ("n: !!int x\n", "line 1: n: 'x'", "not a valid int"),
        ("n: !custom x\n", "line 1: n: 'x'", "could not determine a constructor"),
    ],
)
def test_unconstructible_scalars_are_sentences(text, field, what):
    with pytest.raises(ConfigError) as info:
        read_yaml_text(text, "u.yaml")
    msg = str(info.value)
    assert msg.startswith(f"u.yaml, {field}"), msg
    assert what in msg and msg.endswith("."), msg


def test_valid_dates_still_become_dates():
    data, where = read_yaml_text(
        "a: 2020-02-29\nb: 2020-01-01T10:30:00\nc: '2020-02-30'\nd: {e: 2021-04-01}\n", "u.yaml"
    )
    assert data == {
        "a": dt.date(2020, 2, 29),
        "b": dt.datetime(2020, 1, 1, 10, 30),
        "c": "2020-02-30",
        "d": {"e": dt.date(2021, 4, 1)},
    }
    assert type(data["a"]) is dt.date and where[("d", "e")] == ("u.yaml", 4)
    cfg = hubsim.load_config(Path(SITES["d"]))
    assert type(cfg.simulation.period.start) is dt.date
