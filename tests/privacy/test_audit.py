"""The attack and audit helpers on hand-made inputs."""

import math

import numpy as np
import pytest

from ai4media_ext.privacy.audit import (
    clopper_pearson,
    empirical_epsilon,
    precision_flags,
    reachable_from_zero,
    score_attack,
    textbook_laplace,
)


def test_precision_flags_exact():
    assert precision_flags([0.0, 1.0, 2.0**-53, 3 * 2.0**-53, 2.0**-54, 0.1]).tolist() == [
        False,
        False,
        False,
        False,
        True,
        True,
    ]


def test_reachable_from_zero():
    scale = 2.0
    y = textbook_laplace(0.0, scale, 5000, np.random.default_rng(0))
    assert reachable_from_zero(y, scale).all()
    assert not reachable_from_zero(np.nextafter(y[:200], np.inf), scale).all()


def test_clopper_pearson_known_values():
    lo, hi = clopper_pearson(0, 100)
    assert lo == 0.0 and hi == pytest.approx(0.0362, abs=1e-4)
    lo, hi = clopper_pearson(50, 100)
    assert lo == pytest.approx(0.3983, abs=1e-4) and hi == pytest.approx(0.6017, abs=1e-4)


def test_score_attack():
    f0 = np.array([True] * 30 + [False] * 70)
    f1 = np.array([True] * 10 + [False] * 90)
    s = score_attack(f0, f1)
    assert (s.rate_0, s.rate_1, s.advantage) == (0.3, 0.1, pytest.approx(0.2))
    assert 0 < s.epsilon_lower_bound < math.log(3)
    with pytest.raises(ValueError):
        score_attack(f0, f1[:10])


def test_empirical_epsilon_on_known_distributions():
    rs = np.random.RandomState(0)
    n = 100_000
    same = empirical_epsilon(rs.randint(0, 3, n), rs.randint(0, 3, n))
    assert same < 0.05
    # P(1) = 0.8 vs 0.2: true privacy loss ln 4 = 1.386
    a = (rs.rand(n) < 0.8).astype(int)
    b = (rs.rand(n) < 0.2).astype(int)
    assert 1.3 < empirical_epsilon(a, b) <= math.log(4)


# --- issue 15: bad inputs name the argument -------------------------------------------------


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: score_attack([], []), "flags_0"),
        (lambda: score_attack([True], [True, False]), "flags_0"),
        (lambda: empirical_epsilon([], [1]), "outcomes_0"),
        (lambda: clopper_pearson(5, 3), "count"),
        (lambda: clopper_pearson(1, 3, alpha=1.5), "alpha"),
        (lambda: reachable_from_zero([0.5], scale=0.0), "scale"),
        (lambda: precision_flags(["a"]), "y"),
        (lambda: precision_flags([np.nan]), "y"),
    ],
)
def test_bad_inputs_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("dtype", [np.int64, np.float32, np.float64])
def test_precision_flags_dtypes(dtype):
    assert not precision_flags(np.array([0, 1, 2], dtype=dtype)).any()
