"""MultiBit: LPGNN's multi-bit encoder and rectifier."""

import math

import numpy as np
import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism

from ai4media_ext.privacy.audit import empirical_epsilon
from ai4media_ext.privacy.mechanisms import MultiBit


def mech(**kw):
    kw.setdefault("epsilon", 1.0)
    kw.setdefault("accountant", BudgetAccountant())
    return MultiBit(**kw)


def test_conformance():
    assert issubclass(MultiBit, DPMechanism)
    assert ".MultiBit(" in repr(mech(random_state=0))


@pytest.mark.parametrize(
    "eps, d, m", [(0.5, 100, 1), (2.17, 100, 1), (2.18, 100, 1), (4.4, 100, 2), (30, 10, 10)]
)
def test_best_m_matches_the_paper(eps, d, m):
    assert mech(epsilon=eps).sampled_features(d) == m
    assert mech(epsilon=eps, m="max").sampled_features(d) == d


@pytest.mark.parametrize("m", [1, 3, 8])  # 8 features of 20: the argpartition branch
def test_encoding_has_exactly_m_nonzeros_per_row(m):
    x = np.random.RandomState(0).rand(500, 20)
    enc = mech(epsilon=4.0, m=m, random_state=1).randomise(x)
    assert enc.dtype == np.int8 and set(np.unique(enc)) <= {-1, 0, 1}
    assert np.all(np.abs(enc).sum(axis=1) == m)


@pytest.mark.parametrize("alpha, beta, m", [(0.0, 1.0, "best"), (-2.0, 3.0, 4)])
def test_rectified_features_are_unbiased(alpha, beta, m):
    rs = np.random.RandomState(2)
    x = alpha + (beta - alpha) * rs.rand(50, 12)
    mb = mech(epsilon=3.0, alpha=alpha, beta=beta, m=m, random_state=3)
    reps = 400
    est = np.stack([mb.rectify(mb.randomise(x)) for _ in range(reps)])
    se = np.sqrt(mb.variance(x) / reps)
    z = (est.mean(axis=0) - x) / se
    assert np.abs(z).max() < 4.5  # 600 cells: max of |z| of normal draws
    assert np.abs(z.mean()) < 3 / math.sqrt(z.size)
    # the closed-form variance matches the empirical one
    assert est.var(axis=0).mean() == pytest.approx(mb.variance(x).mean(), rel=0.05)


@pytest.mark.parametrize("eps, m", [(0.5, "best"), (2.0, "max"), (4.0, 2)])
def test_empirical_epsilon_audit(eps, m):
    mb = mech(epsilon=eps, m=m, random_state=4)
    n, d = 60_000, 3
    lo = mb.randomise(np.zeros((n, d)))
    hi = mb.randomise(np.ones((n, d)))  # the most distant neighbour rows
    assert empirical_epsilon(lo, hi) <= eps


def test_caller_array_not_mutated():
    x = np.random.RandomState(5).rand(20, 6)
    keep = x.copy()
    mb = mech(random_state=0)
    mb.rectify(mb.randomise(x))
    assert np.array_equal(x, keep)


def test_accountant_spends_once_per_matrix():
    acc = BudgetAccountant(epsilon=1.5)
    mb = MultiBit(epsilon=1.0, accountant=acc, random_state=0)
    mb.randomise(np.zeros((10, 4)))
    assert acc.total()[0] == 1.0


@pytest.mark.parametrize(
    "kw, error, match",
    [
        ({"epsilon": 0}, ValueError, "epsilon"),
        ({"epsilon": float("inf")}, ValueError, "epsilon"),
        ({"epsilon": float("nan")}, ValueError, "epsilon"),
        ({"alpha": 1.0, "beta": 1.0}, ValueError, "alpha"),
        ({"alpha": "0"}, TypeError, "alpha"),
        ({"beta": float("inf")}, ValueError, "beta"),
        ({"m": 0}, ValueError, "m"),
        ({"m": "all"}, ValueError, "m"),
        ({"m": 1.5}, TypeError, "m"),
    ],
)
def test_bad_parameters(kw, error, match):
    with pytest.raises(error, match=match):
        mech(**kw)


@pytest.mark.parametrize(
    "value, error",
    [
        (np.array([0.1, 0.2]), ValueError),  # 1-D
        (np.array([[0.1, 1.2]]), ValueError),  # outside [alpha, beta]
        (np.array([[0.1, np.nan]]), ValueError),
        (np.array([["a"]]), TypeError),
    ],
)
def test_bad_values(value, error):
    with pytest.raises(error, match="value"):
        mech(random_state=0).randomise(value)


def test_m_larger_than_d():
    with pytest.raises(ValueError, match="m=5"):
        mech(m=5, random_state=0).randomise(np.zeros((2, 3)))


def test_rectify_rejects_non_encoded():
    with pytest.raises(ValueError, match="encoded"):
        mech().rectify(np.array([[0.5, 1.0]]))
