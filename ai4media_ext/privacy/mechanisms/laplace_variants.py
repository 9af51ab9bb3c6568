"""Floating-point-safe truncated, folded and bounded-domain Laplace mechanisms.

Secure counterparts of diffprivlib's ``LaplaceTruncated``, ``LaplaceFolded`` and
``LaplaceBoundedDomain``, with the same signatures (``delta`` included), built on
:class:`SecureLaplace`'s snapped grid and exact discrete Laplace noise. Truncation and folding
are deterministic functions of the private integer ``n + Z`` (post-processing, so the guarantee
is the one of :class:`SecureLaplace`); the bounded-domain mechanism draws ``Z`` conditioned on
``n + Z`` lying in the domain's grid points, with the noise scale set by the discrete analogue of
Holohan et al.'s (2020) bound, so it is exactly the bounded Laplace mechanism on a grid.
"""

from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np
from diffprivlib.mechanisms import DPMechanism
from diffprivlib.mechanisms.base import TruncationAndFoldingMixin

from ..._validation import Interval, check_params
from ._base import as_real_array
from ._dlap_moments import DiscreteLaplaceMoments, clipped_moments
from .laplace import SecureLaplace

_TAIL = 750.0  # q**(750 s) = exp(-750) underflows to 0 in float64
_MAX_PIECES = 5_000_000


@functools.lru_cache(maxsize=1024)
def _laplace_grid(epsilon: float, sensitivity: float) -> tuple[float, int, int]:
    """SecureLaplace's grid (the same construction, reused), memoised: diffprivlib's tools build
    a new mechanism with the same parameters on every call."""
    return SecureLaplace._make_grid(epsilon, sensitivity)


class _SecureLaplaceDelta(SecureLaplace):
    r"""SecureLaplace with diffprivlib's relaxed :math:`(\epsilon, \delta)` parameterisation.

    As diffprivlib's :class:`~diffprivlib.mechanisms.Laplace` [HLM15], the noise is calibrated to
    :math:`\epsilon' = \epsilon - \ln(1 - \delta)` (``epsilon = 0`` is allowed with
    ``delta > 0``; ``delta = 1`` returns the value unchanged).
    """

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "delta": [Interval(numbers.Real, 0, 1, closed="both")],
        "sensitivity": [Interval(numbers.Real, 0, math.inf, closed="left")],
        "lower": [numbers.Real],
        "upper": [numbers.Real],
    }

    def _params(self) -> dict[str, Any]:
        names = ("epsilon", "delta", "sensitivity", "lower", "upper")
        return {k: self.__dict__[k] for k in names if k in self.__dict__}

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float = 0.0,
        sensitivity: float,
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        check_params(
            self,
            {"epsilon": epsilon, "delta": delta, "sensitivity": sensitivity},
            self._parameter_constraints,
        )
        DPMechanism.__init__(self, epsilon=epsilon, delta=delta, random_state=random_state)
        self.accountant = accountant
        self.sensitivity = float(sensitivity)

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        for name, v in (("epsilon", epsilon), ("delta", delta)):
            if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
            if v != v:
                raise ValueError(f"{name} must not be NaN")
        return DPMechanism._check_epsilon_delta(epsilon, delta)

    def _param_key(self) -> tuple:
        return tuple((k, type(v), v) for k, v in self._params().items())

    def _check_all(self, value: Any) -> bool:
        key = self._param_key()
        if self.__dict__.get("_checked") != key:  # re-validate only what changed since
            check_params(self, self._params(), self._parameter_constraints)
            self._checked = key
        return super()._check_all(value)

    def _relaxed_epsilon(self) -> float:
        return math.inf if self.delta >= 1 else self.epsilon - math.log1p(-self.delta)

    def _grid(self) -> tuple[float, int, int]:
        # SecureLaplace's grid at the relaxed epsilon (the same construction, reused), cached
        # per parameter values (they may be changed after construction, as in diffprivlib).
        key = (self.epsilon, self.delta, self.sensitivity)
        cached = self.__dict__.get("_grid_cache")
        if cached is not None and cached[0] == key:
            return cached[1]
        grid = _laplace_grid(self._relaxed_epsilon(), self.sensitivity)
        self._grid_cache = (key, grid)
        return grid

    def effective_epsilon(self) -> float:
        """The pure-DP loss guaranteed, ``delta_units / scale_units`` (for ``delta = 0``)."""
        _, delta_units, scale_units = self._grid()
        return float(Fraction(delta_units, scale_units)) if scale_units else 0.0


class SecureLaplaceTruncated(_SecureLaplaceDelta, TruncationAndFoldingMixin):
    r"""Truncated Laplace mechanism, :math:`(\epsilon, \delta)`-DP as floats.

    Drop-in for diffprivlib's :class:`~diffprivlib.mechanisms.LaplaceTruncated`: the
    :class:`SecureLaplace` output :math:`(n + Z) g` is clamped to ``[lower, upper]``, a
    post-processing of the private integer, so the guarantee is SecureLaplace's. ``bias`` and
    ``variance`` are exact for the discrete law sampled (closed-form tail sums).

    Parameters
    ----------
    epsilon : float
        :math:`\epsilon` in [0, inf]; ``epsilon + delta > 0``.
    delta : float, default 0.0
        :math:`\delta` in [0, 1] (relaxed Laplace, noise scale :math:`\Delta/(\epsilon -
        \ln(1-\delta))`, as diffprivlib).
    sensitivity : float
        :math:`\Delta`, finite and >= 0.
    lower, upper : float
        The output domain, ``lower <= upper``.
    random_state : int or RandomState, optional
        Seed; None uses the OS CSPRNG.
    accountant : BudgetAccountant, optional
        Charged ``(epsilon, delta)`` on each ``randomise`` call (default accountant if None).

    Raises
    ------
    TypeError, ValueError
        As diffprivlib: non-real or out-of-range parameters, ``lower > upper``.
    """

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float = 0.0,
        sensitivity: float,
        lower: float,
        upper: float,
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        check_params(self, {"lower": lower, "upper": upper}, self._parameter_constraints)
        super().__init__(
            epsilon=epsilon,
            delta=delta,
            sensitivity=sensitivity,
            random_state=random_state,
            accountant=accountant,
        )
        TruncationAndFoldingMixin.__init__(self, lower=lower, upper=upper)
        self._checked = self._param_key()  # all five were checked above
        self._grid()

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        TruncationAndFoldingMixin._check_all(self, value)
        return True

    def _centred_moments(self, value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """``(n, E[f - n], E[(f - n)**2], g)`` in grid units for the output map ``f``."""
        arr = as_real_array(value)
        g, _, scale = self._grid()
        n = self._units(arr, g)
        mom = DiscreteLaplaceMoments(scale)
        m1, m2 = clipped_moments(mom, self.lower / g - n, self.upper / g - n)
        return n, m1, m2, g

    def bias(self, value: Any) -> Any:
        """``E[output] - value`` (float, or an array of the value's shape)."""
        self._check_all(value)
        if self._grid()[2] == 0:
            arr = as_real_array(value)
            return (np.clip(arr, self.lower, self.upper) - arr)[()]
        n, m1, _, g = self._centred_moments(value)
        return ((n + m1) * g - as_real_array(value))[()]

    def variance(self, value: Any) -> Any:
        """Variance of the output at ``value`` (float, or an array of the value's shape)."""
        self._check_all(value)
        if self._grid()[2] == 0:
            return np.zeros_like(as_real_array(value))[()]
        _, m1, m2, g = self._centred_moments(value)
        return (np.maximum(m2 - m1 * m1, 0.0) * g * g)[()]

    def randomise(self, value: Any) -> Any:
        """Randomise a real scalar (float out) or array (new float64 array), clamped to the domain."""
        out = np.clip(super().randomise(value), self.lower, self.upper)
        return float(out) if np.ndim(out) == 0 else out


class SecureLaplaceFolded(SecureLaplaceTruncated):
    r"""Folded Laplace mechanism, :math:`(\epsilon, \delta)`-DP as floats.

    Drop-in for diffprivlib's :class:`~diffprivlib.mechanisms.LaplaceFolded`: the
    :class:`SecureLaplace` output is reflected at ``lower`` and ``upper`` until it lies in the
    domain (vectorised triangle-wave fold), a post-processing of the private integer. Unlike
    diffprivlib, :meth:`variance` is implemented (exact sum over the fold's linear pieces).

    Parameters and errors are those of :class:`SecureLaplaceTruncated`.
    """

    def _fold_units(self, x: np.ndarray, lo: float, hi: float) -> np.ndarray:
        if math.isinf(lo) and math.isinf(hi):
            return x
        if math.isinf(hi):
            return np.where(x < lo, 2 * lo - x, x)
        if math.isinf(lo):
            return np.where(x > hi, 2 * hi - x, x)
        width = hi - lo
        if width == 0:
            return np.full_like(x, lo)
        r = np.mod(x - lo, 2 * width)
        return lo + np.where(r <= width, r, 2 * width - r)

    def randomise(self, value: Any) -> Any:
        """Randomise a real scalar (float out) or array (new float64 array), folded into the domain."""
        noisy = as_real_array(_SecureLaplaceDelta.randomise(self, value))
        out = self._fold_units(noisy, self.lower, self.upper)
        out = np.clip(out, self.lower, self.upper)  # guards float rounding at the ends
        return float(out) if out.ndim == 0 else out

    def _centred_moments(self, value: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        arr = as_real_array(value)
        g, _, scale = self._grid()
        n = self._units(arr, g).ravel()
        lo, hi = self.lower / g, self.upper / g
        mom = DiscreteLaplaceMoments(scale)
        m1 = np.zeros(n.size)
        m2 = np.zeros(n.size)
        for i, ni in enumerate(n.tolist()):  # per value: the pieces are vectorised
            for alpha, beta, a, b in self._pieces(ni, lo, hi, scale):
                p0, p1, p2 = (mom.between(j, a - ni, b - ni) for j in (0, 1, 2))
                # f - n = alpha + beta * Z on Z in [a - n, b - n]
                m1[i] += np.sum(alpha * p0 + beta * p1)
                m2[i] += np.sum(alpha * alpha * p0 + 2 * alpha * beta * p1 + beta * beta * p2)
        return n.reshape(arr.shape), m1.reshape(arr.shape), m2.reshape(arr.shape), g

    @staticmethod
    def _pieces(n: float, lo: float, hi: float, scale: int):
        """Linear pieces ``f - n = alpha + beta Z`` of the fold on integer ranges ``[a, b]``."""
        inf = math.inf
        if math.isinf(lo) and math.isinf(hi):
            return [(0.0, 1.0, -inf, inf)]
        if math.isinf(hi):  # reflect at lo only: x >= lo -> x ; x < lo -> 2 lo - x
            c = math.ceil(lo)
            return [(0.0, 1.0, c, inf), (2 * lo - 2 * n, -1.0, -inf, c - 1)]
        if math.isinf(lo):
            f = math.floor(hi)
            return [(0.0, 1.0, -inf, f), (2 * hi - 2 * n, -1.0, f + 1, inf)]
        width = hi - lo
        if width == 0:
            return [(lo - n, 0.0, -inf, inf)]
        k = np.arange(
            math.floor((n - _TAIL * scale - lo) / width),
            math.floor((n + _TAIL * scale - lo) / width) + 1,
        )
        if k.size > _MAX_PIECES:
            raise ValueError(
                f"the domain [{lo}, {hi}] is too narrow for this noise to sum the fold exactly"
            )
        a = np.ceil(lo + k * width)
        b = np.ceil(lo + (k + 1) * width) - 1
        even = k % 2 == 0
        alpha = np.where(even, -k * width, 2 * lo + (k + 1) * width - 2 * n)
        beta = np.where(even, 1.0, -1.0)
        a[0], b[-1] = -inf, inf  # the outermost pieces carry the (zero) remaining mass
        return [(alpha, beta, a, b)]
