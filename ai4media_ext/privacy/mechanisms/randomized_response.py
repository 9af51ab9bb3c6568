"""Generalized randomized response (k-RR) on integer labels."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..._validation import Interval, InvalidParameterError
from ._base import BASE_CONSTRAINTS, AccountedMechanism
from ._random import bernoulli, uniform_int


class GeneralizedRandomizedResponse(AccountedMechanism):
    r"""k-ary randomized response on integer labels in ``{0, ..., k-1}``.

    Each label is kept with probability :math:`p = e^\epsilon / (e^\epsilon + k - 1)` and replaced
    by each other label with probability :math:`q = 1 / (e^\epsilon + k - 1)`, which is
    :math:`\epsilon`-local DP (:math:`p / q = e^\epsilon`). :attr:`transition_matrix` is the
    ``k x k`` matrix :math:`T_{ij} = P(\tilde y = j \mid y = i)` used by LPGNN's forward correction.

    Parameters
    ----------
    epsilon : float
        Privacy budget per label, in (0, inf]; ``inf`` keeps every label.
    delta : float, default: 0.0
        Accepted for diffprivlib's ``DPMechanism`` signature; only 0 (pure LDP) is allowed.
    k : int
        Number of classes, >= 2.
    random_state : int or RandomState, optional
        Seed for reproducible draws (default: OS CSPRNG).
    accountant : BudgetAccountant, optional
        Charged ``epsilon`` per :meth:`randomise` call (each entry is one individual's label:
        parallel composition); default: diffprivlib's default accountant.

    Raises
    ------
    InvalidParameterError
        (a ``ValueError`` and a ``TypeError``) for a parameter outside its range, naming it.
    """

    _parameter_constraints = {
        **BASE_CONSTRAINTS,
        "k": [Interval(numbers.Integral, 2, None, closed="left")],
    }

    def __init__(
        self,
        *,
        epsilon: float,
        delta: float = 0.0,
        k: int,
        random_state: Any = None,
        accountant: Any = None,
    ) -> None:
        super().__init__(
            epsilon=epsilon, delta=delta, random_state=random_state, accountant=accountant
        )
        self.k = k
        self._check_all(0)
        self.k = int(k)

    @property
    def keep_probability(self) -> float:
        """:math:`p = e^\\epsilon / (e^\\epsilon + k - 1)` (1 when epsilon is inf)."""
        if math.isinf(self.epsilon):
            return 1.0
        # Written as 1 / (1 + (k-1) e^-eps) so large epsilon does not overflow.
        return 1.0 / (1.0 + (self.k - 1) * math.exp(-self.epsilon))

    @property
    def transition_matrix(self) -> np.ndarray:
        """``T[i, j] = P(reported j | true i)``: p on the diagonal, q elsewhere."""
        p = self.keep_probability
        q = (1.0 - p) / (self.k - 1)
        t = np.full((self.k, self.k), q)
        np.fill_diagonal(t, p)
        return t

    def _labels(self, value: Any) -> np.ndarray:
        if hasattr(value, "detach"):  # torch tensors
            value = value.detach().cpu().numpy()
        y = np.asarray(value)
        if y.dtype == bool or not np.issubdtype(y.dtype, np.integer):
            raise InvalidParameterError(f"value must be integer labels, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= self.k):
            raise InvalidParameterError(
                f"value must hold labels in [0, {self.k - 1}]; got [{y.min()}, {y.max()}]"
            )
        return y

    def randomise(self, value: Any) -> Any:
        """Perturb an int label or an integer array of labels (returns a new array)."""
        self._check_all(value)
        y = self._labels(value)
        accountant = self._accountant()
        flat = y.ravel().astype(np.int64)
        keep = bernoulli(self._rng, np.full(flat.shape, self.keep_probability))
        # A uniformly chosen *other* label: shift by 1..k-1 modulo k.
        shift = 1 + uniform_int(self._rng, self.k - 1, flat.size).astype(np.int64)
        out = np.where(keep, flat, (flat + shift) % self.k).reshape(y.shape).astype(y.dtype)
        self._spend(accountant)
        return out[()] if out.ndim == 0 else out
