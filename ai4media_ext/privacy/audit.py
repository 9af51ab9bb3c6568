"""Auditing DP mechanisms: floating-point attacks on samplers and empirical privacy loss.

Two distinguishers between the neighbouring inputs 0 and 1 (sensitivity 1):

* the **precision attack** (Haney et al. 2022): flag an output that is not an integer multiple of
  :math:`2^{-53}`. A continuous sample added in floating point to 0 keeps its full precision;
  added to 1 it is rounded to the coarser grid of numbers near 1, so the flag identifies input 0;
* **Mironov's reachability attack** (Mironov 2012): the textbook inverse-CDF sampler computes
  ``x + sign * scale * ln(U)`` with ``U = k / 2**53``; only some floats are reachable from
  input 0, and an output that is not is proof that the input was not 0.

Scores: the advantage ``P(flag | 0) - P(flag | 1)`` and the empirical privacy loss the flag
proves, ``ln P(flag | a) / P(flag | b)`` with a Clopper–Pearson lower bound (statistical DP
auditing). See Mironov (CCS 2012) and Haney et al. (arXiv:2207.13793).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import Interval, InvalidParameterError, check_array, check_params

__all__ = [
    "AttackScore",
    "clopper_pearson",
    "empirical_epsilon",
    "precision_flags",
    "reachable_from_zero",
    "score_attack",
    "textbook_laplace",
    "unreachable_from_zero_flags",
]

_U_BITS = 53
_SCALE = {"scale": [Interval(numbers.Real, 0, math.inf, closed="neither")]}
_CP = {
    "n": [Interval(numbers.Integral, 1, None, closed="left")],
    "alpha": [Interval(numbers.Real, 0, 1, closed="neither")],
}


def textbook_laplace(value: float, scale: float, size: int, rng: np.random.Generator) -> np.ndarray:
    """The vulnerable textbook sampler: ``value + sign * scale * ln(k / 2**53)``, k uniform."""
    k = rng.integers(1, 2**_U_BITS, size=size, endpoint=True).astype(np.float64)
    sign = np.where(rng.integers(0, 2, size=size) == 1, 1.0, -1.0)
    return value + sign * (scale * np.log(k * 2.0**-_U_BITS))


def precision_flags(y: Any) -> np.ndarray:
    """True where an output is not an integer multiple of ``2**-53`` (exact test)."""
    y = check_array(y, name="y", allow_empty=True, dtype=np.float64)
    scaled = y * 2.0**_U_BITS  # exact: multiplication by a power of two
    return scaled != np.floor(scaled)


def reachable_from_zero(y: Any, scale: float) -> np.ndarray:
    """Whether the textbook sampler can output ``y`` from input 0 (Mironov's reachability test).

    From input 0 the output is ``sign * fl(scale * fl(ln(k / 2**53)))``. For each ``y`` the
    candidates ``k`` around ``2**53 * exp(-|y| / scale)`` are recomputed exactly as the sampler
    does; the inversion is accurate to about 3 units of ``k``, so a window of +-6 is searched.
    """
    check_params("reachable_from_zero", {"scale": scale}, _SCALE)
    y = np.abs(check_array(y, name="y", allow_empty=True, dtype=np.float64))
    k0 = np.floor(np.exp(-y / scale) * 2.0**_U_BITS)
    hit = np.zeros(y.shape, dtype=bool)
    for j in range(-6, 7):
        k = k0 + j
        ok = (k >= 1) & (k <= 2.0**_U_BITS)
        with np.errstate(divide="ignore", invalid="ignore"):
            v = -(scale * np.log(np.where(ok, k, 1.0) * 2.0**-_U_BITS))
        hit |= ok & (v == y)
    return hit


def unreachable_from_zero_flags(y: Any, scale: float) -> np.ndarray:
    """Mironov's flag: the output cannot come from input 0 under the textbook sampler."""
    return ~reachable_from_zero(y, scale)


def clopper_pearson(count: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Two-sided ``1 - alpha`` Clopper–Pearson interval for a binomial proportion."""
    from scipy.stats import beta

    check_params("clopper_pearson", {"n": n, "alpha": alpha}, _CP)
    check_params(
        "clopper_pearson",
        {"count": count},
        {"count": [Interval(numbers.Integral, 0, n, closed="both")]},
    )

    lo = 0.0 if count == 0 else float(beta.ppf(alpha / 2, count, n - count + 1))
    hi = 1.0 if count == n else float(beta.ppf(1 - alpha / 2, count + 1, n - count))
    return lo, hi


@dataclass(frozen=True)
class AttackScore:
    """Flag rates on the two inputs and what they prove.

    ``epsilon_lower_bound`` is a 95%-confidence lower bound on the privacy loss the flag
    demonstrates: the largest of ``ln(p0/p1)``, ``ln(p1/p0)`` and the same for the complementary
    event, each rate at its pessimistic Clopper–Pearson end. With ``n`` draws it cannot exceed
    about ``ln(n / 3.7)`` (10.9 for 200,000 draws), even for a certain distinction.
    """

    rate_0: float
    rate_1: float
    n: int
    epsilon_lower_bound: float

    @property
    def advantage(self) -> float:
        return self.rate_0 - self.rate_1


def score_attack(flags_0: Any, flags_1: Any, alpha: float = 0.05) -> AttackScore:
    """Score a distinguisher from its flags on outputs of M(0) and of M(1)."""
    f0 = np.asarray(flags_0, dtype=bool)
    f1 = np.asarray(flags_1, dtype=bool)
    if f0.shape != f1.shape or f0.ndim != 1 or f0.size == 0:
        raise InvalidParameterError(
            "flags_0 and flags_1 must be non-empty 1-D arrays of the same length"
        )
    n = f0.size
    c0, c1 = int(f0.sum()), int(f1.sum())
    bound = 0.0
    for a, b in ((c0, c1), (c1, c0), (n - c0, n - c1), (n - c1, n - c0)):
        lo_a = clopper_pearson(a, n, alpha)[0]
        hi_b = clopper_pearson(b, n, alpha)[1]
        if lo_a > 0:
            bound = max(bound, math.log(lo_a / hi_b))
    return AttackScore(rate_0=c0 / n, rate_1=c1 / n, n=n, epsilon_lower_bound=bound)


def empirical_epsilon(outcomes_0: Any, outcomes_1: Any, alpha: float = 1e-3) -> float:
    """Lower confidence bound on the privacy loss shown by two samples of a mechanism's outputs.

    ``outcomes_0`` and ``outcomes_1`` are discrete outcomes (ints, or rows of a 2-D array, each
    row one outcome) of M(D) and M(D') for neighbouring D, D'. For every outcome seen, the
    Clopper–Pearson bounds of its two frequencies give a lower bound on
    ``|ln P(o | D) / P(o | D')|``; the result is the largest, at overall confidence
    ``1 - alpha`` (Bonferroni over outcomes and both directions). A correct epsilon-DP mechanism
    gives a value <= epsilon with probability >= 1 - alpha (diffprivlib's
    ``test_neighbours_prob``, made rigorous over the whole output histogram).
    """
    a0 = np.asarray(outcomes_0)
    a1 = np.asarray(outcomes_1)
    if a0.ndim == 1:
        a0, a1 = a0[:, None], a1[:, None]
    if a0.ndim != 2 or a1.ndim != 2 or a0.shape[1] != a1.shape[1] or not (len(a0) and len(a1)):
        raise InvalidParameterError(
            "outcomes_0 and outcomes_1 must be non-empty, 1-D or 2-D with equal row length"
        )
    cats, inverse = np.unique(np.concatenate([a0, a1]), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    c0 = np.bincount(inverse[: len(a0)], minlength=len(cats))
    c1 = np.bincount(inverse[len(a0) :], minlength=len(cats))
    level = alpha / (2 * len(cats))
    bound = 0.0
    for x, y, nx, ny in ((c0, c1, len(a0), len(a1)), (c1, c0, len(a1), len(a0))):
        for cx, cy in zip(x.tolist(), y.tolist(), strict=True):
            lo = clopper_pearson(cx, nx, level)[0]
            if lo > 0:
                bound = max(bound, math.log(lo / clopper_pearson(cy, ny, level)[1]))
    return bound
