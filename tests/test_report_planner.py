"""The planner report's figures: one PNG per figure the page shows, drawn the same way
every time (the app caches them with the run)."""

from __future__ import annotations

import hubsim
from hubsim.config.levers import Levers, apply_levers
from hubsim.report import planner as rp


def test_planner_figures_are_four_pngs_drawn_the_same_every_time():
    base = hubsim.load_config("site_d")
    scen = apply_levers(base, Levers(wte={"therapists": 7.4}), name="site_d_planner")
    kw = {"horizon_days": 60, "seed": 3, "replications": 2}
    runs = {"unchanged": hubsim.simulate(base, **kw), "scenario": hubsim.simulate(scen, **kw)}
    long, _ = rp.compare_results(
        runs["unchanged"], runs["scenario"], rp.planner_kpis(base), labels=tuple(runs)
    )
    args = (runs, long, base.simulation.period.start, 0.0, ["therapists", "low_intensity"])
    first = rp.planner_figures(*args)
    assert list(first) == ["waits", "waiting_lists", "utilisation", "costs"]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000 for png in first.values())
    assert rp.planner_figures(*args) == first
