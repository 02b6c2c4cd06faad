"""Design statistics for the evaluation of hubs: closed-form power, design diagnosis, grids.

No DES, no YAML, no files: ``hubsim.power`` sits below :mod:`hubsim.des` in the import
graph (power studies that take effects from the DES live in :mod:`hubsim.evaluation`).

- :mod:`~hubsim.power.analytic`: closed-form power and sample size (individual, cluster,
  cluster DiD, stepped wedge);
- :mod:`~hubsim.power.diagnose`: the Monte-Carlo diagnosis engine, diagnosands with their
  MCSEs, and the estimator registry (:data:`ESTIMATORS`);
- :mod:`~hubsim.power.grid`: power curves, minimum detectable effects, simulation counts.

Names are loaded on first use, so ``from hubsim.power import power_cluster`` imports the
formulas only.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "ClusterDiDPower": "analytic",
    "ClusterPower": "analytic",
    "IndividualPower": "analytic",
    "PowerResult": "analytic",
    "SteppedWedgePower": "analytic",
    "design_effect": "analytic",
    "power_cluster": "analytic",
    "power_cluster_did": "analytic",
    "power_individual": "analytic",
    "power_stepped_wedge": "analytic",
    "stepped_wedge_design": "analytic",
    "DIAGNOSAND_COLUMNS": "diagnose",
    "DIAGNOSANDS": "diagnose",
    "ESTIMATORS": "diagnose",
    "SIMULATION_COLUMNS": "diagnose",
    "DiagnosisResult": "diagnose",
    "EstimatorSpec": "diagnose",
    "diagnosands_from": "diagnose",
    "diagnose": "diagnose",
    "twfe_cr1_batch": "diagnose",
    "MDEResult": "grid",
    "minimum_detectable_effect": "grid",
    "n_sims_for": "grid",
    "power_curve": "grid",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hubsim.power' has no attribute {name!r}")
    return getattr(import_module(f"hubsim.power.{module}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
