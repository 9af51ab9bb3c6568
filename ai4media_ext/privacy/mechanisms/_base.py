"""Validation and budget accounting shared by the ai4media-ext diffprivlib mechanisms."""

from __future__ import annotations

import math
import numbers
import weakref
from typing import Any

import numpy as np
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism
from diffprivlib.utils import BudgetError

from ..._validation import Interval, InvalidParameterError, check_params

#: Constraints shared by every mechanism here (subclasses extend the dict).
BASE_CONSTRAINTS: dict[str, list] = {
    # (0, inf]: the Interval's open right end is None, so inf is allowed.
    "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
    # Pure epsilon-DP mechanisms: diffprivlib's standard ``delta=0`` is accepted, nothing else.
    "delta": [Interval(numbers.Real, 0, 0, closed="both")],
    "random_state": ["random_state"],
    "accountant": [BudgetAccountant, None],
}


class _Ledger:
    """Running epsilon total of one accountant, so that a budget check costs O(1) per call.

    diffprivlib's ``BudgetAccountant.check`` rebuilds and re-sums the whole list of past spends
    on every call (O(n), so n scalar calls cost O(n^2)). With ``slack == 0`` (naive composition,
    the default) and a spend of ``delta == 0`` the accountant's decision only needs the running
    sum of the epsilons, added in the same order as ``BudgetAccountant.total`` adds them (so the
    float is identical) and the delta total, which a ``delta = 0`` spend leaves unchanged. The
    ledger follows the accountant's own list of spends (new entries made by other tools are
    folded in when next seen) and records each spend in that same list, exactly as
    ``BudgetAccountant.spend`` does after its check.
    """

    __slots__ = ("seen", "eps_sum", "delta_total")

    def __init__(self) -> None:
        self.seen, self.eps_sum, self.delta_total = 0, 0, 0.0

    def sync(self, accountant: BudgetAccountant, spends: list) -> None:
        if len(spends) < self.seen:  # cannot happen through the public API; be safe
            self.seen, self.eps_sum = 0, 0
        new = spends[self.seen :]
        for eps, _ in new:
            self.eps_sum += eps
        if any(d != 0 for _, d in new):
            self.delta_total = float(accountant.total()[1])
        self.seen = len(spends)


_LEDGERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _fast_spends(accountant: BudgetAccountant, delta: float) -> list | None:
    """The accountant's own spend list when the O(1) path applies, else None."""
    if delta != 0 or accountant.slack != 0:
        return None
    cls = type(accountant)
    if cls.spend is not BudgetAccountant.spend or cls.check is not BudgetAccountant.check:
        return None  # a subclass with its own check/spend is always called
    if accountant.epsilon == math.inf and accountant.delta == 1:
        return None  # diffprivlib's check already returns at once
    spends = getattr(accountant, "_BudgetAccountant__spent_budget", None)
    return spends if isinstance(spends, list) else None


def budget_check(accountant: BudgetAccountant, epsilon: float, delta: float) -> None:
    """``accountant.check(epsilon, delta)`` in O(1) amortised time (same decision and errors)."""
    spends = _fast_spends(accountant, delta)
    if spends is None:
        accountant.check(epsilon, delta)
        return
    if 0 < epsilon < accountant.epsilon * 1e-14:
        accountant.check(epsilon, delta)  # raises diffprivlib's own ValueError
    ledger = _LEDGERS.get(accountant)
    if ledger is None:
        ledger = _LEDGERS[accountant] = _Ledger()
    ledger.sync(accountant, spends)
    if not (
        accountant.epsilon >= ledger.eps_sum + epsilon and accountant.delta >= ledger.delta_total
    ):
        raise BudgetError(
            f"Privacy spend of ({epsilon},{delta}) not permissible; will exceed remaining privacy "
            f"budget. Use BudgetAccountant.remaining() to check remaining budget."
        )


def budget_spend(accountant: BudgetAccountant, epsilon: float, delta: float) -> None:
    """``accountant.spend(epsilon, delta)`` in O(1) amortised time (re-checks, then records)."""
    spends = _fast_spends(accountant, delta)
    if spends is None:
        accountant.spend(epsilon, delta)
        return
    budget_check(accountant, epsilon, delta)
    spends.append((epsilon, delta))
    ledger = _LEDGERS[accountant]
    ledger.eps_sum += epsilon
    ledger.seen += 1


class AccountedMechanism(DPMechanism):
    """A :class:`~diffprivlib.mechanisms.DPMechanism` that spends its budget on an accountant.

    diffprivlib's own mechanisms never touch the accountant (its tools and models do). Ours take
    ``accountant=`` and follow the tools' order on every :meth:`randomise` call: ``check`` the
    spend before drawing, ``spend`` it after. ``accountant=None`` uses the default accountant
    (``BudgetAccountant.load_default``), exactly as diffprivlib's tools do. Each call is charged
    once, whatever the size of the array (every entry is one individual's value: parallel
    composition), and the charge costs O(1) however many spends the accountant already holds.

    Parameters are validated against ``_parameter_constraints`` (``check_params``) from
    diffprivlib's own hooks, ``_check_epsilon_delta`` and ``_check_all``: an invalid value raises
    :class:`~ai4media_ext._validation.InvalidParameterError` (a ``ValueError`` and a
    ``TypeError``, as diffprivlib's tests expect one or the other) naming the parameter.
    """

    _parameter_constraints: dict[str, list] = BASE_CONSTRAINTS

    def __init__(
        self, *, epsilon: float, delta: float = 0.0, random_state: Any = None, accountant=None
    ):
        check_params(self, {"random_state": random_state}, self._parameter_constraints)
        super().__init__(epsilon=epsilon, delta=delta, random_state=random_state)
        self.accountant = accountant
        check_params(self, {"accountant": accountant}, self._parameter_constraints)

    @classmethod
    def _check_epsilon_delta(cls, epsilon: Any, delta: Any) -> tuple[float, float]:
        check_params(cls, {"epsilon": epsilon, "delta": delta}, cls._parameter_constraints)
        return super()._check_epsilon_delta(epsilon, delta)

    def _params(self) -> dict[str, Any]:
        """The constrained parameters' current values (re-checked on every use)."""
        return {name: getattr(self, name) for name in self._parameter_constraints}

    def _check_all(self, value: Any) -> bool:
        super()._check_all(value)
        check_params(self, self._params(), self._parameter_constraints)
        return True

    def _accountant(self) -> BudgetAccountant:
        """The accountant to charge (checked: the spend fits), before anything is drawn."""
        accountant = BudgetAccountant.load_default(self.accountant)
        budget_check(accountant, self.epsilon, self.delta)
        return accountant

    def _spend(self, accountant: BudgetAccountant) -> None:
        budget_spend(accountant, self.epsilon, self.delta)


def as_real_array(value: Any, name: str = "value", keep_float: bool = False) -> np.ndarray:
    """A real scalar or array as a float array (float64, or the input's own float dtype with
    ``keep_float``), copied only when the dtype changes; raises
    :class:`~ai4media_ext._validation.InvalidParameterError` naming ``name``."""
    if isinstance(value, bool | np.bool_):
        raise InvalidParameterError(f"{name} must be real numbers, got bool")
    if isinstance(value, numbers.Real):
        arr = np.asarray(float(value))
    else:
        if hasattr(value, "detach"):  # torch tensors
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
        ):
            raise InvalidParameterError(
                f"{name} must be a real number or an array of reals, got dtype {arr.dtype} "
                f"({type(value).__name__})"
            )
        if not (keep_float and np.issubdtype(arr.dtype, np.floating)):
            arr = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(arr)):
        raise InvalidParameterError(f"{name} must be finite (no NaN or inf)")
    return arr
