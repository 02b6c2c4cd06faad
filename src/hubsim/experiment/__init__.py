"""Scenario variants, running configurations and writing results."""

from hubsim.experiment.run import format_summary, run_cli, write_result
from hubsim.experiment.variants import vary

__all__ = ["format_summary", "run_cli", "vary", "write_result"]
