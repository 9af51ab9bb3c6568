"""The Gaussian mechanism made differentially private as floating-point numbers."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..._validation import Interval, InvalidParameterError, check_params
from ._base import BASE_CONSTRAINTS, AccountedMechanism, as_real_array
from ._discrete_gaussian import (
    calibrate_sigma,
    discrete_gaussian,
    discrete_gaussian_delta,
    discrete_gaussian_variance,
)

# Grid granularity g = 2**(floor(log2(min(sensitivity, sigma_ref))) - GRID_BITS), as SecureLaplace.
GRID_BITS = 20
_MAX_UNITS = 2.0**61
_MAX_SIGMA_UNITS = 2**50


class SecureGaussian(AccountedMechanism):
    r"""Gaussian mechanism that is :math:`(\epsilon, \delta)`-DP (and zCDP) *as floats*.

    diffprivlib's :class:`~diffprivlib.mechanisms.Gaussian` and
    :class:`~diffprivlib.mechanisms.GaussianAnalytic` add a continuous normal sample in floating
    point, so the low bits of the output depend on the input (Haney et al. 2022; diffprivlib #94).
    Here the output is exactly a discrete Gaussian mechanism (Canonne, Kamath & Steinke 2020) on a
    fixed power-of-two grid, the design of :class:`SecureLaplace`:

    1. the value is snapped to the grid of step :math:`g = 2^{\lfloor \log_2 \min(\Delta,
       \sigma_{\mathrm{ref}}) \rfloor - 20}`, :math:`\sigma_{\mathrm{ref}} = \Delta
       \sqrt{2 \ln(1.25/\delta)}/\epsilon`, giving an integer :math:`n` (exact);
    2. the integer sensitivity is :math:`\Delta_g = \lfloor \Delta / g \rfloor + 1` (snapping can
       move neighbours one more step apart);
    3. the integer :math:`\sigma_g` is the smallest for which the discrete Gaussian
       :math:`\mathcal{N}_\mathbb{Z}(0, \sigma_g^2)` with sensitivity :math:`\Delta_g` is
       :math:`(\epsilon, \delta)`-DP by the *exact* privacy profile of CKS20 Theorem 7 (tail sums
       bounded rigorously by integrals), so no slack of the classic
       :math:`\sqrt{2\ln(1.25/\delta)}` bound is paid: the noise is that of the analytic Gaussian
       (Balle & Wang 2018) within :math:`2^{-19}`;
    4. :math:`Z \sim \mathcal{N}_\mathbb{Z}(0, \sigma_g^2)` is drawn exactly from random bits
       (CKS20 Algorithm 3, vectorised, exact Bernoulli tests by interval refining) and the output
       is :math:`(n + Z)\, g`, a post-processing of the private integer.

    **Parameterisations.** :math:`(\epsilon, \delta)`: as above, any :math:`\epsilon > 0` (no
    :math:`\epsilon \le 1` limit). zCDP: the same output is :math:`\rho`-zCDP with
    :math:`\rho = \Delta_g^2 / (2 \sigma_g^2)` (CKS20 Theorem 4), read by :meth:`zcdp_rho`; to
    calibrate for a target :math:`\rho` use :meth:`from_zcdp`.

    ``randomise`` takes a scalar or an array (vectorised); each entry is randomised
    independently and is :math:`(\epsilon, \delta)`-DP on its own.

    Parameters
    ----------
    epsilon : float
        Privacy parameter :math:`\epsilon`, in (0, inf]. ``inf`` returns the value unchanged.
    delta : float
        Privacy parameter :math:`\delta`, in (0, 1].
    sensitivity : float
        The L2 (= L1 for a scalar) sensitivity :math:`\Delta` of each value, finite and >= 0.
    random_state : int or RandomState, optional
        Seed for reproducible draws; None (default) draws from the OS CSPRNG, as in diffprivlib.
    accountant : BudgetAccountant, optional
        Accountant charged ``(epsilon, delta)`` on each call of :meth:`randomise` (default:
        diffprivlib's default accountant).

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and ``TypeError``) for a parameter outside the ranges above; also
        ``ValueError`` when :math:`\sigma_g` would exceed :math:`2^{50}` grid steps.

    References
    ----------
    .. [CKS20] Canonne, Kamath, Steinke. "The Discrete Gaussian for Differential Privacy."
       NeurIPS 2020 (Algorithm 3, Theorems 4 and 7).
    .. [BW18] Balle, Wang. "Improving the Gaussian Mechanism for Differential Privacy."
       ICML 2018.
    .. [HDH22] Haney et al. "Precision-based attacks and interval refining." arXiv:2207.13793.
    """

    _parameter_constraints = {
        **BASE_CONSTRAINTS,
        "delta": [Interval(numbers.Real, 0, 1, closed="right")],
        "sensitivity": [Interval(numbers.Real, 0, math.inf, closed="left")],
    }

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float,
        sensitivity: float,
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        check_params(
            self,
            {"epsilon": epsilon, "delta": delta, "sensitivity": sensitivity},
            self._parameter_constraints,
        )
        super().__init__(
            epsilon=epsilon, delta=delta, random_state=random_state, accountant=accountant
        )
        self.sensitivity = float(sensitivity)
        self._cache: tuple | None = None
        self._grid()

    @classmethod
    def from_zcdp(
        cls, *, rho: float, delta: float, sensitivity: float, random_state: Any = None, **kw: Any
    ) -> SecureGaussian:
        r"""A mechanism that is :math:`\rho`-zCDP, accounted as the :math:`(\epsilon, \delta)`
        it implies by the CKS20 profile (the smallest :math:`\epsilon` whose calibrated noise is
        at least :math:`\Delta / \sqrt{2\rho}`).

        Raises
        ------
        InvalidParameterError
            ``rho`` not a positive finite real.
        """
        check_params(
            cls, {"rho": rho}, {"rho": [Interval(numbers.Real, 0, None, closed="neither")]}
        )
        if not math.isfinite(rho):
            raise InvalidParameterError(f"The 'rho' parameter of {cls.__name__} must be finite")
        # The largest epsilon whose calibrated noise still gives zcdp_rho() <= rho (bisection;
        # the standard conversion rho + 2 sqrt(rho ln(1/delta)) bounds it from above).
        lo, hi = 0.0, rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta)) + 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if cls(epsilon=mid, delta=delta, sensitivity=sensitivity).zcdp_rho() <= rho:
                lo = mid
            else:
                hi = mid
        if lo == 0.0:
            raise ValueError(f"rho={rho} is too small for delta={delta}")
        return cls(
            epsilon=lo, delta=delta, sensitivity=sensitivity, random_state=random_state, **kw
        )

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        if isinstance(delta, numbers.Real) and not isinstance(delta, bool) and delta == 0:
            raise InvalidParameterError(
                f"The 'delta' parameter of {cls.__name__} must be > 0 (the Gaussian mechanism "
                "is not pure DP); use SecureLaplace for delta = 0"
            )
        return super()._check_epsilon_delta(epsilon, delta)

    def _check_all(self, value: Any) -> bool:
        params = {"epsilon": self.epsilon, "delta": self.delta, "sensitivity": self.sensitivity}
        key = tuple((k, type(v), v) for k, v in params.items())
        if self.__dict__.get("_checked") != key:  # re-validate only what changed since
            check_params(self, params, self._parameter_constraints)
            self._checked = key
        super()._check_all(value)
        return True

    def _grid(self) -> tuple[float, int, int]:
        """``(g, delta_units, sigma_units)``, cached per ``(epsilon, delta, sensitivity)``."""
        key = (self.epsilon, self.delta, self.sensitivity)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        eps, delta, sens = key
        if sens == 0 or math.isinf(eps):
            grid = (1.0, 0, 0)
        else:
            sigma_ref = sens * math.sqrt(2.0 * math.log(1.25 / delta)) / eps
            exponent = math.floor(math.log2(min(sens, sigma_ref))) - GRID_BITS
            if exponent < -1000:
                raise ValueError(f"sensitivity {sens} is too small for a normal-float grid")
            g = math.ldexp(1.0, exponent)
            delta_units = math.floor(sens / g) + 1
            sigma_units = calibrate_sigma(eps, delta, delta_units)
            sigma_units = max(sigma_units, math.ceil(self._sigma_floor() / g))
            if sigma_units > _MAX_SIGMA_UNITS:
                raise ValueError(
                    f"epsilon={eps}, delta={delta} need a noise of {sigma_units} grid steps "
                    "(> 2**50): increase epsilon or delta"
                )
            grid = (g, delta_units, sigma_units)
        self._cache = (key, grid)
        return grid

    def _sigma_floor(self) -> float:
        """A lower bound on the noise scale (value units) a subclass may impose; none here."""
        return 0.0

    @property
    def granularity(self) -> float:
        """The grid step ``g``: every output is an integer multiple of it."""
        return self._grid()[0]

    @property
    def scale(self) -> float:
        """The noise scale :math:`\\sigma = \\sigma_g g` (same units as the value)."""
        g, _, sigma_units = self._grid()
        return sigma_units * g

    def zcdp_rho(self) -> float:
        """The zCDP parameter :math:`\\rho = \\Delta_g^2 / (2 \\sigma_g^2)` (CKS20 Theorem 4)."""
        _, delta_units, sigma_units = self._grid()
        return 0.0 if sigma_units == 0 else delta_units**2 / (2.0 * sigma_units**2)

    def effective_delta(self) -> float:
        """The delta actually guaranteed at ``epsilon`` (CKS20 Theorem 7 bound, ``<= delta``)."""
        _, delta_units, sigma_units = self._grid()
        if sigma_units == 0:
            return 0.0
        return discrete_gaussian_delta(sigma_units, self.epsilon, delta_units)

    def _units(self, arr: np.ndarray, g: float) -> np.ndarray:
        units = np.asarray(arr / g)  # exact: g is a power of two
        if not (units.max(initial=0.0) < _MAX_UNITS and units.min(initial=0.0) > -_MAX_UNITS):
            raise ValueError(
                f"value must satisfy |value| < {_MAX_UNITS * g:.6g} for epsilon={self.epsilon}, "
                f"delta={self.delta}, sensitivity={self.sensitivity} (grid step {g:.3g})"
            )
        return np.rint(units, out=units)

    def bias(self, value: Any) -> Any:
        """Bias at ``value``: the snapping offset ``round(value / g) * g - value``.

        Returns a float, or an array of the value's shape. The noise itself has mean 0.
        """
        self._check_all(value)
        arr = as_real_array(value)
        g, _, sigma_units = self._grid()
        if sigma_units == 0:
            return np.zeros_like(arr)[()]
        return (self._units(arr, g) * g - arr)[()]

    def variance(self, value: Any) -> float:
        """Variance of the discrete Gaussian noise, :math:`\\mathrm{Var}\\,\\mathcal{N}_\\mathbb{Z}
        (0, \\sigma_g^2)\\, g^2` (Poisson summation; equal to :math:`\\sigma^2` in float64)."""
        self._check_all(value)
        g, _, sigma_units = self._grid()
        return 0.0 if sigma_units == 0 else discrete_gaussian_variance(sigma_units) * g * g

    def randomise(self, value: Any) -> Any:
        """Randomise a real scalar (returns a float) or an array (returns a new float64 array).

        Raises
        ------
        TypeError
            ``value`` not real numbers.
        ValueError
            ``value`` not finite, or too large for the grid.
        BudgetError
            The accountant's budget would be exceeded (nothing is drawn or spent).
        """
        self._check_all(value)
        arr = as_real_array(value)
        g, _, sigma_units = self._grid()
        accountant = self._accountant()
        if sigma_units == 0:
            out = arr.copy()
        else:
            units = self._units(arr, g).astype(np.int64)
            units += discrete_gaussian(self._rng, sigma_units, units.size).reshape(units.shape)
            out = units.astype(np.float64)
            out *= g
        self._spend(accountant)
        return float(out) if out.ndim == 0 else out
