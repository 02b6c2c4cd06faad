"""Hub vs no-hub regional designs: what a naturalistic evaluation would observe."""

from hubsim.regional.design import (
    CELL_COLUMNS,
    ESTIMAND_COLUMNS,
    GROUP_CELL_COLUMNS,
    GROUP_PANEL_COLUMNS,
    INDIVIDUAL_COLUMNS,
    PANEL_COLUMNS,
    TABLE2_POPULATIONS,
    TABLE2_SOURCE,
    Estimand,
    PanelColumns,
    RegionalDesign,
)
from hubsim.regional.effects import DynamicEffect, ExternalEffect, HeterogeneousEffect

__all__ = [
    "CELL_COLUMNS",
    "ESTIMAND_COLUMNS",
    "GROUP_CELL_COLUMNS",
    "GROUP_PANEL_COLUMNS",
    "INDIVIDUAL_COLUMNS",
    "PANEL_COLUMNS",
    "TABLE2_POPULATIONS",
    "TABLE2_SOURCE",
    "DynamicEffect",
    "Estimand",
    "ExternalEffect",
    "HeterogeneousEffect",
    "PanelColumns",
    "RegionalDesign",
]
