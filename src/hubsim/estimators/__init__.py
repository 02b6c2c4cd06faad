"""Quasi-experimental estimators that run on plain DataFrames and return :class:`Estimate`."""

from hubsim.estimators._estimate import Estimate
from hubsim.estimators.its import its
from hubsim.estimators.staggered import bacon_decomposition, callaway_santanna
from hubsim.estimators.synth import synthetic_control
from hubsim.estimators.waits import compare_waits

__all__ = ["Estimate"]
__all__ += ["bacon_decomposition", "callaway_santanna", "compare_waits", "its", "synthetic_control"]
from hubsim.estimators.inference import choose_inference  # noqa: E402
from hubsim.estimators.linear import EventStudyResult, diff_in_means, event_study, twfe  # noqa: E402

__all__ += ["EventStudyResult", "choose_inference", "diff_in_means", "event_study", "twfe"]
