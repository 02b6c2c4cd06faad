"""Demand: self-referrals as non-homogeneous Poisson processes, stable under changes.

The rate of group ``g`` on day ``d`` (per day) is

    in_scope_staff x share_of_staff_g / 1000 x referrals_per_1000_per_year_g / 365.25
    x [group open on d] x demand.multiplier x product of campaign multipliers covering (d, g)
    x product of surge multipliers covering d,

piecewise constant by calendar day.

Stable streams (common random numbers that survive demand changes). Each group's arrivals
are the superposition of *layers*, each generated in time order by the time change of its
own unit-rate Poisson process (Cinlar 1975): with ``Lambda`` the layer's cumulative
intensity and ``E_1 < E_2 < ...`` the partial sums of the layer's standard exponentials,
arrival ``k`` is at ``Lambda^{-1}(E_k)``. The exponentials are drawn in fixed blocks keyed
by (seed, scenario, replication, group, layer, block), so

* the arrivals before any time t depend only on the rates before t: extending the horizon,
  or adding or changing a surge or campaign after t, leaves them bit-identical;
* each group has its own streams: changing one group's demand leaves the others alone;
* a multiplier above one adds a layer instead of reshaping the base one: the base layer of
  a group carries the reducing multipliers (below one), and each multiplier ``m > 1`` (the
  demand multiplier, each campaign, each surge, in that order) adds a layer of rate
  ``base x (reductions) x (earlier increases) x (m - 1)`` on the days it covers. Doubling
  demand therefore keeps every original client and adds new ones: paired comparisons of a
  demand change see the same people.

An arrival's identity is (group, layer, index within the layer); the client's attributes
are drawn from streams keyed by it (:mod:`hubsim.des.streams`).

Examples
--------
>>> import numpy as np, hubsim
>>> cfg = hubsim.load_config("site_d")
>>> rates = daily_rates(cfg, 365)
>>> rates.shape
(365, 6)
>>> arr = arrivals(cfg, 365, seed=0, scenario="common", replication=0)
>>> bool(np.all(np.diff(arr.time) >= 0)), sorted(set(arr.layer_names))[:1]
(True, ['base'])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubsim.config.schema import ServiceConfig
from hubsim.rng import stream

BLOCK = 256  # exponentials per keyed block of a layer's unit-rate process


def _ordinals(config: ServiceConfig, n_days: int) -> np.ndarray:
    start = config.simulation.period.start.toordinal()
    return start + np.arange(n_days, dtype=np.int64)


def _base_rates(config: ServiceConfig, n_days: int) -> np.ndarray:
    groups = config.service.target_population.groups
    staff = config.region.in_scope_staff
    ordinal = _ordinals(config, n_days)
    rates = np.zeros((n_days, len(groups)))
    for j, g in enumerate(groups):
        base = staff * g.share_of_staff / 1000.0 * g.referrals_per_1000_per_year / 365.25
        rates[:, j] = np.where(ordinal >= g.opens.toordinal(), base, 0.0)
    return rates


def _factors(config: ServiceConfig, n_days: int) -> list[tuple[str, float, np.ndarray]]:
    """Multiplier components in canonical order: (layer key, multiplier, days x groups mask)."""
    groups = config.service.target_population.groups
    ids = [g.id for g in groups]
    ordinal = _ordinals(config, n_days)
    out = []
    m = config.simulation.demand.multiplier
    out.append(("demand", float(m), np.ones((n_days, len(groups)), dtype=bool)))
    for c in config.interventions.outreach.campaigns:
        on = (ordinal >= c.start.toordinal()) & (ordinal <= c.end.toordinal())
        cols = np.zeros(len(groups), dtype=bool)
        cols[[ids.index(x) for x in c.groups] if c.groups else list(range(len(groups)))] = True
        out.append((f"campaign:{c.name}:{c.start}", float(c.multiplier), on[:, None] & cols))
    for s in config.simulation.demand.surges:
        on = (ordinal >= s.start.toordinal()) & (ordinal <= s.end.toordinal())
        mask = np.repeat(on[:, None], len(groups), axis=1)
        out.append((f"surge:{s.name}:{s.start}", float(s.multiplier), mask))
    return out


def layer_rates(config: ServiceConfig, horizon_days: float) -> list[tuple[str, np.ndarray]]:
    """The layers' daily rates: (layer key, days x groups), the base layer first."""
    n_days = int(np.ceil(horizon_days))
    base = _base_rates(config, n_days)
    factors = _factors(config, n_days)
    reduce = np.ones_like(base)
    for _key, m, mask in factors:
        if m < 1.0:
            reduce = np.where(mask, reduce * m, reduce)
    layers = [("base", base * reduce)]
    up = np.ones_like(base)
    for key, m, mask in factors:
        if m > 1.0:
            layers.append((key, np.where(mask, base * reduce * up * (m - 1.0), 0.0)))
            up = np.where(mask, up * m, up)
    return layers


def daily_rates(config: ServiceConfig, horizon_days: int) -> np.ndarray:
    """Expected referrals per day, an array of shape (days, groups) (all layers summed).

    ``rates[d, g]`` is group ``g``'s expected referrals on day ``d`` (groups in the order of
    ``service.target_population.groups``).
    """
    layers = layer_rates(config, horizon_days)
    return np.sum([r for _k, r in layers], axis=0)


@dataclass(frozen=True)
class Arrivals:
    """Referral times in time order with each arrival's identity."""

    time: np.ndarray  # days
    group: np.ndarray  # index into the occupational groups
    layer: np.ndarray  # index into layer_names
    index: np.ndarray  # arrival number within (group, layer), from 0
    layer_names: tuple[str, ...]


def _unit_times(seed, scenario, replication, group_id, layer_key, total):
    """Partial sums of the layer's standard exponentials up to ``total``."""
    parts, acc, b = [], 0.0, 0
    while acc <= total:
        e = stream(seed, scenario, replication, "arrivals", group_id, layer_key, b)
        x = acc + np.cumsum(e.standard_exponential(BLOCK))
        parts.append(x)
        acc = float(x[-1])
        b += 1
    s = np.concatenate(parts) if parts else np.empty(0)
    return s[s < total]


def arrivals(
    config: ServiceConfig, horizon_days: float, *, seed: int, scenario: str, replication: int
) -> Arrivals:
    """Referral times on ``[0, horizon_days)`` with their identities (see the module)."""
    groups = config.service.target_population.groups
    layers = layer_rates(config, horizon_days)
    names = tuple(k for k, _r in layers)
    out_t, out_g, out_l, out_i = [], [], [], []
    H = float(horizon_days)
    for li, (key, rates) in enumerate(layers):
        for g, grp in enumerate(groups):
            r = rates[:, g]
            if not np.any(r > 0):
                continue
            cum = np.concatenate([[0.0], np.cumsum(r)])
            # the intensity up to the horizon (the last day may be partial)
            day = min(int(np.floor(H)), len(r) - 1)
            total = cum[day] + r[day] * (H - day) if H < len(r) else cum[-1]
            e = _unit_times(seed, scenario, replication, grp.id, key, total)
            if not len(e):
                continue
            d = np.searchsorted(cum, e, side="right") - 1
            d = np.minimum(d, len(r) - 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                t = d + (e - cum[d]) / r[d]
            ok = (r[d] > 0) & (t < H)
            idx = np.flatnonzero(ok)
            out_t.append(t[ok])
            out_g.append(np.full(len(idx), g, dtype=np.int64))
            out_l.append(np.full(len(idx), li, dtype=np.int64))
            out_i.append(idx.astype(np.int64))
    if not out_t:
        z = np.empty(0, dtype=np.int64)
        return Arrivals(np.empty(0), z, z, z, names)
    t = np.concatenate(out_t)
    g = np.concatenate(out_g)
    lay = np.concatenate(out_l)
    i = np.concatenate(out_i)
    order = np.lexsort((i, lay, g, t))
    return Arrivals(t[order], g[order], lay[order], i[order], names)
