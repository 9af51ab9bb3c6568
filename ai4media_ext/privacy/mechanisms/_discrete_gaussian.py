"""Exact, vectorised discrete Gaussian sampling and its (epsilon, delta) calibration.

Sampling is Canonne, Kamath & Steinke (2020), Algorithm 3: draw ``Y`` from the discrete Laplace
with integer scale ``t = floor(sigma) + 1`` (the exact sampler of :mod:`._random`) and keep it
with probability ``exp(-(|Y| - sigma**2 / t)**2 / (2 sigma**2))``. The Bernoulli(exp(-gamma))
test is decided exactly by interval refining (Haney et al. 2022): a 64-bit uniform word is
compared with a float ``exp(-gamma)`` under a rigorous error bound, and the rare words too close
to call are settled in decimal arithmetic with as many more random bits as needed. ``sigma`` is
an integer here, so ``gamma`` is an exact rational and every accepted draw has exactly the
discrete Gaussian law ``P(y) ∝ exp(-y**2 / (2 sigma**2))``.
"""

from __future__ import annotations

import decimal
import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from ._random import discrete_laplace, random_uint64

_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _exact_less_exp(rng: Any, word: int, bits: int, gamma: Fraction) -> bool:
    """Exactly whether ``U < exp(-gamma)`` for ``U`` uniform on ``[word, word + 1) / 2**bits``.

    More random bits of ``U`` are drawn until the interval lies on one side of ``exp(-gamma)``
    (computed in decimal with a margin far above its rounding error); ``exp(-gamma)`` of a
    rational ``gamma > 0`` is irrational, so the loop ends with probability 1.
    """
    digits = 50
    while True:
        with decimal.localcontext() as ctx:
            ctx.prec = digits
            p = (-(decimal.Decimal(gamma.numerator) / decimal.Decimal(gamma.denominator))).exp()
            margin = p * decimal.Decimal(10) ** (-(digits - 20))
            denom = decimal.Decimal(2) ** bits
            lo = decimal.Decimal(word) / denom
            hi = decimal.Decimal(word + 1) / denom
            if hi <= p - margin:
                return True
            if lo >= p + margin:
                return False
        word = (word << 64) | int(random_uint64(rng, 1)[0])
        bits += 64
        digits += 20


def bernoulli_exp_neg_gaussian(rng: Any, y: np.ndarray, sigma: int) -> np.ndarray:
    """Exact Bernoulli(exp(-gamma)) with ``gamma = (|y| t - sigma**2)**2 / (2 sigma**2 t**2)``.

    ``t = sigma + 1`` (CKS20 Algorithm 3 with integer ``sigma``). The float ``gamma`` has an
    absolute error below ``e_g = (|d| e_d + e_d**2) / sigma**2 + 2**-50 gamma`` where
    ``d = |y| - sigma**2 / t`` and ``e_d = 2**-51 (|y| + sigma)``; ``exp`` and the subtraction
    ``u - p`` add a few ulp. A draw is decided in floats only when the uniform's interval clears
    ``exp(-gamma)`` by ``p (e_g + 2**-45) + 2**-62``; the rest go to :func:`_exact_less_exp`.
    """
    t = sigma + 1
    sig = float(sigma)
    a = np.abs(y).astype(np.float64)
    d = a - sig * sig / t
    e_d = a  # reused in place: e_d = 2**-51 (|y| + sigma)
    e_d += sig
    e_d *= 2.0**-51
    gamma = np.square(d)
    gamma *= 1.0 / (2.0 * sig * sig)
    # m = p (e_g + 2**-45) + 2**-62, e_g = (|d| e_d + e_d**2) / sigma**2 + 2**-50 gamma
    m = np.abs(d, out=d)
    m *= e_d
    np.square(e_d, out=e_d)
    m += e_d
    m *= 1.0 / (sig * sig)
    m += 2.0**-45
    m += 2.0**-50 * gamma
    p = np.negative(gamma, out=gamma)
    np.exp(p, out=p)
    m *= p
    m += 2.0**-62
    # A 32-bit prefix of the uniform settles all but about 2**-31 of the draws.
    words = random_uint64(rng, (y.size + 1) // 2).view(np.uint32)[: y.size]
    diff = words.astype(np.float64)
    diff *= 2.0**-32  # exact: the interval's lower end
    diff -= p  # within 1 ulp, far below m
    out = diff <= -(m + 2.0**-32)  # surely accepted: the whole interval is below p - m
    unsure = np.flatnonzero(~out & (diff < m))  # the rest is surely rejected
    s2 = sigma * sigma
    for i in unsure.tolist():
        gamma_i = Fraction((abs(int(y[i])) * t - s2) ** 2, 2 * s2 * t * t)
        out[i] = _exact_less_exp(rng, int(words[i]), 32, gamma_i)
    return out


def discrete_gaussian(rng: Any, sigma: int, size: int) -> np.ndarray:
    """``size`` exact draws of the discrete Gaussian ``N_Z(0, sigma**2)``, ``sigma`` a positive int.

    Vectorised rejection sampling (CKS20 Algorithm 3): each round draws discrete Laplace
    candidates for the draws still missing (about 1.3 times as many, the acceptance rate being
    above 0.75 for ``sigma >= 1``) and keeps those accepted, in order.
    """
    sigma, size = int(sigma), int(size)
    if sigma < 1:
        raise ValueError(f"sigma must be a positive integer, got {sigma}")
    out = np.empty(size, dtype=np.int64)
    filled = 0
    while filled < size:
        need = size - filled
        y = discrete_laplace(rng, sigma + 1, need + need // 3 + 8)
        keep = y[bernoulli_exp_neg_gaussian(rng, y, sigma)][:need]
        out[filled : filled + keep.size] = keep
        filled += keep.size
    return out


def discrete_gaussian_variance(sigma: float) -> float:
    """Variance of ``N_Z(0, sigma**2)`` by Poisson summation (CKS20 §2.2): ``sigma**2 - 8 pi**2
    sigma**4 sum_j j**2 e**(-2 pi**2 sigma**2 j**2) / (1 + 2 sum_j e**(-2 pi**2 sigma**2 j**2))``."""
    terms = [math.exp(-2.0 * math.pi**2 * sigma**2 * j * j) for j in range(1, 8)]
    theta = 1.0 + 2.0 * sum(terms)
    corr = sum(j * j * tj for j, tj in zip(range(1, 8), terms, strict=True))
    return sigma**2 - 8.0 * math.pi**2 * sigma**4 * corr / theta


def _upper_tail(m: int, sigma: float) -> tuple[float, float]:
    """Rigorous ``(lower, upper)`` bounds of ``P(Y >= m)``, ``Y ~ N_Z(0, sigma**2)``, ``m`` int.

    For ``m >= 1`` and ``f(x) = exp(-x**2 / (2 sigma**2))`` decreasing on ``[m, inf)``:
    ``int_m^inf f <= sum_{k >= m} f(k) <= f(m) + int_m^inf f``, with
    ``int_m^inf f = sigma sqrt(2 pi) Q(m / sigma)``; the normaliser lies in
    ``sigma sqrt(2 pi) [1, 1 + 3 exp(-2 pi**2 sigma**2)]`` (Poisson summation). ``m <= 0`` goes
    through the symmetry ``P(Y >= m) = 1 - P(Y >= 1 - m)``.
    """
    if m <= 0:
        lo, hi = _upper_tail(1 - m, sigma)
        return 1.0 - hi, 1.0 - lo
    q = 0.5 * math.erfc(m / (sigma * math.sqrt(2.0)))
    norm = sigma * _SQRT_2PI
    lower = q / (1.0 + 3.0 * math.exp(-2.0 * math.pi**2 * sigma**2))
    upper = q + math.exp(-(m * m) / (2.0 * sigma * sigma)) / norm
    return lower * (1 - 1e-12), min(1.0, upper * (1 + 1e-12))


def discrete_gaussian_delta(sigma: float, epsilon: float, sensitivity: int) -> float:
    """An upper bound of the exact ``delta(epsilon)`` of the discrete Gaussian mechanism.

    CKS20 Theorem 7: with integer sensitivity ``D`` the mechanism is ``(epsilon, delta)``-DP for
    ``delta = P(Y > epsilon sigma**2 / D - D / 2) - e**epsilon P(Y > epsilon sigma**2 / D + D / 2)``;
    the first tail is taken at its upper and the second at its lower bound.
    """
    x0 = epsilon * sigma * sigma / sensitivity - sensitivity / 2.0
    x1 = epsilon * sigma * sigma / sensitivity + sensitivity / 2.0
    first = _upper_tail(math.floor(x0) + 1, sigma)[1]
    second = _upper_tail(math.floor(x1) + 1, sigma)[0]
    return max(0.0, first - math.exp(epsilon) * second) if epsilon < 700 else first


@functools.lru_cache(maxsize=1024)
def calibrate_sigma(epsilon: float, delta: float, sensitivity: int) -> int:
    """The smallest integer ``sigma`` whose discrete Gaussian is ``(epsilon, delta)``-DP for the
    integer ``sensitivity`` (bisection on :func:`discrete_gaussian_delta`)."""
    lo, hi = 1, max(2, sensitivity)
    while discrete_gaussian_delta(hi, epsilon, sensitivity) > delta:
        lo, hi = hi, 2 * hi
        if hi > 2**62:
            raise ValueError(f"no sigma below 2**62 reaches epsilon={epsilon}, delta={delta}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if discrete_gaussian_delta(mid, epsilon, sensitivity) > delta:
            lo = mid
        else:
            hi = mid
    return hi
