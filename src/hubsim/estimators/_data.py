"""Input checks shared by the estimators.

Every estimator runs on a plain DataFrame named by column. Bad input is refused with one
ValueError sentence that names the column and what was expected; nothing is silently
dropped unless the caller asks for it (``missing="drop"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd


def require_columns(df: pd.DataFrame, columns: Iterable[str | None], *, where: str) -> None:
    """Raise ValueError naming the first requested column that ``df`` lacks."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}.")
    for col in columns:
        if col is None:
            continue
        if col not in df.columns:
            raise ValueError(
                f"{where}: column {col!r} is not in the data frame "
                f"(columns are {', '.join(map(str, df.columns))})."
            )


def handle_missing(
    df: pd.DataFrame, columns: Sequence[str], *, missing: str, where: str
) -> pd.DataFrame:
    """Refuse (``missing="raise"``) or drop (``missing="drop"``) rows with NaN in ``columns``."""
    if missing not in ("raise", "drop"):
        raise ValueError(f"{where}: missing must be 'raise' or 'drop', got {missing!r}.")
    cols = [c for c in columns if c is not None]
    bad = df[cols].isna().any(axis=1)
    if bad.any():
        if missing == "raise":
            first = next(c for c in cols if df[c].isna().any())
            raise ValueError(
                f"{where}: {int(bad.sum())} rows have missing values (first in column "
                f"{first!r}); pass missing='drop' to drop them or fill them first."
            )
        df = df.loc[~bad]
    return df


def require_binary(df: pd.DataFrame, column: str, *, where: str) -> np.ndarray:
    """Return ``df[column]`` as 0/1 integers, or raise if it holds other values."""
    values = pd.unique(df[column])
    numeric = int | float | bool | np.integer | np.floating
    # 0/1 and False/True compare equal, so {0, 1} admits booleans too
    odd = [v for v in values if not (isinstance(v, numeric) and v in {0, 1})]
    if odd:
        raise ValueError(
            f"{where}: treatment column {column!r} must be binary (0/1), found {odd[0]!r}."
        )
    return df[column].to_numpy().astype(np.int8)


def require_numeric(df: pd.DataFrame, column: str, *, where: str) -> None:
    """Raise unless ``df[column]`` is numeric."""
    if not pd.api.types.is_numeric_dtype(df[column]):
        raise ValueError(
            f"{where}: column {column!r} must be numeric, got dtype {df[column].dtype}."
        )


def require_clusters(n_clusters: int, *, where: str, minimum: int = 2) -> None:
    """Raise when there are fewer clusters than the inference needs."""
    if n_clusters < minimum:
        raise ValueError(
            f"{where}: {n_clusters} cluster(s) in the data; at least {minimum} are needed "
            "for cluster-robust inference."
        )


def _py(value):
    """A numpy scalar as its Python value, so messages read ``region 3``, not ``np.int64(3)``."""
    return value.item() if isinstance(value, np.generic) else value


def adoption_periods(
    df: pd.DataFrame, unit: str, time: str, treat: str, *, where: str, absorbing: bool = True
) -> pd.Series:
    """First treated period per unit (NaN for never-treated units).

    Raises when a treated unit has no untreated period before adoption, or, with
    ``absorbing=True``, when treatment switches off again.
    """
    d = df[[unit, time, treat]].sort_values([unit, time])
    first_time = d.groupby(unit, sort=True)[time].min()
    treated_rows = d[d[treat] == 1]
    adopt = treated_rows.groupby(unit, sort=True)[time].min()
    no_pre = adopt.index[adopt.to_numpy() <= first_time.reindex(adopt.index).to_numpy()]
    if len(no_pre):
        raise ValueError(
            f"{where}: region {_py(no_pre[0])!r} is treated from its first period, so it has no "
            "pre-period to compare with; drop it or add earlier periods."
        )
    if absorbing:
        after = d.merge(adopt.rename("_g"), left_on=unit, right_index=True)
        switched = after[(after[time] >= after["_g"]) & (after[treat] == 0)]
        if len(switched):
            raise ValueError(
                f"{where}: treatment must stay on once adopted, but region "
                f"{_py(switched[unit].iloc[0])!r} is untreated at {time}={_py(switched[time].iloc[0])!r} "
                "after adopting; this estimator needs absorbing (staggered) adoption."
            )
    return adopt.reindex(first_time.index)
