"""The levers a service planner pulls, as one validated change to a configuration.

:class:`Levers` holds what a planner changes (WTE by role, job-plan clinical share,
caseload caps, care model, assessment model, onward-referral share, demand, an incident
surge, an initial waiting list); :func:`apply_levers` turns them into a validated variant
of a configuration through :func:`~hubsim.config.variants.vary`, and
:func:`lever_changes` lists the dotted-path changes it makes (what a YAML delta holds).
Bad values raise :class:`~hubsim.errors.ConfigError` with one sentence each, naming the
field path and what was expected, as the loader does.

Examples
--------
>>> import hubsim
>>> site_d = hubsim.load_config("site_d")
>>> more = apply_levers(site_d, Levers(wte={"therapists": 7.4}))
>>> more.service.workforce.role("therapists").wte, more.service.workforce.reported_total_wte
(7.4, 14.15)
>>> apply_levers(site_d, Levers(wte={"therapists": 700}))
Traceback (most recent call last):
...
hubsim.errors.ConfigError: planner settings: service.workforce.roles[therapists].wte: expected between 0 and 50 WTE for one role, got 700.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from hubsim.config.schema import ServiceConfig
from hubsim.config.variants import vary
from hubsim.errors import ConfigError

#: Largest WTE one role may have in the planner (the mapped hubs have 12-17 WTE in total).
MAX_ROLE_WTE = 50.0
#: Largest demand multiplier and surge multiplier accepted.
MAX_DEMAND_MULTIPLIER = 5.0
#: Largest initial waiting list accepted.
MAX_INITIAL_WAITING = 5000
SOURCE = "planner scenario (hubsim app)"
_OTHER_SHARES = ("team_support", "supervision", "admin", "other")


@dataclass(frozen=True)
class Surge:
    """An incident surge: referrals times ``multiplier`` for ``weeks`` from ``start``."""

    start: dt.date
    weeks: float
    multiplier: float


@dataclass(frozen=True)
class Levers:
    """What a planner changes; ``None`` (or an empty mapping) leaves a lever as it is.

    Attributes
    ----------
    wte : mapping of role id to WTE
    clinical_share : mapping of role id to the job plan's direct clinical share; the
        other non-leave shares (team support, supervision, admin, other) are rescaled in
        proportion so the job plan still sums to one, and leave is unchanged.
    caseload_per_wte : mapping of role id to the maximum open courses per WTE
    care_model : "stepped" or "reversed_stepped"
    assessment_model : "two_stage" or "in_depth"
    p_onward : share of assessed clients referred to external services
    demand_multiplier : multiplier on every referral rate
    surge : :class:`Surge`, added to the configuration's surges
    initial_waiting : clients waiting for assessment when the simulation starts
    initial_waited_days : mean days they have waited already (exponential)
    """

    wte: Mapping[str, float] = field(default_factory=dict)
    clinical_share: Mapping[str, float] = field(default_factory=dict)
    caseload_per_wte: Mapping[str, int] = field(default_factory=dict)
    care_model: str | None = None
    assessment_model: str | None = None
    p_onward: float | None = None
    demand_multiplier: float | None = None
    surge: Surge | None = None
    initial_waiting: int | None = None
    initial_waited_days: float = 30.0


def _fail(path: str, what: str) -> ConfigError:
    return ConfigError(f"planner settings: {path}: {what}.")


def _number(value: Any, path: str, lo: float, hi: float, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise _fail(path, f"expected a number {what}, got {value!r}") from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise _fail(path, f"expected {what}, got {value!r}")
    return x


def lever_changes(config: ServiceConfig, levers: Levers) -> dict[str, Any]:
    """The dotted-path changes (:func:`~hubsim.config.vary` paths) the levers make.

    Only levers that differ from the configuration appear, so unchanged settings give
    an empty mapping.

    Examples
    --------
    >>> import hubsim
    >>> site_d = hubsim.load_config("site_d")
    >>> lever_changes(site_d, Levers(wte={"therapists": 5.4}, care_model="reversed_stepped"))
    {'interventions.care_model.kind': 'reversed_stepped'}
    """
    out: dict[str, Any] = {}
    roles = {r.id: r for r in config.service.workforce.roles}

    def role(rid: str, lever: str):
        if rid not in roles:
            raise _fail(f"{lever}[{rid}]", f"unknown role; expected one of {', '.join(roles)}")
        return roles[rid]

    for rid, value in levers.wte.items():
        r = role(rid, "wte")
        path = f"service.workforce.roles[{rid}].wte"
        wte = round(
            _number(
                value, path, 0.0, MAX_ROLE_WTE, f"between 0 and {MAX_ROLE_WTE:g} WTE for one role"
            ),
            4,
        )
        if not math.isclose(wte, r.wte, abs_tol=1e-9):
            out[path] = wte
            if r.contracts is not None:  # named contracts no longer sum to the new WTE
                out[f"service.workforce.roles[{rid}].contracts"] = None
    for rid, value in levers.clinical_share.items():
        r = role(rid, "clinical_share")
        jp = r.job_plan
        path = f"service.workforce.roles[{rid}].job_plan.direct_clinical"
        room = round(1.0 - jp.leave, 10)
        share = _number(value, path, 0.0, room, f"a share between 0 and {room:g} (1 minus leave)")
        if math.isclose(share, jp.direct_clinical, abs_tol=1e-9):
            continue
        rest = {k: getattr(jp, k) for k in _OTHER_SHARES}
        left = room - share
        total = sum(rest.values())
        if total > 0:
            new = {k: v * left / total for k, v in rest.items()}
        else:
            new = {k: 0.0 for k in rest} | {"admin": left}
        new = {k: round(v, 10) for k, v in new.items()}
        # rounding leftovers go to the largest share, so the plan sums to one exactly
        biggest = max(new, key=lambda k: new[k])
        new[biggest] = round(new[biggest] + (left - sum(new.values())), 10)
        plan = jp.model_dump(mode="json") | new | {"direct_clinical": share}
        out[f"service.workforce.roles[{rid}].job_plan"] = plan
    for rid, value in levers.caseload_per_wte.items():
        r = role(rid, "caseload_per_wte")
        path = f"service.workforce.roles[{rid}].caseload_per_wte"
        cap = _number(value, path, 1, 500, "a whole number of courses per WTE between 1 and 500")
        if cap != int(cap):
            raise _fail(path, f"expected a whole number of courses per WTE, got {value!r}")
        if r.caseload_per_wte != int(cap):
            out[path] = int(cap)
    iv = config.interventions
    if levers.care_model is not None:
        if levers.care_model not in ("stepped", "reversed_stepped"):
            raise _fail(
                "interventions.care_model.kind",
                f"expected 'stepped' or 'reversed_stepped', got {levers.care_model!r}",
            )
        if levers.care_model != iv.care_model.kind:
            out["interventions.care_model.kind"] = levers.care_model
    if levers.assessment_model is not None:
        path = "interventions.assessment.model"
        if levers.assessment_model not in ("two_stage", "in_depth"):
            raise _fail(
                path, f"expected 'two_stage' or 'in_depth', got {levers.assessment_model!r}"
            )
        if levers.assessment_model == "two_stage" and iv.assessment.short is None:
            raise _fail(
                path,
                "two-stage assessment needs interventions.assessment.short (its duration and "
                "roles), which this configuration does not have",
            )
        if levers.assessment_model != iv.assessment.model:
            out[path] = levers.assessment_model
    if levers.p_onward is not None:
        path = "interventions.onward_referral.p_onward"
        p = _number(levers.p_onward, path, 0.0, 1.0, "a share between 0 and 1")
        if p > 0 and not iv.onward_referral.destinations:
            raise _fail(path, "expected 0: this configuration has no onward destinations")
        if not math.isclose(p, iv.onward_referral.p_onward, abs_tol=1e-12):
            out[path] = p
    sim = config.simulation
    if levers.demand_multiplier is not None:
        path = "simulation.demand.multiplier"
        m = _number(
            levers.demand_multiplier,
            path,
            0.0,
            MAX_DEMAND_MULTIPLIER,
            f"a multiplier between 0 and {MAX_DEMAND_MULTIPLIER:g}",
        )
        if not math.isclose(m, sim.demand.multiplier, abs_tol=1e-12):
            out[path] = m
    if levers.surge is not None:
        s = levers.surge
        path = "simulation.demand.surges"
        weeks = _number(s.weeks, f"{path}.weeks", 1, 104, "between 1 and 104 weeks")
        mult = _number(
            s.multiplier,
            f"{path}.multiplier",
            0.1,
            MAX_DEMAND_MULTIPLIER,
            f"a multiplier between 0.1 and {MAX_DEMAND_MULTIPLIER:g}",
        )
        if not isinstance(s.start, dt.date):
            raise _fail(f"{path}.start", f"expected a date, got {s.start!r}")
        end = s.start + dt.timedelta(days=round(7 * weeks) - 1)
        if not (sim.period.start <= s.start and end <= sim.period.end):
            raise _fail(
                f"{path}.start",
                f"expected the surge ({s.start} to {end}) inside the simulated period "
                f"{sim.period.start} to {sim.period.end}",
            )
        surges = [x.model_dump(mode="json") for x in sim.demand.surges]
        surges.append(
            {
                "name": "incident surge",
                "start": s.start.isoformat(),
                "end": end.isoformat(),
                "multiplier": mult,
                "source": SOURCE,
            }
        )
        out[path] = surges
    if levers.initial_waiting is not None:
        path = "simulation.initial_waiting_list"
        n = _number(
            levers.initial_waiting,
            path,
            0,
            MAX_INITIAL_WAITING,
            f"between 0 and {MAX_INITIAL_WAITING} clients",
        )
        days = _number(
            levers.initial_waited_days,
            f"{path}.waited_days",
            0.5,
            730,
            "a mean wait between 0.5 and 730 days",
        )
        current = sim.initial_waiting_list
        if n == 0:
            if current is not None:
                out[path] = None
        else:
            spec = {
                "counts": {"assessment": int(n)},
                "waited_days": {"dist": "exponential", "mean": days},
                "source": SOURCE,
            }
            if current is None or current.model_dump(mode="json", by_alias=True) != spec:
                out[path] = spec
    return out


def apply_levers(
    config: ServiceConfig, levers: Levers, *, name: str | None = None
) -> ServiceConfig:
    """A validated variant of ``config`` with the planner's levers applied (never mutated).

    Parameters
    ----------
    config : ServiceConfig
    levers : Levers
    name : str, optional
        The variant's name; default the configuration's (so it runs on the same random
        streams: common random numbers).

    Returns
    -------
    ServiceConfig
        ``config`` itself when nothing changes and no name is given.

    Raises
    ------
    hubsim.ConfigError
        A sentence per bad lever (field path and what was expected), or the
        configuration's own cross-field checks on the result (e.g. a step left without
        staff).
    """
    changes = lever_changes(config, levers)
    if not changes and (name is None or name == config.name):
        return config
    try:
        return vary(config, changes, name=name)
    except ValidationError as exc:
        from hubsim.config.loader import validation_sentences

        raise ConfigError(validation_sentences(exc, config.to_dict(), "planner settings")) from None
