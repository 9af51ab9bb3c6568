"""Drop-in secure replacements for diffprivlib's float mechanisms, with diffprivlib's exact API.

Each class has the *name*, keyword-only constructor signature, parameter checks and accountant
behaviour of the diffprivlib mechanism it replaces (diffprivlib's mechanisms never touch the
budget accountant: the calling tool or model checks and spends it), and draws its noise from the
corresponding floating-point-safe mechanism of this package. They are what
:func:`ai4media_ext.privacy.secure_mechanisms` puts in place of diffprivlib's classes; they can
also be imported directly.

Why each keeps diffprivlib's guarantee (or strengthens it):

* ``Laplace``: :class:`SecureLaplace` at diffprivlib's relaxed
  :math:`\\epsilon' = \\epsilon - \\ln(1 - \\delta)`: exactly :math:`\\epsilon'`-DP as floats
  (diffprivlib's sampler is only so in real arithmetic); noise scale within :math:`2^{-19}`.
* ``LaplaceTruncated`` / ``LaplaceFolded``: the same noisy value, then the same clamping /
  folding, a post-processing of the private integer: the Laplace guarantee carries over.
* ``LaplaceBoundedDomain``: the discrete bounded Laplace on the grid, scale chosen by the
  discrete form of HABM20's condition: :math:`(\\epsilon, \\delta)`-DP in diffprivlib's sense.
* ``Gaussian``: the discrete Gaussian with :math:`\\sigma \\ge` diffprivlib's classic
  :math:`\\sqrt{2 \\ln(1.25/\\delta)} \\Delta/\\epsilon` *and* at least the scale CKS20
  Theorem 7 needs for :math:`(\\epsilon, \\delta)`, so the same utility and a guarantee that now
  holds as floats.
* ``GaussianAnalytic``: the discrete Gaussian calibrated by CKS20 Theorem 7 to the same
  :math:`(\\epsilon, \\delta)`; its noise equals Balle & Wang's analytic scale within
  :math:`2^{-19}`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import numpy as np

from . import _scalar
from .gaussian import SecureGaussian
from .laplace_bounded import SecureLaplaceBoundedDomain
from .laplace_variants import SecureLaplaceFolded, SecureLaplaceTruncated, _SecureLaplaceDelta

__all__ = [
    "Gaussian",
    "GaussianAnalytic",
    "Laplace",
    "LaplaceBoundedDomain",
    "LaplaceFolded",
    "LaplaceTruncated",
]


class _NullAccountant:
    def spend(self, epsilon: float, delta: float) -> None:
        """diffprivlib mechanisms do not spend: the calling tool or model does."""


_NULL = _NullAccountant()


class _NoAccounting:
    """diffprivlib's conventions: the caller spends the budget, and a non-finite value passes
    through (NaN gives NaN, +-inf stays infinite or is clamped to the domain), as diffprivlib's
    float arithmetic does (e.g. ``tools.mean`` of data with NaN is NaN)."""

    def _accountant(self) -> Any:
        return _NULL

    def _spend(self, accountant: Any) -> None:
        """diffprivlib mechanisms do not spend: the calling tool or model does."""

    def _non_finite(self, x: np.ndarray) -> np.ndarray:
        return x

    def randomise(self, value: Any) -> Any:
        if type(value) in (float, int) or isinstance(value, np.floating | np.integer):
            with contextlib.suppress(OverflowError):
                v = float(value)
                if math.isfinite(v):  # the scalar fast path (same exact law, no numpy)
                    self._check_all(value)
                    return self._randomise_scalar(v)
        arr = np.asarray(value) if not isinstance(value, str) else None
        if arr is None or arr.dtype.kind != "f" or np.isfinite(arr).all():
            return super().randomise(value)
        self._check_all(0.0)
        bad = ~np.isfinite(arr)
        out = np.asarray(super().randomise(np.where(bad, 0.0, arr)), dtype=np.float64)
        out = np.where(bad, self._non_finite(arr.astype(np.float64)), out)
        return float(out) if out.ndim == 0 else out


def _snapped_units(mech: Any, v: float, g: float) -> int:
    units = v / g  # exact: g is a power of two
    if not abs(units) < _MAX_UNITS:
        mech._units(np.asarray(v), g)  # raises the mechanisms' ValueError
    return round(units)  # half to even, as numpy's rint


_MAX_UNITS = 2.0**61


class _ScalarLaplace:
    """Scalar fast path of the Laplace family: ``(round(v / g) + Z) g``, then :meth:`_post`."""

    def _post(self, out: float) -> float:
        return out

    def _randomise_scalar(self, v: float) -> float:
        g, _, scale = self._grid()
        if scale == 0:
            return self._post(v)
        z = _scalar.discrete_laplace(self._rng, scale)
        return self._post(float(_snapped_units(self, v, g) + z) * g)


class Laplace(_NoAccounting, _ScalarLaplace, _SecureLaplaceDelta):
    """Secure drop-in for :class:`diffprivlib.mechanisms.Laplace` (same signature)."""

    def __init__(self, *, epsilon, delta=0.0, sensitivity, random_state=None):
        super().__init__(
            epsilon=epsilon, delta=delta, sensitivity=sensitivity, random_state=random_state
        )
        self._grid()


class _BoundedSignature:
    """diffprivlib's signature of the bounded Laplace variants (no ``accountant=``)."""

    def __init__(self, *, epsilon, delta=0.0, sensitivity, lower, upper, random_state=None):
        super().__init__(
            epsilon=epsilon,
            delta=delta,
            sensitivity=sensitivity,
            lower=lower,
            upper=upper,
            random_state=random_state,
        )


class LaplaceTruncated(_NoAccounting, _ScalarLaplace, _BoundedSignature, SecureLaplaceTruncated):
    """Secure drop-in for :class:`diffprivlib.mechanisms.LaplaceTruncated` (same signature)."""

    def _post(self, out: float) -> float:
        return min(max(out, self.lower), self.upper)

    def _non_finite(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower, self.upper)


class LaplaceFolded(_NoAccounting, _ScalarLaplace, _BoundedSignature, SecureLaplaceFolded):
    """Secure drop-in for :class:`diffprivlib.mechanisms.LaplaceFolded` (same signature)."""

    def _post(self, out: float) -> float:
        folded = self._fold_units(np.asarray(out), self.lower, self.upper)
        return float(np.clip(folded, self.lower, self.upper))

    def _non_finite(self, x: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(x), x, np.clip(x, self.lower, self.upper))


class LaplaceBoundedDomain(_NoAccounting, _BoundedSignature, SecureLaplaceBoundedDomain):
    """Secure drop-in for :class:`diffprivlib.mechanisms.LaplaceBoundedDomain` (same signature)."""

    def _randomise_scalar(self, v: float) -> float:
        g, _, scale = self._grid()
        a, b = self._domain_units(g)
        v = min(max(v, self.lower), self.upper)
        if scale == 0:
            return v
        lq = -1.0 / scale
        width = b - a
        least = (-math.expm1((width + 1) * lq) if math.isfinite(width) else 1.0) / (
            1.0 + math.exp(lq)
        )
        if a > b or least < 0.25:  # low acceptance: the batched rejection sampler
            return float(SecureLaplaceBoundedDomain.randomise(self, v))
        n = min(max(_snapped_units(self, v, g), a), b)
        while True:  # exact rejection: the first draw inside the domain
            y = n + _scalar.discrete_laplace(self._rng, scale)
            if a <= y <= b:
                return float(y) * g

    def _non_finite(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x, self.lower, self.upper)


class GaussianAnalytic(_NoAccounting, SecureGaussian):
    """Secure drop-in for :class:`diffprivlib.mechanisms.GaussianAnalytic` (same signature)."""

    def _randomise_scalar(self, v: float) -> float:
        g, _, sigma = self._grid()
        if sigma == 0:
            return v
        z = _scalar.discrete_gaussian(self._rng, sigma)
        return float(_snapped_units(self, v, g) + z) * g

    def __init__(self, *, epsilon, delta, sensitivity, random_state=None):
        super().__init__(
            epsilon=epsilon, delta=delta, sensitivity=sensitivity, random_state=random_state
        )


class Gaussian(GaussianAnalytic):
    """Secure drop-in for :class:`diffprivlib.mechanisms.Gaussian` (same signature, ``epsilon <= 1``).

    The noise is at least diffprivlib's classic scale, so utility is unchanged.
    """

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        if not isinstance(epsilon, bool) and isinstance(epsilon, int | float) and epsilon > 1.0:
            raise ValueError(
                "Epsilon cannot be greater than 1. If required, use GaussianAnalytic instead."
            )
        return super()._check_epsilon_delta(epsilon, delta)

    def _sigma_floor(self) -> float:
        return math.sqrt(2.0 * math.log(1.25 / self.delta)) * self.sensitivity / self.epsilon
