"""LPGNN's multi-bit feature mechanism (Sajadmanesh & Gatica-Perez, CCS 2021)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..._validation import Interval, InvalidParameterError, Options
from ._base import BASE_CONSTRAINTS, AccountedMechanism, as_real_array
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

    The probabilities are computed in the numerically stable form
    :math:`1/(e^{\epsilon/m}+1) = \sigma(-\epsilon/m)` and
    :math:`(e^{\epsilon/m}-1)/(e^{\epsilon/m}+1) = \tanh(\epsilon/2m)`, so every finite
    epsilon (1e-9 to 1e300) works without overflow.

    Parameters
    ----------
    epsilon : float
        Per-node privacy budget, in (0, inf).
    delta : float, default: 0.0
        Accepted for diffprivlib's ``DPMechanism`` signature; the mechanism is pure
        :math:`\epsilon`-LDP, so only 0 is allowed.
    alpha, beta : float
        The feature range ``[alpha, beta]`` (``alpha < beta``, both finite); values outside it
        are rejected.
    m : int or "best" or "max", default "best"
        Features sampled per node. ``"best"`` is the paper's choice
        :math:`m = \max(1, \min(d, \lfloor \epsilon / 2.18 \rfloor))`; ``"max"`` uses ``m = d``
        (the 1-bit mechanism baseline).
    random_state : int or RandomState, optional
        Seed for reproducible draws (default: OS CSPRNG).
    accountant : BudgetAccountant, optional
        Charged ``epsilon`` per :meth:`randomise` call (each row is one node: parallel
        composition across rows); default: diffprivlib's default accountant.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) for a parameter outside its range, naming it.

    References
    ----------
    .. [SG21] Sajadmanesh, Gatica-Perez. "Locally Private Graph Neural Networks." CCS 2021.
    """

    _parameter_constraints = {
        **BASE_CONSTRAINTS,
        # finite: use the raw features for epsilon = inf
        "epsilon": [Interval(numbers.Real, 0, math.inf, closed="neither")],
        "alpha": [Interval(numbers.Real, -math.inf, math.inf, closed="neither")],
        "beta": [Interval(numbers.Real, -math.inf, math.inf, closed="neither")],
        "m": [Interval(numbers.Integral, 1, None, closed="left"), Options(str, {"best", "max"})],
    }

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float = 0.0,
        alpha: float = 0.0,
        beta: float = 1.0,
        m: int | str = "best",
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        super().__init__(
            epsilon=epsilon, delta=delta, random_state=random_state, accountant=accountant
        )
        self.alpha, self.beta, self.m = alpha, beta, m
        self._check_all(0.0)
        self.alpha, self.beta = float(alpha), float(beta)
        self.m = m if isinstance(m, str) else int(m)

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        if not self.alpha < self.beta:
            raise InvalidParameterError(
                f"alpha must be < beta, got alpha={self.alpha}, beta={self.beta}"
            )
        return True

    def sampled_features(self, d: int) -> int:
        """The ``m`` used for ``d`` features."""
        if self.m == "best":
            return max(1, min(d, math.floor(self.epsilon / 2.18)))
        if self.m == "max":
            return d
        if self.m > d:
            raise InvalidParameterError(f"m={self.m} exceeds the number of features d={d}")
        return int(self.m)

    def _rectifier(self, d: int) -> tuple[int, float, float]:
        """``(m, scale, offset)`` of the rectifier ``x' = scale * x* + offset`` for d features."""
        m = self.sampled_features(d)
        # (e + 1) / (e - 1) = 1 / tanh(eps / 2m), e = exp(eps / m): no overflow for large eps
        scale = d * (self.beta - self.alpha) / (2.0 * m) / math.tanh(self.epsilon / (2.0 * m))
        return m, scale, (self.alpha + self.beta) / 2.0

    def rectifier(self, d: int) -> tuple[float, float]:
        """``(scale, offset)`` of the rectifier :math:`x' = scale \\cdot x^* + offset` for ``d``
        features (for consumers of :meth:`randomise_sparse` that keep :math:`x'` as a sparse
        matrix plus a constant)."""
        self._check_all(0.0)
        _, scale, offset = self._rectifier(int(d))
        return scale, offset

    def _matrix(self, value: Any) -> np.ndarray:
        # float32 features stay float32: only the sampled entries are ever computed with.
        x = as_real_array(value, keep_float=True)
        if x.ndim != 2 or 0 in x.shape:
            raise InvalidParameterError(
                f"value must be a non-empty 2-D array (nodes x features), got {x.shape}"
            )
        if np.any(x < self.alpha) or np.any(x > self.beta):
            raise InvalidParameterError(
                f"value must lie in [alpha, beta] = [{self.alpha}, {self.beta}]; "
                f"got range [{x.min()}, {x.max()}]"
            )
        return x

    def _sample_indices(self, n: int, d: int, m: int) -> np.ndarray:
        """``(n, m)`` int64 array: ``m`` distinct, uniformly chosen feature indices per row,
        sorted within each row."""
        if m * m <= d:
            # Few features: draw m indices per row, redraw the rare rows with a repeat.
            idx = uniform_int(self._rng, d, n * m).astype(np.int64).reshape(n, m)
            while m > 1:
                s = np.sort(idx, axis=1)
                bad = np.flatnonzero(np.any(s[:, 1:] == s[:, :-1], axis=1))
                if bad.size == 0:
                    break
                idx[bad] = uniform_int(self._rng, d, bad.size * m).astype(np.int64).reshape(-1, m)
            return np.sort(idx, axis=1)
        # Many features: the m smallest of d uniform keys per row, a block of rows at a time.
        idx = np.empty((n, m), dtype=np.int64)
        block = max(1, 2**22 // d)
        for start in range(0, n, block):
            stop = min(n, start + block)
            keys = uniform_float(self._rng, (stop - start) * d).reshape(stop - start, d)
            idx[start:stop] = np.argpartition(keys, m - 1, axis=1)[:, :m]
        return np.sort(idx, axis=1)

    def encode_entries(self, n: int, d: int, gather: Any) -> tuple[np.ndarray, np.ndarray]:
        """The encoder on ``n`` rows of ``d`` features, reading only the sampled entries.

        ``gather(rows, cols)`` must return the values (in ``[alpha, beta]``) at the given
        ``(n * m,)`` row and column indices. Returns ``(cols, signs)``: the sampled feature
        indices, shape ``(n, m)`` int64 sorted within each row, and their encoded values
        :math:`x^*_i`, shape ``(n, m)`` int8 in ``{-1, 1}``. Charges the accountant like
        :meth:`randomise` (which is this plus a dense scatter; both draw identically).

        Raises
        ------
        InvalidParameterError
            ``gather`` returned values outside ``[alpha, beta]`` or of the wrong size.
        """
        self._check_all(0.0)
        m = self.sampled_features(d)
        accountant = self._accountant()
        t = self.epsilon / m
        # 1 / (e + 1) = expit(-t) and (e - 1) / (e + 1) = tanh(t / 2), stable for any t > 0
        base = 0.5 * (1.0 - math.tanh(t / 2.0))
        slope = math.tanh(t / 2.0)
        cols = self._sample_indices(n, d, m)
        rows = np.repeat(np.arange(n, dtype=np.int64), m)
        values = np.asarray(gather(rows, cols.reshape(-1)), dtype=np.float64).reshape(-1)
        if values.size != n * m:
            raise InvalidParameterError(f"gather returned {values.size} values, need {n * m}")
        if values.size and (values.min() < self.alpha or values.max() > self.beta):
            raise InvalidParameterError(
                f"value must lie in [alpha, beta] = [{self.alpha}, {self.beta}]; "
                f"got range [{values.min()}, {values.max()}]"
            )
        p = base + (values - self.alpha) / (self.beta - self.alpha) * slope
        signs = np.where(bernoulli(self._rng, p), 1, -1).astype(np.int8).reshape(n, m)
        self._spend(accountant)
        return cols, signs

    def randomise(self, value: Any) -> np.ndarray:
        """Encode a feature matrix; returns an int8 array of {-1, 0, 1} of the same shape."""
        self._check_all(value)
        x = self._matrix(value)
        n, d = x.shape
        cols, signs = self.encode_entries(n, d, lambda r, c: x[r, c])
        out = np.zeros((n, d), dtype=np.int8)
        np.put_along_axis(out, cols, signs, axis=1)
        return out

    def randomise_sparse(self, value: Any) -> Any:
        """:meth:`randomise` as a ``scipy.sparse.csr_array`` (int8, exactly ``m`` stored
        entries per row, the same draws under the same seed): the encoding of an
        ``(n, d)`` matrix in ``O(n m)`` memory instead of ``O(n d)``. ``value`` may be a dense
        array or a scipy sparse matrix; only the sampled entries are read.
        """
        import scipy.sparse as sp

        self._check_all(0.0)
        if sp.issparse(value):
            x = sp.csr_array(value)
            if x.ndim != 2 or 0 in x.shape:
                raise InvalidParameterError(f"value must be a non-empty 2-D matrix, got {x.shape}")
            if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
                raise InvalidParameterError(f"value must hold real numbers, got {x.dtype}")
            if not np.all(np.isfinite(x.data)):
                raise InvalidParameterError("value must be finite (no NaN or inf)")
            lo, hi = x.min(), x.max()
            if lo < self.alpha or hi > self.beta:
                raise InvalidParameterError(
                    f"value must lie in [alpha, beta] = [{self.alpha}, {self.beta}]; "
                    f"got range [{lo}, {hi}]"
                )
            gather = lambda r, c: np.asarray(x[r, c]).reshape(-1)  # noqa: E731
        else:
            x = self._matrix(value)
            gather = lambda r, c: x[r, c]  # noqa: E731
        n, d = x.shape
        cols, signs = self.encode_entries(n, d, gather)
        m = cols.shape[1]
        indptr = np.arange(0, n * m + 1, m, dtype=np.int64)
        return sp.csr_array((signs.reshape(-1), cols.reshape(-1), indptr), shape=(n, d))

    def rectify(self, encoded: Any, dtype: Any = np.float64) -> np.ndarray:
        """Unbiased estimate of the features from the encoded matrix (same shape, ``dtype``)."""
        self._check_all(0.0)
        x_star = as_real_array(encoded, name="encoded", keep_float=True)
        if x_star.ndim != 2:
            raise InvalidParameterError(f"encoded must be a 2-D array, got shape {x_star.shape}")
        if not np.issubdtype(np.dtype(dtype), np.floating):
            raise InvalidParameterError(f"dtype must be a floating dtype, got {dtype!r}")
        if not np.all((x_star == -1) | (x_star == 0) | (x_star == 1)):
            raise InvalidParameterError(
                "encoded must only hold -1, 0 and 1 (the output of randomise)"
            )
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
