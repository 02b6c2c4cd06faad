"""Named, addressable random streams.

Every random decision in hubsim draws from a stream keyed by
``(seed, scenario, replication, stream name)``. Keys are hashed into the entropy of a
:class:`numpy.random.SeedSequence`, so a stream never depends on list position, on the
order in which workers finish, or on global state. Two configurations run with the same
seed and replication get identical streams (common random numbers).

Examples
--------
>>> from hubsim.rng import stream
>>> a = stream(1, "site_a", 0, "arrivals").random()
>>> b = stream(1, "site_a", 0, "arrivals").random()
>>> a == b
True
>>> stream(1, "site_a", 0, "arrivals").random() == stream(1, "site_a", 1, "arrivals").random()
False
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import numpy as np

from hubsim.checks import check_int


@lru_cache(maxsize=65536)
def _word(key: str | int) -> int:
    # a stable 64-bit integer for any key (Python's hash() is salted per process)
    digest = hashlib.blake2b(str(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def seed_sequence(seed: int, *keys: str | int) -> np.random.SeedSequence:
    """The SeedSequence addressed by ``seed`` and a path of keys.

    Parameters
    ----------
    seed : int
        The user's seed (a non-negative integer).
    *keys : str or int
        The address, e.g. ``("site_d", 3, "durations")``.

    Returns
    -------
    numpy.random.SeedSequence
    """
    check_int("seed", seed, 0)
    return np.random.SeedSequence([int(seed), *(_word(k) for k in keys)])


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """A fresh PCG64 generator for the stream addressed by ``seed`` and ``keys``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *keys)))


class Streams:
    """Lazily created named streams for one (seed, scenario, replication).

    Examples
    --------
    >>> s = Streams(seed=7, scenario="base", replication=0)
    >>> x = s["arrivals"].exponential()
    >>> s["arrivals"] is s["arrivals"]
    True
    """

    def __init__(self, seed: int, scenario: str = "default", replication: int = 0):
        self.seed = seed
        self.scenario = scenario
        self.replication = replication
        self._gens: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._gens.get(name)
        if gen is None:
            gen = stream(self.seed, self.scenario, self.replication, name)
            self._gens[name] = gen
        return gen
