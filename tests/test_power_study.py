"""Tests of hubsim.evaluation: study files, clear errors, atomic outputs, the flagship."""

from __future__ import annotations

import fnmatch
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubsim.evaluation.runner as study_module
from hubsim.errors import ConfigError
from hubsim.evaluation import (
    CURVE_COLUMNS,
    DES_EFFECT_COLUMNS,
    MDE_COLUMNS,
    STUDY_DIAGNOSAND_COLUMNS,
    STUDY_TIDY_COLUMNS,
    RunSettings,
    apply_des_effect,
    effect_from_des,
    evaluate,
    load_study,
    read_study,
    run_study,
    write_study,
)
from hubsim.evaluation.writer import STUDY_WRITES
from hubsim.experiment import OutputError
from hubsim.power.diagnose import DIAGNOSANDS, SIMULATION_COLUMNS

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
        "recommendations.parquet",
        "recommendations.csv",
        "power_effect.png",
        "power_regions.png",
        "report.md",
        "study.yaml",
        "manifest.json",
    }
    # hubsim's marker and results database sit beside the study's files (the lock file
    # goes when the folder is closed)
    assert {p.name for p in out.iterdir()} == expect | {
        "results.duckdb",
        ".hubsim-results.json",
    }
    assert set(res.files) == expect
    # every name written is one the folder check looks at before the work
    assert all(any(fnmatch.fnmatchcase(n, w) for w in STUDY_WRITES) for n in expect)
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
    # the report shows the figures written beside it (its wording is not tested)
    report = (out / "report.md").read_text()
    assert all(f"({f})" in report for f in ("power_effect.png", "power_regions.png"))
    # the result's long frame holds the diagnosands and their MCSEs
    tidy = res.tidy()
    assert list(tidy.columns) == STUDY_TIDY_COLUMNS and len(tidy) == len(diag) * len(DIAGNOSANDS)
    row = tidy[(tidy["scenario"] == "cohort") & (tidy["estimator"] == "its")]
    row = row.set_index("diagnosand")
    d = diag[(diag["scenario"] == "cohort") & (diag["estimator"] == "its")].iloc[0]
    assert row.loc["power", "estimate"] == d["power"]
    assert row.loc["power", "mcse"] == d["power_mcse"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["n_sims"] == 6 and man["seed"] == 3 and man["size"] == "default"
    # another seed in the same folder is refused with a sentence; --overwrite replaces
    # hubsim's files (no temporary folders left)
    with pytest.raises(OutputError, match="seed"):
        run_study(study, n_sims=4, seed=9, out=out, workers=1)
    again = run_study(study, n_sims=4, seed=9, out=out, workers=1, overwrite=True)
    assert again.n_sims == 4 and again.seed == 9
    assert (pd.read_parquet(out / "diagnosands.parquet")["n_sims"] == 4).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "study.yaml"]


def test_overwrite_refuses_a_users_file_under_a_study_name_before_the_work(tmp_path):
    study = _write(tmp_path, TINY)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "power_effect.png").write_bytes(b"my figure")
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds power_effect\.png, which hubsim did not"):
        run_study(study, out=mine, workers=1, overwrite=True)
    # refused before the store or any simulation: the folder is as it was
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "power_effect.png"]
    assert (mine / "power_effect.png").read_bytes() == b"my figure"


def test_same_seed_same_results_and_sizes(tmp_path):
    study = _write(tmp_path, TINY)
    a = run_study(study, out=tmp_path / "a", workers=1)
    b = run_study(study, out=tmp_path / "b", workers=2)
    pd.testing.assert_frame_equal(a.diagnosands, b.diagnosands, check_exact=True)
    pd.testing.assert_frame_equal(a.curves, b.curves, check_exact=True)
    s = run_study(study, out=tmp_path / "s", size="smoke", workers=1)
    assert s.n_sims == 3
    # the plan read_study made is taken as the file is, and gives the same study
    c = run_study(read_study(study), out=tmp_path / "c", workers=1)
    pd.testing.assert_frame_equal(a.diagnosands, c.diagnosands, check_exact=True)
    with pytest.raises(TypeError, match="a StudyPlan from read_study, got dict"):
        run_study({"name": "x"}, out=tmp_path / "d")


def test_evaluate_runs_in_memory_and_the_writer_adds_only_files(tmp_path, monkeypatch):
    study = _write(tmp_path, TINY)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    plan = read_study(study)
    mem = evaluate(plan, RunSettings.resolve(plan.spec, "smoke"))
    assert mem.out is None and mem.files == () and list(work.iterdir()) == []
    written = run_study(study, size="smoke", out=tmp_path / "w")
    for name in ("diagnosands", "curves", "mde", "simulations"):
        pd.testing.assert_frame_equal(getattr(mem, name), getattr(written, name), check_exact=True)
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "w" / f"{name}.parquet"), getattr(mem, name)
        )
    # writing the in-memory result later gives the same files
    again = write_study(mem, tmp_path / "w2", source=study)
    assert set(again.files) == set(written.files)


def test_flagship_study_runs_at_smoke_size(tmp_path):
    spec, designs = load_study(FLAGSHIP)
    assert set(spec.scenarios) == {
        "staff_survey",
        "help_seeker_cohort",
        "service_waits",
        "help_seekers_dynamic",
        "help_seekers_site_d",
        "waits_site_d",
        "waits_site_d_band_shift",
    }
    des = {s for s, c in spec.scenarios.items() if "effect_from_des" in c}
    assert des == {"help_seekers_site_d", "waits_site_d", "waits_site_d_band_shift"}
    # realistic untreated counts: 40 of 42 regions with a hub, phased by staff group
    assert {d.n_regions for d in designs.values()} == {42}
    assert {d.facts()["n_with"] for d in designs.values()} == {40}
    d0 = designs["staff_survey"]
    assert d0.staff_groups and d0.group_phasing is not None
    assert (0, 1, 5, 6) in d0.group_phasing  # Site B: Feb, Mar, Jul, Aug 2021
    assert set(spec.estimators) >= {"twfe", "triple_differences", "callaway_santanna"}
    res = run_study(FLAGSHIP, size="smoke", out=tmp_path / "flag")
    assert res.n_sims == spec.sizes["smoke"].n_sims
    assert len(res.diagnosands) == 7 * len(spec.estimators)
    assert (res.diagnosands["failure_rate"] == 0).all(), res.simulations.loc[
        res.simulations["error"] != "", "error"
    ].unique()
    assert len(list((tmp_path / "flag").glob("power_*.png"))) == len(spec.curves)
    # the untreated curve runs 32, 36 and 40 hub regions
    untr = res.curves[res.curves["curve"] == "untreated"]
    assert set(untr["x_value"]) == {32, 36, 40}
    # the DES-fed scenarios: capped at the smoke size, one DES run per distinct spec
    assert set(res.des) == des and set(res.des_effects["scenario"]) == des
    assert {d.replications for d in res.des.values()} == {spec.sizes["smoke"].des_replications}
    man = json.loads((tmp_path / "flag" / "manifest.json").read_text())
    assert man["des_runs"] == 3
    assert {"help_seekers_site_d", "waits_site_d"} <= set(res.mde["scenario"])
    # what the report's comparison of the two Site D staffings reads: the same comparator
    # (CRN) and DES settings, different hubs, and both on the regions curve
    plans = res.des_plans
    a, b = plans["waits_site_d"], plans["waits_site_d_band_shift"]
    assert a.comparator.content_hash == b.comparator.content_hash
    assert a.hub.content_hash != b.hub.content_hash
    settings = {k: v for k, v in res.des_settings["waits_site_d"].items() if k != "run"}
    assert settings == {
        k: v for k, v in res.des_settings["waits_site_d_band_shift"].items() if k != "run"
    }
    curve = res.curves[res.curves["curve"] == "regions_des_waits"]
    assert {"waits_site_d", "waits_site_d_band_shift"} <= set(curve["scenario"])
    assert 8 in set(curve["x_value"])
    # the report opens with the answer: key findings per measured population
    report = (tmp_path / "flag" / "report.md").read_text()
    head = report[: report.index("## The study")]
    assert "## Key findings" in head
    for title in ("Staff survey", "Help-seeker cohort", "Service waits"):
        assert f"### {title}" in head
    assert "Recommended estimator" in head and "The rule behind the recommendation" in head


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


# ---------------------------------------------------------------------------------------
# DES-fed scenarios (effect_from_des)
# ---------------------------------------------------------------------------------------

SITE_D = ROOT / "configs" / "sites" / "site_d.yaml"
BAND_SHIFT = ROOT / "configs" / "scenarios" / "site_d_band_shift.yaml"
USUAL_CARE = ROOT / "configs" / "usual_care.yaml"
DES_KW = {"horizon_days": 300.0, "replications": 2, "seed": 5, "follow_up_days": 90.0}

DES_STUDY = """\
name: des_tiny
seed: 3
sizes:
  default: {{n_sims: 3, mde_max_evals: 2}}
  smoke: {{n_sims: 2, des_replications: 1, des_horizon_days: 100}}
design:
  n_regions: 10
  n_periods: 12
  n_treated: 6
  schedule: [3, 5, 8]
  period_sd: 0.05
  ar_rho: 0.5
  ar_sd: 0.05
scenarios:
  waits_d:
    population_kind: service_waits
    effect_from_des:
      hub: {site_d}
      outcome: wait_days
      horizon_days: 300
      replications: 2
      seed: 5
      follow_up_days: 90
  waits_d_small:
    population_kind: service_waits
    n_per_cell: 40
    effect_from_des:
      hub: {site_d}
      comparator: {usual_care}
      horizon_days: 300
      replications: 2
      seed: 5
      follow_up_days: 90
  waits_shift:
    population_kind: service_waits
    effect_from_des:
      hub: {band_shift}
      horizon_days: 300
      replications: 2
      seed: 5
      follow_up_days: 90
estimators: [twfe_cr1, its]
"""


def _des_study(tmp_path: Path) -> Path:
    # the hub paths are relative to the study file (the comparator's absolute)
    rel = {
        k: os.path.relpath(v, tmp_path) for k, v in (("site_d", SITE_D), ("band_shift", BAND_SHIFT))
    }
    return _write(tmp_path, DES_STUDY.format(usual_care=USUAL_CARE, **rel))


@pytest.fixture(scope="module")
def des_run(tmp_path_factory):
    """The DES-fed tiny study, run once with effect_from_des spied on."""
    tmp = tmp_path_factory.mktemp("des_study")
    study = _des_study(tmp)
    calls = []
    real = study_module.effect_from_des

    def spy(hub, comparator=None, **kw):
        calls.append((hub.name, comparator.name, kw))
        return real(hub, comparator, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_module, "effect_from_des", spy)
        res = run_study(study, out=tmp / "out", workers=1)
    return study, res, calls


def test_des_fed_scenario_estimand_is_the_profile_weighted_att(des_run):
    study, res, _ = des_run
    out = res.out
    direct = effect_from_des(SITE_D, USUAL_CARE, population="service_waits", **DES_KW)
    prof = res.des_effects[res.des_effects["scenario"] == "waits_d"]
    assert list(res.des_effects.columns) == DES_EFFECT_COLUMNS
    # the study ran exactly the DES a direct call runs (same settings, same seed)
    np.testing.assert_array_equal(prof["effect"], direct.profile["effect"])
    np.testing.assert_array_equal(prof["mcse"], direct.profile["mcse"])
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "des_effects.csv"), res.des_effects, check_dtype=False
    )
    # the design's estimand: the profile value at each exposed cell's event time (the last
    # month holding thereafter), averaged over exposed region-periods (cells) for the
    # estimators that declare "att", and over the people in them (weights n) for the
    # regression estimators, which declare "att_n_weighted"
    _, designs = load_study(study)
    cells = designs["waits_d"].cells()
    exposed = cells["treated"] == 1
    k = cells.loc[exposed, "event_time"].to_numpy().astype(int)
    n = cells.loc[exposed, "n"].to_numpy(dtype=float)
    p = direct.profile["effect"].to_numpy()
    expected = p[np.clip(k, 0, p.size - 1)].mean()
    expected_n = (p[np.clip(k, 0, p.size - 1)] * n).sum() / n.sum()
    diag = res.diagnosands.set_index(["scenario", "estimator"])
    assert diag.loc[("waits_d", "twfe_cr1"), "mean_estimand"] == pytest.approx(
        expected_n, rel=1e-12, abs=1e-12
    )
    assert diag.loc[("waits_d", "its"), "mean_estimand"] == pytest.approx(
        expected, rel=1e-12, abs=1e-12
    )
    # the outcome scale: the DES baseline, with the noise terms in proportion to its SD
    applied = apply_des_effect(direct, designs["waits_d"], "outcome")
    ratio = direct.baseline_sd / designs["waits_d"].sd
    assert applied.mean == direct.baseline_mean and applied.sd == direct.baseline_sd
    assert applied.period_sd == pytest.approx(0.05 * ratio) and applied.ar_sd == pytest.approx(
        0.05 * ratio
    )
    # the standardised scale: the same estimand in units of the DES baseline SD
    std = apply_des_effect(direct, designs["waits_d"], "standardised")
    assert std.sd == designs["waits_d"].sd and std.period_sd == 0.05
    assert std.estimand().att == pytest.approx(expected / direct.baseline_sd, rel=1e-12)
    # the report carries each DES run's own summary (assumptions included)
    report = (out / "report.md").read_text()
    assert res.des["waits_d"].summary() in report
    man = json.loads((out / "manifest.json").read_text())
    assert man["des_runs"] == 2 and man["des_effects"]["waits_d"]["seed"] == 5
    assert {"des_effects.csv", "des_effects.parquet", "des_effects.png"} <= set(res.files)


def test_same_des_spec_runs_the_des_once(des_run):
    _, res, calls = des_run
    # waits_d and waits_d_small differ only in the design (and the comparator given
    # explicitly rather than by default): one DES run; the band shift is a second
    assert sorted(c[0] for c in calls) == ["site_d", "site_d_band_shift"]
    assert res.des["waits_d"] is res.des["waits_d_small"]
    assert all(c[1] == "usual_care" and c[2]["replications"] == 2 for c in calls)


def test_band_shift_moves_the_des_wait_profile_on_common_random_numbers(des_run):
    _, res, _ = des_run
    d = res.des_effects
    mapped = d[d["scenario"] == "waits_d"].reset_index(drop=True)
    shift = d[d["scenario"] == "waits_shift"].reset_index(drop=True)
    # CRN: the comparator arm is identical, so the whole difference is the hub's staffing
    np.testing.assert_array_equal(mapped["comparator_mean"], shift["comparator_mean"])
    assert not np.allclose(mapped["hub_mean"], shift["hub_mean"])
    np.testing.assert_allclose(
        shift["effect"] - mapped["effect"], shift["hub_mean"] - mapped["hub_mean"], atol=1e-9
    )
    diag = res.diagnosands[res.diagnosands["estimator"] == "twfe_cr1"]
    diag = diag.set_index("scenario")["mean_estimand"]
    assert diag["waits_d"] != diag["waits_shift"]
    # the two hubs share the comparator and the DES settings: a paired (CRN) comparison
    plans = res.des_plans
    assert plans["waits_d"].comparator.content_hash == plans["waits_shift"].comparator.content_hash
    assert res.des["waits_d"].seed == res.des["waits_shift"].seed


def test_smoke_size_caps_des_replications_and_horizon(tmp_path):
    study = _des_study(tmp_path)
    calls = []
    real = study_module.effect_from_des

    def spy(hub, comparator=None, **kw):
        calls.append(kw)
        return real(hub, comparator, **kw)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_module, "effect_from_des", spy)
        res = run_study(study, out=tmp_path / "s", size="smoke", workers=1)
    # at most 1 replication; the horizon cut to 100 days is raised to the follow-up (90
    # days) plus one month (rounded up), the least that gives a one-month profile
    assert [c["replications"] for c in calls] == [1, 1]
    assert all(c["horizon_days"] == 121.0 for c in calls)
    assert set(res.des_effects["event_time_months"]) == {0}


def _des_error(tmp_path: Path, old: str, new: str, count: int = 1) -> str:
    text = _des_study(tmp_path).read_text()
    assert old in text
    study = _write(tmp_path, text.replace(old, new, count))
    with pytest.raises(ConfigError) as info:
        run_study(study, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    msg = str(info.value)
    assert msg.startswith(str(study)), msg
    return msg


def test_effect_and_effect_from_des_together_refused(tmp_path):
    msg = _des_error(tmp_path, "    n_per_cell: 40\n", "    n_per_cell: 40\n    effect: 0.1\n")
    assert "line 28: scenarios.waits_d_small.effect_from_des:" in msg
    assert "either effect (line 27) or effect_from_des, not both" in msg


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      replications: 2\n      seed: 5\n      follow_up_days: 90\n  waits_d_small",
            "      replication: 2\n      seed: 5\n      follow_up_days: 90\n  waits_d_small",
            [
                "line 21: scenarios.waits_d.effect_from_des.replication",
                "did you mean 'replications'?",
            ],
        ),
        (
            "      outcome: wait_days",
            "      outcome: phq9",
            ["line 19: scenarios.waits_d.effect_from_des.outcome", "'phq9' is not available"],
        ),
        (
            "      horizon_days: 300\n      replications: 2\n      seed: 5\n      follow_up_days: 90\n"
            "  waits_d_small",
            "      horizon_days: 100\n      replications: 2\n      seed: 5\n      follow_up_days: 90\n"
            "  waits_d_small",
            ["scenarios.waits_d.effect_from_des.horizon_days", "expected at least 120.4 days"],
        ),
        (
            "      outcome: wait_days",
            "      outcome: wait_days\n      scale: sd",
            ["scenarios.waits_d.effect_from_des.scale", "'outcome' or 'standardised'"],
        ),
    ],
)
def test_bad_effect_from_des_blocks_refused(tmp_path, old, new, expected):
    msg = _des_error(tmp_path, old, new)
    for part in expected:
        assert part in msg, (part, msg)


def test_bad_hub_path_and_invalid_hub_config_refused(tmp_path):
    msg = _des_error(tmp_path, "sites/site_d.yaml", "sites/site_x.yaml", count=2)
    assert "line 18: scenarios.waits_d.effect_from_des.hub: configuration file" in msg
    assert "site_x.yaml' not found" in msg and "relative to the study file" in msg
    assert "scenarios.waits_d_small.effect_from_des.hub" in msg  # every problem reported
    # a hub file that exists but is not a valid configuration: its own problems are named
    bad = tmp_path / "bad_hub.yaml"
    bad.write_text(
        f"extends: {os.path.relpath(SITE_D, tmp_path)}\nregion: {{in_scope_staff: -5}}\n",
        encoding="utf-8",
    )
    msg = _des_error(tmp_path, "hub: " + os.path.relpath(BAND_SHIFT, tmp_path), "hub: bad_hub.yaml")
    assert "scenarios.waits_shift.effect_from_des.hub: bad_hub.yaml is not a valid" in msg
    assert f"{bad}, line 2: region.in_scope_staff: expected a number greater than 0" in msg


def test_a_failed_mde_search_is_reported_not_fatal(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise ValueError("no bracket")

    monkeypatch.setattr(study_module, "minimum_detectable_effect", fail)
    res = run_study(_write(tmp_path, TINY), out=tmp_path / "out", workers=1)
    row = res.mde.iloc[0]
    assert np.isnan(row["mde"]) and row["note"] == "the MDE search failed: no bracket."
    # the failure reaches the report, carried from the frame
    assert row["note"] in (tmp_path / "out" / "report.md").read_text()
