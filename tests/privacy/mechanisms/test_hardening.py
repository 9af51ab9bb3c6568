"""Issue 15 on the diffprivlib mechanisms: extreme parameters, delta=0, signatures, accounting."""

import inspect
import math
import warnings

import numpy as np
import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism, Laplace
from diffprivlib.models import GaussianNB
from diffprivlib.utils import BudgetError

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.privacy.mechanisms import GeneralizedRandomizedResponse, MultiBit, SecureLaplace
from ai4media_ext.privacy.mechanisms._base import budget_check, budget_spend
from ai4media_ext.privacy.naive_bayes import SecureGaussianNB

# Each mechanism and the diffprivlib class whose signature it must accept.
HOSTS = [
    (SecureLaplace, Laplace),
    (MultiBit, DPMechanism),
    (GeneralizedRandomizedResponse, DPMechanism),
]
REQUIRED = {
    SecureLaplace: {"sensitivity": 1.0},
    MultiBit: {},
    GeneralizedRandomizedResponse: {"k": 3},
}


# --- item 14: the host's signature ----------------------------------------------------------


@pytest.mark.parametrize("cls, host", HOSTS)
def test_accepts_every_argument_of_the_host_class(cls, host):
    ours = inspect.signature(cls.__init__).parameters
    for name, p in inspect.signature(host.__init__).parameters.items():
        if name == "self":
            continue
        assert name in ours, f"{cls.__name__} lacks {host.__name__}'s argument {name!r}"
        assert ours[name].kind == p.kind, name
        if p.default is not inspect.Parameter.empty:
            assert ours[name].default == p.default, name


@pytest.mark.parametrize("cls", [SecureLaplace, MultiBit, GeneralizedRandomizedResponse])
def test_diffprivlib_standard_call_with_delta_zero(cls):
    m = cls(epsilon=1, delta=0, **REQUIRED[cls])
    assert m.delta == 0.0
    with pytest.raises(ValueError, match="delta"):
        cls(epsilon=1, delta=0.1, **REQUIRED[cls])


def test_secure_laplace_standard_call():
    # the case of the issue: SecureLaplace(epsilon=1, delta=0, sensitivity=1)
    m = SecureLaplace(epsilon=1, delta=0, sensitivity=1, accountant=BudgetAccountant())
    assert "delta=0" in repr(m) and isinstance(m.randomise(0.0), float)


def test_secure_gaussian_nb_signature_is_the_hosts():
    assert inspect.signature(SecureGaussianNB) == inspect.signature(GaussianNB)


# --- item 10: extreme but legal parameters ----------------------------------------------------


@pytest.mark.parametrize("eps", [1e-9, 1e-3, 1.0, 800.0, 1e6, 1e300])
def test_multibit_any_finite_epsilon(eps):
    x = np.array([[0.0, 0.3, 1.0]])
    m = MultiBit(epsilon=eps, random_state=0, accountant=BudgetAccountant())
    enc = m.randomise(x)
    assert set(np.unique(enc)) <= {-1, 0, 1}
    est = m.rectify(enc)
    assert np.isfinite(est).all() and np.isfinite(m.variance(x)).all()


def test_multibit_epsilon_800_one_feature_is_near_exact():
    # the case of the issue: OverflowError in randomise
    m = MultiBit(epsilon=800, random_state=0, accountant=BudgetAccountant())
    x = np.array([[1.0], [0.0]])
    assert m.rectify(m.randomise(x)).tolist() == [[1.0], [0.0]]


@pytest.mark.parametrize("eps", [1e-9, 1e-6, 1.0, 1e6])
@pytest.mark.parametrize("sens", [1e-9, 1.0, 1e9])
def test_secure_laplace_extreme_parameters(eps, sens):
    m = SecureLaplace(epsilon=eps, sensitivity=sens, random_state=0, accountant=BudgetAccountant())
    assert m.effective_epsilon() <= eps
    # the grid costs at most 2**-16 of the Laplace scale even at the smallest epsilon
    assert math.sqrt(m.variance(0.0) / 2) == pytest.approx(sens / eps, rel=2**-16)
    value = min(1.0, 2.0**30 * min(sens, sens / eps))  # within the documented value range
    out = m.randomise(np.array([0.0, value]))
    assert np.isfinite(out).all()


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"epsilon": 1e-15}, "epsilon"),
        ({"epsilon": 1e-12, "sensitivity": 1e300}, "sensitivity"),
        ({"epsilon": 1e300, "sensitivity": 1e-300}, "sensitivity"),
        ({"sensitivity": math.inf}, "sensitivity"),
    ],
)
def test_secure_laplace_out_of_range_is_refused_at_construction(kw, name):
    kw = {"epsilon": 1.0, "sensitivity": 1.0, **kw}
    with pytest.raises(InvalidParameterError, match=name):
        SecureLaplace(**kw)


@pytest.mark.parametrize("value", [1e300, -1e300, np.finfo(np.float64).max])
def test_secure_laplace_values_near_the_float_limit_are_refused(value):
    m = SecureLaplace(epsilon=1, sensitivity=1, accountant=BudgetAccountant())
    with pytest.raises(ValueError, match="value"):
        m.randomise(value)


@pytest.mark.parametrize("eps", [1e-9, 1.0, 1e6, math.inf])
def test_randomized_response_extreme_epsilon(eps):
    m = GeneralizedRandomizedResponse(
        epsilon=eps, k=4, random_state=0, accountant=BudgetAccountant()
    )
    t = m.transition_matrix
    assert np.isfinite(t).all() and np.allclose(t.sum(axis=1), 1.0)
    assert m.randomise(np.arange(4)).shape == (4,)


# --- item 9: one accountant rule -------------------------------------------------------------


@pytest.mark.parametrize(
    "make, value",
    [
        (lambda: SecureLaplace(epsilon=2, sensitivity=1), 0.0),
        (lambda: MultiBit(epsilon=2), np.zeros((2, 3))),
        (lambda: GeneralizedRandomizedResponse(epsilon=2, k=3), np.array([0, 1])),
    ],
)
def test_default_accountant_is_charged_and_checked_first(make, value):
    with BudgetAccountant(epsilon=1):
        m = make()
        with pytest.raises(BudgetError):
            m.randomise(value)
    with BudgetAccountant(epsilon=5) as acc:
        make().randomise(value)
    assert acc.total()[0] == 2


# --- item 15: O(1) charging, identical decisions --------------------------------------------


def test_ledger_makes_the_accountants_own_decisions():
    # interleave our spends with diffprivlib's own (one with a delta) on one accountant, and
    # replay the same sequence through diffprivlib's public API on another
    ops = [(0.3, 0.0), (0.1, 0.0), (0.2, 0.01), (0.3, 0.0), (0.05, 0.0), (0.4, 0.0), (0.05, 0.0)]
    ours, ref = BudgetAccountant(epsilon=1.0, delta=0.5), BudgetAccountant(epsilon=1.0, delta=0.5)
    for eps, delta in ops:
        outcome = []
        for acc, own in ((ours, True), (ref, False)):
            try:
                if own and delta == 0:
                    budget_check(acc, eps, delta)
                    budget_spend(acc, eps, delta)
                else:
                    acc.spend(eps, delta)
                outcome.append("ok")
            except BudgetError:
                outcome.append("refused")
        assert outcome[0] == outcome[1], (eps, delta)
    assert ours.spent_budget == ref.spent_budget
    assert ours.total() == ref.total()


def test_ledger_honours_slack_and_min_epsilon_through_diffprivlib():
    acc = BudgetAccountant(epsilon=1.0, delta=0.1, slack=0.05)
    m = SecureLaplace(epsilon=0.1, sensitivity=1, accountant=acc, random_state=0)
    for _ in range(5):
        m.randomise(0.0)
    assert acc.total() == BudgetAccountant(1.0, 0.1, 0.05, [(0.1, 0)] * 5).total()
    with pytest.raises(ValueError, match="Epsilon must be at least"):
        budget_check(BudgetAccountant(epsilon=1.0), 1e-16, 0.0)


def test_many_scalar_calls_spend_exactly_and_stop_at_the_ceiling():
    acc = BudgetAccountant(epsilon=30.0)
    m = SecureLaplace(epsilon=0.1, sensitivity=1, accountant=acc, random_state=0)
    calls = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        while True:
            try:
                m.randomise(0.0)
            except BudgetError:
                break
            calls += 1
    expected = BudgetAccountant(epsilon=30.0)
    while True:
        try:
            expected.spend(0.1, 0)
        except BudgetError:
            break
    assert calls == len(expected) and acc.total() == expected.total()


def test_accountant_subclass_overrides_are_honoured():
    calls = []

    class Logging(BudgetAccountant):
        def spend(self, epsilon, delta):
            calls.append((epsilon, delta))
            return super().spend(epsilon, delta)

    acc = Logging(epsilon=10)
    SecureLaplace(epsilon=1, sensitivity=1, accountant=acc, random_state=0).randomise(0.0)
    assert calls == [(1, 0.0)] and acc.total()[0] == 1
