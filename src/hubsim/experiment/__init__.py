"""Scenario experiments: experiment files, running them resumably, the results store.

- :mod:`~hubsim.experiment.spec`: experiment files (:func:`read_experiment`);
- :mod:`~hubsim.experiment.runner`: :func:`run_experiment` (``hubsim experiment``);
- :mod:`~hubsim.experiment.store`: the DuckDB results database (:class:`ResultsStore`);
- :mod:`~hubsim.experiment.outdir`: output folders that never lose anyone's files;
- :mod:`~hubsim.experiment.executor`: local processes or Dask;
- :mod:`~hubsim.experiment.compare`: paired differences in memory (:func:`compare_scenarios`);
- :mod:`~hubsim.experiment.run`: ``hubsim run`` (summary and the in-memory writer).

``vary`` (scenario variants) lives in :mod:`hubsim.config.variants`; it is re-exported here.
"""

from hubsim.config.variants import vary  # re-exported: it lives with the config it edits
from hubsim.experiment.compare import (
    ScenarioComparison,
    compare_scenarios,
    paired_differences,
)
from hubsim.experiment.executor import ExecutorError, make_executor
from hubsim.experiment.outdir import OutputError, open_results_folder
from hubsim.experiment.run import format_summary, run_cli, write_result
from hubsim.experiment.runner import (
    ExperimentResult,
    Interrupted,
    load_experiment_result,
    plan_from_configs,
    replications_needed,
    run_experiment,
)
from hubsim.experiment.spec import ExperimentPlan, ExperimentSpec, detect_kind, read_experiment
from hubsim.experiment.store import ResultsStore

__all__ = [
    "ExecutorError",
    "ExperimentPlan",
    "ExperimentResult",
    "ExperimentSpec",
    "Interrupted",
    "OutputError",
    "ResultsStore",
    "ScenarioComparison",
    "compare_scenarios",
    "detect_kind",
    "format_summary",
    "load_experiment_result",
    "make_executor",
    "open_results_folder",
    "paired_differences",
    "plan_from_configs",
    "read_experiment",
    "replications_needed",
    "run_cli",
    "run_experiment",
    "vary",
    "write_result",
]
