"""The bounded-domain Laplace mechanism (Holohan et al. 2020) made exact on a power-of-two grid."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._base import as_real_array
from ._dlap_moments import DiscreteLaplaceMoments
from ._random import discrete_laplace
from .laplace_variants import SecureLaplaceTruncated, _SecureLaplaceDelta

_MAX_SCALE_UNITS = 2**50


def _log_delta_c(scale: int, delta_units: int, width: float) -> float:
    r"""``ln(C(A + D) / C(A))`` for the discrete bounded Laplace on ``width + 1`` grid points.

    ``C(n) = sum_{y=A}^{B} q**|y - n|``; ``C`` is log-concave (a convolution of log-concave
    sequences), so over neighbours ``|n - n'| <= D`` inside the domain the largest ratio
    ``C(n') / C(n)`` is at ``n = A`` [HABM20, Lemma 5, discrete form]. In closed form
    ``C(A + D) / C(A) - 1 = (1 - q**D)(q - q**(W - D + 1)) / (1 - q**(W + 1))``, ``W = B - A``.
    """
    if width <= delta_units:
        return 0.0  # the neighbour is clamped to B and C(B) = C(A)
    lq = -1.0 / scale
    one_minus_qd = -math.expm1(delta_units * lq)
    q = math.exp(lq)
    tail = math.exp((width - delta_units + 1) * lq) if math.isfinite(width) else 0.0
    denom = -math.expm1((width + 1) * lq) if math.isfinite(width) else 1.0
    return math.log1p(one_minus_qd * (q - tail) / denom)


@functools.lru_cache(maxsize=1024)
def _bounded_scale(delta_units: int, start: int, epsilon: float, width: float) -> int:
    """The least integer scale ``s >= start - 1`` with ``D / s + ln dC(s) <= epsilon`` (bisection;
    ``epsilon`` is the relaxed one, given a 1e-12 margin for the float log term)."""
    eps = epsilon * (1 - 1e-12)

    def ok(s: int) -> bool:
        return delta_units / s + _log_delta_c(s, delta_units, width) <= eps

    lo, hi = start - 1, start
    while not ok(hi):
        lo, hi = hi, 2 * hi
        if hi > _MAX_SCALE_UNITS:
            raise ValueError(
                f"epsilon={epsilon} is too small for a bounded domain of {width} grid steps"
            )
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


class SecureLaplaceBoundedDomain(SecureLaplaceTruncated):
    r"""Bounded-domain Laplace mechanism, :math:`(\epsilon, \delta)`-DP as floats.

    Drop-in for diffprivlib's :class:`~diffprivlib.mechanisms.LaplaceBoundedDomain` [HABM20]:
    the output is drawn *from* the domain (no clamping mass at the ends). On the grid of
    :class:`SecureLaplace` (step :math:`g`, integer sensitivity :math:`\Delta_g`), the domain is
    the grid points :math:`A \le y \le B` in ``[lower, upper]``, the value is snapped and clamped
    to :math:`n \in [A, B]`, and the output is :math:`y g` with
    :math:`P(y \mid n) = q^{|y - n|} / C(n)` (exact rejection sampling of discrete Laplace
    noise). The integer scale :math:`s` (:math:`q = e^{-1/s}`) is the smallest with
    :math:`\Delta_g / s + \ln \Delta_C(s) \le \epsilon - \ln(1 - \delta)`, where
    :math:`\Delta_C = C(A + \Delta_g) / C(A)` bounds the normaliser ratio of any two neighbours:
    the discrete form of HABM20's Theorem, so the mechanism is :math:`(\epsilon, \delta)`-DP
    with the same (relaxed) meaning of :math:`\delta` as diffprivlib's.

    Parameters and errors are those of :class:`SecureLaplaceTruncated`.

    References
    ----------
    .. [HABM20] Holohan, Antonatos, Braghin, Mac Aonghusa. "The Bounded Laplace Mechanism in
       Differential Privacy." Journal of Privacy and Confidentiality 10(1), 2020.
    """

    def _domain_units(self, g: float) -> tuple[float, float]:
        """The domain's first and last grid points ``(A, B)`` in units (+-inf if unbounded)."""
        a = math.ceil(self.lower / g) if math.isfinite(self.lower) else -math.inf
        b = math.floor(self.upper / g) if math.isfinite(self.upper) else math.inf
        return a, b

    def _grid(self) -> tuple[float, int, int]:
        key = (self.epsilon, self.delta, self.sensitivity, self.lower, self.upper)
        cached = getattr(self, "_bd_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        g, delta_units, scale = _SecureLaplaceDelta._grid(self)
        if scale:
            a, b = self._domain_units(g)
            scale = _bounded_scale(delta_units, scale, self._relaxed_epsilon(), b - a)
        grid = (g, delta_units, scale)
        self._bd_cache = (key, grid)
        return grid

    def effective_epsilon(self) -> float | None:
        """The pure-DP loss guaranteed (``None`` when ``delta > 0``, as diffprivlib)."""
        if self.delta > 0:
            return None
        g, delta_units, scale = self._grid()
        if scale == 0:
            return 0.0
        a, b = self._domain_units(g)
        return delta_units / scale + _log_delta_c(scale, delta_units, b - a)

    def _snapped(self, value: Any, g: float) -> tuple[np.ndarray, float, float]:
        arr = np.clip(as_real_array(value), self.lower, self.upper)
        a, b = self._domain_units(g)
        return np.clip(self._units(arr, g), a, b), a, b

    def _centred_moments(self, value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        g, _, scale = self._grid()
        n, a, b = self._snapped(value, g)
        mom = DiscreteLaplaceMoments(scale)
        lo, hi = a - n, b - n
        p0 = mom.between(0, lo, hi)
        return n, mom.between(1, lo, hi) / p0, mom.between(2, lo, hi) / p0, g

    def randomise(self, value: Any) -> Any:
        """Randomise a real scalar (float out) or array (new float64 array), drawn in the domain.

        The value is first clamped to ``[lower, upper]``, as diffprivlib does.
        """
        self._check_all(value)
        arr = as_real_array(value)
        g, _, scale = self._grid()
        accountant = self._accountant()
        a, b = self._domain_units(g)
        if scale == 0:
            out = np.clip(arr, self.lower, self.upper)
        elif a > b:  # no grid point in a domain narrower than one step: a constant output
            out = np.full(arr.shape, self.lower)
        else:
            n, _, _ = self._snapped(arr, g)
            n = n.astype(np.int64).ravel()
            y = np.empty_like(n)
            # Rejection sampling, k candidates per value per round (k ~ 2 / acceptance, the
            # acceptance P(n + Z in [A, B]) being known in closed form); the first candidate
            # inside the domain is kept, so each output has exactly the conditional law.
            # the least acceptance is at a domain end: P(0 <= Z <= W) = (1 - q**(W+1)) / (1 + q)
            lq = -1.0 / scale
            width = b - a
            least = (-math.expm1((width + 1) * lq) if math.isfinite(width) else 1.0) / (
                1.0 + math.exp(lq)
            )
            k = int(min(max(math.ceil(2.0 / max(least, 1e-12)), 1), 1 << 16))
            todo = np.arange(n.size)
            while todo.size:
                kk = max(1, min(k, (1 << 22) // todo.size))
                draws = discrete_laplace(self._rng, scale, todo.size * kk)
                cand = n[todo, None] + draws.reshape(todo.size, kk)
                inside = (cand >= a) & (cand <= b)
                hit = inside.any(axis=1)
                first = inside.argmax(axis=1)
                y[todo[hit]] = cand[hit, first[hit]]
                todo = todo[~hit]
            out = (y.astype(np.float64) * g).reshape(arr.shape)
        self._spend(accountant)
        return float(out) if out.ndim == 0 else out
