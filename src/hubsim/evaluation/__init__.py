"""The evaluation application: power studies that join the DES, the regional designs and power.

``hubsim power STUDY.yaml`` runs :func:`run_study`. The package is one module a job:

- :mod:`~hubsim.evaluation.spec`: the study file's schema, its loading and checks
  (:func:`read_study` -> :class:`StudyPlan`; :func:`load_study`);
- :mod:`~hubsim.evaluation.des_effects`: hub effects derived from DES runs
  (:func:`effect_from_des` -> :class:`DESEffect`);
- :mod:`~hubsim.evaluation.runner`: the in-memory run (:func:`evaluate` -> :class:`StudyResult`)
  and :func:`run_study` (read, check, evaluate, write);
- :mod:`~hubsim.evaluation.result`: :class:`StudyResult` and the declared columns of its frames;
- :mod:`~hubsim.evaluation.report`: the Markdown report and its figures;
- :mod:`~hubsim.evaluation.writer`: the atomic output folder (:func:`write_study`).

The statistics it uses (:mod:`hubsim.power`) know nothing of the DES or of files; this
package is the only place where the two meet.
"""

from hubsim.evaluation.cells import StudyCells
from hubsim.evaluation.des_effects import (
    DESEffect,
    default_comparator,
    des_request_problems,
    effect_from_des,
    months_per_period,
)
from hubsim.evaluation.report import plot_curves, plot_des, render_report
from hubsim.evaluation.result import (
    CURVE_COLUMNS,
    DES_EFFECT_COLUMNS,
    MDE_COLUMNS,
    STUDY_DIAGNOSAND_COLUMNS,
    STUDY_TIDY_COLUMNS,
    StudyResult,
)
from hubsim.evaluation.runner import RunSettings, apply_des_effect, evaluate, run_study
from hubsim.evaluation.spec import (
    CurveSpec,
    DESEffectSpec,
    DESPlan,
    MDESpec,
    SizeSpec,
    StudyPlan,
    StudySpec,
    load_study,
    read_study,
)
from hubsim.evaluation.writer import default_out, study_fingerprint, write_study

__all__ = [
    "CURVE_COLUMNS",
    "DES_EFFECT_COLUMNS",
    "MDE_COLUMNS",
    "STUDY_DIAGNOSAND_COLUMNS",
    "STUDY_TIDY_COLUMNS",
    "CurveSpec",
    "DESEffect",
    "DESEffectSpec",
    "DESPlan",
    "MDESpec",
    "RunSettings",
    "SizeSpec",
    "StudyCells",
    "StudyPlan",
    "StudyResult",
    "StudySpec",
    "apply_des_effect",
    "default_comparator",
    "default_out",
    "des_request_problems",
    "effect_from_des",
    "evaluate",
    "load_study",
    "months_per_period",
    "plot_curves",
    "plot_des",
    "read_study",
    "render_report",
    "run_study",
    "study_fingerprint",
    "write_study",
]
