"""Outcomes, in one place: symptom change while waiting and in treatment, remission, recovery.

Each client carries latent problems on the standard-normal scale where 0 is the general
staff population (:mod:`hubsim.measures`), and ``z0``, their own general-population level.

* While waiting (up to the first treatment appointment, or to discharge for those never
  treated): natural remission with a constant monthly hazard
  (``simulation.outcomes.natural_remission_per_month``, calibration.md §7) takes the latent
  state down to ``z0``; a penalty per month waited worsens it
  (``wait_penalty_per_month``, an assumption in the direction of calibration.md §6).
* At the end of a course: the step's effect (a normal draw) times the share of the planned
  sessions attended; external services apply their effect after their wait.
* Recovery and reliable improvement are scored from screening and discharge answers with
  the NHS Talking Therapies definitions (:mod:`hubsim.measures.iapt`).

:func:`wait_effects` is what the kernel applies; :class:`ExpectedOutcomes` is the same
model in expectation over remission, used by the DES-derived effects of the regional
evaluation (:mod:`hubsim.power.des_effects`), so both follow one definition.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

DAYS_PER_MONTH = 365.25 / 12.0
# Latent caseness thresholds for the stepped-care "non-response" check, on the latent
# scale where 0 is the general staff population: the share of NHS staff above PHQ-9 >= 10
# is 27.3% and above GAD-7 >= 10 is 23.2% (calibration.md §2, Lamb et al. 2021), so a
# client still above the standard-normal quantiles of those shares is still a case.
DEPRESSION_CASE_Z = 0.6038  # Phi^-1(1 - 0.273)
ANXIETY_CASE_Z = 0.7323  # Phi^-1(1 - 0.232)


def remission_probability(days, rate_per_month: float):
    """P(natural remission within ``days``) at a constant monthly hazard."""
    return -np.expm1(-rate_per_month * np.maximum(days, 0.0) / DAYS_PER_MONTH)


def wait_effects(latent, z0, u_remit: float, wait_days: float, oc) -> None:
    """Natural remission and worsening over ``wait_days`` of waiting, in place on ``latent``
    (a client's latent problems: a list or a 1-d array).

    ``u_remit`` is the client's remission uniform: remission happened if it is below the
    probability of remitting within the wait.
    """
    if not wait_days > 0:
        return
    months = wait_days / DAYS_PER_MONTH
    remit = u_remit < 1.0 - math.exp(-oc.natural_remission_per_month * months)
    pen = oc.wait_penalty_per_month * months
    # element by element in place (the kernel calls this once a client: a loop is cheaper
    # than building a new list)
    if remit:
        # remission: no worse than the general staff population the client came from
        for i, z in enumerate(z0):
            v = latent[i]
            latent[i] = (z if z < v else v) + pen
    else:
        for i, v in enumerate(latent):
            latent[i] = v + pen


def still_a_case(latent: np.ndarray) -> bool:
    """Above the latent caseness threshold on depression or anxiety (stepped-care check)."""
    return bool(latent[0] > DEPRESSION_CASE_Z or latent[1] > ANXIETY_CASE_Z)


# ------------------------------------------------------------------ expected scores
def total_moments(theta: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and second moment of an instrument's total given its domain latent."""
    from hubsim.measures import category_probabilities

    p, vals = category_probabilities(name, theta)
    m = np.einsum("nic,ic->ni", p, vals)
    m2 = np.einsum("nic,ic->ni", p, vals.astype(float) ** 2)
    mean = m.sum(axis=1)
    var = (m2 - m**2).sum(axis=1)  # items are independent given the latent
    return mean, var + mean**2


def expected_outcome(latent: np.ndarray, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    """Expected outcome and its second moment given latent (n, >=2: depression, anxiety).

    ``outcome`` is ``"phq9"`` (expected total) or ``"caseness"`` (probability of NHS Talking
    Therapies caseness, PHQ-9 >= 10 or GAD-7 >= 8).
    """
    from hubsim.measures import GAD7_CASENESS, PHQ9_CASENESS, total_at_least

    if outcome == "phq9":
        return total_moments(latent[:, 0], "phq9")
    p_dep = total_at_least("phq9", latent[:, 0], PHQ9_CASENESS)
    p_anx = total_at_least("gad7", latent[:, 1], GAD7_CASENESS)
    p = 1.0 - (1.0 - p_dep) * (1.0 - p_anx)  # instruments independent given the latents
    return p, p


def staff_baseline(outcome: str, rho: float) -> tuple[float, float]:
    """Mean and SD of the outcome among all staff (latents ~ N(0, 1), correlation rho)."""
    x, w = special.roots_hermitenorm(61)
    w = w / math.sqrt(2.0 * math.pi)
    d = np.repeat(x, x.size)
    a = rho * d + math.sqrt(1.0 - rho**2) * np.tile(x, x.size)
    ww = np.outer(w, w).ravel()
    m, m2 = expected_outcome(np.column_stack([d, a]), outcome)
    mean = float(ww @ m)
    return mean, math.sqrt(max(float(ww @ m2) - mean**2, 0.0))


class ExpectedOutcomes:
    """Expected outcome of each client at any time: in the world simulated and with no service.

    Parameters
    ----------
    referred, episode_end : arrays of float
        Days; ``episode_end`` is inf while the client is still in the service.
    latent0, latent_end, z0 : arrays (n, 2)
        Depression and anxiety latents at referral, at the end of the episode, and the
        general-population level.
    outcome : {"phq9", "caseness"}
    rate : float
        Monthly natural remission hazard.

    Before the episode ends a client is counted at their natural-course value (treatment
    counts when the DES counts it, at the course end); afterwards at the DES's final state,
    with natural remission continuing towards ``z0``.
    """

    def __init__(self, referred, episode_end, latent0, latent_end, z0, outcome: str, rate: float):
        self.referred = referred
        self.episode_end = episode_end
        self.rate = rate
        self.a0 = expected_outcome(latent0, outcome)
        self.b0 = expected_outcome(np.minimum(latent0, z0), outcome)
        self.a1 = expected_outcome(latent_end, outcome)
        self.b1 = expected_outcome(np.minimum(latent_end, z0), outcome)

    def at(self, tau: np.ndarray, moment: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(world, natural course) at times ``tau`` (broadcast against the clients)."""
        w0 = remission_probability(tau - self.referred, self.rate)
        natural = (1.0 - w0) * self.a0[moment] + w0 * self.b0[moment]
        after = tau >= self.episode_end
        w1 = remission_probability(np.where(after, tau - self.episode_end, 0.0), self.rate)
        world = np.where(after, (1.0 - w1) * self.a1[moment] + w1 * self.b1[moment], natural)
        return world, natural
