"""Scenario variants and comparisons, running configurations and writing results."""

from hubsim.experiment.compare import (
    ScenarioComparison,
    compare_scenarios,
    paired_differences,
)
from hubsim.experiment.run import format_summary, run_cli, write_result
from hubsim.experiment.variants import vary

__all__ = [
    "ScenarioComparison",
    "compare_scenarios",
    "format_summary",
    "paired_differences",
    "run_cli",
    "vary",
    "write_result",
]
