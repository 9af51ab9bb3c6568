"""k-ary randomized response on labels."""

import math

import numpy as np
import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism

from ai4media_ext.privacy.audit import empirical_epsilon
from ai4media_ext.privacy.mechanisms import GeneralizedRandomizedResponse as GRR


def mech(**kw):
    kw.setdefault("epsilon", 1.0)
    kw.setdefault("k", 7)
    kw.setdefault("accountant", BudgetAccountant())
    return GRR(**kw)


def test_conformance():
    assert issubclass(GRR, DPMechanism)
    assert ".GeneralizedRandomizedResponse(" in repr(mech(random_state=0))


@pytest.mark.parametrize("eps, k", [(0.5, 2), (1.0, 7), (3.0, 4)])
def test_keep_probability_and_uniform_flips(eps, k):
    g = mech(epsilon=eps, k=k, random_state=1)
    p = math.exp(eps) / (math.exp(eps) + k - 1)
    assert g.keep_probability == pytest.approx(p)
    n = 200_000
    y = np.random.RandomState(2).randint(0, k, n)
    out = g.randomise(y)
    kept = (out == y).mean()
    assert abs(kept - p) < 3 * math.sqrt(p * (1 - p) / n)
    # the other labels are equally likely: counts of (out - y) mod k over flips
    shifts = np.bincount(((out - y) % k)[out != y], minlength=k)[1:]
    assert shifts.min() / shifts.max() > 0.95


def test_transition_matrix():
    g = mech(epsilon=1.0, k=4)
    t = g.transition_matrix
    assert t.shape == (4, 4)
    assert np.allclose(t.sum(axis=1), 1)
    assert np.allclose(np.diag(t), g.keep_probability)
    assert t[0, 0] / t[0, 1] == pytest.approx(math.e)
    assert np.array_equal(mech(epsilon=math.inf, k=4).transition_matrix, np.eye(4))


def test_infinite_epsilon_keeps_labels():
    y = np.arange(7).repeat(10)
    assert np.array_equal(mech(epsilon=math.inf, random_state=0).randomise(y), y)


@pytest.mark.parametrize("eps", [0.5, 1.0, 2.0])
def test_empirical_epsilon_audit(eps):
    g = mech(epsilon=eps, k=5, random_state=3)
    n = 100_000
    a = g.randomise(np.zeros(n, dtype=int))
    b = g.randomise(np.ones(n, dtype=int))
    assert empirical_epsilon(a, b) <= eps


def test_scalar_label_and_dtype_preserved():
    g = mech(random_state=0)
    assert 0 <= int(g.randomise(3)) < 7
    out = g.randomise(np.array([1, 2, 3], dtype=np.int16))
    assert out.dtype == np.int16


def test_caller_array_not_mutated():
    y = np.arange(7).repeat(100)
    keep = y.copy()
    mech(random_state=0).randomise(y)
    assert np.array_equal(y, keep)


@pytest.mark.parametrize(
    "kw, error", [({"k": 1}, ValueError), ({"k": 2.0}, TypeError), ({"epsilon": -1}, ValueError)]
)
def test_bad_parameters(kw, error):
    with pytest.raises(error):
        mech(**kw)


@pytest.mark.parametrize(
    "value, error",
    [
        (np.array([0.0, 1.0]), TypeError),
        (np.array([0, 7]), ValueError),
        (np.array([-1]), ValueError),
    ],
)
def test_bad_labels(value, error):
    with pytest.raises(error, match="value"):
        mech(random_state=0).randomise(value)
