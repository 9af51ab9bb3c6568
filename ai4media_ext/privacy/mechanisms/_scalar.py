"""Exact single draws (pure Python) of the discrete Laplace and discrete Gaussian laws.

diffprivlib's models and tools call ``randomise`` once per scalar, where the fixed cost of the
vectorised samplers (tens of numpy calls on length-1 arrays) dominates. These scalar versions
make the same exact draws with Python integers and floats: the float computation decides a draw
only outside a rigorous error margin, and anything closer is settled by the exact interval
refining of :func:`._random._exact_floor_neg_log` / :func:`._discrete_gaussian._exact_less_exp`.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ._discrete_gaussian import _exact_less_exp
from ._random import _exact_floor_neg_log

_TWO64 = 2.0**64


def _word(rng: Any) -> int:
    """64 uniform random bits from a diffprivlib ``_rng`` (SystemRandom or RandomState)."""
    if hasattr(rng, "randbytes"):
        return int.from_bytes(rng.randbytes(8), "little")
    if hasattr(rng, "bytes"):
        return int.from_bytes(rng.bytes(8), "little")
    raise TypeError(f"random_state gives an unsupported generator {type(rng).__name__}")


def geometric(rng: Any, scale: int) -> int:
    """``X`` with ``P(X >= x) = exp(-x / scale)``: ``floor(-scale ln W)``, ``W`` uniform on
    ``[w, w + 1) / 2**64``. Decided in floats when both ends of the interval give the same floor
    beyond an error bound ``(scale + t) 2**-45`` (log and the word's rounding are within a few
    ulp), otherwise exactly by interval refining."""
    w = _word(rng)
    if w > 0:
        hi = -scale * math.log(w / _TWO64)  # the interval's lower end W = w / 2**64
        lo = -scale * math.log((w + 1) / _TWO64)
        err = (scale + hi) * 2.0**-45
        x = math.floor(lo - err)
        if x == math.floor(hi + err):
            return max(0, x)
    return _exact_floor_neg_log(rng, scale, w, 64)


def discrete_laplace(rng: Any, scale: int) -> int:
    """One exact draw with ``P(z) ∝ exp(-|z| / scale)`` (CKS20 Algorithm 2: a geometric
    magnitude and a fair sign; (negative, 0) is rejected so that 0 is not counted twice)."""
    while True:
        x = geometric(rng, scale)
        negative = _word(rng) & 1
        if not (negative and x == 0):
            return -x if negative else x


def discrete_gaussian(rng: Any, sigma: int) -> int:
    """One exact draw of ``N_Z(0, sigma**2)`` (CKS20 Algorithm 3, ``t = sigma + 1``), the
    Bernoulli(exp(-gamma)) test under the error bound of
    :func:`._discrete_gaussian.bernoulli_exp_neg_gaussian`."""
    t = sigma + 1
    sig = float(sigma)
    while True:
        y = discrete_laplace(rng, t)
        a = float(abs(y))
        d = a - sig * sig / t
        e_d = 2.0**-51 * (a + sig)
        gamma = d * d / (2.0 * sig * sig)
        e_g = (abs(d) * e_d + e_d * e_d) / (sig * sig) + 2.0**-50 * gamma
        p = math.exp(-gamma)
        margin = p * (e_g + 2.0**-45) + 2.0**-62
        u = _word(rng)
        if (u + 1) / _TWO64 <= p - margin:
            return y
        if u / _TWO64 >= p + margin:
            continue
        s2 = sigma * sigma
        if _exact_less_exp(rng, u, 64, Fraction((abs(y) * t - s2) ** 2, 2 * s2 * t * t)):
            return y
