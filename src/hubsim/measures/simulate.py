"""Simulated item responses and scores from latent problems (vectorised).

See :mod:`hubsim.measures._model` for the item model and how it is calibrated.

Examples
--------
>>> import numpy as np
>>> from hubsim.measures import simulate_scores
>>> latent = np.zeros((4, 5))
>>> frame = simulate_scores(latent, ["phq9", "gad7"], np.random.default_rng(1))
>>> list(frame.columns)
['phq9', 'phq9_item9', 'gad7']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hubsim.measures._model import DOMAINS, item_model
from hubsim.measures.instruments import ITQ_CLUSTERS, get_instrument
from hubsim.measures.scoring import _itq_from_checked, _pcl5_rule_from_endorsed
from hubsim.rng import stream

__all__ = ["SCORE_COLUMNS", "simulate_items", "simulate_scores"]

# Columns simulate_scores returns for each instrument, in this order.
SCORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "phq9": ("phq9", "phq9_item9"),  # total 0-27; item 9 (0-3) is the risk item
    "gad7": ("gad7",),  # total 0-21
    "wsas": ("wsas",),  # total 0-40
    "audit": ("audit",),  # total 0-40
    "pcl5": ("pcl5", "pcl5_dsm5"),  # total 0-80; DSM-5 cluster rule met (bool)
    # ITQ diagnostic level (0 none, 1 PTSD, 2 complex PTSD) and the sums of the six PTSD and
    # the six DSO symptom items (0-24 each)
    "itq": ("itq", "itq_ptsd_symptoms", "itq_dso_symptoms"),
}

_PTSD_SYMPTOMS = [i - 1 for c in ("re", "av", "th") for i in ITQ_CLUSTERS[c]]
_DSO_SYMPTOMS = [i - 1 for c in ("ad", "nsc", "dr") for i in ITQ_CLUSTERS[c]]


def _latent_matrix(latent, name: str) -> np.ndarray:
    arr = np.asarray(latent, dtype=float)
    if arr.ndim == 1:
        model = item_model(name)
        domains = np.flatnonzero(np.any(model.weights != 0, axis=0))
        if domains.size != 1:
            raise ValueError(
                f"latent: {name} items load on several domains "
                f"({', '.join(DOMAINS[d] for d in domains)}); pass the (n, 5) latent matrix."
            )
        full = np.zeros((arr.size, len(DOMAINS)))
        full[:, domains[0]] = arr
        arr = full
    if arr.ndim != 2 or arr.shape[1] != len(DOMAINS):
        raise ValueError(
            f"latent: expected shape (n, {len(DOMAINS)}) with columns "
            f"{', '.join(DOMAINS)}, got {arr.shape}."
        )
    if not np.isfinite(arr).all():
        raise ValueError("latent: expected finite values, found NaN or infinity.")
    return arr


def _draw(name: str, latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Item scores (n, n_items) as int8."""
    model = item_model(name)
    n = latent.shape[0]
    return _categories(name, latent, rng.standard_normal((n, model.n_items)))


def _categories(name: str, latent: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Item scores (n, n_items) as int8 from standard-normal item noise (n, n_items)."""
    model = item_model(name)
    ystar = noise * model.noise_sd
    # Broadcast per loaded domain: a (n, 5) x (5, k) BLAS product is slower for so small a k.
    for d in np.flatnonzero(np.any(model.weights != 0, axis=0)):
        ystar += latent[:, d : d + 1] * model.weights[:, d]
    category = np.zeros(ystar.shape, dtype=np.int8)
    for k in range(model.thresholds.shape[1]):
        category += ystar > model.thresholds[:, k]  # +inf padding never counts
    # Map categories to scores only for items whose scores are not 0, 1, 2, ... (AUDIT 9-10).
    identity = np.arange(model.values.shape[1])
    for j in np.flatnonzero((model.values != identity).any(axis=1)):
        category[:, j] = model.values[j][category[:, j]]
    return category


def simulate_items(instrument: str, latent, rng: np.random.Generator) -> np.ndarray:
    """Simulate item responses of one instrument.

    Parameters
    ----------
    instrument : str
        Instrument name.
    latent : array-like, shape (n, 5) or (n,)
        Latent problems, columns (depression, anxiety, trauma, alcohol, functioning) on a
        standard-normal scale where 0 is the average of the general staff population. A 1-D
        array is the instrument's own domain (not allowed for ``"itq"``, whose DSO items also
        load on depression and functioning).
    rng : numpy.random.Generator
        Source of the item noise.

    Returns
    -------
    numpy.ndarray of int64, shape (n, n_items)
        Item scores in questionnaire order, each one of the item's allowed scores (AUDIT
        items 9-10 are 0, 2 or 4).

    Examples
    --------
    >>> import numpy as np
    >>> items = simulate_items("audit", np.zeros(3), np.random.default_rng(0))
    >>> items.shape
    (3, 10)
    """
    name = get_instrument(instrument).name
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}.")
    return _draw(name, _latent_matrix(latent, name), rng).astype(np.int64)


def simulate_scores(latent, instruments: Sequence[str], rng: np.random.Generator) -> pd.DataFrame:
    """Simulate the scores of several instruments for each client (vectorised).

    Each instrument draws its item noise from its own stream, derived from one integer
    taken from ``rng`` and the instrument's name, so an instrument's scores do not depend on
    which other instruments are requested or their order (common random numbers across
    sites with different measure sets).

    Parameters
    ----------
    latent : array-like, shape (n, 5)
        Latent problems (depression, anxiety, trauma, alcohol, functioning), standard-normal
        scale, 0 = the average of the general staff population.
    instruments : sequence of str
        Instruments to score, without repeats.
    rng : numpy.random.Generator
        One integer is drawn from it per call.

    Returns
    -------
    pandas.DataFrame
        One row a client (same order as ``latent``), the columns ``SCORE_COLUMNS[name]`` of
        each instrument in the order requested: totals as int16, ``phq9_item9`` (0-3) as
        int16, ``pcl5_dsm5`` as bool, ``itq`` as the diagnostic level 0/1/2.

    Examples
    --------
    >>> import numpy as np
    >>> latent = np.random.default_rng(0).standard_normal((1000, 5))
    >>> df = simulate_scores(latent, ["phq9", "itq"], np.random.default_rng(1))
    >>> bool(df["phq9"].between(0, 27).all()), sorted(df["itq"].unique().tolist())
    (True, [0, 1, 2])
    """
    if isinstance(instruments, str):
        instruments = [instruments]
    names = [get_instrument(i).name for i in instruments]
    if len(set(names)) != len(names):
        raise ValueError(f"instruments: expected each instrument once, got {list(instruments)}.")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}.")
    arr = np.asarray(latent, dtype=float)
    if arr.ndim != 2:
        raise ValueError(
            f"latent: expected shape (n, {len(DOMAINS)}) with columns "
            f"{', '.join(DOMAINS)}, got {arr.shape}."
        )
    arr = _latent_matrix(arr, names[0] if names else "phq9")
    base = int(rng.integers(0, 2**63 - 1))
    return _score_frame(arr, names, lambda name: _draw(name, arr, stream(base, "measures", name)))


def noise_width(instrument: str) -> int:
    """Number of item-noise draws an instrument's answers take (its number of items)."""
    return item_model(get_instrument(instrument).name).n_items


def scores_from_noise(latent, noise: dict[str, np.ndarray]) -> pd.DataFrame:
    """Scores as :func:`simulate_scores` returns them, from given item noise.

    ``noise[name]`` is a standard-normal array (n, :func:`noise_width` (name)) for each
    instrument, in the order the columns should come. Callers that address each client's
    noise by the client's own key (hubsim.des.streams) use this to score many clients in
    one vectorised call.

    Examples
    --------
    >>> import numpy as np
    >>> z = {"gad7": np.zeros((2, noise_width("gad7")))}
    >>> scores_from_noise(np.zeros((2, 5)), z)["gad7"].tolist()
    [7, 7]
    """
    names = [get_instrument(i).name for i in noise]
    arr = _latent_matrix(np.asarray(latent, dtype=float), names[0] if names else "phq9")
    return _score_frame(arr, names, lambda name: _categories(name, arr, noise[name]))


def _score_frame(arr, names, items_of) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    for name in names:
        items = items_of(name)
        if name == "phq9":
            columns["phq9"] = items.sum(axis=1, dtype=np.int16)
            columns["phq9_item9"] = items[:, 8].copy()
        elif name == "pcl5":
            columns["pcl5"] = items.sum(axis=1, dtype=np.int16)
            columns["pcl5_dsm5"] = _pcl5_rule_from_endorsed(items >= 2)
        elif name == "itq":
            columns["itq"] = _itq_from_checked(items)["level"].astype(np.int16)
            columns["itq_ptsd_symptoms"] = items[:, _PTSD_SYMPTOMS].sum(axis=1, dtype=np.int16)
            columns["itq_dso_symptoms"] = items[:, _DSO_SYMPTOMS].sum(axis=1, dtype=np.int16)
        else:
            columns[name] = items.sum(axis=1, dtype=np.int16)
    return pd.DataFrame(columns, index=pd.RangeIndex(arr.shape[0]))
