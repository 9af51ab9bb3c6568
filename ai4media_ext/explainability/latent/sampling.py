"""Confidence filtering, the attribute contingency table and multi-attribute balanced sampling.

Doubinsky et al., "Multi-attribute balanced sampling for disentangled GAN controls", Pattern
Recognition Letters 162:56-62 (2022), §3 (public code ``perladoubinsky/balanced_sampling_gan_controls``):
keep the codes whose attribute scores are all confident, binarise them, group the codes by their
combination of attributes (2^k cells), and draw the same number from every combination so that the
attributes become independent in the sample (the correlations the GAN inherited from its data are
removed before the directions are computed).
"""

from __future__ import annotations

import numpy as np

from ..._validation import InvalidParameterError

__all__ = ["confident_mask", "combination_codes", "balanced_indices", "sequential_balanced_indices"]


def confident_mask(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """Rows whose every score is ``> threshold`` or ``< 1 - threshold``.

    Parameters
    ----------
    scores : ndarray of shape (n, k), float in [0, 1]
        Attribute probabilities.
    threshold : float in [0.5, 1) or None
        ``None`` keeps every row.

    Returns
    -------
    ndarray of shape (n,), bool
    """
    if threshold is None:
        return np.ones(scores.shape[0], dtype=bool)
    return np.all((scores > threshold) | (scores < 1.0 - threshold), axis=1)


def combination_codes(binary: np.ndarray) -> np.ndarray:
    """The combination of binary attributes of each row as one integer in ``[0, 2^k)``
    (attribute ``j`` is bit ``j``).

    Parameters
    ----------
    binary : ndarray of shape (n, k), bool or {0, 1}

    Returns
    -------
    ndarray of shape (n,), int64
    """
    k = binary.shape[1]
    return binary.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))


def balanced_indices(
    codes: np.ndarray, n_cells: int, n_per_combination: int | None, rng: np.random.Generator
) -> np.ndarray:
    """Indices of an exactly balanced sample: ``n_per_combination`` rows drawn uniformly without
    replacement from every one of the ``n_cells`` combinations.

    Parameters
    ----------
    codes : ndarray of shape (n,), int
        Combination of each row (:func:`combination_codes`).
    n_cells : int
        Number of combinations (2^k); every one must occur.
    n_per_combination : int or None
        Rows per combination; ``None`` takes the size of the rarest combination (all of it).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray of shape (n_cells * n_per_combination,), int64, sorted

    Raises
    ------
    InvalidParameterError
        A combination with no rows, or fewer rows than ``n_per_combination``.
    """
    counts = np.bincount(codes, minlength=n_cells)
    if np.any(counts == 0):
        empty = np.flatnonzero(counts == 0)
        raise InvalidParameterError(
            f"attributes: {len(empty)} of the {n_cells} attribute combinations have no sample "
            f"(first: combination {int(empty[0])}, attribute j = bit j); sample more codes or lower "
            f"threshold"
        )
    per = int(counts.min()) if n_per_combination is None else int(n_per_combination)
    if per > counts.min():
        raise InvalidParameterError(
            f"n_per_combination={per} exceeds the rarest combination's {int(counts.min())} samples "
            f"(combination {int(np.argmin(counts))}); lower it or sample more codes"
        )
    # a random priority per row; within each combination keep the `per` rows of lowest priority
    order = np.lexsort((rng.random(codes.shape[0]), codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(codes.shape[0]) - np.repeat(starts, counts)
    return np.sort(order[rank < per])


def sequential_balanced_indices(
    codes: np.ndarray, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """The authors' ``contingency_sample``, vectorised: ``n_samples`` times pick a non-empty
    combination uniformly at random and remove one of its rows uniformly at random.

    Equivalent formulation used here: every combination runs a rate-1 Poisson clock while it still
    has rows, and each tick takes its next row (rows in random order); the first ``n_samples`` ticks
    over all combinations are the draws (memorylessness makes the next tick uniform over the
    non-empty combinations, as in the sequential loop).

    Returns
    -------
    ndarray of shape (min(n_samples, n),), int64, in draw order
    """
    n = codes.shape[0]
    order = np.lexsort((rng.random(n), codes))  # rows grouped by combination, random within
    sorted_codes = codes[order]
    gaps = rng.exponential(size=n)
    times = np.cumsum(gaps)
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    base = np.repeat(np.r_[0.0, times][starts], np.diff(np.r_[starts, n]))
    arrival = times - base  # cumulative sum of the gaps within each combination
    first = np.argsort(arrival, kind="stable")[: min(n_samples, n)]
    return order[first]
