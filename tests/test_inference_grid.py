"""Every default holds its size on the grid of designs hubsim offers.

Fresh simulations (seeds unrelated to the ones that measured the inference table) of the
regional designs of the table's grid (G in {5, 6, 10, 20, 42}, treated in {1, 2, 3, 4, G/2,
G-4, G-2, G-1}, simultaneous and staggered adoption) with no effect: the default
(``inference="auto"``) of TWFE, of the event study (post-period average and pre-trend
test) and of Callaway-Sant'Anna (simple ATT and pre-trend test) must reject at most
``alpha + 3 MCSE`` of the time (MCSE at the nominal level) on a representative subset of
five designs, the hubs' own (5 regions, 3 with a hub) among them (the default tier: 25
checks). The whole grid is the slow tier (CI runs it): its other 61 designs x 5 rates are
305 checks, and at 3 MCSE each a perfectly sized default would fail one of them about a
third of the time, so there the band is the one-sided Bonferroni bound for 305 checks at a
family-wise 1% (z = 3.99: ``alpha + 3.99 MCSE``). Where auto finds no
level-alpha test it rejects nothing, which holds the size trivially.

A second check re-measures power where the hubs are (40 and 3 of 42 regions with a hub):
the default's power is at least every well-sized alternative's minus 3 MCSE of the
difference.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from scipy.stats import norm

from hubsim.estimators import callaway_santanna, event_study, twfe
from hubsim.estimators.inference import TABLE_METHODS, inference_table
from hubsim.power import EstimatorSpec, diagnose
from hubsim.regional import RegionalDesign
from hubsim.rng import stream

ALPHA = 0.05
SEED = 771
DESIGN = dict(
    n_periods=10,
    population_kind="help_seeker_cohort",
    icc=0.02,
    period_sd=0.05,
    ar_rho=0.5,
    ar_sd=0.05,
)
ADOPTION = {"simultaneous": (6,), "staggered": (5, 6, 7)}


def _grid():
    out = []
    for G in (5, 6, 10, 20, 42):
        for t in sorted({x for x in (1, 2, 3, 4, G // 2, G - 4, G - 2, G - 1) if 1 <= x < G}):
            for a in ADOPTION:
                out.append((G, t, a))
    return out


SUBSET = [
    (5, 3, "simultaneous"),  # the hubs' own design: three regions with a hub, two without
    (10, 2, "staggered"),
    (20, 10, "simultaneous"),
    (42, 3, "simultaneous"),
    (42, 40, "staggered"),
]

# largest designs first: under xdist's load scheduling the long ones then start early and
# no worker is left running a 42-region design alone at the end
WHOLE = sorted((d for d in _grid() if d not in SUBSET), key=lambda d: -d[0])


def _band(n: int, k: float = 3.0) -> float:
    return ALPHA + k * math.sqrt(ALPHA * (1 - ALPHA) / n)


def _sizes(G: int, treated: int, adoption: str, n: int) -> dict[str, float]:
    design = RegionalDesign(n_regions=G, n_treated=treated, schedule=ADOPTION[adoption], **DESIGN)
    key = f"grid-{G}-{treated}-{adoption}"
    tw = diagnose(design, ["twfe"], n_sims=n, seed=SEED, key=key).diagnosands.iloc[0]
    out = {"twfe": float(tw["power"])}
    rej = {"es": 0, "es_pre": 0, "cs": 0, "cs_pre": 0}
    for s in range(n):
        df = design.simulate(stream(SEED, key, s, "es-cs"))
        df["g"] = df["cohort"].where(df["cohort"] > 0)
        es = event_study(df, "y", "region", "period", cohort="g", weights="n", seed=s)
        rej["es"] += es.estimate.p_value < ALPHA
        rej["es_pre"] += es.pretrend_p < ALPHA
        cs = callaway_santanna(
            df, "y", "region", "period", cohort="cohort", control="not_yet_treated", seed=s
        )
        rej["cs"] += cs.p_value < ALPHA
        rej["cs_pre"] += cs.pretrend()["p_value"].iloc[0] < ALPHA
    out.update({k: v / n for k, v in rej.items()})
    return out


def _check(G, treated, adoption, n, k=3.0):
    sizes = _sizes(G, treated, adoption, n)
    record = os.environ.get("HUBSIM_GRID_RECORD")
    if record:  # one JSON line per design, for pooling the grid's rates in a report
        with open(record, "a", encoding="utf-8") as fh:
            row = {"G": G, "treated": treated, "adoption": adoption, "n": n, **sizes}
            fh.write(json.dumps(row) + "\n")
    bad = {m: v for m, v in sizes.items() if v > _band(n, k)}
    assert not bad, (
        f"G={G} treated={treated} {adoption}: over alpha + {k:g} MCSE ({_band(n, k):.3f}): {bad}"
    )


@pytest.mark.statistical
@pytest.mark.parametrize(("G", "treated", "adoption"), SUBSET)
def test_defaults_hold_their_size_on_a_subset_of_the_grid(G, treated, adoption):
    _check(G, treated, adoption, n=150)


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.grid
@pytest.mark.parametrize(("G", "treated", "adoption"), WHOLE)
def test_defaults_hold_their_size_on_the_whole_grid(G, treated, adoption):
    # the Bonferroni bound for the whole grid's checks at a family-wise 1% (module docstring)
    z = float(norm.isf(0.01 / (len(WHOLE) * 5)))
    _check(G, treated, adoption, n=300, k=z)


@pytest.mark.statistical
@pytest.mark.slow
@pytest.mark.parametrize("treated", [3, 40])
def test_default_power_is_at_least_every_well_sized_alternatives(treated):
    design = RegionalDesign(n_regions=42, n_treated=treated, schedule=(5, 6, 7), **DESIGN)
    t = inference_table()
    rows = t[
        (t["estimator"] == "twfe")
        & (t["adoption"] == "staggered")
        & (t["G"] == 42)
        & (t["treated"] == treated)
        & np.isclose(t["alpha"], ALPHA)
    ]
    # well sized as auto's rule defines it (choose_inference, step 2): within 2 MCSE of
    # alpha, 3 for randomization inference
    k = np.where(rows["method"] == "ri", 3.0, 2.0)
    ok = rows[rows["size"] <= ALPHA + k * np.sqrt(ALPHA * (1 - ALPHA) / rows["n_null"])]
    specs = ["twfe"]
    for m in ok["method"]:
        run, weights = TABLE_METHODS["twfe"][m]
        kw = {"inference": run, "B": 399}
        if weights:
            kw["wild_weights"] = weights
        specs.append(EstimatorSpec(f"twfe_{m}", twfe, kw))
    # an effect of 2.5 SDs of the estimate, as the table measured power
    null = diagnose(design, ["twfe_cr1"], n_sims=100, seed=SEED).diagnosands.iloc[0]
    effect = 2.5 * float(null["sd_estimate"])
    n = 300
    res = diagnose(design.replace(effect=effect), specs, n_sims=n, seed=SEED + 1)
    sims = res.simulations.pivot(index="sim", columns="estimator", values="p_value") < ALPHA
    for other in sims.columns:
        if other == "twfe":
            continue
        diff = sims["twfe"].astype(float) - sims[other].astype(float)
        mcse = diff.std(ddof=1) / math.sqrt(n)
        assert diff.mean() >= -3 * mcse - 1e-12, (other, diff.mean(), mcse)
