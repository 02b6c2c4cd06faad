"""Scoring of real or simulated item responses: totals, bands and diagnostic rules.

All functions accept an item matrix as a pandas DataFrame (one column an item, in
questionnaire order, or the columns named by ``columns=``) or a 2-D numpy array, validate
every value against the instrument's allowed scores, and never modify their input.
Missing items are refused (no prorating): fill or drop them first.

Examples
--------
>>> import numpy as np
>>> from hubsim.measures import score, severity_band
>>> items = np.array([[1, 1, 1, 1, 1, 1, 1, 1, 0], [3, 3, 3, 3, 3, 3, 2, 0, 0]])
>>> score("phq9", items)
array([ 8, 20])
>>> severity_band("phq9", score("phq9", items))
array(['mild', 'severe'], dtype=object)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hubsim.measures.instruments import (
    ITQ_CLUSTERS,
    ITQ_ENDORSED,
    PCL5_CLUSTERS,
    PCL5_CUTOFF_RANGE,
    PCL5_DEFAULT_CUTOFF,
    Instrument,
    get_instrument,
)

__all__ = [
    "ITQ_DIAGNOSIS_COLUMNS",
    "itq_diagnosis",
    "pcl5_dsm5_rule",
    "score",
    "severity_band",
    "validate_items",
]

ITQ_DIAGNOSIS_COLUMNS: tuple[str, ...] = (*ITQ_CLUSTERS, "ptsd", "cptsd", "level")


def _as_matrix(
    spec: Instrument, items, columns: Sequence[str] | None
) -> tuple[np.ndarray, list[str], pd.Index | None]:
    """Item matrix as float array, the label of each column for messages, and the row index."""
    if isinstance(items, pd.DataFrame):
        if columns is not None:
            missing = [c for c in columns if c not in items.columns]
            if missing:
                raise ValueError(f"{spec.label}: column {missing[0]!r} is not in the data frame.")
            frame = items.loc[:, list(columns)]
        else:
            frame = items
        labels = [str(c) for c in frame.columns]
        for c in frame.columns:
            if not (
                pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])
            ):
                raise ValueError(
                    f"{spec.label}: column {c!r} must be numeric, got dtype {frame[c].dtype}."
                )
        values = frame.to_numpy(dtype=float)
        index = frame.index
    else:
        if columns is not None:
            raise ValueError(f"{spec.label}: columns= is only meaningful for a DataFrame.")
        values = np.asarray(items, dtype=float)
        if values.ndim == 1 and values.size == spec.n_items:
            values = values[None, :]
        labels = [f"item {j + 1} ({name})" for j, name in enumerate(spec.item_names)]
        index = None
    if values.ndim != 2 or values.shape[1] != spec.n_items:
        raise ValueError(
            f"{spec.label}: expected {spec.n_items} item columns, got an array of shape "
            f"{values.shape}."
        )
    return values, labels, index


def _fmt(value) -> str:
    """A number as written in a message: 4 rather than np.float64(4.0)."""
    v = float(value)
    return str(int(v)) if np.isfinite(v) and v == round(v) else str(v)


def _check_values(
    spec: Instrument, values: np.ndarray, labels: list[str], index: pd.Index | None = None
) -> np.ndarray:
    """Integer item matrix, or ValueError naming the first bad item and its allowed scores."""
    mask = spec.allowed_mask()
    finite = np.isfinite(values)
    as_int = np.where(finite, values, -1).astype(np.int64)
    ok = finite & (as_int == values) & (as_int >= 0) & (as_int < mask.shape[1])
    ok[ok] = mask[np.nonzero(ok)[1], as_int[ok]]
    if not ok.all():
        rows, cols = np.nonzero(~ok)
        order = np.lexsort((rows, cols))  # the first bad column, then its first bad row
        r, c = rows[order[0]], cols[order[0]]
        allowed = ", ".join(str(v) for v in spec.item_values[c])
        row = f"row {r}" if index is None else f"row {index[r]!r}"
        raise ValueError(
            f"{spec.label}: {labels[c]} has value {_fmt(values[r, c])} in {row}; "
            f"allowed scores are {allowed}."
        )
    return as_int


def validate_items(instrument: str, items, *, columns: Sequence[str] | None = None) -> np.ndarray:
    """Check an item matrix and return it as an integer array.

    Parameters
    ----------
    instrument : str
        Instrument name.
    items : DataFrame or array-like, shape (n, n_items)
        Item scores in questionnaire order (or the DataFrame columns named by ``columns``).
    columns : sequence of str, optional
        The item columns of a wider DataFrame, in questionnaire order.

    Returns
    -------
    numpy.ndarray of int64, shape (n, n_items)

    Raises
    ------
    ValueError
        When the shape is wrong, a value is missing or non-integer, or an item holds a score
        the instrument does not allow (the message names the column and the allowed scores).

    Examples
    --------
    >>> validate_items("audit", [[0, 0, 0, 0, 0, 0, 0, 0, 2, 4]]).sum()
    np.int64(6)
    """
    spec = get_instrument(instrument)
    values, labels, index = _as_matrix(spec, items, columns)
    return _check_values(spec, values, labels, index)


def _wrap(result: np.ndarray, index: pd.Index | None, name: str):
    return result if index is None else pd.Series(result, index=index, name=name)


def score(instrument: str, items, *, columns: Sequence[str] | None = None):
    """Total score of each respondent.

    Parameters
    ----------
    instrument : str
        ``"phq9"``, ``"gad7"``, ``"wsas"``, ``"audit"``, ``"pcl5"`` or ``"itq"``. ITQ has no
        summed total in the ICD-11 scoring, so its 'total' is the diagnostic level
        (0 none, 1 PTSD, 2 complex PTSD; see :func:`itq_diagnosis`).
    items : DataFrame or array-like, shape (n, n_items)
        Item scores; validated with :func:`validate_items`.
    columns : sequence of str, optional
        The item columns of a wider DataFrame, in questionnaire order.

    Returns
    -------
    numpy.ndarray of int64, or pandas.Series named ``instrument`` when ``items`` is a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame([[3, 3, 3, 3, 3, 3, 3]], columns=[f"g{i}" for i in range(7)])
    >>> int(score("gad7", df).iloc[0])
    21
    """
    spec = get_instrument(instrument)
    values, labels, index = _as_matrix(spec, items, columns)
    checked = _check_values(spec, values, labels, index)
    if spec.name == "itq":
        total = _itq_from_checked(checked)["level"]
    else:
        total = checked.sum(axis=1)
    return _wrap(total, index, spec.name)


def severity_band(instrument: str, totals, *, pcl5_cutoff: int = PCL5_DEFAULT_CUTOFF):
    """Severity band of each total, by the instrument's published cut-offs.

    Parameters
    ----------
    instrument : str
        Instrument name. Bands: PHQ-9 minimal / mild (5) / moderate (10) / moderately severe
        (15) / severe (20); GAD-7 minimal / mild (5) / moderate (10) / severe (15); WSAS
        subclinical / significant impairment (10) / moderately severe or worse (21); AUDIT
        low risk / hazardous (8) / harmful (16) / possible dependence (20); PCL-5 below
        cut-off / probable PTSD (``pcl5_cutoff``); ITQ none / PTSD (1) / complex PTSD (2).
    totals : array-like or Series of int
        Totals within the instrument's range.
    pcl5_cutoff : int, default 33
        PCL-5 probable-PTSD cut-off, 31-33 (calibration.md §4 PCL-5 row).

    Returns
    -------
    numpy.ndarray of str (object), or an ordered categorical Series for Series input.

    Examples
    --------
    >>> severity_band("wsas", [9, 10, 20, 21]).tolist()
    ['subclinical', 'significant impairment', 'significant impairment', 'moderately severe or worse']
    """
    spec = get_instrument(instrument)
    bands = spec.bands
    if spec.name == "pcl5":
        lo, hi = PCL5_CUTOFF_RANGE
        if (
            isinstance(pcl5_cutoff, bool)
            or not isinstance(pcl5_cutoff, int | np.integer)
            or not (lo <= pcl5_cutoff <= hi)
        ):
            raise ValueError(
                f"pcl5_cutoff must be an integer from {lo} to {hi} "
                f"(calibration.md §4), got {pcl5_cutoff!r}."
            )
        bands = ((0, bands[0][1]), (int(pcl5_cutoff), bands[1][1]))
    t = _check_totals(spec.name, totals, spec.total_min, spec.total_max, spec.label)
    lowers = np.array([b for b, _ in bands])
    labels = np.array([lab for _, lab in bands], dtype=object)
    out = labels[np.searchsorted(lowers, t, side="right") - 1]
    if isinstance(totals, pd.Series):
        cat = pd.CategoricalDtype(list(labels), ordered=True)
        return pd.Series(out, index=totals.index, name=f"{spec.name}_band", dtype=cat)
    return out


def _check_totals(name: str, totals, lo: int, hi: int, label: str) -> np.ndarray:
    """Totals as an int64 array, or ValueError naming ``name`` and the allowed range."""
    arr = np.asarray(totals, dtype=float)
    if arr.ndim != 1:
        arr = np.atleast_1d(arr)
        if arr.ndim != 1:
            raise ValueError(
                f"{name}: expected a 1-D array of {label} totals, got shape {arr.shape}."
            )
    bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (arr < lo) | (arr > hi)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name}: value {_fmt(arr[i])} at position {i} is not a {label} total; "
            f"expected an integer from {lo} to {hi}."
        )
    return arr.astype(np.int64)


def pcl5_dsm5_rule(items, *, columns: Sequence[str] | None = None):
    """Probable PTSD by the DSM-5 symptom-cluster rule on PCL-5 items.

    An item counts when scored >= 2; the rule needs >= 1 of B (items 1-5), >= 1 of C (6-7),
    >= 2 of D (8-14) and >= 2 of E (15-20) (calibration.md §4 PCL-5 row).

    Parameters
    ----------
    items : DataFrame or array-like, shape (n, 20)
        PCL-5 item scores 0-4.
    columns : sequence of str, optional
        The 20 item columns of a wider DataFrame, in order.

    Returns
    -------
    numpy.ndarray of bool, or a bool Series for DataFrame input.

    Examples
    --------
    >>> row = [2, 0, 0, 0, 0, 2, 0, 2, 2, 0, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0]
    >>> pcl5_dsm5_rule([row]).tolist()
    [True]
    """
    spec = get_instrument("pcl5")
    values, labels, index = _as_matrix(spec, items, columns)
    endorsed = _check_values(spec, values, labels, index) >= 2
    return _wrap(_pcl5_rule_from_endorsed(endorsed), index, "pcl5_dsm5")


def _pcl5_rule_from_endorsed(endorsed: np.ndarray) -> np.ndarray:
    met = np.ones(endorsed.shape[0], dtype=bool)
    for item_numbers, minimum in PCL5_CLUSTERS.values():
        cols = [i - 1 for i in item_numbers]
        met &= endorsed[:, cols].sum(axis=1) >= minimum
    return met


def itq_diagnosis(items, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """ICD-11 PTSD and complex PTSD by the ITQ diagnostic algorithm.

    A symptom or impairment item counts when scored >= 2. **PTSD**: one of the two items in
    each of re-experiencing (items 1-2), avoidance (3-4) and sense of threat (5-6), plus at
    least one PTSD functional-impairment item (7-9). **Complex PTSD**: the PTSD criteria plus
    one of the two items in each DSO cluster, affective dysregulation (10-11), negative
    self-concept (12-13) and disturbed relationships (14-15), plus at least one DSO
    impairment item (16-18). The two diagnoses are mutually exclusive: meeting complex PTSD
    means ``ptsd`` is False (calibration.md §4 ITQ row, Cloitre 2018).

    Parameters
    ----------
    items : DataFrame or array-like, shape (n, 18)
        ITQ item scores 0-4 in questionnaire order.
    columns : sequence of str, optional
        The 18 item columns of a wider DataFrame, in order.

    Returns
    -------
    pandas.DataFrame
        Columns ``ITQ_DIAGNOSIS_COLUMNS``: one bool per cluster (``re``, ``av``, ``th``,
        ``ptsd_impairment``, ``ad``, ``nsc``, ``dr``, ``dso_impairment``), ``ptsd`` and
        ``cptsd`` (bool, never both) and ``level`` (0 none, 1 PTSD, 2 complex PTSD).

    Examples
    --------
    >>> ptsd_only = [2, 0, 0, 3, 4, 0, 2, 0, 0] + [0] * 9
    >>> itq_diagnosis([ptsd_only])[["ptsd", "cptsd", "level"]].to_dict("records")
    [{'ptsd': True, 'cptsd': False, 'level': 1}]
    """
    spec = get_instrument("itq")
    values, labels, index = _as_matrix(spec, items, columns)
    out = _itq_from_checked(_check_values(spec, values, labels, index))
    frame = pd.DataFrame(out, columns=list(ITQ_DIAGNOSIS_COLUMNS))
    if index is not None:
        frame.index = index
    return frame


def _itq_from_checked(checked: np.ndarray) -> dict[str, np.ndarray]:
    endorsed = checked >= ITQ_ENDORSED
    out: dict[str, np.ndarray] = {
        cluster: endorsed[:, [i - 1 for i in cols]].any(axis=1)
        for cluster, cols in ITQ_CLUSTERS.items()
    }
    ptsd_criteria = out["re"] & out["av"] & out["th"] & out["ptsd_impairment"]
    dso = out["ad"] & out["nsc"] & out["dr"] & out["dso_impairment"]
    cptsd = ptsd_criteria & dso
    out["ptsd"] = ptsd_criteria & ~cptsd
    out["cptsd"] = cptsd
    out["level"] = ptsd_criteria.astype(np.int64) + cptsd.astype(np.int64)
    return out
