"""Client attributes from streams keyed by the client's identity, drawn in fixed blocks.

A client is identified by (group, layer, index) (:mod:`hubsim.des.demand`; the initial
waiting list is group ``"initial"``). Every attribute (latent problems, their
general-population level, decision uniforms, activity lengths, session counts, screening
answers, per-appointment and per-course draws, external-service draws, outcome-score noise)
comes from a stream keyed by (seed, scenario, replication, group, layer, block, attribute),
where block ``index // BLOCK`` holds ``BLOCK`` clients and is always drawn whole. So a
client's draws do not depend on how many other clients there are, on the horizon, or on
anything the configuration says about staffing: configurations share clients (common
random numbers), and runs can be extended.

Blocks rather than a generator per client: building a ``SeedSequence`` and a generator per
client cost about a third of the old kernel. Here each attribute's key is derived once per
(group, layer) and a block's generator is counter-based Philox with the block number as
its counter: addressing a block costs only setting a counter, and the block's draws are
vectorised (benchmarks/bench_des.py prints both costs).
"""

from __future__ import annotations

import threading

import numpy as np

from hubsim.rng import seed_sequence, stream

BLOCK = 64
N_APPOINTMENTS = 48  # per-appointment draws kept per client (more are drawn on demand)
N_COURSES = 8  # per-course draws kept per client
DECISIONS: tuple[str, ...] = (
    "complete",
    "refer",
    "accept",
    "in_depth",
    "group",
    "pharmacological",
    "pastoral",
    "renege",
    "onward",
    "destination",
    "remit",
)
U = {name: i for i, name in enumerate(DECISIONS)}
DURATIONS: tuple[str, ...] = ("processing", "duty", "short", "in_depth")


_KEYS: dict[tuple, np.ndarray] = {}
_LOCAL = threading.local()
_EMPTY_BUFFER = np.zeros(4, dtype=np.uint64)


def _block(seed, scenario, rep, group_key, layer_key, b, attribute):
    """The generator of block ``b`` of an attribute: counter-based Philox, its key derived
    from (seed, scenario, replication, group, layer, attribute) by a SeedSequence and its
    counter set to the block number, so any block is addressed directly (no per-client or
    per-block seeding cost beyond setting a counter).

    The generator is this thread's one Philox generator, set to the block's state (exactly
    the state a new ``Philox(counter=[0, 0, b, 0], key=key)`` starts in, without the OS
    entropy a new bit generator reads): it is valid until the next call in the thread.
    """
    k = (seed, scenario, rep, group_key, layer_key, attribute)
    key = _KEYS.get(k)
    if key is None:
        if len(_KEYS) > 100_000:
            _KEYS.clear()
        key = seed_sequence(seed, scenario, rep, "client", group_key, layer_key, attribute)
        key = key.generate_state(2, np.uint64)
        _KEYS[k] = key
    gen = getattr(_LOCAL, "gen", None)
    if gen is None:
        gen = _LOCAL.gen = np.random.Generator(np.random.Philox(key=key))
        # the state handed to the setter, reused (it copies the values): only the counter
        # and key change from block to block
        _LOCAL.counter = np.zeros(4, dtype=np.uint64)
        _LOCAL.inner = {"counter": _LOCAL.counter, "key": key}
        _LOCAL.state = {
            "bit_generator": "Philox",
            "state": _LOCAL.inner,
            "buffer": _EMPTY_BUFFER,
            "buffer_pos": 4,
            "has_uint32": 0,
            "uinteger": 0,
        }
    _LOCAL.counter[2] = int(b)
    _LOCAL.inner["key"] = key
    gen.bit_generator.state = _LOCAL.state
    return gen


# layout of a client's row in the block's "uniforms" stream (fixed: it does not depend on
# the configuration, so changing one setting never shifts another draw)
_U_DEC = slice(0, len(DECISIONS))
_U_DUR = slice(_U_DEC.stop, _U_DEC.stop + len(DURATIONS))
_U_SES = slice(_U_DUR.stop, _U_DUR.stop + 7)
_U_APP = slice(_U_SES.stop, _U_SES.stop + 3 * N_APPOINTMENTS)
_N_UNIFORMS = _U_APP.stop
_N_TREATMENT = 2 * N_COURSES + 3


_NOISE_LAYOUT: dict = {}


def _noise_layout(instruments):
    """(name, offset, width) of each instrument drawn for ``instruments`` (see :func:`_noise`),
    and the total width."""
    out = _NOISE_LAYOUT.get(instruments)
    if out is None:
        from hubsim.config.schema import INSTRUMENTS
        from hubsim.measures.simulate import noise_width

        names = INSTRUMENTS
        if instruments is not None:
            last = max((INSTRUMENTS.index(i) for i in instruments), default=-1)
            names = INSTRUMENTS[: last + 1]
        parts, at = [], 0
        for name in names:
            w = noise_width(name)
            parts.append((name, at, w))
            at += w
        out = _NOISE_LAYOUT[instruments] = (tuple(parts), at)
    return out


def _noise(rng, n, instruments=None):
    """Item noise of the six instruments in a fixed order, so each client's answers depend
    only on their own stream whatever the site screens with. Only the instruments up to the
    last of ``instruments`` in that order are drawn (later ones would not change them).

    The draws are one after another, instrument by instrument, ``(n, width)`` each; they
    are made as one call (a generator's normals do not depend on how a run of them is split
    into calls) and cut into those blocks.
    """
    parts, total = _noise_layout(None if instruments is None else tuple(instruments))
    z = rng.standard_normal(n * total)
    return {name: z[n * at : n * (at + w)].reshape(n, w) for name, at, w in parts}


def draw(
    keys: list[tuple[str, str, np.ndarray]],
    *,
    seed: int,
    scenario: str,
    replication: int,
    correlation: np.ndarray,
    means: np.ndarray,
    instruments: tuple[str, ...],
    order: np.ndarray | None = None,
) -> dict:
    """Attributes of the clients named by ``keys``: a list of (group key, layer key, indices).

    Indices within each key must be ascending (arrival order within the layer). Returns a
    dict of arrays in the order of the concatenated ``keys`` (or, given ``order``, a
    permutation, row ``i`` is the keys' row ``order[i]``), ``pre``, the screening answers,
    as a DataFrame in that order, and ``appointments``, an :class:`AppointmentDraws` (each
    client's per-appointment uniforms, read on demand: most clients use few of them).
    """
    from hubsim.measures.simulate import scores_from_noise

    chol = np.linalg.cholesky(np.asarray(correlation, dtype=float))
    normals, unif, treat, noise = [], [], [], {name: [] for name in instruments}
    blocks_u, block_of, row_of = [], [], []
    for gkey, lkey, idx in keys:
        idx = np.asarray(idx, dtype=np.int64)
        if not len(idx):
            continue
        blocks = idx // BLOCK
        rows = idx % BLOCK
        # ascending indices: each block's clients are one run of them
        bs, lo = np.unique(blocks, return_index=True)
        for b, i, j in zip(bs.tolist(), lo.tolist(), [*lo[1:].tolist(), len(idx)], strict=True):
            r = rows[i:j]
            normals.append(
                _block(seed, scenario, replication, gkey, lkey, b, "normals").standard_normal(
                    (BLOCK, 10)
                )[r]
            )
            ub = _block(seed, scenario, replication, gkey, lkey, b, "uniforms").random(
                (BLOCK, _N_UNIFORMS)
            )
            unif.append(ub[r, : _U_APP.start])
            block_of.append(np.full(len(r), len(blocks_u), dtype=np.int64))
            row_of.append(r)
            blocks_u.append(ub)
            treat.append(
                _block(seed, scenario, replication, gkey, lkey, b, "treatment").standard_normal(
                    (BLOCK, _N_TREATMENT)
                )[r]
            )
            z = _noise(
                _block(seed, scenario, replication, gkey, lkey, b, "scores"), BLOCK, instruments
            )
            for name in instruments:
                noise[name].append(z[name][r])
    n = sum(len(x) for x in normals)
    if not n:
        return {}
    nor = np.concatenate(normals)
    uni = np.concatenate(unif)
    tre = np.concatenate(treat)
    from scipy.special import ndtr

    block_of, row_of = np.concatenate(block_of), np.concatenate(row_of)
    noise = {k: np.concatenate(v) for k, v in noise.items()}
    if order is not None:
        # every draw is row-wise, so reordering the rows first is reordering the results
        nor, uni, tre = nor[order], uni[order], tre[order]
        block_of, row_of = block_of[order], row_of[order]
        noise = {k: v[order] for k, v in noise.items()}
    latent = np.asarray(means, dtype=float) + nor[:, :5] @ chol.T
    courses = np.stack(
        [tre[:, :N_COURSES], ndtr(tre[:, N_COURSES : 2 * N_COURSES])], axis=2
    )  # effect normal, step-up uniform
    ext = np.column_stack([ndtr(tre[:, -3]), ndtr(tre[:, -2]), tre[:, -1]])
    return {
        "latent": latent,
        "z0": nor[:, 5:] @ chol.T,
        "u": uni[:, _U_DEC],
        "durations": uni[:, _U_DUR],
        "sessions": uni[:, _U_SES],
        "appointments": AppointmentDraws(blocks_u, block_of, row_of),
        "courses": courses,
        "external": ext,
        "pre": scores_from_noise(latent, noise),
    }


class AppointmentDraws:
    """Each client's :data:`N_APPOINTMENTS` x 3 appointment uniforms (did-not-attend,
    drop-out, length), kept in the blocks they were drawn in and read per client on demand.

    ``rows(c)`` is client ``c``'s list of [u_dna, u_drop, u_len] lists (clients in the order
    of ``take``'s permutation, or of the keys); ``flat(c)`` the same numbers in one list.
    """

    __slots__ = ("_block", "_blocks", "_row")

    def __init__(self, blocks, block_of, row_of):
        self._blocks = blocks
        self._block = block_of
        self._row = row_of

    def take(self, order: np.ndarray) -> AppointmentDraws:
        """The same draws with clients reordered (client ``i`` becomes ``order[i]``)."""
        return AppointmentDraws(self._blocks, self._block[order], self._row[order])

    def rows(self, c: int) -> list:
        ub = self._blocks[self._block[c]]
        return ub[self._row[c], _U_APP].reshape(N_APPOINTMENTS, 3).tolist()

    def flat(self, c: int) -> list:
        """Client ``c``'s draws as one flat list: appointment ``k``'s are items ``3k`` to
        ``3k + 2`` (cheaper to build than :meth:`rows` when a client uses few of them)."""
        return self._blocks[self._block[c]][self._row[c], _U_APP].tolist()


def outcome_scores(
    keys: list[tuple[str, str, np.ndarray]],
    latent: np.ndarray,
    *,
    seed: int,
    scenario: str,
    replication: int,
    instruments: tuple[str, ...],
    order: np.ndarray | None = None,
):
    """Scores at discharge from ``latent`` (rows in the order of ``keys``, or given ``order``,
    a permutation, row ``i`` is the keys' row ``order[i]``), block-keyed noise."""
    from hubsim.measures.simulate import scores_from_noise

    noise = {name: [] for name in instruments}
    for gkey, lkey, idx in keys:
        idx = np.asarray(idx, dtype=np.int64)
        blocks = idx // BLOCK
        rows = idx % BLOCK
        bs, lo = np.unique(blocks, return_index=True)
        for b, i, j in zip(bs.tolist(), lo.tolist(), [*lo[1:].tolist(), len(idx)], strict=True):
            r = rows[i:j]
            z = _noise(
                _block(seed, scenario, replication, gkey, lkey, b, "outcome_scores"),
                BLOCK,
                instruments,
            )
            for name in instruments:
                noise[name].append(z[name][r])
    noise = {k: np.concatenate(v) for k, v in noise.items()}
    if order is not None:
        noise = {k: v[order] for k, v in noise.items()}
    return scores_from_noise(latent, noise)


def overflow(seed, scenario, replication, gkey, lkey, index):
    """A generator for a client's draws beyond the kept appointments or courses (rare)."""
    return stream(seed, scenario, replication, "client_overflow", gkey, lkey, int(index))
