"""Balanced sampling over the attribute contingency table."""

import numpy as np
import pytest

from ai4media_ext._validation import InvalidParameterError
from ai4media_ext.explainability.latent import (
    balanced_indices,
    combination_codes,
    confident_mask,
    sequential_balanced_indices,
)


def _skewed_codes(rng):
    # 3 binary attributes, strongly correlated: combination frequencies from 2000 down to 12
    sizes = np.array([2000, 40, 60, 300, 12, 500, 900, 25])
    return np.repeat(np.arange(8), sizes), sizes


def test_combination_codes_bits():
    binary = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 1], [1, 1, 1]], dtype=bool)
    assert combination_codes(binary).tolist() == [0, 1, 6, 7]


def test_confident_mask():
    s = np.array([[0.95, 0.02], [0.95, 0.5], [0.05, 0.99], [0.7, 0.95]])
    assert confident_mask(s, 0.9).tolist() == [True, False, True, False]
    assert confident_mask(s, None).all()


def test_balanced_equalises_combination_counts():
    rng = np.random.default_rng(0)
    codes, sizes = _skewed_codes(rng)
    idx = balanced_indices(codes, 8, None, rng)
    counts = np.bincount(codes[idx], minlength=8)
    assert counts.tolist() == [12] * 8  # the rarest combination's size, everywhere
    assert len(np.unique(idx)) == len(idx)  # without replacement
    idx10 = balanced_indices(codes, 8, 10, rng)
    assert np.bincount(codes[idx10], minlength=8).tolist() == [10] * 8


def test_balanced_makes_attributes_independent():
    rng = np.random.default_rng(1)
    a = rng.random(20000) < 0.5
    b = np.where(a, rng.random(20000) < 0.9, rng.random(20000) < 0.1)  # corr ~0.8
    binary = np.stack([a, b], 1)
    assert np.corrcoef(binary.T)[0, 1] > 0.7
    idx = balanced_indices(combination_codes(binary), 4, None, rng)
    assert abs(np.corrcoef(binary[idx].T)[0, 1]) < 1e-12


def test_balanced_empty_combination_refused():
    codes = np.array([0, 0, 1, 3, 3])  # combination 2 is empty
    with pytest.raises(InvalidParameterError, match="combination 2"):
        balanced_indices(codes, 4, None, np.random.default_rng(0))
    with pytest.raises(InvalidParameterError, match="n_per_combination=5"):
        balanced_indices(np.array([0, 1, 2, 3]), 4, 5, np.random.default_rng(0))


def test_sequential_matches_loop_distribution():
    """The vectorised Poisson-clock form draws like the authors' loop (mean counts per cell)."""
    sizes = np.array([50, 3, 20, 8])
    codes = np.repeat(np.arange(4), sizes)
    n, reps = 30, 400
    rng = np.random.default_rng(2)
    vec = np.zeros(4)
    for _ in range(reps):
        vec += np.bincount(codes[sequential_balanced_indices(codes, n, rng)], minlength=4)
    loop = np.zeros(4)
    for _ in range(reps):
        left = sizes.copy()
        for _ in range(n):
            cell = rng.choice(np.flatnonzero(left > 0))
            left[cell] -= 1
            loop[cell] += 1
    np.testing.assert_allclose(vec / reps, loop / reps, atol=0.35)
    # exhaustion: the 3-row cell is (almost always) emptied
    assert vec[1] / reps == pytest.approx(3.0, abs=0.05)


def test_sequential_no_duplicates_and_caps():
    codes = np.array([0, 0, 1, 1, 1])
    idx = sequential_balanced_indices(codes, 10, np.random.default_rng(0))
    assert sorted(idx.tolist()) == [0, 1, 2, 3, 4]
