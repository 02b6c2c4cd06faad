"""Experiment files: each bad-input class gives file, line and field, exit 2; the shipped ones
load; the replications algorithm decides as Hoad, Robinson & Davies (2010) describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hubsim.cli import app
from hubsim.errors import ConfigError
from hubsim.experiment import read_experiment, replications_needed
from hubsim.experiment.spec import ReplicationTarget
from hubsim.resources import experiment_path

runner = CliRunner()

GOOD = """\
name: tiny
base: site_d
seed: 1
window: {start: 2020-06-01, end: 2020-09-30}
replications: 3
scenarios:
  as_mapped: {}
  more: {vary: {"service.workforce.roles[therapists].wte": 6.4}}
grids:
  - name: demand
    vary: {simulation.demand.multiplier: [1.5, 2.0]}
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_good_file_resolves_scenarios_grids_and_dates(tmp_path):
    plan = read_experiment(_write(tmp_path, GOOD))
    assert list(plan.scenarios) == ["as_mapped", "more", "demand_1", "demand_2"]
    assert plan.baseline == "as_mapped"
    more = plan.scenarios["more"].config
    assert more.service.workforce.role("therapists").wte == 6.4
    assert plan.scenarios["demand_2"].config.simulation.demand.multiplier == 2.0
    # Site D's period starts 2020-05-01: the window is days 31 to 152 of the run, its last
    # day included, as hubsim run --start/--end (resolve_window) reads the same dates
    s = plan.scenarios["as_mapped"]
    assert (s.warmup_days, s.horizon_days) == (31.0, 153.0)
    from hubsim.des.window import resolve_window

    w = resolve_window(s.config, start="2020-06-01", end="2020-09-30")
    assert (w.warmup_days, w.horizon_days) == (s.warmup_days, s.horizon_days)


# (edit of GOOD, the line the sentence must name, the field path, words of the sentence)
BAD = {
    "unknown scenario key": (
        ("  more: {vary:", "  more: {varry:"),
        8,
        "scenarios.more.varry",
        "unknown field 'varry'; did you mean 'vary'?",
    ),
    "bad vary path": (
        ("roles[therapists].wte", "roles[therapist].wte"),
        8,
        "scenarios.more.vary.service.workforce.roles[therapist].wte",
        "no item 'therapist' in roles",
    ),
    "paired grid of unequal lengths": (
        (
            "    vary: {simulation.demand.multiplier: [1.5, 2.0]}",
            "    vary: {simulation.demand.multiplier: [1.5, 2.0], seed_x: [1]}\n    paired: true",
        ),
        10,
        "grids[0]",
        "same length",
    ),
    "window dates outside the period": (
        ("end: 2020-09-30", "end: 2024-09-30"),
        4,
        "window.end",
        "outside the simulated period",
    ),
    "target half-width not positive": (
        (
            "replications: 3",
            "replications: {kpis: [wait_to_first_treatment_mean_days], relative_half_width: -0.1}",
        ),
        5,
        "replications.relative_half_width",
        "greater than 0",
    ),
    "fewer than two replications": (
        ("replications: 3", "replications: 1"),
        5,
        "replications",
        "expected at least 2 (paired intervals need two), got 1",
    ),
    "unknown KPI": (
        ("replications: 3", "replications: 3\nkpis: [wait_to_first_treatment_mean_dayz]"),
        6,
        "kpis[0]",
        "unknown KPI 'wait_to_first_treatment_mean_dayz'",
    ),
    "unknown baseline": (
        ("replications: 3", "replications: 3\nbaseline: nobody"),
        6,
        "baseline",
        "unknown scenario 'nobody'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD), ids=lambda c: c.replace(" ", "_"))
def test_each_bad_input_class_names_file_line_and_field(tmp_path, case):
    (old, new), line, field, words = BAD[case]
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ConfigError) as info:
        read_experiment(path)
    text = "\n".join(info.value.problems)
    assert f"{path}, line {line}: {field}" in text, text
    assert words in text, text
    # the CLI: the same sentence, exit 2, no traceback, and nothing written
    out = tmp_path / "out"
    res = runner.invoke(app, ["experiment", str(path), "--out", str(out), "--quiet"])
    assert res.exit_code == 2, res.output
    assert f"line {line}: {field}" in res.output and "Traceback" not in res.output
    assert not out.exists()
    val = runner.invoke(app, ["validate", str(path)])
    assert val.exit_code == 2 and words in val.output


def test_validate_accepts_experiments_power_studies_and_configs():
    res = runner.invoke(
        app, ["validate", "site_d_staffing", "four_sites", "naturalistic_evaluation", "site_d"]
    )
    assert res.exit_code == 0, res.output
    assert res.output.count("valid experiment") == 2
    assert "valid power study" in res.output
    assert re.search(r"^site_d: valid \(site_d, hub", res.output, re.M)


@pytest.mark.parametrize(
    ("command", "ref", "kind", "key", "use"),
    [
        ("power", "site_d_staffing", "a scenario experiment", "base", "hubsim experiment"),
        ("experiment", "naturalistic_evaluation", "a power study", "estimators", "hubsim power"),
    ],
)
def test_a_file_given_to_the_other_command_says_what_it_is(tmp_path, command, ref, kind, key, use):
    out = tmp_path / "out"
    res = runner.invoke(app, [command, ref, "--out", str(out), "--quiet"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    # one sentence naming the file, the line and the field that gave the kind away, not a
    # list of the other kind's fields as unknown
    assert len(lines) == 1, res.output
    path = experiment_path(ref)
    assert re.match(
        rf"{re.escape(str(path))}, line \d+: {key}: the file looks like {kind}", lines[0]
    )
    assert f"`{use}`" in lines[0] and lines[0].endswith(".")
    assert "unknown field" not in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_the_shipped_experiments():
    plan = read_experiment(experiment_path("site_d_staffing"))
    assert list(plan.scenarios) == [
        "as_mapped",
        "band_shift",
        "reversed_stepped",
        "plus_one_therapist",
        "incident_surge",
    ]
    cfg = {n: s.config for n, s in plan.scenarios.items()}
    wf = cfg["band_shift"].service.workforce
    base = cfg["as_mapped"].service.workforce
    assert wf.role("therapists").wte == pytest.approx(base.role("therapists").wte - 2)
    assert wf.role("low_intensity").wte == pytest.approx(base.role("low_intensity").wte + 2)
    assert cfg["reversed_stepped"].interventions.care_model.kind == "reversed_stepped"
    assert cfg["plus_one_therapist"].service.workforce.role("therapists").wte == 6.4
    surges = cfg["incident_surge"].simulation.demand.surges
    assert [s.multiplier for s in surges][-1] == 1.5
    assert isinstance(plan.spec.replications, ReplicationTarget)
    four = read_experiment(experiment_path("four_sites"))
    assert [s.config.name for s in four.scenarios.values()] == [
        "site_a",
        "site_b",
        "site_c",
        "site_d",
    ]


def test_read_experiment_takes_a_shipped_name_from_any_folder(tmp_path, monkeypatch):
    # as `hubsim experiment site_d_staffing` does, and as load_config("site_d") does
    monkeypatch.chdir(tmp_path)
    plan = read_experiment("site_d_staffing")
    assert plan.path == experiment_path("site_d_staffing")
    assert plan.spec.name == "site_d_staffing" and plan.baseline == "as_mapped"
    # an unknown name lists the shipped ones, with the closest
    with pytest.raises(ConfigError, match="did you mean 'site_d_staffing'"):
        read_experiment("site_d_stafing")
    # a file of that name in the current folder wins over the shipped experiment
    (tmp_path / "site_d_staffing").write_text(GOOD, encoding="utf-8")
    assert read_experiment("site_d_staffing").spec.name == "tiny"


def test_replications_algorithm_adds_until_precise_and_confirms_with_look_ahead():
    import numpy as np
    from scipy import stats

    rule = ReplicationTarget(kpis=["w"], relative_half_width=0.05, initial=3, look_ahead=3)
    noisy = list(np.random.default_rng(7).normal(10.0, 1.5, size=60))

    def precise(n):
        x = np.array(noisy[:n])
        return stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n) / x.mean() <= 0.05

    # the oracle: the first n whose precision holds at n and the 3 counts after it
    first = next(n for n in range(3, 57) if all(precise(m) for m in range(n, n + 4)))
    assert first > 3
    # one replication at a time while not precise
    assert replications_needed({("a", "w"): noisy[:3]}, rule) == (None, 4)
    assert replications_needed({("a", "w"): noisy[: first + 3]}, rule) == (first, first + 3)
    assert replications_needed({("a", "w"): noisy}, rule) == (first, first + 3)
    # every scenario must be precise: a noisy second scenario holds the decision back
    wild = [1.0, 30.0] * 30
    assert replications_needed({("a", "w"): noisy, ("b", "w"): wild}, rule)[0] is None
    # never beyond max
    capped = ReplicationTarget(kpis=["w"], absolute_half_width=1e-9, initial=3, max=5)
    assert replications_needed({("a", "w"): noisy[:5]}, capped) == (None, 5)
