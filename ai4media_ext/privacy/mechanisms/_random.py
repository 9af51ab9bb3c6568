"""Vectorised random draws from a diffprivlib ``_rng`` (``secrets.SystemRandom`` or ``RandomState``).

diffprivlib mechanisms hold ``self._rng = check_random_state(random_state, secure=True)``: the OS
CSPRNG when ``random_state`` is None, a seeded ``RandomState`` otherwise. Both expose raw bytes
(``randbytes`` / ``bytes``), from which everything here is built, so draws are vectorised, exact
(integer rejection sampling, no floating-point rounding) and reproducible under a seed.
"""

from __future__ import annotations

import decimal
from typing import Any

import numpy as np

_TWO64 = 1 << 64


def random_uint64(rng: Any, size: int) -> np.ndarray:
    """``size`` independent uniform 64-bit words."""
    n_bytes = 8 * int(size)
    if hasattr(rng, "randbytes"):  # random.Random / secrets.SystemRandom (os.urandom)
        buf = rng.randbytes(n_bytes)
    elif hasattr(rng, "bytes"):  # np.random.RandomState / Generator
        buf = rng.bytes(n_bytes)
    else:
        raise TypeError(f"random_state gives an unsupported generator {type(rng).__name__}")
    return np.frombuffer(buf, dtype=np.uint64)


def uniform_int(rng: Any, high: int, size: int) -> np.ndarray:
    """Exactly uniform integers in ``[0, high)`` (rejection sampling, no modulo bias)."""
    high = int(high)
    if not 0 < high < _TWO64:
        raise ValueError(f"high must be in (0, 2**64), got {high}")
    out = np.empty(int(size), dtype=np.uint64)
    limit = np.uint64((_TWO64 // high) * high - 1)  # accept words <= limit
    filled = 0
    while filled < size:
        need = size - filled
        # Acceptance is > 1/2, so asking for a little more than needed rarely loops.
        words = random_uint64(rng, need + need // 8 + 8)
        words = words[words <= limit][:need]
        out[filled : filled + len(words)] = words % np.uint64(high)
        filled += len(words)
    return out


def uniform_float(rng: Any, size: int) -> np.ndarray:
    """Uniform floats on the grid ``k / 2**53`` in ``[0, 1)``."""
    return (random_uint64(rng, size) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def bernoulli(rng: Any, p: np.ndarray) -> np.ndarray:
    """Independent Bernoulli(p) draws for an array of probabilities (float comparison)."""
    p = np.asarray(p, dtype=np.float64)
    return uniform_float(rng, p.size).reshape(p.shape) < p


def random_bits(rng: Any, size: int) -> np.ndarray:
    """``size`` fair random bits as a bool array."""
    words = random_uint64(rng, (int(size) + 63) // 64)
    return np.unpackbits(words.view(np.uint8))[: int(size)].astype(bool)


def _exact_floor_neg_log(rng: Any, scale: int, word: int, bits: int = 64) -> int:
    """Exact ``floor(-scale * ln(W))`` for ``W`` uniform on ``[word, word + 1) / 2**bits``.

    Interval refinement: ``W`` is known to lie in ``[lo, hi)``; while ``-scale * ln`` of the two
    ends (computed in decimal arithmetic with a margin far above its rounding error) have
    different integer parts, 64 more random bits of ``W`` are drawn and the precision raised.
    ``-scale * ln`` of an irrational-free dyadic never sits exactly on an integer (for
    ``k >= 1``, ``exp(-k / scale)`` is irrational), so the loop ends with probability 1.
    """
    numerator = word
    digits = 60
    while True:
        with decimal.localcontext() as ctx:
            ctx.prec = digits
            scale_d = decimal.Decimal(scale)
            denom = decimal.Decimal(2) ** bits
            hi = decimal.Decimal(numerator + 1) / denom
            margin = decimal.Decimal(10) ** (-(digits - 25))
            a = -scale_d * hi.ln() - margin * (1 + abs(scale_d * hi.ln()))
            if numerator > 0:
                lo = decimal.Decimal(numerator) / denom
                b = -scale_d * lo.ln() + margin * (1 + abs(scale_d * lo.ln()))
                if int(a.to_integral_value(decimal.ROUND_FLOOR)) == int(
                    b.to_integral_value(decimal.ROUND_FLOOR)
                ):
                    return max(0, int(a.to_integral_value(decimal.ROUND_FLOOR)))
        numerator = (numerator << 64) | int(random_uint64(rng, 1)[0])
        bits += 64
        digits += 20


def _floor_neg_log_where_sure(
    words: np.ndarray, bits: int, scale: int
) -> tuple[np.ndarray, np.ndarray]:
    """``floor(-scale * ln W)`` for ``W`` in ``[w, w + 1) / 2**bits``, and where it is certain.

    The float result is certain when it is farther from an integer than its error bound:
    ``scale * (2**-48 * (1 + |ln W|) + 4 / w) + 4 ulp``, covering the rounding of ``w`` to a
    float, the unknown bits of ``W`` below ``2**-bits`` and a 16-ulp allowance for ``log``;
    ``scale * |ln W| = t`` and ``4 ulp(t) <= 2**-50 t`` fold into one term.
    """
    wf = words.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.log(wf * 2.0**-bits)
        t *= -float(scale)
        err = np.divide(4.0 * scale, wf)
        err += 2.0**-47 * (t + scale)
    x = np.floor(t)
    t -= x  # the fractional part, exact
    t -= 0.5
    np.abs(t, out=t)
    err += t
    sure = err < 0.5
    sure &= words >= (1 << 16)
    return x, sure


def geometric_floor_neg_log(rng: Any, scale: int, size: int) -> np.ndarray:
    """Exact draws of ``X`` with ``P(X >= x) = exp(-x / scale)``, ``x = 0, 1, 2, ...``.

    Inverse transform ``X = floor(-scale * ln W)``, ``W`` uniform on (0, 1), refined lazily
    (interval refining, Haney et al. 2022): a 32-bit prefix of ``W`` settles almost every draw
    in floating point under a rigorous error bound; the few draws too close to an integer get
    32 more bits and are checked again; any still undecided are finished exactly in decimal
    arithmetic by :func:`_exact_floor_neg_log`. Each draw is the exact floor for its ``W``, so
    the distribution is exact.
    """
    words = random_uint64(rng, (size + 1) // 2).view(np.uint32)[:size].astype(np.uint64)
    x, sure = _floor_neg_log_where_sure(words, 32, scale)
    out = x.astype(np.int64)
    todo = np.flatnonzero(~sure)
    if todo.size:
        low = random_uint64(rng, (todo.size + 1) // 2).view(np.uint32)[: todo.size]
        words64 = (words[todo] << np.uint64(32)) | low.astype(np.uint64)
        x64, sure64 = _floor_neg_log_where_sure(words64, 64, scale)
        out[todo[sure64]] = x64[sure64]
        for i, w in zip(todo[~sure64].tolist(), words64[~sure64].tolist(), strict=True):
            out[i] = _exact_floor_neg_log(rng, scale, w, 64)
    return out


def discrete_laplace(rng: Any, scale: int, size: int) -> np.ndarray:
    """Exact discrete Laplace draws: P(z) proportional to exp(-|z| / scale), ``scale`` a positive int.

    ``|Z|`` is geometric (:func:`geometric_floor_neg_log`) with a fair sign; the draw
    (sign = -, |Z| = 0) is rejected so that zero is not counted twice (as in Canonne, Kamath &
    Steinke 2020, Algorithm 2).
    """
    scale = int(scale)
    out = geometric_floor_neg_log(rng, scale, size)
    negative = random_bits(rng, size)
    redo = np.flatnonzero(negative & (out == 0))
    while redo.size:  # rare: P(|Z| = 0) is about 1 / scale
        out[redo] = geometric_floor_neg_log(rng, scale, redo.size)
        negative[redo] = random_bits(rng, redo.size)
        redo = redo[negative[redo] & (out[redo] == 0)]
    np.negative(out, out=out, where=negative)
    return out
