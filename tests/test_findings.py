"""The report's key findings: the recommendation rule and the block built from the frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from hubsim.evaluation import RunSettings, evaluate, read_study, render_report
from hubsim.evaluation.findings import first_crossing, plateau, recommend, recommended

STUDY = """\
name: findings
seed: 4
alpha: 0.05
sizes:
  default: {n_sims: 30, mde_max_evals: 2}
design:
  n_regions: 16
  n_periods: 8
  n_treated: 12
  schedule: [3, 5]
  n_per_cell: 200
scenarios:
  survey: {population_kind: staff_survey, effect: 0.2}
estimators: [twfe_cr1, callaway_santanna]
curves:
  - name: regions
    vary: {n_regions: [10, 16], n_treated: [8, 12]}
    paired: true
    estimators: [recommended]
  - name: respondents
    vary: {n_per_cell: [50, 200, 800]}
    estimators: [recommended]
mde:
  - {estimator: recommended}
"""


def _row(est, **kw):
    base = dict(
        scenario="s",
        estimator=est,
        bias=0.0,
        bias_mcse=0.01,
        coverage=0.95,
        coverage_mcse=0.01,
        power=0.5,
        power_mcse=0.03,
        rmse=0.1,
        failure_rate=0.0,
        no_test_rate=0.0,
        null_rejection=0.05,
        oversized=False,
    )
    base.update(kw)
    return base


def test_rule_takes_the_most_powerful_unbiased_well_covering_estimator():
    d = pd.DataFrame(
        [
            _row("biased", power=0.99, bias=0.2),
            _row("undercovers", power=0.95, coverage=0.80),
            _row("oversized", power=0.9, oversized=True),
            _row("no_test", power=0.0, no_test_rate=1.0),
            _row("good", power=0.7),
            _row("weaker", power=0.6),
        ]
    )
    r = recommend(d)
    assert recommended(r, "s") == "good"
    why = r.set_index("estimator")["reason"]
    assert why["biased"].startswith("is biased")
    assert why["undercovers"].startswith("covers 0.800, not within 3 MCSE")
    assert why["oversized"].startswith("over-rejects")
    assert why["no_test"].startswith("has no test at this level for this design")
    assert why["weaker"] == ""  # eligible, less power
    # ties within one MCSE go to the smaller RMSE
    t = pd.DataFrame([_row("a", power=0.70, rmse=0.2), _row("b", power=0.69, rmse=0.1)])
    assert recommended(recommend(t), "s") == "b"
    # nothing eligible: no recommendation
    assert recommended(recommend(pd.DataFrame([_row("x", bias=1.0)])), "s") == ""


def test_crossing_and_plateau():
    c = pd.DataFrame({"x_value": [12, 20, 30], "power": [0.4, 0.79, 0.81], "power_mcse": 0.02})
    assert first_crossing(c).x == 30 and first_crossing(c, 0.9).reached is False
    n = np.array([50.0, 200, 800, 3200])
    p = plateau(pd.DataFrame({"x_value": n, "sd_estimate": np.sqrt(4e-4 + 0.1 / n)}), 0.03)
    assert p.a == pytest.approx(4e-4, rel=1e-6) and p.b == pytest.approx(0.1, rel=1e-6)
    # the ceiling: power of a z-test with SD sqrt(a)
    from scipy import stats

    z = 0.03 / 0.02
    assert p.ceiling == pytest.approx(
        stats.norm.cdf(z - 1.959964) + stats.norm.cdf(-z - 1.959964), rel=1e-6
    )


def test_report_opens_with_key_findings_that_follow_the_diagnosands(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(STUDY, encoding="utf-8")
    plan = read_study(path)
    res = evaluate(plan, RunSettings.resolve(plan.spec, "default", workers=1))
    text = render_report(res)
    head = text[: text.index("## Scenarios")]
    assert head.index("## Key findings") < head.index("### The rule behind the recommendation")
    best = recommended(recommend(res.diagnosands), "survey")
    assert best and f"Recommended estimator: **{best}**" in head
    assert "Regions:" in head and "Respondents:" in head
    # the curves were drawn for the recommended estimator
    assert set(res.curves["estimator"]) == {best}
    # make the recommended estimator look biased: the recommendation moves
    d = res.diagnosands.copy()
    i = d.index[(d["scenario"] == "survey") & (d["estimator"] == best)][0]
    d.loc[i, "bias"] = 10 * d.loc[i, "bias_mcse"] + 1e-6
    changed = render_report(dataclasses.replace(res, diagnosands=d))
    other = recommended(recommend(d), "survey")
    assert other != best
    head2 = changed[: changed.index("## Scenarios")]
    if other:
        assert f"Recommended estimator: **{other}**" in head2
    assert f"{best} (is biased" in head2
    # the rule the app's evaluation page shares
    from hubsim.power import recommend_estimator

    one = res.diagnosands[res.diagnosands["scenario"] == "survey"]
    assert recommend_estimator(one).estimator == best


def test_an_observed_coverage_of_one_is_judged_by_the_binomial_mcse_at_nominal():
    """Coverage 1.000 has a zero plug-in MCSE; the rule must judge it against the spread a
    95% interval's coverage has over n fits: fine at 10 fits, a failure at 2,000."""
    from hubsim.power import recommend_estimator

    def diag(n):
        return pd.DataFrame(
            {"estimator": ["a"], "n_sims": [n], "n_ok": [n], "alpha": [0.05],
             "power": [0.5], "power_mcse": [0.05], "bias": [0.0], "bias_mcse": [0.01],
             "coverage": [1.0], "coverage_mcse": [0.0], "rmse": [0.1], "failure_rate": [0.0]}
        )

    assert recommend_estimator(diag(10)).estimator == "a"  # 3 * sqrt(.95*.05/10) = 0.21
    few = recommend_estimator(diag(2000))  # 3 * sqrt(.95*.05/2000) = 0.015 < 0.05
    assert few.estimator is None and "covers 1.000" in few.reason
