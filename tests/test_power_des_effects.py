"""DES-derived hub effects for the regional evaluation (hubsim.evaluation.des_effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hubsim
from hubsim.config import vary
from hubsim.evaluation import DESEffect, effect_from_des
from hubsim.evaluation.des_effects import PROFILE_COLUMNS, _expected, _Outcomes, _run_paths
from hubsim.measures import iapt_caseness, simulate_scores
from hubsim.regional import DynamicEffect, RegionalDesign

from .conftest import CONFIGS, SITES


@pytest.fixture(scope="module")
def site_a():
    return hubsim.load_config(SITES["a"])


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config(SITES["d"])


@pytest.fixture(scope="module")
def usual_care():
    return hubsim.load_config(CONFIGS / "usual_care.yaml")


@pytest.fixture(scope="module")
def survey_a(site_a, usual_care):
    return effect_from_des(
        site_a, usual_care, population="staff_survey", horizon_days=183, replications=3, seed=5
    )


def test_dilution_identity(survey_a):
    """Staff-survey effect = uptake x individual effect, and = the mean paired difference."""
    c = survey_a.components
    assert (c["uptake"] > 0).all()
    np.testing.assert_allclose(c["effect"], c["uptake"] * c["individual_effect"], rtol=1e-10)
    # the same effect computed per replication and averaged (the profile)
    np.testing.assert_allclose(survey_a.profile["effect"], c["effect"], rtol=1e-10, atol=1e-15)
    # the counterfactual share never exceeds 1 while usual care stays open in hub regions
    assert (c["counterfactual_help_seeking_share"] <= 1.0 + 1e-12).all()
    # cumulative uptake can only grow, and stays near calibration.md's ~1% a year
    assert np.all(np.diff(c["uptake"]) > 0)
    assert c["uptake"].iloc[-1] < 0.02
    # effect = hub-region per-capita gain minus comparator per-capita gain
    p = survey_a.profile
    np.testing.assert_allclose(p["effect"], p["hub"] - p["comparator"], rtol=1e-10, atol=1e-15)


def test_profile_frame_and_mcse(survey_a):
    p = survey_a.profile
    assert list(p.columns) == PROFILE_COLUMNS
    assert p["event_time_months"].tolist() == list(range(6))
    reps = survey_a.replicates
    for m, row in p.set_index("event_time_months").iterrows():
        x = reps.loc[reps["event_time_months"] == m, "effect"].to_numpy()
        assert row["mcse"] == pytest.approx(x.std(ddof=1) / np.sqrt(len(x)), rel=1e-12)
    tidy = survey_a.tidy()
    assert {"effect", "mcse", "uptake", "individual_effect"} <= set(tidy["quantity"])
    prof = tidy[tidy["quantity"] == "effect"].set_index("event_time_months")["value"]
    pd.testing.assert_series_equal(
        prof, p.set_index("event_time_months")["effect"], check_names=False
    )
    # the summary is text that carries every assumption the result states
    text = survey_a.summary()
    assert isinstance(text, str) and len(survey_a.assumptions) > 0
    assert all(a in text for a in survey_a.assumptions)


@pytest.mark.parametrize(
    ("population", "outcome"),
    [
        ("staff_survey", "phq9"),
        ("staff_survey", "caseness"),
        ("help_seeker_cohort", "phq9"),
        ("service_waits", "wait_days"),
        ("service_waits", "treated_within_6w"),
    ],
)
def test_zero_effect_when_hub_is_its_own_comparator(site_d, population, outcome):
    res = effect_from_des(
        site_d,
        site_d,
        population=population,
        outcome=outcome,
        horizon_days=150 if population == "staff_survey" else 215,
        replications=2,
        seed=11,
        follow_up_days=60,
    )
    assert len(res.profile) >= 1
    assert (res.profile["effect"] == 0.0).all()
    assert (res.replicates["effect"].dropna() == 0.0).all()


def test_monotone_in_uptake(site_a, usual_care):
    """More demand (CRN) -> more hub users and a larger (more negative) effect on PHQ-9."""
    out = []
    for m in (0.5, 1.0, 2.0):
        cfg = vary(site_a, {"simulation.demand.multiplier": m})
        out.append(
            effect_from_des(
                cfg, usual_care, population="staff_survey", horizon_days=153, replications=2, seed=3
            )
        )
    uptake = np.array([r.components["uptake"].to_numpy() for r in out])
    assert np.all(np.diff(uptake, axis=0) > 0)
    # the later months, where enough users have finished an episode to move the mean
    last = np.array([r.profile["effect"].iloc[-2:].to_numpy() for r in out])
    assert np.all(np.diff(last, axis=0) < 0)
    gain = np.array(
        [(r.components["uptake"] * r.components["gain_per_user"]).iloc[-1] for r in out]
    )
    assert np.all(np.diff(gain) < 0)


def test_plugs_into_regional_design(survey_a):
    eff = survey_a.to_effect()
    assert isinstance(eff, DynamicEffect)
    assert eff.profile == tuple(survey_a.profile["effect"])
    base = RegionalDesign(n_regions=8, n_periods=12, n_treated=4, schedule=(3, 5, 8, 10))
    design = survey_a.apply_to(base)
    assert design.population_kind == "staff_survey"
    assert design.sd == survey_a.baseline_sd and design.mean == survey_a.baseline_mean
    # the ATT over exposed region-periods, weighting each event time's profile value
    cells = design.cells()
    exposed = cells[cells["treated"] == 1]
    prof = np.asarray(eff.profile)
    k = np.clip(exposed["event_time"].to_numpy().astype(int), 0, len(prof) - 1)
    expected = prof[k].mean()
    est = design.estimand()
    assert est.att == pytest.approx(expected, rel=1e-12)
    dyn = est.dynamic.set_index("event_time")["value"]
    for e, v in dyn.items():
        assert v == pytest.approx(prof[min(int(e), len(prof) - 1)], rel=1e-12)
    # standardised scale: the same profile over the population SD
    std = survey_a.to_effect(scale="standardised").profile
    np.testing.assert_allclose(std, prof / survey_a.baseline_sd, rtol=1e-12)
    # annual waves: each wave's effect is the mean of its months
    wave = survey_a.to_effect(months_per_period=3).profile
    np.testing.assert_allclose(wave, [prof[0:3].mean(), prof[3:6].mean()], rtol=1e-12)


def test_binary_outcome_calibrated_on_the_design_scale(site_a, usual_care):
    res = effect_from_des(
        site_a,
        usual_care,
        population="help_seeker_cohort",
        outcome="caseness",
        horizon_days=245,
        replications=2,
        seed=4,
        follow_up_days=90,
    )
    assert res.binary and 0 < res.baseline_mean < 1
    base = RegionalDesign(n_regions=6, n_periods=8, n_treated=3, schedule=(3,), icc=0.05)
    design = res.apply_to(base)
    assert design.outcome == "binary" and design.prevalence == res.baseline_mean
    rd = design.estimand().dynamic.set_index("event_time")["value"]
    prof = res.profile["effect"].to_numpy()
    for e, v in rd.items():
        assert v == pytest.approx(prof[min(int(e), len(prof) - 1)], abs=1e-9)
    with pytest.raises(ValueError, match="needs a binary outcome"):
        effect_from_des(
            site_a, usual_care, population="staff_survey", horizon_days=40, replications=1
        ).to_effect(scale="logit")


def test_more_therapists_shorten_waits_and_move_the_estimand(site_d, usual_care):
    """A planner's staffing change flows through to the evaluation's estimand (CRN)."""
    more = vary(site_d, {"service.workforce.roles[therapists].wte": 12.0})
    kw = dict(
        population="service_waits",
        outcome="wait_days",
        horizon_days=365,
        replications=2,
        seed=0,
        follow_up_days=130,
    )
    base = effect_from_des(site_d, usual_care, **kw)
    plus = effect_from_des(more, usual_care, **kw)
    # the comparator runs are identical (CRN), so only the hub arm can differ
    pd.testing.assert_series_equal(base.profile["comparator"], plus.profile["comparator"])
    assert plus.profile["effect"].mean() < base.profile["effect"].mean()
    assert (plus.profile["hub"] <= base.profile["hub"] + 1e-9).mean() >= 0.75
    design = RegionalDesign(n_regions=8, n_periods=12, n_treated=4, schedule=(3, 6))
    att_base = base.apply_to(design).estimand().att
    att_plus = plus.apply_to(design).estimand().att
    assert att_plus < att_base < 0


def test_deterministic_by_seed(site_d, usual_care):
    kw = dict(population="help_seeker_cohort", horizon_days=150, replications=2, follow_up_days=60)
    a = effect_from_des(site_d, usual_care, seed=9, **kw)
    b = effect_from_des(site_d, usual_care, seed=9, **kw)
    c = effect_from_des(site_d, usual_care, seed=10, **kw)
    pd.testing.assert_frame_equal(a.profile, b.profile)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    assert not np.allclose(a.profile["effect"], c.profile["effect"])
    w = effect_from_des(site_d, usual_care, seed=9, workers=2, **kw)
    pd.testing.assert_frame_equal(a.profile, w.profile)


def test_runs_match_hubsim_simulate(site_d):
    """The paths come from the same kernel and streams as hubsim.simulate."""
    res = hubsim.simulate(site_d, horizon_days=120, seed=7, replications=2)
    for rep in (0, 1):
        p = _run_paths(site_d, 120.0, 7, rep, "common")
        cl = res.clients[res.clients["replication"] == rep]
        np.testing.assert_array_equal(p.referred, cl["referred_at"].to_numpy())
        done = ~cl["censored"].to_numpy()
        assert np.all(p.episode_end[done] >= cl["discharged_at"].to_numpy()[done])
        assert np.all(np.isinf(p.episode_end[~done]))
        started = cl["first_treatment_at"].notna().to_numpy()
        np.testing.assert_array_equal(
            p.first_treatment[started], cl["first_treatment_at"].to_numpy()[started]
        )


def test_no_change_without_any_service_contact(site_a, usual_care):
    """People who leave at first contact (self-assessed but not referred, or not completing
    the screening) keep their latent state, so their outcome equals the natural course."""
    p = _run_paths(site_a, 120.0, 1, 0, "common")
    res = hubsim.simulate(site_a, horizon_days=120, seed=1)
    reason = res.clients["discharge_reason"].to_numpy()
    idle = np.isin(reason, ["not_referred", "screening_not_completed"])
    assert idle.sum() > 10
    np.testing.assert_array_equal(p.latent_end[idle], p.latent0[idle])
    world, natural = _Outcomes(p, "phq9", 0.08).at(p.referred + 90.0)
    np.testing.assert_array_equal(world[idle], natural[idle])
    assert np.any(world[~idle] != natural[~idle])


@pytest.mark.statistical
def test_expected_scores_match_simulated_scores():
    """The item-model expectations equal Monte-Carlo means of simulate_scores (4 MCSE)."""
    rng = np.random.default_rng(20240601)
    n = 40_000
    for dep, anx in ((-1.0, -0.5), (0.0, 0.3), (1.2, 1.0), (2.5, 2.0)):
        latent = np.zeros((n, 5))
        latent[:, 0], latent[:, 1] = dep, anx
        s = simulate_scores(latent, ["phq9", "gad7"], rng)
        mean, m2 = _expected(latent[:1], "phq9")
        x = s["phq9"].to_numpy(dtype=float)
        assert abs(x.mean() - mean[0]) < 4 * x.std(ddof=1) / np.sqrt(n)
        var_model = m2[0] - mean[0] ** 2
        m4 = np.mean((x - x.mean()) ** 4)  # SE of the sample variance from the sample itself
        assert abs(x.var(ddof=1) - var_model) < 4 * np.sqrt((m4 - x.var() ** 2) / n)
        p_case = _expected(latent[:1], "caseness")[0][0]
        case = iapt_caseness(s["phq9"].to_numpy(), s["gad7"].to_numpy()).mean()
        assert abs(case - p_case) < 4 * np.sqrt(p_case * (1 - p_case) / n) + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"population": "everyone"}, "population must be one of"),
        ({"population": "staff_survey", "outcome": "wait_days"}, "is not available"),
        ({"replications": 0}, "replications must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"horizon_days": 10}, "must cover at least one month"),
        (
            {"population": "service_waits", "outcome": "treated_within_18w", "follow_up_days": 60},
            "at least 126",
        ),
        ({"population": "help_seeker_cohort", "horizon_days": 150}, "plus the follow-up"),
    ],
)
def test_bad_input_refused(site_d, usual_care, kwargs, message):
    with pytest.raises(ValueError, match=message):
        effect_from_des(site_d, usual_care, **kwargs)


def test_bad_result_use_refused():
    prof = pd.DataFrame(
        {
            "event_time_months": [1, 2],
            "effect": [0.1, 0.2],
            "mcse": [0.0, 0.0],
            "hub": [0.0, 0.0],
            "comparator": [0.0, 0.0],
            "n_replications": [2, 2],
        }
    )
    res = DESEffect("staff_survey", "phq9", prof, prof, prof, 4.0, 5.0, "h", "u", 90.0, 0.0, 2, 0)
    with pytest.raises(ValueError, match="consecutive months from event time 0"):
        res.to_effect()
    ok = DESEffect(
        "staff_survey",
        "phq9",
        prof.assign(event_time_months=[0, 1]),
        prof,
        prof,
        4.0,
        5.0,
        "h",
        "u",
        90.0,
        0.0,
        2,
        0,
    )
    with pytest.raises(ValueError, match="scale must be"):
        ok.to_effect(scale="odds")
    with pytest.raises(ValueError, match="months_per_period must be a positive integer"):
        ok.to_effect(months_per_period=0)
