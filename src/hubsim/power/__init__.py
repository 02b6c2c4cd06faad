"""Design statistics for the evaluation of hubs: closed-form power, design diagnosis, grids.

No DES, no YAML, no files: ``hubsim.power`` sits below :mod:`hubsim.des` in the import
graph (power studies that take effects from the DES live in :mod:`hubsim.evaluation`).
Importing it loads the estimators and the regional designs, never the DES, the
configuration schema, the screening measures or YAML.

- :mod:`~hubsim.power.analytic`: closed-form power and sample size (individual, cluster,
  cluster DiD, stepped wedge);
- :mod:`~hubsim.power.diagnose`: the Monte-Carlo diagnosis engine, diagnosands with their
  MCSEs, and the estimator registry (:data:`ESTIMATORS`, keyed to the columns
  :class:`hubsim.regional.PanelColumns` declares);
- :mod:`~hubsim.power.grid`: power curves, minimum detectable effects, simulation counts;
- :mod:`~hubsim.power.recommend`: which estimator to use, by a stated rule over the
  diagnosands (:func:`recommend_estimator`).
"""

from hubsim.power.analytic import (
    ClusterDiDPower,
    ClusterPower,
    IndividualPower,
    PowerResult,
    SteppedWedgePower,
    design_effect,
    power_cluster,
    power_cluster_did,
    power_individual,
    power_stepped_wedge,
    stepped_wedge_design,
)
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    DIAGNOSANDS,
    ESTIMATORS,
    SIMULATION_COLUMNS,
    DiagnosisResult,
    EstimatorSpec,
    diagnosands_from,
    diagnose,
    twfe_batch,
    twfe_cr1_batch,
)
from hubsim.power.grid import (
    MDEResult,
    effect_scale,
    minimum_detectable_effect,
    n_sims_for,
    power_curve,
)
from hubsim.power.recommend import (
    Recommendation,
    recommend_by_scenario,
    recommend_estimator,
)

__all__ = [
    "DIAGNOSANDS",
    "DIAGNOSAND_COLUMNS",
    "ESTIMATORS",
    "SIMULATION_COLUMNS",
    "ClusterDiDPower",
    "ClusterPower",
    "DiagnosisResult",
    "EstimatorSpec",
    "IndividualPower",
    "MDEResult",
    "PowerResult",
    "Recommendation",
    "SteppedWedgePower",
    "design_effect",
    "diagnosands_from",
    "diagnose",
    "effect_scale",
    "minimum_detectable_effect",
    "n_sims_for",
    "power_cluster",
    "power_cluster_did",
    "power_curve",
    "power_individual",
    "power_stepped_wedge",
    "recommend_by_scenario",
    "recommend_estimator",
    "stepped_wedge_design",
    "twfe_batch",
    "twfe_cr1_batch",
]
