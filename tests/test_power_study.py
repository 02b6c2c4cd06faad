"""Tests of hubsim.power.study: study files, clear errors, atomic outputs, the flagship."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hubsim.errors import ConfigError
from hubsim.power.diagnose import SIMULATION_COLUMNS
from hubsim.power.study import (
    CURVE_COLUMNS,
    MDE_COLUMNS,
    STUDY_DIAGNOSAND_COLUMNS,
    load_study,
    run_study,
)

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "experiments" / "power_naturalistic_evaluation.yaml"

TINY = """\
name: tiny
title: Tiny study
seed: 3
alpha: 0.05
sizes:
  default: {n_sims: 6, mde_max_evals: 2}
  smoke: {n_sims: 3, mde_max_evals: 2}
design:
  n_regions: 12
  n_periods: 6
  n_treated: 6
  schedule: [3, 4]
scenarios:
  survey: {population_kind: staff_survey, effect: 0.1}
  cohort: {population_kind: help_seeker_cohort, effect: 0.2}
estimators: [twfe_cr1, its]
curves:
  - name: effect
    vary: {effect: [0.0, 0.1]}
    estimators: [twfe_cr1]
  - name: regions
    vary: {n_regions: [10, 12], n_treated: [5, 6]}
    paired: true
    scenarios: [cohort]
    estimators: [twfe_cr1]
mde:
  - {estimator: twfe_cr1, scenarios: [cohort]}
"""


def _write(tmp_path: Path, text: str, name: str = "study.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_tiny_study_writes_every_output_atomically(tmp_path):
    study = _write(tmp_path, TINY)
    out = tmp_path / "out"
    res = run_study(study, out=out, workers=1)
    expect = {
        "diagnosands.parquet",
        "diagnosands.csv",
        "simulations.parquet",
        "curves.parquet",
        "curves.csv",
        "mde.parquet",
        "mde.csv",
        "power_effect.png",
        "power_regions.png",
        "report.md",
        "study.yaml",
        "manifest.json",
    }
    assert {p.name for p in out.iterdir()} == expect
    assert set(res.files) == expect
    diag = pd.read_parquet(out / "diagnosands.parquet")
    assert list(diag.columns) == STUDY_DIAGNOSAND_COLUMNS
    assert list(zip(diag["scenario"], diag["estimator"], strict=True)) == [
        ("survey", "twfe_cr1"),
        ("survey", "its"),
        ("cohort", "twfe_cr1"),
        ("cohort", "its"),
    ]
    pd.testing.assert_frame_equal(pd.read_csv(out / "diagnosands.csv"), diag, check_dtype=False)
    curves = pd.read_csv(out / "curves.csv")
    assert list(curves.columns) == CURVE_COLUMNS
    assert len(curves) == 2 * 2 + 2  # effect curve: 2 scenarios x 2 points; regions: 2 points
    assert curves.loc[curves["curve"] == "regions", "series"].isna().all()  # paired: one series
    assert list(pd.read_csv(out / "mde.csv").columns) == MDE_COLUMNS
    sims = pd.read_parquet(out / "simulations.parquet")
    assert list(sims.columns) == ["scenario", *SIMULATION_COLUMNS] and len(sims) == 2 * 2 * 6
    report = (out / "report.md").read_text()
    for heading in (
        "# Tiny study",
        "## Diagnosands",
        "## Minimum detectable effects",
        "## Power curves",
        "![power_effect.png](power_effect.png)",
    ):
        assert heading in report
    man = json.loads((out / "manifest.json").read_text())
    assert man["n_sims"] == 6 and man["seed"] == 3 and man["size"] == "default"
    # rerun into the same folder with overrides: replaced whole, no temporary folders left
    again = run_study(study, n_sims=4, seed=9, out=out, workers=1)
    assert again.n_sims == 4 and again.seed == 9
    assert (pd.read_parquet(out / "diagnosands.parquet")["n_sims"] == 4).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "study.yaml"]


def test_same_seed_same_results_and_sizes(tmp_path):
    study = _write(tmp_path, TINY)
    a = run_study(study, out=tmp_path / "a", workers=1)
    b = run_study(study, out=tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(a.diagnosands, b.diagnosands, check_exact=True)
    pd.testing.assert_frame_equal(a.curves, b.curves, check_exact=True)
    s = run_study(study, out=tmp_path / "s", size="smoke", workers=1)
    assert s.n_sims == 3


def test_flagship_study_runs_at_smoke_size(tmp_path):
    spec, designs = load_study(FLAGSHIP)
    assert set(spec.scenarios) == {
        "staff_survey",
        "help_seeker_cohort",
        "service_waits",
        "help_seekers_dynamic",
    }
    assert {d.n_regions for d in designs.values()} == {42}
    assert set(spec.estimators) >= {
        "twfe_cr1",
        "twfe_wild",
        "callaway_santanna",
        "its",
        "synthetic_control",
    }
    res = run_study(FLAGSHIP, size="smoke", out=tmp_path / "flag")
    assert res.n_sims == spec.sizes["smoke"].n_sims
    assert len(res.diagnosands) == 4 * len(spec.estimators)
    assert (res.diagnosands["failure_rate"] == 0).all()
    assert len(list((tmp_path / "flag").glob("power_*.png"))) == len(spec.curves)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("seed: 3", "seed: 3\nsede: 4"), ["line 4", "unknown field 'sede'; did you mean 'seed'"]),
        (
            ("estimators: [twfe_cr1, its]", "estimators: [twfe_cr1, itss]"),
            ["estimators", "unknown estimator name 'itss'"],
        ),
        (("alpha: 0.05", "alpha: 1.5"), ["line 4", "alpha", "expected a number less than 1"]),
        (
            ("n_regions: 12", "n_regions: 12\n  icc: 1.0"),
            ["line 10", "design.icc", "icc must be in [0, 1)"],
        ),
        (
            (
                "cohort: {population_kind: help_seeker_cohort, effect: 0.2}",
                "cohort: {population_kind: help_seeker_cohort, effect: 0.2, n_treated: 20}",
            ),
            ["scenarios.cohort", "n_treated must be between 1 and the number of regions"],
        ),
        (
            ("default: {n_sims: 6, mde_max_evals: 2}", "default: {n_sims: 1}"),
            ["line 6", "sizes.default.n_sims", "expected a number at least 2"],
        ),
        (
            ("scenarios: [cohort]", "scenarios: [cohrt]"),
            ["line 24", "curves[1].scenarios[0]", "unknown scenario 'cohrt'"],
        ),
        (
            ("vary: {effect: [0.0, 0.1]}", "vary: {icc: [0.0, 1.0]}"),
            ["curves[0].vary", "icc=1.0", "icc must be in [0, 1)"],
        ),
        (("n_sims: 6,", "n_sims: six,"), ["sizes.default.n_sims", "expected a whole number"]),
    ],
)
def test_bad_study_files_give_one_clear_sentence_and_write_nothing(tmp_path, edit, expected):
    old, new = edit
    assert old in TINY
    study = _write(tmp_path, TINY.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        run_study(study, out=tmp_path / "out")
    msg = str(info.value)
    assert msg.startswith(str(study))
    for part in expected:
        assert part in msg, (part, msg)
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.yaml"]


def test_bad_overrides_and_missing_file(tmp_path):
    study = _write(tmp_path, TINY)
    with pytest.raises(ConfigError, match="size 'huge' is not defined"):
        run_study(study, size="huge", out=tmp_path / "o")
    with pytest.raises(ConfigError, match="--n-sims must be an integer of at least 2"):
        run_study(study, n_sims=1, out=tmp_path / "o")
    with pytest.raises(ConfigError, match="--seed must be a non-negative integer"):
        run_study(study, seed=-2, out=tmp_path / "o")
    with pytest.raises(ConfigError, match="file not found"):
        run_study(tmp_path / "missing.yaml")
    assert not (tmp_path / "o").exists()
