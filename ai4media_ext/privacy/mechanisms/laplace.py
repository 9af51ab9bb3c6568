"""The Laplace mechanism made differentially private as floating-point numbers."""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any

import numpy as np

from ..._validation import Interval, InvalidParameterError
from ._base import BASE_CONSTRAINTS, AccountedMechanism, as_real_array
from ._random import discrete_laplace

# Grid granularity g = 2**(floor(log2(min(sensitivity, scale))) - GRID_BITS): outputs are
# multiples of g, fine enough that the grid adds at most a 2**-GRID_BITS relative noise overhead.
# For epsilon < 2**-30 fewer bits are used (down to MIN_GRID_BITS) so that the noise scale in
# grid units stays below _MAX_SCALE_UNITS; the overhead is then 2**-bits, still exact DP.
GRID_BITS = 20
MIN_GRID_BITS = 4
# The noise scale sensitivity / epsilon must leave room below the float maximum for the tail.
_MAX_NOISE_SCALE = 2.0**1000
# |value| / g must stay below this so that integer arithmetic never overflows int64.
_MAX_UNITS = 2.0**61
# The discrete noise scale (in grid units) must leave int64 room for its exponential tail.
_MAX_SCALE_UNITS = 2**50


class SecureLaplace(AccountedMechanism):
    r"""Laplace mechanism that is :math:`\epsilon`-differentially private *as floats*.

    diffprivlib's :class:`~diffprivlib.mechanisms.Laplace` adds a continuous Laplace sample in
    floating point. Whatever the sampler, the float addition leaks the input through the
    precision of the result (Haney et al. 2022, diffprivlib issue #94): on input 0 about a fifth of
    the outputs are not multiples of :math:`2^{-53}`, on input 1 none are. Here the output
    distribution is exactly that of a discrete mechanism (Canonne, Kamath & Steinke 2020) on a
    fixed power-of-two grid, so no floating-point artefact depends on the input:

    1. the value is snapped to the grid of granularity :math:`g = 2^{\lfloor \log_2
       \min(\Delta, \Delta/\epsilon) \rfloor - 20}` (exact: division by a power of two and
       rounding to an integer :math:`n`);
    2. snapping can move neighbouring values one more grid step apart, so the integer sensitivity
       is :math:`\Delta_g = \lfloor \Delta / g \rfloor + 1`;
    3. exact discrete Laplace noise :math:`Z` with :math:`P(z) \propto \exp(-|z|/s)`,
       :math:`s = \lceil \Delta_g / \epsilon \rceil` (exact rational ceiling), is drawn from
       random bits by integer rejection sampling only;
    4. the output is :math:`(n + Z)\, g`: a deterministic function (post-processing) of the
       :math:`\epsilon`-DP integer :math:`n + Z`.

    The noise has scale :math:`s g \le (\Delta + g)/\epsilon + g`, i.e. within :math:`2^{-19}` of
    the Laplace scale :math:`\Delta/\epsilon`. ``randomise`` takes a scalar or an array and is
    vectorised; each entry is randomised independently and is :math:`\epsilon`-DP on its own.

    Parameters
    ----------
    epsilon : float
        Privacy parameter :math:`\epsilon`, in (0, inf]. ``inf`` returns the value unchanged.
        Values below about :math:`2^{-44}` (where even a 4-bit grid cannot hold the noise scale
        in int64) raise ``InvalidParameterError`` naming ``epsilon``.
    delta : float, default: 0.0
        Accepted for diffprivlib's standard call ``Laplace(epsilon=..., delta=0, sensitivity=...)``;
        the mechanism is pure :math:`\epsilon`-DP, so any other value raises
        ``InvalidParameterError`` (a ``ValueError``) naming ``delta``.
    sensitivity : float
        The sensitivity :math:`\Delta` of each value, in [0, inf), with
        :math:`\Delta / \epsilon \le 2^{1000}` (so that no output overflows).
    random_state : int or RandomState, optional
        Seed for reproducible draws. With None (default) the random bits come from the OS CSPRNG
        (``secrets.SystemRandom``, i.e. ``os.urandom``), as in diffprivlib.
    accountant : BudgetAccountant, optional
        Accountant charged ``epsilon`` on each call of :meth:`randomise` (default: diffprivlib's
        default accountant), once per call whatever the array size, in O(1) time per call.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) for a parameter outside its range, naming it.

    References
    ----------
    .. [CKS20] Canonne, Kamath, Steinke. "The Discrete Gaussian for Differential Privacy."
       NeurIPS 2020 (exact Bernoulli(exp(-x)) and discrete Laplace sampling).
    .. [Mir12] Mironov. "On significance of the least significant bits for differential
       privacy." CCS 2012.
    .. [HDH22] Haney, Desfontaines, Hartman, Shrestha, Hay. "Precision-based attacks and
       interval refining: how to break, then fix, differential privacy on finite computers."
       arXiv:2207.13793 (2022).
    """

    _parameter_constraints = {
        **BASE_CONSTRAINTS,
        "sensitivity": [Interval(numbers.Real, 0, math.inf, closed="left")],
    }

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float = 0.0,
        sensitivity: float,
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        super().__init__(
            epsilon=epsilon, delta=delta, random_state=random_state, accountant=accountant
        )
        self.sensitivity = sensitivity
        self._check_all(0.0)
        self.sensitivity = float(sensitivity)

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        self._grid()
        return True

    def _grid(self) -> tuple[float, int, int]:
        """``(g, delta_units, scale_units)``: granularity, integer sensitivity and noise scale."""
        eps, sens = float(self.epsilon), float(self.sensitivity)
        cache = getattr(self, "_grid_cache", None)
        if cache is not None and cache[0] == (eps, sens):
            return cache[1]
        grid = self._make_grid(eps, sens)
        self._grid_cache = ((eps, sens), grid)
        return grid

    @staticmethod
    def _make_grid(eps: float, sens: float) -> tuple[float, int, int]:
        if sens == 0 or math.isinf(eps):
            return 1.0, 0, 0
        if sens / eps > _MAX_NOISE_SCALE:
            raise InvalidParameterError(
                f"sensitivity / epsilon = {sens / eps:.3g} exceeds 2**1000: the outputs would "
                f"overflow float64; got sensitivity={sens}, epsilon={eps}"
            )
        # frexp is exact where log2 may round: min(...) = f * 2**e with 0.5 <= f < 1.
        top = math.frexp(min(sens, sens / eps))[1] - 1
        # 2**bits / epsilon grid units of noise must stay below _MAX_SCALE_UNITS.
        bits = min(GRID_BITS, math.floor(math.log2(_MAX_SCALE_UNITS * min(eps, 1.0))) - 2)
        if bits < MIN_GRID_BITS:
            raise InvalidParameterError(
                f"epsilon={eps} is too small: the exact discrete noise needs epsilon >= "
                f"{2.0 ** (MIN_GRID_BITS + 2) / _MAX_SCALE_UNITS:.3g}"
            )
        exponent = top - bits
        if min(sens, sens / eps) == 0 or exponent < -1022:
            raise InvalidParameterError(
                f"sensitivity={sens} (with epsilon={eps}) is too small for a normal-float grid; "
                f"rescale the data so that min(sensitivity, sensitivity / epsilon) >= 1e-290"
            )
        g = math.ldexp(1.0, exponent)
        delta_units = math.floor(sens / g) + 1
        scale_units = math.ceil(Fraction(delta_units) / Fraction(eps))
        if scale_units > _MAX_SCALE_UNITS:  # guarded by the choice of bits; kept as a check
            raise InvalidParameterError(
                f"epsilon={eps} is too small relative to the grid (noise scale of "
                f"{scale_units} grid units > 2**50)"
            )
        return g, delta_units, scale_units

    @property
    def granularity(self) -> float:
        """The grid step ``g``: every output is an integer multiple of it."""
        return self._grid()[0]

    def effective_epsilon(self) -> float:
        """The privacy loss actually guaranteed, ``delta_units / scale_units <= epsilon``."""
        _, delta_units, scale_units = self._grid()
        return float(Fraction(delta_units, scale_units)) if scale_units else 0.0

    def _units(self, arr: np.ndarray, g: float) -> np.ndarray:
        with np.errstate(over="ignore"):  # an overflow to inf is refused just below
            units = np.asarray(arr / g)  # exact: g is a power of two
        if not (units.max(initial=0.0) < _MAX_UNITS and units.min(initial=0.0) > -_MAX_UNITS):
            raise ValueError(
                f"value must satisfy |value| < {_MAX_UNITS * g:.6g} for epsilon={self.epsilon}, "
                f"sensitivity={self.sensitivity} (grid step {g:.3g})"
            )
        return np.rint(units, out=units)

    def bias(self, value: Any) -> Any:
        """Bias at ``value``: the snapping offset ``round(value / g) * g - value`` (noise is 0-mean)."""
        self._check_all(value)
        arr = as_real_array(value)
        if self.sensitivity == 0 or math.isinf(self.epsilon):
            return np.zeros_like(arr)[()]
        g = self._grid()[0]
        return (self._units(arr, g) * g - arr)[()]

    def variance(self, value: Any) -> float:
        """Variance of the discrete Laplace noise, ``2 q / (1 - q)**2 * g**2``, ``q = exp(-1/s)``."""
        self._check_all(value)
        g, _, scale_units = self._grid()
        if scale_units == 0:
            return 0.0
        one_minus_q = -math.expm1(-1.0 / scale_units)
        return 2.0 * (1.0 - one_minus_q) / one_minus_q**2 * g * g

    def randomise(self, value: Any) -> Any:
        """Randomise a real scalar (returns a float) or an array (returns a new float64 array).

        The caller's array is never modified.
        """
        self._check_all(value)
        arr = as_real_array(value)
        g, _, scale_units = self._grid()
        accountant = self._accountant()
        if scale_units == 0:  # zero sensitivity or epsilon = inf: nothing to hide
            out = arr.copy()
        else:
            units = self._units(arr, g).astype(np.int64)
            units += discrete_laplace(self._rng, scale_units, units.size).reshape(units.shape)
            out = units.astype(np.float64)
            out *= g
        self._spend(accountant)
        return float(out) if out.ndim == 0 else out
