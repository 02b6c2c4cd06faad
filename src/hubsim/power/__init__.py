"""Power and design diagnosis for the evaluation of hubs."""

from hubsim.power.analytic import (
    ClusterDiDPower,
    ClusterPower,
    IndividualPower,
    SteppedWedgePower,
    design_effect,
    power_cluster,
    power_cluster_did,
    power_individual,
    power_stepped_wedge,
    stepped_wedge_design,
)
from hubsim.power.des_effects import DESEffect, effect_from_des
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    DIAGNOSANDS,
    ESTIMATORS,
    SIMULATION_COLUMNS,
    DiagnosisResult,
    EstimatorSpec,
    diagnosands_from,
    diagnose,
    twfe_cr1_batch,
)
from hubsim.power.grid import MDEResult, minimum_detectable_effect, n_sims_for, power_curve
from hubsim.power.study import StudyResult, StudySpec, load_study, run_study

__all__ = [
    # design diagnosis
    "DIAGNOSANDS",
    "DIAGNOSAND_COLUMNS",
    "ESTIMATORS",
    "SIMULATION_COLUMNS",
    "ClusterDiDPower",
    "ClusterPower",
    "DESEffect",
    "DiagnosisResult",
    "EstimatorSpec",
    "IndividualPower",
    "MDEResult",
    "SteppedWedgePower",
    "StudyResult",
    "StudySpec",
    "design_effect",
    "diagnosands_from",
    "diagnose",
    "effect_from_des",
    "load_study",
    "minimum_detectable_effect",
    "n_sims_for",
    "power_cluster",
    "power_cluster_did",
    "power_curve",
    "power_individual",
    "power_stepped_wedge",
    "run_study",
    "stepped_wedge_design",
    "twfe_cr1_batch",
]
