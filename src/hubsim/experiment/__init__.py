"""Scenario comparisons, running configurations and writing results.

``vary`` (scenario variants) lives in :mod:`hubsim.config.variants`; it is re-exported here.
"""

from hubsim.config.variants import vary  # re-exported: it lives with the config it edits
from hubsim.experiment.compare import (
    ScenarioComparison,
    compare_scenarios,
    paired_differences,
)
from hubsim.experiment.run import format_summary, run_cli, write_result
from hubsim.experiment.steps import (
    Cancelled,
    ReplicationRule,
    concat_results,
    replications_decision,
    simulate_in_steps,
    simulate_to_precision,
)

__all__ = [
    "Cancelled",
    "ReplicationRule",
    "ScenarioComparison",
    "compare_scenarios",
    "concat_results",
    "format_summary",
    "paired_differences",
    "replications_decision",
    "run_cli",
    "simulate_in_steps",
    "simulate_to_precision",
    "vary",
    "write_result",
]
