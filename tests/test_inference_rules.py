"""The measured inference table and the rule that reads it (inference="auto")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import inference as inf
from hubsim.estimators import twfe
from hubsim.estimators.inference import (
    TABLE_COLUMNS,
    TABLE_METHODS,
    choose_inference,
    inference_table,
    n_assignments,
    ri_min_p,
)

ALPHA = 0.05


def _band(n: float, a: float = ALPHA, k: float = 3.0) -> float:
    return k * math.sqrt(a * (1 - a) / n)


def _held_band(method: str, n: float) -> float:
    """The rule's size band: 2 MCSE, or 3 for randomization inference (exact)."""
    return _band(n, k=3.0 if method == "ri" else 2.0)


def test_table_covers_the_grid_with_its_seed_counts_and_mcse():
    t = inference_table()
    assert list(t.columns) == TABLE_COLUMNS
    assert set(t["G"]) == {5, 6, 10, 20, 42}  # 5: the hubs' own 3 treated and 2 untreated
    for G, g in t.groupby("G"):
        want = {x for x in (1, 2, 3, 4, G // 2, G - 4, G - 2, G - 1) if 1 <= x <= G - 1}
        assert set(g["treated"]) == want, G
        assert (g["treated"] + g["untreated"] == G).all()
    assert set(t["adoption"]) == {"simultaneous", "staggered"}
    assert set(t["alpha"]) == {0.01, 0.05, 0.10}
    for est, methods in TABLE_METHODS.items():
        got = set(t.loc[t["estimator"] == est, "method"])
        assert got == set(methods), est
    assert set(t.loc[t["estimator"] != "twfe", "target"]) == {"att", "pretrend"}
    assert t["seed"].nunique() == 1 and (t["n_null"] >= 100).all()
    # binomial MCSEs, at least the nominal level's
    mc = np.sqrt(
        np.maximum(t["size"] * (1 - t["size"]), t["alpha"] * (1 - t["alpha"])) / t["n_null"]
    )
    np.testing.assert_allclose(t["size_mcse"], mc, rtol=1e-4)


def _rows(t, est, adoption, G, treated, a=ALPHA):
    return t[
        (t["estimator"] == est)
        & (t["adoption"] == adoption)
        & (t["G"] == G)
        & (t["treated"] == treated)
        & np.isclose(t["alpha"], a)
    ]


@pytest.mark.parametrize("estimator", ["twfe", "event_study", "callaway_santanna"])
def test_auto_is_well_sized_and_most_powerful_at_every_measured_design(estimator):
    t = inference_table()
    for (adoption, G, treated), _ in t[t["estimator"] == estimator].groupby(
        ["adoption", "G", "treated"]
    ):
        rows = _rows(t, estimator, adoption, G, treated)
        K = int(rows["n_assignments"].iloc[0])
        ch = choose_inference(
            G,
            treated,
            G - treated,
            estimator=estimator,
            staggered=adoption == "staggered",
            n_assignments=K,
        )
        where = f"{estimator} {adoption} G={G} treated={treated}"
        assert f"G={G}, {treated} treated" in ch.design, where
        ok = {}
        for m, mr in rows.groupby("method"):
            held = all(r["size"] <= ALPHA + _held_band(m, r["n_null"]) for _, r in mr.iterrows())
            if m == "ri" and ri_min_p(K, 999) >= ALPHA:
                held = False
            att = mr[mr["target"] == "att"].iloc[0]
            usable = np.isfinite(att["power"]) and att["power"] > ALPHA + 3 * att["power_mcse"]
            if held and usable:
                ok[m] = (att["power"], att["power_mcse"])
        if ch.method == "none":
            assert not ok, where
            assert "no test at level 0.05" in ch.note
            continue
        # the chosen method held its size for every target...
        assert ch.table_method in ok, where
        chosen = rows[rows["method"] == ch.table_method]
        for _, r in chosen.iterrows():
            assert r["size"] <= ALPHA + _held_band(ch.table_method, r["n_null"]), where
        # ... and its power is at least every other well-sized method's minus 3 MCSE
        p, _ = ok[ch.table_method]
        for m, (pm, pm_mcse) in ok.items():
            assert p >= pm - 3 * pm_mcse, (where, m)
        # the note states the measured size
        assert f"{ch.size:.3f}" in ch.note and "null rejection rate" in ch.note


def test_floor_design_is_no_easier_than_the_design_in_hand():
    ch = choose_inference(30, 7, 23)
    assert "G=20, 4 treated, 16 untreated" in ch.design
    ch = choose_inference(30, 25, 5)
    assert "G=20, 16 treated, 4 untreated" in ch.design
    ch = choose_inference(100, 50, 50)
    assert "G=42, 21 treated" in ch.design
    ch = choose_inference(5, 3, 2, staggered=False)  # the hubs' own design is measured
    assert ch.design.startswith("G=5, 3 treated, 2 untreated") and ch.method != "none"
    # below the grid no measured design is as hard: a smaller design's sizes are not
    # borrowed from a larger, easier one; only randomization inference (exact) can be used
    ch = choose_inference(4, 2, 2, staggered=False, n_assignments=6)
    assert ch.method == "none" and "no measured design is as hard" in ch.note
    ch = choose_inference(4, 3, 1, staggered=True, n_assignments=24)
    assert ch.method == "ri" and "no measured design is as hard" in ch.note


def test_no_level_alpha_test_is_reported_not_faked(monkeypatch):
    t = inference_table().copy()
    t["size"] = 0.5  # every method over-rejects
    monkeypatch.setitem(inf._TABLE, "frame", t)
    inf._choose_cached.cache_clear()
    try:
        ch = choose_inference(42, 3, 39)
        assert ch.method == "none" and "no test at level 0.05" in ch.note
        d = pd.DataFrame(
            [(r, p) for r in range(20) for p in range(6)], columns=["region", "period"]
        )
        d["treat"] = ((d["region"] < 10) & (d["period"] >= 3)).astype(int)
        d["y"] = np.random.default_rng(0).normal(size=len(d))
        e = twfe(d, "y", "region", "period", "treat")
        assert e.inference == "none" and e.p_value == 1.0 and not e.rejects()
        assert (e.ci_low, e.ci_high) == (-math.inf, math.inf)
        assert e.extra["no_level_alpha_test"]
    finally:
        inf._choose_cached.cache_clear()


def test_randomization_inference_with_too_few_assignments_rejects_nothing():
    # one treated region of 20 with one adoption date: 20 assignments, p >= 1/20 = alpha
    d = pd.DataFrame([(r, p) for r in range(20) for p in range(6)], columns=["region", "period"])
    d["treat"] = ((d["region"] == 0) & (d["period"] >= 3)).astype(int)
    d["y"] = np.random.default_rng(1).normal(size=len(d)) + 5 * d["treat"]
    e = twfe(d, "y", "region", "period", "treat", inference="ri")
    assert e.extra["ri_exact"] and e.extra["ri_n_perm"] == 20
    assert e.p_value == pytest.approx(0.05) and not e.rejects()
    assert not e.extra["ri_attainable"] and e.extra["no_level_alpha_test"]
    assert (e.ci_low, e.ci_high) == (-math.inf, math.inf)
    assert "no test at level 0.05 exists" in e.inference_note
    # ... and auto never picks it there
    ch = choose_inference(20, 1, 19, n_assignments=20)
    assert ch.method != "ri"


def test_assignments_count_staggered_paths():
    # two treated regions adopting at different dates among 6: 6!/(1! 1! 4!) = 30
    assert n_assignments(np.array([0, 1, 2, 2, 2, 2])) == 30
    assert n_assignments(np.array([0, 0, 1, 1, 1, 1])) == 15
    assert ri_min_p(30, 999) == pytest.approx(1 / 30) and ri_min_p(10**6, 999) == 0.001
