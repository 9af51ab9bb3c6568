"""Validation and budget accounting shared by the ai4media-ext diffprivlib mechanisms."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism


class AccountedMechanism(DPMechanism):
    """A :class:`~diffprivlib.mechanisms.DPMechanism` that spends its budget on a accountant.

    diffprivlib's own mechanisms never touch the accountant (its tools and models do). Ours take
    ``accountant=`` and follow the tools' order on every :meth:`randomise` call: ``check`` the
    spend before drawing, ``spend`` it after. ``accountant=None`` uses the default accountant
    (``BudgetAccountant.load_default``), exactly as diffprivlib's tools do.
    """

    def __init__(self, *, epsilon: float, delta: float, random_state: Any = None, accountant=None):
        super().__init__(epsilon=epsilon, delta=delta, random_state=random_state)
        self.accountant = accountant

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        if isinstance(epsilon, bool | np.bool_) or not isinstance(epsilon, numbers.Real):
            raise TypeError(f"epsilon must be a real number, got {type(epsilon).__name__}")
        if not epsilon > 0:  # also rejects NaN
            raise ValueError(f"epsilon must be > 0 (inf allowed), got {epsilon}")
        return super()._check_epsilon_delta(epsilon, delta)

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        if self.accountant is not None and not isinstance(self.accountant, BudgetAccountant):
            raise TypeError(
                f"accountant must be a diffprivlib BudgetAccountant or None, "
                f"got {type(self.accountant).__name__}"
            )
        return True

    def _accountant(self) -> BudgetAccountant:
        accountant = BudgetAccountant.load_default(self.accountant)
        accountant.check(self.epsilon, self.delta)
        return accountant

    @staticmethod
    def _check_sensitivity(sensitivity: Any) -> float:
        if isinstance(sensitivity, bool | np.bool_) or not isinstance(sensitivity, numbers.Real):
            raise TypeError(f"sensitivity must be a real number, got {type(sensitivity).__name__}")
        if not (sensitivity >= 0 and math.isfinite(sensitivity)):
            raise ValueError(f"sensitivity must be finite and >= 0, got {sensitivity}")
        return float(sensitivity)


def as_real_array(value: Any, name: str = "value", keep_float: bool = False) -> np.ndarray:
    """A real scalar or array as a float array (float64, or the input's own float dtype with
    ``keep_float``), copied only when the dtype changes; TypeError/ValueError naming ``name``."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be real numbers, got bool")
    if isinstance(value, numbers.Real):
        arr = np.asarray(float(value))
    else:
        arr = np.asarray(value)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
        ):
            raise TypeError(
                f"{name} must be a real number or an array of reals, got dtype {arr.dtype} "
                f"({type(value).__name__})"
            )
        if not (keep_float and np.issubdtype(arr.dtype, np.floating)):
            arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr
