"""LPGNN's multi-bit feature mechanism (Sajadmanesh & Gatica-Perez, CCS 2021)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ._base import AccountedMechanism, as_real_array
from ._random import bernoulli, uniform_float, uniform_int


class MultiBit(AccountedMechanism):
    r"""Multi-bit encoder and unbiased rectifier for a feature matrix (n nodes x d features).

    Each row (one node's feature vector with entries in ``[alpha, beta]``) is released under
    :math:`\epsilon`-local DP: ``m`` of the ``d`` features are sampled without replacement, and for
    each sampled feature :math:`i` a bit :math:`t_i \sim \mathrm{Bernoulli}(p_i)` with

    .. math:: p_i = \frac{1}{e^{\epsilon/m}+1} + \frac{x_i-\alpha}{\beta-\alpha}
              \cdot \frac{e^{\epsilon/m}-1}{e^{\epsilon/m}+1}

    is encoded as :math:`x^*_i = 2t_i - 1 \in \{-1, 1\}`; unsampled features are 0. :meth:`rectify`
    turns :math:`x^*` into the unbiased estimate

    .. math:: x'_i = \frac{d(\beta-\alpha)}{2m}\cdot\frac{e^{\epsilon/m}+1}{e^{\epsilon/m}-1}
              \cdot x^*_i + \frac{\alpha+\beta}{2}, \qquad E[x'] = x.

    Parameters
    ----------
    epsilon : float
        Per-node privacy budget, in (0, inf).
    alpha, beta : float
        The feature range ``[alpha, beta]`` (``alpha < beta``); values outside it are rejected.
    m : int or "best" or "max", default "best"
        Features sampled per node. ``"best"`` is the paper's choice
        :math:`m = \max(1, \min(d, \lfloor \epsilon / 2.18 \rfloor))`; ``"max"`` uses ``m = d``
        (the 1-bit mechanism baseline).
    random_state : int or RandomState, optional
        Seed for reproducible draws (default: OS CSPRNG).
    accountant : BudgetAccountant, optional
        Charged ``epsilon`` per :meth:`randomise` call (each row is one node: parallel
        composition across rows).

    References
    ----------
    .. [SG21] Sajadmanesh, Gatica-Perez. "Locally Private Graph Neural Networks." CCS 2021.
    """

    def __init__(
        self,
        *,
        epsilon: float,
        alpha: float = 0.0,
        beta: float = 1.0,
        m: int | str = "best",
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        super().__init__(
            epsilon=epsilon, delta=0.0, random_state=random_state, accountant=accountant
        )
        self.alpha, self.beta = self._check_range(alpha, beta)
        self.m = self._check_m(m)

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        epsilon, delta = super()._check_epsilon_delta(epsilon, delta)
        if math.isinf(epsilon):
            raise ValueError("epsilon must be finite for MultiBit (use the raw features instead)")
        return epsilon, delta

    @staticmethod
    def _check_range(alpha: Any, beta: Any) -> tuple[float, float]:
        for name, v in (("alpha", alpha), ("beta", beta)):
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
            if not math.isfinite(v):
                raise ValueError(f"{name} must be finite, got {v}")
        if not alpha < beta:
            raise ValueError(f"alpha must be < beta, got alpha={alpha}, beta={beta}")
        return float(alpha), float(beta)

    @staticmethod
    def _check_m(m: Any) -> int | str:
        if isinstance(m, str):
            if m not in ("best", "max"):
                raise ValueError(f"m must be a positive int, 'best' or 'max', got {m!r}")
            return m
        if isinstance(m, bool) or not isinstance(m, numbers.Integral):
            raise TypeError(f"m must be a positive int, 'best' or 'max', got {type(m).__name__}")
        if m < 1:
            raise ValueError(f"m must be >= 1, got {m}")
        return int(m)

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        self._check_range(self.alpha, self.beta)
        self._check_m(self.m)
        return True

    def sampled_features(self, d: int) -> int:
        """The ``m`` used for ``d`` features."""
        if self.m == "best":
            return max(1, min(d, math.floor(self.epsilon / 2.18)))
        if self.m == "max":
            return d
        if self.m > d:
            raise ValueError(f"m={self.m} exceeds the number of features d={d}")
        return int(self.m)

    def _rectifier(self, d: int) -> tuple[int, float, float]:
        """``(m, scale, offset)`` of the rectifier ``x' = scale * x* + offset`` for d features."""
        m = self.sampled_features(d)
        e = math.exp(self.epsilon / m)
        scale = d * (self.beta - self.alpha) / (2.0 * m) * (e + 1.0) / (e - 1.0)
        return m, scale, (self.alpha + self.beta) / 2.0

    def _matrix(self, value: Any) -> np.ndarray:
        # float32 features stay float32: only the sampled entries are ever computed with.
        x = as_real_array(value, keep_float=True)
        if x.ndim != 2 or 0 in x.shape:
            raise ValueError(
                f"value must be a non-empty 2-D array (nodes x features), got {x.shape}"
            )
        if np.any(x < self.alpha) or np.any(x > self.beta):
            raise ValueError(
                f"value must lie in [alpha, beta] = [{self.alpha}, {self.beta}]; "
                f"got range [{x.min()}, {x.max()}]"
            )
        return x

    def _sample_mask(self, n: int, d: int, m: int) -> np.ndarray:
        """Boolean (n, d) mask with exactly ``m`` uniformly chosen True entries per row."""
        mask = np.zeros((n, d), dtype=bool)
        rows = np.arange(n)
        if m * m <= d:
            # Few features: draw m indices per row, redraw the rare rows with a repeat.
            idx = uniform_int(self._rng, d, n * m).astype(np.int64).reshape(n, m)
            while m > 1:
                s = np.sort(idx, axis=1)
                bad = np.flatnonzero(np.any(s[:, 1:] == s[:, :-1], axis=1))
                if bad.size == 0:
                    break
                idx[bad] = uniform_int(self._rng, d, bad.size * m).astype(np.int64).reshape(-1, m)
            mask[rows[:, None], idx] = True
            return mask
        # Many features: the m smallest of d uniform keys per row, a block of rows at a time.
        block = max(1, 2**22 // d)
        for start in range(0, n, block):
            stop = min(n, start + block)
            keys = uniform_float(self._rng, (stop - start) * d).reshape(stop - start, d)
            top = np.argpartition(keys, m - 1, axis=1)[:, :m]
            mask[rows[start:stop, None], top] = True
        return mask

    def randomise(self, value: Any) -> np.ndarray:
        """Encode a feature matrix; returns an int8 array of {-1, 0, 1} of the same shape."""
        self._check_all(value)
        x = self._matrix(value)
        n, d = x.shape
        m = self.sampled_features(d)
        accountant = self._accountant()
        e = math.exp(self.epsilon / m)
        mask = self._sample_mask(n, d, m)
        scaled = (x[mask].astype(np.float64) - self.alpha) / (self.beta - self.alpha)
        p = 1.0 / (e + 1.0) + scaled * (e - 1.0) / (e + 1.0)
        out = np.zeros((n, d), dtype=np.int8)
        out[mask] = np.where(bernoulli(self._rng, p), 1, -1)
        accountant.spend(self.epsilon, self.delta)
        return out

    def rectify(self, encoded: Any, dtype: Any = np.float64) -> np.ndarray:
        """Unbiased estimate of the features from the encoded matrix (same shape, ``dtype``)."""
        self._check_all(0.0)
        x_star = np.asarray(encoded)
        if x_star.ndim != 2:
            raise ValueError(f"encoded must be a 2-D array, got shape {x_star.shape}")
        if not (
            np.issubdtype(x_star.dtype, np.integer) or np.issubdtype(x_star.dtype, np.floating)
        ):
            raise TypeError(f"encoded must be numeric, got dtype {x_star.dtype}")
        if not np.all((x_star == -1) | (x_star == 0) | (x_star == 1)):
            raise ValueError("encoded must only hold -1, 0 and 1 (the output of randomise)")
        _, scale, offset = self._rectifier(x_star.shape[1])
        out = x_star.astype(dtype)
        out *= scale
        out += offset
        return out

    def bias(self, value: Any) -> float:
        """The rectified estimate is unbiased: 0."""
        self._check_all(value)
        return 0.0

    def variance(self, value: Any) -> np.ndarray:
        """Per-entry variance of the rectified estimate at feature matrix ``value``."""
        self._check_all(value)
        x = self._matrix(value).astype(np.float64, copy=False)
        d = x.shape[1]
        m, scale, mid = self._rectifier(d)
        # x' = scale * x* + mid with E[x*] = (x - mid) / scale and E[x*^2] = m / d, so
        # Var(x') = scale**2 * m / d - (x - mid)**2.
        return scale**2 * m / d - (x - mid) ** 2
