"""Callaway-Sant'Anna aggregates for many relabellings of the cohorts at once.

Randomization inference for :func:`~hubsim.estimators.callaway_santanna` reassigns the
adoption dates (cohort labels) across units or clusters and recomputes the studentized
aggregate for each reassignment. Cohort sizes do not change under a reassignment, so the
set of ATT(g, t) cells, their base periods and the aggregation weights stay fixed; only
which units form each cohort and each control group changes.

Every ATT(g, t) is a difference of two group means of the fixed cell differences
``Delta[i, c] = y[i, t_c] - y[i, b_c]``, so a relabelling needs only the sums of
``Delta`` over the units of each label (one matrix product for all relabellings). A
unit's influence function on an aggregate is then ``Q[i, k] - b[k]`` for its label
``k``: ``Q`` (units x labels) is fixed, and ``b`` (labels) depends on the relabelling only
through the group means; the influence of estimating the cohort shares (as R's ``did``
includes it) adds a term that depends on the unit's label and the relabelled ATTs. So a
thousand reassignments cost one matrix product and some array arithmetic. With the
observed labels the engine reproduces the estimator's own aggregates and influence
functions exactly (the tests hold it to that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class CSPermutationEngine:
    """Fixed cell layout of a Callaway-Sant'Anna fit, ready for relabelled cohorts.

    Parameters
    ----------
    cell_group : numpy.ndarray
        Cohort (first treated period) of each estimated cell.
    cell_t, cell_b : numpy.ndarray
        Column indices (into the period axis) of each cell's period and base period.
    cell_horizon : numpy.ndarray
        For not-yet-treated controls: units whose cohort exceeds this value (and is not
        the cell's own) are controls; for never-treated controls it is ``inf``.
    label_values : numpy.ndarray
        Sorted distinct cohort values, 0 (never treated) first when present.
    labels : numpy.ndarray
        Observed label index (into ``label_values``) of every unit.
    clusters : numpy.ndarray
        Cluster index of every unit; ``n_clusters`` clusters.
    """

    cell_group: np.ndarray
    cell_t: np.ndarray
    cell_b: np.ndarray
    cell_horizon: np.ndarray
    label_values: np.ndarray
    labels: np.ndarray
    clusters: np.ndarray
    n_clusters: int

    def __post_init__(self) -> None:
        L = len(self.label_values)
        self.own = np.searchsorted(self.label_values, self.cell_group)  # label of each cell
        lv = self.label_values[:, None]
        ctrl = (lv == 0) | ((lv > self.cell_horizon[None, :]) & (lv != self.cell_group[None, :]))
        self.ctrl = ctrl.astype(float)  # L x C: which labels are controls of each cell
        self.count = np.bincount(self.labels, minlength=L).astype(float)
        self.n = len(self.labels)
        self.n_own = self.count[self.own]
        self.n_ctrl = self.count @ self.ctrl
        self.pg = (self.count / self.n)[self.own]  # cohort share of each cell's group
        C = len(self.own)
        self.own_onehot = np.zeros((L, C))
        self.own_onehot[self.own, np.arange(C)] = 1.0

    def deltas(self, ymat: np.ndarray) -> np.ndarray:
        """Cell differences ``y[:, t_c] - y[:, b_c]`` (units x cells)."""
        return ymat[:, self.cell_t] - ymat[:, self.cell_b]

    def run(
        self,
        lab: np.ndarray,
        deltas: list[np.ndarray],
        aggregates: list[np.ndarray],
        *,
        chunk: int = 256,
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Aggregates and cluster sums of their influence functions for relabellings.

        Parameters
        ----------
        lab : numpy.ndarray
            P x n label indices (one relabelling per row).
        deltas : list of numpy.ndarray
            Cell differences (units x cells) of each outcome to evaluate (e.g. the outcome
            and the exposure indicator, for test inversion).
        aggregates : list of numpy.ndarray
            Cell indices of each aggregate; each is the cohort-share weighted mean of its
            cells with weights normalised within it (R ``did``'s "simple" and per-event-time
            "dynamic" aggregations).

        Returns
        -------
        list of (theta, sums)
            Per outcome: theta (P x A) and the cluster sums of the influence functions
            (P x n_clusters x A), on the scale ``n * (estimate - truth)`` of the estimator.
        """
        P, n = lab.shape
        A = len(aggregates)
        L = len(self.label_values)
        used = np.unique(np.concatenate([np.asarray(c, dtype=np.int64) for c in aggregates]))
        C = len(used)
        pos = {int(c): j for j, c in enumerate(used)}
        W = np.zeros((C, A))  # normalised cohort-share weights
        cnt = np.zeros((C, A))
        for a, cells in enumerate(aggregates):
            j = np.array([pos[int(c)] for c in cells], dtype=np.int64)
            w = self.pg[cells]
            W[j, a] = w / w.sum()
            cnt[j, a] = 1.0
        pg = self.pg[used]
        tot = pg @ cnt  # A: total share of each aggregate's cells
        own = self.own[used]
        ctrl = self.ctrl[:, used]  # L x C
        own_1h = self.own_onehot[:, used]  # L x C
        s_own = self.n / self.n_own[used]
        s_ctl = self.n / self.n_ctrl[used]
        # a[k, c, a]: the weight of Delta[i, c] in the IF of a unit with label k
        a_own = own_1h[:, :, None] * (s_own[:, None] * W)[None]
        a_ctl = ctrl[:, :, None] * (s_ctl[:, None] * W)[None]
        n_lab = own_1h @ cnt  # L x A: cells of each label in each aggregate
        n_shift = pg @ cnt  # A
        cl_1h = np.zeros((self.n_clusters, n))
        cl_1h[self.clusters, np.arange(n)] = 1.0
        out = []
        for Dfull in deltas:
            D = Dfull[:, used]  # n x C
            Q = np.einsum("ic,kca->ika", D, a_own - a_ctl)  # n x L x A, fixed
            theta = np.empty((P, A))
            sums = np.empty((P, self.n_clusters, A))
            for s in range(0, P, chunk):
                lb = lab[s : s + chunk]
                p = lb.shape[0]
                onehot = np.zeros((p, L, n))
                onehot[np.arange(p)[:, None], lb, np.arange(n)[None, :]] = 1.0
                T = (onehot.reshape(p * L, n) @ D).reshape(p, L, C)  # label sums of Delta
                m_own = T[:, own, np.arange(C)] / self.n_own[used]
                m_ctl = np.einsum("plc,lc->pc", T, ctrl) / self.n_ctrl[used]
                att = m_own - m_ctl  # p x C
                th = att @ W  # p x A
                # b[p, k, a]: the label-level part of the IF (the group means)
                b = np.einsum("pc,kca->pka", m_own, a_own) - np.einsum("pc,kca->pka", m_ctl, a_ctl)
                rows = np.arange(p)[:, None]
                psi = Q[np.arange(n)[None, :], lb] - b[rows, lb]  # p x n x A
                # influence of the estimated cohort shares (R did's wif)
                att_cnt = att[:, :, None] * cnt[None]  # p x C x A
                by_label = np.einsum("lc,pca->pla", own_1h, att_cnt)
                shift = np.einsum("pca,c->pa", att_cnt, pg)
                term1 = by_label[rows, lb] - shift[:, None, :]
                term2 = n_lab[lb] - n_shift[None, None, :]
                psi = psi + term1 / tot - term2 * (shift / tot**2)[:, None, :]
                theta[s : s + p] = th
                sums[s : s + p] = np.einsum("gi,pia->pga", cl_1h, psi)
            out.append((theta, sums))
        return out
