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

__all__ = [
    "ClusterDiDPower",
    "ClusterPower",
    "IndividualPower",
    "SteppedWedgePower",
    "design_effect",
    "power_cluster",
    "power_cluster_did",
    "power_individual",
    "power_stepped_wedge",
    "stepped_wedge_design",
]
