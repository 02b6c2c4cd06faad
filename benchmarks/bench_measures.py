"""Speed of hubsim.measures against a named baseline measured in the same run.

Baseline "normals": drawing the item noise alone, ``rng.standard_normal((n, k))`` with k the
total number of items of the instruments scored; it is the floor any item-level simulation
pays. Baseline "numpy compare": the bare numpy expression of IAPT caseness on the same arrays
(no input validation). Prints seconds (best of 7) and the ratios.

Run: ``/work/main/.venv/bin/python benchmarks/bench_measures.py [n]``
"""

from __future__ import annotations

import sys
import timeit

import numpy as np

from hubsim.measures import (
    INSTRUMENT_NAMES,
    REFERENCE_LATENT_CORRELATION,
    get_instrument,
    iapt_caseness,
    recovery,
    reliable_improvement,
    simulate_scores,
)


def best(fun, repeat: int = 7) -> float:
    return min(timeit.repeat(fun, number=1, repeat=repeat))


def main(n: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((n, 5)) @ np.linalg.cholesky(REFERENCE_LATENT_CORRELATION).T
    sets = {"phq9+gad7": ["phq9", "gad7"], "all six": list(INSTRUMENT_NAMES)}
    simulate_scores(latent[:10], list(INSTRUMENT_NAMES), rng)  # calibration solve, once
    print(f"n = {n} clients")
    for label, names in sets.items():
        k = sum(get_instrument(x).n_items for x in names)
        t_base = best(lambda k=k: rng.standard_normal((n, k)))
        t_sim = best(lambda names=names: simulate_scores(latent, names, rng))
        print(
            f"simulate_scores[{label}, {k} items]: {t_sim:.4f} s; baseline normals {t_base:.4f} s;"
            f" ratio {t_sim / t_base:.2f}"
        )
    pre = simulate_scores(latent, ["phq9", "gad7"], rng)
    post = simulate_scores(latent - 1.0, ["phq9", "gad7"], rng)
    p0, g0 = pre["phq9"].to_numpy(), pre["gad7"].to_numpy()
    p1, g1 = post["phq9"].to_numpy(), post["gad7"].to_numpy()
    t_base = best(lambda: (p0 >= 10) | (g0 >= 8))
    for name, fun in (
        ("iapt_caseness", lambda: iapt_caseness(p0, g0)),
        ("reliable_improvement", lambda: reliable_improvement(p0, p1, g0, g1)),
        ("recovery", lambda: recovery(p0, p1, g0, g1)),
    ):
        t = best(fun)
        print(f"{name}: {t:.5f} s; baseline numpy compare {t_base:.5f} s; ratio {t / t_base:.1f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
