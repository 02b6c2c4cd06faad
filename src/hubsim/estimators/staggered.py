"""Heterogeneity-robust staggered difference in differences.

Two tools for designs where regions open a hub at different times:

* :func:`callaway_santanna` estimates every group-time average treatment effect
  ATT(g, t) of Callaway & Sant'Anna (2021) by unconditional 2x2 comparisons and
  aggregates them (overall, by event time, by cohort, by calendar time) with standard
  errors from the influence function, as R's ``did`` and Python's ``csdid`` do.
* :func:`bacon_decomposition` writes the two-way fixed-effects DiD coefficient as the
  weighted average of all 2x2 comparisons (Goodman-Bacon 2021), so users can see how
  much weight the "forbidden" comparisons (already-treated units as controls) carry.

Both need a balanced panel: one row per unit and period, every unit in every period.
Region-period cells (one mean per region and month) are such a panel. Unbalanced
panels are refused with a ValueError rather than silently balanced; drop or fill the
incomplete units first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hubsim.checks import check_alpha
from hubsim.estimators._data import (
    adoption_periods,
    handle_missing,
    require_binary,
    require_clusters,
    require_columns,
    require_numeric,
)
from hubsim.estimators._estimate import TIDY_COLUMNS, Estimate, EstimateView
from hubsim.stats import t_interval

__all__ = [
    "ATT_GT_COLUMNS",
    "BACON_COLUMNS",
    "BaconDecomposition",
    "CallawaySantAnnaResult",
    "bacon_decomposition",
    "callaway_santanna",
]

ATT_GT_COLUMNS = [
    "group",
    "time",
    "event_time",
    "base_time",
    "post",
    "att",
    "se",
    "ci_low",
    "ci_high",
    "n_treated",
    "n_control",
]
AGGREGATE_COLUMNS = ["att", "se", "ci_low", "ci_high", "p_value"]
BACON_COLUMNS = ["type", "treated", "control", "estimate", "weight"]

# Normal quantiles for the interquartile-range standard error of the multiplier
# bootstrap (the robust scale estimate R's ``did`` uses).
_IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))


# ---------------------------------------------------------------------------------------
# panel helpers (shared with synth.py)
# ---------------------------------------------------------------------------------------


def _balanced_wide(
    df: pd.DataFrame, value: str, unit: str, time: str, *, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units, sorted periods and the units x periods matrix of ``value``.

    Raises when a unit-period appears twice or when the panel is unbalanced.
    """
    dup = df.duplicated([unit, time])
    if dup.any():
        row = df.loc[dup].iloc[0]
        raise ValueError(
            f"{where}: unit {_py(row[unit])!r} has more than one row at {time}={_py(row[time])!r}; "
            f"the data must have one row per {unit} and {time} (aggregate repeated "
            "observations to region-period means first)."
        )
    wide = df.pivot(index=unit, columns=time, values=value).sort_index(axis=1)
    holes = wide.isna()
    if holes.to_numpy().any():
        r, c = np.argwhere(holes.to_numpy())[0]
        raise ValueError(
            f"{where}: the panel is unbalanced (unit {_py(wide.index[r])!r} has no row at "
            f"{time}={_py(wide.columns[c])!r}); this estimator needs every {unit} observed in "
            "every period, so drop or fill the incomplete units first."
        )
    return wide.index.to_numpy(), wide.columns.to_numpy(), wide.to_numpy(dtype=float)


def _per_unit_constant(df: pd.DataFrame, unit: str, column: str, *, where: str) -> pd.Series:
    """The value of ``column`` for each unit, refusing values that vary within a unit."""
    n_values = df.groupby(unit, sort=True)[column].nunique(dropna=False)
    if (n_values > 1).any():
        bad = n_values.index[n_values.to_numpy() > 1][0]
        raise ValueError(
            f"{where}: column {column!r} must be constant within each {unit}, but it "
            f"varies for {unit} {_py(bad)!r}."
        )
    return df.groupby(unit, sort=True)[column].first()


def _normal_ci(est: np.ndarray, se: np.ndarray, alpha: float):
    p, lo, hi = t_interval(est, se, math.inf, alpha)
    return lo, hi, p


# ---------------------------------------------------------------------------------------
# Callaway & Sant'Anna
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallawaySantAnnaResult(EstimateView):
    """Group-time ATTs, their influence functions, and their aggregations.

    The object also behaves like the overall ("simple") :class:`Estimate`: its
    ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``p_value``, ``rejects()`` and
    ``covers()`` are those of :meth:`to_estimate`, so power studies can treat it as one.

    Attributes
    ----------
    att_gt : pandas.DataFrame
        One row per (group, time) cell, columns :data:`ATT_GT_COLUMNS`. ``group`` is the
        cohort (first treated period), ``event_time = time - group``, ``base_time`` the
        period the cell differences against. ``se`` is NaN where it is undefined (the
        reference cell under a universal base period).
    control, base_period, anticipation, alpha, inference : str, str, int, float, str
        The settings used.
    n_units, n_clusters, n_obs : int
        Units in the estimation panel, clusters used for the standard errors, and rows.
    notes : tuple of str
        What was done to the data (e.g. periods dropped for lack of controls).
    """

    att_gt: pd.DataFrame
    control: str
    base_period: str
    anticipation: float
    alpha: float
    inference: str
    n_units: int
    n_clusters: int
    n_obs: int
    notes: tuple[str, ...]
    _inf: np.ndarray = field(repr=False)  # units x cells influence functions
    _unit_group: np.ndarray = field(repr=False)  # cohort of each unit (0 = never)
    _cluster_codes: np.ndarray = field(repr=False)  # cluster index of each unit
    _boot: np.ndarray | None = field(repr=False, default=None)  # draws x clusters weights

    # -- standard errors ---------------------------------------------------------------
    def _se(self, inf: np.ndarray) -> np.ndarray:
        """Standard errors of the columns of an influence-function matrix."""
        inf = np.atleast_2d(inf.T).T  # units x k
        sums = np.zeros((self.n_clusters, inf.shape[1]))
        np.add.at(sums, self._cluster_codes, inf)
        if self._boot is None:
            se = np.sqrt((sums**2).sum(axis=0)) / self.n_units
        else:
            draws = self._boot @ sums
            q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
            se = (q75 - q25) / _IQR_NORMAL / self.n_units
        se = np.asarray(se, dtype=float)
        se[~np.isfinite(se) | (se <= 1e-300)] = np.nan
        return se

    # -- aggregation weights -----------------------------------------------------------
    def _wif(self, cell_groups: np.ndarray) -> np.ndarray:
        """Influence of estimating the cohort-share weights (units x len(cells))."""
        share = self._cohort_share(cell_groups)
        total = share.sum()
        member = (self._unit_group[:, None] == cell_groups[None, :]).astype(float) - share
        return member / total - np.outer(member.sum(axis=1), share / total**2)

    def _cohort_share(self, groups: np.ndarray) -> np.ndarray:
        return np.array([np.mean(self._unit_group == g) for g in groups])

    def _combine(self, cells: np.ndarray, weights: np.ndarray, *, estimated_weights: bool):
        att = self.att_gt["att"].to_numpy()
        est = float(np.dot(att[cells], weights))
        inf = self._inf[:, cells] @ weights
        if estimated_weights:
            groups = self.att_gt["group"].to_numpy()[cells]
            inf = inf + self._wif(groups) @ att[cells]
        return est, inf

    def _window(self, min_e: float, max_e: float) -> np.ndarray:
        t = self.att_gt
        return (
            (t["post"].to_numpy() == 1)
            & (t["event_time"].to_numpy() >= min_e)
            & (t["event_time"].to_numpy() <= max_e)
        )

    def _pieces(self, kind: str, min_e: float, max_e: float):
        """Keys, estimates and influence functions of one aggregation, and its overall."""
        t = self.att_gt
        group = t["group"].to_numpy()
        time = t["time"].to_numpy()
        event = t["event_time"].to_numpy()
        if np.isnan(t["att"].to_numpy()).any():
            raise ValueError("callaway_santanna: some ATT(g,t) are undefined; cannot aggregate.")
        post = self._window(min_e, max_e)
        if not post.any():
            raise ValueError(
                "callaway_santanna: no post-treatment ATT(g,t) fall in the event-time window "
                f"[{min_e}, {max_e}]."
            )
        pg = self._cohort_share(group)
        if kind == "simple":
            cells = np.flatnonzero(post)
            est, inf = self._combine(cells, pg[cells] / pg[cells].sum(), estimated_weights=True)
            return np.array([]), np.array([]), np.zeros((self.n_units, 0)), est, inf
        if kind == "group":
            glist = np.unique(group)
            keys, ests, infs = [], [], []
            for g in glist:
                cells = np.flatnonzero(post & (group == g))
                if len(cells) == 0:
                    raise ValueError(
                        f"callaway_santanna: cohort {g!r} has no post-treatment ATT(g,t) in the "
                        "window, so it cannot enter the group aggregation."
                    )
                e, i = self._combine(
                    cells, np.full(len(cells), 1 / len(cells)), estimated_weights=False
                )
                keys.append(g)
                ests.append(e)
                infs.append(i)
            keys_a, ests_a, infs_a = np.array(keys), np.array(ests), np.column_stack(infs)
            share = self._cohort_share(keys_a)
            w = share / share.sum()
            est = float(ests_a @ w)
            member = (self._unit_group[:, None] == keys_a[None, :]).astype(float) - share
            wif = member / share.sum() - np.outer(member.sum(axis=1), share / share.sum() ** 2)
            inf = infs_a @ w + wif @ ests_a
            return keys_a, ests_a, infs_a, est, inf

        def by_key(mask, values):
            # one cohort-share weighted ATT per distinct value (event time or calendar time)
            keys = np.unique(values[mask])
            parts = [
                self._combine(cells, pg[cells] / pg[cells].sum(), estimated_weights=True)
                for cells in (np.flatnonzero(mask & (values == k)) for k in keys)
            ]
            return keys, np.array([p[0] for p in parts]), np.column_stack([p[1] for p in parts])

        if kind == "dynamic":
            keys_a, ests_a, infs_a = by_key((event >= min_e) & (event <= max_e), event)
            pos = keys_a >= 0
            est = float(ests_a[pos].mean())
            inf = infs_a[:, pos].mean(axis=1)
            return keys_a, ests_a, infs_a, est, inf
        if kind == "calendar":
            keys_a, ests_a, infs_a = by_key(post, time)
            return keys_a, ests_a, infs_a, float(ests_a.mean()), infs_a.mean(axis=1)
        raise ValueError(
            f"callaway_santanna: kind must be 'simple', 'dynamic', 'group' or 'calendar', got {kind!r}."
        )

    # -- public API ----------------------------------------------------------------------
    def aggregate(
        self, kind: str = "simple", *, min_e: float = -math.inf, max_e: float = math.inf
    ) -> Estimate | pd.DataFrame:
        """Aggregate the ATT(g,t).

        Parameters
        ----------
        kind : {"simple", "dynamic", "group", "calendar"}
            ``"simple"``: the average over all post-treatment cells weighted by cohort
            size (R ``did``'s "simple"), returned as an :class:`Estimate`. ``"dynamic"``:
            one row per event time ``e = t - g`` (negative ``e`` are pre-trend checks),
            each a cohort-size-weighted average. ``"group"``: one row per cohort, the
            mean of its post-treatment cells. ``"calendar"``: one row per period.
        min_e, max_e : float
            Event-time window applied before aggregating.

        Returns
        -------
        Estimate or pandas.DataFrame
            An Estimate for "simple"; otherwise a frame with the key column
            (``event_time``, ``group`` or ``time``) and :data:`AGGREGATE_COLUMNS`. The
            overall effect of any kind is :meth:`overall`.
        """
        if kind == "simple":
            return self.overall("simple", min_e=min_e, max_e=max_e)
        keys, ests, infs, _, _ = self._pieces(kind, min_e, max_e)
        se = self._se(infs)
        lo, hi, p = _normal_ci(ests, se, self.alpha)
        key = {"dynamic": "event_time", "group": "group", "calendar": "time"}[kind]
        return pd.DataFrame(
            {key: keys, "att": ests, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p},
            columns=[key, *AGGREGATE_COLUMNS],
        )

    def overall(
        self, kind: str = "simple", *, min_e: float = -math.inf, max_e: float = math.inf
    ) -> Estimate:
        """The overall effect of an aggregation as an :class:`Estimate`.

        ``"simple"`` weights post-treatment cells by cohort size; ``"dynamic"`` averages
        the event-time effects with ``e >= 0``; ``"group"`` weights cohort effects by
        cohort size; ``"calendar"`` averages the per-period effects.
        """
        _, _, _, est, inf = self._pieces(kind, min_e, max_e)
        se = float(self._se(inf[:, None])[0])
        lo, hi, p = _normal_ci(np.array([est]), np.array([se]), self.alpha)
        how = (
            "multiplier bootstrap (Rademacher, IQR-scaled)"
            if self._boot is not None
            else "analytic influence-function variance"
        )
        note = (
            f"{how}, clustered by {self.n_clusters} clusters, normal reference distribution; "
            f"control group: {self.control.replace('_', '-')} units."
        )
        if self.n_clusters < 30:
            note += (
                f" With only {self.n_clusters} clusters the normal approximation can give "
                "intervals that are too narrow."
            )
        return Estimate(
            estimate=est,
            se=se,
            ci_low=float(lo[0]),
            ci_high=float(hi[0]),
            p_value=float(p[0]),
            n_obs=self.n_obs,
            n_clusters=self.n_clusters,
            method="callaway_santanna",
            inference=self.inference,
            inference_note=note,
            term="att" if kind == "simple" else f"att_{kind}",
            alpha=self.alpha,
            extra={"kind": kind, "notes": self.notes},
        )

    @cached_property
    def _simple(self) -> Estimate:
        return self.overall("simple")

    def to_estimate(self) -> Estimate:
        """The overall ("simple") ATT as an :class:`Estimate`."""
        return self._simple

    def tidy(self, kind: str = "simple") -> pd.DataFrame:
        """Rows in DeclareDesign's column names (:data:`TIDY_COLUMNS`).

        ``kind="simple"`` gives the overall ATT; ``"dynamic"``, ``"group"`` and
        ``"calendar"`` one row per key (terms like ``"event_time=2"``) plus the overall
        row; ``"att_gt"`` one row per cell (terms like ``"att(g=5,t=7)"``).
        """
        if kind == "simple":
            return self.to_estimate().tidy()
        if kind == "att_gt":
            t = self.att_gt
            terms = [f"att(g={g},t={tt})" for g, tt in zip(t["group"], t["time"], strict=True)]
            est, se, lo, hi = (t[c].to_numpy() for c in ("att", "se", "ci_low", "ci_high"))
        else:
            agg = self.aggregate(kind)
            key = agg.columns[0]
            terms = [f"{key}={k}" for k in agg[key]]
            est, se, lo, hi = (agg[c].to_numpy() for c in ("att", "se", "ci_low", "ci_high"))
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = est / se
        frame = pd.DataFrame(
            {
                "term": terms,
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "p_value": 2 * stats.norm.sf(np.abs(stat)),
                "conf_low": lo,
                "conf_high": hi,
                "df": math.nan,
                "n_obs": self.n_obs,
                "n_clusters": self.n_clusters,
                "method": "callaway_santanna",
                "inference": self.inference,
            },
            columns=TIDY_COLUMNS,
        )
        if kind in ("dynamic", "group", "calendar"):
            frame = pd.concat([frame, self.overall(kind).tidy()], ignore_index=True)
        return frame

    def summary(self) -> str:
        """Overall ATT, the event-time profile and the settings, as text."""
        lines = [self.to_estimate().summary()]
        dyn = self.aggregate("dynamic")
        lines.append("  event-time effects (e = t - g):")
        for row in dyn.itertuples(index=False):
            lines.append(
                f"    e={row.event_time:>4g}: {row.att: .4g} (SE {row.se:.3g}; "
                f"{row.ci_low:.4g} to {row.ci_high:.4g})"
            )
        lines.append(
            f"  {len(self.att_gt)} ATT(g,t) cells; control: {self.control}; base period: "
            f"{self.base_period}; anticipation: {self.anticipation:g}; {self.n_units} units."
        )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    # -- behave like the overall Estimate -----------------------------------------------


def _cohorts(
    df: pd.DataFrame,
    unit: str,
    time: str,
    cohort: str | None,
    treat: str | None,
    *,
    where: str,
) -> pd.Series:
    """First treated period per unit, 0 for never treated (sorted by unit)."""
    if (cohort is None) == (treat is None):
        raise ValueError(
            f"{where}: give exactly one of cohort= (first treated period) or treat= (0/1)."
        )
    if cohort is not None:
        require_numeric(df, cohort, where=where)
        g = _per_unit_constant(df, unit, cohort, where=where).astype(float)
        if (g < 0).any():
            raise ValueError(
                f"{where}: column {cohort!r} must hold the first treated period, or 0 / inf "
                "for never-treated units; found a negative value."
            )
        return g.where(np.isfinite(g), 0.0)
    require_binary(df, treat, where=where)
    adopt = adoption_periods(df, unit, time, treat, where=where, absorbing=True)
    return adopt.astype(float).fillna(0.0)


def callaway_santanna(
    df: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    cohort: str | None = None,
    treat: str | None = None,
    *,
    control: str = "never_treated",
    anticipation: int | float = 0,
    base_period: str = "varying",
    alpha: float = 0.05,
    missing: str = "raise",
    cluster: str | None = None,
    bootstrap: int | None = None,
    seed: int | None = None,
) -> CallawaySantAnnaResult:
    """Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

    Each ATT(g, t) is the unconditional 2x2 difference in differences between cohort
    ``g`` (units first treated in period ``g``) and the control units, from the base
    period to period ``t``. Standard errors come from the influence function summed by
    unit (or by ``cluster``), exactly as R's ``did`` / Python's ``csdid`` compute their
    analytic standard errors (``bstrap=False``), or from a seeded multiplier bootstrap.

    Parameters
    ----------
    df : pandas.DataFrame
        A balanced panel: one row per ``unit`` and ``time`` (region-period means are
        fine). Unbalanced panels raise ValueError.
    y, unit, time : str
        Outcome, unit (region) and numeric period columns.
    cohort : str, optional
        Column with each unit's first treated period (0 or inf for never treated),
        constant within unit. Give this or ``treat``.
    treat : str, optional
        A 0/1 column that switches on at adoption and stays on (absorbing).
    control : {"never_treated", "not_yet_treated"}
        Comparison units. With ``"not_yet_treated"`` and no never-treated units, periods
        from the last cohort's adoption on are dropped and the last cohort serves only
        as a control (as in R's ``did``); with ``"never_treated"`` and none, ValueError.
    anticipation : int or float
        Periods before adoption in which the treatment may already act; the base period
        is the last one before ``g - anticipation``.
    base_period : {"varying", "universal"}
        "varying": pre-treatment cells compare consecutive periods (R's default);
        "universal": every cell compares with the last pre-treatment period, whose own
        cell is 0 with an undefined SE.
    alpha : float
        1 - confidence level of the pointwise intervals.
    missing : {"raise", "drop"}
        What to do with rows that have missing values (dropping rows usually makes the
        panel unbalanced, which then raises).
    cluster : str, optional
        Column, constant within unit, to cluster on above the unit (e.g. a larger
        geography). Default: cluster by unit.
    bootstrap : int, optional
        Number of multiplier-bootstrap draws (Rademacher weights by cluster); the SE is
        the bootstrap interquartile range / 1.349, as in R's ``did``. Default: analytic.
    seed : int, optional
        Seed for the bootstrap draws (required with ``bootstrap``).

    Returns
    -------
    CallawaySantAnnaResult
        ``.att_gt``, ``.aggregate(kind)``, ``.overall(kind)``, ``.to_estimate()``,
        ``.tidy()``, ``.summary()``.

    Notes
    -----
    Differences from ``csdid``: units treated from the first period (no pre-period) and
    a missing never-treated group with ``control="never_treated"`` raise ValueError
    instead of being dropped or recoded with a warning. Cohorts adopting after the last
    observed period (net of anticipation) are counted as never treated, as in ``did``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat([0, 3, 5], 10)
    >>> rows = [(i, t, g[i], rng.normal() + (t >= g[i] > 0)) for i in range(30) for t in range(1, 7)]
    >>> d = pd.DataFrame(rows, columns=["region", "month", "g", "y"])
    >>> res = callaway_santanna(d, "y", "region", "month", cohort="g")
    >>> round(res.estimate, 2), res.att_gt.shape[0]
    (1.26, 10)
    """
    where = "callaway_santanna"
    if control not in ("never_treated", "not_yet_treated"):
        raise ValueError(
            f"{where}: control must be 'never_treated' or 'not_yet_treated', got {control!r}."
        )
    if base_period not in ("varying", "universal"):
        raise ValueError(
            f"{where}: base_period must be 'varying' or 'universal', got {base_period!r}."
        )
    check_alpha(alpha, where)
    if not (np.isfinite(anticipation) and anticipation >= 0):
        raise ValueError(
            f"{where}: anticipation must be a non-negative number, got {anticipation!r}."
        )
    if bootstrap is not None and (int(bootstrap) != bootstrap or bootstrap < 2):
        raise ValueError(f"{where}: bootstrap must be an integer of at least 2, got {bootstrap!r}.")
    if bootstrap is not None and seed is None:
        raise ValueError(f"{where}: the multiplier bootstrap needs seed= (an integer).")

    cols = [y, unit, time, cohort, treat, cluster]
    require_columns(df, cols, where=where)
    used = [c for c in dict.fromkeys(cols) if c is not None]
    data = handle_missing(df[used], used, missing=missing, where=where)
    require_numeric(data, y, where=where)
    require_numeric(data, time, where=where)

    g_unit = _cohorts(data, unit, time, cohort, treat, where=where)
    units, tlist, ymat = _balanced_wide(data, y, unit, time, where=where)
    gvec = g_unit.reindex(units).to_numpy(dtype=float)
    tlist = tlist.astype(float)
    notes: list[str] = []

    # cohorts never observed treated (net of anticipation) are never treated
    late = gvec > tlist[-1] + anticipation
    if late.any():
        notes.append(
            f"{int(late.sum())} units adopting after the last period are counted as never treated."
        )
        gvec = np.where(late, 0.0, gvec)
    early = (gvec > 0) & (gvec <= tlist[0] + anticipation)
    if early.any():
        bad = _py(units[np.flatnonzero(early)[0]])
        raise ValueError(
            f"{where}: region {bad!r} is treated from its first period"
            + (f" (allowing {anticipation:g} anticipation periods)" if anticipation else "")
            + ", so it has no pre-period to compare with; drop it or add earlier periods."
        )
    if not (gvec > 0).any():
        raise ValueError(f"{where}: no unit is ever treated in column {cohort or treat!r}.")

    glist = np.unique(gvec[gvec > 0])
    if not (gvec == 0).any():
        if control == "never_treated":
            raise ValueError(
                f"{where}: no never-treated units in column {cohort or treat!r}; use "
                "control='not_yet_treated' to compare with units adopting later."
            )
        latest = glist[-1]
        keep = tlist < latest - anticipation
        if keep.sum() < 2:
            raise ValueError(
                f"{where}: with no never-treated units, fewer than two periods precede the "
                "last cohort's adoption, so no comparison is possible."
            )
        notes.append(
            f"no never-treated units: periods from {latest:g} on were dropped and cohort "
            f"{latest:g} serves only as a not-yet-treated control."
        )
        tlist, ymat = tlist[keep], ymat[:, keep]
        glist = glist[glist < latest]
        if len(glist) == 0:
            raise ValueError(f"{where}: no treated cohort remains besides the last one.")

    n = len(units)
    require_clusters(n, where=where)
    if cluster is None:
        codes = np.arange(n)
        n_clusters = n
    else:
        labels = _per_unit_constant(data, unit, cluster, where=where).reindex(units)
        _, codes = np.unique(labels.to_numpy(), return_inverse=True)
        n_clusters = int(codes.max()) + 1
        if n_clusters < 2:
            raise ValueError(
                f"{where}: column {cluster!r} has a single cluster; at least 2 are needed for "
                "cluster-robust standard errors."
            )

    recs: list[tuple] = []
    infs: list[np.ndarray] = []
    n_t = len(tlist)
    start = 1 if base_period == "varying" else 0
    for g in glist:
        pre_idx = np.flatnonzero(tlist + anticipation < g)
        last_pre = int(pre_idx[-1])
        treated = gvec == g
        n_g = int(treated.sum())
        for ti in range(start, n_t):
            tn = tlist[ti]
            if base_period == "universal" or g - anticipation <= tn:
                bi = last_pre
            else:
                bi = ti - 1  # varying base: consecutive periods before adoption
            post = int(g <= tn)
            if bi == ti:  # universal base: the reference cell itself
                recs.append((g, tn, tn - g, tlist[bi], post, 0.0, n_g, 0))
                infs.append(np.zeros(n))
                continue
            if control == "never_treated":
                ctrl = gvec == 0
            else:
                horizon = tlist[max(ti, bi)] + anticipation
                ctrl = (gvec == 0) | ((gvec > horizon) & ~treated)
            n_c = int(ctrl.sum())
            dy = ymat[:, ti] - ymat[:, bi]
            inf = np.zeros(n)
            if n_c == 0:
                att = math.nan
                inf[:] = math.nan
            else:
                mt = dy[treated].mean()
                mc = dy[ctrl].mean()
                att = mt - mc
                inf[treated] = (dy[treated] - mt) * (n / n_g)
                inf[ctrl] = -(dy[ctrl] - mc) * (n / n_c)
            recs.append((g, tn, tn - g, tlist[bi], post, att, n_g, n_c))
            infs.append(inf)

    cells = pd.DataFrame(
        recs,
        columns=[
            "group",
            "time",
            "event_time",
            "base_time",
            "post",
            "att",
            "n_treated",
            "n_control",
        ],
    )
    inf_mat = np.column_stack(infs)
    boot = None
    if bootstrap is not None:
        from hubsim.rng import stream

        rng = stream(int(seed), "callaway_santanna", "multiplier_bootstrap")
        boot = rng.choice(np.array([-1.0, 1.0]), size=(int(bootstrap), n_clusters))
    res = CallawaySantAnnaResult(
        att_gt=cells,
        control=control,
        base_period=base_period,
        anticipation=anticipation,
        alpha=alpha,
        inference="multiplier_bootstrap" if boot is not None else "influence_function",
        n_units=n,
        n_clusters=n_clusters,
        n_obs=int(ymat.size),
        notes=tuple(notes),
        _inf=inf_mat,
        _unit_group=gvec,
        _cluster_codes=codes,
        _boot=boot,
    )
    se = res._se(inf_mat)
    lo, hi, _ = _normal_ci(cells["att"].to_numpy(), se, alpha)
    cells["se"] = se
    cells["ci_low"] = lo
    cells["ci_high"] = hi
    for c in ("group", "time", "event_time", "base_time"):
        cells[c] = _maybe_int(cells[c])
    object.__setattr__(res, "att_gt", cells[ATT_GT_COLUMNS])
    return res


def _py(value: Any) -> Any:
    """A numpy scalar as the Python scalar (for readable messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _maybe_int(s: pd.Series) -> pd.Series:
    """Show whole-number periods as integers."""
    v = s.to_numpy(dtype=float)
    if np.all(np.isfinite(v)) and np.all(v == np.round(v)):
        return pd.Series(v.astype(np.int64), index=s.index)
    return s


# ---------------------------------------------------------------------------------------
# Goodman-Bacon decomposition
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaconDecomposition:
    """The 2x2 comparisons behind a TWFE DiD coefficient.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per 2x2 comparison, columns :data:`BACON_COLUMNS`. ``treated`` and
        ``control`` are the adoption periods of the timing groups compared (``inf`` for
        never treated; the first period for units treated throughout). Weights sum to 1
        and ``(estimate * weight).sum()`` equals ``twfe``.
    twfe : float
        The two-way fixed-effects coefficient on the treatment dummy.
    """

    table: pd.DataFrame
    twfe: float
    n_obs: int
    n_units: int
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def tidy(self) -> pd.DataFrame:
        """The comparison table (a copy)."""
        return self.table.copy()

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted-average estimate of each comparison type."""
        t = self.table.assign(_we=self.table["estimate"] * self.table["weight"])
        out = t.groupby("type", sort=False).agg(weight=("weight", "sum"), _we=("_we", "sum"))
        out["estimate"] = out["_we"] / out["weight"]
        return out[["estimate", "weight"]].reset_index()

    def summary(self) -> str:
        """The TWFE coefficient and the weight each comparison type carries."""
        lines = [
            f"bacon_decomposition: TWFE = {self.twfe:.4g} ({self.n_units} units, {self.n_obs} rows)"
        ]
        for row in self.by_type().itertuples(index=False):
            lines.append(f"  {row.type:<28} weight {row.weight:6.3f}  avg 2x2 {row.estimate: .4g}")
        bad = self.table.loc[self.table["type"].isin(_FORBIDDEN), "weight"].sum()
        if bad > 0:
            lines.append(
                f"  {bad:.1%} of the weight is on comparisons that use already-treated units "
                "as controls; with effects that change over time these bias TWFE."
            )
        return "\n".join(lines)


_FORBIDDEN = ("later vs earlier treated", "treated vs already treated")


def bacon_decomposition(
    df: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treat: str,
    *,
    missing: str = "raise",
) -> BaconDecomposition:
    """Goodman-Bacon (2021) decomposition of the TWFE DiD coefficient.

    In a balanced panel with absorbing (staggered) adoption, the coefficient on the
    treatment dummy in ``y ~ treat + unit FE + time FE`` is a weighted average of every
    2x2 DiD between timing groups: treated vs never treated, earlier- vs later-treated
    (before the later group adopts), later- vs earlier-treated (after the earlier
    group adopted, so the control is already treated) and treated vs units treated
    throughout ("treated vs already treated").

    Parameters
    ----------
    df : pandas.DataFrame
        Balanced panel, one row per ``unit`` and ``time``.
    y, unit, time, treat : str
        Outcome, unit, numeric period and 0/1 absorbing treatment columns. Units treated
        in every period are allowed (they are "already treated" controls).
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    BaconDecomposition
        ``.table`` (one row per comparison), ``.twfe``, ``.by_type()``, ``.summary()``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat([np.inf, 3, 5], 4)
    >>> rows = [(i, t, int(t >= g[i]), rng.normal()) for i in range(12) for t in range(1, 7)]
    >>> d = pd.DataFrame(rows, columns=["region", "month", "hub", "y"])
    >>> bd = bacon_decomposition(d, "y", "region", "month", "hub")
    >>> bool(np.isclose((bd.table.estimate * bd.table.weight).sum(), bd.twfe))
    True
    """
    where = "bacon_decomposition"
    require_columns(df, [y, unit, time, treat], where=where)
    data = handle_missing(
        df[[y, unit, time, treat]], [y, unit, time, treat], missing=missing, where=where
    )
    require_numeric(data, y, where=where)
    require_numeric(data, time, where=where)
    require_binary(data, treat, where=where)
    units, tlist, ymat = _balanced_wide(data, y, unit, time, where=where)
    _, _, dmat = _balanced_wide(data, treat, unit, time, where=where)
    n_units, n_t = ymat.shape
    require_clusters(n_units, where=where)

    # absorbing adoption: once on, stays on
    if (np.diff(dmat, axis=1) < 0).any():
        r = int(np.argwhere(np.diff(dmat, axis=1) < 0)[0, 0])
        raise ValueError(
            f"{where}: treatment column {treat!r} must stay on once adopted, but unit "
            f"{_py(units[r])!r} switches off; the decomposition needs absorbing adoption."
        )
    n_on = dmat.sum(axis=1)
    # timing group = adoption period (inf = never treated)
    adopt = np.where(n_on > 0, tlist[np.clip(n_t - n_on.astype(int), 0, n_t - 1)], np.inf)

    # TWFE coefficient by two-way demeaning (exact in a balanced panel)
    dd = dmat - dmat.mean(axis=1, keepdims=True) - dmat.mean(axis=0, keepdims=True) + dmat.mean()
    v_d = float((dd**2).mean())
    if v_d <= 1e-14:
        raise ValueError(
            f"{where}: treatment column {treat!r} has no variation left after unit and time "
            "fixed effects (no unit changes treatment status), so TWFE is not identified."
        )
    beta = float((dd * ymat).sum() / (dd**2).sum())

    groups = np.unique(adopt)
    share = {g: float(np.mean(adopt == g)) for g in groups}
    dbar = {g: float(np.mean(tlist >= g)) for g in groups}  # share of periods treated
    ybar = {g: ymat[adopt == g].mean(axis=0) for g in groups}

    def mean_in(g, mask):
        return float(ybar[g][mask].mean())

    rows = []
    timing = [g for g in groups if 0 < dbar[g] < 1]  # units that switch within the panel
    never = [g for g in groups if dbar[g] == 0]
    always = [g for g in groups if dbar[g] == 1]
    for k in timing:
        pre, post = tlist < k, tlist >= k
        for u in never:
            nk, nu = share[k], share[u]
            s = (nk + nu) ** 2 * (nk / (nk + nu)) * (nu / (nk + nu)) * dbar[k] * (1 - dbar[k]) / v_d
            est = (mean_in(k, post) - mean_in(k, pre)) - (mean_in(u, post) - mean_in(u, pre))
            rows.append(("treated vs never treated", k, u, est, s))
        for a in always:
            # a unit treated throughout is the control of a timing group after the latter adopts
            na, nk = share[a], share[k]
            nkl = na / (na + nk)
            s = ((na + nk) * 1.0) ** 2 * nkl * (1 - nkl) * dbar[k] * (1 - dbar[k]) / v_d
            est = (mean_in(k, post) - mean_in(k, pre)) - (mean_in(a, post) - mean_in(a, pre))
            rows.append(("treated vs already treated", k, a, est, s))
    for i, k in enumerate(timing):
        for l_ in timing[i + 1 :]:  # k adopts earlier than l_
            nk, nl = share[k], share[l_]
            nkl = nk / (nk + nl)
            dk, dl = dbar[k], dbar[l_]
            pre, mid, post = tlist < k, (tlist >= k) & (tlist < l_), tlist >= l_
            s_k = (
                ((nk + nl) * (1 - dl)) ** 2
                * nkl
                * (1 - nkl)
                * ((dk - dl) / (1 - dl))
                * ((1 - dk) / (1 - dl))
                / v_d
            )
            s_l = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * ((dk - dl) / dk) / v_d
            est_k = (mean_in(k, mid) - mean_in(k, pre)) - (mean_in(l_, mid) - mean_in(l_, pre))
            est_l = (mean_in(l_, post) - mean_in(l_, mid)) - (mean_in(k, post) - mean_in(k, mid))
            rows.append(("earlier vs later treated", k, l_, est_k, s_k))
            rows.append(("later vs earlier treated", l_, k, est_l, s_l))

    table = pd.DataFrame(rows, columns=BACON_COLUMNS)
    table["treated"] = table["treated"].astype(float)
    table["control"] = table["control"].astype(float)
    return BaconDecomposition(
        table=table,
        twfe=beta,
        n_obs=int(ymat.size),
        n_units=n_units,
        extra={"variance_of_demeaned_treatment": v_d},
    )
