"""The result of a power study: its frames (declared columns) and what produced them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from hubsim.evaluation.des_effects import DESEffect
from hubsim.evaluation.findings import RECOMMENDATION_COLUMNS
from hubsim.evaluation.spec import DESPlan, StudySpec
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    DIAGNOSANDS,
    has_no_test,
    usability_warning,
)

__all__ = [
    "CURVE_COLUMNS",
    "DES_EFFECT_COLUMNS",
    "MDE_COLUMNS",
    "STUDY_DIAGNOSAND_COLUMNS",
    "STUDY_TIDY_COLUMNS",
    "StudyResult",
]

STUDY_DIAGNOSAND_COLUMNS = ["scenario", *DIAGNOSAND_COLUMNS]
STUDY_TIDY_COLUMNS = ["scenario", "estimator", "diagnosand", "estimate", "mcse", "n_sims", "alpha"]
CURVE_COLUMNS = ["curve", "scenario", "x", "x_value", "series", "point", *DIAGNOSAND_COLUMNS]
MDE_COLUMNS = [
    "scenario",
    "estimator",
    "target_power",
    "mde",
    "mde_mcse",
    "scale",
    "size_adjusted",
    "null_rejection",
    "estimand_at_mde",
    "method",
    "normal_approximation",
    "n_sims",
    "note",
]
DES_EFFECT_COLUMNS = [
    "scenario",
    "hub",
    "comparator",
    "population",
    "outcome",
    "event_time_months",
    "effect",
    "mcse",
    "hub_mean",
    "comparator_mean",
    "n_replications",
]


@dataclass(frozen=True)
class StudyResult:
    """What a power study computed (:func:`~hubsim.evaluation.evaluate`) and, once
    written (:func:`~hubsim.evaluation.write_study`), where.

    Attributes
    ----------
    out : pathlib.Path or None
        The output folder (None until written).
    spec : StudySpec
    diagnosands, curves, mde, simulations : pandas.DataFrame
        :data:`STUDY_DIAGNOSAND_COLUMNS`, :data:`CURVE_COLUMNS`, :data:`MDE_COLUMNS`, and
        the per-simulation fits (``scenario`` + ``SIMULATION_COLUMNS``).
    files : tuple of str
        Files written (relative to ``out``; empty until written).
    n_sims, seed : int
    seconds : float
        Wall time (of the computation, or of computing and writing once written).
    size : str
        The run size used.
    des_effects : pandas.DataFrame
        :data:`DES_EFFECT_COLUMNS`: the DES-derived effect profile of every DES-fed scenario
        (empty when there are none).
    des : dict of str to DESEffect
        The DES results by scenario (scenarios sharing a run share the object).
    designs : dict
        The scenario designs diagnosed (DES effects applied).
    des_settings, des_plans : dict
        By DES-fed scenario: the DES run's settings at this size (with the run's index)
        and the checked ``effect_from_des`` block.
    recommendations : pandas.DataFrame
        :data:`~hubsim.evaluation.findings.RECOMMENDATION_COLUMNS`: per scenario, each
        estimator's eligibility under the recommendation rule, the recommended one first.
    """

    out: Path | None
    spec: StudySpec
    diagnosands: pd.DataFrame
    curves: pd.DataFrame
    mde: pd.DataFrame
    simulations: pd.DataFrame
    files: tuple[str, ...]
    n_sims: int
    seed: int
    seconds: float
    size: str = "default"
    des_effects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DES_EFFECT_COLUMNS), repr=False
    )
    des: dict[str, DESEffect] = field(default_factory=dict, repr=False)
    designs: dict[str, Any] = field(default_factory=dict, repr=False)
    des_settings: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    des_plans: dict[str, DESPlan] = field(default_factory=dict, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)
    recommendations: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=RECOMMENDATION_COLUMNS), repr=False
    )

    def tidy(self) -> pd.DataFrame:
        """Long form: one row per scenario, estimator and diagnosand, with its MCSE
        (:data:`STUDY_TIDY_COLUMNS`)."""
        d = self.diagnosands
        frames = [
            pd.DataFrame(
                {
                    "scenario": d["scenario"].to_numpy(),
                    "estimator": d["estimator"].to_numpy(),
                    "diagnosand": name,
                    "estimate": d[name].to_numpy(dtype=float),
                    "mcse": d[f"{name}_mcse"].to_numpy(dtype=float),
                    "n_sims": d["n_sims"].to_numpy(),
                    "alpha": d["alpha"].to_numpy(dtype=float),
                }
            )
            for name in DIAGNOSANDS
        ]
        if not len(d):
            return pd.DataFrame(columns=STUDY_TIDY_COLUMNS)
        out = pd.concat(frames, ignore_index=True)
        # rows in the diagnosands' order, diagnosands in DIAGNOSANDS order within each
        out["_row"] = list(range(len(d))) * len(DIAGNOSANDS)
        return (
            out.sort_values("_row", kind="stable").drop(columns="_row").reset_index(drop=True)
        )[STUDY_TIDY_COLUMNS]

    def summary(self) -> str:
        """A few lines: where the results are and the headline numbers."""
        where = f"results in {self.out}" if self.out is not None else "not written"
        lines = [
            f"{self.spec.name}: {self.n_sims} simulations per design point, seed "
            f"{self.seed}, {self.seconds:.0f} s; {where}"
        ]
        wide = max([20, *(len(str(x)) for x in self.diagnosands["scenario"])])
        alpha = self.spec.alpha
        for _, r in self.diagnosands.iterrows():
            no_test = has_no_test(r["no_test_rate"])
            cover = "n/a (no test)" if no_test else f"{r['coverage']:.2f}"
            lines.append(
                f"  {r['scenario']:<{wide}} {r['estimator']:<18} power {r['power']:.2f} "
                f"({r['power_mcse']:.2f})  bias {r['bias']:+.4f} ({r['bias_mcse']:.4f})  "
                f"coverage {cover}{usability_warning(r, alpha)}"
            )
        for _, r in self.mde.iterrows():
            lines.append(
                f"  MDE {r['scenario']} {r['estimator']}: {r['mde']:.4g} (MCSE {r['mde_mcse']:.2g})"
            )
        for s, des in self.des.items():
            prof = des.profile["effect"]
            lines.append(
                f"  DES {s}: {des.hub} vs {des.comparator}, {des.population}/{des.outcome}: "
                f"mean effect {prof.mean():+.4g} {des.units} over months 0-{len(prof) - 1} "
                f"({des.replications} replications)"
            )
        return "\n".join(lines)
