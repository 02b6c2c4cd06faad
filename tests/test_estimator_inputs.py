"""Bad input to diff_in_means, twfe and event_study: one clear ValueError naming the column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import diff_in_means, event_study, twfe


def _panel(G: int = 8, T: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        [(r, t) for r in range(G) for t in range(1, T + 1)], columns=["region", "month"]
    )
    d["g"] = np.where(d["region"] < G // 2, 3 + d["region"] % 2, 0)
    d["hub"] = ((d["g"] > 0) & (d["month"] >= d["g"])).astype(int)
    d["n"] = 50.0
    d["phq9"] = rng.normal(size=len(d)) + 0.3 * d["hub"]
    return d


def _fit(kind: str, d: pd.DataFrame, **kw):
    if kind == "twfe":
        return twfe(d, "phq9", "region", "month", "hub", inference="cr1", **kw)
    if kind == "event_study":
        return event_study(
            d, "phq9", "region", "month", treat="hub", leads=2, lags=2, inference="cr1", **kw
        )
    return diff_in_means(d, "phq9", "hub", cluster="region", inference="cr1", **kw)


KINDS = ["twfe", "event_study", "diff_in_means"]


@pytest.mark.parametrize("kind", KINDS)
def test_missing_column_is_named(kind):
    d = _panel().drop(columns="phq9")
    with pytest.raises(ValueError, match="column 'phq9' is not in the data frame"):
        _fit(kind, d)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_values_raise_unless_dropped(kind):
    d = _panel()
    d.loc[5, "phq9"] = np.nan
    with pytest.raises(ValueError, match=r"column 'phq9'.*missing='drop'"):
        _fit(kind, d)
    est = _fit(kind, d, missing="drop")
    n_obs = est.estimate.n_obs if kind == "event_study" else est.n_obs
    assert n_obs == len(d) - 1


@pytest.mark.parametrize("kind", KINDS)
def test_non_binary_treatment_is_refused(kind):
    d = _panel()
    d.loc[d["hub"] == 1, "hub"] = 2
    with pytest.raises(ValueError, match="treatment column 'hub' must be binary"):
        _fit(kind, d)


@pytest.mark.parametrize("kind", ["twfe", "event_study"])
def test_treated_region_without_pre_period_is_refused(kind):
    d = _panel()
    d.loc[d["region"] == 0, "hub"] = 1
    with pytest.raises(ValueError, match=r"region 0 .*no pre-period"):
        _fit(kind, d)


@pytest.mark.parametrize("kind", KINDS)
def test_single_cluster_is_refused(kind):
    d = _panel()
    d["one"] = 1
    with pytest.raises(ValueError, match=r"cluster column 'one'.*1 cluster"):
        if kind == "diff_in_means":
            diff_in_means(d, "phq9", "hub", cluster="one", inference="cr1")
        else:
            _fit(kind, d, cluster="one")


@pytest.mark.parametrize("kind", KINDS)
def test_non_numeric_outcome_and_bad_weights(kind):
    d = _panel()
    d["phq9"] = d["phq9"].astype(str)
    with pytest.raises(ValueError, match="column 'phq9' must be numeric"):
        _fit(kind, d)
    d = _panel()
    d.loc[3, "n"] = 0.0
    with pytest.raises(ValueError, match="weights column 'n' must be positive"):
        _fit(kind, d, weights="n")


def test_treatment_that_never_varies_is_refused():
    d = _panel()
    d["hub"] = 0
    with pytest.raises(ValueError, match="treatment column 'hub' is 0 in every row"):
        twfe(d, "phq9", "region", "month", "hub")


def test_unbalanced_panel_is_handled_and_documented():
    d = _panel(G=10, T=8, seed=3).sample(frac=0.85, random_state=1)
    est = twfe(d, "phq9", "region", "month", "hub", inference="cr1")
    assert np.isfinite(est.estimate) and est.n_obs == len(d)
    # randomization inference needs a path per region: with absorbing adoption the gaps
    # are filled from the adoption period, so it still runs
    assert np.isfinite(twfe(d, "phq9", "region", "month", "hub", inference="ri").p_value)
    # a closure (treatment switching off) in an unbalanced panel cannot be permuted
    closed = _panel(G=10, T=8, seed=3)
    closed.loc[(closed.region == 0) & (closed.month == 8), "hub"] = 0
    closed = closed.drop(index=closed.index[(closed.region == 1) & (closed.month == 2)])
    assert np.isfinite(twfe(closed, "phq9", "region", "month", "hub", inference="cr1").estimate)
    with pytest.raises(ValueError, match="inference='ri' needs one treatment path per unit"):
        twfe(closed, "phq9", "region", "month", "hub", inference="ri")


def test_bad_options_are_refused():
    d = _panel()
    with pytest.raises(ValueError, match="inference must be one of"):
        twfe(d, "phq9", "region", "month", "hub", inference="bootstrap")
    with pytest.raises(ValueError, match="alpha"):
        twfe(d, "phq9", "region", "month", "hub", alpha=1.5)
    with pytest.raises(ValueError, match="missing must be"):
        twfe(d, "phq9", "region", "month", "hub", missing="ignore")
    with pytest.raises(ValueError, match="inference must be one of"):
        event_study(d, "phq9", "region", "month", treat="hub", inference="conley_taber")


def test_event_study_specific_errors():
    d = _panel()
    with pytest.raises(ValueError, match="ref must be"):
        event_study(d, "phq9", "region", "month", treat="hub", leads=2, lags=2, ref=-3)
    with pytest.raises(ValueError, match="exactly one of treat"):
        event_study(d, "phq9", "region", "month", treat="hub", cohort="g")
    bad = d.copy()
    bad.loc[0, "g"] = 5
    with pytest.raises(ValueError, match="cohort column 'g' must be constant within unit"):
        event_study(bad, "phq9", "region", "month", cohort="g")
    with pytest.raises(ValueError, match="no observations at event time 4"):
        event_study(d, "phq9", "region", "month", cohort="g", leads=1, lags=9)
    with pytest.raises(ValueError, match="treatment must stay on"):
        off = d.copy()
        off.loc[(off.region == 0) & (off.month == 6), "hub"] = 0
        event_study(off, "phq9", "region", "month", treat="hub")
