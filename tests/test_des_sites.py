"""Each of the four sites runs a year; its KPIs are compared with calibration.md.

Each site is run for the year after its last occupational group opens (the earlier months
are a warm-up: the phased opening is not a steady year), 3 replications.

Figures compared, and why these bounds:

* Uptake (referrals a year / in-scope staff): calibration.md §7 "Annual self-referral/
  screening uptake", default 1.0%, sensitivity range 0.3-2%. The bound is that range: the
  site files set group rates near 1%, and Site A's self-assessment stage removes some.
* Non-completion among treatment starters: calibration.md §7 "Drop-out before or early in
  treatment", 25-50% (IAPT: 43% of starters do not complete). Bound: that range widened by
  3 binomial standard errors of the pooled proportion.
* Sessions per completed course: the configured course lengths (Allsopp 2024: Step 2 about
  6, Step 3 8-12 / about 12, Step 4 20+; calibration.md §7 6 / 10 / 20) must be delivered:
  for each ladder step with at least 30 clients who completed that one course, their mean
  sessions attended equals the configured mean within 4 standard errors (+0.5 for
  rounding draws to whole sessions).
* Recovery and reliable improvement, pooled over the four sites, with the NHS Talking
  Therapies definitions (calibration.md §3; :func:`hubsim.des.result.replication_kpis`):
  among referrals that *finished a course* (ended, for any reason, after >= 2 attended
  in-house treatment sessions), recovery among those at caseness at screening and reliable
  improvement among all of them. Targets: calibration.md §7 "Recovery / reliable
  improvement among completers", 50% / 67%, ranges 45-55% / 60-70%; the step effects were
  calibrated to them by experiments/calibrate_outcomes.py on another seed (20240430), which
  gave 55.0% / 60.4%: both ranges are only just compatible in this model, because about
  30% of the hub's finished courses are clients below caseness at screening, whose
  reliable improvement is floor-limited (23% against 77% for cases), so each figure sits
  near one edge of its range.
  Pooled because the IAPT figures are national rates over low- and high-intensity
  finishers. Bound: the range widened by 3 Monte-Carlo standard errors of the pooled
  proportion, taking the larger of the binomial SE and a replication-clustered SE (clients
  of one replication share its queues and waits, so their outcomes are not independent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hubsim

REPS = 3
RESULTS: dict = {}


def _run(path):
    cfg = hubsim.load_config(path)
    last = max(g.opens for g in cfg.service.target_population.groups)
    warm = (last - cfg.simulation.period.start).days
    res = hubsim.simulate(
        cfg, horizon_days=warm + 365, warmup_days=warm, seed=31, replications=REPS, workers=2
    )
    return cfg, res, warm


@pytest.fixture(scope="module")
def sites(site_paths):
    return {s: _run(p) for s, p in site_paths.items()}


def _binom_se(p, n):
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


@pytest.mark.statistical
@pytest.mark.parametrize("site", list("abcd"))
def test_uptake_in_calibration_range(sites, site):
    _cfg, res, _ = sites[site]
    uptake = res.kpis["uptake_pct_per_year"].to_numpy()
    assert np.all((uptake >= 0.3) & (uptake <= 2.0)), uptake


@pytest.mark.statistical
@pytest.mark.parametrize("site", list("abcd"))
def test_treatment_non_completion_in_calibration_range(sites, site):
    _cfg, res, warm = sites[site]
    c = res.clients
    c = c[(c["referred_at"] >= warm) & ~c["censored"] & c["first_treatment_at"].notna()]
    n = len(c)
    assert n > 100
    p = float(c["discharge_reason"].isin(["dropped_out_treatment", "dna_discharge"]).mean())
    tol = 3 * _binom_se(p, n)
    assert 0.25 - tol <= p <= 0.50 + tol, (p, n)


@pytest.mark.statistical
@pytest.mark.parametrize("site", list("abcd"))
def test_courses_deliver_configured_sessions(sites, site):
    cfg, res, _warm = sites[site]
    c = res.clients
    checked = 0
    for step in ("low_intensity", "step3", "step4"):
        done = c[(c["discharge_reason"] == "completed") & (c["steps_received"] == step)]
        if len(done) < 30:
            continue
        x = done["sessions_attended"].to_numpy(dtype=float)
        target = cfg.interventions.steps.get(step).sessions.mean
        se = x.std(ddof=1) / math.sqrt(len(x))
        # completers attend every planned session; draws are rounded to whole sessions
        assert abs(x.mean() - target) <= 4 * se + 0.5, (step, x.mean(), target)
        checked += 1
    assert checked >= 1


def _finished_outcomes(sites, column):
    """{site: [outcome column of finished courses in the site's year, one array a replication]}."""
    out = {}
    for site, (_cfg, res, warm) in sites.items():
        c = res.clients
        fin = c[(c["referred_at"] >= warm) & c["finished_course"].astype(bool)]
        out[site] = [
            g[column].dropna().astype(bool).to_numpy() for _rep, g in fin.groupby("replication")
        ]
    return out


def _pooled_rate_and_mcse(by_site):
    """Pooled proportion and its MCSE: max(binomial SE, SE clustered on replications).

    The clustered SE is the ratio estimator's between-replication variance within each
    site (sites are fixed strata: their systematic differences are not Monte-Carlo error).
    """
    x = np.concatenate([part for parts in by_site.values() for part in parts])
    n, p = len(x), float(x.mean())
    var = 0.0
    for parts in by_site.values():
        k = len(parts)
        p_site = float(np.concatenate(parts).mean())
        resid = np.array([part.sum() - p_site * len(part) for part in parts])
        var += k / (k - 1) * float((resid**2).sum())
    return p, n, max(_binom_se(p, n), math.sqrt(var) / n)


@pytest.mark.statistical
def test_recovery_among_finished_courses_pooled_near_iapt(sites):
    p, n, se = _pooled_rate_and_mcse(_finished_outcomes(sites, "recovered"))
    assert n > 1000
    tol = 3 * se
    assert 0.45 - tol <= p <= 0.55 + tol, (p, n, se)


@pytest.mark.statistical
def test_reliable_improvement_among_finished_courses_pooled_near_iapt(sites):
    p, n, se = _pooled_rate_and_mcse(_finished_outcomes(sites, "reliably_improved"))
    assert n > 1000
    tol = 3 * se
    assert 0.60 - tol <= p <= 0.70 + tol, (p, n, se)


def test_finished_course_follows_the_nhs_definition(sites):
    """finished_course: ended (any reason), in-house treatment, >= 2 sessions attended."""
    for _cfg, res, warm in sites.values():
        c = res.clients
        expect = ~c["censored"] & c["first_treatment_at"].notna() & (c["sessions_attended"] >= 2)
        assert (c["finished_course"] == expect).all()
        # dropouts after two sessions count; a one-session course does not
        fin = c[c["finished_course"]]
        assert fin["discharge_reason"].isin(["dropped_out_treatment", "dna_discharge"]).any()
        one = c[(c["discharge_reason"] == "completed") & (c["sessions_attended"] == 1)]
        assert not one["finished_course"].any()
        # the KPIs use the same populations (clients referred after the warm-up)
        for rep, g in c[c["referred_at"] >= warm].groupby("replication"):
            k = res.kpis.set_index("replication").loc[rep]
            f = g[g["finished_course"]]
            assert k["finished_courses"] == len(f)
            assert k["recovery_rate"] == pytest.approx(f["recovered"].dropna().astype(bool).mean())
            assert k["reliable_improvement_rate"] == pytest.approx(
                f["reliably_improved"].dropna().astype(bool).mean()
            )
