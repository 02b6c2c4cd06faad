"""Screening instruments: definitions, scoring of real data, and simulated responses.

Real data: :func:`score`, :func:`severity_band`, :func:`itq_diagnosis`,
:func:`pcl5_dsm5_rule`, and the NHS Talking Therapies rules :func:`iapt_caseness`,
:func:`reliable_improvement`, :func:`reliable_deterioration`, :func:`recovery`,
:func:`reliable_recovery`. Simulation: :func:`simulate_items` and :func:`simulate_scores`
from latent problems (depression, anxiety, trauma, alcohol, functioning), with an
ordinal-threshold item model calibrated to published figures; :func:`calibration_report`
shows simulated figures against them.

Examples
--------
>>> import numpy as np
>>> from hubsim.measures import simulate_scores, iapt_caseness
>>> latent = np.random.default_rng(0).standard_normal((5, 5))
>>> s = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(1))
>>> iapt_caseness(s["phq9"].to_numpy(), s["gad7"].to_numpy()).dtype
dtype('bool')
"""

from hubsim.measures._model import (
    REFERENCE_LATENT_CORRELATION,
    TARGETS,
    ItemModel,
    Target,
    category_probabilities,
    expected_total_correlation,
    general_population_shift,
    item_model,
    total_at_least,
)
from hubsim.measures.calibration import REPORT_COLUMNS, calibration_report, cronbach_alpha
from hubsim.measures.iapt import (
    GAD7_CASENESS,
    GAD7_RELIABLE_CHANGE,
    PHQ9_CASENESS,
    PHQ9_RELIABLE_CHANGE,
    iapt_caseness,
    recovery,
    reliable_deterioration,
    reliable_improvement,
    reliable_recovery,
)
from hubsim.measures.instruments import (
    INSTRUMENT_NAMES,
    ITQ_CLUSTERS,
    PCL5_CLUSTERS,
    PCL5_DEFAULT_CUTOFF,
    Instrument,
    get_instrument,
)
from hubsim.measures.scoring import (
    ITQ_DIAGNOSIS_COLUMNS,
    itq_diagnosis,
    pcl5_dsm5_rule,
    score,
    severity_band,
    validate_items,
)
from hubsim.measures.simulate import SCORE_COLUMNS, simulate_items, simulate_scores

__all__ = [
    "GAD7_CASENESS",
    "GAD7_RELIABLE_CHANGE",
    "INSTRUMENT_NAMES",
    "ITQ_CLUSTERS",
    "ITQ_DIAGNOSIS_COLUMNS",
    "PCL5_CLUSTERS",
    "PCL5_DEFAULT_CUTOFF",
    "PHQ9_CASENESS",
    "PHQ9_RELIABLE_CHANGE",
    "REFERENCE_LATENT_CORRELATION",
    "REPORT_COLUMNS",
    "SCORE_COLUMNS",
    "TARGETS",
    "Instrument",
    "ItemModel",
    "Target",
    "calibration_report",
    "category_probabilities",
    "cronbach_alpha",
    "expected_total_correlation",
    "general_population_shift",
    "get_instrument",
    "iapt_caseness",
    "item_model",
    "itq_diagnosis",
    "pcl5_dsm5_rule",
    "recovery",
    "reliable_deterioration",
    "reliable_improvement",
    "reliable_recovery",
    "score",
    "severity_band",
    "simulate_items",
    "simulate_scores",
    "total_at_least",
    "validate_items",
]
