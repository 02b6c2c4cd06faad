"""The hub reduces to an M/M/c queue and matches Erlang C (configs/validation/mmc.yaml).

M/M/3 with mu = 1 a day and lambda = 1.5, 2.4, 2.7 a day (rho = 0.5, 0.8, 0.9). For each
load: 12 independent replications of 1,200 days with a 200-day warm-up; the statistic of a
replication is the mean wait in queue, the share who wait and the servers' utilisation
over clients referred between the warm-up and 100 days before the horizon (so every one of
their waits is observed: the test checks none is censored). The tolerance is 4
Monte-Carlo standard errors of the mean over replications (replication means are
independent, so no batch-means correction is needed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hubsim
from hubsim.experiment import vary

C = 3
MU = 1.0
REPS = 12
HORIZON = 1200.0
WARMUP = 200.0


def erlang_c(lam: float, mu: float, c: int) -> tuple[float, float, float]:
    """P(wait), mean wait in queue and utilisation of M/M/c."""
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    p_wait = tail / (head + tail)
    return p_wait, p_wait / (c * mu - lam), rho


@pytest.fixture(scope="module")
def base(root):
    return hubsim.load_config(root / "configs/validation/mmc.yaml")


def _run(base, lam, seed):
    cfg = vary(base, {"simulation.demand.multiplier": lam})
    return hubsim.simulate(
        cfg, horizon_days=HORIZON, warmup_days=WARMUP, seed=seed, replications=REPS, workers=2
    )


@pytest.mark.statistical
@pytest.mark.parametrize(("lam", "seed"), [(1.5, 101), (2.4, 102), (2.7, 103)])
def test_mmc_matches_erlang_c(base, lam, seed):
    res = _run(base, lam, seed)
    ref = res.clients["referred_at"]
    c = res.clients[(ref >= WARMUP) & (ref <= HORIZON - 100)]
    assert not c["censored"].any()
    g = c.groupby("replication")["wait_to_first_assessment_days"]
    wait = g.mean().to_numpy()
    p_wait = g.apply(lambda w: float((w.dropna() > 0).mean())).to_numpy()
    util = res.kpis["utilisation_clinician"].to_numpy()
    p_true, wq_true, rho = erlang_c(lam, MU, C)

    def mcse(x):
        return x.std(ddof=1) / math.sqrt(len(x))

    assert abs(wait.mean() - wq_true) <= 4 * mcse(wait), (wait.mean(), wq_true)
    assert abs(p_wait.mean() - p_true) <= 4 * mcse(p_wait), (p_wait.mean(), p_true)
    assert abs(util.mean() - rho) <= 4 * mcse(util), (util.mean(), rho)
    # Little's law on the kernel's queue-length integral: L_q = lambda_hat x W_q, per run
    area = res.queue_area[res.queue_area["stage"] == "assessment"].set_index("replication")["area"]
    whole = res.clients.groupby("replication")
    lq = area / HORIZON
    lam_w = whole.size() / HORIZON * whole["wait_to_first_assessment_days"].mean()
    diff = (lq - lam_w).to_numpy()
    assert abs(diff.mean()) <= 4 * mcse(diff) + 1e-9
    # and the rates themselves are what the configuration says
    lam_hat = (whole.size() / HORIZON).to_numpy()
    assert abs(lam_hat.mean() - lam) <= 4 * math.sqrt(lam / HORIZON / REPS)


def test_erlang_c_formula_known_value():
    # M/M/1 special case: P(wait) = rho, Wq = rho / (mu - lambda)
    p, wq, rho = erlang_c(0.5, 1.0, 1)
    assert p == pytest.approx(0.5) and wq == pytest.approx(1.0) and rho == pytest.approx(0.5)
    assert np.isclose(erlang_c(2.0, 1.0, 3)[0], 0.4444444444444444)
