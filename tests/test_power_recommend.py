"""The recommended estimator follows its stated rule, and changes when a diagnosand does."""

from __future__ import annotations

import pandas as pd
import pytest

from hubsim.power import diagnose, recommend_estimator
from hubsim.regional import RegionalDesign


def frame(**over):
    base = {
        "estimator": ["a", "b", "c"],
        "power": [0.9, 0.8, 0.6],
        "power_mcse": [0.02] * 3,
        "bias": [0.0, 0.0, 0.0],
        "bias_mcse": [0.05] * 3,
        "coverage": [0.95, 0.95, 0.95],
        "coverage_mcse": [0.015] * 3,
        "rmse": [0.3, 0.2, 0.2],
        "failure_rate": [0.0] * 3,
        "alpha": [0.05] * 3,
    }
    for k, v in over.items():
        base[k] = v
    return pd.DataFrame(base)


def test_the_most_powerful_usable_estimator_is_recommended():
    assert recommend_estimator(frame()).estimator == "a"


@pytest.mark.parametrize(
    ("change", "expected", "why"),
    [
        ({"bias": [0.2, 0.0, 0.0]}, "b", "bias +0.2 is beyond 2 MCSE"),
        ({"coverage": [0.85, 0.95, 0.95]}, "b", "coverage 85.0% is not within 2 MCSE"),
        ({"failure_rate": [0.2, 0.0, 0.0]}, "b", "fails in 20% of simulations"),
        ({"power": [0.5, 0.8, 0.9]}, "c", None),
    ],
)
def test_changing_a_diagnosand_changes_the_recommendation(change, expected, why):
    rec = recommend_estimator(frame(**change))
    assert rec.estimator == expected
    if why:
        assert why in rec.reason and "a (" in rec.reason
        assert not rec.tidy().set_index("estimator").loc["a", "usable"]


def test_the_tolerance_is_in_mcse():
    # a bias of 0.08 is within 2 MCSE when the MCSE is 0.05, not when it is 0.02
    assert recommend_estimator(frame(bias=[0.08, 0, 0])).estimator == "a"
    assert recommend_estimator(frame(bias=[0.08, 0, 0], bias_mcse=[0.02] * 3)).estimator == "b"


def test_no_usable_estimator_says_why():
    rec = recommend_estimator(frame(coverage=[0.5, 0.6, 0.7]))
    assert rec.estimator is None and rec.reason.startswith("None passes the rule")
    assert "No estimator is usable" in rec.summary()


def test_on_a_diagnosis():
    d = RegionalDesign(n_regions=20, n_periods=12, n_treated=10, schedule=(4, 7), effect=0.3)
    res = diagnose(d, ["twfe_cr1", "diff_in_means"], n_sims=40, seed=3)
    rec = recommend_estimator(res)
    assert rec.estimator in {"twfe_cr1", "diff_in_means"}
    assert list(rec.tidy()["estimator"]) == ["twfe_cr1", "diff_in_means"]
    with pytest.raises(ValueError, match="lack column"):
        recommend_estimator(pd.DataFrame({"estimator": ["x"]}))
