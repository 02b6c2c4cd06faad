"""Planner levers (hubsim.config.levers) and YAML deltas that read back to the same hash."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config import config_delta, config_yaml, load_config_text
from hubsim.config.levers import MAX_ROLE_WTE, Levers, Surge, apply_levers, lever_changes

runner = CliRunner()

LEVERS = {
    "wte": Levers(wte={"therapists": 7.4, "low_intensity": 3.0}),
    "clinical_share": Levers(clinical_share={"therapists": 0.72}),
    "caseload": Levers(caseload_per_wte={"therapists": 12}),
    "care_model": Levers(care_model="reversed_stepped"),
    "assessment": Levers(assessment_model="in_depth"),
    "onward": Levers(p_onward=0.25),
    "demand": Levers(demand_multiplier=1.8),
    "surge": Levers(surge=Surge(dt.date(2020, 9, 7), 6, 2.5)),
    "initial_list": Levers(initial_waiting=120, initial_waited_days=45),
    "everything": Levers(
        wte={"therapists": 3.4, "low_intensity": 4.1},
        clinical_share={"low_intensity": 0.7},
        caseload_per_wte={"low_intensity": 25},
        care_model="reversed_stepped",
        assessment_model="in_depth",
        p_onward=0.4,
        demand_multiplier=1.2,
        surge=Surge(dt.date(2021, 3, 1), 8, 1.5),
        initial_waiting=50,
    ),
}


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config("site_d")


@pytest.mark.parametrize("case", sorted(LEVERS))
def test_the_yaml_delta_reads_back_to_the_same_configuration(site_d, case, tmp_path):
    cfg = apply_levers(site_d, LEVERS[case], name=f"planner_{case}")
    text = config_yaml(cfg, "site_d")
    assert text.splitlines()[1] == "extends: site_d"
    assert load_config_text(text, "scenario.yaml").content_hash == cfg.content_hash
    p = tmp_path / "scenario.yaml"
    p.write_text(text, encoding="utf-8")
    assert hubsim.load_config(p).content_hash == cfg.content_hash
    res = runner.invoke(app, ["validate", str(p)])
    assert res.exit_code == 0 and cfg.content_hash[:12] in res.output
    # the whole configuration reads back too
    assert load_config_text(config_yaml(cfg)).content_hash == cfg.content_hash


def test_a_delta_holds_only_what_changed(site_d):
    cfg = apply_levers(site_d, LEVERS["onward"])
    assert config_delta(cfg, "site_d") == {
        "extends": "site_d",
        "interventions": {"onward_referral": {"p_onward": 0.25}},
    }
    # lists are replaced whole (the loader does not merge them)
    roles = config_delta(apply_levers(site_d, LEVERS["wte"]), "site_d")["service"]["workforce"]
    assert len(roles["roles"]) == len(site_d.service.workforce.roles)
    assert roles["reported_total_wte"] == pytest.approx(site_d.service.workforce.total_wte + 2.9)


def test_a_delta_of_a_site_that_inherits_its_blocks(tmp_path):
    # Site A writes no short assessment stage (it inherits the defaults'): two-stage works
    site_a = hubsim.load_config("site_a")
    cfg = apply_levers(site_a, Levers(assessment_model="two_stage"))
    assert cfg.interventions.assessment.model == "two_stage"
    assert load_config_text(config_yaml(cfg, "site_a")).content_hash == cfg.content_hash


def test_unchanged_levers_change_nothing(site_d):
    same = Levers(
        wte={r.id: r.wte for r in site_d.service.workforce.roles},
        care_model="stepped",
        assessment_model="two_stage",
        p_onward=site_d.interventions.onward_referral.p_onward,
        demand_multiplier=1.0,
        initial_waiting=0,
    )
    assert lever_changes(site_d, same) == {}
    assert apply_levers(site_d, same) is site_d


def test_clinical_share_keeps_the_job_plan_summing_to_one(site_d):
    cfg = apply_levers(site_d, Levers(clinical_share={"therapists": 0.8}))
    jp = cfg.service.workforce.role("therapists").job_plan
    old = site_d.service.workforce.role("therapists").job_plan
    assert jp.direct_clinical == 0.8 and jp.leave == old.leave
    total = jp.direct_clinical + jp.team_support + jp.supervision + jp.admin + jp.leave + jp.other
    assert total == pytest.approx(1.0, abs=1e-9)
    # the other shares keep their proportions
    assert jp.admin / jp.supervision == pytest.approx(old.admin / old.supervision)


def test_a_new_wte_drops_named_contracts():
    cfg = hubsim.load_config("site_d")
    with_contracts = hubsim.config.vary(
        cfg, {"service.workforce.roles[therapists].contracts": [1.0, 1.0, 1.0, 1.0, 0.8, 0.6]}
    )
    out = apply_levers(with_contracts, Levers(wte={"therapists": 6.0}))
    assert out.service.workforce.role("therapists").contracts is None
    assert out.service.workforce.role("therapists").member_contracts == (1.0,) * 6


def test_the_variant_keeps_the_streams(site_d):
    # the same name -> the same random streams (common random numbers) by default
    assert apply_levers(site_d, LEVERS["wte"]).name == site_d.name
    assert site_d.service.workforce.role("therapists").wte == 5.4  # never mutated


@pytest.mark.parametrize(
    ("levers", "field", "expected"),
    [
        (Levers(wte={"therapists": MAX_ROLE_WTE + 1}), "roles[therapists].wte", "between 0 and 50"),
        (Levers(wte={"therapists": "lots"}), "roles[therapists].wte", "expected a number"),
        (Levers(wte={"therapists": float("nan")}), "roles[therapists].wte", "between 0 and 50"),
        (Levers(wte={"nurses": 1}), "wte[nurses]", "unknown role"),
        (Levers(clinical_share={"therapists": 0.95}), "direct_clinical", "1 minus leave"),
        (Levers(caseload_per_wte={"therapists": 2.5}), "caseload_per_wte", "whole number"),
        (Levers(care_model="matched"), "care_model.kind", "'stepped' or 'reversed_stepped'"),
        (Levers(p_onward=-0.1), "p_onward", "between 0 and 1"),
        (Levers(demand_multiplier=9), "demand.multiplier", "between 0 and 5"),
        (Levers(surge=Surge(dt.date(2024, 1, 1), 4, 2)), "surges.start", "inside the simulated"),
        (Levers(initial_waiting=10**6), "initial_waiting_list", "between 0 and 5000"),
        (
            Levers(wte={"therapists": 0, "clinical_leadership": 0}),
            "steps.step3.roles",
            "none of its roles",
        ),
    ],
)
def test_bad_levers_are_one_sentence_each(site_d, levers, field, expected):
    with pytest.raises(hubsim.ConfigError) as info:
        apply_levers(site_d, levers)
    msg = str(info.value)
    assert msg.startswith("planner settings: ") and field in msg and expected in msg, msg
    assert all(p.endswith(".") for p in info.value.problems)
