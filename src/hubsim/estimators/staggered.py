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
from hubsim.stats import on_one_blas_thread, t_interval

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


# ---------------------------------------------------------------------------------------
# Callaway & Sant'Anna
# ---------------------------------------------------------------------------------------


CS_INFERENCES = ("auto", "analytic", "cr1", "cr2", "bootstrap", "ri")
PRETREND_COLUMNS = ["statistic", "df1", "df2", "p_value", "n_pre", "method"]

_METHOD_TEXT = {
    "analytic": "analytic influence-function variance, normal reference (R did's default)",
    "cr1": "cluster-robust influence-function variance with the G/(G-1) factor and a t(G-1) reference",
    "cr2": "bias-reduced (CR2-type) influence-function variance with a Satterthwaite t reference",
    "bootstrap": "multiplier bootstrap by cluster (IQR-scaled SE, normal reference, sup-t bands)",
    "ri": "randomization inference reassigning adoption dates across clusters (studentized)",
    "none": "no test at this level exists for this design",
}


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
    control, base_period, anticipation, alpha : str, str, int, float
        The settings used.
    inference : str
        The inference used: ``"analytic"``, ``"cr1"``, ``"cr2"``, ``"bootstrap"``,
        ``"ri"`` or ``"none"`` (see :func:`callaway_santanna`).
    inference_note : str
        Which inference and why (for ``"auto"``, the measured size it rests on), and how
        many control clusters the comparisons have.
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
    inference_note: str = ""
    wild_weights: str = "rademacher"
    B: int = 999
    seed: int = 0
    _inf_adj: np.ndarray | None = field(repr=False, default=None)  # CR2-adjusted
    _ri: dict | None = field(repr=False, default=None)  # relabellings and the engine
    _cache: dict = field(repr=False, default_factory=dict, compare=False)

    # -- standard errors ---------------------------------------------------------------
    def _sums(self, inf: np.ndarray) -> np.ndarray:
        inf = np.atleast_2d(inf.T).T  # units x k
        sums = np.zeros((self.n_clusters, inf.shape[1]))
        np.add.at(sums, self._cluster_codes, inf)
        return sums

    def _se_df(
        self, inf: np.ndarray, inf_adj: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors and reference degrees of freedom of IF columns."""
        G, n = self.n_clusters, self.n_units
        method = self.inference
        if method == "bootstrap" and self._boot is not None:
            draws = self._boot @ self._sums(inf)
            q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
            se = (q75 - q25) / _IQR_NORMAL / n
            df = np.full(se.shape, np.inf)
        elif method == "cr2":
            if inf_adj is None:
                raise RuntimeError(
                    "callaway_santanna: the CR2 variance needs the bias-corrected influence "
                    "functions, which are computed only by a fit with inference='cr2'."
                )
            sums = self._sums(inf_adj)
            ss = (sums**2).sum(axis=0)
            se = np.sqrt(ss) / n
            with np.errstate(invalid="ignore", divide="ignore"):
                df = np.clip(ss**2 / (sums**4).sum(axis=0), 1.0, G - 1.0)
        else:
            sums = self._sums(inf)
            se = np.sqrt((sums**2).sum(axis=0)) / n
            if method in ("cr1", "ri", "none"):
                se = se * math.sqrt(G / (G - 1))
                df = np.full(se.shape, G - 1.0)
            else:
                df = np.full(se.shape, np.inf)
        se = np.asarray(se, dtype=float)
        se[~np.isfinite(se) | (se <= 1e-300)] = np.nan
        return se, np.asarray(df, dtype=float)

    def _se(self, inf: np.ndarray) -> np.ndarray:
        """Standard errors of the columns of an influence-function matrix."""
        return self._se_df(inf)[0]

    def _interval(self, est: np.ndarray, inf: np.ndarray, inf_adj: np.ndarray | None):
        se, df = self._se_df(inf, inf_adj)
        p, lo, hi = _t_intervals(np.asarray(est, dtype=float), se, df, self.alpha)
        return se, df, lo, hi, p

    # -- aggregation weights -----------------------------------------------------------
    def _wif(self, cell_groups: np.ndarray) -> np.ndarray:
        """Influence of estimating the cohort-share weights (units x len(cells))."""
        share = self._cohort_share(cell_groups)
        total = share.sum()
        member = (self._unit_group[:, None] == cell_groups[None, :]).astype(float) - share
        return member / total - np.outer(member.sum(axis=1), share / total**2)

    def _cohort_share(self, groups: np.ndarray) -> np.ndarray:
        vals, counts = np.unique(self._unit_group, return_counts=True)
        share = counts / len(self._unit_group)
        idx = np.searchsorted(vals, groups)
        idx = np.clip(idx, 0, len(vals) - 1)
        return np.where(vals[idx] == groups, share[idx], 0.0)

    def _col(self, name: str) -> np.ndarray:
        key = ("col", name)
        if key not in self._cache:
            self._cache[key] = self.att_gt[name].to_numpy()
        return self._cache[key]

    def _combine(self, cells: np.ndarray, weights: np.ndarray, *, estimated_weights: bool):
        att = self._col("att")
        est = float(np.dot(att[cells], weights))
        inf = self._inf[:, cells] @ weights
        adj = None if self._inf_adj is None else self._inf_adj[:, cells] @ weights
        if estimated_weights:
            groups = self._col("group")[cells]
            w = self._wif(groups) @ att[cells]
            inf = inf + w
            if adj is not None:
                adj = adj + w
        return est, inf, adj

    def _window(self, min_e: float, max_e: float) -> np.ndarray:
        t = self.att_gt
        return (
            (t["post"].to_numpy() == 1)
            & (t["event_time"].to_numpy() >= min_e)
            & (t["event_time"].to_numpy() <= max_e)
        )

    def _pieces(self, kind: str, min_e: float, max_e: float):
        """Keys, estimates and influence functions (raw and CR2-adjusted) of an aggregation.

        Returns ``(keys, ests, infs, infs_adj, est, inf, inf_adj, cell_sets)``; the last
        lists the cells behind each key (and, at the end, those of the overall effect)
        when each is a cohort-share weighted mean of its cells. The pieces do not depend
        on the inference, so they are cached (and shared by copies made with another
        inference).
        """
        key = ("pieces", kind, float(min_e), float(max_e))
        if key not in self._cache:
            self._cache[key] = self._pieces_uncached(kind, min_e, max_e)
        return self._cache[key]

    def _pieces_uncached(self, kind: str, min_e: float, max_e: float):
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
        has_adj = self._inf_adj is not None
        n = self.n_units

        def stack(parts):
            keys = np.array([k for k, *_ in parts])
            ests = np.array([e for _, e, _, _ in parts])
            infs = np.column_stack([i for *_, i, _ in parts])
            adjs = np.column_stack([a for *_, a in parts]) if has_adj else None
            return keys, ests, infs, adjs

        if kind == "simple":
            cells = np.flatnonzero(post)
            est, inf, adj = self._combine(
                cells, pg[cells] / pg[cells].sum(), estimated_weights=True
            )
            empty = np.zeros((n, 0))
            return (
                np.array([]),
                np.array([]),
                empty,
                empty if has_adj else None,
                est,
                inf,
                adj,
                [cells],
            )
        if kind == "group":
            glist = np.unique(group)
            parts = []
            for g in glist:
                cells = np.flatnonzero(post & (group == g))
                if len(cells) == 0:
                    raise ValueError(
                        f"callaway_santanna: cohort {g!r} has no post-treatment ATT(g,t) in the "
                        "window, so it cannot enter the group aggregation."
                    )
                e, i, a = self._combine(
                    cells, np.full(len(cells), 1 / len(cells)), estimated_weights=False
                )
                parts.append((g, e, i, a))
            keys_a, ests_a, infs_a, adjs_a = stack(parts)
            share = self._cohort_share(keys_a)
            w = share / share.sum()
            est = float(ests_a @ w)
            member = (self._unit_group[:, None] == keys_a[None, :]).astype(float) - share
            wif = member / share.sum() - np.outer(member.sum(axis=1), share / share.sum() ** 2)
            inf = infs_a @ w + wif @ ests_a
            adj = adjs_a @ w + wif @ ests_a if has_adj else None
            return keys_a, ests_a, infs_a, adjs_a, est, inf, adj, None

        def by_key(mask, values):
            # one cohort-share weighted ATT per distinct value (event time or calendar time)
            keys = np.unique(values[mask])
            sets = [np.flatnonzero(mask & (values == k)) for k in keys]
            parts = [
                (k, *self._combine(cells, pg[cells] / pg[cells].sum(), estimated_weights=True))
                for k, cells in zip(keys, sets, strict=True)
            ]
            return (*stack(parts), sets)

        if kind == "dynamic":
            keys_a, ests_a, infs_a, adjs_a, sets = by_key(
                (event >= min_e) & (event <= max_e), event
            )
            pos = keys_a >= 0
            est = float(ests_a[pos].mean())
            inf = infs_a[:, pos].mean(axis=1)
            adj = adjs_a[:, pos].mean(axis=1) if has_adj else None
            return keys_a, ests_a, infs_a, adjs_a, est, inf, adj, sets
        if kind == "calendar":
            keys_a, ests_a, infs_a, adjs_a, _ = by_key(post, time)
            adj = adjs_a.mean(axis=1) if has_adj else None
            return (
                keys_a,
                ests_a,
                infs_a,
                adjs_a,
                float(ests_a.mean()),
                infs_a.mean(axis=1),
                adj,
                None,
            )
        raise ValueError(
            f"callaway_santanna: kind must be 'simple', 'dynamic', 'group' or 'calendar', got {kind!r}."
        )

    # -- randomization inference -----------------------------------------------------------
    def _ri_dynamic(self, kind: str, min_e: float, max_e: float):
        """Permutation statistics of the keys of ``kind`` and of its overall effect.

        Returns ``(keys, cols)`` where ``cols`` maps column index -> (ty, sy, td, sd):
        the aggregate of the outcome and of the exposure indicator for every relabelling
        (P) and the cluster sums of their influence functions (P x G); the overall effect
        is the last column. Cached.
        """
        ck = ("ri", kind, min_e, max_e)
        if ck in self._cache:
            return self._cache[ck]
        ri = self._ri
        keys, *_, sets = self._pieces(kind, min_e, max_e)
        if kind == "dynamic":
            aggs = list(sets)
            eng = ri["engine"]
            (thy, Sy), (thd, Sd) = eng.run(ri["lab"], [ri["dy"], ri["dd"]], aggs)
            pos = keys >= 0
            thy = np.column_stack([thy, thy[:, pos].mean(axis=1)])
            thd = np.column_stack([thd, thd[:, pos].mean(axis=1)])
            Sy = np.concatenate([Sy, Sy[:, :, pos].mean(axis=2, keepdims=True)], axis=2)
            Sd = np.concatenate([Sd, Sd[:, :, pos].mean(axis=2, keepdims=True)], axis=2)
        else:
            eng = ri["engine"]
            (thy, Sy), (thd, Sd) = eng.run(ri["lab"], [ri["dy"], ri["dd"]], list(sets))
        out = (keys, thy, Sy, thd, Sd)
        self._cache[ck] = out
        return out

    def _ri_test(self, col: int, thy, Sy, thd, Sd, *, invert: bool):
        """RI p-value (sharp null of no effect) and interval for one column."""
        obs = self._ri["observed"]
        ty, td = thy[:, col], thd[:, col]
        sy, sd = Sy[:, :, col], Sd[:, :, col]
        s11 = np.einsum("pg,pg->p", sy, sy)
        s12 = np.einsum("pg,pg->p", sy, sd)
        s22 = np.einsum("pg,pg->p", sd, sd)

        def tperm(b0: float) -> np.ndarray:
            den = np.maximum(s11 - 2 * b0 * s12 + b0 * b0 * s22, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                return (ty - b0 * td) / np.sqrt(den)

        def pval(b0: float) -> float:
            t = np.abs(tperm(b0))
            return float(np.mean(t >= t[obs] * (1 - 1e-10)))

        p = pval(0.0)
        if not invert or not self._ri["attainable"] or not np.any(np.abs(td) > 0):
            lo, hi = (-math.inf, math.inf) if not self._ri["attainable"] else (math.nan, math.nan)
            return p, lo, hi
        from hubsim.estimators.inference import _invert

        se0 = float(np.sqrt(s11[obs]) / self.n_units)
        lo, hi = _invert(pval, float(thy[obs, col]), se0, self.alpha)
        return p, lo, hi

    def _sup_t(self, ests: np.ndarray, infs: np.ndarray, se: np.ndarray, df: np.ndarray) -> float:
        """Simultaneous (sup-t) critical value for the columns of ``infs``."""
        k = infs.shape[1]
        if k == 0:
            return math.nan
        ok = np.isfinite(se) & (se > 0)
        if not ok.any():
            return math.nan
        from hubsim.rng import stream

        if self.inference == "bootstrap" and self._boot is not None:
            draws = self._boot @ self._sums(infs[:, ok]) / self.n_units
            tmax = np.max(np.abs(draws / se[ok]), axis=1)
            return float(np.quantile(tmax, 1 - self.alpha))
        # multivariate normal (or t with the reference df) with the estimated correlation
        sums = self._sums(infs[:, ok])
        V = sums.T @ sums
        d = np.sqrt(np.diag(V))
        R = V / np.outer(d, d)
        rng = stream(int(self.seed), "callaway_santanna", "sup_t")
        z = rng.multivariate_normal(np.zeros(int(ok.sum())), R, size=4000, method="eigh")
        dfr = float(np.nanmin(df[ok]))
        if np.isfinite(dfr):
            z = z / np.sqrt(rng.chisquare(dfr, size=(4000, 1)) / dfr)
        return float(np.quantile(np.max(np.abs(z), axis=1), 1 - self.alpha))

    # -- public API ----------------------------------------------------------------------
    @on_one_blas_thread
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
            (``event_time``, ``group`` or ``time``), :data:`AGGREGATE_COLUMNS` and the
            simultaneous (sup-t) band ``band_low``/``band_high`` over the keys (from the
            bootstrap draws under the bootstrap, the permutations under randomization
            inference, otherwise from the estimated correlation of the keys). Under
            randomization inference the dynamic keys' p-values are permutation p-values
            and post-treatment keys' intervals invert the permutation test; group and
            calendar keys use CR1.
        """
        if kind == "simple":
            return self.overall("simple", min_e=min_e, max_e=max_e)
        keys, ests, infs, adjs, *_ = self._pieces(kind, min_e, max_e)
        se, df, lo, hi, p = self._interval(ests, infs, adjs)
        crit = self._sup_t(ests, infs, se, df)
        if self.inference == "ri" and kind == "dynamic":
            k2, thy, Sy, thd, Sd = self._ri_dynamic(kind, min_e, max_e)
            for j, e in enumerate(k2):
                pj, lj, hj = self._ri_test(j, thy, Sy, thd, Sd, invert=e >= 0)
                p[j] = pj
                if e >= 0:
                    lo[j], hi[j] = lj, hj
            # sup-t from the permutations: the max over keys of the CR1 |t| under the
            # sharp null of no effect
            s = np.sqrt(np.einsum("pga,pga->pa", Sy[:, :, :-1], Sy[:, :, :-1]))
            G = self.n_clusters
            with np.errstate(divide="ignore", invalid="ignore"):
                t_cr1 = self.n_units * np.abs(thy[:, :-1]) / (s * math.sqrt(G / (G - 1)))
            crit = float(np.quantile(np.nanmax(t_cr1, axis=1), 1 - self.alpha))
        if self.inference == "none":
            # no test at this level: the simultaneous band is no more informative than the
            # pointwise intervals it contains
            p[:] = 1.0
            lo[:], hi[:] = -math.inf, math.inf
            crit = math.inf
        key = {"dynamic": "event_time", "group": "group", "calendar": "time"}[kind]
        band_lo = ests - crit * se
        band_hi = ests + crit * se
        return pd.DataFrame(
            {
                key: keys,
                "att": ests,
                "se": se,
                "ci_low": lo,
                "ci_high": hi,
                "p_value": p,
                "band_low": band_lo,
                "band_high": band_hi,
            },
            columns=[key, *AGGREGATE_COLUMNS, "band_low", "band_high"],
        )

    @on_one_blas_thread
    def overall(
        self, kind: str = "simple", *, min_e: float = -math.inf, max_e: float = math.inf
    ) -> Estimate:
        """The overall effect of an aggregation as an :class:`Estimate`.

        ``"simple"`` weights post-treatment cells by cohort size; ``"dynamic"`` averages
        the event-time effects with ``e >= 0``; ``"group"`` weights cohort effects by
        cohort size; ``"calendar"`` averages the per-period effects. The inference is the
        fit's (:attr:`inference`); under randomization inference "group" and "calendar"
        fall back to CR1 (the permutation engine covers "simple" and "dynamic").
        """
        _, _, _, _, est, inf, adj, _ = self._pieces(kind, min_e, max_e)
        se_a, df_a, lo_a, hi_a, p_a = self._interval(
            np.array([est]), inf[:, None], None if adj is None else adj[:, None]
        )
        se, df, lo, hi, p = (
            float(se_a[0]),
            float(df_a[0]),
            float(lo_a[0]),
            float(hi_a[0]),
            float(p_a[0]),
        )
        extra: dict[str, Any] = {"kind": kind, "notes": self.notes, "se_cr1": se}
        method = self.inference
        note = self.inference_note
        if method == "ri" and kind in ("simple", "dynamic"):
            _, thy, Sy, thd, Sd = self._ri_dynamic(kind, min_e, max_e)
            col = thy.shape[1] - 1
            p, lo, hi = self._ri_test(col, thy, Sy, thd, Sd, invert=True)
            extra.update(
                ri_n_perm=self._ri["n_perm"], ri_exact=self._ri["exact"], ri_min_p=self._ri["min_p"]
            )
            se, df = math.nan, math.nan
        elif method == "ri":
            note += f" The {kind} aggregation uses CR1 (randomization inference covers simple and dynamic)."
        if method == "none":
            p, lo, hi, se, df = 1.0, -math.inf, math.inf, math.nan, math.nan
            extra["no_level_alpha_test"] = True
        return Estimate(
            estimate=est,
            se=se,
            ci_low=lo,
            ci_high=hi,
            p_value=p,
            n_obs=self.n_obs,
            n_clusters=self.n_clusters,
            method="callaway_santanna",
            inference=method,
            inference_note=note,
            term="att" if kind == "simple" else f"att_{kind}",
            df=df,
            alpha=self.alpha,
            extra=extra,
        )

    @on_one_blas_thread
    def att_gt_band(self) -> tuple[pd.DataFrame, float]:
        """The ATT(g,t) with a simultaneous (sup-t) band over all estimated cells.

        Returns the cells (:data:`ATT_GT_COLUMNS` plus ``band_low``/``band_high``) and the
        band's critical value (from the bootstrap draws under the bootstrap, as R ``did``'s
        ``cband``; otherwise from the estimated correlation of the cells).
        """
        t = self.att_gt.copy()
        se = t["se"].to_numpy(dtype=float)
        ok = np.isfinite(se)
        est = t["att"].to_numpy(dtype=float)
        _, df = self._se_df(
            self._inf[:, ok], None if self._inf_adj is None else self._inf_adj[:, ok]
        )
        crit = self._sup_t(est[ok], self._inf[:, ok], se[ok], df)
        if self.inference == "none":
            crit = math.inf  # no test at this level, so no band either
        t["band_low"] = est - crit * se
        t["band_high"] = est + crit * se
        return t, crit

    @on_one_blas_thread
    def pretrend(self, *, min_e: float = -math.inf) -> pd.DataFrame:
        """Joint test that the pre-treatment event-time effects (``e < 0``) are all zero.

        The dynamic aggregation's pre-treatment keys (in ``min_e..-1``) are tested jointly
        with the fit's inference: a chi-square Wald test (analytic), a Hotelling-type
        ``F(q, G - q)`` from the CR1 or CR2 covariance, the multiplier-bootstrap
        distribution of the Wald statistic (bootstrap), or its distribution over the
        reassignments of adoption dates (randomization inference).

        Returns
        -------
        pandas.DataFrame
            One row, :data:`PRETREND_COLUMNS` (NaN when no pre-treatment key is estimable).
        """
        keys, ests, infs, adjs, *_ = self._pieces("dynamic", min_e, math.inf)
        pre = keys < 0
        # under a universal base the reference key is 0 by construction
        ok = pre & (np.abs(ests) > 0)
        q = int(ok.sum())
        G, n = self.n_clusters, self.n_units
        method = self.inference
        if q == 0 or G <= q:
            return pd.DataFrame(
                [[math.nan, q, math.nan, math.nan, q, method]], columns=PRETREND_COLUMNS
            )
        b = ests[ok]
        use = adjs[:, ok] if (method == "cr2" and adjs is not None) else infs[:, ok]
        S = self._sums(use)
        V = S.T @ S / n**2
        if method in ("cr1", "ri", "none"):
            V = V * G / (G - 1)
        W = float(b @ np.linalg.pinv(V) @ b)
        df2 = math.nan
        if method in ("cr1", "cr2"):
            F = W * (G - q) / (q * (G - 1))
            p = float(stats.f.sf(F, q, G - q))
            stat, df2 = F, float(G - q)
        elif method == "bootstrap" and self._boot is not None:
            d = self._boot @ S / n
            Wb = np.einsum("bi,ij,bj->b", d, np.linalg.pinv(V), d)
            p, stat = float(np.mean(Wb >= W)), W
        elif method == "ri":
            _, thy, Sy, _, _ = self._ri_dynamic("dynamic", min_e, math.inf)
            sel = np.flatnonzero(ok)
            th = thy[:, sel]
            Sp = Sy[:, :, sel]
            Vp = np.einsum("pgi,pgj->pij", Sp, Sp) / n**2
            Wp = np.einsum("pi,pij,pj->p", th, np.linalg.pinv(Vp), th)
            obs = self._ri["observed"]
            p, stat = float(np.mean(Wp >= Wp[obs] * (1 - 1e-10))), float(Wp[obs])
        else:
            p, stat = float(stats.chi2.sf(W, q)), W
        if method == "none":
            p = 1.0
        return pd.DataFrame([[stat, float(q), df2, p, q, method]], columns=PRETREND_COLUMNS)

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
            with np.errstate(invalid="ignore", divide="ignore"):
                stat = est / se
            pv = 2 * stats.norm.sf(np.abs(stat))
        else:
            agg = self.aggregate(kind)
            key = agg.columns[0]
            terms = [f"{key}={k}" for k in agg[key]]
            est, se, lo, hi = (agg[c].to_numpy() for c in ("att", "se", "ci_low", "ci_high"))
            pv = agg["p_value"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                stat = est / se
        frame = pd.DataFrame(
            {
                "term": terms,
                "estimate": est,
                "std_error": se,
                "statistic": stat,
                "p_value": pv,
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
        """Overall ATT, the event-time profile, the pre-trend test and the settings, as text."""
        lines = [self.to_estimate().summary()]
        dyn = self.aggregate("dynamic")
        lines.append("  event-time effects (e = t - g; band: simultaneous):")
        for row in dyn.itertuples(index=False):
            lines.append(
                f"    e={row.event_time:>4g}: {row.att: .4g} (SE {row.se:.3g}; "
                f"{row.ci_low:.4g} to {row.ci_high:.4g}; band {row.band_low:.4g} to "
                f"{row.band_high:.4g})"
            )
        pt = self.pretrend().iloc[0]
        if np.isfinite(pt["p_value"]):
            lines.append(
                f"  pre-trend test ({pt['method']}): {int(pt['n_pre'])} pre-treatment event "
                f"times, p = {pt['p_value']:.3g}"
            )
        lines.append(
            f"  {len(self.att_gt)} ATT(g,t) cells; control: {self.control}; base period: "
            f"{self.base_period}; anticipation: {self.anticipation:g}; {self.n_units} units."
        )
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


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


def _t_intervals(est: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float):
    """Vectorised :func:`hubsim.stats.t_interval` with one df per element."""
    df = np.broadcast_to(np.asarray(df, dtype=float), np.shape(est))
    if len(df) and np.all(df == df[0]):
        return t_interval(est, se, float(df[0]), alpha)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = est / se
    inf = np.isinf(df)
    dff = np.where(inf, 1.0, df)
    p = np.where(inf, 2 * stats.norm.sf(np.abs(t)), 2 * stats.t.sf(np.abs(t), dff))
    q = np.where(inf, stats.norm.ppf(1 - alpha / 2), stats.t.ppf(1 - alpha / 2, dff))
    return p, est - q * se, est + q * se


def _cr2_block(e: np.ndarray, cl: np.ndarray, n_group: int) -> np.ndarray:
    """Residuals of a group mean adjusted by ``(I - H_gg)^(-1/2)`` within each cluster.

    In the group-mean comparison each cluster's units of the group form a block of the
    hat matrix equal to ``11'/n_group``; its ``(I - H)^(-1/2)`` (pseudo-inverse where the
    whole group lies in one cluster) leaves deviations from the block mean unchanged and
    scales the block mean by ``1/sqrt(1 - m/n_group)``.
    """
    out = e.astype(float).copy()
    if len(e) == 0:
        return out
    _, inv = np.unique(cl, return_inverse=True)
    m = np.bincount(inv).astype(float)
    mean = np.bincount(inv, e) / m
    lam = 1.0 - m / n_group
    f = np.where(lam > 1e-12, 1.0 / np.sqrt(np.clip(lam, 1e-300, None)), 0.0)
    return out + ((f - 1.0) * mean)[inv]


def _cluster_patterns(codes: np.ndarray, labels: np.ndarray, where: str):
    """Each cluster's labels in unit order, as pattern codes (for reassigning clusters)."""
    G = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=G)
    if sizes.min() != sizes.max():
        raise ValueError(
            f"{where}: randomization inference reassigns whole clusters, so every cluster "
            f"must hold the same number of units (found {sizes.min()} to {sizes.max()})."
        )
    order = np.lexsort((np.arange(len(codes)), codes))
    mat = labels[order].reshape(G, sizes[0])  # cluster x position
    pos = np.empty(len(codes), dtype=np.int64)
    pos[order] = np.tile(np.arange(sizes[0]), G)
    pats, pcode = np.unique(mat, axis=0, return_inverse=True)
    return pats, pcode.ravel(), pos


@on_one_blas_thread
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
    inference: str = "auto",
    B: int = 999,
    wild_weights: str | None = None,
    seed: int = 0,
    bootstrap: int | None = None,
) -> CallawaySantAnnaResult:
    """Callaway & Sant'Anna (2021) group-time ATTs and their aggregations.

    Each ATT(g, t) is the unconditional 2x2 difference in differences between cohort
    ``g`` (units first treated in period ``g``) and the control units, from the base
    period to period ``t``. Point estimates and the analytic standard errors (influence
    function summed by unit or by ``cluster``) are exactly those of R's ``did`` /
    Python's ``csdid`` (``inference="analytic"``).

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
        1 - confidence level of the intervals.
    missing : {"raise", "drop"}
        What to do with rows that have missing values (dropping rows usually makes the
        panel unbalanced, which then raises).
    cluster : str, optional
        Column, constant within unit, to cluster on above the unit (e.g. the region of
        region x staff-group units). Default: cluster by unit.
    inference : {"auto", "analytic", "cr1", "cr2", "bootstrap", "ri"}
        ``"analytic"``: R ``did``'s influence-function variance and a normal reference.
        ``"cr1"``: the same variance times ``G/(G-1)`` with a t(G-1) reference.
        ``"cr2"``: group-mean residuals bias-corrected within clusters (the CR2 / HC2
        adjustment of the 2x2 comparisons) with a Satterthwaite t reference.
        ``"bootstrap"``: R ``did``'s multiplier bootstrap by cluster (``B`` draws,
        Rademacher or Webb weights, IQR-scaled SE, sup-t bands).
        ``"ri"``: randomization inference reassigning the adoption dates across
        clusters (all distinct reassignments when there are at most ``B``, else ``B``
        random ones), on the CR1-studentized aggregate; intervals invert the test of a
        constant effect. ``"auto"`` (default) picks by the measured size and power table
        (:func:`hubsim.estimators.inference.choose_inference`) from the numbers of
        clusters with and without treated units, and says why in the note.
    B : int
        Bootstrap draws or permutations.
    wild_weights : {"rademacher", "webb"}, optional
        Multiplier weights for ``"bootstrap"`` (default Rademacher, or auto's choice).
    seed : int
        Seed of the bootstrap draws and permutations.
    bootstrap : int, optional
        Shorthand for ``inference="bootstrap", B=bootstrap``.

    Returns
    -------
    CallawaySantAnnaResult
        ``.att_gt``, ``.aggregate(kind)``, ``.overall(kind)``, ``.pretrend()``,
        ``.to_estimate()``, ``.tidy()``, ``.summary()``.

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
    >>> res = callaway_santanna(d, "y", "region", "month", cohort="g", inference="analytic")
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
    if bootstrap is not None:
        if int(bootstrap) != bootstrap or bootstrap < 2:
            raise ValueError(
                f"{where}: bootstrap must be an integer of at least 2, got {bootstrap!r}."
            )
        if inference not in ("auto", "bootstrap"):
            raise ValueError(
                f"{where}: bootstrap= asks for the multiplier bootstrap, but inference="
                f"{inference!r}; give one of them."
            )
        inference, B = "bootstrap", int(bootstrap)
    if inference not in CS_INFERENCES:
        raise ValueError(
            f"{where}: inference must be one of {', '.join(CS_INFERENCES)}, got {inference!r}."
        )
    if not (isinstance(B, int | np.integer) and B >= 2):
        raise ValueError(f"{where}: B must be an integer of at least 2, got {B!r}.")
    if wild_weights not in (None, "rademacher", "webb"):
        raise ValueError(
            f"{where}: wild_weights must be 'rademacher' or 'webb', got {wild_weights!r}."
        )
    if not (isinstance(seed, int | np.integer) and seed >= 0):
        raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}.")

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

    # -- which inference, and the control clusters behind the comparisons --------------
    cl_any_treated = np.bincount(codes, (gvec > 0).astype(float), minlength=n_clusters) > 0
    G1 = int(cl_any_treated.sum())
    G0 = n_clusters - G1
    staggered = len(np.unique(gvec[gvec > 0])) > 1
    ri_info = None
    chosen, weights = inference, wild_weights or "rademacher"
    # randomization inference reassigns clusters' adoption patterns
    pats = pcode = pos = None
    n_assign = None
    try:
        lab_vals = np.unique(np.concatenate([[0.0], gvec]))
        lab_obs = np.searchsorted(lab_vals, gvec)
        pats, pcode, pos = _cluster_patterns(codes, lab_obs, where)
        from hubsim.estimators.inference import n_assignments

        n_assign = n_assignments(pcode)
    except ValueError:
        if inference == "ri":
            raise
    if inference == "auto":
        from hubsim.estimators.inference import choose_inference

        avail = ["analytic", "cr1", "cr2", "bootstrap_rademacher", "bootstrap_webb"]
        if pats is not None:
            avail.append("ri")
        ch = choose_inference(
            n_clusters,
            max(G1, 1),
            n_clusters - max(G1, 1),
            estimator="callaway_santanna",
            staggered=staggered,
            n_assignments=n_assign,
            alpha=alpha,
            B=B,
            available=avail,
        )
        chosen = ch.method
        weights = wild_weights or ch.weights
        note = ch.note.rstrip(".")
    else:
        note = f"{inference} as requested"
    need_adj = chosen == "cr2"
    recs: list[tuple] = []
    infs: list[np.ndarray] = []
    adjs: list[np.ndarray] = []
    cell_t: list[int] = []
    cell_b: list[int] = []
    cell_h: list[float] = []
    ctrl_clusters: list[int] = []
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
                adjs.append(np.zeros(n))
                cell_t.append(ti)
                cell_b.append(bi)
                cell_h.append(math.inf)
                continue
            if control == "never_treated":
                ctrl = gvec == 0
                horizon = math.inf
            else:
                horizon = tlist[max(ti, bi)] + anticipation
                ctrl = (gvec == 0) | ((gvec > horizon) & ~treated)
            n_c = int(ctrl.sum())
            dy = ymat[:, ti] - ymat[:, bi]
            inf = np.zeros(n)
            adj = np.zeros(n)
            if n_c == 0:
                att = math.nan
                inf[:] = math.nan
                adj[:] = math.nan
            else:
                mt = dy[treated].mean()
                mc = dy[ctrl].mean()
                att = mt - mc
                inf[treated] = (dy[treated] - mt) * (n / n_g)
                inf[ctrl] = -(dy[ctrl] - mc) * (n / n_c)
                if need_adj:
                    adj[treated] = _cr2_block(dy[treated] - mt, codes[treated], n_g) * (n / n_g)
                    adj[ctrl] = -_cr2_block(dy[ctrl] - mc, codes[ctrl], n_c) * (n / n_c)
                if post:
                    ctrl_clusters.append(len(np.unique(codes[ctrl])))
            recs.append((g, tn, tn - g, tlist[bi], post, att, n_g, n_c))
            infs.append(inf)
            adjs.append(adj)
            cell_t.append(ti)
            cell_b.append(bi)
            cell_h.append(horizon)

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
    adj_mat = np.column_stack(adjs) if need_adj else None

    ctrl_note = f"{G0} of {n_clusters} clusters have no treated unit (never-treated controls)" + (
        f"; the smallest control group of a post-treatment cell spans {min(ctrl_clusters)} clusters"
        if ctrl_clusters
        else ""
    )
    few_ctrl = min(ctrl_clusters) if ctrl_clusters else G0
    if few_ctrl <= 4:
        ctrl_note += (
            f". With {few_ctrl} control cluster{'s' if few_ctrl != 1 else ''} behind some "
            "comparisons, normal-reference and cluster-robust intervals can be far too "
            "narrow; the inference accounts for this only if it was chosen by the measured "
            "table (inference='auto') or is randomization inference"
        )
    note = f"{note}; {_METHOD_TEXT[chosen]}; control group: {control.replace('_', '-')} units; {ctrl_note}."
    boot = None
    if chosen == "bootstrap":
        from hubsim.rng import stream

        rng = stream(int(seed), "callaway_santanna", "multiplier_bootstrap")
        if weights == "webb":
            from hubsim.estimators.inference import wild_weights as _ww

            boot = _ww(n_clusters, int(B), "webb", rng)[0].T
        else:
            boot = rng.choice(np.array([-1.0, 1.0]), size=(int(B), n_clusters))
        note = note.rstrip(".") + f" ({B} draws, {weights} weights)."
    if chosen == "ri":
        from hubsim.estimators._cs_engine import CSPermutationEngine
        from hubsim.estimators.inference import _multiset_permutations, ri_min_p
        from hubsim.rng import stream

        if n_assign <= B:
            perms = _multiset_permutations(pcode)
            exact = True
            observed = int(np.flatnonzero((perms == pcode[None, :]).all(axis=1))[0])
        else:
            rng = stream(int(seed), "callaway_santanna", "randomization")
            draws = np.argsort(rng.random((int(B), n_clusters)), axis=1)
            perms = np.vstack([pcode[None, :], pcode[draws]])
            exact = False
            observed = 0
        lab = pats[perms[:, codes], pos[None, :]]  # relabellings x units
        # a universal base's reference cells enter with t = b: Delta = 0, so ATT 0
        eng = CSPermutationEngine(
            cell_group=cells["group"].to_numpy(dtype=float),
            cell_t=np.array(cell_t),
            cell_b=np.array(cell_b),
            cell_horizon=np.array(cell_h),
            label_values=lab_vals,
            labels=lab_obs,
            clusters=codes,
            n_clusters=n_clusters,
        )
        expo = ((gvec[:, None] > 0) & (tlist[None, :] >= gvec[:, None])).astype(float)
        min_p = ri_min_p(int(n_assign), int(B))
        ri_info = {
            "engine": eng,
            "lab": lab,
            "observed": observed,
            "exact": exact,
            "n_perm": len(perms),
            "min_p": min_p,
            "attainable": min_p < alpha,
            "dy": eng.deltas(ymat),
            "dd": eng.deltas(expo),
        }
        how = (
            f"{len(perms)} distinct reassignments, exact" if exact else f"{B} random reassignments"
        )
        note = note.rstrip(".") + f" ({how} of {n_clusters} clusters' adoption dates)."
        if not ri_info["attainable"]:
            note += (
                f" With {n_assign} distinct reassignments the smallest attainable p-value is "
                f"{min_p:.3g}, so no test at level {alpha:g} exists: nothing is rejected and "
                "the interval is unbounded."
            )
    res = CallawaySantAnnaResult(
        att_gt=cells,
        control=control,
        base_period=base_period,
        anticipation=anticipation,
        alpha=alpha,
        inference=chosen,
        n_units=n,
        n_clusters=n_clusters,
        n_obs=int(ymat.size),
        notes=tuple(notes),
        _inf=inf_mat,
        _unit_group=gvec,
        _cluster_codes=codes,
        _boot=boot,
        inference_note=note,
        wild_weights=weights,
        B=int(B),
        seed=int(seed),
        _inf_adj=adj_mat,
        _ri=ri_info,
    )
    se, df_ = res._se_df(inf_mat, adj_mat)
    _, lo, hi = _t_intervals(cells["att"].to_numpy(dtype=float), se, df_, alpha)
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


@on_one_blas_thread
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
