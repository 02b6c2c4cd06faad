"""Scenario experiments: experiment files, running them resumably, the results store.

- :mod:`~hubsim.experiment.spec`: experiment files (:func:`read_experiment`);
- :mod:`~hubsim.experiment.runner`: :func:`run_experiment` (``hubsim experiment``);
- :mod:`~hubsim.experiment.store`: the DuckDB results database (:class:`ResultsStore`);
- :mod:`~hubsim.experiment.outdir`: output folders that never lose anyone's files;
- :mod:`~hubsim.experiment.executor`: local processes or Dask;
- :mod:`~hubsim.experiment.compare`: paired differences in memory (:func:`compare_scenarios`);
- :mod:`~hubsim.experiment.run`: ``hubsim run`` (summary and the in-memory writer);
- :mod:`~hubsim.experiment.steps`: in-memory runs with progress and a cancel, for the app
  (:func:`simulate_in_steps`; :func:`simulate_to_precision`, the replications algorithm of
  :func:`replications_needed` on one configuration).

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
from hubsim.experiment.spec import (
    ExperimentPlan,
    ExperimentSpec,
    ReplicationTarget,
    detect_kind,
    read_experiment,
)
from hubsim.experiment.steps import (
    Cancelled,
    Precision,
    concat_results,
    describe_target,
    simulate_in_steps,
    simulate_to_precision,
)
from hubsim.experiment.store import ResultsStore

__all__ = [
    "Cancelled",
    "ExecutorError",
    "ExperimentPlan",
    "ExperimentResult",
    "ExperimentSpec",
    "Interrupted",
    "OutputError",
    "Precision",
    "ReplicationTarget",
    "ResultsStore",
    "ScenarioComparison",
    "compare_scenarios",
    "concat_results",
    "describe_target",
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
    "simulate_in_steps",
    "simulate_to_precision",
    "vary",
    "write_result",
]
