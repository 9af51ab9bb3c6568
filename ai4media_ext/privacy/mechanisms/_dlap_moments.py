"""Exact moments of the discrete Laplace law restricted to integer ranges (vectorised).

``Z`` has ``P(z) = c q**|z|``, ``q = exp(-1/s)``, ``c = (1 - q) / (1 + q)``. Every restricted
moment is a difference of half-line sums ``sum_{k >= m} k**j q**k`` with closed forms in
positive terms, so truncated, folded and bounded-domain biases and variances of the secure
Laplace variants are computed exactly (to float rounding) for the discrete law actually sampled,
not for the continuous law it approximates.
"""

from __future__ import annotations

import math

import numpy as np

_BIG = 2.0**62  # a range end beyond this is treated as infinite (q**m underflows to 0)


def _half_line(j: int, m: np.ndarray, q: float, one_minus_q: float) -> np.ndarray:
    """``sum_{k >= m} k**j q**k`` for integer ``m >= 0`` (float array), ``j`` in 0, 1, 2."""
    qm = np.exp(m * math.log(q)) if q > 0 else (m == 0).astype(float)
    s0 = 1.0 / one_minus_q
    if j == 0:
        return qm * s0
    s1 = q / one_minus_q**2
    if j == 1:
        return qm * (m * s0 + s1)
    s2 = q * (1.0 + q) / one_minus_q**3
    with np.errstate(invalid="ignore"):
        out = qm * (m * m * s0 + 2.0 * m * s1 + s2)
    return np.where(qm == 0, 0.0, out)


class DiscreteLaplaceMoments:
    """Moments of ``Z`` (discrete Laplace, integer scale ``s``) over integer ranges."""

    def __init__(self, scale: int):
        self.q = math.exp(-1.0 / scale)
        self.one_minus_q = -math.expm1(-1.0 / scale)
        self.c = self.one_minus_q / (1.0 + self.q)
        self.total = (1.0, 0.0, 2.0 * self.q / self.one_minus_q**2)

    def upper(self, j: int, m: np.ndarray) -> np.ndarray:
        """``E[Z**j ; Z >= m]`` for integer-valued float ``m`` (may be +-inf)."""
        m = np.clip(np.asarray(m, dtype=np.float64), -_BIG, _BIG)
        pos = np.maximum(m, 1.0)
        neg = np.maximum(1.0 - m, 1.0)
        right = self.c * _half_line(j, pos, self.q, self.one_minus_q)
        # m <= 0: total minus the lower tail {Z <= m - 1} = (-1)**j * {Z >= 1 - m}
        left = self.total[j] - (-1) ** j * self.c * _half_line(j, neg, self.q, self.one_minus_q)
        return np.where(m >= 1, right, left)

    def lower(self, j: int, m: np.ndarray) -> np.ndarray:
        """``E[Z**j ; Z <= m]`` (symmetry of ``Z``)."""
        return (-1) ** j * self.upper(j, -np.asarray(m, dtype=np.float64))

    def between(self, j: int, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """``E[Z**j ; lo <= Z <= hi]`` for integer-valued ``lo``, ``hi`` (0 where ``lo > hi``).

        Computed as a difference of the two nearer tails, so ranges deep in a tail keep their
        relative accuracy and ranges around 0 use ``total - both tails``.
        """
        lo = np.asarray(lo, dtype=np.float64)
        hi = np.asarray(hi, dtype=np.float64)
        right_side = self.upper(j, lo) - self.upper(j, hi + 1.0)
        left_side = self.lower(j, hi) - self.lower(j, lo - 1.0)
        middle = self.total[j] - self.lower(j, lo - 1.0) - self.upper(j, hi + 1.0)
        out = np.where(lo >= 1, right_side, np.where(hi <= -1, left_side, middle))
        return np.where(lo > hi, 0.0, out)


def clipped_moments(mom: DiscreteLaplaceMoments, a: np.ndarray, b: np.ndarray):
    """``(E[clip(Z, a, b)], E[clip(Z, a, b)**2])`` for real bounds ``a <= b`` (may be infinite)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    fa, cb = np.floor(a), np.ceil(b)
    p_lo = mom.lower(0, fa)
    p_hi = mom.upper(0, cb)
    fin_a = np.where(np.isfinite(a), a, 0.0)
    fin_b = np.where(np.isfinite(b), b, 0.0)
    m1 = fin_a * p_lo + fin_b * p_hi + mom.between(1, fa + 1.0, cb - 1.0)
    m2 = fin_a**2 * p_lo + fin_b**2 * p_hi + mom.between(2, fa + 1.0, cb - 1.0)
    point = a == b  # a degenerate range: the clip is the constant a (never double-counted)
    return np.where(point, fin_a, m1), np.where(point, fin_a**2, m2)
