"""Bad configuration input: one sentence naming file, line, field path and what was expected."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import hubsim
from hubsim.cli import app
from hubsim.config.loader import load_config_data

from .conftest import CONFIGS, SITES

runner = CliRunner()


def write_delta(tmp_path: Path, body: str, name: str = "scenario.yaml") -> Path:
    """A scenario file that extends Site D with ``body`` (YAML text)."""
    p = tmp_path / name
    p.write_text(f"extends: {SITES['d']}\n{body}", encoding="utf-8")
    return p


def _check(path: Path, field: str, expected: str, line: int | None = None) -> str:
    with pytest.raises(hubsim.ConfigError) as info:
        hubsim.load_config(path)
    msg = str(info.value)
    assert str(path) in msg or str(SITES["d"]) in msg or "hub.yaml" in msg, msg
    assert re.search(r"line \d+", msg), msg
    if line is not None:
        assert f"line {line}:" in msg, msg
    assert field in msg, msg
    assert expected in msg, msg
    # the CLI prints the same sentences, exits 2 and shows no traceback
    res = runner.invoke(app, ["validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    assert field in res.output
    return msg


def test_yaml_syntax_error(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nregion: {name: a, in_scope_staff: 3\nkind: hub\n", encoding="utf-8")
    _check(p, "YAML syntax error", "expected valid YAML")


def test_missing_file(tmp_path):
    p = tmp_path / "nope.yaml"
    with pytest.raises(hubsim.ConfigError, match="file not found"):
        hubsim.load_config(p)
    res = runner.invoke(app, ["validate", str(p)])
    assert res.exit_code == 2 and "file not found" in res.output and "Traceback" not in res.output


def test_missing_extends_target(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: x\nextends: ../nowhere/base.yaml\n", encoding="utf-8")
    _check(p, "extends", "not found", line=2)


def test_extends_cycle(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n", encoding="utf-8")
    with pytest.raises(hubsim.ConfigError, match="extends cycle"):
        hubsim.load_config(tmp_path / "a.yaml")
    res = runner.invoke(app, ["validate", str(tmp_path / "a.yaml")])
    assert res.exit_code == 2 and "cycle" in res.output and "Traceback" not in res.output


def test_unknown_field_with_did_you_mean(tmp_path):
    p = write_delta(tmp_path, "region:\n  in_scope_staf: 10\n")
    msg = _check(p, "region.in_scope_staf", "did you mean 'in_scope_staff'?", line=3)
    assert str(p) in msg


def test_negative_wte(tmp_path):
    body = (
        "service:\n  workforce:\n    roles:\n"
        "      - {id: therapists, label: T, band_low: '6', band_high: 8b, wte: -1.0,\n"
        "         job_plan: {direct_clinical: 0.6, team_support: 0.1, supervision: 0.1, admin: 0.1,"
        " leave: 0.1, source: x}, source: x}\n"
    )
    p = write_delta(tmp_path, body)
    _check(p, "service.workforce.roles[0].wte", "at least 0", line=5)


def test_non_numeric_wte(tmp_path):
    body = (
        "service:\n  workforce:\n    roles:\n"
        "      - {id: therapists, label: T, band_low: '6', band_high: 8b, wte: lots,\n"
        "         job_plan: {direct_clinical: 0.6, team_support: 0.1, supervision: 0.1, admin: 0.1,"
        " leave: 0.1, source: x}, source: x}\n"
    )
    _check(write_delta(tmp_path, body), "service.workforce.roles[0].wte", "expected a number")


def test_probability_outside_unit_interval(tmp_path):
    p = write_delta(tmp_path, "interventions:\n  onward_referral:\n    p_onward: 1.4\n")
    _check(p, "interventions.onward_referral.p_onward", "at most 1", line=4)


def test_shares_not_summing_to_one(tmp_path):
    body = (
        "interventions:\n  onward_referral:\n    destinations:\n"
        "      - {service: talking_therapies, share: 0.5}\n"
        "      - {service: cmht, share: 0.2}\n"
    )
    _check(
        write_delta(tmp_path, body),
        "interventions.onward_referral.destinations",
        "summing to 1, got 0.7",
        line=4,
    )


def test_unknown_instrument(tmp_path):
    p = write_delta(tmp_path, "interventions:\n  screening:\n    measures: [phq9, gad7, bdi2]\n")
    _check(p, "interventions.screening.measures[2]", "expected 'phq9', 'gad7'", line=4)


def test_step_offered_with_no_staffed_role(tmp_path):
    body = "interventions:\n  steps:\n    pastoral:\n      offered: true\n      roles: [research]\n"
    msg = _check(
        write_delta(tmp_path, body),
        "interventions.steps.pastoral.roles",
        "none of its roles (research) has WTE",
    )
    assert "line 6:" in msg


def test_opening_date_outside_period(tmp_path):
    p = write_delta(tmp_path, "simulation:\n  period: {start: 2021-01-01, end: 2022-01-01}\n")
    msg = _check(
        p,
        "service.target_population.groups[0].opens",
        "expected an opening date inside the simulated period",
    )
    assert "2020-05-01" in msg


def test_distribution_with_impossible_parameters(tmp_path):
    body = (
        "interventions:\n  assessment:\n    in_depth:\n"
        "      duration_minutes: {dist: lognormal, mean: 90, sd: -5}\n"
    )
    _check(
        write_delta(tmp_path, body),
        "interventions.assessment.in_depth.duration_minutes.sd",
        "greater than 0",
        line=5,
    )
    body2 = (
        "interventions:\n  assessment:\n    in_depth:\n"
        "      duration_minutes: {dist: uniform, low: 60, high: 30}\n"
    )
    _check(write_delta(tmp_path, body2, "s2.yaml"), "duration_minutes", "expected high > low")
    body3 = (
        "interventions:\n  assessment:\n    in_depth:\n"
        "      duration_minutes: {dist: weibull, mean: 60}\n"
    )
    _check(
        write_delta(tmp_path, body3, "s3.yaml"),
        "duration_minutes",
        "unknown distribution 'weibull'",
    )


def test_error_in_base_file_names_the_base(tmp_path):
    base = tmp_path / "base.yaml"
    text = (
        SITES["d"]
        .read_text(encoding="utf-8")
        .replace("extends: ../defaults/hub.yaml", f"extends: {CONFIGS / 'defaults' / 'hub.yaml'}")
        .replace("in_scope_staff: 180000", "in_scope_staff: -3")
    )
    base.write_text(text, encoding="utf-8")
    over = tmp_path / "over.yaml"
    over.write_text("extends: base.yaml\nname: over\n", encoding="utf-8")
    with pytest.raises(hubsim.ConfigError) as info:
        hubsim.load_config(over)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "in_scope_staff: -3" in t)
    assert f"{base}, line {line}: region.in_scope_staff" in str(info.value)


def test_validate_glob_all_shipped_configs_pass():
    res = runner.invoke(app, ["validate", str(CONFIGS / "**" / "*.yaml")])
    assert res.exit_code == 0, res.output
    assert res.output.count("valid (") >= 6


# ----------------------------------------------------------------- extends and hashing
def test_one_line_delta_changes_exactly_that_field(tmp_path):
    base = hubsim.load_config(SITES["d"])
    p = write_delta(tmp_path, "interventions:\n  care_model:\n    kind: reversed_stepped\n")
    new = hubsim.load_config(p)
    assert new.interventions.care_model.kind == "reversed_stepped"
    a, b = base.to_dict(), new.to_dict()
    b["interventions"]["care_model"]["kind"] = a["interventions"]["care_model"]["kind"]
    assert a == b
    assert new.content_hash != base.content_hash


def test_lists_are_replaced_and_distributions_swapped_whole(tmp_path):
    p = write_delta(
        tmp_path,
        "interventions:\n  screening:\n    measures: [phq9]\n  triage:\n    rules: []\n"
        "  assessment:\n    in_depth:\n      duration_minutes: {dist: fixed, value: 60}\n",
    )
    cfg = hubsim.load_config(p)
    assert cfg.interventions.screening.measures == ("phq9",)
    assert cfg.interventions.assessment.in_depth.duration_minutes.mean == 60


def test_hash_ignores_key_order_and_comments(tmp_path):
    data, _ = load_config_data(SITES["b"])
    reordered = dict(reversed(list(data.items())))
    p = tmp_path / "b.yaml"
    p.write_text("# a comment\n" + yaml.safe_dump(reordered, sort_keys=False), encoding="utf-8")
    assert hubsim.load_config(p).content_hash == hubsim.load_config(SITES["b"]).content_hash
    data["region"]["in_scope_staff"] += 1
    p.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert hubsim.load_config(p).content_hash != hubsim.load_config(SITES["b"]).content_hash


def test_configs_are_frozen():
    cfg = hubsim.load_config(SITES["a"])
    with pytest.raises(Exception, match="frozen"):
        cfg.region.in_scope_staff = 1  # type: ignore[misc]


# ------------------------------------------------------------- property: never crashes
_BASE, _ = load_config_data(SITES["c"])


def _paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield (*prefix, k)
            yield from _paths(v, (*prefix, k))
    elif isinstance(d, list):
        for i, v in enumerate(d):
            yield (*prefix, i)
            yield from _paths(v, (*prefix, i))


_ALL_PATHS = list(_paths(_BASE))
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(-2, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["phq9", "fixed", "lognormal", "2021-01-01", "8b", "step3", "therapists"]),
)


_mutations = st.lists(
    st.tuples(st.sampled_from(_ALL_PATHS), st.sampled_from(["set", "delete", "rename"]), _values),
    min_size=1,
    max_size=3,
)


def _mutated_loads_or_raises_config_error(tmp_path_factory, mutations):
    import copy

    data = copy.deepcopy(_BASE)
    data["extends"] = str(CONFIGS / "defaults" / "hub.yaml")
    for path, op, value in mutations:
        parent = data
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if op == "set":
                parent[last] = value
            elif op == "delete":
                del parent[last]
            elif isinstance(parent, dict):
                parent[str(last) + "x"] = parent.pop(last)
        except (KeyError, IndexError, TypeError):
            continue
    p = tmp_path_factory.mktemp("mut") / "m.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    try:
        hubsim.load_config(p)
    except hubsim.ConfigError as exc:
        assert all(re.match(r".+, line \d+: ", s) or ": " in s for s in exc.problems)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=_mutations)
def test_random_mutation_loads_or_raises_config_error(tmp_path_factory, mutations):
    _mutated_loads_or_raises_config_error(tmp_path_factory, mutations)


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutations=_mutations)
def test_random_mutation_loads_or_raises_config_error_many(tmp_path_factory, mutations):
    _mutated_loads_or_raises_config_error(tmp_path_factory, mutations)


def test_booking_and_staff_time_errors(tmp_path):
    p = write_delta(tmp_path, "simulation:\n  booking:\n    priorities: [risk, sessions]\n")
    _check(p, "simulation.booking.priorities", "to list risk, sessions, assessments and new_courses", line=4)
    p = write_delta(tmp_path, "simulation:\n  booking:\n    allocation: nearest\n")
    _check(p, "simulation.booking.allocation", "soonest", line=4)
    p = write_delta(tmp_path, "simulation:\n  staff_time:\n    annual_leave_days: -3\n")
    _check(p, "simulation.staff_time.annual_leave_days", "at least 0", line=4)
    p = write_delta(
        tmp_path,
        "simulation:\n  initial_waiting_list:\n    counts: {step9: 4}\n"
        "    waited_days: {dist: fixed, value: 3}\n    source: test\n",
    )
    _check(p, "simulation.initial_waiting_list.counts.step9", "unknown waiting list")


def test_contracts_must_sum_to_the_wte(tmp_path):
    body = (
        "service:\n  workforce:\n    roles:\n"
        + "".join(
            f"      - {{id: {r.id}, label: x, band_low: '{r.band_low}', band_high: '{r.band_high}', "
            f"wte: {r.wte}, job_plan: {{direct_clinical: {r.job_plan.direct_clinical}, "
            f"team_support: {r.job_plan.team_support}, supervision: {r.job_plan.supervision}, "
            f"admin: {r.job_plan.admin}, leave: {r.job_plan.leave}, other: {r.job_plan.other}, "
            f"source: s}}, source: s"
            + (", contracts: [1.0, 1.0]" if r.id == "therapists" else "")
            + "}\n"
            for r in hubsim.load_config(SITES["d"]).service.workforce.roles
        )
    )
    p = write_delta(tmp_path, body)
    _check(p, "service.workforce.roles[2].contracts", "summing to the role's wte 5.4")
