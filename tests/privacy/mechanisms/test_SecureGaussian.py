"""SecureGaussian: diffprivlib conformance, exact discrete Gaussian, calibration, attacks, audit."""

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from diffprivlib.accountant import BudgetAccountant
from diffprivlib.mechanisms import DPMechanism, GaussianAnalytic
from diffprivlib.utils import BudgetError
from scipy.stats import chisquare, norm

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.privacy.audit import empirical_epsilon, precision_flags, score_attack
from ai4media_ext.privacy.mechanisms import SecureGaussian
from ai4media_ext.privacy.mechanisms import _discrete_gaussian as G


def mech(**kw):
    kw.setdefault("epsilon", 1.0)
    kw.setdefault("delta", 1e-5)
    kw.setdefault("sensitivity", 1.0)
    kw.setdefault("accountant", BudgetAccountant())
    return SecureGaussian(**kw)


# --- host conformance -------------------------------------------------------------------------


def test_is_a_diffprivlib_mechanism():
    assert issubclass(SecureGaussian, DPMechanism)
    m = mech(random_state=0)
    assert ".SecureGaussian(" in repr(m) and "delta=1e-05" in repr(m)
    assert isinstance(mech()._rng, random.SystemRandom)


def test_reproducible_and_io():
    a = mech(random_state=4).randomise(np.zeros(500))
    assert np.array_equal(a, mech(random_state=4).randomise(np.zeros(500)))
    assert not np.array_equal(a, mech(random_state=5).randomise(np.zeros(500)))
    m = mech(random_state=0)
    assert isinstance(m.randomise(2), float)
    out = m.randomise(np.ones((3, 4), dtype=np.int32))
    assert out.shape == (3, 4) and out.dtype == np.float64


def test_caller_array_never_mutated_and_passthrough():
    x = np.linspace(-2, 2, 51)
    x.setflags(write=False)
    keep = x.copy()
    mech(random_state=0).randomise(x)
    assert np.array_equal(x, keep)
    assert np.array_equal(mech(sensitivity=0).randomise(x), x)
    assert np.array_equal(mech(epsilon=math.inf).randomise(x), x)


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"epsilon": 0}, "epsilon"),
        ({"epsilon": -1.0}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"epsilon": "1"}, "epsilon"),
        ({"delta": 0.0}, "delta"),
        ({"delta": 1.5}, "delta"),
        ({"delta": -0.1}, "delta"),
        ({"sensitivity": -1.0}, "sensitivity"),
        ({"sensitivity": float("inf")}, "sensitivity"),
        ({"sensitivity": True}, "sensitivity"),
    ],
)
def test_bad_parameters(kw, match):
    with pytest.raises((InvalidParameterError, ValueError, TypeError), match=match):
        mech(**kw)


def test_bad_parameters_are_invalid_parameter_errors():
    for kw in ({"epsilon": -1.0}, {"delta": 2.0}, {"sensitivity": -3.0}):
        with pytest.raises(InvalidParameterError):
            mech(**kw)
    m = mech()
    m.delta = 0.0
    with pytest.raises(ValueError, match="delta"):
        m.randomise(1.0)


@pytest.mark.parametrize("value", [float("nan"), np.array([1.0, np.inf]), "1", 1e300])
def test_bad_values(value):
    with pytest.raises((TypeError, ValueError), match="value"):
        mech(random_state=0).randomise(value)


def test_accountant_spends_epsilon_delta_each_call():
    acc = BudgetAccountant(epsilon=2.5, delta=1e-4)
    m = SecureGaussian(epsilon=1, delta=1e-5, sensitivity=1, accountant=acc, random_state=0)
    m.randomise(np.zeros(10))
    m.randomise(1.0)
    assert acc.total() == pytest.approx((2.0, 1 - (1 - 1e-5) ** 2))  # delta composes
    with pytest.raises(BudgetError):
        m.randomise(1.0)
    assert len(acc) == 2


# --- the discrete Gaussian sampler ------------------------------------------------------------


@pytest.mark.parametrize("sigma", [1, 3, 10])
def test_discrete_gaussian_pmf_chi_square(sigma):
    n = 300_000
    z = G.discrete_gaussian(np.random.RandomState(sigma), sigma, n)
    vals, counts = np.unique(z, return_counts=True)
    support = np.arange(-12 * sigma, 12 * sigma + 1)
    w = np.exp(-(support**2) / (2.0 * sigma**2))
    p = dict(zip(support.tolist(), (w / w.sum()).tolist(), strict=True))
    expected = np.array([p[v] for v in vals.tolist()]) * n
    common = expected > 20
    obs = np.append(counts[common], counts[~common].sum())
    exp = np.append(expected[common], n - expected[common].sum())
    assert chisquare(obs, exp).pvalue > 1e-3
    assert abs(z.var() - G.discrete_gaussian_variance(sigma)) < 6 * z.var() * math.sqrt(2 / n)


def test_discrete_gaussian_tails_large_sigma():
    sigma, n = 1 << 20, 400_000
    z = G.discrete_gaussian(np.random.RandomState(1), sigma, n) / sigma
    for k in (1.0, 2.0, 3.0):
        p = 2 * norm.sf(k)
        rate = np.mean(np.abs(z) > k)
        assert abs(rate - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert np.abs(z).max() < 6.5


def test_exact_bernoulli_fallback_agrees_with_floats():
    rng = np.random.RandomState(2)
    for gamma in (Fraction(1, 3), Fraction(7, 2), Fraction(123, 1000)):
        p = math.exp(-float(gamma))
        for word in (0, int(p * 2**32) - 3, int(p * 2**32) + 3, 2**32 - 1):
            decided = G._exact_less_exp(rng, word, 32, gamma)
            assert decided == ((word + 0.5) / 2**32 < p)
    # a word straddling exp(-gamma) is settled by further bits: about p of them accept
    gamma = Fraction(1, 2)
    word = int(math.exp(-0.5) * 2**32)
    hits = [G._exact_less_exp(np.random.RandomState(s), word, 32, gamma) for s in range(200)]
    assert 0 < sum(hits) < 200


# --- calibration, zCDP, bias and variance -----------------------------------------------------


@pytest.mark.parametrize("eps", [0.1, 1.0, 5.0])
def test_calibration_matches_analytic_gaussian(eps):
    m = mech(epsilon=eps, delta=1e-6)
    analytic = GaussianAnalytic(epsilon=eps, delta=1e-6, sensitivity=1.0)._scale
    assert m.scale == pytest.approx(analytic, rel=2**-17)
    assert m.effective_delta() <= 1e-6
    g, delta_units, sigma = m._grid()
    # one grid step less noise would break the target delta
    assert G.discrete_gaussian_delta(sigma - 1, eps, delta_units) > 1e-6


def test_zcdp_parameterisation():
    m = SecureGaussian.from_zcdp(rho=0.5, delta=1e-6, sensitivity=2.0)
    assert m.zcdp_rho() <= 0.5
    assert m.zcdp_rho() == pytest.approx(0.5, rel=1e-4)
    assert m.scale == pytest.approx(2.0, rel=1e-4)  # sigma = sensitivity / sqrt(2 rho)
    with pytest.raises(InvalidParameterError, match="rho"):
        SecureGaussian.from_zcdp(rho=-1.0, delta=1e-6, sensitivity=1.0)


def test_bias_variance_and_moments():
    m = mech(epsilon=0.5, random_state=3)
    g = m.granularity
    assert m.bias(0.0) == 0.0
    assert m.bias(0.25 * g) == pytest.approx(-0.25 * g)
    out = m.randomise(np.full(200_000, 3.0))
    assert m.variance(3.0) == pytest.approx(m.scale**2, rel=1e-12)
    assert out.var() == pytest.approx(m.variance(3.0), rel=0.02)
    assert abs(out.mean() - 3.0) < 5 * m.scale / math.sqrt(out.size)
    assert np.array_equal(out / g, np.round(out / g))


# --- attacks and audit ------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.5, 2.0])
def test_precision_attack_fails_on_secure_gaussian(eps):
    m = mech(epsilon=eps, random_state=11)
    y0, y1 = m.randomise(np.zeros(100_000)), m.randomise(np.ones(100_000))
    score = score_attack(precision_flags(y0), precision_flags(y1))
    assert score.advantage == 0.0 and score.epsilon_lower_bound == 0.0


def test_precision_attack_breaks_diffprivlib_gaussian():
    d = GaussianAnalytic(epsilon=1.0, delta=1e-5, sensitivity=1.0, random_state=13)
    n = 30_000
    y0 = np.fromiter((d.randomise(0.0) for _ in range(n)), float, n)
    y1 = np.fromiter((d.randomise(1.0) for _ in range(n)), float, n)
    score = score_attack(precision_flags(y0), precision_flags(y1))
    assert score.rate_1 == 0.0 and score.advantage > 0.03
    assert score.epsilon_lower_bound > 1.0


@pytest.mark.parametrize("eps", [0.5, 2.0])
def test_empirical_epsilon_audit(eps):
    m = mech(epsilon=eps, random_state=15)
    width = m.scale / 4  # binning is post-processing
    b0 = np.floor(m.randomise(np.zeros(150_000)) / width).astype(int)
    b1 = np.floor(m.randomise(np.ones(150_000)) / width).astype(int)
    assert empirical_epsilon(b0, b1) <= eps


def test_audit_detects_an_under_noised_gaussian():
    m = mech(epsilon=1.0, sensitivity=0.25, random_state=16)  # noise 4x short for inputs 0, 1
    width = m.scale
    b0 = np.floor(m.randomise(np.zeros(150_000)) / width).astype(int)
    b1 = np.floor(m.randomise(np.ones(150_000)) / width).astype(int)
    assert empirical_epsilon(b0, b1) > 2.0
