"""NHS Talking Therapies (IAPT) caseness, reliable change and recovery, vectorised.

Definitions (calibration.md §3, "Definitions (IAPT manual, as quoted in a trial registry)"):

- **Caseness**: PHQ-9 >= 10 or GAD-7 >= 8.
- **Reliable improvement**: PHQ-9 falls by >= 6 or GAD-7 by >= 4. The IAPT manual and NHS
  Digital add "and neither measure shows reliable deterioration" (a rise of >= 6 / >= 4);
  that clause is not in the calibration.md quote (it is from memory, conf. R), so it is a
  keyword option, on by default (``require_no_deterioration=True``), to follow the
  national statistics. With it off the function is exactly the wording of calibration.md §3.
- **Reliable deterioration**: PHQ-9 rises by >= 6 or GAD-7 by >= 4 (the same reliable-change
  indices, calibration.md §4 PHQ-9 and GAD-7 rows).
- **Recovery**: caseness before and not after. Someone below caseness before treatment
  cannot recover; national recovery rates divide by clients at caseness before, so filter
  on :func:`iapt_caseness` of the pre scores for the denominator.
- **Reliable recovery**: recovery and reliable improvement together.

Every function takes array-likes (numpy arrays, lists or Series) of equal length and returns
a numpy bool array, or a Series with the first argument's index when that is a Series.

Examples
--------
>>> from hubsim.measures import iapt_caseness, recovery, reliable_improvement
>>> iapt_caseness([10, 9, 9], [0, 8, 7]).tolist()
[True, True, False]
>>> reliable_improvement([16], [10], [12], [14]).tolist()
[True]
>>> recovery([16], [9], [12], [7]).tolist()
[True]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hubsim.measures.scoring import _fmt

__all__ = [
    "GAD7_CASENESS",
    "GAD7_RELIABLE_CHANGE",
    "PHQ9_CASENESS",
    "PHQ9_RELIABLE_CHANGE",
    "iapt_caseness",
    "recovery",
    "reliable_deterioration",
    "reliable_improvement",
    "reliable_recovery",
]

PHQ9_CASENESS = 10  # calibration.md §3 Definitions, Caseness
GAD7_CASENESS = 8  # calibration.md §3 Definitions, Caseness; §4 GAD-7 "IAPT caseness >= 8"
PHQ9_RELIABLE_CHANGE = 6  # calibration.md §3 Definitions; §4 PHQ-9 "reliable change >= 6"
GAD7_RELIABLE_CHANGE = 4  # calibration.md §3 Definitions; §4 GAD-7 "reliable change >= 4"
_PHQ9_MAX = 27  # calibration.md §4 PHQ-9 range
_GAD7_MAX = 21  # calibration.md §4 GAD-7 range


def _totals(name: str, values, top: int) -> np.ndarray:
    """Integer totals in 0..top as an int64 array, or ValueError naming the argument."""
    arr = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if arr.ndim != 1:
        arr = np.atleast_1d(arr)
        if arr.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array of totals, got shape {arr.shape}.")
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr > top)
    else:
        f = arr.astype(float)
        bad = ~np.isfinite(f) | (f != np.round(f)) | (f < 0) | (f > top)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name}: value {_fmt(arr[i])} at position {i} is not a valid total; "
            f"expected an integer from 0 to {top}."
        )
    return arr.astype(np.int64, copy=False)


def _pairs(**kwargs):
    arrays = {}
    n = None
    for name, (values, top) in kwargs.items():
        arr = _totals(name, values, top)
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise ValueError(
                f"{name}: expected {n} values to match the first argument, got {arr.shape[0]}."
            )
        arrays[name] = arr
    return arrays


def _out(result: np.ndarray, like, name: str):
    return pd.Series(result, index=like.index, name=name) if isinstance(like, pd.Series) else result


def iapt_caseness(phq9, gad7):
    """IAPT caseness: PHQ-9 >= 10 or GAD-7 >= 8 (calibration.md §3 Definitions).

    Parameters
    ----------
    phq9, gad7 : array-like of int
        PHQ-9 totals (0-27) and GAD-7 totals (0-21), one a client.

    Returns
    -------
    numpy.ndarray of bool (a Series when ``phq9`` is a Series).

    Examples
    --------
    >>> iapt_caseness([9, 10], [7, 0]).tolist()
    [False, True]
    """
    a = _pairs(phq9=(phq9, _PHQ9_MAX), gad7=(gad7, _GAD7_MAX))
    return _out((a["phq9"] >= PHQ9_CASENESS) | (a["gad7"] >= GAD7_CASENESS), phq9, "caseness")


def reliable_deterioration(phq9_pre, phq9_post, gad7_pre, gad7_post):
    """Reliable deterioration: PHQ-9 rises by >= 6 or GAD-7 by >= 4.

    Parameters
    ----------
    phq9_pre, phq9_post, gad7_pre, gad7_post : array-like of int
        Totals before and after, one a client.

    Returns
    -------
    numpy.ndarray of bool (a Series when ``phq9_pre`` is a Series).

    Examples
    --------
    >>> reliable_deterioration([4, 4], [10, 9], [3, 3], [3, 6]).tolist()
    [True, False]
    """
    a = _pairs(
        phq9_pre=(phq9_pre, _PHQ9_MAX),
        phq9_post=(phq9_post, _PHQ9_MAX),
        gad7_pre=(gad7_pre, _GAD7_MAX),
        gad7_post=(gad7_post, _GAD7_MAX),
    )
    worse = ((a["phq9_post"] - a["phq9_pre"]) >= PHQ9_RELIABLE_CHANGE) | (
        (a["gad7_post"] - a["gad7_pre"]) >= GAD7_RELIABLE_CHANGE
    )
    return _out(worse, phq9_pre, "reliable_deterioration")


def reliable_improvement(
    phq9_pre, phq9_post, gad7_pre, gad7_post, *, require_no_deterioration: bool = True
):
    """Reliable improvement: PHQ-9 falls by >= 6 or GAD-7 by >= 4.

    With ``require_no_deterioration=True`` (default, the IAPT manual / NHS Digital rule) a
    client who improves reliably on one measure but deteriorates reliably on the other is
    not counted; with False the rule is exactly calibration.md §3 ("PHQ-9 falls by >= 6 or
    GAD-7 by >= 4").

    Parameters
    ----------
    phq9_pre, phq9_post, gad7_pre, gad7_post : array-like of int
        Totals before and after, one a client.
    require_no_deterioration : bool, default True
        Also require that neither measure deteriorates reliably.

    Returns
    -------
    numpy.ndarray of bool (a Series when ``phq9_pre`` is a Series).

    Examples
    --------
    >>> reliable_improvement([20], [14], [5], [9]).tolist()
    [False]
    >>> reliable_improvement([20], [14], [5], [9], require_no_deterioration=False).tolist()
    [True]
    """
    a = _pairs(
        phq9_pre=(phq9_pre, _PHQ9_MAX),
        phq9_post=(phq9_post, _PHQ9_MAX),
        gad7_pre=(gad7_pre, _GAD7_MAX),
        gad7_post=(gad7_post, _GAD7_MAX),
    )
    dp = a["phq9_post"] - a["phq9_pre"]
    dg = a["gad7_post"] - a["gad7_pre"]
    better = (dp <= -PHQ9_RELIABLE_CHANGE) | (dg <= -GAD7_RELIABLE_CHANGE)
    if require_no_deterioration:
        better &= (dp < PHQ9_RELIABLE_CHANGE) & (dg < GAD7_RELIABLE_CHANGE)
    return _out(better, phq9_pre, "reliably_improved")


def recovery(phq9_pre, phq9_post, gad7_pre, gad7_post):
    """Recovery: at caseness before and not at caseness after (calibration.md §3).

    Parameters
    ----------
    phq9_pre, phq9_post, gad7_pre, gad7_post : array-like of int
        Totals before and after, one a client.

    Returns
    -------
    numpy.ndarray of bool (a Series when ``phq9_pre`` is a Series). Clients below caseness
    before are False; exclude them from the denominator of a recovery rate.

    Examples
    --------
    >>> recovery([12, 12, 5], [9, 10, 0], [3, 3, 3], [3, 3, 0]).tolist()
    [True, False, False]
    """
    a = _pairs(
        phq9_pre=(phq9_pre, _PHQ9_MAX),
        phq9_post=(phq9_post, _PHQ9_MAX),
        gad7_pre=(gad7_pre, _GAD7_MAX),
        gad7_post=(gad7_post, _GAD7_MAX),
    )
    before = (a["phq9_pre"] >= PHQ9_CASENESS) | (a["gad7_pre"] >= GAD7_CASENESS)
    after = (a["phq9_post"] >= PHQ9_CASENESS) | (a["gad7_post"] >= GAD7_CASENESS)
    return _out(before & ~after, phq9_pre, "recovered")


def reliable_recovery(
    phq9_pre, phq9_post, gad7_pre, gad7_post, *, require_no_deterioration: bool = True
):
    """Reliable recovery: :func:`recovery` and :func:`reliable_improvement` together.

    Examples
    --------
    >>> reliable_recovery([12, 12], [9, 5], [3, 3], [3, 3]).tolist()
    [False, True]
    """
    rec = recovery(phq9_pre, phq9_post, gad7_pre, gad7_post)
    imp = reliable_improvement(
        phq9_pre,
        phq9_post,
        gad7_pre,
        gad7_post,
        require_no_deterioration=require_no_deterioration,
    )
    out = np.asarray(rec) & np.asarray(imp)
    return _out(out, phq9_pre, "reliably_recovered")
