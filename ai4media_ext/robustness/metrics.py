"""Metrics for privacy-protecting adversarial attacks: rank distributions and K-anonymity."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["k_anonymity_satisfied", "rank_pmf", "true_label_ranks"]


def _probabilities(classifier_or_probs: Any, x_adv: Any) -> np.ndarray:
    if hasattr(classifier_or_probs, "predict"):
        if x_adv is None:
            raise ValueError("x_adv is required when a classifier is given")
        return np.asarray(classifier_or_probs.predict(x_adv))
    return np.asarray(classifier_or_probs, dtype=np.float64)


def true_label_ranks(classifier_or_probs: Any, x_adv: Any = None, y: Any = None) -> np.ndarray:
    """1-based rank of the true label in each output ranking (1 = top prediction).

    ``classifier_or_probs`` is an ART classifier (``predict(x_adv)`` is used) or an ``(N, C)``
    array of scores; ``y`` holds integer labels or one-hot rows. Ties are ranked by class index,
    as a stable sort of the scores does.
    """
    probs = _probabilities(classifier_or_probs, x_adv)
    if probs.ndim != 2:
        raise ValueError(f"scores must be a 2-D (samples x classes) array, got shape {probs.shape}")
    if y is None:
        raise ValueError("y (the true labels) is required")
    labels = np.asarray(y)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    if labels.shape != (len(probs),):
        raise ValueError(f"y must hold {len(probs)} labels, got shape {np.asarray(y).shape}")
    if labels.min(initial=0) < 0 or labels.max(initial=0) >= probs.shape[1]:
        raise ValueError(f"y must hold labels in [0, {probs.shape[1] - 1}]")
    order = np.argsort(-probs, axis=1, kind="stable")
    return np.argmax(order == labels[:, None], axis=1) + 1


def rank_pmf(classifier_or_probs: Any, x_adv: Any = None, y: Any = None) -> np.ndarray:
    """``p[i-1] = P(r(i) = y)``: the share of samples whose true label sits at rank ``i``."""
    probs = _probabilities(classifier_or_probs, x_adv)
    ranks = true_label_ranks(probs, y=y)
    return np.bincount(ranks - 1, minlength=probs.shape[1]) / len(ranks)


def k_anonymity_satisfied(pmf: Any, k: int, tol: float = 0.02) -> bool:
    """Whether no ranking position holds the true label more often than ``1/k + tol``.

    With ``p(1)`` included, this also bounds how often the prediction is correct: the true label
    is hidden among ``k`` equally likely positions.
    """
    p = np.asarray(pmf, dtype=np.float64)
    if p.ndim != 1 or not np.isclose(p.sum(), 1.0):
        raise ValueError("pmf must be a 1-D probability vector")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= len(p):
        raise ValueError(f"k must be an int in [1, {len(p)}], got {k!r}")
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    return bool(np.all(p <= 1.0 / k + tol))
