"""torch 2.13's CPU generator, reproduced in numpy: one generator per seed, vectorised.

``torch.Generator().manual_seed(s)`` seeds a Mersenne Twister (mt19937) with the low 32
bits of ``s``. A one-element ``torch.rand`` (float32) takes one 32-bit word and keeps 24
bits; a one-element ``torch.randn`` takes the scalar path: a double Box-Muller pair from
two 53-bit uniforms (each from two words), returning ``r cos(theta)`` and keeping
``r sin(theta)`` for the next call, each rounded to float32. The C library's ``log1p``,
``cos`` and ``sin`` are called per element (as torch does), so values are bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Words = npt.NDArray[np.uint32]
N, M = 624, 397
_UPPER, _LOWER, _MATRIX = np.uint32(0x80000000), np.uint32(0x7FFFFFFF), np.uint32(0x9908B0DF)


def seeded_states(seeds: list[int]) -> Words:
    """The initial mt19937 state (rows of 624 words) of each seed, as torch seeds it."""
    current = np.array([s & 0xFFFFFFFF for s in seeds], dtype=np.uint32)
    states = np.empty((len(seeds), N), dtype=np.uint32)
    states[:, 0] = current
    mult = np.uint32(1812433253)
    for j in range(1, N):
        current = mult * (current ^ (current >> np.uint32(30))) + np.uint32(j)
        states[:, j] = current
    return states


def twist(states: Words) -> Words:
    """The next 624 words of state of each row (the twist, in three vectorised slabs)."""
    new = states.copy()
    for low in range(0, N, N - M):
        i = np.arange(low, min(low + N - M, N))
        y = (new[:, i] & _UPPER) | (new[:, (i + 1) % N] & _LOWER)
        odd = np.where(y & np.uint32(1), _MATRIX, np.uint32(0))
        new[:, i] = new[:, (i + M) % N] ^ (y >> np.uint32(1)) ^ odd
    return new


def temper(words: Words) -> Words:
    """mt19937's output tempering."""
    y = words ^ (words >> np.uint32(11))
    y = y ^ ((y << np.uint32(7)) & np.uint32(0x9D2C5680))
    y = y ^ ((y << np.uint32(15)) & np.uint32(0xEFC60000))
    return y ^ (y >> np.uint32(18))


class Streams:
    """The output words of one generator per seed, produced 624 at a time."""

    def __init__(self, seeds: list[int]) -> None:
        self._state = seeded_states(seeds)
        self.words = np.empty((len(seeds), 0), dtype=np.uint64)

    def need(self, count: int) -> None:
        """Make sure every row has at least ``count`` words."""
        while self.words.shape[1] < count:
            self._state = twist(self._state)
            self.words = np.concatenate([self.words, temper(self._state).astype(np.uint64)], 1)


def first_words(seeds: list[int], count: int) -> npt.NDArray[np.uint64]:
    """The first ``count`` (at most ``N - M``) output words of each seed's generator.

    The first ``N - M`` words of the first twist need only the seeded state up to
    ``M + count``, so only that much of the seeding recurrence is run.
    """
    if not 0 < count <= N - M:
        raise ValueError(f"count must be in 1..{N - M}")
    current = np.array([s & 0xFFFFFFFF for s in seeds], dtype=np.uint32)
    state, mult = [current], np.uint32(1812433253)
    for j in range(1, M + count + 1):
        current = mult * (current ^ (current >> np.uint32(30))) + np.uint32(j)
        state.append(current)
    words = np.empty((len(seeds), count), dtype=np.uint64)
    for i in range(count):
        y = (state[i] & _UPPER) | (state[i + 1] & _LOWER)
        odd = np.where(y & np.uint32(1), _MATRIX, np.uint32(0))
        words[:, i] = temper(state[i + M] ^ (y >> np.uint32(1)) ^ odd)
    return words


def rand_scalar(seeds: list[int]) -> list[float]:
    """``torch.rand(1, generator=g).item()`` right after ``g.manual_seed(seed)``."""
    masked = first_words(seeds, 1)[:, 0] & np.uint64(0xFFFFFF)
    return (masked.astype(np.float64) * 2.0**-24).astype(np.float32).astype(np.float64).tolist()


def normal_pairs(words: npt.NDArray[np.uint64]) -> tuple[list[float], list[float]]:
    """The first two one-element ``torch.randn`` draws of each row of four words."""
    mask = np.uint64((1 << 53) - 1)
    u1 = (((words[:, 0] << np.uint64(32)) | words[:, 1]) & mask).astype(np.float64) * 2.0**-53
    u2 = (((words[:, 2] << np.uint64(32)) | words[:, 3]) & mask).astype(np.float64) * 2.0**-53
    cosines, sines = [], []
    for a, b in zip(u1.tolist(), u2.tolist(), strict=True):
        radius, theta = math.sqrt(-2.0 * math.log1p(-b)), 2.0 * math.pi * a
        cosines.append(radius * math.cos(theta))
        sines.append(radius * math.sin(theta))
    as32 = np.float32
    return (
        np.array(cosines).astype(as32).astype(np.float64).tolist(),
        np.array(sines).astype(as32).astype(np.float64).tolist(),
    )
